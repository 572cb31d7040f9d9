//! The test bed `cargo xtask test` prepares, as the tests see it: the real
//! tools it installs ([`require_tool`]) and the PostgreSQL server it starts
//! ([`postgres_url`]). A missing tool or server fails the test with the
//! remedy, never skips it: `cargo xtask test` provides them, so a missing one
//! means the test bed is wrong.
//!
//! Its own crate, without dependencies, so every crate's tests can use it
//! (fuel-rpm's, fuel-api's) while the end-to-end crate, which depends on
//! those crates, re-exports it.

use std::path::PathBuf;
use std::process::Command;

/// The variable that gives the tests the PostgreSQL server's URL.
pub const POSTGRES_URL_ENV: &str = "FUEL_TEST_POSTGRES_URL";

/// The role (allowed to create databases) and database `cargo xtask test`
/// prepares on the local PostgreSQL server, and passes as [`POSTGRES_URL_ENV`].
pub const POSTGRES_URL: &str = "postgres://fuel:fuel@127.0.0.1:5432/fuel_test";

/// Path of a real tool on PATH; panics with the remedy when it is missing.
pub fn require_tool(name: &str) -> PathBuf {
    let out = Command::new("sh")
        .arg("-c")
        .arg("command -v \"$1\"")
        .arg("sh")
        .arg(name)
        .output()
        .expect("running sh");
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && !path.is_empty(),
        "`{name}` is not installed: run the suite with `cargo xtask test`, which installs it"
    );
    PathBuf::from(path)
}

/// The PostgreSQL URL `cargo xtask test` prepared (a role that may create
/// databases); panics with the remedy when the suite was started without it.
pub fn postgres_url() -> String {
    std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| {
        panic!("{POSTGRES_URL_ENV} is not set: run the suite with `cargo xtask test`, which starts PostgreSQL")
    })
}

/// The URL of another database on the server and role of `url` (query kept).
pub fn database_url(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let server = base
        .rsplit_once('/')
        .map(|(server, _)| server)
        .unwrap_or(base);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_database_keeps_server_role_and_options() {
        assert_eq!(
            database_url(POSTGRES_URL, "fuel_api_bench"),
            "postgres://fuel:fuel@127.0.0.1:5432/fuel_api_bench"
        );
        assert_eq!(
            database_url("postgres://u@h/db?sslmode=disable", "other"),
            "postgres://u@h/other?sslmode=disable"
        );
    }
}
