//! Facts that cross files. A first pass turns each parsed file into a small
//! `FileSummary` (no syntax, no spans); `CrateIndex` joins the summaries of
//! one package so that rules can resolve a `const` defined in another module
//! or a helper function that makes the network call.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeMap;
use std::path::PathBuf;

use syn::visit::Visit;

use crate::analysis::net::{
    callees, struct_fields, summarise_calls, typed_calls, variant_types, Destination, Kind,
    NetScan, NetSummary, Protocol, Recv,
};
use crate::analysis::scope::ok_type_name;
use crate::analysis::sites::Site;
use crate::analysis::{self, Evaluator, FileCtx, FnScope, Value};

/// Crates that parse a command line or prompt a person at a terminal.
const CLI_CRATES: &[&str] = &[
    "clap",
    "structopt",
    "argh",
    "pico_args",
    "lexopt",
    "gumdrop",
    "bpaf",
    "dialoguer",
    "inquire",
    "requestty",
    "cliclack",
    "rustyline",
];

/// What one file contributes to its crate's index.
#[derive(Debug, Default, Clone)]
pub struct FileSummary {
    /// Only `mod_decls` was read (see [`FileSummary::modules_only`]).
    pub modules_only: bool,
    /// The prefilter's words the file's text holds, when the engine read
    /// them while the text was at hand (see `prefilter::Words`).
    pub prefilter_words: Option<crate::prefilter::Words>,
    /// The file holds a `loop`, `while` or `for` (also as tokens of a macro
    /// call, and a `macro_rules!` that may expand to one): what a retry
    /// loop needs before the prefilter keeps a networking file for it.
    pub has_loop: bool,
    /// Foldable `const`/`static` values by name.
    pub consts: Vec<(String, Value)>,
    /// Files and folders that `#[cfg(test)] mod x;` pulls in (absolute).
    pub test_module_paths: Vec<PathBuf>,
    /// Out-of-line `mod x;` declarations: how the module tree reaches files.
    pub mod_decls: Vec<crate::modtree::ModDecl>,
    /// Line of the first place this file starts a server (a bind or serve
    /// call that is not a free-port probe, on an address other than a fixed
    /// loopback one).
    pub serves_at: Option<u32>,
    /// Functions whose own body starts such a server, as their path within
    /// the file (inline modules, the `impl` type, the name): a workspace
    /// library's `listen(addr)` wrapper makes the programs that call it
    /// services.
    pub serving_fns: Vec<Vec<String>>,
    /// Parses command-line arguments (clap and its peers) or prompts a
    /// person at a terminal: a tool run by people, unless it also serves or
    /// is deployed.
    pub uses_clap: bool,
    /// Production code runs `cargo` (`Command::new("cargo")`,
    /// `Command::new(env!("CARGO"))`): it needs a Rust toolchain, which a
    /// deployed image does not ship, so the program is a developer's
    /// harness (a local network of the workspace's own binaries).
    pub runs_cargo: bool,
    /// The file's module path in its crate (set once the module tree is
    /// known; guessed from the folder layout in path mode).
    pub module: Vec<String>,
    /// Prefixes of glob imports (`use super::*;`), per inline module.
    pub globs: Vec<(Vec<String>, Vec<String>)>,
    /// `pub use` items: (inline module path and local name, the path it names).
    pub reexports: Vec<(Vec<String>, Vec<String>)>,
    /// The first two segments of the paths and imports the file writes
    /// (`my_http::reqwest` of `my_http::reqwest::Client`; `my_http::*` for a
    /// glob import): whether another crate's re-exports can change how it
    /// reads.
    pub path_roots: Vec<String>,
    /// Functions and methods defined here, by name.
    pub functions: Vec<FnSummary>,
    /// Struct fields whose declared type is a known network client.
    pub client_fields: Vec<(String, Kind)>,
    /// Values struct literals give fields (`AppState { base: "http://x".into() }`);
    /// `None` where a literal gives one the code does not fold.
    pub field_values: Vec<(String, String, Option<Value>)>,
    /// The same, of the `Self { .. }` literals an associated function
    /// without parameters returns (`impl Default for Policy { fn default()
    /// -> Self { Self { max_retries: 3, .. } } }`), keyed `Policy::default`:
    /// what a call `Policy::default()` holds.
    pub ctor_field_values: Vec<(String, String, Option<Value>)>,
    /// Struct fields declared here: (type, field).
    pub struct_fields: Vec<(String, String)>,
    /// Names of structs and enums defined here.
    pub types: Vec<String>,
    /// Holds tonic-build output: a struct with a `tonic::client::Grpc<_>` field.
    pub tonic_codegen: bool,
    /// The structs of that output: generated gRPC clients (`LedgerClient`).
    pub generated_clients: Vec<String>,
    /// The crate's own copies of tower's `TimeoutLayer` defined here.
    pub timeout_layers: Vec<String>,
    /// Types of this file that are the crate's own copy of tower's
    /// `RetryLayer` (see `tower_layer_copies`).
    pub retry_layers: Vec<String>,
    /// gRPC clients that struct literals store in fields, with their URL.
    pub endpoint_fields: Vec<(String, Kind)>,
    /// Types whose methods a function calls, paired with the one host the
    /// function's own network calls go to: what a breaker type guards.
    pub guarded_hosts: Vec<(String, String)>,
    /// The file, relative to the audit root (set by the engine): where the
    /// defaults below are written.
    pub rel_path: String,
    /// Line of each field value and `const` above, by `field:NAME` /
    /// `const:NAME`: where a configuration default comes from.
    pub value_lines: Vec<(String, u32)>,
    /// Closures and async blocks passed to functions (`with_retry(|| ..)`):
    /// the callee's name, the closure's own network calls, and the crate
    /// functions it calls (resolved once the index is whole).
    pub closure_args: Vec<ClosureArg>,
    /// Route paths the file registers (`.route("/healthz", ..)`,
    /// `#[get("/health")]`), for the health rules.
    pub route_paths: Vec<String>,
    /// Registers tonic-health's gRPC health service.
    pub grpc_health: bool,
    /// Serves a protocol whose TLS no sidecar can terminate
    /// (`analysis::tls::file_own_protocol_tls`).
    pub own_protocol_tls: Option<&'static str>,
    /// Holds a `fn main`: the crate is a program, not only a library.
    pub has_main: bool,
    /// `static`s (in bodies too) whose declared type is a network client
    /// (`static CLIENT: LazyLock<reqwest::Client>`), by name.
    pub static_kinds: Vec<(String, Kind)>,
    /// Durations the file's calls pass: (callee name, argument count,
    /// argument position, nanoseconds).
    pub duration_args: Vec<(String, usize, usize, u128)>,
    /// Addresses the file's calls of `Type::f(..)` pass: (`Type::f`,
    /// argument count, argument position, value), for fields a
    /// constructor stores its parameter in.
    pub address_args: Vec<(String, usize, usize, Value)>,
    /// Fields struct literals fill with a parameter of their function
    /// (`Self { base_url: base_url.into() }` in `Client::new(base_url)`):
    /// (type, field, `Type::f`, argument count, parameter position).
    pub field_params: Vec<(String, String, String, usize, usize)>,
    /// Builder-style setters of the file's types: (type, method, field)
    /// for `fn timeout(mut self, t: ..) -> Self { self.timeout = t; self }`.
    pub setters: Vec<(String, String, String)>,
    /// Fields a client builder's deadline is read from (`if let Some(d) =
    /// self.config().timeout { endpoint = endpoint.timeout(d) }`): (owner
    /// type, the owner's method that returns the struct holding the field
    /// when the field is read from its result, field, deadline key).
    pub deadline_fields: Vec<(String, Option<String>, String, String)>,
    /// Types that deref to a network client (`impl Deref for Agent {
    /// type Target = ureq::Agent; }`), by name.
    pub deref_kinds: Vec<(String, Kind)>,
    /// Struct fields whose declared type is a named type or a trait object
    /// (`inner: ProviderConfig`, `provider: Arc<dyn Provider>`), by name.
    pub field_recvs: Vec<(String, Recv)>,
    /// The file's type aliases that name a type or a trait object (`type
    /// BoxDb = Box<dyn Database>`), by name.
    pub alias_recvs: Vec<(String, Recv)>,
    /// What one-field enum variants hold: ((enum, variant), type or trait).
    pub variant_recvs: Vec<((String, String), Recv)>,
    /// The same, as the path of the held type the file's imports expand
    /// (`crate::export::ExportArgs`), read from the file's module: which
    /// of several types of one name a variant holds.
    pub variant_paths: Vec<((String, String), Box<str>)>,
    /// Named struct fields: (struct, field, declared type, its client).
    pub struct_field_types: Vec<(String, String, Recv, Option<Kind>)>,
    /// Enums that clap derives a command line from (`#[derive(Parser)]` or
    /// `#[derive(Subcommand)]` on an enum): their variants are subcommands.
    pub subcommand_enums: Vec<String>,
    /// Lines where the file starts a server (as `serves_at`, every one).
    pub serve_lines: Vec<u32>,
    /// What items outside function bodies name (see
    /// [`analysis::mentions::item_mentions`]).
    pub item_mentions: Vec<analysis::mentions::Mention>,
}

/// A call a function makes: a path (resolved through the file's `use`s;
/// empty for method calls) or a method name.
#[derive(Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Callee {
    pub name: String,
    /// `Self::f(..)` or `self.f(..)`.
    pub via_self: bool,
    /// The called path as the file's imports expand it (`crate::retry::f`,
    /// `super::f`, `common::retry::with_backoff`, `f`); empty for methods.
    pub path: Vec<String>,
}

/// A closure handed to a function of the crate.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ClosureArg {
    /// The function it is passed to.
    pub callee: Callee,
    /// Module of the calling function (the file's module is prefixed when
    /// the index is built).
    pub module: Vec<String>,
    pub net: Option<NetSummary>,
    pub callees: Vec<Callee>,
}

impl Callee {
    /// The call a written path names (`helper`, `crate::net::fetch`,
    /// `Self::fetch`); `None` for an empty path.
    fn of_path(path: &[String]) -> Option<Callee> {
        Some(Callee {
            name: path.last()?.clone(),
            via_self: path.first().is_some_and(|s| s == "Self"),
            path: path.to_vec(),
        })
    }
}

/// The calls a function makes outside its poll loops.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OutsideCalls {
    pub callees: Vec<Callee>,
    pub typed_calls: Vec<(Recv, String)>,
}

/// A function's own calls as a poll sees them: the HTTP or gRPC calls it
/// makes inside and outside its poll loops, and the calls outside them.
fn wait_facts(
    scan: &NetScan<'_, '_>,
    body: &syn::Block,
    own: &[analysis::net::NetCall],
) -> WaitFacts {
    let has_loop = {
        struct L(bool);
        impl<'a> Visit<'a> for L {
            fn visit_expr(&mut self, e: &'a syn::Expr) {
                if matches!(
                    e,
                    syn::Expr::Loop(_) | syn::Expr::While(_) | syn::Expr::ForLoop(_)
                ) {
                    self.0 = true;
                }
                if !self.0 {
                    syn::visit::visit_expr(self, e);
                }
            }
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut l = L(false);
        l.visit_block(body);
        l.0
    };
    let ranges = if has_loop {
        analysis::retry::poll_loop_ranges(body)
    } else {
        Vec::new()
    };
    let inside = |c: &&analysis::net::NetCall| {
        let at = c.range.byte_start as usize;
        ranges.iter().any(|r| r.contains(&at))
    };
    let l7 = || own.iter().filter(|c| c.protocol.is_l7());
    WaitFacts {
        calls_outside: l7().any(|c| !inside(&c)),
        calls_inside: l7().any(|c| inside(&c)),
        outside: (!ranges.is_empty()).then(|| {
            Box::new(OutsideCalls {
                callees: analysis::net::callees_outside(body, &scan.cx.uses, &ranges),
                typed_calls: analysis::net::typed_calls_outside(scan, body, &ranges),
            })
        }),
        waits: false,
    }
}

/// Methods followed down a request chain to the client it was built on.
const MAX_RETURNED_CHAIN: usize = 16;

/// What a function does that callers inherit.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FnSummary {
    pub name: String,
    pub self_ty: Option<String>,
    /// The trait its `impl` block implements (`impl Provider for OpenAi`).
    pub trait_name: Option<String>,
    /// The trait whose default body it is (`trait Store { async fn
    /// delete_all(&self) { self.delete(..) } }`): types that implement the
    /// trait without overriding it run this body.
    pub default_of: Option<String>,
    /// Inline modules around it within its file.
    pub module: Vec<String>,
    /// Values a caller may read, e.g. a helper returning a URL (`fn base() -> String`).
    pub returns: Option<Value>,
    /// The network calls the body makes itself.
    pub net: Option<NetSummary>,
    /// What it calls.
    pub callees: Vec<Callee>,
    /// Takes a closure or function (`F: Fn() -> Fut`): a generic helper
    /// whose callers say what it calls.
    pub takes_fn: bool,
    /// Defined in another workspace crate, imported under its extern name.
    pub foreign: bool,
    /// The network client its declared return type is (`fn http() ->
    /// reqwest::Client`, `fn channel(&self) -> &Channel`).
    pub returns_kind: Option<Kind>,
    /// That client is returned as its builder (`-> ClientBuilder`): the
    /// caller goes on configuring it.
    pub returns_builder: bool,
    /// The named type it returns (`Self` read as the impl's type): how a
    /// builder chain (`retry(..).limit(3).run(op)`) is followed.
    pub ret_ty: Option<String>,
    /// Parameter names, without `self`.
    pub params: Vec<String>,
    /// The callables it retries or hands on; once the index is whole,
    /// `retried` also holds those it hands to a retry helper of the crate.
    pub helper: analysis::retry::HelperFacts,
    /// Methods it calls on receivers of a declared type or trait.
    pub typed_calls: Vec<(Recv, String)>,
    /// Methods it calls on a `let` a constructor path fills (`let s =
    /// grpc::Hub::new(..); s.start(..)`): the path and the method
    /// (`packages` reads them for servers started through another member).
    pub ctor_calls: Vec<(Vec<String>, String)>,
    /// Test code (`#[test]`, in a `#[cfg(test)]` module): runs in no pod.
    pub test: bool,
    /// Lines of the function, from its signature to its closing brace.
    pub lines: (u32, u32),
    /// What the body names outside dispatch `match`es (empty for test code).
    pub mentions: Vec<analysis::mentions::Mention>,
    /// The arms of its dispatch `match`es and what each names.
    pub dispatch_arms: Vec<analysis::mentions::DispatchArm>,
    /// Whether it only waits or polls (see `WaitFacts`).
    pub wait: WaitFacts,
    /// The routes of the router a free function builds from none of its
    /// parameters, or a handler's attribute route (`#[get("/metrics")]`):
    /// what a server of another file that mounts it serves.
    pub routes: Option<Vec<String>>,
    /// It reads certificates from PEM or DER itself (`rustls_pemfile::certs`,
    /// `Certificate::from_pem`): a CA loader whose roots are private.
    pub reads_certs: bool,
}

/// What says whether a function only waits: every HTTP or gRPC call it
/// reaches is made in a loop that goes round after a success (a poll until
/// a condition, `analysis::retry::poll_loop_ranges`), directly or through
/// a function that itself only waits. A deadline on such a call bounds a
/// wait of many requests, which no per-request mesh timeout replaces.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WaitFacts {
    /// It makes an HTTP or gRPC call itself outside its poll loops.
    pub calls_outside: bool,
    /// It makes such a call itself inside one.
    pub calls_inside: bool,
    /// For a function with poll loops: the calls it makes outside them
    /// (its functions called, its methods called on typed receivers);
    /// `None` when it has none, and every call is outside.
    pub outside: Option<Box<OutsideCalls>>,
    /// Found by the index (`CrateIndex::close_waits`): it only waits.
    pub waits: bool,
}

impl FileSummary {
    /// The summary of a test-only file as production code may read it: its
    /// functions and types, but none of the values it assigns (consts,
    /// struct literals, call arguments, closures passed, clients stored).
    pub fn without_values(self) -> FileSummary {
        FileSummary {
            consts: Vec::new(),
            field_values: Vec::new(),
            ctor_field_values: Vec::new(),
            value_lines: Vec::new(),
            duration_args: Vec::new(),
            address_args: Vec::new(),
            field_params: Vec::new(),
            closure_args: Vec::new(),
            endpoint_fields: Vec::new(),
            static_kinds: Vec::new(),
            guarded_hosts: Vec::new(),
            own_protocol_tls: None,
            ..self
        }
    }

    /// What the module tree needs of a file whose code no finding and no
    /// production value comes from (a test, bench or example target's file,
    /// a build script, when tests are not audited): its out-of-line `mod`
    /// declarations, which say which other files are test code. Such a file
    /// is parsed only when it holds the word `mod`; it adds nothing else to
    /// the crate index (a mock `impl` in `tests/` does not make a trait
    /// networking, a `/healthz` route there does not give the service one).
    pub fn modules_only(
        text: &str,
        abs_path: &std::path::Path,
    ) -> Result<FileSummary, (Option<(u32, u32)>, String)> {
        let mod_decls = if crate::source::has_word(text, "mod") {
            crate::modtree::mod_decls(&crate::engine::parse(text)?, abs_path, Some(text))
        } else {
            Vec::new()
        };
        Ok(FileSummary {
            modules_only: true,
            mod_decls,
            ..FileSummary::default()
        })
    }

    /// Summarises a parsed file. `abs_path` locates out-of-line modules.
    pub fn build(file: &syn::File, abs_path: &std::path::Path, text: &str) -> FileSummary {
        Self::build_with_reexports(file, abs_path, text, Vec::new())
    }

    /// The same, reading paths through the re-exports of the workspace
    /// crates the file's crate depends on (`my_http::reqwest::Client`).
    pub fn build_with_reexports(
        file: &syn::File,
        abs_path: &std::path::Path,
        text: &str,
        reexports: Vec<(Vec<String>, Vec<String>)>,
    ) -> FileSummary {
        Self::build_full(file, abs_path, text, reexports, true)
    }

    /// The same; without `mentions` the summary leaves out what function
    /// bodies and items name (`FnSummary::mentions`, `dispatch_arms`,
    /// `item_mentions`), which only the tool-code decision of a Cargo
    /// workspace reads.
    pub fn build_full(
        file: &syn::File,
        abs_path: &std::path::Path,
        text: &str,
        reexports: Vec<(Vec<String>, Vec<String>)>,
        mentions: bool,
    ) -> FileSummary {
        let parts = analysis::FileParts::new(file, text);
        Self::build_from(&parts, abs_path, reexports, mentions)
    }

