//! `use` resolution: what a path in this file names, as a reader would expand
//! it (`use tokio::time::timeout as deadline;` makes `deadline(..)` a
//! `tokio::time::timeout` call).

use crate::source::SpanBytes;
use rustc_hash::FxHashMap as HashMap;
use std::ops::Range;

/// Local name → full path, from every `use` in the file. A path inside an
/// inline module (`mod inner { use reqwest::Client; .. }`) reads that
/// module's own imports first; elsewhere a name keeps the file's top-level
/// meaning, else its first meaning in any module: rules only need the
/// crate-level picture, and a wrong guess costs a miss, not a false finding.
#[derive(Debug, Default, Clone)]
pub struct UseMap {
    names: HashMap<String, Vec<String>>,
    /// Imports of inline modules by name.
    scoped: HashMap<String, Vec<ModuleImport>>,
    /// `use a::b::*;` prefixes, where a bare name may come from.
    globs: Vec<Vec<String>>,
    /// Re-exports of other workspace crates: path prefix → what it names.
    reexports: HashMap<String, Vec<Reexport>>,
    /// Paths already resolved, by address (see [`UseMap::resolve`]).
    resolved: std::cell::RefCell<HashMap<usize, ResolvedPath>>,
}

/// A memo entry: the path's segments as written (checked on every hit, so a
/// different path at a reused address is never mistaken for it), whether
/// the first one is an inline module's import (its answer depends on where
/// the path sits, so it is not reused), and the answer.
#[derive(Debug, Clone)]
struct ResolvedPath {
    written: Vec<String>,
    scoped: bool,
    full: std::rc::Rc<Vec<String>>,
}

/// An import of an inline module: the module's byte range, the full path.
type ModuleImport = (Range<usize>, Vec<String>);

/// A re-exported path prefix and the path it names.
type Reexport = (Vec<String>, Vec<String>);

impl UseMap {
    /// The imports of a whole file (tests; the engine reads them from the
    /// item list its file parts already hold, [`UseMap::of_items`]).
    #[cfg(test)]
    pub fn new(file: &syn::File) -> UseMap {
        UseMap::of_items(&crate::analysis::scope::functions_items_macros(file).1)
    }

