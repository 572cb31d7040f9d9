//! fuel-pm-apply (the release binary, copied into the node as the master
//! uploads it) on real node containers of both flavours: apt/dpkg and
//! dnf/rpm with the suite's test repositories. Pacemaker cannot run in these
//! containers: a recording `crm` shim at /usr/local/sbin/crm stands in for
//! crmsh, and the corosync provider is checked by what it recorded.

use std::fs;
use std::process::Output;
use std::time::{Duration, Instant};

use fuel_e2e::node::{Flavour, TestNode};
use fuel_e2e::node_repo::{DAEMON_STATE, SLOW_SCRIPT_HANG, SLOW_SCRIPT_STARTED};
use fuel_e2e::release_binary;
use fuel_pm::report::{ActionOutcome, Collateral, PackageAction, PackageResult, Report};

/// Where the orchestrator uploads the applier on a node.
const APPLIER: &str = fuel_node::paths::APPLIER;
/// What the recording crm shim writes: one line per call, its arguments.
const CRM_LOG: &str = "/var/log/crm-shim.log";

const CRM_SHIM: &str = r#"#!/bin/sh
# Recording stand-in for crmsh: pacemaker cannot run in a test container.
echo "$*" >> /var/log/crm-shim.log
if [ "$1 $2" = "resource status" ]; then
    echo "resource $3 is running on: $(hostname)"
fi
"#;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A node with the applier on it.
struct Node {
    node: TestNode,
}

/// One run of the applier: its exit code, its report (--json), its stderr.
struct Run {
    code: i32,
    report: Report,
    stderr: String,
}

impl Run {
    fn package(&self, name: &str) -> &PackageResult {
        self.report
            .packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no {name} in the report: {:#?}", self.report))
    }
}

impl Node {
    fn start(flavour: Flavour) -> Node {
        let node = TestNode::start(flavour);
        node.sh_ok("mkdir -p /usr/local/libexec/fuel-pm /etc/hiera");
        node.copy_in(&release_binary("fuel-pm-apply"), APPLIER);
        if flavour == Flavour::Apt {
            node.sh_ok("apt-get update -q");
        }
        Node { node }
    }

