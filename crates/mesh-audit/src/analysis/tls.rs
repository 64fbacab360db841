//! TLS that service code sets up itself: server configs that terminate TLS
//! in the process, client configs that bring their own trust (a private CA,
//! a client certificate), and `https://` URLs. The TLS rules read these.
//!
//! Everything is recognised by resolved paths: `ServerConfig::builder()` is
//! rustls' only when `ServerConfig` was imported from `rustls` (directly or
//! through `tokio_rustls::rustls`), `.identity(..)` is reqwest's only on a
//! receiver that resolves to a reqwest client builder. A configuration is
//! reported once, at the call that creates it; the methods that complete it
//! (on the chain, or later on the `let` it is bound to) only say whether it
//! checks client certificates. Code that merely hands a configuration to a
//! server or client (`TlsAcceptor::from(cfg)`, `bind_rustls(addr, cfg)`,
//! `use_preconfigured_tls(cfg)`) is reported only when the configuration
//! comes from outside the crate, so the one made here is not counted twice.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use rustc_hash::FxHashMap as HashMap;

use mesh_audit_model::TextRange;
use syn::visit::Visit;
use syn::Expr;

use super::eval::{fill_template, Value, CONST_MARK};
use super::net::{l7_destination, Destination, Kind, NetScan};
use super::paths::{ends_with, mentions};
use super::scope::{Branches, FnScope};
use super::FileCtx;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The process terminates TLS (an acceptor, a server config).
    Server,
    /// The process originates TLS (a connector, a client config).
    Client,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// One TLS configuration made by the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSetup {
    pub range: TextRange,
    pub side: Side,
    /// `Some(true)`: a client certificate (client side) or a client-CA check
    /// (server side) is configured; `None` where the configuration is made
    /// outside the crate and cannot be read.
    pub mtls: Option<bool>,
    /// Where a client configuration connects to, as far as the code says.
    pub dest: Destination,
    /// What was found, for messages (``rustls `ServerConfig` ``).
    pub what: &'static str,
}

/// An HTTP or gRPC call to an `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsCall {
    pub range: TextRange,
    pub dest: Destination,
}

/// Where a host lives, as far as its name tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostScope {
    /// A bare Service name or a cluster DNS name (`*.svc`, `*.svc.cluster.local`).
    Mesh,
    /// A public DNS name (`api.stripe.com`): egress.
    Public,
    /// An IP address or a private DNS suffix (`.local`, `.internal`): not told.
    Unknown,
}

/// Classifies a host by its name. `name.namespace` is indistinguishable from
/// a public name with a two-label domain (`pricing.shop`), so it reads as
/// public: write `.svc` for in-cluster hosts.
pub fn host_scope(host: &str, mesh_domains: &[String]) -> HostScope {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.is_empty() || h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[') {
        return HostScope::Unknown;
    }
    let under = |suffix: &str| {
        let s = suffix.trim_start_matches('.').to_ascii_lowercase();
        !s.is_empty() && (h == s || h.ends_with(&format!(".{s}")))
    };
    // The Kubernetes API server's in-cluster names: no sidecar fronts it,
    // and its TLS is its own.
    if h == "kubernetes" || h == "kubernetes.default" || h.starts_with("kubernetes.default.svc") {
        return HostScope::Unknown;
    }
    if mesh_domains.iter().any(|d| under(d)) {
        return HostScope::Mesh;
    }
    if !h.contains('.') || under("svc") || under("svc.cluster.local") || under("cluster.local") {
        return HostScope::Mesh;
    }
    if [
        "local",
        "internal",
        "localdomain",
        "lan",
        "corp",
        "home",
        "intranet",
    ]
    .iter()
    .any(|s| under(s))
    {
        return HostScope::Unknown;
    }
    let tld = h.rsplit('.').next().unwrap_or("");
    if tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()) {
        HostScope::Public
    } else {
        HostScope::Unknown
    }
}

/// Crates whose connections carry a database, cache or broker protocol: the
/// mesh carries them as opaque TCP and does not originate TLS for them, so
/// TLS towards them is the application's business.
const OPAQUE_CLIENT_CRATES: &[&str] = &[
    "sqlx",
    "tokio_postgres",
    "postgres",
    "deadpool_postgres",
    "bb8_postgres",
    "tokio_postgres_rustls",
    "postgres_native_tls",
    "postgres_openssl",
    "diesel",
    "diesel_async",
    "mysql",
    "mysql_async",
    "sea_orm",
    "tiberius",
    "redis",
    "deadpool_redis",
    "bb8_redis",
    "fred",
    "memcache",
    "mongodb",
    "scylla",
    "cdrs_tokio",
    "lapin",
    "amqprs",
    "rdkafka",
    "rskafka",
    "kafka",
    "async_nats",
    "nats",
    "rumqttc",
    "paho_mqtt",
    // MQTT client and server of the ntex stack (a bridge to another broker).
    "ntex_mqtt",
    "pulsar",
    "etcd_client",
    "lettre",
    "ldap3",
    "ldap3_client",
    "zookeeper",
    // QUIC runs over UDP with TLS built in; sidecars do not carry it.
    "quinn",
    "quinn_proto",
    "h3_quinn",
    "s2n_quic",
    "quiche",
];

/// Server crates of protocols the mesh does not carry as HTTP (database
/// wire protocols, LDAP, SMTP, QUIC): TLS they terminate is not the sidecar's.
const OPAQUE_SERVER_CRATES: &[&str] = &[
    "quinn",
    "quinn_proto",
    "h3_quinn",
    "s2n_quic",
    "quiche",
    "pgwire",
    "opensrv_mysql",
    // RDP negotiates TLS inside the protocol (after the X.224 request).
    "ironrdp_server",
    "ironrdp_acceptor",
    "msql_srv",
    "ldap3_proto",
    "mailin",
    "mailin_embedded",
    "samotop",
];

/// The libraries whose configurations we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lib {
    Rustls,
    Tonic,
    NativeTls,
    OpenSsl,
    AxumServer,
    HyperRustls,
    Reqwest,
}

