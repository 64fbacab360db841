//! `cargo mesh-audit`: the thin command-line edge. It parses flags, calls
//! the engine, hands the report to a renderer and owns the exit code.

mod baseline;
mod cli;
mod progress;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use cli::{Args, ColorChoice, FailOn, Format, MessageFormat};
use mesh_audit::config::Config;
use mesh_audit::{Report, Severity, Target};
use mesh_audit_render::{HumanOptions, RuleInfo, RustcJsonOptions, SarifOptions, Tool};
use mesh_audit_suggest::{ApiVersion, SuggestOptions};

/// An audit builds and drops millions of small syntax-tree nodes; about a
/// third of its time went to glibc's allocator, which mimalloc cuts by half
/// or more (BENCHMARKS.md, third round).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOOL: Tool<'static> = Tool {
    name: "cargo-mesh-audit",
    version: env!("CARGO_PKG_VERSION"),
};

/// Turns transparent huge pages off for this process. mimalloc asks the
/// kernel for them on its arenas; the audit frees each file's syntax tree
/// and mimalloc hands the pages back, so the kernel zeroes 2 MiB pages over
/// and over: on the benchmark corpus that was 2.6 s of system time against
/// 0.9 s without them, and a lower peak RSS (BENCHMARKS.md, fourteenth
/// round).
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: `PR_SET_THP_DISABLE` sets a flag of this process; it reads
    // and writes no memory of ours. A kernel without it returns an error,
    // which changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Where SARIF consumers send a reader for the tool and its rules: the
