//! `/clusters/{id}/package_manipulation`: an environment's package document
//! (design 004), stored byte for byte as revisions, with `ETag`/`If-Match`
//! so two operators cannot silently overwrite each other.
//!
//! `DELETE` records a revision without content: the history (who removed
//! it, when) stays, and the next upload continues the numbering.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use fuel_api_client::{ApiError, PackageRevision, YAML_CONTENT_TYPE};
use sha2::{Digest, Sha256};

use crate::auth::Session;
use crate::clock::now_rfc3339;
use crate::error::{ApiResult, Failure};
use crate::json_body::{numeric_id, read_body, ResourceId};
use crate::state::AppState;
use crate::store::{Appended, NewRevision, WriteError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/clusters/{id}/package_manipulation",
            get(download).put(upload).delete(remove),
        )
        .route("/clusters/{id}/package_manipulation/revisions", get(list))
        .route(
            "/clusters/{id}/package_manipulation/revisions/{revision}",
            get(show_revision),
        )
        // Documents have their own limit, the one fuel-pm parses to.
        .layer(DefaultBodyLimit::max(fuel_pm::MAX_DOCUMENT_BYTES))
}

/// How many times a write after `If-Match: *` tries again when another
/// write moved the document between its check and its write.
const WRITE_ATTEMPTS: usize = 8;

fn no_document(cluster_id: i64) -> Failure {
    Failure::not_found(format!(
        "no package document for environment {cluster_id}: upload one with fuel package --env {cluster_id} --upload FILE"
    ))
}

fn no_cluster(cluster_id: i64) -> Failure {
    Failure::not_found(format!(
        "no environment {cluster_id}: list them with fuel env (GET /api/v1/clusters)"
    ))
}

async fn require_cluster(state: &AppState, cluster_id: i64) -> Result<(), Failure> {
    match state.store.get_cluster(cluster_id).await? {
        Some(_) => Ok(()),
        None => Err(no_cluster(cluster_id)),
    }
}

/// A document's bytes as the answer: YAML, with its revision's ETag.
fn document(revision: &PackageRevision, content: Vec<u8>) -> Response {
    let mut response = (
        [(CONTENT_TYPE, HeaderValue::from_static(YAML_CONTENT_TYPE))],
        content,
    )
        .into_response();
    if let Ok(etag) = HeaderValue::from_str(&revision.etag) {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

async fn download(
    State(state): State<AppState>,
    ResourceId(cluster_id): ResourceId,
) -> ApiResult<Response> {
    match state.store.package_revision(cluster_id, None).await? {
        Some((revision, Some(content))) => Ok(document(&revision, content)),
        // A revision exists, so the environment does: its document was deleted.
        Some((_, None)) => Err(no_document(cluster_id)),
        None => {
            require_cluster(&state, cluster_id).await?;
            Err(no_document(cluster_id))
        }
    }
}

async fn list(
    State(state): State<AppState>,
    ResourceId(cluster_id): ResourceId,
) -> ApiResult<Json<Vec<PackageRevision>>> {
    require_cluster(&state, cluster_id).await?;
    Ok(Json(state.store.list_package_revisions(cluster_id).await?))
}

async fn show_revision(
    State(state): State<AppState>,
    Path((cluster_id, revision)): Path<(String, String)>,
) -> ApiResult<Response> {
    let cluster_id = numeric_id("id", &cluster_id)?;
    let number = numeric_id("revision", &revision)?;
    match state.store.package_revision(cluster_id, Some(number)).await? {
        Some((revision, Some(content))) => Ok(document(&revision, content)),
        Some((_, None)) => Err(Failure::not_found(format!(
            "revision {number} of environment {cluster_id} records the document's deletion: it has no content; list the revisions with fuel package --env {cluster_id} --revisions"
        ))),
        None => {
            require_cluster(&state, cluster_id).await?;
            Err(Failure::not_found(format!(
                "environment {cluster_id} has no revision {number} of its package document: list them with fuel package --env {cluster_id} --revisions"
            )))
        }
    }
}

/// Only `application/yaml` (parameters such as `charset` allowed) is a document.
fn require_yaml(headers: &HeaderMap) -> Result<(), Failure> {
    let given = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let media_type = given
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media_type.as_deref() == Some(YAML_CONTENT_TYPE) {
        return Ok(());
    }
    Err(Failure::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "the package document must be sent as Content-Type: {YAML_CONTENT_TYPE} (got {}): send the file's bytes as they are",
            given.as_deref().map_or("none".to_string(), |v| format!("`{}`", v.escape_debug()))
        ),
    ))
}

/// 400 listing every problem; `field` is the first problem's path.
fn refused(problems: fuel_pm::Problems) -> Failure {
    let first = problems
        .0
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let count = problems.0.len();
    Failure {
        status: StatusCode::BAD_REQUEST,
        body: ApiError {
            message: format!(
                "package document refused, nothing stored: {count} problem{}, the first at {first}",
                if count == 1 { "" } else { "s" }
            ),
            field: problems
                .0
                .iter()
                .map(|p| p.path.clone())
                .find(|path| !path.is_empty()),
            problems: problems.0,
        },
    }
}

