//! An environment's package inventory and drift end to end (issue 22): the
//! packaged `fuel` against the packaged `fuel-api`, which records what each
//! execute_pm (and `--check`) report saw on real apt and dnf node
//! containers; `fuel package --env 1 --drift` then names what differs, with
//! exit 3, and exit 0 once every node is alike and as the document asks.

use std::process::Output;

use fuel_api_client::{DriftReason, PackageInventory};
use fuel_e2e::node::{Flavour, TestNode};
use fuel_e2e::package_tasks::*;

const DAEMON: &str = "fuel-test-daemon";

/// The daemon pinned at 2.0-1 (no after-action: the package is the point).
const DOCUMENT: &str = "packages:
- name: fuel-test-daemon
  version: 2.0-1
";

fn exit_code(out: &Output) -> i32 {
    out.status.code().expect("fuel exited, not killed")
}

/// `fuel --json package --env 1 --drift`: the exit code and the answer.
fn drift_json(master: &Master) -> (i32, PackageInventory) {
    let out = master.fuel(&["--json", "package", "--env", "1", "--drift"]);
    let answer = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("--drift --json ({e}): {}", text(&out)));
    (exit_code(&out), answer)
}

/// (version, nodes) of the daemon in an answer.
fn daemon_versions(answer: &PackageInventory) -> Vec<(Option<String>, Vec<i64>)> {
    answer
        .versions_of(DAEMON)
        .unwrap_or_else(|| panic!("{DAEMON} not listed: {answer:#?}"))
}

/// Now with milliseconds, as fuel-api writes observation times: texts of
/// one precision compare as times ("…00.905Z" sorts before "…00Z").
fn now_rfc3339() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.%3NZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn drift_names_the_package_nodes_2_and_3_run_at_another_version_until_1_and_4_follow_and_then_a_change_by_hand(
) {
    let master = Master::start();
    let env = master.create_env("inventory");
    assert_eq!(env, 1);
    let nodes = start_nodes(&[Flavour::Apt, Flavour::Dnf, Flavour::Apt, Flavour::Dnf]);
    let all: Vec<&TestNode> = nodes.iter().collect();
    on_each(&all, |node| install_by_hand(node, &[(DAEMON, "1.0-1")]));
    assert_eq!(master.register_all(&nodes, env), [1, 2, 3, 4]);
    master.upload(env, "file.yaml", DOCUMENT);

    // Nothing observed yet: drift, as the master cannot vouch for any node.
    let out = master.fuel(&["package", "--env", "1", "--drift"]);
    assert_eq!(exit_code(&out), 3, "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(
            "never observed: node 1-4: run fuel node --node 1-4 --tasks execute_pm --check"
        ),
        "{said}"
    );

    // execute_pm on nodes 2 and 3 only, then a --check on all four.
    master.fuel_ok(&["node", "--node", "2,3", "--tasks", "execute_pm"]);
    master.fuel_ok(&["node", "--node", "1-4", "--tasks", "execute_pm", "--check"]);
    let out = master.fuel(&["package", "--env", "1", "--drift"]);
    assert_eq!(exit_code(&out), 3, "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("fuel package --env 1 --drift:\n{table}");
    let row = |version: &str| {
        table
            .lines()
            .find(|l| {
                l.starts_with(DAEMON) && l.split(" | ").nth(2).map(str::trim) == Some(version)
            })
            .unwrap_or_else(|| panic!("no {DAEMON} {version} row in:\n{table}"))
            .to_string()
    };
    let old = row("1.0-1");
    assert!(old.contains("| 2.0-1    | 1.0-1   | 1,4"), "{old}");
    assert!(old.ends_with("| differs from document"), "{old}");
    let new = row("2.0-1");
    assert!(new.contains("| 2,3"), "{new}");
    assert!(!new.contains("differs from document"), "{new}");
    assert!(table.contains("environment 1: drift (1 package(s) not at one version on every node, 1 not as document revision 1 asks)"), "{table}");

    let (code, answer) = drift_json(&master);
    assert_eq!((code, answer.drift), (3, Some(true)));
    assert_eq!(
        daemon_versions(&answer),
        [
            (Some("1.0-1".to_string()), vec![1, 4]),
            (Some("2.0-1".to_string()), vec![2, 3])
        ]
    );
    let daemon = &answer.packages[0];
    assert_eq!(
        daemon.drift,
        [
            DriftReason::VersionsDiffer,
            DriftReason::DiffersFromDocument
        ]
    );
    assert_eq!(daemon.off_document, [1, 4]);
    assert_eq!(daemon.requested.as_deref(), Some("2.0-1"));
    // What the inventory says is what the nodes have.
    for (id, node) in (1..).zip(&nodes) {
        let expected = if id == 2 || id == 3 { "2.0-1" } else { "1.0-1" };
        assert_eq!(
            node.installed_version(DAEMON).as_deref(),
            Some(expected),
            "node {id}"
        );
    }

    // The inventory lists every version, --package and --yaml as asked.
    let inventory = master.fuel_ok(&["package", "--env", "1", "--inventory"]);
    assert!(
        inventory.starts_with("package          | version | nodes | observed"),
        "{inventory}"
    );
    let yaml = master.fuel_ok(&[
        "--yaml",
        "package",
        "--env",
        "1",
        "--inventory",
        "--package",
        DAEMON,
    ]);
    let parsed: PackageInventory =
        serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {yaml}"));
    assert_eq!(daemon_versions(&parsed), daemon_versions(&answer));
    assert_eq!(parsed.drift, None, "--inventory does not judge");

    // The same change on 1 and 4: no drift.
    master.fuel_ok(&["node", "--node", "1,4", "--tasks", "execute_pm"]);
    let out = master.fuel(&["package", "--env", "1", "--drift"]);
    assert_eq!(exit_code(&out), 0, "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("environment 1: no drift"),
        "{}",
        text(&out)
    );

    // Node 4 changed by hand, behind the master's back: the master still
    // says what it last saw, until the next --check sees it.
    install_by_hand(&nodes[3], &[(DAEMON, "3.0-1")]);
    assert_eq!(drift_json(&master).0, 0);
    let before_check = now_rfc3339();
    master.fuel_ok(&["node", "--node", "1-4", "--tasks", "execute_pm", "--check"]);
    let (code, answer) = drift_json(&master);
    assert_eq!(code, 3, "{answer:#?}");
    assert_eq!(
        daemon_versions(&answer),
        [
            (Some("2.0-1".to_string()), vec![1, 2, 3]),
            (Some("3.0-1".to_string()), vec![4])
        ]
    );
    assert_eq!(answer.packages[0].off_document, [4]);
    let cell = answer.packages[0].versions[1].nodes[0];
    let seen = answer.observation(cell.observation()).unwrap();
    assert!(
        seen.observed_at >= before_check,
        "observed at {} before the check started at {before_check}",
        seen.observed_at
    );
    assert_eq!(
        seen.task_id,
        master.last_task().id,
        "seen by the last --check"
    );
    let out = master.fuel(&["package", "--env", "1", "--drift", "--package", DAEMON]);
    assert_eq!(exit_code(&out), 3);
    let table = String::from_utf8_lossy(&out.stdout);
    let line = table
        .lines()
        .find(|l| l.contains("| 3.0-1"))
        .unwrap_or_else(|| panic!("no 3.0-1 row:\n{table}"));
    assert!(
        line.contains(&format!("{} (", seen.observed_at)) && line.contains("ago, task"),
        "the observation time and age: {line}"
    );
}
