//! The release rpm set, checked with the real tools: rpm, rpmkeys, rpmlint,
//! dnf and createrepo_c. Every test builds the set it needs into a temporary
//! directory through the library (`fuel_rpm::release::ReleaseBuild`, what
//! `cargo xtask rpm` runs), from the release binaries under target/release.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fuel_e2e::{release_binary, require_tool, workspace_root};
use fuel_rpm::build::{BuiltPackage, SigningKey};
use fuel_rpm::release::{ReleaseBuild, DEVELOPMENT_KEY_DIR};
use fuel_rpm::{FileKind, PackageDef};
use tempfile::TempDir;

/// One release set built into its own directory.
struct BuiltSet {
    dir: TempDir,
    build: ReleaseBuild,
    key: SigningKey,
    defs: Vec<PackageDef>,
    packages: Vec<BuiltPackage>,
}

impl BuiltSet {
    fn package(&self, name: &str) -> &BuiltPackage {
        let prefix = format!("{name}-{}-", self.build.fuel_version);
        self.packages
            .iter()
            .find(|p| p.file_name.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} package in {:?}", self.packages))
    }
}

/// Builds this tree's release set (optionally changed by `configure`) into a
/// fresh temporary directory, signed with the development key.
fn build_set(configure: impl FnOnce(&mut ReleaseBuild, &Path)) -> BuiltSet {
    for binary in [
        "fuel-upgrade",
        "fuel-version",
        "fuel-api",
        "fuel",
        "fuel-pm-apply",
    ] {
        release_binary(binary);
    }
    let dir = tempfile::tempdir().unwrap();
    let root = workspace_root();
    let mut build = ReleaseBuild::for_workspace(&root).expect("reading the workspace");
    build.out_dir = dir.path().join("rpms");
    let key = SigningKey::development(&root.join(DEVELOPMENT_KEY_DIR)).expect("development key");
    build.key = Some(key.clone());
    configure(&mut build, dir.path());
    let defs = build
        .package_defs(&key)
        .unwrap_or_else(|e| panic!("the committed specs must lint clean:\n{e}"));
    let packages = build
        .build()
        .unwrap_or_else(|e| panic!("building the set: {e}"));
    assert_eq!(packages.len(), defs.len());
    BuiltSet {
        dir,
        build,
        key,
        defs,
        packages,
    }
}

