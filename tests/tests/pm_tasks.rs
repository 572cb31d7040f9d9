//! The package tasks end to end (issue 11): `fuel node --node 2,3 --tasks
//! execute_pm` with the packaged `fuel` against the packaged `fuel-api`,
//! which reaches apt and dnf node containers over real SSH with their
//! registered host keys and runs the release `fuel-pm-apply` on them. What
//! the nodes end up with is read inside the containers (dpkg-query, rpm),
//! not taken from the API's word.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fuel_api_client::{Task, TaskNodeStatus, TaskStatus};
use fuel_e2e::node::{Flavour, TestNode};
use fuel_e2e::package_tasks::*;
use fuel_e2e::release_binary;
use fuel_pm::report::{ActionOutcome, PackageAction};

/// The design's example (apache2 pinned with a restart, wget latest with an
/// exec one-liner, tmux with no version, screen absent) on the test
/// packages. The nodes have systemd, not upstart.
const DESIGN_DOCUMENT: &str = "---
packages:
- name: fuel-test-daemon
  version: 2.0-1
  after:
  - provider: systemd
    ensure: running
    name: fuel-test-daemon
- name: fuel-test-tool
  version: latest
  after:
  - provider: exec
    name: cat /usr/share/fuel-test-tool/VERSION > /tmp/tool-seen
- name: fuel-test-epoch
- name: fuel-test-extra
  version: absent
";

/// What every node has before Fuel touches it: installed by hand.
const BEFORE: &[(&str, &str)] = &[
    ("fuel-test-daemon", "1.0-1"),
    ("fuel-test-tool", "1.0-1"),
    ("fuel-test-extra", "1.0-1"),
];

/// What the design document leaves (`None`: not installed).
const AFTER: &[(&str, Option<&str>)] = &[
    ("fuel-test-daemon", Some("2.0-1")),
    ("fuel-test-tool", Some("2.0-1")),
    ("fuel-test-epoch", Some("1:0.9-1")),
    ("fuel-test-extra", None),
];

/// A file an after-action waits for: the test decides when the task moves on.
const GATE: &str = "/run/fuel-e2e-gate";

/// A document whose one package change is followed by a one-liner that
/// waits for [`GATE`], holding `execute_pm` running.
const GATED_DOCUMENT: &str = "packages:
- name: fuel-test-tool
  version: 2.0-1
  after:
  - provider: exec
    name: until test -e /run/fuel-e2e-gate; do sleep 0.1; done
";

/// No package changed, the daemon kept its process, the one-liner did not run.
fn assert_nothing_done(node: &TestNode, daemon_pid: &str, database: &str, run: &str) {
    let name = node.name();
    assert_eq!(
        package_database(node),
        database,
        "{name}: packages changed by {run}"
    );
    assert_eq!(
        daemon(node).0,
        daemon_pid,
        "{name}: daemon restarted by {run}"
    );
    assert!(
        !exists(node, "/tmp/tool-seen"),
        "{name}: the one-liner ran in {run}"
    );
}