    /// Installs exact versions with the node's package manager, by hand.
    fn install_by_hand(&self, packages: &[(&str, &str)]) {
        let mut argv: Vec<String> = match self.node.flavour() {
            Flavour::Apt => ["apt-get", "install", "-y", "-q", "--allow-downgrades"]
                .map(String::from)
                .to_vec(),
            Flavour::Dnf => ["dnf", "install", "-y", "-q"].map(String::from).to_vec(),
        };
        for (name, evr) in packages {
            argv.push(match self.node.flavour() {
                Flavour::Apt => format!("{name}={evr}"),
                Flavour::Dnf => format!("{name}-{evr}"),
            });
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = self.node.exec(&argv);
        assert!(out.status.success(), "{argv:?}: {}", text(&out));
    }

    fn version(&self, package: &str) -> Option<String> {
        self.node.installed_version(package)
    }

    /// Puts the document at its default place, /etc/hiera/package_manipulation.yaml.
    fn upload(&self, yaml: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("package_manipulation.yaml");
        fs::write(&file, yaml).unwrap();
        self.node.copy_in(&file, fuel_node::paths::DOCUMENT);
    }

    /// Runs the applier with `--json` and `args`, in the environment `env`.
    fn apply_with(&self, env: &[&str], args: &[&str]) -> Run {
        let mut argv = vec!["env"];
        argv.extend_from_slice(env);
        argv.push(APPLIER);
        argv.push("--json");
        argv.extend_from_slice(args);
        let out = self.node.exec(&argv);
        let code = out.status.code().expect("the applier exited");
        let report: Report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "the applier's stdout is not one report ({e}), exit {code}:\n{}",
                text(&out)
            )
        });
        assert_eq!(report.exit_code, code, "the report carries the exit code");
        assert_eq!(report.schema, 1);
        Run {
            code,
            report,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn apply(&self, args: &[&str]) -> Run {
        self.apply_with(&[], args)
    }

    /// The package database as the package manager lists it.
    fn package_database(&self) -> String {
        match self.node.flavour() {
            Flavour::Apt => self.node.sh_ok("dpkg -l"),
            Flavour::Dnf => self.node.sh_ok("rpm -qa | sort"),
        }
    }

    /// "PID VERSION" of the running test daemon, once its state file names
    /// the unit's current main process.
    fn daemon(&self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let said = self.node.sh_ok(&format!(
                "systemctl is-active fuel-test-daemon || true; systemctl show -p MainPID --value fuel-test-daemon; cat {DAEMON_STATE} 2>/dev/null || true"
            ));
            let fields: Vec<&str> = said.split_whitespace().collect();
            if let ["active", main_pid, pid, version] = fields[..] {
                if main_pid == pid {
                    return (pid.to_string(), version.to_string());
                }
            }
            assert!(
                Instant::now() < deadline,
                "the test daemon is not running as its state file says: {said}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn start_daemon(&self) -> (String, String) {
        self.node.sh_ok("systemctl start fuel-test-daemon");
        self.daemon()
    }

    fn install_crm_shim(&self) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("crm");
        fs::write(&file, CRM_SHIM).unwrap();
        self.node.copy_in(&file, "/usr/local/sbin/crm");
        self.node.sh_ok("chmod 0755 /usr/local/sbin/crm");
    }

    fn crm_calls(&self) -> String {
        self.node
            .sh_ok(&format!("cat {CRM_LOG} 2>/dev/null || true"))
    }
}

/// The design's example (apache2 pinned with a service restart, wget latest
/// with an `exec` one-liner, tmux with no version, screen absent,
/// mysql-server-wsrep latest with a corosync resource), on the test packages.
/// There is no upstart in these nodes: the pinned daemon's provider is systemd.
const DESIGN_EXAMPLE: &str = "---
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
    name: cat /usr/share/fuel-test-tool/VERSION > /tmp/tool-seen; echo the tool is updated
- name: fuel-test-epoch
- name: fuel-test-extra
  version: absent
- name: fuel-test-bulk-01
  version: latest
  after:
  - provider: corosync
    ensure: running
    name: p_fuel_test
";

fn design_example_then_nothing_to_do(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-daemon", "1.0-1"), ("fuel-test-extra", "1.0-1")]);
    let (old_pid, old_version) = node.start_daemon();
    assert_eq!(old_version, "1.0-1");
    node.install_crm_shim();
    node.upload(DESIGN_EXAMPLE);

    let run = node.apply(&[]);
    assert_eq!(
        run.code, 2,
        "changes, no failure: {:#?}\n{}",
        run.report, run.stderr
    );
    let expect = [
        (
            "fuel-test-daemon",
            PackageAction::Upgraded,
            Some("1.0-1"),
            Some("2.0-1"),
        ),
        (
            "fuel-test-tool",
            PackageAction::Installed,
            None,
            Some("2.0-1"),
        ),
        (
            "fuel-test-epoch",
            PackageAction::Installed,
            None,
            Some("1:0.9-1"),
        ),
        (
            "fuel-test-extra",
            PackageAction::Removed,
            Some("1.0-1"),
            None,
        ),
        (
            "fuel-test-bulk-01",
            PackageAction::Installed,
            None,
            Some("2.0-1"),
        ),
    ];
    for (name, action, before, after) in expect {
        let p = run.package(name);
        assert_eq!(
            (p.action, p.before.as_deref(), p.after.as_deref()),
            (action, before, after),
            "{p:#?}"
        );
        assert_eq!(
            node.version(name).as_deref(),
            after,
            "{name} as the package database says"
        );
    }
    assert_eq!(
        run.package("fuel-test-epoch").requested,
        "latest",
        "no version means latest"
    );
    assert_eq!(run.report.totals.changed, 5);

    // After-actions, in document order.
    let actions: Vec<(&str, &str, ActionOutcome)> = run
        .report
        .actions
        .iter()
        .map(|a| (a.provider.as_str(), a.package.as_str(), a.result))
        .collect();
    assert_eq!(
        actions,
        [
            ("systemd", "fuel-test-daemon", ActionOutcome::Done),
            ("exec", "fuel-test-tool", ActionOutcome::Done),
            ("corosync", "fuel-test-bulk-01", ActionOutcome::Done),
        ],
        "{:#?}",
        run.report.actions
    );
    let (new_pid, new_version) = node.daemon();
    assert_eq!(
        new_version, "2.0-1",
        "the restarted daemon runs the new version"
    );
    assert_ne!(new_pid, old_pid, "a new process");
    assert_eq!(
        node.node.sh_ok("cat /tmp/tool-seen").trim(),
        "2.0-1",
        "the one-liner ran after the upgrade"
    );
    assert_eq!(run.report.actions[1].output_tail, "the tool is updated");
    assert_eq!(run.report.actions[1].exit_code, Some(0));
    assert_eq!(
        node.crm_calls(),
        "resource restart p_fuel_test\nresource status p_fuel_test\n",
        "the changed package's resource is restarted through crm, then checked"
    );

    // A second run: nothing changes and no after-action runs.
    node.node.sh_ok("rm /tmp/tool-seen");
    let again = node.apply(&[]);
    assert_eq!(again.code, 0, "{:#?}", again.report);
    assert!(
        again
            .report
            .packages
            .iter()
            .all(|p| p.action == PackageAction::Unchanged),
        "{:#?}",
        again.report.packages
    );
    assert!(
        again.report.actions.is_empty(),
        "{:#?}",
        again.report.actions
    );
    assert_eq!(node.daemon(), (new_pid, new_version), "not restarted again");
    assert!(
        !node.node.sh("test -e /tmp/tool-seen").status.success(),
        "the one-liner did not run again"
    );
    assert_eq!(
        node.crm_calls(),
        "resource restart p_fuel_test\nresource status p_fuel_test\nresource status p_fuel_test\n",
        "an unchanged package's resource is only asked whether it runs"
    );
}

#[test]
fn the_design_example_applies_on_an_apt_node_and_a_second_run_changes_nothing() {
    design_example_then_nothing_to_do(Flavour::Apt);
}

#[test]
fn the_design_example_applies_on_a_dnf_node_and_a_second_run_changes_nothing() {
    design_example_then_nothing_to_do(Flavour::Dnf);
}

fn downgrade(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-daemon", "3.0-1")]);
    let (old_pid, _) = node.start_daemon();
    node.upload(
        "packages:\n- name: fuel-test-daemon\n  version: 1.0-1\n  after:\n  - provider: systemd\n    name: fuel-test-daemon\n",
    );
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}", run.report);
    let p = run.package("fuel-test-daemon");
    assert_eq!(p.action, PackageAction::Downgraded);
    assert_eq!(
        (p.before.as_deref(), p.after.as_deref()),
        (Some("3.0-1"), Some("1.0-1"))
    );
    assert_eq!(node.version("fuel-test-daemon").as_deref(), Some("1.0-1"));
    let (pid, version) = node.daemon();
    assert_eq!(version, "1.0-1");
    assert_ne!(pid, old_pid);
}

