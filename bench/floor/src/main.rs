//! `mesh-audit-floor -j N DIR`: the cost of parsing every `.rs` file under
//! DIR once, which no syn-based audit can go below. Walks like the audit
//! (`.gitignore`-aware, `target/` skipped), reads each file, parses it with
//! `syn::parse_file` and drops the tree. Prints files parsed and failed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut threads = 0;
    let mut root = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-j" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            _ => root = Some(PathBuf::from(a)),
        }
    }
    let Some(root) = root else {
        eprintln!("usage: mesh-audit-floor [-j N] DIR");
        std::process::exit(2);
    };
    if threads == 0 {
        threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    }
    let mut files: Vec<PathBuf> = ignore::WalkBuilder::new(&root)
        .require_git(false)
        .filter_entry(|e| e.file_name() != "target")
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            std::thread::Builder::new()
                .stack_size(256 * 1024 * 1024)
                .spawn_scoped(s, || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let ok = std::fs::read_to_string(path)
                        .ok()
                        .is_some_and(|text| syn::parse_file(&text).is_ok());
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    #[cfg(feature = "span-locations")]
                    proc_macro2::extra::invalidate_current_thread_spans();
                })
                .expect("spawning a thread");
        }
    });
    println!(
        "{} files, {} not parsed",
        files.len(),
        failed.load(Ordering::Relaxed)
    );
}
