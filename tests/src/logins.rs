//! A login flood against the packaged fuel-api, for the login tests and
//! `cargo xtask bench api`: wrong-password logins all at once, each from a
//! loopback address of its own (127.0.0.2, 127.0.0.3, …, so the server sees
//! as many clients), while the operator logs in with the right password from
//! 127.0.0.1, the address the harness logged in from when it started the
//! server. What the flood costs the server is read from /proc.

use std::net::Ipv4Addr;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::api::{PackagedApi, USER};
use crate::http::{try_exchange_from, Answer};

/// What one flood did.
#[derive(Debug)]
pub struct Flood {
    /// Every bad login's answer.
    pub bad: Vec<Answer>,
    /// The operator's login, sent while the flood was under way.
    pub valid: Answer,
    pub valid_latency: Duration,
    /// fuel-api's peak resident memory (VmHWM) after the flood, KiB.
    pub peak_rss_kib: u64,
    /// Its resident memory (VmRSS) a second after the flood, KiB.
    pub idle_rss_kib: u64,
}

/// The `n`th flooding address: 127.0.0.2 onwards.
pub fn flood_address(n: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (n / 250) as u8, (2 + n % 250) as u8)
}

/// A login as `user` with `password` from `source`.
pub fn login_from(
    api: &PackagedApi,
    source: Ipv4Addr,
    user: &str,
    password: &str,
) -> Result<Answer> {
    let body = serde_json::json!({"username": user, "password": password}).to_string();
    try_exchange_from(source, api.port, "POST", "/api/v1/auth/tokens", None, &body)
        .with_context(|| format!("login from {source}"))
}

/// `attempts` wrong-password logins as the configured user, all at once, each
/// from its own address; 20 ms after they start, the right `password` from
/// 127.0.0.1.
pub fn flood(api: &PackagedApi, password: &str, attempts: usize) -> Result<Flood> {
    let start = Barrier::new(attempts + 1);
    let (bad, valid) = std::thread::scope(|scope| {
        let flooding: Vec<_> = (0..attempts)
            .map(|n| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    login_from(api, flood_address(n), USER, "not the password")
                })
            })
            .collect();
        start.wait();
        std::thread::sleep(Duration::from_millis(20));
        let began = Instant::now();
        let valid = login_from(api, Ipv4Addr::LOCALHOST, USER, password)
            .map(|answer| (answer, began.elapsed()));
        let bad: Result<Vec<Answer>> = flooding
            .into_iter()
            .map(|t| t.join().expect("a flooding thread panicked"))
            .collect();
        (bad, valid)
    });
    let (valid, valid_latency) = valid?;
    let peak_rss_kib = memory(api, "VmHWM")?;
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss_kib = memory(api, "VmRSS")?;
    Ok(Flood {
        bad: bad?,
        valid,
        valid_latency,
        peak_rss_kib,
        idle_rss_kib,
    })
}

/// A memory figure of fuel-api's /proc/PID/status (`VmHWM`, `VmRSS`), KiB.
pub fn memory(api: &PackagedApi, field: &str) -> Result<u64> {
    let pid = api.pid().context("fuel-api is not running")?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}
