//! What `collect` answers: every field of the old version.yaml with where its
//! value came from, plus the installed Fuel packages.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One answer and its provenance. `value: None` means unknown, and `source`
/// then says why (which file is missing, which package provides it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field<T> {
    pub value: Option<T>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Read from a file (path as read, i.e. under the root).
    File {
        path: PathBuf,
        line: Option<usize>,
        /// The rpm that ships the file.
        package: String,
    },
    /// From the rpm database: the installed package and which header tag held the answer.
    RpmDatabase {
        package: String,
        evr: String,
        from: ShaOrigin,
    },
    /// The documented default, and why it applies.
    Default { reason: String },
    /// No answer; the reason names the missing file or package and what to do.
    Unknown { reason: String },
}

/// Where a package's commit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShaOrigin {
    /// The rpm VCS tag (the workspace's packages set it to the commit).
    VcsTag,
    /// A `git<hex>` fragment of the rpm Release (rebuild numbering, e.g. `1.git4f3e2a1.el7`).
    Release,
}

/// `<component>_sha` of the old file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSha {
    /// e.g. "nailgun" (the key is `nailgun_sha`).
    pub component: String,
    /// The package it maps to ("fuel-nailgun"), resolved ({series} applied).
    pub package: String,
    pub sha: Field<String>,
}

/// One installed Fuel package, from the single rpm query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    pub release: String,
    pub arch: String,
    /// The raw VCS tag, when the package has one.
    pub vcs: Option<String>,
    /// The commit it was built from: VCS tag, else release fragment, else `None`.
    pub sha: Option<String>,
    pub sha_from: Option<ShaOrigin>,
}

impl InstalledPackage {
    /// "VERSION-RELEASE", as rpm prints it.
    pub fn evr(&self) -> String {
        format!("{}-{}", self.version, self.release)
    }
}

/// Everything /etc/fuel/version.yaml used to say, from the proper homes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionReport {
    /// The root that was read ("/" for the running system).
    pub root: PathBuf,
    /// `Fuel release X.Y.Z` of /etc/fuel-issue (fuel-release).
    pub release: Field<String>,
    pub openstack_version: Field<String>,
    pub build_number: Field<String>,
    pub build_id: Field<String>,
    /// BUILD_COMMIT of /etc/fuel-buildstamp (not in the old file).
    pub build_commit: Field<String>,
    pub feature_groups: Field<Vec<String>>,
    pub production: Field<String>,
    pub components: Vec<ComponentSha>,
    /// The rpm database that was queried, `None` when the root has none.
    pub rpm_database: Option<PathBuf>,
    /// Installed Fuel packages (component packages and `package_prefixes`), sorted by name.
    pub packages: Vec<InstalledPackage>,
}

/// Whether every field has an answer (a documented default counts as one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Completeness {
    Complete,
    /// The keys (as `get` names them) that are unknown.
    Incomplete {
        unknown: Vec<String>,
    },
}

/// A field's value, whatever its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for Value {
    /// Lists print comma-separated ("" when empty).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::List(items) => f.write_str(&items.join(",")),
        }
    }
}

/// One key of the report, as `get`, `--format` and the API name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry<'a> {
    pub key: String,
    pub value: Option<Value>,
    pub source: &'a Source,
}

impl VersionReport {
    /// Every key in the old file's order (`api` excepted, it is not a fact
    /// about the system), then `build_commit`: release, openstack_version,
    /// build_number, build_id, feature_groups, production, `<component>_sha`…
    pub fn entries(&self) -> Vec<Entry<'_>> {
        fn text<'a>(key: &str, field: &'a Field<String>) -> Entry<'a> {
            Entry {
                key: key.to_string(),
                value: field.value.clone().map(Value::Text),
                source: &field.source,
            }
        }
        let mut entries = vec![
            text("release", &self.release),
            text("openstack_version", &self.openstack_version),
            text("build_number", &self.build_number),
            text("build_id", &self.build_id),
            text("build_commit", &self.build_commit),
            Entry {
                key: "feature_groups".into(),
                value: self.feature_groups.value.clone().map(Value::List),
                source: &self.feature_groups.source,
            },
            text("production", &self.production),
        ];
        for c in &self.components {
            entries.push(text(&format!("{}_sha", c.component), &c.sha));
        }
        entries
    }

    /// One key (`release`, `nailgun_sha`, …); `None` when no such key exists.
    pub fn get(&self, key: &str) -> Option<Entry<'_>> {
        self.entries().into_iter().find(|e| e.key == key)
    }

    pub fn completeness(&self) -> Completeness {
        let unknown: Vec<String> = self
            .entries()
            .into_iter()
            .filter(|e| e.value.is_none())
            .map(|e| e.key)
            .collect();
        if unknown.is_empty() {
            Completeness::Complete
        } else {
            Completeness::Incomplete { unknown }
        }
    }

    /// The installed package of that name, if it is a Fuel package.
    pub fn package(&self, name: &str) -> Option<&InstalledPackage> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Key → value (`null` when unknown), in [`entries`](Self::entries) order:
    /// what `--format json|yaml` prints.
    pub fn values(&self) -> Values {
        Values(
            self.entries()
                .into_iter()
                .map(|e| (e.key, e.value))
                .collect(),
        )
    }
}

/// Ordered key → value map; serialises as a map in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values(pub Vec<(String, Option<Value>)>);

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
