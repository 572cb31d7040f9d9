//! Nailgun's shapes of nodes, environments and tasks: the fields
//! python-fuelclient reads and prints (`fuel node`, `fuel env`, `fuel2 task
//! list`, `--tasks`), served beside this API's own. Each answer is a
//! superset of the `fuel-api-client` type (which ignores fields it does not
//! know), so both clients read the same JSON. Where this master has no such
//! notion (MAC addresses, node groups, online state, task UUIDs) the field
//! is null or empty, never made up.

use fuel_api_client::{Cluster, Node, Task};
use serde::Serialize;

/// A node as Nailgun served it. python-fuelclient joins `roles` and
/// `pending_roles` as lists (anything else crashes it; `roles` is the
/// node's own, always a list) and reads the node's environment from
/// `cluster` (an integer) for `--tasks`.
#[derive(Debug, Serialize)]
pub struct NailgunNode {
    #[serde(flatten)]
    pub node: Node,
    name: String,
    cluster: Option<i64>,
    os_platform: &'static str,
    mac: Option<String>,
    pending_roles: Vec<String>,
    online: Option<bool>,
    group_id: Option<i64>,
    platform_name: Option<String>,
}

/// The one conversion every node answer goes through.
pub fn node(node: Node) -> NailgunNode {
    NailgunNode {
        name: node.hostname.clone(),
        cluster: node.cluster_id,
        os_platform: node.os.os_family(),
        mac: None,
        pending_roles: Vec::new(),
        online: None,
        group_id: None,
        platform_name: None,
        node,
    }
}

pub fn nodes(nodes: Vec<Node>) -> Vec<NailgunNode> {
    nodes.into_iter().map(node).collect()
}

/// An environment as Nailgun served it (`fuel env`: id, status, name,
/// release_id). Environments are not deployed by this master, so they have
/// no deployment status.
#[derive(Debug, Serialize)]
pub struct NailgunCluster {
    #[serde(flatten)]
    pub cluster: Cluster,
    status: Option<String>,
}

pub fn cluster(cluster: Cluster) -> NailgunCluster {
    NailgunCluster {
        cluster,
        status: None,
    }
}

pub fn clusters(clusters: Vec<Cluster>) -> Vec<NailgunCluster> {
    clusters.into_iter().map(cluster).collect()
}

/// A task as Nailgun's transactions were served (`fuel2 task list`: id,
/// status, name, cluster, progress; the answer of `--tasks`).
#[derive(Debug, Serialize)]
pub struct NailgunTask {
    #[serde(flatten)]
    pub task: Task,
    cluster: Option<i64>,
    uuid: Option<String>,
}

pub fn task(task: Task) -> NailgunTask {
    NailgunTask {
        cluster: task.cluster_id,
        uuid: None,
        task,
    }
}

pub fn tasks(tasks: Vec<Task>) -> Vec<NailgunTask> {
    tasks.into_iter().map(task).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fuel_api_client::TaskStatus;
    use fuel_node::{HostKey, PackageManager};

    #[test]
    fn a_node_carries_both_shapes_and_roles_are_lists() {
        let served = serde_json::to_value(node(Node {
            id: 2,
            hostname: "node-2".into(),
            ip: "10.20.0.3".into(),
            ssh_port: 22,
            os: PackageManager::Dnf,
            cluster_id: Some(1),
            status: "ready".into(),
            host_key: HostKey::parse(
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtcMI5bCflBskefazvv1WTBgvjeIuWfUFMnT1oxaGXy",
            )
            .unwrap(),
            host_key_fingerprint: "SHA256:x".into(),
            roles: vec!["controller".into()],
        }))
        .unwrap();
        assert_eq!(served["name"], "node-2");
        assert_eq!(served["cluster"], 1);
        assert_eq!(served["cluster_id"], 1);
        assert_eq!(served["roles"], serde_json::json!(["controller"]));
        assert_eq!(served["pending_roles"], serde_json::json!([]));
        assert_eq!(served["os_platform"], "centos");
        assert!(served["mac"].is_null() && served["online"].is_null());
        // This project's client reads the same answer.
        let back: Node = serde_json::from_value(served).unwrap();
        assert_eq!(back.hostname, "node-2");
    }

    #[test]
    fn a_task_names_its_cluster() {
        let served = serde_json::to_value(task(Task {
            id: 7,
            name: "upload_pm,execute_pm".into(),
            status: TaskStatus::Running,
            progress: 50,
            cluster_id: Some(1),
            message: None,
            added_tasks: vec![],
            nodes: vec![],
            batches: vec![],
            max_failures: None,
        }))
        .unwrap();
        assert_eq!(served["cluster"], 1);
        assert_eq!(served["id"], 7);
        assert!(served["uuid"].is_null());
        let back: Task = serde_json::from_value(served).unwrap();
        assert_eq!(back.progress, 50);
    }
}
