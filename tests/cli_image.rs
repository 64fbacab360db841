//! A command-line tool shipped as an image (`fixtures/cli-image`): a
//! Dockerfile runs `ctl` as its bare `ENTRYPOINT`, without arguments and
//! without `CMD`, and `ctl` declares clap subcommands and serves nothing:
//! whoever runs the image gives the command, so it is a tool, not audited.
//! `relay`, run the same way but with no subcommand to be told, is the
//! image's worker: audited. So is `gate`, run bare with subcommands, which
//! links a library that starts a server. `kit-cli`, run bare through the
//! symlink `kit` a Dockerfile makes to it, is a tool like `ctl`; the image
//! under `.github/` (CI) deploys nothing. `hammer`, run bare with flags
//! and no subcommand like `relay`, is a tool because its manifest says so
//! (crates.io's `command-line-utilities` category); `relay`'s manifest
//! names other categories and keywords. `deskctl`, the `ENTRYPOINT` of an
//! image whose `CMD` is `--help` alone, is a tool people run from a
//! toolbox image, although one of its subcommands starts a server.

mod common;

use common::*;
use serde_json::json;

#[test]
fn a_subcommand_tool_an_image_runs_bare_is_not_a_service() {
    let v = audit_manifest("fixtures/cli-image/Cargo.toml", &[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": false, "name": "ctl", "scope": "dev", "why": "a command-line tool (clap subcommands, no server) that an image runs as its bare `ENTRYPOINT`: whoever runs the image gives the command (`ctl`)"},
            {"audited": false, "name": "deskctl", "scope": "dev", "why": "a command-line tool that deployment files ship only for people to run (`deskctl`)"},
            {"audited": true, "name": "gate", "scope": "service", "why": "`gate` is named by a deployment file"},
            {"audited": true, "name": "gate-server", "scope": "library", "why": "used by gate"},
            {"audited": false, "name": "hammer", "scope": "dev", "why": "a command-line tool (its manifest says so: category `command-line-utilities` or keyword `cli`; clap, no server) that an image runs as its bare `ENTRYPOINT`: whoever runs the image gives the command (`hammer`)"},
            {"audited": false, "name": "kit-cli", "scope": "dev", "why": "a command-line tool (clap subcommands, no server) that an image runs as its bare `ENTRYPOINT`: whoever runs the image gives the command (`kit-cli`)"},
            {"audited": true, "name": "relay", "scope": "service", "why": "`relay` is named by a deployment file"},
        ])
    );
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper gate-server/src/lib.rs:7 {"host":"backend","port":"8080","timeout":"6s"}"#,
            r#"timeout-wrapper relay/src/main.rs:16 {"host":"ingest","port":"8080","timeout":"8s"}"#,
        ]
    );
}

#[test]
fn all_scopes_audits_the_tool() {
    let v = audit_manifest("fixtures/cli-image/Cargo.toml", &["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"timeout-wrapper ctl/src/main.rs:25 {"host":"api","port":"8080","timeout":"15s"}"#,
            r#"timeout-wrapper deskctl/src/main.rs:25 {"host":"desk","port":"8080","timeout":"12s"}"#,
            r#"timeout-wrapper gate-server/src/lib.rs:7 {"host":"backend","port":"8080","timeout":"6s"}"#,
            r#"timeout-wrapper hammer/src/main.rs:21 {"timeout":"3s"}"#,
            r#"timeout-wrapper kit-cli/src/main.rs:25 {"host":"registry","port":"9000","timeout":"4s"}"#,
            r#"timeout-wrapper relay/src/main.rs:16 {"host":"ingest","port":"8080","timeout":"8s"}"#,
        ]
    );
}