#[test]
fn a_pinned_older_version_is_downgraded_and_reported_as_a_downgrade_on_apt() {
    downgrade(Flavour::Apt);
}

#[test]
fn a_pinned_older_version_is_downgraded_and_reported_as_a_downgrade_on_dnf() {
    downgrade(Flavour::Dnf);
}

fn epoch(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-epoch", "1.5-1")]);
    // Written without its epoch, as Puppet users write it: matches 1:0.9-1, which is newer.
    node.upload("packages:\n- name: fuel-test-epoch\n  version: 0.9-1\n");
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}", run.report);
    let p = run.package("fuel-test-epoch");
    assert_eq!(
        p.action,
        PackageAction::Upgraded,
        "the epoch makes 0.9 newer than 1.5"
    );
    assert_eq!(p.after.as_deref(), Some("1:0.9-1"));
    assert_eq!(node.version("fuel-test-epoch").as_deref(), Some("1:0.9-1"));

    // Puppet's trap: installed 1:0.9-1, requested 0.9-1 must not be a change every run.
    let again = node.apply(&[]);
    assert_eq!(again.code, 0, "{:#?}", again.report);
    assert_eq!(
        again.package("fuel-test-epoch").action,
        PackageAction::Unchanged
    );

    // Back to 1.5-1: lower than 1:0.9-1, so a downgrade.
    node.upload("packages:\n- name: fuel-test-epoch\n  version: 1.5-1\n");
    let back = node.apply(&[]);
    assert_eq!(
        back.package("fuel-test-epoch").action,
        PackageAction::Downgraded
    );
    assert_eq!(node.version("fuel-test-epoch").as_deref(), Some("1.5-1"));
}

#[test]
fn a_version_without_its_epoch_is_matched_and_then_left_alone_on_apt() {
    epoch(Flavour::Apt);
}

#[test]
fn a_version_without_its_epoch_is_matched_and_then_left_alone_on_dnf() {
    epoch(Flavour::Dnf);
}

const WITH_MISSING: &str = "packages:
- name: fuel-test-daemon
  version: 2.0-1
- name: fuel-test-missing
- name: fuel-test-tool
  version: 9.9-1
";

