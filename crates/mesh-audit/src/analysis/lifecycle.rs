//! Server lifecycle: where a server starts serving, whether it drains on a
//! shutdown signal, which routes it serves, and where the process can exit
//! while it serves. Shared by the lifecycle rules (`exit-after-bind`,
//! `missing-graceful-shutdown`, `missing-health-endpoint`,
//! `health-check-calls-downstream`, `in-code-metrics`).
//!
//! A server is recognised by the resolved path of the call its builder
//! chain starts from (`axum::serve`, tonic `Server::builder`, actix
//! `HttpServer::new`, ...), followed through `let` bindings, never by a
//! method name alone.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ops::Range;

use mesh_audit_model::TextRange;
use syn::visit::Visit;
use syn::{Expr, ExprMethodCall};

use super::eval::{Evaluator, Value};
use super::macros::macro_name;
use super::paths::{ends_with, mentions};
use super::scope::{block_tail, FnItem, FnScope};
use super::FileCtx;

/// How a server reacts to SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// The code hands the server a shutdown signal (or races it against one).
    Wired,
    /// The framework drains on SIGTERM by itself (actix-web, rocket).
    Builtin,
    /// No signal reaches the server.
    Missing,
    /// The server value leaves the function; someone else may wire it.
    Unknown,
    /// The serving future is returned unawaited (`fn start(..) -> impl
    /// Future { axum_server::from_tcp(l).serve(app) }`, also in `Ok(..)`,
    /// `Box::pin(..)`, `.boxed()`, a struct field or through a `let`): it
    /// serves, and its caller decides when it stops.
    Caller,
}

/// One server that starts serving.
#[derive(Debug, Clone)]
pub struct Server {
    pub framework: &'static str,
    /// The serving call (`axum::serve(..)`, `.serve(addr)`, `.run()`).
    pub range: TextRange,
    /// Byte offset where the chain starts (the bind).
    pub start: usize,
    pub shutdown: Shutdown,
    /// Route paths of the app it serves, when every part of the app is
    /// known; `None` when some part is built where we cannot see.
    pub routes: Option<Vec<String>>,
    /// The app comes from a parameter: its caller, maybe in another crate,
    /// decides the routes.
    pub app_from_caller: bool,
    /// Serves gRPC only (tonic).
    pub grpc: bool,
    /// A hand-written hyper service whose handler never reads the request
    /// (`service_fn(handler)` with `_: Request<..>`): every path gets the
    /// same answer, so a probe on any path reaches it.
    pub answers_every_path: bool,
    /// Bytes of the expression that makes the listener `axum::serve` is
    /// given (the argument, or the `let` initialiser it names): where its
    /// bind is.
    pub listener: Option<Range<usize>>,
}

/// What the lifecycle rules know about one function.
#[derive(Default)]
pub struct FnLifecycle {
    pub servers: Vec<Server>,
    /// Every listener bind and server start: where its statement ends and
    /// the block it is in (for a bind inside a spawned task, the statement
    /// and block of the spawn). Code of that block after that statement
    /// runs while the listener is open.
    pub binds: Vec<(usize, Range<usize>)>,
    /// Binds inside spawned tasks, by their own statement: where it ends and
    /// its block, with the entry of [`Self::binds`] that stands for it.
    pub task_binds: Vec<TaskBind>,
    /// Regions that run only after a server future has completed: from the
    /// statement that awaits it to the end of its block.
    pub after_serve: Vec<Range<usize>>,
    /// Closures and async blocks handed to `spawn`-like functions or signal
    /// handler registrations; `true` when the task waits for a signal.
    pub spawned: Vec<(Range<usize>, bool)>,
    /// Functions of this file that spawned tasks call, with the task's
    /// byte offset and whether it waits for a signal.
    pub spawned_calls: Vec<(String, usize, bool)>,
}

/// A listener bound inside a spawned task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskBind {
    /// Where the bind's own statement ends, and the block it is in.
    pub end: usize,
    pub block: Range<usize>,
    /// The spawn's statement, as recorded in [`FnLifecycle::binds`].
    pub spawn: (usize, Range<usize>),
}

/// The first byte of a node.
fn start_of<T: quote::ToTokens>(node: &T) -> usize {
    node.to_token_stream()
        .into_iter()
        .next()
        .map(|t| t.span().byte_start())
        .unwrap_or(0)
}

/// The byte range of a node.
pub fn byte_range<T: quote::ToTokens>(node: &T) -> Range<usize> {
    let mut tokens = node.to_token_stream().into_iter();
    let Some(first) = tokens.next() else {
        return 0..0;
    };
    let start = first.span().byte_start();
    let end = tokens
        .last()
        .map(|t| t.span().byte_end())
        .unwrap_or(first.span().byte_end());
    start..end.max(start)
}

/// A method chain read from the outside in: `root.a().b().await?`.
struct Chain<'a> {
    root: &'a Expr,
    /// Innermost first.
    links: Vec<&'a ExprMethodCall>,
}

fn chain(mut e: &Expr) -> Chain<'_> {
    let mut links = Vec::new();
    loop {
        match e {
            Expr::MethodCall(m) => {
                links.push(m);
                e = &m.receiver;
            }
            Expr::Await(a) => e = &a.base,
            Expr::Try(t) => e = &t.expr,
            Expr::Paren(p) => e = &p.expr,
            Expr::Reference(r) => e = &r.expr,
            _ => break,
        }
    }
    links.reverse();
    Chain { root: e, links }
}

/// What a chain's root call makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    AxumServe,
    HyperServer(&'static str),
    AxumServer,
    Tonic,
    Actix,
    Warp,
    Poem,
    Salvo,
    Rocket,
    HyperConn,
    /// A bare listener (`TcpListener::bind`): a bind, not a server.
    Listener,
}

/// Methods that make a chain serve, per root.
fn serving_method(root: Root, m: &str) -> bool {
    match root {
        Root::AxumServe => true,
        Root::HyperServer(_) | Root::AxumServer | Root::Salvo => m == "serve",
        Root::Tonic => m.starts_with("serve"),
        Root::Actix => m == "run",
        Root::Warp => {
            matches!(
                m,
                "run" | "bind" | "try_bind" | "run_incoming" | "serve_incoming" | "graceful"
            ) || m.contains("graceful_shutdown")
        }
        Root::Poem => m == "run" || m == "run_with_graceful_shutdown",
        Root::Rocket => m == "launch",
        Root::HyperConn => m.starts_with("serve_connection"),
        Root::Listener => false,
    }
}

/// Per-function server analysis.
pub struct Lifecycle<'e, 'a> {
    cx: &'e FileCtx<'a>,
    scope: &'e FnScope<'e>,
    ev: Evaluator<'e, 'a>,
    f: &'e FnItem<'e>,
    /// Route paths by function name, from route attributes (`#[get("/x")]`).
    attr_routes: &'e HashMap<String, String>,
}

impl<'e, 'a> Lifecycle<'e, 'a> {
    fn classify_root(&self, root: &Expr) -> Option<Root> {
        let Expr::Call(c) = root else { return None };
        let Expr::Path(p) = &*c.func else { return None };
        let segs = self.cx.uses.resolve_shared(&p.path);
        let uses = &self.cx.uses;
        let from = |k: &str| mentions(&segs, k) || uses.imports_from(k);
        Some(if ends_with(&segs, &["axum", "serve"]) {
            Root::AxumServe
        } else if (ends_with(&segs, &["Server", "bind"])
            || ends_with(&segs, &["Server", "try_bind"])
            || ends_with(&segs, &["Server", "builder"])
            || ends_with(&segs, &["Server", "from_tcp"]))
            && (mentions(&segs, "hyper") || mentions(&segs, "axum"))
        {
            Root::HyperServer(if mentions(&segs, "axum") {
                "axum"
            } else {
                "hyper"
            })
        } else if segs.first().is_some_and(|s| s == "axum_server")
            && segs.last().is_some_and(|l| {
                matches!(
                    l.as_str(),
                    "bind" | "bind_rustls" | "bind_openssl" | "from_tcp" | "from_tcp_rustls"
                )
            })
        {
            Root::AxumServer
        } else if ends_with(&segs, &["Server", "builder"])
            && (mentions(&segs, "tonic") || mentions(&segs, "transport") || from("tonic"))
        {
            Root::Tonic
        } else if ends_with(&segs, &["HttpServer", "new"]) && from("actix_web") {
            Root::Actix
        } else if ends_with(&segs, &["warp", "serve"]) {
            Root::Warp
        } else if ends_with(&segs, &["Server", "new"]) && from("poem") {
            Root::Poem
        } else if ends_with(&segs, &["Server", "new"]) && from("salvo") {
            Root::Salvo
        } else if ends_with(&segs, &["rocket", "build"]) || ends_with(&segs, &["rocket", "custom"])
        {
            Root::Rocket
        } else if ends_with(&segs, &["Builder", "new"])
            && (mentions(&segs, "http1") || mentions(&segs, "http2") || mentions(&segs, "auto"))
            && (from("hyper") || from("hyper_util"))
        {
            Root::HyperConn
        } else if ends_with(&segs, &["TcpListener", "bind"]) {
            Root::Listener
        } else {
            return None;
        })
    }

