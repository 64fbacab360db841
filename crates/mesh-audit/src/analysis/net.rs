//! What is a network call. One shared, tested notion that every resilience
//! rule uses: a call that leaves the process, tagged with its protocol and,
//! where the code says so, its destination.
//!
//! A method name alone is never enough: `.send()` on an mpsc `Sender`,
//! `.get()` on a `HashMap`, `.call()` on a closure are not network calls. The
//! receiver is resolved first, through `let` bindings, declared types, struct
//! fields, `use` aliases and method chains, to a known client constructor or
//! type. Calls to the crate's own functions inherit what those functions do,
//! transitively, through the crate index.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use rustc_hash::FxHashMap as HashMap;

use mesh_audit_model::TextRange;
use syn::visit::Visit;
use syn::{Expr, Type};

use super::eval::{split_host_port, Evaluator, Value, CONST_MARK};
use super::paths::{ends_with, mentions};
use super::probe::{is_health_request, is_health_rpc, is_health_url, is_liveness_query};
use super::scope::{type_path, FnScope};
use super::FileCtx;

/// Expressions followed from a value back to the client it comes from.
const MAX_KIND_DEPTH: u32 = 20;

/// Method calls followed back from one call to the root of its chain.
const MAX_BUILDER_CHAIN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Http,
    Grpc,
    Database,
    Cache,
    Broker,
    Tcp,
}

impl Protocol {
    /// Whether a mesh's L7 policies (retries, timeouts) apply.
    pub fn is_l7(self) -> bool {
        matches!(self, Protocol::Http | Protocol::Grpc)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
            Protocol::Database => "database",
            Protocol::Cache => "cache",
            Protocol::Broker => "broker",
            Protocol::Tcp => "tcp",
        }
    }
}

/// Where a call goes, as far as the code tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    pub host: Option<String>,
    pub port: Option<u16>,
    /// The address is an environment variable's default.
    pub from_env: bool,
    /// A URL naming `const`s of other files (`{CONST_MARK}NAME{CONST_MARK}`),
    /// resolved by the crate index.
    pub template: Option<String>,
}

/// Where a destination sits relative to the mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A Service of the cluster: a bare name, `name.ns`, `*.svc`,
    /// `*.svc.cluster.local`, a private address, or a value from config.
    InMesh,
    /// A public domain or a cloud API (`api.stripe.com`,
    /// `*.googleapis.com`): egress, which a VirtualService alone does not
    /// govern.
    External,
}

/// Top-level domains that make a two-label host public (`stripe.com`)
/// rather than `service.namespace`.
const PUBLIC_TLDS: &[&str] = &[
    "com", "org", "net", "io", "dev", "ai", "app", "co", "cloud", "us", "uk", "de", "fr", "eu",
    "jp", "cn", "in", "me", "info", "biz", "tech", "sh", "so", "xyz", "gov", "edu", "ly", "gg",
    "tv", "ru", "br", "ca", "au", "nl", "se", "ch", "es", "it", "pl", "kr",
];

/// Classifies a host as in the mesh or outside it.
pub fn reach(host: &str) -> Reach {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if let Ok(ip) = h.parse::<std::net::IpAddr>() {
        let private = match ip {
            std::net::IpAddr::V4(v4) => {
                v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.octets()[0] == 100
            }
            std::net::IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
        };
        return if private {
            Reach::InMesh
        } else {
            Reach::External
        };
    }
    let labels: Vec<&str> = h.split('.').collect();
    let last = labels.last().copied().unwrap_or("");
    if labels.len() == 1
        || h.ends_with(".svc")
        || h.ends_with(".cluster.local")
        || h.ends_with(".local")
        || h.ends_with(".internal")
        || h.contains(".svc.")
    {
        return Reach::InMesh;
    }
    if PUBLIC_TLDS.contains(&last) {
        Reach::External
    } else {
        Reach::InMesh
    }
}

impl Destination {
    /// Outside the mesh: a public domain the code names.
    pub fn is_external(&self) -> bool {
        self.host
            .as_deref()
            .is_some_and(|h| reach(h) == Reach::External)
    }

    /// ` to `host`` for messages, empty when the host is unknown.
    pub fn target(&self) -> String {
        self.host
            .as_deref()
            .map(|h| format!(" to `{h}`"))
            .unwrap_or_default()
    }

    /// Fills a template's `const`s from the crate's values.
    pub fn resolve(&self, consts: &dyn Fn(&str) -> Option<Value>) -> Destination {
        let Some(t) = &self.template else {
            return self.clone();
        };
        let Some(out) = super::eval::fill_template(t, consts) else {
            return Destination {
                from_env: self.from_env,
                ..Default::default()
            };
        };
        let mut d = Destination::from_value(&Value::Str(out));
        d.from_env |= self.from_env;
        if d.is_node_local() {
            // Not a mesh destination: never name it.
            return Destination {
                from_env: d.from_env,
                ..Default::default()
            };
        }
        d
    }

    /// A host no mesh routes to, reached on the pod's own node. A loopback host (`localhost`, `127.x.x.x`, `::1`): the process itself
    /// or its own sidecar, never a destination the mesh routes. A connect
    /// to the unspecified address (`0.0.0.0`, `::`) reaches the local host
    /// too; `http://[::]:50051` is also the placeholder URI tonic's
    /// Unix-socket channels are built with. A link-local address
    /// (`169.254.0.0/16`, `fe80::/10`) or the GCE name for it
    /// (`metadata.google.internal`) is the node's or the cloud's metadata
    /// service (EC2 IMDS, the ECS task endpoint): no Service of the
    /// cluster, never routed by the mesh either.
    pub fn is_node_local(&self) -> bool {
        let Some(h) = self.host.as_deref() else {
            return false;
        };
        let h = h.trim_start_matches('[').trim_end_matches(']');
        h.eq_ignore_ascii_case("localhost")
            || h.to_ascii_lowercase().ends_with(".localhost")
            || h.trim_end_matches('.')
                .eq_ignore_ascii_case("metadata.google.internal")
            || h == "::1"
            || h == "0.0.0.0"
            || h.parse::<std::net::Ipv6Addr>()
                .is_ok_and(|a| a.is_unspecified() || (a.segments()[0] & 0xffc0) == 0xfe80)
            || h.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.is_loopback() || a.is_link_local())
    }

    /// The destination as the mesh sees it: `None` for a literal loopback
    /// address (a call to the pod itself or its sidecar is no mesh
    /// traffic); a loopback default of an environment variable is a
    /// developer's default, so the host is left unknown.
    pub fn meshable(self) -> Option<Destination> {
        if !self.is_node_local() {
            return Some(self);
        }
        self.from_env.then(|| Destination {
            from_env: true,
            ..Default::default()
        })
    }

    pub fn from_value(v: &Value) -> Destination {
        let (v, from_env) = v.or_env_default();
        // An unknown path or query (`/price/{id}`) still names the host.
        let text = match v {
            Value::Str(s) if s.contains(CONST_MARK) => {
                return Destination {
                    template: Some(s.clone()),
                    from_env,
                    ..Default::default()
                }
            }
            Value::ConstRef(_) => {
                return Destination {
                    template: Some(super::eval::display(v)),
                    from_env,
                    ..Default::default()
                }
            }
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        };
        match text.and_then(split_host_port) {
            Some((host, port)) if looks_like_host(&host) => Destination {
                host: Some(host),
                port,
                from_env,
                template: None,
            },
            _ => Destination::default(),
        }
    }
}

fn looks_like_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

/// One call that leaves the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetCall {
    pub protocol: Protocol,
    /// The client library (`reqwest`, `tonic`, `hyper`, ...), or the crate
    /// function that makes the call.
    pub client: String,
    pub range: TextRange,
    pub dest: Destination,
    /// A per-request deadline set in the call's own chain
    /// (`RequestBuilder::timeout`, tonic `Request::set_timeout`): value in
    /// nanoseconds and the range of the call that sets it.
    pub request_timeout: Option<(u128, TextRange)>,
    /// A call of the crate's own function or method that only waits or
    /// polls: every request it reaches is made in a loop that goes round
    /// after a success (`FnSummary::wait`), so a deadline on it bounds many
    /// requests, not one.
    pub waits: bool,
    /// A health probe: a request to a health or readiness path
    /// (`{base}/healthz`), a gRPC health check (`HealthCheckRequest`), a
    /// liveness query (`SELECT 1`), or a crate function whose every HTTP or
    /// gRPC call is one. Its deadline is what makes it a probe (fail fast
    /// and mark the peer down), not a route timeout.
    pub probe: bool,
}

/// What a value is, as far as network calls go.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An HTTP client (`reqwest::Client`, `awc::Client`, `ureq::Agent`, hyper's).
    HttpClient(&'static str),
    /// A request being built on an HTTP client, with its URL.
    Request {
        client: &'static str,
        url: Value,
        timeout: Option<(u128, TextRange)>,
    },
    /// A tonic-generated client or channel, with the endpoint URL if known.
    Grpc {
        url: Value,
    },
    /// An AWS SDK client: HTTP to an external endpoint.
    Aws,
    Database,
    Cache,
    /// A Kubernetes API client (`kube::Api<K>`, `kube::Client`). Its calls go
    /// to the API server, which is not a mesh destination: no sidecar
    /// fronts it and the client speaks TLS to it itself, so no route policy
    /// can take over a retry or deadline around them. Its methods (`get`,
    /// `patch`, `replace`, `create`) are neither network calls the rules
    /// report nor the crate's methods of the same name.
    KubeApi,
    Unknown,
}

/// Finds network calls in the code of one function.
pub struct NetScan<'e, 'a> {
    pub cx: &'e FileCtx<'a>,
    pub scope: &'e FnScope<'e>,
    pub ev: Evaluator<'e, 'a>,
    /// The `impl` type of the function, for `self.method()` calls.
    pub self_ty: Option<&'e str>,
    /// While a binding's initialiser is resolved, the binding's position.
    horizon: std::cell::Cell<Option<usize>>,
    /// What [`NetScan::kind_of`] and [`NetScan::receiver_decl`] found for
    /// method calls. Every call of a chain is classified, and each reads the
    /// rest of the chain again: without it a chain of n calls costs n²/2.
    chain_memo: ChainMemo,
    /// The index of the function in `cx.functions()` whose own scope and
    /// `impl` type this scan reads: its [`NetScan::classify`] answers are
    /// shared with every other scan of that function through
    /// `FileCtx::classified`.
    shared_fn: Option<usize>,
}

/// [`NetScan::classify`] answers by (function index, expression address,
/// `let` horizon). Expressions are those of the file's tree and of its macro
/// bodies, which live as long as the `FileCtx` that holds the memo.
pub(crate) type ClassifyMemo = HashMap<(usize, usize, Option<usize>), Option<Box<NetCall>>>;

/// A method call's identity while its tree is alive: its address, and where
/// its method name is (so a tree parsed, dropped and replaced by another at
/// the same address is not mistaken for it), with the `let` horizon a
/// [`NetScan::kind_of`] answer depends on.
type MemoKey = (usize, usize, Option<usize>);

/// Answers are kept with the depth they were computed at, and only when the
/// depth budget never ran out below them: such an answer is the same at any
/// shallower depth (more budget changes nothing when none was missing).
#[derive(Default)]
struct ChainMemo {
    kinds: DepthMemo<Kind>,
    recvs: DepthMemo<Option<Recv>>,
}

/// One recursive lookup's answers, each with the depth it was found at.
struct DepthMemo<V> {
    answers: std::cell::RefCell<HashMap<MemoKey, (u32, V)>>,
    /// Set when the lookup stops at its depth limit.
    truncated: std::cell::Cell<bool>,
}

impl<V> Default for DepthMemo<V> {
    fn default() -> Self {
        DepthMemo {
            answers: Default::default(),
            truncated: Default::default(),
        }
    }
}

impl<V: Clone> DepthMemo<V> {
    /// The lookup ran out of depth: answers found above this are not kept.
    fn out_of_depth(&self) {
        self.truncated.set(true);
    }

    /// The kept answer for `key` when it was found at `depth` or deeper,
    /// else `compute`'s, kept unless the depth ran out beneath it.
    fn answer(&self, key: MemoKey, depth: u32, compute: impl FnOnce() -> V) -> V {
        if let Some((at, v)) = self.answers.borrow().get(&key) {
            if depth <= *at {
                return v.clone();
            }
        }
        let outer = self.truncated.replace(false);
        let v = compute();
        let truncated = self.truncated.get();
        self.truncated.set(outer || truncated);
        if !truncated {
            self.answers.borrow_mut().insert(key, (depth, v.clone()));
        }
        v
    }
}

