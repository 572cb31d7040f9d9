//! What python-fuelclient 11.0.0 needs of the API, over plain HTTP as that
//! client sends it: Keystone v2.0's token request, trailing slashes, Nailgun's
//! fields on nodes, environments and transactions, and `PUT deploy_tasks`.
//! (The real client runs against the packaged fuel-api in
//! tests/tests/fuelclient.rs.)

use fuel_api_client::{Cluster, Node};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::nodes::new_node;
use crate::support::{
    on_both_backends, release_and_cluster, Backend, TestApi, ADMIN, ADMIN_PASSWORD,
};

on_both_backends!(
    keystone_v2_password_then_token_flow_gives_an_ordinary_token,
    every_path_also_answers_with_a_trailing_slash_and_nailgun_fields,
    put_deploy_tasks_checks_the_query_and_the_list_body_like_the_post_form
);

async fn send(
    api: &TestApi,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", api.url()));
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    (status, body)
}

/// `GET path` with the token.
async fn read(api: &TestApi, token: &str, path: &str) -> (StatusCode, Value) {
    send(api, reqwest::Method::GET, path, Some(token), None).await
}

/// The `message` of an error answer.
fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

/// A server with an environment and one node in it, and the admin's client and token.
async fn with_a_node(
    backend: Backend,
) -> (TestApi, fuel_api_client::Client, String, Cluster, Node) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let token = client.token().unwrap().to_string();
    let (_, env) = release_and_cluster(&client, "env").await;
    let node = client
        .create_node(&new_node("node-1", "10.20.0.3", Some(env.id)))
        .await
        .unwrap();
    (api, client, token, env, node)
}

