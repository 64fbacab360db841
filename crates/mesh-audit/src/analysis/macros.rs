//! Code inside macro invocations is code too. syn keeps a macro's body as a
//! token stream; this module re-parses the bodies of function-like macros in
//! expression or statement position, once per file, so that rules see a call
//! inside `tokio::select!`, `join!`, `format!` arguments and the like.

use crate::analysis::paths::ident_in;
use crate::source::SpanBytes;
use rustc_hash::FxHashMap as HashMap;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Token};

/// How a macro body was understood.
pub enum MacroBody {
    /// Comma-separated expressions: `format!`, `join!`, `vec!`, most others.
    Exprs(Vec<Expr>),
    /// `select!`-style arms: `pattern = future => handler`.
    Select(Vec<SelectArm>),
    /// A statement list, e.g. the body of a macro that wraps a block.
    Stmts(Vec<syn::Stmt>),
}

pub struct SelectArm {
    pub future: Expr,
    pub handler: Option<Expr>,
}

impl MacroBody {
    /// Every expression the body holds, in source order.
    pub fn exprs(&self) -> Vec<&Expr> {
        match self {
            MacroBody::Exprs(e) => e.iter().collect(),
            MacroBody::Select(arms) => arms
                .iter()
                .flat_map(|a| std::iter::once(&a.future).chain(a.handler.as_ref()))
                .collect(),
            MacroBody::Stmts(stmts) => stmts
                .iter()
                .filter_map(|s| match s {
                    syn::Stmt::Expr(e, _) => Some(e),
                    syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// Parsed bodies of every macro in one file, keyed by the macro's byte span.
///
/// Most files invoke dozens of macros (`format!`, `vec!`, `assert!`,
/// tracing) whose bodies no rule ever reads, so bodies are parsed the first
/// time a rule asks for them (`lazy`). A file with a `macro_rules!` that the
/// table expands is parsed eagerly (`bodies`) instead: an expansion's nested
/// invocations carry the spans of the definition, so which body a key holds
/// depends on the order of the whole file's walk.
#[derive(Default)]
pub struct MacroTable<'a> {
    bodies: HashMap<(usize, usize), MacroBody>,
    /// The file's top-level invocations, sorted by key, parsed on demand.
    /// They are the file's own nodes, not copies: most are never parsed.
    lazy: Vec<LazyMacro<'a>>,
    /// The file's own `macro_rules!`, by name: `(pattern, body)` per rule.
    local: HashMap<String, Vec<(TokenStream, TokenStream)>>,
    /// Invocations whose body is an expansion of a local `macro_rules!`.
    expanded: rustc_hash::FxHashSet<(usize, usize)>,
    /// Bytes of the `macro_rules!` definitions: an invocation written
    /// inside one is not expanded, so expansions never nest or cycle.
    definitions: Vec<std::ops::Range<usize>>,
    /// Where each substituted fragment sits in the macro's definition:
    /// (bytes of the fragment at the invocation, byte of its `$name`).
    origins: Vec<(std::ops::Range<usize>, usize)>,
}

/// One invocation whose body is parsed the first time it is asked for.
/// Without expansions every key is a span of the file's own text, so
/// invocations at one level never overlap and a nested invocation lies
/// inside its parent's bytes: a lookup descends by byte range.
struct LazyMacro<'a> {
    key: (usize, usize),
    mac: std::borrow::Cow<'a, syn::Macro>,
    depth: usize,
    parsed: std::cell::OnceCell<Option<ParsedMacro>>,
}

struct ParsedMacro {
    body: MacroBody,
    /// Invocations inside the body, sorted by key (copies: the body is
    /// parsed here, so they cannot borrow from the file).
    nested: Vec<LazyMacro<'static>>,
}

impl LazyMacro<'_> {
    fn parsed(&self) -> Option<&ParsedMacro> {
        self.parsed
            .get_or_init(|| {
                let body = parse_body(&self.mac)?;
                let nested = if self.depth < MAX_DEPTH {
                    let owned = nested_macros(&body)
                        .into_iter()
                        .map(std::borrow::Cow::Owned);
                    lazy_list(owned.collect(), self.depth + 1)
                } else {
                    Vec::new()
                };
                Some(ParsedMacro { body, nested })
            })
            .as_ref()
    }
}

/// Invocations sorted by key; a key seen twice keeps its first invocation.
fn lazy_list<'a>(
    macros: Vec<std::borrow::Cow<'a, syn::Macro>>,
    depth: usize,
) -> Vec<LazyMacro<'a>> {
    let mut list: Vec<LazyMacro<'a>> = macros
        .into_iter()
        .map(|mac| LazyMacro {
            key: key(&mac),
            mac,
            depth,
            parsed: std::cell::OnceCell::new(),
        })
        .collect();
    // Stable: of two invocations with one key, the first stays first.
    list.sort_by_key(|m| m.key);
    list.dedup_by_key(|m| m.key);
    list
}

