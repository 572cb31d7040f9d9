//! Everything `cargo xtask rpm` does, as a library: data in, packages out.
//!
//! - [`package`]: the resolved description of one rpm ([`PackageDef`]), the
//!   contract between the spec loader and the builder.
//! - [`spec`]: TOML specs (and cargo-generate-rpm metadata) → [`PackageDef`]s;
//!   [`lint`] checks them first, naming file and field.
//! - [`release`]: the release set ([`release::ReleaseBuild`]): specs + options →
//!   built packages; what `cargo xtask rpm` runs and tests call.
//! - `build`: [`PackageDef`] → signed, reproducible `.rpm` file, streaming.
//! - [`repo`]: a directory of rpms → `repodata/` that dnf accepts.

pub mod build;
pub mod lint;
pub mod package;
pub mod release;
pub mod repo;
pub mod spec;

pub use package::*;
