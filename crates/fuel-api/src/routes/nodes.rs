//! `/nodes`: registering the machines the master manages. Every field is
//! checked before anything is written, and refusals name the field.

use std::net::IpAddr;

use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use fuel_api_client::{check_roles, NewNode, NodeUpdate, NODE_STATUSES};
use fuel_node::HostKey;

use crate::error::{ApiResult, Failure};
use crate::json_body::{
    is_object, numeric_id, parse, parse_query, parse_value, read_body, JsonBody, ResourceId,
};
use crate::nailgun::{self, NailgunNode};
use crate::state::AppState;
use crate::store::{NodeChanges, NodeClash, WriteError};

/// Most nodes one registration request takes (a whole environment at once).
pub const MAX_NODES_PER_REQUEST: usize = 2000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/nodes",
            get(list)
                .post(create)
                // A list of nodes is larger than the default body limit:
                // ~300 bytes a node.
                .layer(DefaultBodyLimit::max(MAX_NODES_PER_REQUEST * 1024)),
        )
        .route("/nodes/{id}", get(show).put(update).delete(remove))
}

/// An RFC 1123 host name: dot-separated labels of letters, digits and
/// hyphens, none starting or ending with a hyphen.
fn check_hostname(hostname: &str) -> Result<(), Failure> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if hostname.is_empty() || hostname.len() > 253 || !hostname.split('.').all(label_ok) {
        return Err(Failure::invalid(
            "hostname",
            format!(
                "`{}` is not a host name: letters, digits and hyphens in dot-separated labels of at most 63 characters, e.g. node-2.domain.tld",
                hostname.escape_debug()
            ),
        ));
    }
    Ok(())
}

