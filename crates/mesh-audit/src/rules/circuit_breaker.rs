//! # circuit-breaker
//!
//! ## What it finds
//! Circuit breakers in client code, from a crate or written by hand.
//!
//! - Crate breakers, reported at the root call of the builder chain that
//!   creates them: `failsafe::Config::new()` (with its
//!   `consecutive_failures(..)` / `success_rate_over_time_window(..)` policy
//!   and `backoff::constant/exponential/equal_jittered/full_jittered`),
//!   `failsafe::StateMachine::new(policy, ..)`, `recloser::Recloser::custom()`
//!   and `Recloser::default()`, the tower breaker layers
//!   (`tower_resilience` / `tower_circuitbreaker`:
//!   `CircuitBreakerLayer::builder()`, `CircuitBreakerConfig::builder()`),
//!   and `CircuitBreaker::builder()`/`new()` of `circuitbreaker-rs` and
//!   similar breaker crates.
//! - Hand-written breakers, reported at the name of the `struct` (or `enum`)
//!   that holds the breaker's state. A type counts only when all three hold:
//!   it has an open state (a state enum with `Closed` and `Open` variants,
//!   or a `bool`/`Option<Instant>` field named like `open`/`tripped`); it
//!   has a failure counter that one of its methods compares with a
//!   threshold, and that same method (or one it calls) opens the breaker;
//!   and it keeps a time (an `Instant`/`SystemTime`/`Duration` field, or
//!   `elapsed()` checks).
//!
//! Values, when the code says them (through `const`s, `let`s, struct
//! literals in `new()`/`Default`, `Self::CONST`, and constructor arguments
//! at call sites in the same file): `consecutive_errors` (the threshold; a
//! `failures > N` check opens at `N + 1`), `base_ejection_time` (how long
//! the breaker stays open, Istio format `30s`/`500ms`), `interval` (the
//! rolling window, when there is one) and `host` (when every network call
//! the breaker guards goes to one host). Failure-*rate* thresholds
//! (`error_rate(0.5)`) have no outlier-detection equivalent and give no
//! `consecutive_errors`.
//!
//! ## Why the mesh should own it
//! The sidecar already ejects failing endpoints (outlier detection). A
//! breaker in the code works on the whole Service, not on the one pod that
//! fails: it opens for every replica when one is sick, while the mesh would
//! have ejected just that one. Neither sees the other's state: the mesh keeps
//! routing to a host the code has given up on, the code keeps failing fast
//! after the mesh has ejected the bad pod, and the two thresholds and timers
//! stack up in ways nobody configured. Every service language re-implements
//! it, each slightly differently; in the mesh it is one policy, per
//! destination, changed without a deploy.
//!
//! ## Example
//! ```text
//! let breaker = failsafe::Config::new()
//!     .failure_policy(consecutive_failures(5, backoff::constant(Duration::from_secs(30))))
//!     .build();
//! let body = breaker.call(|| client.get("http://inventory:8080/items").send())?;
//! ```
//!
//! ## Use instead
//! Call the service directly and let the mesh eject failing endpoints:
//! ```text
//! let body = client.get("http://inventory:8080/items").send().await?;
//! ```
//!
//! ## Mesh config
//! ```yaml
//! apiVersion: networking.istio.io/v1
//! kind: DestinationRule
//! metadata:
//!   name: inventory
//! spec:
//!   host: inventory
//!   trafficPolicy:
//!     outlierDetection:
//!       consecutive5xxErrors: 5    # consecutive_errors
//!       interval: 10s              # interval
//!       baseEjectionTime: 30s      # base_ejection_time
//!       maxEjectionPercent: 50
//! ```
//!
//! ## Not reported
//! Test code; a breaker type that is only named (a field
//! `breaker: failsafe::StateMachine<..>` or a parameter type) without being
//! constructed; state enums with `Open`/`Closed` for doors, files or
//! connections; rate limiters, semaphores, retry counters and connection
//! pools; any type whose failure counter is not compared with a threshold
//! that opens it.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use syn::visit::Visit;
use syn::{BinOp, Expr, Member, Type};

use crate::analysis::duration::istio;
use crate::analysis::eval::{duration_value, int_value};
use crate::analysis::net::NetScan;
use crate::analysis::paths::ends_with;
use crate::analysis::{Evaluator, FileCtx, FnItem, FnScope, Value};
use crate::config::RuleConfig;
use crate::rules::{rule_meta, Rule, RuleMeta, Violation};

rule_meta!(
    "circuit-breaker",
    Warning,
    Resilience,
    "client-side circuit breaker that the mesh's outlier detection should own",
    "circuit_breaker.rs"
);

pub struct CircuitBreaker;

impl Rule for CircuitBreaker {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &FileCtx<'_>, _: &RuleConfig, out: &mut Vec<Violation>) {
        let file = File::new(cx);
        let mut found = Vec::new();
        hand_written(&file, &mut found);
        crate_breakers(&file, &mut found);
        found.sort_by_key(|f| (f.range.byte_start, f.range.byte_end));
        found.dedup_by_key(|f| f.range.byte_start);
        for f in found {
            out.push(f.into_violation());
        }
    }
}

/// One breaker found, before it becomes a `Violation`.
struct Found {
    range: mesh_audit_model::TextRange,
    /// `hand-written circuit breaker `X`` or `failsafe circuit breaker`.
    what: String,
    consecutive_errors: Option<i128>,
    ejection: Option<u128>,
    interval: Option<u128>,
    host: Option<String>,
}

