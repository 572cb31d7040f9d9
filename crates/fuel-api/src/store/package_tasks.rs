//! Package tasks in the database: the task row and each node's sub-task rows
//! (leases and the sweep of abandoned tasks: `leases.rs`).

use fuel_api_client::{Task, TaskNode, TaskNodeStatus, TaskProgress, TaskStatus};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::clock::now_rfc3339;

use super::tasks::{from_row as task_from_row, COLUMNS as TASK_COLUMNS};
use super::{inventory, parse_column, Store, WriteError};
use fuel_pm::report::Report;

/// A sub-task to create: (node id, hostname, sub-task name, rollout batch).
pub struct PlannedSubTask<'a> {
    pub node_id: i64,
    pub hostname: &'a str,
    pub subtask: &'a str,
    pub batch: Option<u32>,
}

/// A rollout's plan as the task record keeps it.
pub struct PlannedRollout<'a> {
    /// Node ids of each batch, in order; empty when the task is no rollout.
    pub batches: &'a [Vec<i64>],
    pub max_failures: Option<&'a str>,
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
    "node_id, hostname, subtask, status, started_at, finished_at, reason, message, report, batch";
/// The same without the report: what a follower polls for.
const PROGRESS_COLUMNS: &str =
    "node_id, hostname, subtask, status, started_at, finished_at, reason, message, NULL AS report, batch";

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
        batch: row
            .try_get::<Option<i64>, _>("batch")?
            .and_then(|b| u32::try_from(b).ok()),
    })
}

/// What a new package task records beyond its name and sub-tasks: the
/// lease of the process that accepted it, and what a process taking it over
/// needs to go on.
pub struct NewPackageTask<'a> {
    pub owner: &'a str,
    pub lease_ms: i64,
    pub document_revision: i64,
    pub check: bool,
}

impl Store {
    /// Creates a pending package task with its sub-tasks, in one transaction,
    /// leased to `new.owner`. `WriteError::Duplicate`: another package task is
    /// pending or running in the environment (the schema's unique index, so
    /// this holds across processes).
    pub async fn insert_package_task(
        &self,
        cluster_id: i64,
        name: &str,
        added_tasks: &[&str],
        subtasks: &[PlannedSubTask<'_>],
        new: &NewPackageTask<'_>,
        rollout: &PlannedRollout<'_>,
    ) -> Result<Task, WriteError> {
        let batches = (!rollout.batches.is_empty())
            .then(|| serde_json::to_string(rollout.batches).expect("ids serialise"));
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO tasks (name, status, progress, cluster_id, message, added_tasks, \
             package_task, lease_owner, lease_expires_at, document_revision, check_mode, \
             batches, max_failures) \
             VALUES ($1, 'pending', 0, $2, NULL, $3, 1, $4, {} + $5, $6, $7, $8, $9) RETURNING {TASK_COLUMNS}",
            self.now_ms()
        ))
        .bind(name)
        .bind(cluster_id)
        .bind(added_tasks.join(","))
        .bind(new.owner)
        .bind(new.lease_ms)
        .bind(new.document_revision)
        .bind(i64::from(new.check))
        .bind(batches)
        .bind(rollout.max_failures)
        .fetch_one(&mut *tx)
        .await?;
        let task = task_from_row(&row)?;
        for (position, planned) in subtasks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO task_nodes (task_id, node_id, hostname, subtask, position, status, \
                 batch) VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
            )
            .bind(task.id)
            .bind(planned.node_id)
            .bind(planned.hostname)
            .bind(planned.subtask)
            .bind(position as i64)
            .bind(planned.batch.map(i64::from))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(self
            .package_task(task.id)
            .await?
            .expect("the task was just created"))
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
    /// Whether task `id` is a package task (it has per-node sub-tasks).
    pub async fn is_package_task(&self, id: i64) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT 1 FROM task_nodes WHERE task_id = $1 LIMIT 1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

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

    /// One sub-task's new state, stamped with the task's next change number;
    /// an `execute_pm` report also updates the node's package inventory, in
    /// the same transaction.
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
        let seq = next_change(&mut tx, task_id).await?;
        sqlx::query(
            "UPDATE task_nodes SET status = $1, started_at = COALESCE($2, started_at), \
             finished_at = COALESCE($3, finished_at), reason = $4, message = $5, \
             report = COALESCE($6, report), seq = $7 \
             WHERE task_id = $8 AND node_id = $9 AND subtask = $10",
        )
        .bind(update.status.as_str())
        .bind(update.started_at)
        .bind(update.finished_at)
        .bind(update.reason)
        .bind(update.message)
        .bind(update.report)
        .bind(seq)
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

    /// A stopped rollout: every sub-task still pending becomes `skipped`
    /// with `reason`; returns how many nodes that spared.
    pub async fn skip_pending_subtasks(
        &self,
        task_id: i64,
        reason: &str,
        message: &str,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let seq = next_change(&mut tx, task_id).await?;
        let spared: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT node_id) FROM task_nodes WHERE task_id = $1 AND status = 'pending' \
             AND node_id NOT IN (SELECT node_id FROM task_nodes WHERE task_id = $1 AND status <> 'pending')",
        )
        .bind(task_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE task_nodes SET status = 'skipped', reason = $1, message = $2, seq = $3 \
             WHERE task_id = $4 AND status = 'pending'",
        )
        .bind(reason)
        .bind(message)
        .bind(seq)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(u64::try_from(spared).unwrap_or_default())
    }

    /// What changed in a package task after change number `since`: the task
    /// row, the sub-tasks (without reports) and the cursor to pass next.
    pub async fn task_progress(
        &self,
        id: i64,
        since: i64,
    ) -> Result<Option<TaskProgress>, sqlx::Error> {
        // The cursor is read first: a change committed between the two reads
        // has a higher number and is answered again next time, never lost.
        let Some(cursor) = sqlx::query_scalar::<_, i64>("SELECT seq FROM tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let Some(task) = self.get_task(id).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(&format!(
            "SELECT {PROGRESS_COLUMNS} FROM task_nodes WHERE task_id = $1 \
             AND (seq > $2 OR $2 = 0) ORDER BY position"
        ))
        .bind(id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let nodes = rows.iter().map(node_from_row).collect::<Result<_, _>>()?;
        Ok(Some(TaskProgress {
            task,
            cursor,
            nodes,
        }))
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
}

/// Takes the task's next change number. The task row stays locked until the
/// transaction ends, so numbers are committed in the order they are taken
/// (PostgreSQL's row lock; SQLite has one writer).
pub(super) async fn next_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    task_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE tasks SET seq = seq + 1 WHERE id = $1 RETURNING seq")
        .bind(task_id)
        .fetch_one(&mut **tx)
        .await
}
