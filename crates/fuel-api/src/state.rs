//! What every handler sees: the database, the token checker and the caches,
//! built once by `server::serve` and cloned into each request.

use std::sync::Arc;

use crate::auth::Auth;
use crate::inventory_cache::InventoryCache;
use crate::list_cache::ListCache;
use crate::package_tasks::PackageTasks;
use crate::store::Store;
use crate::version_cache::VersionCache;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Auth>,
    pub release_list: Arc<ListCache>,
    pub version: Arc<VersionCache>,
    pub package_tasks: Arc<PackageTasks>,
    /// Inventory answers, checked against the database on every read.
    pub inventory: Arc<InventoryCache>,
}
