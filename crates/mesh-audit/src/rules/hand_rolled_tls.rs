//! # hand-rolled-tls
//!
//! ## What it finds
//! Service code that builds its own TLS for traffic inside the mesh, which
//! the sidecars already encrypt with mutual TLS:
//!
//! - servers that terminate TLS: rustls `ServerConfig::builder()`, tonic
//!   `ServerTlsConfig` (`.identity`, `.client_ca_root`), native-tls and
//!   openssl acceptors (`SslAcceptor::mozilla_intermediate`), axum-server
//!   `RustlsConfig::from_pem_file` (and `bind_rustls`), hyper-rustls'
//!   acceptor, actix-web `bind_rustls*` / `bind_openssl`, tokio-rustls
//!   `TlsAcceptor`, pingora's `TlsSettings::intermediate(cert, key)`;
//! - clients that bring their own trust: a rustls `ClientConfig` with a
//!   client certificate or a root store loaded from a private CA file (in
//!   the function, or by a CA loader of the crate or of a workspace crate
//!   that reads PEM or DER itself: `with_root_certificates(load_ca(p)?)`), tonic
//!   `ClientTlsConfig` with `.ca_certificate` / `.identity`, native-tls and
//!   openssl connectors with a private root or a client certificate, reqwest
//!   `add_root_certificate` / `identity`, a configuration handed to reqwest
//!   `use_preconfigured_tls`, hyper-rustls or tokio-rustls `TlsConnector`;
//! - `https://` URLs of HTTP and gRPC calls to in-cluster hosts: a bare
//!   Service name, `*.svc`, `*.svc.cluster.local`, or a suffix listed in the
//!   `mesh-domains` option.
//!
//! Types are recognised through their imports (`use rustls::ServerConfig`,
//! `tokio_rustls::rustls`, aliases), never by a bare name. There is one
//! finding per configuration, at the call that creates it, not one per
//! method of the chain; a function that picks one of several constructors
//! for the same configuration (`if modern { SslAcceptor::mozilla_modern_v5(..) }
//! else { SslAcceptor::mozilla_intermediate_v5(..) }`, a client-certificate
//! check in one `match` arm only) is one finding, at the first, with `mtls`
//! when any branch checks certificates (client configurations only when
//! they go to the same known host, or are the branches of a `match` or
//! `if` whose value a `let` binds or a function returns); so is a
//! verifier picked inside the
//! call (`with_client_cert_verifier(if ca.is_empty() { Arc::new(NoClientAuth) }
//! else { WebPkiClientVerifier::builder(roots).build()? })`). Values: `side` (`server` or `client`), `mtls`
//! (`true` when a client certificate, or on a server a client-CA check, is
//! configured; absent where the configuration is made outside the crate),
//! and the destination `host` / `port` of a client where the code names it
//! (the gRPC endpoint the configuration is given to, its `domain_name`, the
//! URL). A configuration made by a function of the crate and handed over in
//! another (`use_preconfigured_tls(client_tls())`) is reported once, where
//! it is made; so is one handed to hyper-rustls' acceptor builder
//! (`TlsAcceptor::builder().with_tls_config(config)`) or kept in a field
//! and handed on by `Arc::clone(&state.server_config)`.
//!
//! ## Why the mesh should own it
//! With Istio the sidecar encrypts pod-to-pod traffic with mTLS and rotates
//! the certificates itself. TLS in the application on top of that is a second
//! set of certificates to issue, mount, rotate and revoke by hand; it hides
//! the traffic from the sidecar, which then sees opaque TCP: no L7 retries,
//! timeouts, routing or telemetry for that port, and an authorization policy
//! cannot read the caller's identity. A private CA in the client duplicates
//! what `ISTIO_MUTUAL` gives for free, and breaks when the server moves
//! behind the mesh's own certificates.
//!
//! ## Example
//! ```text
//! let identity = Identity::from_pem(cert, key);
//! Server::builder()
//!     .tls_config(ServerTlsConfig::new().identity(identity))?
//!     .add_service(svc)
//!     .serve(addr)
//!     .await?;
//! ```
//!
//! ## Use instead
//! Delete the TLS code path: serve plain HTTP or gRPC on the pod port, call
//! other Services with `http://` URLs, and let the sidecars do mTLS.
//! ```text
//! Server::builder().add_service(svc).serve(addr).await?;
//! let channel = Channel::from_static("http://ledger:50051").connect().await?;
//! ```
//!
//! ## Mesh config
//! Server side: a PeerAuthentication per workload rejects plaintext from
//! outside the mesh. Client side: a DestinationRule per host makes the
//! sidecar originate mTLS.
//! ```yaml
//! apiVersion: security.istio.io/v1
//! kind: PeerAuthentication
//! spec:
//!   selector: { matchLabels: { app: orders } }
//!   mtls: { mode: STRICT }
//! ---
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! spec:
//!   host: ledger
//!   trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
//! ```
//!
//! ## Not reported
//! - TLS to a database, cache or broker (sqlx, tokio-postgres, redis, lapin,
//!   rdkafka, ... in the same file, imported or called by its full path as
//!   in `tokio_postgres_rustls::MakeRustlsConnect::new(cfg)`, or the
//!   configuration handed to such a client): the mesh carries those
//!   protocols as opaque TCP and does not originate TLS for them by
//!   default, so the application's TLS is the only encryption on the wire.
//! - Servers of protocols the mesh does not carry as HTTP (a Postgres or
//!   MySQL wire server, LDAPS, SMTP, RDP on ironrdp, which negotiates TLS
//!   inside the protocol) in files that use such a server crate,
//!   and QUIC (quinn, h3-quinn, s2n-quic): UDP, which sidecars do not carry.
//!   A generic rustls `ServerConfig` built in one module and handed to such
//!   a server in another is still reported (the protocol is not known where
//!   the configuration is made): suppress it with a reason.
//! - Server TLS anywhere in a crate that writes its own Postgres wire
//!   protocol (it answers the `SSLRequest` code, `80877103`: a pooler or
//!   proxy), whose clients ask for TLS inside the protocol; and its client
//!   TLS, to the upstream databases it speaks that protocol to.
//! - Server TLS anywhere in a crate that is a Kubernetes admission or
//!   conversion webhook (it reads `AdmissionReview` / `ConversionReview`
//!   objects, kube's or its own `AdmissionReview*` types): the API server
//!   calls webhooks over HTTPS only, checking the webhook's `caBundle`, and
//!   has no sidecar to do it for it. Neither where the configuration is
//!   made nor where another function hands it to the server
//!   (`bind_rustls(addr, RustlsConfig::from_config(cfg))`).
//! - TLS to hosts outside the mesh (`api.stripe.com`, any public domain):
//!   that is egress, reported as `info` by the separate `egress-tls` rule
//!   (off by default).
//! - A client that only trusts the public roots (`with_native_roots`,
//!   `webpki_roots`) without a client certificate: ordinary HTTPS, reported
//!   only as an `https://` URL to an in-cluster host. Also when the
//!   platform's store is loaded by hand: `rustls_native_certs::load_native_certs()`
//!   made into the `Certificate` given to `ca_certificate` or
//!   `add_root_certificate`, inline or by a helper of the file that reads
//!   no file.
//! - A client whose root is the pod's service-account CA
//!   (`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`): it talks to
//!   the Kubernetes API server, which is not a meshed Service. Likewise
//!   `https://` calls to the API server's in-cluster names
//!   (`kubernetes.default.svc`, `kubernetes.default.svc.cluster.local`).
//! - TLS terminated inside an upgraded connection (a function taking
//!   `hyper::upgrade::Upgraded` or calling `hyper::upgrade::on`): a
//!   forward proxy reading its clients' HTTPS inside their CONNECT tunnels,
//!   which no sidecar can do for it.
//! - A client whose every request in the function goes to a health route
//!   (`format!("https://{}/status", listen)`, `/healthz`): a `healthcheck`
//!   command probing the program's own server with that server's CA.
//! - A crate that only enables a TLS feature flag (`reqwest/rustls-tls`) or
//!   installs a crypto provider without configuring anything, and test code.
//! - A configuration built only to see whether it can be and dropped (an
//!   uploaded certificate and key checked before they are stored:
//!   `RustlsConfig::from_pem(cert, key).await.map_err(..)?;`, `let _ = ..`,
//!   `.is_ok()`).
//!
//! ## Options
//! `mesh-domains`: DNS suffixes of hosts inside the mesh besides `.svc` and
//! bare Service names, e.g. `["internal.example.com"]`.