/// The body of the invocation with key `k`, parsing the invocations that
/// enclose it on the way down.
fn find_lazy<'t>(list: &'t [LazyMacro<'_>], k: (usize, usize)) -> Option<&'t MacroBody> {
    let at = list.partition_point(|m| m.key.0 <= k.0).checked_sub(1)?;
    let m = &list[at];
    if m.key == k {
        return m.parsed().map(|p| &p.body);
    }
    if k.1 > m.key.1 {
        return None;
    }
    find_lazy(&m.parsed()?.nested, k)
}

/// The invocations a parsed body holds (not those inside them).
fn nested_macros(body: &MacroBody) -> Vec<syn::Macro> {
    let mut nested = Vec::new();
    let mut finder = MacroFinder { found: &mut nested };
    match body {
        MacroBody::Stmts(stmts) => stmts.iter().for_each(|s| finder.visit_stmt(s)),
        other => other.exprs().into_iter().for_each(|e| finder.visit_expr(e)),
    }
    nested
}

fn key(mac: &syn::Macro) -> (usize, usize) {
    let start = mac
        .path
        .segments
        .first()
        .map(|s| s.ident.span().byte_start())
        .unwrap_or(0);
    (start, mac.delimiter.span().close().byte_end())
}

/// Deep macro nesting is not hand-written code; stop re-parsing there.
const MAX_DEPTH: usize = 16;

impl<'a> MacroTable<'a> {
    /// The table of a whole file (tests; the engine builds it from the
    /// lists its file parts already hold, [`MacroTable::of`]).
    #[cfg(test)]
    pub fn new(file: &'a syn::File) -> MacroTable<'a> {
        let (_, items, macros) = crate::analysis::scope::functions_items_macros(file);
        MacroTable::of(&items, &macros)
    }

    /// The table of a file with these items and invocations (see
    /// [`crate::analysis::scope::functions_items_macros`]).
    pub fn of(items: &[&'a syn::Item], macros: &[&'a syn::Macro]) -> MacroTable<'a> {
        let (local, definitions, found) = file_macros(items, macros);
        let mut table = MacroTable {
            local,
            definitions,
            ..Default::default()
        };
        if table.local.is_empty() {
            table.lazy = lazy_list(found, 0);
        } else {
            table.add_all(
                found
                    .into_iter()
                    .map(std::borrow::Cow::into_owned)
                    .collect(),
                0,
            );
        }
        table
    }

    fn add_all(&mut self, macros: Vec<syn::Macro>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for mac in macros {
            let k = key(&mac);
            if self.bodies.contains_key(&k) {
                continue;
            }
            // The crate's own `macro_rules!`: expanded at the invocation, so
            // a loop in its body is seen around the call passed in.
            let expansion = self.expand(&mac);
            let is_expansion = expansion.is_some();
            let Some(body) = expansion.or_else(|| parse_body(&mac)) else {
                continue;
            };
            if is_expansion {
                self.expanded.insert(k);
            }
            let nested = nested_macros(&body);
            self.bodies.insert(k, body);
            self.add_all(nested, depth + 1);
        }
    }

    /// Whether any invocation in the file was expanded.
    pub fn has_expansions(&self) -> bool {
        !self.expanded.is_empty()
    }

    /// Whether `mac` invokes one of the file's own `macro_rules!` and its
    /// body here is the expansion.
    pub fn is_expansion(&self, mac: &syn::Macro) -> bool {
        self.expanded.contains(&key(mac))
    }

    /// For a byte inside a fragment substituted into an expansion, the
    /// byte of the `$name` it replaced in the definition: where the
    /// fragment runs, in the order of the macro's body.
    pub fn origin(&self, at: usize) -> Option<usize> {
        self.origins
            .iter()
            .find(|(r, _)| r.contains(&at))
            .map(|(_, p)| *p)
    }

    fn expand(&mut self, mac: &syn::Macro) -> Option<MacroBody> {
        if mac.path.segments.len() > 2 {
            return None;
        }
        let at = key(mac).0;
        if self.definitions.iter().any(|d| d.contains(&at)) {
            return None;
        }
        let rules = self.local.get(&macro_name(mac))?;
        for (pattern, body) in rules {
            let Some(bindings) = match_rule(pattern, &mac.tokens) else {
                continue;
            };
            let mut origins = Vec::new();
            let tokens = substitute(body, &bindings, &mut origins)?;
            let stmts = syn::Block::parse_within.parse2(tokens).ok()?;
            self.origins.extend(origins);
            return Some(MacroBody::Stmts(stmts));
        }
        None
    }

    pub fn get(&self, mac: &syn::Macro) -> Option<&MacroBody> {
        let k = key(mac);
        if self.lazy.is_empty() {
            self.bodies.get(&k)
        } else {
            find_lazy(&self.lazy, k)
        }
    }

    /// The expressions inside `mac`, or none when its body is not Rust code.
    pub fn exprs(&self, mac: &syn::Macro) -> Vec<&Expr> {
        self.get(mac).map(MacroBody::exprs).unwrap_or_default()
    }

    /// The statements inside `mac`, when its body is a statement list.
    pub fn stmts(&self, mac: &syn::Macro) -> &[syn::Stmt] {
        match self.get(mac) {
            Some(MacroBody::Stmts(s)) => s,
            _ => &[],
        }
    }
}

struct MacroFinder<'a> {
    found: &'a mut Vec<syn::Macro>,
}

