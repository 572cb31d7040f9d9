//! The file sources: /etc/fuel-issue, /etc/fuel_openstack_version (or
//! openstack.yaml), /etc/fuel-buildstamp, /etc/nailgun/settings.yaml.
//! Each reader returns the field (unknown with the reason when the file is
//! absent) or an error naming file and line when the file is malformed.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::components::line_of;
use crate::error::VersionError;
use crate::report::{Field, InstalledPackage, Source};

pub const FUEL_ISSUE: &str = "/etc/fuel-issue";
pub const OPENSTACK_VERSION: &str = "/etc/fuel_openstack_version";
pub const OPENSTACK_YAML: &str = "/usr/share/fuel-openstack-metadata/openstack.yaml";
pub const BUILDSTAMP: &str = "/etc/fuel-buildstamp";
pub const SETTINGS: &str = "/etc/nailgun/settings.yaml";

/// The rpm shipping each file.
pub const FUEL_ISSUE_PACKAGE: &str = "fuel-release";
pub const OPENSTACK_PACKAGE: &str = "fuel-openstack-metadata";
pub const BUILDSTAMP_PACKAGE: &str = "fuel";
pub const SETTINGS_PACKAGE: &str = "fuel-nailgun";

/// Documented defaults when settings.yaml does not say.
pub const DEFAULT_PRODUCTION: &str = "docker";

/// What the reader needs to know about the root: where it is and, for the
/// reasons of a missing file, which packages are installed.
pub struct Root<'a> {
    pub dir: &'a Path,
    /// `None` when the root has no rpm database.
    pub installed: Option<&'a [InstalledPackage]>,
}

/// The dnf command line that acts on `package` in `root` (`--installroot` unless "/").
pub(crate) fn dnf(root: &Path, verb: &str, package: &str) -> String {
    if root == Path::new("/") {
        format!("`dnf {verb} {package}`")
    } else {
        format!("`dnf --installroot {} {verb} {package}`", root.display())
    }
}

impl Root<'_> {
    fn malformed(
        &self,
        file: &str,
        line: Option<usize>,
        package: &str,
        problem: impl Into<String>,
    ) -> VersionError {
        VersionError::malformed(
            self.path(file),
            line,
            package,
            problem,
            dnf(self.dir, "reinstall", package),
        )
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file.trim_start_matches('/'))
    }

    /// The file's text, `Ok(None)` when it does not exist.
    fn read(&self, file: &str) -> Result<Option<String>, VersionError> {
        let path = self.path(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(VersionError::Read { path, source }),
        }
    }

    /// Why a file is missing, and what to do.
    pub fn missing(&self, file: &str, package: &str) -> String {
        let path = self.path(file);
        let path = path.display();
        match self.installed.map(|all| provider(all, package)) {
            Some(Some(p)) => format!(
                "{path} is missing although {}-{} (which provides it) is installed: restore it with {}",
                p.name,
                p.evr(),
                dnf(self.dir, "reinstall", &p.name)
            ),
            Some(None) => format!(
                "{path} is missing: it is provided by package {package}, which is not installed: {}",
                dnf(self.dir, "install", package)
            ),
            None => format!("{path} is missing: it is provided by package {package}: {}", dnf(self.dir, "install", package)),
        }
    }

    fn file_source(&self, file: &str, line: Option<usize>, package: &str) -> Source {
        Source::File {
            path: self.path(file),
            line,
            package: package.into(),
        }
    }
}

/// The installed package shipping a file of `package`: itself, or for
/// fuel-release the newest `fuel-release-X.Y.Z` ([`release_packages`]).
fn provider<'a>(installed: &'a [InstalledPackage], package: &str) -> Option<&'a InstalledPackage> {
    installed.iter().find(|p| p.name == package).or_else(|| {
        (package == FUEL_ISSUE_PACKAGE)
            .then(|| release_packages(installed).last().map(|(_, p)| *p))
            .flatten()
    })
}

/// The installed `fuel-release-X.Y.Z` packages with their X.Y.Z, oldest
/// first. fuel-release carries its release in its name, so that releases
/// install side by side and an upgrade keeps the older one until
/// `fuel-upgrade cleanup` retires it.
pub fn release_packages(installed: &[InstalledPackage]) -> Vec<(&str, &InstalledPackage)> {
    let mut found: Vec<(&str, &InstalledPackage)> = installed
        .iter()
        .filter_map(|p| {
            let release = p.name.strip_prefix(FUEL_ISSUE_PACKAGE)?.strip_prefix('-')?;
            crate::release::is_release(release).then_some((release, p))
        })
        .collect();
    found.sort_by(|a, b| crate::release::compare_releases(a.0, b.0));
    found
}

fn unknown<T>(reason: String) -> Field<T> {
    Field {
        value: None,
        source: Source::Unknown { reason },
    }
}

