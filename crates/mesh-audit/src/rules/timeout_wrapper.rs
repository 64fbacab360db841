//! # timeout-wrapper
//!
//! ## What it finds
//! A client-side deadline on an HTTP or gRPC call: `tokio::time::timeout`
//! (also `timeout_at`, whose value is `d` of a deadline `Instant::now() + d`,
//! or imported as `timeout`; the same function of async-std, compio,
//! monoio, `actix_rt::time` and `ntex::time`), `tokio::select!` racing a
//! call against a sleep, `.timeout(d)` on the future (tokio-util,
//! futures-time), reqwest `ClientBuilder::timeout` / `connect_timeout` /
//! `read_timeout` and `RequestBuilder::timeout` (also on a builder the
//! crate sends through its own extension method, `.timeout(d).send_traced()`
//! of a trait it implements for reqwest's `RequestBuilder`), tonic `Endpoint::timeout` /
//! `connect_timeout` and `Request::set_timeout`, hyper-util's
//! `HttpConnector::set_connect_timeout`, object_store's
//! `ClientOptions::with_timeout` / `with_connect_timeout` (the HTTP client
//! options a store builder takes with `with_client_options`), and the AWS
//! SDK's `TimeoutConfig::builder()` deadlines a client configuration's
//! `timeout_config(..)` applies (`connect_timeout`, `read_timeout`,
//! `operation_timeout` read as `timeout`, `operation_attempt_timeout` as
//! `per_try_timeout`). The finding points at the call that
//! applies the deadline and reads `timeout` or `connect_timeout` (Istio
//! durations: `2s`, `1500ms`) and the destination `host`/`port` when the
//! guarded call names it (also through a URL template filled in with
//! `replace`, when the placeholders are not in the host; for a client
//! built and used in one function and not handed on, the host its
//! requests there agree on, and no finding when they all ask a peer's
//! health endpoint).
//! Durations are
//! read through `Duration::from_*`,
//! `const`s (of the crate and of the workspace crates it depends on),
//! `let`s, configuration defaults and `humantime`. Every deadline of one
//! builder is one finding: a `connect_timeout` next to a `timeout` on the
//! same `Client::builder()` or `Endpoint` chain (also re-assigned,
//! `endpoint = endpoint.timeout(d)`) is reported once, at the first of
//! them, carrying both values.
//!
//! ## Through the crate's layers
//! Clients are followed through `static`s (`LazyLock`, `OnceLock`,
//! `lazy_static!`, whose initialisers are read too), struct fields declared
//! in other files, and functions or methods of other files that return a
//! client or a client builder (also a workspace crate's free function,
//! `async fn peer_endpoint(..) -> Result<Endpoint>`, whose callers set the
//! deadline on what it returns: `peer_endpoint(t).await?.timeout(d)`). A method call is followed through the
//! receiver's declared type: the crate's own types and a workspace
//! crate's (an HTTP wrapper crate whose `send` reaches reqwest), types that
//! `Deref` to a client, enum variants a `match` arm binds, and trait
//! objects, `impl Trait` and `P: Trait` parameters, whose call reaches the
//! network when most of the crate's impls of that method do (two at
//! least; an in-memory impl beside them does not make it local).
//! Ethereum JSON-RPC providers (alloy, ethers) are HTTP clients. A host
//! the client's constructor stores in a field (`Client::new(base_url)`
//! then `format!("{}/x", self.base_url)`) is the one the crate's calls of
//! that constructor pass as a literal or `const`, when they agree.
//!
//! ## Client stacks and configurations
//! tower's `TimeoutLayer` (or the crate's copy of it) is a client deadline
//! over a client stack, whether it is added with `ServiceBuilder` or
//! applied by hand (`TimeoutLayer::new(d).layer(service)`), when the
//! service is a client: a tonic channel, an HTTP client, tower middlewares
//! over one (`Decompression<..>`, `Either<..>`, `*Service<S>`), or the
//! crate's own `Service` whose `call` sends the request. A crate's own
//! channel configuration whose setters store a deadline that its client
//! builder later applies (`ChannelConfig::new().timeout(Some(d))`, with
//! `endpoint.timeout(d)` read from `self.config().timeout`) is reported
//! where the configuration is built, with its values.
//!
//! ## Deadlines passed in
//! A duration that arrives as a parameter (`fn sync(.., timeout: Duration)`
//! then `request.set_timeout(timeout)`; an `Instant` handed to
//! `timeout_at`; the `sleep(limit)` a `select!` races against the call) is
//! the caller's: the finding takes
//! the value the crate's own calls of that function spell out, when they
//! agree (left out when they differ). On a single request or future, a
//! parameter no call of the crate fills, a field of a parameter
//! (`request.timeout`) or an accessor of one (`ctx.remaining()`, a query
//! context's budget) or a name a pattern binds (`if let Some(t) = ..`)
//! whose value is unknown is the caller's own deadline, typically an API
//! request's timeout forwarded to a peer, and is not reported; on a client
//! or channel builder it is the client's configuration and is reported
//! without a value.
//!
//! ## Futures handed to a helper
//! A helper that puts a deadline on the future it is handed (`async fn
//! bounded<F: Future>(&self, call: F)` then `timeout(self.budget, call)`;
//! `fut: impl Future`; a callable `op: F` run as `timeout(d, op())`) is
//! reported once, where it applies the deadline, when a caller in the same
//! file (a method of the same type calling it on `self`, or a call of the
//! free function by name, outside test code) hands it an HTTP or gRPC call
//! made on a client; the host is the one those calls agree on. A helper
//! whose callers hand it only in-process futures (a spawned task, a channel
//! receive, a lock), a poll, a health probe, or a call of the crate's own
//! function (most often a whole job run under one budget) is not reported.
//!
//! ## Why the mesh should own it
//! A client deadline that differs from the mesh's `timeout` hides the
//! mesh's: a 5 s client deadline behind a 3 s route timeout never fires,
//! and a shorter one cancels requests the mesh counts as healthy, which
//! skews outlier detection and metrics. The route timeout lives in one place
//! that operators can see and change without a rebuild.
//!
//! ## Example
//! ```text
//! let resp = tokio::time::timeout(Duration::from_secs(2), client.get(url).send()).await??;
//! ```
//!
//! ## Use instead
//! ```text
//! let resp = client.get(url).send().await?;
//! ```
//!
//! ## Mesh config
//! ```yaml
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! spec:
//!   http:
//!   - route: [{ destination: { host: pricing } }]
//!     timeout: 2s
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! spec:
//!   host: pricing
//!   trafficPolicy: { connectionPool: { tcp: { connectTimeout: 500ms } } }
//! ```
//!
//! ## Not reported
//! A getter that reads a client's deadline (`client.read_timeout()`, no
//! argument: for an error message or to copy it), a deadline on a call inside a retry loop (that is the loop's
//! `per_try_timeout`, reported by `retry-loop`; a tonic `Endpoint`'s
//! `timeout` set where a loop connects stays reported: it bounds the
//! requests made over the channel later, not the connect), deadlines on in-process
//! futures (channels, locks, `JoinHandle`s, CPU work), database and cache
//! clients, `Duration` constants used for caches, TTLs or intervals,
//! server-side timeouts (`TimeoutLayer` on a server router), work spawned
//! on a runtime (`RUNTIME.spawn(..)`, `handle.spawn(..)`) whose handle is
//! raced against a sleep, work a `let` already did before the deadline (of
//! `let task = match .. { Some(a) => { fetch(..).await?; Some(spawn(..)) } .. }`
//! only the arms' values are awaited later; a value a `let` already awaited,
//! `let t = .. else { fetch(..).await? }`, is not the future a later
//! `timeout(d, t.wait())` bounds), a caller's deadline passed
//! through (above), a `send_request` on anything but hyper's (or h2's)
//! `SendRequest` (typed by its declaration, a field, or the tuple
//! `handshake(io)` returns; the crate's own method or an unknown library's
//! may speak a custom protocol over TCP or QUIC), a channel to a Unix
//! domain socket (`connect_with_connector` with a `UnixStream::connect`
//! connector, whatever placeholder URI it was built with) or to the
//! unspecified address `[::]` / `0.0.0.0` (this host), a budget over a
//! batch (a future that reaches the network only through calls made once
//! per item: futures handed to `join_all` / `try_join_all`, a stream run
//! n at a time (`.buffer_unordered(n)`, `.buffered(n)`,
//! `.for_each_concurrent(n, f)`), futures collected into a
//! `FuturesUnordered`, a `for` over a collection, directly or in the file's
//! functions it calls, as in
//! `timeout(validation_budget, self.inner.validate_all())`), a deadline on
//! a wait or poll (a function of the crate, in any of its files or of a
//! workspace crate it depends on, whose every request is made in a loop
//! that goes round after a success, or by another such function, as in
//! `timeout(Duration::from_secs(60), self.manager.wait_for_state(s))`
//! where `wait_for_state` asks for the status until it is `s`), a deadline
//! on a health probe (a request whose URL path ends in a health or
//! readiness endpoint, `format!("{}/healthz", base)`, `/-/ready`, `/ping`;
//! a gRPC call given a `HealthCheckRequest`; a `SELECT 1` liveness query;
//! a reachability check, a `GET` or `HEAD` without a body, the one
//! request of a function declared to return `bool` that reads no response
//! body, `is_reachable(url) -> bool`; a crate function whose every HTTP or gRPC
//! call is one of these; a channel the function hands only to
//! tonic-health's `HealthClient`, by a name it reads nowhere else, making
//! no other gRPC client): its
//! deadline is what makes it a probe, fail fast and mark the peer down,
//! and no route timeout replaces it; a deadline on calls to the node's or
//! the cloud's metadata service (a link-local address, `169.254.169.254`,
//! `169.254.170.2`, or `metadata.google.internal`), like one to loopback;
//! tokio-stream's `timeout` on the stream a gRPC response holds
//! (`response.into_inner().timeout(d)`: a limit on the wait for each next
//! message, not on the call); and test code.
//!
//! One client set up one of two ways (`let channel = match tls { Some(t)
//! => Endpoint::from_shared(a)?.tls_config(t)?.timeout(d).connect().await?,
//! None => Endpoint::from_shared(a)?.timeout(d).connect().await? }`) is
//! one finding, at the first branch: the same deadlines in the branches of
//! a `match` or `if` whose value a `let` binds or a function returns.

