//! Which files to audit. Cargo mode asks `cargo metadata --no-deps` (never
//! builds, never runs build scripts, never touches the network) for the
//! workspace's packages; path mode walks what it is given. Both walk with
//! `ignore`, so `.gitignore` and `target/` are respected; ignore files are
//! read only inside the audited tree (see `ignore_files`).
//!
//! Architecture invariant: this is the only module that spawns a process.

use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use mesh_audit_model::{AuditError, CargoPackage, CargoTarget};

use crate::ignore_files::TreeIgnores;
use crate::safe_fs::{read_regular, read_regular_text, MAX_CONTROL_FILE};

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
    /// Index of its package in `Discovered::packages` (cargo mode).
    pub package_index: Option<usize>,
}

/// What cargo says a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetKind {
    Lib,
    Bin,
    Test,
    Bench,
    Example,
    BuildScript,
}

impl TargetKind {
    /// Code that ships in a binary or library, as opposed to test support.
    pub fn is_production(self) -> bool {
        matches!(self, TargetKind::Lib | TargetKind::Bin)
    }
}

/// One cargo target: where the compiler starts reading.
#[derive(Debug, Clone)]
pub struct TargetInfo {
    pub kind: TargetKind,
    pub name: String,
    pub src_path: PathBuf,
    /// Built only with a feature the default build leaves off
    /// (`required-features = ["update-snapshots"]`): a plain `cargo build`
    /// skips it.
    pub opt_in: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

/// A dependency of a package on another member of the workspace.
#[derive(Debug, Clone)]
pub struct MemberDep {
    /// The name code uses for it (`rename`, `-` as `_`).
    pub extern_name: String,
    /// The member package it names.
    pub package: String,
    pub kind: DepKind,
}

impl Discovered {
    /// Each member's position in `packages`, by package name.
    pub fn package_indexes(&self) -> HashMap<&str, usize> {
        self.packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.as_str(), i))
            .collect()
    }
}

/// A workspace member, as cargo metadata describes it.
#[derive(Debug, Clone)]
pub struct PackageInfo {
    pub name: String,
    pub root: PathBuf,
    pub manifest: PathBuf,
    /// Selected on the command line (or by default): its files are audited.
    pub selected: bool,
    pub targets: Vec<TargetInfo>,
    /// Dependencies on other workspace members.
    pub member_deps: Vec<MemberDep>,
    /// `[package.metadata.mesh-audit] scope`, when set.
    pub scope_override: Option<String>,
    /// Its library is also built as a `cdylib`/`dylib`: a plugin a program
    /// loads at run time, which no workspace member needs to link.
    pub plugin: bool,
    /// A plugin that depends on `wasm-bindgen` (or `js-sys`, `web-sys`,
    /// `wasm-bindgen-futures`): a WebAssembly module for a JavaScript host,
    /// a browser's page or a Node program, not a program in a pod.
    pub js_module: bool,
    /// The manifest describes the package as a command-line program: the
    /// crates.io category `command-line-utilities` or the keyword `cli`.
    pub declares_cli: bool,
    /// A dependency renames a network crate (`http = { package =
    /// "reqwest" }`): see [`crate::reach`].
    pub network_renames: bool,
    /// Its code or manifest names a network crate, or it is linked to a
    /// member that does: false only after the engine found it cannot
    /// reach the network (see [`crate::reach`]; its files are not parsed).
    pub reaches_network: bool,
}