impl Found {
    fn into_violation(self) -> Violation {
        let mut values = BTreeMap::new();
        let mut policy = Vec::new();
        if let Some(n) = self.consecutive_errors {
            values.insert("consecutive_errors".to_string(), n.to_string());
            policy.push(format!("consecutive5xxErrors: {n}"));
        }
        if let Some(d) = self.interval {
            values.insert("interval".to_string(), istio(d));
            policy.push(format!("interval: {}", istio(d)));
        }
        if let Some(d) = self.ejection {
            values.insert("base_ejection_time".to_string(), istio(d));
            policy.push(format!("baseEjectionTime: {}", istio(d)));
        }
        if let Some(h) = &self.host {
            values.insert("host".to_string(), h.clone());
        }
        let mut opens = String::new();
        if let Some(n) = self.consecutive_errors {
            opens.push_str(&format!(" opens after {n} consecutive failures"));
        }
        if let Some(d) = self.ejection {
            opens.push_str(&format!(
                "{} stays open for {}",
                if opens.is_empty() { "" } else { " and" },
                istio(d)
            ));
        }
        let what = if opens.is_empty() {
            self.what.clone()
        } else {
            format!("{} ({})", self.what, opens.trim_start())
        };
        let target = match &self.host {
            Some(h) => format!("a DestinationRule for `{h}`"),
            None => "a DestinationRule".to_string(),
        };
        let with = if policy.is_empty() {
            String::new()
        } else {
            format!(" ({})", policy.join(", "))
        };
        Violation {
            range: self.range,
            message: format!(
                "{what}; the mesh's outlier detection ejects failing endpoints per pod and cannot see this breaker's state"
            ),
            help: format!("remove the breaker and configure `trafficPolicy.outlierDetection` in {target}{with}"),
            values,
            sources: Default::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// The file, indexed once: functions, scopes, struct literals and calls.

struct File<'c, 'a> {
    cx: &'c FileCtx<'a>,
    fns: &'c [FnItem<'a>],
    scopes: &'c [FnScope<'a>],
    /// Functions whose body is test code.
    test_fn: Vec<bool>,
    types: HashMap<String, TypeDef<'a>>,
    /// Struct literals outside test code, with their function (None: a
    /// `const`/`static` initialiser).
    literals: Vec<(Option<usize>, &'a syn::ExprStruct)>,
    /// Path calls (`T::new(..)`) outside test code.
    calls: Vec<(Option<usize>, &'a syn::ExprCall)>,
    /// `const`/`static` initialisers outside test code.
    statics: Vec<&'a Expr>,
}

#[derive(Clone, Copy)]
enum TypeDef<'a> {
    Struct(&'a syn::ItemStruct),
    Enum(&'a syn::ItemEnum),
}

impl<'a> TypeDef<'a> {
    fn ident(&self) -> &'a syn::Ident {
        match self {
            TypeDef::Struct(s) => &s.ident,
            TypeDef::Enum(e) => &e.ident,
        }
    }

    /// Named and unnamed fields; for an enum, every variant's.
    fn fields(&self) -> Vec<(Option<String>, &'a Type)> {
        let of = |fields: &'a syn::Fields| -> Vec<(Option<String>, &'a Type)> {
            fields
                .iter()
                .map(|f| (f.ident.as_ref().map(|i| i.to_string()), &f.ty))
                .collect()
        };
        match self {
            TypeDef::Struct(s) => of(&s.fields),
            TypeDef::Enum(e) => e.variants.iter().flat_map(|v| of(&v.fields)).collect(),
        }
    }
}

fn in_regions(regions: &[Range<usize>], at: usize) -> bool {
    regions.iter().any(|r| r.contains(&at))
}

impl<'c, 'a> File<'c, 'a> {
    fn new(cx: &'c FileCtx<'a>) -> Self {
        let regions = cx.test_regions();
        let fns = cx.functions();
        let scopes = cx.fn_scopes();
        let test_fn: Vec<bool> = fns
            .iter()
            .map(|f| in_regions(regions, f.body.brace_token.span.open().byte_start()))
            .collect();

        struct Collect<'a> {
            fn_idx: Option<usize>,
            literals: Vec<(Option<usize>, &'a syn::ExprStruct)>,
            calls: Vec<(Option<usize>, &'a syn::ExprCall)>,
        }
        impl<'a> Visit<'a> for Collect<'a> {
            fn visit_expr_struct(&mut self, s: &'a syn::ExprStruct) {
                self.literals.push((self.fn_idx, s));
                syn::visit::visit_expr_struct(self, s);
            }
            fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
                self.calls.push((self.fn_idx, c));
                syn::visit::visit_expr_call(self, c);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut col = Collect {
            fn_idx: None,
            literals: Vec::new(),
            calls: Vec::new(),
        };
        for (i, f) in fns.iter().enumerate() {
            if test_fn[i] {
                continue;
            }
            col.fn_idx = Some(i);
            col.visit_block(f.body);
        }

        struct Items<'a, 'r> {
            regions: &'r [Range<usize>],
            types: HashMap<String, TypeDef<'a>>,
            statics: Vec<&'a Expr>,
        }
        impl<'a> Items<'a, '_> {
            fn add_static(&mut self, e: &'a Expr) {
                if !in_regions(self.regions, expr_start(e)) {
                    self.statics.push(e);
                }
            }
        }
        impl<'a> Visit<'a> for Items<'a, '_> {
            fn visit_item_struct(&mut self, s: &'a syn::ItemStruct) {
                self.types
                    .entry(s.ident.to_string())
                    .or_insert(TypeDef::Struct(s));
            }
            fn visit_item_enum(&mut self, e: &'a syn::ItemEnum) {
                self.types
                    .entry(e.ident.to_string())
                    .or_insert(TypeDef::Enum(e));
            }
            fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
                self.add_static(&c.expr);
            }
            fn visit_item_static(&mut self, s: &'a syn::ItemStatic) {
                self.add_static(&s.expr);
            }
            fn visit_impl_item_const(&mut self, c: &'a syn::ImplItemConst) {
                self.add_static(&c.expr);
            }
        }
        let mut items = Items {
            regions,
            types: HashMap::default(),
            statics: Vec::new(),
        };
        items.visit_file(cx.file);
        col.fn_idx = None;
        for e in &items.statics {
            col.visit_expr(e);
        }
        File {
            cx,
            fns,
            scopes,
            test_fn,
            types: items.types,
            literals: col.literals,
            calls: col.calls,
            statics: items.statics,
        }
    }

    fn empty_scope() -> FnScope<'static> {
        FnScope::empty()
    }

    fn self_ty(&self, f: Option<usize>) -> Option<&str> {
        f.and_then(|i| self.fns[i].self_ty.as_deref())
    }

    // -- values ------------------------------------------------------------

    /// What `e` (in function `f`) evaluates to, following struct fields to
    /// their initialisers and parameters to call sites. `family` names the
    /// types whose struct literals initialise `self.<field>`.
    fn resolve(&self, e: &Expr, f: Option<usize>, family: &HashSet<String>, depth: u32) -> Value {
        if depth > 6 {
            return Value::Unknown;
        }
        let empty = Self::empty_scope();
        let scope = f.map(|i| &self.scopes[i]).unwrap_or(&empty);
        let v = Evaluator::new(self.cx, scope).eval(e);
        if !v.is_unknown() {
            return v;
        }
        let d = depth + 1;
        match e {
            Expr::Paren(p) => self.resolve(&p.expr, f, family, d),
            Expr::Group(g) => self.resolve(&g.expr, f, family, d),
            Expr::Reference(r) => self.resolve(&r.expr, f, family, d),
            Expr::Cast(c) => self.resolve(&c.expr, f, family, d),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                self.resolve(&u.expr, f, family, d)
            }
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && ident_in(
                        &m.method,
                        &[
                            "load", "get", "clone", "unwrap", "into", "to_owned", "read", "lock",
                        ],
                    ) =>
            {
                self.resolve(&m.receiver, f, family, d)
            }
            Expr::MethodCall(m) if m.method == "load" => self.resolve(&m.receiver, f, family, d),
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else {
                    return Value::Unknown;
                };
                let segs = self.cx.uses.resolve_shared(&p.path);
                let last = segs.last().map(String::as_str).unwrap_or("");
                if c.args.len() == 1
                    && matches!(last, "Some" | "new" | "from")
                    && !ends_with(&segs, &["Duration", "new"])
                {
                    return self.resolve(&c.args[0], f, family, d);
                }
                if segs.len() >= 2 && segs[segs.len() - 2] == "Duration" && c.args.len() == 1 {
                    let unit: u128 = match last {
                        "from_secs" => 1_000_000_000,
                        "from_millis" => 1_000_000,
                        "from_micros" => 1_000,
                        "from_nanos" => 1,
                        "from_mins" => 60_000_000_000,
                        _ => return Value::Unknown,
                    };
                    return match self.resolve(&c.args[0], f, family, d) {
                        Value::Int(n) if (0..=i128::from(u64::MAX)).contains(&n) => {
                            duration_value((n as u128).checked_mul(unit))
                        }
                        _ => Value::Unknown,
                    };
                }
                Value::Unknown
            }
            Expr::Binary(b) => {
                let (l, r) = (
                    self.resolve(&b.left, f, family, d),
                    self.resolve(&b.right, f, family, d),
                );
                match (&b.op, l, r) {
                    (BinOp::Add(_), Value::Int(a), Value::Int(b)) => int_value(a.checked_add(b)),
                    (BinOp::Sub(_), Value::Int(a), Value::Int(b)) => int_value(a.checked_sub(b)),
                    (BinOp::Mul(_), Value::Int(a), Value::Int(b)) => int_value(a.checked_mul(b)),
                    (BinOp::Add(_), Value::Duration(a), Value::Duration(b)) => {
                        duration_value(a.checked_add(b))
                    }
                    (BinOp::Mul(_), Value::Duration(a), Value::Int(k))
                    | (BinOp::Mul(_), Value::Int(k), Value::Duration(a))
                        if k >= 0 =>
                    {
                        duration_value(a.checked_mul(k as u128))
                    }
                    _ => Value::Unknown,
                }
            }
            Expr::Field(fe) => match &fe.member {
                Member::Named(name) => self.field_value(&name.to_string(), family, d),
                Member::Unnamed(_) => Value::Unknown,
            },
            Expr::Path(p) => {
                let Some(id) = p.path.get_ident() else {
                    return Value::Unknown;
                };
                let Some(i) = f else { return Value::Unknown };
                match scope.binding_at(id) {
                    Some(b) => match b.init {
                        Some(init) => self.resolve(init, f, family, d),
                        None => self.param_value(i, &id.to_string(), family, d),
                    },
                    None => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }

    /// The value struct literals of `family` give field `name`, when they agree.
    fn field_value(&self, name: &str, family: &HashSet<String>, depth: u32) -> Value {
        let mut vals = Vec::new();
        for (f, lit) in &self.literals {
            let Some(ty) = lit.path.segments.last().map(|s| s.ident.to_string()) else {
                continue;
            };
            let ty = if ty == "Self" {
                self.self_ty(*f).unwrap_or("").to_string()
            } else {
                ty
            };
            if !family.contains(&ty) {
                continue;
            }
            for fv in &lit.fields {
                if matches!(&fv.member, Member::Named(m) if m == name) {
                    vals.push(self.resolve(&fv.expr, *f, family, depth + 1));
                }
            }
        }
        agree(vals)
    }

    /// The value a parameter of function `f` gets at every call site of the
    /// file, when they agree.
    fn param_value(&self, f: usize, name: &str, family: &HashSet<String>, depth: u32) -> Value {
        let item = &self.fns[f];
        let Some(index) = item
            .sig
            .inputs
            .iter()
            .filter_map(|a| match a {
                syn::FnArg::Typed(pt) => Some(pt),
                syn::FnArg::Receiver(_) => None,
            })
            .position(|pt| matches!(&*pt.pat, syn::Pat::Ident(pi) if pi.ident == name))
        else {
            return Value::Unknown;
        };
        if item.sig.receiver().is_some() {
            return Value::Unknown;
        }
        let mut vals = Vec::new();
        for (caller, call) in &self.calls {
            let Expr::Path(p) = &*call.func else { continue };
            let segs = crate::analysis::paths::path_segments(&p.path);
            let n = segs.len();
            if segs.last().map(String::as_str) != Some(item.name.as_str()) {
                continue;
            }
            let matches = match &item.self_ty {
                Some(ty) => {
                    n >= 2
                        && (segs[n - 2] == *ty
                            || (segs[n - 2] == "Self"
                                && self.self_ty(*caller) == Some(ty.as_str())))
                }
                None => n == 1,
            };
            if !matches {
                continue;
            }
            if let Some(arg) = call.args.iter().nth(index) {
                vals.push(self.resolve(arg, *caller, family, depth + 1));
            }
        }
        agree(vals)
    }
}

/// The one known value a list agrees on; unknowns are ignored.
fn agree(vals: Vec<Value>) -> Value {
    let mut known = vals.into_iter().filter(|v| !v.is_unknown());
    let Some(first) = known.next() else {
        return Value::Unknown;
    };
    if known.all(|v| v == first) {
        first
    } else {
        Value::Unknown
    }
}

fn expr_start(e: &Expr) -> usize {
    use quote::ToTokens;
    e.to_token_stream()
        .into_iter()
        .next()
        .map(|t| t.span().byte_start())
        .unwrap_or(0)
}

fn text<T: quote::ToTokens>(node: &T) -> String {
    node.to_token_stream().to_string().replace(' ', "")
}

/// Lower case without `_`: `Half_Open` → `halfopen`.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_open_variant(name: &str) -> bool {
    matches!(norm(name).as_str(), "open" | "opened" | "tripped")
}