/// Whether a method called on a tonic channel or generated client calls
/// the server (not `clone`, `send_compressed`, a builder method).
pub fn is_grpc_rpc(method: &str) -> bool {
    !GRPC_CONFIG_METHODS.contains(&method) && !is_builder_method(method)
}

/// Methods of a tonic client that configure it rather than call the server.
const GRPC_CONFIG_METHODS: &[&str] = &[
    "clone",
    "send_compressed",
    "accept_compressed",
    "max_decoding_message_size",
    "max_encoding_message_size",
    "with_origin",
    "into_inner",
    "ready",
    "poll_ready",
    // Reads from a response stream the call already opened.
    "message",
    "trailers",
    "next",
    "try_next",
];

/// Smart pointers, locks, lazy cells and framework extractors (axum's
/// `State`/`Extension`, actix-web's `Data`) that hold one value and hand
/// out its methods: a field or parameter of `Arc<Client>` or
/// `Data<AppState>` is read as the type inside.
fn is_value_wrapper(name: &str) -> bool {
    matches!(
        name,
        "Arc"
            | "Rc"
            | "Box"
            | "Option"
            | "State"
            | "Data"
            | "Extension"
            | "Mutex"
            | "RwLock"
            | "LazyLock"
            | "Lazy"
            | "OnceLock"
            | "OnceCell"
    )
}

pub const HTTP_VERBS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "request"];

