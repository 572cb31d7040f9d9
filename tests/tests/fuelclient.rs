//! The real python-fuelclient 11.0.0 (from PyPI, in a virtualenv under
//! target/: fuel_e2e::fuelclient) against the packaged fuel-api, with real
//! node containers: its `fuel env`, `fuel node`, `fuel2 node list`, the
//! design's `fuel node --node 2,3 --env 1 --tasks execute_pm` and `fuel2
//! task list`, as a Fuel operator types them. What the nodes end up with is
//! read inside the containers. Afterwards this project's `fuel` reads the
//! settings file fuelclient wrote.

#[allow(dead_code)]
use std::process::{Command, Output, Stdio};

use fuel_api_client::TaskStatus;
use fuel_e2e::api::USER;
use fuel_e2e::fuelclient::{fuelclient, Fuelclient};
use fuel_e2e::node::{Flavour, TestNode};
use fuel_e2e::package_tasks::*;
use fuel_e2e::release_binary;

/// One package change, so the nodes' end state is easy to tell.
const DOCUMENT: &str = "packages:
- name: fuel-test-tool
  version: 2.0-1
";

/// The operator's side: python-fuelclient with its own HOME, pointed at the
/// master as fuelclient allows, through its settings keys in the environment.
struct Operator {
    client: Fuelclient,
    home: tempfile::TempDir,
    port: String,
}

impl Operator {
    fn command(&self, name: &str, password: &str, args: &[&str]) -> Command {
        let mut command = self.client.command(name, self.home.path());
        command
            .args(args)
            .env("SERVER_ADDRESS", "127.0.0.1")
            .env("SERVER_PORT", &self.port)
            .env("OS_USERNAME", USER)
            .env("OS_PASSWORD", password)
            .stdin(Stdio::null());
        command
    }

    fn run(&self, name: &str, password: &str, args: &[&str]) -> Output {
        self.command(name, password, args)
            .output()
            .unwrap_or_else(|e| panic!("running {name}: {e}"))
    }

    /// `name args` with the right password, which must exit 0; its stdout.
    fn ok(&self, master: &Master, name: &str, args: &[&str]) -> String {
        let out = self.run(name, PASSWORD, args);
        assert!(
            out.status.success(),
            "{name} {}: {}\nfuel-api:\n{}",
            args.join(" "),
            text(&out),
            master.logs()
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("Traceback"),
            "{name} {}: {}",
            args.join(" "),
            text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn python_fuelclient_lists_and_runs_execute_pm_on_nodes_2_and_3_of_the_packaged_api() {
    let client = fuelclient().unwrap_or_else(|e| panic!("{e:#}"));
    let master = Master::start();
    let env = master.create_env("design");
    assert_eq!(env, 1, "the first environment of a new master");
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Apt, Flavour::Apt]);
    let all: Vec<&TestNode> = nodes.iter().collect();
    on_each(&all, |node| {
        install_by_hand(node, &[("fuel-test-tool", "1.0-1")])
    });
    let ids = master.register_all(&nodes, env);
    assert_eq!(ids, [1, 2, 3]);
    let untouched_before = package_database(&nodes[0]);
    master.upload(env, "file.yaml", DOCUMENT);

    let port = master.url().rsplit(':').next().unwrap().to_string();
    let operator = Operator {
        client,
        home: tempfile::tempdir().unwrap(),
        port,
    };

    let envs = operator.ok(&master, "fuel", &["env"]);
    let line = line_naming(&envs, "design");
    assert!(line.starts_with('1'), "{envs}");
    // On Python 3 this client's `fuel node` prints only its header (its own
    // bug: it formats a `map` object it already consumed), but it must get
    // there: authenticated, the nodes read.
    for args in [&["node"][..], &["--env", "1", "node"]] {
        let listed = operator.ok(&master, "fuel", args);
        assert!(listed.contains("pending_roles"), "fuel {args:?}: {listed}");
    }
    for args in [&["node", "list"][..], &["node", "list", "--env", "1"]] {
        let listed = operator.ok(&master, "fuel2", args);
        for node in &nodes {
            let line = line_naming(&listed, node.name());
            assert!(line.contains(&node.ip()), "fuel2 {args:?}: {listed}");
        }
    }

    // The design's third command, in fuelclient's spelling.
    let started = operator.ok(
        &master,
        "fuel",
        &[
            "node",
            "--node",
            "2,3",
            "--env",
            "1",
            "--tasks",
            "execute_pm",
        ],
    );
    assert!(
        started.contains("Started tasks ['execute_pm'] for nodes"),
        "{started}"
    );
    let task = master.last_task();
    assert_eq!(task.name, "upload_pm,execute_pm");
    let task = master.finished_task(task.id);
    assert_eq!(task.status, TaskStatus::Ready, "{task:#?}");
    for node in &nodes[1..] {
        assert_eq!(
            node.installed_version("fuel-test-tool").as_deref(),
            Some("2.0-1"),
            "{}",
            node.name()
        );
    }
    assert_eq!(
        package_database(&nodes[0]),
        untouched_before,
        "node 1 was not selected"
    );
    let tasks = operator.ok(&master, "fuel2", &["task", "list"]);
    let line = line_naming(&tasks, "upload_pm,execute_pm");
    assert!(
        line.split('|')
            .any(|cell| cell.trim() == task.id.to_string())
            && line.contains("ready"),
        "{tasks}"
    );

    // A wrong password: the client's own authorization message, exit 1, no traceback.
    let refused = operator.run("fuel", "not-the-password", &["env"]);
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("Unauthorized"), "{said}");
    assert!(!said.contains("Traceback"), "{said}");

    // This project's `fuel` reads the settings file fuelclient wrote on first
    // use, with the operator's user and password filled in (the server still
    // from the environment, as for fuelclient), warning once about the keys
    // it ignores.
    let settings = operator.home.path().join(".config/fuel/fuel_client.yaml");
    let written = std::fs::read_to_string(&settings)
        .unwrap_or_else(|e| panic!("fuelclient wrote {}: {e}", settings.display()));
    let filled = written
        .replace("OS_USERNAME:\n", &format!("OS_USERNAME: \"{USER}\"\n"))
        .replace("OS_PASSWORD:\n", &format!("OS_PASSWORD: \"{PASSWORD}\"\n"));
    assert_ne!(filled, written, "fuelclient's file: {written}");
    std::fs::write(&settings, filled).unwrap();
    let ours = Command::new(release_binary("fuel"))
        .args(["node", "--env", "1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", operator.home.path())
        .env("SERVER_ADDRESS", "127.0.0.1")
        .env("SERVER_PORT", &operator.port)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = text(&ours);
    assert!(ours.status.success(), "{said}");
    assert!(
        said.contains("fuel: warning: ") && said.contains("HTTP_TIMEOUT"),
        "{said}"
    );
    for node in &nodes {
        assert!(said.contains(node.name()), "{said}");
    }
}
