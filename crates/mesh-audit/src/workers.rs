//! The audit's worker threads, and the syntax trees they hold from pass 1
//! to pass 2.
//!
//! Pass 1 parses every file; pass 2 needs the trees of the few files a rule
//! can fire in. Parsing those again was a fifth of the audit's time, so a
//! worker keeps such a tree after pass 1 and runs the rules over it itself
//! in pass 2. A tree cannot move to another thread: its spans live in
//! proc-macro2's per-thread span table (span locations), and `syn::File`
//! is not `Send`. So the same threads serve every stage of an audit (a
//! `rayon` pool, whose `broadcast` runs one closure on each of them), and
//! pass 2 offers each file first to the thread that holds its tree; a thread
//! that runs out of its own takes the rest in order, reading and parsing
//! them again. Which thread does what never changes the output, only where
//! a tree comes from.
//!
//! Memory stays bounded: a thread holds at most [`HELD_TEXT`] bytes of
//! source as trees, and while it holds any it cannot forget spans, so once
//! its span table has taken [`SPAN_TABLE`] bytes of source it drops what it
//! holds (those files are parsed again in pass 2) and starts afresh.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Worker stacks: generous, because syn and our visitors recurse.
const STACK_SIZE: usize = 256 * 1024 * 1024;
/// Most source bytes one thread holds as syntax trees (a tree is 20-30
/// times its text).
const HELD_TEXT: usize = 6 * 1024 * 1024;
/// Most source bytes one thread's span table takes while it holds trees.
const SPAN_TABLE: usize = 64 * 1024 * 1024;

/// A file's text and its syntax tree, held by the thread that parsed it.
pub(crate) struct Tree {
    pub text: String,
    pub file: syn::File,
}

#[derive(Default)]
struct Held {
    /// By the caller's key (the file's index in its unit).
    trees: Vec<(usize, Tree)>,
    text: usize,
    /// Source bytes read since this thread's spans were last forgotten.
    span_table: usize,
}

thread_local! {
    static HELD: RefCell<Held> = RefCell::new(Held::default());
}

/// Proc-macro2 records every parsed file in the thread's span table. With no
/// tree left on this thread, the table can be emptied.
fn forget_spans_if_free() {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        if h.trees.is_empty() {
            proc_macro2::extra::invalidate_current_thread_spans();
            h.span_table = 0;
            h.text = 0;
        }
    });
}

/// Drops this thread's trees and forgets its spans.
fn release_here() {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        h.trees.clear();
        proc_macro2::extra::invalidate_current_thread_spans();
        h.span_table = 0;
        h.text = 0;
    });
}

/// Accounts for `bytes` of source about to be parsed on this thread: past
/// [`SPAN_TABLE`], the thread's trees are dropped so its spans can go.
pub(crate) fn note_source(bytes: usize) {
    let over = HELD.with(|h| {
        let mut h = h.borrow_mut();
        h.span_table += bytes;
        h.span_table > SPAN_TABLE && !h.trees.is_empty()
    });
    if over {
        release_here();
    }
}

/// Keeps `tree` on this thread for pass 2, unless the thread holds enough.
pub(crate) fn hold(key: usize, tree: Tree) {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        if h.text + tree.text.len() <= HELD_TEXT {
            h.text += tree.text.len();
            h.trees.push((key, tree));
        }
    });
}

/// The audit's threads.
pub(crate) struct Workers {
    pool: rayon::ThreadPool,
}

impl Workers {
    pub fn new(threads: usize) -> std::io::Result<Workers> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .stack_size(STACK_SIZE)
            .thread_name(|i| format!("mesh-audit-{i}"))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Workers { pool })
    }

    /// Runs `work` over `items` on every thread; results come back in input
    /// order, so output never depends on scheduling. A panic in one item
    /// becomes that item's `on_panic` result instead of ending the run.
    pub fn map<T: Sync, R: Send>(
        &self,
        items: &[T],
        done: &AtomicUsize,
        work: impl Fn(&T) -> R + Sync,
        on_panic: impl Fn(&T, String) -> R + Sync,
    ) -> Vec<R> {
        let next = AtomicUsize::new(0);
        let per_thread = self.pool.broadcast(|_| {
            let mut local = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                local.push((i, guarded(item, || work(item), &on_panic)));
                forget_spans_if_free();
                done.fetch_add(1, Ordering::Relaxed);
            }
            local
        });
        in_order(per_thread)
    }

    /// [`Workers::map`], where `work` gets the tree this thread holds under
    /// `key(item)`, if any. Each thread first runs the items whose trees it
    /// holds, then takes the others in order; every item runs once.
    pub fn map_held<T: Sync, R: Send>(
        &self,
        items: &[T],
        key: impl Fn(&T) -> usize + Sync,
        done: &AtomicUsize,
        work: impl Fn(&T, Option<Tree>) -> R + Sync,
        on_panic: impl Fn(&T, String) -> R + Sync,
    ) -> Vec<R> {
        let position: std::collections::HashMap<usize, usize> = items
            .iter()
            .enumerate()
            .map(|(p, item)| (key(item), p))
            .collect();
        let claimed: Vec<AtomicBool> = items.iter().map(|_| AtomicBool::new(false)).collect();
        let next = AtomicUsize::new(0);
        let per_thread = self.pool.broadcast(|_| {
            let mut local = Vec::new();
            let mine = HELD.with(|h| std::mem::take(&mut h.borrow_mut().trees));
            for (k, tree) in mine {
                let Some(&p) = position.get(&k) else { continue };
                if claimed[p].swap(true, Ordering::AcqRel) {
                    continue;
                }
                let item = &items[p];
                local.push((p, guarded(item, || work(item, Some(tree)), &on_panic)));
                done.fetch_add(1, Ordering::Relaxed);
            }
            forget_spans_if_free();
            loop {
                let p = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(p) else { break };
                if claimed[p].swap(true, Ordering::AcqRel) {
                    continue;
                }
                local.push((p, guarded(item, || work(item, None), &on_panic)));
                forget_spans_if_free();
                done.fetch_add(1, Ordering::Relaxed);
            }
            local
        });
        in_order(per_thread)
    }

    /// Drops every tree the threads still hold (files pass 2 did not need).
    pub fn release(&self) {
        self.pool.broadcast(|_| release_here());
    }
}

/// `work()`, or `on_panic` of the item if it panics.
fn guarded<T, R>(item: &T, work: impl FnOnce() -> R, on_panic: &impl Fn(&T, String) -> R) -> R {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        on_panic(
            item,
            format!("internal error while analysing this file (please report it): {msg}"),
        )
    })
}

fn in_order<R>(per_thread: Vec<Vec<(usize, R)>>) -> Vec<R> {
    let mut results: Vec<(usize, R)> = per_thread.into_iter().flatten().collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
