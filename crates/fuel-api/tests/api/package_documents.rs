//! Package documents per environment: exact bytes in and out, revisions with
//! author and time, optimistic concurrency, and every refusal storing nothing.

use fuel_api::User;
use fuel_api_client::{Client, ClientError, PackageRevision};

use crate::support::{cheap_hash, on_both_backends, release_and_cluster, Backend, TestApi};

on_both_backends!(
    design_example_round_trips_byte_identical,
    uploads_are_revisions_with_author_and_time,
    stale_if_match_is_412_and_stores_nothing,
    concurrent_writers_with_one_etag_store_one_revision_and_others_all_land,
    delete_is_a_revision_and_then_get_is_404,
    refused_documents_list_every_problem_and_store_nothing,
    oversize_document_is_413,
    wrong_content_type_is_415,
    unknown_environment_is_404,
    uploads_to_a_missing_environment_among_others_fail_alone,
    writes_need_a_token_and_reads_follow_the_configuration,
    deleting_the_environment_deletes_its_document
);

/// Design 004's example, as fuel-pm ships it.
pub const DESIGN: &[u8] = include_bytes!("../../../fuel-pm/examples/design.yaml");

/// The design's example as an operator keeps it: comments, blank lines,
/// trailing spaces, no final newline. A download must give back exactly this.
pub const ANNOTATED: &[u8] = b"# Environment 1: security updates, ticket OPS-1234.
---
packages:
# the web front end, pinned to the tested build
- name: apache2
  version: 2.4.7-1ubuntu4.6   # from the security pocket
  after:
  - provider: upstart
    ensure: running
    name: apache2

- name: wget
  version: latest
  after:
  - provider: exec
    name: wget -V   \n- name: tmux
- name: screen
  version: absent      # nobody uses it
- name: mysql-server-wsrep
  version: latest
  after:
  - provider: corosync
    ensure: running
    name: p_mysql
# end";

const OTHER_USER: &str = "operator";
const OTHER_PASSWORD: &str = "fuel-operator-test-password";

/// A plain HTTP request to the environment's document, with the client's token.
pub fn raw_request(
    api: &TestApi,
    client: &Client,
    method: reqwest::Method,
    cluster_id: i64,
) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(
            method,
            format!(
                "{}/api/v1/clusters/{cluster_id}/package_manipulation",
                api.url()
            ),
        )
        .header("X-Auth-Token", client.token().unwrap())
}

/// Adds a second user, `operator`.
fn with_operator(config: &mut fuel_api::Config) {
    config.auth.users.push(User {
        name: OTHER_USER.to_string(),
        password_hash: cheap_hash(OTHER_PASSWORD),
    });
}

async fn design_example_round_trips_byte_identical(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    for document in [DESIGN, ANNOTATED] {
        let revision = client
            .put_package_manipulation(env.id, document, None)
            .await
            .unwrap();
        let (bytes, etag) = client.get_package_manipulation(env.id).await.unwrap();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(document)
        );
        assert_eq!(bytes, document, "byte-identical");
        assert_eq!(etag, revision.etag);
        assert_eq!(revision.size, document.len() as u64);
        assert_eq!(revision.sha256, sha256_hex(document));
    }
    // The served answer is YAML with the ETag, over plain HTTP too.
    let response = raw_request(&api, &client, reqwest::Method::GET, env.id)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/yaml"
    );
    assert!(response.headers().contains_key("etag"));
    assert_eq!(response.bytes().await.unwrap(), ANNOTATED);
    api.stop().await;
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// A UTC RFC 3339 time to the second: `YYYY-MM-DDTHH:MM:SSZ`.
fn is_rfc3339_utc(text: &str) -> bool {
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    text.len() == shape.len()
        && text.chars().zip(shape.chars()).all(|(c, s)| match s {
            'd' => c.is_ascii_digit(),
            s => c == s,
        })
}

