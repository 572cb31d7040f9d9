//! The switch step's stops, then its starts, each run as one dependency
//! graph, as docker compose's `depends_on: service_healthy` does: an old
//! container stops as soon as the containers that depend on it have
//! stopped, and a new one starts as soon as the services it depends on are
//! healthy, not when the whole level before it is. A level with a slow
//! probe (an `exec` one) then holds back only its own dependents. Every old
//! container has stopped before the first new one starts, as before: no
//! old and new services of the master ever run side by side. (Letting each
//! new container start once its old self stopped was measured too, and won
//! nothing: the engine, not the ordering, is then the limit.)
//!
//! The journal keeps one action per level, in dependency order, so rollback
//! still undoes them in reverse. A group's actions are journaled `started`
//! together in one write, and their prior state comes from one listing of
//! the namespace. Inside the downtime window that leaves one fsync and one
//! engine request per group, where there used to be one of each per level.
//! A kill leaves every action of the group `started`. Each one is
//! idempotent, and its undo is too, so rollback undoes them all as in
//! flight and resume re-runs them all.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::{FutureExt, LocalBoxFuture, Shared};

use crate::adapters::engine::{Engine, LiveContainer};
use crate::adapters::health;
use crate::error::ActionError;
use crate::plan::Plan;
use crate::state::journal::{Action, Prior};

/// A group is all stops or all starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Stop,
    Start,
}

pub(crate) fn kind(action: &Action) -> Option<Kind> {
    match action {
        Action::Stop { .. } => Some(Kind::Stop),
        Action::Start { .. } => Some(Kind::Start),
        _ => None,
    }
}

/// One container of a group.
struct Node {
    /// Index of its action within the group.
    action: usize,
    container: String,
    service: String,
    /// The services it depends on; None when unknown (an old container
    /// the engine no longer lists), which orders it after its whole level.
    depends_on: Option<Vec<String>>,
}

/// What the listing of the namespace says about the group's containers.
pub(crate) struct Listed(HashMap<String, LiveContainer>);

pub(crate) async fn list(engine: &Engine, namespace: &str) -> Result<Listed, ActionError> {
    Ok(Listed(
        engine
            .list(namespace)
            .await?
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect(),
    ))
}

impl Listed {
    /// The action's prior state: which of its containers run, in its order.
    pub fn prior(&self, action: &Action) -> Prior {
        Prior::Running {
            running: containers(action)
                .into_iter()
                .filter(|(name, _)| self.0.get(*name).is_some_and(|c| c.running))
                .map(|(name, _)| name.to_string())
                .collect(),
        }
    }
}

