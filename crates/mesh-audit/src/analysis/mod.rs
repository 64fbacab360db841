//! Shared analysis that every rule builds on: import resolution, constant
//! folding, `let` scopes, macro bodies, test-code regions and server binds.
//! Rules ask these questions instead of re-deriving answers from syntax.

pub mod binds;
pub mod config;
pub mod duration;
pub mod eval;
pub mod lifecycle;
pub mod macros;
pub mod mentions;
pub mod net;
pub mod paths;
pub mod probe;
pub mod retry;
pub mod scope;
pub mod sites;
pub mod testcode;
pub mod tls;

use crate::source::SpanBytes;
use rustc_hash::FxHashMap as HashMap;

use mesh_audit_model::TextRange;
use syn::Expr;

use crate::index::CrateIndex;
use crate::source::LineIndex;

pub use eval::{Evaluator, Value};
pub use macros::MacroTable;
pub use paths::UseMap;
pub use scope::{FnItem, FnScope};

/// What a file's text and syntax tree alone decide, whatever crate index
/// it is read with: its lines, imports, macro bodies, constants, functions
/// and their `let` scopes. Built once per tree: pass 1 summarises the file
/// with it, and a tree held for pass 2 keeps it (`workers::Tree`), so the
/// rules read the same parts instead of walking the tree again.
pub struct FileParts<'a> {
    pub file: &'a syn::File,
    pub lines: LineIndex<'a>,
    /// The file's imports, without other crates' re-exports (those come
    /// from the index: [`FileCtx::new`] adds them).
    uses: UseMap,
    macros: MacroTable<'a>,
    consts: HashMap<String, &'a Expr>,
    fields: HashMap<String, &'a syn::Type>,
    fn_returns: HashMap<String, &'a syn::Type>,
    /// Non-generic `type X = ..;` items at the file's top level, by name:
    /// looked up for every parameter, so a map rather than a scan of items.
    type_aliases: HashMap<String, &'a syn::Type>,
    /// Generic `type X<T> = Result<T, E>;` (or `Option<T>`) items at the
    /// file's top level: an `X<Client>` holds a client.
    ok_aliases: Vec<String>,
    /// Free functions without parameters, by name (`fn default_timeout()`);
    /// a name defined twice is left out.
    zero_arg_fns: HashMap<String, Option<&'a syn::Block>>,
    /// Every function body of the file (see [`scope::functions`]), listed
    /// once: most analyses go through them all.
    fns: Vec<FnItem<'a>>,
    /// The scope of each of `fns`, in the same order. Made up front, not
    /// on first use: a cell would make `FileParts` invariant in `'a`, and
    /// a held tree's parts could not be kept beside it.
    fn_scopes: Vec<FnScope<'a>>,
    /// Every item of the file, in `syn::visit` order (see
    /// [`scope::functions_items_macros`]).
    items: Vec<&'a syn::Item>,
    /// Byte ranges of the file's test items (`testcode::test_regions`):
    /// the summary, the engine and several rules ask.
    test_regions: std::cell::OnceCell<Vec<std::ops::Range<usize>>>,
}

impl<'a> FileParts<'a> {
    /// The parts of `file`, parsed from `text`.
    pub fn new(file: &'a syn::File, text: &'a str) -> FileParts<'a> {
        let lines = LineIndex::new(text);
        // Macro keys, module ranges and scopes read byte offsets of spans.
        let _spans = crate::source::SpanText::enter(&lines);
        let (fns, items, invocations) = scope::functions_items_macros(file);
        let mut zero_arg_fns: HashMap<String, Option<&'a syn::Block>> = HashMap::default();
        for f in &fns {
            if f.self_ty.is_none() && f.sig.inputs.is_empty() {
                zero_arg_fns
                    .entry(f.name.clone())
                    .and_modify(|b| *b = None)
                    .or_insert(Some(f.body));
            }
        }
        FileParts {
            file,
            uses: UseMap::of_items(&items),
            macros: MacroTable::of(&items, &invocations),
            consts: const_exprs(&items),
            fields: net::field_types(&items),
            zero_arg_fns,
            fn_returns: fns
                .iter()
                .filter_map(|f| match &f.sig.output {
                    syn::ReturnType::Type(_, ty) => Some((f.name.clone(), &**ty)),
                    syn::ReturnType::Default => None,
                })
                .collect(),
            fn_scopes: fns
                .iter()
                .map(|f| FnScope::new(Some(f.sig), f.body))
                .collect(),
            fns,
            items,
            type_aliases: type_aliases(file),
            ok_aliases: ok_aliases(file),
            test_regions: std::cell::OnceCell::new(),
            lines,
        }
    }
}