/// Now, as the server writes times (UTC, to the second).
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn uploads_are_revisions_with_author_and_time(backend: Backend) {
    let api = TestApi::start(backend, with_operator).await;
    let admin = api.admin().await;
    let token = api
        .anonymous()
        .login(OTHER_USER, OTHER_PASSWORD)
        .await
        .unwrap();
    let operator = api.anonymous().with_token(token.token);
    let (_, env) = release_and_cluster(&admin, "env").await;
    assert!(admin
        .list_package_revisions(env.id)
        .await
        .unwrap()
        .is_empty());

    let before = now_rfc3339();
    let first = admin
        .put_package_manipulation(env.id, DESIGN, None)
        .await
        .unwrap();
    let second = operator
        .put_package_manipulation(env.id, ANNOTATED, Some(&first.etag))
        .await
        .unwrap();
    let after = now_rfc3339();

    let listed = admin.list_package_revisions(env.id).await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.revision, r.cluster_id, r.author.as_str(), r.deleted))
            .collect::<Vec<_>>(),
        vec![(1, env.id, "admin", false), (2, env.id, "operator", false)]
    );
    for revision in &listed {
        assert!(is_rfc3339_utc(&revision.created_at), "{revision:?}");
        assert!(
            before <= revision.created_at && revision.created_at <= after,
            "{before} <= {} <= {after}",
            revision.created_at
        );
    }
    assert_ne!(first.etag, second.etag);
    // Any revision can be fetched, byte for byte.
    assert_eq!(admin.get_package_revision(env.id, 1).await.unwrap(), DESIGN);
    assert_eq!(
        admin.get_package_revision(env.id, 2).await.unwrap(),
        ANNOTATED
    );
    match admin.get_package_revision(env.id, 3).await {
        Err(ClientError::NotFound(error)) => {
            assert!(error.message.contains("no revision 3"), "{error}")
        }
        other => panic!("expected 404, got {other:?}"),
    }
    // Uploading the same bytes again is still a new revision (who and when).
    let third = admin
        .put_package_manipulation(env.id, ANNOTATED, None)
        .await
        .unwrap();
    assert_eq!(
        (third.revision, third.sha256.as_str()),
        (3, second.sha256.as_str())
    );
    api.stop().await;
}

fn precondition_failed<T: std::fmt::Debug>(result: Result<T, ClientError>) -> String {
    match result {
        Err(ClientError::PreconditionFailed(error)) => error.message,
        other => panic!("expected 412, got {other:?}"),
    }
}

async fn stale_if_match_is_412_and_stores_nothing(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    // Nothing to match yet.
    let message = precondition_failed(
        client
            .put_package_manipulation(env.id, DESIGN, Some("*"))
            .await,
    );
    assert!(message.contains("no document"), "{message}");
    let first = client
        .put_package_manipulation(env.id, DESIGN, None)
        .await
        .unwrap();
    // Two operators downloaded revision 1; the first to upload wins.
    let (_, etag) = client.get_package_manipulation(env.id).await.unwrap();
    assert_eq!(etag, first.etag);
    client
        .put_package_manipulation(env.id, ANNOTATED, Some(&etag))
        .await
        .unwrap();
    let message = precondition_failed(
        client
            .put_package_manipulation(env.id, DESIGN, Some(&etag))
            .await,
    );
    assert!(message.contains("download it again"), "{message}");
    let message = precondition_failed(
        client
            .delete_package_manipulation_if_match(env.id, &etag)
            .await,
    );
    assert!(message.contains("download it again"), "{message}");
    let (bytes, _) = client.get_package_manipulation(env.id).await.unwrap();
    assert_eq!(bytes, ANNOTATED, "the stale writes changed nothing");
    assert_eq!(
        client.list_package_revisions(env.id).await.unwrap().len(),
        2
    );

    // The 412 is JSON, over plain HTTP too.
    let response = raw_request(&api, &client, reqwest::Method::PUT, env.id)
        .header("Content-Type", "application/yaml")
        .header("If-Match", "\"1-0000000000000000\"")
        .body(DESIGN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 412);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("download it again"),
        "{body}"
    );
    // `*` and the current tag both match.
    let (_, current) = client.get_package_manipulation(env.id).await.unwrap();
    client
        .put_package_manipulation(env.id, DESIGN, Some("*"))
        .await
        .unwrap();
    let (_, current_now) = client.get_package_manipulation(env.id).await.unwrap();
    assert_ne!(current, current_now);
    client
        .delete_package_manipulation_if_match(env.id, &current_now)
        .await
        .unwrap();
    api.stop().await;
}