fn missing(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-daemon", "1.0-1")]);
    node.upload(WITH_MISSING);
    let database = node.package_database();

    let run = node.apply(&[]);
    assert_eq!(run.code, 4, "failures, nothing changed: {:#?}", run.report);
    let daemon = run.package("fuel-test-daemon");
    assert_eq!(daemon.action, PackageAction::Unchanged);
    assert_eq!(daemon.reason.as_deref(), Some("not_applied"));
    assert!(
        daemon
            .message
            .as_deref()
            .unwrap()
            .contains("fuel-test-missing"),
        "{daemon:#?}"
    );
    let absent = run.package("fuel-test-missing");
    assert_eq!(
        (absent.action, absent.reason.as_deref()),
        (PackageAction::Failed, Some("not_found"))
    );
    let tool = run.package("fuel-test-tool");
    assert_eq!(
        (tool.action, tool.reason.as_deref()),
        (PackageAction::Failed, Some("version_not_available"))
    );
    let message = tool.message.as_deref().unwrap();
    assert!(
        message.contains("9.9-1") && message.contains("1.0-1, 2.0-1"),
        "names what is offered: {message}"
    );
    assert_eq!(
        node.package_database(),
        database,
        "nothing changed on the node"
    );

    // --keep-going applies what resolves.
    let run = node.apply(&["--keep-going"]);
    assert_eq!(run.code, 6, "{:#?}", run.report);
    assert_eq!(
        run.package("fuel-test-daemon").action,
        PackageAction::Upgraded
    );
    assert_eq!(node.version("fuel-test-daemon").as_deref(), Some("2.0-1"));
    assert_eq!(
        run.package("fuel-test-missing").reason.as_deref(),
        Some("not_found")
    );
}

#[test]
fn a_missing_package_or_version_changes_nothing_and_says_why_on_apt() {
    missing(Flavour::Apt);
}

#[test]
fn a_missing_package_or_version_changes_nothing_and_says_why_on_dnf() {
    missing(Flavour::Dnf);
}

fn killed_after_transaction(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-daemon", "1.0-1")]);
    let (old_pid, _) = node.start_daemon();
    node.upload(
        "packages:\n- name: fuel-test-daemon\n  version: 3.0-1\n  after:\n  - provider: systemd\n    name: fuel-test-daemon\n",
    );
    let out = node
        .node
        .exec(&["env", "FUEL_PM_APPLY_FAULT=after-transaction", APPLIER]);
    // docker exec reports a process killed by SIGKILL as 128 + 9.
    assert_eq!(
        out.status.code(),
        Some(137),
        "killed by SIGKILL: {}",
        text(&out)
    );
    assert_eq!(
        node.version("fuel-test-daemon").as_deref(),
        Some("3.0-1"),
        "the transaction was done"
    );
    assert_eq!(
        node.daemon(),
        (old_pid.clone(), "1.0-1".to_string()),
        "but not the restart"
    );
    let pending = node.node.sh_ok("cat /var/lib/fuel-pm/pending.json");
    assert!(pending.contains("fuel-test-daemon"), "{pending}");

    // The next run: the package no longer changes, the owed restart is done.
    let run = node.apply(&[]);
    assert_eq!(
        run.package("fuel-test-daemon").action,
        PackageAction::Unchanged
    );
    assert_eq!(run.report.actions.len(), 1, "{:#?}", run.report.actions);
    assert_eq!(run.report.actions[0].result, ActionOutcome::Done);
    let (pid, version) = node.daemon();
    assert_eq!(version, "3.0-1");
    assert_ne!(pid, old_pid);
    assert!(
        !node
            .node
            .sh("test -e /var/lib/fuel-pm/pending.json")
            .status
            .success(),
        "nothing owed any more"
    );
    assert_eq!(
        node.apply(&[]).code,
        0,
        "and the run after that has nothing to do"
    );
}

#[test]
fn a_run_killed_after_its_transaction_leaves_the_restart_to_the_next_run_on_apt() {
    killed_after_transaction(Flavour::Apt);
}

#[test]
fn a_run_killed_after_its_transaction_leaves_the_restart_to_the_next_run_on_dnf() {
    killed_after_transaction(Flavour::Dnf);
}

