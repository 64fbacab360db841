//! Retry loops: a `loop`/`while`/`for` that makes a network call, exits when
//! the call succeeds and goes round again when it fails. Read the way a
//! reviewer reads it: how many times the call really runs (the loop is
//! simulated with every attempt failing), how long each attempt may take,
//! how long it waits between attempts, and what failures it retries.
//!
//! Shared by `retry-loop` (which reports them) and `timeout-wrapper` (which
//! stays silent on a deadline inside one: that is the loop's per-try timeout).

use crate::analysis::mentions::pat_names;
use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use std::ops::Range;

use mesh_audit_model::TextRange;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Pat};

use super::eval::{Evaluator, Source, Value};
use super::net::{Destination, NetCall, NetScan, NetSummary, Protocol};
use super::paths::ends_with;
use super::scope::{FnItem, FnScope};
use super::FileCtx;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryLoop {
    /// The `loop`/`while`/`for` keyword.
    pub range: TextRange,
    /// Bytes of the whole loop expression.
    pub bytes: Range<usize>,
    /// Re-tries after the first try (Istio's `attempts`); `None` if unbounded
    /// or not readable.
    pub retries: Option<u32>,
    pub bounded: bool,
    /// Nanoseconds.
    pub per_try_timeout: Option<u128>,
    pub backoff: Option<u128>,
    /// Istio `retryOn` tokens the code's conditions map to.
    pub retry_on: Vec<String>,
    pub protocol: Protocol,
    pub dest: Destination,
    /// A reconnect loop of a long-lived consumer (only with `include_reconnect`).
    pub reconnect: bool,
    /// Values that are configuration defaults (`retries`, `backoff`,
    /// `per_try_timeout`), with where the default is written.
    pub sources: Vec<(&'static str, Source)>,
    /// For a call of the crate's own retry helper: the name it is called
    /// by and its path in the workspace (`toolkit::backoff::retry`).
    pub via: Option<(String, String)>,
}

/// Simulated iterations before a loop is called unbounded.
const MAX_SIMULATED_TRIES: u32 = 1000;

pub fn retry_loops(cx: &FileCtx<'_>) -> Vec<RetryLoop> {
    let mut out = Vec::new();
    let fns = cx.functions();
    let long_lived = LongLived::new(fns);
    for f in fns {
        let mut loops = Vec::new();
        LoopCollector {
            cx,
            loops: &mut loops,
            invocation: None,
        }
        .visit_block(f.body);
        if loops.is_empty() {
            continue;
        }
        // Read only when a loop turns out to be a bounded retry.
        let after_loops = std::cell::OnceCell::new();
        let mut scope = FnScope::new(Some(f.sig), f.body);
        if cx.macros.has_expansions() {
            scope = scope.with_macro_lets(cx.macros, f.body);
        }
        let scan = NetScan::new(cx, &scope, f.self_ty.as_deref());
        // A generic helper (`with_retry(f)`) calls what its callers pass in.
        let module = [cx.module.as_slice(), f.module.as_slice()].concat();
        // A helper that hands its operation the client to call
        // (`op(self.client.clone(), request)`): the operation calls it,
        // whatever its callers' closures look like.
        let handed = hands_client(&scan, f);
        let passed_in = cx
            .index
            .closure_net(&module, &f.name)
            .or(handed.as_ref())
            .map(|n| {
                // Its predicates and callbacks are not the operation.
                let told = predicate_params(f.sig);
                let keep = |names: Vec<String>| -> Vec<String> {
                    names.into_iter().filter(|c| !told.contains(c)).collect()
                };
                (n, keep(fn_params(f.sig)), keep(callable_params(f.sig)))
            });
        // A reqwest-middleware `Middleware::handle` re-sends the request
        // through the rest of the client's stack with `next.run(..)`.
        let next = middleware_next(cx, f);
        // A count passed in: what this file's callers pass, where they
        // agree; read only when a loop needs it (it walks the file).
        let params = ParamValues {
            cx,
            fname: &f.name,
            sig: f.sig,
            values: std::cell::OnceCell::new(),
        };
        // A loop that re-runs long-lived work when it ends or fails is a
        // supervisor; the loops inside it (rebuilding what it restarts)
        // are part of the restart.
        let supervisors: Vec<Range<usize>> = loops
            .iter()
            .filter(|(l, _)| {
                let head = match l {
                    LoopRef::While(w) => Some(&*w.cond),
                    _ => None,
                };
                head.is_some_and(|h| {
                    long_lived.calls_long_lived(cx, f, &scope, &ExprOrBlock::Expr(h))
                }) || long_lived.calls_long_lived(cx, f, &scope, &ExprOrBlock::Block(l.body()))
            })
            .map(|(l, _)| l.bytes())
            .collect();
        for (l, invocation) in loops {
            let bytes = l.bytes();
            let restarts = supervisors
                .iter()
                .any(|s| s.start <= bytes.start && bytes.end <= s.end);
            if restarts && !cx.include_reconnect {
                continue;
            }
            if let Some(mut r) = analyse(&scan, l, passed_in.as_ref(), next.as_deref(), &params) {
                if invocation.is_none() && reruns_procedure(cx, fns, f, &scope, &l) {
                    continue;
                }
                // `for _ in 0..3 { match fetch().await { Ok(v) => return Ok(v),
                // Err(_) => sleep(d).await } } fetch().await`: the statement
                // after the loop makes the same call once more, when every
                // try in the loop failed.
                if let Some(n) = r.retries {
                    let after = after_loops.get_or_init(|| statements_after_loops(f.body));
                    if last_try_after(after, &l).is_some_and(|s| tries_again(&scan, l.body(), s)) {
                        r.retries = Some(n + 1);
                    }
                }
                if restarts {
                    r.reconnect = true;
                }
                // A loop in the body of the crate's own macro is reported
                // where the macro is invoked with the call.
                if let Some(at) = invocation {
                    r.range = at;
                }
                out.push(r);
            }
        }
    }
    // An outer loop that only contains a retry loop is not itself one.
    let all = out.clone();
    out.retain(|r| {
        !all.iter().any(|inner| {
            inner.bytes != r.bytes
                && r.bytes.start <= inner.bytes.start
                && inner.bytes.end <= r.bytes.end
        })
    });
    out.sort_by_key(|r| r.bytes.start);
    out
}

/// Each loop that is a statement of a block, by the byte it starts at,
/// with the statement that follows it there.
fn statements_after_loops(body: &syn::Block) -> Vec<(usize, &syn::Stmt)> {
    struct V<'a> {
        out: Vec<(usize, &'a syn::Stmt)>,
    }
    impl<'a> Visit<'a> for V<'a> {
        fn visit_block(&mut self, b: &'a syn::Block) {
            for pair in b.stmts.windows(2) {
                let start = match &pair[0] {
                    syn::Stmt::Expr(Expr::ForLoop(l), _) => Some(l.for_token.span.byte_start()),
                    syn::Stmt::Expr(Expr::Loop(l), _) => Some(l.loop_token.span.byte_start()),
                    syn::Stmt::Expr(Expr::While(l), _) => Some(l.while_token.span.byte_start()),
                    _ => None,
                };
                if let Some(start) = start {
                    self.out.push((start, &pair[1]));
                }
            }
            syn::visit::visit_block(self, b);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V { out: Vec::new() };
    v.visit_block(body);
    v.out
}

/// The statement right after loop `l`, when `l` is a statement.
fn last_try_after<'a>(after: &[(usize, &'a syn::Stmt)], l: &LoopRef<'_>) -> Option<&'a syn::Stmt> {
    let start = l.bytes().start;
    after.iter().find(|(at, _)| *at == start).map(|(_, s)| *s)
}

/// Whether `after` calls, once more, one of the crate's own functions or
/// methods that the loop's body calls for the network, to the same place:
/// the last try outside the loop. A library call (`client.get(url)`) is
/// not enough: after a wait-until-ready loop, the next request to the same
/// host is the real work, not another try.
fn tries_again(scan: &NetScan<'_, '_>, body: &syn::Block, after: &syn::Stmt) -> bool {
    let after_calls = match after {
        syn::Stmt::Expr(e, _) => scan.calls_in_expr(e),
        syn::Stmt::Local(syn::Local {
            init: Some(init), ..
        }) => scan.calls_in_expr(&init.expr),
        _ => return false,
    };
    if !after_calls.iter().any(|a| a.client.ends_with("()")) {
        return false;
    }
    let in_loop = scan.calls_in_block(body);
    after_calls.iter().any(|a| {
        a.client.ends_with("()")
            && in_loop
                .iter()
                .any(|c| c.client == a.client && c.protocol == a.protocol && c.dest == a.dest)
    })
}

#[derive(Clone, Copy)]
enum LoopRef<'a> {
    Loop(&'a syn::ExprLoop),
    While(&'a syn::ExprWhile),
    For(&'a syn::ExprForLoop),
}

impl<'a> LoopRef<'a> {
    fn body(&self) -> &'a syn::Block {
        match self {
            LoopRef::Loop(l) => &l.body,
            LoopRef::While(l) => &l.body,
            LoopRef::For(l) => &l.body,
        }
    }
    fn keyword(&self) -> proc_macro2::Span {
        match self {
            LoopRef::Loop(l) => l.loop_token.span,
            LoopRef::While(l) => l.while_token.span,
            LoopRef::For(l) => l.for_token.span,
        }
    }
    fn bytes(&self) -> Range<usize> {
        let start = match self {
            LoopRef::Loop(l) => l.loop_token.span.byte_start(),
            LoopRef::While(l) => l.while_token.span.byte_start(),
            LoopRef::For(l) => l.for_token.span.byte_start(),
        };
        start..self.body().brace_token.span.close().byte_end()
    }
}

struct LoopCollector<'c, 'e, 'a> {
    cx: &'e FileCtx<'a>,
    /// Each loop, with the invocation of the crate's own macro it was
    /// expanded from.
    loops: &'c mut Vec<(LoopRef<'e>, Option<TextRange>)>,
    invocation: Option<TextRange>,
}

impl<'e> Visit<'e> for LoopCollector<'_, 'e, '_> {
    fn visit_expr_loop(&mut self, l: &'e syn::ExprLoop) {
        self.loops.push((LoopRef::Loop(l), self.invocation));
        syn::visit::visit_expr_loop(self, l);
    }
    fn visit_expr_while(&mut self, l: &'e syn::ExprWhile) {
        self.loops.push((LoopRef::While(l), self.invocation));
        syn::visit::visit_expr_while(self, l);
    }
    fn visit_expr_for_loop(&mut self, l: &'e syn::ExprForLoop) {
        self.loops.push((LoopRef::For(l), self.invocation));
        syn::visit::visit_expr_for_loop(self, l);
    }
    fn visit_macro(&mut self, mac: &'e syn::Macro) {
        let cx = self.cx;
        let outer = self.invocation;
        if cx.macros.is_expansion(mac) && outer.is_none() {
            let start = mac
                .path
                .segments
                .first()
                .map(|s| s.ident.span().byte_start())
                .unwrap_or(0);
            let end = mac.delimiter.span().close().byte_end();
            self.invocation = Some(cx.lines.range(start..end.max(start)));
        }
        for s in cx.macros.stmts(mac) {
            self.visit_stmt(s);
        }
        if cx.macros.stmts(mac).is_empty() {
            for e in cx.macros.exprs(mac) {
                self.visit_expr(e);
            }
        }
        self.invocation = outer;
    }
    fn visit_item(&mut self, _: &'e syn::Item) {}
}

fn analyse(
    scan: &NetScan<'_, '_>,
    l: LoopRef<'_>,
    passed_in: Option<&(&NetSummary, Vec<String>, Vec<String>)>,
    next: Option<&str>,
    params: &ParamValues<'_, '_>,
) -> Option<RetryLoop> {
    let cx = scan.cx;
    let body = l.body();
    let mut calls = scan.calls_in_block(body);
    if let Some(next) = next {
        calls.extend(next_runs(cx, body, next).into_iter().map(|range| NetCall {
            protocol: Protocol::Http,
            client: "reqwest-middleware".into(),
            range,
            dest: Destination::default(),
            request_timeout: None,
            waits: false,
            probe: false,
        }));
        calls.sort_by_key(|c| c.range.byte_start);
    }
    if let Some((net, params, callables)) = passed_in {
        calls.extend(
            param_calls(cx, body, params, callables)
                .into_iter()
                .map(|range| NetCall {
                    protocol: net.protocol,
                    client: "closure".into(),
                    range,
                    dest: net.dest.clone(),
                    request_timeout: None,
                    waits: false,
                    probe: false,
                }),
        );
        calls.sort_by_key(|c| c.range.byte_start);
    }
    let mut shape = BodyShape::of(body);
    if shape.continue_before_exit && !shape.continues_on_failure {
        let protocol = calls
            .iter()
            .find(|c| c.protocol.is_l7())
            .map(|c| c.protocol);
        shape.continues_on_failure = protocol.is_some_and(|p| !retry_on(body, p).is_empty());
    }
    // `while let Err(e) = call().await { .. }`: goes round while the call
    // fails, leaves when it succeeds.
    // A loop whose repeated step is the user's answer is a prompt.
    if reads_user_input(cx, body) {
        return None;
    }
    let mut policy_iterator = false;
    // `while let Err(e) = call()`: the whole body runs after a failure.
    let mut body_is_failure_path = false;
    if let LoopRef::While(w) = l {
        if let Expr::Let(lt) = &*w.cond {
            // `while let Err(p) = run().catch_unwind().await`: a supervisor
            // restarting a long-lived task, not a retry of one call.
            if calls_method(&lt.expr, "catch_unwind") {
                return None;
            }
            // `while let Some(x) = it.next()`: a walk over a collection
            // (failover across mirrors) unless the item is the wait of a
            // retry policy (`while let Some(delay) = backoff.next()`).
            if let Some(item) = next_item(lt) {
                let waits_on_item = sleep_args(cx, body)
                    .iter()
                    .any(|a| mentions_ident(a, &item));
                if !waits_on_item {
                    return None;
                }
                policy_iterator = true;
            }
            let head_calls = scan.calls_in_expr(&lt.expr);
            if is_failure_pat(&lt.pat)
                && !matches!(&*lt.pat, Pat::Wild(_) | Pat::Ident(_))
                && head_calls.iter().any(|c| c.protocol.is_l7())
            {
                shape.success_exit = true;
                shape.continues_on_failure = true;
                body_is_failure_path = true;
                let mut all = head_calls;
                all.extend(calls);
                calls = all;
            }
        }
    }
    let l7: Vec<&NetCall> = calls.iter().filter(|c| c.protocol.is_l7()).collect();
    // Driven by `interval.tick()`: a periodic poll, not a retry.
    if ticks(body) {
        return None;
    }
    // Driven by a receive (`timeout(d, rx.recv())`): a watchdog or event
    // loop whose arms handle a message or a silence.
    if driven_by_receive(cx, body) {
        return None;
    }
    // A timer until a stop signal, whose every request the elapsed
    // deadline sets off.
    let timer_arms = stop_timer_arms(cx, body);
    if !timer_arms.is_empty()
        && !l7.is_empty()
        && l7.iter().all(|c| {
            timer_arms
                .iter()
                .any(|r| r.contains(&(c.range.byte_start as usize)))
        })
    {
        return None;
    }
    // Every wait in the body and its base delay, read once.
    scan.ev.take_sources();
    let waits = sleeps(scan, body);
    let has_sleep = !waits.is_empty();
    let backoff = waits.iter().flatten().next().copied();
    let mut sources: Vec<(&'static str, Source)> = Vec::new();
    if backoff.is_some() {
        if let Some(s) = scan.ev.take_sources().into_iter().next() {
            sources.push(("backoff", s));
        }
    }
    scan.ev.take_sources();

    // A `for` over anything but an integer range walks a collection
    // (items, endpoints): not a retry of one call.
    let mut tries: Option<u32> = None;
    let mut bounded = false;
    match l {
        LoopRef::For(f) => {
            let range = match &*f.expr {
                Expr::Range(r) => r,
                Expr::Paren(p) => match &*p.expr {
                    Expr::Range(r) => r,
                    _ => return None,
                },
                _ => return None,
            };
            bounded = true;
            tries = range_len(scan, range, &[]).or_else(|| range_len(scan, range, params.get()));
            // `for _ in 0..1`, `for _ in 5..3`: nothing is re-tried.
            if tries.is_some_and(|t| t <= 1) {
                return None;
            }
        }
        LoopRef::While(w) => {
            if matches!(&*w.cond, Expr::Let(_)) && !shape.success_exit {
                return None;
            }
            bounded = policy_iterator
                || counters(body).iter().any(|c| mentions_ident(&w.cond, c))
                || budgets(body).iter().any(|c| mentions_ident(&w.cond, c))
                || reads_clock(&w.cond);
        }
        LoopRef::Loop(_) => {}
    }

    // A success that goes round again (`Ok(Some(event)) => handle(event)`,
    // `Ok(resp) if resp.status().is_success() => {}`): a worker, heartbeat
    // or receive loop that never leaves on success.
    // A subscription read in the same loop (`match stream.next().await {
    // None => { self.stream = None; continue } .. }`): the call re-opens a
    // long-lived stream when it ends or fails, it does not retry a request.
    let retry_shape = shape.success_exit
        && shape.continues_on_failure
        && !shape.success_goes_round
        && (body_is_failure_path || !goes_round_on_success(body))
        && !resubscribes(body);
    if !retry_shape {
        // A consumer that reconnects forever: opt-in only.
        if cx.include_reconnect
            && !calls.is_empty()
            && has_sleep
            && shape.continues_on_failure
            && !bounded
            && matches!(l, LoopRef::Loop(_))
        {
            let first = &calls[0];
            return Some(RetryLoop {
                range: cx.range(l.keyword()),
                bytes: l.bytes(),
                retries: None,
                bounded: false,
                per_try_timeout: None,
                backoff,
                retry_on: Vec::new(),
                protocol: first.protocol,
                dest: first.dest.clone(),
                reconnect: true,
                sources,
                via: None,
            });
        }
        return None;
    }
    if l7.is_empty() {
        return None;
    }
    if let (LoopRef::For(f), None) = (l, tries) {
        // `for attempt in 0.. { match call().await { Err(e) if attempt <
        // MAX => continue, Err(e) => return Err(e), .. } }`: an open range
        // counts the attempts itself, and a test of its variable ends the
        // loop.
        if let Some(var) = open_range_counter(scan, f) {
            tries = simulate(scan, l, body, &l7, &[], Some(&var)).or_else(|| {
                let known = params.get();
                (!known.is_empty())
                    .then(|| simulate(scan, l, body, &l7, known, Some(&var)))
                    .flatten()
            });
            if tries.is_some_and(|t| t <= 1) {
                return None;
            }
        }
    }
    if !matches!(l, LoopRef::For(_)) {
        let sim = simulate(scan, l, body, &l7, &[], None).or_else(|| {
            let known = params.get();
            (!known.is_empty())
                .then(|| simulate(scan, l, body, &l7, known, None))
                .flatten()
        });
        if sim.is_some() {
            bounded = true;
        }
        tries = sim.or(tries);
        let follows_a_count = !counters(body).is_empty() || !budgets(body).is_empty();
        if !bounded && follows_a_count {
            // A counter or time budget we could not follow
            // (`waited += delay; if waited >= LIMIT { break }`): bounded,
            // count unknown.
            // `match (call().await, n < max) { (Err(e), false) => return .. }`
            // and `Err(e) if n >= max => return ..` leave on the count too.
            bounded = shape.counter_exit || !exit_checks(body, &counters(body)).is_empty();
        }
        // `if started.elapsed() > limit { return Err(..) }`, `if
        // Instant::now() >= deadline { break }`: a time budget, count
        // unknown.
        if !bounded && leaves_on_clock(body) {
            bounded = true;
        }
    }
    // A readiness wait: a loop with no attempt limit whose every request is
    // a health probe (a health URL, a gRPC health check or readiness RPC),
    // polled until the peer answers. It waits for a peer to come up and
    // re-sends no request of the service's own. (A probe re-tried a counted
    // number of times is still a retry.)
    if !bounded
        && tries.is_none()
        && !l7.is_empty()
        && l7.iter().all(|c| c.probe)
        && passed_in.is_none()
        && next.is_none()
    {
        return None;
    }
    // One more call after a 401/403 (a fresh login, a refreshed token) is a
    // session refresh, which no mesh policy replaces.
    if refreshes_session(body) && tries.is_none_or(|t| t <= 2) {
        return None;
    }
    // Going round only after a write conflict (`Err(e) if e.is_conflict()`,
    // a 409 or 412, gRPC `Aborted`) re-runs a read-modify-write against
    // fresh state: sending the same request again, as a mesh retry would,
    // conflicts again.
    if retries_only_conflicts(body) {
        return None;
    }
    let count_source = scan.ev.take_sources().into_iter().next();
    if let (Some(s), Some(_), true) = (count_source, tries, bounded) {
        sources.push(("retries", s));
    }
    let first = l7[0];
    let dest = super::net::l7_destination(&calls);
    let per_try_timeout = l7
        .iter()
        .find_map(|c| c.request_timeout.map(|t| t.0))
        .or_else(|| {
            let (t, src) = deadline_inside(scan, body)?;
            if let Some(s) = src {
                sources.push(("per_try_timeout", s));
            }
            Some(t)
        });
    Some(RetryLoop {
        range: cx.range(l.keyword()),
        bytes: l.bytes(),
        retries: if bounded {
            tries.map(|t| t.saturating_sub(1))
        } else {
            None
        },
        bounded,
        per_try_timeout,
        backoff,
        retry_on: retry_on(body, first.protocol),
        protocol: first.protocol,
        dest,
        reconnect: false,
        sources,
        via: None,
    })
}

/// The parameter values of one function, read on first use.
struct ParamValues<'c, 'a> {
    cx: &'c FileCtx<'a>,
    fname: &'c str,
    sig: &'c syn::Signature,
    values: std::cell::OnceCell<Vec<(String, i128)>>,
}

impl ParamValues<'_, '_> {
    fn get(&self) -> &[(String, i128)] {
        self.values
            .get_or_init(|| param_values(self.cx, self.fname, self.sig))
    }
}

/// Integer parameters of `fname` whose value every call in this file
/// spells out the same way (`with_tries(client, 3)` twice → `tries = 3`).
/// A parameter callers disagree on, or that no call passes, stays out.
fn param_values(cx: &FileCtx<'_>, fname: &str, sig: &syn::Signature) -> Vec<(String, i128)> {
    let names = fn_params(sig);
    if names.is_empty() {
        return Vec::new();
    }
    struct V<'c, 'a, 'n> {
        cx: &'c FileCtx<'a>,
        fname: &'n str,
        arity: usize,
        calls: Vec<Vec<Option<i128>>>,
    }
    impl V<'_, '_, '_> {
        fn args<'x>(&mut self, args: impl Iterator<Item = &'x Expr>) {
            let empty = FnScope::empty();
            let ev = Evaluator::new(self.cx, &empty);
            let vals: Vec<Option<i128>> = args.map(|a| ev.eval(a).as_int()).collect();
            if vals.len() == self.arity {
                self.calls.push(vals);
            }
        }
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        // What tests pass is not a production value: a test calling the
        // helper with another count must not hide the one callers agree on.
        fn visit_item_mod(&mut self, m: &'x syn::ItemMod) {
            if !crate::analysis::testcode::is_test_item(&m.attrs) {
                syn::visit::visit_item_mod(self, m);
            }
        }
        fn visit_item_fn(&mut self, f: &'x syn::ItemFn) {
            if !crate::analysis::testcode::is_test_item(&f.attrs) {
                syn::visit::visit_item_fn(self, f);
            }
        }
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                if p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == self.fname)
                {
                    self.args(c.args.iter());
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.method == self.fname {
                self.args(m.args.iter());
            }
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut v = V {
        cx,
        fname,
        arity: names.len(),
        calls: Vec::new(),
    };
    v.visit_file(cx.file);
    let mut out = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let mut seen = v.calls.iter().map(|c| c[i]);
        if let Some(Some(first)) = seen.next() {
            if seen.all(|x| x == Some(first)) {
                out.push((name, first));
            }
        }
    }
    out
}

