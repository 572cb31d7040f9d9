//! `fuel-version` against real rpm databases: install roots filled with
//! `rpm --root R -i` from packages built by the workspace's own builder, and
//! hand-written malformed files. Drives the release binary, as the rpm ships it.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fuel_e2e::install_root::{install, small_package};
use fuel_e2e::{release_binary, require_tool};
use fuel_rpm::PackageDef;
use fuel_version::{ShaOrigin, Source, VersionReport};

const EXIT_COMPLETE: i32 = 0;
const EXIT_FAILED: i32 = 1;
const EXIT_INCOMPLETE: i32 = 3;

const NAILGUN_SHA: &str = "d1087923e45b0e6d946ce48cb05a71733e1ac113";
const AGENT_SHA: &str = "bc25d3b728e823e6154bac0442f6b88747ac48e1";
const LIBRARY_SHA: &str = "58d94955479aee4b09c2b658d90f57083e668ce4";
const OSTF_SHA: &str = "94a483c8aba639be3b96616c1396ef290dcc00cd";
const FUELMAIN_SHA: &str = "68871248453b432ecca0cca5a43ef0aad6079c39";

/// The keys of the example /etc/fuel/version.yaml in the design document
/// (shared/seeds/000_*.txt), which scripts still parse.
const OLD_VERSION_YAML_KEYS: [&str; 15] = [
    "feature_groups",
    "production",
    "release",
    "openstack_version",
    "api",
    "build_number",
    "build_id",
    "nailgun_sha",
    "python-fuelclient_sha",
    "fuel-agent_sha",
    "astute_sha",
    "fuel-library_sha",
    "fuel-ostf_sha",
    "fuelmain_sha",
    // the mapping itself
    "VERSION",
];

/// Nailgun's fixture layout, with the anchors and merge keys the real file uses.
const OPENSTACK_YAML: &str = r#"- &base_release
  pk: 1
  extend: null
  model: nailgun.release
  fields: &base_fields
    name: "Liberty on CentOS 7"
    version: "liberty-8.0"
    operating_system: "CentOS"
    description: "OpenStack Liberty packages"
    state: "available"
- pk: 2
  model: nailgun.release
  fields:
    <<: *base_fields
    name: "Liberty on Ubuntu 14.04"
    operating_system: "Ubuntu"
"#;

/// The Fuel set of the old file's example, each kind of sha provenance:
/// VCS tag (nailgun, fuel-library8.0, fuel, fuel-ostf), VCS tag holding a URL
/// with the commit (fuel-agent), commit only in the release (python-fuelclient),
/// neither (astute).
fn fuel_set() -> Vec<PackageDef> {
    vec![
        small_package(
            "fuel-release",
            "8.0.0",
            "1",
            FUELMAIN_SHA,
            &[("/etc/fuel-issue", "Fuel release 8.0.0\n")],
        ),
        small_package(
            "fuel-openstack-metadata",
            "8.0.0",
            "1",
            FUELMAIN_SHA,
            &[(
                "/usr/share/fuel-openstack-metadata/openstack.yaml",
                OPENSTACK_YAML,
            )],
        ),
        small_package(
            "fuel",
            "8.0.0",
            "1",
            FUELMAIN_SHA,
            &[(
                "/etc/fuel-buildstamp",
                &format!(
                    "BUILD_NUMBER=82\nBUILD_ID=2015-07-23_10-59-34\nBUILD_COMMIT={FUELMAIN_SHA}\n"
                ),
            )],
        ),
        small_package("fuel-nailgun", "8.0.0", "1", NAILGUN_SHA, &[]),
        small_package("python-fuelclient", "8.0.0", "1.git471948c.el7", "", &[]),
        small_package(
            "fuel-agent",
            "8.0.0",
            "1",
            &format!("git+https://git.openstack.org/openstack/fuel-agent#{AGENT_SHA}"),
            &[],
        ),
        small_package(
            "astute",
            "8.0.0",
            "1.el7",
            "https://git.openstack.org/openstack/fuel-astute",
            &[],
        ),
        small_package("fuel-library8.0", "8.0.0", "1", LIBRARY_SHA, &[]),
        small_package("fuel-ostf", "8.0.0", "1", OSTF_SHA, &[]),
    ]
}

fn fuel_version(args: &[&str]) -> Output {
    Command::new(release_binary("fuel-version"))
        .args(args)
        .output()
        .expect("running fuel-version")
}

