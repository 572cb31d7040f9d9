//! Answers what /etc/fuel/version.yaml used to, from each field's proper home
//! (design: package-based master node upgrade):
//!
//! | field | home |
//! |---|---|
//! | release | /etc/fuel-issue, `Fuel release X.Y.Z` (fuel-release) |
//! | openstack_version | /etc/fuel_openstack_version, else the first release of /usr/share/fuel-openstack-metadata/openstack.yaml (fuel-openstack-metadata) |
//! | build_number, build_id, build_commit | /etc/fuel-buildstamp, `KEY=value` (fuel) |
//! | feature_groups, production | /etc/nailgun/settings.yaml FEATURE_GROUPS, PRODUCTION; absent → no groups, "docker" |
//! | `<component>_sha` | one `rpm -qa` query: the package's VCS tag, else a `git<hex>` fragment of its release, else unknown |
//! | api | "1.0", only in [`VersionReport::to_version_yaml`] |
//!
//! ```no_run
//! let report = fuel_version::collect(std::path::Path::new("/"))?;
//! println!("{:?}", report.release.value);
//! # Ok::<(), fuel_version::VersionError>(())
//! ```

mod components;
mod error;
mod files;
mod format;
mod openstack_yaml;
mod release;
mod report;
mod rpmdb;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use components::{ComponentMap, COMPONENTS_OVERRIDE, DEFAULT_COMPONENTS};
pub use error::VersionError;
pub use files::{
    release_packages, BUILDSTAMP, BUILDSTAMP_PACKAGE, DEFAULT_PRODUCTION, FUEL_ISSUE,
    FUEL_ISSUE_PACKAGE, OPENSTACK_PACKAGE, OPENSTACK_VERSION, OPENSTACK_YAML, SETTINGS,
    SETTINGS_PACKAGE,
};
pub use format::{shell_key, API_VERSION};
pub use openstack_yaml::{nailgun_releases, NailgunRelease, OpenstackYamlError};
pub use release::{compare_releases, series};
pub use report::{
    Completeness, ComponentSha, Entry, Field, InstalledPackage, ShaOrigin, Source, Value, Values,
    VersionReport,
};
// fuel-upgrade reads and erases the installed fuel-release-X.Y.Z packages
// through the database handle.
pub use rpmdb::{database_candidates, sha_of_release, sha_of_vcs, RpmDatabase};

/// What to read: a root (files and rpm database, as `rpm --root`) and
/// optionally a component map other than the root's or the embedded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub root: PathBuf,
    /// `--components FILE`; else `<root>/etc/fuel-version/components.yaml`, else embedded.
    pub components: Option<PathBuf>,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            root: PathBuf::from("/"),
            components: None,
        }
    }
}

impl Sources {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sources {
            root: root.into(),
            components: None,
        }
    }

    /// Reads every source: at most one rpm process.
    pub fn collect(&self) -> Result<VersionReport, VersionError> {
        let root = self.root.as_path();
        let map = ComponentMap::load(root, self.components.as_deref())?;
        let database = RpmDatabase::find(root);
        let installed = match &database {
            Some(db) => Some(db.query()?),
            None => None,
        };
        let rpm_database = database.map(|db| db.dir().to_path_buf());
        let files_root = files::Root {
            dir: root,
            installed: installed.as_deref(),
        };
        let release = files::release(&files_root)?;
        let openstack_version = files::openstack_version(&files_root)?;
        let stamp = files::buildstamp(&files_root)?;
        let (feature_groups, production) = files::settings(&files_root)?;

        let series = release.value.as_deref().and_then(series);
        let mut components = Vec::new();
        for (component, template) in &map.components {
            let found = installed.as_deref().and_then(|all| {
                match ComponentMap::resolve(template, series.as_deref()) {
                    Some(name) => all.iter().find(|p| p.name == name),
                    // Release unknown: the newest installed package of the template's shape.
                    None => all
                        .iter()
                        .filter_map(|p| {
                            ComponentMap::matches_any_series(template, &p.name).map(|s| (s, p))
                        })
                        .max_by(|a, b| compare_releases(&a.0, &b.0))
                        .map(|(_, p)| p),
                }
            });
            let package = found
                .map(|p| p.name.clone())
                .or_else(|| ComponentMap::resolve(template, series.as_deref()))
                .unwrap_or_else(|| template.clone());
            let sha = match (found, &installed) {
                (Some(p), _) => match (&p.sha, p.sha_from) {
                    (Some(sha), Some(from)) => Field {
                        value: Some(sha.clone()),
                        source: Source::RpmDatabase {
                            package: p.name.clone(),
                            evr: p.evr(),
                            from,
                        },
                    },
                    _ => Field {
                        value: None,
                        source: Source::Unknown {
                            reason: format!(
                                "{}-{} has no commit: no VCS tag and no git<hex> in its release",
                                p.name,
                                p.evr()
                            ),
                        },
                    },
                },
                (None, Some(_)) => Field {
                    value: None,
                    source: Source::Unknown {
                        reason: format!(
                            "package {package} is not installed: {}",
                            files::dnf(root, "install", &package)
                        ),
                    },
                },
                (None, None) => Field {
                    value: None,
                    source: Source::Unknown {
                        reason: no_database(root),
                    },
                },
            };
            components.push(ComponentSha {
                component: component.clone(),
                package,
                sha,
            });
        }

        let component_packages: Vec<&str> = components.iter().map(|c| c.package.as_str()).collect();
        let packages = installed
            .unwrap_or_default()
            .into_iter()
            .filter(|p| {
                component_packages.contains(&p.name.as_str())
                    || map
                        .package_prefixes
                        .iter()
                        .any(|prefix| p.name.starts_with(prefix.as_str()))
            })
            .collect();
        Ok(VersionReport {
            root: root.to_path_buf(),
            release,
            openstack_version,
            build_number: stamp.build_number,
            build_id: stamp.build_id,
            build_commit: stamp.build_commit,
            feature_groups,
            production,
            components,
            rpm_database,
            packages,
        })
    }
}

/// Why a root has no package answers: where rpm databases were looked for, and what to do.
pub fn no_database(root: &Path) -> String {
    let looked: Vec<String> = database_candidates(root)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    format!(
        "no rpm database under {} (looked in {}): install the Fuel packages with `rpm --root` or `dnf --installroot`",
        root.display(),
        looked.join(", ")
    )
}

/// [`Sources::collect`] for a root with the default component map.
pub fn collect(root: &Path) -> Result<VersionReport, VersionError> {
    Sources::new(root).collect()
}
