//! # retry-loop
//!
//! ## What it finds
//! A hand-written retry around an HTTP or gRPC call: a `loop`, `while` or
//! `for` whose body calls another service, leaves the loop when the call
//! succeeds and goes round again when it fails, usually with an attempt
//! counter and a sleep. The finding points at the loop keyword and reads
//! what the loop really does: `retries` (re-tries after the first try, as
//! Istio counts `attempts`: `for attempt in 0..3` is 2; counters are
//! simulated with every attempt failing), `per_try_timeout` (a deadline on
//! the call inside the loop), `backoff` (the first wait), `retry_on` (the
//! failures the conditions test, as Istio `retryOn` tokens), and the
//! destination `host` and `port`. An unbounded loop has no `retries`;
//! nor has one bounded by time (`if started.elapsed() > limit { return
//! Err(..) }`, `while Instant::now() < deadline`), which is not called
//! unbounded.
//! The call may sit in a function the loop hands the operation to
//! (`attempt(&op)`), and the wait in a helper (`sleep(backoff(n, base_ms))`
//! reads `base_ms` from the call). A client's own reqwest-middleware
//! (`impl Middleware for X { async fn handle(.., next: Next<'_>) .. }`)
//! whose loop re-sends the request with `next.run(req, ext)` retries every
//! request of the client: its loop is an HTTP retry. The outcome may be
//! read in several steps: a catch-all arm after `Ok(r) if
//! r.status().is_success() => return ..` holds the failures, also when it
//! matches them again to log the status (`other => match other { Ok(r) =>
//! warn!(..), Err(e) => warn!(..) }`); a deadline's outcome converted
//! first (`let r = match timeout(d, op()).await { Ok(v) => Some(v), Err(_)
//! => None }`) leaves the loop on `Some(Ok(v))`; a success test may be a
//! `matches!` on every success (`matches!(r, Ok(_) | Err(NotFound))`), also
//! kept in a `let` that the exit check reads (`let done = matches!(..); if
//! done || tries >= 3 { break r; }`). A failure arm that ends in `return
//! Err(e)` still goes round when a `continue` of the loop comes first
//! (`Err(e) => { let transient = e.is_connect(); if transient { sleep;
//! continue } return Err(e) }`; a `continue` of a loop nested in the arm
//! does not count). A `match` followed in its block by a step that always
//! leaves, with no `continue` between (`Ok(_) => { match
//! fs::remove_file(p) { Ok(()) => .., Err(e) => log(e) } return; }`),
//! tells the outcomes of that later step apart: its arms neither go round
//! nor make the loop a poll.
//!
//! ## The crate's own retry helpers
//! A generic helper whose loop re-runs the operation it receives
//! (`retry(op, is_permanent, warn_after, max_retries, "what")`) is reported
//! where it is written, and again at each call of it, in any crate of the
//! workspace, whose operation calls another service: with that call's host
//! and the count its arguments give (the helper's loop is simulated once
//! with probe values, so `attempts < warn_after` followed by `attempts <
//! max_retries` is read as the larger of the two; `u32::MAX` re-tries until
//! it succeeds). Predicates (`Fn(&E) -> bool`) and callbacks that return
//! nothing are not the operation; nor, beside one that returns a future or
//! a `Result`, is a classifier or delay shaper that returns a plain value
//! (`FnMut(&E) -> Verdict`, `FnMut(Duration) -> Duration`). Counters step
//! with `+= 1`, `n = n + 1` or `n = n.saturating_add(1)`, and a copy of
//! the counter (`let retry_index = attempts;`) is tested in its place. A
//! count that is a field of a policy struct the helper is handed
//! (`attempt > policy.max_retries`) is read at each call from the struct
//! passed there: a literal, a `let` or `const` of the caller's file
//! holding one (`const UPLOAD: Policy = Policy { max_retries: 4, .. }`), or
//! the `Self { .. }` literal an associated function without parameters
//! returns (`Policy::default()` of an `impl Default`).
//! Fields are read through the declared type of the name they are read
//! from (`policy: Policy`), so another struct with a field of the same
//! name lends no value.
//!
//! ## Why the mesh should own it
//! The sidecar already retries: Istio retries every request twice on
//! connect failures and refused streams even without a VirtualService.
//! Stacked, the two multiply: 3 tries in code behind `attempts: 2` are up to
//! 9 upstream calls per request, and during a brownout every layer retries
//! at once — a retry storm that keeps the upstream down. In mesh config the
//! policy is visible, bounded and changeable without a rebuild.
//!
//! ## Example
//! ```text
//! for attempt in 0..3 {
//!     match client.get("http://inventory:8080/items").send().await {
//!         Ok(resp) if resp.status().is_success() => return Ok(resp),
//!         _ => tokio::time::sleep(Duration::from_millis(100)).await,
//!     }
//! }
//! ```
//!
//! ## Use instead
//! One call, and let the mesh retry:
//! ```text
//! let resp = client.get("http://inventory:8080/items").send().await?.error_for_status()?;
//! ```
//!
//! ## Mesh config
//! ```yaml
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! metadata: { name: inventory }
//! spec:
//!   hosts: [inventory]
//!   http:
//!   - route: [{ destination: { host: inventory } }]
//!     retries: { attempts: 2, perTryTimeout: 2s, retryOn: "5xx,connect-failure,reset" }
//! ```
//!
//! ## Not reported
//! Loops around local work (files, locks, channels, `JoinHandle`s), polling
//! loops that wait for a state (they do not leave on success of the call),
//! database and broker calls (a mesh has no retries for opaque TCP, and a
//! serialization-failure retry is the application's business), loops over a
//! collection (`for url in mirrors`), and test code. Workers, pollers and
//! heartbeats are not retries: a loop that can go round after a success
//! (`Ok(v) => handle(v)`, then `sleep(period)`) never leaves because the
//! call worked. Nor are watchdogs and event loops, whose every turn
//! branches on a channel or stream receive, with or without a deadline on
//! it (`match timeout(d, beats.recv()).await { Err(_) =>
//! report_down().await, Ok(None) => break, _ => {} }`): a call there is
//! what a message or a silence sets off, not a call that failed, sent again.
//! The same holds when the deadline is on the process being told to stop
//! (`match timeout(period, tokio::signal::ctrl_c()).await { Ok(_) => {
//! flush().await?; break } Err(_) => flush().await? }`, a cancellation
//! token's `cancelled()`) and every request is made in the arms of that
//! wait: each elapsed deadline is a timer tick. A request made outside
//! them, with the wait as the pause between tries, is a retry. Supervisors are not either: a loop that re-runs long-lived
//! work when it ends or fails (a function of the file with a worker loop,
//! a receive loop, or a `catch_unwind` panic boundary, followed through
//! `self` methods, typed locals and fields), together with the loops inside
//! it that rebuild what it restarts. Reconnect loops of long-lived
//! consumers (`loop { connect; consume; sleep }`, re-opening a stream a
//! spawned task reads, or a subscription read in the loop itself that is
//! re-opened when it fails or ends: `match events.next().await { None =>
//! { self.events = None; continue } .. }` after the call that opens it)
//! are left out unless `--include-reconnect` (or `include-reconnect =
//! true`) is set. Kubernetes API calls (`kube::Api` `get`, `patch`,
//! `replace`, `create`, on a `kube::Client`) are not reported either: the
//! API server is not a mesh destination (no sidecar fronts it, and the
//! client speaks TLS to it itself), so a route's retries cannot replace a
//! lease or status update retried in code. Reconciliation is not a retry
//! either: a loop whose repeated step is a function of the file that runs a
//! whole procedure (three or more network calls, or a call made once per
//! item of a collection: list what exists, create what is missing) re-runs
//! until the state converges; one call to one service, re-tried, is a
//! retry. Optimistic-concurrency loops are not retries: a loop whose every
//! failure path that goes round is taken only on a write conflict (a
//! guard or `if` naming one: `Err(e) if e.is_conflict()`,
//! `CONCURRENT_UPDATE`, `PreconditionFailed`, `StatusCode::CONFLICT`, a
//! status compared with 409 or 412, gRPC `Code::Aborted`) re-reads and
//! writes again; the same request re-sent by the mesh would conflict
//! again. So is a loop that goes round only on a failure variant naming
//! a taken unique value (`Err(DbError::SecretTaken) => continue`,
//! `AlreadyExists`, `Duplicate`): it draws a new value and writes again.
//! A loop that also goes round on another failure is reported. Nor are
//! readiness waits: a loop with no attempt limit whose every request is a
//! health probe (a health or readiness URL, a gRPC health check, a gRPC
//! method named for readiness such as `is_ready`), asked until the peer
//! answers. It waits for the peer to come up; no request of the service's
//! own is sent again. A probe re-tried a counted number of times, or a
//! loop that also sends another request, is reported.

