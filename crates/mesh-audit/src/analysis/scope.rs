//! Function bodies and the `let` bindings a reader follows inside them.

use crate::source::SpanBytes;
use rustc_hash::FxHashMap as HashMap;

use syn::visit::Visit;
use syn::{Block, Expr, Pat, Type};

/// One function-like body: a free `fn`, an impl or trait method.
pub struct FnItem<'a> {
    pub name: String,
    /// The `impl` target type, for methods.
    pub self_ty: Option<String>,
    /// That type as written (`reqwest::RequestBuilder` of an extension
    /// trait's `impl`).
    pub impl_type: Option<&'a Type>,
    /// The trait an `impl Trait for Type` block implements (last segment).
    pub trait_name: Option<String>,
    /// The trait whose default body this is (`trait Store { fn f(&self) {..} }`):
    /// its `self.m()` calls go to the impls of the trait.
    pub default_of: Option<String>,
    /// Inline modules it sits in, within its file (`mod a { fn f() {} }`).
    pub module: Vec<String>,
    pub attrs: &'a [syn::Attribute],
    pub sig: &'a syn::Signature,
    pub body: &'a Block,
}

/// Every function body of the file, nested modules included.
pub fn functions(file: &syn::File) -> Vec<FnItem<'_>> {
    functions_items_macros(file).0
}

/// The same; every item of the file in the order `syn::visit` meets them
/// (items in modules, impls' function bodies, blocks and initializers
/// included: the walks that read only items, such as imports, constants,
/// struct fields and test regions, go through this list instead of the
/// whole tree); and every macro invocation in that order (in signatures,
/// attributes and bodies; not inside other invocations, whose tokens are
/// not parsed here). One walk for what [`crate::analysis::FileParts`] reads.
#[allow(clippy::type_complexity)]
pub fn functions_items_macros(
    file: &syn::File,
) -> (Vec<FnItem<'_>>, Vec<&syn::Item>, Vec<&syn::Macro>) {
    let mut v = FnCollector {
        out: Vec::new(),
        items: Vec::new(),
        macros: Vec::new(),
        self_ty: None,
        impl_type: None,
        trait_name: None,
        in_trait: None,
        module: Vec::new(),
    };
    v.visit_file(file);
    (v.out, v.items, v.macros)
}

struct FnCollector<'a> {
    out: Vec<FnItem<'a>>,
    items: Vec<&'a syn::Item>,
    macros: Vec<&'a syn::Macro>,
    self_ty: Option<String>,
    impl_type: Option<&'a Type>,
    trait_name: Option<String>,
    /// The `trait` item being visited.
    in_trait: Option<String>,
    module: Vec<String>,
}

impl<'a> FnCollector<'a> {
    /// The invocations in a function's attributes and signature, which the
    /// function walks below skip (`#[doc = include_str!(..)]`, a type
    /// macro in a parameter).
    fn macros_outside_body(&mut self, attrs: &'a [syn::Attribute], sig: &'a syn::Signature) {
        struct MacrosOnly<'c, 'a>(&'c mut Vec<&'a syn::Macro>);
        impl<'a> Visit<'a> for MacrosOnly<'_, 'a> {
            fn visit_macro(&mut self, m: &'a syn::Macro) {
                self.0.push(m);
            }
        }
        let mut v = MacrosOnly(&mut self.macros);
        for a in attrs {
            v.visit_attribute(a);
        }
        v.visit_signature(sig);
    }
}

