//! `fuel-pm-apply`: applies the package-manipulation document on this node
//! and reports what it did (text, or one JSON report with --json). Exit codes:
//! 0 nothing changed, 2 changes, 4 failures, 6 both; 1 could not run; 64 bad
//! command line; 75 another applier holds this node's lock (try again later).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{Parser, ValueEnum};
use fuel_pm_apply::lock::LockError;
use fuel_pm_apply::{actions, apply, lock, render, state, BackendKind, Options, RunError};

/// Exit code of a bad command line (sysexits' EX_USAGE).
const USAGE: u8 = 64;
/// Exit code when another applier holds this node's lock (sysexits'
/// EX_TEMPFAIL): nothing was done, the same run later can succeed. The
/// message names the holder's pid. The master's executor tells it apart
/// from a failure (`node_busy`).
pub const NODE_BUSY: u8 = 75;

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Apt,
    Dnf,
}

#[derive(Parser)]
#[command(
    name = "fuel-pm-apply",
    version,
    about = "Apply the package-manipulation document on this node with its package manager",
    long_about = "Apply the package-manipulation document on this node with its package manager \
(apt/dpkg or dnf/rpm): resolve every package first, change them in one transaction, verify the \
installed versions, then run the after-actions of the packages that changed (recorded in the \
state directory first, so a killed run's actions are done by the next run).\n\n\
Exit codes: 0 nothing changed, 2 changes, 4 failures, 6 changes and failures, 1 could not run, \
64 bad command line, 75 another fuel-pm-apply holds this node's lock (its pid is named; run again \
once it has finished)."
)]
struct Cli {
    /// The document to apply.
    #[arg(long, value_name = "PATH", default_value = fuel_pm::DEFAULT_PATH)]
    file: PathBuf,
    /// Package manager to drive (default: from /etc/os-release).
    #[arg(long, value_enum)]
    backend: Option<Backend>,
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
    #[arg(long, value_name = "DIR", default_value = state::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            return ExitCode::from(if usage_error { USAGE } else { 0 });
        }
    };
    fuel_pm_apply::command::end_bounded_group_on_term();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("fuel-pm-apply: {e:#}");
            let busy = matches!(
                e.downcast_ref::<RunError>(),
                Some(RunError::Lock(LockError::Held { .. }))
            );
            ExitCode::from(if busy { NODE_BUSY } else { 1 })
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<u8> {
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
        Some(Backend::Apt) => BackendKind::Apt,
        Some(Backend::Dnf) => BackendKind::Dnf,
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
    Ok(u8::try_from(report.exit_code).unwrap_or(1))
}

fn detect_backend() -> anyhow::Result<BackendKind> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Ok(text) = std::fs::read_to_string(path) {
            return BackendKind::from_os_release(&text).ok_or_else(|| {
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
