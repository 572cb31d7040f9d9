//! The health check's answer: `/api/health`.

use serde::{Deserialize, Serialize};

/// Body of `GET /api/health`: `status` is "ok" when the database answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub database: String,
}
