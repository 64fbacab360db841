//! Which files the rules need to see (pass 2).
//!
//! Most files of a repository cannot produce a finding: they start no
//! server, retry nothing, set no deadline, hold no breaker state and
//! configure no TLS. Parsing them again and running thirteen rules over them
//! is most of an audit's time, so pass 2 takes a file only when one of these
//! holds:
//!
//! - its text holds the words an active rule's analysis needs before it can
//!   fire (the rule's vocabulary below: `timeout` for a deadline,
//!   `retry`/`backoff` for a retry crate, an open state and a failure for
//!   breaker state, `tls`/`cert` for TLS set-up, `bind`/`serve` for a
//!   server ...), each as a whole word or a whole part of an identifier
//!   (`connect_timeout`, `TimeoutLayer`, `grpc-timeout`; not `reserve` for
//!   `serve`, not `certain` for `cert`);
//! - its pass-1 summary shows a server or a route;
//! - for the rules that follow network calls without a word of their own
//!   (a retry loop is a loop around a network call, `egress-tls` a call to an
//!   `https://` URL): the file loops (retry loops) and makes a network call
//!   itself (its summary says so) or names something the crate index knows
//!   does network I/O: a function or method whose calls (transitively)
//!   reach a client, a client field of another file's struct (this is what a
//!   file that only calls `self.api.fetch()` in a loop is reached by);
//! - it names a helper the crate's callers hand network calls to (a retry
//!   helper, reported where it is called) or a type that guards a host (a
//!   breaker), or holds a suppression comment.
//!
//! A kept file runs only the rules that a prefilter for each rule alone
//! would keep it for ([`Prefilter::rules_for`]): most files are kept for one
//! word of one rule, and the other rules' walks over their trees were a
//! good part of pass 2.
//!
//! Every test errs towards keeping a file: a kept file costs a parse, a
//! dropped one a missed finding. `--no-prefilter` runs every rule on every
//! file, and `bench/same-output.sh` checks that it changes no finding on the
//! corpus and on real service repositories.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::index::{CrateIndex, FileSummary};

/// Words a rule's analysis looks for before it can report anything in a
/// file: the file must hold a word of every group, as a whole word or
/// identifier part, in any case. When a rule learns a new trigger (a new
/// crate, a new API), its word goes here; inflections are spelled out
/// (`retries`, `retried`), since `retry` does not match inside `retrying`.
pub fn vocabulary(rule: &str) -> &'static [&'static [&'static str]] {
    const SERVERS: &[&str] = &[
        "bind", "listen", "listener", "serve", "server", "launch", "incoming",
    ];
    const TLS: &[&str] = &[
        "tls",
        "ssl",
        "cert",
        "certs",
        "certificate",
        "certificates",
        "identity",
        "pem",
        "rustls",
        "openssl",
        "x509",
        "pkcs12",
    ];
    match rule {
        // Servers: every lifecycle and bind rule starts from one (a server
        // or a route the summary saw keeps the file anyway).
        "loopback-bind"
        | "ephemeral-port"
        | "missing-graceful-shutdown"
        | "missing-health-endpoint" => &[SERVERS],
        "exit-after-bind" => &[&[
            "bind", "listen", "listener", "serve", "server", "launch", "incoming", "exit",
        ]],
        // Routes the summary saw keep the file; a health path named by a
        // constant is caught by the constant's name.
        "health-check-calls-downstream" => &[&[
            "health",
            "healthz",
            "healthcheck",
            "readyz",
            "livez",
            "readiness",
            "liveness",
        ]],
        // A loop around a network call: the network evidence decides
        // ([`network_use`]); these words keep a file besides.
        "retry-loop" => &[&[
            "retry",
            "retries",
            "retrying",
            "retried",
            "retryable",
            "backoff",
            "reconnect",
            "reconnecting",
            "attempt",
            "attempts",
        ]],
        "retry-crate" => &[&[
            "retry",
            "retries",
            "retrying",
            "retried",
            "retryable",
            "backoff",
            "backon",
            "exponential",
            "fibonacci",
            "jitter",
            "max_times",
        ]],
        // `timeout(..)`, `.timeout(..)`, `connect_timeout`, `set_timeout`,
        // `TimeoutLayer`, `grpc-timeout`; a `select!` racing a `sleep`.
        "timeout-wrapper" => &[&[
            "timeout",
            "timeouts",
            "deadline",
            "deadlines",
            "select",
            "select_biased",
        ]],
        // An open state (or a breaker crate) and a failure.
        "circuit-breaker" => &[
            &[
                "breaker", "breakers", "circuit", "failsafe", "recloser", "open", "opened",
                "opens", "halfopen", "trip", "trips", "tripped", "cooldown",
            ],
            &[
                "fail",
                "fails",
                "failed",
                "failing",
                "failure",
                "failures",
                "err",
                "error",
                "errors",
                "consecutive",
            ],
        ],
        "hand-rolled-tls" => &[TLS],
        // An `https://` URL may be a constant of another file: its network
        // evidence keeps a calling file ([`network_use`]).
        "egress-tls" => &[TLS],
        "in-code-metrics" => &[&[
            "metric",
            "metrics",
            "prometheus",
            "opentelemetry",
            "otel",
            "statsd",
            "counter",
            "counters",
            "histogram",
            "histograms",
            "gauge",
            "gauges",
            "register",
            "registry",
            "meter",
        ]],
        // A rule this table does not know sees every file.
        _ => &[],
    }
}

