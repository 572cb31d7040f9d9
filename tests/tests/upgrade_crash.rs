//! Crash safety of fuel-upgrade against a real Docker engine and a real
//! fuel-api: for every fault-injection point the runner lists, a run killed
//! there with SIGKILL is (a) rolled back to exactly the starting state and
//! (b), killed there again, resumed to exactly the state of an uninterrupted
//! run (three services keep that matrix short); and a real apply of the
//! shipped 12-service plan SIGKILLed at random instants and just after each
//! journal action starts, requests in flight, is rolled back or resumed
//! exactly too. States are compared with a snapshot (container ids
//! included), not hand-written expectations.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fuel_e2e::upgrade::shipped::{deployed_twelve, shipped_plan, ShippedPlan};
use fuel_e2e::upgrade::{deployed_old, killed, step_actions, text, Env, Snapshot, SERVICES};

#[test]
fn every_crash_point_resumes_and_rolls_back_exactly() {
    // The reference: an uninterrupted upgrade.
    let (reference_env, plan) = deployed_old("crash-ref");
    let start: Snapshot = reference_env.snapshot().unwrap();
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
    let upgraded = reference_env.snapshot().unwrap();
    assert_ne!(start, upgraded);
    assert_eq!(
        upgraded
            .containers
            .values()
            .filter(|c| c.state == "running")
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
    let here = env.snapshot().map_err(said)?;
    if here.comparable(&here) != start.comparable(start) {
        return Err(format!(
            "the starting state differs from the reference's:\n{}",
            here.comparable(&here).diff(&start.comparable(start))
        ));
    }
    // Rolled back: this environment's own starting state, ids included.
    // Resumed: the reference's upgraded state, with the old containers the
    // very ones that ran here and the new ones created.
    let (rolled_back, resumed) = (here.clone(), upgraded.comparable(start));

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
        env.report(&plan, &[command, "-q"]).map_err(said)?;
        let after = env.snapshot().map_err(said)?.comparable(&here);
        if &after != expected {
            return Err(format!(
                "{command} did not {what}:\n{}",
                after.diff(expected)
            ));
        }
        Ok(())
    };
    recover(
        "rollback",
        &rolled_back.comparable(&here),
        "restore the starting state",
    )?;
    // Killed there again, then resumed: exactly the uninterrupted result.
    recover("resume", &resumed, "reach the uninterrupted result")?;
    Ok(())
}

// SIGKILL at real instants, as a power cut would come: not at the injected
// points above, where no request to the engine is outstanding, but at
// random instants of a real apply of the shipped 12-service plan and just
// after each journal action starts, while its requests are being served.
// Each kill is followed by `rollback` or `resume`, alternately, and the
// state compared exactly with the starting state or the uninterrupted
// result of the same master.

/// Random instants over the measured duration of an apply.
const RANDOM_KILLS: usize = 12;
/// Kills aimed at one action: after its start, the delays in turn until
/// one lands while the action is still in flight.
const AIMED_DELAYS_MS: [u64; 6] = [20, 0, 10, 0, 5, 0];
const MASTERS: usize = 3;

/// A master node of the kill test, with its own ports, its starting state
/// (7.0.0 running) and the result of an uninterrupted upgrade.
struct Master {
    env: Env,
    new: std::path::PathBuf,
    start: Snapshot,
    upgraded: Snapshot,
    apply_ms: u64,
    /// (step, action) of every journal action, in order.
    actions: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy)]
