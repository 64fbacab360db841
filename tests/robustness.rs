//! Generated inputs through the whole pipeline (discover, both passes,
//! rules, JSON): the rule fixtures, mutated the ways real repositories and
//! editors mangle files (truncated mid-token, bytes flipped, huge literals,
//! deep nesting, long lines and method chains, odd Unicode, CRLF, a BOM).
//! For every case: no panic (not even one the engine turned into a file
//! error), findings only on lines the file has, and JSON that parses back.
//! Work is measured as a count of heap allocations and bytes, not time:
//! doubling an input must not quadruple it.
//!
//! CI runs `CASES` cases; `MESH_AUDIT_ROBUSTNESS_CASES=N` runs more, and
//! `MESH_AUDIT_ROBUSTNESS_SEED` picks another sequence.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use mesh_audit::{AuditOptions, Target};

/// Cases in the normal test suite.
const CASES: usize = 256;

/// Counts every allocation of the process: the work measure.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: as `alloc`; `ptr` and `layout` come from it.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocation counters are process-wide: the tests of this file run
/// one at a time so that a measurement sees only its own audit.
static SERIAL: Mutex<()> = Mutex::new(());

/// xorshift64: deterministic, so a failing case reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixture_sources() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("fixtures folder").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push((p.clone(), std::fs::read(&p).expect("fixture")));
            }
        }
    }
    out.sort();
    assert!(out.len() > 20, "fixtures not found");
    out
}

const ODD_UNICODE: &[&str] = &[
    "\u{202e}",          // right-to-left override
    "\u{200b}",          // zero-width space
    "e\u{301}",          // combining accent
    "\u{1f980}",         // emoji (4-byte UTF-8)
    "\u{17f}",           // long s: folds to `s` in some case mappings
    "\u{2028}",          // line separator, not a Rust newline
    "\u{130}",           // dotted capital I: lowercases to two chars
    "\u{feff}",          // BOM in the middle
    "r#\"\u{10ffff}\"#", // highest code point in a raw string
    "'\u{1f980}'",       // 4-byte char literal
    "\"\\u{110000}\"",   // escape out of range
    "\u{fb01}",          // ligature
];

/// One mutation of `src`, named for the failure message.
fn mutate(src: &[u8], rng: &mut Rng) -> (&'static str, Vec<u8>) {
    match rng.below(12) {
        0 => ("truncated", src[..rng.below(src.len() + 1)].to_vec()),
        1 => {
            let mut s = src.to_vec();
            for _ in 0..1 + rng.below(8) {
                if !s.is_empty() {
                    let i = rng.below(s.len());
                    s[i] ^= 1 << rng.below(8);
                }
            }
            ("bytes flipped", s)
        }
        2 => {
            let n = 1 << (10 + rng.below(11)); // 1 KiB to 1 MiB
            let lit = format!(
                "\nconst HUGE: &str = \"{}\";\nstatic N: u128 = {};\n",
                "x".repeat(n),
                "9".repeat(n.min(4096))
            );
            ("huge literal", splice_line(src, rng, lit.as_bytes()))
        }
        3 => {
            let depth = 50 + rng.below(400);
            let (open, close) = [("(", ")"), ("[", "]"), ("{", "}")][rng.below(3)];
            let body = format!(
                "\nfn deep() {{ let _ = {}1{}; }}\n",
                open.repeat(depth),
                close.repeat(depth)
            );
            ("deep nesting", splice_line(src, rng, body.as_bytes()))
        }
        4 => {
            let line = format!(
                "\nfn wide() {{ let _ = [{}]; }}\n",
                "1, ".repeat(5_000 + rng.below(50_000))
            );
            ("long line", splice_line(src, rng, line.as_bytes()))
        }
        5 => {
            let chain = format!(
                "\nasync fn chain(c: reqwest::Client) {{ let _ = c.get(\"http://a:1\"){}.send().await; }}\n",
                ".header(\"a\", \"b\")".repeat(100 + rng.below(3_000))
            );
            ("long method chain", splice_line(src, rng, chain.as_bytes()))
        }
        6 => {
            let mut s = src.to_vec();
            for _ in 0..1 + rng.below(6) {
                let u = ODD_UNICODE[rng.below(ODD_UNICODE.len())].as_bytes();
                let i = char_boundary(&s, rng.below(s.len() + 1));
                s.splice(i..i, u.iter().copied());
            }
            ("odd unicode", s)
        }
        7 => {
            let text = String::from_utf8_lossy(src).replace('\n', "\r\n");
            ("crlf", text.into_bytes())
        }
        8 => {
            let mut s = "\u{feff}".as_bytes().to_vec();
            s.extend_from_slice(src);
            ("bom", s)
        }
        9 => {
            // A shebang, and lone `\r` line ends as old editors save them.
            let mut s = b"#!/usr/bin/env run-cargo-script\r".to_vec();
            s.extend(src.iter().map(|&b| if b == b'\n' { b'\r' } else { b }));
            ("cr only", s)
        }
        10 => {
            // The same file many times over: many items, many findings.
            let n = 2 + rng.below(20);
            let mut s = Vec::new();
            for i in 0..n {
                s.extend_from_slice(format!("mod copy{i} {{\n").as_bytes());
                s.extend_from_slice(src);
                s.extend_from_slice(b"\n}\n");
            }
            ("repeated", s)
        }
        _ => {
            let (_, once) = mutate(src, rng);
            let (_, twice) = mutate(&once, rng);
            ("two mutations", twice)
        }
    }
}

