//! The typed client: one method per API call, HTTP statuses as `ClientError` variants.

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{
    ApiError, Cluster, Credentials, DeployTasks, Health, NewCluster, NewNode, NewRelease, NewTask,
    Node, NodeUpdate, PackageInventory, PackageRevision, Release, Task, TaskFilter, TaskProgress,
    TaskUpdate, Token, VersionInfo, AUTH_HEADER, YAML_CONTENT_TYPE,
};

/// What a call can fail with. The HTTP statuses callers act on have their
/// own variants (e.g. `Conflict` for a release that already exists).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid API URL `{url}`: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot reach the Fuel API at {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// 401: no token, or a wrong, expired or revoked one.
    #[error("not authorised ({0}): log in again and pass the token")]
    Unauthorized(ApiError),
    /// 404
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 409: e.g. a release with the same name and version exists already.
    #[error("conflict: {0}")]
    Conflict(ApiError),
    /// 400 or 413: the request body or query was refused; `field` names the
    /// culprit, `problems` lists every problem of a refused package document.
    #[error("invalid request (HTTP {status}): {error}")]
    Invalid { status: u16, error: ApiError },
    /// 412: the `If-Match` given is not the current document's entity tag:
    /// someone changed it since it was read. Download it again.
    #[error("the document changed since it was read ({0}): download it again and redo the change")]
    PreconditionFailed(ApiError),
    /// Any other non-success status.
    #[error("the Fuel API answered HTTP {status}: {error}")]
    Status { status: u16, error: ApiError },
    #[error("unexpected answer from {url}: {reason}")]
    Decode { url: String, reason: String },
}

impl ClientError {
    /// The HTTP status of the answer, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Unauthorized(_) => Some(401),
            ClientError::NotFound(_) => Some(404),
            ClientError::Conflict(_) => Some(409),
            ClientError::PreconditionFailed(_) => Some(412),
            ClientError::Invalid { status, .. } | ClientError::Status { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The error body the server sent, when it sent one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ClientError::Unauthorized(e)
            | ClientError::NotFound(e)
            | ClientError::Conflict(e)
            | ClientError::PreconditionFailed(e) => Some(e),
            ClientError::Invalid { error, .. } | ClientError::Status { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Typed async client of the master's REST API (paths under `/api/v1`).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    /// Scheme, host and optional prefix, without a trailing slash.
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of the API at `base_url`, e.g. `http://10.20.0.2:8000`.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let parsed = reqwest::Url::parse(base_url).map_err(|e| ClientError::InvalidUrl {
            url: base_url.to_string(),
            reason: e.to_string(),
        })?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(ClientError::InvalidUrl {
                url: base_url.to_string(),
                reason: "expected an http:// URL".to_string(),
            });
        }
        Ok(Client {
            http: reqwest::Client::new(),
            base: base_url.trim_end_matches('/').to_string(),
            token: None,
        })
    }

    /// The same client, sending `token` as `X-Auth-Token` on every call.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Exchanges a configured user's password for a token.
    pub async fn login(&self, username: &str, password: &str) -> Result<Token, ClientError> {
        let body = Credentials {
            username: username.to_string(),
            password: password.to_string(),
        };
        self.call(Method::POST, "/api/v1/auth/tokens", Some(&body))
            .await
    }

