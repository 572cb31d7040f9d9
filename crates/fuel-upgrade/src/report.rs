//! What a run tells the operator: progress lines with elapsed time (on
//! stderr and in the log file) and the final report (text or JSON).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::outcome::{Exit, Outcome};
use crate::plan::preflight::Check;
use crate::state::journal::{Journal, Progress, StepRecord};

/// Progress lines, to stderr and appended to the log file.
pub struct ProgressLog {
    started: Instant,
    log: Option<Mutex<std::fs::File>>,
    pub log_path: PathBuf,
    quiet: bool,
}

impl ProgressLog {
    pub fn new(log_path: PathBuf, quiet: bool) -> ProgressLog {
        let log = log_path
            .parent()
            .map(std::fs::create_dir_all)
            .and_then(|_| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log_path)
                    .ok()
            })
            .map(Mutex::new);
        ProgressLog {
            started: Instant::now(),
            log,
            log_path,
            quiet,
        }
    }

    pub fn line(&self, message: impl AsRef<str>) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let line = format!("[{elapsed:7.2}s] {}", message.as_ref());
        if !self.quiet {
            eprintln!("{line}");
        }
        if let Some(log) = &self.log {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut f = log.lock().unwrap();
            let _ = writeln!(f, "{now} pid {} {line}", std::process::id());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub command: String,
    pub outcome: Outcome,
    pub namespace: String,
    pub from_release: Option<String>,
    pub to_release: Option<String>,
    pub preflight: Vec<Check>,
    pub steps: Vec<StepReport>,
    /// First old container stopped → every new one healthy.
    pub downtime_ms: Option<u64>,
    pub error: Option<String>,
    /// What the end-state verification found not as it should be.
    pub problems: Vec<String>,
    /// What the operator should know (e.g. what to run next).
    pub message: Option<String>,
    pub log: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub id: String,
    pub status: Progress,
    pub elapsed_ms: u64,
    pub actions: Vec<ActionReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub status: Progress,
}

impl Report {
    pub(crate) fn new(command: &str, outcome: Outcome, namespace: &str, log: PathBuf) -> Report {
        Report {
            command: command.to_string(),
            outcome,
            namespace: namespace.to_string(),
            from_release: None,
            to_release: None,
            preflight: Vec::new(),
            steps: Vec::new(),
            downtime_ms: None,
            error: None,
            problems: Vec::new(),
            message: None,
            log,
        }
    }

    pub(crate) fn with_journal(mut self, journal: &Journal) -> Report {
        self.from_release = journal.from_release.clone();
        self.to_release = Some(journal.to_release.clone());
        self.steps = step_reports(&journal.steps);
        self.downtime_ms = match (journal.downtime_started_ms, journal.downtime_ended_ms) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        self.error = self.error.or_else(|| journal.error.clone());
        self
    }

    /// The steps a run would take (`fuel-upgrade plan`).
    pub(crate) fn with_planned(mut self, steps: &[StepRecord]) -> Report {
        self.steps = step_reports(steps);
        self
    }

    /// The outcome's exit status; a report of problems is a failure
    /// whatever the outcome.
    pub fn exit(&self) -> Exit {
        match self.outcome.exit() {
            Exit::Done if !self.problems.is_empty() => Exit::Failed,
            exit => exit,
        }
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let from = self.from_release.as_deref().unwrap_or("(none)");
        let to = self.to_release.as_deref().unwrap_or("?");
        out.push_str(&format!(
            "fuel-upgrade {}: {} ({from} -> {to}, namespace {})\n",
            self.command, self.outcome, self.namespace
        ));
        let failed: Vec<&Check> = self.preflight.iter().filter(|c| !c.passed).collect();
        if !self.preflight.is_empty() {
            out.push_str(&format!(
                "preflight: {} checks, {} failed\n",
                self.preflight.len(),
                failed.len()
            ));
        }
        for c in &self.preflight {
            let mark = if c.passed {
                "ok  "
            } else if c.overridden {
                "skip"
            } else {
                "FAIL"
            };
            out.push_str(&format!("  [{mark}] {}: {}", c.id, c.message));
            if !c.passed {
                out.push_str(&format!(
                    "\n         remedy: {}{}",
                    c.remedy,
                    if c.skippable && !c.overridden {
                        " (skippable with --force)"
                    } else {
                        ""
                    }
                ));
            }
            out.push('\n');
        }
        for s in &self.steps {
            out.push_str(&format!(
                "step {:<9} {:<8} {:>8.2}s\n",
                s.id,
                status_word(s.status),
                s.elapsed_ms as f64 / 1000.0
            ));
            for a in &s.actions {
                out.push_str(&format!("    {:<8} {}\n", status_word(a.status), a.action));
            }
        }
        if let Some(d) = self.downtime_ms {
            out.push_str(&format!(
                "service downtime: {:.2}s (first old container stopped -> every new one healthy)\n",
                d as f64 / 1000.0
            ));
        }
        if let Some(e) = &self.error {
            out.push_str(&format!("error: {e}\n"));
        }
        if !self.problems.is_empty() {
            out.push_str("not as it should be:\n");
            for p in &self.problems {
                out.push_str(&format!("  {p}\n"));
            }
        }
        if let Some(m) = &self.message {
            out.push_str(&format!("{m}\n"));
        }
        out.push_str(&format!("log: {}\n", self.log.display()));
        out
    }
}

fn step_reports(steps: &[StepRecord]) -> Vec<StepReport> {
    steps
        .iter()
        .map(|s| StepReport {
            id: s.id.name().to_string(),
            status: s.status,
            elapsed_ms: s.elapsed_ms,
            actions: s
                .actions
                .iter()
                .map(|a| ActionReport {
                    action: a.action.describe(),
                    status: a.status,
                })
                .collect(),
        })
        .collect()
}

fn status_word(p: Progress) -> &'static str {
    match p {
        Progress::Pending => "pending",
        Progress::Started => "started",
        Progress::Done => "done",
        Progress::Failed => "FAILED",
        Progress::Undone => "undone",
    }
}
