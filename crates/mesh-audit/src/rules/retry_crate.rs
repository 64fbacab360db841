//! # retry-crate
//!
//! ## What it finds
//! A retry library wrapped around an HTTP or gRPC call: `backoff`
//! (`backoff::retry`, `backoff::future::retry`, `retry_notify`), `backon`
//! (`(|| async { .. }).retry(ExponentialBuilder::default())`),
//! `tokio-retry`/`tokio-retry2` (`Retry::spawn`, `RetryIf::spawn`),
//! `reqwest-retry` (`RetryTransientMiddleware::new_with_policy`), tower's
//! `RetryLayer` / `ServiceBuilder::retry` / `Retry::new` on a client stack
//! (a known client, or a `Service` of the crate whose `call` reaches the
//! network: an exporter's own client type; and the crate's own copy of
//! `RetryLayer`: a `Layer` whose service's `call` calls the inner service
//! again in a loop), `again`, `retry` (`retry::retry`) and `tryhard` (`tryhard::retry_fn`),
//! and the retry policy an SDK client is built with: `object_store`'s
//! `builder.with_retry(RetryConfig { max_retries: 5, .. })` and the AWS
//! SDK's `.retry_config(RetryConfig::standard().with_max_attempts(5))`
//! (`with_max_attempts` counts every try: 5 is 4 re-tries), and the Azure
//! SDK's `ClientOptions::default().retry(RetryOptions::exponential(
//! ExponentialRetryOptions::default().max_retries(5)))` (also `fixed`, a
//! client builder's `.retry(..)`, the options as a struct literal;
//! `max_retries` counts re-tries, `initial_delay` / `delay` is the
//! `backoff`, `max_total_elapsed` the `timeout`).
//! The finding points at the call that applies the policy and reads what
//! the code states, through `const`s, `let`s and builder chains:
//! `retries` (re-tries after the first try, as Istio counts `attempts`:
//! `with_max_times(3)`, `.take(3)` on a delay iterator and
//! `build_with_max_retries(3)` are all 3), `backoff` (the first wait:
//! `from_millis(10)`, `with_min_delay`, `initial_interval`, `retry_bounds`),
//! `timeout` (the total retry budget: `with_max_elapsed_time`,
//! `max_elapsed_time`, `with_total_delay`,
//! `build_with_total_retry_duration`), the `protocol` and the destination
//! `host` and `port`. A policy without a count (the `backoff` crate's
//! elapsed-time budget) has no `retries`.
//!
//! ## The crate's own retry helpers
//! They count too: a function or method that hands
//! the callable it receives to one of these libraries (directly, in a
//! closure of its own that runs it, `(|| async { sort(op().await) })
//! .retry(policy)`, or through
//! further helpers of the workspace; also inside the operation it gives an
//! `again` policy, `policy.retry_if(|| call(channel), is_transient)`, with
//! the policy built in the body or by a function of the file declared to
//! return `RetryPolicy`) is a retry helper, and each call of it
//! with a closure that makes a network call is reported at that call, with
//! the closure's host. Its values come from the call: the arguments whose
//! parameters shape the policy (`with_retries(op, 3)` where the helper does
//! `.take(tries)`), and the builder calls before it, read by their words
//! (`retrying("x").limit(4).timeout_secs(10).run(op)`: `limit`, `attempts`
//! and `tries` count every try, so `limit(4)` is 3 re-tries; `retries` and
//! `max_times` count re-tries; a `timeout` is the `per_try_timeout`, a
//! `total` or `elapsed` one the `timeout`).
//!
//! ## Why the mesh should own it
//! The sidecar already retries: Istio retries every request twice on
//! connect failures and refused streams even without a VirtualService. A
//! library policy stacks on top of it: `with_max_times(3)` behind
//! `attempts: 2` is up to 12 upstream calls per request, and a middleware on
//! a shared client retries every request that client makes. During a
//! brownout every layer retries at once — a retry storm that keeps the
//! upstream down. In mesh config the policy is visible, bounded and
//! changeable without a rebuild.
//!
//! ## Example
//! ```text
//! let resp = (|| async { client.get("http://inventory:8080/items").send().await?.error_for_status() })
//!     .retry(ExponentialBuilder::default().with_min_delay(Duration::from_millis(100)).with_max_times(3))
//!     .await?;
//! ```
//!
//! ## Use instead
//! One call, and let the mesh retry:
//! ```text
//! let resp = client.get("http://inventory:8080/items").send().await?.error_for_status()?;
//! ```
//!
//! ## Mesh config
//! ```yaml
//! apiVersion: networking.istio.io/v1
//! kind: VirtualService
//! metadata: { name: inventory }
//! spec:
//!   hosts: [inventory]
//!   http:
//!   - route: [{ destination: { host: inventory } }]
//!     retries: { attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure,reset" }
//! ```
//!
//! ## Not reported
//! The same libraries retrying local work (files, locks, channels, CPU
//! work) or database and broker calls (a mesh has no retries for opaque
//! TCP), a policy that is built but never applied, tower's `RetryLayer` on
//! a server stack (a router, not a client or channel), `failsafe`'s backoff
//! (it paces a circuit breaker, see `circuit-breaker`), functions of the
//! crate that merely share a library's name (a local `fn retry`), a crate
//! helper called with a closure that does only local work, a `run(op)` of a
//! builder whose method does not retry, and test code. An SDK policy that
//! turns retries off (`max_retries: 0`, `RetryConfig::disabled()`,
//! `with_max_attempts(1)`, Azure's `RetryOptions::none()`), states the
//! SDK's default unchanged (`RetryConfig::standard()` alone,
//! `RetryOptions::exponential(ExponentialRetryOptions::default())`) or
//! hands on a shared config's policy.

use crate::analysis::paths::unwrap_parens_refs as strip;
use crate::source::SpanBytes;
use rustc_hash::FxHashSet as HashSet;
use std::collections::BTreeMap;

use mesh_audit_model::TextRange;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::Expr;

use crate::analysis::duration::istio;
use crate::analysis::net::{Destination, Kind, NetCall, NetScan, Protocol};
use crate::analysis::paths::ends_with;
use crate::analysis::scope::type_name;
use crate::analysis::FileCtx;
use crate::config::RuleConfig;
use crate::rules::retry_loop::destination_values;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "retry-crate",
    Warning,
    Resilience,
    "retry library around an HTTP/gRPC call that the mesh already retries",
    "retry_crate.rs"
);

pub struct RetryCrate;

/// Crates whose retry policies this rule reads.
pub(crate) const RETRY_CRATES: &[&str] = &[
    "backoff",
    "backon",
    "tokio_retry",
    "tokio_retry2",
    "reqwest_retry",
    "retry_policies",
    "again",
    "retry",
    "tryhard",
];

/// Types that are retry policies or their builders, across the crates.
const POLICY_TYPES: &[&str] = &[
    "ExponentialBuilder",
    "ConstantBuilder",
    "FibonacciBuilder",
    "ExponentialBackoff",
    "ExponentialBackoffBuilder",
    "ExponentialFactorBackoff",
    "FixedInterval",
    "FibonacciBackoff",
    "RetryPolicy",
    "Constant",
    "Fixed",
    "Exponential",
    "Fibonacci",
    "NoDelay",
];