    /// [`FileSummary::build_full`] from the parts of a file already built
    /// (those of a tree held for pass 2).
    pub fn build_from(
        parts: &analysis::FileParts<'_>,
        abs_path: &std::path::Path,
        reexports: Vec<(Vec<String>, Vec<String>)>,
        mentions: bool,
    ) -> FileSummary {
        let wants_mentions = mentions;
        let file = parts.file;
        let lines = &parts.lines;
        let text = lines.text();
        let _spans = crate::source::SpanText::enter(lines);
        let empty = CrateIndex {
            foreign_reexports: reexports,
            ..CrateIndex::default()
        };
        let cx = FileCtx::new(parts, "", &empty);
        let mut consts = Vec::new();
        // Each name with the line it is declared on.
        let mut walk = FileWalk::default();
        walk.visit_file(file);
        let mut names = std::mem::take(&mut walk.names);
        names.sort_by(|a, b| a.0.cmp(&b.0));
        names.dedup_by(|a, b| a.0 == b.0);
        let empty_scope = FnScope::empty();
        let ev = Evaluator::new(&cx, &empty_scope);
        let mut value_lines: Vec<(String, u32)> = Vec::new();
        for (name, span) in names {
            if let Some(e) = cx.const_expr(&name) {
                let v = ev.eval(e);
                if !v.is_unknown() {
                    value_lines.push((format!("const:{name}"), lines.span_range(span).line));
                    consts.push((name, v));
                }
            }
        }
        // Test code never feeds a production value.
        let test_regions = cx.test_regions();
        let in_test = |at: usize| test_regions.iter().any(|r| r.contains(&at));
        let mut field_values = Vec::new();
        for (ty, name, v, line) in analysis::config::field_defaults(&cx) {
            value_lines.push((format!("field:{name}"), line));
            value_lines.push((format!("field:{ty}.{name}"), line));
            field_values.push((ty, name, Some(v)));
        }
        let mut endpoint_fields = Vec::new();
        let mut closure_args = Vec::new();
        let mut guarded_hosts = Vec::new();
        let mut duration_args = Vec::new();
        let mut address_args = Vec::new();
        let mut field_params = Vec::new();
        let mut ctor_field_values = Vec::new();
        let mut setters = Vec::new();
        let mut deadline_fields = Vec::new();
        let mut runs_cargo = false;
        let (route_paths, fn_routes) = analysis::lifecycle::file_routes(&cx);
        let functions = cx
            .functions()
            .iter()
            .zip(cx.fn_scopes())
            .zip(fn_routes)
            .map(|((f, scope), routes)| {
                // Test code: no values from it, no mentions.
                let test = analysis::testcode::is_test_item(f.attrs)
                    || in_test(f.body.brace_token.span.open().byte_start());
                let ev = Evaluator::new(&cx, scope);
                let scan = NetScan::new(&cx, scope, f.self_ty.as_deref());
                // What struct literals put in fields: plain values, and gRPC
                // clients whose endpoint URL the constructor spells out
                // (`Self { pricing: PricingClient::new(channel) }`).
                struct Literals<'v, 'e, 'a> {
                    ev: &'v Evaluator<'e, 'a>,
                    scan: &'v NetScan<'e, 'a>,
                    self_ty: Option<&'v str>,
                    out: &'v mut Vec<(String, String, Option<Value>)>,
                    lines: &'v mut Vec<(String, u32)>,
                    endpoints: &'v mut Vec<(String, Kind)>,
                    /// `Type::f`, the function's parameters (receiver left
                    /// out) and where fields filled from them go.
                    ctor: Option<(String, Vec<String>)>,
                    params_out: &'v mut Vec<(String, String, String, usize, usize)>,
                    /// `Type::f` when `f` takes no parameters: its `Self`
                    /// literals' values go to `ctor_out` too.
                    bare_ctor: Option<String>,
                    ctor_out: &'v mut Vec<(String, String, Option<Value>)>,
                }
                impl Literals<'_, '_, '_> {
                    fn literal(&mut self, s: &syn::ExprStruct) {
                        // The literal's type: `Self { .. }` in an impl, else
                        // the path's last segment.
                        let ty = match s.path.segments.last() {
                            Some(seg) if seg.ident == "Self" => self.self_ty.map(str::to_string),
                            Some(seg) => Some(seg.ident.to_string()),
                            None => None,
                        }
                        .unwrap_or_default();
                        for field in &s.fields {
                            if let syn::Member::Named(id) = &field.member {
                                let v = self.ev.eval(&field.expr);
                                let param = self.ctor.as_ref().filter(|_| v.is_unknown()).and_then(
                                    |(ctor, params)| {
                                        let name = param_name(&field.expr)?;
                                        let pos = params.iter().position(|p| *p == name)?;
                                        Some((ctor.clone(), params.len(), pos))
                                    },
                                );
                                if let Some((ctor, arity, pos)) = param {
                                    self.lines.push((
                                        format!("field:{id}"),
                                        self.ev.cx.range(id.span()).line,
                                    ));
                                    self.params_out.push((
                                        ty.clone(),
                                        id.to_string(),
                                        ctor,
                                        arity,
                                        pos,
                                    ));
                                    continue;
                                }
                                let line = self.ev.cx.range(id.span()).line;
                                self.lines.push((format!("field:{id}"), line));
                                self.lines.push((format!("field:{ty}.{id}"), line));
                                if let Some(ctor) = &self.bare_ctor {
                                    if self.self_ty == Some(ty.as_str()) {
                                        self.ctor_out.push((
                                            ctor.clone(),
                                            id.to_string(),
                                            (!v.is_unknown()).then_some(v.clone()),
                                        ));
                                    }
                                }
                                self.out.push((
                                    ty.clone(),
                                    id.to_string(),
                                    (!v.is_unknown()).then_some(v),
                                ));
                                let k = self.scan.kind_of(&field.expr, 0);
                                if matches!(&k, Kind::Grpc { url } if !url.is_unknown()) {
                                    self.endpoints.push((id.to_string(), k));
                                }
                            }
                        }
                    }
                }
                let sites = analysis::sites::body_sites(f.body);
                if !test {
                    let mut literals = Literals {
                        ev: &ev,
                        scan: &scan,
                        self_ty: f.self_ty.as_deref(),
                        out: &mut field_values,
                        lines: &mut value_lines,
                        endpoints: &mut endpoint_fields,
                        ctor: f
                            .self_ty
                            .as_ref()
                            .map(|ty| (format!("{ty}::{}", f.name), plain_params(f.sig))),
                        params_out: &mut field_params,
                        bare_ctor: f
                            .self_ty
                            .as_ref()
                            .filter(|_| f.sig.inputs.is_empty())
                            .map(|ty| format!("{ty}::{}", f.name)),
                        ctor_out: &mut ctor_field_values,
                    };
                    for site in &sites {
                        if let Site::Struct(s) = site {
                            literals.literal(s);
                        }
                    }
                }
                let returns = match f.body.stmts.last() {
                    Some(syn::Stmt::Expr(e, None)) if f.body.stmts.len() <= 3 => {
                        Some(ev.eval(e)).filter(|v| !v.is_unknown())
                    }
                    _ => None,
                };
                let own_calls = scan.calls_in_block(f.body);
                let net = summarise_calls(&own_calls);
                let wait = wait_facts(&scan, f.body, &own_calls);
                if let Some(host) = net
                    .as_ref()
                    .filter(|n| n.protocol.is_l7())
                    .and_then(|n| n.dest.host.clone())
                {
                    for ty in receiver_types(&cx, scope, f.body) {
                        guarded_hosts.push((ty, host.clone()));
                    }
                }
                Args {
                    scan: &scan,
                    module: &f.module,
                    out: &mut closure_args,
                }
                .sites(&sites);
                if !test {
                    runs_cargo |= sites.iter().any(|s| spawns_cargo(s, &cx.uses));
                    duration_args.extend(call_durations(&ev, &sites));
                    address_args.extend(call_addresses(&ev, &sites));
                    if let Some(ty) = &f.self_ty {
                        if let Some(field) = setter_field(f.sig, f.body) {
                            setters.push((ty.clone(), f.name.clone(), field));
                        }
                    }
                    deadline_fields.extend(builder_deadline_fields(
                        &scan,
                        scope,
                        f.body,
                        f.self_ty.as_deref(),
                    ));
                }
                let returns_kind = match &f.sig.output {
                    syn::ReturnType::Type(_, ty) => {
                        Some(scan.kind_of_type(ty)).filter(|k| *k != Kind::Unknown)
                    }
                    syn::ReturnType::Default => None,
                };
                let returns_builder = returns_kind.is_some()
                    && match &f.sig.output {
                        syn::ReturnType::Type(_, ty) => {
                            ok_type_name(ty).is_some_and(|n| n.ends_with("Builder"))
                        }
                        syn::ReturnType::Default => false,
                    };
                let ret_ty = match &f.sig.output {
                    syn::ReturnType::Type(_, ty) => {
                        ok_type_name(ty).map(|t| match (t.as_str(), &f.self_ty) {
                            ("Self", Some(me)) => me.clone(),
                            _ => t,
                        })
                    }
                    syn::ReturnType::Default => None,
                };
                let typed_calls = typed_calls(&scan, f.body);
                let span_lines = |span: proc_macro2::Span| {
                    let r = lines.span_range(span);
                    (r.line, r.end_line)
                };
                let (mentions, dispatch_arms) = if test || !wants_mentions {
                    Default::default()
                } else {
                    let recv = analysis::mentions::Receivers {
                        scan: &scan,
                        self_is_impl: f.default_of.is_none() && f.self_ty.is_some(),
                    };
                    analysis::mentions::mentions(f.body, &cx.uses, &span_lines, Some(&recv))
                };
                let callees = analysis::net::callees_of_sites(&sites, &cx.uses, &[]);
                let fn_lines = (
                    lines.span_range(f.sig.fn_token.span).line,
                    lines.span_range(f.body.brace_token.span.close()).line,
                );
                FnSummary {
                    test,
                    lines: fn_lines,
                    mentions,
                    dispatch_arms,
                    returns_kind,
                    returns_builder,
                    name: f.name.clone(),
                    self_ty: f.self_ty.clone(),
                    trait_name: f.trait_name.clone(),
                    default_of: f.default_of.clone(),
                    module: f.module.clone(),
                    returns,
                    net,
                    reads_certs: callees.iter().any(|c| analysis::tls::reads_pem(&c.path)),
                    callees,
                    takes_fn: takes_fn(f.sig),
                    foreign: false,
                    ret_ty,
                    params: analysis::retry::fn_params(f.sig),
                    helper: analysis::retry::helper_facts(&cx, f.sig, f.body),
                    typed_calls,
                    ctor_calls: if test {
                        Vec::new()
                    } else {
                        analysis::sites::ctor_bound_calls(
                            &sites, f.body, scope, &cx.uses, cx.macros,
                        )
                    },
                    wait,
                    routes: routes.filter(|_| !test),
                }
            })
            .collect();
        let empty_scope = FnScope::empty();
        // What `const` and `static` struct literals put in fields
        // (`const UPLOAD: Policy = Policy { max_retries: 4, .. }`): the
        // policy a helper is handed is often one.
        {
            let ev = Evaluator::new(&cx, &empty_scope);
            for (_, init) in cx.const_items() {
                let syn::Expr::Struct(lit) = init else {
                    continue;
                };
                if in_test(lit.brace_token.span.open().byte_start()) {
                    continue;
                }
                let Some(ty) = lit.path.segments.last().map(|s| s.ident.to_string()) else {
                    continue;
                };
                for field in &lit.fields {
                    if let syn::Member::Named(id) = &field.member {
                        let v = ev.eval(&field.expr);
                        let line = cx.range(id.span()).line;
                        value_lines.push((format!("field:{id}"), line));
                        value_lines.push((format!("field:{ty}.{id}"), line));
                        field_values.push((
                            ty.clone(),
                            id.to_string(),
                            (!v.is_unknown()).then_some(v),
                        ));
                    }
                }
            }
        }
        let scan = NetScan::new(&cx, &empty_scope, None);
        let field_types = cx.field_types();
        let mut client_fields: Vec<(String, Kind)> = field_types
            .iter()
            .map(|(name, ty)| (name.clone(), scan.kind_of_type(ty)))
            .filter(|(_, k)| *k != Kind::Unknown)
            .collect();
        client_fields.sort_by(|a, b| a.0.cmp(&b.0));
        let deref_kinds = scan.deref_kinds(file);
        let mut field_recvs: Vec<(String, Recv)> = field_types
            .iter()
            .filter_map(|(name, ty)| Some((name.clone(), scan.recv_of_type(ty, 0)?)))
            .collect();
        field_recvs.sort();
        let alias_recvs: Vec<(String, Recv)> = cx
            .items()
            .iter()
            .filter_map(|i| match i {
                syn::Item::Type(t) if t.generics.params.is_empty() => {
                    Some((t.ident.to_string(), scan.recv_of_type(&t.ty, 0)?))
                }
                _ => None,
            })
            .collect();
        let variant_recvs = variant_types(&scan, cx.items());
        let variant_paths = analysis::mentions::variant_paths(file, &cx.uses);
        let struct_field_types = struct_fields(&scan, cx.items());
        let static_kinds: Vec<(String, Kind)> = walk
            .statics
            .iter()
            .filter_map(|i| {
                let k = scan.kind_of_type(&i.ty);
                (k != Kind::Unknown).then(|| (i.ident.to_string(), k))
            })
            .collect();
        let generated_clients = std::mem::take(&mut walk.grpc_wrappers);
        let tonic_codegen = !generated_clients.is_empty();
        let (timeout_layers, retry_layers) = tower_layer_copies(cx.items(), &cx.uses);
        let types = std::mem::take(&mut walk.types);
        guarded_hosts.sort();
        guarded_hosts.dedup();
        // A listener on a fixed loopback address (a CLI's login callback, a
        // local tunnel) serves only its own machine: it does not make the
        // program a service. Neither does a mock server in a test module.
        let serves_at = cx
            .server_binds()
            .iter()
            .find(|b| (!b.is_loopback() || b.from_env) && !in_test(b.range.byte_start as usize))
            .map(|b| b.range.line);
        let serve_lines: Vec<u32> = cx
            .server_binds()
            .iter()
            .filter(|b| (!b.is_loopback() || b.from_env) && !in_test(b.range.byte_start as usize))
            .map(|b| b.range.line)
            .collect();
        let subcommand_enums = std::mem::take(&mut walk.clap_enums);
        let item_mentions = if wants_mentions {
            analysis::mentions::item_mentions(file, &cx.uses)
        } else {
            Vec::new()
        };
        let serving_fns: Vec<Vec<String>> = {
            let binds: Vec<usize> = cx
                .server_binds()
                .iter()
                .filter(|b| {
                    (!b.is_loopback() || b.from_env) && !in_test(b.range.byte_start as usize)
                })
                .map(|b| b.range.byte_start as usize)
                .collect();
            // Most files serve nothing: no second walk over their functions.
            if binds.is_empty() {
                Vec::new()
            } else {
                cx.functions()
                    .iter()
                    .filter(|f| {
                        let body = f.body.brace_token.span.join().bytes();
                        binds.iter().any(|at| body.contains(at))
                    })
                    .map(|f| {
                        let mut path = f.module.clone();
                        path.extend(f.self_ty.clone());
                        path.push(f.name.clone());
                        path
                    })
                    .collect()
            }
        };
        let uses_clap = CLI_CRATES.iter().any(|k| cx.uses.imports_from(k))
            || file.attrs.iter().any(|a| a.path().is_ident("clap"))
            || walk.names_cli_crate;
        let (globs, reexports) = imports(file);
        let path_roots: Vec<String> = std::mem::take(&mut walk.path_roots).into_iter().collect();
        let has_loop = walk.has_loop;
        let mod_decls = crate::modtree::mod_decls(file, abs_path, Some(text));
        FileSummary {
            modules_only: false,
            prefilter_words: None,
            has_loop,
            path_roots,
            module: Vec::new(),
            globs,
            reexports,
            test_module_paths: analysis::testcode::test_module_paths_of(&mod_decls),
            mod_decls,
            serves_at,
            serving_fns,
            uses_clap,
            runs_cargo,
            route_paths,
            grpc_health: analysis::lifecycle::file_has_grpc_health(&cx),
            own_protocol_tls: analysis::tls::file_own_protocol_tls(&cx),
            // Examples, tests and benches have a `main` of their own; they
            // do not make the package a program.
            has_main: analysis::lifecycle::file_has_main(file)
                && !abs_path.components().any(|c| {
                    matches!(
                        c.as_os_str().to_str(),
                        Some("examples" | "tests" | "benches")
                    )
                }),
            guarded_hosts,
            closure_args,
            endpoint_fields,
            tonic_codegen,
            generated_clients,
            timeout_layers,
            retry_layers,
            field_values,
            ctor_field_values,
            struct_fields: cx
                .items()
                .iter()
                .filter_map(|i| match i {
                    syn::Item::Struct(s) => Some(s),
                    _ => None,
                })
                .flat_map(|s| {
                    s.fields.iter().filter_map(|f| {
                        let id = f.ident.as_ref()?;
                        Some((s.ident.to_string(), id.to_string()))
                    })
                })
                .collect(),
            types,
            client_fields,
            consts,
            functions,
            rel_path: String::new(),
            value_lines,
            duration_args,
            address_args,
            field_params,
            setters,
            deadline_fields,
            static_kinds,
            deref_kinds,
            field_recvs,
            alias_recvs,
            variant_recvs,
            variant_paths,
            struct_field_types,
            serve_lines,
            subcommand_enums,
            item_mentions,
        }
    }
}

/// One walk of a whole file for the facts its summary reads from items
/// and paths anywhere in it. Each fact keeps its own reach: the counters
/// say when the walk is inside a node whose inside that fact never reads
/// (a `const` in another's initializer, a type in a type, a path in a
/// path's generic arguments).
#[derive(Default)]
struct FileWalk<'a> {
    /// `const`, `static` and associated `const` names with their spans,
    /// outside any other's initializer.
    names: Vec<(String, proc_macro2::Span)>,
    /// `static`s outside another `static`'s initializer.
    statics: Vec<&'a syn::ItemStatic>,
    /// Structs with a field of tonic's `client::Grpc` type.
    grpc_wrappers: Vec<String>,
    /// Struct and enum names, outside another type.
    types: Vec<String>,
    /// Enums deriving clap's `Parser` or `Subcommand`.
    clap_enums: Vec<String>,
    /// A path (not inside another path) starts with a CLI crate's name.
    names_cli_crate: bool,
    /// `a::b` of every path of two or more segments, and of every import
    /// (`a::*` for a glob right under `a`).
    path_roots: std::collections::BTreeSet<String>,
    /// Scratch space of `add_root`.
    root_buf: String,
    /// A loop, or a macro that may expand to one.
    has_loop: bool,
    in_value_item: u32,
    in_static: u32,
    in_type: u32,
    in_path: u32,
}

impl FileWalk<'_> {
    fn add_root(&mut self, a: &syn::Ident, b: &dyn std::fmt::Display) {
        use std::fmt::Write;
        // Most paths repeat a root the file already wrote (`Self::new`,
        // `std::..`): composed in a reused buffer, stored only when new.
        let key = &mut self.root_buf;
        key.clear();
        let _ = write!(key, "{a}::{b}");
        if !self.path_roots.contains(key.as_str()) {
            self.path_roots.insert(key.clone());
        }
    }

    fn name(&mut self, ident: &syn::Ident) {
        if self.in_value_item == 0 {
            self.names.push((ident.to_string(), ident.span()));
        }
    }
}