use crate::analysis::paths::ident_in;
use std::collections::BTreeMap;

use mesh_audit_model::TextRange;
use syn::visit::Visit;
use syn::Expr;

use crate::analysis::duration::istio;
use crate::analysis::eval::Source;
use crate::analysis::macros::MacroBody;
use crate::analysis::net::{l7_destination, Destination, Kind, NetCall, NetScan};
use crate::analysis::paths::ends_with;
use crate::analysis::retry::{
    deadlines, handed_deadlines, is_batch_budget, poll_loop_ranges_in_expr,
};
use crate::analysis::scope::{Branches, FnItem, FnScope};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::retry_loop::destination_values;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};
use crate::source::SpanBytes;

rule_meta!(
    "timeout-wrapper",
    Warning,
    Resilience,
    "client-side deadline on an HTTP/gRPC call that a mesh route timeout should own",
    "timeout_wrapper.rs"
);

pub struct TimeoutWrapper;

/// Links followed from a builder call back to the root of its chain.
const MAX_CHAIN: usize = 64;

/// One deadline found, before it becomes a violation.
struct Found {
    range: TextRange,
    key: &'static str,
    nanos: Option<u128>,
    dest: Destination,
    what: &'static str,
    /// The configuration default the duration came from.
    source: Option<Source>,
    /// Byte offset of the builder chain's root (`Client::builder()`,
    /// `Endpoint::new(..)`): every deadline of one builder is one finding.
    chain: Option<usize>,
}

impl Found {
    /// A deadline on a future (`timeout(d, fut)`) that bounds `calls`.
    fn on_future(
        d: crate::analysis::retry::Deadline<'_>,
        nanos: Option<u128>,
        calls: &[NetCall],
        what: &'static str,
    ) -> Found {
        Found {
            range: d.range,
            key: "timeout",
            nanos,
            source: d.source,
            chain: None,
            dest: l7_destination(calls),
            what,
        }
    }
}

/// What the requests a function makes on a client it builds are.
#[derive(Clone)]
enum ClientRequests {
    /// Every one asks a peer's health endpoint.
    Probes,
    /// Every one goes to the pod itself or to the node's metadata service
    /// (loopback, link-local): no mesh destination.
    Local,
    /// Every one goes to this host.
    To(Destination),
    Unknown,
}

/// What a deadline set on an HTTP client (its builder) bounds.
const CLIENT_WIDE: &str = "timeout on an HTTP client, for every request it makes";
/// A tonic `Endpoint`'s request deadline: it bounds the requests of the
/// channel it connects, not the connect, so a retry loop around the
/// connect does not take it for its own per-try deadline.
const GRPC_CHANNEL: &str = "timeout on a gRPC channel";

/// One deadline of a finding: its key, value and configuration source.
struct Deadline {
    key: &'static str,
    nanos: Option<u128>,
    source: Option<Source>,
}

