//! The test packages node containers install, in both formats, and their
//! repositories: .debs made with dpkg-deb and indexed with dpkg-scanpackages
//! and apt-ftparchive; .rpms made and indexed by the workspace's own builder
//! and repository writer (fuel_rpm), signed with the development key. Built
//! once per content under target/node-test-repos/<hash>/ and bind-mounted
//! read-only into every node at [`MOUNT`].
//!
//! The packages carry no maintainer scripts or scriptlets (installing one
//! changes files only, and whoever applies it starts its service), except
//! `fuel-test-slow`, whose postinst/%post sleeps so a test can kill the
//! package manager inside it. One package depends on another:
//! `fuel-test-app` needs `fuel-test-lib >= 2.0`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use fuel_rpm::build::{write_package, SigningKey};
use fuel_rpm::{
    Compression, DepOp, Dependencies, Dependency, FileAttrs, FileDef, FileKind, PackageDef,
    Scriptlet, Scriptlets,
};

use crate::build_cache::{cached, content_hash};
use crate::{require_tool, workspace_root};

/// Where a node sees the repositories (read-only): `deb/`, `rpm/` and the
/// rpm signing key [`RPM_KEY_FILE`].
pub const MOUNT: &str = "/srv/fuel-test-repo";
/// The armored public key that signed the rpms, at the repositories' root.
pub const RPM_KEY_FILE: &str = "RPM-GPG-KEY-fuel-test";
/// The daemon package's state file: "PID VERSION" of the running daemon.
pub const DAEMON_STATE: &str = "/run/fuel-test-daemon.state";

/// Time stamp of every package and index (reproducible builds).
const SOURCE_DATE: u32 = 1_700_000_000;

/// One version of one test package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPackage {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// A dependency on at least this version of another test package
    /// (`Depends: NAME (>= VERSION)` / `Requires: NAME >= VERSION`).
    pub needs: Option<(String, String)>,
    /// Its postinst (deb) and %post (rpm) hang while [`SLOW_SCRIPT_HANG`] exists.
    pub hangs_in_post: bool,
}

/// While this file exists, `fuel-test-slow`'s install script hangs: it
/// creates [`SLOW_SCRIPT_STARTED`] and sleeps up to [`SLOW_SCRIPT_SECS`]
/// (without it, the script does nothing, so dpkg can configure it again).
pub const SLOW_SCRIPT_HANG: &str = "/run/fuel-test-slow.hang";
/// Created by `fuel-test-slow`'s install script when it starts to hang.
pub const SLOW_SCRIPT_STARTED: &str = "/run/fuel-test-slow.started";
/// How long `fuel-test-slow`'s install script hangs at most.
pub const SLOW_SCRIPT_SECS: u32 = 600;

impl TestPackage {
    fn new(name: &str, epoch: Option<u32>, version: &str) -> TestPackage {
        TestPackage {
            name: name.into(),
            epoch,
            version: version.into(),
            release: "1".into(),
            needs: None,
            hangs_in_post: false,
        }
    }

    /// `[epoch:]version-release` ("1:0.9-1", "2.0-1"): what dpkg-query
    /// prints and [`crate::node::TestNode::installed_version`] answers.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// (destination, mode, contents) of each file; the unit's directory
    /// differs: Debian ships units in /lib, rpm in /usr/lib (one directory on
    /// a merged-/usr system).
    fn files(&self, unit_dir: &str) -> Vec<(String, u32, String)> {
        if self.name == "fuel-test-daemon" {
            let script = format!(
                "#!/bin/sh\n# {name} {evr}: says which process runs which version, then idles.\n\
                 echo \"$$ {evr}\" > {DAEMON_STATE}\nexec sleep infinity\n",
                name = self.name,
                evr = self.evr(),
            );
            let unit = "[Unit]\nDescription=Fuel test daemon (writes its PID and version to /run/fuel-test-daemon.state)\n\n\
                        [Service]\nType=simple\nExecStart=/usr/bin/fuel-test-daemon\n\n\
                        [Install]\nWantedBy=multi-user.target\n";
            vec![
                ("/usr/bin/fuel-test-daemon".into(), 0o755, script),
                (
                    format!("{unit_dir}/fuel-test-daemon.service"),
                    0o644,
                    unit.into(),
                ),
            ]
        } else {
            vec![(
                format!("/usr/share/{}/VERSION", self.name),
                0o644,
                format!("{}\n", self.evr()),
            )]
        }
    }

    fn summary(&self) -> String {
        format!(
            "Fuel test package {} (for the end-to-end tests only)",
            self.name
        )
    }
}

