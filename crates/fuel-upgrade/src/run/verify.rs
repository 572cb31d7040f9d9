//! End-state verification: before `rollback` says "rolled back" it checks
//! the starting state the journal recorded (old containers the same ones,
//! running and passing their own probes; what the run created gone; files,
//! links, releases and the deployed record as before), and before `apply`
//! or `resume` says "applied" it checks the plan's result. Each returns what
//! it found wrong, one line each.

use std::path::Path;

use futures_util::future::join_all;

use crate::adapters::engine::Engine;
use crate::adapters::files;
use crate::adapters::health;
use crate::plan::Healthcheck;
use crate::run::context::Context;
use crate::state::journal::{Action, Journal, Prior, Progress};

/// What differs from the starting state after an undo.
pub(crate) async fn after_rollback(ctx: &Context<'_>, journal: &Journal) -> Vec<String> {
    let engine = ctx.engine;
    let mut out = Vec::new();
    let mut probes = Vec::new();
    // Paths an earlier file action changed first (its prior state counts).
    let mut earlier: Vec<&Path> = Vec::new();
    for record in journal.steps.iter().flat_map(|s| &s.actions) {
        let Some(prior) = record
            .prior
            .as_ref()
            .filter(|_| record.status != Progress::Pending)
        else {
            continue;
        };
        match (&record.action, prior) {
            (Action::RecordStart { old_containers }, _) => {
                for c in old_containers {
                    match engine.inspect(&c.name).await {
                        Ok(Some(i)) if i.id != c.id => out.push(format!(
                            "{} is another container (id {}) than the one that ran (id {})",
                            c.name,
                            short(&i.id),
                            short(&c.id)
                        )),
                        Ok(Some(i)) if i.up() => {
                            if let Some(label) = i.health_label() {
                                probes.push((c.name.clone(), label.check, label.host_network));
                            }
                        }
                        Ok(Some(i)) => {
                            out.push(format!("{} is {}; it was running", c.name, i.status))
                        }
                        Ok(None) => out.push(format!("{} is gone; it was running", c.name)),
                        Err(e) => out.push(e.to_string()),
                    }
                }
            }
            (Action::Create { container, .. }, Prior::Container { existed: false }) => {
                match engine.inspect(container).await {
                    Ok(Some(i)) => out.push(format!(
                        "{container} ({}), created by the run, is still there",
                        i.status
                    )),
                    Ok(None) => {}
                    Err(e) => out.push(e.to_string()),
                }
            }
            (Action::Start { containers, .. }, Prior::Running { running }) => {
                for c in containers {
                    match engine.inspect(c).await {
                        Ok(Some(i)) if i.running != running.contains(c) => out.push(format!(
                            "{c} is {}; it was {}",
                            i.status,
                            if running.contains(c) {
                                "running"
                            } else {
                                "not running"
                            }
                        )),
                        Ok(_) => {}
                        Err(e) => out.push(e.to_string()),
                    }
                }
            }
            (Action::File { action, .. }, prior @ Prior::Paths { .. }) => {
                out.extend(files::differences_from_prior(ctx.root, prior, &earlier));
                earlier.extend(action.changed_paths());
            }
            (
                Action::Fixture { name, version },
                Prior::Fixture {
                    present_before: false,
                    ..
                },
            ) => match ctx.master.find_release(name, version).await {
                Ok(Some(r)) => out.push(format!(
                    "release {name} ({version}), registered by the run, is still in the API (id {})",
                    r.id
                )),
                Ok(None) => {}
                Err(e) => out.push(format!("cannot ask the master API: {e}")),
            },
            (Action::Finalize { .. }, Prior::Deployed { previous }) => {
                match ctx.state.load_deployed() {
                    Ok(now) if now == *previous => {}
                    Ok(now) => out.push(format!(
                        "the deployed record says {}, it said {}",
                        release_of(now.as_ref().map(|d| d.release.as_str())),
                        release_of(previous.as_ref().map(|d| d.release.as_str()))
                    )),
                    Err(e) => out.push(e.to_string()),
                }
            }
            _ => {}
        }
    }
    out.extend(healthy(engine, probes).await);
    out
}

/// What differs from the plan's result after a forward run.
pub(crate) async fn after_forward(ctx: &Context<'_>, journal: &Journal) -> Vec<String> {
    let engine = ctx.engine;
    let plan = &journal.plan;
    let mut out = Vec::new();
    let mut probes = Vec::new();
    let file_actions: Vec<_> = plan.files.iter().collect();
    for record in journal.steps.iter().flat_map(|s| &s.actions) {
        match &record.action {
            Action::RecordStart { old_containers } => {
                for c in old_containers {
                    match engine.inspect(&c.name).await {
                        Ok(Some(i)) if i.running => {
                            out.push(format!("{} of the old release is still running", c.name))
                        }
                        Ok(_) => {}
                        Err(e) => out.push(e.to_string()),
                    }
                }
            }
            Action::Start {
                services,
                containers,
            } => {
                for (s, c) in services.iter().zip(containers) {
                    match (engine.inspect(c).await, plan.service(s)) {
                        (Ok(Some(i)), Some(svc)) if i.up() => {
                            probes.push((c.clone(), svc.healthcheck.clone(), svc.host_network()))
                        }
                        (Ok(Some(i)), _) => out.push(format!("{c} is {}, not running", i.status)),
                        (Ok(None), _) => out.push(format!("{c} does not exist")),
                        (Err(e), _) => out.push(e.to_string()),
                    }
                }
            }
            Action::File { index, action } => {
                // A later action may change the same path again: only the
                // last one's result is what stays.
                let later = &file_actions[(*index + 1).min(file_actions.len())..];
                let changed = action.changed_paths();
                if !later
                    .iter()
                    .any(|a| a.changed_paths().iter().any(|p| changed.contains(p)))
                {
                    out.extend(files::differences_from_result(ctx.root, action));
                }
            }
            Action::Fixture { name, version } => {
                match ctx.master.find_release(name, version).await {
                    Ok(Some(_)) => {}
                    Ok(None) => out.push(format!("release {name} ({version}) is not in the API")),
                    Err(e) => out.push(format!("cannot ask the master API: {e}")),
                }
            }
            Action::Finalize { release } => match ctx.state.load_deployed() {
                Ok(Some(d)) if d.release == *release => {}
                Ok(d) => out.push(format!(
                    "the deployed record says {}, not {release}",
                    release_of(d.as_ref().map(|d| d.release.as_str()))
                )),
                Err(e) => out.push(e.to_string()),
            },
            Action::LoadImage { .. } | Action::Create { .. } | Action::Stop { .. } => {}
        }
    }
    out.extend(healthy(engine, probes).await);
    out
}

/// Probes every container concurrently; the ones that fail, one line each.
async fn healthy(engine: &Engine, probes: Vec<(String, Healthcheck, bool)>) -> Vec<String> {
    join_all(probes.iter().map(|(c, check, host)| async move {
        health::wait_healthy(engine, c, check, *host)
            .await
            .err()
            .map(|e| e.to_string())
    }))
    .await
    .into_iter()
    .flatten()
    .collect()
}

fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

fn release_of(release: Option<&str>) -> &str {
    release.unwrap_or("nothing")
}
