//! One applier at a time per node: an exclusive flock on a lock file that
//! also carries the holder's pid, so a second applier can name it. The lock
//! goes with the process, even when it is killed.

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
    _held: fuel_atomic::HolderLock,
}

pub fn acquire(path: &Path) -> Result<ApplierLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let me = format!("pid {}", std::process::id());
    match fuel_atomic::lock_naming_holder(path, &me) {
        Ok(held) => Ok(ApplierLock { _held: held }),
        Err(fuel_atomic::LockError::Held { holder, .. }) => Err(LockError::Held {
            path: path.to_path_buf(),
            holder,
        }),
        Err(fuel_atomic::LockError::Io { source, .. }) => Err(io(source)),
    }
}

/// [`acquire`], waiting up to `wait` for another applier to finish.
pub fn acquire_waiting(path: &Path, wait: std::time::Duration) -> Result<ApplierLock, LockError> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match acquire(path) {
            Err(LockError::Held { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            result => return result,
        }
    }
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
