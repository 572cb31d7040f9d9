//! Several fuel-api processes on one database: each package task is run by
//! the process holding its lease (a row's owner and expiry, renewed every
//! third of `[package_tasks] lease_secs` while the task runs). Every process
//! sweeps the database every fraction of a lease: a task whose lease expired
//! (its process was SIGKILLed or its host went away) is claimed by exactly
//! one live process, which goes on with the task's unfinished sub-tasks;
//! finished ones are not run again. A task whose lease expired longer ago
//! than `resume_window_secs` (no process was alive to take it over) is marked
//! `interrupted` instead, as a stopped single master does.
//!
//! The claim is per task, not per node, so one process runs a task's
//! remaining nodes in the task's own order and with its own concurrency.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use fuel_api_client::{Node, TaskNodeStatus, TaskStatus};
use fuel_pm_tasks::rollout::Rollout;
use fuel_pm_tasks::SubTask;
use rand::RngCore;
use tokio::task::{JoinError, JoinHandle};

use super::{Earlier, Job, PackageTasks, INTERRUPTED_MESSAGE};
use crate::clock::now_rfc3339;
use crate::store::{Backend, Store, SubTaskUpdate};

/// This process, as lease owners are named: `hostname:pid:nonce` (the
/// nonce tells a restarted process with a recycled pid from its predecessor).
fn process_id() -> String {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string());
    let mut nonce = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hostname}:{}:{nonce}", std::process::id())
}

/// This process's leases: its name and the configured durations.
pub(super) struct Leases {
    store: Store,
    owner: String,
    lease: Duration,
    window: Duration,
}

impl Leases {
    pub(super) fn new(store: Store, lease_secs: u64, resume_window_secs: u64) -> Leases {
        Leases {
            store,
            owner: process_id(),
            lease: Duration::from_secs(lease_secs.max(1)),
            window: Duration::from_secs(resume_window_secs),
        }
    }

    pub(super) fn owner(&self) -> &str {
        &self.owner
    }

    pub(super) fn lease_ms(&self) -> i64 {
        self.lease.as_millis() as i64
    }

    fn window_ms(&self) -> i64 {
        self.window.as_millis() as i64
    }

    /// Runs the job of a task this process holds the lease of, renewing the
    /// lease until the job ends. A lease this process can no longer renew
    /// (another process took the task over after the database was out of
    /// reach for a whole lease) stops the job's nodes at once.
    pub(super) fn run(self: &Arc<Self>, job: Job) {
        let leases = self.clone();
        let task_id = job.task_id;
        tokio::spawn(async move {
            let mut running = AbortOnDrop(tokio::spawn(job.run()));
            let every = leases.lease / 3;
            let mut renewed = Instant::now();
            loop {
                tokio::select! {
                    _ = &mut running => return,
                    _ = tokio::time::sleep(every) => {}
                }
                match leases
                    .store
                    .renew_lease(task_id, &leases.owner, leases.lease_ms())
                    .await
                {
                    Ok(true) => renewed = Instant::now(),
                    Ok(false) => {
                        // Ended between the job's last write and now, or taken over.
                        tracing::warn!(task = task_id, "package task lease lost: stopping here");
                        return;
                    }
                    Err(e) if renewed.elapsed() >= leases.lease => {
                        tracing::error!(task = task_id, error = %e, "package task lease expired unrenewed: stopping here");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(task = task_id, error = %e, "cannot renew the package task lease yet")
                    }
                }
            }
        });
    }

    /// The start-up sweep and then the periodic one, until the returned
    /// handle is aborted.
    pub(super) async fn start_sweeping(
        self: Arc<Self>,
        tasks: Arc<PackageTasks>,
    ) -> Result<JoinHandle<()>, sqlx::Error> {
        // A SQLite file has one process (its lock file says so), so whatever
        // it finds running was left by a stopped process: interrupted, as a
        // single master always did.
        let window = match self.store.backend() {
            Backend::Sqlite => None,
            Backend::Postgres => Some(self.window_ms()),
        };
        self.sweep_once(&tasks, window).await?;
        let every = (self.lease / 10).clamp(Duration::from_millis(200), Duration::from_secs(1));
        Ok(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = self.sweep_once(&tasks, Some(self.window_ms())).await {
                    tracing::warn!(error = %e, "cannot look for abandoned package tasks");
                }
            }
        }))
    }

    async fn sweep_once(
        &self,
        tasks: &Arc<PackageTasks>,
        window_ms: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        let interrupted = self
            .store
            .interrupt_abandoned_package_tasks(window_ms, INTERRUPTED_MESSAGE)
            .await?;
        if interrupted > 0 {
            tracing::warn!(
                tasks = interrupted,
                "package tasks interrupted: no fuel-api process ran them for longer than resume_window_secs"
            );
        }
        for task_id in self.store.expired_package_tasks(self.window_ms()).await? {
            if !self
                .store
                .claim_package_task(task_id, &self.owner, self.lease_ms())
                .await?
            {
                continue;
            }
            tracing::warn!(
                task = task_id,
                owner = %self.owner,
                "taking over a package task whose process stopped renewing its lease"
            );
            if let Some(job) = resume(tasks, task_id).await? {
                tasks.leases.run(job);
            }
        }
        Ok(())
    }
}

