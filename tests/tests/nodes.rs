//! The node harness the package-handling tests stand on: apt and dnf node
//! containers boot with systemd and sshd, answer SSH from the host with their
//! own host key checked, see exactly the test repositories (nothing from the
//! network; rpms with the signature checked), and run a test daemon installed
//! by hand with their real package manager.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Output;

use fuel_e2e::node::{test_ssh_identity, Flavour, TestNode};
use fuel_e2e::node_repo::{test_repos, DAEMON_STATE};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `true` on the node over SSH with `known_hosts` as the only known host keys.
fn ssh_true(node: &TestNode, known_hosts: &Path) -> Output {
    let (identity, _) = test_ssh_identity();
    node.ssh(&identity, known_hosts)
        .arg("true")
        .output()
        .expect("running ssh")
}

fn ssh_checks_the_host_key(flavour: Flavour) {
    let node = TestNode::start(flavour);
    let (_, public) = test_ssh_identity();
    node.authorize(&public);
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_hosts");

    fs::write(&known, format!("{}\n", node.known_hosts_line())).unwrap();
    let out = ssh_true(&node, &known);
    assert!(
        out.status.success(),
        "ssh with the node's host key: {}",
        text(&out)
    );

    // Another ed25519 key recorded for the node's address: refused.
    let wrong = public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let wrong_file = dir.path().join("wrong_known_hosts");
    fs::write(&wrong_file, format!("{} {wrong}\n", node.ip())).unwrap();
    let out = ssh_true(&node, &wrong_file);
    assert!(!out.status.success(), "ssh accepted a wrong host key");
    assert!(
        text(&out).contains("Host key verification failed"),
        "{}",
        text(&out)
    );

    // The node reinstalled with a new host key: the recorded one no longer opens it.
    let new_key = node.regenerate_host_key();
    assert!(new_key.starts_with("ssh-ed25519 "), "{new_key}");
    let out = ssh_true(&node, &known);
    assert!(!out.status.success(), "ssh accepted a changed host key");
    assert!(
        text(&out).contains("Host key verification failed"),
        "{}",
        text(&out)
    );
    fs::write(&known, format!("{}\n", node.known_hosts_line())).unwrap();
    let out = ssh_true(&node, &known);
    assert!(
        out.status.success(),
        "ssh with the new host key: {}",
        text(&out)
    );

    // sshd stopped: the node is up but unreachable.
    node.stop_sshd();
    let out = ssh_true(&node, &known);
    assert!(
        !out.status.success(),
        "ssh reached a node with sshd stopped"
    );
    assert!(text(&out).contains("Connection refused"), "{}", text(&out));
    node.start_sshd();
    let out = ssh_true(&node, &known);
    assert!(
        out.status.success(),
        "ssh after sshd restarted: {}",
        text(&out)
    );
}

#[test]
fn apt_node_answers_ssh_only_with_its_own_host_key() {
    ssh_checks_the_host_key(Flavour::Apt);
}

#[test]
fn dnf_node_answers_ssh_only_with_its_own_host_key() {
    ssh_checks_the_host_key(Flavour::Dnf);
}

#[test]
fn every_node_has_its_own_host_key_and_is_removed_when_dropped() {
    let mut nodes = TestNode::start_many(&[Flavour::Apt, Flavour::Apt, Flavour::Dnf]);
    let keys: BTreeSet<String> = nodes.iter().map(TestNode::host_key).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let ips: BTreeSet<String> = nodes.iter().map(TestNode::ip).collect();
    assert_eq!(ips.len(), 3, "{ips:?}");
    for node in &nodes {
        let fingerprint = node.host_key_fingerprint();
        assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    }
    let first = nodes.remove(0);
    let name = first.name().to_string();
    drop(first);
    let out = std::process::Command::new("docker")
        .args(["inspect", &name])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "container {name} still exists after drop"
    );
}

#[test]
fn apt_node_sees_exactly_the_test_repository_and_nothing_from_the_network() {
    let node = TestNode::start(Flavour::Apt);
    let update = node.sh_ok("apt-get update 2>&1");
    assert!(
        update.lines().all(|l| !l.contains("http")),
        "apt-get update reached for the network:\n{update}"
    );
    let madison = node.sh_ok("apt-cache madison fuel-test-daemon");
    let versions: Vec<&str> = madison
        .lines()
        .map(|l| l.split('|').nth(1).unwrap().trim())
        .collect();
    assert_eq!(versions, ["3.0-1", "2.0-1", "1.0-1"], "{madison}");
    assert!(
        madison
            .lines()
            .all(|l| l.contains("file:/srv/fuel-test-repo/deb")),
        "{madison}"
    );
    // The test repository is apt's only source.
    let targets = node.sh_ok("apt-get indextargets --format '$(URI)'");
    assert!(
        !targets.trim().is_empty()
            && targets
                .lines()
                .all(|uri| uri.starts_with("file:/srv/fuel-test-repo/deb/")),
        "{targets}"
    );
}