impl<'a> Visit<'a> for FnCollector<'a> {
    fn visit_item(&mut self, i: &'a syn::Item) {
        self.items.push(i);
        syn::visit::visit_item(self, i);
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.macros.push(m);
    }
    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        self.macros_outside_body(&f.attrs, &f.sig);
        self.out.push(FnItem {
            name: f.sig.ident.to_string(),
            self_ty: None,
            impl_type: None,
            trait_name: None,
            default_of: None,
            module: self.module.clone(),
            attrs: &f.attrs,
            sig: &f.sig,
            body: &f.block,
        });
        // Functions nested in a body are bodies of their own.
        syn::visit::visit_block(self, &f.block);
    }
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }
    fn visit_item_impl(&mut self, i: &'a syn::ItemImpl) {
        let prev = self
            .self_ty
            .replace(type_name(&i.self_ty).unwrap_or_default());
        let trait_name = i
            .trait_
            .as_ref()
            .and_then(|(p, _)| p.segments.last())
            .map(|s| s.ident.to_string());
        let prev_trait = std::mem::replace(&mut self.trait_name, trait_name);
        let prev_type = self.impl_type.replace(&i.self_ty);
        syn::visit::visit_item_impl(self, i);
        self.self_ty = prev;
        self.impl_type = prev_type;
        self.trait_name = prev_trait;
    }
    fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
        self.macros_outside_body(&f.attrs, &f.sig);
        self.out.push(FnItem {
            name: f.sig.ident.to_string(),
            self_ty: self.self_ty.clone(),
            impl_type: self.impl_type,
            trait_name: self.trait_name.clone(),
            default_of: None,
            module: self.module.clone(),
            attrs: &f.attrs,
            sig: &f.sig,
            body: &f.block,
        });
        syn::visit::visit_block(self, &f.block);
    }
    fn visit_item_trait(&mut self, t: &'a syn::ItemTrait) {
        let prev = self.in_trait.replace(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.in_trait = prev;
    }
    fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
        self.macros_outside_body(&f.attrs, &f.sig);
        if let Some(body) = &f.default {
            self.out.push(FnItem {
                name: f.sig.ident.to_string(),
                self_ty: None,
                impl_type: None,
                trait_name: None,
                default_of: self.in_trait.clone(),
                module: self.module.clone(),
                attrs: &f.attrs,
                sig: &f.sig,
                body,
            });
            syn::visit::visit_block(self, body);
        }
    }
    // Closures and blocks belong to their enclosing fn; only items start new ones.
    fn visit_expr(&mut self, e: &'a Expr) {
        struct ItemsOnly<'b, 'a>(&'b mut FnCollector<'a>);
        impl<'a> Visit<'a> for ItemsOnly<'_, 'a> {
            fn visit_item(&mut self, i: &'a syn::Item) {
                self.0.visit_item(i);
            }
            fn visit_macro(&mut self, m: &'a syn::Macro) {
                self.0.visit_macro(m);
            }
        }
        syn::visit::visit_expr(&mut ItemsOnly(self), e);
    }
}

/// Trait bounds of a signature's type parameters, inline and in `where`.
fn generic_bounds(g: &syn::Generics) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::default();
    let mut add =
        |name: String,
         bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
            for b in bounds {
                if let syn::TypeParamBound::Trait(t) = b {
                    if let Some(seg) = t.path.segments.last() {
                        out.entry(name.clone())
                            .or_default()
                            .push(seg.ident.to_string());
                    }
                }
            }
        };
    for p in g.type_params() {
        add(p.ident.to_string(), &p.bounds);
    }
    for pred in g.where_clause.iter().flat_map(|w| &w.predicates) {
        if let syn::WherePredicate::Type(t) = pred {
            if let Some(id) = type_path(&t.bounded_ty).and_then(|p| p.get_ident()) {
                add(id.to_string(), &t.bounds);
            }
        }
    }
    out
}

/// Last path segment of a type, through references: `&mut reqwest::Client` → `Client`.
pub fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

/// The name of a return type, read through `Result<T, E>` and `Option<T>`:
/// a constructor `fn from_config(..) -> Result<Self, Error>` returns `Self`
/// to a caller that writes `?`.
pub fn ok_type_name(ty: &syn::Type) -> Option<String> {
    let name = type_name(ty)?;
    if !is_result_name(&name) && name != "Option" {
        return Some(name);
    }
    let path = type_path(ty)?;
    match &path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(a) => match a.args.first() {
            Some(syn::GenericArgument::Type(inner)) => type_name(inner),
            _ => Some(name),
        },
        _ => Some(name),
    }
}