/// A call that creates a TLS configuration, found by its resolved path.
fn creation(segs: &[String], cx: &FileCtx<'_>) -> Option<(Lib, Side, &'static str)> {
    let n = segs.len();
    if n < 2 {
        return None;
    }
    let ty = segs[n - 2].as_str();
    let f = segs[n - 1].as_str();
    if mentions(segs, "rustls")
        && !mentions(segs, "axum_server")
        && matches!(
            f,
            "builder"
                | "builder_with_provider"
                | "builder_with_protocol_versions"
                | "builder_with_details"
                | "new"
        )
    {
        match ty {
            "ServerConfig" => return Some((Lib::Rustls, Side::Server, "rustls `ServerConfig`")),
            "ClientConfig" => return Some((Lib::Rustls, Side::Client, "rustls `ClientConfig`")),
            _ => {}
        }
    }
    let tonic = mentions(segs, "tonic") || cx.uses.imports_from("tonic");
    if tonic && matches!(f, "new" | "default") {
        match ty {
            "ServerTlsConfig" => {
                return Some((Lib::Tonic, Side::Server, "tonic `ServerTlsConfig`"))
            }
            "ClientTlsConfig" => {
                return Some((Lib::Tonic, Side::Client, "tonic `ClientTlsConfig`"))
            }
            _ => {}
        }
    }
    if mentions(segs, "native_tls") {
        match (ty, f) {
            ("TlsAcceptor", "new" | "builder") => {
                return Some((Lib::NativeTls, Side::Server, "native-tls `TlsAcceptor`"))
            }
            ("TlsConnector", "builder") => {
                return Some((Lib::NativeTls, Side::Client, "native-tls `TlsConnector`"))
            }
            _ => {}
        }
    }
    if mentions(segs, "openssl") {
        match (ty, f) {
            ("SslAcceptor", f) if f == "builder" || f.starts_with("mozilla_") => {
                return Some((Lib::OpenSsl, Side::Server, "openssl `SslAcceptor`"))
            }
            ("SslConnector", "builder") => {
                return Some((Lib::OpenSsl, Side::Client, "openssl `SslConnector`"))
            }
            _ => {}
        }
    }
    if mentions(segs, "axum_server")
        && matches!(ty, "RustlsConfig" | "OpenSSLConfig")
        && f.starts_with("from_")
        && f != "from_config"
        && f != "from_acceptor"
    {
        return Some((Lib::AxumServer, Side::Server, "axum-server `RustlsConfig`"));
    }
    // pingora's listener settings (`TlsSettings::intermediate(cert, key)`),
    // an openssl/boringssl acceptor builder underneath.
    if (mentions(segs, "pingora") || mentions(segs, "pingora_core"))
        && ty == "TlsSettings"
        && matches!(f, "intermediate" | "with_callbacks")
    {
        return Some((Lib::OpenSsl, Side::Server, "pingora `TlsSettings`"));
    }
    if mentions(segs, "hyper_rustls") && ty == "TlsAcceptor" && f == "builder" {
        return Some((Lib::HyperRustls, Side::Server, "hyper-rustls `TlsAcceptor`"));
    }
    None
}

/// A call that hands a configuration made elsewhere to a server or client:
/// the side, what it is, and which argument holds the configuration.
fn use_site_call(segs: &[String]) -> Option<(Side, &'static str, usize)> {
    let n = segs.len();
    if n < 2 {
        return None;
    }
    let ty = segs[n - 2].as_str();
    let f = segs[n - 1].as_str();
    let rustls_wrapper = mentions(segs, "tokio_rustls")
        || mentions(segs, "futures_rustls")
        || mentions(segs, "async_rustls")
        || mentions(segs, "tokio_native_tls");
    if rustls_wrapper && matches!(f, "from" | "new") {
        match ty {
            "TlsAcceptor" => return Some((Side::Server, "`TlsAcceptor`", 0)),
            "TlsConnector" => return Some((Side::Client, "`TlsConnector`", 0)),
            _ => {}
        }
    }
    if mentions(segs, "axum_server") {
        if f == "bind_rustls" || f == "bind_openssl" {
            return Some((Side::Server, "axum-server `bind_rustls`", 1));
        }
        if ty == "RustlsConfig" && f == "from_config" {
            return Some((Side::Server, "axum-server `RustlsConfig`", 0));
        }
    }
    None
}

/// Key of the value a method chain starts from: a call, or a `let` binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Base {
    Call(usize),
    Binding(usize),
}

fn call_key(c: &syn::ExprCall) -> usize {
    c.paren_token.span.open().byte_start()
}

/// The configuration a value is, with wrappers (`&`, `?`, `.await`,
/// `Arc::new`, `.clone()`, `.into()`) peeled.
fn peel<'x>(e: &'x Expr, cx: &FileCtx<'_>) -> &'x Expr {
    let mut e = e;
    for _ in 0..16 {
        e = match e {
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && ident_in(
                        &m.method,
                        &["clone", "into", "unwrap", "expect", "to_owned"],
                    ) =>
            {
                &m.receiver
            }
            Expr::MethodCall(m) if m.method == "expect" => &m.receiver,
            Expr::Call(c) if c.args.len() == 1 => {
                let Expr::Path(p) = &*c.func else { return e };
                let segs = cx.uses.resolve_shared(&p.path);
                // `Arc::clone(&cfg.server_config)` hands on the same value,
                // and so does axum-server's wrapper of a finished rustls
                // configuration (`RustlsConfig::from_config(Arc::new(cfg))`).
                if ends_with(&segs, &["Arc", "new"])
                    || ends_with(&segs, &["RustlsConfig", "from_config"])
                    || ends_with(&segs, &["Arc", "clone"])
                    || ends_with(&segs, &["Rc", "new"])
                    || ends_with(&segs, &["Rc", "clone"])
                    || ends_with(&segs, &["Clone", "clone"])
                    || ends_with(&segs, &["Box", "new"])
                    || ends_with(&segs, &["Some"])
                    || ends_with(&segs, &["Ok"])
                {
                    &c.args[0]
                } else {
                    return e;
                }
            }
            _ => return e,
        };
    }
    e
}

/// A configuration being built in one function.
struct Creation<'a> {
    base: usize,
    range: TextRange,
    lib: Lib,
    side: Side,
    what: &'static str,
    /// Position of the `let` it is bound to.
    binding: Option<usize>,
    args: Vec<&'a Expr>,
    methods: Vec<&'a syn::ExprMethodCall>,
    /// Handed to a database or broker client.
    opaque: bool,
    /// Handed to a gRPC endpoint with this URL.
    endpoint: Option<Value>,
}

/// A configuration handed over (see [`use_site_call`]).
struct UseSite<'a> {
    range: TextRange,
    side: Side,
    what: &'static str,
    arg: Option<&'a Expr>,
}

