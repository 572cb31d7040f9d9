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
//! leaves each node's last known state; the start-up sweep marks the task
//! `interrupted`, and running the same command again completes it (the
//! applier is idempotent).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fuel_api_client::{DeployTasks, Node, Task, TaskNodeStatus, TaskStatus};
use fuel_pm_tasks::{
    execute_pm, expand, upload_pm, Applier, NodeError, NodeFailure, NodeSession, Settings, SubTask,
    Target,
};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::{timeout_at, Instant};

use crate::clock::now_rfc3339;
use crate::config::PackageTasksConfig;
use crate::store::{PlannedSubTask, Store, SubTaskUpdate};

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
    // Checking for a running task and creating one are one step, so two
    // requests cannot both start a task in one environment.
    start_lock: Mutex<()>,
    // Bounds the nodes worked on at once across every task of this master.
    slots: Arc<Semaphore>,
}

impl PackageTasks {
    pub fn new(store: Store, config: PackageTasksConfig) -> PackageTasks {
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        PackageTasks {
            store,
            config,
            start_lock: Mutex::new(()),
            slots,
        }
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

        let document = match self.store.package_revision(cluster_id, None).await? {
            Some((_, Some(bytes))) => bytes,
            _ => return Err(StartError::NoDocument(cluster_id)),
        };

        let _guard = self.start_lock.lock().await;
        if let Some(active) = self.store.active_package_task(cluster_id).await? {
            return Err(StartError::Busy {
                id: active.id,
                name: active.name,
                status: active.status.as_str(),
                cluster_id,
            });
        }
        let name = run.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",");
        let added: Vec<&str> = added.iter().map(|t| t.as_str()).collect();
        let planned: Vec<PlannedSubTask> = nodes
            .iter()
            .flat_map(|node| {
                run.iter().map(move |subtask| PlannedSubTask {
                    node_id: node.id,
                    hostname: &node.hostname,
                    subtask: subtask.as_str(),
                })
            })
            .collect();
        let task = self
            .store
            .insert_package_task(cluster_id, &name, &added, &planned)
            .await?;

        let job = Job {
            store: self.store.clone(),
            config: self.config.clone(),
            slots: self.slots.clone(),
            task_id: task.id,
            run,
            nodes,
            document: Arc::new(document),
            check: request.check,
        };
        tokio::spawn(job.run());
        Ok(task)
    }
}

/// One started task, owned by its background run.
struct Job {
    store: Store,
    config: PackageTasksConfig,
    slots: Arc<Semaphore>,
    task_id: i64,
    run: Vec<SubTask>,
    nodes: Vec<Node>,
    document: Arc<Vec<u8>>,
    check: bool,
}

impl Job {
    async fn run(self) {
        let task_id = self.task_id;
        if let Err(e) = self.run_inner().await {
            // The database itself failed: say so on the task if it can still be written.
            tracing::error!(task = task_id, error = %e, "package task failed");
        }
    }

    async fn run_inner(self) -> Result<(), sqlx::Error> {
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
        let total = job.nodes.len();
        let finished = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for node in job.nodes.clone() {
            let job = job.clone();
            let applier = applier.clone();
            let finished = finished.clone();
            handles.push(tokio::spawn(async move {
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
            }));
        }
        let mut failures = Vec::new();
        for handle in handles {
            match handle.await {
                Ok((_, Ok(Ok(())))) => {}
                Ok((hostname, Ok(Err(reason)))) => failures.push(format!("{hostname} ({reason})")),
                Ok((hostname, Err(e))) => return Err(e).map_err(|e: sqlx::Error| {
                    tracing::error!(node = %hostname, error = %e, "cannot record a node's state");
                    e
                }),
                Err(e) => failures.push(format!("a node's run panicked: {e}")),
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
                    "{} of {total} node(s) failed: {}",
                    failures.len(),
                    failures.join(", ")
                ),
            )
        };
        job.store
            .set_task_state(job.task_id, status, 100, Some(&message))
            .await
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
            if failed.is_some() {
                self.record(node.id, subtask, TaskNodeStatus::Skipped, None, None, None)
                    .await?;
                continue;
            }
            let started = now_rfc3339();
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
                    SubTask::ExecutePm => execute_pm(open, &target, self.check).await.map(Some),
                }
            };
            let outcome = match timeout_at(deadline, step).await {
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

    async fn record(
        &self,
        node_id: i64,
        subtask: SubTask,
        status: TaskNodeStatus,
        reason: Option<&str>,
        message: Option<&str>,
        report: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let finished = now_rfc3339();
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