impl Rule for TimeoutWrapper {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        let loops: Vec<_> = cx.retry_loops().iter().map(|l| l.bytes.clone()).collect();
        let in_retry_loop =
            |r: &TextRange| loops.iter().any(|b| b.contains(&(r.byte_start as usize)));
        let mut found: Vec<Found> = Vec::new();
        let fns = cx.functions();
        for (f, scope) in fns.iter().zip(cx.fn_scopes()) {
            let scan = NetScan::new(cx, scope, f.self_ty.as_deref());
            let params = typed_params(f.sig);
            for d in deadlines(&scan, f.body) {
                // A budget over a batch of calls (`join_all` of checks,
                // a walk over peers), not one request's deadline.
                if is_batch_budget(cx, fns, f, scope, d.future) {
                    continue;
                }
                let calls = scan.calls_in_expr(d.future);
                // A deadline on a wait or poll (`wait_for_state(..)` that
                // asks for a status until it is reached), wherever that is
                // written: it bounds many requests, not one.
                if only_waits(&scan, &[d.future], &calls) {
                    continue;
                }
                // A deadline on a health probe is what makes it one: fail
                // fast and mark the peer down.
                if only_probes(&calls) {
                    continue;
                }
                // A duration the caller hands in, as for `.timeout(d)` on a
                // request: the value the crate's calls agree on, and no
                // finding when none spells one out (the caller's deadline,
                // e.g. a per-request option of the caller's request).
                // A name bound by a pattern (`if let Some(t) = request.timeout`)
                // is, as on a request, most often the caller's own deadline.
                let Some(nanos) = caller_nanos(cx, &scan, f, &params, &d) else {
                    continue;
                };
                found.push(Found::on_future(
                    d,
                    nanos,
                    &calls,
                    "timeout wraps a network call",
                ));
            }
            // A helper's deadline on the future its callers hand it
            // (`self.bounded(call)`): reported where the helper applies
            // it, when a caller of this file hands it a network call.
            for (d, pos) in handed_deadlines(&scan, f.sig, f.body) {
                let calls = handed_calls(cx, f, pos);
                if calls.is_empty() || only_probes(&calls) {
                    continue;
                }
                let Some(nanos) = caller_nanos(cx, &scan, f, &params, &d) else {
                    continue;
                };
                found.push(Found::on_future(
                    d,
                    nanos,
                    &calls,
                    "timeout a helper puts on the network calls its callers hand it",
                ));
            }
            for call in scan.calls_in_block(f.body) {
                if call.probe {
                    continue;
                }
                if let Some((nanos, range)) = call.request_timeout {
                    found.push(Found {
                        range,
                        key: "timeout",
                        nanos: Some(nanos),
                        dest: call.dest.clone(),
                        what: "request timeout on a network call",
                        source: None,
                        chain: None,
                    });
                }
            }
            let before = found.len();
            let mut v = MethodDeadlines {
                scan: &scan,
                out: &mut found,
                fname: &f.name,
                params: &params,
                arity: params.len(),
            };
            v.visit_block(f.body);
            // A builder finished with a Unix-socket connector talks to a
            // process of its own pod: none of its deadlines is a mesh one.
            let local = v.unix_socket_chains(f.body);
            // A client built and used here: its deadline is on the requests
            // this function makes with it, to the host they name.
            let uses: Vec<(usize, ClientRequests)> = v.out[before..]
                .iter()
                .filter(|x| x.what == CLIENT_WIDE && x.dest.host.is_none())
                .filter_map(|x| x.chain)
                .map(|c| (c, v.client_requests(f.body, c)))
                .collect();
            // Chains are expression addresses of this body: no deadline of
            // another function matches one.
            let use_of = |x: &Found| {
                let c = x.chain.filter(|_| x.what == CLIENT_WIDE)?;
                uses.iter().find(|(k, _)| *k == c).map(|(_, u)| u.clone())
            };
            if !uses.is_empty() {
                for x in &mut found[before..] {
                    if let Some(ClientRequests::To(d)) = use_of(x) {
                        x.dest = d;
                    }
                }
                // A client that only probes peers' health endpoints carries
                // a probe's deadline (as a request does), not a route timeout.
                // One that only calls the pod itself or the node's metadata
                // service bounds no mesh request either.
                found.retain(|x| {
                    !matches!(
                        use_of(x),
                        Some(ClientRequests::Probes | ClientRequests::Local)
                    )
                });
            }
            if !local.is_empty() {
                found.retain(|x| !x.chain.is_some_and(|c| local.contains(&c)));
            }
            // A channel the function hands only to tonic-health's client
            // (`HealthClient::new(channel)`, the channel named nowhere
            // else, no other gRPC client made here) carries health checks
            // only: its deadline is a probe's, as on a health request.
            if found[before..].iter().any(|x| x.what == GRPC_CHANNEL)
                && health_only_channel(cx, f.body)
            {
                let this_fn = found.split_off(before);
                found.extend(this_fn.into_iter().filter(|x| x.what != GRPC_CHANNEL));
            }
        }
        let mut inits = Vec::new();
        static_inits(&cx.file.items, &mut inits);
        if !inits.is_empty() {
            let scope = FnScope::empty();
            let scan = NetScan::new(cx, &scope, None);
            for init in &inits {
                let e = match init {
                    StaticInit::Borrowed(e) => *e,
                    StaticInit::Owned(e) => e,
                };
                MethodDeadlines {
                    scan: &scan,
                    out: &mut found,
                    fname: "",
                    params: &[],
                    arity: 0,
                }
                .visit_expr(e);
            }
        }
        found.sort_by_key(|f| (f.range.byte_start, f.key));
        found.dedup_by_key(|f| (f.range.byte_start, f.key));
        let merged = merge_builders(found);
        // One client set up one of two ways (`match tls { Some(t) =>
        // Channel::from_shared(a)?.tls_config(t)?.timeout(d), None =>
        // Channel::from_shared(a)?.timeout(d) }`): the same deadlines in
        // two branches of one `match` or `if` are one finding, at the first.
        let branches = if merged.len() > 1 {
            Branches::of_file(cx.file)
        } else {
            Branches::default()
        };
        // Where each reported finding starts, what it is, where to, and
        // its deadlines.
        type Reported = (
            usize,
            &'static str,
            Destination,
            Vec<(&'static str, Option<u128>)>,
        );
        let mut kept: Vec<Reported> = Vec::new();
        for (first, deadlines) in merged {
            let at = first.range.byte_start as usize;
            let sig: Vec<(&'static str, Option<u128>)> =
                deadlines.iter().map(|d| (d.key, d.nanos)).collect();
            if kept.iter().any(|(k_at, what, dest, k_sig)| {
                *what == first.what
                    && *dest == first.dest
                    && *k_sig == sig
                    && branches.differ(*k_at, at)
            }) {
                continue;
            }
            // A deadline on a call a retry loop re-runs is that loop's
            // per-try deadline (`retry-loop` reports it); an endpoint's
            // request deadline set where the loop connects is the
            // channel's, for every request made over it later.
            if in_retry_loop(&first.range) && first.what != GRPC_CHANNEL {
                continue;
            }
            kept.push((at, first.what, first.dest.clone(), sig));
            out.push(violation(first, deadlines));
        }
    }
}

/// The duration of a deadline whose value the code does not spell out, as
/// its callers give it: `Some(Some(v))` when the crate's calls of the
/// function agree on `v`, `Some(None)` for a deadline reported without a
/// value (a field, a configuration), `None` for one that is not reported
/// (a parameter no call fills, a name a pattern binds: the caller's own
/// deadline passed through).
fn caller_nanos(
    cx: &FileCtx<'_>,
    scan: &NetScan<'_, '_>,
    f: &FnItem<'_>,
    params: &[(String, &syn::Type)],
    d: &crate::analysis::retry::Deadline<'_>,
) -> Option<Option<u128>> {
    if d.nanos.is_some() {
        return Some(d.nanos);
    }
    let reader = MethodDeadlines {
        scan,
        out: &mut Vec::new(),
        fname: &f.name,
        params,
        arity: params.len(),
    };
    if reader.pattern_bound(d.duration) {
        return None;
    }
    match reader.passed_in(d.duration, 0) {
        Some(passed) => passed.and_then(|i| cx.index.param_duration(&f.name, params.len(), i)),
        None => Some(None),
    }
}

/// The network calls this file's callers of helper `f` hand it at
/// parameter `pos` (not counting `self`): the futures (or callables) its
/// deadline bounds. A method is called on `self` from a method of the same
/// type, a free function by its name; calls from test code, in macros, or
/// of a name two functions of the file share are not read. Only HTTP and
/// gRPC calls a client library makes, that neither wait nor probe, count.
fn handed_calls(cx: &FileCtx<'_>, f: &FnItem<'_>, pos: usize) -> Vec<NetCall> {
    let fns = cx.functions();
    if fns
        .iter()
        .filter(|g| g.name == f.name && g.self_ty == f.self_ty)
        .count()
        != 1
    {
        return Vec::new();
    }
    let arity = f
        .sig
        .inputs
        .iter()
        .filter(|i| matches!(i, syn::FnArg::Typed(_)))
        .count();
    struct Calls<'x, 'f> {
        f: &'f FnItem<'x>,
        method_of: Option<&'f str>,
        arity: usize,
        pos: usize,
        args: Vec<&'x Expr>,
    }
    impl<'x> Visit<'x> for Calls<'x, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
            if self.f.self_ty.is_some()
                && self.method_of == self.f.self_ty.as_deref()
                && on_self
                && m.method == self.f.name
                && m.args.len() == self.arity
            {
                self.args.push(&m.args[self.pos]);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if self.f.self_ty.is_none() && c.args.len() == self.arity {
                if let Expr::Path(p) = &*c.func {
                    if p.qself.is_none() && p.path.is_ident(&self.f.name) {
                        self.args.push(&c.args[self.pos]);
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let tests = cx.test_regions();
    let mut out = Vec::new();
    for (g, scope) in fns.iter().zip(cx.fn_scopes()) {
        let at = g.sig.fn_token.span.byte_start();
        if std::ptr::eq(g.body, f.body) || tests.iter().any(|r| r.contains(&at)) {
            continue;
        }
        let mut v = Calls {
            f,
            method_of: g.self_ty.as_deref(),
            arity,
            pos,
            args: Vec::new(),
        };
        v.visit_block(g.body);
        if v.args.is_empty() {
            continue;
        }
        let scan = NetScan::new(cx, scope, g.self_ty.as_deref());
        for arg in v.args {
            let calls = scan.calls_in_expr(arg);
            if only_waits(&scan, &[arg], &calls) {
                continue;
            }
            out.extend(
                calls
                    .into_iter()
                    .filter(|c| c.protocol.is_l7() && !c.waits && !c.probe)
                    // A call of the crate's own function is most often a
                    // whole job (a symbolication, a sync) run under one
                    // budget: only a client's own request is read as one.
                    .filter(|c| !c.client.ends_with("()")),
            );
        }
    }
    out
}

/// Whether the HTTP/gRPC calls of the futures a deadline bounds (one, or
/// the arms of a `select!`) all wait or poll, one at least: calls of the
/// crate's functions that only wait (`NetCall::waits`), or calls made in a
/// loop of the future itself that goes round after a success (an `async`
/// block, also bound by a `let` first).
fn only_waits(scan: &NetScan<'_, '_>, futures: &[&Expr], calls: &[NetCall]) -> bool {
    let mut l7 = calls.iter().filter(|c| c.protocol.is_l7()).peekable();
    if l7.peek().is_none() {
        return false;
    }
    let mut ranges = Vec::new();
    for &e in futures {
        let init = match e {
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|id| scan.scope.binding_at(id))
                .and_then(|b| b.init),
            _ => None,
        };
        if let Some(init) = init {
            ranges.extend(poll_loop_ranges_in_expr(init));
        }
        ranges.extend(poll_loop_ranges_in_expr(e));
    }
    l7.all(|c| {
        let at = c.range.byte_start as usize;
        c.waits || ranges.iter().any(|r| r.contains(&at))
    })
}

/// Whether the HTTP/gRPC calls a deadline bounds are all health probes
/// (`NetCall::probe`), one at least.
fn only_probes(calls: &[NetCall]) -> bool {
    let mut l7 = calls.iter().filter(|c| c.protocol.is_l7()).peekable();
    l7.peek().is_some() && l7.all(|c| c.probe)
}

/// Groups the deadlines of one builder chain (a `timeout` beside a
/// `connect_timeout`) into one finding at the first of them; every other
/// deadline stays a finding of its own.
/// Whether every gRPC client the body makes is tonic-health's
/// `HealthClient` (one at least), each given a channel by a name the body
/// reads nowhere else: the channels it builds carry health checks only.
fn health_only_channel(cx: &FileCtx<'_>, body: &syn::Block) -> bool {
    struct V<'c, 'a, 'x> {
        cx: &'c FileCtx<'a>,
        handed: Vec<&'x Expr>,
        other_client: bool,
        reads: rustc_hash::FxHashMap<String, usize>,
    }
    impl<'x> Visit<'x> for V<'_, '_, 'x> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                let n = segs.len();
                let generated = n >= 3
                    && segs[n - 3].ends_with("_client")
                    && matches!(
                        segs[n - 1].as_str(),
                        "new" | "with_interceptor" | "with_origin"
                    );
                if generated {
                    if segs[0] == "tonic_health" && segs[n - 2] == "HealthClient" {
                        if let Some(a) = c.args.first() {
                            self.handed.push(a);
                        }
                    } else {
                        self.other_client = true;
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
            if let Some(id) = p.path.get_ident() {
                *self.reads.entry(id.to_string()).or_default() += 1;
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        handed: Vec::new(),
        other_client: false,
        reads: Default::default(),
    };
    v.visit_block(body);
    !v.other_client
        && !v.handed.is_empty()
        && v.handed.iter().all(|a| match a {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| v.reads.get(&id.to_string()) == Some(&1)),
            _ => false,
        })
}

fn merge_builders(found: Vec<Found>) -> Vec<(Found, Vec<Deadline>)> {
    let mut out: Vec<(Found, Vec<Deadline>)> = Vec::new();
    for f in found {
        let d = Deadline {
            key: f.key,
            nanos: f.nanos,
            source: f.source.clone(),
        };
        let same = f.chain.and_then(|c| {
            out.iter_mut()
                .find(|(g, ds)| g.chain == Some(c) && ds.iter().all(|x| x.key != f.key))
        });
        match same {
            Some((_, ds)) => ds.push(d),
            None => out.push((f, vec![d])),
        }
    }
    out
}

fn violation(f: Found, deadlines: Vec<Deadline>) -> Violation {
    let mut values = BTreeMap::new();
    let mut sources = BTreeMap::new();
    for d in &deadlines {
        if let Some(n) = d.nanos {
            values.insert(d.key.to_string(), istio(n));
            if let Some(s) = &d.source {
                sources.insert(d.key.to_string(), s.at.clone());
            }
        }
    }
    destination_values(&f.dest, &mut values);
    let target = f.dest.target();
    // "(30s, default of `settings.timeout_secs`, src/settings.rs:12)"
    let value_of = |d: &Deadline| {
        d.nanos
            .map(|n| match &d.source {
                Some(s) => format!(" ({}, {})", istio(n), s.phrase()),
                None => format!(" ({})", istio(n)),
            })
            .unwrap_or_default()
    };
    let connect = deadlines.iter().find(|d| d.key == "connect_timeout");
    let request = deadlines.iter().find(|d| d.key != "connect_timeout");
    let (message, help) = match (request, connect) {
        (Some(r), Some(c)) => (
            format!(
                "client-side {}{target}{} and connect timeout{}; they hide the mesh route timeout and connection pool",
                f.what,
                value_of(r),
                value_of(c)
            ),
            "drop both; set `timeout` on the VirtualService route and \
             `connectionPool.tcp.connectTimeout` in a DestinationRule"
                .to_string(),
        ),
        (None, Some(c)) => (
            format!(
                "client connect timeout{target}{}; the mesh's connection pool sets it",
                value_of(c)
            ),
            "drop it and set `connectionPool.tcp.connectTimeout` in a DestinationRule".to_string(),
        ),
        (r, None) => (
            format!(
                "client-side {}{target}{}; it hides the mesh route timeout",
                f.what,
                r.map(value_of).unwrap_or_default()
            ),
            "drop the deadline and set `timeout` on the VirtualService route".to_string(),
        ),
    };
    Violation {
        range: f.range,
        message,
        help,
        values,
        sources,
    }
}

/// `.timeout(d)` / `.connect_timeout(d)` on clients, endpoints and futures,
/// and `select!` races.
struct MethodDeadlines<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    out: &'s mut Vec<Found>,
    /// The enclosing function: its name, its parameters (receiver left
    /// out) and how many there are, for the values its callers pass.
    fname: &'s str,
    params: &'s [(String, &'s syn::Type)],
    arity: usize,
}

/// Integer and duration types a caller's deadline arrives as.
fn is_duration_like(ty: &syn::Type) -> bool {
    let Some(path) = crate::analysis::scope::type_path(ty) else {
        return false;
    };
    let Some(last) = path.segments.last() else {
        return false;
    };
    match last.ident.to_string().as_str() {
        "Duration" | "u64" | "u32" | "u16" | "usize" | "i64" | "i32" | "f32" | "f64" => true,
        // A `timeout_at` deadline the caller hands in.
        "Instant" => true,
        "Option" => match &last.arguments {
            syn::PathArguments::AngleBracketed(a) => matches!(
                a.args.first(),
                Some(syn::GenericArgument::Type(t)) if is_duration_like(t)
            ),
            _ => false,
        },
        _ => false,
    }
}

/// The parameters of a signature with a name and a type, in order.
fn typed_params(sig: &syn::Signature) -> Vec<(String, &syn::Type)> {
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => match &*pt.pat {
                syn::Pat::Ident(pi) => Some((pi.ident.to_string(), &*pt.ty)),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

impl MethodDeadlines<'_, '_, '_> {
    /// Whether `e` is a duration the function's caller passes in: a
    /// parameter of a duration or integer type, through `let`s, `Some(..)`,
    /// `Duration::from_*` and plain conversions. `Some(Some(i))` for the
    /// function's `i`-th parameter, `Some(None)` for a closure's.
    fn passed_in(&self, e: &Expr, depth: u32) -> Option<Option<usize>> {
        if depth > 8 {
            return None;
        }
        let d = depth + 1;
        match e {
            Expr::Paren(p) => self.passed_in(&p.expr, d),
            Expr::Reference(r) => self.passed_in(&r.expr, d),
            Expr::Unary(u) => self.passed_in(&u.expr, d),
            Expr::Try(t) => self.passed_in(&t.expr, d),
            Expr::Cast(c) => self.passed_in(&c.expr, d),
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                let b = self.scan.scope.binding_at(id)?;
                match (b.init, b.ty) {
                    (Some(init), _) => self.passed_in(init, d),
                    (None, Some(ty)) if is_duration_like(ty) => {
                        let name = id.to_string();
                        Some(
                            self.params
                                .iter()
                                .position(|(n, t)| *n == name && std::ptr::eq(*t, ty)),
                        )
                    }
                    _ => None,
                }
            }
            // `request.timeout`, a field of a parameter that is not `self`:
            // an option of the caller's request.
            Expr::Field(f) => self.is_plain_param(&f.base).then_some(None),
            // `Some(t)`, `Duration::from_secs(secs)`, `Self::clamp(t, "op")?`.
            Expr::Call(c) => c.args.iter().find_map(|a| self.passed_in(a, d)),
            // `t.clone()`, `t.into()`, `timeout.map(..)`; an accessor of a
            // parameter that is not `self` (`ctx.timeout()`,
            // `request.deadline()`), like its field: the caller's option.
            Expr::MethodCall(m) if m.args.is_empty() || m.method == "map" => {
                self.passed_in(&m.receiver, d).or_else(|| {
                    (m.args.is_empty() && self.is_plain_param(&m.receiver)).then_some(None)
                })
            }
            _ => None,
        }
    }

    /// A parameter of the function (not `self`, not a `let`), also behind
    /// `&`: `ctx` in `ctx.timeout()`.
    fn is_plain_param(&self, e: &Expr) -> bool {
        let mut e = e;
        while let Expr::Reference(r) = e {
            e = &r.expr;
        }
        let Expr::Path(p) = e else { return false };
        p.path
            .get_ident()
            .and_then(|id| self.scan.scope.binding_at(id))
            .is_some_and(|b| b.init.is_none() && b.ty.is_some())
    }

    /// A plain name that no `let` or parameter of the function binds, also
    /// through `if let Some(t) = t` (whose `t` stands for the name it
    /// unwraps).
    fn pattern_bound(&self, e: &Expr) -> bool {
        self.pattern_bound_at(e, 0)
    }

    fn pattern_bound_at(&self, e: &Expr, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        match e {
            Expr::Paren(p) => self.pattern_bound_at(&p.expr, depth + 1),
            Expr::Reference(r) => self.pattern_bound_at(&r.expr, depth + 1),
            Expr::Unary(u) => self.pattern_bound_at(&u.expr, depth + 1),
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && ident_in(&m.method, &["clone", "as_ref", "as_deref", "cloned"]) =>
            {
                self.pattern_bound_at(&m.receiver, depth + 1)
            }
            Expr::Path(p) => {
                p.path
                    .get_ident()
                    .is_some_and(|id| match self.scan.scope.binding_at(id) {
                        None => !id.to_string().starts_with(|c: char| c.is_ascii_uppercase()),
                        // `let Params { timeout, .. } = params`.
                        Some(b) if b.field.is_some() => true,
                        Some(b) => {
                            b.ty.is_none()
                                && b.init.is_some_and(|i| {
                                    matches!(
                                        i,
                                        Expr::Path(_) | Expr::Reference(_) | Expr::MethodCall(_)
                                    ) && self.pattern_bound_at(i, depth + 1)
                                })
                        }
                    })
            }
            _ => false,
        }
    }

    /// What the requests this body makes on the client of builder chain
    /// `chain` (`let agent = Client::builder()...build()?; agent.get(URL)`)
    /// are: all probes of health endpoints, or all to one host they spell
    /// out; `Unknown` when the body makes none, or one to a host it does
    /// not spell out, or to two hosts, or hands the client on.
    fn client_requests(&self, body: &syn::Block, chain: usize) -> ClientRequests {
        struct V<'m, 's, 'e, 'a> {
            deadlines: &'m MethodDeadlines<'s, 'e, 'a>,
            chain: usize,
            dests: Vec<Destination>,
            unknown: bool,
            requests: usize,
            probes: usize,
            /// Names of the client (not of the requests and responses it
            /// makes) read anywhere in the body, and those read as the
            /// receiver of a request.
            mentions: usize,
            receivers: usize,
        }
        impl<'x> Visit<'x> for V<'_, '_, '_, '_> {
            fn visit_expr(&mut self, e: &'x Expr) {
                if matches!(e, Expr::Path(p) if p.path.get_ident().is_some())
                    && self.deadlines.chain_root(e) == Some(self.chain)
                    && matches!(self.deadlines.scan.kind_of(e, 0), Kind::HttpClient(_))
                {
                    self.mentions += 1;
                }
                syn::visit::visit_expr(self, e);
            }
            fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
                let verb = ident_in(
                    &m.method,
                    &["get", "post", "put", "patch", "delete", "head"],
                );
                let url = match m.args.len() {
                    1 if verb => m.args.first(),
                    2 if m.method == "request" => m.args.iter().nth(1),
                    _ => None,
                };
                if let Some(url) = url {
                    if self.deadlines.chain_root(&m.receiver) == Some(self.chain) {
                        let value = self.deadlines.scan.ev.eval(url);
                        self.requests += 1;
                        if matches!(&*m.receiver, Expr::Path(p) if p.path.get_ident().is_some()) {
                            self.receivers += 1;
                        }
                        if crate::analysis::probe::is_health_url(&value) {
                            self.probes += 1;
                        }
                        let d = Destination::from_value(&value);
                        if d.host.is_some() {
                            self.dests.push(d);
                        } else {
                            self.unknown = true;
                        }
                    }
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut v = V {
            deadlines: self,
            chain,
            dests: Vec::new(),
            unknown: false,
            requests: 0,
            probes: 0,
            mentions: 0,
            receivers: 0,
        };
        v.visit_block(body);
        // A client the body also hands on (stores, returns, passes, clones)
        // makes requests elsewhere too.
        if v.mentions != v.receivers {
            return ClientRequests::Unknown;
        }
        if v.requests > 0 && v.probes == v.requests {
            return ClientRequests::Probes;
        }
        let Some(first) = v.dests.first() else {
            return ClientRequests::Unknown;
        };
        if !v.unknown && v.dests.iter().all(Destination::is_node_local) {
            return ClientRequests::Local;
        }
        let agreed = v
            .dests
            .iter()
            .all(|d| d.host == first.host && d.port == first.port);
        if agreed && !v.unknown {
            ClientRequests::To(first.clone())
        } else {
            ClientRequests::Unknown
        }
    }

    /// The roots of the builder chains in `body` that are connected with a
    /// connector opening a Unix domain socket
    /// (`.connect_with_connector(service_fn(|_| UnixStream::connect(p)))`).
    fn unix_socket_chains(&self, body: &syn::Block) -> Vec<usize> {
        struct V<'m, 's, 'e, 'a> {
            deadlines: &'m MethodDeadlines<'s, 'e, 'a>,
            out: Vec<usize>,
        }
        impl<'x> Visit<'x> for V<'_, '_, '_, '_> {
            fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
                let connector = ident_in(
                    &m.method,
                    &["connect_with_connector", "connect_with_connector_lazy"],
                );
                if connector
                    && m.args.first().is_some_and(|a| {
                        crate::analysis::net::connects_over_unix_socket(self.deadlines.scan, a)
                    })
                {
                    self.out.extend(self.deadlines.chain_root(&m.receiver));
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut v = V {
            deadlines: self,
            out: Vec::new(),
        };
        v.visit_block(body);
        v.out
    }

    /// The root of a builder chain, through method calls and `let`s
    /// (`endpoint = endpoint.timeout(d)` after `let mut endpoint =
    /// Endpoint::new(..)?`), as an identity shared by its deadlines.
    fn chain_root(&self, e: &Expr) -> Option<usize> {
        let mut e = e;
        for _ in 0..MAX_CHAIN {
            match e {
                Expr::MethodCall(m) => e = &m.receiver,
                Expr::Try(t) => e = &t.expr,
                Expr::Await(a) => e = &a.base,
                Expr::Paren(p) => e = &p.expr,
                Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    let b = self.scan.scope.binding_at(id)?;
                    match b.init {
                        Some(init) => e = init,
                        // A parameter: its declared type is the root.
                        None => return b.ty.map(|t| t as *const syn::Type as usize),
                    }
                }
                _ => break,
            }
        }
        Some(e as *const Expr as usize)
    }

    fn method(&mut self, m: &syn::ExprMethodCall) {
        let method = m.method.to_string();
        let cx = self.scan.cx;
        if matches!(method.as_str(), "insert" | "append") && m.args.len() == 2 {
            self.grpc_timeout_header(m);
            return;
        }
        if matches!(method.as_str(), "with_timeout" | "with_connect_timeout") {
            self.object_store_options(m);
            return;
        }
        if matches!(
            method.as_str(),
            "connect_timeout" | "read_timeout" | "operation_timeout" | "operation_attempt_timeout"
        ) && self.aws_timeout_config(m)
        {
            return;
        }
        let key = match method.as_str() {
            "timeout" | "set_timeout" => "timeout",
            "connect_timeout" | "set_connect_timeout" => "connect_timeout",
            "read_timeout" => "read_timeout",
            _ => return,
        };
        // `client.read_timeout()`, `endpoint.timeout()`: a getter reads the
        // deadline (for an error message, to copy it); every setter takes one.
        if m.args.is_empty() {
            return;
        }
        // `timeout(None)` (reqwest's blocking builder, std sockets) turns
        // the deadline off: it sets none.
        if matches!(m.args.first(), Some(Expr::Path(p)) if p.path.is_ident("None")) {
            return;
        }
        // The duration, read once, with the configuration default it came from.
        let (arg_nanos, source) = match m.args.first() {
            Some(a) => {
                let (v, s) = self.scan.ev.eval_sourced(a);
                (v.as_duration_nanos(), s)
            }
            None => (None, None),
        };
        // A duration the caller hands in (a parameter): its value is what
        // the crate's calls spell out, when they agree.
        let passed = match (arg_nanos, m.args.first()) {
            (None, Some(a)) => self.passed_in(a, 0),
            _ => None,
        };
        let callers = passed
            .flatten()
            .and_then(|i| cx.index.param_duration(self.fname, self.arity, i));
        let arg_nanos = arg_nanos.or(callers.flatten());
        // On a single request or future, a parameter no call of the crate
        // fills is the caller's own deadline (an API request's timeout
        // forwarded to a peer), not one this code sets. A builder's stays:
        // that parameter is the client's configuration.
        let callers_deadline = passed.is_some() && callers.is_none();
        let arg = || arg_nanos;
        let range = cx.method_range(m);
        let kind = self.scan.kind_of(&m.receiver, 0);
        match kind {
            Kind::HttpClient(_) => {
                self.out.push(Found {
                    range,
                    key,
                    nanos: arg(),
                    dest: Destination::default(),
                    what: CLIENT_WIDE,
                    source: source.clone(),
                    chain: self.chain_root(&m.receiver),
                });
            }
            Kind::Grpc { url } => {
                // A channel to localhost is no mesh traffic.
                let Some(dest) = Destination::from_value(&url).meshable() else {
                    return;
                };
                self.out.push(Found {
                    range,
                    key,
                    nanos: arg(),
                    dest,
                    what: GRPC_CHANNEL,
                    source: source.clone(),
                    chain: self.chain_root(&m.receiver),
                });
            }
            // A known value is reported through the call's `request_timeout`;
            // one read at run time (`.timeout(self.timeout)`) here.
            Kind::Request { url, .. } => {
                if method != "timeout" || arg().is_some() || callers_deadline {
                    return;
                }
                // A name bound by a pattern (`if let Some(t) = timeout`,
                // `let Params { timeout, .. } = params`) is a value of
                // unknown origin, most often the caller's own deadline.
                if m.args.first().is_some_and(|a| self.pattern_bound(a)) {
                    return;
                }
                // A request to a peer's health endpoint is a probe, whose
                // deadline marks the peer down (as for a known value).
                if crate::analysis::probe::is_health_url(&url) {
                    return;
                }
                let Some(dest) = Destination::from_value(&url).meshable() else {
                    return;
                };
                self.out.push(Found {
                    range,
                    key,
                    nanos: None,
                    dest,
                    what: "request timeout on a network call",
                    source: None,
                    chain: None,
                });
            }
            _ => {
                if let Some(key) = self.config_setter(m) {
                    // `ChannelConfig::new().timeout(Some(d))`: `None`
                    // unsets the deadline.
                    let value = match m.args.first() {
                        Some(Expr::Call(c))
                            if c.args.len() == 1
                                && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some")) =>
                        {
                            Some(&c.args[0])
                        }
                        Some(Expr::Path(p)) if p.path.is_ident("None") => None,
                        a => a,
                    };
                    let Some(value) = value else { return };
                    let (v, source) = self.scan.ev.eval_sourced(value);
                    self.out.push(Found {
                        range,
                        key,
                        nanos: v.as_duration_nanos(),
                        dest: Destination::default(),
                        what: "timeout in a channel configuration its client builder applies",
                        source,
                        chain: self.chain_root(&m.receiver),
                    });
                    return;
                }
                if callers_deadline {
                    return;
                }
                if method == "set_timeout" && self.is_tonic_request(&m.receiver) {
                    self.out.push(Found {
                        range,
                        key,
                        nanos: arg(),
                        dest: Destination::default(),
                        what: "timeout on a gRPC request",
                        source: source.clone(),
                        chain: None,
                    });
                } else if method == "set_connect_timeout" && self.is_http_connector(&m.receiver) {
                    let nanos = match m.args.first() {
                        Some(Expr::Call(c)) => c
                            .args
                            .first()
                            .and_then(|a| self.scan.ev.eval(a).as_duration_nanos()),
                        _ => None,
                    };
                    self.out.push(Found {
                        range,
                        key,
                        nanos,
                        dest: Destination::default(),
                        what: "connect timeout on an HTTP connector",
                        source: None,
                        chain: None,
                    });
                } else if method == "timeout"
                    && m.args.len() == 1
                    && arg() != Some(0)
                    && !crate::analysis::retry::is_stream_receive(&m.receiver)
                    && !self.response_stream_items(&m.receiver)
                {
                    // `fut.timeout(d)` from tokio-util / futures-time.
                    let calls = self.scan.calls_in_expr(&m.receiver);
                    if !only_waits(self.scan, &[&*m.receiver], &calls)
                        && calls
                            .iter()
                            .any(|c| c.protocol.is_l7() && c.request_timeout.is_none())
                        && !matches!(&*m.receiver, Expr::MethodCall(r) if r.method == "send" && self.scan.kind_of(&r.receiver, 0) != Kind::Unknown)
                    {
                        self.out.push(Found {
                            range,
                            key,
                            nanos: arg(),
                            dest: l7_destination(&calls),
                            what: "timeout wraps a network call",
                            source: source.clone(),
                            chain: None,
                        });
                    }
                }
            }
        }
    }

    /// `response.into_inner().timeout(d)` in a file that imports
    /// tokio-stream's `StreamExt`: the body of a gRPC response is its
    /// message or its stream of messages, and a message has no `timeout`,
    /// so this is the stream's: a limit on the wait for each next message
    /// of a long-lived stream, not a deadline on the call (a route timeout
    /// would end the whole stream).
    fn response_stream_items(&self, recv: &Expr) -> bool {
        let into_inner = matches!(
            crate::analysis::paths::unwrap_parens_refs(recv),
            Expr::MethodCall(r) if r.method == "into_inner" && r.args.is_empty()
        );
        into_inner
            && self
                .scan
                .cx
                .uses
                .get("StreamExt")
                .is_some_and(|p| p.first().is_some_and(|k| k == "tokio_stream"))
    }

    /// object_store's `ClientOptions::new().with_timeout(d)` /
    /// `with_connect_timeout(d)` (also on a `let` of the chain): the HTTP
    /// client options a store builder takes (`with_client_options`), so
    /// deadlines of every request the store makes. Reported at the setter,
    /// one finding per options chain.
    fn object_store_options(&mut self, m: &syn::ExprMethodCall) {
        let cx = self.scan.cx;
        let Some(path) = chain_call_path(self.scan.scope, &m.receiver) else {
            return;
        };
        let segs = cx.uses.resolve_shared(path);
        let options = segs.first().is_some_and(|k| k == "object_store")
            && (ends_with(&segs, &["ClientOptions", "new"])
                || ends_with(&segs, &["ClientOptions", "default"]));
        if !options || m.args.len() != 1 {
            return;
        }
        let key = if m.method == "with_timeout" {
            "timeout"
        } else {
            "connect_timeout"
        };
        self.options_setter(
            m,
            key,
            "timeout in object_store client options, for every request of the store",
        );
    }

    /// A deadline set on a client's options (`m`, one argument), for every
    /// request of the client; no destination: the options name none.
    fn options_setter(&mut self, m: &syn::ExprMethodCall, key: &'static str, what: &'static str) {
        let (v, source) = self.scan.ev.eval_sourced(&m.args[0]);
        self.out.push(Found {
            range: self.scan.cx.method_range(m),
            key,
            nanos: v.as_duration_nanos(),
            dest: Destination::default(),
            what,
            source,
            chain: self.chain_root(&m.receiver),
        });
    }

    /// A deadline of the AWS SDK's `TimeoutConfig::builder()` chain (also
    /// through `let`s), which a client configuration's `.timeout_config(..)`
    /// applies to every request of the client: `connect_timeout`,
    /// `read_timeout`, `operation_timeout` (the whole call, retries
    /// included: `timeout`) and `operation_attempt_timeout` (each attempt:
    /// `per_try_timeout`). Returns whether the chain is one.
    fn aws_timeout_config(&mut self, m: &syn::ExprMethodCall) -> bool {
        let cx = self.scan.cx;
        let Some(path) = chain_call_path(self.scan.scope, &m.receiver) else {
            return false;
        };
        let segs = cx.uses.resolve_shared(path);
        let aws = segs.first().is_some_and(|k| {
            matches!(k.as_str(), "aws_config" | "aws_smithy_types" | "aws_types")
                || k.starts_with("aws_sdk_")
        });
        if !aws || !ends_with(&segs, &["TimeoutConfig", "builder"]) || m.args.len() != 1 {
            return false;
        }
        let key = match m.method.to_string().as_str() {
            "connect_timeout" => "connect_timeout",
            "read_timeout" => "read_timeout",
            "operation_timeout" => "timeout",
            _ => "per_try_timeout",
        };
        self.options_setter(
            m,
            key,
            "timeout in an AWS SDK client's configuration, for every request of the client",
        );
        true
    }

    /// The deadline a setter of the crate's own configuration type stores
    /// for a client builder (`ChannelConfig::new().timeout(..)`, also on a
    /// `let` or `.clone()` of such a chain): `timeout` or `connect_timeout`.
    fn config_setter(&self, m: &syn::ExprMethodCall) -> Option<&'static str> {
        let cx = self.scan.cx;
        let mut e: &Expr = &m.receiver;
        for _ in 0..MAX_CHAIN {
            match e {
                Expr::MethodCall(r) => e = &r.receiver,
                Expr::Paren(p) => e = &p.expr,
                Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    e = self.scan.scope.binding_at(id)?.init?;
                }
                Expr::Call(c) => {
                    let Expr::Path(p) = &*c.func else { return None };
                    let segs = cx.uses.resolve_shared(&p.path);
                    let ty = segs.len().checked_sub(2).map(|i| segs[i].as_str())?;
                    return match cx.index.config_deadline(ty, &m.method.to_string())? {
                        "timeout" => Some("timeout"),
                        "connect_timeout" => Some("connect_timeout"),
                        _ => None,
                    };
                }
                _ => return None,
            }
        }
        None
    }

    fn binding_root_is(&self, e: &Expr, tail: &[&str]) -> bool {
        let cx = self.scan.cx;
        let mut e = e;
        for _ in 0..4 {
            match e {
                Expr::Path(p) => {
                    let Some(id) = p.path.get_ident() else {
                        return false;
                    };
                    let Some(b) = self.scan.scope.binding_at(id) else {
                        return false;
                    };
                    let Some(init) = b.init else { return false };
                    e = init;
                }
                Expr::MethodCall(m) => e = &m.receiver,
                Expr::Reference(r) => e = &r.expr,
                Expr::Call(c) => {
                    return matches!(&*c.func, Expr::Path(p) if ends_with(&cx.uses.resolve_shared(&p.path), tail));
                }
                _ => return false,
            }
        }
        false
    }

    fn is_tonic_request(&self, e: &Expr) -> bool {
        let tonic = self.scan.cx.uses.imports_from("tonic");
        if self.binding_root_is(e, &["Request", "new"])
            && (tonic || self.binding_root_is(e, &["tonic", "Request", "new"]))
        {
            return true;
        }
        // A request received as a parameter (`mut req: tonic::Request<T>`).
        self.declared_type(e).is_some_and(|segs| {
            ends_with(&segs, &["tonic", "Request"])
                || tonic && segs.len() == 1 && segs[0] == "Request"
        })
    }

    /// The declared type of a local or parameter named by `e`, its path
    /// expanded through the file's imports.
    fn declared_type(&self, e: &Expr) -> Option<Vec<String>> {
        let Expr::Path(p) = e else { return None };
        let id = p.path.get_ident()?;
        let ty = self.scan.scope.binding_at(id)?.ty?;
        crate::analysis::scope::type_path(ty).map(|path| self.scan.cx.uses.resolve(path))
    }

    /// `req.metadata_mut().insert("grpc-timeout", "5S".parse()?)`: an
    /// interceptor that sets the deadline every call sends.
    fn grpc_timeout_header(&mut self, m: &syn::ExprMethodCall) {
        let Expr::MethodCall(recv) = &*m.receiver else {
            return;
        };
        if recv.method != "metadata_mut" && recv.method != "headers_mut" {
            return;
        }
        let ev = &self.scan.ev;
        if ev.eval(&m.args[0]).as_str() != Some("grpc-timeout") {
            return;
        }
        let nanos = ev.eval(&m.args[1]).as_str().and_then(grpc_timeout_nanos);
        self.out.push(Found {
            range: self.scan.cx.method_range(m),
            key: "timeout",
            nanos,
            dest: Destination::default(),
            what: "`grpc-timeout` deadline on every gRPC request",
            source: None,
            chain: None,
        });
    }

    /// Built here with `HttpConnector::new()`, or received as one
    /// (`connector: &mut HttpConnector`).
    fn is_http_connector(&self, e: &Expr) -> bool {
        if self.binding_root_is(e, &["HttpConnector", "new"]) {
            return true;
        }
        self.declared_type(e)
            .is_some_and(|segs| ends_with(&segs, &["HttpConnector"]))
    }

    /// The destination of a client a tower layer is put over: a tonic
    /// channel or client, an HTTP client, or the crate's own `Service`
    /// whose `call` reaches the network (a wrapper of a hyper client).
    /// `None` for anything else, in-process services included.
    fn client_service(&self, e: &Expr) -> Option<Destination> {
        match self.scan.kind_of(e, 0) {
            Kind::Grpc { url } => return Some(Destination::from_value(&url)),
            Kind::HttpClient(_) => return Some(Destination::default()),
            Kind::Unknown => {}
            _ => return None,
        }
        let recv = self.scan.receiver_decl(e, 0)?;
        let net = self.scan.cx.index.net_of_receiver(&recv, "call")??;
        net.protocol.is_l7().then(|| net.dest.clone())
    }

    /// The duration of `TimeoutLayer::new(d)` (tower's or the crate's copy
    /// of it), through a `let`: `Some(None)` when the value is unknown.
    fn timeout_layer_new(&self, e: &Expr, depth: u32) -> Option<Option<u128>> {
        match e {
            Expr::Paren(p) => self.timeout_layer_new(&p.expr, depth),
            Expr::Reference(r) => self.timeout_layer_new(&r.expr, depth),
            Expr::Path(p) if depth < 4 => {
                let id = p.path.get_ident()?;
                let init = self.scan.scope.binding_at(id)?.init?;
                self.timeout_layer_new(init, depth + 1)
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let cx = self.scan.cx;
                let segs = cx.uses.resolve_shared(&p.path);
                let own_copy = segs.len() >= 2
                    && segs[segs.len() - 1] == "new"
                    && cx.index.is_timeout_layer(&segs[segs.len() - 2]);
                if !(ends_with(&segs, &["TimeoutLayer", "new"]) || own_copy) {
                    return None;
                }
                Some(
                    c.args
                        .first()
                        .and_then(|a| self.scan.ev.eval(a).as_duration_nanos()),
                )
            }
            _ => None,
        }
    }

    /// `TimeoutLayer::new(d).layer(client)`: the layer applied by hand,
    /// not through `ServiceBuilder`, over a client.
    fn layer_applied(&mut self, m: &syn::ExprMethodCall) {
        if m.method != "layer" || m.args.len() != 1 {
            return;
        }
        let Some(nanos) = self.timeout_layer_new(&m.receiver, 0) else {
            return;
        };
        let Some(dest) = self.client_service(&m.args[0]) else {
            return;
        };
        self.out.push(Found {
            range: self.scan.cx.method_range(m),
            key: "timeout",
            nanos,
            dest,
            what: "tower timeout on a client service",
            source: None,
            chain: None,
        });
    }

    /// `ServiceBuilder::new().timeout(d).service(client)` and
    /// `.layer(TimeoutLayer::new(d))` on a client stack. On a server router
    /// the same layer is server policy and stays out.
    fn tower_client_stack(&mut self, m: &syn::ExprMethodCall) {
        if m.method != "service" || m.args.len() != 1 {
            return;
        }
        let Some(dest) = self.client_service(&m.args[0]) else {
            return;
        };
        let cx = self.scan.cx;
        let mut e: &Expr = &m.receiver;
        let mut is_builder = false;
        let mut found = Vec::new();
        while let Expr::MethodCall(step) = e {
            if step.method == "timeout" {
                let nanos = step
                    .args
                    .first()
                    .and_then(|a| self.scan.ev.eval(a).as_duration_nanos());
                found.push((cx.method_range(step), nanos));
            } else if step.method == "layer" {
                if let Some(Expr::Call(c)) = step.args.first() {
                    if let Expr::Path(p) = &*c.func {
                        let segs = cx.uses.resolve_shared(&p.path);
                        // tower's own, or the crate's copy of it.
                        let own_copy = segs.len() >= 2
                            && segs[segs.len() - 1] == "new"
                            && cx.index.is_timeout_layer(&segs[segs.len() - 2]);
                        if ends_with(&segs, &["TimeoutLayer", "new"]) || own_copy {
                            let nanos = c
                                .args
                                .first()
                                .and_then(|a| self.scan.ev.eval(a).as_duration_nanos());
                            found.push((cx.method_range(step), nanos));
                        }
                    }
                }
            }
            e = &step.receiver;
        }
        if let Expr::Call(c) = e {
            if let Expr::Path(p) = &*c.func {
                is_builder =
                    ends_with(&cx.uses.resolve_shared(&p.path), &["ServiceBuilder", "new"]);
            }
        }
        if !is_builder {
            return;
        }
        for (range, nanos) in found {
            self.out.push(Found {
                range,
                key: "timeout",
                nanos,
                dest: dest.clone(),
                what: "tower timeout on a client stack",
                source: None,
                chain: None,
            });
        }
    }

    fn select(&mut self, mac: &syn::Macro) {
        let cx = self.scan.cx;
        let Some(MacroBody::Select(arms)) = cx.macros.get(mac) else {
            return;
        };
        let mut sleep = None;
        let mut calls = Vec::new();
        let mut futures = Vec::new();
        for arm in arms {
            if let Expr::Call(c) = &arm.future {
                if let Expr::Path(p) = &*c.func {
                    let segs = cx.uses.resolve_shared(&p.path);
                    if ends_with(&segs, &["sleep"]) {
                        sleep = Some(
                            c.args
                                .first()
                                .map(|a| (a, self.scan.ev.eval(a).as_duration_nanos())),
                        );
                        continue;
                    }
                }
            }
            calls.extend(self.scan.calls_in_expr(&arm.future));
            futures.push(&arm.future);
        }
        let Some(sleep) = sleep else { return };
        if !calls.iter().any(|c| c.protocol.is_l7())
            || only_waits(self.scan, &futures, &calls)
            || only_probes(&calls)
        {
            return;
        }
        // A sleep on a duration the caller hands in is read as the same
        // duration given to `timeout(d, fut)`: the value the crate's calls
        // agree on, and no finding when none spells one out (the caller's
        // own deadline, e.g. a per-request option it forwards).
        let mut nanos = sleep.and_then(|(_, n)| n);
        if let (None, Some((arg, _))) = (nanos, sleep) {
            if self.pattern_bound(arg) {
                return;
            }
            if let Some(passed) = self.passed_in(arg, 0) {
                match passed.and_then(|i| cx.index.param_duration(self.fname, self.arity, i)) {
                    None => return,
                    Some(agreed) => nanos = agreed,
                }
            }
        }
        let range = cx.node_range(mac);
        self.out.push(Found {
            range,
            key: "timeout",
            nanos,
            dest: l7_destination(&calls),
            what: "`select!` races a sleep against a network call",
            source: None,
            chain: None,
        });
    }
}

/// The gRPC wire format of a deadline: digits and one unit letter
/// (`H`, `M`, `S`, `m`, `u`, `n`).
fn grpc_timeout_nanos(s: &str) -> Option<u128> {
    let unit = s.chars().last()?;
    let n: u128 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let mult: u128 = match unit {
        'H' => 3_600_000_000_000,
        'M' => 60_000_000_000,
        'S' => 1_000_000_000,
        'm' => 1_000_000,
        'u' => 1_000,
        'n' => 1,
        _ => return None,
    };
    n.checked_mul(mult)
}

impl<'b> Visit<'b> for MethodDeadlines<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'b syn::ExprMethodCall) {
        self.method(m);
        self.tower_client_stack(m);
        self.layer_applied(m);
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, mac: &'b syn::Macro) {
        let name = crate::analysis::macros::macro_name(mac);
        if name == "select" || name == "select_biased" {
            self.select(mac);
        }
        let cx = self.scan.cx;
        for e in cx.macros.exprs(mac) {
            let mut inner = MethodDeadlines {
                scan: self.scan,
                out: self.out,
                fname: self.fname,
                params: self.params,
                arity: self.arity,
            };
            inner.visit_expr(e);
        }
    }
    // A `static` inside a body (`static CLIENT: LazyLock<Client> = ..`)
    // builds its client here; other items are bodies of their own.
    fn visit_item(&mut self, i: &'b syn::Item) {
        if let syn::Item::Static(s) = i {
            self.visit_expr(&s.expr);
        }
    }
}

