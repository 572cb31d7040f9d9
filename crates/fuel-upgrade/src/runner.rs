//! The commands: plan, apply, resume, rollback, status, cleanup. Each takes
//! the run lock, reads the plan or the journal, and hands the work to
//! `forward` (steps forward) or `rollback` (exact undo).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::adapters::engine::Engine;
use crate::adapters::master::Master;
use crate::adapters::release_packages::ReleasePackages;
use crate::error::RunError;
use crate::outcome::Outcome;
use crate::plan::preflight::{self, Check};
use crate::plan::Plan;
use crate::report::{ProgressLog, Report};
use crate::run::context::Context;
use crate::run::fault;
use crate::run::forward;
use crate::run::live::Live;
use crate::run::rollback;
use crate::run::steps::{self, Steps};
use crate::run::verify;
use crate::state::journal::{now_ms, Journal, RunStatus, FORMAT};
use crate::state::{Attempt, AttemptGuard, RunLock, StateDir, StateError};
use crate::status::{ContainerStatus, Status};

/// Where and how a command runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// File actions, volumes, archives and the state directory are under it.
    pub root: PathBuf,
    pub plan: PathBuf,
    /// Label value that groups one master node's containers (tests use one each).
    pub namespace: String,
    pub api_url: String,
    pub api_token: Option<String>,
    pub force: bool,
    pub no_rollback: bool,
    pub log: PathBuf,
    pub quiet: bool,
}

/// Default log file under the root.
pub fn default_log(root: &Path) -> PathBuf {
    root.join("var/log/fuel-upgrade.log")
}

pub struct Runner {
    opts: Options,
    state: StateDir,
    progress: ProgressLog,
    /// The fuel-release packages under the root, checked before `apply` and
    /// acted on after `rollback` and `cleanup`.
    packages: ReleasePackages,
}

/// Everything up to the first change: lock, plan, journal, engine, live
/// state, preflight, steps.
struct Prepared<'a> {
    lock: Option<RunLock>,
    /// The run id of an apply, written to the attempt marker first thing.
    run_id: String,
    _attempt: Option<AttemptGuard<'a>>,
    plan: Plan,
    journal: Option<Journal>,
    master: Master,
    engine: Option<Engine>,
    live: Option<Live>,
    checks: Vec<Check>,
    steps: Option<Steps>,
}

impl Runner {
    pub fn new(opts: Options) -> Runner {
        let state = StateDir::under(&opts.root);
        let progress = ProgressLog::new(opts.log.clone(), opts.quiet);
        let packages = ReleasePackages::under(&opts.root);
        Runner {
            opts,
            state,
            progress,
            packages,
        }
    }

    fn report(&self, command: &str, outcome: Outcome) -> Report {
        Report::new(
            command,
            outcome,
            &self.opts.namespace,
            self.progress.log_path.clone(),
        )
    }

    fn master(&self) -> Result<Master, RunError> {
        Ok(Master::new(
            &self.opts.api_url,
            self.opts.api_token.as_deref(),
        )?)
    }

