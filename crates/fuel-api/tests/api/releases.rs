//! Releases: CRUD, unique name + version, kept while a cluster uses them, concurrent duplicates.

use fuel_api_client::{ClientError, NewCluster, ReleaseState};

use crate::support::{on_both_backends, release, Backend, TestApi};

on_both_backends!(
    release_create_read_list_delete,
    same_name_and_version_conflicts,
    release_used_by_a_cluster_is_kept,
    concurrent_duplicates_store_one_release,
);

async fn release_create_read_list_delete(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    assert!(client.list_releases().await.unwrap().is_empty());

    let mut new = release("Liberty on CentOS 7", "liberty-8.0");
    new.state = ReleaseState::ManageOnly;
    let created = client.create_release(&new).await.unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.version.as_str(),
            created.operating_system.as_str()
        ),
        ("Liberty on CentOS 7", "liberty-8.0", "CentOS")
    );
    assert_eq!(created.description, "Liberty on CentOS 7 on CentOS");
    assert_eq!(created.state, ReleaseState::ManageOnly);

    assert_eq!(client.get_release(created.id).await.unwrap(), created);
    let other = client
        .create_release(&release("Mitaka on CentOS 7", "mitaka-9.0"))
        .await
        .unwrap();
    assert_ne!(other.id, created.id);
    assert_eq!(
        client.list_releases().await.unwrap(),
        vec![created.clone(), other.clone()]
    );

    // The Nailgun-style alias without /v1 serves the same data.
    let alias: Vec<fuel_api_client::Release> = reqwest::Client::new()
        .get(format!("{}/api/releases", api.url()))
        .header("X-Auth-Token", client.token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alias, vec![created.clone(), other.clone()]);

    client.delete_release(created.id).await.unwrap();
    assert!(matches!(
        client.get_release(created.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        client.delete_release(created.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert_eq!(client.list_releases().await.unwrap(), vec![other]);
    api.stop().await;
}

async fn same_name_and_version_conflicts(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let first = client
        .create_release(&release("Liberty", "liberty-8.0"))
        .await
        .unwrap();

    let mut again = release("Liberty", "liberty-8.0");
    again.description = "a different description".to_string();
    match client.create_release(&again).await {
        Err(ClientError::Conflict(error)) => {
            assert!(error.message.contains("exists already"), "{error}")
        }
        other => panic!("expected 409, got {other:?}"),
    }
    // Same name, another version: a different release.
    let second = client
        .create_release(&release("Liberty", "liberty-8.1"))
        .await
        .unwrap();
    assert_eq!(client.list_releases().await.unwrap(), vec![first, second]);
    api.stop().await;
}

async fn release_used_by_a_cluster_is_kept(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let used = client
        .create_release(&release("Liberty", "liberty-8.0"))
        .await
        .unwrap();
    let cluster = client
        .create_cluster(&NewCluster {
            name: "env-1".into(),
            release_id: used.id,
        })
        .await
        .unwrap();

    assert!(matches!(
        client.delete_release(used.id).await,
        Err(ClientError::Conflict(_))
    ));
    assert_eq!(client.get_release(used.id).await.unwrap(), used);

    client.delete_cluster(cluster.id).await.unwrap();
    client.delete_release(used.id).await.unwrap();
    assert!(client.list_releases().await.unwrap().is_empty());
    api.stop().await;
}

async fn concurrent_duplicates_store_one_release(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let attempts = (0..8).map(|_| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .create_release(&release("Liberty", "liberty-8.0"))
                .await
        })
    });
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(ClientError::Conflict(_)) => {}
            Err(other) => panic!("expected 201 or 409, got {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(client.list_releases().await.unwrap().len(), 1);
    api.stop().await;
}