async fn keystone_v2_password_then_token_flow_gives_an_ordinary_token(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let post = reqwest::Method::POST;
    // fuelclient asks first whether it must log in, without a token.
    let (status, version) = send(&api, reqwest::Method::GET, "/api/v1/version", None, None).await;
    assert_eq!(
        (status, &version["auth_required"]),
        (StatusCode::OK, &json!(true))
    );

    let password = json!({"auth": {"passwordCredentials": {"username": ADMIN, "password": ADMIN_PASSWORD}, "tenantName": "admin"}});
    let (status, access) = send(
        &api,
        post.clone(),
        "/keystone/v2.0/tokens",
        None,
        Some(password),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{access}");
    let token = access["access"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tenant = access["access"]["token"]["tenant"]["id"].clone();
    assert!(access["access"]["token"]["expires"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(access["access"]["serviceCatalog"], json!([]));
    assert_eq!(access["access"]["user"]["name"], ADMIN);

    // Then it scopes the token it got: the same token comes back.
    let rescope = json!({"auth": {"token": {"id": token}, "tenantId": tenant}});
    let (status, again) = send(
        &api,
        post.clone(),
        "/keystone/v2.0/tokens/",
        Some(&token),
        Some(rescope),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["access"]["token"]["id"], json!(token));
    assert_eq!(
        again["access"]["token"]["expires"],
        access["access"]["token"]["expires"]
    );

    // An ordinary fuel-api token: it writes, and the native revocation ends it.
    let client = api.anonymous().with_token(token.clone());
    client
        .create_release(&crate::support::release("Liberty", "liberty-8.0"))
        .await
        .unwrap();
    client.revoke_token().await.unwrap();
    let rescope = json!({"auth": {"token": {"id": token}, "tenantId": "admin"}});
    let (status, _) = send(
        &api,
        post.clone(),
        "/keystone/v2.0/tokens",
        None,
        Some(rescope),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A wrong password or user is 401, as Keystone answered.
    for (user, pass) in [(ADMIN, "wrong"), ("nobody", ADMIN_PASSWORD)] {
        let body = json!({"auth": {"passwordCredentials": {"username": user, "password": pass}, "tenantName": "admin"}});
        let (status, refused) = send(
            &api,
            post.clone(),
            "/keystone/v2.0/tokens",
            None,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
        assert!(refused["message"].is_string(), "{refused}");
    }
    // Another tenant does not exist here.
    let body = json!({"auth": {"passwordCredentials": {"username": ADMIN, "password": ADMIN_PASSWORD}, "tenantName": "services"}});
    let (status, refused) = send(
        &api,
        post.clone(),
        "/keystone/v2.0/tokens",
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message(&refused).contains("tenantName"), "{refused}");

    // Nothing else of Keystone: a 404 with a JSON message.
    for (method, path) in [
        (reqwest::Method::GET, "/keystone/v2.0/tokens"),
        (reqwest::Method::GET, "/keystone/v2.0/tenants"),
        (reqwest::Method::POST, "/keystone/v3/auth/tokens"),
        (reqwest::Method::GET, "/keystone"),
    ] {
        let (status, body) = send(&api, method.clone(), path, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        assert!(message(&body).contains("/keystone/v2.0/tokens"), "{body}");
    }
    api.stop().await;
}

async fn every_path_also_answers_with_a_trailing_slash_and_nailgun_fields(backend: Backend) {
    let (api, client, token, env, node) = with_a_node(backend).await;

    let (status, nodes) = read(&api, &token, "/api/v1/nodes/").await;
    assert_eq!(status, StatusCode::OK, "{nodes}");
    let served = &nodes[0];
    for (field, value) in [
        ("id", json!(node.id)),
        ("name", json!("node-1")),
        ("status", json!("ready")),
        ("cluster", json!(env.id)),
        ("ip", json!("10.20.0.3")),
        ("roles", json!([])),
        ("pending_roles", json!([])),
        ("mac", Value::Null),
        ("online", Value::Null),
        ("group_id", Value::Null),
        ("hostname", json!("node-1")),
        ("cluster_id", json!(env.id)),
    ] {
        assert_eq!(served[field], value, "{field} in {served}");
    }
    let (status, shown) = read(&api, &token, &format!("/api/v1/nodes/{}/", node.id)).await;
    assert_eq!(
        (status, &shown["cluster"]),
        (StatusCode::OK, &json!(env.id))
    );
    let (status, filtered) = read(
        &api,
        &token,
        &format!("/api/v1/nodes/?cluster_id={}", env.id),
    )
    .await;
    assert_eq!(
        (status, filtered.as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );

    let (status, envs) = read(&api, &token, "/api/v1/clusters/").await;
    assert_eq!(status, StatusCode::OK);
    let first = &envs[0];
    assert_eq!(
        (&first["id"], &first["name"], &first["release_id"]),
        (&json!(env.id), &json!("env"), &json!(env.release_id))
    );
    assert!(first.as_object().unwrap().contains_key("status"), "{first}");
    let (status, _) = read(&api, &token, &format!("/api/v1/clusters/{}/", env.id)).await;
    assert_eq!(status, StatusCode::OK);

    let task = client
        .create_task(&crate::support::task("deploy", Some(env.id)))
        .await
        .unwrap();
    let (status, transactions) = read(&api, &token, "/api/v1/transactions/").await;
    assert_eq!(status, StatusCode::OK);
    let listed = &transactions[0];
    assert_eq!(
        (
            &listed["id"],
            &listed["name"],
            &listed["cluster"],
            &listed["status"],
            &listed["progress"]
        ),
        (
            &json!(task.id),
            &json!("deploy"),
            &json!(env.id),
            &json!("pending"),
            &json!(0)
        )
    );
    assert!(listed.as_object().unwrap().contains_key("uuid"), "{listed}");
    for (query, count) in [
        ("?cluster_id=1&statuses=pending,ready", 1),
        ("?statuses=error", 0),
        ("?transaction_types=deploy", 1),
        ("?transaction_types=execute_pm", 0),
    ] {
        let (status, found) = read(&api, &token, &format!("/api/v1/transactions/{query}")).await;
        assert_eq!(
            (status, found.as_array().unwrap().len()),
            (StatusCode::OK, count),
            "{query}: {found}"
        );
    }
    let (status, shown) = read(&api, &token, &format!("/api/v1/transactions/{}/", task.id)).await;
    assert_eq!(
        (status, &shown["cluster"]),
        (StatusCode::OK, &json!(env.id))
    );

    // The typed client still reads every answer.
    assert_eq!(client.list_nodes(Some(env.id)).await.unwrap(), vec![node]);
    assert_eq!(client.list_clusters().await.unwrap(), vec![env]);

    // An unknown path under /api names it, without sending the caller to /api/v1.
    let (status, body) = read(&api, &token, "/api/v1/nodez/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], json!("no resource at /api/v1/nodez"));
    let (status, body) = read(&api, &token, "/v1/nodes").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        message(&body).ends_with("the API lives under /api/v1"),
        "{body}"
    );
    api.stop().await;
}

async fn put_deploy_tasks_checks_the_query_and_the_list_body_like_the_post_form(backend: Backend) {
    let (api, client, token, env, node) = with_a_node(backend).await;
    let put = reqwest::Method::PUT;
    let url = |query: &str| format!("/api/v1/clusters/{}/deploy_tasks/?{query}", env.id);
    let cases = [
        (
            url(&format!("nodes={}&force=1", node.id)),
            json!(["execute_pm"]),
            "force",
        ),
        (url("nodes=2,x"), json!(["execute_pm"]), "nodes"),
        (
            url(&format!("nodes={}", node.id)),
            json!({"tasks": ["execute_pm"]}),
            "tasks",
        ),
        (
            url(&format!("nodes={}", node.id)),
            json!(["rm -rf"]),
            "tasks[0]",
        ),
        (url("nodes=99"), json!(["execute_pm"]), "nodes"),
        (
            url(&format!("nodes={}&noop_run=maybe", node.id)),
            json!(["execute_pm"]),
            "noop_run",
        ),
        (
            url(&format!("nodes={}&dry_run=1", node.id)),
            json!(["execute_pm"]),
            "dry_run",
        ),
    ];
    for (path, body, field) in cases {
        let (status, refused) = send(&api, put.clone(), &path, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {refused}");
        assert_eq!(refused["field"], json!(field), "{path}: {refused}");
    }
    // The same checks as POST: no document yet is a conflict naming it.
    let (status, refused) = send(
        &api,
        put.clone(),
        &url(&format!("nodes={}&noop_run=1", node.id)),
        Some(&token),
        Some(json!(["execute_pm"])),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["field"], json!("package_manipulation"));
    // And it needs a token, as every write does.
    let (status, _) = send(
        &api,
        put,
        &url(&format!("nodes={}", node.id)),
        None,
        Some(json!(["execute_pm"])),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        client
            .list_tasks(&Default::default())
            .await
            .unwrap()
            .is_empty(),
        "nothing was started"
    );
    api.stop().await;
}
