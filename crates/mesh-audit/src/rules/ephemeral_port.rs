//! # ephemeral-port
//!
//! ## What it finds
//! A server that binds port `0`, so that the kernel picks a free port at
//! start-up: `TcpListener::bind("0.0.0.0:0")`, `SocketAddr::from(([0, 0, 0, 0], 0))`,
//! `HttpServer::bind(("0.0.0.0", 0))` and the other binds `loopback-bind` knows.
//!
//! ## Why it breaks under a mesh
//! A Kubernetes Service, the sidecar's inbound listener and the readiness
//! probe all name a fixed `targetPort`. A port chosen at random is one none
//! of them points at: the pod never becomes ready, or the mesh routes to a
//! closed port. `127.0.0.1:0` is reported once, here, with the loopback
//! address named in the message (`loopback-bind` leaves it to this rule).
//!
//! ## Example
//! ```text
//! let listener = std::net::TcpListener::bind("0.0.0.0:0")?;
//! ```
//!
//! ## Use instead
//! A fixed port, configurable through the environment:
//! ```text
//! let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
//! let listener = std::net::TcpListener::bind(("0.0.0.0", port))?;
//! ```
//!
//! ## Mesh config
//! None: this is a code change. Declare the same port as the container's
//! `containerPort` and the Service's `targetPort`.
//!
//! ## Not reported
//! Test code (port 0 is the right choice for tests), ports read from the
//! environment with a non-zero default, and free-port probes: a listener
//! bound only to ask `local_addr()` for a free port and then dropped
//! (`TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()`) serves nothing,
//! also when, outside any loop, it accepts one connection (its own) and
//! drops it unread to hold the port it read in `TIME_WAIT` for the process
//! it is handed to. A connection that is read, accepted in a loop, or
//! accepted by a listener whose port is never read, is served.
//! Nor in-process loopback servers: a listener on a loopback address and
//! port `0` whose `local_addr()` the code reads (to hand the address to the
//! embedding program, a language binding or a test harness) is private to
//! the process by construction, and no Service or sidecar is meant to reach
//! it. The same bind on `0.0.0.0` is reported: it is reachable, at a port
//! nothing targets. So is port `0` on a host the code does not spell out
//! (`SocketAddr::new(listen_ip, 0)`, the IP a parameter or a setting): a
//! server whose port it then advertises to its peers, which no Service or
//! probe can name either; the finding has no `host` value then.

use std::collections::BTreeMap;

use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "ephemeral-port",
    Error,
    Networking,
    "server binds port 0, which no Service or sidecar port can target",
    "ephemeral_port.rs"
);

pub struct EphemeralPort;

impl Rule for EphemeralPort {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        for bind in cx.server_binds() {
            if bind.port != Some(0) {
                continue;
            }
            // An in-process server: the code passes the picked port on
            // itself, and the loopback host keeps everyone else out.
            if bind.is_loopback() && bind.addr_read {
                continue;
            }
            let mut values = BTreeMap::from([("port".to_string(), "0".to_string())]);
            if let Some(host) = &bind.host {
                values.insert("host".into(), host.clone());
            }
            if bind.from_env {
                values.insert("host_source".into(), "env".into());
            }
            let loopback = if bind.is_loopback() {
                " (a loopback address, which the sidecar cannot reach either)"
            } else {
                ""
            };
            out.push(Violation {
                range: bind.range,
                message: format!(
                    "{} server binds port 0{}{loopback}; the kernel picks a random port that no Service or sidecar rule targets",
                    bind.framework,
                    bind.host.as_ref().map(|h| format!(" on `{h}`")).unwrap_or_default()
                ),
                help: "bind a fixed port read from the environment (e.g. `PORT`) and declare it as the Service's targetPort"
                    .into(),
                values,
                sources: Default::default(),
            });
        }
    }
}
