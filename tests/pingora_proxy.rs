//! A reverse proxy built on pingora (`fixtures/pingora-proxy`): its
//! listeners are added to a pingora listening service (`add_tcp`,
//! `add_tls_with_settings`) and the pingora `Server` runs them, so the
//! program serves and is audited although it parses flags with clap.
//! `dialer` calls a method of the same name on a type of its own: still
//! a tool.

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_pingora_proxy_is_a_service() {
    let v = audit_manifest("fixtures/pingora-proxy/Cargo.toml", &[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": false, "name": "dialer", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            {"audited": true, "name": "edge", "scope": "service", "why": "starts a server (edge/src/listeners.rs:7)"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [r#"hand-rolled-tls edge/src/listeners.rs:5 {"mtls":"false","side":"server"}"#]
    );
}