struct Finder<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    creations: Vec<Creation<'a>>,
    /// `let` bindings whose initialiser chain starts at a call: call key → binding.
    pending: HashMap<usize, usize>,
    /// Every method call, by the value its chain starts from.
    chained: Vec<(Base, &'a syn::ExprMethodCall)>,
    /// Every argument of every call, by the value it is, with the call's
    /// verdict: handed to a database/broker client, or to a gRPC endpoint.
    handed: Vec<(Base, Handed)>,
    /// reqwest builder TLS methods, by chain start.
    reqwest: Vec<(Base, &'a syn::ExprMethodCall)>,
    uses: Vec<UseSite<'a>>,
    /// The function reads a certificate from PEM or DER.
    loads_certs: bool,
}

#[derive(Clone)]
enum Handed {
    Opaque,
    Endpoint(Value),
    Other,
}

impl<'a> Finder<'_, '_, 'a> {
    fn cx(&self) -> &FileCtx<'_> {
        self.scan.cx
    }

    /// The value a method chain or expression starts from.
    fn base_of(&self, e: &Expr) -> Option<Base> {
        let mut e = e;
        for _ in 0..64 {
            e = match e {
                Expr::MethodCall(m) => &m.receiver,
                Expr::Reference(r) => &r.expr,
                Expr::Paren(p) => &p.expr,
                Expr::Group(g) => &g.expr,
                Expr::Try(t) => &t.expr,
                Expr::Await(a) => &a.base,
                Expr::Call(c) => return Some(Base::Call(call_key(c))),
                Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    return self.scan.scope.binding_at(id).map(|b| Base::Binding(b.at));
                }
                _ => return None,
            };
        }
        None
    }

    fn handed_to(&self, callee: Option<&[String]>, recv: Option<&Expr>, method: &str) -> Handed {
        if let Some(segs) = callee {
            if segs
                .first()
                .is_some_and(|k| OPAQUE_CLIENT_CRATES.contains(&k.as_str()))
            {
                return Handed::Opaque;
            }
        }
        if let Some(r) = recv {
            match self.scan.kind_of(r, 0) {
                Kind::Database | Kind::Cache => return Handed::Opaque,
                Kind::Grpc { url } if method == "tls_config" => return Handed::Endpoint(url),
                _ => {}
            }
        }
        Handed::Other
    }

    fn record_args(
        &mut self,
        args: &'a syn::punctuated::Punctuated<Expr, syn::Token![,]>,
        h: Handed,
    ) {
        for a in args {
            let a = peel(a, self.scan.cx);
            if let Some(b) = self.base_of(a) {
                self.handed.push((b, h.clone()));
            }
        }
    }
}

impl<'a> Visit<'a> for Finder<'_, '_, 'a> {
    fn visit_local(&mut self, l: &'a syn::Local) {
        let ident = match &l.pat {
            syn::Pat::Ident(pi) => Some(&pi.ident),
            syn::Pat::Type(pt) => match &*pt.pat {
                syn::Pat::Ident(pi) => Some(&pi.ident),
                _ => None,
            },
            _ => None,
        };
        if let (Some(id), Some(init)) = (ident, &l.init) {
            if let Some(Base::Call(k)) = self.base_of(&init.expr) {
                self.pending.insert(k, id.span().byte_start());
            }
        }
        syn::visit::visit_local(self, l);
    }

    fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
        if let Expr::Path(p) = &*c.func {
            let segs = self.cx().uses.resolve_shared(&p.path);
            if reads_pem(&segs) {
                self.loads_certs = true;
            }
            if let Some((lib, side, what)) = creation(&segs, self.cx()) {
                let key = call_key(c);
                self.creations.push(Creation {
                    base: key,
                    range: self.cx().call_range(c),
                    lib,
                    side,
                    what,
                    binding: self.pending.get(&key).copied(),
                    args: c.args.iter().collect(),
                    methods: Vec::new(),
                    opaque: false,
                    endpoint: None,
                });
            } else if let Some((side, what, idx)) = use_site_call(&segs) {
                self.uses.push(UseSite {
                    range: self.cx().call_range(c),
                    side,
                    what,
                    arg: c.args.iter().nth(idx),
                });
            }
            let h = self.handed_to(Some(&segs), None, "");
            self.record_args(&c.args, h);
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
        let method = m.method.to_string();
        if let Some(b) = self.base_of(&m.receiver) {
            self.chained.push((b, m));
            if matches!(method.as_str(), "add_root_certificate" | "identity")
                && self.scan.kind_of(&m.receiver, 0) == Kind::HttpClient("reqwest")
            {
                self.reqwest.push((b, m));
            }
        }
        // Servers and clients that take a configuration made elsewhere.
        let recv_root = chain_root_path(&m.receiver, self.cx());
        let side_what = if method.starts_with("bind_rustls")
            || method.starts_with("listen_rustls")
            || method == "bind_openssl"
            || method == "listen_openssl"
        {
            recv_root
                .as_deref()
                .filter(|s| mentions(s, "actix_web") && ends_with(s, &["HttpServer", "new"]))
                .map(|_| (Side::Server, "actix-web `HttpServer`", 1))
        } else if method == "use_preconfigured_tls" {
            (self.scan.kind_of(&m.receiver, 0) == Kind::HttpClient("reqwest")).then_some((
                Side::Client,
                "reqwest `use_preconfigured_tls`",
                0,
            ))
        } else if method == "with_tls_config" {
            // Not the server acceptor's builder (`TlsAcceptor::builder()`),
            // read with the creations.
            recv_root
                .as_deref()
                .filter(|s| {
                    mentions(s, "hyper_rustls") && !ends_with(s, &["TlsAcceptor", "builder"])
                })
                .map(|_| (Side::Client, "hyper-rustls connector", 0))
        } else {
            None
        };
        if let Some((side, what, idx)) = side_what {
            self.uses.push(UseSite {
                range: self.cx().method_range(m),
                side,
                what,
                arg: m.args.iter().nth(idx),
            });
        }
        let recv_segs = recv_root.as_deref();
        let h = self.handed_to(recv_segs, Some(&m.receiver), &method);
        self.record_args(&m.args, h);
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// The resolved path of the call a method chain starts from.
fn chain_root_path(e: &Expr, cx: &FileCtx<'_>) -> Option<Vec<String>> {
    let c = chain_root_call(e)?;
    let Expr::Path(p) = &*c.func else { return None };
    Some(cx.uses.resolve(&p.path))
}

/// The call a method chain starts from, through `?`, `.await`, `&` and
/// parentheses (`Cfg::from_pem(..).await.map_err(..)?`).
fn chain_root_call(e: &Expr) -> Option<&syn::ExprCall> {
    let mut e = e;
    for _ in 0..64 {
        e = match e {
            Expr::MethodCall(m) => &m.receiver,
            Expr::Try(t) => &t.expr,
            Expr::Await(a) => &a.base,
            Expr::Paren(p) => &p.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Call(c) => return Some(c),
            _ => return None,
        };
    }
    None
}

/// Whether a root store handed to `with_root_certificates` comes from a
/// function of the crate (or of a workspace crate it imports) that reads
/// certificates from PEM or DER itself (`let roots = load_ca(path)?;`, a
/// CA loader of a `tls` module: `rustls_pemfile::certs(&mut reader)`), in
/// any branch that picks it: a private root.
fn roots_from_pem_loader(
    e: &Expr,
    scope: &FnScope<'_>,
    cx: &FileCtx<'_>,
    self_ty: Option<&str>,
    depth: u32,
) -> bool {
    if depth > 6 {
        return false;
    }
    let d = depth + 1;
    match peel(e, cx) {
        Expr::Path(p) => p
            .path
            .get_ident()
            .and_then(|id| scope.binding_at(id))
            .and_then(|b| b.init)
            .is_some_and(|init| roots_from_pem_loader(init, scope, cx, self_ty, d)),
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else {
                return false;
            };
            let segs = cx.uses.resolve_shared(&p.path);
            let fns = cx.index.fns_at_path(&segs, &cx.module, self_ty);
            !fns.is_empty() && fns.iter().all(|f| !f.test && f.reads_certs)
        }
        Expr::MethodCall(m) if ident_in(&m.method, &["map_err", "context", "with_context"]) => {
            roots_from_pem_loader(&m.receiver, scope, cx, self_ty, d)
        }
        Expr::Block(b) => match b.block.stmts.last() {
            Some(syn::Stmt::Expr(t, None)) => roots_from_pem_loader(t, scope, cx, self_ty, d),
            _ => false,
        },
        Expr::If(i) => {
            let then = match i.then_branch.stmts.last() {
                Some(syn::Stmt::Expr(t, None)) => roots_from_pem_loader(t, scope, cx, self_ty, d),
                _ => false,
            };
            then || i
                .else_branch
                .as_ref()
                .is_some_and(|(_, els)| roots_from_pem_loader(els, scope, cx, self_ty, d))
        }
        Expr::Match(m) => m
            .arms
            .iter()
            .any(|a| roots_from_pem_loader(&a.body, scope, cx, self_ty, d)),
        _ => false,
    }
}

