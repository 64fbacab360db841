//! What a function body names, for deciding which functions only a
//! command-line subcommand reaches (`crate::toolcode`).
//!
//! The list over-approximates on purpose: every path written as an
//! expression (called or passed as a value) expanded through the file's
//! imports, every method called, and every identifier inside a macro call
//! (whose tokens cannot be read as code). A function the list might name is
//! taken as named: reachability that is not known keeps code audited.
//!
//! A `match` over the variants of one enum (`Command::Run => ..,
//! Command::Export { .. } => ..`) is a dispatch: what each arm names is kept
//! apart, so that code named only by the arms of a subcommand that starts no
//! server can be told from code the serving arm reaches.

use crate::analysis::paths::ident_in;
use rustc_hash::FxHashMap as HashMap;

use syn::visit::Visit;

use super::net::{NetScan, Recv};
use super::paths::UseMap;
use crate::source::SpanBytes;

/// One thing a body names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mention {
    /// A path written as an expression, as the imports expand it
    /// (`crate::export::run`, `run`, `Self::load`), its segments joined by
    /// `::` (one allocation: every body has many).
    Path(Box<str>),
    /// An identifier in a macro's tokens or an attribute: any function of
    /// that name.
    Name(Box<str>),
    /// A method called on a receiver whose type the body does not tell:
    /// any method of that name (never a free function, which a method call
    /// cannot name).
    MethodName(Box<str>),
    /// A method called on a receiver whose declared type the body tells
    /// (a typed parameter or `let`, a field, the value a `match` arm binds
    /// from a one-field variant, what a method returns): the methods of
    /// that name of that type, when it has any (`toolcode`); any function
    /// of the name otherwise.
    Method(Box<(Recv, Box<str>)>),
    /// `self.f()` in a method of an inherent or trait impl: the impl
    /// type's own `f` when it has one, any function of the name otherwise.
    SelfMethod(Box<str>),
}

impl Mention {
    /// Whether it may name a function: names that start with a capital
    /// letter are types, variants and constants (a function so named is
    /// never taken for tool code, see `toolcode`).
    fn may_name_fn(last: &str) -> bool {
        !last.starts_with(|c: char| c.is_ascii_uppercase())
            && !matches!(last, "self" | "crate" | "super")
    }

    fn name(n: String) -> Option<Mention> {
        Self::may_name_fn(&n).then(|| Mention::Name(n.into_boxed_str()))
    }

    /// The method name a mention calls, if it is a method call.
    pub fn method_name(&self) -> Option<&str> {
        match self {
            Mention::Method(m) => Some(&m.1),
            Mention::SelfMethod(n) | Mention::MethodName(n) => Some(n),
            _ => None,
        }
    }

    fn path(segs: &[String]) -> Option<Mention> {
        let last = segs.last()?;
        Self::may_name_fn(last).then(|| Mention::Path(segs.join("::").into_boxed_str()))
    }

    /// The segments of a path mention.
    pub fn segments(p: &str) -> Vec<&str> {
        p.split("::").collect()
    }
}

/// One arm of a dispatch `match`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DispatchArm {
    /// The enum the arm patterns name (`Command` of `Command::Export`).
    pub enum_name: String,
    /// The variant this arm matches (empty for a catch-all arm).
    pub variant: String,
    /// A catch-all arm (`_ =>`, `other =>`): it runs for the variants the
    /// other arms leave, so it is never a subcommand of its own, but when
    /// it serves, the dispatch has a serving arm.
    pub catch_all: bool,
    /// Lines of the arm (pattern to the end of its body).
    pub lines: (u32, u32),
    /// The arm this one is nested in (an index into the same list).
    pub parent: Option<usize>,
    /// Which `match` of the body it belongs to (arms of one `match` share it).
    pub dispatch: usize,
    /// What the arm names, outside the dispatches nested in it.
    pub mentions: Vec<Mention>,
}

