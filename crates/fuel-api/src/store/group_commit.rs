//! Group commit of package-document revisions: one writer task takes every
//! write waiting when it is free and makes them one transaction (uploads two
//! statements each; deletions, and a group one of whose statements failed,
//! each in its own savepoint), so a burst of uploads pays one commit (one fsync of
//! SQLite's WAL, one WAL flush of PostgreSQL) instead of one each, and
//! uploads of one environment stop queueing on its head row one commit at a
//! time. Every write is answered after the commit that holds it: durability
//! is the database's own (SQLite `synchronous = FULL`, PostgreSQL's default
//! `synchronous_commit = on`), never weakened.
//!
//! Only the inserts and head moves run here; documents are parsed and
//! checked before they are queued.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::package_revisions::{append, append_upload, Appended, NewRevision};
use super::WriteError;

/// Most writes in one transaction: bounds how long the first of them waits.
const MOST_IN_A_GROUP: usize = 64;
/// Writes waiting beyond the one being committed; more wait for room.
const QUEUE: usize = 256;

/// A revision to write, owned so it can wait in the queue.
struct Job {
    cluster_id: i64,
    after: Option<i64>,
    author: String,
    created_at: String,
    content: Option<Vec<u8>>,
    sha256: String,
    answer: oneshot::Sender<Result<Appended, WriteError>>,
}

impl Job {
    fn revision(&self) -> NewRevision<'_> {
        NewRevision {
            cluster_id: self.cluster_id,
            after: self.after,
            author: &self.author,
            created_at: &self.created_at,
            content: self.content.as_deref(),
            sha256: &self.sha256,
        }
    }
}

/// The queue of the writer task (cloned with the store).
#[derive(Clone, Debug)]
pub(super) struct RevisionWriter {
    jobs: mpsc::Sender<Job>,
}

impl RevisionWriter {
    /// Starts the writer task on the current tokio runtime.
    pub(super) fn start(pool: AnyPool) -> RevisionWriter {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_groups(pool, queue));
        RevisionWriter { jobs }
    }

    pub(super) async fn append(&self, new: &NewRevision<'_>) -> Result<Appended, WriteError> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            cluster_id: new.cluster_id,
            after: new.after,
            author: new.author.to_owned(),
            created_at: new.created_at.to_owned(),
            content: new.content.map(<[u8]>::to_vec),
            sha256: new.sha256.to_owned(),
            answer,
        };
        let stopped = || WriteError::Database(sqlx::Error::PoolClosed);
        self.jobs.send(job).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn write_groups(pool: AnyPool, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < MOST_IN_A_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let results = write_group(&pool, &group).await;
        for (job, result) in group.into_iter().zip(results) {
            // A caller that went away (its client hung up) needs no answer.
            let _ = job.answer.send(result);
        }
    }
}

/// One transaction for the whole group. A group of uploads is written
/// without savepoints (two statements each, [`append_upload`]); if one of
/// its statements fails (an environment deleted meanwhile), the transaction
/// is rolled back and the group written again with a savepoint per write.
async fn write_group(pool: &AnyPool, group: &[Job]) -> Vec<Result<Appended, WriteError>> {
    if group.iter().all(|job| job.content.is_some()) {
        if let Some(results) = write_uploads(pool, group).await {
            return results;
        }
    }
    write_savepointed(pool, group).await
}

/// The uploads of `group` in one transaction; `None` (nothing written) when
/// a statement before the commit failed. A failed commit fails the group:
/// whether it took effect may be unknown, so it is not written again.
async fn write_uploads(pool: &AnyPool, group: &[Job]) -> Option<Vec<Result<Appended, WriteError>>> {
    let mut tx = pool.begin().await.ok()?;
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        // Dropping `tx` on the way out rolls it back.
        results.push(Ok(append_upload(&mut tx, &job.revision()).await.ok()?));
    }
    Some(match tx.commit().await {
        Ok(()) => results,
        Err(e) => failed_all(group, &e),
    })
}

/// Every write of `group` failed with `e`.
fn failed_all(group: &[Job], e: &sqlx::Error) -> Vec<Result<Appended, WriteError>> {
    group
        .iter()
        .map(|_| Err(WriteError::Database(sqlx::Error::Protocol(e.to_string()))))
        .collect()
}

/// One transaction for the whole group; a write that fails or does not
/// store is rolled back to its savepoint, the others stay. If the commit
/// fails, every write of the group fails with it.
async fn write_savepointed(pool: &AnyPool, group: &[Job]) -> Vec<Result<Appended, WriteError>> {
    let failed_all = |e: &sqlx::Error| failed_all(group, e);
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return failed_all(&e),
    };
    let mut results = Vec::with_capacity(group.len());
    for job in group {
        if let Err(e) = sqlx::query("SAVEPOINT revision").execute(&mut *tx).await {
            return failed_all(&e);
        }
        let result = append(&mut *tx, &job.revision()).await;
        let keep = matches!(result, Ok(Appended::Stored { .. }));
        let end = if keep {
            "RELEASE SAVEPOINT revision"
        } else {
            // Undoes a head moved for a deletion with nothing to delete, and
            // leaves the transaction usable after an error (PostgreSQL).
            "ROLLBACK TO SAVEPOINT revision"
        };
        if let Err(e) = sqlx::query(end).execute(&mut *tx).await {
            return failed_all(&e);
        }
        if !keep {
            // A savepoint rolled back to stays open: release it too.
            if let Err(e) = sqlx::query("RELEASE SAVEPOINT revision")
                .execute(&mut *tx)
                .await
            {
                return failed_all(&e);
            }
        }
        results.push(result);
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => failed_all(&e),
    }
}
