//! # egress-tls
//!
//! Off by default; turn it on with `--select egress-tls` or
//! `[rules.egress-tls] enabled = true`.
//!
//! ## What it finds
//! Client TLS to hosts outside the mesh: an HTTP or gRPC call to an
//! `https://` URL of a public domain (`https://api.stripe.com/v1/charges`),
//! or a client TLS configuration with a private CA or a client certificate
//! (see `hand-rolled-tls`) whose destination is a public domain. Values:
//! `side` (`client`), `mtls` where a configuration says, `host`, `port`.
//!
//! ## Why
//! This is not a mistake: the mesh does not encrypt traffic that leaves it,
//! so the application's TLS is what protects it, and most services keep it.
//! The rule is an inventory for teams that route egress through the mesh
//! (an egress gateway, `outboundTrafficPolicy: REGISTRY_ONLY`): there the
//! sidecar can originate the TLS, which gives the mesh's telemetry, retries
//! and timeouts for the call and one place to pin the CA. Hence `info`, and
//! off unless asked for.
//!
//! ## Example
//! ```text
//! let resp = client.post("https://api.stripe.com/v1/charges").send().await?;
//! ```
//!
//! ## Use instead
//! Keep the code as it is (TLS from the application is the simple, safe
//! choice), or, with TLS origination at the sidecar, call
//! `http://api.stripe.com:443` and let the mesh wrap it.
//!
//! ## Mesh config
//! A ServiceEntry for the external host and, only for TLS origination at
//! the sidecar, a DestinationRule with `tls.mode: SIMPLE` (never
//! `ISTIO_MUTUAL`: the external server has no mesh identity). No manifest
//! is generated for this rule: whether to originate TLS at the sidecar is a
//! choice, not a fix.
//! ```yaml
//! apiVersion: networking.istio.io/v1
//! kind: ServiceEntry
//! spec:
//!   hosts: [api.stripe.com]
//!   ports: [{ number: 443, name: https, protocol: TLS }]
//!   resolution: DNS
//!   location: MESH_EXTERNAL
//! ```
//!
//! ## Not reported
//! Hosts inside the mesh (that is `hand-rolled-tls`), IP addresses and
//! private suffixes (`.local`, `.internal`), whose place cannot be told from
//! the name, database and broker connections, and test code.
//!
//! ## Options
//! `mesh-domains`: DNS suffixes that are inside the mesh, as for
//! `hand-rolled-tls`.

use std::collections::BTreeMap;

use crate::analysis::tls::{host_scope, https_calls, tls_setups, HostScope, Side};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::hand_rolled_tls::{mesh_domains, setup_values};
use crate::rules::retry_loop::destination_values;
use crate::rules::{Category, OptionKind, Rule, RuleMeta, Violation};

// Written out rather than with `rule_meta!`: this rule is off by default.
static META: RuleMeta = RuleMeta {
    id: "egress-tls",
    severity: mesh_audit_model::Severity::Info,
    enabled: false,
    category: Category::Security,
    summary: "client TLS to a host outside the mesh (inventory for egress through the mesh)",
    source: include_str!("egress_tls.rs"),
    options: &[(
        "mesh-domains",
        OptionKind::StringList,
        "DNS suffixes of in-mesh hosts besides `.svc` and bare Service names",
    )],
};

pub struct EgressTls;

impl Rule for EgressTls {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, config: &RuleConfig, out: &mut Vec<Violation>) {
        let domains = mesh_domains(config);
        let public =
            |h: Option<&str>| h.is_some_and(|h| host_scope(h, &domains) == HostScope::Public);
        let setups: Vec<_> = tls_setups(cx)
            .into_iter()
            .filter(|s| s.side == Side::Client && public(s.dest.host.as_deref()))
            .collect();
        for s in &setups {
            out.push(Violation {
                sources: Default::default(),
                range: s.range,
                message: format!(
                    "{} sets up client TLS to external host `{}`; the mesh does not encrypt egress",
                    s.what,
                    s.dest.host.as_deref().unwrap_or_default()
                ),
                help: "keep it, or originate TLS at the sidecar with a ServiceEntry and a DestinationRule (`tls.mode: SIMPLE`)".into(),
                values: setup_values(s),
            });
        }
        for call in https_calls(cx) {
            if !public(call.dest.host.as_deref())
                || setups.iter().any(|s| s.dest.host == call.dest.host)
            {
                continue;
            }
            let mut values = BTreeMap::from([("side".to_string(), "client".to_string())]);
            destination_values(&call.dest, &mut values);
            out.push(Violation {
                sources: Default::default(),
                range: call.range,
                message: format!(
                    "`https://` call{} outside the mesh; the application's TLS is the only encryption",
                    call.dest.target()
                ),
                help: "keep it, or originate TLS at the sidecar with a ServiceEntry and a DestinationRule (`tls.mode: SIMPLE`)".into(),
                values,
            });
        }
    }
}