async fn concurrent_writers_with_one_etag_store_one_revision_and_others_all_land(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let first = client
        .put_package_manipulation(env.id, DESIGN, None)
        .await
        .unwrap();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let client: Client = client.clone();
            let etag = first.etag.clone();
            tokio::spawn(async move {
                client
                    .put_package_manipulation(env.id, ANNOTATED, Some(&etag))
                    .await
            })
        })
        .collect();
    let mut stored = 0;
    for writer in writers {
        match writer.await.unwrap() {
            Ok(_) => stored += 1,
            Err(ClientError::PreconditionFailed(_)) => {}
            Err(other) => panic!("expected success or 412, got {other}"),
        }
    }
    assert_eq!(stored, 1, "exactly one writer wins");
    assert_eq!(
        client.list_package_revisions(env.id).await.unwrap().len(),
        2
    );

    // Writers without If-Match all land, each as its own revision.
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let client: Client = client.clone();
            tokio::spawn(async move { client.put_package_manipulation(env.id, DESIGN, None).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let numbers = revision_numbers(&client, env.id).await;
    assert_eq!(numbers, (1..=18).collect::<Vec<_>>());
    api.stop().await;
}

/// The environment's revision numbers, oldest first.
async fn revision_numbers(client: &Client, env: i64) -> Vec<i64> {
    client
        .list_package_revisions(env)
        .await
        .unwrap()
        .iter()
        .map(|r| r.revision)
        .collect()
}

async fn delete_is_a_revision_and_then_get_is_404(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let missing = |result: Result<(Vec<u8>, String), ClientError>| match result {
        Err(ClientError::NotFound(error)) => error.message,
        other => panic!("expected 404, got {other:?}"),
    };
    let message = missing(client.get_package_manipulation(env.id).await);
    assert_eq!(
        message,
        format!(
            "no package document for environment {0}: upload one with fuel package --env {0} --upload FILE",
            env.id
        )
    );
    assert!(matches!(
        client.delete_package_manipulation(env.id).await,
        Err(ClientError::NotFound(_))
    ));

    client
        .put_package_manipulation(env.id, DESIGN, None)
        .await
        .unwrap();
    client.delete_package_manipulation(env.id).await.unwrap();
    let message = missing(client.get_package_manipulation(env.id).await);
    assert!(
        message.contains("upload one with fuel package"),
        "{message}"
    );
    // Deleting twice: there is nothing to delete.
    assert!(matches!(
        client.delete_package_manipulation(env.id).await,
        Err(ClientError::NotFound(_))
    ));
    let revisions = client.list_package_revisions(env.id).await.unwrap();
    let deletion: &PackageRevision = &revisions[1];
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        (
            deletion.revision,
            deletion.deleted,
            deletion.author.as_str(),
            deletion.size,
            deletion.etag.as_str()
        ),
        (2, true, "admin", 0, "")
    );
    assert!(matches!(
        client.get_package_revision(env.id, 2).await,
        Err(ClientError::NotFound(_))
    ));
    assert_eq!(
        client.get_package_revision(env.id, 1).await.unwrap(),
        DESIGN
    );
    // The next upload continues the history.
    let again = client
        .put_package_manipulation(env.id, ANNOTATED, None)
        .await
        .unwrap();
    assert_eq!(again.revision, 3);
    assert_eq!(
        client.get_package_manipulation(env.id).await.unwrap().0,
        ANNOTATED
    );
    api.stop().await;
}

