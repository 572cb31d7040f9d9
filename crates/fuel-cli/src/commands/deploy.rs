//! `fuel node --node 2,3 --tasks execute_pm [--env N] [--check] [--no-wait]`:
//! starts the package tasks on the selected nodes and follows the task to its
//! end — a live line per node on a terminal, plain lines otherwise — then a
//! table per node. Exit 0 only when every node succeeded.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::anyhow;
use fuel_api_client::{ClientError, DeployTasks, Node, Task, TaskNode, TaskNodeStatus, TaskStatus};
use fuel_cli::{NodeSelection, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

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
        output::table(&node_table(&task))?;
    }
    match task.status {
        TaskStatus::Ready => Ok(()),
        _ => Err(anyhow!(
            "task {} ended {}: {}",
            task.id,
            task.status.as_str(),
            task.message.as_deref().unwrap_or("see the table above")
        )),
    }
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

/// Reads the task until it is final, showing each node's progress.
async fn follow(session: &Session, id: i64, json: bool) -> anyhow::Result<Task> {
    let live = !json && std::io::stderr().is_terminal();
    let bars = MultiProgress::new();
    let mut lines: HashMap<i64, ProgressBar> = HashMap::new();
    // A new line when a sub-task's status or message changes (the master says
    // so while it waits for a node's applier lock).
    let mut shown: HashMap<(i64, String), (TaskNodeStatus, Option<String>)> = HashMap::new();
    loop {
        let task = session
            .client
            .get_task(id)
            .await
            .map_err(|e| session.explain(e))?;
        for sub in &task.nodes {
            let key = (sub.node_id, sub.subtask.clone());
            let state = (sub.status, sub.message.clone());
            if shown.get(&key) == Some(&state) {
                continue;
            }
            shown.insert(key, state);
            let text = describe(sub);
            if live {
                let bar = lines.entry(sub.node_id).or_insert_with(|| {
                    let bar = bars.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"),
                    );
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(text);
            } else if !json && sub.status != TaskNodeStatus::Pending {
                eprintln!("{text}");
            }
        }
        if task.status.is_final() {
            for bar in lines.values() {
                bar.finish();
            }
            return Ok(task);
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

/// One row per node: how it ended and what its applier changed.
pub fn node_table(task: &Task) -> Table {
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
    let mut order: Vec<i64> = Vec::new();
    for sub in &task.nodes {
        if !order.contains(&sub.node_id) {
            order.push(sub.node_id);
        }
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
                .and_then(|s| s.reason.clone())
                .unwrap_or_else(|| "-".to_string()),
        ]);
    }
    table
}
