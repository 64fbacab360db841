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
    audit_manifest("fixtures/tool-bins/Cargo.toml", extra)
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
        findings_with_values(&v),
        [
            r#"timeout-wrapper indexer/src/bin/worker.rs:6 {"host":"catalog","port":"8080","timeout":"10s"}"#,
            r#"timeout-wrapper indexer/src/main.rs:7 {"host":"catalog","port":"8080","timeout":"3s"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_tool_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper indexer/src/bin/backfill.rs:16 {"host":"catalog","port":"8080","timeout":"30s"}"#,
            r#"timeout-wrapper indexer/src/bin/worker.rs:6 {"host":"catalog","port":"8080","timeout":"10s"}"#,
            r#"timeout-wrapper indexer/src/main.rs:7 {"host":"catalog","port":"8080","timeout":"3s"}"#,
        ]
    );
}
