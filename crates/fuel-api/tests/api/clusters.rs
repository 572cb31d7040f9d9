//! Clusters: CRUD, unique names, an existing release, and what their deletion takes along.

use fuel_api_client::{ClientError, NewCluster, TaskFilter};

use crate::support::{on_both_backends, release, release_and_cluster, task, Backend, TestApi};

on_both_backends!(
    cluster_create_read_list_delete,
    cluster_name_conflicts,
    cluster_needs_an_existing_release,
    deleting_a_cluster_deletes_its_tasks
);

async fn cluster_create_read_list_delete(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let rel = client
        .create_release(&release("Liberty", "liberty-8.0"))
        .await
        .unwrap();
    assert!(client.list_clusters().await.unwrap().is_empty());

    let env = client
        .create_cluster(&NewCluster {
            name: "production".into(),
            release_id: rel.id,
        })
        .await
        .unwrap();
    assert_eq!((env.name.as_str(), env.release_id), ("production", rel.id));
    assert_eq!(client.get_cluster(env.id).await.unwrap(), env);
    let staging = client
        .create_cluster(&NewCluster {
            name: "staging".into(),
            release_id: rel.id,
        })
        .await
        .unwrap();
    assert_eq!(
        client.list_clusters().await.unwrap(),
        vec![env.clone(), staging.clone()]
    );

    client.delete_cluster(env.id).await.unwrap();
    assert!(matches!(
        client.get_cluster(env.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        client.delete_cluster(env.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert_eq!(client.list_clusters().await.unwrap(), vec![staging]);
    api.stop().await;
}

async fn cluster_name_conflicts(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (rel, env) = release_and_cluster(&client, "production").await;
    assert!(matches!(
        client
            .create_cluster(&NewCluster {
                name: "production".into(),
                release_id: rel.id
            })
            .await,
        Err(ClientError::Conflict(_))
    ));
    assert_eq!(client.list_clusters().await.unwrap(), vec![env]);
    api.stop().await;
}

async fn cluster_needs_an_existing_release(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    match client
        .create_cluster(&NewCluster {
            name: "orphan".into(),
            release_id: 4242,
        })
        .await
    {
        Err(ClientError::Invalid { status: 400, error }) => {
            assert_eq!(error.field.as_deref(), Some("release_id"));
            assert!(error.message.contains("4242"), "{error}");
        }
        other => panic!("expected 400 naming release_id, got {other:?}"),
    }
    assert!(client.list_clusters().await.unwrap().is_empty());
    api.stop().await;
}

async fn deleting_a_cluster_deletes_its_tasks(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let created = client
        .create_task(&task("deploy", Some(env.id)))
        .await
        .unwrap();
    client.delete_cluster(env.id).await.unwrap();
    assert!(matches!(
        client.get_task(created.id).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(client
        .list_tasks(&TaskFilter::default())
        .await
        .unwrap()
        .is_empty());
    api.stop().await;
}
