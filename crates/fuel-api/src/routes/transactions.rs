//! `/transactions`: Nailgun's later name for tasks, which python-fuelclient's
//! `fuel2 task list|show` reads. The same tasks as `/tasks`, in Nailgun's
//! shape, with its list filters (`cluster_id`, `statuses`,
//! `transaction_types`, the last two comma lists).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use fuel_api_client::{TaskFilter, TaskStatus};

use crate::error::{ApiResult, Failure};
use crate::json_body::{numeric_id, parse_query, ResourceId};
use crate::nailgun::{self, NailgunTask};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/transactions", get(list))
        .route("/transactions/{id}", get(show))
}

/// The items of a comma list, without empty ones.
fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<NailgunTask>>> {
    let mut filter = TaskFilter::default();
    let mut statuses: Option<Vec<TaskStatus>> = None;
    let mut names: Option<Vec<String>> = None;
    for (key, value) in parse_query(query.as_deref())? {
        match key.as_str() {
            "cluster_id" => filter.cluster_id = Some(numeric_id("cluster_id", &value)?),
            "statuses" => {
                statuses = Some(
                    items(&value)
                        .map(|s| {
                            s.parse()
                                .map_err(|e: String| Failure::invalid("statuses", e))
                        })
                        .collect::<Result<_, _>>()?,
                )
            }
            "transaction_types" => names = Some(items(&value).map(String::from).collect()),
            other => {
                return Err(Failure::invalid(
                    other,
                    format!(
                        "unknown filter `{other}`: use cluster_id, statuses or transaction_types"
                    ),
                ))
            }
        }
    }
    let mut tasks = state.store.list_tasks(&filter).await?;
    if let Some(statuses) = statuses {
        tasks.retain(|t| statuses.contains(&t.status));
    }
    if let Some(names) = names {
        // A package task is named by what it ran ("upload_pm,execute_pm"):
        // asking for either finds it.
        tasks.retain(|t| items(&t.name).any(|n| names.iter().any(|want| want.as_str() == n)));
    }
    Ok(Json(nailgun::tasks(tasks)))
}

async fn show(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<Json<NailgunTask>> {
    state
        .store
        .package_task(id)
        .await?
        .map(|task| Json(nailgun::task(task)))
        .ok_or_else(|| Failure::not_found(format!("no transaction {id}")))
}
