//! The `/api/version` document: collected by the fuel-version library (one
//! rpm query), kept in memory and refreshed in the background.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use fuel_version::Value;
use serde_json::{json, Map};

use crate::error::Failure;

/// The version document of `root`, in Nailgun's shape: every key of the old
/// version.yaml (null when unknown), `api`, `auth_required` and the installed
/// Fuel packages.
fn document(root: &std::path::Path) -> Result<Bytes, String> {
    let report = fuel_version::collect(root).map_err(|e| e.to_string())?;
    let mut doc = Map::new();
    for entry in report.entries() {
        let value = match entry.value {
            Some(Value::Text(text)) => json!(text),
            Some(Value::List(list)) => json!(list),
            None => serde_json::Value::Null,
        };
        doc.insert(entry.key, value);
    }
    doc.insert("api".to_string(), json!(fuel_version::API_VERSION));
    // Writes always need a token, so clients must always be ready to log in.
    doc.insert("auth_required".to_string(), json!(true));
    doc.insert(
        "packages".to_string(),
        serde_json::to_value(&report.packages).map_err(|e| e.to_string())?,
    );
    serde_json::to_vec(&doc)
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

/// fuel-version runs an rpm query: its answer is reused for `refresh`, and
/// refreshed in the background while the previous one is still served.
pub struct VersionCache {
    root: PathBuf,
    refresh: Duration,
    cached: RwLock<Option<(Instant, Bytes)>>,
    refreshing: AtomicBool,
    first: tokio::sync::Mutex<()>,
}

impl VersionCache {
    pub fn new(root: PathBuf, refresh: Duration) -> Arc<Self> {
        Arc::new(VersionCache {
            root,
            refresh,
            cached: RwLock::new(None),
            refreshing: AtomicBool::new(false),
            first: tokio::sync::Mutex::new(()),
        })
    }

    pub async fn body(self: &Arc<Self>) -> Result<Bytes, Failure> {
        let cached = self.cached.read().unwrap().clone();
        match cached {
            Some((at, body)) => {
                if at.elapsed() >= self.refresh && !self.refreshing.swap(true, Ordering::AcqRel) {
                    let cache = Arc::clone(self);
                    tokio::spawn(async move {
                        if let Err(e) = cache.reload().await {
                            tracing::warn!(error = %e.body, "cannot refresh /api/version");
                        }
                        cache.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(body)
            }
            None => {
                // The first requests wait for one collection, not one each.
                let _first = self.first.lock().await;
                if let Some((_, body)) = self.cached.read().unwrap().clone() {
                    return Ok(body);
                }
                self.reload().await
            }
        }
    }

    async fn reload(&self) -> Result<Bytes, Failure> {
        let root = self.root.clone();
        let body = tokio::task::spawn_blocking(move || document(&root))
            .await
            .map_err(Failure::internal)?
            .map_err(|e| {
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot tell the version: {e}"),
                )
            })?;
        *self.cached.write().unwrap() = Some((Instant::now(), body.clone()));
        Ok(body)
    }
}
