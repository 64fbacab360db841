//! The mesh-neutral policy: what the code did (retries, timeouts, breaker,
//! mTLS), read from findings, with the origin of every value, and merged per
//! destination. Each mesh target (only Istio today) is an emitter over this
//! model, so Linkerd or Gateway API output is one new module.

use std::collections::BTreeSet;
use std::fmt;

use mesh_audit_model::Finding;

use crate::duration::{format_millis, parse_millis};
use crate::names::normalize_host;

/// Where a value was read: the finding's file, line and rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: String,
    pub line: u32,
    pub rule: &'static str,
}

impl Origin {
    pub fn of(finding: &Finding) -> Origin {
        Origin {
            file: finding.file.clone(),
            line: finding.range.line,
            rule: finding.rule,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A value together with what every contributing finding said. After a merge
/// `value` is the conservative pick and `sources` still lists all of them, so
/// a disagreement can be shown next to the value and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    /// (what this source said, where), in merge order.
    pub sources: Vec<(String, Origin)>,
}

impl<T> Sourced<T> {
    pub fn new(value: T, said: impl Into<String>, origin: Origin) -> Sourced<T> {
        Sourced {
            value,
            sources: vec![(said.into(), origin)],
        }
    }

    /// True when the sources did not all say the same thing.
    pub fn disagrees(&self) -> bool {
        let distinct: BTreeSet<&str> = self.sources.iter().map(|(s, _)| s.as_str()).collect();
        distinct.len() > 1
    }
}

fn sources_into<T>(out: &mut Vec<Origin>, value: Option<&Sourced<T>>) {
    if let Some(v) = value {
        out.extend(v.sources.iter().map(|(_, o)| o.clone()));
    }
}

/// Merges two optional values; `prefer_first(a, b)` says whether `a` is at
/// least as conservative as `b`.
fn merge_opt<T>(
    a: Option<Sourced<T>>,
    b: Option<Sourced<T>>,
    prefer_first: impl Fn(&T, &T) -> bool,
) -> Option<Sourced<T>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(merge(a, b, prefer_first)),
        (a, b) => a.or(b),
    }
}

fn merge<T>(a: Sourced<T>, b: Sourced<T>, prefer_first: impl Fn(&T, &T) -> bool) -> Sourced<T> {
    let mut sources = a.sources;
    sources.extend(b.sources);
    let value = if prefer_first(&a.value, &b.value) {
        a.value
    } else {
        b.value
    };
    Sourced { value, sources }
}

/// Which protocol the code spoke; it only decides the default retry conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Grpc,
}

/// How many re-tries (after the first try) the code made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempts {
    Count(u32),
    /// The loop had no bound.
    Unbounded,
    /// The engine gave a value that is not a number.
    Unreadable,
}

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attempts::Count(n) => write!(f, "{n}"),
            Attempts::Unbounded => f.write_str("unbounded"),
            Attempts::Unreadable => f.write_str("unreadable"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: Sourced<Attempts>,
    pub per_try_timeout: Option<Sourced<u64>>,
    /// Conditions, already checked against what Istio accepts.
    pub retry_on: Sourced<Vec<String>>,
    pub backoff: Option<Sourced<u64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutlierPolicy {
    pub consecutive_errors: Option<Sourced<u32>>,
    pub interval: Option<Sourced<u64>>,
    pub base_ejection_time: Option<Sourced<u64>>,
    pub max_ejection_percent: Option<Sourced<u32>>,
}

impl OutlierPolicy {
    pub fn is_empty(&self) -> bool {
        self.consecutive_errors.is_none()
            && self.interval.is_none()
            && self.base_ejection_time.is_none()
            && self.max_ejection_percent.is_none()
    }
}

/// Everything the client side did towards one destination.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DestinationPolicy {
    /// Normalised host; `None` when it is not known (per-finding suggestions
    /// then use a placeholder; manifests never do).
    pub host: Option<String>,
    pub port: Option<Sourced<u32>>,
    /// Overall request deadline, including all retries.
    pub request_timeout: Option<Sourced<u64>>,
    pub connect_timeout: Option<Sourced<u64>>,
    pub retry: Option<RetryPolicy>,
    pub outlier: Option<OutlierPolicy>,
    /// Findings where the client set up TLS by hand.
    pub client_mtls: Vec<Origin>,
    /// Every finding merged here, in merge order.
    pub origins: Vec<Origin>,
    /// Things a reader must know: values that could not be used, and why.
    pub notes: Vec<String>,
}