    /// Follows `let` bindings from a chain's root to the call it started
    /// from: `let s = HttpServer::new(..).bind(a)?; s.run().await`.
    fn full_chain<'x>(&self, e: &'x Expr) -> Chain<'x>
    where
        'e: 'x,
    {
        let mut c = chain(e);
        for _ in 0..4 {
            let Expr::Path(p) = c.root else { break };
            let Some(id) = p.path.get_ident() else { break };
            let Some(init) = self.scope.binding_at(id).and_then(|b| b.init) else {
                break;
            };
            let mut inner = chain(self.agreeing_branch(block_tail(init), 0));
            inner.links.extend(c.links);
            c = inner;
        }
        c
    }

    /// The branch a `let` initialiser that picks one of several set-ups
    /// hands on: `let server = match tls { Some(cfg) =>
    /// Server::builder().tls_config(cfg)?, None => Server::builder() };`
    /// (or an `if`/`else`), when every branch whose value starts a server
    /// chain starts one of the same kind; any other expression as it is.
    fn agreeing_branch<'x>(&self, e: &'x Expr, depth: u32) -> &'x Expr {
        if depth > 3 {
            return e;
        }
        let tails: Vec<&'x Expr> = match e {
            Expr::Match(m) => m.arms.iter().map(|a| block_tail(&a.body)).collect(),
            Expr::If(i) => {
                let Some((_, els)) = &i.else_branch else {
                    return e;
                };
                let then = match i.then_branch.stmts.last() {
                    Some(syn::Stmt::Expr(t, None)) => t,
                    _ => return e,
                };
                vec![then, block_tail(els)]
            }
            _ => return e,
        };
        // A branch may go on from another `let` (`builder.add_service(..)`
        // of `let builder = Server::builder();`), itself picked by a branch.
        let root_of = |t: &Expr| {
            let root = chain(t).root;
            match root {
                Expr::Path(p) => p
                    .path
                    .get_ident()
                    .and_then(|id| self.scope.binding_at(id))
                    .and_then(|b| b.init)
                    .and_then(|init| {
                        let init = self.agreeing_branch(block_tail(init), depth + 1);
                        self.classify_root(chain(init).root)
                    }),
                _ => self.classify_root(root),
            }
        };
        let mut picked: Option<(&'x Expr, Root)> = None;
        for t in tails {
            let Some(root) = root_of(t) else {
                continue;
            };
            match picked {
                None => picked = Some((t, root)),
                Some((_, r)) if r == root => {}
                Some(_) => return e,
            }
        }
        picked.map_or(e, |(t, _)| t)
    }

    fn framework(root: Root) -> &'static str {
        match root {
            Root::AxumServe | Root::AxumServer => "axum",
            Root::HyperServer(f) => f,
            Root::Tonic => "tonic",
            Root::Actix => "actix-web",
            Root::Warp => "warp",
            Root::Poem => "poem",
            Root::Salvo => "salvo",
            Root::Rocket => "rocket",
            Root::HyperConn => "hyper",
            Root::Listener => "tcp",
        }
    }

    /// The app a server serves, as an expression.
    fn app_expr<'x>(
        root: Root,
        root_call: &'x syn::ExprCall,
        links: &[&'x ExprMethodCall],
    ) -> Vec<&'x Expr> {
        let link_args = |names: &[&str]| -> Vec<&'x Expr> {
            links
                .iter()
                .filter(|m| names.contains(&m.method.to_string().as_str()))
                .flat_map(|m| m.args.iter())
                .collect()
        };
        match root {
            Root::AxumServe => root_call.args.iter().skip(1).take(1).collect(),
            // actix-web's app factory (`HttpServer::new(move || App::new()
            // .service(..))`): the app is what the closure builds.
            Root::Actix => root_call
                .args
                .iter()
                .take(1)
                .map(|a| match a {
                    Expr::Closure(c) => &*c.body,
                    _ => a,
                })
                .collect(),
            Root::Warp => root_call.args.iter().take(1).collect(),
            Root::HyperServer(_) | Root::AxumServer | Root::Salvo => link_args(&["serve"]),
            Root::Poem => link_args(&["run", "run_with_graceful_shutdown"])
                .into_iter()
                .take(1)
                .collect(),
            Root::Rocket => link_args(&["mount"]),
            Root::Tonic => link_args(&["add_service", "add_optional_service"]),
            Root::HyperConn => link_args(&["serve_connection", "serve_connection_with_upgrades"]),
            Root::Listener => Vec::new(),
        }
    }

    /// Whether a route path read at run time is named for a health route
    /// ([`names_health_path`]), as written or through the `let` it reads
    /// (`let path = &cfg.health.path; .route(path, ..)`).
    fn names_health_value(&self, e: &Expr) -> bool {
        if names_health_path(e) {
            return true;
        }
        let mut inner = e;
        while let Expr::Reference(r) = inner {
            inner = &r.expr;
        }
        let Expr::Path(p) = inner else {
            return false;
        };
        let Some(id) = p.path.get_ident() else {
            return false;
        };
        self.scope
            .binding_at(id)
            .and_then(|b| b.init)
            .is_some_and(names_health_path)
    }

    /// The value a struct literal of this file stores in the field that
    /// `self.name` reads, in a method of the same type (`Self { probe_router,
    /// .. }` or `Server { probe_router: Router::new().route(..), .. }` in its
    /// constructor), with the function that builds it. Only when exactly one
    /// literal of the type stores the field.
    fn stored_in_self_field(&self, f: &syn::ExprField) -> Option<(&'e Expr, &'e FnItem<'e>)> {
        let syn::Member::Named(name) = &f.member else {
            return None;
        };
        if !matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) {
            return None;
        }
        let ty = self.f.self_ty.as_deref()?;
        struct Lits<'n, 'x> {
            ty: &'n str,
            name: &'n syn::Ident,
            in_impl: bool,
            out: Vec<&'x Expr>,
        }
        impl<'x> Visit<'x> for Lits<'_, 'x> {
            fn visit_expr_struct(&mut self, st: &'x syn::ExprStruct) {
                let last = st.path.segments.last().map(|s| s.ident.to_string());
                let own = match last.as_deref() {
                    Some("Self") => self.in_impl && st.path.segments.len() == 1,
                    Some(l) => l == self.ty,
                    None => false,
                };
                if own {
                    for fv in &st.fields {
                        if matches!(&fv.member, syn::Member::Named(n) if n == self.name) {
                            self.out.push(&fv.expr);
                        }
                    }
                }
                syn::visit::visit_expr_struct(self, st);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut found: Vec<(&'e Expr, &'e FnItem<'e>)> = Vec::new();
        for g in self.cx.functions() {
            let mut v = Lits {
                ty,
                name,
                in_impl: g.self_ty.as_deref() == Some(ty),
                out: Vec::new(),
            };
            v.visit_block(g.body);
            found.extend(v.out.into_iter().map(|e| (e, g)));
        }
        match found.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Route paths an app expression registers; `None` when part of it is
    /// built out of sight (another file, a parameter, a crate we do not know).
    pub fn routes_of(&self, e: &Expr, depth: u32) -> (Option<Vec<String>>, bool) {
        let mut v = RouteWalk {
            lc: self,
            out: Vec::new(),
            complete: true,
            from_param: false,
            depth,
        };
        v.visit_expr(e);
        (v.complete.then_some(v.out), v.from_param)
    }

    /// Chain starts of the servers the function returns unawaited.
    fn returned_servers(&self) -> HashSet<usize> {
        let mut values = Vec::new();
        if let Some(syn::Stmt::Expr(tail, None)) = self.f.body.stmts.last() {
            self.returned_values(tail, &mut values, false, 0);
        }
        struct Returns<'x>(Vec<&'x Expr>);
        impl<'x> Visit<'x> for Returns<'x> {
            fn visit_expr_return(&mut self, r: &'x syn::ExprReturn) {
                if let Some(e) = &r.expr {
                    self.0.push(e);
                }
                syn::visit::visit_expr_return(self, r);
            }
            fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
            fn visit_expr_async(&mut self, _: &'x syn::ExprAsync) {}
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut r = Returns(Vec::new());
        r.visit_block(self.f.body);
        for e in r.0 {
            self.returned_values(e, &mut values, false, 0);
        }
        let mut out = HashSet::default();
        for (v, in_async) in values {
            // Peel the chain down to its root; an `.await` on the way
            // means the function served it itself (unless that is inside
            // an async block the function hands back unawaited).
            let mut e = v;
            loop {
                match e {
                    Expr::MethodCall(m) => e = &m.receiver,
                    Expr::Paren(p) => e = &p.expr,
                    Expr::Reference(r) => e = &r.expr,
                    Expr::Try(t) => e = &t.expr,
                    _ => break,
                }
            }
            if matches!(e, Expr::Await(_)) && !in_async {
                continue;
            }
            let c = self.full_chain(v);
            if matches!(self.classify_root(c.root), None | Some(Root::Listener)) {
                continue;
            }
            if let Expr::Call(root_call) = c.root {
                out.insert(start_of(root_call));
            }
        }
        out
    }

    /// The expressions whose value `e`, returned, hands back: branches'
    /// tails, wrappers' arguments (`Ok(..)`, `Box::pin(..)`), struct
    /// fields, a `let`'s initialiser, an async block's tail (`true` with
    /// each: what an async block awaits is still handed back unawaited).
    fn returned_values<'x>(
        &self,
        e: &'x Expr,
        out: &mut Vec<(&'x Expr, bool)>,
        in_async: bool,
        depth: u32,
    ) where
        'e: 'x,
    {
        if depth > 8 {
            return;
        }
        let tail = |b: &'x syn::Block, out: &mut Vec<(&'x Expr, bool)>, in_async: bool| {
            if let Some(syn::Stmt::Expr(t, None)) = b.stmts.last() {
                self.returned_values(t, out, in_async, depth + 1);
            }
        };
        match e {
            Expr::Block(b) => tail(&b.block, out, in_async),
            Expr::Unsafe(b) => tail(&b.block, out, in_async),
            Expr::Async(a) => tail(&a.block, out, true),
            Expr::If(i) => {
                tail(&i.then_branch, out, in_async);
                if let Some((_, el)) = &i.else_branch {
                    self.returned_values(el, out, in_async, depth + 1);
                }
            }
            Expr::Match(m) => {
                for a in &m.arms {
                    self.returned_values(&a.body, out, in_async, depth + 1);
                }
            }
            // A spawned server is not handed back: the handle only aborts it.
            Expr::Call(c)
                if matches!(&*c.func, Expr::Path(p)
                    if !is_spawn(&self.cx.uses.resolve_shared(&p.path)))
                    && self.classify_root(e).is_none() =>
            {
                for a in &c.args {
                    self.returned_values(a, out, in_async, depth + 1);
                }
            }
            Expr::Struct(st) => {
                for f in &st.fields {
                    self.returned_values(&f.expr, out, in_async, depth + 1);
                }
            }
            Expr::Tuple(t) => {
                for x in &t.elems {
                    self.returned_values(x, out, in_async, depth + 1);
                }
            }
            Expr::Paren(p) => self.returned_values(&p.expr, out, in_async, depth + 1),
            Expr::Path(p) => {
                if let Some(init) = self.let_init(p) {
                    self.returned_values(init, out, in_async, depth + 1);
                }
            }
            _ => match self.awaited_block(e) {
                // `timeout(d, async move { ..; Ok(conn) }).await?`: what the
                // awaited block yields is what the function returns.
                Some(b) => tail(b, out, in_async),
                None => out.push((e, in_async)),
            },
        }
    }

    /// The async block whose value `e` hands on once awaited: `async { .. }.await`
    /// or a deadline over one, `tokio::time::timeout(d, async { .. }).await`,
    /// through `?`, `.map_err(..)` after the await and `.instrument(span)`
    /// before it.
    fn awaited_block<'x>(&self, e: &'x Expr) -> Option<&'x syn::Block> {
        let mut e = e;
        let base = loop {
            match e {
                Expr::Try(t) => e = &t.expr,
                Expr::Paren(p) => e = &p.expr,
                Expr::MethodCall(m) => e = &m.receiver,
                Expr::Await(a) => break &*a.base,
                _ => return None,
            }
        };
        let mut b = base;
        loop {
            match b {
                Expr::Paren(p) => b = &p.expr,
                Expr::MethodCall(m) => b = &m.receiver,
                Expr::Async(a) => return Some(&a.block),
                Expr::Call(c) => {
                    let Expr::Path(p) = &*c.func else {
                        return None;
                    };
                    let segs = self.cx.uses.resolve_shared(&p.path);
                    if c.args.len() != 2 || !ends_with(&segs, &["timeout"]) {
                        return None;
                    }
                    return match &c.args[1] {
                        Expr::Async(a) => Some(&a.block),
                        _ => None,
                    };
                }
                _ => return None,
            }
        }
    }

    /// The server or listener a chain (`full_chain`) starts.
    fn server_of(&self, c: Chain<'_>, in_select: bool) -> Option<(usize, Root, Server)> {
        let root = self.classify_root(c.root)?;
        let Expr::Call(root_call) = c.root else {
            return None;
        };
        let start = start_of(root_call);
        let names: Vec<String> = c.links.iter().map(|m| m.method.to_string()).collect();
        let serving = c
            .links
            .iter()
            .find(|m| serving_method(root, &m.method.to_string()));
        // A tonic server fed a fixed set of in-process connections (a
        // `tokio::io::duplex` half in `stream::iter([..])`) listens on no
        // port: no probe, SIGTERM or sidecar ever reaches it.
        if root == Root::Tonic
            && serving.is_some_and(|m| {
                m.method.to_string().starts_with("serve_with_incoming")
                    && m.args.first().is_some_and(|a| self.is_fixed_stream(a))
            })
        {
            return None;
        }
        // A tonic server fed the connections of a Unix domain socket
        // (`serve_with_incoming(UnixListenerStream::new(listener))`, a CSI
        // driver's socket for the kubelet) listens on no port either.
        if root == Root::Tonic
            && serving.is_some_and(|m| {
                m.method.to_string().starts_with("serve_with_incoming")
                    && m.args.first().is_some_and(|a| self.is_unix_stream(a))
            })
        {
            return None;
        }
        // A connection served over an upgraded HTTP connection (the tunnel
        // of a CONNECT request, a TLS stream opened inside it) belongs to a
        // request the outer server already accepted: it listens on no port
        // and ends with that request, so it is not a server of its own.
        if root == Root::HyperConn
            && serving.is_some_and(|m| {
                m.args
                    .first()
                    .is_some_and(|a| is_upgraded_conn(self.cx, self.scope, a, 0))
            })
        {
            return None;
        }
        // A server on a Unix domain socket (`axum::serve(unix_listener, app)`)
        // serves processes of its own pod or machine: no Service, probe or
        // sidecar reaches it.
        if root == Root::AxumServe
            && root_call
                .args
                .first()
                .is_some_and(|a| self.is_unix_listener(a))
        {
            return None;
        }
        let range = match (root, serving) {
            (Root::AxumServe, _) => self.cx.call_range(root_call),
            (_, Some(m)) => self.cx.method_range(m),
            (Root::Rocket, None) if is_launch_fn(self.f) => self.cx.call_range(root_call),
            _ => return Some((start, root, self.bind_only(root, start, root_call))),
        };
        let has = |m: &str| names.iter().any(|n| n == m);
        let body_calls = method_names(self.cx, self.f.body);
        let shutdown = match root {
            Root::Rocket => Shutdown::Builtin,
            Root::Actix if !has("disable_signals") => Shutdown::Builtin,
            Root::Actix => {
                if body_calls.contains("stop") || has("handle") || body_calls.contains("handle") {
                    Shutdown::Wired
                } else {
                    Shutdown::Missing
                }
            }
            Root::AxumServe | Root::HyperServer(_) if has("with_graceful_shutdown") => {
                Shutdown::Wired
            }
            Root::AxumServer if has("handle") => Shutdown::Wired,
            Root::Tonic if names.iter().any(|n| n.ends_with("_shutdown")) => Shutdown::Wired,
            Root::Warp
                if names
                    .iter()
                    .any(|n| n == "graceful" || n.contains("graceful_shutdown")) =>
            {
                Shutdown::Wired
            }
            Root::Poem if has("run_with_graceful_shutdown") => Shutdown::Wired,
            Root::Salvo if body_calls.contains("stop_graceful") || has("handle") => Shutdown::Wired,
            Root::HyperConn
                if body_calls.contains("graceful_shutdown")
                    || body_calls.contains("watch")
                    || mentions_graceful_type(self.f.body)
                    || accept_loop_stops(
                        self.cx,
                        self.f.body,
                        serving.map_or(start, |m| m.method.span().byte_start()),
                    ) =>
            {
                Shutdown::Wired
            }
            _ => Shutdown::Missing,
        };
        let shutdown = if shutdown == Shutdown::Missing && in_select {
            Shutdown::Wired
        } else {
            shutdown
        };
        let apps = Self::app_expr(root, root_call, &c.links);
        let mut from_caller = false;
        let routes = if apps.is_empty() {
            None
        } else {
            let mut all = Vec::new();
            let mut complete = true;
            for a in apps {
                let (routes, param) = self.routes_of(a, 0);
                from_caller |= param;
                match routes {
                    Some(r) => all.extend(r),
                    None => complete = false,
                }
            }
            complete.then_some(all)
        };
        // A hand-written hyper service: the paths its handler dispatches on.
        let routes = if root == Root::HyperConn {
            Self::app_expr(root, root_call, &c.links)
                .iter()
                .find_map(|a| self.dispatch_paths(a))
                .or(routes)
        } else {
            routes
        };
        Some((
            start,
            root,
            Server {
                framework: Self::framework(root),
                range,
                start,
                shutdown,
                routes,
                app_from_caller: from_caller,
                grpc: root == Root::Tonic,
                answers_every_path: root == Root::HyperConn
                    && Self::app_expr(root, root_call, &c.links)
                        .iter()
                        .any(|a| self.ignores_request(a)),
                listener: (root == Root::AxumServe)
                    .then(|| root_call.args.first())
                    .flatten()
                    .map(|a| self.listener_expr(a)),
            },
        ))
    }

    /// Whether an expression (or the `let` it names) is a finite stream made
    /// on the spot: `futures::stream::iter([..])`, `stream::once(..)`,
    /// `tokio_stream::iter(..)`. A listener's accept stream never is.
    fn is_fixed_stream(&self, e: &Expr) -> bool {
        let mut e = e;
        if let Expr::Path(p) = e {
            let init = p
                .path
                .get_ident()
                .and_then(|id| self.scope.binding_at(id))
                .and_then(|b| b.init);
            match init {
                Some(init) => e = init,
                None => return false,
            }
        }
        let Expr::Call(c) = e else { return false };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        let segs = self.cx.uses.resolve_shared(&p.path);
        let last = segs.last().map(String::as_str);
        matches!(last, Some("iter" | "once"))
            && (ends_with(&segs[..segs.len() - 1], &["futures", "stream"])
                || ends_with(&segs[..segs.len() - 1], &["futures_util", "stream"])
                || segs.first().is_some_and(|s| s == "tokio_stream"))
    }

    /// What the local a path names was bound to, if it is a `let` of this
    /// function with an initialiser.
    fn let_init(&self, p: &syn::ExprPath) -> Option<&'e Expr> {
        p.path
            .get_ident()
            .and_then(|id| self.scope.binding_at(id))
            .and_then(|b| b.init)
            .map(block_tail)
    }

    /// The call an expression comes from: through references, parentheses,
    /// `?`, (with `awaited`) `.await`, the method calls `through` accepts,
    /// and `let`s of this function; at most 16 steps.
    fn origin_call<'x>(
        &'x self,
        e: &'x Expr,
        awaited: bool,
        through: impl Fn(&syn::ExprMethodCall) -> bool,
    ) -> Option<&'x syn::ExprCall> {
        let mut e = e;
        for _ in 0..16 {
            e = match e {
                Expr::Reference(r) => &r.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Try(t) => &t.expr,
                Expr::Await(a) if awaited => &a.base,
                Expr::MethodCall(m) if through(m) => &m.receiver,
                Expr::Path(p) => self.let_init(p)?,
                Expr::Call(c) => return Some(c),
                _ => return None,
            };
        }
        None
    }

    /// Whether an expression (or the `let` it names) is a Unix domain
    /// socket listener: `UnixListener::bind(path)` of tokio or std, through
    /// `?`, `.await`, `.unwrap()` and the like.
    fn is_unix_listener(&self, e: &Expr) -> bool {
        self.origin_call(e, true, |m| {
            ident_in(
                &m.method,
                &["unwrap", "expect", "context", "with_context", "map_err"],
            )
        })
        .is_some_and(|c| self.is_unix_bind(c) || self.binds_removed_path(c))
    }

    /// A listener or stream built from a filesystem path the function
    /// deletes first (`remove_file(&sock_path)` then
    /// `Listener::new(&sock_path)`): the stale-file clean-up of a Unix
    /// domain socket, whatever type the crate wraps it in. A TCP address is
    /// never a file to delete.
    fn binds_removed_path(&self, c: &syn::ExprCall) -> bool {
        struct Removed<'c, 'a> {
            cx: &'c FileCtx<'a>,
            names: HashSet<String>,
        }
        impl<'x> Visit<'x> for Removed<'_, '_> {
            fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
                if let Expr::Path(p) = &*c.func {
                    let segs = self.cx.uses.resolve_shared(&p.path);
                    if segs.last().is_some_and(|l| l == "remove_file")
                        && (mentions(&segs, "fs") || segs.len() == 1)
                    {
                        if let Some(n) = c.args.first().and_then(plain_name) {
                            self.names.insert(n);
                        }
                    }
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        /// The local or parameter an argument names (`&p`, `p.clone()`,
        /// `p.as_path()`).
        fn plain_name(e: &Expr) -> Option<String> {
            match e {
                Expr::Reference(r) => plain_name(&r.expr),
                Expr::Paren(p) => plain_name(&p.expr),
                Expr::MethodCall(m) if m.args.is_empty() => plain_name(&m.receiver),
                Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
                _ => None,
            }
        }
        let args: Vec<String> = c.args.iter().filter_map(plain_name).collect();
        if args.is_empty() {
            return false;
        }
        let mut v = Removed {
            cx: self.cx,
            names: HashSet::default(),
        };
        v.visit_block(self.f.body);
        args.iter().any(|a| v.names.contains(a))
    }

    /// `UnixListener::bind(path)` of tokio or std.
    fn is_unix_bind(&self, c: &syn::ExprCall) -> bool {
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        let segs = self.cx.uses.resolve_shared(&p.path);
        ends_with(&segs, &["UnixListener", "bind"])
            && (mentions(&segs, "tokio") || mentions(&segs, "std"))
    }

    /// A stream of the connections of a Unix domain socket:
    /// `UnixListenerStream::new(..)` (also adapted: `.map_ok(Wrap)`), or
    /// the stream of a `UnixListener` bound here, followed through `let`s.
    fn is_unix_stream(&self, e: &Expr) -> bool {
        if self.unix_stream_block(e) {
            return true;
        }
        let Some(c) = self.origin_call(e, false, |_| true) else {
            return false;
        };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        let segs = self.cx.uses.resolve_shared(&p.path);
        ends_with(&segs, &["UnixListenerStream", "new"])
            || self.is_unix_bind(c)
            || self.binds_removed_path(c)
    }

    /// A local bound to a block that binds a Unix domain socket listener
    /// and ends in an expression naming it: `let incoming = { let uds =
    /// UnixListener::bind(path)?; stream! { loop { yield uds.accept().await } } };`.
    fn unix_stream_block(&self, e: &Expr) -> bool {
        use quote::ToTokens;
        let Expr::Path(p) = e else { return false };
        let Some(Expr::Block(b)) = p
            .path
            .get_ident()
            .and_then(|id| self.scope.binding_at(id))
            .and_then(|b| b.init)
        else {
            return false;
        };
        // The tail: an expression, or a macro in statement position
        // (`stream! { .. }`).
        let tail = match b.block.stmts.last() {
            Some(syn::Stmt::Expr(tail, None)) => tail.to_token_stream(),
            Some(syn::Stmt::Macro(m)) if m.semi_token.is_none() => m.mac.tokens.clone(),
            _ => return false,
        };
        b.block.stmts.iter().any(|s| match s {
            syn::Stmt::Local(l) => match (&l.pat, &l.init) {
                (syn::Pat::Ident(id), Some(init)) => {
                    self.is_unix_listener(&init.expr)
                        && mentions_ident(tail.clone(), &id.ident.to_string())
                }
                _ => false,
            },
            _ => false,
        })
    }

    /// Bytes of the expression that makes a listener handed to a server:
    /// the argument itself (`TcpListener::bind(a).await?`), or the
    /// initialiser of the `let` it names.
    fn listener_expr(&self, arg: &Expr) -> Range<usize> {
        if let Expr::Path(p) = arg {
            if let Some(init) = p
                .path
                .get_ident()
                .and_then(|id| self.scope.binding_at(id))
                .and_then(|b| b.init)
            {
                return byte_range(init);
            }
        }
        byte_range(arg)
    }

    /// A bind that is not (yet) seen serving.
    fn bind_only(&self, root: Root, start: usize, root_call: &syn::ExprCall) -> Server {
        Server {
            framework: Self::framework(root),
            range: self.cx.call_range(root_call),
            start,
            shutdown: Shutdown::Unknown,
            routes: None,
            app_from_caller: false,
            grpc: false,
            answers_every_path: false,
            listener: None,
        }
    }

    /// The paths a hand-written hyper service answers, when its handler (a
    /// function of the file given to `service_fn` by name) dispatches on
    /// the request's path in one `match` whose arms are string paths
    /// (alone or beside a method, `(&Method::GET, "/metrics")`) and a
    /// catch-all that does not pass the request on (a 404): `None` when any
    /// arm binds the path, guards, or hands the request to another router.
    fn dispatch_paths(&self, service: &Expr) -> Option<Vec<String>> {
        use quote::ToTokens;
        let Expr::Call(c) = service else { return None };
        let Expr::Path(p) = &*c.func else { return None };
        let segs = self.cx.uses.resolve_shared(&p.path);
        if !ends_with(&segs, &["hyper", "service", "service_fn"])
            && !ends_with(&segs, &["hyper_util", "service", "service_fn"])
        {
            return None;
        }
        let Some(Expr::Path(h)) = c.args.first() else {
            return None;
        };
        let f = file_fn(self.cx, &h.path.get_ident()?.to_string())?;
        let Some(syn::FnArg::Typed(t)) = f.sig.inputs.first() else {
            return None;
        };
        let syn::Pat::Ident(req) = &*t.pat else {
            return None;
        };
        let req = req.ident.to_string();
        struct Dispatch<'x> {
            matches: Vec<&'x syn::ExprMatch>,
        }
        impl<'x> Visit<'x> for Dispatch<'x> {
            fn visit_expr_match(&mut self, m: &'x syn::ExprMatch) {
                if calls_path_method(&m.expr) {
                    self.matches.push(m);
                }
                syn::visit::visit_expr_match(self, m);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut d = Dispatch {
            matches: Vec::new(),
        };
        d.visit_block(f.body);
        let [m] = d.matches.as_slice() else {
            return None;
        };
        // The request is read for its path and method only, in the match's
        // head: no other statement of the handler hands it elsewhere.
        if !mentions_ident(m.expr.to_token_stream(), &req) {
            return None;
        }
        let mut paths = Vec::new();
        for arm in &m.arms {
            // A guarded arm (`Pat::Guard`) binds or tests more than a path:
            // neither list below takes it, so the dispatch is not read.
            let mut strs = Vec::new();
            pat_strs(&arm.pat, &mut strs);
            if strs.is_empty() {
                // A catch-all: `_`, or a tuple of `_`s and method patterns,
                // answering without the request.
                if !pat_binds_nothing(&arm.pat) || mentions_ident(arm.body.to_token_stream(), &req)
                {
                    return None;
                }
                continue;
            }
            if strs.iter().any(|s| !s.starts_with('/')) || !pat_binds_nothing(&arm.pat) {
                return None;
            }
            paths.extend(strs);
        }
        (!paths.is_empty()).then_some(paths)
    }

    /// Whether a hyper service is `service_fn(f)` (or a closure) whose
    /// handler never reads its request: no routing, one answer for every
    /// path. `f` is read only when it is a function of this file.
    fn ignores_request(&self, service: &Expr) -> bool {
        let Expr::Call(c) = service else { return false };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        if !ends_with(&self.cx.uses.resolve_shared(&p.path), &["service_fn"]) {
            return false;
        }
        match c.args.first() {
            Some(Expr::Path(h)) => {
                let Some(name) = h.path.get_ident() else {
                    return false;
                };
                let Some(f) = file_fn(self.cx, &name.to_string()) else {
                    return false;
                };
                match f.sig.inputs.first() {
                    Some(syn::FnArg::Typed(t)) => unused_param(&t.pat, f.body),
                    _ => false,
                }
            }
            Some(Expr::Closure(cl)) => cl
                .inputs
                .first()
                .is_some_and(|pat| unused_param(pat, &cl.body)),
            _ => false,
        }
    }
}

/// Whether a parameter pattern binds nothing its body reads: `_`, `_req`,
/// or a name that appears nowhere in the body's tokens (macros included).
fn unused_param<T: quote::ToTokens>(pat: &syn::Pat, body: &T) -> bool {
    let pat = match pat {
        syn::Pat::Type(t) => &*t.pat,
        p => p,
    };
    match pat {
        syn::Pat::Wild(_) => true,
        syn::Pat::Ident(i) if i.subpat.is_none() => {
            let name = i.ident.to_string();
            name.starts_with('_') || !mentions_ident(body.to_token_stream(), &name)
        }
        _ => false,
    }
}

fn mentions_ident(tokens: proc_macro2::TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == name,
        proc_macro2::TokenTree::Group(g) => mentions_ident(g.stream(), name),
        _ => false,
    })
}