impl<'e, 'a> NetScan<'e, 'a> {
    pub fn new(cx: &'e FileCtx<'a>, scope: &'e FnScope<'e>, self_ty: Option<&'e str>) -> Self {
        // A scan of one of the file's functions with that function's own
        // scope (the one `FileCtx::fn_scopes` made) and `impl` type answers
        // as every other such scan does; a scope made elsewhere (with macro
        // `let`s added, or empty for a `static`) is its own.
        let scopes = cx.fn_scopes();
        let at = (scope as *const FnScope<'_>) as usize;
        let base = scopes.as_ptr() as usize;
        let size = std::mem::size_of::<FnScope<'_>>().max(1);
        let shared_fn = (at >= base && (at - base).is_multiple_of(size))
            .then(|| (at - base) / size)
            .filter(|&i| {
                i < scopes.len()
                    && std::ptr::eq(&scopes[i], scope)
                    && cx.functions()[i].self_ty.as_deref() == self_ty
            });
        NetScan {
            cx,
            scope,
            ev: Evaluator::new(cx, scope),
            self_ty,
            horizon: std::cell::Cell::new(None),
            chain_memo: ChainMemo::default(),
            shared_fn,
        }
    }

    /// Every network call inside `e`: closures, async blocks and macro
    /// bodies included, crate functions followed through the index.
    pub fn calls_in_expr(&self, e: &Expr) -> Vec<NetCall> {
        let mut v = CallFinder {
            scan: self,
            out: Vec::new(),
            follow_lets: 3,
        };
        v.visit_expr(e);
        v.out.dedup_by_key(|c| c.range);
        v.out
    }

    pub fn calls_in_block(&self, b: &syn::Block) -> Vec<NetCall> {
        let mut v = CallFinder {
            scan: self,
            out: Vec::new(),
            follow_lets: 0,
        };
        v.visit_block(b);
        v.out
    }

    /// Whether this one expression (not its sub-expressions) is a network call.
    pub fn classify(&self, e: &Expr) -> Option<NetCall> {
        if !matches!(e, Expr::MethodCall(_) | Expr::Call(_)) {
            return None;
        }
        let Some(i) = self.shared_fn else {
            return self.classify_uncached(e);
        };
        let key = (i, std::ptr::from_ref(e) as usize, self.horizon.get());
        if let Some(answer) = self.cx.classified.borrow().get(&key) {
            return answer.as_deref().cloned();
        }
        let answer = self.classify_uncached(e);
        self.cx
            .classified
            .borrow_mut()
            .insert(key, answer.clone().map(Box::new));
        answer
    }

    fn classify_uncached(&self, e: &Expr) -> Option<NetCall> {
        let call = match e {
            Expr::MethodCall(m) => self.classify_method(m),
            Expr::Call(c) => self.classify_call(c),
            _ => None,
        };
        call.map(|c| self.with_probe(c, e))
    }

    fn classify_method(&self, m: &syn::ExprMethodCall) -> Option<NetCall> {
        let method = m.method.to_string();
        // Positions cost a line lookup and a character count; most method
        // calls are not network calls, so they are found only for those.
        let range = || self.cx.method_range(m);
        let recv = self.kind_of(&m.receiver, 0);
        let call = |protocol, client: &str, url: &Value, timeout| NetCall {
            protocol,
            client: client.to_string(),
            range: range(),
            dest: Destination::from_value(url),
            request_timeout: timeout,
            waits: false,
            probe: false,
        };
        match (&recv, method.as_str()) {
            (
                Kind::Request {
                    client,
                    url,
                    timeout,
                },
                "send" | "call" | "send_json" | "send_form" | "send_string" | "send_bytes"
                | "send_body",
            ) => Some(call(Protocol::Http, client, url, *timeout)),
            // hyper's `Client::get(uri)` (0.14 and hyper-util's legacy client).
            (Kind::HttpClient(client), "execute" | "send_request" | "request" | "call" | "get")
                if !matches!(method.as_str(), "request" | "get") || *client == "hyper" =>
            {
                let url = m
                    .args
                    .first()
                    .map(|a| {
                        if method == "get" {
                            // `client.get(uri)`: the argument is the URI.
                            self.ev.eval(a)
                        } else {
                            self.request_url(a, 0)
                        }
                    })
                    .unwrap_or(Value::Unknown);
                Some(call(Protocol::Http, client, &url, None))
            }
            (Kind::HttpClient("alloy"), m) if is_json_rpc_method(m) => {
                Some(call(Protocol::Http, "alloy", &Value::Unknown, None))
            }
            // Connecting a channel through a Unix-socket connector reaches a
            // process of this host, whatever its placeholder URI names.
            (Kind::Grpc { .. }, "connect_with_connector" | "connect_with_connector_lazy")
                if m.args
                    .first()
                    .is_some_and(|a| connects_over_unix_socket(self, a)) =>
            {
                None
            }
            (Kind::Grpc { url }, "connect") => Some(call(Protocol::Grpc, "tonic", url, None)),
            (Kind::Grpc { url }, _) if is_grpc_rpc(&method) => {
                Some(call(Protocol::Grpc, "tonic", url, None))
            }
            (Kind::Aws, "send") => Some(call(Protocol::Http, "aws-sdk", &Value::Unknown, None)),
            (
                Kind::Database,
                "fetch_one" | "fetch_all" | "fetch_optional" | "fetch" | "execute" | "query"
                | "query_one" | "query_opt" | "acquire" | "begin",
            ) => Some(call(Protocol::Database, "database", &Value::Unknown, None)),
            // A method of a library client (`s3.get_object()`) is not the
            // crate's own method of the same name, nor its destination; a
            // request builder may have the crate's extension methods.
            // An extension method that sends a request builder
            // (`.timeout(d).send_traced()`) sends it with the builder's
            // deadline.
            (Kind::Request { url, timeout, .. }, _) => {
                self.crate_method(m, &method, range).map(|mut c| {
                    c.request_timeout = c.request_timeout.or(*timeout);
                    if c.dest.host.is_none() {
                        c.dest = Destination::from_value(url);
                    }
                    c
                })
            }
            (Kind::Unknown, _) => self.crate_method(m, &method, range),
            _ => None,
        }
    }

    /// Marks an HTTP or gRPC call that is a health probe (`NetCall::probe`):
    /// by its request's URL, or by an argument.
    fn with_probe(&self, mut call: NetCall, e: &Expr) -> NetCall {
        if !call.protocol.is_l7() || call.probe {
            return call;
        }
        let args = match e {
            Expr::MethodCall(m) => {
                // A gRPC readiness RPC (`client.is_ready(Request::new(()))`):
                // its name is the request's path, as a URL's last segment is.
                if call.protocol == Protocol::Grpc && is_health_rpc(&m.method.to_string()) {
                    call.probe = true;
                    return call;
                }
                if let Kind::Request { url, .. } = self.kind_of(&m.receiver, 0) {
                    if is_health_url(&url)
                        || self.url_path_set_to_health(&m.receiver)
                        || self.reachability_check(m)
                    {
                        call.probe = true;
                        return call;
                    }
                }
                &m.args
            }
            Expr::Call(c) => &c.args,
            _ => return call,
        };
        call.probe = args.iter().any(|a| self.probe_arg(a));
        call
    }

    /// A probe by what its function does with the answer: a `GET` or
    /// `HEAD` without a body, the one request of a function declared to
    /// return `bool` that reads no response body (`is_reachable(url) -> bool { match
    /// client.get(url).timeout(d).send().await { Ok(r) =>
    /// r.status().is_success(), Err(_) => false } }`). All it can tell its
    /// caller is whether the peer answered.
    fn reachability_check(&self, send: &syn::ExprMethodCall) -> bool {
        let Some(f) = self.shared_fn.and_then(|i| self.cx.functions().get(i)) else {
            return false;
        };
        let returns_bool = matches!(&f.sig.output,
            syn::ReturnType::Type(_, ty) if matches!(&**ty, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("bool")));
        if !returns_bool {
            return false;
        }
        // The request's own chain: a verb without a body.
        let mut e = &*send.receiver;
        let mut verb = None;
        for _ in 0..32 {
            let Expr::MethodCall(m) = e else { break };
            let name = m.method.to_string();
            if matches!(name.as_str(), "body" | "json" | "form" | "multipart") {
                return false;
            }
            if HTTP_VERBS.contains(&name.as_str()) {
                verb = Some(name);
                break;
            }
            e = &m.receiver;
        }
        if !matches!(verb.as_deref(), Some("get" | "head")) {
            return false;
        }
        // Nothing of the answer but its status is read, and it is the
        // function's one request (a check that then lists something is
        // not one).
        struct Reads {
            body: bool,
            sends: usize,
        }
        impl<'a> Visit<'a> for Reads {
            fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
                if m.args.is_empty() {
                    match m.method.to_string().as_str() {
                        "json" | "text" | "bytes" | "chunk" | "bytes_stream" => self.body = true,
                        "send" => self.sends += 1,
                        _ => {}
                    }
                }
                syn::visit::visit_expr_method_call(self, m);
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut reads = Reads {
            body: false,
            sends: 0,
        };
        reads.visit_block(f.body);
        !reads.body && reads.sends == 1
    }

    /// A request built on a URL binding whose path the function sets to a
    /// health endpoint before the request (`url.set_path("/ping");
    /// client.get(url)`), which the evaluator does not follow.
    fn url_path_set_to_health(&self, receiver: &Expr) -> bool {
        let Some(body) = self
            .shared_fn
            .and_then(|i| self.cx.functions().get(i))
            .map(|f| f.body)
        else {
            return false;
        };
        let mut e = receiver;
        for _ in 0..16 {
            let Expr::MethodCall(m) = e else { return false };
            if HTTP_VERBS.contains(&m.method.to_string().as_str()) {
                let arg = m.args.first().map(|a| match a {
                    Expr::Reference(r) => &*r.expr,
                    a => a,
                });
                let Some(Expr::Path(p)) = arg else {
                    return false;
                };
                let Some(id) = p.path.get_ident() else {
                    return false;
                };
                let from = self.scope.binding_at(id).map_or(0, |b| b.at);
                let to = id.span().byte_start();
                return super::probe::sets_health_path(body, id, from..to, &self.ev);
            }
            e = &m.receiver;
        }
        false
    }

    /// An argument that makes a call a health probe: a health or readiness
    /// URL, a gRPC `HealthCheckRequest`, a liveness query.
    fn probe_arg(&self, a: &Expr) -> bool {
        if is_health_request(a, self.scope, 0) {
            return true;
        }
        match self.ev.eval(a) {
            Value::Str(s) => is_liveness_query(&s) || is_health_url(&Value::Str(s)),
            v => is_health_url(&v),
        }
    }

    fn classify_call(&self, c: &syn::ExprCall) -> Option<NetCall> {
        let Expr::Path(p) = &*c.func else { return None };
        let segs = self.cx.uses.resolve_shared(&p.path);
        let range = || self.cx.call_range(c);
        let first_arg = || {
            c.args
                .first()
                .map(|a| self.ev.eval(a))
                .unwrap_or(Value::Unknown)
        };
        let krate = segs.first().map(String::as_str).unwrap_or("");
        let last = segs.last().map(String::as_str).unwrap_or("");
        let verb = HTTP_VERBS.contains(&last)
            || last.ends_with("_async") && HTTP_VERBS.contains(&last.trim_end_matches("_async"));
        let call = |protocol, client: &str, url: Value| NetCall {
            protocol,
            client: client.to_string(),
            range: range(),
            dest: Destination::from_value(&url),
            request_timeout: None,
            waits: false,
            probe: false,
        };
        if verb && matches!(krate, "reqwest" | "isahc" | "surf") && segs.len() <= 3 {
            return Some(call(Protocol::Http, krate, first_arg()));
        }
        if is_grpc_client_ctor(&segs, self.cx) && last == "connect" {
            return Some(call(Protocol::Grpc, "tonic", first_arg()));
        }
        if ends_with(&segs, &["TcpStream", "connect"]) {
            return Some(call(Protocol::Tcp, "tcp", first_arg()));
        }
        if krate == "tokio_postgres" && last == "connect"
            || ends_with(&segs, &["PgPool", "connect"])
            || ends_with(&segs, &["MySqlPool", "connect"])
        {
            return Some(call(Protocol::Database, "database", Value::Unknown));
        }
        self.crate_fn(&segs, range)
    }

    /// A call of the crate's own free function, which inherits its network calls.
    fn crate_fn(&self, segs: &[String], range: impl FnOnce() -> TextRange) -> Option<NetCall> {
        if !self.cx.index.has_functions() {
            return None;
        }
        let name = segs.last()?;
        // `Self::helper()`, `helper()`, `module::helper()`, `crate::m::f()`,
        // `dep_crate::m::f()`: resolved from this file's module.
        let found = self
            .cx
            .index
            .net_of_path(segs, &self.cx.module, self.self_ty)?;
        Some(NetCall {
            protocol: found.protocol,
            client: format!("{name}()"),
            range: range(),
            dest: found.dest.clone(),
            request_timeout: None,
            probe: found.probe,
            waits: self
                .cx
                .index
                .waits_at_path(segs, &self.cx.module, self.self_ty),
        })
    }

    fn crate_method(
        &self,
        m: &syn::ExprMethodCall,
        method: &str,
        range: impl FnOnce() -> TextRange,
    ) -> Option<NetCall> {
        // No crate function known yet: the receiver's type cannot matter.
        if !self.cx.index.has_functions() {
            return None;
        }
        let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
        let declared = if on_self {
            None
        } else {
            self.receiver_decl(&m.receiver, 0)
        };
        let typed = declared.as_ref().and_then(|r| {
            let net = self.cx.index.net_of_receiver(r, method)?;
            Some((r.clone(), net))
        });
        let index = self.cx.index;
        let (found, waits) = match typed {
            // The receiver's declared type or trait decides, whatever the
            // method's name.
            Some((recv, answer)) => (answer, index.waits_of_receiver(&recv, method)),
            None if on_self => (
                index.net_of_self_method(method, self.self_ty).cloned(),
                index.waits_of_self_method(method, self.self_ty),
            ),
            None if is_common_method(method) => (None, false),
            // `db: Box<dyn Store>` whose trait's impls the crate does not
            // show: its `register` is a trait method (the trait's or a
            // supertrait's), never a type's inherent method of that name.
            None if declared
                .as_ref()
                .is_some_and(|r| index.is_trait_receiver(r)) =>
            {
                let found = index.net_of_any_trait_method(method);
                let waits = found.is_some() && index.waits_of_any_method(method);
                (found, waits)
            }
            None => (
                index.net_of_any_method(method),
                index.waits_of_any_method(method),
            ),
        };
        let found = found?;
        Some(NetCall {
            protocol: found.protocol,
            client: format!("{method}()"),
            range: range(),
            dest: found.dest,
            request_timeout: None,
            waits,
            probe: found.probe,
        })
    }

    /// The crate type or trait a method's receiver is declared as: a
    /// parameter or `let` with a type (`p: &dyn Provider`, `c: ShardClient`,
    /// `p: &P` with `P: Provider`), a struct field (`self.inner`), or the
    /// crate method or function that returned it (`client.get(url)` of the
    /// crate's `Client`, whose `get` returns its `RequestBuilder`).
    pub fn receiver_decl(&self, e: &Expr, depth: u32) -> Option<Recv> {
        // As deep as a value is followed for its kind: a client built by a
        // four-call chain, cloned into a closure, then asked for a request
        // that is prepared and sent is eleven steps from the `send`.
        if depth > MAX_KIND_DEPTH {
            self.chain_memo.recvs.out_of_depth();
            return None;
        }
        let Expr::MethodCall(m) = e else {
            return self.receiver_decl_uncached(e, depth);
        };
        let key = (
            std::ptr::from_ref(m) as usize,
            m.method.span().byte_start(),
            None,
        );
        self.chain_memo
            .recvs
            .answer(key, depth, || self.receiver_decl_uncached(e, depth))
    }

    fn receiver_decl_uncached(&self, e: &Expr, depth: u32) -> Option<Recv> {
        let d = depth + 1;
        match e {
            Expr::Paren(p) => self.receiver_decl(&p.expr, d),
            Expr::Group(g) => self.receiver_decl(&g.expr, d),
            Expr::Reference(r) => self.receiver_decl(&r.expr, d),
            Expr::Await(a) => self.receiver_decl(&a.base, d),
            Expr::Try(t) => self.receiver_decl(&t.expr, d),
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                if id == "self" {
                    return None;
                }
                let at = id.span().byte_start();
                let b = self.scope.lookup(&id.to_string(), at);
                // `let (client, request) = self.build_split();`: an element
                // of what a function of this file declares it returns.
                if let Some((pos, init, i)) = self.scope.tuple_element(&id.to_string(), at) {
                    if b.is_none_or(|b| b.at < pos) {
                        return self.tuple_element_decl(init, i);
                    }
                }
                let b = b?;
                if let Some(name) = b.field {
                    return self.field_decl_named(name);
                }
                match (b.ty, b.init) {
                    (Some(ty), _) => self.recv_of_type(ty, 0),
                    (None, Some(init)) => self.receiver_decl(init, d),
                    (None, None) => None,
                }
            }
            Expr::Field(f) => match &f.member {
                // The owner's declared field first (`data.client` with
                // `data: &EmbedderData`), then the field by name.
                syn::Member::Named(name) if self.owned_field(f).is_some() => {
                    self.owned_field(f).map(|(r, _)| r)
                }
                syn::Member::Named(name) => self.field_decl_named(name),
                _ => None,
            },
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                // What keeps the value's type: its `Result` or `Option`
                // read as the `Ok` type, as return types are
                // (`ClientBuilder::new().build().map_err(..)?`).
                if matches!(
                    method.as_str(),
                    "clone"
                        | "as_ref"
                        | "unwrap"
                        | "expect"
                        | "borrow"
                        | "to_owned"
                        | "deref"
                        | "map_err"
                        | "context"
                        | "with_context"
                        | "wrap_err"
                        | "inspect_err"
                        | "ok"
                        | "lock"
                ) {
                    return self.receiver_decl(&m.receiver, d);
                }
                // `self.client_for(id)`: what the method of the impl's own
                // type returns (a generated gRPC client, a crate type).
                let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
                let base = match self.self_ty {
                    Some(ty) if on_self => Some(Recv::Type {
                        krate: None,
                        name: ty.to_string(),
                    }),
                    _ => self.receiver_decl(&m.receiver, d),
                };
                match base? {
                    Recv::Trait(_) => None,
                    base => Some(
                        self.cx
                            .index
                            .returned_recv(&base, &method)
                            .unwrap_or_else(|| Recv::Returned(Box::new(base), method)),
                    ),
                }
            }
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let segs = self.cx.uses.resolve_shared(&p.path);
                if ends_with(&segs, &["Arc", "new"])
                    || ends_with(&segs, &["Box", "new"])
                    || ends_with(&segs, &["Rc", "new"])
                {
                    return c.args.first().and_then(|a| self.receiver_decl(a, d));
                }
                // `ShardClient::new(..)`, `http_client::ureq::Agent::new(..)`:
                // a constructor of a crate type that returns `Self`.
                let (ctor, ty_path) = segs.split_last()?;
                let (name, prefix) = ty_path.split_last()?;
                let krate = foreign_root(prefix);
                self.cx
                    .index
                    .returned_type_of_method(krate.as_deref(), name, ctor)
                    .filter(|t| t == name)
                    .map(|t| Recv::Type { krate, name: t })
            }
            _ => None,
        }
    }

    /// What a field is declared as, by its name: in this file, else in
    /// another file of the crate (the index knows it, or, while summaries
    /// are built, will).
    fn field_decl_named(&self, name: &syn::Ident) -> Option<Recv> {
        match self.cx.field_type(&name.to_string()) {
            Some(t) => self.recv_of_type(t, 0),
            None => Some(
                self.cx
                    .index
                    .field_recv(&name.to_string())
                    .cloned()
                    .unwrap_or_else(|| Recv::Field(name.to_string())),
            ),
        }
    }

    /// The declared type of element `i` of the tuple a function of this
    /// file returns (`fn build_split(self) -> (Client, Result<Request>)`),
    /// called as `init` (through `?`, `.await` and the like).
    fn tuple_element_decl(&self, init: &Expr, i: usize) -> Option<Recv> {
        let name = match unwrapped_call(init) {
            Expr::MethodCall(m) => m.method.to_string(),
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => p.path.segments.last()?.ident.to_string(),
                _ => return None,
            },
            _ => return None,
        };
        let mut ty = self.cx.fn_return_type(&name)?;
        // `Result<(A, B), E>`: the tuple inside.
        if let Some(seg) = type_path(ty).and_then(|p| p.segments.last()) {
            if self.cx.ok_alias(&seg.ident.to_string()) || seg.ident == "Option" {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                        ty = inner;
                    }
                }
            }
        }
        match ty {
            Type::Tuple(t) => self.recv_of_type(t.elems.iter().nth(i)?, 0),
            _ => None,
        }
    }

    /// What a field holds when its name alone does not say (two structs
    /// declare it with different types) but its owner's type does: the
    /// client its declared type is, or the client that type derefs to.
    fn field_kind_by_owner(&self, f: &syn::ExprField) -> Option<Kind> {
        let mut by_name = false;
        if let syn::Member::Named(name) = &f.member {
            if self.cx.field_type(&name.to_string()).is_some() {
                return None;
            }
            by_name = self.cx.index.field_kind(&name.to_string()).is_some();
        }
        match self.owned_field(f)? {
            (_, Some(k)) if !by_name => Some(k),
            // A field of that name holds a client somewhere in the crate:
            // the owner's declaration says whether this one does
            // (`self.inner` of `inner: Arc<Inner<T>>` is not another
            // struct's `inner: FlightClient`).
            (_, Some(_)) => None,
            (Recv::Type { name, .. }, None) => {
                let k = self.cx.index.deref_kind(&name).cloned();
                if by_name {
                    Some(k.unwrap_or(Kind::Unknown))
                } else {
                    k
                }
            }
            _ => None,
        }
    }

    /// The declared type (and client kind) of a field read from a value of
    /// a struct the index knows (`self.client`, `data.client`).
    fn owned_field(&self, f: &syn::ExprField) -> Option<(Recv, Option<Kind>)> {
        let syn::Member::Named(field) = &f.member else {
            return None;
        };
        let owner = match &*f.base {
            Expr::Path(p) if p.path.is_ident("self") => Recv::Type {
                krate: None,
                name: self.self_ty?.to_string(),
            },
            base => self.receiver_decl(base, 1)?,
        };
        let Recv::Type { name, .. } = self.cx.index.concrete(&owner)? else {
            return None;
        };
        self.cx.index.struct_field(&name, &field.to_string())
    }

    /// The crate type or trait a declared type names.
    pub fn recv_of_type(&self, ty: &Type, depth: u32) -> Option<Recv> {
        if depth > 8 {
            return None;
        }
        let d = depth + 1;
        match ty {
            Type::Reference(r) => self.recv_of_type(&r.elem, d),
            Type::Paren(p) => self.recv_of_type(&p.elem, d),
            Type::Group(g) => self.recv_of_type(&g.elem, d),
            Type::TraitObject(t) => first_trait(&t.bounds).map(Recv::Trait),
            Type::ImplTrait(t) => first_trait(&t.bounds).map(Recv::Trait),
            Type::Path(p) => {
                let seg = p.path.segments.last()?;
                let name = seg.ident.to_string();
                // The wrappers `kind_of_type_at` looks through, actix's
                // `web::Data<AppState>` extractor among them.
                if is_value_wrapper(&name) {
                    if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                        if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                            return self.recv_of_type(inner, d);
                        }
                    }
                    return None;
                }
                if let Some(id) = p.path.get_ident() {
                    // A type parameter: the trait it is bound by, when one
                    // of its bounds is a trait the crate implements.
                    let bounds = self.scope.bound_traits(&id.to_string());
                    if !bounds.is_empty() {
                        return bounds
                            .iter()
                            .find(|b| self.cx.index.implements_trait(b))
                            .or_else(|| bounds.iter().find(|b| !is_std_trait(b)))
                            .cloned()
                            .map(Recv::Trait);
                    }
                    if let Some(aliased) = self.cx.type_alias(&id.to_string()) {
                        return self.recv_of_type(aliased, d);
                    }
                }
                let segs = self.cx.uses.resolve_shared(&p.path);
                let (name, prefix) = segs.split_last()?;
                Some(Recv::Type {
                    krate: foreign_root(prefix),
                    name: name.clone(),
                })
            }
            _ => None,
        }
    }

    /// The URL of an `http::Request` built as `Request::get(url)` or
    /// `Request::builder().uri(url)`, through `let`s and `.clone()`.
    fn request_url(&self, e: &Expr, depth: u32) -> Value {
        if depth > 6 {
            return Value::Unknown;
        }
        match e {
            Expr::MethodCall(m) if m.method == "uri" => m
                .args
                .first()
                .map(|a| self.ev.eval(a))
                .unwrap_or(Value::Unknown),
            Expr::MethodCall(m) => self.request_url(&m.receiver, depth + 1),
            Expr::Try(t) => self.request_url(&t.expr, depth + 1),
            Expr::Reference(r) => self.request_url(&r.expr, depth + 1),
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs = self.cx.uses.resolve_shared(&p.path);
                    let verb = segs
                        .last()
                        .is_some_and(|l| HTTP_VERBS.contains(&l.as_str()));
                    if verb && segs.len() >= 2 && segs[segs.len() - 2] == "Request" {
                        c.args
                            .first()
                            .map(|a| self.ev.eval(a))
                            .unwrap_or(Value::Unknown)
                    } else {
                        Value::Unknown
                    }
                }
                _ => Value::Unknown,
            },
            Expr::Path(p) => {
                let Some(id) = p.path.get_ident() else {
                    return Value::Unknown;
                };
                match self.scope.binding_at(id).and_then(|b| b.init) {
                    Some(init) => self.request_url(init, depth + 1),
                    None => Value::Unknown,
                }
            }
            _ => Value::Unknown,
        }
    }

    /// Resolves what an expression's value is, following lets, fields,
    /// declared types and method chains.
    pub fn kind_of(&self, e: &Expr, depth: u32) -> Kind {
        // Deep enough for a request built over a dozen `let`s (a closure
        // re-building it for each attempt, headers added conditionally).
        if depth > MAX_KIND_DEPTH {
            self.chain_memo.kinds.out_of_depth();
            return Kind::Unknown;
        }
        let Expr::MethodCall(m) = e else {
            return self.kind_of_uncached(e, depth);
        };
        let key = (
            std::ptr::from_ref(m) as usize,
            m.method.span().byte_start(),
            self.horizon.get(),
        );
        self.chain_memo
            .kinds
            .answer(key, depth, || self.kind_of_uncached(e, depth))
    }

    fn kind_of_uncached(&self, e: &Expr, depth: u32) -> Kind {
        let d = depth + 1;
        match e {
            Expr::Paren(p) => self.kind_of(&p.expr, d),
            Expr::Group(g) => self.kind_of(&g.expr, d),
            Expr::Reference(r) => self.kind_of(&r.expr, d),
            Expr::Await(a) => self.kind_of(&a.base, d),
            Expr::Try(t) => self.kind_of(&t.expr, d),
            Expr::Path(p) => {
                let Some(id) = p.path.get_ident() else {
                    // `crate::clients::CATALOG`: a `static` by its path.
                    return p
                        .path
                        .segments
                        .last()
                        .and_then(|s| self.cx.index.static_kind(&s.ident.to_string()))
                        .cloned()
                        .unwrap_or(Kind::Unknown);
                };
                // While a binding's initialiser is read, names in it see only
                // the bindings before it: `let ep = ep.timeout(..)`.
                let real = id.span().byte_start();
                let at = self.horizon.get().map_or(real, |h| h.min(real));
                let b = self
                    .scope
                    .lookup_reading(&id.to_string(), real, self.horizon.get());
                // `let (sender, conn) = http1::handshake(io).await?`: an
                // element of a tuple bound after any plain `let` of the name.
                if let Some((pos, init, i)) = self.scope.tuple_element(&id.to_string(), at) {
                    if b.is_none_or(|b| b.at < pos) {
                        return self.kind_of_tuple_element(init, i);
                    }
                }
                let Some(b) = b else {
                    if id == "self" {
                        return self.library_self();
                    }
                    // A `static` of the crate: `CLIENT.get(url)`.
                    return self
                        .cx
                        .index
                        .static_kind(&id.to_string())
                        .cloned()
                        .unwrap_or(Kind::Unknown);
                };
                if let Some(name) = b.field {
                    return self.kind_of_field_named(name);
                }
                if let Some(ty) = b.ty {
                    let k = self.kind_of_type(ty);
                    if k != Kind::Unknown {
                        return k;
                    }
                }
                let Some(init) = b.init else {
                    return Kind::Unknown;
                };
                let outer = self.horizon.replace(Some(b.at));
                let k = self.kind_of(init, d);
                self.horizon.set(outer);
                k
            }
            Expr::Field(f) if self.field_kind_by_owner(f).is_some() => {
                self.field_kind_by_owner(f).unwrap_or(Kind::Unknown)
            }
            Expr::Field(f) => match &f.member {
                syn::Member::Named(name) => self.kind_of_field_named(name),
                _ => Kind::Unknown,
            },
            Expr::Call(c) => self.kind_of_call(c, d),
            Expr::MethodCall(m) => self.kind_of_method(m, d),
            // `match scheme { "http" => Channel::builder(uri), "https" => { .. } }`:
            // what every arm that yields a value builds, when they agree.
            // `match builder.build() { Ok(client) => client, Err(e) => return .. }`:
            // an arm that hands on what it unwrapped is the scrutinee's value.
            Expr::Match(m) => {
                let unwrapped = m.arms.iter().any(|a| unwraps_into_body(&a.pat, &a.body));
                if unwrapped {
                    let k = self.kind_of(&m.expr, d);
                    if k != Kind::Unknown {
                        return k;
                    }
                }
                self.agreeing(m.arms.iter().map(|a| &*a.body), d)
            }
            Expr::If(i) => match &i.else_branch {
                Some((_, e)) => {
                    let then = block_value(&i.then_branch);
                    self.agreeing(then.into_iter().chain(std::iter::once(&**e)), d)
                }
                None => Kind::Unknown,
            },
            Expr::Block(b) => block_value(&b.block)
                .map(|e| self.kind_of(e, d))
                .unwrap_or(Kind::Unknown),
            _ => Kind::Unknown,
        }
    }

    /// A field by its name: declared in this file, else in another file of
    /// the crate (`AppState` in state.rs, used in handlers.rs).
    fn kind_of_field_named(&self, name: &syn::Ident) -> Kind {
        match self.cx.field_type(&name.to_string()) {
            Some(t) => match self.kind_of_type(t) {
                // The type says gRPC; a constructor may say where to.
                Kind::Grpc { url } if url.is_unknown() => self
                    .cx
                    .index
                    .endpoint_field(&name.to_string())
                    .cloned()
                    .unwrap_or(Kind::Grpc { url }),
                k => k,
            },
            None => self
                .cx
                .index
                .endpoint_field(&name.to_string())
                .or_else(|| self.cx.index.field_kind(&name.to_string()))
                .cloned()
                .unwrap_or(Kind::Unknown),
        }
    }

    /// `self` in an `impl` for a library's HTTP client or request builder
    /// (an extension trait: `impl SendExt for reqwest::RequestBuilder {
    /// fn send_traced(self) { self.send() } }`) is that client. The
    /// crate's own types are read through their methods, never here.
    fn library_self(&self) -> Kind {
        let Some(ty) = self
            .shared_fn
            .and_then(|i| self.cx.functions().get(i))
            .and_then(|f| f.impl_type)
        else {
            return Kind::Unknown;
        };
        let ty = match ty {
            Type::Reference(r) => &*r.elem,
            t => t,
        };
        let Some(path) = type_path(ty) else {
            return Kind::Unknown;
        };
        let segs = self.cx.uses.resolve_shared(path);
        if segs.len() < 2 || matches!(segs[0].as_str(), "crate" | "self" | "super") {
            return Kind::Unknown;
        }
        match self.kind_of_type(ty) {
            k @ (Kind::Request { .. } | Kind::HttpClient(_)) => k,
            _ => Kind::Unknown,
        }
    }

    /// The kind of element `i` of a tuple a call returns: hyper's and h2's
    /// `handshake(io)` (free function or `Builder` method) return the
    /// connection's `SendRequest` first, an HTTP client of that connection.
    fn kind_of_tuple_element(&self, init: &Expr, i: usize) -> Kind {
        let e = unwrapped_call(init);
        let handshake_of = |segs: &[String]| match segs.first().map(String::as_str) {
            Some("hyper") => Some("hyper"),
            Some("h2") => Some("h2"),
            _ => None,
        };
        let client = match e {
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) => {
                    let segs = self.cx.uses.resolve_shared(&p.path);
                    if segs.last().is_some_and(|l| l == "handshake") {
                        handshake_of(&segs)
                    } else {
                        None
                    }
                }
                _ => None,
            },
            // `http1::Builder::new().title_case_headers(true).handshake(io)`.
            Expr::MethodCall(m) if m.method == "handshake" => {
                let mut root = &*m.receiver;
                for _ in 0..MAX_BUILDER_CHAIN {
                    match root {
                        Expr::MethodCall(r) => root = &r.receiver,
                        _ => break,
                    }
                }
                match root {
                    Expr::Call(c) => match &*c.func {
                        Expr::Path(p) => {
                            let segs = self.cx.uses.resolve_shared(&p.path);
                            if ends_with(&segs, &["Builder", "new"]) {
                                handshake_of(&segs)
                            } else {
                                None
                            }
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        };
        match client {
            Some(c) if i == 0 => Kind::HttpClient(c),
            _ => Kind::Unknown,
        }
    }

    /// The kind all branches give, ignoring branches that leave (`return`,
    /// `panic!`); unknown when they differ.
    fn agreeing<'x>(&self, branches: impl Iterator<Item = &'x Expr>, d: u32) -> Kind {
        let mut out: Option<Kind> = None;
        for e in branches {
            if matches!(
                e,
                Expr::Return(_) | Expr::Macro(_) | Expr::Continue(_) | Expr::Break(_)
            ) {
                continue;
            }
            let k = self.kind_of(e, d);
            match out {
                None => out = Some(k),
                Some(prev) => match same_client(prev, k) {
                    Some(merged) => out = Some(merged),
                    None => return Kind::Unknown,
                },
            }
        }
        out.unwrap_or(Kind::Unknown)
    }

    fn kind_of_call(&self, c: &syn::ExprCall, d: u32) -> Kind {
        let Expr::Path(p) = &*c.func else {
            return Kind::Unknown;
        };
        // A local closure that builds the request each time it is called
        // (`let build = || client.post(url).header(..); build().send()`).
        if let Some(id) = p.path.get_ident() {
            if let Some(b) = self.scope.lookup(&id.to_string(), id.span().byte_start()) {
                if let Some(Expr::Closure(cl)) = b.init {
                    return self.kind_of(&cl.body, d);
                }
            }
        }
        // `Ok(builder.https_only(true))`: a value is read through its
        // `Result` or `Option`, as `?` would take it off.
        if (p.path.is_ident("Ok") || p.path.is_ident("Some")) && c.args.len() == 1 {
            return c.args.first().map_or(Kind::Unknown, |a| self.kind_of(a, d));
        }
        let segs = self.cx.uses.resolve_shared(&p.path);
        let last = segs.last().map(String::as_str).unwrap_or("");
        let krate = segs.first().map(String::as_str).unwrap_or("");
        let arg = |i: usize| c.args.iter().nth(i);
        if is_http_client_type(&segs[..segs.len().saturating_sub(1)]).is_some()
            || krate == "ureq" && matches!(last, "agent")
        {
            if let Some(client) =
                is_http_client_type(&segs[..segs.len().saturating_sub(1)]).or(Some("ureq"))
            {
                return Kind::HttpClient(client);
            }
        }
        if ends_with(&segs, &["reqwest_middleware", "ClientBuilder", "new"]) {
            return Kind::HttpClient("reqwest");
        }
        if matches!(krate, "ureq" | "awc") && HTTP_VERBS.contains(&last) && segs.len() == 2 {
            let url = arg(0).map(|a| self.ev.eval(a)).unwrap_or(Value::Unknown);
            return Kind::Request {
                client: if krate == "ureq" { "ureq" } else { "awc" },
                url,
                timeout: None,
            };
        }
        if is_grpc_client_ctor(&segs, self.cx) {
            return match last {
                "connect" | "from_static" | "from_shared" => Kind::Grpc {
                    url: arg(0).map(|a| self.ev.eval(a)).unwrap_or(Value::Unknown),
                },
                "new" | "with_interceptor" | "with_origin" => {
                    match arg(0).map(|a| self.kind_of(a, d)) {
                        Some(Kind::Grpc { url }) => Kind::Grpc { url },
                        _ => Kind::Grpc {
                            url: Value::Unknown,
                        },
                    }
                }
                _ => Kind::Unknown,
            };
        }
        if (ends_with(&segs, &["Channel", "from_static"])
            || ends_with(&segs, &["Channel", "builder"])
            || ends_with(&segs, &["Endpoint", "from"])
            || ends_with(&segs, &["Channel", "from_shared"])
            || ends_with(&segs, &["Endpoint", "from_static"])
            || ends_with(&segs, &["Endpoint", "from_shared"])
            || ends_with(&segs, &["Endpoint", "new"])
            || ends_with(&segs, &["Endpoint", "try_from"]))
            && names_tonic(&segs[..segs.len() - 1], self.cx)
        {
            return Kind::Grpc {
                url: arg(0).map(|a| self.ev.eval(a)).unwrap_or(Value::Unknown),
            };
        }
        if krate.starts_with("aws_sdk_") && matches!(last, "new" | "from_conf") {
            return Kind::Aws;
        }
        // `Api::namespaced(client, ns)`, `Client::try_default()`.
        if segs.len() >= 2 && is_kube_client_type(&segs[..segs.len() - 1]) {
            return Kind::KubeApi;
        }
        if krate == "sqlx" && last.starts_with("query") {
            return Kind::Database;
        }
        if ends_with(&segs, &["Arc", "new"])
            || ends_with(&segs, &["Rc", "new"])
            || ends_with(&segs, &["Some"])
        {
            return arg(0).map(|a| self.kind_of(a, d)).unwrap_or(Kind::Unknown);
        }
        // A crate function returning a client: `fn http() -> reqwest::Client`,
        // in this file or another (`Pools::grpc_channel(..)`).
        if let Some(ret) = self.cx.fn_return_type(last) {
            return self.kind_of_type(ret);
        }
        self.cx
            .index
            .returned_kind_of_path(&segs, &self.cx.module, self.self_ty)
            .cloned()
            .unwrap_or(Kind::Unknown)
    }

    fn kind_of_method(&self, m: &syn::ExprMethodCall, d: u32) -> Kind {
        let method = m.method.to_string();
        let recv = self.kind_of(&m.receiver, d);
        match (recv, method.as_str()) {
            (
                k,
                "clone" | "unwrap" | "expect" | "build" | "build_http" | "as_ref" | "to_owned"
                | "borrow" | "lock" | "read" | "connect_lazy" | "context" | "with_context"
                | "map_err" | "get_or_init" | "get_or_try_init" | "force" | "ok" | "inspect_err"
                | "as_deref" | "cloned",
            ) if (!matches!(k, Kind::Request { .. }) || method == "clone")
                // The crate's own builder type (`HttpConfig::client_builder()
                // .build()`, a wrapper whose `build` returns a
                // `reqwest::Client`): what its method returns decides, below.
                && !(matches!(k, Kind::Unknown) && matches!(method.as_str(), "build" | "build_http")) =>
            {
                match (k, method.as_str()) {
                    (Kind::Grpc { url }, _) => Kind::Grpc { url },
                    (k, _) => k,
                }
            }
            // `OnceLock::get()`, `OnceCell::get()`: the value inside.
            (k, "get") if m.args.is_empty() && !matches!(k, Kind::Request { .. }) => k,
            // `tls_builder().and_then(|b| Ok(b.use_rustls_tls()))`: what the
            // closure gives back (its parameter is the receiver's value, see
            // `FnScope`), `Ok(..)` or `Some(..)` taken off.
            (_, "and_then" | "map") if m.args.len() == 1 => match m.args.first() {
                Some(Expr::Closure(c)) => self.kind_of(&c.body, d + 1),
                _ => Kind::Unknown,
            },
            (Kind::HttpClient(client), verb) if HTTP_VERBS.contains(&verb) => {
                let idx = usize::from(verb == "request");
                let url = m
                    .args
                    .iter()
                    .nth(idx)
                    .map(|a| self.ev.eval(a))
                    .unwrap_or(Value::Unknown);
                Kind::Request {
                    client,
                    url,
                    timeout: None,
                }
            }
            (Kind::Request { client, url, .. }, "timeout") => {
                let t = m
                    .args
                    .first()
                    .and_then(|a| self.ev.eval(a).as_duration_nanos());
                Kind::Request {
                    client,
                    url,
                    timeout: t.map(|t| (t, self.cx.method_range(m))),
                }
            }
            (
                Kind::Request {
                    client,
                    url,
                    timeout,
                },
                _,
            ) if method != "send" => Kind::Request {
                client,
                url,
                timeout,
            },
            // A channel connected through a Unix-socket connector
            // (`.connect_with_connector(service_fn(|_| UnixStream::connect(p)))`)
            // talks to a process of this host whatever its placeholder URI
            // says: its calls go to the loopback, never through the mesh.
            (Kind::Grpc { .. }, "connect_with_connector" | "connect_with_connector_lazy")
                if m.args
                    .first()
                    .is_some_and(|a| connects_over_unix_socket(self, a)) =>
            {
                Kind::Grpc {
                    url: Value::Str("http://localhost".to_string()),
                }
            }
            (
                Kind::Grpc { url },
                "connect"
                | "timeout"
                | "connect_timeout"
                | "concurrency_limit"
                | "rate_limit"
                | "tcp_keepalive"
                | "http2_keep_alive_interval"
                | "keep_alive_timeout"
                | "keep_alive_while_idle"
                | "http2_adaptive_window"
                | "initial_connection_window_size"
                | "initial_stream_window_size"
                | "http2_max_header_list_size"
                | "local_address"
                | "executor"
                | "tls_config"
                | "user_agent"
                | "origin"
                | "buffer_size"
                | "tcp_nodelay",
            ) => Kind::Grpc { url },
            (Kind::HttpClient(c), m) if is_builder_method(m) || m == "build" => Kind::HttpClient(c),
            // `Client::builder().dns_resolver(..)`: a builder method we do not list.
            (Kind::HttpClient(c), _) if self.builder_root(&m.receiver).is_some() => {
                Kind::HttpClient(c)
            }
            (Kind::Database, _) => Kind::Database,
            // An AWS SDK operation is a fluent builder (`client.get_object()
            // .bucket(..).key(..)`) until its `send()`: every link keeps the
            // client's kind so the `send` at the end is seen as the call.
            (Kind::Aws, m) if m != "send" => Kind::Aws,
            // `ProviderBuilder::new().connect_http(url)`: an alloy provider.
            (Kind::Unknown, name)
                if (name.starts_with("connect") || name.starts_with("on_"))
                    && self.alloy_builder_root(&m.receiver) =>
            {
                Kind::HttpClient("alloy")
            }
            (Kind::Unknown, _) => {
                // `reqwest::Client::builder().timeout(..).build()`: the chain root decides.
                if let Expr::Call(c) = &*m.receiver {
                    if let Expr::Path(p) = &*c.func {
                        let segs = self.cx.uses.resolve_shared(&p.path);
                        if ends_with(&segs, &["Client", "builder"])
                            || ends_with(&segs, &["ClientBuilder", "new"])
                        {
                            if let Some(client) = is_http_client_type(&segs[..segs.len() - 1]) {
                                return Kind::HttpClient(client);
                            }
                        }
                    }
                }
                // Any method on a chain that starts at `Client::builder()`
                // (`dns_resolver`, `http1_title_case_headers`, ..) keeps
                // building the client.
                if method != "send" {
                    if let Some(k) = self.builder_root(&m.receiver) {
                        return k;
                    }
                }
                // A method of the crate that returns a client
                // (`context.pictrs_client()`), when every method of that
                // name returns the same one.
                // A method of the receiver's declared type
                // (`config.reqwest_client()` with `config: &CommonConfig`).
                if let Some(k) = self
                    .receiver_decl(&m.receiver, 0)
                    .and_then(|r| self.cx.index.returned_kind_of_recv(&r, &method))
                {
                    return k.clone();
                }
                if is_common_method(&method) {
                    return Kind::Unknown;
                }
                let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
                let found = if on_self {
                    self.cx.index.returned_kind_of_path(
                        &["Self".to_string(), method.clone()],
                        &self.cx.module,
                        self.self_ty,
                    )
                } else {
                    self.cx.index.returned_kind_of_method(&method)
                };
                found.cloned().unwrap_or(Kind::Unknown)
            }
            _ => Kind::Unknown,
        }
    }

    /// Whether a chain starts at alloy's `ProviderBuilder::new()` (or
    /// `::default()`).
    fn alloy_builder_root(&self, mut e: &Expr) -> bool {
        for _ in 0..MAX_BUILDER_CHAIN {
            match e {
                Expr::MethodCall(m) => e = &m.receiver,
                _ => break,
            }
        }
        let Expr::Call(c) = e else { return false };
        let Expr::Path(p) = &*c.func else {
            return false;
        };
        let segs = self.cx.uses.resolve_shared(&p.path);
        (ends_with(&segs, &["ProviderBuilder", "new"])
            || ends_with(&segs, &["ProviderBuilder", "default"]))
            && (mentions(&segs, "alloy")
                || mentions(&segs, "alloy_provider")
                || self.cx.uses.imports_from("alloy"))
    }

    fn builder_root(&self, mut e: &Expr) -> Option<Kind> {
        // Asked at every link of a chain: a bounded walk keeps a generated
        // 10,000-call chain linear. No hand-written client builder is longer.
        // `base(config)?.timeout(..)`: a builder handed out in a `Result`.
        for _ in 0..MAX_BUILDER_CHAIN {
            match e {
                Expr::MethodCall(m) => e = &m.receiver,
                Expr::Try(t) => e = &t.expr,
                Expr::Paren(p) => e = &p.expr,
                _ => break,
            }
        }
        match e {
            Expr::Call(c) => {
                let Expr::Path(p) = &*c.func else { return None };
                let segs = self.cx.uses.resolve_shared(&p.path);
                if ends_with(&segs, &["Client", "builder"])
                    || ends_with(&segs, &["ClientBuilder", "new"])
                    || ends_with(&segs, &["AgentBuilder", "new"])
                {
                    return is_http_client_type(&segs[..segs.len() - 1])
                        .or_else(|| segs.first().filter(|k| *k == "ureq").map(|_| "ureq"))
                        .map(Kind::HttpClient);
                }
                // A crate function that hands out a configured builder
                // (`fn client_builder() -> reqwest::ClientBuilder`).
                if let Some(ret) = segs.last().and_then(|l| self.cx.fn_return_type(l)) {
                    let builder =
                        super::scope::ok_type_name(ret).is_some_and(|n| n.ends_with("Builder"));
                    return match self.kind_of_type(ret) {
                        k @ Kind::HttpClient(_) if builder => Some(k),
                        _ => None,
                    };
                }
                self.cx
                    .index
                    .returned_builder_of_path(&segs, &self.cx.module, self.self_ty)
                    .filter(|k| matches!(k, Kind::HttpClient(_)))
                    .cloned()
            }
            _ => None,
        }
    }

    pub fn kind_of_type(&self, ty: &Type) -> Kind {
        self.kind_of_type_at(ty, 0)
    }

    fn kind_of_type_at(&self, ty: &Type, depth: u32) -> Kind {
        if depth > 8 {
            return Kind::Unknown;
        }
        let Some(path) = type_path(ty) else {
            return Kind::Unknown;
        };
        // A type alias of this file first (`type HttpClient = Client<HttpConnector, Body>;`):
        // its name may look like a generated gRPC client's.
        if let Some(aliased) = path
            .get_ident()
            .and_then(|id| self.cx.type_alias(&id.to_string()))
        {
            return self.kind_of_type_at(aliased, depth + 1);
        }
        let segs = self.cx.uses.resolve_shared(path);
        let last = path.segments.last();
        // Smart pointers and `State<T>` extractors wrap the client.
        if let Some(seg) = last {
            let name = seg.ident.to_string();
            if is_value_wrapper(&name) || self.cx.ok_alias(&name) {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                        return self.kind_of_type_at(inner, depth + 1);
                    }
                }
            }
            // A tower middleware over a client (`Decompression<Client<..>>`,
            // `Either<A, B>`, the crate's own `BodySizeService<S>`): its
            // `call` is the inner client's.
            if is_service_wrapper(&name) {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    let inner = a.args.iter().find_map(|g| match g {
                        syn::GenericArgument::Type(t) => match self.kind_of_type_at(t, depth + 1) {
                            k @ (Kind::HttpClient(_) | Kind::Grpc { .. }) => Some(k),
                            _ => None,
                        },
                        _ => None,
                    });
                    if let Some(k) = inner {
                        return k;
                    }
                }
            }
            // A generated tonic client: `InventoryClient<Channel>`, also
            // imported under another name (`use api::inventory_client::
            // InventoryClient as Inner;`, beside the crate's own wrapper of
            // the generated name): the name the import resolves to decides.
            let imported = segs.last().map(String::as_str).unwrap_or(&name);
            if imported.ends_with("Client") && imported != "Client" {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    let over_channel = a.args.iter().any(|g| {
                        matches!(g, syn::GenericArgument::Type(t)
                            if super::scope::type_name(t).is_some_and(|n| n == "Channel" || n == "InterceptedService"))
                    });
                    if over_channel {
                        return Kind::Grpc {
                            url: Value::Unknown,
                        };
                    }
                }
                if is_grpc_client_ctor(&[segs.to_vec(), vec!["new".into()]].concat(), self.cx) {
                    return Kind::Grpc {
                        url: Value::Unknown,
                    };
                }
            }
        }
        if let Some(client) = is_http_client_type(&segs) {
            return Kind::HttpClient(client);
        }
        // A request being built, held in a field or parameter: its `send`
        // leaves the process (the URL was given where it was started).
        if let Some(client) = is_request_builder_type(&segs) {
            return Kind::Request {
                client,
                url: Value::Unknown,
                timeout: None,
            };
        }
        if (ends_with(&segs, &["Channel"]) || ends_with(&segs, &["Endpoint"]))
            && names_tonic(&segs, self.cx)
        {
            return Kind::Grpc {
                url: Value::Unknown,
            };
        }
        if segs.first().is_some_and(|k| k.starts_with("aws_sdk_")) {
            return Kind::Aws;
        }
        if is_kube_client_type(&segs) {
            return Kind::KubeApi;
        }
        if matches!(
            segs.last().map(String::as_str),
            Some("PgPool" | "MySqlPool" | "SqlitePool" | "AnyPool")
        ) || segs.first().is_some_and(|k| {
            k == "sqlx" || k == "tokio_postgres" || k == "deadpool_postgres" || k == "diesel_async"
        }) {
            return Kind::Database;
        }
        if segs.first().is_some_and(|k| {
            k == "redis" || k == "deadpool_redis" || k == "bb8_redis" || k == "fred"
        }) {
            return Kind::Cache;
        }
        // A type of the crate (or of a workspace dependency) that derefs to
        // a client: `impl Deref for Agent { type Target = ureq::Agent; }`.
        if let Some(k) = segs.last().and_then(|n| self.cx.index.deref_kind(n)) {
            return k.clone();
        }
        Kind::Unknown
    }

    /// `impl Deref for T { type Target = X; }` where `X` is a client: the
    /// methods of `X` are called on a `T`.
    pub fn deref_kinds(&self, file: &syn::File) -> Vec<(String, Kind)> {
        struct V<'s, 'e, 'a>(&'s NetScan<'e, 'a>, Vec<(String, Kind)>);
        impl<'x> Visit<'x> for V<'_, '_, '_> {
            fn visit_item_impl(&mut self, i: &'x syn::ItemImpl) {
                let is_deref = i
                    .trait_
                    .as_ref()
                    .and_then(|(p, _)| p.segments.last())
                    .is_some_and(|s| s.ident == "Deref");
                let Some(name) = super::scope::type_name(&i.self_ty).filter(|_| is_deref) else {
                    return;
                };
                for item in &i.items {
                    if let syn::ImplItem::Type(t) = item {
                        if t.ident == "Target" {
                            let k = self.0.kind_of_type(&t.ty);
                            if k != Kind::Unknown {
                                self.1.push((name.clone(), k));
                            }
                        }
                    }
                }
            }
        }
        let mut v = V(self, Vec::new());
        v.visit_file(file);
        v.1
    }
}

