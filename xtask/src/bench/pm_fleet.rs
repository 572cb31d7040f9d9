//! `cargo xtask bench pm-fleet`: package tasks at fleet scale beside what an
//! operator would otherwise type, on the same light nodes (fuel_e2e::fleet:
//! sshd as the container's main process) in the same run, at 50, 100 and
//! 200 nodes (`FUEL_BENCH_FLEET_SIZES=50,100` for fewer), interleaved:
//!
//! - `fuel node --env E --node … --tasks execute_pm` making a one-package
//!   change (fuel-test-tool 1.0-1 → 2.0-1), then again with nothing to change,
//!   fuel-api at `[package_tasks] concurrency` C;
//! - `parallel-ssh -p C -h HOSTS 'apt-get update -q && apt-get install -y
//!   PKG=VER'` (Debian's pssh), change and no change;
//! - `ansible all -f C -m apt -a 'name=PKG=VER update_cache=yes'` (Debian's
//!   ansible-core), change and no change.
//!
//! Each tool runs in a cgroup of its own (fuel-api is moved into one before
//! the runs), so "master CPU" is the tool plus every process it starts
//! (fuel-api's ssh clients, pssh's and Ansible's). Also measured: the nodes'
//! CPU (their containers' cgroups), fuel-api's peak RSS (VmHWM, reset before
//! each run), its open descriptors and the processes of its cgroup at their
//! peak (sampled every 20 ms), bulk registration, and `fuel node` with 1,000
//! registered nodes beside `fuel env`. Nodes are reset to 1.0-1 untimed
//! (docker exec) before each change. Every figure is printed beside its
//! baselines as a ratio, with the load average it ran under.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fuel_e2e::api::{package_tasks_table, ApiConfig, PackagedApi};
use fuel_e2e::fleet::{for_each_node, sh_each, Fleet};
use fuel_e2e::node::test_ssh_identity;
use xshell::{cmd, Shell};

use super::median;
use super::pm_tasks::{create_env, proc_status_kib, process_cpu, quiet};

const PASSWORD: &str = "bench-password";
const SIZES: [usize; 3] = [50, 100, 200];
/// Nodes worked on at once, by every tool.
const CONCURRENCY: usize = 16;
const PACKAGE: &str = "fuel-test-tool";
const DOCUMENT: &str = "packages:\n- name: fuel-test-tool\n  version: 2.0-1\n";
/// Registered nodes when `fuel node` is timed.
const LISTED: usize = 1000;
const LIST_RUNS: usize = 7;

/// What one tool's run cost.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    wall: Duration,
    /// The tool and every process it started (its cgroup).
    master_cpu: Duration,
    /// The nodes' containers.
    nodes_cpu: Duration,
}

/// execute_pm's extra figures.
#[derive(Debug, Clone, Copy, Default)]
struct ApiCost {
    /// fuel-api's own threads.
    own_cpu: Duration,
    /// The `fuel` command following the task.
    cli_cpu: Duration,
    peak_rss_kib: u64,
    peak_fds: usize,
    peak_processes: usize,
}

#[derive(Debug, Default)]
struct Round {
    size: usize,
    load_before: String,
    load_after: String,
    fuel: [Cost; 2],
    fuel_extra: [ApiCost; 2],
    pssh: [Cost; 2],
    ansible: [Cost; 2],
}

