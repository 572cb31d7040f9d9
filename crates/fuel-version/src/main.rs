use clap::Parser;

/// Answers what /etc/fuel/version.yaml used to, from each field's proper home
#[derive(Parser)]
#[command(name = "fuel-version", version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
