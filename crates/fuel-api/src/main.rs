//! `fuel-api`: serves the master's REST API until SIGTERM or SIGINT.
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use fuel_man::{exit_status_help, ExitStatus};

/// fuel-api's exit statuses: the one definition, listed by `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Stopped,
    Failed,
    Usage,
}

impl ExitStatus for Exit {
    const ALL: &'static [Exit] = &[Exit::Stopped, Exit::Failed, Exit::Usage];

    fn code(self) -> u8 {
        match self {
            Exit::Stopped => 0,
            Exit::Failed => 1,
            // clap's own code for a command line it cannot parse.
            Exit::Usage => 2,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Exit::Stopped => "stopped by SIGTERM or SIGINT after finishing the requests in flight (or the subcommand succeeded)",
            Exit::Failed => "could not start or serve: bad configuration, database, address in use (the message says which)",
            Exit::Usage => "bad command line",
        }
    }
}

/// The Fuel master node's REST service
#[derive(Parser)]
#[command(name = "fuel-api", version, after_help = exit_status_help::<Exit>())]
struct Cli {
    /// The configuration file (TOML).
    #[arg(long, default_value = fuel_api::DEFAULT_CONFIG_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Reads a password from the first line of standard input and prints its
    /// argon2 hash, for `password_hash` in the configuration's [[auth.users]].
    HashPassword,
    /// Write the manual pages into DIR (`cargo xtask rpm` ships them).
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Errors as sentences with their causes, never Debug's `Error: …`.
    let exit = match command(cli) {
        Ok(()) => Exit::Stopped,
        Err(e) => {
            eprintln!("fuel-api: {e:#}");
            Exit::Failed
        }
    };
    ExitCode::from(exit.code())
}

fn command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::HashPassword) => hash_password(),
        Some(Command::Man { dir }) => {
            for page in fuel_man::write_pages(Cli::command(), &dir)? {
                println!("{}", page.display());
            }
            Ok(())
        }
        None => run(&cli.config),
    }
}

fn hash_password() -> anyhow::Result<()> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!(
            "password (it will show as you type; to hide it: read -rs P; echo \"$P\" | fuel-api hash-password):"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(
        !password.is_empty(),
        "no password on standard input: `read -rs P; echo \"$P\" | fuel-api hash-password`"
    );
    println!("{}", fuel_api::hash_password(password));
    Ok(())
}

fn run(config_path: &std::path::Path) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .with_span_list(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = fuel_api::Config::load(config_path)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let server = fuel_api::serve(config).await?;
        stop_signal().await?;
        tracing::info!("stopping: finishing requests in flight");
        server.shutdown().await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })
}

async fn stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}
