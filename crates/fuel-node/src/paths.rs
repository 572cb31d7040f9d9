//! Where Fuel keeps things on a deployed node. The executor writes the
//! document and the applier here over SSH; the applier reads them, locks and
//! keeps its pending after-actions here.

/// The package-manipulation document (the design's place, read by hiera and the applier).
pub const DOCUMENT: &str = "/etc/hiera/package_manipulation.yaml";
/// The directory holding [`DOCUMENT`].
pub const DOCUMENT_DIR: &str = "/etc/hiera";
/// The temporary file [`DOCUMENT`] is written to, fsynced and renamed from.
pub const DOCUMENT_TMP: &str = "/etc/hiera/.package_manipulation.yaml.fuel-tmp";

/// The applier, as `upload_pm` installs it.
pub const APPLIER: &str = "/usr/local/libexec/fuel-pm/fuel-pm-apply";
/// The directory holding [`APPLIER`].
pub const APPLIER_DIR: &str = "/usr/local/libexec/fuel-pm";
/// The temporary file [`APPLIER`] is copied to, checked and renamed from.
pub const APPLIER_TMP: &str = "/usr/local/libexec/fuel-pm/.fuel-pm-apply.fuel-tmp";
/// Beside [`APPLIER`]: its `sha256sum` line and what identifies the file it
/// was computed from (so the node hashes the applier only when it changed).
pub const APPLIER_SUM: &str = "/usr/local/libexec/fuel-pm/fuel-pm-apply.sha256";

/// Where the applier keeps its pending after-actions (`pending.json`).
pub const APPLIER_STATE_DIR: &str = "/var/lib/fuel-pm";
/// The directory of the applier's lock when the node has it (emptied at
/// reboot, like the lock itself); else the lock is [`APPLIER_STATE_LOCK`]
/// in the state directory.
pub const RUN_LOCK_DIR: &str = "/run/lock";
/// The applier's lock file under [`RUN_LOCK_DIR`].
pub const APPLIER_LOCK: &str = "/run/lock/fuel-pm-apply.lock";
/// The applier's lock file's name in its state directory, when the node has no /run/lock.
pub const APPLIER_STATE_LOCK: &str = "apply.lock";

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn each_file_lives_in_its_directory() {
        for (file, dir) in [
            (DOCUMENT, DOCUMENT_DIR),
            (DOCUMENT_TMP, DOCUMENT_DIR),
            (APPLIER, APPLIER_DIR),
            (APPLIER_TMP, APPLIER_DIR),
            (APPLIER_SUM, APPLIER_DIR),
            (APPLIER_LOCK, RUN_LOCK_DIR),
        ] {
            assert_eq!(Path::new(file).parent(), Some(Path::new(dir)), "{file}");
        }
    }
}
