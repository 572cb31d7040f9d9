//! Nodes (`/api/v1/nodes`): the deployed machines the master manages over
//! SSH, with the host key that lets it refuse an impostor.

use fuel_node::{os_family, HostKey, PackageManager};
use serde::{Deserialize, Deserializer, Serialize};

/// Nailgun's node statuses: the ones `status` accepts.
pub const NODE_STATUSES: &[&str] = &[
    "discover",
    "provisioning",
    "provisioned",
    "deploying",
    "ready",
    "error",
    "removing",
    "stopped",
];

/// A node as `GET /api/v1/nodes[/{id}]` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: i64,
    pub hostname: String,
    /// The address SSH connects to, in its canonical text form.
    pub ip: String,
    pub ssh_port: u16,
    /// Its package manager, on the wire as the OS family (`ubuntu` → apt,
    /// `centos` → dnf/yum).
    #[serde(with = "os_family")]
    pub os: PackageManager,
    /// The environment it belongs to; `None` when unassigned (also after its
    /// environment was deleted).
    pub cluster_id: Option<i64>,
    pub status: String,
    /// The node's SSH host key, on the wire as `TYPE BASE64` (an OpenSSH
    /// public key line without its comment).
    pub host_key: HostKey,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub host_key_fingerprint: String,
    /// Its roles in the environment (`controller`, `compute`, …): a rollout
    /// ordered by role changes the pacemaker ones one at a time.
    #[serde(default)]
    pub roles: Vec<String>,
}

fn default_ssh_port() -> u16 {
    22
}

fn default_status() -> String {
    "ready".to_string()
}

/// Body of `POST /api/v1/nodes`. Hostnames are unique, so are address + port
/// (else 409 naming the field); the environment must exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNode {
    pub hostname: String,
    pub ip: String,
    #[serde(default = "default_ssh_port")]
    pub ssh_port: u16,
    #[serde(with = "os_family")]
    pub os: PackageManager,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<i64>,
    #[serde(default = "default_status")]
    pub status: String,
    /// An OpenSSH public key line (`ssh-ed25519 AAAA… [comment]`), e.g. a
    /// line of `ssh-keyscan` or the node's /etc/ssh/ssh_host_ed25519_key.pub.
    /// Text as the operator gave it: fuel-api parses it into a
    /// [`HostKey`] once, answering 400 naming `host_key` when it is bad.
    pub host_key: String,
    /// Accept a loopback, unspecified, multicast or broadcast `ip` (refused
    /// otherwise: a node at 127.0.0.1 is the master itself).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_local_address: bool,
    /// Roles in the environment, e.g. `["controller"]` (see [`check_role`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

/// Most roles a node can hold.
pub const MAX_ROLES: usize = 16;

/// A role name: lower-case letters, digits, `-` and `_`, starting with a
/// letter, at most 64 characters (Nailgun's role names: `controller`,
/// `primary-controller`, `compute`, `ceph-osd`, …).
pub fn check_role(role: &str) -> Result<(), String> {
    let valid = (1..=64).contains(&role.len())
        && role.starts_with(|c: char| c.is_ascii_lowercase())
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a role name: lower-case letters, digits, `-` and `_`, starting with a letter, e.g. controller",
            role.escape_debug()
        ))
    }
}

/// Every role checked, none twice, at most [`MAX_ROLES`].
pub fn check_roles(roles: &[String]) -> Result<(), String> {
    if roles.len() > MAX_ROLES {
        return Err(format!("at most {MAX_ROLES} roles per node"));
    }
    for (i, role) in roles.iter().enumerate() {
        check_role(role)?;
        if roles[..i].contains(role) {
            return Err(format!("role `{role}` is listed twice"));
        }
    }
    Ok(())
}

/// `Some(x)` for a present field, even `null` (→ `Some(None)`), so that an
/// absent field and an explicit `null` differ.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Body of `PUT /api/v1/nodes/{id}`: absent fields stay as they were.
/// `cluster_id: Some(None)` (JSON `null`) takes the node out of its
/// environment; `None` (absent) leaves it where it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_port: Option<u16>,
    #[serde(
        default,
        with = "os_family::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub os: Option<PackageManager>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_id: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
    /// As [`NewNode::allow_local_address`], for a new `ip`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_local_address: bool,
    /// Replaces the node's roles (`[]` clears them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_node_defaults_port_22_and_status_ready() {
        let node: NewNode = serde_json::from_str(
            r#"{"hostname": "node-2", "ip": "10.20.0.3", "os": "ubuntu", "host_key": "k"}"#,
        )
        .unwrap();
        assert_eq!(
            (node.ssh_port, node.status.as_str(), node.cluster_id),
            (22, "ready", None)
        );
        assert!(serde_json::from_str::<NewNode>(
            r#"{"hostname": "n", "ip": "i", "os": "debian", "host_key": "k"}"#
        )
        .is_err());
    }

    #[test]
    fn node_os_is_its_package_manager_written_as_the_os_family() {
        let update: NodeUpdate = serde_json::from_str(r#"{"os": "centos"}"#).unwrap();
        assert_eq!(update.os, Some(PackageManager::Dnf));
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            r#"{"os":"centos"}"#
        );
        assert!(serde_json::from_str::<NodeUpdate>(r#"{"os": "dnf"}"#).is_err());
    }

    #[test]
    fn node_update_tells_absent_from_null_cluster() {
        let absent: NodeUpdate = serde_json::from_str(r#"{"status": "error"}"#).unwrap();
        assert_eq!(absent.cluster_id, None);
        let null: NodeUpdate = serde_json::from_str(r#"{"cluster_id": null}"#).unwrap();
        assert_eq!(null.cluster_id, Some(None));
        let set: NodeUpdate = serde_json::from_str(r#"{"cluster_id": 4}"#).unwrap();
        assert_eq!(set.cluster_id, Some(Some(4)));
        // And back: null is sent, absent is not.
        assert_eq!(
            serde_json::to_string(&null).unwrap(),
            r#"{"cluster_id":null}"#
        );
        assert_eq!(
            serde_json::to_string(&absent).unwrap(),
            r#"{"status":"error"}"#
        );
    }

    #[test]
    fn roles_are_lower_case_names_listed_once() {
        assert!(check_roles(&["controller".into(), "ceph-osd".into()]).is_ok());
        assert!(check_role("Controller").is_err());
        assert!(check_role("1st").is_err());
        assert!(check_role("a b").is_err());
        assert!(check_roles(&["compute".into(), "compute".into()])
            .unwrap_err()
            .contains("twice"));
        let node: NewNode = serde_json::from_str(
            r#"{"hostname": "n", "ip": "i", "os": "ubuntu", "host_key": "k"}"#,
        )
        .unwrap();
        assert!(node.roles.is_empty());
    }
}