/// repository when the manifest names one, else the crate's page.
fn information_uri() -> &'static str {
    match env!("CARGO_PKG_REPOSITORY") {
        "" => "https://crates.io/crates/cargo-mesh-audit",
        repo => repo,
    }
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    let args = match cli::parse_from_env() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Rule ids from `--select` / `--ignore` (`"a, b"` and a trailing comma
/// are fine).
fn rule_ids(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn audit_options(args: &Args, config: Option<Config>) -> mesh_audit::AuditOptions {
    mesh_audit::AuditOptions {
        config,
        select: args.select.as_deref().map(rule_ids),
        ignore: rule_ids(&args.ignore),
        include_tests: args.include_tests,
        include_reconnect: args.include_reconnect,
        all_scopes: args.all_scopes,
        threads: args.threads,
        max_file_size: args.max_file_size,
        no_prefilter: args.no_prefilter,
        unit_files: None,
    }
}

fn run(args: &Args) -> Result<u8> {
    if args.list_rules {
        print!("{}", list_rules(args)?);
        return Ok(0);
    }
    if let Some(id) = &args.explain {
        let meta = mesh_audit::rules::lookup(id)
            .with_context(|| format!("unknown rule `{id}` (see --list-rules)"))?;
        print!("{}", meta.doc());
        return Ok(0);
    }
    let target = if !args.paths.is_empty() {
        if args.manifest_path.is_some()
            || !args.packages.is_empty()
            || !args.exclude.is_empty()
            || args.workspace
        {
            anyhow::bail!("paths cannot be combined with --manifest-path, --package, --exclude or --workspace");
        }
        Target::Paths(args.paths.clone())
    } else {
        if !args.exclude.is_empty() && !args.workspace {
            // As cargo: leaving a package out only means something when
            // every member is chosen.
            anyhow::bail!("--exclude can only be used together with --workspace");
        }
        Target::Cargo {
            manifest_path: args.manifest_path.clone(),
            packages: args.packages.clone(),
            exclude: args.exclude.clone(),
            workspace: args.workspace,
        }
    };
    let config = match &args.config {
        Some(path) => Some(Config::from_file(path)?),
        None => None,
    };
    let opts = audit_options(args, config);
    let baseline = match &args.baseline {
        Some(path) => Some(baseline::Baseline::read(path)?),
        None => None,
    };
    let suggest_opts = suggest_options(args)?;
    let progress = mesh_audit::Progress::default();
    let (mut report, config, timings) = {
        let show = !args.quiet && std::io::stderr().is_terminal();
        progress::while_running(show, &progress, || {
            mesh_audit::audit_observed(&target, &opts, &progress)
        })?
    };
    let render_started = std::time::Instant::now();
    if args.verbose > 0 {
        for link in &report.skipped_links {
            eprintln!(
                "note: {}: a symbolic link; not followed, not audited",
                mesh_audit_render::escape_controls(link)
            );
        }
        match &config.source {
            Some(p) => eprintln!("configuration: {}", p.display()),
            None => {
                eprintln!("configuration: defaults (no mesh-audit.toml or [*.metadata.mesh-audit])")
            }
        }
    }
    let suggest_opts = SuggestOptions {
        namespace: args
            .namespace
            .clone()
            .or(config.namespace.clone())
            .unwrap_or(suggest_opts.namespace),
        ..suggest_opts
    };
    suggest_opts.check().map_err(anyhow::Error::msg)?;
    let read = source_reader(&report.root);
    mesh_audit_suggest::attach_suggestions(&mut report.findings, &read, &suggest_opts);
    if let Some(dir) = &args.emit_manifests {
        emit_manifests(&report, dir, &suggest_opts, args.force, args.quiet)?;
    }
    let mut accepted = false;
    if let Some(path) = &args.write_baseline {
        baseline::Baseline::of(&report.findings).write(path)?;
        if !args.quiet {
            eprintln!(
                "wrote {} ({} finding{} recorded as known)",
                path.display(),
                report.findings.len(),
                if report.findings.len() == 1 { "" } else { "s" }
            );
        }
        accepted = true;
    }
    if let Some(known) = &baseline {
        let outcome = known.filter(&mut report.findings);
        if !args.quiet {
            eprintln!(
                "baseline {}: {} known finding{} not reported, {} baseline entr{} no longer match{}",
                args.baseline.as_deref().unwrap_or(Path::new("")).display(),
                outcome.known,
                if outcome.known == 1 { "" } else { "s" },
                outcome.stale,
                if outcome.stale == 1 { "y" } else { "ies" },
                if outcome.stale == 1 { "es" } else { "" },
            );
        }
    }
    let rendered = render(args, &report);
    write_output(args.output.as_deref(), &rendered, &report.inputs)?;
    if let Some(path) = &args.sarif_output {
        write_output(
            Some(path),
            &render_format(args, &report, Format::Sarif),
            &report.inputs,
        )?;
    }
    if let Some(path) = &args.json_output {
        write_output(
            Some(path),
            &render_format(args, &report, Format::Json),
            &report.inputs,
        )?;
    }
    // Packages skipped for their scope were a decision, not an accident.
    let skipped_by_scope = report.packages.iter().any(|p| !p.audited);
    if report.files_scanned == 0 && !args.allow_empty && !skipped_by_scope {
        // A CI gate that audited nothing must not pass quietly.
        eprintln!("warning: no Rust files were found to audit (ignored, excluded or absent); pass --allow-empty if that is expected");
        return Ok(2);
    }
    if args.timings {
        eprint!("{}", progress::timings(&timings, render_started.elapsed()));
    }
    if accepted {
        // The findings were just recorded as known: only files that could
        // not be analysed still fail the run.
        return Ok(u8::from(
            !report.errors.is_empty() && args.fail_on != FailOn::Never,
        ));
    }
    Ok(exit_code(&report, args.fail_on))
}

/// Writes to FILE, or to stdout when there is none.
fn write_output(path: Option<&Path>, text: &str, inputs: &[std::path::PathBuf]) -> Result<()> {
    match path {
        Some(path) => write_report_file(path, text, inputs)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e).context("cannot write to stdout");
                }
            }
        }
    }
    Ok(())
}

