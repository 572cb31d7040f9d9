//! What a command ended in ([`Outcome`], the report's `outcome`) and the
//! exit status it gives ([`Exit`]): the one place each exit code is defined
//! and documented; `--help` and the manual page list them from here.

use serde::{Serialize, Serializer};

use crate::state::journal::RunStatus;

/// fuel-upgrade's exit statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to do.
    Done,
    /// A step failed (rolled back, or kept with `--no-rollback`), a state
    /// could not be restored, or the command could not run.
    Failed,
    /// clap's code for a command line it cannot parse; fuel-upgrade's own
    /// outcomes never use it.
    Usage,
    /// Refused: another run holds the lock, the journal is in a state the
    /// command cannot act on, or the new release's packages are not
    /// installed yet. Nothing was changed.
    Refused,
    /// A bad plan or a failed preflight: nothing was changed.
    NotChanged,
}

impl Exit {
    /// Every status, in code order.
    pub const ALL: [Exit; 5] = [
        Exit::Done,
        Exit::Failed,
        Exit::Usage,
        Exit::Refused,
        Exit::NotChanged,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::NotChanged => 4,
        }
    }

    /// What the status means, as `--help` says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Done => "done, or nothing to do",
            Exit::Failed => "a step failed (rolled back, or kept with --no-rollback), a state could not be restored, or the command could not run",
            Exit::Usage => "the command line is wrong (usage)",
            Exit::Refused => "refused, nothing changed: another run holds the lock, the journal's state does not allow the command, or the new release's packages are not installed",
            Exit::NotChanged => "bad plan or failed preflight, nothing changed",
        }
    }

    /// The "Exit status:" section of `--help` and the manual page.
    pub fn help() -> String {
        let mut text = String::from("Exit status:");
        for e in Exit::ALL {
            text.push_str(&format!("\n  {}  {}", e.code(), e.meaning()));
        }
        text
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

/// What a command ended in; serialised as the report's `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `plan`: what apply would do.
    Plan,
    Applied,
    NothingToDo,
    /// `resume` after an apply killed before its journal.
    NotStarted,
    PreflightFailed,
    /// A step failed and `--no-rollback` kept the changes.
    Failed,
    RolledBack,
    RolledBackAfterFailure,
    /// The rollback could not restore everything (`problems` says what).
    RollbackIncomplete,
    Cleaned,
    /// `status`: the state of the journaled run.
    Journaled(RunStatus),
}

impl Outcome {
    /// The name in the report (text and JSON).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Plan => "plan",
            Outcome::Applied => "applied",
            Outcome::NothingToDo => "nothing-to-do",
            Outcome::NotStarted => "not-started",
            Outcome::PreflightFailed => "preflight-failed",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled-back",
            Outcome::RolledBackAfterFailure => "rolled-back-after-failure",
            Outcome::RollbackIncomplete => "rollback-incomplete",
            Outcome::Cleaned => "cleaned",
            // As `status` has always shown them.
            Outcome::Journaled(status) => match status {
                RunStatus::Applying => "applying",
                RunStatus::Applied => "applied",
                RunStatus::Failed => "failed",
                RunStatus::RollingBack => "rollingback",
                RunStatus::RolledBack => "rolledback",
            },
        }
    }

    /// The exit status of a command that ended so.
    pub fn exit(self) -> Exit {
        match self {
            Outcome::PreflightFailed => Exit::NotChanged,
            Outcome::Failed | Outcome::RolledBackAfterFailure | Outcome::RollbackIncomplete => {
                Exit::Failed
            }
            Outcome::Plan
            | Outcome::Applied
            | Outcome::NothingToDo
            | Outcome::NotStarted
            | Outcome::RolledBack
            | Outcome::Cleaned
            | Outcome::Journaled(_) => Exit::Done,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_usage_is_clap_s_two() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        assert_eq!(Exit::Usage.code(), 2);
        // No outcome of fuel-upgrade's own uses clap's usage code.
        for outcome in [
            Outcome::Plan,
            Outcome::Applied,
            Outcome::NothingToDo,
            Outcome::NotStarted,
            Outcome::PreflightFailed,
            Outcome::Failed,
            Outcome::RolledBack,
            Outcome::RolledBackAfterFailure,
            Outcome::RollbackIncomplete,
            Outcome::Cleaned,
        ] {
            assert_ne!(outcome.exit(), Exit::Usage, "{outcome}");
        }
    }

    #[test]
    fn outcomes_serialise_as_their_report_names() {
        assert_eq!(
            serde_json::to_string(&Outcome::RolledBackAfterFailure).unwrap(),
            "\"rolled-back-after-failure\""
        );
        assert_eq!(
            serde_json::to_string(&Outcome::Journaled(RunStatus::RollingBack)).unwrap(),
            "\"rollingback\""
        );
    }
}
