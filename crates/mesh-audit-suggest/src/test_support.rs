//! Finding builders for the unit tests.

use std::collections::BTreeMap;

use mesh_audit_model::{Finding, Severity, TextRange};

pub fn finding(rule: &'static str, file: &str, line: u32, values: &[(&str, &str)]) -> Finding {
    finding_at(rule, file, values, (line, 5, line, 20))
}

pub fn finding_at(
    rule: &'static str,
    file: &str,
    values: &[(&str, &str)],
    (line, column, end_line, end_column): (u32, u32, u32, u32),
) -> Finding {
    Finding {
        rule,
        severity: Severity::Warning,
        message: format!("{rule} finding"),
        file: file.to_string(),
        range: TextRange {
            line,
            column,
            end_line,
            end_column,
            byte_start: 0,
            byte_end: 0,
        },
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        sources: BTreeMap::new(),
        help: String::new(),
        suggestions: Vec::new(),
        fingerprint: format!("{rule}:{file}:{line}"),
        package: None,
    }
}
