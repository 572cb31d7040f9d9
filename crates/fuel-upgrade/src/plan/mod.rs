//! The upgrade plan: which release it installs, which releases it upgrades
//! from, its services (a Compose-like subset), file actions and fixtures.
//! Parsed strictly (unknown fields are errors) and checked before use; every
//! error names the file, the line and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod check;
mod order;
pub(crate) mod preflight;

pub use order::dependency_levels;

/// Default place of the plan the fuel-upgrade rpm ships.
pub const DEFAULT_PLAN: &str = "/usr/share/fuel-upgrade/plans/upgrade.yaml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// The release this plan installs (X.Y.Z).
    pub release: String,
    /// Releases this plan upgrades from.
    pub can_upgrade_from: Vec<String>,
    #[serde(default)]
    pub services: Vec<Service>,
    /// Each entry is a one-key map (`- copy: {...}`), serde's externally
    /// tagged form (not a YAML tag).
    #[serde(default)]
    pub files: Vec<FileAction>,
    #[serde(default)]
    pub fixtures: Option<Fixtures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub image: Image,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// `HOST:CONTAINER[:ro]`, HOST absolute (under `--root`).
    #[serde(default)]
    pub volumes: Vec<String>,
    /// `HOST:CONTAINER` TCP ports published on the host.
    #[serde(default)]
    pub ports: Vec<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub healthcheck: Healthcheck,
    /// Seconds `docker stop` waits before killing (default 10).
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: u32,
    /// `host` shares the master's network (as Fuel's containers did: no
    /// per-container network setup, probes go to 127.0.0.1); default bridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
}

impl Service {
    pub fn host_network(&self) -> bool {
        self.network_mode.as_deref() == Some("host")
    }
}

fn default_stop_timeout() -> u32 {
    10
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// A `docker save` archive (absolute, under `--root`).
    pub archive: PathBuf,
    /// The repository:tag the archive holds.
    pub tag: String,
}

/// How the runner decides a service is up: exactly one probe, plus a timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// A command run in the container; exit status 0 is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// A TCP port of the container that accepts a connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<u16>,
    /// An HTTP GET on the container that answers 2xx or 3xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    /// The container is running (the default probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<bool>,
    /// Seconds to wait for the probe to pass.
    #[serde(default = "default_health_timeout")]
    pub timeout: u64,
}

impl Default for Healthcheck {
    fn default() -> Self {
        Healthcheck {
            exec: None,
            tcp: None,
            http: None,
            running: Some(true),
            timeout: default_health_timeout(),
        }
    }
}

