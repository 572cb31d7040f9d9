//! The package task executor: `upload_pm` and `execute_pm` on an environment's
//! nodes, run inside fuel-api (as Astute ran beside Nailgun, folded into one
//! process: the task's state lives in the same database the API serves, so
//! there is no second service or RPC protocol to keep in step).
//!
//! A request is checked first (tasks known, nodes in the environment, a
//! document to apply, no other package task running there); then one task
//! row with a row per node and sub-task is written, and the run goes on in the
//! background: nodes in parallel up to `concurrency`, each over its own SSH
//! connection with the registered host key, each bounded by `node_timeout`.
//! Every state change is written as it happens, so a master killed mid-task
//! leaves each node's last known state. The task is leased to the process
//! running it (`lease`): when that process dies, another fuel-api process on
//! the same database goes on with the unfinished nodes; with none alive for
//! `resume_window_secs`, the task is marked `interrupted`, and running the
//! same command again completes it (the applier is idempotent).

mod lease;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fuel_api_client::{DeployTasks, Node, Task, TaskNodeStatus, TaskStatus};
use fuel_pm_tasks::rollout::{Rollout, ROLLOUT_STOPPED};
use fuel_pm_tasks::{
    execute_pm, expand, upload_pm, Applier, NodeError, NodeFailure, NodeSession, Settings, SubTask,
    Target,
};
use tokio::sync::Semaphore;
use tokio::time::{timeout_at, Instant};

use crate::clock::now_rfc3339_millis;
use crate::config::PackageTasksConfig;
use crate::rollout::{plan, rollout_of};
use crate::store::{NewPackageTask, PlannedRollout, Store, SubTaskUpdate, WriteError};
use lease::Leases;

/// How often a node's applier lock is tried again while another run holds it.
const LOCK_RETRY: Duration = Duration::from_secs(1);
/// How long past the node's deadline `execute_pm` may take to end the run on
/// the node (its own grace, plus the ssh round trip) before the task stops waiting.
const ENDING_MARGIN: Duration = Duration::from_secs(30);

/// What the start-up sweep writes on tasks a stopped master left running.
pub const INTERRUPTED_MESSAGE: &str = "the master stopped while this task ran; each node shows \
    its last known state: run the same command again to complete it";