/// What network evidence keeps a file for a rule, besides its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NetworkUse {
    /// None: the words decide.
    Never,
    /// A network call and a loop in the same file (a retry loop).
    InLoop,
    /// Any network call (`egress-tls`: an `https://` URL may be a constant
    /// of another file).
    Any,
}

/// The network evidence a rule needs beyond its vocabulary.
pub fn network_use(rule: &str) -> NetworkUse {
    match rule {
        "retry-loop" => NetworkUse::InLoop,
        "egress-tls" => NetworkUse::Any,
        _ => NetworkUse::Never,
    }
}

/// Decides, per file, whether pass 2 runs the rules on it, and which.
pub struct Prefilter {
    /// `None`: a rule without a vocabulary is active; every file passes.
    words: Option<AhoCorasick>,
    /// Per active rule, in the order given: its groups as indexes into
    /// `words`' patterns, and the network evidence it can use.
    rules: Vec<(Vec<Vec<usize>>, NetworkUse)>,
    /// How many rules are active.
    count: usize,
}

/// A suppression comment is read even where nothing fires: it may name an
/// unknown rule, which is reported.
const SUPPRESSION: &str = "mesh-audit:";

/// The vocabulary words (by pattern index) a file's text holds as whole
/// words or identifier parts: read in pass 1, where the text is at hand, so
/// that pass 2 can decide on most files without reading them again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Words {
    bits: [u64; 4],
    /// A pattern index past what `bits` holds was seen: the words cannot
    /// decide, and the file is kept (see [`Prefilter::rules_for_words`]).
    overflow: bool,
}

impl Words {
    fn set(&mut self, i: usize) {
        match self.bits.get_mut(i / 64) {
            Some(b) => *b |= 1 << (i % 64),
            None => self.overflow = true,
        }
    }

    fn has(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|b| b & (1 << (i % 64)) != 0)
    }
}

/// What a file's pass-1 summary says, for the prefilter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// It starts a server, declares a route or serves gRPC.
    pub server: bool,
    /// One of its functions or closures calls a client, or it declares a
    /// client field, an endpoint or a type that guards a host.
    pub network: bool,
    /// It holds a loop (see [`FileSummary::has_loop`]).
    pub loops: bool,
    /// The words its text held in pass 1, when the engine read them.
    pub words: Option<Words>,
}

impl Evidence {
    pub fn of(s: &FileSummary) -> Evidence {
        Evidence {
            server: s.serves_at.is_some()
                || s.grpc_health
                || s.tonic_codegen
                || !s.route_paths.is_empty(),
            network: !s.client_fields.is_empty()
                || !s.endpoint_fields.is_empty()
                || !s.guarded_hosts.is_empty()
                || s.functions.iter().any(|f| f.net.is_some())
                || s.closure_args.iter().any(|c| c.net.is_some()),
            loops: s.has_loop,
            words: s.prefilter_words,
        }
    }
}