    /// The imports among a file's items (every item, nested ones included,
    /// in `syn::visit` order: [`crate::analysis::FileParts`] has the list).
    pub fn of_items(items: &[&syn::Item]) -> UseMap {
        let mut v = UseCollector::default();
        for &item in items {
            // The inline modules an import is in: those whose bytes hold it
            // (the list is in walk order, so a module's items follow it).
            let enter = |v: &mut UseCollector, at: usize| {
                while v.modules.last().is_some_and(|m| !m.contains(&at)) {
                    v.modules.pop();
                }
            };
            match item {
                syn::Item::Mod(m) => {
                    let bytes = item_mod_bytes(m);
                    enter(&mut v, bytes.start);
                    v.modules.push(bytes);
                }
                syn::Item::Use(u) => {
                    enter(&mut v, u.use_token.span.byte_start());
                    v.tree(&mut Vec::new(), &u.tree);
                }
                // `extern crate conduwuit_router as router;` names the
                // crate `router`, wherever it is written.
                syn::Item::ExternCrate(e) => {
                    if let Some((_, rename)) = &e.rename {
                        if e.ident != "self" {
                            v.names
                                .entry(rename.to_string())
                                .or_insert_with(|| vec![e.ident.to_string()]);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut names = v.names;
        let mut scoped: HashMap<String, Vec<ModuleImport>> = HashMap::default();
        for (module, name, full) in v.inner {
            names.entry(name.clone()).or_insert_with(|| full.clone());
            scoped.entry(name).or_default().push((module, full));
        }
        UseMap {
            names,
            scoped,
            globs: v.globs,
            reexports: HashMap::default(),
            resolved: Default::default(),
        }
    }

    /// Reads paths through other workspace crates' re-exports:
    /// `my_http::reqwest::Client` is reqwest's `Client` when `my_http` has
    /// `pub use reqwest;`. `reexports` maps a path prefix to what it names.
    pub fn with_reexports(mut self, reexports: Vec<(Vec<String>, Vec<String>)>) -> UseMap {
        if reexports.is_empty() {
            return self;
        }
        self.resolved.get_mut().clear();
        // By first segment: a path is only compared with the re-exports of
        // the crate it starts with.
        for (prefix, target) in reexports {
            if let Some(first) = prefix.first() {
                self.reexports
                    .entry(first.clone())
                    .or_default()
                    .push((prefix, target));
            }
        }
        let names = std::mem::take(&mut self.names);
        self.names = names
            .into_iter()
            .map(|(k, v)| (k, self.canonical(v)))
            .collect();
        let mut scoped = std::mem::take(&mut self.scoped);
        for (_, full) in scoped.values_mut().flatten() {
            *full = self.canonical(std::mem::take(full));
        }
        self.scoped = scoped;
        let globs = std::mem::take(&mut self.globs);
        self.globs = globs.into_iter().map(|g| self.canonical(g)).collect();
        self
    }

    /// A path with a re-exported prefix replaced by what it names (a few
    /// rounds: a re-export may name another).
    fn canonical(&self, mut segs: Vec<String>) -> Vec<String> {
        for _ in 0..4 {
            let Some((prefix, target)) = segs
                .first()
                .and_then(|f| self.reexports.get(f))
                .into_iter()
                .flatten()
                .filter(|(p, _)| segs.starts_with(p))
                .max_by_key(|(p, _)| p.len())
            else {
                break;
            };
            let mut out = target.clone();
            out.extend(segs.drain(prefix.len()..));
            segs = out;
        }
        segs
    }

    /// Prefixes of the file's glob imports.
    pub fn globs(&self) -> &[Vec<String>] {
        &self.globs
    }

    /// The full path a local name was imported as, if it was.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.names.get(name).map(Vec::as_slice)
    }

    /// Expands a path's first segment through the imports; strips `::`.
    /// A path inside an inline module reads that module's imports first.
    pub fn resolve(&self, path: &syn::Path) -> Vec<String> {
        self.resolve_shared(path).to_vec()
    }

    /// The same, shared: every walk over a body resolves its call paths
    /// again, and a path's answer is a string per segment. Kept by the
    /// path's address for the life of the map (the file's analysis).
    pub fn resolve_shared(&self, path: &syn::Path) -> std::rc::Rc<Vec<String>> {
        let at = std::ptr::from_ref(path) as usize;
        if let Some(hit) = self.resolved.borrow().get(&at) {
            let same = hit.written.len() == path.segments.len()
                && path
                    .segments
                    .iter()
                    .zip(&hit.written)
                    .all(|(s, w)| s.ident == w);
            if same && !hit.scoped {
                return hit.full.clone();
            }
        }
        let written: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let scoped = written
            .first()
            .is_some_and(|first| self.scoped.contains_key(first));
        let full = std::rc::Rc::new(self.resolve_uncached(path, written.clone()));
        self.resolved.borrow_mut().insert(
            at,
            ResolvedPath {
                written,
                scoped,
                full: full.clone(),
            },
        );
        full
    }

    fn resolve_uncached(&self, path: &syn::Path, mut segs: Vec<String>) -> Vec<String> {
        if let Some(in_module) = segs.first().and_then(|first| self.scoped.get(first)) {
            // The path's first token: `Spanned::span()` would print the whole
            // path into a token stream to join its spans.
            let at = match &path.leading_colon {
                Some(colon) => colon.spans[0].byte_start(),
                None => path.segments[0].ident.span().byte_start(),
            };
            // The innermost module holding the path.
            let full = in_module
                .iter()
                .filter(|(module, _)| module.contains(&at))
                .min_by_key(|(module, _)| module.len());
            if let Some((_, full)) = full {
                let mut out = full.clone();
                out.extend(segs.drain(1..));
                return out;
            }
        }
        self.resolve_segments(segs)
    }

    pub fn resolve_segments(&self, mut segs: Vec<String>) -> Vec<String> {
        if let Some(first) = segs.first() {
            if let Some(full) = self.names.get(first) {
                let mut out = full.clone();
                out.extend(segs.drain(1..));
                return out;
            }
        }
        if self.reexports.is_empty() {
            segs
        } else {
            self.canonical(segs)
        }
    }

    /// Whether some import, inline-module import or re-export of the file
    /// puts a segment satisfying `hit` into the paths it resolves. When none
    /// does, a resolved path holds such a segment only if the path as
    /// written does: a walk over every path of a file can then skip the
    /// resolution (a string per segment) of the paths that cannot match.
    pub fn imports_segment(&self, hit: impl Fn(&str) -> bool) -> bool {
        let any = |p: &[String]| p.iter().any(|s| hit(s));
        self.names.values().any(|p| any(p))
            || self.scoped.values().flatten().any(|(_, p)| any(p))
            || self
                .reexports
                .values()
                .flatten()
                .any(|(prefix, target)| any(prefix) || any(target))
    }

    /// Whether any import of the file comes from `krate` (e.g. "tonic").
    pub fn imports_from(&self, krate: &str) -> bool {
        self.names
            .values()
            .any(|p| p.first().is_some_and(|s| s == krate))
    }
}

#[derive(Default)]
struct UseCollector {
    /// Imports at the file's top level.
    names: HashMap<String, Vec<String>>,
    /// Imports inside inline modules: (innermost module's byte range, name, full path).
    inner: Vec<(Range<usize>, String, Vec<String>)>,
    /// Byte ranges of the inline modules being visited, outermost first.
    modules: Vec<Range<usize>>,
    globs: Vec<Vec<String>>,
}

impl UseCollector {
    fn name(&mut self, name: String, full: Vec<String>) {
        match self.modules.last() {
            Some(module) => self.inner.push((module.clone(), name, full)),
            None => {
                self.names.entry(name).or_insert(full);
            }
        }
    }

    fn tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                if name == "self" {
                    if let Some(last) = prefix.last().cloned() {
                        self.name(last, prefix.clone());
                    }
                } else {
                    let mut full = prefix.clone();
                    full.push(name.clone());
                    self.name(name, full);
                }
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.name(r.rename.to_string(), full);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.tree(prefix, t);
                }
            }
            syn::UseTree::Glob(_) => self.globs.push(prefix.clone()),
        }
    }
}

