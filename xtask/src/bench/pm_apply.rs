//! `cargo xtask bench pm-apply`: fuel-pm-apply (the release binary) on real
//! node containers of both flavours (the e2e harness's apt and dnf nodes with
//! the test repositories), beside the bare package-manager command making the
//! same change on the same node in the same run.
//!
//! - A 20-package change, fuel-test-bulk-01..20 from 1.0-1 to 2.0-1: the
//!   applier (which also refreshes the metadata, resolves, verifies) against
//!   `apt-get install -y …=2.0-1` / `dnf install -y …-2.0-1`. Interleaved, the
//!   packages reset to 1.0-1 (untimed) before every timed run, median of RUNS.
//!   Target: ratio ≤ 1.2.
//! - A run with nothing to change, for a document of exact versions (no
//!   repository needed) and one of `latest` (metadata refreshed and queried),
//!   beside the bare install command finding nothing to do. Target: ≤ 0.5 s.
//!
//! Times are taken inside the node (date +%s%N around the command), so the
//! docker exec round trip is not counted on either side.

use std::time::Duration;

use anyhow::bail;
use fuel_e2e::node::{Flavour, TestNode};
use xshell::{cmd, Shell};

use super::median;

const RUNS: usize = 11;
const PACKAGES: usize = 20;
const TARGET_RATIO: f64 = 1.2;
const TARGET_NO_CHANGE: Duration = Duration::from_millis(500);
const APPLIER: &str = fuel_node::paths::APPLIER;

pub fn run() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(crate::project_root());
    cmd!(sh, "cargo build --quiet --release -p fuel-pm-apply").run()?;
    out!("\npm-apply: fuel-pm-apply on node containers, median of {RUNS} interleaved runs, timed inside the node:");
    let mut met = true;
    for flavour in [Flavour::Apt, Flavour::Dnf] {
        met &= bench(flavour)?;
    }
    out!(
        "  target (20-package change ≤ {TARGET_RATIO}× the bare command; nothing to change ≤ {} s): {}",
        TARGET_NO_CHANGE.as_secs_f64(),
        if met { "met" } else { "NOT met" }
    );
    Ok(())
}

fn bulk(version: &str, flavour: Flavour) -> Vec<String> {
    (1..=PACKAGES)
        .map(|n| match flavour {
            Flavour::Apt => format!("fuel-test-bulk-{n:02}={version}"),
            Flavour::Dnf => format!("fuel-test-bulk-{n:02}-{version}"),
        })
        .collect()
}

fn document(version: Option<&str>) -> String {
    let mut yaml = String::from("packages:\n");
    for n in 1..=PACKAGES {
        yaml.push_str(&format!("- name: fuel-test-bulk-{n:02}\n"));
        if let Some(v) = version {
            yaml.push_str(&format!("  version: {v}\n"));
        }
    }
    yaml
}

/// Runs `argv` in the node, timed there; its exit code and wall time.
fn timed(node: &TestNode, argv: &[String]) -> anyhow::Result<(i32, Duration)> {
    let mut full = vec![
        "sh".to_string(),
        "-c".to_string(),
        r#"s=$(date +%s%N); "$@" >/tmp/bench.out 2>&1; rc=$?; e=$(date +%s%N); echo "$rc $((e - s))""#.to_string(),
        "sh".to_string(),
    ];
    full.extend_from_slice(argv);
    let args: Vec<&str> = full.iter().map(String::as_str).collect();
    let out = node.exec(&args);
    let said = String::from_utf8_lossy(&out.stdout);
    let mut fields = said.split_whitespace();
    let (Some(rc), Some(ns)) = (fields.next(), fields.next()) else {
        bail!("timing {argv:?} on {}: {said}", node.name());
    };
    Ok((rc.parse()?, Duration::from_nanos(ns.parse()?)))
}

fn expect(node: &TestNode, argv: &[String], codes: &[i32]) -> anyhow::Result<Duration> {
    let (rc, took) = timed(node, argv)?;
    if !codes.contains(&rc) {
        let output = node.sh_ok("cat /tmp/bench.out");
        bail!("{argv:?} on {} exited {rc}:\n{output}", node.name());
    }
    Ok(took)
}

