//! Istio emitter: typed `VirtualService`, `DestinationRule` and
//! `PeerAuthentication` resources (only the fields this tool writes) built
//! from the mesh-neutral policy, plus the comments that explain them.
//!
//! Every optional field is skipped when absent, so no document contains
//! `null`; durations are only ever produced by [`format_millis`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::duration::format_millis;
use crate::names::{PLACEHOLDER_HOST, PLACEHOLDER_LABEL};
use crate::policy::{Attempts, DestinationPolicy, Origin, Sourced};
use crate::yaml::Comments;
use crate::{ApiVersion, SuggestOptions};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectMeta {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualService {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: VirtualServiceSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualServiceSpec {
    pub hosts: Vec<String>,
    pub http: Vec<HttpRoute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRoute {
    pub route: Vec<HttpRouteDestination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<HttpRetry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRouteDestination {
    pub destination: Destination,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortSelector {
    pub number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRetry {
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<String>,
    /// Istio >= 1.26 only; set only when `--istio-version` allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRule {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: DestinationRuleSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    pub host: String,
    /// Always set: a DestinationRule is only emitted when it has a policy.
    pub traffic_policy: TrafficPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_pool: Option<ConnectionPool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<OutlierDetection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
}

impl TrafficPolicy {
    pub fn is_empty(&self) -> bool {
        self.connection_pool.is_none() && self.outlier_detection.is_none() && self.tls.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionPool {
    pub tcp: TcpSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpSettings {
    pub connect_timeout: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OutlierDetection {
    #[serde(
        rename = "consecutive5xxErrors",
        skip_serializing_if = "Option::is_none"
    )]
    pub consecutive_5xx_errors: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_ejection_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ejection_percent: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ClientTlsMode {
    #[serde(rename = "ISTIO_MUTUAL")]
    IstioMutual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientTls {
    pub mode: ClientTlsMode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerAuthentication {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: PeerAuthenticationSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerAuthenticationSpec {
    pub selector: WorkloadSelector,
    pub mtls: MutualTls,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MtlsMode {
    #[serde(rename = "STRICT")]
    Strict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MutualTls {
    pub mode: MtlsMode,
}

/// One Istio resource of any kind this tool writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Resource {
    VirtualService(VirtualService),
    DestinationRule(DestinationRule),
    PeerAuthentication(PeerAuthentication),
}

impl Resource {
    pub fn kind(&self) -> &'static str {
        match self {
            Resource::VirtualService(_) => "VirtualService",
            Resource::DestinationRule(_) => "DestinationRule",
            Resource::PeerAuthentication(_) => "PeerAuthentication",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Resource::VirtualService(r) => &r.metadata.name,
            Resource::DestinationRule(r) => &r.metadata.name,
            Resource::PeerAuthentication(r) => &r.metadata.name,
        }
    }
}

/// A resource and the comments that go with it in YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub resource: Resource,
    pub comments: Comments,
}

/// A field on which merged sources disagreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// Istio path, e.g. `http[].retries.attempts`.
    pub field: &'static str,
    pub chosen: String,
    pub values: Vec<(String, Origin)>,
    pub why: &'static str,
}

fn networking(api: ApiVersion) -> String {
    format!("networking.istio.io/{}", api.as_str())
}

fn security(api: ApiVersion) -> String {
    format!("security.istio.io/{}", api.as_str())
}

/// Parses `1.26`, `1.30.3`, `v1.22.0` into (major, minor).
pub fn parse_istio_version(text: &str) -> Option<(u32, u32)> {
    let text = text.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let mut parts = text.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    if let Some(patch) = parts.next() {
        // Allow pre-release suffixes like `1.30.3-rc.1` only after a number.
        let digits: String = patch.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
    }
    Some((major, minor))
}

/// `retries.backoff` exists from Istio 1.26; without an explicit version the
/// output must also load on 1.22.
fn backoff_supported(opts: &SuggestOptions) -> bool {
    opts.istio_version
        .as_deref()
        .and_then(parse_istio_version)
        .is_some_and(|v| v >= (1, 26))
}

fn sources_text(values: &[(String, Origin)]) -> String {
    values
        .iter()
        .map(|(said, origin)| format!("{said} at {origin}"))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Ctx<'a> {
    comments: Comments,
    conflicts: Vec<FieldConflict>,
    opts: &'a SuggestOptions,
}

impl Ctx<'_> {
    /// Records a disagreement: a comment above the field naming every source,
    /// and a conflict for the run's report.
    fn check<T>(
        &mut self,
        path: &str,
        field: &'static str,
        chosen: &str,
        v: &Sourced<T>,
        why: &'static str,
    ) {
        if !v.disagrees() {
            return;
        }
        self.comments.add_before(
            path,
            format!(
                "conflict: {} ({why}); the code says {}",
                chosen,
                sources_text(&v.sources)
            ),
        );
        self.conflicts.push(FieldConflict {
            field,
            chosen: chosen.to_string(),
            values: v.sources.clone(),
            why,
        });
    }
}

fn header(comments: &mut Comments, what: &str, origins: &[Origin], notes: &[String]) {
    comments
        .header
        .push(format!("{what}; replaces the code at:"));
    for origin in origins {
        comments
            .header
            .push(format!("  {origin} ({})", origin.rule));
    }
    for note in notes {
        comments.header.push(format!("note: {note}"));
    }
}

fn host_or_placeholder(policy: &DestinationPolicy, comments: &mut Comments, path: &str) -> String {
    match &policy.host {
        Some(h) => h.clone(),
        None => {
            comments.add_before(
                path,
                format!("{PLACEHOLDER_HOST}: the destination host could not be read from the code; put the Service's host here"),
            );
            PLACEHOLDER_HOST.to_string()
        }
    }
}

/// The VirtualService for a destination, if the policy has route settings.
pub fn virtual_service(
    policy: &DestinationPolicy,
    name: &str,
    opts: &SuggestOptions,
) -> Option<(Document, Vec<FieldConflict>)> {
    if !policy.has_route_policy() {
        return None;
    }
    let mut ctx = Ctx {
        comments: Comments::default(),
        conflicts: Vec::new(),
        opts,
    };
    let origins = policy.route_origins();
    header(
        &mut ctx.comments,
        "Retries and timeouts for this destination, enforced by the sidecar",
        &origins,
        &policy.notes_of(&origins),
    );
    let host = host_or_placeholder(policy, &mut ctx.comments, "spec.hosts");
    let route_path = "spec.http.0";

    let port = match &policy.port {
        Some(p) if p.disagrees() => {
            ctx.comments.add_before(
                &format!("{route_path}.route"),
                format!("port left out: the code calls different ports ({}); add one route per port with match[].port", sources_text(&p.sources)),
            );
            ctx.conflicts.push(FieldConflict {
                field: "http[].route[].destination.port.number",
                chosen: "none".into(),
                values: p.sources.clone(),
                why: "left out",
            });
            None
        }
        Some(p) => Some(PortSelector { number: p.value }),
        None => None,
    };

    let timeout = policy.request_timeout.as_ref().and_then(|t| {
        let text = format_millis(t.value)?;
        ctx.check(
            &format!("{route_path}.timeout"),
            "http[].timeout",
            &text,
            t,
            "shortest kept",
        );
        Some(text)
    });

    let retries = policy.retry.as_ref().map(|r| {
        let retries_path = format!("{route_path}.retries");
        let attempts_path = format!("{retries_path}.attempts");
        let attempts = match r.attempts.value {
            Attempts::Count(n) => i32::try_from(n).unwrap_or(i32::MAX),
            Attempts::Unbounded | Attempts::Unreadable => {
                let what = if r.attempts.value == Attempts::Unbounded {
                    "retried without a bound"
                } else {
                    "retried an unreadable number of times"
                };
                ctx.comments.add_before(
                    &attempts_path,
                    format!("the code {what}; 2 is Istio's default, choose the bound you want"),
                );
                2
            }
        };
        ctx.check(&attempts_path, "http[].retries.attempts", &attempts.to_string(), &r.attempts, "fewest kept");
        if attempts == 0 {
            // attempts: 0 turns retries off; the webhook then rejects any
            // other retry field (fields.md §6, VirtualService rule 5).
            ctx.comments.add_before(
                &attempts_path,
                "attempts: 0 disables the mesh default retries; perTryTimeout and retryOn must stay unset",
            );
            return HttpRetry {
                attempts,
                per_try_timeout: None,
                retry_on: None,
                backoff: None,
            };
        }
        let per_try_timeout = r.per_try_timeout.as_ref().and_then(|t| {
            let text = format_millis(t.value)?;
            ctx.check(&format!("{retries_path}.perTryTimeout"), "http[].retries.perTryTimeout", &text, t, "shortest kept");
            Some(text)
        });
        if let (Some(per_try), Some(total)) = (&r.per_try_timeout, &policy.request_timeout) {
            if per_try.value >= total.value {
                ctx.comments.add_before(
                    &format!("{retries_path}.perTryTimeout"),
                    "perTryTimeout >= timeout: Envoy will not retry at all; shorten perTryTimeout or lengthen timeout",
                );
            }
        }
        let retry_on = r.retry_on.value.join(",");
        ctx.check(&format!("{retries_path}.retryOn"), "http[].retries.retryOn", &retry_on, &r.retry_on, "only the conditions every source retried on kept");
        let mut backoff = None;
        if let Some(b) = &r.backoff {
            if let Some(text) = format_millis(b.value) {
                if backoff_supported(ctx.opts) {
                    ctx.check(&format!("{retries_path}.backoff"), "http[].retries.backoff", &text, b, "longest kept");
                    backoff = Some(text);
                } else {
                    let from = b.sources.iter().map(|(_, o)| o.to_string()).collect::<Vec<_>>().join(", ");
                    ctx.comments.add_end(
                        &retries_path,
                        format!("backoff: {text}  # from {from}; needs Istio >= 1.26, emit it with --istio-version 1.26 or later"),
                    );
                }
            }
        }
        HttpRetry {
            attempts,
            per_try_timeout,
            retry_on: Some(retry_on),
            backoff,
        }
    });

    let vs = VirtualService {
        api_version: networking(opts.api_version),
        kind: "VirtualService".into(),
        metadata: ObjectMeta {
            name: name.to_string(),
            namespace: opts.namespace.clone(),
        },
        spec: VirtualServiceSpec {
            hosts: vec![host.clone()],
            http: vec![HttpRoute {
                route: vec![HttpRouteDestination {
                    destination: Destination { host, port },
                }],
                timeout,
                retries,
            }],
        },
    };
    Some((
        Document {
            resource: Resource::VirtualService(vs),
            comments: ctx.comments,
        },
        ctx.conflicts,
    ))
}

/// The DestinationRule for a destination, if the policy has traffic settings.
pub fn destination_rule(
    policy: &DestinationPolicy,
    name: &str,
    opts: &SuggestOptions,
) -> Option<(Document, Vec<FieldConflict>)> {
    if !policy.has_traffic_policy() {
        return None;
    }
    let mut ctx = Ctx {
        comments: Comments::default(),
        conflicts: Vec::new(),
        opts,
    };
    let origins = policy.traffic_origins();
    header(
        &mut ctx.comments,
        "Connection policy for this destination, enforced by the sidecar",
        &origins,
        &policy.notes_of(&origins),
    );
    let host = host_or_placeholder(policy, &mut ctx.comments, "spec.host");
    let tp = "spec.trafficPolicy";
    let mut traffic = TrafficPolicy::default();

    if let Some(t) = &policy.connect_timeout {
        if let Some(text) = format_millis(t.value) {
            ctx.check(
                &format!("{tp}.connectionPool.tcp.connectTimeout"),
                "trafficPolicy.connectionPool.tcp.connectTimeout",
                &text,
                t,
                "shortest kept",
            );
            traffic.connection_pool = Some(ConnectionPool {
                tcp: TcpSettings {
                    connect_timeout: text,
                },
            });
        }
    }

    if let Some(o) = &policy.outlier {
        let od_path = format!("{tp}.outlierDetection");
        let mut od = OutlierDetection::default();
        if let Some(v) = &o.consecutive_errors {
            ctx.check(
                &format!("{od_path}.consecutive5xxErrors"),
                "trafficPolicy.outlierDetection.consecutive5xxErrors",
                &v.value.to_string(),
                v,
                "highest threshold kept",
            );
            od.consecutive_5xx_errors = Some(v.value);
        }
        if let Some(v) = &o.interval {
            if let Some(text) = format_millis(v.value) {
                ctx.check(
                    &format!("{od_path}.interval"),
                    "trafficPolicy.outlierDetection.interval",
                    &text,
                    v,
                    "shortest kept",
                );
                od.interval = Some(text);
            }
        }
        if let Some(v) = &o.base_ejection_time {
            if let Some(text) = format_millis(v.value) {
                ctx.check(
                    &format!("{od_path}.baseEjectionTime"),
                    "trafficPolicy.outlierDetection.baseEjectionTime",
                    &text,
                    v,
                    "shortest ejection kept",
                );
                od.base_ejection_time = Some(text);
            }
        }
        if let Some(v) = &o.max_ejection_percent {
            ctx.check(
                &format!("{od_path}.maxEjectionPercent"),
                "trafficPolicy.outlierDetection.maxEjectionPercent",
                &v.value.to_string(),
                v,
                "lowest kept",
            );
            od.max_ejection_percent = Some(i32::try_from(v.value).unwrap_or(100));
        }
        if od != OutlierDetection::default() {
            if od.max_ejection_percent.is_none() {
                // A client-side breaker cuts off the whole destination; the
                // mesh ejects single endpoints, at most 10% of them by default.
                ctx.comments.add_end(
                    &od_path,
                    "maxEjectionPercent: 10  # Istio's default; a client-side breaker stopped all calls, raise this only knowingly",
                );
            }
            traffic.outlier_detection = Some(od);
        }
    }

    if !policy.client_mtls.is_empty() {
        traffic.tls = Some(ClientTls {
            mode: ClientTlsMode::IstioMutual,
        });
    }

    // fields.md §6 DestinationRule rule 1: a present trafficPolicy must not be
    // empty, so a policy whose values were all unusable emits nothing.
    if traffic.is_empty() {
        return None;
    }

    let dr = DestinationRule {
        api_version: networking(opts.api_version),
        kind: "DestinationRule".into(),
        metadata: ObjectMeta {
            name: name.to_string(),
            namespace: opts.namespace.clone(),
        },
        spec: DestinationRuleSpec {
            host,
            traffic_policy: traffic,
        },
    };
    Some((
        Document {
            resource: Resource::DestinationRule(dr),
            comments: ctx.comments,
        },
        ctx.conflicts,
    ))
}

/// STRICT mTLS for a workload that terminated TLS itself.
pub fn peer_authentication(
    crate_name: Option<&str>,
    name: &str,
    origins: &[Origin],
    opts: &SuggestOptions,
) -> Document {
    let mut comments = Comments::default();
    header(
        &mut comments,
        "Strict mTLS for this workload, terminated by the sidecar",
        origins,
        &[],
    );
    let configured = crate_name
        .and_then(|c| opts.selector_labels.get(c))
        .filter(|labels| !labels.is_empty());
    let match_labels = match configured {
        Some(labels) => labels.clone(),
        None => {
            comments.add_before(
                "spec.selector.matchLabels",
                format!("{PLACEHOLDER_LABEL}: put the pod labels of this workload here (or name them in the config)"),
            );
            BTreeMap::from([("app".to_string(), PLACEHOLDER_LABEL.to_string())])
        }
    };
    let pa = PeerAuthentication {
        api_version: security(opts.api_version),
        kind: "PeerAuthentication".into(),
        metadata: ObjectMeta {
            name: name.to_string(),
            namespace: opts.namespace.clone(),
        },
        spec: PeerAuthenticationSpec {
            selector: WorkloadSelector { match_labels },
            mtls: MutualTls {
                mode: MtlsMode::Strict,
            },
        },
    };
    Document {
        resource: Resource::PeerAuthentication(pa),
        comments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_istio_version("1.26"), Some((1, 26)));
        assert_eq!(parse_istio_version("v1.30.3"), Some((1, 30)));
        assert_eq!(parse_istio_version("1.30.3-rc.1"), Some((1, 30)));
        assert_eq!(parse_istio_version("1"), None);
        assert_eq!(parse_istio_version("latest"), None);
        assert_eq!(parse_istio_version("1.x"), None);
    }
}
