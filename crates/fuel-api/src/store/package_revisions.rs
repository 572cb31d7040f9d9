//! The package_revisions table: every accepted package document of an
//! environment, byte for byte, never rewritten. The newest revision is the
//! current document; one without content records a deletion.
//!
//! package_documents holds each environment's newest revision number. A
//! write moves it and adds the revision in one transaction: concurrent
//! writers of one environment queue on that row (PostgreSQL's row lock,
//! SQLite's single writer), so unconditional uploads all land, in turn,
//! and a conditional one (If-Match) moves it only from the revision it
//! matched, or not at all. Writes arriving together are committed together
//! (`group_commit.rs`): one fsync for the group, each answered after it.

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
    /// The revision it must follow (the one an `If-Match` matched), or
    /// `None` to follow whichever is newest.
    pub after: Option<i64>,
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

    /// Adds the next revision. `Reference` when the cluster does not exist.
    /// Writes that arrive together share one transaction and so one commit
    /// (one fsync): see [`super::group_commit`]. The answer comes after that
    /// commit, so a revision answered as stored is on disk.
    pub async fn append_package_revision(
        &self,
        new: &NewRevision<'_>,
    ) -> Result<Appended, WriteError> {
        self.revisions.append(new).await
    }
}

/// Moves the head and inserts the revision, on a connection inside the
/// group's transaction (within its own savepoint: what it wrote is undone
/// alone when it does not store).
pub(super) async fn append(
    conn: &mut sqlx::AnyConnection,
    new: &NewRevision<'_>,
) -> Result<Appended, WriteError> {
    let Some(revision) = move_head(conn, new).await? else {
        return Ok(Appended::Stale);
    };
    let had_document = sqlx::query(
        "SELECT 1 AS present FROM package_revisions \
         WHERE cluster_id = $1 AND revision = $2 AND content IS NOT NULL",
    )
    .bind(new.cluster_id)
    .bind(revision - 1)
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if new.content.is_none() && !had_document {
        return Ok(Appended::NothingToDelete);
    }
    let sql = insert_sql("");
    let row = insert(&sql, new, revision).fetch_one(&mut *conn).await?;
    Ok(Appended::Stored {
        revision: from_row(&row)?,
        had_document,
    })
}

/// An upload (`content` present) in two statements and no savepoint: the
/// head move, then the insert, which also answers whether the revision
/// before held a document. Neither leaves anything to undo when it does
/// not store (a stale head moves nothing), so a group of uploads needs no
/// savepoints; a statement that fails fails the group, which is then
/// written again the savepointed way ([`append`]).
pub(super) async fn append_upload(
    conn: &mut sqlx::AnyConnection,
    new: &NewRevision<'_>,
) -> Result<Appended, WriteError> {
    debug_assert!(new.content.is_some());
    let Some(revision) = move_head(conn, new).await? else {
        return Ok(Appended::Stale);
    };
    let sql = insert_sql(
        ", (SELECT COUNT(*) FROM package_revisions p WHERE p.cluster_id = $1 \
         AND p.revision = $2 - 1 AND p.content IS NOT NULL) AS had_document",
    );
    let row = insert(&sql, new, revision).fetch_one(&mut *conn).await?;
    Ok(Appended::Stored {
        revision: from_row(&row)?,
        had_document: row.try_get::<i64, _>("had_document")? != 0,
    })
}

/// The revision's insert, answering its columns and `returning_more`.
fn insert_sql(returning_more: &str) -> String {
    format!(
        "INSERT INTO package_revisions \
         (cluster_id, revision, author, created_at, content, sha256, size) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}{returning_more}"
    )
}

/// [`insert_sql`] bound to `new` as revision number `revision`.
fn insert<'q>(
    sql: &'q str,
    new: &NewRevision<'q>,
    revision: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(new.cluster_id)
        .bind(revision)
        .bind(new.author)
        .bind(new.created_at)
        .bind(new.content)
        .bind(new.sha256)
        .bind(new.content.map_or(0, |c| c.len() as i64))
}

/// Moves the environment's head to the next revision: its number, or
/// `None` when the head is no longer the revision `new.after` follows.
async fn move_head(
    conn: &mut sqlx::AnyConnection,
    new: &NewRevision<'_>,
) -> Result<Option<i64>, WriteError> {
    // The first statement writes, so SQLite takes its write lock before
    // anything is read (no stale snapshot to upgrade).
    let head = match new.after {
        Some(after) => {
            sqlx::query(
                "UPDATE package_documents SET revision = revision + 1 \
                 WHERE cluster_id = $1 AND revision = $2 RETURNING revision",
            )
            .bind(new.cluster_id)
            .bind(after)
            .fetch_optional(&mut *conn)
            .await?
        }
        None => Some(
            sqlx::query(
                "INSERT INTO package_documents (cluster_id, revision) VALUES ($1, 1) \
                 ON CONFLICT (cluster_id) DO UPDATE SET revision = package_documents.revision + 1 \
                 RETURNING revision",
            )
            .bind(new.cluster_id)
            .fetch_one(&mut *conn)
            .await?,
        ),
    };
    head.map(|row| row.try_get("revision"))
        .transpose()
        .map_err(WriteError::from)
}

/// What [`Store::append_package_revision`] did.
#[derive(Debug)]
pub enum Appended {
    Stored {
        revision: PackageRevision,
        /// A document was current before (an upload replaced it).
        had_document: bool,
    },
    /// The newest revision is no longer the one to follow: nothing written.
    Stale,
    /// A deletion with no current document: nothing written.
    NothingToDelete,
}
