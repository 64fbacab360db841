//! Constant folding as a reader does it: literals, `const`s and `static`s,
//! `let` bindings, `format!`/`concat!`, `Duration` and address constructors,
//! and environment lookups with a default. Anything else is `Unknown`:
//! rules must never guess a value.

use crate::source::SpanBytes;
use std::cell::{Cell, RefCell};

use syn::{Expr, Lit};

use super::paths::ends_with;
use super::scope::FnScope;
use super::FileCtx;

/// Marks an interpolated piece of a string whose value is unknown, so that
/// `format!("127.0.0.1:{}", port)` still tells the host.
pub const UNKNOWN_PART: char = '\u{1A}';

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    /// In nanoseconds.
    Duration(u128),
    /// An IP address in its textual form (`127.0.0.1`, `::1`).
    Ip(String),
    /// A socket address.
    Addr {
        host: String,
        port: Option<u16>,
    },
    Tuple(Vec<Value>),
    Array(Vec<Value>),
    /// Read from the environment; `default` is what the code falls back to.
    Env {
        var: String,
        default: Option<Box<Value>>,
    },
    /// A `const` of another file, not known while files are summarised one
    /// at a time; the crate index substitutes it later.
    ConstRef(String),
    Unknown,
}

/// Brackets a `ConstRef` inside a string template.
pub const CONST_MARK: char = '\u{1B}';

/// Fills the `ConstRef`s of a string template; `None` if one is unknown.
pub fn fill_template(t: &str, consts: &dyn Fn(&str) -> Option<Value>) -> Option<String> {
    let mut out = String::new();
    for (i, part) in t.split(CONST_MARK).enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
            continue;
        }
        match consts(part)? {
            Value::Str(s) => out.push_str(&s),
            Value::Int(n) => out.push_str(&n.to_string()),
            _ => return None,
        }
    }
    Some(out)
}

impl Value {
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown | Value::ConstRef(_))
    }

    /// The value the code uses when the environment does not say otherwise.
    pub fn or_env_default(&self) -> (&Value, bool) {
        match self {
            Value::Env {
                default: Some(d), ..
            } => (d.as_ref(), true),
            other => (other, false),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) if !s.contains(UNKNOWN_PART) => Some(s),
            _ => None,
        }
    }

    /// An integer, or the default an environment lookup falls back to.
    pub fn as_int(&self) -> Option<i128> {
        match self.or_env_default().0 {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A duration, or the default an environment lookup falls back to.
    pub fn as_duration_nanos(&self) -> Option<u128> {
        match self.or_env_default().0 {
            Value::Duration(d) => Some(*d),
            _ => None,
        }
    }
}

/// Where a value the code reads came from, when it is a configuration
/// default: `what` names it as the code does (`settings.request_timeout_ms`,
/// `DEFAULT_RETRIES`, `env RETRIES`), `at` is `file:line` of the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub what: String,
    pub at: String,
}

impl Source {
    /// `(default of `settings.timeout_ms`, src/settings.rs:131)` for messages.
    pub fn phrase(&self) -> String {
        format!("default of `{}`, {}", self.what, self.at)
    }
}

/// Evaluates expressions of one file, optionally inside one function body.
pub struct Evaluator<'e, 'a> {
    pub cx: &'e FileCtx<'a>,
    pub scope: &'e FnScope<'e>,
    /// Configuration defaults read since the last `take_sources`.
    sources: RefCell<Vec<Source>>,
    /// While a binding's initialiser is evaluated, the binding's position:
    /// names in it see only bindings made before it, so that the shadowing
    /// `let addr = addr.parse()?` reads the earlier `addr`.
    horizon: Cell<Option<usize>>,
}

const MAX_DEPTH: u32 = 24;

impl<'e, 'a> Evaluator<'e, 'a> {
    pub fn new(cx: &'e FileCtx<'a>, scope: &'e FnScope<'e>) -> Self {
        Evaluator {
            cx,
            scope,
            sources: RefCell::new(Vec::new()),
            horizon: Cell::new(None),
        }
    }

