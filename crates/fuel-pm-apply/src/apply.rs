//! One run of the applier: lock, resolve everything, record the owed
//! after-actions, one transaction, verify, run the after-actions, report.

use std::path::PathBuf;
use std::time::Duration;

use fuel_pm::report::{
    reason, ActionOutcome, ActionResult, Collateral, PackageAction, PackageResult, Recovery,
    Report, Totals, SCHEMA,
};
use fuel_pm::{Document, Provider, Wanted};

use crate::actions::{self, Planned, Tools};
use crate::backend::{
    self, Available, BackendError, Change, Installed, PackageManager, Step, Transaction,
};
use crate::collateral;
use crate::fault;
use crate::lock::{self, LockError};
use crate::resolve::{self, Outcome, Resolved};
use crate::state::{Pending, PendingAction, StateError};
use crate::version::Scheme;

#[derive(Debug, Clone)]
pub struct Options {
    pub backend: PackageManager,
    /// Simulate: report what would change, change nothing (no state file either).
    pub check: bool,
    /// Apply what resolves even when some package does not.
    pub keep_going: bool,
    /// Longest wait for the package manager's lock, each time it is needed.
    pub lock_timeout: Duration,
    pub state_dir: PathBuf,
    pub lock_path: PathBuf,
    /// How long another applier holding `lock_path` is waited for.
    pub applier_wait: Duration,
    pub hostname: String,
    /// The longest an after-action may take when the document gives it no `timeout`.
    pub action_timeout: Duration,
}

/// The run could not be made (exit code 1): nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("package {name} is listed twice in the document; list each package once")]
    Duplicate { name: String },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Applies `document` on this node.
pub fn apply(document: &Document, options: &Options) -> Result<Report, RunError> {
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = document
        .packages
        .iter()
        .find(|p| !seen.insert(p.name.as_str()))
    {
        return Err(RunError::Duplicate {
            name: dup.name.clone(),
        });
    }
    let _lock = lock::acquire_waiting(&options.lock_path, options.applier_wait)?;
    fault::point(fault::AFTER_LOCK, &options.state_dir);
    let pm = backend::for_kind(
        options.backend,
        options.lock_timeout,
        document.any_removals_allowed(),
    );
    if let Some(report) = run(document, options, pm.as_ref(), Path::Direct)? {
        return Ok(report);
    }
    // The direct transaction was refused with nothing changed: the careful
    // path finds out why (offers listed, simulation) and reports it.
    run(
        document,
        options,
        pm.as_ref(),
        Path::Careful { refreshed: true },
    )
    .map(|report| report.expect("the careful path always reports"))
}

/// How a run reaches its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// A real run whose changes are all exact versions and no removal, on a
    /// backend whose transaction refuses by itself, changing nothing, a
    /// version not offered and any removal (apt-get `name=version
    /// --no-remove`): no offer listing and no simulation before it. Refused,
    /// the run goes the careful way, which says why exactly as before.
    Direct,
    /// Offers listed, every package resolved against them, the transaction
    /// simulated and its collateral changes judged before it runs;
    /// `refreshed`: the metadata was refreshed by a direct attempt already.
    Careful { refreshed: bool },
}

