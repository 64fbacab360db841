//! What a finding's fingerprint is made of, so that a baseline keeps
//! matching after unrelated edits: the path of the item that encloses the
//! finding (`mod a::impl Client::fn fetch`) and its code with whitespace
//! normalised. Line numbers are deliberately not part of it.

use crate::source::SpanBytes;
use std::str::FromStr;

use syn::spanned::Spanned;
use syn::visit::Visit;

/// `::`-joined names of the items enclosing byte `offset`, outermost first;
/// empty at the top level of a file.
pub fn enclosing_item_path(file: &syn::File, offset: usize) -> String {
    ItemPaths::new(file).at(offset).to_string()
}

/// Every named item of a file with its byte range and path, computed once
/// per file: a file with thousands of findings asks for thousands of paths,
/// and each span costs a walk over the item's tokens.
pub struct ItemPaths {
    /// (start, end, path), in pre-order.
    items: Vec<(usize, usize, String)>,
}

impl ItemPaths {
    pub fn new(file: &syn::File) -> ItemPaths {
        let mut c = Collect {
            path: Vec::new(),
            out: Vec::new(),
        };
        c.visit_file(file);
        ItemPaths { items: c.out }
    }

    /// The path of the innermost item that holds `offset`.
    pub fn at(&self, offset: usize) -> &str {
        self.items
            .iter()
            .filter(|(s, e, _)| (*s..*e).contains(&offset))
            .min_by_key(|(s, e, _)| e - s)
            .map(|(_, _, p)| p.as_str())
            .unwrap_or("")
    }
}

struct Collect {
    path: Vec<String>,
    out: Vec<(usize, usize, String)>,
}

impl Collect {
    fn enter(&mut self, node: &impl Spanned, name: Option<String>) -> bool {
        let Some(name) = name else { return false };
        let r = node.span().bytes();
        self.path.push(name);
        self.out.push((r.start, r.end, self.path.join("::")));
        true
    }
}

impl<'ast> Visit<'ast> for Collect {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let pushed = self.enter(item, item_name(item));
        syn::visit::visit_item(self, item);
        if pushed {
            self.path.pop();
        }
    }
    fn visit_impl_item(&mut self, item: &'ast syn::ImplItem) {
        let name = match item {
            syn::ImplItem::Fn(f) => Some(format!("fn {}", f.sig.ident)),
            syn::ImplItem::Const(c) => Some(format!("const {}", c.ident)),
            _ => None,
        };
        let pushed = self.enter(item, name);
        syn::visit::visit_impl_item(self, item);
        if pushed {
            self.path.pop();
        }
    }
    fn visit_trait_item(&mut self, item: &'ast syn::TraitItem) {
        let name = match item {
            syn::TraitItem::Fn(f) => Some(format!("fn {}", f.sig.ident)),
            _ => None,
        };
        let pushed = self.enter(item, name);
        syn::visit::visit_trait_item(self, item);
        if pushed {
            self.path.pop();
        }
    }
}

fn item_name(item: &syn::Item) -> Option<String> {
    match item {
        syn::Item::Fn(f) => Some(format!("fn {}", f.sig.ident)),
        syn::Item::Mod(m) => Some(format!("mod {}", m.ident)),
        syn::Item::Trait(t) => Some(format!("trait {}", t.ident)),
        syn::Item::Const(c) => Some(format!("const {}", c.ident)),
        syn::Item::Static(s) => Some(format!("static {}", s.ident)),
        syn::Item::Struct(s) => Some(format!("struct {}", s.ident)),
        syn::Item::Enum(e) => Some(format!("enum {}", e.ident)),
        syn::Item::Impl(i) => {
            let ty = normalised_code(&quote::ToTokens::to_token_stream(&i.self_ty).to_string());
            Some(match &i.trait_ {
                Some((path, _)) => {
                    let tr = quote::ToTokens::to_token_stream(path).to_string();
                    format!("impl {tr} for {ty}")
                }
                None => format!("impl {ty}"),
            })
        }
        syn::Item::Macro(m) => Some(format!(
            "{}!",
            m.mac
                .path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default()
        )),
        _ => None,
    }
}

/// The code of a finding with layout removed: tokens re-printed with
/// proc-macro2's spacing, so re-indenting or re-wrapping does not change it.
/// Text that is not a whole token stream (a cut through a string) keeps its
/// words joined by single spaces.
pub fn normalised_code(code: &str) -> String {
    match proc_macro2::TokenStream::from_str(code) {
        Ok(tokens) => tokens.to_string(),
        Err(_) => code.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_at(src: &str, needle: &str) -> String {
        let file = syn::parse_file(src).unwrap();
        enclosing_item_path(&file, src.find(needle).unwrap())
    }

    #[test]
    fn names_nested_items() {
        let src = "mod a { struct C; impl C { fn get(&self) { call(); } } }\nfn main() { other(); }\nimpl Drop for C { fn drop(&mut self) { last(); } }";
        assert_eq!(path_at(src, "call"), "mod a::impl C::fn get");
        assert_eq!(path_at(src, "other"), "fn main");
        assert_eq!(path_at(src, "last"), "impl Drop for C::fn drop");
        assert_eq!(path_at(src, "mod a"), "mod a");
    }

    #[test]
    fn code_ignores_layout() {
        assert_eq!(
            normalised_code("for attempt in 0..3 {\n    send( x ).await;\n}"),
            normalised_code("for attempt in 0..3 { send(x).await; }")
        );
        assert_eq!(normalised_code("\"a  b"), "\"a b");
    }
}
