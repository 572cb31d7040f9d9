//! The master side of the package-task tests: the packaged `fuel-api`
//! (crate::api: SQLite, one user, `[package_tasks]` pointing at the test
//! SSH identity and the release `fuel-pm-apply`), killable and restartable on
//! the same database and port, driven by the packaged `fuel` binary and raw
//! HTTP; and the node-side checks those tests share.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::api::{package_tasks_table, ApiConfig, PackagedApi, USER};
use crate::http::exchange;
use crate::node::{test_ssh_identity, Flavour, TestNode};
use crate::node_repo::DAEMON_STATE;
use crate::release_binary;
use fuel_api_client::{Task, TaskNode, TaskNodeStatus};
use fuel_pm::report::Report;

pub const PASSWORD: &str = "pm-tasks-e2e";
/// Where the orchestrator puts the applier on a node.
pub const APPLIER_ON_NODE: &str = fuel_node::paths::APPLIER;
/// How long a test waits for a task to end (every node's work included).
const TASK_TIMEOUT: Duration = Duration::from_secs(300);

pub use crate::text;

/// The Fuel master of one test: a fuel-api process on its own database, and
/// the directory the operator runs `fuel` in.
pub struct Master {
    api: PackagedApi,
    dir: tempfile::TempDir,
}

impl Master {
    /// Starts fuel-api on a new SQLite database and logs in; it works on
    /// up to 32 nodes at once.
    pub fn start() -> Master {
        Master::start_with(32, 300)
    }

    /// [`Self::start`] with `[package_tasks] concurrency` (nodes at once) and
    /// `node_timeout_secs`.
    pub fn start_with(concurrency: usize, node_timeout_secs: u64) -> Master {
        Master::start_configured(concurrency, node_timeout_secs, "")
    }