    /// The configuration defaults the evaluations since the last call read,
    /// in order, without repeats.
    pub fn take_sources(&self) -> Vec<Source> {
        let mut out: Vec<Source> = Vec::new();
        for s in self.sources.take() {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    /// Evaluates `e` and returns the configuration default it came from,
    /// if exactly one did.
    pub fn eval_sourced(&self, e: &Expr) -> (Value, Option<Source>) {
        let before = self.sources.take();
        let v = self.eval(e);
        let mut mine = self.take_sources();
        self.sources.replace(before);
        let src = (mine.len() == 1).then(|| mine.remove(0));
        if let Some(s) = &src {
            self.sources.borrow_mut().push(s.clone());
        }
        (v, src)
    }

    fn note(&self, what: String, at: String) {
        if !at.is_empty() && !self.cx.path.is_empty() {
            self.sources.borrow_mut().push(Source { what, at });
        }
    }

    /// `file:line` of a node of this file.
    fn here(&self, span: proc_macro2::Span) -> String {
        format!("{}:{}", self.cx.path, self.cx.range(span).line)
    }

    /// The binding of `name` that a use at byte offset `at` sees.
    fn lookup(&self, name: &str, at: usize) -> Option<super::scope::Binding<'e>> {
        self.scope.lookup_reading(name, at, self.horizon.get())
    }

    /// The type a plain name is declared as (a parameter or a typed `let`:
    /// `policy: &RetryPolicy`), by its last segment.
    fn declared_type(&self, base: &Expr) -> Option<String> {
        let Expr::Path(p) = base else { return None };
        let id = p.path.get_ident()?;
        let b = self.lookup(&id.to_string(), id.span().byte_start())?;
        let path = super::scope::type_path(b.ty?)?;
        let last = path.segments.last()?;
        if !matches!(last.arguments, syn::PathArguments::None) {
            return None;
        }
        Some(last.ident.to_string())
    }

    /// Evaluates a binding's initialiser as seen from the binding itself.
    fn eval_binding(&self, b: super::scope::Binding<'e>, d: u32) -> Value {
        let Some(init) = b.init else {
            return Value::Unknown;
        };
        let outer = self.horizon.replace(Some(b.at));
        let v = self.eval_at(init, d);
        self.horizon.set(outer);
        v
    }

    pub fn eval(&self, e: &Expr) -> Value {
        self.eval_at(e, 0)
    }

    fn eval_at(&self, e: &Expr, depth: u32) -> Value {
        if depth > MAX_DEPTH {
            return Value::Unknown;
        }
        let d = depth + 1;
        match e {
            Expr::Lit(l) => lit_value(&l.lit),
            Expr::Paren(p) => self.eval_at(&p.expr, d),
            Expr::Group(g) => self.eval_at(&g.expr, d),
            Expr::Reference(r) => self.eval_at(&r.expr, d),
            Expr::Cast(c) => self.eval_at(&c.expr, d),
            Expr::Try(t) => self.eval_at(&t.expr, d),
            Expr::Await(a) => self.eval_at(&a.base, d),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => match self.eval_at(&u.expr, d) {
                Value::Int(i) => Value::Int(i.saturating_neg()),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Unknown,
            },
            Expr::Block(b) => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) if b.block.stmts.len() == 1 => self.eval_at(e, d),
                _ => Value::Unknown,
            },
            Expr::Tuple(t) => Value::Tuple(t.elems.iter().map(|x| self.eval_at(x, d)).collect()),
            Expr::Array(a) => Value::Array(a.elems.iter().map(|x| self.eval_at(x, d)).collect()),
            Expr::Path(p) => self.eval_path(&p.path, d),
            // `state.base_url`: the value every struct literal of the crate
            // gives that field, when they all agree.
            // A name declared with a struct type of the crate
            // (`policy: RetryPolicy`) reads that type's literals only, even
            // when another type has a field of the same name.
            Expr::Field(f) => match &f.member {
                syn::Member::Named(name) => {
                    let name = name.to_string();
                    let typed = self
                        .declared_type(&f.base)
                        .filter(|ty| self.cx.index.has_field(ty, &name));
                    let v = match &typed {
                        Some(ty) => self.cx.index.field_value_of(ty, &name),
                        None => self.cx.index.field_value(&name),
                    };
                    let Some(v) = v.cloned() else {
                        return Value::Unknown;
                    };
                    let at = match &typed {
                        Some(ty) => self.cx.index.field_source_of(ty, &name),
                        None => self.cx.index.field_source(&name),
                    };
                    if let Some(at) = at {
                        self.note(field_path(f), at.to_string());
                    }
                    v
                }
                syn::Member::Unnamed(_) => Value::Unknown,
            },
            Expr::Binary(b) => binary(&b.op, self.eval_at(&b.left, d), self.eval_at(&b.right, d)),
            Expr::Macro(m) => self.eval_macro(&m.mac, d),
            Expr::Call(c) => self.eval_call(c, d),
            Expr::MethodCall(m) => self.eval_method(m, d),
            _ => Value::Unknown,
        }
    }

    fn eval_path(&self, path: &syn::Path, d: u32) -> Value {
        let segs = self.cx.uses.resolve_shared(path);
        if let Some(v) = well_known_const(&segs) {
            return v;
        }
        if path.segments.len() == 1 {
            let ident = &path.segments[0].ident;
            let name = ident.to_string();
            let at = ident.span().byte_start();
            if let Some(b) = self.lookup(&name, at) {
                return self.eval_binding(b, d);
            }
        }
        // `Self::TIMEOUT`, `config::ADDR`, `ADDR`: consts are looked up by name.
        let Some(last) = path.segments.last() else {
            return Value::Unknown;
        };
        let name = last.ident.to_string();
        if !name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            return Value::Unknown;
        }
        // A `DEFAULT_*` constant is the default of a setting.
        let is_default = name.starts_with("DEFAULT");
        if let Some(init) = self.cx.const_expr(&name) {
            let empty = FnScope::empty();
            let inner = Evaluator::new(self.cx, &empty);
            let v = inner.eval_at(init, d);
            self.sources.borrow_mut().extend(inner.take_sources());
            if is_default && !v.is_unknown() {
                use syn::spanned::Spanned;
                self.note(name, self.here(init.span()));
            }
            return v;
        }
        match self.cx.index.const_value(&name) {
            Some(v) => {
                if is_default {
                    if let Some(at) = self.cx.index.const_source(&name) {
                        self.note(name, at.to_string());
                    }
                }
                v.clone()
            }
            None => Value::ConstRef(name),
        }
    }

    fn eval_macro(&self, mac: &syn::Macro, d: u32) -> Value {
        let name = super::macros::macro_name(mac);
        let args = self.cx.macros.exprs(mac);
        match name.as_str() {
            "format" => {
                let Some(Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(fmt), ..
                })) = args.first()
                else {
                    return Value::Unknown;
                };
                let (text, env) = self.format(&fmt.value(), &args[1..], fmt.span().byte_start(), d);
                // `format!("{host}:{port}")` with `host` from the environment
                // still comes from there: keep the provenance.
                match env {
                    Some(var) => Value::Env {
                        var,
                        default: Some(Box::new(Value::Str(text))),
                    },
                    None => Value::Str(text),
                }
            }
            "concat" => {
                let mut out = String::new();
                for a in args {
                    match self.eval_at(a, d) {
                        Value::Str(s) => out.push_str(&s),
                        Value::Int(i) => out.push_str(&i.to_string()),
                        _ => out.push(UNKNOWN_PART),
                    }
                }
                Value::Str(out)
            }
            _ => Value::Unknown,
        }
    }

    /// Renders a format string; unknown arguments become `UNKNOWN_PART`.
    /// Also returns the variable of the first interpolated environment value
    /// with a non-numeric default (a host, an address; a numeric default is
    /// a port or a count, which does not make the text come from there).
    fn format(&self, fmt: &str, args: &[&Expr], at: usize, d: u32) -> (String, Option<String>) {
        let mut positional = Vec::new();
        let mut named = Vec::new();
        for a in args {
            match a {
                Expr::Assign(asg) => {
                    if let Expr::Path(p) = &*asg.left {
                        if let Some(id) = p.path.get_ident() {
                            named.push((id.to_string(), self.eval_at(&asg.right, d)));
                        }
                    }
                }
                other => positional.push(self.eval_at(other, d)),
            }
        }
        let mut out = String::new();
        let mut env = None;
        let mut next = 0usize;
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let mut spec = String::new();
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        spec.push(c);
                    }
                    let (arg, format_spec) = match spec.split_once(':') {
                        Some((a, f)) => (a.trim().to_string(), f),
                        None => (spec.trim().to_string(), ""),
                    };
                    let v = if arg.is_empty() {
                        next += 1;
                        positional.get(next - 1).cloned()
                    } else if let Ok(i) = arg.parse::<usize>() {
                        positional.get(i).cloned()
                    } else if let Some((_, v)) = named.iter().find(|(n, _)| *n == arg) {
                        Some(v.clone())
                    } else {
                        // Inline capture `{port}`: a binding in scope.
                        self.lookup(&arg, at)
                            .filter(|b| b.init.is_some())
                            .map(|b| self.eval_binding(b, d))
                            .or_else(|| self.cx.const_expr(&arg).map(|e| self.eval_at(e, d)))
                            .or_else(|| self.cx.index.const_value(&arg).cloned())
                            .or_else(|| {
                                arg.chars()
                                    .next()
                                    .is_some_and(|c| c.is_ascii_uppercase())
                                    .then(|| Value::ConstRef(arg.clone()))
                            })
                    };
                    let v = v.unwrap_or(Value::Unknown);
                    if let Value::Env {
                        var,
                        default: Some(dv),
                    } = &v
                    {
                        if env.is_none() && !matches!(**dv, Value::Int(_)) {
                            env = Some(var.clone());
                        }
                    }
                    match apply_format_spec(&display(&v), format_spec) {
                        Some(text) => out.push_str(&text),
                        None => out.push(UNKNOWN_PART),
                    }
                }
                c => out.push(c),
            }
        }
        (out, env)
    }

    fn eval_call(&self, c: &syn::ExprCall, d: u32) -> Value {
        let Expr::Path(fp) = &*c.func else {
            return Value::Unknown;
        };
        let segs = self.cx.uses.resolve_shared(&fp.path);
        let arg = |i: usize| {
            c.args
                .iter()
                .nth(i)
                .map(|a| self.eval_at(a, d))
                .unwrap_or(Value::Unknown)
        };
        let last = segs.last().map(String::as_str).unwrap_or("");
        let in_type = |ty: &str| segs.len() >= 2 && segs[segs.len() - 2] == ty;
        if in_type("Duration") || in_type("TimeDelta") {
            return duration_ctor(
                last,
                &c.args
                    .iter()
                    .map(|a| self.eval_at(a, d))
                    .collect::<Vec<_>>(),
            );
        }
        if (in_type("Ipv4Addr") || in_type("Ipv6Addr")) && last == "new" {
            let parts: Vec<Value> = c.args.iter().map(|a| self.eval_at(a, d)).collect();
            return ip_from_parts(&parts).unwrap_or(Value::Unknown);
        }
        if (in_type("IpAddr") && matches!(last, "V4" | "V6" | "from"))
            || (in_type("Ipv4Addr") || in_type("Ipv6Addr")) && last == "from"
        {
            return to_ip(&arg(0)).unwrap_or(Value::Unknown);
        }
        if in_type("SocketAddr") || in_type("SocketAddrV4") || in_type("SocketAddrV6") {
            return match last {
                "new" => socket_addr(&arg(0), &arg(1)),
                "from" => match arg(0) {
                    Value::Tuple(t) if t.len() == 2 => socket_addr(&t[0], &t[1]),
                    _ => Value::Unknown,
                },
                "V4" | "V6" => arg(0),
                _ => Value::Unknown,
            };
        }
        if ends_with(&segs, &["humantime", "parse_duration"]) {
            return match arg(0) {
                Value::Str(s) => duration_value(parse_humantime(&s)),
                _ => Value::Unknown,
            };
        }
        if (segs.len() >= 2 && segs[segs.len() - 2] == "env" && matches!(last, "var" | "var_os"))
            || ends_with(&segs, &["dotenv", "var"])
            || ends_with(&segs, &["dotenvy", "var"])
        {
            return match arg(0) {
                Value::Str(var) => Value::Env { var, default: None },
                _ => Value::Env {
                    var: String::new(),
                    default: None,
                },
            };
        }
        // Wrappers that keep their argument's meaning.
        if matches!(
            last,
            "from" | "from_static" | "from_shared" | "parse" | "Some" | "Ok"
        ) && c.args.len() == 1
            && (last != "from"
                || matches!(
                    segs.first().map(String::as_str),
                    Some("String" | "Url" | "Uri")
                ))
        {
            return arg(0);
        }
        // `base_url()`: a crate function without arguments that returns a
        // value the code spells out (`format!("http://{}:8081", HOST)`).
        if c.args.is_empty() {
            if let Some(v) = self.cx.index.fn_returns(last) {
                return v.clone();
            }
            // `fn default_timeout_ms() -> u64 { 5_000 }` of this file.
            if segs.len() == 1 {
                if let Some(body) = self.cx.zero_arg_fn(last) {
                    if let [syn::Stmt::Expr(tail, None)] = body.stmts.as_slice() {
                        let empty = FnScope::empty();
                        let inner = Evaluator::new(self.cx, &empty);
                        let v = inner.eval_at(tail, d);
                        self.sources.borrow_mut().extend(inner.take_sources());
                        return v;
                    }
                }
            }
        }
        // `endpoint(port)`: a function of the crate (by its own name or a
        // `crate::`/`self::`/`super::` path) whose value is a string the
        // code spells out around its parameters
        // (`format!("http://127.0.0.1:{port}")`): the parameters stay
        // unknown parts, the rest (the host) is read.
        if !c.args.is_empty()
            && (segs.len() == 1 || matches!(segs[0].as_str(), "crate" | "self" | "super"))
        {
            if let Some(Value::Str(s)) = self.cx.index.fn_returns(last) {
                return Value::Str(s.clone());
            }
        }
        Value::Unknown
    }

    fn eval_method(&self, m: &syn::ExprMethodCall, d: u32) -> Value {
        let method = m.method.to_string();
        let recv = || self.eval_at(&m.receiver, d);
        let arg = |i: usize| {
            m.args
                .iter()
                .nth(i)
                .map(|a| self.eval_at(a, d))
                .unwrap_or(Value::Unknown)
        };
        match method.as_str() {
            "to_string" | "to_owned" | "into" | "as_str" | "as_ref" | "clone" | "unwrap"
            | "expect" | "parse" | "ok" | "as_deref" | "borrow" | "into_owned"
            | "to_socket_addrs" => recv(),
            // chrono's `TimeDelta` as a `std::time::Duration`.
            "to_std" => match recv() {
                d @ Value::Duration(_) => d,
                _ => Value::Unknown,
            },
            "unwrap_or" | "unwrap_or_else" | "or" | "or_else" | "unwrap_or_default" => {
                let fallback = match method.as_str() {
                    "unwrap_or" | "or" => arg(0),
                    "unwrap_or_else" | "or_else" => match m.args.first() {
                        Some(Expr::Closure(cl)) => self.eval_at(&cl.body, d),
                        Some(other) => self.eval_at(other, d),
                        None => Value::Unknown,
                    },
                    _ => Value::Unknown,
                };
                match recv() {
                    Value::Env { var, default: None } => {
                        if !fallback.is_unknown() && !var.is_empty() {
                            self.note(format!("env {var}"), self.here(m.method.span()));
                        }
                        Value::Env {
                            var,
                            default: (!fallback.is_unknown()).then(|| Box::new(fallback)),
                        }
                    }
                    // `settings.timeout_secs.unwrap_or(30)`: an optional
                    // setting's default, a number or a duration.
                    Value::Unknown
                        if matches!(method.as_str(), "unwrap_or" | "unwrap_or_else")
                            && matches!(fallback, Value::Int(_) | Value::Duration(_)) =>
                    {
                        if let Some(Expr::Lit(l)) = m.args.first() {
                            let what = match &*m.receiver {
                                Expr::Field(f) => field_path(f),
                                Expr::Path(p) => p
                                    .path
                                    .get_ident()
                                    .map(|i| i.to_string())
                                    .unwrap_or_default(),
                                _ => String::new(),
                            };
                            if !what.is_empty() {
                                self.note(what, self.here(l.lit.span()));
                            }
                        }
                        fallback
                    }
                    Value::Unknown => Value::Unknown,
                    known => known,
                }
            }
            // `env::var("X").map(|s| s.parse()).and_then(..)` still comes from X.
            "map" | "and_then" | "map_err" | "context" | "with_context" => match recv() {
                env @ Value::Env { .. } => env,
                _ => Value::Unknown,
            },
            // `TOKEN_URL.replace("{tenant}", &tenant)`: a template filled
            // in; what the argument is not known to be stays unknown, so a
            // placeholder in the host leaves the host unknown.
            "replace" | "replacen" => through_env(recv(), |base| match (base, arg(0)) {
                (Value::Str(base), Value::Str(pat)) if !pat.is_empty() => {
                    let with = match arg(1) {
                        Value::Str(w) => w,
                        _ => UNKNOWN_PART.to_string(),
                    };
                    if method == "replacen" {
                        match arg(2) {
                            Value::Int(n) if n >= 0 => {
                                Value::Str(base.replacen(&pat, &with, n as usize))
                            }
                            _ => Value::Unknown,
                        }
                    } else {
                        Value::Str(base.replace(&pat, &with))
                    }
                }
                _ => Value::Unknown,
            }),
            "join" => through_env(recv(), |base| match (base, arg(0)) {
                (Value::Str(base), Value::Str(rel)) => Value::Str(url_join(&base, &rel)),
                _ => Value::Unknown,
            }),
            "mul_f64" | "mul_f32" => match (recv(), arg(0)) {
                (Value::Duration(n), Value::Float(f)) if f >= 0.0 => {
                    let nanos = n as f64 * f;
                    duration_value(
                        (nanos.is_finite() && nanos < u128::MAX as f64).then_some(nanos as u128),
                    )
                }
                _ => Value::Unknown,
            },
            "saturating_mul" | "checked_mul" => match (recv(), arg(0)) {
                (Value::Duration(n), Value::Int(k)) if k >= 0 => {
                    duration_value(n.checked_mul(k as u128))
                }
                (Value::Int(a), Value::Int(b)) => int_value(a.checked_mul(b)),
                _ => Value::Unknown,
            },
            _ => Value::Unknown,
        }
    }
}

