//! The package-manipulation document of design 004 (`packages:` with versions
//! and `after` actions), checked before anything is stored or run, and the
//! applier's report schema.

mod block;
mod check;
mod document;
mod load;
mod names;
mod nearest;
mod problems;
pub mod report;
// Its own unit tests use the samples too.
#[cfg(any(test, feature = "test-support"))]
pub mod samples;
mod tree;

pub use check::MAX_PROBLEMS;
pub use document::{After, Document, Ensure, Package, Provider, Wanted};
pub use load::{MAX_DEPTH, MAX_NODES};
pub use names::{
    valid_package_name, valid_service_name, valid_version, MAX_ONE_LINER, MAX_PACKAGE_NAME,
    MAX_SERVICE_NAME, MAX_VERSION,
};

/// The longest `timeout` an after-action may be given: one day.
pub const MAX_ACTION_TIMEOUT_SECS: u64 = 24 * 60 * 60;
pub use problems::{Problem, Problems};

/// Larger documents are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// Reads and checks a document. On refusal, every problem found (at most
/// [`MAX_PROBLEMS`]), in document order; a document YAML cannot read, or one
/// beyond the limits, is one problem.
pub fn parse(bytes: &[u8]) -> Result<Document, Problems> {
    let (text, root) = load::load(bytes).map_err(|p| Problems(vec![p]))?;
    check::check(text, &root)
}
