//! `--message-format=json` prints rustc diagnostics that rust-analyzer (and
//! any cargo tool) can parse: checked with cargo_metadata's own types.

use assert_cmd::Command;

#[test]
fn every_line_parses_as_a_rustc_diagnostic() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::cargo_bin("cargo-mesh-audit")
        .unwrap()
        .args([
            "mesh-audit",
            "--manifest-path",
            "fixtures/example-workspace/Cargo.toml",
            "--message-format=json",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut codes = Vec::new();
    for line in stdout.lines() {
        let d: cargo_metadata::diagnostic::Diagnostic =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let span = d
            .spans
            .iter()
            .find(|s| s.is_primary)
            .expect("a primary span");
        assert!(span.line_start >= 1 && span.column_start >= 1);
        assert!(!span.text.is_empty(), "source text for UTF-16 conversion");
        assert!(std::path::Path::new(root)
            .join("fixtures/example-workspace")
            .join(&span.file_name)
            .is_file());
        codes.push(d.code.expect("a code").code);
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
