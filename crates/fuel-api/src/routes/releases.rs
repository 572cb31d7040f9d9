//! `/releases`: the release list (cached between writes) and single releases.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{extract::State, Json, Router};
use fuel_api_client::{NewRelease, Release};

use crate::error::{ApiResult, Failure};
use crate::json_body::{require_text, JsonBody, ResourceId};
use crate::state::AppState;
use crate::store::WriteError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/releases", get(list).post(create))
        .route("/releases/{id}", get(show).delete(remove))
}

/// Served from the cache while no release changed.
async fn list(State(state): State<AppState>) -> ApiResult<Response> {
    let body = match state.release_list.get() {
        Some(body) => body,
        None => {
            let generation = state.release_list.generation();
            let releases = state.store.list_releases().await?;
            let body =
                axum::body::Bytes::from(serde_json::to_vec(&releases).map_err(Failure::internal)?);
            state.release_list.store(generation, body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn show(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<Json<Release>> {
    state
        .store
        .get_release(id)
        .await?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("no release {id}")))
}

async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewRelease>,
) -> ApiResult<(StatusCode, Json<Release>)> {
    require_text("name", &new.name)?;
    require_text("version", &new.version)?;
    require_text("operating_system", &new.operating_system)?;
    // Invalidated even if the handler is dropped after the insert commits.
    let _invalidate = state.release_list.writing();
    let result = state.store.insert_release(&new).await;
    match result {
        Ok(release) => Ok((StatusCode::CREATED, Json(release))),
        Err(WriteError::Duplicate) => Err(Failure::conflict(format!(
            "release {} {} exists already",
            new.name, new.version
        ))),
        Err(WriteError::Reference) => Err(Failure::internal("release insert hit a foreign key")),
        Err(WriteError::Database(e)) => Err(e.into()),
    }
}

async fn remove(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<StatusCode> {
    let _invalidate = state.release_list.writing();
    let result = state.store.delete_release(id).await;
    match result {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(Failure::not_found(format!("no release {id}"))),
        Err(WriteError::Reference) => Err(Failure::conflict(format!(
            "release {id} is used by a cluster: delete the cluster first"
        ))),
        Err(WriteError::Duplicate) => {
            Err(Failure::internal("release delete hit a unique constraint"))
        }
        Err(WriteError::Database(e)) => Err(e.into()),
    }
}
