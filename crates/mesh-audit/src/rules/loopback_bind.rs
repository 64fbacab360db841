//! # loopback-bind
//!
//! ## What it finds
//! A server that listens on a loopback address: `127.0.0.1`, `localhost` or
//! `[::1]`, written as a string, `Ipv4Addr::LOCALHOST`, `[127, 0, 0, 1]`, a
//! `format!`, or through a `const`, `static` or `let`. It looks at
//! `TcpListener::bind` (std, tokio, async-std, poem), `hyper`/`axum`
//! `Server::bind`, `axum_server::bind`, actix-web `HttpServer::bind` and
//! friends, tonic `Server::builder()..serve`, `warp::serve(..).run`, salvo
//! `TcpListener::new`, `rocket::Config { address, .. }`, a tokio
//! `TcpSocket` it binds (also one whose address family a `match` or an
//! `if` picks, `match addr { V4(_) => TcpSocket::new_v4(), V6(_) =>
//! TcpSocket::new_v6() }`) and a `socket2::Socket` the code binds and then
//! `listen`s on (a UDP socket or one it `connect`s is not a server), and
//! the listeners of a pingora service (`add_tcp`, `add_tls`,
//! `add_tls_with_settings` on a name declared as pingora's listening
//! `Service` or bound to `http_proxy_service(..)`).
//!
//! ## Why it breaks under a mesh
//! The sidecar receives inbound traffic and forwards it to the pod's IP, not
//! to loopback. A server bound to `127.0.0.1` works on a laptop and answers
//! every request through the mesh with a 503 (`upstream connect error`).
//! Istio only reports this (IST0143) from a live cluster; here it is caught
//! before the image is built. An address read from the environment with a
//! loopback default is reported too: the default is what runs when the
//! deployment forgets the variable (`host_source` says so).
//!
//! ## Example
//! ```text
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! ```
//!
//! ## Use instead
//! Bind every interface and take the port from the environment:
//! ```text
//! let port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);
//! let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
//! ```
//!
//! ## Mesh config
//! None: this is a code change. Make the Service's `targetPort` the port the
//! server binds.
//!
//! ## Not reported
//! A listener whose every route is an operator's endpoint (`axum::serve`
//! of a router of `/admin/..`, `/debug/..` or `/pprof/..` paths only):
//! kept on loopback on purpose, for `kubectl port-forward`.
//! Test code, client connections to localhost, addresses read from the
//! environment or config with a non-loopback default, and free-port probes:
//! a listener only asked for its `local_addr()` and dropped, also when it is
//! matched out of the bind's result (`match TcpListener::bind(a) { Ok(l) =>
//! return l.local_addr(), .. }`) or handed to a `let` by a `match` that
//! writes the `?` out (`let l = match TcpListener::bind(a) { Ok(l) => l,
//! Err(_) => continue };` then `drop(l)`). Nor port-availability checks, whose
//! listener is dropped where the bind's outcome is read
//! (`TcpListener::bind(("127.0.0.1", p)).is_ok()`, `.is_err()`, `match
//! TcpListener::bind(a) { Ok(_) => true, Err(_) => false }`).

use std::collections::BTreeMap;

use crate::analysis::lifecycle::is_operator_path;
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "loopback-bind",
    Error,
    Networking,
    "server listens on a loopback address the sidecar cannot reach",
    "loopback_bind.rs"
);

pub struct LoopbackBind;

impl Rule for LoopbackBind {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        for bind in cx.server_binds() {
            // Loopback on port 0 is one mistake reported once, by
            // ephemeral-port, whose message names the loopback too.
            if !bind.is_loopback() || bind.port == Some(0) {
                continue;
            }
            // A listener whose every route is an operator's endpoint
            // (`/admin/..`, `/debug/..`) is kept off the network on purpose.
            let at = bind.range.byte_start as usize;
            if cx.lifecycles().iter().flat_map(|lc| &lc.servers).any(|s| {
                s.listener.as_ref().is_some_and(|r| r.contains(&at))
                    && s.routes
                        .as_ref()
                        .is_some_and(|r| !r.is_empty() && r.iter().all(|p| is_operator_path(p)))
            }) {
                continue;
            }
            let host = bind.host.clone().unwrap_or_default();
            let mut values = BTreeMap::from([("host".to_string(), host.clone())]);
            if let Some(port) = bind.port {
                values.insert("port".into(), port.to_string());
            }
            if bind.from_env {
                values.insert("host_source".into(), "env".into());
            }
            let unspecified = if host.contains(':') {
                "[::]"
            } else {
                "0.0.0.0"
            };
            let what = if bind.from_env {
                format!("{} server falls back to loopback address `{host}` when its environment variable is unset", bind.framework)
            } else {
                format!(
                    "{} server listens on loopback address `{host}`",
                    bind.framework
                )
            };
            out.push(Violation {
                range: bind.range,
                message: format!("{what}; the sidecar forwards to the pod IP and cannot reach it"),
                help: format!(
                    "bind `{unspecified}` and read the port from the environment (e.g. `PORT`)"
                ),
                values,
                sources: Default::default(),
            });
        }
    }
}
