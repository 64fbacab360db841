//! # health-check-calls-downstream
//!
//! ## What it finds
//! The handler of a health route (see `missing-health-endpoint` for what
//! counts as one, including its `health-paths` option) that makes a network
//! call: a database query or pool checkout (a sea-orm `Statement` run on a
//! connection too), a Redis command, an HTTP or gRPC
//! call to another service. The handler is resolved from the route
//! registration (`.route("/healthz", get(health))`, aide's
//! `.api_route("/health", get_with(health, docs))`, `web::resource(..).to(..)`,
//! `#[get("/health")]`, `warp::path("health").and_then(..)`, an inline
//! closure) to the function, and followed through the functions it calls:
//! in the same file for every kind of call, across the crate for the calls
//! the crate index knows (HTTP, gRPC, database).
//!
//! ## Why it breaks under a mesh
//! Readiness probes of every replica run the same check. When the shared
//! dependency is slow or down, every replica turns unready at once, the
//! Service has no endpoints, and the mesh has nowhere to route: callers get
//! 503s even for requests that never needed the dependency, and the outage
//! spreads up the call graph. A liveness probe that calls a dependency makes
//! it worse: Kubernetes restarts every pod.
//!
//! ## Example
//! ```text
//! async fn healthz(State(db): State<PgPool>) -> StatusCode {
//!     match sqlx::query("SELECT 1").execute(&db).await {
//!         Ok(_) => StatusCode::OK,
//!         Err(_) => StatusCode::SERVICE_UNAVAILABLE,
//!     }
//! }
//! ```
//!
//! ## Use instead
//! Answer from process state: a flag that start-up sets once the server can
//! serve, and that a background task updates from dependency checks if they
//! matter:
//! ```text
//! async fn healthz(State(ready): State<Arc<AtomicBool>>) -> StatusCode {
//!     if ready.load(Ordering::Relaxed) { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
//! }
//! ```
//! Let the mesh handle a failing dependency: outlier detection ejects bad
//! upstream hosts, and retries and timeouts bound the damage.
//!
//! ## Mesh config
//! None in Istio. On the Kubernetes side, keep probes cheap and local:
//! `readinessProbe.httpGet.path: /healthz` answered from memory, and a
//! separate dependency check, if any, in monitoring rather than in a probe.
//!
//! ## Not reported
//! Handlers that read an in-memory flag, an atomic or a channel that a
//! background task updates; calls to localhost (the pod itself, its
//! sidecar); handlers in other files that only use Redis (the crate index
//! does not carry cache calls); test code.
//!
//! A dependency status page beside a cheap probe: when the same file also
//! registers a health route whose handler makes no network call (the
//! handler is found in the crate; a path that names liveness, such as
//! `/livez` or `/health/ping`, does not count, since readiness needs
//! another route), the
//! calling route is the "separate dependency check" this rule recommends,
//! and probes are taken to ask the cheap one (Mozilla's Dockerflow:
//! `/__lbheartbeat__` for the load balancer, `/__heartbeat__` checking
//! the backends). A calling route whose path names a probe (`/readyz`,
//! `/ready`, `/livez`, `/startup`) is reported all the same.
//!
//! A component's status route: a health route registered on a scope named
//! for a resource (`web::scope("/image").route("/health", ..)`, reached as
//! `/image/health`), or on a router nested under such a prefix
//! (`.nest("/instance", Router::new().route("/health", ..))`), reports on
//! that component, not on the pod; a probe
//! asks a top-level path or one under an API or version prefix
//! (`web::scope("/api/v1")`), and those are reported.

use crate::source::SpanBytes;
use std::collections::BTreeMap;

use mesh_audit_model::TextRange;
use syn::visit::Visit;
use syn::Expr;

use crate::analysis::eval::Value;
use crate::analysis::lifecycle::{
    attr_routes, file_fn, health_option, is_health_path, is_route_fn, ROUTE_METHODS,
};
use crate::analysis::net::{Kind, NetScan};
use crate::analysis::paths::ends_with;
use crate::analysis::{Evaluator, FileCtx, FnScope};
use crate::config::RuleConfig;
use crate::rules::{rule_meta, OptionKind, Rule, RuleMeta, Violation};

