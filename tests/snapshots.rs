//! Snapshots of the whole report on the example workspace, in the human and
//! JSON formats, with every rule enabled. They change whenever a rule's
//! findings or wording change; review the diff, then accept it with
//! `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta review`).
//!
//! What differs between machines and runs is redacted: the absolute `root`,
//! `elapsed_ms` and the `(N ms)` of the human summary line.

mod common;

use common::*;
use serde_json::Value;

/// Replaces the time in the summary line's closing `(N ms)`.
fn redact_human(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| match l.rfind(" (") {
            Some(i)
                if l.ends_with(" ms)")
                    && l[i + 2..l.len() - 4].bytes().all(|b| b.is_ascii_digit()) =>
            {
                format!("{} ([elapsed] ms)", &l[..i])
            }
            _ => l.to_string(),
        })
        .collect();
    lines.join("\n") + "\n"
}

fn redact_json(mut v: Value) -> Value {
    assert!(
        v["root"]
            .as_str()
            .is_some_and(|r| r.ends_with("example-workspace")),
        "{}",
        v["root"]
    );
    assert!(v["summary"]["elapsed_ms"].is_u64());
    v["root"] = Value::from("[root]");
    v["summary"]["elapsed_ms"] = Value::from("[elapsed]");
    v
}

#[test]
fn example_workspace_human() {
    let o = run_example(&["--format", "human", "--color", "never"]);
    assert_exit(&o, 1);
    let text = redact_human(&stdout(&o));
    assert!(
        text.ends_with("([elapsed] ms)\n"),
        "the summary line was redacted:\n{text}"
    );
    let root = example_workspace().canonicalize().unwrap();
    assert!(
        !text.contains(root.to_str().unwrap()),
        "no absolute paths:\n{text}"
    );
    insta::assert_snapshot!("example_workspace_human", text);
}

#[test]
fn example_workspace_json() {
    let o = run_example(&["--format", "json"]);
    assert_exit(&o, 1);
    let v = redact_json(json(&o));
    let root = example_workspace().canonicalize().unwrap();
    assert!(
        !v.to_string().contains(root.to_str().unwrap()),
        "no absolute paths:\n{v}"
    );
    insta::assert_json_snapshot!("example_workspace_json", v);
}

#[test]
fn redaction_only_touches_the_timing() {
    assert_eq!(
        redact_human(
            "x\n14 files scanned: 4 errors, 0 warnings, 0 infos; 0 files not analysed (62 ms)\n"
        ),
        "x\n14 files scanned: 4 errors, 0 warnings, 0 infos; 0 files not analysed ([elapsed] ms)\n"
    );
    assert_eq!(
        redact_human("a note (see docs ms)\n"),
        "a note (see docs ms)\n"
    );
}
