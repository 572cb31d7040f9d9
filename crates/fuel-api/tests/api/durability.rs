//! Data and tokens acknowledged before a restart are there after it.

use fuel_api_client::{NewTask, TaskFilter, TaskStatus};

use crate::support::{on_both_backends, release, release_and_cluster, task, Backend, TestApi};

on_both_backends!(data_and_tokens_survive_a_restart);

async fn data_and_tokens_survive_a_restart(backend: Backend) {
    let mut api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let token = client.token().unwrap().to_string();
    let (rel, env) = release_and_cluster(&client, "env").await;
    let running = client
        .create_task(&NewTask {
            status: TaskStatus::Running,
            progress: 40,
            ..task("deploy", Some(env.id))
        })
        .await
        .unwrap();

    api.restart().await;
    assert_eq!(api.backend(), backend);
    // The same token still works: tokens live in the database, not only in memory.
    let client = api.anonymous().with_token(token);
    assert_eq!(client.list_releases().await.unwrap(), vec![rel.clone()]);
    assert_eq!(client.list_clusters().await.unwrap(), vec![env]);
    assert_eq!(
        client
            .list_tasks(&TaskFilter {
                status: Some(TaskStatus::Running),
                cluster_id: None
            })
            .await
            .unwrap(),
        vec![running]
    );
    // Ids keep counting after the restart.
    let next = client
        .create_release(&release("Mitaka", "mitaka-9.0"))
        .await
        .unwrap();
    assert!(next.id > rel.id);
    api.stop().await;
}