/// The content lines of a one-line file: trailing newline tolerated, nothing else.
fn single_line(
    root: &Root,
    file: &str,
    package: &str,
    text: &str,
    expected: &str,
) -> Result<String, VersionError> {
    let lines: Vec<&str> = text.lines().collect();
    let trimmed_end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    match &lines[..trimmed_end] {
        [] => Err(root.malformed(
            file,
            Some(1),
            package,
            format!("empty, expected {expected}"),
        )),
        [line] => Ok(line.trim().to_string()),
        [_, second, ..] => Err(root.malformed(
            file,
            Some(2),
            package,
            format!("expected one line ({expected}), found a second one: {second:?}"),
        )),
    }
}

/// release: `Fuel release X.Y.Z`, one line.
pub fn release(root: &Root) -> Result<Field<String>, VersionError> {
    let Some(text) = root.read(FUEL_ISSUE)? else {
        return Ok(unknown(root.missing(FUEL_ISSUE, FUEL_ISSUE_PACKAGE)));
    };
    let expected = "`Fuel release X.Y.Z`";
    let line = single_line(root, FUEL_ISSUE, FUEL_ISSUE_PACKAGE, &text, expected)?;
    match line.strip_prefix("Fuel release ").map(str::trim) {
        Some(v) if crate::release::is_release(v) => Ok(Field {
            value: Some(v.to_string()),
            source: root.file_source(FUEL_ISSUE, Some(1), FUEL_ISSUE_PACKAGE),
        }),
        _ => Err(root.malformed(
            FUEL_ISSUE,
            Some(1),
            FUEL_ISSUE_PACKAGE,
            format!("expected {expected}, found {line:?}"),
        )),
    }
}

/// openstack_version: /etc/fuel_openstack_version, else the first release of openstack.yaml.
pub fn openstack_version(root: &Root) -> Result<Field<String>, VersionError> {
    if let Some(text) = root.read(OPENSTACK_VERSION)? {
        let v = single_line(
            root,
            OPENSTACK_VERSION,
            OPENSTACK_PACKAGE,
            &text,
            "the OpenStack version",
        )?;
        return Ok(Field {
            value: Some(v),
            source: root.file_source(OPENSTACK_VERSION, Some(1), OPENSTACK_PACKAGE),
        });
    }
    let Some(text) = root.read(OPENSTACK_YAML)? else {
        return Ok(unknown(format!(
            "neither {} nor {} exists; {}",
            root.path(OPENSTACK_VERSION).display(),
            root.path(OPENSTACK_YAML).display(),
            root.missing(OPENSTACK_YAML, OPENSTACK_PACKAGE)
        )));
    };
    let bad =
        |line, problem: String| root.malformed(OPENSTACK_YAML, line, OPENSTACK_PACKAGE, problem);
    let releases =
        crate::openstack_yaml::nailgun_releases(&text).map_err(|e| bad(e.line(), e.to_string()))?;
    let release = releases.first().ok_or_else(|| {
        bad(
            None,
            "no release in it (no fixture with `model: nailgun.release`)".into(),
        )
    })?;
    match release.version.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(v) => Ok(Field {
            value: Some(v.trim().to_string()),
            source: root.file_source(
                OPENSTACK_YAML,
                line_of(&text, "version:"),
                OPENSTACK_PACKAGE,
            ),
        }),
        None => Err(bad(
            line_of(&text, "model: nailgun.release"),
            "the first release (`model: nailgun.release`) has no `fields.version` string".into(),
        )),
    }
}

/// The buildstamp's fields: build_number, build_id, build_commit.
pub struct Buildstamp {
    pub build_number: Field<String>,
    pub build_id: Field<String>,
    pub build_commit: Field<String>,
}

/// /etc/fuel-buildstamp: `KEY=value` lines (blank lines and `#` comments allowed).
pub fn buildstamp(root: &Root) -> Result<Buildstamp, VersionError> {
    let Some(text) = root.read(BUILDSTAMP)? else {
        let reason = root.missing(BUILDSTAMP, BUILDSTAMP_PACKAGE);
        return Ok(Buildstamp {
            build_number: unknown(reason.clone()),
            build_id: unknown(reason.clone()),
            build_commit: unknown(reason),
        });
    };
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let key_ok =
            |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match trimmed.split_once('=') {
            Some((k, v)) if key_ok(k) => {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                pairs.push((k.to_string(), v.to_string(), i + 1));
            }
            _ => {
                return Err(root.malformed(
                    BUILDSTAMP,
                    Some(i + 1),
                    BUILDSTAMP_PACKAGE,
                    format!("expected KEY=value, found {trimmed:?}"),
                ))
            }
        }
    }
    let field = |key: &str| match pairs.iter().rev().find(|(k, _, _)| k == key) {
        Some((_, v, line)) if !v.is_empty() => Field {
            value: Some(v.clone()),
            source: root.file_source(BUILDSTAMP, Some(*line), BUILDSTAMP_PACKAGE),
        },
        _ => unknown(format!(
            "{} has no {key}=… line: restore it with {}",
            root.path(BUILDSTAMP).display(),
            dnf(root.dir, "reinstall", BUILDSTAMP_PACKAGE)
        )),
    };
    Ok(Buildstamp {
        build_number: field("BUILD_NUMBER"),
        build_id: field("BUILD_ID"),
        build_commit: field("BUILD_COMMIT"),
    })
}

