//! Running the package tasks (`upload_pm`, `execute_pm`) on an environment's
//! nodes: the request, and each node's part of the resulting task.

use serde::{Deserialize, Serialize};

use crate::TaskStatus;

/// The granular tasks of design 004, in the order they run.
pub const PACKAGE_TASKS: &[&str] = &["upload_pm", "execute_pm"];

/// Body of `POST /api/v1/clusters/{id}/deploy_tasks`: run `tasks` on `nodes`
/// (python-fuelclient's `fuel node --node 2,3 --tasks execute_pm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployTasks {
    pub nodes: Vec<i64>,
    pub tasks: Vec<String>,
    /// Run the applier in check mode: report what would change, change nothing.
    #[serde(default)]
    pub check: bool,
    /// Successive batches, e.g. `"1,10,25%"` (Ansible's `serial`: sizes or
    /// percentages of the nodes, the last repeating); each batch ends before
    /// the next starts, and `nodes` is taken in the order given. Absent: all
    /// nodes at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// `"N"` or `"N%"`: once more nodes than this failed (checked when a
    /// batch ends), the nodes not started are skipped (`rollout_stopped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<String>,
    /// Nodes with a pacemaker role (controller) first, each in a batch of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub order_by_role: bool,
}

/// One sub-task on one node, as `GET /api/v1/tasks/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskNode {
    pub node_id: i64,
    pub hostname: String,
    /// `upload_pm` or `execute_pm`.
    pub subtask: String,
    /// pending, running, ready, error, interrupted, or skipped (an earlier
    /// sub-task on the node failed).
    pub status: TaskNodeStatus,
    /// RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Reason code when it failed: unreachable, host_key_mismatch, timeout,
    /// upload_failed, apply_failed, report_invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The applier's report (`execute_pm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<fuel_pm::report::Report>,
    /// The rollout batch (0-based) the node runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
}

/// `GET /api/v1/tasks/{id}/nodes?since=CURSOR`: what changed since the
/// caller's last look, so following a task over hundreds of nodes costs the
/// changes, not the whole record, on each poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// The task itself (status, progress, message), without its nodes.
    pub task: crate::Task,
    /// Pass it as `since` next time.
    pub cursor: i64,
    /// Sub-tasks changed after `since` (all of them for `since=0`), without
    /// their reports (`GET /api/v1/tasks/{id}` has them).
    pub nodes: Vec<TaskNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskNodeStatus {
    Pending,
    Running,
    Ready,
    Error,
    Interrupted,
    Skipped,
}

impl TaskNodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskNodeStatus::Pending => "pending",
            TaskNodeStatus::Running => "running",
            TaskNodeStatus::Ready => "ready",
            TaskNodeStatus::Error => "error",
            TaskNodeStatus::Interrupted => "interrupted",
            TaskNodeStatus::Skipped => "skipped",
        }
    }

    /// Whether the sub-task will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(self, TaskNodeStatus::Pending | TaskNodeStatus::Running)
    }
}

impl std::str::FromStr for TaskNodeStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            TaskNodeStatus::Pending,
            TaskNodeStatus::Running,
            TaskNodeStatus::Ready,
            TaskNodeStatus::Error,
            TaskNodeStatus::Interrupted,
            TaskNodeStatus::Skipped,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| format!("unknown node task status `{s}`"))
    }
}

impl TaskStatus {
    /// Whether the task will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_tasks_defaults_to_a_real_run_and_refuses_unknown_fields() {
        let body: DeployTasks =
            serde_json::from_str(r#"{"nodes": [2, 3], "tasks": ["execute_pm"]}"#).unwrap();
        assert!(!body.check);
        assert_eq!(
            (body.batch, body.max_failures, body.order_by_role),
            (None, None, false)
        );
        // Nothing new is sent when unused, so older masters take the request.
        assert_eq!(
            serde_json::to_string(&DeployTasks {
                nodes: vec![2],
                tasks: vec!["execute_pm".into()],
                check: false,
                batch: None,
                max_failures: None,
                order_by_role: false,
            })
            .unwrap(),
            r#"{"nodes":[2],"tasks":["execute_pm"],"check":false}"#
        );
        assert!(serde_json::from_str::<DeployTasks>(
            r#"{"nodes": [2], "tasks": ["execute_pm"], "force": true}"#
        )
        .is_err());
    }

    #[test]
    fn node_status_wire_names_round_trip() {
        for name in [
            "pending",
            "running",
            "ready",
            "error",
            "interrupted",
            "skipped",
        ] {
            let status: TaskNodeStatus = name.parse().unwrap();
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{name}\"")
            );
        }
    }
}