/// Writes the report to `path`: never over a file the audit read, and by
/// renaming a temporary file in the same folder, so that a symbolic link
/// at `path` is replaced, never followed to a file. A FIFO or device, also
/// through a link (`/dev/null`, `/dev/stdout`), is written in place.
fn write_report_file(path: &Path, text: &str, inputs: &[std::path::PathBuf]) -> Result<()> {
    if let Ok(target) = std::fs::canonicalize(path) {
        if inputs
            .iter()
            .any(|i| std::fs::canonicalize(i).is_ok_and(|i| i == target))
        {
            anyhow::bail!("it is a file this audit reads; choose another output file");
        }
    }
    if let Ok(meta) = std::fs::metadata(path) {
        let t = meta.file_type();
        if !t.is_file() && !t.is_dir() {
            let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
            f.write_all(text.as_bytes())?;
            return Ok(());
        }
    }
    mesh_audit_suggest::write_replacing(path, text.as_bytes())?;
    Ok(())
}

fn suggest_options(args: &Args) -> Result<SuggestOptions> {
    let api_version = args
        .mesh_api_version
        .parse::<ApiVersion>()
        .map_err(|e| anyhow::anyhow!("--mesh-api-version: {e}"))?;
    Ok(SuggestOptions {
        namespace: args.namespace.clone().unwrap_or_else(|| "default".into()),
        api_version,
        istio_version: args.istio_version.clone(),
        ..Default::default()
    })
}

/// Writes the manifest set; what could not be placed or merged goes to
/// stderr so that stdout stays the report.
fn emit_manifests(
    report: &Report,
    dir: &Path,
    opts: &SuggestOptions,
    force: bool,
    quiet: bool,
) -> Result<()> {
    let set = mesh_audit_suggest::build_manifests(&report.findings, opts);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let written = mesh_audit_suggest::write_manifests(&set, dir, force)?;
    if !quiet {
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
    }
    // File names and hosts come from the audited repository: escaped.
    let esc = mesh_audit_render::escape_controls;
    for c in &set.conflicts {
        eprintln!("warning: {}", esc(&c.to_string()));
    }
    for (file, line, rule) in &set.unplaced {
        eprintln!(
            "note: {}:{line}: {rule} finding has no known destination host; not in any manifest",
            esc(file)
        );
    }
    for e in &set.errors {
        eprintln!("warning: {}", esc(&e.to_string()));
    }
    Ok(())
}

/// Reads a report file's text by its path relative to the audit root.
fn source_reader(root: &str) -> impl Fn(&str) -> Option<String> {
    let root = Path::new(root).to_path_buf();
    // Only files that were audited have findings, so they passed the size
    // limit; the cap guards against one replaced since.
    move |rel| mesh_audit::safe_fs::read_regular_text(&root.join(rel), 1 << 30).ok()
}

fn render(args: &Args, report: &Report) -> String {
    let format = match args.message_format {
        Some(MessageFormat::Json { ansi }) => {
            let read = source_reader(&report.root);
            return mesh_audit_render::render_rustc_json(report, &read, RustcJsonOptions { ansi });
        }
        Some(MessageFormat::Short) => Format::Short,
        Some(MessageFormat::Human) => Format::Human,
        None => args.format,
    };
    render_format(args, report, format)
}

fn render_format(args: &Args, report: &Report, format: Format) -> String {
    let read = source_reader(&report.root);
    match format {
        Format::Json => mesh_audit_render::render_json(report, TOOL),
        Format::Short => mesh_audit_render::render_short(report),
        Format::Sarif => {
            let (root_in_repo, repo_uri) = repository_root(Path::new(&report.root));
            let rules = rule_infos();
            mesh_audit_render::render_sarif(
                report,
                TOOL,
                &SarifOptions {
                    root_in_repo: &root_in_repo,
                    repo_root_uri: repo_uri.as_deref(),
                    information_uri: information_uri(),
                    rules: &rules,
                },
            )
        }
        Format::Github => {
            mesh_audit_render::render_github(report, &repository_root(Path::new(&report.root)).0)
        }
        Format::Human => mesh_audit_render::render_human(
            report,
            &HumanOptions {
                color: use_color(args),
                suggestions: !args.no_suggestions,
                verbose: args.verbose > 0,
                summary: !args.quiet,
                source: &read,
            },
        ),
    }
}

