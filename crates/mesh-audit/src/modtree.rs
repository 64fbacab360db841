//! Which files each cargo target compiles, and the module path of each: the
//! module tree that rustc walks from a target's `src_path` through `mod`
//! declarations (`#[path]`, inline modules, `mod.rs` and `name.rs` layouts,
//! `mod x;` inside `cfg_if!`-style macros).
//!
//! A file no target reaches is not compiled and is not audited. A file that
//! only test, bench and example targets (or the build script) reach is test
//! code; so is everything below a `#[cfg(test)]` (or test-feature) module.

use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};

use crate::analysis::testcode::{is_test_item, is_test_support_module};
use crate::discover::{PackageInfo, SourceFile, TargetKind};
use crate::source::{has_word, SpanBytes};

/// One out-of-line `mod name;` of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModDecl {
    /// Module path below the declaring file's module: `["a", "b"]` for
    /// `mod a { mod b; }`.
    pub module: Vec<String>,
    /// Files that may hold it, in rustc's order of preference.
    pub candidates: Vec<PathBuf>,
    /// The same when the declaring file is a crate root (a target's
    /// `src_path`), whose modules sit beside it whatever its name.
    pub root_candidates: Vec<PathBuf>,
    /// `#[cfg(test)]` (or a test feature) on it or an enclosing module.
    pub test: bool,
}

/// The out-of-line module declarations of a file at `path`. With the
/// file's `text`, an item macro whose text has no `mod` word is not
/// searched for declarations (its tokens would be copied to be read).
pub fn mod_decls(file: &syn::File, path: &Path, text: Option<&str>) -> Vec<ModDecl> {
    let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let dir = module_dir(path);
    let mut out = Vec::new();
    let walk = Walk {
        file_dir: &parent,
        text,
    };
    walk.collect(&file.items, &dir, &mut Vec::new(), false, &mut out);
    if dir != parent {
        let mut as_root = Vec::new();
        walk.collect(&file.items, &parent, &mut Vec::new(), false, &mut as_root);
        for (d, r) in out.iter_mut().zip(as_root) {
            d.root_candidates = r.candidates;
        }
    } else {
        for d in &mut out {
            d.root_candidates = d.candidates.clone();
        }
    }
    out
}

/// An identifier as a path component: `r#async` is the module `async`.
fn ident_name(id: &syn::Ident) -> String {
    use syn::ext::IdentExt;
    id.unraw().to_string()
}

/// Where `mod x;` of this file looks for `x`: beside `lib.rs`, `main.rs`
/// and `mod.rs`, else in the folder named after the file.
fn module_dir(path: &Path) -> PathBuf {
    let parent = path.parent().unwrap_or(Path::new(""));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if matches!(stem, "mod" | "lib" | "main") {
        parent.to_path_buf()
    } else {
        parent.join(stem)
    }
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        if !a.path().is_ident("path") {
            return None;
        }
        match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        }
    })
}

struct Walk<'w> {
    /// Where a top-level `#[path]` is relative to.
    file_dir: &'w Path,
    text: Option<&'w str>,
}

impl Walk<'_> {
    /// `dir` is the current module's folder.
    fn collect(
        &self,
        items: &[syn::Item],
        dir: &Path,
        module: &mut Vec<String>,
        in_test: bool,
        out: &mut Vec<ModDecl>,
    ) {
        let file_dir = self.file_dir;
        for item in items {
            match item {
                syn::Item::Mod(m) => {
                    let name = ident_name(&m.ident);
                    let test = in_test || is_test_item(&m.attrs) || is_test_support_module(&name);
                    let explicit = path_attr(&m.attrs);
                    match &m.content {
                        Some((_, inner)) => {
                            let inner_dir = match &explicit {
                                Some(p) => dir.join(p),
                                None => dir.join(&name),
                            };
                            module.push(name);
                            self.collect(inner, &inner_dir, module, test, out);
                            module.pop();
                        }
                        None => {
                            let candidates = match explicit {
                                // A top-level `#[path]` is relative to the file's
                                // folder; inside an inline module, to that module's.
                                Some(p) if module.is_empty() => vec![file_dir.join(p)],
                                Some(p) => vec![dir.join(p)],
                                None => vec![
                                    dir.join(format!("{name}.rs")),
                                    dir.join(&name).join("mod.rs"),
                                ],
                            };
                            let mut path = module.clone();
                            path.push(name);
                            out.push(ModDecl {
                                module: path,
                                candidates,
                                root_candidates: Vec::new(),
                                test,
                            });
                        }
                    }
                }
                // `cfg_if! { if #[cfg(unix)] { mod unix; } else { mod other; } }`
                syn::Item::Macro(m) => {
                    let range = m.mac.delimiter.span().join().bytes();
                    if self
                        .text
                        .is_some_and(|t| t.get(range).is_some_and(|s| !has_word(s, "mod")))
                    {
                        continue;
                    }
                    let mut names = Vec::new();
                    mods_in_tokens(m.mac.tokens.clone(), &mut names, 0);
                    for name in names {
                        let mut path = module.clone();
                        path.push(name.clone());
                        out.push(ModDecl {
                            module: path,
                            candidates: vec![
                                dir.join(format!("{name}.rs")),
                                dir.join(&name).join("mod.rs"),
                            ],
                            root_candidates: Vec::new(),
                            test: in_test,
                        });
                    }
                }
                _ => {}
            }
        }
    }
}

