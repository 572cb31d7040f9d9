//! `cargo xtask test`: the one command that runs every test. It installs the
//! real tools the suite drives (Debian packages) when they are missing, starts
//! the services it needs (dockerd, PostgreSQL), builds the release rpm set and
//! its repository, then runs the whole workspace's tests in release mode (the
//! same binaries the rpms ship).

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use crate::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// Extra arguments passed to `cargo test` (e.g. a test name filter).
    #[arg(trailing_var_arg = true)]
    pub cargo_test_args: Vec<String>,
}

/// (command that must exist, Debian package providing it)
const SYSTEM_TOOLS: &[(&str, &str)] = &[
    ("rpm", "rpm"),
    ("rpmkeys", "rpm"),
    ("rpmbuild", "rpm"),
    ("createrepo_c", "createrepo-c"),
    ("dnf", "dnf"),
    ("rpmlint", "rpmlint"),
    ("dockerd", "docker.io"),
    ("pg_ctlcluster", "postgresql"),
    ("busybox", "busybox-static"),
    ("wrk", "wrk"),
    ("zstd", "zstd"),
    // Node containers (fuel_e2e::node): images, test repositories, SSH.
    ("mmdebstrap", "mmdebstrap"),
    ("dpkg-scanpackages", "dpkg-dev"),
    ("apt-ftparchive", "apt-utils"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
    // `fuel node create` fetches host keys with ssh-keyscan; its test runs a real sshd.
    ("ssh-keyscan", "openssh-client"),
    ("/usr/sbin/sshd", "openssh-server"),
    // The real python-fuelclient runs in a virtualenv of Debian's python3
    // (fuel_e2e::fuelclient); python3-venv ships ensurepip, no command.
    ("/usr/bin/python3", "python3"),
    ("/usr/lib/python3.11/ensurepip/__init__.py", "python3-venv"),
    // The package-task tests count the master's ssh processes with ps.
    ("ps", "procps"),
    // The fleet test reads `fuel`'s terminal output through a pseudo-terminal.
    ("script", "bsdutils"),
    // The benchmarks (not the suite) also use these.
    ("curl", "curl"),
    ("/usr/bin/time", "time"),
    // `cargo xtask bench pm-fleet`'s baselines: the design's pssh and Ansible.
    ("parallel-ssh", "pssh"),
    ("ansible", "ansible-core"),
];

/// The role and database [`start_postgres`] prepares, as the tests see it.
pub use fuel_test_bed::POSTGRES_URL;

pub fn run(args: Args) -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    prepare_test_bed(&sh)?;

    cmd!(sh, "cargo xtask rpm")
        .run()
        .context("building the rpm set")?;
    cmd!(sh, "cargo xtask repo")
        .run()
        .context("writing the repository metadata")?;

    let extra = &args.cargo_test_args;
    // nextest runs each test in its own process (a test that kills its child
    // or changes the process environment cannot disturb another) and releases
    // cargo's build lock while tests run; plain `cargo test` is the fallback.
    let runner = if cmd!(sh, "cargo nextest --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
    {
        cmd!(
            sh,
            "cargo nextest run --release --workspace --no-fail-fast {extra...}"
        )
    } else {
        cmd!(
            sh,
            "cargo test --release --workspace --no-fail-fast {extra...}"
        )
    };
    runner
        .env(fuel_test_bed::POSTGRES_URL_ENV, POSTGRES_URL)
        .run()
        .context("the test suite failed")?;
    Ok(())
}

/// Installs the missing system tools and starts dockerd and PostgreSQL.
pub fn prepare_test_bed(sh: &Shell) -> Result<()> {
    install_system_tools(sh)?;
    start_dockerd(sh)?;
    start_postgres(sh)?;
    prepare_node_fixtures()
}

/// Node images (mmdebstrap, a minute or two the first time, then cached by
/// content) and test repositories, built here once rather than by whichever
/// test process gets the lock first while the others wait.
fn prepare_node_fixtures() -> Result<()> {
    let started = std::time::Instant::now();
    std::panic::catch_unwind(fuel_e2e::node::prepare_fixtures).map_err(|_| {
        anyhow::anyhow!("preparing the node images and test repositories failed (see above)")
    })?;
    eprintln!(
        "node images and test repositories ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn have(sh: &Shell, tool: &str) -> bool {
    // A path names a file a package ships, which need not be a command.
    if tool.starts_with('/') {
        return std::path::Path::new(tool).exists();
    }
    cmd!(sh, "sh -c 'command -v \"$0\"' {tool}")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

fn install_system_tools(sh: &Shell) -> Result<()> {
    let mut missing: Vec<&str> = SYSTEM_TOOLS
        .iter()
        .filter(|(tool, _)| !have(sh, tool))
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("installing missing system packages: {}", missing.join(" "));
    cmd!(sh, "apt-get update -q")
        .run()
        .context("apt-get update")?;
    cmd!(
        sh,
        "apt-get install -y -q --no-install-recommends {missing...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
    .context("installing the suite's system packages (run as root)")?;
    Ok(())
}

/// Whether the Docker engine answers.
fn docker_answers(sh: &Shell) -> bool {
    cmd!(sh, "docker info")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}

fn start_dockerd(sh: &Shell) -> Result<()> {
    if docker_answers(sh) {
        return Ok(());
    }
    eprintln!("starting dockerd");
    cmd!(
        sh,
        "sh -c 'nohup dockerd >/tmp/fuel-test-dockerd.log 2>&1 &'"
    )
    .run()?;
    for _ in 0..60 {
        if docker_answers(sh) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    bail!("dockerd did not come up in 30 s: see /tmp/fuel-test-dockerd.log")
}

fn start_postgres(sh: &Shell) -> Result<()> {
    let clusters = cmd!(sh, "pg_lsclusters --no-header")
        .read()
        .context("pg_lsclusters")?;
    let Some(line) = clusters.lines().next() else {
        bail!("PostgreSQL is installed but has no cluster: run `pg_createcluster --start <version> main`")
    };
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (version, name, status) = (fields[0], fields[1], fields[3]);
    if status != "online" {
        eprintln!("starting PostgreSQL {version}/{name}");
        cmd!(sh, "pg_ctlcluster {version} {name} start").run()?;
    }
    // The suite's role may create databases: each test gets its own.
    let sql = "DO $$ BEGIN \
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fuel') THEN \
               CREATE ROLE fuel LOGIN PASSWORD 'fuel' CREATEDB; END IF; END $$;";
    cmd!(
        sh,
        "runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c {sql}"
    )
    .run()?;
    let query = "SELECT 1 FROM pg_database WHERE datname = 'fuel_test'";
    let exists = cmd!(sh, "runuser -u postgres -- psql -tAc {query}").read()?;
    if exists.trim() != "1" {
        cmd!(sh, "runuser -u postgres -- createdb -O fuel fuel_test").run()?;
    }
    Ok(())
}
