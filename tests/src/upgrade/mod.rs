//! The upgrade tests' harness: busybox images built locally (`docker import`
//! of a tiny root file system, `docker save`; nothing is pulled), a real
//! fuel-api server per environment, the packaged fuel-upgrade binary, and a
//! snapshot of everything an upgrade changes (`snapshot`) so tests compare
//! states instead of hand-written expectations. The small three-service plan
//! (`small`), the shipped 12-service plan and its images (`shipped`), and
//! the release pair built from this tree with a master driven by the real
//! rpm and dnf (`path`).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use anyhow::{bail, Context};

use crate::api::{ApiConfig, PackagedApi};
pub use crate::http::exchange as http;
use crate::{images, release_binary};

pub mod path;
pub mod shipped;
pub mod small;
pub mod snapshot;

pub use small::{deployed_old, fixture, plan_text, SERVICES};
pub use snapshot::{Container, Entry, Snapshot};

pub const LABEL_NAMESPACE: &str = "org.openstack.fuel.namespace";

/// Runs a command: its standard output, or an error with its output.
pub fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", text(&out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The JSON report of a fuel-upgrade run that exited 0; else its output.
pub fn json_report(out: &Output) -> anyhow::Result<serde_json::Value> {
    if !out.status.success() {
        bail!("failed:\n{}", text(out));
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("the report is not JSON:\n{}", text(out)))
}

/// The busybox base image, imported once per test process.
fn base_image() -> &'static str {
    static BASE: OnceLock<&str> = OnceLock::new();
    BASE.get_or_init(|| {
        let tag = "fuel-e2e/busybox:base";
        images::busybox_image(tag).unwrap_or_else(|e| panic!("{e:#}"));
        tag
    })
}

/// A `docker save` archive at `archive` holding `tags` (all the busybox image).
pub fn build_archive(archive: &Path, tags: &[String]) {
    images::save_archive(base_image(), archive, tags).unwrap_or_else(|e| panic!("{e:#}"));
}

/// A real fuel-api server (the packaged binary) on SQLite, logged in.
pub struct Api {
    /// Held: the server stops when the environment is dropped.
    _server: PackagedApi,
    pub port: u16,
    pub url: String,
    pub token: String,
}

impl Api {
    pub fn start(dir: &Path) -> Api {
        let server = PackagedApi::start(dir, &ApiConfig::new("upgrade-e2e"))
            .unwrap_or_else(|e| panic!("{e:#}"));
        Api {
            port: server.port,
            url: server.url.clone(),
            token: server.token.clone(),
            _server: server,
        }
    }

    /// Every release as (name, version, operating_system, description, state).
    pub fn releases(&self) -> anyhow::Result<Vec<(String, String, String, String, String)>> {
        let (status, body) = http(self.port, "GET", "/api/v1/releases", Some(&self.token), "");
        if status != 200 {
            bail!("GET /api/v1/releases answered {status}: {body}");
        }
        let list: Vec<serde_json::Value> = serde_json::from_str(&body)
            .with_context(|| format!("GET /api/v1/releases: not a JSON list: {body}"))?;
        let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
        let mut out: Vec<_> = list
            .iter()
            .map(|r| {
                (
                    text(r, "name"),
                    text(r, "version"),
                    text(r, "operating_system"),
                    text(r, "description"),
                    text(r, "state"),
                )
            })
            .collect();
        out.sort();
        Ok(out)
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        http(self.port, "POST", path, Some(&self.token), body)
    }
}

/// One isolated master node: its own root directory, container namespace and API.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub namespace: String,
    pub api: Api,
}

impl Env {
    pub fn new(test: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let unique = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_lowercase()
            .replace(['.', '_'], "");
        let namespace = format!("e2e-{test}-{unique}");
        let api = Api::start(dir.path());
        Env {
            dir,
            root,
            namespace,
            api,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    pub fn write(&self, rel: &str, content: &str, mode: u32) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Puts image archives where the plans expect them (hard links).
    pub fn install_archives(&self, archives: &[&Path]) {
        for a in archives {
            let to = self.path(&format!(
                "var/www/nailgun/docker/images/{}",
                a.file_name().unwrap().to_string_lossy()
            ));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::hard_link(a, &to)
                .or_else(|_| std::fs::copy(a, &to).map(drop))
                .unwrap();
        }
    }

    /// Writes a plan file outside the root and returns its path.
    pub fn plan(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs the packaged fuel-upgrade against this environment.
    pub fn upgrade(&self, plan: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.upgrade_command(plan, args, env).output().unwrap()
    }

    pub fn upgrade_command(&self, plan: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = self.fuel_upgrade(&release_binary("fuel-upgrade"), plan, args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// `binary` (a fuel-upgrade) with `args`, on this environment's root,
    /// namespace and API, with `plan`; no fault injection inherited.
    pub fn fuel_upgrade(&self, binary: &Path, plan: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary);
        cmd.args(args)
            .arg("--plan")
            .arg(plan)
            .arg("--root")
            .arg(&self.root)
            .arg("--namespace")
            .arg(&self.namespace)
            .arg("--api-url")
            .arg(&self.api.url)
            .arg("--api-token")
            .arg(&self.api.token)
            .env_remove("FUEL_UPGRADE_CRASH_AT")
            .env_remove("FUEL_UPGRADE_FAIL_AT")
            .env_remove("FUEL_UPGRADE_PAUSE_AT");
        cmd
    }

    /// `upgrade` with `--json`: the JSON report of a run that exited 0,
    /// else an error naming the command and its output (for tests that
    /// assert on a failure or retry).
    pub fn report(&self, plan: &Path, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self
            .upgrade_command(plan, &all, &[])
            .output()
            .with_context(|| format!("running fuel-upgrade {args:?}"))?;
        json_report(&out).with_context(|| format!("fuel-upgrade {}", args.join(" ")))
    }

    /// Like `upgrade`, asserting exit 0 and returning the JSON report.
    pub fn upgrade_ok(&self, plan: &Path, args: &[&str]) -> serde_json::Value {
        self.report(plan, args).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Containers as name → (image, state).
    pub fn containers(&self) -> BTreeMap<String, (String, String)> {
        self.snapshot()
            .unwrap_or_else(|e| panic!("{e:#}"))
            .containers
            .into_iter()
            .map(|(name, c)| (name, (c.image, c.state)))
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let ids = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!("label={LABEL_NAMESPACE}={}", self.namespace),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = Command::new("docker")
                .args(["rm", "-f"])
                .args(&ids)
                .output();
        }
    }
}

/// Whether the process was killed by SIGKILL (the crash hook fired).
pub fn killed(out: &Output) -> bool {
    out.status.signal() == Some(9)
}

pub use crate::text;

/// (step id, action) pairs of a plan or apply report.
pub fn step_actions(report: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in report["steps"].as_array().expect("steps") {
        for a in s["actions"].as_array().expect("actions") {
            out.push((
                s["id"].as_str().unwrap().to_string(),
                a["action"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Held by a test for as long as it runs the shipped plan: its services use
/// the host's network and fixed ports (as Fuel's containers did), so two
/// such tests at once would each find the other's ports taken. An flock
/// under target/, released when the file closes (also if the test dies).
pub fn host_network_lock() -> std::fs::File {
    let lock = crate::workspace_root().join("target/e2e-locks/host-network.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .unwrap_or_else(|e| panic!("opening {}: {e}", lock.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock.display()));
    file
}
