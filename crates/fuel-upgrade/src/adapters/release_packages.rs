//! The master's fuel-release-X.Y.Z packages around an upgrade.
//!
//! Each release's fuel-release carries the release in its name, so
//! `rpm -i fuel-release-8.0.0-…` on a 7.0.0 master adds 8.0.0's repositories
//! beside 7.0.0's (specs/fuel-release.toml). This module is what fuel-upgrade
//! does with them, through the root's rpm database
//! ([`fuel_version::RpmDatabase`], the one place rpm is run): `cleanup`
//! retires the releases older than the deployed one (the real rpm erases
//! them, so their repositories go), `rollback` leaves them alone, and a run
//! started before the new release's packages are installed is refused with
//! the command that installs them. The runner calls these around its commands.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use fuel_version::{compare_releases, RpmDatabase, VersionError};

#[derive(Debug, thiserror::Error)]
pub enum ReleasePackagesError {
    #[error("reading the installed packages under {root}: {source}")]
    Query {
        root: PathBuf,
        // Boxed: fuel-version's error is large, and this one is rare.
        #[source]
        source: Box<VersionError>,
    },
    #[error("the older releases' repositories stay configured: {source}")]
    Erase {
        #[source]
        source: Box<VersionError>,
    },
    /// A newer release's fuel-release is installed (its repositories are
    /// configured) but the installed plan is still an older release's,
    /// because the newer release's packages are not installed: apply would
    /// only say "nothing to do".
    #[error("{package} is installed, but the upgrade plan here is {plan_release}'s: release {release}'s packages are not installed yet. Run `{install}`, then `fuel-upgrade` again")]
    NewReleaseNotInstalled {
        /// fuel-release-X.Y.Z
        package: String,
        plan_release: String,
        /// X.Y.Z
        release: String,
        /// The dnf command that installs the release's packages.
        install: String,
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

/// The fuel-release packages of a root.
#[derive(Debug, Clone)]
pub(crate) struct ReleasePackages {
    root: PathBuf,
}

impl ReleasePackages {
    pub fn under(root: &Path) -> ReleasePackages {
        ReleasePackages {
            root: root.to_path_buf(),
        }
    }

    /// `dnf` as the operator runs it for this root.
    fn dnf(&self) -> String {
        if self.root == Path::new("/") {
            "dnf".to_string()
        } else {
            format!("dnf --installroot {}", self.root.display())
        }
    }

    /// The fuel-release-X.Y.Z packages installed, oldest first, and the
    /// database; empty when the root has no rpm database (a master not
    /// installed by rpm).
    fn read(&self) -> Result<(Vec<ReleasePackage>, Option<RpmDatabase>), ReleasePackagesError> {
        let Some(db) = RpmDatabase::find(&self.root) else {
            return Ok((Vec::new(), None));
        };
        let all = db.query().map_err(|source| ReleasePackagesError::Query {
            root: self.root.clone(),
            source: Box::new(source),
        })?;
        let packages = fuel_version::release_packages(&all)
            .into_iter()
            .map(|(release, p)| ReleasePackage {
                name: p.name.clone(),
                release: release.to_string(),
            })
            .collect();
        Ok((packages, Some(db)))
    }

    /// The fuel-release-X.Y.Z packages installed, oldest first.
    pub fn installed(&self) -> Result<Vec<ReleasePackage>, ReleasePackagesError> {
        Ok(self.read()?.0)
    }

    /// After a successful upgrade to `deployed`: erases, with the real rpm,
    /// every fuel-release older than it, so the older releases' repositories
    /// go (an operator's edited .repo file is kept by rpm as `.rpmsave`).
    /// Returns what was erased. Newer releases (installed for a later
    /// upgrade) stay.
    pub fn retire_older(&self, deployed: &str) -> Result<Vec<String>, ReleasePackagesError> {
        let (installed, db) = self.read()?;
        let older: Vec<String> = installed
            .into_iter()
            .filter(|p| compare_releases(&p.release, deployed) == Ordering::Less)
            .map(|p| p.name)
            .collect();
        if let (Some(db), false) = (db, older.is_empty()) {
            let names: Vec<&str> = older.iter().map(String::as_str).collect();
            db.erase(&names)
                .map_err(|source| ReleasePackagesError::Erase {
                    source: Box::new(source),
                })?;
        }
        Ok(older)
    }

    /// Before `apply`: refused ([`ReleasePackagesError::NewReleaseNotInstalled`],
    /// naming the command to run) when a newer release's fuel-release is
    /// installed but the installed plan is still `plan_release`'s.
    pub fn check_plan_is_newest(&self, plan_release: &str) -> Result<(), ReleasePackagesError> {
        let Some(newest) = self.installed()?.pop() else {
            return Ok(());
        };
        if compare_releases(&newest.release, plan_release) != Ordering::Greater {
            return Ok(());
        }
        Err(ReleasePackagesError::NewReleaseNotInstalled {
            install: format!("{} install fuel-{}", self.dnf(), newest.release),
            package: newest.name,
            plan_release: plan_release.to_string(),
            release: newest.release,
        })
    }

    /// After a rollback to `deployed`: the packages of a newer release stay
    /// installed (and its repositories configured); what returns them too.
    pub fn after_rollback_advice(
        &self,
        deployed: &str,
    ) -> Result<Option<String>, ReleasePackagesError> {
        let newer: Vec<ReleasePackage> = self
            .installed()?
            .into_iter()
            .filter(|p| compare_releases(&p.release, deployed) == Ordering::Greater)
            .collect();
        if newer.is_empty() {
            return Ok(None);
        }
        let dnf = self.dnf();
        let names: Vec<&str> = newer.iter().map(|p| p.name.as_str()).collect();
        Ok(Some(format!(
            "release {deployed} runs again; the packages of {} stay installed. To return them to {deployed} too: `{dnf} install fuel-{deployed}`, then `{dnf} remove {}`",
            names.join(", "),
            names.join(" ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_without_rpm_database_has_no_release_packages() {
        let root = tempfile::tempdir().unwrap();
        let packages = ReleasePackages::under(root.path());
        assert_eq!(packages.installed().unwrap(), []);
        assert_eq!(
            packages.retire_older("8.0.0").unwrap(),
            Vec::<String>::new()
        );
        packages.check_plan_is_newest("7.0.0").unwrap();
        assert_eq!(packages.after_rollback_advice("7.0.0").unwrap(), None);
    }
}
