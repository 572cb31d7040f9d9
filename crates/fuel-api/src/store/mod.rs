//! The database: one schema on SQLite or PostgreSQL (sqlx's `Any` driver,
//! chosen by the URL), migrated at start. One module per resource.

mod clusters;
mod group_commit;
mod inventory;
mod leases;
mod nodes;
mod package_revisions;
mod package_tasks;
mod releases;
mod tasks;
mod tokens;

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::ErrorKind;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

pub use inventory::{InventoryStamp, ReportedNode, StoredInventory};
pub use nodes::{NodeChanges, NodeClash};
pub use package_revisions::{Appended, NewRevision};
pub use package_tasks::{NewPackageTask, PlannedRollout, PlannedSubTask, SubTaskUpdate};
pub use tokens::StoredToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The migrations of each dialect, in order: (version, description, SQL).
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "nodes and package documents",
        include_str!("../../migrations/sqlite/0002_nodes_and_package_documents.sql"),
    ),
    (
        3,
        "package tasks",
        include_str!("../../migrations/sqlite/0003_package_tasks.sql"),
    ),
    (
        4,
        "rollouts and roles",
        include_str!("../../migrations/sqlite/0004_rollouts_and_roles.sql"),
    ),
    (
        5,
        "package task leases",
        include_str!("../../migrations/sqlite/0005_package_task_leases.sql"),
    ),
    (
        6,
        "package inventory",
        include_str!("../../migrations/sqlite/0006_package_inventory.sql"),
    ),
    (
        7,
        "inventory stamp",
        include_str!("../../migrations/sqlite/0007_inventory_stamp.sql"),
    ),
    (
        8,
        "package revision compression",
        include_str!("../../migrations/sqlite/0008_package_revision_compression.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "nodes and package documents",
        include_str!("../../migrations/postgres/0002_nodes_and_package_documents.sql"),
    ),
    (
        3,
        "package tasks",
        include_str!("../../migrations/postgres/0003_package_tasks.sql"),
    ),
    (
        4,
        "rollouts and roles",
        include_str!("../../migrations/postgres/0004_rollouts_and_roles.sql"),
    ),
    (
        5,
        "package task leases",
        include_str!("../../migrations/postgres/0005_package_task_leases.sql"),
    ),
    (
        6,
        "package inventory",
        include_str!("../../migrations/postgres/0006_package_inventory.sql"),
    ),
    (
        7,
        "inventory stamp",
        include_str!("../../migrations/postgres/0007_inventory_stamp.sql"),
    ),
    (
        8,
        "package revision compression",
        include_str!("../../migrations/postgres/0008_package_revision_compression.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source} (for SQLite the directory must exist and be writable; for PostgreSQL check the server, role and database)")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot migrate the database {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
}

/// Why a write was refused by the schema.
#[derive(Debug)]
pub enum WriteError {
    /// A UNIQUE constraint: the row exists already.
    Duplicate,
    /// A foreign key: the referenced row is missing, or (on delete) still referenced.
    Reference,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.kind() {
                ErrorKind::UniqueViolation => return WriteError::Duplicate,
                ErrorKind::ForeignKeyViolation => return WriteError::Reference,
                _ => {}
            }
        }
        WriteError::Database(e)
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    revisions: group_commit::RevisionWriter,
}

impl Store {
    /// Connects (creating a missing SQLite file) and runs the migrations.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let shown = redact(url);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains("mode=") {
                    url.to_string()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                // WAL lets readers run beside the one writer; busy_timeout makes
                // writers queue instead of failing; FULL sync keeps every
                // acknowledged write across a power loss.
                // A connection to a file in this process cannot be lost:
                // no ping (a round trip to its worker thread) before each use.
                options
                    .max_connections(4)
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
            }
            Backend::Postgres => options.max_connections(8).connect(url).await,
        }
        .map_err(|source| StoreError::Connect {
            url: shown.clone(),
            source,
        })?;
        migrator(backend)
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { url: shown, source })?;
        let revisions = group_commit::RevisionWriter::start(pool.clone());
        Ok(Store {
            pool,
            backend,
            revisions,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// One round trip to the database (the health check).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(drop)
    }

    /// Waits for queries in flight and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn migrator(backend: Backend) -> Migrator {
    let sources = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    let migrations = sources
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A text column holding one of an enum's names.
fn parse_column<T: std::str::FromStr<Err = String>>(
    row: &AnyRow,
    column: &str,
) -> Result<T, sqlx::Error> {
    decode_column(row, column, str::parse)
}

/// A text column parsed into its type; a value the API could never have
/// written is a decode error naming the column.
fn decode_column<T, E: Into<Box<dyn std::error::Error + Send + Sync>>>(
    row: &AnyRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    parse(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: e.into(),
    })
}
