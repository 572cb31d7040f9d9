//! Node containers for the package-handling tests: a Debian bookworm root
//! (made by mmdebstrap from the Debian archive, imported with `docker import`,
//! nothing pulled from a registry) running systemd as init and sshd, with the
//! test repositories ([`crate::node_repo`]) mounted read-only and configured as
//! its only package source. Two flavours: apt (Ubuntu-like) and dnf
//! (CentOS-like: the same root plus rpm and dnf, which manage its packages).
//!
//! Images are cached by a hash of their inputs (flavour, package list, the
//! customisation script): the engine's tag `fuel-node:<flavour>-<hash12>`,
//! else target/node-images/<hash>.tar, else a build under a lock file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

use crate::build_cache::{cached, content_hash, with_lock};
use crate::node_repo::{test_repos, MOUNT, RPM_KEY_FILE};
use crate::{require_tool, workspace_root};

/// Label on every node container: `docker rm -f $(docker ps -aq --filter label=fuel-e2e=1)` cleans up.
pub const LABEL: &str = "fuel-e2e";
/// Label naming the test process that started a node; a dead process's
/// nodes are removed by the next [`TestNode::start`].
pub(crate) const PID_LABEL: &str = "fuel-e2e.pid";

/// How long a node may take to boot to a running systemd with sshd active.
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// Ubuntu-like: apt and dpkg manage the packages.
    Apt,
    /// CentOS-like: rpm and dnf manage the packages; /etc/os-release says
    /// `ID=centos` (the root is still Debian's, with dpkg underneath).
    Dnf,
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Apt => "apt",
            Flavour::Dnf => "dnf",
        }
    }

    /// mmdebstrap's `--include` list.
    fn packages(self) -> &'static str {
        match self {
            Flavour::Apt => "ca-certificates,systemd,systemd-sysv,openssh-server",
            Flavour::Dnf => "ca-certificates,systemd,systemd-sysv,openssh-server,rpm,dnf",
        }
    }
}

/// Run by mmdebstrap as its customize hook, on the host: `$1` is the new
/// root, `$2` the flavour. Part of the image's cache key.
const CUSTOMIZE: &str = r#"#!/bin/sh
set -eu
root=$1 flavour=$2

# Every container makes its own host keys when sshd first starts, so no two
# nodes share one (ssh-keygen -A only fills in missing keys).
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat > "$root/etc/systemd/system/ssh.service.d/fuel-node-host-keys.conf" <<'EOF'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
EOF
install -d -m 0700 "$root/root/.ssh"
install -m 0600 /dev/null "$root/root/.ssh/authorized_keys"
# Each container gets its own machine id at boot.
: > "$root/etc/machine-id"

