//! Test code, classified once for every rule: findings there are noise
//! unless the user asks for them (`--include-tests`).

use crate::source::SpanBytes;
use std::path::{Path, PathBuf};

/// Whether attributes mark an item as test-only: `#[cfg(test)]`,
/// `#[test]`, `#[tokio::test]`, `#[rstest]`, `#[cfg(all(test, ..))]`,
/// `#[cfg(any(test, ..))]`, or a feature whose name says it is for tests
/// (`#[cfg(feature = "test-helpers")]`, `"testing"`, `"mocks"`).
pub fn is_test_item(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        // `name = value` attributes are doc comments (most attributes of
        // all) and the like: no test attribute or `cfg(..)` is written so.
        if matches!(a.meta, syn::Meta::NameValue(_)) {
            return false;
        }
        let path = a.path();
        if path.is_ident("cfg") {
            return a
                .parse_args::<syn::Meta>()
                .is_ok_and(|m| cfg_is_test_only(&m));
        }
        // Compared as identifiers: most attributes are doc comments, and
        // this runs for every item of every walk.
        path.segments.last().is_some_and(|last| {
            [
                "test",
                "rstest",
                "test_case",
                "bench",
                "quickcheck",
                "proptest",
            ]
            .iter()
            .any(|w| last.ident == w)
        })
    })
}

/// Whether a `cfg` predicate holds only when building tests.
fn cfg_is_test_only(meta: &syn::Meta) -> bool {
    match meta {
        syn::Meta::Path(p) => p.is_ident("test"),
        syn::Meta::NameValue(nv) if nv.path.is_ident("feature") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => is_test_feature(&s.value()),
            _ => false,
        },
        syn::Meta::NameValue(_) => false,
        syn::Meta::List(l) => {
            let Ok(items) = l.parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            ) else {
                return false;
            };
            if l.path.is_ident("all") {
                items.iter().any(cfg_is_test_only)
            } else if l.path.is_ident("any") {
                // `any(test, feature = "x")`: the item exists for tests and is
                // exported for other crates' tests; either way test support.
                items
                    .iter()
                    .any(|m| matches!(m, syn::Meta::Path(p) if p.is_ident("test")))
                    || !items.is_empty() && items.iter().all(cfg_is_test_only)
            } else {
                false
            }
        }
    }
}

/// Feature names that say "for tests": `test-helpers`, `testing`,
/// `test_utils`, `mock`, `mocks`, `fixtures`, `bench`, `integration-tests`.
pub fn is_test_feature(name: &str) -> bool {
    name.split(['-', '_']).any(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "test"
                | "tests"
                | "testing"
                | "testutil"
                | "testutils"
                | "testkit"
                | "mock"
                | "mocks"
                | "mocking"
                | "fixture"
                | "fixtures"
                | "bench"
                | "benches"
                | "benchmark"
                | "benchmarks"
        )
    })
}

/// Module names that say the module is test support, compiled into the
/// crate for its tests and other crates' tests (`pub mod test_util;`):
/// nothing in it runs in a pod. Whole names only: `testing` (A/B testing)
/// and `mock` (a mock mode a service can run in) may be production code.
pub fn is_test_support_module(name: &str) -> bool {
    matches!(
        name,
        "test_util"
            | "test_utils"
            | "testutil"
            | "testutils"
            | "test_helper"
            | "test_helpers"
            | "test_support"
            | "test_fixtures"
            | "test_harness"
    )
}

