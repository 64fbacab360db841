//! `cargo mesh-audit`: the thin command-line edge. It parses flags, calls
//! the engine, hands the report to a renderer and owns the exit code.

mod cli;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use cli::{Args, ColorChoice, FailOn, Format, MessageFormat};
use mesh_audit::config::Config;
use mesh_audit::{Report, Severity, Target};
use mesh_audit_render::{HumanOptions, Tool};
use mesh_audit_suggest::{ApiVersion, SuggestOptions};

const TOOL: Tool<'static> = Tool {
    name: "cargo-mesh-audit",
    version: env!("CARGO_PKG_VERSION"),
};

fn main() -> ExitCode {
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

fn run(args: &Args) -> Result<u8> {
    if args.list_rules {
        print!("{}", list_rules());
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
    let opts = mesh_audit::AuditOptions {
        config,
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        include_tests: args.include_tests,
        include_reconnect: args.include_reconnect,
        threads: args.threads,
        max_file_size: args.max_file_size,
    };
    let suggest_opts = suggest_options(args)?;
    let (mut report, config) = mesh_audit::audit(&target, &opts)?;
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
    let rendered = render(args, &report);
    match &args.output {
        Some(path) => write_output(path, &rendered, &report.inputs)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(rendered.as_bytes()).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e).context("cannot write to stdout");
                }
            }
        }
    }
    if report.files_scanned == 0 && !args.allow_empty {
        // A CI gate that audited nothing must not pass quietly.
        eprintln!("warning: no Rust files were found to audit (ignored, excluded or absent); pass --allow-empty if that is expected");
        return Ok(2);
    }
    Ok(exit_code(&report, args.fail_on))
}

/// Writes the report to `path`: never over a file the audit read, and by
/// renaming a temporary file in the same folder, so that a symbolic link
/// at `path` is replaced, never followed to a file. A FIFO or device, also
/// through a link (`/dev/null`, `/dev/stdout`), is written in place.
fn write_output(path: &Path, text: &str, inputs: &[std::path::PathBuf]) -> Result<()> {
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
    let read = source_reader(&report.root);
    let format = match args.message_format {
        Some(MessageFormat::Json) => return mesh_audit_render::render_rustc_json(report, &read),
        Some(MessageFormat::Short) => Format::Short,
        Some(MessageFormat::Human) => Format::Human,
        None => args.format,
    };
    match format {
        Format::Json => mesh_audit_render::render_json(report, TOOL),
        Format::Short => mesh_audit_render::render_short(report),
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

fn list_rules() -> String {
    let mut out = format!(
        "{:<20} {:<9} {:<8} {:<11} {}\n",
        "RULE", "SEVERITY", "ENABLED", "CATEGORY", "SUMMARY"
    );
    for r in mesh_audit::rules::all() {
        let m = r.meta();
        out.push_str(&format!(
            "{:<20} {:<9} {:<8} {:<11} {}\n",
            m.id,
            m.severity.as_str(),
            if m.enabled { "yes" } else { "no" },
            m.category.as_str(),
            m.summary
        ));
    }
    out
}