/// How the receivers of a body's method calls are typed: the function's
/// scan (its `let`s and parameters) and whether `self` is the impl's type
/// (not in a trait's default body, whose `self` is every implementor).
pub struct Receivers<'s, 'e, 'a> {
    pub scan: &'s NetScan<'e, 'a>,
    pub self_is_impl: bool,
}

/// What a function body names: outside any dispatch, and per dispatch arm.
/// With `recv`, method calls on receivers of a known type name that
/// type's methods ([`Mention::Method`], [`Mention::SelfMethod`]).
pub fn mentions(
    body: &syn::Block,
    uses: &UseMap,
    lines: &dyn Fn(proc_macro2::Span) -> (u32, u32),
    recv: Option<&Receivers<'_, '_, '_>>,
) -> (Vec<Mention>, Vec<DispatchArm>) {
    let mut v = Collector {
        uses,
        lines,
        frames: vec![(None, Vec::new())],
        arms: Vec::new(),
        dispatches: 0,
        typing: recv.map(|r| Typing {
            scan: r.scan,
            self_is_impl: r.self_is_impl,
            pattern_bound: pattern_bound(body),
            arm_bound: Vec::new(),
        }),
        nested_items: 0,
    };
    v.visit_block(body);
    let mut outside = v.frames.pop().map(|f| f.1).unwrap_or_default();
    outside.sort();
    outside.dedup();
    (outside, v.arms)
}

/// What items outside function bodies name: `const`/`static` initialisers
/// (a table of handler functions), item-level macro calls, and the original
/// names of renamed imports (`use export::run as export_main;`).
pub fn item_mentions(file: &syn::File, uses: &UseMap) -> Vec<Mention> {
    struct Items<'u> {
        uses: &'u UseMap,
        out: Vec<Mention>,
    }
    impl<'a> Visit<'a> for Items<'_> {
        fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
            self.expr(&c.expr);
        }
        fn visit_item_static(&mut self, s: &'a syn::ItemStatic) {
            self.expr(&s.expr);
        }
        fn visit_impl_item_const(&mut self, c: &'a syn::ImplItemConst) {
            self.expr(&c.expr);
        }
        fn visit_item_macro(&mut self, m: &'a syn::ItemMacro) {
            tokens(m.mac.tokens.clone(), &mut self.out);
        }
        // `#[serde(default = "defaults::timeout")]`, `#[arg(value_parser =
        // parse_port)]`: functions other code calls for the item.
        fn visit_attribute(&mut self, a: &'a syn::Attribute) {
            if let syn::Meta::List(l) = &a.meta {
                attr_tokens(l.tokens.clone(), &mut self.out);
            } else if let syn::Meta::NameValue(nv) = &a.meta {
                attr_tokens(quote::ToTokens::to_token_stream(&nv.value), &mut self.out);
            }
        }
        fn visit_use_rename(&mut self, r: &'a syn::UseRename) {
            self.out.extend(Mention::name(r.ident.to_string()));
        }
        // Bodies are the functions' own mentions.
        fn visit_block(&mut self, _: &'a syn::Block) {}
    }
    impl Items<'_> {
        fn expr(&mut self, e: &syn::Expr) {
            let mut c = Collector {
                uses: self.uses,
                lines: &|_| (0, 0),
                frames: vec![(None, Vec::new())],
                arms: Vec::new(),
                dispatches: 0,
                typing: None,
                nested_items: 0,
            };
            c.visit_expr(e);
            for (_, m) in c.frames {
                self.out.extend(m);
            }
            for a in c.arms {
                self.out.extend(a.mentions);
            }
        }
    }
    let mut v = Items {
        uses,
        out: Vec::new(),
    };
    v.visit_file(file);
    v.out.sort();
    v.out.dedup();
    v.out
}

