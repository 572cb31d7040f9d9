//! The package inventory: what each node's stored execute_pm reports saw,
//! grouped by package and version, and `?drift=1` naming what differs
//! between nodes and from the document. Reports are stored through the
//! executor's write path (`fuel_api::store_execute_pm_reports`); the real
//! nodes are in tests/tests/pm_inventory.rs.

use fuel_api::ReportedNode;
use fuel_api_client::{
    ClientError, DriftReason, NodeSeen, NodeUpdate, ObservationRun, PackageInventory,
};
use fuel_pm::report::{PackageAction, PackageResult, Report, Totals};

use crate::nodes::new_node;
use crate::support::{on_both_backends, release_and_cluster, Backend, TestApi};

on_both_backends!(
    inventory_groups_nodes_by_version_and_names_the_unobserved,
    drift_names_what_differs_between_nodes_and_from_the_document,
    a_newer_report_replaces_a_node_s_versions_and_drops_unused_observations,
    the_inventory_needs_a_token_and_names_bad_parameters,
    a_kept_inventory_answer_is_never_served_after_a_write_from_any_process
);

/// An applier report of `packages` (name, version before, version after).
fn report(hostname: &str, check: bool, packages: &[(&str, Option<&str>, Option<&str>)]) -> Report {
    Report {
        schema: fuel_pm::report::SCHEMA,
        hostname: hostname.to_string(),
        backend: "apt".to_string(),
        check,
        packages: packages
            .iter()
            .map(|(name, before, after)| PackageResult {
                name: name.to_string(),
                requested: "latest".to_string(),
                before: before.map(str::to_string),
                after: after.map(str::to_string),
                action: if before == after {
                    PackageAction::Unchanged
                } else {
                    PackageAction::Upgraded
                },
                reason: None,
                message: None,
            })
            .collect(),
        actions: Vec::new(),
        totals: Totals::default(),
        exit_code: 0,
        collateral: Vec::new(),
        recovery: None,
    }
}

/// An environment with four nodes; returns the API, the cluster and node ids.
async fn environment(backend: Backend) -> (TestApi, fuel_api_client::Client, i64, Vec<i64>) {
    let api = TestApi::start(backend, |_| {}).await;
    let client = api.admin().await;
    let (_, env) = release_and_cluster(&client, "inventory").await;
    let mut ids = Vec::new();
    for i in 1..=4 {
        let node = client
            .create_node(&new_node(
                &format!("node-{i}"),
                &format!("10.20.0.{i}"),
                Some(env.id),
            ))
            .await
            .unwrap();
        ids.push(node.id);
    }
    (api, client, env.id, ids)
}

async fn store(api: &TestApi, cluster: i64, nodes: &[(i64, &str, Report)]) -> i64 {
    let reported: Vec<ReportedNode> = nodes
        .iter()
        .map(|(id, hostname, report)| ReportedNode {
            node_id: *id,
            hostname,
            report,
        })
        .collect();
    fuel_api::store_execute_pm_reports(&api.config.database_url, cluster, &reported)
        .await
        .unwrap()
}

fn versions(inventory: &PackageInventory, package: &str) -> Vec<(Option<String>, Vec<i64>)> {
    inventory
        .versions_of(package)
        .unwrap_or_else(|| panic!("{package} missing from {inventory:#?}"))
}