/// Why a request to run package tasks was refused (nothing was created).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("tasks: name at least one task: known tasks are upload_pm, execute_pm")]
    NoTasks,
    #[error("tasks[{index}]: {source}")]
    UnknownTask {
        index: usize,
        source: fuel_pm_tasks::UnknownTask,
    },
    #[error("nodes: name at least one node (fuel node --node 2,3 --tasks …)")]
    NoNodes,
    #[error("nodes: no node {ids}: `fuel node` lists the registered nodes")]
    UnknownNodes { ids: String },
    #[error("nodes: node {ids} not in environment {cluster_id}: `fuel node --env {cluster_id}` lists its nodes")]
    NodesElsewhere { ids: String, cluster_id: i64 },
    /// `batch` or `max_failures` does not parse.
    #[error("{field}: {message}")]
    Rollout {
        field: &'static str,
        message: String,
    },
    #[error("environment {0} has no package document: upload one with fuel package --env {0} --upload FILE")]
    NoDocument(i64),
    #[error("package task {id} ({name}) is still {status} in environment {cluster_id}: wait for it (fuel task --task-id {id})")]
    Busy {
        id: i64,
        name: String,
        status: &'static str,
        cluster_id: i64,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Starts and runs package tasks; one per fuel-api process.
pub struct PackageTasks {
    store: Store,
    config: PackageTasksConfig,
    // Bounds the nodes worked on at once across every task of this master.
    slots: Arc<Semaphore>,
    leases: Arc<Leases>,
}

impl PackageTasks {
    pub fn new(store: Store, config: PackageTasksConfig) -> PackageTasks {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let leases = Arc::new(Leases::new(
            store.clone(),
            config.lease_secs,
            config.resume_window_secs,
        ));
        PackageTasks {
            store,
            config,
            slots,
            leases,
        }
    }

    /// The start-up sweep (tasks abandoned too long are interrupted), then
    /// the periodic one that takes over tasks whose process died.
    pub async fn start_sweeping(
        self: &Arc<Self>,
    ) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
        self.leases.clone().start_sweeping(self.clone()).await
    }

    /// Checks the request, records the task and starts it in the background.
    pub async fn start(&self, cluster_id: i64, request: &DeployTasks) -> Result<Task, StartError> {
        if request.tasks.is_empty() {
            return Err(StartError::NoTasks);
        }
        let mut requested = Vec::new();
        for (index, name) in request.tasks.iter().enumerate() {
            let task: SubTask = name
                .parse()
                .map_err(|source| StartError::UnknownTask { index, source })?;
            if !requested.contains(&task) {
                requested.push(task);
            }
        }
        let (run, added) = expand(&requested);
        let rollout = rollout_of(request)?;

        if request.nodes.is_empty() {
            return Err(StartError::NoNodes);
        }
        let mut nodes: Vec<Node> = Vec::new();
        let (mut unknown, mut elsewhere) = (Vec::new(), Vec::new());
        for &id in &request.nodes {
            if nodes.iter().any(|n| n.id == id) {
                continue;
            }
            match self.store.get_node(id).await? {
                None => unknown.push(id.to_string()),
                Some(node) if node.cluster_id != Some(cluster_id) => elsewhere.push(id.to_string()),
                Some(node) => nodes.push(node),
            }
        }
        if !unknown.is_empty() {
            return Err(StartError::UnknownNodes {
                ids: unknown.join(", "),
            });
        }
        if !elsewhere.is_empty() {
            return Err(StartError::NodesElsewhere {
                ids: elsewhere.join(", "),
                cluster_id,
            });
        }

        let (document_revision, document) =
            match self.store.package_revision(cluster_id, None).await? {
                Some((revision, Some(bytes))) => (revision.revision, bytes),
                _ => return Err(StartError::NoDocument(cluster_id)),
            };

        let name = run.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",");
        let added: Vec<&str> = added.iter().map(|t| t.as_str()).collect();
        let (batches, planned) = plan(&rollout, &nodes, &run);
        let is_rollout = rollout != Rollout::default();
        let max_failures = rollout.max_failures.map(|m| m.to_string());
        let planned_rollout = PlannedRollout {
            batches: if is_rollout { &batches } else { &[] },
            max_failures: max_failures.as_deref(),
        };
        // The schema allows one pending or running package task per
        // environment, whichever process inserts it; a refused insert names
        // the task that holds the environment (retried if that one ended
        // in between).
        let new = NewPackageTask {
            owner: self.leases.owner(),
            lease_ms: self.leases.lease_ms(),
            document_revision,
            check: request.check,
        };
        let mut attempts = 0;
        let task = loop {
            attempts += 1;
            match self
                .store
                .insert_package_task(cluster_id, &name, &added, &planned, &new, &planned_rollout)
                .await
            {
                Ok(task) => break task,
                Err(WriteError::Duplicate) => {
                    if let Some(active) = self.store.active_package_task(cluster_id).await? {
                        return Err(StartError::Busy {
                            id: active.id,
                            name: active.name,
                            status: active.status.as_str(),
                            cluster_id,
                        });
                    }
                    if attempts >= 3 {
                        return Err(StartError::Database(sqlx::Error::Protocol(
                            "package tasks of this environment keep starting and ending: try again"
                                .into(),
                        )));
                    }
                }
                Err(WriteError::Reference) => return Err(StartError::NoDocument(cluster_id)),
                Err(WriteError::Database(e)) => return Err(e.into()),
            }
        };

        let node_names = hostnames(&nodes);
        tracing::info!(
            task = task.id,
            environment = cluster_id,
            nodes = %node_names,
            tasks = %name,
            check = request.check,
            "package task started"
        );
        let job = Job {
            cluster_id,
            store: self.store.clone(),
            config: self.config.clone(),
            slots: self.slots.clone(),
            task_id: task.id,
            run,
            nodes,
            batches,
            rollout,
            document: Arc::new(document),
            check: request.check,
            finished: HashSet::new(),
            earlier: Earlier::default(),
        };
        self.leases.run(job);
        Ok(task)
    }
}

