//! `fuel`: the Fuel master's operator command line (python-fuelclient's
//! shape). Parses the command line, opens one API session, runs the command,
//! and maps failures to a message that says what to do; the exit statuses
//! are [`cli::Exit`].

mod cli;
mod commands;
mod failure;
mod output;
mod session;

use std::process::ExitCode;

use cli::{Cli, Command, Exit};
use session::Session;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(refusal) = fuel_cli::settings::password_flag_refusal(&args[1..]) {
        eprintln!("fuel: {refusal}");
        return Exit::Usage.into();
    }
    let cli = Cli::parse_normalized();
    output::set_format(cli.format());
    match run(cli) {
        Ok(()) => Exit::Ok.into(),
        // Drift is a finding, already printed: its own status for monitoring.
        Err(e) if e.is::<commands::inventory::Drift>() => Exit::Drift.into(),
        Err(e) => {
            eprintln!("fuel: {e:#}");
            Exit::Failed.into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Commands that need no server.
    match &cli.command {
        Command::Completion { shell } => return commands::completion::print(*shell),
        Command::Man { dir } => return commands::completion::write_man_pages(dir),
        _ => {}
    }
    // A document to upload is checked before any connection (or login) is made.
    let upload = match &cli.command {
        Command::Package(args) => commands::package::check(args)?,
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // --json or --yaml: the commands print data, not tables.
    let structured = cli.format() != output::Format::Table;
    runtime.block_on(async {
        let session = Session::open(&cli).await?;
        let result = match &cli.command {
            Command::Env(args) => commands::env::run(&session, args, structured).await,
            Command::Node(args) => commands::node::run(&session, args, structured).await,
            Command::Package(args) if args.inventory || args.drift => {
                let format = cli.format();
                let package = args.package.as_deref();
                match args.env {
                    Some(env) => {
                        commands::inventory::run(&session, env, package, args.drift, format).await
                    }
                    // Cli::normalized refuses a package command without an environment.
                    None => Err(anyhow::anyhow!(
                        "fuel package needs the environment: --env ID"
                    )),
                }
            }
            Command::Package(args) => {
                commands::package::run(&session, args, upload, structured).await
            }
            Command::Task(args) => commands::task::run(&session, args, structured).await,
            Command::Completion { .. } | Command::Man { .. } => Ok(()),
        };
        session.close().await;
        result
    })
}
