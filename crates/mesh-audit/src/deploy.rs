//! Which binaries the repository deploys: names that its Dockerfiles,
//! compose files and Kubernetes / Helm manifests build or run
//! (`cargo build --bin api`, `-p orders`, `COPY --from=build
//! /src/target/release/api`, `ENTRYPOINT ["/usr/local/bin/api"]`,
//! `command: ["api"]`). A package named there is a service or a job even
//! when nothing in its code looks like a server.
//!
//! Not every name in a deployment file runs in a pod:
//! - files under test, fixture, benchmark, example or mock folders
//!   (`tests/e2e/docker-compose.yml`) or GitHub's CI configuration
//!   (`.github/Dockerfile`), and files whose own name says so
//!   (`docker-compose.test.yml`, `chaos.Dockerfile`), deploy test
//!   environments, not the product, and are not read;
//! - a Dockerfile whose `ENTRYPOINT`/`CMD` runs one of the binaries cargo
//!   builds in it deploys that one; the others it builds or copies beside
//!   it (an admin CLI next to the server) are tools people `exec` into the
//!   pod (a launch script that runs the server keeps every built name);
//! - an init process (`tini`, `dumb-init`) is no program of the image: the
//!   command after it and its flags is (`ENTRYPOINT ["/usr/bin/tini",
//!   "/usr/local/bin/api", "--"]`, `command: ["dumb-init", "--", "api"]`);
//! - a Dockerfile whose command is an interactive shell (`CMD ["/bin/bash"]`)
//!   or a help screen (`CMD ["/sbin/ctl", "--help"]`, also written as
//!   `ENTRYPOINT ["ctl"]` and `CMD ["--help"]`) is a toolbox image: what it
//!   builds is run by people;
//! - a Dockerfile whose `ENTRYPOINT` is a launch script copied from the
//!   repository (`COPY docker-entrypoint.sh /app/`) deploys the binaries the
//!   script runs; the others it builds beside them are tools. The script is
//!   read like a deployment file (small, regular, inside the repository);
//!   when it cannot be read or names none of them, every built name stays.
//!
//! A Cargo workspace is often a folder of its repository (`repo/server/`,
//! with the Dockerfile at `repo/`): the folders above the workspace root up
//! to the repository's root (the one holding `.git`, at most
//! [`MAX_ANCESTORS`] levels up) are read too, the workspace's own subtree
//! once. Without a `.git` in reach only the deployment files directly in
//! the parent folder are read, never a walk of it.
//!
//! These are deployment files, not Rust sources: reading their words is the
//! only way to know what ships. Only regular files of at most
//! [`MAX_DEPLOY_FILE`] bytes are read, never followed through symlinks.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

/// Deployment files are small; anything larger is not one.
pub const MAX_DEPLOY_FILE: u64 = 1024 * 1024;
/// Deep enough for `deploy/helm/<chart>/templates/x.yaml` in a monorepo.
const MAX_DEPTH: usize = 8;
/// How far above the workspace root the repository's root may be.
pub const MAX_ANCESTORS: usize = 2;
/// Commands that make an image an interactive toolbox.
const SHELLS: &[&str] = &["bash", "sh", "zsh", "ash", "dash", "fish"];
/// Init processes that reap zombies and forward signals, then run the
/// program given after their own flags (`tini -- api`, `dumb-init api`):
/// the program is the image's command, the init is not.
const INITS: &[&str] = &[
    "tini",
    "tini-static",
    "dumb-init",
    "catatonit",
    "docker-init",
];
/// Arguments that make a command print its usage and exit: an image whose
/// command is `ctl --help` holds tools for people to run.
const HELP_ARGS: &[&str] = &["-h", "--help", "help"];

/// Folders whose YAML files are deployment manifests.
const MANIFEST_DIRS: &[&str] = &[
    "k8s",
    "kubernetes",
    "kube",
    "helm",
    "charts",
    "chart",
    "deploy",
    "deployment",
    "deployments",
    "manifests",
    "kustomize",
    "overlays",
    "base",
    "templates",
];

/// Binary and package names the repository's deployment files name.
pub fn deployed_names(root: &Path) -> BTreeSet<String> {
    deployment_names(root).0
}

/// `(deployed, tools)`: the names deployment files deploy, and those they
/// only ship for people to run (built or copied into a toolbox image) and
/// deploy nowhere. What an image builds beside the program it runs is not
/// a tool for sure: one image often holds several servers, each started by
/// its own manifest's command.
pub fn deployment_names(root: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let d = deployment(root);
    (d.deployed, d.tools)
}

/// What deployment files say of the workspace's programs.
#[derive(Debug, Default)]
pub struct Deployment {
    /// Names they deploy.
    pub deployed: BTreeSet<String>,
    /// Names they only ship for people to run (toolbox images).
    pub tools: BTreeSet<String>,
    /// Deployed names that every file naming them runs as an image's bare
    /// `ENTRYPOINT ["/usr/bin/app"]`, without arguments and without `CMD`:
    /// the command line is whatever `docker run IMAGE ...` is given.
    pub bare_entrypoints: BTreeSet<String>,
    /// The words of the commands deployment files run (`ENTRYPOINT`/`CMD`,
    /// `command:`/`args:`/`entrypoint:`), lowercased: the subcommands a
    /// pod is started with (`args: [worker]`).
    pub command_words: BTreeSet<String>,
}

