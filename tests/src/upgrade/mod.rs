//! Shared ground of the upgrade tests: busybox images built locally
//! (`docker import` of a tiny root file system, `docker save`; nothing is
//! pulled), a real fuel-api server per environment, the packaged
//! fuel-upgrade binary, and a snapshot of everything an upgrade changes
//! (containers with their ids, images, states and labels, files with
//! content, mode and owner, link targets, API releases) so tests compare
//! states instead of hand-written expectations. The shipped 12-service plan
//! and its images: `shipped`.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fuel_e2e::api::{ApiConfig, PackagedApi};
pub use fuel_e2e::http::exchange as http;
use fuel_e2e::{images, release_binary};

pub mod shipped;

pub const LABEL_NAMESPACE: &str = "org.openstack.fuel.namespace";

/// Runs a command, panicking with its output when it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    server: PackagedApi,
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
            server,
        }
    }

    /// Every release as (name, version, operating_system, description, state).
    pub fn releases(&self) -> Vec<(String, String, String, String, String)> {
        let (status, body) = http(self.port, "GET", "/api/v1/releases", Some(&self.token), "");
        assert_eq!(status, 200, "{body}");
        let list: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
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
        out
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
        let mut cmd = Command::new(release_binary("fuel-upgrade"));
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
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Like `upgrade`, asserting exit 0 and returning the JSON report.
    pub fn upgrade_ok(&self, plan: &Path, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.upgrade(plan, &all, &[]);
        assert!(
            out.status.success(),
            "fuel-upgrade {args:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "report is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Everything an upgrade may change, with this environment's namespace
    /// and root taken out so two environments compare equal.
    pub fn snapshot(&self) -> Snapshot {
        let mut containers = BTreeMap::new();
        let ids = run(Command::new("docker").args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={LABEL_NAMESPACE}={}", self.namespace),
        ]));
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            // Config.Image is the tag the container was created from, even if
            // another test re-pointed the tag since (docker ps would show an id).
            let inspect = run(Command::new("docker")
                .args([
                    "inspect",
                    "--format",
                    "{{.Id}}\t{{.Name}}\t{{.Config.Image}}\t{{.State.Status}}\t{{json .Config.Labels}}",
                ])
                .args(&ids));
            for line in inspect.lines().filter(|l| !l.is_empty()) {
                let f: Vec<&str> = line.split('\t').collect();
                let full = f[1].trim_start_matches('/');
                let name = full
                    .strip_prefix(&format!("{}-", self.namespace))
                    .unwrap_or(full)
                    .to_string();
                let labels: BTreeMap<String, String> = serde_json::from_str(f[4])
                    .unwrap_or_else(|e| panic!("labels of {full}: {e}: {}", f[4]));
                let labels = labels
                    .into_iter()
                    .map(|(k, v)| (k, v.replace(&self.namespace, "NS")))
                    .collect();
                containers.insert(
                    name,
                    Container {
                        id: f[0].to_string(),
                        image: f[2].to_string(),
                        state: f[3].to_string(),
                        labels,
                    },
                );
            }
        }
        let mut files = BTreeMap::new();
        walk(&self.root, &self.root, &self.namespace, &mut files);
        Snapshot {
            containers,
            files,
            releases: self.api.releases().into_iter().collect(),
        }
    }

    /// Containers as name → (image, state).
    pub fn containers(&self) -> BTreeMap<String, (String, String)> {
        self.snapshot()
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir {
        mode: u32,
    },
    File {
        content: String,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Link {
        target: String,
    },
}

/// A container of the environment (its name without the namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// The tag it was created from.
    pub image: String,
    pub state: String,
    /// With the namespace replaced by NS.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub containers: BTreeMap<String, Container>,
    pub files: BTreeMap<String, Entry>,
    pub releases: BTreeSet<(String, String, String, String, String)>,
}

