//! The workspace as its manifests describe it, read without Cargo.
//!
//! `cargo metadata` refuses a whole workspace when one member, or one path
//! dependency inside it, has no manifest: a git submodule that was not
//! checked out, a folder an archive left out. Auditing such a tree as plain
//! folders loses everything the deployment model needs (which member is a
//! service, a command-line tool, test support), so test tools and CLIs come
//! back as findings. This reads the manifests that are there the way cargo
//! would (members and their globs, `exclude`, path dependencies inside the
//! root, inherited `workspace = true` fields and dependencies, target
//! auto-discovery, `required-features`, `[package.metadata]`) and gives the
//! same `cargo_metadata::Metadata` cargo prints for `--no-deps`, without the
//! members that are missing. When a manifest that is there does not parse,
//! it gives up: the caller then audits the folder as before, and cargo's
//! error names the broken file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value as Json};

use crate::safe_fs::{read_regular_text, MAX_CONTROL_FILE};

/// The workspace read from its manifests.
pub struct ManifestWorkspace {
    pub metadata: cargo_metadata::Metadata,
    /// Member folders and path dependencies without a manifest: left out.
    pub missing: Vec<PathBuf>,
}

/// At most this many member folders are read (a tree of links cannot make
/// the walk run on).
const MAX_MEMBERS: usize = 5_000;

fn parse(path: &Path) -> Option<toml::Table> {
    read_regular_text(path, MAX_CONTROL_FILE)
        .ok()?
        .parse::<toml::Table>()
        .ok()
}

/// The workspace root for `manifest`: itself when it declares
/// `[workspace]`, else the nearest parent manifest that does and lists it
/// (as cargo looks for one), else `manifest` alone (a lone package).
fn workspace_root(manifest: &Path, doc: &toml::Table) -> Option<(PathBuf, toml::Table)> {
    if doc.contains_key("workspace") {
        return Some((manifest.to_path_buf(), doc.clone()));
    }
    let dir = manifest.parent()?;
    for parent in dir.ancestors().skip(1) {
        let candidate = parent.join("Cargo.toml");
        if std::fs::symlink_metadata(&candidate).is_err() {
            continue;
        }
        let parent_doc = parse(&candidate)?;
        if !parent_doc.contains_key("workspace") {
            continue;
        }
        let listed = crate::discover::member_manifests(&candidate)
            .iter()
            .filter_map(|m| m.parent())
            .any(|m| same_dir(m, dir));
        return listed.then_some((candidate, parent_doc));
    }
    Some((manifest.to_path_buf(), doc.clone()))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Reads the workspace of `manifest`. `None` when a manifest that exists
/// cannot be read or parsed, or when no member could be read at all.
pub fn read(manifest: &Path) -> Option<ManifestWorkspace> {
    let doc = parse(manifest)?;
    let (root_manifest, root_doc) = workspace_root(manifest, &doc)?;
    let root = root_manifest.parent()?.to_path_buf();
    let workspace = root_doc.get("workspace").and_then(|w| w.as_table());
    // `exclude = ["vendor", "deps/*"]`: a folder under one is no member.
    let excluded: Vec<globset::GlobMatcher> = workspace
        .and_then(|w| w.get("exclude"))
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str())
        .filter_map(|e| globset::Glob::new(e.trim_end_matches('/')).ok())
        .map(|g| g.compile_matcher())
        .collect();
    let is_excluded = |dir: &Path| {
        dir.strip_prefix(&root).is_ok_and(|rel| {
            rel.ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| excluded.iter().any(|g| g.is_match(a)))
        })
    };
    let mut todo: Vec<PathBuf> = Vec::new();
    if root_doc.contains_key("package") {
        todo.push(root.clone());
    }
    if workspace.is_some() {
        todo.extend(
            crate::discover::member_manifests(&root_manifest)
                .iter()
                .filter_map(|m| m.parent().map(Path::to_path_buf)),
        );
    }
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut packages: Vec<Json> = Vec::new();
    let mut missing = Vec::new();
    while let Some(dir) = todo.pop() {
        if seen.len() >= MAX_MEMBERS || is_excluded(&dir) {
            continue;
        }
        let key = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if !seen.insert(key) {
            continue;
        }
        let path = dir.join("Cargo.toml");
        if std::fs::symlink_metadata(&path).is_err() {
            missing.push(dir);
            continue;
        }
        let member = if path == root_manifest {
            root_doc.clone()
        } else {
            parse(&path)?
        };
        // A folder a glob matched that holds a workspace of its own or no
        // package is not a member.
        if !member.contains_key("package") {
            continue;
        }
        let package = package_json(&dir, &path, &member, workspace, &root)?;
        // Path dependencies inside the root are members too (cargo's rule);
        // one without a manifest is what cargo stopped at.
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if let Some(p) = dep["path"].as_str().map(PathBuf::from) {
                if std::fs::symlink_metadata(p.join("Cargo.toml")).is_err() {
                    if !missing.contains(&p) {
                        missing.push(p);
                    }
                } else if p.starts_with(&root) {
                    todo.push(p);
                }
            }
        }
        packages.push(package);
    }
    if packages.is_empty() {
        return None;
    }
    packages.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let members: Vec<Json> = packages.iter().map(|p| p["id"].clone()).collect();
    let metadata = json!({
        "packages": packages,
        "workspace_members": members,
        "resolve": null,
        "workspace_root": root.to_string_lossy(),
        "target_directory": root.join("target").to_string_lossy(),
        "version": 1,
    });
    let metadata = cargo_metadata::MetadataCommand::parse(metadata.to_string()).ok()?;
    missing.sort();
    Some(ManifestWorkspace { metadata, missing })
}

