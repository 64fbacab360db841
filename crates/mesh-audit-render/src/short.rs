use std::fmt::Write;

use mesh_audit_model::Report;

use crate::escape_controls as esc;

/// `file:line:col: severity[rule]: message`, one finding a line, then errors.
pub fn render_short(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            esc(&f.file),
            f.range.line,
            f.range.column,
            f.severity,
            f.rule,
            esc(&f.message)
        );
    }
    for e in &report.errors {
        let file = esc(&e.file);
        let loc = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.into_owned(),
        };
        let _ = writeln!(out, "{loc}: error[file]: {}", esc(&e.message));
    }
    out
}
