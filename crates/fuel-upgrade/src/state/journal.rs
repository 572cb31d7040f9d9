//! The journal: the run's full list of steps and actions, and for each action
//! the prior state its undo needs, written before the action runs. It is the
//! only memory a resumed or rolled-back run has. (Where it is kept: `state`.)

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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

impl Journal {
    /// The pending records of a freshly computed step list.
    pub fn steps_from(steps: Vec<(StepId, Vec<Action>)>) -> Vec<StepRecord> {
        steps
            .into_iter()
            .map(|(id, actions)| StepRecord {
                id,
                status: Progress::Pending,
                elapsed_ms: 0,
                actions: actions
                    .into_iter()
                    .map(|action| ActionRecord {
                        action,
                        status: Progress::Pending,
                        prior: None,
                        started_unix_ms: None,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Wall clock in ms since the epoch, as the journal records times.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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
    /// When a run last set out to perform the action (ms since the epoch):
    /// a request it sent may still be served for a while after a kill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_ms: Option<u64>,
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
