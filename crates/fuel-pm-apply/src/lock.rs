//! One applier at a time per node: an exclusive flock on a lock file that
//! also carries the holder's pid, so a second applier can name it. The lock
//! goes with the process, even when it is killed.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file: under /run/lock when the node has it (gone at reboot, like
/// the lock), else in the state directory.
pub fn default_path(state_dir: &Path) -> PathBuf {
    let run_lock = Path::new("/run/lock");
    if run_lock.is_dir() {
        run_lock.join("fuel-pm-apply.lock")
    } else {
        state_dir.join("apply.lock")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another fuel-pm-apply is running on this node ({holder}, holding {path}): wait for it to finish")]
    Held { path: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held until dropped.
#[derive(Debug)]
pub struct ApplierLock {
    _file: File,
}

pub fn acquire(path: &Path) -> Result<ApplierLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
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
            let pid = std::fs::read_to_string(path).unwrap_or_default();
            let holder = match pid.trim() {
                "" => "pid not yet recorded".to_string(),
                pid => format!("pid {pid}"),
            };
            return Err(LockError::Held {
                path: path.to_path_buf(),
                holder,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(ApplierLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_applier_is_refused_naming_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apply.lock");
        let held = acquire(&path).unwrap();
        let err = acquire(&path).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(held);
        acquire(&path).expect("free again once the first is gone");
    }
}