/// A call that reads a certificate from PEM or DER.
pub(crate) fn reads_pem(segs: &[String]) -> bool {
    segs.iter().any(|s| {
        matches!(
            s.as_str(),
            "pem_file_iter"
                | "pem_reader_iter"
                | "pem_slice_iter"
                | "from_pem_file"
                | "from_pem_slice"
                | "from_pem_reader"
                | "rustls_pemfile"
        )
    }) || ends_with(segs, &["Certificate", "from_pem"])
        || ends_with(segs, &["Certificate", "from_der"])
        || ends_with(segs, &["X509", "from_pem"])
}

/// Whether any path inside `e` resolves to something ending in `name`.
fn names_path(e: &Expr, cx: &FileCtx<'_>, name: &[&str]) -> bool {
    struct V<'c, 'x> {
        cx: &'c FileCtx<'x>,
        name: &'c [&'c str],
        found: bool,
    }
    impl<'v> Visit<'v> for V<'_, '_> {
        fn visit_path(&mut self, p: &'v syn::Path) {
            let segs = self.cx.uses.resolve_shared(p);
            if segs.iter().any(|s| self.name.contains(&s.as_str())) {
                self.found = true;
            }
            syn::visit::visit_path(self, p);
        }
    }
    let mut v = V {
        cx,
        name,
        found: false,
    };
    v.visit_expr(e);
    v.found
}

/// What the finished configuration does: (reported, mtls).
fn judge(c: &Creation<'_>, cx: &FileCtx<'_>, loads_certs: bool) -> (bool, bool) {
    let has = |names: &[&str]| {
        c.methods
            .iter()
            .any(|m| names.contains(&m.method.to_string().as_str()))
    };
    match (c.lib, c.side) {
        (Lib::Rustls, Side::Server) => {
            // A verifier that checks certificates in one branch at least
            // (`if ca.is_empty() { Arc::new(NoClientAuth) } else {
            // WebPkiClientVerifier::builder(roots).build()? }`) is mTLS.
            let verifier = c.methods.iter().any(|m| {
                m.method == "with_client_cert_verifier"
                    && (!m.args.iter().any(|a| names_path(a, cx, &["NoClientAuth"]))
                        || m.args.iter().any(|a| {
                            names_path(
                                a,
                                cx,
                                &[
                                    "WebPkiClientVerifier",
                                    "AllowAnyAuthenticatedClient",
                                    "AllowAnyAnonymousOrAuthenticatedClient",
                                ],
                            )
                        }))
            }) || c.args.iter().any(|a| {
                names_path(
                    a,
                    cx,
                    &[
                        "AllowAnyAuthenticatedClient",
                        "AllowAnyAnonymousOrAuthenticatedClient",
                    ],
                )
            });
            (true, verifier)
        }
        (Lib::Rustls, Side::Client) => {
            let cert = has(&[
                "with_client_auth_cert",
                "with_single_cert",
                "with_client_cert_resolver",
                "set_single_client_cert",
            ]);
            let private_root = has(&["with_root_certificates"]) && loads_certs;
            (cert || private_root, cert)
        }
        (Lib::Tonic, Side::Server) => (true, has(&["client_ca_root"])),
        (Lib::Tonic, Side::Client) => {
            let id = has(&["identity"]);
            (id || has(&["ca_certificate", "ca_certificates"]), id)
        }
        (Lib::NativeTls, Side::Server) => (true, false),
        (Lib::NativeTls, Side::Client) => {
            let id = has(&["identity"]);
            (id || has(&["add_root_certificate"]), id)
        }
        (Lib::OpenSsl, Side::Server) => {
            let verify = c.methods.iter().any(|m| {
                m.method == "set_verify" && m.args.iter().any(|a| names_path(a, cx, &["PEER"]))
            });
            (true, verify)
        }
        (Lib::OpenSsl, Side::Client) => {
            let cert = has(&[
                "set_certificate",
                "set_certificate_file",
                "set_certificate_chain_file",
                "set_private_key",
                "set_private_key_file",
            ]);
            (
                cert || has(&["set_ca_file", "load_verify_locations", "cert_store_mut"]),
                cert,
            )
        }
        (Lib::AxumServer | Lib::HyperRustls, _) => (true, false),
        (Lib::Reqwest, _) => (true, has(&["identity"])),
    }
}

/// Crates that hold the public web PKI roots or read the platform's store.
pub(crate) const PUBLIC_ROOT_CRATES: &[&str] =
    &["rustls_native_certs", "webpki_roots", "webpki_root_certs"];

/// Methods that add trusted roots to a tonic, reqwest or native-tls client.
const ROOT_METHODS: &[&str] = &["ca_certificate", "ca_certificates", "add_root_certificate"];

/// A tonic, reqwest or native-tls client whose added roots all come from
/// the public store (`rustls_native_certs::load_native_certs()` turned into
/// a `Certificate`, directly or by a helper of the file that reads no file):
/// ordinary HTTPS with the system's trust, written out by hand; or from the
/// pod's service-account CA, which only the Kubernetes API server's
/// certificate chains to.
fn only_public_roots(
    c: &Creation<'_>,
    scope: &FnScope<'_>,
    body: &syn::Block,
    cx: &FileCtx<'_>,
) -> bool {
    if !matches!(c.lib, Lib::Tonic | Lib::Reqwest | Lib::NativeTls) {
        return false;
    }
    let roots: Vec<&Expr> = c
        .methods
        .iter()
        .filter(|m| ROOT_METHODS.contains(&m.method.to_string().as_str()))
        .filter_map(|m| m.args.first())
        .collect();
    let w = Where { scope, body, cx };
    !roots.is_empty() && roots.iter().all(|a| public_roots(a, &w, 0))
}

/// The function a certificate expression is read in.
struct Where<'w, 'a> {
    scope: &'w FnScope<'w>,
    body: &'w syn::Block,
    cx: &'w FileCtx<'a>,
}

