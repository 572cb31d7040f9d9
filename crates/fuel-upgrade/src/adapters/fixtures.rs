//! The releases of openstack.yaml (Nailgun fixture layout: a list of
//! `{pk, model: nailgun.release, fields: {name, version, ...}}`) that an
//! upgrade registers through the master API.

use std::path::{Path, PathBuf};

use fuel_api_client::{NewRelease, ReleaseState};

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

/// The `nailgun.release` entries of a fixture file, in file order (read by
/// fuel-version's one openstack.yaml reader: merge keys apply).
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
    let entries = fuel_version::nailgun_releases(&text).map_err(|e| {
        invalid(
            e.line().unwrap_or(0),
            format!("{e}: expected a list of {{pk, model, fields}} entries"),
        )
    })?;
    let mut out = Vec::new();
    for e in entries {
        let i = e.index;
        let name = e
            .name
            .ok_or_else(|| invalid(0, format!("entry {i}: fields.name is missing or not text")))?;
        let version = e.version.ok_or_else(|| {
            invalid(
                0,
                format!("entry {i} ({name}): fields.version is missing or not text"),
            )
        })?;
        let state = match e.state {
            Some(s) => s
                .parse::<ReleaseState>()
                .map_err(|m| invalid(0, format!("entry {i} ({name}): fields.state: {m}")))?,
            None => ReleaseState::Available,
        };
        out.push(NewRelease {
            name,
            version,
            operating_system: e.operating_system.unwrap_or_default(),
            description: e.description.unwrap_or_default(),
            state,
        });
    }
    Ok(out)
}
