//! Health probes: a request to a peer's health or readiness endpoint, a
//! gRPC health check, a liveness query. A deadline on one is what makes it
//! a probe (fail fast, mark the peer down), not a route timeout the mesh
//! could own; `NetCall::probe` carries the answer to the rules.

use syn::Expr;

use super::eval::Value;
use super::scope::FnScope;

/// Last segments of a URL path that name a health or readiness endpoint
/// (`/healthz`, `/-/ready`, `/v1/sys/health`, `/_ping`).
const HEALTH_SEGMENTS: &[&str] = &[
    "health",
    "healthz",
    "healthy",
    "healthcheck",
    "health_check",
    "health-check",
    "_health",
    "livez",
    "live",
    "liveness",
    "readyz",
    "ready",
    "readiness",
    "ping",
    "_ping",
];

/// Whether a URL (or a path) names a health or readiness endpoint: its last
/// path segment is one, whatever the host (`format!("{}/health", base)`).
/// An unknown part in that segment, or no path at all, is not one.
pub fn is_health_url(v: &Value) -> bool {
    let (v, _) = v.or_env_default();
    let Value::Str(s) = v else { return false };
    let s = s.split(['?', '#']).next().unwrap_or(s);
    let path = match s.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]),
        None => s.find('/').map(|i| &s[i..]),
    };
    let Some(last) = path.and_then(|p| p.rsplit('/').find(|seg| !seg.is_empty())) else {
        return false;
    };
    let last = last.to_ascii_lowercase();
    HEALTH_SEGMENTS.contains(&last.as_str())
}

/// Whether a gRPC method (as the generated client spells it, snake case)
/// asks a peer whether it is up: a health segment as the whole name, or
/// after `is_`/`check_` (`is_ready`, `ping`, `check_health`). The method is
/// the RPC's path (`/pkg.Source/IsReady`), read as a URL's last segment is.
pub fn is_health_rpc(method: &str) -> bool {
    let m = method.to_ascii_lowercase();
    let m = m
        .strip_prefix("is_")
        .or_else(|| m.strip_prefix("check_"))
        .unwrap_or(&m);
    HEALTH_SEGMENTS.contains(&m)
}

/// A liveness query: `SELECT 1`, which reads nothing.
pub fn is_liveness_query(s: &str) -> bool {
    let q = s.trim().trim_end_matches(';').trim();
    let mut words = q.split_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("select"))
        && words.next() == Some("1")
        && words.next().is_none()
}

/// A gRPC health-check request (`grpc.health.v1.HealthCheckRequest`, or a
/// service's own message of that name): a struct literal, its
/// `default()`/`new(..)`, wrapped in `Request::new(..)` or
/// `.into_request()`, or a `let` bound to one.
pub fn is_health_request(e: &Expr, scope: &FnScope<'_>, depth: u32) -> bool {
    const NAME: &str = "HealthCheckRequest";
    if depth > 4 {
        return false;
    }
    let last_is = |p: &syn::Path, name: &str| p.segments.last().is_some_and(|s| s.ident == name);
    match e {
        Expr::Paren(p) => is_health_request(&p.expr, scope, depth + 1),
        Expr::Reference(r) => is_health_request(&r.expr, scope, depth + 1),
        Expr::Struct(s) => last_is(&s.path, NAME),
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => {
                let segs = &p.path.segments;
                let n = segs.len();
                n >= 2 && segs[n - 2].ident == NAME
                    || last_is(&p.path, "new")
                        && n >= 2
                        && segs[n - 2].ident == "Request"
                        && c.args
                            .first()
                            .is_some_and(|a| is_health_request(a, scope, depth + 1))
            }
            _ => false,
        },
        Expr::MethodCall(m) if m.method == "into_request" || m.method == "clone" => {
            is_health_request(&m.receiver, scope, depth + 1)
        }
        Expr::Path(p) => p
            .path
            .get_ident()
            .and_then(|id| scope.binding_at(id))
            .and_then(|b| b.init)
            .is_some_and(|init| is_health_request(init, scope, depth + 1)),
        _ => false,
    }
}

/// Whether `body` calls `name.set_path(p)` between the byte offsets of
/// `range`, with `p` a health or readiness path.
pub fn sets_health_path(
    body: &syn::Block,
    name: &syn::Ident,
    range: std::ops::Range<usize>,
    ev: &super::eval::Evaluator<'_, '_>,
) -> bool {
    use crate::source::SpanBytes;
    use syn::visit::Visit;
    struct V<'v, 'e, 'a> {
        name: &'v syn::Ident,
        range: std::ops::Range<usize>,
        ev: &'v super::eval::Evaluator<'e, 'a>,
        found: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.method == "set_path"
                && matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(self.name))
                && self.range.contains(&m.method.span().byte_start())
                && m.args
                    .first()
                    .is_some_and(|a| is_health_url(&self.ev.eval(a)))
            {
                self.found = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        name,
        range,
        ev,
        found: false,
    };
    v.visit_block(body);
    v.found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::eval::UNKNOWN_PART;

    fn s(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    #[test]
    fn health_urls_are_read_by_their_last_path_segment() {
        let base = UNKNOWN_PART;
        for url in [
            "http://orders:8080/healthz",
            "http://orders:8080/health?verbose=1",
            "https://vault.internal/v1/sys/health",
            "/-/ready",
            "/api/v2/ping/",
            &format!("{base}/livez"),
        ] {
            assert!(is_health_url(&s(url)), "{url}");
        }
        for url in [
            "http://health:8080/orders",
            "http://orders:8080/health-records/7",
            "http://orders:8080",
            "healthz",
            &format!("http://orders:8080/{base}"),
        ] {
            assert!(!is_health_url(&s(url)), "{url}");
        }
        assert!(!is_health_url(&Value::Unknown));
    }

    #[test]
    fn only_select_one_is_a_liveness_query() {
        assert!(is_liveness_query("SELECT 1"));
        assert!(is_liveness_query(" select 1; "));
        assert!(!is_liveness_query("SELECT 1 FROM orders"));
        assert!(!is_liveness_query("SELECT 10"));
        assert!(!is_liveness_query("DELETE 1"));
    }
}
