//! Baselines: `--write-baseline FILE` records the current findings by
//! fingerprint; `--baseline FILE` drops the findings it records and reports
//! the rest. A baseline is a multiset: two identical findings need two
//! entries, so a third copy of the same snippet is new.
//!
//! Fingerprints hash rule, file, enclosing item, normalised code and an
//! occurrence index (see `mesh_audit::fingerprint`), so entries keep
//! matching after edits above the finding and re-formatting.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use mesh_audit::Finding;
use serde_json::{json, Value};

/// Bumped if the file's meaning changes; older files are refused, not misread.
const BASELINE_VERSION: u64 = 1;

pub struct Baseline {
    /// Fingerprint → how many findings with it are known.
    counts: HashMap<String, usize>,
    /// The entries, in file order, for writing.
    entries: Vec<Value>,
}

/// What applying a baseline did.
pub struct Outcome {
    /// Findings the baseline knew, left out of the report.
    pub known: usize,
    /// Baseline entries that matched no finding (fixed, or changed).
    pub stale: usize,
}

impl Baseline {
    pub fn of(findings: &[Finding]) -> Baseline {
        let mut counts = HashMap::new();
        let entries = findings
            .iter()
            .map(|f| {
                *counts.entry(f.fingerprint.clone()).or_insert(0) += 1;
                // Rule, file, line and message make the file reviewable;
                // only the fingerprint is matched.
                json!({
                    "fingerprint": f.fingerprint,
                    "rule": f.rule,
                    "file": f.file,
                    "line": f.range.line,
                    "message": f.message,
                })
            })
            .collect();
        Baseline { counts, entries }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let doc = json!({
            "version": BASELINE_VERSION,
            "tool": "cargo-mesh-audit",
            "findings": self.entries,
        });
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let bad =
            |what: &str| anyhow::anyhow!("{}: not a mesh-audit baseline: {what}", path.display());
        let doc: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        match doc.get("version").and_then(Value::as_u64) {
            Some(BASELINE_VERSION) => {}
            Some(v) => return Err(bad(&format!("version {v}, expected {BASELINE_VERSION}"))),
            None => return Err(bad("no `version`")),
        }
        let list = doc
            .get("findings")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no `findings` array"))?;
        let mut counts = HashMap::new();
        for entry in list {
            let fp = entry
                .get("fingerprint")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("an entry without a `fingerprint` string"))?;
            *counts.entry(fp.to_string()).or_insert(0) += 1;
        }
        Ok(Baseline {
            counts,
            entries: list.clone(),
        })
    }

    /// Drops the known findings (each entry matches one finding).
    pub fn filter(&self, findings: &mut Vec<Finding>) -> Outcome {
        let mut left = self.counts.clone();
        let before = findings.len();
        findings.retain(|f| match left.get_mut(&f.fingerprint) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        });
        Outcome {
            known: before - findings.len(),
            stale: left.values().sum(),
        }
    }
}