/// One attempt at the run; `None` when the direct path was refused with
/// nothing changed.
fn run(
    document: &Document,
    options: &Options,
    pm: &dyn backend::Backend,
    path: Path,
) -> Result<Option<Report>, RunError> {
    let mut pending = Pending::load(&options.state_dir)?;
    let scheme = backend::scheme(options.backend);
    let names: Vec<&str> = document.packages.iter().map(|p| p.name.as_str()).collect();
    // A package manager killed mid-run (OOM killer, power cut) left the
    // database unfinished: repair it first, or every run after fails.
    let recovery = recover(pm, options.check)?;
    // A repair changed the node (exit 2); one that failed is a failure (4).
    let repaired = recovery
        .as_ref()
        .filter(|_| !options.check)
        .map_or(0, |r| Report::exit_code_for(true, !r.ok));
    let finish = |report: Report, collateral: Vec<Collateral>| Report {
        collateral,
        recovery: recovery.clone(),
        exit_code: report.exit_code | repaired,
        ..report
    };

    let installed = pm.installed(&names)?;
    let wanted_from_repos = resolve::needs_repositories(scheme, &document.packages, &installed);
    let mut direct = path == Path::Direct
        && !options.check
        && !document.any_removals_allowed()
        && document.packages.iter().all(|p| match &p.version {
            Wanted::Exact(_) => true,
            Wanted::Absent => !installed.contains_key(&p.name),
            Wanted::Latest => false,
        });
    let listed = if wanted_from_repos.is_empty() {
        Ok(Available::new())
    } else if direct {
        match pm.refresh() {
            Some(refreshed) => refreshed.map(|()| as_offered(document, &wanted_from_repos)),
            None => {
                direct = false;
                pm.available(&wanted_from_repos)
            }
        }
    } else if path == (Path::Careful { refreshed: true }) {
        pm.offered(&wanted_from_repos)
    } else {
        pm.available(&wanted_from_repos)
    };
    let available = match listed {
        Ok(available) => available,
        Err(BackendError::LockTimeout {
            holder,
            waited_secs,
        }) => {
            let message = format!("refreshing the repositories' metadata: the package manager's lock is held by {holder}; gave up after {waited_secs} s (--lock-timeout)");
            let results = document
                .packages
                .iter()
                .map(|p| {
                    failed(
                        &p.name,
                        p.version.as_str(),
                        installed.get(&p.name),
                        reason::LOCK_TIMEOUT,
                        &message,
                    )
                })
                .collect();
            return Ok(Some(finish(
                report(options, results, Vec::new()),
                Vec::new(),
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let resolved = resolve::resolve(scheme, &document.packages, &installed, &available);
    let any_failed = resolved
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. }));
    if any_failed && !options.keep_going {
        return Ok(Some(finish(
            report(options, not_applied(&resolved), Vec::new()),
            Vec::new(),
        )));
    }
    let changes: Vec<Change> = resolved
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Change { step, .. } => Some(Change {
                name: r.name.clone(),
                step: step.clone(),
            }),
            _ => None,
        })
        .collect();
    let tools = Tools::probe(options.action_timeout);

    // The package manager's own simulation: what the transaction would do
    // to every package, named or not (the direct path leaves the refusal
    // to the transaction's own planning).
    let mut everything_before = None;
    let mut collateral = Vec::new();
    let simulated = if changes.is_empty() {
        None
    } else if direct {
        everything_before = Some(pm.installed_all()?);
        None
    } else {
        let all = pm.installed_all()?;
        let simulation = pm.simulate(&changes);
        if let Ok(simulation) = &simulation {
            collateral = collateral::predicted(document, scheme, pm, &all, simulation)?;
        }
        everything_before = Some(all);
        Some(simulation)
    };
    let refused: Vec<&Collateral> = collateral.iter().filter(|c| c.refused).collect();
    if !refused.is_empty() {
        let message = collateral::refusal_message(&refused);
        let results = resolved
            .iter()
            .map(|r| match &r.outcome {
                Outcome::Change { .. } => failed(
                    &r.name,
                    &r.requested,
                    r.before.as_ref(),
                    reason::COLLATERAL_REMOVAL,
                    &message,
                ),
                Outcome::Failed { reason, message } => {
                    failed(&r.name, &r.requested, r.before.as_ref(), reason, message)
                }
                Outcome::Unchanged => unchanged(r),
            })
            .collect();
        return Ok(Some(finish(
            report(options, results, Vec::new()),
            collateral,
        )));
    }
    let simulated = simulated.map(|s| s.map(|s| s.transaction));

    if options.check {
        let results = checked(&resolved, simulated);
        let changing = |name: &str| {
            resolved
                .iter()
                .any(|r| r.name == name && matches!(r.outcome, Outcome::Change { .. }))
        };
        let plan = action_plan(document, pending.actions(), changing);
        let actions = plan
            .iter()
            .filter_map(|p| actions::simulate(p, tools))
            .collect();
        return Ok(Some(finish(report(options, results, actions), collateral)));
    }

    // Record what the transaction may make owed before it runs: a run killed
    // after it leaves them for the next one.
    let previously_pending: Vec<PendingAction> = pending.actions().to_vec();
    let owed_now: Vec<PendingAction> = document
        .packages
        .iter()
        .filter(|p| changes.iter().any(|c| c.name == p.name))
        .flat_map(|p| p.after.iter().map(|a| PendingAction::new(&p.name, a)))
        .collect();
    pending.add(owed_now.iter().cloned())?;

    let transaction = match simulated {
        None if changes.is_empty() => None,
        None => {
            let attempt = pm.transaction_keeping_all(&changes);
            // A lock held past --lock-timeout is reported as it is: the
            // careful path would only wait for it again.
            let refused = match &attempt {
                Some(Ok(t)) => !t.ok,
                Some(Err(_)) => false,
                None => true,
            };
            if refused && Some(pm.installed_all()?) == everything_before {
                // Nothing changed: nothing is owed by this attempt.
                for action in &owed_now {
                    if !previously_pending.contains(action) {
                        pending.clear(action)?;
                    }
                }
                return Ok(None);
            }
            attempt
        }
        // What the simulation refused (or could not ask) is not tried.
        Some(Ok(t)) if !t.ok => Some(Ok(t)),
        Some(Err(e)) => Some(Err(e)),
        Some(Ok(_)) => Some(pm.transaction(&changes)),
    };
    fault::point(fault::AFTER_TRANSACTION, &options.state_dir);
    let after = match (&transaction, &everything_before) {
        (None, _) => installed.clone(),
        (Some(_), Some(before)) => {
            let now = pm.installed_all()?;
            collateral = collateral::outcome(document, scheme, before, &now, &collateral);
            now.into_iter()
                .filter(|(name, _)| names.contains(&name.as_str()))
                .collect()
        }
        (Some(_), None) => pm.installed(&names)?,
    };
    let results = verified(scheme, &resolved, &after, transaction);

    // Owed actions of packages that, in the end, did not change are not owed.
    let changed = |name: &str| {
        results
            .iter()
            .any(|r| r.name == name && r.before != r.after)
    };
    for action in &owed_now {
        if !changed(&action.package) && !previously_pending.contains(action) {
            pending.clear(action)?;
        }
    }
    let plan = action_plan(document, pending.actions(), changed);
    let mut action_results = Vec::new();
    let mut reloaded = false;
    for planned in &plan {
        if planned.owed && planned.action.provider == Provider::Systemd && !reloaded {
            reloaded = true;
            if let Some(problem) = actions::daemon_reload() {
                eprintln!("fuel-pm-apply: {problem}");
            }
        }
        if let Some(result) = actions::perform(planned, tools) {
            let done = result.result == ActionOutcome::Done;
            action_results.push(result);
            if done && planned.owed {
                pending.clear(&planned.action)?;
            }
        }
    }
    Ok(Some(finish(
        report(options, results, action_results),
        collateral,
    )))
}