/// [`deployment_names`], with the programs only bare entrypoints run.
pub fn deployment(root: &Path) -> Deployment {
    let mut d = Names::default();
    walk_deployment_files(root, None, MAX_DEPTH, &mut d);
    match repository_root(root) {
        // Every folder between the repository's root and the workspace,
        // without walking the workspace a second time.
        Some(top) => walk_deployment_files(&top, Some(root), MAX_DEPTH, &mut d),
        None => {
            if let Some(parent) = root.parent() {
                walk_deployment_files(parent, Some(root), 1, &mut d);
            }
        }
    }
    d.tools.retain(|t| !d.out.contains(t));
    d.bare.retain(|b| !d.with_arguments.contains(b));
    Deployment {
        deployed: d.out,
        tools: d.tools,
        bare_entrypoints: d.bare,
        command_words: d.command_words,
    }
}

#[derive(Default)]
struct Names {
    out: BTreeSet<String>,
    tools: BTreeSet<String>,
    /// Run by a Dockerfile's bare entrypoint.
    bare: BTreeSet<String>,
    /// Named by some other file, or run otherwise.
    with_arguments: BTreeSet<String>,
    command_words: BTreeSet<String>,
}

/// The words of the commands a deployment file runs: Dockerfile
/// `ENTRYPOINT`/`CMD` lines (not `HEALTHCHECK`: a probe is no pod's
/// program), and in manifests and compose files the values of `command:`,
/// `args:` and `entrypoint:`, on their line or as the YAML list below it.
fn command_words(text: &str, dockerfile: bool, out: &mut BTreeSet<String>) {
    let mut add = |line: &str| {
        out.extend(
            line.split(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | ',' | '&' | ';' | '=')
            })
            .filter(|w| !w.is_empty() && w.len() <= 64)
            .map(str::to_ascii_lowercase),
        )
    };
    let mut in_list = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if dockerfile {
            let first = trimmed.split_whitespace().next().unwrap_or("");
            if first.eq_ignore_ascii_case("ENTRYPOINT") || first.eq_ignore_ascii_case("CMD") {
                add(trimmed);
            }
            continue;
        }
        if in_list && trimmed.starts_with('-') {
            add(trimmed.trim_start_matches('-'));
            continue;
        }
        in_list = false;
        for key in ["command:", "args:", "entrypoint:"] {
            if let Some(rest) = trimmed
                .strip_prefix("- ")
                .unwrap_or(trimmed)
                .strip_prefix(key)
            {
                add(rest);
                in_list = rest.trim().is_empty();
            }
        }
    }
}

/// The program a Dockerfile runs as its only run instruction, an
/// `ENTRYPOINT` without arguments (after an init process) and no `CMD`.
fn bare_entrypoint(text: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let mut words = line
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | ','))
            .filter(|w| !w.is_empty());
        let Some(first) = words.next() else { continue };
        if first.eq_ignore_ascii_case("CMD") {
            return None;
        }
        if !first.eq_ignore_ascii_case("ENTRYPOINT") {
            continue;
        }
        let args: Vec<String> = words.map(str::to_string).collect();
        let args = after_init(&args, &|w: &str| w.rsplit('/').next().map(str::to_string));
        if found.is_some() || args.len() != 1 {
            return None;
        }
        found = args[0]
            .rsplit('/')
            .next()
            .map(|c| symlink_target(text, c.to_string()));
    }
    found
}

/// The program a name a Dockerfile links to another file stands for:
/// `RUN ln -s /opt/app/app-cli /usr/local/bin/app` makes `app` run
/// `app-cli` (the file names, as commands name them); any other name is
/// itself.
fn symlink_target(text: &str, name: String) -> String {
    for line in text.lines() {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ';' | '&'))
            .filter(|w| !w.is_empty())
            .collect();
        for (i, w) in words.iter().enumerate() {
            if *w != "ln" {
                continue;
            }
            let rest = &words[i + 1..];
            let flags: Vec<&&str> = rest.iter().take_while(|a| a.starts_with('-')).collect();
            if !flags
                .iter()
                .any(|f| !f.starts_with("--") && f.contains('s'))
            {
                continue;
            }
            let (Some(target), Some(link)) = (rest.get(flags.len()), rest.get(flags.len() + 1))
            else {
                continue;
            };
            let base = |p: &str| {
                p.trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .map(str::to_string)
            };
            if base(link).as_deref() == Some(name.as_str()) {
                if let Some(t) = base(target).filter(|t| {
                    !t.is_empty()
                        && t.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                }) {
                    return t;
                }
            }
        }
    }
    name
}

