//! `POST /clusters/{id}/deploy_tasks`: run the package tasks (`upload_pm`,
//! `execute_pm`) on nodes of the environment — python-fuelclient's
//! `fuel node --node 2,3 --tasks execute_pm`. Answers 202 with the task; its
//! progress is `GET /tasks/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use fuel_api_client::{DeployTasks, Task};

use crate::error::{ApiResult, Failure};
use crate::json_body::{JsonBody, ResourceId};
use crate::package_tasks::StartError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/clusters/{id}/deploy_tasks", post(start))
}

async fn start(
    State(state): State<AppState>,
    ResourceId(cluster_id): ResourceId,
    JsonBody(request): JsonBody<DeployTasks>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    if state.store.get_cluster(cluster_id).await?.is_none() {
        return Err(Failure::not_found(format!(
            "no environment {cluster_id}: `fuel env` lists them"
        )));
    }
    match state.package_tasks.start(cluster_id, &request).await {
        Ok(task) => Ok((StatusCode::ACCEPTED, Json(task))),
        Err(e) => Err(refusal(e)),
    }
}

fn refusal(error: StartError) -> Failure {
    let message = error.to_string();
    match error {
        StartError::NoTasks => Failure::invalid("tasks", message),
        StartError::UnknownTask { index, .. } => {
            Failure::invalid(format!("tasks[{index}]"), message)
        }
        StartError::NoNodes
        | StartError::UnknownNodes { .. }
        | StartError::NodesElsewhere { .. } => Failure::invalid("nodes", message),
        StartError::NoDocument(_) => Failure::conflict_on("package_manipulation", message),
        StartError::Busy { .. } => Failure::conflict(message),
        StartError::Database(e) => e.into(),
    }
}
