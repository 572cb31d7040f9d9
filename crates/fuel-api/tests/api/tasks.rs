//! Tasks: create, update, filters, an existing cluster.

use fuel_api_client::{ClientError, NewTask, TaskFilter, TaskStatus, TaskUpdate};

use crate::support::{on_both_backends, release_and_cluster, task, Backend, TestApi};

on_both_backends!(
    task_create_read_list_update,
    task_filters,
    task_needs_an_existing_cluster,
    task_update_of_a_missing_task_is_404
);

async fn task_create_read_list_update(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    assert!(client
        .list_tasks(&TaskFilter::default())
        .await
        .unwrap()
        .is_empty());

    let new = NewTask {
        name: "upgrade".into(),
        cluster_id: None,
        status: TaskStatus::Running,
        progress: 10,
        message: Some("starting".into()),
    };
    let created = client.create_task(&new).await.unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.status,
            created.progress,
            created.cluster_id,
            created.message.as_deref()
        ),
        ("upgrade", TaskStatus::Running, 10, None, Some("starting"))
    );
    assert_eq!(client.get_task(created.id).await.unwrap(), created);

    let updated = client
        .update_task_status(
            created.id,
            &TaskUpdate {
                status: TaskStatus::Running,
                progress: Some(60),
                message: None,
            },
        )
        .await
        .unwrap();
    // The message was not sent: it stays.
    assert_eq!(
        (updated.status, updated.progress, updated.message.as_deref()),
        (TaskStatus::Running, 60, Some("starting"))
    );
    let done = client
        .update_task_status(
            created.id,
            &TaskUpdate {
                status: TaskStatus::Ready,
                progress: Some(100),
                message: Some("done".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (done.status, done.progress, done.message.as_deref()),
        (TaskStatus::Ready, 100, Some("done"))
    );
    assert_eq!(client.get_task(created.id).await.unwrap(), done);
    assert_eq!(
        client.list_tasks(&TaskFilter::default()).await.unwrap(),
        vec![done]
    );
    assert!(matches!(
        client.get_task(created.id + 100).await,
        Err(ClientError::NotFound(_))
    ));
    api.stop().await;
}

async fn task_filters(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "env").await;
    let pending_in_env = client
        .create_task(&task("provision", Some(env.id)))
        .await
        .unwrap();
    let running_in_env = client
        .create_task(&NewTask {
            status: TaskStatus::Running,
            ..task("deploy", Some(env.id))
        })
        .await
        .unwrap();
    let running_alone = client
        .create_task(&NewTask {
            status: TaskStatus::Running,
            ..task("dump", None)
        })
        .await
        .unwrap();

    let running = client
        .list_tasks(&TaskFilter {
            status: Some(TaskStatus::Running),
            cluster_id: None,
        })
        .await
        .unwrap();
    assert_eq!(running, vec![running_in_env.clone(), running_alone.clone()]);
    let in_env = client
        .list_tasks(&TaskFilter {
            status: None,
            cluster_id: Some(env.id),
        })
        .await
        .unwrap();
    assert_eq!(in_env, vec![pending_in_env.clone(), running_in_env.clone()]);
    let both = client
        .list_tasks(&TaskFilter {
            status: Some(TaskStatus::Pending),
            cluster_id: Some(env.id),
        })
        .await
        .unwrap();
    assert_eq!(both, vec![pending_in_env]);
    let none = client
        .list_tasks(&TaskFilter {
            status: Some(TaskStatus::Error),
            cluster_id: None,
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        client
            .list_tasks(&TaskFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
    api.stop().await;
}

async fn task_needs_an_existing_cluster(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    match client.create_task(&task("deploy", Some(77))).await {
        Err(ClientError::Invalid { status: 400, error }) => {
            assert_eq!(error.field.as_deref(), Some("cluster_id"))
        }
        other => panic!("expected 400 naming cluster_id, got {other:?}"),
    }
    assert!(client
        .list_tasks(&TaskFilter::default())
        .await
        .unwrap()
        .is_empty());
    api.stop().await;
}

async fn task_update_of_a_missing_task_is_404(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let update = TaskUpdate {
        status: TaskStatus::Error,
        progress: None,
        message: None,
    };
    assert!(matches!(
        client.update_task_status(5, &update).await,
        Err(ClientError::NotFound(_))
    ));
    api.stop().await;
}
