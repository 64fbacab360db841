//! Scope at function level: functions that only command-line subcommands
//! which start no server reach, in programs that also serve.
//!
//! A serving program often carries its operator commands in the same
//! binary (`app serve`, `app export`, `app healthcheck`): clap parses a
//! subcommand enum and a `match` dispatches on it. The `serve` arm reaches a
//! server start; an arm that reaches none runs when a person (or a probe)
//! types the command, not in the pod's serving process. Command-line tools
//! that serve nothing and are not deployed are already skipped whole
//! (`packages`); this applies the same judgement to the arms of one program
//! and to the library code only they, or only such tools, reach.
//!
//! A function is tool code when something names it, and everything that
//! might name it is tool code: the non-serving arms of a dispatch over a
//! clap subcommand enum that has a serving arm (a catch-all `_ => serve()`
//! arm counts as one, but is never a command itself), the bodies of other tool
//! functions, and the files of skipped packages and developer-tool
//! binaries. "Might name" over-approximates, so that an unknown stays
//! audited: a method call on a receiver whose type the code declares (the
//! value a one-field variant holds in a `match` arm, a typed parameter or
//! `let`, a field of a known struct, what a method of a known type returns
//! (what clap's derived `T::parse()` returns is a `T`),
//! `self` in an impl) names that type's methods of its name, when the type
//! has any; any other method call names every method of its name (a
//! method call never names a free function). An
//! identifier in a macro's tokens or an attribute names every function of
//! that name, and a path names the one function it resolves to only when
//! resolution (`crate::`, `self::`, `super::`, a workspace crate's extern
//! name, an item of the module) lands on an existing function; otherwise
//! every function of its last segment. What code of one member names by
//! name is only in that member and the members it depends on (not through
//! dev-dependencies). Trait impl methods and default bodies (called
//! through dispatch the code does not spell), `main`, functions nothing
//! names, and functions that name themselves are never tool code.
//!
//! A dispatch is a `match` whose arms name variants of one enum (also as
//! `Some(Command::Export(..))`), catch-alls aside. A subcommand whose arm
//! serves in one dispatch is never a tool arm in another (`Serve(_) =>
//! unreachable!()` in the `match` of the operator commands).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BTreeSet;

use mesh_audit_model::PackageScope;

use crate::analysis::mentions::{DispatchArm, Mention};
use crate::analysis::net::Recv;
use crate::discover::{DepKind, Discovered, TargetKind};
use crate::index::{FileSummary, FnSummary};
use crate::modtree::FileRole;

/// Tool-only functions, by file index: their lines and why.
#[derive(Debug, Default)]
pub struct ToolCode {
    pub by_file: HashMap<usize, Vec<ToolFn>>,
}

#[derive(Debug, Clone)]
pub struct ToolFn {
    pub name: String,
    pub lines: (u32, u32),
    /// What reaches it: `the `export` subcommand (src/cli.rs:40)`.
    pub via: String,
}

impl ToolCode {
    /// The tool function a line of a file lies in.
    pub fn at(&self, file: usize, line: u32) -> Option<&ToolFn> {
        self.by_file
            .get(&file)?
            .iter()
            .find(|f| f.lines.0 <= line && line <= f.lines.1)
    }
}

struct Func<'s> {
    file: usize,
    package: usize,
    /// Module path in its crate, with the `impl` type for methods.
    path: Vec<String>,
    /// Module path of the code (for resolving what it writes).
    module: Vec<String>,
    f: &'s FnSummary,
}

/// What a mention might name.
enum Targets {
    /// The functions its path resolves to.
    Exact(Vec<usize>),
    /// Every function of a name (of the `kinds` the mention can name) that
    /// code of package `from` can call: in it or in the members it depends
    /// on.
    Name {
        id: usize,
        kinds: Kinds,
        from: usize,
    },
}

/// Which functions of a name a mention by name can name.
#[derive(Clone, Copy, PartialEq)]
enum Kinds {
    /// Free functions only (a one-segment path: `run(..)`).
    Free,
    /// Methods and associated functions only (a method call: `x.run()`).
    Methods,
    /// Either (a macro's identifier, `a::run` that does not resolve).
    Any,
}

impl Kinds {
    /// Whether a function (`free`: not in an `impl`) can be named so.
    fn admits(self, free: bool) -> bool {
        match self {
            Kinds::Free => free,
            Kinds::Methods => !free,
            Kinds::Any => true,
        }
    }
}