fn bench(flavour: Flavour) -> anyhow::Result<bool> {
    let node = TestNode::start(flavour);
    node.sh_ok("mkdir -p /usr/local/libexec/fuel-pm /etc/hiera");
    node.copy_in(&fuel_e2e::release_binary("fuel-pm-apply"), APPLIER);
    let dir = crate::project_root().join("target/bench/pm-apply");
    std::fs::create_dir_all(&dir)?;
    for (name, yaml) in [
        ("exact.yaml", document(Some("2.0-1"))),
        ("latest.yaml", document(None)),
    ] {
        std::fs::write(dir.join(name), yaml)?;
        node.copy_in(&dir.join(name), &format!("/etc/hiera/{name}"));
    }
    // dnf downgrades on `install name-version` without being told.
    let install: Vec<String> = match flavour {
        Flavour::Apt => vec!["apt-get", "install", "-y", "-q", "--allow-downgrades"],
        Flavour::Dnf => vec!["dnf", "install", "-y", "-q"],
    }
    .into_iter()
    .map(String::from)
    .collect();
    if flavour == Flavour::Apt {
        node.sh_ok("apt-get update -q");
    }
    let reset = [install.clone(), bulk("1.0-1", flavour)].concat();
    let bare = [install.clone(), bulk("2.0-1", flavour)].concat();
    let apply = |file: &str| -> Vec<String> {
        vec![
            APPLIER.into(),
            "--file".into(),
            format!("/etc/hiera/{file}"),
        ]
    };

    // Warm both paths once (package caches, page cache), untimed.
    expect(&node, &reset, &[0])?;
    expect(&node, &apply("exact.yaml"), &[2])?;
    expect(&node, &reset, &[0])?;
    expect(&node, &bare, &[0])?;
    let (mut applier, mut baseline) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        expect(&node, &reset, &[0])?;
        applier.push(expect(&node, &apply("exact.yaml"), &[2])?);
        expect(&node, &reset, &[0])?;
        baseline.push(expect(&node, &bare, &[0])?);
    }
    // Nothing to change; beside it, the bare install finding nothing to do.
    let (mut exact, mut latest, mut idle) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        exact.push(expect(&node, &apply("exact.yaml"), &[0])?);
        latest.push(expect(&node, &apply("latest.yaml"), &[0])?);
        idle.push(expect(&node, &bare, &[0])?);
    }
    let installed = node.sh_ok(match flavour {
        Flavour::Apt => "dpkg-query -W -f='${Version}\\n' 'fuel-test-bulk-*' | sort -u",
        Flavour::Dnf => {
            "rpm -q --qf '%{VERSION}-%{RELEASE}\\n' $(rpm -qa 'fuel-test-bulk-*') | sort -u"
        }
    });
    if installed.trim() != "2.0-1" {
        bail!("after the runs the bulk packages are not all 2.0-1: {installed}");
    }

    let (a, b) = (median(applier), median(baseline));
    let ratio = a.as_secs_f64() / b.as_secs_f64();
    let (e, l, i) = (median(exact), median(latest), median(idle));
    let bare_line = bare[..install.len()].join(" ");
    out!(
        "  {}: 20-package change: fuel-pm-apply {:.0} ms vs `{bare_line} …` {:.0} ms: {ratio:.2}×",
        flavour.as_str(),
        a.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
    );
    out!(
        "  {}: nothing to change: exact versions {:.0} ms, `latest` (metadata refreshed) {:.0} ms ({:.2}× and {:.2}× the 0.5 s budget); the bare install with nothing to do {:.0} ms",
        flavour.as_str(),
        e.as_secs_f64() * 1e3,
        l.as_secs_f64() * 1e3,
        e.as_secs_f64() / TARGET_NO_CHANGE.as_secs_f64(),
        l.as_secs_f64() / TARGET_NO_CHANGE.as_secs_f64(),
        i.as_secs_f64() * 1e3,
    );
    Ok(ratio <= TARGET_RATIO && e <= TARGET_NO_CHANGE && l <= TARGET_NO_CHANGE)
}