impl Snapshot {
    /// This snapshot with container ids made comparable with another
    /// environment's: a container that is the very one of `start` (same
    /// name, same id) gets "(as at the start)", one that did not exist at the
    /// start "(created by the run)"; a container recreated under a name of
    /// the start keeps its real id, so it differs from anything.
    pub fn comparable(&self, start: &Snapshot) -> Snapshot {
        let mut out = self.clone();
        for (name, c) in out.containers.iter_mut() {
            match start.containers.get(name) {
                Some(s) if s.id == c.id => c.id = "(as at the start)".into(),
                Some(_) => {}
                None => c.id = "(created by the run)".into(),
            }
        }
        out
    }

    /// A readable difference, for assertion messages.
    pub fn diff(&self, other: &Snapshot) -> String {
        let mut out = String::new();
        for (k, v) in &self.containers {
            if other.containers.get(k) != Some(v) {
                out.push_str(&format!(
                    "container {k}: {v:?} vs {:?}\n",
                    other.containers.get(k)
                ));
            }
        }
        for k in other
            .containers
            .keys()
            .filter(|k| !self.containers.contains_key(*k))
        {
            out.push_str(&format!(
                "container {k}: absent vs {:?}\n",
                other.containers[k]
            ));
        }
        for (k, v) in &self.files {
            if other.files.get(k) != Some(v) {
                out.push_str(&format!("file {k}: {v:?} vs {:?}\n", other.files.get(k)));
            }
        }
        for k in other.files.keys().filter(|k| !self.files.contains_key(*k)) {
            out.push_str(&format!("file {k}: absent vs {:?}\n", other.files[k]));
        }
        if self.releases != other.releases {
            out.push_str(&format!(
                "releases: {:?} vs {:?}\n",
                self.releases, other.releases
            ));
        }
        out
    }
}

/// The runner's own bookkeeping (journal, backups, lock, log) is not part of
/// the master's state, except the deployed-release record.
fn ignored(rel: &str) -> bool {
    (rel.starts_with("var/lib/fuel-upgrade/") && rel != "var/lib/fuel-upgrade/deployed.json")
        || rel == "var/lib/fuel-upgrade"
        || rel == "var/log/fuel-upgrade.log"
        || rel.starts_with("var/www/nailgun/docker/images")
}

fn walk(root: &Path, dir: &Path, namespace: &str, out: &mut BTreeMap<String, Entry>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if ignored(&rel) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let entry = if meta.file_type().is_symlink() {
            Entry::Link {
                target: std::fs::read_link(&path)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            }
        } else if meta.is_dir() {
            walk(root, &path, namespace, out);
            Entry::Dir {
                mode: meta.mode() & 0o7777,
            }
        } else {
            let content =
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).replace(namespace, "NS");
            Entry::File {
                content,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
            }
        };
        out.insert(rel, entry);
    }
}

/// Whether the process was killed by SIGKILL (the crash hook fired).
pub fn killed(out: &Output) -> bool {
    out.status.signal() == Some(9)
}

pub fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

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

// The small plan: three services at two dependency levels, every kind of
// file action, fixtures with one release present already.

/// Services of the small plan (the crash matrix and the refusal tests).
pub const SERVICES: [&str; 3] = ["db", "mq", "api"];

/// The plan of one release: `new` adds the actions only an upgrade does.
pub fn plan_text(release: &str, upgrades_from: &str, fixtures: &str, new: bool) -> String {
    let mut files = format!(
        r#"  - write: {{path: /etc/fuel/release, content: "{release}\n", mode: "{mode}"}}
  - copy: {{from: /etc/fuel/astute.yaml, to: /etc/fuel/{release}/astute.yaml, mode: "0600", owner: "root:root"}}
  - symlink: {{link: /etc/fuel/current, target: /etc/fuel/{release}}}
"#,
        mode = if new { "0640" } else { "0644" }
    );
    if new {
        files.push_str(&format!("  - move: {{from: /var/lib/fuel/settings.yaml, to: /etc/fuel/{release}/settings.yaml}}\n"));
    }
    format!(
        r#"release: "{release}"
can_upgrade_from: ["{upgrades_from}"]
services:
  - name: db
    image: {{archive: /var/www/nailgun/docker/images/e2e-{release}.tar, tag: "fuel-e2e/db:{release}"}}
    command: ["/bin/busybox", "sleep", "2147483647"]
    healthcheck: {{exec: ["/bin/busybox", "true"], timeout: 30}}
  - name: mq
    image: {{archive: /var/www/nailgun/docker/images/e2e-{release}.tar, tag: "fuel-e2e/mq:{release}"}}
    command: ["/bin/busybox", "httpd", "-f", "-p", "5672", "-h", "/www"]
    healthcheck: {{tcp: 5672, timeout: 30}}
  - name: api
    image: {{archive: /var/www/nailgun/docker/images/e2e-{release}.tar, tag: "fuel-e2e/api:{release}"}}
    command: ["/bin/busybox", "httpd", "-f", "-p", "8000", "-h", "/www"]
    environment: {{RELEASE: "{release}"}}
    depends_on: [db, mq]
    healthcheck: {{http: {{port: 8000, path: /index.html}}, timeout: 30}}
files:
{files}fixtures:
  openstack_yaml: {fixtures}
"#
    )
}

