//! One-shot operator programs beside a package's server
//! (`fixtures/tool-bins`): no deployment file names the package, its
//! `src/main.rs` serves, and a `src/bin/` program that takes a command line
//! and serves nothing is a tool an operator runs (a backfill), not audited.
//! A `src/bin/` program without a command line may be a worker the pod runs:
//! it stays audited.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    let manifest = repo().join("fixtures/tool-bins/Cargo.toml");
    let mut args = vec![
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--format",
        "json",
        "--no-suggestions",
    ];
    args.extend_from_slice(extra);
    let o = run(&repo(), &args);
    assert_no_panic(&o);
    json(&o)
}

fn findings(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {}",
                s(&f["rule"]),
                s(&f["file"]),
                f["line"],
                f["values"]
            )
        })
        .collect()
}

#[test]
fn a_command_line_program_beside_the_server_is_a_tool() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "indexer", "scope": "service", "why": "starts a server (indexer/src/main.rs:5); bin `backfill` is a developer tool (not deployed, serves nothing), not audited"},
        ])
    );
    assert_eq!(
        findings(&v),
        [
            r#"timeout-wrapper indexer/src/bin/worker.rs:6 {"timeout":"10s"}"#,
            r#"timeout-wrapper indexer/src/main.rs:7 {"timeout":"3s"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_tool_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings(&v),
        [
            r#"timeout-wrapper indexer/src/bin/backfill.rs:16 {"timeout":"30s"}"#,
            r#"timeout-wrapper indexer/src/bin/worker.rs:6 {"timeout":"10s"}"#,
            r#"timeout-wrapper indexer/src/main.rs:7 {"timeout":"3s"}"#,
        ]
    );
}