/// The folder above `root` that holds `.git`, at most [`MAX_ANCESTORS`]
/// levels up; `None` when `root` itself is the repository's root or none is
/// found.
fn repository_root(root: &Path) -> Option<std::path::PathBuf> {
    if root.join(".git").exists() {
        return None;
    }
    root.ancestors()
        .skip(1)
        .take(MAX_ANCESTORS)
        .find(|a| a.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Reads the deployment files under `base` (to `depth` levels; 1 is the
/// folder's own files), skipping the subtree at `skip` and folders of
/// test environments.
fn walk_deployment_files(base: &Path, skip: Option<&Path>, depth: usize, names: &mut Names) {
    let skip = skip.map(Path::to_path_buf);
    let walker = ignore::WalkBuilder::new(base)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .parents(false)
        .require_git(false)
        .follow_links(false)
        .max_depth(Some(depth))
        .filter_entry(move |e| {
            let name = e.file_name().to_string_lossy();
            let dir = e.file_type().is_some_and(|t| t.is_dir());
            // `.github/` holds CI configuration: the images built there
            // run the test suite, not the product.
            !(dir
                && (name == "target"
                    || name == ".git"
                    || name == ".github"
                    || name == "node_modules"
                    || skip.as_deref() == Some(e.path())))
        })
        .build();
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        if !is_deployment_file(path, base)
            || in_test_folder(path, base)
            || names_test_environment(path)
        {
            continue;
        }
        if let Some(text) = read_small(path) {
            let folder = path.parent().unwrap_or(base);
            // A launch script is looked up where a build context would put
            // it: beside the Dockerfile or at the root of the walk.
            let read_script = |src: &str| {
                let rel = Path::new(src);
                let inside = rel
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
                if !inside {
                    return None;
                }
                read_small(&folder.join(rel)).or_else(|| read_small(&base.join(rel)))
            };
            let dockerfile = is_dockerfile(path);
            command_words(&text, dockerfile, &mut names.command_words);
            let mut file_out = BTreeSet::new();
            names_and_tools_in(
                &text,
                dockerfile,
                &read_script,
                &mut file_out,
                &mut names.tools,
            );
            match bare_entrypoint(&text).filter(|_| dockerfile) {
                Some(b) if file_out.len() == 1 && file_out.contains(&b) => {
                    names.bare.insert(b);
                }
                _ => names.with_arguments.extend(file_out.iter().cloned()),
            }
            names.out.extend(file_out);
        }
    }
}

/// Whether a folder between `base` and the file says it holds a test
/// environment (`tests/e2e/`, `fixtures/`, `benches/`, `mock-upstream/`).
fn in_test_folder(path: &Path, base: &Path) -> bool {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let folders: Vec<String> = rel
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    crate::packages::dev_word("", &folders.join("/")).is_some()
}

/// Whether the file's own name says it sets up a test environment:
/// `docker-compose.test.yml`, `Dockerfile.e2e`, `chaos.Dockerfile`,
/// `bench.Dockerfile`, `compose.integration.yaml`. The words are those of
/// test folders, read between dots, dashes and underscores (`latest.yml`
/// and `contest-api.Dockerfile` hold none), except `example`: a
/// `docker-compose.example.yml` is the template people deploy from.
fn names_test_environment(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().replace('.', "-"))
        .unwrap_or_default();
    crate::packages::dev_word(&name, "").is_some_and(|w| w != "example")
}

fn is_dockerfile(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.starts_with("dockerfile")
        || name.ends_with(".dockerfile")
        || name.starts_with("containerfile")
}

fn is_deployment_file(path: &Path, root: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.starts_with("dockerfile")
        || name.ends_with(".dockerfile")
        || name.starts_with("containerfile")
        || name == "procfile"
    {
        return true;
    }
    let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
    if !yaml {
        return false;
    }
    if name.starts_with("docker-compose") || name.starts_with("compose") {
        return true;
    }
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .any(|c| MANIFEST_DIRS.contains(&c.as_os_str().to_string_lossy().as_ref()))
}

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() || meta.len() > MAX_DEPLOY_FILE {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_DEPLOY_FILE)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The names one deployment file deploys: what it builds or runs, and for
/// a Dockerfile that runs one of the binaries it builds, only what it runs.
pub fn names_in(text: &str, dockerfile: bool, out: &mut BTreeSet<String>) {
    names_and_tools_in(text, dockerfile, &|_| None, out, &mut BTreeSet::new());
}

/// [`names_in`], with `read_script` giving the text of a file the
/// Dockerfile copies from its build context (by the path it copies), for a
/// launch script that the image runs.
#[cfg(test)]
fn names_in_with(
    text: &str,
    dockerfile: bool,
    read_script: &dyn Fn(&str) -> Option<String>,
    out: &mut BTreeSet<String>,
) {
    names_and_tools_in(text, dockerfile, read_script, out, &mut BTreeSet::new());
}

/// [`names_in_with`], also collecting into `tools` what a Dockerfile
/// builds or copies into a toolbox image, for people to run.
fn names_and_tools_in(
    text: &str,
    dockerfile: bool,
    read_script: &dyn Fn(&str) -> Option<String>,
    out: &mut BTreeSet<String>,
    tools: &mut BTreeSet<String>,
) {
    let split = |line: &'_ str| -> Vec<String> {
        line.split(|c: char| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '[' | ']' | ',' | '&' | ';')
        })
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
    };
    let is_run_line = |line: &str| {
        let first = line.split_whitespace().next().unwrap_or("");
        dockerfile
            && (first.eq_ignore_ascii_case("ENTRYPOINT") || first.eq_ignore_ascii_case("CMD"))
    };
    // What the file builds or copies; for a Dockerfile, apart from what it
    // runs (read below, line by line).
    let words: Vec<String> = text
        .lines()
        .filter(|l| !is_run_line(l))
        .flat_map(|l| split(&without_stub_commands(l, dockerfile)))
        .collect();
    let is_name = |w: &str| {
        !w.is_empty()
            && w.len() <= 64
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !w.starts_with('-')
            && !w.contains("${")
    };
    let command_name = |w: &str| -> Option<String> {
        let first = w.trim_start_matches("./");
        first
            .rsplit('/')
            .next()
            .filter(|l| is_name(l))
            .map(str::to_string)
    };
    let mut built = BTreeSet::new();
    // The part of `built` that cargo builds: a run name among them is the
    // image's program (a copied launch script is not).
    let mut cargo_built = BTreeSet::new();
    let mut run = BTreeSet::new();
    for (i, w) in words.iter().enumerate() {
        let w = w.as_str();
        let next = words.get(i + 1).map(String::as_str).unwrap_or("");
        // `--bin api`, `-p api`, `--package api`, `--bin=api`.
        for flag in ["--bin", "-p", "--package"] {
            if w == flag && is_name(next) {
                cargo_built.insert(next.to_string());
                built.insert(next.to_string());
            }
            if let Some(v) = w.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                if is_name(v) {
                    cargo_built.insert(v.to_string());
                    built.insert(v.to_string());
                }
            }
        }
        // `target/release/api`, `target/x86_64-unknown-linux-musl/release/api`
        // (what cargo built); `/usr/local/bin/api` (what was copied, maybe a
        // launch script).
        let cargo_output =
            w.contains("target/") && (w.contains("/release/") || w.contains("/debug/"));
        let installed = w.starts_with("/usr/local/bin/")
            || w.starts_with("/usr/bin/")
            || w.starts_with("/app/");
        if cargo_output || installed {
            if let Some(last) = w.rsplit('/').next().filter(|l| is_name(l)) {
                if cargo_output {
                    cargo_built.insert(last.to_string());
                }
                built.insert(last.to_string());
            }
        }
        // `command: api` in compose files and manifests.
        // A YAML list (`command:` then `- "api --port 80"`) starts with its
        // item marker.
        if !dockerfile && matches!(w, "ENTRYPOINT" | "CMD" | "command:" | "entrypoint:") {
            let start = if next == "-" { i + 2 } else { i + 1 };
            let args = words.get(start..).unwrap_or_default();
            let args = after_init(args, &command_name);
            let first = args
                .first()
                .map(String::as_str)
                .filter(|w| *w != "-")
                .unwrap_or("");
            run.extend(command_name(first).filter(|c| !SHELLS.contains(&c.as_str())));
        }
    }
    if !dockerfile {
        out.extend(built);
        out.extend(run);
        return;
    }
    // `ENTRYPOINT ["/usr/local/bin/api"]`, `CMD api`: one instruction a line.
    // Per run instruction, whether it starts a shell or a help screen.
    let mut toolbox_lines: Vec<bool> = Vec::new();
    // The last `ENTRYPOINT` that names one program and no argument: a
    // `CMD` of a help flag alone after it shows that program's help.
    let mut bare_entrypoint: Option<usize> = None;
    // Commands that are no binary name (`/app/docker-entrypoint.sh`).
    let mut scripts = BTreeSet::new();
    for line in text.lines() {
        let line_words = split(line);
        let Some((instruction, args)) = line_words.split_first() else {
            continue;
        };
        if !is_run_line(instruction) {
            continue;
        }
        // `ENTRYPOINT ["/usr/bin/tini", "/usr/local/bin/api", "--"]` runs
        // `api`; `ENTRYPOINT ["tini", "--"]` leaves the program to `CMD`.
        let args = after_init(args, &command_name);
        let Some(first) = args.first() else {
            continue;
        };
        let is_entrypoint = instruction.eq_ignore_ascii_case("ENTRYPOINT");
        // `ENTRYPOINT ["ctl"]` then `CMD ["--help"]`: the image's default
        // command is `ctl --help`, as `CMD ["ctl", "--help"]` would be.
        if !is_entrypoint && args.len() == 1 && HELP_ARGS.contains(&first.as_str()) {
            if let Some(at) = bare_entrypoint {
                toolbox_lines[at] = true;
                toolbox_lines.push(true);
                continue;
            }
        }
        if is_entrypoint {
            bare_entrypoint = None;
        }
        // `RUN ln -s /opt/app/app-cli /usr/local/bin/app` then
        // `ENTRYPOINT ["app"]` runs `app-cli`.
        let Some(command) = command_name(first).map(|c| symlink_target(text, c)) else {
            // Kept as written when relative (`./scripts/start.sh`, the
            // path in the build context), else by its file name.
            let file = if first.starts_with('/') {
                first.rsplit('/').next().unwrap_or("")
            } else {
                first.trim_start_matches("./")
            };
            if !file.is_empty() && !file.contains('$') {
                scripts.insert(file.to_string());
                toolbox_lines.push(false);
            }
            continue;
        };
        let interactive_shell =
            SHELLS.contains(&command.as_str()) && !args.iter().any(|a| a == "-c");
        let help_screen = args.len() == 2 && HELP_ARGS.contains(&args[1].as_str());
        if is_entrypoint && args.len() == 1 && !interactive_shell {
            bare_entrypoint = Some(toolbox_lines.len());
        }
        toolbox_lines.push(interactive_shell || help_screen);
        // `sh -c "api --port 80"`: the binary is read from the script's
        // path above, the shell is no deployed name.
        if !SHELLS.contains(&command.as_str()) {
            run.insert(command);
        }
    }
    if !toolbox_lines.is_empty() && toolbox_lines.iter().all(|t| *t) {
        // A toolbox image: people run what it holds.
        tools.extend(built);
        return;
    }
    // An image that builds nothing itself (it copies from another image)
    // names its program among what it copies.
    let programs = if cargo_built.is_empty() {
        &built
    } else {
        &cargo_built
    };
    if run.iter().any(|r| programs.contains(r)) {
        out.extend(run);
        return;
    }
    // A launch script copied from the repository: what it runs of what the
    // image holds is the image's program.
    let copied = copied_sources(text);
    let mut launched = BTreeSet::new();
    for script in run.iter().chain(&scripts) {
        let file_name = script.rsplit('/').next().unwrap_or(script);
        let source = copied
            .iter()
            .find(|s| s.rsplit('/').next() == Some(file_name))
            .map(String::as_str)
            .unwrap_or(script);
        if let Some(body) = read_script(source) {
            launched.extend(
                body.lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .flat_map(split)
                    .filter_map(|w| command_name(&w))
                    .filter(|w| programs.contains(w)),
            );
        }
    }
    if launched.is_empty() {
        out.extend(built);
    } else {
        out.extend(launched);
    }
    out.extend(run);
}

