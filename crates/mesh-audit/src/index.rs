//! Facts that cross files. A first pass turns each parsed file into a small
//! `FileSummary` (no syntax, no spans); `CrateIndex` joins the summaries of
//! one package so that rules can resolve a `const` defined in another module
//! or a helper function that makes the network call.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use syn::visit::Visit;

use crate::analysis::net::{callees, summarise_calls, Kind, NetScan, NetSummary};
use crate::analysis::{self, Evaluator, FileCtx, FnScope, Value};
use crate::source::LineIndex;

/// What one file contributes to its crate's index.
#[derive(Debug, Default, Clone)]
pub struct FileSummary {
    /// Foldable `const`/`static` values by name.
    pub consts: Vec<(String, Value)>,
    /// Files and folders that `#[cfg(test)] mod x;` pulls in (absolute).
    pub test_module_paths: Vec<PathBuf>,
    /// Functions and methods defined here, by name.
    pub functions: Vec<FnSummary>,
    /// Struct fields whose declared type is a known network client.
    pub client_fields: Vec<(String, Kind)>,
    /// Values struct literals give fields (`AppState { base: "http://x".into() }`);
    /// `None` where a literal gives one the code does not fold.
    pub field_values: Vec<(String, Option<Value>)>,
    /// Names of structs and enums defined here.
    pub types: Vec<String>,
    /// Holds tonic-build output: a struct with a `tonic::client::Grpc<_>` field.
    pub tonic_codegen: bool,
    /// gRPC clients that struct literals store in fields, with their URL.
    pub endpoint_fields: Vec<(String, Kind)>,
    /// Types whose methods a function calls, paired with the one host the
    /// function's own network calls go to: what a breaker type guards.
    pub guarded_hosts: Vec<(String, String)>,
    /// The file, relative to the audit root (set by the engine): where the
    /// defaults below are written.
    pub rel_path: String,
    /// Line of each field value and `const` above, by `field:NAME` /
    /// `const:NAME`: where a configuration default comes from.
    pub value_lines: Vec<(String, u32)>,
    /// Closures and async blocks passed to functions (`with_retry(|| ..)`):
    /// the callee's name, the closure's own network calls, and the crate
    /// functions it calls (resolved once the index is whole).
    pub closure_args: Vec<ClosureArg>,
}

/// A closure handed to a function of the crate.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ClosureArg {
    pub callee: String,
    pub net: Option<NetSummary>,
    pub callees: Vec<(String, bool)>,
}

/// What a function does that callers inherit.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FnSummary {
    pub name: String,
    pub self_ty: Option<String>,
    /// Values a caller may read, e.g. a helper returning a URL (`fn base() -> String`).
    pub returns: Option<Value>,
    /// The network calls the body makes itself.
    pub net: Option<NetSummary>,
    /// Functions it calls by name: `(name, via self)`.
    pub callees: Vec<(String, bool)>,
}