/// The value a `let Ok(x) = value else { .. }` (or `Some(x)`) unwraps into
/// `x`: the scope keeps only plain bindings.
fn unwrapped_by_let_else<'b>(body: &'b syn::Block, id: &syn::Ident) -> Option<&'b Expr> {
    struct V<'v, 'b> {
        id: &'v syn::Ident,
        out: Option<&'b Expr>,
    }
    impl<'b> Visit<'b> for V<'_, 'b> {
        fn visit_local(&mut self, l: &'b syn::Local) {
            if let (syn::Pat::TupleStruct(ts), Some(init)) = (&l.pat, &l.init) {
                let wraps = ts.path.is_ident("Ok") || ts.path.is_ident("Some");
                let binds = ts.elems.len() == 1
                    && matches!(&ts.elems[0], syn::Pat::Ident(pi) if pi.ident == *self.id);
                if wraps && binds {
                    self.out = Some(&init.expr);
                }
            }
            syn::visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'b syn::Item) {}
    }
    let mut v = V { id, out: None };
    v.visit_block(body);
    v.out
}

/// Whether a certificate expression comes from the public roots.
fn public_roots(e: &Expr, w: &Where<'_, '_>, depth: u32) -> bool {
    if depth > 6 {
        return false;
    }
    let (scope, cx) = (w.scope, w.cx);
    let from_public = |segs: &[String]| {
        segs.first()
            .is_some_and(|k| PUBLIC_ROOT_CRATES.contains(&k.as_str()))
    };
    match peel(e, cx) {
        Expr::Path(p) => match p.path.get_ident() {
            Some(id) => match scope.binding_at(id) {
                Some(b) => b.init.is_some_and(|i| public_roots(i, w, depth + 1)),
                None => {
                    unwrapped_by_let_else(w.body, id).is_some_and(|i| public_roots(i, w, depth + 1))
                }
            },
            None => from_public(&cx.uses.resolve_shared(&p.path)),
        },
        Expr::MethodCall(m) => public_roots(&m.receiver, w, depth + 1),
        Expr::Call(call) => {
            let Expr::Path(p) = &*call.func else {
                return false;
            };
            let segs = cx.uses.resolve_shared(&p.path);
            if from_public(&segs) {
                return true;
            }
            // The pod's service-account CA: it signs the Kubernetes API
            // server's certificate, and the API server is no meshed Service.
            let reads_file = segs.first().is_some_and(|k| k == "std" || k == "tokio")
                && mentions(&segs, "fs")
                && matches!(
                    segs.last().map(String::as_str),
                    Some("read" | "read_to_string")
                );
            if reads_file {
                let ev = super::eval::Evaluator::new(cx, scope);
                return call.args.first().is_some_and(|a| {
                    ev.eval(a).as_str().is_some_and(|path| {
                        path.starts_with("/var/run/secrets/kubernetes.io/serviceaccount/")
                            || path.starts_with("/run/secrets/kubernetes.io/serviceaccount/")
                    })
                });
            }
            // `Certificate::from_pem(pem)`: where the PEM comes from.
            if segs.len() >= 2
                && segs[segs.len() - 2] == "Certificate"
                && segs[segs.len() - 1].starts_with("from_")
            {
                return call
                    .args
                    .first()
                    .is_some_and(|a| public_roots(a, w, depth + 1));
            }
            // A helper of the file that loads the platform's store and reads
            // no file of its own.
            segs.len() == 1
                && super::lifecycle::file_fn(cx, &segs[0])
                    .filter(|f| f.self_ty.is_none())
                    .is_some_and(|f| names_public_roots_only(f.body, cx))
        }
        _ => false,
    }
}

/// A body that names a public-roots crate and no file-reading call.
fn names_public_roots_only(body: &syn::Block, cx: &FileCtx<'_>) -> bool {
    struct V<'v, 'a> {
        cx: &'v FileCtx<'a>,
        public: bool,
        reads: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_path(&mut self, p: &'x syn::Path) {
            let segs = self.cx.uses.resolve_shared(p);
            if segs
                .first()
                .is_some_and(|k| PUBLIC_ROOT_CRATES.contains(&k.as_str()))
            {
                self.public = true;
            }
            if (mentions(&segs, "fs") && segs.first().is_some_and(|k| k == "std" || k == "tokio"))
                || ends_with(&segs, &["File", "open"])
            {
                self.reads = true;
            }
            syn::visit::visit_path(self, p);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        public: false,
        reads: false,
    };
    v.visit_block(body);
    v.public && !v.reads
}

/// Whether a configuration handed over at a use site was made in this
/// crate (then it is reported where it is made, not here).
fn made_in_crate(e: &Expr, scope: &FnScope<'_>, cx: &FileCtx<'_>, depth: u32) -> bool {
    if depth > 8 {
        return true;
    }
    let e = peel(e, cx);
    match e {
        Expr::Path(p) => match p.path.get_ident() {
            // A parameter: the caller made it.
            Some(id) => match scope.binding_at(id) {
                Some(b) => b
                    .init
                    .is_none_or(|i| made_in_crate(i, scope, cx, depth + 1)),
                None => true,
            },
            None => true,
        },
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else { return true };
            let segs = cx.uses.resolve_shared(&p.path);
            if creation(&segs, cx).is_some() {
                return true;
            }
            let name = segs.last().map(String::as_str).unwrap_or("");
            let local = matches!(
                segs.first().map(String::as_str),
                Some("crate" | "self" | "super" | "Self")
            ) || segs.len() == 1;
            local || !cx.index.functions(name).is_empty() || cx.fn_return_type(name).is_some()
        }
        // `self.tls.as_ref().map(Settings::server_config).transpose()?.map(Arc::new)`:
        // an `Option`/`Result` adapter keeps what its receiver holds, or what
        // the crate function it applies makes.
        Expr::MethodCall(m)
            if ident_in(
                &m.method,
                &[
                    "map",
                    "and_then",
                    "transpose",
                    "as_ref",
                    "as_deref",
                    "ok",
                    "map_err",
                    "cloned",
                ],
            ) =>
        {
            let applies_crate_fn = m.args.first().is_some_and(|a| match a {
                Expr::Path(p) => p
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| !cx.index.functions(&s.ident.to_string()).is_empty()),
                _ => false,
            });
            applies_crate_fn || made_in_crate(&m.receiver, scope, cx, depth + 1)
        }
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            !cx.index.functions(&name).is_empty()
                || chain_root_path(&m.receiver, cx).is_some_and(|s| creation(&s, cx).is_some())
        }
        // A field, a struct literal, a block: filled by the crate.
        _ => true,
    }
}

