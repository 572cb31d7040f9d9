//! The commands: plan, apply, resume, rollback, status, cleanup. Every
//! action's intent and prior state reach the journal before the action runs,
//! so a run killed at any instant can be resumed or rolled back exactly.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::try_join_all;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::engine::{ContainerSpec, Engine, LiveContainer};
use crate::fault;
use crate::files;
use crate::fixtures;
use crate::health;
use crate::journal::{
    Action, ActionRecord, ContainerRef, Deployed, Journal, JournalError, Prior, Progress, RunLock,
    RunStatus, StateDir, StepId, StepRecord, FORMAT,
};
use crate::master::Master;
use crate::plan::{dependency_levels, Plan, PlanError};
use crate::preflight::{self, Check};
use crate::report::{ProgressLog, Report};

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

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl RunError {
    /// 2: bad input or preflight, 3: refused (lock, wrong state), 1: other failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Plan(_) => 2,
            RunError::Refused(_) | RunError::Journal(JournalError::Locked { .. }) => 3,
            _ => 1,
        }
    }
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        match self.outcome.as_str() {
            "preflight-failed" => 2,
            "failed" | "rolled-back-after-failure" => 1,
            _ => 0,
        }
    }
}

/// The live state a plan is computed from.
struct Live {
    deployed: Option<Deployed>,
    containers: Vec<LiveContainer>,
    current: Option<String>,
}

pub struct Runner {
    opts: Options,
    state: StateDir,
    progress: ProgressLog,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn failed(e: impl std::fmt::Display) -> RunError {
    RunError::Failed(e.to_string())
}

impl Runner {
    pub fn new(opts: Options) -> Runner {
        let state = StateDir::under(&opts.root);
        let progress = ProgressLog::new(opts.log.clone(), opts.quiet);
        Runner {
            opts,
            state,
            progress,
        }
    }

    fn report(&self, command: &str, outcome: &str) -> Report {
        Report::new(
            command,
            outcome,
            &self.opts.namespace,
            self.progress.log_path.clone(),
        )
    }

    fn master(&self) -> Result<Master, RunError> {
        Master::new(&self.opts.api_url, self.opts.api_token.as_deref()).map_err(failed)
    }

    fn container_name(&self, service: &str, release: &str) -> String {
        format!("{}-{service}-{release}", self.opts.namespace)
    }

    async fn discover(&self, engine: &Engine) -> Result<Live, RunError> {
        let deployed = self
            .state
            .load_deployed()?
            .filter(|d| d.namespace == self.opts.namespace);
        let containers = engine.list(&self.opts.namespace).await.map_err(failed)?;
        let current = deployed.as_ref().map(|d| d.release.clone()).or_else(|| {
            let mut releases: Vec<&str> = containers
                .iter()
                .filter(|c| c.running)
                .map(|c| c.release.as_str())
                .collect();
            releases.sort();
            releases.dedup();
            (releases.len() == 1).then(|| releases[0].to_string())
        });
        Ok(Live {
            deployed,
            containers,
            current,
        })
    }

