//! rustc's JSON diagnostics, one object a line, as rust-analyzer reads them
//! from a `check.overrideCommand` (`cargo mesh-audit --message-format=json`):
//! primary span with 1-based lines and character columns, the source line
//! in `text`, the code as `mesh_audit::<rule>`, help and suggestion notes as
//! children, and quick fixes as `suggested_replacement`.

use mesh_audit_model::{Finding, Report, Severity};
use serde_json::{json, Value};

/// Relative paths in `file_name`: rust-analyzer joins them to the workspace root.
pub fn render_rustc_json(report: &Report, source: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let text = source(&f.file);
        out.push_str(&diagnostic(f, text.as_deref()).to_string());
        out.push('\n');
    }
    out
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

fn diagnostic(f: &Finding, source: Option<&str>) -> Value {
    let values = f
        .values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut children = vec![json!({
        "message": f.help, "code": null, "level": "help", "spans": [], "children": [], "rendered": null
    })];
    for s in &f.suggestions {
        let body = s.yaml.as_deref().or(s.code.as_deref()).unwrap_or("");
        let message = if body.is_empty() {
            format!("{}: {}", s.kind, s.note)
        } else {
            format!("{}: {}\n{}", s.kind, s.note, body)
        };
        let spans = match &s.replacement {
            Some(r) => {
                let mut fr = f.clone();
                fr.range.line = r.line;
                fr.range.column = r.column;
                fr.range.end_line = r.end_line;
                fr.range.end_column = r.end_column;
                fr.range.byte_start = r.byte_start;
                fr.range.byte_end = r.byte_end;
                vec![span(&fr, source, None, Some((&r.text, &r.applicability)))]
            }
            None => Vec::new(),
        };
        children.push(json!({
            "message": message, "code": null, "level": "help", "spans": spans, "children": [], "rendered": null
        }));
    }
    let rendered = format!(
        "{}[{}]: {}\n  --> {}:{}:{}\n",
        level(f.severity),
        f.rule,
        f.message,
        f.file,
        f.range.line,
        f.range.column
    );
    json!({
        "$message_type": "diagnostic",
        "message": f.message,
        "code": { "code": format!("mesh_audit::{}", f.rule.replace('-', "_")), "explanation": null },
        "level": level(f.severity),
        "spans": [span(f, source, (!values.is_empty()).then_some(values), None)],
        "children": children,
        "rendered": rendered,
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
        let out = render_rustc_json(&report, &|_| Some("fn main() {\n    bind();\n}\n".into()));
        assert_eq!(out.lines().count(), 1);
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["code"]["code"], "mesh_audit::loopback_bind");
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