/// A `[package]` field, or the workspace's when it is `field.workspace = true`.
fn inherited<'t>(
    package: &'t toml::Table,
    workspace: Option<&'t toml::Table>,
    field: &str,
) -> Option<&'t toml::Value> {
    let v = package.get(field)?;
    if v.get("workspace").and_then(|w| w.as_bool()) == Some(true) {
        workspace
            .and_then(|w| w.get("package"))
            .and_then(|p| p.get(field))
    } else {
        Some(v)
    }
}

fn strings(v: Option<&toml::Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn package_json(
    dir: &Path,
    manifest: &Path,
    doc: &toml::Table,
    workspace: Option<&toml::Table>,
    root: &Path,
) -> Option<Json> {
    let package = doc.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?.to_string();
    let version = inherited(package, workspace, "version")
        .and_then(|v| v.as_str())
        .filter(|v| cargo_metadata::semver::Version::parse(v).is_ok())
        .unwrap_or("0.0.0")
        .to_string();
    let edition = inherited(package, workspace, "edition")
        .and_then(|v| v.as_str())
        .filter(|e| matches!(*e, "2015" | "2018" | "2021" | "2024"))
        .unwrap_or("2015")
        .to_string();
    let dependencies = dependencies(dir, doc, workspace, root);
    let mut features: BTreeMap<String, Vec<String>> = doc
        .get("features")
        .and_then(|f| f.as_table())
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), strings(Some(v))))
        .collect();
    // An optional dependency no feature names as `dep:x` is a feature of
    // its own name, as cargo makes it.
    let explicit: BTreeSet<String> = features
        .values()
        .flatten()
        .filter_map(|f| f.strip_prefix("dep:").map(str::to_string))
        .collect();
    for dep in &dependencies {
        if dep["optional"] == json!(true) {
            let feature = dep["rename"]
                .as_str()
                .or(dep["name"].as_str())
                .unwrap_or_default()
                .to_string();
            if !explicit.contains(&feature) {
                features
                    .entry(feature.clone())
                    .or_insert_with(|| vec![format!("dep:{feature}")]);
            }
        }
    }
    let metadata = package
        .get("metadata")
        .and_then(|m| serde_json::to_value(m).ok())
        .unwrap_or(Json::Null);
    Some(json!({
        "name": name,
        "version": version,
        "id": format!("path+file://{}#{name}@{version}", dir.display()),
        "source": null,
        "dependencies": dependencies,
        "targets": targets(dir, package, doc, &name, &edition),
        "features": features,
        "manifest_path": manifest.to_string_lossy(),
        "categories": strings(inherited(package, workspace, "categories")),
        "keywords": strings(inherited(package, workspace, "keywords")),
        "edition": edition,
        "metadata": metadata,
    }))
}

