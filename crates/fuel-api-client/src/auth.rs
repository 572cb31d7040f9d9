//! Logging in: the credentials sent and the token issued.

use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/auth/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// A token issued by `POST /api/v1/auth/tokens`; send it as `X-Auth-Token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub token: String,
    /// When the token stops being accepted, in seconds since the Unix epoch.
    pub expires_at: i64,
}
