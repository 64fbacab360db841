//! Mesh suggestions: the service-mesh configuration (or the code change) that
//! replaces what a finding found in the code.
//!
//! # Mapping
//!
//! | Rule | Suggestion |
//! |---|---|
//! | `retry-loop`, `retry-crate` | `VirtualService` `http[].retries.{attempts, perTryTimeout, retryOn}`; `attempts` is the code's re-tries, `retryOn` what the code retried on (else `5xx,connect-failure,reset` for HTTP, `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes` for gRPC); a retry crate's max elapsed time becomes `http[].timeout` |
//! | `timeout-wrapper` | `VirtualService` `http[].timeout`; a connect timeout becomes `DestinationRule` `trafficPolicy.connectionPool.tcp.connectTimeout` |
//! | `circuit-breaker` | `DestinationRule` `trafficPolicy.outlierDetection.{consecutive5xxErrors, interval, baseEjectionTime, maxEjectionPercent}` (never the deprecated `consecutiveErrors`) |
//! | `hand-rolled-tls` | `PeerAuthentication` `mtls.mode: STRICT` (server side) and `DestinationRule` `trafficPolicy.tls.mode: ISTIO_MUTUAL` (client side) |
//! | `loopback-bind`, `ephemeral-port`, health and shutdown rules | `kind: "code"`: replacement code for the framework in use, and for a bind on one loopback literal a `replacement` that swaps just that literal |
//!
//! Only fields that both Istio 1.22.0 and 1.30.3 accept are written unless
//! [`SuggestOptions::istio_version`] says otherwise: a backoff read from code
//! (`retries.backoff`, Istio >= 1.26) is a YAML comment by default. Durations
//! follow `^[1-9][0-9]{0,4}(ms|s)$` (see [`duration`]). An unknown host is a
//! marked placeholder (`REPLACE-ME.svc.cluster.local`) in per-finding
//! suggestions and is never merged into a manifest file; no value is invented.
//!
//! # Destinations
//!
//! Every resource goes to the target namespace ([`SuggestOptions::namespace`]),
//! so the hosts that name one Service of that namespace are one destination:
//! with namespace `shop`, `pricing`, `pricing.shop`, `pricing.shop.svc` and
//! `pricing.shop.svc.cluster.local` are all written as the short name
//! `pricing` in `spec.hosts` and `destination.host` (see
//! [`names::mesh_host`]), in one `pricing.yaml` whose resources are named
//! `pricing`. Two VirtualServices for one Service would conflict in Istio;
//! the short name is exact because Istio reads it in the resource's own
//! namespace (always written in `metadata.namespace`), and it holds whatever
//! DNS domain the cluster uses. Findings folded this way merge like findings
//! for one host, disagreements reported as [`Conflict`]s. A host in another
//! namespace (`pricing.other.svc.cluster.local`) or outside the cluster
//! (`api.stripe.com`) is kept as written and stays its own destination. A
//! per-finding suggestion uses the same host and the same `metadata.name` as
//! the file `--emit-manifests` writes for it.
//!
//! # Design
//!
//! Findings are first read into a mesh-neutral [`policy`] (retries, timeouts,
//! breaker, mTLS, each value with the findings it came from), merged per
//! destination with the most conservative value winning. The [`istio`] module
//! is one emitter over that policy, producing typed resources; [`yaml`]
//! writes them. A Linkerd or Gateway API target is one more emitter module.

pub mod code;
pub mod duration;
pub mod istio;
pub mod names;
pub mod policy;
#[cfg(any(test, feature = "schema-check"))]
pub mod validate;
mod write;
pub mod yaml;

#[cfg(test)]
mod test_support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use mesh_audit_model::{Finding, Suggestion};

pub use istio::{Document, Resource};
pub use write::{write_manifests, write_replacing, WriteError};

use crate::istio::FieldConflict;
use crate::names::{
    dns_label, file_stem_for_host, full_resource_name_for_host, mesh_host, resource_name_for_host,
    PLACEHOLDER_HOST, PLACEHOLDER_NAME,
};
use crate::policy::{
    clean, extract, rule_kind, Attempts, DestinationPolicy, Extracted, HostRef, Origin, RuleKind,
};

/// The served API version of the Istio resources written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `networking.istio.io/v1`, `security.istio.io/v1` (Istio >= 1.22).
    #[default]
    V1,
    /// For older meshes.
    V1beta1,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1",
            ApiVersion::V1beta1 => "v1beta1",
        }
    }
}