/// Identifiers of an attribute, and the functions its strings name: serde's
/// `default = "f"`, `with`/`serialize_with`/`deserialize_with`,
/// `skip_serializing_if`, and any string holding a path (`"a::f"`), by
/// last segment. Other strings (`name = "export"`) name nothing.
fn attr_tokens(ts: proc_macro2::TokenStream, out: &mut Vec<Mention>) {
    const FN_KEYS: &[&str] = &[
        "default",
        "with",
        "serialize_with",
        "deserialize_with",
        "skip_serializing_if",
    ];
    let mut key: Option<String> = None;
    let mut after_eq = false;
    for t in ts {
        match t {
            proc_macro2::TokenTree::Ident(id) => {
                out.extend(Mention::name(id.to_string()));
                key = Some(id.to_string());
                after_eq = false;
            }
            proc_macro2::TokenTree::Group(g) => {
                attr_tokens(g.stream(), out);
                key = None;
            }
            proc_macro2::TokenTree::Punct(p) => after_eq = p.as_char() == '=' && key.is_some(),
            proc_macro2::TokenTree::Literal(l) => {
                let text = l.to_string();
                let fn_key = after_eq && key.as_deref().is_some_and(|k| FN_KEYS.contains(&k));
                if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    if fn_key || inner.contains("::") {
                        if let Some(last) = inner.rsplit("::").next().filter(|n| !n.is_empty()) {
                            out.extend(Mention::name(last.to_string()));
                        }
                    }
                }
                key = None;
                after_eq = false;
            }
        }
    }
}

fn tokens(ts: proc_macro2::TokenStream, out: &mut Vec<Mention>) {
    for t in ts {
        match t {
            proc_macro2::TokenTree::Ident(id) => out.extend(Mention::name(id.to_string())),
            proc_macro2::TokenTree::Group(g) => tokens(g.stream(), out),
            _ => {}
        }
    }
}

struct Collector<'u, 'l, 's, 'e, 'a> {
    uses: &'u UseMap,
    lines: &'l dyn Fn(proc_macro2::Span) -> (u32, u32),
    /// The arm being read (index into `arms`) and what it names so far;
    /// the bottom frame is the body outside any dispatch.
    frames: Vec<(Option<usize>, Vec<Mention>)>,
    arms: Vec<DispatchArm>,
    dispatches: usize,
    typing: Option<Typing<'s, 'e, 'a>>,
    /// Depth of items (an `impl`, a `fn`) nested in the body: their `self`
    /// and names are not the body's.
    nested_items: u32,
}

/// What types receivers within one body.
struct Typing<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    self_is_impl: bool,
    /// How many times each name is bound by a pattern other than a plain
    /// `let`, a parameter or a `match` arm (`if let`, `for`, closures,
    /// destructuring `let`s): `FnScope` does not see those bindings, so a
    /// `let` of the name it finds may be shadowed.
    pattern_bound: HashMap<String, u32>,
    /// Names the enclosing `match` arms bind, innermost last, with the
    /// one-field variant whose value it is (`None`: another binding, or
    /// one the arm's own code binds again).
    arm_bound: Vec<(String, Option<Recv>)>,
}

impl Collector<'_, '_, '_, '_, '_> {
    fn push(&mut self, m: Mention) {
        if let Some(f) = self.frames.last_mut() {
            f.1.push(m);
        }
    }

    /// What a method call names: the typed method when the receiver's
    /// type is known, else the name.
    fn method_mention(&self, m: &syn::ExprMethodCall) -> Option<Mention> {
        let name = m.method.to_string();
        if !Mention::may_name_fn(&name) {
            return None;
        }
        let typed = self
            .typing
            .as_ref()
            .filter(|_| self.nested_items == 0)
            .and_then(|t| t.receiver(&m.receiver));
        Some(match typed {
            Some(Typed::SelfType) => Mention::SelfMethod(name.into_boxed_str()),
            Some(Typed::Recv(r)) => Mention::Method(Box::new((r, name.into_boxed_str()))),
            None => Mention::MethodName(name.into_boxed_str()),
        })
    }
}

enum Typed {
    SelfType,
    Recv(Recv),
}