rule_meta!(
    "health-check-calls-downstream",
    Warning,
    Networking,
    "health route handler calls a database, cache or another service: one slow dependency makes every replica unready",
    "health_check_calls_downstream.rs",
    options: &[(
        "health-paths",
        OptionKind::StringList,
        "more route paths that count as health routes"
    )]
);

pub struct HealthCheckCallsDownstream;

/// A downstream call a handler makes: what, and where to when known.
struct Downstream {
    call: String,
    host: Option<String>,
}

impl Rule for HealthCheckCallsDownstream {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, config: &RuleConfig, out: &mut Vec<Violation>) {
        let extra = health_option(config);
        // Every health registration, with its handler's downstream call
        // when it makes one.
        let mut found: Vec<(TextRange, String, Option<Downstream>, String)> = Vec::new();
        // `#[get("/health")] async fn health(..)`: the function is the handler.
        for f in cx.functions() {
            let Some((attr, path)) = f.attrs.iter().find_map(|a| {
                let route = route_attr(a)?;
                is_health_path(&route, &extra).then_some((a, route))
            }) else {
                continue;
            };
            let d = fn_downstream(cx, &f.name, 0);
            found.push((cx.node_range(attr), path, d, f.name.clone()));
        }
        let attrs = attr_routes(cx.functions());
        for (f, scope) in cx.functions().iter().zip(cx.fn_scopes()) {
            let mut v = Registrations {
                cx,
                ev: Evaluator::new(cx, scope),
                scan: NetScan::new(cx, scope, f.self_ty.as_deref()),
                extra: &extra,
                attrs: &attrs,
                seen_roots: Vec::new(),
                component_nests: 0,
                out: &mut found,
            };
            v.visit_block(f.body);
        }
        // A registration with a calling handler is kept over a cheap one
        // at the same place (`.route(..).to(a).to(b)`).
        found.sort_by_key(|f| (f.0.byte_start, f.2.is_none()));
        found.dedup_by_key(|f| f.0.byte_start);
        let cheap_probe = found
            .iter()
            .any(|(_, route, d, _)| d.is_none() && !names_liveness_only(route));
        for (range, route, d, handler) in found {
            let Some(d) = d else { continue };
            if cheap_probe && !names_probe(&route) {
                continue;
            }
            let mut values = BTreeMap::from([
                ("route".to_string(), route.clone()),
                ("call".to_string(), d.call.clone()),
                ("handler".to_string(), handler),
            ]);
            let to = match &d.host {
                Some(h) => {
                    values.insert("host".into(), h.clone());
                    format!(" to `{h}`")
                }
                None => String::new(),
            };
            out.push(Violation {
                sources: Default::default(),
                range,
                message: format!(
                    "health route `{route}` makes a {} call{to}: when it is slow every replica turns unready at once and the mesh has nowhere to route",
                    d.call
                ),
                help: "answer the probe from process state (a flag or atomic a background task updates); leave dependency failures to the mesh's outlier detection".into(),
                values,
            });
        }
    }
}

/// The path of a route attribute: `#[get("/health")]`, `#[route("/x", ..)]`.
fn route_attr(a: &syn::Attribute) -> Option<String> {
    let verb = a.path().segments.last()?.ident.to_string();
    if !matches!(
        verb.as_str(),
        "get" | "post" | "put" | "delete" | "head" | "patch" | "options" | "route"
    ) {
        return None;
    }
    let list = a.meta.require_list().ok()?;
    let proc_macro2::TokenTree::Literal(lit) = list.tokens.clone().into_iter().next()? else {
        return None;
    };
    match syn::parse_str::<syn::Lit>(&lit.to_string()).ok()? {
        syn::Lit::Str(s) => Some(s.value()),
        _ => None,
    }
}

