//! `fuel-version`: what /etc/fuel/version.yaml used to say, from each
//! field's proper home. Thin front end of the fuel-version library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use fuel_man::{exit_status_help, ExitStatus};
use fuel_version::{Completeness, Sources, VersionReport};

/// fuel-version's exit statuses: the one definition, listed by `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    Complete,
    Failed,
    Usage,
    Incomplete,
}

impl ExitStatus for Exit {
    const ALL: &'static [Exit] = &[Exit::Complete, Exit::Failed, Exit::Usage, Exit::Incomplete];

    fn code(self) -> u8 {
        match self {
            Exit::Complete => 0,
            Exit::Failed => 1,
            // clap's own code for a command line it cannot parse.
            Exit::Usage => 2,
            Exit::Incomplete => 3,
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Exit::Complete => "complete: every field has a value (documented defaults count)",
            Exit::Failed => "failed: a source is malformed, rpm failed, or FIELD does not exist (the message names file and line)",
            Exit::Usage => "bad command line",
            Exit::Incomplete => "some fields unknown (a source is missing; `--explain` says which and how to fix it)",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

fn after_help() -> String {
    format!(
        "{}\n\nComponent map (component -> package): embedded; <root>/etc/fuel-version/components.yaml or --components FILE replaces it.",
        exit_status_help::<Exit>()
    )
}

/// What /etc/fuel/version.yaml used to say, from each field's proper home.
///
/// release from /etc/fuel-issue (fuel-release), openstack_version from
/// /etc/fuel_openstack_version or /usr/share/fuel-openstack-metadata/openstack.yaml
/// (fuel-openstack-metadata), build_number/build_id/build_commit from
/// /etc/fuel-buildstamp (fuel), feature_groups/production from
/// /etc/nailgun/settings.yaml (absent: no feature groups, "docker"), and each
/// <component>_sha from one rpm query (VCS tag, else git<hex> in the release).
#[derive(Parser)]
#[command(
    name = "fuel-version",
    version,
    after_help = after_help()
)]
struct Cli {
    /// Output format (default: a human summary).
    #[arg(long, value_enum, global = true)]
    format: Option<Format>,
    /// Read another root (files and rpm database), as `rpm --root` does.
    #[arg(long, value_name = "DIR", default_value = "/", global = true)]
    root: PathBuf,
    /// Component → package map to use instead of the root's or the embedded one.
    #[arg(long, value_name = "FILE", global = true)]
    components: Option<PathBuf>,
    /// Say where every answer came from (or why it is unknown).
    #[arg(long, global = true)]
    explain: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print one field (release, openstack_version, build_number, build_id,
    /// build_commit, feature_groups, production, <component>_sha); exit 3 when unknown.
    Get { field: String },
    /// List the installed Fuel packages with version, release and commit.
    Packages,
    /// Write the manual pages into DIR (`cargo xtask rpm` ships them).
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Key → value (null when unknown); with --explain the full report with sources.
    Yaml,
    /// Key → value (null when unknown); with --explain the full report with sources.
    Json,
    /// FUEL_<KEY>='value' lines for `eval`.
    Shell,
    /// The old /etc/fuel/version.yaml layout (VERSION: mapping, same keys, api "1.0").
    VersionYaml,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("fuel-version: {e:#}");
            Exit::Failed.into()
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<Exit> {
    if let Some(Command::Man { dir }) = &cli.command {
        // fuel-version.1 and a page per command.
        for page in fuel_man::write_pages(Cli::command(), dir)? {
            println!("{}", page.display());
        }
        return Ok(Exit::Complete);
    }
    let sources = Sources {
        root: cli.root.clone(),
        components: cli.components.clone(),
    };
    let report = sources.collect()?;
    match &cli.command {
        None => print_report(cli, &report),
        Some(Command::Get { field }) => get(cli, &report, field),
        Some(Command::Packages) => packages(cli, &report),
        Some(Command::Man { .. }) => unreachable!("written before any source is read"),
    }
}

fn status(report: &VersionReport) -> Exit {
    match report.completeness() {
        Completeness::Complete => Exit::Complete,
        Completeness::Incomplete { .. } => Exit::Incomplete,
    }
}

fn print_report(cli: &Cli, report: &VersionReport) -> anyhow::Result<Exit> {
    let text = match (cli.format, cli.explain) {
        (None, explain) => report.summary(explain),
        (Some(Format::Json), false) => serde_json::to_string_pretty(&report.values())? + "\n",
        (Some(Format::Json), true) => serde_json::to_string_pretty(report)? + "\n",
        (Some(Format::Yaml), false) => serde_saphyr::to_string(&report.values())?,
        (Some(Format::Yaml), true) => serde_saphyr::to_string(report)?,
        (Some(Format::Shell), explain) => report.to_shell(explain),
        (Some(Format::VersionYaml), explain) => report.to_version_yaml(explain),
    };
    print!("{text}");
    if let Completeness::Incomplete { unknown } = report.completeness() {
        if cli.format.is_some() {
            eprintln!(
                "fuel-version: unknown: {} (`--explain` says why)",
                unknown.join(", ")
            );
        }
    }
    Ok(status(report))
}

fn get(cli: &Cli, report: &VersionReport, field: &str) -> anyhow::Result<Exit> {
    let Some(entry) = report.get(field) else {
        let keys: Vec<String> = report.entries().into_iter().map(|e| e.key).collect();
        anyhow::bail!("no field {field:?}; fields: {}", keys.join(", "));
    };
    let Some(value) = &entry.value else {
        eprintln!("fuel-version: {field} is {}", entry.source.describe());
        return Ok(Exit::Incomplete);
    };
    match cli.format {
        Some(Format::Json) => println!("{}", serde_json::to_string(value)?),
        Some(Format::Yaml) => print!("{}", serde_saphyr::to_string(value)?),
        Some(Format::Shell) => print!("{}", report_line_shell(report, field)),
        // Lists one item per line, so `for g in $(fuel-version get feature_groups)` works.
        _ => match value {
            fuel_version::Value::Text(s) => println!("{s}"),
            fuel_version::Value::List(items) => items.iter().for_each(|i| println!("{i}")),
        },
    }
    if cli.explain {
        eprintln!("{field}: from {}", entry.source.describe());
    }
    Ok(Exit::Complete)
}

fn report_line_shell(report: &VersionReport, field: &str) -> String {
    let key = fuel_version::shell_key(field);
    report
        .to_shell(false)
        .lines()
        .find(|l| l.starts_with(&format!("{key}=")))
        .map(|l| format!("{l}\n"))
        .unwrap_or_default()
}

fn packages(cli: &Cli, report: &VersionReport) -> anyhow::Result<Exit> {
    let Some(_) = &report.rpm_database else {
        anyhow::bail!("{}", fuel_version::no_database(&report.root));
    };
    match cli.format {
        Some(Format::Json) => println!("{}", serde_json::to_string_pretty(&report.packages)?),
        Some(Format::Yaml) => print!("{}", serde_saphyr::to_string(&report.packages)?),
        Some(other @ (Format::Shell | Format::VersionYaml)) => {
            anyhow::bail!(
                "`packages` prints a table, json or yaml, not {:?}",
                other.to_possible_value().map(|v| v.get_name().to_string())
            )
        }
        None => {
            for p in &report.packages {
                let sha = p.sha.as_deref().unwrap_or("unknown");
                let from = match (p.sha_from, cli.explain) {
                    (Some(fuel_version::ShaOrigin::VcsTag), true) => " (VCS tag)",
                    (Some(fuel_version::ShaOrigin::Release), true) => " (release)",
                    _ => "",
                };
                println!(
                    "{:<32} {:<12} {:<24} {:<8} {sha}{from}",
                    p.name, p.version, p.release, p.arch
                );
            }
        }
    }
    Ok(Exit::Complete)
}