/// `Closed`, and the other words services use for a breaker letting calls
/// through (`Healthy`, `Normal`); only with an open-like variant beside it.
fn is_closed_variant(name: &str) -> bool {
    matches!(norm(name).as_str(), "closed" | "healthy" | "normal")
}

/// Every identifier a type names: `Mutex<Option<Instant>>` → Mutex, Option, Instant.
fn type_idents(ty: &Type) -> Vec<String> {
    struct V(Vec<String>);
    impl<'a> Visit<'a> for V {
        fn visit_path_segment(&mut self, s: &'a syn::PathSegment) {
            self.0.push(s.ident.to_string());
            syn::visit::visit_path_segment(self, s);
        }
    }
    let mut v = V(Vec::new());
    v.visit_type(ty);
    v.0
}

const INT_TYPES: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicUsize",
    "AtomicI32",
    "AtomicI64",
    "AtomicIsize",
    "VecDeque",
    "Vec",
];

fn is_counter_name(name: &str) -> bool {
    let n = name.to_lowercase();
    (n.contains("fail") || n.contains("error") || n.starts_with("err"))
        && ![
            "threshold",
            "max",
            "limit",
            "min",
            "rate",
            "ratio",
            "percent",
            "policy",
            "kind",
            "last",
            "handler",
        ]
        .iter()
        .any(|w| n.contains(w))
}

fn is_flag_name(name: &str) -> bool {
    let n = name.to_lowercase();
    (n.contains("open") && !n.contains("half")) || n.contains("trip")
}

const TIME_TYPES: &[&str] = &["Instant", "SystemTime", "Duration"];

// ---------------------------------------------------------------------------
// Hand-written breakers.

/// What makes a type a breaker: how it stores "open", its failure counters.
#[derive(Default)]
struct Shape {
    /// The type and the file's types its fields name (two levels deep).
    family: HashSet<String>,
    counters: HashSet<String>,
    bool_flags: HashSet<String>,
    option_flags: HashSet<String>,
    /// Integer timestamps named like `tripped_at_ms` / `open_until`
    /// (`AtomicU64`, `u64`): zero is closed, a time is open.
    stamp_flags: HashSet<String>,
    /// State enums (by name) and their open-like variants.
    state_enums: HashSet<String>,
    open_variants: HashSet<String>,
    time_fields: Vec<(String, bool)>,
    has_time: bool,
}

fn hand_written(file: &File<'_, '_>, out: &mut Vec<Found>) {
    let mut names: Vec<&String> = file.types.keys().collect();
    names.sort();
    let mut breakers: Vec<(String, Shape, Found)> = Vec::new();
    for name in names {
        if let Some((shape, found)) = check_type(file, name) {
            breakers.push((name.clone(), shape, found));
        }
    }
    // A breaker type whose family holds another breaker is a wrapper of it.
    let all: HashSet<String> = breakers.iter().map(|(n, ..)| n.clone()).collect();
    for (name, shape, found) in breakers {
        if shape.family.iter().any(|m| *m != name && all.contains(m)) {
            continue;
        }
        out.push(found);
    }
}