/// `self.settings.timeout_ms` → `settings.timeout_ms`: a field as a reader
/// names it.
fn field_path(f: &syn::ExprField) -> String {
    let mut parts = Vec::new();
    if let syn::Member::Named(n) = &f.member {
        parts.push(n.to_string());
    }
    let mut e: &Expr = &f.base;
    loop {
        match e {
            Expr::Field(x) => {
                if let syn::Member::Named(n) = &x.member {
                    parts.push(n.to_string());
                }
                e = &x.base;
            }
            Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    if id != "self" {
                        parts.push(id.to_string());
                    }
                }
                break;
            }
            Expr::MethodCall(m) if m.args.is_empty() => {
                // `CONFIG.get().limits.timeout_ms`
                e = &m.receiver;
            }
            Expr::Paren(p) => e = &p.expr,
            _ => break,
        }
    }
    parts.reverse();
    parts.join(".")
}

fn lit_value(l: &Lit) -> Value {
    match l {
        Lit::Str(s) => Value::Str(s.value()),
        Lit::Int(i) => i
            .base10_parse::<i128>()
            .map(Value::Int)
            .unwrap_or(Value::Unknown),
        Lit::Float(f) => f
            .base10_parse::<f64>()
            .map(Value::Float)
            .unwrap_or(Value::Unknown),
        Lit::Bool(b) => Value::Bool(b.value),
        _ => Value::Unknown,
    }
}

