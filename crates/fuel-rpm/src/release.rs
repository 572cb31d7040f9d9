//! The release set: specs + one release's options → checked [`PackageDef`]s →
//! signed rpms. `cargo xtask rpm` is a thin front on [`ReleaseBuild`]; tests
//! build another release (N-1) from the same tree by changing `fuel_version`.
//!
//! ```no_run
//! # fn main() -> Result<(), fuel_rpm::release::ReleaseError> {
//! let mut build = fuel_rpm::release::ReleaseBuild::for_workspace("/work/main".as_ref())?;
//! build.fuel_version = "7.0.0".into();
//! build.out_dir = "/tmp/release-7".into();
//! for package in build.build()? {
//!     println!("{} {} bytes", package.file_name, package.size);
//! }
//! # Ok(()) }
//! ```

use crate::build::{write_package, BuildError, BuiltPackage, SigningKey};
use crate::lint::{self, LintErrors};
use crate::spec::resolve::{resolve, ReleaseValues};
use crate::spec::template::Variables;
use crate::spec::{self, LoadError, Placement, Spec};
use crate::PackageDef;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where fuel-release's .repo files point by default: the Fuel mirror, one
/// tree per release. `$fuelver` is replaced by X.Y.Z at build time, so each
/// release's .repo files carry their own release literally (no yum variable
/// that two installed releases would share).
/// `--repo-baseurl file:///srv/mirror/fuel/$fuelver` works too.
pub const DEFAULT_REPO_BASEURL: &str = "http://mirror.fuel-infra.org/fuel/$fuelver";

/// The placeholder of the release in `--repo-baseurl`.
pub const REPO_BASEURL_RELEASE: &str = "$fuelver";

/// Who signs the changelog entries and the Packager tag.
pub const PACKAGER_EMAIL: &str = "fuel-dev@lists.openstack.org";

/// Where the development key is generated (once) when no key is given.
pub const DEVELOPMENT_KEY_DIR: &str = "target/fuel-dev-key";

/// One release set to build. [`ReleaseBuild::for_workspace`] fills every field
/// from the tree and the environment; change what the build needs.
#[derive(Debug, Clone)]
pub struct ReleaseBuild {
    pub workspace_root: PathBuf,
    /// X.Y.Z (default: `[workspace.package] version`).
    pub fuel_version: String,
    /// rpm Release (default: `[workspace.metadata.fuel] release`).
    pub release: String,
    /// Where the rpms go (default: target/rpms).
    pub out_dir: PathBuf,
    /// `None`: the development key under target/fuel-dev-key/.
    pub key: Option<SigningKey>,
    /// `docker save` archives for fuel-docker-images; `None` leaves it out.
    pub images_dir: Option<PathBuf>,
    /// @REPO_BASEURL@ of the .repo files (default [`DEFAULT_REPO_BASEURL`]).
    pub repo_baseurl: String,
    /// SOURCE_DATE_EPOCH (default: env, else the commit's time).
    pub source_date: u32,
    /// Full 40-hex sha of the source commit (default: `git rev-parse HEAD`).
    pub commit: String,
    /// Default: env BUILD_NUMBER, else "0".
    pub build_number: String,
    /// Default: env BUILD_ID, else `source_date` as `2015-07-23_10-59-34`.
    pub build_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{0}")]
    Lint(#[from] LintErrors),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{0}")]
    Workspace(String),
    #[error("{option}: {message}")]
    Option {
        option: &'static str,
        message: String,
    },
}

/// Workspace-wide package defaults, from the root Cargo.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceInfo {
    pub version: String,
    pub release: String,
    pub license: String,
    pub vendor: String,
    pub url: String,
}

impl WorkspaceInfo {
    pub fn read(workspace_root: &Path) -> Result<Self, ReleaseError> {
        let file = workspace_root.join("Cargo.toml");
        let text = std::fs::read_to_string(&file).map_err(|e| {
            ReleaseError::Workspace(format!("{}: cannot read: {e}", file.display()))
        })?;
        let value: toml::Table = toml::from_str(&text)
            .map_err(|e| ReleaseError::Workspace(format!("{}: {e}", file.display())))?;
        let get = |path: &[&str]| -> Result<String, ReleaseError> {
            let mut node = value.get(path[0]);
            for key in &path[1..] {
                node = node.and_then(|n| n.get(key));
            }
            node.and_then(|n| n.as_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    ReleaseError::Workspace(format!(
                        "{}: {} is missing: add it",
                        file.display(),
                        path.join(".")
                    ))
                })
        };
        Ok(WorkspaceInfo {
            version: get(&["workspace", "package", "version"])?,
            release: get(&["workspace", "metadata", "fuel", "release"])?,
            license: get(&["workspace", "package", "license"])?,
            vendor: get(&["workspace", "metadata", "fuel", "vendor"])?,
            url: get(&["workspace", "metadata", "fuel", "url"])?,
        })
    }
}

