//! Starting and stopping the service in-process (the binary, the tests and
//! other crates' tests all go through [`serve`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::auth::Auth;
use crate::config::Config;
use crate::list_cache::ListCache;
use crate::package_tasks::PackageTasks;
use crate::routes::{normalize, router};
use crate::state::AppState;
use crate::store::{Store, StoreError};
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
    #[error("the server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// A started service: where it listens, and how to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    store: Store,
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
    let store = Store::open(&config.database_url).await?;
    // Package tasks a previous process left running cannot be going on any
    // more: say so, keeping each node's last known state.
    let interrupted = store
        .interrupt_package_tasks(crate::package_tasks::INTERRUPTED_MESSAGE)
        .await
        .map_err(ServeError::Recover)?;
    if interrupted > 0 {
        tracing::warn!(
            tasks = interrupted,
            "package tasks interrupted by the last stop"
        );
    }
    let version = VersionCache::new(
        config.version_root.clone(),
        Duration::from_secs(config.version_refresh_secs),
    );
    let state = AppState {
        store: store.clone(),
        auth: Arc::new(Auth::new(config.auth.clone(), store.clone())),
        release_list: Arc::new(ListCache::default()),
        version,
        package_tasks: Arc::new(PackageTasks::new(
            store.clone(),
            config.package_tasks.clone(),
        )),
    };
    let app = normalize(router(state, config.body_limit_bytes));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
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
        stop,
        task,
    })
}
