//! Helpers shared by the integration tests that drive the real binary.
//! Every run is hermetic: fixed working directory, no colour variables from
//! the caller's environment, and only paths the test created or the
//! repository's own fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

/// The repository root (where the root `Cargo.toml` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example_workspace() -> PathBuf {
    repo().join("fixtures/example-workspace")
}

pub fn example_manifest() -> PathBuf {
    example_workspace().join("Cargo.toml")
}

/// The binary under test, run in `cwd` with a clean colour environment.
pub fn cmd(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("cargo-mesh-audit").expect("binary is built");
    c.current_dir(cwd)
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("NO_COLOR")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LOG");
    c
}

/// Runs the binary with `args` in `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    cmd(cwd).args(args).output().expect("binary runs")
}

/// Runs against the example workspace through `--manifest-path`.
pub fn run_example(args: &[&str]) -> Output {
    let manifest = example_manifest();
    let mut all = vec!["--manifest-path", manifest.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&repo(), &all)
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally, not by a signal")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts the exit code and that the process did not panic; shows both
/// streams when it fails.
#[track_caller]
pub fn assert_exit(o: &Output, expected: i32) {
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(
        o.status.code(),
        Some(expected),
        "exit status {:?}\n--- stdout\n{out}\n--- stderr\n{err}",
        o.status
    );
    assert_no_panic(o);
}

#[track_caller]
pub fn assert_no_panic(o: &Output) {
    let err = String::from_utf8_lossy(&o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    for text in [&err, &out] {
        assert!(!text.contains("panicked"), "the process panicked:\n{text}");
        assert!(
            !text.contains("internal error"),
            "an internal error was reported:\n{text}"
        );
        assert!(
            !text.contains("RUST_BACKTRACE"),
            "the process panicked:\n{text}"
        );
    }
}

/// Parses `--format json` output.
#[track_caller]
pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// The JSON report of a workspace fixture (`fixtures/..../Cargo.toml`,
/// relative to the repository), without suggestions, plus `extra` flags.
pub fn audit_manifest(manifest: &str, extra: &[&str]) -> Value {
    let manifest = repo().join(manifest);
    let mut args = vec![
        "--manifest-path",
        manifest.to_str().expect("a UTF-8 path"),
        "--format",
        "json",
        "--no-suggestions",
    ];
    args.extend_from_slice(extra);
    let o = run(&repo(), &args);
    assert_no_panic(&o);
    json(&o)
}

/// `rule file:line {values}` of every finding, in report order.
pub fn findings_with_values(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings is an array")
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
        .collect()
}

/// `file:line:column rule` of every finding, in report order.
pub fn locations(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {}",
                s(&f["file"]),
                f["line"],
                f["column"],
                s(&f["rule"])
            )
        })
        .collect()
}

/// `file:line:column severity rule` of every finding.
pub fn severities(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .map(|f| {
            format!(
                "{}:{} {} {}",
                s(&f["file"]),
                f["line"],
                s(&f["severity"]),
                s(&f["rule"])
            )
        })
        .collect()
}

/// `file[:line[:column]]: message` of every error entry.
pub fn errors(report: &Value) -> Vec<(String, Option<u64>, Option<u64>, String)> {
    report["errors"]
        .as_array()
        .expect("errors is an array")
        .iter()
        .map(|e| {
            (
                s(&e["file"]),
                e["line"].as_u64(),
                e["column"].as_u64(),
                s(&e["message"]),
            )
        })
        .collect()
}

pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// The JSON report without the fields that legitimately differ between runs.
pub fn stable(mut report: Value) -> Value {
    report["summary"]["elapsed_ms"] = Value::Null;
    report
}

/// A scratch directory with files written from `(relative path, contents)`.
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (rel, text) in files {
        write(dir.path(), rel, text.as_bytes());
    }
    dir
}

pub fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A one-package Cargo project without dependencies: `cargo metadata
/// --offline` reads it without any network.
pub fn package_manifest(name: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"
    )
}

/// A server that binds loopback on line 4, column 20.
pub const LOOPBACK_MAIN: &str = "use tokio::net::TcpListener;

async fn serve() {
    let listener = TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();
}

fn main() {}
";
