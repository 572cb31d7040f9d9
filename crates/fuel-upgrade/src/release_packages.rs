//! The master's fuel-release-X.Y.Z packages around an upgrade.
//!
//! Each release's fuel-release carries the release in its name, so
//! `rpm -i fuel-release-8.0.0-…` on a 7.0.0 master adds 8.0.0's repositories
//! beside 7.0.0's (specs/fuel-release.toml). This module is what fuel-upgrade
//! does with them: `cleanup` retires the releases older than the deployed one
//! (the real rpm erases them, so their repositories go), `rollback` leaves
//! them alone, and a run started before the new release's packages are
//! installed is refused with the command that installs them.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuel_version::compare_releases;

use crate::plan::Plan;
use crate::report::ProgressLog;
use crate::{RunError, Runner};

#[derive(Debug, thiserror::Error)]
pub enum ReleasePackagesError {
    #[error("reading the installed packages under {root}: {source}")]
    Query {
        root: PathBuf,
        // Boxed: fuel-version's error is large, and this one is rare.
        #[source]
        source: Box<fuel_version::VersionError>,
    },
    #[error("`{command}` failed ({problem}): the older releases' repositories stay configured; {remedy}")]
    Erase {
        command: String,
        problem: String,
        remedy: String,
    },
}

/// One installed fuel-release-X.Y.Z.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePackage {
    /// fuel-release-X.Y.Z
    pub name: String,
    /// X.Y.Z
    pub release: String,
}

/// The rpm database of a root: where it is, as rpm is told it.
struct Database {
    root: PathBuf,
    /// The database directory, as found on this machine (under `root`).
    found: PathBuf,
    /// The same directory as rpm sees it under `--root` (what `--dbpath` takes).
    dbpath: PathBuf,
}

impl Database {
    fn of(root: &Path) -> Option<Database> {
        let found = fuel_version::find_database(root)?;
        let dbpath = Path::new("/").join(found.strip_prefix(root).unwrap_or(&found));
        Some(Database {
            root: root.to_path_buf(),
            found,
            dbpath,
        })
    }

    /// `rpm [--root R] --dbpath D` with the arguments.
    fn rpm(&self, args: &[&str]) -> (Command, String) {
        let mut cmd = Command::new("rpm");
        let mut shown = String::from("rpm");
        if self.root != Path::new("/") {
            cmd.arg("--root").arg(&self.root);
            shown.push_str(&format!(" --root {}", self.root.display()));
        }
        cmd.arg("--dbpath").arg(&self.dbpath).args(args);
        shown.push_str(&format!(
            " --dbpath {} {}",
            self.dbpath.display(),
            args.join(" ")
        ));
        (cmd, shown)
    }
}

/// The fuel-release-X.Y.Z packages installed under `root`, oldest first;
/// empty when the root has no rpm database (a master not installed by rpm).
pub fn installed(root: &Path) -> Result<Vec<ReleasePackage>, ReleasePackagesError> {
    let Some(db) = Database::of(root) else {
        return Ok(Vec::new());
    };
    let all = fuel_version::installed_packages(root, &db.found).map_err(|source| {
        ReleasePackagesError::Query {
            root: root.to_path_buf(),
            source: Box::new(source),
        }
    })?;
    Ok(fuel_version::release_packages(&all)
        .into_iter()
        .map(|(release, p)| ReleasePackage {
            name: p.name.clone(),
            release: release.to_string(),
        })
        .collect())
}

/// After a successful upgrade to `deployed`: erases, with the real rpm, every
/// fuel-release older than it, so the older releases' repositories go (an
/// operator's edited .repo file is kept by rpm as `.rpmsave`). Returns what
/// was erased. Newer releases (installed for a later upgrade) stay.
pub fn retire_older(root: &Path, deployed: &str) -> Result<Vec<String>, ReleasePackagesError> {
    let older: Vec<String> = installed(root)?
        .into_iter()
        .filter(|p| compare_releases(&p.release, deployed) == Ordering::Less)
        .map(|p| p.name)
        .collect();
    if older.is_empty() {
        return Ok(older);
    }
    let db = Database::of(root).expect("installed() found the database");
    let mut args = vec!["-e"];
    args.extend(older.iter().map(String::as_str));
    let (mut cmd, shown) = db.rpm(&args);
    let out = cmd.output().map_err(|e| ReleasePackagesError::Erase {
        command: shown.clone(),
        problem: e.to_string(),
        remedy: "install rpm".into(),
    })?;
    if !out.status.success() {
        return Err(ReleasePackagesError::Erase {
            command: shown.clone(),
            problem: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            remedy: format!("fix what rpm says, then run `{shown}` again"),
        });
    }
    Ok(older)
}

