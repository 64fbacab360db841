//! When `cargo metadata` fails on a workspace whose manifests are readable
//! (a member or path dependency with no manifest: a git submodule not
//! checked out; no cargo on the machine), the audit reads the manifests
//! itself and keeps the deployment model: which member is a service, a
//! command-line tool, test support. Checked two ways: every fixture
//! workspace gives the same packages, scopes and findings without cargo as
//! with it; and a workspace that lists a member whose folder is empty
//! gives what the intact workspace gives, plus one error naming the member
//! left out.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

const WORKSPACES: &[&str] = &[
    "cli-image",
    "ctor-serve",
    "deploy-scope",
    "example-workspace",
    "init-plugin",
    "js-module",
    "lib-tool-bins",
    "pingora-proxy",
    "scope-workspace",
    "tool-arms",
    "tool-arms-catchall",
    "tool-arms-nested",
    "tool-bins",
    "tool-typed",
    "wrapper-serve",
];

/// The JSON report of `manifest`; with `no_cargo`, `$CARGO` names a program
/// that does not exist, so `cargo metadata` cannot run.
fn audit(cwd: &Path, manifest: &Path, no_cargo: bool) -> Value {
    let mut c = cmd(cwd);
    c.args([
        "--manifest-path",
        manifest.to_str().expect("a UTF-8 path"),
        "--format",
        "json",
        "--no-suggestions",
        "--fail-on",
        "never",
    ]);
    if no_cargo {
        c.env("CARGO", "/nonexistent/cargo-for-mesh-audit-tests");
    }
    let o = c.output().expect("binary runs");
    assert_no_panic(&o);
    json(&o)
}

#[test]
fn every_fixture_workspace_reads_the_same_without_cargo() {
    for name in WORKSPACES {
        let manifest = repo().join("fixtures").join(name).join("Cargo.toml");
        let with = audit(&repo(), &manifest, false);
        let without = audit(&repo(), &manifest, true);
        assert_eq!(
            without["summary"]["packages"], with["summary"]["packages"],
            "{name}: packages and scopes"
        );
        assert_eq!(
            findings_with_values(&without),
            findings_with_values(&with),
            "{name}: findings"
        );
        assert_eq!(
            without["summary"]["files_scanned"], with["summary"]["files_scanned"],
            "{name}: files"
        );
        assert!(errors(&with).is_empty(), "{name}: {:?}", errors(&with));
        let errs = errors(&without);
        assert_eq!(errs.len(), 1, "{name}: {errs:?}");
        assert!(
            errs[0].3.starts_with(
                "cargo metadata failed, read the manifests without Cargo (no manifest in: none): cannot run cargo"
            ),
            "{name}: {}",
            errs[0].3
        );
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_member_without_its_manifest_is_left_out_and_the_rest_keeps_its_scopes() {
    let intact = repo().join("fixtures/scope-workspace/Cargo.toml");
    let expected = audit(&repo(), &intact, false);

    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("fixtures/scope-workspace"), dir.path());
    // A submodule that was not checked out: listed, its folder empty.
    let root = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&root).unwrap();
    let listed = text.replace(
        r#"members = ["services/api","#,
        r#"members = ["vendor/wire-protos", "services/api","#,
    );
    assert_ne!(listed, text, "the fixture's member list changed");
    std::fs::write(&root, listed).unwrap();
    std::fs::create_dir_all(dir.path().join("vendor/wire-protos")).unwrap();

    let v = audit(dir.path(), &root, false);
    assert_eq!(v["summary"]["packages"], expected["summary"]["packages"]);
    assert_eq!(findings_with_values(&v), findings_with_values(&expected));
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "Cargo.toml");
    assert!(
        errs[0].3.starts_with(
            "cargo metadata failed, read the manifests without Cargo (no manifest in: vendor/wire-protos): "
        ),
        "{}",
        errs[0].3
    );
    // cargo's own words follow: they name the member it could not load.
    assert!(errs[0].3.contains("wire-protos"), "{}", errs[0].3);
}

/// A manifest that is there but does not parse still sends the audit to the
/// plain folder walk (`tests/bad_input.rs` checks that walk): the reader
/// never guesses around a broken manifest.
#[test]
fn a_broken_member_manifest_is_not_read_around() {
    let dir = scratch(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"svc\", \"tool\"]\nresolver = \"2\"\n",
        ),
        ("svc/Cargo.toml", &package_manifest("svc")),
        ("svc/src/main.rs", LOOPBACK_MAIN),
        ("tool/Cargo.toml", "[package\nname = \"tool\"\n"),
        ("tool/src/main.rs", "fn main() {}\n"),
    ]);
    let v = audit(dir.path(), &dir.path().join("Cargo.toml"), false);
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0]
            .3
            .starts_with("cargo metadata failed, audited the folder without Cargo: "),
        "{}",
        errs[0].3
    );
    assert_eq!(v["summary"]["packages"], serde_json::json!([]));
    assert_eq!(locations(&v), ["svc/src/main.rs:4:20 loopback-bind"]);
}
