//! Fault injection for the crash-safety tests: named points at every step
//! boundary and inside steps where the runner SIGKILLs itself
//! (FUEL_UPGRADE_CRASH_AT), fails the step (FUEL_UPGRADE_FAIL_AT), or waits
//! until a marker file is removed (FUEL_UPGRADE_PAUSE_AT, to hold the lock
//! while a test starts a second run).

use std::path::Path;

use crate::state::journal::{Action, StepId};

pub const CRASH_ENV: &str = "FUEL_UPGRADE_CRASH_AT";
pub const FAIL_ENV: &str = "FUEL_UPGRADE_FAIL_AT";
pub const PAUSE_ENV: &str = "FUEL_UPGRADE_PAUSE_AT";
/// Name of the marker file a paused run creates in the state directory.
pub const PAUSE_MARKER: &str = "paused";

#[derive(Debug, thiserror::Error)]
#[error("fault injected at {0} ({FAIL_ENV})")]
pub struct InjectedFailure(pub String);

/// Called at every named point of a run.
pub fn point(name: &str, state_dir: &Path) -> Result<(), InjectedFailure> {
    fuel_atomic::fault::crash_if_armed(CRASH_ENV, name, "fuel-upgrade");
    fuel_atomic::fault::pause_if_armed(PAUSE_ENV, name, &state_dir.join(PAUSE_MARKER));
    if fuel_atomic::fault::armed(FAIL_ENV, name) {
        return Err(InjectedFailure(name.to_string()));
    }
    Ok(())
}

pub fn before(step: StepId) -> String {
    format!("before:{}", step.name())
}

/// After the step's first action ran, before the journal recorded it done.
pub fn unrecorded(step: StepId) -> String {
    format!("{}:unrecorded", step.name())
}

/// After half of the step's actions are done and recorded.
pub fn half(step: StepId) -> String {
    format!("{}:half", step.name())
}

pub const END: &str = "end";

/// How many of `n` actions "half" is (None when the step is too short for a middle).
pub fn half_index(n: usize) -> Option<usize> {
    (n >= 2).then_some(n / 2)
}

/// Every point a run of these steps passes, in order.
pub fn points(steps: &[(StepId, Vec<Action>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (step, actions) in steps {
        out.push(before(*step));
        if !actions.is_empty() {
            out.push(unrecorded(*step));
        }
        if half_index(actions.len()).is_some() {
            out.push(half(*step));
        }
    }
    out.push(END.to_string());
    out
}
