//! One run at a time: an exclusive flock on a lock file that also says who
//! holds it (a line such as `pid 1234 running …`), so a second run can name
//! the first. The kernel drops the flock with the process, even a SIGKILLed
//! one, so a lock is never stale.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it; `holder` is the line it wrote (`None`
    /// before it wrote one).
    #[error("{path} is held by {}", .holder.as_deref().unwrap_or("a process that has not yet said who it is"))]
    Held {
        path: PathBuf,
        holder: Option<String>,
    },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held until dropped (or until the process ends).
#[derive(Debug)]
pub struct PidLock {
    _file: File,
}

impl PidLock {
    /// Takes the lock at `path` (creating it and its directory) and records
    /// `holder` in it; refuses at once, with the holder's line, when taken.
    pub fn acquire(path: &Path, holder: &str) -> Result<PidLock, LockError> {
        let io = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
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
                let mut line = String::new();
                let _ = file.read_to_string(&mut line);
                let line = line.trim();
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    holder: (!line.is_empty()).then(|| line.to_string()),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{holder}").map_err(io)?;
        Ok(PidLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_with_the_holders_line_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/run.lock");
        let held = PidLock::acquire(&path, "pid 1 running `tool apply`").unwrap();
        match PidLock::acquire(&path, "pid 2") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.as_deref(), Some("pid 1 running `tool apply`"))
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(held);
        PidLock::acquire(&path, "pid 2").expect("free once the first is gone");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "pid 2\n");
    }
}
