//! rustc's JSON diagnostics, one object a line, as rust-analyzer reads them
//! from a `check.overrideCommand` (`cargo mesh-audit --message-format=json`):
//! primary span with 1-based lines and character columns, the source line
//! in `text`, the code as `mesh_audit::<rule_with_underscores>` (which
//! rust-analyzer shows as source `mesh_audit`, code `loopback_bind`), help and suggestion notes as children, and quick fixes as
//! `suggested_replacement`.
//!
//! What an editor shows decides the shape: rust-analyzer drops the primary
//! span's label when a child has no spans, so the values go into the message
//! too; a quick fix is titled by its child's message, so that child says only
//! what it replaces, and the note and example code are a child of their own.
//! In cargo mode every diagnostic is wrapped in cargo's `compiler-message`
//! (package id, manifest, target) and the stream ends with `build-finished`,
//! so rust-analyzer attributes diagnostics to packages instead of clearing
//! every file on each run.

use std::path::Path;

use mesh_audit_model::{AuditError, CargoPackage, CargoTarget, Finding, Report, Severity};
use serde_json::{json, Value};

/// How the rustc JSON stream is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustcJsonOptions {
    /// `rendered` with ANSI colours (`json-diagnostic-rendered-ansi`).
    pub ansi: bool,
}

/// Relative paths in `file_name`: rust-analyzer joins them to the workspace root.
pub fn render_rustc_json(
    report: &Report,
    source: &dyn Fn(&str) -> Option<String>,
    opts: RustcJsonOptions,
) -> String {
    let mut out = String::new();
    let cargo_mode = !report.cargo_packages.is_empty();
    for f in &report.findings {
        let text = source(&f.file);
        let d = diagnostic(f, text.as_deref(), opts.ansi);
        let line = match cargo_mode.then(|| owner(report, f)).flatten() {
            Some((pkg, target)) => json!({
                "reason": "compiler-message",
                "package_id": pkg.id,
                "manifest_path": pkg.manifest_path,
                "target": target_json(target),
                "message": d,
            }),
            None => d,
        };
        out.push_str(&line.to_string());
        out.push('\n');
    }
    if cargo_mode {
        let success = report.count(Severity::Error) == 0 && report.errors.is_empty();
        out.push_str(&json!({ "reason": "build-finished", "success": success }).to_string());
        out.push('\n');
    }
    for e in &report.errors {
        out.push_str(&error_diagnostic(e).to_string());
        out.push('\n');
    }
    out
}

/// The package of a finding and the target whose source folder holds its
/// file (the deepest one; the library before binaries on a tie).
fn owner<'r>(report: &'r Report, f: &Finding) -> Option<(&'r CargoPackage, &'r CargoTarget)> {
    let pkg = report
        .cargo_packages
        .iter()
        .find(|p| Some(p.name.as_str()) == f.package.as_deref())?;
    let file = Path::new(&report.root).join(&f.file);
    let target = pkg
        .targets
        .iter()
        .filter(|t| {
            Path::new(&t.src_path)
                .parent()
                .is_some_and(|dir| file.starts_with(dir))
        })
        .max_by_key(|t| {
            let depth = Path::new(&t.src_path).components().count();
            let is_lib = t
                .kind
                .iter()
                .any(|k| k.contains("lib") || k == "proc-macro");
            let is_main = Path::new(&t.src_path) == file;
            (is_main, depth, is_lib)
        })
        .or_else(|| pkg.targets.first())?;
    Some((pkg, target))
}

fn target_json(t: &CargoTarget) -> Value {
    json!({
        "kind": t.kind,
        "crate_types": t.crate_types,
        "name": t.name,
        "src_path": t.src_path,
        "edition": t.edition,
        "doc": t.doc,
        "doctest": t.doctest,
        "test": t.test,
    })
}