/// Names of a function's parameters.
pub(crate) fn fn_params(sig: &syn::Signature) -> Vec<String> {
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(pi) => Some(pi.ident.to_string()),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// What a helper's callable parameter is handed to call: a call of it with
/// an HTTP client or gRPC client among its arguments (`f(self.client.clone(),
/// request)` under `F: Fn(LedgerClient<Channel>, Request<R>) -> Fut`). The
/// operation's job is to use that client. Predicates and callbacks
/// (`should_retry(&err)`) are not the operation.
fn hands_client(scan: &NetScan<'_, '_>, f: &FnItem<'_>) -> Option<NetSummary> {
    let told = predicate_params(f.sig);
    let callables: Vec<String> = callable_params(f.sig)
        .into_iter()
        .filter(|c| !told.contains(c))
        .collect();
    if callables.is_empty() {
        return None;
    }
    struct V<'s, 'e, 'a> {
        scan: &'s NetScan<'e, 'a>,
        callables: &'s [String],
        found: Option<NetSummary>,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            let mut func = &*c.func;
            while let Expr::Paren(p) = func {
                func = &p.expr;
            }
            let of_param = matches!(func, Expr::Path(p)
                if p.path.get_ident().is_some_and(|id| self.callables.iter().any(|n| id == n)));
            if of_param && self.found.is_none() {
                self.found = c.args.iter().find_map(|a| match self.scan.kind_of(a, 0) {
                    super::net::Kind::HttpClient(_) => Some(NetSummary {
                        protocol: Protocol::Http,
                        dest: Destination::default(),
                        probe: false,
                    }),
                    super::net::Kind::Grpc { url } => Some(NetSummary {
                        protocol: Protocol::Grpc,
                        dest: Destination::from_value(&url),
                        probe: false,
                    }),
                    _ => None,
                });
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        scan,
        callables: &callables,
        found: None,
    };
    v.visit_block(f.body);
    v.found
}

/// Calls of a parameter (`f()`, `(op)()`) in the body, and calls that hand
/// a callable parameter on (`self.attempt(&f)`).
fn param_calls(
    cx: &FileCtx<'_>,
    body: &syn::Block,
    params: &[String],
    callables: &[String],
) -> Vec<TextRange> {
    struct V<'c, 'a, 'p> {
        cx: &'c FileCtx<'a>,
        params: &'p [String],
        callables: &'p [String],
        out: Vec<TextRange>,
    }
    impl V<'_, '_, '_> {
        /// `f` or `&f`, a parameter passed on.
        fn is_param(&self, e: &Expr) -> bool {
            let mut e = e;
            while let Expr::Reference(r) = e {
                e = &r.expr;
            }
            matches!(e, Expr::Path(p) if p.path.get_ident().is_some_and(|id| self.callables.iter().any(|n| id == n)))
        }
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            let mut f = &*c.func;
            while let Expr::Paren(p) = f {
                f = &p.expr;
            }
            if let Expr::Path(p) = f {
                if p.path
                    .get_ident()
                    .is_some_and(|id| self.params.iter().any(|n| id == n))
                {
                    self.out.push(self.cx.call_range(c));
                } else if c.args.iter().any(|a| self.is_param(a)) {
                    // `attempt(&f)`: the operation is handed to a helper
                    // that runs it.
                    self.out.push(self.cx.call_range(c));
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            // `self.make_request(uri, &f)`
            if m.args.iter().any(|a| self.is_param(a)) {
                self.out.push(self.cx.method_range(m));
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        params,
        callables,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

/// The `Next` parameter of a reqwest-middleware `Middleware::handle`
/// (`impl Middleware for RetryOnError { async fn handle(&self, req,
/// ext, next: Next<'_>) .. }`): calling `next.run(req, ext)` sends the
/// request on to the server, so a loop around it is an HTTP retry.
fn middleware_next(cx: &FileCtx<'_>, f: &FnItem<'_>) -> Option<String> {
    if f.name != "handle"
        || f.trait_name.as_deref() != Some("Middleware")
        || !cx.uses.imports_from("reqwest_middleware")
    {
        return None;
    }
    f.sig.inputs.iter().find_map(|arg| {
        let syn::FnArg::Typed(pt) = arg else {
            return None;
        };
        let Pat::Ident(id) = &*pt.pat else {
            return None;
        };
        (super::scope::type_name(&pt.ty).as_deref() == Some("Next")).then(|| id.ident.to_string())
    })
}

/// `next.run(..)` and `next.clone().run(..)` calls in a body.
fn next_runs(cx: &FileCtx<'_>, body: &syn::Block, next: &str) -> Vec<TextRange> {
    struct V<'c, 'a, 'n> {
        cx: &'c FileCtx<'a>,
        next: &'n str,
        out: Vec<TextRange>,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.method == "run" {
                let mut recv = &*m.receiver;
                while let Expr::MethodCall(inner) = recv {
                    if inner.method != "clone" {
                        break;
                    }
                    recv = &inner.receiver;
                }
                if matches!(recv, Expr::Path(p) if p.path.is_ident(self.next)) {
                    self.out.push(self.cx.method_range(m));
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        next,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

/// Callable parameters that answer a question (`Fn(&E) -> bool`) or are
/// told something (`FnMut(Progress)`, returning nothing): a retry
/// helper's predicate or callback, not the operation it re-runs.
fn predicate_params(sig: &syn::Signature) -> Vec<String> {
    callables_returning(sig, |output, _| match output {
        syn::ReturnType::Type(_, ty) => super::scope::type_name(ty).as_deref() == Some("bool"),
        syn::ReturnType::Default => true,
    })
}

/// Callable parameters that return a plain value of a named type
/// (`FnMut(&E) -> Decision`, `FnMut(Duration) -> Duration`): a helper's
/// classifier or delay shaper. An operation returns a future, a `Result`
/// or an `Option`, or a type parameter of the helper (`-> Fut`).
fn value_params(sig: &syn::Signature) -> Vec<String> {
    callables_returning(sig, |output, generics| {
        let syn::ReturnType::Type(_, ty) = output else {
            return false;
        };
        let syn::Type::Path(p) = &**ty else {
            return false;
        };
        let Some(last) = p.path.segments.last() else {
            return false;
        };
        let name = last.ident.to_string();
        let generic = p.path.segments.len() == 1 && generics.contains(&name);
        !generic
            && !name.ends_with("Future")
            && !name.ends_with("Result")
            && !matches!(name.as_str(), "Option" | "Pin" | "Box" | "Poll")
    })
}

/// Callable parameters whose `Fn..(..) -> T` bound's output `is` says so
/// (`is` also gets the names of the signature's type parameters).
fn callables_returning(
    sig: &syn::Signature,
    is: impl Fn(&syn::ReturnType, &[String]) -> bool,
) -> Vec<String> {
    let type_params: Vec<String> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            syn::GenericParam::Type(t) => Some(t.ident.to_string()),
            _ => None,
        })
        .collect();
    let matches = |b: &syn::TypeParamBound| -> bool {
        let syn::TypeParamBound::Trait(t) = b else {
            return false;
        };
        t.path.segments.last().is_some_and(|s| {
            matches!(&s.arguments, syn::PathArguments::Parenthesized(a) if is(&a.output, &type_params))
        })
    };
    let mut generic: Vec<String> = Vec::new();
    for p in &sig.generics.params {
        if let syn::GenericParam::Type(t) = p {
            if t.bounds.iter().any(matches) {
                generic.push(t.ident.to_string());
            }
        }
    }
    if let Some(w) = &sig.generics.where_clause {
        for pred in &w.predicates {
            if let syn::WherePredicate::Type(pt) = pred {
                if let (Some(name), true) = (
                    super::scope::type_name(&pt.bounded_ty),
                    pt.bounds.iter().any(matches),
                ) {
                    generic.push(name);
                }
            }
        }
    }
    fn named(
        ty: &syn::Type,
        generic: &[String],
        matches: &dyn Fn(&syn::TypeParamBound) -> bool,
    ) -> bool {
        match ty {
            syn::Type::Reference(r) => named(&r.elem, generic, matches),
            syn::Type::Paren(p) => named(&p.elem, generic, matches),
            syn::Type::ImplTrait(i) => i.bounds.iter().any(matches),
            syn::Type::TraitObject(o) => o.bounds.iter().any(matches),
            syn::Type::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| generic.iter().any(|g| id == g)),
            _ => false,
        }
    }
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => match (&*pt.pat, named(&pt.ty, &generic, &matches)) {
                (Pat::Ident(pi), true) => Some(pi.ident.to_string()),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// Parameters that hold a closure or function: typed `impl Fn..`,
/// `&dyn Fn..`, or a generic bound by `Fn`/`FnMut`/`FnOnce`.
pub(crate) fn callable_params(sig: &syn::Signature) -> Vec<String> {
    fn is_fn_bound(b: &syn::TypeParamBound) -> bool {
        matches!(b, syn::TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| {
            ident_in(&s.ident, &["Fn", "FnMut", "FnOnce", "AsyncFn", "AsyncFnMut", "AsyncFnOnce"])
        }))
    }
    let mut generic_fns: Vec<String> = Vec::new();
    for p in &sig.generics.params {
        if let syn::GenericParam::Type(t) = p {
            if t.bounds.iter().any(is_fn_bound) {
                generic_fns.push(t.ident.to_string());
            }
        }
    }
    if let Some(w) = &sig.generics.where_clause {
        for pred in &w.predicates {
            if let syn::WherePredicate::Type(pt) = pred {
                if let (Some(name), true) = (
                    super::scope::type_name(&pt.bounded_ty),
                    pt.bounds.iter().any(is_fn_bound),
                ) {
                    generic_fns.push(name);
                }
            }
        }
    }
    fn callable(ty: &syn::Type, generic_fns: &[String]) -> bool {
        match ty {
            syn::Type::Reference(r) => callable(&r.elem, generic_fns),
            syn::Type::Paren(p) => callable(&p.elem, generic_fns),
            syn::Type::ImplTrait(i) => i.bounds.iter().any(is_fn_bound),
            syn::Type::TraitObject(o) => o.bounds.iter().any(is_fn_bound),
            syn::Type::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| generic_fns.iter().any(|g| id == g)),
            _ => false,
        }
    }
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) if callable(&pt.ty, &generic_fns) => match &*pt.pat {
                Pat::Ident(pi) => Some(pi.ident.to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// `a..b` / `a..=b` with readable integer bounds: how many iterations.
fn range_len(scan: &NetScan<'_, '_>, r: &syn::ExprRange, params: &[(String, i128)]) -> Option<u32> {
    let start = match &r.start {
        Some(s) => eval_int(scan, s, params)?,
        None => 0,
    };
    let end = eval_int(scan, r.end.as_ref()?, params)?;
    let len = match r.limits {
        syn::RangeLimits::HalfOpen(_) => end.saturating_sub(start),
        syn::RangeLimits::Closed(_) => end.saturating_sub(start).saturating_add(1),
    };
    u32::try_from(len.max(0)).ok()
}

/// What the body does on success and on failure.
#[derive(Default, Debug)]
struct BodyShape {
    /// Leaves the loop when the call succeeded (`Ok(v) => return Ok(v)`,
    /// `if let Ok(..) = .. { break }`, `if resp.status().is_success() { return }`).
    success_exit: bool,
    /// Some failure path goes round again (an `Err` arm that does not
    /// always leave, or an implicit fall-through after a success check).
    continues_on_failure: bool,
    /// Some exit is guarded by a counter comparison.
    counter_exit: bool,
    /// A success arm that neither leaves nor tests the response for a
    /// failure: the loop goes round on success.
    success_goes_round: bool,
    /// A failure arm that ends by leaving goes round first on some
    /// failures (`Err(e) => { if cond { sleep; continue } return Err(e) }`).
    /// A retry only when the body tests a transient failure (`retry_on`):
    /// `if self.knows_leader(&status) { continue }` follows a redirect.
    continue_before_exit: bool,
}

impl BodyShape {
    fn of(body: &syn::Block) -> BodyShape {
        let mut v = ShapeVisitor {
            shape: BodyShape::default(),
            failed: Vec::new(),
            value_match: false,
            leaves_after: Vec::new(),
            success_lets: Vec::new(),
            leaves_later: 0,
        };
        v.visit_block(body);
        v.shape
    }
}

struct ShapeVisitor {
    shape: BodyShape,
    /// Names that hold a call's failed outcome: the catch-all binding of an
    /// arm after `Ok(r) if r.status().is_success() => return ..` (`other =>
    /// { match other { Ok(r) => log(r.status()), Err(e) => log(e) } }`).
    /// A `match` on one of them only tells the failures apart.
    failed: Vec<String>,
    /// The next `match` visited is a `let`'s value whose arms neither
    /// leave nor go round (`let r = match fut.await { Ok(v) => Some(v),
    /// Err(_) => None };`): a conversion, not a decision.
    value_match: bool,
    /// Positions of `match`es a `let` binds whose statement is followed,
    /// in the same block, by one that leaves the loop (`let r = match
    /// call().await { Ok(r) => r, Err(e) => { sleep; continue } }; return
    /// Ok(r);`): a success arm that yields a value leaves the loop.
    leaves_after: Vec<usize>,
    /// Names a `let` binds to a success test of the outcome (`let done =
    /// matches!(result, Ok(_) | Err(NotFound));`), which a later `if`
    /// reads (`if done || tries >= 3 { break result; }`).
    success_lets: Vec<String>,
    /// How many enclosing statements are followed in their block by one
    /// that always leaves the loop (`Ok(()) => { match fs::remove(p) {
    /// Ok(()) => {}, Err(e) => log(e) }; return; }`): a `match` there
    /// goes round only through a `continue` of its own. Its arms tell the
    /// outcomes of a later step apart, not whether the call is tried again.
    leaves_later: usize,
}

impl ShapeVisitor {
    /// A success test as written, or through a name a `let` of the loop
    /// bound to one, alone or in an `&&` / `||`.
    fn is_success_test(&self, e: &Expr) -> bool {
        is_success_cond(e) || reads_any(e, &self.success_lets)
    }
}

/// A match arm's pattern and guard (syn 3 keeps the guard in the pattern).
fn arm_parts(arm: &syn::Arm) -> (&Pat, Option<&Expr>) {
    match &arm.pat {
        Pat::Guard(g) => (&g.pat, Some(&g.guard)),
        p => (p, None),
    }
}

fn is_success_pat(p: &Pat) -> bool {
    match p {
        // `match (result, retries < max) { (Ok(v), _) => .. }`: the result decides.
        Pat::Tuple(t) => t.elems.first().is_some_and(is_success_pat),
        // `Some(Ok(v))` of a result that a deadline's `.ok()` wrapped.
        Pat::TupleStruct(ts) if ts.path.is_ident("Some") && ts.elems.len() == 1 => ts
            .elems
            .first()
            .is_some_and(|p| matches!(p, Pat::TupleStruct(_)) && is_success_pat(p)),
        Pat::TupleStruct(ts) => ts.path.segments.last().is_some_and(|s| s.ident == "Ok"),
        Pat::Ident(pi) => pi.subpat.as_ref().is_some_and(|(_, p)| is_success_pat(p)),
        Pat::Or(o) => o.cases.iter().all(is_success_pat),
        // `200 => return ..`, `StatusCode::OK => ..` in a `match` on the status.
        Pat::Lit(l) => {
            matches!(&l.lit, syn::Lit::Int(i) if i.base10_parse::<u16>().ok() == Some(200))
        }
        Pat::Path(pp) => {
            let segs = super::paths::path_segments(&pp.path);
            ends_with(&segs, &["StatusCode", "OK"]) || ends_with(&segs, &["Code", "Ok"])
        }
        _ => false,
    }
}

fn is_failure_pat(p: &Pat) -> bool {
    match p {
        Pat::Tuple(t) => t
            .elems
            .first()
            .is_some_and(|e| is_failure_pat(e) && !matches!(e, Pat::Wild(_) | Pat::Ident(_))),
        // `Some(Err(e))`
        Pat::TupleStruct(ts) if ts.path.is_ident("Some") && ts.elems.len() == 1 => ts
            .elems
            .first()
            .is_some_and(|p| matches!(p, Pat::TupleStruct(_)) && is_failure_pat(p)),
        Pat::TupleStruct(ts) => ts.path.segments.last().is_some_and(|s| s.ident == "Err"),
        // `StatusCode::SERVICE_UNAVAILABLE`, `Code::Unavailable`, `503` in a
        // `match` on the status.
        Pat::Path(pp) => {
            let segs = super::paths::path_segments(&pp.path);
            [Protocol::Http, Protocol::Grpc]
                .into_iter()
                .any(|proto| signal_of_path(&segs, proto).is_some())
        }
        Pat::Lit(l) => retriable_code(&l.lit).is_some(),
        Pat::Wild(_) => true,
        Pat::Ident(pi) => {
            pi.subpat.is_none() || pi.subpat.as_ref().is_some_and(|(_, p)| is_failure_pat(p))
        }
        Pat::Or(o) => o.cases.iter().any(is_failure_pat),
        _ => false,
    }
}

/// `x.is_ok()`, `status.is_success()`, `resp.status() == StatusCode::OK`.
fn is_success_cond(e: &Expr) -> bool {
    match e {
        Expr::MethodCall(m) => {
            ident_in(&m.method, &["is_ok", "is_success"])
                || is_success_cond(&m.receiver) && m.method == "is_some"
        }
        // A let chain that goes on to test what the success holds (`if let
        // Ok(resp) = r && let Some(t) = resp.table() && t.ready() {
        // return }`): a success of one kind, as `matches!(r, Ok(Done))`
        // is; the loop goes round after the others (a poll).
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) && tests_success_content(e) => false,
        // `ok && ..` leaves only on a success; `ok || ..` leaves on every
        // success, so what goes on past it failed.
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
            is_success_cond(&b.left) || is_success_cond(&b.right)
        }
        // `!status.is_server_error()`, `!res.is_err()`
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => match &*u.expr {
            Expr::MethodCall(m) => ident_in(&m.method, &["is_err", "is_server_error"]),
            Expr::Paren(p) => {
                matches!(&*p.expr, Expr::MethodCall(m) if ident_in(&m.method, &["is_err", "is_server_error"]))
            }
            _ => false,
        },
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Eq(_)) => {
            [&*b.left, &*b.right].iter().any(|side| {
                matches!(side, Expr::Path(p) if {
                    let segs = super::paths::path_segments(&p.path);
                    ends_with(&segs, &["StatusCode", "OK"]) || ends_with(&segs, &["Code", "Ok"])
                })
            }) || [(&*b.left, &*b.right), (&*b.right, &*b.left)]
                .iter()
                .any(|(num, other)| is_int_lit(num, 200) && reads_status(other))
        }
        Expr::Paren(p) => is_success_cond(&p.expr),
        Expr::Let(l) => is_success_pat(&l.pat),
        // `matches!(r, Ok(_) | Err(NotFound))`: true on every success (not
        // `matches!(r, Ok(State::Done))`, a success of one kind).
        Expr::Macro(m) => matches_pattern(&m.mac).is_some_and(|p| match &p {
            Pat::Or(o) => o.cases.iter().any(is_any_ok),
            p => is_any_ok(p),
        }),
        _ => false,
    }
}

/// Whether an `&&` chain binds a success (`let Ok(resp) = r`) and a later
/// operand tests what it holds without being a success or failure test
/// itself (`let Some(t) = resp.table()`, `t.status == Ready`, through the
/// names those `let`s bind in turn); `resp.status().is_success()` and
/// `resp.status() != StatusCode::SERVICE_UNAVAILABLE` are such tests.
fn tests_success_content(e: &Expr) -> bool {
    fn operands<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
        match e {
            Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
                operands(&b.left, out);
                operands(&b.right, out);
            }
            e => out.push(e),
        }
    }
    let mut ops = Vec::new();
    operands(e, &mut ops);
    let mut held: Vec<String> = Vec::new();
    for op in ops {
        let reads_held = !held.is_empty() && held.iter().any(|n| mentions_ident(op, n));
        match op {
            Expr::Let(l) if held.is_empty() && is_success_pat(&l.pat) => {
                held.extend(pat_names(&l.pat));
            }
            Expr::Let(l) if reads_held => {
                if !is_success_pat(&l.pat) {
                    return true;
                }
                held.extend(pat_names(&l.pat));
            }
            // `resp.status() != StatusCode::SERVICE_UNAVAILABLE` tells a
            // failure from a success, as `is_success()` does.
            op if reads_held && !is_success_cond(op) && !is_failure_cond(op) => return true,
            _ => {}
        }
    }
    false
}

/// `Ok(_)`, `Ok(v)`, `Ok(..)`: every success.
fn is_any_ok(p: &Pat) -> bool {
    match p {
        Pat::TupleStruct(ts) => {
            ts.path.is_ident("Ok")
                && ts.elems.iter().all(|e| {
                    matches!(e, Pat::Wild(_) | Pat::Rest(_))
                        || matches!(e, Pat::Ident(pi) if pi.subpat.is_none())
                })
        }
        _ => false,
    }
}

/// The pattern of a `matches!(value, pattern)` invocation (none with a
/// guard, `matches!(v, P if g)`).
fn matches_pattern(mac: &syn::Macro) -> Option<Pat> {
    use syn::parse::Parser;
    if mac
        .path
        .segments
        .last()
        .is_none_or(|s| s.ident != "matches")
    {
        return None;
    }
    let tokens: Vec<proc_macro2::TokenTree> = mac.tokens.clone().into_iter().collect();
    let comma = tokens
        .iter()
        .position(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ','))?;
    let rest: proc_macro2::TokenStream = tokens[comma + 1..].iter().cloned().collect();
    Pat::parse_multi_with_leading_vert.parse2(rest).ok()
}