/// The specs of a release set: every specs_dir/*.toml, and (when `with_crates`)
/// every crates/*/Cargo.toml with a `[package.metadata.generate-rpm]` section.
pub fn load_specs(
    workspace_root: &Path,
    specs_dir: &Path,
    with_crates: bool,
) -> Result<Vec<Spec>, LoadError> {
    let mut specs = spec::load_dir(specs_dir, workspace_root)?;
    let crates = workspace_root.join("crates");
    if with_crates && crates.is_dir() {
        let mut manifests: Vec<PathBuf> = std::fs::read_dir(&crates)
            .map_err(|source| LoadError::Read {
                file: crates.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path().join("Cargo.toml")))
            .filter(|m| {
                std::fs::read_to_string(m)
                    .is_ok_and(|t| t.contains("[package.metadata.generate-rpm"))
            })
            .collect();
        manifests.sort();
        for manifest in manifests {
            specs.push(spec::load_cargo_manifest(&manifest, workspace_root)?);
        }
    }
    Ok(specs)
}

impl ReleaseBuild {
    /// This tree's release with every default applied (see the fields).
    pub fn for_workspace(workspace_root: &Path) -> Result<Self, ReleaseError> {
        let info = WorkspaceInfo::read(workspace_root)?;
        let commit = git(workspace_root, &["rev-parse", "HEAD"])?;
        let source_date = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(value) => value.trim().parse().map_err(|_| ReleaseError::Option {
                option: "SOURCE_DATE_EPOCH",
                message: format!("`{value}` is not a number of seconds since 1970"),
            })?,
            Err(_) => git(workspace_root, &["log", "-1", "--format=%ct", "HEAD"])?
                .parse()
                .map_err(|_| ReleaseError::Workspace("git log printed no commit time".into()))?,
        };
        let env_or = |name: &str, default: String| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or(default)
        };
        Ok(ReleaseBuild {
            workspace_root: workspace_root.to_path_buf(),
            fuel_version: info.version,
            release: info.release,
            out_dir: workspace_root.join("target/rpms"),
            key: None,
            images_dir: None,
            repo_baseurl: DEFAULT_REPO_BASEURL.to_string(),
            source_date,
            commit,
            build_number: env_or("BUILD_NUMBER", "0".into()),
            build_id: env_or("BUILD_ID", build_id(source_date)),
        })
    }

    /// The specs of this set (specs/ and the crates' manifests), unchecked.
    pub fn specs(&self) -> Result<Vec<Spec>, ReleaseError> {
        let specs = load_specs(
            &self.workspace_root,
            &self.workspace_root.join("specs"),
            true,
        )?;
        Ok(specs
            .into_iter()
            .filter(|s| s.doc.only_with.as_deref() != Some("images") || self.images_dir.is_some())
            .collect())
    }

    /// The key that signs the set: the given one, else the development key.
    pub fn signing_key(&self) -> Result<SigningKey, ReleaseError> {
        match &self.key {
            Some(key) => Ok(key.clone()),
            None => Ok(SigningKey::development(
                &self.workspace_root.join(DEVELOPMENT_KEY_DIR),
            )?),
        }
    }

    /// Checks the options and lints the specs, then resolves every package.
    /// Writes nothing.
    pub fn package_defs(&self, key: &SigningKey) -> Result<Vec<PackageDef>, ReleaseError> {
        self.check_options()?;
        let specs = self.specs()?;
        lint::lint(&specs, self.images_dir.as_deref())?;
        let info = WorkspaceInfo::read(&self.workspace_root)?;
        let packager = format!("{} <{PACKAGER_EMAIL}>", info.vendor);
        let public_key = key.public_key_armored();
        let set_names: Vec<String> = specs
            .iter()
            .filter(|s| s.doc.placement == Placement::Master)
            .filter_map(|s| s.doc.name.clone())
            .collect();
        let vars = self.variables();
        let values = ReleaseValues {
            version: &self.fuel_version,
            release: &self.release,
            commit: &self.commit,
            source_date: self.source_date,
            license: &info.license,
            vendor: &info.vendor,
            url: &info.url,
            packager: &packager,
            vars: &vars,
            images_dir: self.images_dir.as_deref(),
            public_key: &public_key,
            set_names: &set_names,
        };
        specs
            .iter()
            .map(|spec| resolve(spec, &values).map_err(|e| ReleaseError::Lint(LintErrors(vec![e]))))
            .collect()
    }

    /// Lints, then builds and signs every package into `out_dir`. A spec error
    /// stops the build before any file is written.
    pub fn build(&self) -> Result<Vec<BuiltPackage>, ReleaseError> {
        let key = self.signing_key()?;
        let defs = self.package_defs(&key)?;
        let mut built = Vec::with_capacity(defs.len());
        for def in &defs {
            built.push(write_package(def, Some(&key), &self.out_dir)?);
        }
        Ok(built)
    }

    /// The template variables of this release.
    pub fn variables(&self) -> Variables {
        let mut vars = Variables::new();
        vars.set("FUEL_VERSION", self.fuel_version.clone())
            .set(
                "FUEL_SERIES",
                // X.Y; check_options refuses a version that has none.
                fuel_version::series(&self.fuel_version).unwrap_or_default(),
            )
            .set("FUEL_RELEASE", self.release.clone())
            .set("BUILD_COMMIT", self.commit.clone())
            .set("BUILD_NUMBER", self.build_number.clone())
            .set("BUILD_ID", self.build_id.clone())
            .set("REPO_BASEURL", self.release_baseurl());
        vars
    }

    /// The base URL of this release's repositories: `repo_baseurl` with
    /// `$fuelver` replaced by X.Y.Z.
    pub fn release_baseurl(&self) -> String {
        self.repo_baseurl
            .trim_end_matches('/')
            .replace(REPO_BASEURL_RELEASE, &self.fuel_version)
    }

    fn check_options(&self) -> Result<(), ReleaseError> {
        let parts: Vec<&str> = self.fuel_version.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ReleaseError::Option {
                option: "--fuel-version",
                message: format!("`{}` is not X.Y.Z (e.g. 8.0.0)", self.fuel_version),
            });
        }
        if self.release.is_empty()
            || !self
                .release
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Err(ReleaseError::Option {
                option: "--release-number",
                message: format!(
                    "`{}` is not an rpm release: use digits (and . or _)",
                    self.release
                ),
            });
        }
        if self.commit.len() != 40 || !self.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ReleaseError::Option {
                option: "commit",
                message: format!("`{}` is not a full 40-hex commit sha", self.commit),
            });
        }
        for (option, value) in [
            ("BUILD_NUMBER", &self.build_number),
            ("BUILD_ID", &self.build_id),
            ("--repo-baseurl", &self.repo_baseurl),
        ] {
            if value.is_empty() || value.contains(char::is_whitespace) {
                return Err(ReleaseError::Option {
                    option,
                    message: format!("`{value}` must be one word without spaces"),
                });
            }
        }
        // Releases install side by side: two whose repositories shared one URL
        // would each see the other's packages.
        if !self.repo_baseurl.contains(REPO_BASEURL_RELEASE)
            && !self.repo_baseurl.contains(&self.fuel_version)
        {
            return Err(ReleaseError::Option {
                option: "--repo-baseurl",
                message: format!(
                    "`{}` names no release: end it with `/$fuelver` (replaced by {}) or write the release in it",
                    self.repo_baseurl, self.fuel_version
                ),
            });
        }
        if let Some(dir) = &self.images_dir {
            if !dir.is_dir() {
                return Err(ReleaseError::Option {
                    option: "--images",
                    message: format!("{} is not a directory", dir.display()),
                });
            }
        }
        Ok(())
    }
}

/// `2015-07-23_10-59-34` (UTC), the BUILD_ID form of Fuel's CI.
pub fn build_id(epoch: u32) -> String {
    let days = i64::from(epoch / 86_400);
    let secs = epoch % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}_{:02}-{:02}-{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn git(workspace_root: &Path, args: &[&str]) -> Result<String, ReleaseError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(workspace_root)
        .args(args)
        .output()
        .map_err(|e| {
            ReleaseError::Workspace(format!(
                "cannot run git (needed for the source commit): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(ReleaseError::Workspace(format!(
            "git {} failed in {}: {}",
            args.join(" "),
            workspace_root.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_id_has_the_ci_form() {
        assert_eq!(build_id(1_437_649_174), "2015-07-23_10-59-34");
        assert_eq!(build_id(0), "1970-01-01_00-00-00");
    }
}
