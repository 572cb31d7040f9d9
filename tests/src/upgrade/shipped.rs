//! The shipped 12-service plan, as the fuel-upgrade rpm of a release built
//! from this tree installs it, its image archives, and a master node running
//! 7.0.0 by it with 8.0.0's plan and fixtures ready.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::http::free_port;
use crate::{require_tool, workspace_root};
use fuel_rpm::release::ReleaseBuild;

use super::{build_archive, fixture, run, Env};

pub const TWELVE: [&str; 12] = [
    "postgres",
    "rabbitmq",
    "rsyslog",
    "rsync",
    "keystone",
    "mcollective",
    "cobbler",
    "astute",
    "nailgun",
    "ostf",
    "api",
    "nginx",
];

pub const KILO: (&str, &str) = ("Kilo on CentOS 6.6", "2015.1.0-7.0");

/// The releases 8.0.0's openstack.yaml holds (Kilo is registered by 7.0.0).
pub const FIXTURES_8: [(&str, &str); 3] = [
    KILO,
    ("Liberty on CentOS 7", "liberty-8.0"),
    ("Liberty on Ubuntu 14.04", "liberty-8.0"),
];

pub const ASTUTE: &str = "ADMIN_NETWORK: {ipaddress: 10.20.0.2}\n";

/// The plan the fuel-upgrade rpm of a release ships.
pub struct ShippedPlan {
    pub text: String,
    /// The commit the release set was built from (the plan names it).
    pub commit: String,
}

/// That release's set is built from this tree (as `cargo xtask rpm
/// --fuel-version` builds it), its fuel-upgrade rpm installed into a scratch
/// root by the real rpm, and the installed plan read back.
pub fn shipped_plan(release: &str) -> ShippedPlan {
    let scratch = tempfile::tempdir().unwrap();
    let mut build = ReleaseBuild::for_workspace(&workspace_root()).unwrap();
    build.fuel_version = release.to_string();
    build.out_dir = scratch.path().join("rpms");
    let built = build.build().unwrap();
    let package = built
        .iter()
        .find(|p| p.file_name.starts_with("fuel-upgrade-"))
        .expect("the release set has a fuel-upgrade rpm");
    let root = scratch.path().join("root");
    run(Command::new(require_tool("rpm"))
        .arg("--root")
        .arg(&root)
        .args(["-i", "--nodeps", "--noscripts"])
        .arg(&package.path))
    .unwrap_or_else(|e| panic!("installing the fuel-upgrade rpm: {e:#}"));
    let text = std::fs::read_to_string(root.join("usr/share/fuel-upgrade/plans/upgrade.yaml"))
        .expect("the fuel-upgrade rpm installs /usr/share/fuel-upgrade/plans/upgrade.yaml");
    ShippedPlan {
        text,
        commit: build.commit,
    }
}

/// The `docker save` archives of 7.0.0 and 8.0.0, built once per test process.
pub fn twelve_archives() -> &'static [PathBuf] {
    static ARCHIVES: OnceLock<(tempfile::TempDir, Vec<PathBuf>)> = OnceLock::new();
    &ARCHIVES
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let paths = ["7.0.0", "8.0.0"]
                .iter()
                .map(|release| {
                    let archive = dir.path().join(format!("fuel-images-{release}.tar"));
                    let tags: Vec<String> = TWELVE
                        .iter()
                        .map(|s| format!("fuel/{s}:{release}"))
                        .collect();
                    build_archive(&archive, &tags);
                    archive
                })
                .collect();
            (dir, paths)
        })
        .1
}

/// The plans with each host port the services listen on replaced by a free
/// one (the same in every plan, as a service keeps its port across
/// releases), so several masters on the host network run side by side.
pub fn with_own_ports(plans: &[&str]) -> Vec<String> {
    let mut ports: Vec<String> = plans[0]
        .split("\"-p\", \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(String::from)
        .collect();
    ports.sort();
    ports.dedup();
    assert!(!ports.is_empty(), "the shipped plan publishes no port");
    let mut out: Vec<String> = plans.iter().map(|p| p.to_string()).collect();
    for port in ports {
        let own = free_port();
        for text in &mut out {
            for (from, to) in [
                (format!("\"-p\", \"{port}\""), format!("\"-p\", \"{own}\"")),
                (format!("tcp: {port}"), format!("tcp: {own}")),
                (format!("port: {port}"), format!("port: {own}")),
            ] {
                *text = text.replace(&from, &to);
            }
        }
    }
    out
}

/// The master of `env` running 7.0.0 by the shipped plan (a first
/// installation by fuel-upgrade), then `dnf install fuel-8.0.0` done: the
/// new openstack.yaml in place. Returns the paths of the plans of 7.0.0 and
/// 8.0.0; with `own_ports`, their ports are free ones (`with_own_ports`),
/// else the shipped fixed ones (hold `host_network_lock`).
pub fn deployed_twelve(
    env: &Env,
    old: &ShippedPlan,
    new: &ShippedPlan,
    own_ports: bool,
) -> (PathBuf, PathBuf) {
    let archives: Vec<&std::path::Path> = twelve_archives().iter().map(|a| a.as_path()).collect();
    env.install_archives(&archives);
    env.write("etc/fuel/astute.yaml", ASTUTE, 0o600);
    env.write(
        "usr/share/fuel-openstack-metadata/openstack.yaml",
        &fixture(&[KILO]),
        0o644,
    );
    let plans = if own_ports {
        with_own_ports(&[&old.text, &new.text])
    } else {
        vec![old.text.clone(), new.text.clone()]
    };
    let old = env.plan("upgrade-7.yaml", &plans[0]);
    let new = env.plan("upgrade-8.yaml", &plans[1]);
    let report = env.upgrade_ok(&old, &["apply", "--force"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    env.write(
        "usr/share/fuel-openstack-metadata/openstack.yaml",
        &fixture(&FIXTURES_8),
        0o644,
    );
    (old, new)
}