/// Whether the file uses one of `crates`: imports from it, or calls one of
/// its functions by the full path without a `use`
/// (`tokio_postgres_rustls::MakeRustlsConnect::new(cfg)`). A type, a
/// pattern or an enum variant of such a crate (`Err(diesel::result::Error::
/// NotFound)` matched in a file whose client calls another service) is not
/// a connection it makes.
fn names_any_crate(cx: &FileCtx<'_>, crates: &[&str]) -> bool {
    struct V<'v, 'a> {
        cx: &'v FileCtx<'a>,
        crates: &'v [&'v str],
        /// The file's own modules: `redis::key()` under `mod redis;` is not the crate.
        local_mods: Vec<String>,
        found: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.cx.uses.resolve_shared(&p.path);
                let function = segs
                    .last()
                    .is_some_and(|f| f.starts_with(|ch: char| ch.is_ascii_lowercase()));
                self.found |= p.path.segments.len() >= 2
                    && function
                    && segs.first().is_some_and(|k| {
                        self.crates.contains(&k.as_str()) && !self.local_mods.contains(k)
                    });
            }
            syn::visit::visit_expr_call(self, c);
        }
    }
    if crates.iter().any(|k| cx.uses.imports_from(k)) {
        return true;
    }
    let local_mods = cx
        .file
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Mod(m) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut v = V {
        cx,
        crates,
        local_mods,
        found: false,
    };
    v.visit_file(cx.file);
    v.found
}

