//! Package task leases in the database: which fuel-api process runs a task
//! and until when. Every time is the database's clock in milliseconds since
//! the Unix epoch, so processes on hosts whose clocks differ still agree on
//! when a lease has expired. Each claim and renewal is one conditional
//! `UPDATE` of the task's row: PostgreSQL locks the row and re-checks the
//! condition after a concurrent writer committed, SQLite has one writer, so
//! of two processes claiming one expired lease exactly one sees a row changed.

use sqlx::Row;

use super::{Backend, Store};

/// What a process taking a task over reads: the request it must go on with.
pub struct ResumeState {
    pub cluster_id: i64,
    pub document_revision: Option<i64>,
    pub check: bool,
}

const ACTIVE: &str = "package_task = 1 AND status IN ('pending', 'running')";

impl Store {
    /// The database's clock, in milliseconds since the Unix epoch, as SQL.
    pub(super) fn now_ms(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }

    /// Extends `owner`'s lease on the task; false when the owner no longer
    /// holds it (another process took it over) or the task has ended.
    pub async fn renew_lease(
        &self,
        task_id: i64,
        owner: &str,
        lease_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&format!(
            "UPDATE tasks SET lease_expires_at = {} + $1 \
             WHERE id = $2 AND lease_owner = $3 AND {ACTIVE}",
            self.now_ms()
        ))
        .bind(lease_ms)
        .bind(task_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Active package tasks whose lease expired less than `window_ms` ago:
    /// their process died and another may take them over.
    pub async fn expired_package_tasks(&self, window_ms: i64) -> Result<Vec<i64>, sqlx::Error> {
        let now = self.now_ms();
        let rows = sqlx::query(&format!(
            "SELECT id FROM tasks WHERE {ACTIVE} AND lease_expires_at < {now} \
             AND lease_expires_at >= {now} - $1 ORDER BY id"
        ))
        .bind(window_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| r.try_get("id")).collect()
    }

    /// Takes an expired lease over; true for exactly one of several
    /// processes trying at once.
    pub async fn claim_package_task(
        &self,
        task_id: i64,
        owner: &str,
        lease_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let now = self.now_ms();
        let done = sqlx::query(&format!(
            "UPDATE tasks SET lease_owner = $1, lease_expires_at = {now} + $2 \
             WHERE id = $3 AND {ACTIVE} AND lease_expires_at < {now}"
        ))
        .bind(owner)
        .bind(lease_ms)
        .bind(task_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// What a process taking the task over needs beyond its node rows.
    pub async fn resume_state(&self, task_id: i64) -> Result<Option<ResumeState>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT cluster_id, document_revision, check_mode FROM tasks WHERE id = $1",
        )
        .bind(task_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ResumeState {
                cluster_id: row.try_get("cluster_id")?,
                document_revision: row.try_get("document_revision")?,
                check: row.try_get::<i64, _>("check_mode")? != 0,
            })
        })
        .transpose()
    }

    /// Package tasks no live process held for longer than `window_ms` (or,
    /// with `None`, every pending or running one: a SQLite master starting
    /// is the only process) become `interrupted`, with their unfinished
    /// sub-tasks; finished sub-tasks keep their state. A task whose lease
    /// is live is never touched. Returns how many tasks were interrupted.
    pub async fn interrupt_abandoned_package_tasks(
        &self,
        window_ms: Option<i64>,
        message: &str,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let update = "UPDATE tasks SET status = 'interrupted', message = $1 WHERE";
        let rows = match window_ms {
            Some(window_ms) => {
                sqlx::query(&format!(
                "{update} {ACTIVE} AND (lease_expires_at IS NULL OR lease_expires_at < {} - $2) \
                     RETURNING id",
                self.now_ms()
            ))
                .bind(message)
                .bind(window_ms)
                .fetch_all(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(&format!("{update} {ACTIVE} RETURNING id"))
                    .bind(message)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        for id in &ids {
            // A change like any other, so followers (`?since=`) see it.
            let seq = super::package_tasks::next_change(&mut tx, *id).await?;
            sqlx::query(
                "UPDATE task_nodes SET status = 'interrupted', seq = $1 \
                 WHERE task_id = $2 AND status IN ('pending', 'running')",
            )
            .bind(seq)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ids.len() as u64)
    }
}
