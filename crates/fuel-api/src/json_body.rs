//! Request bodies: JSON whose errors name the field (axum's own rejections do
//! not, in no stable shape), with the body size limit answered as 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::Failure;

/// A JSON body of type `T`; refused with 400 (field named) or 413.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Failure> {
        let bytes = read_body(request, state).await?;
        parse(&bytes).map(JsonBody)
    }
}

/// The whole body, within the route's `DefaultBodyLimit` (413 beyond it).
pub async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, Failure> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body is too large: send less (see body_limit_bytes)",
                )
            } else {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {rejection}"),
                )
            }
        })
}

/// Parses a JSON document, naming the offending field in the error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "request body is empty: send a JSON object",
        ));
    }
    // serde would also take a struct as an array of its fields: refuse that shape.
    if !is_object(bytes) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "malformed JSON: the body must be a JSON object, `{...}`",
        ));
    }
    parse_value(bytes)
}

/// Whether the body is a JSON object (else, e.g., a list of them).
pub fn is_object(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// [`parse`] without the object check: a list of objects (`[{…}, …]`), whose
/// errors name the entry (`[3].host_key`).
pub fn parse_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                Failure::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {inner}"))
            }
            Category::Data => {
                let message = inner.to_string();
                // serde_path_to_error's path ends at an unknown field but stops
                // at the object missing one.
                let field = match missing_field(&message) {
                    Some(name) if path == "." => name.to_string(),
                    Some(name) => format!("{path}.{name}"),
                    None => path,
                };
                if field == "." {
                    Failure::new(StatusCode::BAD_REQUEST, message)
                } else {
                    Failure::invalid(field, message)
                }
            }
        }
    })?;
    deserializer
        .end()
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// The field serde names in "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The `key=value` pairs of a query string; a malformed one is a 400.
pub fn parse_query(query: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    serde_urlencoded::from_str(query.unwrap_or("")).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("malformed query string: {e}"),
        )
    })
}

/// A numeric id given as the query or path parameter `name` (e.g.
/// `?cluster_id=3`); anything else is a 400 naming it.
pub fn numeric_id(name: &str, value: &str) -> Result<i64, Failure> {
    value
        .parse()
        .map_err(|_| Failure::invalid(name, format!("`{value}` is not a numeric {name}")))
}

/// The numeric `{id}` of a resource path; anything else is a 400 naming `id`.
pub struct ResourceId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| Failure::invalid("id", e.to_string()))?;
        numeric_id("id", &raw).map(ResourceId)
    }
}

/// 400 unless `value` has visible text (names must not be blank).
pub fn require_text(field: &str, value: &str) -> Result<(), Failure> {
    if value.trim().is_empty() {
        return Err(Failure::invalid(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.len() > 255 {
        return Err(Failure::invalid(
            field,
            format!("{field} is longer than 255 bytes"),
        ));
    }
    Ok(())
}