enum Kill {
    /// At this many ms after the start of `apply`.
    At(u64),
    /// This many ms after action N is journaled started.
    AfterStart { action: usize, delay_ms: u64 },
    /// As soon as apply has marked its attempt, before its journal.
    BeforeJournal,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Recovery {
    Rollback,
    Resume,
}

/// One kill's recovery and where the kill landed (or what went wrong).
struct Trial {
    recovery: Recovery,
    result: Result<Landed, String>,
}

/// Where a kill landed, read from the journal it left.
#[derive(Debug, Clone, PartialEq)]
enum Landed {
    /// The apply had not written its journal yet.
    BeforeJournal,
    /// While these actions were journaled started (in flight): the
    /// switch's stops, and then its starts, are started together.
    InFlight(Vec<usize>),
    /// Between actions, or after the run was recorded.
    Between,
    /// The apply finished before the kill.
    Finished,
}

fn setup_master(i: usize, old: &ShippedPlan, new: &ShippedPlan) -> Master {
    let env = Env::new(&format!("kill{i}"));
    let (_, new_plan) = deployed_twelve(&env, old, new, true);
    let start = env.snapshot().unwrap();
    let t = Instant::now();
    let report = env.upgrade_ok(&new_plan, &["apply"]);
    let apply_ms = t.elapsed().as_millis() as u64;
    assert_eq!(report["outcome"], "applied", "{report}");
    let upgraded = env.snapshot().unwrap();
    assert_ne!(start, upgraded);
    // A finished run is rolled back exactly too (what resets every trial).
    let report = env.upgrade_ok(&new_plan, &["rollback"]);
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    let after = env.snapshot().unwrap();
    assert_eq!(
        after,
        start,
        "rollback of a finished run:\n{}",
        after.diff(&start)
    );
    Master {
        actions: step_actions(&report)
            .into_iter()
            .map(|(step, action)| (step, action.replace(&env.namespace, "NS")))
            .collect(),
        env,
        new: new_plan,
        start,
        upgraded,
        apply_ms,
    }
}

/// The journal's run id and each action's status, in order.
fn journal_state(path: &std::path::Path) -> Option<(String, Vec<String>)> {
    let journal: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let statuses = journal["steps"]
        .as_array()?
        .iter()
        .flat_map(|s| s["actions"].as_array().cloned().unwrap_or_default())
        .map(|a| a["status"].as_str().unwrap_or_default().to_string())
        .collect();
    Some((journal["run_id"].as_str()?.to_string(), statuses))
}

/// Runs apply and SIGKILLs it as `kill` says; where it landed.
fn killed_apply(m: &Master, kill: Kill) -> Result<Landed, String> {
    use std::os::unix::fs::MetadataExt;
    let journal = m.env.path("var/lib/fuel-upgrade/journal.json");
    let attempt = m.env.path("var/lib/fuel-upgrade/attempt.json");
    let previous_run = journal_state(&journal).map(|(id, _)| id);
    let previous_attempt = std::fs::read(&attempt).ok();
    let mut child = m
        .env
        .upgrade_command(&m.new, &["apply", "-q", "--json"], &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    let mut seen = None;
    let fire_at = loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break None;
        }
        if t.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            return Err(format!(
                "{kill:?}: the apply did not reach the kill in 120 s"
            ));
        }
        match kill {
            Kill::At(ms) => break Some(t + Duration::from_millis(ms)),
            Kill::BeforeJournal => {
                let marked = std::fs::read(&attempt).ok();
                if marked.is_some() && marked != previous_attempt {
                    break Some(Instant::now());
                }
            }
            Kill::AfterStart { action, delay_ms } => {
                // Parse the journal only when it was replaced (a rename).
                let stamp = std::fs::metadata(&journal)
                    .ok()
                    .map(|m| (m.ino(), m.mtime_nsec()));
                if stamp.is_some() && stamp != seen {
                    seen = stamp;
                    if let Some((run, statuses)) = journal_state(&journal) {
                        let ours = Some(&run) != previous_run.as_ref();
                        if ours && statuses.get(action).is_some_and(|s| s != "pending") {
                            break Some(Instant::now() + Duration::from_millis(delay_ms));
                        }
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_micros(300));
    };
    if let Some(at) = fire_at {
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let _ = child.kill();
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !killed(&out) {
        if out.status.success() {
            return Ok(Landed::Finished);
        }
        return Err(format!("{kill:?}: apply failed:\n{}", text(&out)));
    }
    Ok(match journal_state(&journal) {
        Some((run, _)) if Some(&run) == previous_run.as_ref() => Landed::BeforeJournal,
        None => Landed::BeforeJournal,
        Some((_, statuses)) => {
            let started: Vec<usize> = (0..statuses.len())
                .filter(|&n| statuses[n] == "started")
                .collect();
            if started.is_empty() {
                Landed::Between
            } else {
                Landed::InFlight(started)
            }
        }
    })
}

/// Runs `command` and checks its report; the report.
fn recover_with(m: &Master, command: &str) -> Result<serde_json::Value, String> {
    m.env.report(&m.new, &[command, "-q"]).map_err(said)
}

fn expect_state(m: &Master, expected: &Snapshot, what: &str) -> Result<(), String> {
    m.env
        .snapshot()
        .and_then(|now| now.expect_same(expected, &m.start, what))
        .map_err(said)
}

/// A harness error as this test's failure message (with its causes).
fn said(e: anyhow::Error) -> String {
    format!("{e:#}")
}

/// The report's outcome is `outcome` and its message says `words`.
fn expect_said(report: &serde_json::Value, outcome: &str, words: &str) -> Result<(), String> {
    let said = report["message"].as_str().unwrap_or_default();
    if report["outcome"] == outcome && said.contains(words) {
        Ok(())
    } else {
        Err(format!("expected {outcome}, saying \"{words}\": {report}"))
    }
}

/// One kill and its recovery; the master is back at its starting state after.
fn kill_and_recover(m: &Master, kill: Kill, recovery: Recovery) -> Result<Landed, String> {
    let landed = killed_apply(m, kill)?;
    let context = |e: String| format!("killed {kill:?}, landed {landed:?}, then {recovery:?}: {e}");
    match recovery {
        Recovery::Rollback => {
            let report = recover_with(m, "rollback").map_err(context)?;
            if landed == Landed::BeforeJournal {
                expect_said(&report, "nothing-to-do", "nothing to undo").map_err(context)?;
            }
            expect_state(m, &m.start, "rollback did not restore the starting state")
                .map_err(context)?;
        }
        Recovery::Resume => {
            let report = recover_with(m, "resume").map_err(context)?;
            if landed == Landed::BeforeJournal {
                expect_said(&report, "not-started", "run `fuel-upgrade apply`").map_err(context)?;
                expect_state(
                    m,
                    &m.start,
                    "resume of an apply that changed nothing changed something",
                )
                .map_err(context)?;
                let report = recover_with(m, "apply").map_err(context)?;
                if report["outcome"] != "applied" {
                    return Err(context(format!("apply after it: {report}")));
                }
            }
            expect_state(
                m,
                &m.upgraded,
                "resume did not reach the uninterrupted result",
            )
            .map_err(context)?;
            // Back to the start for the next kill.
            recover_with(m, "rollback").map_err(context)?;
            expect_state(m, &m.start, "rollback of the resumed run").map_err(context)?;
        }
    }
    Ok(landed)
}

/// splitmix64: a seeded sequence, so a failing set of instants can be replayed.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn sigkill_at_any_instant_of_a_real_apply_is_rolled_back_or_resumed_exactly() {
    let seed: u64 = match std::env::var("FUEL_UPGRADE_KILL_SEED") {
        Ok(s) => s.parse().expect("FUEL_UPGRADE_KILL_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    eprintln!("kill instants from seed {seed} (FUEL_UPGRADE_KILL_SEED={seed} replays them)");
    let (old, new) = (shipped_plan("7.0.0"), shipped_plan("8.0.0"));
    let masters: Vec<Master> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..MASTERS)
            .map(|i| {
                let (old, new) = (&old, &new);
                scope.spawn(move || setup_master(i, old, new))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let actions = masters[0].actions.clone();
    assert!(masters.iter().all(|m| m.actions == actions));
    // The fastest master's: a kill later than that may find the run done.
    let apply_ms = masters.iter().map(|m| m.apply_ms).min().unwrap();

    // The queue: each action aimed at (retried until in flight), before
    // the journal, and random instants spread over the apply's duration
    // (one per stratum).
    enum Job {
        Aim(usize),
        /// One kill; with its recovery, or the next in turn.
        Once(Kill, Option<Recovery>),
    }
    let mut jobs: Vec<Job> = (0..actions.len()).map(Job::Aim).collect();
    // Before the journal: once with each recovery.
    jobs.push(Job::Once(Kill::BeforeJournal, Some(Recovery::Rollback)));
    jobs.push(Job::Once(Kill::BeforeJournal, Some(Recovery::Resume)));
    let mut random = seed;
    for i in 0..RANDOM_KILLS {
        let stratum = apply_ms / RANDOM_KILLS as u64;
        let at = i as u64 * stratum + next_random(&mut random) % stratum.max(1);
        jobs.push(Job::Once(Kill::At(at), None));
    }
    let next_job = AtomicUsize::new(0);
    let recoveries = AtomicUsize::new(0);
    let results: Mutex<Vec<Trial>> = Mutex::new(Vec::new());
    let t = Instant::now();
    std::thread::scope(|scope| {
        for m in &masters {
            let (jobs, next_job, recoveries, results, actions) =
                (&jobs, &next_job, &recoveries, &results, &actions);
            scope.spawn(move || {
                while let Some(job) = jobs.get(next_job.fetch_add(1, Ordering::SeqCst)) {
                    let alternate = || {
                        if recoveries.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                            Recovery::Rollback
                        } else {
                            Recovery::Resume
                        }
                    };
                    // An aimed job tries the delays in turn until its action
                    // was in flight at the kill: the switch step's actions
                    // (containers mid-stop, mid-start) once with each recovery,
                    // the others once, with the next recovery in turn.
                    let (kills, mut needed): (Vec<Kill>, Vec<Recovery>) = match job {
                        Job::Aim(action) => (
                            AIMED_DELAYS_MS
                                .iter()
                                .map(|&delay_ms| Kill::AfterStart {
                                    action: *action,
                                    delay_ms,
                                })
                                .collect(),
                            if actions[*action].0 == "switch" {
                                vec![Recovery::Rollback, Recovery::Resume]
                            } else {
                                vec![alternate()]
                            },
                        ),
                        Job::Once(kill, recovery) => {
                            (vec![*kill], vec![recovery.unwrap_or_else(alternate)])
                        }
                    };
                    for kill in kills {
                        let Some(&recovery) = needed.first() else {
                            break;
                        };
                        let result = kill_and_recover(m, kill, recovery);
                        let hit = match (kill, &result) {
                            (Kill::AfterStart { action, .. }, Ok(landed)) => {
                                matches!(landed, Landed::InFlight(a) if a.contains(&action))
                            }
                            (_, Ok(_)) => true,
                            (_, Err(_)) => false,
                        };
                        let failed = result.is_err();
                        results.lock().unwrap().push(Trial { recovery, result });
                        if failed {
                            break;
                        }
                        if hit {
                            needed.remove(0);
                        }
                    }
                    if results.lock().unwrap().iter().any(|r| r.result.is_err()) {
                        break; // this master's state is unknown now
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap();

    // What the kills hit, for the record and for the coverage check.
    let mut hits = vec![0usize; actions.len()];
    let (mut before_journal, mut between, mut finished) = (0, 0, 0);
    for r in &results {
        match &r.result {
            Ok(Landed::InFlight(started)) => started.iter().for_each(|&n| hits[n] += 1),
            Ok(Landed::BeforeJournal) => before_journal += 1,
            Ok(Landed::Between) => between += 1,
            Ok(Landed::Finished) => finished += 1,
            Err(_) => {}
        }
    }
    let rollbacks = results
        .iter()
        .filter(|r| r.recovery == Recovery::Rollback)
        .count();
    eprintln!(
        "{} kills in {:.0} s ({} masters, apply {} ms): {rollbacks} rolled back, {} resumed; {before_journal} before the journal, {between} between actions, {finished} after the run finished",
        results.len(),
        t.elapsed().as_secs_f64(),
        MASTERS,
        apply_ms,
        results.len() - rollbacks,
    );
    for (n, (step, action)) in actions.iter().enumerate() {
        eprintln!("  in flight {:>2}x  {step}: {action}", hits[n]);
    }
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.result.as_ref().err().cloned())
        .collect();
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {} kills were not recovered exactly:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n\n")
    );
    let missed: Vec<String> = actions
        .iter()
        .zip(&hits)
        .filter(|(_, h)| **h == 0)
        .map(|((step, action), _)| format!("{step}: {action}"))
        .collect();
    assert!(
        missed.is_empty(),
        "seed {seed}: no kill landed while these actions were in flight:\n{}",
        missed.join("\n")
    );
    assert!(
        before_journal >= 2,
        "seed {seed}: the kills aimed before the journal landed after it"
    );
}