impl PackageInfo {
    /// The crate name other members write in paths (`my-http` is `my_http`).
    pub fn lib_crate_name(&self) -> Option<String> {
        self.targets
            .iter()
            .find(|t| t.kind == TargetKind::Lib)
            .map(|t| t.name.replace('-', "_"))
    }
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
    /// Every workspace member (cargo mode), selected or not: the scope of a
    /// library depends on who uses it.
    pub packages: Vec<PackageInfo>,
    /// Binaries and packages that the repository's deployment files name
    /// (Dockerfiles, Kubernetes or Helm manifests, compose files).
    pub deployed: BTreeSet<String>,
    /// Binaries deployment files ship only for people to run (a toolbox
    /// image, an admin CLI beside the server) and deploy nowhere.
    pub shipped_tools: BTreeSet<String>,
    /// Deployed binaries that only a Dockerfile's bare `ENTRYPOINT` (no
    /// arguments, no `CMD`) runs: see [`crate::deploy::Deployment`].
    pub bare_entrypoints: BTreeSet<String>,
    /// Lowercased words of the commands deployment files run.
    pub command_words: BTreeSet<String>,
    /// The packages chosen, as cargo describes them (cargo mode only).
    pub cargo_packages: Vec<CargoPackage>,
    /// `.rs` files that are symbolic links: not followed (relative to `root`).
    pub skipped_links: Vec<String>,
}