/// Route registrations with a health path, and their handlers.
struct Registrations<'v, 'e, 'a> {
    cx: &'e FileCtx<'a>,
    ev: Evaluator<'e, 'a>,
    scan: NetScan<'e, 'a>,
    extra: &'v [String],
    attrs: &'v rustc_hash::FxHashMap<String, String>,
    seen_roots: Vec<usize>,
    /// How many `.nest(prefix, router)` calls whose prefix names a
    /// component enclose the expression being visited.
    component_nests: u32,
    out: &'v mut Vec<(TextRange, String, Option<Downstream>, String)>,
}

impl Registrations<'_, '_, '_> {
    fn health_str(&self, e: Option<&Expr>) -> Option<String> {
        match e.map(|a| self.ev.eval(a)) {
            Some(Value::Str(s)) if is_health_path(&s, self.extra) => Some(s),
            _ => None,
        }
    }

    /// The path of the actix-web scope a route's builder chain starts from
    /// (`web::scope("/image").service(..).route("/health", ..)`).
    fn scope_prefix(&self, m: &syn::ExprMethodCall) -> Option<String> {
        let mut e: &Expr = &m.receiver;
        while let Expr::MethodCall(inner) = e {
            e = &inner.receiver;
        }
        let Expr::Call(c) = e else { return None };
        let Expr::Path(p) = &*c.func else { return None };
        let segs = self.cx.uses.resolve_shared(&p.path);
        // `use actix_web::web::*;` then `scope("/image")`.
        let globbed = p.path.is_ident("scope")
            && self
                .cx
                .uses
                .globs()
                .iter()
                .any(|g| ends_with(g, &["actix_web", "web"]));
        if !(globbed || ends_with(&segs, &["web", "scope"]) || ends_with(&segs, &["Scope", "new"]))
        {
            return None;
        }
        match self.ev.eval(c.args.first()?) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Downstream calls of the handlers named or written in `handler`;
    /// a handler found in the crate that makes none is recorded too, as
    /// a cheap probe.
    fn handlers(&mut self, range: TextRange, route: &str, handler: &Expr) {
        let mut h = Handlers {
            names: Vec::new(),
            bodies: Vec::new(),
        };
        h.visit_expr(handler);
        let mut cheap = None;
        for name in h.names {
            if self.attrs.contains_key(&name) {
                continue;
            }
            if let Some(d) = fn_downstream(self.cx, &name, 0) {
                self.out.push((range, route.to_string(), Some(d), name));
                return;
            }
            if cheap.is_none() && is_crate_fn(self.cx, &name) {
                cheap = Some(name);
            }
        }
        for body in h.bodies {
            match expr_downstream(self.cx, &self.scan, body, 0) {
                Some(d) => {
                    self.out
                        .push((range, route.to_string(), Some(d), "closure".into()));
                    return;
                }
                None => cheap = cheap.or_else(|| Some("closure".into())),
            }
        }
        if let Some(name) = cheap {
            self.out.push((range, route.to_string(), None, name));
        }
    }
}

