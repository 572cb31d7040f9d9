//! The package-manipulation document of an environment
//! (`/api/v1/clusters/{id}/package_manipulation`): its revisions as JSON.
//! The document itself travels as YAML bytes, exactly as uploaded.

use serde::{Deserialize, Serialize};

/// The media type documents are uploaded and downloaded as.
pub const YAML_CONTENT_TYPE: &str = "application/yaml";

/// One accepted upload (or deletion) of an environment's package document,
/// as `GET …/package_manipulation/revisions` lists them and `PUT` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRevision {
    /// 1, 2, … per environment.
    pub revision: i64,
    pub cluster_id: i64,
    /// The user whose token made the change.
    pub author: String,
    /// RFC 3339, UTC (`2024-05-01T12:34:56Z`).
    pub created_at: String,
    /// Lower-case hex sha256 of the document's bytes; empty for a deletion.
    pub sha256: String,
    /// The document's size in bytes; 0 for a deletion.
    pub size: u64,
    /// The entity tag of this revision's document, quotes included, ready
    /// for `If-Match`; empty for a deletion.
    pub etag: String,
    /// This revision records a `DELETE`: the environment had no document from
    /// then until the next upload.
    #[serde(default)]
    pub deleted: bool,
}
