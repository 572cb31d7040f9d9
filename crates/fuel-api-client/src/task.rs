//! Tasks: `/api/v1/tasks`, with Nailgun's task states and the list filters.

use serde::{Deserialize, Serialize};

/// Where a deployment task is (Nailgun's task states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    #[default]
    Pending,
    Running,
    Ready,
    Error,
    /// The master stopped while the task ran; its nodes keep their last known
    /// state. Running the same command again completes the work.
    Interrupted,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Running => "running",
            TaskStatus::Ready => "ready",
            TaskStatus::Error => "error",
            TaskStatus::Interrupted => "interrupted",
        }
    }
}

impl std::str::FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(TaskStatus::Pending),
            "running" => Ok(TaskStatus::Running),
            "ready" => Ok(TaskStatus::Ready),
            "error" => Ok(TaskStatus::Error),
            "interrupted" => Ok(TaskStatus::Interrupted),
            other => Err(format!(
                "unknown task status `{other}`: expected pending, running, ready, error or interrupted"
            )),
        }
    }
}

/// A task as `GET /api/v1/tasks[/{id}]` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: i64,
    pub name: String,
    pub status: TaskStatus,
    /// Percent done, 0 to 100.
    pub progress: u8,
    pub cluster_id: Option<i64>,
    pub message: Option<String>,
    /// Package tasks: those the API added because a requested task requires them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added_tasks: Vec<String>,
    /// Package tasks: each node's sub-tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<crate::TaskNode>,
    /// Package tasks run as a rollout: the node ids of each batch, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<Vec<i64>>,
    /// The rollout's `max_failures` (`N` or `N%`), when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<String>,
}

/// Body of `POST /api/v1/tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<i64>,
    #[serde(default)]
    pub status: TaskStatus,
    #[serde(default)]
    pub progress: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Body of `PUT /api/v1/tasks/{id}`: the new status; progress and message
/// are left as they were when absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The `?status=` and `?cluster_id=` filters of `GET /api/v1/tasks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskFilter {
    #[serde(default)]
    pub status: Option<TaskStatus>,
    #[serde(default)]
    pub cluster_id: Option<i64>,
}

impl TaskFilter {
    /// The query string (with its leading `?`), empty when nothing is filtered.
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(status) = self.status {
            parts.push(format!("status={}", status.as_str()));
        }
        if let Some(cluster_id) = self.cluster_id {
            parts.push(format!("cluster_id={cluster_id}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_query_string() {
        assert_eq!(TaskFilter::default().query_string(), "");
        let running = TaskFilter {
            status: Some(TaskStatus::Running),
            cluster_id: None,
        };
        assert_eq!(running.query_string(), "?status=running");
        let both = TaskFilter {
            status: Some(TaskStatus::Error),
            cluster_id: Some(7),
        };
        assert_eq!(both.query_string(), "?status=error&cluster_id=7");
    }

    #[test]
    fn status_wire_names_round_trip() {
        for status in [
            TaskStatus::Pending,
            TaskStatus::Running,
            TaskStatus::Ready,
            TaskStatus::Error,
            TaskStatus::Interrupted,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<TaskStatus>().unwrap(), status);
        }
        assert!("done"
            .parse::<TaskStatus>()
            .unwrap_err()
            .contains("pending, running, ready, error or interrupted"));
    }

    #[test]
    fn new_task_defaults_and_refuses_unknown_fields() {
        let task: NewTask = serde_json::from_str(r#"{"name": "deploy"}"#).unwrap();
        assert_eq!(
            (task.status, task.progress, task.cluster_id),
            (TaskStatus::Pending, 0, None)
        );
        assert!(serde_json::from_str::<NewTask>(r#"{"name": "deploy", "uuid": "x"}"#).is_err());
    }
}
