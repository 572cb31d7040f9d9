//! `/clusters/{id}/deploy_tasks`: run the package tasks (`upload_pm`,
//! `execute_pm`) on nodes of the environment — `fuel node --node 2,3 --tasks
//! execute_pm`. `POST` takes this API's body (`{"nodes": [2, 3], "tasks":
//! [...], "check": false}`, and a rollout's `batch`, `max_failures`,
//! `order_by_role`); `PUT ?nodes=2,3` with a JSON list of task names is
//! python-fuelclient's `execute_tasks` (its `noop_run=1` is check mode;
//! `force=1` is refused: every requested task always runs). Both answer 202
//! with the task in Nailgun's shape; its progress is `GET /tasks/{id}`, or
//! what changed since the caller's last look: `GET
//! /tasks/{id}/nodes?since=CURSOR`.

use axum::extract::{RawQuery, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use fuel_api_client::{DeployTasks, TaskProgress};

use crate::error::{ApiResult, Failure};
use crate::json_body::{numeric_id, parse_query, read_body, JsonBody, ResourceId};
use crate::nailgun::{self, NailgunTask};
use crate::package_tasks::StartError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/clusters/{id}/deploy_tasks",
            post(start).put(start_fuelclient),
        )
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
                since = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| {
                        Failure::invalid(
                            "since",
                            format!(
                            "`{value}` is not a cursor: pass the `cursor` of the last answer, or 0"
                        ),
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
) -> ApiResult<(StatusCode, Json<NailgunTask>)> {
    run(&state, cluster_id, &request).await
}

/// python-fuelclient's form: nodes and flags in the query, the task names as the body.
async fn start_fuelclient(
    State(state): State<AppState>,
    ResourceId(cluster_id): ResourceId,
    RawQuery(query): RawQuery,
    request: Request,
) -> ApiResult<(StatusCode, Json<NailgunTask>)> {
    let mut deploy = DeployTasks {
        nodes: Vec::new(),
        tasks: Vec::new(),
        check: false,
        batch: None,
        max_failures: None,
        order_by_role: false,
    };
    for (key, value) in parse_query(query.as_deref())? {
        match key.as_str() {
            "nodes" => {
                for id in value.split(',').filter(|id| !id.trim().is_empty()) {
                    deploy.nodes.push(numeric_id("nodes", id.trim())?);
                }
            }
            "noop_run" => deploy.check = flag("noop_run", &value)?,
            "force" if flag("force", &value)? => {
                return Err(Failure::invalid(
                    "force",
                    "force is not supported: package tasks always run every task asked for; run the command without --force",
                ))
            }
            "force" => {}
            other => {
                return Err(Failure::invalid(
                    other,
                    format!("unknown parameter `{other}`: use nodes, noop_run"),
                ))
            }
        }
    }
    let body = read_body(request, &state).await?;
    deploy.tasks = serde_json::from_slice(&body).map_err(|e| {
        Failure::invalid(
            "tasks",
            format!("the body must be a JSON list of task names, e.g. [\"execute_pm\"]: {e}"),
        )
    })?;
    run(&state, cluster_id, &deploy).await
}

/// A query flag as fuelclient sends it (`1`), or its other spellings.
fn flag(name: &str, value: &str) -> Result<bool, Failure> {
    match value {
        "1" | "true" | "True" => Ok(true),
        "0" | "false" | "False" | "" => Ok(false),
        other => Err(Failure::invalid(
            name,
            format!("`{}` is not a flag: use 1 or 0", other.escape_debug()),
        )),
    }
}

async fn run(
    state: &AppState,
    cluster_id: i64,
    request: &DeployTasks,
) -> ApiResult<(StatusCode, Json<NailgunTask>)> {
    if state.store.get_cluster(cluster_id).await?.is_none() {
        return Err(Failure::not_found(format!(
            "no environment {cluster_id}: `fuel env` lists them"
        )));
    }
    match state.package_tasks.start(cluster_id, request).await {
        Ok(task) => Ok((StatusCode::ACCEPTED, Json(nailgun::task(task)))),
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
