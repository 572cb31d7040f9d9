//! Typed client and JSON types of the Fuel master's REST API.
//!
//! The JSON types are the single definition of the wire format: the
//! `fuel-api` service serialises these (except `GET /api/version`, which it
//! builds as a JSON map from the fuel-version report, every field of it;
//! [`VersionInfo`] reads the fields clients rely on and keeps the rest in
//! `extra`), so a client built on this crate cannot drift from the server.
//! The crate has no server dependencies, so command-line tools
//! (fuel-upgrade, `fuel`) stay light.
//!
//! ```no_run
//! # async fn demo() -> Result<(), fuel_api_client::ClientError> {
//! use fuel_api_client::{Client, NewRelease, TaskFilter, TaskStatus};
//! let anonymous = Client::new("http://127.0.0.1:8000")?;
//! let token = anonymous.login("admin", "secret").await?;
//! let client = anonymous.with_token(token.token);
//! let running = client
//!     .list_tasks(&TaskFilter { status: Some(TaskStatus::Running), cluster_id: None })
//!     .await?;
//! assert!(running.is_empty());
//! # Ok(()) }
//! ```

mod api_error;
mod auth;
mod client;
mod cluster;
mod health;
mod inventory;
mod node;
mod package;
mod package_task;
mod release;
mod task;
mod version;

pub use api_error::ApiError;
pub use auth::{Credentials, Token};
pub use client::{Client, ClientError};
pub use cluster::{Cluster, NewCluster};
pub use health::Health;
pub use inventory::{
    DriftReason, InventoryNode, InventoryPackage, InventoryVersion, NodeSeen, Observation,
    ObservationRun, PackageInventory,
};
pub use node::{check_role, check_roles, NewNode, Node, NodeUpdate, MAX_ROLES, NODE_STATUSES};
pub use package::{PackageRevision, YAML_CONTENT_TYPE};
pub use package_task::{DeployTasks, TaskNode, TaskNodeStatus, TaskProgress, PACKAGE_TASKS};
pub use release::{NewRelease, Release, ReleaseState};
pub use task::{NewTask, Task, TaskFilter, TaskStatus, TaskUpdate};
pub use version::VersionInfo;

/// The header Fuel's clients send their token in.
pub const AUTH_HEADER: &str = "X-Auth-Token";
