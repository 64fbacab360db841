//! Which files the rules need to see (pass 2).
//!
//! Most files of a repository cannot produce a finding: they start no
//! server, make no network call, set no deadline, hold no breaker state and
//! configure no TLS. Parsing them again and running thirteen rules over them
//! is most of an audit's time, so pass 2 takes a file only when one of these
//! holds:
//!
//! - its pass-1 summary shows network I/O or a server: a function that calls
//!   a client itself, a client or gRPC endpoint field, a bind or serve call,
//!   a route;
//! - its text names something the crate index knows does network I/O: a
//!   function or method whose calls (transitively) reach a client, a helper
//!   whose callers pass it a client call, a client field of another file's
//!   struct (this is what a file that only calls `self.api.fetch()` is
//!   reached by);
//! - its text holds a word that an active rule's analysis needs before it
//!   can fire (the rule's vocabulary below: `timeout` for a deadline,
//!   `retry`/`backoff` for a retry crate, `open`/`breaker` for breaker
//!   state, `tls`/`cert` for TLS set-up ...).
//!
//! The vocabularies are substrings, matched without regard to ASCII case,
//! and the names whole identifiers; comments count too. Both err towards
//! keeping a file: a kept file costs a parse, a dropped one a missed
//! finding. `--no-prefilter` runs every rule on every file, and
//! `bench/same-output.sh` checks that it changes no finding on the corpus.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::index::{CrateIndex, FileSummary};

/// Words a rule's analysis looks for before it can report anything in a
/// file, beyond the network evidence every file is checked for: the file
/// must hold a word of every group. When a rule learns a new trigger (a new
/// crate, a new API), its word goes here.
pub fn vocabulary(rule: &str) -> &'static [&'static [&'static str]] {
    match rule {
        // Servers: every lifecycle and bind rule starts from one (a server
        // the summary saw keeps the file anyway).
        "loopback-bind"
        | "ephemeral-port"
        | "exit-after-bind"
        | "missing-graceful-shutdown"
        | "missing-health-endpoint" => &[&["bind", "listen", "serve", "launch", "incoming"]],
        // Routes the summary saw keep the file; a health path named by a
        // constant is caught by the constant's name.
        "health-check-calls-downstream" => {
            &[&["health", "readyz", "livez", "readiness", "liveness"]]
        }
        // A loop around a network call: the network evidence decides.
        "retry-loop" => &[&["retry", "retries", "backoff", "reconnect"]],
        "retry-crate" => &[&[
            "retry",
            "backoff",
            "backon",
            "exponential",
            "fibonacci",
            "jitter",
            "max_times",
        ]],
        // `timeout(..)`, `.timeout(..)`, `connect_timeout`, `set_timeout`,
        // `TimeoutLayer`, `grpc-timeout`; a `select!` racing a `sleep`.
        "timeout-wrapper" => &[&["timeout", "deadline", "select"]],
        // An open state (or a breaker crate) and a failure count.
        "circuit-breaker" => &[
            &["breaker", "circuit", "failsafe", "recloser", "open", "trip"],
            &["fail", "error", "consecutive"],
        ],
        "hand-rolled-tls" | "egress-tls" => &[&["tls", "ssl", "cert", "identity", "pem"]],
        "in-code-metrics" => &[&[
            "metric",
            "prometheus",
            "opentelemetry",
            "otel",
            "statsd",
            "counter",
            "histogram",
            "gauge",
            "register",
        ]],
        // A rule this table does not know sees every file.
        _ => &[],
    }
}

/// Decides, per file, whether pass 2 runs the rules on it.
pub struct Prefilter {
    /// `None`: a rule without a vocabulary is active; every file passes.
    words: Option<AhoCorasick>,
    /// Per active rule, its groups as indexes into `words`' patterns.
    rules: Vec<Vec<Vec<usize>>>,
}

/// A suppression comment is read even where nothing fires: it may name an
/// unknown rule, which is reported.
const SUPPRESSION: &str = "mesh-audit:";

