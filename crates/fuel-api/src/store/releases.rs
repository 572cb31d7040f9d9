//! The releases table.

use fuel_api_client::{NewRelease, Release};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{parse_column, Store, WriteError};

const COLUMNS: &str = "id, name, version, operating_system, description, state";

fn from_row(row: &AnyRow) -> Result<Release, sqlx::Error> {
    Ok(Release {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        operating_system: row.try_get("operating_system")?,
        description: row.try_get("description")?,
        state: parse_column(row, "state")?,
    })
}

impl Store {
    pub async fn list_releases(&self) -> Result<Vec<Release>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM releases ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn get_release(&self, id: i64) -> Result<Option<Release>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM releases WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// `Duplicate` when the name + version exists.
    pub async fn insert_release(&self, new: &NewRelease) -> Result<Release, WriteError> {
        let row = sqlx::query(&format!(
            "INSERT INTO releases (name, version, operating_system, description, state) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
        ))
        .bind(&new.name)
        .bind(&new.version)
        .bind(&new.operating_system)
        .bind(&new.description)
        .bind(new.state.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(from_row(&row)?)
    }

    /// `Ok(false)` when there was no such release; `Reference` while a cluster uses it.
    pub async fn delete_release(&self, id: i64) -> Result<bool, WriteError> {
        let done = sqlx::query("DELETE FROM releases WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
