//! Scope at function level (`fixtures/tool-arms`): a serving program whose
//! binary also carries operator subcommands. Code that only the `export`
//! and `check` arms of the clap dispatch reach (also in another workspace
//! crate) runs when a person types the command, not in the pod: not
//! audited. Code the `serve` arm also reaches is audited, and so are both
//! arms of a `match` over a runtime mode that is no clap subcommand, and
//! the `reindex` arm a CronJob starts the program with.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/tool-arms/Cargo.toml", extra)
}

#[test]
fn code_only_non_serving_subcommands_reach_is_not_audited() {
    let v = audit(&[]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper shop/src/common.rs:6 {"host":"pricing","port":"8080","timeout":"5s"}"#,
            r#"timeout-wrapper shop/src/reindex.rs:6 {"host":"search","port":"8080","timeout":"12s"}"#,
            r#"missing-graceful-shutdown shop/src/server.rs:14 {"framework":"axum","signal":"SIGTERM"}"#,
            r#"timeout-wrapper shop/src/server.rs:24 {"timeout":"3s"}"#,
            r#"timeout-wrapper shop/src/worker.rs:26 {"host":"queue","port":"8080","timeout":"20s"}"#,
        ]
    );
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "export-client", "scope": "library", "why": "used by shop; `upload` is reached only from `export::run` (shop/src/export.rs), itself tool code: not audited"},
            {"audited": true, "name": "shop", "scope": "service", "why": "`shop` is named by a deployment file; `export::run` is reached only from the `Command::Export` subcommand (shop/src/main.rs:36), which starts no server: not audited; `probe::check` is reached only from the `Command::Check` subcommand (shop/src/main.rs:37), which starts no server: not audited"},
        ])
    );
}

#[test]
fn all_scopes_audits_the_subcommands_too() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper export-client/src/lib.rs:6 {"host":"archive","port":"8080","timeout":"45s"}"#,
            r#"timeout-wrapper shop/src/common.rs:6 {"host":"pricing","port":"8080","timeout":"5s"}"#,
            r#"timeout-wrapper shop/src/export.rs:8 {"host":"catalog","port":"8080","timeout":"30s"}"#,
            r#"timeout-wrapper shop/src/probe.rs:6 {"host":"shop","port":"8080","timeout":"2s"}"#,
            r#"timeout-wrapper shop/src/reindex.rs:6 {"host":"search","port":"8080","timeout":"12s"}"#,
            r#"missing-graceful-shutdown shop/src/server.rs:14 {"framework":"axum","signal":"SIGTERM"}"#,
            r#"timeout-wrapper shop/src/server.rs:24 {"timeout":"3s"}"#,
            r#"timeout-wrapper shop/src/worker.rs:26 {"host":"queue","port":"8080","timeout":"20s"}"#,
        ]
    );
}

/// A dispatch whose serving arm is its catch-all (`_ => server::run()`):
/// the named arms that start no server are operator commands. A catch-all
/// arm that starts no server is no subcommand of its own: what it reaches
/// stays audited (`relay`). The subcommand enum may be declared in a
/// workspace crate the program depends on (`beacon` and `beacon-cli`).
#[test]
fn a_serving_catch_all_arm_makes_the_named_arms_operator_commands() {
    let v = audit_manifest("fixtures/tool-arms-catchall/Cargo.toml", &[]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"missing-graceful-shutdown gate/src/server.rs:10 {"framework":"axum","signal":"SIGTERM"}"#,
            r#"timeout-wrapper gate/src/server.rs:16 {"host":"catalogue","port":"9000","timeout":"4s"}"#,
            r#"timeout-wrapper relay/src/compact.rs:5 {"host":"journal","port":"7100","timeout":"25s"}"#,
        ]
    );
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "beacon", "scope": "service", "why": "starts a server (beacon/src/main.rs:17); `ping` is reached only from the `Cmd::Ping` subcommand (beacon/src/main.rs:11), which starts no server: not audited"},
            {"audited": true, "name": "beacon-cli", "scope": "library", "why": "used by beacon"},
            {"audited": true, "name": "gate", "scope": "service", "why": "starts a server (gate/src/server.rs:9); `checks::probe` is reached only from the `Mode::Probe` subcommand (gate/src/main.rs:28), which starts no server: not audited; `checks::warm` is reached only from the `Mode::Warm` subcommand (gate/src/main.rs:29), which starts no server: not audited"},
            {"audited": true, "name": "relay", "scope": "service", "why": "starts a server (relay/src/server.rs:5)"},
        ])
    );
}

/// A second `match` over the subcommand enum, in the code the serving
/// catch-all arm runs (`_ => server::run(args)`, then `match &args.mode {
/// Mode::Leader { .. } => .., Mode::Follower { .. } => .. }`): the variants
/// the catch-all covers serve, so what their arms reach is audited; only
/// the named `Mode::Check` arm is an operator command.
#[test]
fn variants_a_serving_catch_all_covers_serve_in_every_match() {
    let v = audit_manifest("fixtures/tool-arms-nested/Cargo.toml", &[]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper ledger/src/upstream.rs:5 {"timeout":"6s"}"#,
            r#"timeout-wrapper ledger/src/upstream.rs:12 {"timeout":"2500ms"}"#,
        ]
    );
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "ledger", "scope": "service", "why": "starts a server (ledger/src/server.rs:13); `checks::check` is reached only from the `Mode::Check` subcommand (ledger/src/main.rs:27), which starts no server: not audited"},
        ])
    );
}