/// Why the file's crate terminates TLS that no sidecar can terminate for
/// it, whatever server the configuration is handed to:
///
/// - a Kubernetes admission or conversion webhook (it reads
///   `AdmissionReview` / `ConversionReview` objects, kube's or its own
///   `AdmissionReview*` types): the API server calls webhooks over HTTPS
///   only, checks the certificate against the webhook's `caBundle`, and
///   has no sidecar;
/// - a hand-written Postgres wire-protocol server (it answers the
///   `SSLRequest` code, 80877103): the client asks for TLS inside the
///   protocol, which the mesh carries as opaque TCP.
pub fn file_own_protocol_tls(cx: &FileCtx<'_>) -> Option<&'static str> {
    struct V<'c, 'a> {
        cx: &'c FileCtx<'a>,
        /// An import or re-export supplies a review type's name.
        imported: bool,
        found: Option<&'static str>,
    }
    fn review(name: &str) -> bool {
        name.starts_with("AdmissionReview") || name.starts_with("ConversionReview")
    }
    impl<'x> Visit<'x> for V<'_, '_> {
        fn visit_path(&mut self, p: &'x syn::Path) {
            if self.found.is_none() {
                // A resolved path's last segment is the written one unless
                // an import or re-export supplies it.
                let hit = if self.imported {
                    self.cx
                        .uses
                        .resolve_shared(p)
                        .last()
                        .is_some_and(|s| review(s))
                } else {
                    p.segments
                        .last()
                        .is_some_and(|s| review(&s.ident.to_string()))
                };
                if hit {
                    self.found = Some("admission-webhook");
                }
            }
            syn::visit::visit_path(self, p);
        }
        fn visit_item_struct(&mut self, i: &'x syn::ItemStruct) {
            if self.found.is_none() && review(&i.ident.to_string()) {
                self.found = Some("admission-webhook");
            }
            syn::visit::visit_item_struct(self, i);
        }
        fn visit_lit_int(&mut self, l: &'x syn::LitInt) {
            if self.found.is_none() && l.base10_digits() == "80877103" {
                self.found = Some("postgres-wire");
            }
        }
    }
    let mut v = V {
        cx,
        imported: cx.uses.imports_segment(review),
        found: None,
    };
    v.visit_file(cx.file);
    v.found
}

/// Every TLS configuration the file's code makes, except those for
/// database and broker connections and client configurations that trust
/// only the public roots with no client certificate (ordinary HTTPS).
pub fn tls_setups(cx: &FileCtx<'_>) -> Vec<TlsSetup> {
    let opaque_client = names_any_crate(cx, OPAQUE_CLIENT_CRATES);
    let opaque_server = names_any_crate(cx, OPAQUE_SERVER_CRATES);
    // A crate that writes the Postgres wire protocol itself (a pooler or
    // proxy): its client TLS is to the upstream databases, asked for inside
    // that protocol as its clients' is.
    let pg_proxy = cx.index.own_protocol_tls() == Some("postgres-wire");
    // Server TLS that no sidecar can terminate for the crate (an admission
    // webhook, a Postgres wire-protocol server): neither where the
    // configuration is made nor where it is handed to a server.
    let own_server_tls = cx.index.own_protocol_tls().is_some();
    let mut out: Vec<TlsSetup> = Vec::new();
    for (f, scope) in cx.functions().iter().zip(cx.fn_scopes()) {
        let scan = NetScan::new(cx, scope, f.self_ty.as_deref());
        let mut finder = Finder {
            scan: &scan,
            creations: Vec::new(),
            pending: HashMap::default(),
            chained: Vec::new(),
            handed: Vec::new(),
            reqwest: Vec::new(),
            uses: Vec::new(),
            loads_certs: false,
        };
        finder.visit_block(f.body);
        let Finder {
            mut creations,
            chained,
            handed,
            reqwest,
            uses,
            loads_certs,
            ..
        } = finder;
        // reqwest: one configuration per builder, at its first TLS method.
        let mut seen: Vec<Base> = Vec::new();
        let mut sorted = reqwest;
        sorted.sort_by_key(|(_, m)| m.method.span().byte_start());
        for (b, m) in sorted {
            if seen.contains(&b) {
                if let Some(c) = creations.iter_mut().find(|c| {
                    c.lib == Lib::Reqwest
                        && (Base::Call(c.base) == b || c.binding.map(Base::Binding) == Some(b))
                }) {
                    c.methods.push(m);
                }
                continue;
            }
            seen.push(b);
            let (base, binding) = match b {
                Base::Call(k) => (k, None),
                Base::Binding(at) => (usize::MAX - at, Some(at)),
            };
            creations.push(Creation {
                base,
                range: cx.method_range(m),
                lib: Lib::Reqwest,
                side: Side::Client,
                what: "reqwest `ClientBuilder`",
                binding,
                args: Vec::new(),
                methods: vec![m],
                opaque: false,
                endpoint: None,
            });
        }
        for c in creations.iter_mut().filter(|c| c.lib != Lib::Reqwest) {
            let mine =
                |b: &Base| *b == Base::Call(c.base) || c.binding.map(Base::Binding) == Some(*b);
            c.methods
                .extend(chained.iter().filter(|(b, _)| mine(b)).map(|(_, m)| *m));
            for (b, h) in &handed {
                if mine(b) {
                    match h {
                        Handed::Opaque => c.opaque = true,
                        Handed::Endpoint(url) => c.endpoint = Some(url.clone()),
                        Handed::Other => {}
                    }
                }
            }
        }
        let calls_dest = || {
            let calls = scan.calls_in_block(f.body);
            l7_destination(&calls)
        };
        // TLS terminated on an upgraded connection (a CONNECT tunnel) is a
        // proxy reading its clients' HTTPS: certificates minted for the
        // host each client asks for. Inside the tunnel there is nothing the
        // sidecar could terminate for it.
        // Both read only for a function that configures or hands over
        // TLS; most functions do neither.
        let intercepts = std::cell::OnceCell::new();
        let intercepts =
            || *intercepts.get_or_init(|| super::lifecycle::handles_upgraded_conn(cx, f));
        // A client whose every request asks a health route (`/status`,
        // `/healthz`) is a probe: a `healthcheck` command that checks the
        // program's own server the way its container runtime would, trusting
        // that server's certificate. It carries no service-to-service traffic.
        let probe_only = std::cell::OnceCell::new();
        let probe_only = || *probe_only.get_or_init(|| probes_health_only(&scan, f.body));
        // Configurations built only to see whether they can be (a PEM pair
        // an administrator uploads, parsed and dropped): no connection
        // uses them.
        let dropped = if creations.iter().any(|c| c.binding.is_none()) {
            dropped_calls(f.body)
        } else {
            Vec::new()
        };
        creations.retain(|c| c.binding.is_some() || !dropped.contains(&c.base));
        let mut made_here = Vec::new();
        // Client configurations of one destination picked in the branches
        // of one `match` or `if` are one configuration too.
        let branches = std::cell::OnceCell::new();
        // One configuration that a function builds from one of several
        // constructors (`if modern { SslAcceptor::mozilla_modern_v5(..) }
        // else { SslAcceptor::mozilla_intermediate_v5(..) }`) is one
        // finding, at the first: same side and library, and for a client
        // the same known destination, or the same destination in two
        // branches of one `match` or `if` (`match (ca, cert) { (Some(ca),
        // Some(c)) => ClientTlsConfig::new().ca_certificate(ca).identity(c),
        // (Some(ca), None) => ClientTlsConfig::new().ca_certificate(ca) }`).
        creations.sort_by_key(|c| c.range.byte_start);
        let first_here = out.len();
        for c in &creations {
            // hyper-rustls' acceptor builder handed a finished rustls
            // configuration (`TlsAcceptor::builder().with_tls_config(cfg)`)
            // makes none of its own: like `TlsAcceptor::from(cfg)`, it is
            // reported only when the configuration comes from outside the
            // crate (one made here is reported where it is made).
            if c.lib == Lib::HyperRustls {
                if let Some(cfg) = c
                    .methods
                    .iter()
                    .find(|m| m.method == "with_tls_config")
                    .and_then(|m| m.args.first())
                {
                    if !(made_here.contains(&c.side)
                        || opaque_server
                        || (c.side == Side::Server && own_server_tls)
                        || intercepts()
                        || made_in_crate(cfg, scope, cx, 0))
                    {
                        out.push(TlsSetup {
                            range: c.range,
                            side: c.side,
                            mtls: None,
                            dest: Destination::default(),
                            what: c.what,
                        });
                    }
                    continue;
                }
            }
            made_here.push(c.side);
            if c.opaque
                || (c.side == Side::Client && (opaque_client || probe_only() || pg_proxy))
                || (c.side == Side::Server && (opaque_server || intercepts() || own_server_tls))
            {
                continue;
            }
            // Roots a CA loader of the crate reads from a file.
            let helper_roots = c.lib == Lib::Rustls
                && c.side == Side::Client
                && c.methods
                    .iter()
                    .filter(|m| m.method == "with_root_certificates")
                    .filter_map(|m| m.args.first())
                    .any(|a| roots_from_pem_loader(a, scope, cx, f.self_ty.as_deref(), 0));
            let (reported, mtls) = judge(c, cx, loads_certs || helper_roots);
            if !reported || (!mtls && only_public_roots(c, scope, f.body, cx)) {
                continue;
            }
            let dest = if c.side == Side::Client {
                let from_endpoint = c
                    .endpoint
                    .as_ref()
                    .map(|u| resolve_dest(Destination::from_value(u), cx))
                    .filter(|d| d.host.is_some());
                let from_domain = c
                    .methods
                    .iter()
                    .find(|m| m.method == "domain_name")
                    .and_then(|m| m.args.first())
                    .and_then(|a| scan.ev.eval(a).as_str().map(str::to_string))
                    .map(|h| Destination::from_value(&Value::Str(h)));
                from_endpoint
                    .or(from_domain)
                    .unwrap_or_else(calls_dest)
                    .meshable()
                    .unwrap_or_default()
            } else {
                Destination::default()
            };
            if let Some(same) = out[first_here..].iter_mut().find(|s| {
                s.side == c.side
                    && s.what == c.what
                    && (c.side == Side::Server
                        || (dest.host.is_some() && s.dest == dest)
                        || (s.dest == dest
                            && branches
                                .get_or_init(|| Branches::of_block(f.body))
                                .differ(s.range.byte_start as usize, c.range.byte_start as usize)))
            }) {
                same.mtls = Some(same.mtls == Some(true) || mtls);
                continue;
            }
            out.push(TlsSetup {
                range: c.range,
                side: c.side,
                mtls: Some(mtls),
                dest,
                what: c.what,
            });
        }
        for u in uses {
            if made_here.contains(&u.side)
                || (u.side == Side::Client && (opaque_client || pg_proxy))
                || (u.side == Side::Server && (opaque_server || own_server_tls || intercepts()))
            {
                continue;
            }
            if u.arg.is_none_or(|a| made_in_crate(a, scope, cx, 0)) {
                continue;
            }
            out.push(TlsSetup {
                range: u.range,
                side: u.side,
                mtls: None,
                dest: Destination::default(),
                what: u.what,
            });
        }
    }
    out.sort_by_key(|s| s.range.byte_start);
    out.dedup_by_key(|s| s.range.byte_start);
    out
}

/// Keys ([`call_key`]) of the calls at the root of a chain whose value the
/// body drops: an expression statement (`Cfg::from_pem(..).await.map_err(..)?;`),
/// `let _ = ..`, or a chain only asked `is_ok()` / `is_err()`. What such a
/// call builds is thrown away once it is known to build.
fn dropped_calls(body: &syn::Block) -> Vec<usize> {
    struct V(Vec<usize>);
    impl<'x> Visit<'x> for V {
        fn visit_stmt(&mut self, s: &'x syn::Stmt) {
            let dropped = match s {
                syn::Stmt::Expr(e, Some(_)) => Some(e),
                syn::Stmt::Local(l) if matches!(l.pat, syn::Pat::Wild(_)) => {
                    l.init.as_ref().map(|i| &*i.expr)
                }
                _ => None,
            };
            if let Some(c) = dropped.and_then(chain_root_call) {
                self.0.push(call_key(c));
            }
            syn::visit::visit_stmt(self, s);
        }
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            if m.args.is_empty() && ident_in(&m.method, &["is_ok", "is_err"]) {
                if let Some(c) = chain_root_call(&m.receiver) {
                    self.0.push(call_key(c));
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V(Vec::new());
    v.visit_block(body);
    v.0
}

/// Whether the body makes HTTP calls and every one of them goes to a
/// health route, by the paths of the URLs it may use (each arm of a `match`
/// or `if` that picks the URL, `format!` templates, literals).
fn probes_health_only(scan: &NetScan<'_, '_>, body: &syn::Block) -> bool {
    struct V<'s, 'e, 'a> {
        scan: &'s NetScan<'e, 'a>,
        calls: usize,
        all_health: bool,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr(&mut self, e: &'x Expr) {
            if let Some(call) = self.scan.classify(e) {
                if call.protocol.is_l7() && !call.client.ends_with("()") {
                    self.calls += 1;
                    let mut urls = Vec::new();
                    if let Some(u) = request_url_expr(self.scan, e, 0) {
                        url_templates(self.scan, u, 0, &mut urls);
                    }
                    self.all_health &= !urls.is_empty()
                        && urls
                            .iter()
                            .all(|u| super::lifecycle::is_health_path(&url_path(u), &[]));
                }
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        scan,
        calls: 0,
        all_health: true,
    };
    v.visit_block(body);
    v.calls > 0 && v.all_health
}

/// The URL argument of the request a call chain sends: the first argument
/// of the method called on the HTTP client (`client.get(url)`).
fn request_url_expr<'x>(scan: &NetScan<'_, '_>, e: &'x Expr, depth: u32) -> Option<&'x Expr> {
    if depth > 16 {
        return None;
    }
    match e {
        Expr::Await(a) => request_url_expr(scan, &a.base, depth + 1),
        Expr::Try(t) => request_url_expr(scan, &t.expr, depth + 1),
        Expr::Paren(p) => request_url_expr(scan, &p.expr, depth + 1),
        Expr::MethodCall(m) => {
            if matches!(scan.kind_of(&m.receiver, 0), Kind::HttpClient(_)) {
                m.args.first()
            } else {
                request_url_expr(scan, &m.receiver, depth + 1)
            }
        }
        _ => None,
    }
}

/// The strings a URL expression may take, as written: literals and
/// `format!` templates, through `let`s, references, `match` arms and `if`
/// branches. Anything else gives no template (and so no health path).
fn url_templates(scan: &NetScan<'_, '_>, e: &Expr, depth: u32, out: &mut Vec<String>) {
    if depth > 8 {
        out.push(String::new());
        return;
    }
    let push = |e: &Expr, out: &mut Vec<String>| url_templates(scan, e, depth + 1, out);
    match e {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => out.push(s.value()),
        Expr::Reference(r) => push(&r.expr, out),
        Expr::Paren(p) => push(&p.expr, out),
        Expr::Group(g) => push(&g.expr, out),
        Expr::Match(m) => m.arms.iter().for_each(|a| push(&a.body, out)),
        Expr::If(i) => {
            match i.then_branch.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => push(e, out),
                _ => out.push(String::new()),
            }
            match &i.else_branch {
                Some((_, e)) => push(e, out),
                None => out.push(String::new()),
            }
        }
        Expr::Block(b) => match b.block.stmts.last() {
            Some(syn::Stmt::Expr(e, None)) => push(e, out),
            _ => out.push(String::new()),
        },
        Expr::Path(p) => {
            let init = p
                .path
                .get_ident()
                .and_then(|id| scan.scope.binding_at(id))
                .and_then(|b| b.init);
            match init {
                Some(init) => push(init, out),
                None => out.push(String::new()),
            }
        }
        Expr::Macro(m) if super::macros::macro_name(&m.mac) == "format" => {
            match m.mac.parse_body_with(
                syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated,
            ) {
                Ok(args) => match args.first() {
                    Some(first) => push(first, out),
                    None => out.push(String::new()),
                },
                Err(_) => out.push(String::new()),
            }
        }
        _ => out.push(String::new()),
    }
}

/// The path of a URL template: what follows its scheme and authority
/// (`https://{}/status` → `/status`, `{}/status` → `/status`).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].split(['?', '#']).next().unwrap_or("").to_string(),
        None => String::new(),
    }
}