impl FromStr for ApiVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<ApiVersion, String> {
        match s {
            "v1" => Ok(ApiVersion::V1),
            "v1beta1" => Ok(ApiVersion::V1beta1),
            other => Err(format!(
                "unknown mesh API version `{other}` (expected `v1` or `v1beta1`)"
            )),
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How suggestions and manifests are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestOptions {
    /// `metadata.namespace` of every resource.
    pub namespace: String,
    pub api_version: ApiVersion,
    /// `None`: only fields valid in both Istio 1.22.0 and 1.30.3. `Some("1.26")`
    /// or later also writes `retries.backoff`.
    pub istio_version: Option<String>,
    /// Pod labels per crate for the PeerAuthentication selector (from the
    /// config); a crate not named here gets a marked placeholder label.
    pub selector_labels: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for SuggestOptions {
    fn default() -> SuggestOptions {
        SuggestOptions {
            namespace: "default".into(),
            api_version: ApiVersion::V1,
            istio_version: None,
            selector_labels: BTreeMap::new(),
        }
    }
}

impl SuggestOptions {
    /// Problems with the options themselves, for the CLI to report before a
    /// run: a namespace that is not a DNS-1123 label, an unreadable Istio
    /// version, a version older than the `v1` API.
    pub fn check(&self) -> Result<(), String> {
        if dns_label(&self.namespace, &self.namespace) != self.namespace {
            return Err(format!(
                "namespace `{}` is not a valid Kubernetes name (lower-case letters, digits and `-`, at most 63)",
                clean(&self.namespace)
            ));
        }
        if let Some(v) = &self.istio_version {
            match istio::parse_istio_version(v) {
                None => {
                    return Err(format!(
                        "Istio version `{}` is not like `1.26` or `1.30.3`",
                        clean(v)
                    ))
                }
                Some(ver) if ver < (1, 22) && self.api_version == ApiVersion::V1 => {
                    return Err(format!(
                        "Istio {} does not serve the v1 API; use --mesh-api-version v1beta1",
                        clean(v)
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// Fills `finding.suggestions` for every finding: the Istio resources for
/// policy rules (one finding at a time; [`build_manifests`] merges them), a
/// `code` suggestion for bind, health and shutdown rules. `source_of(file)`
/// gives a file's text, used to turn a bind's address literal into a
/// replacement; it may return `None`, which only costs the replacement.
pub fn attach_suggestions(
    findings: &mut [Finding],
    source_of: &dyn Fn(&str) -> Option<String>,
    opts: &SuggestOptions,
) {
    // The names `build_manifests` gives the same findings, so that a
    // suggestion and its manifest file agree even where two hosts share a
    // Service name.
    let hosts: BTreeSet<String> = findings
        .iter()
        .filter(|f| rule_kind(f.rule) != RuleKind::Code)
        .filter_map(|f| match extract_for(f, opts) {
            Extracted {
                host: HostRef::Known(h),
                destination: Some(_),
                ..
            } => Some(h),
            _ => None,
        })
        .collect();
    let names = unique_names(hosts.iter().map(String::as_str));
    let mut cache: BTreeMap<String, Option<String>> = BTreeMap::new();
    for finding in findings.iter_mut() {
        let source = if rule_kind(finding.rule) == RuleKind::Code {
            cache
                .entry(finding.file.clone())
                .or_insert_with(|| source_of(&finding.file))
                .clone()
        } else {
            None
        };
        finding.suggestions = suggestions_named(finding, source.as_deref(), opts, &names);
        if finding.value("destination") == Some("external") {
            let host = finding.value("host").unwrap_or_default().to_string();
            for s in &mut finding.suggestions {
                s.note = format!(
                    "`{host}` is outside the mesh: a VirtualService or DestinationRule for it applies only once a ServiceEntry declares it (`hosts: [{host}]`, `location: MESH_EXTERNAL`, `resolution: DNS`). {}",
                    s.note
                );
            }
        }
    }
}

/// The suggestions for one finding (what [`attach_suggestions`] stores when
/// no other finding of the run shares the Service name of its host).
pub fn suggestions_for(
    finding: &Finding,
    source: Option<&str>,
    opts: &SuggestOptions,
) -> Vec<Suggestion> {
    suggestions_named(finding, source, opts, &BTreeMap::new())
}

/// [`extract`] with the host written as the mesh sees it from the target
/// namespace ([`mesh_host`]), in both the finding's host and its policy.
fn extract_for(finding: &Finding, opts: &SuggestOptions) -> Extracted {
    let mut extracted = extract(finding);
    if let HostRef::Known(host) = &mut extracted.host {
        *host = mesh_host(host, &opts.namespace);
        if let Some(policy) = &mut extracted.destination {
            policy.host = Some(host.clone());
        }
    }
    extracted
}

/// `names`: `metadata.name` by host for the whole run (see [`unique_names`]);
/// a host not in it gets [`resource_name_for_host`].
fn suggestions_named(
    finding: &Finding,
    source: Option<&str>,
    opts: &SuggestOptions,
    names: &BTreeMap<&str, String>,
) -> Vec<Suggestion> {
    let kind = rule_kind(finding.rule);
    if kind == RuleKind::Code {
        return code::code_suggestions(finding, source);
    }
    let extracted = extract_for(finding, opts);
    let host_note = match &extracted.host {
        HostRef::Known(_) => None,
        HostRef::Missing => Some(format!(
            "The destination host could not be read from the code: replace `{PLACEHOLDER_HOST}` with the Service's host."
        )),
        HostRef::Invalid(raw) => Some(format!(
            "`{}` is not a Kubernetes host name: replace `{PLACEHOLDER_HOST}` with the Service's host.",
            clean(raw)
        )),
    };
    let env_note = (finding.value("host_source") == Some("env")).then(|| {
        "The host is the default of an environment variable: check the value deployed.".to_string()
    });
    let name = match &extracted.host {
        HostRef::Known(h) => names
            .get(h.as_str())
            .cloned()
            .unwrap_or_else(|| resource_name_for_host(h)),
        _ => PLACEHOLDER_NAME.to_string(),
    };
    let mut out = Vec::new();
    let finish = |lead: String| {
        let mut note = lead;
        for extra in host_note.iter().chain(env_note.iter()) {
            note.push(' ');
            note.push_str(extra);
        }
        note
    };
    if let Some(policy) = &extracted.destination {
        if let Some((doc, _)) = istio::virtual_service(policy, &name, opts) {
            if let Ok(yaml) = yaml::to_yaml(&doc.resource, &doc.comments) {
                out.push(Suggestion {
                    kind: "VirtualService".into(),
                    yaml: Some(yaml),
                    code: None,
                    note: finish(route_note(finding, policy)),
                    replacement: None,
                });
            }
        }
        if let Some((doc, _)) = istio::destination_rule(policy, &name, opts) {
            if let Ok(yaml) = yaml::to_yaml(&doc.resource, &doc.comments) {
                out.push(Suggestion {
                    kind: "DestinationRule".into(),
                    yaml: Some(yaml),
                    code: None,
                    note: finish(traffic_note(kind)),
                    replacement: None,
                });
            }
        }
    }
    if extracted.server_mtls {
        let crate_name = finding.package.as_deref();
        let pa_name = dns_label(
            crate_name.unwrap_or("workload"),
            crate_name.unwrap_or("workload"),
        );
        let doc = istio::peer_authentication(crate_name, &pa_name, &[Origin::of(finding)], opts);
        if let Ok(yaml) = yaml::to_yaml(&doc.resource, &doc.comments) {
            out.push(Suggestion {
                kind: "PeerAuthentication".into(),
                yaml: Some(yaml),
                code: None,
                note: "Serve plaintext inside the pod and let the sidecar terminate mTLS: drop the TLS acceptor and apply this PeerAuthentication (STRICT). Put the workload's pod labels in the selector.".into(),
                replacement: None,
            });
        }
    }
    out
}

fn route_note(finding: &Finding, policy: &DestinationPolicy) -> String {
    let target = policy.host.as_deref().unwrap_or(PLACEHOLDER_HOST);
    match (&policy.retry, finding.rule) {
        (Some(r), _) => {
            // fields.md §1: a route without retries still gets the mesh
            // default (2 re-tries), so the code's tries multiply with it.
            let amplification = match r.attempts.value {
                Attempts::Count(n) => format!(
                    "until it goes, each of the code's {} tries is retried by the sidecar's default policy too (up to {} upstream attempts)",
                    u64::from(n) + 1,
                    (u64::from(n) + 1) * 3
                ),
                _ => "until it goes, every try of the unbounded loop is retried by the sidecar's default policy too".into(),
            };
            format!("Delete the client-side retries and let the sidecar retry: apply this VirtualService for `{target}`; {amplification}.")
        }
        _ => format!("Drop the client-side timeout and set it on the route: apply this VirtualService for `{target}`."),
    }
}

fn traffic_note(kind: RuleKind) -> String {
    match kind {
        RuleKind::Breaker => "Remove the client-side circuit breaker: the sidecar's outlier detection ejects failing endpoints instead; apply this DestinationRule.".into(),
        RuleKind::Tls => "Let the sidecar originate mTLS: drop the client TLS setup, call the Service over plain HTTP and apply this DestinationRule (ISTIO_MUTUAL).".into(),
        _ => "Move the connect timeout to the sidecar's connection pool: apply this DestinationRule.".into(),
    }
}

/// What a manifest file is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestSubject {
    /// A destination host (VirtualService and/or DestinationRule).
    Host(String),
    /// A server crate (PeerAuthentication).
    Crate(String),
}

/// One file of `--emit-manifests`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestFile {
    /// Plain file name (no directory), safe to join to the output directory.
    pub file_name: String,
    /// The YAML, multi-document, deterministic byte for byte.
    pub contents: String,
    pub subject: ManifestSubject,
    /// The typed resources, in file order (for tests and other renderers).
    pub documents: Vec<Resource>,
}

/// A field on which findings for the same host disagreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub host: String,
    /// Istio field path, e.g. `http[].retries.attempts`.
    pub field: String,
    /// The value written (`none` when the field was left out).
    pub chosen: String,
    /// What each finding said, and where (`file:line`).
    pub values: Vec<(String, String)>,
    /// The merge rule that picked `chosen`: `fewest kept`, `left out`, ...
    pub why: String,
}

impl Conflict {
    /// The field in words, plural: what the findings disagree on.
    fn subject(&self) -> (&'static str, &'static str) {
        let f = self.field.as_str();
        match () {
            _ if f.ends_with("port.number") => ("ports", "port"),
            _ if f.ends_with("perTryTimeout") => ("per-try timeouts", "per-try timeout"),
            _ if f.ends_with("retries.attempts") => ("retry attempts", "retry attempts"),
            _ if f.ends_with("retryOn") => ("retry conditions", "retry conditions"),
            _ if f.ends_with("backoff") => ("retry backoffs", "backoff"),
            _ if f.ends_with("timeout") => ("timeouts", "timeout"),
            _ if f.contains("consecutive") => ("error thresholds", "error threshold"),
            _ if f.contains("baseEjectionTime") => ("ejection times", "ejection time"),
            _ if f.contains("interval") => ("detection intervals", "interval"),
            _ => ("values", "value"),
        }
    }
}

impl fmt::Display for Conflict {
    /// `pricing: ports differ (50051 at a.rs:3, 8080 at b.rs:9): port left out (http[].route[].destination.port.number)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self
            .values
            .iter()
            .map(|(v, at)| format!("{v} at {at}"))
            .collect::<Vec<_>>()
            .join(", ");
        let (plural, singular) = self.subject();
        let outcome = match self.why.strip_suffix(" kept") {
            _ if self.why == "left out" || self.chosen == "none" => format!("{singular} left out"),
            Some(rule) if rule.starts_with("only") => format!("kept {}, {rule}", self.chosen),
            Some(rule) => format!("kept {}, the {rule}", self.chosen),
            None => format!("kept {} ({})", self.chosen, self.why),
        };
        write!(
            f,
            "{}: {plural} differ ({values}): {outcome} ({})",
            self.host, self.field
        )
    }
}

/// Everything `--emit-manifests` writes, and what it could not place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestSet {
    pub files: Vec<ManifestFile>,
    pub conflicts: Vec<Conflict>,
    /// Policy findings with no usable host: (file, line, rule).
    pub unplaced: Vec<(String, u32, &'static str)>,
    /// Documents that could not be written (a bug, never expected).
    pub errors: Vec<String>,
}

/// Groups the policy findings by destination host (hosts naming one Service
/// of the target namespace are one destination, see the crate doc) and
/// server TLS findings by crate, and builds one file per group: `<host>.yaml` with a
/// VirtualService and/or DestinationRule, `<crate>.peerauthentication.yaml`.
pub fn build_manifests(findings: &[Finding], opts: &SuggestOptions) -> ManifestSet {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });

    let mut set = ManifestSet::default();
    let mut by_host: BTreeMap<String, DestinationPolicy> = BTreeMap::new();
    let mut by_crate: BTreeMap<String, Vec<Origin>> = BTreeMap::new();
    for finding in sorted {
        if rule_kind(finding.rule) == RuleKind::Code {
            continue;
        }
        let extracted = extract_for(finding, opts);
        let unplaced = (finding.file.clone(), finding.range.line, finding.rule);
        if extracted.server_mtls {
            match finding.package.as_deref().filter(|p| !p.trim().is_empty()) {
                Some(krate) => by_crate
                    .entry(krate.to_string())
                    .or_default()
                    .push(Origin::of(finding)),
                None => set.unplaced.push(unplaced.clone()),
            }
        }
        let Some(policy) = extracted.destination else {
            continue;
        };
        match extracted.host {
            HostRef::Known(host) => {
                let merged = match by_host.remove(&host) {
                    Some(existing) => existing.merge(policy),
                    None => policy,
                };
                by_host.insert(host, merged);
            }
            HostRef::Missing | HostRef::Invalid(_) => {
                if !set.unplaced.contains(&unplaced) {
                    set.unplaced.push(unplaced);
                }
            }
        }
    }

    let names = unique_names(by_host.keys().map(String::as_str));
    let mut used_files = BTreeSet::new();
    for (host, policy) in &by_host {
        let name = names
            .get(host.as_str())
            .cloned()
            .unwrap_or_else(|| resource_name_for_host(host));
        let mut docs = Vec::new();
        let mut conflicts: Vec<FieldConflict> = Vec::new();
        if let Some((doc, c)) = istio::virtual_service(policy, &name, opts) {
            docs.push(doc);
            conflicts.extend(c);
        }
        if let Some((doc, c)) = istio::destination_rule(policy, &name, opts) {
            docs.push(doc);
            conflicts.extend(c);
        }
        for c in conflicts {
            set.conflicts.push(Conflict {
                host: host.clone(),
                field: c.field.to_string(),
                chosen: c.chosen,
                values: c
                    .values
                    .iter()
                    .map(|(v, o)| (v.clone(), o.to_string()))
                    .collect(),
                why: c.why.to_string(),
            });
        }
        let file_name = unique_file_name(&mut used_files, &file_stem_for_host(host), ".yaml");
        push_file(
            &mut set,
            file_name,
            ManifestSubject::Host(host.clone()),
            docs,
        );
    }
    for (krate, origins) in &by_crate {
        let name = dns_label(krate, krate);
        let doc = istio::peer_authentication(Some(krate), &name, origins, opts);
        let stem = crate_file_stem(krate);
        let file_name = unique_file_name(&mut used_files, &stem, ".peerauthentication.yaml");
        push_file(
            &mut set,
            file_name,
            ManifestSubject::Crate(krate.clone()),
            vec![doc],
        );
    }
    set.files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    set
}

fn push_file(
    set: &mut ManifestSet,
    file_name: String,
    subject: ManifestSubject,
    docs: Vec<Document>,
) {
    if docs.is_empty() {
        return;
    }
    let mut contents = String::new();
    let mut documents = Vec::new();
    for doc in docs {
        match yaml::to_yaml(&doc.resource, &doc.comments) {
            Ok(text) => {
                if !contents.is_empty() {
                    contents.push_str("---\n");
                }
                contents.push_str(&text);
                documents.push(doc.resource);
            }
            Err(e) => set.errors.push(format!(
                "{file_name}: {} {}: {e}",
                doc.resource.kind(),
                doc.resource.name()
            )),
        }
    }
    if !documents.is_empty() {
        set.files.push(ManifestFile {
            file_name,
            contents,
            subject,
            documents,
        });
    }
}

/// Crate names are `[A-Za-z0-9_-]`, but the package name reaches us as a
/// plain string, so anything else is sanitised like a host.
fn crate_file_stem(krate: &str) -> String {
    let plain = !krate.is_empty()
        && krate.len() <= 64
        && !krate.starts_with(['.', '-'])
        && krate
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        krate.to_string()
    } else {
        dns_label(krate, krate)
    }
}

fn unique_file_name(used: &mut BTreeSet<String>, stem: &str, suffix: &str) -> String {
    let mut name = format!("{stem}{suffix}");
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{stem}-{n}{suffix}");
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// `metadata.name` per host, unique within the run: the Service name where
/// it is unique, else a name from the whole host, else that plus a hash.
fn unique_names<'a>(hosts: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, String> {
    let hosts: Vec<&str> = hosts.collect();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for h in &hosts {
        *count.entry(resource_name_for_host(h)).or_default() += 1;
    }
    let mut names: BTreeMap<&str, String> = hosts
        .iter()
        .map(|h| {
            let short = resource_name_for_host(h);
            let name = if count[&short] > 1 {
                full_resource_name_for_host(h)
            } else {
                short
            };
            (*h, name)
        })
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for name in names.values() {
        *seen.entry(name.clone()).or_default() += 1;
    }
    for (host, name) in names.iter_mut() {
        if seen[name.as_str()] > 1 {
            // Different hosts can still meet after sanitising (`a-b.c` and
            // `a.b-c`); a hash of the host keeps them apart.
            *name = dns_label(&format!("{name}-{:08x}", fnv(host)), host);
        }
    }
    names
}

fn fnv(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests;
