//! Facts about a deployed node, as types that cannot hold a bad value: its
//! SSH host key ([`HostKey`]), its package manager ([`PackageManager`], with
//! the one mapping from the API's OS family and from /etc/os-release) and
//! the paths Fuel uses on it ([`paths`]).
//!
//! The `fuel` CLI, fuel-api, the package-task executor and the applier all
//! take these types; text is parsed once, at the first border it crosses
//! (a command-line argument, a request body, a database row), and serde goes
//! through the same parsers, so a bad value cannot be deserialized either.

mod host_key;
mod package_manager;
pub mod paths;

pub use host_key::{HostKey, HostKeyError, HOST_KEY_TYPES};
pub use package_manager::{os_family, PackageManager, UnknownPackageManager, OS_FAMILIES};
