//! Command-line flags (clap derive) and their resolution into what the
//! engine and renderers take. Flags rather than subcommands, so that a
//! directory named like a subcommand is still a path.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-like diagnostics with source snippets
    Human,
    /// `file:line:col: severity[rule]: message`, one a line
    Short,
    /// one JSON object (see README, "JSON format")
    Json,
    /// SARIF 2.1.0 for GitHub code scanning
    Sarif,
    /// GitHub Actions workflow commands (annotations on the changed lines)
    Github,
}

/// `--message-format`, as cargo spells it: `human`, `short`, `json` and the
/// `json-*` variants rust-analyzer passes (comma-separated, as cargo takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFormat {
    Human,
    Short,
    /// rustc JSON diagnostics, one a line; `ansi` colours `rendered`.
    Json {
        ansi: bool,
    },
}

fn parse_message_format(text: &str) -> Result<MessageFormat, String> {
    let mut format = None;
    let mut ansi = false;
    for part in text.split(',').map(str::trim) {
        match part {
            "human" => format = Some(MessageFormat::Human),
            "short" => format = Some(MessageFormat::Short),
            "json" | "json-diagnostic-short" | "json-render-diagnostics" => {
                format = Some(MessageFormat::Json { ansi: false })
            }
            "json-diagnostic-rendered-ansi" => {
                format = Some(MessageFormat::Json { ansi: false });
                ansi = true;
            }
            other => {
                return Err(format!(
                    "`{other}` is not one of human, short, json, json-diagnostic-rendered-ansi, json-diagnostic-short, json-render-diagnostics"
                ))
            }
        }
    }
    Ok(match format {
        Some(MessageFormat::Json { .. }) => MessageFormat::Json { ansi },
        Some(f) => f,
        None => return Err("expected a message format".into()),
    })
}

