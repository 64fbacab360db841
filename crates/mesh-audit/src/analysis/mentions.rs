//! What a function body names, for deciding which functions only a
//! command-line subcommand reaches (`crate::toolcode`).
//!
//! The list over-approximates on purpose: every path written as an
//! expression (called or passed as a value) expanded through the file's
//! imports, every method called, and every identifier inside a macro call
//! (whose tokens cannot be read as code). A function the list might name is
//! taken as named: reachability that is not known keeps code audited.
//!
//! A `match` over the variants of one enum (`Command::Run => ..,
//! Command::Export { .. } => ..`) is a dispatch: what each arm names is kept
//! apart, so that code named only by the arms of a subcommand that starts no
//! server can be told from code the serving arm reaches.

use syn::visit::Visit;

use super::paths::UseMap;

/// One thing a body names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mention {
    /// A path written as an expression, as the imports expand it
    /// (`crate::export::run`, `run`, `Self::load`), its segments joined by
    /// `::` (one allocation: every body has many).
    Path(Box<str>),
    /// A method called by name, or an identifier in a macro's tokens: any
    /// function of that name.
    Name(Box<str>),
}

impl Mention {
    /// Whether it may name a function: names that start with a capital
    /// letter are types, variants and constants (a function so named is
    /// never taken for tool code, see `toolcode`).
    fn may_name_fn(last: &str) -> bool {
        !last.starts_with(|c: char| c.is_ascii_uppercase())
            && !matches!(last, "self" | "crate" | "super")
    }

    fn name(n: String) -> Option<Mention> {
        Self::may_name_fn(&n).then(|| Mention::Name(n.into_boxed_str()))
    }

    fn path(segs: &[String]) -> Option<Mention> {
        let last = segs.last()?;
        Self::may_name_fn(last).then(|| Mention::Path(segs.join("::").into_boxed_str()))
    }

    /// The segments of a path mention.
    pub fn segments(p: &str) -> Vec<&str> {
        p.split("::").collect()
    }
}

/// One arm of a dispatch `match`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DispatchArm {
    /// The enum the arm patterns name (`Command` of `Command::Export`).
    pub enum_name: String,
    /// The variant this arm matches (empty for a catch-all arm).
    pub variant: String,
    /// A catch-all arm (`_ =>`, `other =>`): it runs for the variants the
    /// other arms leave, so it is never a subcommand of its own, but when
    /// it serves, the dispatch has a serving arm.
    pub catch_all: bool,
    /// Lines of the arm (pattern to the end of its body).
    pub lines: (u32, u32),
    /// The arm this one is nested in (an index into the same list).
    pub parent: Option<usize>,
    /// Which `match` of the body it belongs to (arms of one `match` share it).
    pub dispatch: usize,
    /// What the arm names, outside the dispatches nested in it.
    pub mentions: Vec<Mention>,
}

/// What a function body names: outside any dispatch, and per dispatch arm.
pub fn mentions(
    body: &syn::Block,
    uses: &UseMap,
    lines: &dyn Fn(proc_macro2::Span) -> (u32, u32),
) -> (Vec<Mention>, Vec<DispatchArm>) {
    let mut v = Collector {
        uses,
        lines,
        frames: vec![(None, Vec::new())],
        arms: Vec::new(),
        dispatches: 0,
    };
    v.visit_block(body);
    let mut outside = v.frames.pop().map(|f| f.1).unwrap_or_default();
    outside.sort();
    outside.dedup();
    (outside, v.arms)
}