pub fn fixture(releases: &[(&str, &str)]) -> String {
    releases
        .iter()
        .enumerate()
        .map(|(i, (name, version))| {
            format!(
                "- pk: {}\n  model: nailgun.release\n  fields:\n    name: \"{name}\"\n    version: \"{version}\"\n    operating_system: CentOS\n    description: \"{name} on CentOS\"\n    state: available\n",
                i + 1
            )
        })
        .collect()
}

/// Image archives of both releases, built once per test process.
fn archives() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static ARCHIVES: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    ARCHIVES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for release in ["7.0.0", "8.0.0"] {
            let archive = dir.path().join(format!("e2e-{release}.tar"));
            let tags: Vec<String> = SERVICES
                .iter()
                .map(|s| format!("fuel-e2e/{s}:{release}"))
                .collect();
            build_archive(&archive, &tags);
            paths.push(archive);
        }
        let new = paths.pop().unwrap();
        let old = paths.pop().unwrap();
        (dir, old, new)
    })
}

/// A master node running release 7.0.0 (deployed by fuel-upgrade itself, as
/// a first installation), with the 8.0.0 plan ready.
pub fn deployed_old(test: &str) -> (Env, PathBuf) {
    let env = Env::new(test);
    let (_, old_archive, new_archive) = archives();
    env.install_archives(&[old_archive, new_archive]);
    env.write(
        "etc/fuel/astute.yaml",
        "ADMIN_NETWORK: {ipaddress: 10.20.0.2}\n",
        0o600,
    );
    env.write("var/lib/fuel/settings.yaml", "settings: from 7.0\n", 0o644);
    env.write(
        "usr/share/fuel-openstack-metadata/openstack-7.yaml",
        &fixture(&[("Kilo on CentOS 6.6", "2015.1.0-7.0")]),
        0o644,
    );
    env.write(
        "usr/share/fuel-openstack-metadata/openstack.yaml",
        &fixture(&[
            ("Kilo on CentOS 6.6", "2015.1.0-7.0"),
            ("Liberty on CentOS 7", "liberty-8.0"),
            ("Liberty on Ubuntu 14.04", "liberty-8.0"),
        ]),
        0o644,
    );
    let old = env.plan(
        "plan-7.yaml",
        &plan_text(
            "7.0.0",
            "6.1",
            "/usr/share/fuel-openstack-metadata/openstack-7.yaml",
            false,
        ),
    );
    let new = env.plan(
        "plan-8.yaml",
        &plan_text(
            "8.0.0",
            "7.0.0",
            "/usr/share/fuel-openstack-metadata/openstack.yaml",
            true,
        ),
    );
    let report = env.upgrade_ok(&old, &["apply", "--force"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    (env, new)
}

/// Held by a test for as long as it runs the shipped plan: its services use
/// the host's network and fixed ports (as Fuel's containers did), so two
/// such tests at once would each find the other's ports taken. An flock
/// under target/, released when the file closes (also if the test dies).
pub fn host_network_lock() -> std::fs::File {
    let lock = fuel_e2e::workspace_root().join("target/e2e-locks/host-network.lock");
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