/// A command's words without the init process that starts it and the
/// init's own flags (`tini -s -- api --port 80` is `api --port 80`); the
/// words as they are when the command is no init. In a YAML list the
/// items' `-` markers between the words are skipped too.
fn after_init<'a>(
    args: &'a [String],
    command_name: &dyn Fn(&str) -> Option<String>,
) -> &'a [String] {
    let is_init = args
        .first()
        .and_then(|w| command_name(w))
        .is_some_and(|c| INITS.contains(&c.as_str()));
    if !is_init {
        return args;
    }
    let rest = &args[1..];
    let skip = rest.iter().take_while(|w| w.starts_with('-')).count();
    &rest[skip..]
}

/// A line without its `cargo init` / `cargo new` commands: they make empty
/// stub packages (`RUN cargo init --bin worker`, so that a layer caches the
/// dependencies before the sources are copied), which ship nothing. In a
/// Dockerfile, also without the cargo commands that run code while the
/// image is built (`RUN cargo run -p sdk --example smoke`, `cargo test`):
/// what they name is not what the image runs.
fn without_stub_commands(line: &str, dockerfile: bool) -> String {
    line.split("&&")
        .flat_map(|c| c.split(';'))
        .filter(|command| {
            let mut words = command.split_whitespace();
            let mut first = words.next();
            if first.is_some_and(|w| w.eq_ignore_ascii_case("RUN")) {
                first = words.next();
            }
            let sub = words.next();
            !(first == Some("cargo")
                && (matches!(sub, Some("init" | "new"))
                    || dockerfile
                        && matches!(
                            sub,
                            Some("run" | "test" | "check" | "clippy" | "bench" | "doc" | "nextest")
                        )))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Sources of the Dockerfile's `COPY`/`ADD` lines that copy from the build
/// context (not `--from=` another stage), as written.
fn copied_sources(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((first, rest)) = words.split_first() else {
            continue;
        };
        if !(first.eq_ignore_ascii_case("COPY") || first.eq_ignore_ascii_case("ADD"))
            || rest.iter().any(|w| w.starts_with("--from"))
        {
            continue;
        }
        let args: Vec<&str> = rest
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        if let Some((_, sources)) = args.split_last() {
            out.extend(
                sources
                    .iter()
                    .map(|s| s.trim_start_matches("./").to_string()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_build_and_run_lines() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release --bin orders -p payments-api\n\
             COPY --from=build /src/target/x86_64-unknown-linux-musl/release/gateway /app/\n\
             ENTRYPOINT [\"/usr/local/bin/inventory\"]\n",
            true,
            &mut out,
        );
        names_in(
            "containers:\n- name: x\n  command: [\"billing\", \"--port\"]\n",
            false,
            &mut out,
        );
        names_in(
            "services:\n  ledger:\n    entrypoint:\n      - \"/bin/sh\"\n      - \"-c\"\n    \
             command:\n      - \"ledger --listen='0.0.0.0:7676'\n          --id=1\"\n",
            false,
            &mut out,
        );
        let got: Vec<&str> = out.iter().map(String::as_str).collect();
        assert_eq!(
            got,
            [
                "billing",
                "gateway",
                "inventory",
                "ledger",
                "orders",
                "payments-api",
            ]
        );
    }

    #[test]
    fn stub_packages_made_to_cache_dependencies_ship_nothing() {
        // An entrypoint script we cannot read keeps every built name.
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nWORKDIR /src/tasks\nRUN cargo init --bin seed_db\n\
             RUN cargo new --bin load_test && cargo init --lib shared\n\
             RUN cargo new --bin=replay\n\
             WORKDIR /src\nRUN cargo build --release --bin api\n\
             ENTRYPOINT [\"/docker-entrypoint.sh\"]\n",
            true,
            &mut out,
        );
        assert_eq!(out.iter().map(String::as_str).collect::<Vec<_>>(), ["api"]);
        // A stub made and then built on the same line is still built.
        let mut out = BTreeSet::new();
        names_in(
            "RUN cargo new --bin worker && cargo build --release --bin worker\n",
            true,
            &mut out,
        );
        assert_eq!(
            out.iter().map(String::as_str).collect::<Vec<_>>(),
            ["worker"]
        );
    }

    #[test]
    fn cargo_commands_that_run_at_build_time_deploy_nothing() {
        // An image that builds the SDK's example to check the toolchain, and
        // tests another package: neither is what a container runs.
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust
COPY . .
RUN cargo run -p client-sdk --example smoke --features tls
             RUN cargo test -p wire-format && cargo build --release -p gateway
             RUN cargo clippy -p admin; cargo check --package=importer
",
            true,
            &mut out,
        );
        assert_eq!(
            out.iter().map(String::as_str).collect::<Vec<_>>(),
            ["gateway"]
        );
        // What a compose file's command runs with cargo is what the
        // container runs.
        let mut out = BTreeSet::new();
        names_in(
            "services:\n  api:\n    command: cargo run --release -p orders-api\n",
            false,
            &mut out,
        );
        assert!(out.contains("orders-api"), "{out:?}");
    }

    #[test]
    fn ignores_variables_and_flags() {
        let mut out = BTreeSet::new();
        names_in("RUN cargo build --bin ${BIN} -p --locked\n", true, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_dockerfile_that_runs_one_of_its_builds_deploys_that_one() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release -p server -p opsctl\n\
             FROM debian\nCOPY --from=build /src/target/release/opsctl /usr/local/bin/opsctl\n\
             COPY --from=build /src/target/release/server /usr/local/bin/server\n\
             ENTRYPOINT [\"/usr/local/bin/server\"]\n",
            true,
            &mut out,
        );
        assert_eq!(out.iter().collect::<Vec<_>>(), ["server"]);
    }

    #[test]
    fn a_toolbox_image_deploys_nothing_but_a_shell_command_runs_its_binary() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release -p opsctl\n\
             FROM debian\nCOPY --from=build /src/target/release/opsctl /usr/local/bin/\n\
             CMD [ \"/bin/bash\" ]\n",
            true,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        names_in(
            "FROM debian\nCOPY target/release/worker /usr/local/bin/worker\n\
             CMD [\"/bin/sh\", \"-c\", \"worker --queue jobs\"]\n",
            true,
            &mut out,
        );
        assert_eq!(out.iter().collect::<Vec<_>>(), ["worker"]);
    }

    #[test]
    fn tools_are_what_an_image_holds_for_people_to_run() {
        let tools_of = |text: &str| {
            let (mut out, mut tools) = (BTreeSet::new(), BTreeSet::new());
            names_and_tools_in(text, true, &|_| None, &mut out, &mut tools);
            (out, tools)
        };
        let (out, tools) = tools_of(
            "FROM rust AS build\nRUN cargo build --release -p opsctl -p doctor\n\
             FROM debian\nCOPY --from=build /src/target/release/doctor /usr/local/bin/\n\
             CMD [ \"/bin/bash\" ]\n",
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(tools.iter().collect::<Vec<_>>(), ["doctor", "opsctl"]);
        let (out, tools) = tools_of(
            "FROM rust AS build\nRUN cargo build --release --bin api --bin admin\n\
             FROM debian\nCOPY --from=build /src/target/release/api /usr/local/bin/\n\
             ENTRYPOINT [\"/usr/local/bin/api\"]\n",
        );
        // `admin` may be a second server the same image runs under another
        // command: not a tool for sure.
        assert_eq!(out.iter().collect::<Vec<_>>(), ["api"]);
        assert!(tools.is_empty(), "{tools:?}");
    }

    #[test]
    fn a_launch_script_entrypoint_keeps_what_the_file_builds() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release --package relay --bin relay\n\
             FROM debian\nCOPY --from=build /app/target/release/relay /usr/local/bin/relay\n\
             COPY ./scripts/start-relay /usr/local/bin/start-relay\n\
             CMD [\"/usr/local/bin/start-relay\"]\n",
            true,
            &mut out,
        );
        assert_eq!(out.iter().collect::<Vec<_>>(), ["relay", "start-relay"]);
    }

    #[test]
    fn an_image_copied_from_another_runs_what_its_entrypoint_names() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM registry/app:latest AS source\nFROM debian\n\
             COPY --from=source /usr/local/bin/server /usr/local/bin/\n\
             COPY --from=source /usr/local/bin/opsctl /usr/local/bin/\n\
             ENTRYPOINT [\"/usr/local/bin/server\"]\n",
            true,
            &mut out,
        );
        assert_eq!(out.iter().collect::<Vec<_>>(), ["server"]);
    }

    #[test]
    fn a_help_screen_command_is_a_toolbox() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release -p opsctl -p syncer\n\
             FROM debian\nCOPY --from=build /src/target/release/opsctl /sbin/\n\
             COPY --from=build /src/target/release/syncer /sbin/\n\
             CMD [ \"/sbin/opsctl\", \"-h\" ]\n",
            true,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn a_help_flag_after_a_bare_entrypoint_is_a_toolbox() {
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release --bin opsctl\n\
             FROM alpine\nCOPY --from=build /src/target/release/opsctl /usr/local/bin/opsctl\n\
             ENTRYPOINT [\"opsctl\"]\nCMD [\"--help\"]\n",
            true,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        // A flag that is no help flag, or an entrypoint with arguments of
        // its own, runs the program.
        for tail in [
            "ENTRYPOINT [\"syncer\"]\nCMD [\"--verbose\"]\n",
            "ENTRYPOINT [\"syncer\", \"run\"]\nCMD [\"--help\"]\n",
        ] {
            let mut out = BTreeSet::new();
            names_in(
                &format!(
                    "FROM rust AS build\nRUN cargo build --release --bin syncer\n\
                     FROM alpine\nCOPY --from=build /src/target/release/syncer /usr/local/bin/syncer\n{tail}"
                ),
                true,
                &mut out,
            );
            assert_eq!(out.iter().collect::<Vec<_>>(), ["syncer"], "{tail}");
        }
    }

    #[test]
    fn a_copied_launch_script_deploys_what_it_runs() {
        let dockerfile = "FROM rust AS build\n\
             RUN cargo build --release -p server -p importer -p resetpw\n\
             FROM debian\n\
             COPY --from=build /app/target/release/server /app/target/release/importer ./\n\
             COPY --from=build /app/target/release/resetpw ./\n\
             COPY scripts/entrypoint.sh settings.toml ./\n\
             ENTRYPOINT [\"/app/entrypoint.sh\"]\n\
             CMD [\"run\", \"--config\", \"/data/settings.toml\"]\n";
        let script = "#!/bin/sh\n# importer and resetpw are for admins\n\
                      echo starting\nexec /app/server \"$@\"\n";
        let mut out = BTreeSet::new();
        let read = |src: &str| (src == "scripts/entrypoint.sh").then(|| script.to_string());
        names_in_with(dockerfile, true, &read, &mut out);
        assert_eq!(out.iter().collect::<Vec<_>>(), ["run", "server"]);
        // A script run by its path in the build context.
        let relative = "FROM debian\nCOPY target/release/server target/release/importer /app/\n\
             COPY . /app/\nCMD [\"./docker/run.sh\"]\n";
        let mut out = BTreeSet::new();
        let read = |src: &str| (src == "docker/run.sh").then(|| script.to_string());
        names_in_with(relative, true, &read, &mut out);
        assert_eq!(out.iter().collect::<Vec<_>>(), ["server"]);
        // Without the script every built name stays.
        let mut out = BTreeSet::new();
        names_in(dockerfile, true, &mut out);
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            ["importer", "resetpw", "run", "server"]
        );
    }

    #[test]
    fn an_init_process_runs_the_program_after_its_flags() {
        let mut out = BTreeSet::new();
        // One stage per image: each runs its program under tini.
        names_in(
            "FROM rust AS build\nRUN cargo build --release --workspace\n\
             FROM debian AS web\nCOPY --from=build /out/web /usr/local/bin/\n\
             ENTRYPOINT [\"/usr/bin/tini\", \"--\"]\n\
             CMD [\"/usr/local/bin/web\", \"0.0.0.0:3000\"]\n\
             FROM debian AS worker\nCOPY --from=build /out/builder /usr/local/bin/\n\
             ENTRYPOINT [\"/usr/bin/tini\", \"/usr/local/bin/builder\", \"--\"]\n\
             CMD [\"start\"]\n\
             FROM debian AS feeder\nENTRYPOINT /sbin/tini -s -g -- /app/feeder --once\n",
            true,
            &mut out,
        );
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            ["builder", "feeder", "start", "web"]
        );
        let mut out = BTreeSet::new();
        names_in(
            "services:\n  relay:\n    command: [\"dumb-init\", \"--\", \"relay\", \"--port\", \"80\"]\n\
               ingest:\n    entrypoint:\n      - tini\n      - --\n      - ingest\n",
            false,
            &mut out,
        );
        assert_eq!(out.iter().collect::<Vec<_>>(), ["ingest", "relay"]);
        // An init before a shell is still a toolbox image.
        let mut out = BTreeSet::new();
        names_in(
            "FROM rust AS build\nRUN cargo build --release -p opsctl\n\
             FROM debian\nCOPY --from=build /src/target/release/opsctl /usr/local/bin/\n\
             ENTRYPOINT [\"tini\", \"--\"]\nCMD [\"/bin/bash\"]\n",
            true,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn command_words_are_what_pods_are_started_with() {
        let mut words = BTreeSet::new();
        let manifest = "containers:\n  - name: w\n    command: [\"/app/shop\"]\n    args:\n      - worker\n      - --queue=orders\n    env:\n      - name: EXPORT\n";
        command_words(manifest, false, &mut words);
        assert!(words.contains("worker") && words.contains("/app/shop"));
        assert!(!words.contains("export"), "{words:?}");
        let mut words = BTreeSet::new();
        let dockerfile = "RUN export X=1\nHEALTHCHECK CMD shop check\nCMD [\"shop\", \"serve\"]\n";
        command_words(dockerfile, true, &mut words);
        assert!(words.contains("serve"));
        assert!(
            !words.contains("check") && !words.contains("export"),
            "{words:?}"
        );
    }

    #[test]
    fn an_entrypoint_through_a_symlink_runs_the_linked_binary() {
        let text = "FROM rust AS b\nRUN cargo build -p shop-server -p shop-cli --release\n\
            FROM debian\nCOPY --from=b /w/target/release/shop-server /w/target/release/shop-cli /opt/shop/\n\
            RUN ln -sf /opt/shop/shop-cli /usr/local/bin/shop && chmod +x /opt/shop/*\n\
            ENTRYPOINT [\"shop\"]\n";
        let (mut out, mut tools) = (BTreeSet::new(), BTreeSet::new());
        names_and_tools_in(text, true, &|_| None, &mut out, &mut tools);
        assert_eq!(out.iter().collect::<Vec<_>>(), ["shop-cli"]);
        assert_eq!(bare_entrypoint(text).as_deref(), Some("shop-cli"));
        // A link between other files (`python` to `python3`) changes nothing,
        // nor does a hard link.
        let other = "FROM debian\nCOPY --from=b /w/target/release/shop-server /usr/local/bin/\n\
            RUN ln -s /usr/bin/python3 /usr/bin/python && ln /opt/x /usr/local/bin/shop-server\n\
            ENTRYPOINT [\"shop-server\"]\n";
        let (mut out, mut tools) = (BTreeSet::new(), BTreeSet::new());
        names_and_tools_in(other, true, &|_| None, &mut out, &mut tools);
        assert_eq!(out.iter().collect::<Vec<_>>(), ["shop-server"]);
        assert_eq!(bare_entrypoint(other).as_deref(), Some("shop-server"));
    }

    #[test]
    fn a_bare_entrypoint_is_one_without_arguments_or_cmd() {
        let bare = "FROM debian\nCOPY --from=b /t/release/ctl /usr/bin/ctl\nENTRYPOINT [\"/usr/bin/ctl\"]\n";
        assert_eq!(bare_entrypoint(bare).as_deref(), Some("ctl"));
        let tini = "ENTRYPOINT [\"/usr/bin/tini\", \"--\", \"/usr/bin/ctl\"]\n";
        assert_eq!(bare_entrypoint(tini).as_deref(), Some("ctl"));
        let with_cmd = "ENTRYPOINT [\"/usr/bin/api\"]\nCMD [\"serve\"]\n";
        assert_eq!(bare_entrypoint(with_cmd), None);
        let with_args = "ENTRYPOINT [\"/usr/bin/api\", \"serve\"]\n";
        assert_eq!(bare_entrypoint(with_args), None);
        assert_eq!(bare_entrypoint("CMD [\"/usr/bin/api\"]\n"), None);
    }

    #[test]
    fn test_folders_are_not_deployments() {
        let base = Path::new("/repo");
        assert!(in_test_folder(
            Path::new("/repo/core/tests/e2e/docker-compose.yml"),
            base
        ));
        assert!(in_test_folder(
            Path::new("/repo/ui/fixtures/Dockerfile"),
            base
        ));
        assert!(!in_test_folder(
            Path::new("/repo/deploy/k8s/api.yaml"),
            base
        ));
        assert!(!in_test_folder(Path::new("/repo/Dockerfile"), base));
    }

    #[test]
    fn test_environment_file_names_are_not_deployments() {
        for test_env in [
            "/repo/docker-compose.test.yml",
            "/repo/docker/docker-compose.e2e.mysql.yaml",
            "/repo/dev/docker/chaos.Dockerfile",
            "/repo/docker/bench.Dockerfile",
            "/repo/Dockerfile.integration",
            "/repo/compose.mock-upstream.yaml",
            "/repo/Dockerfile_fuzz",
        ] {
            assert!(names_test_environment(Path::new(test_env)), "{test_env}");
        }
        for deployed in [
            "/repo/Dockerfile",
            "/repo/docker-compose.yml",
            "/repo/docker-compose.example.yml",
            "/repo/docker-compose.prod.yml",
            "/repo/deploy/latest.yaml",
            "/repo/contest-api.Dockerfile",
            "/repo/Dockerfile.testnet",
            "/repo/k8s/api-deployment.yaml",
        ] {
            assert!(!names_test_environment(Path::new(deployed)), "{deployed}");
        }
    }
}
