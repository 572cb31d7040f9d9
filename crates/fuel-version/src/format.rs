//! Text renderings of a report: the old version.yaml layout, `eval`-able
//! shell, and the human summary. (JSON and YAML are serde's.)

use std::fmt::Write;

use crate::report::{Completeness, Source, Value, VersionReport};

/// The deprecated `api` key, kept only in the compatibility format.
pub const API_VERSION: &str = "1.0";

/// What the compatibility formats print for an unknown value.
const UNKNOWN: &str = "unknown";

/// A double-quoted scalar: JSON string syntax is valid YAML.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// `'…'` for a POSIX shell, safe for any content.
fn shell_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Source {
    /// One line: where the value came from, or why there is none.
    pub fn describe(&self) -> String {
        match self {
            Source::File {
                path,
                line: Some(line),
                package,
            } => format!("{} line {line} (package {package})", path.display()),
            Source::File {
                path,
                line: None,
                package,
            } => format!("{} (package {package})", path.display()),
            Source::RpmDatabase { package, evr, from } => {
                let tag = match from {
                    crate::ShaOrigin::VcsTag => "VCS tag",
                    crate::ShaOrigin::Release => "git<hex> in the release",
                };
                format!("rpm database: {package}-{evr}, {tag}")
            }
            Source::Default { reason } => format!("default: {reason}"),
            Source::Unknown { reason } => format!("unknown: {reason}"),
        }
    }
}

impl VersionReport {
    /// The old /etc/fuel/version.yaml layout, same keys in the same order
    /// (`VERSION:` mapping, `api: "1.0"`); unknown values print "unknown".
    /// With `explain`, a `# source` comment follows each key.
    pub fn to_version_yaml(&self, explain: bool) -> String {
        let mut out = String::from("VERSION:\n");
        let comment = |out: &mut String, source: &Source| {
            if explain {
                let _ = writeln!(out, "    # {}", source.describe().replace('\n', " "));
            }
        };
        let scalar = |out: &mut String, key: &str, field: &crate::Field<String>| {
            let _ = writeln!(
                out,
                "  {key}: {}",
                quoted(field.value.as_deref().unwrap_or(UNKNOWN))
            );
            comment(out, &field.source);
        };
        match self.feature_groups.value.as_deref() {
            Some([]) | None => out.push_str("  feature_groups: []\n"),
            Some(groups) => {
                out.push_str("  feature_groups:\n");
                for g in groups {
                    let _ = writeln!(out, "    - {}", quoted(g));
                }
            }
        }
        comment(&mut out, &self.feature_groups.source);
        scalar(&mut out, "production", &self.production);
        scalar(&mut out, "release", &self.release);
        scalar(&mut out, "openstack_version", &self.openstack_version);
        let _ = writeln!(out, "  api: {}", quoted(API_VERSION));
        scalar(&mut out, "build_number", &self.build_number);
        scalar(&mut out, "build_id", &self.build_id);
        for c in &self.components {
            scalar(&mut out, &format!("{}_sha", c.component), &c.sha);
        }
        out
    }

    /// `FUEL_<KEY>='value'` lines for `eval` (`-` → `_`, upper case; lists
    /// space-separated; unknown → empty). With `explain`, a `# source` comment
    /// precedes each line.
    pub fn to_shell(&self, explain: bool) -> String {
        let mut out = String::new();
        for e in self.entries() {
            if explain {
                let _ = writeln!(out, "# {}", e.source.describe().replace('\n', " "));
            }
            let value = match e.value {
                None => String::new(),
                Some(Value::Text(s)) => s,
                Some(Value::List(l)) => l.join(" "),
            };
            let _ = writeln!(out, "{}={}", shell_key(&e.key), shell_quoted(&value));
        }
        out
    }

    /// A few lines for a human; with `explain`, every key with its source.
    pub fn summary(&self, explain: bool) -> String {
        let mut out = String::new();
        let v = |f: &crate::Field<String>| f.value.clone().unwrap_or_else(|| UNKNOWN.into());
        if explain {
            for e in self.entries() {
                let value = e
                    .value
                    .map_or_else(|| UNKNOWN.to_string(), |v| v.to_string());
                let _ = writeln!(out, "{}: {value}\n    from {}", e.key, e.source.describe());
            }
        } else {
            let _ = writeln!(
                out,
                "Fuel release {} (OpenStack {})",
                v(&self.release),
                v(&self.openstack_version)
            );
            let _ = writeln!(
                out,
                "build {} of {}",
                v(&self.build_number),
                v(&self.build_id)
            );
            let groups = match self.feature_groups.value.as_deref() {
                Some([]) => "none".to_string(),
                Some(g) => g.join(", "),
                None => UNKNOWN.into(),
            };
            let _ = writeln!(
                out,
                "production: {}, feature groups: {groups}",
                v(&self.production)
            );
            for c in &self.components {
                let installed = self
                    .package(&c.package)
                    .map_or_else(|| "not installed".into(), |p| p.evr());
                let sha = c.sha.value.as_deref().unwrap_or(UNKNOWN);
                let _ = writeln!(
                    out,
                    "  {:<18} {:<28} {:<16} {sha}",
                    c.component, c.package, installed
                );
            }
        }
        if let Completeness::Incomplete { unknown } = self.completeness() {
            let _ = writeln!(
                out,
                "unknown: {} (`fuel-version --explain` says why)",
                unknown.join(", ")
            );
        }
        out
    }
}

/// `python-fuelclient_sha` → `FUEL_PYTHON_FUELCLIENT_SHA`.
pub fn shell_key(key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("FUEL_{key}")
}
