//! Shared harness of the end-to-end tests: where the built artifacts are, and
//! which real tools a test needs. A missing tool is a failure, never a skip:
//! `cargo xtask test` installs them, so a missing one means the test bed is wrong.

pub mod api;
pub mod base_system;
pub mod build_cache;
pub mod fleet;
pub mod fuelclient;
pub mod http;
pub mod images;
pub mod install_root;
pub mod logins;
pub mod node;
pub mod node_repo;
pub mod package_tasks;
pub mod upgrade;

pub use fuel_test_bed::{postgres_url, require_tool};

use std::path::{Path, PathBuf};
use std::process::Output;

/// A finished command's status, stdout and stderr, for assertion and error messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The workspace root (the directory holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory `cargo xtask rpm` wrote the release set to (FUEL_RPMS_DIR, else target/rpms).
pub fn rpms_dir() -> PathBuf {
    let dir = std::env::var_os("FUEL_RPMS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/rpms"));
    assert!(
        dir.is_dir(),
        "{} does not exist: build the rpm set with `cargo xtask rpm` (or run `cargo xtask test`)",
        dir.display()
    );
    dir
}

/// A release binary of the workspace (target/release/NAME), as the rpms ship it.
pub fn release_binary(name: &str) -> PathBuf {
    let path = workspace_root().join("target/release").join(name);
    assert!(
        path.is_file(),
        "{} does not exist: run `cargo xtask rpm` (it builds the release binaries) or `cargo xtask test`",
        path.display()
    );
    path
}

/// The argon2 hash `fuel-api hash-password` (the packaged binary) prints for `password`.
pub fn fuel_api_password_hash(password: &str) -> String {
    api::password_hash(password).unwrap_or_else(|e| panic!("{e:#}"))
}