impl<'x> Visit<'x> for Registrations<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        if ROUTE_METHODS.contains(&m.method.to_string().as_str()) {
            let route = self.health_str(m.args.first()).filter(|_| {
                self.component_nests == 0
                    && !self.scope_prefix(m).is_some_and(|p| names_component(&p))
            });
            if let Some(route) = route {
                let range = self.cx.method_range(m);
                for a in m.args.iter().skip(1) {
                    self.handlers(range, &route, a);
                }
            }
        }
        // `web::resource("/health").to(h)`, `warp::path("health").and_then(h)`:
        // the handler sits in the links of a chain rooted at the route.
        let mut links = vec![m];
        let mut e: &Expr = &m.receiver;
        while let Expr::MethodCall(inner) = e {
            links.push(inner);
            e = &inner.receiver;
        }
        if let Expr::Call(c) = e {
            let start = c.paren_token.span.open().byte_start();
            if let Expr::Path(p) = &*c.func {
                if !self.seen_roots.contains(&start)
                    && is_route_fn(&self.cx.uses.resolve_shared(&p.path))
                {
                    self.seen_roots.push(start);
                    if let Some(route) = self.health_str(c.args.first()) {
                        let range = self.cx.call_range(c);
                        for l in links {
                            for a in &l.args {
                                self.handlers(range, &route, a);
                            }
                        }
                    }
                }
            }
        }
        // `.nest("/instance", Router::new().route("/health", ..))`: the
        // nested router's routes are reached under the prefix, so a health
        // route there is a component's (`/instance/health`), as on an
        // actix-web scope.
        if m.method == "nest" && m.args.len() == 2 {
            let (prefix, nested) = (&m.args[0], &m.args[1]);
            if matches!(self.ev.eval(prefix), Value::Str(p) if names_component(&p)) {
                self.visit_expr(&m.receiver);
                self.visit_expr(prefix);
                self.component_nests += 1;
                self.visit_expr(nested);
                self.component_nests -= 1;
                return;
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

/// Handler names and inline bodies in a handler expression: `get(health)`,
/// `web::get().to(health)`, `get(|| async { .. })`.
struct Handlers<'x> {
    names: Vec<String>,
    bodies: Vec<&'x Expr>,
}

impl<'x> Visit<'x> for Handlers<'x> {
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        // The callee (`get`, `web::get`) is routing, not a handler.
        for a in &c.args {
            self.visit_expr(a);
        }
    }
    fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
        if let Some(last) = p.path.segments.last() {
            self.names.push(last.ident.to_string());
        }
    }
    fn visit_expr_closure(&mut self, c: &'x syn::ExprClosure) {
        self.bodies.push(&c.body);
    }
}

/// A path segment that names a Kubernetes probe, with or without the
/// underscores of `/__ready__`.
fn probe_segments(route: &str) -> impl Iterator<Item = &str> {
    route
        .split('/')
        .map(|s| s.trim_matches('_'))
        .filter(|s| !s.is_empty())
}

/// A ping answers that the process runs: liveness, like `/livez`.
const LIVENESS_NAMES: &[&str] = &["live", "livez", "liveness", "alive", "ping"];
const PROBE_NAMES: &[&str] = &[
    "live",
    "livez",
    "liveness",
    "alive",
    "ready",
    "readyz",
    "readiness",
    "startup",
    "startupz",
];

/// `/livez`, `/ping`: a liveness probe; readiness must ask another route.
fn names_liveness_only(route: &str) -> bool {
    probe_segments(route).any(|s| LIVENESS_NAMES.contains(&s))
}

/// `/readyz`, `/health/ready`, `/livez`: the path says a probe asks it.
fn names_probe(route: &str) -> bool {
    probe_segments(route).any(|s| PROBE_NAMES.contains(&s))
}

/// Whether a scope's path names a component (`/image`, `/search/index`)
/// rather than the API's root: every segment that is not `api`, a version
/// (`v1`), `internal` or a health name makes it one.
fn names_component(prefix: &str) -> bool {
    probe_segments(prefix).any(|s| {
        let version =
            s.len() > 1 && s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit());
        !(version
            || matches!(s, "api" | "internal")
            || crate::analysis::lifecycle::HEALTH_NAMES.contains(&s))
    })
}

/// Whether a handler name is a function of this file or, through the
/// file's imports, of the crate (so that "no downstream call" is a fact
/// about its body, not a handler that could not be found).
fn is_crate_fn(cx: &FileCtx<'_>, name: &str) -> bool {
    if file_fn(cx, name).is_some() {
        return true;
    }
    let path = cx.uses.resolve_segments(vec![name.to_string()]);
    cx.index.resolves_to_fn(&path, &cx.module, None)
}

