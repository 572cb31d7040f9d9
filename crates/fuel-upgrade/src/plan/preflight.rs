//! Preflight: every check runs and every failure is reported together, each
//! with an id, a message and a remedy. `--force` overrides only the checks
//! marked skippable. Nothing here changes the system.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::adapters::engine::Engine;
use crate::adapters::files::under;
use crate::adapters::fixtures;
use crate::adapters::master::Master;
use crate::plan::{FileAction, Plan};
use crate::state::journal::Journal;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: String,
    pub passed: bool,
    pub message: String,
    pub remedy: String,
    pub skippable: bool,
    /// Failed, but skippable and `--force` was given.
    pub overridden: bool,
}

impl Check {
    pub fn pass(id: &str, message: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            passed: true,
            message: message.into(),
            remedy: String::new(),
            skippable: false,
            overridden: false,
        }
    }

    pub fn fail(id: &str, message: impl Into<String>, remedy: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            passed: false,
            message: message.into(),
            remedy: remedy.into(),
            skippable: false,
            overridden: false,
        }
    }

    pub fn skippable(mut self) -> Check {
        self.skippable = true;
        self
    }

    pub fn blocks(&self) -> bool {
        !self.passed && !self.overridden
    }
}

/// What the preflight looks at; it changes none of it.
pub(crate) struct Inputs<'a> {
    pub plan: &'a Plan,
    pub root: &'a Path,
    pub state_dir: &'a Path,
    /// The engine, or why it could not be reached.
    pub engine: Result<&'a Engine, &'a str>,
    /// The deployed release, when the engine answered.
    pub current: Option<&'a str>,
    /// Set when another run holds the lock.
    pub lock_error: Option<String>,
    pub journal: Option<&'a Journal>,
    pub master: &'a Master,
    pub force: bool,
}

/// Every preflight check, read-only, in the order the report lists them.
pub(crate) async fn run_all(inputs: Inputs<'_>) -> Vec<Check> {
    let Inputs {
        plan,
        root,
        state_dir,
        engine,
        current,
        lock_error,
        journal,
        master,
        force,
    } = inputs;
    let mut checks = Vec::new();
    checks.push(match lock_error {
        None => Check::pass(
            "no-other-upgrade",
            "no other fuel-upgrade run holds the lock",
        ),
        Some(e) => Check::fail("no-other-upgrade", e, "wait until the other run finishes"),
    });
    checks.push(journal_check(journal));
    checks.push(match engine {
        Ok(_) => Check::pass("docker-engine", "the Docker engine answers"),
        Err(e) => Check::fail(
            "docker-engine",
            e,
            "start dockerd (systemctl start docker) or set DOCKER_HOST",
        ),
    });
    checks.extend(release_checks(plan, current));
    checks.push(archive_check(plan, root));
    let docker_root = match engine {
        Ok(e) => e.root_dir().await.map(PathBuf::from),
        Err(_) => None,
    };
    checks.push(space_check(plan, root, docker_root.as_deref(), state_dir));
    checks.push(match master.running_tasks().await {
        Ok(t) if t.is_empty() => Check::pass(
            "no-running-tasks",
            format!("no task runs on {}", master.url()),
        ),
        Ok(t) => Check::fail(
            "no-running-tasks",
            format!(
                "{} task(s) running on the master: {}",
                t.len(),
                t.join(", ")
            ),
            "wait for the deployments to finish (fuel task list) or stop them",
        ),
        Err(e) => Check::fail(
            "no-running-tasks",
            format!("cannot ask the master API: {e}"),
            "start the Fuel API or pass --api-url/--api-token",
        ),
    });
    if let Some(fx) = &plan.fixtures {
        let file = under(root, &fx.openstack_yaml);
        checks.push(match fixtures::releases(&file) {
            Ok(r) => Check::pass(
                "fixtures",
                format!("{} releases in {}", r.len(), file.display()),
            ),
            Err(e) => Check::fail(
                "fixtures",
                e.to_string(),
                "install fuel-openstack-metadata of the target release",
            ),
        });
    }
    apply_force(&mut checks, force);
    checks
}

/// Applies `--force`: failed skippable checks become overridden.
fn apply_force(checks: &mut [Check], force: bool) {
    for c in checks {
        c.overridden = force && !c.passed && c.skippable;
    }
}

fn release_checks(plan: &Plan, current: Option<&str>) -> Vec<Check> {
    use std::cmp::Ordering;
    let target = plan.release.as_str();
    let mut out = Vec::new();
    match current {
        Some(cur) if fuel_version::compare_releases(target, cur) != Ordering::Greater => out.push(
            Check::fail(
                "target-newer",
                format!("the plan installs {target}, which is not newer than the deployed {cur}"),
                "install the fuel-upgrade package of a newer release",
            )
            .skippable(),
        ),
        Some(cur) => out.push(Check::pass(
            "target-newer",
            format!("{target} is newer than {cur}"),
        )),
        None => out.push(Check::pass(
            "target-newer",
            format!("no deployed release recorded; installing {target}"),
        )),
    }
    match current {
        Some(cur) if plan.can_upgrade_from.iter().any(|f| fuel_version::compare_releases(f, cur).is_eq()) => {
            out.push(Check::pass("upgrade-path", format!("{cur} is in can_upgrade_from")))
        }
        Some(cur) => out.push(
            Check::fail(
                "upgrade-path",
                format!("the plan upgrades from {} only, the deployed release is {cur}", plan.can_upgrade_from.join(", ")),
                "upgrade through the intermediate releases first",
            )
            .skippable(),
        ),
        None => out.push(
            Check::fail(
                "upgrade-path",
                "no deployed release found: no /var/lib/fuel-upgrade/deployed.json and no labelled running containers",
                "check --root and --namespace; for a first installation pass --force",
            )
            .skippable(),
        ),
    }
    out
}

