//! The HTTP surface: one module per resource, each adding its routes. Every
//! resource answers under /api/v1 and, as Nailgun did, under /api.

mod clusters;
mod health;
mod inventory;
mod nodes;
mod package_documents;
mod package_tasks;
mod releases;
mod tasks;
mod tokens;
mod version;

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Request, Response, StatusCode, Uri};
use axum::middleware::Next;
use axum::{middleware, Router};
use fuel_api_client::AUTH_HEADER;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::error::Failure;
use crate::state::AppState;

pub fn router(state: AppState, body_limit: usize) -> Router {
    // A new resource adds its module here: it gets the token check by being
    // merged into `protected`.
    let protected = Router::new()
        .merge(releases::routes())
        .merge(tasks::routes())
        .merge(clusters::routes())
        .merge(nodes::routes())
        .merge(package_documents::routes())
        .merge(package_tasks::routes())
        .merge(inventory::routes())
        .merge(tokens::protected_routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let public = Router::new()
        .merge(version::routes())
        .merge(health::routes())
        .merge(tokens::public_routes());
    let api = public.merge(protected);
    Router::new()
        .nest("/api/v1", api.clone())
        .nest("/api", api)
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            // One log line per request, written when the answer is sent.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(|response: &Response<_>, latency: Duration, _: &Span| {
                    tracing::info!(status = response.status().as_u16(), latency_us = latency.as_micros() as u64, "served")
                })
                .on_failure(()),
        )
        .with_state(state)
}

/// Middleware of the protected routes: writes always need a valid token,
/// reads too unless `auth.reads_require_token = false`.
async fn require_token(
    State(state): State<AppState>,
    mut request: axum::extract::Request,
    next: Next,
) -> axum::response::Response {
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let header = request
        .headers()
        .get(AUTH_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    let result = match header {
        None if is_read && !state.auth.reads_require_token() => Ok(None),
        None => Err(Failure::unauthorized(format!(
            "missing {AUTH_HEADER} header: get a token with POST /api/v1/auth/tokens"
        ))),
        Some(token) => state.auth.validate(&token).await.map(Some),
    };
    match result {
        Ok(session) => {
            if let Some(session) = session {
                request.extensions_mut().insert(session);
            }
            next.run(request).await
        }
        Err(failure) => axum::response::IntoResponse::into_response(failure),
    }
}

async fn no_route(uri: Uri) -> Failure {
    Failure::not_found(format!(
        "no resource at {}: the API lives under /api/v1",
        uri.path()
    ))
}

async fn no_method(uri: Uri) -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not accept this method", uri.path()),
    )
}