    /// [`Self::start_with`] and more `[package_tasks]` lines.
    pub fn start_configured(concurrency: usize, node_timeout_secs: u64, more: &str) -> Master {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("operator")).unwrap();
        let config = ApiConfig {
            extra: format!(
                "{}{more}",
                package_tasks_table(concurrency, node_timeout_secs)
            ),
            ..ApiConfig::new(PASSWORD)
        };
        let api = PackagedApi::start(dir.path(), &config).unwrap_or_else(|e| panic!("{e:#}"));
        Master { api, dir }
    }

    /// SIGKILL, as a power cut or the OOM killer would stop it: no shutdown code runs.
    pub fn kill(&mut self) {
        self.api.kill();
    }

    /// Starts fuel-api again on the same configuration, database and port.
    pub fn restart(&mut self) {
        self.api.restart().unwrap_or_else(|e| panic!("{e:#}"));
    }

    /// fuel-api's process id.
    pub fn pid(&self) -> u32 {
        self.api.pid().expect("fuel-api runs")
    }

    pub fn url(&self) -> &str {
        &self.api.url
    }

    /// fuel-api's request log (every start), for failure messages.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.api.log()).unwrap_or_default()
    }

    /// The directory `fuel` runs in (`--download` writes there).
    pub fn operator_dir(&self) -> PathBuf {
        self.dir.path().join("operator")
    }

    /// One HTTP request with the master's token.
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        exchange(self.api.port, method, path, Some(&self.api.token), body)
    }

    /// One HTTP request without any token.
    pub fn http_anonymous(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        exchange(self.api.port, method, path, None, body)
    }

    /// The `fuel` command as the operator runs it: the packaged binary, the
    /// server and the user from the environment, nothing from a settings file.
    pub fn fuel_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(release_binary("fuel"));
        cmd.args(args)
            .current_dir(self.operator_dir())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .env("FUEL_API_URL", self.url())
            .env("FUEL_USERNAME", USER)
            .env("FUEL_PASSWORD", PASSWORD);
        cmd
    }

    pub fn fuel(&self, args: &[&str]) -> Output {
        self.fuel_command(args)
            .stdin(Stdio::null())
            .output()
            .expect("running fuel")
    }

    /// [`Self::fuel`] that must exit 0; its stdout.
    pub fn fuel_ok(&self, args: &[&str]) -> String {
        let out = self.fuel(args);
        assert!(
            out.status.success(),
            "fuel {}: {}\nfuel-api:\n{}",
            args.join(" "),
            text(&out),
            self.logs()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A release and an environment of it (the CLI does not create environments); its id.
    pub fn create_env(&self, name: &str) -> i64 {
        let release = format!(
            r#"{{"name":"{name} release","version":"{name}-8.0","operating_system":"Ubuntu"}}"#
        );
        let (status, body) = self.http("POST", "/api/v1/releases", &release);
        assert_eq!(status, 201, "{body}");
        let release: serde_json::Value = serde_json::from_str(&body).unwrap();
        let cluster = format!(
            r#"{{"name":"{name}","release_id":{}}}"#,
            release["id"].as_i64().unwrap()
        );
        let (status, body) = self.http("POST", "/api/v1/clusters", &cluster);
        assert_eq!(status, 201, "{body}");
        let cluster: serde_json::Value = serde_json::from_str(&body).unwrap();
        cluster["id"].as_i64().unwrap()
    }

    /// `fuel node create … --host-key '…'` with the node's current host key; its id.
    pub fn register(&self, node: &TestNode, env: Option<i64>) -> i64 {
        let os = match node.flavour() {
            Flavour::Apt => "ubuntu",
            Flavour::Dnf => "centos",
        };
        let key = node.host_key();
        let ip = node.ip();
        let env = env.map(|e| e.to_string());
        let mut args = vec![
            "--json",
            "node",
            "create",
            "--hostname",
            node.name(),
            "--ip",
            &ip,
            "--os",
            os,
            "--host-key",
            &key,
        ];
        if let Some(env) = &env {
            args.extend(["--env", env]);
        }
        let out = self.fuel_ok(&args);
        let created: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(created["host_key_fingerprint"], node.host_key_fingerprint());
        created["id"].as_i64().unwrap()
    }

    /// [`Self::register`] for each node, in order; their ids.
    pub fn register_all(&self, nodes: &[TestNode], env: i64) -> Vec<i64> {
        nodes.iter().map(|n| self.register(n, Some(env))).collect()
    }

    /// `fuel package --env ENV --upload NAME`, the file written first in the operator's directory.
    pub fn upload(&self, env: i64, name: &str, yaml: &str) {
        fs::write(self.operator_dir().join(name), yaml).unwrap();
        self.fuel_ok(&["package", "--env", &env.to_string(), "--upload", name]);
    }

    pub fn task(&self, id: i64) -> Task {
        let (status, body) = self.http("GET", &format!("/api/v1/tasks/{id}"), "");
        assert_eq!(status, 200, "GET task {id}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("task {id} ({e}): {body}"))
    }

    pub fn tasks(&self) -> Vec<Task> {
        let (status, body) = self.http("GET", "/api/v1/tasks", "");
        assert_eq!(status, 200, "GET tasks: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("tasks ({e}): {body}"))
    }

    /// The newest task (highest id), with its nodes (the list leaves them out).
    pub fn last_task(&self) -> Task {
        let id = self
            .tasks()
            .iter()
            .map(|t| t.id)
            .max()
            .expect("a task exists");
        self.task(id)
    }

    /// Polls the task until `done(task)` holds, or fails after [`TASK_TIMEOUT`].
    pub fn wait_task(&self, id: i64, what: &str, done: impl Fn(&Task) -> bool) -> Task {
        let deadline = Instant::now() + TASK_TIMEOUT;
        loop {
            let task = self.task(id);
            if done(&task) {
                return task;
            }
            assert!(
                Instant::now() < deadline,
                "task {id}: {what} did not happen within {TASK_TIMEOUT:?}: {task:#?}\nfuel-api:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the task has ended (ready, error or interrupted).
    pub fn finished_task(&self, id: i64) -> Task {
        self.wait_task(id, "the end", |t| t.status.is_final())
    }
}

/// A `--node` value naming these nodes ("1,2,3").
pub fn node_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Starts nodes of these flavours at once, the master's test key authorized on each.
pub fn start_nodes(flavours: &[Flavour]) -> Vec<TestNode> {
    let nodes = TestNode::start_many(flavours);
    let (_, public) = test_ssh_identity();
    for node in &nodes {
        node.authorize(&public);
    }
    nodes
}

/// Runs `work` on every node at once (package installs by hand take seconds each).
pub fn on_each<T: Send>(nodes: &[&TestNode], work: impl Fn(&TestNode) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let running: Vec<_> = nodes
            .iter()
            .map(|node| {
                let work = &work;
                scope.spawn(move || work(node))
            })
            .collect();
        running
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Installs exact versions with the node's own package manager, as an
/// operator would have before Fuel managed them.
pub fn install_by_hand(node: &TestNode, packages: &[(&str, &str)]) {
    let (mut argv, joiner): (Vec<String>, &str) = match node.flavour() {
        Flavour::Apt => {
            node.sh_ok("apt-get update -q");
            let argv = ["apt-get", "install", "-y", "-q", "--allow-downgrades"];
            (argv.map(String::from).to_vec(), "=")
        }
        Flavour::Dnf => {
            let argv = ["dnf", "install", "-y", "-q", "--allowerasing"];
            (argv.map(String::from).to_vec(), "-")
        }
    };
    argv.extend(
        packages
            .iter()
            .map(|(name, evr)| format!("{name}{joiner}{evr}")),
    );
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let out = node.exec(&argv);
    assert!(
        out.status.success(),
        "{}: {argv:?}: {}",
        node.name(),
        text(&out)
    );
}

/// The node's package database as its package manager lists it.
pub fn package_database(node: &TestNode) -> String {
    match node.flavour() {
        Flavour::Apt => node.sh_ok("dpkg -l"),
        Flavour::Dnf => node.sh_ok("rpm -qa | sort"),
    }
}

/// Whether a path exists on the node.
pub fn exists(node: &TestNode, path: &str) -> bool {
    node.exec(&["test", "-e", path]).status.success()
}

/// Starts the test daemon by hand; its (PID, version).
pub fn start_daemon(node: &TestNode) -> (String, String) {
    node.sh_ok("systemctl start fuel-test-daemon");
    daemon(node)
}

/// (PID, version) of the running test daemon, once its state file names the
/// unit's current main process (a just-restarted daemon writes it a moment later).
pub fn daemon(node: &TestNode) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let script = format!(
        "systemctl show -p MainPID --value fuel-test-daemon; cat {DAEMON_STATE} 2>/dev/null || true"
    );
    loop {
        let said = node.sh_ok(&script);
        if let [main_pid, pid, version] = said.split_whitespace().collect::<Vec<_>>()[..] {
            if main_pid == pid {
                return (pid.to_string(), version.to_string());
            }
        }
        assert!(
            Instant::now() < deadline,
            "{}: the test daemon's state file does not name its running process: {said}",
            node.name()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether an applier process runs on the node (one the master started and
/// then lost, for instance).
pub fn applier_running(node: &TestNode) -> bool {
    node.sh_ok("cat /proc/[0-9]*/comm 2>/dev/null || true")
        .lines()
        .any(|comm| comm == "fuel-pm-apply")
}

/// The per-connection ssh directories (/tmp/fuel-ssh-*) whose `owner` file
/// names process `pid`.
pub fn ssh_directories_of(pid: u32) -> Vec<PathBuf> {
    fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("fuel-ssh-"))
        .filter(|e| {
            fs::read_to_string(e.path().join("owner"))
                .is_ok_and(|owner| owner.split_whitespace().next() == Some(&pid.to_string()))
        })
        .map(|e| e.path())
        .collect()
}

/// The host's processes (`ps -eo pid,args`) whose command line names `path`.
pub fn processes_naming(path: &Path) -> Vec<String> {
    let ps = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap();
    let path = path.to_string_lossy();
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(path.as_ref()))
        .map(str::to_string)
        .collect()
}

/// The sha256 of a file, on the host.
pub fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One node's sub-task in a task.
pub fn subtask<'t>(task: &'t Task, node_id: i64, subtask: &str) -> &'t TaskNode {
    task.nodes
        .iter()
        .find(|n| n.node_id == node_id && n.subtask == subtask)
        .unwrap_or_else(|| panic!("no {subtask} of node {node_id} in {task:#?}"))
}

/// The applier's report of `execute_pm` on a node, as the API stored it.
pub fn stored_report(task: &Task, node_id: i64) -> &Report {
    let execute = subtask(task, node_id, "execute_pm");
    assert_eq!(
        execute.status,
        TaskNodeStatus::Ready,
        "execute_pm on node {node_id}: {execute:#?}"
    );
    execute
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("no report stored for node {node_id}: {execute:#?}"))
}

/// The line of a table that names `hostname`.
pub fn line_naming<'a>(table: &'a str, hostname: &str) -> &'a str {
    table
        .lines()
        .find(|line| line.split_whitespace().any(|word| word == hostname))
        .unwrap_or_else(|| panic!("no line names {hostname} in:\n{table}"))
}

/// Removes the per-node ssh directories (/tmp/fuel-ssh-*) a killed fuel-api
/// left behind for these nodes, where no fuel-api starts after it on this
/// host to sweep them (several processes on one database). Each is
/// recognised by its known_hosts holding a node's key.
pub fn remove_ssh_leftovers(nodes: &[TestNode]) {
    let keys: Vec<String> = nodes
        .iter()
        .map(|n| n.host_key().split_whitespace().nth(1).unwrap().to_string())
        .collect();
    for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        let dir = entry.path();
        let ours = entry.file_name().to_string_lossy().starts_with("fuel-ssh-")
            && std::fs::read_to_string(dir.join("known_hosts"))
                .is_ok_and(|known| keys.iter().any(|key| known.contains(key.as_str())));
        if ours {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// From the task record: no batch of `batches` started (any sub-task)
/// before every sub-task of the previous one ended.
pub fn assert_batches_in_order(task: &Task, batches: &[Vec<i64>]) {
    let times = |batch: &[i64], pick: fn(&TaskNode) -> Option<String>| {
        batch
            .iter()
            .flat_map(|&id| ["upload_pm", "execute_pm"].map(|s| pick(subtask(task, id, s))))
            .map(|t| t.expect("a time"))
            .collect::<Vec<String>>()
    };
    for pair in batches.windows(2) {
        let ended = times(&pair[0], |s| s.finished_at.clone()).into_iter().max();
        let next = times(&pair[1], |s| s.started_at.clone()).into_iter().min();
        assert!(
            ended <= next,
            "batch {:?} started before {:?} ended: {task:#?}",
            pair[1],
            pair[0]
        );
    }
}