fn assert_failed(out: &std::process::Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} succeeded but must be refused: {}",
        text(out)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_design_commands_apply_the_document_on_nodes_2_and_3_only_and_a_rerun_or_a_check_changes_nothing(
) {
    let master = Master::start();
    let env = master.create_env("design");
    assert_eq!(env, 1, "the first environment of a new master");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Apt, Flavour::Dnf, Flavour::Dnf]);
    let all: Vec<&TestNode> = nodes.iter().collect();
    let pids_before = on_each(&all, |node| {
        install_by_hand(node, BEFORE);
        start_daemon(node).0
    });
    let ids: Vec<i64> = master.register_all(&nodes, env);
    assert_eq!(ids, [1, 2, 3, 4], "nodes numbered in registration order");
    let (untouched, targets) = ([&nodes[0], &nodes[3]], [(2, &nodes[1]), (3, &nodes[2])]);
    let databases_before: Vec<String> = untouched.iter().map(|n| package_database(n)).collect();

    // The design's three commands, verbatim.
    std::fs::write(master.operator_dir().join("file.yaml"), DESIGN_DOCUMENT).unwrap();
    master.fuel_ok(&["package", "--env", "1", "--upload", "file.yaml"]);
    master.fuel_ok(&["package", "--env", "1", "--download"]);
    let downloaded = std::fs::read(master.operator_dir().join("package_manipulation_1.yaml"))
        .expect("--download writes package_manipulation_1.yaml");
    assert_eq!(
        downloaded,
        DESIGN_DOCUMENT.as_bytes(),
        "the document comes back byte for byte"
    );
    let table = master.fuel_ok(&["node", "--node", "2,3", "--tasks", "execute_pm"]);
    eprintln!("fuel node --node 2,3 --tasks execute_pm:\n{table}");

    let task = master.last_task();
    assert_eq!(task.status, TaskStatus::Ready, "{task:#?}");
    assert_eq!(task.progress, 100);
    assert_eq!(task.cluster_id, Some(1));
    assert_eq!(
        task.added_tasks,
        ["upload_pm"],
        "execute_pm requires upload_pm"
    );
    let mut worked_on: Vec<(i64, &str)> = task
        .nodes
        .iter()
        .map(|n| (n.node_id, n.subtask.as_str()))
        .collect();
    worked_on.sort();
    assert_eq!(
        worked_on,
        [
            (2, "execute_pm"),
            (2, "upload_pm"),
            (3, "execute_pm"),
            (3, "upload_pm")
        ],
        "only the named nodes, each with both sub-tasks"
    );
    for (id, node) in targets {
        let line = line_naming(&table, node.name());
        assert!(
            line.contains("ready"),
            "node {id} done in the table: {line}\n{table}"
        );
        for sub in ["upload_pm", "execute_pm"] {
            let state = subtask(&task, id, sub);
            assert_eq!(state.status, TaskNodeStatus::Ready, "{state:#?}");
            assert!(
                state.started_at.is_some() && state.finished_at.is_some(),
                "{state:#?}"
            );
            assert_eq!(state.hostname, node.name());
        }

        // The node, read directly, is what the document says …
        for (package, wanted) in AFTER {
            assert_eq!(
                node.installed_version(package).as_deref(),
                *wanted,
                "{package} on node {id} ({:?})",
                node.flavour()
            );
        }
        // … and what the stored report says.
        let report = stored_report(&task, id);
        assert_eq!(report.hostname, node.name());
        assert_eq!(report.backend, node.flavour().as_str());
        assert!(!report.check);
        let mut reported: Vec<(&str, Option<&str>)> = report
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.after.as_deref()))
            .collect();
        reported.sort();
        let mut expected: Vec<(&str, Option<&str>)> = AFTER.to_vec();
        expected.sort();
        assert_eq!(reported, expected, "node {id}: {report:#?}");
        for p in &report.packages {
            assert_eq!(
                node.installed_version(&p.name),
                p.after,
                "node {id}: {p:#?}"
            );
        }
        let actions: Vec<(&str, &str, ActionOutcome)> = report
            .actions
            .iter()
            .map(|a| (a.provider.as_str(), a.package.as_str(), a.result))
            .collect();
        assert_eq!(
            actions,
            [
                ("systemd", "fuel-test-daemon", ActionOutcome::Done),
                ("exec", "fuel-test-tool", ActionOutcome::Done)
            ],
            "node {id}: {report:#?}"
        );
        assert_eq!(report.totals.changed, 4, "node {id}: {report:#?}");
        assert_eq!(report.totals.failed, 0);
        let (pid, version) = daemon(node);
        assert_eq!(
            version, "2.0-1",
            "node {id}: the restarted daemon runs the new version"
        );
        assert_ne!(
            pid,
            pids_before[id as usize - 1],
            "node {id}: a new daemon process"
        );
        assert_eq!(
            node.sh_ok("cat /tmp/tool-seen").trim(),
            "2.0-1",
            "the one-liner ran after the upgrade"
        );
        assert_eq!(
            node.exec(&["cat", fuel_node::paths::DOCUMENT]).stdout,
            DESIGN_DOCUMENT.as_bytes(),
            "node {id} holds the uploaded document"
        );
    }
    for (i, (node, before)) in untouched.iter().zip(&databases_before).enumerate() {
        let id = [1, 4][i];
        assert_eq!(
            &package_database(node),
            before,
            "node {id}'s packages are untouched"
        );
        assert_eq!(
            daemon(node).0,
            pids_before[id - 1],
            "node {id}'s daemon was not restarted"
        );
        assert!(
            !exists(node, fuel_node::paths::DOCUMENT),
            "no document sent to node {id}"
        );
        assert!(
            !exists(node, APPLIER_ON_NODE),
            "no applier sent to node {id}"
        );
    }

    // The same command again: nothing changes, nothing restarts; --json parses.
    let pids_after: Vec<String> = targets.iter().map(|(_, n)| daemon(n).0).collect();
    let databases_after: Vec<String> = targets.iter().map(|(_, n)| package_database(n)).collect();
    for (_, node) in targets {
        node.sh_ok("rm /tmp/tool-seen");
    }
    let json = master.fuel_ok(&["node", "--node", "2,3", "--tasks", "execute_pm", "--json"]);
    let rerun: Task =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("--json ({e}): {json}"));
    assert_eq!(rerun.status, TaskStatus::Ready, "{rerun:#?}");
    assert_eq!(
        rerun,
        master.task(rerun.id),
        "--json prints the task as the API stores it"
    );
    for (i, (id, node)) in targets.into_iter().enumerate() {
        let report = stored_report(&rerun, id);
        assert_eq!(report.totals.changed, 0, "node {id}: {report:#?}");
        assert!(
            report
                .packages
                .iter()
                .all(|p| p.action == PackageAction::Unchanged),
            "{report:#?}"
        );
        assert!(
            report.actions.is_empty(),
            "no after-action runs again: {report:#?}"
        );
        assert_nothing_done(node, &pids_after[i], &databases_after[i], "the rerun");
    }

    // --check with a document that would downgrade the tool: reported, not done.
    let downgrade = DESIGN_DOCUMENT.replace(
        "- name: fuel-test-tool\n  version: latest",
        "- name: fuel-test-tool\n  version: 1.0-1",
    );
    master.upload(1, "downgrade.yaml", &downgrade);
    master.fuel_ok(&["node", "--node", "2,3", "--tasks", "execute_pm", "--check"]);
    let check = master.last_task();
    assert_eq!(check.status, TaskStatus::Ready, "{check:#?}");
    for (i, (id, node)) in targets.into_iter().enumerate() {
        let report = stored_report(&check, id);
        assert!(report.check, "node {id} ran in check mode: {report:#?}");
        let tool = report
            .packages
            .iter()
            .find(|p| p.name == "fuel-test-tool")
            .unwrap();
        assert_eq!(
            tool.action,
            PackageAction::Downgraded,
            "what would be done: {tool:#?}"
        );
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("2.0-1")
        );
        assert_nothing_done(node, &pids_after[i], &databases_after[i], "--check");
    }
    for (node, before) in untouched.iter().zip(&databases_before) {
        assert_eq!(&package_database(node), before);
    }
}

