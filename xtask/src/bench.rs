//! `cargo xtask bench [NAME…]`: each benchmark prints its figure beside a
//! baseline measured in the same run, as a ratio, and its section of
//! BENCHMARKS.md is rewritten from what it printed.

// First, so that `out!` is in scope in every benchmark below.
#[macro_use]
mod report;

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

impl Bench {
    /// Its name on the command line and in BENCHMARKS.md.
    pub fn name(self) -> String {
        self.to_possible_value()
            .expect("no bench is skipped")
            .get_name()
            .to_string()
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let names = if args.names.is_empty() {
        Bench::value_variants().to_vec()
    } else {
        args.names
    };
    // BENCHMARKS.md keeps the sections in the benches' own order.
    let order: Vec<String> = Bench::value_variants().iter().map(|b| b.name()).collect();
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    for name in names {
        let run = report::begin(&name.name());
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
        run.finish(&report::document(), &order)?;
    }
    Ok(())
}

/// /proc/loadavg's three figures, to read the run's ratios against.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The median of some timings (the upper one of an even count).
pub fn median(mut timings: Vec<std::time::Duration>) -> std::time::Duration {
    timings.sort();
    timings[timings.len() / 2]
}