/// `Result`, or a crate's alias of it by the universal convention
/// (`io::Result<T>`, `anyhow::Result<T>`, `EdgeResult<T>`, `ApiResult<T>`):
/// its first type argument is the value. Read where the alias is defined
/// in another file or crate; one defined in the same file is read from its
/// definition instead ([`crate::analysis::FileCtx::ok_alias`]).
pub fn is_result_name(name: &str) -> bool {
    name.ends_with("Result")
}

/// Full path of a type as written, through references and `Arc<..>`-like
/// wrappers' first generic argument is NOT followed: callers decide.
pub fn type_path(ty: &Type) -> Option<&syn::Path> {
    match ty {
        Type::Path(p) => Some(&p.path),
        Type::Reference(r) => type_path(&r.elem),
        Type::Paren(p) => type_path(&p.elem),
        Type::Group(g) => type_path(&g.elem),
        _ => None,
    }
}

/// A `let` a reader can follow: one name, one initialiser (or a type).
#[derive(Clone, Copy)]
pub struct Binding<'a> {
    /// Byte offset of the binding's name: uses after it see it.
    pub at: usize,
    /// Byte just past the `let` statement (its `;`): a use before it is in
    /// the binding's own initialiser (`let ep = ep.timeout(..)`) and sees
    /// the binding before.
    pub end: usize,
    /// Byte just past the block (or closure) the binding is declared in: a
    /// use after it sees an outer binding again, as the compiler resolves
    /// `let ep = if tls { let ep = ..; .. } else { .. }; ep.timeout(..)`.
    pub until: usize,
    pub init: Option<&'a Expr>,
    pub ty: Option<&'a Type>,
    /// A name a struct pattern binds to a field (`let Api { http, .. } =
    /// self`, `State(AppState { http, .. }): State<AppState>`): it is that
    /// field, read by its name as `x.http` would be.
    pub field: Option<&'a syn::Ident>,
}

/// The `let` bindings and parameters of one body. Shadowing is resolved by
/// position: a use sees the last binding of its name that starts before it.
#[derive(Default)]
pub struct FnScope<'a> {
    bindings: HashMap<String, Vec<Binding<'a>>>,
    /// The traits each generic type parameter of the signature is bound by
    /// (`P: Provider`, `where P: Provider + Send`), last segments only.
    bounds: HashMap<String, Vec<String>>,
    /// Names a tuple pattern binds (`let (sender, conn) = handshake(io).await?`):
    /// position, the tuple's initialiser and the element's index. Kept apart
    /// from `bindings`, whose names stand for the whole initialiser.
    tuple_elems: HashMap<String, Vec<(usize, &'a Expr, usize)>>,
}

