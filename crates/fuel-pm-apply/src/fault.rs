//! Fault injection for the end-to-end tests: FUEL_PM_APPLY_FAULT=after-transaction
//! makes the applier SIGKILL itself between the package transaction and the
//! after-actions; FUEL_PM_APPLY_PAUSE=after-lock makes it wait, holding the
//! applier lock, while STATE_DIR/paused exists (it creates the file).

use std::path::Path;
use std::time::Duration;

pub const FAULT_ENV: &str = "FUEL_PM_APPLY_FAULT";
pub const PAUSE_ENV: &str = "FUEL_PM_APPLY_PAUSE";
pub const PAUSE_MARKER: &str = "paused";

pub const AFTER_LOCK: &str = "after-lock";
pub const AFTER_TRANSACTION: &str = "after-transaction";

/// Called at each named point of a run.
pub fn point(name: &str, state_dir: &Path) {
    if std::env::var(FAULT_ENV).as_deref() == Ok(name) {
        eprintln!("fuel-pm-apply: {FAULT_ENV}={name}: killing myself with SIGKILL");
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
    if std::env::var(PAUSE_ENV).as_deref() == Ok(name) {
        let marker = state_dir.join(PAUSE_MARKER);
        let _ = std::fs::create_dir_all(state_dir);
        let _ = std::fs::write(&marker, name);
        while marker.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
