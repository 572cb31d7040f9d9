//! `fuel task [--task-id N] [--env N]`: deployment tasks.

use fuel_api_client::{Task, TaskFilter};
use fuel_cli::Table;

use crate::cli::TaskArgs;
use crate::output;
use crate::session::Session;

pub async fn run(session: &Session, args: &TaskArgs, json: bool) -> anyhow::Result<()> {
    if let Some(id) = args.task_id {
        let task = session.client.get_task(id).await.map_err(|e| match e {
            fuel_api_client::ClientError::NotFound(_) => {
                anyhow::anyhow!("task {id} does not exist: `fuel task` lists the tasks")
            }
            other => session.explain(other),
        })?;
        if json {
            return output::structured(&task);
        }
        output::table(&table(std::slice::from_ref(&task)))?;
        // A package task: how each node went.
        if !task.nodes.is_empty() {
            output::emit("\n")?;
            output::table(&super::deploy::node_table(&task, false))?;
        }
        return Ok(());
    }
    if let Some(env) = args.env {
        session.require_env(env).await?;
    }
    let filter = TaskFilter {
        status: None,
        cluster_id: args.env,
    };
    let tasks = session
        .client
        .list_tasks(&filter)
        .await
        .map_err(|e| session.explain(e))?;
    if json {
        return output::structured(&tasks);
    }
    output::table(&table(&tasks))
}

fn table(tasks: &[Task]) -> Table {
    let mut table = Table::new(["id", "status", "name", "env", "progress", "message"]);
    for t in tasks {
        table.row([
            t.id.to_string(),
            t.status.as_str().to_string(),
            t.name.clone(),
            output::optional(t.cluster_id),
            format!("{}%", t.progress),
            t.message.clone().unwrap_or_default(),
        ]);
    }
    table
}
