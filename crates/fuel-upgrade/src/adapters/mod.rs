//! The adapters to the outside: the Docker engine and the health probes, the
//! files and links under `--root`, the master API and its fixtures, the
//! release packages in the rpm database. The run acts only through these.

pub(crate) mod atomic;
pub(crate) mod engine;
pub(crate) mod files;
pub(crate) mod fixtures;
pub(crate) mod health;
pub(crate) mod master;
pub(crate) mod release_packages;
