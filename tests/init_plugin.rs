//! Programs an init process starts, and plugins only tests link
//! (`fixtures/init-plugin`): `ENTRYPOINT ["/usr/bin/tini", "/usr/local/bin/builder", "--"]`
//! and a compose `command: ["dumb-init", "--", "relay", ..]` deploy the
//! program after the init, so those command-line programs are services; a
//! `cdylib` the runtime loads stays audited though only a test package links
//! it, while a plain library only that test package links is test support.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/init-plugin/Cargo.toml", extra)
}

#[test]
fn the_program_after_the_init_is_deployed_and_a_plugin_is_audited() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "archive-sink", "scope": "unknown", "why": "a plugin library (`cdylib`) a program loads at run time; no server or job links it"},
            {"audited": true, "name": "builder", "scope": "service", "why": "`builder` is named by a deployment file"},
            {"audited": false, "name": "codec", "scope": "dev", "why": "reached only through dev-dependencies or dev packages (e2e)"},
            {"audited": false, "name": "e2e", "scope": "dev", "why": "named as test-support code (`e2e`)"},
            // Copied into the builder's image, never run by it.
            {"audited": false, "name": "opsctl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            {"audited": true, "name": "relay", "scope": "service", "why": "`relay` is named by a deployment file"},
            {"audited": true, "name": "web", "scope": "service", "why": "`web` is named by a deployment file"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper builder/src/main.rs:21 {"host":"registry","port":"8080","timeout":"20s"}"#,
            r#"timeout-wrapper relay/src/main.rs:16 {"timeout":"7s"}"#,
            r#"timeout-wrapper sinks/archive-sink/src/lib.rs:10 {"host":"archive","port":"9000","timeout":"15s"}"#,
            r#"missing-graceful-shutdown web/src/main.rs:8 {"framework":"axum","signal":"SIGTERM"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_tool_and_the_test_support_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper builder/src/main.rs:21 {"host":"registry","port":"8080","timeout":"20s"}"#,
            r#"timeout-wrapper codec/src/lib.rs:6 {"host":"schemas","port":"8080","timeout":"4s"}"#,
            r#"timeout-wrapper opsctl/src/main.rs:16 {"host":"registry","port":"8080","timeout":"9s"}"#,
            r#"timeout-wrapper relay/src/main.rs:16 {"timeout":"7s"}"#,
            r#"timeout-wrapper sinks/archive-sink/src/lib.rs:10 {"host":"archive","port":"9000","timeout":"15s"}"#,
            r#"missing-graceful-shutdown web/src/main.rs:8 {"framework":"axum","signal":"SIGTERM"}"#,
        ]
    );
}
