//! Why a node's task failed: a reason code the API stores and the CLI shows,
//! with the detail an operator needs to act on it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeFailure {
    /// No SSH connection (refused, no route, sshd down, authentication refused).
    Unreachable,
    /// The node presented a host key other than the one registered: nothing was sent.
    HostKeyMismatch,
    /// The node did not finish within the per-node timeout.
    Timeout,
    /// The document or the applier could not be written on the node.
    UploadFailed,
    /// The applier ran and reported failures (or could not run).
    ApplyFailed,
    /// Another applier run held the node's lock for longer than the master waits.
    NodeBusy,
    /// The applier's output was not a report this master understands.
    ReportInvalid,
}

impl NodeFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeFailure::Unreachable => "unreachable",
            NodeFailure::HostKeyMismatch => "host_key_mismatch",
            NodeFailure::Timeout => "timeout",
            NodeFailure::UploadFailed => "upload_failed",
            NodeFailure::ApplyFailed => "apply_failed",
            NodeFailure::NodeBusy => "node_busy",
            NodeFailure::ReportInvalid => "report_invalid",
        }
    }
}

impl std::fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed task on one node: the reason code, what happened, and the
/// applier's report when it got as far as producing one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct NodeError {
    pub reason: NodeFailure,
    pub message: String,
    pub report: Option<fuel_pm::report::Report>,
}

impl NodeError {
    pub fn new(reason: NodeFailure, message: impl Into<String>) -> NodeError {
        NodeError {
            reason,
            message: message.into(),
            report: None,
        }
    }
}