/// The bytes of a `mod` item, from its first outer attribute (or `pub`,
/// `unsafe`, `mod`) to its closing brace or `;`: what `Spanned::span()`
/// gives, without printing the whole module into a token stream.
fn item_mod_bytes(m: &syn::ItemMod) -> Range<usize> {
    let start = m
        .attrs
        .iter()
        .find(|a| matches!(a.style, syn::AttrStyle::Outer))
        .map(|a| a.pound_token.span)
        .or(match &m.vis {
            syn::Visibility::Public(p) => Some(p.span),
            syn::Visibility::Restricted(r) => Some(r.pub_token.span),
            syn::Visibility::Inherited => None,
        })
        .or(m.unsafety.map(|u| u.span))
        .unwrap_or(m.mod_token.span);
    let end = match (&m.content, &m.semi) {
        (Some((brace, _)), _) => brace.span.close(),
        (None, Some(semi)) => semi.span,
        (None, None) => m.ident.span(),
    };
    start.byte_start()..end.byte_end()
}

/// `a::b::c` as written, without generics.
/// The expression inside parentheses, invisible groups and `&`/`&mut`
/// (`(|| async { .. })`, `&self.client`): what a method is called on or an
/// argument hands on.
pub fn unwrap_parens_refs(e: &syn::Expr) -> &syn::Expr {
    match e {
        syn::Expr::Paren(p) => unwrap_parens_refs(&p.expr),
        syn::Expr::Group(g) => unwrap_parens_refs(&g.expr),
        syn::Expr::Reference(r) => unwrap_parens_refs(&r.expr),
        _ => e,
    }
}