/// What the code states about a retry policy.
#[derive(Debug, Clone, Default)]
struct Policy {
    /// The expression is a retry policy of a known library.
    known: bool,
    /// `again::RetryPolicy`, whose `.retry(op)` takes the operation.
    again: bool,
    retries: Option<i128>,
    /// Nanoseconds.
    backoff: Option<u128>,
    timeout: Option<u128>,
    /// Built by `from_millis(n)`: tokio-retry's `.factor(k)` scales the delay.
    millis_base: Option<u128>,
    /// The library, when the constructor tells.
    lib: Option<&'static str>,
    /// Nanoseconds each attempt may take (a helper's `.timeout_secs(30)`).
    per_try_timeout: Option<u128>,
    /// The crate's own helper that applies the policy (`run`, `with_retry`).
    via: Option<String>,
}

/// The library a policy constructor belongs to.
fn lib_of(segs: &[String], ty: &str) -> Option<&'static str> {
    let by_crate = match segs.first().map(String::as_str) {
        Some("backoff") => Some("backoff"),
        Some("backon") => Some("backon"),
        Some("tokio_retry") => Some("tokio-retry"),
        Some("tokio_retry2") => Some("tokio-retry2"),
        Some("reqwest_retry" | "retry_policies") => Some("reqwest-retry"),
        Some("again") => Some("again"),
        Some("retry") => Some("retry"),
        Some("tryhard") => Some("tryhard"),
        _ => None,
    };
    by_crate.or(match ty {
        "ExponentialBuilder" | "ConstantBuilder" | "FibonacciBuilder" => Some("backon"),
        "ExponentialBackoffBuilder" => Some("backoff"),
        "RetryPolicy" => Some("again"),
        _ => None,
    })
}

/// One finding before it becomes a violation.
struct Found {
    range: TextRange,
    lib: &'static str,
    policy: Policy,
    protocol: Protocol,
    dest: Destination,
    /// A middleware or layer: every request of the client is retried.
    client_wide: bool,
}

/// What the file imports, for names that are only meaningful with their crate.
struct FileFacts {
    /// First segment of every `use`, globs included.
    used: HashSet<String>,
    /// `mod x` items of the file: `x::retry` is then the crate's own.
    mods: HashSet<String>,
}

impl FileFacts {
    fn new(file: &syn::File) -> FileFacts {
        struct V<'f>(&'f mut FileFacts);
        impl<'a> Visit<'a> for V<'_> {
            fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
                let mut roots = vec![&u.tree];
                while let Some(t) = roots.pop() {
                    match t {
                        syn::UseTree::Path(p) => self.0.used.insert(p.ident.to_string()),
                        syn::UseTree::Name(n) => self.0.used.insert(n.ident.to_string()),
                        syn::UseTree::Rename(r) => self.0.used.insert(r.ident.to_string()),
                        syn::UseTree::Group(g) => {
                            roots.extend(g.items.iter());
                            continue;
                        }
                        syn::UseTree::Glob(_) => continue,
                    };
                }
            }
            fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
                self.0.mods.insert(m.ident.to_string());
                syn::visit::visit_item_mod(self, m);
            }
        }
        let mut facts = FileFacts {
            used: HashSet::default(),
            mods: HashSet::default(),
        };
        V(&mut facts).visit_file(file);
        facts
    }

    fn uses(&self, krate: &str) -> bool {
        self.used.contains(krate)
    }

    fn uses_retry_crate(&self) -> bool {
        RETRY_CRATES.iter().any(|k| self.uses(k))
    }

    /// A resolved path that names `krate` itself, not a module of this file.
    fn names_crate(&self, segs: &[String], krate: &str) -> bool {
        segs.len() >= 2 && segs[0] == krate && !self.mods.contains(krate)
    }
}

impl Rule for RetryCrate {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        let facts = FileFacts::new(cx.file);
        let mut found: Vec<Found> = Vec::new();
        for (f, scope) in cx.functions().iter().zip(cx.fn_scopes()) {
            let scan = NetScan::new(cx, scope, f.self_ty.as_deref());
            let mutations = Mutations::of(f.body);
            let mut v = Finder {
                scan: &scan,
                facts: &facts,
                body: f.body,
                mutations: &mutations,
                chains_seen: HashSet::default(),
                out: &mut found,
            };
            v.visit_block(f.body);
        }
        found.sort_by_key(|f| f.range.byte_start);
        found.dedup_by_key(|f| f.range.byte_start);
        for f in found {
            out.push(violation(f));
        }
    }
}

fn violation(f: Found) -> Violation {
    let mut values = BTreeMap::new();
    let p = &f.policy;
    if let Some(r) = p.retries {
        values.insert("retries".to_string(), r.to_string());
    }
    if let Some(b) = p.backoff {
        values.insert("backoff".into(), istio(b));
    }
    if let Some(t) = p.timeout {
        values.insert("timeout".into(), istio(t));
    }
    if let Some(t) = p.per_try_timeout {
        values.insert("per_try_timeout".into(), istio(t));
    }
    values.insert("protocol".into(), f.protocol.as_str().into());
    destination_values(&f.dest, &mut values);
    let target = f.dest.target();
    let times = p
        .retries
        .map(|r| format!(" up to {r} time{}", if r == 1 { "" } else { "s" }))
        .unwrap_or_default();
    let what = if f.client_wide {
        format!(
            "`{}` retries every {} request of this client{target}{times}",
            f.lib,
            f.protocol.as_str()
        )
    } else if let Some(helper) = &p.via {
        format!(
            "`{}` (through the crate's retry helper `{helper}`) retries a {} call{target}{times}",
            f.lib,
            f.protocol.as_str()
        )
    } else {
        format!(
            "`{}` retries a {} call{target}{times}",
            f.lib,
            f.protocol.as_str()
        )
    };
    Violation {
        range: f.range,
        message: format!("{what}; stacked with the sidecar's retries this multiplies upstream calls"),
        help: "drop the retry policy, make one call and move the policy to a VirtualService `retries` block".into(),
        values,
        sources: Default::default(),
    }
}

/// Statements that configure a `let`-bound policy after it was created:
/// `b.max_elapsed_time = Some(..)`, `b.with_max_elapsed_time(Some(..))`.
struct Mutations<'a> {
    /// (binding name, byte offset, field or method name, value expression)
    list: Vec<(String, usize, String, Option<&'a Expr>)>,
}

