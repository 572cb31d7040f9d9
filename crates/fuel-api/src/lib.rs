//! The Fuel master node's REST service: Nailgun's paths and JSON shapes
//! (`/api/v1/...`, with `/api/...` as an alias) for releases, tasks, clusters
//! and `/api/version`, tokens in `X-Auth-Token`, SQLite or PostgreSQL.
//!
//! The JSON types live in `fuel-api-client`, shared with the typed client.
//! Adding a resource: a `store/<name>.rs` (SQL), a `routes/<name>.rs`
//! (handlers taking `State<AppState>` from `state.rs`, merged into the
//! protected router in `routes/mod.rs`, whose token middleware puts the
//! caller's `auth::Session` in the request extensions), a migration per
//! dialect, and its types and calls in `fuel-api-client`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = fuel_api::Config::default();
//! config.listen = "127.0.0.1:0".parse()?;
//! config.database_url = "sqlite:///tmp/fuel-api.db".into();
//! let server = fuel_api::serve(config).await?;
//! let client = fuel_api_client::Client::new(&server.url())?;
//! client.version().await?;
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

mod auth;
mod clock;
mod config;
mod error;
mod inventory_cache;
mod json_body;
mod list_cache;
mod login_guard;
mod nailgun;
mod package_tasks;
mod password_check;
mod rollout;
mod routes;
mod server;
mod sqlite_lock;
mod state;
mod store;
#[cfg(feature = "test-support")]
pub mod test_support;
mod version_cache;

pub use auth::hash_password;
pub use config::{
    AuthConfig, Config, ConfigError, PackageTasksConfig, User, DEFAULT_CONFIG_PATH,
    DEFAULT_DATABASE_URL,
};
pub use server::{serve, RunningServer, ServeError};
pub use store::{ReportedNode, StoreError};

/// Stores applier reports as one finished `execute_pm` task of environment
/// `cluster_id`, through the executor's write path (sub-task reports and the
/// package inventory in one transaction per node), on the database a running
/// or stopped fuel-api uses. For `cargo xtask bench api` and the API tests,
/// which need 200 nodes' inventories without 200 nodes. Returns the task id.
#[doc(hidden)]
pub async fn store_execute_pm_reports(
    database_url: &str,
    cluster_id: i64,
    nodes: &[ReportedNode<'_>],
) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
    let store = store::Store::open(database_url).await?;
    let task = store.store_execute_pm_reports(cluster_id, nodes).await;
    store.close().await;
    Ok(task?)
}
