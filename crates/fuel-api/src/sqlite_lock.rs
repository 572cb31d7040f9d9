//! One fuel-api process per SQLite file: a lock file beside the database
//! (`fuel-api.db.lock`, an flock naming the holder's pid), taken before the
//! database is opened and held until the server has closed it. SQLite has
//! one writer, and this process's caches and package tasks assume no other
//! process writes; several fuel-api processes need PostgreSQL.

use std::path::PathBuf;

/// A second process on the same SQLite file.
#[derive(Debug, thiserror::Error)]
#[error("the SQLite database {database} is in use by another fuel-api process ({holder}; lock file {lock}): one process per SQLite file. Stop that process, or to run several fuel-api processes use PostgreSQL (database_url = \"postgres://USER:PASSWORD@HOST/DATABASE\")")]
pub struct HeldError {
    database: PathBuf,
    holder: String,
    lock: PathBuf,
}

/// The database file of a `sqlite:` URL (`sqlite:///path?opts`,
/// `sqlite://path`, `sqlite:path`); `None` for PostgreSQL or in-memory.
fn database_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Takes the lock of the SQLite database `url` names (nothing for PostgreSQL).
pub fn acquire(url: &str) -> Result<Option<fuel_atomic::PidLock>, HeldError> {
    let Some(database) = database_path(url) else {
        return Ok(None);
    };
    let mut lock = database.clone().into_os_string();
    lock.push(".lock");
    let lock = PathBuf::from(lock);
    let me = format!("pid {} (fuel-api)", std::process::id());
    match fuel_atomic::PidLock::acquire(&lock, &me) {
        Ok(held) => Ok(Some(held)),
        Err(fuel_atomic::LockError::Held { holder, .. }) => Err(HeldError {
            database,
            holder: holder
                .unwrap_or_else(|| "a process that has not yet said who it is".to_string()),
            lock,
        }),
        // A directory we cannot write to: opening the database fails next,
        // with its own message.
        Err(fuel_atomic::LockError::Io { .. }) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file_and_postgres_urls_none() {
        assert_eq!(
            database_path("sqlite:///var/lib/fuel-api/fuel-api.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/fuel-api/fuel-api.db"))
        );
        assert_eq!(database_path("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(database_path("sqlite::memory:"), None);
        assert_eq!(database_path("postgres://u@h/db"), None);
    }

    #[test]
    fn a_second_process_on_one_file_is_refused_naming_the_holder_and_postgresql() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fuel-api.db").display());
        let held = acquire(&url).unwrap();
        let error = acquire(&url).unwrap_err().to_string();
        assert!(
            error.contains(&format!("pid {}", std::process::id())) && error.contains("PostgreSQL"),
            "{error}"
        );
        drop(held);
        acquire(&url).expect("free once the first lets go");
    }
}