fn char_boundary(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && (s[i] & 0xc0) == 0x80 {
        i += 1;
    }
    i.min(s.len())
}

/// Inserts `what` at the start of a random line.
fn splice_line(src: &[u8], rng: &mut Rng, what: &[u8]) -> Vec<u8> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            src.iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let i = starts[rng.below(starts.len())];
    let mut s = src.to_vec();
    s.splice(i..i, what.iter().copied());
    s
}

/// Lines of `bytes` as an editor counts them (`\n`; a last line without one).
fn line_count(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1
}

/// Audits one file in a fresh folder on one thread; returns the JSON too.
fn audit_one(bytes: &[u8]) -> (mesh_audit::Report, String) {
    audit_one_with(bytes, false)
}

/// [`audit_one`]; with `every_file`, as `--no-prefilter`: the file is
/// parsed even when a mutation took away every network crate it named
/// (`mesh_audit::reach` would skip it otherwise).
fn audit_one_with(bytes: &[u8], every_file: bool) -> (mesh_audit::Report, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("src/main.rs"), bytes).expect("write");
    let opts = AuditOptions {
        threads: 1,
        no_prefilter: every_file,
        ..Default::default()
    };
    let (report, _) = mesh_audit::audit(&Target::Paths(vec![dir.path().to_path_buf()]), &opts)
        .expect("the audit of one file runs");
    let tool = mesh_audit_render::Tool {
        name: "cargo-mesh-audit",
        version: "0",
    };
    let json = mesh_audit_render::render_json(&report, tool);
    (report, json)
}

fn check_case(label: &str, bytes: &[u8]) {
    // With the prefilters (the lexer of `reach` sees the bytes) and
    // without (the parser and every rule see them).
    for every_file in [false, true] {
        check_report(label, bytes, audit_one_with(bytes, every_file));
    }
}