impl DestinationPolicy {
    /// True when there is something for a route (VirtualService) to carry.
    pub fn has_route_policy(&self) -> bool {
        self.retry.is_some() || self.request_timeout.is_some()
    }

    /// True when there is something for a DestinationRule to carry.
    pub fn has_traffic_policy(&self) -> bool {
        self.connect_timeout.is_some()
            || self.outlier.as_ref().is_some_and(|o| !o.is_empty())
            || !self.client_mtls.is_empty()
    }

    /// The findings behind the route settings (VirtualService), sorted.
    pub fn route_origins(&self) -> Vec<Origin> {
        let mut out = Vec::new();
        sources_into(&mut out, self.request_timeout.as_ref());
        if let Some(r) = &self.retry {
            sources_into(&mut out, Some(&r.attempts));
            sources_into(&mut out, r.per_try_timeout.as_ref());
            sources_into(&mut out, Some(&r.retry_on));
            sources_into(&mut out, r.backoff.as_ref());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The findings behind the traffic settings (DestinationRule), sorted.
    pub fn traffic_origins(&self) -> Vec<Origin> {
        let mut out = self.client_mtls.clone();
        sources_into(&mut out, self.connect_timeout.as_ref());
        if let Some(o) = &self.outlier {
            sources_into(&mut out, o.consecutive_errors.as_ref());
            sources_into(&mut out, o.interval.as_ref());
            sources_into(&mut out, o.base_ejection_time.as_ref());
            sources_into(&mut out, o.max_ejection_percent.as_ref());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The notes written by the given findings.
    pub fn notes_of(&self, origins: &[Origin]) -> Vec<String> {
        self.notes
            .iter()
            .filter(|n| origins.iter().any(|o| n.starts_with(&format!("{o}: "))))
            .cloned()
            .collect()
    }

    /// Folds `other` (same host) into `self`, keeping the most conservative
    /// value of every field: fewest attempts, shortest timeouts, retry only on
    /// conditions every source retried on, longest backoff; for breakers the
    /// higher error threshold, the shorter ejection and interval, the lower
    /// ejection percentage.
    pub fn merge(self, other: DestinationPolicy) -> DestinationPolicy {
        let shorter = |a: &u64, b: &u64| a <= b;
        let mut notes = self.notes;
        for note in other.notes {
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        let mut client_mtls = self.client_mtls;
        client_mtls.extend(other.client_mtls);
        let mut origins = self.origins;
        origins.extend(other.origins);
        DestinationPolicy {
            host: self.host.or(other.host),
            // No port is safer than another one; the emitter drops a port
            // the sources disagree on, so which one is kept here is moot.
            port: merge_opt(self.port, other.port, |_, _| true),
            request_timeout: merge_opt(self.request_timeout, other.request_timeout, shorter),
            connect_timeout: merge_opt(self.connect_timeout, other.connect_timeout, shorter),
            retry: match (self.retry, other.retry) {
                (Some(a), Some(b)) => Some(merge_retry(a, b)),
                (a, b) => a.or(b),
            },
            outlier: match (self.outlier, other.outlier) {
                (Some(a), Some(b)) => Some(OutlierPolicy {
                    consecutive_errors: merge_opt(
                        a.consecutive_errors,
                        b.consecutive_errors,
                        |x, y| x >= y,
                    ),
                    interval: merge_opt(a.interval, b.interval, shorter),
                    base_ejection_time: merge_opt(
                        a.base_ejection_time,
                        b.base_ejection_time,
                        shorter,
                    ),
                    max_ejection_percent: merge_opt(
                        a.max_ejection_percent,
                        b.max_ejection_percent,
                        |x, y| x <= y,
                    ),
                }),
                (a, b) => a.or(b),
            },
            client_mtls,
            origins,
            notes,
        }
    }
}

fn merge_retry(a: RetryPolicy, b: RetryPolicy) -> RetryPolicy {
    let attempts = merge(a.attempts, b.attempts, |x, y| match (x, y) {
        (Attempts::Count(x), Attempts::Count(y)) => x <= y,
        (Attempts::Count(_), _) => true,
        (_, Attempts::Count(_)) => false,
        _ => true,
    });
    // Retrying on fewer conditions is the safe direction; when the sources
    // share none, the first source's list stays and the conflict is reported.
    let common: Vec<String> = a
        .retry_on
        .value
        .iter()
        .filter(|t| b.retry_on.value.contains(t))
        .cloned()
        .collect();
    let mut retry_on = merge(a.retry_on, b.retry_on, |_, _| true);
    if !common.is_empty() {
        retry_on.value = common;
    }
    RetryPolicy {
        attempts,
        per_try_timeout: merge_opt(a.per_try_timeout, b.per_try_timeout, |x, y| x <= y),
        retry_on,
        backoff: merge_opt(a.backoff, b.backoff, |x, y| x >= y),
    }
}

/// Which kind of suggestion a rule gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Retry,
    Timeout,
    Breaker,
    Tls,
    /// Everything answered with a code change (binds, health, shutdown).
    Code,
}

pub fn rule_kind(rule: &str) -> RuleKind {
    match rule {
        "retry-loop" | "retry-crate" => RuleKind::Retry,
        "timeout-wrapper" => RuleKind::Timeout,
        "circuit-breaker" => RuleKind::Breaker,
        "hand-rolled-tls" => RuleKind::Tls,
        _ => RuleKind::Code,
    }
}

/// What one finding says about its destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostRef {
    Known(String),
    Missing,
    /// Present but not a host name; kept for the note.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub host: HostRef,
    /// Client-side policy towards the destination, if the rule has one.
    pub destination: Option<DestinationPolicy>,
    /// The workload terminates TLS itself (server side of hand-rolled TLS).
    pub server_mtls: bool,
}

/// Reads the policy out of one finding. Values that cannot be used are left
/// out and explained in `notes`; nothing is guessed.
pub fn extract(finding: &Finding) -> Extracted {
    let origin = Origin::of(finding);
    let kind = rule_kind(finding.rule);
    let host = match finding.value("host") {
        None => HostRef::Missing,
        Some(raw) if raw.trim().is_empty() => HostRef::Missing,
        Some(raw) => match normalize_host(raw) {
            Some(h) => HostRef::Known(h),
            None => HostRef::Invalid(raw.to_string()),
        },
    };
    let mut policy = DestinationPolicy {
        host: match &host {
            HostRef::Known(h) => Some(h.clone()),
            _ => None,
        },
        origins: vec![origin.clone()],
        ..DestinationPolicy::default()
    };
    let mut reader = Reader {
        finding,
        origin: &origin,
        notes: Vec::new(),
    };
    if let Some(port) = finding.value("port") {
        match port.trim().parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) => {
                policy.port = Some(Sourced::new(p, p.to_string(), origin.clone()));
            }
            _ => reader.note(format!(
                "port `{}` is not a port number; left out",
                clean(port)
            )),
        }
    }
    let protocol = match finding.value("protocol") {
        Some(p) if p.trim().eq_ignore_ascii_case("grpc") => Protocol::Grpc,
        _ => Protocol::Http,
    };
    let mut server_mtls = false;
    match kind {
        RuleKind::Retry => {
            policy.retry = Some(reader.retry(protocol));
            policy.request_timeout = reader.duration("timeout");
            policy.connect_timeout = reader.duration("connect_timeout");
        }
        RuleKind::Timeout => {
            policy.request_timeout = reader.duration("timeout");
            policy.connect_timeout = reader.duration("connect_timeout");
        }
        RuleKind::Breaker => {
            let outlier = OutlierPolicy {
                consecutive_errors: reader.count("consecutive_errors", 0..=u32::MAX),
                interval: reader.duration("interval"),
                base_ejection_time: reader.duration("base_ejection_time"),
                max_ejection_percent: reader.count("max_ejection_percent", 0..=100),
            };
            policy.outlier = Some(outlier);
        }
        RuleKind::Tls => {
            let side = finding.value("side").map(str::trim);
            server_mtls = side != Some("client");
            // Without a side, a client half is only assumed when the finding
            // names where it connects to.
            let client = match side {
                Some("client") => true,
                Some(_) => false,
                None => host != HostRef::Missing,
            };
            if client {
                policy.client_mtls.push(origin.clone());
            }
        }
        RuleKind::Code => {
            return Extracted {
                host,
                destination: None,
                server_mtls: false,
            };
        }
    }
    policy.notes = reader.notes;
    let useful = policy.has_route_policy() || policy.has_traffic_policy();
    Extracted {
        host,
        destination: useful.then_some(policy),
        server_mtls,
    }
}

struct Reader<'a> {
    finding: &'a Finding,
    origin: &'a Origin,
    notes: Vec<String>,
}

