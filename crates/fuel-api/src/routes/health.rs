//! `/health` (ready: the database answers) and `/health/live` (the process answers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use fuel_api_client::Health;

use crate::error::{ApiResult, Failure};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(ready))
        .route("/health/live", get(live))
}

/// Ready: the database answers (503 otherwise).
async fn ready(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "health check: database unreachable");
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {e}"),
        )
    })?;
    Ok(Json(Health {
        status: "ok".to_string(),
        database: "ok".to_string(),
    }))
}

/// Live: the process answers; no database work (the benchmarks' baseline).
async fn live() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        database: "not checked".to_string(),
    })
}
