//! `cargo xtask bench upgrade`: service downtime of an upgrade of 12 services
//! (first old container stopped → every new one healthy, as fuel-upgrade
//! measures and reports it), beside the same-run baseline: stopping and
//! starting the same 12 containers one by one with the docker CLI.
//! Image loading and container creation happen in `prepare`, before the
//! window. The machine is shared, so ROUNDS switches alternate 7.0.0 → 8.0.0
//! and back (the way back is the same 12-service switch, forced past the
//! version checks), each right after its own baseline; the median ratio is
//! the figure. Targets: ≤ 3 s, and (issue 21) ≤ 0.5× the baseline.
//!
//! The images are the busybox-static binary in a tiny root file system
//! (fuel_e2e::images, as the upgrade tests build theirs): nothing is pulled.
//! The API is the packaged fuel-api (fuel_e2e::api, as the tests start it).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use fuel_e2e::api::{ApiConfig, PackagedApi};
use fuel_e2e::images;
use xshell::{cmd, Shell};

const TARGET_MS: u64 = 3_000;
/// Issue 21: downtime at most half the docker CLI's stop + start.
const TARGET_RATIO: f64 = 0.5;
/// Odd, for a median; seven because single switches on this shared
/// 2-core machine swing from 0.43x to 0.58x within one run.
const ROUNDS: usize = 7;