pub fn run() -> anyhow::Result<()> {
    let sizes: Vec<usize> = match std::env::var("FUEL_BENCH_FLEET_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()
            .context("FUEL_BENCH_FLEET_SIZES: a comma list of node counts, e.g. 50,100")?,
        Err(_) => SIZES.to_vec(),
    };
    let largest = *sizes.iter().max().context("no fleet size")?;
    let sh = Shell::new()?;
    sh.change_dir(crate::project_root());
    cmd!(
        sh,
        "cargo build --quiet --release -p fuel-api -p fuel-cli -p fuel-pm-apply"
    )
    .run()?;
    let parallel_ssh = fuel_e2e::require_tool("parallel-ssh");
    let ansible = fuel_e2e::require_tool("ansible");
    let work = sh.create_temp_dir()?;
    let (identity, public) = test_ssh_identity();
    let api = PackagedApi::start(
        work.path(),
        &ApiConfig {
            extra: package_tasks_table(CONCURRENCY, 900),
            ..ApiConfig::new(PASSWORD)
        },
    )?;
    let pid = api.pid().context("fuel-api is not running")?;
    let api_group = Cgroup::create("fuel-api")?;
    api_group.adopt(pid)?;
    let cli_group = Cgroup::create("fuel-cli")?;
    let pssh_group = Cgroup::create("pssh")?;
    let ansible_group = Cgroup::create("ansible")?;

    eprintln!("starting {largest} light nodes…");
    let started = Instant::now();
    let fleet = Fleet::start(largest, &public)?;
    eprintln!(
        "{largest} light nodes started in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let node_groups = container_cpu_files(&fleet)?;
    let env = create_env(&api)?;
    let started = Instant::now();
    let (status, answer) = api.request(
        "POST",
        "/api/v1/nodes",
        &fleet
            .registration(env, |_| vec!["compute".into()])
            .to_string(),
    )?;
    let registration = started.elapsed();
    if status != 201 {
        bail!("registering the fleet: {status} {answer}");
    }
    let ids: Vec<i64> = serde_json::from_str::<Vec<serde_json::Value>>(&answer)?
        .iter()
        .map(|n| n["id"].as_i64().context("a node id"))
        .collect::<anyhow::Result<_>>()?;

    sh.set_var("FUEL_API_URL", &api.url);
    sh.set_var("FUEL_API_TOKEN", &api.token);
    sh.change_dir(work.path());
    let fuel = fuel_e2e::release_binary("fuel");
    let listing = time_listing(&sh, &api, &fleet, env, &fuel, largest)?;

    std::fs::write(work.path().join("bench.yaml"), DOCUMENT)?;
    let env_arg = env.to_string();
    quiet(cmd!(
        sh,
        "{fuel} package --env {env_arg} --upload bench.yaml"
    ))?;
    let all = selection(&ids);
    // The one-time copy of the applier to each node is in no measured run.
    quiet(cmd!(
        sh,
        "{fuel} node --env {env_arg} --node {all} --tasks upload_pm"
    ))?;

    let known_hosts = work.path().join("known_hosts");
    fleet.write_known_hosts(&known_hosts)?;
    let ansible_home = work.path().join("ansible-home");
    std::fs::create_dir_all(&ansible_home)?;
    reset(&fleet, largest, true)?;

    let mut rounds = Vec::new();
    for &size in &sizes {
        let mut round = Round {
            size,
            load_before: super::load_average(),
            ..Round::default()
        };
        let some = selection(&ids[..size]);
        let hosts = work.path().join(format!("hosts-{size}"));
        let addresses: Vec<String> = fleet.nodes[..size].iter().map(|n| n.ip.clone()).collect();
        std::fs::write(&hosts, addresses.join("\n") + "\n")?;
        let inventory = work.path().join(format!("inventory-{size}"));
        std::fs::write(&inventory, format!("[fleet]\n{}\n", addresses.join("\n")))?;
        let nodes = &node_groups[..size];

        // execute_pm: change, then nothing to change.
        reset(&fleet, size, false)?;
        for (i, _) in ["change", "no change"].iter().enumerate() {
            std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
                .context("resetting fuel-api's VmHWM")?;
            let own_before = process_cpu(pid)?;
            let cli_before = cli_group.usage()?;
            let sampler = Sampler::start(pid, api_group.clone());
            let script = cli_group.enter_script();
            let cost = measure(&api_group, nodes, || {
                quiet(cmd!(
                    sh,
                    "sh -c {script} sh {fuel} node --env {env_arg} --node {some} --tasks execute_pm"
                ))
            })?;
            let (peak_fds, peak_processes) = sampler.stop();
            round.fuel[i] = cost;
            round.fuel_extra[i] = ApiCost {
                own_cpu: process_cpu(pid)? - own_before,
                cli_cpu: cli_group.usage()? - cli_before,
                peak_rss_kib: proc_status_kib(pid, "VmHWM")?,
                peak_fds,
                peak_processes,
            };
            check_version(&fleet, size, "2.0-1")?;
        }

        // pssh, as the operator types it (the identity and known_hosts given
        // as ssh options, since they are not in ~/.ssh here).
        reset(&fleet, size, false)?;
        let by_hand = format!("apt-get update -q && apt-get install -y -q {PACKAGE}=2.0-1");
        let c = CONCURRENCY.to_string();
        let (kh, id) = (
            known_hosts.display().to_string(),
            identity.display().to_string(),
        );
        for i in 0..2 {
            let script = pssh_group.enter_script();
            round.pssh[i] = measure(&pssh_group, nodes, || {
                quiet(cmd!(
                    sh,
                    "sh -c {script} sh {parallel_ssh} -p {c} -h {hosts} -l root -t 0
                        -O StrictHostKeyChecking=yes -O UserKnownHostsFile={kh}
                        -O GlobalKnownHostsFile=/dev/null -O IdentityFile={id} {by_hand}"
                ))
            })?;
            check_version(&fleet, size, "2.0-1")?;
        }

        // Ansible's apt module, its default connection settings
        // (ControlPersist=60s), a cold control directory per run.
        reset(&fleet, size, false)?;
        let module_args = format!("name={PACKAGE}=2.0-1 update_cache=yes");
        for i in 0..2 {
            let control = work.path().join(format!("ansible-cp-{size}-{i}"));
            std::fs::create_dir_all(&control)?;
            let script = ansible_group.enter_script();
            let ssh_args = format!(
                "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={kh} \
                 -o GlobalKnownHostsFile=/dev/null"
            );
            round.ansible[i] = measure(&ansible_group, nodes, || {
                quiet(
                    cmd!(
                        sh,
                        "sh -c {script} sh {ansible} all -i {inventory} -f {c} -u root
                            --private-key {id} -m apt -a {module_args}"
                    )
                    .env("HOME", &ansible_home)
                    .env("ANSIBLE_HOST_KEY_CHECKING", "True")
                    .env("ANSIBLE_SSH_ARGS", &ssh_args)
                    .env("ANSIBLE_SSH_CONTROL_PATH_DIR", &control)
                    .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3"),
                )
            })?;
            // Its persisted ssh masters would linger for a minute: end them
            // (processes this benchmark started, by their ids).
            ansible_group.kill_all()?;
            check_version(&fleet, size, "2.0-1")?;
        }
        round.load_after = super::load_average();
        print_round(&round);
        rounds.push(round);
    }
    drop(api);
    drop(fleet);
    print_summary(&rounds, registration, largest, &listing);
    Ok(())
}

fn selection(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// Wall time, the cgroup's CPU and the nodes' CPU of one run.
fn measure(
    group: &Cgroup,
    nodes: &[PathBuf],
    run: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<Cost> {
    let (master_before, nodes_before) = (group.usage()?, containers_cpu(nodes)?);
    let started = Instant::now();
    run()?;
    let wall = started.elapsed();
    Ok(Cost {
        wall,
        master_cpu: group.usage()? - master_before,
        nodes_cpu: containers_cpu(nodes)? - nodes_before,
    })
}

/// `fuel node` and `fuel node --env N` with [`LISTED`] nodes registered
/// (the fleet and unreachable ones in another environment), medians beside
/// `fuel env`, one small request through the same CLI start-up.
fn time_listing(
    sh: &Shell,
    api: &PackagedApi,
    fleet: &Fleet,
    env: i64,
    fuel: &Path,
    registered: usize,
) -> anyhow::Result<[Duration; 3]> {
    let other = create_env_named(api, "listing")?;
    let key = &fleet.nodes[0].host_key;
    let extra: Vec<serde_json::Value> = (0..LISTED.saturating_sub(registered))
        .map(|i| {
            serde_json::json!({
                "hostname": format!("listed-{i}"),
                "ip": format!("10.99.{}.{}", i / 250, i % 250 + 1),
                "os": "ubuntu",
                "cluster_id": other,
                "host_key": key,
                "roles": ["compute"],
            })
        })
        .collect();
    let (status, answer) = api.request(
        "POST",
        "/api/v1/nodes",
        &serde_json::Value::Array(extra).to_string(),
    )?;
    if status != 201 {
        bail!("registering the listed nodes: {status} {answer}");
    }
    let env = env.to_string();
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..LIST_RUNS {
        for (i, args) in [vec!["node"], vec!["node", "--env", &env], vec!["env"]]
            .into_iter()
            .enumerate()
        {
            let started = Instant::now();
            quiet(cmd!(sh, "{fuel} {args...}"))?;
            times[i].push(started.elapsed());
        }
    }
    let [a, b, c] = times;
    Ok([median(a), median(b), median(c)])
}

fn create_env_named(api: &PackagedApi, name: &str) -> anyhow::Result<i64> {
    let release =
        format!(r#"{{"name":"{name}","version":"{name}-8.0","operating_system":"Ubuntu"}}"#);
    let (status, answer) = api.request("POST", "/api/v1/releases", &release)?;
    if status != 201 {
        bail!("POST /api/v1/releases: {status} {answer}");
    }
    let release: serde_json::Value = serde_json::from_str(&answer)?;
    let cluster = format!(r#"{{"name":"{name}","release_id":{}}}"#, release["id"]);
    let (status, answer) = api.request("POST", "/api/v1/clusters", &cluster)?;
    if status != 201 {
        bail!("POST /api/v1/clusters: {status} {answer}");
    }
    serde_json::from_str::<serde_json::Value>(&answer)?["id"]
        .as_i64()
        .context("no cluster id")
}

/// The first `size` nodes back at 1.0-1 (untimed); `update` reads apt's
/// lists first (they start empty).
fn reset(fleet: &Fleet, size: usize, update: bool) -> anyhow::Result<()> {
    let script = format!(
        "{}apt-get install -y -q --allow-downgrades {PACKAGE}=1.0-1 >/dev/null",
        if update {
            "apt-get update -q >/dev/null && "
        } else {
            ""
        }
    );
    sh_each(&fleet.nodes[..size], &script, 16)
}

fn check_version(fleet: &Fleet, size: usize, version: &str) -> anyhow::Result<()> {
    for_each_node(&fleet.nodes[..size], 8, |node| {
        match node.installed_version(PACKAGE)? {
            Some(v) if v == version => Ok(()),
            other => bail!("{}: {PACKAGE} is {other:?}, not {version}", node.name),
        }
    })
}

/// A CPU-accounting cgroup of this benchmark (v2, or v1's cpuacct).
#[derive(Debug, Clone)]
struct Cgroup {
    dir: PathBuf,
    v2: bool,
}

impl Cgroup {
    fn create(name: &str) -> anyhow::Result<Cgroup> {
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").is_file();
        let root = if v2 {
            PathBuf::from("/sys/fs/cgroup")
        } else {
            PathBuf::from("/sys/fs/cgroup/cpuacct")
        };
        let dir = root.join(format!("fuel-bench-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating cgroup {} (run as root)", dir.display()))?;
        Ok(Cgroup { dir, v2 })
    }

    fn adopt(&self, pid: u32) -> anyhow::Result<()> {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .with_context(|| format!("moving {pid} into {}", self.dir.display()))
    }

    /// `sh -c SCRIPT sh CMD…` runs CMD inside this cgroup.
    fn enter_script(&self) -> String {
        format!(
            "echo $$ > {}/cgroup.procs && exec \"$@\"",
            self.dir.display()
        )
    }

    fn usage(&self) -> anyhow::Result<Duration> {
        if self.v2 {
            let stat = std::fs::read_to_string(self.dir.join("cpu.stat"))?;
            let usec = stat
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .context("no usage_usec in cpu.stat")?
                .trim()
                .parse()?;
            Ok(Duration::from_micros(usec))
        } else {
            let nanos = std::fs::read_to_string(self.dir.join("cpuacct.usage"))?
                .trim()
                .parse()?;
            Ok(Duration::from_nanos(nanos))
        }
    }

    fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Ends every process left in the cgroup (ones this benchmark started).
    fn kill_all(&self) -> anyhow::Result<()> {
        for pid in self.pids() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
        Ok(())
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Only an empty cgroup can be removed; fuel-api's ends with it.
        if !self.dir.ends_with("fuel-api") || self.pids().is_empty() {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

/// Samples fuel-api's open descriptors and its cgroup's processes.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, usize)>,
}

impl Sampler {
    fn start(pid: u32, group: Cgroup) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut fds, mut processes) = (0, 0);
            while !flag.load(Ordering::SeqCst) {
                let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
                    .map(|d| d.count())
                    .unwrap_or(0);
                fds = fds.max(open);
                processes = processes.max(group.pids().len());
                std::thread::sleep(Duration::from_millis(20));
            }
            (fds, processes)
        });
        Sampler { stop, thread }
    }

    fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

/// Each node container's CPU usage file (cgroup v2 cpu.stat or v1 cpuacct.usage).
fn container_cpu_files(fleet: &Fleet) -> anyhow::Result<Vec<PathBuf>> {
    let sh = Shell::new()?;
    let mut files = Vec::new();
    for chunk in fleet.nodes.chunks(100) {
        let names: Vec<&str> = chunk.iter().map(|n| n.name.as_str()).collect();
        let format = "{{.Id}}";
        let ids = cmd!(sh, "docker inspect --format {format} {names...}")
            .quiet()
            .read()?;
        for id in ids.lines() {
            let v1 = Path::new("/sys/fs/cgroup/cpuacct/docker")
                .join(id)
                .join("cpuacct.usage");
            let v2 = Path::new("/sys/fs/cgroup/system.slice")
                .join(format!("docker-{id}.scope"))
                .join("cpu.stat");
            let v2_plain = Path::new("/sys/fs/cgroup/docker").join(id).join("cpu.stat");
            let found = [v1, v2, v2_plain].into_iter().find(|p| p.is_file());
            files.push(found.with_context(|| format!("no CPU accounting file of container {id}"))?);
        }
    }
    Ok(files)
}

fn containers_cpu(files: &[PathBuf]) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for file in files {
        let text = std::fs::read_to_string(file)?;
        total += if file.ends_with("cpu.stat") {
            let usec: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .context("usage_usec")?
                .trim()
                .parse()?;
            Duration::from_micros(usec)
        } else {
            Duration::from_nanos(text.trim().parse()?)
        };
    }
    Ok(total)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn print_round(r: &Round) {
    let n = r.size as f64;
    out!(
        "\npm-fleet, {} light nodes, concurrency {CONCURRENCY} (load average {} before, {} after):",
        r.size,
        r.load_before,
        r.load_after
    );
    for (i, what) in ["change (1.0-1 → 2.0-1)", "no change"].iter().enumerate() {
        let (f, p, a) = (r.fuel[i], r.pssh[i], r.ansible[i]);
        let extra = r.fuel_extra[i];
        out!("  {what}:");
        out!(
            "    wall: execute_pm {:.1} s, pssh {:.1} s, ansible {:.1} s → {:.2}× pssh, {:.2}× ansible",
            f.wall.as_secs_f64(),
            p.wall.as_secs_f64(),
            a.wall.as_secs_f64(),
            ratio(f.wall, p.wall),
            ratio(f.wall, a.wall)
        );
        out!(
            "    master CPU per node (tool + every process it starts): execute_pm {:.1} ms \
             (fuel-api itself {:.1} ms, its ssh clients {:.1} ms; the following `fuel` {:.1} ms), \
             pssh {:.1} ms, ansible {:.1} ms → {:.2}× pssh, {:.2}× ansible",
            ms(f.master_cpu) / n,
            ms(extra.own_cpu) / n,
            ms(f.master_cpu.saturating_sub(extra.own_cpu)) / n,
            ms(extra.cli_cpu) / n,
            ms(p.master_cpu) / n,
            ms(a.master_cpu) / n,
            ratio(f.master_cpu, p.master_cpu),
            ratio(f.master_cpu, a.master_cpu)
        );
        out!(
            "    nodes' CPU per node: execute_pm {:.1} ms, pssh {:.1} ms, ansible {:.1} ms → {:.2}× pssh",
            ms(f.nodes_cpu) / n,
            ms(p.nodes_cpu) / n,
            ms(a.nodes_cpu) / n,
            ratio(f.nodes_cpu, p.nodes_cpu)
        );
        out!(
            "    fuel-api: peak RSS (VmHWM) {:.1} MiB, at most {} open descriptors and {} processes \
             (fuel-api + its ssh clients) at once",
            extra.peak_rss_kib as f64 / 1024.0,
            extra.peak_fds,
            extra.peak_processes
        );
    }
}

fn print_summary(
    rounds: &[Round],
    registration: Duration,
    registered: usize,
    listing: &[Duration; 3],
) {
    out!(
        "\n  registration: {registered} nodes with their host keys in one POST /api/v1/nodes: {:.0} ms \
         ({:.2} ms a node)",
        ms(registration),
        ms(registration) / registered as f64
    );
    out!(
        "  with {LISTED} nodes registered (median of {LIST_RUNS}): `fuel node` {:.0} ms, \
         `fuel node --env N` {:.0} ms, beside `fuel env` {:.0} ms ({:.2}×, {:.2}×)",
        ms(listing[0]),
        ms(listing[1]),
        ms(listing[2]),
        ratio(listing[0], listing[2]),
        ratio(listing[1], listing[2])
    );
    out!(
        "  target (`fuel node` and `fuel node --env N` < 200 ms with 1,000 nodes registered): {}",
        if listing[0] < Duration::from_millis(200) && listing[1] < Duration::from_millis(200) {
            "met"
        } else {
            "NOT met"
        }
    );
    let (Some(first), Some(last)) = (rounds.first(), rounds.last()) else {
        return;
    };
    let per_node = |r: &Round| ms(r.fuel_extra[0].own_cpu) / r.size as f64;
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    let n = last.size;
    let master = ms(last.fuel[0].master_cpu) / n as f64;
    let rss = last.fuel_extra[0].peak_rss_kib as f64 / 1024.0;
    let to_pssh = |i: usize| ratio(last.fuel[i].wall, last.pssh[i].wall);
    let to_ansible = ratio(last.fuel[0].wall, last.ansible[0].wall);
    out!(
        "  target (execute_pm ≤ 1.0× pssh's wall time for the change at {n} nodes): {} ({:.2}×)",
        met(last.fuel[0].wall <= last.pssh[0].wall),
        to_pssh(0)
    );
    out!(
        "  target (execute_pm ≤ 1.0× pssh's wall time with nothing to change at {n} nodes): {} ({:.2}×)",
        met(last.fuel[1].wall <= last.pssh[1].wall),
        to_pssh(1)
    );
    out!(
        "  target (execute_pm ≤ 0.5× ansible's wall time for the change at {n} nodes): {} ({to_ansible:.2}×)",
        met(to_ansible <= 0.5)
    );
    out!(
        "  target (master CPU ≤ 40 ms a node at {n} nodes): {} ({master:.1} ms)",
        met(master <= 40.0)
    );
    out!(
        "  target (fuel-api peak RSS ≤ 64 MiB at {n} nodes): {} ({rss:.1} MiB)",
        met(last.fuel_extra[0].peak_rss_kib <= 64 * 1024)
    );
    out!(
        "  fuel-api's own CPU a node: {:.2} ms at {} nodes, {:.2} ms at {n} ({:.2}×)",
        per_node(first),
        first.size,
        per_node(last),
        per_node(last) / per_node(first).max(1e-9)
    );
}
