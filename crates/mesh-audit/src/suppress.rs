//! Suppression comments, the one place where source text is matched as text:
//!
//! ```text
//! // mesh-audit: allow(retry-loop, timeout-wrapper) -- the mesh does not front this host
//! // mesh-audit: allow-file(loopback-bind) -- a dev-only admin server
//! ```
//!
//! `allow` applies to findings that start on the same line (trailing
//! comment) or on the first code line below a run of comment lines.

use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

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
        // Every directive spells this out; most files have none.
        if !text.contains("mesh-audit:") {
            return s;
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            // Not the first `//` of the line: code before a trailing comment may hold a URL.
            let directive = line.match_indices("//").find_map(|(pos, _)| {
                let comment = line[pos + 2..].trim_start_matches(['/', '!']).trim();
                comment.strip_prefix("mesh-audit:").map(|rest| (pos, rest))
            });
            let Some((pos, rest)) = directive else {
                continue;
            };
            let rest = rest.trim();
            let (file_wide, rest) = if let Some(r) = rest.strip_prefix("allow-file") {
                (true, r)
            } else if let Some(r) = rest.strip_prefix("allow") {
                (false, r)
            } else {
                continue;
            };
            let lineno = i as u32 + 1;
            let Some(open) = rest.trim_start().strip_prefix('(') else {
                continue;
            };
            let Some((ids, after)) = open.split_once(')') else {
                continue;
            };
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
                        message: format!(
                            "unknown rule `{id}` in suppression comment (see --list-rules)"
                        ),
                    });
                }
            }
            if reason.is_empty() {
                s.notes.push(SuppressionNote {
                    file: file.to_string(),
                    line: lineno,
                    kind: "missing-reason",
                    message: "suppression without a reason; add `-- why` after the rule list"
                        .into(),
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
            // A comment above a statement covers the whole statement, so
            // that a rustfmt-style chain (`HttpServer::new(..)` on one line,
            // `.bind(..)` a few lines down) is covered too.
            let last = if code_before.is_empty() {
                statement_end(&lines, target as usize - 1)
            } else {
                target as usize - 1
            };
            for l in target..=last as u32 + 1 {
                s.by_line
                    .entry(l)
                    .or_default()
                    .extend(rules.iter().cloned());
            }
        }
        s
    }

    pub fn allows(&self, rule: &str, line: u32) -> bool {
        self.file_wide.contains(rule)
            || self
                .by_line
                .get(&line)
                .is_some_and(|r| r.iter().any(|x| x == rule))
    }
}

/// Index of the last line of the statement starting at line index `start`:
/// brackets balanced and the line ends with `;` or `,`. A block header
/// (`for x in y {`) is a statement of one line: findings of loops point at
/// their keyword. Bounded, so a stray bracket cannot cover a whole file.
fn statement_end(lines: &[&str], start: usize) -> usize {
    let mut depth: i32 = 0;
    for (k, line) in lines.iter().enumerate().skip(start).take(40) {
        let code = line.split("//").next().unwrap_or("");
        let mut in_str = false;
        for c in code.chars() {
            match c {
                '"' => in_str = !in_str,
                '(' | '[' | '{' if !in_str => depth += 1,
                ')' | ']' | '}' if !in_str => depth -= 1,
                _ => {}
            }
        }
        let t = code.trim_end();
        if k == start && t.ends_with('{') && depth == 1 {
            return start;
        }
        if depth <= 0 && (t.ends_with(';') || t.ends_with(',') || t.ends_with('}')) {
            return k;
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Suppressions {
        Suppressions::parse(text, "src/main.rs", &|id| {
            id == "loopback-bind" || id == "ephemeral-port"
        })
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
    fn covers_a_multi_line_statement_but_not_the_next() {
        let text = "// mesh-audit: allow(loopback-bind) -- admin\nlet s = HttpServer::new(|| {\n    App::new()\n})\n.bind(\"127.0.0.1:1\")?;\nlet t = bind();\n";
        let s = parse(text);
        assert!(s.allows("loopback-bind", 2));
        assert!(s.allows("loopback-bind", 5));
        assert!(!s.allows("loopback-bind", 6));
        let s =
            parse("// mesh-audit: allow(loopback-bind) -- x\nfor i in 0..3 {\n    bind();\n}\n");
        assert!(s.allows("loopback-bind", 2));
        assert!(!s.allows("loopback-bind", 3));
    }

    #[test]
    fn file_wide_unknown_and_missing_reason() {
        let s = parse("// mesh-audit: allow-file(loopback-bind)\n// mesh-audit: allow(retry-everything) -- x\n");
        assert!(s.allows("loopback-bind", 40));
        let kinds: Vec<_> = s.notes.iter().map(|n| (n.line, n.kind)).collect();
        assert_eq!(kinds, [(1, "missing-reason"), (2, "unknown-rule")]);
    }
}
