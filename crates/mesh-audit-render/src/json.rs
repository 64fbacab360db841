use mesh_audit_model::Report;
use serde_json::{json, Value};

use crate::Tool;

/// Bumped when a field is removed or changes meaning; additions keep it.
pub const JSON_VERSION: u32 = 1;

/// The report as one JSON value; byte-identical across runs except
/// `summary.elapsed_ms`.
pub fn report_json(report: &Report, tool: Tool<'_>) -> Value {
    let by_rule: serde_json::Map<String, Value> = report
        .by_rule()
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json!({
        "version": JSON_VERSION,
        "tool": { "name": tool.name, "version": tool.version },
        "root": report.root,
        "findings": report.findings,
        "errors": report.errors,
        "suppression_notes": report.suppression_notes,
        "summary": {
            "files_scanned": report.files_scanned,
            "findings": report.findings.len(),
            "errors": report.errors.len(),
            "by_rule": by_rule,
            "packages": report.packages,
            "unreached_files": report.unreached_files,
            "elapsed_ms": report.elapsed_ms as u64,
        }
    })
}

pub fn render_json(report: &Report, tool: Tool<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&report_json(report, tool)).unwrap_or_default();
    s.push('\n');
    s
}
