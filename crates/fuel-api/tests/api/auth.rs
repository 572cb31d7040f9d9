//! Tokens: writes need a valid one, reads as configured; wrong, expired and revoked tokens are refused.

use std::time::Duration;

use fuel_api_client::{ClientError, TaskFilter};

use crate::support::{on_both_backends, release, Backend, TestApi, ADMIN, ADMIN_PASSWORD};

on_both_backends!(
    writes_need_a_valid_token,
    wrong_password_or_user_gets_no_token,
    expired_token_is_refused,
    revoked_token_is_refused,
    reads_need_a_token_when_configured,
    reads_are_open_when_configured
);

fn is_unauthorized<T: std::fmt::Debug>(result: Result<T, ClientError>) -> bool {
    matches!(result, Err(ClientError::Unauthorized(_)))
}

async fn writes_need_a_valid_token(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let new = release("Liberty", "liberty-8.0");
    assert!(is_unauthorized(api.anonymous().create_release(&new).await));
    let wrong = api.anonymous().with_token("0".repeat(64));
    assert!(is_unauthorized(wrong.create_release(&new).await));
    assert!(is_unauthorized(wrong.list_releases().await));

    let admin = api.admin().await;
    assert!(
        admin.list_releases().await.unwrap().is_empty(),
        "refused writes stored nothing"
    );
    admin.create_release(&new).await.unwrap();
    api.stop().await;
}

async fn wrong_password_or_user_gets_no_token(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    assert!(is_unauthorized(
        api.anonymous().login(ADMIN, "not the password").await
    ));
    assert!(is_unauthorized(
        api.anonymous().login("nobody", ADMIN_PASSWORD).await
    ));
    let token = api.anonymous().login(ADMIN, ADMIN_PASSWORD).await.unwrap();
    assert_eq!(token.token.len(), 64);
    assert!(token.expires_at > 0);
    api.stop().await;
}

async fn expired_token_is_refused(backend: Backend) {
    // Expiry has one-second resolution: a 2 s token is surely valid right
    // after login and surely expired 3 s later.
    let api = TestApi::start(backend, |config| config.auth.token_ttl_secs = 2).await;
    let client = api.admin().await;
    client.list_releases().await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    match client.list_releases().await {
        Err(ClientError::Unauthorized(error)) => {
            assert!(error.message.contains("expired"), "{error}")
        }
        other => panic!("expected 401 for an expired token, got {other:?}"),
    }
    assert!(is_unauthorized(
        client
            .create_release(&release("Liberty", "liberty-8.0"))
            .await
    ));
    api.stop().await;
}

async fn revoked_token_is_refused(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let other_session = api.admin().await;
    client.list_releases().await.unwrap();
    client.revoke_token().await.unwrap();
    assert!(is_unauthorized(client.list_releases().await));
    assert!(is_unauthorized(
        client
            .create_release(&release("Liberty", "liberty-8.0"))
            .await
    ));
    assert!(is_unauthorized(client.revoke_token().await));
    // Only that token is gone.
    other_session.list_releases().await.unwrap();
    api.stop().await;
}

async fn reads_need_a_token_when_configured(backend: Backend) {
    let api = TestApi::start(backend, |config| config.auth.reads_require_token = true).await;
    let anonymous = api.anonymous();
    assert!(is_unauthorized(anonymous.list_releases().await));
    assert!(is_unauthorized(anonymous.get_release(1).await));
    assert!(is_unauthorized(
        anonymous.list_tasks(&TaskFilter::default()).await
    ));
    assert!(is_unauthorized(anonymous.list_clusters().await));
    // Public whatever the configuration: version, health, token issuing.
    anonymous.version().await.unwrap();
    anonymous.health().await.unwrap();
    api.admin()
        .await
        .list_tasks(&TaskFilter::default())
        .await
        .unwrap();
    api.stop().await;
}

async fn reads_are_open_when_configured(backend: Backend) {
    let api = TestApi::start(backend, |config| config.auth.reads_require_token = false).await;
    let created = api
        .admin()
        .await
        .create_release(&release("Liberty", "liberty-8.0"))
        .await
        .unwrap();
    let anonymous = api.anonymous();
    assert_eq!(
        anonymous.list_releases().await.unwrap(),
        vec![created.clone()]
    );
    assert_eq!(anonymous.get_release(created.id).await.unwrap(), created);
    assert!(anonymous
        .list_tasks(&TaskFilter::default())
        .await
        .unwrap()
        .is_empty());
    // Writes still need a token, and a wrong token is still refused on reads.
    assert!(is_unauthorized(anonymous.delete_release(created.id).await));
    assert!(is_unauthorized(
        anonymous
            .create_release(&release("Mitaka", "mitaka-9.0"))
            .await
    ));
    assert!(is_unauthorized(
        anonymous.clone().with_token("bogus").list_releases().await
    ));
    assert_eq!(anonymous.list_releases().await.unwrap().len(), 1);
    api.stop().await;
}
