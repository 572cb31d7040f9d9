//! Everything `cargo xtask rpm` does, as a library: data in, packages out.
//!
//! - [`package`]: the resolved description of one rpm ([`PackageDef`]), the
//!   contract between the spec loader and the builder.
//! - `spec`: TOML specs (and cargo-generate-rpm metadata) → checked [`PackageDef`]s.
//! - `build`: [`PackageDef`] → signed, reproducible `.rpm` file, streaming.
//! - `repo`: a directory of rpms → `repodata/` that dnf accepts.

pub mod build;
pub mod package;

pub use package::*;
