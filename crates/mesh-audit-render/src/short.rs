use std::fmt::Write;

use mesh_audit_model::Report;

/// `file:line:col: severity[rule]: message`, one finding a line, then errors.
pub fn render_short(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            f.file, f.range.line, f.range.column, f.severity, f.rule, f.message
        );
    }
    for e in &report.errors {
        let loc = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", e.file),
            (Some(l), None) => format!("{}:{l}", e.file),
            _ => e.file.clone(),
        };
        let _ = writeln!(out, "{loc}: error[file]: {}", e.message);
    }
    out
}