/// The dependencies of the package `manifest` describes, in every table,
/// as `(package, rename)`: `rename` is the name its code uses when it is not
/// the package's (`http = { package = "reqwest" }`, also inherited through
/// `workspace = true` from `[workspace.dependencies]`). `None` when the
/// manifest or its workspace cannot be read.
pub(crate) fn dependency_names(manifest: &Path) -> Option<Vec<(String, Option<String>)>> {
    let doc = parse(manifest)?;
    let (root_manifest, root_doc) = workspace_root(manifest, &doc)?;
    let workspace = root_doc.get("workspace").and_then(|w| w.as_table());
    let deps = dependencies(manifest.parent()?, &doc, workspace, root_manifest.parent()?);
    Some(
        deps.iter()
            .filter_map(|d| {
                let package = d["name"].as_str()?.to_string();
                Some((package, d["rename"].as_str().map(str::to_string)))
            })
            .collect(),
    )
}

/// Every dependency table: `[dependencies]`, `[dev-dependencies]`,
/// `[build-dependencies]` and their `[target.'cfg(..)'.*]` forms.
fn dependencies(
    dir: &Path,
    doc: &toml::Table,
    workspace: Option<&toml::Table>,
    root: &Path,
) -> Vec<Json> {
    fn sections<'t>(t: &'t toml::Table, out: &mut Vec<(&'t toml::Table, Option<&'static str>)>) {
        for (section, kind) in [
            ("dependencies", None),
            ("dev-dependencies", Some("dev")),
            ("dev_dependencies", Some("dev")),
            ("build-dependencies", Some("build")),
            ("build_dependencies", Some("build")),
        ] {
            if let Some(deps) = t.get(section).and_then(|d| d.as_table()) {
                out.push((deps, kind));
            }
        }
    }
    let mut tables = Vec::new();
    sections(doc, &mut tables);
    for platform in doc
        .get("target")
        .and_then(|t| t.as_table())
        .into_iter()
        .flat_map(|t| t.values())
        .filter_map(|t| t.as_table())
    {
        sections(platform, &mut tables);
    }
    let shared = workspace
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.as_table());
    let mut out = Vec::new();
    for (deps, kind) in tables {
        for (key, spec) in deps {
            // `dep = { workspace = true, optional = true }`: the workspace's
            // entry says where it comes from, this one how it is used.
            let from_workspace = spec.get("workspace").and_then(|w| w.as_bool()) == Some(true);
            let (source, base) = if from_workspace {
                (shared.and_then(|s| s.get(key)), root)
            } else {
                (Some(spec), dir)
            };
            let real = source
                .and_then(|s| s.get("package"))
                .and_then(|p| p.as_str())
                .unwrap_or(key);
            let path = source
                .and_then(|s| s.get("path"))
                .and_then(|p| p.as_str())
                .map(|p| normalise(&base.join(p)));
            let optional = spec.get("optional").and_then(|o| o.as_bool()) == Some(true);
            out.push(json!({
                "name": real,
                "source": null,
                "req": "*",
                "kind": kind,
                "optional": optional,
                "uses_default_features": true,
                "features": [],
                "target": null,
                "rename": (real != key).then_some(key),
                "registry": null,
                "path": path.map(|p| p.to_string_lossy().into_owned()),
            }));
        }
    }
    out
}

