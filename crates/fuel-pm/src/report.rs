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
    /// Nothing changed: the transaction would remove or downgrade packages
    /// the document does not name (see [`super::Report::collateral`]) and
    /// the document does not allow it (`allow_removals`).
    pub const COLLATERAL_REMOVAL: &str = "collateral_removal";
    /// An after-action ran past its timeout and was killed (its process
    /// group); it stays owed to the next run.
    pub const AFTER_ACTION_TIMEOUT: &str = "after_action_timeout";
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
    /// Every change the transaction made (with `check`: would make) to a
    /// package the document does not name: dependencies installed or
    /// upgraded, dependents removed or downgraded. Added in schema 1 without
    /// a bump: absent in older reports, read as empty.
    #[serde(default)]
    pub collateral: Vec<Collateral>,
    /// What the applier repaired before its own work: a package manager run
    /// that was killed and left the package database unfinished. Absent
    /// when there was nothing to repair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
}

/// A change to a package the document does not name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collateral {
    pub name: String,
    /// Installed version before the transaction; `None` when not installed.
    pub before: Option<String>,
    /// Installed version after it (predicted in check mode and when
    /// refused); `None` when not installed.
    pub after: Option<String>,
    /// installed, upgraded, downgraded or removed.
    pub action: PackageAction,
    /// The dependency that forces it, as the package manager spells it
    /// (`fuel-test-app depends on fuel-test-lib (>= 2.0)`), when known.
    pub cause: Option<String>,
    /// True when this change was the reason the transaction was refused
    /// (a removal or downgrade the document did not allow): not made.
    #[serde(default)]
    pub refused: bool,
}

impl Collateral {
    /// `fuel-test-app removed`, as tables list it.
    pub fn short(&self) -> String {
        format!("{} {}", self.name, self.action.as_str())
    }

    /// One line: name, what happened, versions, cause, and whether it was refused.
    pub fn describe(&self) -> String {
        let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let mut line = format!(
            "{} {} ({} -> {})",
            self.name,
            self.action.as_str(),
            shown(&self.before),
            shown(&self.after)
        );
        if let Some(cause) = &self.cause {
            line.push_str(&format!(": {cause}"));
        }
        if self.refused {
            line.push_str(" [refused: not allowed by the document]");
        }
        line
    }
}

/// A repair of the package database made before the run's own transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovery {
    /// What was found, e.g. `dpkg was interrupted: fuel-test-slow 1.0-1 is half-configured`.
    pub found: String,
    /// The command run to repair it (`dpkg --configure -a`); in check mode
    /// the command that would run.
    pub command: String,
    /// The packages it concerned.
    pub packages: Vec<String>,
    /// Whether the repair succeeded (false in check mode: not run).
    pub ok: bool,
    /// The end of the command's output.
    pub output_tail: String,
}

impl Report {
    /// The applier's exit status when another applier holds the node's lock
    /// (sysexits' EX_TEMPFAIL): nothing was done and no report printed; the
    /// same run later can succeed. The executor reports it as `node_busy`.
    pub const NODE_BUSY_EXIT_CODE: i32 = 75;

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

impl PackageAction {
    /// The report's spelling: `installed`, `upgraded`…
    pub fn as_str(self) -> &'static str {
        match self {
            PackageAction::Installed => "installed",
            PackageAction::Upgraded => "upgraded",
            PackageAction::Downgraded => "downgraded",
            PackageAction::Removed => "removed",
            PackageAction::Unchanged => "unchanged",
            PackageAction::Failed => "failed",
        }
    }
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
    /// A code from [`reason`] when the action failed for a reason of its
    /// own (`after_action_timeout`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