/// Fills a URL template's `const`s from the crate.
fn resolve_dest(d: Destination, cx: &FileCtx<'_>) -> Destination {
    d.resolve(&|name| cx.index.const_value(name).cloned())
}

/// The URL an HTTP or gRPC call goes to, as written, scheme included.
fn call_url(scan: &NetScan<'_, '_>, e: &Expr) -> Value {
    match e {
        Expr::MethodCall(m) => match scan.kind_of(&m.receiver, 0) {
            Kind::Request { url, .. } | Kind::Grpc { url } => url,
            _ => Value::Unknown,
        },
        Expr::Call(c) => c
            .args
            .first()
            .map(|a| scan.ev.eval(a))
            .unwrap_or(Value::Unknown),
        _ => Value::Unknown,
    }
}

/// Every HTTP or gRPC call of the file to an `https://` URL whose host the
/// code names; one per host (the first), since one client setup serves them all.
pub fn https_calls(cx: &FileCtx<'_>) -> Vec<HttpsCall> {
    struct V<'s, 'e, 'a> {
        scan: &'s NetScan<'e, 'a>,
        out: Vec<HttpsCall>,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr(&mut self, e: &'x Expr) {
            if let Some(call) = self.scan.classify(e) {
                // A crate function's call is reported inside that function.
                if call.protocol.is_l7() && !call.client.ends_with("()") {
                    let url = call_url(self.scan, e);
                    let (v, from_env) = url.or_env_default();
                    let text = match v {
                        Value::Str(s) if s.contains(CONST_MARK) => {
                            fill_template(s, &|n| self.scan.cx.index.const_value(n).cloned())
                        }
                        Value::Str(s) => Some(s.clone()),
                        Value::ConstRef(n) => match self.scan.cx.index.const_value(n) {
                            Some(Value::Str(s)) => Some(s.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    if let Some(t) = text.filter(|t| {
                        t.get(..8)
                            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
                    }) {
                        let mut dest = Destination::from_value(&Value::Str(t));
                        dest.from_env |= from_env;
                        if let Some(dest) = dest.meshable().filter(|d| d.host.is_some()) {
                            self.out.push(HttpsCall {
                                range: call.range,
                                dest,
                            });
                        }
                    }
                }
            }
            syn::visit::visit_expr(self, e);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut out: Vec<HttpsCall> = Vec::new();
    for (f, scope) in cx.functions().iter().zip(cx.fn_scopes()) {
        let scan = NetScan::new(cx, scope, f.self_ty.as_deref());
        let mut v = V {
            scan: &scan,
            out: Vec::new(),
        };
        v.visit_block(f.body);
        out.extend(v.out);
    }
    out.sort_by_key(|c| c.range.byte_start);
    let mut seen: Vec<Option<String>> = Vec::new();
    out.retain(|c| {
        if seen.contains(&c.dest.host) {
            false
        } else {
            seen.push(c.dest.host.clone());
            true
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_scopes() {
        let none: Vec<String> = Vec::new();
        assert_eq!(host_scope("pricing", &none), HostScope::Mesh);
        assert_eq!(host_scope("pricing.shop.svc", &none), HostScope::Mesh);
        assert_eq!(
            host_scope("pricing.shop.svc.cluster.local", &none),
            HostScope::Mesh
        );
        assert_eq!(host_scope("api.stripe.com", &none), HostScope::Public);
        assert_eq!(host_scope("10.0.0.7", &none), HostScope::Unknown);
        assert_eq!(host_scope("db.internal", &none), HostScope::Unknown);
        let mine = vec!["corp.example.com".to_string()];
        assert_eq!(
            host_scope("ledger.corp.example.com", &mine),
            HostScope::Mesh
        );
    }
}