#[test]
fn upload_pm_alone_leaves_the_document_and_the_applier_on_the_nodes_and_changes_no_package() {
    let master = Master::start();
    let env = master.create_env("upload");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Dnf]);
    let all: Vec<&TestNode> = nodes.iter().collect();
    on_each(&all, |node| {
        install_by_hand(node, &[("fuel-test-tool", "1.0-1")])
    });
    let ids: Vec<i64> = master.register_all(&nodes, env);
    let databases: Vec<String> = nodes.iter().map(package_database).collect();
    let selection = node_list(&ids);
    let master_applier = sha256_of(&release_binary("fuel-pm-apply"));

    master.upload(env, "file.yaml", DESIGN_DOCUMENT);
    master.fuel_ok(&["node", "--node", &selection, "--tasks", "upload_pm"]);
    let task = master.last_task();
    assert_eq!(task.status, TaskStatus::Ready, "{task:#?}");
    assert!(
        task.added_tasks.is_empty(),
        "upload_pm requires nothing: {task:#?}"
    );
    assert!(
        task.nodes
            .iter()
            .all(|n| n.subtask == "upload_pm" && n.report.is_none()),
        "{task:#?}"
    );
    let applier_check = format!("sha256sum {APPLIER_ON_NODE}; stat -c '%a %U' {APPLIER_ON_NODE}");
    let mut applier_times = Vec::new();
    for (node, database) in nodes.iter().zip(&databases) {
        assert_eq!(
            node.exec(&["cat", fuel_node::paths::DOCUMENT]).stdout,
            DESIGN_DOCUMENT.as_bytes()
        );
        assert_eq!(
            node.sh_ok(&format!("stat -c '%a %U' {}", fuel_node::paths::DOCUMENT))
                .trim(),
            "600 root"
        );
        assert_eq!(
            &package_database(node),
            database,
            "{}: no package changed",
            node.name()
        );
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("1.0-1")
        );
        let applier = node.sh_ok(&applier_check);
        assert!(
            applier.starts_with(&master_applier),
            "the master's applier on the node: {applier}"
        );
        assert!(applier.contains("755 root"), "{applier}");
        applier_times.push(node.sh_ok(&format!("stat -c %Y.%i {APPLIER_ON_NODE}")));
        assert!(
            node.sh_ok("ls -a /etc/hiera /usr/local/libexec/fuel-pm")
                .lines()
                .all(|f| !f.contains("tmp")),
            "no temporary file left"
        );
    }

    // A new revision replaces the document; the applier, already there, is
    // not sent again — unless the node's copy differs.
    let second = "packages:\n- name: fuel-test-extra\n  version: absent\n";
    master.upload(env, "second.yaml", second);
    nodes[1].sh_ok(&format!("echo tampered > {APPLIER_ON_NODE}"));
    master.fuel_ok(&["node", "--node", &selection, "--tasks", "upload_pm"]);
    for (i, (node, database)) in nodes.iter().zip(&databases).enumerate() {
        assert_eq!(
            node.exec(&["cat", fuel_node::paths::DOCUMENT]).stdout,
            second.as_bytes()
        );
        assert_eq!(&package_database(node), database);
        assert!(node.sh_ok(&applier_check).starts_with(&master_applier));
        let time = node.sh_ok(&format!("stat -c %Y.%i {APPLIER_ON_NODE}"));
        if i == 0 {
            assert_eq!(
                time, applier_times[0],
                "an identical applier is left in place"
            );
        }
    }
}

