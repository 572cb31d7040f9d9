//! `/tasks`: deployment tasks, their status and the list filters.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use fuel_api_client::{NewTask, Task, TaskFilter, TaskUpdate};

use crate::error::{ApiResult, Failure};
use crate::json_body::{numeric_id, parse_query, require_text, JsonBody, ResourceId};
use crate::state::AppState;
use crate::store::WriteError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list).post(create))
        .route("/tasks/{id}", get(show).put(update))
}

/// `?status=` and `?cluster_id=`; anything else is a 400 naming the parameter.
fn parse_filter(query: Option<&str>) -> Result<TaskFilter, Failure> {
    let mut filter = TaskFilter::default();
    for (key, value) in parse_query(query)? {
        match key.as_str() {
            "status" => {
                filter.status = Some(
                    value
                        .parse()
                        .map_err(|e: String| Failure::invalid("status", e))?,
                )
            }
            "cluster_id" => filter.cluster_id = Some(numeric_id("cluster_id", &value)?),
            other => {
                return Err(Failure::invalid(
                    other,
                    format!("unknown filter `{other}`: use status or cluster_id"),
                ))
            }
        }
    }
    Ok(filter)
}

async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<Task>>> {
    let filter = parse_filter(query.as_deref())?;
    Ok(Json(state.store.list_tasks(&filter).await?))
}

/// A package task comes with each node's sub-tasks and reports.
async fn show(State(state): State<AppState>, ResourceId(id): ResourceId) -> ApiResult<Json<Task>> {
    state
        .store
        .package_task(id)
        .await?
        .map(Json)
        .ok_or_else(|| Failure::not_found(format!("no task {id}")))
}

fn check_progress(progress: u8) -> Result<(), Failure> {
    if progress > 100 {
        return Err(Failure::invalid(
            "progress",
            format!("progress {progress} is over 100"),
        ));
    }
    Ok(())
}

async fn create(
    State(state): State<AppState>,
    JsonBody(new): JsonBody<NewTask>,
) -> ApiResult<(StatusCode, Json<Task>)> {
    require_text("name", &new.name)?;
    check_progress(new.progress)?;
    match state.store.insert_task(&new).await {
        Ok(task) => Ok((StatusCode::CREATED, Json(task))),
        Err(WriteError::Reference) => Err(Failure::invalid(
            "cluster_id",
            format!(
                "no cluster {}: create it first",
                new.cluster_id.unwrap_or_default()
            ),
        )),
        Err(WriteError::Duplicate) => Err(Failure::internal("task insert hit a unique constraint")),
        Err(WriteError::Database(e)) => Err(e.into()),
    }
}

async fn update(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
    JsonBody(update): JsonBody<TaskUpdate>,
) -> ApiResult<Json<Task>> {
    if let Some(progress) = update.progress {
        check_progress(progress)?;
    }
    if let Some(task) = state.store.update_task(id, &update).await? {
        return Ok(Json(task));
    }
    if state.store.is_package_task(id).await? {
        // Its status is what the nodes did: a forged `ready` would record a
        // failed run as a success and let a second run start beside this one.
        return Err(Failure::conflict(format!(
            "task {id} is a package task: only the executor that runs it writes its status, \
             progress and per-node results (fuel task --task-id {id} shows them)"
        )));
    }
    Err(Failure::not_found(format!("no task {id}")))
}
