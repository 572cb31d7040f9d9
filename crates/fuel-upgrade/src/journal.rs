//! The journal: the run's full list of steps and actions, and for each action
//! the prior state its undo needs, written before the action runs. It is the
//! only memory a resumed or rolled-back run has.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic;
use crate::plan::FileAction;

pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    pub format: u32,
    pub run_id: String,
    pub plan_file: PathBuf,
    pub plan_digest: String,
    /// The plan itself: resume and rollback do not depend on the file.
    pub plan: crate::plan::Plan,
    pub namespace: String,
    pub from_release: Option<String>,
    pub to_release: String,
    pub status: RunStatus,
    pub started_unix_ms: u64,
    pub steps: Vec<StepRecord>,
    /// Wall clock (ms since epoch) when the first old container was stopped
    /// and when every new one was healthy: the service downtime.
    pub downtime_started_ms: Option<u64>,
    pub downtime_ended_ms: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Applying,
    Applied,
    /// A step failed and `--no-rollback` kept the changes.
    Failed,
    RollingBack,
    RolledBack,
}

impl RunStatus {
    /// Whether the run stopped half-way and needs `resume` or `rollback`.
    pub fn is_interrupted(self) -> bool {
        matches!(
            self,
            RunStatus::Applying | RunStatus::Failed | RunStatus::RollingBack
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub id: StepId,
    pub status: Progress,
    pub elapsed_ms: u64,
    pub actions: Vec<ActionRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepId {
    Backup,
    Prepare,
    Switch,
    Files,
    Fixtures,
    Finalize,
}

impl StepId {
    pub const ALL: [StepId; 6] = [
        StepId::Backup,
        StepId::Prepare,
        StepId::Switch,
        StepId::Files,
        StepId::Fixtures,
        StepId::Finalize,
    ];

    pub fn name(self) -> &'static str {
        match self {
            StepId::Backup => "backup",
            StepId::Prepare => "prepare",
            StepId::Switch => "switch",
            StepId::Files => "files",
            StepId::Fixtures => "fixtures",
            StepId::Finalize => "finalize",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Progress {
    Pending,
    /// Intent and prior state are recorded; the action may or may not have run.
    Started,
    Done,
    Failed,
    Undone,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action: Action,
    pub status: Progress,
    /// What the undo needs, captured before the action ran.
    pub prior: Option<Prior>,
}

/// One unit of work; every action is idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// Records the deployed release and the old containers (the starting state).
    RecordStart {
        old_containers: Vec<ContainerRef>,
    },
    LoadImage {
        archive: PathBuf,
        tags: Vec<String>,
    },
    Create {
        service: String,
        container: String,
    },
    /// Stops old containers of one dependency level, concurrently.
    Stop {
        containers: Vec<ContainerRef>,
    },
    /// Starts new containers of one dependency level and waits until healthy.
    Start {
        services: Vec<String>,
        containers: Vec<String>,
    },
    File {
        index: usize,
        #[serde(with = "serde_yaml::with::singleton_map")]
        action: FileAction,
    },
    Fixture {
        name: String,
        version: String,
    },
    Finalize {
        release: String,
    },
}

impl Action {
    pub fn describe(&self) -> String {
        match self {
            Action::RecordStart { old_containers } => {
                format!(
                    "record starting state ({} old containers)",
                    old_containers.len()
                )
            }
            Action::LoadImage { archive, tags } => {
                format!("load {} ({})", archive.display(), tags.join(", "))
            }
            Action::Create { container, .. } => format!("create container {container}"),
            Action::Stop { containers } => format!(
                "stop {}",
                containers
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Action::Start { containers, .. } => {
                format!("start and wait healthy {}", containers.join(", "))
            }
            Action::File { action, .. } => action.describe(),
            Action::Fixture { name, version } => format!("register release {name} ({version})"),
            Action::Finalize { release } => format!("record deployed release {release}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRef {
    pub id: String,
    pub name: String,
    pub service: String,
    pub release: String,
}

/// The prior state of an action, for its undo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Prior {
    Nothing,
    /// Whether the container of a Create existed before.
    Container {
        existed: bool,
    },
    /// Which of the containers of a Stop/Start were running before.
    Running {
        running: Vec<String>,
    },
    Paths {
        entries: Vec<PathPrior>,
        created_dirs: Vec<PathBuf>,
    },
    Fixture {
        present_before: bool,
        created_id: Option<i64>,
    },
    Deployed {
        previous: Option<Deployed>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathPrior {
    pub path: PathBuf,
    pub state: PathState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PathState {
    Absent,
    /// A regular file, copied to `backup` (under the state directory).
    File {
        backup: PathBuf,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Symlink {
        target: PathBuf,
    },
}

/// What the runner recorded at its last finalize: the deployed release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployed {
    pub release: String,
    pub namespace: String,
    pub plan_digest: String,
}

/// The state directory (/var/lib/fuel-upgrade under the root).
#[derive(Debug, Clone)]
pub struct StateDir {
    pub dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
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

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    pub fn deployed_path(&self) -> PathBuf {
        self.dir.join("deployed.json")
    }

    pub fn backup_dir(&self, run_id: &str) -> PathBuf {
        self.dir.join("backup").join(run_id)
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    pub fn ensure(&self) -> Result<(), JournalError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))
    }

    pub fn load_journal(&self) -> Result<Option<Journal>, JournalError> {
        read_json(&self.journal_path())
    }

    pub fn save_journal(&self, journal: &Journal) -> Result<(), JournalError> {
        write_json(&self.journal_path(), journal)
    }

    pub fn remove_journal(&self) -> Result<(), JournalError> {
        let p = self.journal_path();
        atomic::remove(&p).map_err(io(&p))
    }

    pub fn load_deployed(&self) -> Result<Option<Deployed>, JournalError> {
        read_json(&self.deployed_path())
    }

    pub fn save_deployed(&self, deployed: Option<&Deployed>) -> Result<(), JournalError> {
        let p = self.deployed_path();
        match deployed {
            Some(d) => write_json(&p, d),
            None => atomic::remove(&p).map_err(io(&p)),
        }
    }

    /// Takes the run lock (flock, released when the process dies, so a
    /// SIGKILLed run never leaves a stale lock); refuses naming the holder.
    pub fn lock(&self, command: &str) -> Result<RunLock, JournalError> {
        self.ensure()?;
        let path = self.lock_path();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(JournalError::Locked {
                    path,
                    holder: if holder.is_empty() {
                        "unknown process".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(io(&path)(e)),
        }
        let me = format!(
            "pid {} running `fuel-upgrade {command}`",
            std::process::id()
        );
        file.set_len(0).map_err(io(&path))?;
        file.rewind().map_err(io(&path))?;
        file.write_all(me.as_bytes()).map_err(io(&path))?;
        Ok(RunLock { _file: file })
    }
}

/// Held for the whole run.
pub struct RunLock {
    _file: File,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, JournalError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| JournalError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), JournalError> {
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