/// `resp.status().is_server_error()`, `!x.is_success()`, `e.is_connect()`.
fn is_failure_cond(e: &Expr) -> bool {
    match e {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => is_success_cond(&u.expr),
        Expr::MethodCall(m) => ident_in(
            &m.method,
            &[
                "is_err",
                "is_server_error",
                "is_connect",
                "is_timeout",
                "is_request",
            ],
        ),
        Expr::Let(l) => is_failure_pat(&l.pat) && !matches!(&*l.pat, Pat::Wild(_) | Pat::Ident(_)),
        Expr::Binary(b) => names_failure(b),
        Expr::Paren(p) => is_failure_cond(&p.expr),
        _ => false,
    }
}

/// `else if let Err(e) = r { return .. }` (or `r.is_err()`) after a
/// success test: the failure the first test let through leaves the loop.
fn failure_leaves(e: &Expr) -> bool {
    matches!(e, Expr::If(i) if is_failure_cond(&i.cond)
        && block_always_exits(&i.then_branch)
        && i.else_branch.as_ref().is_none_or(|(_, e)| always_exits(e)))
}

/// Whether `e` always leaves the loop (return, break, `?` on an error).
fn always_exits(e: &Expr) -> bool {
    match e {
        Expr::Return(_) | Expr::Break(_) => true,
        Expr::Block(b) => block_always_exits(&b.block),
        Expr::Macro(m) => m
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| ident_in(&s.ident, &["bail", "panic", "unreachable"])),
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Err"))
        }
        _ => false,
    }
}

fn block_always_exits(b: &syn::Block) -> bool {
    stmts_always_exit(&b.stmts)
}

/// Whether one of the statements always leaves the loop.
fn stmts_always_exit(stmts: &[syn::Stmt]) -> bool {
    stmts.iter().any(|s| match s {
        syn::Stmt::Expr(e, _) => always_exits(e),
        syn::Stmt::Macro(m) => m
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| ident_in(&s.ident, &["bail", "panic", "unreachable"])),
        _ => false,
    })
}

/// Whether a statement holds a `continue` of the loop it is in.
fn stmt_continues(s: &syn::Stmt) -> bool {
    match s {
        syn::Stmt::Expr(e, _) => goes_round(e),
        syn::Stmt::Local(l) => l.init.as_ref().is_some_and(|i| {
            goes_round(&i.expr) || i.diverge.as_ref().is_some_and(|(_, d)| goes_round(d))
        }),
        _ => false,
    }
}

/// Whether `e` holds a `continue` of the loop it is in: not one of a
/// loop nested in it (`for tag in tags { if .. { continue } }`), which
/// goes round that loop only.
fn goes_round(e: &Expr) -> bool {
    has_continue(e, false)
}

/// Whether `e` holds a `continue` (of any loop).
fn contains_continue(e: &Expr) -> bool {
    has_continue(e, true)
}

/// Whether `e` holds a `continue`, looking into the loops nested in it or
/// not.
fn has_continue(e: &Expr, in_nested_loops: bool) -> bool {
    struct V {
        found: bool,
        in_nested_loops: bool,
    }
    impl<'a> Visit<'a> for V {
        fn visit_expr_continue(&mut self, _: &'a syn::ExprContinue) {
            self.found = true;
        }
        fn visit_expr_loop(&mut self, l: &'a syn::ExprLoop) {
            if self.in_nested_loops {
                syn::visit::visit_expr_loop(self, l);
            }
        }
        fn visit_expr_while(&mut self, l: &'a syn::ExprWhile) {
            if self.in_nested_loops {
                syn::visit::visit_expr_while(self, l);
            }
        }
        fn visit_expr_for_loop(&mut self, l: &'a syn::ExprForLoop) {
            if self.in_nested_loops {
                syn::visit::visit_expr_for_loop(self, l);
            }
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        found: false,
        in_nested_loops,
    };
    v.visit_expr(e);
    v.found
}

fn contains_exit(e: &Expr) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_expr_return(&mut self, _: &'a syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_break(&mut self, _: &'a syn::ExprBreak) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

impl<'a> Visit<'a> for ShapeVisitor {
    fn visit_local(&mut self, l: &'a syn::Local) {
        self.success_lets.extend(success_let(l));
        if let Some(init) = &l.init {
            if let Expr::Match(m) = &*init.expr {
                self.value_match = init.diverge.is_none()
                    && m.arms
                        .iter()
                        .all(|a| !contains_exit(&a.body) && !contains_continue(&a.body));
            }
        }
        syn::visit::visit_local(self, l);
        self.value_match = false;
    }
    fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
        if std::mem::take(&mut self.value_match) {
            return syn::visit::visit_expr_match(self, m);
        }
        // `match other { Ok(r) => .., Err(e) => .. }` on a failed outcome:
        // its `Ok` holds a failed status, not a success.
        if let Expr::Path(p) = &*m.expr {
            if p.path
                .get_ident()
                .is_some_and(|i| self.failed.iter().any(|f| i == f))
            {
                return syn::visit::visit_expr_match(self, m);
            }
        }
        let mut saw_success_arm = false;
        let mut saw_guarded_success_exit = false;
        let leaves_after = self.leaves_after.contains(&m.match_token.span.byte_start());
        for arm in &m.arms {
            let (pat, guard) = arm_parts(arm);
            // The statements after this `match` leave the loop: an arm
            // without a `continue` leaves with them, whatever it matched.
            let leaves_with_block = self.leaves_later > 0 && !contains_continue(&arm.body);
            let exits = contains_exit(&arm.body)
                || always_exits(&arm.body)
                // A value the `let` binds, on a path that then leaves.
                || leaves_after && is_success_pat(pat) && !contains_continue(&arm.body);
            let guard_counts = guard.is_some_and(|g| !is_success_cond(g));
            // `s if s.is_success() => return ..` on a status.
            let success_guard = guard.is_some_and(is_success_cond)
                && matches!(pat, Pat::Ident(pi) if pi.subpat.is_none());
            if is_success_pat(pat) || success_guard {
                let guard_ok = guard.is_none_or(|g| is_success_cond(g) || !is_failure_cond(g));
                if exits && guard_ok {
                    self.shape.success_exit = true;
                    saw_guarded_success_exit |= guard.is_some();
                }
                if !exits && !leaves_with_block {
                    // `Ok(resp) => { if resp.status().is_server_error() { continue } .. }`
                    let tests_response = pat_bindings(pat)
                        .iter()
                        .any(|b| has_failure_branch_on(&arm.body, b));
                    // An unguarded `Ok(resp)` after `Ok(resp) if
                    // resp.status().is_success() => return ..` holds the
                    // failed statuses, not a success.
                    if tests_response {
                        self.shape.continues_on_failure = true;
                    } else if guard.is_some_and(is_success_cond)
                        || guard.is_none() && !saw_guarded_success_exit
                    {
                        self.shape.success_goes_round = true;
                    }
                }
                saw_success_arm = true;
            } else if is_failure_pat(pat) && (saw_success_arm || matches!(pat, Pat::TupleStruct(_)))
            {
                if !leaves_with_block {
                    if !always_exits(&arm.body) {
                        self.shape.continues_on_failure = true;
                    } else if goes_round(&arm.body) {
                        // `Err(e) => { if transient(&e) { sleep; continue; }
                        // return Err(e); }` ends in a `return` but goes
                        // round first on some failures.
                        self.shape.continue_before_exit = true;
                    }
                }
                if guard_counts && exits {
                    self.shape.counter_exit = true;
                }
            }
        }
        self.visit_expr(&m.expr);
        let mut saw_guarded_success_exit = false;
        for arm in &m.arms {
            let (pat, guard) = arm_parts(arm);
            // A bare binding after a guarded success exit holds the failures.
            let failed = match pat {
                Pat::Ident(pi)
                    if saw_guarded_success_exit && pi.subpat.is_none() && guard.is_none() =>
                {
                    Some(pi.ident.to_string())
                }
                _ => None,
            };
            if is_success_pat(pat)
                && guard.is_some_and(is_success_cond)
                && (contains_exit(&arm.body) || always_exits(&arm.body))
            {
                saw_guarded_success_exit = true;
            }
            let pushed = failed.is_some();
            self.failed.extend(failed);
            self.visit_arm(arm);
            if pushed {
                self.failed.pop();
            }
        }
    }
    fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
        let then_exits = block_always_exits(&i.then_branch)
            || i.then_branch
                .stmts
                .iter()
                .any(|s| matches!(s, syn::Stmt::Expr(e, _) if contains_exit(e)));
        let success = self.is_success_test(&i.cond);
        if success && then_exits {
            self.shape.success_exit = true;
            // No `else`, or an `else` that does not leave: failure goes round
            // (`else if let Err(e) = r { return .. }` leaves on the failure).
            match &i.else_branch {
                None => self.shape.continues_on_failure = true,
                Some((_, e)) if !always_exits(e) && !failure_leaves(e) => {
                    self.shape.continues_on_failure = true
                }
                _ => {}
            }
        } else if is_failure_cond(&i.cond)
            && (!then_exits
                || i.then_branch
                    .stmts
                    .iter()
                    .any(|s| matches!(s, syn::Stmt::Expr(Expr::Continue(_), _))))
        {
            self.shape.continues_on_failure = true;
            // `if let Err(e) = call { log; sleep } else { return }`: the
            // success is the `else`, and it leaves.
            if !then_exits && i.else_branch.as_ref().is_some_and(|(_, e)| always_exits(e)) {
                self.shape.success_exit = true;
            }
        } else if then_exits && !success {
            self.shape.counter_exit = true;
        }
        syn::visit::visit_expr_if(self, i);
    }
    fn visit_block(&mut self, b: &'a syn::Block) {
        // `if resp.status() == SERVICE_UNAVAILABLE { sleep; continue; }`
        // followed by an unconditional `return Ok(..)`: the call that got
        // past the failure test leaves the loop.
        for (i, st) in b.stmts.iter().enumerate() {
            let exits_after = || {
                b.stmts[i + 1..].iter().any(
                    |s| matches!(s, syn::Stmt::Expr(e, _) if matches!(e, Expr::Return(_) | Expr::Break(_))),
                )
            };
            if let syn::Stmt::Local(l) = st {
                if let Some(Expr::Match(m)) = l.init.as_ref().map(|i| &*i.expr) {
                    if l.init.as_ref().is_some_and(|i| i.diverge.is_none()) && exits_after() {
                        self.leaves_after.push(m.match_token.span.byte_start());
                    }
                }
                continue;
            }
            let syn::Stmt::Expr(Expr::If(ifx), _) = st else {
                continue;
            };
            let continues =
                ifx.then_branch.stmts.iter().any(
                    |s| matches!(s, syn::Stmt::Expr(Expr::Continue(c), _) if c.label.is_none()),
                );
            if ifx.else_branch.is_none() && continues && exits_after() && is_failure_cond(&ifx.cond)
            {
                self.shape.success_exit = true;
                self.shape.continues_on_failure = true;
            }
        }
        // Per statement, whether one after it always leaves and none after
        // it continues (`if transient(&e) { sleep; continue }` before the
        // final `return Err(e)` goes round after all): read from the end,
        // once per statement.
        let mut leaves_after = vec![false; b.stmts.len()];
        let (mut exits, mut continues) = (false, false);
        for (i, st) in b.stmts.iter().enumerate().rev() {
            leaves_after[i] = exits && !continues;
            exits |= stmts_always_exit(std::slice::from_ref(st));
            continues |= stmt_continues(st);
        }
        for (st, later) in b.stmts.iter().zip(leaves_after) {
            self.leaves_later += usize::from(later);
            self.visit_stmt(st);
            self.leaves_later -= usize::from(later);
        }
    }
    // A `break` or `return` after a nested loop's `match` leaves that
    // loop's pass, not the retry loop's: start counting again inside it.
    fn visit_expr_loop(&mut self, l: &'a syn::ExprLoop) {
        let outer = std::mem::take(&mut self.leaves_later);
        syn::visit::visit_expr_loop(self, l);
        self.leaves_later = outer;
    }
    fn visit_expr_while(&mut self, l: &'a syn::ExprWhile) {
        let outer = std::mem::take(&mut self.leaves_later);
        syn::visit::visit_expr_while(self, l);
        self.leaves_later = outer;
    }
    fn visit_expr_for_loop(&mut self, l: &'a syn::ExprForLoop) {
        let outer = std::mem::take(&mut self.leaves_later);
        syn::visit::visit_expr_for_loop(self, l);
        self.leaves_later = outer;
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Whether `e` branches on a failure of `name` (the response a success
/// arm bound): `if resp.status().is_server_error() { .. }`.
fn has_failure_branch_on(e: &Expr, name: &str) -> bool {
    struct V<'n>(&'n str, bool);
    impl<'a> Visit<'a> for V<'_> {
        fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
            if is_failure_cond(&i.cond) && mentions_ident(&i.cond, self.0) {
                self.1 = true;
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(name, false);
    v.visit_expr(e);
    v.1
}

/// Names a pattern binds: `Ok(resp)` → `resp`, `Ok(Some(ev))` → `ev`.
fn pat_bindings(p: &Pat) -> Vec<String> {
    struct V(Vec<String>);
    impl<'a> Visit<'a> for V {
        fn visit_pat_ident(&mut self, pi: &'a syn::PatIdent) {
            self.0.push(pi.ident.to_string());
            syn::visit::visit_pat_ident(self, pi);
        }
    }
    let mut v = V(Vec::new());
    v.visit_pat(p);
    v.0
}

/// Whether `e` calls a method named `method` anywhere in its chain.
fn calls_method(e: &Expr, method: &str) -> bool {
    struct V<'m>(&'m str, bool);
    impl<'a> Visit<'a> for V<'_> {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            self.1 |= m.method == self.0;
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    }
    let mut v = V(method, false);
    v.visit_expr(e);
    v.1
}

/// `Some(item) = xs.next()`: the item's name.
fn next_item(lt: &syn::ExprLet) -> Option<String> {
    let Expr::MethodCall(m) = &*lt.expr else {
        return None;
    };
    if m.method != "next" || !m.args.is_empty() {
        return None;
    }
    let Pat::TupleStruct(ts) = &*lt.pat else {
        return None;
    };
    if !ts.path.is_ident("Some") || ts.elems.len() != 1 {
        return None;
    }
    match &ts.elems[0] {
        Pat::Ident(pi) => Some(pi.ident.to_string()),
        _ => None,
    }
}

/// Whether the body reads what a user types: `stdin().read_line(..)`,
/// `dialoguer`/`inquire` prompts, `rpassword`.
fn reads_user_input(cx: &FileCtx<'_>, body: &syn::Block) -> bool {
    struct V<'c, 'a>(&'c FileCtx<'a>, bool);
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.0.uses.resolve_shared(&p.path);
                let krate = segs.first().map(String::as_str).unwrap_or("");
                self.1 |= ends_with(&segs, &["io", "stdin"])
                    || matches!(krate, "dialoguer" | "inquire" | "rpassword" | "rustyline");
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            // `Input::new().with_prompt(..).interact_text()`, `editor.readline(">> ")`.
            self.1 |= ident_in(
                &m.method,
                &["interact", "interact_text", "interact_opt", "readline"],
            );
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(cx, false);
    v.visit_block(body);
    v.1
}

