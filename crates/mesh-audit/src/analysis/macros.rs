//! Code inside macro invocations is code too. syn keeps a macro's body as a
//! token stream; this module re-parses the bodies of function-like macros in
//! expression or statement position, once per file, so that rules see a call
//! inside `tokio::select!`, `join!`, `format!` arguments and the like.

use std::collections::HashMap;

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
#[derive(Default)]
pub struct MacroTable {
    bodies: HashMap<(usize, usize), MacroBody>,
}

fn key(mac: &syn::Macro) -> (usize, usize) {
    let start = mac
        .path
        .segments
        .first()
        .map(|s| s.ident.span().byte_range().start)
        .unwrap_or(0);
    (start, mac.delimiter.span().close().byte_range().end)
}

/// Deep macro nesting is not hand-written code; stop re-parsing there.
const MAX_DEPTH: usize = 16;

impl MacroTable {
    pub fn new(file: &syn::File) -> MacroTable {
        let mut table = MacroTable::default();
        let mut found = Vec::new();
        MacroFinder { found: &mut found }.visit_file(file);
        table.add_all(found, 0);
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
            let Some(body) = parse_body(&mac) else {
                continue;
            };
            let mut nested = Vec::new();
            {
                let mut finder = MacroFinder { found: &mut nested };
                match &body {
                    MacroBody::Stmts(stmts) => stmts.iter().for_each(|s| finder.visit_stmt(s)),
                    other => other.exprs().into_iter().for_each(|e| finder.visit_expr(e)),
                }
            }
            self.bodies.insert(k, body);
            self.add_all(nested, depth + 1);
        }
    }

    pub fn get(&self, mac: &syn::Macro) -> Option<&MacroBody> {
        self.bodies.get(&key(mac))
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
        let bodies: Vec<usize> = table.bodies.values().map(|b| b.exprs().len()).collect();
        assert_eq!(table.bodies.len(), 2);
        assert!(bodies.contains(&4), "{bodies:?}");
        assert!(bodies.contains(&2), "{bodies:?}");
    }
}
