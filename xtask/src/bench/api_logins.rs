//! `cargo xtask bench api`, its login part (issue 17): 200 wrong-password
//! logins at once from 200 loopback addresses against the release fuel-api
//! on SQLite, while the operator logs in from the address they used before.
//! Figures: fuel-api's peak RSS (VmHWM) through the flood beside its peak
//! after the same run's health-endpoint baseline (wrk, 16 connections, 10 s),
//! and the valid login's latency during the flood beside the same login
//! alone; with the load average the machine ran under.

use anyhow::{ensure, Context};
use fuel_e2e::api::{ApiConfig, PackagedApi, USER};
use fuel_e2e::logins::{flood, login_from, memory};
use xshell::{cmd, Shell};

const PASSWORD: &str = "bench-login-password";
const ATTEMPTS: usize = 200;
/// Valid logins timed alone (the median is the baseline).
const ALONE: usize = 5;

pub fn run(sh: &Shell, dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let server = PackagedApi::start(dir, &ApiConfig::new(PASSWORD))?;
    let live = format!("{}/api/health/live", server.url);
    let health = cmd!(sh, "wrk -t2 -c16 -d10s --latency {live}")
        .quiet()
        .read()
        .context("wrk on the health endpoint")?;
    ensure!(
        health.contains("Requests/sec"),
        "wrk said nothing useful:\n{health}"
    );
    let health_peak = memory(&server, "VmHWM")?;
    let mut alone = Vec::new();
    for _ in 0..ALONE {
        let began = std::time::Instant::now();
        let answer = login_from(&server, std::net::Ipv4Addr::LOCALHOST, USER, PASSWORD)?;
        ensure!(answer.status == 201, "a valid login answered {answer:?}");
        alone.push(began.elapsed());
    }
    alone.sort();
    let alone = alone[ALONE / 2];
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let flooded = flood(&server, PASSWORD, ATTEMPTS)?;
    ensure!(
        flooded.valid.status == 201,
        "the valid login during the flood answered {:?}",
        flooded.valid
    );
    let slowed = flooded.bad.iter().filter(|a| a.status == 429).count();
    let refused = flooded.bad.iter().filter(|a| a.status == 401).count();
    let mib = |kib: u64| kib as f64 / 1024.0;
    out!(
        "\nlogin flood: {ATTEMPTS} wrong-password logins at once from {ATTEMPTS} addresses (SQLite), load average {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    out!(
        "{:<46} {:>12} {:>16} {:>12}",
        "measure",
        "flood",
        "baseline",
        "ratio"
    );
    out!(
        "{:<46} {:>9.1} MiB {:>12.1} MiB {:>11.2}x",
        "fuel-api peak RSS (VmHWM) vs after health wrk",
        mib(flooded.peak_rss_kib),
        mib(health_peak),
        flooded.peak_rss_kib as f64 / health_peak as f64
    );
    out!(
        "{:<46} {:>9.0} ms {:>13.0} ms {:>11.2}x",
        "valid login latency vs the same login alone",
        flooded.valid_latency.as_secs_f64() * 1000.0,
        alone.as_secs_f64() * 1000.0,
        flooded.valid_latency.as_secs_f64() / alone.as_secs_f64()
    );
    out!(
        "fuel-api RSS a second after the flood: {:.1} MiB; bad logins checked and refused (401): {refused}, slowed (429): {slowed}",
        mib(flooded.idle_rss_kib)
    );
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    out!(
        "target (fuel-api peak RSS during a login flood < 64 MiB): {} ({:.1} MiB)",
        verdict(flooded.peak_rss_kib < 64 * 1024),
        mib(flooded.peak_rss_kib)
    );
    out!(
        "target (a valid login during the flood < 1 s): {} ({:.0} ms)",
        verdict(flooded.valid_latency.as_secs() < 1),
        flooded.valid_latency.as_secs_f64() * 1000.0
    );
    Ok(())
}