impl Typing<'_, '_, '_> {
    /// The declared type of a receiver, when the body says it without
    /// doubt.
    fn receiver(&self, e: &syn::Expr) -> Option<Typed> {
        if let syn::Expr::Path(p) = e {
            if p.path.is_ident("self") {
                return (self.self_is_impl && self.scan.self_ty.is_some_and(|t| !t.is_empty()))
                    .then_some(Typed::SelfType);
            }
        }
        let r = self.chain(e, 0)?;
        // A type parameter or `Self` names no type of its own.
        match &r {
            Recv::Type { name, .. } if name == "Self" || name.len() <= 1 => None,
            _ => Some(Typed::Recv(r)),
        }
    }

    /// A receiver chain as the index reads it: a binding's declared type
    /// (or its initialiser's), then fields (`Returned(_, ".field")`) and
    /// method results.
    fn chain(&self, e: &syn::Expr, depth: u32) -> Option<Recv> {
        if depth > 12 {
            return None;
        }
        let d = depth + 1;
        match e {
            syn::Expr::Paren(p) => self.chain(&p.expr, d),
            syn::Expr::Group(g) => self.chain(&g.expr, d),
            syn::Expr::Reference(r) => self.chain(&r.expr, d),
            syn::Expr::Await(a) => self.chain(&a.base, d),
            syn::Expr::Try(t) => self.chain(&t.expr, d),
            syn::Expr::Field(f) => match &f.member {
                syn::Member::Named(n) => Some(Recv::Returned(
                    Box::new(self.chain(&f.base, d)?),
                    format!(".{n}"),
                )),
                syn::Member::Unnamed(_) => None,
            },
            syn::Expr::MethodCall(m) => Some(Recv::Returned(
                Box::new(self.chain(&m.receiver, d)?),
                m.method.to_string(),
            )),
            // `Type::new(..)`: what that function of the type returns.
            syn::Expr::Call(c) => {
                let syn::Expr::Path(p) = &*c.func else {
                    return None;
                };
                let segs = self.scan.cx.uses.resolve_shared(&p.path);
                let [.., ty, f] = segs.as_slice() else {
                    return None;
                };
                let ty = match ty.as_str() {
                    "Self" if self.self_is_impl => self.scan.self_ty?.to_string(),
                    t if t.starts_with(|c: char| c.is_ascii_uppercase()) => t.to_string(),
                    _ => return None,
                };
                Some(Recv::Returned(
                    Box::new(Recv::Type {
                        krate: None,
                        name: ty,
                    }),
                    f.clone(),
                ))
            }
            syn::Expr::Path(p) => {
                let id = p.path.get_ident()?;
                let name = id.to_string();
                if name == "self" {
                    return Some(Recv::Type {
                        krate: None,
                        name: self
                            .scan
                            .self_ty
                            .filter(|t| self.self_is_impl && !t.is_empty())?
                            .to_string(),
                    });
                }
                if let Some((_, bound)) = self.arm_bound.iter().rev().find(|(n, _)| *n == name) {
                    // The value an enclosing arm binds from a one-field
                    // variant.
                    return bound.clone();
                }
                // Bound by a pattern `FnScope` does not see, or by more
                // than one `let` (which block scoping may hide from a
                // use): unknown.
                if self.pattern_bound.get(&name).is_some_and(|n| *n > 0)
                    || self.scan.scope.all(&name).len() != 1
                {
                    return None;
                }
                let b = self.scan.scope.lookup(&name, id.span().byte_start())?;
                match (b.ty, b.init) {
                    (Some(ty), _) => self.scan.recv_of_type(ty, 0),
                    (None, Some(init)) => self.chain(init, d),
                    (None, None) => None,
                }
            }
            _ => None,
        }
    }
}

/// Names bound by patterns other than a plain `let name` / `let name: T`
/// statement or a `match` arm's pattern, with how many times.
fn pattern_bound(body: &syn::Block) -> HashMap<String, u32> {
    let mut v = Bindings {
        out: HashMap::default(),
        arms: false,
    };
    v.visit_block(body);
    v.out
}

/// Counts the names patterns bind; `arms`: in `match` arm patterns too.
struct Bindings {
    out: HashMap<String, u32>,
    arms: bool,
}