/// Initialisers of the file's `static`s outside functions, in inline
/// modules too: `static CLIENT: LazyLock<Client> = LazyLock::new(|| ..)`
/// and `lazy_static! { static ref CLIENT: Client = ..; }`.
fn static_inits<'a>(items: &'a [syn::Item], out: &mut Vec<StaticInit<'a>>) {
    for item in items {
        match item {
            syn::Item::Static(s) => out.push(StaticInit::Borrowed(&s.expr)),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    static_inits(inner, out);
                }
            }
            syn::Item::Macro(m) if crate::analysis::macros::macro_name(&m.mac) == "lazy_static" => {
                out.extend(
                    lazy_statics(&m.mac)
                        .into_iter()
                        .map(|e| StaticInit::Owned(Box::new(e))),
                );
            }
            _ => {}
        }
    }
}

enum StaticInit<'a> {
    Borrowed(&'a Expr),
    Owned(Box<Expr>),
}

/// The initialisers of `lazy_static!`'s `[pub] static ref NAME: Type = expr;`
/// items; nothing when the body does not read that way.
fn lazy_statics(mac: &syn::Macro) -> Vec<Expr> {
    use syn::parse::Parser;
    let parser = |input: syn::parse::ParseStream<'_>| {
        let mut out = Vec::new();
        while !input.is_empty() {
            input.call(syn::Attribute::parse_outer)?;
            input.parse::<syn::Visibility>()?;
            input.parse::<syn::Token![static]>()?;
            input.parse::<syn::Token![ref]>()?;
            input.parse::<syn::Ident>()?;
            input.parse::<syn::Token![:]>()?;
            input.parse::<syn::Type>()?;
            input.parse::<syn::Token![=]>()?;
            out.push(input.parse::<Expr>()?);
            input.parse::<syn::Token![;]>()?;
        }
        Ok(out)
    };
    parser.parse2(mac.tokens.clone()).unwrap_or_default()
}

/// The path of the function called at the root of a method chain
/// (`ClientOptions::new()` of `ClientOptions::new().with_timeout(d)`),
/// through parentheses and `let`s of the chain; `None` when the chain
/// starts elsewhere (a parameter, a field, a closure's result).
fn chain_call_path<'e>(scope: &'e FnScope<'e>, mut e: &'e Expr) -> Option<&'e syn::Path> {
    for _ in 0..MAX_CHAIN {
        match e {
            Expr::MethodCall(r) => e = &r.receiver,
            Expr::Paren(p) => e = &p.expr,
            Expr::Path(p) => e = scope.binding_at(p.path.get_ident()?)?.init?,
            Expr::Call(c) => {
                return match &*c.func {
                    Expr::Path(p) => Some(&p.path),
                    _ => None,
                }
            }
            _ => return None,
        }
    }
    None
}
