//! Plain data that flows out of the engine: findings, their positions and
//! suggestions, and the errors met on the way. Nothing here knows about any
//! output format; `mesh-audit-render` serialises these types.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// How loud a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source range, already detached from any syntax tree: 1-based lines,
/// 1-based columns counted in characters, end exclusive (as rustc and SARIF),
/// plus byte offsets for tools that want them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
pub struct TextRange {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub byte_start: u32,
    pub byte_end: u32,
}

/// A machine-applicable (or not) edit of the user's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    #[serde(skip)]
    pub byte_start: u32,
    #[serde(skip)]
    pub byte_end: u32,
    pub text: String,
    /// `MachineApplicable`, `MaybeIncorrect`, `HasPlaceholders` (rustc's names).
    pub applicability: String,
}

/// What replaces the code of a finding: a mesh resource or a code change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// `VirtualService`, `DestinationRule`, `PeerAuthentication` or `code`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub note: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
}

/// One reported problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Relative to the audit root, `/` separators.
    pub file: String,
    #[serde(flatten)]
    pub range: TextRange,
    /// What was read from the code (retries, timeout, host, port, ...).
    pub values: BTreeMap<String, String>,
    /// For values that are configuration defaults, where the default is
    /// written: `"timeout": "src/settings.rs:131"`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
    /// How to fix it; one line.
    pub help: String,
    pub suggestions: Vec<Suggestion>,
    /// Stable across edits elsewhere in the file: rule + file + normalised code.
    pub fingerprint: String,
    /// The package the file belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

impl Finding {
    pub fn value(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The order every report uses.
    pub fn sort_key(&self) -> (&str, u32, u32, &str) {
        (&self.file, self.range.line, self.range.column, self.rule)
    }
}

/// A file (or the run) that could not be analysed completely.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AuditError {
    /// Relative to the audit root where possible; empty for run-wide errors.
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    pub message: String,
}

/// A suppression comment that carries something worth telling the user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SuppressionNote {
    pub file: String,
    pub line: u32,
    /// `unknown-rule` (always shown) or `missing-reason` (shown with `-v`).
    pub kind: &'static str,
    pub message: String,
}

/// Everything one audit produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Absolute root that `file` paths are relative to.
    pub root: String,
    pub findings: Vec<Finding>,
    pub errors: Vec<AuditError>,
    /// Suppressions without a reason, or naming unknown rules.
    pub suppression_notes: Vec<SuppressionNote>,
    pub files_scanned: usize,
    pub elapsed_ms: u128,
    /// Workspace packages and the deployment scope each was given (cargo
    /// mode only): which were audited and why.
    pub packages: Vec<PackageScope>,
    /// Files under an audited package that no target compiles (orphans);
    /// not audited, listed with `-v`.
    pub unreached_files: Vec<String>,
    /// The cargo packages audited (cargo mode only), for formats that name
    /// packages and targets as cargo does; not part of the JSON report.
    #[serde(skip)]
    pub cargo_packages: Vec<CargoPackage>,
    /// Absolute paths of every file the audit read as input (sources and
    /// configuration): the report must never be written over one.
    #[serde(skip)]
    pub inputs: Vec<std::path::PathBuf>,
    /// `.rs` files inside the tree that are symbolic links, not followed
    /// (relative to `root`); listed with `-v`.
    #[serde(skip)]
    pub skipped_links: Vec<String>,
}

/// What a package is in the deployment model, and whether it was audited.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PackageScope {
    pub name: String,
    /// `service`, `library`, `job`, `dev`, `unknown` or `skip`.
    pub scope: String,
    /// Why, in words (`bin `api` starts a server`, `reached only through
    /// dev-dependencies of orders`, `[package.metadata.mesh-audit] scope`).
    pub why: String,
    pub audited: bool,
}

/// A workspace member as `cargo metadata` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoPackage {
    pub name: String,
    /// Cargo's package id (`path+file:///...#name@0.1.0`).
    pub id: String,
    /// Absolute path of the package's `Cargo.toml`.
    pub manifest_path: String,
    pub targets: Vec<CargoTarget>,
}

/// One build target of a package, with the fields cargo prints in a
/// `compiler-message`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoTarget {
    pub name: String,
    pub kind: Vec<String>,
    pub crate_types: Vec<String>,
    /// Absolute path of the target's root source file.
    pub src_path: String,
    pub edition: String,
    pub doc: bool,
    pub doctest: bool,
    pub test: bool,
}

impl Report {
    /// Deterministic order for every renderer.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            a.sort_key()
                .cmp(&b.sort_key())
                .then_with(|| a.range.cmp(&b.range))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        self.errors.sort();
        self.suppression_notes.sort();
        self.packages.sort();
        self.unreached_files.sort();
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn by_rule(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.rule).or_insert(0) += 1;
        }
        m
    }
}
