//! The audit pipeline: discover → parse and summarise every file → join the
//! summaries per crate → parse again and run the rules with that index →
//! filter (tests, suppressions, selection) → sorted `Report`.
//!
//! Syntax trees never outlive their file: each worker parses, converts spans
//! to numbers, drops the tree and invalidates proc-macro2's span table
//! before the next file, so memory stays flat on large repositories.

use std::collections::{BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use mesh_audit_model::{AuditError, Finding, Report, SuppressionNote};

use crate::analysis::testcode::test_regions;
use crate::analysis::FileCtx;
use crate::config::{Config, RuleConfig};
use crate::discover::{discover, DiscoverError, SourceFile, Target};
use crate::index::{CrateIndex, FileSummary};
use crate::rules::{self, Rule};
use crate::source::{nesting_exceeds, LineIndex};
use crate::suppress::Suppressions;

/// Deeper bracket nesting than any hand-written Rust; syn recurses per level.
pub const MAX_NESTING: usize = 256;
/// Worker stacks: generous, because syn and our visitors recurse.
const STACK_SIZE: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Explicit configuration; `None` reads the one at the audit root.
    pub config: Option<Config>,
    /// Rules to run; `None` = every rule enabled by default or by config.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub include_tests: bool,
    pub include_reconnect: bool,
    /// 0 = one per core.
    pub threads: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditFailure {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error("unknown rule `{0}` (see --list-rules)")]
    UnknownRule(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}

/// The rules that will run, with their settings.
pub fn active_rules(
    opts: &AuditOptions,
    config: &Config,
) -> Result<Vec<(&'static dyn Rule, RuleConfig)>, AuditFailure> {
    for id in opts.select.iter().flatten().chain(&opts.ignore) {
        if rules::lookup(id).is_none() {
            return Err(AuditFailure::UnknownRule(id.clone()));
        }
    }
    let select = opts.select.clone().or_else(|| config.select.clone());
    let ignore: BTreeSet<&String> = opts.ignore.iter().chain(&config.ignore).collect();
    Ok(rules::all()
        .iter()
        .copied()
        .filter_map(|r| {
            let m = r.meta();
            let rc = config.rules.get(m.id).cloned().unwrap_or_default();
            let on = match &select {
                Some(list) => list.iter().any(|s| s == m.id),
                None => rc.enabled.unwrap_or(m.enabled),
            };
            (on && !ignore.contains(&m.id.to_string())).then_some((r, rc))
        })
        .collect())
}

/// Runs the whole audit. Returns the report and the configuration that
/// applied (later stages read e.g. its `namespace`).
pub fn audit(target: &Target, opts: &AuditOptions) -> Result<(Report, Config), AuditFailure> {
    let started = Instant::now();
    // Rule names on the command line are checked before any work is done.
    active_rules(opts, &Config::default())?;
    let mut found = discover(target, &[])?;
    let config = match &opts.config {
        Some(c) => c.clone(),
        None => Config::discover(&found.root)?,
    };
    crate::discover::apply_excludes(&mut found, &config.exclude);
    let active = active_rules(opts, &config)?;
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    let include_tests = opts.include_tests || config.include_tests.unwrap_or(false);
    let include_reconnect = opts.include_reconnect || config.include_reconnect.unwrap_or(false);

    // Pass 1: read, check, parse, summarise.
    let pass1: Vec<Result<(String, FileSummary), AuditError>> =
        run_parallel(&found.files, threads, summarise, |f, msg| {
            Err(file_error(f, None, msg))
        });

    let mut by_package: HashMap<PathBuf, Vec<&FileSummary>> = HashMap::new();
    for (f, r) in found.files.iter().zip(&pass1) {
        if let Ok((_, s)) = r {
            by_package
                .entry(f.package_root.clone())
                .or_default()
                .push(s);
        }
    }
    let indexes: HashMap<PathBuf, CrateIndex> = by_package
        .into_iter()
        .map(|(k, v)| (k, CrateIndex::build(v)))
        .collect();
    let empty_index = CrateIndex::default();

    // Pass 2: the rules, with the crate's index.
    let jobs: Vec<(&SourceFile, &str)> = found
        .files
        .iter()
        .zip(&pass1)
        .filter_map(|(f, r)| r.as_ref().ok().map(|(text, _)| (f, text.as_str())))
        .collect();
    let pass2: Vec<FileOutcome> = run_parallel(
        &jobs,
        threads,
        |(f, text)| {
            let index = indexes.get(&f.package_root).unwrap_or(&empty_index);
            check_file(f, text, index, &active, include_tests, include_reconnect)
        },
        |(f, _), msg| FileOutcome {
            error: Some(file_error(f, None, msg)),
            ..Default::default()
        },
    );

    let mut report = Report {
        root: found.root.display().to_string(),
        errors: found.errors,
        files_scanned: found.files.len(),
        ..Default::default()
    };
    for r in pass1 {
        if let Err(e) = r {
            report.errors.push(e);
        }
    }
    for o in pass2 {
        report.findings.extend(o.findings);
        report.errors.extend(o.error);
        report.suppression_notes.extend(o.notes);
    }
    report.sort();
    report.elapsed_ms = started.elapsed().as_millis();
    Ok((report, config))
}

fn file_error(f: &SourceFile, line: Option<(u32, u32)>, message: String) -> AuditError {
    AuditError {
        file: f.rel.clone(),
        line: line.map(|l| l.0),
        column: line.map(|l| l.1),
        message,
    }
}

/// Reads and parses a file, or says why it cannot be analysed.
fn load(f: &SourceFile) -> Result<(String, syn::File), AuditError> {
    let bytes =
        std::fs::read(&f.abs).map_err(|e| file_error(f, None, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = &e.as_bytes()[..at];
        let line = valid.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        file_error(
            f,
            Some((line, 1)),
            format!("not valid UTF-8 (byte {at}); Rust sources must be UTF-8"),
        )
    })?;
    let file = parse(&text).map_err(|(pos, msg)| file_error(f, pos, msg))?;
    Ok((text, file))
}

/// Parses Rust source, refusing pathological nesting before syn recurses into it.
pub fn parse(text: &str) -> Result<syn::File, (Option<(u32, u32)>, String)> {
    if text.as_bytes().contains(&0) {
        return Err((None, "contains NUL bytes; not a Rust source file".into()));
    }
    if let Some(line) = nesting_exceeds(text, MAX_NESTING) {
        return Err((Some((line, 1)), format!("nested deeper than {MAX_NESTING} levels or a statement longer than {} tokens; not analysed", crate::source::MAX_STATEMENT_TOKENS)));
    }
    syn::parse_file(&blank_preamble(text)).map_err(|e| {
        let start = e.span().start();
        let pos = (start.line > 0).then_some((start.line as u32, start.column as u32 + 1));
        (pos, format!("cannot parse: {e}"))
    })
}

/// syn drops a leading BOM and `#!` line and counts spans from what is left;
/// blanking them instead keeps every span a byte offset into `text`.
fn blank_preamble(text: &str) -> std::borrow::Cow<'_, str> {
    let bom = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let rest = &text[bom..];
    let shebang = if rest.starts_with("#!") && !rest[2..].trim_start().starts_with('[') {
        rest.find('\n').unwrap_or(rest.len())
    } else {
        0
    };
    if bom + shebang == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(format!("{}{}", " ".repeat(bom + shebang), &rest[shebang..]))
}