/// A hostile or broken document, and the path one of its problems must name
/// (empty: a problem of the document as a whole).
pub fn bad_documents() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    bomb.push_str("packages: *a11\n");
    vec![
        ("not YAML", b"packages: [tmux\n- name: {\n".to_vec(), ""),
        ("not UTF-8", b"packages:\n- name: \xff\xfe\n".to_vec(), ""),
        (
            "not a mapping",
            b"- name: tmux\n- name: screen\n".to_vec(),
            "",
        ),
        (
            "missing packages",
            b"# nothing here\n{}\n".to_vec(),
            "packages",
        ),
        (
            "unknown key",
            b"packages:\n- name: tmux\n  verison: 1.0-1\n".to_vec(),
            "packages[0].verison",
        ),
        (
            "duplicate names",
            b"packages:\n- name: tmux\n- name: screen\n- name: tmux\n".to_vec(),
            "packages[2].name",
        ),
        (
            "shell metacharacters in a name",
            b"packages:\n- name: tmux; rm -rf /\n".to_vec(),
            "packages[0].name",
        ),
        ("alias bomb", bomb.into_bytes(), ""),
        (
            "several documents",
            b"packages:\n- name: tmux\n---\npackages:\n- name: screen\n".to_vec(),
            "",
        ),
    ]
}

async fn refused_documents_list_every_problem_and_store_nothing(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    for (class, document, path) in bad_documents() {
        let error = match client
            .put_package_manipulation(env.id, &document, None)
            .await
        {
            Err(ClientError::Invalid { status: 400, error }) => error,
            other => panic!("{class}: expected 400, got {other:?}"),
        };
        assert!(!error.problems.is_empty(), "{class}: {error:?}");
        assert!(
            error.message.contains("nothing stored"),
            "{class}: {error:?}"
        );
        for problem in &error.problems {
            assert!(
                problem.line >= 1 && problem.column >= 1,
                "{class}: {problem:?}"
            );
        }
        if !path.is_empty() {
            assert!(
                error.problems.iter().any(|p| p.path == path),
                "{class}: a problem should name {path}: {error:?}"
            );
        }
        if class == "unknown key" {
            let hint = error.problems[0].hint.as_deref().unwrap_or_default();
            assert!(hint.contains("version"), "{class}: {error:?}");
        }
    }
    // Every problem of a document comes back, not only the first.
    let two = b"packages:\n- name: tmux;\n- name: screen\n  version: 1.0 && reboot\n";
    match client.put_package_manipulation(env.id, two, None).await {
        Err(ClientError::Invalid { error, .. }) => {
            let paths: Vec<&str> = error.problems.iter().map(|p| p.path.as_str()).collect();
            assert_eq!(
                paths,
                ["packages[0].name", "packages[1].version"],
                "{error:?}"
            );
            assert_eq!(error.field.as_deref(), Some("packages[0].name"));
        }
        other => panic!("expected 400, got {other:?}"),
    }
    assert!(client
        .list_package_revisions(env.id)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        client.get_package_manipulation(env.id).await,
        Err(ClientError::NotFound(_))
    ));
    api.stop().await;
}

async fn oversize_document_is_413(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let mut huge = b"packages:\n- name: tmux\n".to_vec();
    huge.resize(fuel_pm::MAX_DOCUMENT_BYTES + 1, b'#');
    match client.put_package_manipulation(env.id, &huge, None).await {
        Err(ClientError::Invalid { status: 413, error }) => {
            assert!(error.message.contains("larger than"), "{error}")
        }
        other => panic!("expected 413, got {other:?}"),
    }
    assert!(client
        .list_package_revisions(env.id)
        .await
        .unwrap()
        .is_empty());
    // Over the JSON body limit (64 KiB) but within the document's is fine.
    let mut large = b"packages:\n- name: tmux\n".to_vec();
    large.resize(200 * 1024, b'#');
    client
        .put_package_manipulation(env.id, &large, None)
        .await
        .unwrap();
    assert_eq!(
        client.get_package_manipulation(env.id).await.unwrap().0,
        large
    );
    api.stop().await;
}

async fn wrong_content_type_is_415(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let mut request = raw_request(&api, &client, reqwest::Method::PUT, env.id).body(DESIGN);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
        let error: fuel_api_client::ApiError = response.json().await.unwrap();
        assert!(
            error.message.contains("Content-Type: application/yaml"),
            "{error}"
        );
    }
    // A charset parameter is fine.
    let response = raw_request(&api, &client, reqwest::Method::PUT, env.id)
        .header("Content-Type", "application/yaml; charset=utf-8")
        .body(DESIGN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        client.list_package_revisions(env.id).await.unwrap().len(),
        1
    );
    api.stop().await;
}

