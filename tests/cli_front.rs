//! A binary whose command line another member parses
//! (`fixtures/cli-front`): `shipctl`'s `main` calls into `shipctl-cli`,
//! which declares the clap subcommand tree, so `shipctl` is a command-line
//! tool (not deployed, serving nothing) and the library only it links is
//! not audited either. `relay` reads its settings through `relay-conf`, a
//! clap struct without subcommands: still a worker, audited.

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_thin_main_over_a_cli_library_is_a_tool() {
    let v = audit_manifest("fixtures/cli-front/Cargo.toml", &[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "relay", "scope": "job", "why": "a binary that calls services and serves nothing"},
            {"audited": true, "name": "relay-conf", "scope": "library", "why": "used by relay"},
            {"audited": false, "name": "shipctl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            {"audited": false, "name": "shipctl-cli", "scope": "dev", "why": "reached only through dev-dependencies or dev packages (shipctl)"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [r#"timeout-wrapper relay/src/main.rs:6 {"timeout":"8s"}"#]
    );
}

#[test]
fn all_scopes_audits_the_tool_too() {
    let v = audit_manifest("fixtures/cli-front/Cargo.toml", &["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper relay/src/main.rs:6 {"timeout":"8s"}"#,
            r#"timeout-wrapper shipctl-cli/src/lib.rs:21 {"destination":"external","host":"registry.example.com","timeout":"120s"}"#,
        ]
    );
}
