//! Package tasks in the database: the task row, each node's sub-task rows,
//! and the start-up sweep that marks what a stopped master left running as
//! `interrupted`.

use fuel_api_client::{Task, TaskNode, TaskNodeStatus, TaskStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::clock::now_rfc3339;

use super::tasks::{from_row as task_from_row, COLUMNS as TASK_COLUMNS};
use super::{inventory, parse_column, Store};
use fuel_pm::report::Report;

/// A sub-task to create: (node id, hostname, sub-task name).
pub struct PlannedSubTask<'a> {
    pub node_id: i64,
    pub hostname: &'a str,
    pub subtask: &'a str,
}

/// What a sub-task's row becomes.
pub struct SubTaskUpdate<'a> {
    pub status: TaskNodeStatus,
    pub started_at: Option<&'a str>,
    pub finished_at: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub message: Option<&'a str>,
    /// The applier's report, as JSON.
    pub report: Option<&'a str>,
}

const NODE_COLUMNS: &str =
    "node_id, hostname, subtask, status, started_at, finished_at, reason, message, report";

fn node_from_row(row: &AnyRow) -> Result<TaskNode, sqlx::Error> {
    let report: Option<String> = row.try_get("report")?;
    let report = report
        .map(|json| {
            serde_json::from_str(&json).map_err(|e| sqlx::Error::ColumnDecode {
                index: "report".into(),
                source: e.into(),
            })
        })
        .transpose()?;
    Ok(TaskNode {
        node_id: row.try_get("node_id")?,
        hostname: row.try_get("hostname")?,
        subtask: row.try_get("subtask")?,
        status: parse_column(row, "status")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        reason: row.try_get("reason")?,
        message: row.try_get("message")?,
        report,
    })
}

impl Store {
    /// Creates a pending package task with its sub-tasks, in one transaction.
    pub async fn insert_package_task(
        &self,
        cluster_id: i64,
        name: &str,
        added_tasks: &[&str],
        subtasks: &[PlannedSubTask<'_>],
    ) -> Result<Task, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO tasks (name, status, progress, cluster_id, message, added_tasks) \
             VALUES ($1, 'pending', 0, $2, NULL, $3) RETURNING {TASK_COLUMNS}"
        ))
        .bind(name)
        .bind(cluster_id)
        .bind(added_tasks.join(","))
        .fetch_one(&mut *tx)
        .await?;
        let task = task_from_row(&row)?;
        for (position, planned) in subtasks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO task_nodes (task_id, node_id, hostname, subtask, position, status) \
                 VALUES ($1, $2, $3, $4, $5, 'pending')",
            )
            .bind(task.id)
            .bind(planned.node_id)
            .bind(planned.hostname)
            .bind(planned.subtask)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.package_task(task.id)
            .await
            .map(|t| t.expect("the task was just created"))
    }

    /// The task with its nodes' sub-tasks (none for a task that is not a package task).
    pub async fn package_task(&self, id: i64) -> Result<Option<Task>, sqlx::Error> {
        let Some(mut task) = self.get_task(id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(&format!(
            "SELECT {NODE_COLUMNS} FROM task_nodes WHERE task_id = $1 ORDER BY position"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        task.nodes = rows.iter().map(node_from_row).collect::<Result<_, _>>()?;
        Ok(Some(task))
    }

    /// The package task still pending or running in the environment, if any.
    pub async fn active_package_task(&self, cluster_id: i64) -> Result<Option<Task>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks t WHERE cluster_id = $1 \
             AND status IN ('pending', 'running') \
             AND EXISTS (SELECT 1 FROM task_nodes n WHERE n.task_id = t.id) \
             ORDER BY id LIMIT 1"
        ))
        .bind(cluster_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Writes a sub-task's state; an `execute_pm` report also updates the
    /// node's package inventory, in the same transaction.
    pub async fn update_subtask(
        &self,
        task_id: i64,
        node_id: i64,
        subtask: &str,
        update: &SubTaskUpdate<'_>,
    ) -> Result<(), sqlx::Error> {
        let observed = match update.report {
            Some(json) if subtask == "execute_pm" => Some(
                serde_json::from_str::<Report>(json).map_err(|e| sqlx::Error::Encode(e.into()))?,
            ),
            _ => None,
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE task_nodes SET status = $1, started_at = COALESCE($2, started_at), \
             finished_at = COALESCE($3, finished_at), reason = $4, message = $5, \
             report = COALESCE($6, report) \
             WHERE task_id = $7 AND node_id = $8 AND subtask = $9",
        )
        .bind(update.status.as_str())
        .bind(update.started_at)
        .bind(update.finished_at)
        .bind(update.reason)
        .bind(update.message)
        .bind(update.report)
        .bind(task_id)
        .bind(node_id)
        .bind(subtask)
        .execute(&mut *tx)
        .await?;
        if let Some(report) = &observed {
            let now;
            let observed_at = match update.finished_at {
                Some(at) => at,
                None => {
                    now = now_rfc3339();
                    &now
                }
            };
            inventory::record(&mut tx, node_id, task_id, observed_at, report).await?;
        }
        tx.commit().await
    }

    /// Sets the task's status, progress and message.
    pub async fn set_task_state(
        &self,
        id: i64,
        status: TaskStatus,
        progress: u8,
        message: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE tasks SET status = $1, progress = $2, message = $3 WHERE id = $4")
            .bind(status.as_str())
            .bind(i64::from(progress))
            .bind(message)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// At start-up: package tasks a stopped master left pending or running
    /// become `interrupted`, and so do their unfinished sub-tasks; finished
    /// sub-tasks keep their state. Returns how many tasks were interrupted.
    pub async fn interrupt_package_tasks(&self, message: &str) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE task_nodes SET status = 'interrupted' \
             WHERE status IN ('pending', 'running') AND task_id IN \
             (SELECT id FROM tasks WHERE status IN ('pending', 'running'))",
        )
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE tasks SET status = 'interrupted', message = $1 \
             WHERE status IN ('pending', 'running') \
             AND EXISTS (SELECT 1 FROM task_nodes n WHERE n.task_id = tasks.id)",
        )
        .bind(message)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
