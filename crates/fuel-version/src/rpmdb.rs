//! The rpm database of a root ([`RpmDatabase`], the one place that runs
//! rpm): the one query (every installed package with its VCS tag, in a
//! single `rpm -qa --qf …` process whatever the number of packages) and the
//! erase fuel-upgrade retires old releases with.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::VersionError;
use crate::report::{InstalledPackage, ShaOrigin};

/// Tab-separated so that no field (VCS URLs included) can shift the columns.
const QUERY_FORMAT: &str = "%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{VCS}\\n";

/// Database directories, relative to the root, in the order rpm builds use
/// them: Red Hat's /var/lib/rpm, the newer /usr/lib/sysimage/rpm, and
/// Debian's rpm default `~/.rpmdb` (where `rpm --root R -i` writes on Debian).
pub fn database_candidates(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.join("var/lib/rpm"), root.join("usr/lib/sysimage/rpm")];
    if let Some(home) = std::env::var_os("HOME") {
        let home = PathBuf::from(home);
        dirs.push(
            root.join(home.strip_prefix("/").unwrap_or(&home))
                .join(".rpmdb"),
        );
    }
    dirs
}

/// The first candidate holding a database (sqlite, ndb or bdb backend).
fn find_database(root: &Path) -> Option<PathBuf> {
    database_candidates(root).into_iter().find(|dir| {
        ["rpmdb.sqlite", "Packages.db", "Packages"]
            .iter()
            .any(|f| dir.join(f).is_file())
    })
}

/// The rpm database of a root, as rpm is told it: the one place that builds
/// `rpm [--root R] --dbpath D`. Naming the database keeps rpm from
/// evaluating its default `%_dbpath` (on Debian it runs bash for that) and
/// from looking in the wrong place under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmDatabase {
    root: PathBuf,
    /// The database directory as found on this machine (under `root`).
    dir: PathBuf,
    /// The same directory as rpm sees it under `--root` (what `--dbpath` takes).
    dbpath: PathBuf,
}

impl RpmDatabase {
    /// The database under `root` ([`find_database`]); `None` when the root
    /// has none (a master not installed by rpm).
    pub fn find(root: &Path) -> Option<RpmDatabase> {
        find_database(root).map(|dir| RpmDatabase::at(root, dir))
    }

    /// The database in `dir`, a directory under `root`.
    pub fn at(root: &Path, dir: PathBuf) -> RpmDatabase {
        let dbpath = Path::new("/").join(dir.strip_prefix(root).unwrap_or(&dir));
        RpmDatabase {
            root: root.to_path_buf(),
            dir,
            dbpath,
        }
    }

    /// The database directory, as found on this machine.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `rpm [--root R] --dbpath D ARGS…`, and the same command as shown in
    /// messages.
    fn rpm(&self, args: &[&str]) -> (Command, String) {
        let mut cmd = Command::new("rpm");
        let mut shown = String::from("rpm");
        if self.root != Path::new("/") {
            cmd.arg("--root").arg(&self.root);
            shown.push_str(&format!(" --root {}", self.root.display()));
        }
        cmd.arg("--dbpath").arg(&self.dbpath).args(args);
        shown.push_str(&format!(" --dbpath {}", self.dbpath.display()));
        for a in args {
            if a.contains(|c: char| c.is_whitespace() || c == '\\') {
                shown.push_str(&format!(" '{a}'"));
            } else {
                shown.push_str(&format!(" {a}"));
            }
        }
        (cmd, shown)
    }

