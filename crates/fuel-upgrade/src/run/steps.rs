//! Step planning: the steps and actions `apply` runs (and `plan` shows),
//! computed from the plan and the live state. Once journaled, the list is
//! never recomputed from a half-changed system.

use std::path::{Path, PathBuf};

use fuel_api_client::ClientError;

use crate::adapters::engine::LiveContainer;
use crate::adapters::files;
use crate::adapters::fixtures::{self, FixtureError};
use crate::adapters::master::Master;
use crate::plan::{dependency_levels, Plan};
use crate::run::live::Live;
use crate::state::journal::{Action, ContainerRef, StepId};

/// The steps in order, each with its actions.
pub(crate) type Steps = Vec<(StepId, Vec<Action>)>;

#[derive(Debug, thiserror::Error)]
pub enum StepsError {
    #[error("dependency cycle {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    #[error(transparent)]
    Api(#[from] ClientError),
}

/// `<namespace>-<service>-<release>`.
pub(crate) fn container_name(namespace: &str, service: &str, release: &str) -> String {
    format!("{namespace}-{service}-{release}")
}

/// The steps and actions `apply` runs, from the plan and the live state.
pub(crate) async fn compute(
    plan: &Plan,
    live: &Live,
    namespace: &str,
    root: &Path,
    master: &Master,
) -> Result<Steps, StepsError> {
    let old: Vec<&LiveContainer> = live
        .containers
        .iter()
        .filter(|c| c.running && c.release != plan.release)
        .collect();
    let old_refs: Vec<ContainerRef> = old
        .iter()
        .map(|c| ContainerRef {
            id: c.id.clone(),
            name: c.name.clone(),
            service: c.service.clone(),
            release: c.release.clone(),
        })
        .collect();

    let mut prepare = Vec::new();
    let mut archives: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for s in &plan.services {
        match archives.iter_mut().find(|(a, _)| *a == s.image.archive) {
            Some((_, tags)) => tags.push(s.image.tag.clone()),
            None => archives.push((s.image.archive.clone(), vec![s.image.tag.clone()])),
        }
    }
    for (archive, mut tags) in archives {
        tags.dedup();
        prepare.push(Action::LoadImage { archive, tags });
    }
    for s in &plan.services {
        prepare.push(Action::Create {
            service: s.name.clone(),
            container: container_name(namespace, &s.name, &plan.release),
        });
    }

    // Stop the old in reverse dependency order (dependents first), one
    // level at a time and concurrently within a level.
    let mut switch = Vec::new();
    let old_services: Vec<String> = {
        let mut v: Vec<String> = old.iter().map(|c| c.service.clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let stop_levels = dependency_levels(&old_services, |svc| {
        old.iter()
            .filter(|c| c.service == svc)
            .flat_map(|c| c.depends_on.clone())
            .collect()
    })
    .unwrap_or_else(|_| vec![old_services.clone()]);
    for level in stop_levels.iter().rev() {
        let containers: Vec<ContainerRef> = old_refs
            .iter()
            .filter(|c| level.contains(&c.service))
            .cloned()
            .collect();
        if !containers.is_empty() {
            switch.push(Action::Stop { containers });
        }
    }
    for level in plan.start_levels().map_err(StepsError::Cycle)? {
        let containers = level
            .iter()
            .map(|s| container_name(namespace, s, &plan.release))
            .collect();
        switch.push(Action::Start {
            services: level,
            containers,
        });
    }

    let files = plan
        .files
        .iter()
        .enumerate()
        .map(|(index, a)| Action::File {
            index,
            action: a.clone(),
        })
        .collect();

    let mut fixture_actions = Vec::new();
    if let Some(fx) = &plan.fixtures {
        for r in fixtures::releases(&files::under(root, &fx.openstack_yaml))? {
            if master.find_release(&r.name, &r.version).await?.is_none() {
                fixture_actions.push(Action::Fixture {
                    name: r.name,
                    version: r.version,
                });
            }
        }
    }

    Ok(vec![
        (
            StepId::Backup,
            vec![Action::RecordStart {
                old_containers: old_refs,
            }],
        ),
        (StepId::Prepare, prepare),
        (StepId::Switch, switch),
        (StepId::Files, files),
        (StepId::Fixtures, fixture_actions),
        (
            StepId::Finalize,
            vec![Action::Finalize {
                release: plan.release.clone(),
            }],
        ),
    ])
}
