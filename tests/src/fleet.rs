//! Light nodes for fleet-scale tests and benchmarks: containers of the apt
//! node image ([`crate::node`]) with sshd as their main process instead of
//! systemd (~7 MiB each, so 200 fit beside everything else on a 2-core
//! machine), python3 and python3-apt added for Ansible's apt module, started
//! in bulk and registered with their host keys in one API request.
//!
//! The image is derived from the node image, tagged by a hash of its inputs
//! (the base tag, the package list, the scripts): `fuel-node:light-<hash12>`.
//! Its packages come from the Debian archive the machine reaches, through a
//! build container whose sources are removed again before the commit, so a
//! light node's only package source is the test repository, as on full
//! nodes. The applier's systemd after-actions are not used on light nodes.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::build_cache::{content_hash, with_lock};
use crate::node::{node_image, remove_leftovers, Flavour, LABEL, PID_LABEL};
use crate::node_repo::{test_repos, MOUNT};
use crate::{require_tool, workspace_root};

/// What the light image adds to the node image.
const PACKAGES: &str = "python3 python3-apt";

/// Run in the build container (from the node image): install PACKAGES from
/// the Debian archive, then leave the test repository as the only source.
const BUILD: &str = r#"set -eu
echo 'deb http://deb.debian.org/debian bookworm main' > /etc/apt/sources.list.d/build.list
mv /etc/apt/sources.list.d/fuel-test.list /root/fuel-test.list
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $FUEL_PACKAGES
rm -f /etc/apt/sources.list.d/build.list
mv /root/fuel-test.list /etc/apt/sources.list.d/fuel-test.list
apt-get clean
rm -rf /var/lib/apt/lists/*
cat > /usr/local/sbin/fuel-light-node <<'EOF'
#!/bin/sh
# A light node's main process: its own host keys, the master's key
# authorised, the public host key published for the harness, then sshd.
set -eu
# ed25519 only: RSA key generation costs seconds of CPU on a loaded
# machine, times 200 nodes starting at once.
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
mkdir -p /run/sshd /run/lock
printf '%s\n' "$FUEL_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
cp /etc/ssh/ssh_host_ed25519_key.pub "/fuel-fleet/$(hostname).pub.tmp"
mv "/fuel-fleet/$(hostname).pub.tmp" "/fuel-fleet/$(hostname).pub"
exec /usr/sbin/sshd -D -e -o HostKey=/etc/ssh/ssh_host_ed25519_key
EOF
chmod 0755 /usr/local/sbin/fuel-light-node
"#;

/// How long a light node may take from `docker run` to sshd listening.
const START_TIMEOUT: Duration = Duration::from_secs(300);
/// `docker run`s at once: the engine serialises much of the work anyway.
const STARTING_AT_ONCE: usize = 8;

/// The light node image's tag, built from the apt node image the first time.
pub fn light_image() -> Result<String> {
    static IMAGE: OnceLock<String> = OnceLock::new();
    if let Some(tag) = IMAGE.get() {
        return Ok(tag.clone());
    }
    let base = node_image(Flavour::Apt);
    let hash = content_hash(&[base.as_bytes(), PACKAGES.as_bytes(), BUILD.as_bytes()]);
    let tag = format!("fuel-node:light-{}", &hash[..12]);
    let dir = workspace_root().join("target/node-images");
    with_lock(&dir.join(format!("light-{hash}.lock")), || -> Result<()> {
        if docker(&["image", "inspect", "--format", "{{.Id}}", &tag])?
            .status
            .success()
        {
            return Ok(());
        }
        let builder = format!("fuel-light-build-{}", std::process::id());
        let _ = docker(&["rm", "-f", &builder]);
        let started = Instant::now();
        let env = format!("FUEL_PACKAGES={PACKAGES}");
        let out = docker(&[
            "run", "--name", &builder, "-e", &env, &base, "sh", "-c", BUILD,
        ])?;
        if !out.status.success() {
            let _ = docker(&["rm", "-f", &builder]);
            bail!(
                "building the light node image (apt-get install {PACKAGES} from deb.debian.org \
                 in a container of {base}) failed: the containers need the Debian archive:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let commit = docker(&[
            "commit",
            "--change",
            "CMD [\"/usr/local/sbin/fuel-light-node\"]",
            &builder,
            &tag,
        ])?;
        let _ = docker(&["rm", "-f", &builder]);
        if !commit.status.success() {
            bail!(
                "docker commit {tag}: {}",
                String::from_utf8_lossy(&commit.stderr)
            );
        }
        eprintln!(
            "built the light node image {tag} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    })?;
    Ok(IMAGE.get_or_init(|| tag).clone())
}

/// One light node: sshd on port 22 of its address.
#[derive(Debug, Clone)]
pub struct LightNode {
    pub name: String,
    pub ip: String,
    /// "ssh-ed25519 AAAA… root@NAME", as the node published it.
    pub host_key: String,
}

impl LightNode {
    /// `docker exec NODE sh -c SCRIPT`.
    pub fn sh(&self, script: &str) -> Result<Output> {
        docker(&["exec", &self.name, "sh", "-c", script])
    }

    /// The installed version of an apt package, or `None`.
    pub fn installed_version(&self, package: &str) -> Result<Option<String>> {
        let out = docker(&[
            "exec",
            &self.name,
            "dpkg-query",
            "-W",
            "-f=${db:Status-Abbrev}|${Version}",
            "--",
            package,
        ])?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        Ok(match text.split_once('|') {
            Some((status, version)) if out.status.success() && status.trim() == "ii" => {
                Some(version.to_string())
            }
            _ => None,
        })
    }

    /// A known_hosts line: "IP ssh-ed25519 AAAA…".
    pub fn known_hosts_line(&self) -> String {
        let key: Vec<&str> = self.host_key.split_whitespace().take(2).collect();
        format!("{} {}", self.ip, key.join(" "))
    }
}

/// Light nodes started together; all removed when dropped.
#[derive(Debug)]
pub struct Fleet {
    pub nodes: Vec<LightNode>,
    // Where the nodes publish their host keys (bind-mounted at /fuel-fleet).
    _keys: tempfile::TempDir,
}

impl Fleet {
    /// Starts `count` light nodes (parallel `docker run`s) whose root
    /// authorises `public_key`, and waits until every sshd listens.
    pub fn start(count: usize, public_key: &str) -> Result<Fleet> {
        static FLEETS: AtomicUsize = AtomicUsize::new(0);
        remove_leftovers();
        let image = light_image()?;
        let repos = test_repos();
        let keys = tempfile::Builder::new().prefix("fuel-fleet-").tempdir()?;
        let pid = std::process::id();
        let fleet_no = FLEETS.fetch_add(1, Ordering::SeqCst);
        let names: Vec<String> = (0..count)
            .map(|i| format!("fuel-light-{pid}-{fleet_no}-{i}"))
            .collect();
        let mut fleet = Fleet {
            nodes: Vec::new(),
            _keys: keys,
        };
        let keys_dir = fleet._keys.path().to_path_buf();
        let run = |name: &String| -> Result<()> {
            let mount = format!(
                "type=bind,source={},target={MOUNT},readonly",
                repos.root.display()
            );
            let keys = format!("type=bind,source={},target=/fuel-fleet", keys_dir.display());
            let out = docker(&[
                "run",
                "-d",
                "--name",
                name,
                "--hostname",
                name,
                "--label",
                &format!("{LABEL}=1"),
                "--label",
                &format!("{PID_LABEL}={pid}"),
                "--tmpfs",
                "/run",
                "--mount",
                &mount,
                "--mount",
                &keys,
                "-e",
                &format!("FUEL_AUTHORIZED_KEY={public_key}"),
                &image,
            ])?;
            if !out.status.success() {
                bail!(
                    "docker run {name}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(())
        };
        let started = parallel(&names, STARTING_AT_ONCE, run);
        // From here on, Drop removes what was started.
        fleet.nodes = names
            .iter()
            .map(|name| LightNode {
                name: name.clone(),
                ip: String::new(),
                host_key: String::new(),
            })
            .collect();
        started?;
        let ips = addresses(&names)?;
        let deadline = Instant::now() + START_TIMEOUT;
        for node in &mut fleet.nodes {
            node.ip = ips
                .get(&node.name)
                .cloned()
                .with_context(|| format!("{} has no address", node.name))?;
            let key_file = keys_dir.join(format!("{}.pub", node.name));
            let address = SocketAddr::new(node.ip.parse()?, 22);
            loop {
                let listening = key_file.is_file()
                    && TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok();
                if listening {
                    break;
                }
                if Instant::now() > deadline {
                    let logs = docker(&["logs", "--tail", "20", &node.name])?;
                    bail!(
                        "light node {} did not start sshd within {START_TIMEOUT:?}: {}{}",
                        node.name,
                        String::from_utf8_lossy(&logs.stdout),
                        String::from_utf8_lossy(&logs.stderr)
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            node.host_key = std::fs::read_to_string(&key_file)?.trim().to_string();
        }
        Ok(fleet)
    }

    /// The body of one `POST /api/v1/nodes` registering every node (apt,
    /// port 22) in environment `cluster_id`, with `roles_of(index)`.
    pub fn registration(
        &self,
        cluster_id: i64,
        roles_of: impl Fn(usize) -> Vec<String>,
    ) -> serde_json::Value {
        serde_json::Value::Array(
            self.nodes
                .iter()
                .enumerate()
                .map(|(i, node)| {
                    serde_json::json!({
                        "hostname": node.name,
                        "ip": node.ip,
                        "os": "ubuntu",
                        "cluster_id": cluster_id,
                        "host_key": node.host_key,
                        "roles": roles_of(i),
                    })
                })
                .collect(),
        )
    }

    /// A known_hosts file naming every node's key by address.
    pub fn write_known_hosts(&self, path: &Path) -> Result<()> {
        let lines: Vec<String> = self.nodes.iter().map(LightNode::known_hosts_line).collect();
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for chunk in self.nodes.chunks(50) {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(chunk.iter().map(|n| n.name.as_str()));
            let _ = docker(&args);
        }
    }
}

/// Runs `script` on each of `nodes` (docker exec, `at_once` at a time); the
/// first failure is the error.
pub fn sh_each(nodes: &[LightNode], script: &str, at_once: usize) -> Result<()> {
    for_each_node(nodes, at_once, |node| {
        let out = node.sh(script)?;
        if !out.status.success() {
            bail!(
                "{}: `{script}` failed: {}",
                node.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    })
}

/// `f` on each of `nodes`, `at_once` threads at a time; the first error wins.
pub fn for_each_node(
    nodes: &[LightNode],
    at_once: usize,
    f: impl Fn(&LightNode) -> Result<()> + Sync,
) -> Result<()> {
    parallel(nodes, at_once, f)
}

/// Each container's address on the docker bridge, in one `docker inspect`.
fn addresses(names: &[String]) -> Result<HashMap<String, String>> {
    let mut found = HashMap::new();
    for chunk in names.chunks(100) {
        let mut args = vec![
            "inspect",
            "--format",
            "{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        ];
        args.extend(chunk.iter().map(String::as_str));
        let out = docker(&args)?;
        if !out.status.success() {
            bail!("docker inspect: {}", String::from_utf8_lossy(&out.stderr));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((name, ip)) = line.split_once(' ') {
                found.insert(name.trim_start_matches('/').to_string(), ip.to_string());
            }
        }
    }
    Ok(found)
}

/// `f` over `items`, `at_once` threads at a time; the first error wins.
fn parallel<T: Sync>(
    items: &[T],
    at_once: usize,
    f: impl Fn(&T) -> Result<()> + Sync,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..at_once.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(item) = items.get(i) else {
                            return Ok(());
                        };
                        f(item)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker thread"))
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    })
}

fn docker(args: &[&str]) -> Result<Output> {
    static DOCKER: OnceLock<PathBuf> = OnceLock::new();
    let docker = DOCKER.get_or_init(|| require_tool("docker"));
    Command::new(docker)
        .args(args)
        .output()
        .with_context(|| format!("running docker {}", args.first().unwrap_or(&"")))
}