use std::collections::BTreeMap;

use crate::analysis::tls::{host_scope, https_calls, tls_setups, HostScope, Side, TlsSetup};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::retry_loop::destination_values;
use crate::rules::{rule_meta, OptionKind, Rule, RuleMeta, Violation};

rule_meta!(
    "hand-rolled-tls",
    Warning,
    Security,
    "service code sets up its own TLS for traffic the mesh already encrypts with mTLS",
    "hand_rolled_tls.rs",
    options: &[(
        "mesh-domains",
        OptionKind::StringList,
        "DNS suffixes of in-mesh hosts besides `.svc` and bare Service names"
    )]
);

pub struct HandRolledTls;

/// The `mesh-domains` option of a TLS rule.
pub(crate) fn mesh_domains(config: &RuleConfig) -> Vec<String> {
    config
        .options
        .get("mesh-domains")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `side`, `mtls` and the destination of a configuration.
pub(crate) fn setup_values(s: &TlsSetup) -> BTreeMap<String, String> {
    let mut values = BTreeMap::from([("side".to_string(), s.side.as_str().to_string())]);
    if let Some(m) = s.mtls {
        values.insert("mtls".into(), m.to_string());
    }
    destination_values(&s.dest, &mut values);
    values
}

impl Rule for HandRolledTls {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, config: &RuleConfig, out: &mut Vec<Violation>) {
        let domains = mesh_domains(config);
        let scope_of = |s: &TlsSetup| {
            s.dest
                .host
                .as_deref()
                .map_or(HostScope::Unknown, |h| host_scope(h, &domains))
        };
        let setups: Vec<TlsSetup> = tls_setups(cx)
            .into_iter()
            .filter(|s| s.side == Side::Server || scope_of(s) != HostScope::Public)
            .collect();
        for s in &setups {
            let target = s.dest.target();
            let (message, help) = match s.side {
                Side::Server => (
                    format!(
                        "{} terminates TLS in the service{}; the sidecar already terminates mTLS for in-mesh traffic",
                        s.what,
                        if s.mtls == Some(true) { " and checks client certificates" } else { "" }
                    ),
                    "serve plain HTTP/gRPC on the pod port and require mTLS with a PeerAuthentication (mode STRICT)".to_string(),
                ),
                Side::Client => (
                    format!(
                        "{} sets up client TLS{target}{}; the sidecar already originates mTLS",
                        s.what,
                        if s.mtls == Some(true) { " with a client certificate" } else { "" }
                    ),
                    "call the Service over plain HTTP/gRPC and let the sidecar originate mTLS (DestinationRule `tls.mode: ISTIO_MUTUAL`)".to_string(),
                ),
            };
            out.push(Violation {
                sources: Default::default(),
                range: s.range,
                message,
                help,
                values: setup_values(s),
            });
        }
        for call in https_calls(cx) {
            let Some(host) = call.dest.host.as_deref() else {
                continue;
            };
            if host_scope(host, &domains) != HostScope::Mesh
                || setups
                    .iter()
                    .any(|s| s.side == Side::Client && s.dest.host == call.dest.host)
            {
                continue;
            }
            let mut values = BTreeMap::from([("side".to_string(), "client".to_string())]);
            destination_values(&call.dest, &mut values);
            out.push(Violation {
                sources: Default::default(),
                range: call.range,
                message: format!(
                    "`https://` call to in-cluster host `{host}`; the sidecar already encrypts it with mTLS"
                ),
                help: "use `http://` and let the sidecar originate mTLS (DestinationRule `tls.mode: ISTIO_MUTUAL`)".into(),
                values,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;
    use crate::{audit, AuditOptions, Target};

    /// `mesh-domains` moves a host under a declared suffix from egress to
    /// the mesh; the fixture's `.expected` (default config) has no finding.
    #[test]
    fn mesh_domains_option_makes_a_suffix_in_mesh() {
        let case = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/rules/hand-rolled-tls/mesh-domains");
        let config = Config::from_file(&case.join("mesh-audit.toml")).expect("config parses");
        let run = |rule: &str| {
            let opts = AuditOptions {
                config: Some(config.clone()),
                select: Some(vec![rule.to_string()]),
                threads: 1,
                ..Default::default()
            };
            let (report, _) = audit(&Target::Paths(vec![case.clone()]), &opts).expect("audit runs");
            report
                .findings
                .iter()
                .map(|f| format!("{} {}", f.range.line, f.value("host").unwrap_or("")))
                .collect::<Vec<_>>()
        };
        assert_eq!(run("hand-rolled-tls"), ["3 ledger.mesh.example.com"]);
        assert_eq!(run("egress-tls"), ["8 api.example.com"]);
    }
}
