//! Journaled package-based upgrade of the Fuel master node.
//!
//! After `dnf install fuel-X.Y.Z`, `fuel-upgrade` stops the old release's
//! containers, starts the new ones, applies file actions and registers
//! fixtures, as a [`plan::Plan`] says. Every action's intent and prior state
//! are journaled first ([`journal`]), so a run killed at any instant is
//! resumed or rolled back exactly ([`runner::Runner`]).

pub mod atomic;
pub mod engine;
pub mod fault;
pub mod files;
pub mod fixtures;
pub mod health;
pub mod journal;
pub mod master;
pub mod plan;
pub mod preflight;
pub mod release_packages;
pub mod report;
pub mod runner;

pub use plan::{Plan, PlanError};
pub use report::Report;
pub use runner::{Options, RunError, Runner, Status};
