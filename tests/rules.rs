//! UI tests for rules, clippy-style: every `fixtures/rules/<rule>/<case>.rs`
//! sits beside `<case>.expected`, which lists the exact findings that rule
//! produces on it (line:column, rule, every value). A diff shows what
//! changed; `BLESS=1 cargo test --test rules` rewrites the expectations.
//!
//! Each fixture is audited as a plain path with only its rule selected, so a
//! negative fixture's `.expected` is empty and proves the rule stays quiet.
//! A folder case whose `Cargo.toml` is a `[workspace]` is audited through
//! cargo instead, for facts that cross crates.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use mesh_audit::{AuditOptions, Target};

/// One line per finding; a folder case (a small crate whose facts cross
/// files) names the file too, relative to the case folder.
fn render(findings: &[mesh_audit::Finding], case_dir: Option<&str>) -> String {
    let mut out = String::new();
    for f in findings {
        // Values first, then where configuration defaults are written.
        let values: Vec<String> = f
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(f.sources.iter().map(|(k, v)| {
                let at = match case_dir {
                    Some(dir) => v.strip_prefix(dir).unwrap_or(v).trim_start_matches('/'),
                    None => v,
                };
                format!("source:{k}={at}")
            }))
            .collect();
        let file = match case_dir {
            Some(dir) => format!(
                "{}:",
                f.file
                    .strip_prefix(dir)
                    .unwrap_or(&f.file)
                    .trim_start_matches('/')
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{file}{}:{} {} {}",
            f.range.line,
            f.range.column,
            f.rule,
            values.join(" ")
        );
    }
    out
}

fn cases() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let mut out = Vec::new();
    for rule_dir in std::fs::read_dir(&root).expect("fixtures/rules exists") {
        let rule_dir = rule_dir.unwrap().path();
        // Notes beside the rule folders (COVERAGE.md) are not cases.
        if !rule_dir.is_dir() {
            continue;
        }
        let rule = rule_dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&rule_dir).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "rs") || p.is_dir() {
                out.push((rule.clone(), p));
            }
        }
    }
    out.sort();
    out
}

/// Runs one rule over one fixture and returns its findings.
pub fn run_rule(rule: &str, file: &Path) -> Vec<mesh_audit::Finding> {
    let opts = AuditOptions {
        select: Some(vec![rule.to_string()]),
        threads: 1,
        ..Default::default()
    };
    // A folder case that is a cargo workspace is audited through cargo, so
    // that facts cross its crates as they do on a real workspace.
    let manifest = file.join("Cargo.toml");
    let target = match std::fs::read_to_string(&manifest) {
        Ok(text) if text.contains("[workspace]") => Target::Cargo {
            manifest_path: Some(manifest),
            packages: Vec::new(),
            exclude: Vec::new(),
            workspace: true,
        },
        _ => Target::Paths(vec![file.to_path_buf()]),
    };
    let (report, _) = mesh_audit::audit(&target, &opts).expect("audit runs");
    assert!(
        report.errors.is_empty(),
        "{}: {:?}",
        file.display(),
        report.errors
    );
    report.findings
}

#[test]
fn rule_fixtures_match_expectations() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(!cases.is_empty(), "no rule fixtures found");
    for (rule, path) in &cases {
        assert!(
            mesh_audit::rules::lookup(rule).is_some(),
            "fixture folder for unknown rule {rule}"
        );
        let case_dir = path.is_dir().then(|| {
            path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        });
        let got = render(&run_rule(rule, path), case_dir.as_deref());
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} is missing; run with BLESS=1 to create it",
                expected_path.display()
            )
        });
        if got != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}+++ got\n{got}",
                path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(path)
                    .display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "rule fixtures differ (BLESS=1 to accept):\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_rule_has_positive_and_negative_fixtures() {
    let cases = cases();
    for rule in mesh_audit::rules::all() {
        let id = rule.meta().id;
        let mine: Vec<_> = cases.iter().filter(|(r, _)| r == id).collect();
        let positives = mine
            .iter()
            .filter(|(_, p)| !run_rule(id, p).is_empty())
            .count();
        let negatives = mine
            .iter()
            .filter(|(_, p)| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("negative")
            })
            .count();
        assert!(positives > 0, "{id} has no fixture where it fires");
        assert!(negatives > 0, "{id} has no negative fixture");
    }
}

/// Values do not say whether a loop is bounded; the message does. A count
/// compared in a tuple `match` (`(Err(e), false) => return ..`) bounds the
/// loop even when the count itself is not known.
#[test]
fn counted_loops_without_a_known_count_are_not_called_unbounded() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/retry-loop/helper-forward");
    let findings = run_rule("retry-loop", &dir);
    let counted = findings
        .iter()
        .find(|f| f.file.ends_with("src/pool.rs") && f.range.line == 36)
        .expect("the tuple-match loop is reported");
    assert!(
        !counted.values.contains_key("retries"),
        "{:?}",
        counted.values
    );
    assert!(
        !counted.message.contains("unbounded"),
        "{}",
        counted.message
    );
}

/// A loop bounded by a time budget or by a retry-policy iterator
/// (`while let Some(delay) = delays.next()`) has no fixed count, but it is
/// not unbounded; a bare `loop` that leaves only on success is.
#[test]
fn loops_bounded_by_a_budget_or_a_policy_iterator_are_not_called_unbounded() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/rules/retry-loop/positive-state-machines.rs");
    let findings = run_rule("retry-loop", &file);
    for line in [81, 99] {
        let f = findings
            .iter()
            .find(|f| f.range.line == line)
            .unwrap_or_else(|| panic!("the loop at line {line} is reported"));
        assert!(!f.values.contains_key("retries"), "{:?}", f.values);
        assert!(!f.message.contains("unbounded"), "{}", f.message);
    }

    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/retry-loop/positive.rs");
    let findings = run_rule("retry-loop", &file);
    let forever = findings
        .iter()
        .find(|f| f.range.line == 125)
        .expect("the loop without a bound is reported");
    assert!(
        forever.message.starts_with("unbounded retry loop"),
        "{}",
        forever.message
    );
}