/// Whether a connector handed to a client (`Endpoint::connect_with_connector(
/// service_fn(|_| UnixStream::connect(path)))`) opens a Unix domain socket:
/// the channel then talks to a process of the same pod or host, whatever
/// placeholder URI the endpoint was built with, and never through the mesh.
/// A connector bound by a `let` first is followed to its initialiser.
pub fn connects_over_unix_socket(scan: &NetScan<'_, '_>, connector: &Expr) -> bool {
    struct V<'s, 'e, 'a> {
        scan: &'s NetScan<'e, 'a>,
        found: bool,
        follow: u32,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                let segs = self.scan.cx.uses.resolve_shared(&p.path);
                self.found |= ends_with(&segs, &["UnixStream", "connect"])
                    && matches!(
                        segs.first().map(String::as_str),
                        Some("tokio" | "std" | "async_std" | "UnixStream")
                    );
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_path(&mut self, p: &'x syn::ExprPath) {
            if self.follow == 0 {
                return;
            }
            let Some(id) = p.path.get_ident() else { return };
            if let Some(init) = self.scan.scope.binding_at(id).and_then(|b| b.init) {
                self.follow -= 1;
                self.visit_expr(init);
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        scan,
        found: false,
        follow: 2,
    };
    v.visit_expr(connector);
    v.found
}

/// kube's `Api` and `Client` (also through `kube::api::Api`, `kube_client`).
fn is_kube_client_type(segs: &[String]) -> bool {
    matches!(
        segs.first().map(String::as_str),
        Some("kube" | "kube_client")
    ) && matches!(segs.last().map(String::as_str), Some("Api" | "Client"))
}

/// `reqwest::Client`, `awc::Client`, `ureq::Agent`, hyper clients.
/// Generic tower services that pass each call on to the service they wrap:
/// tower's and tower-http's middlewares, `Either`, and any `*Service<S>`.
fn is_service_wrapper(name: &str) -> bool {
    matches!(
        name,
        "Either"
            | "Decompression"
            | "Compression"
            | "Timeout"
            | "Buffer"
            | "ConcurrencyLimit"
            | "RateLimit"
            | "Trace"
            | "FollowRedirect"
            | "SetRequestHeader"
            | "AddAuthorization"
            | "MapRequest"
            | "MapResponse"
    ) || name.ends_with("Service") && name != "Service"
}

fn is_http_client_type(segs: &[String]) -> Option<&'static str> {
    let krate = segs.first().map(String::as_str)?;
    let last = segs.last().map(String::as_str)?;
    match (krate, last) {
        ("reqwest", "Client" | "ClientBuilder") => Some("reqwest"),
        ("reqwest_middleware", "ClientWithMiddleware" | "ClientBuilder") => Some("reqwest"),
        ("awc", "Client") => Some("awc"),
        ("ureq", "Agent" | "AgentBuilder") => Some("ureq"),
        ("isahc", "HttpClient") => Some("isahc"),
        ("surf", "Client") => Some("surf"),
        // compio's HTTP client, reqwest's API on a thread-per-core runtime.
        ("cyper", "Client" | "ClientBuilder") => Some("cyper"),
        ("hyper" | "hyper_util", "Client") => Some("hyper"),
        // One connection's request handle (`http1::SendRequest`,
        // `http2::SendRequest`, h2's): its `send_request` is the call.
        ("hyper", "SendRequest") => Some("hyper"),
        ("h2", "SendRequest") => Some("h2"),
        // The Matrix client-server API client, over HTTP.
        ("ruma_client", "Client") => Some("ruma"),
        _ => is_json_rpc_provider(segs).then_some("alloy"),
    }
}