impl Reader<'_> {
    fn note(&mut self, text: String) {
        self.notes.push(format!("{}: {text}", self.origin));
    }

    fn duration(&mut self, key: &str) -> Option<Sourced<u64>> {
        let raw = self.finding.value(key)?;
        match parse_millis(raw) {
            Some(ms) => match format_millis(ms) {
                Some(text) => Some(Sourced::new(ms, text, self.origin.clone())),
                None => {
                    self.note(format!(
                        "{key} `{}` is zero, which Istio rejects; left out",
                        clean(raw)
                    ));
                    None
                }
            },
            None => {
                self.note(format!(
                    "{key} `{}` is not a duration; left out",
                    clean(raw)
                ));
                None
            }
        }
    }

    fn count(&mut self, key: &str, range: std::ops::RangeInclusive<u32>) -> Option<Sourced<u32>> {
        let raw = self.finding.value(key)?;
        match raw.trim().parse::<u32>() {
            Ok(n) if range.contains(&n) => {
                Some(Sourced::new(n, n.to_string(), self.origin.clone()))
            }
            _ => {
                self.note(format!(
                    "{key} `{}` is not a number in {}..={}; left out",
                    clean(raw),
                    range.start(),
                    range.end()
                ));
                None
            }
        }
    }

    fn retry(&mut self, protocol: Protocol) -> RetryPolicy {
        let attempts = match self.finding.value("retries") {
            None => Attempts::Unbounded,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) => Attempts::Count(n),
                Err(_) => {
                    self.note(format!("retries `{}` is not a number", clean(raw)));
                    Attempts::Unreadable
                }
            },
        };
        let mut tokens = Vec::new();
        if let Some(raw) = self.finding.value("retry_on") {
            for token in raw.split(',').map(|t| t.trim().to_ascii_lowercase()) {
                if token.is_empty() {
                    continue;
                }
                if is_retry_on_token(&token) {
                    if !tokens.contains(&token) {
                        tokens.push(token);
                    }
                } else {
                    self.note(format!(
                        "retry condition `{}` is not one Istio accepts; left out",
                        clean(&token)
                    ));
                }
            }
        }
        if tokens.is_empty() {
            tokens = default_retry_on(protocol)
                .split(',')
                .map(str::to_string)
                .collect();
        }
        RetryPolicy {
            attempts: Sourced::new(attempts.clone(), attempts.to_string(), self.origin.clone()),
            per_try_timeout: self.duration("per_try_timeout"),
            retry_on: Sourced::new(tokens.clone(), tokens.join(","), self.origin.clone()),
            backoff: self.duration("backoff"),
        }
    }
}