/// What items outside function bodies name: `const`/`static` initialisers
/// (a table of handler functions), item-level macro calls, and the original
/// names of renamed imports (`use export::run as export_main;`).
pub fn item_mentions(file: &syn::File, uses: &UseMap) -> Vec<Mention> {
    struct Items<'u> {
        uses: &'u UseMap,
        out: Vec<Mention>,
    }
    impl<'a> Visit<'a> for Items<'_> {
        fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
            self.expr(&c.expr);
        }
        fn visit_item_static(&mut self, s: &'a syn::ItemStatic) {
            self.expr(&s.expr);
        }
        fn visit_impl_item_const(&mut self, c: &'a syn::ImplItemConst) {
            self.expr(&c.expr);
        }
        fn visit_item_macro(&mut self, m: &'a syn::ItemMacro) {
            tokens(m.mac.tokens.clone(), &mut self.out);
        }
        // `#[serde(default = "defaults::timeout")]`, `#[arg(value_parser =
        // parse_port)]`: functions other code calls for the item.
        fn visit_attribute(&mut self, a: &'a syn::Attribute) {
            if let syn::Meta::List(l) = &a.meta {
                attr_tokens(l.tokens.clone(), &mut self.out);
            } else if let syn::Meta::NameValue(nv) = &a.meta {
                attr_tokens(quote::ToTokens::to_token_stream(&nv.value), &mut self.out);
            }
        }
        fn visit_use_rename(&mut self, r: &'a syn::UseRename) {
            self.out.extend(Mention::name(r.ident.to_string()));
        }
        // Bodies are the functions' own mentions.
        fn visit_block(&mut self, _: &'a syn::Block) {}
    }
    impl Items<'_> {
        fn expr(&mut self, e: &syn::Expr) {
            let mut c = Collector {
                uses: self.uses,
                lines: &|_| (0, 0),
                frames: vec![(None, Vec::new())],
                arms: Vec::new(),
                dispatches: 0,
            };
            c.visit_expr(e);
            for (_, m) in c.frames {
                self.out.extend(m);
            }
            for a in c.arms {
                self.out.extend(a.mentions);
            }
        }
    }
    let mut v = Items {
        uses,
        out: Vec::new(),
    };
    v.visit_file(file);
    v.out.sort();
    v.out.dedup();
    v.out
}

/// Identifiers of an attribute, and the functions its strings name: serde's
/// `default = "f"`, `with`/`serialize_with`/`deserialize_with`,
/// `skip_serializing_if`, and any string holding a path (`"a::f"`), by
/// last segment. Other strings (`name = "export"`) name nothing.
fn attr_tokens(ts: proc_macro2::TokenStream, out: &mut Vec<Mention>) {
    const FN_KEYS: &[&str] = &[
        "default",
        "with",
        "serialize_with",
        "deserialize_with",
        "skip_serializing_if",
    ];
    let mut key: Option<String> = None;
    let mut after_eq = false;
    for t in ts {
        match t {
            proc_macro2::TokenTree::Ident(id) => {
                out.extend(Mention::name(id.to_string()));
                key = Some(id.to_string());
                after_eq = false;
            }
            proc_macro2::TokenTree::Group(g) => {
                attr_tokens(g.stream(), out);
                key = None;
            }
            proc_macro2::TokenTree::Punct(p) => after_eq = p.as_char() == '=' && key.is_some(),
            proc_macro2::TokenTree::Literal(l) => {
                let text = l.to_string();
                let fn_key = after_eq && key.as_deref().is_some_and(|k| FN_KEYS.contains(&k));
                if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                    if fn_key || inner.contains("::") {
                        if let Some(last) = inner.rsplit("::").next().filter(|n| !n.is_empty()) {
                            out.extend(Mention::name(last.to_string()));
                        }
                    }
                }
                key = None;
                after_eq = false;
            }
        }
    }
}

fn tokens(ts: proc_macro2::TokenStream, out: &mut Vec<Mention>) {
    for t in ts {
        match t {
            proc_macro2::TokenTree::Ident(id) => out.extend(Mention::name(id.to_string())),
            proc_macro2::TokenTree::Group(g) => tokens(g.stream(), out),
            _ => {}
        }
    }
}

struct Collector<'u, 'l> {
    uses: &'u UseMap,
    lines: &'l dyn Fn(proc_macro2::Span) -> (u32, u32),
    /// The arm being read (index into `arms`) and what it names so far;
    /// the bottom frame is the body outside any dispatch.
    frames: Vec<(Option<usize>, Vec<Mention>)>,
    arms: Vec<DispatchArm>,
    dispatches: usize,
}