impl Prefilter {
    /// For the active rules, by id.
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a str>) -> Prefilter {
        let mut words: Vec<&'static str> = vec![SUPPRESSION];
        let mut groups = Vec::new();
        let mut unknown = false;
        for id in rules {
            let v = vocabulary(id);
            unknown |= v.is_empty();
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
            groups.push((rule, network_use(id)));
        }
        let count = groups.len();
        let words = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)
            .ok()
            .filter(|_| !unknown);
        let rules = if words.is_some() { groups } else { Vec::new() };
        Prefilter {
            words,
            rules,
            count,
        }
    }

    /// Whether the rules can report anything in a file with this text and
    /// pass-1 evidence, in the crate `names` describes.
    pub fn keeps(&self, evidence: Evidence, text: &str, names: &NetworkNames) -> bool {
        self.rules_for(evidence, text, names).contains(&true)
    }

    /// Per active rule (in the order given to [`Prefilter::new`]), whether
    /// it can report anything in this file: exactly what a prefilter built
    /// for that rule alone would say, so a rule runs on a file only where
    /// `--select` of it alone would run it. A server, a named helper or a
    /// suppression comment still runs every rule.
    pub fn rules_for(&self, evidence: Evidence, text: &str, names: &NetworkNames) -> Vec<bool> {
        let words = evidence.words.unwrap_or_else(|| self.words_in(text));
        self.decide(evidence, words, Some(text), names)
            .unwrap_or_else(|| vec![true; self.count])
    }

    /// [`Prefilter::rules_for`] from the words pass 1 read in the file's
    /// text (`evidence.words`), without the text: `None` when the decision
    /// needs it (a name of the crate to look for could change it).
    pub fn rules_for_words(&self, evidence: Evidence, names: &NetworkNames) -> Option<Vec<bool>> {
        if self.words.is_some() && evidence.words.is_none() {
            return None;
        }
        self.decide(evidence, evidence.words.unwrap_or_default(), None, names)
    }

    /// The vocabulary words `text` holds (nothing when every file passes).
    pub fn words_in(&self, text: &str) -> Words {
        let mut seen = Words::default();
        let Some(words) = &self.words else {
            return seen;
        };
        let bytes = text.as_bytes();
        for m in words.find_overlapping_iter(text) {
            let i = m.pattern().as_usize();
            if i == 0 || word_part(bytes, m.start(), m.end()) {
                seen.set(i);
            }
        }
        seen
    }

    /// The decision from the file's words and evidence, reading `text`
    /// only for the crate's names and only where they could change it;
    /// `None` when they could and `text` is not given.
    fn decide(
        &self,
        evidence: Evidence,
        seen: Words,
        text: Option<&str>,
        names: &NetworkNames,
    ) -> Option<Vec<bool>> {
        if self.words.is_none() || seen.overflow || evidence.server || seen.has(0) {
            return Some(vec![true; self.count]);
        }
        // Where a network call can stand in for a rule's words: any call,
        // or a call in a file that loops.
        let by_network = |network: &NetworkUse| match network {
            NetworkUse::Any => true,
            NetworkUse::InLoop => evidence.loops,
            NetworkUse::Never => false,
        };
        let by_words: Vec<bool> = self
            .rules
            .iter()
            .map(|(groups, network)| {
                evidence.network && by_network(network)
                    || groups.iter().all(|g| g.iter().any(|&i| seen.has(i)))
            })
            .collect();
        if !by_words.contains(&false) {
            return Some(by_words);
        }
        // A named helper runs every rule.
        if !names.helpers.is_empty() && names.helpers.named_in(text?) {
            return Some(vec![true; self.count]);
        }
        // A name that reaches the network stands for a network call.
        let open = |(network, kept): (&NetworkUse, bool)| !kept && by_network(network);
        let wants_reach = self
            .rules
            .iter()
            .map(|(_, n)| n)
            .zip(by_words.iter().copied())
            .any(open);
        if !wants_reach || evidence.network || names.reach.is_empty() {
            return Some(by_words);
        }
        let reaches = names.reach.named_in(text?);
        Some(
            self.rules
                .iter()
                .zip(by_words)
                .map(|((_, network), kept)| kept || reaches && by_network(network))
                .collect(),
        )
    }
}

/// Whether `text[start..end]` is a whole word or a whole part of an
/// identifier: it starts after a non-letter or with a capital (`Timeout`
/// in `ConnectTimeout`), and no lower-case letter follows it
/// (`retry_after`, `RetryPolicy`, `TIMEOUTS` pass; `retrying`, `reserve`
/// for `serve`, `certain` for `cert` do not).
fn word_part(text: &[u8], start: usize, end: usize) -> bool {
    let starts =
        start == 0 || !text[start - 1].is_ascii_alphabetic() || text[start].is_ascii_uppercase();
    let ends = text.get(end).is_none_or(|b| !b.is_ascii_lowercase());
    starts && ends
}

/// Whole identifiers of one list, found in a text.
pub struct NameSet {
    /// `None`: the list is empty.
    names: Option<AhoCorasick>,
}

impl NameSet {
    fn of(mut names: Vec<String>) -> NameSet {
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
        NameSet { names }
    }