fn well_known_const(segs: &[String]) -> Option<Value> {
    let n = segs.len();
    if n < 2 {
        return None;
    }
    let (ty, name) = (segs[n - 2].as_str(), segs[n - 1].as_str());
    Some(match (ty, name) {
        ("Ipv4Addr", "LOCALHOST") => Value::Ip("127.0.0.1".into()),
        ("Ipv4Addr", "UNSPECIFIED") => Value::Ip("0.0.0.0".into()),
        ("Ipv6Addr", "LOCALHOST") => Value::Ip("::1".into()),
        ("Ipv6Addr", "UNSPECIFIED") => Value::Ip("::".into()),
        ("Duration", "ZERO") => Value::Duration(0),
        ("Duration", "SECOND") => Value::Duration(1_000_000_000),
        ("Duration", "MILLISECOND") => Value::Duration(1_000_000),
        _ => return None,
    })
}

/// `f` applied to an environment value's default, keeping the provenance;
/// to the value itself otherwise. A variable without a default gives no
/// value (and `f`, which may be `binary` itself, is not called on it again:
/// `env::var("HOME").unwrap() + "/x"` once recursed without end).
fn through_env(v: Value, f: impl FnOnce(Value) -> Value) -> Value {
    match v {
        Value::Env { default: None, .. } => Value::Unknown,
        Value::Env {
            var,
            default: Some(d),
        } => match f(*d) {
            Value::Unknown => Value::Unknown,
            out => Value::Env {
                var,
                default: Some(Box::new(out)),
            },
        },
        other => f(other),
    }
}