#[test]
fn a_node_without_sshd_is_unreachable_and_one_with_a_changed_host_key_gets_nothing_while_the_others_finish(
) {
    let master = Master::start();
    let env = master.create_env("faults");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Dnf, Flavour::Apt]);
    let ids: Vec<i64> = master.register_all(&nodes, env);
    let (healthy, no_sshd, impostor) = (&nodes[0], &nodes[1], &nodes[2]);
    master.upload(
        env,
        "file.yaml",
        "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n",
    );
    no_sshd.stop_sshd();
    impostor.regenerate_host_key();
    let databases: Vec<String> = [no_sshd, impostor]
        .iter()
        .map(|n| package_database(n))
        .collect();
    let tasks_before = master.tasks().len();

    let selection = node_list(&ids);
    let out = master.fuel(&["node", "--node", &selection, "--tasks", "execute_pm"]);
    assert!(
        !out.status.success(),
        "a failed node makes the command fail: {}",
        text(&out)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "fuel node --node {selection} --tasks execute_pm:\n{}",
        text(&out)
    );
    assert!(
        line_naming(&table, healthy.name()).contains("ready"),
        "{table}"
    );
    assert!(
        line_naming(&table, no_sshd.name()).contains("unreachable"),
        "{table}"
    );
    assert!(
        line_naming(&table, impostor.name()).contains("host_key_mismatch"),
        "{table}"
    );

    assert_eq!(master.tasks().len(), tasks_before + 1);
    let task = master.last_task();
    assert_eq!(task.status, TaskStatus::Error, "{task:#?}");
    let message = task.message.clone().unwrap_or_default();
    assert!(
        message.contains(no_sshd.name()) && message.contains(impostor.name()),
        "the task's message names the failed nodes: {message}"
    );
    assert_eq!(stored_report(&task, ids[0]).totals.changed, 1);
    assert_eq!(
        healthy.installed_version("fuel-test-tool").as_deref(),
        Some("2.0-1")
    );
    for (id, node, reason) in [
        (ids[1], no_sshd, "unreachable"),
        (ids[2], impostor, "host_key_mismatch"),
    ] {
        let upload = subtask(&task, id, "upload_pm");
        assert_eq!(upload.status, TaskNodeStatus::Error, "{upload:#?}");
        assert_eq!(upload.reason.as_deref(), Some(reason), "{upload:#?}");
        assert!(
            upload.message.as_deref().is_some_and(|m| !m.is_empty()),
            "{upload:#?}"
        );
        let execute = subtask(&task, id, "execute_pm");
        assert_eq!(execute.status, TaskNodeStatus::Skipped, "{execute:#?}");
        assert!(
            !exists(node, fuel_node::paths::DOCUMENT),
            "{reason}: no document on the node"
        );
        assert!(
            !exists(node, "/etc/hiera"),
            "{reason}: nothing written on the node"
        );
        assert!(
            !exists(node, APPLIER_ON_NODE),
            "{reason}: no applier copied"
        );
        assert_eq!(node.installed_version("fuel-test-tool"), None);
    }
    for (node, database) in [no_sshd, impostor].iter().zip(&databases) {
        assert_eq!(&package_database(node), database);
    }
    // The impostor's sshd never let the master in: the client stopped at the key.
    // (journald may take a moment to write sshd's line.)
    let deadline = Instant::now() + Duration::from_secs(30);
    let journal = loop {
        let journal = impostor.sh_ok("journalctl -u ssh --no-pager -o cat || true");
        if journal.contains("[preauth]") {
            break journal;
        }
        assert!(
            Instant::now() < deadline,
            "the master's connection is not in the impostor's journal:\n{journal}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        !journal.contains("Accepted publickey"),
        "the master logged in:\n{journal}"
    );
}

