//! Why a command or one of its actions failed, typed, so the binary maps
//! each failure to its exit code and the journal keeps the message.

use std::path::PathBuf;

use fuel_api_client::ClientError;

use crate::adapters::engine::EngineError;
use crate::adapters::fixtures::FixtureError;
use crate::adapters::health::HealthError;
use crate::adapters::release_packages::ReleasePackagesError;
use crate::outcome::Exit;
use crate::plan::PlanError;
use crate::run::fault::InjectedFailure;
use crate::state::StateError;

/// A command's failure.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Api(#[from] ClientError),
    #[error(transparent)]
    Injected(#[from] InjectedFailure),
    #[error("could not compute the steps (see the preflight)")]
    NoSteps,
    /// An action of a step failed.
    #[error("{step} ({action}): {source}")]
    Step {
        step: &'static str,
        action: String,
        source: Box<ActionError>,
    },
    /// The steps ran, but the end state is not the plan's result.
    #[error("the end state is not as planned: {}", .problems.join("; "))]
    NotAsPlanned { problems: Vec<String> },
    #[error("the run {run_id} was being rolled back: finish with `fuel-upgrade rollback`")]
    RollbackUnfinished { run_id: String },
    #[error("the run {run_id} stopped half-way: `fuel-upgrade resume` or `fuel-upgrade rollback` first (cleanup would remove what a rollback needs)")]
    CleanupWouldLoseRollback { run_id: String },
    /// The release packages around the commands: a refusal before apply, a
    /// failed query or erase.
    #[error(transparent)]
    ReleasePackages(#[from] ReleasePackagesError),
    #[error("{path}: {source}")]
    Cleanup {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl RunError {
    /// The exit status of a command that failed so.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::Plan(_) => Exit::NotChanged,
            RunError::ReleasePackages(ReleasePackagesError::NewReleaseNotInstalled { .. })
            | RunError::RollbackUnfinished { .. }
            | RunError::CleanupWouldLoseRollback { .. }
            | RunError::State(StateError::Locked { .. }) => Exit::Refused,
            RunError::State(_)
            | RunError::Engine(_)
            | RunError::Api(_)
            | RunError::Injected(_)
            | RunError::NoSteps
            | RunError::Step { .. }
            | RunError::NotAsPlanned { .. }
            | RunError::ReleasePackages(_)
            | RunError::Cleanup { .. } => Exit::Failed,
        }
    }
}

/// The failure of one action, of the capture of its prior state, or of its undo.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Health(#[from] HealthError),
    #[error(transparent)]
    Api(#[from] ClientError),
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error(transparent)]
    File(#[from] std::io::Error),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Injected(#[from] InjectedFailure),
    #[error("service {0} is not in the plan")]
    UnknownService(String),
    #[error("{archive} does not contain the image {tag}: rebuild fuel-docker-images")]
    ImageMissing { archive: PathBuf, tag: String },
    #[error("the plan has no fixtures")]
    NoFixtures,
    #[error("release {name} ({version}) is no longer in {file}")]
    FixtureGone {
        name: String,
        version: String,
        file: PathBuf,
    },
    #[error("journal mismatch: the recorded prior state does not fit {0}")]
    JournalMismatch(String),
}
