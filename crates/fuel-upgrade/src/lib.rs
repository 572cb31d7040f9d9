//! Journaled package-based upgrade of the Fuel master node.
//!
//! After `dnf install fuel-X.Y.Z`, `fuel-upgrade` stops the old release's
//! containers, starts the new ones, applies file actions and registers
//! fixtures, as the plan says. Every action's intent and prior state are
//! journaled first, so a run killed at any instant is resumed or rolled back
//! exactly. The library serves its binary: [`Runner`] runs the commands.
//! Module map: crates/fuel-upgrade/ARCHITECTURE.md.

mod adapters;
mod error;
mod outcome;
mod plan;
mod report;
mod run;
mod runner;
mod state;
mod status;

pub use adapters::release_packages::ReleasePackagesError;
pub use error::RunError;
pub use outcome::{Exit, Outcome};
pub use plan::DEFAULT_PLAN;
pub use report::{ProgressLog, Report};
pub use runner::{default_log, Options, Runner};
pub use status::Status;
