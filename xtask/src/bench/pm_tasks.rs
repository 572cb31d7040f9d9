//! `cargo xtask bench pm-tasks`: `fuel node --node … --tasks execute_pm` (the
//! release `fuel` against the release `fuel-api`, which reaches the nodes
//! over SSH) making a one-package change, fuel-test-tool 1.0-1 → 2.0-1, on 1,
//! 5 and 20 apt node containers of the e2e harness.
//!
//! - Wall time of the command (it returns when the task has ended) at each
//!   size, median of RUNS interleaved runs; the nodes are reset to 1.0-1
//!   (untimed, by docker exec) before every run. Target: 20 nodes ≤ 1.5× one.
//! - Baseline in the same run: what an operator does without Fuel, `ssh NODE
//!   'apt-get update && apt-get install -y fuel-test-tool=2.0-1'` over the 20
//!   nodes one after another (the applier refreshes the metadata too).
//! - fuel-api's peak resident memory (VmHWM of /proc/PID/status, reset with
//!   clear_refs before each 20-node run); the ssh client processes it starts
//!   are not counted in it.
//!
//! Every measured run follows an `upload_pm` on all nodes (timed apart), so
//! the one-time copy of the applier to a node is in no run.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fuel_e2e::api::{package_tasks_table, ApiConfig, PackagedApi, USER};
use fuel_e2e::node::{test_ssh_identity, Flavour, TestNode};
use xshell::{cmd, Shell};

use super::median;

const PASSWORD: &str = "bench-password";
const SIZES: [usize; 3] = [1, 5, 20];
const RUNS: usize = 3;
const TARGET_RATIO: f64 = 1.5;
const PACKAGE: &str = "fuel-test-tool";
const DOCUMENT: &str = "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n";