/// The address in its canonical form, so one address cannot be registered
/// twice under two spellings: an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`)
/// is the IPv4 address it maps. Loopback, unspecified, multicast and
/// broadcast addresses name no node (127.0.0.1 is the master itself) and are
/// refused unless `allow_local` says the caller means it.
fn check_ip(ip: &str, allow_local: bool) -> Result<String, Failure> {
    let parsed = ip.parse::<IpAddr>().map_err(|_| {
        Failure::invalid(
            "ip",
            format!(
                "`{}` is not an IP address: give the node's IPv4 or IPv6 address, e.g. 10.20.0.3",
                ip.escape_debug()
            ),
        )
    })?;
    let parsed = parsed.to_canonical();
    let kind = match parsed {
        IpAddr::V4(v4) if v4.is_loopback() => Some("a loopback address (this master itself)"),
        IpAddr::V4(v4) if v4.is_unspecified() => Some("the unspecified address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address"),
        IpAddr::V6(v6) if v6.is_loopback() => Some("a loopback address (this master itself)"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        _ => None,
    };
    match kind {
        Some(kind) if !allow_local => Err(Failure::invalid(
            "ip",
            format!(
                "{parsed} is {kind}, not a node's address: give the address the node's sshd \
                 listens on, or set allow_local_address (fuel node create --allow-local-address) \
                 if you mean it"
            ),
        )),
        _ => Ok(parsed.to_string()),
    }
}

fn check_port(port: u16) -> Result<(), Failure> {
    if port == 0 {
        return Err(Failure::invalid(
            "ssh_port",
            "ssh_port 0 is not a port: give the port sshd listens on (usually 22)",
        ));
    }
    Ok(())
}

fn check_node_roles(roles: &[String]) -> Result<(), Failure> {
    check_roles(roles).map_err(|e| Failure::invalid("roles", e))
}

fn check_status(status: &str) -> Result<(), Failure> {
    if !NODE_STATUSES.contains(&status) {
        return Err(Failure::invalid(
            "status",
            format!(
                "unknown node status `{}`: expected one of {}",
                status.escape_debug(),
                NODE_STATUSES.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The operator's key line, parsed once: from here on it is a [`HostKey`].
fn check_host_key(line: &str) -> Result<HostKey, Failure> {
    HostKey::parse(line).map_err(|e| Failure::invalid("host_key", e.to_string()))
}

/// What a refused write collided with, as the answer to send.
fn write_failure(
    error: WriteError,
    clash: Option<NodeClash>,
    node: (&str, &str, u16),
    cluster_id: Option<i64>,
) -> Failure {
    let (hostname, ip, port) = node;
    match error {
        WriteError::Duplicate => match clash {
            Some(NodeClash::Hostname) => Failure::conflict_on(
                "hostname",
                format!("a node named `{hostname}` exists already: choose another hostname or update that node"),
            ),
            Some(NodeClash::Address) => Failure::conflict_on(
                "ip",
                format!("a node at {ip} port {port} exists already: update that node instead"),
            ),
            // The other node went away between the write and the look-up.
            None => Failure::conflict("another node took this hostname or address: try again"),
        },
        WriteError::Reference => Failure::invalid(
            "cluster_id",
            format!(
                "no cluster {}: create the environment first",
                cluster_id.unwrap_or_default()
            ),
        ),
        WriteError::Database(e) => e.into(),
    }
}

async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Vec<NailgunNode>>> {
    let mut cluster_id = None;
    for (key, value) in parse_query(query.as_deref())? {
        match key.as_str() {
            "cluster_id" => cluster_id = Some(numeric_id("cluster_id", &value)?),
            other => {
                return Err(Failure::invalid(
                    other,
                    format!("unknown filter `{other}`: use cluster_id"),
                ))
            }
        }
    }
    Ok(Json(nailgun::nodes(
        state.store.list_nodes(cluster_id).await?,
    )))
}

async fn show(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<Json<NailgunNode>> {
    state
        .store
        .get_node(id)
        .await?
        .map(|node| Json(nailgun::node(node)))
        .ok_or_else(|| Failure::not_found(format!("no node {id}")))
}

/// The new node's fields checked and normalised; its parsed host key.
fn check_new(new: &mut NewNode) -> Result<HostKey, Failure> {
    check_hostname(&new.hostname)?;
    new.ip = check_ip(&new.ip, new.allow_local_address)?;
    check_port(new.ssh_port)?;
    check_status(&new.status)?;
    check_node_roles(&new.roles)?;
    check_host_key(&new.host_key)
}

/// One node (a JSON object, answered with the node), or a list of them
/// (answered with the list): all registered in one transaction, or none,
/// the refusal naming the entry (`[3].host_key`).
async fn create(State(state): State<AppState>, request: Request) -> ApiResult<Response> {
    let bytes = read_body(request, &state).await?;
    if is_object(&bytes) {
        let new: NewNode = parse(&bytes)?;
        return create_one(&state, new)
            .await
            .map(|created| created.into_response());
    }
    let mut list: Vec<NewNode> = parse_value(&bytes)?;
    if list.len() > MAX_NODES_PER_REQUEST {
        return Err(Failure::invalid(
            "nodes",
            format!(
                "{} nodes in one request: send at most {MAX_NODES_PER_REQUEST} at a time",
                list.len()
            ),
        ));
    }
    let at = |index: usize| move |e: Failure| e.within(&format!("[{index}]"));
    let mut checked = Vec::with_capacity(list.len());
    for (index, mut new) in list.drain(..).enumerate() {
        let host_key = check_new(&mut new).map_err(at(index))?;
        let earlier = checked.iter().position(|(other, _): &(NewNode, HostKey)| {
            other.hostname == new.hostname || (other.ip == new.ip && other.ssh_port == new.ssh_port)
        });
        if let Some(earlier) = earlier {
            let (field, what) = if checked[earlier].0.hostname == new.hostname {
                ("hostname", format!("`{}`", new.hostname))
            } else {
                ("ip", format!("{} port {}", new.ip, new.ssh_port))
            };
            return Err(Failure::invalid(
                format!("[{index}].{field}"),
                format!("{what} is also entry [{earlier}]: each node once"),
            ));
        }
        checked.push((new, host_key));
    }
    match state.store.insert_nodes(&checked).await {
        Ok(nodes) => {
            tracing::info!(count = nodes.len(), "nodes registered");
            Ok((StatusCode::CREATED, Json(nailgun::nodes(nodes))).into_response())
        }
        Err((index, error)) => {
            let Some((new, _)) = checked.get(index) else {
                return Err(match error {
                    WriteError::Database(e) => e.into(),
                    _ => Failure::conflict("the registration did not commit: try again"),
                });
            };
            Err(refused_new(&state, error, new)
                .await?
                .within(&format!("[{index}]")))
        }
    }
}

async fn create_one(
    state: &AppState,
    mut new: NewNode,
) -> ApiResult<(StatusCode, Json<NailgunNode>)> {
    let host_key = check_new(&mut new)?;
    match state.store.insert_node(&new, &host_key).await {
        Ok(node) => {
            tracing::info!(node = node.id, hostname = %node.hostname, fingerprint = %node.host_key_fingerprint, "node registered");
            Ok((StatusCode::CREATED, Json(nailgun::node(node))))
        }
        Err(error) => Err(refused_new(state, error, &new).await?),
    }
}

/// A refused registration as the answer to send, naming what clashed.
async fn refused_new(
    state: &AppState,
    error: WriteError,
    new: &NewNode,
) -> Result<Failure, Failure> {
    let clash = match error {
        WriteError::Duplicate => {
            state
                .store
                .node_clash(None, &new.hostname, &new.ip, new.ssh_port)
                .await?
        }
        _ => None,
    };
    Ok(write_failure(
        error,
        clash,
        (&new.hostname, &new.ip, new.ssh_port),
        new.cluster_id,
    ))
}

async fn update(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
    JsonBody(update): JsonBody<NodeUpdate>,
) -> ApiResult<Json<NailgunNode>> {
    if let Some(hostname) = &update.hostname {
        check_hostname(hostname)?;
    }
    let changes = NodeChanges {
        hostname: update.hostname.clone(),
        ip: update
            .ip
            .as_deref()
            .map(|ip| check_ip(ip, update.allow_local_address))
            .transpose()?,
        ssh_port: update
            .ssh_port
            .map(|port| check_port(port).map(|()| port))
            .transpose()?,
        os: update.os,
        cluster_id: update.cluster_id,
        status: update
            .status
            .clone()
            .map(|status| check_status(&status).map(|()| status))
            .transpose()?,
        host_key: update.host_key.as_deref().map(check_host_key).transpose()?,
        roles: update
            .roles
            .clone()
            .map(|roles| check_node_roles(&roles).map(|()| roles))
            .transpose()?,
    };
    match state.store.update_node(id, &changes).await {
        Ok(Some(node)) => Ok(Json(nailgun::node(node))),
        Ok(None) => Err(Failure::not_found(format!("no node {id}"))),
        Err(error) => {
            // The values the node would have had, to name the one that clashed.
            let current = state.store.get_node(id).await?;
            let hostname = changes
                .hostname
                .clone()
                .or_else(|| current.as_ref().map(|n| n.hostname.clone()))
                .unwrap_or_default();
            let ip = changes
                .ip
                .clone()
                .or_else(|| current.as_ref().map(|n| n.ip.clone()))
                .unwrap_or_default();
            let port = changes
                .ssh_port
                .or_else(|| current.as_ref().map(|n| n.ssh_port))
                .unwrap_or(22);
            let clash = match error {
                WriteError::Duplicate => {
                    state
                        .store
                        .node_clash(Some(id), &hostname, &ip, port)
                        .await?
                }
                _ => None,
            };
            Err(write_failure(
                error,
                clash,
                (&hostname, &ip, port),
                changes.cluster_id.flatten(),
            ))
        }
    }
}

async fn remove(
    State(state): State<AppState>,
    ResourceId(id): ResourceId,
) -> ApiResult<StatusCode> {
    if state.store.delete_node(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Failure::not_found(format!("no node {id}")))
    }
}
