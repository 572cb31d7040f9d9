//! `fuel-upgrade`: the executable entry point of the package-based master
//! node upgrade (a thin layer over the fuel_upgrade library).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use fuel_upgrade::{default_log, Exit, Options, Report, RunError, Runner, DEFAULT_PLAN};

/// Upgrade the Fuel master node to the release of the installed plan; every
/// step is journaled, so an interrupted run can be resumed or rolled back.
#[derive(Parser)]
#[command(name = "fuel-upgrade", version, after_help = Exit::help())]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    global: Global,
}

#[derive(clap::Args)]
struct Global {
    /// The plan (installed by the fuel-upgrade rpm of the target release).
    #[arg(long, global = true, default_value = DEFAULT_PLAN)]
    plan: PathBuf,
    /// Apply file actions, volumes and state under this directory (tests, chroots).
    #[arg(long, global = true, default_value = "/")]
    root: PathBuf,
    /// Label value grouping this master node's containers.
    #[arg(
        long,
        global = true,
        env = "FUEL_UPGRADE_NAMESPACE",
        default_value = "fuel"
    )]
    namespace: String,
    /// The master node's REST API.
    #[arg(
        long,
        global = true,
        env = "FUEL_API_URL",
        default_value = "http://127.0.0.1:8000"
    )]
    api_url: String,
    /// Token for the API (X-Auth-Token).
    #[arg(long, global = true, env = "FUEL_API_TOKEN", hide_env_values = true)]
    api_token: Option<String>,
    /// Log file (default: /var/log/fuel-upgrade.log under --root).
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Print the final report as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// No progress lines on stderr (the log file still gets them).
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Show what apply would do now, and the preflight results.
    Plan {
        /// List the fault-injection points of this plan (for the crash tests).
        #[arg(long, hide = true)]
        crash_points: bool,
    },
    /// Run the upgrade (the default command).
    Apply {
        /// Override the skippable preflight checks.
        #[arg(long)]
        force: bool,
        /// Keep the changes when a step fails instead of rolling back.
        #[arg(long)]
        no_rollback: bool,
    },
    /// Finish an interrupted run.
    Resume {
        #[arg(long)]
        no_rollback: bool,
    },
    /// Undo the journaled run exactly.
    Rollback,
    /// Show the deployed release, the journaled run and the containers.
    Status,
    /// Remove the old release's stopped containers, the backups and the journal.
    Cleanup,
    /// Write the manual pages into DIR (`cargo xtask rpm` ships them).
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Man { dir }) = &cli.command {
        return write_man_pages(dir);
    }
    let g = cli.global;
    let command = cli.command.unwrap_or(Command::Apply {
        force: false,
        no_rollback: false,
    });
    let (force, no_rollback) = match &command {
        Command::Apply { force, no_rollback } => (*force, *no_rollback),
        Command::Resume { no_rollback } => (false, *no_rollback),
        _ => (false, false),
    };
    let opts = Options {
        log: g.log.clone().unwrap_or_else(|| default_log(&g.root)),
        root: g.root,
        plan: g.plan,
        namespace: g.namespace,
        api_url: g.api_url,
        api_token: g.api_token,
        force,
        no_rollback,
        quiet: g.quiet,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runner = Runner::new(opts);
    let json = g.json;
    let result: Result<Exit, RunError> = runtime.block_on(async {
        match command {
            Command::Plan { crash_points } => {
                let (report, points) = runner.plan().await?;
                if crash_points {
                    println!("{}", points.join("\n"));
                } else {
                    print_report(&report, json);
                }
                Ok(Exit::Done)
            }
            Command::Apply { .. } => runner.apply().await.map(|r| print_report(&r, json)),
            Command::Resume { .. } => runner.resume().await.map(|r| print_report(&r, json)),
            Command::Rollback => runner.rollback().await.map(|r| print_report(&r, json)),
            Command::Cleanup => runner.cleanup().await.map(|r| print_report(&r, json)),
            Command::Man { .. } => unreachable!("handled before the runner starts"),
            Command::Status => {
                let status = runner.status().await?;
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&status).expect("status serialises")
                    );
                } else {
                    print!("{}", status.to_text());
                }
                Ok(Exit::Done)
            }
        }
    });
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("fuel-upgrade: {e}");
            e.exit().into()
        }
    }
}

/// The hidden `man --dir DIR`: fuel-upgrade.1 and a page per command.
fn write_man_pages(dir: &std::path::Path) -> ExitCode {
    match fuel_man::write_pages(Cli::command(), dir) {
        Ok(written) => {
            written.iter().for_each(|p| println!("{}", p.display()));
            Exit::Done.into()
        }
        Err(e) => {
            eprintln!(
                "fuel-upgrade: writing the manual pages into {}: {e}",
                dir.display()
            );
            Exit::Failed.into()
        }
    }
}

fn print_report(report: &Report, json: bool) -> Exit {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("report serialises")
        );
    } else {
        print!("{}", report.to_text());
    }
    report.exit()
}
