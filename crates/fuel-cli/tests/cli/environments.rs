//! `fuel env` and `fuel task`: tables for people, JSON for scripts.

use fuel_api_client::{Cluster, Task};

use crate::fuel::Fuel;
use crate::support::{on_both_backends, release_and_cluster, task, Backend, TestApi};

on_both_backends!(
    environments_list_as_a_table_and_as_json,
    tasks_list_and_show_one,
    an_unknown_environment_is_named_with_where_to_look
);

async fn environments_list_as_a_table_and_as_json(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    let fuel = Fuel::admin(&api.url());

    let table = fuel.ok(&["env"]).await.stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "id | name       | release_id", "{table}");
    assert!(lines[1].starts_with("---+-"), "{table}");
    assert_eq!(
        lines[2],
        format!("{}  | production | {}", env.id, env.release_id)
    );

    let all: Vec<Cluster> = fuel.ok(&["env", "--json"]).await.json();
    assert_eq!(all, vec![env.clone()]);
    let id = env.id.to_string();
    let one: Cluster = fuel.ok(&["env", "--env", &id, "--json"]).await.json();
    assert_eq!(one, env);
    api.stop().await;
}

async fn tasks_list_and_show_one(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let admin = api.admin().await;
    let (_, env) = release_and_cluster(&admin, "production").await;
    let deploy = admin
        .create_task(&task("deploy", Some(env.id)))
        .await
        .unwrap();
    let fuel = Fuel::admin(&api.url());

    let table = fuel.ok(&["task"]).await.stdout;
    assert!(
        table.starts_with("id | status  | name   | env | progress"),
        "{table}"
    );
    assert!(table.contains("| pending | deploy |"), "{table}");
    let all: Vec<Task> = fuel.ok(&["task", "--json"]).await.json();
    assert_eq!(all, vec![deploy.clone()]);
    let env_id = env.id.to_string();
    let of_env: Vec<Task> = fuel.ok(&["task", "--env", &env_id, "--json"]).await.json();
    assert_eq!(of_env, vec![deploy.clone()]);
    let id = deploy.id.to_string();
    let one: Task = fuel.ok(&["task", "--task-id", &id, "--json"]).await.json();
    assert_eq!(one, deploy);
    fuel.fails(
        &["task", "--task-id", "4242"],
        "task 4242 does not exist: `fuel task` lists the tasks",
    )
    .await;
    api.stop().await;
}

async fn an_unknown_environment_is_named_with_where_to_look(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let fuel = Fuel::admin(&api.url());
    let message = "environment 4242 does not exist: `fuel env` lists the environments";
    for args in [
        &["env", "--env", "4242"][..],
        &["node", "--env", "4242"],
        &["task", "--env", "4242"],
        &["package", "--env", "4242", "--revisions"],
        &["package", "--env", "4242", "--download"],
    ] {
        let ran = fuel.fails(args, message).await;
        assert!(ran.stdout.is_empty(), "{args:?}: {ran:?}");
    }
    api.stop().await;
}
