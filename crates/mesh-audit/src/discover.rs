//! Which files to audit. Cargo mode asks `cargo metadata --no-deps` (never
//! builds, never runs build scripts, never touches the network) for the
//! workspace's packages; path mode walks what it is given. Both walk with
//! `ignore`, so `.gitignore` and `target/` are respected.
//!
//! Architecture invariant: this is the only module that spawns a process.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use mesh_audit_model::AuditError;

/// One `.rs` file to audit.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub abs: PathBuf,
    /// Relative to the audit root, `/` separators.
    pub rel: String,
    /// Package name, when the file belongs to one.
    pub package: Option<String>,
    /// Directory of the package's `Cargo.toml` (or the walked path).
    pub package_root: PathBuf,
    /// `tests/`, `benches/`, `examples/` under the package root, or a build script.
    pub test_path: bool,
}

/// What to audit.
#[derive(Debug, Clone)]
pub enum Target {
    Cargo {
        manifest_path: Option<PathBuf>,
        packages: Vec<String>,
        exclude: Vec<String>,
        /// Every member, even when the manifest (or the current folder)
        /// names one member package.
        workspace: bool,
    },
    Paths(Vec<PathBuf>),
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{path}: no such file or directory")]
    Missing { path: String },
    #[error("{0}")]
    Cargo(String),
    #[error("{0}")]
    Usage(String),
}

#[derive(Debug, Default)]
pub struct Discovered {
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    /// Problems that did not stop discovery (e.g. a broken manifest that fell
    /// back to a plain walk).
    pub errors: Vec<AuditError>,
}

struct Package {
    name: Option<String>,
    root: PathBuf,
    build_script: Option<PathBuf>,
}

/// Drops files matched by the configuration's `exclude` globs
/// (gitignore syntax, relative to the audit root).
pub fn apply_excludes(found: &mut Discovered, excludes: &[String]) {
    if excludes.is_empty() {
        return;
    }
    let matcher = exclude_matcher(&found.root, excludes);
    found.files.retain(|f| {
        !matcher
            .matched_path_or_any_parents(Path::new(&f.rel), false)
            .is_ignore()
    });
}

pub fn discover(target: &Target, excludes: &[String]) -> Result<Discovered, DiscoverError> {
    match target {
        Target::Cargo {
            manifest_path,
            packages,
            exclude,
            workspace,
        } => from_cargo(
            manifest_path.as_deref(),
            packages,
            exclude,
            *workspace,
            excludes,
        ),
        Target::Paths(paths) => from_paths(paths, excludes),
    }
}