impl<'a> Visit<'a> for FileWalk<'a> {
    fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
        self.name(&c.ident);
        self.in_value_item += 1;
        syn::visit::visit_item_const(self, c);
        self.in_value_item -= 1;
    }
    fn visit_impl_item_const(&mut self, c: &'a syn::ImplItemConst) {
        self.name(&c.ident);
        self.in_value_item += 1;
        syn::visit::visit_impl_item_const(self, c);
        self.in_value_item -= 1;
    }
    fn visit_item_static(&mut self, i: &'a syn::ItemStatic) {
        self.name(&i.ident);
        if self.in_static == 0 {
            self.statics.push(i);
        }
        self.in_value_item += 1;
        self.in_static += 1;
        syn::visit::visit_item_static(self, i);
        self.in_static -= 1;
        self.in_value_item -= 1;
    }
    fn visit_item_struct(&mut self, i: &'a syn::ItemStruct) {
        let wraps_grpc = i.fields.iter().any(|f| match &f.ty {
            syn::Type::Path(p) => crate::analysis::paths::path_segments(&p.path)
                .ends_with(&["client".to_string(), "Grpc".to_string()]),
            _ => false,
        });
        if wraps_grpc {
            self.grpc_wrappers.push(i.ident.to_string());
        }
        if self.in_type == 0 {
            self.types.push(i.ident.to_string());
        }
        self.in_type += 1;
        syn::visit::visit_item_struct(self, i);
        self.in_type -= 1;
    }
    fn visit_item_enum(&mut self, i: &'a syn::ItemEnum) {
        if self.in_type == 0 {
            self.types.push(i.ident.to_string());
        }
        let derives_clap = i.attrs.iter().any(|a| {
            a.path().is_ident("derive")
                && a.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                )
                .is_ok_and(|paths| {
                    paths.iter().any(|p| {
                        p.segments
                            .last()
                            .is_some_and(|s| s.ident == "Parser" || s.ident == "Subcommand")
                    })
                })
        });
        if derives_clap {
            self.clap_enums.push(i.ident.to_string());
        }
        self.in_type += 1;
        syn::visit::visit_item_enum(self, i);
        self.in_type -= 1;
    }
    fn visit_path(&mut self, p: &'a syn::Path) {
        if self.in_path == 0 && !self.names_cli_crate {
            self.names_cli_crate = p
                .segments
                .first()
                .is_some_and(|s| CLI_CRATES.iter().any(|k| s.ident == k));
        }
        let mut segments = p.segments.iter();
        if let (Some(first), Some(second)) = (segments.next(), segments.next()) {
            self.add_root(&first.ident, &second.ident);
        }
        self.in_path += 1;
        syn::visit::visit_path(self, p);
        self.in_path -= 1;
    }
    fn visit_use_path(&mut self, u: &'a syn::UsePath) {
        let mut next = vec![&*u.tree];
        while let Some(tree) = next.pop() {
            match tree {
                syn::UseTree::Path(p) => self.add_root(&u.ident, &p.ident),
                syn::UseTree::Name(n) => self.add_root(&u.ident, &n.ident),
                syn::UseTree::Rename(r) => self.add_root(&u.ident, &r.ident),
                syn::UseTree::Glob(_) => self.add_root(&u.ident, &"*"),
                syn::UseTree::Group(g) => next.extend(g.items.iter()),
            }
        }
        syn::visit::visit_use_path(self, u);
    }
    fn visit_expr_loop(&mut self, e: &'a syn::ExprLoop) {
        self.has_loop = true;
        syn::visit::visit_expr_loop(self, e);
    }
    fn visit_expr_while(&mut self, e: &'a syn::ExprWhile) {
        self.has_loop = true;
        syn::visit::visit_expr_while(self, e);
    }
    fn visit_expr_for_loop(&mut self, e: &'a syn::ExprForLoop) {
        self.has_loop = true;
        syn::visit::visit_expr_for_loop(self, e);
    }
    fn visit_item_macro(&mut self, i: &'a syn::ItemMacro) {
        self.has_loop = true;
        syn::visit::visit_item_macro(self, i);
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        fn loops(tokens: proc_macro2::TokenStream) -> bool {
            tokens.into_iter().any(|t| match t {
                proc_macro2::TokenTree::Ident(i) => i == "loop" || i == "while" || i == "for",
                proc_macro2::TokenTree::Group(g) => loops(g.stream()),
                _ => false,
            })
        }
        if !self.has_loop {
            self.has_loop = loops(m.tokens.clone());
        }
        syn::visit::visit_macro(self, m);
    }
}

/// Types of this file that are the crate's own copies of tower's
/// `TimeoutLayer` and `RetryLayer`: `impl Layer<S> for X` whose `layer`
/// returns `Y<S>`, and `impl Service<R> for Y<S>` whose `call` calls
/// `tokio::time::timeout` (a deadline layer) or calls the inner service's
/// `call` again inside a loop (a retry layer). Both impls are read from one
/// file, where such a pair is written. Returns (deadline layers, retry
/// layers).
fn tower_layer_copies(
    items: &[&syn::Item],
    uses: &analysis::paths::UseMap,
) -> (Vec<String>, Vec<String>) {
    struct Impls<'u> {
        uses: &'u analysis::paths::UseMap,
        /// (layer type, the service type its `layer` returns)
        layers: Vec<(String, String)>,
        deadline_services: HashSet<String>,
        retry_services: HashSet<String>,
    }
    /// A loop whose body calls `.call(..)` again: the inner service re-tried.
    fn recalls_inner(block: &syn::Block) -> bool {
        #[derive(Default)]
        struct V {
            loops: u32,
            found: bool,
        }
        impl V {
            fn in_loop(&mut self, f: impl FnOnce(&mut Self)) {
                self.loops += 1;
                f(self);
                self.loops -= 1;
            }
        }
        impl<'a> Visit<'a> for V {
            fn visit_expr_loop(&mut self, l: &'a syn::ExprLoop) {
                self.in_loop(|v| syn::visit::visit_expr_loop(v, l));
            }
            fn visit_expr_while(&mut self, l: &'a syn::ExprWhile) {
                self.in_loop(|v| syn::visit::visit_expr_while(v, l));
            }
            fn visit_expr_for_loop(&mut self, l: &'a syn::ExprForLoop) {
                self.in_loop(|v| syn::visit::visit_expr_for_loop(v, l));
            }
            fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
                self.found |= self.loops > 0 && m.method == "call";
                syn::visit::visit_expr_method_call(self, m);
            }
        }
        let mut v = V::default();
        v.visit_block(block);
        v.found
    }
    fn calls_tokio_timeout(block: &syn::Block, uses: &analysis::paths::UseMap) -> bool {
        struct V<'u>(&'u analysis::paths::UseMap, bool);
        impl<'a> Visit<'a> for V<'_> {
            fn visit_expr_call(&mut self, c: &'a syn::ExprCall) {
                if let syn::Expr::Path(p) = &*c.func {
                    let segs = self.0.resolve(&p.path);
                    self.1 |= analysis::paths::mentions(&segs, "tokio")
                        && analysis::paths::ends_with(&segs, &["timeout"]);
                }
                syn::visit::visit_expr_call(self, c);
            }
        }
        let mut v = V(uses, false);
        v.visit_block(block);
        v.1
    }
    impl Impls<'_> {
        fn item_impl(&mut self, i: &syn::ItemImpl) {
            let tower_trait = i.trait_.as_ref().and_then(|t| {
                let path = &t.0;
                let segs = self.uses.resolve_shared(path);
                let from_tower = segs.first().is_some_and(|k| {
                    matches!(k.as_str(), "tower" | "tower_layer" | "tower_service")
                });
                from_tower.then(|| segs.last().cloned()).flatten()
            });
            let self_name = analysis::scope::type_name(&i.self_ty);
            if let (Some(tr), Some(me)) = (tower_trait.as_deref(), self_name) {
                for item in &i.items {
                    let syn::ImplItem::Fn(f) = item else { continue };
                    match (tr, f.sig.ident.to_string().as_str()) {
                        ("Layer", "layer") => {
                            if let syn::ReturnType::Type(_, ty) = &f.sig.output {
                                if let Some(svc) = analysis::scope::type_name(ty) {
                                    self.layers.push((me.clone(), svc));
                                }
                            }
                        }
                        ("Service", "call") => {
                            if calls_tokio_timeout(&f.block, self.uses) {
                                self.deadline_services.insert(me.clone());
                            }
                            if recalls_inner(&f.block) {
                                self.retry_services.insert(me.clone());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let mut v = Impls {
        uses,
        layers: Vec::new(),
        deadline_services: HashSet::default(),
        retry_services: HashSet::default(),
    };
    for item in items {
        if let syn::Item::Impl(i) = item {
            v.item_impl(i);
        }
    }
    let of = |services: &HashSet<String>| {
        v.layers
            .iter()
            .filter(|(_, svc)| services.contains(svc))
            .map(|(layer, _)| layer.clone())
            .collect()
    };
    (of(&v.deadline_services), of(&v.retry_services))
}

/// Durations a body passes to calls, spelled out at the call
/// (`wait_for(client, Duration::from_secs(5))`, `Some(TIMEOUT)`):
/// (callee name, argument count, position, nanoseconds).
/// The field a builder-style setter stores its one parameter in:
/// `fn timeout(mut self, t: Option<Duration>) -> Self { self.timeout = t; self }`
/// (also `Some(t)`, and `&mut self` setters).
/// `Command::new("cargo")` or `Command::new(env!("CARGO"))` of the
/// standard library's or an async runtime's process module.
fn spawns_cargo(site: &Site<'_>, uses: &analysis::paths::UseMap) -> bool {
    use syn::Expr;
    let Site::Call(c) = site else { return false };
    let Expr::Path(p) = &*c.func else {
        return false;
    };
    // An associated function is written with its type: `Command::new`
    // as written first, then what the imports make of it.
    let mut written = p.path.segments.iter().rev();
    if !(written.next().is_some_and(|s| s.ident == "new")
        && written.next().is_some_and(|s| s.ident == "Command"))
    {
        return false;
    }
    let path = uses.resolve_shared(&p.path);
    let is_command_new = matches!(
        path.as_slice(),
        [root, m, ty, f] if matches!(root.as_str(), "std" | "tokio" | "async_process" | "async_std" | "smol")
            && m == "process" && ty == "Command" && f == "new"
    ) || matches!(path.as_slice(), [root, ty, f] if root == "async_process" && ty == "Command" && f == "new");
    if !is_command_new {
        return false;
    }
    match c.args.first() {
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        })) => s.value() == "cargo",
        Some(Expr::Macro(m)) => {
            m.mac.path.is_ident("env")
                && syn::parse2::<syn::LitStr>(m.mac.tokens.clone())
                    .is_ok_and(|l| l.value() == "CARGO")
        }
        _ => false,
    }
}

fn setter_field(sig: &syn::Signature, body: &syn::Block) -> Option<String> {
    let params = plain_params(sig);
    let has_self = matches!(sig.inputs.first(), Some(syn::FnArg::Receiver(_)));
    if !has_self || params.len() != 1 || body.stmts.len() > 3 {
        return None;
    }
    body.stmts.iter().find_map(|st| {
        let syn::Stmt::Expr(syn::Expr::Assign(a), _) = st else {
            return None;
        };
        let syn::Expr::Field(f) = &*a.left else {
            return None;
        };
        let on_self = matches!(&*f.base, syn::Expr::Path(p) if p.path.is_ident("self"));
        let syn::Member::Named(field) = &f.member else {
            return None;
        };
        let value = match &*a.right {
            syn::Expr::Call(c)
                if c.args.len() == 1
                    && matches!(&*c.func, syn::Expr::Path(p) if p.path.is_ident("Some")) =>
            {
                &c.args[0]
            }
            e => e,
        };
        (on_self && param_name(value).as_deref() == Some(params[0].as_str()))
            .then(|| field.to_string())
    })
}

/// The fields a client or channel builder's deadline is read from in one
/// body: `endpoint.timeout(d)` on a tonic `Endpoint` or a reqwest
/// builder, with `d` read from `self.config().timeout`, `config.timeout`
/// or a name an `if let Some(d) = ..` binds to one of them.
fn builder_deadline_fields(
    scan: &NetScan<'_, '_>,
    scope: &FnScope<'_>,
    body: &syn::Block,
    self_ty: Option<&str>,
) -> Vec<(String, Option<String>, String, String)> {
    struct V<'v, 'e, 'a> {
        scan: &'v NetScan<'e, 'a>,
        scope: &'v FnScope<'e>,
        self_ty: Option<&'v str>,
        /// Names `if let Some(x) = e` binds, with `e`.
        pattern_lets: Vec<(String, &'v syn::Expr)>,
        builder_calls: Vec<(&'static str, &'v syn::Expr)>,
    }
    impl<'v> Visit<'v> for V<'v, '_, '_> {
        fn visit_expr_let(&mut self, l: &'v syn::ExprLet) {
            if let syn::Pat::TupleStruct(ts) = &*l.pat {
                if let (Some(seg), Some(syn::Pat::Ident(pi))) =
                    (ts.path.segments.last(), ts.elems.first())
                {
                    if seg.ident == "Some" && ts.elems.len() == 1 {
                        self.pattern_lets.push((pi.ident.to_string(), &l.expr));
                    }
                }
            }
            syn::visit::visit_expr_let(self, l);
        }
        fn visit_expr_method_call(&mut self, m: &'v syn::ExprMethodCall) {
            let key = match m.method.to_string().as_str() {
                "timeout" => Some("timeout"),
                "connect_timeout" => Some("connect_timeout"),
                _ => None,
            };
            if let (Some(key), 1) = (key, m.args.len()) {
                if matches!(
                    self.scan.kind_of(&m.receiver, 0),
                    Kind::Grpc { .. } | Kind::HttpClient(_)
                ) {
                    self.builder_calls.push((key, &m.args[0]));
                }
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'v syn::Item) {}
    }
    impl V<'_, '_, '_> {
        /// The field read `e` is, with its owner.
        fn field_read(
            &self,
            e: &syn::Expr,
            depth: u32,
        ) -> Option<(String, Option<String>, String)> {
            if depth > 4 {
                return None;
            }
            match e {
                syn::Expr::Paren(p) => self.field_read(&p.expr, depth + 1),
                syn::Expr::Reference(r) => self.field_read(&r.expr, depth + 1),
                syn::Expr::Unary(u) => self.field_read(&u.expr, depth + 1),
                syn::Expr::MethodCall(m) if m.args.is_empty() => {
                    self.field_read(&m.receiver, depth + 1)
                }
                syn::Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    let name = id.to_string();
                    let at = id.span().byte_start();
                    let bound = self
                        .pattern_lets
                        .iter()
                        .rev()
                        .find(|(n, init)| *n == name && init.span().byte_end() <= at)
                        .map(|(_, init)| *init)
                        .or_else(|| self.scope.binding_at(id).and_then(|b| b.init))?;
                    self.field_read(bound, depth + 1)
                }
                syn::Expr::Field(f) => {
                    let syn::Member::Named(field) = &f.member else {
                        return None;
                    };
                    let (owner, via) = self.owner(&f.base, depth + 1)?;
                    Some((owner, via, field.to_string()))
                }
                _ => None,
            }
        }
        /// The type a field is read from: `self`, `self.config()` (the
        /// owner's method, resolved by the index), a typed parameter.
        fn owner(&self, base: &syn::Expr, depth: u32) -> Option<(String, Option<String>)> {
            if depth > 6 {
                return None;
            }
            match base {
                syn::Expr::Paren(p) => self.owner(&p.expr, depth + 1),
                syn::Expr::Reference(r) => self.owner(&r.expr, depth + 1),
                syn::Expr::Path(p) if p.path.is_ident("self") => {
                    Some((self.self_ty?.to_string(), None))
                }
                syn::Expr::MethodCall(m)
                    if m.args.is_empty()
                        && matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self")) =>
                {
                    Some((self.self_ty?.to_string(), Some(m.method.to_string())))
                }
                syn::Expr::Path(p) => {
                    let id = p.path.get_ident()?;
                    let b = self.scope.binding_at(id)?;
                    match (b.ty, b.init) {
                        (Some(ty), _) => {
                            let path = analysis::scope::type_path(ty)?;
                            Some((path.segments.last()?.ident.to_string(), None))
                        }
                        (None, Some(init)) => self.owner(init, depth + 1),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
    }
    use syn::spanned::Spanned;
    let mut v = V {
        scan,
        scope,
        self_ty,
        pattern_lets: Vec::new(),
        builder_calls: Vec::new(),
    };
    v.visit_block(body);
    let mut out = Vec::new();
    for (key, arg) in &v.builder_calls {
        if let Some((owner, via, field)) = v.field_read(arg, 0) {
            out.push((owner, via, field, key.to_string()));
        }
    }
    out
}

/// The names of a signature's parameters (receiver left out), in order;
/// a pattern that is not a plain name is an empty string.
fn plain_params(sig: &syn::Signature) -> Vec<String> {
    sig.inputs
        .iter()
        .filter_map(|i| match i {
            syn::FnArg::Typed(pt) => Some(match &*pt.pat {
                syn::Pat::Ident(pi) => pi.ident.to_string(),
                _ => String::new(),
            }),
            syn::FnArg::Receiver(_) => None,
        })
        .collect()
}

/// The parameter a field initialiser stores as it is, or through a plain
/// conversion (`base_url`, `base_url.into()`, `base_url.to_string()`,
/// `String::from(base_url)`).
fn param_name(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        syn::Expr::Reference(r) => param_name(&r.expr),
        syn::Expr::Paren(p) => param_name(&p.expr),
        syn::Expr::MethodCall(m)
            if m.args.is_empty()
                && ident_in(&m.method, &["into", "to_string", "to_owned", "clone"]) =>
        {
            param_name(&m.receiver)
        }
        syn::Expr::Call(c) if c.args.len() == 1 => match &*c.func {
            syn::Expr::Path(p)
                if p.path.segments.len() == 2
                    && p.path.segments[1].ident == "from"
                    && p.path.segments[0].ident == "String" =>
            {
                param_name(&c.args[0])
            }
            _ => None,
        },
        _ => None,
    }
}

/// The addresses calls of `Type::f(..)` pass (`Client::new(ORDERS_URL)`,
/// `Client::new("http://orders:8080")`): string literals and `const`s
/// only, through plain conversions, whose value is a URL or `host:port`.
fn call_addresses(
    ev: &Evaluator<'_, '_>,
    sites: &[Site<'_>],
) -> Vec<(String, usize, usize, Value)> {
    struct V<'v, 'e, 'a> {
        ev: &'v Evaluator<'e, 'a>,
        out: Vec<(String, usize, usize, Value)>,
    }
    fn literal_or_const(e: &syn::Expr) -> bool {
        match e {
            syn::Expr::Lit(l) => matches!(l.lit, syn::Lit::Str(_)),
            syn::Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
                s.ident
                    .to_string()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            }),
            syn::Expr::Reference(r) => literal_or_const(&r.expr),
            syn::Expr::MethodCall(m) if m.args.is_empty() => literal_or_const(&m.receiver),
            _ => false,
        }
    }
    impl V<'_, '_, '_> {
        fn call(&mut self, c: &syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                let segs = &p.path.segments;
                if segs.len() >= 2 && segs[segs.len() - 2].ident != "Self" {
                    let name = format!(
                        "{}::{}",
                        segs[segs.len() - 2].ident,
                        segs[segs.len() - 1].ident
                    );
                    for (pos, a) in c.args.iter().enumerate() {
                        if !literal_or_const(a) {
                            continue;
                        }
                        let v = self.ev.eval(a);
                        let address = match &v {
                            Value::Str(s) => s.contains("://") || s.contains(':'),
                            Value::Addr { .. } | Value::Env { .. } | Value::ConstRef(_) => true,
                            _ => false,
                        };
                        if address {
                            self.out.push((name.clone(), c.args.len(), pos, v));
                        }
                    }
                }
            }
        }
    }
    let mut v = V {
        ev,
        out: Vec::new(),
    };
    for site in sites {
        if let Site::Call(c) = site {
            v.call(c);
        }
    }
    v.out
}

fn call_durations(ev: &Evaluator<'_, '_>, sites: &[Site<'_>]) -> Vec<(String, usize, usize, u128)> {
    struct V<'v, 'e, 'a> {
        ev: &'v Evaluator<'e, 'a>,
        out: Vec<(String, usize, usize, u128)>,
    }
    impl V<'_, '_, '_> {
        fn args<'x>(&mut self, name: String, args: impl ExactSizeIterator<Item = &'x syn::Expr>) {
            let arity = args.len();
            for (pos, a) in args.enumerate() {
                let a = match a {
                    syn::Expr::Call(c)
                        if matches!(&*c.func, syn::Expr::Path(p) if p.path.is_ident("Some"))
                            && c.args.len() == 1 =>
                    {
                        &c.args[0]
                    }
                    a => a,
                };
                // Only what reads as a duration: `Duration::from_*(..)` or a
                // `const`; evaluating every argument of every call costs
                // too much.
                let last_segment = |p: &syn::Path| p.segments.last().map(|s| s.ident.to_string());
                let looks = match a {
                    syn::Expr::Call(c) => matches!(&*c.func, syn::Expr::Path(p)
                        if last_segment(&p.path).is_some_and(|s| s.starts_with("from_"))),
                    syn::Expr::Path(p) => last_segment(&p.path).is_some_and(|s| {
                        s.chars()
                            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                    }),
                    _ => false,
                };
                if looks {
                    if let Some(n) = self.ev.eval(a).as_duration_nanos() {
                        self.out.push((name.clone(), arity, pos, n));
                    }
                }
            }
        }
    }
    let mut v = V {
        ev,
        out: Vec::new(),
    };
    for site in sites {
        match site {
            Site::Call(c) => {
                if let syn::Expr::Path(p) = &*c.func {
                    if let Some(last) = p.path.segments.last() {
                        v.args(last.ident.to_string(), c.args.iter());
                    }
                }
            }
            Site::Method(m) => v.args(m.method.to_string(), m.args.iter()),
            Site::Struct(_) => {}
        }
    }
    v.out
}

