//! The exact JSON of a refused package document, over plain HTTP: what a
//! client other than ours (curl, a script) sees.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::package_documents::raw_request;
use crate::support::{on_both_backends, release_and_cluster, Backend, TestApi};

on_both_backends!(refused_document_body_names_line_column_and_path);

async fn refused_document_body_names_line_column_and_path(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let response = raw_request(&api, &client, reqwest::Method::PUT, env.id)
        .header("Content-Type", "application/yaml")
        .body("packages:\n- name: tmux\n- name: screen\n- name: tmux\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    let object = body.as_object().expect("a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["field", "message", "problems"], "{body}");
    assert_eq!(body["field"], json!("packages[2].name"), "{body}");
    assert!(body["message"].as_str().unwrap().contains("nothing stored"));
    let problems = body["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{body}");
    let problem = &problems[0];
    assert_eq!(problem["line"], json!(4), "{body}");
    assert_eq!(problem["column"], json!(9), "{body}");
    assert_eq!(problem["path"], json!("packages[2].name"), "{body}");
    assert!(
        problem["message"].as_str().unwrap().contains("tmux"),
        "{body}"
    );
    assert!(
        problem
            .get("hint")
            .is_none_or(|hint| hint.is_null() || hint.is_string()),
        "{body}"
    );
    assert!(client
        .list_package_revisions(env.id)
        .await
        .unwrap()
        .is_empty());
    api.stop().await;
}
