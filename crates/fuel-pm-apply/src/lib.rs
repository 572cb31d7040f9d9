//! fuel-pm-apply: applies the package-manipulation document (design 004) on a
//! deployed node with the node's own package manager (apt/dpkg or dnf/rpm),
//! verifies the result and runs the after-actions durably.

pub mod actions;
pub mod apply;
pub mod backend;
pub mod collateral;
pub mod command;
pub mod fault;
pub mod lock;
pub mod render;
pub mod resolve;
pub mod state;
pub mod version;

pub use apply::{apply, Options, RunError};
