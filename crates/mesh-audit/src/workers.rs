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
//! Memory stays bounded: a unit of work holds trees of at most
//! [`HOLD_TEXT`] bytes of source (a tree and its parts take about 40 times
//! its text), and
//! only the threads that hold trees parse into a span table they cannot
//! empty: files to be held are parsed after every other file of pass 1 is
//! summarised, and between pass 1 and pass 2 files are parsed on threads of
//! their own ([`Workers::map_fresh`]), so a pool thread's span table holds
//! just its own trees' files.

use std::cell::RefCell;

use crate::analysis::FileParts;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Worker stacks: generous, because syn and our visitors recurse.
const STACK_SIZE: usize = 256 * 1024 * 1024;
/// Most source bytes a unit of work holds as syntax trees, over all threads
/// (a tree takes about 30 times its text, and the parts kept beside it
/// about a third more). 2.5 MB: with 3 MB, four copies of the bench corpus
/// peaked at 302 MiB once trees kept their parts; with 2.5 MB, 270 MiB.
const HOLD_TEXT: usize = 5 * 512 * 1024;

/// What is left of a unit's [`HOLD_TEXT`].
pub(crate) struct HoldBudget(AtomicUsize);

impl HoldBudget {
    pub fn new() -> HoldBudget {
        HoldBudget(AtomicUsize::new(HOLD_TEXT))
    }

    /// Takes `bytes` of the budget, if that many are left.
    pub fn take(&self, bytes: usize) -> bool {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }
}

/// A file's text and its syntax tree.
pub(crate) struct Source {
    pub text: String,
    pub file: syn::File,
}

self_cell::self_cell!(
    /// A file's text and syntax tree, held by the thread that parsed it,
    /// with what pass 1 derived from them alone (its lines, imports,
    /// functions and scopes): pass 2 reads the same parts.
    pub(crate) struct Tree {
        owner: Source,
        #[covariant]
        dependent: FileParts,
    }
);

impl Tree {
    /// Parts derived from `source` (see [`FileParts::new`]).
    pub fn of(source: Source) -> Tree {
        Tree::new(source, |s| FileParts::new(&s.file, &s.text))
    }

    pub fn parts(&self) -> &FileParts<'_> {
        self.borrow_dependent()
    }
}

#[derive(Default)]
struct Held {
    /// By the caller's key (the file's index in its unit).
    trees: Vec<(usize, Tree)>,
}

thread_local! {
    static HELD: RefCell<Held> = RefCell::new(Held::default());
}

/// Proc-macro2 records every parsed file in the thread's span table. With no
/// tree left on this thread, the table can be emptied.
fn forget_spans_if_free() {
    HELD.with(|h| {
        let h = h.borrow();
        if h.trees.is_empty() {
            proc_macro2::extra::invalidate_current_thread_spans();
        }
    });
}

/// Drops this thread's trees and forgets its spans.
fn release_here() {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        h.trees.clear();
        proc_macro2::extra::invalidate_current_thread_spans();
    });
}

/// Keeps `tree` on this thread for pass 2 (called from
/// [`Workers::map_holding`]'s work, whose budget the caller took).
pub(crate) fn hold(key: usize, tree: Tree) {
    HELD.with(|h| h.borrow_mut().trees.push((key, tree)));
}

/// The audit's threads.
pub(crate) struct Workers {
    /// The threads that hold trees from pass 1 to pass 2.
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

    /// [`Workers::map`] on threads of their own, which hold no tree and
    /// forget their spans after every item: for parsing between pass 1 and
    /// pass 2, while the pool's threads hold trees.
    pub fn map_fresh<T: Sync, R: Send>(
        &self,
        items: &[T],
        done: &AtomicUsize,
        work: impl Fn(&T) -> R + Sync,
        on_panic: impl Fn(&T, String) -> R + Sync,
    ) -> Vec<R> {
        let next = AtomicUsize::new(0);
        let threads = self.pool.current_num_threads().min(items.len()).max(1);
        let per_thread: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    std::thread::Builder::new()
                        .stack_size(STACK_SIZE)
                        .spawn_scoped(s, || {
                            // Such a thread holds no tree: every tree of an
                            // item is gone after it.
                            drain(items, &next, done, &work, &on_panic, || {
                                proc_macro2::extra::invalidate_current_thread_spans()
                            })
                        })
                        .expect("spawning a worker thread")
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        in_order(per_thread)
    }