/// The direct path's offer: exactly the versions the document asks of
/// `names` (all exact), which the transaction itself then proves offered.
fn as_offered(document: &Document, names: &[&str]) -> Available {
    document
        .packages
        .iter()
        .filter(|p| names.contains(&p.name.as_str()))
        .filter_map(|p| match &p.version {
            Wanted::Exact(v) => Some((p.name.clone(), vec![v.clone()])),
            _ => None,
        })
        .collect()
}

/// Finds what a killed package manager run left unfinished and, unless
/// checking, repairs it; what was found and done, for the report.
fn recover(pm: &dyn backend::Backend, check: bool) -> Result<Option<Recovery>, RunError> {
    let Some(found) = pm.interrupted()? else {
        return Ok(None);
    };
    if check {
        return Ok(Some(Recovery {
            found: found.found,
            command: found.command,
            packages: found.packages,
            ok: false,
            output_tail: "check: not run".to_string(),
        }));
    }
    let ran = pm.recover(&found)?;
    // Repaired only if nothing is left unfinished.
    let left = pm.interrupted()?;
    let ok = ran.success() && left.is_none();
    eprintln!(
        "fuel-pm-apply: {}: ran {} ({})",
        found.found,
        found.command,
        if ok { "repaired" } else { "NOT repaired" }
    );
    let mut output_tail = ran.tail();
    if let Some(left) = left {
        output_tail.push_str(&format!("\nstill unfinished: {}", left.found));
    }
    Ok(Some(Recovery {
        found: found.found,
        command: found.command,
        packages: found.packages,
        ok,
        output_tail,
    }))
}

