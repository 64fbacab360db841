//! Scope at function level through typed method calls
//! (`fixtures/tool-typed`): each subcommand of a serving program keeps its
//! arguments in a struct whose methods share names with the other
//! commands' (`launch`, `client`), and the operator commands are
//! dispatched in a `match` of their own over `Option<Command>`, apart from
//! `serve`. A method call names the methods of its receiver's type when the
//! code declares it (the value a variant holds, a typed parameter or `let`,
//! a field, what a method returns, `self`), so the `backfill` and `balance`
//! commands' own methods are not audited. A call on a receiver whose type
//! is not written (a loop variable) still names every method of its name:
//! `Mirror::upload`, which the server reaches that way, stays audited.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/tool-typed/Cargo.toml", extra)
}

#[test]
fn typed_receivers_keep_other_commands_methods_apart() {
    let v = audit(&[]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper ledger/src/backfill.rs:41 {"timeout":"7s"}"#,
            r#"timeout-wrapper ledger/src/server.rs:22 {"timeout":"4s"}"#,
        ]
    );
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "ledger", "scope": "service", "why": "starts a server (ledger/src/server.rs:39); `backfill::BackfillArgs::client` is reached only from `backfill::BackfillArgs::launch` (ledger/src/backfill.rs), itself tool code: not audited; `remote::EndpointArgs::client` is reached only from the `Command::Balance` subcommand (ledger/src/main.rs:37), which starts no server: not audited; `remote::RemoteLedger::balance` is reached only from the `Command::Balance` subcommand (ledger/src/main.rs:37), which starts no server: not audited"},
        ])
    );
}

#[test]
fn all_scopes_audits_the_typed_commands_too() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper ledger/src/backfill.rs:27 {"timeout":"30s"}"#,
            r#"timeout-wrapper ledger/src/backfill.rs:41 {"timeout":"7s"}"#,
            r#"timeout-wrapper ledger/src/remote.rs:20 {"timeout":"9s"}"#,
            r#"timeout-wrapper ledger/src/remote.rs:36 {"timeout":"6s"}"#,
            r#"timeout-wrapper ledger/src/server.rs:22 {"timeout":"4s"}"#,
        ]
    );
}