/// Every test package version both repositories hold:
/// - `fuel-test-daemon` 1.0-1, 2.0-1, 3.0-1: /usr/bin/fuel-test-daemon writes
///   "PID VERSION" to [`DAEMON_STATE`] and sleeps; unit fuel-test-daemon.service.
/// - `fuel-test-tool` 1.0-1, 2.0-1: /usr/share/fuel-test-tool/VERSION.
/// - `fuel-test-epoch` 1:0.9-1 and 1.5-1 (the epoch makes 0.9 the newer).
/// - `fuel-test-extra` 1.0-1.
/// - `fuel-test-bulk-01` … `fuel-test-bulk-20`, 1.0-1 and 2.0-1.
/// - `fuel-test-lib` 1.5-1 and 2.0-1; `fuel-test-app` 1.0-1, which needs
///   `fuel-test-lib >= 2.0` (so pinning the lib to 1.5-1 takes the app away).
/// - `fuel-test-slow` 1.0-1, whose install script hangs while
///   [`SLOW_SCRIPT_HANG`] exists.
pub fn test_packages() -> Vec<TestPackage> {
    let mut packages = Vec::new();
    for version in ["1.0", "2.0", "3.0"] {
        packages.push(TestPackage::new("fuel-test-daemon", None, version));
    }
    for version in ["1.0", "2.0"] {
        packages.push(TestPackage::new("fuel-test-tool", None, version));
    }
    packages.push(TestPackage::new("fuel-test-epoch", Some(1), "0.9"));
    packages.push(TestPackage::new("fuel-test-epoch", None, "1.5"));
    packages.push(TestPackage::new("fuel-test-extra", None, "1.0"));
    for version in ["1.5", "2.0"] {
        packages.push(TestPackage::new("fuel-test-lib", None, version));
    }
    packages.push(TestPackage {
        needs: Some(("fuel-test-lib".into(), "2.0".into())),
        ..TestPackage::new("fuel-test-app", None, "1.0")
    });
    packages.push(TestPackage {
        hangs_in_post: true,
        ..TestPackage::new("fuel-test-slow", None, "1.0")
    });
    for n in 1..=20 {
        for version in ["1.0", "2.0"] {
            packages.push(TestPackage::new(
                &format!("fuel-test-bulk-{n:02}"),
                None,
                version,
            ));
        }
    }
    packages
}

/// The built repositories (see [`test_repos`]).
#[derive(Debug, Clone)]
pub struct TestRepos {
    /// target/node-test-repos/<hash>: mounted at [`MOUNT`] in every node.
    pub root: PathBuf,
    /// `root/deb`: `deb [trusted=yes] file:<MOUNT>/deb ./`.
    pub deb: PathBuf,
    /// `root/rpm`: a yum repository (repodata/), rpms signed by [`Self::rpm_key`].
    pub rpm: PathBuf,
    /// `root/RPM-GPG-KEY-fuel-test`: the armored public key of the signer.
    pub rpm_key: PathBuf,
    pub packages: Vec<TestPackage>,
}

/// The deb and rpm repositories of [`test_packages`], built once per content
/// (this file's text and the signing key) with a lock against other test
/// processes.
pub fn test_repos() -> &'static TestRepos {
    static REPOS: OnceLock<TestRepos> = OnceLock::new();
    REPOS.get_or_init(|| {
        let key = SigningKey::development(&workspace_root().join("target/fuel-dev-key"))
            .unwrap_or_else(|e| panic!("development signing key: {e}"));
        let hash = content_hash(&[
            include_str!("node_repo.rs").as_bytes(),
            key.fingerprint_hex().as_bytes(),
        ]);
        let packages = test_packages();
        let root = workspace_root()
            .join("target/node-test-repos")
            .join(&hash[..16]);
        cached(&root, |tmp| build_repos(tmp, &packages, &key));
        TestRepos {
            deb: root.join("deb"),
            rpm: root.join("rpm"),
            rpm_key: root.join(RPM_KEY_FILE),
            root,
            packages,
        }
    })
}

fn build_repos(root: &Path, packages: &[TestPackage], key: &SigningKey) {
    let stage = root.join("stage");
    let pool = root.join("deb/pool");
    let rpms = root.join("rpm");
    create_dir(&pool);
    create_dir(&rpms);
    for package in packages {
        build_deb(package, &stage, &pool);
        write_package(&rpm_def(package), Some(key), &rpms)
            .unwrap_or_else(|e| panic!("building the test rpm {}: {e}", package.evr()));
    }
    fs::remove_dir_all(&stage).unwrap();
    index_debs(&root.join("deb"));
    fuel_rpm::repo::write_repodata(&rpms, SOURCE_DATE.into())
        .unwrap_or_else(|e| panic!("indexing the test rpms: {e}"));
    fs::write(root.join(RPM_KEY_FILE), key.public_key_armored()).unwrap();
}

fn create_dir(dir: &Path) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
}

