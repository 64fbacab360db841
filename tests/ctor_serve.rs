//! A program that starts its server through a method of a workspace
//! library's type, called on the value the type's constructor gave
//! (`fixtures/ctor-serve`): `let mut bus = Bus::new(..); bus.run(addr)`,
//! where `Bus::run` (a trait method) binds a listener. The constructor's
//! declared return type decides what the value is: `relayctl` calls a
//! `run` on what `Bus::link_to` returns (a `Link`), and `busctl` calls
//! another method of a `Bus`; both stay command-line tools.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit() -> Value {
    audit_manifest("fixtures/ctor-serve/Cargo.toml", &[])
}

#[test]
fn a_program_serving_through_a_method_of_a_constructed_library_value_is_a_service() {
    let v = audit();
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": false, "name": "busctl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            {"audited": true, "name": "busd", "scope": "service", "why": "starts a server (busd/src/main.rs via `meshbus::hub::Bus::run`)"},
            {"audited": true, "name": "meshbus", "scope": "library", "why": "used by busd"},
            {"audited": false, "name": "relayctl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
        ])
    );
}

#[test]
fn the_service_and_its_library_are_audited() {
    let v = audit();
    let got = findings_with_values(&v);
    assert_eq!(
        got,
        [
            r#"timeout-wrapper busd/src/main.rs:19 {"host":"registry","port":"8500","timeout":"4s"}"#,
            r#"missing-graceful-shutdown crates/meshbus/src/hub.rs:37 {"framework":"axum","signal":"SIGTERM"}"#,
        ]
    );
}
