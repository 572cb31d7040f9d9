//! The state directory (/var/lib/fuel-upgrade under `--root`): the journal
//! file, the deployed-release record, backups of overwritten files and the
//! run lock; the attempt marker (`attempt`) and the journal's types
//! (`journal`). Every file here is written by temp file, fsync and rename.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::adapters::atomic;
use journal::{Deployed, Journal};

mod attempt;
pub(crate) mod journal;

pub(crate) use attempt::{Attempt, AttemptGuard};

/// The state directory (/var/lib/fuel-upgrade under the root).
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    pub dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is damaged ({reason}): inspect it; move it aside only if no upgrade is half-done"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("another fuel-upgrade run holds {path} ({holder}): wait for it to finish")]
    Locked { path: PathBuf, holder: String },
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl StateDir {
    pub fn under(root: &Path) -> StateDir {
        StateDir {
            dir: root.join("var/lib/fuel-upgrade"),
        }
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    fn deployed_path(&self) -> PathBuf {
        self.dir.join("deployed.json")
    }

    pub fn backup_dir(&self, run_id: &str) -> PathBuf {
        self.dir.join("backup").join(run_id)
    }

    /// Every run's backups (what `cleanup` removes).
    pub fn backups(&self) -> PathBuf {
        self.dir.join("backup")
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    fn ensure(&self) -> Result<(), StateError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))
    }

    pub fn load_journal(&self) -> Result<Option<Journal>, StateError> {
        read_json(&self.journal_path())
    }

    pub fn save_journal(&self, journal: &Journal) -> Result<(), StateError> {
        write_json(&self.journal_path(), journal)
    }

    pub fn remove_journal(&self) -> Result<(), StateError> {
        let p = self.journal_path();
        atomic::remove(&p).map_err(io(&p))
    }

    pub fn load_deployed(&self) -> Result<Option<Deployed>, StateError> {
        read_json(&self.deployed_path())
    }

    pub fn save_deployed(&self, deployed: Option<&Deployed>) -> Result<(), StateError> {
        let p = self.deployed_path();
        match deployed {
            Some(d) => write_json(&p, d),
            None => atomic::remove(&p).map_err(io(&p)),
        }
    }

    /// Takes the run lock (flock, released when the process dies, so a
    /// SIGKILLed run never leaves a stale lock); refuses naming the holder.
    pub fn lock(&self, command: &str) -> Result<RunLock, StateError> {
        self.ensure()?;
        let path = self.lock_path();
        let me = format!(
            "pid {} running `fuel-upgrade {command}`",
            std::process::id()
        );
        let lock = fuel_atomic::PidLock::acquire(&path, &me).map_err(|e| match e {
            fuel_atomic::LockError::Held { path, holder } => StateError::Locked {
                path,
                holder: holder.unwrap_or_else(|| "unknown process".into()),
            },
            fuel_atomic::LockError::Io { path, source } => StateError::Io { path, source },
        })?;
        // A run killed while writing one of the state files left its
        // temporary file; no one else writes here while we hold the lock.
        for p in [
            self.journal_path(),
            self.deployed_path(),
            self.attempt_path(),
        ] {
            for t in atomic::leftover_temporaries(&p).map_err(io(&self.dir))? {
                atomic::remove(&t).map_err(io(&t))?;
            }
        }
        Ok(RunLock { _lock: lock })
    }
}

/// Held for the whole run.
pub(crate) struct RunLock {
    _lock: fuel_atomic::PidLock,
}

pub(super) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, StateError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

pub(super) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let bytes = serde_json::to_vec_pretty(value).expect("journal types serialise");
    atomic::write_file(path, &bytes, 0o600).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::under(dir.path());
        let _held = state.lock("apply").unwrap();
        let err = state
            .lock("rollback")
            .err()
            .expect("second lock must fail")
            .to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("fuel-upgrade apply"), "{err}");
    }

    #[test]
    fn deployed_round_trips_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::under(dir.path());
        assert_eq!(state.load_deployed().unwrap(), None);
        let d = Deployed {
            release: "8.0.0".into(),
            namespace: "fuel".into(),
            plan_digest: "x".into(),
        };
        state.save_deployed(Some(&d)).unwrap();
        assert_eq!(state.load_deployed().unwrap(), Some(d));
        state.save_deployed(None).unwrap();
        assert_eq!(state.load_deployed().unwrap(), None);
    }
}