/// Where a mention is written.
#[derive(Clone, Copy, PartialEq)]
enum Site {
    /// Outside dispatch arms, in function `usize`'s body.
    Body(usize),
    /// In arm `.1` of function `.0`.
    Arm(usize, usize),
    /// Outside function bodies, in file `usize`.
    Item(usize),
}

/// A package and a module path in it.
type PathIn = (usize, Vec<String>);

/// What the workspace declares about types, by name, for typing method
/// calls: one-field variants' values, fields, and what methods return.
/// A name declared differently in two places is not known.
struct TypeTables {
    variants: HashMap<(String, String), Option<Recv>>,
    /// (enum, variant) to the package and module path of the type it holds.
    variant_paths: HashMap<(String, String), Option<PathIn>>,
    fields: HashMap<String, Option<Recv>>,
    /// (struct, field) to the field's declared type.
    struct_fields: HashMap<(String, String), Option<Recv>>,
    /// (impl type, method) to the named type it returns.
    returns: HashMap<(String, String), Option<String>>,
}

/// Methods whose result is the receiver's own value, for following a chain
/// (`self.state.lock().await.reload()`, `build()?.context(..)?.run()`).
const SAME_VALUE: &[&str] = &[
    "clone",
    "as_ref",
    "as_mut",
    "unwrap",
    "expect",
    "borrow",
    "borrow_mut",
    "to_owned",
    "deref",
    "context",
    "with_context",
    "map_err",
    "lock",
    "read",
    "write",
    "into_inner",
];

/// What clap (and structopt) derive on a command-line type: functions that
/// return the type itself (`let cli = Cli::parse(); cli.run()`).
const PARSED_SELF: &[&str] = &[
    "parse",
    "try_parse",
    "parse_from",
    "try_parse_from",
    "from_args",
    "from_args_safe",
];

fn merge<K: std::hash::Hash + Eq, V: PartialEq>(map: &mut HashMap<K, Option<V>>, k: K, v: V) {
    match map.get(&k) {
        Some(Some(old)) if *old != v => {
            map.insert(k, None);
        }
        Some(_) => {}
        None => {
            map.insert(k, Some(v));
        }
    }
}

impl TypeTables {
    fn new(
        found: &Discovered,
        roles: &[Option<FileRole>],
        summaries: &[Option<&FileSummary>],
        funcs: &[Func],
    ) -> Self {
        let index_of = found.package_indexes();
        let mut t = TypeTables {
            variants: HashMap::default(),
            variant_paths: HashMap::default(),
            fields: HashMap::default(),
            struct_fields: HashMap::default(),
            returns: HashMap::default(),
        };
        for ((file, s), role) in found.files.iter().zip(summaries).zip(roles) {
            let (Some(pi), Some(s)) = (file.package_index, s) else {
                continue;
            };
            for (key, path) in &s.variant_paths {
                let segs: Vec<String> = Mention::segments(path)
                    .into_iter()
                    .map(String::from)
                    .collect();
                let module = role.as_ref().map(|r| r.module.as_slice()).unwrap_or(&[]);
                match definite_path(found, &index_of, pi, module, &segs) {
                    Some(at) => merge(&mut t.variant_paths, key.clone(), at),
                    None => {
                        t.variant_paths.insert(key.clone(), None);
                    }
                }
            }
            for (key, r) in &s.variant_recvs {
                merge(&mut t.variants, key.clone(), r.clone());
            }
            for (name, r) in &s.field_recvs {
                merge(&mut t.fields, name.clone(), r.clone());
            }
            for (ty, field, r, _) in &s.struct_field_types {
                merge(&mut t.struct_fields, (ty.clone(), field.clone()), r.clone());
            }
        }
        for g in funcs {
            if let (Some(ty), Some(ret)) = (&g.f.self_ty, &g.f.ret_ty) {
                merge(&mut t.returns, (ty.clone(), g.f.name.clone()), ret.clone());
            }
        }
        t
    }