impl FileSummary {
    /// Summarises a parsed file. `abs_path` locates out-of-line modules.
    pub fn build(file: &syn::File, abs_path: &std::path::Path, text: &str) -> FileSummary {
        let lines = LineIndex::new(text);
        let empty = CrateIndex::default();
        let cx = FileCtx::new(file, "", &lines, &empty);
        let mut consts = Vec::new();
        // Each name with the line it is declared on.
        let mut names: Vec<(String, proc_macro2::Span)> = {
            struct Names(Vec<(String, proc_macro2::Span)>);
            impl<'a> Visit<'a> for Names {
                fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
                    self.0.push((c.ident.to_string(), c.ident.span()));
                }
                fn visit_item_static(&mut self, c: &'a syn::ItemStatic) {
                    self.0.push((c.ident.to_string(), c.ident.span()));
                }
                fn visit_impl_item_const(&mut self, c: &'a syn::ImplItemConst) {
                    self.0.push((c.ident.to_string(), c.ident.span()));
                }
            }
            let mut n = Names(Vec::new());
            n.visit_file(file);
            n.0
        };
        names.sort_by(|a, b| a.0.cmp(&b.0));
        names.dedup_by(|a, b| a.0 == b.0);
        let empty_scope = FnScope::empty();
        let ev = Evaluator::new(&cx, &empty_scope);
        let mut value_lines: Vec<(String, u32)> = Vec::new();
        for (name, span) in names {
            if let Some(e) = cx.const_expr(&name) {
                let v = ev.eval(e);
                if !v.is_unknown() {
                    value_lines.push((format!("const:{name}"), lines.span_range(span).line));
                    consts.push((name, v));
                }
            }
        }
        // Test code never feeds a production value.
        let test_regions = analysis::testcode::test_regions(file);
        let in_test = |at: usize| test_regions.iter().any(|r| r.contains(&at));
        let mut field_values = Vec::new();
        for (name, v, line) in analysis::config::field_defaults(&cx) {
            value_lines.push((format!("field:{name}"), line));
            field_values.push((name, Some(v)));
        }
        let mut endpoint_fields = Vec::new();
        let mut closure_args = Vec::new();
        let mut guarded_hosts = Vec::new();
        let functions = analysis::scope::functions(file)
            .into_iter()
            .map(|f| {
                let scope = FnScope::new(Some(f.sig), f.body);
                let ev = Evaluator::new(&cx, &scope);
                let scan = NetScan::new(&cx, &scope, f.self_ty.as_deref());
                // What struct literals put in fields: plain values, and gRPC
                // clients whose endpoint URL the constructor spells out
                // (`Self { pricing: PricingClient::new(channel) }`).
                struct Literals<'v, 'e, 'a> {
                    ev: &'v Evaluator<'e, 'a>,
                    scan: &'v NetScan<'e, 'a>,
                    out: &'v mut Vec<(String, Option<Value>)>,
                    lines: &'v mut Vec<(String, u32)>,
                    endpoints: &'v mut Vec<(String, Kind)>,
                }
                impl<'x> Visit<'x> for Literals<'_, '_, '_> {
                    fn visit_expr_struct(&mut self, s: &'x syn::ExprStruct) {
                        for field in &s.fields {
                            if let syn::Member::Named(id) = &field.member {
                                let v = self.ev.eval(&field.expr);
                                self.lines.push((
                                    format!("field:{id}"),
                                    self.ev.cx.range(id.span()).line,
                                ));
                                self.out
                                    .push((id.to_string(), (!v.is_unknown()).then_some(v)));
                                let k = self.scan.kind_of(&field.expr, 0);
                                if matches!(&k, Kind::Grpc { url } if !url.is_unknown()) {
                                    self.endpoints.push((id.to_string(), k));
                                }
                            }
                        }
                        syn::visit::visit_expr_struct(self, s);
                    }
                    fn visit_item(&mut self, _: &'x syn::Item) {}
                }
                if !analysis::testcode::is_test_item(f.attrs)
                    && !in_test(f.body.brace_token.span.open().byte_range().start)
                {
                    Literals {
                        ev: &ev,
                        scan: &scan,
                        out: &mut field_values,
                        lines: &mut value_lines,
                        endpoints: &mut endpoint_fields,
                    }
                    .visit_block(f.body);
                }
                let returns = match f.body.stmts.last() {
                    Some(syn::Stmt::Expr(e, None)) if f.body.stmts.len() <= 3 => {
                        Some(ev.eval(e)).filter(|v| !v.is_unknown())
                    }
                    _ => None,
                };
                let net = summarise_calls(&scan.calls_in_block(f.body));
                if let Some(host) = net
                    .as_ref()
                    .filter(|n| n.protocol.is_l7())
                    .and_then(|n| n.dest.host.clone())
                {
                    for ty in receiver_types(&cx, &scope, f.body) {
                        guarded_hosts.push((ty, host.clone()));
                    }
                }
                Args {
                    scan: &scan,
                    out: &mut closure_args,
                }
                .visit_block(f.body);
                FnSummary {
                    name: f.name,
                    self_ty: f.self_ty,
                    returns,
                    net,
                    callees: callees(f.body),
                }
            })
            .collect();
        let empty_scope = FnScope::empty();
        let scan = NetScan::new(&cx, &empty_scope, None);
        let mut client_fields: Vec<(String, Kind)> = analysis::net::field_types(file)
            .into_iter()
            .map(|(name, ty)| (name, scan.kind_of_type(ty)))
            .filter(|(_, k)| *k != Kind::Unknown)
            .collect();
        client_fields.sort_by(|a, b| a.0.cmp(&b.0));
        let tonic_codegen = {
            struct Grpc(bool);
            impl<'a> Visit<'a> for Grpc {
                fn visit_field(&mut self, f: &'a syn::Field) {
                    if let syn::Type::Path(p) = &f.ty {
                        let segs = crate::analysis::paths::path_segments(&p.path);
                        if segs.ends_with(&["client".to_string(), "Grpc".to_string()]) {
                            self.0 = true;
                        }
                    }
                }
            }
            let mut g = Grpc(false);
            g.visit_file(file);
            g.0
        };
        let types = {
            struct Types(Vec<String>);
            impl<'a> Visit<'a> for Types {
                fn visit_item_struct(&mut self, i: &'a syn::ItemStruct) {
                    self.0.push(i.ident.to_string());
                }
                fn visit_item_enum(&mut self, i: &'a syn::ItemEnum) {
                    self.0.push(i.ident.to_string());
                }
            }
            let mut t = Types(Vec::new());
            t.visit_file(file);
            t.0
        };
        guarded_hosts.sort();
        guarded_hosts.dedup();
        FileSummary {
            guarded_hosts,
            closure_args,
            endpoint_fields,
            tonic_codegen,
            field_values,
            types,
            client_fields,
            consts,
            test_module_paths: analysis::testcode::test_module_paths(file, abs_path),
            functions,
            rel_path: String::new(),
            value_lines,
        }
    }
}

