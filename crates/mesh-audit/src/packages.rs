//! The deployment model: which workspace members run in a meshed pod.
//!
//! Each member gets a scope, decided in this order:
//! 1. `[package.metadata.mesh-audit] scope = "..."` (or `"skip"`);
//!    `offline`: a package that cannot reach the network (its code and
//!    manifest name no network crate, and no member linked to it does; see
//!    [`crate::reach`]): not parsed, nothing to report;
//! 2. `service` / `job`: a binary that the repository's deployment files
//!    name (Dockerfile, Kubernetes / Helm manifest, compose file);
//! 3. `dev`: a package that only has test, bench or example targets, one
//!    whose name or folder says it is test support, benchmarks, fuzzing,
//!    mocks or a developer task runner (`*-integration`, `test-utils`,
//!    `xtask`, `benches/`), or one reached only through dev-dependencies;
//! 4. `dev`: a cargo subcommand (a binary named `cargo-*`, which cargo runs
//!    as `cargo *` on a developer's machine) that is not deployed, even when
//!    it starts a local server (a dev-mode stand-in for a platform API);
//! 5. `dev`: a command-line binary (clap) that deployment files only ship
//!    for people to run (in a toolbox image whose command is a shell), even
//!    when a subcommand serves; or that an image runs as its bare
//!    `ENTRYPOINT`, serving nothing, with clap subcommands or a manifest
//!    that calls it a command-line program (crates.io's
//!    `command-line-utilities` category, the keyword `cli`): whoever runs
//!    the image gives the command;
//!    `service`: a binary whose code starts a server;
//! 6. `dev`: a binary that parses arguments with clap (in its own files or
//!    through a member it links that declares a clap subcommand tree),
//!    starts no server and is not deployed: a command-line tool run by
//!    people (a binary only a
//!    non-default feature builds, `required-features`, and no deployment
//!    file names is such a tool whatever it parses, and is left out of its
//!    package's facts);
//! 7. `dev`: a binary that runs `cargo` (a harness that builds and starts
//!    the workspace's programs), serves nothing and is not deployed;
//!    `job`: a binary that makes HTTP/gRPC calls but serves nothing;
//! 8. `library`: reached through normal dependencies from a service or job;
//!    `dev` when only dev packages reach it, unless it is a plugin (a
//!    `cdylib` loaded at run time, which tests may link to reuse its
//!    functions: audited); a plugin built with wasm-bindgen that no
//!    service or job links is a module for a JavaScript host (`dev`);
//! 9. `unknown` otherwise (audited: a gate must not go quiet on doubt).
//!
//! `dev` and `skip` packages are not audited unless `--all-scopes`.

use std::collections::BTreeSet;

use mesh_audit_model::PackageScope;

use crate::discover::{DepKind, Discovered, TargetKind};
use crate::index::FileSummary;
use crate::modtree::FileRole;

/// Words in a package's name or folder that say it never ships.
const DEV_WORDS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "testutil",
    "testutils",
    "testkit",
    "integration",
    // Interoperability test suites: programs that speak a protocol to
    // other implementations in a test harness's containers.
    "interop",
    "e2e",
    "smoketest",
    "smoketests",
    "bench",
    "benches",
    "benchmark",
    "benchmarks",
    "mock",
    "mocks",
    "fixture",
    "fixtures",
    "chaos",
    "xtask",
    "fuzz",
    "example",
    "examples",
];

/// See [`crate::reach`]: such a package is not parsed.
const OFFLINE_WHY: &str = "its code and manifest name no network crate, and no member linked to it does: nothing a mesh changes; not parsed";
const CLI_WHY: &str = "a command-line tool (clap, no server, not deployed)";
const SHIPPED_TOOL_WHY: &str =
    "a command-line tool that deployment files ship only for people to run";
const CARGO_SUBCOMMAND_WHY: &str = "a cargo subcommand (run by people, not deployed)";
const CLI_IMAGE_WHY: &str = "a command-line tool (clap subcommands, no server) that an image runs as its bare `ENTRYPOINT`: whoever runs the image gives the command";
const DECLARED_CLI_IMAGE_WHY: &str = "a command-line tool (its manifest says so: category `command-line-utilities` or keyword `cli`; clap, no server) that an image runs as its bare `ENTRYPOINT`: whoever runs the image gives the command";
const CARGO_HARNESS_WHY: &str = "a developer's harness: a binary that runs `cargo` (a Rust toolchain no deployed image ships), serves nothing and is not deployed";
const DEV_BIN_WHY: &str = "a developer tool (not deployed, serves nothing)";
const HARNESS_WHY: &str = "a stand-alone copy of a server a deployed program runs (not deployed; the deployed program serves the same items of this library)";
const PLUGIN_WHY: &str =
    "a plugin library (`cdylib`) a program loads at run time; no server or job links it";
