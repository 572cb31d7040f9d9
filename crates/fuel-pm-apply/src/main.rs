//! `fuel-pm-apply`: applies the package-manipulation document on this node
//! and reports what it did (text, or one JSON report with --json). Its exit
//! statuses are [`Exit`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use fuel_man::{exit_status_help, ExitStatus};
use fuel_node::{paths, PackageManager};
use fuel_pm::report::Report;
use fuel_pm_apply::lock::LockError;
use fuel_pm_apply::{actions, apply, lock, render, Options, RunError};

/// fuel-pm-apply's exit statuses: the one definition, listed by `--help`.
/// 0/2/4/6 are the report's (`fuel_pm::report::Report::exit_code_for`,
/// Puppet's `--detailed-exitcodes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    NothingChanged,
    CouldNotRun,
    Changed,
    Failed,
    ChangedAndFailed,
    Usage,
    NodeBusy,
}

impl Exit {
    /// The status a finished run's report gives (its `exit_code`).
    fn of_report(exit_code: i32) -> Exit {
        match Report::changes_and_failures(exit_code) {
            Some((false, false)) => Exit::NothingChanged,
            Some((true, false)) => Exit::Changed,
            Some((false, true)) => Exit::Failed,
            Some((true, true)) => Exit::ChangedAndFailed,
            None => Exit::CouldNotRun,
        }
    }
}

impl ExitStatus for Exit {
    const ALL: &'static [Exit] = &[
        Exit::NothingChanged,
        Exit::CouldNotRun,
        Exit::Changed,
        Exit::Failed,
        Exit::ChangedAndFailed,
        Exit::Usage,
        Exit::NodeBusy,
    ];

    fn code(self) -> u8 {
        match self {
            Exit::NothingChanged => 0,
            Exit::CouldNotRun => 1,
            Exit::Changed => 2,
            Exit::Failed => 4,
            Exit::ChangedAndFailed => 6,
            // sysexits' EX_USAGE.
            Exit::Usage => 64,
            // sysexits' EX_TEMPFAIL; the executor reads it as
            // Report::NODE_BUSY_EXIT_CODE (a test holds the two equal).
            Exit::NodeBusy => 75,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Exit::NothingChanged => "nothing changed",
            Exit::CouldNotRun => "could not run: bad document, a package listed twice, no backend",
            Exit::Changed => "changes: packages changed or after-actions run",
            Exit::Failed => "failures",
            Exit::ChangedAndFailed => "changes and failures",
            Exit::Usage => "bad command line",
            Exit::NodeBusy => "another fuel-pm-apply holds this node's lock (its pid is named; run again once it has finished)",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[derive(Parser)]
#[command(
    name = "fuel-pm-apply",
    version,
    about = "Apply the package-manipulation document on this node with its package manager",
    long_about = "Apply the package-manipulation document on this node with its package manager \
(apt/dpkg or dnf/rpm): resolve every package first, change them in one transaction, verify the \
installed versions, then run the after-actions of the packages that changed (recorded in the \
state directory first, so a killed run's actions are done by the next run).",
    after_help = exit_status_help::<Exit>()
)]
struct Cli {
    /// The document to apply.
    #[arg(long, value_name = "PATH", default_value = paths::DOCUMENT)]
    file: PathBuf,
    /// Package manager to drive (default: from /etc/os-release).
    #[arg(long, value_parser = PossibleValuesParser::new(PackageManager::ALL.map(|pm| pm.as_str()))
        .try_map(|name| name.parse::<PackageManager>()))]
    backend: Option<PackageManager>,
    /// Report what would change; change nothing (the package manager simulates).
    #[arg(long)]
    check: bool,
    /// Apply the packages that resolve even when others do not.
    #[arg(long)]
    keep_going: bool,
    /// Print one JSON report (schema 1) on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Longest wait for the package manager's lock, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    lock_timeout: u64,
    /// Longest wait for another fuel-pm-apply on this node to finish, in
    /// seconds (0: refuse at once). The master passes it: an applier left
    /// running by a master that died is waited for, not failed against.
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    wait_applier: u64,
    /// Longest an after-action may run when the document gives it no
    /// `timeout`, in seconds; past it the action is killed with its process
    /// group and reported `after_action_timeout` (still owed to the next run).
    #[arg(long, value_name = "SECS", default_value_t = actions::DEFAULT_ACTION_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    action_timeout: u64,
    /// Where pending after-actions are kept.
    #[arg(long, value_name = "DIR", default_value = paths::APPLIER_STATE_DIR)]
    state_dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            // --help and --version print through clap's "error" too.
            return if usage_error {
                Exit::Usage
            } else {
                Exit::NothingChanged
            }
            .into();
        }
    };
    fuel_pm_apply::command::end_bounded_group_on_term();
    match run(&cli) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("fuel-pm-apply: {e:#}");
            let busy = matches!(
                e.downcast_ref::<RunError>(),
                Some(RunError::Lock(LockError::Held { .. }))
            );
            if busy {
                Exit::NodeBusy
            } else {
                Exit::CouldNotRun
            }
            .into()
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<Exit> {
    let bytes = std::fs::read(&cli.file).with_context(|| {
        format!(
            "cannot read the document {} (upload it, or pass --file PATH)",
            cli.file.display()
        )
    })?;
    let document = fuel_pm::parse(&bytes).map_err(|problems| {
        anyhow!(
            "the document is not valid, nothing was changed:\n{}",
            problems.render(&cli.file.display().to_string())
        )
    })?;
    let backend = match cli.backend {
        Some(backend) => backend,
        None => detect_backend()?,
    };
    let options = Options {
        backend,
        check: cli.check,
        keep_going: cli.keep_going,
        lock_timeout: Duration::from_secs(cli.lock_timeout),
        lock_path: lock::default_path(&cli.state_dir),
        applier_wait: Duration::from_secs(cli.wait_applier),
        state_dir: cli.state_dir.clone(),
        hostname: hostname(),
        action_timeout: Duration::from_secs(cli.action_timeout),
    };
    let report = apply(&document, &options)?;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render::text(&report));
    }
    Ok(Exit::of_report(report.exit_code))
}

fn detect_backend() -> anyhow::Result<PackageManager> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            return PackageManager::from_os_release(&text).ok_or_else(|| {
                anyhow!("{path} names no distribution this applier knows (debian/ubuntu: apt; rhel/centos/fedora: dnf): pass --backend apt|dnf")
            });
        }
    }
    Err(anyhow!(
        "neither /etc/os-release nor /usr/lib/os-release exists: pass --backend apt|dnf"
    ))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reports_status_has_the_reports_exit_code() {
        for (changed, failed) in [(false, false), (true, false), (false, true), (true, true)] {
            let code = Report::exit_code_for(changed, failed);
            assert_eq!(i32::from(Exit::of_report(code).code()), code);
        }
        assert_eq!(Exit::of_report(1), Exit::CouldNotRun);
    }

    #[test]
    fn a_held_node_lock_exits_with_the_status_the_executor_reads_as_node_busy() {
        assert_eq!(
            i32::from(Exit::NodeBusy.code()),
            Report::NODE_BUSY_EXIT_CODE
        );
    }
}
