//! Ground of the upgrade-path tests: two release sets (7.0.0 and 8.0.0) built
//! by this tree with their docker images, published as file:// yum
//! repositories and cached under target/ by content; and a master root driven
//! with the real rpm, rpmkeys, dnf, the installed fuel-upgrade and
//! fuel-version, on the real Docker engine and a real fuel-api.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::build_cache::{cached, content_hash};
use crate::{require_tool, workspace_root};
use fuel_rpm::build::SigningKey;
use fuel_rpm::package::FileKind;
use fuel_rpm::release::{ReleaseBuild, DEVELOPMENT_KEY_DIR};
use fuel_version::VersionReport;

use super::{build_archive, json_report, text, Env};

/// The release a master runs first, and the one it is upgraded to.
pub const OLD: &str = "7.0.0";
pub const NEW: &str = "8.0.0";

/// One built release set and its repositories.
#[derive(Debug, Clone)]
pub struct ReleaseSet {
    /// What built it (version, build number and id, commit).
    pub build: ReleaseBuild,
    /// The rpms, by package name (`fuel`, `fuel-release-8.0.0`, …).
    pub rpms: BTreeMap<String, PathBuf>,
}

impl ReleaseSet {
    pub fn version(&self) -> &str {
        &self.build.fuel_version
    }

    /// fuel-release-X.Y.Z
    pub fn release_package(&self) -> String {
        format!("fuel-release-{}", self.version())
    }

    pub fn rpm(&self, name: &str) -> &Path {
        self.rpms
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in the {} set: {:?}", self.version(), self.rpms))
    }

    /// The set as `rpm -qa --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm'` lists it.
    pub fn file_names(&self) -> BTreeSet<String> {
        self.rpms
            .values()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }
}

/// Both sets, built once for every test process (cached by content).
pub struct ReleasePair {
    pub old: ReleaseSet,
    pub new: ReleaseSet,
    /// file:///…/repo/X.Y.Z is release X.Y.Z's base URL.
    pub repo: PathBuf,
}

/// What each set is built as: this tree at release `version`, with build
/// values of its own so that fuel-version's answers tell the sets apart.
fn release_build(version: &str) -> ReleaseBuild {
    let root = workspace_root();
    let mut build = ReleaseBuild::for_workspace(&root).expect("reading the workspace");
    build.fuel_version = version.to_string();
    build.key = Some(SigningKey::development(&root.join(DEVELOPMENT_KEY_DIR)).unwrap());
    if version == OLD {
        build.build_number = "70".into();
        build.build_id = "2015-07-23_10-59-34".into();
        // Release N-1 was built from another commit.
        build.commit = "70".repeat(20);
    } else {
        build.build_number = "80".into();
    }
    build
}

/// The image tags a release's shipped plan runs (`tag: "fuel/…:X.Y.Z"`),
/// read from the plan template the fuel-upgrade rpm ships.
fn plan_tags(version: &str) -> Vec<String> {
    let template =
        fs::read_to_string(workspace_root().join("crates/fuel-upgrade/plans/upgrade.yaml"))
            .unwrap();
    let mut tags: Vec<String> = template
        .lines()
        .filter_map(|line| {
            let rest = &line[line.find("tag: \"")? + 6..];
            Some(rest[..rest.find('"')?].replace("@FUEL_VERSION@", version))
        })
        .collect();
    tags.dedup();
    assert!(!tags.is_empty(), "the shipped plan names no image tag");
    tags
}

/// The pair, built into target/e2e-cache/upgrade-path/<hash of every input>.
pub fn release_pair() -> &'static ReleasePair {
    static PAIR: OnceLock<ReleasePair> = OnceLock::new();
    PAIR.get_or_init(|| {
        for tool in ["rpm", "rpmkeys", "dnf", "docker", "busybox"] {
            require_tool(tool);
        }
        let builds = [release_build(OLD), release_build(NEW)];
        let key = inputs_hash(&builds);
        let dir = workspace_root()
            .join("target/e2e-cache/upgrade-path")
            .join(&key[..16]);
        let repo = dir.join("repo");
        let baseurl = format!("file://{}/$fuelver", repo.display());
        cached(&dir, |tmp| {
            for build in &builds {
                let version = &build.fuel_version;
                let mut build = build.clone();
                let images = tmp.join("images").join(version);
                build_archive(
                    &images.join(format!("fuel-images-{version}.tar")),
                    &plan_tags(version),
                );
                build.images_dir = Some(images);
                build.out_dir = tmp.join("rpms").join(version);
                build.repo_baseurl = baseurl.clone();
                let built = build
                    .build()
                    .unwrap_or_else(|e| panic!("building release {version}: {e}"));
                let rpms: Vec<PathBuf> = built.iter().map(|p| p.path.clone()).collect();
                fuel_rpm::repo::write_release_repositories(
                    &tmp.join("repo"),
                    version,
                    &rpms,
                    &[],
                    &[],
                    u64::from(build.source_date),
                )
                .unwrap();
            }
            // The rpms are in the repositories now; the build copies go.
            fs::remove_dir_all(tmp.join("rpms")).unwrap();
            fs::remove_dir_all(tmp.join("images")).unwrap();
        });
        prune_other_entries(&dir);
        let [old, new] = builds.map(|mut build| {
            build.repo_baseurl = baseurl.clone();
            let base = repo.join(&build.fuel_version).join("base");
            let rpms = fs::read_dir(&base)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "rpm"))
                .map(|p| (package_name(&p), p))
                .collect();
            ReleaseSet { build, rpms }
        });
        ReleasePair { old, new, repo }
    })
}

