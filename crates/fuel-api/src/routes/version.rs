//! `GET /api/version` (public): Nailgun's answer, from the fuel-version library.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiResult;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/version", get(version))
}

async fn version(State(state): State<AppState>) -> ApiResult<Response> {
    let body = state.version.body().await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
