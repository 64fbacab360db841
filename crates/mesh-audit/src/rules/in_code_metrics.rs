//! # in-code-metrics
//!
//! ## What it finds
//! Middleware that counts and times every request into metrics, which the
//! sidecar already reports: layers of crates that exist for this
//! (`axum-prometheus`, `actix-web-prom`, `axum-otel-metrics`, `rocket_prometheus`,
//! `opentelemetry-instrumentation-actix-web`'s `RequestMetrics`, poem's
//! `OpenTelemetryMetrics`), and hand-written middleware (`axum::middleware::from_fn`,
//! `from_fn_with_state`, actix `wrap_fn`) of this file that passes the request
//! on and records a histogram or counter (the `metrics` macros, prometheus
//! `observe`/`inc`) from a timer or from the request's method, path or status.
//! Off by default; severity `info`.
//!
//! ## Why it matters under a mesh
//! Every sidecar already exports `istio_requests_total` and
//! `istio_request_duration_milliseconds` for each request, labelled with
//! source, destination, response code and protocol, for inbound and
//! outbound traffic alike. The same numbers computed in-process cost CPU and
//! memory per request, create a second set of dashboards that disagree at
//! the edges (the sidecar sees time in the queue and failed connections, the
//! app does not), and need a cardinality budget of their own.
//!
//! Turn it on when you plan to consolidate on the mesh's telemetry, or to
//! find services whose metrics cardinality (per-path labels) is a cost. Keep
//! in-process metrics that the sidecar cannot see: per-route handler time
//! without queueing, business counters, and anything about work that does
//! not cross the network.
//!
//! ## Example
//! ```text
//! async fn track(req: Request, next: Next) -> Response {
//!     let start = Instant::now();
//!     let res = next.run(req).await;
//!     metrics::histogram!("http_request_duration_seconds").record(start.elapsed().as_secs_f64());
//!     res
//! }
//! let app = Router::new().route("/", get(root)).layer(middleware::from_fn(track));
//! ```
//!
//! ## Use instead
//! Delete the middleware and read the sidecar's metrics (Prometheus scrapes
//! the merged endpoint on port 15020 by default).
//!
//! ## Mesh config
//! Telemetry is on by default. To tune it, a `Telemetry` resource, e.g. to
//! drop a label you do not need:
//! ```text
//! apiVersion: telemetry.istio.io/v1
//! kind: Telemetry
//! metadata: { name: orders, namespace: shop }
//! spec:
//!   metrics:
//!   - providers: [{ name: prometheus }]
//!     overrides:
//!     - match: { metric: REQUEST_COUNT }
//!       tagOverrides: { request_protocol: { operation: REMOVE } }
//! ```
//!
//! ## Not reported
//! Business metrics recorded in handlers, middleware that records nothing
//! per request, metrics middleware defined in another file, tower `Service`
//! implementations written by hand, and test code.

use std::collections::BTreeMap;

use syn::visit::Visit;
use syn::Expr;

use crate::analysis::lifecycle::file_fn;
use crate::analysis::macros::macro_name;
use crate::analysis::paths::{ends_with, mentions};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "in-code-metrics",
    Info,
    Telemetry,
    "request count/latency middleware that duplicates the sidecar's telemetry",
    "in_code_metrics.rs",
    enabled: false
);

pub struct InCodeMetrics;

/// Request-metrics layers: crate, type, constructor.
const LAYERS: &[(&str, &str)] = &[
    ("axum_prometheus", "PrometheusMetricLayer"),
    ("axum_prometheus", "PrometheusMetricLayerBuilder"),
    ("actix_web_prom", "PrometheusMetricsBuilder"),
    ("axum_otel_metrics", "HttpMetricsLayerBuilder"),
    ("rocket_prometheus", "PrometheusMetrics"),
    ("opentelemetry_instrumentation_actix_web", "RequestMetrics"),
    (
        "opentelemetry_instrumentation_actix_web",
        "RequestMetricsBuilder",
    ),
    ("poem", "OpenTelemetryMetrics"),
];

impl Rule for InCodeMetrics {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        for f in cx.functions() {
            let mut v = Installs { cx, out: &mut *out };
            v.visit_block(f.body);
        }
    }
}

struct Installs<'v, 'c, 'a> {
    cx: &'c FileCtx<'a>,
    out: &'v mut Vec<Violation>,
}