fn run(program: &str, args: &[&str]) -> Output {
    let tool = require_tool(program);
    Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `rpm -qp --qf FORMAT` of one package.
fn query(package: &Path, format: &str) -> String {
    let out = run(
        "rpm",
        &[
            "-qp",
            "--nosignature",
            "--qf",
            format,
            package.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "rpm -qp {}: {}",
        package.display(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn evr(set: &BuiltSet) -> String {
    format!("{}-{}", set.build.fuel_version, set.build.release)
}

#[test]
fn the_set_is_the_release_packages_with_the_designed_names_and_arches() {
    let set = build_set(|_, _| {});
    let mut found = BTreeMap::new();
    for package in &set.packages {
        let fields = query(&package.path, "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}");
        let parts: Vec<&str> = fields.split('|').collect();
        assert_eq!(parts[1], set.build.fuel_version, "{}", package.file_name);
        assert_eq!(parts[2], set.build.release, "{}", package.file_name);
        assert_eq!(
            package.file_name,
            format!("{}-{}-{}.{}.rpm", parts[0], parts[1], parts[2], parts[3])
        );
        found.insert(parts[0].to_string(), parts[3].to_string());
    }
    // fuel-release carries its release in its name: releases install side by side.
    let release_package = format!("fuel-release-{}", set.build.fuel_version);
    let expected: BTreeMap<String, String> = [
        ("fuel", "noarch"),
        (release_package.as_str(), "noarch"),
        ("fuel-openstack-metadata", "noarch"),
        ("fuel-upgrade", "x86_64"),
        ("fuel-api", "x86_64"),
        ("fuel-client", "x86_64"),
        ("fuel-pm-apply", "x86_64"),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_string(), a.to_string()))
    .collect();
    assert_eq!(
        found, expected,
        "without --images the set is these packages"
    );
}

#[test]
fn every_package_carries_the_metadata_files_and_flags_its_spec_says() {
    let set = build_set(|_, _| {});
    let head = git(&["rev-parse", "HEAD"]);
    assert_eq!(set.build.commit, head);
    for def in &set.defs {
        let path = &set.package(&def.name).path;
        let header = query(
            path,
            "%{VCS}\n%{VENDOR}\n%{URL}\n%{LICENSE}\n%{PACKAGER}\n%{SUMMARY}\n",
        );
        let lines: Vec<&str> = header.lines().collect();
        assert_eq!(lines[0], head, "{}: VCS is the source commit", def.name);
        assert_eq!(lines[0].len(), 40, "{}: VCS is a full sha", def.name);
        assert_eq!(
            &lines[1..5],
            [
                &def.vendor,
                &def.url,
                &def.license,
                def.packager.as_ref().unwrap()
            ]
        );
        assert!(
            !lines[1].is_empty() && !lines[2].is_empty() && !lines[3].is_empty(),
            "{}: vendor, url, license set",
            def.name
        );
        assert!(
            lines[5].contains(&set.build.fuel_version),
            "{}: summary names the release: {}",
            def.name,
            lines[5]
        );

        let changelog = query(path, "[%{CHANGELOGNAME}\n%{CHANGELOGTEXT}\n]");
        assert!(
            changelog.contains(&format!("- {}", evr(&set))),
            "{}: changelog entry for this build: {changelog}",
            def.name
        );
        assert!(
            changelog.contains(&head),
            "{}: changelog names the commit",
            def.name
        );

        // Requires as the spec says (rpm's own rpmlib() requirements aside).
        let requires: BTreeSet<String> = query(path, "[%{REQUIRENEVRS}\n]")
            .lines()
            // rpm's own: rpmlib() features, and config(name) as rpmbuild adds.
            .filter(|l| !l.starts_with("rpmlib(") && !l.starts_with("config("))
            .map(str::to_string)
            .collect();
        let expected: BTreeSet<String> = def
            .deps
            .requires
            .iter()
            .map(|d| match &d.constraint {
                None => d.name.clone(),
                Some((_, version)) => format!("{} = {version}", d.name),
            })
            .collect();
        assert_eq!(requires, expected, "{}: requires", def.name);

        // Files: path → (octal mode, owner, group, flags).
        let listed: BTreeMap<String, (u32, String, String, String)> =
            query(path, "[%{FILENAMES}\t%{FILEMODES:octal}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEFLAGS:fflags}\n]")
                .lines()
                .map(|line| {
                    let f: Vec<&str> = line.split('\t').collect();
                    let mode = u32::from_str_radix(f[1], 8).unwrap();
                    (f[0].to_string(), (mode, f[2].to_string(), f[3].to_string(), f[4].to_string()))
                })
                .collect();
        assert_eq!(
            listed.keys().cloned().collect::<BTreeSet<_>>(),
            def.files
                .iter()
                .map(|f| f.dest.clone())
                .collect::<BTreeSet<_>>(),
            "{}: file list",
            def.name
        );
        for file in &def.files {
            let (mode, user, group, flags) = &listed[&file.dest];
            assert_eq!(mode & 0o7777, file.mode, "{}: {} mode", def.name, file.dest);
            let file_type = match file.kind {
                FileKind::Dir => 0o040000,
                FileKind::Symlink { .. } => 0o120000,
                _ => 0o100000,
            };
            assert_eq!(
                mode & 0o170000,
                file_type,
                "{}: {} type",
                def.name,
                file.dest
            );
            assert_eq!(
                (user.as_str(), group.as_str()),
                (file.user.as_str(), file.group.as_str()),
                "{}: {} owner",
                def.name,
                file.dest
            );
            assert_eq!(
                flags.contains('c'),
                file.attrs.config,
                "{}: {} %config ({flags})",
                def.name,
                file.dest
            );
            assert_eq!(
                flags.contains('n'),
                file.attrs.noreplace,
                "{}: {} noreplace ({flags})",
                def.name,
                file.dest
            );
            assert_eq!(
                flags.contains('g'),
                file.kind == FileKind::Ghost,
                "{}: {} %ghost ({flags})",
                def.name,
                file.dest
            );
        }
    }

    // What the design asks for, spelled out.
    let files = |name: &str| {
        query(
            &set.package(name).path,
            "[%{FILENAMES} %{FILEMODES:octal} %{FILEFLAGS:fflags}\n]",
        )
    };
    // Every file of fuel-release-X.Y.Z is release-specific, so two releases
    // install side by side; the shared directories and the %ghost
    // /etc/fuel-issue (which the scriptlets point at the newest) excepted.
    let version = &set.build.fuel_version;
    let release_files = files("fuel-release");
    let expected_release_files: String = [
        "/etc/fuel-issue 100644 g".to_string(),
        "/etc/fuel-issue.d 40755 ".into(),
        format!("/etc/fuel-issue.d/{version} 100644 "),
        "/etc/pki/fuel-gpg 40755 ".into(),
        format!("/etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{version} 100644 "),
        format!("/etc/yum.repos.d/fuel-{version}-base.repo 100644 cn"),
        format!("/etc/yum.repos.d/fuel-{version}-security.repo 100644 cn"),
        format!("/etc/yum.repos.d/fuel-{version}-updates.repo 100644 cn"),
    ]
    .iter()
    .map(|line| format!("{line}\n"))
    .collect();
    assert_eq!(release_files, expected_release_files);
    let release_rpm = &set.package("fuel-release").path;
    let provides = query(release_rpm, "[%{PROVIDENEVRS}\n]");
    assert!(
        provides.contains(&format!("fuel-release = {}\n", evr(&set))),
        "fuel-release-{version} provides fuel-release = {}: {provides}",
        evr(&set)
    );
    // /etc/fuel-issue follows installs and erases through rpm's built-in Lua:
    // no /bin/sh required, so an empty root installs the package.
    let scripts = query(
        release_rpm,
        "%{POSTTRANSPROG}|%{POSTUNPROG}|%{PREINPROG}|%{POSTINPROG}|%{PREUNPROG}|%{PRETRANSPROG}\n",
    );
    assert_eq!(scripts, "<lua>|<lua>|(none)|(none)|(none)|(none)\n");
    let lua = fs::read_to_string(workspace_root().join("repos/fuel-issue.lua")).unwrap();
    assert_eq!(query(release_rpm, "%{POSTTRANS}"), lua);
    assert_eq!(query(release_rpm, "%{POSTUN}"), lua);
    let requires = query(release_rpm, "[%{REQUIRENEVRS}\n]");
    assert!(
        requires.contains("rpmlib(BuiltinLuaScripts) <= 4.2.2-1\n")
            && !requires.contains("/bin/sh"),
        "{requires}"
    );
    let api_files = files("fuel-api");
    for line in [
        "/etc/fuel-api/config.toml 100640 cn\n",
        "/usr/bin/fuel-api 100755 \n",
        "/usr/lib/systemd/system/fuel-api.service 100644 \n",
        "/var/lib/fuel-api 40750 \n",
    ] {
        assert!(
            api_files.contains(line),
            "fuel-api lacks {line:?}:\n{api_files}"
        );
    }
    let upgrade_files = files("fuel-upgrade");
    for line in [
        "/usr/bin/fuel-upgrade 100755 \n",
        "/usr/bin/fuel-version 100755 \n",
        "/var/lib/fuel-upgrade 40755 \n",
        "/var/log/fuel-upgrade.log 100644 g\n",
        "/usr/share/fuel-upgrade/plans 40755 \n",
    ] {
        assert!(
            upgrade_files.contains(line),
            "fuel-upgrade lacks {line:?}:\n{upgrade_files}"
        );
    }
    assert!(files("fuel").contains("/etc/fuel-buildstamp 100644 \n"));
    assert!(files("fuel-client").contains("/usr/bin/fuel 100755 \n"));
    // The applier the master copies to nodes: kept on the master, outside PATH.
    assert!(files("fuel-pm-apply").contains("/usr/libexec/fuel-pm/fuel-pm-apply 100755 \n"));
    assert!(files("fuel-openstack-metadata")
        .contains("/usr/share/fuel-openstack-metadata/openstack.yaml 100644 \n"));

    let meta_requires = query(&set.package("fuel").path, "[%{REQUIRENEVRS}\n]");
    for name in [
        format!("fuel-release-{version}").as_str(),
        "fuel-openstack-metadata",
        "fuel-upgrade",
        "fuel-api",
        "fuel-client",
        "fuel-pm-apply",
    ] {
        assert!(
            meta_requires.contains(&format!("{name} = {}\n", evr(&set))),
            "fuel requires {name} = {}: {meta_requires}",
            evr(&set)
        );
    }
    let upgrade_requires = query(&set.package("fuel-upgrade").path, "[%{REQUIRENEVRS}\n]");
    assert!(
        upgrade_requires.contains(&format!("fuel-openstack-metadata = {}\n", evr(&set))),
        "{upgrade_requires}"
    );
}

#[test]
fn every_binary_in_usr_bin_ships_its_manual_page() {
    let set = build_set(|_, _| {});
    let root = set.dir.path().join("root");
    let mut pages = 0;
    for package in &set.packages {
        let files = query(&package.path, "[%{FILENAMES}\n]");
        let binaries: Vec<&str> = files
            .lines()
            .filter_map(|f| f.strip_prefix("/usr/bin/"))
            .collect();
        if binaries.is_empty() {
            continue;
        }
        // Installed, each page is the binary's manual, as `man BINARY` reads it.
        let out = run(
            "rpm",
            &[
                "--root",
                root.to_str().unwrap(),
                "-i",
                "--nodeps",
                "--nosignature",
                package.path.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "rpm -i: {}", text(&out.stderr));
        for binary in binaries {
            let page = format!("/usr/share/man/man1/{binary}.1.gz");
            assert!(
                files.lines().any(|f| f == page),
                "{} ships /usr/bin/{binary} without {page}",
                package.file_name
            );
            let installed = root.join(page.trim_start_matches('/'));
            let out = run("gzip", &["-dc", installed.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "gzip -dc {page}: {}",
                text(&out.stderr)
            );
            let roff = text(&out.stdout);
            assert!(
                roff.contains(&format!(".TH {binary} 1")) && roff.contains(".SH SYNOPSIS"),
                "{page}:\n{roff}"
            );
            pages += 1;
        }
    }
    assert!(pages >= 3, "fuel-upgrade, fuel-version and fuel have pages");
}

#[test]
fn rpmlint_finds_no_errors() {
    let set = build_set(|_, _| {});
    // rpmlint checks signatures against the rpm database: give it one that
    // trusts the set's key (through HOME's .rpmmacros), not the host's.
    let home = set.dir.path().join("home");
    let db = set.dir.path().join("rpmdb");
    fs::create_dir_all(&home).unwrap();
    fs::write(
        home.join(".rpmmacros"),
        format!("%_dbpath {}\n", db.display()),
    )
    .unwrap();
    let key = set.dir.path().join("key.asc");
    fs::write(&key, set.key.public_key_armored()).unwrap();
    let out = Command::new(require_tool("rpmkeys"))
        .env("HOME", &home)
        .arg("--import")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rpmkeys --import: {}",
        text(&out.stderr)
    );

    let rpmlintrc = workspace_root().join("specs/rpmlintrc");
    let out = Command::new(require_tool("rpmlint"))
        .env("HOME", &home)
        .arg("-r")
        .arg(&rpmlintrc)
        .args(set.packages.iter().map(|p| &p.path))
        .output()
        .unwrap();
    let report = text(&out.stdout);
    let summary = report
        .lines()
        .rev()
        .find(|l| l.contains("packages and"))
        .unwrap_or_else(|| panic!("no rpmlint summary:\n{report}"));
    assert!(
        summary.contains(&format!("{} packages", set.packages.len())),
        "{summary}"
    );
    assert!(summary.contains(" 0 errors"), "rpmlint errors:\n{report}");
    assert!(
        out.status.success(),
        "rpmlint failed:\n{report}\n{}",
        text(&out.stderr)
    );
}

#[test]
fn every_signature_verifies_with_the_key_fuel_release_ships() {
    let set = build_set(|_, _| {});
    let root = set.dir.path().join("root");
    let root_arg = root.to_str().unwrap();
    // Before the key is known, rpm cannot check the signatures.
    let unknown = run(
        "rpmkeys",
        &[
            "--root",
            root_arg,
            "-K",
            set.package("fuel").path.to_str().unwrap(),
        ],
    );
    assert!(
        !unknown.status.success(),
        "no key imported yet, yet: {}",
        text(&unknown.stdout)
    );

    let out = run(
        "rpm",
        &[
            "--root",
            root_arg,
            "-i",
            set.package("fuel-release").path.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "rpm -i fuel-release: {}",
        text(&out.stderr)
    );
    let shipped = root.join(format!(
        "etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{}",
        set.build.fuel_version
    ));
    assert_eq!(
        fs::read_to_string(&shipped).unwrap(),
        set.key.public_key_armored(),
        "fuel-release ships the signing key's public key"
    );
    let out = run(
        "rpmkeys",
        &["--root", root_arg, "--import", shipped.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "rpmkeys --import: {}",
        text(&out.stderr)
    );
    for package in &set.packages {
        let out = run(
            "rpmkeys",
            &["--root", root_arg, "-K", package.path.to_str().unwrap()],
        );
        let report = text(&out.stdout);
        assert!(
            out.status.success() && report.contains("signatures OK"),
            "{}: {report}{}",
            package.file_name,
            text(&out.stderr)
        );
    }
    // The package records the key it was signed with.
    let signature = query(&set.package("fuel-api").path, "%{RSAHEADER:pgpsig}");
    let fingerprint = set.key.fingerprint_hex().to_lowercase();
    assert!(
        signature
            .to_lowercase()
            .contains(&fingerprint[fingerprint.len() - 16..]),
        "{signature} vs {fingerprint}"
    );
}

#[test]
fn release_and_repositories_install_the_whole_set_in_a_fresh_root() {
    let repo_root = tempfile::tempdir().unwrap();
    let baseurl = format!("file://{}/$fuelver", repo_root.path().display());
    let set = build_set(|build, _| build.repo_baseurl = baseurl.clone());
    let version = set.build.fuel_version.clone();
    let rpms: Vec<PathBuf> = set.packages.iter().map(|p| p.path.clone()).collect();
    let repos = fuel_rpm::repo::write_release_repositories(
        repo_root.path(),
        &version,
        &rpms,
        &[],
        &[],
        u64::from(set.build.source_date),
    )
    .unwrap();
    assert_eq!(repos.len(), 3);

    let root = set.dir.path().join("root");
    let root_arg = root.to_str().unwrap();
    // 1. rpm -i fuel-release-X.Y.Z: the release's repositories and key.
    let out = run(
        "rpm",
        &[
            "--root",
            root_arg,
            "-i",
            set.package("fuel-release").path.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "rpm -i fuel-release: {}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(root.join("etc/fuel-issue")).unwrap(),
        format!("Fuel release {version}\n")
    );
    // No yum variable: two releases' files would share its one value.
    assert!(!root.join("etc/yum/vars").exists());
    let release_url = baseurl.replace("$fuelver", &version);
    for repo in ["base", "updates", "security"] {
        let file =
            fs::read_to_string(root.join(format!("etc/yum.repos.d/fuel-{version}-{repo}.repo")))
                .unwrap();
        for line in [
            format!("[fuel-{version}-{repo}]"),
            format!("baseurl={release_url}/{repo}/"),
            "gpgcheck=1".into(),
            "skip_if_unavailable=0".into(),
            format!("gpgkey=file:///etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{version}"),
        ] {
            assert!(
                file.lines().any(|l| l == line),
                "fuel-{version}-{repo}.repo lacks `{line}`:\n{file}"
            );
        }
        assert!(!file.contains('$'), "no yum variable:\n{file}");
    }
    // dnf imports gpgkey= files from the host's path, not the root's: trust
    // the key fuel-release installed in the root's rpm database instead.
    let key = root.join(format!("etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{version}"));
    let out = run(
        "rpmkeys",
        &["--root", root_arg, "--import", key.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "rpmkeys --import: {}",
        text(&out.stderr)
    );

    // 2. dnf install fuel, with gpgcheck on: the meta package pulls in the set.
    let out = run(
        "dnf",
        &[
            "--installroot",
            root_arg,
            "--releasever",
            &version,
            "--disableplugin=*",
            "--setopt=gpgcheck=1",
            "--setopt=install_weak_deps=False",
            "-y",
            "install",
            "fuel",
        ],
    );
    assert!(
        out.status.success(),
        "dnf install fuel:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let installed: BTreeSet<String> = text(
        &run(
            "rpm",
            &[
                "--root",
                root_arg,
                "-qa",
                "--qf",
                "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm\n",
            ],
        )
        .stdout,
    )
    .lines()
    .map(str::to_string)
    .filter(|n| !n.starts_with("gpg-pubkey"))
    .collect();
    let built: BTreeSet<String> = set.packages.iter().map(|p| p.file_name.clone()).collect();
    assert_eq!(installed, built, "dnf installed exactly the set");

    // 3. Nothing changed on disk compared with the rpm database.
    let out = run("rpm", &["--root", root_arg, "-Va"]);
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "rpm -Va:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // What version.yaml used to hold, now in files.
    let series = fuel_version::series(&version).unwrap();
    assert_eq!(
        fs::read_to_string(root.join("etc/fuel_openstack_version")).unwrap(),
        format!("liberty-{series}\n")
    );
    let fixtures: serde_json::Value = serde_saphyr::from_str(
        &fs::read_to_string(root.join("usr/share/fuel-openstack-metadata/openstack.yaml")).unwrap(),
    )
    .unwrap();
    assert!(fixtures.as_array().unwrap().len() >= 2, "a few releases");
    for release in fixtures.as_array().unwrap() {
        let fields = &release["fields"];
        for key in [
            "name",
            "version",
            "operating_system",
            "description",
            "state",
        ] {
            assert!(
                fields[key].as_str().is_some_and(|v| !v.is_empty()),
                "{key} in {release:?}"
            );
        }
        assert_eq!(release["model"].as_str(), Some("nailgun.release"));
    }
    let stamp = fs::read_to_string(root.join("etc/fuel-buildstamp")).unwrap();
    let stamp: BTreeMap<&str, &str> = stamp.lines().filter_map(|l| l.split_once('=')).collect();
    assert_eq!(
        stamp.keys().copied().collect::<Vec<_>>(),
        ["BUILD_COMMIT", "BUILD_ID", "BUILD_NUMBER"]
    );
    assert_eq!(stamp["BUILD_COMMIT"], set.build.commit);
    assert_eq!(stamp["BUILD_ID"], set.build.build_id);
    let id: Vec<&str> = stamp["BUILD_ID"].split(['-', '_']).collect();
    assert_eq!(
        id.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [4, 2, 2, 2, 2, 2],
        "BUILD_ID like 2015-07-23_10-59-34: {}",
        stamp["BUILD_ID"]
    );
    assert!(
        fs::metadata(root.join("usr/bin/fuel-upgrade"))
            .unwrap()
            .len()
            > 0
    );
}

#[test]
fn dnf_refuses_packages_signed_by_another_key() {
    // gpgcheck is really on: the same set, signed by a key the root does not trust.
    let repo_root = tempfile::tempdir().unwrap();
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = SigningKey::development(stranger_dir.path()).unwrap();
    let baseurl = format!("file://{}/$fuelver", repo_root.path().display());
    let trusted = build_set(|build, _| build.repo_baseurl = baseurl.clone());
    let foreign = build_set(|build, _| {
        build.repo_baseurl = baseurl.clone();
        build.key = Some(stranger.clone());
    });
    let version = trusted.build.fuel_version.clone();
    let rpms: Vec<PathBuf> = foreign.packages.iter().map(|p| p.path.clone()).collect();
    fuel_rpm::repo::write_release_repositories(repo_root.path(), &version, &rpms, &[], &[], 0)
        .unwrap();

    let root = trusted.dir.path().join("root");
    let root_arg = root.to_str().unwrap();
    assert!(run(
        "rpm",
        &[
            "--root",
            root_arg,
            "-i",
            trusted.package("fuel-release").path.to_str().unwrap()
        ]
    )
    .status
    .success());
    let key = root.join(format!("etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{version}"));
    assert!(run(
        "rpmkeys",
        &["--root", root_arg, "--import", key.to_str().unwrap()]
    )
    .status
    .success());
    let out = run(
        "dnf",
        &[
            "--installroot",
            root_arg,
            "--releasever",
            &version,
            "--disableplugin=*",
            "-y",
            "install",
            "fuel-api",
        ],
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        !out.status.success(),
        "dnf installed packages signed by an untrusted key:\n{said}"
    );
    assert!(
        said.contains("GPG") || said.contains("Public key"),
        "dnf refused for the signature, not something else:\n{said}"
    );
    let installed = text(&run("rpm", &["--root", root_arg, "-q", "fuel-api"]).stdout);
    assert!(installed.contains("not installed"), "{installed}");
}

#[test]
fn two_builds_of_one_tree_are_byte_identical() {
    let first = build_set(|_, _| {});
    let second = build_set(|_, _| {});
    let sums = |set: &BuiltSet| {
        set.packages
            .iter()
            .map(|p| (p.file_name.clone(), p.sha256().unwrap()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(sums(&first), sums(&second));
    for (a, b) in first.packages.iter().zip(&second.packages) {
        assert_eq!(
            fs::read(&a.path).unwrap(),
            fs::read(&b.path).unwrap(),
            "{}",
            a.file_name
        );
    }
    // And the repository metadata written from them.
    let rpms = |set: &BuiltSet| {
        set.packages
            .iter()
            .map(|p| p.path.clone())
            .collect::<Vec<_>>()
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ts = u64::from(first.build.source_date);
    fuel_rpm::repo::write_release_repositories(a.path(), "8.0.0", &rpms(&first), &[], &[], ts)
        .unwrap();
    fuel_rpm::repo::write_release_repositories(b.path(), "8.0.0", &rpms(&second), &[], &[], ts)
        .unwrap();
    let repomd = |dir: &Path| fs::read(dir.join("8.0.0/base/repodata/repomd.xml")).unwrap();
    assert_eq!(repomd(a.path()), repomd(b.path()));
}

#[test]
fn another_release_builds_from_the_same_tree() {
    let set = build_set(|build, _| {
        build.fuel_version = "7.0.0".into();
        build.release = "3".into();
    });
    for package in &set.packages {
        assert_eq!(
            query(&package.path, "%{VERSION}-%{RELEASE}"),
            "7.0.0-3",
            "{}",
            package.file_name
        );
    }
    let requires = query(&set.package("fuel").path, "[%{REQUIRENEVRS}\n]");
    assert!(requires.contains("fuel-upgrade = 7.0.0-3\n"), "{requires}");
    let description = query(&set.package("fuel-release").path, "%{DESCRIPTION}");
    assert!(description.contains("7.0.0"), "{description}");
    assert_eq!(
        query(&set.package("fuel-release").path, "%{NAME}"),
        "fuel-release-7.0.0"
    );
    assert!(
        requires.contains("fuel-release-7.0.0 = 7.0.0-3\n"),
        "{requires}"
    );
}

#[test]
fn a_repository_base_url_naming_no_release_is_refused() {
    // Releases install side by side: one URL for all would mix their packages.
    let mut build = ReleaseBuild::for_workspace(&workspace_root()).unwrap();
    let out = tempfile::tempdir().unwrap();
    build.out_dir = out.path().join("rpms");
    build.repo_baseurl = "file:///srv/mirror/fuel".into();
    let key = SigningKey::development(&workspace_root().join(DEVELOPMENT_KEY_DIR)).unwrap();
    let error = build.package_defs(&key).unwrap_err().to_string();
    assert!(
        error.starts_with("--repo-baseurl: `file:///srv/mirror/fuel` names no release")
            && error.contains("/$fuelver"),
        "{error}"
    );
    // With the placeholder, each release's .repo files carry their own URL.
    build.repo_baseurl = "file:///srv/mirror/fuel/$fuelver".into();
    assert_eq!(
        build.release_baseurl(),
        format!("file:///srv/mirror/fuel/{}", build.fuel_version)
    );
    build.package_defs(&key).expect("a base URL with $fuelver");
    assert!(!build.out_dir.exists(), "nothing is written");
}

#[test]
fn images_build_fuel_docker_images_and_the_meta_package_requires_it() {
    let set = build_set(|build, dir| {
        let images = dir.join("images");
        fs::create_dir_all(&images).unwrap();
        fs::write(
            images.join("nailgun.tar"),
            b"not really a docker save archive, but a file to ship",
        )
        .unwrap();
        build.images_dir = Some(images);
    });
    let images = set.package("fuel-docker-images");
    let files = query(&images.path, "[%{FILENAMES} %{FILEMODES:octal}\n]");
    assert!(
        files.contains("/var/www/nailgun/docker/images/nailgun.tar 100644\n"),
        "{files}"
    );
    assert_eq!(query(&images.path, "%{ARCH}"), "noarch");
    let requires = query(&set.package("fuel").path, "[%{REQUIRENEVRS}\n]");
    assert!(
        requires.contains(&format!("fuel-docker-images = {}\n", evr(&set))),
        "{requires}"
    );
}

#[test]
fn our_repository_metadata_answers_like_createrepo_c() {
    let set = build_set(|_, _| {});
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    let rpms: Vec<PathBuf> = set.packages.iter().map(|p| p.path.clone()).collect();
    fuel_rpm::repo::write_repodata(&copy_rpms(&rpms, ours.path()), 0).unwrap();
    let theirs_dir = copy_rpms(&rpms, theirs.path());
    let out = run("createrepo_c", &["-q", theirs_dir.to_str().unwrap()]);
    assert!(out.status.success(), "createrepo_c: {}", text(&out.stderr));

    let cache = tempfile::tempdir().unwrap();
    let ask = |dir: &Path, args: &[&str]| {
        let repo = format!("--repofrompath=r,file://{}", dir.display());
        let cache_arg = format!(
            "--setopt=cachedir={}",
            cache.path().join(dir.file_name().unwrap()).display()
        );
        let mut all = vec![
            "-q",
            "--disableplugin=*",
            "--setopt=reposdir=/nonexistent",
            cache_arg.as_str(),
            repo.as_str(),
            "--repo=r",
            "repoquery",
        ];
        all.extend_from_slice(args);
        let out = run("dnf", &all);
        assert!(
            out.status.success(),
            "dnf repoquery {args:?} on {}: {}",
            dir.display(),
            text(&out.stderr)
        );
        let mut lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    for args in [
        &[
            "--qf",
            "%{name} %{epoch}:%{version}-%{release} %{arch} %{location} %{size} %{installsize}",
        ][..],
        &["--requires"][..],
        &["--provides"][..],
        &["-l"][..],
        &["--changelog", "fuel"][..],
    ] {
        let (a, b) = (ask(&theirs_dir, args), ask(&ours.path().join("repo"), args));
        assert!(!a.is_empty(), "createrepo_c's metadata answers {args:?}");
        assert_eq!(b, a, "repoquery {args:?}");
    }
}

fn copy_rpms(rpms: &[PathBuf], dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    fs::create_dir_all(&repo).unwrap();
    for rpm in rpms {
        fs::copy(rpm, repo.join(rpm.file_name().unwrap())).unwrap();
    }
    repo
}

fn git(args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(workspace_root())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    text(&out.stdout).trim().to_string()
}

// ---- the lint's command line (the lint itself: crates/fuel-rpm/tests/specs.rs) ----

#[test]
fn xtask_lint_exits_non_zero_naming_the_file_and_field_of_a_bad_spec() {
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let cases = [
        ("missing field", "arch = \"noarch\"\n", "summary"),
        (
            "missing source",
            "arch = \"noarch\"\nsummary = \"Example\"\n[[assets]]\nsource = \"repos/no-such.repo\"\ndest = \"/etc/fuel-example/base.repo\"\n",
            "assets[0].source",
        ),
        (
            "relative dest",
            "arch = \"noarch\"\nsummary = \"Example\"\n[[assets]]\ndir = true\ndest = \"etc/fuel-example\"\n",
            "assets[0].dest",
        ),
    ];
    for (case, keys, field) in cases {
        let dir = tempfile::tempdir().unwrap();
        let spec =
            format!("name = \"fuel-example\"\ndescription = \"An example package.\"\n{keys}");
        fs::write(dir.path().join("fuel-example.toml"), spec).unwrap();
        let out = Command::new(&cargo)
            .current_dir(&root)
            .args(["xtask", "lint", "--specs"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{case}: cargo xtask lint succeeded");
        assert!(
            stderr.contains("fuel-example.toml") && stderr.contains(field),
            "{case}: {stderr}"
        );
    }
}

#[test]
fn the_busybox_base_package_lets_scriptlets_run_in_an_empty_root() {
    let busybox = require_tool("busybox");
    let dir = tempfile::tempdir().unwrap();
    let rpms = dir.path().join("rpms");
    let base = fuel_e2e::base_system::busybox_base(&busybox, 0);
    let base_rpm = fuel_rpm::build::write_package(&base, None, &rpms).unwrap();

    // A package whose %post needs a shell, as a later Fuel package might.
    let mut probe = base.clone();
    probe.name = "fuel-scriptlet-probe".into();
    probe.arch = "noarch".into();
    probe.deps = fuel_rpm::Dependencies {
        requires: vec![fuel_rpm::Dependency {
            name: "/bin/sh".into(),
            constraint: None,
        }],
        ..Default::default()
    };
    probe.files = vec![fuel_rpm::FileDef {
        dest: "/var/lib/fuel-probe".into(),
        kind: FileKind::Dir,
        mode: 0o755,
        user: "root".into(),
        group: "root".into(),
        attrs: Default::default(),
    }];
    probe.scriptlets.post = Some(fuel_rpm::Scriptlet {
        body: "echo ran > /var/lib/fuel-probe/stamp\n".into(),
        interpreter: None,
    });
    let probe_rpm = fuel_rpm::build::write_package(&probe, None, &rpms).unwrap();

    let empty = dir.path().join("empty");
    let out = run(
        "rpm",
        &[
            "--root",
            empty.to_str().unwrap(),
            "-i",
            probe_rpm.path.to_str().unwrap(),
        ],
    );
    assert!(
        !out.status.success(),
        "an empty root has no /bin/sh, yet the probe installed"
    );
    assert!(
        text(&out.stderr).contains("/bin/sh"),
        "{}",
        text(&out.stderr)
    );

    let root = dir.path().join("root");
    let out = run(
        "rpm",
        &[
            "--root",
            root.to_str().unwrap(),
            "-i",
            base_rpm.path.to_str().unwrap(),
            probe_rpm.path.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "rpm -i base + probe: {}",
        text(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(root.join("var/lib/fuel-probe/stamp")).unwrap(),
        "ran\n"
    );
    let out = run(
        "rpm",
        &[
            "--root",
            root.to_str().unwrap(),
            "-Va",
            fuel_e2e::base_system::BASE_PACKAGE,
        ],
    );
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "rpm -V base: {}",
        text(&out.stdout)
    );
}
