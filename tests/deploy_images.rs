//! How the repository deploys its binaries decides which packages run in a
//! meshed pod (`fixtures/deploy-scope`): an image whose entrypoint is a
//! launch script deploys what the script runs, not every tool copied beside
//! it; an image whose command prints help is a toolbox; a cargo subcommand
//! that starts a local dev server is a developer tool; a mock server in a
//! test module makes no service of a command-line tool.

mod common;

use common::*;
use serde_json::{json, Value};

fn audit(extra: &[&str]) -> Value {
    let manifest = repo().join("fixtures/deploy-scope/Cargo.toml");
    let manifest = manifest.display().to_string();
    let mut args = vec![
        "--manifest-path",
        manifest.as_str(),
        "--format",
        "json",
        "--no-suggestions",
    ];
    args.extend_from_slice(extra);
    let o = run(&repo(), &args);
    assert_no_panic(&o);
    json(&o)
}

#[test]
fn only_the_program_the_images_run_is_a_service() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": false, "name": "cargo-devstack", "scope": "dev", "why": "a cargo subcommand (run by people, not deployed)"},
            // Its only server is a mock in a test module.
            {"audited": false, "name": "exporter", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            // Built into the server's image, but its launch script runs only `server`.
            {"audited": false, "name": "importer", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            {"audited": true, "name": "server", "scope": "service", "why": "`server` is named by a deployment file"},
            // Only in an image whose command is `syncer --help`.
            {"audited": false, "name": "syncer", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
        ])
    );
    assert_eq!(findings_with_values(&v), Vec::<String>::new());
}

#[test]
fn all_scopes_brings_the_tools_findings_back() {
    let v = audit(&["--all-scopes"]);
    assert_eq!(
        findings_with_values(&v),
        [
            r#"missing-graceful-shutdown cargo-devstack/src/main.rs:21 {"framework":"axum","signal":"SIGTERM"}"#,
            r#"missing-health-endpoint cargo-devstack/src/main.rs:21 {"framework":"axum"}"#,
            r#"retry-loop importer/src/main.rs:11 {"backoff":"200ms","host":"directory","port":"8080","protocol":"http","retries":"2"}"#,
            r#"timeout-wrapper syncer/src/main.rs:16 {"host":"directory","port":"8080","timeout":"5s"}"#,
        ]
    );
}