fn lookup_net<'i>(
    functions: &'i BTreeMap<String, Vec<FnSummary>>,
    name: &str,
    self_ty: Option<&str>,
    free: bool,
) -> Option<&'i NetSummary> {
    let list = functions.get(name)?;
    let candidates: Vec<&FnSummary> = list
        .iter()
        .filter(|f| match self_ty {
            Some(t) => f.self_ty.as_deref() == Some(t),
            None => !free || f.self_ty.is_none(),
        })
        .collect();
    // Two same-named functions that disagree: do not guess.
    let first = candidates.first()?.net.as_ref()?;
    candidates
        .iter()
        .all(|f| f.net.as_ref().is_some_and(|n| n.protocol == first.protocol))
        .then_some(first)
}

/// The joined summaries of one package.
#[derive(Debug, Default)]
pub struct CrateIndex {
    tonic_codegen: bool,
    guarded_hosts: HashMap<String, Option<String>>,
    closure_args: Vec<ClosureArg>,
    /// Per function name: what the closures its callers pass in do on the
    /// network; `None` where callers disagree.
    closure_net: HashMap<String, Option<NetSummary>>,
    endpoint_fields: HashMap<String, Option<Kind>>,
    consts: HashMap<String, Value>,
    field_values: HashMap<String, Option<Value>>,
    /// `field:NAME` / `const:NAME` → `file:line` of the first place that
    /// gives it its value.
    value_sources: HashMap<String, String>,
    types: HashSet<String>,
    client_fields: HashMap<String, Kind>,
    functions: BTreeMap<String, Vec<FnSummary>>,
    test_paths: HashSet<PathBuf>,
}