/// This run's after-actions, in order: those still owed from an earlier run
/// (unless this run owes them too), then each document package's in document
/// order, owed when `changed` says the package changed, else states to keep.
fn action_plan(
    document: &Document,
    pending: &[PendingAction],
    changed: impl Fn(&str) -> bool,
) -> Vec<Planned> {
    let mut plan: Vec<Planned> = Vec::new();
    let mut this_run: Vec<Planned> = Vec::new();
    for p in &document.packages {
        let owed = changed(&p.name);
        for a in &p.after {
            let action = PendingAction::new(&p.name, a);
            // A pending action is owed whatever the package does now.
            let owed = owed || pending.contains(&action);
            this_run.push(Planned { action, owed });
        }
    }
    for action in pending {
        if !this_run.iter().any(|p| &p.action == action) {
            plan.push(Planned {
                action: action.clone(),
                owed: true,
            });
        }
    }
    plan.extend(this_run);
    plan
}

fn failed(
    name: &str,
    requested: &str,
    before: Option<&String>,
    code: &str,
    message: &str,
) -> PackageResult {
    PackageResult {
        name: name.to_string(),
        requested: requested.to_string(),
        before: before.cloned(),
        after: before.cloned(),
        action: PackageAction::Failed,
        reason: Some(code.to_string()),
        message: Some(message.to_string()),
    }
}

fn unchanged(r: &Resolved) -> PackageResult {
    PackageResult {
        name: r.name.clone(),
        requested: r.requested.clone(),
        before: r.before.clone(),
        after: r.before.clone(),
        action: PackageAction::Unchanged,
        reason: None,
        message: None,
    }
}

fn target(step: &Step) -> Option<String> {
    match step {
        Step::Install(v) => Some(v.clone()),
        Step::Remove => None,
    }
}

/// Resolution failed somewhere and --keep-going was not given: the failures,
/// and every other package left as it was.
fn not_applied(resolved: &[Resolved]) -> Vec<PackageResult> {
    let blockers: Vec<&str> = resolved
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed { .. }))
        .map(|r| r.name.as_str())
        .collect();
    resolved
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Failed { reason, message } => failed(&r.name, &r.requested, r.before.as_ref(), reason, message),
            Outcome::Unchanged => unchanged(r),
            Outcome::Change { action, step } => PackageResult {
                reason: Some(reason::NOT_APPLIED.to_string()),
                message: Some(format!(
                    "would be {}{}, but nothing was changed because {} could not be resolved (--keep-going applies the rest)",
                    action.as_str(),
                    target(step).map(|v| format!(" to {v}")).unwrap_or_default(),
                    blockers.join(", ")
                )),
                ..unchanged(r)
            },
        })
        .collect()
}