fn binary(op: &syn::BinOp, l: Value, r: Value) -> Value {
    use syn::BinOp::*;
    match (op, l, r) {
        // `format!("http://{host}") + "/x"` with an environment host.
        (Add(_), l @ Value::Env { .. }, r @ Value::Str(_)) => through_env(l, |l| binary(op, l, r)),
        (Add(_), Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
        (Add(_), Value::Str(a), Value::Int(b)) => Value::Str(format!("{a}{b}")),
        (Add(_), Value::Int(a), Value::Int(b)) => int_value(a.checked_add(b)),
        (Sub(_), Value::Int(a), Value::Int(b)) => int_value(a.checked_sub(b)),
        (Mul(_), Value::Int(a), Value::Int(b)) => int_value(a.checked_mul(b)),
        (Div(_), Value::Int(a), Value::Int(b)) if b != 0 => Value::Int(a / b),
        // Overflow panics in Rust: no value rather than a wrong one.
        (Add(_), Value::Duration(a), Value::Duration(b)) => duration_value(a.checked_add(b)),
        (Mul(_), Value::Duration(a), Value::Int(b))
        | (Mul(_), Value::Int(b), Value::Duration(a))
            if b >= 0 =>
        {
            duration_value(a.checked_mul(b as u128))
        }
        (Div(_), Value::Duration(a), Value::Int(b)) if b > 0 => Value::Duration(a / b as u128),
        (Add(_), Value::Str(a), r @ Value::ConstRef(_)) => {
            Value::Str(format!("{a}{}", display(&r)))
        }
        (Add(_), l @ Value::ConstRef(_), Value::Str(b)) => {
            Value::Str(format!("{}{b}", display(&l)))
        }
        (Add(_), Value::Str(a), _) => Value::Str(format!("{a}{UNKNOWN_PART}")),
        _ => Value::Unknown,
    }
}

fn duration_ctor(ctor: &str, args: &[Value]) -> Value {
    // Every constructor takes a u64 (`new` a u64 and a u32).
    let int = |i: usize| {
        args.get(i)
            .and_then(Value::as_int)
            .filter(|v| (0..=i128::from(u64::MAX)).contains(v))
            .map(|v| v as u128)
    };
    let float = |i: usize| match args.get(i) {
        Some(Value::Float(f)) if *f >= 0.0 && f.is_finite() => Some(*f),
        Some(Value::Int(i)) if *i >= 0 => Some(*i as f64),
        _ => None,
    };
    let nanos = match ctor {
        "from_secs" => int(0).map(|s| s * 1_000_000_000),
        "from_millis" => int(0).map(|s| s * 1_000_000),
        "from_micros" => int(0).map(|s| s * 1_000),
        "from_nanos" => int(0),
        "from_mins" => int(0).map(|s| s * 60_000_000_000),
        "from_hours" => int(0).map(|s| s * 3_600_000_000_000),
        // chrono's `TimeDelta` (also named `chrono::Duration`); negative
        // spans are no deadline.
        "seconds" | "try_seconds" => int(0).map(|s| s * 1_000_000_000),
        "milliseconds" | "try_milliseconds" => int(0).map(|s| s * 1_000_000),
        "microseconds" => int(0).map(|s| s * 1_000),
        "nanoseconds" => int(0),
        "minutes" | "try_minutes" => int(0).map(|s| s * 60_000_000_000),
        "hours" | "try_hours" => int(0).map(|s| s * 3_600_000_000_000),
        "from_secs_f64" | "from_secs_f32" => float(0)
            .map(|f| (f * 1e9).round())
            .filter(|n| *n < u128::MAX as f64)
            .map(|n| n as u128),
        "new" => match (int(0), int(1)) {
            (Some(s), Some(n)) if n <= u128::from(u32::MAX) => Some(s * 1_000_000_000 + n),
            _ => None,
        },
        _ => None,
    };
    duration_value(nanos)
}

/// The longest duration a mesh config can hold (protobuf `Duration`:
/// 10,000 years); anything longer overflowed somewhere or means "never".
const MAX_MESH_DURATION_NANOS: u128 = 315_576_000_000 * 1_000_000_000;

/// A duration, or no value when it overflowed or exceeds what the mesh can express.
pub fn duration_value(nanos: Option<u128>) -> Value {
    match nanos {
        Some(n) if n <= MAX_MESH_DURATION_NANOS => Value::Duration(n),
        _ => Value::Unknown,
    }
}

/// An integer, or no value when the arithmetic overflowed.
pub fn int_value(i: Option<i128>) -> Value {
    i.map(Value::Int).unwrap_or(Value::Unknown)
}

/// `humantime`'s grammar, for the units services write: `2s`, `500ms`, `1m 30s`.
pub fn parse_humantime(s: &str) -> Option<u128> {
    let mut total = 0u128;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u128 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == ' ')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let mult = match unit {
            "ns" | "nsec" => 1,
            "us" | "usec" => 1_000,
            "ms" | "msec" => 1_000_000,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000_000_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(total)
}

fn ip_from_parts(parts: &[Value]) -> Option<Value> {
    let ints: Option<Vec<i128>> = parts.iter().map(Value::as_int).collect();
    let ints = ints?;
    match ints.len() {
        4 if ints.iter().all(|i| (0..=255).contains(i)) => Some(Value::Ip(
            ints.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("."),
        )),
        8 if ints.iter().all(|i| (0..=0xffff).contains(i)) => {
            let segs: Vec<u16> = ints.iter().map(|i| *i as u16).collect();
            let ip = std::net::Ipv6Addr::new(
                segs[0], segs[1], segs[2], segs[3], segs[4], segs[5], segs[6], segs[7],
            );
            Some(Value::Ip(ip.to_string()))
        }
        16 if ints.iter().all(|i| (0..=255).contains(i)) => {
            let bytes: Vec<u8> = ints.iter().map(|i| *i as u8).collect();
            let arr: [u8; 16] = bytes.try_into().ok()?;
            Some(Value::Ip(std::net::Ipv6Addr::from(arr).to_string()))
        }
        _ => None,
    }
}

/// An IP from whatever form the code wrote it in.
pub fn to_ip(v: &Value) -> Option<Value> {
    match v {
        Value::Ip(_) => Some(v.clone()),
        Value::Array(parts) => ip_from_parts(parts),
        Value::Str(s) => s
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| Value::Ip(ip.to_string())),
        _ => None,
    }
}