/// Whether an expression is, or wraps, an upgraded HTTP connection: the
/// result of hyper's `upgrade::on(..)`, a parameter or binding typed
/// `hyper::upgrade::Upgraded`, or a value built from one (`TokioIo::new(u)`,
/// `acceptor.accept(TokioIo::new(u)).await?`), followed through `let`s.
pub fn is_upgraded_conn(cx: &FileCtx<'_>, scope: &FnScope<'_>, e: &Expr, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let next = |e: &Expr| is_upgraded_conn(cx, scope, e, depth + 1);
    match e {
        Expr::Reference(r) => next(&r.expr),
        Expr::Paren(p) => next(&p.expr),
        Expr::Try(t) => next(&t.expr),
        Expr::Await(a) => next(&a.base),
        Expr::Path(p) => {
            let Some(b) = p.path.get_ident().and_then(|id| scope.binding_at(id)) else {
                return false;
            };
            b.ty.is_some_and(|t| is_upgraded_type(cx, t)) || b.init.is_some_and(next)
        }
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else {
                return false;
            };
            let segs = cx.uses.resolve_shared(&p.path);
            (ends_with(&segs, &["upgrade", "on"]) && mentions(&segs, "hyper"))
                || c.args.iter().any(next)
        }
        Expr::MethodCall(m) => {
            ident_in(
                &m.method,
                &["unwrap", "expect", "context", "with_context", "map_err"],
            ) && next(&m.receiver)
                || m.args.iter().any(next)
        }
        _ => false,
    }
}