# No network sources: a node's package manager reads the test repository only.
rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/*
rm -rf "$root"/var/lib/apt/lists/*

case $flavour in
apt)
    echo 'deb [trusted=yes] file:/srv/fuel-test-repo/deb ./' > "$root/etc/apt/sources.list.d/fuel-test.list"
    ;;
dnf)
    # Debian's rpm keeps its database under ~/.rpmdb; a CentOS node has it here.
    mkdir -p "$root/etc/rpm" "$root/var/lib/rpm" "$root/etc/yum.repos.d" "$root/etc/dnf/vars"
    echo '%_dbpath /var/lib/rpm' > "$root/etc/rpm/macros"
    chroot "$root" rpmdb --initdb
    # No system-release package says which release this is.
    echo 7 > "$root/etc/dnf/vars/releasever"
    cat > "$root/etc/yum.repos.d/fuel-test.repo" <<'EOF'
[fuel-test]
name=Fuel test packages
baseurl=file:///srv/fuel-test-repo/rpm
enabled=1
gpgcheck=1
repo_gpgcheck=0
metadata_expire=0
skip_if_unavailable=0
EOF
    rm -f "$root/etc/os-release"
    cat > "$root/etc/os-release" <<'EOF'
NAME="Fuel test node (CentOS-like: Debian bookworm root, packages managed by rpm and dnf)"
ID=centos
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="Fuel test node (CentOS-like)"
EOF
    ;;
*)
    echo "unknown flavour $flavour" >&2
    exit 1
    ;;
esac
"#;

/// The docker image tag of a flavour's node image, built (mmdebstrap, 30–100 s)
/// or imported from target/node-images/ the first time; later calls, in any
/// process, reuse it.
pub fn node_image(flavour: Flavour) -> String {
    static APT: OnceLock<String> = OnceLock::new();
    static DNF: OnceLock<String> = OnceLock::new();
    let image = match flavour {
        Flavour::Apt => &APT,
        Flavour::Dnf => &DNF,
    };
    image.get_or_init(|| ensure_image(flavour)).clone()
}

fn ensure_image(flavour: Flavour) -> String {
    require_tool("docker");
    let hash = content_hash(&[
        b"debian bookworm, mmdebstrap --variant=apt",
        flavour.as_str().as_bytes(),
        flavour.packages().as_bytes(),
        CUSTOMIZE.as_bytes(),
    ]);
    let tag = format!("fuel-node:{}-{}", flavour.as_str(), &hash[..12]);
    if image_exists(&tag) {
        return tag;
    }
    let dir = workspace_root().join("target/node-images");
    let tar = dir.join(format!("{hash}.tar"));
    with_lock(&dir.join(format!("{hash}.import.lock")), || {
        if image_exists(&tag) {
            return;
        }
        cached(&tar, |tmp| build_rootfs(flavour, tmp));
        let change = "CMD [\"/lib/systemd/systemd\"]";
        docker_ok(&["import", "--change", change, &tar.to_string_lossy(), &tag]);
    });
    tag
}

fn image_exists(tag: &str) -> bool {
    docker(&["image", "inspect", "--format", "{{.Id}}", tag])
        .status
        .success()
}

fn build_rootfs(flavour: Flavour, tarball: &Path) {
    let mmdebstrap = require_tool("mmdebstrap");
    let script = tarball.with_extension("customize.sh");
    fs::write(&script, CUSTOMIZE).unwrap();
    let hook = format!("sh {} \"$1\" {}", script.display(), flavour.as_str());
    let started = Instant::now();
    let out = Command::new(mmdebstrap)
        .args(["--variant=apt", "--format=tar"])
        .arg(format!("--include={}", flavour.packages()))
        .arg(format!("--customize-hook={hook}"))
        .arg("bookworm")
        .arg(tarball)
        .output()
        .expect("running mmdebstrap");
    let _ = fs::remove_file(&script);
    assert!(
        out.status.success(),
        "mmdebstrap of the {} node image failed ({}); it needs the Debian archive the host's apt reaches:\n{}",
        flavour.as_str(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "built the {} node root with mmdebstrap in {:.1} s",
        flavour.as_str(),
        started.elapsed().as_secs_f64()
    );
}

/// Builds or finds everything a node needs — both flavours' images (in
/// parallel), the test repositories, the SSH identity — so that tests do not
/// queue on one another's build. `cargo xtask test` calls it before the suite.
pub fn prepare_fixtures() {
    std::thread::scope(|scope| {
        let dnf = scope.spawn(|| node_image(Flavour::Dnf));
        node_image(Flavour::Apt);
        test_repos();
        test_ssh_identity();
        if let Err(panic) = dnf.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

/// The master's SSH identity in tests: an ed25519 key pair generated once
/// under target/fuel-test-ssh/ (never committed). Returns the private key's
/// path and the public key line, for [`TestNode::authorize`].
pub fn test_ssh_identity() -> (PathBuf, String) {
    let dir = cached(&workspace_root().join("target/fuel-test-ssh"), |tmp| {
        fs::create_dir_all(tmp).unwrap();
        let out = Command::new(require_tool("ssh-keygen"))
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "fuel-e2e master",
                "-f",
            ])
            .arg(tmp.join("id_ed25519"))
            .output()
            .expect("running ssh-keygen");
        assert!(out.status.success(), "ssh-keygen failed: {out:?}");
    });
    let public = fs::read_to_string(dir.join("id_ed25519.pub")).unwrap();
    (dir.join("id_ed25519"), public.trim().to_string())
}

/// A running node container; removed (`docker rm -f`) on drop.
#[derive(Debug)]
pub struct TestNode {
    name: String,
    flavour: Flavour,
    ip: String,
}

impl TestNode {
    /// Starts a node of `flavour` (building its image first if needed) and
    /// waits until systemd reports the system running and sshd is active. The
    /// test repositories are mounted at /srv/fuel-test-repo and are the
    /// node's only package source (apt: fuel-test.list, `[trusted=yes]`; dnf:
    /// fuel-test.repo with gpgcheck=1, the signing key imported).
    pub fn start(flavour: Flavour) -> TestNode {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        static CLEANUP: Once = Once::new();
        CLEANUP.call_once(remove_leftovers);
        let image = node_image(flavour);
        let repos = test_repos();
        let pid = std::process::id();
        let name = format!("fuel-node-{pid}-{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        let mount = format!(
            "type=bind,source={},target={MOUNT},readonly",
            repos.root.display()
        );
        let pid_label = format!("{PID_LABEL}={pid}");
        let label = format!("{LABEL}=1");
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "--hostname",
            &name,
            "--label",
            &label,
            "--label",
            &pid_label,
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/run/lock",
            "-v",
            "/sys/fs/cgroup:/sys/fs/cgroup:ro",
            "--mount",
            &mount,
            &image,
            "/lib/systemd/systemd",
        ]);
        // From here on a panic removes the container.
        let mut node = TestNode {
            name,
            flavour,
            ip: String::new(),
        };
        node.ip = node.inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
        assert!(!node.ip.is_empty(), "node {} has no IP address", node.name);
        node.wait_until_booted();
        if flavour == Flavour::Dnf {
            node.sh_ok(&format!("rpmkeys --import {MOUNT}/{RPM_KEY_FILE}"));
        }
        node
    }

    /// Starts one node per entry of `flavours`, all at once (a benchmark's
    /// twenty nodes boot in the time of a few).
    pub fn start_many(flavours: &[Flavour]) -> Vec<TestNode> {
        // Images first, so the threads do not all wait on one build.
        for flavour in flavours {
            node_image(*flavour);
        }
        std::thread::scope(|scope| {
            let starting: Vec<_> = flavours
                .iter()
                .map(|flavour| scope.spawn(move || TestNode::start(*flavour)))
                .collect();
            starting
                .into_iter()
                .map(|node| {
                    node.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }

    fn inspect(&self, format: &str) -> String {
        let out = docker_ok(&["inspect", "--format", format, &self.name]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn wait_until_booted(&self) {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        loop {
            let state = self.exec(&["systemctl", "is-system-running"]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
            let booted = state == "running" || state == "degraded";
            if booted
                && self
                    .exec(&["systemctl", "is-active", "--quiet", "ssh"])
                    .status
                    .success()
            {
                return;
            }
            if Instant::now() > deadline {
                let failed = self.exec(&["systemctl", "--failed", "--no-pager"]);
                panic!(
                    "node {} did not boot within {BOOT_TIMEOUT:?}: system {state:?}, failed units:\n{}",
                    self.name,
                    String::from_utf8_lossy(&failed.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The container's address on the docker bridge; sshd listens on port 22.
    pub fn ip(&self) -> String {
        self.ip.clone()
    }

    /// The container name (`fuel-node-<pid>-<n>`), also its host name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// The node's ssh-ed25519 host public key line ("ssh-ed25519 AAAA… root@…"),
    /// read now (see [`Self::regenerate_host_key`]).
    pub fn host_key(&self) -> String {
        self.sh_ok("cat /etc/ssh/ssh_host_ed25519_key.pub")
            .trim()
            .to_string()
    }

    /// The host key's fingerprint as `ssh-keygen -l` prints it ("SHA256:…").
    pub fn host_key_fingerprint(&self) -> String {
        let line = self.sh_ok("ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub");
        line.split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("node {}: ssh-keygen -l printed {line:?}", self.name))
            .to_string()
    }

    /// A known_hosts line for this node ("IP ssh-ed25519 AAAA…").
    pub fn known_hosts_line(&self) -> String {
        let key = self.host_key();
        let mut fields = key.split_whitespace();
        let (kind, blob) = (fields.next().unwrap(), fields.next().unwrap());
        format!("{} {kind} {blob}", self.ip)
    }

    /// Appends a public key line to /root/.ssh/authorized_keys (root logs in by key).
    pub fn authorize(&self, public_key_line: &str) {
        let out = self.exec(&[
            "sh",
            "-c",
            "printf '%s\\n' \"$1\" >> /root/.ssh/authorized_keys",
            "sh",
            public_key_line,
        ]);
        assert_success(&self.name, "authorize", &out);
    }

    /// `docker exec NODE argv…` (no shell); the caller checks the status.
    pub fn exec(&self, argv: &[&str]) -> Output {
        let mut args = vec!["exec", self.name.as_str()];
        args.extend_from_slice(argv);
        docker(&args)
    }

    /// `docker exec NODE sh -c SCRIPT`; the caller checks the status.
    pub fn sh(&self, script: &str) -> Output {
        self.exec(&["sh", "-c", script])
    }

    /// [`Self::sh`] that must succeed: its stdout, else a panic showing the
    /// status and both outputs.
    pub fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert_success(&self.name, script, &out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The installed version of `package` as the node's package database
    /// says (`[epoch:]version-release`, e.g. "1:0.9-1"), or `None` when it is
    /// not installed. apt nodes ask dpkg-query, dnf nodes rpm.
    pub fn installed_version(&self, package: &str) -> Option<String> {
        let out = match self.flavour {
            Flavour::Apt => self.exec(&[
                "dpkg-query",
                "-W",
                "-f=${db:Status-Abbrev}|${Version}",
                "--",
                package,
            ]),
            Flavour::Dnf => self.exec(&[
                "rpm",
                "-q",
                "--qf",
                "%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}",
                "--",
                package,
            ]),
        };
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        match self.flavour {
            // "ii |1.0-1" when installed; "un |" or "rc |1.0-1" when not.
            Flavour::Apt => match text.split_once('|') {
                Some((status, version)) if status.trim() == "ii" => Some(version.to_string()),
                _ => None,
            },
            Flavour::Dnf => Some(text.trim().to_string()),
        }
    }

    /// `docker cp LOCAL NODE:REMOTE`.
    pub fn copy_in(&self, local: &Path, remote: &str) {
        docker_ok(&[
            "cp",
            &local.to_string_lossy(),
            &format!("{}:{remote}", self.name),
        ]);
    }

    /// Stops sshd (service and listener): the node is up but unreachable over SSH.
    pub fn stop_sshd(&self) {
        self.sh_ok("systemctl stop ssh.service");
    }

    /// Starts sshd again after [`Self::stop_sshd`].
    pub fn start_sshd(&self) {
        self.sh_ok("systemctl start ssh.service && systemctl is-active --quiet ssh.service");
    }

    /// Replaces every host key with new ones and restarts sshd (a reinstalled
    /// or impostor node); returns the new ed25519 public key line.
    pub fn regenerate_host_key(&self) -> String {
        let before = self.host_key();
        self.sh_ok("rm -f /etc/ssh/ssh_host_* && systemctl restart ssh.service");
        let after = self.host_key();
        assert_ne!(before, after, "node {}: host key unchanged", self.name);
        after
    }

    /// An `ssh` command to root on this node with the host key checked
    /// against `known_hosts` (strictly: an unknown or changed key fails) and
    /// the given identity; add the remote command's arguments.
    pub fn ssh(&self, identity: &Path, known_hosts: &Path) -> Command {
        let mut cmd = Command::new(require_tool("ssh"));
        cmd.args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
            .args([
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=10",
            ])
            .args(["-o", "LogLevel=ERROR", "-i"])
            .arg(identity)
            .arg(format!("root@{}", self.ip));
        cmd
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.name]);
    }
}

/// Removes node containers left by test processes that no longer exist
/// (killed before their nodes' Drop ran).
pub(crate) fn remove_leftovers() {
    let out = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label={LABEL}=1"),
        "--format",
        &format!("{{{{.Names}}}} {{{{.Label \"{PID_LABEL}\"}}}}"),
    ]);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((name, pid)) = line.split_once(' ') else {
            continue;
        };
        let alive = pid
            .parse::<u32>()
            .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = docker(&["rm", "-f", "-v", name]);
        }
    }
}

fn docker(args: &[&str]) -> Output {
    static DOCKER: OnceLock<PathBuf> = OnceLock::new();
    let docker = DOCKER.get_or_init(|| require_tool("docker"));
    Command::new(docker)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running docker {args:?}: {e}"))
}

fn docker_ok(args: &[&str]) -> Output {
    let out = docker(args);
    assert_success("docker", &args.join(" "), &out);
    out
}

fn assert_success(what: &str, command: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: `{command}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
