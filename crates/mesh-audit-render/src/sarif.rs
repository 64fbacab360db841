//! SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).
//!
//! GitHub's ingestion rules shape it: `tool.driver.rules[]` with the full
//! rule documentation as help, every result pointing at a rule by id and
//! index, locations relative to `%SRCROOT%` (the repository root, so a
//! workspace in a subfolder still resolves), columns in Unicode code points
//! (our columns count characters), and our fingerprint as a partial
//! fingerprint so alerts follow code that moves. Values and the suggested
//! mesh config travel in `properties`; code edits become `fixes`.

use mesh_audit_model::{Finding, Report, Severity};
use serde_json::{json, Value};

use crate::Tool;

/// What SARIF says about a rule, from the rule registry.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub summary: String,
    /// The rule's full documentation (`--explain`), Markdown.
    pub doc: String,
    pub severity: Severity,
}

/// Where the report's files sit inside the repository.
#[derive(Debug, Clone, Default)]
pub struct SarifOptions<'a> {
    /// The report root relative to the repository root, `/`-separated,
    /// empty or ending in `/` (`services/`): prefixed to every file.
    pub root_in_repo: &'a str,
    /// Absolute `file:` URI of the repository root, ending in `/`;
    /// `None` leaves `%SRCROOT%` for the uploader to bind.
    pub repo_root_uri: Option<&'a str>,
    pub information_uri: &'a str,
    pub rules: &'a [RuleInfo],
}

const SRCROOT: &str = "%SRCROOT%";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encodes what may not appear in a relative URI reference path.
fn uri_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `file:///abs/dir/` for an absolute directory path.
pub fn file_uri_of_dir(abs: &str) -> String {
    let p = abs.replace('\\', "/");
    let p = if p.starts_with('/') {
        p
    } else {
        format!("/{p}")
    };
    let mut uri = format!("file://{}", uri_path(&p));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

fn artifact(file: &str, opts: &SarifOptions<'_>) -> Value {
    json!({ "uri": uri_path(&format!("{}{file}", opts.root_in_repo)), "uriBaseId": SRCROOT })
}

/// The first paragraph of a rule doc after its title line.
fn first_paragraph(doc: &str) -> String {
    doc.split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty() && !p.starts_with('#'))
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn rule_json(r: &RuleInfo, opts: &SarifOptions<'_>) -> Value {
    let full = first_paragraph(&r.doc);
    json!({
        "id": r.id,
        // SARIF wants a name that is an identifier, not the id again.
        "name": r.id.split('-').map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        }).collect::<String>(),
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": if full.is_empty() { r.summary.clone() } else { full } },
        "help": { "text": r.doc, "markdown": r.doc },
        "helpUri": format!("{}#rules", opts.information_uri),
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": { "tags": ["service-mesh"] },
    })
}

fn result_json(f: &Finding, rule_index: usize, opts: &SarifOptions<'_>) -> Value {
    let values = f
        .values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let text = if values.is_empty() {
        format!("{} {}", end_sentence(&f.message), f.help)
    } else {
        format!("{} ({values}). {}", f.message, f.help)
    };
    let region = json!({
        "startLine": f.range.line,
        "startColumn": f.range.column,
        "endLine": f.range.end_line,
        "endColumn": f.range.end_column,
    });
    let suggestions: Vec<Value> = f
        .suggestions
        .iter()
        .map(|s| {
            let mut v = json!({ "kind": s.kind, "note": s.note });
            if let Some(y) = &s.yaml {
                v["yaml"] = json!(y);
            }
            if let Some(c) = &s.code {
                v["code"] = json!(c);
            }
            v
        })
        .collect();
    let fixes: Vec<Value> = f
        .suggestions
        .iter()
        .filter_map(|s| {
            let r = s.replacement.as_ref()?;
            Some(json!({
                "description": { "text": first_line(&s.note) },
                "artifactChanges": [{
                    "artifactLocation": artifact(&f.file, opts),
                    "replacements": [{
                        "deletedRegion": {
                            "startLine": r.line, "startColumn": r.column,
                            "endLine": r.end_line, "endColumn": r.end_column,
                        },
                        "insertedContent": { "text": r.text },
                    }],
                }],
            }))
        })
        .collect();
    let mut properties = json!({ "values": f.values, "suggestions": suggestions });
    if let Some(p) = &f.package {
        properties["package"] = json!(p);
    }
    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [{
            "physicalLocation": { "artifactLocation": artifact(&f.file, opts), "region": region }
        }],
        "partialFingerprints": { "meshAuditFingerprint/v1": f.fingerprint },
        "properties": properties,
    });
    if !fixes.is_empty() {
        result["fixes"] = json!(fixes);
    }
    result
}

fn end_sentence(s: &str) -> String {
    if s.ends_with(['.', '!', '?']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// The whole log. Files that could not be analysed are tool execution
/// notifications: the run still succeeded, they are not code alerts.
pub fn sarif_json(report: &Report, tool: Tool<'_>, opts: &SarifOptions<'_>) -> Value {
    let rules: Vec<Value> = opts.rules.iter().map(|r| rule_json(r, opts)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .filter_map(|f| {
            let i = opts.rules.iter().position(|r| r.id == f.rule)?;
            Some(result_json(f, i, opts))
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut n = json!({ "level": "error", "message": { "text": e.message } });
            if !e.file.is_empty() {
                let mut loc = json!({ "artifactLocation": artifact(&e.file, opts) });
                if let Some(line) = e.line {
                    loc["region"] =
                        json!({ "startLine": line, "startColumn": e.column.unwrap_or(1) });
                }
                n["locations"] = json!([{ "physicalLocation": loc }]);
            }
            n
        })
        .collect();
    let mut srcroot = json!({ "description": { "text": "The root of the repository (or of the audit when it is not in a Git repository)." } });
    if let Some(uri) = opts.repo_root_uri {
        srcroot["uri"] = json!(uri);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": tool.name,
                "version": tool.version,
                "semanticVersion": tool.version,
                "informationUri": opts.information_uri,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "originalUriBaseIds": { SRCROOT: srcroot },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

pub fn render_sarif(report: &Report, tool: Tool<'_>, opts: &SarifOptions<'_>) -> String {
    let mut s = serde_json::to_string_pretty(&sarif_json(report, tool, opts)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_relative_references() {
        assert_eq!(uri_path("a b/ü.rs"), "a%20b/%C3%BC.rs");
        assert_eq!(file_uri_of_dir("/work/my repo"), "file:///work/my%20repo/");
        assert_eq!(
            first_paragraph("# x\n\nFinds  a\nthing.\n\nMore."),
            "Finds a thing."
        );
    }
}
