//! `fuel node`: registering a node with its SSH host key (given, or fetched
//! from a real sshd with ssh-keyscan), listing and selecting nodes.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};

use fuel_api_client::{NewCluster, Node};
use fuel_node::PackageManager;
use fuel_test_bed::require_tool;

use crate::fuel::Fuel;
use crate::support::{on_both_backends, release_and_cluster, Backend, TestApi};

on_both_backends!(
    a_node_registered_with_its_host_key_is_listed_and_selected,
    a_node_registered_without_a_key_gets_its_sshds_key_and_shows_the_fingerprint,
    task_selections_are_checked_and_refusals_say_why,
    writes_without_a_login_are_refused
);

/// A throwaway node host key and the fingerprint `ssh-keygen -lf` printed for it.
pub const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMyn8BelJGMlnVt+HPehIiBfm+euFU8Jdu1n+nidGC3G root@node-2";
const FINGERPRINT: &str = "SHA256:Ypdnt7IQEryQH0U1i8apLSJ19AcUkd+iC2RrprccoHw";

/// `fuel node create` of `hostname` at `ip` with `--host-key HOST_KEY`, then `extra`.
fn create<'a>(hostname: &'a str, ip: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = "node create --hostname".split(' ').collect();
    args.extend([hostname, "--ip", ip, "--host-key", HOST_KEY]);
    args.extend_from_slice(extra);
    args
}

async fn a_node_registered_with_its_host_key_is_listed_and_selected(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let (_, env) = release_and_cluster(&api.admin().await, "production").await;
    let fuel = Fuel::admin(&api.url());
    let env_id = env.id.to_string();
    let in_env = ["--os", "ubuntu", "--env", &env_id, "--json"];
    let node: Node = fuel
        .ok(&create("node-2", "10.20.0.5", &in_env))
        .await
        .json();
    assert_eq!(
        (
            node.hostname.as_str(),
            node.ip.as_str(),
            node.ssh_port,
            node.os
        ),
        ("node-2", "10.20.0.5", 22, PackageManager::Apt)
    );
    assert_eq!(node.cluster_id, Some(env.id));
    assert_eq!(node.host_key_fingerprint, FINGERPRINT);
    assert!(
        HOST_KEY.starts_with(&node.host_key.line()),
        "{}",
        node.host_key
    );

    let centos = ["--port", "2222", "--os", "centos", "--json"];
    let other: Node = fuel
        .ok(&create("node-3", "10.20.0.6", &centos))
        .await
        .json();
    assert_eq!(
        (other.ssh_port, other.os, other.cluster_id),
        (2222, PackageManager::Dnf, None)
    );

    let table = fuel.ok(&["node"]).await.stdout;
    assert!(
        table.starts_with(
            "id | hostname | ip        | port | os     | env | roles | status | host key"
        ),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "| node-2   | 10.20.0.5 | 22   | ubuntu | {}   | -     | ready",
            env.id
        )),
        "{table}"
    );
    assert!(table.contains(FINGERPRINT), "{table}");

    let all: Vec<Node> = fuel.ok(&["node", "--json"]).await.json();
    assert_eq!(all, vec![node.clone(), other.clone()]);
    let of_env: Vec<Node> = fuel.ok(&["node", "--env", &env_id, "--json"]).await.json();
    assert_eq!(of_env, vec![node.clone()]);
    let ids = format!("{},{}", node.id, other.id);
    let selected: Vec<Node> = fuel.ok(&["node", "--node", &ids, "--json"]).await.json();
    assert_eq!(selected, vec![node.clone(), other.clone()]);
    let one = other.id.to_string();
    let selected: Vec<Node> = fuel.ok(&["node", "--node", &one, "--json"]).await.json();
    assert_eq!(selected, vec![other.clone()]);

    fuel.fails(
        &["node", "--node", "4242"],
        "no node 4242 on this master: `fuel node` lists the nodes",
    )
    .await;
    fuel.fails(&["node", "--env", &env_id, "--node", &one], "no node")
        .await;
    let taken = create("node-2", "10.20.0.9", &in_env);
    fuel.fails(&taken, "another node already has this hostname")
        .await;
    let all: Vec<Node> = fuel.ok(&["node", "--json"]).await.json();
    assert_eq!(all.len(), 2, "the refused node was not stored");
    api.stop().await;
}