/// Everything a rule may look at for one file.
pub struct FileCtx<'a> {
    pub file: &'a syn::File,
    /// Relative to the audit root, `/` separators.
    pub path: &'a str,
    pub lines: &'a LineIndex<'a>,
    pub index: &'a CrateIndex,
    /// The file's imports, read through the re-exports the index knows of
    /// (the parts' own map when there are none).
    pub uses: std::borrow::Cow<'a, UseMap>,
    pub macros: &'a MacroTable<'a>,
    parts: &'a FileParts<'a>,
    binds: std::cell::OnceCell<Vec<binds::ServerBind>>,
    retry_loops: std::cell::OnceCell<Vec<retry::RetryLoop>>,
    lifecycles: std::cell::OnceCell<Vec<lifecycle::FnLifecycle>>,
    /// What [`net::NetScan::classify`] answered for the calls in `fns`, by
    /// (function, expression address, `let` horizon), when the scan reads
    /// that function's own scope. Several rules sweep every body for network
    /// calls, and each answer resolves receivers and paths through the index.
    pub(crate) classified: std::cell::RefCell<net::ClassifyMemo>,
    /// Long-lived consumer reconnect loops count as retry loops (opt-in).
    pub include_reconnect: bool,
    /// The file's module path in its crate, where its paths are read from.
    pub module: Vec<String>,
}

impl<'a> FileCtx<'a> {
    /// The file of `parts`, read with `index`.
    pub fn new(parts: &'a FileParts<'a>, path: &'a str, index: &'a CrateIndex) -> Self {
        let reexports = index.foreign_reexports();
        let uses = if reexports.is_empty() {
            std::borrow::Cow::Borrowed(&parts.uses)
        } else {
            std::borrow::Cow::Owned(parts.uses.clone().with_reexports(reexports))
        };
        FileCtx {
            file: parts.file,
            path,
            lines: &parts.lines,
            index,
            uses,
            macros: &parts.macros,
            parts,
            binds: std::cell::OnceCell::new(),
            retry_loops: std::cell::OnceCell::new(),
            lifecycles: std::cell::OnceCell::new(),
            classified: Default::default(),
            include_reconnect: false,
            module: Vec::new(),
        }
    }

    /// Every function body of the file, nested modules included.
    pub fn functions(&self) -> &[FnItem<'a>] {
        &self.parts.fns
    }

    /// Every item of the file, nested ones included, in the order a
    /// `syn::visit` walk of the file meets them.
    pub fn items(&self) -> &[&'a syn::Item] {
        &self.parts.items
    }

    /// The `let`s and parameters of each of [`FileCtx::functions`], in the
    /// same order: a pure function of the body, read by most analyses.
    pub fn fn_scopes(&self) -> &[FnScope<'a>] {
        &self.parts.fn_scopes
    }

    /// The scope of one of [`FileCtx::functions`] (as `file_fn` returns it).
    pub fn scope_of(&self, f: &FnItem<'a>) -> Option<&FnScope<'a>> {
        let i = self
            .parts
            .fns
            .iter()
            .position(|g| std::ptr::eq(g.body, f.body))?;
        self.fn_scopes().get(i)
    }

    /// The aliased type of a non-generic top-level `type` item of this file.
    pub fn type_alias(&self, name: &str) -> Option<&'a syn::Type> {
        self.parts.type_aliases.get(name).copied()
    }

    /// Whether `X<T>` holds a `T` as `Result<T, E>` does: `Result` itself,
    /// a generic alias of this file defined so, or (defined elsewhere) a
    /// name that follows the `..Result` convention. A non-generic alias of
    /// this file of that name is read from its definition instead.
    pub fn ok_alias(&self, name: &str) -> bool {
        self.parts.ok_aliases.iter().any(|a| a == name)
            || scope::is_result_name(name) && !self.parts.type_aliases.contains_key(name)
    }

