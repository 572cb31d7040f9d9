//! Fault-injection points for the crash-safety tests. A binary names its
//! points and reads one environment variable per kind of fault (its own
//! names: `FUEL_UPGRADE_CRASH_AT`, `FUEL_PM_APPLY_FAULT`, …); these are the
//! faults themselves, so every binary dies and waits the same way.

use std::path::Path;
use std::time::Duration;

/// Whether the environment variable `env` names `point`.
pub fn armed(env: &str, point: &str) -> bool {
    std::env::var(env).as_deref() == Ok(point)
}

/// SIGKILLs this process when `env` names `point` (a crash at that instant,
/// nothing flushed, no destructor run). `tool` prefixes the one line said.
pub fn crash_if_armed(env: &str, point: &str, tool: &str) {
    if armed(env, point) {
        eprintln!("{tool}: {env}={point}: killing myself with SIGKILL");
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// When `env` names `point`: creates `marker` (holding the point's name)
/// and waits while it exists, so a test can act while this process holds
/// whatever it holds at that point, then remove the file to let it go on.
pub fn pause_if_armed(env: &str, point: &str, marker: &Path) {
    if armed(env, point) {
        if let Some(dir) = marker.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(marker, point);
        while marker.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
