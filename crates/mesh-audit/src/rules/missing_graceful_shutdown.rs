//! # missing-graceful-shutdown
//!
//! ## What it finds
//! A server that never receives a shutdown signal: `axum::serve` (and
//! hyper/axum 0.6 `Server::bind(..).serve(..)`) without
//! `.with_graceful_shutdown(..)`, tonic `Server::builder()..serve(addr)` or
//! `serve_with_incoming` instead of `serve_with_shutdown` /
//! `serve_with_incoming_shutdown`, `warp::serve(..).run(..)` instead of
//! `bind_with_graceful_shutdown` / `.graceful(..)`, poem `run` instead of
//! `run_with_graceful_shutdown`, `axum_server` without a `Handle`, salvo
//! without `stop_graceful`, and hyper 1 `serve_connection` without
//! `graceful_shutdown` (also called by its path,
//! `http2::Connection::graceful_shutdown(conn.as_mut())`) or
//! `GracefulShutdown`. actix-web drains on SIGTERM by itself, so it is
//! reported only after `.disable_signals()` with no `ServerHandle::stop`
//! call; rocket drains by itself too. Servers of one framework started in
//! the two branches of one `if` (`if tls { axum_server::bind_rustls(..) ..
//! } else { axum_server::bind(..) .. }`) or in the arms of one `match`
//! (`match tls { Enabled(cfg) => .., Disabled => .. }`) are one listener
//! set up one of two ways: one finding, at the first. A tonic builder that
//! a `let` picks in a `match` or `if` (`let b = match certs { Some(c) =>
//! Server::builder().tls_config(c)?, None => Server::builder() };` then
//! `b.add_service(svc).serve(addr)`) is read through the branches, when
//! every branch that yields a builder yields one of the same framework.
//!
//! ## Why it breaks under a mesh
//! When Kubernetes terminates a pod it sends SIGTERM to every container, and
//! SIGKILL after `terminationGracePeriodSeconds` (30 s by default). At the
//! same time the endpoint is removed from the Service, but the sidecars of
//! the callers learn it a moment later. A server that ignores SIGTERM dies
//! with its in-flight requests (the default signal action), and requests
//! still routed to it fail with resets. A server that stops accepting and
//! finishes what it has (drains) on SIGTERM loses nothing.
//!
//! ## Example
//! ```text
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(listener, app).await?;
//! ```
//!
//! ## Use instead
//! Drain on SIGTERM (and Ctrl-C for local runs):
//! ```text
//! async fn shutdown_signal() {
//!     let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
//!     tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }
//! }
//! axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
//! ```
//! For tonic: `Server::builder().add_service(svc).serve_with_shutdown(addr, shutdown_signal())`.
//!
//! ## Mesh config
//! None in Istio. On the Kubernetes side: keep `terminationGracePeriodSeconds`
//! longer than the longest request, optionally add a short `preStop` sleep so
//! the callers' sidecars stop routing before the server stops accepting, and
//! make the sidecar outlive the app (a native sidecar container, or
//! `proxy.istio.io/config: '{"terminationDrainDuration": "20s"}'`).
//!
//! ## Not reported
//! actix-web and rocket servers with their default signal handling, servers
//! whose future is raced against a signal in `select!` (also by the name of
//! the `let` that holds it: `let conn = builder.serve_connection(..);` then
//! `select! { r = conn => .., _ = token.cancelled() => .. }`), server
//! values handed to another function (which may wire the signal) or
//! returned to the caller unawaited (`fn start(..) -> impl Future {
//! axum_server::from_tcp(l).serve(app) }`, also in `Ok(..)`, `.boxed()`, a
//! struct field, an async block handed back as a boxed future, the value
//! of an async block the function awaits, also under a deadline,
//! `timeout(d, async { ..; Ok(conn) }).await?`: the caller
//! may race it against a signal; a spawned server is reported), hyper
//! connections of a hand-written accept loop that stops accepting when told
//! to (a `while` on a stop flag, or a `select!` racing the accept, or the
//! arm whose handler serves the connection, against a future whose arm
//! leaves the loop; a server started in an arm's handler is not itself
//! raced), listeners that are only bound, tonic servers fed a fixed
//! in-process stream of connections
//! (`serve_with_incoming(stream::iter([Ok(duplex_half)]))`: no port, no
//! probe, no sidecar) or the connections of a Unix domain socket
//! (`serve_with_incoming(UnixListenerStream::new(l))`, a CSI driver's
//! socket, also a listener of the crate's own type built from a path the
//! function deletes first: `remove_file(&p)` then `Incoming::bind(&p)`, the
//! stale socket file's clean-up), hyper connections served inside an upgraded request
//! (`serve_connection` over `hyper::upgrade::on(req)`, a CONNECT tunnel, or
//! a TLS stream opened in one: they end with the request the outer server
//! accepted), a server started in both branches of an `if` on a flag that
//! says whether to drain (`if graceful_shutdown { serve.with_graceful_shutdown(s) }
//! else { serve }`, a name or field with `graceful`, `shutdown` or `drain`
//! in it): the drain is there and the flag is configuration (a flag that
//! chooses anything else, `if compress`, leaves the other branch reported),
//! servers whose every route is a health check, the metrics
//! scrape, a diagnostics page or an operator's endpoint (`/healthz`,
//! `/readyz`, `/metrics`, `/traceconfigz`, `/statusz`, `/debug/pprof/..`,
//! `/admin/..`: no client request is cut, only a probe, a scrape or an
//! operator's request; a path not in those namespaces, `/log_level`, is
//! the service's own; a path read at run time from a value named
//! for the probe, `let p = &cfg.liveness.path; .route(p, ..)`, is a health
//! route; a router a struct literal of the file stores in the field a
//! method serves, `self.probes`, is read where that one literal builds it;
//! for a hand-written hyper service, the paths
//! its handler's one `match` on the request path answers, `(&Method::GET,
//! "/metrics") => ..`, beside a catch-all that does not pass the request
//! on), and test code.

