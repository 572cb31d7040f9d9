//! Starting and stopping the service in-process (the binary, the tests and
//! other crates' tests all go through [`serve`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::Auth;
use crate::config::Config;
use crate::inventory_cache::InventoryCache;
use crate::list_cache::ListCache;
use crate::package_tasks::PackageTasks;
use crate::routes::{normalize, router};
use crate::state::AppState;
use crate::store::{Backend, Store, StoreError};
use crate::version_cache::VersionCache;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot mark the package tasks the last stop interrupted: {0}")]
    Recover(sqlx::Error),
    #[error(transparent)]
    SqliteHeld(#[from] crate::sqlite_lock::HeldError),
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// A started service: where it listens, and how to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    store: Store,
    sweeper: JoinHandle<()>,
    // Released last, once the database is closed.
    _sqlite_lock: Option<fuel_atomic::PidLock>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// `http://ADDR`, for `fuel_api_client::Client::new`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish, closes the database.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(());
        self.sweeper.abort();
        let result = self
            .task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        self.store.close().await;
        result.map_err(ServeError::Serve)
    }
}

/// Opens (and migrates) the database, binds `config.listen` and serves in
/// the background until [`RunningServer::shutdown`].
pub async fn serve(config: Config) -> Result<RunningServer, ServeError> {
    // One process per SQLite file; several need PostgreSQL.
    let sqlite_lock = crate::sqlite_lock::acquire(&config.database_url)?;
    let store = Store::open(&config.database_url).await?;
    // A killed predecessor's ssh directories and ControlMasters: nothing else removes them.
    let removed = tokio::task::spawn_blocking(|| {
        fuel_pm_tasks::remove_stale_ssh_directories(&std::env::temp_dir())
    })
    .await
    .unwrap_or_default();
    if !removed.is_empty() {
        tracing::warn!(
            directories = removed.len(),
            "removed the ssh directories and connections of a fuel-api no longer running"
        );
    }
    // Several processes may serve one PostgreSQL database: what they cache
    // would go stale when another writes, so nothing is cached there.
    let one_process = store.backend() == Backend::Sqlite;
    let package_tasks = Arc::new(PackageTasks::new(
        store.clone(),
        config.package_tasks.clone(),
    ));
    // Package tasks a previous process left running: taken over (after their
    // lease) or, abandoned longer than the resume window, marked interrupted
    // keeping each node's last known state.
    let sweeper = package_tasks
        .start_sweeping()
        .await
        .map_err(ServeError::Recover)?;
    let version = VersionCache::new(
        config.version_root.clone(),
        Duration::from_secs(config.version_refresh_secs),
    );
    let state = AppState {
        store: store.clone(),
        auth: Arc::new(Auth::new(config.auth.clone(), store.clone(), one_process)),
        release_list: Arc::new(ListCache::new(one_process)),
        version,
        package_tasks: package_tasks.clone(),
        // On every database: each read asks the database whether it is still exact.
        inventory: Arc::new(InventoryCache::new(config.inventory_cache_bytes)),
    };
    let app = normalize(router(state, config.body_limit_bytes));
    let bound = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(listener) => listener.local_addr().map(|addr| (listener, addr)),
        Err(e) => Err(e),
    };
    let (listener, addr) = bound.map_err(|source| {
        sweeper.abort();
        ServeError::Bind {
            addr: config.listen,
            source,
        }
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // The client's address: login limits count failures per address.
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(app),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await
    });
    tracing::info!(%addr, database = %crate::store::redact(&config.database_url), "fuel-api listening");
    Ok(RunningServer {
        addr,
        store,
        sweeper,
        _sqlite_lock: sqlite_lock,
        stop,
        task,
    })
}