/// An Ethereum JSON-RPC provider (alloy's `RootProvider` / `FillProvider` /
/// `DynProvider`, ethers' `Provider`), also re-exported through a
/// workspace crate (`graph::prelude::alloy::providers::RootProvider`): each
/// of its RPC methods is a request to the node.
fn is_json_rpc_provider(segs: &[String]) -> bool {
    let Some(last) = segs.last() else {
        return false;
    };
    let under = |k: &str| segs.iter().any(|s| s == k);
    (under("alloy") || under("alloy_provider"))
        && matches!(
            last.as_str(),
            "RootProvider" | "FillProvider" | "DynProvider"
        )
        || (under("ethers") || under("ethers_providers")) && last == "Provider"
}

/// The methods of a JSON-RPC provider that send a request: `eth_*` calls
/// (`get_block_number`, `get_logs`, `call`, `send_raw_transaction`,
/// `estimate_gas`, `trace_filter`, `raw_request`).
fn is_json_rpc_method(m: &str) -> bool {
    m.starts_with("get_")
        || m.starts_with("send_")
        || m.starts_with("estimate_")
        || m.starts_with("trace_")
        || m.starts_with("debug_")
        || matches!(
            m,
            "call" | "raw_request" | "request" | "watch_blocks" | "subscribe_blocks"
        )
}

