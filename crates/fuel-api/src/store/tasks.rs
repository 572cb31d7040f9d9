//! The tasks table and its filtered listing.

use fuel_api_client::{NewTask, Task, TaskFilter, TaskUpdate};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{parse_column, Store, WriteError};

pub(super) const COLUMNS: &str =
    "id, name, status, progress, cluster_id, message, added_tasks, batches, max_failures";

pub(super) fn from_row(row: &AnyRow) -> Result<Task, sqlx::Error> {
    let progress: i64 = row.try_get("progress")?;
    Ok(Task {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        status: parse_column(row, "status")?,
        // The schema's CHECK keeps it within 0..=100.
        progress: progress.clamp(0, 100) as u8,
        cluster_id: row.try_get("cluster_id")?,
        message: row.try_get("message")?,
        added_tasks: row
            .try_get::<Option<String>, _>("added_tasks")?
            .map(|list| {
                list.split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        // Filled in by the package task store where a caller asks for them.
        nodes: Vec::new(),
        batches: row
            .try_get::<Option<String>, _>("batches")?
            .map(|json| {
                serde_json::from_str(&json).map_err(|e| sqlx::Error::ColumnDecode {
                    index: "batches".into(),
                    source: e.into(),
                })
            })
            .transpose()?
            .unwrap_or_default(),
        max_failures: row.try_get("max_failures")?,
    })
}

impl Store {
    pub async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, sqlx::Error> {
        let mut conditions = Vec::new();
        if filter.status.is_some() {
            conditions.push(format!("status = ${}", conditions.len() + 1));
        }
        if filter.cluster_id.is_some() {
            conditions.push(format!("cluster_id = ${}", conditions.len() + 1));
        }
        let mut sql = format!("SELECT {COLUMNS} FROM tasks");
        if !conditions.is_empty() {
            sql = format!("{sql} WHERE {}", conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY id");
        let mut query = sqlx::query(&sql);
        if let Some(status) = filter.status {
            query = query.bind(status.as_str());
        }
        if let Some(cluster_id) = filter.cluster_id {
            query = query.bind(cluster_id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn get_task(&self, id: i64) -> Result<Option<Task>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// `Reference` when the cluster does not exist.
    pub async fn insert_task(&self, new: &NewTask) -> Result<Task, WriteError> {
        let row = sqlx::query(&format!(
            "INSERT INTO tasks (name, status, progress, cluster_id, message) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(&new.name)
        .bind(new.status.as_str())
        .bind(i64::from(new.progress))
        .bind(new.cluster_id)
        .bind(new.message.as_deref())
        .fetch_one(&self.pool)
        .await?;
        Ok(from_row(&row)?)
    }

    /// `None` when there is no such task or it is a package task (only the
    /// executor writes those: [`Store::is_package_task`] tells which); absent
    /// progress and message stay as they were.
    pub async fn update_task(
        &self,
        id: i64,
        update: &TaskUpdate,
    ) -> Result<Option<Task>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "UPDATE tasks SET status = $1, progress = COALESCE($2, progress), \
             message = COALESCE($3, message) WHERE id = $4 \
             AND NOT EXISTS (SELECT 1 FROM task_nodes n WHERE n.task_id = $4) \
             RETURNING {COLUMNS}"
        ))
        .bind(update.status.as_str())
        .bind(update.progress.map(i64::from))
        .bind(update.message.as_deref())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }
}
