//! GitHub Actions workflow commands: one `::warning file=..::message` line
//! per finding, which the runner turns into annotations on the changed
//! lines. `info` findings are `::notice`; files that could not be analysed
//! are `::error`.

use std::fmt::Write;

use mesh_audit_model::{Report, Severity};

/// Escaping of a command's message (`%`, CR, LF), as the runner decodes it.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a property value: the message's plus `:` and `,`, which
/// separate properties.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `root_in_repo` is the report root relative to the repository root
/// (`services/` or empty): the runner resolves `file` from the checkout.
pub fn render_github(report: &Report, root_in_repo: &str) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let values = f
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        let message = if values.is_empty() {
            format!("{}\n{}", f.message, f.help)
        } else {
            format!("{} ({values})\n{}", f.message, f.help)
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&format!("{root_in_repo}{}", f.file)),
            f.range.line,
            f.range.column,
            f.range.end_line,
            f.range.end_column,
            escape_property(&format!("mesh-audit {}", f.rule)),
            escape_data(&message)
        );
    }
    for e in &report.errors {
        let mut props = Vec::new();
        if !e.file.is_empty() {
            props.push(format!(
                "file={}",
                escape_property(&format!("{root_in_repo}{}", e.file))
            ));
        }
        if let Some(l) = e.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = e.column {
            props.push(format!("col={c}"));
        }
        props.push("title=mesh-audit could not analyse this file".to_string());
        let _ = writeln!(
            out,
            "::error {}::{}",
            props.join(","),
            escape_data(&e.message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_decodes() {
        assert_eq!(escape_data("50% a\nb\r"), "50%25 a%0Ab%0D");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