fn check_changes_nothing(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-daemon", "1.0-1"), ("fuel-test-extra", "1.0-1")]);
    let daemon = node.start_daemon();
    node.install_crm_shim();
    node.upload(DESIGN_EXAMPLE);
    let database = node.package_database();

    let run = node.apply(&["--check"]);
    assert_eq!(run.code, 2, "changes would be made: {:#?}", run.report);
    assert!(run.report.check);
    assert_eq!(
        run.package("fuel-test-daemon").action,
        PackageAction::Upgraded
    );
    assert_eq!(
        run.package("fuel-test-daemon").after.as_deref(),
        Some("2.0-1"),
        "what it would be"
    );
    assert_eq!(
        run.package("fuel-test-extra").action,
        PackageAction::Removed
    );
    assert!(
        run.report
            .actions
            .iter()
            .all(|a| a.result == ActionOutcome::Skipped),
        "{:#?}",
        run.report.actions
    );
    assert_eq!(run.report.actions.len(), 3);

    assert_eq!(
        node.package_database(),
        database,
        "the package database is as it was"
    );
    assert_eq!(node.daemon(), daemon, "the daemon was not restarted");
    assert_eq!(node.crm_calls(), "", "crm was not called");
    assert!(
        !node.node.sh("test -e /var/lib/fuel-pm").status.success(),
        "no state written"
    );
}

#[test]
fn check_reports_what_would_change_and_changes_nothing_on_apt() {
    check_changes_nothing(Flavour::Apt);
}

#[test]
fn check_reports_what_would_change_and_changes_nothing_on_dnf() {
    check_changes_nothing(Flavour::Dnf);
}