fn run_on(root: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    fuel_version(&all)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn write(root: &Path, file: &str, contents: &str) {
    let path = root.join(file.trim_start_matches('/'));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// A root holding the Fuel set, installed with rpm.
fn installed_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    install(root.path(), &fuel_set()).unwrap_or_else(|e| panic!("{e:#}"));
    root
}

#[test]
fn json_answers_every_field_from_files_and_one_rpm_query() {
    let root = installed_root();
    let out = run_on(root.path(), &["--format", "json"]);
    let v = json(&out);
    assert_eq!(v["release"], "8.0.0");
    assert_eq!(
        v["openstack_version"], "liberty-8.0",
        "first release of openstack.yaml"
    );
    assert_eq!(v["build_number"], "82");
    assert_eq!(v["build_id"], "2015-07-23_10-59-34");
    assert_eq!(v["build_commit"], FUELMAIN_SHA);
    assert_eq!(v["production"], "docker");
    assert_eq!(v["feature_groups"], serde_json::json!([]));
    assert_eq!(v["nailgun_sha"], NAILGUN_SHA);
    assert_eq!(v["fuel-agent_sha"], AGENT_SHA, "commit inside a VCS URL");
    assert_eq!(
        v["python-fuelclient_sha"], "471948c",
        "git<hex> fragment of the release"
    );
    assert_eq!(
        v["fuel-library_sha"], LIBRARY_SHA,
        "fuel-library{{series}} resolved to fuel-library8.0"
    );
    assert_eq!(v["fuel-ostf_sha"], OSTF_SHA);
    assert_eq!(v["fuelmain_sha"], FUELMAIN_SHA);
    assert_eq!(
        v["astute_sha"],
        serde_json::Value::Null,
        "no VCS commit, no git<hex>: never invented"
    );
    assert_eq!(
        out.status.code(),
        Some(EXIT_INCOMPLETE),
        "astute_sha is unknown: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("astute_sha"), "{}", stderr(&out));
}

#[test]
fn explain_says_where_each_answer_came_from() {
    let root = installed_root();
    let out = run_on(root.path(), &["--format", "json", "--explain"]);
    let report: VersionReport =
        serde_json::from_slice(&out.stdout).expect("--explain json is the library's report");
    match &report.release.source {
        Source::File {
            path,
            line,
            package,
        } => {
            assert_eq!(path, &root.path().join("etc/fuel-issue"));
            assert_eq!((*line, package.as_str()), (Some(1), "fuel-release"));
        }
        other => panic!("release from {other:?}"),
    }
    let origin = |component: &str| {
        let c = report
            .components
            .iter()
            .find(|c| c.component == component)
            .unwrap();
        match &c.sha.source {
            Source::RpmDatabase { from, .. } => Some(*from),
            _ => None,
        }
    };
    assert_eq!(origin("nailgun"), Some(ShaOrigin::VcsTag));
    assert_eq!(origin("python-fuelclient"), Some(ShaOrigin::Release));
    assert_eq!(origin("astute"), None);
    let astute = report
        .components
        .iter()
        .find(|c| c.component == "astute")
        .unwrap();
    match &astute.sha.source {
        Source::Unknown { reason } => assert!(
            reason.contains("astute-8.0.0-1.el7") && reason.contains("no VCS tag"),
            "{reason}"
        ),
        other => panic!("astute_sha from {other:?}"),
    }
    assert!(
        matches!(report.production.source, Source::Default { .. }),
        "no settings.yaml: the documented default"
    );
    assert!(report.rpm_database.is_some());

    // The human form says the same.
    let text = stdout(&run_on(root.path(), &["--explain"]));
    assert!(
        text.contains("production: docker") && text.contains("settings.yaml is absent"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "nailgun_sha: {NAILGUN_SHA}\n    from rpm database: fuel-nailgun-8.0.0-1, VCS tag"
        )),
        "{text}"
    );
}

#[test]
fn complete_root_exits_zero_and_reads_the_master_settings() {
    let root = installed_root();
    // Give astute a commit: a rebuild numbered the Perestroika way.
    let out = Command::new("rpm")
        .arg("--root")
        .arg(root.path())
        .args(["-e", "--nodeps", "astute"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    install(
        root.path(),
        &[small_package(
            "astute",
            "8.0.0",
            "2.gitb1f37a9.el7",
            "",
            &[],
        )],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    write(
        root.path(),
        "/etc/nailgun/settings.yaml",
        "DEVELOPMENT: false\nFEATURE_GROUPS:\n  - mirantis\n  - experimental\nPRODUCTION: prod\n",
    );

    let out = run_on(root.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(EXIT_COMPLETE), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["astute_sha"], "b1f37a9");
    assert_eq!(
        v["feature_groups"],
        serde_json::json!(["mirantis", "experimental"])
    );
    assert_eq!(v["production"], "prod");

    let summary = run_on(root.path(), &[]);
    assert_eq!(summary.status.code(), Some(EXIT_COMPLETE));
    assert!(
        stdout(&summary).contains("Fuel release 8.0.0 (OpenStack liberty-8.0)"),
        "{}",
        stdout(&summary)
    );
}

#[test]
fn version_yaml_has_every_key_of_the_old_file() {
    let root = installed_root();
    let out = run_on(root.path(), &["--format", "version-yaml"]);
    let doc: serde_json::Value =
        serde_saphyr::from_slice(&out.stdout).expect("version-yaml is YAML");
    let version = doc["VERSION"].as_object().expect("a VERSION: mapping");
    let keys: BTreeSet<&str> = version
        .keys()
        .map(String::as_str)
        .chain(["VERSION"])
        .collect();
    let old: BTreeSet<&str> = OLD_VERSION_YAML_KEYS.into_iter().collect();
    assert_eq!(keys, old, "same keys as the old /etc/fuel/version.yaml");
    assert_eq!(version["api"].as_str(), Some("1.0"));
    assert_eq!(version["release"].as_str(), Some("8.0.0"));
    assert_eq!(version["production"].as_str(), Some("docker"));
    assert_eq!(version["nailgun_sha"].as_str(), Some(NAILGUN_SHA));
    assert_eq!(version["astute_sha"].as_str(), Some("unknown"));
    assert!(version["feature_groups"]
        .as_array()
        .is_some_and(|s| s.is_empty()));
    // Same layout as the old file: VERSION: then two-space indented keys.
    let text = stdout(&out);
    assert!(text.starts_with("VERSION:\n  feature_groups:"), "{text}");
}

#[test]
fn shell_format_evals_and_get_prints_one_field() {
    let root = installed_root();
    let script = r#"eval "$("$0" --root "$1" --format shell)"; printf '%s|%s|%s|%s' "$FUEL_RELEASE" "$FUEL_PYTHON_FUELCLIENT_SHA" "$FUEL_ASTUTE_SHA" "$FUEL_BUILD_ID""#;
    let out = Command::new("sh")
        .args(["-c", script])
        .arg(release_binary("fuel-version"))
        .arg(root.path())
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "8.0.0|471948c||2015-07-23_10-59-34",
        "{}",
        stderr(&out)
    );

    let release = run_on(root.path(), &["get", "release"]);
    assert_eq!(
        (stdout(&release).as_str(), release.status.code()),
        ("8.0.0\n", Some(EXIT_COMPLETE))
    );
    let astute = run_on(root.path(), &["get", "astute_sha"]);
    assert_eq!(astute.status.code(), Some(EXIT_INCOMPLETE));
    assert!(
        stdout(&astute).is_empty() && stderr(&astute).contains("has no commit"),
        "{}",
        stderr(&astute)
    );
    let bogus = run_on(root.path(), &["get", "colour"]);
    assert_eq!(bogus.status.code(), Some(EXIT_FAILED));
    assert!(
        stderr(&bogus).contains("no field \"colour\"") && stderr(&bogus).contains("nailgun_sha"),
        "{}",
        stderr(&bogus)
    );
}

#[test]
fn packages_lists_the_fuel_packages_with_their_commit() {
    let root = installed_root();
    // Not a Fuel package: installed, but not listed.
    install(
        root.path(),
        &[small_package("bash-completion", "2.1", "6.el7", "", &[])],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let out = run_on(root.path(), &["packages", "--format", "json"]);
    assert_eq!(out.status.code(), Some(EXIT_COMPLETE), "{}", stderr(&out));
    let listed: Vec<fuel_version::InstalledPackage> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
    let mut expected: Vec<String> = fuel_set().into_iter().map(|p| p.name).collect();
    expected.sort();
    assert_eq!(names, expected);
    let nailgun = listed.iter().find(|p| p.name == "fuel-nailgun").unwrap();
    assert_eq!(
        (nailgun.version.as_str(), nailgun.release.as_str()),
        ("8.0.0", "1")
    );
    assert_eq!(nailgun.sha.as_deref(), Some(NAILGUN_SHA));

    let table = stdout(&run_on(root.path(), &["packages"]));
    let line = table
        .lines()
        .find(|l| l.starts_with("python-fuelclient "))
        .expect("python-fuelclient listed");
    assert!(
        line.contains("1.git471948c.el7") && line.ends_with("471948c"),
        "{line}"
    );
}

#[test]
fn one_rpm_process_per_call() {
    let root = installed_root();
    let rpm = require_tool("rpm");
    // An rpm on PATH that logs each call, then runs the real one.
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("calls.log");
    let wrapper = bin.path().join("rpm");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            rpm.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    for args in [
        &["--format", "json"][..],
        &["packages"],
        &["get", "nailgun_sha"],
        &["--format", "version-yaml", "--explain"],
    ] {
        fs::write(&log, "").unwrap();
        let out = Command::new(release_binary("fuel-version"))
            .arg("--root")
            .arg(root.path())
            .args(args)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c != EXIT_FAILED),
            "{}",
            stderr(&out)
        );
        let calls = fs::read_to_string(&log).unwrap();
        assert_eq!(calls.lines().count(), 1, "{args:?}: {calls}");
        assert!(calls.contains("-qa"), "{calls}");
    }
}

#[test]
fn components_map_is_data_with_overrides() {
    let root = installed_root();
    // The root's override replaces the embedded map.
    write(
        root.path(),
        "/etc/fuel-version/components.yaml",
        "components:\n  nailgun: fuel-nailgun\n  agent: fuel-agent\n",
    );
    let v = json(&run_on(root.path(), &["--format", "json"]));
    assert_eq!(v["agent_sha"], AGENT_SHA);
    assert!(v.get("astute_sha").is_none(), "{v}");
    // `--components FILE` wins over the root's.
    let file = root.path().join("mine.yaml");
    fs::write(&file, "components:\n  web: fuel-nailgun\n").unwrap();
    let out = run_on(
        root.path(),
        &["--components", file.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(EXIT_COMPLETE), "{}", stderr(&out));
    assert_eq!(json(&out)["web_sha"], NAILGUN_SHA);
    // A malformed map is named with its line.
    fs::write(&file, "components:\n  web: [fuel-nailgun]\n").unwrap();
    let out = run_on(root.path(), &["--components", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(EXIT_FAILED));
    assert!(
        stderr(&out).contains(&format!("{} line 2:", file.display())),
        "{}",
        stderr(&out)
    );
}

#[test]
fn fuel_openstack_version_file_wins_over_openstack_yaml() {
    let root = installed_root();
    write(root.path(), "/etc/fuel_openstack_version", "2015.1.0-8.0\n");
    let out = run_on(root.path(), &["get", "openstack_version", "--explain"]);
    assert_eq!(stdout(&out), "2015.1.0-8.0\n");
    assert!(
        stderr(&out).contains("fuel_openstack_version line 1 (package fuel-openstack-metadata)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_files_name_the_package_that_provides_them() {
    let root = tempfile::tempdir().unwrap();
    // An rpm database, but no fuel-release, no buildstamp.
    install(
        root.path(),
        &[small_package(
            "fuel-nailgun",
            "8.0.0",
            "1",
            NAILGUN_SHA,
            &[],
        )],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    let out = run_on(root.path(), &["get", "release"]);
    assert_eq!(out.status.code(), Some(EXIT_INCOMPLETE));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}/etc/fuel-issue is missing",
            root.path().display()
        )),
        "{err}"
    );
    assert!(
        err.contains("fuel-release, which is not installed"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "`dnf --installroot {} install fuel-release`",
            root.path().display()
        )),
        "{err}"
    );

    // Installed, but the file was deleted: reinstall.
    install(
        root.path(),
        &[small_package(
            "fuel",
            "8.0.0",
            "1",
            FUELMAIN_SHA,
            &[("/etc/fuel-buildstamp", "BUILD_NUMBER=82\n")],
        )],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    fs::remove_file(root.path().join("etc/fuel-buildstamp")).unwrap();
    let err = stderr(&run_on(root.path(), &["get", "build_number"]));
    assert!(
        err.contains("although fuel-8.0.0-1 (which provides it) is installed")
            && err.contains("reinstall fuel`"),
        "{err}"
    );
}

#[test]
fn root_without_rpm_database_answers_files_and_says_why_shas_are_unknown() {
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "/etc/fuel-issue", "Fuel release 8.0.0\n");
    let out = run_on(root.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(EXIT_INCOMPLETE));
    let v = json(&out);
    assert_eq!(v["release"], "8.0.0");
    assert_eq!(v["nailgun_sha"], serde_json::Value::Null);
    let why = stderr(&run_on(root.path(), &["get", "nailgun_sha"]));
    assert!(
        why.contains(&format!("no rpm database under {}", root.path().display()))
            && why.contains("var/lib/rpm"),
        "{why}"
    );
    let packages = run_on(root.path(), &["packages"]);
    assert_eq!(packages.status.code(), Some(EXIT_FAILED));
    assert!(
        stderr(&packages).contains("no rpm database"),
        "{}",
        stderr(&packages)
    );
}

#[test]
fn damaged_rpm_database_fails_naming_it() {
    require_tool("rpm");
    let root = tempfile::tempdir().unwrap();
    write(root.path(), "/etc/fuel-issue", "Fuel release 8.0.0\n");
    write(root.path(), "/var/lib/rpm/rpmdb.sqlite", "not a database\n");
    let out = run_on(root.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(EXIT_FAILED));
    assert!(
        out.stdout.is_empty(),
        "nothing half-printed: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "Check that {}/var/lib/rpm is a readable rpm database",
            root.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("rpm --rebuilddb"), "{err}");
}

/// Each malformed source: exit "failed", the message names file, line and the
/// package that ships the file.
#[test]
fn malformed_files_name_file_line_and_package() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "/etc/fuel-issue",
            "",
            "etc/fuel-issue line 1: empty",
            &["reinstall fuel-release", "--installroot"],
        ),
        (
            "/etc/fuel-issue",
            "Fuel 8.0\n",
            "etc/fuel-issue line 1: expected `Fuel release X.Y.Z`",
            &["\"Fuel 8.0\""],
        ),
        (
            "/etc/fuel-issue",
            "Fuel release 8.0.0\nextra\n",
            "etc/fuel-issue line 2:",
            &["fuel-release"],
        ),
        (
            "/etc/fuel-buildstamp",
            "BUILD_NUMBER=82\nBUILD_ID 2015\n",
            "etc/fuel-buildstamp line 2: expected KEY=value",
            &["reinstall fuel"],
        ),
        (
            "/etc/fuel_openstack_version",
            "\n",
            "etc/fuel_openstack_version line 1: empty",
            &["fuel-openstack-metadata"],
        ),
        (
            "/usr/share/fuel-openstack-metadata/openstack.yaml",
            "- pk: 1\n  model: nailgun.role\n  fields: {}\n",
            "usr/share/fuel-openstack-metadata/openstack.yaml: no release in it",
            &["fuel-openstack-metadata"],
        ),
        (
            "/usr/share/fuel-openstack-metadata/openstack.yaml",
            "releases: {}\n",
            "usr/share/fuel-openstack-metadata/openstack.yaml line 1: expected a list",
            &["fuel-openstack-metadata"],
        ),
        (
            "/etc/nailgun/settings.yaml",
            "PRODUCTION: docker\nFEATURE_GROUPS: [a\n",
            "etc/nailgun/settings.yaml line 2: not YAML",
            &["fuel-nailgun"],
        ),
        (
            "/etc/nailgun/settings.yaml",
            "FEATURE_GROUPS: experimental\n",
            "etc/nailgun/settings.yaml line 1: FEATURE_GROUPS must be a list",
            &[],
        ),
    ];
    for (file, contents, message, also) in cases {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), file, contents);
        for args in [&[][..], &["--format", "json"], &["get", "production"]] {
            let out = run_on(root.path(), args);
            let err = stderr(&out);
            assert_eq!(
                out.status.code(),
                Some(EXIT_FAILED),
                "{file} {contents:?} {args:?}: {err}"
            );
            assert!(
                out.stdout.is_empty(),
                "nothing half-printed: {}",
                stdout(&out)
            );
            assert!(
                err.contains(&format!("{}/{message}", root.path().display())),
                "{file} {contents:?}: {err}"
            );
            for word in *also {
                assert!(
                    err.contains(word),
                    "{file} {contents:?}: {word:?} not in {err}"
                );
            }
        }
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let help = stdout(&fuel_version(&["--help"]));
    for line in [
        "0  complete",
        "3  some fields unknown",
        "1  failed",
        "--root <DIR>",
        "--explain",
        "version-yaml",
    ] {
        assert!(help.contains(line), "{line:?} not in --help:\n{help}");
    }
}

