//! The small plan: three services at two dependency levels, every kind of
//! file action, fixtures with one release present already; and a master
//! running its release 7.0.0 with 8.0.0's plan ready (the crash matrix and
//! the refusal tests).

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{build_archive, Env};

/// Services of the small plan (the crash matrix and the refusal tests).
pub const SERVICES: [&str; 3] = ["db", "mq", "api"];

/// The plan of one release: `new` adds the actions only an upgrade does.
pub fn plan_text(release: &str, upgrades_from: &str, fixtures: &str, new: bool) -> String {
    let mut files = format!(
        r#"  - write: {{path: /etc/fuel/release, content: "{release}\n", mode: "{mode}"}}
  - copy: {{from: /etc/fuel/astute.yaml, to: /etc/fuel/{release}/astute.yaml, mode: "0600", owner: "root:root"}}
  - symlink: {{link: /etc/fuel/current, target: /etc/fuel/{release}}}
"#,
        mode = if new { "0640" } else { "0644" }
    );
    if new {
        files.push_str(&format!("  - move: {{from: /var/lib/fuel/settings.yaml, to: /etc/fuel/{release}/settings.yaml}}\n"));
    }
    format!(
        r#"release: "{release}"
can_upgrade_from: ["{upgrades_from}"]
services:
  - name: db
    image: {{archive: /var/www/nailgun/docker/images/e2e-{release}.tar, tag: "fuel-e2e/db:{release}"}}
    command: ["/bin/busybox", "sleep", "2147483647"]
    healthcheck: {{exec: ["/bin/busybox", "true"], timeout: 30}}
  - name: mq
    image: {{archive: /var/www/nailgun/docker/images/e2e-{release}.tar, tag: "fuel-e2e/mq:{release}"}}
    command: ["/bin/busybox", "httpd", "-f", "-p", "5672", "-h", "/www"]
    healthcheck: {{tcp: 5672, timeout: 30}}
  - name: api
    image: {{archive: /var/www/nailgun/docker/images/e2e-{release}.tar, tag: "fuel-e2e/api:{release}"}}
    command: ["/bin/busybox", "httpd", "-f", "-p", "8000", "-h", "/www"]
    environment: {{RELEASE: "{release}"}}
    depends_on: [db, mq]
    healthcheck: {{http: {{port: 8000, path: /index.html}}, timeout: 30}}
files:
{files}fixtures:
  openstack_yaml: {fixtures}
"#
    )
}

pub fn fixture(releases: &[(&str, &str)]) -> String {
    releases
        .iter()
        .enumerate()
        .map(|(i, (name, version))| {
            format!(
                "- pk: {}\n  model: nailgun.release\n  fields:\n    name: \"{name}\"\n    version: \"{version}\"\n    operating_system: CentOS\n    description: \"{name} on CentOS\"\n    state: available\n",
                i + 1
            )
        })
        .collect()
}

/// Image archives of both releases, built once per test process.
fn archives() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static ARCHIVES: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    ARCHIVES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for release in ["7.0.0", "8.0.0"] {
            let archive = dir.path().join(format!("e2e-{release}.tar"));
            let tags: Vec<String> = SERVICES
                .iter()
                .map(|s| format!("fuel-e2e/{s}:{release}"))
                .collect();
            build_archive(&archive, &tags);
            paths.push(archive);
        }
        let new = paths.pop().unwrap();
        let old = paths.pop().unwrap();
        (dir, old, new)
    })
}

/// A master node running release 7.0.0 (deployed by fuel-upgrade itself, as
/// a first installation), with the 8.0.0 plan ready.
pub fn deployed_old(test: &str) -> (Env, PathBuf) {
    let env = Env::new(test);
    let (_, old_archive, new_archive) = archives();
    env.install_archives(&[old_archive, new_archive]);
    env.write(
        "etc/fuel/astute.yaml",
        "ADMIN_NETWORK: {ipaddress: 10.20.0.2}\n",
        0o600,
    );
    env.write("var/lib/fuel/settings.yaml", "settings: from 7.0\n", 0o644);
    env.write(
        "usr/share/fuel-openstack-metadata/openstack-7.yaml",
        &fixture(&[("Kilo on CentOS 6.6", "2015.1.0-7.0")]),
        0o644,
    );
    env.write(
        "usr/share/fuel-openstack-metadata/openstack.yaml",
        &fixture(&[
            ("Kilo on CentOS 6.6", "2015.1.0-7.0"),
            ("Liberty on CentOS 7", "liberty-8.0"),
            ("Liberty on Ubuntu 14.04", "liberty-8.0"),
        ]),
        0o644,
    );
    let old = env.plan(
        "plan-7.yaml",
        &plan_text(
            "7.0.0",
            "6.1",
            "/usr/share/fuel-openstack-metadata/openstack-7.yaml",
            false,
        ),
    );
    let new = env.plan(
        "plan-8.yaml",
        &plan_text(
            "8.0.0",
            "7.0.0",
            "/usr/share/fuel-openstack-metadata/openstack.yaml",
            true,
        ),
    );
    let report = env.upgrade_ok(&old, &["apply", "--force"]);
    assert_eq!(report["outcome"], "applied", "{report}");
    (env, new)
}
