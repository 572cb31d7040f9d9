//! Error responses: a status and the JSON body of `fuel_api_client::ApiError`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use fuel_api_client::ApiError;

/// A request that failed, as the client will see it.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub body: ApiError,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure {
            status,
            body: ApiError::new(message),
        }
    }

    /// 400 naming the field of the request that is wrong.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            status: StatusCode::BAD_REQUEST,
            body: ApiError::for_field(field, message),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::CONFLICT, message)
    }

    /// 409 naming the field whose value another resource holds.
    pub fn conflict_on(field: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            status: StatusCode::CONFLICT,
            body: ApiError::for_field(field, message),
        }
    }

    /// The same failure for an entry of a list: its field becomes
    /// `PREFIX.field` (e.g. `[3].host_key`), or `PREFIX` when it named none.
    pub fn within(mut self, prefix: &str) -> Self {
        self.body.field = Some(match self.body.field.take() {
            Some(field) => format!("{prefix}.{field}"),
            None => prefix.to_string(),
        });
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Failure::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 500: the cause goes to the log, not to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error: see the fuel-api log",
        )
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::internal(format!("database: {e}"))
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, Failure>;
