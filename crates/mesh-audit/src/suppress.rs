//! Suppression comments, the one place where source text is matched as text:
//!
//! ```text
//! // mesh-audit: allow(retry-loop, timeout-wrapper) -- the mesh does not front this host
//! // mesh-audit: allow-file(loopback-bind) -- a dev-only admin server
//! ```
//!
//! `allow` applies to findings that start on the same line (trailing
//! comment) or on the first code line below a run of comment lines.

use std::collections::{BTreeSet, HashMap};

use mesh_audit_model::SuppressionNote;

#[derive(Debug, Default)]
pub struct Suppressions {
    /// Line (1-based) a directive applies to → rule ids.
    by_line: HashMap<u32, Vec<String>>,
    file_wide: BTreeSet<String>,
    pub notes: Vec<SuppressionNote>,
}

impl Suppressions {
    pub fn parse(text: &str, file: &str, is_rule: &dyn Fn(&str) -> bool) -> Suppressions {
        let mut s = Suppressions::default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            // Not the first `//` of the line: code before a trailing comment may hold a URL.
            let directive = line.match_indices("//").find_map(|(pos, _)| {
                let comment = line[pos + 2..].trim_start_matches(['/', '!']).trim();
                comment.strip_prefix("mesh-audit:").map(|rest| (pos, rest))
            });
            let Some((pos, rest)) = directive else { continue };
            let rest = rest.trim();
            let (file_wide, rest) = if let Some(r) = rest.strip_prefix("allow-file") {
                (true, r)
            } else if let Some(r) = rest.strip_prefix("allow") {
                (false, r)
            } else {
                continue;
            };
            let lineno = i as u32 + 1;
            let Some(open) = rest.trim_start().strip_prefix('(') else { continue };
            let Some((ids, after)) = open.split_once(')') else { continue };
            let reason = after.trim().strip_prefix("--").map(str::trim).unwrap_or("");
            let mut rules = Vec::new();
            for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                if is_rule(id) {
                    rules.push(id.to_string());
                } else {
                    s.notes.push(SuppressionNote {
                        file: file.to_string(),
                        line: lineno,
                        kind: "unknown-rule",
                        message: format!("unknown rule `{id}` in suppression comment (see --list-rules)"),
                    });
                }
            }
            if reason.is_empty() {
                s.notes.push(SuppressionNote {
                    file: file.to_string(),
                    line: lineno,
                    kind: "missing-reason",
                    message: "suppression without a reason; add `-- why` after the rule list".into(),
                });
            }
            if file_wide {
                s.file_wide.extend(rules);
                continue;
            }
            let code_before = line[..pos].trim();
            let target = if !code_before.is_empty() {
                lineno
            } else {
                // The first line below that is not itself a comment or attribute.
                let mut j = i + 1;
                while j < lines.len() {
                    let t = lines[j].trim();
                    if !(t.is_empty() || t.starts_with("//") || t.starts_with("#[")) {
                        break;
                    }
                    j += 1;
                }
                j as u32 + 1
            };
            s.by_line.entry(target).or_default().extend(rules);
        }
        s
    }

    pub fn allows(&self, rule: &str, line: u32) -> bool {
        self.file_wide.contains(rule) || self.by_line.get(&line).is_some_and(|r| r.iter().any(|x| x == rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Suppressions {
        Suppressions::parse(text, "src/main.rs", &|id| id == "loopback-bind" || id == "ephemeral-port")
    }

    #[test]
    fn line_above_and_trailing() {
        let s = parse("// mesh-audit: allow(loopback-bind) -- dev only\nlet l = bind();\nlet m = bind(); // mesh-audit: allow(ephemeral-port) -- tests\n");
        assert!(s.allows("loopback-bind", 2));
        assert!(!s.allows("loopback-bind", 3));
        assert!(s.allows("ephemeral-port", 3));
        assert!(s.notes.is_empty());
    }

    #[test]
    fn file_wide_unknown_and_missing_reason() {
        let s = parse("// mesh-audit: allow-file(loopback-bind)\n// mesh-audit: allow(retry-everything) -- x\n");
        assert!(s.allows("loopback-bind", 40));
        let kinds: Vec<_> = s.notes.iter().map(|n| (n.line, n.kind)).collect();
        assert_eq!(kinds, [(1, "missing-reason"), (2, "unknown-rule")]);
    }
}