    /// The declared type of a struct field of this file, by field name.
    pub fn field_type(&self, name: &str) -> Option<&'a syn::Type> {
        self.parts.fields.get(name).copied()
    }

    /// Every struct field's declared type of this file, by field name
    /// (`net::field_types`).
    pub fn field_types(&self) -> &HashMap<String, &'a syn::Type> {
        &self.parts.fields
    }

    /// The body of a free function of this file without parameters.
    pub fn zero_arg_fn(&self, name: &str) -> Option<&'a syn::Block> {
        self.parts.zero_arg_fns.get(name).copied().flatten()
    }

    /// The return type of a function of this file, by name.
    pub fn fn_return_type(&self, name: &str) -> Option<&'a syn::Type> {
        self.parts.fn_returns.get(name).copied()
    }

    /// Retry loops of this file, computed once for the resilience rules.
    pub fn retry_loops(&self) -> &[retry::RetryLoop] {
        self.retry_loops.get_or_init(|| retry::retry_loops(self))
    }

    /// What each function of the file (in `scope::functions` order) serves,
    /// binds and spawns, computed once for the lifecycle rules.
    pub fn lifecycles(&self) -> &[lifecycle::FnLifecycle] {
        self.lifecycles.get_or_init(|| {
            let attrs = lifecycle::attr_routes(&self.parts.fns);
            self.parts
                .fns
                .iter()
                .zip(self.fn_scopes())
                .map(|(f, scope)| lifecycle::analyse_fn(self, f, scope, &attrs))
                .collect()
        })
    }

    /// Byte ranges of the file's test items, computed once.
    pub fn test_regions(&self) -> &[std::ops::Range<usize>] {
        self.parts
            .test_regions
            .get_or_init(|| testcode::test_regions(&self.parts.items))
    }

    /// Server binds of this file, computed once for all bind rules.
    pub fn server_binds(&self) -> &[binds::ServerBind] {
        self.binds.get_or_init(|| binds::server_binds(self))
    }

    /// The initialiser of a `const`/`static` of this file (any module, any
    /// impl), by name.
    pub fn const_expr(&self, name: &str) -> Option<&'a Expr> {
        self.parts.consts.get(name).copied()
    }

    /// Every `const` and `static` initialiser of the file `const_expr`
    /// reads, by name, in name order.
    pub fn const_items(&self) -> Vec<(&str, &'a Expr)> {
        let mut v: Vec<(&str, &'a Expr)> = self
            .parts
            .consts
            .iter()
            .map(|(k, e)| (k.as_str(), *e))
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }

    pub fn range(&self, span: proc_macro2::Span) -> TextRange {
        self.lines.span_range(span)
    }

    /// A method call from its name to its closing parenthesis: in a
    /// multi-line builder chain this is the line a reader looks at.
    pub fn method_range(&self, m: &syn::ExprMethodCall) -> TextRange {
        let start = m.method.span().byte_start();
        let end = m.paren_token.span.close().byte_end();
        self.lines.range(start..end.max(start))
    }

    /// A call from its callee's first token to its closing parenthesis,
    /// without re-tokenising the arguments (calls are classified by the
    /// thousand; a token stream per call would make this quadratic).
    pub fn call_range(&self, c: &syn::ExprCall) -> TextRange {
        let end = c.paren_token.span.close().byte_end();
        match expr_start(&c.func) {
            Some(start) => self.lines.range(start..end.max(start)),
            None => self.node_range(c),
        }
    }

    /// Range covering a syntax node's tokens.
    pub fn node_range<T: quote::ToTokens>(&self, node: &T) -> TextRange {
        let mut tokens = node.to_token_stream().into_iter();
        let Some(first) = tokens.next() else {
            return TextRange::default();
        };
        let start = first.span().byte_start();
        let end = tokens
            .last()
            .map(|t| t.span().byte_end())
            .unwrap_or(first.span().byte_end());
        self.lines.range(start..end.max(start))
    }
}