/// The network behaviour every candidate shares; two candidates that
/// disagree are not guessed between.
/// Every candidate that reaches the network only waits, and one at least
/// does (`WaitFacts`).
fn only_waits(candidates: &[&FnSummary]) -> bool {
    let mut net = candidates.iter().filter(|f| f.net.is_some()).peekable();
    net.peek().is_some() && net.all(|f| f.wait.waits)
}

/// Per type, the traits the methods of these lists implement for it.
fn trait_impls_of(
    functions: &BTreeMap<String, Vec<FnSummary>>,
    typed_methods: &BTreeMap<String, Vec<FnSummary>>,
) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::default();
    for f in functions.values().chain(typed_methods.values()).flatten() {
        if let (Some(ty), Some(tr)) = (&f.self_ty, &f.trait_name) {
            out.entry(ty.clone()).or_default().insert(tr.clone());
        }
    }
    out
}

/// Positions in `functions[name]` and in `typed_methods[name]`.
type Positions = (Vec<usize>, Vec<usize>);

/// Where each type's methods sit in the function lists, and which method
/// names some trait gives a default body: asked for every typed call, and a
/// common name's list (`new`, `get`, `send`) can hold hundreds of functions.
#[derive(Debug, Default)]
struct MethodTable {
    /// method name → type → its positions in `functions[name]` and in
    /// `typed_methods[name]`, in list order.
    at: HashMap<String, HashMap<String, Positions>>,
    /// function name → module → positions of the module's free functions
    /// of that name in `functions[name]`.
    free: HashMap<String, HashMap<Vec<String>, Vec<usize>>>,
    /// Names with a trait's default body (`default_of`, no `self_ty`).
    defaults: HashSet<String>,
}

fn method_table_of(
    functions: &BTreeMap<String, Vec<FnSummary>>,
    typed_methods: &BTreeMap<String, Vec<FnSummary>>,
) -> MethodTable {
    let mut table = MethodTable::default();
    for (which, lists) in [functions, typed_methods].into_iter().enumerate() {
        for (name, list) in lists {
            for (i, f) in list.iter().enumerate() {
                if f.default_of.is_some() && f.self_ty.is_none() {
                    table.defaults.insert(name.clone());
                }
                let Some(ty) = &f.self_ty else {
                    if which == 0 {
                        table
                            .free
                            .entry(name.clone())
                            .or_default()
                            .entry(f.module.clone())
                            .or_default()
                            .push(i);
                    }
                    continue;
                };
                let entry = table
                    .at
                    .entry(name.clone())
                    .or_default()
                    .entry(ty.clone())
                    .or_default();
                if which == 0 {
                    entry.0.push(i);
                } else {
                    entry.1.push(i);
                }
            }
        }
    }
    table
}

fn agreed_net<'i>(candidates: &[&'i FnSummary]) -> Option<&'i NetSummary> {
    let first = candidates.first()?.net.as_ref()?;
    candidates
        .iter()
        .all(|f| f.net.as_ref().is_some_and(|n| n.protocol == first.protocol))
        .then_some(first)
}

/// The network behaviour of a trait method called through dynamic or
/// generic dispatch, from the crate's impls of it: a strict majority of
/// them (two at least) reach the network with one protocol. A fake or
/// in-memory impl next to the real ones does not make the call local; a
/// trait whose impls are mostly in-process is not a network call.
/// The destination is kept only where every networking impl names the same.
fn majority_net(impls: &[&FnSummary]) -> Option<NetSummary> {
    let nets: Vec<&NetSummary> = impls.iter().filter_map(|f| f.net.as_ref()).collect();
    let first = *nets.first()?;
    // Every impl calls out (also the only one), or most of two or more do:
    // a dummy or echo impl beside real ones does not hide the call.
    let agreed = (nets.len() == impls.len() || nets.len() >= 2 && nets.len() * 2 > impls.len())
        && nets.iter().all(|n| n.protocol == first.protocol);
    agreed.then(|| NetSummary {
        protocol: first.protocol,
        probe: nets.iter().all(|n| n.probe),
        dest: if nets.iter().all(|n| n.dest == first.dest) {
            first.dest.clone()
        } else {
            Default::default()
        },
    })
}

/// The retry loop a function inherits by handing its callable parameter on
/// to a loop helper at argument `pos`: every candidate has that one loop
/// around that argument. A count read from the helper's parameters stays
/// known only where this function hands its own parameters on to them;
/// anything else it passes (a constant, `u32::MAX`) is left unknown rather
/// than guessed.
fn forwarded_loop(
    found: &[&FnSummary],
    pos: usize,
    callee: &Callee,
    own: &analysis::retry::HelperFacts,
) -> Option<analysis::retry::LoopHelper> {
    use analysis::retry::HelperCount;
    let first = found.first()?;
    let [inner] = first.helper.loops.as_slice() else {
        return None;
    };
    if inner.op != pos || found.iter().any(|f| f.helper.loops != first.helper.loops) {
        return None;
    }
    let count = match &inner.count {
        HelperCount::Fixed(n) => HelperCount::Fixed(*n),
        HelperCount::Params { params, offset } => {
            let mapped: Option<Vec<usize>> = params
                .iter()
                .map(|k| {
                    own.value_forwards
                        .iter()
                        .find(|(c, _, j)| c == callee && j == k)
                        .map(|(_, p, _)| *p)
                })
                .collect();
            match mapped {
                Some(params) => HelperCount::Params {
                    params,
                    offset: *offset,
                },
                None => HelperCount::Unknown,
            }
        }
        // A struct this function hands on from its own parameter.
        HelperCount::Field {
            param,
            field,
            offset,
        } => match own
            .value_forwards
            .iter()
            .find(|(c, _, j)| c == callee && j == param)
        {
            Some((_, p, _)) => HelperCount::Field {
                param: *p,
                field: field.clone(),
                offset: *offset,
            },
            None => HelperCount::Unknown,
        },
        HelperCount::Unknown => HelperCount::Unknown,
    };
    let mut l = inner.clone();
    l.op = own
        .forwards
        .iter()
        .find(|(c, _, j)| c == callee && *j == pos)?
        .1;
    l.count = count;
    Some(l)
}

/// The client every candidate returns.
fn agreed_kind<'i>(candidates: &[&'i FnSummary]) -> Option<&'i Kind> {
    let first = candidates.first()?.returns_kind.as_ref()?;
    candidates
        .iter()
        .all(|f| f.returns_kind.as_ref() == Some(first))
        .then_some(first)
}

/// The retry library that every candidate applies to the callable it
/// receives at argument `pos`; `None` when one of them does not.
pub fn agreed_retry_helper(candidates: &[&FnSummary], pos: usize) -> Option<String> {
    let lib_of = |f: &FnSummary| {
        f.helper
            .retried
            .iter()
            .find(|(p, _)| *p == pos)
            .map(|(_, lib)| lib.clone())
    };
    let first = lib_of(candidates.first()?)?;
    candidates
        .iter()
        .all(|f| lib_of(f).as_ref() == Some(&first))
        .then_some(first)
}

/// The names through which a crate's code reaches the network
/// ([`CrateIndex::network_names`]).
#[derive(Debug, Default)]
pub struct NetworkNameLists {
    /// Functions and methods that (transitively) make network calls, and
    /// client and endpoint fields: a call through one of them is a network
    /// call.
    pub reach: Vec<String>,
    /// Helpers whose callers hand them a network call (retry helpers among
    /// them) and types that guard a host: their call sites are findings
    /// whether or not the caller loops.
    pub helpers: Vec<String>,
}

/// Keeps the one value every file gives a name; two that differ give `None`.
fn merge_agreed<T: Clone + PartialEq>(map: &mut HashMap<String, Option<T>>, name: &str, v: &T) {
    match map.get(name) {
        Some(Some(prev)) if prev != v => {
            map.insert(name.to_string(), None);
        }
        Some(_) => {}
        None => {
            map.insert(name.to_string(), Some(v.clone()));
        }
    }
}

/// Closure keys: a function's module path and name.
type FnKey = (Vec<String>, String);

/// The joined summaries of one package.
#[derive(Debug, Default)]
pub struct CrateIndex {
    /// Builder-style setters: (type, method) → the field it sets.
    setters: Vec<(String, String, String)>,
    /// Fields client builders read deadlines from (`FileSummary::deadline_fields`).
    deadline_fields: Vec<(String, Option<String>, String, String)>,
    /// Setters of the crate's (and its workspace dependencies') own
    /// configuration types whose field a client builder applies as a
    /// deadline: (type, method) → `timeout` or `connect_timeout`.
    config_deadlines: HashMap<(String, String), String>,
    tonic_codegen: bool,
    generated_clients: HashSet<String>,
    /// `*Client` structs the workspace crates it depends on write by hand
    /// (not their tonic-build output): a dependency's `BaseClient` from its
    /// module `base_client` is its own wrapper, not a generated gRPC client.
    dep_client_types: HashSet<String>,
    timeout_layers: HashSet<String>,
    /// The crate's own copies of tower's `RetryLayer`.
    retry_layers: HashSet<String>,
    guarded_hosts: HashMap<String, Option<String>>,
    closure_args: Vec<ClosureArg>,
    /// Per function (module, name): what the closures its callers pass in
    /// do on the network; `None` where callers disagree.
    closure_net: HashMap<FnKey, Option<NetSummary>>,
    /// Closures this crate passes to functions of other workspace crates:
    /// (that function's module path, starting with the crate's extern
    /// name; its name; what the closure does).
    foreign_closures: Vec<(Vec<String>, String, NetSummary)>,
    endpoint_fields: HashMap<String, Option<Kind>>,
    consts: HashMap<String, Value>,
    /// Per (type, field): the one value struct literals of that type give
    /// the field; `None` where literals disagree.
    field_values: HashMap<(String, String), Option<Value>>,
    /// `FileSummary::ctor_field_values`, merged as `field_values` are.
    ctor_field_values: HashMap<(String, String), Option<Value>>,
    /// Per field name: the types that declare or build a field of that name.
    field_owners: HashMap<String, HashSet<String>>,
    /// `field:NAME` / `const:NAME` → `file:line` of the first place that
    /// gives it its value.
    value_sources: HashMap<String, String>,
    types: HashSet<String>,
    client_fields: HashMap<String, Kind>,
    functions: BTreeMap<String, Vec<FnSummary>>,
    test_paths: HashSet<PathBuf>,
    /// Glob import prefixes per module.
    module_globs: HashMap<Vec<String>, Vec<Vec<String>>>,
    /// This crate's `pub use` items: crate-relative path → what it names
    /// (`crate::..` for the crate's own items).
    reexports: Vec<(Vec<String>, Vec<String>)>,
    /// Of `reexports`, those naming the crate's own items, by path (the
    /// first where two give one path): looked up for every path a call
    /// names that is not a crate function, so a map rather than a scan.
    crate_reexports: HashMap<Vec<String>, Vec<String>>,
    /// Dependencies' re-exports under their extern names, for `UseMap`.
    foreign_reexports: Vec<(Vec<String>, Vec<String>)>,
    /// The package's library name: its binaries reach the library's items
    /// as `name::module::f`.
    self_name: Option<String>,
    route_paths: Vec<String>,
    grpc_health: bool,
    own_protocol_tls: Option<&'static str>,
    has_main: bool,
    /// Per (function name, argument count, position): the duration every
    /// call that spells one out passes; `None` where they disagree.
    param_durations: HashMap<(String, usize, usize), Option<u128>>,
    /// Per `static` name: the client it holds; `None` where two disagree.
    static_kinds: HashMap<String, Option<Kind>>,
    /// Names of the `const`s the crate itself defines (dependencies' never
    /// override them).
    own_consts: HashSet<String>,
    /// Dependency `const` names two dependencies give different values.
    foreign_ambiguous: HashSet<String>,
    /// Per type name: the client it derefs to; `None` where two disagree.
    deref_kinds: HashMap<String, Option<Kind>>,
    /// Per field name: its declared type or trait; `None` where two disagree.
    field_recvs: HashMap<String, Option<Recv>>,
    /// Per type alias name: the type or trait it names; `None` where two
    /// disagree.
    alias_recvs: HashMap<String, Option<Recv>>,
    /// Traits the crate implements for its types.
    traits: HashSet<String>,
    /// Methods of dependencies' types that `functions` leaves out, for
    /// calls on receivers declared with those types only (never matched
    /// by name alone).
    typed_methods: BTreeMap<String, Vec<FnSummary>>,
    /// (type, trait) for every method of `functions` and `typed_methods`
    /// written in an `impl Trait for Type`: which traits a type implements,
    /// asked for every trait default a method call could reach.
    trait_impls: HashMap<String, HashSet<String>>,
    /// The methods of `functions` and `typed_methods` by type (built with
    /// `trait_impls`, once the lists are complete).
    methods: MethodTable,
    /// What one-field enum variants hold, by (enum, variant).
    variant_recvs: HashMap<(String, String), Option<Recv>>,
    /// Per (struct, field): its declared type and client; `None` where two
    /// structs of that name disagree.
    struct_fields: HashMap<String, Option<(Recv, Option<Kind>)>>,
}

impl CrateIndex {
    /// The index of one crate on its own.
    pub fn build(summaries: impl IntoIterator<Item = FileSummary>) -> CrateIndex {
        Self::build_with_deps(summaries, &[], None)
    }

    /// The index of one crate, with the workspace crates it depends on
    /// (their extern names and finished indexes): their functions are
    /// reachable as `dep::module::f`, their re-exports rewrite paths.
    /// The summaries are consumed: the index keeps their functions rather
    /// than copies, so that memory holds one of each while it is built.
    pub fn build_with_deps(
        summaries: impl IntoIterator<Item = FileSummary>,
        deps: &[(String, &CrateIndex)],
        self_name: Option<&str>,
    ) -> CrateIndex {
        let mut index = CrateIndex::collect(summaries);
        index.self_name = self_name.map(str::to_string);
        for (name, dep) in deps {
            index.import(name, dep);
        }
        index.trait_impls = trait_impls_of(&index.functions, &index.typed_methods);
        index.methods = method_table_of(&index.functions, &index.typed_methods);
        index.resolve_config_deadlines();
        index.close_network_calls();
        index.close_waits();
        index.resolve_closure_args();
        index.forward_closures();
        index.close_retry_helpers();
        index
    }

    fn collect(summaries: impl IntoIterator<Item = FileSummary>) -> CrateIndex {
        let mut index = CrateIndex::default();
        let mut ambiguous = HashSet::default();
        let mut ambiguous_fields = HashSet::default();
        let mut address_args: HashMap<(String, usize, usize), Option<Value>> = HashMap::default();
        let mut field_params = Vec::new();
        for mut s in summaries {
            index
                .own_consts
                .extend(s.consts.iter().map(|(n, _)| n.clone()));
            for (name, v) in &s.consts {
                match index.consts.get(name) {
                    Some(prev) if prev != v => {
                        ambiguous.insert(name.clone());
                    }
                    _ => {
                        index.consts.insert(name.clone(), v.clone());
                    }
                }
            }
            index.types.extend(s.types.iter().cloned());
            for arg in &s.closure_args {
                let mut arg = arg.clone();
                arg.module = [s.module.as_slice(), arg.module.as_slice()].concat();
                index.closure_args.push(arg);
            }
            for (ty, host) in &s.guarded_hosts {
                match index.guarded_hosts.get(ty) {
                    Some(Some(prev)) if prev != host => {
                        index.guarded_hosts.insert(ty.clone(), None);
                    }
                    Some(_) => {}
                    None => {
                        index.guarded_hosts.insert(ty.clone(), Some(host.clone()));
                    }
                }
            }
            index.tonic_codegen |= s.tonic_codegen;
            index
                .generated_clients
                .extend(s.generated_clients.iter().cloned());
            index
                .timeout_layers
                .extend(s.timeout_layers.iter().cloned());
            index.retry_layers.extend(s.retry_layers.iter().cloned());
            index.route_paths.extend(s.route_paths.iter().cloned());
            index.grpc_health |= s.grpc_health;
            index.own_protocol_tls = index.own_protocol_tls.or(s.own_protocol_tls);
            index.has_main |= s.has_main;
            for (ty, name, v) in &s.field_values {
                let key = (ty.clone(), name.clone());
                index
                    .field_owners
                    .entry(name.clone())
                    .or_default()
                    .insert(ty.clone());
                match index.field_values.get(&key) {
                    Some(prev) if prev != v => {
                        index.field_values.insert(key, None);
                    }
                    _ => {
                        index.field_values.insert(key, v.clone());
                    }
                }
            }
            for (ctor, name, v) in &s.ctor_field_values {
                let key = (ctor.clone(), name.clone());
                match index.ctor_field_values.get(&key) {
                    Some(prev) if prev != v => {
                        index.ctor_field_values.insert(key, None);
                    }
                    _ => {
                        index.ctor_field_values.insert(key, v.clone());
                    }
                }
            }
            for (ty, name) in &s.struct_fields {
                index
                    .field_owners
                    .entry(name.clone())
                    .or_default()
                    .insert(ty.clone());
            }
            for (name, kind) in &s.endpoint_fields {
                match index.endpoint_fields.get(name) {
                    Some(prev) if prev.as_ref() != Some(kind) => {
                        index.endpoint_fields.insert(name.clone(), None);
                    }
                    _ => {
                        index
                            .endpoint_fields
                            .insert(name.clone(), Some(kind.clone()));
                    }
                }
            }
            for (name, kind) in &s.client_fields {
                match index.client_fields.get(name) {
                    Some(prev) if prev != kind => {
                        ambiguous_fields.insert(name.clone());
                    }
                    _ => {
                        index.client_fields.insert(name.clone(), kind.clone());
                    }
                }
            }
            for mut f in std::mem::take(&mut s.functions) {
                if !s.module.is_empty() {
                    f.module = [s.module.as_slice(), f.module.as_slice()].concat();
                }
                index.functions.entry(f.name.clone()).or_default().push(f);
            }
            for (inline, prefix) in &s.globs {
                let module = [s.module.as_slice(), inline.as_slice()].concat();
                index
                    .module_globs
                    .entry(module)
                    .or_default()
                    .push(prefix.clone());
            }
            for (key, target) in &s.reexports {
                let Some((local, inline)) = key.split_last() else {
                    continue;
                };
                let module: Vec<String> = [s.module.as_slice(), inline].concat();
                let key = [module.as_slice(), std::slice::from_ref(local)].concat();
                // `self::x` / `super::x` become `crate::..` paths.
                let target = match target.first().map(String::as_str) {
                    Some("self") | Some("super") => {
                        let mut base = module.clone();
                        let mut rest = &target[..];
                        if rest[0] == "self" {
                            rest = &rest[1..];
                        }
                        while rest.first().is_some_and(|s| s == "super") {
                            base.pop();
                            rest = &rest[1..];
                        }
                        [vec!["crate".to_string()], base, rest.to_vec()].concat()
                    }
                    _ => target.clone(),
                };
                index.reexports.push((key, target));
            }
            for (name, kind) in &s.static_kinds {
                match index.static_kinds.get(name) {
                    Some(prev) if prev.as_ref() != Some(kind) => {
                        index.static_kinds.insert(name.clone(), None);
                    }
                    _ => {
                        index.static_kinds.insert(name.clone(), Some(kind.clone()));
                    }
                }
            }
            for (name, arity, pos, v) in &s.address_args {
                match address_args.get(&(name.clone(), *arity, *pos)) {
                    Some(prev) if prev.as_ref() != Some(v) => {
                        address_args.insert((name.clone(), *arity, *pos), None);
                    }
                    _ => {
                        address_args.insert((name.clone(), *arity, *pos), Some(v.clone()));
                    }
                }
            }
            field_params.extend(s.field_params.iter().cloned());
            index.setters.append(&mut s.setters);
            index.deadline_fields.append(&mut s.deadline_fields);
            for (name, arity, pos, nanos) in &s.duration_args {
                let key = (name.clone(), *arity, *pos);
                match index.param_durations.get(&key) {
                    Some(prev) if *prev != Some(*nanos) => {
                        index.param_durations.insert(key, None);
                    }
                    _ => {
                        index.param_durations.insert(key, Some(*nanos));
                    }
                }
            }
            for (name, kind) in &s.deref_kinds {
                merge_agreed(&mut index.deref_kinds, name, kind);
            }
            for (name, recv) in &s.field_recvs {
                merge_agreed(&mut index.field_recvs, name, recv);
            }
            for (name, recv) in &s.alias_recvs {
                merge_agreed(&mut index.alias_recvs, name, recv);
            }
            for (ty, field, recv, kind) in &s.struct_field_types {
                merge_agreed(
                    &mut index.struct_fields,
                    &format!("{ty}.{field}"),
                    &(recv.clone(), kind.clone()),
                );
            }
            for (key, recv) in &s.variant_recvs {
                match index.variant_recvs.get(key) {
                    Some(Some(prev)) if prev != recv => {
                        index.variant_recvs.insert(key.clone(), None);
                    }
                    Some(_) => {}
                    None => {
                        index.variant_recvs.insert(key.clone(), Some(recv.clone()));
                    }
                }
            }
            index.traits.extend(
                s.functions
                    .iter()
                    .filter(|f| f.self_ty.is_some())
                    .filter_map(|f| f.trait_name.clone()),
            );
            index.test_paths.extend(s.test_module_paths.iter().cloned());
            if !s.rel_path.is_empty() {
                for (key, line) in &s.value_lines {
                    index
                        .value_sources
                        .entry(key.clone())
                        .or_insert_with(|| format!("{}:{line}", s.rel_path));
                }
            }
        }
        // A field a constructor fills with its parameter holds what the
        // crate's calls of that constructor pass, when they agree.
        for (ty, field, ctor, arity, pos) in field_params {
            let v = address_args.get(&(ctor, arity, pos)).cloned().flatten();
            index
                .field_owners
                .entry(field.clone())
                .or_default()
                .insert(ty.clone());
            let key = (ty, field);
            match index.field_values.get(&key) {
                Some(prev) if *prev != v => {
                    index.field_values.insert(key, None);
                }
                _ => {
                    index.field_values.insert(key, v);
                }
            }
        }
        // `pub use policy::f;` names a child module relative to the module
        // that writes it (2018 paths): read it as `crate::..::policy::f`, so
        // that other crates reach `f` through the re-export.
        let modules: HashSet<Vec<String>> = index
            .functions
            .values()
            .flatten()
            .flat_map(|f| (1..=f.module.len()).map(|n| f.module[..n].to_vec()))
            .collect();
        for (key, target) in &mut index.reexports {
            let module = &key[..key.len().saturating_sub(1)];
            let Some(first) = target.first() else {
                continue;
            };
            if matches!(first.as_str(), "crate" | "self" | "super") {
                continue;
            }
            let child = [module, std::slice::from_ref(first)].concat();
            if modules.contains(&child) {
                *target = [&["crate".to_string()], module, target.as_slice()].concat();
            }
        }
        for (key, target) in &index.reexports {
            if target.first().is_some_and(|s| s == "crate") {
                index
                    .crate_reexports
                    .entry(key.clone())
                    .or_insert_with(|| target.clone());
            }
        }
        for name in ambiguous {
            index.consts.remove(&name);
        }
        for name in ambiguous_fields {
            index.client_fields.remove(&name);
        }
        index.resolve_destinations();
        index
    }

