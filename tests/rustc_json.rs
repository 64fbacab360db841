//! `--message-format=json` prints what rust-analyzer reads from a check
//! command: in cargo mode cargo's own messages (`compiler-message` with the
//! package and target, then `build-finished`), in path mode bare rustc
//! diagnostics. Every line is parsed with cargo_metadata's types, the ones
//! rust-analyzer uses.

mod common;

use cargo_metadata::diagnostic::{Diagnostic, DiagnosticLevel};
use cargo_metadata::Message;
use common::*;

fn messages(stdout: &str) -> Vec<Message> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

#[test]
fn cargo_mode_wraps_each_diagnostic_in_a_compiler_message() {
    let o = run_example(&["--message-format=json"]);
    assert_exit(&o, 1);
    let msgs = messages(&stdout(&o));
    let Some(Message::BuildFinished(done)) = msgs.last() else {
        panic!("the stream ends with build-finished: {msgs:?}");
    };
    assert!(!done.success, "error-level findings fail the build");
    let mut codes = Vec::new();
    for m in &msgs[..msgs.len() - 1] {
        let Message::CompilerMessage(cm) = m else {
            panic!("a compiler-message: {m:?}");
        };
        assert!(cm.package_id.repr.contains("example-workspace/services/"));
        assert!(cm.target.src_path.is_file(), "{}", cm.target.src_path);
        assert!(!cm.target.kind.is_empty() && !cm.target.crate_types.is_empty());
        let d = &cm.message;
        let span = d
            .spans
            .iter()
            .find(|s| s.is_primary)
            .expect("a primary span");
        assert!(span.line_start >= 1 && span.column_start >= 1);
        assert!(!span.text.is_empty(), "source text for UTF-16 conversion");
        let file = example_workspace().join(&span.file_name);
        assert!(file.is_file());
        // The file belongs to the target's package.
        let pkg_dir = cm.target.src_path.parent().unwrap().parent().unwrap();
        assert!(file.starts_with(pkg_dir), "{} in {pkg_dir}", file.display());
        // The rendered text is the full snippet, without colour.
        let rendered = d.rendered.as_deref().unwrap();
        assert!(
            rendered.contains(&format!("{} |", span.line_start)),
            "{rendered}"
        );
        assert!(!rendered.contains('\u{1b}'), "{rendered}");
        codes.push(d.code.as_ref().expect("a code").code.clone());
    }
    assert!(
        codes.contains(&"mesh_audit::loopback_bind".to_string()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"mesh_audit::retry_loop".to_string()),
        "{codes:?}"
    );
}

#[test]
fn rust_analyzer_check_command_flags_are_accepted() {
    let manifest = example_manifest();
    let o = run(
        &repo(),
        &[
            "mesh-audit",
            "--workspace",
            "--message-format=json-diagnostic-rendered-ansi",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--keep-going",
            "--all-targets",
            "--all-features",
            "--features",
            "a,b",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--fail-on",
            "never",
        ],
    );
    assert_exit(&o, 0);
    let msgs = messages(&stdout(&o));
    let Message::CompilerMessage(cm) = &msgs[0] else {
        panic!("{:?}", msgs[0]);
    };
    assert!(
        cm.message.rendered.as_deref().unwrap().contains('\u{1b}'),
        "json-diagnostic-rendered-ansi colours `rendered`"
    );
}

/// A bind on a line with non-ASCII text before it, in path mode.
const BIND_AFTER_UMLAUT: &str = "use tokio::net::TcpListener;

async fn serve() {
    let größe = 1; let listener = TcpListener::bind(\"127.0.0.1:9090\").await.unwrap();
}

fn main() {}
";

#[test]
fn path_mode_prints_bare_diagnostics_with_values_and_short_fix_titles() {
    let dir = scratch(&[("src/main.rs", BIND_AFTER_UMLAUT)]);
    let o = run(dir.path(), &["src", "--message-format", "json"]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert_eq!(
        out.lines().count(),
        1,
        "no build-finished without cargo:\n{out}"
    );
    let d: Diagnostic = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(d.level, DiagnosticLevel::Error);
    // rust-analyzer hides the label when a child has no spans: the values
    // are in the message.
    assert!(
        d.message.ends_with("(host=127.0.0.1, port=9090)"),
        "{}",
        d.message
    );
    assert_eq!(
        d.spans[0].label.as_deref(),
        Some("host=127.0.0.1 port=9090")
    );
    assert_eq!(d.spans[0].column_start, 35, "columns count characters");
    // The quick fix: a child with the replacement and a short title; the
    // note and the example code are a separate child without spans.
    let fix = d
        .children
        .iter()
        .find(|c| !c.spans.is_empty())
        .expect("a quick fix");
    assert_eq!(fix.message, "replace with \"0.0.0.0:9090\"");
    let edit = &fix.spans[0];
    assert_eq!(
        edit.suggested_replacement.as_deref(),
        Some("\"0.0.0.0:9090\"")
    );
    let line = BIND_AFTER_UMLAUT.lines().nth(edit.line_start - 1).unwrap();
    let old: String = line
        .chars()
        .skip(edit.column_start - 1)
        .take(edit.column_end - edit.column_start)
        .collect();
    assert_eq!(old, "\"127.0.0.1:9090\"");
    assert!(d
        .children
        .iter()
        .any(|c| c.spans.is_empty() && c.message.starts_with("code change: ")));
    assert!(
        d.children[0].message.starts_with("bind "),
        "the help comes first"
    );
}
