//! The audit pipeline: discover → parse and summarise every file → join the
//! summaries per crate → parse again and run the rules with that index →
//! filter (tests, suppressions, selection) → sorted `Report`.
//!
//! A syntax tree lives from pass 1 to pass 2 only when a rule can fire in
//! its file, on the thread that parsed it (see [`crate::workers`]); every
//! other tree is dropped once summarised. Large trees are split into units
//! of work, so memory stays flat on large repositories.

use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mesh_audit_model::{AuditError, Finding, Report, SuppressionNote};

use crate::analysis::FileCtx;
use crate::config::{Config, RuleConfig};
use crate::discover::{discover_with_threads, DiscoverError, SourceFile, Target};
use crate::index::{CrateIndex, FileSummary};
use crate::rules::{self, Rule};
use crate::source::{token_shape, LineIndex};
use crate::suppress::Suppressions;
use crate::workers::{Source, Tree, Workers};

/// Deeper bracket nesting than any hand-written Rust; syn recurses per level.
pub const MAX_NESTING: usize = 256;

#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Explicit configuration; `None` reads the one at the audit root.
    pub config: Option<Config>,
    /// Rules to run; `None` = every rule enabled by default or by config.
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub include_tests: bool,
    pub include_reconnect: bool,
    /// Audit `dev` and `skip` packages too.
    pub all_scopes: bool,
    /// 0 = one per core.
    pub threads: usize,
    /// Largest `.rs` file analysed, in bytes; `None` = config, else the default.
    pub max_file_size: Option<u64>,
    /// Run the rules on every file, not only on those the prefilter keeps
    /// (a check that the prefilter drops nothing).
    pub no_prefilter: bool,
    /// Most files a unit of work holds without Cargo (see `work_units`);
    /// `None` = the default. Tests set it low to check that splitting the
    /// tree changes no finding.
    pub unit_files: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditFailure {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error("unknown rule `{0}` (see --list-rules)")]
    UnknownRule(String),
    #[error("no rule left to run: {0}")]
    NoRules(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot start the worker threads: {0}")]
    Threads(std::io::Error),
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
    // Flags win over the configuration: a rule selected on the command
    // line runs even when the configuration ignores it.
    let ignore: BTreeSet<&String> = opts
        .ignore
        .iter()
        .chain(
            config
                .ignore
                .iter()
                .filter(|id| !opts.select.iter().flatten().any(|s| s == *id)),
        )
        .collect();
    let active: Vec<_> = rules::all()
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
        .collect();
    if active.is_empty() {
        let why = match (&opts.select, opts.ignore.is_empty()) {
            (Some(_), false) => "--ignore removes every rule --select chose",
            (Some(s), true) if s.is_empty() => "--select names no rule",
            _ => "the selection and the configuration disable every rule",
        };
        return Err(AuditFailure::NoRules(why.into()));
    }
    Ok(active)
}

/// How far a running audit is, for a progress line; the engine only
/// stores into it.
#[derive(Debug, Default)]
pub struct Progress {
    /// The stage running: [`Progress::DISCOVER`], [`Progress::SUMMARISE`]
    /// or [`Progress::CHECK`].
    pub stage: AtomicUsize,
    /// Files done in this stage.
    pub done: AtomicUsize,
    /// Files this stage will do.
    pub total: AtomicUsize,
}

impl Progress {
    pub const DISCOVER: usize = 0;
    pub const SUMMARISE: usize = 1;
    pub const CHECK: usize = 2;

    fn start(&self, stage: usize, total: usize) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.stage.store(stage, Ordering::Relaxed);
    }
}

/// Where an audit's time went (`--timings`). Stage times are wall-clock;
/// the per-file columns are summed over the worker threads.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub threads: usize,
    pub discover: Duration,
    /// Reading every file for the paths its code writes, and the files of
    /// crates that cannot reach the network, not parsed (see `crate::reach`).
    pub reach: Duration,
    pub files_unreached: usize,
    /// Pass 1: read, parse and summarise every file.
    pub summarise: Duration,
    pub index: Duration,
    /// Pass 2: read and parse again, run the rules.
    pub check: Duration,
    /// Files pass 1 read and parsed / pass 2 read, parsed and checked.
    pub files_summarised: usize,
    pub files_checked: usize,
    /// Of `files_checked`, those whose tree pass 1 had kept (not parsed
    /// again).
    pub files_reused: usize,
    /// Files summarised again through other crates' re-exports, and the
    /// wall time that took (part of `index`).
    pub files_resummarised: usize,
    pub resummarise: Duration,
    /// Reading and parsing, summed over threads, pass 1 and pass 2.
    pub read_parse_cpu: [Duration; 2],
    /// Building summaries (pass 1) and running the rules (pass 2), summed
    /// over threads.
    pub analyse_cpu: [Duration; 2],
    /// The files that took longest, both passes together, slowest first.
    pub slowest: Vec<(String, Duration)>,
    /// The process's peak resident memory (KiB) at the end of discover,
    /// pass 1, the index and pass 2; `None` where the OS does not say.
    pub peak_rss_kib: [Option<u64>; 4],
}

impl Timings {
    /// Adds one unit of work's stages (see `work_units`).
    fn add_unit(&mut self, t: &Timings) {
        self.summarise += t.summarise;
        self.index += t.index;
        self.check += t.check;
        self.resummarise += t.resummarise;
        self.files_summarised += t.files_summarised;
        self.files_checked += t.files_checked;
        self.files_reused += t.files_reused;
        self.files_resummarised += t.files_resummarised;
        for pass in 0..2 {
            self.read_parse_cpu[pass] += t.read_parse_cpu[pass];
            self.analyse_cpu[pass] += t.analyse_cpu[pass];
        }
        // Peak memory is the process's high-water mark: the latest reading
        // of each stage is its peak over every unit so far.
        self.peak_rss_kib[1..].clone_from_slice(&t.peak_rss_kib[1..]);
    }
}

/// The process's peak resident set so far (Linux: `VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A source file at least this large is read, parsed and analysed while
/// no other such file is: its syntax tree takes ~150 times its size (a
/// 2.5 MB table of numbers, as `encoding_rs` ships, is ~400 MB), so peak
/// memory is one such tree, not one per thread. Results do not change:
/// only when a worker gets to the file.
const BIG_FILE: u64 = 512 * 1024;
static BIG_FILE_TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// For a big file, waits for its turn; hold the guard while its tree lives.
fn big_file_turn(f: &SourceFile) -> Option<BigFileTurn> {
    let big = std::fs::metadata(&f.abs).is_ok_and(|m| m.len() >= BIG_FILE);
    big.then(|| BigFileTurn(BIG_FILE_TURN.lock().unwrap_or_else(|e| e.into_inner())))
}