struct Package {
    name: Option<String>,
    root: PathBuf,
    build_script: Option<PathBuf>,
    index: Option<usize>,
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

thread_local! {
    /// Walker threads for the `discover` call running on this thread (0 =
    /// the walker's own default); set only by `discover_with_threads`.
    static WALK_THREADS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `discover` with the folder walk on `threads` threads (0 = one per core).
pub fn discover_with_threads(
    target: &Target,
    excludes: &[String],
    threads: usize,
) -> Result<Discovered, DiscoverError> {
    WALK_THREADS.set(threads);
    let found = discover(target, excludes);
    WALK_THREADS.set(0);
    found
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
        if p.is_dir() {
            // cargo's own wording: it wants the file, not its folder.
            return Err(DiscoverError::Usage(format!(
                "--manifest-path {}: the manifest-path must be a path to a Cargo.toml file, not a directory (try {})",
                p.display(),
                p.join("Cargo.toml").display()
            )));
        }
        if std::fs::symlink_metadata(p).is_err() {
            return Err(DiscoverError::Missing {
                path: p.display().to_string(),
            });
        }
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    // The manifest cargo is given, absolute: cargo then runs from a folder
    // outside the audited tree (see `cargo_metadata`).
    let manifest = match manifest_path {
        Some(p) => cwd.join(p),
        None => find_manifest(&cwd).ok_or_else(|| {
            DiscoverError::Cargo(
format!(
                "no Cargo.toml in the current directory or any parent ({}); pass --manifest-path or paths to audit",
                cwd.display()
            ),
            )
        })?,
    };
    let mut manifests_read = None;
    // A member or path dependency without a manifest (a submodule not
    // checked out): the manifests that are there still say what each
    // member is. Read once, only when cargo failed.
    let meta = match cargo_metadata(&manifest)
        .map_err(|failure| (crate::manifests::read(&manifest), failure))
    {
        Ok(m) => m,
        Err((Some(ws), CargoFailure { message, stderr })) => {
            manifests_read = Some((message, stderr, ws.missing));
            ws.metadata
        }
        Err((None, CargoFailure { message, stderr })) => {
            // With a broken manifest we still audit its folder as plain paths.
            let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut found = from_paths(&[dir], excludes)?;
            // A broken member manifest is reported under that file, at the
            // line cargo names, not under the root manifest.
            let (broken, line, column) = broken_manifest(&stderr).unwrap_or((manifest, None, None));
            found.errors.push(AuditError {
                file: rel_to(&found.root, &broken),
                line,
                column,
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
    // `-p` and `--exclude` take cargo's glob patterns (`svc-*`).
    let patterns = |names: &[String]| -> Result<Vec<globset::GlobMatcher>, DiscoverError> {
        names
            .iter()
            .map(|n| {
                globset::Glob::new(n)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| {
                        DiscoverError::Usage(format!("invalid package pattern `{n}`: {e}"))
                    })
            })
            .collect()
    };
    let (select_globs, exclude_globs) = (patterns(select)?, patterns(exclude)?);
    let named = select
        .iter()
        .zip(&select_globs)
        .chain(exclude.iter().zip(&exclude_globs));
    for (name, glob) in named {
        if !all.iter().any(|p| glob.is_match(p.name.as_str())) {
            let what = if name.contains(['*', '?', '[']) {
                "matches no member"
            } else {
                "is not a member"
            };
            return Err(DiscoverError::Usage(format!(
                "package `{name}` {what} of the workspace at {}",
                root.display()
            )));
        }
    }
    // As cargo does: a member's manifest (given, or the nearest to the
    // current folder) selects that member; the workspace root's selects
    // every member (cargo would take only a root package: auditing more is
    // the safe side for a CI gate).
    let invoked = std::fs::canonicalize(&manifest).ok();
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
    let select_globs = if member_selected.is_empty() {
        select_globs
    } else {
        patterns(&member_selected)?
    };
    let is_chosen = |p: &cargo_metadata::Package| {
        (select_globs.is_empty() || select_globs.iter().any(|g| g.is_match(p.name.as_str())))
            && !exclude_globs.iter().any(|g| g.is_match(p.name.as_str()))
    };
    let member_names: BTreeSet<String> = all.iter().map(|p| p.name.to_string()).collect();
    let infos: Vec<PackageInfo> = all
        .iter()
        .map(|p| package_info(p, is_chosen(p), &member_names))
        .collect();
    let chosen: Vec<(usize, &&cargo_metadata::Package)> = all
        .iter()
        .enumerate()
        .filter(|(_, p)| is_chosen(p))
        .collect();
    let mut packages: Vec<Package> = chosen
        .iter()
        .map(|&(i, p)| Package {
            index: Some(i),
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
    let deployment = crate::deploy::deployment(&root);
    let mut found = Discovered {
        root: root.clone(),
        deployed: deployment.deployed,
        shipped_tools: deployment.tools,
        bare_entrypoints: deployment.bare_entrypoints,
        command_words: deployment.command_words,
        packages: infos,
        cargo_packages: chosen.iter().map(|(_, p)| cargo_package(p)).collect(),
        ..Default::default()
    };
    if let Some((message, stderr, missing)) = manifests_read {
        let (named, line, column) = broken_manifest(&stderr).unwrap_or((manifest, None, None));
        let left_out: Vec<String> = missing.iter().map(|m| rel_to(&root, m)).collect();
        found.errors.push(AuditError {
            file: rel_to(&root, &named),
            line,
            column,
            message: format!(
                "cargo metadata failed, read the manifests without Cargo (no manifest in: {}): {message}",
                if left_out.is_empty() { "none".to_string() } else { left_out.join(", ") }
            ),
        });
    }
    let matcher = exclude_matcher(&root, excludes);
    let ignores = Arc::new(TreeIgnores::new(&root));
    for pkg in &packages {
        walk(&pkg.root, &root, Some(pkg), &matcher, &ignores, &mut found);
    }
    finish(found, &ignores)
}

fn package_info(
    p: &cargo_metadata::Package,
    selected: bool,
    members: &BTreeSet<String>,
) -> PackageInfo {
    let defaults = default_features(p);
    let targets = p
        .targets
        .iter()
        .filter_map(|t| {
            let kind = t.kind.iter().find_map(|k| match k.to_string().as_str() {
                "lib" | "rlib" | "dylib" | "cdylib" | "staticlib" | "proc-macro" => {
                    Some(TargetKind::Lib)
                }
                "bin" => Some(TargetKind::Bin),
                "test" => Some(TargetKind::Test),
                "bench" => Some(TargetKind::Bench),
                "example" => Some(TargetKind::Example),
                "custom-build" => Some(TargetKind::BuildScript),
                _ => None,
            })?;
            Some(TargetInfo {
                kind,
                name: t.name.clone(),
                src_path: t.src_path.clone().into_std_path_buf(),
                // A dependency's feature (`dep/feat`) is taken as on.
                opt_in: t
                    .required_features
                    .iter()
                    .any(|f| !f.contains('/') && !defaults.contains(f.as_str())),
            })
        })
        .collect();
    let plugin = p.targets.iter().any(|t| {
        t.kind
            .iter()
            .any(|k| matches!(k.to_string().as_str(), "cdylib" | "dylib"))
    });
    let js_module = plugin
        && p.dependencies.iter().any(|d| {
            matches!(
                d.name.as_str(),
                "wasm-bindgen" | "wasm-bindgen-futures" | "js-sys" | "web-sys"
            ) && d.kind != cargo_metadata::DependencyKind::Development
        });
    let member_deps = p
        .dependencies
        .iter()
        .filter(|d| members.contains(d.name.as_str()))
        .map(|d| MemberDep {
            extern_name: d
                .rename
                .clone()
                .unwrap_or_else(|| d.name.clone())
                .replace('-', "_"),
            package: d.name.clone(),
            kind: match d.kind {
                cargo_metadata::DependencyKind::Development => DepKind::Dev,
                cargo_metadata::DependencyKind::Build => DepKind::Build,
                _ => DepKind::Normal,
            },
        })
        .collect();
    let scope_override = p
        .metadata
        .get("mesh-audit")
        .and_then(|m| m.get("scope"))
        .and_then(|s| s.as_str())
        .map(str::to_string);
    PackageInfo {
        name: p.name.to_string(),
        root: p
            .manifest_path
            .parent()
            .map(|d| d.as_std_path().to_path_buf())
            .unwrap_or_default(),
        manifest: p.manifest_path.clone().into_std_path_buf(),
        selected,
        targets,
        member_deps,
        scope_override,
        plugin,
        js_module,
        declares_cli: p.categories.iter().any(|c| c == "command-line-utilities")
            || p.keywords.iter().any(|k| k.eq_ignore_ascii_case("cli")),
        network_renames: p.dependencies.iter().any(|d| {
            d.rename
                .as_deref()
                .is_some_and(|r| r.replace('-', "_") != d.name.replace('-', "_"))
                && crate::reach::is_network_crate(&d.name)
        }),
        reaches_network: true,
    }
}

/// The package's features a plain `cargo build` turns on: `default` and
/// the features it enables, transitively (`dep:x` and `x/feat` are no
/// features of the package).
fn default_features(p: &cargo_metadata::Package) -> BTreeSet<&str> {
    let mut on: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = p
        .features
        .contains_key("default")
        .then_some("default")
        .into_iter()
        .collect();
    while let Some(f) = todo.pop() {
        if !on.insert(f) {
            continue;
        }
        for g in p.features.get(f).into_iter().flatten() {
            if p.features.contains_key(g.as_str()) {
                todo.push(g.as_str());
            }
        }
    }
    on
}

fn cargo_package(p: &cargo_metadata::Package) -> CargoPackage {
    CargoPackage {
        name: p.name.to_string(),
        id: p.id.repr.clone(),
        manifest_path: p.manifest_path.to_string(),
        targets: p
            .targets
            .iter()
            .map(|t| CargoTarget {
                name: t.name.clone(),
                kind: t.kind.iter().map(|k| k.to_string()).collect(),
                crate_types: t.crate_types.iter().map(|k| k.to_string()).collect(),
                src_path: t.src_path.to_string(),
                edition: t.edition.as_str().to_string(),
                doc: t.doc,
                doctest: t.doctest,
                test: t.test,
            })
            .collect(),
    }
}

/// The manifest cargo could not parse, and the line and column it names.
/// Cargo says either ``failed to parse manifest at `/abs/Cargo.toml` ``
/// then ``TOML parse error at line 3, column 7``, or (newer) points at it
/// rustc-style, ``--> svc/Cargo.toml:3:7``, relative to where it ran.
fn broken_manifest(stderr: &str) -> Option<(PathBuf, Option<u32>, Option<u32>)> {
    if let Some(pointer) = stderr.lines().find_map(|l| l.trim().strip_prefix("--> ")) {
        // `path:line:column`, split from the right: the path may hold `:`.
        let mut parts = pointer.trim().rsplitn(3, ':');
        let column = parts.next().and_then(|c| c.parse().ok());
        let line = parts.next().and_then(|l| l.parse().ok());
        if let (Some(path), Some(_), Some(_)) = (parts.next(), line, column) {
            // Relative to where cargo ran: the neutral folder, not ours.
            let path = neutral_dir().join(path);
            if path.is_file() {
                return Some((path, line, column));
            }
        }
    }
    let after = stderr.split("failed to parse manifest at `").nth(1)?;
    let path = PathBuf::from(after.split('`').next()?);
    let position = after.split("at line ").nth(1).and_then(|rest| {
        let (line, rest) = rest.split_once(',')?;
        let column: String = rest
            .trim_start()
            .strip_prefix("column ")?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some((line.trim().parse().ok()?, column.parse().ok()?))
    });
    Some((path, position.map(|p| p.0), position.map(|p| p.1)))
}

/// Why `cargo metadata` failed: the message for the report, and cargo's
/// own words (where a broken manifest's position is read from).
struct CargoFailure {
    message: String,
    stderr: String,
}

impl From<String> for CargoFailure {
    fn from(message: String) -> Self {
        CargoFailure {
            message,
            stderr: String::new(),
        }
    }
}

/// How long `cargo metadata --no-deps` may take: it reads manifests only,
/// so a minute means it is stuck (a member manifest that is a FIFO, say).
const CARGO_METADATA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs `cargo metadata --no-deps --offline` on `manifest` so that nothing
/// in the audited tree chooses what runs. `cargo` is usually the rustup
/// proxy, which obeys a `rust-toolchain.toml` in the current folder or its
/// parents (a `path` there names any program; a missing `channel` is
/// downloaded), and cargo reads `.cargo/config.toml` from the current folder
/// up. So: `$CARGO` when set (the cargo that runs `cargo mesh-audit`), run
/// from a folder outside the audited tree with the manifest's absolute path,
/// rustup never installing anything, and a time limit.
fn cargo_metadata(manifest: &Path) -> Result<cargo_metadata::Metadata, CargoFailure> {
    // cargo reads the manifest and looks for a workspace root above it; a
    // FIFO or a link to `/dev/zero` there would hang it or exhaust memory.
    for candidate in manifest
        .parent()
        .into_iter()
        .flat_map(Path::ancestors)
        .map(|d| d.join("Cargo.toml"))
    {
        if std::fs::symlink_metadata(&candidate).is_ok() {
            read_regular(&candidate, MAX_CONTROL_FILE)
                .map_err(|e| format!("{}: {e}", candidate.display()))?;
        }
    }
    // And every member's manifest the workspace lists (`a`, `crates/*`).
    for member in member_manifests(manifest) {
        if std::fs::symlink_metadata(&member).is_ok() {
            read_regular(&member, MAX_CONTROL_FILE)
                .map_err(|e| format!("{}: {e}", member.display()))?;
        }
    }
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.no_deps()
        .other_options(vec!["--offline".to_string()])
        .manifest_path(manifest)
        .current_dir(neutral_dir())
        .env("RUSTUP_AUTO_INSTALL", "0");
    let mut command = cmd.cargo_command();
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let out = child.stdout.take().map(drain);
    let err = child.stderr.take().map(drain);
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > CARGO_METADATA_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "cargo metadata did not finish within {} s",
                    CARGO_METADATA_TIMEOUT.as_secs()
                )
                .into());
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(e) => return Err(format!("cannot wait for cargo: {e}").into()),
        }
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    if !status.success() {
        let stderr = String::from_utf8_lossy(&stderr).into_owned();
        return Err(CargoFailure {
            message: cargo_error_text(&stderr),
            stderr,
        });
    }
    let text = String::from_utf8(stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    cargo_metadata::MetadataCommand::parse(text).map_err(|e| e.to_string().into())
}

/// The `Cargo.toml` of each `[workspace] members` entry of `manifest`, with
/// `*` and `?` expanded one folder level at a time (other glob syntax is left
/// to cargo, under its time limit).
pub(crate) fn member_manifests(manifest: &Path) -> Vec<PathBuf> {
    let Some(dir) = manifest.parent() else {
        return Vec::new();
    };
    let Ok(text) = read_regular_text(manifest, MAX_CONTROL_FILE) else {
        return Vec::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array());
    let mut out = Vec::new();
    for pattern in members.into_iter().flatten().filter_map(|m| m.as_str()) {
        let mut dirs = vec![dir.to_path_buf()];
        for segment in pattern.split('/').filter(|s| !s.is_empty() && *s != ".") {
            if !segment.contains(['*', '?']) {
                dirs.iter_mut().for_each(|d| d.push(segment));
                continue;
            }
            dirs = dirs
                .iter()
                .filter_map(|d| std::fs::read_dir(d).ok())
                .flatten()
                .flatten()
                .filter(|e| wildcard_match(segment, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .take(10_000)
                .collect();
        }
        out.extend(dirs.into_iter().map(|d| d.join("Cargo.toml")));
    }
    out
}

/// `*` (any run) and `?` (one character) against a file name.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`: linear-ish,
    // never exponential.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// Reads a child's pipe to the end on its own thread, so that neither pipe
/// can fill up and stall the child while we wait.
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// A folder no repository controls, for cargo's current directory: the
/// filesystem root (only an administrator writes there).
fn neutral_dir() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|d| d.ancestors().last().map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir)
}

/// cargo's error lines as one sentence, without its `error:` / `Caused by:`
/// framing and without the source lines it quotes (`1 | ...`, `  | ^^^`): a
/// manifest may be a link to a private file, and the report may be public.
fn cargo_error_text(stderr: &str) -> String {
    let quoted = |l: &str| {
        let rest = l
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        rest.starts_with('|')
    };
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Caused by:") && !quoted(l))
        .collect();
    lines.join(" ").trim_start_matches("error: ").to_string()
}

/// The nearest `Cargo.toml` at or above `dir`, whatever kind of file it is
/// (it is checked before anything reads it).
fn find_manifest(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| !m.is_dir()))
}

fn from_paths(paths: &[PathBuf], excludes: &[String]) -> Result<Discovered, DiscoverError> {
    for p in paths {
        let Ok(meta) = std::fs::metadata(p) else {
            return Err(DiscoverError::Missing {
                path: p.display().to_string(),
            });
        };
        // A FIFO or device would be skipped by the walk without a word.
        if !meta.is_file() && !meta.is_dir() {
            return Err(DiscoverError::Usage(format!(
                "{}: not a regular file or folder",
                p.display()
            )));
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
    let ignores = Arc::new(TreeIgnores::new(&root));
    for p in &abs {
        walk(p, &root, None, &matcher, &ignores, &mut found);
    }
    finish(found, &ignores)
}

fn finish(mut found: Discovered, ignores: &TreeIgnores) -> Result<Discovered, DiscoverError> {
    for (file, message) in ignores.take_problems() {
        found.errors.push(AuditError {
            file: rel_to(&found.root, &file),
            line: None,
            column: None,
            message: format!("{message}; its ignore patterns are not applied"),
        });
    }
    found.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    found.files.dedup_by(|a, b| a.abs == b.abs);
    found.skipped_links.sort();
    found.skipped_links.dedup();
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
/// and are skipped. Links are not followed; ignore files come from
/// `ignores` (inside the audited tree only), never from the `ignore` crate's
/// own reading of parent folders and global git excludes.
fn walk(
    start: &Path,
    root: &Path,
    pkg: Option<&Package>,
    excludes: &Gitignore,
    ignores: &Arc<TreeIgnores>,
    found: &mut Discovered,
) {
    let files = Mutex::new(Vec::new());
    let links = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let start_owned = start.to_path_buf();
    let has_pkg = pkg.is_some();
    let tree_ignores = Arc::clone(ignores);
    let walker = ignore::WalkBuilder::new(start)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .threads(WALK_THREADS.get())
        .filter_entry(move |e| {
            let p = e.path();
            if p == start_owned {
                return true;
            }
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            if is_dir {
                if p.file_name().is_some_and(|n| n == "target") {
                    return false;
                }
                if has_pkg && p.join("Cargo.toml").is_file() {
                    return false;
                }
            }
            !tree_ignores.is_ignored(p, is_dir)
        })
        .build_parallel();
    walker.run(|| {
        Box::new(|entry| {
            match entry {
                Ok(e) => {
                    let p = e.path();
                    let kind = e.file_type();
                    let is_rs = p.extension().is_some_and(|x| x == "rs");
                    let rel_root = p.strip_prefix(root).unwrap_or(p);
                    let excluded = || {
                        excludes
                            .matched_path_or_any_parents(rel_root, false)
                            .is_ignore()
                    };
                    if is_rs && kind.is_some_and(|t| t.is_file()) && !excluded() {
                        lock(&files).push(p.to_path_buf());
                    } else if is_rs && kind.is_some_and(|t| t.is_symlink()) && !excluded() {
                        lock(&links).push(p.to_path_buf());
                    }
                }
                Err(err) => lock(&errors).push(err),
            }
            ignore::WalkState::Continue
        })
    });
    for err in errors.into_inner().unwrap_or_default() {
        found.errors.push(AuditError {
            file: walk_error_path(&err)
                .map(|p| rel_to(root, p))
                .unwrap_or_else(|| rel_to(root, start)),
            line: None,
            column: None,
            message: walk_error_message(&err),
        });
    }
    for link in links.into_inner().unwrap_or_default() {
        found.skipped_links.push(rel_to(root, &link));
    }
    // Package of each folder, looked up once per folder: thousands of files
    // share a handful of manifests.
    let mut by_dir: HashMap<PathBuf, (Option<String>, PathBuf, Option<PathBuf>)> =
        HashMap::default();
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
            package_index: pkg.and_then(|p| p.index),
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The file or folder a walk error is about, if it names one.
fn walk_error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(walk_error_path),
        _ => None,
    }
}

/// A walk error without the path (the entry's `file` names it).
fn walk_error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => {
            walk_error_message(err)
        }
        ignore::Error::Io(e) => format!("cannot read folder: {e}"),
        other => other.to_string(),
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
    let text = read_regular_text(manifest, MAX_CONTROL_FILE).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    doc.get("package")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

/// `p` relative to `root` with `/` separators; a path outside `root` stays
/// absolute, as the platform writes it.
pub fn rel_to(root: &Path, p: &Path) -> String {
    let Ok(rel) = p.strip_prefix(root) else {
        return p.display().to_string();
    };
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walk errors name the folder they are about (the integration test
    /// cannot make a folder unreadable when it runs as root).
    #[test]
    fn walk_errors_name_their_folder() {
        let err = ignore::Error::WithDepth {
            depth: 2,
            err: Box::new(ignore::Error::WithPath {
                path: PathBuf::from("/w/src/locked"),
                err: Box::new(ignore::Error::Io(std::io::Error::from(
                    std::io::ErrorKind::PermissionDenied,
                ))),
            }),
        };
        assert_eq!(walk_error_path(&err), Some(Path::new("/w/src/locked")));
        assert_eq!(
            rel_to(Path::new("/w"), walk_error_path(&err).unwrap()),
            "src/locked"
        );
        assert!(
            walk_error_message(&err).starts_with("cannot read folder: "),
            "{}",
            walk_error_message(&err)
        );
    }

    #[test]
    fn member_wildcards_match_names() {
        assert!(wildcard_match("*", "svc"));
        assert!(wildcard_match("svc-*", "svc-orders"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("svc-*", "lib"));
        assert!(!wildcard_match("a?c", "ac"));
    }

    #[test]
    fn paths_outside_the_root_stay_absolute() {
        assert_eq!(rel_to(Path::new("/w"), Path::new("/w/a/b.rs")), "a/b.rs");
        assert_eq!(rel_to(Path::new("/w"), Path::new("/x/b.rs")), "/x/b.rs");
    }
}
