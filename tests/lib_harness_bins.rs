//! Serving binaries of library packages (`fixtures/lib-harness-bins`): the
//! deployed `store` links `raftlog` and `pricing` and serves `raftlog`'s
//! `LogService`. `raftlog`'s own binary starts a server around that same
//! service and no deployment file names it: a stand-alone copy for
//! developers, not audited. `pricing`'s binary serves `PriceService`, which
//! no deployed program serves (the store only calls its client): audited.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/lib-harness-bins/Cargo.toml", extra)
}

#[test]
fn a_standalone_copy_of_a_deployed_server_is_not_audited() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "pricing", "scope": "service", "why": "starts a server (pricing/src/main.rs:15)"},
            {"audited": true, "name": "raftlog", "scope": "service", "why": "starts a server (raftlog/src/main.rs:17); bin `raftlog` is a stand-alone copy of a server a deployed program runs (not deployed; the deployed program serves the same items of this library), not audited"},
            {"audited": true, "name": "store", "scope": "service", "why": "`store` is named by a deployment file"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper pricing/src/main.rs:8 {"host":"rates","port":"8080","timeout":"8s"}"#,
            r#"missing-graceful-shutdown pricing/src/main.rs:15 {"framework":"tonic","signal":"SIGTERM"}"#,
            r#"missing-health-endpoint pricing/src/main.rs:15 {"framework":"tonic"}"#,
            r#"missing-graceful-shutdown store/src/main.rs:9 {"framework":"tonic","signal":"SIGTERM"}"#,
            r#"missing-health-endpoint store/src/main.rs:9 {"framework":"tonic"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_standalone_copy_back() {
    let v = audit(&["--all-scopes"]);
    let found = findings_with_values(&v);
    assert!(
        found.contains(&r#"timeout-wrapper raftlog/src/main.rs:10 {"host":"peer-2","port":"7000","timeout":"6s"}"#.to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(
            &r#"missing-health-endpoint raftlog/src/main.rs:17 {"framework":"tonic"}"#.to_string()
        ),
        "{found:?}"
    );
}