const JS_MODULE_WHY: &str =
    "a WebAssembly module for a JavaScript host (`cdylib` with wasm-bindgen); no server or job links it";

#[derive(Debug, Default)]
struct Facts {
    /// `file:line` of the first server start in production code.
    serves: Option<String>,
    clap: bool,
    /// A binary's own files run `cargo`.
    runs_cargo: bool,
    /// Declares a clap subcommand enum: its command line names a command.
    subcommands: bool,
    net: bool,
    bins: Vec<String>,
    has_lib: bool,
    only_test_targets: bool,
}

/// Scopes of every member, in `found.packages` order.
pub fn classify(
    found: &Discovered,
    roles: &[Option<FileRole>],
    summaries: &[Option<&FileSummary>],
    all_scopes: bool,
) -> Vec<PackageScope> {
    let n = found.packages.len();
    let mut facts: Vec<Facts> = (0..n).map(|_| Facts::default()).collect();
    for (i, p) in found.packages.iter().enumerate() {
        let f = &mut facts[i];
        // A binary the default build skips (`required-features` off by
        // default) and no deployment file names is an opt-in tool: it says
        // nothing of what the package is.
        f.bins = p
            .targets
            .iter()
            .filter(|t| t.kind == TargetKind::Bin && !opt_in_tool(found, t))
            .map(|t| t.name.clone())
            .collect();
        f.has_lib = p.targets.iter().any(|t| t.kind == TargetKind::Lib);
        f.only_test_targets = !p.targets.iter().any(|t| t.kind.is_production());
    }
    let wrappers = serving_wrappers(found, roles, summaries);
    for (fi, ((file, role), summary)) in found.files.iter().zip(roles).zip(summaries).enumerate() {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, summary) else {
            continue;
        };
        if role.test
            || role.kind == TargetKind::Bin
                && found.packages[pi].targets.iter().any(|t| {
                    t.name == role.target && t.kind == TargetKind::Bin && opt_in_tool(found, t)
                })
        {
            continue;
        }
        let f = &mut facts[pi];
        if f.serves.is_none() {
            f.serves = s
                .serves_at
                .map(|l| format!("{}:{l}", file.rel))
                .or_else(|| wrappers.get(&fi).cloned());
        }
        f.clap |= s.uses_clap;
        f.runs_cargo |= role.kind == TargetKind::Bin && s.runs_cargo;
        f.subcommands |= !s.subcommand_enums.is_empty();
        f.net |= s
            .functions
            .iter()
            .any(|f| f.net.as_ref().is_some_and(|n| n.protocol.is_l7()));
    }

    let name_of = |i: usize| found.packages[i].name.as_str();
    // Whether a package links (through normal dependencies, itself
    // included) a member whose code starts a server: a program whose
    // subcommand starts one through a library (`greptime standalone
    // start`) may serve although its own files bind nothing.
    let index_of = found.package_indexes();
    let links_server = |i: usize| {
        let mut seen = vec![false; n];
        let mut todo = vec![i];
        while let Some(j) = todo.pop() {
            if std::mem::replace(&mut seen[j], true) {
                continue;
            }
            if facts[j].serves.is_some() {
                return true;
            }
            todo.extend(
                found.packages[j]
                    .member_deps
                    .iter()
                    .filter(|d| d.kind == DepKind::Normal)
                    .filter_map(|d| index_of.get(d.package.as_str()).copied()),
            );
        }
        false
    };
    // Whether a package's binaries hand their command line to a member
    // that declares a clap subcommand tree (a thin `main` over a
    // `*-cli` library): they parse arguments as if their own files did.
    let links_cli = |i: usize| {
        found.packages[i]
            .member_deps
            .iter()
            .filter(|d| d.kind == DepKind::Normal)
            .filter_map(|d| index_of.get(d.package.as_str()).copied())
            .any(|q| q != i && facts[q].clap && facts[q].subcommands)
    };
    let mut scope: Vec<Option<(&'static str, String)>> = vec![None; n];
    for (i, p) in found.packages.iter().enumerate() {
        let f = &facts[i];
        let deployed = f
            .bins
            .iter()
            .chain(std::iter::once(&p.name))
            .find(|b| found.deployed.contains(*b));
        let rel = crate::discover::rel_to(&found.root, &p.root);
        let name_word = dev_word(&p.name, "");
        scope[i] = Some(if let Some(s) = &p.scope_override {
            (
                match s.as_str() {
                    "service" => "service",
                    "library" => "library",
                    "job" => "job",
                    "dev" => "dev",
                    "skip" => "skip",
                    _ => "unknown",
                },
                "[package.metadata.mesh-audit] scope".to_string(),
            )
        } else if !p.reaches_network {
            ("offline", OFFLINE_WHY.to_string())
        } else if f.only_test_targets {
            ("dev", "only test, bench or example targets".to_string())
        } else if let (Some(word), false) = (name_word, found.deployed.contains(&p.name)) {
            // The package's own name outranks a deployment file that names
            // one of its bins: `router-fuzz` may have a bin called `router`.
            ("dev", format!("named as {word} code (`{}`)", p.name))
        } else if let (Some(bin), true) = (
            deployed,
            f.clap
                && (f.subcommands || p.declares_cli)
                && !links_server(i)
                && f.bins
                    .iter()
                    .chain(std::iter::once(&p.name))
                    .filter(|b| found.deployed.contains(*b))
                    .all(|b| found.bare_entrypoints.contains(b)),
        ) {
            // `ENTRYPOINT ["/usr/bin/ctl"]` and nothing else: the image
            // packages a command-line tool (`docker run ctl project list`),
            // it starts no service of its own. A tool with flags only is
            // told from a worker run the same way by what its manifest
            // says it is (`categories = ["command-line-utilities"]`).
            let why = if f.subcommands {
                CLI_IMAGE_WHY
            } else {
                DECLARED_CLI_IMAGE_WHY
            };
            ("dev", format!("{why} (`{bin}`)"))
        } else if let Some(bin) = deployed {
            ("service", format!("`{bin}` is named by a deployment file"))
        } else if let Some(word) = dev_word("", &rel) {
            ("dev", format!("named as {word} code (`{rel}`)"))
        } else if f.bins.iter().any(|b| is_cargo_subcommand(b)) {
            ("dev", CARGO_SUBCOMMAND_WHY.to_string())
        } else if let (Some(bin), true) = (
            f.bins
                .iter()
                .find(|b| found.shipped_tools.contains(*b))
                .filter(|_| f.bins.iter().all(|b| found.shipped_tools.contains(b))),
            f.clap && f.serves.is_some(),
        ) {
            // Its server is a subcommand people start by hand (a local
            // diagnostics UI): the only image holding it runs a shell.
            ("dev", format!("{SHIPPED_TOOL_WHY} (`{bin}`)"))
        } else if !f.bins.is_empty() && f.serves.is_some() {
            (
                "service",
                format!(
                    "starts a server ({})",
                    f.serves.as_deref().unwrap_or_default()
                ),
            )
        } else if !f.bins.is_empty() && (f.clap || links_cli(i)) {
            ("dev", CLI_WHY.to_string())
        } else if !f.bins.is_empty() && f.runs_cargo {
            // It builds and starts the workspace's programs (`cargo build`,
            // then a local network of them) to drive them end to end.
            ("dev", CARGO_HARNESS_WHY.to_string())
        } else if !f.bins.is_empty() && f.net {
            (
                "job",
                "a binary that calls services and serves nothing".to_string(),
            )
        } else {
            // Libraries are decided below, from who depends on them.
            ("unknown", String::new())
        });
    }

    // Libraries: reached through normal dependencies from a service or job
    // (transitively); dev when only dev packages (or dev-dependencies) reach
    // them. A fixpoint over the member graph.
    for _ in 0..n.max(1) {
        let mut changed = false;
        for i in 0..n {
            // Undecided packages, and command-line tools that are also a
            // library the services link.
            let open = match &scope[i] {
                Some(("unknown", w)) => w.is_empty() || w.starts_with("used by") || w == PLUGIN_WHY,
                Some(("dev", w)) => {
                    (w == CLI_WHY
                        || w == CARGO_HARNESS_WHY
                        || w == CARGO_SUBCOMMAND_WHY
                        || w == JS_MODULE_WHY
                        || w.starts_with(SHIPPED_TOOL_WHY)
                        || w.starts_with(CLI_IMAGE_WHY)
                        || w.starts_with(DECLARED_CLI_IMAGE_WHY))
                        && facts[i].has_lib
                }
                Some(("library", w)) => w.starts_with("used by"),
                _ => false,
            };
            if !open {
                continue;
            }
            let mut prod_user = None;
            let mut any_user = None;
            for (j, p) in found.packages.iter().enumerate() {
                for d in p.member_deps.iter().filter(|d| d.package == name_of(i)) {
                    any_user.get_or_insert(j);
                    let user_scope = scope[j].as_ref().map(|s| s.0).unwrap_or("unknown");
                    if d.kind != DepKind::Dev && matches!(user_scope, "service" | "job" | "library")
                    {
                        prod_user.get_or_insert(j);
                    }
                }
            }
            let next = if let Some(j) = prod_user {
                Some(("library", format!("used by {}", name_of(j))))
            } else if matches!(&scope[i], Some(("dev", _))) {
                None
            } else if found.packages[i].js_module {
                // Built with wasm-bindgen for a page or a Node program (a
                // client SDK): it runs where JavaScript runs, not in a pod.
                Some(("dev", JS_MODULE_WHY.to_string()))
            } else if found.packages[i].plugin {
                // A plugin (`cdylib`) ships as its own artifact, loaded by a
                // program at run time: tests that link it to call its
                // functions say nothing of where it runs.
                Some(("unknown", PLUGIN_WHY.to_string()))
            } else if let Some(j) = any_user {
                let users_all_dev = found.packages.iter().enumerate().all(|(k, p)| {
                    !p.member_deps.iter().any(|d| d.package == name_of(i))
                        || p.member_deps
                            .iter()
                            .filter(|d| d.package == name_of(i))
                            .all(|d| d.kind == DepKind::Dev)
                        || matches!(scope[k].as_ref().map(|s| s.0), Some("dev" | "skip"))
                });
                if users_all_dev {
                    Some((
                        "dev",
                        format!(
                            "reached only through dev-dependencies or dev packages ({})",
                            name_of(j)
                        ),
                    ))
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(next) = next {
                if scope[i].as_ref() != Some(&next) {
                    scope[i] = Some(next);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    found
        .packages
        .iter()
        .zip(scope)
        .map(|(p, s)| {
            let (scope, mut why) = s.unwrap_or(("unknown", String::new()));
            if why.is_empty() {
                why = "no server, no deployment file and no workspace user says what it is".into();
            }
            PackageScope {
                name: p.name.clone(),
                scope: scope.to_string(),
                why,
                audited: p.selected
                    && p.reaches_network
                    && (all_scopes || !matches!(scope, "dev" | "skip")),
            }
        })
        .collect()
}

/// Files that start a server through a workspace library's function that
/// itself binds (`utils::tcp_listener::bind(addr)`, `http::serve(addr, app)`):
/// by file index, `file (via lib::path)`. The call is resolved as written
/// through the file's imports to a normal dependency's library and the
/// module path of the function in it, never by its name alone.
fn serving_wrappers(
    found: &Discovered,
    roles: &[Option<FileRole>],
    summaries: &[Option<&FileSummary>],
) -> rustc_hash::FxHashMap<usize, String> {
    serving_wrappers_and_names(found, roles, summaries).0
}

/// `serving_wrappers`, and the names by which code could start a server
/// through a member's library: per package, the last two segments of
/// each library function that starts one (its name and, for a method, its
/// type's).
fn serving_wrappers_and_names(
    found: &Discovered,
    roles: &[Option<FileRole>],
    summaries: &[Option<&FileSummary>],
) -> (
    rustc_hash::FxHashMap<usize, String>,
    BTreeSet<(usize, String)>,
) {
    // (package index, module path + fn path) of library functions that bind.
    let mut serving: BTreeSet<(usize, Vec<String>)> = BTreeSet::new();
    for ((file, role), s) in found.files.iter().zip(roles).zip(summaries) {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, s) else {
            continue;
        };
        if role.test || role.kind != TargetKind::Lib {
            continue;
        }
        for f in &s.serving_fns {
            let mut path = role.module.clone();
            path.extend(f.iter().cloned());
            serving.insert((pi, path));
        }
    }
    let mut out = rustc_hash::FxHashMap::default();
    if serving.is_empty() {
        return (out, BTreeSet::new());
    }
    let index_of = found.package_indexes();
    // What a callee path written in package `pi`, in module `module`,
    // names: (package, module path + name) candidates, as rustc reads
    // `crate::`, `self::`, `super::`, another member's extern name, and a
    // path relative to the module (a child module, or an item beside it).
    let targets = |pi: usize, module: &[String], path: &[String]| -> Vec<(usize, Vec<String>)> {
        let Some(first) = path.first() else {
            return Vec::new();
        };
        match first.as_str() {
            "crate" => vec![(pi, path[1..].to_vec())],
            "self" => vec![(pi, [module, &path[1..]].concat())],
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                if ups > module.len() {
                    return Vec::new();
                }
                vec![(pi, [&module[..module.len() - ups], &path[ups..]].concat())]
            }
            _ => {
                let package = &found.packages[pi];
                let dep = package
                    .member_deps
                    .iter()
                    .find(|d| d.kind != DepKind::Dev && &d.extern_name == first)
                    .and_then(|d| index_of.get(d.package.as_str()).copied())
                    .or_else(|| (package.lib_crate_name().as_ref() == Some(first)).then_some(pi));
                match dep {
                    Some(qi) if path.len() >= 2 => vec![(qi, path[1..].to_vec())],
                    Some(_) => Vec::new(),
                    None => vec![(pi, [module, path].concat())],
                }
            }
        }
    };
    // A library function that calls one of its crate's serving functions
    // serves too (`run()` → `serve::serve()` → `plain::serve()` → the bind).
    let lib_fns: Vec<(usize, Vec<String>, &crate::index::FnSummary)> = found
        .files
        .iter()
        .zip(roles)
        .zip(summaries)
        .filter_map(|((file, role), s)| {
            let (pi, role, s) = (file.package_index?, role.as_ref()?, (*s)?);
            (!role.test && role.kind == TargetKind::Lib).then_some((pi, role, s))
        })
        .flat_map(|(pi, role, s)| {
            s.functions.iter().map(move |f| {
                let module: Vec<String> = role.module.iter().chain(&f.module).cloned().collect();
                (pi, module, f)
            })
        })
        .collect();
    for _ in 0..8 {
        let mut grew = false;
        for (pi, module, f) in &lib_fns {
            let mut me = module.clone();
            me.extend(f.self_ty.clone());
            me.push(f.name.clone());
            if serving.contains(&(*pi, me.clone())) {
                continue;
            }
            let calls_serving = f.callees.iter().any(|c| {
                let path: Vec<String> = if c.via_self && c.path.len() <= 2 {
                    match &f.self_ty {
                        Some(t) => vec![t.clone(), c.name.clone()],
                        None => return false,
                    }
                } else {
                    c.path.clone()
                };
                targets(*pi, module, &path)
                    .into_iter()
                    .any(|t| serving.contains(&t))
            });
            if calls_serving {
                serving.insert((*pi, me));
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    for (fi, ((file, role), s)) in found.files.iter().zip(roles).zip(summaries).enumerate() {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, s) else {
            continue;
        };
        if role.test {
            continue;
        }
        let package = &found.packages[pi];
        // A binary also calls its own package's library by the crate name.
        let own_lib = (role.kind != TargetKind::Lib)
            .then(|| package.lib_crate_name())
            .flatten();
        let hit = s
            .functions
            .iter()
            .flat_map(|f| f.callees.iter())
            .filter(|c| c.path.len() >= 2)
            .find_map(|c| {
                let qi = if own_lib.as_deref() == Some(c.path[0].as_str()) {
                    pi
                } else {
                    let dep = package
                        .member_deps
                        .iter()
                        .find(|d| d.kind != DepKind::Dev && d.extern_name == c.path[0])?;
                    *index_of.get(dep.package.as_str())?
                };
                // Another crate's serving function; the package's own are
                // its `serves_at` already.
                (qi != pi || role.kind != TargetKind::Lib)
                    .then_some(())
                    .and_then(|()| {
                        serving
                            .contains(&(qi, c.path[1..].to_vec()))
                            .then(|| c.path.join("::"))
                    })
            });
        // A method of a member's type on a value its constructor gave (`let
        // mut hub = grpc::Hub::new(..); hub.start(addr)`), when the
        // constructor is declared to return that type and that type's
        // method of that name serves.
        let hit = hit.or_else(|| {
            s.functions
                .iter()
                .filter(|f| !f.test)
                .flat_map(|f| f.ctor_calls.iter())
                .find_map(|(path, method)| {
                    let qi = if own_lib.as_deref() == Some(path[0].as_str()) {
                        pi
                    } else {
                        let dep = package
                            .member_deps
                            .iter()
                            .find(|d| d.kind != DepKind::Dev && d.extern_name == path[0])?;
                        *index_of.get(dep.package.as_str())?
                    };
                    if qi == pi && role.kind == TargetKind::Lib {
                        return None;
                    }
                    let [.., ty, ctor] = path.as_slice() else {
                        return None;
                    };
                    let builds = lib_fns.iter().any(|(li, _, f)| {
                        *li == qi
                            && f.self_ty.as_ref() == Some(ty)
                            && &f.name == ctor
                            && f.ret_ty.as_ref() == Some(ty)
                    });
                    let serves = builds
                        && serving
                            .iter()
                            .any(|(si, p)| *si == qi && p.ends_with(&[ty.clone(), method.clone()]));
                    serves.then(|| format!("{}::{method}", path[..path.len() - 1].join("::")))
                })
        });
        if let Some(path) = hit {
            out.insert(fi, format!("{} via `{path}`", file.rel));
        }
    }
    let names = serving
        .iter()
        .flat_map(|(pi, path)| path.iter().rev().take(2).map(move |n| (*pi, n.clone())))
        .collect();
    (out, names)
}

/// Binaries of a package that are developer tools although the package
/// ships: in a package with a deployed binary, a binary that is not deployed
/// and starts no server (`src/bin/load_generator.rs` beside the deployed
/// `api`), any binary whose name says it is test support, a benchmark
/// or a fixture, and, in a package other members link as a library, no
/// deployment file names and no file of which starts a server (or only a
/// server of its library that another member starts, `QuoteServer` the
/// gateway embeds, and the binary names none of its serving functions or
/// types), a binary
/// that takes a command line (`src/bin/ctl.rs` beside the client library a service links:
/// the service ships the library, people run the binary). Their files
/// (those no library or deployed binary also compiles) are not audited.
pub fn dev_bins(
    found: &Discovered,
    roles: &[Option<FileRole>],
    summaries: &[Option<&FileSummary>],
) -> std::collections::BTreeMap<(usize, String), &'static str> {
    let (wrappers, serving_names) = serving_wrappers_and_names(found, roles, summaries);
    let mut serving: BTreeSet<(usize, String)> = BTreeSet::new();
    // Binaries whose code names a function or type of their package's
    // library that starts a server (`Server::new(..).start()`): they may
    // serve through it, even where the call cannot be followed.
    let mut names_server: BTreeSet<(usize, String)> = BTreeSet::new();
    // Packages whose library's server another member starts: a path into
    // the library (`quotes::QuoteServer::new(..)`) in a member that links it
    // names one of its serving functions or types. The server is embedded
    // there.
    let mut embedded: BTreeSet<usize> = BTreeSet::new();
    let index_of = found.package_indexes();
    // Binaries whose files parse a command line (clap and its peers).
    let mut command_line: BTreeSet<(usize, String)> = BTreeSet::new();
    // Packages with a server start in any production file, their library's
    // included: a binary may serve through its own package's library.
    let mut package_serves: BTreeSet<usize> = BTreeSet::new();
    for (fi, ((file, role), s)) in found.files.iter().zip(roles).zip(summaries).enumerate() {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, s) else {
            continue;
        };
        if !role.test && (s.serves_at.is_some() || wrappers.contains_key(&fi)) {
            package_serves.insert(pi);
        }
        if role.kind == TargetKind::Bin && (s.serves_at.is_some() || wrappers.contains_key(&fi)) {
            serving.insert((pi, role.target.clone()));
        }
        if role.kind == TargetKind::Bin && !role.test && s.uses_clap {
            command_line.insert((pi, role.target.clone()));
        }
        if role.test || serving_names.is_empty() {
            continue;
        }
        let callees = || s.functions.iter().flat_map(|f| &f.callees);
        if role.kind == TargetKind::Bin
            && callees().any(|c| {
                serving_names.contains(&(pi, c.name.clone()))
                    || c.path
                        .iter()
                        .any(|seg| serving_names.contains(&(pi, seg.clone())))
            })
        {
            names_server.insert((pi, role.target.clone()));
        }
        for d in found.packages[pi]
            .member_deps
            .iter()
            .filter(|d| d.kind == DepKind::Normal)
        {
            let Some(&qi) = index_of.get(d.package.as_str()) else {
                continue;
            };
            if qi != pi
                && callees().any(|c| {
                    c.path.first() == Some(&d.extern_name)
                        && c.path[1..]
                            .iter()
                            .any(|seg| serving_names.contains(&(qi, seg.clone())))
                })
            {
                embedded.insert(qi);
            }
        }
    }
    // Items of its own library a binary calls in a file that starts a
    // server, and items of a member's library a deployed program calls in a
    // file that starts one (`RaftService::new(..)` handed to both servers).
    let deployed_pkg = |q: &crate::discover::PackageInfo| {
        found.deployed.contains(&q.name)
            || q.targets
                .iter()
                .any(|t| t.kind == TargetKind::Bin && found.deployed.contains(&t.name))
    };
    let mut bin_lib_items: BTreeSet<(usize, String, Vec<String>)> = BTreeSet::new();
    let mut deployed_items: BTreeSet<(usize, Vec<String>)> = BTreeSet::new();
    for ((file, role), s) in found.files.iter().zip(roles).zip(summaries) {
        let (Some(pi), Some(role), Some(s)) = (file.package_index, role, s) else {
            continue;
        };
        if role.test || s.serves_at.is_none() {
            continue;
        }
        let p = &found.packages[pi];
        let calls = || {
            s.functions.iter().flat_map(|f| &f.callees).filter(|c| {
                c.path.len() >= 3 && c.path[1..].iter().any(|seg| names_server_part(seg))
            })
        };
        if role.kind == TargetKind::Bin {
            if let Some(lib) = p.targets.iter().find(|t| t.kind == TargetKind::Lib) {
                let lib = lib.name.replace('-', "_");
                for c in calls().filter(|c| c.path[0] == lib) {
                    bin_lib_items.insert((pi, role.target.clone(), c.path[1..].to_vec()));
                }
            }
        }
        if deployed_pkg(p) {
            for d in p.member_deps.iter().filter(|d| d.kind == DepKind::Normal) {
                let Some(&qi) = index_of.get(d.package.as_str()) else {
                    continue;
                };
                for c in calls().filter(|c| qi != pi && c.path[0] == d.extern_name) {
                    deployed_items.insert((qi, c.path[1..].to_vec()));
                }
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    for (pi, p) in found.packages.iter().enumerate() {
        let bins: Vec<&str> = p
            .targets
            .iter()
            .filter(|t| t.kind == TargetKind::Bin)
            .map(|t| t.name.as_str())
            .collect();
        let any_deployed = bins.iter().any(|b| found.deployed.contains(*b));
        // No deployment file names the package or a binary of it, and its
        // main binary (`src/main.rs`) is the server: the `src/bin/` programs
        // beside it that serve nothing and take a command line are one-shot
        // tools an operator runs (a backfill, an import), not the service.
        let main_serves = !any_deployed
            && !found.deployed.contains(&p.name)
            && p.targets.iter().any(|t| {
                t.kind == TargetKind::Bin
                    && t.src_path.ends_with("src/main.rs")
                    && serving.contains(&(pi, t.name.clone()))
            });
        // Other members link its library (a normal dependency); neither the
        // package nor any of its binaries is deployed, and no file of it
        // starts a server (its binaries might, through the library), or
        // only a server another member embeds, which the binary does not
        // name (below).
        let linked_library = !any_deployed
            && !found.deployed.contains(&p.name)
            && p.targets.iter().any(|t| t.kind == TargetKind::Lib)
            && found.packages.iter().any(|q| {
                q.member_deps
                    .iter()
                    .any(|d| d.package == p.name && d.kind == DepKind::Normal)
            });
        for b in bins {
            let opt_in = p
                .targets
                .iter()
                .any(|t| t.name == b && t.kind == TargetKind::Bin && opt_in_tool(found, t));
            let named_dev = (opt_in || dev_word(b, "").is_some()) && !found.deployed.contains(b);
            let not_serving = !serving.contains(&(pi, b.to_string()));
            let undeployed_tool = any_deployed && !found.deployed.contains(b) && not_serving;
            let tool_beside_server =
                main_serves && not_serving && command_line.contains(&(pi, b.to_string()));
            let tool_beside_library = linked_library
                && not_serving
                && command_line.contains(&(pi, b.to_string()))
                && (!package_serves.contains(&pi)
                    || embedded.contains(&pi) && !names_server.contains(&(pi, b.to_string())));
            // A stand-alone copy of a server a deployed program runs: the
            // binary starts a server in its own code around items of its
            // library that a deployed member also hands to the server it
            // starts, and no deployment file names the binary. It runs
            // the library on a developer's machine (a test node, a demo).
            let harness = linked_library
                && !not_serving
                && bin_lib_items
                    .range((pi, b.to_string(), Vec::new())..)
                    .take_while(|(q, t, _)| *q == pi && t == b)
                    .any(|(_, _, item)| deployed_items.contains(&(pi, item.clone())));
            if named_dev || undeployed_tool || tool_beside_server || tool_beside_library || harness
            {
                let why = if harness && !named_dev {
                    HARNESS_WHY
                } else {
                    DEV_BIN_WHY
                };
                out.insert((pi, b.to_string()), why);
            }
        }
    }
    out
}

/// A path segment that names what a server hosts: a type whose name says it
/// is one (`RaftServer`, `LedgerService`, `ApiRouter`, `EventHandler`) or a
/// function building one (`router`, `routes`, `app`), never a helper
/// (`config::load`).
fn names_server_part(seg: &str) -> bool {
    let ty = seg.starts_with(|c: char| c.is_ascii_uppercase())
        && ["Server", "Service", "Router", "Handler"]
            .iter()
            .any(|w| seg.ends_with(w));
    ty || matches!(seg, "router" | "routes" | "app")
}

/// A binary only a non-default feature builds (`required-features`) and no
/// deployment file names: a maintenance or debugging tool someone builds on
/// purpose (`cargo run --features update-snapshots --bin update-snapshots`).
fn opt_in_tool(found: &Discovered, t: &crate::discover::TargetInfo) -> bool {
    t.opt_in && !found.deployed.contains(&t.name)
}

/// A binary cargo runs as a subcommand: `cargo-foo` is `cargo foo`.
fn is_cargo_subcommand(bin: &str) -> bool {
    bin.strip_prefix("cargo-")
        .is_some_and(|rest| !rest.is_empty())
}

/// The dev word in a package's name, or in a folder of its path below the
/// workspace root (`tools/mock-server`, `benches/load`).
pub(crate) fn dev_word(name: &str, rel: &str) -> Option<&'static str> {
    let words: BTreeSet<String> = name
        .split(['-', '_'])
        .chain(rel.split('/').flat_map(|c| c.split(['-', '_'])))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    DEV_WORDS
        .iter()
        .copied()
        .find(|w| words.contains(*w))
        .map(|w| match w {
            "bench" | "benches" | "benchmark" | "benchmarks" => "benchmark",
            "mock" | "mocks" => "mock",
            "fixture" | "fixtures" => "fixture",
            "xtask" => "task-runner",
            "fuzz" => "fuzzing",
            "example" | "examples" => "example",
            _ => "test-support",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_words_in_names_and_folders() {
        assert_eq!(
            dev_word("orders-integration", "orders-integration"),
            Some("test-support")
        );
        assert_eq!(dev_word("server", "tools/mock-server"), Some("mock"));
        assert_eq!(dev_word("xtask", "xtask"), Some("task-runner"));
        assert_eq!(
            dev_word("shop-smoketests", "crates/smoketests"),
            Some("test-support")
        );
        assert_eq!(dev_word("load", "benches/load"), Some("benchmark"));
        assert_eq!(
            dev_word("janus_interop_binaries", "interop_binaries"),
            Some("test-support")
        );
        assert_eq!(
            dev_word(
                "interoperability-gateway",
                "services/interoperability-gateway"
            ),
            None
        );
        assert_eq!(dev_word("attestation", "crates/attestation"), None);
        assert_eq!(dev_word("latest-api", "services/latest-api"), None);
    }
}