/// The install root of the packaging issue: this tree's release set, built
/// through the library `cargo xtask rpm` runs, published as the release's yum
/// repositories; `rpm -i fuel-release`, then `dnf --installroot R install fuel`.
/// fuel-version must give the built release, openstack version, build number
/// and id, and for the workspace's own packages the commit they were built from.
#[test]
fn release_set_installed_with_dnf() {
    for tool in ["rpm", "rpmkeys", "dnf"] {
        require_tool(tool);
    }
    for binary in ["fuel-upgrade", "fuel-version", "fuel-api"] {
        release_binary(binary);
    }
    let work = tempfile::tempdir().unwrap();
    let workspace = fuel_e2e::workspace_root();
    let mut build = fuel_rpm::release::ReleaseBuild::for_workspace(&workspace).unwrap();
    build.out_dir = work.path().join("rpms");
    build.repo_baseurl = format!("file://{}/$fuelver", work.path().join("repo").display());
    build.key = Some(
        fuel_rpm::build::SigningKey::development(
            &workspace.join(fuel_rpm::release::DEVELOPMENT_KEY_DIR),
        )
        .unwrap(),
    );
    let built = build
        .build()
        .unwrap_or_else(|e| panic!("building the release set: {e}"));
    let rpms: Vec<PathBuf> = built.iter().map(|p| p.path.clone()).collect();
    fuel_rpm::repo::write_release_repositories(
        &work.path().join("repo"),
        &build.fuel_version,
        &rpms,
        &[],
        &[],
        u64::from(build.source_date),
    )
    .unwrap();

    let root = work.path().join("root");
    let root_arg = root.to_str().unwrap();
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    };
    let fuel_release = rpms
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fuel-release-")
        })
        .unwrap();
    run(
        "rpm",
        &["--root", root_arg, "-i", fuel_release.to_str().unwrap()],
    );
    let key = root.join(format!(
        "etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{}",
        build.fuel_version
    ));
    run(
        "rpmkeys",
        &["--root", root_arg, "--import", key.to_str().unwrap()],
    );
    run(
        "dnf",
        &[
            "--installroot",
            root_arg,
            "--releasever",
            &build.fuel_version,
            "--disableplugin=*",
            "--setopt=install_weak_deps=False",
            "-y",
            "install",
            "fuel",
        ],
    );

    let out = run_on(&root, &["--format", "json", "--explain"]);
    assert_ne!(out.status.code(), Some(EXIT_FAILED), "{}", stderr(&out));
    let report: VersionReport = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report.release.value.as_deref(),
        Some(build.fuel_version.as_str())
    );
    let series = fuel_version::series(&build.fuel_version).unwrap();
    assert_eq!(
        report.openstack_version.value,
        Some(format!("liberty-{series}")),
        "{:?}",
        report.openstack_version.source
    );
    assert_eq!(
        report.build_number.value.as_ref(),
        Some(&build.build_number)
    );
    assert_eq!(report.build_id.value.as_ref(), Some(&build.build_id));
    assert_eq!(report.build_commit.value.as_ref(), Some(&build.commit));
    let fuelmain = report
        .components
        .iter()
        .find(|c| c.component == "fuelmain")
        .unwrap();
    assert_eq!(fuelmain.sha.value.as_ref(), Some(&build.commit));
    // Every package of the set is listed, with the commit it was built from.
    let mut names: Vec<&str> = report.packages.iter().map(|p| p.name.as_str()).collect();
    let mut set: Vec<String> = built
        .iter()
        // NAME-VERSION-RELEASE.ARCH.rpm (fuel-release-X.Y.Z has X.Y.Z in its name too).
        .map(|p| p.file_name.rsplitn(3, '-').nth(2).unwrap().to_string())
        .collect();
    names.sort();
    set.sort();
    assert_eq!(names, set);
    for p in &report.packages {
        assert_eq!(
            p.sha.as_ref(),
            Some(&build.commit),
            "{} was built from this tree",
            p.name
        );
        assert_eq!(p.sha_from, Some(ShaOrigin::VcsTag));
        assert_eq!(p.version, build.fuel_version);
    }
    // The version.yaml compatibility view of the same root.
    let out = run_on(&root, &["--format", "version-yaml"]);
    let doc: serde_json::Value = serde_saphyr::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["VERSION"]["release"].as_str(),
        Some(build.fuel_version.as_str())
    );
    assert_eq!(
        doc["VERSION"]["fuelmain_sha"].as_str(),
        Some(build.commit.as_str())
    );
}
