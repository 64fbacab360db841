//! Reading files that the audited repository controls. Any of them may be a
//! FIFO (opening it blocks forever), a link to `/dev/zero` (reading it never
//! ends) or simply huge: only regular files are read, and never more than a
//! limit.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Limit for the small files that steer the audit: `.gitignore`, `.ignore`,
/// `.git/info/exclude`, `Cargo.toml`, `mesh-audit.toml`.
pub const MAX_CONTROL_FILE: u64 = 1024 * 1024;

/// Default limit for one `.rs` file (`max-file-size`): generated code is
/// larger, hand-written policy never is.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a regular file (a FIFO, device or folder); not read")]
    NotRegular,
    #[error("larger than the {} limit ({size} bytes); not read", human_size(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("cannot read: {0}")]
    Io(#[from] io::Error),
}

/// The bytes of `path` (links followed) if it is a regular file of at most
/// `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    check_regular(&std::fs::metadata(path)?, limit)?;
    let file = File::open(path)?;
    // Checked again on the opened file: what was opened is what is read.
    check_regular(&file.metadata()?, limit)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_regular(path, limit)?;
    String::from_utf8(bytes).map_err(|_| {
        ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            "not valid UTF-8",
        ))
    })
}

fn check_regular(meta: &std::fs::Metadata, limit: u64) -> Result<(), ReadError> {
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    Ok(())
}

/// `4 MB`, `512 KB`, `100 bytes`: how limits are written in messages.
pub fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Parses a size as `max-file-size` and `--max-file-size` take it: bytes,
/// or a number with `K`/`KB`/`M`/`MB` (binary units).
pub fn parse_size(text: &str) -> Option<u64> {
    let upper = text.trim().to_ascii_uppercase();
    let number = upper.strip_suffix('B').unwrap_or(&upper).trim_end();
    let (digits, unit) = if let Some(d) = number.strip_suffix('K') {
        (d, 1024)
    } else if let Some(d) = number.strip_suffix('M') {
        (d, 1024 * 1024)
    } else {
        (number, 1)
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(unit).filter(|&v| v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("4M"), Some(4 * 1024 * 1024));
        assert_eq!(parse_size("4 MB"), Some(4 * 1024 * 1024));
        assert_eq!(parse_size("512k"), Some(512 * 1024));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("1000B"), Some(1000));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(human_size(4 * 1024 * 1024), "4 MB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
