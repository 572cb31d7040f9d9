//! The attempt marker (attempt.json): `apply` writes it as soon as it holds
//! the lock, before the preflight and its journal, and clears it when it ends
//! in any way but a kill; a marker the journal does not carry is an apply
//! killed before it changed anything.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{io, read_json, write_json, StateDir, StateError};
use crate::adapters::atomic;

/// Written by `apply` first thing after it takes the lock, before its
/// journal: an attempt whose run id the journal does not carry was killed
/// before it changed anything (the journal still holds the previous run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attempt {
    pub run_id: String,
    pub pid: u32,
    pub started_unix_ms: u64,
}

/// Clears the attempt marker when the apply that wrote it ends, whichever
/// way (a killed apply leaves it: that is what it is for).
pub(crate) struct AttemptGuard<'a>(pub &'a StateDir);

impl Drop for AttemptGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.clear_attempt();
    }
}

impl StateDir {
    pub(super) fn attempt_path(&self) -> PathBuf {
        self.dir.join("attempt.json")
    }

    pub fn begin_attempt(&self, attempt: &Attempt) -> Result<(), StateError> {
        write_json(&self.attempt_path(), attempt)
    }

    pub fn load_attempt(&self) -> Result<Option<Attempt>, StateError> {
        read_json(&self.attempt_path())
    }

    pub fn clear_attempt(&self) -> Result<(), StateError> {
        let p = self.attempt_path();
        atomic::remove(&p).map_err(io(&p))
    }
}