/// Why `fuel-upgrade` must not run yet, if so: a newer release's
/// fuel-release is installed (its repositories are configured) but the
/// installed upgrade plan is still `plan_release`'s, because that release's
/// packages are not installed. The message names the command to run.
pub fn new_release_not_installed(
    root: &Path,
    plan_release: &str,
) -> Result<Option<String>, ReleasePackagesError> {
    let Some(newest) = installed(root)?.pop() else {
        return Ok(None);
    };
    if compare_releases(&newest.release, plan_release) != Ordering::Greater {
        return Ok(None);
    }
    let release = &newest.release;
    let dnf = if root == Path::new("/") {
        format!("dnf install fuel-{release}")
    } else {
        format!(
            "dnf --installroot {} install fuel-{release}",
            root.display()
        )
    };
    Ok(Some(format!(
        "{} is installed, but the upgrade plan here is {plan_release}'s: release {release}'s packages are not installed yet. Run `{dnf}`, then `fuel-upgrade` again",
        newest.name
    )))
}

/// After a rollback to `deployed`: the packages of a newer release stay
/// installed (and its repositories configured); what returns them too.
pub fn after_rollback_advice(
    root: &Path,
    deployed: &str,
) -> Result<Option<String>, ReleasePackagesError> {
    let newer: Vec<ReleasePackage> = installed(root)?
        .into_iter()
        .filter(|p| compare_releases(&p.release, deployed) == Ordering::Greater)
        .collect();
    if newer.is_empty() {
        return Ok(None);
    }
    let dnf = if root == Path::new("/") {
        "dnf".to_string()
    } else {
        format!("dnf --installroot {}", root.display())
    };
    let names: Vec<&str> = newer.iter().map(|p| p.name.as_str()).collect();
    Ok(Some(format!(
        "release {deployed} runs again; the packages of {} stay installed. To return them to {deployed} too: `{dnf} install fuel-{deployed}`, then `{dnf} remove {}`",
        names.join(", "),
        names.join(" ")
    )))
}

// The command hooks: `fuel-upgrade` calls these around the runner's
// commands (main.rs), so the runner itself never runs rpm.

fn failed(e: ReleasePackagesError) -> RunError {
    RunError::Failed(e.to_string())
}

/// Before `apply`: refused, naming the command to run, when a newer
/// release's fuel-release is installed but not its packages (the plan is
/// still the old release's, so apply would only say "nothing to do"). A plan
/// that does not load is left to the runner to report.
pub fn before_apply(root: &Path, plan: &Path) -> Result<(), RunError> {
    let Ok(plan) = Plan::load(plan) else {
        return Ok(());
    };
    match new_release_not_installed(root, &plan.release).map_err(failed)? {
        Some(why) => Err(RunError::Refused(why)),
        None => Ok(()),
    }
}

/// The command a hook follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// A successful `cleanup`: the releases older than the deployed one are
    /// retired (their fuel-release erased).
    Cleanup,
    /// A successful `rollback`: the older release's repositories are still
    /// configured (nothing is erased); says how to return the packages too.
    Rollback,
}

/// Runs the hook of `command`, against the release fuel-upgrade records as
/// deployed (none recorded: nothing to do).
pub async fn after(
    command: After,
    runner: &Runner,
    root: &Path,
    log: &ProgressLog,
) -> Result<(), RunError> {
    let Some(deployed) = runner.status().await?.deployed_release else {
        return Ok(());
    };
    match command {
        After::Cleanup => {
            for name in retire_older(root, &deployed).map_err(failed)? {
                log.line(format!(
                    "erased {name}: its repositories are no longer configured (release {deployed} is deployed)"
                ));
            }
        }
        After::Rollback => {
            if let Some(advice) = after_rollback_advice(root, &deployed).map_err(failed)? {
                log.line(advice);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_without_rpm_database_has_no_release_packages() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(installed(root.path()).unwrap(), []);
        assert_eq!(
            retire_older(root.path(), "8.0.0").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            new_release_not_installed(root.path(), "7.0.0").unwrap(),
            None
        );
    }
}
