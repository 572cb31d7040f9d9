//! The plan's semantic checks, the ones serde cannot express: names, paths,
//! images, volumes, ports, probes, network modes, dependencies and cycles,
//! file modes and owners. Every problem is collected with its line, so the
//! operator fixes them all in one pass.

use std::collections::BTreeSet;
use std::path::Path;

use super::{parse_mode, FileAction, Plan, PlanError};

impl Plan {
    /// Semantic checks serde cannot express.
    pub(super) fn check(&self, text: &str, file: &Path) -> Vec<PlanError> {
        let mut errors = Vec::new();
        let fail = |errors: &mut Vec<PlanError>, needle: &str, message: String| {
            errors.push(PlanError::Invalid {
                file: file.to_path_buf(),
                line: line_of(text, needle),
                message,
            });
        };
        if self.release.trim().is_empty() {
            fail(
                &mut errors,
                "release:",
                "field `release` is empty: name the release the plan installs".into(),
            );
        }
        let mut names = BTreeSet::new();
        for (i, s) in self.services.iter().enumerate() {
            let at = format!("name: {}", s.name);
            if !valid_name(&s.name) {
                fail(
                    &mut errors,
                    &at,
                    format!(
                        "services[{i}].name `{}`: use letters, digits, `-` and `_` only",
                        s.name
                    ),
                );
            }
            if !names.insert(s.name.as_str()) {
                fail(
                    &mut errors,
                    &at,
                    format!(
                        "services[{i}].name: duplicate service `{}`: service names must be unique",
                        s.name
                    ),
                );
            }
            if !s.image.archive.is_absolute() {
                fail(
                    &mut errors,
                    &at,
                    format!(
                        "services[{i}] ({}).image.archive `{}` is relative: give an absolute path",
                        s.name,
                        s.image.archive.display()
                    ),
                );
            }
            if s.image.tag.is_empty() || !s.image.tag.contains(':') {
                fail(
                    &mut errors,
                    &at,
                    format!(
                        "services[{i}] ({}).image.tag `{}`: give repository:tag",
                        s.name, s.image.tag
                    ),
                );
            }
            for v in &s.volumes {
                let host = v.split(':').next().unwrap_or("");
                if !host.starts_with('/') || v.split(':').count() < 2 {
                    fail(
                        &mut errors,
                        &at,
                        format!(
                            "services[{i}] ({}).volumes `{v}`: use /HOST/PATH:/CONTAINER/PATH[:ro]",
                            s.name
                        ),
                    );
                }
            }
            for p in &s.ports {
                let ok = p
                    .split_once(':')
                    .map(|(h, c)| h.parse::<u16>().is_ok() && c.parse::<u16>().is_ok());
                if ok != Some(true) {
                    fail(
                        &mut errors,
                        &at,
                        format!(
                            "services[{i}] ({}).ports `{p}`: use HOSTPORT:CONTAINERPORT",
                            s.name
                        ),
                    );
                }
            }
            let h = &s.healthcheck;
            let probes = h.exec.is_some() as u8
                + h.tcp.is_some() as u8
                + h.http.is_some() as u8
                + h.running.is_some() as u8;
            match s.network_mode.as_deref() {
                None | Some("bridge") => {}
                Some("host") if !s.ports.is_empty() => fail(
                    &mut errors,
                    &at,
                    format!("services[{i}] ({}).ports: a host-network service publishes no ports: drop them", s.name),
                ),
                Some("host") => {}
                Some(other) => fail(
                    &mut errors,
                    &at,
                    format!("services[{i}] ({}).network_mode `{other}`: use host or bridge", s.name),
                ),
            }
            if probes != 1 {
                fail(&mut errors, &at, format!("services[{i}] ({}).healthcheck: give exactly one of exec, tcp, http, running", s.name));
            }
            if matches!(&h.exec, Some(c) if c.is_empty()) {
                fail(
                    &mut errors,
                    &at,
                    format!(
                        "services[{i}] ({}).healthcheck.exec is empty: give the command",
                        s.name
                    ),
                );
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            for d in &s.depends_on {
                if !names.contains(d.as_str()) {
                    fail(
                        &mut errors,
                        &format!("name: {}", s.name),
                        format!(
                            "services[{i}] ({}).depends_on: unknown service `{d}`",
                            s.name
                        ),
                    );
                }
            }
        }
        if errors.is_empty() {
            if let Err(cycle) = self.start_levels() {
                fail(
                    &mut errors,
                    &format!("name: {}", cycle[0]),
                    format!(
                        "services: depends_on cycle {}: break it",
                        cycle.join(" -> ")
                    ),
                );
            }
        }
        for (i, f) in self.files.iter().enumerate() {
            let paths: Vec<&Path> = match f {
                FileAction::Copy { from, to, .. } | FileAction::Move { from, to } => vec![from, to],
                FileAction::Symlink { link, .. } => vec![link],
                FileAction::Write { path, .. } => vec![path],
            };
            for p in paths {
                if !p.is_absolute() {
                    fail(
                        &mut errors,
                        &p.display().to_string(),
                        format!(
                            "files[{i}] ({}): path `{}` is relative: give an absolute path",
                            f.describe(),
                            p.display()
                        ),
                    );
                }
            }
            if let Some(m) = f.mode() {
                if parse_mode(m).is_none() {
                    fail(
                        &mut errors,
                        m,
                        format!("files[{i}].mode `{m}`: give an octal mode such as \"0644\""),
                    );
                }
            }
            if let Some(o) = f.owner() {
                if o.split(':').count() != 2 {
                    fail(
                        &mut errors,
                        o,
                        format!("files[{i}].owner `{o}`: give USER:GROUP"),
                    );
                }
            }
        }
        if let Some(fx) = &self.fixtures {
            if !fx.openstack_yaml.is_absolute() {
                fail(
                    &mut errors,
                    "openstack_yaml",
                    "fixtures.openstack_yaml is relative: give an absolute path".into(),
                );
            }
        }
        errors
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// 1-based line of the first occurrence of `needle` (0 when absent).
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or(0)
}
