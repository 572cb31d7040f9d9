use clap::Parser;

/// The Fuel master node's REST service
#[derive(Parser)]
#[command(name = "fuel-api", version)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
