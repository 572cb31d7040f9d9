//! Crash safety of fuel-upgrade against a real Docker engine and a real
//! fuel-api: for every fault-injection point the runner lists, a run killed
//! there with SIGKILL is (a) rolled back to exactly the starting state and
//! (b), killed there again, resumed to exactly the state of an uninterrupted
//! run. States are compared with a snapshot, not hand-written expectations.
//! Three services keep the matrix within the suite's time budget (the
//! 12-service upgrade is in upgrade.rs).

mod upgrade_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use upgrade_support::{deployed_old, killed, text, Snapshot, SERVICES};

#[test]
fn every_crash_point_resumes_and_rolls_back_exactly() {
    // The reference: an uninterrupted upgrade.
    let (reference_env, plan) = deployed_old("crash-ref");
    let start: Snapshot = reference_env.snapshot();
    let points = reference_env.upgrade(&plan, &["plan", "--crash-points"], &[]);
    assert!(points.status.success(), "{}", text(&points));
    let points: Vec<String> = String::from_utf8_lossy(&points.stdout)
        .lines()
        .map(String::from)
        .collect();
    for expected in [
        "before:backup",
        "before:switch",
        "switch:half",
        "switch:unrecorded",
        "files:half",
        "fixtures:unrecorded",
        "before:finalize",
        "end",
    ] {
        assert!(
            points.iter().any(|p| p == expected),
            "{expected} missing from {points:?}"
        );
    }
    let report = reference_env.upgrade_ok(&plan, &["apply"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    let upgraded = reference_env.snapshot();
    assert_ne!(start, upgraded);
    assert_eq!(
        upgraded
            .containers
            .values()
            .filter(|(_, state)| state == "running")
            .count(),
        SERVICES.len()
    );
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
    assert!(
        failures.is_empty(),
        "{} of {} crash points failed:\n{}",
        failures.len(),
        points.len(),
        failures.join("\n\n")
    );
}

fn crash_at(point: &str, start: &Snapshot, upgraded: &Snapshot) -> Result<(), String> {
    let test = point.replace([':', '_'], "-");
    let (env, plan) = deployed_old(&test);
    let here = env.snapshot();
    if &here != start {
        return Err(format!(
            "the starting state differs from the reference's:\n{}",
            here.diff(start)
        ));
    }

    // Killed at the point, then `command`: exactly `expected`.
    let recover = |command: &str, expected: &Snapshot, what: &str| -> Result<(), String> {
        let crashed = env.upgrade(
            &plan,
            &["apply", "--json", "-q"],
            &[("FUEL_UPGRADE_CRASH_AT", point)],
        );
        if !killed(&crashed) {
            return Err(format!(
                "the run before {command} was not killed at the point:\n{}",
                text(&crashed)
            ));
        }
        let out = env.upgrade(&plan, &[command, "--json", "-q"], &[]);
        if !out.status.success() {
            return Err(format!("{command} failed:\n{}", text(&out)));
        }
        let after = env.snapshot();
        if &after != expected {
            return Err(format!(
                "{command} did not {what}:\n{}",
                after.diff(expected)
            ));
        }
        Ok(())
    };
    recover("rollback", start, "restore the starting state")?;
    // Killed there again, then resumed: exactly the uninterrupted result.
    recover("resume", upgraded, "reach the uninterrupted result")?;
    Ok(())
}