impl<'a> Mutations<'a> {
    fn of(body: &'a syn::Block) -> Mutations<'a> {
        struct V<'a>(Vec<(String, usize, String, Option<&'a Expr>)>);
        impl<'a> Visit<'a> for V<'a> {
            fn visit_stmt(&mut self, s: &'a syn::Stmt) {
                if let syn::Stmt::Expr(e, _) = s {
                    match e {
                        Expr::Assign(a) => {
                            if let Expr::Field(f) = &*a.left {
                                if let (Expr::Path(p), syn::Member::Named(field)) =
                                    (&*f.base, &f.member)
                                {
                                    if let Some(id) = p.path.get_ident() {
                                        self.0.push((
                                            id.to_string(),
                                            id.span().byte_start(),
                                            field.to_string(),
                                            Some(&a.right),
                                        ));
                                    }
                                }
                            }
                        }
                        Expr::MethodCall(m) => {
                            if let Expr::Path(p) = &*m.receiver {
                                if let Some(id) = p.path.get_ident() {
                                    self.0.push((
                                        id.to_string(),
                                        id.span().byte_start(),
                                        m.method.to_string(),
                                        m.args.first(),
                                    ));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                syn::visit::visit_stmt(self, s);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut v = V(Vec::new());
        v.visit_block(body);
        Mutations { list: v.0 }
    }
}

struct Finder<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    facts: &'s FileFacts,
    body: &'e syn::Block,
    mutations: &'s Mutations<'e>,
    /// Method calls already seen as part of an outer chain.
    chains_seen: HashSet<usize>,
    out: &'s mut Vec<Found>,
}

/// What the struct literals of this file put in field `name`, outside test code.
fn field_inits<'f>(file: &'f syn::File, name: &str) -> Vec<&'f Expr> {
    struct V<'f, 'n> {
        name: &'n str,
        out: Vec<&'f Expr>,
    }
    impl<'f> Visit<'f> for V<'f, '_> {
        fn visit_field_value(&mut self, fv: &'f syn::FieldValue) {
            if matches!(&fv.member, syn::Member::Named(id) if id == self.name) {
                self.out.push(&fv.expr);
            }
            syn::visit::visit_field_value(self, fv);
        }
        fn visit_item_mod(&mut self, m: &'f syn::ItemMod) {
            if !crate::analysis::testcode::is_test_item(&m.attrs) {
                syn::visit::visit_item_mod(self, m);
            }
        }
        fn visit_item_fn(&mut self, f: &'f syn::ItemFn) {
            if !crate::analysis::testcode::is_test_item(&f.attrs) {
                syn::visit::visit_item_fn(self, f);
            }
        }
    }
    let mut v = V {
        name,
        out: Vec::new(),
    };
    v.visit_file(file);
    v.out
}

/// An argument that is an operation: a closure, an async block or a
/// function named by path.
fn is_operation(e: &Expr) -> bool {
    matches!(strip(e), Expr::Closure(_) | Expr::Async(_) | Expr::Path(_))
}

fn resolve_call(cx: &FileCtx<'_>, e: &Expr) -> Option<Vec<String>> {
    match strip(e) {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => Some(cx.uses.resolve(&p.path)),
            _ => None,
        },
        _ => None,
    }
}

fn method_key(m: &syn::ExprMethodCall) -> usize {
    m.method.span().byte_start()
}

impl<'e, 'a> Finder<'_, 'e, 'a> {
    fn cx(&self) -> &'e FileCtx<'a> {
        self.scan.cx
    }

    fn call_range(&self, c: &syn::ExprCall) -> TextRange {
        let start = c.func.span().byte_start();
        let end = c.paren_token.span.close().byte_end();
        self.scan.cx.lines.range(start..end.max(start))
    }

    fn dur(&self, e: Option<&Expr>) -> Option<u128> {
        e.and_then(|a| self.scan.ev.eval(a).as_duration_nanos())
    }

    fn int(&self, e: Option<&Expr>) -> Option<i128> {
        e.and_then(|a| self.scan.ev.eval(a).as_int())
            .filter(|n| *n >= 0)
    }

