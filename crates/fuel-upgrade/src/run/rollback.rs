//! Undoing a journaled run (`rollback`, and the automatic rollback after a
//! failed step): every action a run set out to perform, in reverse order,
//! is put back to the prior state the journal recorded before it ran, and
//! the end state is then verified.
//!
//! Settle, then act (`settle`): an undo never trusts the first answer for an
//! action that was in flight. An old container's stop is waited for (a
//! second stop returns once it has exited) before the container is
//! started; a create or a release registration that may still arrive is
//! watched for, by name, and undone until the action's in-flight window has
//! passed.

use std::time::Instant;

use crate::run::each_to_its_end;

use crate::adapters::files;
use crate::error::{ActionError, RunError};
use crate::run::context::Context;
use crate::run::settle::{repeat_until, window_end};
use crate::run::verify;
use crate::state::journal::{Action, ActionRecord, Journal, Prior, Progress, RunStatus};

/// Undoes the run and verifies the starting state; returns what could not
/// be undone or restored (the journal then stays `rolling-back`, so
/// `rollback` can be run again).
pub(crate) async fn run(ctx: &Context<'_>, journal: &mut Journal) -> Result<Vec<String>, RunError> {
    journal.status = RunStatus::RollingBack;
    ctx.state.save_journal(journal)?;
    ctx.progress.line(format!(
        "rollback of run {} to {} started",
        journal.run_id,
        journal
            .from_release
            .as_deref()
            .unwrap_or("the starting state")
    ));
    // An undo that fails does not stop the others: the rollback gets as
    // close to the starting state as it can and reports what it could not do.
    let mut problems = Vec::new();
    for si in (0..journal.steps.len()).rev() {
        let started = Instant::now();
        let mut touched = false;
        for ai in (0..journal.steps[si].actions.len()).rev() {
            let record = journal.steps[si].actions[ai].clone();
            // An undone action is undone again: a rollback killed half-way
            // may have been killed inside the undo that followed it.
            if record.status == Progress::Pending || record.prior.is_none() {
                continue;
            }
            touched = true;
            if let Err(e) = undo(ctx, &record).await {
                let problem = format!("rollback of {}: {e}", record.action.describe());
                ctx.progress.line(&problem);
                problems.push(problem);
                continue;
            }
            journal.steps[si].actions[ai].status = Progress::Undone;
            ctx.state.save_journal(journal)?;
            ctx.progress.line(format!(
                "{}: undone {}",
                journal.steps[si].id.name(),
                record.action.describe()
            ));
        }
        if touched {
            journal.steps[si].status = Progress::Undone;
            journal.steps[si].elapsed_ms += started.elapsed().as_millis() as u64;
            ctx.state.save_journal(journal)?;
        }
    }
    problems.extend(verify::after_rollback(ctx, journal).await);
    if problems.is_empty() {
        journal.status = RunStatus::RolledBack;
        ctx.state.save_journal(journal)?;
        ctx.progress
            .line("rollback done: the starting state is verified");
    } else {
        journal.error = Some(format!(
            "rollback could not restore: {}; fix it and run `fuel-upgrade rollback` again",
            problems.join("; ")
        ));
        ctx.state.save_journal(journal)?;
        for p in &problems {
            ctx.progress.line(format!("not restored: {p}"));
        }
    }
    Ok(problems)
}

async fn undo(ctx: &Context<'_>, record: &ActionRecord) -> Result<(), ActionError> {
    let engine = ctx.engine;
    let Some(prior) = &record.prior else {
        return Ok(());
    };
    let settle_until = window_end(record);
    let in_flight = settle_until > 0;
    match (&record.action, prior) {
        (Action::Create { container, .. }, Prior::Container { existed: false }) => {
            repeat_until(settle_until, || engine.remove(container)).await?
        }
        (Action::Stop { .. }, Prior::Running { running }) => {
            each_to_its_end(running.iter().map(|c| async move {
                if in_flight {
                    // The killed run's stop may still be under way: a
                    // start now would be answered "already running" and
                    // the container would exit right after.
                    engine.stop(c).await?;
                }
                engine.start(c).await
            }))
            .await?;
        }
        (Action::Start { containers, .. }, Prior::Running { running }) => {
            // Docker serves a start before a later stop of the container,
            // so a stop sent now is not overtaken by a start still in flight.
            repeat_until(settle_until, || async {
                each_to_its_end(
                    containers
                        .iter()
                        .filter(|c| !running.contains(c))
                        .map(|c| engine.stop(c)),
                )
                .await
                .map(drop)
            })
            .await?
        }
        (Action::File { .. }, prior @ Prior::Paths { .. }) => files::undo(ctx.root, prior)?,
        (
            Action::Fixture { name, version },
            Prior::Fixture {
                present_before: false,
                created_id,
            },
        ) => {
            if let Some(id) = created_id {
                ctx.master.delete_release(*id).await?;
            }
            // A registration still in flight arrives under the name.
            repeat_until(settle_until, || async {
                if let Some(r) = ctx.master.find_release(name, version).await? {
                    ctx.master.delete_release(r.id).await?;
                }
                Ok::<(), ActionError>(())
            })
            .await?
        }
        (Action::Finalize { .. }, Prior::Deployed { previous }) => {
            ctx.state.save_deployed(previous.as_ref())?
        }
        _ => {}
    }
    Ok(())
}
