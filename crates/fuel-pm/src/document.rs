//! The checked package-manipulation document: what the applier acts on.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A checked document: every name and version is within its distribution's
/// character set, every `after` action is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub packages: Vec<Package>,
    /// `allow_removals: true` at the top: the transaction may remove or
    /// downgrade packages the document does not name (default: refused,
    /// `collateral_removal`).
    #[serde(default)]
    pub allow_removals: bool,
}

impl Document {
    /// Whether the transaction may remove or downgrade `collateral` (a
    /// package the document does not name) because of a dependency on
    /// `forced_by` (a package of the document, when known): allowed by the
    /// document's `allow_removals`, or by that package's own.
    pub fn allows_removal_forced_by(&self, forced_by: Option<&str>) -> bool {
        self.allow_removals
            || forced_by.is_some_and(|name| {
                self.packages
                    .iter()
                    .any(|p| p.name == name && p.allow_removals)
            })
    }

    /// Whether any opt-in to collateral removals is given.
    pub fn any_removals_allowed(&self) -> bool {
        self.allow_removals || self.packages.iter().any(|p| p.allow_removals)
    }
}

/// One `packages` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: Wanted,
    #[serde(default)]
    pub after: Vec<After>,
    /// `allow_removals: true` on this package: changing it may remove or
    /// downgrade packages that depend on it.
    #[serde(default)]
    pub allow_removals: bool,
    /// 1-based line of the entry in the document, so the applier's messages can
    /// point at it; 0 when the value was not read from YAML.
    #[serde(default)]
    pub line: usize,
}

/// The version a package should have after the manipulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// The newest version the node's repositories offer (the default).
    Latest,
    /// Not installed.
    Absent,
    /// Exactly this version (Debian `[epoch:]upstream[-revision]` or rpm
    /// `[epoch:]version[-release]`).
    Exact(String),
}

impl Wanted {
    /// The spelling used in the document: `latest`, `absent` or the version.
    pub fn as_str(&self) -> &str {
        match self {
            Wanted::Latest => "latest",
            Wanted::Absent => "absent",
            Wanted::Exact(v) => v,
        }
    }

    /// Reads the document's spelling (no character-set check: see
    /// [`crate::valid_version`]).
    pub fn from_spelling(s: &str) -> Wanted {
        match s {
            "latest" => Wanted::Latest,
            "absent" => Wanted::Absent,
            other => Wanted::Exact(other.to_owned()),
        }
    }
}

impl Serialize for Wanted {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Wanted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Wanted::from_spelling(&s))
    }
}

/// An action run after the package reached its wanted version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct After {
    pub provider: Provider,
    #[serde(default)]
    pub ensure: Ensure,
    /// The service name, or for `exec` the shell one-liner.
    pub name: String,
    /// `timeout: SECONDS`: the longest the action may take; `None` is the
    /// applier's default (`--action-timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// Puppet's service provider for an `after` action; `exec` runs `name` with
/// `bash -c` (`sh -c` on a node without bash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Systemd,
    Upstart,
    #[serde(alias = "sysv")]
    Service,
    #[serde(alias = "pacemaker")]
    Corosync,
    Exec,
}

impl Provider {
    /// Every canonical spelling, in the order messages list them.
    pub const ALL: [Provider; 5] = [
        Provider::Systemd,
        Provider::Upstart,
        Provider::Service,
        Provider::Corosync,
        Provider::Exec,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Provider::Systemd => "systemd",
            Provider::Upstart => "upstart",
            Provider::Service => "service",
            Provider::Corosync => "corosync",
            Provider::Exec => "exec",
        }
    }

    /// Reads a spelling of the document, aliases included (`sysv`, `pacemaker`).
    pub fn from_spelling(s: &str) -> Option<Provider> {
        match s {
            "systemd" => Some(Provider::Systemd),
            "upstart" => Some(Provider::Upstart),
            "service" | "sysv" => Some(Provider::Service),
            "corosync" | "pacemaker" => Some(Provider::Corosync),
            "exec" => Some(Provider::Exec),
            _ => None,
        }
    }
}

/// Puppet's `ensure` for a service action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ensure {
    #[default]
    Running,
    Stopped,
}

impl Ensure {
    pub const ALL: [Ensure; 2] = [Ensure::Running, Ensure::Stopped];

    pub fn as_str(&self) -> &'static str {
        match self {
            Ensure::Running => "running",
            Ensure::Stopped => "stopped",
        }
    }

    pub fn from_spelling(s: &str) -> Option<Ensure> {
        match s {
            "running" => Some(Ensure::Running),
            "stopped" => Some(Ensure::Stopped),
            _ => None,
        }
    }
}