/// `reqwest::RequestBuilder` (also through reqwest-middleware).
fn is_request_builder_type(segs: &[String]) -> Option<&'static str> {
    match (segs.first()?.as_str(), segs.last()?.as_str()) {
        ("reqwest" | "reqwest_middleware", "RequestBuilder") if segs.len() <= 3 => Some("reqwest"),
        _ => None,
    }
}

/// `InventoryClient::connect`, `inventory_client::InventoryClient::new`: a
/// tonic-generated client. The generated module is named `<service>_client`;
/// without that, the file must use tonic.
/// Whether a type path (`Endpoint`, `tonic::transport::Channel`) names
/// tonic's type. A bare name counts when the file imports from tonic (a glob
/// or a re-export hides the path), unless the crate declares a type of that
/// name itself: a crate's own `Endpoint` describing a route it serves is
/// not a channel.
fn names_tonic(type_path: &[String], cx: &FileCtx<'_>) -> bool {
    if mentions(type_path, "tonic") {
        return true;
    }
    let crate_local = type_path
        .last()
        .is_some_and(|name| cx.index.defines_type(name));
    cx.uses.imports_from("tonic") && !crate_local
}

fn is_grpc_client_ctor(segs: &[String], cx: &FileCtx<'_>) -> bool {
    if segs.len() < 2 {
        return false;
    }
    let ty = &segs[segs.len() - 2];
    // tonic-build puts `FooClient` in a module `foo_client`: the module is
    // named after the client, not merely a name that ends in `_client` (a
    // crate `edge_http_client` exporting its own `EdgeClient` over
    // reqwest is no generated code).
    let generated_module_of =
        |m: &str| m.ends_with("_client") && m.replace('_', "").eq_ignore_ascii_case(ty);
    let generated_module = segs.len() >= 3 && generated_module_of(&segs[segs.len() - 3]);
    // A client struct the crate defines itself is its own wrapper (or, like
    // reqwest's `h3_client::H3Client`, not gRPC at all) unless it is one of
    // the crate's tonic-build output, whose clients wrap
    // `tonic::client::Grpc`: a hand-written `BillingClient` over reqwest
    // beside generated code is still HTTP.
    // The same for a workspace dependency's own client (`uv_client`'s
    // `base_client::BaseClient`, re-exported): named like generated code,
    // written by hand.
    if (cx.index.defines_type(ty) || cx.index.dep_defines_client(ty))
        && !cx.index.is_generated_client(ty)
    {
        return false;
    }
    ty.ends_with("Client")
        && ty != "Client"
        && ty.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && (generated_module
            || cx.uses.imports_from("tonic")
            || cx.uses.get(ty).is_some_and(|p| {
                p.iter()
                    .any(|s| generated_module_of(s) || s == "proto" || s == "pb")
            }))
        && matches!(
            segs[segs.len() - 1].as_str(),
            "connect" | "new" | "with_interceptor" | "with_origin"
        )
}