/// feature_groups and production, from the master's runtime settings.
pub fn settings(root: &Root) -> Result<(Field<Vec<String>>, Field<String>), VersionError> {
    let path = root.path(SETTINGS);
    let Some(text) = root.read(SETTINGS)? else {
        let why = format!("{} is absent: documented default", path.display());
        return Ok((
            Field {
                value: Some(Vec::new()),
                source: Source::Default {
                    reason: format!("{why} (no feature groups)"),
                },
            },
            Field {
                value: Some(DEFAULT_PRODUCTION.into()),
                source: Source::Default {
                    reason: format!("{why} (\"{DEFAULT_PRODUCTION}\")"),
                },
            },
        ));
    };
    let bad = |line, problem: String| {
        VersionError::Malformed {
        path: path.clone(),
        line,
        package: Some(SETTINGS_PACKAGE.into()),
        problem,
        remedy: format!("It is the master's runtime configuration (package {SETTINGS_PACKAGE}): fix it, or move it away to use the defaults"),
    }
    };
    let doc: serde_json::Value =
        crate::yaml::from_str(&text).map_err(|e| bad(e.line, format!("not YAML: {e}")))?;
    let empty = serde_json::Map::new();
    let map = match &doc {
        serde_json::Value::Null => &empty,
        serde_json::Value::Object(m) => m,
        _ => return Err(bad(Some(1), "expected a YAML mapping (KEY: value)".into())),
    };
    let default = |key: &str, what: &str| Source::Default {
        reason: format!(
            "{key} is not set in {}: documented default ({what})",
            path.display()
        ),
    };
    let feature_groups = match map.get("FEATURE_GROUPS") {
        None | Some(serde_json::Value::Null) => Field {
            value: Some(Vec::new()),
            source: default("FEATURE_GROUPS", "no feature groups"),
        },
        Some(list) => {
            let line = line_of(&text, "FEATURE_GROUPS:");
            let groups = list
                .as_array()
                .and_then(|s| s.iter().map(|g| g.as_str().map(str::to_string)).collect::<Option<Vec<_>>>())
                .ok_or_else(|| bad(line, "FEATURE_GROUPS must be a list of names (e.g. `FEATURE_GROUPS: [experimental]`)".into()))?;
            Field {
                value: Some(groups),
                source: root.file_source(SETTINGS, line, SETTINGS_PACKAGE),
            }
        }
    };
    let production = match map.get("PRODUCTION") {
        None | Some(serde_json::Value::Null) => Field {
            value: Some(DEFAULT_PRODUCTION.into()),
            source: default("PRODUCTION", "\"docker\""),
        },
        Some(serde_json::Value::String(s)) => Field {
            value: Some(s.clone()),
            source: root.file_source(SETTINGS, line_of(&text, "PRODUCTION:"), SETTINGS_PACKAGE),
        },
        Some(other) => {
            return Err(bad(
                line_of(&text, "PRODUCTION:"),
                format!("PRODUCTION must be a string, found {other:?}"),
            ))
        }
    };
    Ok((feature_groups, production))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(name: &str, version: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            version: version.into(),
            release: "1".into(),
            arch: "noarch".into(),
            vcs: None,
            sha: None,
            sha_from: None,
        }
    }

    #[test]
    fn fuel_issue_comes_from_the_newest_release_package() {
        let all = [
            installed("fuel-release-7.0.0", "7.0.0"),
            installed("fuel-release-10.0.0", "10.0.0"),
            installed("fuel-release-8.0.0", "8.0.0"),
            installed("fuel-release-notes", "1.0"),
            installed("fuel", "10.0.0"),
        ];
        let releases: Vec<&str> = release_packages(&all).iter().map(|(r, _)| *r).collect();
        assert_eq!(releases, ["7.0.0", "8.0.0", "10.0.0"]);
        let found = |package| provider(&all, package).map(|p| p.name.as_str());
        assert_eq!(found(FUEL_ISSUE_PACKAGE), Some("fuel-release-10.0.0"));
        assert_eq!(found(BUILDSTAMP_PACKAGE), Some("fuel"));
        assert_eq!(found(OPENSTACK_PACKAGE), None);
        let root = Root {
            dir: Path::new("/srv/master"),
            installed: Some(&all),
        };
        let said = root.missing(FUEL_ISSUE, FUEL_ISSUE_PACKAGE);
        assert!(
            said.contains("fuel-release-10.0.0-10.0.0-1 (which provides it) is installed")
                && said.contains("`dnf --installroot /srv/master reinstall fuel-release-10.0.0`"),
            "{said}"
        );
    }
}
