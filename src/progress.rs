//! What the user sees while an audit runs: a progress line on stderr for
//! runs longer than a second, and the `--timings` table.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mesh_audit::{Progress, Timings};

/// A run shorter than this prints no progress at all.
const QUIET_START: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);

/// Runs `work`, drawing `progress` on stderr meanwhile when `show` (stderr
/// is a terminal and `-q` was not given). The line is erased before
/// `work`'s result is returned, so nothing of it is left in the output.
pub fn while_running<R>(show: bool, progress: &Progress, work: impl FnOnce() -> R) -> R {
    if !show {
        return work();
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|s| {
        let drawer = s.spawn(|| draw_until(&finished, progress));
        let result = work();
        finished.store(true, Ordering::Relaxed);
        let _ = drawer.join();
        result
    })
}

fn draw_until(finished: &AtomicBool, progress: &Progress) {
    let started = Instant::now();
    let mut drew = false;
    while !finished.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        if started.elapsed() < QUIET_START || finished.load(Ordering::Relaxed) {
            continue;
        }
        let done = progress.done.load(Ordering::Relaxed);
        let total = progress.total.load(Ordering::Relaxed);
        let line = match progress.stage.load(Ordering::Relaxed) {
            Progress::SUMMARISE => format!("indexing {done}/{total} files"),
            Progress::CHECK => format!("checking {done}/{total} files"),
            _ => "discovering files".to_string(),
        };
        // `\r` and clear-to-end-of-line: one line, redrawn in place.
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        drew = true;
    }
    if drew {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// The `--timings` report: stage times, then the five slowest files.
pub fn timings(t: &Timings, render: Duration) -> String {
    let secs = |d: Duration| format!("{:8.3} s", d.as_secs_f64());
    let total = t.discover + t.reach + t.summarise + t.index + t.check + render;
    let mut out = format!(
        "timings ({} thread{}; wall-clock, with time summed over threads in brackets)\n",
        t.threads,
        if t.threads == 1 { "" } else { "s" }
    );
    out.push_str(&format!("  discover  {}\n", secs(t.discover)));
    out.push_str(&format!(
        "  reach     {}  {} file{} of crates that reach no network, not parsed\n",
        secs(t.reach),
        t.files_unreached,
        if t.files_unreached == 1 { "" } else { "s" }
    ));
    out.push_str(&format!(
        "  index     {}  pass 1, {} files: read + parse [{}], summarise [{}], join [{}]\n",
        secs(t.summarise + t.index),
        t.files_summarised,
        secs(t.read_parse_cpu[0]).trim(),
        secs(t.analyse_cpu[0]).trim(),
        secs(t.index).trim(),
    ));
    if t.files_resummarised > 0 {
        out.push_str(&format!(
            "            {}  of which {} files summarised again through re-exports\n",
            secs(t.resummarise),
            t.files_resummarised
        ));
    }
    out.push_str(&format!(
        "  rules     {}  pass 2, {} files ({} trees kept from pass 1): read + parse [{}], rules [{}]\n",
        secs(t.check),
        t.files_checked,
        t.files_reused,
        secs(t.read_parse_cpu[1]).trim(),
        secs(t.analyse_cpu[1]).trim(),
    ));
    out.push_str(&format!("  render    {}\n", secs(render)));
    out.push_str(&format!("  total     {}\n", secs(total)));
    if let [Some(d), Some(p1), Some(ix), Some(p2)] = t.peak_rss_kib {
        let mib = |k: u64| k / 1024;
        out.push_str(&format!(
            "peak memory after discover {} MiB, pass 1 {} MiB, index {} MiB, pass 2 {} MiB\n",
            mib(d),
            mib(p1),
            mib(ix),
            mib(p2)
        ));
    }
    if !t.slowest.is_empty() {
        out.push_str("slowest files (both passes):\n");
        for (file, d) in &t.slowest {
            out.push_str(&format!("  {:8.1} ms  {file}\n", d.as_secs_f64() * 1000.0));
        }
    }
    out
}