impl Prefilter {
    /// For the active rules, by id.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a str>) -> Prefilter {
        let mut words: Vec<&'static str> = vec![SUPPRESSION];
        let mut groups = Vec::new();
        for id in rules {
            let v = vocabulary(id);
            if v.is_empty() {
                return Prefilter {
                    words: None,
                    rules: Vec::new(),
                };
            }
            let rule: Vec<Vec<usize>> = v
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(|w| match words.iter().position(|x| x == w) {
                            Some(i) => i,
                            None => {
                                words.push(w);
                                words.len() - 1
                            }
                        })
                        .collect()
                })
                .collect();
            groups.push(rule);
        }
        let words = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)
            .ok();
        let rules = if words.is_some() { groups } else { Vec::new() };
        Prefilter { words, rules }
    }

    /// Whether the rules can report anything in a file with this text, in
    /// the crate `names` describes; `shows_network` is what
    /// [`summary_shows_network`] said of its summary.
    pub fn keeps(&self, shows_network: bool, text: &str, names: &NetworkNames) -> bool {
        let Some(words) = &self.words else {
            return true;
        };
        if shows_network || names.named_in(text) {
            return true;
        }
        let mut seen = vec![false; words.patterns_len()];
        for m in words.find_overlapping_iter(text) {
            seen[m.pattern().as_usize()] = true;
        }
        seen[0]
            || self
                .rules
                .iter()
                .any(|groups| groups.iter().all(|g| g.iter().any(|&i| seen[i])))
    }
}

/// Network or server evidence a file's own summary holds.
pub fn summary_shows_network(s: &FileSummary) -> bool {
    s.serves_at.is_some()
        || s.grpc_health
        || s.tonic_codegen
        || !s.route_paths.is_empty()
        || !s.client_fields.is_empty()
        || !s.endpoint_fields.is_empty()
        || !s.guarded_hosts.is_empty()
        || s.functions.iter().any(|f| f.net.is_some())
        || s.closure_args.iter().any(|c| c.net.is_some())
}

/// The identifiers through which a crate's code reaches the network:
/// functions and methods that (transitively) make network calls, helpers
/// that take a closure, client and endpoint fields, types that guard a host.
pub struct NetworkNames {
    /// `None`: the crate has no such name.
    names: Option<AhoCorasick>,
}

impl NetworkNames {
    pub fn of(index: &CrateIndex) -> NetworkNames {
        let mut names = index.network_names();
        names.sort_unstable();
        names.dedup();
        names.retain(|n| !n.is_empty());
        let names = (!names.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(&names)
                    .ok()
            })
            .flatten();
        NetworkNames { names }
    }

    /// Whether `text` holds one of the names as a whole identifier.
    fn named_in(&self, text: &str) -> bool {
        let Some(names) = &self.names else {
            return false;
        };
        let bytes = text.as_bytes();
        let ident = |b: u8| b == b'_' || b.is_ascii_alphanumeric();
        names.find_overlapping_iter(text).any(|m| {
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            !before.is_some_and(ident) && !after.is_some_and(ident)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_vocabulary() {
        for rule in crate::rules::all() {
            let id = rule.meta().id;
            assert!(
                !vocabulary(id).is_empty(),
                "rule `{id}` has no prefilter vocabulary: add its trigger words"
            );
        }
    }

    #[test]
    fn unknown_rules_see_every_file() {
        let p = Prefilter::new(["no-such-rule"]);
        let names = NetworkNames { names: None };
        assert!(p.keeps(false, "", &names));
    }

    #[test]
    fn words_match_any_case_and_names_whole_identifiers() {
        let p = Prefilter::new(["timeout-wrapper"]);
        let none = NetworkNames { names: None };
        assert!(p.keeps(false, "let t = ConnectTimeout::new();", &none));
        assert!(!p.keeps(false, "fn add(a: u8, b: u8) -> u8 { a + b }", &none));
        assert!(p.keeps(true, "fn add(a: u8, b: u8) -> u8 { a + b }", &none));
        assert!(p.keeps(false, "// mesh-audit: allow(no-such-rule)", &none));
        let names = NetworkNames {
            names: AhoCorasickBuilder::new().build(["fetch_user"]).ok(),
        };
        assert!(p.keeps(
            false,
            "for id in ids { api.fetch_user(id).await?; }",
            &names
        ));
        assert!(!p.keeps(false, "fn prefetch_users() {}", &names));
    }

    #[test]
    fn every_group_of_a_rule_must_match() {
        let p = Prefilter::new(["circuit-breaker"]);
        let none = NetworkNames { names: None };
        assert!(!p.keeps(false, "let f = File::open(path)?;", &none));
        assert!(p.keeps(
            false,
            "enum State { Closed, Open } struct B { failures: u32 }",
            &none
        ));
    }
}
