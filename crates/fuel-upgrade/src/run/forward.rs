//! Running the journaled steps forward (`apply`, `resume`): for each action,
//! its prior state is captured and journaled as `started` before it runs,
//! and it is journaled `done` after, with the next journal write. Every
//! action is idempotent, so a resumed run re-runs a `started` action with
//! the prior state the killed run recorded (never re-captured from the
//! half-changed system). The switch's stops, and then its starts, go a
//! group at a time (`run::switch`): journaled `started` together, run as
//! one dependency graph, `done` together.

use std::time::Instant;

use crate::adapters::engine::{ContainerSpec, EngineError};
use crate::adapters::files;
use crate::adapters::fixtures;
use crate::error::{ActionError, RunError};
use crate::run::context::Context;
use crate::run::fault;
use crate::run::settle;
use crate::run::switch;
use crate::state::journal::{now_ms, Action, Deployed, Journal, Prior, Progress};

/// Runs every step not yet done (the caller verifies the result and
/// records the run `applied`).
pub(crate) async fn run(ctx: &Context<'_>, journal: &mut Journal) -> Result<(), RunError> {
    let dir = ctx.state.dir.clone();
    for si in 0..journal.steps.len() {
        let step = journal.steps[si].id;
        if journal.steps[si].status == Progress::Done {
            continue;
        }
        fault::point(&fault::before(step), &dir)?;
        let started = Instant::now();
        journal.steps[si].status = Progress::Started;
        ctx.state.save_journal(journal)?;
        ctx.progress.line(format!("{}: started", step.name()));
        let n = journal.steps[si].actions.len();
        let mut ai = 0;
        while ai < n {
            if journal.steps[si].actions[ai].status == Progress::Done {
                ai += 1;
                continue;
            }
            // The switch's stops run as one group, then its starts
            // (`switch`); the rest one action at a time.
            let kind = switch::kind(&journal.steps[si].actions[ai].action);
            let end = match kind {
                Some(kind) => {
                    ai + journal.steps[si].actions[ai..]
                        .iter()
                        .take_while(|a| switch::kind(&a.action) == Some(kind))
                        .count()
                }
                None => ai + 1,
            };
            let result = match kind {
                Some(kind) => group(ctx, journal, si, ai..end, kind).await,
                None => {
                    let action = journal.steps[si].actions[ai].action.clone();
                    one_action(ctx, journal, si, ai, &action)
                        .await
                        .map_err(|e| (ai, e))
                }
            };
            if let Err((failed, source)) = result {
                journal.steps[si].actions[failed].status = Progress::Failed;
                journal.steps[si].status = Progress::Failed;
                journal.steps[si].elapsed_ms += started.elapsed().as_millis() as u64;
                ctx.state.save_journal(journal)?;
                return Err(RunError::Step {
                    step: step.name(),
                    action: journal.steps[si].actions[failed].action.describe(),
                    source: Box::new(source),
                });
            }
            if fault::half_index(n).is_some_and(|half| ai < half && half <= end) {
                fault::point(&fault::half(step), &dir)?;
            }
            ai = end;
        }
        journal.steps[si].status = Progress::Done;
        journal.steps[si].elapsed_ms += started.elapsed().as_millis() as u64;
        ctx.state.save_journal(journal)?;
        ctx.progress.line(format!(
            "{}: done in {:.2}s",
            step.name(),
            started.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// Records the prior state (unless an interrupted run did), runs the action, records it done.
async fn one_action(
    ctx: &Context<'_>,
    journal: &mut Journal,
    si: usize,
    ai: usize,
    action: &Action,
) -> Result<(), ActionError> {
    let step = journal.steps[si].id;
    let t = Instant::now();
    if journal.steps[si].actions[ai].prior.is_none() {
        let prior = capture(ctx, journal, si, ai, action).await?;
        let record = &mut journal.steps[si].actions[ai];
        record.prior = Some(prior);
        record.status = Progress::Started;
        record.started_unix_ms = Some(now_ms());
        ctx.state.save_journal(journal)?;
    } else {
        // A redo: its requests are the ones a later kill may leave in flight.
        let record = &mut journal.steps[si].actions[ai];
        record.status = Progress::Started;
        record.started_unix_ms = Some(now_ms());
        ctx.state.save_journal(journal)?;
    }
    let mut prior = journal.steps[si].actions[ai]
        .prior
        .clone()
        .expect("recorded above");
    perform(ctx, journal, action, &mut prior).await?;
    if ai == 0 {
        fault::point(&fault::unrecorded(step), &ctx.state.dir)?;
    }
    let record = &mut journal.steps[si].actions[ai];
    record.prior = Some(prior);
    record.status = Progress::Done;
    // Not saved here: the next journal write (the next action's `started`,
    // or the step's end) carries it, one fsync fewer per action. A kill
    // before that write finds the action `started`, exactly as a kill
    // during it: resume re-runs it (idempotent), rollback undoes it as in
    // flight.
    ctx.progress.line(format!(
        "{}: {} ({:.2}s)",
        step.name(),
        action.describe(),
        t.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Runs the not-done actions of `range` (the switch's stops, or its
/// starts) as one dependency graph (`switch`): prior states from one
/// listing, `started` in one journal write, `done` together. An error
/// names the failed action's index in the step.
async fn group(
    ctx: &Context<'_>,
    journal: &mut Journal,
    si: usize,
    range: std::ops::Range<usize>,
    kind: switch::Kind,
) -> Result<(), (usize, ActionError)> {
    let step = journal.steps[si].id;
    let first = range.start;
    let pending: Vec<usize> = range
        .filter(|&ai| journal.steps[si].actions[ai].status != Progress::Done)
        .collect();
    let listed = switch::list(ctx.engine, &journal.namespace)
        .await
        .map_err(|e| (first, e))?;
    let now = now_ms();
    for &ai in &pending {
        let record = &mut journal.steps[si].actions[ai];
        // A redo keeps the prior state the killed run recorded.
        if record.prior.is_none() {
            record.prior = Some(listed.prior(&record.action));
        }
        record.status = Progress::Started;
        record.started_unix_ms = Some(now);
    }
    if kind == switch::Kind::Stop && journal.downtime_started_ms.is_none() {
        journal.downtime_started_ms = Some(now);
    }
    ctx.state
        .save_journal(journal)
        .map_err(|e| (first, e.into()))?;
    let actions: Vec<Action> = pending
        .iter()
        .map(|&ai| journal.steps[si].actions[ai].action.clone())
        .collect();
    let finished = switch::perform(ctx.engine, &journal.plan, &listed, kind, &actions)
        .await
        .map_err(|(i, e)| (pending[i], e))?;
    if pending.first() == Some(&0) {
        fault::point(&fault::unrecorded(step), &ctx.state.dir).map_err(|e| (0, e.into()))?;
    }
    let later_start = journal.steps[si].actions[pending.last().map_or(0, |l| l + 1)..]
        .iter()
        .any(|a| matches!(a.action, Action::Start { .. }));
    if kind == switch::Kind::Start && !later_start && journal.downtime_started_ms.is_some() {
        journal.downtime_ended_ms = Some(now_ms());
    }
    // Not saved here, as for one action: the next journal write carries it.
    for (i, &ai) in pending.iter().enumerate() {
        journal.steps[si].actions[ai].status = Progress::Done;
        ctx.progress.line(format!(
            "{}: {} ({:.2}s)",
            step.name(),
            actions[i].describe(),
            finished[i].as_secs_f64()
        ));
    }
    Ok(())
}

/// What the action's undo will need, read before the action runs.
async fn capture(
    ctx: &Context<'_>,
    journal: &Journal,
    si: usize,
    ai: usize,
    action: &Action,
) -> Result<Prior, ActionError> {
    Ok(match action {
        Action::RecordStart { .. } | Action::LoadImage { .. } => Prior::Nothing,
        Action::Create { container, .. } => Prior::Container {
            existed: ctx.engine.running(container).await?.is_some(),
        },
        Action::Stop { .. } | Action::Start { .. } => unreachable!("run as a group: `group`"),
        Action::File { action, .. } => {
            let backup = ctx
                .state
                .backup_dir(&journal.run_id)
                .join(format!("{si}-{ai}"));
            files::capture(ctx.root, action, &backup)?
        }
        Action::Fixture { name, version } => Prior::Fixture {
            present_before: ctx.master.find_release(name, version).await?.is_some(),
            created_id: None,
        },
        Action::Finalize { .. } => Prior::Deployed {
            previous: ctx.state.load_deployed()?,
        },
    })
}

async fn perform(
    ctx: &Context<'_>,
    journal: &Journal,
    action: &Action,
    prior: &mut Prior,
) -> Result<(), ActionError> {
    let plan = &journal.plan;
    let engine = ctx.engine;
    match action {
        Action::RecordStart { .. } => Ok(()),
        Action::LoadImage { archive, tags } => {
            let mut missing = Vec::new();
            for t in tags {
                if !engine.image_present(t).await? {
                    missing.push(t.clone());
                }
            }
            if missing.is_empty() {
                return Ok(());
            }
            engine.load_image(&files::under(ctx.root, archive)).await?;
            for t in missing {
                if !engine.image_present(&t).await? {
                    return Err(ActionError::ImageMissing {
                        archive: archive.clone(),
                        tag: t,
                    });
                }
            }
            Ok(())
        }
        Action::Create { service, container } => {
            if engine.running(container).await?.is_some() {
                return Ok(());
            }
            let svc = plan
                .service(service)
                .ok_or_else(|| ActionError::UnknownService(service.clone()))?;
            let label = format!(
                "{}@{}",
                ctx.plan_file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                &journal.plan_digest[..12.min(journal.plan_digest.len())]
            );
            let spec = ContainerSpec {
                name: container.clone(),
                namespace: &journal.namespace,
                release: &plan.release,
                plan_label: &label,
                service: svc,
                root: ctx.root,
            };
            match engine.create(&spec).await {
                Ok(_) => Ok(()),
                // The killed run's create of this container is still being
                // served: the container it brings is this action's.
                Err(e @ EngineError::NameInUse { .. }) => {
                    if settle::created_by_other_request(engine, container).await? {
                        Ok(())
                    } else {
                        Err(e.into())
                    }
                }
                Err(e) => Err(e.into()),
            }
        }
        Action::Stop { .. } | Action::Start { .. } => unreachable!("run as a group: `group`"),
        Action::File { action, .. } => Ok(files::apply(ctx.root, action)?),
        Action::Fixture { name, version } => {
            let Prior::Fixture {
                present_before,
                created_id,
            } = prior
            else {
                return Err(ActionError::JournalMismatch(action.describe()));
            };
            if *present_before {
                return Ok(());
            }
            let source = plan.fixtures.as_ref().ok_or(ActionError::NoFixtures)?;
            let all = fixtures::releases(&files::under(ctx.root, &source.openstack_yaml))?;
            let release = all
                .into_iter()
                .find(|r| &r.name == name && &r.version == version)
                .ok_or_else(|| ActionError::FixtureGone {
                    name: name.clone(),
                    version: version.clone(),
                    file: source.openstack_yaml.clone(),
                })?;
            let created = ctx.master.create_release(&release).await?;
            *created_id = Some(created.id);
            Ok(())
        }
        Action::Finalize { release } => {
            let deployed = Deployed {
                release: release.clone(),
                namespace: journal.namespace.clone(),
                plan_digest: journal.plan_digest.clone(),
            };
            ctx.state.save_deployed(Some(&deployed))?;
            Ok(())
        }
    }
}