    fn context<'a>(&'a self, engine: &'a Engine, master: &'a Master) -> Context<'a> {
        Context {
            root: &self.opts.root,
            plan_file: &self.opts.plan,
            state: &self.state,
            progress: &self.progress,
            engine,
            master,
        }
    }

    fn plan_digest(&self) -> String {
        let bytes = std::fs::read(&self.opts.plan).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// `attempt`: an apply, which marks its attempt as soon as it holds the lock.
    async fn prepare_run(&self, command: &str, attempt: bool) -> Result<Prepared<'_>, RunError> {
        let (lock, lock_error) = match self.state.lock(command) {
            Ok(l) => (Some(l), None),
            Err(e @ StateError::Locked { .. }) => (None, Some(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let run_id = format!("{}-{}", now_ms(), std::process::id());
        let mut guard = None;
        if attempt && lock.is_some() {
            guard = Some(AttemptGuard(&self.state));
            self.state.begin_attempt(&Attempt {
                run_id: run_id.clone(),
                pid: std::process::id(),
                started_unix_ms: now_ms(),
            })?;
        }
        let plan = Plan::load(&self.opts.plan)?;
        let journal = self.state.load_journal()?;
        let master = self.master()?;
        let (engine, engine_error) = match Engine::connect().await {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let live = match &engine {
            Some(e) => Some(Live::discover(&self.state, e, &self.opts.namespace).await?),
            None => None,
        };
        let checks = preflight::run_all(preflight::Inputs {
            plan: &plan,
            root: &self.opts.root,
            state_dir: &self.state.dir,
            engine: engine
                .as_ref()
                .ok_or(engine_error.as_deref().unwrap_or("no engine")),
            current: live.as_ref().and_then(|l| l.current.as_deref()),
            lock_error,
            journal: journal.as_ref(),
            master: &master,
            force: self.opts.force,
        })
        .await;
        let steps = match &live {
            Some(l) => steps::compute(&plan, l, &self.opts.namespace, &self.opts.root, &master)
                .await
                .ok(),
            None => None,
        };
        Ok(Prepared {
            lock,
            run_id,
            _attempt: guard,
            plan,
            journal,
            master,
            engine,
            live,
            checks,
            steps,
        })
    }

    /// `fuel-upgrade plan`: what apply would do now, and the fault-injection
    /// points a run of it passes.
    pub async fn plan(&self) -> Result<(Report, Vec<String>), RunError> {
        let p = self.prepare_run("plan", false).await?;
        let mut report = self.report("plan", Outcome::Plan);
        report.from_release = p.live.as_ref().and_then(|l| l.current.clone());
        report.to_release = Some(p.plan.release.clone());
        report.preflight = p.checks;
        let steps = p.steps.unwrap_or_default();
        let points = fault::points(&steps);
        Ok((report.with_planned(&Journal::steps_from(steps)), points))
    }

    /// `fuel-upgrade apply`: refused, naming the command to run, when a
    /// newer release's fuel-release is installed but not its packages (the
    /// plan is still the old release's, so apply would only say "nothing to
    /// do"). A plan that does not load is reported by `prepare_run`.
    pub async fn apply(&self) -> Result<Report, RunError> {
        if let Ok(plan) = Plan::load(&self.opts.plan) {
            self.packages.check_plan_is_newest(&plan.release)?;
        }
        let p = self.prepare_run("apply", true).await?;
        let mut report = self.report("apply", Outcome::PreflightFailed);
        report.to_release = Some(p.plan.release.clone());
        report.from_release = p.live.as_ref().and_then(|l| l.current.clone());
        if let (Some(_), Some(live)) = (&p.lock, &p.live) {
            let settled = p
                .journal
                .as_ref()
                .map(|j| !j.status.is_interrupted())
                .unwrap_or(true);
            if settled
                && live
                    .deployed
                    .as_ref()
                    .map(|d| d.release == p.plan.release)
                    .unwrap_or(false)
            {
                report.outcome = Outcome::NothingToDo;
                self.progress.line(format!(
                    "release {} is deployed already: nothing to do",
                    p.plan.release
                ));
                return Ok(report);
            }
        }
        let blocking: Vec<&Check> = p.checks.iter().filter(|c| c.blocks()).collect();
        for c in &p.checks {
            if !c.passed {
                self.progress.line(format!(
                    "preflight {}: {}{}",
                    c.id,
                    c.message,
                    if c.overridden {
                        " (overridden by --force)"
                    } else {
                        ""
                    }
                ));
            }
        }
        if !blocking.is_empty() {
            report.error = Some(format!(
                "{} preflight check(s) failed: {}; nothing was changed",
                blocking.len(),
                blocking
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            report.preflight = p.checks;
            return Ok(report);
        }
        report.preflight = p.checks.clone();
        let (Some(engine), Some(steps)) = (p.engine.clone(), p.steps.clone()) else {
            return Err(RunError::NoSteps);
        };
        let live = p.live.as_ref().expect("engine answered");
        let mut journal = Journal {
            format: FORMAT,
            run_id: p.run_id.clone(),
            plan_file: self.opts.plan.clone(),
            plan_digest: self.plan_digest(),
            plan: p.plan.clone(),
            namespace: self.opts.namespace.clone(),
            from_release: live.current.clone(),
            to_release: p.plan.release.clone(),
            status: RunStatus::Applying,
            started_unix_ms: now_ms(),
            steps: Journal::steps_from(steps),
            downtime_started_ms: None,
            downtime_ended_ms: None,
            error: None,
        };
        self.state.save_journal(&journal)?;
        self.progress.line(format!(
            "upgrade {} -> {} started (run {}, namespace {})",
            journal.from_release.as_deref().unwrap_or("none"),
            journal.to_release,
            journal.run_id,
            self.opts.namespace
        ));
        let (outcome, problems) = self
            .forward_or_rollback(&self.context(&engine, &p.master), &mut journal)
            .await?;
        let mut report = self.report("apply", outcome).with_journal(&journal);
        report.preflight = p.checks;
        report.problems = problems;
        Ok(report)
    }

    /// An apply killed before it wrote its journal (the journal, if any, is
    /// the previous run's): reported, and its marker cleared.
    fn killed_before_journal(
        &self,
        command: &str,
        journal: Option<&Journal>,
    ) -> Result<Option<Report>, RunError> {
        let Some(attempt) = self.state.load_attempt()? else {
            return Ok(None);
        };
        if journal.is_some_and(|j| j.run_id == attempt.run_id) {
            // Its journal took over.
            self.state.clear_attempt()?;
            return Ok(None);
        }
        let (outcome, what) = match command {
            "resume" => (
                Outcome::NotStarted,
                "nothing to resume: run `fuel-upgrade apply`",
            ),
            _ => (Outcome::NothingToDo, "nothing to undo"),
        };
        let message = format!(
            "the apply run {} (pid {}) was stopped before it changed anything (it had not written its journal): {what}",
            attempt.run_id, attempt.pid
        );
        self.progress.line(&message);
        self.state.clear_attempt()?;
        let mut report = self.report(command, outcome);
        report.message = Some(message);
        Ok(Some(report))
    }

    /// `fuel-upgrade resume`: finishes an interrupted run.
    pub async fn resume(&self) -> Result<Report, RunError> {
        let _lock = self.state.lock("resume")?;
        let journal = self.state.load_journal()?;
        if let Some(report) = self.killed_before_journal("resume", journal.as_ref())? {
            return Ok(report);
        }
        // No run under way (none on record, or the last one rolled back, as
        // after an apply killed before it even marked its attempt): the
        // master is at its starting state and only `apply` moves it.
        let Some(mut journal) = journal else {
            let mut report = self.report("resume", Outcome::NotStarted);
            report.message = Some(
                "no upgrade run is on record: nothing to resume: run `fuel-upgrade apply`".into(),
            );
            return Ok(report);
        };
        match journal.status {
            RunStatus::Applied | RunStatus::RolledBack => {
                let (outcome, next) = if journal.status == RunStatus::Applied {
                    (Outcome::NothingToDo, "")
                } else {
                    (Outcome::NotStarted, ": run `fuel-upgrade apply`")
                };
                let message = format!(
                    "the last run {} is {:?}: nothing to resume{next}",
                    journal.run_id, journal.status
                );
                self.progress.line(&message);
                let mut report = self.report("resume", outcome).with_journal(&journal);
                report.message = Some(message);
                return Ok(report);
            }
            RunStatus::RollingBack => {
                return Err(RunError::RollbackUnfinished {
                    run_id: journal.run_id,
                })
            }
            RunStatus::Applying | RunStatus::Failed => {}
        }
        let engine = Engine::connect().await?;
        let master = self.master()?;
        journal.status = RunStatus::Applying;
        journal.error = None;
        self.progress.line(format!(
            "resuming run {} ({} -> {})",
            journal.run_id,
            journal.from_release.as_deref().unwrap_or("none"),
            journal.to_release
        ));
        let (outcome, problems) = self
            .forward_or_rollback(&self.context(&engine, &master), &mut journal)
            .await?;
        let mut report = self.report("resume", outcome).with_journal(&journal);
        report.problems = problems;
        Ok(report)
    }

    /// `fuel-upgrade rollback`: exact undo of the journaled run. The older
    /// release's repositories are still configured (nothing is erased); the
    /// log says how to return the newer release's packages too.
    pub async fn rollback(&self) -> Result<Report, RunError> {
        let report = self.undo().await?;
        if let Some(deployed) = self.deployed_release()? {
            if let Some(advice) = self.packages.after_rollback_advice(&deployed)? {
                self.progress.line(advice);
            }
        }
        Ok(report)
    }

    /// The release fuel-upgrade records as deployed, whatever the namespace.
    fn deployed_release(&self) -> Result<Option<String>, RunError> {
        Ok(self.state.load_deployed()?.map(|d| d.release))
    }

    async fn undo(&self) -> Result<Report, RunError> {
        let _lock = self.state.lock("rollback")?;
        let journal = self.state.load_journal()?;
        if let Some(report) = self.killed_before_journal("rollback", journal.as_ref())? {
            return Ok(report);
        }
        // An apply killed even before it marked its attempt leaves no trace
        // but the previous run's journal: the operator still reads why
        // there is nothing to do.
        let Some(mut journal) = journal else {
            let mut report = self.report("rollback", Outcome::NothingToDo);
            report.message = Some("no upgrade run is on record: nothing to undo".into());
            return Ok(report);
        };
        if journal.status == RunStatus::RolledBack {
            let mut report = self
                .report("rollback", Outcome::NothingToDo)
                .with_journal(&journal);
            report.message = Some(format!(
                "the last run {} is already rolled back: nothing to undo",
                journal.run_id
            ));
            return Ok(report);
        }
        let engine = Engine::connect().await?;
        let master = self.master()?;
        let problems = rollback::run(&self.context(&engine, &master), &mut journal).await?;
        let outcome = if problems.is_empty() {
            Outcome::RolledBack
        } else {
            Outcome::RollbackIncomplete
        };
        let mut report = self.report("rollback", outcome).with_journal(&journal);
        report.problems = problems;
        Ok(report)
    }

    /// Runs the remaining steps and verifies the result; on a failure rolls
    /// back, unless `--no-rollback`. The outcome, and what a rollback could
    /// not restore.
    async fn forward_or_rollback(
        &self,
        ctx: &Context<'_>,
        journal: &mut Journal,
    ) -> Result<(Outcome, Vec<String>), RunError> {
        let result = match forward::run(ctx, journal).await {
            Ok(()) => {
                let problems = verify::after_forward(ctx, journal).await;
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(RunError::NotAsPlanned { problems })
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                journal.status = RunStatus::Applied;
                self.state.save_journal(journal)?;
                self.progress.line(format!(
                    "upgrade to {} done: the result is verified",
                    journal.to_release
                ));
                fault::point(fault::END, &self.state.dir)?;
                Ok((Outcome::Applied, Vec::new()))
            }
            Err(e) => {
                self.progress.line(format!("step failed: {e}"));
                journal.error = Some(e.to_string());
                if self.opts.no_rollback {
                    journal.status = RunStatus::Failed;
                    self.state.save_journal(journal)?;
                    self.progress.line("--no-rollback: changes kept; run `fuel-upgrade resume` or `fuel-upgrade rollback`");
                    Ok((Outcome::Failed, Vec::new()))
                } else {
                    self.progress.line("rolling back automatically");
                    let problems = rollback::run(ctx, journal).await?;
                    let outcome = if problems.is_empty() {
                        Outcome::RolledBackAfterFailure
                    } else {
                        Outcome::RollbackIncomplete
                    };
                    Ok((outcome, problems))
                }
            }
        }
    }

    /// `fuel-upgrade cleanup`: removes the stopped containers of other
    /// releases, the backups and the journal of a finished run, then retires
    /// the releases older than the deployed one (their fuel-release erased,
    /// so their repositories go).
    pub async fn cleanup(&self) -> Result<Report, RunError> {
        let report = self.clean().await?;
        if let Some(deployed) = self.deployed_release()? {
            for name in self.packages.retire_older(&deployed)? {
                self.progress.line(format!(
                    "erased {name}: its repositories are no longer configured (release {deployed} is deployed)"
                ));
            }
        }
        Ok(report)
    }

    async fn clean(&self) -> Result<Report, RunError> {
        let _lock = self.state.lock("cleanup")?;
        let journal = self.state.load_journal()?;
        if let Some(j) = journal.as_ref().filter(|j| j.status.is_interrupted()) {
            return Err(RunError::CleanupWouldLoseRollback {
                run_id: j.run_id.clone(),
            });
        }
        let engine = Engine::connect().await?;
        let deployed = self
            .state
            .load_deployed()?
            .filter(|d| d.namespace == self.opts.namespace);
        let mut report = self.report("cleanup", Outcome::Cleaned);
        if let Some(j) = &journal {
            report = report.with_journal(j);
        }
        if let Some(d) = &deployed {
            for c in engine.list(&self.opts.namespace).await? {
                if c.release != d.release && !c.running {
                    engine.remove(&c.name).await?;
                    self.progress
                        .line(format!("removed old container {}", c.name));
                }
            }
        }
        let backups = self.state.backups();
        if backups.exists() {
            std::fs::remove_dir_all(&backups).map_err(|source| RunError::Cleanup {
                path: backups.clone(),
                source,
            })?;
        }
        self.state.remove_journal()?;
        self.progress.line("cleanup done");
        Ok(report)
    }

    /// `fuel-upgrade status`.
    pub async fn status(&self) -> Result<Status, RunError> {
        let journal = self.state.load_journal()?;
        let deployed = self.state.load_deployed()?;
        let containers = match Engine::connect().await {
            Ok(e) => e
                .list(&self.opts.namespace)
                .await?
                .into_iter()
                .map(|c| ContainerStatus {
                    name: c.name,
                    service: c.service,
                    release: c.release,
                    running: c.running,
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let run = journal.as_ref().map(|j| {
            self.report("status", Outcome::Journaled(j.status))
                .with_journal(j)
        });
        Ok(Status {
            namespace: self.opts.namespace.clone(),
            deployed_release: deployed.map(|d| d.release),
            run_status: journal.map(|j| j.status),
            run,
            containers,
        })
    }
}