fn check_type(file: &File<'_, '_>, name: &str) -> Option<(Shape, Found)> {
    let def = *file.types.get(name)?;
    let impl_fns: Vec<usize> = (0..file.fns.len())
        .filter(|&i| file.fns[i].self_ty.as_deref() == Some(name))
        .collect();
    if impl_fns.is_empty() {
        return None;
    }
    let mut shape = Shape::default();
    shape.family.insert(name.to_string());
    let mut frontier = vec![def];
    let mut all_fields: Vec<(Option<String>, &Type)> = Vec::new();
    let mut foreign_types: HashSet<String> = HashSet::default();
    for level in 0..3 {
        let mut next = Vec::new();
        for d in frontier {
            for (fname, ty) in d.fields() {
                all_fields.push((fname, ty));
                if level == 2 {
                    continue;
                }
                for id in type_idents(ty) {
                    match file.types.get(&id) {
                        Some(m) if shape.family.insert(id.clone()) => next.push(*m),
                        Some(_) => {}
                        None => {
                            foreign_types.insert(id);
                        }
                    }
                }
            }
        }
        frontier = next;
    }
    // (a) an open state: a state enum, or a flag.
    for member in &shape.family {
        if let Some(TypeDef::Enum(e)) = file.types.get(member) {
            let closed = e
                .variants
                .iter()
                .any(|v| is_closed_variant(&v.ident.to_string()));
            let open: Vec<String> = e
                .variants
                .iter()
                .map(|v| v.ident.to_string())
                .filter(|v| is_open_variant(v))
                .collect();
            if closed && !open.is_empty() {
                shape.state_enums.insert(member.clone());
                shape.open_variants.extend(open);
            }
        }
    }
    for (fname, ty) in &all_fields {
        let Some(fname) = fname else {
            if type_idents(ty)
                .iter()
                .any(|i| TIME_TYPES.contains(&i.as_str()))
            {
                shape.has_time = true;
            }
            continue;
        };
        let ids = type_idents(ty);
        let has = |w: &str| ids.iter().any(|i| i == w);
        if is_counter_name(fname) && ids.iter().any(|i| INT_TYPES.contains(&i.as_str())) {
            shape.counters.insert(fname.clone());
        }
        if is_flag_name(fname) {
            if has("bool") || has("AtomicBool") {
                shape.bool_flags.insert(fname.clone());
            } else if has("Option") && (has("Instant") || has("SystemTime")) {
                shape.option_flags.insert(fname.clone());
            } else if ids.iter().any(|i| INT_TYPES.contains(&i.as_str()))
                && !is_counter_name(fname)
                && fname
                    .split('_')
                    .any(|w| matches!(w, "at" | "until" | "since"))
            {
                // The timestamp is the breaker's clock too.
                shape.stamp_flags.insert(fname.clone());
                shape.has_time = true;
            }
        }
        if ids.iter().any(|i| TIME_TYPES.contains(&i.as_str())) {
            shape.has_time = true;
            shape.time_fields.push((fname.clone(), has("Duration")));
        }
    }
    if shape.counters.is_empty() {
        return None;
    }
    // A state enum defined elsewhere: `X::Open` and `X::Closed` in the impls.
    if shape.state_enums.is_empty() {
        let mut seen: HashMap<String, (bool, Vec<String>)> = HashMap::default();
        struct Paths<'m>(
            &'m mut HashMap<String, (bool, Vec<String>)>,
            &'m HashSet<String>,
        );
        impl<'a> Visit<'a> for Paths<'_> {
            fn visit_path(&mut self, p: &'a syn::Path) {
                let n = p.segments.len();
                if n >= 2 {
                    let ty = p.segments[n - 2].ident.to_string();
                    let v = p.segments[n - 1].ident.to_string();
                    if self.1.contains(&ty) {
                        let e = self.0.entry(ty).or_default();
                        if is_closed_variant(&v) {
                            e.0 = true;
                        } else if is_open_variant(&v) && !e.1.contains(&v) {
                            e.1.push(v);
                        }
                    }
                }
                syn::visit::visit_path(self, p);
            }
        }
        for &i in &impl_fns {
            Paths(&mut seen, &foreign_types).visit_block(file.fns[i].body);
        }
        for (ty, (closed, open)) in seen {
            if closed && !open.is_empty() {
                shape.state_enums.insert(ty);
                shape.open_variants.extend(open);
            }
        }
    }
    if shape.state_enums.is_empty()
        && shape.bool_flags.is_empty()
        && shape.option_flags.is_empty()
        && shape.stamp_flags.is_empty()
    {
        return None;
    }
    if !shape.has_time {
        shape.has_time = impl_fns.iter().any(|&i| {
            let t = text(file.fns[i].body);
            t.contains(".elapsed()")
                || t.contains("duration_since(")
                || t.contains("Instant::now()")
        });
    }
    if !shape.has_time {
        return None;
    }
    // (b) a counter compared with a threshold in a method that opens the breaker.
    let family_fns: Vec<usize> = (0..file.fns.len())
        .filter(|&i| {
            file.fns[i]
                .self_ty
                .as_ref()
                .is_some_and(|t| shape.family.contains(t))
        })
        .collect();
    let tripping: HashSet<String> = family_fns
        .iter()
        .filter(|&&i| trips(&shape, file.fns[i].body).0)
        .map(|&i| file.fns[i].name.clone())
        .collect();
    let mut thresholds = Vec::new();
    let mut qualified = false;
    for &i in &impl_fns {
        let comparisons = counter_comparisons(&shape, &file.scopes[i], file.fns[i].body);
        if comparisons.is_empty() {
            continue;
        }
        let (direct, callees) = trips(&shape, file.fns[i].body);
        if !direct && !callees.iter().any(|c| tripping.contains(c)) {
            continue;
        }
        // An `if` on the counter must open the breaker (or leave early
        // before it does): `if failed > 3 { state = Locked }` beside a
        // `state = Open` on success is a lock, not a breaker.
        let comparisons: Vec<_> = comparisons
            .into_iter()
            .filter(|(cmp, left)| guards_trip(&shape, &tripping, file.fns[i].body, cmp, *left))
            .collect();
        if comparisons.is_empty() {
            continue;
        }
        qualified = true;
        for (cmp, counter_left) in comparisons {
            let (side, other) = if counter_left {
                (&cmp.right, &cmp.left)
            } else {
                (&cmp.left, &cmp.right)
            };
            // `failures > N` opens at N + 1; so does `N < failures`.
            let plus_one = matches!(
                (&cmp.op, counter_left),
                (BinOp::Gt(_), true)
                    | (BinOp::Le(_), true)
                    | (BinOp::Lt(_), false)
                    | (BinOp::Ge(_), false)
            );
            let is_rate = text(&**other).contains('/') || text(&**other).contains("as f");
            match file.resolve(side, Some(i), &shape.family, 0) {
                Value::Int(n) if n > 0 && !is_rate => {
                    thresholds.push(Value::Int(n.saturating_add(plus_one as i128)))
                }
                Value::Int(_) | Value::Float(_) => thresholds.push(Value::Str("rate".into())),
                _ => {}
            }
        }
    }
    if !qualified || guards_local_io(file, &impl_fns) {
        return None;
    }
    let consecutive_errors = agree(thresholds).as_int();
    let (ejection, interval) = durations(file, &shape, &impl_fns);
    let ident = def.ident();
    // Guarded calls in this file, else in the crate's other files.
    let host = hand_written_host(file, name, &impl_fns)
        .or_else(|| file.cx.index.guarded_host(name).map(str::to_string));
    let found = Found {
        range: file.cx.range(ident.span()),
        what: format!("hand-written circuit breaker `{name}`"),
        consecutive_errors,
        ejection,
        interval,
        host,
    };
    Some((shape, found))
}