/// The same as [`MacroFinder`] over the file itself: the invocations are
/// borrowed, not copied.
impl<'ast> Visit<'ast> for MacroFinder<'_> {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Bodies that are never parsed are not copied either: a
        // `macro_rules!` definition can be most of a file.
        if !never_code(&macro_name(mac)) {
            self.found.push(mac.clone());
        }
    }
}

/// Macros whose bodies are not Rust expressions or statements.
fn never_code(name: &str) -> bool {
    matches!(
        name,
        "macro_rules" | "include_str" | "include_bytes" | "stringify" | "env" | "cfg"
    )
}

/// The file's `macro_rules!` definitions (any module), by name; a name
/// defined twice is left out.
type Rules = Vec<(TokenStream, TokenStream)>;

/// The file's `macro_rules!` definitions (see [`Rules`]) and their bytes,
/// from its items, and of its invocations (`macros`, every one in walk
/// order: [`crate::analysis::scope::functions_items_macros`]) those whose
/// body may be code, in the order they are written.
#[allow(clippy::type_complexity)]
fn file_macros<'a>(
    items: &[&'a syn::Item],
    macros: &[&'a syn::Macro],
) -> (
    HashMap<String, Rules>,
    Vec<std::ops::Range<usize>>,
    Vec<std::borrow::Cow<'a, syn::Macro>>,
) {
    let mut defined: HashMap<String, Option<Rules>> = HashMap::default();
    let mut definitions = Vec::new();
    for &item in items {
        let syn::Item::Macro(m) = item else { continue };
        if let (Some(id), true) = (&m.ident, m.mac.path.is_ident("macro_rules")) {
            let start = m.mac.bang_token.span.byte_start();
            let end = m.mac.delimiter.span().close().byte_end();
            definitions.push(start..end);
            // Only a macro whose body loops can hide a retry loop, and
            // only one that registers routes (an app builder shared by
            // `main` and the tests) can hide a health route; the others
            // (`cfg_*!` item wrappers, assertion helpers) are not worth
            // re-parsing at every invocation.
            let rules = parse_rules(m.mac.tokens.clone()).filter(|r| {
                r.iter()
                    .any(|(_, body)| has_loop(body) || registers_routes(body))
            });
            let name = id.to_string();
            // Defined twice (per cfg, per module): do not guess which.
            defined
                .entry(name)
                .and_modify(|r| *r = None)
                .or_insert(rules);
        }
    }
    let found = macros
        .iter()
        .filter(|mac| !never_code(&macro_name(mac)))
        .map(|&mac| std::borrow::Cow::Borrowed(mac))
        .collect();
    let rules = defined
        .into_iter()
        .filter_map(|(k, r)| r.map(|r| (k, r)))
        .collect();
    (rules, definitions, found)
}

/// Whether a token stream holds a `loop`, `while` or `for` keyword.
fn has_loop(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        TokenTree::Ident(id) => id == "loop" || id == "while" || id == "for",
        TokenTree::Group(g) => has_loop(&g.stream()),
        _ => false,
    })
}

