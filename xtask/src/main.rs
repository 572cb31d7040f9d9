//! `cargo xtask`: the release engineer's commands. Each subcommand lives in its
//! own file; external tools run through `xshell::cmd!`.

mod bench;
mod lint;
mod repo;
mod rpm;
mod test;
#[cfg(test)]
mod tidy;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the system packages the suite needs, start its services, build the rpm set and run every test.
    Test(test::Args),
    /// Install the suite's system tools and start its services (dockerd, PostgreSQL), then stop.
    TestBed,
    /// Build the release binaries and the signed Fuel rpm set into target/rpms/.
    Rpm(rpm::Args),
    /// Check the package specs (specs/*.toml, crates' generate-rpm metadata); writes nothing.
    Lint(lint::Args),
    /// Write the release's yum repositories (base, updates, security) from the built rpms.
    Repo(repo::Args),
    /// Run the benchmarks and print each figure beside its baseline from the same run.
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Rpm(args) => rpm::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Repo(args) => repo::run(args),
        Command::TestBed => {
            let sh = xshell::Shell::new()?;
            test::prepare_test_bed(&sh)?;
            println!(
                "test bed ready; PostgreSQL for the suite: {}",
                test::POSTGRES_URL
            );
            Ok(())
        }
    }
}

/// The workspace root: xtask always runs from there, whatever the caller's directory.
pub fn project_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