/// `dpkg-deb --root-owner-group -b` of a staged tree: DEBIAN/control and the files.
fn build_deb(package: &TestPackage, stage: &Path, pool: &Path) {
    let _ = fs::remove_dir_all(stage);
    for (dest, mode, contents) in package.files("/lib/systemd/system") {
        let path = stage.join(dest.trim_start_matches('/'));
        create_dir(path.parent().unwrap());
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    create_dir(&stage.join("DEBIAN"));
    let control = format!(
        "Package: {}\nVersion: {}\nArchitecture: all\nMaintainer: Fuel test suite <dev@fuel.invalid>\n\
         Priority: optional\nSection: misc\nDescription: {}\n Built by the end-to-end test harness; never shipped.\n",
        package.name,
        package.evr(),
        package.summary(),
    );
    let control = match &package.needs {
        Some((name, version)) => format!("{control}Depends: {name} (>= {version})\n"),
        None => control,
    };
    fs::write(stage.join("DEBIAN/control"), control).unwrap();
    if package.hangs_in_post {
        let postinst = stage.join("DEBIAN/postinst");
        let body = format!(
            "#!/bin/sh\nif [ -e {SLOW_SCRIPT_HANG} ]; then touch {SLOW_SCRIPT_STARTED}; sleep {SLOW_SCRIPT_SECS}; fi\nexit 0\n"
        );
        fs::write(&postinst, body).unwrap();
        fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Debian's file names leave the epoch out.
    let file = pool.join(format!(
        "{}_{}-{}_all.deb",
        package.name, package.version, package.release
    ));
    run(Command::new(require_tool("dpkg-deb"))
        .args(["--root-owner-group", "-Zgzip", "-b"])
        .arg(stage)
        .arg(&file)
        .env("SOURCE_DATE_EPOCH", SOURCE_DATE.to_string()));
}

/// Packages, Packages.gz and Release of a flat repository (`deb file:DIR ./`).
fn index_debs(dir: &Path) {
    let packages = run(Command::new(require_tool("dpkg-scanpackages"))
        .args(["--multiversion", "pool", "/dev/null"])
        .current_dir(dir));
    fs::write(dir.join("Packages"), &packages).unwrap();
    run(Command::new(require_tool("gzip"))
        .args(["-9nk", "Packages"])
        .current_dir(dir));
    let release = run(Command::new(require_tool("apt-ftparchive"))
        .args(["release", "."])
        .current_dir(dir));
    fs::write(dir.join("Release"), release).unwrap();
}

fn rpm_def(package: &TestPackage) -> PackageDef {
    let file = |dest: String, kind: FileKind, mode: u32| FileDef {
        dest,
        kind,
        mode,
        user: "root".into(),
        group: "root".into(),
        attrs: FileAttrs::default(),
    };
    let mut files: Vec<FileDef> = package
        .files("/usr/lib/systemd/system")
        .into_iter()
        .map(|(dest, mode, contents)| file(dest, FileKind::Contents(contents.into_bytes()), mode))
        .collect();
    if package.name != "fuel-test-daemon" {
        // Own the package's directory, so removal leaves nothing behind.
        files.push(file(
            format!("/usr/share/{}", package.name),
            FileKind::Dir,
            0o755,
        ));
    }
    PackageDef {
        name: package.name.clone(),
        epoch: package.epoch,
        version: package.version.clone(),
        release: package.release.clone(),
        arch: "noarch".into(),
        summary: package.summary(),
        description: "Built by the end-to-end test harness; never shipped.".into(),
        license: "Apache-2.0".into(),
        vendor: "Fuel Community".into(),
        url: "https://wiki.openstack.org/wiki/Fuel".into(),
        vcs: String::new(),
        packager: None,
        group: None,
        source_date: SOURCE_DATE,
        compression: Compression::default(),
        files,
        deps: Dependencies {
            requires: package
                .needs
                .iter()
                .map(|(name, version)| Dependency {
                    name: name.clone(),
                    constraint: Some((DepOp::Ge, version.clone())),
                })
                .collect(),
            ..Dependencies::default()
        },
        scriptlets: Scriptlets {
            // rpm's built-in Lua: a /bin/sh scriptlet would need a /bin/sh
            // the node's rpm database does not provide (its root is Debian's).
            post: package.hangs_in_post.then(|| Scriptlet {
                body: format!(
                    "if posix.access(\"{SLOW_SCRIPT_HANG}\") then\n  io.open(\"{SLOW_SCRIPT_STARTED}\", \"w\"):close()\n  posix.sleep({SLOW_SCRIPT_SECS})\nend\n"
                ),
                interpreter: Some("<lua>".into()),
            }),
            ..Scriptlets::default()
        },
        changelog: Vec::new(),
    }
}

/// Runs a build tool; its stdout, or a panic showing what it said.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
