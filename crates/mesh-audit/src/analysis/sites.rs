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