/// A file that could not be analysed, as an error on that file (line 1 when
/// the position is unknown), so the editor says why it shows no findings.
fn error_diagnostic(e: &AuditError) -> Value {
    let line = e.line.unwrap_or(1);
    let column = e.column.unwrap_or(1);
    json!({
        "$message_type": "diagnostic",
        "message": e.message,
        "code": { "code": "mesh_audit::file", "explanation": null },
        "level": "error",
        "spans": [{
            "file_name": e.file,
            "byte_start": 0,
            "byte_end": 0,
            "line_start": line,
            "line_end": line,
            "column_start": column,
            "column_end": column,
            "is_primary": true,
            "text": [],
            "label": null,
            "suggested_replacement": null,
            "suggestion_applicability": null,
            "expansion": null,
        }],
        "children": [],
        "rendered": format!("error: {}\n  --> {}:{line}:{column}\n", e.message, e.file),
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn line_texts(source: Option<&str>, first: u32, last: u32, f: &Finding) -> Vec<Value> {
    let Some(src) = source else { return Vec::new() };
    src.lines()
        .enumerate()
        .skip(first.saturating_sub(1) as usize)
        .take((last.saturating_sub(first) + 1) as usize)
        .map(|(i, line)| {
            let n = i as u32 + 1;
            let start = if n == f.range.line { f.range.column } else { 1 };
            let end = if n == f.range.end_line {
                f.range.end_column
            } else {
                line.chars().count() as u32 + 1
            };
            json!({ "text": line, "highlight_start": start, "highlight_end": end })
        })
        .collect()
}

fn span(
    f: &Finding,
    source: Option<&str>,
    label: Option<String>,
    replacement: Option<(&str, &str)>,
) -> Value {
    json!({
        "file_name": f.file,
        "byte_start": f.range.byte_start,
        "byte_end": f.range.byte_end,
        "line_start": f.range.line,
        "line_end": f.range.end_line,
        "column_start": f.range.column,
        "column_end": f.range.end_column,
        "is_primary": true,
        "text": line_texts(source, f.range.line, f.range.end_line, f),
        "label": label,
        "suggested_replacement": replacement.map(|r| r.0),
        "suggestion_applicability": replacement.map(|r| r.1),
        "expansion": null,
    })
}

/// `retries=2, per_try_timeout=2s, host=inventory`
fn values_text(f: &Finding) -> String {
    f.values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn child(level: &str, message: String, spans: Vec<Value>) -> Value {
    json!({
        "message": message, "code": null, "level": level, "spans": spans, "children": [], "rendered": null
    })
}

fn diagnostic(f: &Finding, source: Option<&str>, ansi: bool) -> Value {
    let values = values_text(f);
    let message = if values.is_empty() {
        f.message.clone()
    } else {
        format!("{} ({values})", f.message)
    };
    let mut children = vec![child("help", f.help.clone(), Vec::new())];
    for s in &f.suggestions {
        if let Some(r) = &s.replacement {
            let mut fr = f.clone();
            fr.range.line = r.line;
            fr.range.column = r.column;
            fr.range.end_line = r.end_line;
            fr.range.end_column = r.end_column;
            fr.range.byte_start = r.byte_start;
            fr.range.byte_end = r.byte_end;
            // The quick fix's title in the editor: short, what it writes.
            let title = if r.text.starts_with('"') {
                format!("replace with {}", r.text)
            } else {
                format!("replace with `{}`", r.text)
            };
            let span = span(&fr, source, None, Some((&r.text, &r.applicability)));
            children.push(child("help", title, vec![span]));
        }
        let body = s.yaml.as_deref().or(s.code.as_deref()).unwrap_or("");
        let what = if s.kind == "code" {
            "code change"
        } else {
            s.kind.as_str()
        };
        let text = if body.is_empty() {
            format!("{what}: {}", s.note)
        } else {
            format!("{what}: {}\n{}", s.note, body.trim_end())
        };
        children.push(child("help", text, Vec::new()));
    }
    let label = values.replace(", ", " ");
    json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": { "code": format!("mesh_audit::{}", f.rule.replace('-', "_")), "explanation": null },
        "level": level(f.severity),
        "spans": [span(f, source, (!label.is_empty()).then_some(label), None)],
        "children": children,
        "rendered": crate::human::render_finding(f, source, ansi),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesh_audit_model::TextRange;
    use std::collections::BTreeMap;

    #[test]
    fn one_line_per_finding_with_rustc_fields() {
        let finding = Finding {
            rule: "loopback-bind",
            severity: Severity::Error,
            message: "listens on loopback".into(),
            file: "src/main.rs".into(),
            range: TextRange {
                line: 2,
                column: 5,
                end_line: 2,
                end_column: 9,
                byte_start: 14,
                byte_end: 18,
            },
            values: BTreeMap::from([("host".to_string(), "127.0.0.1".to_string())]),
            sources: BTreeMap::new(),
            help: "bind 0.0.0.0".into(),
            suggestions: Vec::new(),
            fingerprint: "0".into(),
            package: None,
        };
        let report = Report {
            findings: vec![finding],
            ..Default::default()
        };
        let out = render_rustc_json(
            &report,
            &|_| Some("fn main() {\n    bind();\n}\n".into()),
            RustcJsonOptions::default(),
        );
        assert_eq!(out.lines().count(), 1);
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["code"]["code"], "mesh_audit::loopback_bind");
        assert_eq!(v["message"], "listens on loopback (host=127.0.0.1)");
        assert!(
            v["rendered"].as_str().unwrap().contains("2 |     bind();"),
            "{}",
            v["rendered"]
        );
        assert_eq!(v["level"], "error");
        let s = &v["spans"][0];
        assert_eq!(
            (
                s["line_start"].as_u64(),
                s["column_start"].as_u64(),
                s["column_end"].as_u64()
            ),
            (Some(2), Some(5), Some(9))
        );
        assert_eq!(s["text"][0]["text"], "    bind();");
        assert_eq!(s["label"], "host=127.0.0.1");
        assert_eq!(v["children"][0]["level"], "help");
        assert!(v["children"][0]["spans"].as_array().unwrap().is_empty());
    }
}