impl<'a> FnScope<'a> {
    pub fn new(sig: Option<&'a syn::Signature>, body: &'a Block) -> FnScope<'a> {
        let mut scope = FnScope::default();
        if let Some(sig) = sig {
            scope.bounds = generic_bounds(&sig.generics);
            for input in &sig.inputs {
                if let syn::FnArg::Typed(pt) = input {
                    if let Pat::Ident(pi) = &*pt.pat {
                        scope.push(&pi.ident, None, Some(&pt.ty), None, usize::MAX);
                    } else {
                        scope.push_struct_fields(&pt.pat, None, usize::MAX);
                    }
                }
            }
        }
        let mut v = LetCollector {
            scope: &mut scope,
            blocks: Some(Vec::new()),
        };
        v.visit_block(body);
        for list in scope.bindings.values_mut() {
            list.sort_by_key(|b| b.at);
        }
        scope
    }

    /// Also the `let`s inside the bodies of macros the function invokes
    /// (the crate's own `macro_rules!` expanded in place), so that a
    /// counter a macro declares is followed like one written inline.
    pub fn with_macro_lets(mut self, macros: &'a super::MacroTable<'_>, body: &'a Block) -> Self {
        struct V<'s, 'a> {
            scope: &'s mut FnScope<'a>,
            macros: &'a super::MacroTable<'a>,
            depth: u32,
        }
        impl<'a> Visit<'a> for V<'_, 'a> {
            fn visit_macro(&mut self, mac: &'a syn::Macro) {
                if self.depth > 8 {
                    return;
                }
                self.depth += 1;
                for st in self.macros.stmts(mac) {
                    // An expansion may carry the spans of the macro's
                    // definition: its blocks say nothing about the use site.
                    LetCollector {
                        scope: self.scope,
                        blocks: None,
                    }
                    .visit_stmt(st);
                    self.visit_stmt(st);
                }
                self.depth -= 1;
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        V {
            scope: &mut self,
            macros,
            depth: 0,
        }
        .visit_block(body);
        for list in self.bindings.values_mut() {
            list.sort_by_key(|b| b.at);
        }
        self
    }

    /// The tuple element a name refers to at `at` (the last `let (..)`
    /// binding it before), with its position, the tuple's initialiser and
    /// the element's index.
    pub fn tuple_element(&self, name: &str, at: usize) -> Option<(usize, &'a Expr, usize)> {
        self.tuple_elems
            .get(name)?
            .iter()
            .filter(|(pos, _, _)| *pos < at)
            .max_by_key(|(pos, _, _)| *pos)
            .copied()
    }

    /// An empty scope, for code outside any function.
    pub fn empty() -> FnScope<'a> {
        FnScope::default()
    }

    fn push(
        &mut self,
        ident: &syn::Ident,
        init: Option<&'a Expr>,
        ty: Option<&'a Type>,
        end: Option<usize>,
        until: usize,
    ) {
        let at = ident.span().byte_start();
        let end = end.unwrap_or(at);
        self.bindings
            .entry(ident.to_string())
            .or_default()
            .push(Binding {
                at,
                end,
                until,
                init,
                ty,
                field: None,
            });
    }

    /// The names a struct pattern binds to named fields, also inside a
    /// one-field wrapper (`State(AppState { http, .. })`), a reference or a
    /// type ascription: each stands for its field.
    fn push_struct_fields(&mut self, pat: &'a Pat, end: Option<usize>, until: usize) {
        match pat {
            Pat::Struct(ps) => {
                for fp in &ps.fields {
                    match (&fp.member, &*fp.pat) {
                        (syn::Member::Named(name), Pat::Ident(pi)) if pi.subpat.is_none() => {
                            self.push(&pi.ident, None, None, end, until);
                            if let Some(b) = self
                                .bindings
                                .get_mut(&pi.ident.to_string())
                                .and_then(|list| list.last_mut())
                            {
                                b.field = Some(name);
                            }
                        }
                        (_, inner) => self.push_struct_fields(inner, end, until),
                    }
                }
            }
            Pat::TupleStruct(ts) if ts.elems.len() == 1 => {
                if let Some(inner) = ts.elems.first() {
                    self.push_struct_fields(inner, end, until);
                }
            }
            Pat::Reference(r) => self.push_struct_fields(&r.pat, end, until),
            Pat::Type(pt) => self.push_struct_fields(&pt.pat, end, until),
            _ => {}
        }
    }

    /// The binding of `name` visible at byte offset `at`.
    pub fn lookup(&self, name: &str, at: usize) -> Option<Binding<'a>> {
        let list = self.bindings.get(name)?;
        // Sorted by position: a binary search keeps a body that rebinds one
        // name thousands of times linear overall. A binding whose own
        // statement is still running (`let x = x.timeout(..)`) is not yet
        // visible: step back to the one before it.
        let before = list.partition_point(|b| b.at < at);
        list[..before]
            .iter()
            .rev()
            .find(|b| b.end <= at && at < b.until)
            .copied()
    }

    /// The binding a use at `at` sees while the initialiser of the binding
    /// that starts at `reading` is read: one declared inside that
    /// initialiser before the use (`let ep = if tls { let b = ..;
    /// b.tls_config(..)? } else { .. }`), else the last one before the
    /// binding being read (`let ep = ep.timeout(..)` reads the earlier `ep`).
    pub fn lookup_reading(
        &self,
        name: &str,
        at: usize,
        reading: Option<usize>,
    ) -> Option<Binding<'a>> {
        match reading {
            Some(h) if at > h => self
                .lookup(name, at)
                .filter(|b| b.at > h)
                .or_else(|| self.lookup(name, h)),
            Some(h) => self.lookup(name, at.min(h)),
            None => self.lookup(name, at),
        }
    }

    /// The binding a use of `ident` refers to: the last one of its name
    /// that starts before it.
    pub fn binding_at(&self, ident: &syn::Ident) -> Option<Binding<'a>> {
        self.lookup(&ident.to_string(), ident.span().byte_start())
    }

    /// The traits a generic type parameter of the function is bound by.
    pub fn bound_traits(&self, ty_param: &str) -> &[String] {
        self.bounds.get(ty_param).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether any binding of the body or signature satisfies `pred`.
    pub fn any_binding(&self, pred: impl Fn(&Binding<'a>) -> bool) -> bool {
        self.bindings.values().flatten().any(pred)
    }

    /// Every binding of `name`, in source order.
    pub fn all(&self, name: &str) -> &[Binding<'a>] {
        self.bindings.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A receiver whose `map` walks items, not a wrapped value: an iterator
/// adapter chain (`xs.iter().map(..)`, `.into_iter()`, `.chars()`...) or a
/// stream's. Read from the last method before `map`.
fn is_iteration(receiver: &Expr) -> bool {
    match receiver {
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            matches!(
                name.as_str(),
                "iter"
                    | "iter_mut"
                    | "into_iter"
                    | "chars"
                    | "bytes"
                    | "lines"
                    | "split"
                    | "keys"
                    | "values"
                    | "values_mut"
                    | "drain"
                    | "windows"
                    | "chunks"
                    | "enumerate"
                    | "zip"
                    | "filter"
                    | "filter_map"
                    | "flat_map"
                    | "take"
                    | "skip"
                    | "rev"
                    | "peekable"
                    | "buffered"
                    | "buffer_unordered"
            ) || name.starts_with("into_stream")
        }
        _ => false,
    }
}

struct LetCollector<'s, 'a> {
    scope: &'s mut FnScope<'a>,
    /// Ends of the blocks around the statement being visited; `None` where
    /// spans do not tell the use site's blocks (macro expansions): there a
    /// binding is visible to the end of the body.
    blocks: Option<Vec<usize>>,
}

impl LetCollector<'_, '_> {
    /// End of the innermost block around the binding being pushed.
    fn until(&self) -> usize {
        self.blocks
            .as_ref()
            .and_then(|b| b.last().copied())
            .unwrap_or(usize::MAX)
    }
}

impl<'a> Visit<'a> for LetCollector<'_, 'a> {
    fn visit_local(&mut self, l: &'a syn::Local) {
        // `#[cfg(test)] let url = "http://localhost:8888";` beside the
        // production `let`: test code never feeds a production value.
        if super::testcode::is_test_item(&l.attrs) {
            return;
        }
        let init = l.init.as_ref().map(|i| &*i.expr);
        let end = Some(l.semi_token.span.byte_end());
        let until = self.until();
        match &l.pat {
            Pat::Ident(pi) => self.scope.push(&pi.ident, init, None, end, until),
            Pat::Type(pt) => {
                if let Pat::Ident(pi) = &*pt.pat {
                    self.scope.push(&pi.ident, init, Some(&pt.ty), end, until);
                }
            }
            // `let Api { http, base } = self;`
            Pat::Struct(_) => self.scope.push_struct_fields(&l.pat, end, until),
            // `let Some(client) = self.client.as_ref() else { .. }`; and
            // `let Ok(client) = builder.build() else { return .. }`, which
            // binds what `let client = builder.build()?` would.
            Pat::TupleStruct(_) => {
                let ok_else = l.init.as_ref().is_some_and(|i| i.diverge.is_some())
                    && wrapped_binding(&l.pat, &["Ok"]).is_some();
                if let (Some(pi), Some(init)) = (ok_or_some_binding(&l.pat), init) {
                    if ok_else || (some_binding(&l.pat).is_some() && is_place(init)) {
                        self.scope.push(&pi.ident, Some(init), None, end, until);
                    }
                }
            }
            Pat::Tuple(t) => {
                if let Some(init) = init {
                    for (i, elem) in t.elems.iter().enumerate() {
                        if let Pat::Ident(pi) = elem {
                            self.scope
                                .tuple_elems
                                .entry(pi.ident.to_string())
                                .or_default()
                                .push((pi.ident.span().byte_start(), init, i));
                        }
                    }
                }
            }
            _ => {}
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_expr_closure(&mut self, c: &'a syn::ExprClosure) {
        use syn::spanned::Spanned;
        let until = match self.blocks {
            Some(_) => c.body.span().byte_end(),
            None => usize::MAX,
        };
        for input in &c.inputs {
            if let Pat::Type(pt) = input {
                if let Pat::Ident(pi) = &*pt.pat {
                    self.scope.push(&pi.ident, None, Some(&pt.ty), None, until);
                }
            }
        }
        syn::visit::visit_expr_closure(self, c);
    }
    // `builder().and_then(|b| b.timeout(d).build())`, `maybe.map(|c| ..)`:
    // the closure's one untyped parameter stands for the receiver with its
    // `Result` or `Option` taken off, as an `Ok(..)` arm's name does. Only
    // the methods whose closure receives the value (not `map_err`, whose
    // closure receives the error, nor an iterator's items, which no
    // reader types from the receiver).
    fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
        use syn::spanned::Spanned;
        let closure = match m.method.to_string().as_str() {
            "and_then" | "map" | "inspect" | "is_some_and" | "is_ok_and" if m.args.len() == 1 => {
                m.args.first()
            }
            "map_or" | "map_or_else" if m.args.len() == 2 => m.args.last(),
            _ => None,
        };
        if let Some(Expr::Closure(c)) = closure {
            if let (Some(Pat::Ident(pi)), 1) = (c.inputs.first(), c.inputs.len()) {
                if !is_iteration(&m.receiver) {
                    let until = match self.blocks {
                        Some(_) => c.body.span().byte_end(),
                        None => usize::MAX,
                    };
                    let end = Some(pi.ident.span().byte_end());
                    self.scope
                        .push(&pi.ident, Some(&m.receiver), None, end, until);
                }
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    // `match Endpoint::from_shared(url) { Ok(ep) => ep.timeout(d), .. }`:
    // in its arm, the name an `Ok(..)` or `Some(..)` pattern binds stands
    // for the scrutinee with the wrapper taken off, as `?` or `unwrap()`
    // would give it. Other patterns bind parts no reader can name.
    fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
        use syn::spanned::Spanned;
        for arm in &m.arms {
            let Some(pi) = ok_or_some_binding(&arm.pat) else {
                continue;
            };
            let until = match self.blocks {
                Some(_) => arm.body.span().byte_end(),
                None => usize::MAX,
            };
            let end = Some(arm.pat.span().byte_end());
            self.scope.push(&pi.ident, Some(&m.expr), None, end, until);
        }
        syn::visit::visit_expr_match(self, m);
    }
    fn visit_block(&mut self, b: &'a Block) {
        if let Some(blocks) = &mut self.blocks {
            blocks.push(b.brace_token.span.close().byte_end());
        }
        syn::visit::visit_block(self, b);
        if let Some(blocks) = &mut self.blocks {
            blocks.pop();
        }
    }
    // `if let Ok(channel) = Endpoint::from_static(u).connect().await { .. }`:
    // in the branch, the name an `Ok(..)` pattern binds stands for the
    // scrutinee with the wrapper taken off, as in a `match` arm. `Some(..)`
    // of anything but a place stays unbound: `if let Some(d) =
    // timeout.as_duration_opt()` is a value the caller decides, which the
    // timeout rule leaves alone as a name it cannot follow.
    fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
        if let Expr::Let(l) = &*i.cond {
            if let Some(pi) = wrapped_binding(&l.pat, &["Ok"]) {
                use syn::spanned::Spanned;
                let until = match self.blocks {
                    Some(_) => i.then_branch.brace_token.span.close().byte_end(),
                    None => usize::MAX,
                };
                let end = Some(l.expr.span().byte_end());
                self.scope.push(&pi.ident, Some(&l.expr), None, end, until);
            }
        }
        syn::visit::visit_expr_if(self, i);
    }
    // `if let Some(client) = &self.client`: the value the place holds, as
    // `self.client.as_ref().unwrap()` would give it. Other `if let`s
    // (`if let Ok(x) = ..`) and `for x in ..` bind too, but to values we
    // cannot name; leaving them out makes such names unknown rather than
    // wrong.
    fn visit_expr_let(&mut self, l: &'a syn::ExprLet) {
        if let Some(pi) = some_binding(&l.pat) {
            if is_place(&l.expr) {
                use syn::spanned::Spanned;
                let end = Some(l.expr.span().byte_end());
                let until = self.until();
                self.scope.push(&pi.ident, Some(&l.expr), None, end, until);
            }
        }
        syn::visit::visit_expr_let(self, l);
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Where one value is set up one of several ways: the branches of a
/// `match` or of an `if` with an `else` block whose value a `let` binds
/// (each branch whole: `let channel = match tls { .. }`), or that is a
/// function's tail (each branch's own value only, not the statements
/// before it: a `match` that runs a different request in each arm is not
/// one value). Byte ranges, one list per expression.
#[derive(Default)]
pub struct Branches(Vec<Vec<(usize, usize)>>);

impl Branches {
    pub fn of_file(file: &syn::File) -> Branches {
        let mut v = Branches::default();
        v.visit_file(file);
        v
    }

    /// Those of a function body.
    pub fn of_block(body: &Block) -> Branches {
        let mut v = Branches::default();
        v.tail_of(body);
        v.visit_block(body);
        v
    }

    /// Whether two byte offsets sit in different branches of one such
    /// expression.
    pub fn differ(&self, a: usize, b: usize) -> bool {
        self.0.iter().any(|g| {
            let arm = |x: usize| g.iter().position(|(s, e)| (*s..*e).contains(&x));
            matches!((arm(a), arm(b)), (Some(i), Some(j)) if i != j)
        })
    }

    fn tail_of(&mut self, body: &Block) {
        if let Some(syn::Stmt::Expr(e, None)) = body.stmts.last() {
            self.push(e, false);
        }
    }

    fn push(&mut self, e: &Expr, whole: bool) {
        let mut e = e;
        while let Expr::Paren(p) = e {
            e = &p.expr;
        }
        let block = |b: &Block| {
            if whole {
                Some((
                    b.brace_token.span.open().byte_start(),
                    b.brace_token.span.close().byte_end(),
                ))
            } else {
                block_tail_range(b)
            }
        };
        let arms: Vec<Option<(usize, usize)>> = match e {
            Expr::Match(m) if m.arms.len() > 1 => {
                let starts: Vec<usize> = m
                    .arms
                    .iter()
                    .map(|a| a.fat_arrow_token.spans[0].byte_start())
                    .collect();
                let end = m.brace_token.span.close().byte_end();
                m.arms
                    .iter()
                    .enumerate()
                    .map(|(i, a)| match (&*a.body, whole) {
                        (Expr::Block(b), false) => block_tail_range(&b.block),
                        _ => Some((starts[i], starts.get(i + 1).copied().unwrap_or(end))),
                    })
                    .collect()
            }
            Expr::If(i) => match &i.else_branch {
                Some((_, els)) => match &**els {
                    Expr::Block(b) => vec![block(&i.then_branch), block(&b.block)],
                    _ => return,
                },
                None => return,
            },
            _ => return,
        };
        self.0.push(arms.into_iter().flatten().collect());
    }
}

/// From the end of the block's last statement before its tail expression
/// (or its opening brace) to its closing brace: where the block's value is
/// written. `None` when the block has no tail expression or a statement
/// before it ends without a `;` of its own.
fn block_tail_range(b: &Block) -> Option<(usize, usize)> {
    let (last, before) = b.stmts.split_last()?;
    if !matches!(last, syn::Stmt::Expr(_, None)) {
        return None;
    }
    let start = match before.last() {
        None => b.brace_token.span.open().byte_end(),
        Some(syn::Stmt::Local(l)) => l.semi_token.span.byte_end(),
        Some(syn::Stmt::Expr(_, Some(semi))) => semi.span.byte_end(),
        Some(syn::Stmt::Macro(m)) => m.semi_token?.span.byte_end(),
        Some(_) => return None,
    };
    Some((start, b.brace_token.span.close().byte_end()))
}

impl<'x> Visit<'x> for Branches {
    fn visit_local(&mut self, l: &'x syn::Local) {
        if let Some(init) = &l.init {
            self.push(&init.expr, true);
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_item_fn(&mut self, f: &'x syn::ItemFn) {
        self.tail_of(&f.block);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'x syn::ImplItemFn) {
        self.tail_of(&f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }
}

/// The value an expression ends up as when it is a block:
/// `let serve = { let serve = axum::serve(..); ..; serve }` binds the
/// block's last expression, which names the block's own `let` (a reader
/// following the outer binding goes on from there).
pub fn block_tail(e: &Expr) -> &Expr {
    let mut e = e;
    for _ in 0..8 {
        let Expr::Block(b) = e else { break };
        match b.block.stmts.last() {
            Some(syn::Stmt::Expr(tail, None)) if b.label.is_none() => e = tail,
            _ => break,
        }
    }
    e
}

/// The name `Some(name)` binds.
fn some_binding(p: &Pat) -> Option<&syn::PatIdent> {
    wrapped_binding(p, &["Some"])
}

/// The name `Ok(name)` or `Some(name)` binds.
fn ok_or_some_binding(p: &Pat) -> Option<&syn::PatIdent> {
    wrapped_binding(p, &["Some", "Ok"])
}

/// The plain name a one-field pattern of one of `wrappers` binds.
fn wrapped_binding<'p>(p: &'p Pat, wrappers: &[&str]) -> Option<&'p syn::PatIdent> {
    let Pat::TupleStruct(ts) = p else { return None };
    let wrapper = ts
        .path
        .get_ident()
        .is_some_and(|id| wrappers.iter().any(|w| id == w));
    if !wrapper || ts.elems.len() != 1 {
        return None;
    }
    match ts.elems.first()? {
        Pat::Ident(pi) if pi.subpat.is_none() => Some(pi),
        _ => None,
    }
}

/// A field or local read as it is (`self.client`, `&state.http`,
/// `self.client.clone()`, `.as_ref()`): an `Option` whose `Some` is the
/// value itself, not the result of a call.
fn is_place(e: &Expr) -> bool {
    match e {
        Expr::Field(f) => matches!(&*f.base, Expr::Path(_) | Expr::Field(_)),
        Expr::Path(p) => p.path.get_ident().is_some(),
        Expr::Reference(r) => is_place(&r.expr),
        Expr::Paren(p) => is_place(&p.expr),
        Expr::MethodCall(m) => {
            m.args.is_empty()
                && matches!(
                    m.method.to_string().as_str(),
                    "clone" | "as_ref" | "as_deref" | "as_mut" | "cloned"
                )
                && is_place(&m.receiver)
        }
        _ => false,
    }
}