    /// Runs rpm with `args`: its standard output and the command as shown,
    /// or what failed and `remedy`.
    fn run(
        &self,
        args: &[&str],
        remedy: impl FnOnce(&str) -> String,
    ) -> Result<(Vec<u8>, String), VersionError> {
        let (mut cmd, shown) = self.rpm(args);
        let out = cmd.output().map_err(|e| VersionError::Rpm {
            command: shown.clone(),
            problem: e.to_string(),
            remedy: "Install rpm (`apt-get install rpm` or `dnf install rpm`)".into(),
        })?;
        if !out.status.success() {
            return Err(VersionError::Rpm {
                remedy: remedy(&shown),
                command: shown,
                problem: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok((out.stdout, shown))
    }

    /// Erases the packages `names` (with their scriptlets, as rpm does).
    pub fn erase(&self, names: &[&str]) -> Result<(), VersionError> {
        let mut args = vec!["-e"];
        args.extend_from_slice(names);
        self.run(&args, |shown| {
            format!("Fix what rpm says, then run `{shown}` again")
        })?;
        Ok(())
    }

    /// Every installed package with its VCS tag, in one `rpm -qa` process.
    pub fn query(&self) -> Result<Vec<InstalledPackage>, VersionError> {
        let (stdout, shown) = self.run(&["-qa", "--qf", QUERY_FORMAT], |_| {
            format!(
                "Check that {} is a readable rpm database (`rpm --rebuilddb` repairs a damaged one)",
                self.dir.display()
            )
        })?;
        parse_query(&stdout, &shown)
    }
}

/// The query's output, one package a line.
fn parse_query(stdout: &[u8], shown: &str) -> Result<Vec<InstalledPackage>, VersionError> {
    let text = String::from_utf8_lossy(stdout);
    let mut packages = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, version, release, arch, vcs] = cols[..] else {
            return Err(VersionError::Rpm {
                command: shown.to_string(),
                problem: format!("unexpected output line {line:?}"),
                remedy: "Report this: the query format expects 5 tab-separated columns".into(),
            });
        };
        // Imported signing keys are pseudo-packages, not software.
        if name == "gpg-pubkey" {
            continue;
        }
        let vcs = (vcs != "(none)" && !vcs.is_empty()).then(|| vcs.to_string());
        let (sha, sha_from) = match (vcs.as_deref().and_then(sha_of_vcs), sha_of_release(release)) {
            (Some(sha), _) => (Some(sha), Some(ShaOrigin::VcsTag)),
            (None, Some(sha)) => (Some(sha), Some(ShaOrigin::Release)),
            (None, None) => (None, None),
        };
        packages.push(InstalledPackage {
            name: name.into(),
            version: version.into(),
            release: release.into(),
            arch: arch.into(),
            vcs,
            sha,
            sha_from,
        });
    }
    packages.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| crate::compare_releases(&a.version, &b.version))
    });
    Ok(packages)
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The commit in a VCS tag: the tag itself when it is a 7–40 hex commit, else
/// a 40-hex commit inside it (`git+https://…#<sha>`, `…/commit/<sha>`).
/// A tag holding no commit (a bare URL) gives `None`: nothing is invented.
pub fn sha_of_vcs(vcs: &str) -> Option<String> {
    let vcs = vcs.trim();
    if (7..=40).contains(&vcs.len()) && is_hex(vcs) {
        return Some(vcs.to_ascii_lowercase());
    }
    vcs.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|t| t.len() == 40 && is_hex(t))
        .map(str::to_ascii_lowercase)
}

/// The `git<hex>` fragment of an rpm Release (`1.git4f3e2a1.el7` → `4f3e2a1`,
/// `0.20150723git4f3e2a1` → `4f3e2a1`): at least 7 hex digits, ending the
/// dot-separated part.
pub fn sha_of_release(release: &str) -> Option<String> {
    release.split(['.', '_', '+', '~', '-']).find_map(|part| {
        let at = part.find("git")?;
        let (before, hex) = (&part[..at], &part[at + 3..]);
        (before.bytes().all(|b| b.is_ascii_digit()) && (7..=40).contains(&hex.len()) && is_hex(hex))
            .then(|| hex.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha_from_vcs_tag() {
        let sha = "d1087923e45b0e6d946ce48cb05a71733e1ac113";
        assert_eq!(sha_of_vcs(sha).as_deref(), Some(sha));
        assert_eq!(
            sha_of_vcs(&format!("git+https://git.openstack.org/fuel-web#{sha}")).as_deref(),
            Some(sha)
        );
        assert_eq!(
            sha_of_vcs("https://git.openstack.org/openstack/fuel-web"),
            None
        );
        assert_eq!(sha_of_vcs("abc"), None);
    }

    #[test]
    fn sha_from_release_fragment() {
        assert_eq!(
            sha_of_release("1.git4f3e2a1.el7").as_deref(),
            Some("4f3e2a1")
        );
        assert_eq!(
            sha_of_release("0.20150723git4f3e2a1").as_deref(),
            Some("4f3e2a1")
        );
        assert_eq!(sha_of_release("1.el7"), None);
        assert_eq!(sha_of_release("1.gitxyz.el7"), None);
        assert_eq!(sha_of_release("1.digital123456789"), None);
    }
}