pub fn run() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    let root = crate::project_root();
    sh.change_dir(&root);
    let format = "{{.Server.Version}}";
    cmd!(sh, "docker version --format {format}")
        .quiet()
        .ignore_stdout()
        .run()
        .context("the Docker engine does not answer: `cargo xtask test-bed` starts it")?;
    cmd!(sh, "cargo build --release -p fuel-upgrade -p fuel-api").run()?;
    let upgrade = root.join("target/release/fuel-upgrade");
    let work = sh.create_temp_dir()?;
    let master = work.path().join("root");
    let namespace = format!("bench-upgrade-{}", std::process::id());

    // Images of both releases.
    let base = "fuel-bench/busybox:base";
    images::busybox_image(base)?;
    let template = std::fs::read_to_string(root.join("crates/fuel-upgrade/plans/upgrade.yaml"))?;
    // The services of the shipped plan, in its order.
    let services: Vec<String> = template
        .lines()
        .filter_map(|l| l.strip_prefix("  - name: "))
        .map(|n| n.trim().to_string())
        .collect();
    if services.len() != 12 {
        bail!(
            "the shipped plan has {} services, the benchmark expects 12",
            services.len()
        );
    }
    let images_dir = master.join("var/www/nailgun/docker/images");
    std::fs::create_dir_all(&images_dir)?;
    for release in ["7.0.0", "8.0.0"] {
        let tags: Vec<String> = services
            .iter()
            .map(|s| format!("fuel/{s}:{release}"))
            .collect();
        let archive = images_dir.join(format!("fuel-images-{release}.tar"));
        images::save_archive(base, &archive, &tags)?;
    }
    std::fs::create_dir_all(master.join("etc/fuel"))?;
    std::fs::write(
        master.join("etc/fuel/astute.yaml"),
        "ADMIN_NETWORK: {ipaddress: 10.20.0.2}\n",
    )?;
    std::fs::create_dir_all(master.join("usr/share/fuel-openstack-metadata"))?;
    std::fs::write(
        master.join("usr/share/fuel-openstack-metadata/openstack.yaml"),
        "- pk: 1\n  model: nailgun.release\n  fields: {name: Liberty on CentOS 7, version: liberty-8.0, operating_system: CentOS}\n",
    )?;
    // Rendered by the same code and values as `cargo xtask rpm --fuel-version`.
    let render = |release: &str| -> anyhow::Result<String> {
        let mut build = fuel_rpm::release::ReleaseBuild::for_workspace(&root)?;
        build.fuel_version = release.to_string();
        Ok(build.variables().substitute(&template))
    };
    let old_plan = work.path().join("upgrade-7.yaml");
    let new_plan = work.path().join("upgrade-8.yaml");
    std::fs::write(&old_plan, render("7.0.0")?)?;
    std::fs::write(&new_plan, render("8.0.0")?)?;

    let mut api = PackagedApi::start(work.path(), &ApiConfig::new("bench-password"))?;
    let result = measure(
        &sh, &upgrade, &master, &namespace, &api.url, &api.token, &old_plan, &new_plan, &services,
    );
    api.kill();
    let filter = format!("label=org.openstack.fuel.namespace={namespace}");
    let ids = cmd!(sh, "docker ps -aq --filter {filter}").quiet().read()?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        cmd!(sh, "docker rm -f {ids...}")
            .quiet()
            .ignore_stdout()
            .run()?;
    }
    let rounds = result?;
    out!("bench upgrade: 12 services, {ROUNDS} switches 7.0.0 <-> 8.0.0, each beside its own baseline (docker CLI stop + start of the same 12 containers one by one):");
    for (i, (downtime_ms, baseline_ms)) in rounds.iter().enumerate() {
        let (from, to) = if i % 2 == 0 {
            ("7.0.0", "8.0.0")
        } else {
            ("8.0.0", "7.0.0")
        };
        out!(
            "  {from} -> {to}: fuel-upgrade downtime (first old stopped -> every new healthy) {downtime_ms} ms, baseline {baseline_ms} ms, ratio {:.2}",
            *downtime_ms as f64 / (*baseline_ms).max(1) as f64
        );
    }
    let mut ratios: Vec<f64> = rounds
        .iter()
        .map(|(d, b)| *d as f64 / (*b).max(1) as f64)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    let mut downtimes: Vec<u64> = rounds.iter().map(|(d, _)| *d).collect();
    downtimes.sort();
    let downtime_ms = downtimes[downtimes.len() / 2];
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    out!(
        "  target (median downtime <= {TARGET_RATIO}x the docker CLI's stop + start): {} ({median:.2}x); load average {}",
        verdict(median <= TARGET_RATIO),
        super::load_average()
    );
    out!(
        "  target (median downtime <= {TARGET_MS} ms): {} ({downtime_ms} ms)",
        verdict(downtime_ms <= TARGET_MS)
    );
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn measure(
    sh: &Shell,
    upgrade: &Path,
    master: &Path,
    namespace: &str,
    url: &str,
    token: &str,
    old_plan: &Path,
    new_plan: &Path,
    services: &[String],
) -> anyhow::Result<Vec<(u64, u64)>> {
    let common = vec![
        "--root".to_string(),
        master.display().to_string(),
        "--namespace".into(),
        namespace.into(),
        "--api-url".into(),
        url.into(),
        "--api-token".into(),
        token.into(),
        "-q".into(),
        "--json".into(),
    ];
    let deploy_args = common.clone();
    cmd!(
        sh,
        "{upgrade} apply --force --plan {old_plan} {deploy_args...}"
    )
    .quiet()
    .ignore_stdout()
    .run()
    .context("deploying 7.0.0")?;

    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let (running, plan, force) = if round % 2 == 0 {
            ("7.0.0", new_plan, None)
        } else {
            ("8.0.0", old_plan, Some("--force"))
        };
        // Baseline: the running 12 containers, one docker CLI call at a time.
        let names: Vec<String> = services
            .iter()
            .map(|s| format!("{namespace}-{s}-{running}"))
            .collect();
        let started = Instant::now();
        for n in names.iter().rev() {
            cmd!(sh, "docker stop {n}").quiet().ignore_stdout().run()?;
        }
        for n in &names {
            cmd!(sh, "docker start {n}").quiet().ignore_stdout().run()?;
        }
        let baseline_ms = started.elapsed().as_millis() as u64;

        let args = common.clone();
        let report = cmd!(sh, "{upgrade} apply {force...} --plan {plan} {args...}")
            .quiet()
            .read()
            .with_context(|| format!("switching from {running}"))?;
        let report: serde_json::Value =
            serde_json::from_str(&report).context("the report is not JSON")?;
        if report["outcome"] != "applied" {
            bail!("the switch from {running} did not apply: {report}");
        }
        let downtime_ms = report["downtime_ms"]
            .as_u64()
            .context("no downtime in the report")?;
        rounds.push((downtime_ms, baseline_ms));
    }
    Ok(rounds)
}
