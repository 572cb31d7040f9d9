//! The package_revisions table: every accepted package document of an
//! environment, byte for byte, never rewritten. The newest revision is the
//! current document; one without content records a deletion.
//!
//! Two writers racing for the same revision number meet the primary key
//! (cluster_id, revision): one insert wins, the other gets `Duplicate` and
//! learns that the document changed under it.

use fuel_api_client::PackageRevision;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, WriteError};

const COLUMNS: &str = "cluster_id, revision, author, created_at, sha256, size, \
                       CASE WHEN content IS NULL THEN 1 ELSE 0 END AS deleted";

/// The entity tag of a revision's document, quotes included: the revision
/// number (unique per environment, never reused) and the start of the
/// content's sha256.
pub fn etag(revision: i64, sha256: &str) -> String {
    format!("\"{revision}-{}\"", &sha256[..sha256.len().min(16)])
}

fn from_row(row: &AnyRow) -> Result<PackageRevision, sqlx::Error> {
    let revision: i64 = row.try_get("revision")?;
    let sha256: String = row.try_get("sha256")?;
    let size: i64 = row.try_get("size")?;
    let deleted = row.try_get::<i64, _>("deleted")? != 0;
    Ok(PackageRevision {
        revision,
        cluster_id: row.try_get("cluster_id")?,
        author: row.try_get("author")?,
        created_at: row.try_get("created_at")?,
        etag: if deleted {
            String::new()
        } else {
            etag(revision, &sha256)
        },
        sha256,
        size: u64::try_from(size).unwrap_or_default(),
        deleted,
    })
}

/// A revision to write: `content: None` records a deletion.
pub struct NewRevision<'a> {
    pub cluster_id: i64,
    /// The number it must have (the one after the revision an `If-Match`
    /// matched), or `None` for the next free one.
    pub revision: Option<i64>,
    pub author: &'a str,
    pub created_at: &'a str,
    pub content: Option<&'a [u8]>,
    pub sha256: &'a str,
}

impl Store {
    /// The newest revision's metadata, deletion or not.
    pub async fn latest_package_revision(
        &self,
        cluster_id: i64,
    ) -> Result<Option<PackageRevision>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM package_revisions WHERE cluster_id = $1 \
             ORDER BY revision DESC LIMIT 1"
        ))
        .bind(cluster_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// One revision and its bytes (`None` for a deletion); `revision: None`
    /// is the newest.
    pub async fn package_revision(
        &self,
        cluster_id: i64,
        revision: Option<i64>,
    ) -> Result<Option<(PackageRevision, Option<Vec<u8>>)>, sqlx::Error> {
        let sql = match revision {
            Some(_) => format!(
                "SELECT {COLUMNS}, content FROM package_revisions \
                 WHERE cluster_id = $1 AND revision = $2"
            ),
            None => format!(
                "SELECT {COLUMNS}, content FROM package_revisions WHERE cluster_id = $1 \
                 ORDER BY revision DESC LIMIT 1"
            ),
        };
        let mut query = sqlx::query(&sql).bind(cluster_id);
        if let Some(revision) = revision {
            query = query.bind(revision);
        }
        let Some(row) = query.fetch_optional(&self.pool).await? else {
            return Ok(None);
        };
        Ok(Some((from_row(&row)?, row.try_get("content")?)))
    }

    /// Oldest first.
    pub async fn list_package_revisions(
        &self,
        cluster_id: i64,
    ) -> Result<Vec<PackageRevision>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM package_revisions WHERE cluster_id = $1 ORDER BY revision"
        ))
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// `Duplicate` when that revision number was taken meanwhile,
    /// `Reference` when the cluster does not exist (any more).
    pub async fn insert_package_revision(
        &self,
        new: &NewRevision<'_>,
    ) -> Result<PackageRevision, WriteError> {
        let size = new.content.map_or(0, |c| c.len() as i64);
        // The next free number is taken in the insert itself: no window
        // between reading it and using it on SQLite (one writer at a time);
        // on PostgreSQL two inserts may still pick one number, and the
        // primary key refuses the second.
        let revision = match new.revision {
            Some(_) => "$7",
            None => "(SELECT COALESCE(MAX(revision), 0) + 1 FROM package_revisions WHERE cluster_id = $1)",
        };
        let sql = format!(
            "INSERT INTO package_revisions \
             (cluster_id, revision, author, created_at, content, sha256, size) \
             VALUES ($1, {revision}, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.cluster_id)
            .bind(new.author)
            .bind(new.created_at)
            .bind(new.content)
            .bind(new.sha256)
            .bind(size);
        let row = match new.revision {
            Some(revision) => row.bind(revision),
            None => row,
        }
        .fetch_one(&self.pool)
        .await?;
        Ok(from_row(&row)?)
    }
}
