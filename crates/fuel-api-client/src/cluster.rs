//! Clusters (environments): `/api/v1/clusters`.

use serde::{Deserialize, Serialize};

/// A cluster (environment) as `GET /api/v1/clusters[/{id}]` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub id: i64,
    pub name: String,
    pub release_id: i64,
}

/// Body of `POST /api/v1/clusters`: the name is unique (else 409), the release must exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCluster {
    pub name: String,
    pub release_id: i64,
}