    /// Makes a finished dependency's networking functions reachable as
    /// `extern_name::module::f` and its re-exports as `extern_name::x`.
    fn import(&mut self, extern_name: &str, dep: &CrateIndex) {
        for (k, v) in &dep.config_deadlines {
            self.config_deadlines
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        let builders = dep.retry_builder_types();
        let on_builder = |t: &Option<String>| t.as_ref().is_some_and(|t| builders.contains(t));
        // Types of the dependency with a method that reaches the network, or
        // that hold or deref to a client: a method returning one of them
        // leads a typed call to the network. Other methods cannot, and are
        // not copied into every dependent crate (on a workspace of 66 crates
        // that copy was most of the audit's memory).
        let mut net_types: HashSet<&str> = dep
            .functions
            .values()
            .chain(dep.typed_methods.values())
            .flatten()
            .filter(|f| f.net.is_some() || f.returns_kind.is_some())
            .filter_map(|f| f.self_ty.as_deref())
            .chain(
                dep.deref_kinds
                    .iter()
                    .filter(|(_, k)| k.is_some())
                    .map(|(t, _)| t.as_str()),
            )
            .collect();
        // And the types that lead to one: a wrapper crate's `ClientBuilder`
        // whose `build()` returns its `Client` (`ClientBuilder::new()
        // .build()?.post(url).send()`), a factory returning a builder. Read
        // to a fixed point, a type a step at a time.
        let methods: Vec<(&str, &str)> = dep
            .functions
            .values()
            .chain(dep.typed_methods.values())
            .flatten()
            .filter(|f| !f.foreign)
            .filter_map(|f| Some((f.self_ty.as_deref()?, f.ret_ty.as_deref()?)))
            .collect();
        loop {
            let before = net_types.len();
            for &(owner, ret) in &methods {
                if net_types.contains(ret) {
                    net_types.insert(owner);
                }
            }
            if net_types.len() == before {
                break;
            }
        }
        let leads_to_network = |f: &FnSummary| {
            f.net.is_some()
                || f.returns_kind.is_some()
                || f.ret_ty.as_deref().is_some_and(|t| net_types.contains(t))
        };
        for list in dep.functions.values() {
            // A free function that reaches the network, or that hands out a
            // client or channel (`async fn channel_builder(..) ->
            // Result<Endpoint>`, whose caller sets the deadline), or that a
            // server mounts (a handler with its attribute route, a router).
            for f in list.iter().filter(|f| {
                !f.foreign
                    && (f.self_ty.is_none()
                        && (f.net.is_some()
                            || f.returns_kind.is_some()
                            || f.routes.is_some()
                            || f.reads_certs)
                        || f.takes_fn
                        || !f.helper.retried.is_empty()
                        || on_builder(&f.ret_ty)
                        || on_builder(&f.self_ty))
            }) {
                let mut f = f.clone();
                f.foreign = true;
                f.module.insert(0, extern_name.to_string());
                // Its calls were resolved in its own crate already.
                f.callees.clear();
                f.typed_calls.clear();
                f.ctor_calls.clear();
                f.helper.forwards.clear();
                f.helper.value_forwards.clear();
                f.wait.outside = None;
                self.functions.entry(f.name.clone()).or_default().push(f);
            }
            // Its types' other methods, for calls on values declared with
            // them (`http_client::reqwest::Client::post(..)` returning its
            // `RequestBuilder`, whose `send` reaches the network).
            for f in list.iter().filter(|f| {
                !f.foreign
                    && f.self_ty.is_some()
                    && !(f.takes_fn
                        || !f.helper.retried.is_empty()
                        || on_builder(&f.ret_ty)
                        || on_builder(&f.self_ty))
                    && leads_to_network(f)
            }) {
                let mut f = f.clone();
                f.foreign = true;
                f.module.insert(0, extern_name.to_string());
                f.callees.clear();
                f.typed_calls.clear();
                f.ctor_calls.clear();
                f.helper = Default::default();
                f.wait.outside = None;
                self.typed_methods
                    .entry(f.name.clone())
                    .or_default()
                    .push(f);
            }
        }
        for (key, v) in dep.struct_fields.iter() {
            if let Some(v) = v {
                merge_agreed(&mut self.struct_fields, key, v);
            }
        }
        for (name, kind) in dep.deref_kinds.iter() {
            if let Some(kind) = kind {
                merge_agreed(&mut self.deref_kinds, name, kind);
            }
        }
        // Its `const`s, read by name as the crate's own are
        // (`REQUEST_TIMEOUT` of a shared utils crate); the crate's own
        // const of that name wins, and two dependencies that disagree give
        // nothing.
        for (name, v) in &dep.consts {
            if self.own_consts.contains(name) {
                continue;
            }
            match self.consts.get(name) {
                Some(prev) if prev != v => {
                    self.foreign_ambiguous.insert(name.clone());
                }
                Some(_) => {}
                None => {
                    self.consts.insert(name.clone(), v.clone());
                    let key = format!("const:{name}");
                    if let Some(at) = dep.value_sources.get(&key) {
                        self.value_sources.entry(key).or_insert_with(|| at.clone());
                    }
                }
            }
        }
        for name in &self.foreign_ambiguous {
            self.consts.remove(name);
        }
        let prefix = |p: &[String]| -> Vec<String> {
            match p.first().map(String::as_str) {
                Some("crate") => [&[extern_name.to_string()], &p[1..]].concat(),
                _ => p.to_vec(),
            }
        };
        for (key, target) in &dep.reexports {
            let key = [&[extern_name.to_string()], key.as_slice()].concat();
            self.foreign_reexports.push((key, prefix(target)));
        }
        // A dependency's own dependencies, re-exported through it. Shared
        // dependencies arrive along many paths: keep one copy of each entry,
        // or a diamond-shaped workspace multiplies them at every level.
        self.foreign_reexports
            .extend(dep.foreign_reexports.iter().cloned());
        self.foreign_reexports.sort();
        self.foreign_reexports.dedup();
        // Routes a workspace crate registers (a routes or api crate) are
        // served by the program that mounts them: its health route counts.
        self.route_paths.extend(dep.route_paths.iter().cloned());
        self.route_paths.sort();
        self.route_paths.dedup();
        self.grpc_health |= dep.grpc_health;
        self.dep_client_types.extend(
            dep.types
                .iter()
                .filter(|t| t.ends_with("Client") && !dep.generated_clients.contains(*t))
                .cloned(),
        );
        self.dep_client_types
            .extend(dep.dep_client_types.iter().cloned());
    }

    /// Types with a retry-helper method, and the types whose methods
    /// return one of them: the builders other crates chain to reach it.
    fn retry_builder_types(&self) -> HashSet<String> {
        let all = || self.functions.values().flatten().filter(|f| !f.foreign);
        let mut types: HashSet<String> = all()
            .filter(|f| !f.helper.retried.is_empty())
            .filter_map(|f| f.self_ty.clone())
            .collect();
        for _ in 0..8 {
            let before = types.len();
            let more: Vec<String> = all()
                .filter(|f| f.ret_ty.as_ref().is_some_and(|t| types.contains(t)))
                .filter_map(|f| f.self_ty.clone())
                .collect();
            types.extend(more);
            if types.len() == before {
                break;
            }
        }
        types
    }

    /// Re-exports of the workspace crates this one depends on, for
    /// reading paths through them.
    pub fn foreign_reexports(&self) -> Vec<(Vec<String>, Vec<String>)> {
        self.foreign_reexports.clone()
    }

    /// Closures that other crates pass to this crate's functions
    /// (`module` is this crate's module path, without its extern name).
    pub fn add_foreign_closure(&mut self, module: Vec<String>, name: String, net: NetSummary) {
        merge_closure(&mut self.closure_net, (module, name), net);
        self.forward_closures();
    }

    /// A function that hands the callable it received on (`with_channel(f)`
    /// calling `self.with_channel_timeout(uri, f, None, 3)`) passes its
    /// callers' closures to that function too.
    fn forward_closures(&mut self) {
        for _ in 0..4 {
            let mut moves = Vec::new();
            for f in self.functions.values().flatten() {
                if f.foreign || f.helper.forwards.is_empty() {
                    continue;
                }
                let Some(Some(net)) = self.closure_net.get(&(f.module.clone(), f.name.clone()))
                else {
                    continue;
                };
                for (callee, _, _) in &f.helper.forwards {
                    let found = self.resolve(callee, &f.module, f.self_ty.as_deref());
                    let [target] = found.as_slice() else { continue };
                    if target.foreign {
                        continue;
                    }
                    let key = (target.module.clone(), target.name.clone());
                    let known = self.closure_net.get(&key).and_then(Option::as_ref);
                    if known != Some(net) {
                        moves.push((key, net.clone()));
                    }
                }
            }
            if moves.is_empty() {
                break;
            }
            let before = self.closure_net.clone();
            for (key, net) in moves {
                merge_closure(&mut self.closure_net, key, net);
            }
            if before == self.closure_net {
                break;
            }
        }
    }

    /// What this crate passes, in closures, to functions of the dependency
    /// named `extern_name`.
    pub fn closures_for(&self, extern_name: &str) -> Vec<(Vec<String>, String, NetSummary)> {
        self.foreign_closures
            .iter()
            .filter(|(m, _, _)| m.first().is_some_and(|f| f == extern_name))
            .map(|(m, n, net)| (m[1..].to_vec(), n.clone(), net.clone()))
            .collect()
    }

    /// The crate functions a call may name, read from module `from` in an
    /// `impl` of `self_ty`. Empty when the path names nothing of the crate
    /// (a std or dependency function, or a name the resolver cannot tell
    /// apart).
    fn resolve(&self, callee: &Callee, from: &[String], self_ty: Option<&str>) -> Vec<&FnSummary> {
        let found = self.resolve_direct(callee, from, self_ty);
        if !found.is_empty() || callee.path.len() < 2 {
            return found;
        }
        // Through the crate's own `pub use` (`crate::prelude::retry` for a
        // function defined in `util::futures`), a few hops at most.
        let mut path = callee.path.clone();
        for _ in 0..4 {
            let Some((modules, name)) = absolute(&path, from) else {
                break;
            };
            let target = modules.iter().find_map(|m| {
                let key = [m.as_slice(), std::slice::from_ref(&name)].concat();
                self.crate_reexports.get(&key).cloned()
            });
            let Some(target) = target else { break };
            let Some(last) = target.last().cloned() else {
                break;
            };
            let next = Callee {
                name: last,
                via_self: false,
                path: target.clone(),
            };
            let found = self.resolve_direct(&next, from, self_ty);
            if !found.is_empty() {
                return found;
            }
            path = target;
        }
        Vec::new()
    }

    fn resolve_direct(
        &self,
        callee: &Callee,
        from: &[String],
        self_ty: Option<&str>,
    ) -> Vec<&FnSummary> {
        let Some(list) = self.functions.get(&callee.name) else {
            return Vec::new();
        };
        let methods_of = |ty: &str| -> Vec<&FnSummary> { self.methods_of(ty, &callee.name) };
        if callee.path.is_empty() {
            return match (callee.via_self, self_ty) {
                (true, Some(ty)) => methods_of(ty),
                (true, None) => Vec::new(),
                // A method on a value of unknown type: only when every
                // method of that name agrees (checked by the caller).
                (false, _) => list.iter().filter(|f| f.self_ty.is_some()).collect(),
            };
        }
        let own;
        let path = match &self.self_name {
            Some(me) if callee.path.len() > 1 && &callee.path[0] == me => {
                own = [&["crate".to_string()], &callee.path[1..]].concat();
                &own
            }
            _ => &callee.path,
        };
        if path.len() == 2 && path[0] == "Self" {
            return self_ty.map(methods_of).unwrap_or_default();
        }
        let free_in = |module: &[String]| -> Vec<&FnSummary> {
            let Some(at) = self
                .methods
                .free
                .get(&callee.name)
                .and_then(|m| m.get(module))
            else {
                return Vec::new();
            };
            at.iter()
                .filter_map(|&i| list.get(i))
                .filter(|f| f.self_ty.is_none() && f.module == module)
                .collect()
        };
        if path.len() == 1 {
            let local = free_in(from);
            if !local.is_empty() {
                return local;
            }
            // `use super::*;` and friends.
            let mut found = Vec::new();
            for g in self.module_globs.get(from).into_iter().flatten() {
                let mut p = g.clone();
                p.push(callee.name.clone());
                if let Some((modules, _)) = absolute(&p, from) {
                    if let Some(l) = modules.iter().map(|m| free_in(m)).find(|l| !l.is_empty()) {
                        found.extend(l);
                    }
                }
            }
            return found;
        }
        // `Type::f(..)` for a type of the crate.
        if self.types.contains(&path[path.len() - 2]) {
            return methods_of(&path[path.len() - 2]);
        }
        let Some((modules, _)) = absolute(path, from) else {
            return Vec::new();
        };
        modules
            .iter()
            .map(|m| free_in(m))
            .find(|l| !l.is_empty())
            .unwrap_or_default()
    }

    /// Only functions of the crate that take closures matter; a closure is
    /// networking when it calls the network itself or through a crate
    /// function.
    fn resolve_closure_args(&mut self) {
        let consts = self.consts.clone();
        let lookup = |name: &str| consts.get(name).cloned();
        for arg in std::mem::take(&mut self.closure_args) {
            let targets = self.resolve(&arg.callee, &arg.module, None);
            let Some(target) = targets.first() else {
                continue;
            };
            let key = (target.module.clone(), target.name.clone());
            let net = arg.net.clone().map(|mut n| {
                n.dest = n.dest.resolve(&lookup);
                n
            });
            let net = net.filter(|n| n.protocol.is_l7()).or_else(|| {
                arg.callees
                    .iter()
                    .find_map(|c| agreed_net(&self.resolve(c, &arg.module, None)))
                    .filter(|n| n.protocol.is_l7())
                    .cloned()
            });
            let Some(net) = net else { continue };
            // A function another workspace crate defines: its crate learns
            // of this closure when the workspace is joined.
            if target.foreign {
                self.foreign_closures
                    .push((key.0.clone(), key.1.clone(), net.clone()));
            }
            merge_closure(&mut self.closure_net, key, net);
        }
    }

    /// The one host that functions calling methods on a value of type `ty`
    /// send their own network calls to, anywhere in the crate.
    pub fn guarded_host(&self, ty: &str) -> Option<&str> {
        self.guarded_hosts.get(ty).and_then(|h| h.as_deref())
    }

    /// What the closures passed to crate function `name` do on the network.
    pub fn closure_net(&self, module: &[String], name: &str) -> Option<&NetSummary> {
        self.closure_net
            .get(&(module.to_vec(), name.to_string()))
            .and_then(Option::as_ref)
    }

    /// The names through which code of this crate reaches the network:
    /// functions and methods whose calls (transitively) make network calls,
    /// helpers whose callers pass them a closure that does, client and
    /// gRPC endpoint fields, and types whose methods guard a host. The
    /// prefilter keeps every file that names one.
    pub fn network_names(&self) -> NetworkNameLists {
        // Dependencies' methods that reach the network, and types that
        // deref to a client, are followed from declared receivers.
        let typed = self
            .typed_methods
            .values()
            .flatten()
            .filter(|f| f.net.is_some())
            .map(|f| f.name.clone());
        let derefs = self
            .deref_kinds
            .iter()
            .filter(|(_, k)| k.is_some())
            .map(|(t, _)| t.clone());
        let reach = self
            .functions
            .values()
            .flatten()
            .filter(|f| f.net.is_some())
            .map(|f| f.name.clone())
            .chain(typed)
            .chain(derefs)
            .chain(self.client_fields.keys().cloned())
            .chain(self.endpoint_fields.keys().cloned())
            .collect();
        let helpers = self
            .closure_net
            .iter()
            .filter(|(_, net)| net.is_some())
            .map(|((_, name), _)| name.clone())
            .chain(
                self.functions
                    .values()
                    .flatten()
                    .filter(|f| !f.helper.retried.is_empty())
                    .map(|f| f.name.clone()),
            )
            .chain(self.guarded_hosts.keys().cloned())
            .collect();
        NetworkNameLists { reach, helpers }
    }

    /// Destinations that named `const`s of other files, now that every
    /// file's consts are known.
    fn resolve_destinations(&mut self) {
        let consts = self.consts.clone();
        let lookup = |name: &str| consts.get(name).cloned();
        for list in self.functions.values_mut() {
            for f in list.iter_mut() {
                if let Some(Value::Str(t)) = &f.returns {
                    if t.contains(crate::analysis::eval::CONST_MARK) {
                        f.returns =
                            crate::analysis::eval::fill_template(t, &lookup).map(Value::Str);
                    }
                }
                if let Some(n) = &mut f.net {
                    if n.dest.template.is_some() {
                        n.dest = n.dest.resolve(&lookup);
                    }
                }
            }
        }
    }

    /// A function that calls a networking function is a networking
    /// function: propagate summaries along call edges to a fixpoint.
    fn close_network_calls(&mut self) {
        // Each round reads the state the round started from and applies
        // what it found at its end. The index lends the fields the rounds
        // read to a bare one (its other fields empty, as resolution during
        // the build must not read them) rather than copying them per round.
        let mut rounds = CrateIndex {
            functions: std::mem::take(&mut self.functions),
            types: std::mem::take(&mut self.types),
            module_globs: std::mem::take(&mut self.module_globs),
            self_name: self.self_name.clone(),
            field_recvs: std::mem::take(&mut self.field_recvs),
            typed_methods: std::mem::take(&mut self.typed_methods),
            variant_recvs: std::mem::take(&mut self.variant_recvs),
            trait_impls: std::mem::take(&mut self.trait_impls),
            methods: std::mem::take(&mut self.methods),
            ..Default::default()
        };
        // A call that names no crate function names none in any round (the
        // rounds change what functions do, not which there are, so a
        // function stays where it is): it is resolved once, by (the
        // function's address, the call's position in its callees).
        let mut unresolved: HashSet<(usize, usize)> = HashSet::default();
        for _ in 0..8 {
            let mut found: Vec<(String, usize, NetSummary)> = Vec::new();
            for (name, list) in &rounds.functions {
                for (i, f) in list.iter().enumerate() {
                    if f.net.is_none() {
                        let mut resolve = |j: usize, callee: &Callee| {
                            let key = (std::ptr::from_ref(f) as usize, j);
                            if unresolved.contains(&key) {
                                return Vec::new();
                            }
                            let found = rounds.resolve(callee, &f.module, f.self_ty.as_deref());
                            if found.is_empty() {
                                unresolved.insert(key);
                            }
                            found
                        };
                        if let Some(n) = rounds.net_reached_by(f, &mut resolve) {
                            found.push((name.clone(), i, n));
                        }
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            for (name, i, mut n) in found {
                if let Some(f) = rounds.functions.get_mut(&name).and_then(|l| l.get_mut(i)) {
                    // Reached through the functions it calls: one of them
                    // may probe and another serve (`NetSummary::probe`).
                    n.probe = false;
                    f.net = Some(n);
                }
            }
        }
        self.functions = rounds.functions;
        self.types = rounds.types;
        self.module_globs = rounds.module_globs;
        self.field_recvs = rounds.field_recvs;
        self.typed_methods = rounds.typed_methods;
        self.variant_recvs = rounds.variant_recvs;
        self.trait_impls = rounds.trait_impls;
        self.methods = rounds.methods;
    }

    /// What `f`, not yet known to reach the network, reaches through the
    /// functions it calls, as far as this index knows them.
    /// `resolve` resolves `f`'s callee at that position.
    fn net_reached_by<'s>(
        &'s self,
        f: &FnSummary,
        resolve: &mut dyn FnMut(usize, &Callee) -> Vec<&'s FnSummary>,
    ) -> Option<NetSummary> {
        // Every typed call that reaches the network: a dispatcher calling
        // each variant's provider keeps a destination only when they all
        // share it.
        let typed: Vec<NetSummary> = f
            .typed_calls
            .iter()
            .filter_map(|(r, m)| self.net_of_receiver(r, m).flatten())
            .collect();
        if let Some(first) = typed.first() {
            let same = typed
                .iter()
                .all(|n| n.protocol == first.protocol && n.dest == first.dest);
            return Some(NetSummary {
                protocol: first.protocol,
                probe: false,
                dest: if same {
                    first.dest.clone()
                } else {
                    Default::default()
                },
            });
        }
        for (j, callee) in f.callees.iter().enumerate() {
            // `self.m()` in a trait's default body runs the implementing
            // type's `m`: the trait's impls decide.
            if let Some(tr) = f
                .default_of
                .as_deref()
                .filter(|_| callee.via_self && callee.path.is_empty() && f.self_ty.is_none())
            {
                if let Some(n) = self.net_of_trait_method(tr, &callee.name) {
                    return Some(n);
                }
            }
            let found = resolve(j, callee);
            if let Some(n) = agreed_net(&found) {
                return Some(n.clone());
            }
            if let Some(n) = self.dispatched_net(callee, f) {
                return Some(n);
            }
        }
        None
    }

    /// A function that hands a callable it received to a retry helper of
    /// the crate (`run(op)` calling `run_retry(.., move || op())`) is a
    /// retry helper for that callable: propagate to a fixpoint.
    fn close_retry_helpers(&mut self) {
        let any = self
            .functions
            .values()
            .flatten()
            .any(|f| !f.foreign && !f.helper.forwards.is_empty());
        if !any {
            return;
        }
        // As in `close_network_calls`: rounds over a bare index that
        // borrows the fields resolution reads here, answers applied at the
        // end of each round. A function reads its own answers of the round
        // as it goes (`helper` below), others' as the round found them.
        let mut rounds = CrateIndex {
            functions: std::mem::take(&mut self.functions),
            types: std::mem::take(&mut self.types),
            module_globs: std::mem::take(&mut self.module_globs),
            self_name: self.self_name.clone(),
            ..Default::default()
        };
        rounds.trait_impls = trait_impls_of(&rounds.functions, &BTreeMap::new());
        // Positions in `typed_methods`, empty here, find nothing.
        rounds.methods = std::mem::take(&mut self.methods);
        for _ in 0..8 {
            let mut found_helpers: Vec<(String, usize, analysis::retry::HelperFacts)> = Vec::new();
            for (name, list) in &rounds.functions {
                for (i, f) in list.iter().enumerate() {
                    if f.helper.forwards.is_empty() {
                        continue;
                    }
                    let mut helper = f.helper.clone();
                    let mut changed = false;
                    for (callee, param, pos) in &f.helper.forwards {
                        if helper.retried.iter().any(|(p, _)| p == param) {
                            continue;
                        }
                        let found = rounds.resolve(callee, &f.module, f.self_ty.as_deref());
                        if let Some(lib) = agreed_retry_helper(&found, *pos) {
                            helper.retried.push((*param, lib));
                            changed = true;
                            continue;
                        }
                        // Handed to a hand-written retry loop of the
                        // workspace (`download_retry(op, ..)` calling
                        // `backoff::retry(op, .., MAX, ..)`): this function's
                        // callers are where the loop meets the network.
                        if helper.loops.is_empty() {
                            if let Some(l) = forwarded_loop(&found, *pos, callee, &helper) {
                                helper.loops.push(l);
                                changed = true;
                            }
                        }
                    }
                    // A count handed on to the helper that shapes its policy.
                    for (callee, param, pos) in &f.helper.value_forwards {
                        if helper.policy_params.contains(param) {
                            continue;
                        }
                        let found = rounds.resolve(callee, &f.module, f.self_ty.as_deref());
                        if !found.is_empty()
                            && found.iter().all(|g| g.helper.policy_params.contains(pos))
                        {
                            helper.policy_params.push(*param);
                            changed = true;
                        }
                    }
                    if changed {
                        found_helpers.push((name.clone(), i, helper));
                    }
                }
            }
            if found_helpers.is_empty() {
                break;
            }
            for (name, i, helper) in found_helpers {
                if let Some(f) = rounds.functions.get_mut(&name).and_then(|l| l.get_mut(i)) {
                    f.helper = helper;
                }
            }
        }
        self.functions = rounds.functions;
        self.types = rounds.types;
        self.module_globs = rounds.module_globs;
        self.methods = rounds.methods;
    }

    /// The crate functions a path names, read from module `from`.
    pub fn fns_at_path(
        &self,
        path: &[String],
        from: &[String],
        self_ty: Option<&str>,
    ) -> Vec<&FnSummary> {
        let Some(name) = path.last() else {
            return Vec::new();
        };
        let callee = Callee {
            name: name.clone(),
            via_self: path.first().is_some_and(|s| s == "Self"),
            path: path.to_vec(),
        };
        self.resolve(&callee, from, self_ty)
    }

    /// The methods `name` of the crate's type `ty`.
    pub fn methods_of(&self, ty: &str, name: &str) -> Vec<&FnSummary> {
        self.type_methods(ty, name).0
    }

    /// The methods `name` of type `ty` in `functions` and in
    /// `typed_methods`, each in list order.
    fn type_methods(&self, ty: &str, name: &str) -> (Vec<&FnSummary>, Vec<&FnSummary>) {
        let Some((own, typed)) = self.methods.at.get(name).and_then(|m| m.get(ty)) else {
            return (Vec::new(), Vec::new());
        };
        fn pick<'l>(
            list: Option<&'l Vec<FnSummary>>,
            at: &[usize],
            ty: &str,
        ) -> Vec<&'l FnSummary> {
            let Some(list) = list else {
                return Vec::new();
            };
            at.iter()
                .filter_map(|&i| list.get(i))
                .filter(|f| f.self_ty.as_deref() == Some(ty))
                .collect()
        }
        (
            pick(self.functions.get(name), own, ty),
            pick(self.typed_methods.get(name), typed, ty),
        )
    }

    /// The network behaviour of `self.name(..)` in an `impl` of `self_ty`.
    pub fn net_of_self_method(&self, name: &str, self_ty: Option<&str>) -> Option<&NetSummary> {
        let callee = Callee {
            name: name.to_string(),
            via_self: true,
            path: Vec::new(),
        };
        agreed_net(&self.resolve(&callee, &[], self_ty))
    }

    /// The network behaviour of the crate function a call path names, read
    /// from module `from` (`helper()`, `crate::net::fetch()`,
    /// `super::fetch()`, `Self::fetch()`, `common::retry::with_backoff()`).
    pub fn net_of_path(
        &self,
        path: &[String],
        from: &[String],
        self_ty: Option<&str>,
    ) -> Option<&NetSummary> {
        let callee = Callee::of_path(path)?;
        agreed_net(&self.resolve(&callee, from, self_ty))
    }

    /// The routes of the one crate function a path names (read as
    /// [`CrateIndex::net_of_path`] reads it), when it builds a router from
    /// none of its parameters or is a handler with an attribute route.
    pub fn routes_of_path(&self, path: &[String], from: &[String]) -> Option<&[String]> {
        let callee = Callee::of_path(path)?;
        match self.resolve(&callee, from, None).as_slice() {
            [f] if f.self_ty.is_none() => f.routes.as_deref(),
            _ => None,
        }
    }

    /// Whether a call path names a function of the crate (read as
    /// [`CrateIndex::net_of_path`] reads it).
    pub fn resolves_to_fn(&self, path: &[String], from: &[String], self_ty: Option<&str>) -> bool {
        Callee::of_path(path).is_some_and(|callee| !self.resolve(&callee, from, self_ty).is_empty())
    }

    /// A method called on a value of unknown type: only when every method of
    /// that name in the crate makes network calls of one kind, or when every
    /// method of that name implements one trait and that trait's method
    /// reaches the network (`majority_net`).
    pub fn net_of_any_method(&self, name: &str) -> Option<NetSummary> {
        self.net_of_methods_where(name, |_| true)
    }

    /// The same for a receiver declared as a trait object or a type bound
    /// by a trait whose impls the crate does not show (a supertrait's
    /// method, `dyn Connector` with `trait Connector: ReconcileOps + ..`):
    /// only trait methods can be called on it, never a type's inherent
    /// method that shares the name.
    pub fn net_of_any_trait_method(&self, name: &str) -> Option<NetSummary> {
        self.net_of_methods_where(name, |f| f.trait_name.is_some())
    }

    fn net_of_methods_where(
        &self,
        name: &str,
        keep: impl Fn(&FnSummary) -> bool,
    ) -> Option<NetSummary> {
        let list = self.functions.get(name)?;
        let methods: Vec<&FnSummary> = list
            .iter()
            .filter(|f| f.self_ty.is_some() && keep(f))
            .collect();
        let first = methods.first()?;
        if let Some(n) = first.net.as_ref().filter(|n| {
            methods
                .iter()
                .all(|f| f.net.as_ref().is_some_and(|m| m.protocol == n.protocol))
        }) {
            return Some(n.clone());
        }
        let tr = first.trait_name.as_deref()?;
        if methods.iter().all(|f| f.trait_name.as_deref() == Some(tr)) {
            return majority_net(&methods);
        }
        None
    }

    /// The impls of trait method `name` the crate's types give.
    fn trait_impls(&self, tr: &str, name: &str) -> Vec<&FnSummary> {
        self.functions
            .get(name)
            .map(|l| {
                l.iter()
                    .filter(|f| f.self_ty.is_some() && f.trait_name.as_deref() == Some(tr))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The methods `name` of type `ty`: the crate's own (`krate` `None`), or
    /// those of the workspace dependency imported as `krate`.
    fn typed_methods_of(&self, krate: Option<&str>, ty: &str, name: &str) -> Vec<&FnSummary> {
        let own = self.own_typed_methods_of(krate, ty, name);
        if own.is_empty() {
            return self.inherited_defaults(krate, ty, name);
        }
        own
    }

    /// The default bodies of `name` in the traits `ty` implements without
    /// overriding `name` (`S3Store` implementing `Store` gets `Store`'s
    /// `delete_all`), from the same crate as the type.
    fn inherited_defaults(&self, krate: Option<&str>, ty: &str, name: &str) -> Vec<&FnSummary> {
        let same_crate = |f: &FnSummary| match krate {
            None => !f.foreign,
            Some(k) => {
                !f.foreign && self.types.contains(ty)
                    || f.foreign && f.module.first().is_some_and(|m| m == k)
            }
        };
        if !self.methods.defaults.contains(name) {
            return Vec::new();
        }
        let defaults: Vec<&FnSummary> = self
            .functions
            .get(name)
            .into_iter()
            .flatten()
            .chain(self.typed_methods.get(name).into_iter().flatten())
            .filter(|f| f.default_of.is_some() && f.self_ty.is_none() && same_crate(f))
            .collect();
        if defaults.is_empty() {
            return defaults;
        }
        // Only the traits the type implements (it has an impl of some method
        // of the trait in this index).
        let implemented = |tr: &str| {
            self.trait_impls
                .get(ty)
                .is_some_and(|traits| traits.contains(tr))
        };
        defaults
            .into_iter()
            .filter(|f| f.default_of.as_deref().is_some_and(implemented))
            .collect()
    }

    fn own_typed_methods_of(&self, krate: Option<&str>, ty: &str, name: &str) -> Vec<&FnSummary> {
        let (own, typed) = self.type_methods(ty, name);
        match krate {
            None => own.into_iter().filter(|f| !f.foreign).collect(),
            Some(k) => {
                let foreign: Vec<&FnSummary> = own
                    .into_iter()
                    .chain(typed)
                    .filter(|f| f.foreign && f.module.first().is_some_and(|m| m == k))
                    .collect();
                // `providers::Config` written from the crate root names the
                // crate's own module, not a crate.
                if foreign.is_empty() && self.types.contains(ty) {
                    return self.own_typed_methods_of(None, ty, name);
                }
                foreign
            }
        }
    }

    /// The named type the methods `method` of `ty` return, when they agree
    /// (`Self` read as `ty`).
    pub fn returned_type_of_method(
        &self,
        krate: Option<&str>,
        ty: &str,
        method: &str,
    ) -> Option<String> {
        let found = self.typed_methods_of(krate, ty, method);
        let first = found.first()?.ret_ty.clone()?;
        found
            .iter()
            .all(|f| f.ret_ty.as_ref() == Some(&first))
            .then_some(first)
    }

    /// Setters whose field a client builder of the crate applies as a
    /// deadline (`ChannelConfig::timeout` when `build_endpoint` does
    /// `endpoint.timeout(d)` with `d` from `self.config().timeout`).
    fn resolve_config_deadlines(&mut self) {
        let mut fields: HashSet<(String, String, String)> = HashSet::default();
        for (owner, via, field, key) in &self.deadline_fields {
            let ty = match via {
                None => Some(owner.clone()),
                Some(m) => self.returned_type_of_method(None, owner, m),
            };
            if let Some(ty) = ty {
                fields.insert((ty, field.clone(), key.clone()));
            }
        }
        for (ty, method, field) in &self.setters {
            if let Some((_, _, key)) = fields.iter().find(|(t, f, _)| t == ty && f == field) {
                self.config_deadlines
                    .insert((ty.clone(), method.clone()), key.clone());
            }
        }
        self.setters = Vec::new();
        self.deadline_fields = Vec::new();
    }

    /// The deadline (`timeout`, `connect_timeout`) setter `method` of the
    /// crate's configuration type `ty` stores for a client builder.
    pub fn config_deadline(&self, ty: &str, method: &str) -> Option<&str> {
        self.config_deadlines
            .get(&(ty.to_string(), method.to_string()))
            .map(String::as_str)
    }

    /// Whether some type of the crate implements trait `tr`.
    pub fn implements_trait(&self, tr: &str) -> bool {
        self.traits.contains(tr)
    }

    /// The client a type of the crate (or of a dependency) derefs to.
    pub fn deref_kind(&self, ty: &str) -> Option<&Kind> {
        self.deref_kinds.get(ty).and_then(Option::as_ref)
    }

    /// The declared type or trait of struct fields of this name, when the
    /// crate's fields of that name agree.
    /// Whether the index holds any function. Every network fact of a crate
    /// call comes from a function's summary: without one (the first pass,
    /// while summaries are being built) no crate call reaches the network.
    pub fn has_functions(&self) -> bool {
        !self.functions.is_empty() || !self.typed_methods.is_empty()
    }

    /// What a crate type alias names (`BoxDb` for `Box<dyn Database>`):
    /// the trait or type, for a receiver declared with the alias.
    fn alias_target(&self, recv: &Recv) -> Option<&Recv> {
        match recv {
            Recv::Type { krate: None, name } => {
                self.alias_recvs.get(name.as_str()).and_then(Option::as_ref)
            }
            _ => None,
        }
    }

    /// Whether a receiver is declared as a trait object or a type bound by
    /// a trait (also through a crate alias or a field): only trait methods
    /// can be called on it, never a type's inherent method that happens to
    /// share the name.
    pub fn is_trait_receiver(&self, recv: &Recv) -> bool {
        match recv {
            Recv::Trait(_) => true,
            Recv::Type { .. } => self
                .alias_target(recv)
                .is_some_and(|t| matches!(t, Recv::Trait(_))),
            Recv::Field(f) => self
                .field_recv(f)
                .is_some_and(|r| !matches!(r, Recv::Field(_)) && self.is_trait_receiver(r)),
            _ => false,
        }
    }

    pub fn field_recv(&self, name: &str) -> Option<&Recv> {
        self.field_recvs.get(name).and_then(Option::as_ref)
    }

    /// What calling `method` on a receiver declared as `recv` does: `None`
    /// when the crate has no such method for it (the caller falls back to
    /// other evidence), `Some(None)` when the crate's methods for it do not
    /// reach the network.
    pub fn net_of_receiver(&self, recv: &Recv, method: &str) -> Option<Option<NetSummary>> {
        match recv {
            Recv::Type { krate, name } => {
                let found = self.typed_methods_of(krate.as_deref(), name, method);
                if found.is_empty() {
                    // A crate alias of another file: what it names.
                    return match self.alias_target(recv) {
                        Some(target) if target != recv => self.net_of_receiver(target, method),
                        _ => None,
                    };
                }
                Some(agreed_net(&found).cloned())
            }
            Recv::Trait(tr) => {
                let impls = self.trait_impls(tr, method);
                if impls.is_empty() {
                    return None;
                }
                Some(majority_net(&impls))
            }
            Recv::Field(f) => match self.field_recv(f)? {
                Recv::Field(_) => None,
                r => self.net_of_receiver(r, method),
            },
            Recv::Variant { .. } => {
                let r = self.concrete_recv(recv, 0)?;
                self.net_of_receiver(&r, method)
            }
            Recv::Returned(..) => {
                if let Some(n) = self.library_call_on_returned(recv, method) {
                    return Some(Some(n));
                }
                let r = self.concrete_recv(recv, 0)?;
                self.net_of_receiver(&r, method)
            }
        }
    }

    /// A call on a library client a crate method returns, not a method of
    /// the crate: `send` on a request built on a returned HTTP client, an
    /// RPC on a returned generated gRPC client.
    fn library_call_on_returned(&self, recv: &Recv, method: &str) -> Option<NetSummary> {
        let Recv::Returned(base, m) = recv else {
            return None;
        };
        if self.sends_on_returned_client(recv, method) {
            return Some(NetSummary {
                protocol: Protocol::Http,
                dest: Destination::default(),
                probe: false,
            });
        }
        // An RPC on the generated gRPC client a crate method
        // returns (`self.client_for(id)?.push_logs(req)`): the
        // client is tonic's, its methods are not the crate's. A
        // `*Client` type the crate writes itself is its own
        // (summaries read return types before the crate's types
        // are known).
        let own_type = match self.concrete_recv(recv, 0) {
            Some(Recv::Type { krate: None, name }) => {
                self.defines_type(&name) && !self.is_generated_client(&name)
            }
            _ => false,
        };
        if !own_type
            && matches!(self.returned_kind_of_recv(base, m), Some(Kind::Grpc { .. }))
            && analysis::net::is_grpc_rpc(method)
        {
            return Some(NetSummary {
                protocol: Protocol::Grpc,
                dest: Destination::default(),
                probe: false,
            });
        }
        None
    }

    /// Whether a method called on a receiver of a declared type or trait
    /// only waits: every candidate `net_of_receiver` reads that reaches
    /// the network only waits (one at least).
    pub fn waits_of_receiver(&self, recv: &Recv, method: &str) -> bool {
        self.waits_of_receiver_at(recv, method, 0)
    }

    fn waits_of_receiver_at(&self, recv: &Recv, method: &str, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        match recv {
            Recv::Type { krate, name } => {
                only_waits(&self.typed_methods_of(krate.as_deref(), name, method))
            }
            Recv::Trait(tr) => only_waits(&self.trait_impls(tr, method)),
            Recv::Field(f) => match self.field_recv(f) {
                None | Some(Recv::Field(_)) => false,
                Some(r) => self.waits_of_receiver_at(r, method, depth + 1),
            },
            Recv::Variant { .. } => self
                .concrete_recv(recv, 0)
                .is_some_and(|r| self.waits_of_receiver_at(&r, method, depth + 1)),
            Recv::Returned(..) => {
                self.library_call_on_returned(recv, method).is_none()
                    && self
                        .concrete_recv(recv, 0)
                        .is_some_and(|r| self.waits_of_receiver_at(&r, method, depth + 1))
            }
        }
    }

    /// Whether `self.name(..)` in an `impl` of `self_ty` only waits.
    pub fn waits_of_self_method(&self, name: &str, self_ty: Option<&str>) -> bool {
        let callee = Callee {
            name: name.to_string(),
            via_self: true,
            path: Vec::new(),
        };
        only_waits(&self.resolve(&callee, &[], self_ty))
    }

    /// Whether the crate function a call path names only waits.
    pub fn waits_at_path(&self, path: &[String], from: &[String], self_ty: Option<&str>) -> bool {
        Callee::of_path(path).is_some_and(|c| only_waits(&self.resolve(&c, from, self_ty)))
    }

    /// Whether a method called on a value of unknown type only waits: every
    /// method of that name that reaches the network does.
    pub fn waits_of_any_method(&self, name: &str) -> bool {
        self.functions.get(name).is_some_and(|l| {
            let methods: Vec<&FnSummary> = l.iter().filter(|f| f.self_ty.is_some()).collect();
            only_waits(&methods)
        })
    }

    /// Finds the functions that only wait (`WaitFacts`), to a fixpoint:
    /// one whose calls outside its poll loops reach the network only
    /// through functions that only wait, and that reaches it somewhere.
    fn close_waits(&mut self) {
        // Nothing waits where nothing polls (and no dependency's function
        // waits).
        let any = self
            .functions
            .values()
            .chain(self.typed_methods.values())
            .flatten()
            .any(|f| f.wait.outside.is_some() || f.wait.waits);
        if !any {
            return;
        }
        for _ in 0..8 {
            let mut found: Vec<(String, usize)> = Vec::new();
            for (name, list) in &self.functions {
                for (i, f) in list.iter().enumerate() {
                    if !f.foreign && !f.wait.waits && self.only_waits_now(f) {
                        found.push((name.clone(), i));
                    }
                }
            }
            if found.is_empty() {
                break;
            }
            for (name, i) in found {
                if let Some(f) = self.functions.get_mut(&name).and_then(|l| l.get_mut(i)) {
                    f.wait.waits = true;
                }
            }
        }
    }

    /// One step of `close_waits`: whether `f` only waits, given what is
    /// known to wait so far.
    fn only_waits_now(&self, f: &FnSummary) -> bool {
        if f.wait.calls_outside || !f.net.as_ref().is_some_and(|n| n.protocol.is_l7()) {
            return false;
        }
        let (callees, typed) = match &f.wait.outside {
            Some(b) => (&b.callees, &b.typed_calls),
            None => (&f.callees, &f.typed_calls),
        };
        // Something reaches the network: a call of its own in a poll loop,
        // a function it calls there, or one that only waits.
        let mut evidence = f.wait.calls_inside;
        for callee in callees {
            // `self.m()` of a trait's default body runs the impls' `m`.
            if let Some(tr) = f
                .default_of
                .as_deref()
                .filter(|_| callee.via_self && callee.path.is_empty() && f.self_ty.is_none())
            {
                if self.net_of_trait_method(tr, &callee.name).is_some() {
                    return false;
                }
            }
            if self.dispatched_net(callee, f).is_some() {
                return false;
            }
            let found = self.resolve(callee, &f.module, f.self_ty.as_deref());
            if found.iter().any(|g| g.net.is_some()) {
                if !only_waits(&found) {
                    return false;
                }
                evidence = true;
            }
        }
        for (recv, method) in typed {
            if self.net_of_receiver(recv, method).flatten().is_some() {
                if !self.waits_of_receiver(recv, method) {
                    return false;
                }
                evidence = true;
            }
        }
        if !evidence && f.wait.outside.is_some() {
            // Calls made only inside the poll loops reach the network.
            let inside_reach = f.callees.iter().filter(|c| !callees.contains(c)).any(|c| {
                self.resolve(c, &f.module, f.self_ty.as_deref())
                    .iter()
                    .any(|g| g.net.is_some())
            }) || f
                .typed_calls
                .iter()
                .filter(|t| !typed.contains(t))
                .any(|(r, m)| self.net_of_receiver(r, m).flatten().is_some());
            evidence = inside_reach;
        }
        evidence
    }

    /// The client a method of a receiver's declared type returns
    /// (`config.reqwest_client()` with `config: &CommonConfig`), when every
    /// candidate method returns the same one.
    pub fn returned_kind_of_recv(&self, recv: &Recv, method: &str) -> Option<&Kind> {
        let Recv::Type { krate, name } = self.concrete_recv(recv, 0)? else {
            return None;
        };
        agreed_kind(&self.typed_methods_of(krate.as_deref(), &name, method))
    }

    /// `send` at the end of a request built on an HTTP client that a method
    /// of a crate type returns (`config.reqwest_client().await.post(url)
    /// .header(..).send()`, the client also bound by a `let` first): the
    /// client is a library's, so the chain's methods are not the crate's,
    /// and the `send` is the HTTP call.
    fn sends_on_returned_client(&self, recv: &Recv, method: &str) -> bool {
        if method != "send" {
            return false;
        }
        let mut r = recv;
        let mut verb = false;
        for _ in 0..MAX_RETURNED_CHAIN {
            let Recv::Returned(base, m) = r else {
                return false;
            };
            if matches!(
                self.returned_kind_of_recv(base, m),
                Some(Kind::HttpClient(_))
            ) {
                return verb;
            }
            verb |= analysis::net::HTTP_VERBS.contains(&m.as_str());
            r = base;
        }
        false
    }

    /// A receiver read down to a named type or a trait: fields, variants
    /// and method results looked up in the index.
    fn concrete_recv(&self, recv: &Recv, depth: u32) -> Option<Recv> {
        if depth > 8 {
            return None;
        }
        match recv {
            Recv::Type { .. } | Recv::Trait(_) => Some(recv.clone()),
            Recv::Field(f) => self.concrete_recv(self.field_recv(f)?, depth + 1),
            Recv::Variant { ty, variant } => self.concrete_recv(
                self.variant_recvs
                    .get(&(ty.clone(), variant.clone()))?
                    .as_ref()?,
                depth + 1,
            ),
            Recv::Returned(base, m) => {
                let Recv::Type { krate, name } = self.concrete_recv(base, depth + 1)? else {
                    return None;
                };
                self.returned_type_of_method(krate.as_deref(), &name, m)
                    .map(|t| Recv::Type { krate, name: t })
            }
        }
    }

    /// A receiver read down to a named type or a trait, when the index can
    /// tell.
    pub fn concrete(&self, recv: &Recv) -> Option<Recv> {
        self.concrete_recv(recv, 0)
    }

    /// The declared type (and the client it is) of field `field` of struct
    /// `ty`.
    pub fn struct_field(&self, ty: &str, field: &str) -> Option<(Recv, Option<Kind>)> {
        self.struct_fields
            .get(&format!("{ty}.{field}"))
            .cloned()
            .flatten()
    }

    /// The named type method `method` of a receiver returns, when the index
    /// can tell now.
    pub fn returned_recv(&self, base: &Recv, method: &str) -> Option<Recv> {
        self.concrete_recv(
            &Recv::Returned(Box::new(base.clone()), method.to_string()),
            0,
        )
    }

    /// `provider.infer(..)` on a `&dyn Provider`, `Box<dyn Provider>`,
    /// `impl Provider` or `P: Provider`: what the crate's impls of the
    /// trait's method do (`majority_net`).
    pub fn net_of_trait_method(&self, tr: &str, name: &str) -> Option<NetSummary> {
        majority_net(&self.trait_impls(tr, name))
    }

    /// A method called on a value of a type the crate defines
    /// (`self.grpc.fetch(..)` with `grpc: ShardClient`): that type's own
    /// methods of that name; `None` when it has none.
    pub fn net_of_type_method(&self, ty: &str, name: &str) -> Option<&NetSummary> {
        agreed_net(&self.methods_of(ty, name))
    }

    /// An impl of a trait method that calls the same method on another
    /// value (an enum that dispatches `infer` to the provider in each
    /// variant): the call goes to the trait's other impls.
    fn dispatched_net(&self, callee: &Callee, f: &FnSummary) -> Option<NetSummary> {
        let tr = f.trait_name.as_deref()?;
        if !callee.path.is_empty() || callee.via_self || callee.name != f.name {
            return None;
        }
        let others: Vec<&FnSummary> = self
            .trait_impls(tr, &f.name)
            .into_iter()
            .filter(|g| g.self_ty != f.self_ty || g.module != f.module)
            .collect();
        majority_net(&others)
    }

    /// The gRPC client, with its endpoint URL, that every struct literal of
    /// the crate stores in this field.
    pub fn endpoint_field(&self, name: &str) -> Option<&Kind> {
        self.endpoint_fields.get(name).and_then(Option::as_ref)
    }

    /// What a struct field of the crate holds, by field name, when it is a
    /// known network client and no other field of that name disagrees.
    pub fn field_kind(&self, name: &str) -> Option<&Kind> {
        self.client_fields.get(name)
    }

    /// The one value struct literals of the crate give this field.
    pub fn field_value(&self, name: &str) -> Option<&Value> {
        // A field is read by name where the receiver's type is unknown: only
        // when one type of the crate has a field of that name is the value
        // of its literals the value read (`host` of `Settings` is not `host`
        // of `Upstream`).
        let owners = self.field_owners.get(name)?;
        if owners.len() != 1 {
            return None;
        }
        let ty = owners.iter().next()?;
        self.field_values
            .get(&(ty.clone(), name.to_string()))
            .and_then(Option::as_ref)
    }

    /// The value the crate's literals of struct `ty` agree on for field
    /// `name` (read where the receiver's declared type is `ty`).
    pub fn field_value_of(&self, ty: &str, name: &str) -> Option<&Value> {
        self.field_values
            .get(&(ty.to_string(), name.to_string()))
            .and_then(Option::as_ref)
    }

    /// Whether the crate's struct `ty` has a field `name`.
    pub fn has_field(&self, ty: &str, name: &str) -> bool {
        self.field_owners.get(name).is_some_and(|o| o.contains(ty))
    }

    /// The value field `name` holds in what the crate's associated
    /// function `ctor` (`Policy::default`, no parameters) returns.
    pub fn ctor_field_value(&self, ctor: &str, name: &str) -> Option<&Value> {
        self.ctor_field_values
            .get(&(ctor.to_string(), name.to_string()))
            .and_then(Option::as_ref)
    }

    /// `file:line` where the crate gives field `name` of struct `ty` the
    /// value `field_value_of` returns.
    pub fn field_source_of(&self, ty: &str, name: &str) -> Option<&str> {
        self.value_sources
            .get(&format!("field:{ty}.{name}"))
            .map(String::as_str)
    }

    /// `file:line` where the crate gives field `name` the value
    /// `field_value` returns (a struct literal, a serde or clap default).
    pub fn field_source(&self, name: &str) -> Option<&str> {
        self.value_sources
            .get(&format!("field:{name}"))
            .map(String::as_str)
    }

    /// `file:line` of the `const` `const_value` returns.
    pub fn const_source(&self, name: &str) -> Option<&str> {
        self.value_sources
            .get(&format!("const:{name}"))
            .map(String::as_str)
    }

    /// The value a crate function without receiver returns, when exactly
    /// one function has that name and the code spells the value out.
    pub fn fn_returns(&self, name: &str) -> Option<&Value> {
        match self.functions.get(name)?.as_slice() {
            [only] if only.self_ty.is_none() => only.returns.as_ref(),
            _ => None,
        }
    }

    /// The durations the crate's calls of `name` (with `arity` arguments)
    /// spell out at position `pos`: `None` when no call does,
    /// `Some(Some(d))` when they all pass `d`, `Some(None)` when they differ.
    pub fn param_duration(&self, name: &str, arity: usize, pos: usize) -> Option<Option<u128>> {
        self.param_durations
            .get(&(name.to_string(), arity, pos))
            .copied()
    }

    /// The client a `static` of the crate holds, by name.
    pub fn static_kind(&self, name: &str) -> Option<&Kind> {
        self.static_kinds.get(name).and_then(Option::as_ref)
    }

    /// The client the crate function a call path names returns
    /// (`make_client()`, `crate::http::client()`, `Pools::channel(..)`),
    /// resolved as calls are; nothing when candidates disagree.
    pub fn returned_kind_of_path(
        &self,
        path: &[String],
        from: &[String],
        self_ty: Option<&str>,
    ) -> Option<&Kind> {
        let callee = Callee::of_path(path)?;
        agreed_kind(&self.resolve(&callee, from, self_ty))
    }

    /// The client builder the crate function a call path names returns
    /// (`get_client_builder()` → `ClientBuilder`).
    pub fn returned_builder_of_path(
        &self,
        path: &[String],
        from: &[String],
        self_ty: Option<&str>,
    ) -> Option<&Kind> {
        let callee = Callee::of_path(path)?;
        let candidates = self.resolve(&callee, from, self_ty);
        if !candidates.iter().all(|f| f.returns_builder) {
            return None;
        }
        agreed_kind(&candidates)
    }

    /// The client a method called on a value of unknown type returns, when
    /// every method of that name in the crate returns the same one.
    pub fn returned_kind_of_method(&self, name: &str) -> Option<&Kind> {
        let list = self.functions.get(name)?;
        let methods: Vec<&FnSummary> = list.iter().filter(|f| f.self_ty.is_some()).collect();
        agreed_kind(&methods)
    }

    /// Route paths registered anywhere in the crate.
    pub fn route_paths(&self) -> &[String] {
        &self.route_paths
    }

    /// Whether the crate is a program (some file holds `fn main`).
    pub fn has_main(&self) -> bool {
        self.has_main
    }

    /// Whether the crate registers tonic-health's service.
    pub fn has_grpc_health(&self) -> bool {
        self.grpc_health
    }

    /// What the crate serves whose TLS no sidecar can terminate for it
    /// (`admission-webhook`, `postgres-wire`), if anything.
    pub fn own_protocol_tls(&self) -> Option<&'static str> {
        self.own_protocol_tls
    }

    /// Whether the crate carries tonic-generated client code.
    pub fn has_tonic_codegen(&self) -> bool {
        self.tonic_codegen
    }

    /// Whether `name` is a client struct of the crate's tonic-build output.
    pub fn is_generated_client(&self, name: &str) -> bool {
        self.generated_clients.contains(name)
    }

    /// Whether `name` is the crate's own copy of tower's `TimeoutLayer`.
    pub fn is_timeout_layer(&self, name: &str) -> bool {
        self.timeout_layers.contains(name)
    }

    /// Whether `name` is the crate's own copy of tower's `RetryLayer`.
    pub fn is_retry_layer(&self, name: &str) -> bool {
        self.retry_layers.contains(name)
    }

    /// Whether the crate defines a struct or enum of this name.
    pub fn defines_type(&self, name: &str) -> bool {
        self.types.contains(name)
    }

    /// Whether a workspace crate it depends on writes a `*Client` struct of
    /// this name by hand (see `dep_client_types`).
    pub fn dep_defines_client(&self, name: &str) -> bool {
        self.dep_client_types.contains(name)
    }

    /// A crate-wide `const` by name, when exactly one value has that name.
    pub fn const_value(&self, name: &str) -> Option<&Value> {
        self.consts.get(name)
    }

    /// Functions or methods with this name anywhere in the crate.
    pub fn functions(&self, name: &str) -> &[FnSummary] {
        self.functions.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `path` is (inside) a module declared `#[cfg(test)]` elsewhere.
    pub fn is_test_path(&self, path: &std::path::Path) -> bool {
        path.ancestors().any(|p| self.test_paths.contains(p))
    }
}

/// Types of the values a body calls methods on: `self.breaker.call(..)`
/// with a field `breaker: CircuitBreaker`, a parameter `b: &Breaker`, or a
/// `let b = Breaker::new(..)`. Smart pointers are looked through.
fn receiver_types(cx: &FileCtx<'_>, scope: &FnScope<'_>, body: &syn::Block) -> Vec<String> {
    fn core(ty: &syn::Type) -> Option<String> {
        let path = analysis::scope::type_path(ty)?;
        let seg = path.segments.last()?;
        let name = seg.ident.to_string();
        if matches!(
            name.as_str(),
            "Arc" | "Rc" | "Box" | "Mutex" | "RwLock" | "Option"
        ) {
            if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                if let Some(syn::GenericArgument::Type(inner)) = a.args.first() {
                    return core(inner);
                }
            }
        }
        Some(name)
    }
    struct V<'v, 'c, 'a> {
        cx: &'v FileCtx<'a>,
        scope: &'v FnScope<'c>,
        out: Vec<String>,
    }
    impl<'x> Visit<'x> for V<'_, '_, '_> {
        fn visit_expr_method_call(&mut self, m: &'x syn::ExprMethodCall) {
            let ty = match &*m.receiver {
                syn::Expr::Field(f) => match &f.member {
                    syn::Member::Named(n) => self.cx.field_type(&n.to_string()).and_then(core),
                    syn::Member::Unnamed(_) => None,
                },
                syn::Expr::Path(p) => p.path.get_ident().and_then(|id| {
                    let b = self.scope.binding_at(id)?;
                    b.ty.and_then(core).or_else(|| match b.init? {
                        syn::Expr::Call(c) => match &*c.func {
                            syn::Expr::Path(fp) if fp.path.segments.len() >= 2 => {
                                let segs = &fp.path.segments;
                                Some(segs[segs.len() - 2].ident.to_string())
                            }
                            _ => None,
                        },
                        _ => None,
                    })
                }),
                _ => None,
            };
            if let Some(t) = ty {
                self.out.push(t);
            }
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_item(&mut self, _: &'x syn::Item) {}
    }
    let mut v = V {
        cx,
        scope,
        out: Vec::new(),
    };
    v.visit_block(body);
    v.out.sort();
    v.out.dedup();
    v.out
}

/// Closures and async blocks passed as arguments, per callee name.
struct Args<'v, 'e, 'a> {
    scan: &'v NetScan<'e, 'a>,
    module: &'v [String],
    out: &'v mut Vec<ClosureArg>,
}
impl Args<'_, '_, '_> {
    fn add<'x>(&mut self, callee: Callee, args: impl Iterator<Item = &'x syn::Expr>) {
        for a in args {
            let body: &syn::Expr = match a {
                syn::Expr::Closure(c) => &c.body,
                syn::Expr::Async(_) => a,
                _ => continue,
            };
            let calls = self.scan.calls_in_expr(body);
            let block = syn::Block {
                brace_token: Default::default(),
                stmts: vec![syn::Stmt::Expr(body.clone(), None)],
            };
            self.out.push(ClosureArg {
                callee: callee.clone(),
                module: self.module.to_vec(),
                net: summarise_calls(&calls),
                callees: callees(&block, &self.scan.cx.uses),
            });
        }
    }
}
impl Args<'_, '_, '_> {
    /// Every call and method call of the body, in order. The callee is
    /// named only for a call that passes a closure or an async block.
    fn sites(&mut self, sites: &[Site<'_>]) {
        fn passes_body<'x>(mut args: impl Iterator<Item = &'x syn::Expr>) -> bool {
            args.any(|a| matches!(a, syn::Expr::Closure(_) | syn::Expr::Async(_)))
        }
        for site in sites {
            match site {
                Site::Call(c) => {
                    let syn::Expr::Path(p) = &*c.func else {
                        continue;
                    };
                    let Some(last) = p.path.segments.last() else {
                        continue;
                    };
                    if !passes_body(c.args.iter()) {
                        continue;
                    }
                    let callee = Callee {
                        name: last.ident.to_string(),
                        via_self: p.path.segments.first().is_some_and(|s| s.ident == "Self"),
                        path: self.scan.cx.uses.resolve(&p.path),
                    };
                    self.add(callee, c.args.iter());
                }
                Site::Method(m) => {
                    if !passes_body(m.args.iter()) {
                        continue;
                    }
                    let callee = Callee {
                        name: m.method.to_string(),
                        via_self: matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self")),
                        path: Vec::new(),
                    };
                    self.add(callee, m.args.iter());
                }
                Site::Struct(_) => {}
            }
        }
    }
}

