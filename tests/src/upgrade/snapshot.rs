//! A snapshot of everything an upgrade changes on a master: containers with
//! their ids, images, states and labels, files with content, mode and owner,
//! link targets, and the API's releases; tests compare states with it
//! instead of hand-written expectations.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use super::{run, Env, LABEL_NAMESPACE};

impl Env {
    /// Everything an upgrade may change, with this environment's namespace
    /// and root taken out so two environments compare equal.
    pub fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let mut containers = BTreeMap::new();
        let ids = run(Command::new("docker").args([
            "ps",
            "-aq",
            "--filter",
            &format!("label={LABEL_NAMESPACE}={}", self.namespace),
        ]))?;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            // Config.Image is the tag the container was created from, even if
            // another test re-pointed the tag since (docker ps would show an id).
            let inspect = run(Command::new("docker")
                .args([
                    "inspect",
                    "--format",
                    "{{.Id}}\t{{.Name}}\t{{.Config.Image}}\t{{.State.Status}}\t{{json .Config.Labels}}",
                ])
                .args(&ids))?;
            for line in inspect.lines().filter(|l| !l.is_empty()) {
                let f: Vec<&str> = line.split('\t').collect();
                if f.len() != 5 {
                    bail!("docker inspect: unexpected line {line:?}");
                }
                let full = f[1].trim_start_matches('/');
                let name = full
                    .strip_prefix(&format!("{}-", self.namespace))
                    .unwrap_or(full)
                    .to_string();
                let labels: BTreeMap<String, String> = serde_json::from_str(f[4])
                    .with_context(|| format!("labels of {full}: {}", f[4]))?;
                let labels = labels
                    .into_iter()
                    .map(|(k, v)| (k, v.replace(&self.namespace, "NS")))
                    .collect();
                containers.insert(
                    name,
                    Container {
                        id: f[0].to_string(),
                        image: f[2].to_string(),
                        state: f[3].to_string(),
                        labels,
                    },
                );
            }
        }
        let mut files = BTreeMap::new();
        walk(&self.root, &self.root, &self.namespace, &mut files)
            .with_context(|| format!("reading the files under {}", self.root.display()))?;
        Ok(Snapshot {
            containers,
            files,
            releases: self.api.releases()?.into_iter().collect(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir {
        mode: u32,
    },
    File {
        content: String,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Link {
        target: String,
    },
}

/// A container of the environment (its name without the namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    /// The tag it was created from.
    pub image: String,
    pub state: String,
    /// With the namespace replaced by NS.
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub containers: BTreeMap<String, Container>,
    pub files: BTreeMap<String, Entry>,
    pub releases: BTreeSet<(String, String, String, String, String)>,
}

impl Snapshot {
    /// This snapshot with container ids made comparable with another
    /// environment's: a container that is the very one of `start` (same
    /// name, same id) gets "(as at the start)", one that did not exist at the
    /// start "(created by the run)"; a container recreated under a name of
    /// the start keeps its real id, so it differs from anything.
    pub fn comparable(&self, start: &Snapshot) -> Snapshot {
        let mut out = self.clone();
        for (name, c) in out.containers.iter_mut() {
            match start.containers.get(name) {
                Some(s) if s.id == c.id => c.id = "(as at the start)".into(),
                Some(_) => {}
                None => c.id = "(created by the run)".into(),
            }
        }
        out
    }

    /// Ok when this snapshot equals `expected`, both made comparable with
    /// `start` ([`Snapshot::comparable`]); else `what` and the difference.
    pub fn expect_same(
        &self,
        expected: &Snapshot,
        start: &Snapshot,
        what: &str,
    ) -> anyhow::Result<()> {
        let (this, expected) = (self.comparable(start), expected.comparable(start));
        if this != expected {
            bail!("{what}:\n{}", this.diff(&expected));
        }
        Ok(())
    }

    /// A readable difference, for assertion messages.
    pub fn diff(&self, other: &Snapshot) -> String {
        let mut out = String::new();
        for (k, v) in &self.containers {
            if other.containers.get(k) != Some(v) {
                out.push_str(&format!(
                    "container {k}: {v:?} vs {:?}\n",
                    other.containers.get(k)
                ));
            }
        }
        for k in other
            .containers
            .keys()
            .filter(|k| !self.containers.contains_key(*k))
        {
            out.push_str(&format!(
                "container {k}: absent vs {:?}\n",
                other.containers[k]
            ));
        }
        for (k, v) in &self.files {
            if other.files.get(k) != Some(v) {
                out.push_str(&format!("file {k}: {v:?} vs {:?}\n", other.files.get(k)));
            }
        }
        for k in other.files.keys().filter(|k| !self.files.contains_key(*k)) {
            out.push_str(&format!("file {k}: absent vs {:?}\n", other.files[k]));
        }
        if self.releases != other.releases {
            out.push_str(&format!(
                "releases: {:?} vs {:?}\n",
                self.releases, other.releases
            ));
        }
        out
    }
}

/// The runner's own bookkeeping (journal, backups, lock, log) is not part of
/// the master's state, except the deployed-release record.
fn ignored(rel: &str) -> bool {
    (rel.starts_with("var/lib/fuel-upgrade/") && rel != "var/lib/fuel-upgrade/deployed.json")
        || rel == "var/lib/fuel-upgrade"
        || rel == "var/log/fuel-upgrade.log"
        || rel.starts_with("var/www/nailgun/docker/images")
}

fn walk(
    root: &Path,
    dir: &Path,
    namespace: &str,
    out: &mut BTreeMap<String, Entry>,
) -> anyhow::Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .and_then(|d| {
            d.map(|e| e.map(|e| e.path()))
                .collect::<Result<Vec<_>, _>>()
        })
        .with_context(|| format!("listing {}", dir.display()))?;
    entries.sort();
    for path in entries {
        let rel = path.strip_prefix(root)?.to_string_lossy().into_owned();
        if ignored(&rel) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let entry = if meta.file_type().is_symlink() {
            Entry::Link {
                target: std::fs::read_link(&path)
                    .with_context(|| format!("reading the link {}", path.display()))?
                    .to_string_lossy()
                    .into_owned(),
            }
        } else if meta.is_dir() {
            walk(root, &path, namespace, out)?;
            Entry::Dir {
                mode: meta.mode() & 0o7777,
            }
        } else {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let content = String::from_utf8_lossy(&bytes).replace(namespace, "NS");
            Entry::File {
                content,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
            }
        };
        out.insert(rel, entry);
    }
    Ok(())
}