/// Whether the type's own methods guard file-system work (`std::fs::write`,
/// `tokio::fs::read`, `File::open`) and make no network call: a breaker
/// around a disk, which no mesh replaces.
fn guards_local_io(file: &File<'_, '_>, impl_fns: &[usize]) -> bool {
    struct Fs<'c, 'a> {
        cx: &'c FileCtx<'a>,
        hit: bool,
    }
    impl<'x> Visit<'x> for Fs<'_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                let fs_module = segs.len() >= 3
                    && matches!(segs[0].as_str(), "std" | "tokio" | "async_std")
                    && segs[1] == "fs";
                if fs_module
                    || ends_with(&segs, &["fs", "File", "open"])
                    || ends_with(&segs, &["fs", "File", "create"])
                {
                    self.hit = true;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut fs = Fs {
        cx: file.cx,
        hit: false,
    };
    for &i in impl_fns {
        fs.visit_block(file.fns[i].body);
    }
    fs.hit
        && impl_fns.iter().all(|&i| {
            NetScan::new(file.cx, &file.scopes[i], file.fns[i].self_ty.as_deref())
                .calls_in_block(file.fns[i].body)
                .is_empty()
        })
}

/// Whether the `if` whose condition holds `cmp` opens the breaker in one of
/// its branches (directly or through a method that does), or leaves early
/// while the counter is still below the threshold (`if failures < max { return }`).
/// A comparison that is no `if` condition (a guard, a `let`) counts.
fn guards_trip(
    shape: &Shape,
    tripping: &HashSet<String>,
    body: &syn::Block,
    cmp: &syn::ExprBinary,
    counter_left: bool,
) -> bool {
    use syn::spanned::Spanned;
    struct Find<'a> {
        at: usize,
        found: Option<&'a syn::ExprIf>,
    }
    impl<'a> Visit<'a> for Find<'a> {
        fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
            let r = i.cond.span().bytes();
            if r.start <= self.at && self.at < r.end {
                self.found = Some(i);
            }
            syn::visit::visit_expr_if(self, i);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut f = Find {
        at: cmp.span().byte_start(),
        found: None,
    };
    f.visit_block(body);
    let Some(i) = f.found else {
        return true;
    };
    struct Exits(bool);
    impl<'a> Visit<'a> for Exits {
        fn visit_expr_return(&mut self, _: &'a syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_try(&mut self, _: &'a syn::ExprTry) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let below = matches!(
        (&cmp.op, counter_left),
        (BinOp::Lt(_) | BinOp::Le(_), true) | (BinOp::Gt(_) | BinOp::Ge(_), false)
    );
    let mut exits = Exits(false);
    exits.visit_block(&i.then_branch);
    if below && exits.0 {
        return true;
    }
    let whole = syn::Block {
        brace_token: Default::default(),
        stmts: vec![syn::Stmt::Expr(
            Expr::If(syn::ExprIf {
                cond: Box::new(Expr::Verbatim(Default::default())),
                ..i.clone()
            }),
            None,
        )],
    };
    let (direct, callees) = trips(shape, &whole);
    direct || callees.iter().any(|c| tripping.contains(c))
}

/// Comparisons of a failure counter with something else: `(cmp, counter on the left)`.
fn counter_comparisons<'a>(
    shape: &Shape,
    scope: &FnScope<'_>,
    body: &'a syn::Block,
) -> Vec<(&'a syn::ExprBinary, bool)> {
    struct V<'s, 'a> {
        shape: &'s Shape,
        scope: &'s FnScope<'s>,
        out: Vec<(&'a syn::ExprBinary, bool)>,
    }
    impl<'a> Visit<'a> for V<'_, 'a> {
        fn visit_expr_binary(&mut self, b: &'a syn::ExprBinary) {
            if matches!(
                b.op,
                BinOp::Ge(_) | BinOp::Gt(_) | BinOp::Le(_) | BinOp::Lt(_) | BinOp::Eq(_)
            ) {
                let l = mentions_counter(self.shape, self.scope, &b.left, 0);
                let r = mentions_counter(self.shape, self.scope, &b.right, 0);
                let other = if l { &b.right } else { &b.left };
                let zero = matches!(&**other, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0");
                if l != r && !zero {
                    self.out.push((b, l));
                }
            }
            syn::visit::visit_expr_binary(self, b);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        shape,
        scope,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out
}

fn mentions_counter(shape: &Shape, scope: &FnScope<'_>, e: &Expr, depth: u32) -> bool {
    struct V<'s> {
        shape: &'s Shape,
        scope: &'s FnScope<'s>,
        depth: u32,
        hit: bool,
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            if self.hit {
                return;
            }
            match e {
                Expr::Field(f) => {
                    if matches!(&f.member, Member::Named(m) if self.shape.counters.contains(&m.to_string()))
                    {
                        self.hit = true;
                        return;
                    }
                }
                Expr::Path(p) => {
                    if let Some(id) = p.path.get_ident() {
                        let name = id.to_string();
                        if self.shape.counters.contains(&name) {
                            self.hit = true;
                        } else if self.depth < 3 {
                            if let Some(init) = self
                                .scope
                                .lookup(&name, id.span().byte_start())
                                .and_then(|b| b.init)
                            {
                                self.hit =
                                    mentions_counter(self.shape, self.scope, init, self.depth + 1);
                            }
                        }
                    }
                    return;
                }
                Expr::Closure(_) => return,
                _ => {}
            }
            syn::visit::visit_expr(self, e);
        }
    }
    let mut v = V {
        shape,
        scope,
        depth,
        hit: false,
    };
    v.visit_expr(e);
    v.hit
}

/// Whether a body opens the breaker itself, and the functions it calls.
fn trips(shape: &Shape, body: &syn::Block) -> (bool, Vec<String>) {
    struct V<'s> {
        shape: &'s Shape,
        hit: bool,
        callees: Vec<String>,
    }
    impl V<'_> {
        fn open_path(&self, p: &syn::Path) -> bool {
            let n = p.segments.len();
            let Some(last) = p.segments.last() else {
                return false;
            };
            self.shape.open_variants.contains(&last.ident.to_string())
                && (n == 1 || {
                    let ty = p.segments[n - 2].ident.to_string();
                    ty == "Self" || self.shape.state_enums.contains(&ty)
                })
        }
        fn names_flag(&self, e: &Expr, flags: &HashSet<String>) -> bool {
            let t = match e {
                Expr::Field(f) => match &f.member {
                    Member::Named(m) => m.to_string(),
                    Member::Unnamed(_) => return false,
                },
                Expr::Path(p) => p
                    .path
                    .get_ident()
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                Expr::Unary(u) => return self.names_flag(&u.expr, flags),
                Expr::Paren(p) => return self.names_flag(&p.expr, flags),
                Expr::MethodCall(m) if m.args.is_empty() => {
                    return self.names_flag(&m.receiver, flags)
                }
                Expr::Try(t) => return self.names_flag(&t.expr, flags),
                _ => return false,
            };
            flags.contains(&t)
        }
    }
    fn is_true(e: &Expr) -> bool {
        matches!(e, Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(b), .. }) if b.value)
    }
    fn is_zero(e: &Expr) -> bool {
        matches!(e, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) if i.base10_digits() == "0")
    }
    fn is_some(e: &Expr) -> bool {
        matches!(e, Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some")))
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                // `state == State::Open` reads the state; it does not set it.
                Expr::Binary(b) if matches!(b.op, BinOp::Eq(_) | BinOp::Ne(_)) => return,
                Expr::Path(p) if self.open_path(&p.path) => self.hit = true,
                Expr::Struct(s) if self.open_path(&s.path) => self.hit = true,
                Expr::Assign(a)
                    if (self.names_flag(&a.left, &self.shape.bool_flags) && is_true(&a.right))
                        || (self.names_flag(&a.left, &self.shape.option_flags)
                            && is_some(&a.right))
                        || (self.names_flag(&a.left, &self.shape.stamp_flags)
                            && !is_zero(&a.right)) =>
                {
                    self.hit = true;
                }
                Expr::MethodCall(m) => {
                    let method = m.method.to_string();
                    if matches!(method.as_str(), "eq" | "ne" | "matches") {
                        return;
                    }
                    if self.names_flag(&m.receiver, &self.shape.bool_flags)
                        && matches!(
                            method.as_str(),
                            "store"
                                | "set"
                                | "swap"
                                | "replace"
                                | "compare_exchange"
                                | "compare_exchange_weak"
                                | "fetch_or"
                        )
                        && m.args.iter().any(is_true)
                    {
                        self.hit = true;
                    }
                    // `self.tripped_at_ms.store(now_ms, ..)`: a time, not zero.
                    if self.names_flag(&m.receiver, &self.shape.stamp_flags)
                        && matches!(method.as_str(), "store" | "swap" | "set")
                        && m.args.first().is_some_and(|a| !is_zero(a))
                    {
                        self.hit = true;
                    }
                    if self.names_flag(&m.receiver, &self.shape.option_flags)
                        && (matches!(
                            method.as_str(),
                            "insert" | "get_or_insert" | "get_or_insert_with" | "replace"
                        ) || (matches!(method.as_str(), "set" | "store" | "swap")
                            && m.args.iter().any(is_some)))
                    {
                        self.hit = true;
                    }
                    self.callees.push(method);
                }
                Expr::Call(c) => {
                    if let Expr::Path(p) = &*c.func {
                        if let Some(last) = p.path.segments.last() {
                            self.callees.push(last.ident.to_string());
                        }
                    }
                }
                _ => {}
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        shape,
        hit: false,
        callees: Vec::new(),
    };
    v.visit_block(body);
    (v.hit, v.callees)
}