/// Check mode: what would change; a simulation the package manager refused
/// fails every package it carried.
fn checked(
    resolved: &[Resolved],
    simulated: Option<Result<Transaction, BackendError>>,
) -> Vec<PackageResult> {
    let refusal = match simulated {
        Some(Ok(t)) if !t.ok => Some((
            reason::TRANSACTION_FAILED,
            format!("{} refused the transaction: {}", t.line, t.output_tail),
        )),
        Some(Err(e @ BackendError::LockTimeout { .. })) => {
            Some((reason::LOCK_TIMEOUT, e.to_string()))
        }
        Some(Err(e)) => Some((reason::TRANSACTION_FAILED, e.to_string())),
        _ => None,
    };
    resolved
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Failed { reason, message } => {
                failed(&r.name, &r.requested, r.before.as_ref(), reason, message)
            }
            Outcome::Unchanged => unchanged(r),
            Outcome::Change { step, action } => match &refusal {
                Some((code, message)) => {
                    failed(&r.name, &r.requested, r.before.as_ref(), code, message)
                }
                None => PackageResult {
                    after: target(step),
                    action: *action,
                    ..unchanged(r)
                },
            },
        })
        .collect()
}

/// After the transaction: each package's installed version read back and
/// compared with what was wanted, by the backend's ordering.
fn verified(
    scheme: Scheme,
    resolved: &[Resolved],
    after: &Installed,
    transaction: Option<Result<Transaction, BackendError>>,
) -> Vec<PackageResult> {
    let failure = match &transaction {
        Some(Ok(t)) if !t.ok => Some((
            reason::TRANSACTION_FAILED,
            format!("{} failed: {}", t.line, t.output_tail),
        )),
        Some(Err(e @ BackendError::LockTimeout { .. })) => {
            Some((reason::LOCK_TIMEOUT, e.to_string()))
        }
        Some(Err(e)) => Some((reason::TRANSACTION_FAILED, e.to_string())),
        _ => None,
    };
    let same = |a: Option<&String>, b: Option<&String>| match (a, b) {
        (Some(a), Some(b)) => scheme.same(a, b),
        (None, None) => true,
        _ => false,
    };
    let shown = |v: Option<&String>| v.cloned().unwrap_or_else(|| "not installed".into());
    resolved
        .iter()
        .map(|r| {
            let now = after.get(&r.name);
            let read_back = PackageResult {
                after: now.cloned(),
                ..unchanged(r)
            };
            match &r.outcome {
                Outcome::Failed { reason, message } => PackageResult {
                    action: PackageAction::Failed,
                    reason: Some(reason.to_string()),
                    message: Some(message.clone()),
                    ..read_back
                },
                Outcome::Unchanged if same(now, r.before.as_ref()) => read_back,
                Outcome::Unchanged => PackageResult {
                    action: PackageAction::Failed,
                    reason: Some(reason::VERIFY_MISMATCH.to_string()),
                    message: Some(format!(
                        "{} was {} and should have stayed so; the transaction left {}",
                        r.name,
                        shown(r.before.as_ref()),
                        shown(now)
                    )),
                    ..read_back
                },
                Outcome::Change { step, action } => {
                    let wanted = target(step);
                    if same(now, wanted.as_ref()) {
                        PackageResult { action: *action, ..read_back }
                    } else if let Some((code, message)) = &failure {
                        PackageResult {
                            action: PackageAction::Failed,
                            reason: Some(code.to_string()),
                            message: Some(message.clone()),
                            ..read_back
                        }
                    } else {
                        PackageResult {
                            action: PackageAction::Failed,
                            reason: Some(reason::VERIFY_MISMATCH.to_string()),
                            message: Some(format!(
                                "the package manager reported success, but {} is {} where {} was wanted",
                                r.name,
                                shown(now),
                                shown(wanted.as_ref())
                            )),
                            ..read_back
                        }
                    }
                }
            }
        })
        .collect()
}