/// The first downstream call a crate function makes, itself or through the
/// functions it calls.
fn fn_downstream(cx: &FileCtx<'_>, name: &str, depth: u32) -> Option<Downstream> {
    if let Some(f) = file_fn(cx, name) {
        let scope = FnScope::new(Some(f.sig), f.body);
        let scan = NetScan::new(cx, &scope, f.self_ty.as_deref());
        let block = Expr::Block(syn::ExprBlock {
            attrs: Vec::new(),
            label: None,
            block: f.body.clone(),
        });
        return expr_downstream(cx, &scan, &block, depth);
    }
    // Another file of the crate: what the index knows.
    let path = cx.uses.resolve_segments(vec![name.to_string()]);
    let n = cx.index.net_of_path(&path, &cx.module, None)?;
    Some(Downstream {
        call: n.protocol.as_str().to_string(),
        host: n.dest.host.clone(),
    })
}

fn expr_downstream(
    cx: &FileCtx<'_>,
    scan: &NetScan<'_, '_>,
    e: &Expr,
    depth: u32,
) -> Option<Downstream> {
    if let Some(c) = scan.calls_in_expr(e).into_iter().next() {
        return Some(Downstream {
            call: c.protocol.as_str().to_string(),
            host: c.dest.host,
        });
    }
    let mut v = StoreCalls {
        scan,
        found: None,
        helpers: Vec::new(),
    };
    v.visit_expr(e);
    if let Some(call) = v.found {
        return Some(Downstream { call, host: None });
    }
    if depth >= 3 {
        return None;
    }
    v.helpers
        .into_iter()
        .find_map(|name| fn_downstream(cx, &name, depth + 1))
}

/// Cache and database calls the shared network scan leaves out (any method
/// on a Redis or database client, `redis::cmd(..).query_async(..)`), and
/// the functions of this file the body calls.
struct StoreCalls<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    found: Option<String>,
    helpers: Vec<String>,
}

impl StoreCalls<'_, '_, '_> {
    /// `sea_orm::Statement::from_string(..)` (or `from_sql_and_values`),
    /// however imported.
    fn is_sea_orm_statement(&self, e: &Expr) -> bool {
        let Expr::Call(c) = e else { return false };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        let segs = self.scan.cx.uses.resolve_shared(&p.path);
        segs.first().is_some_and(|s| s == "sea_orm")
            && segs.len() >= 2
            && segs[segs.len() - 2] == "Statement"
            && segs.last().is_some_and(|l| l.starts_with("from_"))
    }
}

impl<'x> Visit<'x> for StoreCalls<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        if self.found.is_none() {
            let method = m.method.to_string();
            let config = matches!(
                method.as_str(),
                "clone" | "as_ref" | "borrow" | "to_owned" | "status" | "state" | "is_closed"
            );
            if !config {
                match self.scan.kind_of(&m.receiver, 0) {
                    Kind::Cache => self.found = Some("cache".into()),
                    Kind::Database => self.found = Some("database".into()),
                    _ => {}
                }
                // `db.execute(Statement::from_string(..))`: a sea-orm
                // statement handed to a connection runs on the database.
                if m.args.iter().any(|a| self.is_sea_orm_statement(a)) {
                    self.found = Some("database".into());
                }
                let mut root: &Expr = &m.receiver;
                while let Expr::MethodCall(inner) = root {
                    root = &inner.receiver;
                }
                if let Expr::Call(c) = root {
                    if let Expr::Path(p) = &*c.func {
                        let segs = self.scan.cx.uses.resolve_shared(&p.path);
                        if (ends_with(&segs, &["redis", "cmd"])
                            || ends_with(&segs, &["redis", "pipe"]))
                            && method.starts_with("query")
                        {
                            self.found = Some("cache".into());
                        }
                    }
                }
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            if let Some(id) = p.path.get_ident() {
                self.helpers.push(id.to_string());
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_macro(&mut self, mac: &'x syn::Macro) {
        for e in self.scan.cx.macros.exprs(mac) {
            let mut inner = StoreCalls {
                scan: self.scan,
                found: None,
                helpers: Vec::new(),
            };
            inner.visit_expr(e);
            if self.found.is_none() {
                self.found = inner.found;
            }
            self.helpers.extend(inner.helpers);
        }
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}
