//! `cargo xtask bench api`, several processes (issue 20): three release
//! `fuel-api` processes on one PostgreSQL database. The package document's
//! download (`GET`) and upload (`PUT`) driven through all three at once (a
//! wrk per process, the connections split between them) beside the same
//! requests through one process (the same connection count), in the same
//! run; and the time from SIGKILL of the process running a package task to
//! another process holding its lease (median of 5), beside the configured
//! lease. The task's node is a port that accepts connections and never
//! speaks SSH, so the task stays running while it changes hands.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fuel_e2e::api::{ApiConfig, PackagedApi};
use xshell::{cmd, Shell};

use super::api::{document_url, parse_wrk, Figures};

const PASSWORD: &str = "bench-password";
const PROCESSES: usize = 3;
/// Connections in total, one process or three (split 6/5/5).
const CONNECTIONS: u32 = 16;
const LEASE_SECS: u64 = 5;
const TAKEOVERS: usize = 5;
/// Any valid public key: the benchmark's node never shows one.
const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGGC8KKBvWE8j7ahoTcMFjYLjB2NcF/MG72NAlWp0O3K";

/// What [`run`] measured.
pub struct Results {
    load: String,
    baseline: Figures,
    get: (Figures, Figures),
    put: (Figures, Figures),
    takeovers: Vec<Duration>,
}

pub fn run(
    sh: &Shell,
    postgres: &str,
    work: &Path,
    document: &Path,
    put_script: &Path,
) -> anyhow::Result<Results> {
    let database = "fuel_api_bench_processes";
    let drop_db = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
    let create_db = format!("CREATE DATABASE {database}");
    cmd!(sh, "psql {postgres} -q -c {drop_db}").run()?;
    cmd!(sh, "psql {postgres} -q -c {create_db}").run()?;
    let url = fuel_test_bed::database_url(postgres, database);
    let results = measure(sh, &url, work, document, put_script);
    cmd!(sh, "psql {postgres} -q -c {drop_db}").run()?;
    results
}

fn measure(
    sh: &Shell,
    url: &str,
    work: &Path,
    document: &Path,
    put_script: &Path,
) -> anyhow::Result<Results> {
    let mut apis = Vec::new();
    for i in 0..PROCESSES {
        let dir = work.join(format!("process-{i}"));
        std::fs::create_dir_all(&dir)?;
        let config = ApiConfig {
            database_url: Some(url.to_string()),
            extra: format!(
                "[package_tasks]\nlease_secs = {LEASE_SECS}\nconnect_timeout_secs = 600\nnode_timeout_secs = 900\n"
            ),
            ..ApiConfig::new(PASSWORD)
        };
        apis.push(PackagedApi::start(&dir, &config)?);
    }
    let load = std::fs::read_to_string("/proc/loadavg")?
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");

    // A release for the environments; the document uploaded once.
    let (status, answer) = apis[0].request(
        "POST",
        "/api/v1/releases",
        r#"{"name": "Bench", "version": "liberty-8.0", "operating_system": "CentOS"}"#,
    )?;
    if status != 201 {
        bail!("creating the release: {status} {answer}");
    }
    let document_url = document_url(sh, &apis[0].url, &apis[0].token, document)?;
    let path = document_url
        .strip_prefix(&apis[0].url)
        .context("the document's URL")?
        .to_string();
    let live: Vec<String> = apis
        .iter()
        .map(|a| format!("{}/api/health/live", a.url))
        .collect();
    let baseline = wrk_at_once(sh, &live[..1], None, None)?;
    let targets: Vec<(String, String)> = apis
        .iter()
        .map(|a| (format!("{}{path}", a.url), a.token.clone()))
        .collect();
    let get_one = wrk_at_once(sh, &[targets[0].0.clone()], Some(&targets[..1]), None)?;
    let urls: Vec<String> = targets.iter().map(|(u, _)| u.clone()).collect();
    let get_three = wrk_at_once(sh, &urls, Some(&targets), None)?;
    let put_one = wrk_at_once(sh, &urls[..1], Some(&targets[..1]), Some(put_script))?;
    let put_three = wrk_at_once(sh, &urls, Some(&targets), Some(put_script))?;

    let takeovers = takeovers(sh, url, &mut apis)?;
    for api in &mut apis {
        api.stop()?;
    }
    Ok(Results {
        load,
        baseline,
        get: (get_one, get_three),
        put: (put_one, put_three),
        takeovers,
    })
}

/// One wrk per URL, all at once, [`CONNECTIONS`] split between them; the
/// summed requests/s and the worst p99.
fn wrk_at_once(
    sh: &Shell,
    urls: &[String],
    tokens: Option<&[(String, String)]>,
    script: Option<&Path>,
) -> anyhow::Result<Figures> {
    let mut running = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let share = CONNECTIONS / urls.len() as u32
            + u32::from((i as u32) < CONNECTIONS % urls.len() as u32);
        let connections = share.to_string();
        let mut options = Vec::new();
        if let Some(tokens) = tokens {
            options.push("-H".to_string());
            options.push(format!("X-Auth-Token: {}", tokens[i].1));
        }
        if let Some(script) = script {
            options.push("-s".to_string());
            options.push(script.display().to_string());
        }
        let mut command: Command = cmd!(
            sh,
            "wrk -t1 -c{connections} -d10s --latency {options...} {url}"
        )
        .into();
        let child = command
            .stdout(Stdio::piped())
            .spawn()
            .context("starting wrk")?;
        running.push((url, child));
    }
    let mut total = Figures {
        requests_per_sec: 0.0,
        p99_ms: 0.0,
    };
    for (url, child) in running {
        let out = child.wait_with_output()?;
        let figures = parse_wrk(url, &String::from_utf8_lossy(&out.stdout))?;
        total.requests_per_sec += figures.requests_per_sec;
        total.p99_ms = total.p99_ms.max(figures.p99_ms);
    }
    Ok(total)
}

