//! The built `fuel` binary against a real fuel-api over a real socket, every
//! test on SQLite and on PostgreSQL (FUEL_TEST_POSTGRES_URL, which `cargo
//! xtask test` prepares).

// fuel-api's own harness: one way to start a server on a fresh database.
mod support {
    pub use fuel_api::test_support::*;
}

mod fuel;

mod connection;
mod environments;
mod habits;
mod nodes;
mod offline;
mod packages;
