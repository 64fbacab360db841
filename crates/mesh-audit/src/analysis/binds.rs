//! Server binds: where a service starts listening, and on which address.
//! Shared by the bind rules so that they agree on what a bind is.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use mesh_audit_model::TextRange;
use syn::visit::Visit;
use syn::Expr;

use super::eval::{host_port, Evaluator, Value};
use super::paths::{ends_with, mentions};
use super::scope::FnScope;
use super::FileCtx;

/// One place a server starts listening.
#[derive(Debug, Clone)]
pub struct ServerBind {
    /// The bind or serve call.
    pub range: TextRange,
    /// `tokio`, `std`, `axum`, `hyper`, `actix-web`, `tonic`, `warp`, ...
    pub framework: &'static str,
    /// The listen host, as the code wrote it (`127.0.0.1`, `::1`, `localhost`).
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The address came from an environment variable's default.
    pub from_env: bool,
    /// The bound listener is asked for its `local_addr()`: the code hands
    /// the port the kernel picked to someone in the process.
    pub addr_read: bool,
}

impl ServerBind {
    pub fn is_loopback(&self) -> bool {
        self.host.as_deref().is_some_and(is_loopback_host)
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            // `::ffff:127.0.0.1` is IPv4 loopback on a dual-stack socket,
            // though `Ipv6Addr::is_loopback` only knows `::1`.
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// Every server bind in the file whose address is at least partly known.
pub fn server_binds(cx: &FileCtx<'_>) -> Vec<ServerBind> {
    let mut out = Vec::new();
    for (f, scope) in cx.functions().iter().zip(cx.fn_scopes()) {
        let mut v = BindVisitor {
            cx,
            ev: Evaluator::new(cx, scope),
            scope,
            out: &mut out,
            body: f.body,
            listeners: std::cell::OnceCell::new(),
            dialled: std::cell::OnceCell::new(),
            listened: std::cell::OnceCell::new(),
        };
        v.visit_block(f.body);
    }
    out.sort_by_key(|b| (b.range.byte_start, b.range.byte_end));
    out.dedup_by_key(|b| (b.range.byte_start, b.range.byte_end));
    out
}

struct BindVisitor<'e, 'a> {
    cx: &'e FileCtx<'a>,
    ev: Evaluator<'e, 'a>,
    scope: &'e FnScope<'e>,
    out: &'e mut Vec<ServerBind>,
    body: &'e syn::Block,
    /// Byte offsets of `TcpListener::bind` calls that only probe for a free
    /// port, and of those whose listener is asked for its `local_addr()`
    /// (and may serve too). Read only when the body binds: most do not.
    listeners: std::cell::OnceCell<(Vec<u32>, Vec<u32>)>,
    /// Where the locals that the body calls `.connect(..)` on are bound.
    dialled: std::cell::OnceCell<Vec<usize>>,
    /// Where the locals that the body calls `.listen(..)` on are bound.
    listened: std::cell::OnceCell<Vec<usize>>,
}

impl BindVisitor<'_, '_> {
    fn listeners(&self) -> &(Vec<u32>, Vec<u32>) {
        self.listeners.get_or_init(|| listener_uses(self.body))
    }
}

/// The `let` bindings (by position) of the locals the body calls
/// `.connect(..)` on: `let s = TcpSocket::new_v4()?; s.bind(..)?; s.connect(peer)`.
fn dialled_sockets(scope: &FnScope<'_>, body: &syn::Block) -> Vec<usize> {
    locals_called(scope, body, "connect")
}

/// The `let` bindings (by position) of the locals the body calls
/// `.listen(..)` on: `let s = Socket::new(..)?; s.bind(&addr.into())?;
/// s.listen(1024)?`.
fn listened_sockets(scope: &FnScope<'_>, body: &syn::Block) -> Vec<usize> {
    locals_called(scope, body, "listen")
}

/// The `let` bindings (by position) of the locals the body calls `method`
/// on, outside nested items.
fn locals_called(scope: &FnScope<'_>, body: &syn::Block, method: &str) -> Vec<usize> {
    struct V<'v, 's> {
        scope: &'v FnScope<'s>,
        method: &'v str,
        out: Vec<usize>,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.method == self.method {
                if let Expr::Path(p) = &*m.receiver {
                    if let Some(id) = p.path.get_ident() {
                        if let Some(b) = self.scope.lookup(&id.to_string(), id.span().byte_start())
                        {
                            self.out.push(b.at);
                        }
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        scope,
        method,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

/// Whether `e` makes a `socket2::Socket` (`Socket::new(..)`, also in the
/// branches of an `if` or `match` that pick the address family).
fn makes_socket2(uses: &super::paths::UseMap, e: &Expr) -> bool {
    struct V<'u> {
        uses: &'u super::paths::UseMap,
        found: bool,
    }
    impl<'x> Visit<'x> for V<'_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.uses.resolve(&p.path);
                if segs.first().is_some_and(|s| s == "socket2")
                    && (ends_with(&segs, &["Socket", "new"])
                        || ends_with(&segs, &["Socket", "new_raw"]))
                {
                    self.found = true;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V { uses, found: false };
    v.visit_expr(e);
    v.found
}

/// The values an `if`/`match`/block yields: each branch's tail, through
/// nested branches; a branch that leaves (`return`, `break`, `continue`,
/// a macro such as `bail!` or `unreachable!()` as its tail) yields none.
/// `false` when a branch yields `()` (an `if` without `else`, a block
/// without a tail that does not leave).
fn arm_values<'x>(e: &'x Expr, out: &mut Vec<&'x Expr>, depth: u32) -> bool {
    let block = |b: &'x syn::Block, out: &mut Vec<&'x Expr>| match b.stmts.last() {
        Some(syn::Stmt::Expr(t, None)) => arm_values(t, out, depth + 1),
        Some(syn::Stmt::Macro(_)) => true,
        Some(syn::Stmt::Expr(Expr::Return(_), _)) => true,
        _ => false,
    };
    if depth > 4 {
        return false;
    }
    match e {
        Expr::If(i) => match &i.else_branch {
            Some((_, el)) => block(&i.then_branch, out) && arm_values(el, out, depth + 1),
            None => false,
        },
        Expr::Match(m) => m.arms.iter().all(|a| arm_values(&a.body, out, depth + 1)),
        Expr::Block(b) if b.label.is_none() => block(&b.block, out),
        Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) | Expr::Macro(_) => true,
        _ => {
            out.push(e);
            true
        }
    }
}

/// The port of an `(host, port)` pair whose host is not known.
fn tuple_port(v: &Value) -> Option<u16> {
    match v {
        Value::Tuple(t) if t.len() == 2 => t[1].as_int().and_then(|p| u16::try_from(p).ok()),
        _ => None,
    }
}

/// `(free-port probes, listeners asked for their address)`, as byte offsets
/// of their bind calls.
///
/// A free-port probe is a `TcpListener::bind(..)` whose listener is only
/// asked for its address and then dropped (`bind("127.0.0.1:0")?
/// .local_addr()?.port()`, or `let l = bind(..)?; let p = l.local_addr()?;
/// drop(l)`; also after one `accept()` outside a loop whose connection is
/// only dropped, when the address is read: a port held in `TIME_WAIT`),
/// not a server. A listener
/// asked for its address
/// (`let l = TcpListener::bind(..)?; .. l.local_addr()`) may serve too.
fn listener_uses(body: &syn::Block) -> (Vec<u32>, Vec<u32>) {
    /// `Ok(l) => l`: the arm hands the bound value on unchanged.
    fn ok_passthrough(a: &syn::Arm) -> bool {
        let syn::Pat::TupleStruct(ts) = &a.pat else {
            return false;
        };
        let (true, Some(syn::Pat::Ident(id))) = (
            ts.path.is_ident("Ok") && ts.elems.len() == 1,
            ts.elems.first(),
        ) else {
            return false;
        };
        matches!(&*a.body, Expr::Path(p) if p.path.is_ident(&id.ident))
    }
    /// An arm that leaves instead of giving a value: `continue`, `return ..`,
    /// `break`, `panic!(..)`/`unreachable!(..)`, or a block ending in one.
    fn diverges(e: &Expr) -> bool {
        let panics = |mac: &syn::Macro| {
            mac.path
                .segments
                .last()
                .is_some_and(|s| s.ident == "panic" || s.ident == "unreachable")
        };
        match e {
            Expr::Continue(_) | Expr::Return(_) | Expr::Break(_) => true,
            Expr::Macro(m) => panics(&m.mac),
            Expr::Block(b) => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(e, _)) => diverges(e),
                Some(syn::Stmt::Macro(m)) => panics(&m.mac),
                _ => false,
            },
            _ => false,
        }
    }
    fn bind_call(e: &Expr) -> Option<&syn::ExprCall> {
        match e {
            Expr::Call(c) => match &*c.func {
                Expr::Path(p)
                    if ends_with(
                        &super::paths::path_segments(&p.path),
                        &["TcpListener", "bind"],
                    ) || p.path.is_ident("bind") =>
                {
                    Some(c)
                }
                _ => None,
            },
            Expr::Try(t) => bind_call(&t.expr),
            Expr::Await(a) => bind_call(&a.base),
            Expr::Paren(p) => bind_call(&p.expr),
            // `match TcpListener::bind(a) { Ok(l) => l, Err(_) => continue }`:
            // `?` written out; the value is the listener.
            Expr::Match(m) => {
                let c = bind_call(&m.expr)?;
                m.arms
                    .iter()
                    .all(|a| ok_passthrough(a) || diverges(&a.body))
                    .then_some(c)
            }
            Expr::MethodCall(m)
                if ident_in(
                    &m.method,
                    &[
                        "unwrap",
                        "expect",
                        "context",
                        "with_context",
                        "map_err",
                        "ok",
                    ],
                ) =>
            {
                bind_call(&m.receiver)
            }
            _ => None,
        }
    }
    fn start(c: &syn::ExprCall) -> u32 {
        match &*c.func {
            Expr::Path(p) => p
                .path
                .segments
                .first()
                .map(|s| s.ident.span().byte_start() as u32)
                .unwrap_or(0),
            _ => 0,
        }
    }
    /// Uses of a local: `(all, only local_addr()/drop(), local_addr())`.
    struct Uses<'n> {
        name: &'n syn::Ident,
        all: usize,
        harmless: usize,
        addr: usize,
        /// Where the local lives, to follow what one `accept()` returns.
        scope: Option<&'n syn::Block>,
        /// Loops and closures around the current expression.
        depth: usize,
        /// Connections accepted once and dropped unread (also in `harmless`).
        accepted: usize,
    }
    impl<'n> Uses<'n> {
        /// Uses of `name`, followed into `scope` when the local lives there.
        fn of(name: &'n syn::Ident, scope: Option<&'n syn::Block>) -> Self {
            Uses {
                name,
                all: 0,
                harmless: 0,
                addr: 0,
                scope,
                depth: 0,
                accepted: 0,
            }
        }
    }
    /// `l.accept()`, also behind `?`, `.await`, `.unwrap()`.
    fn accept_on(e: &Expr, name: &syn::Ident) -> bool {
        match e {
            Expr::MethodCall(m) if m.method == "accept" => {
                matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(name))
            }
            Expr::MethodCall(m) if ident_in(&m.method, &["unwrap", "expect"]) => {
                accept_on(&m.receiver, name)
            }
            Expr::Try(t) => accept_on(&t.expr, name),
            Expr::Await(a) => accept_on(&a.base, name),
            Expr::Paren(p) => accept_on(&p.expr, name),
            _ => false,
        }
    }
    /// Whether every use of `id` in `block` is `drop(id)`.
    fn only_dropped(block: &syn::Block, id: &syn::Ident) -> bool {
        struct D<'i> {
            id: &'i syn::Ident,
            all: usize,
            dropped: usize,
        }
        impl<'x> Visit<'x> for D<'_> {
            fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
                if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("drop"))
                    && matches!(c.args.first(), Some(Expr::Path(p)) if p.path.is_ident(self.id))
                {
                    self.dropped += 1;
                }
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
                if p.path.is_ident(self.id) {
                    self.all += 1;
                }
            }
            fn visit_macro(&mut self, m: &'x syn::Macro) {
                let named = m
                    .tokens
                    .clone()
                    .into_iter()
                    .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == *self.id));
                if named {
                    self.all += 1;
                }
            }
        }
        let mut d = D {
            id,
            all: 0,
            dropped: 0,
        };
        d.visit_block(block);
        d.all == d.dropped
    }
    impl<'x> Visit<'x> for Uses<'_> {
        /// `let (socket, _) = l.accept()?; drop(socket);`, once, outside
        /// any loop: a connection taken and closed unread (to hold the
        /// port in `TIME_WAIT` after the probe), not a served one.
        fn visit_local(&mut self, l: &'x syn::Local) {
            if let (Some(init), Some(scope), 0) = (&l.init, self.scope, self.depth) {
                if accept_on(&init.expr, self.name) {
                    let mut ids = Vec::new();
                    let mut pats = vec![&l.pat];
                    let mut plain = true;
                    while let Some(p) = pats.pop() {
                        match p {
                            syn::Pat::Ident(pi) if pi.subpat.is_none() => ids.push(&pi.ident),
                            syn::Pat::Tuple(t) => pats.extend(t.elems.iter()),
                            syn::Pat::Wild(_) => {}
                            _ => plain = false,
                        }
                    }
                    if plain && ids.iter().all(|id| only_dropped(scope, id)) {
                        self.harmless += 1;
                        self.accepted += 1;
                    }
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_loop(&mut self, e: &'x syn::ExprLoop) {
            self.depth += 1;
            syn::visit::visit_expr_loop(self, e);
            self.depth -= 1;
        }
        fn visit_expr_while(&mut self, e: &'x syn::ExprWhile) {
            self.depth += 1;
            syn::visit::visit_expr_while(self, e);
            self.depth -= 1;
        }
        fn visit_expr_for_loop(&mut self, e: &'x syn::ExprForLoop) {
            self.depth += 1;
            syn::visit::visit_expr_for_loop(self, e);
            self.depth -= 1;
        }
        fn visit_expr_closure(&mut self, e: &'x syn::ExprClosure) {
            self.depth += 1;
            syn::visit::visit_expr_closure(self, e);
            self.depth -= 1;
        }
        fn visit_expr_async(&mut self, e: &'x syn::ExprAsync) {
            self.depth += 1;
            syn::visit::visit_expr_async(self, e);
            self.depth -= 1;
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(self.name))
                && m.method == "local_addr"
            {
                self.harmless += 1;
                self.addr += 1;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("drop"))
                && matches!(c.args.first(), Some(Expr::Path(p)) if p.path.is_ident(self.name))
            {
                self.harmless += 1;
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
            if p.path.is_ident(self.name) {
                self.all += 1;
            }
        }
        // A macro that names the listener (`tokio::spawn(guard!(serve(l)))`)
        // uses it in a way we do not read: not a probe's harmless use.
        fn visit_macro(&mut self, m: &'x syn::Macro) {
            fn names(ts: proc_macro2::TokenStream, id: &syn::Ident) -> bool {
                ts.into_iter().any(|t| match t {
                    proc_macro2::TokenTree::Ident(i) => i == *id,
                    proc_macro2::TokenTree::Group(g) => names(g.stream(), id),
                    _ => false,
                })
            }
            if names(m.tokens.clone(), self.name) {
                self.all += 1;
            }
        }
    }
    struct Probes<'b> {
        body: &'b syn::Block,
        out: Vec<u32>,
        addr_read: Vec<u32>,
    }
    impl<'x> Visit<'x> for Probes<'_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.method == "local_addr" {
                if let Some(c) = bind_call(&m.receiver) {
                    self.out.push(start(c));
                }
            }
            // `TcpListener::bind(a).is_ok()`: a port-availability check;
            // the result keeps only whether the bind worked, and the
            // listener is dropped in the same expression.
            if ident_in(&m.method, &["is_ok", "is_err"]) && m.args.is_empty() {
                if let Some(c) = bind_call(&m.receiver) {
                    self.out.push(start(c));
                }
            }
            // `bind(..).ok().map(|l| l.local_addr().unwrap().port())`: the
            // closure only reads the listener's address.
            if ident_in(&m.method, &["map", "and_then"]) && m.args.len() == 1 {
                if let (Some(c), Expr::Closure(cl)) = (bind_call(&m.receiver), &m.args[0]) {
                    if let (1, Some(syn::Pat::Ident(id))) = (cl.inputs.len(), cl.inputs.first()) {
                        let mut u = Uses::of(&id.ident, None);
                        u.visit_expr(&cl.body);
                        if u.all > 0 && u.all == u.harmless {
                            self.out.push(start(c));
                        }
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_local(&mut self, l: &'x syn::Local) {
            if let (syn::Pat::Ident(id), Some(init)) = (&l.pat, &l.init) {
                if let Some(c) = bind_call(&init.expr) {
                    let mut u = Uses::of(&id.ident, Some(self.body));
                    u.visit_block(self.body);
                    // `let listener = match bind(a) { Ok(listener) =>
                    // listener, .. }`: the arm's own name is not a use of
                    // the `let`.
                    let mut own = Uses::of(&id.ident, None);
                    own.visit_expr(&init.expr);
                    u.all = u.all.saturating_sub(own.all);
                    u.harmless = u.harmless.saturating_sub(own.harmless);
                    u.addr = u.addr.saturating_sub(own.addr);
                    // A connection taken and dropped holds a port whose
                    // number the code reads; without that read it is a
                    // one-shot server (a test's stand-in upstream).
                    if u.all > 0 && u.all == u.harmless && (u.accepted == 0 || u.addr > 0) {
                        self.out.push(start(c));
                    }
                    if u.addr > 0 {
                        self.addr_read.push(start(c));
                    }
                }
            }
            syn::visit::visit_local(self, l);
        }
        /// `match TcpListener::bind(..) { Ok(l) => return l.local_addr(), .. }`:
        /// the listener is only used in its arm.
        fn visit_expr_match(&mut self, m: &'x syn::ExprMatch) {
            if let Some(c) = bind_call(&m.expr) {
                for arm in &m.arms {
                    let syn::Pat::TupleStruct(ts) = &arm.pat else {
                        continue;
                    };
                    // `Ok(_) => true`: the listener is dropped where it
                    // is matched; only the bind's success is kept.
                    if ts.path.is_ident("Ok")
                        && ts.elems.len() == 1
                        && matches!(ts.elems.first(), Some(syn::Pat::Wild(_)))
                    {
                        self.out.push(start(c));
                        continue;
                    }
                    let (Some(syn::Pat::Ident(id)), true) = (
                        ts.elems.first(),
                        ts.path.is_ident("Ok") && ts.elems.len() == 1,
                    ) else {
                        continue;
                    };
                    let mut u = Uses::of(&id.ident, None);
                    u.visit_expr(&arm.body);
                    if u.all > 0 && u.all == u.harmless {
                        self.out.push(start(c));
                    }
                    if u.addr > 0 {
                        self.addr_read.push(start(c));
                    }
                }
            }
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut p = Probes {
        body,
        out: Vec::new(),
        addr_read: Vec::new(),
    };
    p.visit_block(body);
    (p.out, p.addr_read)
}

impl BindVisitor<'_, '_> {
    fn record(
        &mut self,
        range: TextRange,
        framework: &'static str,
        addr: Value,
        unknown_host_port: Option<u16>,
    ) {
        let (v, mut from_env) = addr.or_env_default();
        // `(host, port)` with either part from the environment: its default
        // is what runs when the variable is unset. Only an environment host
        // makes the address `from_env`; a port alone says nothing about it.
        let unwrapped;
        let v = match v {
            Value::Tuple(t) if t.len() == 2 => {
                let (host, host_env) = t[0].or_env_default();
                let (port, _) = t[1].or_env_default();
                from_env |= host_env;
                unwrapped = Value::Tuple(vec![host.clone(), port.clone()]);
                &unwrapped
            }
            other => other,
        };
        if self.listeners().0.contains(&range.byte_start) {
            return;
        }
        // A bind whose address the code does not spell out still says the
        // file starts a server (package scopes need that); rules read
        // `host`/`port` and stay quiet on `None`.
        let (host, port) = match host_port(v) {
            Some((host, port)) => (Some(host), port),
            // The host is a parameter or a setting, the port a literal:
            // `SocketAddr::new(listen_ip, 0)` still binds a random port.
            None => (None, unknown_host_port.or_else(|| tuple_port(v))),
        };
        self.out.push(ServerBind {
            range,
            framework,
            host,
            port,
            from_env: from_env && host_port(v).is_some(),
            addr_read: self.listeners().1.contains(&range.byte_start),
        });
    }

    /// Whether `e` names a local socket the function also `connect`s.
    fn is_dialled(&self, e: &Expr) -> bool {
        let Expr::Path(p) = e else { return false };
        let Some(id) = p.path.get_ident() else {
            return false;
        };
        self.scope
            .lookup(&id.to_string(), id.span().byte_start())
            .is_some_and(|b| {
                self.dialled
                    .get_or_init(|| dialled_sockets(self.scope, self.body))
                    .contains(&b.at)
            })
    }

    /// A pingora listening service: a name declared with its type
    /// (`service: &mut pingora_core::services::listening::Service<P>`) or
    /// bound to what one of pingora's service constructors returns
    /// (`http_proxy_service(&server.configuration, app)`, also through
    /// `use pingora::prelude::*`).
    fn is_pingora_service(&self, e: &Expr) -> bool {
        const CRATES: &[&str] = &["pingora", "pingora_core", "pingora_proxy"];
        let from_pingora =
            |segs: &[String]| segs.first().is_some_and(|k| CRATES.contains(&k.as_str()));
        let Expr::Path(p) = super::paths::unwrap_parens_refs(e) else {
            return false;
        };
        let Some(id) = p.path.get_ident() else {
            return false;
        };
        let Some(b) = self.scope.lookup(&id.to_string(), id.span().byte_start()) else {
            return false;
        };
        if let Some(mut ty) = b.ty {
            while let syn::Type::Reference(r) = ty {
                ty = &r.elem;
            }
            return match ty {
                syn::Type::Path(tp) => {
                    let segs = self.cx.uses.resolve_shared(&tp.path);
                    from_pingora(&segs) && segs.last().is_some_and(|l| l == "Service")
                }
                _ => false,
            };
        }
        let Some(init) = b.init else { return false };
        let Some(root) = self.chain_root(init, Some(b.at), 1) else {
            return false;
        };
        let constructor = root.last().is_some_and(|l| {
            matches!(
                l.as_str(),
                "http_proxy_service" | "http_proxy_service_with_name" | "proxy_service"
            )
        });
        constructor
            && (from_pingora(&root)
                || (root.len() == 1 && self.cx.uses.globs().iter().any(|g| from_pingora(g))))
    }

    /// Whether `e` names a local `socket2::Socket` that the function also
    /// `listen`s on: a server socket set up by hand (`SO_REUSEPORT`, a
    /// backlog), later handed to `TcpListener::from_std`.
    fn is_socket2_listener(&self, e: &Expr) -> bool {
        let Expr::Path(p) = e else { return false };
        let Some(id) = p.path.get_ident() else {
            return false;
        };
        let Some(b) = self.scope.lookup(&id.to_string(), id.span().byte_start()) else {
            return false;
        };
        b.init
            .is_some_and(|init| makes_socket2(&self.cx.uses, init))
            && self
                .listened
                .get_or_init(|| listened_sockets(self.scope, self.body))
                .contains(&b.at)
    }

    /// The port of `SocketAddr::new(ip, port)` (also `SocketAddrV4`/`V6`),
    /// written inline or in the `let` the bind names, whatever the host.
    fn port_beside_unknown_host(&self, e: &Expr, depth: u32) -> Option<u16> {
        match e {
            Expr::Reference(r) => self.port_beside_unknown_host(&r.expr, depth),
            Expr::Paren(p) => self.port_beside_unknown_host(&p.expr, depth),
            // `&addr.into()` of a socket2 bind.
            Expr::MethodCall(m) if m.method == "into" && m.args.is_empty() => {
                self.port_beside_unknown_host(&m.receiver, depth)
            }
            Expr::Call(c) if c.args.len() >= 2 => {
                let Expr::Path(fp) = &*c.func else {
                    return None;
                };
                let segs = self.cx.uses.resolve_shared(&fp.path);
                let socket_addr = ["SocketAddr", "SocketAddrV4", "SocketAddrV6"]
                    .iter()
                    .any(|t| ends_with(&segs, &[t, "new"]));
                if !socket_addr {
                    return None;
                }
                let port = self.ev.eval(&c.args[1]);
                let (port, _) = port.or_env_default();
                port.as_int().and_then(|p| u16::try_from(p).ok())
            }
            Expr::Path(p) if depth < 4 => {
                let id = p.path.get_ident()?;
                let b = self.scope.lookup(&id.to_string(), id.span().byte_start())?;
                self.port_beside_unknown_host(b.init?, depth + 1)
            }
            _ => None,
        }
    }

    /// The call a method chain starts from, through `let` bindings:
    /// `let s = HttpServer::new(..); s.workers(4).bind(a)` → `HttpServer::new`.
    ///
    /// `seen_at` is where the names of `e` are looked up: `None` for the
    /// expression as written, a binding's own position once inside its
    /// initialiser, so that `let s = s.workers(4)` follows the earlier `s`.
    fn chain_root(&self, mut e: &Expr, seen_at: Option<usize>, depth: u32) -> Option<Vec<String>> {
        loop {
            match e {
                Expr::MethodCall(m) => e = &m.receiver,
                Expr::Await(a) => e = &a.base,
                Expr::Try(t) => e = &t.expr,
                Expr::Paren(p) => e = &p.expr,
                Expr::Call(c) => {
                    return match &*c.func {
                        Expr::Path(p) => Some(self.cx.uses.resolve(&p.path)),
                        _ => None,
                    }
                }
                Expr::Path(p) if depth < 4 => {
                    let id = p.path.get_ident()?;
                    let use_at = id.span().byte_start();
                    let at = seen_at.map_or(use_at, |s| s.min(use_at));
                    let b = self.scope.lookup(&id.to_string(), at)?;
                    return self.chain_root(b.init?, Some(b.at), depth + 1);
                }
                // `match addr { V4(_) => TcpSocket::new_v4(), V6(_) =>
                // TcpSocket::new_v6() }` (also an `if`/`else`): the arms
                // that yield a value must start from one type's
                // constructors; arms that leave (`return`, `bail!`,
                // `unreachable!()`) yield none.
                Expr::Match(_) | Expr::If(_) | Expr::Block(_) if depth < 4 => {
                    let mut tails = Vec::new();
                    if !arm_values(e, &mut tails, 0) {
                        return None;
                    }
                    let mut roots = Vec::new();
                    for t in tails {
                        roots.push(self.chain_root(t, seen_at, depth + 1)?);
                    }
                    let first = roots.first()?;
                    let same_type = |r: &Vec<String>| {
                        r.len() == first.len()
                            && r.len() >= 2
                            && r[..r.len() - 1] == first[..first.len() - 1]
                    };
                    return roots.iter().all(same_type).then(|| first.clone());
                }
                _ => return None,
            }
        }
    }

    fn check_call(&mut self, c: &syn::ExprCall) {
        let Expr::Path(fp) = &*c.func else { return };
        let segs = self.cx.uses.resolve_shared(&fp.path);
        let Some(first_arg) = c.args.first() else {
            return;
        };
        let framework = if ends_with(&segs, &["TcpListener", "bind"]) {
            match segs.first().map(String::as_str) {
                Some("std") => "std",
                Some("async_std") => "async-std",
                Some("poem") => "poem",
                _ => "tokio",
            }
        } else if ends_with(&segs, &["Server", "bind"]) || ends_with(&segs, &["Server", "try_bind"])
        {
            if mentions(&segs, "hyper") {
                "hyper"
            } else if mentions(&segs, "axum") {
                "axum"
            } else {
                return;
            }
        } else if ends_with(&segs, &["axum_server", "bind"])
            || ends_with(&segs, &["axum_server", "bind_rustls"])
        {
            "axum-server"
        } else if ends_with(&segs, &["TcpListener", "new"]) && mentions(&segs, "salvo") {
            "salvo"
        } else {
            return;
        };
        let addr = self.ev.eval(first_arg);
        let port = self.port_beside_unknown_host(first_arg, 0);
        self.record(self.cx.call_range(c), framework, addr, port);
    }

    fn check_method(&mut self, m: &syn::ExprMethodCall) {
        let method = m.method.to_string();
        let Some(first_arg) = m.args.first() else {
            return;
        };
        let framework = match method.as_str() {
            "bind"
            | "bind_auto_h2c"
            | "bind_rustls"
            | "bind_rustls_021"
            | "bind_rustls_0_22"
            | "bind_rustls_0_23"
            | "bind_openssl"
            | "bind_uds"
            | "try_bind"
            | "bind_ephemeral"
            | "bind_with_graceful_shutdown"
            | "try_bind_with_graceful_shutdown"
            | "run" => {
                if method == "bind" && self.is_socket2_listener(&m.receiver) {
                    let addr = self.ev.eval(first_arg);
                    let port = self.port_beside_unknown_host(first_arg, 0);
                    self.record(self.cx.method_range(m), "socket2", addr, port);
                    return;
                }
                let Some(root) = self.chain_root(&m.receiver, None, 0) else {
                    return;
                };
                if ends_with(&root, &["HttpServer", "new"])
                    && method.starts_with("bind")
                    && method != "bind_uds"
                {
                    "actix-web"
                } else if ends_with(&root, &["warp", "serve"])
                    || (ends_with(&root, &["serve"]) && mentions(&root, "warp"))
                {
                    "warp"
                } else if ends_with(&root, &["TcpSocket", "new_v4"])
                    || ends_with(&root, &["TcpSocket", "new_v6"])
                {
                    // A socket that is then `connect`ed is a client that
                    // picks its source address, not a server.
                    if method != "bind" || self.is_dialled(&m.receiver) {
                        return;
                    }
                    "tokio"
                } else {
                    return;
                }
            }
            // A pingora service's listeners (`proxy.add_tcp("0.0.0.0:6188")`,
            // `add_tls(addr, cert, key)`); the `Server` that runs them
            // drains on SIGTERM by itself.
            "add_tcp" | "add_tls" | "add_tls_with_settings" => {
                if !self.is_pingora_service(&m.receiver) {
                    return;
                }
                "pingora"
            }
            "serve" | "serve_with_shutdown" => {
                let Some(root) = self.chain_root(&m.receiver, None, 0) else {
                    return;
                };
                let tonic = ends_with(&root, &["Server", "builder"])
                    && (mentions(&root, "tonic")
                        || mentions(&root, "transport")
                        || self.cx.uses.imports_from("tonic"));
                if !tonic {
                    return;
                }
                "tonic"
            }
            _ => return,
        };
        let addr = self.ev.eval(first_arg);
        let port = self.port_beside_unknown_host(first_arg, 0);
        self.record(self.cx.method_range(m), framework, addr, port);
    }

    /// `rocket::Config { address: .., port: .., ..}`.
    fn check_struct(&mut self, s: &syn::ExprStruct) {
        let segs = self.cx.uses.resolve_shared(&s.path);
        if !(ends_with(&segs, &["Config"]) && mentions(&segs, "rocket")) {
            return;
        }
        let field = |name: &str| {
            s.fields.iter().find_map(|f| match &f.member {
                syn::Member::Named(id) if id == name => Some(self.ev.eval(&f.expr)),
                _ => None,
            })
        };
        let Some(address) = field("address") else {
            return;
        };
        let port = field("port").unwrap_or(Value::Unknown);
        let (v, from_env) = address.or_env_default();
        let Some(Value::Ip(host)) = super::eval::to_ip(v) else {
            return;
        };
        self.out.push(ServerBind {
            range: self.cx.node_range(s),
            framework: "rocket",
            host: Some(host),
            port: port.as_int().and_then(|p| u16::try_from(p).ok()),
            from_env,
            addr_read: false,
        });
    }
}

impl<'e> Visit<'e> for BindVisitor<'e, '_> {
    fn visit_expr_call(&mut self, c: &'e syn::ExprCall) {
        self.check_call(c);
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'e syn::ExprMethodCall) {
        self.check_method(m);
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_struct(&mut self, s: &'e syn::ExprStruct) {
        self.check_struct(s);
        syn::visit::visit_expr_struct(self, s);
    }
    fn visit_macro(&mut self, mac: &'e syn::Macro) {
        let cx = self.cx;
        for e in cx.macros.exprs(mac) {
            self.visit_expr(e);
        }
    }
    // Nested fn items are visited as functions of their own.
    fn visit_item(&mut self, _: &'e syn::Item) {}
}
