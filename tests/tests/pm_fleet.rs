//! Package tasks at fleet scale and rollouts that stop (issue 19), with the
//! packaged `fuel` and `fuel-api`: one task across 30 light nodes
//! (fuel_e2e::fleet, registered in one request), and rollouts on real node
//! containers — batches in order, the stop after `--max-failures` sparing
//! every later node, controllers one at a time with `--order-by-role`.

// Shared with pm_tasks.rs, which uses the rest of it.
#[allow(dead_code)]
use std::process::Command;
use std::time::Instant;

use fuel_api_client::{Node, Task, TaskNodeStatus, TaskStatus};
use fuel_e2e::fleet::Fleet;
use fuel_e2e::node::{test_ssh_identity, Flavour};
use fuel_e2e::package_tasks::*;
use fuel_e2e::release_binary;

const FLEET: usize = 30;

/// One package change on every node.
const TOOL_2: &str = "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n";

/// A version the nodes' repository does not have: the applier refuses it
/// before changing anything, so the node fails `apply_failed`.
const MISSING_VERSION: &str = "packages:\n- name: fuel-test-tool\n  version: 9.9-1\n";

/// The change, then a one-liner recording on the node when it was applied
/// (nanoseconds of the clock the containers share with the host).
const TOOL_2_STAMPED: &str = "packages:
- name: fuel-test-tool
  version: 2.0-1
  after:
  - provider: exec
    name: date +%s%N > /var/tmp/fuel-applied-at
";

