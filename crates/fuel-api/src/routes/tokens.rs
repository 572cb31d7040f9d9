//! `/auth/tokens`: issuing a token (public) and revoking one's own.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Extension, Json, Router};
use fuel_api_client::{Credentials, Token};

use crate::auth::{LoginFailure, Session};
use crate::error::ApiResult;
use crate::json_body::JsonBody;
use crate::state::AppState;

/// Issuing a token needs no token.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/auth/tokens", post(issue))
}

/// Revoking one needs the token itself (in `X-Auth-Token`).
pub fn protected_routes() -> Router<AppState> {
    Router::new().route("/auth/tokens", delete(revoke))
}

async fn issue(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<Token>), LoginFailure> {
    let token = state
        .auth
        .login(&credentials.username, &credentials.password, client.ip())
        .await?;
    tracing::info!(user = %credentials.username, "token issued");
    Ok((StatusCode::CREATED, Json(token)))
}

async fn revoke(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> ApiResult<StatusCode> {
    state.auth.revoke(&session).await?;
    tracing::info!(user = %session.username, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