fn summarise(f: &SourceFile) -> Result<(String, FileSummary), AuditError> {
    let (text, file) = load(f)?;
    let mut summary = FileSummary::build(&file, &f.abs, &text);
    summary.rel_path = f.rel.clone();
    if f.test_path {
        // Values assigned in test files never feed a production finding.
        summary.field_values.clear();
        summary.consts.clear();
        summary.value_lines.clear();
    }
    Ok((text, summary))
}

#[derive(Default)]
struct FileOutcome {
    findings: Vec<Finding>,
    notes: Vec<SuppressionNote>,
    error: Option<AuditError>,
}

fn check_file(
    f: &SourceFile,
    text: &str,
    index: &CrateIndex,
    active: &[(&'static dyn Rule, RuleConfig)],
    include_tests: bool,
    include_reconnect: bool,
) -> FileOutcome {
    let file = match parse(text) {
        Ok(file) => file,
        Err((pos, msg)) => {
            return FileOutcome {
                error: Some(file_error(f, pos, msg)),
                ..Default::default()
            }
        }
    };
    let lines = LineIndex::new(text);
    let whole_file_is_test = f.test_path || index.is_test_path(&f.abs);
    if whole_file_is_test && !include_tests {
        return FileOutcome::default();
    }
    let regions = if include_tests {
        Vec::new()
    } else {
        test_regions(&file)
    };
    let suppressions = Suppressions::parse(text, &f.rel, &|id| rules::lookup(id).is_some());
    let mut cx = FileCtx::new(&file, &f.rel, &lines, index);
    cx.include_reconnect = include_reconnect;
    let mut findings = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (rule, rc) in active {
        let meta = rule.meta();
        let mut out = Vec::new();
        rule.check(&cx, rc, &mut out);
        for v in out {
            let start = v.range.byte_start as usize;
            if regions.iter().any(|r| r.contains(&start)) {
                continue;
            }
            if suppressions.allows(meta.id, v.range.line) {
                continue;
            }
            let code = text
                .get(v.range.byte_start as usize..v.range.byte_end as usize)
                .unwrap_or("");
            let normalised: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
            let key = format!("{}\0{}\0{}", meta.id, f.rel, normalised);
            let nth = seen.entry(key.clone()).or_insert(0);
            *nth += 1;
            findings.push(Finding {
                rule: meta.id,
                severity: rc.severity.unwrap_or(meta.severity),
                message: v.message,
                file: f.rel.clone(),
                range: v.range,
                values: v.values,
                sources: v.sources,
                help: v.help,
                suggestions: Vec::new(),
                fingerprint: format!("{:016x}", fnv1a(format!("{key}\0{nth}").as_bytes())),
                package: f.package.clone(),
            });
        }
    }
    drop(cx);
    drop(file);
    FileOutcome {
        findings,
        notes: suppressions.notes,
        error: None,
    }
}

/// FNV-1a: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Runs `work` over `items` on worker threads with large stacks; results
/// come back in input order, so output never depends on scheduling. A panic
/// in one file becomes that file's error instead of ending the run.
fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> R + Sync,
    on_panic: impl Fn(&T, String) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, items.len().max(1));
    let mut results: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK_SIZE)
                    .spawn_scoped(s, || {
                        let mut local = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(i) else { break };
                            let r = catch_unwind(AssertUnwindSafe(|| work(item))).unwrap_or_else(|p| {
                                let msg = p
                                    .downcast_ref::<&str>()
                                    .map(|s| s.to_string())
                                    .or_else(|| p.downcast_ref::<String>().cloned())
                                    .unwrap_or_default();
                                on_panic(item, format!("internal error while analysing this file (please report it): {msg}"))
                            });
                            // Every tree of this file is gone; forget its spans.
                            proc_macro2::extra::invalidate_current_thread_spans();
                            local.push((i, r));
                        }
                        local
                    })
                    .expect("spawning a worker thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