/// Entries of earlier inputs (another commit, other binaries) are ~20 MiB
/// each: those unused for an hour go. (One in use by a run of an older test
/// binary is never that old: the tests take seconds.)
fn prune_other_entries(current: &Path) {
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let Ok(entries) = fs::read_dir(current.parent().unwrap()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < hour_ago);
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours = current
            .file_name()
            .is_some_and(|c| name.starts_with(&*c.to_string_lossy()));
        if stale && !ours {
            let _ = if path.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// NAME of NAME-VERSION-RELEASE.ARCH.rpm.
fn package_name(rpm: &Path) -> String {
    let file = rpm.file_name().unwrap().to_string_lossy();
    file.rsplitn(3, '-').nth(2).unwrap().to_string()
}

/// Every input of the two sets: the resolved package definitions (files,
/// scriptlets, dependencies, build values), the bytes of every source they
/// name, the image archives' contents (the busybox image, the plan's tags),
/// and this test binary, which holds the rpm builder.
fn inputs_hash(builds: &[ReleaseBuild]) -> String {
    let mut parts: Vec<Vec<u8>> = vec![b"upgrade-path 1".to_vec()];
    let mut sources = BTreeSet::new();
    for build in builds {
        let key = build.key.clone().unwrap();
        let defs = build
            .package_defs(&key)
            .unwrap_or_else(|e| panic!("the committed specs must lint clean:\n{e}"));
        parts.push(format!("{defs:?}").into_bytes());
        for def in &defs {
            for file in &def.files {
                if let FileKind::Source(path) = &file.kind {
                    sources.insert(path.clone());
                }
            }
        }
        parts.push(plan_tags(&build.fuel_version).join("\n").into_bytes());
    }
    for source in sources {
        parts.push(fs::read(&source).unwrap());
    }
    // The specs themselves (fuel-docker-images is left out of `defs`).
    let specs = workspace_root().join("specs");
    let mut spec_files: Vec<PathBuf> = fs::read_dir(&specs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    spec_files.sort();
    for file in spec_files {
        parts.push(fs::read(file).unwrap());
    }
    parts.push(fs::read(require_tool("busybox")).unwrap());
    parts.push(fs::read(std::env::current_exe().unwrap()).unwrap());
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    content_hash(&parts)
}

/// A master node: a root holding an rpm database, the containers of its
/// namespace on the Docker engine, and its own fuel-api (Env).
pub struct Master {
    pub env: Env,
    pub pair: &'static ReleasePair,
}

impl Master {
    /// A master running release 7.0.0, installed as README says: `rpm -i`
    /// of fuel-release, `dnf install fuel`, then `fuel-upgrade` deploying the
    /// containers (`--force`: a first installation has no release to upgrade
    /// from).
    pub fn running_old(test: &str) -> Master {
        let pair = release_pair();
        let master = Master {
            env: Env::new(test),
            pair,
        };
        master.env.write(
            "etc/fuel/astute.yaml",
            "ADMIN_NETWORK: {ipaddress: 10.20.0.2}\n",
            0o600,
        );
        master.ok(master.rpm(&["-i", path(pair.old.rpm(&pair.old.release_package()))]));
        master.import_key(&pair.old);
        master.ok(master.dnf(&["install", "fuel"]));
        assert_eq!(master.installed(), pair.old.file_names());
        let report = master.upgrade_json(&["apply", "--force"]);
        assert_eq!(report["outcome"], "applied", "{report}");
        master
    }

    pub fn root(&self) -> &Path {
        &self.env.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.env.path(rel)
    }

    /// `rpm --root R ARGS`.
    pub fn rpm(&self, args: &[&str]) -> Output {
        Command::new(require_tool("rpm"))
            .arg("--root")
            .arg(self.root())
            .args(args)
            .output()
            .unwrap()
    }

    /// `dnf --installroot R -y ARGS` (weak dependencies and plugins off, as a
    /// minimal master has them).
    pub fn dnf(&self, args: &[&str]) -> Output {
        Command::new(require_tool("dnf"))
            .arg("--installroot")
            .arg(self.root())
            .args([
                "--releasever",
                NEW,
                "--disableplugin=*",
                "--setopt=install_weak_deps=False",
                "-y",
            ])
            .args(args)
            .output()
            .unwrap()
    }

    /// Trusts the key the set's fuel-release installed. (dnf would import
    /// gpgkey= from the host's path, not the root's, so tests import it.)
    pub fn import_key(&self, set: &ReleaseSet) {
        let key = self.path(&format!(
            "etc/pki/fuel-gpg/RPM-GPG-KEY-fuel-{}",
            set.version()
        ));
        self.ok(Command::new(require_tool("rpmkeys"))
            .arg("--root")
            .arg(self.root())
            .arg("--import")
            .arg(&key)
            .output()
            .unwrap());
    }

    /// The installed fuel-upgrade, with the plan it installed, on this master.
    pub fn upgrade(&self, args: &[&str]) -> Output {
        self.env
            .fuel_upgrade(
                &self.path("usr/bin/fuel-upgrade"),
                &self.path("usr/share/fuel-upgrade/plans/upgrade.yaml"),
                args,
            )
            .output()
            .unwrap()
    }

    /// `upgrade` with `--json`, asserting success; the report.
    pub fn upgrade_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        json_report(&self.upgrade(&all))
            .unwrap_or_else(|e| panic!("fuel-upgrade {}: {e:#}", args.join(" ")))
    }

    /// The installed fuel-version's answer for this root.
    pub fn version(&self) -> VersionReport {
        let out = Command::new(self.path("usr/bin/fuel-version"))
            .arg("--root")
            .arg(self.root())
            .args(["--format", "json", "--explain"])
            .output()
            .unwrap();
        // 0: complete; 3: some fields unknown (no nailgun on this master).
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "fuel-version: {}",
            text(&out)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Installed packages as NAME-VERSION-RELEASE.ARCH.rpm (signing keys aside).
    pub fn installed(&self) -> BTreeSet<String> {
        let out =
            self.ok(self.rpm(&["-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm\n"]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("gpg-pubkey"))
            .map(str::to_string)
            .collect()
    }

    /// `rpm -Va`: what differs on disk from the rpm database (empty: clean).
    pub fn verify(&self) -> String {
        let out = self.rpm(&["-Va"]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// The files of /etc/yum.repos.d.
    pub fn repo_files(&self) -> BTreeSet<String> {
        fs::read_dir(self.path("etc/yum.repos.d"))
            .map(|dir| {
                dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// /etc/fuel-issue.
    pub fn issue(&self) -> String {
        fs::read_to_string(self.path("etc/fuel-issue")).unwrap()
    }

    /// Containers of this master as name → (image, state).
    pub fn containers(&self) -> BTreeMap<String, (String, String)> {
        self.env.containers()
    }

    /// Asserts success, naming the command's output otherwise.
    pub fn ok(&self, out: Output) -> Output {
        assert!(out.status.success(), "{}", text(&out));
        out
    }
}

/// The three .repo files of a release.
pub fn repo_files_of(version: &str) -> BTreeSet<String> {
    ["base", "updates", "security"]
        .iter()
        .map(|r| format!("fuel-{version}-{r}.repo"))
        .collect()
}

/// The .repo files of both releases, installed side by side.
pub fn repo_files_of_both() -> BTreeSet<String> {
    repo_files_of(OLD)
        .union(&repo_files_of(NEW))
        .cloned()
        .collect()
}

pub fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What fuel-version must say of a master whose packages are `set`'s:
/// `release` from /etc/fuel-issue (the newest fuel-release installed), the
/// build number, id and commit of the set's meta package.
pub fn assert_version(master: &Master, release: &str, set: &ReleaseSet) {
    let report = master.version();
    let build = &set.build;
    assert_eq!(report.release.value.as_deref(), Some(release), "release");
    assert_eq!(
        report.build_number.value.as_deref(),
        Some(build.build_number.as_str()),
        "build_number"
    );
    assert_eq!(
        report.build_id.value.as_deref(),
        Some(build.build_id.as_str()),
        "build_id"
    );
    assert_eq!(
        report.build_commit.value.as_deref(),
        Some(build.commit.as_str()),
        "build_commit"
    );
}