fn from_cargo(
    manifest_path: Option<&Path>,
    select: &[String],
    exclude: &[String],
    workspace: bool,
    excludes: &[String],
) -> Result<Discovered, DiscoverError> {
    if let Some(p) = manifest_path {
        if !p.is_file() {
            return Err(DiscoverError::Missing {
                path: p.display().to_string(),
            });
        }
    }
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps().other_options(vec!["--offline".to_string()]);
    if let Some(p) = manifest_path {
        cmd.manifest_path(p);
    }
    let meta = match cmd.exec() {
        Ok(m) => m,
        Err(e) => {
            let message = cargo_error_text(&e);
            // Without a manifest we cannot know the packages; with a broken
            // one we still audit its folder as plain paths.
            let manifest = match manifest_path {
                Some(p) => p.to_path_buf(),
                None => find_manifest(&std::env::current_dir().unwrap_or_default())
                    .ok_or_else(|| DiscoverError::Cargo(format!(
                        "no Cargo.toml in the current directory or any parent ({message}); pass --manifest-path or paths to audit"
                    )))?,
            };
            let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            let mut found = from_paths(&[dir], excludes)?;
            found.errors.push(AuditError {
                file: rel_to(&found.root, &manifest),
                line: None,
                column: None,
                message: format!(
                    "cargo metadata failed, audited the folder without Cargo: {message}"
                ),
            });
            return Ok(found);
        }
    };
    let root = meta.workspace_root.clone().into_std_path_buf();
    let members: BTreeSet<_> = meta.workspace_members.iter().collect();
    let all: Vec<_> = meta
        .packages
        .iter()
        .filter(|p| members.contains(&p.id))
        .collect();
    for name in select.iter().chain(exclude) {
        if !all.iter().any(|p| p.name.as_str() == name) {
            return Err(DiscoverError::Usage(format!(
                "package `{name}` is not a member of the workspace at {}",
                root.display()
            )));
        }
    }
    // As cargo does: a member's manifest (given, or the nearest to the
    // current folder) selects that member; the workspace root's selects
    // every member (cargo would take only a root package: auditing more is
    // the safe side for a CI gate).
    let invoked = manifest_path
        .map(Path::to_path_buf)
        .or_else(|| find_manifest(&std::env::current_dir().unwrap_or_default()))
        .and_then(|p| std::fs::canonicalize(p).ok());
    let root_manifest = std::fs::canonicalize(root.join("Cargo.toml")).ok();
    let member_selected: Vec<String> = match (&invoked, workspace || !select.is_empty()) {
        (Some(m), false) if Some(m) != root_manifest.as_ref() => all
            .iter()
            .filter(|p| {
                std::fs::canonicalize(p.manifest_path.as_std_path())
                    .ok()
                    .as_ref()
                    == Some(m)
            })
            .map(|p| p.name.to_string())
            .collect(),
        _ => Vec::new(),
    };
    let select: &[String] = if member_selected.is_empty() {
        select
    } else {
        &member_selected
    };
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|p| select.is_empty() || select.iter().any(|s| s == p.name.as_str()))
        .filter(|p| !exclude.iter().any(|s| s == p.name.as_str()))
        .collect();
    let mut packages: Vec<Package> = chosen
        .iter()
        .map(|p| Package {
            name: Some(p.name.to_string()),
            root: p
                .manifest_path
                .parent()
                .map(|d| d.as_std_path().to_path_buf())
                .unwrap_or_default(),
            build_script: p
                .targets
                .iter()
                .find(|t| t.kind.iter().any(|k| k.to_string() == "custom-build"))
                .map(|t| t.src_path.clone().into_std_path_buf()),
        })
        .collect();
    packages.sort_by(|a, b| a.root.cmp(&b.root));
    let mut found = Discovered {
        root: root.clone(),
        ..Default::default()
    };
    let matcher = exclude_matcher(&root, excludes);
    for pkg in &packages {
        walk(&pkg.root, &root, Some(pkg), &matcher, &mut found);
    }
    finish(found)
}

fn cargo_error_text(e: &cargo_metadata::Error) -> String {
    match e {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            let lines: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("Caused by:"))
                .collect();
            lines.join(" ").trim_start_matches("error: ").to_string()
        }
        other => other.to_string(),
    }
}

fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
}

fn from_paths(paths: &[PathBuf], excludes: &[String]) -> Result<Discovered, DiscoverError> {
    for p in paths {
        if !p.exists() {
            return Err(DiscoverError::Missing {
                path: p.display().to_string(),
            });
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs: Vec<PathBuf> = paths
        .iter()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| cwd.join(p)))
        .collect();
    // Report paths relative to the current directory when the inputs lie
    // under it, else relative to the first input's folder.
    let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
    let root = if abs.iter().all(|p| p.starts_with(&cwd)) {
        cwd
    } else {
        let first = &abs[0];
        if first.is_dir() {
            first.clone()
        } else {
            first.parent().map(Path::to_path_buf).unwrap_or_default()
        }
    };
    let mut found = Discovered {
        root: root.clone(),
        ..Default::default()
    };
    let matcher = exclude_matcher(&root, excludes);
    for p in &abs {
        walk(p, &root, None, &matcher, &mut found);
    }
    finish(found)
}

fn finish(mut found: Discovered) -> Result<Discovered, DiscoverError> {
    found.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    found.files.dedup_by(|a, b| a.abs == b.abs);
    Ok(found)
}

