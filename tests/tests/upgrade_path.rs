//! The design's upgrade path on a master that runs release N-1, the whole way
//! with the real tools: release sets 7.0.0 and 8.0.0 built by this tree in
//! file:// repositories; a 7.0.0 master installed from them (`rpm -i
//! fuel-release-7.0.0`, `dnf install fuel`, its containers on the Docker
//! engine, fixtures in a real fuel-api); then `rpm -i fuel-release-8.0.0`,
//! the 8.0.0 meta package, `fuel-upgrade`, and `cleanup` or `rollback`.
//! fuel-version is asked at every stage. The ways of installing fuel-release
//! (rpm -i, rpm -U, dnf install ./) and an older fuel-release on a newer
//! master are checked on roots holding fuel-release alone.

use std::fs;

use fuel_e2e::upgrade::path::{
    assert_version, path, release_pair, repo_files_of, repo_files_of_both, Master, ReleaseSet, NEW,
    OLD,
};
use fuel_e2e::upgrade::{host_network_lock, text, Snapshot};

/// Containers of the master running `release`, all of them (and only them) running.
fn assert_running(master: &Master, release: &str) {
    let running: Vec<String> = master
        .containers()
        .into_iter()
        .filter(|(_, (_, state))| state == "running")
        .map(|(name, (image, _))| format!("{name} {image}"))
        .collect();
    assert!(!running.is_empty(), "nothing runs");
    assert!(
        running
            .iter()
            .all(|c| c.ends_with(&format!(":{release}")) && c.contains(&format!("-{release} "))),
        "not all running containers are {release}'s: {running:?}"
    );
}

/// The design's first step: `rpm -i fuel-release-8.0.0` on the 7.0.0 master
/// adds 8.0.0's repositories beside 7.0.0's and trusts its key.
fn add_new_release(master: &Master) {
    let pair = master.pair;
    master.ok(master.rpm(&["-i", path(pair.new.rpm(&pair.new.release_package()))]));
    master.import_key(&pair.new);
    assert_eq!(master.repo_files(), repo_files_of_both());
    assert_eq!(master.issue(), format!("Fuel release {NEW}\n"));
    assert_eq!(
        master.verify(),
        "",
        "rpm -Va after rpm -i fuel-release-{NEW}"
    );
}

/// The meta package of 8.0.0 moved the whole set to 8.0.0; 7.0.0's
/// fuel-release stays until cleanup.
fn assert_new_set_installed(master: &Master) {
    let pair = master.pair;
    let mut expected = pair.new.file_names();
    expected.insert(file_name(&pair.old, &pair.old.release_package()));
    assert_eq!(master.installed(), expected);
    assert_eq!(master.verify(), "", "rpm -Va after the 8.0.0 packages");
}

/// The master's state as the harness snapshots it, less the rpm
/// database (a read-only query may still touch its shared-memory index).
fn state(master: &Master) -> Snapshot {
    let mut snapshot = master.env.snapshot().unwrap();
    snapshot
        .files
        .retain(|path, _| !path.starts_with("root/.rpmdb") && !path.starts_with("var/lib/rpm"));
    snapshot
}