impl CrateIndex {
    pub fn build<'s>(summaries: impl IntoIterator<Item = &'s FileSummary>) -> CrateIndex {
        let mut index = CrateIndex::default();
        let mut ambiguous = HashSet::new();
        let mut ambiguous_fields = HashSet::new();
        for s in summaries {
            for (name, v) in &s.consts {
                match index.consts.get(name) {
                    Some(prev) if prev != v => {
                        ambiguous.insert(name.clone());
                    }
                    _ => {
                        index.consts.insert(name.clone(), v.clone());
                    }
                }
            }
            index.types.extend(s.types.iter().cloned());
            index.closure_args.extend(s.closure_args.iter().cloned());
            for (ty, host) in &s.guarded_hosts {
                match index.guarded_hosts.get(ty) {
                    Some(Some(prev)) if prev != host => {
                        index.guarded_hosts.insert(ty.clone(), None);
                    }
                    Some(_) => {}
                    None => {
                        index.guarded_hosts.insert(ty.clone(), Some(host.clone()));
                    }
                }
            }
            index.tonic_codegen |= s.tonic_codegen;
            for (name, v) in &s.field_values {
                match index.field_values.get(name) {
                    Some(prev) if prev != v => {
                        index.field_values.insert(name.clone(), None);
                    }
                    _ => {
                        index.field_values.insert(name.clone(), v.clone());
                    }
                }
            }
            for (name, kind) in &s.endpoint_fields {
                match index.endpoint_fields.get(name) {
                    Some(prev) if prev.as_ref() != Some(kind) => {
                        index.endpoint_fields.insert(name.clone(), None);
                    }
                    _ => {
                        index
                            .endpoint_fields
                            .insert(name.clone(), Some(kind.clone()));
                    }
                }
            }
            for (name, kind) in &s.client_fields {
                match index.client_fields.get(name) {
                    Some(prev) if prev != kind => {
                        ambiguous_fields.insert(name.clone());
                    }
                    _ => {
                        index.client_fields.insert(name.clone(), kind.clone());
                    }
                }
            }
            for f in &s.functions {
                index
                    .functions
                    .entry(f.name.clone())
                    .or_default()
                    .push(f.clone());
            }
            index.test_paths.extend(s.test_module_paths.iter().cloned());
            if !s.rel_path.is_empty() {
                for (key, line) in &s.value_lines {
                    index
                        .value_sources
                        .entry(key.clone())
                        .or_insert_with(|| format!("{}:{line}", s.rel_path));
                }
            }
        }
        for name in ambiguous {
            index.consts.remove(&name);
        }
        for name in ambiguous_fields {
            index.client_fields.remove(&name);
        }
        index.resolve_destinations();
        index.close_network_calls();
        index.resolve_closure_args();
        index
    }

    /// Only functions of the crate that take closures matter; a closure is
    /// networking when it calls the network itself or through a crate
    /// function.
    fn resolve_closure_args(&mut self) {
        let consts = self.consts.clone();
        let lookup = |name: &str| consts.get(name).cloned();
        for arg in std::mem::take(&mut self.closure_args) {
            if !self.functions.contains_key(&arg.callee) {
                continue;
            }
            let net = arg.net.clone().map(|mut n| {
                n.dest = n.dest.resolve(&lookup);
                n
            });
            let net = net.filter(|n| n.protocol.is_l7()).or_else(|| {
                arg.callees
                    .iter()
                    .find_map(|(name, _)| lookup_net(&self.functions, name, None, false))
                    .filter(|n| n.protocol.is_l7())
                    .cloned()
            });
            let Some(net) = net else { continue };
            match self.closure_net.get(&arg.callee) {
                Some(Some(prev)) if prev.dest != net.dest => {
                    let merged = NetSummary {
                        protocol: prev.protocol,
                        dest: Default::default(),
                    };
                    self.closure_net.insert(arg.callee.clone(), Some(merged));
                }
                Some(_) => {}
                None => {
                    self.closure_net.insert(arg.callee.clone(), Some(net));
                }
            }
        }
    }

    /// The one host that functions calling methods on a value of type `ty`
    /// send their own network calls to, anywhere in the crate.
    pub fn guarded_host(&self, ty: &str) -> Option<&str> {
        self.guarded_hosts.get(ty).and_then(|h| h.as_deref())
    }

    /// What the closures passed to crate function `name` do on the network.
    pub fn closure_net(&self, name: &str) -> Option<&NetSummary> {
        self.closure_net.get(name).and_then(Option::as_ref)
    }

    /// Destinations that named `const`s of other files, now that every
    /// file's consts are known.
    fn resolve_destinations(&mut self) {
        let consts = self.consts.clone();
        let lookup = |name: &str| consts.get(name).cloned();
        for list in self.functions.values_mut() {
            for f in list.iter_mut() {
                if let Some(Value::Str(t)) = &f.returns {
                    if t.contains(crate::analysis::eval::CONST_MARK) {
                        f.returns =
                            crate::analysis::eval::fill_template(t, &lookup).map(Value::Str);
                    }
                }
                if let Some(n) = &mut f.net {
                    if n.dest.template.is_some() {
                        n.dest = n.dest.resolve(&lookup);
                    }
                }
            }
        }
    }

    /// A function that calls a networking function is a networking
    /// function: propagate summaries along call edges to a fixpoint.
    fn close_network_calls(&mut self) {
        for _ in 0..8 {
            let mut changed = false;
            let snapshot = self.functions.clone();
            for list in self.functions.values_mut() {
                for f in list.iter_mut().filter(|f| f.net.is_none()) {
                    for (callee, via_self) in &f.callees {
                        let self_ty = if *via_self {
                            f.self_ty.as_deref()
                        } else {
                            None
                        };
                        if let Some(n) = lookup_net(&snapshot, callee, self_ty, !*via_self) {
                            f.net = Some(n.clone());
                            changed = true;
                            break;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The network behaviour of a crate function called as `name(..)`
    /// (`free`), `self.name(..)` / `Self::name(..)` (`self_ty`).
    pub fn net_of(&self, name: &str, self_ty: Option<&str>, free: bool) -> Option<&NetSummary> {
        lookup_net(&self.functions, name, self_ty, free)
    }

    /// A method called on a value of unknown type: only when every method of
    /// that name in the crate makes network calls of one kind.
    pub fn net_of_any_method(&self, name: &str) -> Option<&NetSummary> {
        let list = self.functions.get(name)?;
        let methods: Vec<&FnSummary> = list.iter().filter(|f| f.self_ty.is_some()).collect();
        let first = methods.first()?.net.as_ref()?;
        methods
            .iter()
            .all(|f| f.net.as_ref().is_some_and(|n| n.protocol == first.protocol))
            .then_some(first)
    }

    /// The gRPC client, with its endpoint URL, that every struct literal of
    /// the crate stores in this field.
    pub fn endpoint_field(&self, name: &str) -> Option<&Kind> {
        self.endpoint_fields.get(name).and_then(Option::as_ref)
    }

    /// What a struct field of the crate holds, by field name, when it is a
    /// known network client and no other field of that name disagrees.
    pub fn field_kind(&self, name: &str) -> Option<&Kind> {
        self.client_fields.get(name)
    }

    /// The one value struct literals of the crate give this field.
    pub fn field_value(&self, name: &str) -> Option<&Value> {
        self.field_values.get(name).and_then(Option::as_ref)
    }

    /// `file:line` where the crate gives field `name` the value
    /// `field_value` returns (a struct literal, a serde or clap default).
    pub fn field_source(&self, name: &str) -> Option<&str> {
        self.value_sources
            .get(&format!("field:{name}"))
            .map(String::as_str)
    }

    /// `file:line` of the `const` `const_value` returns.
    pub fn const_source(&self, name: &str) -> Option<&str> {
        self.value_sources
            .get(&format!("const:{name}"))
            .map(String::as_str)
    }

    /// The value a crate function without receiver returns, when exactly
    /// one function has that name and the code spells the value out.
    pub fn fn_returns(&self, name: &str) -> Option<&Value> {
        match self.functions.get(name)?.as_slice() {
            [only] if only.self_ty.is_none() => only.returns.as_ref(),
            _ => None,
        }
    }

    /// Whether the crate carries tonic-generated client code.
    pub fn has_tonic_codegen(&self) -> bool {
        self.tonic_codegen
    }

    /// Whether the crate defines a struct or enum of this name.
    pub fn defines_type(&self, name: &str) -> bool {
        self.types.contains(name)
    }

    /// A crate-wide `const` by name, when exactly one value has that name.
    pub fn const_value(&self, name: &str) -> Option<&Value> {
        self.consts.get(name)
    }

    /// Functions or methods with this name anywhere in the crate.
    pub fn functions(&self, name: &str) -> &[FnSummary] {
        self.functions.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `path` is (inside) a module declared `#[cfg(test)]` elsewhere.
    pub fn is_test_path(&self, path: &std::path::Path) -> bool {
        path.ancestors().any(|p| self.test_paths.contains(p))
    }
}

/// Types of the values a body calls methods on: `self.breaker.call(..)`
/// with a field `breaker: CircuitBreaker`, a parameter `b: &Breaker`, or a
/// `let b = Breaker::new(..)`. Smart pointers are looked through.
fn receiver_types(cx: &FileCtx<'_>, scope: &FnScope<'_>, body: &syn::Block) -> Vec<String> {
    fn core(ty: &syn::Type) -> Option<String> {
        let path = analysis::scope::type_path(ty)?;
        let seg = path.segments.last()?;
        let name = seg.ident.to_string();
        if matches!(
            name.as_str(),
            "Arc" | "Rc" | "Box" | "Mutex" | "RwLock" | "Option"
        ) {
            if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                    return core(inner);
                }
            }
        }
        Some(name)
    }
    struct V<'v, 'c, 'a> {
        cx: &'v FileCtx<'a>,
        scope: &'v FnScope<'c>,
        out: Vec<String>,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            let ty = match &*m.receiver {
                syn::Expr::Field(f) => match &f.member {
                    syn::Member::Named(n) => self.cx.field_type(&n.to_string()).and_then(core),
                    syn::Member::Unnamed(_) => None,
                },
                syn::Expr::Path(p) => p.path.get_ident().and_then(|id| {
                    let b = self.scope.binding_at(id)?;
                    b.ty.and_then(core).or_else(|| match b.init? {
                        syn::Expr::Call(c) => match &*c.func {
                            syn::Expr::Path(fp) if fp.path.segments.len() >= 2 => {
                                let segs = &fp.path.segments;
                                Some(segs[segs.len() - 2].ident.to_string())
                            }
                            _ => None,
                        },
                        _ => None,
                    })
                }),
                _ => None,
            };
            if let Some(t) = ty {
                self.out.push(t);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        scope,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out.sort();
    v.out.dedup();
    v.out
}

/// Closures and async blocks passed as arguments, per callee name.
struct Args<'v, 'e, 'a> {
    scan: &'v NetScan<'e, 'a>,
    out: &'v mut Vec<ClosureArg>,
}
impl Args<'_, '_, '_> {
    fn add<'x>(&mut self, callee: String, args: impl Iterator<Item = &'x syn::Expr>) {
        for a in args {
            let body: &syn::Expr = match a {
                syn::Expr::Closure(c) => &c.body,
                syn::Expr::Async(_) => a,
                _ => continue,
            };
            let calls = self.scan.calls_in_expr(body);
            let block = syn::Block {
                brace_token: Default::default(),
                stmts: vec![syn::Stmt::Expr(body.clone(), None)],
            };
            self.out.push(ClosureArg {
                callee: callee.clone(),
                net: summarise_calls(&calls),
                callees: callees(&block),
            });
        }
    }
}
impl<'x> Visit<'x> for Args<'_, '_, '_> {
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            if let Some(last) = p.path.segments.last() {
                self.add(last.ident.to_string(), c.args.iter());
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        self.add(m.method.to_string(), m.args.iter());
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}
