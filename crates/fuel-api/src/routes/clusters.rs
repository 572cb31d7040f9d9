//! `/clusters`: environments (create, read, list, delete).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use fuel_api_client::NewCluster;

use crate::error::{ApiResult, Failure};
use crate::json_body::{require_text, JsonBody, ResourceId};
use crate::nailgun::{self, NailgunCluster};
use crate::state::AppState;
use crate::store::WriteError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(list).post(create))
        .route("/clusters/{id}", get(show).delete(remove))
}

async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<NailgunCluster>>> {
    Ok(Json(nailgun::clusters(state.store.list_clusters().await?)))
}

async fn show(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<Json<NailgunCluster>> {
    state
        .store
        .get_cluster(id)
        .await?
        .map(|cluster| Json(nailgun::cluster(cluster)))
        .ok_or_else(|| Failure::not_found(format!("no cluster {id}")))
}

async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewCluster>,
) -> ApiResult<(StatusCode, Json<NailgunCluster>)> {
    require_text("name", &new.name)?;
    match state.store.insert_cluster(&new).await {
        Ok(cluster) => Ok((StatusCode::CREATED, Json(nailgun::cluster(cluster)))),
        Err(WriteError::Duplicate) => Err(Failure::conflict(format!(
            "cluster `{}` exists already",
            new.name
        ))),
        Err(WriteError::Reference) => Err(Failure::invalid(
            "release_id",
            format!("no release {}: create it first", new.release_id),
        )),
        Err(WriteError::Database(e)) => Err(e.into()),
    }
}

/// Deletes the cluster and its tasks.
async fn remove(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<StatusCode> {
    match state.store.delete_cluster(id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(Failure::not_found(format!("no cluster {id}"))),
        Err(WriteError::Duplicate | WriteError::Reference) => {
            Err(Failure::internal("cluster delete hit a constraint"))
        }
        Err(WriteError::Database(e)) => Err(e.into()),
    }
}