/// The job that goes on with a claimed task: its unfinished nodes, each with
/// its unfinished sub-tasks; nodes that failed before are counted as failed
/// and their remaining sub-tasks skipped. `None` when nothing is left to run
/// (the task's status was written instead).
async fn resume(tasks: &PackageTasks, task_id: i64) -> Result<Option<Job>, sqlx::Error> {
    let store = &tasks.store;
    let (Some(state), Some(task)) = (
        store.resume_state(task_id).await?,
        store.package_task(task_id).await?,
    ) else {
        return Ok(None);
    };
    let run: Vec<SubTask> = task
        .name
        .split(',')
        .filter_map(|name| name.parse().ok())
        .collect();
    let document = match state.document_revision {
        Some(revision) => store
            .package_revision(state.cluster_id, Some(revision))
            .await?
            .and_then(|(_, bytes)| bytes),
        None => None,
    };
    let Some(document) = document else {
        let message = "the package document this task applies is gone: run the command again";
        store
            .set_task_state(task_id, TaskStatus::Error, 100, Some(message))
            .await?;
        return Ok(None);
    };

    let mut order: Vec<i64> = Vec::new();
    for row in &task.nodes {
        if !order.contains(&row.node_id) {
            order.push(row.node_id);
        }
    }
    // The plan the task was started with: a rollout's batches and
    // max_failures from the task row (so it stops where it would have),
    // otherwise every node in one batch.
    let batches = if task.batches.is_empty() {
        vec![order.clone()]
    } else {
        task.batches.clone()
    };
    let rollout = Rollout {
        batch: None,
        max_failures: task.max_failures.as_deref().and_then(|m| m.parse().ok()),
        order_by_role: false,
    };
    let mut earlier = Earlier::default();
    let mut nodes: Vec<Node> = Vec::new();
    let mut finished = HashSet::new();
    for node_id in order {
        let rows: Vec<_> = task.nodes.iter().filter(|n| n.node_id == node_id).collect();
        let open: Vec<_> = rows
            .iter()
            .filter(|n| matches!(n.status, TaskNodeStatus::Pending | TaskNodeStatus::Running))
            .collect();
        if let Some(failed) = rows.iter().find(|n| n.status == TaskNodeStatus::Error) {
            let reason = failed.reason.as_deref().unwrap_or("error");
            earlier
                .failures
                .push((node_id, format!("{} ({reason})", failed.hostname)));
            earlier.nodes += 1;
            for row in open {
                close(
                    store,
                    task_id,
                    node_id,
                    &row.subtask,
                    TaskNodeStatus::Skipped,
                    None,
                )
                .await?;
            }
            continue;
        }
        if open.is_empty() {
            earlier.nodes += 1;
            continue;
        }
        match store.get_node(node_id).await? {
            Some(node) => {
                for row in rows
                    .iter()
                    .filter(|n| !open.iter().any(|o| o.subtask == n.subtask))
                {
                    if let Ok(subtask) = row.subtask.parse::<SubTask>() {
                        finished.insert((node_id, subtask));
                    }
                }
                nodes.push(node);
            }
            None => {
                let hostname = &rows[0].hostname;
                let message = format!("{hostname}: the node was deleted while its task ran");
                for row in open {
                    close(
                        store,
                        task_id,
                        node_id,
                        &row.subtask,
                        TaskNodeStatus::Error,
                        Some(&message),
                    )
                    .await?;
                }
                earlier
                    .failures
                    .push((node_id, format!("{hostname} (deleted)")));
                earlier.nodes += 1;
            }
        }
    }
    Ok(Some(Job {
        cluster_id: state.cluster_id,
        store: store.clone(),
        config: tasks.config.clone(),
        slots: tasks.slots.clone(),
        task_id,
        run,
        nodes,
        batches,
        rollout,
        document: Arc::new(document),
        check: state.check,
        finished,
        earlier,
    }))
}

async fn close(
    store: &Store,
    task_id: i64,
    node_id: i64,
    subtask: &str,
    status: TaskNodeStatus,
    message: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = now_rfc3339();
    store
        .update_subtask(
            task_id,
            node_id,
            subtask,
            &SubTaskUpdate {
                status,
                started_at: None,
                finished_at: Some(&now),
                reason: message.map(|_| "unreachable"),
                message,
                report: None,
            },
        )
        .await
}

/// A spawned task that is aborted when its handle is dropped: a job stopped
/// because its lease was lost takes its nodes' runs with it.
pub(super) struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
