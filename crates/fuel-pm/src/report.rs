//! The applier's `--json` output, schema 1: what happened to each package and
//! each `after` action on one node. The API stores it, the CLI renders it.

use serde::{Deserialize, Serialize};

/// The schema number every report carries; bumped on incompatible change.
pub const SCHEMA: u32 = 1;

/// Reason codes of [`PackageResult::reason`].
pub mod reason {
    pub const NOT_FOUND: &str = "not_found";
    pub const VERSION_NOT_AVAILABLE: &str = "version_not_available";
    pub const AMBIGUOUS_VERSION: &str = "ambiguous_version";
    pub const VERIFY_MISMATCH: &str = "verify_mismatch";
    pub const LOCK_TIMEOUT: &str = "lock_timeout";
    pub const TRANSACTION_FAILED: &str = "transaction_failed";
    /// Nothing changed because another package failed to resolve.
    pub const NOT_APPLIED: &str = "not_applied";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub hostname: String,
    /// `apt` or `dnf`.
    pub backend: String,
    /// True when nothing was changed (`--check`): actions are `skipped`.
    pub check: bool,
    pub packages: Vec<PackageResult>,
    pub actions: Vec<ActionResult>,
    pub totals: Totals,
    pub exit_code: i32,
}

impl Report {
    /// Puppet's `--detailed-exitcodes`: 0 nothing changed, 2 changes,
    /// 4 failures, 6 changes and failures. The one definition of those codes.
    pub fn exit_code_for(changed: bool, failed: bool) -> i32 {
        (if changed { 2 } else { 0 }) | (if failed { 4 } else { 0 })
    }

    /// What one of those codes says, `(changed, failed)`; `None` for any
    /// other code (the applier could not run).
    pub fn changes_and_failures(exit_code: i32) -> Option<(bool, bool)> {
        [(false, false), (true, false), (false, true), (true, true)]
            .into_iter()
            .find(|&(changed, failed)| Report::exit_code_for(changed, failed) == exit_code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageResult {
    pub name: String,
    /// The document's `version`: `latest`, `absent` or a version.
    pub requested: String,
    /// Installed version before the run; `None` when not installed.
    pub before: Option<String>,
    /// Installed version after the run; `None` when not installed.
    pub after: Option<String>,
    pub action: PackageAction,
    /// A code from [`reason`] when the package failed.
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageAction {
    Installed,
    Upgraded,
    Downgraded,
    Removed,
    Unchanged,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The package whose `after` list held the action.
    pub package: String,
    pub provider: String,
    pub name: String,
    pub ensure: String,
    pub result: ActionOutcome,
    pub exit_code: Option<i32>,
    /// The end of the action's combined output.
    pub output_tail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionOutcome {
    Done,
    Failed,
    /// Check mode: the action would run.
    Skipped,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub changed: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub actions_run: usize,
    pub actions_failed: usize,
}