fn file_name(set: &ReleaseSet, package: &str) -> String {
    set.rpm(package)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// Up to the 8.0.0 packages: the design's first two steps, with
/// fuel-version and a premature `fuel-upgrade` asked on the way.
fn master_with_new_packages(test: &str) -> Master {
    let master = Master::running_old(test);
    let pair = master.pair;
    assert_running(&master, OLD);
    assert_version(&master, OLD, &pair.old);

    add_new_release(&master);
    // /etc/fuel-issue names the newest release configured (the design's
    // "release"); the packages, and so the build, are still 7.0.0's.
    assert_version(&master, NEW, &pair.old);

    // fuel-upgrade before the new meta package: its plan is still 7.0.0's.
    let before = state(&master);
    let out = master.upgrade(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let command = format!(
        "`dnf --installroot {} install fuel-{NEW}`",
        master.root().display()
    );
    assert!(
        stderr.contains(&command) && stderr.contains(&format!("fuel-release-{NEW} is installed")),
        "{stderr}"
    );
    assert_eq!(state(&master), before, "the refused run changed something");
    master
}

#[test]
fn the_design_s_commands_upgrade_a_7_0_0_master_and_cleanup_leaves_only_8_0_0() {
    let _ports = host_network_lock();
    let master = master_with_new_packages("path-cleanup");
    let pair = master.pair;

    // The design's second step, as README says it.
    master.ok(master.dnf(&["install", &format!("fuel-{NEW}")]));
    assert_new_set_installed(&master);
    // Before the upgrade runs: the packages are 8.0.0's, the containers 7.0.0's.
    assert_version(&master, NEW, &pair.new);
    assert_running(&master, OLD);

    // The design's third step.
    let report = master.upgrade_json(&[]);
    assert_eq!(report["outcome"], "applied", "{report}");
    assert_eq!(report["from_release"], OLD);
    assert_eq!(report["to_release"], NEW);
    assert_running(&master, NEW);
    assert_version(&master, NEW, &pair.new);
    let status = master.upgrade_json(&["status"]);
    assert_eq!(status["deployed_release"], NEW, "{status}");

    // Cleanup retires 7.0.0: its containers and its fuel-release (so its
    // repositories) go; the rpm database holds exactly the 8.0.0 set.
    master.upgrade_json(&["cleanup"]);
    assert_eq!(master.installed(), pair.new.file_names());
    assert_eq!(master.repo_files(), repo_files_of(NEW));
    assert!(!master
        .path(&format!("etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{OLD}"))
        .exists());
    assert_eq!(master.issue(), format!("Fuel release {NEW}\n"));
    assert_eq!(master.verify(), "", "rpm -Va after cleanup");
    assert_version(&master, NEW, &pair.new);
    let containers = master.containers();
    assert!(
        containers
            .keys()
            .all(|name| name.ends_with(&format!("-{NEW}"))),
        "{containers:?}"
    );
    assert_running(&master, NEW);
    // dnf sees 8.0.0's repositories only.
    let out = master.ok(master.dnf(&["repolist", "--enabled"]));
    let repolist = String::from_utf8_lossy(&out.stdout);
    for repo in ["base", "updates", "security"] {
        assert!(
            repolist.contains(&format!("fuel-{NEW}-{repo}")),
            "{repolist}"
        );
    }
    assert!(!repolist.contains(&format!("fuel-{OLD}-")), "{repolist}");
}

#[test]
fn rollback_leaves_7_0_0_s_repositories_and_dnf_returns_the_7_0_0_set() {
    let _ports = host_network_lock();
    let master = master_with_new_packages("path-rollback");
    let pair = master.pair;
    master.ok(master.dnf(&["upgrade", "fuel"]));
    assert_new_set_installed(&master);
    let report = master.upgrade_json(&[]);
    assert_eq!(report["outcome"], "applied", "{report}");
    assert_running(&master, NEW);

    let out = master.ok(master.upgrade(&["rollback", "--json"]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    assert_running(&master, OLD);
    let status = master.upgrade_json(&["status"]);
    assert_eq!(status["deployed_release"], OLD, "{status}");
    // 7.0.0's repositories stay configured (and 8.0.0's): nothing is erased.
    assert_new_set_installed(&master);
    assert!(master.repo_files().is_superset(&repo_files_of(OLD)));
    // After the rollback fuel-version answers for the installed packages,
    // still 8.0.0's; fuel-upgrade says how to return them.
    assert_version(&master, NEW, &pair.new);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dnf = format!("dnf --installroot {}", master.root().display());
    let downgrade = format!("`{dnf} install fuel-{OLD}`");
    let remove = format!("`{dnf} remove fuel-release-{NEW}`");
    assert!(
        stderr.contains(&downgrade) && stderr.contains(&remove),
        "{stderr}"
    );

    // Those two commands, through the still-configured 7.0.0 repositories.
    master.ok(master.dnf(&["install", &format!("fuel-{OLD}")]));
    master.ok(master.dnf(&["remove", &format!("fuel-release-{NEW}")]));
    assert_eq!(master.installed(), pair.old.file_names());
    assert_eq!(master.repo_files(), repo_files_of(OLD));
    assert_eq!(master.issue(), format!("Fuel release {OLD}\n"));
    assert_eq!(master.verify(), "", "rpm -Va back on 7.0.0");
    assert_version(&master, OLD, &pair.old);
    assert_running(&master, OLD);
}

#[test]
fn an_operator_s_edit_of_the_7_0_0_base_repo_stays_and_8_0_0_s_repositories_are_used() {
    let _ports = host_network_lock();
    let master = Master::running_old("path-edited");
    let pair = master.pair;
    // The operator moved 7.0.0's base repository to a local mirror, as
    // fuel-createmirror users do.
    let mirror = master.env.dir.path().join("mirror");
    copy_dir(&pair.repo.join(OLD).join("base"), &mirror);
    let base = master.path(&format!("etc/yum.repos.d/fuel-{OLD}-base.repo"));
    let shipped = fs::read_to_string(&base).unwrap();
    let edited = shipped
        .lines()
        .map(|line| match line.starts_with("baseurl=") {
            true => format!("# local mirror\nbaseurl=file://{}/", mirror.display()),
            false => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    fs::write(&base, &edited).unwrap();

    // `rpm -U` this time: fuel-release-7.0.0 is not replaced, its edited file
    // is not touched (no .rpmnew, no .rpmsave).
    master.ok(master.rpm(&["-U", path(pair.new.rpm(&pair.new.release_package()))]));
    master.import_key(&pair.new);
    assert_eq!(master.repo_files(), repo_files_of_both());
    assert_eq!(fs::read_to_string(&base).unwrap(), edited);
    assert_eq!(
        master.verify(),
        format!("S.5....T.  c /etc/yum.repos.d/fuel-{OLD}-base.repo\n"),
        "rpm -Va: only the operator's edit"
    );

    // `dnf install fuel` does not upgrade an installed package (README
    // says so); `dnf upgrade fuel` does.
    master.ok(master.dnf(&["install", "fuel"]));
    assert_eq!(master.installed().len(), pair.old.file_names().len() + 1);
    assert!(master.installed().contains(&file_name(&pair.old, "fuel")));
    master.ok(master.dnf(&["upgrade", "fuel"]));
    assert_eq!(fs::read_to_string(&base).unwrap(), edited);
    let mut expected = pair.new.file_names();
    expected.insert(file_name(&pair.old, &pair.old.release_package()));
    assert_eq!(master.installed(), expected);
    // Every 8.0.0 package came from 8.0.0's repositories.
    let out = master.ok(master.dnf(&[
        "repoquery",
        "--installed",
        "--qf",
        "%{name} %{version} %{from_repo}",
    ]));
    let origins = String::from_utf8_lossy(&out.stdout);
    for line in origins.lines().filter(|l| l.contains(&format!(" {NEW} "))) {
        assert!(
            line.ends_with(&format!(" fuel-{NEW}-base")) || line.starts_with("fuel-release-"),
            "{line}\n{origins}"
        );
    }
    assert!(
        origins.contains(&format!("fuel {NEW} fuel-{NEW}-base")),
        "{origins}"
    );

    let report = master.upgrade_json(&[]);
    assert_eq!(report["outcome"], "applied", "{report}");
    assert_running(&master, NEW);
    assert_version(&master, NEW, &pair.new);
    assert_eq!(fs::read_to_string(&base).unwrap(), edited);

    // Cleanup erases fuel-release-7.0.0; rpm keeps the operator's file aside.
    master.upgrade_json(&["cleanup"]);
    assert_eq!(master.installed(), pair.new.file_names());
    let mut left = repo_files_of(NEW);
    left.insert(format!("fuel-{OLD}-base.repo.rpmsave"));
    assert_eq!(master.repo_files(), left);
    assert_eq!(
        fs::read_to_string(master.path(&format!("etc/yum.repos.d/fuel-{OLD}-base.repo.rpmsave")))
            .unwrap(),
        edited
    );
    assert_eq!(master.verify(), "");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn rpm_i_rpm_u_and_dnf_install_of_fuel_release_8_0_0_keep_7_0_0_beside_it() {
    let pair = release_pair();
    for way in ["rpm -i", "rpm -U", "dnf install ./"] {
        let root = bare_root(&pair.old);
        let new_rpm = path(pair.new.rpm(&pair.new.release_package()));
        let out = match way {
            "rpm -i" => bare_rpm(root.path(), &["-i", new_rpm]),
            "rpm -U" => bare_rpm(root.path(), &["-U", new_rpm]),
            _ => bare_dnf(root.path(), &["install", new_rpm]),
        };
        assert!(out.status.success(), "{way}: {}", text(&out));
        let names = bare_names(root.path());
        assert_eq!(
            names,
            [pair.old.release_package(), pair.new.release_package()],
            "{way}"
        );
        assert_eq!(
            fs::read_to_string(root.path().join("etc/fuel-issue")).unwrap(),
            format!("Fuel release {NEW}\n"),
            "{way}"
        );
        let repos: std::collections::BTreeSet<String> =
            fs::read_dir(root.path().join("etc/yum.repos.d"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
        assert_eq!(repos, repo_files_of_both(), "{way}");
        let verify = bare_rpm(root.path(), &["-Va"]);
        assert!(
            verify.status.success() && verify.stdout.is_empty(),
            "{way}: rpm -Va: {}",
            text(&verify)
        );
    }
}

#[test]
fn an_older_fuel_release_on_a_newer_master_adds_its_repositories_and_fuel_issue_stays() {
    let pair = release_pair();
    let root = bare_root(&pair.new);
    let old_rpm = path(pair.old.rpm(&pair.old.release_package()));
    let out = bare_rpm(root.path(), &["-i", old_rpm]);
    assert!(out.status.success(), "{}", text(&out));
    let issue = || fs::read_to_string(root.path().join("etc/fuel-issue")).ok();
    assert_eq!(
        issue(),
        Some(format!("Fuel release {NEW}\n")),
        "went backwards"
    );
    let verify = bare_rpm(root.path(), &["-Va"]);
    assert!(verify.stdout.is_empty(), "{}", text(&verify));

    // Erasing the newest moves it to the next newest; erasing the last removes it.
    let out = bare_rpm(root.path(), &["-e", &pair.new.release_package()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(issue(), Some(format!("Fuel release {OLD}\n")));
    let out = bare_rpm(root.path(), &["-e", &pair.old.release_package()]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(issue(), None);
    assert!(!root.path().join("etc/fuel-issue.d").exists());
    assert_eq!(
        fs::read_dir(root.path().join("etc/yum.repos.d"))
            .unwrap()
            .count(),
        0
    );
}

/// An empty root (no /bin/sh) into which `set`'s fuel-release is installed.
fn bare_root(set: &ReleaseSet) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let out = bare_rpm(root.path(), &["-i", path(set.rpm(&set.release_package()))]);
    assert!(out.status.success(), "{}", text(&out));
    root
}

fn bare_rpm(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(fuel_e2e::require_tool("rpm"))
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

fn bare_dnf(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(fuel_e2e::require_tool("dnf"))
        .arg("--installroot")
        .arg(root)
        .args(["--releasever", NEW, "--disableplugin=*", "-y"])
        .args(args)
        .output()
        .unwrap()
}

fn bare_names(root: &std::path::Path) -> Vec<String> {
    let out = bare_rpm(root, &["-qa", "--qf", "%{NAME}\n"]);
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    names
}