fn socket_addr(ip: &Value, port: &Value) -> Value {
    let Some(Value::Ip(host)) = to_ip(ip) else {
        return Value::Unknown;
    };
    // A port from the environment: its default is the port that runs.
    let port = port
        .or_env_default()
        .0
        .as_int()
        .and_then(|p| u16::try_from(p).ok());
    Value::Addr { host, port }
}

/// `text` formatted by a `format!` spec (what follows `:`): fill, alignment,
/// zero padding, width and precision, as `std::fmt` applies them to strings
/// and integers. `None` when the spec takes its width or precision from an
/// argument (`{:>w$}`, `{:.*}`) or the text is already partly unknown.
fn apply_format_spec(text: &str, spec: &str) -> Option<String> {
    if spec.is_empty() {
        return Some(text.to_string());
    }
    if text.contains(UNKNOWN_PART) || spec.contains('$') || spec.contains('*') {
        return None;
    }
    let mut chars: Vec<char> = spec.chars().collect();
    let mut fill = ' ';
    let mut align = None;
    if chars.len() >= 2 && matches!(chars[1], '<' | '^' | '>') {
        fill = chars[0];
        align = Some(chars[1]);
        chars.drain(..2);
    } else if chars.first().is_some_and(|c| matches!(c, '<' | '^' | '>')) {
        align = Some(chars[0]);
        chars.remove(0);
    }
    let rest: String = chars.into_iter().collect();
    let rest = rest.trim_start_matches(['+', '-', '#']);
    let (zero, rest) = match rest.strip_prefix('0') {
        Some(r) if align.is_none() => (true, r),
        _ => (false, rest),
    };
    let width_digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let width: usize = if width_digits == 0 {
        0
    } else {
        rest[..width_digits].parse().ok()?
    };
    // `{:>999999999}` in a hostile file must not allocate a gigabyte.
    if width > 1024 {
        return None;
    }
    let rest = &rest[width_digits..];
    let is_number = text.parse::<i128>().is_ok();
    let mut body = text.to_string();
    if let Some(p) = rest.strip_prefix('.') {
        let digits = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
        // Precision truncates strings; integers ignore it.
        if let (Ok(precision), false) = (p[..digits].parse::<usize>(), is_number) {
            body = body.chars().take(precision).collect();
        }
    }
    let len = body.chars().count();
    if len >= width {
        return Some(body);
    }
    let pad = width - len;
    if zero && is_number {
        let (sign, digits) = match body.strip_prefix('-') {
            Some(d) => ("-", d.to_string()),
            None => ("", body.clone()),
        };
        return Some(format!("{sign}{}{digits}", "0".repeat(pad)));
    }
    let align = align.unwrap_or(if is_number { '>' } else { '<' });
    let fill_n = |n: usize| fill.to_string().repeat(n);
    Some(match align {
        '>' => format!("{}{body}", fill_n(pad)),
        '^' => format!("{}{body}{}", fill_n(pad / 2), fill_n(pad - pad / 2)),
        _ => format!("{body}{}", fill_n(pad)),
    })
}