impl Installs<'_, '_, '_> {
    fn push(&mut self, range: mesh_audit_model::TextRange, via: &str, metric: &str) {
        self.out.push(Violation {
                sources: Default::default(),
            range,
            message: format!(
                "`{via}` records a {metric} for every request: the sidecar already reports request count and latency (istio_requests_total, istio_request_duration_milliseconds)"
            ),
            help: "drop the middleware and use the mesh's request metrics; keep business metrics".into(),
            values: BTreeMap::from([
                ("middleware".to_string(), via.to_string()),
                ("metric".to_string(), metric.to_string()),
            ]),
        });
    }

    /// Whether a middleware body passes the request on and records a
    /// per-request metric; the kind of metric when it does.
    fn records_requests(&self, body: &Expr) -> Option<&'static str> {
        let mut s = BodyFacts {
            cx: self.cx,
            passes_on: false,
            timed: false,
            reads_request: false,
            metric: None,
        };
        s.visit_expr(body);
        if s.passes_on && (s.timed || s.reads_request) {
            s.metric
        } else {
            None
        }
    }
}

impl<'x> Visit<'x> for Installs<'_, '_, '_> {
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs = self.cx.uses.resolve_shared(&p.path);
            if let Some((krate, ty)) = LAYERS
                .iter()
                .find(|(k, t)| segs.first().is_some_and(|f| f == k) && mentions(&segs, t))
            {
                let range = self.cx.call_range(c);
                self.push(range, &format!("{krate}::{ty}"), "histogram");
            } else if (ends_with(&segs, &["middleware", "from_fn"])
                || ends_with(&segs, &["middleware", "from_fn_with_state"]))
                && (mentions(&segs, "axum") || mentions(&segs, "actix_web_lab"))
            {
                if let Some(handler) = c.args.last() {
                    self.middleware(self.cx.call_range(c), handler);
                }
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        if m.method == "wrap_fn" && self.cx.uses.imports_from("actix_web") {
            if let Some(handler) = m.args.first() {
                self.middleware(self.cx.method_range(m), handler);
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

impl Installs<'_, '_, '_> {
    fn middleware(&mut self, range: mesh_audit_model::TextRange, handler: &Expr) {
        match handler {
            Expr::Closure(c) => {
                if let Some(metric) = self.records_requests(&c.body) {
                    self.push(range, "closure", metric);
                }
            }
            Expr::Path(p) => {
                let Some(last) = p.path.segments.last() else {
                    return;
                };
                let name = last.ident.to_string();
                let Some(f) = file_fn(self.cx, &name) else {
                    return;
                };
                let body = Expr::Block(syn::ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: f.body.clone(),
                });
                if let Some(metric) = self.records_requests(&body) {
                    self.push(range, &name, metric);
                }
            }
            _ => {}
        }
    }
}

/// What a middleware body does.
struct BodyFacts<'c, 'a> {
    cx: &'c FileCtx<'a>,
    /// `next.run(req)`, `srv.call(req)`, `next.call(req)`.
    passes_on: bool,
    /// `Instant::now()`, `.start_timer()`, `.elapsed()`.
    timed: bool,
    /// `.method()`, `.uri()`, `.status()`, `MatchedPath`.
    reads_request: bool,
    metric: Option<&'static str>,
}

impl<'x> Visit<'x> for BodyFacts<'_, '_> {
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        match m.method.to_string().as_str() {
            "run" | "call" if !m.args.is_empty() => self.passes_on = true,
            "start_timer" | "elapsed" => self.timed = true,
            "method" | "uri" | "status" | "path" | "match_info" => self.reads_request = true,
            "observe" | "record" => self.metric = self.metric.or(Some("histogram")),
            "inc" | "inc_by" | "increment" | "add" => self.metric = self.metric.or(Some("counter")),
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs = self.cx.uses.resolve_shared(&p.path);
            if ends_with(&segs, &["Instant", "now"]) {
                self.timed = true;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_macro(&mut self, mac: &'x syn::Macro) {
        let name = macro_name(mac);
        let segs = self.cx.uses.resolve_shared(&mac.path);
        let from_metrics = mentions(&segs, "metrics") || self.cx.uses.imports_from("metrics");
        match name.as_str() {
            "histogram" if from_metrics => self.metric = Some("histogram"),
            "counter" if from_metrics => self.metric = self.metric.or(Some("counter")),
            _ => {}
        }
        for e in self.cx.macros.exprs(mac) {
            let mut inner = BodyFacts {
                cx: self.cx,
                passes_on: false,
                timed: false,
                reads_request: false,
                metric: None,
            };
            inner.visit_expr(e);
            self.passes_on |= inner.passes_on;
            self.timed |= inner.timed;
            self.reads_request |= inner.reads_request;
            self.metric = self.metric.or(inner.metric);
        }
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}