    /// Reads a retry policy expression: constructors, builder chains, struct
    /// literals, `let`s (and later statements that configure them), `const`s,
    /// fields and parameters of a policy type.
    fn policy_of(&self, e: &Expr, depth: u32) -> Policy {
        if depth > 12 {
            return Policy::default();
        }
        let d = depth + 1;
        let cx = self.scan.cx;
        match e {
            Expr::Paren(p) => self.policy_of(&p.expr, d),
            Expr::Group(g) => self.policy_of(&g.expr, d),
            Expr::Reference(r) => self.policy_of(&r.expr, d),
            Expr::Try(t) => self.policy_of(&t.expr, d),
            Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    let name = id.to_string();
                    let at = id.span().byte_start();
                    if let Some(b) = self.scan.scope.lookup(&name, at) {
                        let mut pol = match (b.init, b.ty) {
                            (Some(init), _) => self.policy_of(init, d),
                            (None, Some(ty)) => self.policy_type(ty),
                            _ => Policy::default(),
                        };
                        if pol.known {
                            for (n, off, what, val) in &self.mutations.list {
                                if *n == name && *off > b.at && *off < at {
                                    self.apply(
                                        &mut pol,
                                        what,
                                        val.iter().copied().collect::<Vec<_>>().as_slice(),
                                    );
                                }
                            }
                        }
                        return pol;
                    }
                }
                let segs = cx.uses.resolve_shared(&p.path);
                let last = segs.last().map(String::as_str).unwrap_or("");
                if last == "NoDelay"
                    && (self.facts.uses("retry") || segs.first().is_some_and(|s| s == "retry"))
                {
                    return Policy {
                        known: true,
                        ..Policy::default()
                    };
                }
                if last.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    if let Some(init) = cx.const_expr(last) {
                        return self.policy_of(init, d);
                    }
                }
                Policy::default()
            }
            Expr::Field(f) => match &f.member {
                syn::Member::Named(name) => {
                    let name = name.to_string();
                    // The policy a constructor of this file stores in the
                    // field (`Self { policy: ExponentialBuilder::default()
                    // .with_max_times(2), .. }`), else the field's type.
                    let stored = field_inits(cx.file, &name);
                    if let [only] = stored.as_slice() {
                        let pol = self.policy_of(only, d);
                        if pol.known {
                            return pol;
                        }
                    }
                    cx.field_type(&name)
                        .map(|t| self.policy_type(t))
                        .unwrap_or_default()
                }
                _ => Policy::default(),
            },
            Expr::Struct(s) => {
                let segs = cx.uses.resolve_shared(&s.path);
                if !self.is_policy_path(&segs, "ExponentialBackoff") {
                    return Policy::default();
                }
                let mut pol = match &s.rest {
                    Some(rest) => {
                        let mut p = self.policy_of(rest, d);
                        p.known = true;
                        p
                    }
                    None => Policy {
                        known: true,
                        ..Policy::default()
                    },
                };
                pol.lib = pol
                    .lib
                    .or(lib_of(&segs, "ExponentialBackoff"))
                    .or(Some("backoff"));
                for fv in &s.fields {
                    if let syn::Member::Named(name) = &fv.member {
                        self.apply(&mut pol, &name.to_string(), &[&fv.expr]);
                    }
                }
                pol
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return Policy::default();
                };
                let segs = cx.uses.resolve_shared(&p.path);
                // A function of this file that builds the policy
                // (`fn backoff_policy() -> ExponentialBuilder { .. }`).
                if let ([name], true) = (segs.as_slice(), c.args.is_empty()) {
                    if let Some(syn::Stmt::Expr(tail, None)) =
                        cx.zero_arg_fn(name).and_then(|b| b.stmts.last())
                    {
                        let pol = self.policy_of(tail, d);
                        if pol.known {
                            return pol;
                        }
                    }
                }
                self.policy_ctor(&segs, c)
            }
            Expr::MethodCall(m) => {
                let mut pol = self.policy_of(&m.receiver, d);
                if pol.known {
                    let args: Vec<&Expr> = m.args.iter().collect();
                    self.apply(&mut pol, &m.method.to_string(), &args);
                }
                pol
            }
            _ => Policy::default(),
        }
    }

    /// `Ty::ctor` of a policy type from a retry crate (or, unqualified, in a
    /// file that imports one).
    fn is_policy_path(&self, segs: &[String], ty: &str) -> bool {
        let from_crate = segs.first().is_some_and(|k| {
            RETRY_CRATES.contains(&k.as_str()) && !self.facts.mods.contains(k.as_str())
        });
        segs.iter().any(|s| s == ty) && (from_crate || self.facts.uses_retry_crate())
    }

    fn policy_type(&self, ty: &syn::Type) -> Policy {
        let Some(name) = type_name(ty) else {
            return Policy::default();
        };
        let known = POLICY_TYPES.contains(&name.as_str()) && self.facts.uses_retry_crate();
        Policy {
            known,
            again: known && name == "RetryPolicy",
            ..Policy::default()
        }
    }

    fn policy_ctor(&self, segs: &[String], c: &syn::ExprCall) -> Policy {
        let n = segs.len();
        if n < 2 {
            // A crate function returning a policy: `fn policy() -> ExponentialBuilder`.
            return segs
                .last()
                .and_then(|name| self.scan.cx.fn_return_type(name))
                .map(|t| self.policy_type(t))
                .unwrap_or_default();
        }
        let (ty, ctor) = (segs[n - 2].as_str(), segs[n - 1].as_str());
        if !POLICY_TYPES.contains(&ty) || !self.is_policy_path(segs, ty) {
            return Policy::default();
        }
        let arg = |i: usize| c.args.iter().nth(i);
        let mut pol = Policy {
            known: true,
            again: ty == "RetryPolicy",
            lib: lib_of(segs, ty),
            ..Policy::default()
        };
        match (ty, ctor) {
            (_, "from_millis" | "from_millis_with_factor") => {
                let ms = self.int(arg(0)).map(|ms| ms as u128 * 1_000_000);
                pol.backoff = ms;
                pol.millis_base = ms;
            }
            ("FixedInterval" | "Fixed" | "Constant", "new" | "from")
            | ("RetryPolicy", "exponential" | "fixed") => {
                pol.backoff = self.dur(arg(0));
            }
            _ => {}
        }
        pol
    }

    /// One configuring call or field of a policy.
    fn apply(&self, pol: &mut Policy, what: &str, args: &[&Expr]) {
        let arg = |i: usize| args.get(i).copied();
        let is_none =
            |i: usize| matches!(arg(i).map(strip), Some(Expr::Path(p)) if p.path.is_ident("None"));
        match what {
            "with_max_times"
            | "take"
            | "with_max_retries"
            | "build_with_max_retries"
            | "retries"
            | "max_retries" => {
                pol.retries = self.int(arg(0));
            }
            "without_max_times" => pol.retries = None,
            "with_min_delay"
            | "with_delay"
            | "with_initial_interval"
            | "initial_interval"
            | "retry_bounds"
            | "exponential_backoff"
            | "fixed_backoff"
            | "linear_backoff" => {
                pol.backoff = self.dur(arg(0));
                pol.millis_base = None;
            }
            "factor" => {
                pol.backoff = match (pol.millis_base, self.int(arg(0))) {
                    (Some(base), Some(k)) => Some(base * k as u128),
                    _ => None,
                };
                pol.millis_base = None;
            }
            "with_total_delay" | "with_max_elapsed_time" | "max_elapsed_time" => {
                pol.timeout = if is_none(0) { None } else { self.dur(arg(0)) };
            }
            "build_with_total_retry_duration"
            | "build_with_total_retry_duration_and_limit_retries" => {
                pol.timeout = self.dur(arg(0));
            }
            "build_with_total_retry_duration_and_max_retries" => {
                pol.timeout = self.dur(arg(0));
                pol.retries = self.int(arg(1));
            }
            _ => {}
        }
    }

    /// The network calls an operation makes: a closure, an async block, a
    /// `let`-bound closure or a crate function passed by name.
    fn op_calls(&self, op: &Expr) -> Vec<NetCall> {
        let mut calls = self.scan.calls_in_expr(op);
        if calls.is_empty() {
            if let Expr::Path(p) = strip(op) {
                let bound = p
                    .path
                    .get_ident()
                    .is_some_and(|id| self.scan.scope.binding_at(id).is_some());
                let segs = self.scan.cx.uses.resolve_shared(&p.path);
                if let (false, Some(name)) = (bound, segs.last()) {
                    let found = self.scan.cx.index.net_of_path(
                        &segs,
                        &self.scan.cx.module,
                        self.scan.self_ty,
                    );
                    if let Some(n) = found {
                        calls.push(NetCall {
                            protocol: n.protocol,
                            client: format!("{name}()"),
                            range: self.scan.cx.node_range(op),
                            dest: n.dest.clone(),
                            request_timeout: None,
                            waits: false,
                            probe: false,
                        });
                    }
                }
            }
        }
        calls.retain(|c| c.protocol.is_l7());
        calls
    }

    fn report_op(&mut self, range: TextRange, lib: &'static str, policy: Policy, op: &Expr) {
        let calls = self.op_calls(op);
        let Some(first) = calls.first() else { return };
        let dest = if calls.iter().all(|c| c.dest == first.dest) {
            first.dest.clone()
        } else {
            Destination::default()
        };
        self.out.push(Found {
            range,
            lib,
            policy,
            protocol: first.protocol,
            dest,
            client_wide: false,
        });
    }

    /// The crate type a receiver expression has, where the crate says:
    /// a crate function's or method's return type along a builder chain
    /// (`retry("op").limit(3)`), or a `let` of one.
    fn type_of(&self, e: &Expr, depth: u32) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let cx = self.cx();
        let agreed = |fns: Vec<&crate::index::FnSummary>| -> Option<String> {
            let first = fns.first()?.ret_ty.clone()?;
            fns.iter()
                .all(|f| f.ret_ty.as_ref() == Some(&first))
                .then_some(first)
        };
        match strip(e) {
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs = cx.uses.resolve_shared(&p.path);
                    agreed(cx.index.fns_at_path(&segs, &cx.module, self.scan.self_ty))
                }
                _ => None,
            },
            Expr::MethodCall(m) => {
                let ty = self.type_of(&m.receiver, depth + 1)?;
                agreed(cx.index.methods_of(&ty, &m.method.to_string()))
            }
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                if id == "self" {
                    return self.scan.self_ty.map(str::to_string);
                }
                let b = self.scan.scope.binding_at(id)?;
                match (b.ty, b.init) {
                    (Some(ty), _) => type_name(ty),
                    (None, Some(init)) => self.type_of(init, depth + 1),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `helper(op, 3)`: a crate function that applies a retry policy to the
    /// callable it receives.
    fn helper_call(&mut self, c: &syn::ExprCall) {
        let cx = self.cx();
        let Expr::Path(p) = &*c.func else { return };
        if !c.args.iter().any(is_operation) {
            return;
        }
        let segs = cx.uses.resolve_shared(&p.path);
        let fns = cx.index.fns_at_path(&segs, &cx.module, self.scan.self_ty);
        let args: Vec<&Expr> = c.args.iter().collect();
        let range = self.call_range(c);
        self.report_helper(range, &fns, &args, &[]);
    }

    /// `builder.limit(3).run(op)` / `self.with_retry(op)`: a method of a
    /// crate type that applies a retry policy to the callable it receives;
    /// the builder calls before it say the values.
    fn helper_method(&mut self, m: &syn::ExprMethodCall) {
        if !m.args.iter().any(is_operation) {
            return;
        }
        let cx = self.cx();
        let Some(ty) = self.type_of(&m.receiver, 0) else {
            return;
        };
        let fns = cx.index.methods_of(&ty, &m.method.to_string());
        // The builder calls, innermost first, and the root call's arguments.
        let mut chain: Vec<(String, Vec<&Expr>)> = Vec::new();
        let mut e = &*m.receiver;
        for _ in 0..32 {
            match strip(e) {
                Expr::MethodCall(inner) => {
                    chain.push((inner.method.to_string(), inner.args.iter().collect()));
                    e = &inner.receiver;
                }
                _ => break,
            }
        }
        let args: Vec<&Expr> = m.args.iter().collect();
        let start = m.method.span().byte_start();
        let end = m.paren_token.span.close().byte_end();
        let range = cx.lines.range(start..end.max(start));
        self.report_helper(range, &fns, &args, &chain);
    }

    fn report_helper(
        &mut self,
        range: TextRange,
        fns: &[&crate::index::FnSummary],
        args: &[&Expr],
        chain: &[(String, Vec<&Expr>)],
    ) {
        let Some(helper) = fns.first() else { return };
        for (pos, op) in args.iter().enumerate() {
            let Some(lib) = crate::index::agreed_retry_helper(fns, pos) else {
                continue;
            };
            let lib: &'static str = match lib.as_str() {
                "tokio-retry" => "tokio-retry",
                "tokio-retry2" => "tokio-retry2",
                "backoff" => "backoff",
                "again" => "again",
                "tryhard" => "tryhard",
                _ => "backon",
            };
            let mut policy = Policy {
                via: Some(helper.name.clone()),
                ..Policy::default()
            };
            // The helper's other arguments by parameter name, then the
            // builder calls from the outermost (the last word wins).
            let named: Vec<(&str, &[&Expr])> = args
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != pos && helper.helper.policy_params.contains(j))
                .filter_map(|(j, a)| {
                    helper
                        .params
                        .get(j)
                        .map(|n| (n.as_str(), std::slice::from_ref(a)))
                })
                .chain(chain.iter().rev().map(|(n, a)| (n.as_str(), a.as_slice())))
                .collect();
            for (name, a) in named {
                self.helper_value(&mut policy, name, a.first().copied());
            }
            self.report_op(range, lib, policy, op);
        }
    }

    /// What a helper argument or builder call named `name` says: an
    /// attempt limit, a retry count or a deadline. Names are the helper's
    /// own API, so they are read by their words: `limit`, `attempts` and
    /// `tries` count every try, `retries` and `max_times` the re-tries.
    fn helper_value(&self, policy: &mut Policy, name: &str, arg: Option<&Expr>) {
        let n = name.to_ascii_lowercase();
        if n.contains("no_limit") || n.contains("unlimited") || n.contains("forever") {
            policy.retries = None;
            return;
        }
        let Some(arg) = arg else { return };
        if n.contains("timeout") {
            let ns = if n.ends_with("secs") || n.ends_with("seconds") {
                self.int(Some(arg)).map(|s| s as u128 * 1_000_000_000)
            } else if n.ends_with("millis") || n.ends_with("_ms") {
                self.int(Some(arg)).map(|s| s as u128 * 1_000_000)
            } else {
                self.dur(Some(arg))
            };
            if n.contains("total") || n.contains("elapsed") {
                policy.timeout = ns.or(policy.timeout);
            } else {
                policy.per_try_timeout = ns.or(policy.per_try_timeout);
            }
        } else if n.contains("retries") || n.contains("max_times") {
            if let Some(r) = self.int(Some(arg)) {
                policy.retries = Some(r);
            }
        } else if n.contains("attempt") || n.contains("limit") || n.contains("tries") {
            if let Some(r) = self.int(Some(arg)).filter(|r| *r >= 1) {
                policy.retries = Some(r - 1);
            }
        }
    }

    fn call(&mut self, c: &syn::ExprCall) {
        let cx = self.cx();
        let Expr::Path(p) = &*c.func else { return };
        let segs = cx.uses.resolve_shared(&p.path);
        let last = segs.last().map(String::as_str).unwrap_or("");
        let arg = |i: usize| c.args.iter().nth(i);
        let facts = self.facts;
        // backoff::retry(policy, op), backoff::future::retry(policy, op), retry_notify.
        if facts.names_crate(&segs, "backoff") && matches!(last, "retry" | "retry_notify") {
            if let (Some(policy), Some(op)) = (arg(0), arg(1)) {
                let pol = self.policy_of(policy, 0);
                self.report_op(self.call_range(c), "backoff", pol, op);
            }
            return;
        }
        // retry::retry(delays, op)
        if facts.names_crate(&segs, "retry")
            && segs.len() == 2
            && matches!(last, "retry" | "retry_with_index")
        {
            if let (Some(policy), Some(op)) = (arg(0), arg(1)) {
                let pol = self.policy_of(policy, 0);
                self.report_op(self.call_range(c), "retry", pol, op);
            }
            return;
        }
        // again::retry(op), again::retry_if(op, cond)
        if facts.names_crate(&segs, "again") && matches!(last, "retry" | "retry_if") {
            if let Some(op) = arg(0) {
                self.report_op(self.call_range(c), "again", Policy::default(), op);
            }
            return;
        }
        // tokio_retry::Retry::spawn(strategy, action), RetryIf::spawn(strategy, action, cond)
        let tokio_retry = ["tokio_retry", "tokio_retry2"]
            .into_iter()
            .find(|k| facts.names_crate(&segs, k) || segs.len() == 2 && facts.uses(k));
        if let Some(k) = tokio_retry {
            if segs.len() >= 2
                && matches!(segs[segs.len() - 2].as_str(), "Retry" | "RetryIf")
                && matches!(last, "spawn" | "start" | "spawn_notify")
            {
                if let (Some(policy), Some(op)) = (arg(0), arg(1)) {
                    let pol = self.policy_of(policy, 0);
                    let lib = if k == "tokio_retry" {
                        "tokio-retry"
                    } else {
                        "tokio-retry2"
                    };
                    self.report_op(self.call_range(c), lib, pol, op);
                }
                return;
            }
        }
        // tryhard::retry_fn(op) without a chain (a chain is read from its outer end).
        if facts.names_crate(&segs, "tryhard") && matches!(last, "retry_fn") {
            let key = c.func.span().byte_start();
            if !self.chains_seen.contains(&key) {
                if let Some(op) = arg(0) {
                    self.report_op(self.call_range(c), "tryhard", Policy::default(), op);
                }
            }
            return;
        }
        // reqwest-retry: always HTTP.
        if ends_with(&segs, &["RetryTransientMiddleware", "new_with_policy"])
            || ends_with(
                &segs,
                &["RetryTransientMiddleware", "new_with_policy_and_strategy"],
            )
        {
            let pol = arg(0).map(|a| self.policy_of(a, 0)).unwrap_or_default();
            let dest = self.middleware_client_dest(c.func.span().byte_start());
            self.out.push(Found {
                range: self.call_range(c),
                lib: "reqwest-retry",
                policy: pol,
                protocol: Protocol::Http,
                dest,
                client_wide: true,
            });
            return;
        }
        // tower::retry::Retry::new(policy, service)
        if segs.first().is_some_and(|s| s == "tower") && ends_with(&segs, &["Retry", "new"]) {
            if let Some(svc) = arg(1) {
                if let Some((protocol, dest)) = self.client_of(svc) {
                    self.out.push(Found {
                        range: self.call_range(c),
                        lib: "tower",
                        policy: Policy::default(),
                        protocol,
                        dest,
                        client_wide: true,
                    });
                }
            }
        }
    }

    fn method(&mut self, m: &syn::ExprMethodCall) {
        let method = m.method.to_string();
        // The Azure SDK's `ClientOptions::default().retry(RetryOptions::..)`
        // (also a client builder's `.retry(..)`): every request retried.
        if method == "retry" && self.uses_azure_sdk() {
            if let Some(found) = self.azure_retry(m) {
                self.out.push(found);
                return;
            }
        }
        if matches!(method.as_str(), "retry" | "retry_if" | "retry_notify") {
            if self.builder_root(&m.receiver).is_some() {
                return; // `ServiceBuilder::retry`: read with its chain
            }
            let recv = self.policy_of(&m.receiver, 0);
            if recv.known && recv.again {
                if let Some(op) = m.args.first() {
                    self.report_op(self.scan.cx.method_range(m), "again", recv, op);
                }
                return;
            }
            let arg = m
                .args
                .first()
                .map(|a| self.policy_of(a, 0))
                .unwrap_or_default();
            let closure_like = matches!(
                strip(&m.receiver),
                Expr::Closure(_) | Expr::Path(_) | Expr::Async(_)
            );
            if arg.known
                || method == "retry"
                    && m.args.len() == 1
                    && self.facts.uses("backon")
                    && closure_like
            {
                let lib = arg.lib.unwrap_or(
                    if self.facts.uses("backoff") && !self.facts.uses("backon") {
                        "backoff"
                    } else {
                        "backon"
                    },
                );
                self.report_op(self.scan.cx.method_range(m), lib, arg, &m.receiver);
            }
            return;
        }
        if let Some(found) = self.sdk_retry_config(m) {
            self.out.push(found);
            return;
        }
        // `RetryLayer::new(p).layer(client)`
        if method == "layer" {
            if let (Some(site), Some(svc)) = (self.retry_layer(&m.receiver, 0), m.args.first()) {
                if let Some((protocol, dest)) = self.client_of(svc) {
                    self.out.push(Found {
                        range: site,
                        lib: "tower",
                        policy: Policy::default(),
                        protocol,
                        dest,
                        client_wide: true,
                    });
                }
            }
        }
    }

    /// The retry policy an object-storage or cloud SDK client is built
    /// with: object_store's `builder.with_retry(RetryConfig { max_retries:
    /// 5, .. })` and the AWS SDK's `.retry_config(RetryConfig::standard()
    /// .with_max_attempts(5))`. Every request the client makes is retried.
    /// A policy that turns retries off (`max_retries: 0`,
    /// `RetryConfig::disabled()`, `with_max_attempts(1)`) and the SDK's
    /// default policy handed on unchanged are not findings.
    fn sdk_retry_config(&self, m: &syn::ExprMethodCall) -> Option<Found> {
        let method = m.method.to_string();
        let [arg] = m.args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        let (lib, policy) = match method.as_str() {
            "with_retry" if self.facts.uses("object_store") => {
                ("object_store", self.object_store_retry(arg, 0)?)
            }
            "retry_config" | "set_retry_config" if self.uses_aws_sdk() => {
                // `known` once a count is stated: `RetryConfig::standard()`
                // alone is the SDK's own default.
                let pol = self.aws_retry_config(arg, 0)?;
                ("aws-sdk", pol.known.then_some(pol)?)
            }
            _ => return None,
        };
        if policy.retries == Some(0) {
            return None;
        }
        Some(Found {
            range: self.scan.cx.method_range(m),
            lib,
            policy,
            protocol: Protocol::Http,
            dest: Destination::default(),
            client_wide: true,
        })
    }

    fn uses_azure_sdk(&self) -> bool {
        self.facts.used.iter().any(|k| k.starts_with("azure_"))
    }

    /// `.retry(RetryOptions::exponential(ExponentialRetryOptions::default()
    /// .max_retries(5)))` of the Azure SDK, once it states a count, a delay
    /// or a budget (`RetryOptions::default()` alone is the SDK's own
    /// policy; `RetryOptions::none()` turns retries off).
    fn azure_retry(&self, m: &syn::ExprMethodCall) -> Option<Found> {
        let [arg] = m.args.iter().collect::<Vec<_>>()[..] else {
            return None;
        };
        let policy = self.azure_retry_options(arg, 0)?;
        if !policy.known || policy.retries == Some(0) {
            return None;
        }
        Some(Found {
            range: self.scan.cx.method_range(m),
            lib: "azure-sdk",
            policy,
            protocol: Protocol::Http,
            dest: Destination::default(),
            client_wide: true,
        })
    }

    /// What an Azure `RetryOptions` (or the exponential / fixed options
    /// inside it) states.
    fn azure_retry_options(&self, e: &Expr, depth: u32) -> Option<Policy> {
        if depth > 8 {
            return None;
        }
        if let Some(init) = self.let_init(e) {
            return self.azure_retry_options(init, depth + 1);
        }
        let azure_type = |segs: &[String], ty: &[&str]| {
            let n = segs.len();
            n >= 3 && ty.contains(&segs[n - 2].as_str()) && segs[0].starts_with("azure_")
        };
        match strip(e) {
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let segs = self.scan.cx.uses.resolve_shared(&p.path);
                let last = segs.last()?.as_str();
                if azure_type(&segs, &["RetryOptions"]) {
                    return match last {
                        "exponential" | "fixed" => {
                            self.azure_retry_options(c.args.first()?, depth + 1)
                        }
                        "none" => Some(Policy {
                            known: true,
                            retries: Some(0),
                            lib: Some("azure-sdk"),
                            ..Policy::default()
                        }),
                        "default" => Some(Policy {
                            lib: Some("azure-sdk"),
                            ..Policy::default()
                        }),
                        _ => None,
                    };
                }
                (azure_type(&segs, &["ExponentialRetryOptions", "FixedRetryOptions"])
                    && last == "default")
                    .then(|| Policy {
                        lib: Some("azure-sdk"),
                        ..Policy::default()
                    })
            }
            Expr::MethodCall(mc) => {
                let mut pol = self.azure_retry_options(&mc.receiver, depth + 1)?;
                self.azure_option(&mut pol, &mc.method.to_string(), mc.args.first());
                Some(pol)
            }
            // `ExponentialRetryOptions { max_retries: 5, ..Default::default() }`
            Expr::Struct(st) => {
                let segs = self.scan.cx.uses.resolve_shared(&st.path);
                let name = segs.last()?.as_str();
                if !matches!(name, "ExponentialRetryOptions" | "FixedRetryOptions") {
                    return None;
                }
                let mut pol = Policy {
                    lib: Some("azure-sdk"),
                    ..Policy::default()
                };
                for f in &st.fields {
                    if let syn::Member::Named(field) = &f.member {
                        self.azure_option(&mut pol, &field.to_string(), Some(&f.expr));
                    }
                }
                Some(pol)
            }
            _ => None,
        }
    }

    /// One setting of Azure's retry options, by its method or field name.
    fn azure_option(&self, pol: &mut Policy, name: &str, arg: Option<&Expr>) {
        match name {
            "max_retries" => {
                pol.known = true;
                pol.retries = self.int(arg);
            }
            "initial_delay" | "delay" => {
                pol.known = true;
                pol.backoff = self.dur(arg);
            }
            "max_total_elapsed" => {
                pol.known = true;
                pol.timeout = self.dur(arg);
            }
            _ => {}
        }
    }

    fn uses_aws_sdk(&self) -> bool {
        self.facts
            .used
            .iter()
            .any(|k| k == "aws_config" || k == "aws_smithy_types" || k.starts_with("aws_sdk_"))
    }

    /// A `let` binding's initialiser, when `e` names one.
    fn let_init(&self, e: &Expr) -> Option<&'e Expr> {
        let Expr::Path(p) = strip(e) else { return None };
        let id = p.path.get_ident()?;
        self.scan
            .scope
            .lookup(&id.to_string(), id.span().byte_start())?
            .init
    }

    /// An `object_store::RetryConfig`: a struct literal (through `let`s),
    /// or a function of this file declared to return one (its values then
    /// depend on its arguments and stay unknown).
    fn object_store_retry(&self, e: &Expr, depth: u32) -> Option<Policy> {
        if depth > 8 {
            return None;
        }
        let cx = self.scan.cx;
        if let Some(init) = self.let_init(e) {
            return self.object_store_retry(init, depth + 1);
        }
        match strip(e) {
            Expr::Struct(s) => {
                let segs = cx.uses.resolve_shared(&s.path);
                if segs.last().map(String::as_str) != Some("RetryConfig") {
                    return None;
                }
                let mut pol = Policy {
                    known: true,
                    lib: Some("object_store"),
                    ..Policy::default()
                };
                for fv in &s.fields {
                    let syn::Member::Named(name) = &fv.member else {
                        continue;
                    };
                    match name.to_string().as_str() {
                        "max_retries" => pol.retries = self.int(Some(&fv.expr)),
                        "retry_timeout" => pol.timeout = self.dur(Some(&fv.expr)),
                        "backoff" => {
                            if let Expr::Struct(b) = strip(&fv.expr) {
                                for bf in &b.fields {
                                    if matches!(&bf.member, syn::Member::Named(n) if n == "init_backoff")
                                    {
                                        pol.backoff = self.dur(Some(&bf.expr));
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Some(pol)
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let segs = cx.uses.resolve_shared(&p.path);
                let [name] = segs.as_slice() else { return None };
                let returns = cx.fn_return_type(name).and_then(type_name)?;
                (returns == "RetryConfig").then(|| Policy {
                    known: true,
                    lib: Some("object_store"),
                    ..Policy::default()
                })
            }
            _ => None,
        }
    }

    /// An AWS SDK `RetryConfig` built from `RetryConfig::standard()` or
    /// `adaptive()` with a stated `with_max_attempts(n)` (n counts every
    /// try, so n - 1 re-tries), through `let`s, `Some(..)` and `.build()`.
    fn aws_retry_config(&self, e: &Expr, depth: u32) -> Option<Policy> {
        if depth > 8 {
            return None;
        }
        if let Some(init) = self.let_init(e) {
            return self.aws_retry_config(init, depth + 1);
        }
        match strip(e) {
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                if p.path.is_ident("Some") {
                    return self.aws_retry_config(c.args.first()?, depth + 1);
                }
                let segs = self.scan.cx.uses.resolve_shared(&p.path);
                let n = segs.len();
                if n < 2 || segs[n - 2] != "RetryConfig" {
                    return None;
                }
                match segs[n - 1].as_str() {
                    "standard" | "adaptive" => Some(Policy {
                        known: false,
                        lib: Some("aws-sdk"),
                        ..Policy::default()
                    }),
                    _ => None,
                }
            }
            Expr::MethodCall(mc) => {
                let mut pol = self.aws_retry_config(&mc.receiver, depth + 1)?;
                let arg = mc.args.first();
                match mc.method.to_string().as_str() {
                    "with_max_attempts" | "max_attempts" => {
                        pol.known = true;
                        let tries = arg.and_then(|a| match strip(a) {
                            Expr::Call(s) if matches!(&*s.func, Expr::Path(p) if p.path.is_ident("Some")) => {
                                self.int(s.args.first())
                            }
                            _ => self.int(Some(a)),
                        });
                        pol.retries = tries.map(|t| (t - 1).max(0));
                    }
                    "with_initial_backoff" | "initial_backoff" => pol.backoff = self.dur(arg),
                    _ => {}
                }
                Some(pol)
            }
            _ => None,
        }
    }

    /// A chain of method calls, outermost first, read once from its outer
    /// end; a receiver bound by `let` continues into its initialiser.
    fn chain<'x>(&mut self, m: &'x syn::ExprMethodCall)
    where
        'e: 'x,
    {
        if self.chains_seen.contains(&method_key(m)) {
            return;
        }
        let mut links: Vec<&'x syn::ExprMethodCall> = Vec::new();
        let mut cur = m;
        let mut hops = 0;
        let root: &'x Expr = loop {
            links.push(cur);
            self.chains_seen.insert(method_key(cur));
            match strip(&cur.receiver) {
                Expr::MethodCall(inner) => cur = inner,
                Expr::Path(p) if hops < 3 => {
                    let init = p
                        .path
                        .get_ident()
                        .and_then(|id| self.scan.scope.binding_at(id))
                        .and_then(|b| b.init);
                    match init.map(strip) {
                        Some(Expr::MethodCall(inner)) => {
                            hops += 1;
                            cur = inner;
                        }
                        Some(other) => break other,
                        None => break strip(&cur.receiver),
                    }
                }
                other => break other,
            }
        };
        let Expr::Call(c) = root else { return };
        let Expr::Path(p) = &*c.func else { return };
        let segs = self.scan.cx.uses.resolve_shared(&p.path);
        // tryhard::retry_fn(op).retries(3).exponential_backoff(d)
        if self.facts.names_crate(&segs, "tryhard") && segs.last().is_some_and(|s| s == "retry_fn")
        {
            self.chains_seen.insert(c.func.span().byte_start());
            let mut pol = Policy {
                known: true,
                ..Policy::default()
            };
            for l in links.iter().rev() {
                let args: Vec<&Expr> = l.args.iter().collect();
                self.apply(&mut pol, &l.method.to_string(), &args);
            }
            if let Some(op) = c.args.first() {
                self.report_op(self.call_range(c), "tryhard", pol, op);
            }
            return;
        }
        // tower::ServiceBuilder::new()...layer(RetryLayer::new(p))...service(client)
        if ends_with(&segs, &["ServiceBuilder", "new"])
            && (segs[0] == "tower" || self.facts.uses("tower"))
        {
            let Some(svc) = links
                .iter()
                .find(|l| l.method == "service")
                .and_then(|l| l.args.first())
            else {
                return;
            };
            let Some((protocol, dest)) = self.client_of(svc) else {
                return;
            };
            for l in &links {
                let site = match l.method.to_string().as_str() {
                    "retry" => Some(self.scan.cx.method_range(l)),
                    "layer" => l.args.first().and_then(|a| self.retry_layer(a, 0)),
                    _ => None,
                };
                if let Some(range) = site {
                    self.out.push(Found {
                        range,
                        lib: "tower",
                        policy: Policy::default(),
                        protocol,
                        dest: dest.clone(),
                        client_wide: true,
                    });
                }
            }
        }
    }

    /// Whether a method chain starts at `ServiceBuilder::new()`.
    fn builder_root(&self, e: &Expr) -> Option<()> {
        let mut e = strip(e);
        for _ in 0..16 {
            match e {
                Expr::MethodCall(m) => e = strip(&m.receiver),
                Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    e = strip(self.scan.scope.binding_at(id)?.init?);
                }
                _ => break,
            }
        }
        let segs = resolve_call(self.scan.cx, e)?;
        ends_with(&segs, &["ServiceBuilder", "new"]).then_some(())
    }

    /// The range of a tower `RetryLayer::new(..)` call (or of the crate's
    /// own copy of it), through `let`s.
    fn retry_layer(&self, e: &Expr, depth: u32) -> Option<TextRange> {
        let cx = self.scan.cx;
        match strip(e) {
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let segs = cx.uses.resolve_shared(&p.path);
                let tower = segs[0] == "tower" || segs.len() == 2 && self.facts.uses("tower");
                // tower's own, or the crate's copy of it.
                let own_copy = segs.len() >= 2
                    && segs[segs.len() - 1] == "new"
                    && cx.index.is_retry_layer(&segs[segs.len() - 2]);
                ((tower && ends_with(&segs, &["RetryLayer", "new"])) || own_copy)
                    .then(|| self.call_range(c))
            }
            Expr::Path(p) if depth < 3 => {
                let id = p.path.get_ident()?;
                let init = self.scan.scope.binding_at(id)?.init?;
                self.retry_layer(init, depth + 1)
            }
            _ => None,
        }
    }

    /// An HTTP client or gRPC channel, with its destination if known; or
    /// a `Service` of the crate whose `call` reaches the network (its own
    /// client type that a tower stack wraps, as `timeout-wrapper` reads it).
    fn client_of(&self, e: &Expr) -> Option<(Protocol, Destination)> {
        self.known_client_of(e).or_else(|| {
            if !matches!(self.scan.kind_of(e, 0), Kind::Unknown) {
                return None;
            }
            let recv = self.scan.receiver_decl(e, 0)?;
            let net = self.scan.cx.index.net_of_receiver(&recv, "call")??;
            net.protocol
                .is_l7()
                .then(|| (net.protocol, net.dest.clone()))
        })
    }

    fn known_client_of(&self, e: &Expr) -> Option<(Protocol, Destination)> {
        let mut e = e;
        for _ in 0..12 {
            match self.scan.kind_of(e, 0) {
                Kind::HttpClient(_) | Kind::Aws => {
                    return Some((Protocol::Http, Destination::default()))
                }
                // A tower stack wraps a tonic `Channel`, never a generated
                // client (which is not a `Service`): `H3Client::new(..)` in an
                // `h3_client` module is not gRPC.
                Kind::Grpc { url } => {
                    return self
                        .is_channel(e, 0)
                        .then(|| (Protocol::Grpc, Destination::from_value(&url)))
                }
                _ => {}
            }
            // `Client::builder(exec).build_http()`: the chain root decides.
            e = match strip(e) {
                Expr::MethodCall(m) => &m.receiver,
                Expr::Await(a) => &a.base,
                Expr::Try(t) => &t.expr,
                Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    self.scan.scope.binding_at(id)?.init?
                }
                _ => return None,
            };
        }
        None
    }

    /// A tonic `Channel` or `Endpoint`: by constructor, declared type or field type.
    fn is_channel(&self, e: &Expr, depth: u32) -> bool {
        if depth > 12 {
            return false;
        }
        let d = depth + 1;
        let cx = self.scan.cx;
        let named = |ty: Option<String>| ty.is_some_and(|t| t == "Channel" || t == "Endpoint");
        match strip(e) {
            Expr::MethodCall(m) => self.is_channel(&m.receiver, d),
            Expr::Await(a) => self.is_channel(&a.base, d),
            Expr::Try(t) => self.is_channel(&t.expr, d),
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs = cx.uses.resolve_shared(&p.path);
                    segs.len() >= 2 && named(Some(segs[segs.len() - 2].clone()))
                }
                _ => false,
            },
            Expr::Field(f) => match &f.member {
                syn::Member::Named(name) => {
                    named(cx.field_type(&name.to_string()).and_then(type_name))
                }
                _ => false,
            },
            Expr::Path(p) => {
                let Some(id) = p.path.get_ident() else {
                    return false;
                };
                let Some(b) = self.scan.scope.binding_at(id) else {
                    return false;
                };
                named(b.ty.and_then(type_name)) || b.init.is_some_and(|i| self.is_channel(i, d))
            }
            _ => false,
        }
    }

    /// Where a client built with a retry middleware sends its requests,
    /// when the function uses it with literal URLs that agree.
    fn middleware_client_dest(&self, site: usize) -> Destination {
        struct Lets<'a>(
            Vec<(String, std::ops::Range<usize>)>,
            std::marker::PhantomData<&'a ()>,
        );
        impl<'a> Visit<'a> for Lets<'a> {
            fn visit_local(&mut self, l: &'a syn::Local) {
                if let (syn::Pat::Ident(pi), Some(init)) = (&l.pat, &l.init) {
                    let start = init.expr.span().byte_start();
                    let end = l.semi_token.span.byte_end();
                    self.0.push((pi.ident.to_string(), start..end));
                }
                syn::visit::visit_local(self, l);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut lets = Lets(Vec::new(), std::marker::PhantomData);
        lets.visit_block(self.body);
        let Some((name, _)) = lets
            .0
            .iter()
            .filter(|(_, r)| r.contains(&site))
            .min_by_key(|(_, r)| r.len())
        else {
            return Destination::default();
        };
        struct Uses<'s, 'e, 'a> {
            scan: &'s NetScan<'e, 'a>,
            name: &'s str,
            dests: Vec<Destination>,
        }
        impl<'b> Visit<'b> for Uses<'_, '_, '_> {
            fn visit_expr_method_call(&mut self, m: &'b syn::ExprMethodCall) {
                let verb = m.method.to_string();
                if matches!(
                    verb.as_str(),
                    "get" | "post" | "put" | "patch" | "delete" | "head"
                ) && matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(self.name))
                {
                    let url = m
                        .args
                        .first()
                        .map(|a| self.scan.ev.eval(a))
                        .unwrap_or(crate::analysis::Value::Unknown);
                    self.dests.push(Destination::from_value(&url));
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_item(&mut self, _: &'b syn::Item) {}
        }
        let mut uses = Uses {
            scan: self.scan,
            name,
            dests: Vec::new(),
        };
        uses.visit_block(self.body);
        match uses.dests.first() {
            Some(first) if first.host.is_some() && uses.dests.iter().all(|d| d == first) => {
                first.clone()
            }
            _ => Destination::default(),
        }
    }
}

impl<'b, 'e> Visit<'b> for Finder<'_, 'e, '_>
where
    'e: 'b,
{
    fn visit_expr_call(&mut self, c: &'b syn::ExprCall) {
        self.call(c);
        self.helper_call(c);
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'b syn::ExprMethodCall) {
        self.chain(m);
        self.method(m);
        self.helper_method(m);
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, mac: &'b syn::Macro) {
        let cx = self.scan.cx;
        for e in cx.macros.exprs(mac) {
            self.visit_expr(e);
        }
        for s in cx.macros.stmts(mac) {
            self.visit_stmt(s);
        }
    }
    fn visit_item(&mut self, _: &'b syn::Item) {}
}
