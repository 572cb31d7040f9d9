//! Fault injection for the end-to-end tests: FUEL_PM_APPLY_FAULT=after-transaction
//! makes the applier SIGKILL itself between the package transaction and the
//! after-actions; FUEL_PM_APPLY_PAUSE=after-lock makes it wait, holding the
//! applier lock, while STATE_DIR/paused exists (it creates the file).

use std::path::Path;

pub const FAULT_ENV: &str = "FUEL_PM_APPLY_FAULT";
pub const PAUSE_ENV: &str = "FUEL_PM_APPLY_PAUSE";
pub const PAUSE_MARKER: &str = "paused";

pub const AFTER_LOCK: &str = "after-lock";
pub const AFTER_TRANSACTION: &str = "after-transaction";

/// Called at each named point of a run.
pub fn point(name: &str, state_dir: &Path) {
    fuel_atomic::fault::crash_if_armed(FAULT_ENV, name, "fuel-pm-apply");
    fuel_atomic::fault::pause_if_armed(PAUSE_ENV, name, &state_dir.join(PAUSE_MARKER));
}