/// Holds the package manager's lock from another process and returns once it is held.
fn hold_package_manager_lock(node: &Node) {
    match node.node.flavour() {
        // apt holds dpkg's frontend lock for its whole run; a Pre-Invoke hook
        // keeps it running (reinstalling a package) for a while.
        Flavour::Apt => {
            node.install_by_hand(&[("fuel-test-extra", "1.0-1")]);
            node.node.sh_ok(
                "nohup apt-get -o 'DPkg::Pre-Invoke::=touch /tmp/lock-held; sleep 60' install --reinstall -y fuel-test-extra >/dev/null 2>&1 &",
            );
        }
        // dnf's own lock, taken by dnf's own code.
        Flavour::Dnf => {
            node.node.sh_ok(
                "nohup python3 -c 'import dnf.lock, time; l = dnf.lock.build_rpmdb_lock(\"/var/lib/dnf\", True); l.__enter__(); open(\"/tmp/lock-held\", \"w\"); time.sleep(60)' >/dev/null 2>&1 &",
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !node.node.sh("test -e /tmp/lock-held").status.success() {
        assert!(Instant::now() < deadline, "the lock holder did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lock_held(flavour: Flavour) {
    let node = Node::start(flavour);
    node.upload("packages:\n- name: fuel-test-tool\n  version: 2.0-1\n");
    hold_package_manager_lock(&node);
    let database = node.package_database();
    let run = node.apply(&["--lock-timeout", "2"]);
    assert_eq!(run.code, 4, "{:#?}", run.report);
    let tool = run.package("fuel-test-tool");
    assert_eq!(
        (tool.action, tool.reason.as_deref()),
        (PackageAction::Failed, Some("lock_timeout"))
    );
    let message = tool.message.as_deref().unwrap();
    let holder = match flavour {
        Flavour::Apt => "(apt-get)",
        Flavour::Dnf => "(python3)",
    };
    assert!(
        message.contains("process ") && message.contains(holder),
        "names the holder: {message}"
    );
    assert_eq!(node.version("fuel-test-tool"), None);
    assert_eq!(node.package_database(), database);
}

#[test]
fn a_held_package_manager_lock_times_out_naming_its_holder_on_apt() {
    lock_held(Flavour::Apt);
}

#[test]
fn a_held_package_manager_lock_times_out_naming_its_holder_on_dnf() {
    lock_held(Flavour::Dnf);
}

#[test]
fn a_second_applier_is_refused_naming_the_first_ones_pid() {
    let node = Node::start(Flavour::Apt);
    node.upload("packages:\n- name: fuel-test-tool\n  version: 2.0-1\n");
    node.node.sh_ok(&format!(
        "FUEL_PM_APPLY_PAUSE=after-lock nohup {APPLIER} > /tmp/first.out 2>&1 & echo $! > /tmp/first.pid"
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !node
        .node
        .sh("test -e /var/lib/fuel-pm/paused")
        .status
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "the first applier did not take the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = node.node.sh_ok("cat /tmp/first.pid").trim().to_string();
    let out = node.node.exec(&[APPLIER]);
    assert_eq!(
        out.status.code(),
        Some(75),
        "EX_TEMPFAIL, so the master can tell a busy node from a failure: {}",
        text(&out)
    );
    let said = text(&out);
    assert!(
        said.contains(&format!("pid {first}")),
        "names the holder: {said}"
    );
    assert_eq!(node.version("fuel-test-tool"), None);

    node.node.sh_ok("rm /var/lib/fuel-pm/paused");
    let deadline = Instant::now() + Duration::from_secs(60);
    while node.node.sh(&format!("kill -0 {first}")).status.success() {
        assert!(
            Instant::now() < deadline,
            "the first applier did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        node.version("fuel-test-tool").as_deref(),
        Some("2.0-1"),
        "{}",
        node.node.sh_ok("cat /tmp/first.out")
    );
}

fn services_kept_as_ensure_says(flavour: Flavour) {
    let node = Node::start(flavour);
    node.install_by_hand(&[("fuel-test-daemon", "2.0-1")]);
    let is_active = || {
        node.node
            .exec(&["systemctl", "is-active", "--quiet", "fuel-test-daemon"])
            .status
            .success()
    };
    assert!(!is_active(), "installing does not start it");

    // Unchanged package, stopped service, ensure running: started (through `service`).
    node.upload(
        "packages:\n- name: fuel-test-daemon\n  version: 2.0-1\n  after:\n  - provider: sysv\n    name: fuel-test-daemon\n",
    );
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "an action ran: {:#?}", run.report);
    assert_eq!(
        run.package("fuel-test-daemon").action,
        PackageAction::Unchanged
    );
    let action = &run.report.actions[..];
    assert_eq!(action.len(), 1, "{action:#?}");
    assert_eq!(
        (action[0].provider.as_str(), action[0].result),
        ("service", ActionOutcome::Done)
    );
    assert_eq!(node.daemon().1, "2.0-1");
    let again = node.apply(&[]);
    assert_eq!(again.code, 0, "running already: {:#?}", again.report);
    assert!(again.report.actions.is_empty());

    // ensure stopped: stopped once, then left alone.
    node.upload(
        "packages:\n- name: fuel-test-daemon\n  version: 2.0-1\n  after:\n  - provider: systemd\n    ensure: stopped\n    name: fuel-test-daemon\n",
    );
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}", run.report);
    assert_eq!(run.report.actions[0].ensure, "stopped");
    assert!(!is_active(), "stopped");
    assert_eq!(node.apply(&[]).code, 0);
}

#[test]
fn an_unchanged_packages_service_is_started_or_stopped_only_when_needed_on_apt() {
    services_kept_as_ensure_says(Flavour::Apt);
}

#[test]
fn an_unchanged_packages_service_is_started_or_stopped_only_when_needed_on_dnf() {
    services_kept_as_ensure_says(Flavour::Dnf);
}

/// (name, before, after, action) of each collateral change: what a check
/// predicts and a run does must be the same list.
fn changes(report: &Report) -> Vec<(String, Option<String>, Option<String>, PackageAction)> {
    report
        .collateral
        .iter()
        .map(|c| (c.name.clone(), c.before.clone(), c.after.clone(), c.action))
        .collect()
}

const PIN_THE_LIB: &str = "packages:\n- name: fuel-test-lib\n  version: 1.5-1\n";

fn collateral_changes(flavour: Flavour) {
    let node = Node::start(flavour);

    // A new dependency is installed, as every package manager does, and listed.
    node.upload("packages:\n- name: fuel-test-app\n");
    let check = node.apply(&["--check"]);
    assert_eq!(check.code, 2, "{:#?}", check.report);
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}", run.report);
    let lib_installed = vec![(
        "fuel-test-lib".to_string(),
        None,
        Some("2.0-1".to_string()),
        PackageAction::Installed,
    )];
    assert_eq!(changes(&check.report), lib_installed, "predicted");
    assert_eq!(changes(&run.report), lib_installed, "done");
    assert_eq!(node.version("fuel-test-lib").as_deref(), Some("2.0-1"));

    // Pinning the lib below what the app needs would take the app away:
    // refused before anything changes, naming the app and its dependency.
    node.upload(PIN_THE_LIB);
    let database = node.package_database();
    for args in [&["--check"][..], &[]] {
        let run = node.apply(args);
        assert_eq!(run.code, 4, "{args:?}: {:#?}", run.report);
        let lib = run.package("fuel-test-lib");
        assert_eq!(
            (lib.action, lib.reason.as_deref(), lib.after.as_deref()),
            (
                PackageAction::Failed,
                Some("collateral_removal"),
                Some("2.0-1")
            ),
            "{lib:#?}"
        );
        let message = lib.message.as_deref().unwrap();
        assert!(
            message.contains("remove fuel-test-app 1.0-1")
                && message.contains("fuel-test-lib")
                && message.contains("allow_removals: true"),
            "{message}"
        );
        let [app]: &[Collateral] = &run.report.collateral[..] else {
            panic!("{:#?}", run.report.collateral)
        };
        assert_eq!(
            (app.name.as_str(), app.action, app.refused),
            ("fuel-test-app", PackageAction::Removed, true)
        );
        let cause = app.cause.as_deref().unwrap();
        let dependency = match flavour {
            Flavour::Apt => "fuel-test-app depends on fuel-test-lib (>= 2.0)",
            Flavour::Dnf => "fuel-test-app requires fuel-test-lib >= 2.0",
        };
        assert_eq!(cause, dependency);
        assert_eq!(
            node.package_database(),
            database,
            "{args:?}: nothing changed"
        );
    }

    // Allowed on the package: the check predicts exactly what the run does.
    node.upload(&format!("{PIN_THE_LIB}  allow_removals: true\n"));
    let check = node.apply(&["--check"]);
    assert_eq!(check.code, 2, "{:#?}", check.report);
    assert_eq!(node.package_database(), database, "a check changes nothing");
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}\n{}", run.report, run.stderr);
    let app_removed = vec![(
        "fuel-test-app".to_string(),
        Some("1.0-1".to_string()),
        None,
        PackageAction::Removed,
    )];
    assert_eq!(changes(&check.report), app_removed, "predicted");
    assert_eq!(changes(&run.report), app_removed, "done");
    assert!(run.report.collateral.iter().all(|c| !c.refused));
    assert_eq!(
        run.package("fuel-test-lib").action,
        PackageAction::Downgraded
    );
    assert_eq!(node.version("fuel-test-lib").as_deref(), Some("1.5-1"));
    assert_eq!(node.version("fuel-test-app"), None);
}

#[test]
fn changes_to_packages_the_document_does_not_name_are_listed_predicted_and_removals_refused_unless_allowed_on_apt(
) {
    collateral_changes(Flavour::Apt);
}

#[test]
fn changes_to_packages_the_document_does_not_name_are_listed_predicted_and_removals_refused_unless_allowed_on_dnf(
) {
    collateral_changes(Flavour::Dnf);
}

/// Starts the applier in a process group of its own on the node, kills the
/// whole group with SIGKILL once `fuel-test-slow`'s install script hangs
/// (as the OOM killer or a power cut would end it), then reruns.
fn killed_inside_an_install_script(flavour: Flavour) {
    let node = Node::start(flavour);
    node.upload("packages:\n- name: fuel-test-slow\n  version: 1.0-1\n");
    node.node.sh_ok(&format!("touch {SLOW_SCRIPT_HANG}"));
    node.node.sh_ok(&format!(
        "setsid -f sh -c 'echo $$ > /tmp/applier.pgid; exec {APPLIER} > /tmp/applier.out 2>&1'"
    ));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !node
        .node
        .sh(&format!("test -e {SLOW_SCRIPT_STARTED}"))
        .status
        .success()
    {
        let group = node.node.sh_ok("cat /tmp/applier.pgid 2>/dev/null || true");
        let running = !group.trim().is_empty()
            && node
                .node
                .sh(&format!("pgrep -g {}", group.trim()))
                .status
                .success();
        assert!(
            running || group.trim().is_empty(),
            "the applier ended before the install script hung: {}",
            node.node.sh_ok("cat /tmp/applier.out")
        );
        assert!(
            Instant::now() < deadline,
            "the install script did not start: {}",
            node.node.sh_ok("cat /tmp/applier.out")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    node.node.sh_ok(&format!("rm {SLOW_SCRIPT_HANG}"));
    let group = node.node.sh_ok("cat /tmp/applier.pgid").trim().to_string();
    node.node.sh_ok(&format!("kill -9 -{group}"));
    // The script itself ran in the package manager's group: gone with it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while node.node.sh(&format!("pgrep -g {group}")).status.success() {
        assert!(
            Instant::now() < deadline,
            "the process group outlived SIGKILL"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let run = node.apply(&[]);
    let slow = run.package("fuel-test-slow");
    assert!(
        slow.before.is_some() || slow.after.is_some(),
        "a package the run touched is never null/null: {slow:#?}"
    );
    assert_eq!(
        slow.after.as_deref(),
        Some("1.0-1"),
        "{:#?}\n{}",
        run.report,
        run.stderr
    );
    assert_eq!(node.version("fuel-test-slow").as_deref(), Some("1.0-1"));
    match flavour {
        Flavour::Apt => {
            assert_eq!(
                run.code, 2,
                "the repair is a change: {:#?}\n{}",
                run.report, run.stderr
            );
            let recovery = run
                .report
                .recovery
                .as_ref()
                .expect("the repair is reported");
            assert!(recovery.ok, "{recovery:#?}");
            assert_eq!(
                recovery.command,
                "dpkg --force-confdef --force-confold --configure -a"
            );
            assert_eq!(recovery.packages, ["fuel-test-slow"]);
            assert!(
                recovery
                    .found
                    .contains("fuel-test-slow 1.0-1 is half-configured"),
                "{recovery:#?}"
            );
            assert!(
                run.stderr.contains("dpkg was interrupted"),
                "{}",
                run.stderr
            );
            assert_eq!(
                node.node.sh_ok("dpkg --audit"),
                "",
                "dpkg has nothing left to finish"
            );
        }
        Flavour::Dnf => {
            // rpm recorded the package before its %post ran: nothing is
            // half-done in its database, and the rerun just works.
            assert_eq!(run.code, 0, "{:#?}\n{}", run.report, run.stderr);
            assert_eq!(run.report.recovery, None);
            assert_eq!(slow.action, PackageAction::Unchanged);
        }
    }
    // And the run after that has nothing to do.
    let again = node.apply(&[]);
    assert_eq!(again.code, 0, "{:#?}", again.report);
    assert_eq!(again.report.recovery, None);
}

#[test]
fn a_run_killed_inside_an_install_script_is_repaired_by_the_next_run_on_apt() {
    killed_inside_an_install_script(Flavour::Apt);
}

#[test]
fn a_run_killed_inside_an_install_script_leaves_nothing_to_repair_on_dnf() {
    killed_inside_an_install_script(Flavour::Dnf);
}

#[test]
fn a_hung_after_action_is_killed_at_its_timeout_and_stays_owed() {
    let node = Node::start(Flavour::Apt);
    node.upload(
        "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n  after:\n  - provider: exec\n    name: echo started; while [ -e /tmp/hang ]; do sleep 1; done; echo finished\n    timeout: 2\n",
    );
    node.node.sh_ok("touch /tmp/hang");
    let started = Instant::now();
    let run = node.apply(&[]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.code, 6, "changed, and a failure: {:#?}", run.report);
    let action = &run.report.actions[0];
    assert_eq!(
        (action.result, action.reason.as_deref()),
        (ActionOutcome::Failed, Some("after_action_timeout"))
    );
    assert!(
        action.output_tail.starts_with("started\n"),
        "{}",
        action.output_tail
    );
    assert!(
        action.output_tail.contains("within 2 s"),
        "{}",
        action.output_tail
    );
    assert!(
        !node
            .node
            .sh("pgrep -f 'while \\[ -e /tmp/hang'")
            .status
            .success(),
        "the one-liner's shell was killed: {}",
        node.node.sh_ok("ps -ef")
    );
    let pending = node.node.sh_ok("cat /var/lib/fuel-pm/pending.json");
    assert!(pending.contains("while [ -e /tmp/hang ]"), "{pending}");

    // The next run: the package no longer changes, the action is still owed.
    node.node.sh_ok("rm /tmp/hang");
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}", run.report);
    assert_eq!(
        run.package("fuel-test-tool").action,
        PackageAction::Unchanged
    );
    assert_eq!(run.report.actions[0].result, ActionOutcome::Done);
    assert_eq!(run.report.actions[0].output_tail, "started\nfinished");
    assert!(!node
        .node
        .sh("test -e /var/lib/fuel-pm/pending.json")
        .status
        .success());
}

#[test]
fn an_exec_one_liner_runs_with_bash() {
    let node = Node::start(Flavour::Apt);
    node.upload(
        "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n  after:\n  - provider: exec\n    name: '[[ -n $BASH_VERSION ]] && echo {a,b}-ok'\n",
    );
    let run = node.apply(&[]);
    assert_eq!(run.code, 2, "{:#?}", run.report);
    assert_eq!(
        run.report.actions[0].output_tail, "a-ok b-ok",
        "{:#?}",
        run.report.actions
    );
}