#[test]
fn a_node_past_its_timeout_fails_with_timeout_and_keeps_no_connection_while_the_other_finishes() {
    let master = Master::start_with(32, 20);
    let env = master.create_env("slow");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Apt]);
    let ids: Vec<i64> = master.register_all(&nodes, env);
    master.upload(env, "file.yaml", GATED_DOCUMENT);
    let (slow, quick) = (&nodes[0], &nodes[1]);
    quick.sh_ok(&format!("touch {GATE}"));

    let selection = node_list(&ids);
    let out = master.fuel(&["node", "--node", &selection, "--tasks", "execute_pm"]);
    eprintln!("{}", text(&out));
    assert!(!out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        line_naming(&table, slow.name()).contains("timeout"),
        "{table}"
    );
    assert!(
        line_naming(&table, quick.name()).contains("ready"),
        "{table}"
    );
    let task = master.last_task();
    assert_eq!(task.status, TaskStatus::Error, "{task:#?}");
    let timed_out = subtask(&task, ids[0], "execute_pm");
    assert_eq!(
        timed_out.reason.as_deref(),
        Some("timeout"),
        "{timed_out:#?}"
    );
    assert_eq!(
        quick.installed_version("fuel-test-tool").as_deref(),
        Some("2.0-1")
    );
    // The run on the node was ended before the node was reported: no
    // applier and no one-liner of it waits for the gate any more.
    assert!(
        !applier_running(slow),
        "{}: the applier outlived its timeout",
        slow.name()
    );
    assert!(
        timed_out
            .message
            .as_deref()
            .is_some_and(|m| m.contains("ended")),
        "says the run on the node was ended: {timed_out:#?}"
    );
    assert!(
        !slow
            .sh_ok("ps -eo args")
            .lines()
            .any(|l| l.contains("fuel-e2e-gate")),
        "{}: the after-action outlived the applier",
        slow.name()
    );

    // The master let go of the node: no ssh process of its own still talks to it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ps = std::process::Command::new("ps")
            .args(["-eo", "pid,args"])
            .output()
            .unwrap();
        let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
        let lingering: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains("fuel-ssh-") && l.contains(&slow.ip()))
            .collect();
        if lingering.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ssh processes to the timed-out node outlive its task:\n{}",
            lingering.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    slow.sh_ok(&format!("touch {GATE}"));
}