    fn is_empty(&self) -> bool {
        self.names.is_none()
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

/// The identifiers through which a crate's code reaches the network.
pub struct NetworkNames {
    /// Functions and methods that (transitively) make network calls, client
    /// and endpoint fields.
    reach: NameSet,
    /// Helpers that callers hand network calls to, types that guard a host.
    helpers: NameSet,
}

impl NetworkNames {
    pub fn of(index: &CrateIndex) -> NetworkNames {
        let lists = index.network_names();
        NetworkNames {
            reach: NameSet::of(lists.reach),
            helpers: NameSet::of(lists.helpers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_names() -> NetworkNames {
        NetworkNames {
            reach: NameSet::of(Vec::new()),
            helpers: NameSet::of(Vec::new()),
        }
    }

    const NOTHING: Evidence = Evidence {
        server: false,
        network: false,
        loops: false,
        words: None,
    };

    #[test]
    fn every_rule_s_vocabulary_fits_the_words_of_pass_one() {
        let p = Prefilter::new(crate::rules::all().iter().map(|r| r.meta().id));
        let patterns = p.words.as_ref().map_or(0, |w| w.patterns_len());
        assert!(
            patterns > 1 && patterns <= 256,
            "{patterns} prefilter words: `Words` holds 256"
        );
    }

    #[test]
    fn the_words_of_pass_one_decide_as_the_text_does() {
        let p = Prefilter::new(crate::rules::all().iter().map(|r| r.meta().id));
        let none = no_names();
        let reach = NetworkNames {
            reach: NameSet::of(vec!["fetch_user".to_string()]),
            helpers: NameSet::of(Vec::new()),
        };
        let helper = NetworkNames {
            reach: NameSet::of(Vec::new()),
            helpers: NameSet::of(vec!["with_retries".to_string()]),
        };
        let texts = [
            "fn add(a: u8) -> u8 { a }",
            "let r = tokio::time::timeout(d, fetch()).await;",
            "for u in urls { client.get(u).send().await; }",
            "for id in ids { api.fetch_user(id).await?; }",
            "with_retries(|| go()).await",
            "// mesh-audit: allow(retry-loop)\nfn f() {}",
            "let c = CircuitBreaker::new(); if failures > 3 { open() }",
        ];
        for text in texts {
            for loops in [false, true] {
                for network in [false, true] {
                    let mut evidence = Evidence {
                        network,
                        loops,
                        ..NOTHING
                    };
                    let from_text = p.rules_for(evidence, text, &none);
                    // Pass 1 did not read the words: pass 2 must read the text.
                    assert_eq!(p.rules_for_words(evidence, &none), None);
                    evidence.words = Some(p.words_in(text));
                    assert_eq!(
                        p.rules_for_words(evidence, &none),
                        Some(from_text),
                        "{text}"
                    );
                    // Names to look for need the text, unless something
                    // else decided first.
                    for names in [&reach, &helper] {
                        let from_text = p.rules_for(evidence, text, names);
                        if let Some(from_words) = p.rules_for_words(evidence, names) {
                            assert_eq!(from_words, from_text, "{text}");
                        }
                    }
                }
            }
        }
        let helped = Evidence {
            words: Some(p.words_in("with_retries(|| go()).await")),
            ..NOTHING
        };
        assert_eq!(p.rules_for_words(helped, &helper), None);
    }

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
        assert!(p.keeps(NOTHING, "", &no_names()));
    }

    #[test]
    fn words_match_whole_identifier_parts_in_any_case() {
        let p = Prefilter::new(["timeout-wrapper"]);
        let none = no_names();
        for kept in [
            "let t = ConnectTimeout::new();",
            "b.connect_timeout(d)",
            "req.headers_mut().insert(\"grpc-timeout\", v);",
            "const REQUEST_TIMEOUT_MS: u64 = 5;",
            "tokio::select! { _ = a => {} }",
            "// mesh-audit: allow(no-such-rule)",
        ] {
            assert!(p.keeps(NOTHING, kept, &none), "{kept}");
        }
        for dropped in [
            "fn add(a: u8, b: u8) -> u8 { a + b }",
            "let timeouted = 1; let selection = 2;",
        ] {
            assert!(!p.keeps(NOTHING, dropped, &none), "{dropped}");
        }
        let servers = Prefilter::new(["loopback-bind"]);
        assert!(!servers.keeps(NOTHING, "v.reserve(8); x.observe();", &none));
        assert!(servers.keeps(NOTHING, "HttpServer::new(app)", &none));
        assert!(servers.keeps(NOTHING, "axum::serve(l, app)", &none));
    }

    #[test]
    fn a_server_or_route_keeps_a_file_whatever_its_words() {
        let p = Prefilter::new(["missing-health-endpoint"]);
        let server = Evidence {
            server: true,
            ..NOTHING
        };
        assert!(p.keeps(server, "fn add(a: u8) {}", &no_names()));
    }

    #[test]
    fn each_rule_runs_only_where_it_alone_would() {
        let ids = ["timeout-wrapper", "retry-crate", "retry-loop", "egress-tls"];
        let p = Prefilter::new(ids);
        let none = no_names();
        let deadline = "let r = tokio::time::timeout(d, fetch()).await;";
        assert_eq!(
            p.rules_for(NOTHING, deadline, &none),
            [true, false, false, false]
        );
        // A loop around a client call: the retry loop and the egress rule
        // (an `https://` constant may live elsewhere), not the other two.
        let both = Evidence {
            network: true,
            loops: true,
            ..NOTHING
        };
        let calls = "for u in urls { client.get(u).send().await; }";
        assert_eq!(p.rules_for(both, calls, &none), [false, false, true, true]);
        // Whatever the rules alone would say, every rule sees a file that
        // serves or holds a suppression comment.
        let server = Evidence {
            server: true,
            ..NOTHING
        };
        assert_eq!(p.rules_for(server, "fn f() {}", &none), [true; 4]);
        let suppressed = "// mesh-audit: allow(unknown-rule)\nfn f() {}";
        assert_eq!(p.rules_for(NOTHING, suppressed, &none), [true; 4]);
        for (i, id) in ids.iter().enumerate() {
            let alone = Prefilter::new([*id]);
            for (evidence, text) in [(NOTHING, deadline), (both, calls)] {
                assert_eq!(
                    p.rules_for(evidence, text, &none)[i],
                    alone.keeps(evidence, text, &none),
                    "{id} on {text}"
                );
            }
        }
        let nothing = p.rules_for(NOTHING, "fn add(a: u8) -> u8 { a }", &none);
        assert_eq!(nothing, [false; 4]);
        assert!(!p.keeps(NOTHING, "fn add(a: u8) -> u8 { a }", &none));
    }

    #[test]
    fn retry_loops_need_a_loop_and_a_network_call() {
        let p = Prefilter::new(["retry-loop"]);
        let none = no_names();
        let network = Evidence {
            network: true,
            ..NOTHING
        };
        let looping = Evidence {
            loops: true,
            ..NOTHING
        };
        let both = Evidence {
            network: true,
            loops: true,
            ..NOTHING
        };
        let text = "fn f() { client.get(u).send(); }";
        assert!(!p.keeps(network, text, &none));
        assert!(!p.keeps(looping, text, &none));
        assert!(p.keeps(both, text, &none));
        // A call through a name the index knows reaches the network.
        let names = NetworkNames {
            reach: NameSet::of(vec!["fetch_user".to_string()]),
            helpers: NameSet::of(Vec::new()),
        };
        let calls = "for id in ids { api.fetch_user(id).await?; }";
        assert!(p.keeps(looping, calls, &names));
        assert!(!p.keeps(NOTHING, calls, &names));
        assert!(!p.keeps(looping, "fn prefetch_users() {}", &names));
        // Timeouts do not follow network evidence: their words decide.
        let t = Prefilter::new(["timeout-wrapper"]);
        assert!(!t.keeps(both, text, &none));
    }

    #[test]
    fn helper_call_sites_are_kept_without_a_loop() {
        let p = Prefilter::new(["retry-crate"]);
        let names = NetworkNames {
            reach: NameSet::of(Vec::new()),
            helpers: NameSet::of(vec!["resilient_call".to_string()]),
        };
        assert!(p.keeps(NOTHING, "resilient_call(|| c.get(u))", &names));
        assert!(!p.keeps(NOTHING, "not_resilient_call(|| c.get(u))", &names));
    }

    #[test]
    fn every_group_of_a_rule_must_match() {
        let p = Prefilter::new(["circuit-breaker"]);
        let none = no_names();
        assert!(!p.keeps(NOTHING, "let f = File::options().read(true);", &none));
        assert!(p.keeps(
            NOTHING,
            "enum State { Closed, Open } struct B { failures: u32 }",
            &none
        ));
        assert!(p.keeps(
            NOTHING,
            "struct B { opened_at: Option<Instant>, consecutive_failures: u32 }",
            &none
        ));
    }
}
