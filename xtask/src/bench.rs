//! `cargo xtask bench [NAME…]`: each benchmark prints its figure beside a
//! baseline measured in the same run, as a ratio.

mod api;
mod api_logins;
mod api_processes;
mod inventory;
mod pm_apply;
mod pm_doc;
mod pm_fleet;
mod pm_tasks;
mod rpm;
mod upgrade;
mod version;

use clap::ValueEnum;

#[derive(clap::Args)]
pub struct Args {
    /// Which benchmarks to run (all when none is named).
    #[arg(value_enum)]
    pub names: Vec<Bench>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bench {
    Rpm,
    Version,
    Api,
    Upgrade,
    PmDoc,
    PmApply,
    PmTasks,
    PmFleet,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let names = if args.names.is_empty() {
        vec![
            Bench::Rpm,
            Bench::Version,
            Bench::Api,
            Bench::Upgrade,
            Bench::PmDoc,
            Bench::PmApply,
            Bench::PmTasks,
            Bench::PmFleet,
        ]
    } else {
        args.names
    };
    for name in names {
        match name {
            Bench::Rpm => rpm::run()?,
            Bench::Version => version::run()?,
            Bench::Api => api::run()?,
            Bench::Upgrade => upgrade::run()?,
            Bench::PmDoc => pm_doc::run()?,
            Bench::PmApply => pm_apply::run()?,
            Bench::PmTasks => pm_tasks::run()?,
            Bench::PmFleet => pm_fleet::run()?,
        }
    }
    Ok(())
}

/// The median of some timings (the upper one of an even count).
pub fn median(mut timings: Vec<std::time::Duration>) -> std::time::Duration {
    timings.sort();
    timings[timings.len() / 2]
}