fn exclude_matcher(root: &Path, excludes: &[String]) -> Gitignore {
    let mut b = GitignoreBuilder::new(root);
    for g in excludes {
        let _ = b.add_line(None, g);
    }
    b.build().unwrap_or_else(|_| Gitignore::empty())
}

/// Walks `start` in parallel, collecting `.rs` files. With a package, nested
/// folders that hold a `Cargo.toml` of their own belong to another package
/// and are skipped.
fn walk(
    start: &Path,
    root: &Path,
    pkg: Option<&Package>,
    excludes: &Gitignore,
    found: &mut Discovered,
) {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let start_owned = start.to_path_buf();
    let has_pkg = pkg.is_some();
    let walker = ignore::WalkBuilder::new(start)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .parents(true)
        .require_git(false)
        .filter_entry(move |e| {
            let p = e.path();
            if e.file_type().is_some_and(|t| t.is_dir()) && p != start_owned {
                if p.file_name().is_some_and(|n| n == "target") {
                    return false;
                }
                if has_pkg && p.join("Cargo.toml").is_file() {
                    return false;
                }
            }
            true
        })
        .build_parallel();
    walker.run(|| {
        Box::new(|entry| {
            match entry {
                Ok(e) => {
                    let p = e.path();
                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                    if is_file && p.extension().is_some_and(|x| x == "rs") {
                        let is_dir = false;
                        let rel_root = p.strip_prefix(root).unwrap_or(p);
                        if !excludes
                            .matched_path_or_any_parents(rel_root, is_dir)
                            .is_ignore()
                        {
                            files
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(p.to_path_buf());
                        }
                    }
                }
                Err(err) => errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(err.to_string()),
            }
            ignore::WalkState::Continue
        })
    });
    for message in errors.into_inner().unwrap_or_default() {
        found.errors.push(AuditError {
            file: String::new(),
            line: None,
            column: None,
            message,
        });
    }
    // Package of each folder, looked up once per folder: thousands of files
    // share a handful of manifests.
    let mut by_dir: HashMap<PathBuf, (Option<String>, PathBuf, Option<PathBuf>)> = HashMap::new();
    for abs in files.into_inner().unwrap_or_default() {
        let mut plain = false;
        let (pkg_name, pkg_root, build_script) = match pkg {
            Some(p) => (p.name.clone(), p.root.clone(), p.build_script.clone()),
            None => {
                let parent = abs.parent().map(Path::to_path_buf).unwrap_or_default();
                let found = by_dir
                    .entry(parent)
                    .or_insert_with_key(|parent| {
                        let manifest = find_manifest(parent);
                        let dir = manifest
                            .as_ref()
                            .and_then(|m| m.parent())
                            .map(Path::to_path_buf);
                        let name = manifest.as_ref().and_then(|m| package_name(m));
                        let script = dir.as_ref().map(|d| d.join("build.rs"));
                        (name, dir.unwrap_or_else(|| start.to_path_buf()), script)
                    })
                    .clone();
                // No manifest above this folder: plain-path mode.
                plain = found.2.is_none();
                found
            }
        };
        let in_pkg = abs.strip_prefix(&pkg_root).unwrap_or(&abs);
        let first = in_pkg
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let test_path = matches!(first, "tests" | "benches" | "examples")
            && in_pkg.components().count() > 1
            || build_script.as_deref() == Some(abs.as_path())
            || plain && beside_src(&abs, &pkg_root);
        found.files.push(SourceFile {
            rel: rel_to(root, &abs),
            abs,
            package: pkg_name,
            package_root: pkg_root,
            test_path,
        });
    }
}

/// Without a manifest, the package root is only the walked folder; a crate
/// deeper down still keeps its tests in `tests/`, `benches/` and
/// `examples/` next to its `src/`.
fn beside_src(abs: &Path, walked: &Path) -> bool {
    abs.ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(walked) && *d != walked)
        .any(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| matches!(n, "tests" | "benches" | "examples"))
                && d.parent().is_some_and(|p| p.join("src").is_dir())
        })
}

/// `[package] name` of a manifest, read as TOML; `None` if it cannot be read.
fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    doc.get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

pub fn rel_to(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