/// `const`/`static` initialisers by name; a name defined twice with
/// different initialisers is left out rather than guessed. `items` is every
/// item of the file in walk order ([`scope::functions_items_macros`]); items
/// inside an initialiser (`const X: T = { const Y: u8 = 1; .. };`) are the
/// initialiser's own and not read.
pub fn const_exprs<'a>(items: &[&'a syn::Item]) -> HashMap<String, &'a Expr> {
    let mut out: HashMap<String, Option<&'a Expr>> = HashMap::default();
    let mut add = |name: String, e: &'a Expr| match out.get(&name) {
        None => {
            out.insert(name, Some(e));
        }
        Some(Some(prev)) if quote::quote!(#prev).to_string() == quote::quote!(#e).to_string() => {}
        Some(_) => {
            out.insert(name, None);
        }
    };
    // The bytes of the initialisers read so far that may still hold items.
    let mut inside: Vec<std::ops::Range<usize>> = Vec::new();
    let bytes =
        |start: proc_macro2::Span, semi: proc_macro2::Span| start.byte_start()..semi.byte_end();
    for &item in items {
        let (at, own) = match item {
            syn::Item::Const(c) => (c.const_token.span.byte_start(), None),
            syn::Item::Static(s) => (s.static_token.span.byte_start(), None),
            syn::Item::Impl(i) => (i.impl_token.span.byte_start(), Some(i)),
            _ => continue,
        };
        while inside.last().is_some_and(|r| at >= r.end) {
            inside.pop();
        }
        if inside.last().is_some_and(|r| r.contains(&at)) {
            continue;
        }
        match (item, own) {
            (syn::Item::Const(c), _) => {
                add(c.ident.to_string(), &c.expr);
                inside.push(bytes(c.const_token.span, c.semi_token.span));
            }
            (syn::Item::Static(s), _) => {
                add(s.ident.to_string(), &s.expr);
                inside.push(bytes(s.static_token.span, s.semi_token.span));
            }
            (_, Some(i)) => {
                for c in i.items.iter().filter_map(|m| match m {
                    syn::ImplItem::Const(c) => Some(c),
                    _ => None,
                }) {
                    add(c.ident.to_string(), &c.expr);
                    inside.push(bytes(c.const_token.span, c.semi_token.span));
                }
            }
            _ => {}
        }
    }
    out.into_iter()
        .filter_map(|(k, v)| v.map(|e| (k, e)))
        .collect()
}

/// Byte offset of an expression's first token, for the shapes a callee or
/// receiver takes; `None` where it would take a token walk.
fn expr_start(e: &Expr) -> Option<usize> {
    let span = match e {
        Expr::Path(p) => match (&p.qself, &p.path.leading_colon) {
            (Some(q), _) => q.lt_token.span,
            (None, Some(c)) => c.spans[0],
            (None, None) => p.path.segments.first()?.ident.span(),
        },
        Expr::MethodCall(m) => return expr_start(&m.receiver),
        Expr::Field(f) => return expr_start(&f.base),
        Expr::Call(c) => return expr_start(&c.func),
        Expr::Await(a) => return expr_start(&a.base),
        Expr::Try(t) => return expr_start(&t.expr),
        Expr::Paren(p) => p.paren_token.span.open(),
        _ => return None,
    };
    Some(span.byte_start())
}

/// The first non-generic top-level `type` alias of each name.
fn ok_aliases(file: &syn::File) -> Vec<String> {
    let mut out = Vec::new();
    for item in &file.items {
        let syn::Item::Type(t) = item else { continue };
        let Some(syn::GenericParam::Type(first)) = t.generics.params.first() else {
            continue;
        };
        let Some(seg) = scope::type_path(&t.ty).and_then(|p| p.segments.last()) else {
            continue;
        };
        if !(scope::is_result_name(&seg.ident.to_string()) || seg.ident == "Option") {
            continue;
        }
        let syn::PathArguments::AngleBracketed(a) = &seg.arguments else {
            continue;
        };
        if let Some(syn::GenericArgument::Type(syn::Type::Path(p))) = a.args.first() {
            if p.path.is_ident(&first.ident) {
                out.push(t.ident.to_string());
            }
        }
    }
    out
}

fn type_aliases(file: &syn::File) -> HashMap<String, &syn::Type> {
    let mut out = HashMap::default();
    for item in &file.items {
        if let syn::Item::Type(t) = item {
            if t.generics.params.is_empty() {
                out.entry(t.ident.to_string()).or_insert(&*t.ty);
            }
        }
    }
    out
}
