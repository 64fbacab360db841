//! Which binaries the repository deploys: names that its Dockerfiles,
//! compose files and Kubernetes / Helm manifests build or run
//! (`cargo build --bin api`, `-p orders`, `COPY --from=build
//! /src/target/release/api`, `ENTRYPOINT ["/usr/local/bin/api"]`,
//! `command: ["api"]`). A package named there is a service or a job even
//! when nothing in its code looks like a server.
//!
//! These are deployment files, not Rust sources: reading their words is the
//! only way to know what ships. Only regular files of at most
//! [`MAX_DEPLOY_FILE`] bytes are read, never followed through symlinks, and
//! the walk stays inside the workspace root.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

/// Deployment files are small; anything larger is not one.
pub const MAX_DEPLOY_FILE: u64 = 1024 * 1024;
/// Deep enough for `deploy/helm/<chart>/templates/x.yaml` in a monorepo.
const MAX_DEPTH: usize = 8;

/// Folders whose YAML files are deployment manifests.
const MANIFEST_DIRS: &[&str] = &[
    "k8s",
    "kubernetes",
    "kube",
    "helm",
    "charts",
    "chart",
    "deploy",
    "deployment",
    "deployments",
    "manifests",
    "kustomize",
    "overlays",
    "base",
    "templates",
];

/// Binary and package names the repository's deployment files name.
pub fn deployed_names(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .parents(false)
        .require_git(false)
        .follow_links(false)
        .max_depth(Some(MAX_DEPTH))
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            !(e.file_type().is_some_and(|t| t.is_dir())
                && (name == "target" || name == ".git" || name == "node_modules"))
        })
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if !is_deployment_file(path, root) {
            continue;
        }
        if let Some(text) = read_small(path) {
            names_in(&text, &mut out);
        }
    }
    out
}

fn is_deployment_file(path: &Path, root: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with("dockerfile")
        || name.ends_with(".dockerfile")
        || name.starts_with("containerfile")
        || name == "procfile"
    {
        return true;
    }
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    if !yaml {
        return false;
    }
    if name.starts_with("docker-compose") || name.starts_with("compose") {
        return true;
    }
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .any(|c| MANIFEST_DIRS.contains(&c.as_os_str().to_string_lossy().as_ref()))
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || meta.len() > MAX_DEPLOY_FILE {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_DEPLOY_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The names one deployment file builds or runs.
pub fn names_in(text: &str, out: &mut BTreeSet<String>) {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | ',' | '&' | ';'))
        .filter(|w| !w.is_empty())
        .collect();
    let is_name = |w: &str| {
        !w.is_empty()
            && w.len() <= 64
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !w.starts_with('-')
            && !w.contains("${")
    };
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        // `--bin api`, `-p api`, `--package api`, `--bin=api`.
        for flag in ["--bin", "-p", "--package"] {
            if *w == flag && is_name(next) {
                out.insert(next.to_string());
            }
            if let Some(v) = w.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                if is_name(v) {
                    out.insert(v.to_string());
                }
            }
        }
        // `target/release/api`, `target/x86_64-unknown-linux-musl/release/api`,
        // `/usr/local/bin/api`.
        let path_like = w.contains("target/") && (w.contains("/release/") || w.contains("/debug/"))
            || w.starts_with("/usr/local/bin/")
            || w.starts_with("/usr/bin/")
            || w.starts_with("/app/");
        if path_like {
            if let Some(last) = w.rsplit('/').next() {
                if is_name(last) {
                    out.insert(last.to_string());
                }
            }
        }
        // `ENTRYPOINT api` / `CMD api`; `command: api`.
        if matches!(*w, "ENTRYPOINT" | "CMD" | "command:" | "entrypoint:") {
            let first = next.trim_start_matches("./");
            if let Some(last) = first.rsplit('/').next() {
                if is_name(last) {
                    out.insert(last.to_string());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_build_and_run_lines() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release --bin orders -p payments-api\n\
             COPY --from=build /src/target/x86_64-unknown-linux-musl/release/gateway /app/\n\
             ENTRYPOINT [\"/usr/local/bin/inventory\"]\n",
            &mut out,
        );
        names_in(
            "containers:\n- name: x\n  command: [\"billing\", \"--port\"]\n",
            &mut out,
        );
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(
            got,
            ["billing", "gateway", "inventory", "orders", "payments-api"]
        );
    }

    #[test]
    fn ignores_variables_and_flags() {
        let mut out = BTreeSet::new();
        names_in("RUN cargo build --bin ${BIN} -p --locked\n", &mut out);
        assert!(out.is_empty(), "{out:?}");
    }
}