impl Collector<'_, '_> {
    fn push(&mut self, m: Mention) {
        if let Some(f) = self.frames.last_mut() {
            f.1.push(m);
        }
    }
}

/// The enum and variant an arm pattern names (`Command::Export { .. }`,
/// `Cmd::Run(args)`, `Self::Check`), through `|` alternatives and bindings.
fn arm_variant(p: &syn::Pat) -> Option<(String, String)> {
    let path = match p {
        syn::Pat::TupleStruct(t) => &t.path,
        syn::Pat::Struct(s) => &s.path,
        syn::Pat::Path(p) => &p.path,
        syn::Pat::Ident(i) => return i.subpat.as_ref().and_then(|(_, p)| arm_variant(p)),
        syn::Pat::Reference(r) => return arm_variant(&r.pat),
        _ => return None,
    };
    let n = path.segments.len();
    if n < 2 {
        return None;
    }
    Some((
        path.segments[n - 2].ident.to_string(),
        path.segments[n - 1].ident.to_string(),
    ))
}

impl<'a> Visit<'a> for Collector<'_, '_> {
    fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
        if let Some(m) = Mention::path(&self.uses.resolve(&p.path)) {
            self.push(m);
        }
        syn::visit::visit_expr_path(self, p);
    }
    fn visit_expr_method_call(&mut self, m: &'a syn::ExprMethodCall) {
        if let Some(x) = Mention::name(m.method.to_string()) {
            self.push(x);
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        let mut out = Vec::new();
        tokens(m.tokens.clone(), &mut out);
        for x in out {
            self.push(x);
        }
    }
    fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
        let variants: Vec<Option<(String, String)>> =
            m.arms.iter().map(|a| arm_variant(&a.pat)).collect();
        let enum_name = variants.iter().flatten().map(|v| v.0.clone()).next();
        // A dispatch: every arm but a catch-all names a variant of one enum,
        // and at least two do.
        let dispatch = enum_name.as_ref().filter(|e| {
            variants.iter().flatten().count() >= 2
                && variants.iter().flatten().all(|v| &v.0 == *e)
                && m.arms.iter().zip(&variants).all(|(a, v)| {
                    v.is_some() || matches!(&a.pat, syn::Pat::Wild(_) | syn::Pat::Ident(_))
                })
        });
        let Some(enum_name) = dispatch.cloned() else {
            return syn::visit::visit_expr_match(self, m);
        };
        self.visit_expr(&m.expr);
        self.dispatches += 1;
        let dispatch = self.dispatches;
        for (arm, v) in m.arms.iter().zip(variants) {
            // A catch-all arm is kept as an arm too: whether it serves
            // tells whether the dispatch has a serving arm
            // (`Cmd::Check(a) => check(a), _ => serve(args)`). It is tool
            // code only inside a tool arm.
            let (variant, catch_all) = match v {
                Some((_, variant)) => (variant, false),
                None => (String::new(), true),
            };
            let index = self.arms.len();
            let start = (self.lines)(syn::spanned::Spanned::span(&arm.pat)).0;
            let end = (self.lines)(syn::spanned::Spanned::span(&arm.body)).1;
            self.arms.push(DispatchArm {
                enum_name: enum_name.clone(),
                variant,
                catch_all,
                lines: (start, end.max(start)),
                parent: self.frames.last().and_then(|f| f.0),
                dispatch,
                mentions: Vec::new(),
            });
            self.frames.push((Some(index), Vec::new()));
            self.visit_arm(arm);
            if let Some((_, mut m)) = self.frames.pop() {
                m.sort();
                m.dedup();
                self.arms[index].mentions = m;
            }
        }
    }
    // Items nested in a body are summarised as functions of their own, but
    // their names still count as named here (over-approximation).
}
