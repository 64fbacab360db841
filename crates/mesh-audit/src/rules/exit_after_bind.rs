//! # exit-after-bind
//!
//! ## What it finds
//! `std::process::exit` or `std::process::abort` that can run while a server
//! is listening: later in the block of the function that bound the listener
//! (before the server future completes), or inside a task, thread or signal
//! handler that function spawns (`tokio::spawn`, `std::thread::spawn`,
//! `ctrlc::set_handler`, a `ctrl_c()`/SIGTERM handler), including a
//! function of the same file that the spawned task calls. An explicit
//! `panic!` in a spawned signal handler is reported too.
//!
//! ## Why it breaks under a mesh
//! `exit` and `abort` skip every destructor: the listener closes with
//! requests in flight, which the caller sees as resets, and the sidecar keeps
//! routing new requests to a port that just closed until the endpoint
//! leaves the load-balancing set. On SIGTERM, Kubernetes removes the pod from
//! the Service while the process is expected to keep serving and drain; a
//! handler that exits at once turns every rollout into a burst of 503s.
//! A `panic!` in a signal handler either aborts (with `panic = "abort"`) or
//! kills only the handler task, after which SIGTERM is swallowed and the pod
//! waits for SIGKILL.
//!
//! ## Example
//! ```text
//! tokio::spawn(async {
//!     tokio::signal::ctrl_c().await.ok();
//!     std::process::exit(0);
//! });
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(listener, app).await?;
//! ```
//!
//! ## Use instead
//! Hand the signal to the server and return from `main` when it has drained:
//! ```text
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(async { tokio::signal::ctrl_c().await.ok(); })
//!     .await?;
//! ```
//! A fatal error in a background task should be sent to `main` (a channel,
//! a `CancellationToken`) so that the server shuts down gracefully.
//!
//! ## Mesh config
//! None in Istio. On the Kubernetes side, keep
//! `terminationGracePeriodSeconds` above the drain time, and let the sidecar
//! outlive the app (`proxy.istio.io/config: '{"terminationDrainDuration": "20s"}'`
//! or a native sidecar container).
//!
//! ## Not reported
//! Exits before any bind (configuration checks at start-up), exits that run
//! only after the server future has completed (`if let Err(e) = serve.await
//! { exit(1) }`), exits that react to the bind itself failing, `main`
//! returning an error, `.unwrap()`/`.expect()` on the serve future, panics
//! outside signal handlers, and test code. In a spawned task that binds its
//! own listener, exits before that bind or reacting to it failing are not
//! reported either (unless the function listens somewhere else too).
//! Functions of other files that a spawned task calls are not followed.

use rustc_hash::FxHashSet as HashSet;
use std::collections::BTreeMap;

use crate::analysis::lifecycle::{exits_in, file_fn};
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "exit-after-bind",
    Warning,
    Networking,
    "process exit while a server is listening: in-flight requests are cut, the sidecar routes to a closed port",
    "exit_after_bind.rs"
);

pub struct ExitAfterBind;

impl Rule for ExitAfterBind {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        let mut seen = HashSet::default();
        for (f, lc) in cx.functions().iter().zip(cx.lifecycles()) {
            if lc.binds.is_empty() {
                continue;
            }
            let after_serve = |at: usize| lc.after_serve.iter().any(|r| r.contains(&at));
            let mut report = |range: mesh_audit_model::TextRange, what: &str, context: &str| {
                if !seen.insert(range.byte_start) {
                    return;
                }
                let whence = match context {
                    "signal-handler" => "in a signal handler spawned next to a server",
                    "task" => "in a task spawned next to a server",
                    _ => "after a listener is bound, while it serves",
                };
                out.push(Violation {
                sources: Default::default(),
                    range,
                    message: format!(
                        "`{what}` {whence}: the listener closes with requests in flight and the sidecar keeps routing to it"
                    ),
                    help: "let the server drain: pass the signal to its graceful shutdown and return from `main`".into(),
                    values: BTreeMap::from([
                        ("call".to_string(), what.to_string()),
                        ("context".to_string(), context.to_string()),
                    ]),
                });
            };
            for (at, range, what) in exits_in(cx, f.body) {
                if after_serve(at) {
                    continue;
                }
                match lc.spawned.iter().find(|(r, _)| r.contains(&at)) {
                    Some((task, signal)) => {
                        if what == "panic!" && !signal || after_serve(task.start) {
                            continue;
                        }
                        // A task that binds its own listener and exits
                        // before it is bound or because the bind failed
                        // (`let Ok(l) = bind(..).await else { exit(1) }`)
                        // cuts no request, unless the function listens
                        // somewhere else too.
                        let own: Vec<_> = lc
                            .task_binds
                            .iter()
                            .filter(|b| task.contains(&b.block.start))
                            .collect();
                        let listening = own.iter().any(|b| at > b.end && b.block.contains(&at));
                        let elsewhere = lc.binds.iter().any(|b| !own.iter().any(|o| o.spawn == *b));
                        if !own.is_empty() && !listening && !elsewhere {
                            continue;
                        }
                        let context = if *signal { "signal-handler" } else { "task" };
                        report(range, what, context);
                    }
                    None => {
                        let bound = lc
                            .binds
                            .iter()
                            .any(|(end, block)| at > *end && block.contains(&at));
                        if what != "panic!" && bound {
                            report(range, what, "after-bind");
                        }
                    }
                }
            }
            for (name, at, signal) in &lc.spawned_calls {
                if after_serve(*at) || *name == f.name {
                    continue;
                }
                let Some(g) = file_fn(cx, name) else {
                    continue;
                };
                for (_, range, what) in exits_in(cx, g.body) {
                    if what == "panic!" && !signal {
                        continue;
                    }
                    let context = if *signal { "signal-handler" } else { "task" };
                    report(range, what, context);
                }
            }
        }
    }
}
