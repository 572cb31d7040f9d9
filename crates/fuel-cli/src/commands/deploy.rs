//! `fuel node --node 2,3 --tasks execute_pm [--env N] [--check] [--no-wait]
//! [--batch 1,10,25%] [--max-failures N|N%] [--order-by-role] [--failed]`:
//! starts the package tasks on the selected nodes and follows the task to its
//! end, reading only what changed since its last look — on a terminal one
//! summary line (done/running/failed/remaining) and a line per failed node,
//! plain lines otherwise — then a table per node, failures first. Exit 0 only
//! when every node succeeded.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::anyhow;
use fuel_api_client::{ClientError, DeployTasks, Node, Task, TaskNode, TaskNodeStatus, TaskStatus};
use fuel_cli::{NodeSelection, Table};
use fuel_pm_tasks::rollout::ROLLOUT_STOPPED;
use indicatif::{ProgressBar, ProgressStyle};

use crate::output;
use crate::session::Session;

/// How often the task is read while it runs.
const POLL: Duration = Duration::from_millis(250);

pub struct Request<'a> {
    pub env: Option<i64>,
    pub selection: &'a NodeSelection,
    pub nodes: &'a [Node],
    pub tasks: &'a [String],
    pub check: bool,
    pub no_wait: bool,
    pub json: bool,
    pub batch: Option<String>,
    pub max_failures: Option<String>,
    pub order_by_role: bool,
    /// The final table lists only the nodes that did not succeed.
    pub failed_only: bool,
}

pub async fn run(session: &Session, request: Request<'_>) -> anyhow::Result<()> {
    let env = match request.env {
        Some(env) => env,
        None => environment_of(request.nodes, request.selection)?,
    };
    let body = DeployTasks {
        nodes: request.nodes.iter().map(|n| n.id).collect(),
        tasks: request.tasks.to_vec(),
        check: request.check,
        batch: request.batch.clone(),
        max_failures: request.max_failures.clone(),
        order_by_role: request.order_by_role,
    };
    let task = session
        .client
        .deploy_tasks(env, &body)
        .await
        .map_err(|e| refused(session, e))?;
    if !task.added_tasks.is_empty() {
        eprintln!(
            "task {}: also running {} (required by {})",
            task.id,
            task.added_tasks.join(", "),
            request.tasks.join(", ")
        );
    }
    if request.no_wait {
        return if request.json {
            output::structured(&task)
        } else {
            output::emit(&format!(
                "task {} started: follow it with fuel task --task-id {}\n",
                task.id, task.id
            ))
        };
    }
    let task = follow(session, task.id, request.json).await?;
    if request.json {
        output::structured(&task)?;
    } else {
        output::table(&node_table(&task, request.failed_only))?;
    }
    if task.status == TaskStatus::Ready {
        return Ok(());
    }
    let spared = node_states(&task.nodes)
        .values()
        .filter(|state| **state == NodeState::Spared)
        .count();
    let spared = if spared > 0 {
        format!(
            "\nthe rollout stopped: {spared} node(s) were spared (skipped, {ROLLOUT_STOPPED}); \
             nothing was changed on them"
        )
    } else {
        String::new()
    };
    Err(anyhow!(
        "task {} ended {}: {}{spared}",
        task.id,
        task.status.as_str(),
        task.message.as_deref().unwrap_or("see the table above")
    ))
}

/// Where one node is, from its sub-tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NodeState {
    Failed,
    Spared,
    Running,
    Remaining,
    Done,
}

fn node_state(subs: &[&TaskNode]) -> NodeState {
    use TaskNodeStatus as S;
    if subs
        .iter()
        .any(|s| matches!(s.status, S::Error | S::Interrupted))
    {
        NodeState::Failed
    } else if subs
        .iter()
        .any(|s| s.status == S::Skipped && s.reason.as_deref() == Some(ROLLOUT_STOPPED))
    {
        NodeState::Spared
    } else if subs.iter().all(|s| s.status.is_final()) {
        NodeState::Done
    } else if subs.iter().any(|s| s.status != S::Pending) {
        NodeState::Running
    } else {
        NodeState::Remaining
    }
}

/// Each node's state, by node id.
fn node_states(subs: &[TaskNode]) -> BTreeMap<i64, NodeState> {
    let mut by_node: BTreeMap<i64, Vec<&TaskNode>> = BTreeMap::new();
    for sub in subs {
        by_node.entry(sub.node_id).or_default().push(sub);
    }
    by_node
        .into_iter()
        .map(|(id, subs)| (id, node_state(&subs)))
        .collect()
}

/// The terminal's one summary line: "task 7: 120 done, 16 running, 2 failed, 62 remaining".
fn summary(id: i64, subs: &[TaskNode]) -> String {
    let states = node_states(subs);
    let count = |state| states.values().filter(|s| **s == state).count();
    let mut line = format!(
        "task {id}: {} done, {} running, {} failed, {} remaining",
        count(NodeState::Done),
        count(NodeState::Running),
        count(NodeState::Failed),
        count(NodeState::Remaining)
    );
    let spared = count(NodeState::Spared);
    if spared > 0 {
        line.push_str(&format!(", {spared} spared ({ROLLOUT_STOPPED})"));
    }
    line
}