impl<'a> Visit<'a> for Bindings {
    fn visit_local(&mut self, l: &'a syn::Local) {
        match &l.pat {
            syn::Pat::Ident(pi) if pi.subpat.is_none() && !self.arms => {}
            syn::Pat::Type(pt)
                if !self.arms && matches!(&*pt.pat, syn::Pat::Ident(pi) if pi.subpat.is_none()) => {
            }
            p => self.visit_pat(p),
        }
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
            if let Some((_, e)) = &init.diverge {
                self.visit_expr(e);
            }
        }
    }
    fn visit_arm(&mut self, a: &'a syn::Arm) {
        if self.arms {
            self.visit_pat(&a.pat);
        }
        self.visit_expr(&a.body);
    }
    fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
        *self.out.entry(p.ident.to_string()).or_default() += 1;
        syn::visit::visit_pat_ident(self, p);
    }
}

/// The pattern inside `Some(..)` / `Ok(..)`.
fn unwrap_some(p: &syn::Pat) -> &syn::Pat {
    match p {
        syn::Pat::TupleStruct(t)
            if t.elems.len() == 1 && (t.path.is_ident("Some") || t.path.is_ident("Ok")) =>
        {
            t.elems.first().map(unwrap_some).unwrap_or(p)
        }
        _ => p,
    }
}

/// The names a pattern binds.
pub(crate) fn pat_names(p: &syn::Pat) -> Vec<String> {
    struct V(Vec<String>);
    impl<'a> Visit<'a> for V {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.push(p.ident.to_string());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut v = V(Vec::new());
    v.visit_pat(p);
    v.0
}

/// One-field tuple variants of the file's enums (outside inline modules)
/// and the path of the type each holds, through `Box`/`Arc`, as the
/// file's imports expand it.
pub fn variant_paths(file: &syn::File, uses: &UseMap) -> Vec<((String, String), Box<str>)> {
    let mut out = Vec::new();
    for item in &file.items {
        let syn::Item::Enum(e) = item else { continue };
        for v in &e.variants {
            let syn::Fields::Unnamed(f) = &v.fields else {
                continue;
            };
            let [only] = &f.unnamed.iter().collect::<Vec<_>>()[..] else {
                continue;
            };
            let mut ty = &only.ty;
            // `Box<ExportArgs>`: the boxed type.
            while let syn::Type::Path(p) = ty {
                let Some(last) = p.path.segments.last() else {
                    break;
                };
                if !ident_in(&last.ident, &["Box", "Arc", "Rc"]) {
                    break;
                }
                let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
                    break;
                };
                let Some(syn::GenericArgument::Type(inner)) = a.args.first() else {
                    break;
                };
                ty = inner;
            }
            let syn::Type::Path(p) = ty else { continue };
            if p.qself.is_some() {
                continue;
            }
            let segs = uses.resolve_shared(&p.path);
            if segs.is_empty() {
                continue;
            }
            out.push((
                (e.ident.to_string(), v.ident.to_string()),
                segs.join("::").into_boxed_str(),
            ));
        }
    }
    out
}

/// The enum and variant an arm pattern names (`Command::Export { .. }`,
/// `Cmd::Run(args)`, `Self::Check`), through `|` alternatives and bindings.
fn arm_variant(p: &syn::Pat) -> Option<(String, String)> {
    let path = match p {
        // `Some(Command::Export(args))`: a dispatch over an optional
        // subcommand.
        syn::Pat::TupleStruct(t)
            if t.elems.len() == 1 && (t.path.is_ident("Some") || t.path.is_ident("Ok")) =>
        {
            return t.elems.first().and_then(arm_variant);
        }
        syn::Pat::TupleStruct(t) => &t.path,
        syn::Pat::Struct(s) => &s.path,
        syn::Pat::Path(p) => &p.path,
        syn::Pat::Ident(i) => return i.subpat.as_ref().and_then(|(_, p)| arm_variant(p)),
        syn::Pat::Reference(r) => return arm_variant(&r.pat),
        _ => return None,
    };
    let n = path.segments.len();
    if n < 2 {
        return None;
    }
    Some((
        path.segments[n - 2].ident.to_string(),
        path.segments[n - 1].ident.to_string(),
    ))
}