/// Printable form of a value from code for notes and comments.
pub fn clean(raw: &str) -> String {
    let shown: String = raw.chars().take(80).collect();
    let mut out = shown.escape_debug().to_string();
    if raw.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// What the code most likely retried on when it did not say.
pub fn default_retry_on(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Grpc => {
            "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
        }
        Protocol::Http => "5xx,connect-failure,reset",
    }
}

/// istio/istio `supportedRetryOnPolicies` plus HTTP status codes
/// (fields.md §1).
const RETRY_ON_TOKENS: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "reset-before-request",
    "connect-failure",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "envoy-ratelimited",
    "http3-post-connect-failure",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

pub fn is_retry_on_token(token: &str) -> bool {
    RETRY_ON_TOKENS.contains(&token)
        || token
            .parse::<u16>()
            .is_ok_and(|code| !token.starts_with('0') && is_known_status(code))
}

/// Go's `http.StatusText(code) != ""`, which is what the webhook checks.
fn is_known_status(code: u16) -> bool {
    matches!(
        code,
        100..=103
            | 200..=208
            | 226
            | 300..=305
            | 307
            | 308
            | 400..=418
            | 421..=426
            | 428
            | 429
            | 431
            | 451
            | 500..=508
            | 510
            | 511
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::finding;

    #[test]
    fn retry_values_are_read() {
        let f = finding(
            "retry-loop",
            "src/a.rs",
            10,
            &[
                ("retries", "3"),
                ("per_try_timeout", "2s"),
                ("retry_on", "5xx, 503,bogus"),
                ("host", "Inventory"),
            ],
        );
        let x = extract(&f);
        assert_eq!(x.host, HostRef::Known("inventory".into()));
        let p = x.destination.unwrap();
        let r = p.retry.unwrap();
        assert_eq!(r.attempts.value, Attempts::Count(3));
        assert_eq!(r.per_try_timeout.unwrap().value, 2000);
        assert_eq!(r.retry_on.value, vec!["5xx".to_string(), "503".to_string()]);
        assert_eq!(
            p.notes,
            vec![
                "src/a.rs:10: retry condition `bogus` is not one Istio accepts; left out"
                    .to_string()
            ]
        );
    }

    #[test]
    fn defaults_depend_on_protocol() {
        let f = finding("retry-loop", "a.rs", 1, &[("protocol", "grpc")]);
        let r = extract(&f).destination.unwrap().retry.unwrap();
        assert_eq!(r.attempts.value, Attempts::Unbounded);
        assert_eq!(r.retry_on.value.join(","), default_retry_on(Protocol::Grpc));
        let f = finding("retry-crate", "a.rs", 1, &[]);
        let r = extract(&f).destination.unwrap().retry.unwrap();
        assert_eq!(r.retry_on.value.join(","), "5xx,connect-failure,reset");
    }

    #[test]
    fn status_codes() {
        assert!(is_retry_on_token("503"));
        assert!(is_retry_on_token("418"));
        assert!(!is_retry_on_token("306"));
        assert!(!is_retry_on_token("999"));
        assert!(!is_retry_on_token("0503"));
        assert!(!is_retry_on_token("5XX"));
    }

    #[test]
    fn unusable_values_are_noted_not_guessed() {
        let f = finding(
            "timeout-wrapper",
            "a.rs",
            4,
            &[
                ("timeout", "soon"),
                ("connect_timeout", "0s"),
                ("port", "http"),
            ],
        );
        let x = extract(&f);
        assert!(x.destination.is_none());
        let f = finding(
            "circuit-breaker",
            "a.rs",
            4,
            &[
                ("consecutive_errors", "-1"),
                ("max_ejection_percent", "150"),
            ],
        );
        assert!(extract(&f).destination.is_none());
    }

    #[test]
    fn tls_sides() {
        let server = extract(&finding(
            "hand-rolled-tls",
            "a.rs",
            1,
            &[("side", "server")],
        ));
        assert!(server.server_mtls && server.destination.is_none());
        let client = extract(&finding(
            "hand-rolled-tls",
            "a.rs",
            1,
            &[("side", "client"), ("host", "db")],
        ));
        assert!(!client.server_mtls);
        assert_eq!(client.destination.unwrap().client_mtls.len(), 1);
        let both = extract(&finding("hand-rolled-tls", "a.rs", 1, &[("host", "db")]));
        assert!(both.server_mtls && both.destination.is_some());
    }

    #[test]
    fn merge_is_conservative() {
        let a = extract(&finding(
            "retry-loop",
            "a.rs",
            1,
            &[
                ("retries", "3"),
                ("per_try_timeout", "2s"),
                ("retry_on", "5xx,reset"),
                ("backoff", "100ms"),
            ],
        ))
        .destination
        .unwrap();
        let b = extract(&finding(
            "retry-loop",
            "b.rs",
            2,
            &[
                ("retries", "5"),
                ("per_try_timeout", "1s"),
                ("retry_on", "reset,connect-failure"),
                ("backoff", "1s"),
            ],
        ))
        .destination
        .unwrap();
        let m = a.merge(b);
        let r = m.retry.unwrap();
        assert_eq!(r.attempts.value, Attempts::Count(3));
        assert!(r.attempts.disagrees());
        assert_eq!(r.per_try_timeout.unwrap().value, 1000);
        assert_eq!(r.retry_on.value, vec!["reset".to_string()]);
        assert_eq!(r.backoff.unwrap().value, 1000);
        assert_eq!(m.origins.len(), 2);

        let a = extract(&finding(
            "circuit-breaker",
            "a.rs",
            1,
            &[
                ("consecutive_errors", "3"),
                ("base_ejection_time", "30s"),
                ("interval", "5s"),
            ],
        ))
        .destination
        .unwrap();
        let b = extract(&finding(
            "circuit-breaker",
            "b.rs",
            1,
            &[
                ("consecutive_errors", "5"),
                ("base_ejection_time", "10s"),
                ("interval", "10s"),
            ],
        ))
        .destination
        .unwrap();
        let o = a.merge(b).outlier.unwrap();
        assert_eq!(o.consecutive_errors.unwrap().value, 5);
        assert_eq!(o.base_ejection_time.unwrap().value, 10_000);
        assert_eq!(o.interval.unwrap().value, 5000);
    }

    #[test]
    fn counted_attempts_win_over_unbounded() {
        let a = extract(&finding("retry-loop", "a.rs", 1, &[]))
            .destination
            .unwrap();
        let b = extract(&finding("retry-loop", "b.rs", 1, &[("retries", "4")]))
            .destination
            .unwrap();
        assert_eq!(a.merge(b).retry.unwrap().attempts.value, Attempts::Count(4));
    }
}