/// The nodes' ids as `fuel node` prints them for this environment.
fn registered(master: &Master, env: i64) -> Vec<Node> {
    let (status, body) = master.http("GET", &format!("/api/v1/nodes?cluster_id={env}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn one_task_across_thirty_light_nodes_reaches_every_node_and_the_summary_counts_them() {
    let (_, public) = test_ssh_identity();
    let fleet = Fleet::start(FLEET, &public).unwrap_or_else(|e| panic!("{e:#}"));
    let master = Master::start_with(16, 300);
    let env = master.create_env("fleet");

    // One request registers the whole fleet with its host keys.
    let body = fleet.registration(env, |_| vec!["compute".to_string()]);
    let started = Instant::now();
    let (status, answer) = master.http("POST", "/api/v1/nodes", &body.to_string());
    let took = started.elapsed();
    assert_eq!(status, 201, "{answer}");
    let nodes: Vec<Node> = serde_json::from_str(&answer).unwrap();
    assert_eq!(nodes.len(), FLEET);
    eprintln!("registered {FLEET} nodes in one request in {took:?}");
    assert_eq!(registered(&master, env), nodes);

    master.upload(env, "tool.yaml", TOOL_2);
    let ids: Vec<i64> = nodes.iter().map(|n| n.id).collect();
    let selection = node_list(&ids);
    // On a terminal (script(1) gives it one): the one summary line.
    let line = format!(
        "{} node --env {env} --node {selection} --tasks execute_pm",
        release_binary("fuel").display()
    );
    let operator = master.fuel_command(&[]);
    let mut command = Command::new(fuel_e2e::require_tool("script"));
    command
        .args(["-qec", &line, "/dev/null"])
        .env_clear()
        // An operator's terminal says what it is; without TERM nothing is drawn.
        .env("TERM", "xterm")
        .current_dir(master.operator_dir());
    for (key, value) in operator.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let out = command.output().expect("running fuel under script(1)");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}\n{}", text(&out), master.logs());
    let task = master.last_task();
    assert_eq!(task.status, TaskStatus::Ready, "{task:#?}");
    assert!(
        said.contains(&format!(
            "task {}: {FLEET} done, 0 running, 0 failed, 0 remaining",
            task.id
        )),
        "no final summary line in:\n{said}"
    );
    // Every node's report stored, and every node as the document says.
    for node in &nodes {
        let report = stored_report(&task, node.id);
        assert_eq!(report.totals.changed, 1, "node {}", node.id);
    }
    for light in &fleet.nodes {
        assert_eq!(
            light
                .installed_version("fuel-test-tool")
                .unwrap()
                .as_deref(),
            Some("2.0-1"),
            "{}",
            light.name
        );
    }
    // The table lists every node, ready.
    let rows = said.lines().filter(|l| l.contains("| ready")).count();
    assert_eq!(rows, FLEET, "{said}");
}

/// (ids, nodes) of five apt nodes registered in a new environment.
fn five_nodes(master: &Master) -> (i64, Vec<i64>, Vec<fuel_e2e::node::TestNode>) {
    let nodes = start_nodes(&[Flavour::Apt; 5]);
    let env = master.create_env("rollout");
    let ids = master.register_all(&nodes, env);
    (env, ids, nodes)
}

fn batch_of(task: &Task, node_id: i64) -> Option<u32> {
    subtask(task, node_id, "execute_pm").batch
}

#[test]
fn a_failing_first_batch_stops_the_rollout_and_leaves_every_later_node_untouched() {
    let master = Master::start();
    let (env, ids, nodes) = five_nodes(&master);
    let databases: Vec<String> = nodes.iter().map(package_database).collect();
    master.upload(env, "missing.yaml", MISSING_VERSION);

    let out = master.fuel(&[
        "node",
        "--node",
        &node_list(&ids),
        "--tasks",
        "execute_pm",
        "--batch",
        "2,5",
        "--max-failures",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 node(s) were spared"),
        "the command does not say how many nodes were spared:\n{stderr}"
    );
    let task = master.last_task();
    assert_eq!(task.status, TaskStatus::Error);
    assert_eq!(task.batches, vec![ids[..2].to_vec(), ids[2..].to_vec()]);
    assert_eq!(task.max_failures.as_deref(), Some("1"));
    for &id in &ids[..2] {
        let execute = subtask(&task, id, "execute_pm");
        assert_eq!(
            (execute.status, execute.reason.as_deref()),
            (TaskNodeStatus::Error, Some("apply_failed")),
            "{execute:#?}"
        );
    }
    for (node, &id) in nodes.iter().zip(&ids).skip(2) {
        for name in ["upload_pm", "execute_pm"] {
            let sub = subtask(&task, id, name);
            assert_eq!(
                (sub.status, sub.reason.as_deref(), sub.started_at.as_deref()),
                (TaskNodeStatus::Skipped, Some("rollout_stopped"), None),
                "{sub:#?}"
            );
        }
        assert!(
            !exists(node, "/etc/hiera/package_manipulation.yaml"),
            "{}: the document reached a spared node",
            node.name()
        );
    }
    for (node, before) in nodes.iter().zip(&databases) {
        assert_eq!(&package_database(node), before, "{}", node.name());
    }
    // The table lists the failures first, and --failed only the nodes that did not succeed.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first_row = stdout.lines().nth(2).unwrap_or_default();
    assert!(first_row.contains("| error"), "{stdout}");
}

#[test]
fn batches_run_one_after_the_other_with_controllers_alone_and_first() {
    let master = Master::start();
    let (env, ids, nodes) = five_nodes(&master);
    // The last two nodes are controllers (pacemaker).
    for &id in &ids[3..] {
        let (status, body) = master.http(
            "PUT",
            &format!("/api/v1/nodes/{id}"),
            r#"{"roles": ["controller"]}"#,
        );
        assert_eq!(status, 200, "{body}");
    }
    master.upload(env, "stamped.yaml", TOOL_2_STAMPED);
    let out = master.fuel(&[
        "node",
        "--node",
        &node_list(&ids),
        "--tasks",
        "execute_pm",
        "--batch",
        "1,2",
        "--order-by-role",
        "--failed",
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out), master.logs());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.contains("| ready")).count(),
        0,
        "--failed lists no succeeded node:\n{stdout}"
    );
    let task = master.last_task();
    let expected = vec![
        vec![ids[3]],
        vec![ids[4]],
        vec![ids[0]],
        vec![ids[1], ids[2]],
    ];
    assert_eq!(task.batches, expected);
    for (index, batch) in expected.iter().enumerate() {
        for &id in batch {
            assert_eq!(batch_of(&task, id), Some(index as u32));
        }
    }
    // From the task record: no batch starts before the previous one ended.
    assert_batches_in_order(&task, &expected);
    // And from the nodes' clocks: each batch's changes after the previous batch's.
    let applied = |id: i64| -> u128 {
        let node = &nodes[ids.iter().position(|i| *i == id).unwrap()];
        node.sh_ok("cat /var/tmp/fuel-applied-at")
            .trim()
            .parse()
            .unwrap()
    };
    for pair in expected.windows(2) {
        let last = pair[0].iter().map(|&id| applied(id)).max().unwrap();
        let first = pair[1].iter().map(|&id| applied(id)).min().unwrap();
        assert!(
            last < first,
            "batch {:?} changed before {:?} ended",
            pair[1],
            pair[0]
        );
    }
    for node in &nodes {
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("2.0-1")
        );
    }
}

#[test]
fn bad_rollout_flags_are_refused_before_anything_starts() {
    let master = Master::start();
    let env = master.create_env("refusals");
    master.upload(env, "tool.yaml", TOOL_2);
    let out = master.fuel(&[
        "node",
        "--node",
        "1",
        "--tasks",
        "execute_pm",
        "--batch",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // Over HTTP the field is named and no task is created.
    let (status, body) = master.http(
        "POST",
        &format!("/api/v1/clusters/{env}/deploy_tasks"),
        r#"{"nodes": [1], "tasks": ["execute_pm"], "max_failures": "ten"}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"field\":\"max_failures\""), "{body}");
    assert!(master.tasks().is_empty());
}
