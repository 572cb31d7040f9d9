//! `cargo xtask bench version`: `fuel-version --root R --format json` (the
//! release binary) on an install root holding 500 small packages, beside the
//! bare query it cannot avoid, `rpm --root R -qa --qf '%{NAME}\n'`, measured in
//! the same run, interleaved, median of RUNS each. Target: at most 1.2× the
//! bare query (fuel-version runs one rpm process whatever the package count).
//!
//! The root is built once by the e2e harness (fuel_e2e::install_root: fuel-rpm's
//! builder and `rpm --root R -i`), and cached under target/bench/version/
//! (rebuilt when its marker is missing).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use fuel_e2e::install_root::{self, small_package};
use fuel_rpm::PackageDef;
use xshell::{cmd, Shell};

const PACKAGES: usize = 500;
const RUNS: usize = 20;
const WARMUP: usize = 2;
const TARGET_RATIO: f64 = 1.2;
/// Names the content of a cached root; change it when the package set changes.
const ROOT_MARKER: &str = "fuel-version-bench-root-v2";

pub fn run() -> anyhow::Result<()> {
    let sh = Shell::new()?;
    let root = crate::project_root();
    sh.change_dir(&root);
    cmd!(sh, "sh -c 'command -v rpm'")
        .quiet()
        .ignore_stdout()
        .run()
        .context("rpm is missing: `apt-get install rpm` (or `cargo xtask test-bed`)")?;
    cmd!(sh, "cargo build --quiet --release -p fuel-version").run()?;
    let binary = root.join("target/release/fuel-version");
    let install_root = ensure_root(&root.join("target/bench/version"))?;

    let rpm_qa = || {
        let mut c = Command::new("rpm");
        c.arg("--root")
            .arg(&install_root)
            .args(["-qa", "--qf", "%{NAME}\\n"]);
        c
    };
    // The same query told where the database is: on Debian, rpm otherwise
    // evaluates its default %_dbpath by running bash, which fuel-version avoids.
    let dbpath = fuel_version::database_candidates(&install_root)
        .into_iter()
        .find(|d| d.join("rpmdb.sqlite").is_file())
        .context("no rpm database in the bench root: delete it to rebuild")?;
    let dbpath = Path::new("/").join(dbpath.strip_prefix(&install_root)?);
    let rpm_qa_dbpath = || {
        let mut c = rpm_qa();
        c.arg("--dbpath").arg(&dbpath);
        c
    };
    let fuel_version = || {
        let mut c = Command::new(&binary);
        c.arg("--root")
            .arg(&install_root)
            .args(["--format", "json"]);
        c
    };
    // Sanity before timing: both see the same packages, fuel-version answers.
    let listed = String::from_utf8(rpm_qa().output()?.stdout)?
        .lines()
        .count();
    if listed != PACKAGES {
        bail!(
            "{} holds {listed} packages, expected {PACKAGES}: delete it to rebuild",
            install_root.display()
        );
    }
    let out = fuel_version().output()?;
    if !out.status.success() {
        bail!(
            "fuel-version on the bench root: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut bare = Vec::with_capacity(RUNS);
    let mut bare_dbpath = Vec::with_capacity(RUNS);
    let mut ours = Vec::with_capacity(RUNS);
    // Interleaved, so that drift on the shared machine hits all alike.
    for i in 0..WARMUP + RUNS {
        let b = time(rpm_qa())?;
        let d = time(rpm_qa_dbpath())?;
        let o = time(fuel_version())?;
        if i >= WARMUP {
            bare.push(b);
            bare_dbpath.push(d);
            ours.push(o);
        }
    }
    let (bare, bare_dbpath, ours) = (median(bare), median(bare_dbpath), median(ours));
    let ratio = ours.as_secs_f64() / bare.as_secs_f64();
    let row = |name: &str, d: Duration| {
        out!(
            "  {name:<58} {:>8.2} ms   {:.2}x",
            ms(d),
            d.as_secs_f64() / bare.as_secs_f64()
        )
    };
    out!("\nversion: install root with {PACKAGES} packages, median of {RUNS} runs each (interleaved):");
    row("rpm --root R -qa --qf '%{NAME}\\n' (baseline)", bare);
    row(
        &format!(
            "rpm --root R --dbpath {} -qa --qf '%{{NAME}}\\n'",
            dbpath.display()
        ),
        bare_dbpath,
    );
    row("fuel-version --root R --format json", ours);
    out!(
        "  fuel-version / rpm with --dbpath: {:.2}x",
        ours.as_secs_f64() / bare_dbpath.as_secs_f64()
    );
    let verdict = if ratio <= TARGET_RATIO {
        "met"
    } else {
        "NOT met"
    };
    out!("  target (at most {TARGET_RATIO}x the bare query): {verdict}");
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Wall time of one run (it must succeed).
fn time(mut command: Command) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let out = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!(
            "{command:?}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(elapsed)
}

/// The cached install root: built in a temporary directory, renamed into place
/// once complete, so an interrupted build is never mistaken for a root.
fn ensure_root(work: &Path) -> anyhow::Result<PathBuf> {
    let root = work.join("root");
    if root.join(ROOT_MARKER).is_file() {
        return Ok(root);
    }
    out!("building the bench root: {PACKAGES} packages with fuel-rpm, installed with rpm --root …");
    let building = work.join("root.building");
    for dir in [&building, &root] {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    fs::create_dir_all(&building)?;
    install_root::install(&building, &package_set())?;
    fs::write(building.join(ROOT_MARKER), "")?;
    fs::rename(&building, &root)?;
    Ok(root)
}

/// The Fuel set (so that every field has an answer) plus small filler
/// packages up to PACKAGES, each with one file and a VCS commit.
fn package_set() -> Vec<PackageDef> {
    let commit = "68871248453b432ecca0cca5a43ef0aad6079c39";
    let stamp = format!("BUILD_NUMBER=82\nBUILD_ID=2015-07-23_10-59-34\nBUILD_COMMIT={commit}\n");
    let fuel: [(&str, &str, &str); 9] = [
        ("fuel-release", "/etc/fuel-issue", "Fuel release 8.0.0\n"),
        (
            "fuel-openstack-metadata",
            "/etc/fuel_openstack_version",
            "liberty-8.0\n",
        ),
        ("fuel", "/etc/fuel-buildstamp", &stamp),
        (
            "fuel-nailgun",
            "/etc/nailgun/settings.yaml",
            "PRODUCTION: docker\nFEATURE_GROUPS: [mirantis]\n",
        ),
        (
            "python-fuelclient",
            "/usr/share/doc/python-fuelclient/README",
            "fuel client\n",
        ),
        (
            "fuel-agent",
            "/usr/share/doc/fuel-agent/README",
            "fuel agent\n",
        ),
        ("astute", "/usr/share/doc/astute/README", "astute\n"),
        (
            "fuel-library8.0",
            "/usr/share/doc/fuel-library8.0/README",
            "fuel library\n",
        ),
        ("fuel-ostf", "/usr/share/doc/fuel-ostf/README", "ostf\n"),
    ];
    let mut set: Vec<PackageDef> = fuel
        .iter()
        .map(|(name, dest, contents)| {
            small_package(name, "8.0.0", "1", commit, &[(dest, contents)])
        })
        .collect();
    for i in set.len()..PACKAGES {
        let name = format!("bench-filler-{i:03}");
        let dest = format!("/usr/share/{name}/data.txt");
        set.push(small_package(
            &name,
            "8.0.0",
            "1",
            commit,
            &[(&dest, &format!("{name}\n"))],
        ));
    }
    set
}