/// (container, service) of a stop or start.
fn containers(action: &Action) -> Vec<(&str, &str)> {
    match action {
        Action::Stop { containers } => containers
            .iter()
            .map(|c| (c.name.as_str(), c.service.as_str()))
            .collect(),
        Action::Start {
            services,
            containers,
        } => containers
            .iter()
            .zip(services)
            .map(|(c, s)| (c.as_str(), s.as_str()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `later` (of a later action) waits for `earlier`.
fn waits_for(kind: Kind, later: &Node, earlier: &Node) -> bool {
    if earlier.action >= later.action {
        return false;
    }
    match kind {
        // A new container waits for the services it depends on.
        Kind::Start => later
            .depends_on
            .as_ref()
            .is_none_or(|d| d.contains(&earlier.service)),
        // An old container waits for the containers that depend on it.
        Kind::Stop => earlier
            .depends_on
            .as_ref()
            .is_none_or(|d| d.contains(&later.service)),
    }
}

/// Runs the group's actions (all of one `kind`, in journal order) as one
/// dependency graph. Every request runs to its end
/// (`run::each_to_its_end`'s reason); a container whose predecessor failed
/// is not touched. Returns when each action's containers were done, or the
/// first failure by action order (the index of its action within the
/// group).
pub(crate) async fn perform(
    engine: &Engine,
    plan: &Plan,
    listed: &Listed,
    kind: Kind,
    actions: &[Action],
) -> Result<Vec<Duration>, (usize, ActionError)> {
    let t = Instant::now();
    let mut nodes = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        for (container, service) in containers(action) {
            let depends_on = match kind {
                Kind::Start => plan.service(service).map(|s| s.depends_on.clone()),
                Kind::Stop => listed.0.get(container).map(|c| c.depends_on.clone()),
            };
            nodes.push(Node {
                action: i,
                container: container.to_string(),
                service: service.to_string(),
                depends_on,
            });
        }
    }
    let failures: RefCell<Vec<(usize, ActionError)>> = RefCell::new(Vec::new());
    let finished: RefCell<Vec<Duration>> = RefCell::new(vec![Duration::ZERO; actions.len()]);
    // Each container's future, shared with the ones that wait for it: true
    // once it is stopped (or started and healthy).
    let mut done: Vec<Shared<LocalBoxFuture<'_, bool>>> = Vec::new();
    for node in &nodes {
        let before: Vec<_> = nodes
            .iter()
            .zip(&done)
            .filter(|(earlier, _)| waits_for(kind, node, earlier))
            .map(|(_, f)| f.clone())
            .collect();
        let (failures, finished) = (&failures, &finished);
        let future = async move {
            for f in before {
                if !f.await {
                    return false;
                }
            }
            let result = match kind {
                Kind::Stop => engine.stop(&node.container).await.map_err(Into::into),
                Kind::Start => start_healthy(engine, plan, node).await,
            };
            match result {
                Ok(()) => {
                    let mut finished = finished.borrow_mut();
                    finished[node.action] = finished[node.action].max(t.elapsed());
                    true
                }
                Err(e) => {
                    failures.borrow_mut().push((node.action, e));
                    false
                }
            }
        };
        done.push(future.boxed_local().shared());
    }
    futures_util::future::join_all(done).await;
    let mut failures = failures.into_inner();
    failures.sort_by_key(|(action, _)| *action);
    match failures.into_iter().next() {
        Some(first) => Err(first),
        None => Ok(finished.into_inner()),
    }
}

async fn start_healthy(engine: &Engine, plan: &Plan, node: &Node) -> Result<(), ActionError> {
    let svc = plan
        .service(&node.service)
        .ok_or_else(|| ActionError::UnknownService(node.service.clone()))?;
    engine.start(&node.container).await?;
    health::wait_healthy(
        engine,
        &node.container,
        &svc.healthcheck,
        svc.host_network(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(action: usize, service: &str, depends_on: Option<&[&str]>) -> Node {
        Node {
            action,
            container: format!("ns-{service}"),
            service: service.into(),
            depends_on: depends_on.map(|d| d.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn a_new_container_waits_only_for_the_services_it_depends_on() {
        let postgres = node(0, "postgres", Some(&[]));
        let rabbitmq = node(0, "rabbitmq", Some(&[]));
        let astute = node(1, "astute", Some(&["rabbitmq"]));
        assert!(waits_for(Kind::Start, &astute, &rabbitmq));
        assert!(!waits_for(Kind::Start, &astute, &postgres));
        // Never on a later level or its own: the journal's order holds.
        assert!(!waits_for(Kind::Start, &rabbitmq, &astute));
        assert!(!waits_for(Kind::Start, &postgres, &rabbitmq));
    }

    #[test]
    fn an_old_container_stops_after_its_dependents_and_after_any_it_cannot_read() {
        let nginx = node(0, "nginx", Some(&["nailgun"]));
        let astute = node(0, "astute", Some(&["rabbitmq"]));
        let gone = node(0, "ostf", None);
        let nailgun = node(1, "nailgun", Some(&["postgres"]));
        assert!(waits_for(Kind::Stop, &nailgun, &nginx));
        assert!(!waits_for(Kind::Stop, &nailgun, &astute));
        // Whose dependencies are unknown may depend on anything earlier.
        assert!(waits_for(Kind::Stop, &nailgun, &gone));
        assert!(!waits_for(Kind::Stop, &nginx, &nailgun));
    }
}