/// Whether a token stream calls a route registration: `.route(..)`,
/// `.nest(..)`, `web::resource(..)`.
fn registers_routes(tokens: &TokenStream) -> bool {
    let toks: Vec<TokenTree> = tokens.clone().into_iter().collect();
    toks.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Ident(id) => {
            ident_in(id, &["route", "resource", "nest"])
                && matches!(toks.get(i + 1), Some(TokenTree::Group(g))
                    if g.delimiter() == proc_macro2::Delimiter::Parenthesis)
        }
        TokenTree::Group(g) => registers_routes(&g.stream()),
        _ => false,
    })
}

/// `(pattern) => { body };` rules of one `macro_rules!`.
fn parse_rules(tokens: TokenStream) -> Option<Vec<(TokenStream, TokenStream)>> {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut rules = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let TokenTree::Group(pattern) = &toks[i] else {
            return None;
        };
        if !(is_punct(toks.get(i + 1)?, '=') && is_punct(toks.get(i + 2)?, '>')) {
            return None;
        }
        let TokenTree::Group(body) = toks.get(i + 3)? else {
            return None;
        };
        rules.push((pattern.stream(), body.stream()));
        i += 4;
        if toks.get(i).is_some_and(|t| is_punct(t, ';')) {
            i += 1;
        }
    }
    Some(rules)
}

/// A `$name:frag` in a pattern.
fn fragment(toks: &[TokenTree], i: usize) -> Option<(String, String)> {
    if !is_punct(&toks[i], '$') {
        return None;
    }
    let (TokenTree::Ident(name), TokenTree::Ident(kind)) = (toks.get(i + 1)?, toks.get(i + 3)?)
    else {
        return None;
    };
    is_punct(toks.get(i + 2)?, ':').then(|| (name.to_string(), kind.to_string()))
}

/// Matches an invocation against one rule's pattern: `$x:expr` takes the
/// tokens up to the pattern's next literal token, `$x:ident` / `tt` /
/// `literal` / `lifetime` one token tree. Repetitions (`$(..)*`) are not
/// followed: such a rule does not match.
fn match_rule(pattern: &TokenStream, input: &TokenStream) -> Option<HashMap<String, TokenStream>> {
    let pat: Vec<TokenTree> = pattern.clone().into_iter().collect();
    let inp: Vec<TokenTree> = input.clone().into_iter().collect();
    let mut out = HashMap::default();
    match_seq(&pat, &inp, &mut out).then_some(out)
}