async fn inventory_groups_nodes_by_version_and_names_the_unobserved(backend: Backend) {
    let (api, client, env, n) = environment(backend).await;
    // An execute_pm on nodes 1 and 2 (the version after the run counts)...
    let applied = store(
        &api,
        env,
        &[
            (
                n[0],
                "node-1",
                report(
                    "node-1",
                    false,
                    &[("d", Some("1.0-1"), Some("2.0-1")), ("t", None, None)],
                ),
            ),
            (
                n[1],
                "node-2",
                report(
                    "node-2",
                    false,
                    &[("d", Some("1.0-1"), Some("2.0-1")), ("t", None, None)],
                ),
            ),
        ],
    )
    .await;
    // ...and a --check on node 3 (the version found counts: nothing changed).
    let checked = store(
        &api,
        env,
        &[(
            n[2],
            "node-3",
            report(
                "node-3",
                true,
                &[
                    ("d", Some("1.0-1"), Some("2.0-1")),
                    ("t", Some("0.5"), Some("0.5")),
                ],
            ),
        )],
    )
    .await;

    let inventory = client.package_inventory(env, None, false).await.unwrap();
    assert_eq!(inventory.cluster_id, env);
    assert_eq!(inventory.drift, None);
    let names: Vec<&str> = inventory.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["d", "t"]);
    assert_eq!(
        versions(&inventory, "d"),
        [
            (Some("1.0-1".to_string()), vec![n[2]]),
            (Some("2.0-1".to_string()), vec![n[0], n[1]])
        ]
    );
    assert_eq!(
        versions(&inventory, "t"),
        [
            (Some("0.5".to_string()), vec![n[2]]),
            (None, vec![n[0], n[1]])
        ]
    );
    assert_eq!(inventory.packages[0].unobserved, [n[3]]);

    // Each cell names the observation that saw it: when, and by which task.
    let node3 = inventory.node(n[2]).unwrap();
    assert_eq!(
        (node3.hostname.as_str(), node3.os),
        ("node-3", fuel_node::PackageManager::Apt)
    );
    let seen = inventory
        .observation(node3.last_observation.unwrap())
        .unwrap();
    assert_eq!(
        (seen.node_id, seen.task_id, seen.run),
        (n[2], checked, ObservationRun::Check)
    );
    let cell: NodeSeen = inventory.packages[0].versions[1].nodes[0];
    let seen = inventory.observation(cell.observation()).unwrap();
    assert_eq!(
        (seen.node_id, seen.task_id, seen.run),
        (n[0], applied, ObservationRun::Apply)
    );
    assert!(seen.observed_at.ends_with('Z'), "{}", seen.observed_at);
    // Node 4 was never observed, and says so.
    assert_eq!(inventory.node(n[3]).unwrap().last_observation, None);

    // --package narrows it; the stored sub-task keeps the report too.
    let one = client
        .package_inventory(env, Some("t"), false)
        .await
        .unwrap();
    assert_eq!(one.packages.len(), 1);
    assert_eq!(one.packages[0].name, "t");
    let task = client.get_task(checked).await.unwrap();
    assert!(task.nodes[0].report.as_ref().unwrap().check);

    // A deleted node's inventory goes with it.
    client.delete_node(n[2]).await.unwrap();
    let inventory = client.package_inventory(env, None, false).await.unwrap();
    assert_eq!(
        versions(&inventory, "d"),
        [(Some("2.0-1".to_string()), vec![n[0], n[1]])]
    );
    api.stop().await;
}

async fn drift_names_what_differs_between_nodes_and_from_the_document(backend: Backend) {
    let (api, client, env, n) = environment(backend).await;
    client
        .put_package_manipulation(
            env,
            b"packages:\n- name: d\n  version: '2.0-1'\n- name: t\n  version: absent\n- name: new\n",
            None,
        )
        .await
        .unwrap();
    let same = |host: &str| {
        report(
            host,
            true,
            &[
                ("d", Some("2.0-1"), Some("2.0-1")),
                ("t", None, None),
                ("new", Some("1"), Some("1")),
                ("x", Some("9"), Some("9")),
            ],
        )
    };
    store(
        &api,
        env,
        &[
            (n[0], "node-1", same("node-1")),
            (n[1], "node-2", same("node-2")),
            (n[3], "node-4", same("node-4")),
        ],
    )
    .await;
    // Node 3 never observed: drift, the master cannot vouch for it.
    let drift = client.package_inventory(env, None, true).await.unwrap();
    assert_eq!(drift.drift, Some(true));
    assert_eq!(drift.document_revision, Some(1));
    let listed: Vec<(&str, &[i64])> = drift
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.off_document.as_slice()))
        .collect();
    assert_eq!(
        listed,
        [("d", &[n[2]][..]), ("new", &[n[2]][..]), ("t", &[n[2]][..])]
    );

    // Every node as the document asks: no drift, nothing listed.
    store(&api, env, &[(n[2], "node-3", same("node-3"))]).await;
    let drift = client.package_inventory(env, None, true).await.unwrap();
    assert_eq!(drift.drift, Some(false), "{drift:#?}");
    assert!(drift.packages.is_empty());

    // Node 2 at another version of d, node 4 with t installed, node 1
    // without x (a package the document does not name).
    store(
        &api,
        env,
        &[
            (
                n[1],
                "node-2",
                report("node-2", true, &[("d", Some("1.0-1"), Some("1.0-1"))]),
            ),
            (
                n[3],
                "node-4",
                report("node-4", false, &[("t", None, Some("0.5"))]),
            ),
            (
                n[0],
                "node-1",
                report("node-1", false, &[("x", Some("9"), None)]),
            ),
        ],
    )
    .await;
    let drift = client.package_inventory(env, None, true).await.unwrap();
    assert_eq!(drift.drift, Some(true));
    let d = &drift.packages[0];
    assert_eq!(
        (d.name.as_str(), d.requested.as_deref()),
        ("d", Some("2.0-1"))
    );
    assert_eq!(
        d.drift,
        [
            DriftReason::VersionsDiffer,
            DriftReason::DiffersFromDocument
        ]
    );
    assert_eq!(d.off_document, [n[1]]);
    let names: Vec<&str> = drift.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["d", "t", "x"]);
    assert_eq!(drift.packages[1].off_document, [n[3]]);
    assert_eq!(drift.packages[2].drift, [DriftReason::VersionsDiffer]);
    assert_eq!(drift.packages[2].requested, None);

    // --package narrows the judgement too.
    let only = client
        .package_inventory(env, Some("new"), true)
        .await
        .unwrap();
    assert!(only.packages.is_empty());
    api.stop().await;
}