/// [`TAKEOVERS`] times: a task started on one process, that process
/// SIGKILLed, and the time until another holds the task's lease.
fn takeovers(sh: &Shell, url: &str, apis: &mut [PackagedApi]) -> anyhow::Result<Vec<Duration>> {
    let mut silent = Vec::new();
    let mut times = Vec::new();
    for round in 0..TAKEOVERS {
        // Address and port are unique per node: a port of its own.
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        silent.push(listener);
        let owner = round % apis.len();
        let api = &apis[owner];
        let (status, answer) = api.request(
            "POST",
            "/api/v1/clusters",
            &format!(r#"{{"name": "takeover-{round}", "release_id": 1}}"#),
        )?;
        if status != 201 {
            bail!("creating an environment: {status} {answer}");
        }
        let env: serde_json::Value = serde_json::from_str(&answer)?;
        let env = env["id"].as_i64().context("environment id")?;
        let node = serde_json::json!({
            "hostname": format!("takeover-node-{round}"), "ip": "127.0.0.1",
            "ssh_port": port, "os": "ubuntu", "cluster_id": env, "host_key": HOST_KEY,
            // The stand-in node listens on this machine's loopback, which the
            // API refuses unless told the address is meant.
            "allow_local_address": true,
        });
        let (status, answer) = api.request("POST", "/api/v1/nodes", &node.to_string())?;
        if status != 201 {
            bail!("registering a node: {status} {answer}");
        }
        let node: serde_json::Value = serde_json::from_str(&answer)?;
        let document = format!("{}/api/v1/clusters/{env}/package_manipulation", api.url);
        let header = format!("X-Auth-Token: {}", api.token);
        let body = "packages:\n- name: fuel-bench\n";
        cmd!(
            sh,
            "curl -sf -o /dev/null -X PUT -H {header} -H 'Content-Type: application/yaml' --data-binary {body} {document}"
        )
        .quiet()
        .run()?;
        let (status, answer) = api.request(
            "POST",
            &format!("/api/v1/clusters/{env}/deploy_tasks"),
            &format!(r#"{{"nodes": [{}], "tasks": ["upload_pm"]}}"#, node["id"]),
        )?;
        if status != 202 {
            bail!("starting the task: {status} {answer}");
        }
        let task: serde_json::Value = serde_json::from_str(&answer)?;
        let query = format!("SELECT lease_owner FROM tasks WHERE id = {}", task["id"]);
        let holder = || cmd!(sh, "psql {url} -qAt -c {query}").quiet().read();
        let first = holder()?;
        // Killed at a different point of the renewal cycle each round.
        std::thread::sleep(Duration::from_millis(1000 + 370 * round as u64));
        apis[owner].kill();
        let killed = Instant::now();
        loop {
            let now = holder()?;
            if now != first && !now.is_empty() {
                times.push(killed.elapsed());
                break;
            }
            if killed.elapsed() > Duration::from_secs(LEASE_SECS * 4) {
                bail!(
                    "no process took task {} over within {}s",
                    task["id"],
                    LEASE_SECS * 4
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        apis[owner].restart()?;
    }
    drop(silent);
    Ok(times)
}

impl Results {
    pub fn print(&self) {
        out!(
            "\n{PROCESSES} fuel-api processes on one PostgreSQL database beside one, the package document, wrk -t1 at {CONNECTIONS} connections in total, 10 s (load average {}):",
            self.load
        );
        out!(
            "{:<38} {:>10} {:>9} {:>12}",
            "request",
            "req/s",
            "p99 ms",
            "vs one"
        );
        let row = |name: &str, figures: &Figures, base: f64| {
            out!(
                "{:<38} {:>10.0} {:>9.2} {:>11.3}x",
                name,
                figures.requests_per_sec,
                figures.p99_ms,
                figures.requests_per_sec / base
            );
        };
        let baseline = &self.baseline;
        row(
            "GET /api/health/live, one (baseline)",
            baseline,
            baseline.requests_per_sec,
        );
        for (name, (one, three)) in [("GET", &self.get), ("PUT", &self.put)] {
            row(
                &format!("{name} …/package_manipulation, one"),
                one,
                one.requests_per_sec,
            );
            row(
                &format!("{name} …/package_manipulation, {PROCESSES}"),
                three,
                one.requests_per_sec,
            );
        }
        let mut times = self.takeovers.clone();
        times.sort();
        let median = times[times.len() / 2];
        out!(
            "takeover: SIGKILL of the task's process to another holding its lease, median of {} {:.2} s (min {:.2}, max {:.2}), lease_secs = {LEASE_SECS} ({:.2}x the lease)",
            times.len(),
            median.as_secs_f64(),
            times[0].as_secs_f64(),
            times[times.len() - 1].as_secs_f64(),
            median.as_secs_f64() / LEASE_SECS as f64
        );
    }
}