/// Byte ranges of test-only items in one file, from its items (every item,
/// nested ones included, in walk order: `FileParts` lists them). Items
/// inside a test item are its own and not read again.
pub fn test_regions(items: &[&syn::Item]) -> Vec<std::ops::Range<usize>> {
    struct V {
        out: Vec<std::ops::Range<usize>>,
    }
    impl V {
        /// `end`: the item's last token, when its syntax says which it is.
        fn item(
            &mut self,
            attrs: &[syn::Attribute],
            end: Option<proc_macro2::Span>,
            tokens: &dyn quote::ToTokens,
        ) -> bool {
            if !is_test_item(attrs) {
                return false;
            }
            // The item's text runs from its first outer attribute to its
            // last token. Printing a whole test module back into tokens to
            // find them cost more than the rest of this walk.
            let first_outer = attrs
                .iter()
                .find(|a| matches!(a.style, syn::AttrStyle::Outer));
            if let (Some(first), Some(end)) = (first_outer, end) {
                self.out
                    .push(first.pound_token.span.byte_start()..end.byte_end());
                return true;
            }
            let ts = tokens.to_token_stream();
            let mut it = ts.into_iter();
            if let Some(first) = it.next() {
                let start = first.span().byte_start();
                let end = it
                    .last()
                    .map(|t| t.span().byte_end())
                    .unwrap_or(first.span().byte_end());
                self.out.push(start..end);
            }
            true
        }
    }
    impl V {
        /// Records `i` if it is a test item; its test functions if it is
        /// another `impl`.
        fn visit_item(&mut self, i: &syn::Item) {
            let attrs: &[syn::Attribute] = match i {
                syn::Item::Fn(f) => &f.attrs,
                syn::Item::Mod(m) => &m.attrs,
                syn::Item::Impl(m) => &m.attrs,
                syn::Item::Const(m) => &m.attrs,
                syn::Item::Static(m) => &m.attrs,
                syn::Item::Struct(m) => &m.attrs,
                syn::Item::Enum(m) => &m.attrs,
                syn::Item::Use(m) => &m.attrs,
                _ => &[],
            };
            let end = match i {
                syn::Item::Fn(f) => Some(f.block.brace_token.span.close()),
                syn::Item::Mod(m) => match (&m.content, &m.semi) {
                    (Some((brace, _)), _) => Some(brace.span.close()),
                    (None, Some(semi)) => Some(semi.span),
                    (None, None) => None,
                },
                syn::Item::Impl(m) => Some(m.brace_token.span.close()),
                syn::Item::Const(m) => Some(m.semi_token.span),
                syn::Item::Static(m) => Some(m.semi_token.span),
                syn::Item::Struct(m) => match (&m.semi_token, &m.fields) {
                    (Some(semi), _) => Some(semi.span),
                    (None, syn::Fields::Named(n)) => Some(n.brace_token.span.close()),
                    (None, _) => None,
                },
                syn::Item::Enum(m) => Some(m.brace_token.span.close()),
                syn::Item::Use(m) => Some(m.semi_token.span),
                _ => None,
            };
            if let syn::Item::Mod(m) = i {
                if is_test_support_module(&m.ident.to_string()) {
                    let start = m
                        .attrs
                        .iter()
                        .find(|a| matches!(a.style, syn::AttrStyle::Outer))
                        .map(|a| a.pound_token.span.byte_start())
                        .unwrap_or_else(|| match &m.vis {
                            syn::Visibility::Inherited => m.mod_token.span.byte_start(),
                            v => quote::ToTokens::to_token_stream(v)
                                .into_iter()
                                .next()
                                .map_or(m.mod_token.span.byte_start(), |t| t.span().byte_start()),
                        });
                    if let Some(end) = end {
                        self.out.push(start..end.byte_end());
                        return;
                    }
                }
            }
            if self.item(attrs, end, i) {
                return;
            }
            if let syn::Item::Impl(imp) = i {
                for f in imp.items.iter().filter_map(|m| match m {
                    syn::ImplItem::Fn(f) => Some(f),
                    _ => None,
                }) {
                    self.item(&f.attrs, Some(f.block.brace_token.span.close()), f);
                }
            }
        }
    }
    let mut v = V { out: Vec::new() };
    // The regions so far, sorted by start (they never overlap).
    let mut sorted: Vec<std::ops::Range<usize>> = Vec::new();
    for &i in items {
        let Some(at) = item_keyword(i) else { continue };
        let before = sorted.partition_point(|r| r.start <= at);
        if before > 0 && sorted[before - 1].contains(&at) {
            continue;
        }
        let from = v.out.len();
        v.visit_item(i);
        for r in &v.out[from..] {
            let p = sorted.partition_point(|s| s.start <= r.start);
            sorted.insert(p, r.clone());
        }
    }
    v.out
}

