//! Writing a [`ManifestSet`] to a directory, never overwriting by accident.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::names::is_safe_file_name;
use crate::ManifestSet;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{} already exists; pass --force to overwrite it", path.display())]
    Exists { path: PathBuf },
    #[error("refusing to write `{name}`: not a plain file name inside the output directory")]
    UnsafeName { name: String },
    #[error("two manifests would be written to the same file `{name}`")]
    Duplicate { name: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

/// Writes every file of `set` into `dir` (created if missing) and returns
/// the paths written, in order. Nothing is written when any file name is
/// unsafe or, without `force`, when any target already exists: a half-written
/// set would be worse than none.
pub fn write_manifests(
    set: &ManifestSet,
    dir: &Path,
    force: bool,
) -> Result<Vec<PathBuf>, WriteError> {
    let mut seen = BTreeSet::new();
    for file in &set.files {
        // The names come from build_manifests and are safe by construction;
        // this guards callers that assemble a set themselves.
        if !is_safe_file_name(&file.file_name) {
            return Err(WriteError::UnsafeName {
                name: file.file_name.clone(),
            });
        }
        if !seen.insert(file.file_name.as_str()) {
            return Err(WriteError::Duplicate {
                name: file.file_name.clone(),
            });
        }
    }
    fs::create_dir_all(dir).map_err(|source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !force {
        for file in &set.files {
            let path = dir.join(&file.file_name);
            // symlink_metadata: a dangling symlink also counts as existing.
            if fs::symlink_metadata(&path).is_ok() {
                return Err(WriteError::Exists { path });
            }
        }
    }
    let mut written = Vec::with_capacity(set.files.len());
    for file in &set.files {
        let path = dir.join(&file.file_name);
        let result = if force {
            // The folder may come from the audited repository: a link in it
            // (`inventory.yaml -> ~/.bashrc`) is replaced, never followed.
            write_replacing(&path, file.contents.as_bytes())
        } else {
            // create_new closes the gap between the check above and the
            // write, and refuses a link as well as a file.
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| {
                    f.write_all(file.contents.as_bytes())
                        .and_then(|()| f.flush())
                })
        };
        match result {
            Ok(()) => written.push(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(WriteError::Exists { path })
            }
            Err(source) => return Err(WriteError::Io { path, source }),
        }
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a new temporary file in the same folder
/// renamed over `path`: whatever `path` was (a file, a symbolic link, a
/// dangling link) is replaced as a directory entry; a link's target is never
/// written, and a reader never sees half a file.
pub fn write_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempt = 0;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // create_new: never through a link someone placed under that name.
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = f.write_all(bytes).and_then(|()| f.flush()).and_then(|()| {
        drop(f);
        fs::rename(&tmp, path)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
