//! # missing-health-endpoint
//!
//! ## What it finds
//! A server (axum, actix-web, warp, hyper, poem, rocket, salvo, tonic) in a
//! crate that registers no health route anywhere: no `/healthz`, `/health`,
//! `/livez`, `/readyz`, `/ready`, `/ping`, `/live`, `/heartbeat` (a route
//! counts when one of its path segments is such a name, also between
//! underscores as in `/__heartbeat__`, `/__lbheartbeat__` or `/_health`,
//! when it is the top-level `/status` or `/up`, or when it matches a path
//! of the `health-paths` option) and no tonic-health service. Routes are
//! read from every file
//! of the crate (and from the crate's own `macro_rules!` where a file
//! invokes one):
//! `.route(..)`, `.nest(..)`, `.at(..)`, `.api_route(..)` (aide),
//! `web::resource(..)`, `web::scope(..)` (also utoipa-actix-web's
//! `scope(..)`), `#[get("/health")]` (also a
//! wrapper macro's `path = "/health"`, or `path = "crate::ROUTES.meta.health"`,
//! the route table field that holds the path, read by its last name),
//! `warp::path("health")` and `path!(..)`, route tables given to an
//! attribute macro (`#[api(routes("/health" => get(health)))]`, which
//! generates the registration), a hand-written router's registration that
//! keys a handler by an HTTP method and a path (`.on(Method::GET, "/livez",
//! h)`, `table.insert((Method::GET, "/livez"), h)`; not a call that makes a
//! request, `client.request(Method::GET, "/livez")`), a path read at run
//! time from a value named for a health route (`cfg.health_path`, the
//! `path` field of a `LIVENESS_ENDPOINT` constant), and string patterns matched
//! against a request's `.path()` in a hand-written hyper service; a hyper
//! service made of one handler named for a health check
//! (`serve_connection(io, service_fn(liveness_probe))`: a probe listener of
//! its own, which answers on any path of its port) counts too. Routes
//! and tonic-health services of the workspace crates it depends on (a
//! routes or api crate that the server crate mounts) count too. One
//! finding per server, at the call that starts it.
//!
//! ## Why it breaks under a mesh
//! Without a health route, the readiness probe has nothing to ask, so it is
//! left out or pointed at `/` (which may need authentication or do real
//! work). The pod is then "ready" as soon as the container starts, before
//! the server listens or while it is wedged, and the sidecars of its callers
//! route requests to it that fail. Istio rewrites HTTP probes to go through
//! the sidecar's agent (port 15020), which forwards them to the application
//! port: the application must answer them itself.
//!
//! ## Example
//! ```text
//! let app = Router::new().route("/orders", get(list_orders));
//! axum::serve(listener, app).await?;
//! ```
//!
//! ## Use instead
//! ```text
//! let app = Router::new()
//!     .route("/orders", get(list_orders))
//!     .route("/healthz", get(|| async { "ok" }));
//! ```
//! For tonic, serve `tonic_health::server::health_reporter()`'s service.
//!
//! ## Mesh config
//! None in Istio. On the Kubernetes side, point the probes at the
//! application port (not the sidecar's 15021):
//! ```text
//! readinessProbe:
//!   httpGet: { path: /healthz, port: 8080 }
//! ```
//! (for gRPC: `grpc: { port: 50051 }`).
//!
//! ## Options
//! `health-paths` (array of strings): more paths that count as health routes,
//! e.g. `["/api/v1/status"]`.
//!
//! ## Not reported
//! A second server whose routes are all metrics, admin or debug endpoints
//! (`/metrics`, `/admin/..`, `/debug/..`), a hand-written hyper service
//! whose handler never reads the request (`service_fn(handler)` with
//! `_: Request<..>`: every path, the probe's too, gets its one answer),
//! servers in library crates (no `fn main`) and servers whose app is a
//! parameter (the caller builds the routes, maybe in another crate),
//! listeners that are only bound, servers on a Unix domain socket (axum
//! on a `UnixListener`, tonic fed a `UnixListenerStream` or a stream a
//! block builds from a `UnixListener` it binds, or a listener of the
//! crate's own type built from a path the function deletes first: no probe
//! reaches them), and
//! test code. A health route anywhere in
//! the crate silences the rule for every server of the crate.

use std::collections::BTreeMap;

use crate::analysis::lifecycle::{health_option, is_admin_path, is_health_path, Shutdown};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, OptionKind, Rule, RuleMeta, Violation};

rule_meta!(
    "missing-health-endpoint",
    Warning,
    Networking,
    "server without a health route: readiness probes cannot tell when the pod can serve",
    "missing_health_endpoint.rs",
    options: &[(
        "health-paths",
        OptionKind::StringList,
        "more route paths that count as health routes"
    )]
);

pub struct MissingHealthEndpoint;

impl Rule for MissingHealthEndpoint {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, config: &RuleConfig, out: &mut Vec<Violation>) {
        let extra = health_option(config);
        // A library's server is started, and its routes completed, by the
        // program that uses it.
        if !cx.index.has_main()
            || cx.index.has_grpc_health()
            || cx
                .index
                .route_paths()
                .iter()
                .any(|p| is_health_path(p, &extra))
        {
            return;
        }
        for lc in cx.lifecycles() {
            for s in &lc.servers {
                if s.shutdown == Shutdown::Unknown || s.app_from_caller || s.answers_every_path {
                    continue;
                }
                if let Some(routes) = &s.routes {
                    if !routes.is_empty() && routes.iter().all(|r| is_admin_path(r)) {
                        continue;
                    }
                }
                let (what, fix) = if s.grpc {
                    (
                        "registers no gRPC health service",
                        "serve `tonic_health`'s health service and point a `grpc` readinessProbe at the port",
                    )
                } else {
                    (
                        "has no health route",
                        "serve a cheap `/healthz` on the application port and point the readinessProbe at it",
                    )
                };
                out.push(Violation {
                sources: Default::default(),
                    range: s.range,
                    message: format!(
                        "{} server {what} anywhere in its crate: the readiness probe cannot tell when the pod can serve",
                        s.framework
                    ),
                    help: fix.into(),
                    values: BTreeMap::from([(
                        "framework".to_string(),
                        s.framework.to_string(),
                    )]),
                });
            }
        }
    }
}