/// Whether a loop body reads the next item of a stream it keeps open and
/// goes round when the stream ends: a `None` (or `Ok(None)`) arm of a
/// `match` on `stream.next().await`, or the `else` of a `let Some(..) =
/// stream.next().await`, that `continue`s this loop. Such a loop consumes a
/// subscription (server-sent events, a watch) and re-opens it on
/// disconnect; its network call is the subscribe, not a request retried.
fn resubscribes(body: &syn::Block) -> bool {
    fn received(e: &Expr) -> bool {
        is_stream_receive(unawaited(e))
    }
    fn is_none(p: &Pat) -> bool {
        match p {
            Pat::Ident(i) => i.ident == "None",
            Pat::Path(p) => p.path.is_ident("None"),
            Pat::TupleStruct(ts) => {
                ts.path.is_ident("Ok") && ts.elems.len() == 1 && is_none(&ts.elems[0])
            }
            Pat::Or(o) => o.cases.iter().any(is_none),
            _ => false,
        }
    }
    /// What the loop's own turn does (not nested loops, closures or
    /// items): whether it `continue`s this loop, and whether it goes round
    /// when the stream it reads ends.
    #[derive(Default)]
    struct Turn {
        continues: bool,
        resubscribes: bool,
    }
    fn turn_of(e: &Expr) -> Turn {
        let mut t = Turn::default();
        t.visit_expr(e);
        t
    }
    impl<'a> Visit<'a> for Turn {
        fn visit_expr_continue(&mut self, c: &'a syn::ExprContinue) {
            self.continues |= c.label.is_none();
        }
        fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
            self.resubscribes |= received(&m.expr)
                && m.arms
                    .iter()
                    .any(|a| is_none(&a.pat) && turn_of(&a.body).continues);
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_local(&mut self, l: &'a syn::Local) {
            if let Some(init) = &l.init {
                self.resubscribes |= received(&init.expr)
                    && init
                        .diverge
                        .as_ref()
                        .is_some_and(|(_, e)| turn_of(e).continues);
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_loop(&mut self, _: &'a syn::ExprLoop) {}
        fn visit_expr_while(&mut self, _: &'a syn::ExprWhile) {}
        fn visit_expr_for_loop(&mut self, _: &'a syn::ExprForLoop) {}
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut t = Turn::default();
    t.visit_block(body);
    t.resubscribes
}

/// Whether the body tests for an authentication failure (401, 403):
/// `status() == StatusCode::UNAUTHORIZED`, `Code::Unauthenticated`,
/// `as_u16() == 401`.
fn refreshes_session(body: &syn::Block) -> bool {
    let mut v = StatusSignals {
        paths: &[
            &["StatusCode", "UNAUTHORIZED"],
            &["StatusCode", "FORBIDDEN"],
            &["Code", "Unauthenticated"],
        ],
        codes: &[401, 403],
        reads: &reads_status_number,
        word: None,
        found: false,
    };
    v.visit_block(body);
    v.found
}

/// Whether code outside its closures names one of a family of statuses:
/// one of `paths` (`StatusCode::CONFLICT`), a comparison of one of `codes`
/// with what `reads` takes for a status, or an identifier `word` accepts.
struct StatusSignals<'s> {
    paths: &'s [&'s [&'s str]],
    codes: &'s [u16],
    reads: &'s dyn Fn(&Expr) -> bool,
    word: Option<fn(&str) -> bool>,
    found: bool,
}

impl<'a> Visit<'a> for StatusSignals<'_> {
    fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
        if let Some(word) = self.word {
            self.found |= word(&i.to_string());
        }
    }
    fn visit_path(&mut self, p: &'a syn::Path) {
        let segs = super::paths::path_segments(p);
        self.found |= self.paths.iter().any(|tail| ends_with(&segs, tail));
        syn::visit::visit_path(self, p);
    }
    fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
        self.found |= compares_status(b, self.codes, self.reads);
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// `status == 409` or `409 == status`, for a number of `codes` compared
/// (`==`) with an expression `reads` accepts as a status.
fn compares_status(b: &syn::ExprBinary, codes: &[u16], reads: impl Fn(&Expr) -> bool) -> bool {
    matches!(b.op, syn::BinOp::Eq(_))
        && [(&*b.right, &*b.left), (&*b.left, &*b.right)]
            .into_iter()
            .any(|(num, other)| {
                matches!(num, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. })
                    if i.base10_parse::<u16>().is_ok_and(|n| codes.contains(&n)))
                    && reads(other)
            })
}

/// Whether every failure path of the loop body that goes round is taken
/// only on a write conflict (optimistic concurrency): a `match` arm on a
/// failure whose guard names one (`Err(e) if e.kind == CONCURRENT_UPDATE`,
/// `Err(Error::Api(ae)) if ae.code == 409`), or an `if` on one whose
/// `else` leaves, and at least one such path.
fn retries_only_conflicts(body: &syn::Block) -> bool {
    struct V {
        conflict: bool,
        other: bool,
    }
    impl<'a> Visit<'a> for V {
        fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
            for arm in &m.arms {
                let (pat, guard) = arm_parts(arm);
                if !is_failure_pat(pat) || is_success_pat(pat) || always_exits(&arm.body) {
                    continue;
                }
                if guard.is_some_and(only_conflict)
                    || pat_names_conflict(pat)
                    || conflict_then_leave(&arm.body)
                {
                    self.conflict = true;
                } else {
                    self.other = true;
                }
            }
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
            // `if let Err(e) = r { .. }` and `if r.is_err() { .. }` that do
            // not leave: a failure that goes round.
            if is_failure_cond(&i.cond) && !block_always_exits(&i.then_branch) {
                let then = Expr::Block(syn::ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: i.then_branch.clone(),
                });
                if only_conflict(&i.cond) || conflict_then_leave(&then) {
                    self.conflict = true;
                } else {
                    self.other = true;
                }
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        conflict: false,
        other: false,
    };
    v.visit_block(body);
    v.conflict && !v.other
}

/// A failure branch that goes round only on a conflict: its block is
/// `if <conflict> { .. } else { <leave> }` or `if <conflict> { ..; continue }`
/// followed by a statement that leaves, or `if !<conflict> { <leave> }`
/// first.
fn conflict_then_leave(e: &Expr) -> bool {
    let Expr::Block(b) = e else { return false };
    let stmts = &b.block.stmts;
    for (k, st) in stmts.iter().enumerate() {
        let syn::Stmt::Expr(Expr::If(i), _) = st else {
            continue;
        };
        if let Expr::Unary(u) = &*i.cond {
            if matches!(u.op, syn::UnOp::Not(_))
                && only_conflict(&u.expr)
                && block_always_exits(&i.then_branch)
            {
                return true;
            }
        }
        if !only_conflict(&i.cond) {
            continue;
        }
        let else_leaves = i.else_branch.as_ref().is_some_and(|(_, e)| always_exits(e));
        let rest_leaves = stmts[k + 1..].iter().any(|s| match s {
            syn::Stmt::Expr(e, _) => always_exits(e),
            syn::Stmt::Macro(m) => m
                .mac
                .path
                .segments
                .last()
                .is_some_and(|s| ident_in(&s.ident, &["bail", "panic", "unreachable"])),
            _ => false,
        });
        return else_leaves || rest_leaves;
    }
    false
}

/// Whether a failure pattern matches only a conflict variant:
/// `Err(DbError::SecretTaken)`, `Err(Error::Conflict { .. })`,
/// `Err(ApiError::AlreadyExists(_))`; every alternative of an or-pattern.
fn pat_names_conflict(pat: &Pat) -> bool {
    let named = |path: &syn::Path| {
        path.segments
            .last()
            .is_some_and(|s| conflict_word(&s.ident.to_string()))
    };
    match pat {
        Pat::TupleStruct(ts) => {
            let wrapper = ts
                .path
                .get_ident()
                .is_some_and(|id| ident_in(id, &["Err", "Some"]));
            if wrapper {
                ts.elems.len() == 1 && ts.elems.iter().all(pat_names_conflict)
            } else {
                named(&ts.path)
            }
        }
        Pat::Path(p) => named(&p.path),
        Pat::Struct(st) => named(&st.path),
        Pat::Or(o) => !o.cases.is_empty() && o.cases.iter().all(pat_names_conflict),
        Pat::Reference(r) => pat_names_conflict(&r.pat),
        Pat::Paren(p) => pat_names_conflict(&p.pat),
        Pat::Ident(pi) => pi
            .subpat
            .as_ref()
            .is_some_and(|(_, sub)| pat_names_conflict(sub)),
        _ => false,
    }
}

/// Whether a name says a write lost a race or a unique value was taken:
/// going round changes the request (re-reads the state, draws a new
/// value), which sending it again, as a mesh retry does, would not.
fn conflict_word(name: &str) -> bool {
    let flat: String = name
        .chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    [
        "conflict",
        "concurrentupdate",
        "concurrentmodification",
        "preconditionfailed",
        "versionmismatch",
        "serializationfailure",
        "taken",
        "alreadyexists",
        "duplicate",
        "uniqueviolation",
        "collision",
    ]
    .iter()
    .any(|w| flat.contains(w))
}

/// Whether a condition holds only on a write conflict: `a || b` when
/// both sides are conflict tests, `a && b` when either is (`e.is_conflict()
/// && attempt < 5`).
fn only_conflict(e: &Expr) -> bool {
    match e {
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Or(_)) => {
            only_conflict(&b.left) && only_conflict(&b.right)
        }
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
            only_conflict(&b.left) || only_conflict(&b.right)
        }
        Expr::Paren(p) => only_conflict(&p.expr),
        _ => names_conflict(e),
    }
}

/// Whether an expression tests for a write conflict: a name that says
/// so (`is_conflict()`, `CONCURRENT_UPDATE`, `PreconditionFailed`,
/// `VersionMismatch`, `SerializationFailure`), `StatusCode::CONFLICT` /
/// `PRECONDITION_FAILED`, a status compared with 409 or 412, or gRPC
/// `Code::Aborted`.
fn names_conflict(e: &Expr) -> bool {
    let mut v = StatusSignals {
        paths: &[&["Code", "Aborted"]],
        codes: &[409, 412],
        reads: &|e| reads_status_number(e) || names_code(e),
        word: Some(conflict_word),
        found: false,
    };
    v.visit_expr(e);
    v.found
}

/// `ae.code`, `err.status`, `resp.status().as_u16()`: an expression that
/// reads a status or error code.
fn names_code(e: &Expr) -> bool {
    match e {
        Expr::Field(f) => {
            matches!(&f.member, syn::Member::Named(n) if ident_in(n, &["code", "status", "status_code"]))
        }
        Expr::MethodCall(m) => ident_in(&m.method, &["code", "status", "status_code", "as_u16"]),
        Expr::Paren(p) => names_code(&p.expr),
        _ => false,
    }
}

/// Names the body adds a non-literal amount to (`waited += delay`): a
/// time or attempt budget the simulation cannot follow.
fn budgets(body: &syn::Block) -> Vec<String> {
    struct V(Vec<String>);
    impl<'a> Visit<'a> for V {
        fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
            if let (syn::BinOp::AddAssign(_) | syn::BinOp::SubAssign(_), Expr::Path(p)) =
                (&b.op, &*b.left)
            {
                if let (Some(id), false) = (p.path.get_ident(), matches!(&*b.right, Expr::Lit(_))) {
                    self.0.push(id.to_string());
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0.sort();
    v.0.dedup();
    v.0
}

/// Whether an expression compares against the clock: `started.elapsed()`,
/// `Instant::now()`, `deadline.is_elapsed()`.
fn reads_clock(e: &Expr) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            if matches!(
                m.method.to_string().as_str(),
                "elapsed" | "is_elapsed" | "has_elapsed" | "saturating_duration_since"
            ) {
                self.0 = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs: Vec<String> = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                if c.args.is_empty() && ends_with(&segs, &["Instant", "now"]) {
                    self.0 = true;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

/// Whether the loop body leaves (`break`, `return`) on a clock check: an
/// `if` whose condition reads the clock and whose branch leaves.
fn leaves_on_clock(body: &syn::Block) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
            if reads_clock(&i.cond) && block_leaves(&i.then_branch) {
                self.0 = true;
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_expr_loop(&mut self, _: &'a syn::ExprLoop) {}
        fn visit_expr_while(&mut self, _: &'a syn::ExprWhile) {}
        fn visit_expr_for_loop(&mut self, _: &'a syn::ExprForLoop) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    fn block_leaves(b: &syn::Block) -> bool {
        struct L(bool);
        impl<'a> Visit<'a> for L {
            fn visit_expr_break(&mut self, _: &'a syn::ExprBreak) {
                self.0 = true;
            }
            fn visit_expr_return(&mut self, _: &'a syn::ExprReturn) {
                self.0 = true;
            }
            fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
            fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut l = L(false);
        l.visit_block(b);
        l.0
    }
    let mut v = V(false);
    v.visit_block(body);
    v.0
}

/// Names incremented in the body: `attempt += 1`, `tries = tries + 1`.
fn counters(body: &syn::Block) -> Vec<String> {
    let mut out: Vec<String> = increments(body).into_iter().map(|(n, _, _)| n).collect();
    out.sort();
    out.dedup();
    out
}

/// `let copy = counter;` statements of the body, for counters `names`
/// (a name bound so once, not itself a counter): `(copy, counter)`.
fn counter_aliases(body: &syn::Block, names: &[String]) -> Vec<(String, String)> {
    struct V<'n> {
        names: &'n [String],
        out: Vec<(String, String)>,
        bound: Vec<String>,
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_local(&mut self, l: &'a syn::Local) {
            if let syn::Pat::Ident(pi) = &l.pat {
                let name = pi.ident.to_string();
                let copy_of = match l.init.as_ref().map(|i| &*i.expr) {
                    Some(Expr::Path(p)) => p
                        .path
                        .get_ident()
                        .map(|id| id.to_string())
                        .filter(|c| self.names.contains(c)),
                    _ => None,
                };
                if let Some(c) = copy_of {
                    self.out.push((name.clone(), c));
                }
                self.bound.push(name);
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        names,
        out: Vec::new(),
        bound: Vec::new(),
    };
    v.visit_block(body);
    let bound = v.bound;
    v.out
        .retain(|(a, _)| !names.contains(a) && bound.iter().filter(|b| *b == a).count() == 1);
    v.out
}

/// `(name, step, byte offset)` of every counter increment in the body.
fn increments(body: &syn::Block) -> Vec<(String, i128, usize)> {
    struct V(Vec<(String, i128, usize)>);
    impl<'a> Visit<'a> for V {
        fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
            // `attempt += 1`, and `remaining -= 1` counting down.
            let sign = match b.op {
                syn::BinOp::AddAssign(_) => Some(1),
                syn::BinOp::SubAssign(_) => Some(-1),
                _ => None,
            };
            if let (Some(sign), Expr::Path(p), Expr::Lit(l)) = (sign, &*b.left, &*b.right) {
                if let (Some(id), syn::Lit::Int(i)) = (p.path.get_ident(), &l.lit) {
                    if let Ok(step) = i.base10_parse::<i128>() {
                        self.0
                            .push((id.to_string(), sign * step, b.span().byte_start()));
                    }
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_assign(&mut self, a: &'a syn::ExprAssign) {
            // `n = n.saturating_add(1)`, `n = n.wrapping_sub(1)`
            if let (Expr::Path(p), Expr::MethodCall(m)) = (&*a.left, &*a.right) {
                let sign = match m.method.to_string().as_str() {
                    "saturating_add" | "wrapping_add" => Some(1),
                    "saturating_sub" | "wrapping_sub" => Some(-1),
                    _ => None,
                };
                if let (Some(id), Some(sign), Expr::Path(recv), [Expr::Lit(l)]) = (
                    p.path.get_ident(),
                    sign,
                    &*m.receiver,
                    m.args.iter().collect::<Vec<_>>().as_slice(),
                ) {
                    if let (true, syn::Lit::Int(i)) = (recv.path.is_ident(id), &l.lit) {
                        if let Ok(step) = i.base10_parse::<i128>() {
                            self.0
                                .push((id.to_string(), sign * step, a.span().byte_start()));
                        }
                    }
                }
            }
            // `n = n + 1`, `n = n - 1`
            if let (Expr::Path(p), Expr::Binary(b)) = (&*a.left, &*a.right) {
                let sign = match b.op {
                    syn::BinOp::Add(_) => Some(1),
                    syn::BinOp::Sub(_) => Some(-1),
                    _ => None,
                };
                if let (Some(id), Some(sign), Expr::Path(lp), Expr::Lit(l)) =
                    (p.path.get_ident(), sign, &*b.left, &*b.right)
                {
                    if lp.path.is_ident(id) {
                        if let syn::Lit::Int(i) = &l.lit {
                            if let Ok(step) = i.base10_parse::<i128>() {
                                self.0
                                    .push((id.to_string(), sign * step, a.span().byte_start()));
                            }
                        }
                    }
                }
            }
            syn::visit::visit_expr_assign(self, a);
        }
        // Branches of an `if`/`else` or a `match` exclude each other: a
        // counter stepped in several of them (`if let Ok(r) = resp { ..
        // else { n += 1 } } else { n += 1 }`) steps once a time round, as
        // the first branch that steps it says.
        fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
            self.visit_expr(&i.cond);
            let mut then = V(Vec::new());
            then.visit_block(&i.then_branch);
            let mut branches = vec![then.0];
            if let Some((_, e)) = &i.else_branch {
                let mut other = V(Vec::new());
                other.visit_expr(e);
                branches.push(other.0);
            }
            self.merge(branches);
        }
        fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
            self.visit_expr(&m.expr);
            let branches = m
                .arms
                .iter()
                .map(|a| {
                    let mut arm = V(Vec::new());
                    arm.visit_arm(a);
                    arm.0
                })
                .collect();
            self.merge(branches);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    impl V {
        fn merge(&mut self, branches: Vec<Vec<(String, i128, usize)>>) {
            let mut stepped: Vec<String> = Vec::new();
            for branch in branches {
                let names: Vec<String> = branch.iter().map(|(n, _, _)| n.clone()).collect();
                self.0
                    .extend(branch.into_iter().filter(|(n, _, _)| !stepped.contains(n)));
                stepped.extend(names);
            }
        }
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0
}

fn mentions_ident(e: &Expr, name: &str) -> bool {
    struct V<'n>(&'n str, bool);
    impl<'a> Visit<'a> for V<'_> {
        fn visit_ident(&mut self, i: &'a proc_macro2::Ident) {
            if i == self.0 {
                self.1 = true;
            }
        }
    }
    let mut v = V(name, false);
    v.visit_expr(e);
    v.1
}

/// A condition that decides whether the loop is left: (position, the
/// condition, whether it leaves when true, the `match` of a guard chain).
type ExitCheck<'a> = (usize, &'a Expr, bool, Option<usize>);

/// One step of the simulated loop body, in source order.
enum Event<'a> {
    /// A `match`'s counter guards in arm order, each with whether its arm
    /// leaves the loop; the first that holds decides, and when none does
    /// the loop is left if a guarded arm goes round (a later failure arm
    /// returns).
    Arms(Vec<(&'a Expr, bool)>),
    Call,
    Inc(String, i128),
    /// Leaves the loop when the condition holds.
    ExitIf(&'a Expr),
    /// Leaves the loop when the condition does not hold (a `while` head).
    ContinueIf(&'a Expr),
}

/// The variable of a `for` over an open integer range (`for attempt in
/// 1..`) and its first value: a counter the loop steps by one after each
/// pass.
fn open_range_counter(scan: &NetScan<'_, '_>, f: &syn::ExprForLoop) -> Option<(String, i128)> {
    let mut e = &*f.expr;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let Expr::Range(r) = e else { return None };
    if r.end.is_some() {
        return None;
    }
    let start = eval_int(scan, r.start.as_ref()?, &[])?;
    let Pat::Ident(pi) = &*f.pat else { return None };
    Some((pi.ident.to_string(), start))
}

/// Runs the loop with every attempt failing and counts the attempts.
/// `loop_var` is the counter an open-range `for` steps after each pass.
fn simulate(
    scan: &NetScan<'_, '_>,
    l: LoopRef<'_>,
    body: &syn::Block,
    calls: &[&NetCall],
    params: &[(String, i128)],
    loop_var: Option<&(String, i128)>,
) -> Option<u32> {
    let incs = increments(body);
    if incs.is_empty() && loop_var.is_none() {
        return None;
    }
    let mut names: Vec<String> = counters(body);
    // Initial values: the binding before the loop.
    let loop_start = l.bytes().start;
    let mut vars: Vec<(String, i128)> = Vec::new();
    for n in &names {
        let b = scan.scope.lookup(n, loop_start)?;
        let v = scan.ev.eval(b.init?).as_int()?;
        vars.push((n.clone(), v));
    }
    if let Some((n, start)) = loop_var {
        // The loop's own variable shadows a counter of that name.
        if names.contains(n) {
            return None;
        }
        names.push(n.clone());
        vars.push((n.clone(), *start));
    }
    // `let retry_index = attempts;` in the body: tests of the copy test
    // the counter.
    let aliases = counter_aliases(body, &names);
    for (alias, counter) in &aliases {
        let v = vars.iter().find(|(n, _)| n == counter)?.1;
        vars.push((alias.clone(), v));
        names.push(alias.clone());
    }
    // Parameters after counters: a counter shadows a parameter's name.
    vars.extend(params.iter().cloned());
    let mut events: Vec<(usize, Event<'_>)> = Vec::new();
    // A call passed into the crate's own macro runs where its `$name` sits
    // in the macro's body.
    let first_call = calls
        .iter()
        .map(|c| {
            let at = c.range.byte_start as usize;
            scan.cx.macros.origin(at).unwrap_or(at)
        })
        .min()?;
    events.push((first_call, Event::Call));
    for (n, step, at) in incs {
        events.push((at, Event::Inc(n, step)));
    }
    if let Some((n, _)) = loop_var {
        // Stepped when the pass ends, after everything the body does.
        events.push((usize::MAX, Event::Inc(n.clone(), 1)));
    }
    let mut groups: Vec<(usize, Vec<(&Expr, bool)>)> = Vec::new();
    for (at, cond, exit_when, group) in exit_checks(body, &names) {
        if let Some(g) = group {
            match groups.iter_mut().find(|(x, _)| *x == g) {
                Some((_, arms)) => arms.push((cond, exit_when)),
                None => groups.push((g, vec![(cond, exit_when)])),
            }
            continue;
        }
        events.push((
            at,
            if exit_when {
                Event::ExitIf(cond)
            } else {
                Event::ContinueIf(cond)
            },
        ));
    }
    for (at, arms) in groups {
        events.push((at, Event::Arms(arms)));
    }
    if let LoopRef::While(w) = l {
        if !matches!(&*w.cond, Expr::Let(_)) {
            events.push((0, Event::ContinueIf(&w.cond)));
        }
    }
    events.sort_by_key(|(at, _)| *at);
    if !events
        .iter()
        .any(|(_, e)| matches!(e, Event::ExitIf(_) | Event::ContinueIf(_) | Event::Arms(_)))
    {
        return None;
    }
    let mut tries = 0u32;
    while tries <= MAX_SIMULATED_TRIES {
        for (_, ev) in &events {
            match ev {
                Event::Call => tries += 1,
                Event::Inc(n, step) => {
                    let mut now = None;
                    if let Some(v) = vars.iter_mut().find(|(x, _)| x == n) {
                        v.1 = v.1.saturating_add(*step);
                        now = Some(v.1);
                    }
                    for (alias, counter) in &aliases {
                        if let (true, Some(now)) = (counter == n, now) {
                            if let Some(v) = vars.iter_mut().find(|(x, _)| x == alias) {
                                v.1 = now;
                            }
                        }
                    }
                }
                Event::ExitIf(c) => {
                    if eval_cond(scan, c, &vars)? {
                        return Some(tries);
                    }
                }
                Event::ContinueIf(c) => {
                    if !eval_cond(scan, c, &vars)? {
                        return Some(tries);
                    }
                }
                Event::Arms(arms) => {
                    let mut decided = None;
                    for (c, exits) in arms {
                        if eval_cond(scan, c, &vars)? {
                            decided = Some(*exits);
                            break;
                        }
                    }
                    let goes_round = arms.iter().any(|(_, exits)| !exits);
                    if decided.unwrap_or(goes_round) {
                        return Some(tries);
                    }
                }
            }
        }
    }
    None
}

/// Conditions that compare a counter and decide whether the loop is left:
/// `if n >= MAX { return .. }` and `Err(e) if n >= MAX => return Err(e)`
/// leave when true; `Err(e) if n < MAX => { .. }` followed by an arm that
/// returns leaves when false. Positions are the conditions'.
///
/// Guards of one `match` that each test the counter are one decision, read
/// in arm order (`Err(_) if n < warn => {..} Err(_) if n < max => {..}
/// Err(e) => return Err(e)` goes round while either holds): they share
/// their `match`'s position as a group.
fn exit_checks<'a>(body: &'a syn::Block, names: &[String]) -> Vec<ExitCheck<'a>> {
    struct V<'a, 'n> {
        names: &'n [String],
        out: Vec<ExitCheck<'a>>,
    }
    impl<'a> V<'a, '_> {
        fn counts(&self, e: &Expr) -> bool {
            self.names.iter().any(|n| mentions_ident(e, n))
        }
    }
    impl<'a> Visit<'a> for V<'a, '_> {
        fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
            let exits = block_always_exits(&i.then_branch);
            // `if n < max { sleep; n += 1; } else { break; }`: the loop
            // goes round while the condition holds.
            let else_exits = matches!(
                i.else_branch.as_ref().map(|(_, e)| &**e),
                Some(Expr::Block(b)) if block_always_exits(&b.block)
            );
            if exits && self.counts(&i.cond) {
                self.out
                    .push((i.cond.span().byte_start(), &i.cond, true, None));
            } else if else_exits && self.counts(&i.cond) {
                self.out
                    .push((i.cond.span().byte_start(), &i.cond, false, None));
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
            // `match (call().await, n < MAX) { (Err(e), true) => { n += 1; continue }
            // (Err(e), false) => return Err(e), .. }`: the tuple's counter test
            // keeps the loop going when it holds.
            if let Expr::Tuple(scrutinee) = &*m.expr {
                for a in &m.arms {
                    let Pat::Tuple(pt) = arm_parts(a).0 else {
                        continue;
                    };
                    if !is_failure_pat(arm_parts(a).0) {
                        continue;
                    }
                    for (i, ep) in pt.elems.iter().enumerate() {
                        let (
                            Pat::Lit(syn::PatLit {
                                lit: syn::Lit::Bool(b),
                                ..
                            }),
                            Some(cond),
                        ) = (ep, scrutinee.elems.iter().nth(i))
                        else {
                            continue;
                        };
                        let keeps_going = b.value != always_exits(&a.body);
                        let at = cond.span().byte_start();
                        if keeps_going
                            && self.counts(cond)
                            && !self.out.iter().any(|(x, ..)| *x == at)
                        {
                            self.out.push((at, cond, false, None));
                        }
                    }
                }
            }
            let mut guards = Vec::new();
            for (idx, a) in m.arms.iter().enumerate() {
                let (pat, Some(g)) = arm_parts(a) else {
                    continue;
                };
                if !is_failure_pat(pat) || !self.counts(g) {
                    continue;
                }
                if always_exits(&a.body) {
                    guards.push((g.span().byte_start(), g, true));
                } else if m.arms[idx + 1..]
                    .iter()
                    .any(|b| is_failure_pat(arm_parts(b).0) && always_exits(&b.body))
                {
                    guards.push((g.span().byte_start(), g, false));
                }
            }
            let group = (guards.len() > 1).then(|| m.match_token.span.byte_start());
            self.out.extend(
                guards
                    .into_iter()
                    .map(|(at, g, exits)| (at, g, exits, group)),
            );
            syn::visit::visit_expr_match(self, m);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        names,
        out: Vec::new(),
    };
    // `if n > 0 { continue; }` followed, in the loop body itself, by a
    // statement that leaves (`return res;`): the loop goes round while the
    // condition holds.
    for (i, s) in body.stmts.iter().enumerate() {
        let syn::Stmt::Expr(Expr::If(ifx), _) = s else {
            continue;
        };
        let ends_in_continue = matches!(
            ifx.then_branch.stmts.last(),
            Some(syn::Stmt::Expr(Expr::Continue(c), _)) if c.label.is_none()
        );
        if ifx.else_branch.is_none()
            && ends_in_continue
            && v.counts(&ifx.cond)
            && stmts_always_exit(&body.stmts[i + 1..])
        {
            v.out
                .push((ifx.cond.span().byte_start(), &ifx.cond, false, None));
        }
    }
    v.visit_block(body);
    v.out
}

fn eval_cond(scan: &NetScan<'_, '_>, e: &Expr, vars: &[(String, i128)]) -> Option<bool> {
    // Every attempt fails with a retryable error: a test that does not
    // involve a counter (`status.code() == Code::Unavailable`) is taken to
    // keep the loop going: true beside `&&`, false beside `||`.
    let counts = |x: &Expr| vars.iter().any(|(n, _)| mentions_ident(x, n));
    if let Expr::Binary(b) = e {
        if let syn::BinOp::And(_) | syn::BinOp::Or(_) = b.op {
            let neutral = matches!(b.op, syn::BinOp::And(_));
            let side = |x: &Expr| {
                if counts(x) {
                    eval_cond(scan, x, vars)
                } else {
                    Some(neutral)
                }
            };
            let (l, r) = (side(&b.left)?, side(&b.right)?);
            return Some(if neutral { l && r } else { l || r });
        }
    }
    match e {
        Expr::Paren(p) => eval_cond(scan, &p.expr, vars),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => {
            eval_cond(scan, &u.expr, vars).map(|b| !b)
        }
        Expr::Binary(b) => {
            use syn::BinOp::*;
            if let And(_) | Or(_) = b.op {
                let l = eval_cond(scan, &b.left, vars)?;
                let r = eval_cond(scan, &b.right, vars)?;
                return Some(if matches!(b.op, And(_)) {
                    l && r
                } else {
                    l || r
                });
            }
            let l = eval_int(scan, &b.left, vars)?;
            let r = eval_int(scan, &b.right, vars)?;
            Some(match b.op {
                Lt(_) => l < r,
                Le(_) => l <= r,
                Gt(_) => l > r,
                Ge(_) => l >= r,
                Eq(_) => l == r,
                Ne(_) => l != r,
                _ => return None,
            })
        }
        _ => None,
    }
}

fn eval_int(scan: &NetScan<'_, '_>, e: &Expr, vars: &[(String, i128)]) -> Option<i128> {
    match e {
        Expr::Paren(p) => eval_int(scan, &p.expr, vars),
        // A field of a parameter probed as a whole name (`policy.max_retries`).
        Expr::Field(f) => {
            if let (Expr::Path(p), syn::Member::Named(m)) = (&*f.base, &f.member) {
                if let Some(id) = p.path.get_ident() {
                    let name = format!("{id}.{m}");
                    if let Some((_, v)) = vars.iter().find(|(n, _)| *n == name) {
                        return Some(*v);
                    }
                }
            }
            scan.ev.eval(e).as_int()
        }
        Expr::Cast(c) => eval_int(scan, &c.expr, vars),
        Expr::Path(p) => {
            if let Some(id) = p.path.get_ident() {
                if let Some((_, v)) = vars.iter().find(|(n, _)| id == n) {
                    return Some(*v);
                }
            }
            scan.ev.eval(e).as_int()
        }
        Expr::Binary(b) => {
            let l = eval_int(scan, &b.left, vars)?;
            let r = eval_int(scan, &b.right, vars)?;
            match b.op {
                syn::BinOp::Add(_) => Some(l.saturating_add(r)),
                syn::BinOp::Sub(_) => Some(l.saturating_sub(r)),
                syn::BinOp::Mul(_) => Some(l.saturating_mul(r)),
                _ => None,
            }
        }
        _ => scan.ev.eval(e).as_int(),
    }
}

/// Sleeps in the body (`tokio::time::sleep`, `std::thread::sleep`, ...)
/// and the base delay each one waits, when readable.
fn sleeps(scan: &NetScan<'_, '_>, body: &syn::Block) -> Vec<Option<u128>> {
    sleep_args(scan.cx, body)
        .into_iter()
        .map(|a| {
            stepped_delay(scan, body, a)
                .or_else(|| base_delay(&scan.ev, a))
                .or_else(|| helper_delay(scan, a))
        })
        .collect()
}

/// `let mut backoff = Duration::ZERO; loop { .. backoff += STEP; sleep(backoff) }`:
/// the first wait is the initial value with the steps the body takes
/// before the sleep applied once (`+= d`, `*= n`).
fn stepped_delay(scan: &NetScan<'_, '_>, body: &syn::Block, arg: &Expr) -> Option<u128> {
    let Expr::Path(p) = arg else { return None };
    let id = p.path.get_ident()?;
    let at = id.span().byte_start();
    struct Steps<'x> {
        name: &'x syn::Ident,
        before: usize,
        out: Vec<(bool, &'x Expr)>,
    }
    impl<'x> Visit<'x> for Steps<'x> {
        fn visit_expr_binary(&mut self, b: &'x syn::ExprBinary) {
            let add = match b.op {
                syn::BinOp::AddAssign(_) => Some(true),
                syn::BinOp::MulAssign(_) => Some(false),
                _ => None,
            };
            if let (Some(add), Expr::Path(p)) = (add, &*b.left) {
                if p.path.is_ident(self.name) && b.span().byte_start() < self.before {
                    self.out.push((add, &b.right));
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut steps = Steps {
        name: id,
        before: at,
        out: Vec::new(),
    };
    // Only the steps of the loop body itself (not a `let` of that name in it).
    let body_bytes =
        body.brace_token.span.open().byte_start()..body.brace_token.span.close().byte_end();
    let binding = scan.scope.binding_at(id)?;
    if body_bytes.contains(&binding.at) {
        return None;
    }
    steps.visit_block(body);
    if steps.out.is_empty() {
        return None;
    }
    let mut wait = scan.ev.eval(binding.init?).as_duration_nanos()?;
    for (add, rhs) in steps.out {
        let v = scan.ev.eval(rhs);
        wait = if add {
            wait.checked_add(v.as_duration_nanos()?)?
        } else {
            wait.checked_mul(u128::try_from(v.as_int()?).ok()?)?
        };
    }
    (wait > 0).then_some(wait)
}

/// The first wait of a backoff computed in a function of this file:
/// `sleep(Self::backoff(attempt, self.config.base_ms))` (or bound to a
/// `let` first) where the function returns `Duration::from_millis(base *
/// 2u64.pow(n))`: the base is what the call passes for `base`.
fn helper_delay(scan: &NetScan<'_, '_>, arg: &Expr) -> Option<u128> {
    let cx = scan.cx;
    let mut call = strip_value(arg);
    if let Expr::Path(p) = call {
        let id = p.path.get_ident()?;
        call = strip_value(scan.scope.binding_at(id)?.init?);
    }
    let (name, owner, args): (String, Option<String>, Vec<&Expr>) = match call {
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else { return None };
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            match segs.as_slice() {
                [f] => (f.clone(), None, c.args.iter().collect()),
                [ty, f] if ty == "Self" => (
                    f.clone(),
                    Some(scan.self_ty?.to_string()),
                    c.args.iter().collect(),
                ),
                [ty, f] => (f.clone(), Some(ty.clone()), c.args.iter().collect()),
                _ => return None,
            }
        }
        Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self")) => {
            (
                m.method.to_string(),
                Some(scan.self_ty?.to_string()),
                m.args.iter().collect(),
            )
        }
        _ => return None,
    };
    let fns = cx.functions();
    let mut hits = fns
        .iter()
        .filter(|f| f.name == name && f.self_ty.as_deref() == owner.as_deref());
    let (Some(helper), None) = (hits.next(), hits.next()) else {
        return None;
    };
    let params = fn_params(helper.sig);
    if params.len() != args.len() {
        return None;
    }
    // The returned duration: the body's tail expression.
    let Some(syn::Stmt::Expr(tail, None)) = helper.body.stmts.last() else {
        return None;
    };
    let Expr::Call(ctor) = tail else { return None };
    let Expr::Path(cp) = &*ctor.func else {
        return None;
    };
    let unit: u128 = match cp.path.segments.last()?.ident.to_string().as_str() {
        "from_secs" => 1_000_000_000,
        "from_millis" => 1_000_000,
        "from_micros" => 1_000,
        _ => return None,
    };
    // Through `.min(cap)`, a `let` of the helper, then the leftmost factor.
    let local = |name: &syn::Ident| {
        helper.body.stmts.iter().rev().find_map(|st| match st {
            syn::Stmt::Local(l) => match (&l.pat, &l.init) {
                (Pat::Ident(pi), Some(init)) if pi.ident == *name => Some(&*init.expr),
                (Pat::Type(pt), Some(init))
                    if matches!(&*pt.pat, Pat::Ident(pi) if pi.ident == *name) =>
                {
                    Some(&*init.expr)
                }
                _ => None,
            },
            _ => None,
        })
    };
    let mut e = ctor.args.first()?;
    for _ in 0..4 {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Cast(c) => &c.expr,
            Expr::MethodCall(m)
                if ident_in(&m.method, &["min", "max", "clamp"])
                    || m.method.to_string().starts_with("saturating_") =>
            {
                &m.receiver
            }
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Mul(_) | syn::BinOp::Shl(_)) => &b.left,
            Expr::Path(p) => match p.path.get_ident().and_then(local) {
                Some(init) => init,
                None => break,
            },
            _ => break,
        };
    }
    let Expr::Path(p) = e else { return None };
    let id = p.path.get_ident()?;
    let i = params.iter().position(|n| id == n)?;
    let base = scan.ev.eval(args[i]).as_int()?;
    u128::try_from(base)
        .ok()
        .filter(|b| *b > 0)
        .map(|b| b * unit)
}

/// `x.await`, `x?`, `(x)`: the value expression inside.
fn strip_value(e: &Expr) -> &Expr {
    match e {
        Expr::Await(a) => strip_value(&a.base),
        Expr::Try(t) => strip_value(&t.expr),
        Expr::Paren(p) => strip_value(&p.expr),
        other => other,
    }
}

/// The duration argument of every sleep in the body.
fn sleep_args<'c>(cx: &'c FileCtx<'_>, body: &'c syn::Block) -> Vec<&'c Expr> {
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        out: Vec<&'c Expr>,
    }
    impl<'c> Visit<'c> for V<'c, '_> {
        fn visit_expr_call(&mut self, c: &'c syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                if ends_with(&segs, &["sleep"])
                    || ends_with(&segs, &["delay_for"])
                    || ends_with(&segs, &["Timer", "after"])
                {
                    if let Some(a) = c.args.first() {
                        self.out.push(a);
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_macro(&mut self, mac: &'c syn::Macro) {
            let cx = self.cx;
            for e in cx.macros.exprs(mac) {
                self.visit_expr(e);
            }
        }
        fn visit_expr_closure(&mut self, _: &'c syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'c syn::Item) {}
    }
    let mut v = V {
        cx,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

/// The base of a backoff: the delay of the first wait. `sleep(backoff)` with
/// `let mut backoff = Duration::from_millis(100)` before the loop reads
/// `100ms`; `Duration::from_millis(BASE_MS * 2u64.pow(attempt))` reads `BASE_MS`.
fn base_delay(ev: &Evaluator<'_, '_>, arg: &Expr) -> Option<u128> {
    // A zero read from a counter's initial value (`100 * attempt` before the
    // first increment) is not the wait: fall through to the base factor.
    if let Some(d) = ev.eval(arg).as_duration_nanos().filter(|d| *d > 0) {
        return Some(d);
    }
    // `Duration::from_millis(base * 2u64.pow(n))` / `base_delay * 2u32.pow(n)`.
    let (ctor_mult, inner) = match arg {
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else { return None };
            let last = p.path.segments.last()?.ident.to_string();
            let mult: u128 = match last.as_str() {
                "from_secs" => 1_000_000_000,
                "from_millis" => 1_000_000,
                "from_micros" => 1_000,
                _ => return None,
            };
            (Some(mult), c.args.first()?)
        }
        other => (None, other),
    };
    let mut factor = inner;
    while let Expr::Binary(b) = factor {
        if !matches!(b.op, syn::BinOp::Mul(_) | syn::BinOp::Shl(_)) {
            break;
        }
        factor = &b.left;
    }
    let v = ev.eval(factor);
    match (ctor_mult, v) {
        (Some(m), Value::Int(i)) if i > 0 => Some(i as u128 * m),
        (None, Value::Duration(d)) => Some(d),
        _ => None,
    }
}

/// A `timeout(d, fut)` around a network call inside the body.
fn deadline_inside(scan: &NetScan<'_, '_>, body: &syn::Block) -> Option<(u128, Option<Source>)> {
    deadlines(scan, body)
        .into_iter()
        .find_map(|d| d.nanos.map(|n| (n, d.source)))
        .or_else(|| request_set_timeout(scan, body).map(|n| (n, None)))
}

/// tonic's `request.set_timeout(d)` on the request each attempt sends.
fn request_set_timeout(scan: &NetScan<'_, '_>, body: &syn::Block) -> Option<u128> {
    struct V<'s, 'e, 'a> {
        scan: &'s NetScan<'e, 'a>,
        found: Option<u128>,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.method == "set_timeout" && m.args.len() == 1 && self.found.is_none() {
                self.found = self.scan.ev.eval(&m.args[0]).as_duration_nanos();
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V { scan, found: None };
    v.visit_block(body);
    v.found
}

/// A deadline applied to a future: `timeout(d, fut)`, `fut.timeout(d)`.
pub struct Deadline<'a> {
    pub range: TextRange,
    pub nanos: Option<u128>,
    /// The configuration default the duration came from.
    pub source: Option<Source>,
    pub future: &'a Expr,
    /// The duration argument as written.
    pub duration: &'a Expr,
}

/// Deadlines in `body` whose future makes a network call.
pub fn deadlines<'a>(scan: &NetScan<'_, '_>, body: &'a syn::Block) -> Vec<Deadline<'a>> {
    let mut v = DeadlineFinder {
        scan,
        out: Vec::new(),
        params: Vec::new(),
        handed: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

/// Deadlines a generic helper applies to a future it is handed
/// (`timeout(d, fut)` of a parameter `fut: F` where `F: Future`, or
/// `timeout(d, op())` of a callable parameter), with the parameter's
/// position (not counting `self`): what the deadline bounds is what the
/// helper's callers pass there. Empty for a function with no generic or
/// `impl Trait` parameter, the only ones a future can arrive as.
pub fn handed_deadlines<'a>(
    scan: &NetScan<'_, '_>,
    sig: &syn::Signature,
    body: &'a syn::Block,
) -> Vec<(Deadline<'a>, usize)> {
    let params = generic_params(sig);
    if params.iter().all(Option::is_none) {
        return Vec::new();
    }
    let mut v = DeadlineFinder {
        scan,
        out: Vec::new(),
        params,
        handed: Vec::new(),
    };
    v.visit_block(body);
    v.handed
}

/// The names of a signature's parameters (not `self`), in order, where the
/// type is a generic parameter of the function or `impl Trait`; `None` for
/// the others.
fn generic_params(sig: &syn::Signature) -> Vec<Option<String>> {
    let generic = |ty: &syn::Type| match ty {
        syn::Type::ImplTrait(_) => true,
        syn::Type::Path(p) => {
            p.qself.is_none()
                && p.path
                    .get_ident()
                    .is_some_and(|id| sig.generics.type_params().any(|tp| tp.ident == *id))
        }
        _ => false,
    };
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => Some(match &*pt.pat {
                syn::Pat::Ident(pi) if generic(&pt.ty) => Some(pi.ident.to_string()),
                _ => None,
            }),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

struct DeadlineFinder<'s, 'e, 'a, 'b> {
    scan: &'s NetScan<'e, 'a>,
    out: Vec<Deadline<'b>>,
    /// See [`handed_deadlines`].
    params: Vec<Option<String>>,
    handed: Vec<(Deadline<'b>, usize)>,
}

impl<'b> Visit<'b> for DeadlineFinder<'_, '_, '_, 'b> {
    fn visit_expr_call(&mut self, c: &'b syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs = self.scan.cx.uses.resolve_shared(&p.path);
            if is_timeout_fn(&segs) && c.args.len() == 2 {
                let fut = &c.args[1];
                // `timeout_at(Instant::now() + d, fut)`: the deadline is `d`
                // away (the instant also bound by a `let` first).
                let at = segs.last().is_some_and(|s| s == "timeout_at");
                let duration = match from_now(self.scan, &c.args[0]) {
                    Some(d) if at => d,
                    _ => &c.args[0],
                };
                let (value, source) = match self.bound_from_now(&c.args[0]) {
                    Some(d) if at => self.scan.ev.eval_sourced(d),
                    _ => self.scan.ev.eval_sourced(duration),
                };
                let nanos = value.as_duration_nanos();
                if let Some(pos) = self.handed_param(fut) {
                    if nanos != Some(0) {
                        let d = Deadline {
                            range: self.scan.cx.call_range(c),
                            nanos,
                            source,
                            future: fut,
                            duration,
                        };
                        self.handed.push((d, pos));
                    }
                    return;
                }
                // `timeout(Duration::ZERO, fut)` polls once without waiting;
                // `timeout(period, rx.next())` is a receive loop's watchdog
                // on a stream that is already open.
                if nanos != Some(0)
                    && !is_stream_receive(fut)
                    && !only_receives(fut)
                    && self
                        .scan
                        .calls_in_expr(fut)
                        .iter()
                        .any(|n| n.protocol.is_l7())
                {
                    self.out.push(Deadline {
                        range: self.scan.cx.call_range(c),
                        nanos,
                        source,
                        future: fut,
                        duration,
                    });
                }
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_item(&mut self, _: &'b syn::Item) {}
}

impl<'e> DeadlineFinder<'_, 'e, '_, '_> {
    /// The position of the generic parameter `fut` is (`fut`, `op()`,
    /// `op(x)`, also borrowed or parenthesised), when it is one.
    fn handed_param(&self, fut: &Expr) -> Option<usize> {
        if self.params.is_empty() {
            return None;
        }
        let mut e = fut;
        loop {
            match e {
                Expr::Paren(p) => e = &p.expr,
                Expr::Reference(r) => e = &r.expr,
                Expr::Call(c) => e = &c.func,
                _ => break,
            }
        }
        let Expr::Path(p) = e else { return None };
        let id = p.path.get_ident()?;
        // A `let` of the same name shadows the parameter.
        if self
            .scan
            .scope
            .binding_at(id)
            .is_some_and(|b| b.init.is_some())
        {
            return None;
        }
        self.params
            .iter()
            .position(|n| n.as_deref().is_some_and(|n| id == n))
    }

    /// `d` of a `let deadline = Instant::now() + d;` that a name reads.
    fn bound_from_now(&self, e: &Expr) -> Option<&'e Expr> {
        let Expr::Path(p) = e else { return None };
        let init = self.scan.scope.binding_at(p.path.get_ident()?)?.init?;
        from_now(self.scan, init)
    }
}

/// `d` of an instant `Instant::now() + d`: how far away a `timeout_at`
/// deadline is.
fn from_now<'x>(scan: &NetScan<'_, '_>, e: &'x Expr) -> Option<&'x Expr> {
    let mut e = e;
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    let Expr::Binary(b) = e else { return None };
    if !matches!(b.op, syn::BinOp::Add(_)) {
        return None;
    }
    let Expr::Call(c) = &*b.left else { return None };
    let Expr::Path(p) = &*c.func else { return None };
    let segs = scan.cx.uses.resolve_shared(&p.path);
    (c.args.is_empty() && ends_with(&segs, &["Instant", "now"])).then_some(&*b.right)
}

/// An `async` block whose every `.await` is the next item of a stream or
/// channel that is already open (`async { while let Some(m) = rx.next().await
/// { .. } }`): a deadline on draining or receiving, not on a request.
fn only_receives(fut: &Expr) -> bool {
    let Expr::Async(block) = fut else {
        return false;
    };
    struct Awaits {
        any: bool,
        all_receive: bool,
    }
    impl<'a> Visit<'a> for Awaits {
        fn visit_expr_await(&mut self, a: &'a syn::ExprAwait) {
            self.any = true;
            self.all_receive &= is_stream_receive(&a.base);
            syn::visit::visit_expr_await(self, a);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = Awaits {
        any: false,
        all_receive: true,
    };
    v.visit_block(&block.block);
    v.any && v.all_receive
}

/// `rx.next()`, `stream.message()`, `rx.recv()`: the next item of a stream
/// or channel that is already open.
pub fn is_stream_receive(fut: &Expr) -> bool {
    let mut e = fut;
    loop {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Reference(r) => e = &r.expr,
            Expr::MethodCall(m) => {
                return m.args.is_empty()
                    && ident_in(
                        &m.method,
                        &[
                            "next",
                            "try_next",
                            "message",
                            "recv",
                            "next_message",
                            "changed",
                        ],
                    )
            }
            _ => return false,
        }
    }
}

/// `tokio::time::timeout`, `timeout_at`, async-std's and futures-time's,
/// the same function of the thread-per-core runtimes (compio, monoio) and
/// of the frameworks that re-export one (`actix_rt::time`, `ntex::time`),
/// also when imported by name (the path then resolves through the `use`).
pub fn is_timeout_fn(segs: &[String]) -> bool {
    segs.len() >= 2
        && segs
            .last()
            .is_some_and(|s| s == "timeout" || s == "timeout_at")
        && matches!(
            segs[0].as_str(),
            "tokio"
                | "async_std"
                | "futures_time"
                | "smol_timeout"
                | "tokio_util"
                | "compio"
                | "monoio"
                | "actix_rt"
                | "ntex"
        )
}

/// Istio `retryOn` tokens for the failures the body's conditions test,
/// in source order.
fn retry_on(body: &syn::Block, protocol: Protocol) -> Vec<String> {
    let mut v = Signals {
        protocol,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out.sort();
    let mut tokens: Vec<String> = Vec::new();
    for (_, t) in v.out {
        if !tokens.iter().any(|x| x == t) {
            tokens.push(t.to_string());
        }
    }
    tokens
}

/// The Istio token a status constant or gRPC code names.
fn signal_of_path(segs: &[String], protocol: Protocol) -> Option<&'static str> {
    let n = segs.len();
    if n < 2 {
        return None;
    }
    match (protocol, segs[n - 2].as_str(), segs[n - 1].as_str()) {
        (Protocol::Http, "StatusCode", "SERVICE_UNAVAILABLE") => Some("503"),
        (Protocol::Http, "StatusCode", "BAD_GATEWAY") => Some("502"),
        (Protocol::Http, "StatusCode", "GATEWAY_TIMEOUT") => Some("504"),
        (Protocol::Http, "StatusCode", "TOO_MANY_REQUESTS") => Some("429"),
        (Protocol::Http, "StatusCode", "INTERNAL_SERVER_ERROR") => Some("500"),
        (Protocol::Grpc, "Code", "Unavailable") => Some("unavailable"),
        (Protocol::Grpc, "Code", "DeadlineExceeded") => Some("deadline-exceeded"),
        (Protocol::Grpc, "Code", "ResourceExhausted") => Some("resource-exhausted"),
        (Protocol::Grpc, "Code", "Internal") => Some("internal"),
        (Protocol::Grpc, "Code", "Cancelled") => Some("cancelled"),
        _ => None,
    }
}

fn is_int_lit(e: &Expr, want: u16) -> bool {
    matches!(e, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_parse::<u16>().ok() == Some(want))
}

/// `resp.status()`, `resp.status().as_u16()`: a response status compared
/// with a number (`StatusCode` compares with `u16`).
fn reads_status(e: &Expr) -> bool {
    reads_status_number(e)
        || matches!(e, Expr::MethodCall(m) if m.method == "status" && m.args.is_empty())
}

/// Whether `e` calls `.as_u16()` (a status code compared as a number).
fn reads_status_number(e: &Expr) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            self.0 |= m.method == "as_u16";
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    let mut v = V(false);
    v.visit_expr(e);
    v.0
}

fn retriable_code(l: &syn::Lit) -> Option<&'static str> {
    let syn::Lit::Int(i) = l else { return None };
    match i.base10_parse::<u16>().ok()? {
        500 => Some("500"),
        502 => Some("502"),
        503 => Some("503"),
        504 => Some("504"),
        429 => Some("429"),
        _ => None,
    }
}

/// Failure tests in a loop body: `is_server_error()`, `is_connect()`,
/// `StatusCode::SERVICE_UNAVAILABLE`, `Code::Unavailable`, `as_u16() == 503`.
struct Signals {
    protocol: Protocol,
    out: Vec<(usize, &'static str)>,
}

/// A plain failure test (`status == StatusCode::TOO_MANY_REQUESTS`,
/// `status.is_server_error()`), not negated or combined.
fn is_plain_test(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => is_plain_test(&p.expr),
        Expr::Binary(b) => matches!(b.op, syn::BinOp::Eq(_)),
        Expr::MethodCall(_) => true,
        _ => false,
    }
}

impl<'a> Visit<'a> for Signals {
    fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
        // `if status == StatusCode::TOO_MANY_REQUESTS { return Err(..) }`:
        // that failure leaves the loop, it is not re-tried.
        if !(is_plain_test(&i.cond) && block_always_exits(&i.then_branch)) {
            self.visit_expr(&i.cond);
        }
        self.visit_block(&i.then_branch);
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }
    fn visit_arm(&mut self, a: &'a syn::Arm) {
        // `StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS => return ..`
        // without a guard: those statuses leave.
        let (_, guard) = arm_parts(a);
        if guard.is_none() && always_exits(&a.body) {
            self.visit_expr(&a.body);
            return;
        }
        syn::visit::visit_arm(self, a);
    }
    fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
        let token = match (self.protocol, m.method.to_string().as_str()) {
            (Protocol::Http, "is_server_error") => Some("5xx"),
            (Protocol::Http, "is_connect") => Some("connect-failure"),
            _ => None,
        };
        if let Some(t) = token {
            self.out.push((m.method.span().byte_start(), t));
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_path(&mut self, p: &'a syn::Path) {
        let segs = super::paths::path_segments(p);
        if let Some(t) = signal_of_path(&segs, self.protocol) {
            let at = p
                .segments
                .first()
                .map(|s| s.ident.span().byte_start())
                .unwrap_or(0);
            self.out.push((at, t));
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
        if self.protocol == Protocol::Http && matches!(b.op, syn::BinOp::Eq(_)) {
            for (num, other) in [(&*b.right, &*b.left), (&*b.left, &*b.right)] {
                if let Expr::Lit(l) = num {
                    if let Some(t) = retriable_code(&l.lit).filter(|_| reads_status_number(other)) {
                        self.out.push((l.lit.span().byte_start(), t));
                    }
                }
            }
        }
        syn::visit::visit_expr_binary(self, b);
    }
    fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
        if self.protocol == Protocol::Http && reads_status_number(&m.expr) {
            for arm in &m.arms {
                if arm_parts(arm).1.is_none() && always_exits(&arm.body) {
                    continue;
                }
                let mut pats = vec![arm_parts(arm).0];
                while let Some(p) = pats.pop() {
                    match p {
                        Pat::Or(o) => pats.extend(o.cases.iter()),
                        Pat::Lit(l) => {
                            if let Some(t) = retriable_code(&l.lit) {
                                self.out.push((l.lit.span().byte_start(), t));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        syn::visit::visit_expr_match(self, m);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Whether `e` tests for a failure Istio can retry on.
fn names_failure(e: &syn::ExprBinary) -> bool {
    [Protocol::Http, Protocol::Grpc]
        .into_iter()
        .any(|protocol| {
            let mut v = Signals {
                protocol,
                out: Vec::new(),
            };
            v.visit_expr_binary(e);
            !v.out.is_empty()
        })
}

/// Byte ranges of the loops of a body that go round after a success: a
/// poll or wait (`loop { let s = status().await?; if s.done { return Ok(()) }
/// sleep(p).await }`, also paced by `interval.tick()`), a walk over pages
/// or a heartbeat. Each is many requests, not one. Read are `loop`, `while`
/// with a plain condition (the whole loop: its condition runs every round)
/// and `for` over an integer range; not `while let` (a receive loop, or a
/// retry on `Err`) nor a `for` over a collection (a batch). Closures and
/// async blocks are read too, items are not.
pub fn poll_loop_ranges(body: &syn::Block) -> Vec<Range<usize>> {
    poll_loops_in(ExprOrBlock::Block(body))
}

/// The same, in one expression (a future written as an `async` block).
pub fn poll_loop_ranges_in_expr(e: &Expr) -> Vec<Range<usize>> {
    poll_loops_in(ExprOrBlock::Expr(e))
}

fn poll_loops_in(code: ExprOrBlock<'_>) -> Vec<Range<usize>> {
    struct V(Vec<Range<usize>>);
    impl V {
        fn check(&mut self, whole: &Expr, body: &syn::Block) {
            if goes_round_on_success(body) || ticks(body) {
                self.0.push(whole.span().bytes());
            }
        }
    }
    impl<'a> Visit<'a> for V {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::Loop(l) => self.check(e, &l.body),
                Expr::While(w) if !matches!(&*w.cond, Expr::Let(_)) => self.check(e, &w.body),
                Expr::ForLoop(f) => {
                    let mut it = &*f.expr;
                    while let Expr::Paren(p) = it {
                        it = &p.expr;
                    }
                    if matches!(it, Expr::Range(_)) {
                        self.check(e, &f.body);
                    }
                }
                _ => {}
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    match code {
        ExprOrBlock::Expr(e) => v.visit_expr(e),
        ExprOrBlock::Block(b) => v.visit_block(b),
    }
    v.0
}

/// Whether the body waits on `interval.tick()`.
fn ticks(body: &syn::Block) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            if m.method == "tick" && m.args.is_empty() {
                self.0 = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(false);
    v.visit_block(body);
    v.0
}

/// `e` without the `.await`, `?` and parentheses around it.
fn unawaited(mut e: &Expr) -> &Expr {
    loop {
        match e {
            Expr::Await(a) => e = &a.base,
            Expr::Try(t) => e = &t.expr,
            Expr::Paren(p) => e = &p.expr,
            _ => return e,
        }
    }
}

/// A wait for the process to be told to stop, which a deadline turns into
/// a timer: `tokio::signal::ctrl_c()` (by its resolved path) or a
/// cancellation token's `cancelled()`. `loop { match timeout(period,
/// ctrl_c()).await { Ok(_) => { flush().await; break } Err(_) =>
/// flush().await } }` does its work once a period until the signal.
fn is_stop_wait(cx: &FileCtx<'_>, fut: &Expr) -> bool {
    match fut {
        Expr::Paren(p) => is_stop_wait(cx, &p.expr),
        Expr::Call(c) if c.args.is_empty() => match &*c.func {
            Expr::Path(p) => {
                let segs = cx.uses.resolve_shared(&p.path);
                segs.first().is_some_and(|s| s == "tokio")
                    && ends_with(&segs, &["signal", "ctrl_c"])
            }
            _ => false,
        },
        Expr::MethodCall(m) => m.args.is_empty() && m.method == "cancelled",
        _ => false,
    }
}

/// The statements of a loop body that branch on a deadline over a stop
/// wait (`match timeout(period, ctrl_c()).await { .. }`, also through a
/// `let` bound to it), as byte ranges. A loop whose every request is made
/// in their arms does its work when the period elapses: a timer. One whose
/// request is made elsewhere (the deadline as a sleep that a stop cuts
/// short, between tries) is not.
fn stop_timer_arms(cx: &FileCtx<'_>, body: &syn::Block) -> Vec<Range<usize>> {
    let timed_stop = |e: &Expr| -> bool {
        let Expr::Call(c) = unawaited(e) else {
            return false;
        };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        c.args.len() == 2
            && is_timeout_fn(&cx.uses.resolve_shared(&p.path))
            && is_stop_wait(cx, unawaited(&c.args[1]))
    };
    branches_on(body, timed_stop)
        .map(|stmt| stmt.span().bytes())
        .collect()
}

/// The statements of a loop body that branch (`match`, `if let`) on what
/// `waits_for` accepts, written in place or through a `let` bound to it
/// earlier in the body.
fn branches_on<'b>(
    body: &'b syn::Block,
    waits_for: impl Fn(&Expr) -> bool + 'b,
) -> impl Iterator<Item = &'b syn::Stmt> + 'b {
    let mut bound: Vec<String> = Vec::new();
    body.stmts.iter().filter(move |stmt| {
        let scrutinee = match stmt {
            syn::Stmt::Local(l) => {
                if let (Pat::Ident(id), Some(init)) = (&l.pat, &l.init) {
                    if waits_for(&init.expr) {
                        bound.push(id.ident.to_string());
                    }
                }
                return false;
            }
            syn::Stmt::Expr(Expr::Match(m), _) => &*m.expr,
            syn::Stmt::Expr(Expr::If(i), _) => match &*i.cond {
                Expr::Let(lt) => &*lt.expr,
                _ => return false,
            },
            _ => return false,
        };
        let named = match unawaited(scrutinee) {
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|id| bound.iter().any(|b| id == b)),
            _ => false,
        };
        named || waits_for(scrutinee)
    })
}

/// Whether each turn of the loop waits for the next message of a channel
/// or stream, with or without a deadline on the wait, and branches on what
/// it got: `loop { match timeout(d, rx.recv()).await { Err(_) =>
/// mark_down().await, Ok(None) => break, _ => {} } }`. Its network calls
/// are what a message or a silence sets off: nothing failed is sent again.
fn driven_by_receive(cx: &FileCtx<'_>, body: &syn::Block) -> bool {
    let received = |e: &Expr| -> bool {
        let e = unawaited(e);
        if is_stream_receive(e) {
            return true;
        }
        let Expr::Call(c) = e else {
            return false;
        };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        c.args.len() == 2
            && is_timeout_fn(&cx.uses.resolve_shared(&p.path))
            && is_stream_receive(unawaited(&c.args[1]))
    };
    branches_on(body, received).next().is_some()
}

/// Whether the loop body can finish an iteration, and so go round again,
/// on a path where nothing failed: no `Err(..)` arm, no failure test
/// taken, no success test refused, no exit. A retry loop goes round only
/// after a failure; a worker, poller or heartbeat (`Ok(v) => handle(v)`,
/// then `sleep(period)`) goes round after a success too.
fn goes_round_on_success(body: &syn::Block) -> bool {
    block_clean(body, &success_lets(body))
}

/// Names the body's `let`s bind to a success test of an outcome (`let done
/// = matches!(r, Ok(_));`), outside closures: an `if` on one of them
/// (`if done || tries >= 3 { break r; }`) tests the success as the
/// expression would.
fn success_lets(body: &syn::Block) -> Vec<String> {
    struct V(Vec<String>);
    impl<'a> Visit<'a> for V {
        fn visit_local(&mut self, l: &'a syn::Local) {
            self.0.extend(success_let(l));
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0
}

/// The name `let name = <success test>;` binds (no `else`, no sub-pattern).
fn success_let(l: &syn::Local) -> Option<String> {
    let (Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) else {
        return None;
    };
    (pi.subpat.is_none() && init.diverge.is_none() && is_success_cond(&init.expr))
        .then(|| pi.ident.to_string())
}

/// Whether `e` reads one of `lets` alone or in an `&&` / `||`.
fn reads_any(e: &Expr, lets: &[String]) -> bool {
    match e {
        Expr::Path(p) => p
            .path
            .get_ident()
            .is_some_and(|i| lets.iter().any(|n| i == n)),
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
            reads_any(&b.left, lets) || reads_any(&b.right, lets)
        }
        Expr::Paren(p) => reads_any(&p.expr, lets),
        _ => false,
    }
}

/// A block completes (or `continue`s) on a clean path.
fn block_clean(b: &syn::Block, lets: &[String]) -> bool {
    for s in &b.stmts {
        let clean = match s {
            syn::Stmt::Local(l) => l.init.as_ref().is_none_or(|i| expr_clean(&i.expr, lets)),
            syn::Stmt::Expr(Expr::Continue(_), _) => return true,
            syn::Stmt::Expr(e, _) => expr_clean(e, lets),
            syn::Stmt::Macro(m) => !m
                .mac
                .path
                .segments
                .last()
                .is_some_and(|s| ident_in(&s.ident, &["bail", "panic", "unreachable"])),
            syn::Stmt::Item(_) => true,
        };
        if !clean {
            return false;
        }
    }
    true
}

/// An expression completes (or `continue`s) on a clean path.
fn expr_clean(e: &Expr, lets: &[String]) -> bool {
    match e {
        Expr::Return(_) | Expr::Break(_) => false,
        Expr::Continue(_) => true,
        Expr::Paren(p) => expr_clean(&p.expr, lets),
        Expr::Block(b) => block_clean(&b.block, lets),
        Expr::Unsafe(u) => block_clean(&u.block, lets),
        Expr::Await(a) => expr_clean(&a.base, lets),
        Expr::Try(t) => expr_clean(&t.expr, lets),
        Expr::Call(_) if always_exits(e) => false,
        Expr::Macro(_) if always_exits(e) => false,
        Expr::If(i) => {
            let then_clean = !is_failure_cond(&i.cond) && block_clean(&i.then_branch, lets);
            let else_clean = !(is_success_cond(&i.cond) || reads_any(&i.cond, lets))
                && i.else_branch
                    .as_ref()
                    .is_none_or(|(_, e)| expr_clean(e, lets));
            then_clean || else_clean
        }
        Expr::Match(m) => {
            let mut saw_guarded_success_exit = false;
            m.arms.iter().any(|arm| {
                let (pat, guard) = arm_parts(arm);
                let success = is_success_pat(pat);
                let failure_guard =
                    guard.is_some_and(|g| !is_success_cond(g) && is_failure_cond(g));
                // `Ok(r) if r.status().is_success() => return ..` then
                // `Ok(r) => ..`: the second arm holds the failed statuses.
                let after_success_exit = success && guard.is_none() && saw_guarded_success_exit;
                if success && guard.is_some_and(is_success_cond) && !expr_clean(&arm.body, lets) {
                    saw_guarded_success_exit = true;
                }
                let failure =
                    (!success && is_failure_pat(pat)) || failure_guard || after_success_exit;
                !failure && expr_clean(&arm.body, lets)
            })
        }
        _ => true,
    }
}

/// Which functions of the file run long-lived work: a worker loop that goes
/// round on success (`loop { let job = rx.recv().await; .. }`), a receive
/// loop over a stream, a panic boundary (`catch_unwind`), or a call of such
/// a function, followed through the file's own functions a few hops. A loop
/// that re-runs one of them when it ends or fails is a supervisor or a
/// reconnect loop of a consumer, not a retry of a request.
struct LongLived<'f, 'a> {
    fns: &'f [FnItem<'a>],
    /// Per function: `None` not yet known, `Some(false)` also while being
    /// computed, so recursion ends.
    memo: std::cell::RefCell<Vec<Option<bool>>>,
}

/// Hops followed from a loop into the file's functions.
const LONG_LIVED_DEPTH: u32 = 3;

impl<'f, 'a> LongLived<'f, 'a> {
    fn new(fns: &'f [FnItem<'a>]) -> Self {
        LongLived {
            fns,
            memo: std::cell::RefCell::new(vec![None; fns.len()]),
        }
    }

    /// Whether `e` (a loop body, a `while let` head) calls a function of
    /// this file that runs long-lived work. `caller` is the function the
    /// code sits in: its `Self` type and its `let` bindings type receivers.
    fn calls_long_lived(
        &self,
        cx: &FileCtx<'_>,
        caller: &FnItem<'_>,
        scope: &FnScope<'_>,
        e: &ExprOrBlock<'_>,
    ) -> bool {
        self.calls_long_lived_at(cx, caller.self_ty.as_deref(), Some(scope), e, 0)
    }

    fn calls_long_lived_at(
        &self,
        cx: &FileCtx<'_>,
        self_ty: Option<&str>,
        scope: Option<&FnScope<'_>>,
        e: &ExprOrBlock<'_>,
        depth: u32,
    ) -> bool {
        let mut targets = CallTargets {
            cx,
            fns: self.fns,
            self_ty,
            scope,
            out: Vec::new(),
        };
        match e {
            ExprOrBlock::Expr(x) => targets.visit_expr(x),
            ExprOrBlock::Block(b) => targets.visit_block(b),
        }
        let found = targets.out;
        found
            .into_iter()
            .any(|i| self.is_long_lived(cx, i, depth + 1))
    }

    fn is_long_lived(&self, cx: &FileCtx<'_>, idx: usize, depth: u32) -> bool {
        if let Some(known) = self.memo.borrow()[idx] {
            return known;
        }
        self.memo.borrow_mut()[idx] = Some(false);
        let f = &self.fns[idx];
        let own = runs_long_lived_work(f.body);
        let result = own
            || depth < LONG_LIVED_DEPTH
                && self.calls_long_lived_at(
                    cx,
                    f.self_ty.as_deref(),
                    None,
                    &ExprOrBlock::Block(f.body),
                    depth,
                );
        // Kept whatever the depth it was reached at: each function is
        // walked once, so a file of mutually calling functions stays linear.
        self.memo.borrow_mut()[idx] = Some(result);
        result
    }
}

#[derive(Clone, Copy)]
enum ExprOrBlock<'x> {
    Expr(&'x Expr),
    Block(&'x syn::Block),
}

/// Whether a body itself runs long-lived work: `catch_unwind`, a `loop`
/// that goes round on success, or `while let Some(m) = rx.recv().await`
/// handling each message. Spawned tasks and closures count: the function
/// starts that work.
fn runs_long_lived_work(body: &syn::Block) -> bool {
    struct V(bool);
    impl<'x> Visit<'x> for V {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            self.0 |= m.method == "catch_unwind";
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_loop(&mut self, l: &'x syn::ExprLoop) {
            self.0 |= goes_round_on_success(&l.body);
            syn::visit::visit_expr_loop(self, l);
        }
        fn visit_expr_while(&mut self, w: &'x syn::ExprWhile) {
            if let Expr::Let(lt) = &*w.cond {
                let mut head = &*lt.expr;
                while let Expr::Await(a) = head {
                    head = &a.base;
                }
                self.0 |= is_stream_receive(head)
                    && matches!(&*lt.pat, Pat::TupleStruct(ts) if ts.path.is_ident("Some"))
                    && goes_round_on_success(&w.body);
            }
            syn::visit::visit_expr_while(self, w);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(false);
    v.visit_block(body);
    v.0
}

/// A type's name through references and shared-ownership wrappers:
/// `&Arc<Engine>` is `Engine`.
fn shared_type_name(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else {
        return match ty {
            syn::Type::Reference(r) => shared_type_name(&r.elem),
            syn::Type::Paren(p) => shared_type_name(&p.elem),
            _ => None,
        };
    };
    let last = p.path.segments.last()?;
    if ident_in(&last.ident, &["Arc", "Rc", "Box"]) {
        if let syn::PathArguments::AngleBracketed(a) = &last.arguments {
            if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                return shared_type_name(inner);
            }
        }
    }
    Some(last.ident.to_string())
}

/// Network call sites a procedure must have before a loop that re-runs it
/// is a reconciliation, not a retry of one call.
const PROCEDURE_OPERATIONS: usize = 3;

/// Whether a loop's repeated step (its `while let` head and body) is one
/// of this file's functions that makes network calls of several different
/// operations (list what exists, fetch each entry, create what is missing):
/// re-running it until it succeeds reconciles state, which no mesh retry
/// policy replaces. One call to one service, re-tried, is a retry.
fn reruns_procedure(
    cx: &FileCtx<'_>,
    fns: &[FnItem<'_>],
    caller: &FnItem<'_>,
    scope: &FnScope<'_>,
    l: &LoopRef<'_>,
) -> bool {
    let mut targets = CallTargets {
        cx,
        fns,
        self_ty: caller.self_ty.as_deref(),
        scope: Some(scope),
        out: Vec::new(),
    };
    if let LoopRef::While(w) = l {
        targets.visit_expr(&w.cond);
    }
    targets.visit_block(l.body());
    targets.out.sort_unstable();
    targets.out.dedup();
    targets.out.iter().any(|&i| {
        let f = &fns[i];
        let callee_scope = FnScope::new(Some(f.sig), f.body);
        let scan = NetScan::new(cx, &callee_scope, f.self_ty.as_deref());
        // Call sites, not client names: one client makes every step of
        // a procedure (`list`, then `get` each, then `post`).
        let mut sites: Vec<u32> = scan
            .calls_in_block(f.body)
            .into_iter()
            .filter(|c| c.protocol.is_l7())
            .map(|c| c.range.byte_start)
            .collect();
        sites.sort_unstable();
        sites.dedup();
        // A call made once per item of a collection (`for id in missing {
        // create(id) }`): the step re-runs a batch, not one call.
        let walks = collection_walks(f.body);
        let per_item = sites
            .iter()
            .any(|&at| walks.iter().any(|w| w.contains(&(at as usize))));
        sites.len() >= PROCEDURE_OPERATIONS || per_item
    })
}

/// Hops followed from a deadline's future into the file's functions.
const BATCH_DEPTH: u32 = 3;

/// Whether a deadline's future (`timeout(budget, self.inner.adapters(..))`)
/// reaches the network only through calls made once per item of a
/// collection: futures handed to `join_all` / `try_join_all` (also built
/// by a `let` first), or a `for` loop over a collection, directly or in
/// the file's functions it calls (a few hops). Such a deadline is a budget
/// over a batch (validating every provider, checking every peer), not a
/// request's deadline a mesh route could own.
pub fn is_batch_budget(
    cx: &FileCtx<'_>,
    fns: &[FnItem<'_>],
    caller: &FnItem<'_>,
    scope: &FnScope<'_>,
    future: &Expr,
) -> bool {
    let scan = NetScan::new(cx, scope, caller.self_ty.as_deref());
    let mut memo = vec![None; fns.len()];
    batch_only(
        cx,
        fns,
        &scan,
        caller.self_ty.as_deref(),
        &fan_out_ranges(cx, scope, ExprOrBlock::Expr(future)),
        ExprOrBlock::Expr(future),
        &mut memo,
        0,
    )
}

/// Whether every HTTP or gRPC call site in `code` sits in one of `ranges`
/// (runs per item) or calls a function of the file that is itself batch
/// only, with at least one such call.
#[allow(clippy::too_many_arguments)]
fn batch_only(
    cx: &FileCtx<'_>,
    fns: &[FnItem<'_>],
    scan: &NetScan<'_, '_>,
    self_ty: Option<&str>,
    ranges: &[Range<usize>],
    code: ExprOrBlock<'_>,
    memo: &mut Vec<Option<bool>>,
    depth: u32,
) -> bool {
    let calls = match code {
        ExprOrBlock::Expr(e) => scan.calls_in_expr(e),
        ExprOrBlock::Block(b) => scan.calls_in_block(b),
    };
    let sites: Vec<&NetCall> = calls.iter().filter(|c| c.protocol.is_l7()).collect();
    if sites.is_empty() {
        return false;
    }
    // The call expressions of the sites outside the ranges, to follow.
    let outside: Vec<usize> = sites
        .iter()
        .map(|c| c.range.byte_start as usize)
        .filter(|at| !ranges.iter().any(|r| r.contains(at)))
        .collect();
    if outside.is_empty() {
        return true;
    }
    if depth >= BATCH_DEPTH {
        return false;
    }
    // Every site outside the ranges must be a call of one of the file's
    // functions that is batch only.
    let mut exprs: Vec<&Expr> = Vec::new();
    {
        struct V<'v, 'a, 'x> {
            cx: &'v FileCtx<'a>,
            starts: &'v [usize],
            out: &'v mut Vec<&'x Expr>,
        }
        impl<'x> Visit<'x> for V<'_, '_, 'x> {
            fn visit_expr(&mut self, e: &'x Expr) {
                let range = match e {
                    Expr::MethodCall(m) => Some(self.cx.method_range(m)),
                    Expr::Call(c) => Some(self.cx.call_range(c)),
                    _ => None,
                };
                if range.is_some_and(|r| self.starts.contains(&(r.byte_start as usize))) {
                    self.out.push(e);
                }
                syn::visit::visit_expr(self, e);
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut v = V {
            cx,
            starts: &outside,
            out: &mut exprs,
        };
        match code {
            ExprOrBlock::Expr(e) => v.visit_expr(e),
            ExprOrBlock::Block(b) => v.visit_block(b),
        }
    }
    if exprs.is_empty() {
        return false;
    }
    exprs.iter().all(|e| {
        let mut targets = CallTargets {
            cx,
            fns,
            self_ty,
            scope: Some(scan.scope),
            out: Vec::new(),
        };
        // The call itself, not its arguments; a receiver by its declared
        // type first (`self.inner` of `inner: Arc<Inner<T>>`, by its owner).
        match e {
            Expr::MethodCall(m) => {
                let declared = match scan.receiver_decl(&m.receiver, 0) {
                    Some(super::net::Recv::Type { krate: None, name }) => Some(name),
                    _ => None,
                };
                if let Some(ty) = declared.or_else(|| targets.receiver_type(&m.receiver)) {
                    targets.push_unique(&m.method.to_string(), Some(&ty));
                }
            }
            Expr::Call(c) => targets.push_call(c),
            _ => {}
        }
        let [i] = targets.out[..] else {
            return false;
        };
        if let Some(known) = memo[i] {
            return known;
        }
        memo[i] = Some(false);
        let f = &fns[i];
        let callee_scope = FnScope::new(Some(f.sig), f.body);
        let callee_scan = NetScan::new(cx, &callee_scope, f.self_ty.as_deref());
        let ranges = fan_out_ranges(cx, &callee_scope, ExprOrBlock::Block(f.body));
        let result = batch_only(
            cx,
            fns,
            &callee_scan,
            f.self_ty.as_deref(),
            &ranges,
            ExprOrBlock::Block(f.body),
            memo,
            depth + 1,
        );
        memo[i] = Some(result);
        result
    })
}

/// Byte ranges of code that runs once per item of a collection: the
/// futures handed to `join_all` / `try_join_all` / `select_all`, a stream
/// run n at a time (`buffer_unordered`, `buffered`, `for_each_concurrent`),
/// futures collected into a `FuturesUnordered` / `JoinSet` (each through
/// the `let` that builds it) and the bodies of `for` loops over a
/// collection. (Work spawned on a `JoinSet` is not the caller's call at all.)
fn fan_out_ranges(
    cx: &FileCtx<'_>,
    scope: &FnScope<'_>,
    code: ExprOrBlock<'_>,
) -> Vec<Range<usize>> {
    struct V<'v, 'a, 's> {
        cx: &'v FileCtx<'a>,
        scope: &'v FnScope<'s>,
        out: Vec<Range<usize>>,
        /// `let` hops still to follow from a name to its initialiser.
        lets: u32,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                // Also through a re-export (`crate::futures03::future::join_all`).
                let joins = segs.len() >= 2
                    && segs[..segs.len() - 1]
                        .iter()
                        .any(|s| s.starts_with("futures") || s == "future")
                    && matches!(
                        segs.last().map(String::as_str),
                        Some("join_all" | "try_join_all" | "select_all" | "select_ok")
                    );
                if joins {
                    for a in &c.args {
                        let init = match a {
                            Expr::Path(p) => p
                                .path
                                .get_ident()
                                .and_then(|id| self.scope.binding_at(id))
                                .and_then(|b| b.init),
                            _ => None,
                        };
                        self.out.push(init.unwrap_or(a).span().bytes());
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
            // A fan-out built by a `let` and bounded later
            // (`let round = stream::iter(..).buffered(4).collect(); timeout(d, round)`).
            let init = p
                .path
                .get_ident()
                .and_then(|id| self.scope.binding_at(id))
                .and_then(|b| b.init);
            if let (Some(init), true) = (init, self.lets > 0) {
                let mut inner = V {
                    cx: self.cx,
                    scope: self.scope,
                    out: Vec::new(),
                    lets: self.lets - 1,
                };
                inner.visit_expr(init);
                self.out.extend(inner.out);
            }
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            match m.method.to_string().as_str() {
                // A stream of futures run n at a time
                // (`stream::iter(peers).map(|p| get(p)).buffer_unordered(8)`):
                // the stream before it makes one call per item.
                "buffer_unordered" | "buffered" | "try_buffer_unordered" | "try_buffered" => {
                    self.out.push(m.receiver.span().bytes());
                }
                // A closure run for each item of the stream, concurrently.
                "for_each_concurrent" | "try_for_each_concurrent" => {
                    self.out.push(m.receiver.span().bytes());
                    if let Some(f) = m.args.last() {
                        self.out.push(f.span().bytes());
                    }
                }
                // Futures gathered into a set polled together
                // (`.collect::<FuturesUnordered<_>>()`).
                "collect" if m.turbofish.as_ref().is_some_and(names_future_set) => {
                    self.out.push(m.receiver.span().bytes());
                }
                _ => {}
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_local(&mut self, l: &'x syn::Local) {
            // `let set: FuturesUnordered<_> = peers.iter().map(..).collect();`
            if let (syn::Pat::Type(t), Some(init)) = (&l.pat, &l.init) {
                if type_names_future_set(&t.ty) {
                    self.out.push(init.expr.span().bytes());
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_for_loop(&mut self, f: &'x syn::ExprForLoop) {
            let mut e = &*f.expr;
            while let Expr::Paren(p) = e {
                e = &p.expr;
            }
            if !matches!(e, Expr::Range(_)) {
                self.out.push(f.body.span().bytes());
            }
            syn::visit::visit_expr_for_loop(self, f);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    /// Collections that poll their futures together: what is gathered
    /// into them runs once per item.
    fn type_names_future_set(ty: &syn::Type) -> bool {
        match ty {
            syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| {
                ident_in(&s.ident, &["FuturesUnordered", "FuturesOrdered", "JoinSet"])
            }),
            _ => false,
        }
    }
    fn names_future_set(g: &syn::AngleBracketedGenericArguments) -> bool {
        g.args
            .iter()
            .any(|a| matches!(a, syn::GenericArgument::Type(t) if type_names_future_set(t)))
    }
    let mut v = V {
        cx,
        scope,
        out: Vec::new(),
        lets: 2,
    };
    match code {
        ExprOrBlock::Expr(e) => v.visit_expr(e),
        ExprOrBlock::Block(b) => v.visit_block(b),
    }
    v.out
}

/// Byte ranges of the bodies of `for` loops over a collection (not over an
/// integer range, which is how a retry counts its tries).
fn collection_walks(body: &syn::Block) -> Vec<Range<usize>> {
    struct V(Vec<Range<usize>>);
    impl<'x> Visit<'x> for V {
        fn visit_expr_for_loop(&mut self, f: &'x syn::ExprForLoop) {
            let mut e = &*f.expr;
            while let Expr::Paren(p) = e {
                e = &p.expr;
            }
            if !matches!(e, Expr::Range(_)) {
                self.0.push(f.body.span().bytes());
            }
            syn::visit::visit_expr_for_loop(self, f);
        }
        fn visit_expr_closure(&mut self, _: &'x syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0
}

/// The file's functions that calls in an expression name: `self.m()`,
/// `x.m()` where `x` is bound to a value of a type of this file
/// (`let x = Self::new(..)?`, `let x: T`), `self.field.m()` by the field's
/// type, `Self::f(..)`, `T::f(..)` and free `f(..)`. A name that several
/// functions could answer to is left unresolved.
struct CallTargets<'c, 'f, 'a, 's> {
    cx: &'c FileCtx<'a>,
    fns: &'f [FnItem<'a>],
    self_ty: Option<&'c str>,
    scope: Option<&'s FnScope<'s>>,
    out: Vec<usize>,
}

impl CallTargets<'_, '_, '_, '_> {
    fn push_unique(&mut self, name: &str, ty: Option<&str>) {
        let mut hits = self
            .fns
            .iter()
            .enumerate()
            .filter(|(_, f)| f.name == name && f.self_ty.as_deref() == ty);
        if let (Some((i, _)), None) = (hits.next(), hits.next()) {
            self.out.push(i);
        }
    }

    /// The function a call names (`f(..)`, `Self::f(..)`, `T::f(..)`), its
    /// arguments left out.
    fn push_call(&mut self, c: &syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            match segs.as_slice() {
                [f] => self.push_unique(f, None),
                [ty, f] if ty == "Self" => {
                    if let Some(own) = self.self_ty {
                        self.push_unique(f, Some(own));
                    }
                }
                [ty, f] => self.push_unique(f, Some(ty)),
                _ => {}
            }
        }
    }

    /// The type a receiver holds, as this file names it.
    fn receiver_type(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Paren(p) => self.receiver_type(&p.expr),
            Expr::Reference(r) => self.receiver_type(&r.expr),
            Expr::Path(p) if p.path.is_ident("self") => self.self_ty.map(str::to_string),
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                let b = self.scope?.binding_at(id)?;
                if let Some(ty) = b.ty {
                    return shared_type_name(ty);
                }
                let init = b.init?;
                // `let engine = engine.clone()`: the type of what is cloned.
                if let Expr::MethodCall(m) = init {
                    if m.method == "clone" && m.args.is_empty() {
                        return self.receiver_type(&m.receiver);
                    }
                }
                self.value_type(init)
            }
            Expr::Field(f) => {
                let syn::Member::Named(name) = &f.member else {
                    return None;
                };
                if !matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) {
                    return None;
                }
                super::scope::type_name(self.cx.field_type(&name.to_string())?)
            }
            _ => None,
        }
    }

    /// The type of a constructed value: `Self::new(..)?`, `T::connect(..).await`, `T { .. }`.
    fn value_type(&self, e: &Expr) -> Option<String> {
        match e {
            Expr::Try(t) => self.value_type(&t.expr),
            Expr::Await(a) => self.value_type(&a.base),
            Expr::Paren(p) => self.value_type(&p.expr),
            // `match T::open(..) { Ok(v) => v, Err(_) => return }`
            Expr::Match(m) => self.value_type(&m.expr),
            Expr::MethodCall(m) if ident_in(&m.method, &["unwrap", "expect", "unwrap_or_else"]) => {
                self.value_type(&m.receiver)
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let n = p.path.segments.len();
                if n < 2 {
                    return None;
                }
                let ty = p.path.segments[n - 2].ident.to_string();
                if ty == "Self" {
                    self.self_ty.map(str::to_string)
                } else {
                    Some(ty)
                }
            }
            Expr::Struct(s) => {
                let ty = s.path.segments.last()?.ident.to_string();
                if ty == "Self" {
                    self.self_ty.map(str::to_string)
                } else {
                    Some(ty)
                }
            }
            _ => None,
        }
    }
}

impl<'x> Visit<'x> for CallTargets<'_, '_, '_, '_> {
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        if let Some(ty) = self.receiver_type(&m.receiver) {
            self.push_unique(&m.method.to_string(), Some(&ty));
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        self.push_call(c);
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

/// What a function that takes a callable does with it, for the crate index:
/// the callable parameters it hands to a retry library itself
/// (`tokio_retry::Retry::spawn(strategy, op)`, `backoff::future::retry(p, op)`,
/// `op.retry(policy)`), and the calls that pass one on to another function
/// (`run_retry(.., move || op())`), which may be the crate's retry helper.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HelperFacts {
    /// (parameter position, not counting `self`; the retry library).
    pub retried: Vec<(usize, String)>,
    /// (the called function, parameter position, argument position, not
    /// counting a method's receiver).
    pub forwards: Vec<(crate::index::Callee, usize, usize)>,
    /// Positions of the parameters that shape the policy (`.take(tries)`,
    /// `with_max_times(n)`, directly or through a `let`): the arguments a
    /// caller's values are read from.
    pub policy_params: Vec<usize>,
    /// Plain parameters handed on (`inner(op, tries)`): (the called
    /// function, parameter position, argument position).
    pub value_forwards: Vec<(crate::index::Callee, usize, usize)>,
    /// Retry loops it writes around a callable it receives.
    pub loops: Vec<LoopHelper>,
}

/// A hand-written retry loop of a generic helper around the callable it
/// receives (`retry(op, is_permanent, 3, "upload", &cancel)`), read where
/// the helper is written so that each call of it, in any crate of the
/// workspace, is reported with the caller's operation and count.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LoopHelper {
    /// Position of the callable parameter the loop re-runs (not counting
    /// `self`).
    pub op: usize,
    pub count: HelperCount,
    pub bounded: bool,
    pub backoff: Option<u128>,
    /// Position of the parameter the loop's one sleep waits for, as given
    /// (`sleep(pause)`), when the helper itself spells no delay: each
    /// call's argument is the backoff.
    pub backoff_param: Option<usize>,
    pub per_try_timeout: Option<u128>,
    pub retry_on: Vec<String>,
}

/// How many times a helper's loop re-tries, as a function of its arguments.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum HelperCount {
    /// Not readable, or not a function of the arguments we can state.
    #[default]
    Unknown,
    /// Written in the helper.
    Fixed(u32),
    /// The largest of these parameters' values (positions, not counting
    /// `self`) plus `offset`: `attempts < max_retries` gives `max_retries`,
    /// two thresholds that each let the loop go round give the larger.
    Params { params: Vec<usize>, offset: i128 },
    /// A field of the struct handed at parameter `param` (not counting
    /// `self`) plus `offset`: `attempt > policy.max_retries` of a helper
    /// given a `Policy` gives its `max_retries`.
    Field {
        param: usize,
        field: String,
        offset: i128,
    },
}

/// The retry loops a generic helper writes around a callable parameter,
/// with their count as a function of the other parameters: the loop is
/// simulated as if the callable made an HTTP call, once with no parameter
/// known and then with probe values, and a count that follows the largest
/// of some parameters plus a constant is kept as that rule (anything else
/// stays unknown: never guessed).
fn loop_helpers(cx: &FileCtx<'_>, sig: &syn::Signature, body: &syn::Block) -> Vec<LoopHelper> {
    let callables = callable_params(sig);
    if callables.is_empty() {
        return Vec::new();
    }
    let mut loops = Vec::new();
    LoopCollector {
        cx,
        loops: &mut loops,
        invocation: None,
    }
    .visit_block(body);
    if loops.is_empty() {
        return Vec::new();
    }
    let params = fn_params(sig);
    let predicates = predicate_params(sig);
    let scope = FnScope::new(Some(sig), body);
    let scan = NetScan::new(cx, &scope, None);
    let probe_net = NetSummary {
        protocol: Protocol::Http,
        dest: Destination::default(),
        probe: false,
    };
    let mut out: Vec<LoopHelper> = Vec::new();
    for (l, invocation) in loops {
        if invocation.is_some() {
            continue;
        }
        // The callable the loop re-runs: exactly one that is not a
        // predicate on the error (`is_permanent: impl Fn(&E) -> bool`).
        let ops: Vec<&String> = callables
            .iter()
            .filter(|c| {
                !predicates.contains(c)
                    && !param_calls(
                        cx,
                        l.body(),
                        std::slice::from_ref(c),
                        std::slice::from_ref(c),
                    )
                    .is_empty()
            })
            .collect();
        // Several: a classifier or a delay shaper that returns a plain
        // value (`FnMut(&E) -> Decision`) is not the operation either.
        let op_name = match ops.as_slice() {
            [one] => *one,
            [] => continue,
            many => {
                let values = value_params(sig);
                let mut rest = many.iter().filter(|c| !values.contains(c));
                match (rest.next(), rest.next()) {
                    (Some(one), None) => *one,
                    _ => continue,
                }
            }
        };
        let Some(op) = params.iter().position(|p| p == op_name) else {
            continue;
        };
        let not_told: Vec<String> = params
            .iter()
            .filter(|p| !predicates.contains(p))
            .cloned()
            .collect();
        let passed = (&probe_net, not_told, vec![op_name.clone()]);
        let run = |vals: Vec<(String, i128)>| -> Option<RetryLoop> {
            let known = ParamValues {
                cx,
                fname: "",
                sig,
                values: std::cell::OnceCell::from(vals),
            };
            analyse(&scan, l, Some(&passed), None, &known)
        };
        let Some(base) = run(Vec::new()) else {
            continue;
        };
        let ints: Vec<(usize, &String)> = params
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != op && !callables.contains(&params[*i]))
            .collect();
        let probe = |set: &[(usize, i128)]| -> Option<u32> {
            let vals = ints
                .iter()
                .map(|(i, n)| {
                    let v = set.iter().find(|(j, _)| j == i).map_or(5, |(_, v)| *v);
                    ((*n).clone(), v)
                })
                .collect();
            let r = run(vals)?;
            r.bounded.then_some(r.retries).flatten()
        };
        let mut bounded = base.bounded;
        let count = match (base.bounded, base.retries) {
            (true, Some(r)) => HelperCount::Fixed(r),
            _ => 'model: {
                let Some(at5) = probe(&[]) else {
                    break 'model HelperCount::Unknown;
                };
                let offset = i128::from(at5) - 5;
                let moves = |i: usize, v: i128| probe(&[(i, v)]).map(i128::from);
                let relevant: Vec<usize> = ints
                    .iter()
                    .map(|(i, _)| *i)
                    .filter(|i| moves(*i, 9) != Some(i128::from(at5)))
                    .collect();
                let all =
                    |v: i128| -> Vec<(usize, i128)> { relevant.iter().map(|i| (*i, v)).collect() };
                let follows_max = !relevant.is_empty()
                    && relevant.iter().all(|i| moves(*i, 9) == Some(9 + offset))
                    && probe(&all(7)).map(i128::from) == Some(7 + offset)
                    && (relevant.len() == 1 || moves(relevant[0], 2) == Some(5 + offset));
                if follows_max {
                    bounded = true;
                    HelperCount::Params {
                        params: relevant,
                        offset,
                    }
                } else {
                    HelperCount::Unknown
                }
            }
        };
        // A count read from a field of a struct parameter
        // (`policy.max_retries`): probed as the integer parameters are,
        // and kept when it follows exactly one such field.
        let count = match count {
            HelperCount::Unknown => {
                let fields = param_fields(body, &params, |i| {
                    i != op && !callables.contains(&params[i])
                });
                let follows: Vec<(usize, String, i128)> = fields
                    .into_iter()
                    .filter_map(|(i, field)| {
                        let var = format!("{}.{field}", params[i]);
                        let at = |v: i128| {
                            let r = run(vec![(var.clone(), v)])?;
                            r.bounded.then_some(r.retries).flatten().map(i128::from)
                        };
                        let offset = at(5)? - 5;
                        (at(9) == Some(9 + offset) && at(2) == Some(2 + offset))
                            .then_some((i, field, offset))
                    })
                    .collect();
                match follows.as_slice() {
                    [(param, field, offset)] => {
                        bounded = true;
                        HelperCount::Field {
                            param: *param,
                            field: field.clone(),
                            offset: *offset,
                        }
                    }
                    _ => HelperCount::Unknown,
                }
            }
            known => known,
        };
        // `sleep(pause)` of a parameter, the loop's one sleep: the caller
        // gives the delay.
        let backoff_param = match (base.backoff, sleep_args(cx, l.body()).as_slice()) {
            (None, [arg]) => match strip_value(arg) {
                Expr::Path(p) => p.path.get_ident().and_then(|id| {
                    let own = scope
                        .lookup(&id.to_string(), id.span().byte_start())
                        .is_some_and(|b| b.init.is_none() && b.field.is_none());
                    params
                        .iter()
                        .position(|n| id == n)
                        .filter(|i| own && *i != op && !callables.contains(&params[*i]))
                }),
                _ => None,
            },
            _ => None,
        };
        out.push(LoopHelper {
            op,
            count,
            bounded,
            backoff: base.backoff,
            backoff_param,
            per_try_timeout: base.per_try_timeout,
            retry_on: base.retry_on,
        });
    }
    out
}

/// Fields read off a parameter in `body` (`policy.max_retries`): the
/// parameter's position and the field's name, in order, once each, for the
/// parameters `keep` accepts.
fn param_fields(
    body: &syn::Block,
    params: &[String],
    keep: impl Fn(usize) -> bool,
) -> Vec<(usize, String)> {
    struct V<'p> {
        params: &'p [String],
        out: Vec<(usize, String)>,
    }
    impl<'x> Visit<'x> for V<'_> {
        fn visit_expr_field(&mut self, f: &'x syn::ExprField) {
            if let (Expr::Path(p), syn::Member::Named(m)) = (&*f.base, &f.member) {
                if let Some(id) = p.path.get_ident() {
                    if let Some(i) = self.params.iter().position(|n| id == n) {
                        let field = m.to_string();
                        if !self.out.iter().any(|(j, x)| *j == i && *x == field) {
                            self.out.push((i, field));
                        }
                    }
                }
            }
            syn::visit::visit_expr_field(self, f);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        params,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out.retain(|(i, _)| keep(*i));
    v.out
}

/// Reads `HelperFacts` from a function's body; empty for functions that
/// take nothing callable.
pub fn helper_facts(cx: &FileCtx<'_>, sig: &syn::Signature, body: &syn::Block) -> HelperFacts {
    use crate::index::Callee;
    let callables = callable_params(sig);
    if callables.is_empty() {
        return HelperFacts::default();
    }
    let loops = loop_helpers(cx, sig, body);
    let params = fn_params(sig);
    // Position of the callable parameter an argument is, or calls (a
    // closure or async block whose body names it).
    let param_in = |e: &Expr| -> Option<usize> {
        struct Names<'p>(&'p [String], Option<String>);
        impl<'x> Visit<'x> for Names<'_> {
            fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
                if let Some(id) = p.path.get_ident() {
                    if self.1.is_none() && self.0.iter().any(|c| id == c) {
                        self.1 = Some(id.to_string());
                    }
                }
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        // A closure is called as a method's receiver only in parentheses:
        // `(|| async { op().await }).retry(policy)`.
        let e = super::paths::unwrap_parens_refs(e);
        let mut v = Names(&callables, None);
        match e {
            Expr::Path(_) | Expr::Closure(_) | Expr::Async(_) => v.visit_expr(e),
            _ => {}
        }
        let name = v.1?;
        params.iter().position(|p| *p == name)
    };
    // `let delays = FixedInterval::from_millis(50).take(tries);`: the
    // locals a policy argument may name, and what they were built from.
    let mut lets: Vec<(String, &Expr)> = Vec::new();
    for stmt in &body.stmts {
        if let syn::Stmt::Local(l) = stmt {
            if let (Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) {
                lets.push((pi.ident.to_string(), &init.expr));
            }
        }
    }
    let names_in = |e: &Expr| -> Vec<String> {
        struct All(Vec<String>);
        impl<'x> Visit<'x> for All {
            fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
                if let Some(id) = p.path.get_ident() {
                    self.0.push(id.to_string());
                }
            }
            fn visit_item(&mut self, _: &'x syn::Item) {}
        }
        let mut v = All(Vec::new());
        v.visit_expr(e);
        v.0
    };
    let policy_in = |e: &Expr, out: &mut Vec<usize>| {
        let mut names = names_in(e);
        for n in names.clone() {
            if let Some((_, init)) = lets.iter().rev().find(|(l, _)| *l == n) {
                names.extend(names_in(init));
            }
        }
        for n in names {
            if let Some(p) = params.iter().position(|q| *q == n) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    };
    let plain_param = |e: &Expr| -> Option<usize> {
        let mut e = e;
        while let Expr::Reference(r) = e {
            e = &r.expr;
        }
        match e {
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                params.iter().position(|q| id == q)
            }
            _ => None,
        }
    };
    let again_policy = |e: &Expr| is_again_policy(cx, &lets, e, 0);
    struct V<'c, 'a, 'f> {
        cx: &'c FileCtx<'a>,
        param_in: &'f dyn Fn(&Expr) -> Option<usize>,
        policy_in: &'f dyn Fn(&Expr, &mut Vec<usize>),
        plain_param: &'f dyn Fn(&Expr) -> Option<usize>,
        again_policy: &'f dyn Fn(&Expr) -> bool,
        out: HelperFacts,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                let last = segs.last().map(String::as_str).unwrap_or("");
                let krate = segs.first().map(String::as_str).unwrap_or("");
                let n = segs.len();
                // The library calls that run an operation under a policy,
                // and where the operation goes.
                let lib_op = match krate {
                    "tokio_retry" | "tokio_retry2"
                        if n >= 2
                            && matches!(segs[n - 2].as_str(), "Retry" | "RetryIf")
                            && matches!(last, "spawn" | "start" | "spawn_notify") =>
                    {
                        Some((krate.replace('_', "-"), 1))
                    }
                    "backoff" if matches!(last, "retry" | "retry_notify") => {
                        Some(("backoff".to_string(), 1))
                    }
                    "again" if matches!(last, "retry" | "retry_if") => {
                        Some(("again".to_string(), 0))
                    }
                    "tryhard" if last == "retry_fn" => Some(("tryhard".to_string(), 0)),
                    _ => None,
                };
                if let Some((lib, at)) = lib_op {
                    if let Some(p) = c.args.iter().nth(at).and_then(self.param_in) {
                        self.out.retried.push((p, lib));
                        for (j, a) in c.args.iter().enumerate() {
                            if j != at {
                                (self.policy_in)(a, &mut self.out.policy_params);
                            }
                        }
                    }
                } else if let Some(name) = p.path.segments.last() {
                    let callee = Callee {
                        name: name.ident.to_string(),
                        via_self: p.path.segments.first().is_some_and(|s| s.ident == "Self"),
                        path: segs.to_vec(),
                    };
                    for (j, a) in c.args.iter().enumerate() {
                        if let Some(p) = (self.param_in)(a) {
                            self.out.forwards.push((callee.clone(), p, j));
                        } else if let Some(p) = (self.plain_param)(a) {
                            self.out.value_forwards.push((callee.clone(), p, j));
                        }
                    }
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            // backon: `op.retry(policy)` on the callable itself.
            let again_op =
                ident_in(&m.method, &["retry", "retry_if"]) && (self.again_policy)(&m.receiver);
            if m.method == "retry" && m.args.len() == 1 && (self.param_in)(&m.receiver).is_some() {
                if let Some(p) = (self.param_in)(&m.receiver) {
                    self.out.retried.push((p, "backon".to_string()));
                    (self.policy_in)(&m.args[0], &mut self.out.policy_params);
                }
            } else if again_op {
                // again: `policy.retry(op)`, `policy.retry_if(op, condition)`.
                if let Some(p) = m.args.first().and_then(self.param_in) {
                    self.out.retried.push((p, "again".to_string()));
                    (self.policy_in)(&m.receiver, &mut self.out.policy_params);
                }
            } else {
                let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
                let callee = Callee {
                    name: m.method.to_string(),
                    via_self: on_self,
                    path: Vec::new(),
                };
                for (j, a) in m.args.iter().enumerate() {
                    if let Some(p) = (self.param_in)(a) {
                        self.out.forwards.push((callee.clone(), p, j));
                    } else if let Some(p) = (self.plain_param)(a) {
                        self.out.value_forwards.push((callee.clone(), p, j));
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        param_in: &param_in,
        policy_in: &policy_in,
        plain_param: &plain_param,
        again_policy: &again_policy,
        out: HelperFacts::default(),
    };
    v.visit_block(body);
    v.out.retried.sort();
    v.out.retried.dedup();
    v.out.loops = loops;
    v.out
}

/// Whether an expression is an `again::RetryPolicy`: built by the crate's
/// constructors and builder methods (`RetryPolicy::exponential(d)
/// .with_max_retries(3)`), bound by a `let` of the body, or returned by a
/// function of the file declared to return one (`fn retry_policy(max:
/// usize) -> RetryPolicy`).
fn is_again_policy(cx: &FileCtx<'_>, lets: &[(String, &Expr)], e: &Expr, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let d = depth + 1;
    let is_again = |segs: &[String]| segs.first().is_some_and(|k| k == "again");
    match e {
        Expr::Paren(p) => is_again_policy(cx, lets, &p.expr, d),
        Expr::Reference(r) => is_again_policy(cx, lets, &r.expr, d),
        Expr::MethodCall(m) => is_again_policy(cx, lets, &m.receiver, d),
        Expr::Path(p) => p.path.get_ident().is_some_and(|id| {
            lets.iter()
                .rev()
                .find(|(n, _)| id == n)
                .is_some_and(|(_, init)| is_again_policy(cx, lets, init, d))
        }),
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else {
                return false;
            };
            let segs = cx.uses.resolve_shared(&p.path);
            if is_again(&segs) {
                return true;
            }
            // A function of this file that returns a policy.
            let [name] = &segs[..] else { return false };
            let mut declared = cx
                .functions()
                .iter()
                .filter(|f| f.self_ty.is_none() && f.name == *name)
                .map(|f| match &f.sig.output {
                    syn::ReturnType::Type(_, ty) => match &**ty {
                        syn::Type::Path(tp) => is_again(&cx.uses.resolve_shared(&tp.path)),
                        _ => false,
                    },
                    syn::ReturnType::Default => false,
                });
            matches!((declared.next(), declared.next()), (Some(true), None))
        }
        _ => false,
    }
}

/// Calls of the crate's own retry helpers (`backoff::retry(|| upload(..),
/// is_permanent, 3, 10, "upload", &cancel)`, `self.with_retries(op)`)
/// whose operation makes an HTTP or gRPC call: each is the crate's retry
/// loop applied to that call, reported at the call with the operation's
/// destination and the count its arguments give.
pub fn helper_call_retries(cx: &FileCtx<'_>) -> Vec<RetryLoop> {
    let mut out = Vec::new();
    for f in cx.functions() {
        if !names_a_helper(cx, f.body) {
            continue;
        }
        let scope = FnScope::new(Some(f.sig), f.body);
        let scan = NetScan::new(cx, &scope, f.self_ty.as_deref());
        let module = [cx.module.as_slice(), f.module.as_slice()].concat();
        let mut v = HelperCalls {
            scan: &scan,
            module: &module,
            out: &mut out,
        };
        v.visit_block(f.body);
    }
    out.sort_by_key(|r| r.bytes.start);
    out.dedup_by_key(|r| r.bytes.start);
    out
}

/// Whether a body calls a function or method named like one of the
/// crate's retry helpers: the scope is built only for those.
fn names_a_helper(cx: &FileCtx<'_>, body: &syn::Block) -> bool {
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        found: bool,
    }
    impl V<'_, '_> {
        fn helper(&self, name: &str) -> bool {
            self.cx
                .index
                .functions(name)
                .iter()
                .any(|f| !f.helper.loops.is_empty())
        }
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                if segs.last().is_some_and(|n| self.helper(n)) {
                    self.found = true;
                }
            }
            if !self.found {
                syn::visit::visit_expr_call(self, c);
            }
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if self.helper(&m.method.to_string()) {
                self.found = true;
            }
            if !self.found {
                syn::visit::visit_expr_method_call(self, m);
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V { cx, found: false };
    v.visit_block(body);
    v.found
}

/// The integer a struct argument gives field `field`: a literal
/// (`Policy { max_retries: 4, .. }`), also through `&`, `.clone()`, a `let`
/// or a `const` of the file, or what an associated function without
/// parameters of the crate returns (`Policy::default()`).
fn struct_arg_field(scan: &NetScan<'_, '_>, arg: &Expr, field: &str) -> Option<i128> {
    let mut e = arg;
    for _ in 0..8 {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Reference(r) => e = &r.expr,
            Expr::MethodCall(m) if m.method == "clone" && m.args.is_empty() => e = &m.receiver,
            Expr::Path(p) => {
                let init = match p.path.get_ident() {
                    Some(id) => scan.scope.binding_at(id).and_then(|b| b.init),
                    None => None,
                };
                e = match init {
                    Some(init) => init,
                    None => scan
                        .cx
                        .const_expr(&p.path.segments.last()?.ident.to_string())?,
                };
            }
            // `Policy::default()`: the literal that function returns.
            Expr::Call(c) if c.args.is_empty() => {
                let Expr::Path(p) = &*c.func else { return None };
                let segs = scan.cx.uses.resolve_shared(&p.path);
                let [.., ty, f] = segs.as_slice() else {
                    return None;
                };
                let v = scan
                    .cx
                    .index
                    .ctor_field_value(&format!("{ty}::{f}"), field)?;
                return v.as_int();
            }
            Expr::Struct(lit) => {
                let v = lit
                    .fields
                    .iter()
                    .find(|f| matches!(&f.member, syn::Member::Named(id) if id == field))?;
                return scan.ev.eval(&v.expr).as_int();
            }
            _ => return None,
        }
    }
    None
}

struct HelperCalls<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    module: &'s [String],
    out: &'s mut Vec<RetryLoop>,
}

impl HelperCalls<'_, '_, '_> {
    /// The network calls an operation makes: a closure or async block, or
    /// a crate function passed by name.
    fn op_calls(&self, op: &Expr) -> Vec<NetCall> {
        let scan = self.scan;
        let mut calls = scan.calls_in_expr(op);
        let mut e = op;
        while let Expr::Reference(r) = e {
            e = &r.expr;
        }
        if let (true, Expr::Path(p)) = (calls.is_empty(), e) {
            let bound = p
                .path
                .get_ident()
                .is_some_and(|id| scan.scope.binding_at(id).is_some());
            let segs = scan.cx.uses.resolve_shared(&p.path);
            if let (false, Some(name)) = (bound, segs.last()) {
                if let Some(n) = scan.cx.index.net_of_path(&segs, self.module, scan.self_ty) {
                    calls.push(NetCall {
                        protocol: n.protocol,
                        client: format!("{name}()"),
                        range: scan.cx.node_range(op),
                        dest: n.dest.clone(),
                        request_timeout: None,
                        waits: false,
                        probe: false,
                    });
                }
            }
        }
        calls.retain(|c| c.protocol.is_l7());
        calls
    }

    fn report(
        &mut self,
        name: String,
        fns: &[&crate::index::FnSummary],
        args: &[&Expr],
        range: TextRange,
        bytes: Range<usize>,
    ) {
        // Every candidate agrees on the loop, or nothing is said.
        let Some(first) = fns.first() else { return };
        let Some(helper) = first.helper.loops.first() else {
            return;
        };
        if first.helper.loops.len() != 1 || fns.iter().any(|f| f.helper.loops != first.helper.loops)
        {
            return;
        }
        let Some(op) = args.get(helper.op) else {
            return;
        };
        let calls = self.op_calls(op);
        let Some(call) = calls.first() else { return };
        let dest = if calls.iter().all(|c| c.dest == call.dest) {
            call.dest.clone()
        } else {
            Destination::default()
        };
        let ev = &self.scan.ev;
        ev.take_sources();
        let mut bounded = helper.bounded;
        let retries = match &helper.count {
            HelperCount::Fixed(r) => Some(*r),
            HelperCount::Params { params, offset } => {
                let vals: Option<Vec<i128>> = params
                    .iter()
                    .map(|p| {
                        let a = args.get(*p)?;
                        ev.eval(a).as_int().or_else(|| int_max(a))
                    })
                    .collect();
                match vals.and_then(|v| v.into_iter().max()).map(|m| m + offset) {
                    Some(n) if n >= i128::from(MAX_SIMULATED_TRIES) => {
                        bounded = false;
                        None
                    }
                    Some(n) => u32::try_from(n).ok(),
                    None => None,
                }
            }
            HelperCount::Field {
                param,
                field,
                offset,
            } => {
                let v = args
                    .get(*param)
                    .and_then(|a| struct_arg_field(self.scan, a, field));
                match v.map(|m| m + offset) {
                    Some(n) if n >= i128::from(MAX_SIMULATED_TRIES) => {
                        bounded = false;
                        None
                    }
                    Some(n) => u32::try_from(n).ok(),
                    None => None,
                }
            }
            HelperCount::Unknown => None,
        };
        let mut sources = Vec::new();
        if let (Some(_), Some(s)) = (retries, ev.take_sources().into_iter().next()) {
            sources.push(("retries", s));
        }
        let backoff = helper.backoff.or_else(|| {
            let a = args.get(helper.backoff_param?)?;
            ev.take_sources();
            let d = ev.eval(a).as_duration_nanos().filter(|d| *d > 0)?;
            if let Some(s) = ev.take_sources().into_iter().next() {
                sources.push(("backoff", s));
            }
            Some(d)
        });
        let per_try_timeout = helper
            .per_try_timeout
            .or_else(|| calls.iter().find_map(|c| c.request_timeout.map(|t| t.0)));
        self.out.push(RetryLoop {
            range,
            bytes,
            retries,
            bounded,
            per_try_timeout,
            backoff,
            retry_on: helper.retry_on.clone(),
            protocol: call.protocol,
            dest,
            reconnect: false,
            sources,
            via: Some((name, helper_path(first))),
        });
    }
}

impl<'x> Visit<'x> for HelperCalls<'_, '_, '_> {
    fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
        let cx = self.scan.cx;
        // Only names the crate's retry helpers go by are resolved.
        let helper_name = |segs: &[String]| {
            segs.last().is_some_and(|name| {
                cx.index
                    .functions(name)
                    .iter()
                    .any(|f| !f.helper.loops.is_empty())
            })
        };
        if let Expr::Path(p) = &*c.func {
            let segs = cx.uses.resolve_shared(&p.path);
            if !helper_name(&segs) {
                syn::visit::visit_expr_call(self, c);
                return;
            }
            let fns = cx.index.fns_at_path(&segs, self.module, self.scan.self_ty);
            if fns.iter().any(|f| !f.helper.loops.is_empty()) {
                let args: Vec<&Expr> = c.args.iter().collect();
                let name = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect::<Vec<_>>()
                    .join("::");
                let start = c.func.span().byte_start();
                let end = c.paren_token.span.close().byte_end();
                self.report(name, &fns, &args, cx.call_range(c), start..end.max(start));
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
        // `self.with_retries(op)`: a method of this `impl`; `self.retry.with(op)`
        // and `policy.with(op)`: a method of the field's or binding's type.
        let cx = self.scan.cx;
        let mut recv = &*m.receiver;
        while let Expr::Reference(r) = recv {
            recv = &r.expr;
        }
        let ty: Option<String> = match recv {
            Expr::Path(p) if p.path.is_ident("self") => self.scan.self_ty.map(str::to_string),
            Expr::Field(f) if matches!(&*f.base, Expr::Path(p) if p.path.is_ident("self")) => {
                match &f.member {
                    syn::Member::Named(n) => cx
                        .field_type(&n.to_string())
                        .and_then(super::scope::type_name),
                    syn::Member::Unnamed(_) => None,
                }
            }
            Expr::Path(p) => p
                .path
                .get_ident()
                .and_then(|id| self.scan.scope.binding_at(id))
                .and_then(|b| b.ty)
                .and_then(super::scope::type_name),
            _ => None,
        };
        if let Some(ty) = ty {
            let fns = cx.index.methods_of(&ty, &m.method.to_string());
            if fns.iter().any(|f| !f.helper.loops.is_empty()) {
                let args: Vec<&Expr> = m.args.iter().collect();
                let start = m.method.span().byte_start();
                let end = m.paren_token.span.close().byte_end();
                self.report(
                    format!("{}.{}", expr_text(recv), m.method),
                    &fns,
                    &args,
                    cx.method_range(m),
                    start..end.max(start),
                );
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_item(&mut self, _: &'x syn::Item) {}
}

/// `u32::MAX` and its kin as a count: "retry forever".
fn int_max(e: &Expr) -> Option<i128> {
    let Expr::Path(p) = e else { return None };
    let segs = super::paths::path_segments(&p.path);
    match segs
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [ty, "MAX"]
            if matches!(
                *ty,
                "u16" | "u32" | "u64" | "usize" | "i32" | "i64" | "isize"
            ) =>
        {
            Some(i128::from(u16::MAX))
        }
        _ => None,
    }
}

/// `toolkit::backoff::retry`, `events::Events::with_tries`.
fn helper_path(f: &crate::index::FnSummary) -> String {
    f.module
        .iter()
        .chain(f.self_ty.as_ref())
        .chain([&f.name])
        .cloned()
        .collect::<Vec<_>>()
        .join("::")
}

/// `self`, `self.retry`, `policy`: how a helper's receiver is written.
fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Path(p) => p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::"),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(n) => format!("{}.{n}", expr_text(&f.base)),
            syn::Member::Unnamed(i) => format!("{}.{}", expr_text(&f.base), i.index),
        },
        _ => "_".into(),
    }
}

#[cfg(test)]
mod clock_tests {
    use super::{leaves_on_clock, reads_clock};

    fn block(src: &str) -> syn::Block {
        syn::parse_str(src).unwrap()
    }

    #[test]
    fn a_loop_that_leaves_on_an_elapsed_deadline_is_bounded_by_time() {
        assert!(leaves_on_clock(&block(
            "{ match poll().await { Ok(r) => return Ok(r), Err(_) => {} } \
               if started.elapsed() > limit { return Err(gave_up()); } sleep(d).await; }"
        )));
        assert!(leaves_on_clock(&block(
            "{ if Instant::now() >= deadline { break; } let _ = call().await; }"
        )));
        assert!(reads_clock(
            &syn::parse_str("Instant::now() < deadline").unwrap()
        ));
    }

    #[test]
    fn a_clock_read_that_does_not_leave_bounds_nothing() {
        // Logging how long it took, or leaving from a loop of its own.
        assert!(!leaves_on_clock(&block(
            "{ if started.elapsed() > slow { warn!(\"slow\"); } let _ = call().await; }"
        )));
        assert!(!leaves_on_clock(&block(
            "{ for p in peers { if t.elapsed() > d { break; } } let _ = call().await; }"
        )));
        assert!(!reads_clock(&syn::parse_str("attempt < max").unwrap()));
    }
}
