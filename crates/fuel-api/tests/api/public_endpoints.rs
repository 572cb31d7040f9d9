//! The endpoints that need no token: version and health.

use fuel_api_client::ClientError;
use sqlx::Connection;

use crate::support::{on_both_backends, postgres_admin_url, Backend, TestApi};

on_both_backends!(
    version_is_public_and_from_fuel_version,
    health_checks_the_database
);

async fn version_is_public_and_from_fuel_version(backend: Backend) {
    let api = TestApi::start(backend, |config| {
        let etc = config.version_root.join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("fuel-issue"), "Fuel release 8.0.0\n").unwrap();
        std::fs::write(etc.join("fuel_openstack_version"), "liberty-8.0\n").unwrap();
        config.auth.reads_require_token = true;
    })
    .await;
    let version = api.anonymous().version().await.unwrap();
    assert_eq!(version.release.as_deref(), Some("8.0.0"));
    assert_eq!(version.openstack_version.as_deref(), Some("liberty-8.0"));
    assert!(version.auth_required);
    assert_eq!(
        version.extra.get("api").and_then(|v| v.as_str()),
        Some("1.0")
    );
    // Nailgun's path under /api/v1 too.
    let v1: serde_json::Value = reqwest::get(format!("{}/api/v1/version", api.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["release"], "8.0.0");
    api.stop().await;
}

async fn health_checks_the_database(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let health = api.anonymous().health().await.unwrap();
    assert_eq!(
        (health.status.as_str(), health.database.as_str()),
        ("ok", "ok")
    );
    api.stop().await;
}

/// PostgreSQL only: SQLite has no server to lose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_an_unreachable_database_and_recovers() {
    let api = TestApi::start(Backend::Postgres, |_| {}).await;
    let database = api.postgres_database().unwrap().to_string();
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    let cut_off = [
        format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
        ),
    ];
    for statement in &cut_off {
        sqlx::query(statement).execute(&mut admin).await.unwrap();
    }
    match api.anonymous().health().await {
        Err(ClientError::Status { status: 503, error }) => {
            assert!(error.message.contains("database unreachable"), "{error}")
        }
        other => panic!("expected 503 while the database refuses connections, got {other:?}"),
    }
    sqlx::query(&format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    let health = api.anonymous().health().await.unwrap();
    assert_eq!(health.database, "ok");
    admin.close().await.unwrap();
    api.stop().await;
}
