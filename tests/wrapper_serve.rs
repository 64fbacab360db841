//! A program that starts its server through a workspace library's bind
//! helper is a service (`fixtures/wrapper-serve`): the controller parses
//! flags with clap and no deployment file names it, yet it listens, through
//! `netutil::listener::bind`. The homeserver's bind is three calls deep in
//! its router crate (`run` → `run::run` → `serve::serve` → `plain::serve`),
//! which `main` names through `extern crate hs_router as router`. The
//! operator tool calls another function of the library and stays a
//! command-line tool.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit() -> Value {
    audit_manifest("fixtures/wrapper-serve/Cargo.toml", &[])
}

#[test]
fn a_program_serving_through_a_library_bind_helper_is_a_service() {
    let v = audit();
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "controller", "scope": "service", "why": "starts a server (controller/src/main.rs via `netutil::listener::bind`)"},
            {"audited": true, "name": "homeserver", "scope": "service", "why": "starts a server (homeserver/src/main.rs via `hs_router::run`)"},
            {"audited": true, "name": "hs-router", "scope": "library", "why": "used by homeserver"},
            {"audited": true, "name": "netutil", "scope": "library", "why": "used by controller"},
            {"audited": false, "name": "opsctl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
        ])
    );
}

#[test]
fn the_services_are_audited_and_the_tool_is_not() {
    let v = audit();
    let got = findings_with_values(&v);
    assert_eq!(
        got,
        [
            r#"timeout-wrapper controller/src/main.rs:22 {"host":"pageserver","port":"9898","timeout":"3s"}"#,
            // The router crate is audited as the homeserver's library.
            r#"missing-graceful-shutdown crates/hs-router/src/serve/plain.rs:7 {"framework":"axum","signal":"SIGTERM"}"#,
        ]
    );
}