/// A comma-separated rule id, without the spaces of `"a, b"`.
fn parse_rule_id(text: &str) -> Result<String, String> {
    Ok(text.trim().to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

const AFTER_HELP: &str = "\
Exit codes:
  0  no finding at or above the --fail-on level (or --fail-on never)
  1  findings at or above the --fail-on level, or files that could not be analysed
  2  usage, configuration or I/O error that stopped the audit, or no file to audit
     (without --allow-empty)

Examples:
  cargo mesh-audit                                  audit the workspace of the current directory
  cargo mesh-audit --manifest-path svc/Cargo.toml -p orders
  cargo mesh-audit src/ --format short              audit plain paths without Cargo
  cargo mesh-audit --explain loopback-bind";

/// Finds retries, timeouts, circuit breakers and bind mistakes in Rust
/// services that a service mesh (Istio, Linkerd) should own.
#[derive(Debug, Parser)]
#[command(name = "cargo-mesh-audit", bin_name = "cargo mesh-audit", version, after_help = AFTER_HELP)]
pub struct Args {
    /// Files or directories to audit without Cargo (respects .gitignore, skips target/)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Path to Cargo.toml of the workspace or package to audit
    #[arg(long, value_name = "PATH", help_heading = "Package selection")]
    pub manifest_path: Option<PathBuf>,
    /// Package to audit (repeatable)
    #[arg(
        short,
        long = "package",
        value_name = "NAME",
        help_heading = "Package selection"
    )]
    pub packages: Vec<String>,
    /// Audit every workspace member, also from a member's folder or manifest
    #[arg(long, help_heading = "Package selection")]
    pub workspace: bool,
    /// Package to leave out (repeatable)
    #[arg(long, value_name = "NAME", help_heading = "Package selection")]
    pub exclude: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human, help_heading = "Output")]
    pub format: Format,
    /// Diagnostics as cargo prints them: `json` (or rust-analyzer's
    /// `json-diagnostic-rendered-ansi`) is rustc's JSON, one object a line,
    /// for rust-analyzer (overrides --format)
    #[arg(long, value_name = "FMT", value_parser = parse_message_format, help_heading = "Output")]
    pub message_format: Option<MessageFormat>,
    /// Write the report to FILE instead of stdout (replaces FILE; never one the audit reads)
    #[arg(short, long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Also write the report as SARIF to FILE (stdout keeps --format)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub sarif_output: Option<PathBuf>,
    /// Also write the report as JSON to FILE (stdout keeps --format)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub json_output: Option<PathBuf>,
    /// When to colour the output (honours NO_COLOR and CARGO_TERM_COLOR)
    #[arg(long, value_enum, value_name = "WHEN", help_heading = "Output")]
    pub color: Option<ColorChoice>,
    /// Print only findings, no summary line
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    /// Also list suppressions without a reason and the configuration used
    #[arg(short, long, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// Run only these rules (comma-separated ids)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "RULE,...",
        value_parser = parse_rule_id,
        help_heading = "Rules"
    )]
    pub select: Option<Vec<String>>,
    /// Skip these rules (comma-separated ids)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "RULE,...",
        value_parser = parse_rule_id,
        help_heading = "Rules"
    )]
    pub ignore: Vec<String>,
    /// Also audit test code (tests/, benches/, examples/, #[cfg(test)], #[test])
    #[arg(long, help_heading = "Rules")]
    pub include_tests: bool,
    /// Report reconnect loops of long-lived consumers as retry loops
    #[arg(long, help_heading = "Rules")]
    pub include_reconnect: bool,
    /// Also audit packages in the `dev` scope (CLIs, test support, benches) and `skip`
    #[arg(long, help_heading = "Package selection")]
    pub all_scopes: bool,
    /// Read configuration from FILE instead of mesh-audit.toml / Cargo metadata
    #[arg(long, value_name = "FILE", help_heading = "Rules")]
    pub config: Option<PathBuf>,
    /// Skip .rs files larger than SIZE (bytes, or e.g. 8MB; default 4MB or config `max-file-size`)
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "Rules")]
    pub max_file_size: Option<u64>,
    /// Exit 0 when no file was found to audit (default: a warning and exit 2)
    #[arg(long, help_heading = "CI")]
    pub allow_empty: bool,

    /// Do not print the suggested mesh config / code under each finding
    #[arg(long, help_heading = "Output")]
    pub no_suggestions: bool,

    /// Write DIR/<host>.yaml per destination host, holding the kinds that
    /// apply (a VirtualService, a DestinationRule, or both), and a
    /// PeerAuthentication per crate with server TLS
    #[arg(long, value_name = "DIR", help_heading = "Mesh config")]
    pub emit_manifests: Option<PathBuf>,
    /// Namespace of generated resources (default: config `namespace`, else `default`)
    #[arg(long, value_name = "NS", help_heading = "Mesh config")]
    pub namespace: Option<String>,
    /// apiVersion of generated Istio resources: v1 (Istio >= 1.22) or v1beta1
    #[arg(
        long,
        value_name = "VERSION",
        default_value = "v1",
        help_heading = "Mesh config"
    )]
    pub mesh_api_version: String,
    /// Target Istio version; unlocks fields newer than 1.22 (e.g. retries.backoff on >= 1.26)
    #[arg(long, value_name = "X.Y", help_heading = "Mesh config")]
    pub istio_version: Option<String>,
    /// Overwrite existing files in the --emit-manifests directory
    #[arg(long, help_heading = "Mesh config")]
    pub force: bool,

    /// Lowest severity that makes the exit code 1
    #[arg(long, value_enum, default_value_t = FailOn::Warning, value_name = "LEVEL", help_heading = "CI")]
    pub fail_on: FailOn,
    /// Report only findings not recorded in FILE (see --write-baseline)
    #[arg(long, value_name = "FILE", help_heading = "CI")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in FILE, to accept them as known
    #[arg(long, value_name = "FILE", help_heading = "CI")]
    pub write_baseline: Option<PathBuf>,

    /// Accepted for rust-analyzer's `check.command` and cargo habits; a
    /// source audit builds nothing, so these change nothing.
    #[arg(long, hide = true)]
    pub all_targets: bool,
    #[arg(long, hide = true)]
    pub keep_going: bool,
    #[arg(long, hide = true)]
    pub all_features: bool,
    #[arg(long, hide = true)]
    pub no_default_features: bool,
    #[arg(short = 'F', long, hide = true, value_name = "FEATURES")]
    pub features: Vec<String>,
    #[arg(long, hide = true, value_name = "TRIPLE")]
    pub target: Vec<String>,
    #[arg(long, hide = true, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    #[arg(long, hide = true)]
    pub locked: bool,
    #[arg(long, hide = true)]
    pub offline: bool,
    #[arg(long, hide = true)]
    pub frozen: bool,

    /// List the rules and exit
    #[arg(long, help_heading = "Rules")]
    pub list_rules: bool,
    /// Print a rule's documentation and exit
    #[arg(long, value_name = "RULE", help_heading = "Rules")]
    pub explain: Option<String>,

    /// Worker threads for every stage (default: one per core)
    #[arg(
        short = 'j',
        long = "jobs",
        visible_alias = "threads",
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true
    )]
    pub threads: usize,
    /// Print where the time went and the five slowest files (stderr)
    #[arg(long)]
    pub timings: bool,
    /// Run the rules on every file, also those the prefilter shows cannot
    /// produce a finding (slower; for checking the prefilter)
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
}

/// `cargo mesh-audit ...` runs us as `cargo-mesh-audit mesh-audit ...`:
/// drop that word so both spellings parse the same.
pub fn parse_from_env() -> Result<Args, clap::Error> {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "mesh-audit") {
        argv.remove(1);
    }
    Args::try_parse_from(argv)
}

fn parse_size(text: &str) -> Result<u64, String> {
    mesh_audit::safe_fs::parse_size(text)
        .ok_or_else(|| format!("`{text}` is not a size (bytes, or e.g. 512KB, 8MB)"))
}