fn default_health_timeout() -> u64 {
    60
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProbe {
    pub port: u16,
    #[serde(default = "default_http_path")]
    pub path: String,
}

fn default_http_path() -> String {
    "/".to_string()
}

/// One file action; each is undone exactly by a rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum FileAction {
    Copy {
        from: PathBuf,
        to: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
    Move {
        from: PathBuf,
        to: PathBuf,
    },
    Symlink {
        link: PathBuf,
        target: PathBuf,
    },
    Write {
        path: PathBuf,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
    },
}

impl FileAction {
    /// The path the action changes (the one a rollback restores first).
    pub fn target(&self) -> &Path {
        match self {
            FileAction::Copy { to, .. } | FileAction::Move { to, .. } => to,
            FileAction::Symlink { link, .. } => link,
            FileAction::Write { path, .. } => path,
        }
    }

    /// Every path the action changes.
    pub fn changed_paths(&self) -> Vec<&Path> {
        match self {
            FileAction::Move { from, to } => vec![to, from],
            other => vec![other.target()],
        }
    }

    pub fn describe(&self) -> String {
        match self {
            FileAction::Copy { from, to, .. } => {
                format!("copy {} -> {}", from.display(), to.display())
            }
            FileAction::Move { from, to } => format!("move {} -> {}", from.display(), to.display()),
            FileAction::Symlink { link, target } => {
                format!("symlink {} -> {}", link.display(), target.display())
            }
            FileAction::Write { path, .. } => format!("write {}", path.display()),
        }
    }

    pub fn mode(&self) -> Option<&str> {
        match self {
            FileAction::Copy { mode, .. } | FileAction::Write { mode, .. } => mode.as_deref(),
            _ => None,
        }
    }

    pub fn owner(&self) -> Option<&str> {
        match self {
            FileAction::Copy { owner, .. } | FileAction::Write { owner, .. } => owner.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// Nailgun fixture file whose `nailgun.release` entries are registered.
    pub openstack_yaml: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {file}: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Many(Vec<PlanError>),
}

impl Plan {
    /// The distinct image archives the services load, sorted.
    pub fn image_archives(&self) -> Vec<&Path> {
        let mut archives: Vec<&Path> = self
            .services
            .iter()
            .map(|s| s.image.archive.as_path())
            .collect();
        archives.sort();
        archives.dedup();
        archives
    }

    /// Reads, parses and checks a plan file.
    pub fn load(file: &Path) -> Result<Plan, PlanError> {
        let text = std::fs::read_to_string(file).map_err(|source| PlanError::Read {
            file: file.to_path_buf(),
            source,
        })?;
        Plan::parse(&text, file)
    }

    /// Parses and checks plan text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<Plan, PlanError> {
        if let Some((line, token)) = unrendered_token(text) {
            return Err(PlanError::Invalid {
                file: file.to_path_buf(),
                line,
                message: format!(
                    "template placeholder {token} was not substituted: use the plan the rpm installed \
                     (/usr/share/fuel-upgrade/plans/), not the source template"
                ),
            });
        }
        let plan: Plan = fuel_version::yaml::from_str(text).map_err(|e| PlanError::Invalid {
            file: file.to_path_buf(),
            line: e.line.unwrap_or(0),
            message: format!("{e}; fix the field and run again"),
        })?;
        let errors = plan.check(text, file);
        match errors.len() {
            0 => Ok(plan),
            1 => Err(errors.into_iter().next().unwrap()),
            _ => Err(PlanError::Many(errors)),
        }
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// Octal mode text ("0644", "755") to bits.
pub fn parse_mode(text: &str) -> Option<u32> {
    u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o7777)
}

fn unrendered_token(text: &str) -> Option<(usize, String)> {
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for token in [
            "@FUEL_VERSION@",
            "@FUEL_SERIES@",
            "@FUEL_RELEASE@",
            "@BUILD_COMMIT@",
        ] {
            if line.contains(token) {
                return Some((i + 1, token.to_string()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
release: "8.0.0"
can_upgrade_from: ["7.0.0"]
services:
  - name: db
    image: {archive: /img/a.tar, tag: "fuel/db:8.0.0"}
    command: [sleep, "1000"]
  - name: api
    image: {archive: /img/a.tar, tag: "fuel/api:8.0.0"}
    depends_on: [db]
    healthcheck: {tcp: 8000, timeout: 5}
files:
  - symlink: {link: /etc/fuel/current, target: /etc/fuel/8.0.0}
  - write: {path: /etc/fuel/x, content: "hi\n", mode: "0600", owner: "root:root"}
"#;

    #[test]
    fn parses_and_orders_by_dependency() {
        let plan = Plan::parse(GOOD, Path::new("p.yaml")).unwrap();
        assert_eq!(
            plan.start_levels().unwrap(),
            vec![vec!["db".to_string()], vec!["api".to_string()]]
        );
        assert_eq!(plan.services[0].healthcheck.running, Some(true));
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let text = GOOD.replace("command: [sleep, \"1000\"]", "comand: [sleep]");
        let err = Plan::parse(&text, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.yaml:7:"), "{err}");
        assert!(err.contains("comand"), "{err}");
    }

    #[test]
    fn semantic_errors_are_reported_together() {
        let text = GOOD
            .replace("depends_on: [db]", "depends_on: [nope]")
            .replace("/img/a.tar, tag: \"fuel/db", "img/a.tar, tag: \"fuel/db")
            .replace("/etc/fuel/current", "etc/current");
        let err = Plan::parse(&text, Path::new("p.yaml")).unwrap_err();
        let PlanError::Many(all) = err else {
            panic!("{err}")
        };
        let text: Vec<String> = all.iter().map(|e| e.to_string()).collect();
        assert_eq!(all.len(), 3, "{text:?}");
        assert!(
            text.iter().any(|e| e.contains("unknown service `nope`")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.contains("image.archive `img/a.tar` is relative")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|e| e.contains("`etc/current` is relative")),
            "{text:?}"
        );
    }

    #[test]
    fn cycles_and_duplicates_are_refused() {
        let text = GOOD.replace("command: [sleep, \"1000\"]", "depends_on: [api]");
        let err = Plan::parse(&text, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cycle"), "{err}");
        let text = GOOD.replace("name: api", "name: db");
        let err = Plan::parse(&text, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate service `db`"), "{err}");
    }

    #[test]
    fn unrendered_template_is_refused() {
        let err = Plan::parse("release: \"@FUEL_VERSION@\"\n", Path::new("t.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("t.yaml:1") && err.contains("@FUEL_VERSION@"),
            "{err}"
        );
    }
}
