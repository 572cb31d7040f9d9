//! `/api/version`: Nailgun's version document.

use serde::{Deserialize, Serialize};

/// Body of `GET /api/version` (public), Nailgun's shape. Fields the server
/// adds later are kept in `extra` rather than rejected, so an older client
/// still reads a newer master.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// `None` when fuel-version could not tell (e.g. /etc/fuel-issue is missing).
    pub release: Option<String>,
    pub openstack_version: Option<String>,
    #[serde(default)]
    pub feature_groups: Vec<String>,
    pub auth_required: bool,
    /// The installed Fuel packages, as the fuel-version library reports them.
    #[serde(default)]
    pub packages: serde_json::Value,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
