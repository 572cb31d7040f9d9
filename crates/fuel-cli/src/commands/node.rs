//! `fuel node`: list nodes (`--env N`, `--node 2,3`), register one
//! (`fuel node create`), run tasks on a selection (`--node 2,3 --tasks
//! execute_pm`).

use anyhow::anyhow;
use fuel_api_client::{ClientError, NewNode, Node};
use fuel_cli::{keyscan, NodeSelection, Table};
use fuel_node::HostKey;

use crate::cli::{NodeArgs, NodeCommand, NodeCreateArgs};
use crate::output;
use crate::session::Session;

pub async fn run(session: &Session, args: &NodeArgs, json: bool) -> anyhow::Result<()> {
    if let Some(NodeCommand::Create(create)) = &args.command {
        return self::create(session, create, json).await;
    }
    let selection = args.selection()?;
    if !args.tasks.is_empty() {
        let mut nodes = selected(session, args.env, &selection).await?;
        if let Some(stray) = args.order.iter().find(|id| !selection.contains(**id)) {
            return Err(anyhow!(
                "--order names node {stray}, which --node does not select: order the selected nodes only"
            ));
        }
        // --order's nodes first, as listed; the rest keep their id order.
        nodes.sort_by_key(|n| {
            args.order
                .iter()
                .position(|id| *id == n.id)
                .unwrap_or(usize::MAX)
        });
        return super::deploy::run(
            session,
            super::deploy::Request {
                env: args.env,
                selection: &selection,
                nodes: &nodes,
                tasks: &args.tasks,
                check: args.check,
                no_wait: args.no_wait,
                json,
                batch: args.batch.clone(),
                max_failures: args.max_failures.clone(),
                order_by_role: args.order_by_role,
                failed_only: args.failed,
            },
        )
        .await;
    }
    let nodes = selected(session, args.env, &selection).await?;
    if json {
        return output::structured(&nodes);
    }
    output::table(&table(&nodes))
}

/// The nodes of `env` (all when `None`), only those of a non-empty
/// selection; a selected id that is not there is an error naming it.
async fn selected(
    session: &Session,
    env: Option<i64>,
    selection: &NodeSelection,
) -> anyhow::Result<Vec<Node>> {
    if let Some(env) = env {
        session.require_env(env).await?;
    }
    let mut nodes = session
        .client
        .list_nodes(env)
        .await
        .map_err(|e| session.explain(e))?;
    if selection.is_empty() {
        return Ok(nodes);
    }
    nodes.retain(|n| selection.contains(n.id));
    let missing: Vec<String> = selection
        .ids()
        .filter(|id| !nodes.iter().any(|n| n.id == *id))
        .map(|id| id.to_string())
        .collect();
    if !missing.is_empty() {
        let place = match env {
            Some(env) => format!("in environment {env}"),
            None => "on this master".to_string(),
        };
        return Err(anyhow!(
            "no node {} {place}: `fuel node{}` lists the nodes",
            missing.join(", "),
            env.map(|e| format!(" --env {e}")).unwrap_or_default()
        ));
    }
    Ok(nodes)
}

async fn create(session: &Session, args: &NodeCreateArgs, json: bool) -> anyhow::Result<()> {
    if let Some(env) = args.env {
        session.require_env(env).await?;
    }
    let key: HostKey = match &args.host_key {
        Some(key) => key.clone(),
        None => {
            let key = keyscan::scan(args.ip, args.port)?;
            // The operator is the only check against a man in the middle on
            // first contact: show the fingerprint and where to compare it.
            eprintln!(
                "Host key of {} ({} port {}): {} {}\n\
                 Compare it with the node's console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\n\
                 (if they differ, delete this node and register it again with --host-key)",
                args.hostname,
                args.ip,
                args.port,
                key.key_type(),
                key.fingerprint()
            );
            key
        }
    };
    let new = NewNode {
        hostname: args.hostname.clone(),
        ip: args.ip.to_string(),
        ssh_port: args.port,
        os: args.os,
        cluster_id: args.env,
        status: "ready".to_string(),
        host_key: key.line(),
        allow_local_address: args.allow_local_address,
        roles: args.roles.clone(),
    };
    let node = session
        .client
        .create_node(&new)
        .await
        .map_err(|e| match e {
            ClientError::Conflict(api) => anyhow!(
                "another node already has this {} ({api}): `fuel node` lists them",
                api.field.as_deref().unwrap_or("hostname or address")
            ),
            ClientError::NotFound(_) if args.env.is_some() => {
                crate::failure::no_such_env(args.env.unwrap_or_default())
            }
            other => session.explain(other),
        })?;
    if node.host_key_fingerprint != key.fingerprint() {
        return Err(anyhow!(
            "the server recorded node {} with host key {} but {} was sent: check the server before using this node",
            node.id,
            node.host_key_fingerprint,
            key.fingerprint()
        ));
    }
    if json {
        return output::structured(&node);
    }
    output::table(&table(std::slice::from_ref(&node)))
}

fn table(nodes: &[Node]) -> Table {
    let mut table = Table::new([
        "id", "hostname", "ip", "port", "os", "env", "roles", "status", "host key",
    ]);
    for n in nodes {
        table.row([
            n.id.to_string(),
            n.hostname.clone(),
            n.ip.clone(),
            n.ssh_port.to_string(),
            n.os.os_family().to_string(),
            output::optional(n.cluster_id),
            if n.roles.is_empty() {
                "-".to_string()
            } else {
                n.roles.join(",")
            },
            n.status.clone(),
            n.host_key_fingerprint.clone(),
        ]);
    }
    table
}