use rustc_hash::FxHashSet as HashSet;
use std::collections::BTreeMap;

use crate::analysis::lifecycle::{
    byte_range, is_health_path, is_operator_path, is_zpage, Server, Shutdown,
};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "missing-graceful-shutdown",
    Info,
    Networking,
    "server never wired to a shutdown signal: a rollout cuts its in-flight requests",
    "missing_graceful_shutdown.rs"
);

pub struct MissingGracefulShutdown;

impl Rule for MissingGracefulShutdown {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        for (f, lc) in cx.functions().iter().zip(cx.lifecycles()) {
            let alternatives = alternative_starts(f.body, &lc.servers);
            for s in &lc.servers {
                if s.shutdown != Shutdown::Missing
                    || serves_probes_only(&s.routes)
                    || alternatives.contains(&s.start)
                {
                    continue;
                }
                let fix = match s.framework {
                    "tonic" => "`serve_with_shutdown(addr, signal)`",
                    "actix-web" => {
                        "`server.handle().stop(true)` on SIGTERM, or drop `disable_signals()`"
                    }
                    "warp" => "`bind_with_graceful_shutdown(addr, signal)`",
                    "poem" => "`run_with_graceful_shutdown(app, signal, timeout)`",
                    "salvo" => "`server.handle().stop_graceful(..)` on SIGTERM",
                    "hyper" => {
                        "`GracefulShutdown::watch` for each connection and `shutdown()` on SIGTERM"
                    }
                    _ => "`.with_graceful_shutdown(signal)`",
                };
                out.push(Violation {
                sources: Default::default(),
                    range: s.range,
                    message: format!(
                        "{} server is never told to shut down: on SIGTERM it dies with its in-flight requests",
                        s.framework
                    ),
                    help: format!(
                        "Kubernetes sends SIGTERM, then SIGKILL after the grace period: drain on SIGTERM with {fix}"
                    ),
                    values: BTreeMap::from([
                        ("framework".to_string(), s.framework.to_string()),
                        ("signal".to_string(), "SIGTERM".to_string()),
                    ]),
                });
            }
        }
    }
}

/// Servers started in the `else` of an `if` whose `then` starts a server
/// of the same framework without a drain too (`if tls {
/// axum_server::bind_rustls(a, cfg).serve(app).await } else {
/// axum_server::bind(a).serve(app).await }`): one listener in one of two
/// set-ups, reported once, at the first.
fn alternative_starts(body: &syn::Block, servers: &[Server]) -> HashSet<usize> {
    use syn::visit::Visit;
    struct Ifs<'s> {
        servers: &'s [Server],
        out: HashSet<usize>,
    }
    impl<'x> Visit<'x> for Ifs<'_> {
        fn visit_expr_if(&mut self, i: &'x syn::ExprIf) {
            if let Some((_, els)) = &i.else_branch {
                let then = byte_range(&i.then_branch);
                let other = byte_range(&**els);
                let missing = |r: &std::ops::Range<usize>| {
                    self.servers
                        .iter()
                        .filter(|s| s.shutdown == Shutdown::Missing && r.contains(&s.start))
                        .collect::<Vec<_>>()
                };
                let first = missing(&then);
                for s in missing(&other) {
                    if first.iter().any(|t| t.framework == s.framework) {
                        self.out.insert(s.start);
                    }
                }
            }
            syn::visit::visit_expr_if(self, i);
        }
        // The arms of one `match` (`match tls { Enabled(cfg) =>
        // axum_server::bind_rustls(a, cfg).serve(app).await?, Disabled =>
        // axum_server::bind(a).serve(app).await? }`): one of them runs.
        fn visit_expr_match(&mut self, m: &'x syn::ExprMatch) {
            let mut earlier: Vec<&str> = Vec::new();
            for arm in &m.arms {
                let r = byte_range(&*arm.body);
                let here: Vec<&Server> = self
                    .servers
                    .iter()
                    .filter(|s| s.shutdown == Shutdown::Missing && r.contains(&s.start))
                    .collect();
                for s in &here {
                    if earlier.contains(&s.framework) {
                        self.out.insert(s.start);
                    }
                }
                earlier.extend(here.iter().map(|s| s.framework));
            }
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    if servers.len() < 2 {
        return HashSet::default();
    }
    let mut v = Ifs {
        servers,
        out: HashSet::default(),
    };
    v.visit_block(body);
    v.out
}

/// Every route of the app is a health check, the metrics scrape, a
/// diagnostics page (`/traceconfigz` beside `/healthz`) or an operator's
/// endpoint (`/admin/..`, `/debug/..`): the server carries no requests of
/// the service's clients. Cut on SIGTERM, it loses a probe the kubelet
/// stops sending anyway, one scrape, or a request an operator sends again.
fn serves_probes_only(routes: &Option<Vec<String>>) -> bool {
    routes.as_ref().is_some_and(|r| {
        !r.is_empty()
            && r.iter().all(|p| {
                is_health_path(p, &[])
                    || is_operator_path(p)
                    || is_zpage(p)
                    || matches!(
                        p.trim_start_matches('/').split('/').next(),
                        Some("metrics" | "prometheus")
                    )
            })
    })
}
