//! `.gitignore`, `.ignore` and `.git/info/exclude`, read only inside the
//! audited tree. The `ignore` crate's own reading also takes the files of
//! every parent folder and the user's global excludes (a `*.rs` line above
//! the root would make the audit scan nothing and pass), and opens whatever
//! it finds (a FIFO there hangs the walk). Here every folder's files are read
//! once, through [`read_regular`], and a file that cannot be read safely is
//! an error entry, not a hang.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

use crate::safe_fs::{read_regular_text, MAX_CONTROL_FILE};

/// The ignore rules of every folder from the audit root down.
pub struct TreeIgnores {
    root: PathBuf,
    by_dir: Mutex<HashMap<PathBuf, Arc<Gitignore>>>,
    /// `(file, message)` for ignore files that were not read.
    problems: Mutex<Vec<(PathBuf, String)>>,
}

impl TreeIgnores {
    pub fn new(root: &Path) -> TreeIgnores {
        TreeIgnores {
            root: root.to_path_buf(),
            by_dir: Mutex::default(),
            problems: Mutex::default(),
        }
    }

    /// Whether `path` is ignored by the files of its folders between the
    /// audit root and its parent (the deepest folder that says so wins, as
    /// in git). Paths outside the root are never ignored.
    pub fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        for dir in path.ancestors().skip(1) {
            if !dir.starts_with(&self.root) {
                break;
            }
            match self.matcher(dir).matched(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }

    /// Ignore files that could not be read, in path order.
    pub fn take_problems(&self) -> Vec<(PathBuf, String)> {
        let mut v = std::mem::take(&mut *lock(&self.problems));
        v.sort();
        v.dedup();
        v
    }

    fn matcher(&self, dir: &Path) -> Arc<Gitignore> {
        if let Some(m) = lock(&self.by_dir).get(dir) {
            return m.clone();
        }
        let built = Arc::new(self.build(dir));
        lock(&self.by_dir)
            .entry(dir.to_path_buf())
            .or_insert(built)
            .clone()
    }

    /// One folder's rules; later files win over earlier ones, as git ranks
    /// them: `.git/info/exclude`, then `.gitignore`, then `.ignore`.
    fn build(&self, dir: &Path) -> Gitignore {
        let mut builder = GitignoreBuilder::new(dir);
        let mut any = false;
        let git = dir.join(".git");
        let sources = [
            (git.is_dir()).then(|| git.join("info").join("exclude")),
            Some(dir.join(".gitignore")),
            Some(dir.join(".ignore")),
        ];
        for file in sources.into_iter().flatten() {
            // A missing file is the common case; only an existing one is read.
            if std::fs::symlink_metadata(&file).is_err() {
                continue;
            }
            match read_regular_text(&file, MAX_CONTROL_FILE) {
                Ok(text) => {
                    for line in text.lines() {
                        // A bad pattern is skipped, as git skips it.
                        let _ = builder.add_line(Some(file.clone()), line);
                        any = true;
                    }
                }
                Err(e) => lock(&self.problems).push((file, e.to_string())),
            }
        }
        if !any {
            return Gitignore::empty();
        }
        builder.build().unwrap_or_else(|_| Gitignore::empty())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeper_folders_win_and_parents_of_the_root_are_not_read() {
        let dir = std::env::temp_dir().join(format!("mesh-audit-ignores-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(dir.join(".gitignore"), "*.rs\n").unwrap();
        std::fs::write(root.join(".gitignore"), "gen/\nsub/*.rs\n").unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!keep.rs\n").unwrap();
        let ignores = TreeIgnores::new(&root);
        assert!(!ignores.is_ignored(&root.join("main.rs"), false));
        assert!(ignores.is_ignored(&root.join("gen"), true));
        assert!(ignores.is_ignored(&root.join("sub/drop.rs"), false));
        assert!(!ignores.is_ignored(&root.join("sub/keep.rs"), false));
        assert!(ignores.take_problems().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
