//! One applier at a time per node: fuel-atomic's pid lock (an exclusive
//! flock on a file holding `pid N`, so a second applier can name the first;
//! it goes with the process, even when it is killed) at the node's place.

use std::path::{Path, PathBuf};

use fuel_atomic::PidLock;
use fuel_node::paths;

/// The lock file: under /run/lock when the node has it (gone at reboot, like
/// the lock), else in the state directory.
pub fn default_path(state_dir: &Path) -> PathBuf {
    if Path::new(paths::RUN_LOCK_DIR).is_dir() {
        PathBuf::from(paths::APPLIER_LOCK)
    } else {
        state_dir.join(paths::APPLIER_STATE_LOCK)
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
pub type ApplierLock = PidLock;

pub fn acquire(path: &Path) -> Result<ApplierLock, LockError> {
    PidLock::acquire(path, &format!("pid {}", std::process::id())).map_err(|e| match e {
        fuel_atomic::LockError::Held { path, holder } => LockError::Held {
            path,
            holder: holder.unwrap_or_else(|| "pid not yet recorded".to_string()),
        },
        fuel_atomic::LockError::Io { path, source } => LockError::Io { path, source },
    })
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
