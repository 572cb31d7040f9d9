use clap::Parser;

/// Journaled package-based upgrade of the Fuel master node
#[derive(Parser)]
#[command(name = "fuel-upgrade", version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