async fn a_newer_report_replaces_a_node_s_versions_and_drops_unused_observations(backend: Backend) {
    let (api, client, env, n) = environment(backend).await;
    store(
        &api,
        env,
        &[(
            n[0],
            "node-1",
            report(
                "node-1",
                false,
                &[("d", None, Some("1.0-1")), ("t", None, Some("1"))],
            ),
        )],
    )
    .await;
    let first = client.package_inventory(env, None, false).await.unwrap();
    let first_observation = first.node(n[0]).unwrap().last_observation.unwrap();
    // A later document names only d: t keeps its older observation.
    let later = store(
        &api,
        env,
        &[(
            n[0],
            "node-1",
            report("node-1", false, &[("d", Some("1.0-1"), Some("2.0-1"))]),
        )],
    )
    .await;
    let second = client.package_inventory(env, None, false).await.unwrap();
    assert_eq!(
        versions(&second, "d"),
        [(Some("2.0-1".to_string()), vec![n[0]])]
    );
    let t = &second.packages[1].versions[0].nodes[0];
    assert_eq!(t.observation(), first_observation);
    assert_eq!(second.observations.len(), 2);
    let newest = second.node(n[0]).unwrap().last_observation.unwrap();
    assert_eq!(second.observation(newest).unwrap().task_id, later);
    // Once nothing refers to the first observation it is gone.
    store(
        &api,
        env,
        &[(
            n[0],
            "node-1",
            report(
                "node-1",
                false,
                &[("d", Some("2.0-1"), Some("2.0-1")), ("t", Some("1"), None)],
            ),
        )],
    )
    .await;
    let third = client.package_inventory(env, None, false).await.unwrap();
    assert_eq!(third.observations.len(), 1);
    assert_eq!(versions(&third, "t"), [(None, vec![n[0]])]);
    api.stop().await;
}

async fn the_inventory_needs_a_token_and_names_bad_parameters(backend: Backend) {
    let (api, client, env, _) = environment(backend).await;
    let anonymous = api.anonymous();
    assert!(matches!(
        anonymous.package_inventory(env, None, false).await,
        Err(ClientError::Unauthorized(_))
    ));
    assert!(matches!(
        client.package_inventory(env + 100, None, true).await,
        Err(ClientError::NotFound(_))
    ));
    match client.package_inventory(env, Some("a;b"), false).await {
        Err(ClientError::Invalid { error, .. }) => {
            assert_eq!(error.field.as_deref(), Some("package"))
        }
        other => panic!("{other:?}"),
    }
    let (status, _) = raw(&api, &client, env, "?drift=yes").await;
    assert_eq!(status, 400);
    // An environment without nodes or observations: empty, and no drift.
    let empty = client.package_inventory(env, None, false).await.unwrap();
    assert!(empty.packages.is_empty() && empty.observations.is_empty());
    api.stop().await;
}