/// `mod name ;` anywhere in a macro's tokens.
fn mods_in_tokens(tokens: TokenStream, out: &mut Vec<String>, depth: usize) {
    if depth > 32 {
        return;
    }
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => mods_in_tokens(g.stream(), out, depth + 1),
            TokenTree::Ident(id) if id == "mod" => {
                if let (Some(TokenTree::Ident(name)), Some(TokenTree::Punct(p))) =
                    (tts.get(i + 1), tts.get(i + 2))
                {
                    if p.as_char() == ';' {
                        out.push(ident_name(name));
                    }
                }
            }
            _ => {}
        }
    }
}

/// What cargo compiles a file as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRole {
    /// The most production-like target that reaches it (lib before bin
    /// before test, bench, example, build script).
    pub kind: TargetKind,
    /// That target's name (a bin's name says which binary runs it).
    pub target: String,
    /// Module path from that target's root (`["api", "routes"]`).
    pub module: Vec<String>,
    /// Only reached as test code.
    pub test: bool,
}

/// Walks every package's targets through the files' module declarations.
/// `decls[i]` are the declarations of `files[i]` (`None` when it did not
/// parse). Returns a role per file; `None` for files no target reaches.
pub fn file_roles(
    packages: &[PackageInfo],
    files: &[SourceFile],
    decls: &[Option<&[ModDecl]>],
) -> Vec<Option<FileRole>> {
    let by_path: HashMap<&Path, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.abs.as_path(), i))
        .collect();
    let mut roles: Vec<Option<FileRole>> = vec![None; files.len()];
    for pkg in packages.iter().filter(|p| p.selected) {
        let mut targets: Vec<_> = pkg.targets.iter().collect();
        targets.sort_by_key(|t| t.kind);
        for t in targets {
            let Some(&root) = by_path.get(t.src_path.as_path()) else {
                continue;
            };
            let mut queue = VecDeque::from([(root, Vec::new(), !t.kind.is_production())]);
            while let Some((i, module, test)) = queue.pop_front() {
                let better = match &roles[i] {
                    None => true,
                    // Production beats test; otherwise the first target wins.
                    Some(r) => r.test && !test,
                };
                if !better {
                    continue;
                }
                roles[i] = Some(FileRole {
                    kind: t.kind,
                    target: t.name.clone(),
                    module: module.clone(),
                    test,
                });
                for d in decls[i].unwrap_or(&[]) {
                    let candidates = if i == root {
                        &d.root_candidates
                    } else {
                        &d.candidates
                    };
                    let Some(&child) = candidates.iter().find_map(|c| by_path.get(c.as_path()))
                    else {
                        continue;
                    };
                    if child == i {
                        continue;
                    }
                    let mut m = module.clone();
                    m.extend(d.module.iter().cloned());
                    queue.push_back((child, m, test || d.test));
                }
            }
        }
    }
    roles
}

/// A file's module path guessed from where it sits below `src/` (path
/// mode, where no target says where a crate starts): `src/a/b.rs` is
/// `a::b`, `src/a/mod.rs` is `a`, `src/lib.rs` is the root.
pub fn module_from_path(rel_to_package: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel_to_package
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "src") {
        parts.remove(0);
    }
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if !matches!(stem, "mod" | "lib" | "main") {
            parts.push(stem.to_string());
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_and_their_files() {
        let file: syn::File = syn::parse_str(
            "mod a; #[path = \"x/y.rs\"] mod b; mod inline { mod c; #[path = \"z.rs\"] mod d; }\
             #[cfg(test)] mod tests; cfg_if::cfg_if! { if #[cfg(unix)] { mod unix; } }",
        )
        .unwrap();
        let got = mod_decls(&file, Path::new("/p/src/net.rs"), None);
        let show: Vec<(String, Vec<String>, bool)> = got
            .iter()
            .map(|d| {
                (
                    d.module.join("::"),
                    d.candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect(),
                    d.test,
                )
            })
            .collect();
        assert_eq!(
            show,
            [
                (
                    "a".into(),
                    vec!["/p/src/net/a.rs".into(), "/p/src/net/a/mod.rs".into()],
                    false
                ),
                ("b".into(), vec!["/p/src/x/y.rs".into()], false),
                (
                    "inline::c".into(),
                    vec![
                        "/p/src/net/inline/c.rs".into(),
                        "/p/src/net/inline/c/mod.rs".into()
                    ],
                    false
                ),
                (
                    "inline::d".into(),
                    vec!["/p/src/net/inline/z.rs".into()],
                    false
                ),
                (
                    "tests".into(),
                    vec![
                        "/p/src/net/tests.rs".into(),
                        "/p/src/net/tests/mod.rs".into()
                    ],
                    true
                ),
                (
                    "unix".into(),
                    vec!["/p/src/net/unix.rs".into(), "/p/src/net/unix/mod.rs".into()],
                    false
                ),
            ]
        );
    }

    #[test]
    fn module_paths_from_layout() {
        assert_eq!(module_from_path(Path::new("src/a/b.rs")), ["a", "b"]);
        assert_eq!(module_from_path(Path::new("src/a/mod.rs")), ["a"]);
        assert!(module_from_path(Path::new("src/lib.rs")).is_empty());
    }
}