fn report(options: &Options, packages: Vec<PackageResult>, actions: Vec<ActionResult>) -> Report {
    let count = |f: &dyn Fn(&PackageResult) -> bool| packages.iter().filter(|p| f(p)).count();
    let totals = Totals {
        changed: count(&|p| {
            matches!(
                p.action,
                PackageAction::Installed
                    | PackageAction::Upgraded
                    | PackageAction::Downgraded
                    | PackageAction::Removed
            )
        }),
        unchanged: count(&|p| p.action == PackageAction::Unchanged),
        failed: count(&|p| p.action == PackageAction::Failed),
        actions_run: actions
            .iter()
            .filter(|a| a.result != ActionOutcome::Failed)
            .count(),
        actions_failed: actions
            .iter()
            .filter(|a| a.result == ActionOutcome::Failed)
            .count(),
    };
    let exit_code = Report::exit_code_for(
        totals.changed > 0 || totals.actions_run > 0,
        totals.failed > 0 || totals.actions_failed > 0,
    );
    Report {
        schema: SCHEMA,
        hostname: options.hostname.clone(),
        backend: options.backend.as_str().to_string(),
        check: options.check,
        packages,
        actions,
        totals,
        exit_code,
        collateral: Vec::new(),
        recovery: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fuel_pm::{After, Ensure, Package, Wanted};

    fn resolved(name: &str, before: Option<&str>, outcome: Outcome) -> Resolved {
        Resolved {
            name: name.into(),
            requested: "latest".into(),
            before: before.map(Into::into),
            outcome,
        }
    }

    fn upgrade(to: &str) -> Outcome {
        Outcome::Change {
            step: Step::Install(to.into()),
            action: PackageAction::Upgraded,
        }
    }

    fn ok() -> Option<Result<Transaction, BackendError>> {
        Some(Ok(Transaction {
            ok: true,
            line: "apt-get install".into(),
            output_tail: String::new(),
        }))
    }

    #[test]
    fn verify_accepts_what_was_wanted_by_the_backend_ordering() {
        let r = [resolved("e", Some("1.0-1"), upgrade("1:0.9-1"))];
        let after: Installed = [("e".to_string(), "1:0.9-01".to_string())].into();
        let results = verified(Scheme::Dpkg, &r, &after, ok());
        assert_eq!(results[0].action, PackageAction::Upgraded);
        assert_eq!(results[0].after.as_deref(), Some("1:0.9-01"));
    }

    #[test]
    fn a_successful_transaction_that_left_another_version_is_a_verify_mismatch() {
        let r = [
            resolved("d", Some("1.0-1"), upgrade("2.0-1")),
            resolved("t", Some("1.0-1"), Outcome::Unchanged),
        ];
        let after: Installed = [("d".to_string(), "1.0-1".to_string())].into();
        let results = verified(Scheme::Rpm, &r, &after, ok());
        assert_eq!(results[0].action, PackageAction::Failed);
        assert_eq!(results[0].reason.as_deref(), Some("verify_mismatch"));
        assert!(
            results[0].message.as_ref().unwrap().contains("2.0-1"),
            "{:?}",
            results[0].message
        );
        // t vanished although it was to stay: also a mismatch, never a silent success.
        assert_eq!(results[1].reason.as_deref(), Some("verify_mismatch"));
    }

    #[test]
    fn a_failed_transaction_keeps_what_did_change() {
        let r = [
            resolved("a", Some("1.0-1"), upgrade("2.0-1")),
            resolved("b", Some("1.0-1"), upgrade("2.0-1")),
        ];
        let after: Installed = [
            ("a".to_string(), "2.0-1".to_string()),
            ("b".to_string(), "1.0-1".to_string()),
        ]
        .into();
        let failed = Some(Ok(Transaction {
            ok: false,
            line: "dnf shell".into(),
            output_tail: "Error: boom".into(),
        }));
        let results = verified(Scheme::Rpm, &r, &after, failed);
        assert_eq!(results[0].action, PackageAction::Upgraded);
        assert_eq!(results[1].action, PackageAction::Failed);
        assert_eq!(results[1].reason.as_deref(), Some("transaction_failed"));
        assert!(results[1].message.as_ref().unwrap().contains("Error: boom"));
    }

    #[test]
    fn when_one_package_cannot_be_resolved_the_others_are_not_applied() {
        let r = [
            resolved("d", Some("1.0-1"), upgrade("2.0-1")),
            resolved("ok", Some("1.0-1"), Outcome::Unchanged),
            resolved(
                "nope",
                None,
                Outcome::Failed {
                    reason: "not_found",
                    message: "nope is not installed".into(),
                },
            ),
        ];
        let results = not_applied(&r);
        assert_eq!(results[0].action, PackageAction::Unchanged);
        assert_eq!(results[0].reason.as_deref(), Some("not_applied"));
        assert_eq!(results[0].after.as_deref(), Some("1.0-1"));
        assert!(results[0].message.as_ref().unwrap().contains("nope"));
        assert_eq!(results[1].reason, None);
        assert_eq!(results[2].action, PackageAction::Failed);
    }

    #[test]
    fn pending_actions_come_first_and_owed_whatever_the_package_does() {
        let doc = Document {
            packages: vec![Package {
                name: "d".into(),
                version: Wanted::Latest,
                after: vec![After {
                    provider: Provider::Systemd,
                    ensure: Ensure::Running,
                    name: "d".into(),
                    timeout: None,
                }],
                allow_removals: false,
                line: 0,
            }],
            allow_removals: false,
        };
        let leftover = PendingAction {
            package: "gone".into(),
            provider: Provider::Exec,
            ensure: Ensure::Running,
            name: "true".into(),
            timeout: None,
        };
        let owed_d = PendingAction::new("d", &doc.packages[0].after[0]);
        let plan = action_plan(&doc, std::slice::from_ref(&leftover), |_| false);
        assert_eq!(
            plan,
            [
                Planned {
                    action: leftover.clone(),
                    owed: true
                },
                Planned {
                    action: owed_d.clone(),
                    owed: false
                }
            ]
        );
        let plan = action_plan(&doc, std::slice::from_ref(&owed_d), |_| false);
        assert_eq!(
            plan,
            [Planned {
                action: owed_d.clone(),
                owed: true
            }],
            "not twice"
        );
        let plan = action_plan(&doc, &[], |n| n == "d");
        assert_eq!(
            plan,
            [Planned {
                action: owed_d,
                owed: true
            }]
        );
    }

    #[test]
    fn exit_codes_follow_puppets_detailed_exitcodes() {
        let options = Options {
            backend: PackageManager::Apt,
            check: false,
            keep_going: false,
            lock_timeout: Duration::from_secs(1),
            state_dir: "/nonexistent".into(),
            lock_path: "/nonexistent".into(),
            applier_wait: Duration::ZERO,
            hostname: "node-1".into(),
            action_timeout: Duration::from_secs(1),
        };
        let p = |action| PackageResult {
            name: "x".into(),
            requested: "latest".into(),
            before: None,
            after: None,
            action,
            reason: None,
            message: None,
        };
        assert_eq!(
            report(&options, vec![p(PackageAction::Unchanged)], vec![]).exit_code,
            0
        );
        assert_eq!(
            report(&options, vec![p(PackageAction::Installed)], vec![]).exit_code,
            2
        );
        assert_eq!(
            report(&options, vec![p(PackageAction::Failed)], vec![]).exit_code,
            4
        );
        let r = report(
            &options,
            vec![p(PackageAction::Removed), p(PackageAction::Failed)],
            vec![],
        );
        assert_eq!(r.exit_code, 6);
        assert_eq!((r.totals.changed, r.totals.failed), (1, 1));
        assert_eq!(r.schema, 1);
    }
}