    /// Revokes this client's token: it is refused from now on.
    pub async fn revoke_token(&self) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, "/api/v1/auth/tokens").await
    }

    /// `GET /api/version` (public).
    pub async fn version(&self) -> Result<VersionInfo, ClientError> {
        self.call(Method::GET, "/api/version", None::<&()>).await
    }

    /// `GET /api/health`: fails with `Status { status: 503, .. }` when the database is down.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call(Method::GET, "/api/health", None::<&()>).await
    }

    pub async fn list_releases(&self) -> Result<Vec<Release>, ClientError> {
        self.call(Method::GET, "/api/v1/releases", None::<&()>)
            .await
    }

    pub async fn get_release(&self, id: i64) -> Result<Release, ClientError> {
        self.call(Method::GET, &format!("/api/v1/releases/{id}"), None::<&()>)
            .await
    }

    /// Fails with `ClientError::Conflict` when the name + version exists already.
    pub async fn create_release(&self, release: &NewRelease) -> Result<Release, ClientError> {
        self.call(Method::POST, "/api/v1/releases", Some(release))
            .await
    }

    /// Fails with `Conflict` while a cluster still uses the release.
    pub async fn delete_release(&self, id: i64) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/releases/{id}"))
            .await
    }

    pub async fn list_tasks(&self, filter: &TaskFilter) -> Result<Vec<Task>, ClientError> {
        let path = format!("/api/v1/tasks{}", filter.query_string());
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn get_task(&self, id: i64) -> Result<Task, ClientError> {
        self.call(Method::GET, &format!("/api/v1/tasks/{id}"), None::<&()>)
            .await
    }

    /// What changed in a package task since `since` (0: everything), without
    /// the reports; pass the answer's `cursor` next time.
    pub async fn task_progress(&self, id: i64, since: i64) -> Result<TaskProgress, ClientError> {
        self.call(
            Method::GET,
            &format!("/api/v1/tasks/{id}/nodes?since={since}"),
            None::<&()>,
        )
        .await
    }

    pub async fn create_task(&self, task: &NewTask) -> Result<Task, ClientError> {
        self.call(Method::POST, "/api/v1/tasks", Some(task)).await
    }

    pub async fn update_task_status(
        &self,
        id: i64,
        update: &TaskUpdate,
    ) -> Result<Task, ClientError> {
        self.call(Method::PUT, &format!("/api/v1/tasks/{id}"), Some(update))
            .await
    }

    /// Runs package tasks (`upload_pm`, `execute_pm`) on nodes of environment
    /// `cluster_id`; the answer is the started task (202), followed with
    /// [`Client::get_task`]. Tasks the requested ones require are added and
    /// listed in `added_tasks`.
    pub async fn deploy_tasks(
        &self,
        cluster_id: i64,
        request: &DeployTasks,
    ) -> Result<Task, ClientError> {
        self.call(
            Method::POST,
            &format!("/api/v1/clusters/{cluster_id}/deploy_tasks"),
            Some(request),
        )
        .await
    }

    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, ClientError> {
        self.call(Method::GET, "/api/v1/clusters", None::<&()>)
            .await
    }

    pub async fn get_cluster(&self, id: i64) -> Result<Cluster, ClientError> {
        self.call(Method::GET, &format!("/api/v1/clusters/{id}"), None::<&()>)
            .await
    }

    pub async fn create_cluster(&self, cluster: &NewCluster) -> Result<Cluster, ClientError> {
        self.call(Method::POST, "/api/v1/clusters", Some(cluster))
            .await
    }

    pub async fn delete_cluster(&self, id: i64) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/clusters/{id}"))
            .await
    }

    /// Every node, or those of one environment.
    pub async fn list_nodes(&self, cluster_id: Option<i64>) -> Result<Vec<Node>, ClientError> {
        let path = match cluster_id {
            Some(id) => format!("/api/v1/nodes?cluster_id={id}"),
            None => "/api/v1/nodes".to_string(),
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    pub async fn get_node(&self, id: i64) -> Result<Node, ClientError> {
        self.call(Method::GET, &format!("/api/v1/nodes/{id}"), None::<&()>)
            .await
    }

    /// Fails with `Invalid` naming the field (ip, host_key, cluster_id, …) or
    /// `Conflict` naming `hostname` or `ip` when another node has it.
    pub async fn create_node(&self, node: &NewNode) -> Result<Node, ClientError> {
        self.call(Method::POST, "/api/v1/nodes", Some(node)).await
    }

    /// Registers several nodes in one request, all or none (`Invalid` names
    /// the entry, e.g. `[3].host_key`).
    pub async fn create_nodes(&self, nodes: &[NewNode]) -> Result<Vec<Node>, ClientError> {
        self.call(Method::POST, "/api/v1/nodes", Some(nodes)).await
    }

    pub async fn update_node(&self, id: i64, update: &NodeUpdate) -> Result<Node, ClientError> {
        self.call(Method::PUT, &format!("/api/v1/nodes/{id}"), Some(update))
            .await
    }

    pub async fn delete_node(&self, id: i64) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &format!("/api/v1/nodes/{id}"))
            .await
    }

    /// Uploads `yaml` as the environment's package document, exactly these
    /// bytes. With `if_match` (an ETag from a download or a revision) the
    /// upload fails with `PreconditionFailed` if the document changed since;
    /// a refused document fails with `Invalid` listing every problem.
    pub async fn put_package_manipulation(
        &self,
        cluster_id: i64,
        yaml: &[u8],
        if_match: Option<&str>,
    ) -> Result<PackageRevision, ClientError> {
        let url = format!("{}{}", self.base, package_path(cluster_id));
        let mut request = self
            .request(Method::PUT, &url)
            .header(CONTENT_TYPE, YAML_CONTENT_TYPE)
            .body(yaml.to_vec());
        if let Some(etag) = if_match {
            request = request.header(IF_MATCH, etag);
        }
        let response = self.execute(request, &url).await?;
        json(response, url).await
    }

    /// The current document's bytes, exactly as uploaded, and its ETag.
    pub async fn get_package_manipulation(
        &self,
        cluster_id: i64,
    ) -> Result<(Vec<u8>, String), ClientError> {
        let url = format!("{}{}", self.base, package_path(cluster_id));
        let response = self.execute(self.request(Method::GET, &url), &url).await?;
        let etag = response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| ClientError::Decode {
                url: url.clone(),
                reason: "the document came without an ETag".to_string(),
            })?;
        Ok((bytes(response, &url).await?, etag))
    }

    /// Removes the environment's document (its revisions are kept, and the
    /// deletion is one of them).
    pub async fn delete_package_manipulation(&self, cluster_id: i64) -> Result<(), ClientError> {
        self.call_empty(Method::DELETE, &package_path(cluster_id))
            .await
    }

    /// Removes the document only if it is still the one tagged `etag`
    /// (else `PreconditionFailed`).
    pub async fn delete_package_manipulation_if_match(
        &self,
        cluster_id: i64,
        etag: &str,
    ) -> Result<(), ClientError> {
        let url = format!("{}{}", self.base, package_path(cluster_id));
        let request = self.request(Method::DELETE, &url).header(IF_MATCH, etag);
        self.execute(request, &url).await.map(drop)
    }

    /// Every revision of the environment's document, oldest first.
    pub async fn list_package_revisions(
        &self,
        cluster_id: i64,
    ) -> Result<Vec<PackageRevision>, ClientError> {
        let path = format!("{}/revisions", package_path(cluster_id));
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// The bytes of one revision of the environment's document.
    pub async fn get_package_revision(
        &self,
        cluster_id: i64,
        revision: i64,
    ) -> Result<Vec<u8>, ClientError> {
        let url = format!(
            "{}{}/revisions/{revision}",
            self.base,
            package_path(cluster_id)
        );
        let response = self.execute(self.request(Method::GET, &url), &url).await?;
        bytes(response, &url).await
    }

    /// The environment's package inventory: each package's versions and the
    /// nodes running them, as last observed; `package` narrows it to one,
    /// `drift` keeps only what differs between nodes or from the document.
    pub async fn package_inventory(
        &self,
        cluster_id: i64,
        package: Option<&str>,
        drift: bool,
    ) -> Result<PackageInventory, ClientError> {
        let url = format!(
            "{}/api/v1/clusters/{cluster_id}/package_inventory",
            self.base
        );
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(package) = package {
            query.push(("package", package));
        }
        if drift {
            query.push(("drift", "1"));
        }
        let response = self
            .execute(self.request(Method::GET, &url).query(&query), &url)
            .await?;
        json(response, url).await
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.send(method, &url, body).await?;
        json(response, url).await
    }

    async fn call_empty(&self, method: Method, path: &str) -> Result<(), ClientError> {
        let url = format!("{}{path}", self.base);
        self.send(method, &url, None::<&()>).await.map(drop)
    }

    /// A request carrying the token, if this client has one.
    fn request(&self, method: Method, url: &str) -> RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(token) => request.header(AUTH_HEADER, token),
            None => request,
        }
    }

    /// Sends the request with `body` as JSON.
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ClientError> {
        let mut request = self.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.execute(request, url).await
    }

    /// Sends the request; a non-success status becomes the matching error.
    async fn execute(
        &self,
        request: RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Transport {
                url: url.to_string(),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let error = serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| {
            ApiError::new(if text.is_empty() {
                status.to_string()
            } else {
                text
            })
        });
        Err(match status {
            StatusCode::UNAUTHORIZED => ClientError::Unauthorized(error),
            StatusCode::NOT_FOUND => ClientError::NotFound(error),
            StatusCode::CONFLICT => ClientError::Conflict(error),
            StatusCode::PRECONDITION_FAILED => ClientError::PreconditionFailed(error),
            StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => ClientError::Invalid {
                status: status.as_u16(),
                error,
            },
            _ => ClientError::Status {
                status: status.as_u16(),
                error,
            },
        })
    }
}

fn package_path(cluster_id: i64) -> String {
    format!("/api/v1/clusters/{cluster_id}/package_manipulation")
}

async fn bytes(response: reqwest::Response, url: &str) -> Result<Vec<u8>, ClientError> {
    response
        .bytes()
        .await
        .map(|bytes| bytes.to_vec())
        .map_err(|source| ClientError::Transport {
            url: url.to_string(),
            source,
        })
}

async fn json<T: DeserializeOwned>(
    response: reqwest::Response,
    url: String,
) -> Result<T, ClientError> {
    let bytes = bytes(response, &url).await?;
    serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
        url,
        reason: e.to_string(),
    })
}
