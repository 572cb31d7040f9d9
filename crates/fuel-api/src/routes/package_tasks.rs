//! `POST /clusters/{id}/deploy_tasks`: run the package tasks (`upload_pm`,
//! `execute_pm`) on nodes of the environment — python-fuelclient's
//! `fuel node --node 2,3 --tasks execute_pm`. Answers 202 with the task; its
//! progress is `GET /tasks/{id}`, or what changed since the caller's last
//! look: `GET /tasks/{id}/nodes?since=CURSOR`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fuel_api_client::{DeployTasks, Task, TaskProgress};

use crate::error::{ApiResult, Failure};
use crate::json_body::{parse_query, JsonBody, ResourceId};
use crate::package_tasks::StartError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clusters/{id}/deploy_tasks", post(start))
        .route("/tasks/{id}/nodes", get(progress))
}

/// `?since=CURSOR` (default 0: every sub-task).
async fn progress(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<TaskProgress>> {
    let mut since = 0;
    for (key, value) in parse_query(query.as_deref())? {
        match key.as_str() {
            "since" => {
                since = value.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    Failure::invalid(
                        "since",
                        format!("`{value}` is not a cursor: pass the `cursor` of the last answer, or 0"),
                    )
                })?
            }
            other => {
                return Err(Failure::invalid(
                    other,
                    format!("unknown parameter `{other}`: use since"),
                ))
            }
        }
    }
    state
        .store
        .task_progress(id, since)
        .await?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("no task {id}")))
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
        StartError::Rollout { field, .. } => Failure::invalid(field, message),
        StartError::NoDocument(_) => Failure::conflict_on("package_manipulation", message),
        StartError::Busy { .. } => Failure::conflict(message),
        StartError::Database(e) => e.into(),
    }
}
