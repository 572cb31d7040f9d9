//! Bad bodies, paths and queries: 400 or 413 with a JSON error naming the
//! field, and nothing stored.

use fuel_api_client::{ApiError, TaskFilter};
use reqwest::{Method, StatusCode};

use crate::support::{on_both_backends, Backend, TestApi};

on_both_backends!(
    release_bodies_are_validated,
    oversize_body_is_413,
    task_and_cluster_inputs_are_validated,
    unknown_paths_and_methods_answer_json
);

/// Sends `body` as is and returns the status and the JSON error.
async fn send(
    api: &TestApi,
    token: &str,
    method: Method,
    path: &str,
    body: &str,
) -> (StatusCode, ApiError) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", api.url()))
        .header("X-Auth-Token", token)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let error = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("error body is not the JSON error ({e}): {text}"));
    (status, error)
}

async fn release_bodies_are_validated(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let token = client.token().unwrap().to_string();
    let cases: &[(&str, Option<&str>, &str)] = &[
        // body, field named, words in the message
        (
            r#"{"name": "Liberty", "version": "8.0""#,
            None,
            "malformed JSON",
        ),
        (r#"not json"#, None, "malformed JSON"),
        ("", None, "empty"),
        (
            r#"{"name": "Liberty", "version": "8.0", "operating_system": "CentOS"} trailing"#,
            None,
            "malformed JSON",
        ),
        (
            r#"{"name": "Liberty", "operating_system": "CentOS"}"#,
            Some("version"),
            "missing field",
        ),
        (
            r#"{"name": "Liberty", "version": "8.0", "operating_system": "CentOS", "colour": "red"}"#,
            Some("colour"),
            "unknown field",
        ),
        (
            r#"{"name": "Liberty", "version": 8, "operating_system": "CentOS"}"#,
            Some("version"),
            "invalid type",
        ),
        (
            r#"{"name": "Liberty", "version": "8.0", "operating_system": "CentOS", "state": "shiny"}"#,
            Some("state"),
            "unknown variant",
        ),
        (
            r#"{"name": "  ", "version": "8.0", "operating_system": "CentOS"}"#,
            Some("name"),
            "empty",
        ),
        (r#"["Liberty", "8.0", "CentOS"]"#, None, "JSON object"),
    ];
    for (body, field, words) in cases {
        let (status, error) = send(&api, &token, Method::POST, "/api/v1/releases", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error:?}");
        if field.is_some() {
            assert_eq!(error.field.as_deref(), *field, "{body}: {error:?}");
        }
        assert!(
            error.message.contains(words),
            "{body}: {error:?} should say {words}"
        );
    }
    let (status, error) = send(&api, &token, Method::GET, "/api/v1/releases/abc", "").await;
    assert_eq!(
        (status, error.field.as_deref()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    assert!(
        client.list_releases().await.unwrap().is_empty(),
        "nothing stored"
    );
    api.stop().await;
}

async fn oversize_body_is_413(backend: Backend) {
    let api = TestApi::start(backend, |config| config.body_limit_bytes = 1024).await;
    let client = api.admin().await;
    let token = client.token().unwrap().to_string();
    let body = format!(
        r#"{{"name": "Liberty", "version": "8.0", "operating_system": "CentOS", "description": "{}"}}"#,
        "x".repeat(2000)
    );
    let (status, error) = send(&api, &token, Method::POST, "/api/v1/releases", &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error:?}");
    assert!(error.message.contains("too large"), "{error:?}");
    assert!(
        client.list_releases().await.unwrap().is_empty(),
        "nothing stored"
    );
    // Under the limit the same kind of body is accepted.
    let body = body.replace(&"x".repeat(2000), "small");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/releases", api.url()))
        .header("X-Auth-Token", &token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(client.list_releases().await.unwrap().len(), 1);
    api.stop().await;
}

async fn task_and_cluster_inputs_are_validated(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let token = client.token().unwrap().to_string();
    let cases: &[(Method, &str, &str, &str)] = &[
        (
            Method::POST,
            "/api/v1/tasks",
            r#"{"name": "deploy", "progress": 101}"#,
            "progress",
        ),
        (
            Method::POST,
            "/api/v1/tasks",
            r#"{"name": "deploy", "progress": -1}"#,
            "progress",
        ),
        (
            Method::POST,
            "/api/v1/tasks",
            r#"{"name": "deploy", "status": "sleeping"}"#,
            "status",
        ),
        (
            Method::POST,
            "/api/v1/tasks",
            r#"{"status": "running"}"#,
            "name",
        ),
        (
            Method::POST,
            "/api/v1/tasks",
            r#"{"name": "deploy", "cluster_id": "one"}"#,
            "cluster_id",
        ),
        (
            Method::PUT,
            "/api/v1/tasks/1",
            r#"{"progress": 5}"#,
            "status",
        ),
        (
            Method::POST,
            "/api/v1/clusters",
            r#"{"name": "env"}"#,
            "release_id",
        ),
        (
            Method::POST,
            "/api/v1/clusters",
            r#"{"name": "env", "release_id": 1, "mode": "ha"}"#,
            "mode",
        ),
        (Method::GET, "/api/v1/tasks?status=sleeping", "", "status"),
        (Method::GET, "/api/v1/tasks?cluster_id=x", "", "cluster_id"),
        (Method::GET, "/api/v1/tasks?owner=me", "", "owner"),
    ];
    for (method, path, body, field) in cases {
        let (status, error) = send(&api, &token, method.clone(), path, body).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {error:?}"
        );
        assert_eq!(
            error.field.as_deref(),
            Some(*field),
            "{method} {path} {body}: {error:?}"
        );
    }
    assert!(
        client
            .list_tasks(&TaskFilter::default())
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    assert!(
        client.list_clusters().await.unwrap().is_empty(),
        "nothing stored"
    );
    api.stop().await;
}

async fn unknown_paths_and_methods_answer_json(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let token = api.admin().await.token().unwrap().to_string();
    let (status, error) = send(&api, &token, Method::GET, "/api/v1/volumes", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error.message.contains("/api/v1/volumes"), "{error:?}");
    let (status, error) = send(&api, &token, Method::PATCH, "/api/v1/releases", "{}").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error.message.contains("/api/v1/releases"), "{error:?}");
    api.stop().await;
}