struct BigFileTurn(#[allow(dead_code)] std::sync::MutexGuard<'static, ()>);

impl Drop for BigFileTurn {
    /// The big tree is gone; glibc would keep its pages in this thread's
    /// arena, so that every thread that once held a big file stays as large.
    fn drop(&mut self) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `malloc_trim` only releases free memory; it has no
        // preconditions and touches no live allocation.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// What pass 2 needs of a file's summary.
struct FileFacts {
    module: Vec<String>,
    evidence: crate::prefilter::Evidence,
}

/// Time one file took in one pass.
#[derive(Debug, Clone, Copy, Default)]
struct FileTime {
    read_parse: Duration,
    analyse: Duration,
    /// Pass 2 parsed the file and ran the rules (the prefilter kept it).
    checked: bool,
    /// Pass 2 ran the rules over the tree pass 1 had kept.
    reused: bool,
}

/// Runs the whole audit. Returns the report and the configuration that
/// applied (later stages read e.g. its `namespace`).
pub fn audit(target: &Target, opts: &AuditOptions) -> Result<(Report, Config), AuditFailure> {
    audit_observed(target, opts, &Progress::default()).map(|(r, c, _)| (r, c))
}

/// [`audit`], reporting progress as it goes and where the time went.
pub fn audit_observed(
    target: &Target,
    opts: &AuditOptions,
    progress: &Progress,
) -> Result<(Report, Config, Timings), AuditFailure> {
    let started = Instant::now();
    let mut timings = Timings::default();
    // Rule names on the command line are checked before any work is done.
    active_rules(opts, &Config::default())?;
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    timings.threads = threads;
    let workers = Workers::new(threads).map_err(AuditFailure::Threads)?;
    progress.start(Progress::DISCOVER, 0);
    let mut found = discover_with_threads(target, &[], threads)?;
    let config = match &opts.config {
        Some(c) => c.clone(),
        None => Config::discover(&found.root)?,
    };
    crate::discover::apply_excludes(&mut found, &config.exclude);
    let active = active_rules(opts, &config)?;
    timings.discover = started.elapsed();
    timings.peak_rss_kib[0] = peak_rss_kib();
    let include_tests = opts.include_tests || config.include_tests.unwrap_or(false);
    let include_reconnect = opts.include_reconnect || config.include_reconnect.unwrap_or(false);
    let max_file_size = opts
        .max_file_size
        .or(config.max_file_size)
        .unwrap_or(crate::safe_fs::DEFAULT_MAX_FILE_SIZE);
    let reach_stage = Instant::now();
    let unreached = if opts.no_prefilter {
        0
    } else {
        drop_unreached(&mut found, &workers, max_file_size)
    };
    timings.reach = reach_stage.elapsed();
    timings.files_unreached = unreached;

    let settings = UnitSettings {
        max_file_size,
        include_tests,
        include_reconnect,
        no_prefilter: opts.no_prefilter,
        all_scopes: opts.all_scopes,
        streamed: false,
    };
    let mut report = Report {
        root: found.root.display().to_string(),
        cargo_packages: std::mem::take(&mut found.cargo_packages),
        inputs: found
            .files
            .iter()
            .map(|f| f.abs.clone())
            .chain(config.source.clone())
            .collect(),
        skipped_links: std::mem::take(&mut found.skipped_links),
        errors: std::mem::take(&mut found.errors),
        ..Default::default()
    };
    // Files of crates that cannot reach the network were read and found
    // to need no parse: they count as scanned.
    report.files_scanned = unreached;
    let mut slowest: Vec<(usize, Duration)> = Vec::new();
    let mut add = |unit: UnitOutcome, files: Option<&[usize]>, timings: &mut Timings| {
        let global = |i: usize| files.map_or(i, |f| f[i]);
        report.findings.extend(unit.findings);
        report.errors.extend(unit.errors);
        report.suppression_notes.extend(unit.notes);
        report.files_scanned += unit.files_scanned;
        report.packages.extend(unit.packages);
        report.unreached_files.extend(unit.unreached_files);
        slowest.extend(unit.slowest.into_iter().map(|(i, d)| (global(i), d)));
        timings.add_unit(&unit.timings);
    };
    match work_units(&found, opts.unit_files.unwrap_or(UNIT_FILES)) {
        None => {
            progress.start(Progress::SUMMARISE, found.files.len());
            let unit = audit_unit(&found, &active, &settings, &workers, progress);
            add(unit, None, &mut timings);
        }
        Some(units) => {
            // One progress count over every unit's pass 1.
            progress.start(Progress::SUMMARISE, found.files.len());
            let settings = UnitSettings {
                streamed: true,
                ..settings
            };
            for files in &units {
                let part = crate::discover::Discovered {
                    root: found.root.clone(),
                    files: files.iter().map(|&i| found.files[i].clone()).collect(),
                    errors: Vec::new(),
                    packages: Vec::new(),
                    deployed: found.deployed.clone(),
                    shipped_tools: found.shipped_tools.clone(),
                    bare_entrypoints: found.bare_entrypoints.clone(),
                    command_words: found.command_words.clone(),
                    cargo_packages: Vec::new(),
                    skipped_links: Vec::new(),
                };
                let unit = audit_unit(&part, &active, &settings, &workers, progress);
                add(unit, Some(files), &mut timings);
            }
        }
    }
    // Ties by input order, so the list does not depend on scheduling more
    // than the times themselves do.
    slowest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    timings.slowest = slowest
        .into_iter()
        .take(5)
        .map(|(i, d)| (found.files[i].rel.clone(), d))
        .collect();
    report.sort();
    report.elapsed_ms = started.elapsed().as_millis();
    Ok((report, config, timings))
}

/// Drops the files of crates that cannot reach the network (see
/// [`crate::reach`]) and says how many. Each file is read for the paths
/// its code writes; one that cannot be read is kept, for pass 1 to report.
fn drop_unreached(
    found: &mut crate::discover::Discovered,
    workers: &Workers,
    max_file_size: u64,
) -> usize {
    let all: Vec<usize> = (0..found.files.len()).collect();
    let reach = crate::reach::Reach::new(found);
    let files = &found.files;
    // A crate's files are read in order until one names a network crate.
    workers.map(
        &all,
        &AtomicUsize::new(0),
        |&i| {
            let names = || {
                read_text(&files[i], max_file_size)
                    .map_or(true, |t| crate::reach::names_network(&t))
            };
            if reach.undecided(i) && names() {
                reach.names_network(i);
            }
        },
        |&i, _| reach.names_network(i),
    );
    let (unreached, members) = reach.unreached(found);
    for p in members {
        found.packages[p].reaches_network = false;
    }
    let mut dropped = unreached.iter();
    found
        .files
        .retain(|_| !dropped.next().copied().unwrap_or(false));
    unreached.iter().filter(|&&u| u).count()
}

/// What [`audit_observed`] passes to each unit of work.
#[derive(Debug, Clone, Copy)]
struct UnitSettings {
    max_file_size: u64,
    include_tests: bool,
    include_reconnect: bool,
    no_prefilter: bool,
    all_scopes: bool,
    /// One of several units: progress counts pass 1 over all of them.
    streamed: bool,
}

/// What one unit of work found.
#[derive(Debug, Default)]
struct UnitOutcome {
    findings: Vec<Finding>,
    errors: Vec<AuditError>,
    notes: Vec<SuppressionNote>,
    files_scanned: usize,
    packages: Vec<mesh_audit_model::PackageScope>,
    unreached_files: Vec<String>,
    /// The unit's slowest files (its own file indexes), slowest first.
    slowest: Vec<(usize, Duration)>,
    /// Its stages (`threads`, `discover` and `slowest` unused).
    timings: Timings,
}

/// Most files one unit of work holds (see [`work_units`]).
const UNIT_FILES: usize = 512;

/// Without Cargo, no crate reads another's index: each folder with a
/// manifest is a crate of its own. Such crates are audited a unit at a time
/// (consecutive crates, up to `limit` files, a crate never split),
/// each unit's summaries and indexes dropped before the next, so memory is
/// that of the largest unit, not of the whole tree. `None`: one unit (Cargo
/// mode, where workspace crates read each other's indexes, or a tree small
/// enough).
fn work_units(found: &crate::discover::Discovered, limit: usize) -> Option<Vec<Vec<usize>>> {
    if !found.packages.is_empty() || found.files.len() <= limit {
        return None;
    }
    let mut crates: Vec<(&PathBuf, Vec<usize>)> = Vec::new();
    let mut at: HashMap<&PathBuf, usize> = HashMap::default();
    for (i, f) in found.files.iter().enumerate() {
        let k = *at.entry(&f.package_root).or_insert_with(|| {
            crates.push((&f.package_root, Vec::new()));
            crates.len() - 1
        });
        crates[k].1.push(i);
    }
    let mut units: Vec<Vec<usize>> = vec![Vec::new()];
    for (_, files) in crates {
        let last = units.last_mut().expect("one unit");
        if !last.is_empty() && last.len() + files.len() > limit {
            units.push(files);
        } else {
            last.extend(files);
        }
    }
    (units.len() > 1).then_some(units)
}

/// Pass 1, the indexes and pass 2 over `found`'s files.
fn audit_unit(
    found: &crate::discover::Discovered,
    active: &[(&'static dyn Rule, RuleConfig)],
    settings: &UnitSettings,
    workers: &Workers,
    progress: &Progress,
) -> UnitOutcome {
    // Pass 1: read, check, parse, summarise. The summaries are kept, and
    // the trees of the files a rule can fire in while their threads have
    // room (see `crate::workers`); pass 2 reads any other file it needs
    // again, so memory does not grow with the text of the repository.
    let UnitSettings {
        max_file_size,
        include_tests,
        include_reconnect,
        ..
    } = *settings;
    let mut timings = Timings::default();
    let stage = Instant::now();
    if !settings.streamed {
        progress.start(Progress::SUMMARISE, found.files.len());
    }
    // Files under `tests/`, `benches/`, `examples/` and build scripts are
    // test code unless a production target reaches them (checked below):
    // when tests are not audited, only their `mod` declarations are read.
    let modules_only = |f: &SourceFile| f.test_path && !include_tests;
    // What bodies name is read only to find a workspace's tool code.
    let mentions = !found.packages.is_empty() && !settings.all_scopes;
    // Files no rule can report anything in are not parsed again (pass 2).
    let prefilter = (!settings.no_prefilter)
        .then(|| crate::prefilter::Prefilter::new(active.iter().map(|(r, _)| r.meta().id)));
    let empty_index = CrateIndex::default();
    let no_names = crate::prefilter::NetworkNames::of(&empty_index);
    // A tree is worth holding if its words alone make pass 2 run a rule
    // over it, whatever the index or the summary add (they only add).
    // Such files wait until every other file is summarised, and are then
    // parsed by the pool's threads, which hold their trees: a thread's span
    // table then takes only the files it holds (see `crate::workers`).
    // The words are read once, here, for pass 2 too (see `prefilter::Words`).
    let worth_holding = |text: &str, words: Option<crate::prefilter::Words>| {
        prefilter.as_ref().is_none_or(|p| {
            let evidence = crate::prefilter::Evidence {
                words,
                ..Default::default()
            };
            p.rules_for_words(evidence, &no_names)
                .unwrap_or_else(|| p.rules_for(evidence, text, &no_names))
                .contains(&true)
        })
    };
    let budget = crate::workers::HoldBudget::new();
    let all: Vec<usize> = (0..found.files.len()).collect();
    let first: Vec<Pass1> = workers.map(
        &all,
        &progress.done,
        |&i| {
            let f = &found.files[i];
            if modules_only(f) {
                return Pass1::Done(summarise(f, max_file_size, true, mentions));
            }
            let t = Instant::now();
            let text = match read_text(f, max_file_size) {
                Ok(text) => text,
                Err(e) => return Pass1::Done((Err(e), FileTime::default())),
            };
            let words = prefilter.as_ref().map(|p| p.words_in(&text));
            if (text.len() as u64) < BIG_FILE
                && worth_holding(&text, words)
                && budget.take(text.len())
            {
                return Pass1::Later(std::sync::Mutex::new(text), words);
            }
            Pass1::Done(with_words(
                summarise_text(f, text, t, None, mentions),
                words,
            ))
        },
        |&i, msg| {
            Pass1::Done((
                Err(file_error(&found.files[i], None, msg)),
                FileTime::default(),
            ))
        },
    );
    drop(all);
    #[allow(clippy::type_complexity)]
    let later: Vec<(
        usize,
        &std::sync::Mutex<String>,
        Option<crate::prefilter::Words>,
    )> = first
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Pass1::Later(text, words) => Some((i, text, *words)),
            Pass1::Done(_) => None,
        })
        .collect();
    // Counted as done when deferred.
    let held = workers.map(
        &later,
        &AtomicUsize::new(0),
        |&(i, text, words)| {
            let text = std::mem::take(&mut *text.lock().unwrap_or_else(|e| e.into_inner()));
            with_words(
                summarise_text(&found.files[i], text, Instant::now(), Some(i), mentions),
                words,
            )
        },
        |&(i, ..), msg| {
            (
                Err(file_error(&found.files[i], None, msg)),
                FileTime::default(),
            )
        },
    );
    drop(later);
    let mut held = held.into_iter();
    let (mut pass1, mut pass1_times): (Vec<Result<FileSummary, AuditError>>, Vec<FileTime>) = first
        .into_iter()
        .map(|r| match r {
            Pass1::Done(done) => done,
            Pass1::Later(..) => held.next().expect("one result per deferred file"),
        })
        .unzip();
    timings.summarise = stage.elapsed();
    timings.peak_rss_kib[1] = peak_rss_kib();
    timings.files_summarised = found.files.len();

    // Which files cargo compiles, as what, and which packages run in a pod.
    let cargo_mode = !found.packages.is_empty();
    let roles = if cargo_mode {
        let decls: Vec<Option<&[crate::modtree::ModDecl]>> = pass1
            .iter()
            .map(|s| s.as_ref().ok().map(|s| s.mod_decls.as_slice()))
            .collect();
        let mut roles = crate::modtree::file_roles(&found.packages, &found.files, &decls);
        fallback_roles(found, &mut roles);
        // A file under `tests/` that a library or binary reaches (`#[path]`)
        // is production code after all: it is summarised in full.
        let production: Vec<usize> = (0..found.files.len())
            .filter(|&i| {
                modules_only(&found.files[i])
                    && roles[i].as_ref().is_some_and(|r| !r.test)
                    && pass1[i].is_ok()
            })
            .collect();
        let again = workers.map_fresh(
            &production,
            &AtomicUsize::new(0),
            |&i| summarise(&found.files[i], max_file_size, false, mentions),
            |&i, msg| {
                (
                    Err(file_error(&found.files[i], None, msg)),
                    FileTime::default(),
                )
            },
        );
        for (i, (r, t)) in production.into_iter().zip(again) {
            pass1[i] = r;
            pass1_times[i] = t;
        }
        roles
    } else {
        Vec::new()
    };
    let summaries: Vec<Option<&FileSummary>> = pass1.iter().map(|r| r.as_ref().ok()).collect();
    let (roles, packages, dev_bins) = if cargo_mode {
        let mut packages =
            crate::packages::classify(found, &roles, &summaries, settings.all_scopes);
        let dev_bins = if settings.all_scopes {
            Default::default()
        } else {
            crate::packages::dev_bins(found, &roles, &summaries)
        };
        for ((pi, bin), why) in &dev_bins {
            if let Some(p) = packages.get_mut(*pi).filter(|p| p.audited) {
                p.why
                    .push_str(&format!("; bin `{bin}` is {why}, not audited"));
            }
        }
        let dev_bins: std::collections::BTreeSet<(usize, String)> = dev_bins.into_keys().collect();
        (roles, packages, dev_bins)
    } else {
        (Vec::new(), Vec::new(), Default::default())
    };
    let (roles, mut packages, dev_bins) = (roles, packages, dev_bins);
    // Functions only non-serving subcommands (or developer tools) reach:
    // their findings are dropped below, unless every scope is audited.
    let tool_code = if cargo_mode && !settings.all_scopes {
        crate::toolcode::tool_code(found, &roles, &summaries, &packages, &dev_bins)
    } else {
        Default::default()
    };
    let audited_package = |i: usize, f: &SourceFile| {
        let in_dev_bin = roles.get(i).and_then(Option::as_ref).is_some_and(|r| {
            r.kind == crate::discover::TargetKind::Bin
                && f.package_index
                    .is_some_and(|p| dev_bins.contains(&(p, r.target.clone())))
        });
        !in_dev_bin
            && f.package_index
                .and_then(|i| packages.get(i))
                .is_none_or(|p| p.audited)
    };
    // `None`: not compiled by any target (cargo mode); else whether it is
    // test code as a whole.
    let file_test: Vec<Option<bool>> = found
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if !cargo_mode || f.package_index.is_none() {
                return Some(f.test_path);
            }
            roles[i].as_ref().map(|r| r.test)
        })
        .collect();
    let mut unreached_files = Vec::new();
    let mut audited = vec![false; found.files.len()];
    for (i, f) in found.files.iter().enumerate() {
        match file_test[i] {
            None => unreached_files.push(f.rel.clone()),
            Some(_) => audited[i] = audited_package(i, f),
        }
    }

    // Each file's module path: from the module tree, else from its folder.
    for (i, (f, r)) in found.files.iter().zip(pass1.iter_mut()).enumerate() {
        if let Ok(s) = r {
            s.module = match roles.get(i).and_then(Option::as_ref) {
                Some(role) => role.module.clone(),
                None => crate::modtree::module_from_path(
                    f.abs.strip_prefix(&f.package_root).unwrap_or(&f.abs),
                ),
            };
        }
    }
    let stage = Instant::now();
    timings.files_resummarised =
        resummarise_through_reexports(found, &mut pass1, &audited, workers, max_file_size);
    timings.resummarise = stage.elapsed();
    // Of each file, pass 2 needs only its module path and what the
    // prefilter reads; the summaries themselves go into the indexes, which
    // keep what the rules need of them (moved, not copied).
    let (pass1, summaries): (Vec<Result<FileFacts, AuditError>>, Vec<Option<FileSummary>>) = pass1
        .into_iter()
        .zip(&audited)
        .map(|(r, &ok)| match r {
            Ok(mut s) => {
                // Only the tool-code decision above reads them.
                s.item_mentions = Vec::new();
                for f in &mut s.functions {
                    f.mentions = Vec::new();
                    f.dispatch_arms = Vec::new();
                    f.ctor_calls = Vec::new();
                }
                let facts = FileFacts {
                    evidence: crate::prefilter::Evidence::of(&s),
                    module: s.module.clone(),
                };
                (Ok(facts), ok.then_some(s))
            }
            Err(e) => (Err(e), None),
        })
        .unzip();
    let indexes = build_indexes(found, summaries, workers);
    timings.index = stage.elapsed();
    timings.peak_rss_kib[2] = peak_rss_kib();

    // Pass 2: the rules, with the crate's index. A file that is test code
    // as a whole yields nothing unless tests are included: it is not read
    // again.
    let stage = Instant::now();
    let network_names: HashMap<&PathBuf, crate::prefilter::NetworkNames> = indexes
        .iter()
        .map(|(root, index)| (root, crate::prefilter::NetworkNames::of(index)))
        .collect();
    let jobs: Vec<(
        usize,
        &[String],
        bool,
        &CrateIndex,
        crate::prefilter::Evidence,
    )> = found
        .files
        .iter()
        .zip(&pass1)
        .zip(&file_test)
        .zip(&audited)
        .enumerate()
        .filter(|(_, (_, ok))| **ok)
        .filter_map(|(i, (((f, r), test), _))| {
            let s = r.as_ref().ok()?;
            let index = indexes.get(&f.package_root).unwrap_or(&empty_index);
            let test = test.unwrap_or(false);
            let whole_file_is_test = test || index.is_test_path(&f.abs);
            (include_tests || !whole_file_is_test).then_some((
                i,
                s.module.as_slice(),
                whole_file_is_test,
                index,
                s.evidence,
            ))
        })
        .collect();
    // Every file the audit covers, whether or not it could be parsed.
    let files_scanned = audited.iter().filter(|a| **a).count();
    let check_done = AtomicUsize::new(0);
    let check_done = if settings.streamed {
        // The count over the units is pass 1's.
        &check_done
    } else {
        progress.start(Progress::CHECK, jobs.len());
        &progress.done
    };
    let (pass2, pass2_times): (Vec<FileOutcome>, Vec<FileTime>) = workers
        .map_held(
            &jobs,
            |&(i, ..)| i,
            check_done,
            |&(i, module, test, index, evidence), held| {
                let f = &found.files[i];
                let t = Instant::now();
                let failed = |e| {
                    let outcome = FileOutcome {
                        error: Some(e),
                        ..Default::default()
                    };
                    (outcome, FileTime::default())
                };
                let names = network_names.get(&f.package_root).unwrap_or(&no_names);
                // From pass 1's words where the crate's names need no text.
                let known = prefilter
                    .as_ref()
                    .and_then(|p| p.rules_for_words(evidence, names));
                let rules_for = |text: &str| match (&known, &prefilter) {
                    (Some(rules), _) => rules.clone(),
                    (None, Some(p)) => p.rules_for(evidence, text, names),
                    (None, None) => vec![true; active.len()],
                };
                // A held tree passed the prefilter without the index's names,
                // so it passes with them.
                let mut _turn = None;
                let reused = held.is_some();
                let (tree, rules) = match held {
                    Some(tree) => {
                        let rules = rules_for(&tree.borrow_owner().text);
                        (tree, rules)
                    }
                    // Nothing to run, as pass 1's words tell: not read again.
                    None if known.as_ref().is_some_and(|r| !r.contains(&true)) => {
                        let time = FileTime {
                            read_parse: t.elapsed(),
                            ..Default::default()
                        };
                        return (FileOutcome::default(), time);
                    }
                    None => {
                        let text = match read_text(f, max_file_size) {
                            Ok(text) => text,
                            Err(e) => return failed(e),
                        };
                        let rules = rules_for(&text);
                        if !rules.contains(&true) {
                            let time = FileTime {
                                read_parse: t.elapsed(),
                                ..Default::default()
                            };
                            return (FileOutcome::default(), time);
                        }
                        _turn = big_file_turn(f);
                        match parse(&text) {
                            Ok(file) => (Tree::of(Source { text, file }), rules),
                            Err((pos, msg)) => return failed(file_error(f, pos, msg)),
                        }
                    }
                };
                let read_parse = t.elapsed();
                // Only the rules that can report anything in this file.
                let active: Vec<&(&'static dyn Rule, RuleConfig)> = active
                    .iter()
                    .zip(&rules)
                    .filter(|(_, run)| **run)
                    .map(|(r, _)| r)
                    .collect();
                let outcome = check_file(
                    f,
                    tree.parts(),
                    module,
                    test,
                    index,
                    &active,
                    include_tests,
                    include_reconnect,
                );
                let analyse = t.elapsed() - read_parse;
                (
                    outcome,
                    FileTime {
                        read_parse,
                        analyse,
                        checked: true,
                        reused,
                    },
                )
            },
            |&(i, ..), msg| {
                let outcome = FileOutcome {
                    error: Some(file_error(&found.files[i], None, msg)),
                    ..Default::default()
                };
                (outcome, FileTime::default())
            },
        )
        .into_iter()
        .unzip();
    workers.release();
    timings.check = stage.elapsed();
    timings.peak_rss_kib[3] = peak_rss_kib();
    timings.files_checked = pass2_times.iter().filter(|t| t.checked).count();
    timings.files_reused = pass2_times.iter().filter(|t| t.reused).count();
    let mut per_file: Vec<Duration> = pass1_times
        .iter()
        .map(|t| t.read_parse + t.analyse)
        .collect();
    for (&(i, ..), t) in jobs.iter().zip(&pass2_times) {
        per_file[i] += t.read_parse + t.analyse;
    }
    for (pass, times) in [&pass1_times, &pass2_times].into_iter().enumerate() {
        timings.read_parse_cpu[pass] = times.iter().map(|t| t.read_parse).sum();
        timings.analyse_cpu[pass] = times.iter().map(|t| t.analyse).sum();
    }
    let mut slowest: Vec<(usize, Duration)> = per_file.into_iter().enumerate().collect();
    slowest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    slowest.truncate(5);
    let job_files: Vec<usize> = jobs.iter().map(|&(i, ..)| i).collect();
    drop(jobs);
    // Findings in tool-only functions; the package says which and why.
    let mut pass2 = pass2;
    let mut dropped: BTreeSet<(usize, String, String)> = BTreeSet::new();
    for (&i, o) in job_files.iter().zip(pass2.iter_mut()) {
        o.findings.retain(|f| match tool_code.at(i, f.range.line) {
            Some(t) => {
                if let Some(pi) = found.files[i].package_index {
                    dropped.insert((pi, t.name.clone(), t.via.clone()));
                }
                false
            }
            None => true,
        });
    }
    for (pi, name, via) in dropped {
        if let Some(p) = packages.get_mut(pi) {
            p.why.push_str(&format!(
                "; `{name}` is reached only from {via}: not audited"
            ));
        }
    }

    let packages = packages
        .into_iter()
        .zip(&found.packages)
        .filter(|(_, p)| p.selected)
        .map(|(s, _)| s)
        .collect();
    let mut out = UnitOutcome {
        files_scanned,
        packages,
        unreached_files,
        slowest,
        timings,
        ..Default::default()
    };
    for (r, ok) in pass1.into_iter().zip(&audited) {
        match r {
            // A file of a skipped package, or one no target compiles, is not
            // audited: whether it parses is not this audit's business.
            Err(e) if *ok || !cargo_mode => out.errors.push(e),
            _ => {}
        }
    }
    for o in pass2 {
        out.findings.extend(o.findings);
        out.errors.extend(o.error);
        out.notes.extend(o.notes);
    }
    out
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
fn load(f: &SourceFile, max_file_size: u64) -> Result<(String, syn::File), AuditError> {
    let text = read_text(f, max_file_size)?;
    let file = parse(&text).map_err(|(pos, msg)| file_error(f, pos, msg))?;
    Ok((text, file))
}

/// Reads a file as UTF-8 text, or says why it cannot be analysed.
fn read_text(f: &SourceFile, max_file_size: u64) -> Result<String, AuditError> {
    use crate::safe_fs::{human_size, read_regular, ReadError};
    let bytes = read_regular(&f.abs, max_file_size).map_err(|e| {
        let message = match e {
            ReadError::TooLarge { size, limit } => format!(
                "larger than the {} limit ({size} bytes), likely generated; not analysed (raise `max-file-size` or --max-file-size to audit it)",
                human_size(limit)
            ),
            ReadError::NotRegular => "not a regular file; not analysed".to_string(),
            ReadError::Io(e) => format!("cannot read: {e}"),
        };
        file_error(f, None, message)
    })?;
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
    Ok(text)
}

/// Parses Rust source, refusing pathological depth before syn recurses into it.
pub fn parse(text: &str) -> Result<syn::File, (Option<(u32, u32)>, String)> {
    if text.as_bytes().contains(&0) {
        return Err((None, "contains NUL bytes; not a Rust source file".into()));
    }
    let syntax_error = |e: syn::Error| {
        let start = e.span().start();
        let pos = (start.line > 0).then_some((start.line as u32, start.column as u32 + 1));
        let lex_error = e.to_string() == "cannot parse string into token stream";
        // The lexer's own message names no cause; find the bracket or literal.
        match crate::source::delimiter_problem(text).filter(|_| lex_error) {
            Some((at, what)) => {
                let (line, column) = LineIndex::new(text).position(at);
                (Some((line, column)), format!("cannot parse: {what}"))
            }
            None if lex_error => (
                pos,
                "cannot parse: a token the Rust lexer rejects (a stray character, or an unterminated char literal)".into(),
            ),
            None => (pos, format!("cannot parse: {e}")),
        }
    };
    // Lexed once: the depth check and syn read the same tokens (what
    // `syn::parse_file` does, with the preamble blanked instead of cut).
    let tokens: proc_macro2::TokenStream = blank_preamble(text)
        .parse()
        .map_err(|e: proc_macro2::LexError| syntax_error(e.into()))?;
    let shape = token_shape(&tokens, MAX_NESTING, TABLE_TOKENS);
    if let Some(line) = shape.too_deep {
        return Err((Some((line, 1)), format!("nested deeper than {MAX_NESTING} levels or a statement longer than {} tokens; not analysed", crate::source::MAX_STATEMENT_TOKENS)));
    }
    let tokens = if shape.has_table {
        without_literal_tables(tokens)
    } else {
        tokens
    };
    syn::parse2::<syn::File>(tokens).map_err(syntax_error)
}

/// A `[...]` with more tokens than this at its own level is a data table
/// (Unicode ranges, dictionaries, lookup tables in generated code): no
/// rule reads its elements, and its syntax tree would be ~150 times its
/// text (a 2.5 MB table is ~300 MB of tree, more than the rest of an audit
/// of 10,000 files). It is parsed as `[]`, its span kept.
const TABLE_TOKENS: usize = 4096;

/// `tokens` with every data table emptied (see [`TABLE_TOKENS`]); the same
/// stream, unchanged, when it has none.
fn without_literal_tables(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
    /// The stream with its tables emptied, in one walk; `None` when it has
    /// none (the caller keeps what it had).
    fn emptied(tokens: &TokenStream) -> Option<TokenStream> {
        let mut changed = false;
        let out: Vec<TokenTree> = tokens
            .clone()
            .into_iter()
            .map(|t| match t {
                TokenTree::Group(g) => {
                    let stream = g.stream();
                    let table = g.delimiter() == Delimiter::Bracket
                        && stream.clone().into_iter().count() > TABLE_TOKENS;
                    let inner = if table {
                        Some(TokenStream::new())
                    } else {
                        emptied(&stream)
                    };
                    match inner {
                        Some(inner) => {
                            changed = true;
                            let mut g2 = Group::new(g.delimiter(), inner);
                            g2.set_span(g.span());
                            TokenTree::Group(g2)
                        }
                        None => TokenTree::Group(g),
                    }
                }
                t => t,
            })
            .collect();
        changed.then(|| out.into_iter().collect())
    }
    emptied(&tokens).unwrap_or(tokens)
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

/// A file's pass 1: done, or its text, to be summarised by a thread that
/// holds its tree.
// Most files are `Done`, and their results are unboxed in the end anyway.
#[allow(clippy::large_enum_variant)]
enum Pass1 {
    Done((Result<FileSummary, AuditError>, FileTime)),
    Later(std::sync::Mutex<String>, Option<crate::prefilter::Words>),
}

/// `summary` with the prefilter's words of its text.
fn with_words(
    mut summary: (Result<FileSummary, AuditError>, FileTime),
    words: Option<crate::prefilter::Words>,
) -> (Result<FileSummary, AuditError>, FileTime) {
    if let Ok(s) = &mut summary.0 {
        s.prefilter_words = words;
    }
    summary
}

/// Reads, parses and summarises `f` (with `modules_only`, only its `mod`
/// declarations).
fn summarise(
    f: &SourceFile,
    max_file_size: u64,
    modules_only: bool,
    mentions: bool,
) -> (Result<FileSummary, AuditError>, FileTime) {
    let t = Instant::now();
    let text = match read_text(f, max_file_size) {
        Ok(text) => text,
        Err(e) => return (Err(e), FileTime::default()),
    };
    if modules_only {
        let _turn = big_file_turn(f);
        let summary =
            FileSummary::modules_only(&text, &f.abs).map_err(|(pos, msg)| file_error(f, pos, msg));
        let time = FileTime {
            read_parse: t.elapsed(),
            ..Default::default()
        };
        return (summary, time);
    }
    summarise_text(f, text, t, None, mentions)
}

/// Parses and summarises `f`'s text (read since `t`). With `hold`, its tree
/// is kept on this thread under that key for pass 2.
fn summarise_text(
    f: &SourceFile,
    text: String,
    t: Instant,
    hold: Option<usize>,
    mentions: bool,
) -> (Result<FileSummary, AuditError>, FileTime) {
    let _turn = big_file_turn(f);
    let file = match parse(&text) {
        Ok(file) => file,
        Err((pos, msg)) => return (Err(file_error(f, pos, msg)), FileTime::default()),
    };
    let read_parse = t.elapsed();
    // A tree held for pass 2 keeps the parts its summary was built from.
    let (mut summary, tree) = match hold {
        Some(_) => {
            let tree = Tree::of(Source { text, file });
            let summary = FileSummary::build_from(tree.parts(), &f.abs, Vec::new(), mentions);
            (summary, Some(tree))
        }
        None => (
            FileSummary::build_full(&file, &f.abs, &text, Vec::new(), mentions),
            None,
        ),
    };
    summary.rel_path = f.rel.clone();
    if f.test_path {
        // Values assigned in test files never feed a production finding.
        summary.field_values.clear();
        summary.consts.clear();
        summary.value_lines.clear();
    }
    if let (Some(key), Some(tree)) = (hold, tree) {
        crate::workers::hold(key, tree);
    }
    let analyse = t.elapsed() - read_parse;
    (
        Ok(summary),
        FileTime {
            read_parse,
            analyse,
            checked: false,
            reused: false,
        },
    )
}

#[derive(Default)]
struct FileOutcome {
    findings: Vec<Finding>,
    notes: Vec<SuppressionNote>,
    error: Option<AuditError>,
}

#[allow(clippy::too_many_arguments)]
fn check_file(
    f: &SourceFile,
    parts: &crate::analysis::FileParts<'_>,
    module: &[String],
    whole_file_is_test: bool,
    index: &CrateIndex,
    active: &[&(&'static dyn Rule, RuleConfig)],
    include_tests: bool,
    include_reconnect: bool,
) -> FileOutcome {
    if whole_file_is_test && !include_tests {
        return FileOutcome::default();
    }
    let (file, text) = (parts.file, parts.lines.text());
    let _spans = crate::source::SpanText::enter(&parts.lines);
    let suppressions = Suppressions::parse(text, &f.rel, &|id| rules::lookup(id).is_some());
    let mut cx = FileCtx::new(parts, &f.rel, index);
    cx.include_reconnect = include_reconnect;
    cx.module = module.to_vec();
    let regions: &[std::ops::Range<usize>] = if include_tests {
        &[]
    } else {
        cx.test_regions()
    };
    let mut findings = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::default();
    let item_paths = std::cell::OnceCell::new();
    for &(rule, ref rc) in active {
        let meta = rule.meta();
        let mut out = Vec::new();
        rule.check(&cx, rc, &mut out);
        for mut v in out {
            let start = v.range.byte_start as usize;
            // Client policy towards a public domain is egress: the mesh
            // governs it only through a ServiceEntry, so it is `info` unless
            // the rule's `external` option raises it.
            let external = meta.category == rules::Category::Resilience
                && v.values.get("host").is_some_and(|h| {
                    crate::analysis::net::reach(h) == crate::analysis::net::Reach::External
                });
            if external {
                v.values.insert("destination".into(), "external".into());
            }
            if regions.iter().any(|r| r.contains(&start)) {
                continue;
            }
            if suppressions.allows(meta.id, v.range.line) {
                continue;
            }
            // Rule, file, enclosing item and normalised code, plus an
            // occurrence index for identical snippets in one item: stable
            // across edits above the finding and re-formatting.
            let code = text
                .get(v.range.byte_start as usize..v.range.byte_end as usize)
                .unwrap_or("");
            let item = item_paths
                .get_or_init(|| crate::fingerprint::ItemPaths::new(file))
                .at(start);
            let normalised = crate::fingerprint::normalised_code(code);
            let key = format!("{}\0{}\0{item}\0{normalised}", meta.id, f.rel);
            let nth = seen.entry(key.clone()).or_insert(0);
            *nth += 1;
            findings.push(Finding {
                rule: meta.id,
                severity: if external {
                    rc.external.unwrap_or(mesh_audit_model::Severity::Info)
                } else {
                    rc.severity.unwrap_or(meta.severity)
                },
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
    FileOutcome {
        findings,
        notes: suppressions.notes,
        error: None,
    }
}

/// Files whose crate depends on a workspace crate that re-exports another
/// crate's items (`pub use reqwest;`) are summarised again, reading paths
/// through those re-exports, so that `my_http::reqwest::Client` is known to
/// be reqwest's before the index is joined. Only those packages pay for it.
fn resummarise_through_reexports(
    found: &crate::discover::Discovered,
    pass1: &mut [Result<FileSummary, AuditError>],
    audited: &[bool],
    workers: &Workers,
    max_file_size: u64,
) -> usize {
    let n = found.packages.len();
    if n == 0 {
        return 0;
    }
    // Each package's external re-exports, keyed as its dependents write them.
    let mut own: Vec<Vec<(Vec<String>, Vec<String>)>> = vec![Vec::new(); n];
    for (f, r) in found.files.iter().zip(pass1.iter()) {
        let (Some(i), Ok(s)) = (f.package_index, r) else {
            continue;
        };
        for (key, target) in &s.reexports {
            if matches!(
                target.first().map(String::as_str),
                Some("crate" | "self" | "super") | None
            ) {
                continue;
            }
            // `pub use file::Blob;` beside `mod file;` names the crate's own
            // module (a 2018 uniform path), not another crate.
            let inline = &key[..key.len().saturating_sub(1)];
            let own_module = s.mod_decls.iter().any(|d| {
                d.module.len() == inline.len() + 1
                    && d.module.starts_with(inline)
                    && d.module.last() == target.first()
            });
            if own_module {
                continue;
            }
            own[i].push((
                [s.module.as_slice(), key.as_slice()].concat(),
                target.clone(),
            ));
        }
    }
    let by_name = found.package_indexes();
    let seen_by: Vec<Vec<(Vec<String>, Vec<String>)>> = found
        .packages
        .iter()
        .map(|p| {
            p.member_deps
                .iter()
                .filter_map(|d| Some((d, *by_name.get(d.package.as_str())?)))
                .flat_map(|(d, j)| {
                    own[j].iter().map(move |(k, t)| {
                        (
                            [std::slice::from_ref(&d.extern_name), k.as_slice()].concat(),
                            t.clone(),
                        )
                    })
                })
                .collect()
        })
        .collect();
    let redo: Vec<usize> = found
        .files
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            let (Some(p), true, Ok(s)) = (f.package_index, audited[*i], &pass1[*i]) else {
                return false;
            };
            // Only files that write a path through a re-exporting crate.
            seen_by[p].iter().any(|(k, _)| {
                let [root, second, ..] = &k[..] else {
                    return false;
                };
                let pair = format!("{root}::{second}");
                let glob = format!("{root}::*");
                s.path_roots.iter().any(|r| *r == pair || *r == glob)
            })
        })
        .map(|(i, _)| i)
        .collect();
    if redo.is_empty() {
        return 0;
    }
    let count = redo.len();
    let again = workers.map_fresh(
        &redo,
        &AtomicUsize::new(0),
        |&i| {
            let f = &found.files[i];
            let (text, file) = load(f, max_file_size)?;
            let list = seen_by[f.package_index.unwrap_or_default()].clone();
            let mut summary = FileSummary::build_with_reexports(&file, &f.abs, &text, list);
            summary.rel_path = f.rel.clone();
            Ok(summary)
        },
        |&i, msg| Err(file_error(&found.files[i], None, msg)),
    );
    for (i, r) in redo.into_iter().zip(again) {
        if let (Ok(new), Ok(old)) = (r, &mut pass1[i]) {
            let module = std::mem::take(&mut old.module);
            *old = new;
            old.module = module;
        }
    }
    count
}

/// One index per package, dependencies first, so that a crate sees the
/// networking functions and re-exports of the workspace crates it uses;
/// then closures passed across crates go to the crate that defines the
/// function taking them.
fn build_indexes(
    found: &crate::discover::Discovered,
    summaries: Vec<Option<FileSummary>>,
    workers: &Workers,
) -> HashMap<PathBuf, CrateIndex> {
    // Files that `#[cfg(test)] mod x;` pulls in are test code: their struct
    // literals, consts and call arguments must neither give a production
    // value nor make one ambiguous.
    let test_modules: rustc_hash::FxHashSet<PathBuf> = summaries
        .iter()
        .flatten()
        .flat_map(|s| s.test_module_paths.iter().cloned())
        .collect();
    let mut groups: HashMap<PathBuf, (Option<usize>, Vec<FileSummary>)> = HashMap::default();
    for (f, s) in found.files.iter().zip(summaries) {
        if let Some(s) = s {
            let s = if f.abs.ancestors().any(|p| test_modules.contains(p)) {
                s.without_values()
            } else {
                s
            };
            let g = groups
                .entry(f.package_root.clone())
                .or_insert((f.package_index, Vec::new()));
            g.1.push(s);
        }
    }
    let n = found.packages.len();
    let by_name = found.package_indexes();
    let normal_deps = |i: usize| -> Vec<(String, usize)> {
        found.packages[i]
            .member_deps
            .iter()
            .filter(|d| d.kind != crate::discover::DepKind::Dev)
            .filter_map(|d| Some((d.extern_name.clone(), *by_name.get(d.package.as_str())?)))
            .collect()
    };
    // Dependencies first (depth-first post-order over normal dependencies).
    let mut order = Vec::with_capacity(n);
    let mut state = vec![0u8; n];
    for start in 0..n {
        let mut stack = vec![(start, false)];
        while let Some((i, done)) = stack.pop() {
            if done {
                if state[i] != 2 {
                    state[i] = 2;
                    order.push(i);
                }
                continue;
            }
            if state[i] != 0 {
                continue;
            }
            state[i] = 1;
            stack.push((i, true));
            for (_, j) in normal_deps(i) {
                if state[j] == 0 {
                    stack.push((j, false));
                }
            }
        }
    }
    let mut by_package: Vec<Option<CrateIndex>> = (0..n).map(|_| None).collect();
    let mut out: HashMap<PathBuf, CrateIndex> = HashMap::default();
    let root_of: HashMap<usize, PathBuf> = groups
        .iter()
        .filter_map(|(root, (i, _))| Some(((*i)?, root.clone())))
        .collect();
    // A package is built after its dependencies; the packages of one depth
    // (every dependency built) are built side by side.
    let mut depth = vec![0usize; n];
    for &i in &order {
        depth[i] = normal_deps(i)
            .iter()
            .map(|&(_, j)| depth[j] + 1)
            .max()
            .unwrap_or(0);
    }
    let deepest = depth.iter().copied().max().unwrap_or(0);
    for d in 0..=deepest {
        #[allow(clippy::type_complexity)]
        let round: Vec<(usize, std::sync::Mutex<Vec<FileSummary>>)> = order
            .iter()
            .filter(|&&i| depth[i] == d)
            .filter_map(|&i| {
                let summaries = std::mem::take(&mut groups.get_mut(root_of.get(&i)?)?.1);
                Some((i, std::sync::Mutex::new(summaries)))
            })
            .collect();
        let built = workers.map(
            &round,
            &AtomicUsize::new(0),
            |(i, summaries)| {
                let summaries =
                    std::mem::take(&mut *summaries.lock().unwrap_or_else(|e| e.into_inner()));
                let deps: Vec<(String, &CrateIndex)> = normal_deps(*i)
                    .into_iter()
                    .filter_map(|(name, j)| Some((name, by_package[j].as_ref()?)))
                    .collect();
                let self_name = found.packages[*i].lib_crate_name();
                CrateIndex::build_with_deps(summaries, &deps, self_name.as_deref())
            },
            |_, _| CrateIndex::default(),
        );
        for ((i, _), index) in round.iter().zip(built) {
            by_package[*i] = Some(index);
        }
    }
    for i in 0..n {
        for (name, j) in normal_deps(i) {
            let passed = by_package[i]
                .as_ref()
                .map(|idx| idx.closures_for(&name))
                .unwrap_or_default();
            if let Some(dep) = by_package[j].as_mut() {
                for (module, f, net) in passed {
                    dep.add_foreign_closure(module, f, net);
                }
            }
        }
    }
    for (i, index) in by_package.into_iter().enumerate() {
        if let (Some(index), Some(root)) = (index, root_of.get(&i)) {
            out.insert(root.clone(), index);
        }
    }
    // Path mode, and files outside any package.
    #[allow(clippy::type_complexity)]
    let loose: Vec<(PathBuf, std::sync::Mutex<Vec<FileSummary>>)> = groups
        .into_iter()
        .filter(|(_, (i, _))| i.is_none())
        .map(|(root, (_, summaries))| (root, std::sync::Mutex::new(summaries)))
        .collect();
    let built = workers.map(
        &loose,
        &AtomicUsize::new(0),
        |(_, summaries)| {
            CrateIndex::build(std::mem::take(
                &mut *summaries.lock().unwrap_or_else(|e| e.into_inner()),
            ))
        },
        |_, _| CrateIndex::default(),
    );
    for ((root, _), index) in loose.into_iter().zip(built) {
        out.insert(root, index);
    }
    out
}

/// Packages whose targets reach none of their files (a target's source
/// outside the walk, or excluded): audit their files as the folder layout
/// says rather than drop the package.
fn fallback_roles(
    found: &crate::discover::Discovered,
    roles: &mut [Option<crate::modtree::FileRole>],
) {
    let mut reached = vec![false; found.packages.len()];
    for (f, r) in found.files.iter().zip(roles.iter()) {
        if let (Some(i), Some(_)) = (f.package_index, r) {
            reached[i] = true;
        }
    }
    for (f, r) in found.files.iter().zip(roles.iter_mut()) {
        let Some(i) = f.package_index else { continue };
        if !reached[i] && r.is_none() {
            let rel = f.abs.strip_prefix(&f.package_root).unwrap_or(&f.abs);
            *r = Some(crate::modtree::FileRole {
                target: String::new(),
                kind: if f.test_path {
                    crate::discover::TargetKind::Test
                } else {
                    crate::discover::TargetKind::Lib
                },
                module: crate::modtree::module_from_path(rel),
                test: f.test_path,
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_tables_are_parsed_empty_and_lines_stay_right() {
        let table: String = (0..TABLE_TOKENS).map(|i| format!("{i},\n")).collect();
        let text = format!(
            "pub static TABLE: [u32; {n}] = [\n{table}];\nconst SMALL: [u8; 3] = [1, 2, 3];\nfn after() {{ let t = TIMEOUT; }}\n",
            n = TABLE_TOKENS / 2
        );
        let file = parse(&text).expect("parses");
        let syn::Item::Static(table) = &file.items[0] else {
            panic!("a static first");
        };
        assert!(matches!(&*table.expr, syn::Expr::Array(a) if a.elems.is_empty()));
        let syn::Item::Const(small) = &file.items[1] else {
            panic!("a const second");
        };
        assert!(matches!(&*small.expr, syn::Expr::Array(a) if a.elems.len() == 3));
        let syn::Item::Fn(after) = &file.items[2] else {
            panic!("a fn third");
        };
        // The static's line, one per element, the closing line, SMALL's.
        let expected_line = 1 + TABLE_TOKENS + 1 + 1 + 1;
        assert_eq!(after.sig.ident.span().start().line, expected_line);
    }

    #[test]
    fn tables_inside_items_are_emptied_too() {
        let table: String = (0..TABLE_TOKENS).map(|i| format!("{i}, ")).collect();
        let text = format!(
            "mod data {{ fn f() -> Vec<u32> {{ vec![{table}] }} pub const N: usize = 1; }}"
        );
        let file = parse(&text).expect("parses");
        let syn::Item::Mod(m) = &file.items[0] else {
            panic!("a module");
        };
        let (_, items) = m.content.as_ref().expect("inline");
        let syn::Item::Fn(f) = &items[0] else {
            panic!("a fn");
        };
        let syn::Stmt::Expr(syn::Expr::Macro(mac), _) = &f.block.stmts[0] else {
            panic!("vec!");
        };
        assert!(mac.mac.tokens.is_empty());
        assert_eq!(items.len(), 2);
    }
}
