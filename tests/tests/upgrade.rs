//! The packaged fuel-upgrade against a real Docker engine and a real fuel-api:
//! the shipped 12-service plan upgrading release N-1 to N, `plan` listing
//! exactly what `apply` runs, a failing preflight that changes nothing, a
//! refused concurrent run, automatic rollback on a step error, a rollback
//! that cannot restore the start saying what and failing, and a bad plan
//! named by file and line. (Crash points and kills: upgrade_crash.rs.)

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fuel_e2e::upgrade::shipped::{deployed_twelve, shipped_plan, ASTUTE, FIXTURES_8, TWELVE};
use fuel_e2e::upgrade::{deployed_old, host_network_lock, run, step_actions, text, Entry, Env};

#[test]
fn shipped_plan_upgrades_twelve_services_from_n_minus_1_to_n() {
    // The shipped plan's services listen on the host's fixed ports.
    let _ports = host_network_lock();
    let env = Env::new("twelve");
    let (old_shipped, new_shipped) = (shipped_plan("7.0.0"), shipped_plan("8.0.0"));
    // Release N-1, installed by fuel-upgrade as a first installation, then
    // `dnf install fuel-8.0.0` brings the new openstack.yaml.
    let (_, new) = deployed_twelve(&env, &old_shipped, &new_shipped, false);
    let running: Vec<String> = env
        .containers()
        .into_iter()
        .filter(|(_, (_, s))| s == "running")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(running.len(), 12, "{running:?}");
    let fixtures = FIXTURES_8;

    let planned = env.upgrade_ok(&new, &["plan"]);
    let report = env.upgrade_ok(&new, &["apply"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    assert_eq!(report["from_release"], "7.0.0");
    assert_eq!(report["to_release"], "8.0.0");
    // `plan` listed exactly the steps and actions `apply` ran, and all ran.
    assert_eq!(step_actions(&planned), step_actions(&report));
    for step in report["steps"].as_array().unwrap() {
        assert_eq!(step["status"], "done", "{step}");
    }
    let ids: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["backup", "prepare", "switch", "files", "fixtures", "finalize"]
    );
    assert!(
        report["downtime_ms"].as_u64().is_some(),
        "no downtime measured: {report}"
    );

    // New containers run the new images; the old are stopped, kept for rollback.
    let containers = env.containers();
    assert_eq!(containers.len(), 24, "{containers:?}");
    for s in TWELVE {
        assert_eq!(
            containers[&format!("{s}-8.0.0")],
            (format!("fuel/{s}:8.0.0"), "running".to_string())
        );
        assert_eq!(containers[&format!("{s}-7.0.0")].1, "exited", "{s}-7.0.0");
    }
    // The HTTP health checks were real: nginx answers inside its container.
    let page = run(std::process::Command::new("docker").args([
        "exec",
        &format!("{}-nginx-8.0.0", env.namespace),
        "/bin/busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://127.0.0.1:8000/",
    ]))
    .unwrap();
    assert_eq!(page, "fuel\n");

    // Files and links as planned.
    let snapshot = env.snapshot().unwrap();
    assert_eq!(
        snapshot.files["etc/fuel/current"],
        Entry::Link {
            target: "/etc/fuel/8.0.0".into()
        }
    );
    assert_eq!(
        snapshot.files["etc/fuel/8.0.0/astute.yaml"],
        Entry::File {
            content: ASTUTE.into(),
            mode: 0o600,
            uid: 0,
            gid: 0
        }
    );
    assert_eq!(
        snapshot.files["etc/fuel/8.0.0/release"],
        Entry::File {
            // The plan writes the commit the rpm set was built from.
            content: format!("8.0.0 (build {})\n", new_shipped.commit),
            mode: 0o644,
            uid: 0,
            gid: 0
        }
    );

    // Each fixture is in the API exactly once.
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in env.api.releases().unwrap() {
        *counts.entry((r.0, r.1)).or_default() += 1;
    }
    for (name, version) in fixtures {
        assert_eq!(
            counts.get(&(name.to_string(), version.to_string())),
            Some(&1),
            "{counts:?}"
        );
    }
    assert_eq!(counts.len(), fixtures.len(), "{counts:?}");

    let status = env.upgrade(&new, &["status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["deployed_release"], "8.0.0", "{status}");

    // Re-running after success does nothing.
    let again = env.upgrade_ok(&new, &["apply"]);
    assert_eq!(again["outcome"], "nothing-to-do", "{again}");
    assert_eq!(env.snapshot().unwrap(), snapshot);

    // Cleanup removes the old release's containers and keeps the new.
    env.upgrade_ok(&new, &["cleanup"]);
    let containers = env.containers();
    assert_eq!(containers.len(), 12, "{containers:?}");
    assert!(
        containers.keys().all(|n| n.ends_with("-8.0.0")),
        "{containers:?}"
    );
}

#[test]
fn failing_preflight_reports_every_failure_and_changes_nothing() {
    let (env, plan) = deployed_old("preflight");
    let (status, body) = env.api.post(
        "/api/v1/tasks",
        r#"{"name":"deployment","status":"running"}"#,
    );
    assert_eq!(status, 201, "{body}");
    std::fs::remove_file(env.path("var/www/nailgun/docker/images/e2e-8.0.0.tar")).unwrap();
    let text_of_plan = std::fs::read_to_string(&plan).unwrap().replace(
        "can_upgrade_from: [\"7.0.0\"]",
        "can_upgrade_from: [\"6.1\"]",
    );
    let plan = env.plan("plan-8-from-6.yaml", &text_of_plan);
    let start = env.snapshot().unwrap();
    let journal = env.path("var/lib/fuel-upgrade/journal.json");
    let journal_before = std::fs::read(&journal).unwrap();

    for force in [false, true] {
        let args: &[&str] = if force {
            &["apply", "--json", "--force"]
        } else {
            &["apply", "--json"]
        };
        let out = env.upgrade(&plan, args, &[]);
        // 4: nothing changed (2 is the usage code of a wrong command line).
        assert_eq!(out.status.code(), Some(4), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["outcome"], "preflight-failed");
        let checks = report["preflight"].as_array().unwrap();
        let failed: BTreeMap<&str, &serde_json::Value> = checks
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| (c["id"].as_str().unwrap(), c))
            .collect();
        // Every failure at once, each with a message and a remedy.
        for id in ["no-running-tasks", "image-archives", "upgrade-path"] {
            let c = failed
                .get(id)
                .unwrap_or_else(|| panic!("{id} not reported: {report}"));
            assert!(
                !c["message"].as_str().unwrap().is_empty()
                    && !c["remedy"].as_str().unwrap().is_empty(),
                "{c}"
            );
        }
        assert!(failed["no-running-tasks"]["message"]
            .as_str()
            .unwrap()
            .contains("deployment"));
        assert!(failed["image-archives"]["message"]
            .as_str()
            .unwrap()
            .contains("e2e-8.0.0.tar"));
        // --force overrides the skippable check only.
        assert_eq!(failed["upgrade-path"]["overridden"], force);
        assert_eq!(failed["no-running-tasks"]["overridden"], false);
        assert_eq!(failed["image-archives"]["overridden"], false);
        assert_eq!(
            env.snapshot().unwrap(),
            start,
            "a failed preflight changed something (force: {force})"
        );
        assert_eq!(
            std::fs::read(&journal).unwrap(),
            journal_before,
            "a failed preflight rewrote the journal"
        );
    }
}

#[test]
fn second_concurrent_run_refuses_naming_the_holder() {
    let (env, plan) = deployed_old("concurrent");
    let mut first = env
        .upgrade_command(
            &plan,
            &["apply", "-q", "--json"],
            &[("FUEL_UPGRADE_PAUSE_AT", "before:switch")],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let marker = env.path("var/lib/fuel-upgrade/paused");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before pausing"
        );
        assert!(
            Instant::now() < deadline,
            "the first run did not reach before:switch"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let holder = format!("pid {}", first.id());

    let second = env.upgrade(&plan, &["apply", "--json"], &[]);
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    let report: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    let lock = report["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "no-other-upgrade")
        .unwrap()
        .clone();
    assert_eq!(lock["passed"], false);
    let message = lock["message"].as_str().unwrap();
    assert!(
        message.contains(&holder) && message.contains("fuel-upgrade apply"),
        "{message}"
    );

    for command in ["rollback", "resume"] {
        let out = env.upgrade(&plan, &[command], &[]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("another fuel-upgrade run holds") && stderr.contains(&holder),
            "{stderr}"
        );
    }

    std::fs::remove_file(&marker).unwrap();
    let status = first.wait().unwrap();
    assert!(
        status.success(),
        "the first run failed after the pause: {status}"
    );
    let containers = env.containers();
    assert!(
        SERVICES_NEW
            .iter()
            .all(|n| containers.get(*n).map(|c| c.1.as_str()) == Some("running")),
        "{containers:?}"
    );
}

const SERVICES_NEW: [&str; 3] = ["db-8.0.0", "mq-8.0.0", "api-8.0.0"];

#[test]
fn injected_step_error_rolls_back_automatically() {
    let (env, plan) = deployed_old("inject");
    let start = env.snapshot().unwrap();
    let out = env.upgrade(
        &plan,
        &["apply", "--json"],
        &[("FUEL_UPGRADE_FAIL_AT", "files:half")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "rolled-back-after-failure", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("files:half"),
        "{report}"
    );
    let after = env.snapshot().unwrap();
    assert_eq!(
        after,
        start,
        "automatic rollback left:\n{}",
        after.diff(&start)
    );

    // With --no-rollback the changes stay and `resume` finishes the run.
    let out = env.upgrade(
        &plan,
        &["apply", "--json", "--no-rollback"],
        &[("FUEL_UPGRADE_FAIL_AT", "fixtures:unrecorded")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "failed", "{report}");
    let status: serde_json::Value =
        serde_json::from_slice(&env.upgrade(&plan, &["status", "--json"], &[]).stdout).unwrap();
    assert_eq!(status["run_status"], "failed", "{status}");
    let resumed = env.upgrade_ok(&plan, &["resume"]);
    assert_eq!(resumed["outcome"], "applied", "{resumed}");
    let releases = env.api.releases().unwrap();
    assert_eq!(releases.len(), 3, "{releases:?}");
}

#[test]
fn rollback_that_cannot_restore_the_start_says_what_and_fails() {
    let (env, plan) = deployed_old("unrestorable");
    let report = env.upgrade_ok(&plan, &["apply"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    // An old container the rollback would start again is gone.
    let old_db = format!("{}-db-7.0.0", env.namespace);
    run(std::process::Command::new("docker").args(["rm", "-f", &old_db])).unwrap();

    let out = env.upgrade(&plan, &["rollback", "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "rollback-incomplete", "{report}");
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains(&format!("{old_db} is gone"))),
        "{report}"
    );
    // The rest is back: the other old containers run, the new ones are gone.
    let containers = env.containers();
    for old in ["mq-7.0.0", "api-7.0.0"] {
        assert_eq!(containers[old].1, "running", "{containers:?}");
    }
    assert!(
        SERVICES_NEW.iter().all(|n| !containers.contains_key(*n)),
        "{containers:?}"
    );
    // The journal says the rollback is unfinished, so it can be run again.
    let status: serde_json::Value =
        serde_json::from_slice(&env.upgrade(&plan, &["status", "--json"], &[]).stdout).unwrap();
    assert_eq!(status["run_status"], "rolling-back", "{status}");
}

#[test]
fn bad_plan_is_refused_naming_file_line_and_field() {
    let env = Env::new("badplan");
    let plan = env.plan(
        "bad.yaml",
        "release: \"8.0.0\"\ncan_upgrade_from: [\"7.0.0\"]\nservices:\n  - name: db\n    image: {archive: /a.tar, tag: \"x:1\"}\n    helthcheck: {tcp: 1}\n",
    );
    let out = env.upgrade(&plan, &["apply"], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:6", plan.display())) && stderr.contains("helthcheck"),
        "{stderr}"
    );
    assert!(!env.path("var/lib/fuel-upgrade/journal.json").exists());
}