/// `hyper::upgrade::Upgraded` (also in `TokioIo<Upgraded>`), by its import.
fn is_upgraded_type(cx: &FileCtx<'_>, ty: &syn::Type) -> bool {
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        found: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_path(&mut self, p: &'x syn::Path) {
            let segs = self.cx.uses.resolve_shared(p);
            self.found |= ends_with(&segs, &["upgrade", "Upgraded"]) && mentions(&segs, "hyper");
            syn::visit::visit_path(self, p);
        }
    }
    let mut v = V { cx, found: false };
    v.visit_type(ty);
    v.found
}

/// Whether a function handles an upgraded HTTP connection: a parameter
/// typed `hyper::upgrade::Upgraded`, or a call of hyper's `upgrade::on`.
pub fn handles_upgraded_conn(cx: &FileCtx<'_>, f: &FnItem<'_>) -> bool {
    let param = f.sig.inputs.iter().any(|i| match i {
        syn::FnArg::Typed(pt) => is_upgraded_type(cx, &pt.ty),
        syn::FnArg::Receiver(_) => false,
    });
    param || {
        struct V<'c, 'a> {
            cx: &'c FileCtx<'a>,
            found: bool,
        }
        impl<'x> Visit<'x> for V<'_, '_> {
            fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
                if let Expr::Path(p) = &*c.func {
                    let segs = self.cx.uses.resolve_shared(&p.path);
                    self.found |= ends_with(&segs, &["upgrade", "on"]) && mentions(&segs, "hyper");
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut v = V { cx, found: false };
        v.visit_block(f.body);
        v.found
    }
}

/// Whether a fn is rocket's `#[launch]` (or `#[rocket::launch]`) entry point.
fn is_launch_fn(f: &FnItem<'_>) -> bool {
    f.attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "launch")
    })
}