impl<'a> Visit<'a> for Collector<'_, '_, '_, '_, '_> {
    fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
        if let Some(m) = Mention::path(&self.uses.resolve_shared(&p.path)) {
            self.push(m);
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
        if let Some(x) = self.method_mention(m) {
            self.push(x);
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_arm(&mut self, a: &'a syn::Arm) {
        let Some(t) = self.typing.as_mut() else {
            return syn::visit::visit_arm(self, a);
        };
        // What the arm binds: the value of a one-field variant is typed
        // unless the arm's own code binds the name again.
        let variant = super::net::variant_binding(unwrap_some(&a.pat), t.scan);
        let names = pat_names(&a.pat);
        let rebound = if names.is_empty() {
            HashMap::default()
        } else {
            let mut inner = Bindings {
                out: HashMap::default(),
                arms: true,
            };
            inner.visit_expr(&a.body);
            inner.out
        };
        let pushed = names.len();
        for n in names {
            let r = variant
                .as_ref()
                .filter(|(v, _)| *v == n && !rebound.contains_key(&n))
                .map(|(_, r)| r.clone());
            t.arm_bound.push((n, r));
        }
        syn::visit::visit_arm(self, a);
        if let Some(t) = self.typing.as_mut() {
            let keep = t.arm_bound.len() - pushed;
            t.arm_bound.truncate(keep);
        }
    }
    fn visit_item(&mut self, i: &'a syn::Item) {
        self.nested_items += 1;
        syn::visit::visit_item(self, i);
        self.nested_items -= 1;
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        let mut out = Vec::new();
        tokens(m.tokens.clone(), &mut out);
        for x in out {
            self.push(x);
        }
    }
    fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
        let variants: Vec<Option<(String, String)>> =
            m.arms.iter().map(|a| arm_variant(&a.pat)).collect();
        let enum_name = variants.iter().flatten().map(|v| v.0.clone()).next();
        // A dispatch: every arm but a catch-all names a variant of one enum
        // (`Some(Command::Serve(c)) => .., other => ..` too).
        let dispatch = enum_name.as_ref().filter(|e| {
            variants.iter().flatten().count() >= 1
                && variants.iter().flatten().all(|v| &v.0 == *e)
                && m.arms.iter().zip(&variants).all(|(a, v)| {
                    v.is_some() || matches!(&a.pat, syn::Pat::Wild(_) | syn::Pat::Ident(_))
                })
        });
        let Some(enum_name) = dispatch.cloned() else {
            return syn::visit::visit_expr_match(self, m);
        };
        self.visit_expr(&m.expr);
        self.dispatches += 1;
        let dispatch = self.dispatches;
        for (arm, v) in m.arms.iter().zip(variants) {
            // A catch-all arm is kept as an arm too: whether it serves
            // tells whether the dispatch has a serving arm
            // (`Cmd::Check(a) => check(a), _ => serve(args)`). It is tool
            // code only inside a tool arm.
            let (variant, catch_all) = match v {
                Some((_, variant)) => (variant, false),
                None => (String::new(), true),
            };
            let index = self.arms.len();
            let start = (self.lines)(syn::spanned::Spanned::span(&arm.pat)).0;
            let end = (self.lines)(syn::spanned::Spanned::span(&arm.body)).1;
            self.arms.push(DispatchArm {
                enum_name: enum_name.clone(),
                variant,
                catch_all,
                lines: (start, end.max(start)),
                parent: self.frames.last().and_then(|f| f.0),
                dispatch,
                mentions: Vec::new(),
            });
            self.frames.push((Some(index), Vec::new()));
            self.visit_arm(arm);
            if let Some((_, mut m)) = self.frames.pop() {
                m.sort();
                m.dedup();
                self.arms[index].mentions = m;
            }
        }
    }
    // Items nested in a body are summarised as functions of their own, but
    // their names still count as named here (over-approximation).
}