/// "node-2 (#2), node-3 (#3)": how the log names a task's nodes.
fn hostnames(nodes: &[Node]) -> String {
    nodes
        .iter()
        .map(|n| format!("{} (#{})", n.hostname, n.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One started task, owned by its background run.
struct Job {
    cluster_id: i64,
    store: Store,
    config: PackageTasksConfig,
    slots: Arc<Semaphore>,
    task_id: i64,
    run: Vec<SubTask>,
    nodes: Vec<Node>,
    /// Node ids of each batch, run one batch after the other.
    batches: Vec<Vec<i64>>,
    rollout: Rollout,
    document: Arc<Vec<u8>>,
    check: bool,
    /// Sub-tasks a process that ran the task before finished (not run again).
    finished: HashSet<(i64, SubTask)>,
    earlier: Earlier,
}

/// Nodes a process that ran the task before finished: how many, and those
/// that failed (node id, "hostname (reason)").
#[derive(Default)]
struct Earlier {
    nodes: usize,
    failures: Vec<(i64, String)>,
}

impl Job {
    async fn run(self) {
        let (task_id, cluster_id) = (self.task_id, self.cluster_id);
        let nodes = hostnames(&self.nodes);
        // One line at the end of every task, whatever its outcome.
        match self.run_inner().await {
            Ok((status, message)) => tracing::info!(
                task = task_id,
                environment = cluster_id,
                nodes = %nodes,
                outcome = status.as_str(),
                %message,
                "package task ended"
            ),
            // The database itself failed: the task row may not say so.
            Err(e) => tracing::error!(
                task = task_id,
                environment = cluster_id,
                nodes = %nodes,
                outcome = "error",
                error = %e,
                "package task ended: its state could not be recorded"
            ),
        }
    }

    async fn run_inner(self) -> Result<(TaskStatus, String), sqlx::Error> {
        let job = Arc::new(self);
        job.store
            .set_task_state(job.task_id, TaskStatus::Running, 0, None)
            .await?;
        // Read once per task: every node gets the same bytes.
        let applier = Applier::load(&job.config.applier_path).map_err(|e| {
            format!(
                "the master has no applier at {} ({e}): install the fuel-pm-apply package",
                job.config.applier_path.display()
            )
        });
        let applier = Arc::new(applier);
        let total = job.total();
        let finished = Arc::new(AtomicUsize::new(job.earlier.nodes));
        let mut failures = Vec::new();
        let mut stopped = None;
        for (index, batch) in job.batches.iter().enumerate() {
            // A taken-over task counts its earlier failures where they
            // happened, so the rollout stops where the first process would have.
            failures.extend(
                job.earlier
                    .failures
                    .iter()
                    .filter(|(id, _)| batch.contains(id))
                    .map(|(_, failure)| failure.clone()),
            );
            failures.extend(job.run_batch(batch, &applier, &finished).await?);
            let more = index + 1 < job.batches.len();
            if more && job.rollout.should_stop(failures.len(), total) {
                stopped = Some(job.stop_rollout(index, failures.len()).await?);
                break;
            }
        }
        let (status, message) = if failures.is_empty() {
            (
                TaskStatus::Ready,
                format!("{} on {total} node(s): done", job.run_names()),
            )
        } else {
            (
                TaskStatus::Error,
                format!(
                    "{} of {total} node(s) failed: {}{}",
                    failures.len(),
                    failures.join(", "),
                    stopped.unwrap_or_default()
                ),
            )
        };
        job.store
            .set_task_state(job.task_id, status, 100, Some(&message))
            .await?;
        Ok((status, message))
    }

    /// Every node of the task, including those a process before this one finished.
    fn total(&self) -> usize {
        self.earlier.nodes + self.nodes.len()
    }

    /// Runs one batch's nodes in parallel (within the master's slots) to
    /// their end; the failed ones as "hostname (reason)".
    async fn run_batch(
        self: &Arc<Self>,
        batch: &[i64],
        applier: &Arc<Result<Applier, String>>,
        finished: &Arc<AtomicUsize>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let total = self.total();
        let mut handles = Vec::new();
        for node in self.nodes.iter().filter(|n| batch.contains(&n.id)).cloned() {
            let job = self.clone();
            let applier = applier.clone();
            let finished = finished.clone();
            handles.push(lease::AbortOnDrop(tokio::spawn(async move {
                let _slot = job.slots.clone().acquire_owned().await;
                let outcome = job.run_node(&node, &applier).await;
                let done = finished.fetch_add(1, Ordering::SeqCst) + 1;
                // 100 only once the task's final status is written.
                let progress = ((done * 100) / total).min(99) as u8;
                let _ = job
                    .store
                    .set_task_state(job.task_id, TaskStatus::Running, progress, None)
                    .await;
                (node.hostname.clone(), outcome)
            })));
        }
        let mut failures = Vec::new();
        for handle in handles {
            match handle.await {
                Ok((_, Ok(Ok(())))) => {}
                Ok((hostname, Ok(Err(reason)))) => failures.push(format!("{hostname} ({reason})")),
                Ok((hostname, Err(e))) => {
                    tracing::error!(node = %hostname, error = %e, "cannot record a node's state");
                    return Err(e);
                }
                Err(e) => failures.push(format!("a node's run panicked: {e}")),
            }
        }
        Ok(failures)
    }

    /// Too many nodes failed by the end of batch `index`: the nodes not
    /// started are skipped. Returns the sentence the task's message ends with.
    async fn stop_rollout(&self, index: usize, failed: usize) -> Result<String, sqlx::Error> {
        let max = self
            .rollout
            .max_failures
            .map(|m| m.to_string())
            .unwrap_or_default();
        let why = format!(
            "the rollout stopped after batch {} of {}: {failed} node(s) failed, more than max_failures {max}",
            index + 1,
            self.batches.len()
        );
        let spared = self
            .store
            .skip_pending_subtasks(self.task_id, ROLLOUT_STOPPED, &why)
            .await?;
        Ok(format!(
            "; {why}; {spared} node(s) not started ({ROLLOUT_STOPPED})"
        ))
    }

    fn run_names(&self) -> String {
        self.run
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Runs the sub-tasks on one node, recording each step. The outer error
    /// is the database's; the inner one the node's reason code.
    async fn run_node(
        &self,
        node: &Node,
        applier: &Result<Applier, String>,
    ) -> Result<Result<(), NodeFailure>, sqlx::Error> {
        let deadline = Instant::now() + Duration::from_secs(self.config.node_timeout_secs);
        let target = Target {
            node_id: node.id,
            hostname: node.hostname.clone(),
            ip: node.ip.clone(),
            ssh_port: node.ssh_port,
            host_key: node.host_key.clone(),
            package_manager: node.os,
        };
        let settings = Settings {
            identity: self.config.ssh_identity.clone(),
            user: self.config.ssh_user.clone(),
            connect_timeout: Duration::from_secs(self.config.connect_timeout_secs),
            applier: self.config.applier_path.clone(),
        };
        let mut session: Option<NodeSession> = None;
        let mut failed: Option<NodeFailure> = None;
        for &subtask in &self.run {
            if self.finished.contains(&(node.id, subtask)) {
                continue;
            }
            if failed.is_some() {
                self.record(node.id, subtask, TaskNodeStatus::Skipped, None, None, None)
                    .await?;
                continue;
            }
            let started = now_rfc3339_millis();
            self.store
                .update_subtask(
                    self.task_id,
                    node.id,
                    subtask.as_str(),
                    &SubTaskUpdate {
                        status: TaskNodeStatus::Running,
                        started_at: Some(&started),
                        finished_at: None,
                        reason: None,
                        message: None,
                        report: None,
                    },
                )
                .await?;
            let step = async {
                if session.is_none() {
                    session = Some(NodeSession::connect(&target, &settings).await?);
                }
                let open = session.as_ref().expect("connected above");
                match subtask {
                    SubTask::UploadPm => {
                        let applier = applier
                            .as_ref()
                            .map_err(|e| NodeError::new(NodeFailure::UploadFailed, e.clone()))?;
                        upload_pm(open, &target, &self.document, applier).await?;
                        Ok(None)
                    }
                    SubTask::ExecutePm => self
                        .execute_waiting(open, &target, deadline)
                        .await
                        .map(Some),
                }
            };
            // execute_pm ends the node's run itself at the deadline (and
            // needs a moment to); this bound is for everything else.
            let limit = match subtask {
                SubTask::UploadPm => deadline,
                SubTask::ExecutePm => deadline + ENDING_MARGIN,
            };
            let outcome = match timeout_at(limit, step).await {
                Ok(outcome) => outcome,
                Err(_) => Err(NodeError::new(
                    NodeFailure::Timeout,
                    format!(
                        "{}: no answer within node_timeout_secs = {}",
                        node.hostname, self.config.node_timeout_secs
                    ),
                )),
            };
            match outcome {
                Ok(report) => {
                    let json =
                        report.map(|r| serde_json::to_string(&r).expect("a report serialises"));
                    self.record(
                        node.id,
                        subtask,
                        TaskNodeStatus::Ready,
                        None,
                        None,
                        json.as_deref(),
                    )
                    .await?;
                }
                Err(error) => {
                    let json = error
                        .report
                        .as_ref()
                        .map(|r| serde_json::to_string(r).expect("a report serialises"));
                    self.record(
                        node.id,
                        subtask,
                        TaskNodeStatus::Error,
                        Some(error.reason.as_str()),
                        Some(&error.message),
                        json.as_deref(),
                    )
                    .await?;
                    failed = Some(error.reason);
                }
            }
        }
        if let Some(session) = session {
            session.close().await;
        }
        Ok(failed.map_or(Ok(()), Err))
    }

    /// `execute_pm`, waiting while another run holds the node's applier lock
    /// (a run a killed master left ending, or an operator's own), at most
    /// `lock_wait_secs` and never past the node's deadline; the node's line
    /// says it waits. Then `node_busy`.
    async fn execute_waiting(
        &self,
        session: &NodeSession,
        target: &Target,
        deadline: Instant,
    ) -> Result<fuel_pm::report::Report, NodeError> {
        let wait = Duration::from_secs(self.config.lock_wait_secs);
        let give_up = (Instant::now() + wait).min(deadline);
        let mut waited = false;
        loop {
            match execute_pm(session, target, self.check, deadline).await {
                Err(busy) if busy.reason == NodeFailure::NodeBusy => {
                    if Instant::now() + LOCK_RETRY >= give_up {
                        let mut busy = busy;
                        busy.message = format!(
                            "{} (waited {} s for the node's applier lock: wait for that run to end, \
                             then run the command again)",
                            busy.message,
                            if waited { wait.as_secs() } else { 0 }
                        );
                        return Err(busy);
                    }
                    if !waited {
                        waited = true;
                        let message = format!(
                            "waiting up to {} s for the node's applier lock, held by another run: {}",
                            wait.as_secs(),
                            busy.message
                        );
                        // Only shown while waiting: a failed write changes nothing else.
                        let _ = self
                            .store
                            .update_subtask(
                                self.task_id,
                                target.node_id,
                                SubTask::ExecutePm.as_str(),
                                &SubTaskUpdate {
                                    status: TaskNodeStatus::Running,
                                    started_at: None,
                                    finished_at: None,
                                    reason: None,
                                    message: Some(&message),
                                    report: None,
                                },
                            )
                            .await;
                    }
                    tokio::time::sleep(LOCK_RETRY).await;
                }
                other => return other,
            }
        }
    }

    async fn record(
        &self,
        node_id: i64,
        subtask: SubTask,
        status: TaskNodeStatus,
        reason: Option<&str>,
        message: Option<&str>,
        report: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let finished = now_rfc3339_millis();
        self.store
            .update_subtask(
                self.task_id,
                node_id,
                subtask.as_str(),
                &SubTaskUpdate {
                    status,
                    started_at: None,
                    finished_at: Some(&finished),
                    reason,
                    message,
                    report,
                },
            )
            .await
    }
}
