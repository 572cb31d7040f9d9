//! The JSON body of every error response.

use serde::{Deserialize, Serialize};

/// The JSON body of every error response: what went wrong, and which field
/// of the request caused it when one did (e.g. `"version"`, `"release_id"`,
/// `"packages[2].name"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A refused package document: every problem, each with its line,
    /// column and path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<fuel_pm::Problem>,
}

impl ApiError {
    pub fn new(message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            field: None,
            problems: Vec::new(),
        }
    }

    pub fn for_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            message: message.into(),
            field: Some(field.into()),
            problems: Vec::new(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
