//! A package task's rollout as fuel-api runs it: the request's `batch`,
//! `max_failures` and `order_by_role` parsed, and the nodes' sub-tasks
//! planned batch by batch (the planning itself is
//! `fuel_pm_tasks::rollout`, pure and unit-tested).

use fuel_api_client::{DeployTasks, Node};
use fuel_pm_tasks::rollout::{PlanNode, Rollout};
use fuel_pm_tasks::SubTask;

use crate::package_tasks::StartError;
use crate::store::PlannedSubTask;

/// The request's rollout fields, parsed (400 naming the field otherwise).
pub fn rollout_of(request: &DeployTasks) -> Result<Rollout, StartError> {
    let invalid = |field: &'static str| {
        move |e: fuel_pm_tasks::rollout::RolloutError| StartError::Rollout {
            field,
            message: e.to_string(),
        }
    };
    Ok(Rollout {
        batch: request
            .batch
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(invalid("batch"))?,
        max_failures: request
            .max_failures
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(invalid("max_failures"))?,
        order_by_role: request.order_by_role,
    })
}

/// The batches (node ids, in run order) and every node's sub-tasks in that
/// order, each with its batch when the task is a rollout. `nodes` is in the
/// requested order: a rollout's explicit order.
pub fn plan<'a>(
    rollout: &Rollout,
    nodes: &'a [Node],
    run: &[SubTask],
) -> (Vec<Vec<i64>>, Vec<PlannedSubTask<'a>>) {
    let batches = rollout.plan(
        &nodes
            .iter()
            .map(|n| PlanNode {
                id: n.id,
                roles: &n.roles,
            })
            .collect::<Vec<_>>(),
    );
    let is_rollout = *rollout != Rollout::default();
    let mut planned = Vec::with_capacity(nodes.len() * run.len());
    for (index, batch) in batches.iter().enumerate() {
        for id in batch {
            let Some(node) = nodes.iter().find(|n| n.id == *id) else {
                continue;
            };
            for subtask in run {
                planned.push(PlannedSubTask {
                    node_id: node.id,
                    hostname: &node.hostname,
                    subtask: subtask.as_str(),
                    batch: is_rollout.then_some(index as u32),
                });
            }
        }
    }
    (batches, planned)
}