/// The report root relative to the Git repository that holds it (`svc/`,
/// or empty), and the repository root as a `file:` URI. GitHub resolves
/// SARIF and annotation paths from the checkout, so a workspace in a
/// subfolder needs the prefix. Outside a repository the report root stands in.
fn repository_root(root: &Path) -> (String, Option<String>) {
    let repo = root.ancestors().find(|d| d.join(".git").exists());
    match repo {
        Some(repo) => {
            let rel = mesh_audit::discover::rel_to(repo, root);
            let prefix = if rel.is_empty() {
                rel
            } else {
                format!("{rel}/")
            };
            let uri = mesh_audit_render::file_uri_of_dir(&repo.display().to_string());
            (prefix, Some(uri))
        }
        None => (
            String::new(),
            Some(mesh_audit_render::file_uri_of_dir(
                &root.display().to_string(),
            )),
        ),
    }
}

fn rule_infos() -> Vec<RuleInfo> {
    mesh_audit::rules::all()
        .iter()
        .map(|r| {
            let m = r.meta();
            RuleInfo {
                id: m.id.to_string(),
                summary: m.summary.to_string(),
                doc: m.doc(),
                severity: m.severity,
            }
        })
        .collect()
}

fn use_color(args: &Args) -> bool {
    let choice = args
        .color
        .or_else(|| match std::env::var("CARGO_TERM_COLOR").as_deref() {
            Ok("always") => Some(ColorChoice::Always),
            Ok("never") => Some(ColorChoice::Never),
            _ => None,
        });
    match choice {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        _ => {
            args.output.is_none()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    let threshold = match fail_on {
        FailOn::Never => return 0,
        FailOn::Error => Severity::Error,
        FailOn::Warning => Severity::Warning,
        FailOn::Info => Severity::Info,
    };
    let failing = report.findings.iter().any(|f| f.severity >= threshold);
    u8::from(failing || !report.errors.is_empty())
}

/// The rule table with the state after the configuration and the flags:
/// the configuration is the one an audit from here would read.
fn list_rules(args: &Args) -> Result<String> {
    let config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::discover(&config_root(args))?,
    };
    let opts = audit_options(args, None);
    let active = mesh_audit::engine::active_rules(&opts, &config).unwrap_or_default();
    let mut out = format!(
        "{:<20} {:<9} {:<8} {:<11} {}\n",
        "RULE", "SEVERITY", "ENABLED", "CATEGORY", "SUMMARY"
    );
    for r in mesh_audit::rules::all() {
        let m = r.meta();
        let severity = config
            .rules
            .get(m.id)
            .and_then(|rc| rc.severity)
            .unwrap_or(m.severity);
        let enabled = active.iter().any(|(a, _)| a.meta().id == m.id);
        out.push_str(&format!(
            "{:<20} {:<9} {:<8} {:<11} {}\n",
            m.id,
            severity.as_str(),
            if enabled { "yes" } else { "no" },
            m.category.as_str(),
            m.summary
        ));
    }
    if let Some(source) = &config.source {
        out.push_str(&format!("\nconfiguration: {}\n", source.display()));
    }
    Ok(out)
}

/// Where an audit started here would look for its configuration: the
/// folder of `--manifest-path`, else the outermost `[workspace]` manifest
/// above the current folder, else the nearest manifest, else here. Found
/// without running cargo, so listing rules stays instant.
fn config_root(args: &Args) -> std::path::PathBuf {
    let start = match &args.manifest_path {
        Some(m) => m.parent().map(Path::to_path_buf).unwrap_or_default(),
        None => std::env::current_dir().unwrap_or_default(),
    };
    let start = std::fs::canonicalize(&start).unwrap_or(start);
    let manifests: Vec<&Path> = start
        .ancestors()
        .filter(|d| d.join("Cargo.toml").is_file())
        .collect();
    let is_workspace = |d: &&&Path| {
        std::fs::read_to_string(d.join("Cargo.toml"))
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .is_some_and(|t| t.contains_key("workspace"))
    };
    manifests
        .iter()
        .rev()
        .find(is_workspace)
        .or(manifests.first())
        .map(|d| d.to_path_buf())
        .unwrap_or(start)
}
