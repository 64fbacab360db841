//! The rule registry. One rule, one file: each file opens with the `//!` doc
//! that `--explain` prints, and exposes a `RULE` that this registry lists.
//!
//! Architecture invariant: rules do no I/O. A rule sees one parsed file, the
//! crate index built from every file's summary, and its own options; it
//! returns plain `Violation`s. The engine adds severity, suppression, test-code
//! filtering and fingerprints.

use std::collections::BTreeMap;

use mesh_audit_model::{Severity, TextRange};

use crate::analysis::FileCtx;
use crate::config::RuleConfig;

pub(crate) mod circuit_breaker;
mod egress_tls;
mod ephemeral_port;
mod exit_after_bind;
mod hand_rolled_tls;
mod health_check_calls_downstream;
mod in_code_metrics;
mod loopback_bind;
mod missing_graceful_shutdown;
mod missing_health_endpoint;
pub(crate) mod retry_crate;
mod retry_loop;
mod timeout_wrapper;

/// What a rule's `[rules.<id>]` option accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Bool,
    Integer,
    String,
    StringList,
}

impl OptionKind {
    pub fn describe(self) -> &'static str {
        match self {
            OptionKind::Bool => "true or false",
            OptionKind::Integer => "a non-negative integer",
            OptionKind::String => "a string",
            OptionKind::StringList => "an array of strings",
        }
    }
}

/// Clippy-style groups; they make `--list-rules` readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Client-side policy that the mesh owns (retries, deadlines, breakers).
    Resilience,
    /// Servers the sidecar cannot reach or that leave it routing to nothing.
    Networking,
    /// Transport security that fights the mesh's mTLS.
    Security,
    /// Request telemetry the sidecar already reports.
    Telemetry,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Resilience => "resilience",
            Category::Networking => "networking",
            Category::Security => "security",
            Category::Telemetry => "telemetry",
        }
    }
}

/// Static description of a rule.
pub struct RuleMeta {
    pub id: &'static str,
    pub severity: Severity,
    pub enabled: bool,
    pub category: Category,
    pub summary: &'static str,
    /// The rule file's source; its leading `//!` block is the documentation.
    source: &'static str,
    /// The rule's own options: name, kind, one-line description.
    pub options: &'static [(&'static str, OptionKind, &'static str)],
}

impl RuleMeta {
    /// The rule's documentation: the `//!` block that opens its file.
    pub fn doc(&self) -> String {
        let mut out = String::new();
        for line in self.source.lines() {
            let Some(rest) = line.strip_prefix("//!") else {
                break;
            };
            out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            out.push('\n');
        }
        out
    }
}

/// What a rule reports; the engine turns it into a `Finding`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub range: TextRange,
    pub message: String,
    pub help: String,
    pub values: BTreeMap<String, String>,
    /// Value name → `file:line` of the configuration default it came from.
    pub sources: BTreeMap<String, String>,
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &FileCtx<'_>, config: &RuleConfig, out: &mut Vec<Violation>);
}

/// Every rule, in `--list-rules` order.
pub fn all() -> &'static [&'static dyn Rule] {
    &[
        &loopback_bind::LoopbackBind,
        &ephemeral_port::EphemeralPort,
        &retry_loop::RetryLoopRule,
        &retry_crate::RetryCrate,
        &timeout_wrapper::TimeoutWrapper,
        &circuit_breaker::CircuitBreaker,
        &hand_rolled_tls::HandRolledTls,
        &egress_tls::EgressTls,
        &exit_after_bind::ExitAfterBind,
        &missing_graceful_shutdown::MissingGracefulShutdown,
        &missing_health_endpoint::MissingHealthEndpoint,
        &health_check_calls_downstream::HealthCheckCallsDownstream,
        &in_code_metrics::InCodeMetrics,
    ]
}

pub fn lookup(id: &str) -> Option<&'static RuleMeta> {
    all().iter().map(|r| r.meta()).find(|m| m.id == id)
}

/// Declares a rule's metadata next to its doc comment.
macro_rules! rule_meta {
    ($id:literal, $sev:ident, $cat:ident, $summary:literal, $file:literal $(, options: $opts:expr)? $(, enabled: $on:expr)?) => {
        pub(crate) static META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            id: $id,
            severity: mesh_audit_model::Severity::$sev,
            enabled: rule_meta!(@on $($on)?),
            category: $crate::rules::Category::$cat,
            summary: $summary,
            source: include_str!($file),
            options: rule_meta!(@opts $($opts)?),
        };
    };
    (@on) => { true };
    (@on $on:expr) => { $on };
    (@opts) => { &[] };
    (@opts $opts:expr) => { $opts };
}
pub(crate) use rule_meta;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_is_documented() {
        let mut ids = std::collections::BTreeSet::new();
        for rule in all() {
            let m = rule.meta();
            assert!(ids.insert(m.id), "duplicate id {}", m.id);
            assert!(
                m.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                m.id
            );
            let doc = m.doc();
            for section in [
                "## What it finds",
                "## Why",
                "## Example",
                "## Use instead",
                "## Mesh config",
            ] {
                assert!(doc.contains(section), "{} doc lacks {section}", m.id);
            }
        }
    }
}