fn is_builder_method(m: &str) -> bool {
    m.starts_with("with_")
        || m.starts_with("set_")
        || matches!(
            m,
            "timeout"
                | "connect_timeout"
                | "read_timeout"
                | "pool_max_idle_per_host"
                | "pool_idle_timeout"
                | "user_agent"
                | "default_headers"
                | "https_only"
                | "danger_accept_invalid_certs"
                | "use_rustls_tls"
                | "http2_prior_knowledge"
                | "tcp_keepalive"
                | "tcp_nodelay"
                | "redirect"
                | "proxy"
                | "no_proxy"
                | "gzip"
                | "brotli"
                | "cookie_store"
                | "identity"
                | "add_root_certificate"
                | "tls_built_in_root_certs"
                | "middleware"
                | "with"
                | "with_init"
        )
}

/// Names too common to follow into the crate's own methods by name alone.
fn is_common_method(m: &str) -> bool {
    matches!(
        m,
        "get"
            | "set"
            | "send"
            | "call"
            | "run"
            | "new"
            | "clone"
            | "next"
            | "recv"
            | "insert"
            | "remove"
            | "push"
            | "pop"
            | "read"
            | "write"
            | "lock"
            | "load"
            | "store"
            | "update"
            | "process"
            | "handle"
            | "execute"
            | "build"
            | "start"
            | "stop"
            | "close"
            | "flush"
            | "poll"
            | "wait"
            | "apply"
            | "check"
            | "from"
            | "into"
            | "map"
            | "len"
            | "is_empty"
    ) || m.len() <= 3
}

/// Visits an expression tree and classifies each call.
struct CallFinder<'s, 'e, 'a> {
    scan: &'s NetScan<'e, 'a>,
    out: Vec<NetCall>,
    /// How many `let` hops to follow from a name to its initialiser: a
    /// future bound first and awaited under a deadline later is still the call.
    follow_lets: u32,
}