#[test]
fn dnf_node_sees_exactly_the_test_repository_with_signatures_checked() {
    let node = TestNode::start(Flavour::Dnf);
    let repos = node.sh_ok("dnf -q repolist --enabled");
    let ids: Vec<&str> = repos
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids, ["fuel-test"], "{repos}");
    let list = node.sh_ok("dnf -q --showduplicates list fuel-test-daemon");
    let versions: Vec<&str> = list
        .lines()
        .filter(|l| l.starts_with("fuel-test-daemon"))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(versions, ["1.0-1", "2.0-1", "3.0-1"], "{list}");
    let config = node.sh_ok("cat /etc/yum.repos.d/fuel-test.repo");
    assert!(config.contains("\ngpgcheck=1\n"), "{config}");

    // Without the signer's key imported, dnf refuses the package.
    node.sh_ok("rpm -e $(rpm -q gpg-pubkey)");
    let out = node.sh("dnf -y install fuel-test-tool 2>&1");
    assert!(
        !out.status.success(),
        "dnf installed an rpm whose key is not imported"
    );
    assert_eq!(node.installed_version("fuel-test-tool"), None);
    node.sh_ok(&format!(
        "rpmkeys --import {}/RPM-GPG-KEY-fuel-test",
        fuel_e2e::node_repo::MOUNT
    ));
    node.sh_ok("dnf -y -q install fuel-test-tool");
    assert_eq!(
        node.installed_version("fuel-test-tool").as_deref(),
        Some("2.0-1")
    );
}

fn install_by_hand(node: &TestNode, package: &str, evr: &str) {
    match node.flavour() {
        Flavour::Apt => {
            let spec = format!("{package}={evr}");
            let out = node.exec(&[
                "apt-get",
                "install",
                "-y",
                "-q",
                "--allow-downgrades",
                &spec,
            ]);
            assert!(out.status.success(), "{}", text(&out));
        }
        Flavour::Dnf => {
            // dnf names a version without its epoch.
            let version = evr.split_once(':').map_or(evr, |(_, v)| v);
            let spec = format!("{package}-{version}");
            let out = node.exec(&["dnf", "install", "-y", "-q", &spec]);
            assert!(out.status.success(), "{}", text(&out));
        }
    }
}

fn daemon_runs_its_version(flavour: Flavour) {
    let node = TestNode::start(flavour);
    if flavour == Flavour::Apt {
        node.sh_ok("apt-get update -q");
    }
    install_by_hand(&node, "fuel-test-daemon", "2.0-1");
    assert_eq!(
        node.installed_version("fuel-test-daemon").as_deref(),
        Some("2.0-1")
    );
    // Installing does not start it: the packages have no maintainer scripts.
    let out = node.exec(&["systemctl", "is-active", "fuel-test-daemon"]);
    assert!(
        !out.status.success(),
        "started by the package: {}",
        text(&out)
    );

    let state = |node: &TestNode| {
        node.sh_ok(&format!(
            "systemctl start fuel-test-daemon && systemctl is-active --quiet fuel-test-daemon && \
             while [ ! -s {DAEMON_STATE} ]; do sleep 0.05; done; \
             echo $(systemctl show -p MainPID --value fuel-test-daemon) $(cat {DAEMON_STATE})"
        ))
    };
    let first = state(&node);
    let fields: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{first}");
    assert_eq!(
        fields[0], fields[1],
        "the state file names the unit's main process: {first}"
    );
    assert_eq!(fields[2], "2.0-1");

    // An upgrade and a restart: a new process runs the new version.
    install_by_hand(&node, "fuel-test-daemon", "3.0-1");
    node.sh_ok(&format!(
        "rm -f {DAEMON_STATE} && systemctl restart fuel-test-daemon"
    ));
    let second = state(&node);
    let second: Vec<&str> = second.split_whitespace().collect();
    assert_eq!(second[2], "3.0-1");
    assert_ne!(second[0], fields[0], "the restarted daemon has a new PID");

    // The epoch makes 0.9 the newest fuel-test-epoch.
    let latest = match flavour {
        Flavour::Apt => node.exec(&["apt-get", "install", "-y", "-q", "fuel-test-epoch"]),
        Flavour::Dnf => node.exec(&["dnf", "install", "-y", "-q", "fuel-test-epoch"]),
    };
    assert!(latest.status.success(), "{}", text(&latest));
    assert_eq!(
        node.installed_version("fuel-test-epoch").as_deref(),
        Some("1:0.9-1")
    );
    assert_eq!(node.installed_version("fuel-test-extra"), None);
}

#[test]
fn daemon_package_installed_by_hand_runs_its_version_on_an_apt_node() {
    daemon_runs_its_version(Flavour::Apt);
}

#[test]
fn daemon_package_installed_by_hand_runs_its_version_on_a_dnf_node() {
    daemon_runs_its_version(Flavour::Dnf);
}

#[test]
fn test_repositories_hold_every_package_version_in_both_formats() {
    let repos = test_repos();
    let packages = fs::read_to_string(repos.deb.join("Packages")).unwrap();
    let rpms: Vec<String> = fs::read_dir(&repos.rpm)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rpm"))
        .collect();
    // daemon 3, tool 2, epoch 2, extra 1, bulk 40, lib 2, app 1, slow 1.
    assert_eq!(repos.packages.len(), 52);
    for package in &repos.packages {
        let stanza = format!("Package: {}\nVersion: {}\n", package.name, package.evr());
        assert!(packages.contains(&stanza), "{stanza} missing from Packages");
        let rpm = format!(
            "{}-{}-{}.noarch.rpm",
            package.name, package.version, package.release
        );
        assert!(rpms.contains(&rpm), "{rpm} missing");
    }
    assert_eq!(rpms.len(), repos.packages.len());
    assert!(repos.rpm.join("repodata/repomd.xml").is_file());
    assert!(repos.rpm_key.is_file());
}