/// How long the breaker stays open and its rolling window, from how its
/// methods use durations: `opened.elapsed() >= self.cooldown`,
/// `Instant::now() + OPEN_FOR`, `now.duration_since(start) > self.window`.
fn durations(
    file: &File<'_, '_>,
    shape: &Shape,
    impl_fns: &[usize],
) -> (Option<u128>, Option<u128>) {
    struct Cands<'a> {
        out: Vec<(&'a Expr, String)>,
        context: Vec<String>,
    }
    fn is_elapsed(e: &Expr) -> bool {
        let t = text(e);
        t.contains("elapsed(")
            || t.contains("duration_since(")
            || t.contains("now()-")
            || t.contains("now-")
    }
    impl<'a> Visit<'a> for Cands<'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            let mut pushed = false;
            match e {
                Expr::Assign(a) => {
                    self.context.push(text(&*a.left));
                    pushed = true;
                }
                Expr::Binary(b) => {
                    let ctx = format!("{} {}", self.context.join(" "), text(b));
                    match b.op {
                        BinOp::Add(_) | BinOp::Sub(_) | BinOp::AddAssign(_) => {
                            self.out.push((&b.left, ctx.clone()));
                            self.out.push((&b.right, ctx));
                        }
                        BinOp::Ge(_) | BinOp::Gt(_) | BinOp::Le(_) | BinOp::Lt(_) => {
                            if is_elapsed(&b.left) {
                                self.out.push((&b.right, ctx));
                            } else if is_elapsed(&b.right) {
                                self.out.push((&b.left, ctx));
                            }
                        }
                        _ => {}
                    }
                }
                Expr::MethodCall(m)
                    if ident_in(&m.method, &["checked_add", "saturating_add", "checked_sub"])
                        && m.args.len() == 1 =>
                {
                    let ctx = format!("{} {}", self.context.join(" "), text(m));
                    self.out.push((&m.args[0], ctx));
                }
                _ => {}
            }
            syn::visit::visit_expr(self, e);
            if pushed {
                self.context.pop();
            }
        }
        fn visit_field_value(&mut self, fv: &'a syn::FieldValue) {
            self.context.push(text(&fv.member));
            syn::visit::visit_field_value(self, fv);
            self.context.pop();
        }
        fn visit_local(&mut self, l: &'a syn::Local) {
            self.context.push(text(&l.pat));
            syn::visit::visit_local(self, l);
            self.context.pop();
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut ejection = Vec::new();
    let mut strong_ejection = Vec::new();
    let mut interval = Vec::new();
    for &i in impl_fns {
        let mut c = Cands {
            out: Vec::new(),
            context: Vec::new(),
        };
        c.visit_block(file.fns[i].body);
        for (e, ctx) in c.out {
            let Value::Duration(d) = file.resolve(e, Some(i), &shape.family, 0) else {
                continue;
            };
            match classify_duration(&text(e), &ctx) {
                DurKind::Window => interval.push(Value::Duration(d)),
                DurKind::Open => strong_ejection.push(Value::Duration(d)),
                DurKind::Other => ejection.push(Value::Duration(d)),
                DurKind::Ignore => {}
            }
        }
    }
    // Duration fields named for what they are, when no method says more.
    for (fname, is_duration) in &shape.time_fields {
        if !is_duration {
            continue;
        }
        let kind = classify_duration(fname, "");
        if !matches!(kind, DurKind::Window | DurKind::Open) {
            continue;
        }
        let Value::Duration(d) = file.field_value(fname, &shape.family, 0) else {
            continue;
        };
        match kind {
            DurKind::Window if interval.is_empty() => interval.push(Value::Duration(d)),
            DurKind::Open if strong_ejection.is_empty() && ejection.is_empty() => {
                strong_ejection.push(Value::Duration(d))
            }
            _ => {}
        }
    }
    let ejection = if strong_ejection.is_empty() {
        agree(ejection)
    } else {
        agree(strong_ejection)
    };
    (
        ejection.as_duration_nanos().filter(|d| *d > 0),
        agree(interval).as_duration_nanos().filter(|d| *d > 0),
    )
}

enum DurKind {
    Window,
    Open,
    Other,
    Ignore,
}

fn classify_duration(own: &str, context: &str) -> DurKind {
    let own = own.to_lowercase();
    let ctx = context.to_lowercase();
    let has = |s: &str, words: &[&str]| words.iter().any(|w| s.contains(w));
    const WINDOW: &[&str] = &["window", "interval", "period", "bucket"];
    const OPEN: &[&str] = &[
        "cooldown",
        "cool_down",
        "open",
        "reset",
        "recover",
        "wait",
        "eject",
        "trip",
        "break",
        "backoff",
        "retry_after",
    ];
    if has(&own, WINDOW) {
        return DurKind::Window;
    }
    if has(&own, OPEN) {
        return DurKind::Open;
    }
    if has(&own, &["timeout", "deadline", "ttl", "latency", "slow"]) {
        return DurKind::Ignore;
    }
    if has(&ctx, WINDOW) {
        return DurKind::Window;
    }
    if has(&ctx, OPEN) || has(&ctx, &["until"]) {
        return DurKind::Open;
    }
    if has(&ctx, &["timeout", "deadline"]) {
        return DurKind::Ignore;
    }
    DurKind::Other
}

/// The one host the breaker guards: the network calls of its own methods
/// and of every function that uses a value of its type.
fn hand_written_host(file: &File<'_, '_>, name: &str, impl_fns: &[usize]) -> Option<String> {
    // Names that hold the breaker: struct fields and parameters of its type,
    // `let`s built from it.
    let mut holders: HashSet<String> = HashSet::default();
    for def in file.types.values() {
        for (fname, ty) in def.fields() {
            if let Some(fname) = fname {
                if type_idents(ty).iter().any(|i| i == name) {
                    holders.insert(fname);
                }
            }
        }
    }
    let mut fns: BTreeSet<usize> = impl_fns.iter().copied().collect();
    for (i, f) in file.fns.iter().enumerate() {
        if file.test_fn[i] || f.self_ty.as_deref() == Some(name) {
            continue;
        }
        let mut local = holders.clone();
        for input in &f.sig.inputs {
            if let syn::FnArg::Typed(pt) = input {
                if let syn::Pat::Ident(pi) = &*pt.pat {
                    if type_idents(&pt.ty).iter().any(|t| t == name) {
                        local.insert(pi.ident.to_string());
                    }
                }
            }
        }
        if uses_holder(f.body, &local, Some(name)) {
            fns.insert(i);
        }
    }
    host_of_fns(file, fns.into_iter(), |_, b| Some(b))
}