/// Whether a signature takes something callable: a generic or `impl`
/// bound on `Fn`, `FnMut` or `FnOnce`.
fn takes_fn(sig: &syn::Signature) -> bool {
    struct V(bool);
    impl<'a> Visit<'a> for V {
        fn visit_trait_bound(&mut self, b: &'a syn::TraitBound) {
            self.0 |= b
                .path
                .segments
                .last()
                .is_some_and(|s| ident_in(&s.ident, &["Fn", "FnMut", "FnOnce"]));
            syn::visit::visit_trait_bound(self, b);
        }
    }
    let mut v = V(false);
    v.visit_signature(sig);
    v.0
}

fn merge_closure(map: &mut HashMap<FnKey, Option<NetSummary>>, key: FnKey, net: NetSummary) {
    match map.get(&key) {
        Some(Some(prev)) if prev.dest != net.dest || prev.probe != net.probe => {
            let merged = NetSummary {
                protocol: prev.protocol,
                dest: if prev.dest == net.dest {
                    net.dest
                } else {
                    Default::default()
                },
                probe: prev.probe && net.probe,
            };
            map.insert(key, Some(merged));
        }
        Some(_) => {}
        None => {
            map.insert(key, Some(net));
        }
    }
}

/// Glob imports and `pub use` re-exports of a file, by inline module.
#[allow(clippy::type_complexity)]
fn imports(
    file: &syn::File,
) -> (
    Vec<(Vec<String>, Vec<String>)>,
    Vec<(Vec<String>, Vec<String>)>,
) {
    fn tree(
        t: &syn::UseTree,
        prefix: &mut Vec<String>,
        module: &[String],
        public: bool,
        globs: &mut Vec<(Vec<String>, Vec<String>)>,
        reexports: &mut Vec<(Vec<String>, Vec<String>)>,
    ) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                tree(&p.tree, prefix, module, public, globs, reexports);
                prefix.pop();
            }
            syn::UseTree::Name(n) if public => {
                let name = n.ident.to_string();
                let (local, full) = if name == "self" {
                    (prefix.last().cloned().unwrap_or_default(), prefix.clone())
                } else {
                    let mut full = prefix.clone();
                    full.push(name.clone());
                    (name, full)
                };
                let mut key = module.to_vec();
                key.push(local);
                reexports.push((key, full));
            }
            syn::UseTree::Rename(r) if public => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                let mut key = module.to_vec();
                key.push(r.rename.to_string());
                reexports.push((key, full));
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    tree(t, prefix, module, public, globs, reexports);
                }
            }
            syn::UseTree::Glob(_) => globs.push((module.to_vec(), prefix.clone())),
            _ => {}
        }
    }
    fn items(
        list: &[syn::Item],
        module: &mut Vec<String>,
        globs: &mut Vec<(Vec<String>, Vec<String>)>,
        reexports: &mut Vec<(Vec<String>, Vec<String>)>,
    ) {
        for item in list {
            match item {
                syn::Item::Use(u) => {
                    // `pub(crate) use upload::f;` re-exports inside the
                    // crate as `pub use` does: callers write `module::f`.
                    let public = !matches!(u.vis, syn::Visibility::Inherited);
                    let mut prefix = Vec::new();
                    tree(&u.tree, &mut prefix, module, public, globs, reexports);
                }
                syn::Item::Mod(m) => {
                    if let Some((_, inner)) = &m.content {
                        module.push(m.ident.to_string());
                        items(inner, module, globs, reexports);
                        module.pop();
                    }
                }
                _ => {}
            }
        }
    }
    let mut globs = Vec::new();
    let mut reexports = Vec::new();
    items(&file.items, &mut Vec::new(), &mut globs, &mut reexports);
    (globs, reexports)
}