fn check_report(label: &str, bytes: &[u8], (report, json): (mesh_audit::Report, String)) {
    for e in &report.errors {
        assert!(
            !e.message.contains("internal error"),
            "{label}: a panic was caught: {}",
            e.message
        );
    }
    let lines = line_count(bytes);
    for f in &report.findings {
        assert!(
            f.range.line >= 1
                && f.range.line <= lines
                && f.range.end_line >= f.range.line
                && f.range.end_line <= lines
                && f.range.byte_start <= f.range.byte_end
                && f.range.byte_end as usize <= bytes.len(),
            "{label}: {} at {}:{} outside the file's {lines} lines / {} bytes",
            f.rule,
            f.range.line,
            f.range.column,
            bytes.len()
        );
    }
    let back: serde_json::Value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{label}: the JSON does not parse back: {e}"));
    assert_eq!(
        back["findings"].as_array().map(Vec::len),
        Some(report.findings.len()),
        "{label}"
    );
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

#[test]
fn mutated_fixtures_never_panic_and_stay_in_the_file() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sources = fixture_sources();
    let cases = env_u64("MESH_AUDIT_ROBUSTNESS_CASES").map_or(CASES, |n| n as usize);
    let seed = env_u64("MESH_AUDIT_ROBUSTNESS_SEED").unwrap_or(0x5eed_cafe_f00d);
    let mut rng = Rng(seed | 1);
    for case in 0..cases {
        let (path, src) = &sources[rng.below(sources.len())];
        let case_seed = rng.next() | 1;
        let (what, bytes) = mutate(src, &mut Rng(case_seed));
        let label = format!(
            "case {case} ({what} {}, seed {case_seed:#x})",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        check_case(&label, &bytes);
    }
}

/// Allocations and bytes allocated while auditing one file.
fn work(bytes: &[u8]) -> (u64, u64) {
    let (a0, b0) = (
        ALLOCATIONS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let _ = audit_one(bytes);
    (
        ALLOCATIONS.load(Ordering::Relaxed) - a0,
        BYTES.load(Ordering::Relaxed) - b0,
    )
}

/// A file that grows in one dimension; `n` is its size in that dimension.
fn grown(shape: &str, n: usize) -> String {
    let head = "use reqwest::Client;\nuse std::time::Duration;\n";
    let mut s = head.to_string();
    match shape {
        "functions" => {
            for i in 0..n {
                s.push_str(&format!(
                    "async fn f{i}(c: &Client) {{ for _ in 0..3 {{ if c.get(\"http://svc{i}:80/\").send().await.is_ok() {{ break; }} tokio::time::sleep(Duration::from_millis({i})).await; }} }}\n"
                ));
            }
        }
        "method chain" => s.push_str(&format!(
            "async fn f(c: Client) {{ let _ = c.get(\"http://a:1\"){}.timeout(Duration::from_secs(1)).send().await; }}\n",
            ".header(\"a\", \"b\")".repeat(n)
        )),
        "nesting" => s.push_str(&format!(
            "async fn f(c: Client) {{ {} let _ = c.get(\"http://a:1\").send().await; {} }}\n",
            "loop { if true { ".repeat(n),
            "} }".repeat(n)
        )),
        "long line" => s.push_str(&format!(
            "const XS: [u32; {n}] = [{}];\nfn main() {{ let _ = std::net::TcpListener::bind(\"127.0.0.1:0\"); }}\n",
            "1, ".repeat(n)
        )),
        "macros" => {
            s.push_str("async fn f(c: Client) {\n");
            for i in 0..n {
                s.push_str(&format!(
                    "    tokio::select! {{ _ = c.get(format!(\"http://a:{{}}\", {i})).send() => {{}}, _ = tokio::time::sleep(Duration::from_secs({i})) => {{}} }}\n"
                ));
            }
            s.push_str("}\n");
        }
        "statements" => {
            s.push_str("async fn f(c: Client) {\n");
            for i in 0..n {
                s.push_str(&format!(
                    "    let r{i} = c.get(\"http://a:1\").timeout(Duration::from_millis({i})).send().await;\n"
                ));
            }
            s.push_str("}\n");
        }
        _ => unreachable!("no shape {shape}"),
    }
    s
}

#[test]
fn doubling_an_input_does_not_quadruple_the_work() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The fixed cost of one audit (threads, discovery, configuration) is
    // measured on an empty file and taken off: the ratio is the file's own.
    let (base_allocs, base_bytes) = work(b"");
    // Nesting is the one dimension allowed to cost more per level (each
    // loop's analysis looks at the loops inside it): the nesting limit
    // bounds it, so the deepest file that is analysed at all is measured.
    let (deep_allocs, _) = work(grown("nesting", 120).as_bytes());
    eprintln!("nesting 120 deep: {deep_allocs} allocations");
    assert!(
        deep_allocs < 5_000_000,
        "{deep_allocs} allocations for the deepest nesting analysed"
    );
    for (shape, n) in [
        ("functions", 100),
        ("method chain", 500),
        ("long line", 20_000),
        ("macros", 100),
        ("statements", 200),
    ] {
        let (a1, b1) = work(grown(shape, n).as_bytes());
        let (a2, b2) = work(grown(shape, 2 * n).as_bytes());
        let (a1, a2) = (
            a1.saturating_sub(base_allocs),
            a2.saturating_sub(base_allocs),
        );
        let (b1, b2) = (b1.saturating_sub(base_bytes), b2.saturating_sub(base_bytes));
        let allocs = a2 as f64 / a1.max(1) as f64;
        let bytes = b2 as f64 / b1.max(1) as f64;
        eprintln!(
            "{shape}: allocations x{allocs:.2} ({a1} -> {a2}), bytes x{bytes:.2} ({b1} -> {b2})"
        );
        // Allocations must stay near-linear. Bytes may not quadruple: a long
        // method chain is still walked from each of its links by the server
        // analysis (`lifecycle::full_chain`), which copies the chain (x3.4
        // bytes per doubling at 500 links; known, left for that analysis).
        assert!(
            allocs < 3.0 && bytes < 3.8,
            "{shape}: doubling the input multiplied allocations by {allocs:.2} and bytes by {bytes:.2}"
        );
    }
}