    /// Runs `work` over `items` on the pool's threads; results come back in
    /// input order, so output never depends on scheduling. A panic in one
    /// item becomes that item's `on_panic` result instead of ending the run.
    /// `work` may [`hold`] trees: a thread forgets its spans after an item
    /// only while it holds none.
    pub fn map<T: Sync, R: Send>(
        &self,
        items: &[T],
        done: &AtomicUsize,
        work: impl Fn(&T) -> R + Sync,
        on_panic: impl Fn(&T, String) -> R + Sync,
    ) -> Vec<R> {
        let next = AtomicUsize::new(0);
        let per_thread = self
            .pool
            .broadcast(|_| drain(items, &next, done, &work, &on_panic, forget_spans_if_free));
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
        let position: rustc_hash::FxHashMap<usize, usize> = items
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

/// One thread's share of a stage: the items it takes from `next`, each
/// with its index, `after` each item.
fn drain<T, R>(
    items: &[T],
    next: &AtomicUsize,
    done: &AtomicUsize,
    work: &impl Fn(&T) -> R,
    on_panic: &impl Fn(&T, String) -> R,
    after: impl Fn(),
) -> Vec<(usize, R)> {
    let mut local = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(i) else { break };
        local.push((i, guarded(item, || work(item), on_panic)));
        after();
        done.fetch_add(1, Ordering::Relaxed);
    }
    local
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: usize) -> Tree {
        let text = format!("fn f{n}() {{}}");
        let file = syn::parse_file(&text).expect("parses");
        Tree::of(Source { text, file })
    }

    #[test]
    fn every_item_runs_once_in_order_with_the_tree_its_thread_holds() {
        let workers = Workers::new(2).expect("threads");
        let items: Vec<usize> = (0..40).collect();
        // Even items are parsed and held in the first stage.
        let first = workers.map(
            &items,
            &AtomicUsize::new(0),
            |&i| {
                if i % 2 == 0 {
                    hold(i, tree(i));
                }
                i
            },
            |_, _| usize::MAX,
        );
        assert_eq!(first, items);
        // The second stage runs items 5..40: held trees come back to the
        // items they were held for, every item runs once, in input order.
        let later: Vec<usize> = (5..40).collect();
        let runs = AtomicUsize::new(0);
        let second = workers.map_held(
            &later,
            |&i| i,
            &AtomicUsize::new(0),
            |&i, held| {
                runs.fetch_add(1, Ordering::Relaxed);
                let name = held.map(|t| match &t.parts().file.items[0] {
                    syn::Item::Fn(f) => f.sig.ident.to_string(),
                    _ => String::new(),
                });
                (i, name)
            },
            |&i, _| (i, None),
        );
        assert_eq!(runs.load(Ordering::Relaxed), later.len());
        assert_eq!(second.iter().map(|(i, _)| *i).collect::<Vec<_>>(), later);
        // A tree comes back only to the item it was held for (an item held
        // by a thread that the other one overtook is parsed again instead).
        for (i, name) in &second {
            if let Some(name) = name {
                assert_eq!(name, &format!("f{i}"), "a tree went to another item");
            }
        }
        // Trees held for items the second stage did not run are dropped.
        workers.release();
        let none = workers.map_held(
            &[0usize, 2],
            |&i| i,
            &AtomicUsize::new(0),
            |_, held| held.is_some(),
            |_, _| true,
        );
        assert_eq!(none, [false, false]);
    }

    #[test]
    fn the_budget_is_shared_and_never_overdrawn() {
        let budget = HoldBudget::new();
        assert!(budget.take(HOLD_TEXT - 10));
        assert!(!budget.take(11));
        assert!(budget.take(10));
        assert!(!budget.take(1));
    }
}
