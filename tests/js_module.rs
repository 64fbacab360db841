//! Libraries built as `cdylib` (`fixtures/js-module`): one that depends on
//! wasm-bindgen and that only tests link is a WebAssembly module for a
//! JavaScript host (a client SDK a page loads), not audited; the same kind
//! of library that the service links is audited; a `cdylib` without
//! wasm-bindgen that only tests link is a plugin a program loads, audited.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/js-module/Cargo.toml", extra)
}

#[test]
fn a_wasm_bindgen_module_no_service_links_is_not_audited() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "api", "scope": "service", "why": "starts a server (api/src/main.rs:3)"},
            {"audited": true, "name": "pricing-plugin", "scope": "unknown", "why": "a plugin library (`cdylib`) a program loads at run time; no server or job links it"},
            {"audited": true, "name": "rules-core", "scope": "library", "why": "used by api"},
            {"audited": false, "name": "web-sdk", "scope": "dev", "why": "a WebAssembly module for a JavaScript host (`cdylib` with wasm-bindgen); no server or job links it"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper pricing-plugin/src/lib.rs:6 {"host":"pricing","port":"8080","timeout":"6s"}"#,
            r#"timeout-wrapper rules-core/src/lib.rs:7 {"host":"rules-store","port":"8080","timeout":"4s"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_module_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper pricing-plugin/src/lib.rs:6 {"host":"pricing","port":"8080","timeout":"6s"}"#,
            r#"timeout-wrapper rules-core/src/lib.rs:7 {"host":"rules-store","port":"8080","timeout":"4s"}"#,
            r#"timeout-wrapper web-sdk/src/lib.rs:6 {"timeout":"15s"}"#,
        ]
    );
}
