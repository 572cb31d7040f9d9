//! A process lock that names its holder: an exclusive flock on a file that
//! also holds a line about the process holding it (its pid and what it
//! does), so a second process can say who is in the way. The kernel drops
//! the lock with the process, also when it is SIGKILLed: no stale lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held until dropped.
#[derive(Debug)]
pub struct HolderLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it; `holder` is what it wrote ("pid 1234 …"),
    /// or "an unknown process" when it has not written yet.
    #[error("{path} is held by {holder}")]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Takes the lock at `path` (created when missing) without waiting and
/// writes `holder` into it (say, "pid 1234 running `fuel-api`").
pub fn lock_naming_holder(path: &Path, holder: &str) -> Result<HolderLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let text = text.trim();
            return Err(LockError::Held {
                path: path.to_path_buf(),
                holder: if text.is_empty() {
                    "an unknown process".to_string()
                } else {
                    text.to_string()
                },
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{holder}").map_err(io)?;
    Ok(HolderLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_words_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock_naming_holder(&path, "pid 42 running `first`").unwrap();
        let err = lock_naming_holder(&path, "pid 43").unwrap_err().to_string();
        assert!(err.contains("pid 42 running `first`"), "{err}");
        drop(held);
        lock_naming_holder(&path, "pid 43").expect("free once the first is gone");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "pid 43\n");
    }
}