fn match_seq(pat: &[TokenTree], inp: &[TokenTree], out: &mut HashMap<String, TokenStream>) -> bool {
    let (mut p, mut i) = (0, 0);
    while p < pat.len() {
        if let Some((name, kind)) = fragment(pat, p) {
            p += 4;
            let take = match kind.as_str() {
                "ident" | "tt" | "literal" | "lifetime" => {
                    if i >= inp.len() {
                        return false;
                    }
                    1
                }
                _ => {
                    // Up to the next literal token of the pattern; an
                    // expression never holds a top-level `,` or `;`.
                    let stop = pat.get(p);
                    let mut n = 0;
                    while i + n < inp.len()
                        && !stop.is_some_and(|s| same_token(s, &inp[i + n]))
                        && !(is_punct(&inp[i + n], ',') || is_punct(&inp[i + n], ';'))
                    {
                        n += 1;
                    }
                    if n == 0 {
                        return false;
                    }
                    n
                }
            };
            out.insert(name, inp[i..i + take].iter().cloned().collect());
            i += take;
            continue;
        }
        if is_punct(&pat[p], '$') {
            // `$(..)*` and `$crate` in patterns: not followed.
            return false;
        }
        let Some(t) = inp.get(i) else { return false };
        match (&pat[p], t) {
            (TokenTree::Group(a), TokenTree::Group(b)) if a.delimiter() == b.delimiter() => {
                let a: Vec<TokenTree> = a.stream().into_iter().collect();
                let b: Vec<TokenTree> = b.stream().into_iter().collect();
                if !match_seq(&a, &b, out) {
                    return false;
                }
            }
            (a, b) if same_token(a, b) => {}
            _ => return false,
        }
        p += 1;
        i += 1;
    }
    i == inp.len()
}

fn same_token(a: &TokenTree, b: &TokenTree) -> bool {
    match (a, b) {
        (TokenTree::Ident(x), TokenTree::Ident(y)) => x == y,
        (TokenTree::Punct(x), TokenTree::Punct(y)) => x.as_char() == y.as_char(),
        (TokenTree::Literal(x), TokenTree::Literal(y)) => x.to_string() == y.to_string(),
        _ => false,
    }
}

/// The body with every `$name` replaced by its fragment (an expression
/// fragment keeps its grouping, as rustc does); `None` on a repetition.
fn substitute(
    body: &TokenStream,
    bindings: &HashMap<String, TokenStream>,
    origins: &mut Vec<(std::ops::Range<usize>, usize)>,
) -> Option<TokenStream> {
    let toks: Vec<TokenTree> = body.clone().into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            TokenTree::Punct(p) if p.as_char() == '$' => {
                let TokenTree::Ident(name) = toks.get(i + 1)? else {
                    return None;
                };
                if name == "crate" {
                    out.push(TokenTree::Ident(proc_macro2::Ident::new(
                        "crate",
                        name.span(),
                    )));
                } else {
                    let frag = bindings.get(&name.to_string())?;
                    let bytes = frag.clone().into_iter().fold(
                        None,
                        |acc: Option<std::ops::Range<usize>>, t| {
                            let r = t.span().bytes();
                            Some(match acc {
                                Some(a) => a.start.min(r.start)..a.end.max(r.end),
                                None => r,
                            })
                        },
                    );
                    if let Some(b) = bytes {
                        origins.push((b, p.span().byte_start()));
                    }
                    if frag.clone().into_iter().count() == 1 {
                        out.extend(frag.clone());
                    } else {
                        out.push(TokenTree::Group(proc_macro2::Group::new(
                            Delimiter::None,
                            frag.clone(),
                        )));
                    }
                }
                i += 2;
            }
            TokenTree::Group(g) => {
                let inner = substitute(&g.stream(), bindings, origins)?;
                let mut ng = proc_macro2::Group::new(g.delimiter(), inner);
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
                i += 1;
            }
            t => {
                out.push(t.clone());
                i += 1;
            }
        }
    }
    Some(out.into_iter().collect())
}