    /// The name of the type a receiver holds, when the tables tell.
    fn type_name(
        &self,
        r: &Recv,
        by_method: &dyn Fn(&str, &str) -> bool,
        depth: u32,
    ) -> Option<String> {
        if depth > 8 {
            return None;
        }
        let d = depth + 1;
        match r {
            Recv::Type { name, .. } => Some(name.clone()).filter(|n| n != "Self" && n.len() > 1),
            Recv::Trait(_) => None,
            Recv::Field(f) => self.type_name(self.fields.get(f)?.as_ref()?, by_method, d),
            Recv::Variant { ty, variant } => self.type_name(
                self.variants
                    .get(&(ty.clone(), variant.clone()))?
                    .as_ref()?,
                by_method,
                d,
            ),
            // A field of the base's type (`mentions` writes `.name`).
            Recv::Returned(base, m) if m.starts_with('.') => {
                let ty = self.type_name(base, by_method, d)?;
                let field = self.struct_fields.get(&(ty, m[1..].to_string()))?;
                self.type_name(field.as_ref()?, by_method, d)
            }
            Recv::Returned(base, m) => {
                let ty = self.type_name(base, by_method, d)?;
                if by_method(&ty, m) {
                    self.returns.get(&(ty, m.clone()))?.clone()
                } else if SAME_VALUE.contains(&m.as_str())
                    || matches!(**base, Recv::Type { .. }) && PARSED_SELF.contains(&m.as_str())
                {
                    Some(ty)
                } else {
                    None
                }
            }
        }
    }

    /// What a typed method call names: the methods of that name of the
    /// receiver's type (for `self`, the impl's own first), or every
    /// function of the name when the type has none (a trait's default
    /// method, one reached through `Deref`, another crate's).
    #[allow(clippy::too_many_arguments)]
    fn method_targets(
        &self,
        funcs: &[Func],
        (pi, module, self_ty): (usize, &[String], Option<&str>),
        m: &Mention,
        by_name: &HashMap<&str, Vec<usize>>,
        by_path: &HashMap<(usize, &[String]), Vec<usize>>,
        name_id: &HashMap<&str, usize>,
        reach: &dyn Fn(usize, usize) -> bool,
    ) -> Option<Targets> {
        let method = m.method_name()?;
        let id = *name_id.get(method)?;
        // A method call names methods, never a free function.
        let fallback = Some(Targets::Name {
            id,
            kinds: Kinds::Methods,
            from: pi,
        });
        let of_type = |ty: &str, method: &str| -> Vec<usize> {
            by_name
                .get(method)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| funcs[i].f.self_ty.as_deref() == Some(ty))
                .filter(|&i| reach(pi, funcs[i].package))
                .collect()
        };
        let ty = match m {
            Mention::SelfMethod(_) => {
                let Some(ty) = self_ty.filter(|t| !t.is_empty()) else {
                    return fallback;
                };
                let mut path = module.to_vec();
                path.push(ty.to_string());
                path.push(method.to_string());
                if let Some(hit) = by_path.get(&(pi, path.as_slice())) {
                    return Some(Targets::Exact(hit.clone()));
                }
                ty.to_string()
            }
            Mention::Method(x) => {
                // The value of a variant whose type's path is known: that
                // type's method, when the path leads to it.
                if let Recv::Variant { ty, variant } = &x.0 {
                    if let Some(Some((q, path))) =
                        self.variant_paths.get(&(ty.clone(), variant.clone()))
                    {
                        let mut path = path.clone();
                        path.push(method.to_string());
                        if let Some(hit) = by_path.get(&(*q, path.as_slice())) {
                            return Some(Targets::Exact(hit.clone()));
                        }
                    }
                }
                let has = |ty: &str, m: &str| !of_type(ty, m).is_empty();
                match self.type_name(&x.0, &has, 0) {
                    Some(ty) => ty,
                    None => return fallback,
                }
            }
            _ => return fallback,
        };
        let hits = of_type(&ty, method);
        if hits.is_empty() {
            fallback
        } else {
            Some(Targets::Exact(hits))
        }
    }
}