impl<'ast> Visit<'ast> for CallFinder<'_, '_, '_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if let Some(mut c) = self.scan.classify(e) {
            // Calls to localhost (the pod itself, its sidecar's admin port)
            // are not mesh traffic.
            if let Some(dest) = std::mem::take(&mut c.dest).meshable() {
                c.dest = dest;
                self.out.push(c);
            }
        }
        if let (Expr::Path(p), true) = (e, self.follow_lets > 0) {
            if let Some(id) = p.path.get_ident() {
                if let Some(init) = self.scan.scope.binding_at(id).and_then(|b| b.init) {
                    let mut inner = CallFinder {
                        scan: self.scan,
                        out: Vec::new(),
                        follow_lets: self.follow_lets - 1,
                    };
                    // A value the `let` already awaited (`let t = if .. { t }
                    // else { load().await? }`) was fetched before the code
                    // that reads it: only a future still to be awaited is
                    // the call.
                    for value in bound_values(init).into_iter().filter(|v| !awaited(v)) {
                        inner.visit_expr(value);
                    }
                    self.out.extend(inner.out);
                }
            }
        }
        syn::visit::visit_expr(self, e);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        // Work handed to `tokio::spawn(..)` runs on its own: a loop or a
        // deadline around the spawn does not re-try or bound it.
        if let Expr::Path(p) = &*c.func {
            let segs = self.scan.cx.uses.resolve_shared(&p.path);
            if is_spawn(&segs) {
                self.visit_expr(&c.func);
                return;
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        // The same through a runtime or a task set: `RUNTIME.spawn(fut)`,
        // `handle.spawn_blocking(..)`, `join_set.spawn(fut)`.
        if ident_in(&m.method, &["spawn", "spawn_local", "spawn_blocking"]) {
            self.visit_expr(&m.receiver);
            return;
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        for e in self.scan.cx.macros.exprs(mac) {
            // Macro bodies live as long as the file context, not `'ast`.
            let mut inner = CallFinder {
                scan: self.scan,
                out: Vec::new(),
                follow_lets: self.follow_lets,
            };
            inner.visit_expr(e);
            self.out.extend(inner.out);
        }
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// Whether an expression is a value already awaited: `fut.await`,
/// `fut.await?`, `fut.await.unwrap()`.
fn awaited(e: &Expr) -> bool {
    match e {
        Expr::Await(_) => true,
        Expr::Try(t) => awaited(&t.expr),
        Expr::Paren(p) => awaited(&p.expr),
        Expr::MethodCall(m) if m.args.len() <= 1 => {
            ident_in(
                &m.method,
                &["unwrap", "expect", "context", "with_context", "map_err"],
            ) && awaited(&m.receiver)
        }
        _ => false,
    }
}

/// What a `let` binds, without the work done while binding it: of
/// `let task = match addr { Some(a) => { let l = bind(a).await?; Some(spawn(..)) } .. }`
/// only the arms' values are the future awaited later; the statements before
/// them (and a `match` scrutinee, an `if` condition) already ran at the `let`.
/// `async` blocks and closures run later as a whole and stay whole.
fn bound_values(init: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    let mut todo = vec![init];
    while let Some(e) = todo.pop() {
        match e {
            Expr::Block(b) => todo.extend(block_value(&b.block)),
            Expr::Unsafe(b) => todo.extend(block_value(&b.block)),
            Expr::Paren(p) => todo.push(&p.expr),
            Expr::Group(g) => todo.push(&g.expr),
            Expr::Match(m) => todo.extend(m.arms.iter().map(|a| &*a.body)),
            Expr::If(i) => {
                todo.extend(block_value(&i.then_branch));
                todo.extend(i.else_branch.as_ref().map(|(_, e)| &**e));
            }
            // `match .. { .. }.into()`, `Some(match ..)`: the wrapper keeps
            // what the inner expression yields.
            Expr::MethodCall(m) if m.args.is_empty() && m.method == "into" => {
                todo.push(&m.receiver)
            }
            Expr::Call(c)
                if c.args.len() == 1
                    && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Some")) =>
            {
                todo.push(&c.args[0])
            }
            e => out.push(e),
        }
    }
    out
}

/// `Ok(x) => x` / `Some(x) => x`: the arm yields what it unwrapped.
fn unwraps_into_body(pat: &syn::Pat, body: &Expr) -> bool {
    let syn::Pat::TupleStruct(ts) = pat else {
        return false;
    };
    let wrapper = ts
        .path
        .segments
        .last()
        .is_some_and(|s| s.ident == "Ok" || s.ident == "Some");
    let (Some(syn::Pat::Ident(inner)), 1) = (ts.elems.first(), ts.elems.len()) else {
        return false;
    };
    let body = match body {
        Expr::Block(b) => match b.block.stmts.as_slice() {
            [syn::Stmt::Expr(e, None)] => e,
            _ => return false,
        },
        e => e,
    };
    wrapper && matches!(body, Expr::Path(p) if p.path.is_ident(&inner.ident))
}

/// What two branches build when they build the same client: itself, or,
/// for channels or requests that differ only in their URL
/// (`Channel::from_shared(tls_url)?` in one branch, `(plain_url)?` in the
/// other), that client with its URL unknown.
fn same_client(a: Kind, b: Kind) -> Option<Kind> {
    if a == b {
        return Some(a);
    }
    match (a, b) {
        (Kind::Grpc { .. }, Kind::Grpc { .. }) => Some(Kind::Grpc {
            url: Value::Unknown,
        }),
        (
            Kind::Request {
                client, timeout, ..
            },
            Kind::Request {
                client: client_b,
                timeout: timeout_b,
                ..
            },
        ) if client == client_b && timeout == timeout_b => Some(Kind::Request {
            client,
            url: Value::Unknown,
            timeout,
        }),
        _ => None,
    }
}

/// The value a block ends with.
fn block_value(b: &syn::Block) -> Option<&Expr> {
    match b.stmts.last() {
        Some(syn::Stmt::Expr(e, None)) => Some(e),
        _ => None,
    }
}

/// `tokio::spawn`, `tokio::task::spawn_local`, `std::thread::spawn`, ...:
/// the argument runs apart from the code that spawns it.
pub fn is_spawn(segs: &[String]) -> bool {
    segs.len() >= 2
        && matches!(
            segs.last().map(String::as_str),
            Some("spawn" | "spawn_local" | "spawn_blocking")
        )
        && matches!(
            segs[0].as_str(),
            "tokio" | "std" | "async_std" | "smol" | "actix_rt" | "actix_web" | "task" | "thread"
        )
}

/// What a crate function does on the network, for callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSummary {
    pub protocol: Protocol,
    pub dest: Destination,
    /// Every HTTP or gRPC call of the function's own body is a health probe
    /// (`NetCall::probe`), one at least. Not inherited through the
    /// functions it calls: one of them may probe and another serve.
    pub probe: bool,
}

/// Summarises a function's own network calls: the L7 ones first; a single
/// destination is kept only when all calls agree on it.
pub fn summarise_calls(calls: &[NetCall]) -> Option<NetSummary> {
    let pick = calls
        .iter()
        .find(|c| c.protocol.is_l7())
        .or_else(|| calls.first())?;
    let same: Vec<&NetCall> = calls
        .iter()
        .filter(|c| c.protocol == pick.protocol)
        .collect();
    let dest = if same.iter().all(|c| c.dest == pick.dest) {
        pick.dest.clone()
    } else {
        Destination::default()
    };
    let mut l7 = calls.iter().filter(|c| c.protocol.is_l7()).peekable();
    let probe = l7.peek().is_some() && l7.all(|c| c.probe);
    Some(NetSummary {
        protocol: pick.protocol,
        dest,
        probe,
    })
}

/// Where a group of calls goes: the destination of its HTTP/gRPC calls when
/// they all agree, else unknown.
pub fn l7_destination(calls: &[NetCall]) -> Destination {
    let mut l7 = calls.iter().filter(|c| c.protocol.is_l7());
    match l7.next() {
        Some(first) if l7.all(|c| c.dest == first.dest) => first.dest.clone(),
        _ => Destination::default(),
    }
}

/// The call under `.await`, `?`, parentheses and the adapters that keep a
/// `Result`'s value (`unwrap`, `expect`, `map_err`, `context`): the call
/// whose declared return a `let (a, b) = ..` destructures.
pub(crate) fn unwrapped_call(init: &Expr) -> &Expr {
    let mut e = init;
    for _ in 0..MAX_BUILDER_CHAIN {
        match e {
            Expr::Await(a) => e = &a.base,
            Expr::Try(t) => e = &t.expr,
            Expr::Paren(p) => e = &p.expr,
            Expr::MethodCall(m)
                if ident_in(
                    &m.method,
                    &["unwrap", "expect", "map_err", "context", "with_context"],
                ) =>
            {
                e = &m.receiver
            }
            _ => break,
        }
    }
    e
}

/// What a method's receiver is declared as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recv {
    /// A named type; `krate` is the first segment of a path into another
    /// crate (`http_client` of `http_client::ureq::Agent`), `None` for the
    /// crate's own types.
    Type { krate: Option<String>, name: String },
    /// `dyn Trait`, `impl Trait`, or a type parameter bound by the trait.
    Trait(String),
    /// A struct field declared in another file, by name: read from the
    /// index once every file is summarised.
    Field(String),
    /// The value a one-field enum variant holds (`ProviderConfig::OpenAi(p)`
    /// in a `match` arm binds `p` to what `OpenAi(..)` declares).
    Variant { ty: String, variant: String },
    /// What method `.1` of a receiver returns (`client.post(url)`), read
    /// from the index once every file is summarised.
    Returned(Box<Recv>, String),
}

/// Bounds that say nothing about what a value does on the network.
fn is_std_trait(name: &str) -> bool {
    matches!(
        name,
        "Send"
            | "Sync"
            | "Sized"
            | "Unpin"
            | "Clone"
            | "Copy"
            | "Debug"
            | "Display"
            | "Default"
            | "Fn"
            | "FnMut"
            | "FnOnce"
            | "Future"
            | "IntoFuture"
            | "Stream"
            | "Iterator"
            | "IntoIterator"
            | "AsRef"
            | "Into"
            | "From"
            | "Serialize"
            | "Deserialize"
            | "DeserializeOwned"
            | "Error"
            | "PartialEq"
            | "Eq"
            | "Hash"
            | "ToString"
    )
}

/// The crate a resolved type path starts in, unless it is this one.
fn foreign_root(prefix: &[String]) -> Option<String> {
    prefix
        .first()
        .filter(|k| !matches!(k.as_str(), "crate" | "self" | "super" | "Self"))
        .cloned()
}

/// The first trait of a bound list (`dyn Provider + Send` → `Provider`).
fn first_trait(
    bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>,
) -> Option<String> {
    bounds.iter().find_map(|b| match b {
        syn::TypeParamBound::Trait(t) => t.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    })
}

/// Method calls a body makes on receivers whose declared type or trait is
/// known (not `self`): how the index follows `self.inner.embed(..)` and
/// `provider.infer(..)` to the crate's impls.
pub fn typed_calls(scan: &NetScan<'_, '_>, body: &syn::Block) -> Vec<(Recv, String)> {
    typed_calls_outside(scan, body, &[])
}

/// The same, leaving out the calls made inside `skip` (byte ranges).
pub fn typed_calls_outside(
    scan: &NetScan<'_, '_>,
    body: &syn::Block,
    skip: &[std::ops::Range<usize>],
) -> Vec<(Recv, String)> {
    struct V<'s, 'e, 'a> {
        scan: &'s NetScan<'e, 'a>,
        out: Vec<(Recv, String)>,
        /// Names `match` arms bind to a variant's value, innermost last.
        arms: Vec<(String, Recv)>,
        skip: &'s [std::ops::Range<usize>],
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            let skipped = !self.skip.is_empty() && {
                let at = m.method.span().byte_start();
                self.skip.iter().any(|r| r.contains(&at))
            };
            let bound = match &*m.receiver {
                Expr::Path(p) => p.path.get_ident().and_then(|id| {
                    self.arms
                        .iter()
                        .rev()
                        .find(|(n, _)| id == n)
                        .map(|(_, r)| r.clone())
                }),
                _ => None,
            };
            if let Some(r) = bound
                .or_else(|| self.scan.receiver_decl(&m.receiver, 0))
                .filter(|_| !skipped)
            {
                self.out.push((r, m.method.to_string()));
            }
            // Work handed to a runtime or task set runs on its own, as for
            // `CallFinder`: not the caller's call.
            if ident_in(&m.method, &["spawn", "spawn_local", "spawn_blocking"]) {
                self.visit_expr(&m.receiver);
                return;
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_expr_call(&mut self, c: &'x syn::ExprCall) {
            if let Expr::Path(p) = &*c.func {
                if is_spawn(&self.scan.cx.uses.resolve_shared(&p.path)) {
                    return;
                }
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_arm(&mut self, a: &'x syn::Arm) {
            let bound = variant_binding(&a.pat, self.scan);
            let pushed = bound.is_some();
            self.arms.extend(bound);
            syn::visit::visit_arm(self, a);
            if pushed {
                self.arms.pop();
            }
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        scan,
        out: Vec::new(),
        arms: Vec::new(),
        skip,
    };
    v.visit_block(body);
    v.out.sort();
    v.out.dedup();
    v.out
}

/// `Enum::Variant(name)` (also `Self::Variant(ref name)`): the name and the
/// variant whose value it binds.
pub(crate) fn variant_binding(pat: &syn::Pat, scan: &NetScan<'_, '_>) -> Option<(String, Recv)> {
    let syn::Pat::TupleStruct(ts) = pat else {
        return None;
    };
    let [only] = &ts.elems.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let syn::Pat::Ident(id) = only else {
        return None;
    };
    let segs = scan.cx.uses.resolve_shared(&ts.path);
    let (variant, prefix) = segs.split_last()?;
    let ty = match prefix.last()?.as_str() {
        "Self" => scan.self_ty?.to_string(),
        t => t.to_string(),
    };
    Some((
        id.ident.to_string(),
        Recv::Variant {
            ty,
            variant: variant.clone(),
        },
    ))
}

/// Named fields of the file's structs: (struct, field, declared type or
/// trait, the client that type is).
pub fn struct_fields(
    scan: &NetScan<'_, '_>,
    items: &[&syn::Item],
) -> Vec<(String, String, Recv, Option<Kind>)> {
    let mut out = Vec::new();
    for item in items {
        let syn::Item::Struct(i) = item else { continue };
        for f in &i.fields {
            let Some(id) = &f.ident else { continue };
            let Some(r) = scan.recv_of_type(&f.ty, 0) else {
                continue;
            };
            let k = Some(scan.kind_of_type(&f.ty)).filter(|k| *k != Kind::Unknown);
            out.push((i.ident.to_string(), id.to_string(), r, k));
        }
    }
    out
}

/// One-field tuple variants of the file's enums and the type or trait
/// each holds: ((enum, variant), what it holds).
pub fn variant_types(
    scan: &NetScan<'_, '_>,
    items: &[&syn::Item],
) -> Vec<((String, String), Recv)> {
    let mut out = Vec::new();
    for item in items {
        let syn::Item::Enum(e) = item else { continue };
        for v in &e.variants {
            if let syn::Fields::Unnamed(f) = &v.fields {
                if let [only] = &f.unnamed.iter().collect::<Vec<_>>()[..] {
                    if let Some(r) = scan.recv_of_type(&only.ty, 0) {
                        out.push(((e.ident.to_string(), v.ident.to_string()), r));
                    }
                }
            }
        }
    }
    out
}

/// Calls a function body makes to other functions, by name, for the index's
/// transitive closure: `(name, via_self)`.
pub fn callees(body: &syn::Block, uses: &super::UseMap) -> Vec<crate::index::Callee> {
    callees_outside(body, uses, &[])
}

/// The same, leaving out the calls made inside `skip` (byte ranges).
pub fn callees_outside(
    body: &syn::Block,
    uses: &super::UseMap,
    skip: &[std::ops::Range<usize>],
) -> Vec<crate::index::Callee> {
    callees_of_sites(&super::sites::body_sites(body), uses, skip)
}

/// The same, from a body's sites (`sites::body_sites`).
pub fn callees_of_sites(
    sites: &[super::sites::Site<'_>],
    uses: &super::UseMap,
    skip: &[std::ops::Range<usize>],
) -> Vec<crate::index::Callee> {
    use super::sites::Site;
    use crate::index::Callee;
    let skipped = |span: proc_macro2::Span| {
        !skip.is_empty() && {
            let at = span.byte_start();
            skip.iter().any(|r| r.contains(&at))
        }
    };
    let mut out = Vec::new();
    for site in sites {
        match site {
            Site::Call(c) => {
                let Expr::Path(p) = &*c.func else { continue };
                if let Some(last) = p.path.segments.last().filter(|l| !skipped(l.ident.span())) {
                    let via_self = p.path.segments.first().is_some_and(|s| s.ident == "Self");
                    out.push(Callee {
                        name: last.ident.to_string(),
                        via_self,
                        path: uses.resolve(&p.path),
                    });
                }
            }
            Site::Method(m) => {
                let on_self = matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident("self"));
                let name = m.method.to_string();
                if (on_self || !is_common_method(&name)) && !skipped(m.method.span()) {
                    out.push(Callee {
                        name,
                        via_self: on_self,
                        path: Vec::new(),
                    });
                }
            }
            Site::Struct(_) => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Struct field types of a file, by field name; a name with two different
/// types is left out.
pub fn field_types<'a>(items: &[&'a syn::Item]) -> HashMap<String, &'a Type> {
    let mut seen: HashMap<String, Option<&'a Type>> = HashMap::default();
    let mut add = |f: &'a syn::Field| {
        let Some(id) = &f.ident else { return };
        let key = id.to_string();
        match seen.get(&key) {
            None => {
                seen.insert(key, Some(&f.ty));
            }
            Some(Some(prev))
                if {
                    let ty = &f.ty;
                    quote::quote!(#prev).to_string() == quote::quote!(#ty).to_string()
                } => {}
            Some(_) => {
                seen.insert(key, None);
            }
        }
    };
    // Fields are declared by structs, enum variants and unions only.
    for item in items {
        match item {
            syn::Item::Struct(s) => s.fields.iter().for_each(&mut add),
            syn::Item::Enum(e) => e
                .variants
                .iter()
                .for_each(|v| v.fields.iter().for_each(&mut add)),
            syn::Item::Union(u) => u.fields.named.iter().for_each(&mut add),
            _ => {}
        }
    }
    seen.into_iter()
        .filter_map(|(k, t)| t.map(|t| (k, t)))
        .collect()
}

#[cfg(test)]
mod chain_memo_tests {
    use super::*;
    use crate::index::CrateIndex;

    /// Every method call of a chain, each asked through one `NetScan` from
    /// the outermost in (as `CallFinder` does, so inner answers come from
    /// the memo) and through a fresh one: the same kind and receiver.
    /// Chains longer than the depth budget included, where answers found
    /// at the budget's edge must not be reused at shallower depths.
    #[test]
    fn memoised_answers_match_fresh_ones() {
        let long: String = (0..30)
            .map(|i| format!(".header(\"h{i}\", \"v\")"))
            .collect();
        let src = format!(
            "use reqwest::Client;\n\
             struct S {{ http: Client }}\n\
             impl S {{\n\
               async fn a(&self, c: Client) {{\n\
                 let r = c.get(\"http://inventory/items\").timeout(Duration::from_secs(2));\n\
                 r.header(\"a\", \"b\").bearer_auth(\"t\").send().await.unwrap().json().await;\n\
                 self.http.post(\"http://billing/charge\"){long}.send().await;\n\
                 Client::builder().build().unwrap().get(\"http://x\").query(&q).send().await;\n\
               }}\n\
             }}\n"
        );
        let file: syn::File = syn::parse_str(&src).expect("parses");
        let parts = crate::analysis::FileParts::new(&file, &src);
        let index = CrateIndex::default();
        let cx = FileCtx::new(&parts, "", &index);
        let f = &crate::analysis::scope::functions(&file)[0];
        let scope = FnScope::new(Some(f.sig), f.body);
        struct Calls<'x>(Vec<&'x Expr>);
        impl<'x> Visit<'x> for Calls<'x> {
            fn visit_expr(&mut self, e: &'x Expr) {
                if let Expr::MethodCall(m) = e {
                    self.0.push(&m.receiver);
                }
                syn::visit::visit_expr(self, e);
            }
        }
        let mut calls = Calls(Vec::new());
        calls.visit_block(f.body);
        assert!(calls.0.len() > 40, "{}", calls.0.len());
        let shared = NetScan::new(&cx, &scope, Some("S"));
        let mut requests = 0;
        for depth in [0, 3] {
            for e in &calls.0 {
                let fresh = NetScan::new(&cx, &scope, Some("S"));
                let k = shared.kind_of(e, depth);
                assert_eq!(k, fresh.kind_of(e, depth));
                assert_eq!(
                    shared.receiver_decl(e, depth),
                    fresh.receiver_decl(e, depth)
                );
                requests += usize::from(matches!(k, Kind::Request { .. }));
            }
        }
        assert!(requests > 10, "{requests}");
    }
}

#[cfg(test)]
mod reach_tests {
    use super::*;

    #[test]
    fn in_mesh_and_external_hosts() {
        for h in [
            "inventory",
            "inventory.shop",
            "inventory.shop.svc",
            "inventory.shop.svc.cluster.local",
            "10.0.0.7",
            "metasrv.internal",
        ] {
            assert_eq!(reach(h), Reach::InMesh, "{h}");
        }
        for h in [
            "api.stripe.com",
            "storage.googleapis.com",
            "s3.us-east-1.amazonaws.com",
            "hooks.slack.com",
            "8.8.8.8",
        ] {
            assert_eq!(reach(h), Reach::External, "{h}");
        }
    }
}