#[test]
fn a_master_killed_mid_task_leaves_it_interrupted_and_the_same_command_then_completes_it() {
    // One node at a time: when the master dies, one node is half-way and the other untouched.
    let mut master = Master::start_with(1, 300);
    let env = master.create_env("crash");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Dnf]);
    let ids: Vec<i64> = master.register_all(&nodes, env);
    master.upload(env, "file.yaml", GATED_DOCUMENT);
    let selection = node_list(&ids);
    let command = ["node", "--node", &selection, "--tasks", "execute_pm"];

    let mut following = master
        .fuel_command(&command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let task = loop {
        if let Some(task) = master.tasks().into_iter().next() {
            break task;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no task was created"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The first node's applier is held by the gate, the other node waits its turn.
    let running = master.wait_task(task.id, "execute_pm running on a node", |t| {
        ids.iter()
            .any(|&id| subtask(t, id, "execute_pm").status == TaskNodeStatus::Running)
    });
    assert_eq!(running.status, TaskStatus::Running);
    let (busy, waiting) =
        if subtask(&running, ids[0], "execute_pm").status == TaskNodeStatus::Running {
            ((ids[0], &nodes[0]), (ids[1], &nodes[1]))
        } else {
            ((ids[1], &nodes[1]), (ids[0], &nodes[0]))
        };
    for sub in ["upload_pm", "execute_pm"] {
        let state = subtask(&running, waiting.0, sub);
        assert_eq!(state.status, TaskNodeStatus::Pending, "{running:#?}");
    }
    let waiting_database = package_database(waiting.1);
    let killed = master.pid();
    let connections = ssh_directories_of(killed);
    assert!(!connections.is_empty(), "the busy node's ssh directory");
    master.kill();
    // The applier of the busy node is tied to its ssh session: with the
    // master gone, it is ended, although its after-action is still waiting.
    let deadline = Instant::now() + Duration::from_secs(30);
    while applier_running(busy.1) {
        assert!(
            Instant::now() < deadline,
            "{}: the applier outlived the killed master",
            busy.1.name()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    master.restart();
    // What the killed master left of its ssh connections is gone at start-up.
    for dir in &connections {
        assert!(!dir.exists(), "{} outlived its fuel-api", dir.display());
        let lingering = processes_naming(dir);
        assert!(lingering.is_empty(), "{}", lingering.join("\n"));
    }

    // Each node as it was last known; what was unfinished is interrupted.
    let after = master.task(task.id);
    assert_eq!(after.status, TaskStatus::Interrupted, "{after:#?}");
    assert!(
        after.message.as_deref().is_some_and(|m| !m.is_empty()),
        "{after:#?}"
    );
    assert_eq!(
        subtask(&after, busy.0, "upload_pm").status,
        TaskNodeStatus::Ready
    );
    let cut = subtask(&after, busy.0, "execute_pm");
    assert_eq!(cut.status, TaskNodeStatus::Interrupted, "{after:#?}");
    assert!(cut.started_at.is_some(), "{cut:#?}");
    for sub in ["upload_pm", "execute_pm"] {
        let state = subtask(&after, waiting.0, sub);
        assert_eq!(state.status, TaskNodeStatus::Interrupted, "{after:#?}");
        assert!(state.started_at.is_none(), "never started: {state:#?}");
    }
    assert!(
        !exists(waiting.1, fuel_node::paths::DOCUMENT),
        "nothing reached the waiting node"
    );
    assert_eq!(package_database(waiting.1), waiting_database);

    // The command that followed the task fails (its master went away, then
    // the task ended interrupted).
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = following.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = following.kill();
            panic!("the following `fuel` did not end after its master was killed and the task interrupted");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut said = String::new();
    following
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    eprintln!("the following `fuel` said: {said}");
    assert!(
        !status.success(),
        "the command that lost its master fails: {said}"
    );

    // The operator runs the same command again, as the message says: the
    // busy node's owed after-action runs then.
    for node in &nodes {
        node.sh_ok(&format!("touch {GATE}"));
    }
    master.fuel_ok(&command);
    let rerun = master.last_task();
    assert_ne!(rerun.id, task.id);
    assert_eq!(rerun.status, TaskStatus::Ready, "{rerun:#?}");
    for node in &nodes {
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("2.0-1"),
            "{}",
            node.name()
        );
    }
    let completed = stored_report(&rerun, waiting.0);
    assert_eq!(
        completed.totals.changed, 1,
        "the rerun did the waiting node's work: {completed:#?}"
    );
    assert_eq!(stored_report(&rerun, busy.0).totals.failed, 0);
    assert_eq!(
        master.task(task.id).status,
        TaskStatus::Interrupted,
        "the old task keeps its record"
    );
}

#[test]
fn a_node_whose_applier_lock_is_held_is_waited_for_and_then_fails_node_busy() {
    let master = Master::start_configured(32, 300, "lock_wait_secs = 6\n");
    let env = master.create_env("busy");
    let nodes = start_nodes(&[Flavour::Apt]);
    let ids = master.register_all(&nodes, env);
    master.upload(
        env,
        "file.yaml",
        "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n",
    );
    let node = &nodes[0];
    let selection = node_list(&ids);
    let command = ["node", "--node", &selection, "--tasks", "execute_pm"];
    // Another run holds the node's applier lock for 3 s: the task waits,
    // says so on the node's line, and completes.
    let hold = |secs: u32| {
        node.sh_ok(&format!(
            "mkdir -p /run/lock; (flock /run/lock/fuel-pm-apply.lock sleep {secs} >/dev/null 2>&1 &); \
             for i in $(seq 50); do flock -n /run/lock/fuel-pm-apply.lock true || exit 0; sleep 0.1; done; exit 1"
        ))
    };
    hold(3);
    let out = master.fuel(&command);
    assert!(
        out.status.success(),
        "{}\nfuel-api:\n{}",
        text(&out),
        master.logs()
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("waiting up to 6 s for the node's applier lock"),
        "the node's line says it waits: {said}"
    );
    assert_eq!(master.last_task().status, TaskStatus::Ready);

    // Held past lock_wait_secs: node_busy, not apply_failed.
    hold(30);
    let out = master.fuel(&command);
    assert!(!out.status.success(), "{}", text(&out));
    let task = master.last_task();
    let busy = subtask(&task, ids[0], "execute_pm");
    assert_eq!(busy.reason.as_deref(), Some("node_busy"), "{busy:#?}");
    assert!(
        busy.message
            .as_deref()
            .is_some_and(|m| m.contains("waited 6 s")),
        "{busy:#?}"
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        line_naming(&table, node.name()).contains("node_busy"),
        "{table}"
    );
}

#[test]
fn bad_requests_from_the_cli_and_over_http_are_refused_and_create_no_task() {
    let master = Master::start();
    let env = master.create_env("main");
    let other = master.create_env("other");
    let nodes = start_nodes(&[Flavour::Apt]);
    let real = master.register(&nodes[0], Some(env));
    // Registered only: these are refused before any connection is tried.
    let (_, some_key) = fuel_e2e::node::test_ssh_identity();
    let register_elsewhere = |hostname: &str, ip: &str, env: Option<i64>| {
        let mut args = vec![
            "--json",
            "node",
            "create",
            "--hostname",
            hostname,
            "--ip",
            ip,
            "--os",
            "ubuntu",
            "--host-key",
            &some_key,
        ];
        let env = env.map(|e| e.to_string());
        if let Some(env) = &env {
            args.extend(["--env", env]);
        }
        let out = master.fuel_ok(&args);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let elsewhere = register_elsewhere("node-elsewhere", "192.0.2.10", Some(other));
    let unassigned = register_elsewhere("node-unassigned", "192.0.2.11", None);
    master.upload(env, "file.yaml", GATED_DOCUMENT);
    let count = || master.tasks().len();
    assert_eq!(count(), 0);

    // From the CLI.
    let (real_s, elsewhere_s, unassigned_s) = (
        real.to_string(),
        elsewhere.to_string(),
        unassigned.to_string(),
    );
    let said = assert_failed(
        &master.fuel(&["node", "--node", &real_s, "--tasks", "frobnicate"]),
        "an unknown task",
    );
    assert!(
        said.contains("upload_pm") && said.contains("execute_pm"),
        "the known tasks are listed: {said}"
    );
    let said = assert_failed(
        &master.fuel(&["node", "--node", "99", "--tasks", "execute_pm"]),
        "a missing node",
    );
    assert!(said.contains("99"), "{said}");
    let said = assert_failed(
        &master.fuel(&[
            "node",
            "--node",
            &elsewhere_s,
            "--env",
            &env.to_string(),
            "--tasks",
            "execute_pm",
        ]),
        "a node of another environment",
    );
    assert!(said.contains(&elsewhere_s), "{said}");
    assert_failed(
        &master.fuel(&[
            "node",
            "--node",
            &format!("{real},{elsewhere}"),
            "--tasks",
            "execute_pm",
        ]),
        "nodes of two environments",
    );
    assert_failed(
        &master.fuel(&["node", "--node", &unassigned_s, "--tasks", "execute_pm"]),
        "a node in no environment",
    );
    let said = assert_failed(
        &master.fuel(&["node", "--node", &elsewhere_s, "--tasks", "execute_pm"]),
        "an environment without a document",
    );
    assert!(
        said.contains(&format!("fuel package --env {other} --upload")),
        "says how to upload one: {said}"
    );
    let anonymous = master
        .fuel_command(&["node", "--node", &real_s, "--tasks", "execute_pm"])
        .env_remove("FUEL_USERNAME")
        .env_remove("FUEL_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_failed(&anonymous, "a command without credentials");
    assert_eq!(count(), 0, "no task from refused commands");

    // Over HTTP.
    let deploy = |cluster: i64, body: &str| {
        master.http(
            "POST",
            &format!("/api/v1/clusters/{cluster}/deploy_tasks"),
            body,
        )
    };
    let (status, body) = deploy(
        env,
        &format!(r#"{{"nodes":[{real}],"tasks":["frobnicate"]}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("upload_pm") && body.contains("execute_pm") && body.contains("frobnicate"),
        "{body}"
    );
    for refused in [
        format!(r#"{{"nodes":[{real}],"tasks":[]}}"#),
        r#"{"nodes":[],"tasks":["execute_pm"]}"#.to_string(),
        format!(r#"{{"nodes":[{real}],"tasks":["execute_pm"],"force":true}}"#),
        format!(r#"{{"nodes":"{real}","tasks":["execute_pm"]}}"#),
        "not json".to_string(),
    ] {
        let (status, body) = deploy(env, &refused);
        assert!(
            (400..500).contains(&status) && status != 401,
            "{refused} → {status} {body}"
        );
    }
    let (status, body) = deploy(env, r#"{"nodes":[99],"tasks":["execute_pm"]}"#);
    assert!(matches!(status, 400 | 404), "{status} {body}");
    assert!(body.contains("99"), "{body}");
    for id in [elsewhere, unassigned] {
        let (status, body) = deploy(
            env,
            &format!(r#"{{"nodes":[{id}],"tasks":["execute_pm"]}}"#),
        );
        assert!(matches!(status, 400 | 404 | 409), "{status} {body}");
        assert!(
            body.contains(&format!("not in environment {env}")),
            "{body}"
        );
    }
    let (status, body) = deploy(
        other,
        &format!(r#"{{"nodes":[{elsewhere}],"tasks":["execute_pm"]}}"#),
    );
    assert!(matches!(status, 400 | 409), "{status} {body}");
    assert!(
        body.contains(&format!(
            "upload one with fuel package --env {other} --upload FILE"
        )),
        "{body}"
    );
    let (status, body) = deploy(
        99,
        &format!(r#"{{"nodes":[{real}],"tasks":["execute_pm"]}}"#),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = master.http_anonymous(
        "POST",
        &format!("/api/v1/clusters/{env}/deploy_tasks"),
        &format!(r#"{{"nodes":[{real}],"tasks":["execute_pm"]}}"#),
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(count(), 0, "no task from refused requests");

    // --no-wait returns at once with the task's id; the task goes on.
    let out = master.fuel_ok(&[
        "node",
        "--node",
        &real_s,
        "--tasks",
        "execute_pm",
        "--no-wait",
    ]);
    assert_eq!(count(), 1);
    let task = master.last_task();
    assert!(
        out.split(|c: char| !c.is_ascii_digit())
            .any(|word| word == task.id.to_string()),
        "--no-wait prints the task id {}: {out}",
        task.id
    );
    master.wait_task(task.id, "execute_pm running", |t| {
        subtask(t, real, "execute_pm").status == TaskNodeStatus::Running
    });

    // Another package task while this one runs: 409 naming it.
    let (status, body) = deploy(
        env,
        &format!(r#"{{"nodes":[{real}],"tasks":["upload_pm"]}}"#),
    );
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains(&format!("package task {}", task.id)),
        "names the running task: {body}"
    );
    let said = assert_failed(
        &master.fuel(&["node", "--node", &real_s, "--tasks", "execute_pm"]),
        "a second task",
    );
    assert!(said.contains(&task.id.to_string()), "{said}");
    assert_eq!(count(), 1, "no task from refused requests");

    // Only the executor writes a package task: a forged end is refused
    // (409 saying why), and the guard above still holds after the attempt.
    for forged in [
        r#"{"status":"ready"}"#,
        r#"{"status":"error","progress":100,"message":"forged"}"#,
    ] {
        let (status, body) = master.http("PUT", &format!("/api/v1/tasks/{}", task.id), forged);
        assert_eq!(status, 409, "{forged} → {body}");
        assert!(
            body.contains("package task") && body.contains("executor"),
            "says why: {body}"
        );
    }
    let still = master.task(task.id);
    assert_eq!(still.status, TaskStatus::Running, "{still:#?}");
    assert_ne!(still.message.as_deref(), Some("forged"));
    let (status, body) = deploy(
        env,
        &format!(r#"{{"nodes":[{real}],"tasks":["execute_pm"]}}"#),
    );
    assert_eq!(status, 409, "the guard holds after a forged write: {body}");
    assert_eq!(count(), 1, "no task from refused requests");

    nodes[0].sh_ok(&format!("touch {GATE}"));
    let done = master.finished_task(task.id);
    assert_eq!(done.status, TaskStatus::Ready, "{done:#?}");
    // fuel-api logs the task's start and end, a line each.
    let logs = master.logs();
    let line = |what: &str| {
        logs.lines()
            .find(|l| l.contains(what) && l.contains(&format!("\"task\":{}", task.id)))
            .unwrap_or_else(|| panic!("no `{what}` line for task {} in:\n{logs}", task.id))
            .to_string()
    };
    let started = line("package task started");
    assert!(
        started.contains(&format!("\"environment\":{env}")) && started.contains(nodes[0].name()),
        "{started}"
    );
    let ended = line("package task ended");
    assert!(
        ended.contains("\"outcome\":\"ready\"") && ended.contains(nodes[0].name()),
        "{ended}"
    );
    let shown = master.fuel_ok(&["task", "--task-id", &task.id.to_string()]);
    assert!(
        line_naming(&shown, nodes[0].name()).contains("ready"),
        "fuel task shows each node: {shown}"
    );
}
