//! The releases of openstack.yaml (Nailgun fixture layout: a list of
//! `{pk, model: nailgun.release, fields: {name, version, ...}}`) that an
//! upgrade registers through the master API.

use std::path::{Path, PathBuf};

use fuel_api_client::{NewRelease, ReleaseState};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("cannot read fixtures {file}: {source}; install fuel-openstack-metadata")]
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
}

#[derive(Deserialize)]
struct Entry {
    model: String,
    #[serde(default)]
    fields: serde_yaml::Mapping,
}

/// The `nailgun.release` entries of a fixture file, in file order.
pub fn releases(file: &Path) -> Result<Vec<NewRelease>, FixtureError> {
    let text = std::fs::read_to_string(file).map_err(|source| FixtureError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let invalid = |line: usize, message: String| FixtureError::Invalid {
        file: file.to_path_buf(),
        line,
        message,
    };
    let entries: Vec<Entry> = serde_yaml::from_str(&text).map_err(|e| {
        invalid(
            e.location().map(|l| l.line()).unwrap_or(0),
            format!("{e}: expected a list of {{pk, model, fields}} entries"),
        )
    })?;
    let mut out = Vec::new();
    for (i, e) in entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.model == "nailgun.release")
    {
        let text_field = |key: &str| {
            e.fields
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let name = text_field("name")
            .ok_or_else(|| invalid(0, format!("entry {i}: fields.name is missing or not text")))?;
        let version = text_field("version").ok_or_else(|| {
            invalid(
                0,
                format!("entry {i} ({name}): fields.version is missing or not text"),
            )
        })?;
        let state = match text_field("state") {
            Some(s) => s
                .parse::<ReleaseState>()
                .map_err(|m| invalid(0, format!("entry {i} ({name}): fields.state: {m}")))?,
            None => ReleaseState::Available,
        };
        out.push(NewRelease {
            name,
            version,
            operating_system: text_field("operating_system").unwrap_or_default(),
            description: text_field("description").unwrap_or_default(),
            state,
        });
    }
    Ok(out)
}