pub fn path_segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Whether an identifier is one of `names`: compared in place, where
/// `matches!(id.to_string().as_str(), ..)` would print it into a new string
/// (an identifier's `to_string` is most of what many walks cost).
pub fn ident_in(id: &proc_macro2::Ident, names: &[&str]) -> bool {
    names.iter().any(|n| id == n)
}

/// Whether `segs` ends with `tail`.
pub fn ends_with(segs: &[String], tail: &[&str]) -> bool {
    segs.len() >= tail.len()
        && segs[segs.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

/// Whether any segment of `segs` is `name`.
pub fn mentions(segs: &[String], name: &str) -> bool {
    segs.iter().any(|s| s == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::visit::Visit;

    /// A module's bytes are what `Spanned::span()` gives: outer attributes
    /// (not inner ones) through the closing brace or `;`.
    #[test]
    fn module_bytes_match_the_spanned_span() {
        use syn::spanned::Spanned;
        let file: syn::File = syn::parse_str(
            "#[cfg(test)] mod a { #![allow(x)] fn f() {} }\n\
             pub(crate) mod b;\n\
             mod c { use reqwest::Client; }\n\
             pub mod d { #![doc = \"x\"] }",
        )
        .unwrap();
        for item in &file.items {
            let syn::Item::Mod(m) = item else { continue };
            assert_eq!(item_mod_bytes(m), m.span().byte_range(), "{}", m.ident);
        }
    }

    #[test]
    fn resolves_renames_groups_and_self() {
        let file: syn::File = syn::parse_str(
            "use tokio::time::timeout as deadline; use std::net::{self, Ipv4Addr}; use actix_web::{web, HttpServer};",
        )
        .unwrap();
        let uses = UseMap::new(&file);
        let p: syn::Path = syn::parse_str("deadline").unwrap();
        assert_eq!(uses.resolve(&p), ["tokio", "time", "timeout"]);
        let p: syn::Path = syn::parse_str("net::TcpListener").unwrap();
        assert_eq!(uses.resolve(&p), ["std", "net", "TcpListener"]);
        let p: syn::Path = syn::parse_str("Ipv4Addr::LOCALHOST").unwrap();
        assert_eq!(uses.resolve(&p), ["std", "net", "Ipv4Addr", "LOCALHOST"]);
        assert!(uses.imports_from("actix_web"));
    }

    /// Paths in an inline module read the module's own imports first; the
    /// file's top level keeps its own meaning whatever the module order.
    #[test]
    fn inline_modules_read_their_own_imports() {
        let src = "mod inner { use reqwest::Client; fn f() { Client::new(); } }\n\
                   use crate::db::Client;\n\
                   fn g() { Client::connect(); }\n\
                   mod other { fn h() { Client::new(); } }\n";
        let file: syn::File = syn::parse_str(src).unwrap();
        let uses = UseMap::new(&file);
        let mut paths = Vec::new();
        struct P<'p>(&'p mut Vec<syn::Path>);
        impl<'a> Visit<'a> for P<'_> {
            fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
                self.0.push(p.path.clone());
            }
        }
        P(&mut paths).visit_file(&file);
        let resolved: Vec<Vec<String>> = paths.iter().map(|p| uses.resolve(p)).collect();
        assert_eq!(
            resolved,
            [
                vec!["reqwest", "Client", "new"],
                vec!["crate", "db", "Client", "connect"],
                vec!["crate", "db", "Client", "new"],
            ]
        );
    }
}
