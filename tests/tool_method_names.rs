//! Scope at function level: a method call never names a free function
//! (`fixtures/tool-method-names`). The `enroll` subcommand calls the free
//! function `membership::enroll`; the serving code calls `.enroll(..)` on
//! a loop variable whose type it does not write, which may name
//! `Roster::enroll` but not the free function. So the free function is the
//! subcommand's code (not audited) and the method stays audited. `main`
//! calls `cli.run()` on what `Cli::parse()` returns, a `Cli`: it names
//! `Cli::run`, not the `report` command's `ReportArgs::run`.

mod common;

use common::*;

fn audit(extra: &[&str]) -> serde_json::Value {
    audit_manifest("fixtures/tool-method-names/Cargo.toml", extra)
}

#[test]
fn a_method_call_does_not_keep_a_free_function_of_its_name() {
    let v = audit(&[]);
    assert_eq!(
        findings_with_values(&v),
        [r#"timeout-wrapper node/src/membership.rs:24 {"timeout":"3s"}"#]
    );
    let why = v["summary"]["packages"][0]["why"].as_str().unwrap();
    assert!(
        why.contains("`membership::enroll` is reached only from the `Command::Enroll` subcommand"),
        "{why}"
    );
    assert!(
        why.contains(
            "`report::ReportArgs::run` is reached only from the `Command::Report` subcommand"
        ),
        "{why}"
    );
}

#[test]
fn all_scopes_audits_the_subcommand_too() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper node/src/membership.rs:7 {"timeout":"20s"}"#,
            r#"timeout-wrapper node/src/membership.rs:24 {"timeout":"3s"}"#,
            r#"timeout-wrapper node/src/report.rs:14 {"host":"node-0.nodes","port":"7000","timeout":"10s"}"#,
        ]
    );
}