fn journal_check(journal: Option<&Journal>) -> Check {
    match journal {
        Some(j) if j.status.is_interrupted() => Check::fail(
            "interrupted-run",
            format!(
                "the run {} ({} -> {}) stopped half-way ({:?})",
                j.run_id,
                j.from_release.as_deref().unwrap_or("none"),
                j.to_release,
                j.status
            ),
            "finish it with `fuel-upgrade resume` or undo it with `fuel-upgrade rollback`",
        ),
        _ => Check::pass("interrupted-run", "no half-done run in the journal"),
    }
}

fn archive_check(plan: &Plan, root: &Path) -> Check {
    let mut bad = Vec::new();
    let archives = plan.image_archives();
    for a in &archives {
        let real = under(root, a);
        let readable = std::fs::File::open(&real).and_then(|mut f| {
            let mut head = [0u8; 512];
            f.read_exact(&mut head)
        });
        if let Err(e) = readable {
            bad.push(format!("{} ({e})", real.display()));
        }
    }
    if bad.is_empty() {
        Check::pass(
            "image-archives",
            format!("{} image archives readable", archives.len()),
        )
    } else {
        Check::fail(
            "image-archives",
            format!("image archives missing or unreadable: {}", bad.join(", ")),
            "install the fuel-docker-images package of the target release",
        )
    }
}

/// Free space summed per mount point: image archives land in the engine's
/// root, written and copied files on their target's mount, backups of
/// overwritten files in the state directory.
fn space_check(plan: &Plan, root: &Path, docker_root: Option<&Path>, state_dir: &Path) -> Check {
    let mounts = mount_points();
    let mut need: BTreeMap<PathBuf, u64> = BTreeMap::new();
    let mut add = |path: &Path, bytes: u64| {
        let m = mount_of(&mounts, path);
        *need.entry(m).or_default() += bytes;
    };
    if let Some(docker_root) = docker_root.filter(|d| d.exists()) {
        let archives = plan.image_archives();
        let total: u64 = archives
            .iter()
            .filter_map(|a| std::fs::metadata(under(root, a)).ok())
            .map(|m| m.len())
            .sum();
        add(docker_root, total);
    }
    for f in &plan.files {
        let target = under(root, f.target());
        let written = match f {
            FileAction::Copy { from, .. } => std::fs::metadata(under(root, from))
                .map(|m| m.len())
                .unwrap_or(0),
            FileAction::Write { content, .. } => content.len() as u64,
            _ => 0,
        };
        add(&existing_ancestor(&target), written);
        for p in f.changed_paths() {
            if let Ok(m) = std::fs::symlink_metadata(under(root, p)) {
                if m.is_file() {
                    add(&existing_ancestor(state_dir), m.len());
                }
            }
        }
    }
    let mut short = Vec::new();
    let mut summary = Vec::new();
    for (mount, bytes) in &need {
        let free = free_bytes(mount).unwrap_or(u64::MAX);
        // Keep a margin: a full disk mid-upgrade is the failure we avoid.
        let wanted = bytes + bytes / 10 + (1 << 20);
        summary.push(format!(
            "{}: {} needed, {} free",
            mount.display(),
            human(wanted),
            human(free)
        ));
        if free < wanted {
            short.push(format!(
                "{} needs {} but has {} free",
                mount.display(),
                human(wanted),
                human(free)
            ));
        }
    }
    if short.is_empty() {
        Check::pass(
            "free-space",
            if summary.is_empty() {
                "nothing to write".into()
            } else {
                summary.join("; ")
            },
        )
    } else {
        Check::fail(
            "free-space",
            short.join("; "),
            "free disk space on those file systems",
        )
    }
}

fn human(bytes: u64) -> String {
    if bytes == u64::MAX {
        return "unknown".into();
    }
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn existing_ancestor(path: &Path) -> PathBuf {
    path.ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"))
        .to_path_buf()
}

fn mount_points() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_octal(m)))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as \NNN.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap(), 8)
                    .unwrap_or(b'?'),
            );
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mount_of(mounts: &[PathBuf], path: &Path) -> PathBuf {
    let path = existing_ancestor(path)
        .canonicalize()
        .unwrap_or_else(|_| path.to_path_buf());
    mounts
        .iter()
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn free_bytes(path: &Path) -> Option<u64> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_octal("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_octal("/"), "/");
    }

    #[test]
    fn release_checks_follow_fuel_version_ordering() {
        let plan = Plan::parse(
            "release: \"8.0.0\"\ncan_upgrade_from: [\"7.0\"]\n",
            Path::new("p"),
        )
        .unwrap();
        let ok = release_checks(&plan, Some("7.0.0"));
        assert!(ok.iter().all(|c| c.passed), "{ok:?}");
        let bad = release_checks(&plan, Some("8.0"));
        let ids: Vec<&str> = bad
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["target-newer", "upgrade-path"]);
        assert!(bad.iter().all(|c| c.skippable));
    }
}
