//! Several packaged fuel-api processes on one PostgreSQL database (issue 20):
//! one package task per environment whichever process is asked, a task
//! whose process is SIGKILLed completed by another with every after-action
//! run once, a restarted process disturbing nobody, a task abandoned past
//! the resume window interrupted, a rollout taken over between its batches
//! keeping its order and its stop (killed in its first batch, and killed
//! between batches with `--max-failures` counting the first process's
//! failure), releases and tokens the same on every
//! process at once; and a second process refused on one SQLite file. Real
//! processes (the release binaries), the suite's PostgreSQL server (a
//! database per test), real apt node containers over SSH.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fuel_api_client::{Task, TaskNodeStatus, TaskStatus};
use fuel_e2e::api::{package_tasks_table, ApiConfig, PackagedApi};
use fuel_e2e::fleet::{Fleet, LightNode};
use fuel_e2e::node::{test_ssh_identity, Flavour, TestNode};
use fuel_e2e::package_tasks::{
    assert_batches_in_order, node_list, package_database, start_nodes, subtask, text, PASSWORD,
};
use fuel_e2e::{postgres_url, release_binary, require_tool};

/// The lease the tests configure: short, so a takeover comes quickly.
const LEASE_SECS: u64 = 3;

/// fuel-api processes on one PostgreSQL database of their own (dropped at the end).
struct Processes {
    database: String,
    apis: Vec<PackagedApi>,
    _dir: tempfile::TempDir,
}

impl Processes {
    /// `count` processes on a new database, each with `[package_tasks]`
    /// reaching the test nodes, the test lease and `resume_window_secs`.
    fn start(count: usize, resume_window_secs: u64) -> Processes {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("fuel_e2e_processes_{}_{nanos}", std::process::id());
        psql(&format!("CREATE DATABASE {name}"));
        let url = fuel_test_bed::database_url(&postgres_url(), &name);
        let dir = tempfile::tempdir().unwrap();
        let apis = (0..count)
            .map(|i| {
                let own = dir.path().join(format!("process-{i}"));
                std::fs::create_dir(&own).unwrap();
                let config = ApiConfig {
                    database_url: Some(url.clone()),
                    extra: format!(
                        "{}lease_secs = {LEASE_SECS}\nresume_window_secs = {resume_window_secs}\n",
                        package_tasks_table(32, 120)
                    ),
                    ..ApiConfig::new(PASSWORD)
                };
                PackagedApi::start(&own, &config).unwrap_or_else(|e| panic!("{e:#}"))
            })
            .collect();
        Processes {
            database: name,
            apis,
            _dir: dir,
        }
    }

    /// One SQL query on the processes' database, its output unaligned.
    fn sql(&self, query: &str) -> String {
        let url = fuel_test_bed::database_url(&postgres_url(), &self.database);
        let out = Command::new(require_tool("psql"))
            .args([url.as_str(), "-qAt", "-c", query])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {query}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Every process's request log, for failure messages.
    fn logs(&self) -> String {
        self.apis
            .iter()
            .enumerate()
            .map(|(i, api)| {
                format!(
                    "--- process {i}:\n{}",
                    std::fs::read_to_string(api.log()).unwrap_or_default()
                )
            })
            .collect()
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for api in &mut self.apis {
            api.kill();
        }
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.database
        ));
    }
}

fn psql(query: &str) {
    let out = Command::new(require_tool("psql"))
        .args([postgres_url().as_str(), "-qAt", "-c", query])
        .output()
        .unwrap();
    assert!(out.status.success(), "psql {query}: {}", text(&out));
}