/// sshd on a free loopback port with a fresh ed25519 host key; killed on drop.
struct Sshd {
    child: Child,
    port: u16,
    public_key: String,
    fingerprint: String,
    _dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.is_file(),
            "/usr/sbin/sshd is missing: `cargo xtask test` installs openssh-server"
        );
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("ssh_host_ed25519_key");
        let key_arg = key.to_str().unwrap();
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "", "-f", key_arg]);
        let public_key = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        // `ssh-keygen -lf` prints "256 SHA256:… comment (ED25519)".
        let listed = ssh_keygen(&["-lf", key_arg]);
        let fingerprint = listed.split(' ').nth(1).unwrap().to_string();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {}\nPidFile none\nUsePAM no\nAuthorizedKeysFile none\n",
                key.display()
            ),
        )
        .unwrap();
        // sshd refuses to start without its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut sshd = Sshd {
            child,
            port,
            public_key: public_key.trim().to_string(),
            fingerprint,
            _dir: dir,
        };
        // Ready when it accepts connections (or failed when it exited).
        for _ in 0..500 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sshd;
            }
            if let Some(status) = sshd.child.try_wait().unwrap() {
                panic!("sshd exited with {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("sshd did not listen on 127.0.0.1:{port}");
    }
}

/// Runs OpenSSH's ssh-keygen; its stdout.
fn ssh_keygen(args: &[&str]) -> String {
    let out = Command::new(require_tool("ssh-keygen"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `fuel node create` of a CentOS node at 127.0.0.1:`port` (the sshd of
/// this test, on the master itself: said with --allow-local-address),
/// without `--host-key`.
fn scanned<'a>(hostname: &'a str, port: &'a str) -> Vec<&'a str> {
    let mut args: Vec<&str> =
        "node create --os centos --allow-local-address --ip 127.0.0.1 --hostname"
            .split(' ')
            .collect();
    args.extend([hostname, "--port", port]);
    args
}

async fn a_node_registered_without_a_key_gets_its_sshds_key_and_shows_the_fingerprint(
    backend: Backend,
) {
    require_tool("ssh-keyscan");
    let sshd = tokio::task::spawn_blocking(Sshd::start).await.unwrap();
    let api = TestApi::start(backend, |_| {}).await;
    let fuel = Fuel::admin(&api.url());
    let port = sshd.port.to_string();
    let ran = fuel
        .ok(&[scanned("local", &port), vec!["--json"]].concat())
        .await;
    let node: Node = ran.json();
    assert!(
        sshd.public_key.starts_with(&node.host_key.line()),
        "{node:?}"
    );
    assert_eq!(node.host_key_fingerprint, sshd.fingerprint);
    assert!(ran.stderr.contains(&sshd.fingerprint), "{ran:?}");
    assert!(
        ran.stderr.contains("Compare it with the node's console"),
        "{ran:?}"
    );

    // Nothing listens on the next port: the error says what to check.
    drop(sshd);
    let ran = fuel
        .fails(&scanned("gone", &port), "gave no ed25519 host key")
        .await;
    assert!(ran.stderr.contains("is sshd running there"), "{ran:?}");
    api.stop().await;
}

async fn task_selections_are_checked_and_refusals_say_why(backend: Backend) {
    let api = TestApi::start(backend, |_| {}).await;
    let admin = api.admin().await;
    let (release, env) = release_and_cluster(&admin, "production").await;
    let staging = NewCluster {
        name: "staging".into(),
        release_id: release.id,
    };
    let other = admin.create_cluster(&staging).await.unwrap();
    let fuel = Fuel::admin(&api.url());
    let mut ids = Vec::new();
    for (hostname, ip, env) in [
        ("node-2", "10.20.0.2", Some(env.id)),
        ("node-3", "10.20.0.3", Some(other.id)),
        ("node-4", "10.20.0.4", None),
    ] {
        let env = env.map(|e| e.to_string());
        let mut extra = vec!["--os", "ubuntu", "--json"];
        extra.extend(env.as_deref().map(|e| ["--env", e]).into_iter().flatten());
        let node: Node = fuel.ok(&create(hostname, ip, &extra)).await.json();
        ids.push(node.id.to_string());
    }
    let both = format!("{},{}", ids[0], ids[1]);
    for (nodes, words) in [
        (ids[2].as_str(), "is in no environment"),
        (&both, "several environments"),
        ("4242", "no node 4242"),
        // The environment has no package document yet: the master says so.
        (&ids[0], "the master refused the tasks"),
    ] {
        fuel.fails(&["node", "--node", nodes, "--tasks", "execute_pm"], words)
            .await;
    }
    let ran = fuel.run(&["node", "--tasks", "execute_pm"]).await;
    assert_eq!(ran.code, 2, "--tasks needs --node: {ran:?}");
    api.stop().await;
}

async fn writes_without_a_login_are_refused(backend: Backend) {
    let api = TestApi::start(backend, |config| config.auth.reads_require_token = false).await;
    let fuel = Fuel::new(&api.url());
    fuel.ok(&["node"]).await;
    fuel.fails(
        &create("node-2", "10.20.0.5", &["--os", "ubuntu"]),
        "log in: set FUEL_USERNAME/FUEL_PASSWORD or pass --token",
    )
    .await;
    assert!(api.admin().await.list_nodes(None).await.unwrap().is_empty());
    api.stop().await;
}
