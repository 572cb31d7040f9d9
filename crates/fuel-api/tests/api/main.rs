//! The REST service over a real socket, every test on SQLite and on PostgreSQL.

// The harness, shared with fuel-cli's tests.
mod support {
    pub use fuel_api::test_support::*;
}

mod auth;
mod clusters;
mod durability;
mod inventory;
mod nailgun;
mod nodes;
mod package_documents;
mod package_errors_http;
mod public_endpoints;
mod releases;
mod tasks;
mod validation;