pub fn tool_code(
    found: &Discovered,
    roles: &[Option<FileRole>],
    summaries: &[Option<&FileSummary>],
    scopes: &[PackageScope],
    dev_bins: &BTreeSet<(usize, String)>,
) -> ToolCode {
    // Production functions of every member.
    let mut funcs: Vec<Func> = Vec::new();
    for (fi, ((file, role), s)) in found.files.iter().zip(roles).zip(summaries).enumerate() {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, s) else {
            continue;
        };
        if role.test || !role.kind.is_production() {
            continue;
        }
        for f in s.functions.iter().filter(|f| !f.test) {
            let module: Vec<String> = role.module.iter().chain(&f.module).cloned().collect();
            let mut path = module.clone();
            path.extend(f.self_ty.clone());
            path.push(f.name.clone());
            funcs.push(Func {
                file: fi,
                package: pi,
                path,
                module,
                f,
            });
        }
    }
    if !funcs
        .iter()
        .any(|g| g.f.dispatch_arms.iter().any(|a| a.parent.is_none()))
        && dev_bins.is_empty()
    {
        // No dispatch and no tool binary: only skipped packages could make
        // tool code, and their users are skipped too.
        return ToolCode::default();
    }
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::default();
    let mut by_path: HashMap<(usize, &[String]), Vec<usize>> = HashMap::default();
    for (i, g) in funcs.iter().enumerate() {
        by_name.entry(g.f.name.as_str()).or_default().push(i);
        by_path
            .entry((g.package, g.path.as_slice()))
            .or_default()
            .push(i);
    }
    // Names by number: a mention by name is kept as the name, not as the
    // (possibly long) list of functions it might name.
    let names: Vec<&str> = by_name.keys().copied().collect();
    let name_id: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let index_of = found.package_indexes();
    // Which members code of each member can call: itself and what it
    // depends on, through other members (not dev-dependencies, which only
    // its tests see).
    let reachable: Vec<Vec<bool>> = {
        let n = found.packages.len();
        let mut out = vec![vec![false; n]; n];
        for (p, row) in out.iter_mut().enumerate() {
            let mut stack = vec![p];
            while let Some(q) = stack.pop() {
                if std::mem::replace(&mut row[q], true) {
                    continue;
                }
                for d in found.packages[q].member_deps.iter() {
                    if d.kind == DepKind::Dev {
                        continue;
                    }
                    if let Some(&r) = index_of.get(d.package.as_str()) {
                        if !row[r] {
                            stack.push(r);
                        }
                    }
                }
            }
        }
        out
    };
    let reach = |from: usize, to: usize| {
        reachable
            .get(from)
            .and_then(|r| r.get(to))
            .copied()
            .unwrap_or(true)
    };
    // The functions a mention written in package `pi`, module `module`,
    // might name.
    let types = TypeTables::new(found, roles, summaries, &funcs);
    let resolve =
        |pi: usize, module: &[String], self_ty: Option<&str>, m: &Mention| -> Option<Targets> {
            let (segs, name) = match m {
                Mention::Name(n) => {
                    return name_id.get(&**n).map(|&id| Targets::Name {
                        id,
                        kinds: Kinds::Any,
                        from: pi,
                    })
                }
                Mention::SelfMethod(_) | Mention::Method(_) | Mention::MethodName(_) => {
                    return types.method_targets(
                        &funcs,
                        (pi, module, self_ty),
                        m,
                        &by_name,
                        &by_path,
                        &name_id,
                        &reach,
                    );
                }
                Mention::Path(p) => {
                    let segs: Vec<String> =
                        Mention::segments(p).into_iter().map(String::from).collect();
                    (segs, p.rsplit("::").next()?)
                }
            };
            let segs = &segs;
            let id = *name_id.get(name)?;
            // One segment never names a method.
            let by_last = Targets::Name {
                id,
                kinds: if segs.len() >= 2 {
                    Kinds::Any
                } else {
                    Kinds::Free
                },
                from: pi,
            };
            let definite = definite_path(found, &index_of, pi, module, segs);
            if let Some(hit) = definite.and_then(|(q, p)| by_path.get(&(q, p.as_slice())).cloned())
            {
                return Some(Targets::Exact(hit));
            }
            // `Type::f` the path does not lead to: the methods of that name
            // of the types so named.
            if let [.., ty, _] = segs.as_slice() {
                if ty.starts_with(|c: char| c.is_ascii_uppercase()) && ty != "Self" {
                    let hits: Vec<usize> = by_name[name]
                        .iter()
                        .copied()
                        .filter(|&i| funcs[i].f.self_ty.as_deref() == Some(ty.as_str()))
                        .filter(|&i| reach(pi, funcs[i].package))
                        .collect();
                    if !hits.is_empty() {
                        return Some(Targets::Exact(hits));
                    }
                }
            }
            Some(by_last)
        };
    // Whether any of the targets satisfies `flag` (per function), with
    // `name_flag` the same per name: the packages of the functions of the
    // name that satisfy it, and whether such a one is a free function.
    let any_of = |t: &Targets, flag: &[bool], name_flag: &[Vec<(usize, bool)>]| match t {
        Targets::Exact(v) => v.iter().any(|&i| flag[i]),
        Targets::Name { id, kinds, from } => name_flag[*id]
            .iter()
            .any(|&(q, free)| kinds.admits(free) && reach(*from, q)),
    };
    let name_flags = |flag: &[bool]| -> Vec<Vec<(usize, bool)>> {
        let mut out = vec![Vec::new(); names.len()];
        for (i, g) in funcs.iter().enumerate() {
            if flag[i] {
                let e = (g.package, g.f.self_ty.is_none());
                let v: &mut Vec<(usize, bool)> = &mut out[name_id[g.f.name.as_str()]];
                if !v.contains(&e) {
                    v.push(e);
                }
            }
        }
        out
    };
    // Marks what the targets might name, per function or per name (the
    // packages that name it, and which kinds of function).
    let mark = |t: &Targets, per_fn: &mut [bool], per_name: &mut [Vec<(usize, Kinds)>]| match t {
        Targets::Exact(v) => v.iter().for_each(|&i| per_fn[i] = true),
        Targets::Name { id, kinds, from } => {
            let v = &mut per_name[*id];
            if !v.contains(&(*from, *kinds)) {
                v.push((*from, *kinds));
            }
        }
    };
    let is_marked = |i: usize, per_fn: &[bool], per_name: &[Vec<(usize, Kinds)>]| {
        let g = &funcs[i];
        per_fn[i]
            || per_name[name_id[g.f.name.as_str()]]
                .iter()
                .any(|&(from, kinds)| kinds.admits(g.f.self_ty.is_none()) && reach(from, g.package))
    };

    // Files whose every line is tool code: skipped packages, developer-tool
    // binaries.
    let tool_file: Vec<bool> = found
        .files
        .iter()
        .zip(roles)
        .map(|(file, role)| {
            let (Some(pi), Some(role)) = (file.package_index, role) else {
                return false;
            };
            !scopes.get(pi).is_none_or(|s| s.audited)
                || (role.kind == TargetKind::Bin && dev_bins.contains(&(pi, role.target.clone())))
        })
        .collect();

    // Every mention, where it is written, and what it might name.
    let mut edges: Vec<(Site, Targets)> = Vec::new();
    for (i, g) in funcs.iter().enumerate() {
        for m in &g.f.mentions {
            edges.extend(
                resolve(g.package, &g.module, g.f.self_ty.as_deref(), m)
                    .map(|t| (Site::Body(i), t)),
            );
        }
        for (a, arm) in g.f.dispatch_arms.iter().enumerate() {
            for m in &arm.mentions {
                edges.extend(
                    resolve(g.package, &g.module, g.f.self_ty.as_deref(), m)
                        .map(|t| (Site::Arm(i, a), t)),
                );
            }
        }
    }
    for (fi, (file, s)) in found.files.iter().zip(summaries).enumerate() {
        let (Some(pi), Some(s), Some(role)) = (file.package_index, s, &roles[fi]) else {
            continue;
        };
        if role.test {
            continue;
        }
        for m in &s.item_mentions {
            edges.extend(resolve(pi, &role.module, None, m).map(|t| (Site::Item(fi), t)));
        }
    }

    // Servers: functions whose body starts one, and what might call them.
    let mut serving = vec![false; funcs.len()];
    for (i, g) in funcs.iter().enumerate() {
        let serve_lines = summaries[g.file]
            .map(|s| s.serve_lines.as_slice())
            .unwrap_or(&[]);
        // A skipped package's server (a test harness's) serves no pod.
        serving[i] = !tool_file[g.file]
            && serve_lines
                .iter()
                .any(|l| g.f.lines.0 <= *l && *l <= g.f.lines.1);
    }
    loop {
        let mut grew = false;
        let serving_names = name_flags(&serving);
        for (site, targets) in &edges {
            let caller = match site {
                Site::Body(i) | Site::Arm(i, _) => *i,
                Site::Item(_) => continue,
            };
            if !serving[caller]
                && !tool_file[funcs[caller].file]
                && any_of(targets, &serving, &serving_names)
            {
                serving[caller] = true;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let serving_names = name_flags(&serving);

    // Command-line binaries: a bin target that parses a command line
    // (clap and its peers), starts no server and that no deployment file
    // names is run by people (`packages` skips such a package whole; here
    // it is one binary of a library package, `src/bin/ctl.rs`).
    let mut bin_facts: HashMap<(usize, &str), (bool, bool)> = HashMap::default();
    for ((file, role), s) in found.files.iter().zip(roles).zip(summaries) {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, s) else {
            continue;
        };
        if role.kind != TargetKind::Bin || role.test {
            continue;
        }
        let e = bin_facts.entry((pi, role.target.as_str())).or_default();
        e.0 |= s.uses_clap;
        e.1 |= !s.serve_lines.is_empty();
    }
    for (i, g) in funcs.iter().enumerate() {
        if let Some(role) = roles[g.file].as_ref().filter(|r| r.kind == TargetKind::Bin) {
            if serving[i] {
                if let Some(e) = bin_facts.get_mut(&(g.package, role.target.as_str())) {
                    e.1 = true;
                }
            }
        }
    }
    let cli_bin = |pi: usize, target: &str| {
        bin_facts
            .get(&(pi, target))
            .is_some_and(|(clap, serves)| *clap && !serves)
            && !found.deployed.contains(target)
            && !found.deployed.contains(&found.packages[pi].name)
    };
    let tool_file: Vec<bool> = tool_file
        .iter()
        .zip(found.files.iter().zip(roles))
        .map(|(&t, (file, role))| {
            t || match (file.package_index, role) {
                (Some(pi), Some(role)) => {
                    role.kind == TargetKind::Bin && !role.test && cli_bin(pi, &role.target)
                }
                _ => false,
            }
        })
        .collect();

    // Subcommand enums by package.
    let mut subcommands: HashSet<(usize, &str)> = HashSet::default();
    for (file, s) in found.files.iter().zip(summaries) {
        if let (Some(pi), Some(s)) = (file.package_index, s) {
            for e in &s.subcommand_enums {
                subcommands.insert((pi, e.as_str()));
            }
        }
    }
    // Which arms serve: an arm serves when it (or an arm nested in it)
    // starts a server or might call a function that does.
    let mut arms_serve: Vec<Vec<bool>> = vec![Vec::new(); funcs.len()];
    // Subcommands (package, enum, variant) an arm of which serves, in any
    // dispatch: `Some(Command::Serve(c)) => serve(c)` in one `match`,
    // `Some(Command::Serve(_)) => unreachable!()` in another.
    let mut serving_variants: HashSet<(usize, &str, &str)> = HashSet::default();
    // Serving catch-all arms: (package, enum, the variants their `match`
    // names in its other arms).
    let mut serving_catch_alls: Vec<(usize, &str, Vec<&str>)> = Vec::new();
    for (i, g) in funcs.iter().enumerate() {
        let arms = &g.f.dispatch_arms;
        if arms.is_empty() {
            continue;
        }
        let serve_lines = summaries[g.file]
            .map(|s| s.serve_lines.as_slice())
            .unwrap_or(&[]);
        let mut arm_serves = vec![false; arms.len()];
        for (a, arm) in arms.iter().enumerate() {
            let direct = serve_lines
                .iter()
                .any(|l| arm.lines.0 <= *l && *l <= arm.lines.1)
                || arm.mentions.iter().any(|m| {
                    resolve(g.package, &g.module, g.f.self_ty.as_deref(), m)
                        .is_some_and(|t| any_of(&t, &serving, &serving_names))
                });
            if direct {
                let mut at = Some(a);
                while let Some(x) = at {
                    arm_serves[x] = true;
                    at = arms[x].parent;
                }
            }
        }
        for (a, arm) in arms.iter().enumerate() {
            if arm_serves[a] {
                serving_variants.insert((g.package, &arm.enum_name, &arm.variant));
            }
            // `_ => run_server(args)`: every variant the other arms of that
            // `match` leave runs the server.
            if arm_serves[a] && arm.catch_all {
                let named: Vec<&str> = arms
                    .iter()
                    .filter(|o| o.dispatch == arm.dispatch && !o.catch_all)
                    .map(|o| o.variant.as_str())
                    .collect();
                serving_catch_alls.push((g.package, arm.enum_name.as_str(), named));
            }
        }
        arms_serve[i] = arm_serves;
    }
    // Tool arms: arms of a dispatch over a subcommand enum that reach no
    // server while another arm of the same `match`, or of another `match`
    // over that enum, does; and whose subcommand serves in no dispatch.
    let mut tool_arm: HashMap<(usize, usize), String> = HashMap::default();
    for (i, g) in funcs.iter().enumerate() {
        let arms = &g.f.dispatch_arms;
        if arms.is_empty() {
            continue;
        }
        let arm_serves = &arms_serve[i];
        let rel = &found.files[g.file].rel;
        for (a, arm) in arms.iter().enumerate() {
            // The enum may be declared in a workspace crate the program
            // depends on (a `cli` crate holding the clap types).
            let is_subcommand = subcommands.contains(&(g.package, arm.enum_name.as_str()))
                || found.packages[g.package]
                    .member_deps
                    .iter()
                    .filter(|d| d.kind != DepKind::Dev)
                    .filter_map(|d| index_of.get(d.package.as_str()))
                    .any(|&qi| subcommands.contains(&(qi, arm.enum_name.as_str())));
            let sibling_serves = arms
                .iter()
                .enumerate()
                .any(|(b, other)| other.dispatch == arm.dispatch && arm_serves[b])
                || serving_variants
                    .iter()
                    .any(|(p, e, _)| *p == g.package && *e == arm.enum_name);
            let serves_elsewhere = serving_variants.contains(&(
                g.package,
                arm.enum_name.as_str(),
                arm.variant.as_str(),
            )) || serving_catch_alls.iter().any(|(p, e, named)| {
                *p == g.package && *e == arm.enum_name && !named.contains(&arm.variant.as_str())
            });
            // A subcommand a deployment file starts the program with
            // (`args: [worker]`) runs in a pod.
            let deployed = {
                let lower = arm.variant.to_ascii_lowercase();
                found.command_words.contains(&lower)
                    || found.command_words.contains(&kebab(&arm.variant))
            };
            if is_subcommand
                && sibling_serves
                && !arm_serves[a]
                && !serves_elsewhere
                && !deployed
                && !arm.catch_all
            {
                tool_arm.insert((i, a), arm_why(arm, rel));
            }
        }
        // Arms nested in a tool arm are tool code too.
        for (a, _) in arms.iter().enumerate() {
            let mut at = arms[a].parent;
            while let Some(x) = at {
                if let Some(why) = tool_arm.get(&(i, x)).cloned() {
                    tool_arm.entry((i, a)).or_insert(why);
                    break;
                }
                at = arms[x].parent;
            }
        }
    }
    if tool_arm.is_empty() && !tool_file.iter().any(|t| *t) {
        return ToolCode::default();
    }

    // Candidates: functions of audited files that dispatch does not reach
    // unseen.
    let candidate: Vec<bool> = funcs
        .iter()
        .map(|g| {
            g.f.trait_name.is_none()
                && g.f.default_of.is_none()
                // Capitalised names are not recorded as mentions.
                && !g.f.name.starts_with(|c: char| c.is_ascii_uppercase())
                && g.f.name != "main"
                && !tool_file[g.file]
        })
        .collect();
    let mut named = vec![false; funcs.len()];
    let mut named_names = vec![Vec::new(); names.len()];
    for (_, targets) in &edges {
        mark(targets, &mut named, &mut named_names);
    }
    // Least fixpoint: a function joins when every site that might name it
    // is tool code (a function naming itself keeps itself out).
    let mut tool: Vec<Option<String>> = vec![None; funcs.len()];
    loop {
        let mut reached = vec![false; funcs.len()];
        let mut reached_names = vec![Vec::new(); names.len()];
        for (site, targets) in &edges {
            let is_tool = match *site {
                Site::Body(i) => tool[i].is_some() || tool_file[funcs[i].file],
                Site::Arm(i, a) => {
                    tool[i].is_some() || tool_file[funcs[i].file] || tool_arm.contains_key(&(i, a))
                }
                Site::Item(fi) => tool_file[fi],
            };
            if !is_tool {
                mark(targets, &mut reached, &mut reached_names);
            }
        }
        let mut grew = false;
        for i in 0..funcs.len() {
            if tool[i].is_none()
                && candidate[i]
                && is_marked(i, &named, &named_names)
                && !is_marked(i, &reached, &reached_names)
            {
                tool[i] = Some(String::new());
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }

    // Why, for each: the first tool site that names it.
    let mut out = ToolCode::default();
    let mut pending: HashMap<usize, Vec<usize>> = HashMap::default();
    for i in (0..funcs.len()).filter(|&i| tool[i].as_deref() == Some("")) {
        pending
            .entry(name_id[funcs[i].f.name.as_str()])
            .or_default()
            .push(i);
    }
    for (site, targets) in &edges {
        let tool_site = match *site {
            Site::Arm(i, a) => tool_arm.contains_key(&(i, a)),
            Site::Body(i) => tool[i].is_some() || tool_file[funcs[i].file],
            Site::Item(fi) => tool_file[fi],
        };
        if !tool_site {
            continue;
        }
        let hits: Vec<usize> = match targets {
            Targets::Exact(v) => v.clone(),
            Targets::Name { id, kinds, from } => pending
                .get(id)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&i| kinds.admits(funcs[i].f.self_ty.is_none()))
                .filter(|&i| reach(*from, funcs[i].package))
                .collect(),
        };
        for t in hits {
            if tool[t].as_deref() != Some("") {
                continue;
            }
            let via = match *site {
                Site::Arm(i, a) if tool_arm.contains_key(&(i, a)) => tool_arm[&(i, a)].clone(),
                Site::Body(i) | Site::Arm(i, _) if i != t && tool[i].is_some() => {
                    format!(
                        "`{}` ({}), itself tool code",
                        funcs[i].path.join("::"),
                        found.files[funcs[i].file].rel
                    )
                }
                Site::Body(i) | Site::Arm(i, _) if tool_file[funcs[i].file] => {
                    format!("a developer tool ({})", found.files[funcs[i].file].rel)
                }
                Site::Item(fi) if tool_file[fi] => {
                    format!("a developer tool ({})", found.files[fi].rel)
                }
                _ => continue,
            };
            tool[t] = Some(via);
        }
    }
    for (i, why) in tool.into_iter().enumerate() {
        let Some(via) = why else { continue };
        let g = &funcs[i];
        out.by_file.entry(g.file).or_default().push(ToolFn {
            name: g.path.join("::"),
            lines: g.f.lines,
            via: if via.is_empty() {
                "tool code".to_string()
            } else {
                via
            },
        });
    }
    out
}

/// The package and module path a path written in package `pi`, module
/// `module` leads to (`crate::`, `self::`, `super::`, a member's extern
/// name, the package's own library name, else an item of the module).
fn definite_path(
    found: &Discovered,
    index_of: &HashMap<&str, usize>,
    pi: usize,
    module: &[String],
    segs: &[String],
) -> Option<(usize, Vec<String>)> {
    let package = &found.packages[pi];
    let first = segs.first()?.as_str();
    match first {
        "crate" => Some((pi, segs[1..].to_vec())),
        "self" => Some((pi, [module, &segs[1..]].concat())),
        "super" => {
            let ups = segs.iter().take_while(|s| *s == "super").count();
            (ups <= module.len())
                .then(|| (pi, [&module[..module.len() - ups], &segs[ups..]].concat()))
        }
        _ => {
            let dep = package
                .member_deps
                .iter()
                .find(|d| d.kind != DepKind::Dev && d.extern_name == first)
                .and_then(|d| index_of.get(d.package.as_str()).copied())
                .or_else(|| (package.lib_crate_name().as_deref() == Some(first)).then_some(pi));
            match dep {
                Some(qi) if segs.len() >= 2 => Some((qi, segs[1..].to_vec())),
                // An item of this module, or a child module's.
                _ => Some((pi, [module, segs].concat())),
            }
        }
    }
}

/// clap's default subcommand name of a variant: `DumpIndex` is `dump-index`.
fn kebab(variant: &str) -> String {
    let mut out = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn arm_why(arm: &DispatchArm, rel: &str) -> String {
    format!(
        "the `{}::{}` subcommand ({rel}:{}), which starts no server",
        arm.enum_name, arm.variant, arm.lines.0
    )
}