/// One request to a process with its token; (status, body).
fn http(api: &PackagedApi, method: &str, path: &str, body: &str) -> (u16, String) {
    api.request(method, path, body)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

fn task(api: &PackagedApi, id: i64) -> Task {
    let (status, body) = http(api, "GET", &format!("/api/v1/tasks/{id}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The packaged `fuel` talking to `api` with its token.
fn fuel(api: &PackagedApi, dir: &Path, args: &[&str]) -> Output {
    Command::new(release_binary("fuel"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("FUEL_API_URL", &api.url)
        .env("FUEL_API_TOKEN", &api.token)
        .stdin(Stdio::null())
        .output()
        .expect("running fuel")
}

fn fuel_ok(api: &PackagedApi, dir: &Path, args: &[&str]) -> String {
    let out = fuel(api, dir, args);
    assert!(
        out.status.success(),
        "fuel {}: {}",
        args.join(" "),
        text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A release and an environment of it, through `api`; the environment's id.
fn create_env(api: &PackagedApi, name: &str) -> i64 {
    let (status, body) = http(
        api,
        "POST",
        "/api/v1/releases",
        &format!(r#"{{"name":"{name}","version":"{name}-8.0","operating_system":"Ubuntu"}}"#),
    );
    assert_eq!(status, 201, "{body}");
    let release: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, body) = http(
        api,
        "POST",
        "/api/v1/clusters",
        &format!(r#"{{"name":"{name}","release_id":{}}}"#, release["id"]),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Registers a node through `api`; its id.
fn register(api: &PackagedApi, hostname: &str, ip: &str, port: u16, key: &str, env: i64) -> i64 {
    let body = serde_json::json!({
        "hostname": hostname, "ip": ip, "ssh_port": port, "os": "ubuntu",
        "cluster_id": env, "host_key": key,
        // The rounds' stand-in nodes listen on this machine's loopback, which the API
        // refuses unless told the address is meant.
        "allow_local_address": ip.starts_with("127."),
    });
    let (status, answer) = http(api, "POST", "/api/v1/nodes", &body.to_string());
    assert_eq!(status, 201, "{answer}");
    serde_json::from_str::<serde_json::Value>(&answer).unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Uploads `document` through the last process (C of three) and starts
/// `execute_pm` on `ids` through process A (`--no-wait`, then `extra`
/// flags): the task as A answered.
fn start_through_a(
    processes: &Processes,
    operator: &Path,
    env: i64,
    document: &str,
    ids: &[i64],
    extra: &[&str],
) -> Task {
    std::fs::write(operator.join("document.yaml"), document).unwrap();
    let env_s = env.to_string();
    // The CLI talks to any process: upload through C, start through A.
    fuel_ok(
        processes.apis.last().expect("a process"),
        operator,
        &["package", "--env", &env_s, "--upload", "document.yaml"],
    );
    let selection = node_list(ids);
    let mut args = vec![
        "--json",
        "node",
        "--node",
        &selection,
        "--tasks",
        "execute_pm",
        "--no-wait",
    ];
    args.extend_from_slice(extra);
    let out = fuel_ok(&processes.apis[0], operator, &args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The task once it ended, read through B, which must happen before
/// `deadline` (A was killed at `killed`).
fn finished_after_kill(processes: &Processes, id: i64, killed: Instant, deadline: Instant) -> Task {
    loop {
        let t = task(&processes.apis[1], id);
        if t.status.is_final() {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "not finished {:?} after A was killed: {t:#?}\n{}",
            killed.elapsed(),
            processes.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// B or C holds the task's lease.
fn assert_taken_over_by_b_or_c(processes: &Processes, id: i64) {
    let owner = processes.sql(&format!("SELECT lease_owner FROM tasks WHERE id = {id}"));
    let (b, c) = (
        processes.apis[1].pid().unwrap(),
        processes.apis[2].pid().unwrap(),
    );
    assert!(
        owner.contains(&format!(":{b}:")) || owner.contains(&format!(":{c}:")),
        "B (pid {b}) or C (pid {c}) took it over: {owner}"
    );
}

/// Registers node containers (SSH on port 22) in `env` through `api`; their ids.
fn register_all(api: &PackagedApi, nodes: &[TestNode], env: i64) -> Vec<i64> {
    nodes
        .iter()
        .map(|n| register(api, n.name(), &n.ip(), 22, &n.host_key(), env))
        .collect()
}

/// Lines of a file on a node that equal `line` (0 when the file is missing).
fn count_lines(node: &TestNode, path: &str, line: &str) -> usize {
    node.sh_ok(&format!("cat {path} 2>/dev/null || true"))
        .lines()
        .filter(|l| *l == line)
        .count()
}

/// The tool package, then a one-liner that records its start and end in
/// /root/after-runs and, on a node holding /root/slow, sleeps between them.
const SLOW_DOCUMENT: &str = "packages:
- name: fuel-test-tool
  version: 2.0-1
  after:
  - provider: exec
    name: echo start >> /root/after-runs; if test -e /root/slow; then sleep 8; fi; echo end >> /root/after-runs
";

/// How long the slow node's one-liner sleeps.
const SLOW_SECS: u64 = 8;

#[test]
fn a_task_whose_process_is_killed_is_completed_by_another_after_the_lease_with_each_after_action_run_once_and_a_restarted_process_disturbs_nothing(
) {
    let mut processes = Processes::start(3, 600);
    let operator = tempfile::tempdir().unwrap();
    let env = create_env(&processes.apis[0], "takeover");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Apt, Flavour::Apt]);
    let ids = register_all(&processes.apis[1], &nodes, env);
    let slow = &nodes[2];
    slow.sh_ok("touch /root/slow");
    let id = start_through_a(&processes, operator.path(), env, SLOW_DOCUMENT, &ids, &[]).id;
    let owner_a = processes.sql(&format!("SELECT lease_owner FROM tasks WHERE id = {id}"));
    assert!(
        owner_a.contains(&format!(":{}:", processes.apis[0].pid().unwrap())),
        "the accepting process holds the lease: {owner_a}"
    );

    // The fast nodes finish; the slow node's one-liner is under way.
    let deadline = Instant::now() + Duration::from_secs(180);
    let before = loop {
        let t = task(&processes.apis[1], id);
        let fast_done = ids[..2]
            .iter()
            .all(|&n| subtask(&t, n, "execute_pm").status == TaskNodeStatus::Ready);
        if fast_done && count_lines(slow, "/root/after-runs", "start") == 1 {
            break t;
        }
        assert!(!t.status.is_final(), "{t:#?}\n{}", processes.logs());
        assert!(Instant::now() < deadline, "{t:#?}\n{}", processes.logs());
        std::thread::sleep(Duration::from_millis(100));
    };

    // C restarts meanwhile: the running task is left alone.
    processes.apis[2]
        .restart()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let t = task(&processes.apis[2], id);
    assert_eq!(t.status, TaskStatus::Running, "{t:#?}");
    assert_eq!(
        processes.sql(&format!("SELECT lease_owner FROM tasks WHERE id = {id}")),
        owner_a,
        "the restarted process took nothing over"
    );

    // A dies.
    processes.apis[0].kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(LEASE_SECS + SLOW_SECS + 30);
    let done = finished_after_kill(&processes, id, killed, deadline);
    let took = killed.elapsed();
    eprintln!("task {id} completed {took:?} after its process was SIGKILLed (lease {LEASE_SECS} s, slow node {SLOW_SECS} s)");
    assert_eq!(
        done.status,
        TaskStatus::Ready,
        "{done:#?}\n{}",
        processes.logs()
    );
    assert!(
        took < Duration::from_secs(LEASE_SECS + SLOW_SECS + 15),
        "took {took:?}"
    );
    assert_taken_over_by_b_or_c(&processes, id);

    // Every node is at the document's version; finished nodes were not run again.
    for node in &nodes {
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("2.0-1"),
            "{}",
            node.name()
        );
    }
    for &n in &ids[..2] {
        assert_eq!(
            subtask(&done, n, "execute_pm"),
            subtask(&before, n, "execute_pm"),
            "node {n} finished before the kill and was not run again"
        );
    }
    // The slow node's one-liner completed exactly once: the applier A
    // started finished it and cleared it from the node's owed actions (or,
    // were it stopped with its master, left it owed and the new owner's
    // applier performed it: started twice, completed once); the applier the
    // new owner ran waited for A's, found the package at its version and
    // owed nothing more.
    let runs = slow.sh_ok("cat /root/after-runs");
    assert_eq!(
        count_lines(slow, "/root/after-runs", "end"),
        1,
        "the slow node's after-action completed once: {runs}"
    );
    assert!(
        (1..=2).contains(&count_lines(slow, "/root/after-runs", "start")),
        "{runs}"
    );
    for node in &nodes[..2] {
        assert_eq!(count_lines(node, "/root/after-runs", "end"), 1);
    }
    let shown = fuel_ok(
        &processes.apis[2],
        operator.path(),
        &["task", "--task-id", &id.to_string()],
    );
    assert!(shown.contains("ready"), "{shown}");
    fuel_e2e::package_tasks::remove_ssh_leftovers(&nodes);
}

/// The tool package, then a one-liner that records its start and end in
/// /root/after-runs, sleeps on a node holding /root/slow and fails on a node
/// holding /root/fail (the package is installed, the node's run fails).
const ROLLOUT_DOCUMENT: &str = "packages:
- name: fuel-test-tool
  version: 2.0-1
  after:
  - provider: exec
    name: echo start >> /root/after-runs; if test -e /root/slow; then sleep 8; fi; echo end >> /root/after-runs; test ! -e /root/fail
";

#[test]
fn a_rollout_whose_process_is_killed_mid_batch_is_continued_by_another_batch_after_batch_and_still_stops_after_max_failures(
) {
    let mut processes = Processes::start(2, 600);
    let operator = tempfile::tempdir().unwrap();
    let env = create_env(&processes.apis[0], "rollout-takeover");
    let nodes = start_nodes(&[Flavour::Apt; 4]);
    let ids = register_all(&processes.apis[0], &nodes, env);
    let databases: Vec<String> = nodes.iter().map(package_database).collect();
    // Batch 1 (node 0) is slow: A dies while it runs. Batch 2 (node 1) fails:
    // with --max-failures 0 the rollout must stop there, under B.
    nodes[0].sh_ok("touch /root/slow");
    nodes[1].sh_ok("touch /root/fail");
    let started = start_through_a(
        &processes,
        operator.path(),
        env,
        ROLLOUT_DOCUMENT,
        &ids,
        &["--batch", "1,1,2", "--max-failures", "0"],
    );
    let id = started.id;
    let expected = vec![vec![ids[0]], vec![ids[1]], vec![ids[2], ids[3]]];
    assert_eq!(started.batches, expected);

    // A dies while the first batch's one-liner sleeps.
    let deadline = Instant::now() + Duration::from_secs(180);
    while count_lines(&nodes[0], "/root/after-runs", "start") == 0 {
        let t = task(&processes.apis[1], id);
        assert!(!t.status.is_final(), "{t:#?}\n{}", processes.logs());
        assert!(Instant::now() < deadline, "{t:#?}\n{}", processes.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = task(&processes.apis[1], id);
    for &later in &ids[1..] {
        assert_eq!(
            subtask(&before, later, "execute_pm").started_at,
            None,
            "a later batch started before the first ended: {before:#?}"
        );
    }
    processes.apis[0].kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(LEASE_SECS + SLOW_SECS + 60);
    let done = finished_after_kill(&processes, id, killed, deadline);
    let owner = processes.sql(&format!("SELECT lease_owner FROM tasks WHERE id = {id}"));
    let b = processes.apis[1].pid().unwrap();
    assert!(
        owner.contains(&format!(":{b}:")),
        "B (pid {b}) took it over: {owner}"
    );

    // B kept the plan: the same batches, and it stopped after the failing
    // second batch, sparing the third.
    assert_eq!(
        done.status,
        TaskStatus::Error,
        "{done:#?}\n{}",
        processes.logs()
    );
    assert_eq!(done.batches, expected);
    assert_eq!(done.max_failures.as_deref(), Some("0"));
    let first = subtask(&done, ids[0], "execute_pm");
    assert_eq!(first.status, TaskNodeStatus::Ready, "{first:#?}");
    let second = subtask(&done, ids[1], "execute_pm");
    assert_eq!(
        (second.status, second.reason.as_deref()),
        (TaskNodeStatus::Error, Some("apply_failed")),
        "{second:#?}"
    );
    assert!(
        first.finished_at <= second.started_at,
        "the second batch started before the first ended: {done:#?}"
    );
    for (node, &spared) in nodes.iter().zip(&ids).skip(2) {
        for name in ["upload_pm", "execute_pm"] {
            let sub = subtask(&done, spared, name);
            assert_eq!(
                (sub.status, sub.reason.as_deref(), sub.started_at.as_deref()),
                (TaskNodeStatus::Skipped, Some("rollout_stopped"), None),
                "{sub:#?}"
            );
        }
        assert_eq!(
            count_lines(node, "/root/after-runs", "start"),
            0,
            "{}",
            node.name()
        );
    }
    for (i, (node, before)) in nodes.iter().zip(&databases).enumerate().skip(2) {
        assert_eq!(
            &package_database(node),
            before,
            "spared node {i} was changed"
        );
    }
    // Each tried node's one-liner completed once, the first batch's across the takeover.
    for node in &nodes[..2] {
        assert_eq!(
            count_lines(node, "/root/after-runs", "end"),
            1,
            "{}: {}",
            node.name(),
            node.sh_ok("cat /root/after-runs")
        );
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("2.0-1")
        );
    }
    fuel_e2e::package_tasks::remove_ssh_leftovers(&nodes);
}

/// The tool package, then a one-liner recording on the node when it ran
/// (nanoseconds), waiting while /root/hold exists, and failing on a node
/// holding /root/fail.
const HELD_ROLLOUT_DOCUMENT: &str = "packages:
- name: fuel-test-tool
  version: 2.0-1
  after:
  - provider: exec
    name: echo start >> /root/runs; date +%s%N > /root/applied-at; while test -e /root/hold; do sleep 0.2; done; echo end >> /root/runs; test ! -e /root/fail
";

/// Lines of a light node's file that equal `line` (0 when it is missing).
fn light_lines(node: &LightNode, path: &str, line: &str) -> usize {
    let out = node.sh(&format!("cat {path} 2>/dev/null || true")).unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| *l == line)
        .count()
}

#[test]
fn a_rollout_whose_process_is_killed_between_batches_is_finished_by_another_once_in_order_with_max_failures_counting_the_first_processs_failures(
) {
    let (_, public) = test_ssh_identity();
    let fleet = Fleet::start(6, &public).unwrap_or_else(|e| panic!("{e:#}"));
    let mut processes = Processes::start(3, 600);
    let operator = tempfile::tempdir().unwrap();
    let env = create_env(&processes.apis[0], "rollout-takeover");
    let body = fleet.registration(env, |_| Vec::new());
    let (status, answer) = http(
        &processes.apis[1],
        "POST",
        "/api/v1/nodes",
        &body.to_string(),
    );
    assert_eq!(status, 201, "{answer}");
    let ids: Vec<i64> = serde_json::from_str::<Vec<serde_json::Value>>(&answer)
        .unwrap()
        .iter()
        .map(|n| n["id"].as_i64().unwrap())
        .collect();
    let node = |id: i64| &fleet.nodes[ids.iter().position(|&i| i == id).unwrap()];
    // --batch 1,2 over six nodes: [a], [b, c], [d, e], [f]. a fails in the
    // first batch (one failure: not more than --max-failures 1), b holds
    // the second batch open while its process is killed, d fails in the
    // third: two failures, so f is spared, whoever runs the rollout then.
    let batches = vec![
        vec![ids[0]],
        vec![ids[1], ids[2]],
        vec![ids[3], ids[4]],
        vec![ids[5]],
    ];
    node(ids[0]).sh("touch /root/fail").unwrap();
    node(ids[1]).sh("touch /root/hold").unwrap();
    node(ids[3]).sh("touch /root/fail").unwrap();
    let id = start_through_a(
        &processes,
        operator.path(),
        env,
        HELD_ROLLOUT_DOCUMENT,
        &ids,
        &["--batch", "1,2", "--max-failures", "1"],
    )
    .id;
    let owner_a = processes.sql(&format!("SELECT lease_owner FROM tasks WHERE id = {id}"));

    // The first batch failed, c is done, b's one-liner holds the second batch.
    let deadline = Instant::now() + Duration::from_secs(60);
    let before = loop {
        let t = task(&processes.apis[1], id);
        let done = |n: i64, status| subtask(&t, n, "execute_pm").status == status;
        if done(ids[0], TaskNodeStatus::Error)
            && done(ids[2], TaskNodeStatus::Ready)
            && light_lines(node(ids[1]), "/root/runs", "start") == 1
        {
            break t;
        }
        assert!(!t.status.is_final(), "{t:#?}\n{}", processes.logs());
        assert!(Instant::now() < deadline, "{t:#?}\n{}", processes.logs());
        std::thread::sleep(Duration::from_millis(100));
    };
    for &later in &ids[3..] {
        assert_eq!(
            subtask(&before, later, "upload_pm").status,
            TaskNodeStatus::Pending,
            "the third batch waits for the second"
        );
    }

    // A dies between its batches; b is let go once another process holds
    // the task (A's run on b ended with A's ssh session).
    processes.apis[0].kill();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(LEASE_SECS + 40);
    loop {
        let owner = processes.sql(&format!("SELECT lease_owner FROM tasks WHERE id = {id}"));
        if owner != owner_a {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nobody took the task over: {}",
            processes.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    node(ids[1]).sh("rm -f /root/hold").unwrap();
    let done = finished_after_kill(&processes, id, killed, deadline);
    eprintln!(
        "rollout {id} finished {:?} after its process was SIGKILLed",
        killed.elapsed()
    );
    assert_taken_over_by_b_or_c(&processes, id);

    // max_failures counted A's failure: the rollout stopped after the third batch.
    assert_eq!(done.batches, batches);
    assert_eq!(done.status, TaskStatus::Error, "{done:#?}");
    let message = done.message.clone().unwrap_or_default();
    assert!(
        message.contains("stopped after batch 3 of 4") && message.contains("1 node(s) not started"),
        "{message}"
    );
    let exec = |n: i64| subtask(&done, n, "execute_pm");
    assert_eq!(exec(ids[0]).status, TaskNodeStatus::Error);
    assert_eq!(exec(ids[3]).status, TaskNodeStatus::Error);
    for &n in &[ids[1], ids[2], ids[4]] {
        assert_eq!(exec(n).status, TaskNodeStatus::Ready, "node {n}: {done:#?}");
    }
    let spared = exec(ids[5]);
    assert_eq!(spared.status, TaskNodeStatus::Skipped);
    assert_eq!(spared.reason.as_deref(), Some("rollout_stopped"));
    assert_eq!(spared.started_at, None);
    let f = node(ids[5]);
    assert_ne!(
        f.installed_version("fuel-test-tool").unwrap().as_deref(),
        Some("2.0-1"),
        "the spared node is untouched"
    );
    assert_eq!(
        light_lines(f, "/root/runs", "start"),
        0,
        "nothing ran on the spared node"
    );

    // What A finished was not run again; the later batch ran once, each node's
    // one-liner completing once.
    for &n in &[ids[0], ids[2]] {
        assert_eq!(
            exec(n),
            subtask(&before, n, "execute_pm"),
            "node {n} not run again"
        );
    }
    for &n in &ids[..5] {
        assert_eq!(light_lines(node(n), "/root/runs", "end"), 1, "node {n}");
    }
    for &n in &[ids[2], ids[3], ids[4]] {
        assert_eq!(light_lines(node(n), "/root/runs", "start"), 1, "node {n}");
    }
    // In order, by the record (the second batch, finished by the new owner,
    // ended before the third started) and by the nodes' clocks.
    assert_batches_in_order(&done, &batches[..3]);
    let applied = |n: i64| -> u128 {
        let out = node(n).sh("cat /root/applied-at").unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let second = batches[1].iter().map(|&n| applied(n)).max().unwrap();
    let third = batches[2].iter().map(|&n| applied(n)).min().unwrap();
    assert!(
        second < third,
        "the third batch ran before the second ended"
    );
}

#[test]
fn concurrent_task_requests_for_one_environment_to_different_processes_are_accepted_exactly_once_in_each_of_50_rounds(
) {
    const ROUNDS: usize = 50;
    let processes = Processes::start(3, 600);
    let operator = tempfile::tempdir().unwrap();
    // Each environment's one node is a port that accepts connections and
    // never speaks SSH, so its task stays running (until connect_timeout)
    // while the second request arrives.
    let silent: Vec<TcpListener> = (0..ROUNDS)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let (_, key) = fuel_e2e::node::test_ssh_identity();
    std::fs::write(
        operator.path().join("doc.yaml"),
        "packages:\n- name: fuel-test-tool\n",
    )
    .unwrap();
    let mut envs = Vec::new();
    for (round, listener) in silent.iter().enumerate() {
        let api = &processes.apis[round % 3];
        let env = create_env(api, &format!("race{round}"));
        let port = listener.local_addr().unwrap().port();
        let node = register(
            api,
            &format!("race-node-{round}"),
            "127.0.0.1",
            port,
            &key,
            env,
        );
        fuel_ok(
            api,
            operator.path(),
            &["package", "--env", &env.to_string(), "--upload", "doc.yaml"],
        );
        envs.push((env, node));
    }

    let started = Instant::now();
    for (round, &(env, node)) in envs.iter().enumerate() {
        let pair = [&processes.apis[round % 3], &processes.apis[(round + 1) % 3]];
        let barrier = Arc::new(Barrier::new(2));
        let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
            let running: Vec<_> = pair
                .iter()
                .map(|api| {
                    let barrier = barrier.clone();
                    scope.spawn(move || {
                        let body = format!(r#"{{"nodes":[{node}],"tasks":["upload_pm"]}}"#);
                        barrier.wait();
                        http(
                            api,
                            "POST",
                            &format!("/api/v1/clusters/{env}/deploy_tasks"),
                            &body,
                        )
                    })
                })
                .collect();
            running.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        statuses.sort();
        assert_eq!(statuses, [202, 409], "round {round}: {answers:?}");
        let accepted: Task =
            serde_json::from_str(&answers.iter().find(|(s, _)| *s == 202).unwrap().1).unwrap();
        let refused = &answers.iter().find(|(s, _)| *s == 409).unwrap().1;
        assert!(
            refused.contains(&format!("package task {}", accepted.id)),
            "round {round}: the refusal names the accepted task: {refused}"
        );
    }
    let took = started.elapsed();
    eprintln!("{ROUNDS} rounds in {took:?}");
    assert!(
        took < Duration::from_secs(60),
        "{ROUNDS} rounds took {took:?}"
    );
    assert_eq!(
        processes.sql("SELECT count(*) FROM tasks"),
        ROUNDS.to_string(),
        "one task per environment"
    );
    drop(silent);
}

#[test]
fn a_task_abandoned_by_every_process_for_longer_than_the_resume_window_is_interrupted_and_the_same_command_completes_it(
) {
    const WINDOW_SECS: u64 = 4;
    let mut processes = Processes::start(2, WINDOW_SECS);
    let operator = tempfile::tempdir().unwrap();
    let env = create_env(&processes.apis[0], "window");
    let nodes = start_nodes(&[Flavour::Apt]);
    let node = &nodes[0];
    let id = register(
        &processes.apis[0],
        node.name(),
        &node.ip(),
        22,
        &node.host_key(),
        env,
    );
    // The one-liner waits for a file the test creates.
    std::fs::write(
        operator.path().join("gated.yaml"),
        "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n  after:\n  - provider: exec\n    name: until test -e /run/fuel-e2e-gate; do sleep 0.1; done\n",
    )
    .unwrap();
    let env_s = env.to_string();
    let (a, b) = (&processes.apis[0], &processes.apis[1]);
    fuel_ok(
        a,
        operator.path(),
        &["package", "--env", &env_s, "--upload", "gated.yaml"],
    );
    let id_s = id.to_string();
    let command = [
        "--json",
        "node",
        "--node",
        &id_s,
        "--tasks",
        "execute_pm",
        "--no-wait",
    ];
    let out = fuel_ok(b, operator.path(), &command);
    let started: Task = serde_json::from_str(&out).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while subtask(&task(a, started.id), id, "execute_pm").status != TaskNodeStatus::Running {
        assert!(Instant::now() < deadline, "{}", processes.logs());
        std::thread::sleep(Duration::from_millis(100));
    }

    for api in &mut processes.apis {
        api.kill();
    }
    // The lease runs out, then the window: nobody was there.
    std::thread::sleep(Duration::from_secs(LEASE_SECS + WINDOW_SECS + 2));
    processes.apis[0]
        .restart()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let a = &processes.apis[0];
    let after = task(a, started.id);
    assert_eq!(after.status, TaskStatus::Interrupted, "{after:#?}");
    assert_eq!(
        subtask(&after, id, "execute_pm").status,
        TaskNodeStatus::Interrupted
    );
    // Still interrupted a few sweeps later: nothing resumed it.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(task(a, started.id).status, TaskStatus::Interrupted);

    // The applier the dead process started is still waiting on the node;
    // the gate lets it end, and the same command completes the work.
    node.sh_ok("touch /run/fuel-e2e-gate");
    let out = fuel(a, operator.path(), &command[1..6]);
    assert!(out.status.success(), "{}\n{}", text(&out), processes.logs());
    let (status, body) = http(a, "GET", "/api/v1/tasks", "");
    assert_eq!(status, 200);
    let tasks: Vec<Task> = serde_json::from_str(&body).unwrap();
    let rerun = task(a, tasks.iter().map(|t| t.id).max().unwrap());
    assert_ne!(rerun.id, started.id);
    assert_eq!(rerun.status, TaskStatus::Ready, "{rerun:#?}");
    assert_eq!(
        node.installed_version("fuel-test-tool").as_deref(),
        Some("2.0-1")
    );
    fuel_e2e::package_tasks::remove_ssh_leftovers(&nodes);
}

#[test]
fn a_release_created_through_one_process_is_listed_by_the_others_at_once_and_a_token_revoked_through_one_is_refused_by_all(
) {
    let processes = Processes::start(3, 600);
    let apis = &processes.apis;
    for round in 0..20 {
        let (writer, readers) = (
            &apis[round % 3],
            [&apis[(round + 1) % 3], &apis[(round + 2) % 3]],
        );
        let name = format!("listed-{round}");
        let (status, body) = http(
            writer,
            "POST",
            "/api/v1/releases",
            &format!(r#"{{"name":"{name}","version":"8.0","operating_system":"Ubuntu"}}"#),
        );
        assert_eq!(status, 201, "{body}");
        for reader in readers {
            let (status, list) = http(reader, "GET", "/api/v1/releases", "");
            assert_eq!(status, 200);
            assert!(
                list.contains(&format!("\"{name}\"")),
                "round {round}: {name} created through {} is not listed by {}: {list}",
                writer.url,
                reader.url
            );
        }
    }

    // A's token works on B and C; revoked through B, it is refused by all three at once.
    let token = apis[0].token.clone();
    let with_token = |api: &PackagedApi, method: &str, path: &str| {
        fuel_e2e::http::exchange(api.port, method, path, Some(&token), "")
    };
    for api in apis {
        assert_eq!(
            with_token(api, "GET", "/api/v1/releases").0,
            200,
            "{}",
            api.url
        );
    }
    assert_eq!(with_token(&apis[1], "DELETE", "/api/v1/auth/tokens").0, 204);
    for api in apis {
        let (status, body) = with_token(api, "GET", "/api/v1/releases");
        assert_eq!(status, 401, "{}: {body}", api.url);
    }
}

#[test]
fn a_second_process_on_one_sqlite_file_refuses_to_start_naming_the_holder_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let first = PackagedApi::start(dir.path(), &ApiConfig::new(PASSWORD))
        .unwrap_or_else(|e| panic!("{e:#}"));
    // The same configuration file: the same database (and port).
    let second = Command::new(release_binary("fuel-api"))
        .arg("--config")
        .arg(first.config_path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{}", text(&second));
    let pid = first.pid().unwrap();
    assert!(
        said.contains(&format!("pid {pid}")) && said.contains("PostgreSQL"),
        "names the holder (pid {pid}) and PostgreSQL: {said}"
    );
    assert!(
        said.contains(&dir.path().join("fuel-api.db").display().to_string()),
        "names the database: {said}"
    );
    let (status, _) = first.request("GET", "/api/v1/releases", "").unwrap();
    assert_eq!(status, 200, "the first process still serves");
}