use std::collections::BTreeMap;

use crate::analysis::duration::istio;
use crate::analysis::net::Destination;
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "retry-loop",
    Warning,
    Resilience,
    "hand-written retry loop around an HTTP/gRPC call that the mesh already retries",
    "retry_loop.rs"
);

pub struct RetryLoopRule;

/// `host`, `port`, `host_source` of a destination.
pub(crate) fn destination_values(dest: &Destination, values: &mut BTreeMap<String, String>) {
    if let Some(h) = &dest.host {
        values.insert("host".into(), h.clone());
        if let Some(p) = dest.port {
            values.insert("port".into(), p.to_string());
        }
        if dest.from_env {
            values.insert("host_source".into(), "env".into());
        }
    }
}

impl Rule for RetryLoopRule {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        let calls = crate::analysis::retry::helper_call_retries(cx);
        for l in cx.retry_loops().iter().chain(&calls) {
            let mut values = BTreeMap::new();
            if let Some(r) = l.retries {
                values.insert("retries".to_string(), r.to_string());
            }
            if let Some(t) = l.per_try_timeout {
                values.insert("per_try_timeout".into(), istio(t));
            }
            if let Some(b) = l.backoff {
                values.insert("backoff".into(), istio(b));
            }
            if !l.retry_on.is_empty() {
                values.insert("retry_on".into(), l.retry_on.join(","));
            }
            values.insert("protocol".into(), l.protocol.as_str().into());
            destination_values(&l.dest, &mut values);
            let target = l.dest.target();
            let sources: BTreeMap<String, String> = l
                .sources
                .iter()
                .map(|(k, s)| (k.to_string(), s.at.clone()))
                .collect();
            // "(retries: default of `settings.max_retries`, src/settings.rs:12)"
            let from: Vec<String> = l
                .sources
                .iter()
                .map(|(k, s)| format!("{k}: {}", s.phrase()))
                .collect();
            let from = if from.is_empty() {
                String::new()
            } else {
                format!(" ({})", from.join("; "))
            };
            let what = match (l.reconnect, l.retries) {
                _ if l.via.is_some() => {
                    let (name, path) = l
                        .via
                        .as_ref()
                        .map(|(n, a)| (n.as_str(), a.as_str()))
                        .unwrap_or_default();
                    let count = match (l.retries, l.bounded) {
                        (Some(r), _) => format!(" {r} time{}", if r == 1 { "" } else { "s" }),
                        (None, true) => String::new(),
                        (None, false) => " until it succeeds".into(),
                    };
                    format!(
                        "`{name}` (the retry loop of `{path}`) re-tries a {} call{target}{count}",
                        l.protocol.as_str()
                    )
                }
                (true, _) => format!("reconnect loop{target} retries forever"),
                (false, Some(r)) => format!(
                    "retry loop re-tries a {} call{target} {r} time{}",
                    l.protocol.as_str(),
                    if r == 1 { "" } else { "s" }
                ),
                (false, None) if l.bounded => {
                    format!("retry loop re-tries a {} call{target}", l.protocol.as_str())
                }
                (false, None) => format!(
                    "unbounded retry loop around a {} call{target}",
                    l.protocol.as_str()
                ),
            };
            out.push(Violation {
                range: l.range,
                message: format!(
                    "{what}{from}; stacked with the sidecar's retries this multiplies upstream calls"
                ),
                help: "make one call and move the policy to a VirtualService `retries` block"
                    .into(),
                values,
                sources,
            });
        }
    }
}
