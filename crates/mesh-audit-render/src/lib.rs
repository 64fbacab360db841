//! Output formats. Only this crate knows how a report looks on the outside;
//! each format is one module with one `render_*` function over the plain
//! `Report`, so adding a format never touches the engine.

mod github;
mod human;
mod json;
mod rustc_json;
mod sarif;
mod short;

pub use github::render_github;
pub use human::{render_finding, render_human, HumanOptions};
pub use json::{render_json, report_json, JSON_VERSION};
pub use rustc_json::{render_rustc_json, RustcJsonOptions};
pub use sarif::{file_uri_of_dir, render_sarif, sarif_json, RuleInfo, SarifOptions};
pub use short::render_short;

/// Tool identity printed in machine-readable output.
#[derive(Debug, Clone, Copy)]
pub struct Tool<'a> {
    pub name: &'a str,
    pub version: &'a str,
}

/// `text` with control characters written as escapes (`\n`, `\u{1b}`): file
/// names and messages come from the audited repository, and raw they could
/// move the cursor, recolour the terminal or forge `file:line:col:` lines.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(super::escape_controls("src/main.rs"), "src/main.rs");
        assert_eq!(
            super::escape_controls("a\nb\u{1b}[31mé"),
            "a\\nb\\u{1b}[31mé"
        );
    }
}