/// The byte of an item's keyword (`fn`, `mod`, `impl`, ...): inside the
/// item, so inside every region that holds it. `None` for verbatim items,
/// which hold no items of their own.
fn item_keyword(i: &syn::Item) -> Option<usize> {
    use syn::Item;
    let span = match i {
        Item::Const(x) => x.const_token.span,
        Item::Enum(x) => x.enum_token.span,
        Item::ExternCrate(x) => x.extern_token.span,
        Item::Fn(x) => x.sig.fn_token.span,
        Item::ForeignMod(x) => x.abi.extern_token.span,
        Item::Impl(x) => x.impl_token.span,
        Item::Macro(x) => x.mac.bang_token.span,
        Item::Mod(x) => x.mod_token.span,
        Item::Static(x) => x.static_token.span,
        Item::Struct(x) => x.struct_token.span,
        Item::Trait(x) => x.trait_token.span,
        Item::TraitAlias(x) => x.trait_token.span,
        Item::Type(x) => x.type_token.span,
        Item::Union(x) => x.union_token.span,
        Item::Use(x) => x.use_token.span,
        _ => return None,
    };
    Some(span.byte_start())
}

/// Files that `#[cfg(test)] mod x;` declarations of `file` (at `path`) pull
/// in: `x.rs` or `x/mod.rs` beside a `mod.rs`/`lib.rs`/`main.rs`, else in the
/// folder named after the file. Returned as paths; the folder `x/` is
/// returned too, since every file below a test module is test code.
pub fn test_module_paths(file: &syn::File, path: &Path) -> Vec<PathBuf> {
    test_module_paths_of(&crate::modtree::mod_decls(file, path, None))
}

/// [`test_module_paths`] of a file's declarations read already.
pub fn test_module_paths_of(decls: &[crate::modtree::ModDecl]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in decls.iter().filter(|d| d.test) {
        for c in &d.candidates {
            // `x/mod.rs` is covered by the folder `x/`.
            match c.file_name().and_then(|n| n.to_str()) {
                Some("mod.rs") => out.extend(c.parent().map(Path::to_path_buf)),
                _ => out.push(c.clone()),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_support_modules_by_whole_name() {
        for name in [
            "test_util",
            "test_utils",
            "testutils",
            "test_helpers",
            "test_support",
        ] {
            assert!(is_test_support_module(name), "{name}");
        }
        for name in [
            "testing",
            "mock",
            "test_runs",
            "tests_api",
            "contest_util",
            "util",
        ] {
            assert!(!is_test_support_module(name), "{name}");
        }
    }

    fn cfg(text: &str) -> bool {
        let item: syn::ItemFn = syn::parse_str(&format!("#[cfg({text})] fn f() {{}}")).unwrap();
        is_test_item(&item.attrs)
    }

    #[test]
    fn cfg_test_forms() {
        assert!(cfg("test"));
        assert!(cfg("all(test, feature = \"x\")"));
        assert!(cfg("any(feature = \"x\", test)"));
        assert!(cfg("feature = \"test-helpers\""));
        assert!(cfg("feature = \"testing\""));
        assert!(cfg("any(feature = \"mocks\", feature = \"test_utils\")"));
        assert!(!cfg("not(test)"));
        assert!(!cfg("feature = \"latest\""));
        assert!(!cfg("feature = \"attestation\""));
        assert!(!cfg("any(feature = \"tls\", feature = \"testing\")"));
        assert!(!cfg("unix"));
    }

    #[test]
    fn out_of_line_test_modules() {
        let file: syn::File = syn::parse_str(
            "#[cfg(test)] mod tests; mod real; #[cfg(test)] #[path = \"t.rs\"] mod t;",
        )
        .unwrap();
        let got = test_module_paths(&file, Path::new("src/lib.rs"));
        assert_eq!(
            got,
            [
                PathBuf::from("src/tests.rs"),
                PathBuf::from("src/tests"),
                PathBuf::from("src/t.rs")
            ]
        );
        let got = test_module_paths(&file, Path::new("src/net.rs"));
        assert_eq!(got[0], PathBuf::from("src/net/tests.rs"));
    }
}