pub fn run() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(crate::project_root());
    cmd!(
        sh,
        "cargo build --quiet --release -p fuel-api -p fuel-cli -p fuel-pm-apply"
    )
    .run()?;
    let work = sh.create_temp_dir()?;
    let (identity, public) = test_ssh_identity();
    let api = PackagedApi::start(
        work.path(),
        &ApiConfig {
            extra: package_tasks_table(32, 600),
            ..ApiConfig::new(PASSWORD)
        },
    )?;
    let pid = api.pid().context("fuel-api is not running")?;

    let nodes = TestNode::start_many(&[Flavour::Apt; 20]);
    for node in &nodes {
        node.authorize(&public);
    }
    set_version(&nodes, "1.0-1", true)?;
    sh.set_var("FUEL_API_URL", &api.url);
    // A token, not a password: each password login makes fuel-api verify
    // an argon2 hash (19 MiB of memory), which is not the task's cost.
    sh.set_var("FUEL_API_TOKEN", &api.token);
    sh.change_dir(work.path());
    let fuel = fuel_e2e::release_binary("fuel");
    let env = create_env(&api)?.to_string();
    for node in &nodes {
        let (hostname, ip, key) = (node.name(), node.ip(), node.host_key());
        quiet(cmd!(sh, "{fuel} node create --hostname {hostname} --ip {ip} --os ubuntu --env {env} --host-key {key}"))?;
    }
    std::fs::write(work.path().join("bench.yaml"), DOCUMENT)?;
    quiet(cmd!(sh, "{fuel} package --env {env} --upload bench.yaml"))?;
    let started = Instant::now();
    quiet(cmd!(sh, "{fuel} node --node 1-20 --tasks upload_pm"))?;
    let first_upload = started.elapsed();

    // Baseline: the same change by hand, node after node.
    let known_hosts = work.path().join("known_hosts");
    let lines: Vec<String> = nodes.iter().map(TestNode::known_hosts_line).collect();
    std::fs::write(&known_hosts, lines.join("\n") + "\n")?;
    let by_hand = format!("apt-get update -q && apt-get install -y -q {PACKAGE}=2.0-1");
    let started = Instant::now();
    for node in &nodes {
        let out = node.ssh(&identity, &known_hosts).arg(&by_hand).output()?;
        if !out.status.success() {
            bail!(
                "ssh {} {by_hand}: {}",
                node.name(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let baseline = started.elapsed();
    check_version(&nodes, "2.0-1")?;

    let mut timings: Vec<Vec<Duration>> = vec![Vec::new(); SIZES.len()];
    let mut peaks_kib = [0; SIZES.len()];
    // Per size: the machine's busy share of its CPUs, fuel-api's CPU seconds.
    let mut machine_busy: Vec<Vec<f64>> = vec![Vec::new(); SIZES.len()];
    let mut master_cpu: Vec<Vec<Duration>> = vec![Vec::new(); SIZES.len()];
    let mut nodes_cpu: Vec<Vec<Duration>> = vec![Vec::new(); SIZES.len()];
    let cgroups = nodes
        .iter()
        .map(cpu_cgroup)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let idle_kib = proc_status_kib(pid, "VmRSS")?;
    for _ in 0..RUNS {
        for (i, size) in SIZES.iter().enumerate() {
            let some = &nodes[..*size];
            set_version(some, "1.0-1", false)?;
            std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
                .context("resetting fuel-api's VmHWM")?;
            let selection = format!("1-{size}");
            let (cpu_before, master_before) = (machine_cpu()?, process_cpu(pid)?);
            let nodes_before = cgroups_cpu(&cgroups[..*size])?;
            let started = Instant::now();
            quiet(cmd!(
                sh,
                "{fuel} node --node {selection} --tasks execute_pm"
            ))?;
            timings[i].push(started.elapsed());
            let cpu_after = machine_cpu()?;
            machine_busy[i]
                .push((cpu_after.0 - cpu_before.0) as f64 / (cpu_after.1 - cpu_before.1) as f64);
            master_cpu[i].push(process_cpu(pid)? - master_before);
            nodes_cpu[i].push(cgroups_cpu(&cgroups[..*size])? - nodes_before);
            peaks_kib[i] = peaks_kib[i].max(proc_status_kib(pid, "VmHWM")?);
            check_version(some, "2.0-1")?;
        }
    }
    let after_kib = proc_status_kib(pid, "VmRSS")?;
    // What one password login adds, for comparison.
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")?;
    let before_login_kib = proc_status_kib(pid, "VmRSS")?;
    let login = format!(r#"{{"username":"{USER}","password":"{PASSWORD}"}}"#);
    let (status, answer) = api.request("POST", "/api/v1/auth/tokens", &login)?;
    if status != 201 {
        bail!("login: {status} {answer}");
    }
    let login_kib = proc_status_kib(pid, "VmHWM")? - before_login_kib;
    drop(api);

    let medians: Vec<Duration> = timings.into_iter().map(median).collect();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let one = medians[0];
    out!(
        "\npm-tasks: `fuel node --node 1-N --tasks execute_pm`, {PACKAGE} 1.0-1 → 2.0-1 on N apt node \
         containers (release fuel + fuel-api over ssh), median of {RUNS} interleaved runs:"
    );
    for (size, took) in SIZES.iter().zip(&medians) {
        out!(
            "  {size:>2} node(s): {:>7.0} ms  ({:.2}× one node)",
            ms(*took),
            took.as_secs_f64() / one.as_secs_f64()
        );
    }
    let twenty = medians[2];
    let ratio = twenty.as_secs_f64() / one.as_secs_f64();
    for (i, size) in SIZES.iter().enumerate() {
        let mut busy = machine_busy[i].clone();
        busy.sort_by(f64::total_cmp);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let work = median(nodes_cpu[i].clone());
        out!(
            "  {size:>2} node(s): the nodes used {:.0} ms of CPU (≥ {:.0} ms of wall time on {cores} cores), \
             fuel-api {:.0} ms; machine CPUs {:.0}% busy (other work included)",
            ms(work),
            ms(work) / cores as f64,
            ms(median(master_cpu[i].clone())),
            busy[busy.len() / 2] * 100.0,
        );
    }
    out!(
        "  baseline: `ssh NODE '{by_hand}'` over the 20 nodes one after another: {:.0} ms \
         ({:.2}× the 20-node task)",
        ms(baseline),
        baseline.as_secs_f64() / twenty.as_secs_f64()
    );
    out!(
        "  first upload_pm on the 20 nodes (document and applier copied): {:.0} ms",
        ms(first_upload)
    );
    let mib = |kib: u64| kib as f64 / 1024.0;
    out!(
        "  fuel-api peak memory (VmHWM) during the 1-, 5- and 20-node runs: {:.1}, {:.1}, {:.1} MiB \
         (VmRSS {:.1} MiB before the runs, {:.1} MiB after them; the CLI used a token: one \
         password login adds {:.1} MiB at its peak)",
        mib(peaks_kib[0]),
        mib(peaks_kib[1]),
        mib(peaks_kib[2]),
        mib(idle_kib),
        mib(after_kib),
        mib(login_kib)
    );
    out!(
        "  target (20 nodes ≤ {TARGET_RATIO}× one node): {} ({ratio:.2}×)",
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}

/// Runs a `fuel` command; its output is shown only when it fails.
pub(super) fn quiet(cmd: xshell::Cmd) -> anyhow::Result<()> {
    let shown = cmd.to_string();
    let out = cmd.quiet().ignore_status().output()?;
    if !out.status.success() {
        bail!(
            "{shown}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A release and an environment of it over HTTP (the CLI does not create
/// environments); the environment's id.
pub(super) fn create_env(api: &PackagedApi) -> anyhow::Result<i64> {
    let created = |path: &str, body: &str| -> anyhow::Result<serde_json::Value> {
        let (status, answer) = api.request("POST", path, body)?;
        if status != 201 {
            bail!("POST {path}: {status} {answer}");
        }
        Ok(serde_json::from_str(&answer)?)
    };
    let release = created(
        "/api/v1/releases",
        r#"{"name":"bench","version":"bench-8.0","operating_system":"Ubuntu"}"#,
    )?;
    let cluster = created(
        "/api/v1/clusters",
        &format!(r#"{{"name":"bench","release_id":{}}}"#, release["id"]),
    )?;
    cluster["id"].as_i64().context("no cluster id")
}

/// Installs `version` of the package on every node at once, by docker exec
/// (untimed set-up); `update` refreshes apt's lists first (they start empty).
fn set_version(nodes: &[TestNode], version: &str, update: bool) -> anyhow::Result<()> {
    let script = format!(
        "{}apt-get install -y -q --allow-downgrades {PACKAGE}={version}",
        if update { "apt-get update -q && " } else { "" }
    );
    std::thread::scope(|scope| {
        let runs: Vec<_> = nodes
            .iter()
            .map(|node| scope.spawn(|| node.sh(&script)))
            .collect();
        for (node, run) in nodes.iter().zip(runs) {
            let out = run.join().expect("docker exec thread");
            if !out.status.success() {
                bail!(
                    "{} {script}: {}",
                    node.name(),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        Ok(())
    })
}

fn check_version(nodes: &[TestNode], version: &str) -> anyhow::Result<()> {
    for node in nodes {
        let installed = node.installed_version(PACKAGE);
        if installed.as_deref() != Some(version) {
            bail!("{}: {PACKAGE} is {installed:?}, not {version}", node.name());
        }
    }
    Ok(())
}

/// The cpuacct.usage file of a node container's cgroup (cgroup v1, as
/// docker on this kind of machine sets it up).
fn cpu_cgroup(node: &TestNode) -> anyhow::Result<std::path::PathBuf> {
    let sh = Shell::new()?;
    let name = node.name();
    let format = "{{.Id}}";
    let id = cmd!(sh, "docker inspect --format {format} {name}")
        .quiet()
        .read()?;
    let path = Path::new("/sys/fs/cgroup/cpuacct/docker")
        .join(id.trim())
        .join("cpuacct.usage");
    if !path.is_file() {
        bail!("{}: no {} (cgroup v1 cpuacct)", name, path.display());
    }
    Ok(path)
}

/// CPU time used so far by the processes of these cgroups.
fn cgroups_cpu(usage_files: &[std::path::PathBuf]) -> anyhow::Result<Duration> {
    let mut total = 0;
    for file in usage_files {
        total += std::fs::read_to_string(file)?.trim().parse::<u64>()?;
    }
    Ok(Duration::from_nanos(total))
}

/// (busy, total) jiffies of all CPUs since boot, from /proc/stat.
fn machine_cpu() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .context("no cpu line in /proc/stat")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// CPU time (user + system) a process has used, from /proc/PID/stat.
pub(super) fn process_cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(") ").context("/proc/PID/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the comm.
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // USER_HZ is 100 on Linux for every architecture this runs on.
    Ok(Duration::from_millis(ticks * 10))
}

/// A `kB` field of /proc/PID/status (VmRSS, VmHWM), in KiB.
pub(super) fn proc_status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}