/// `a/b/../c` as `a/c`, without touching the file system (the folder may
/// be the missing one).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The package's targets as cargo discovers them: `[lib]` or
/// `src/lib.rs`; `src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs` and
/// `[[bin]]`; examples, tests and benches likewise; the build script.
fn targets(
    dir: &Path,
    package: &toml::Table,
    doc: &toml::Table,
    name: &str,
    edition: &str,
) -> Vec<Json> {
    let mut out = Vec::new();
    let target = |kind: &[&str], name: &str, path: PathBuf, required: Vec<String>| {
        let library = kind
            .iter()
            .any(|k| k.ends_with("lib") || *k == "proc-macro");
        json!({
            "name": name,
            "kind": kind,
            "crate_types": if library { kind.to_vec() } else { vec!["bin"] },
            "required-features": required,
            "src_path": path.to_string_lossy(),
            "edition": edition,
            "doctest": kind.contains(&"lib"),
            "test": true,
            "doc": true,
        })
    };
    // The library.
    let lib = doc.get("lib").and_then(|l| l.as_table());
    let lib_path = lib
        .and_then(|l| l.get("path"))
        .and_then(|p| p.as_str())
        .map(|p| dir.join(p))
        .unwrap_or_else(|| dir.join("src/lib.rs"));
    if lib.is_some() || lib_path.is_file() {
        let lib_name = lib
            .and_then(|l| l.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| name.replace('-', "_"));
        let mut kinds = strings(lib.and_then(|l| l.get("crate-type").or(l.get("crate_type"))));
        if lib
            .and_then(|l| l.get("proc-macro"))
            .and_then(|p| p.as_bool())
            == Some(true)
        {
            kinds = vec!["proc-macro".to_string()];
        }
        if kinds.is_empty() {
            kinds.push("lib".to_string());
        }
        let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
        out.push(target(&kinds, &lib_name, lib_path, Vec::new()));
    }
    // Binaries, examples, tests, benches: explicit entries, then the files
    // found in their folders unless `auto*` is off.
    let auto = |key: &str| package.get(key).and_then(|a| a.as_bool()) != Some(false);
    for (kind, table, folder, auto_key) in [
        ("bin", "bin", "src/bin", "autobins"),
        ("example", "example", "examples", "autoexamples"),
        ("test", "test", "tests", "autotests"),
        ("bench", "bench", "benches", "autobenches"),
    ] {
        let mut named: BTreeMap<String, (PathBuf, Vec<String>)> = BTreeMap::new();
        if auto(auto_key) {
            if kind == "bin" && dir.join("src/main.rs").is_file() {
                named.insert(name.to_string(), (dir.join("src/main.rs"), Vec::new()));
            }
            for (stem, path) in rust_files(&dir.join(folder)) {
                named.insert(stem, (path, Vec::new()));
            }
        }
        for entry in doc
            .get(table)
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_table())
        {
            let Some(entry_name) = entry.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            let path = match entry.get("path").and_then(|p| p.as_str()) {
                Some(p) => dir.join(p),
                None if kind == "bin"
                    && entry_name == name
                    && dir.join("src/main.rs").is_file() =>
                {
                    dir.join("src/main.rs")
                }
                None => {
                    let file = dir.join(folder).join(format!("{entry_name}.rs"));
                    if file.is_file() {
                        file
                    } else {
                        dir.join(folder).join(entry_name).join("main.rs")
                    }
                }
            };
            // An explicit entry replaces the discovered target at its path.
            named.retain(|_, (p, _)| *p != path);
            named.insert(
                entry_name.to_string(),
                (path, strings(entry.get("required-features"))),
            );
        }
        for (target_name, (path, required)) in named {
            out.push(target(&[kind], &target_name, path, required));
        }
    }
    // The build script.
    let build = match package.get("build") {
        Some(toml::Value::Boolean(false)) => None,
        Some(toml::Value::String(p)) => Some(dir.join(p)),
        _ => Some(dir.join("build.rs")).filter(|p| p.is_file()),
    };
    if let Some(path) = build {
        out.push(target(
            &["custom-build"],
            "build-script-build",
            path,
            Vec::new(),
        ));
    }
    out
}

/// `dir/*.rs` by stem and `dir/*/main.rs` by folder name, sorted.
fn rust_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .take(10_000)
        .filter_map(|e| {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let kind = e.file_type().ok()?;
            if kind.is_file() {
                Some((name.strip_suffix(".rs")?.to_string(), path))
            } else if kind.is_dir() && path.join("main.rs").is_file() {
                Some((name, path.join("main.rs")))
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out
}
