//! An environment's package inventory (`GET /api/v1/clusters/{id}/package_inventory`):
//! which version of each package each node runs, as the master last saw it
//! (every `execute_pm` report, and every `--check` report, records it), and
//! with `?drift=1` only what differs between nodes or from the document.

use serde::{Deserialize, Serialize};

use fuel_node::{os_family, PackageManager};

/// The answer of `GET /api/v1/clusters/{id}/package_inventory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageInventory {
    pub cluster_id: i64,
    /// Every node of the environment, by id, observed or not.
    pub nodes: Vec<InventoryNode>,
    /// The observations the packages' entries refer to, by id.
    pub observations: Vec<Observation>,
    /// By name.
    pub packages: Vec<InventoryPackage>,
    /// Drift answers (`?drift=1`): the document revision the nodes were
    /// judged against (`None`: the environment has no document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_revision: Option<i64>,
    /// Drift answers: whether anything differs (`packages` then lists it, or
    /// a node was never observed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<bool>,
}

/// A node of the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryNode {
    pub id: i64,
    pub hostname: String,
    #[serde(with = "os_family")]
    pub os: PackageManager,
    /// Its newest observation (an id of `observations`); `None`: the master
    /// never saw its packages (`fuel node --node N --tasks execute_pm --check`).
    pub last_observation: Option<i64>,
}

/// One stored applier report of one node: when, by which task, and whether
/// it was a `--check` run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub id: i64,
    pub node_id: i64,
    pub task_id: i64,
    /// RFC 3339 UTC.
    pub observed_at: String,
    pub run: ObservationRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObservationRun {
    /// `execute_pm`: the version after the run.
    Apply,
    /// `execute_pm --check`: the version found (nothing was changed).
    Check,
}

impl ObservationRun {
    pub fn as_str(self) -> &'static str {
        match self {
            ObservationRun::Apply => "apply",
            ObservationRun::Check => "check",
        }
    }
}

impl std::str::FromStr for ObservationRun {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "apply" => Ok(ObservationRun::Apply),
            "check" => Ok(ObservationRun::Check),
            other => Err(format!("unknown observation run `{other}`")),
        }
    }
}

/// One package across the environment's nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryPackage {
    pub name: String,
    /// Each version seen, installed ones by version text, `absent` last.
    pub versions: Vec<InventoryVersion>,
    /// Nodes of the environment without an observation of this package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unobserved: Vec<i64>,
    /// Drift answers: what the stored document asks (`latest`, `absent` or a
    /// version); `None` when the document does not name the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// Drift answers: why the package is listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftReason>,
    /// Drift answers: the nodes whose version is not what the document asks
    /// (including nodes where it was never observed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub off_document: Vec<i64>,
}

/// One version of a package and the nodes running it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryVersion {
    /// `None`: the package is not installed there.
    pub version: Option<String>,
    /// `[node id, observation id]` pairs, by node id: who runs it, and the
    /// observation that saw it.
    pub nodes: Vec<NodeSeen>,
}

/// `[node id, observation id]`: a node and the observation that saw its
/// version. A pair rather than an object: an inventory of 200 nodes × 1,000
/// packages holds 200,000 of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSeen(pub i64, pub i64);

impl NodeSeen {
    pub fn node(self) -> i64 {
        self.0
    }

    pub fn observation(self) -> i64 {
        self.1
    }
}

/// Why a drift answer lists a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftReason {
    /// Not every observed node runs the same version (or some lack it).
    VersionsDiffer,
    /// Some node's version is not what the document asks (`off_document`).
    DiffersFromDocument,
}

impl DriftReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftReason::VersionsDiffer => "versions_differ",
            DriftReason::DiffersFromDocument => "differs_from_document",
        }
    }
}

impl PackageInventory {
    /// One package's versions, each with the ids of the nodes running it
    /// (`None`: absent), in the answer's order; `None` when it is not listed.
    pub fn versions_of(&self, package: &str) -> Option<Vec<(Option<String>, Vec<i64>)>> {
        let listed = self.packages.iter().find(|p| p.name == package)?;
        Some(
            listed
                .versions
                .iter()
                .map(|v| {
                    (
                        v.version.clone(),
                        v.nodes.iter().map(|c| c.node()).collect(),
                    )
                })
                .collect(),
        )
    }

    /// The observation with this id.
    pub fn observation(&self, id: i64) -> Option<&Observation> {
        self.observations
            .binary_search_by_key(&id, |o| o.id)
            .ok()
            .map(|i| &self.observations[i])
    }

    /// The node with this id.
    pub fn node(&self, id: i64) -> Option<&InventoryNode> {
        self.nodes
            .binary_search_by_key(&id, |n| n.id)
            .ok()
            .map(|i| &self.nodes[i])
    }
}
