//! The clusters table.

use fuel_api_client::{Cluster, NewCluster};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, WriteError};

const COLUMNS: &str = "id, name, release_id";

fn from_row(row: &AnyRow) -> Result<Cluster, sqlx::Error> {
    Ok(Cluster {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        release_id: row.try_get("release_id")?,
    })
}

impl Store {
    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM clusters ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn get_cluster(&self, id: i64) -> Result<Option<Cluster>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM clusters WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// `Duplicate` for a taken name, `Reference` when the release does not exist.
    pub async fn insert_cluster(&self, new: &NewCluster) -> Result<Cluster, WriteError> {
        let row = sqlx::query(&format!(
            "INSERT INTO clusters (name, release_id) VALUES ($1, $2) RETURNING {COLUMNS}"
        ))
        .bind(&new.name)
        .bind(new.release_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(from_row(&row)?)
    }

    /// `Ok(false)` when there was no such cluster; its tasks go with it.
    pub async fn delete_cluster(&self, id: i64) -> Result<bool, WriteError> {
        let done = sqlx::query("DELETE FROM clusters WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
