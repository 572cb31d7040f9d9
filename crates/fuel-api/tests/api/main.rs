//! The REST service over a real socket, every test on SQLite and on PostgreSQL.

mod support;

mod auth;
mod clusters;
mod durability;
mod nodes;
mod public_endpoints;
mod releases;
mod tasks;
mod validation;