/// Name of a macro as written, last segment (`tokio::select` → `select`).
pub fn macro_name(mac: &syn::Macro) -> String {
    mac.path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn parse_body(mac: &syn::Macro) -> Option<MacroBody> {
    let name = macro_name(mac);
    if never_code(&name) {
        return None;
    }
    if name == "select" || name == "select_biased" {
        return Some(MacroBody::Select(parse_select(mac.tokens.clone())));
    }
    let exprs = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(mac.tokens.clone());
    if let Ok(exprs) = exprs {
        return Some(MacroBody::Exprs(exprs.into_iter().collect()));
    }
    // `format!("{}", x = y)`-style named arguments parse as assignments above;
    // blocks of statements (`try_join!` helpers, `tokio::pin!` lists) below.
    syn::Block::parse_within
        .parse2(mac.tokens.clone())
        .ok()
        .map(MacroBody::Stmts)
}

/// `select!` arms are `pat = fut (, if cond)? => handler,`: not an
/// expression grammar, so split the tokens at the top-level `=`, `=>` and `,`.
fn parse_select(tokens: TokenStream) -> Vec<SelectArm> {
    let toks: Vec<TokenTree> = tokens.into_iter().collect();
    let mut arms = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        // Skip the pattern up to a lone `=` (not `==`, `=>`, `<=`...).
        let mut eq = None;
        let mut j = i;
        while j < toks.len() {
            if is_punct(&toks[j], '=') && !joint_eq(&toks, j) {
                eq = Some(j);
                break;
            }
            j += 1;
        }
        let Some(eq) = eq else { break };
        // Future runs to `=>` or `, if`.
        let mut k = eq + 1;
        let mut fut_end = None;
        while k < toks.len() {
            if is_punct(&toks[k], '=') && toks.get(k + 1).is_some_and(|t| is_punct(t, '>')) {
                fut_end = Some(k);
                break;
            }
            k += 1;
        }
        let Some(fut_end) = fut_end else { break };
        let mut fut_toks: Vec<TokenTree> = toks[eq + 1..fut_end].to_vec();
        if let Some(pos) = fut_toks.windows(2).position(|w| {
            is_punct(&w[0], ',') && matches!(&w[1], TokenTree::Ident(id) if id == "if")
        }) {
            fut_toks.truncate(pos);
        }
        // Handler runs to the next top-level `,` (a braced block may omit it).
        let mut h = fut_end + 2;
        let start = h;
        while h < toks.len() && !is_punct(&toks[h], ',') {
            if matches!(&toks[h], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
                && h == start
            {
                h += 1;
                break;
            }
            h += 1;
        }
        let future = syn::parse2::<Expr>(fut_toks.into_iter().collect());
        let handler =
            syn::parse2::<Expr>(toks[start..h.min(toks.len())].iter().cloned().collect()).ok();
        if let Ok(future) = future {
            arms.push(SelectArm { future, handler });
        }
        i = if h < toks.len() && is_punct(&toks[h], ',') {
            h + 1
        } else {
            h
        };
    }
    arms
}

fn is_punct(t: &TokenTree, c: char) -> bool {
    matches!(t, TokenTree::Punct(p) if p.as_char() == c)
}

/// Whether the `=` at `j` is part of `==`, `=>`, `<=`, `>=`, `!=`.
fn joint_eq(toks: &[TokenTree], j: usize) -> bool {
    let next = toks
        .get(j + 1)
        .is_some_and(|t| is_punct(t, '=') || is_punct(t, '>'));
    let prev = j > 0
        && matches!(&toks[j - 1], TokenTree::Punct(p) if matches!(p.as_char(), '<' | '>' | '!' | '=') && p.spacing() == proc_macro2::Spacing::Joint);
    next || prev
}

#[cfg(test)]
mod tests {
    use super::*;

    impl MacroTable<'_> {
        /// Every body, parsing the lazy ones.
        fn all_bodies(&self) -> Vec<&MacroBody> {
            fn walk<'t>(list: &'t [LazyMacro<'_>], out: &mut Vec<&'t MacroBody>) {
                for m in list {
                    if let Some(p) = m.parsed() {
                        out.push(&p.body);
                        walk(&p.nested, out);
                    }
                }
            }
            let mut out: Vec<&MacroBody> = self.bodies.values().collect();
            walk(&self.lazy, &mut out);
            out
        }
    }

    #[test]
    fn lazy_lookup_finds_nested_bodies_as_the_eager_walk_does() {
        let file: syn::File = syn::parse_str(
            r#"fn f() {
                let s = format!("{}", vec![inner!(a, b)]);
                println!("{}", s);
                assert!(x.len() > 0, "{}", stringify!(x));
            }"#,
        )
        .unwrap();
        let table = MacroTable::new(&file);
        // Nothing is parsed until asked.
        assert!(table.lazy.iter().all(|m| m.parsed.get().is_none()));
        let mut macros = Vec::new();
        MacroFinder { found: &mut macros }.visit_file(&file);
        let format = &macros[0];
        let vec_mac = match table.exprs(format)[1] {
            Expr::Macro(m) => m.mac.clone(),
            other => panic!("{}", quote::quote!(#other)),
        };
        let inner = match table.exprs(&vec_mac)[0] {
            Expr::Macro(m) => m.mac.clone(),
            other => panic!("{}", quote::quote!(#other)),
        };
        assert_eq!(table.exprs(&inner).len(), 2);
        // `stringify!` is never code; the others are parsed once asked.
        assert_eq!(table.all_bodies().len(), 5);
    }

    #[test]
    fn sees_inside_select_and_join() {
        let file: syn::File = syn::parse_str(
            r#"async fn f() {
                tokio::select! {
                    r = client.get(url).send() => { handle(r) }
                    _ = tokio::time::sleep(d) => {},
                }
                let (a, b) = tokio::join!(one(), two());
            }"#,
        )
        .unwrap();
        let table = MacroTable::new(&file);
        let bodies: Vec<usize> = table.all_bodies().iter().map(|b| b.exprs().len()).collect();
        assert_eq!(bodies.len(), 2);
        assert!(bodies.contains(&4), "{bodies:?}");
        assert!(bodies.contains(&2), "{bodies:?}");
    }

    #[test]
    fn expands_local_macro_rules_at_invocations() {
        let file: syn::File = syn::parse_str(
            r#"
            macro_rules! again {
                ($n:literal, $call:expr) => {{ for _ in 0..$n { let _ = $call; } }};
            }
            macro_rules! many {
                ($($x:expr),*) => { vec![$($x),*] };
            }
            macro_rules! broken { ($x:expr) => { $ }; }
            macro_rules! again_and_again {
                ($x:expr) => { again_and_again!($x, false) };
                ($x:expr, $y:literal) => { loop { again_and_again!($x) } };
            }
            macro_rules! no_loop { ($x:expr) => { $x + 1 }; }
            fn f() {
                again_and_again!(1);
                no_loop!(1);
                again!(3, client.get(url).send());
                many!(1, 2);
                broken!(1);
                again!(nope);
            }"#,
        )
        .unwrap();
        let table = MacroTable::new(&file);
        // `again!(3, ..)` and the outer `again_and_again!(1)`; the invocation
        // inside its body is left as written, so expansions cannot cycle.
        assert_eq!(table.expanded.len(), 2);
        // The fragments map back to their `$name` in the definitions.
        assert_eq!(table.origins.len(), 3);
    }
}