async fn unknown_environment_is_404(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    fn no_environment<T: std::fmt::Debug>(result: Result<T, ClientError>) {
        match result {
            Err(ClientError::NotFound(error)) => {
                assert!(error.message.contains("no environment 4242"), "{error}")
            }
            other => panic!("expected 404, got {other:?}"),
        }
    }
    no_environment(client.get_package_manipulation(4242).await);
    no_environment(client.put_package_manipulation(4242, DESIGN, None).await);
    no_environment(client.delete_package_manipulation(4242).await);
    no_environment(client.list_package_revisions(4242).await);
    no_environment(client.get_package_revision(4242, 1).await);
    // Even a bad document: the environment is what is wrong first.
    no_environment(client.put_package_manipulation(4242, b"- x\n", None).await);
    api.stop().await;
}

/// Uploads arriving together are written as one group; one to a missing
/// environment fails its group's statements, and the group is written
/// again write by write: only that upload is refused.
async fn uploads_to_a_missing_environment_among_others_fail_alone(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let uploads: Vec<_> = (0..24)
        .map(|i| {
            let client: Client = client.clone();
            let target = if i % 6 == 5 { 4242 } else { env.id };
            tokio::spawn(async move {
                (
                    target,
                    client.put_package_manipulation(target, DESIGN, None).await,
                )
            })
        })
        .collect();
    for upload in uploads {
        match upload.await.unwrap() {
            (4242, Err(ClientError::NotFound(error))) => {
                assert!(error.message.contains("no environment 4242"), "{error}")
            }
            (4242, other) => panic!("expected 404, got {other:?}"),
            (_, result) => {
                result.unwrap();
            }
        }
    }
    let numbers = revision_numbers(&client, env.id).await;
    assert_eq!(numbers, (1..=20).collect::<Vec<_>>());
    api.stop().await;
}

async fn writes_need_a_token_and_reads_follow_the_configuration(backend: Backend) {
    for reads_require_token in [true, false] {
        let api = TestApi::start(backend, |config| {
            config.auth.reads_require_token = reads_require_token
        })
        .await;
        let admin = api.admin().await;
        let (_, env) = release_and_cluster(&admin, "env").await;
        let anonymous = api.anonymous();
        let wrong = api.anonymous().with_token("0".repeat(64));
        for client in [&anonymous, &wrong] {
            assert!(matches!(
                client.put_package_manipulation(env.id, DESIGN, None).await,
                Err(ClientError::Unauthorized(_))
            ));
        }
        assert!(admin
            .list_package_revisions(env.id)
            .await
            .unwrap()
            .is_empty());
        admin
            .put_package_manipulation(env.id, DESIGN, None)
            .await
            .unwrap();
        assert!(matches!(
            anonymous.delete_package_manipulation(env.id).await,
            Err(ClientError::Unauthorized(_))
        ));
        let read = anonymous.get_package_manipulation(env.id).await;
        let listed = anonymous.list_package_revisions(env.id).await;
        if reads_require_token {
            assert!(matches!(read, Err(ClientError::Unauthorized(_))));
            assert!(matches!(listed, Err(ClientError::Unauthorized(_))));
        } else {
            assert_eq!(read.unwrap().0, DESIGN);
            assert_eq!(listed.unwrap().len(), 1);
        }
        api.stop().await;
    }
}

async fn deleting_the_environment_deletes_its_document(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (rel, env) = release_and_cluster(&client, "env").await;
    client
        .put_package_manipulation(env.id, DESIGN, None)
        .await
        .unwrap();
    client.delete_cluster(env.id).await.unwrap();
    assert!(matches!(
        client.get_package_manipulation(env.id).await,
        Err(ClientError::NotFound(_))
    ));
    // A new environment starts without a document or history.
    let fresh = client
        .create_cluster(&fuel_api_client::NewCluster {
            name: "env".into(),
            release_id: rel.id,
        })
        .await
        .unwrap();
    assert_ne!(fresh.id, env.id);
    assert!(client
        .list_package_revisions(fresh.id)
        .await
        .unwrap()
        .is_empty());
    api.stop().await;
}
