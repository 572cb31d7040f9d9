//! `/clusters`: environments (create, read, list, delete).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use fuel_api_client::{Cluster, NewCluster};

use crate::error::{ApiResult, Failure};
use crate::json_body::{require_text, JsonBody, ResourceId};
use crate::state::AppState;
use crate::store::WriteError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clusters", get(list).post(create))
        .route("/clusters/{id}", get(show).delete(remove))
}

async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<Cluster>>> {
    Ok(Json(state.store.list_clusters().await?))
}

async fn show(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<Json<Cluster>> {
    state
        .store
        .get_cluster(id)
        .await?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("no cluster {id}")))
}

async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewCluster>,
) -> ApiResult<(StatusCode, Json<Cluster>)> {
    require_text("name", &new.name)?;
    match state.store.insert_cluster(&new).await {
        Ok(cluster) => Ok((StatusCode::CREATED, Json(cluster))),
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