/// The raw answer: status and bytes (to tell a kept answer from a rebuilt one).
async fn raw(
    api: &TestApi,
    client: &fuel_api_client::Client,
    env: i64,
    query: &str,
) -> (u16, String) {
    let url = format!(
        "{}/api/v1/clusters/{env}/package_inventory{query}",
        api.url()
    );
    let answer = reqwest::Client::new()
        .get(&url)
        .header("X-Auth-Token", client.token().unwrap())
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// Answers are kept in memory per environment and query (whole, drift,
/// one package) and checked against the environment's stamp in the
/// database on every read. Each kind of write the answer depends on is
/// made after every variant was read (and kept), and the next read of each
/// shows it: a task's observation, a node joining, renamed, leaving and
/// deleted, a new document revision. On PostgreSQL every write goes
/// through a second fuel-api process on the same database, whose cache the
/// first one knows nothing of; reports are stored by a third connection
/// pool (the executor's write path) in both cases.
async fn a_kept_inventory_answer_is_never_served_after_a_write_from_any_process(backend: Backend) {
    let (api, client, env, n) = environment(backend).await;
    let other = match backend {
        Backend::Postgres => {
            let mut config = api.config.clone();
            config.listen = "127.0.0.1:0".parse().unwrap();
            Some(
                fuel_api::serve(config)
                    .await
                    .expect("a second process starts"),
            )
        }
        // One process per SQLite file (the lock beside it).
        Backend::Sqlite => None,
    };
    let writer = match &other {
        Some(server) => fuel_api_client::Client::new(&server.url())
            .unwrap()
            .with_token(client.token().unwrap().to_string()),
        None => client.clone(),
    };
    client
        .put_package_manipulation(env, b"packages:\n- name: d\n  version: '1.0-1'\n", None)
        .await
        .unwrap();
    let checked =
        |host: &str, version: &str| report(host, true, &[("d", Some(version), Some(version))]);
    store(&api, env, &[(n[0], "node-1", checked("node-1", "1.0-1"))]).await;
    let variants = ["", "?drift=1", "?package=d", "?package=d&drift=1"];
    // Reads every variant twice (the second one served from memory, the
    // same bytes) and returns the whole inventory and the drift answer.
    let read = || async {
        for query in variants {
            let first = raw(&api, &client, env, query).await;
            assert_eq!(first.0, 200, "{query}: {}", first.1);
            assert_eq!(raw(&api, &client, env, query).await, first, "{query}");
        }
        (
            client.package_inventory(env, None, false).await.unwrap(),
            client.package_inventory(env, None, true).await.unwrap(),
        )
    };
    let (whole, drift) = read().await;
    assert_eq!(
        versions(&whole, "d"),
        [(Some("1.0-1".to_string()), vec![n[0]])]
    );
    assert_eq!(drift.drift, Some(true), "nodes 2-4 never observed");

    // An observation by a task.
    store(&api, env, &[(n[1], "node-2", checked("node-2", "2.0-1"))]).await;
    let (whole, drift) = read().await;
    assert_eq!(
        versions(&whole, "d"),
        [
            (Some("1.0-1".to_string()), vec![n[0]]),
            (Some("2.0-1".to_string()), vec![n[1]])
        ]
    );
    assert_eq!(drift.packages[0].off_document, [n[1], n[2], n[3]]);

    // A node joining the environment.
    let joined = writer
        .create_node(&crate::nodes::new_node("node-5", "10.20.0.5", Some(env)))
        .await
        .unwrap();
    let (whole, _) = read().await;
    assert!(whole.node(joined.id).is_some());
    assert_eq!(whole.packages[0].unobserved, [n[2], n[3], joined.id]);

    // A node renamed, then taken out of the environment.
    let rename = NodeUpdate {
        hostname: Some("node-5-renamed".to_string()),
        ..NodeUpdate::default()
    };
    writer.update_node(joined.id, &rename).await.unwrap();
    let (whole, _) = read().await;
    assert_eq!(whole.node(joined.id).unwrap().hostname, "node-5-renamed");
    let leave = NodeUpdate {
        cluster_id: Some(None),
        ..NodeUpdate::default()
    };
    writer.update_node(joined.id, &leave).await.unwrap();
    let (whole, _) = read().await;
    assert!(whole.node(joined.id).is_none());

    // A node deleted: its observation goes with it.
    writer.delete_node(n[1]).await.unwrap();
    let (whole, _) = read().await;
    assert!(whole.node(n[1]).is_none());
    assert_eq!(
        versions(&whole, "d"),
        [(Some("1.0-1".to_string()), vec![n[0]])]
    );

    // A new document revision: drift is judged against it.
    writer
        .put_package_manipulation(env, b"packages:\n- name: d\n  version: '3.0-1'\n", None)
        .await
        .unwrap();
    let (_, drift) = read().await;
    assert_eq!(drift.document_revision, Some(2));
    assert_eq!(drift.packages[0].requested.as_deref(), Some("3.0-1"));
    assert_eq!(drift.packages[0].off_document, [n[0], n[2], n[3]]);

    if let Some(server) = other {
        server.shutdown().await.unwrap();
    }
    api.stop().await;
}