/// The entity tags of an `If-Match` header (`*` kept as is); `None` without one.
fn if_match(headers: &HeaderMap) -> Option<Vec<String>> {
    let values: Vec<String> = headers
        .get_all(IF_MATCH)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|t| t.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty())
        .collect();
    (!values.is_empty()).then_some(values)
}

/// RFC 9110's If-Match with strong comparison: `*` matches any current
/// document, a tag only the current document's own.
fn precondition(
    cluster_id: i64,
    wanted: &[String],
    current: Option<&PackageRevision>,
) -> Result<(), Failure> {
    let matched =
        current.is_some_and(|current| wanted.iter().any(|tag| tag == "*" || *tag == current.etag));
    if matched {
        return Ok(());
    }
    let now = match current {
        Some(current) => format!(
            "it is now revision {} by {} at {} (ETag {})",
            current.revision, current.author, current.created_at, current.etag
        ),
        None => "the environment has no document now".to_string(),
    };
    Err(Failure::new(
        StatusCode::PRECONDITION_FAILED,
        format!(
            "the package document of environment {cluster_id} changed since you read it (If-Match: {}): {now}; download it again with fuel package --env {cluster_id} --download, redo your change and upload that",
            wanted.join(", ")
        ),
    ))
}

/// Writes the next revision (`content: None` deletes the document), honouring
/// `If-Match`. Returns the revision and whether a document existed before.
async fn write_revision(
    state: &AppState,
    cluster_id: i64,
    author: &str,
    wanted: Option<&[String]>,
    content: Option<&[u8]>,
) -> Result<(PackageRevision, bool), Failure> {
    let sha256 = content.map_or(String::new(), |c| format!("{:x}", Sha256::digest(c)));
    for _ in 0..WRITE_ATTEMPTS {
        // With If-Match: the revision that matched, which the write must follow.
        let after = match wanted {
            None => None,
            Some(wanted) => {
                let latest = state.store.latest_package_revision(cluster_id).await?;
                if latest.is_none() {
                    require_cluster(state, cluster_id).await?;
                }
                precondition(cluster_id, wanted, latest.as_ref().filter(|r| !r.deleted))?;
                latest.map(|r| r.revision)
            }
        };
        let created_at = now_rfc3339();
        let new = NewRevision {
            cluster_id,
            after,
            author,
            created_at: &created_at,
            content,
            sha256: &sha256,
        };
        match state.store.append_package_revision(&new).await {
            Ok(Appended::Stored {
                revision,
                had_document,
            }) => return Ok((revision, had_document)),
            Ok(Appended::NothingToDelete) => return Err(no_document(cluster_id)),
            // Another write came first: the next turn checks If-Match again,
            // and only `*` can still match.
            Ok(Appended::Stale) => {}
            Err(WriteError::Reference) => return Err(no_cluster(cluster_id)),
            Err(e @ WriteError::Duplicate) => return Err(Failure::internal(format!("{e:?}"))),
            Err(WriteError::Database(e)) => return Err(e.into()),
        }
    }
    Err(Failure::conflict(format!(
        "the package document of environment {cluster_id} is being changed by others right now: try again"
    )))
}

/// The author is the token's user: writes always pass the token check, so
/// the session is always there.
async fn upload(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ResourceId(cluster_id): ResourceId,
    request: Request,
) -> ApiResult<Response> {
    let headers = request.headers().clone();
    require_yaml(&headers)?;
    let body: Bytes = read_body(request, &state).await.map_err(|failure| {
        if failure.status == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the package document is larger than {} bytes, nothing stored: split the change into several documents",
                    fuel_pm::MAX_DOCUMENT_BYTES
                ),
            )
        } else {
            failure
        }
    })?;
    // Parsing a large document is CPU work: keep it off the async workers.
    let parsed = body.clone();
    let checked = tokio::task::spawn_blocking(move || fuel_pm::parse(&parsed).map(drop))
        .await
        .map_err(Failure::internal)?;
    if let Err(problems) = checked {
        // An unknown environment is said first; a valid document needs no
        // lookup: the write itself refuses an unknown environment.
        require_cluster(&state, cluster_id).await?;
        return Err(refused(problems));
    }
    let wanted = if_match(&headers);
    let (revision, replaced) = write_revision(
        &state,
        cluster_id,
        &session.username,
        wanted.as_deref(),
        Some(&body),
    )
    .await?;
    tracing::info!(
        cluster = cluster_id,
        revision = revision.revision,
        author = %revision.author,
        size = revision.size,
        "package document stored"
    );
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let etag = HeaderValue::from_str(&revision.etag).map_err(Failure::internal)?;
    Ok((status, [(ETAG, etag)], Json(revision)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ResourceId(cluster_id): ResourceId,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let wanted = if_match(&headers);
    let (revision, _) = write_revision(
        &state,
        cluster_id,
        &session.username,
        wanted.as_deref(),
        None,
    )
    .await?;
    tracing::info!(
        cluster = cluster_id,
        revision = revision.revision,
        author = %revision.author,
        "package document deleted"
    );
    Ok(StatusCode::NO_CONTENT)
}
