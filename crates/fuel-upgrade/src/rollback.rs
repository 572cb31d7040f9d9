//! Undoing a journaled run (`rollback`, and the automatic rollback after a
//! failed step): every `started`, `done` or `failed` action, in reverse
//! order, is put back to the prior state the journal recorded before it ran.

use std::time::Instant;

use futures_util::future::try_join_all;

use crate::context::Context;
use crate::error::{ActionError, RunError};
use crate::files;
use crate::journal::{Action, Journal, Prior, Progress, RunStatus};

pub(crate) async fn run(ctx: &Context<'_>, journal: &mut Journal) -> Result<(), RunError> {
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
    for si in (0..journal.steps.len()).rev() {
        let started = Instant::now();
        let mut touched = false;
        for ai in (0..journal.steps[si].actions.len()).rev() {
            let record = journal.steps[si].actions[ai].clone();
            let undoable = matches!(
                record.status,
                Progress::Started | Progress::Done | Progress::Failed
            );
            let Some(prior) = record.prior.filter(|_| undoable) else {
                continue;
            };
            touched = true;
            undo(ctx, &record.action, &prior)
                .await
                .map_err(|source| RunError::Undo {
                    action: record.action.describe(),
                    source: Box::new(source),
                })?;
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
    journal.status = RunStatus::RolledBack;
    ctx.state.save_journal(journal)?;
    ctx.progress.line("rollback done");
    Ok(())
}

async fn undo(ctx: &Context<'_>, action: &Action, prior: &Prior) -> Result<(), ActionError> {
    let engine = ctx.engine;
    match (action, prior) {
        (Action::Create { container, .. }, Prior::Container { existed: false }) => {
            engine.remove(container).await?
        }
        (Action::Stop { .. }, Prior::Running { running }) => {
            try_join_all(running.iter().map(|c| engine.start(c))).await?;
        }
        (Action::Start { containers, .. }, Prior::Running { running }) => {
            try_join_all(
                containers
                    .iter()
                    .filter(|c| !running.contains(c))
                    .map(|c| engine.stop(c, None)),
            )
            .await?;
        }
        (Action::File { .. }, prior @ Prior::Paths { .. }) => files::undo(ctx.root, prior)?,
        (
            Action::Fixture { name, version },
            Prior::Fixture {
                present_before: false,
                created_id,
            },
        ) => {
            let id = match created_id {
                Some(id) => Some(*id),
                None => ctx.master.find_release(name, version).await?.map(|r| r.id),
            };
            if let Some(id) = id {
                ctx.master.delete_release(id).await?;
            }
        }
        (Action::Finalize { .. }, Prior::Deployed { previous }) => {
            ctx.state.save_deployed(previous.as_ref())?
        }
        _ => {}
    }
    Ok(())
}