/// Whether a body calls a method on one of `holders` (or builds `ty` into a `let`).
fn uses_holder(body: &syn::Block, holders: &HashSet<String>, ty: Option<&str>) -> bool {
    struct V<'s> {
        holders: HashSet<String>,
        ty: Option<&'s str>,
        hit: bool,
    }
    fn last_name(e: &Expr) -> Option<String> {
        match e {
            Expr::Field(f) => match &f.member {
                Member::Named(m) => Some(m.to_string()),
                Member::Unnamed(_) => None,
            },
            Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
            Expr::Reference(r) => last_name(&r.expr),
            Expr::Paren(p) => last_name(&p.expr),
            Expr::MethodCall(m)
                if ident_in(
                    &m.method,
                    &[
                        "lock",
                        "read",
                        "write",
                        "unwrap",
                        "as_ref",
                        "clone",
                        "borrow",
                        "borrow_mut",
                    ],
                ) =>
            {
                last_name(&m.receiver)
            }
            Expr::Try(t) => last_name(&t.expr),
            Expr::Await(a) => last_name(&a.base),
            _ => None,
        }
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_local(&mut self, l: &'a syn::Local) {
            if let (Some(ty), Some(init), syn::Pat::Ident(pi)) = (self.ty, &l.init, &l.pat) {
                let t = text(&*init.expr);
                if t.starts_with(&format!("{ty}::")) || t.starts_with(&format!("{ty}{{")) {
                    self.holders.insert(pi.ident.to_string());
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
            if last_name(&m.receiver).is_some_and(|n| self.holders.contains(&n)) {
                self.hit = true;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V {
        holders: holders.clone(),
        ty,
        hit: false,
    };
    v.visit_block(body);
    v.hit
}

/// The single host of the network calls in some functions' bodies (or parts).
fn host_of_fns<'b>(
    file: &File<'_, 'b>,
    fns: impl Iterator<Item = usize>,
    part: impl Fn(usize, &'b syn::Block) -> Option<&'b syn::Block>,
) -> Option<String> {
    let mut hosts = BTreeSet::new();
    for i in fns {
        let f = &file.fns[i];
        let Some(block) = part(i, f.body) else {
            continue;
        };
        let scan = NetScan::new(file.cx, &file.scopes[i], f.self_ty.as_deref());
        for call in scan.calls_in_block(block) {
            if let Some(h) = call.dest.host {
                hosts.insert(h);
            }
        }
    }
    (hosts.len() == 1)
        .then(|| hosts.into_iter().next())
        .flatten()
}

// ---------------------------------------------------------------------------
// Crate breakers.

/// Crates whose whole purpose is a circuit breaker.
pub(crate) const BREAKER_CRATES: &[&str] = &[
    "failsafe",
    "recloser",
    "circuitbreaker_rs",
    "tower_resilience",
    "tower_resilience_circuitbreaker",
    "tower_circuitbreaker",
];

/// Builder methods that only a breaker has.
const BREAKER_METHODS: &[&str] = &[
    "failure_policy",
    "open_wait",
    "half_open_len",
    "closed_len",
    "wait_duration_in_open",
    "failure_rate_threshold",
    "permitted_calls_in_half_open",
    "sliding_window_duration",
];

fn crate_breakers(file: &File<'_, '_>, out: &mut Vec<Found>) {
    // Walk every function body (and `const`/`static` initialisers) once.
    let mut hits: Vec<(Option<usize>, Found, Option<String>)> = Vec::new();
    for (i, f) in file.fns.iter().enumerate() {
        let mut v = ChainVisitor {
            file,
            f: Some(i),
            hits: &mut hits,
            binding: None,
        };
        v.visit_block(f.body);
    }
    for e in &file.statics {
        let mut v = ChainVisitor {
            file,
            f: None,
            hits: &mut hits,
            binding: None,
        };
        v.visit_expr(e);
    }
    for (f, mut found, binding) in hits {
        if let Some(name) = binding {
            found.host = crate_breaker_host(file, f, &name);
        }
        out.push(found);
    }
}

struct ChainVisitor<'v, 'c, 'a> {
    file: &'v File<'c, 'a>,
    f: Option<usize>,
    hits: &'v mut Vec<(Option<usize>, Found, Option<String>)>,
    /// The `let` or field the expression being visited initialises.
    binding: Option<String>,
}

impl<'a> Visit<'a> for ChainVisitor<'_, '_, 'a> {
    fn visit_local(&mut self, l: &'a syn::Local) {
        let name = match &l.pat {
            syn::Pat::Ident(pi) => Some(pi.ident.to_string()),
            syn::Pat::Type(pt) => match &*pt.pat {
                syn::Pat::Ident(pi) => Some(pi.ident.to_string()),
                _ => None,
            },
            _ => None,
        };
        let prev = std::mem::replace(&mut self.binding, name.map(|n| format!("let {n}")));
        syn::visit::visit_local(self, l);
        self.binding = prev;
    }
    fn visit_field_value(&mut self, fv: &'a syn::FieldValue) {
        let name = match &fv.member {
            Member::Named(m) => Some(format!("field {m}")),
            Member::Unnamed(_) => None,
        };
        let prev = std::mem::replace(&mut self.binding, name);
        syn::visit::visit_field_value(self, fv);
        self.binding = prev;
    }
    fn visit_expr(&mut self, e: &'a Expr) {
        if let Expr::MethodCall(_) | Expr::Call(_) = e {
            if let Some(found) = self.chain(e) {
                self.hits.push((self.f, found, self.binding.clone()));
                // Arguments may hold other chains; the chain itself is done.
                let binding = self.binding.take();
                visit_chain_args(self, e);
                self.binding = binding;
                return;
            }
        }
        // Only the outermost expression of a `let` (through wrappers such
        // as `Arc::new(..)` and `.await?`) initialises it.
        let saved = self.binding.clone();
        if !matches!(
            e,
            Expr::MethodCall(_)
                | Expr::Call(_)
                | Expr::Await(_)
                | Expr::Try(_)
                | Expr::Paren(_)
                | Expr::Group(_)
        ) {
            self.binding = None;
        }
        syn::visit::visit_expr(self, e);
        self.binding = saved;
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

fn visit_chain_args<'a>(v: &mut ChainVisitor<'_, '_, 'a>, e: &'a Expr) {
    let mut cur = e;
    loop {
        match cur {
            Expr::MethodCall(m) => {
                for a in &m.args {
                    v.visit_expr(a);
                }
                cur = &m.receiver;
            }
            Expr::Call(c) => {
                for a in &c.args {
                    v.visit_expr(a);
                }
                return;
            }
            Expr::Await(a) => cur = &a.base,
            Expr::Try(t) => cur = &t.expr,
            Expr::Paren(p) => cur = &p.expr,
            other => {
                v.visit_expr(other);
                return;
            }
        }
    }
}

impl<'a> ChainVisitor<'_, '_, 'a> {
    /// A builder chain whose root call creates a crate's breaker.
    fn chain(&self, e: &'a Expr) -> Option<Found> {
        let mut methods: Vec<&'a syn::ExprMethodCall> = Vec::new();
        let mut cur = e;
        let root = loop {
            match cur {
                // Every link asks for its chain: bounded, a generated
                // 10,000-call chain stays linear; no breaker builder is longer.
                Expr::MethodCall(_) if methods.len() >= 64 => return None,
                Expr::MethodCall(m) => {
                    methods.push(m);
                    cur = &m.receiver;
                }
                Expr::Await(a) => cur = &a.base,
                Expr::Try(t) => cur = &t.expr,
                Expr::Paren(p) => cur = &p.expr,
                Expr::Call(c) => break c,
                _ => return None,
            }
        };
        let Expr::Path(fp) = &*root.func else {
            return None;
        };
        let cx = self.file.cx;
        let segs = cx.uses.resolve_shared(&fp.path);
        let n = segs.len();
        let ctor = segs.last()?.as_str();
        let ty = if n >= 2 { segs[n - 2].as_str() } else { "" };
        // A type of this file is a hand-written breaker, reported at its definition.
        if self.file.types.contains_key(ty) {
            return None;
        }
        let krate = segs
            .iter()
            .find(|s| BREAKER_CRATES.contains(&s.as_str()))
            .map(String::as_str);
        let names: Vec<String> = methods.iter().map(|m| m.method.to_string()).collect();
        let distinctive = names.iter().any(|m| BREAKER_METHODS.contains(&m.as_str()));
        let local_root = matches!(segs[0].as_str(), "crate" | "self" | "super" | "Self");
        if local_root {
            return None;
        }
        let label = match (ty, ctor) {
            ("Config", "new")
                if krate == Some("failsafe")
                    || (krate.is_none() && names.iter().any(|m| m == "failure_policy")) =>
            {
                "failsafe"
            }
            ("StateMachine", "new") if krate == Some("failsafe") => "failsafe",
            (_, "circuit_breaker_builder") if krate.is_some_and(|k| k.starts_with("tower")) => {
                "tower"
            }
            ("Recloser", "custom" | "default")
                if krate == Some("recloser") || (krate.is_none() && distinctive) =>
            {
                "recloser"
            }
            ("CircuitBreakerLayer" | "CircuitBreakerConfig", "builder" | "new" | "default")
                if krate.is_some_and(|k| k.starts_with("tower"))
                    || (krate.is_none() && distinctive) =>
            {
                "tower"
            }
            (t, "builder" | "new" | "default" | "with_config")
                if t.contains("Breaker")
                    && (krate.is_some() || (krate.is_none() && distinctive)) =>
            {
                krate.unwrap_or("breaker crate")
            }
            _ => return None,
        };
        let mut found = Found {
            range: cx.node_range(root),
            what: format!(
                "{} circuit breaker",
                if label == "tower" {
                    krate.unwrap_or("tower")
                } else {
                    label
                }
            ),
            consecutive_errors: None,
            ejection: None,
            interval: None,
            host: None,
        };
        let ev = |e: &Expr| self.file.resolve(e, self.f, &HashSet::default(), 0);
        if label == "failsafe" && ctor == "new" && ty == "StateMachine" {
            if let Some(p) = root.args.first() {
                self.failsafe_policy(p, &mut found, 0);
            }
        }
        for m in methods.iter().rev() {
            let arg = m.args.first();
            match (m.method.to_string().as_str(), arg) {
                ("failure_policy", Some(p)) => self.failsafe_policy(p, &mut found, 0),
                (
                    "open_wait"
                    | "wait_duration_in_open"
                    | "cooldown"
                    | "cool_down"
                    | "reset_timeout"
                    | "open_duration"
                    | "recovery_timeout",
                    Some(a),
                ) => {
                    found.ejection = ev(a).as_duration_nanos().or(found.ejection);
                }
                ("sliding_window_duration" | "window" | "time_window", Some(a)) => {
                    found.interval = ev(a).as_duration_nanos().or(found.interval);
                }
                ("failure_threshold" | "consecutive_failures" | "max_failures", Some(a)) => {
                    if let Value::Int(n) = ev(a) {
                        found.consecutive_errors = Some(n).filter(|n| *n > 0);
                    }
                }
                _ => {}
            }
        }
        Some(found)
    }

    /// Reads failsafe's `consecutive_failures(n, backoff)` and
    /// `success_rate_over_time_window(rate, min, window, backoff)`, through `let`s.
    fn failsafe_policy(&self, e: &'a Expr, found: &mut Found, depth: u32) {
        let Some(e) = self.through_lets(e, depth) else {
            return;
        };
        let ev = |e: &Expr| self.file.resolve(e, self.f, &HashSet::default(), 0);
        match e {
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return };
                let Some(last) = p.path.segments.last().map(|s| s.ident.to_string()) else {
                    return;
                };
                let args: Vec<&'a Expr> = c.args.iter().collect();
                match last.as_str() {
                    "consecutive_failures" if args.len() == 2 => {
                        if let Value::Int(n) = ev(args[0]) {
                            found.consecutive_errors = Some(n).filter(|n| *n > 0);
                        }
                        if let Some(d) = self.backoff_start(args[1], depth + 1) {
                            found.ejection = Some(d);
                        }
                    }
                    "success_rate_over_time_window" if args.len() == 4 => {
                        found.interval = ev(args[2]).as_duration_nanos().or(found.interval);
                        if found.ejection.is_none() {
                            found.ejection = self.backoff_start(args[3], depth + 1);
                        }
                    }
                    _ => {}
                }
            }
            // `policy_a.or_else(policy_b)`
            Expr::MethodCall(m) if m.method == "or_else" && m.args.len() == 1 && depth < 4 => {
                self.failsafe_policy(&m.receiver, found, depth + 1);
                self.failsafe_policy(&m.args[0], found, depth + 1);
            }
            _ => {}
        }
    }

    /// The first duration of a failsafe backoff.
    fn backoff_start(&self, e: &'a Expr, depth: u32) -> Option<u128> {
        let e = self.through_lets(e, depth)?;
        let Expr::Call(c) = e else { return None };
        let Expr::Path(p) = &*c.func else { return None };
        let last = p.path.segments.last()?.ident.to_string();
        if !matches!(
            last.as_str(),
            "constant" | "exponential" | "equal_jittered" | "full_jittered"
        ) {
            return None;
        }
        self.file
            .resolve(c.args.first()?, self.f, &HashSet::default(), 0)
            .as_duration_nanos()
    }

    fn through_lets(&self, e: &'a Expr, depth: u32) -> Option<&'a Expr> {
        if depth > 4 {
            return None;
        }
        match e {
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                let scope = &self.file.scopes[self.f?];
                let init = scope.binding_at(id)?.init?;
                self.through_lets(init, depth + 1)
            }
            Expr::Paren(p) => self.through_lets(&p.expr, depth + 1),
            other => Some(other),
        }
    }
}

/// The host of the calls a crate breaker wraps: closures passed to a method
/// of the `let` (in its function) or field (anywhere in the file) holding it.
fn crate_breaker_host(file: &File<'_, '_>, f: Option<usize>, binding: &str) -> Option<String> {
    let (is_let, name) = match binding.split_once(' ') {
        Some(("let", n)) => (true, n.to_string()),
        Some(("field", n)) => (false, n.to_string()),
        _ => return None,
    };
    let fns: Vec<usize> = if is_let {
        f.into_iter().collect()
    } else {
        (0..file.fns.len()).filter(|&i| !file.test_fn[i]).collect()
    };
    let mut hosts = BTreeSet::new();
    for i in fns {
        struct V<'a> {
            name: String,
            field: bool,
            args: Vec<&'a Expr>,
        }
        impl<'a> Visit<'a> for V<'a> {
            fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
                let on = match (&*m.receiver, self.field) {
                    (Expr::Field(fe), true) => {
                        matches!(&fe.member, Member::Named(id) if *id == self.name)
                    }
                    (Expr::Path(p), false) => p.path.is_ident(&self.name),
                    _ => false,
                };
                if on
                    && ident_in(
                        &m.method,
                        &[
                            "call",
                            "call_with",
                            "call_async",
                            "call_with_async",
                            "execute",
                            "run",
                        ],
                    )
                {
                    self.args.extend(m.args.iter());
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut v = V {
            name: name.clone(),
            field: !is_let,
            args: Vec::new(),
        };
        v.visit_block(file.fns[i].body);
        if v.args.is_empty() {
            continue;
        }
        let scan = NetScan::new(file.cx, &file.scopes[i], file.fns[i].self_ty.as_deref());
        for a in v.args {
            for call in scan.calls_in_expr(a) {
                if let Some(h) = call.dest.host {
                    hosts.insert(h);
                }
            }
        }
    }
    (hosts.len() == 1)
        .then(|| hosts.into_iter().next())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::CrateIndex;

    fn run(src: &str) -> Vec<Violation> {
        let file: syn::File = syn::parse_str(src).expect("parses");
        let parts = crate::analysis::FileParts::new(&file, src);
        let index = CrateIndex::default();
        let cx = FileCtx::new(&parts, "x.rs", &index);
        let mut out = Vec::new();
        CircuitBreaker.check(&cx, &RuleConfig::default(), &mut out);
        out
    }

    #[test]
    fn breaker_in_test_code_is_found_for_the_engine_to_filter() {
        let src = r#"
            #[cfg(test)]
            mod tests {
                enum State { Closed, Open }
                struct Fake { state: State, failures: u32, opened: Option<std::time::Instant> }
                impl Fake {
                    fn fail(&mut self) {
                        self.failures += 1;
                        if self.failures >= 2 { self.state = State::Open; }
                    }
                }
                fn t() { let cb = failsafe::Config::new().build(); }
            }
        "#;
        assert_eq!(run(src).len(), 2);
    }

    #[test]
    fn test_call_sites_do_not_set_values() {
        let src = r#"
            use std::time::{Duration, Instant};
            pub struct Cb { failures: u32, threshold: u32, cooldown: Duration, open_until: Option<Instant> }
            impl Cb {
                pub fn new(threshold: u32, cooldown: Duration) -> Self {
                    Cb { failures: 0, threshold, cooldown, open_until: None }
                }
                pub fn fail(&mut self) {
                    self.failures += 1;
                    if self.failures >= self.threshold { self.open_until = Some(Instant::now() + self.cooldown); }
                }
            }
            fn main() { let cb = Cb::new(6, Duration::from_secs(9)); }
            #[cfg(test)]
            mod tests { fn t() { let cb = super::Cb::new(1, std::time::Duration::from_millis(1)); } }
        "#;
        let v = run(src);
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].values.get("consecutive_errors").map(String::as_str),
            Some("6")
        );
        assert_eq!(
            v[0].values.get("base_ejection_time").map(String::as_str),
            Some("9s")
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for src in [
            "",
            "struct S;",
            "enum E { Closed, Open }",
            "struct B { failures: u32, open: bool, t: std::time::Instant } impl B { fn f(&mut self) { if self.failures >= self.failures { self.open = true; } } }",
            "impl X { fn f() { Config::new().failure_policy(p).build(); } }",
            "fn f() { let x = Recloser::custom().open_wait(Duration::from_secs(u64::MAX)).build(); }",
            "fn f() { failsafe::Config::new().failure_policy(consecutive_failures(-1, backoff::constant(x))).build(); }",
            "fn f() { ::new(); a::b::c::d(); (|| Config::new())().build(); }",
            "const T: u32 = 170141183460469231731687303715884105727; struct B { failures: u32, open: bool, t: std::time::Instant } impl B { fn f(&mut self) { if self.failures > T { self.open = true; } } }",
            "const D: Duration = Duration::from_secs(18446744073709551615); struct B { failures: u32, open: bool, t: std::time::Instant } impl B { fn f(&mut self) { if self.failures > 1 { self.open = true; } if self.t.elapsed() > D + D + D { } } }",
            "struct B { failures: u32, open: bool, t: std::time::Instant } impl B { fn f(&mut self) { let a = a; let b = b; if a >= b { self.open = true; } } }",
        ] {
            let _ = run(src);
        }
    }
}
