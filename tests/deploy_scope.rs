//! Deployment files decide which packages ship (`fixtures/nested-repo`): a
//! Cargo workspace in a folder of its repository (`server/`) shipped by the
//! repository's top-level `Dockerfile`, an operator tool copied into the
//! image beside the server (with a loopback login callback), a toolbox
//! image whose command is a shell (one of its tools has a subcommand that
//! serves), and two compose files of the end-to-end test environment (one
//! in a `tests/` folder, one named `docker-compose.e2e.yml`).

mod common;

use common::*;
use serde_json::{json, Value};

fn audit() -> Value {
    let manifest = repo().join("fixtures/nested-repo/server/Cargo.toml");
    let o = run(
        &repo(),
        &[
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--format",
            "json",
            "--no-suggestions",
        ],
    );
    assert_no_panic(&o);
    json(&o)
}

#[test]
fn the_repository_dockerfile_above_the_workspace_names_the_server() {
    let v = audit();
    assert_eq!(
        v["summary"]["packages"],
        json!([
            // `-p gateway-cli --bin gateway` and `ENTRYPOINT [".../gateway"]`
            // in `../Dockerfile`: the clap binary whose subcommand starts
            // the library's server is the service, not a command-line tool.
            {"audited": true, "name": "gateway-cli", "scope": "service", "why": "`gateway` is named by a deployment file"},
            {"audited": true, "name": "gateway-serve", "scope": "library", "why": "used by gateway-cli"},
            // Built and copied beside the server, and held by a toolbox
            // image: run by people, not by the pod. Its login callback
            // listens on loopback only, which makes no service of it.
            {"audited": false, "name": "opsctl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            // Named only by `tests/e2e/docker-compose.yml`,
            // `docker-compose.e2e.yml` and the toolbox.
            {"audited": false, "name": "replay-proxy", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            // Built and copied only into the toolbox image: its `serve`
            // subcommand starts a server, but by hand, from a shell.
            {"audited": false, "name": "snapshot-doctor", "scope": "dev", "why": "a command-line tool that deployment files ship only for people to run (`snapshot-doctor`)"},
        ])
    );
}

#[test]
fn the_service_library_is_audited_and_the_tools_are_not() {
    let v = audit();
    let got: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{} {}",
                s(&f["rule"]),
                s(&f["file"]),
                f["line"],
                f["values"]
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            r#"timeout-wrapper gateway-serve/src/lib.rs:12 {"host":"catalog","port":"8080","timeout":"2s"}"#,
            r#"missing-graceful-shutdown gateway-serve/src/lib.rs:23 {"framework":"axum","signal":"SIGTERM"}"#,
        ]
    );
}
