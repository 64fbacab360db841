//! Binaries that run `cargo` (`fixtures/cargo-harness`): one that builds
//! the workspace and drives its programs end to end serves nothing and is
//! deployed nowhere, so it is a developer's harness, not audited; a job
//! that spawns another program (`git`) stays a job; a binary that runs
//! cargo and serves is a service.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/cargo-harness/Cargo.toml", extra)
}

#[test]
fn a_binary_that_runs_cargo_and_serves_nothing_is_a_harness() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "build-farm", "scope": "service", "why": "starts a server (build-farm/src/main.rs:10)"},
            {"audited": true, "name": "gateway", "scope": "service", "why": "starts a server (gateway/src/main.rs:8)"},
            {"audited": false, "name": "local-net", "scope": "dev", "why": "a developer's harness: a binary that runs `cargo` (a Rust toolchain no deployed image ships), serves nothing and is not deployed"},
            {"audited": true, "name": "reindex", "scope": "job", "why": "a binary that calls services and serves nothing"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper build-farm/src/main.rs:24 {"host":"artifacts","port":"9000","timeout":"10s"}"#,
            r#"timeout-wrapper reindex/src/main.rs:12 {"host":"search","port":"9200","timeout":"30s"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_harness_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper build-farm/src/main.rs:24 {"host":"artifacts","port":"9000","timeout":"10s"}"#,
            r#"retry-loop local-net/src/main.rs:14 {"backoff":"500ms","host":"gateway","per_try_timeout":"2s","port":"8080","protocol":"http","retries":"20"}"#,
            r#"timeout-wrapper reindex/src/main.rs:12 {"host":"search","port":"9200","timeout":"30s"}"#,
        ]
    );
}