    /// The steps and actions `apply` runs, from the plan and the live state.
    async fn compute_steps(
        &self,
        plan: &Plan,
        live: &Live,
        master: &Master,
    ) -> Result<Vec<(StepId, Vec<Action>)>, RunError> {
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
                container: self.container_name(&s.name, &plan.release),
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
        let start_levels = plan
            .start_levels()
            .map_err(|c| RunError::Failed(format!("dependency cycle {}", c.join(" -> "))))?;
        for level in start_levels {
            let containers = level
                .iter()
                .map(|s| self.container_name(s, &plan.release))
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
            let wanted = fixtures::releases(&files::under(&self.opts.root, &fx.openstack_yaml))
                .map_err(failed)?;
            for r in wanted {
                if master
                    .find_release(&r.name, &r.version)
                    .await
                    .map_err(failed)?
                    .is_none()
                {
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
                    old_containers: old_refs.clone(),
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

    /// Every preflight check, read-only.
    async fn preflight(
        &self,
        plan: &Plan,
        engine: Result<&Engine, &str>,
        live: Option<&Live>,
        lock_error: Option<String>,
        journal: Option<&Journal>,
        master: &Master,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        checks.push(match lock_error {
            None => Check::pass(
                "no-other-upgrade",
                "no other fuel-upgrade run holds the lock",
            ),
            Some(e) => Check::fail("no-other-upgrade", e, "wait until the other run finishes"),
        });
        checks.push(preflight::journal_check(journal));
        checks.push(match engine {
            Ok(_) => Check::pass("docker-engine", "the Docker engine answers"),
            Err(e) => Check::fail(
                "docker-engine",
                e,
                "start dockerd (systemctl start docker) or set DOCKER_HOST",
            ),
        });
        checks.extend(preflight::release_checks(
            plan,
            live.and_then(|l| l.current.as_deref()),
        ));
        checks.push(preflight::archive_check(plan, &self.opts.root));
        let docker_root = match engine {
            Ok(e) => e.root_dir().await.map(PathBuf::from),
            Err(_) => None,
        };
        checks.push(preflight::space_check(
            plan,
            &self.opts.root,
            docker_root.as_deref(),
            &self.state.dir,
        ));
        checks.push(match master.running_tasks().await {
            Ok(t) if t.is_empty() => Check::pass(
                "no-running-tasks",
                format!("no task runs on {}", master.url()),
            ),
            Ok(t) => Check::fail(
                "no-running-tasks",
                format!(
                    "{} task(s) running on the master: {}",
                    t.len(),
                    t.join(", ")
                ),
                "wait for the deployments to finish (fuel task list) or stop them",
            ),
            Err(e) => Check::fail(
                "no-running-tasks",
                format!("cannot ask the master API: {e}"),
                "start the Fuel API or pass --api-url/--api-token",
            ),
        });
        if let Some(fx) = &plan.fixtures {
            let file = files::under(&self.opts.root, &fx.openstack_yaml);
            checks.push(match fixtures::releases(&file) {
                Ok(r) => Check::pass(
                    "fixtures",
                    format!("{} releases in {}", r.len(), file.display()),
                ),
                Err(e) => Check::fail(
                    "fixtures",
                    e.to_string(),
                    "install fuel-openstack-metadata of the target release",
                ),
            });
        }
        preflight::apply_force(&mut checks, self.opts.force);
        checks
    }

    fn plan_digest(&self) -> String {
        let bytes = std::fs::read(&self.opts.plan).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Everything up to the first change: lock, plan, journal, engine, live
    /// state, preflight, steps.
    async fn prepare_run(&self, command: &str, take_lock: bool) -> Result<Prepared, RunError> {
        let (lock, lock_error) = if take_lock {
            match self.state.lock(command) {
                Ok(l) => (Some(l), None),
                Err(e @ JournalError::Locked { .. }) => (None, Some(e.to_string())),
                Err(e) => return Err(e.into()),
            }
        } else {
            (None, None)
        };
        let plan = Plan::load(&self.opts.plan)?;
        let journal = self.state.load_journal()?;
        let master = self.master()?;
        let (engine, engine_error) = match Engine::connect().await {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let live = match &engine {
            Some(e) => Some(self.discover(e).await?),
            None => None,
        };
        let checks = self
            .preflight(
                &plan,
                engine
                    .as_ref()
                    .ok_or(engine_error.as_deref().unwrap_or("no engine")),
                live.as_ref(),
                lock_error,
                journal.as_ref(),
                &master,
            )
            .await;
        let steps = match &live {
            Some(l) => self.compute_steps(&plan, l, &master).await.ok(),
            None => None,
        };
        Ok(Prepared {
            lock,
            plan,
            journal,
            master,
            engine,
            live,
            checks,
            steps,
        })
    }

    /// `fuel-upgrade plan`: what apply would do now.
    pub async fn plan(&self) -> Result<(Report, Vec<String>), RunError> {
        let p = self.prepare_run("plan", true).await?;
        let mut report = self.report("plan", "plan");
        report.from_release = p.live.as_ref().and_then(|l| l.current.clone());
        report.to_release = Some(p.plan.release.clone());
        report.preflight = p.checks;
        let steps = p.steps.unwrap_or_default();
        let points = fault::points(&steps);
        report.steps = Journal::steps_from(steps)
            .into_iter()
            .map(|s| crate::report::StepReport {
                id: s.id.name().to_string(),
                status: s.status,
                elapsed_ms: 0,
                actions: s
                    .actions
                    .iter()
                    .map(|a| crate::report::ActionReport {
                        action: a.action.describe(),
                        status: a.status,
                    })
                    .collect(),
            })
            .collect();
        Ok((report, points))
    }

    /// `fuel-upgrade apply`.
    pub async fn apply(&self) -> Result<Report, RunError> {
        let p = self.prepare_run("apply", true).await?;
        let mut report = self.report("apply", "preflight-failed");
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
                report.outcome = "nothing-to-do".into();
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
            return Err(RunError::Failed(
                "could not compute the steps (see the preflight)".into(),
            ));
        };
        let live = p.live.as_ref().expect("engine answered");
        let run_id = format!("{}-{}", now_ms(), std::process::id());
        let mut journal = Journal {
            format: FORMAT,
            run_id,
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
        let outcome = self
            .forward_or_rollback(&mut journal, &engine, &p.master)
            .await?;
        let mut report = self.report("apply", &outcome).with_journal(&journal);
        report.preflight = p.checks;
        Ok(report)
    }

    /// `fuel-upgrade resume`: finishes an interrupted run.
    pub async fn resume(&self) -> Result<Report, RunError> {
        let _lock = self.state.lock("resume")?;
        let Some(mut journal) = self.state.load_journal()? else {
            return Ok(self.report("resume", "nothing-to-do"));
        };
        match journal.status {
            RunStatus::Applied | RunStatus::RolledBack => {
                self.progress.line(format!(
                    "run {} is {:?}: nothing to resume",
                    journal.run_id, journal.status
                ));
                return Ok(self
                    .report("resume", "nothing-to-do")
                    .with_journal(&journal));
            }
            RunStatus::RollingBack => {
                return Err(RunError::Refused(format!(
                    "the run {} was being rolled back: finish with `fuel-upgrade rollback`",
                    journal.run_id
                )))
            }
            RunStatus::Applying | RunStatus::Failed => {}
        }
        let engine = Engine::connect().await.map_err(failed)?;
        let master = self.master()?;
        journal.status = RunStatus::Applying;
        journal.error = None;
        self.progress.line(format!(
            "resuming run {} ({} -> {})",
            journal.run_id,
            journal.from_release.as_deref().unwrap_or("none"),
            journal.to_release
        ));
        let outcome = self
            .forward_or_rollback(&mut journal, &engine, &master)
            .await?;
        Ok(self.report("resume", &outcome).with_journal(&journal))
    }

    /// `fuel-upgrade rollback`: exact undo of the journaled run.
    pub async fn rollback(&self) -> Result<Report, RunError> {
        let _lock = self.state.lock("rollback")?;
        let Some(mut journal) = self.state.load_journal()? else {
            return Ok(self.report("rollback", "nothing-to-do"));
        };
        if journal.status == RunStatus::RolledBack {
            return Ok(self
                .report("rollback", "nothing-to-do")
                .with_journal(&journal));
        }
        let engine = Engine::connect().await.map_err(failed)?;
        let master = self.master()?;
        self.run_rollback(&mut journal, &engine, &master).await?;
        Ok(self
            .report("rollback", "rolled-back")
            .with_journal(&journal))
    }

    async fn forward_or_rollback(
        &self,
        journal: &mut Journal,
        engine: &Engine,
        master: &Master,
    ) -> Result<String, RunError> {
        match self.run_forward(journal, engine, master).await {
            Ok(()) => {
                self.progress
                    .line(format!("upgrade to {} done", journal.to_release));
                fault::point(fault::END, &self.state.dir).map_err(failed)?;
                Ok("applied".into())
            }
            Err(e) => {
                self.progress.line(format!("step failed: {e}"));
                journal.error = Some(e.to_string());
                if self.opts.no_rollback {
                    journal.status = RunStatus::Failed;
                    self.state.save_journal(journal)?;
                    self.progress.line("--no-rollback: changes kept; run `fuel-upgrade resume` or `fuel-upgrade rollback`");
                    Ok("failed".into())
                } else {
                    self.progress.line("rolling back automatically");
                    self.run_rollback(journal, engine, master).await?;
                    Ok("rolled-back-after-failure".into())
                }
            }
        }
    }

    async fn run_forward(
        &self,
        journal: &mut Journal,
        engine: &Engine,
        master: &Master,
    ) -> Result<(), RunError> {
        let dir = self.state.dir.clone();
        for si in 0..journal.steps.len() {
            let step = journal.steps[si].id;
            if journal.steps[si].status == Progress::Done {
                continue;
            }
            fault::point(&fault::before(step), &dir).map_err(failed)?;
            let started = Instant::now();
            journal.steps[si].status = Progress::Started;
            self.state.save_journal(journal)?;
            self.progress.line(format!("{}: started", step.name()));
            let n = journal.steps[si].actions.len();
            for ai in 0..n {
                if journal.steps[si].actions[ai].status == Progress::Done {
                    continue;
                }
                let action = journal.steps[si].actions[ai].action.clone();
                let result = self
                    .one_action(journal, si, ai, &action, engine, master)
                    .await;
                if let Err(e) = result {
                    journal.steps[si].actions[ai].status = Progress::Failed;
                    journal.steps[si].status = Progress::Failed;
                    journal.steps[si].elapsed_ms += started.elapsed().as_millis() as u64;
                    self.state.save_journal(journal)?;
                    return Err(RunError::Failed(format!(
                        "{} ({}): {e}",
                        step.name(),
                        action.describe()
                    )));
                }
                if Some(ai + 1) == fault::half_index(n) {
                    fault::point(&fault::half(step), &dir).map_err(failed)?;
                }
            }
            journal.steps[si].status = Progress::Done;
            journal.steps[si].elapsed_ms += started.elapsed().as_millis() as u64;
            self.state.save_journal(journal)?;
            self.progress.line(format!(
                "{}: done in {:.2}s",
                step.name(),
                started.elapsed().as_secs_f64()
            ));
        }
        journal.status = RunStatus::Applied;
        self.state.save_journal(journal)?;
        Ok(())
    }

    /// Records the prior state (unless an interrupted run did), runs the action, records it done.
    async fn one_action(
        &self,
        journal: &mut Journal,
        si: usize,
        ai: usize,
        action: &Action,
        engine: &Engine,
        master: &Master,
    ) -> Result<(), String> {
        let step = journal.steps[si].id;
        let t = Instant::now();
        if journal.steps[si].actions[ai].prior.is_none() {
            let prior = self
                .capture(journal, si, ai, action, engine, master)
                .await?;
            let record = &mut journal.steps[si].actions[ai];
            record.prior = Some(prior);
            record.status = Progress::Started;
            if matches!(action, Action::Stop { .. }) && journal.downtime_started_ms.is_none() {
                journal.downtime_started_ms = Some(now_ms());
            }
            self.state
                .save_journal(journal)
                .map_err(|e| e.to_string())?;
        }
        let mut prior = journal.steps[si].actions[ai]
            .prior
            .clone()
            .expect("recorded above");
        self.perform(journal, action, &mut prior, engine, master)
            .await?;
        if ai == 0 {
            fault::point(&fault::unrecorded(step), &self.state.dir).map_err(|e| e.to_string())?;
        }
        let last_start = journal.steps[si].actions[ai + 1..]
            .iter()
            .all(|a| !matches!(a.action, Action::Start { .. }));
        if matches!(action, Action::Start { .. })
            && last_start
            && journal.downtime_started_ms.is_some()
        {
            journal.downtime_ended_ms = Some(now_ms());
        }
        let record = &mut journal.steps[si].actions[ai];
        record.prior = Some(prior);
        record.status = Progress::Done;
        self.state
            .save_journal(journal)
            .map_err(|e| e.to_string())?;
        self.progress.line(format!(
            "{}: {} ({:.2}s)",
            step.name(),
            action.describe(),
            t.elapsed().as_secs_f64()
        ));
        Ok(())
    }

    async fn capture(
        &self,
        journal: &Journal,
        si: usize,
        ai: usize,
        action: &Action,
        engine: &Engine,
        master: &Master,
    ) -> Result<Prior, String> {
        Ok(match action {
            Action::RecordStart { .. } | Action::LoadImage { .. } => Prior::Nothing,
            Action::Create { container, .. } => Prior::Container {
                existed: engine
                    .running(container)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some(),
            },
            Action::Stop { containers } => {
                let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
                Prior::Running {
                    running: self.running_of(engine, &names).await?,
                }
            }
            Action::Start { containers, .. } => Prior::Running {
                running: self.running_of(engine, containers).await?,
            },
            Action::File { action, .. } => {
                let backup = self
                    .state
                    .backup_dir(&journal.run_id)
                    .join(format!("{si}-{ai}"));
                files::capture(&self.opts.root, action, &backup).map_err(|e| e.to_string())?
            }
            Action::Fixture { name, version } => Prior::Fixture {
                present_before: master
                    .find_release(name, version)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some(),
                created_id: None,
            },
            Action::Finalize { .. } => Prior::Deployed {
                previous: self.state.load_deployed().map_err(|e| e.to_string())?,
            },
        })
    }

    async fn running_of(&self, engine: &Engine, names: &[String]) -> Result<Vec<String>, String> {
        let mut running = Vec::new();
        for n in names {
            if engine.running(n).await.map_err(|e| e.to_string())? == Some(true) {
                running.push(n.clone());
            }
        }
        Ok(running)
    }

    async fn perform(
        &self,
        journal: &Journal,
        action: &Action,
        prior: &mut Prior,
        engine: &Engine,
        master: &Master,
    ) -> Result<(), String> {
        let plan = &journal.plan;
        match action {
            Action::RecordStart { .. } => Ok(()),
            Action::LoadImage { archive, tags } => {
                let mut missing = Vec::new();
                for t in tags {
                    if !engine.image_present(t).await.map_err(|e| e.to_string())? {
                        missing.push(t.clone());
                    }
                }
                if missing.is_empty() {
                    return Ok(());
                }
                engine
                    .load_image(&files::under(&self.opts.root, archive))
                    .await
                    .map_err(|e| e.to_string())?;
                for t in &missing {
                    if !engine.image_present(t).await.map_err(|e| e.to_string())? {
                        return Err(format!(
                            "{} does not contain the image {t}: rebuild fuel-docker-images",
                            archive.display()
                        ));
                    }
                }
                Ok(())
            }
            Action::Create { service, container } => {
                if engine
                    .running(container)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_some()
                {
                    return Ok(());
                }
                let svc = plan
                    .service(service)
                    .ok_or_else(|| format!("service {service} is not in the plan"))?;
                let label = format!(
                    "{}@{}",
                    self.opts
                        .plan
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
                    root: &self.opts.root,
                };
                engine
                    .create(&spec)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            Action::Stop { containers } => {
                try_join_all(containers.iter().map(|c| engine.stop(&c.name, None)))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            Action::Start {
                services,
                containers,
            } => {
                // Each container is probed as soon as it started, so the
                // level waits for its slowest member once, not twice.
                try_join_all(services.iter().zip(containers).map(|(s, c)| async move {
                    let svc = plan
                        .service(s)
                        .ok_or_else(|| format!("service {s} is not in the plan"))?;
                    engine.start(c).await.map_err(|e| e.to_string())?;
                    health::wait_healthy(engine, c, &svc.healthcheck, svc.host_network())
                        .await
                        .map_err(|e| e.to_string())
                }))
                .await
                .map(drop)
            }
            Action::File { action, .. } => {
                files::apply(&self.opts.root, action).map_err(|e| e.to_string())
            }
            Action::Fixture { name, version } => {
                let Prior::Fixture {
                    present_before,
                    created_id,
                } = prior
                else {
                    return Err("journal mismatch".into());
                };
                if *present_before {
                    return Ok(());
                }
                let source = plan.fixtures.as_ref().ok_or("the plan has no fixtures")?;
                let all =
                    fixtures::releases(&files::under(&self.opts.root, &source.openstack_yaml))
                        .map_err(|e| e.to_string())?;
                let release = all
                    .into_iter()
                    .find(|r| &r.name == name && &r.version == version)
                    .ok_or_else(|| {
                        format!(
                            "release {name} ({version}) is no longer in {}",
                            source.openstack_yaml.display()
                        )
                    })?;
                let created = master
                    .create_release(&release)
                    .await
                    .map_err(|e| e.to_string())?;
                *created_id = Some(created.id);
                Ok(())
            }
            Action::Finalize { release } => {
                let deployed = Deployed {
                    release: release.clone(),
                    namespace: journal.namespace.clone(),
                    plan_digest: journal.plan_digest.clone(),
                };
                self.state
                    .save_deployed(Some(&deployed))
                    .map_err(|e| e.to_string())
            }
        }
    }

    async fn run_rollback(
        &self,
        journal: &mut Journal,
        engine: &Engine,
        master: &Master,
    ) -> Result<(), RunError> {
        journal.status = RunStatus::RollingBack;
        self.state.save_journal(journal)?;
        self.progress.line(format!(
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
                self.undo(&record.action, &prior, engine, master)
                    .await
                    .map_err(|e| {
                        RunError::Failed(format!(
                            "rollback of {}: {e}; fix it and run `fuel-upgrade rollback` again",
                            record.action.describe()
                        ))
                    })?;
                journal.steps[si].actions[ai].status = Progress::Undone;
                self.state.save_journal(journal)?;
                self.progress.line(format!(
                    "{}: undone {}",
                    journal.steps[si].id.name(),
                    record.action.describe()
                ));
            }
            if touched {
                journal.steps[si].status = Progress::Undone;
                journal.steps[si].elapsed_ms += started.elapsed().as_millis() as u64;
                self.state.save_journal(journal)?;
            }
        }
        journal.status = RunStatus::RolledBack;
        self.state.save_journal(journal)?;
        self.progress.line("rollback done");
        Ok(())
    }

    async fn undo(
        &self,
        action: &Action,
        prior: &Prior,
        engine: &Engine,
        master: &Master,
    ) -> Result<(), String> {
        match (action, prior) {
            (Action::Create { container, .. }, Prior::Container { existed: false }) => {
                engine.remove(container).await.map_err(|e| e.to_string())
            }
            (Action::Stop { .. }, Prior::Running { running }) => {
                try_join_all(running.iter().map(|c| engine.start(c)))
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
            (Action::Start { containers, .. }, Prior::Running { running }) => try_join_all(
                containers
                    .iter()
                    .filter(|c| !running.contains(c))
                    .map(|c| engine.stop(c, None)),
            )
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
            (Action::File { .. }, prior @ Prior::Paths { .. }) => {
                files::undo(&self.opts.root, prior).map_err(|e| e.to_string())
            }
            (
                Action::Fixture { name, version },
                Prior::Fixture {
                    present_before: false,
                    created_id,
                },
            ) => {
                let id = match created_id {
                    Some(id) => Some(*id),
                    None => master
                        .find_release(name, version)
                        .await
                        .map_err(|e| e.to_string())?
                        .map(|r| r.id),
                };
                match id {
                    Some(id) => master.delete_release(id).await.map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            }
            (Action::Finalize { .. }, Prior::Deployed { previous }) => self
                .state
                .save_deployed(previous.as_ref())
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        }
    }

    /// `fuel-upgrade cleanup`: removes the stopped containers of other
    /// releases, the backups and the journal of a finished run.
    pub async fn cleanup(&self) -> Result<Report, RunError> {
        let _lock = self.state.lock("cleanup")?;
        let journal = self.state.load_journal()?;
        if let Some(j) = journal.as_ref().filter(|j| j.status.is_interrupted()) {
            return Err(RunError::Refused(format!(
                "the run {} stopped half-way: `fuel-upgrade resume` or `fuel-upgrade rollback` first (cleanup would remove what a rollback needs)",
                j.run_id
            )));
        }
        let engine = Engine::connect().await.map_err(failed)?;
        let deployed = self
            .state
            .load_deployed()?
            .filter(|d| d.namespace == self.opts.namespace);
        let mut report = self.report("cleanup", "cleaned");
        if let Some(j) = &journal {
            report = report.with_journal(j);
        }
        if let Some(d) = &deployed {
            for c in engine.list(&self.opts.namespace).await.map_err(failed)? {
                if c.release != d.release && !c.running {
                    engine.remove(&c.name).await.map_err(failed)?;
                    self.progress
                        .line(format!("removed old container {}", c.name));
                }
            }
        }
        let backups = self.state.dir.join("backup");
        if backups.exists() {
            std::fs::remove_dir_all(&backups)
                .map_err(|e| failed(format!("{}: {e}", backups.display())))?;
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
                .await
                .map_err(failed)?
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
            self.report("status", &format!("{:?}", j.status).to_lowercase())
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

struct Prepared {
    lock: Option<RunLock>,
    plan: Plan,
    journal: Option<Journal>,
    master: Master,
    engine: Option<Engine>,
    live: Option<Live>,
    checks: Vec<Check>,
    steps: Option<Vec<(StepId, Vec<Action>)>>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub namespace: String,
    pub deployed_release: Option<String>,
    pub run_status: Option<RunStatus>,
    pub run: Option<Report>,
    pub containers: Vec<ContainerStatus>,
}

#[derive(Debug, Serialize)]
pub struct ContainerStatus {
    pub name: String,
    pub service: String,
    pub release: String,
    pub running: bool,
}

impl Status {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "namespace {}: deployed release {}\n",
            self.namespace,
            self.deployed_release
                .as_deref()
                .unwrap_or("(none recorded)")
        );
        match &self.run {
            Some(r) => out.push_str(&r.to_text()),
            None => out.push_str("no run in the journal\n"),
        }
        for c in &self.containers {
            out.push_str(&format!(
                "  {:<40} {:<8} {}\n",
                c.name,
                c.release,
                if c.running { "running" } else { "stopped" }
            ));
        }
        out
    }
}

impl Journal {
    pub fn steps_from(steps: Vec<(StepId, Vec<Action>)>) -> Vec<StepRecord> {
        steps
            .into_iter()
            .map(|(id, actions)| StepRecord {
                id,
                status: Progress::Pending,
                elapsed_ms: 0,
                actions: actions
                    .into_iter()
                    .map(|action| ActionRecord {
                        action,
                        status: Progress::Pending,
                        prior: None,
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Default log file under the root.
pub fn default_log(root: &Path) -> PathBuf {
    root.join("var/log/fuel-upgrade.log")
}