pub fn display(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Ip(ip) => ip.clone(),
        Value::Addr {
            host,
            port: Some(p),
        } if host.contains(':') => format!("[{host}]:{p}"),
        Value::Addr {
            host,
            port: Some(p),
        } => format!("{host}:{p}"),
        Value::Env {
            default: Some(d), ..
        } => display(d),
        Value::ConstRef(name) => format!("{CONST_MARK}{name}{CONST_MARK}"),
        _ => UNKNOWN_PART.to_string(),
    }
}

fn url_join(base: &str, rel: &str) -> String {
    if rel.contains("://") {
        return rel.to_string();
    }
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    if rel.starts_with('/') {
        format!("{}{}", &base[..authority_end], rel)
    } else {
        let dir_end = base
            .rfind('/')
            .filter(|&i| i >= authority_end)
            .map(|i| i + 1);
        match dir_end {
            Some(i) => format!("{}{}", &base[..i], rel),
            None => format!("{}/{}", base, rel),
        }
    }
}

/// Host and port of a listen or connect address, from any form the code wrote.
/// The host is `None` only when it cannot be read at all.
pub fn host_port(v: &Value) -> Option<(String, Option<u16>)> {
    match v {
        Value::Addr { host, port } => Some((host.clone(), *port)),
        Value::Ip(ip) => Some((ip.clone(), None)),
        Value::Tuple(t) if t.len() == 2 => {
            let port = t[1].as_int().and_then(|p| u16::try_from(p).ok());
            let host = match &t[0] {
                Value::Str(s) if !s.contains(UNKNOWN_PART) => s.clone(),
                other => match to_ip(other)? {
                    Value::Ip(ip) => ip,
                    _ => return None,
                },
            };
            Some((host, port))
        }
        Value::Str(s) => split_host_port(s),
        _ => None,
    }
}

/// `127.0.0.1:8080`, `[::1]:50051`, `localhost:3000`, `http://x:80/y`.
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    let s = s.split(['/', '?', '#']).next().unwrap_or(s);
    let s = s.rsplit_once('@').map(|(_, r)| r).unwrap_or(s);
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (h.to_string(), after.strip_prefix(':'))
    } else if s.matches(':').count() > 1 {
        // A bare IPv6 address has no port.
        (s.to_string(), None)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    if host.is_empty() || host.contains(UNKNOWN_PART) || host.contains(char::is_whitespace) {
        return None;
    }
    let port = port.and_then(|p| p.parse::<u16>().ok());
    Some((host, port))
}