/// Every method name called in a body, macro bodies (`select!`) included,
/// also in the fully qualified form `Connection::graceful_shutdown(conn)`
/// (hyper's pinned connections are shut down that way).
fn method_names(cx: &FileCtx<'_>, body: &syn::Block) -> HashSet<String> {
    struct V<'c, 'a>(&'c FileCtx<'a>, HashSet<String>);
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x ExprMethodCall) {
            self.1.insert(m.method.to_string());
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            // `Type::method(receiver, ..)`: a method called by its path.
            if let Expr::Path(p) = &*c.func {
                if p.path.segments.len() >= 2 && !c.args.is_empty() {
                    if let Some(last) = p.path.segments.last() {
                        self.1.insert(last.ident.to_string());
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, mac: &'x syn::Macro) {
            for e in self.0.macros.exprs(mac) {
                let mut inner = V(self.0, HashSet::default());
                inner.visit_expr(e);
                self.1.extend(inner.1);
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(cx, HashSet::default());
    v.visit_block(body);
    v.1
}

/// Whether the hand-written accept loop around byte `at` stops accepting
/// when told to. The accept loop is the innermost loop holding `at` whose
/// body calls `accept` or races, in a `select!`, the arm whose handler
/// holds `at` (`conn = incoming.next() => { .. serve_connection(..) .. }`).
/// It stops when it is a `while` whose condition is not a pattern (`while
/// !stop.load(..)`, `while !*quit.borrow()`) around an `accept`, or when
/// such a `select!` has another arm that leaves the loop (`break`,
/// `return`). A `while let Ok(..) = listener.accept().await` or an accept
/// raced against a channel whose arm goes on accepting never stops.
fn accept_loop_stops(cx: &FileCtx<'_>, body: &syn::Block, at: usize) -> bool {
    /// Loops holding `at`, outermost first.
    struct Loops<'x> {
        at: usize,
        out: Vec<&'x Expr>,
    }
    impl<'x> Visit<'x> for Loops<'x> {
        fn visit_expr(&mut self, e: &'x Expr) {
            if matches!(e, Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_))
                && byte_range(e).contains(&self.at)
            {
                self.out.push(e);
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    /// The `select!`s of a loop body (not of its tasks and closures):
    /// whether one races the accept (or the arm starting the server at
    /// `at`), and whether it also has an arm that leaves the loop.
    struct Selects<'c, 'a> {
        cx: &'c FileCtx<'a>,
        at: usize,
        races: bool,
        stops: bool,
    }
    impl<'x> Visit<'x> for Selects<'_, '_> {
        fn visit_macro(&mut self, mac: &'x syn::Macro) {
            if macro_name(mac) != "select" {
                return;
            }
            let Some(super::macros::MacroBody::Select(arms)) = self.cx.macros.get(mac) else {
                return;
            };
            let accepting = |a: &super::macros::SelectArm| {
                calls_method(self.cx, &a.future, "accept")
                    || a.handler
                        .as_ref()
                        .is_some_and(|h| byte_range(h).contains(&self.at))
            };
            if arms.iter().any(accepting) {
                self.races = true;
                if arms
                    .iter()
                    .any(|a| !accepting(a) && a.handler.as_ref().is_some_and(leaves_loop))
                {
                    self.stops = true;
                }
            }
        }
        // Spawned tasks and closures have loops and selects of their own.
        fn visit_expr_async(&mut self, _: &'x syn::ExprAsync) {}
        fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut loops = Loops {
        at,
        out: Vec::new(),
    };
    loops.visit_block(body);
    for lp in loops.out.iter().rev() {
        let (cond, block) = match lp {
            Expr::Loop(l) => (None, &l.body),
            Expr::While(w) => (Some(&*w.cond), &w.body),
            Expr::ForLoop(f) => (None, &f.body),
            _ => continue,
        };
        let mut selects = Selects {
            cx,
            at,
            races: false,
            stops: false,
        };
        selects.visit_block(block);
        let accepts = calls_method(cx, lp, "accept");
        if !accepts && !selects.races {
            continue;
        }
        let flag_cond = cond.is_some_and(|c| {
            let literal_true =
                matches!(c, Expr::Lit(l) if matches!(&l.lit, syn::Lit::Bool(b) if b.value));
            !matches!(c, Expr::Let(_)) && !literal_true && !calls_method(cx, c, "accept")
        });
        return (accepts && flag_cond) || selects.stops;
    }
    false
}

/// Whether an expression calls method `name` (also inside macros).
fn calls_method(cx: &FileCtx<'_>, e: &Expr, name: &str) -> bool {
    struct V<'c, 'a, 'n> {
        cx: &'c FileCtx<'a>,
        name: &'n str,
        found: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x ExprMethodCall) {
            if m.method == self.name {
                self.found = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_macro(&mut self, mac: &'x syn::Macro) {
            for e in self.cx.macros.exprs(mac) {
                self.visit_expr(e);
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        name,
        found: false,
    };
    v.visit_expr(e);
    v.found
}

/// Whether a `select!` arm's handler leaves the enclosing loop: a `break`
/// (not one of a loop of its own) or a `return`.
fn leaves_loop(e: &Expr) -> bool {
    struct V(bool);
    impl<'x> Visit<'x> for V {
        fn visit_expr_break(&mut self, _: &'x syn::ExprBreak) {
            self.0 = true;
        }
        fn visit_expr_return(&mut self, _: &'x syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_loop(&mut self, _: &'x syn::ExprLoop) {}
        fn visit_expr_while(&mut self, _: &'x syn::ExprWhile) {}
        fn visit_expr_for_loop(&mut self, _: &'x syn::ExprForLoop) {}
        fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'x syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

/// `hyper_util::server::graceful::GracefulShutdown` named in a body.
fn mentions_graceful_type(body: &syn::Block) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_path(&mut self, p: &'a syn::Path) {
            if p.segments.iter().any(|s| s.ident == "GracefulShutdown") {
                self.0 = true;
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut v = V(false);
    v.visit_block(body);
    v.0
}

/// Collects route paths from an app expression.
struct RouteWalk<'l, 'e, 'a> {
    lc: &'l Lifecycle<'e, 'a>,
    out: Vec<String>,
    complete: bool,
    from_param: bool,
    depth: u32,
}

/// Methods whose first argument is a route path.
pub const ROUTE_METHODS: &[&str] = &[
    "route",
    "nest",
    "route_service",
    "nest_service",
    "at",
    "nest_no_strip",
    "mount",
    "with_path",
    "push",
    // aide's `ApiRouter` (axum with OpenAPI docs).
    "api_route",
    "api_route_with",
];

/// Calls whose first argument is a route path (`web::resource("/x")`;
/// utoipa-actix-web's `scope("/x")`, actix-web's with its OpenAPI paths).
pub fn is_route_fn(segs: &[String]) -> bool {
    ends_with(segs, &["web", "resource"])
        || ends_with(segs, &["web", "scope"])
        || ends_with(segs, &["utoipa_actix_web", "scope"])
        || ends_with(segs, &["warp", "path"])
        || ends_with(segs, &["Router", "with_path"])
        || ends_with(segs, &["Resource", "new"])
        || ends_with(segs, &["Scope", "new"])
}

/// Calls that build parts of an app from nothing we need to see.
fn is_library_ctor(segs: &[String]) -> bool {
    let krate = segs.first().map(String::as_str).unwrap_or("");
    matches!(
        krate,
        "axum"
            | "actix_web"
            | "actix_files"
            | "warp"
            | "poem"
            | "salvo"
            | "rocket"
            | "tower"
            | "tower_http"
            | "hyper"
            | "tonic"
            | "std"
            | "http"
            | "Arc"
            | "Router"
            | "App"
            | "Some"
            | "Ok"
    ) || segs.len() >= 2
        && matches!(
            segs[segs.len() - 2].as_str(),
            "Router" | "App" | "Route" | "ServiceBuilder" | "Arc" | "Extension" | "Data" | "web"
        )
}

impl<'x> Visit<'x> for RouteWalk<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'x ExprMethodCall) {
        let name = m.method.to_string();
        // State and middleware handed to a router (`.with_state(state)`,
        // `.layer(cors)`, actix's `.app_data(..)`, `.wrap(..)`) add no
        // route: a parameter there is no router from the caller.
        if matches!(
            name.as_str(),
            "with_state" | "layer" | "route_layer" | "app_data" | "data" | "wrap"
        ) {
            self.visit_expr(&m.receiver);
            return;
        }
        if ROUTE_METHODS.contains(&name.as_str()) {
            match m.args.first().map(|a| (a, self.lc.ev.eval(a))) {
                Some((_, Value::Str(s))) => self.out.push(s),
                // A path read at run time from a value named for a health
                // route (`&cfg.health.path`, also through a `let`): the path
                // is a value, not part of the router, so it is not walked.
                Some((a, _)) if self.lc.names_health_value(a) => {
                    self.out.push(HEALTH_BY_NAME.to_string());
                    self.visit_expr(&m.receiver);
                    for rest in m.args.iter().skip(1) {
                        self.visit_expr(rest);
                    }
                    return;
                }
                _ => {}
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_field(&mut self, f: &'x syn::ExprField) {
        // `self.probe_router`: the router a struct literal of this file
        // stores in that field of the method's own type.
        if let Some((init, owner)) = self.lc.stored_in_self_field(f) {
            if self.depth >= 4 {
                self.complete = false;
                return;
            }
            self.walk_in(owner, |inner| inner.visit_expr(init));
            return;
        }
        syn::visit::visit_expr_field(self, f);
    }
    // Handlers are not router builders.
    fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'x syn::ExprAsync) {}
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs = self.lc.cx.uses.resolve_shared(&p.path);
            if is_route_fn(&segs) {
                if let Some(Value::Str(s)) = c.args.first().map(|a| self.lc.ev.eval(a)) {
                    self.out.push(s);
                }
            } else if !is_library_ctor(&segs) && self.crate_fn(&segs) {
                return;
            }
        }
        for a in &c.args {
            self.visit_expr(a);
        }
    }
    fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
        let Some(id) = p.path.get_ident() else {
            // `handlers::health` passed to `.service(..)`: its attribute route.
            if let Some(last) = p.path.segments.last() {
                if let Some(r) = self.lc.attr_routes.get(&last.ident.to_string()) {
                    self.out.push(r.clone());
                    return;
                }
            }
            self.handler_of_other_file(p);
            return;
        };
        if let Some(r) = self.lc.attr_routes.get(&id.to_string()) {
            self.out.push(r.clone());
            return;
        }
        // `let handler = handler.clone()`: the name inside its own
        // initialiser is the earlier binding.
        let pos = id.span().byte_start();
        let mut binding = self.lc.scope.binding_at(id);
        if let Some(b) = binding {
            if b.init.is_some_and(|init| byte_range(init).contains(&pos)) {
                binding = self.lc.scope.lookup(&id.to_string(), b.at);
            }
        }
        if let Some(b) = binding {
            match b.init {
                Some(init) if self.depth < 6 => self.sub(init),
                Some(_) => self.complete = false,
                // A parameter or an uninitialised binding: built elsewhere.
                None => {
                    self.complete = false;
                    self.from_param = true;
                }
            }
        } else {
            self.handler_of_other_file(p);
        }
    }
    fn visit_macro(&mut self, mac: &'x syn::Macro) {
        let name = macro_name(mac);
        let exprs = self.lc.cx.macros.exprs(mac);
        if name == "path" {
            self.out.extend(warp_path_route(&exprs));
            return;
        }
        for e in exprs {
            self.sub(e);
        }
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

impl RouteWalk<'_, '_, '_> {
    /// The module the walked function sits in, for the index's paths.
    fn module(&self) -> Vec<String> {
        [self.lc.cx.module.as_slice(), self.lc.f.module.as_slice()].concat()
    }

    /// A handler of another file (or of a workspace crate) handed to a
    /// router by name, `.service(vending_metrics)`: its attribute route.
    fn handler_of_other_file(&mut self, p: &syn::ExprPath) {
        let segs = self.lc.cx.uses.resolve_shared(&p.path);
        if let Some(routes) = self.lc.cx.index.routes_of_path(&segs, &self.module()) {
            self.out.extend(routes.iter().cloned());
        }
    }

    /// Walks an expression that lives elsewhere (a binding's initialiser, a
    /// macro body) with a walker of its own.
    fn sub(&mut self, e: &Expr) {
        let mut inner = RouteWalk {
            lc: self.lc,
            out: Vec::new(),
            complete: true,
            from_param: false,
            depth: self.depth + 1,
        };
        inner.visit_expr(e);
        self.out.extend(inner.out);
        self.complete &= inner.complete;
        self.from_param |= inner.from_param;
    }

    /// A router built by a function of the crate: read it when it is in
    /// this file, else the app is only partly known. Returns whether the
    /// function was read and builds its router from none of its
    /// parameters: its arguments are then values its handlers use (a
    /// readiness callback, a version string), not routers.
    fn crate_fn(&mut self, segs: &[String]) -> bool {
        let Some(name) = segs.last() else {
            return false;
        };
        // `Type::new()`: a constructor of some value, not a router builder.
        if segs.len() >= 2
            && segs[segs.len() - 2]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase())
        {
            return false;
        }
        let here = file_fn(self.lc.cx, name).filter(|f| f.self_ty.is_none());
        let in_crate = self
            .lc
            .cx
            .index
            .functions(name)
            .iter()
            .any(|f| f.self_ty.is_none());
        let Some(f) = here else {
            // A router a crate function of another file (or of a workspace
            // crate) builds from none of its parameters: its routes, read
            // where it is written.
            if let Some(routes) = self.lc.cx.index.routes_of_path(segs, &self.module()) {
                self.out.extend(routes.iter().cloned());
                return true;
            }
            // A library call (`get(handler)`, `cors()` of a crate we do not
            // see) says nothing; a crate function in another file hides routes.
            if in_crate {
                self.complete = false;
            }
            return false;
        };
        if self.depth >= 4 {
            self.complete = false;
            return false;
        }
        !self.walk_in(f, |inner| inner.visit_block(f.body))
    }

    /// The routes `visit` finds in code of another function of the file
    /// (`f`, read with its own scope), one level deeper; whether they
    /// come from one of its parameters.
    fn walk_in(&mut self, f: &FnItem<'_>, visit: impl FnOnce(&mut RouteWalk<'_, '_, '_>)) -> bool {
        let scope = FnScope::new(Some(f.sig), f.body);
        let lc = Lifecycle {
            cx: self.lc.cx,
            scope: &scope,
            ev: Evaluator::new(self.lc.cx, &scope),
            f,
            attr_routes: self.lc.attr_routes,
        };
        let mut inner = RouteWalk {
            lc: &lc,
            out: Vec::new(),
            complete: true,
            from_param: false,
            depth: self.depth + 1,
        };
        visit(&mut inner);
        self.out.extend(inner.out);
        self.complete &= inner.complete;
        inner.from_param
    }
}

/// `warp::path!("api" / "health")`: the string literals are the route's
/// segments (`/api/health`).
fn warp_path_route(exprs: &[&Expr]) -> Option<String> {
    let mut segs = Vec::new();
    for e in exprs {
        collect_str_lits(e, &mut segs);
    }
    (!segs.is_empty()).then(|| format!("/{}", segs.join("/")))
}

fn collect_str_lits(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => out.push(s.value()),
        Expr::Binary(b) => {
            collect_str_lits(&b.left, out);
            collect_str_lits(&b.right, out);
        }
        Expr::Paren(p) => collect_str_lits(&p.expr, out),
        _ => {}
    }
}

/// A function of this file by name, when exactly one has it.
pub fn file_fn<'c, 'f>(cx: &'c FileCtx<'f>, name: &str) -> Option<&'c FnItem<'f>> {
    let mut found = cx.functions().iter().filter(|f| f.name == name);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Route attributes of the file's functions: `#[get("/health")]`,
/// `#[actix_web::route("/x", method = "GET")]`, rocket's `#[get("/x")]`.
pub fn attr_routes(fns: &[FnItem<'_>]) -> HashMap<String, String> {
    let mut out = HashMap::default();
    for f in fns {
        for a in f.attrs {
            let Some(last) = a.path().segments.last() else {
                continue;
            };
            let verb = last.ident.to_string();
            if !matches!(
                verb.as_str(),
                "get" | "post" | "put" | "delete" | "head" | "patch" | "options" | "route"
            ) {
                continue;
            }
            let Ok(list) = a.meta.require_list() else {
                continue;
            };
            let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
            let str_lit = |t: &proc_macro2::TokenTree| match t {
                proc_macro2::TokenTree::Literal(lit) => {
                    match syn::parse_str::<syn::Lit>(&lit.to_string()) {
                        Ok(syn::Lit::Str(s)) => Some(s.value()),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(path) = tokens.first().and_then(str_lit) {
                out.insert(f.name.clone(), path);
                continue;
            }
            // `#[codegen::get(path = "crate::ROUTES.meta.health")]`: a
            // wrapper macro given the path as a named argument, either a
            // path (`"/health"`) or the expression that holds it, whose
            // last field names the route (`health`).
            let named = tokens.windows(3).find_map(|w| match (&w[0], &w[1]) {
                (proc_macro2::TokenTree::Ident(id), proc_macro2::TokenTree::Punct(p))
                    if id == "path" && p.as_char() == '=' =>
                {
                    str_lit(&w[2])
                }
                _ => None,
            });
            if let Some(path) = named {
                if path.starts_with('/') {
                    out.insert(f.name.clone(), path);
                } else if let Some(last) = path
                    .rsplit(['.', ':'])
                    .next()
                    .filter(|l| syn::parse_str::<syn::Ident>(l).is_ok())
                {
                    out.insert(f.name.clone(), format!("/{last}"));
                }
            }
        }
    }
    out
}

/// Route tables that an attribute macro is given on an item:
/// `#[routes(routes("/health" => get(health), "/tasks" => sub(TaskApi)))]`.
/// Such a macro (often the workspace's own proc macro) generates the
/// registration code, which a syntax tree never shows; a string literal
/// that starts with `/` and maps (`=>`) to a handler is a route path.
pub fn attr_route_tables(file: &syn::File) -> Vec<String> {
    struct Tables(Vec<String>);
    impl<'x> Visit<'x> for Tables {
        fn visit_attribute(&mut self, a: &'x syn::Attribute) {
            if let syn::Meta::List(list) = &a.meta {
                route_table_paths(list.tokens.clone(), 0, &mut self.0);
            }
        }
    }
    let mut v = Tables(Vec::new());
    v.visit_file(file);
    v.0
}

/// Nesting budget for attribute token groups (a table sits one or two deep).
const MAX_ATTR_DEPTH: u32 = 8;

fn route_table_paths(tokens: proc_macro2::TokenStream, depth: u32, out: &mut Vec<String>) {
    use proc_macro2::{Spacing, TokenTree};
    if depth > MAX_ATTR_DEPTH {
        return;
    }
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Group(g) => route_table_paths(g.stream(), depth + 1, out),
            TokenTree::Literal(lit) => {
                let arrow = matches!(
                    (trees.get(i + 1), trees.get(i + 2)),
                    (Some(TokenTree::Punct(eq)), Some(TokenTree::Punct(gt)))
                        if eq.as_char() == '=' && eq.spacing() == Spacing::Joint && gt.as_char() == '>'
                );
                if !arrow {
                    continue;
                }
                if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&lit.to_string()) {
                    if s.value().starts_with('/') {
                        out.push(s.value());
                    }
                }
            }
            _ => {}
        }
    }
}

/// Every route path the file registers anywhere, for the crate index: route
/// methods and functions with a literal path, route attributes, route
/// tables given to attribute macros, `path!` macros, and string patterns
/// matched against a request's `.path()`.
pub fn file_route_paths(cx: &FileCtx<'_>) -> Vec<String> {
    file_routes(cx).0
}

/// [`file_route_paths`], and for each function of the file (in
/// `cx.functions()` order) the routes a server that mounts it serves: a
/// free function's attribute route (`#[get("/metrics")] async fn
/// metrics(..)`, handed to `.service(metrics)`), or the routes of the
/// router a free function builds from none of its parameters (`fn
/// build_router() -> Router { Router::new().route("/metrics", ..) }`),
/// when every route it registers is read.
pub fn file_routes(cx: &FileCtx<'_>) -> (Vec<String>, Vec<Option<Vec<String>>>) {
    let attrs = attr_routes(cx.functions());
    let mut out: Vec<String> = attrs.values().cloned().collect();
    out.extend(attr_route_tables(cx.file));
    let mut per_fn = Vec::with_capacity(cx.functions().len());
    for (f, scope) in cx.functions().iter().zip(cx.fn_scopes()) {
        let lc = Lifecycle {
            cx,
            scope,
            ev: Evaluator::new(cx, scope),
            f,
            attr_routes: &attrs,
        };
        let before = out.len();
        let mut v = AllRoutes {
            lc: &lc,
            out: &mut out,
        };
        v.visit_block(f.body);
        let mut routes = None;
        if f.self_ty.is_none() {
            if let Some(path) = own_attr_route(f) {
                routes = Some(vec![path]);
            } else if out.len() > before {
                let mut walk = RouteWalk {
                    lc: &lc,
                    out: Vec::new(),
                    complete: true,
                    from_param: false,
                    depth: 1,
                };
                walk.visit_block(f.body);
                if walk.complete && !walk.from_param && !walk.out.is_empty() {
                    routes = Some(walk.out);
                }
            }
        }
        per_fn.push(routes);
    }
    out.sort();
    out.dedup();
    (out, per_fn)
}

/// A function's own route attribute (`#[get("/x")]`), read as
/// [`attr_routes`] reads it.
fn own_attr_route(f: &FnItem<'_>) -> Option<String> {
    attr_routes(std::slice::from_ref(f)).remove(&f.name)
}

struct AllRoutes<'l, 'e, 'a> {
    lc: &'l Lifecycle<'e, 'a>,
    out: &'l mut Vec<String>,
}

impl<'x> Visit<'x> for AllRoutes<'_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'x ExprMethodCall) {
        if ROUTE_METHODS.contains(&m.method.to_string().as_str()) {
            if let Some(a) = m.args.first() {
                self.route_arg(a);
            }
        } else if !makes_request(&m.method.to_string()) {
            self.method_keyed_route(&m.args, m.method.span().byte_start());
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs = self.lc.cx.uses.resolve_shared(&p.path);
            if is_route_fn(&segs) {
                if let Some(a) = c.args.first() {
                    self.route_arg(a);
                }
            } else if ends_with(&segs, &["service_fn"])
                && c.args.first().is_some_and(is_health_handler)
            {
                // A hyper service made of one health handler
                // (`serve_connection(io, service_fn(health_check))`): a
                // listener of its own that answers the probe on any path.
                self.out.push(HEALTH_BY_NAME.to_string());
            } else if !segs.last().is_some_and(|l| makes_request(l)) {
                self.method_keyed_route(&c.args, byte_range(&p.path).start);
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_match(&mut self, m: &'x syn::ExprMatch) {
        if calls_path_method(&m.expr) {
            for arm in &m.arms {
                pat_strs(&arm.pat, self.out);
            }
        }
        syn::visit::visit_expr_match(self, m);
    }
    fn visit_expr_binary(&mut self, b: &'x syn::ExprBinary) {
        if matches!(b.op, syn::BinOp::Eq(_)) {
            for (side, other) in [(&b.left, &b.right), (&b.right, &b.left)] {
                if calls_path_method(side) {
                    let mut s = Vec::new();
                    collect_str_lits(other, &mut s);
                    if s.is_empty() && names_health_path(other) {
                        s.push(HEALTH_BY_NAME.to_string());
                    }
                    self.out.extend(s);
                }
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_macro(&mut self, mac: &'x syn::Macro) {
        let exprs = self.lc.cx.macros.exprs(mac);
        if macro_name(mac) == "path" {
            self.out.extend(warp_path_route(&exprs));
            return;
        }
        for e in exprs {
            AllRoutes {
                lc: self.lc,
                out: &mut *self.out,
            }
            .visit_expr(e);
        }
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

impl AllRoutes<'_, '_, '_> {
    /// A route's path argument: its value, or, when it is read at run time
    /// from a value named for a health route (`&cfg.health_path`), a
    /// health route.
    fn route_arg(&mut self, a: &Expr) {
        match self.lc.ev.eval(a) {
            Value::Str(s) => self.out.push(s),
            _ if self.lc.names_health_value(a) => self.out.push(HEALTH_BY_NAME.to_string()),
            _ => {}
        }
    }

    /// A hand-written router's registration that keys a handler by an HTTP
    /// method and a path, given side by side (`handlers.add(Method::GET,
    /// "/healthz", h)`) or as a tuple (`table.insert((Method::GET,
    /// "/healthz"), h)`): the path is a route. Only a path that starts with
    /// `/` counts, next to a handler (a function, a closure, or a value
    /// wrapping one: `Box::new(h)`); calls that make a request (above) and
    /// test code (a request built in a test, `parts("/health", Method::GET,
    /// Version::HTTP_11)`) are left out.
    fn method_keyed_route(
        &mut self,
        args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        at: usize,
    ) {
        let is_method = |a: &Expr| match a {
            Expr::Tuple(t) => t.elems.iter().any(is_http_method_const),
            a => is_http_method_const(a),
        };
        if !args.iter().any(is_method) {
            return;
        }
        let mut paths = Vec::new();
        let mut handler = false;
        for a in args {
            // A tuple's elements are the parts of a key (`(Method::GET, "/x")`).
            let parts: Vec<&Expr> = match a {
                Expr::Tuple(t) => t.elems.iter().collect(),
                a => vec![a],
            };
            for part in parts {
                let s = match part {
                    Expr::Lit(_) | Expr::Path(_) | Expr::Field(_) | Expr::Reference(_) => {
                        match self.lc.ev.eval(part) {
                            Value::Str(s) => Some(s),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match s {
                    Some(s) if s.starts_with('/') => paths.push(s),
                    Some(_) => {}
                    None => handler |= !matches!(a, Expr::Tuple(_)) && is_handler_like(part, 0),
                }
            }
        }
        if paths.is_empty() || !handler {
            return;
        }
        if self.lc.cx.test_regions().iter().any(|r| r.contains(&at)) {
            return;
        }
        self.out.extend(paths);
    }
}

/// Whether a method or function given `(Method, path)` makes a request
/// rather than registers a route: a word of its name says so
/// (`request`, `send_req`, `call_peer`, `fetch`, `execute`), and none says
/// it registers one (`request_handler`, `on_request`, `add_route`).
fn makes_request(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let words = || name.split('_');
    words().any(|w| {
        matches!(
            w,
            "request" | "req" | "send" | "call" | "fetch" | "execute" | "invoke" | "query"
        )
    }) && !words().any(|w| {
        matches!(
            w,
            "handler" | "handle" | "route" | "routes" | "register" | "on" | "add" | "mount"
        )
    })
}

/// A handler given to a route registration: a closure, a function or
/// local by its (lower-case) name, or a call wrapping one
/// (`Box::new(healthz)`, `Arc::new(|r| ..)`). `None`, `Version::HTTP_11`
/// and literals are not.
fn is_handler_like(e: &Expr, depth: u32) -> bool {
    if depth > 4 {
        return false;
    }
    match e {
        Expr::Closure(_) => true,
        Expr::Reference(r) => is_handler_like(&r.expr, depth + 1),
        Expr::Paren(p) => is_handler_like(&p.expr, depth + 1),
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            s.ident
                .to_string()
                .starts_with(|c: char| c.is_ascii_lowercase())
        }),
        Expr::Call(c) => c.args.iter().any(|a| is_handler_like(a, depth + 1)),
        _ => false,
    }
}

/// `Method::GET`, `http::Method::POST`, `hyper::Method::DELETE`: an HTTP
/// method constant.
fn is_http_method_const(e: &Expr) -> bool {
    let e = match e {
        Expr::Reference(r) => &*r.expr,
        e => e,
    };
    let Expr::Path(p) = e else {
        return false;
    };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segs.len() >= 2
        && segs[segs.len() - 2] == "Method"
        && matches!(
            segs[segs.len() - 1].as_str(),
            "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS"
        )
}

/// What a route path read at run time from a health-named value counts as.
const HEALTH_BY_NAME: &str = "/health";

/// Whether a path the code reads at run time is named for a health route:
/// the binding, field, constant or accessor it comes from has `health`,
/// `liveness`, `readiness` (or their `z` forms) among its words
/// (`health_check_endpoint`, `cfg.liveness_path`, `routes.health()`).
fn names_health_path(e: &Expr) -> bool {
    let mut e = e;
    let name = loop {
        match e {
            Expr::Reference(r) => e = &r.expr,
            Expr::Paren(p) => e = &p.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => e = &u.expr,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && ident_in(
                        &m.method,
                        &["as_str", "as_ref", "clone", "to_string", "as_deref"],
                    ) =>
            {
                e = &m.receiver
            }
            Expr::MethodCall(m) if m.args.is_empty() => break m.method.to_string(),
            // A generic member of a route value names nothing by itself: the
            // value it is read from does (`HEALTH_ROUTE.path`,
            // `routes.liveness.uri`).
            Expr::Field(f)
                if matches!(&f.member, syn::Member::Named(n)
                    if ident_in(n, &["path", "route", "uri", "url", "endpoint", "pattern"])) =>
            {
                e = &f.base
            }
            Expr::Field(f) => match &f.member {
                syn::Member::Named(n) => break n.to_string(),
                syn::Member::Unnamed(_) => return false,
            },
            Expr::Path(p) => match p.path.segments.last() {
                Some(s) => break s.ident.to_string(),
                None => return false,
            },
            _ => return false,
        }
    };
    name.to_ascii_lowercase().split('_').any(|w| {
        matches!(
            w,
            "health" | "healthz" | "healthcheck" | "liveness" | "readiness" | "livez" | "readyz"
        )
    })
}

/// A handler named for a health check (`health_check_handler`,
/// `readiness`), given by its path: what a hyper service made of it alone
/// serves.
fn is_health_handler(e: &Expr) -> bool {
    matches!(e, Expr::Path(p) if p.path.segments.len() == 1) && names_health_path(e)
}

/// `req.uri().path()`, `req.path()`: the request path.
fn calls_path_method(e: &Expr) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_expr_method_call(&mut self, m: &'a ExprMethodCall) {
            if m.method == "path" && m.args.is_empty() {
                self.0 = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

/// Whether a pattern binds no name: literals, `_`, `..`, paths
/// (`&Method::GET`), references, tuples and alternatives of those.
fn pat_binds_nothing(p: &syn::Pat) -> bool {
    match p {
        syn::Pat::Lit(_) | syn::Pat::Wild(_) | syn::Pat::Rest(_) | syn::Pat::Path(_) => true,
        syn::Pat::Reference(r) => pat_binds_nothing(&r.pat),
        syn::Pat::Paren(pp) => pat_binds_nothing(&pp.pat),
        syn::Pat::Tuple(t) => t.elems.iter().all(pat_binds_nothing),
        syn::Pat::Or(o) => o.cases.iter().all(pat_binds_nothing),
        _ => false,
    }
}

fn pat_strs(p: &syn::Pat, out: &mut Vec<String>) {
    match p {
        syn::Pat::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => out.push(s.value()),
        syn::Pat::Or(o) => o.cases.iter().for_each(|c| pat_strs(c, out)),
        syn::Pat::Tuple(t) => t.elems.iter().for_each(|c| pat_strs(c, out)),
        syn::Pat::Paren(pp) => pat_strs(&pp.pat, out),
        _ => {}
    }
}

/// Whether the file holds a program's entry point: a top-level `fn main`,
/// or rocket's `#[launch]` function (which generates one).
pub fn file_has_main(file: &syn::File) -> bool {
    file.items.iter().any(|i| match i {
        syn::Item::Fn(f) => {
            f.sig.ident == "main"
                || f.attrs.iter().any(|a| {
                    a.path()
                        .segments
                        .last()
                        .is_some_and(|s| s.ident == "launch")
                })
        }
        _ => false,
    })
}

/// Whether the file registers tonic-health's service.
pub fn file_has_grpc_health(cx: &FileCtx<'_>) -> bool {
    const WORDS: [&str; 2] = ["tonic_health", "HealthServer"];
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        /// An import brings one of the words in: every path is resolved.
        imported: bool,
        found: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_path(&mut self, p: &'x syn::Path) {
            let written = || {
                p.segments
                    .iter()
                    .any(|s| WORDS.iter().any(|w| s.ident == w))
            };
            if !self.found && (self.imported || written()) {
                let segs = self.cx.uses.resolve_shared(p);
                self.found =
                    mentions(&segs, "tonic_health") || ends_with(&segs, &["HealthServer", "new"]);
            }
            syn::visit::visit_path(self, p);
        }
    }
    let imported = cx.uses.imports_segment(|s| WORDS.contains(&s));
    // Without an import of one, a path reaches tonic-health only where the
    // file spells a word out: a text that holds neither needs no walk.
    let text = cx.lines.text().as_bytes();
    if !imported
        && !WORDS
            .iter()
            .any(|w| memchr::memmem::find(text, w.as_bytes()).is_some())
    {
        return false;
    }
    let mut v = V {
        cx,
        imported,
        found: false,
    };
    v.visit_file(cx.file);
    v.found
}

/// Default health route names; a route counts when one of its path
/// segments is one of these.
pub const HEALTH_NAMES: &[&str] = &[
    "healthz",
    "health",
    "livez",
    "readyz",
    "ready",
    "ping",
    "live",
    "liveness",
    "readiness",
    "healthcheck",
    "health_check",
    "health-check",
    "alive",
    "heartbeat",
    // Dockerflow's load-balancer probe, `/__lbheartbeat__`.
    "lbheartbeat",
];

/// Whether a route path is a health route: one of its segments is a
/// default health name (also between underscores, `/__heartbeat__`), it is the top-level `/status` (what probes of many
/// services ask; `/api/v1/status` may report on anything and is not) or
/// the top-level `/up` (the liveness route of Rails, Laravel and Pusher
/// servers; `/votes/up` is not), or it is (or ends with) a configured path.
pub fn is_health_path(path: &str, extra: &[String]) -> bool {
    let p = path.trim().trim_end_matches('/');
    // `/__heartbeat__` (Mozilla's Dockerflow), `/_health`: underscores
    // around a name keep it out of the application's namespace.
    p.split('/')
        .any(|s| HEALTH_NAMES.contains(&s) || HEALTH_NAMES.contains(&s.trim_matches('_')))
        || matches!(p.trim_start_matches('/'), "status" | "up")
        || extra.iter().any(|e| {
            let e = e.trim().trim_end_matches('/');
            !e.is_empty() && (p == e || p.ends_with(e) || e.ends_with(p) && p.len() > 1)
        })
}

/// An operator's endpoint (`/admin/..`, `/debug/..`, `/pprof/..`), which
/// a service may serve on loopback on purpose (reached with `kubectl
/// port-forward` or `exec`, never through the mesh). Scrapes and status
/// pages are not: a scraper reaches the pod's IP.
pub fn is_operator_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    matches!(first, "admin" | "debug" | "pprof")
}

/// A diagnostics page of the "z-pages" convention, named by its first
/// segment (`/statusz`, `/tracez`, `/traceconfigz`, `/rpcz`, `/varz`,
/// `/flagz`, `/configz`): what a process shows its operators, never an
/// API (`/quiz` and `/jazz` are not).
pub fn is_zpage(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    matches!(
        first,
        "statusz" | "tracez" | "traceconfigz" | "rpcz" | "varz" | "flagz" | "configz" | "threadz"
    )
}

/// Metrics, admin and debug endpoints: what a second server on its own
/// port serves besides the application.
pub fn is_admin_path(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    matches!(
        first,
        "metrics" | "admin" | "debug" | "pprof" | "prometheus" | "stats" | "-" | "status" | "vars"
    )
}

/// The `health-paths` option: extra paths that count as health routes.
pub fn health_option(config: &crate::config::RuleConfig) -> Vec<String> {
    config
        .options
        .get("health-paths")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `std::process::exit` / `abort`, however imported.
pub fn is_exit_call(cx: &FileCtx<'_>, c: &syn::ExprCall) -> Option<&'static str> {
    let Expr::Path(p) = &*c.func else { return None };
    let segs = cx.uses.resolve_shared(&p.path);
    let first = segs.first().map(String::as_str);
    if !matches!(first, Some("std" | "core" | "process")) || !mentions(&segs, "process") {
        return None;
    }
    match segs.last().map(String::as_str) {
        Some("exit") => Some("process::exit"),
        Some("abort") => Some("process::abort"),
        _ => None,
    }
}

/// Whether an expression waits for a termination signal:
/// `tokio::signal::ctrl_c()`, `signal(SignalKind::terminate())`, ...
pub fn waits_for_signal(cx: &FileCtx<'_>, e: &Expr) -> bool {
    struct V<'c, 'a>(&'c FileCtx<'a>, bool);
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.0.uses.resolve_shared(&p.path);
                if ends_with(&segs, &["ctrl_c"])
                    || (mentions(&segs, "signal") && ends_with(&segs, &["signal"]))
                    || ends_with(&segs, &["SignalKind", "terminate"])
                    || ends_with(&segs, &["SignalKind", "interrupt"])
                {
                    self.1 = true;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, mac: &'x syn::Macro) {
            for e in self.0.macros.exprs(mac) {
                let mut inner = V(self.0, false);
                inner.visit_expr(e);
                self.1 |= inner.1;
            }
        }
    }
    let mut v = V(cx, false);
    v.visit_expr(e);
    v.1
}

/// Calls that run their closure or future concurrently with the caller.
fn is_spawn(segs: &[String]) -> bool {
    let last = segs.last().map(String::as_str).unwrap_or("");
    (matches!(last, "spawn" | "spawn_blocking" | "spawn_local")
        && (mentions(segs, "tokio")
            || mentions(segs, "thread")
            || mentions(segs, "task")
            || mentions(segs, "async_std")
            || mentions(segs, "actix_rt")
            || mentions(segs, "rt")))
        || ends_with(segs, &["ctrlc", "set_handler"])
        || ends_with(segs, &["signal_hook", "low_level", "register"])
}

/// Analyses one function: its servers, binds, spawned tasks and the regions
/// that run only after a server has stopped.
pub fn analyse_fn<'e>(
    cx: &'e FileCtx<'_>,
    f: &'e FnItem<'e>,
    scope: &'e FnScope<'e>,
    attr_routes: &'e HashMap<String, String>,
) -> FnLifecycle {
    let lc = Lifecycle {
        cx,
        scope,
        ev: Evaluator::new(cx, scope),
        f,
        attr_routes,
    };
    let mut v = FnWalk {
        lc: &lc,
        out: FnLifecycle::default(),
        by_start: HashMap::default(),
        server_names: HashSet::default(),
        select_depth: 0,
        stmts: vec![(
            f.body.brace_token.span.close().byte_end(),
            f.body.brace_token.span.open().byte_start()..f.body.brace_token.span.close().byte_end(),
        )],
        spawn_marks: Vec::new(),
        dead_link: None,
    };
    v.visit_block(f.body);
    // Statements that await a server end its serving: what follows runs
    // after it stopped.
    let mut after = AfterServe {
        walk: &v,
        out: Vec::new(),
    };
    after.visit_block(f.body);
    let regions = after.out;
    let mut out = v.out;
    out.after_serve = regions;
    // A server future the function hands back unawaited: its caller
    // decides when it stops.
    let returned = lc.returned_servers();
    for s in v.by_start.values_mut() {
        if s.shutdown == Shutdown::Missing && returned.contains(&s.start) {
            s.shutdown = Shutdown::Caller;
        }
    }
    // The same server started in both branches of an `if` on a flag that
    // says whether to drain (`if graceful_shutdown { serve.with_graceful_shutdown(s) }
    // else { serve }`): the program offers the drain, the flag is its
    // configuration.
    for (then, other) in graceful_switches(f.body) {
        let wired_in = |r: &Range<usize>, fw: &str| {
            v.by_start.values().any(|s| {
                s.framework == fw
                    && s.shutdown == Shutdown::Wired
                    && r.contains(&(s.range.byte_start as usize))
            })
        };
        let switched: Vec<usize> = v
            .by_start
            .iter()
            .filter(|(_, s)| s.shutdown == Shutdown::Missing)
            .filter(|(_, s)| {
                let at = s.range.byte_start as usize;
                (then.contains(&at) && wired_in(&other, s.framework))
                    || (other.contains(&at) && wired_in(&then, s.framework))
            })
            .map(|(k, _)| *k)
            .collect();
        for k in switched {
            if let Some(s) = v.by_start.get_mut(&k) {
                s.shutdown = Shutdown::Wired;
            }
        }
    }
    let mut servers: Vec<Server> = v.by_start.into_values().collect();
    servers.sort_by_key(|s| s.start);
    out.servers = servers;
    out.binds.sort_by_key(|b| (b.0, b.1.start));
    out.binds.dedup();
    out.task_binds.dedup();
    out
}

/// The branches (then, else) of each `if` whose condition is a flag that
/// says whether to shut down gracefully: a name or field with `graceful`,
/// `shutdown` or `drain` in it, maybe negated (`if !self.graceful_shutdown`).
fn graceful_switches(body: &syn::Block) -> Vec<(Range<usize>, Range<usize>)> {
    struct V(Vec<(Range<usize>, Range<usize>)>);
    fn flag(e: &Expr) -> bool {
        let name = match e {
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => return flag(&u.expr),
            Expr::Paren(p) => return flag(&p.expr),
            Expr::Path(p) => match p.path.get_ident() {
                Some(id) => id.to_string(),
                None => return false,
            },
            Expr::Field(f) => match &f.member {
                syn::Member::Named(id) => id.to_string(),
                syn::Member::Unnamed(_) => return false,
            },
            _ => return false,
        };
        let name = name.to_ascii_lowercase();
        ["graceful", "shutdown", "drain"]
            .iter()
            .any(|w| name.contains(w))
    }
    impl<'x> Visit<'x> for V {
        fn visit_expr_if(&mut self, i: &'x syn::ExprIf) {
            if let Some((_, el)) = &i.else_branch {
                if flag(&i.cond) {
                    let then = i.then_branch.brace_token.span.join().bytes();
                    self.0.push((then, byte_range(el)));
                }
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0
}

struct FnWalk<'l, 'e, 'a> {
    lc: &'l Lifecycle<'e, 'a>,
    out: FnLifecycle,
    by_start: HashMap<usize, Server>,
    /// `let` names bound to a server or a listener.
    server_names: HashSet<String>,
    select_depth: u32,
    /// Enclosing statements: where each ends and its block's range.
    stmts: Vec<(usize, Range<usize>)>,
    /// `stmts` depth at each enclosing spawn.
    spawn_marks: Vec<usize>,
    /// The next link down a chain whose root makes no server.
    dead_link: Option<*const Expr>,
}

impl FnWalk<'_, '_, '_> {
    /// Records the server or bind `e` makes; `false` when its chain's root
    /// makes none, and so neither do the links under it.
    fn record(&mut self, e: &Expr) -> bool {
        let c = self.lc.full_chain(e);
        if self.lc.classify_root(c.root).is_none() {
            return false;
        }
        let Some((start, root, server)) = self.lc.server_of(c, self.select_depth > 0) else {
            return true;
        };
        let at = match self.spawn_marks.first() {
            Some(&mark) => mark.saturating_sub(1),
            None => self.stmts.len().saturating_sub(1),
        };
        if let Some(ctx) = self.stmts.get(at) {
            self.out.binds.push(ctx.clone());
            if !self.spawn_marks.is_empty() {
                if let Some((end, block)) = self.stmts.last() {
                    self.out.task_binds.push(TaskBind {
                        end: *end,
                        block: block.clone(),
                        spawn: ctx.clone(),
                    });
                }
            }
        }
        if root == Root::Listener
            || server.shutdown == Shutdown::Unknown
                && server.routes.is_none()
                && !self.is_serving(&server)
        {
            return true;
        }
        match self.by_start.get_mut(&start) {
            Some(prev) => {
                // The same server seen through a `let`: the longer chain
                // knows more.
                if prev.shutdown == Shutdown::Unknown
                    || server.shutdown == Shutdown::Wired
                    || (prev.shutdown == Shutdown::Missing && server.shutdown != Shutdown::Unknown)
                {
                    let routes = prev.routes.take().or(server.routes.clone());
                    *prev = server;
                    if prev.routes.is_none() {
                        prev.routes = routes;
                    }
                }
            }
            None => {
                self.by_start.insert(start, server);
            }
        }
        true
    }

    fn is_serving(&self, s: &Server) -> bool {
        s.shutdown != Shutdown::Unknown
    }

    /// A `select!` arm that names a server bound earlier (`conn`, `&mut
    /// conn`, `conn.as_mut()`): that server is raced against the arms
    /// that are not servers, so it is told to stop.
    fn raced_by_name(&mut self, future: &Expr) {
        if !matches!(chain(future).root, Expr::Path(_)) {
            return;
        }
        let c = self.lc.full_chain(future);
        if matches!(self.lc.classify_root(c.root), None | Some(Root::Listener)) {
            return;
        }
        let Some((start, _, _)) = self.lc.server_of(c, true) else {
            return;
        };
        if let Some(s) = self.by_start.get_mut(&start) {
            if s.shutdown == Shutdown::Missing {
                s.shutdown = Shutdown::Wired;
            }
        }
    }
}

impl<'x> Visit<'x> for FnWalk<'_, '_, '_> {
    fn visit_expr(&mut self, e: &'x Expr) {
        // Every link of `a.b().c().await?` is recorded, and each record
        // walks the chain down to its root: on a long chain whose root makes
        // no server, the links below share that root and are skipped, or
        // the walk is quadratic in the chain's length.
        let dead = self.dead_link.is_some_and(|l| std::ptr::eq(l, e));
        let mut root_makes_nothing = dead;
        if !dead
            && matches!(
                e,
                Expr::Call(_) | Expr::MethodCall(_) | Expr::Await(_) | Expr::Try(_)
            )
        {
            root_makes_nothing = !self.record(e);
        }
        let below = match e {
            Expr::MethodCall(m) => Some(&*m.receiver),
            Expr::Await(a) => Some(&*a.base),
            Expr::Try(t) => Some(&*t.expr),
            Expr::Paren(p) => Some(&*p.expr),
            Expr::Reference(r) => Some(&*r.expr),
            _ => None,
        };
        self.dead_link = below
            .filter(|_| root_makes_nothing)
            .map(|b| b as *const Expr);
        if let Expr::Call(c) = e {
            if let Expr::Path(p) = &*c.func {
                let segs = self.lc.cx.uses.resolve_shared(&p.path);
                if is_spawn(&segs) {
                    for a in &c.args {
                        let signal = waits_for_signal(self.lc.cx, a)
                            || ends_with(&segs, &["ctrlc", "set_handler"])
                            || mentions(&segs, "signal_hook");
                        match a {
                            Expr::Closure(_) | Expr::Async(_) | Expr::Block(_) => {
                                self.out.spawned.push((byte_range(a), signal));
                            }
                            _ => {}
                        }
                        // `spawn(shutdown_handler())`, `spawn(async { watch().await })`.
                        for name in called_fns(a) {
                            let signal = signal
                                || file_fn(self.lc.cx, &name).is_some_and(|f| {
                                    f.body.stmts.iter().any(|s| match s {
                                        syn::Stmt::Expr(e, _) => waits_for_signal(self.lc.cx, e),
                                        syn::Stmt::Local(l) => l
                                            .init
                                            .as_ref()
                                            .is_some_and(|i| waits_for_signal(self.lc.cx, &i.expr)),
                                        _ => false,
                                    })
                                });
                            self.out.spawned_calls.push((name, start_of(a), signal));
                        }
                    }
                    self.spawn_marks.push(self.stmts.len());
                    syn::visit::visit_expr(self, e);
                    self.spawn_marks.pop();
                    return;
                }
            }
        }
        syn::visit::visit_expr(self, e);
    }
    fn visit_block(&mut self, b: &'x syn::Block) {
        let block = b.brace_token.span.open().byte_start()..b.brace_token.span.close().byte_end();
        for s in &b.stmts {
            let end = stmt_end(s).unwrap_or(block.end);
            self.stmts.push((end, block.clone()));
            self.visit_stmt(s);
            self.stmts.pop();
        }
    }
    fn visit_local(&mut self, l: &'x syn::Local) {
        if let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) {
            let c = self.lc.full_chain(&init.expr);
            if self.lc.classify_root(c.root).is_some() {
                self.server_names.insert(pi.ident.to_string());
            }
        }
        syn::visit::visit_local(self, l);
    }
    fn visit_macro(&mut self, mac: &'x syn::Macro) {
        // A server raced in `select!` against something that is not a
        // server (a signal, a shutdown channel, a token) is told to stop;
        // servers raced only against each other are not.
        let arms: &[super::macros::SelectArm] = match self.lc.cx.macros.get(mac) {
            Some(super::macros::MacroBody::Select(arms)) if macro_name(mac) == "select" => arms,
            _ => &[],
        };
        let select = arms.iter().any(|a| {
            !matches!(
                self.lc.classify_root(self.lc.full_chain(&a.future).root),
                Some(r) if r != Root::Listener
            )
        });
        // The arms of a race that is not one: nothing below reads them.
        let arms = if select { arms } else { &[] };
        if select {
            self.select_depth += 1;
        }
        // `let conn = builder.serve_connection(..);` then
        // `select! { r = conn => .., _ = token.cancelled() => .. }`: the
        // server made before the race is raced by name.
        for a in arms {
            self.raced_by_name(&a.future);
        }
        // A server in an arm's handler runs after the race is decided: it
        // is not raced by the arm's future (`got = listener.accept() =>
        // { spawn(serve_connection(..)) }`).
        let handlers: Vec<*const Expr> = arms
            .iter()
            .filter_map(|a| a.handler.as_ref().map(|h| h as *const Expr))
            .collect();
        for e in self.lc.cx.macros.exprs(mac) {
            let handler = handlers.iter().any(|h| std::ptr::eq(*h, e));
            let mut inner = FnWalk {
                lc: self.lc,
                out: std::mem::take(&mut self.out),
                by_start: std::mem::take(&mut self.by_start),
                server_names: std::mem::take(&mut self.server_names),
                select_depth: self.select_depth - u32::from(handler),
                stmts: std::mem::take(&mut self.stmts),
                spawn_marks: std::mem::take(&mut self.spawn_marks),
                dead_link: None,
            };
            inner.visit_expr(e);
            self.stmts = inner.stmts;
            self.spawn_marks = inner.spawn_marks;
            self.out = inner.out;
            self.by_start = inner.by_start;
            self.server_names = inner.server_names;
        }
        if select {
            self.select_depth -= 1;
        }
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

/// Where a statement ends, when a token says so without a token walk.
fn stmt_end(s: &syn::Stmt) -> Option<usize> {
    match s {
        syn::Stmt::Local(l) => Some(l.semi_token.span.byte_end()),
        syn::Stmt::Expr(_, Some(semi)) => Some(semi.span.byte_end()),
        syn::Stmt::Expr(e, None) => Some(byte_range(e).end),
        syn::Stmt::Macro(m) => Some(byte_range(m).end),
        syn::Stmt::Item(_) => None,
    }
}

/// Names of functions an expression calls (`f()`, `f().await`, `m::f()`).
fn called_fns(e: &Expr) -> Vec<String> {
    struct V(Vec<String>);
    impl<'a> Visit<'a> for V {
        fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                if let Some(last) = p.path.segments.last() {
                    self.0.push(last.ident.to_string());
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_expr(e);
    v.0
}

/// Finds statements that wait for a server to finish.
struct AfterServe<'w, 'l, 'e, 'a> {
    walk: &'w FnWalk<'l, 'e, 'a>,
    out: Vec<Range<usize>>,
}

impl AfterServe<'_, '_, '_, '_> {
    /// Whether a statement awaits (or blocks on) a server or a value bound
    /// to one (a listener handed to a serving function counts too).
    fn awaits_server(&self, s: &syn::Stmt) -> bool {
        struct V<'v, 'w, 'l, 'e, 'a> {
            a: &'v AfterServe<'w, 'l, 'e, 'a>,
            found: bool,
        }
        impl<'x> Visit<'x> for V<'_, '_, '_, '_, '_> {
            fn visit_expr_await(&mut self, aw: &'x syn::ExprAwait) {
                if self.a.is_server_expr(&aw.base) {
                    self.found = true;
                }
                syn::visit::visit_expr_await(self, aw);
            }
            fn visit_expr_method_call(&mut self, m: &'x ExprMethodCall) {
                if m.method == "block_on" && m.args.iter().any(|x| self.a.is_server_expr(x)) {
                    self.found = true;
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_macro(&mut self, mac: &'x syn::Macro) {
                let name = macro_name(mac);
                let exprs = self.a.walk.lc.cx.macros.exprs(mac);
                if matches!(name.as_str(), "join" | "try_join" | "select")
                    && exprs.iter().any(|x| self.a.is_server_expr(x))
                {
                    self.found = true;
                }
                for e in exprs {
                    let mut inner = V {
                        a: self.a,
                        found: false,
                    };
                    inner.visit_expr(e);
                    self.found |= inner.found;
                }
            }
            // A spawned task's await does not block this function.
            fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
            fn visit_expr_async(&mut self, _: &'x syn::ExprAsync) {}
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut v = V {
            a: self,
            found: false,
        };
        v.visit_stmt(s);
        v.found
    }

    fn is_server_expr(&self, e: &Expr) -> bool {
        let c = self.walk.lc.full_chain(e);
        match self.walk.lc.classify_root(c.root) {
            // Awaiting a bind is not serving.
            Some(Root::Listener) => return false,
            Some(_) => return true,
            None => {}
        }
        // `run(listener, app).await`: a call handed a bound listener.
        let mut args_mention = false;
        struct Names<'n>(&'n HashSet<String>, bool);
        impl<'a> Visit<'a> for Names<'_> {
            fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
                if p.path
                    .get_ident()
                    .is_some_and(|i| self.0.contains(&i.to_string()))
                {
                    self.1 = true;
                }
            }
        }
        let mut n = Names(&self.walk.server_names, false);
        n.visit_expr(e);
        args_mention |= n.1;
        args_mention
    }
}

impl<'x> Visit<'x> for AfterServe<'_, '_, '_, '_> {
    fn visit_block(&mut self, b: &'x syn::Block) {
        let end = b.brace_token.span.close().byte_end();
        for s in &b.stmts {
            if self.awaits_server(s) {
                self.out.push(start_of(s)..end);
                break;
            }
        }
        syn::visit::visit_block(self, b);
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

/// Exit and panic calls inside a range of a function body: `(offset,
/// range, what)`.
pub fn exits_in(cx: &FileCtx<'_>, body: &syn::Block) -> Vec<(usize, TextRange, &'static str)> {
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        out: Vec<(usize, TextRange, &'static str)>,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Some(what) = is_exit_call(self.cx, c) {
                let r = self.cx.call_range(c);
                self.out.push((r.byte_start as usize, r, what));
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, mac: &'x syn::Macro) {
            if macro_name(mac) == "panic" {
                let r = self.cx.node_range(mac);
                self.out.push((r.byte_start as usize, r, "panic!"));
                return;
            }
            for e in self.cx.macros.exprs(mac) {
                let mut inner = V {
                    cx: self.cx,
                    out: Vec::new(),
                };
                inner.visit_expr(e);
                self.out.extend(inner.out);
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_paths_match_by_segment_or_option() {
        assert!(is_health_path("/healthz", &[]));
        assert!(is_health_path("/api/v1/health/", &[]));
        assert!(is_health_path("ping", &[]));
        assert!(!is_health_path("/orders/{id}", &[]));
        assert!(!is_health_path("/healthcare", &[]));
        assert!(is_health_path("/status", &[]));
        assert!(!is_health_path("/api/v1/status", &[]));
        assert!(!is_health_path("/jobs/{id}/status", &[]));
        assert!(is_health_path("/up", &[]));
        assert!(!is_health_path("/votes/up", &[]));
        assert!(!is_health_path("/upload", &[]));
        let extra = vec!["/api/v1/status".to_string()];
        assert!(is_health_path("/api/v1/status", &extra));
        assert!(!is_health_path("/api/v1/orders", &extra));
    }

    #[test]
    fn admin_paths() {
        assert!(is_zpage("/traceconfigz"));
        assert!(is_zpage("/statusz/threads"));
        assert!(!is_zpage("/quiz"));
        assert!(!is_zpage("/api/statusz"));
        assert!(is_admin_path("/metrics"));
        assert!(is_admin_path("/debug/pprof/heap"));
        assert!(!is_admin_path("/orders"));
    }

    #[test]
    fn health_option_reads_the_rule_table() {
        let text = "[rules.missing-health-endpoint]\nhealth-paths = [\"/status\"]\n";
        let path =
            std::env::temp_dir().join(format!("mesh-audit-health-{}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let cfg = crate::config::Config::from_file(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(
            health_option(&cfg.rules["missing-health-endpoint"]),
            ["/status"]
        );
    }
}
