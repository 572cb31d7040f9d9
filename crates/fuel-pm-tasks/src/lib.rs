//! The package tasks of design 004 run on one node over SSH: `upload_pm` puts the
//! environment's package-manipulation document (and, when missing or different, the
//! applier binary) on the node; `execute_pm` runs the applier there and returns its
//! report. fuel-api's executor schedules them; this crate knows nothing of HTTP or
//! databases, only of one node at a time.
//!
//! The node's host key is pinned: the connection uses a known_hosts file holding
//! exactly the key registered for the node, so an unknown or changed key fails
//! with [`NodeFailure::HostKeyMismatch`] before anything is sent. Nothing the
//! operator wrote is ever interpolated into a remote command line: the document
//! and the applier travel on stdin of fixed commands.
//!
//! [`rollout`] plans which nodes run together and when a rollout stops.

mod failure;
mod leftovers;
pub mod rollout;
mod session;
mod steps;
mod subtask;

pub use failure::{NodeError, NodeFailure};
pub use leftovers::remove_stale as remove_stale_ssh_directories;
pub use session::{NodeSession, Settings, Target};
pub use steps::{execute_pm, upload_pm, Applier};
pub use subtask::{expand, SubTask, UnknownTask};