/// `path` (as written, imports expanded) read from module `from`: the
/// module it names and the item's name. `None` for a bare name (resolved
/// by the caller through the module's own items and globs) and for paths
/// that leave the crate root (`super` above it).
fn absolute(path: &[String], from: &[String]) -> Option<(Vec<Vec<String>>, String)> {
    let (name, prefix) = path.split_last()?;
    if prefix.is_empty() {
        return None;
    }
    let mut base: Vec<String> = from.to_vec();
    let mut rest = prefix;
    match rest[0].as_str() {
        "crate" => {
            base.clear();
            rest = &rest[1..];
        }
        "self" => rest = &rest[1..],
        "super" => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        // Relative to the current module (2018), else from the root
        // (2015 paths, and dependency crates whose functions the index
        // imported under their extern name).
        _ => {
            let mut rel = base.clone();
            rel.extend(rest.iter().cloned());
            return Some((vec![rel, rest.to_vec()], name.clone()));
        }
    }
    base.extend(rest.iter().cloned());
    Some((vec![base], name.clone()))
}

#[cfg(test)]
mod tests {
    //! Calls across files and crates, and clients reached through fields,
    //! statics and functions of other files.
    use super::*;
    use crate::analysis::net::NetScan;

    fn summary(module: &[&str], text: &str) -> FileSummary {
        let file = syn::parse_file(text).expect("test source parses");
        let mut s = FileSummary::build(&file, std::path::Path::new("/x/src/f.rs"), text);
        s.module = module.iter().map(|m| m.to_string()).collect();
        s
    }

