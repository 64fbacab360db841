//! Programs of a library package (`fixtures/lib-tool-bins`): a service
//! links `ledger-client`; no deployment file names the package or its
//! binaries. Its `ledger-ctl` takes a command line and serves nothing: a
//! tool people run, not audited. Its `ledger-sync` takes no command line
//! and may be a worker a pod runs: audited. `audit-log`'s `audit-shipper`
//! takes a command line too, but a compose file runs it: audited. So is
//! `search`'s binary, which serves through its own package's library.
//! `ledger-snapshot` reads its arguments by hand, but only a feature the
//! default build leaves off builds it: a tool. `ledger-sync`'s feature is
//! on by default (through another feature): still audited. `quotes`'
//! library holds a server the gateway starts; its `quotes-ctl` names
//! nothing of it: a tool. `notify`'s library server no other member
//! starts, and its binary reaches it through the library's own command:
//! audited.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    audit_manifest("fixtures/lib-tool-bins/Cargo.toml", extra)
}

#[test]
fn a_command_line_program_of_a_linked_library_is_a_tool() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "audit-log", "scope": "service", "why": "`audit-shipper` is named by a deployment file"},
            {"audited": true, "name": "gateway", "scope": "service", "why": "`gateway` is named by a deployment file"},
            {"audited": true, "name": "ledger-client", "scope": "library", "why": "used by gateway; bin `ledger-ctl` is a developer tool (not deployed, serves nothing), not audited; bin `ledger-snapshot` is a developer tool (not deployed, serves nothing), not audited"},
            {"audited": true, "name": "notify", "scope": "service", "why": "starts a server (notify/src/lib.rs:36)"},
            {"audited": true, "name": "quotes", "scope": "service", "why": "starts a server (quotes/src/lib.rs:14); bin `quotes-ctl` is a developer tool (not deployed, serves nothing), not audited"},
            {"audited": true, "name": "search", "scope": "service", "why": "starts a server (search/src/lib.rs:14)"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper audit-log/src/bin/shipper.rs:16 {"host":"collector","port":"4318","timeout":"8s"}"#,
            r#"timeout-wrapper ledger-client/src/bin/sync.rs:6 {"host":"ledger","port":"8080","timeout":"5s"}"#,
            r#"timeout-wrapper ledger-client/src/lib.rs:6 {"host":"ledger","port":"8080","timeout":"2s"}"#,
            r#"timeout-wrapper notify/src/bin/notify.rs:17 {"host":"mailer","port":"8080","timeout":"9s"}"#,
            r#"timeout-wrapper notify/src/lib.rs:46 {"host":"mailer","port":"8080","timeout":"6s"}"#,
            r#"timeout-wrapper quotes/src/lib.rs:24 {"host":"pricing","port":"8080","timeout":"4s"}"#,
            r#"timeout-wrapper search/src/bin/search.rs:16 {"host":"index","port":"8080","timeout":"7s"}"#,
            r#"timeout-wrapper search/src/lib.rs:24 {"host":"index","port":"8080","timeout":"3s"}"#,
        ]
    );
}

#[test]
fn all_scopes_brings_the_library_tool_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper audit-log/src/bin/shipper.rs:16 {"host":"collector","port":"4318","timeout":"8s"}"#,
            r#"timeout-wrapper ledger-client/src/bin/ctl.rs:16 {"host":"ledger","port":"8080","timeout":"20s"}"#,
            r#"timeout-wrapper ledger-client/src/bin/snapshot.rs:7 {"host":"rates","port":"8080","timeout":"30s"}"#,
            r#"timeout-wrapper ledger-client/src/bin/sync.rs:6 {"host":"ledger","port":"8080","timeout":"5s"}"#,
            r#"timeout-wrapper ledger-client/src/lib.rs:6 {"host":"ledger","port":"8080","timeout":"2s"}"#,
            r#"timeout-wrapper notify/src/bin/notify.rs:17 {"host":"mailer","port":"8080","timeout":"9s"}"#,
            r#"timeout-wrapper notify/src/lib.rs:46 {"host":"mailer","port":"8080","timeout":"6s"}"#,
            r#"timeout-wrapper quotes/src/bin/ctl.rs:15 {"host":"pricing","port":"8080","timeout":"15s"}"#,
            r#"timeout-wrapper quotes/src/lib.rs:24 {"host":"pricing","port":"8080","timeout":"4s"}"#,
            r#"timeout-wrapper search/src/bin/search.rs:16 {"host":"index","port":"8080","timeout":"7s"}"#,
            r#"timeout-wrapper search/src/lib.rs:24 {"host":"index","port":"8080","timeout":"3s"}"#,
        ]
    );
}