/// The one environment all selected nodes are in.
fn environment_of(nodes: &[Node], selection: &NodeSelection) -> anyhow::Result<i64> {
    let mut envs: Vec<i64> = nodes.iter().filter_map(|n| n.cluster_id).collect();
    envs.sort_unstable();
    envs.dedup();
    if let Some(unassigned) = nodes.iter().find(|n| n.cluster_id.is_none()) {
        return Err(anyhow!(
            "node {} is in no environment: package tasks run on an environment's nodes (fuel node --env N lists them)",
            unassigned.id
        ));
    }
    match envs.as_slice() {
        [env] => Ok(*env),
        _ => Err(anyhow!(
            "nodes {selection} are in several environments ({}): pass --env N and nodes of that environment",
            envs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The server's refusal, as the operator can act on it.
fn refused(session: &Session, error: ClientError) -> anyhow::Error {
    match &error {
        ClientError::Invalid { error: api, .. } | ClientError::Conflict(api) => {
            anyhow!("the master refused the tasks: {}", api.message)
        }
        ClientError::NotFound(api) => anyhow!("{}", api.message),
        _ => session.explain(error),
    }
}

/// Follows the task until it is final, reading only the sub-tasks changed
/// since the last look; then the whole task (with reports) once.
async fn follow(session: &Session, id: i64, json: bool) -> anyhow::Result<Task> {
    let live = !json && std::io::stderr().is_terminal();
    let line = live.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut subs: Vec<TaskNode> = Vec::new();
    let mut cursor = 0;
    loop {
        let progress = session
            .client
            .task_progress(id, cursor)
            .await
            .map_err(|e| session.explain(e))?;
        cursor = progress.cursor;
        for sub in progress.nodes {
            let known = subs
                .iter_mut()
                .find(|s| s.node_id == sub.node_id && s.subtask == sub.subtask);
            // A new line when a sub-task's status or message changes (the master
            // says so while it waits for a node's applier lock).
            let changed = known
                .as_ref()
                .is_none_or(|s| s.status != sub.status || s.message != sub.message);
            if changed {
                match &line {
                    Some(bar) if sub.status == TaskNodeStatus::Error => bar.println(describe(&sub)),
                    Some(_) => {}
                    None if !json && sub.status != TaskNodeStatus::Pending => {
                        eprintln!("{}", describe(&sub))
                    }
                    None => {}
                }
            }
            match known {
                Some(slot) => *slot = sub,
                None => subs.push(sub),
            }
        }
        if let Some(bar) = &line {
            bar.set_message(summary(id, &subs));
        }
        if progress.task.status.is_final() {
            if let Some(bar) = &line {
                bar.finish();
            }
            return session
                .client
                .get_task(id)
                .await
                .map_err(|e| session.explain(e));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn describe(sub: &TaskNode) -> String {
    let mut text = format!(
        "node {} ({}): {} {}",
        sub.node_id,
        sub.hostname,
        sub.subtask,
        sub.status.as_str()
    );
    if let Some(reason) = &sub.reason {
        text.push_str(&format!(" [{reason}]"));
    }
    if let Some(message) = &sub.message {
        text.push_str(&format!(": {message}"));
    }
    text
}

/// One row per node: how it ended and what its applier changed; nodes that
/// did not succeed first (only those with `failed_only`).
pub fn node_table(task: &Task, failed_only: bool) -> Table {
    let mut table = Table::new([
        "node",
        "hostname",
        "status",
        "changed",
        "unchanged",
        "failed",
        "packages changed",
        "other packages",
        "after-actions",
        "reason",
    ]);
    let states = node_states(&task.nodes);
    let mut order: Vec<i64> = Vec::new();
    for sub in &task.nodes {
        if !order.contains(&sub.node_id) {
            order.push(sub.node_id);
        }
    }
    // Stable: within each state the task's own order stays.
    order.sort_by_key(|id| states.get(id).copied().unwrap_or(NodeState::Remaining));
    if failed_only {
        order.retain(|id| states.get(id) != Some(&NodeState::Done));
    }
    for node_id in order {
        let subs: Vec<&TaskNode> = task.nodes.iter().filter(|s| s.node_id == node_id).collect();
        let failed = subs.iter().find(|s| {
            matches!(
                s.status,
                TaskNodeStatus::Error | TaskNodeStatus::Interrupted
            )
        });
        let status = match failed {
            Some(s) => s.status.as_str(),
            None if subs.iter().all(|s| s.status == TaskNodeStatus::Ready) => "ready",
            None => subs.last().map_or("pending", |s| s.status.as_str()),
        };
        let report = subs.iter().find_map(|s| s.report.as_ref());
        // Changes the transaction made to packages the document does not name.
        let others = report
            .map(|r| {
                r.collateral
                    .iter()
                    .map(fuel_pm::report::Collateral::short)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".into());
        let (changed, unchanged, failed_count, names, actions) = match report {
            Some(r) => (
                r.totals.changed.to_string(),
                r.totals.unchanged.to_string(),
                r.totals.failed.to_string(),
                r.packages
                    .iter()
                    .filter(|p| {
                        !matches!(
                            p.action,
                            fuel_pm::report::PackageAction::Unchanged
                                | fuel_pm::report::PackageAction::Failed
                        )
                    })
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
                    .join(","),
                r.totals.actions_run.to_string(),
            ),
            None => (
                "-".into(),
                "-".into(),
                "-".into(),
                String::new(),
                "-".into(),
            ),
        };
        table.row([
            node_id.to_string(),
            subs.first().map(|s| s.hostname.clone()).unwrap_or_default(),
            status.to_string(),
            changed,
            unchanged,
            failed_count,
            if names.is_empty() { "-".into() } else { names },
            others,
            actions,
            failed
                .or_else(|| subs.iter().find(|s| s.status == TaskNodeStatus::Skipped))
                .and_then(|s| s.reason.clone())
                .unwrap_or_else(|| "-".to_string()),
        ]);
    }
    table
}