    /// The kind of the expression `expr` (written in `fn probe(&self)` of
    /// `impl Probe` in a file at `module`), against `index`.
    fn kind_in(index: &CrateIndex, module: &[&str], prelude: &str, expr: &str) -> Kind {
        let text = format!(
            "{prelude}\nstruct Probe;\nimpl Probe {{ fn probe(&self) {{ let _ = {expr}; }} }}"
        );
        let file = syn::parse_file(&text).expect("probe parses");
        let parts = analysis::FileParts::new(&file, &text);
        let mut cx = FileCtx::new(&parts, "src/probe.rs", index);
        cx.module = module.iter().map(|m| m.to_string()).collect();
        let f = analysis::scope::functions(&file)
            .into_iter()
            .find(|f| f.name == "probe")
            .expect("probe fn");
        let scope = FnScope::new(Some(f.sig), f.body);
        let scan = NetScan::new(&cx, &scope, Some("Probe"));
        let Some(syn::Stmt::Local(l)) = f.body.stmts.first() else {
            panic!("probe body is one let");
        };
        scan.kind_of(&l.init.as_ref().expect("init").expr, 0)
    }

    const CLIENTS: &str = r#"
        use std::sync::LazyLock;
        pub static CATALOG: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);
        pub fn make_client() -> reqwest::Client { reqwest::Client::new() }
        pub fn ledger() -> Result<tonic::transport::Channel, tonic::transport::Error> { todo!() }
    "#;
    const CONTEXT: &str = r#"
        pub struct Context { http: reqwest::Client }
        impl Context {
            pub fn pricing_client(&self) -> &reqwest::Client { &self.http }
        }
    "#;

    #[test]
    fn functions_of_other_files_return_clients() {
        let index = CrateIndex::build([
            summary(&["clients"], CLIENTS),
            summary(&["context"], CONTEXT),
        ]);
        assert_eq!(
            kind_in(&index, &["handlers"], "", "crate::clients::make_client()"),
            Kind::HttpClient("reqwest")
        );
        // Imported, then called by its bare name.
        assert_eq!(
            kind_in(
                &index,
                &["handlers"],
                "use crate::clients::make_client;",
                "make_client()"
            ),
            Kind::HttpClient("reqwest")
        );
        assert_eq!(
            kind_in(&index, &["handlers"], "", "crate::clients::ledger()?"),
            Kind::Grpc {
                url: Value::Unknown
            }
        );
        // A function of that name in another module is another function.
        assert_eq!(
            kind_in(&index, &["handlers"], "", "crate::context::make_client()"),
            Kind::Unknown
        );
    }

    #[test]
    fn methods_and_fields_declared_in_other_files() {
        let index = CrateIndex::build([
            summary(&["clients"], CLIENTS),
            summary(&["context"], CONTEXT),
        ]);
        // A method that returns a client, on a receiver of unknown type.
        assert_eq!(
            kind_in(&index, &["handlers"], "", "ctx.pricing_client()"),
            Kind::HttpClient("reqwest")
        );
        // A field whose struct is declared in another file.
        assert_eq!(
            kind_in(&index, &["handlers"], "", "state.http.clone()"),
            Kind::HttpClient("reqwest")
        );
        // A request built on it carries its URL.
        assert!(matches!(
            kind_in(&index, &["handlers"], "", r#"ctx.pricing_client().get("http://pricing:8080/p")"#),
            Kind::Request { url: Value::Str(u), .. } if u == "http://pricing:8080/p"
        ));
    }

    #[test]
    fn statics_of_other_files_hold_clients() {
        let index = CrateIndex::build([summary(&["clients"], CLIENTS)]);
        assert_eq!(
            index.static_kind("CATALOG"),
            Some(&Kind::HttpClient("reqwest"))
        );
        assert_eq!(
            kind_in(&index, &["handlers"], "", "CATALOG.clone()"),
            Kind::HttpClient("reqwest")
        );
        // A local binding of that name shadows the static.
        assert_eq!(
            kind_in(&index, &["handlers"], "", "{ let CATALOG = 3; CATALOG }"),
            Kind::Unknown
        );
    }

    #[test]
    fn durations_callers_pass_agree_or_not() {
        let callers = summary(
            &["jobs"],
            r#"
            use std::time::Duration;
            const DEADLINE: Duration = Duration::from_millis(750);
            fn a(c: &mut C) { balance(c, DEADLINE); }
            fn b(c: &mut C) { balance(c, Duration::from_millis(750)); }
            fn c() { builder(Duration::from_secs(1)); }
            fn d() { builder(Duration::from_secs(30)); }
            "#,
        );
        let index = CrateIndex::build([callers]);
        assert_eq!(
            index.param_duration("balance", 2, 1),
            Some(Some(750_000_000))
        );
        assert_eq!(index.param_duration("builder", 1, 0), Some(None));
        assert_eq!(index.param_duration("balance", 2, 0), None);
    }

    #[test]
    fn constants_of_dependencies_are_read_by_name() {
        let shared = CrateIndex::build([summary(
            &[],
            "pub const UPSTREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6);\n\
             pub const LIMIT: u32 = 1;",
        )]);
        let other = CrateIndex::build([summary(&[], "pub const LIMIT: u32 = 2;")]);
        let own = summary(&[], "pub const UPSTREAM_TIMEOUT: u64 = 9;");
        let index = CrateIndex::build_with_deps(
            [summary(&["handlers"], "fn f() {}")],
            &[
                ("shared".to_string(), &shared),
                ("other".to_string(), &other),
            ],
            None,
        );
        assert_eq!(
            index.const_value("UPSTREAM_TIMEOUT"),
            Some(&Value::Duration(6_000_000_000))
        );
        // Two dependencies that disagree give nothing.
        assert_eq!(index.const_value("LIMIT"), None);
        // The crate's own const wins.
        let index = CrateIndex::build_with_deps([own], &[("shared".to_string(), &shared)], None);
        assert_eq!(index.const_value("UPSTREAM_TIMEOUT"), Some(&Value::Int(9)));
    }

    /// The network summary of crate function `name` of type `ty`.
    fn net_of(index: &CrateIndex, ty: &str, name: &str) -> Option<NetSummary> {
        agreed_net(&index.methods_of(ty, name)).cloned()
    }

    const PROVIDERS: &str = r#"
        pub trait Backend { async fn complete(&self) -> String; }
        pub struct Fire { http: reqwest::Client }
        impl Backend for Fire {
            async fn complete(&self) -> String {
                self.http.get("http://fire:8080/").send().await.unwrap().text().await.unwrap()
            }
        }
        pub struct Wind { http: reqwest::Client }
        impl Backend for Wind {
            async fn complete(&self) -> String {
                self.http.get("http://wind:8080/").send().await.unwrap().text().await.unwrap()
            }
        }
        pub struct Echo;
        impl Backend for Echo { async fn complete(&self) -> String { String::new() } }
        pub enum AnyBackend { Fire(Fire), Wind(Box<Wind>), Echo(Echo) }
        impl AnyBackend {
            pub async fn complete(&self) -> String {
                match self {
                    AnyBackend::Fire(b) => b.complete().await,
                    AnyBackend::Wind(b) => b.complete().await,
                    AnyBackend::Echo(b) => b.complete().await,
                }
            }
        }
    "#;

    #[test]
    fn trait_methods_reach_the_network_when_most_impls_do() {
        let index = CrateIndex::build([summary(&["providers"], PROVIDERS)]);
        let n = index
            .net_of_trait_method("Backend", "complete")
            .expect("2 of 3 impls call out");
        assert_eq!(n.protocol, crate::analysis::net::Protocol::Http);
        // Two hosts: the trait call names neither.
        assert_eq!(n.dest.host, None);
        // The enum dispatches to each variant's value, through files.
        assert!(net_of(&index, "AnyBackend", "complete").is_some());
        let caller = summary(
            &["route"],
            r#"
            use crate::providers::AnyBackend;
            pub struct Route { backend: AnyBackend }
            impl Route { pub async fn ask(&self) -> String { self.backend.complete().await } }
            pub async fn ask_dyn(b: &dyn crate::providers::Backend) -> String { b.complete().await }
            pub async fn ask_generic<B: Backend + Send>(b: std::sync::Arc<B>) -> String { b.complete().await }
            "#,
        );
        let index = CrateIndex::build([summary(&["providers"], PROVIDERS), caller]);
        assert!(net_of(&index, "Route", "ask").is_some());
        let free = |name: &str| index.functions(name).first().and_then(|f| f.net.clone());
        assert!(free("ask_dyn").is_some());
        assert!(free("ask_generic").is_some());

        // One network impl among three in-process ones is no network call.
        let local = r#"
            pub trait Store { fn load(&self) -> Vec<u8>; }
            pub struct Remote { http: reqwest::blocking::Client }
            impl Store for Remote {
                fn load(&self) -> Vec<u8> { self.http.get("http://blobs/").send().unwrap().bytes().unwrap().to_vec() }
            }
            pub struct Mem;
            impl Store for Mem { fn load(&self) -> Vec<u8> { Vec::new() } }
            pub struct Disk;
            impl Store for Disk { fn load(&self) -> Vec<u8> { std::fs::read("x").unwrap() } }
            pub fn read_any(s: &dyn Store) -> Vec<u8> { s.load() }
        "#;
        let index = CrateIndex::build([summary(&["store"], local)]);
        assert_eq!(index.net_of_trait_method("Store", "load"), None);
        assert_eq!(index.functions("read_any")[0].net, None);
    }

    #[test]
    fn dependency_types_wrap_clients() {
        // A workspace crate that wraps reqwest and ureq.
        let wire = CrateIndex::build([
            summary(
                &[],
                r#"
                pub struct WireClient { inner: reqwest::Client }
                impl WireClient {
                    pub fn post(&self, url: &str) -> WireRequest { WireRequest { builder: self.inner.post(url) } }
                }
                pub struct WireRequest { builder: reqwest::RequestBuilder }
                impl WireRequest {
                    pub async fn send(self) -> reqwest::Result<reqwest::Response> { self.builder.send().await }
                }
                "#,
            ),
            summary(
                &["blocking"],
                r#"
                pub struct Agent { inner: ureq::Agent }
                impl std::ops::Deref for Agent {
                    type Target = ureq::Agent;
                    fn deref(&self) -> &ureq::Agent { &self.inner }
                }
                "#,
            ),
        ]);
        assert!(net_of(&wire, "WireRequest", "send").is_some());
        let user = summary(
            &["embed"],
            r#"
            use wire::WireClient;
            pub struct Embedder { http: WireClient }
            impl Embedder {
                pub async fn embed(&self) { let _ = self.http.post("http://embedder:9000/").send().await; }
                pub fn agent_name(&self) -> &str { "x" }
            }
            "#,
        );
        let index = CrateIndex::build_with_deps([user], &[("wire".to_string(), &wire)], None);
        assert!(net_of(&index, "Embedder", "embed").is_some());
        assert_eq!(net_of(&index, "Embedder", "agent_name"), None);
        // The dependency's methods answer only declared receivers: a
        // method of that name on an unknown value is not followed.
        assert_eq!(index.net_of_any_method("send"), None);
        assert_eq!(index.deref_kind("Agent"), Some(&Kind::HttpClient("ureq")));
        // A value declared as the wrapper is the client it derefs to.
        assert_eq!(
            kind_in(
                &index,
                &["embed"],
                "use wire::blocking::Agent; fn agent() -> Agent { todo!() }",
                "agent()"
            ),
            Kind::HttpClient("ureq")
        );
    }
}
