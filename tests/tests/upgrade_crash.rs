//! Crash safety of fuel-upgrade against a real Docker engine and a real
//! fuel-api: for every fault-injection point the runner lists, a run killed
//! there with SIGKILL is (a) rolled back to exactly the starting state and
//! (b), killed there again, resumed to exactly the state of an uninterrupted
//! run. States are compared with a snapshot, not hand-written expectations.
//! Three services keep the matrix within the suite's time budget (the
//! 12-service upgrade is in upgrade.rs).

mod upgrade_support;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use upgrade_support::{build_archive, killed, text, Env, Snapshot};

const SERVICES: [&str; 3] = ["db", "mq", "api"];

/// The plan of one release: `new` adds the actions only an upgrade does.
fn plan_text(release: &str, upgrades_from: &str, fixtures: &str, new: bool) -> String {
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

fn fixture(releases: &[(&str, &str)]) -> String {
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
            let tags: Vec<String> = SERVICES.iter().map(|s| format!("fuel-e2e/{s}:{release}")).collect();
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
fn deployed_old(test: &str) -> (Env, PathBuf) {
    let env = Env::new(test);
    let (_, old_archive, new_archive) = archives();
    for a in [old_archive, new_archive] {
        let to = env.path(&format!("var/www/nailgun/docker/images/{}", a.file_name().unwrap().to_string_lossy()));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::hard_link(a, &to).or_else(|_| std::fs::copy(a, &to).map(drop)).unwrap();
    }
    env.write("etc/fuel/astute.yaml", "ADMIN_NETWORK: {ipaddress: 10.20.0.2}\n", 0o600);
    env.write("var/lib/fuel/settings.yaml", "settings: from 7.0\n", 0o644);
    env.write("usr/share/fuel-openstack-metadata/openstack-7.yaml", &fixture(&[("Kilo on CentOS 6.6", "2015.1.0-7.0")]), 0o644);
    env.write(
        "usr/share/fuel-openstack-metadata/openstack.yaml",
        &fixture(&[
            ("Kilo on CentOS 6.6", "2015.1.0-7.0"),
            ("Liberty on CentOS 7", "liberty-8.0"),
            ("Liberty on Ubuntu 14.04", "liberty-8.0"),
        ]),
        0o644,
    );
    let old = env.plan("plan-7.yaml", &plan_text("7.0.0", "6.1", "/usr/share/fuel-openstack-metadata/openstack-7.yaml", false));
    let new = env.plan("plan-8.yaml", &plan_text("8.0.0", "7.0.0", "/usr/share/fuel-openstack-metadata/openstack.yaml", true));
    let report = env.upgrade_ok(&old, &["apply", "--force"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    (env, new)
}

#[test]
fn every_crash_point_resumes_and_rolls_back_exactly() {
    // The reference: an uninterrupted upgrade.
    let (reference_env, plan) = deployed_old("crash-ref");
    let start: Snapshot = reference_env.snapshot();
    let points = reference_env.upgrade(&plan, &["plan", "--crash-points"], &[]);
    assert!(points.status.success(), "{}", text(&points));
    let points: Vec<String> = String::from_utf8_lossy(&points.stdout).lines().map(String::from).collect();
    for expected in ["before:backup", "before:switch", "switch:half", "switch:unrecorded", "files:half", "fixtures:unrecorded", "before:finalize", "end"] {
        assert!(points.iter().any(|p| p == expected), "{expected} missing from {points:?}");
    }
    let report = reference_env.upgrade_ok(&plan, &["apply"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    let upgraded = reference_env.snapshot();
    assert_ne!(start, upgraded);
    assert_eq!(upgraded.containers.values().filter(|(_, state)| state == "running").count(), SERVICES.len());
    drop(reference_env);

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(point) = points.get(i) else { break };
                if let Err(e) = crash_at(point, &start, &upgraded) {
                    failures.lock().unwrap().push(format!("{point}: {e}"));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} of {} crash points failed:\n{}", failures.len(), points.len(), failures.join("\n\n"));
}

fn crash_at(point: &str, start: &Snapshot, upgraded: &Snapshot) -> Result<(), String> {
    let test = point.replace([':', '_'], "-");
    let (env, plan) = deployed_old(&test);
    let here = env.snapshot();
    if &here != start {
        return Err(format!("the starting state differs from the reference's:\n{}", here.diff(start)));
    }

    // Killed at the point, then rolled back: exactly the starting state.
    let crashed = env.upgrade(&plan, &["apply", "--json", "-q"], &[("FUEL_UPGRADE_CRASH_AT", point)]);
    if !killed(&crashed) {
        return Err(format!("the run was not killed at the point:\n{}", text(&crashed)));
    }
    let rollback = env.upgrade(&plan, &["rollback", "--json", "-q"], &[]);
    if !rollback.status.success() {
        return Err(format!("rollback failed:\n{}", text(&rollback)));
    }
    let after = env.snapshot();
    if &after != start {
        return Err(format!("rollback did not restore the starting state:\n{}", after.diff(start)));
    }

    // Killed there again, then resumed: exactly the uninterrupted result.
    let crashed = env.upgrade(&plan, &["apply", "--json", "-q"], &[("FUEL_UPGRADE_CRASH_AT", point)]);
    if !killed(&crashed) {
        return Err(format!("the second run was not killed at the point:\n{}", text(&crashed)));
    }
    let resume = env.upgrade(&plan, &["resume", "--json", "-q"], &[]);
    if !resume.status.success() {
        return Err(format!("resume failed:\n{}", text(&resume)));
    }
    let after = env.snapshot();
    if &after != upgraded {
        return Err(format!("resume did not reach the uninterrupted result:\n{}", after.diff(upgraded)));
    }
    Ok(())
}
