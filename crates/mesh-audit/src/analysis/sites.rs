//! The calls, method calls and struct literals of one function body, in
//! one walk.
//!
//! Several facts of a function's summary are read off the same nodes: the
//! values its calls pass (durations, addresses), the closures it hands to
//! callees, the functions it calls, the fields its struct literals fill.
//! Each was a walk of its own over the body; they all skip nested items and
//! look at nothing else, so one walk lists the nodes in the order a
//! `syn::visit` walk meets them and each fact reads the list.

use syn::visit::Visit;

/// A node of a body that a summary fact reads.
#[derive(Clone, Copy)]
pub enum Site<'a> {
    Call(&'a syn::ExprCall),
    Method(&'a syn::ExprMethodCall),
    Struct(&'a syn::ExprStruct),
}

/// The sites of `body` in `syn::visit` order (pre-order), nested items left
/// out: they are functions of their own.
pub fn body_sites(body: &syn::Block) -> Vec<Site<'_>> {
    struct V<'a>(Vec<Site<'a>>);
    impl<'a> Visit<'a> for V<'a> {
        fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
            self.0.push(Site::Call(c));
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            self.0.push(Site::Method(m));
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_struct(&mut self, s: &'a syn::ExprStruct) {
            self.0.push(Site::Struct(s));
            syn::visit::visit_expr_struct(self, s);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0
}

/// Methods called on a `let` binding whose value a constructor written as a
/// path gives (`let mut hub = grpc::server::Hub::new(cfg); hub.start(addr)`,
/// also through `?`, `.await`, `.unwrap()`, `.expect(..)`): the
/// constructor's path as the file's imports expand it (at least a type and
/// its function: `["grpc", "server", "Hub", "new"]`) and the method. What
/// the constructor returns is not read here; `packages` checks its declared
/// return type in the crate that defines it. The calls are read from the
/// body's `sites` and from its macros (`select!`), whose bodies are parsed
/// only when the function binds such a constructor's value at all.
pub fn ctor_bound_calls(
    sites: &[Site<'_>],
    body: &syn::Block,
    scope: &super::scope::FnScope<'_>,
    uses: &super::paths::UseMap,
    macros: &super::macros::MacroTable<'_>,
) -> Vec<(Vec<String>, String)> {
    if !scope.any_binding(|b| bound_by_ctor(b).is_some()) {
        return Vec::new();
    }
    let mut methods: Vec<&syn::ExprMethodCall> = sites
        .iter()
        .filter_map(|s| match s {
            Site::Method(m) => Some(*m),
            _ => None,
        })
        .collect();
    methods.extend(macro_method_calls(body, macros));
    let mut out: Vec<(Vec<String>, String)> = Vec::new();
    for m in methods {
        let recv = match &*m.receiver {
            syn::Expr::Reference(r) => &*r.expr,
            e => e,
        };
        let syn::Expr::Path(p) = recv else { continue };
        let Some(id) = p.path.get_ident() else {
            continue;
        };
        let Some(c) = scope.binding_at(id).as_ref().and_then(bound_by_ctor) else {
            continue;
        };
        let syn::Expr::Path(f) = &*c.func else {
            continue;
        };
        let segs = uses.resolve_shared(&f.path);
        if segs.len() < 3 {
            continue;
        }
        let call = (segs.to_vec(), m.method.to_string());
        if !out.contains(&call) {
            out.push(call);
        }
    }
    out
}

/// The constructor call that gives a binding its value, when the binding
/// is a plain `let` (no declared type, not a struct field).
fn bound_by_ctor<'e>(b: &super::scope::Binding<'e>) -> Option<&'e syn::ExprCall> {
    match (b.field, b.ty, b.init) {
        (None, None, Some(init)) => ctor_call(init),
        _ => None,
    }
}

/// The constructor call a `let` initialiser is (`Hub::new(cfg).await?`): a
/// call of a path of two segments or more.
fn ctor_call(init: &syn::Expr) -> Option<&syn::ExprCall> {
    match super::net::unwrapped_call(init) {
        syn::Expr::Call(c) if matches!(&*c.func, syn::Expr::Path(f) if f.path.segments.len() >= 2) => {
            Some(c)
        }
        _ => None,
    }
}

/// The method calls inside the macros of `body` (`tokio::select! { r =
/// hub.start(addr) => .. }`), as the file's macro table parses them; nested
/// items left out.
fn macro_method_calls<'m>(
    body: &syn::Block,
    macros: &'m super::macros::MacroTable<'_>,
) -> Vec<&'m syn::ExprMethodCall> {
    struct Macros<'a>(Vec<&'a syn::Macro>);
    impl<'a> Visit<'a> for Macros<'a> {
        fn visit_macro(&mut self, m: &'a syn::Macro) {
            self.0.push(m);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    struct Methods<'a>(Vec<&'a syn::ExprMethodCall>);
    impl<'a> Visit<'a> for Methods<'a> {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            self.0.push(m);
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut found = Macros(Vec::new());
    found.visit_block(body);
    let mut out = Methods(Vec::new());
    for mac in found.0 {
        for e in macros.exprs(mac) {
            out.visit_expr(e);
        }
    }
    out.0
}
