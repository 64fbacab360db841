//! Scope and resolution on a workspace that mixes what runs in a meshed pod
//! with what does not (`fixtures/scope-workspace`): which packages and
//! files are audited, and which names the resolver follows across files
//! and crates. Every finding is asserted exactly (rule, file, line, values).

mod common;

use common::*;
use serde_json::{json, Value};

fn scope_manifest() -> String {
    repo()
        .join("fixtures/scope-workspace/Cargo.toml")
        .display()
        .to_string()
}

fn audit(extra: &[&str]) -> Value {
    let manifest = scope_manifest();
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
fn audits_the_service_and_its_libraries_with_calls_followed_across_crates() {
    let v = audit(&[]);
    assert_eq!(
        findings_with_values(&v),
        [
            // `common::retry::with_backoff` in another workspace crate,
            // called with a closure that reaches `inventory`: the loop is
            // in `common`, the host comes from the caller in `api`.
            r#"retry-loop crates/common/src/retry.rs:12 {"backoff":"100ms","host":"inventory","port":"8080","protocol":"http","retries":"3"}"#,
            // Reached only through `#[path = "compat/legacy_client.rs"]`,
            // with reqwest named through `http` (a renamed workspace crate
            // that re-exports it).
            r#"timeout-wrapper services/api/src/compat/legacy_client.rs:7 {"host":"legacy-pricing","port":"9000","timeout":"800ms"}"#,
            // `mod test_runs;`: a production module, whatever its name
            // starts with (its neighbour `mod test_util;` is test support).
            r#"timeout-wrapper services/api/src/test_runs.rs:8 {"host":"results","port":"8080","timeout":"2s"}"#,
            r#"timeout-wrapper services/api/src/upstream.rs:8 {"timeout":"5s"}"#,
            // `attempt` is the module's own networking helper, not the
            // same-named local helper of `jobs`.
            r#"retry-loop services/api/src/upstream.rs:21 {"host":"pricing","port":"8080","protocol":"http","retries":"2"}"#,
            // ..and the call of that helper, where its policy meets the
            // `inventory` call.
            r#"retry-loop services/api/src/upstream.rs:32 {"backoff":"100ms","host":"inventory","port":"8080","protocol":"http","retries":"3"}"#,
        ]
    );
}

#[test]
fn packages_are_given_a_scope_and_a_reason() {
    let v = audit(&[]);
    assert_eq!(
        v["summary"]["packages"],
        json!([
            {"audited": true, "name": "api", "scope": "service", "why": "`api` is named by a deployment file"},
            {"audited": false, "name": "api-bench", "scope": "dev", "why": "named as benchmark code (`api-bench`)"},
            {"audited": false, "name": "api-integration", "scope": "dev", "why": "named as test-support code (`api-integration`)"},
            {"audited": false, "name": "apictl", "scope": "dev", "why": "a command-line tool (clap, no server, not deployed)"},
            {"audited": true, "name": "common", "scope": "library", "why": "used by api"},
            {"audited": true, "name": "my-http", "scope": "library", "why": "used by api"},
        ])
    );
    // No target compiles it, so it is not audited (its loopback bind
    // never runs).
    assert_eq!(
        v["summary"]["unreached_files"],
        json!(["services/api/src/stray.rs"])
    );
}

#[test]
fn all_scopes_and_include_tests_bring_the_rest_back() {
    let v = audit(&["--all-scopes", "--include-tests"]);
    let got: Vec<String> = findings_with_values(&v)
        .into_iter()
        .map(|f| f.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        got,
        [
            "timeout-wrapper benches/api-bench/src/main.rs:9",
            "loopback-bind crates/api-integration/src/lib.rs:3",
            "retry-loop crates/common/src/retry.rs:12",
            "timeout-wrapper services/api/src/compat/legacy_client.rs:7",
            // `#[cfg(feature = "test-helpers")] mod testing;`
            "timeout-wrapper services/api/src/test_runs.rs:8",
            // `mod test_util;`: test support by its name.
            "loopback-bind services/api/src/test_util.rs:4",
            "loopback-bind services/api/src/testing.rs:3",
            "timeout-wrapper services/api/src/upstream.rs:8",
            "retry-loop services/api/src/upstream.rs:21",
            "retry-loop services/api/src/upstream.rs:32",
            // A `tests/` target: test code by cargo's word, not its folder.
            "loopback-bind services/api/tests/smoke.rs:3",
            "timeout-wrapper tools/cli/src/main.rs:15",
            "retry-loop tools/cli/src/main.rs:18",
        ]
    );
    // The orphan stays out even then: no target compiles it.
    assert!(!got.iter().any(|f| f.contains("stray.rs")));
}

#[test]
fn a_package_scope_can_be_set_in_its_manifest() {
    let dir = scratch(&[
        (
            "Cargo.toml",
            "[package]\nname = \"loadgen\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.mesh-audit]\nscope = \"skip\"\n",
        ),
        (
            "src/main.rs",
            "#[tokio::main]\nasync fn main() {\n    let l = tokio::net::TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();\n    let _ = l.accept().await;\n}\n",
        ),
    ]);
    let o = run(dir.path(), &["--format", "json"]);
    assert_exit(&o, 0);
    let v = json(&o);
    assert_eq!(findings_with_values(&v), Vec::<String>::new());
    assert_eq!(
        v["summary"]["packages"],
        json!([{"audited": false, "name": "loadgen", "scope": "skip", "why": "[package.metadata.mesh-audit] scope"}])
    );
    let o = run(dir.path(), &["--format", "json", "--all-scopes"]);
    assert_exit(&o, 1);
}

#[test]
fn human_summary_says_what_was_skipped() {
    let manifest = scope_manifest();
    let o = run(
        &repo(),
        &[
            "--manifest-path",
            manifest.as_str(),
            "--no-suggestions",
            "-v",
        ],
    );
    let out = stdout(&o);
    assert!(
        out.contains("3 packages audited (2 library, 1 service); 3 skipped (3 dev: not run in a meshed pod, --all-scopes audits them; -v says why); 1 file no target compiles"),
        "{out}"
    );
    assert!(
        out.contains(
            "package apictl (dev, skipped): a command-line tool (clap, no server, not deployed)"
        ),
        "{out}"
    );
    assert!(
        out.contains("not compiled by any target, not audited: services/api/src/stray.rs"),
        "{out}"
    );
}
