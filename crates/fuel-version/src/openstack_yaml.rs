//! Nailgun's openstack.yaml (fuel-openstack-metadata): a list of fixtures
//! `{pk, model, fields}` sharing fields through anchors and `<<:` merge keys;
//! the `model: nailgun.release` entries are the releases. One reader for the
//! rpm build (/etc/fuel_openstack_version), fuel-version and fuel-upgrade
//! (the releases it registers).

use crate::yaml::{self, YamlError};

/// One `model: nailgun.release` entry. A field is `None` when it is absent
/// or not text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NailgunRelease {
    /// Position of the entry in the fixture list (0-based).
    pub index: usize,
    pub name: Option<String>,
    pub version: Option<String>,
    pub operating_system: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
}

/// Why openstack.yaml could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenstackYamlError {
    #[error("not YAML: {0}")]
    NotYaml(YamlError),
    #[error(
        "expected a list of Nailgun fixtures (`- pk: 1\\n  model: nailgun.release\\n  fields: …`)"
    )]
    NotAList,
}

impl OpenstackYamlError {
    /// The 1-based line of the problem, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            OpenstackYamlError::NotYaml(e) => e.line,
            OpenstackYamlError::NotAList => Some(1),
        }
    }
}

/// The releases of an openstack.yaml text, in file order (merge keys applied).
pub fn nailgun_releases(text: &str) -> Result<Vec<NailgunRelease>, OpenstackYamlError> {
    let doc: serde_json::Value = yaml::from_str(text).map_err(OpenstackYamlError::NotYaml)?;
    let fixtures = doc.as_array().ok_or(OpenstackYamlError::NotAList)?;
    Ok(fixtures
        .iter()
        .enumerate()
        .filter(|(_, f)| f.get("model").and_then(|m| m.as_str()) == Some("nailgun.release"))
        .map(|(index, f)| {
            let text = |key: &str| {
                f.get("fields")
                    .and_then(|fields| fields.get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            NailgunRelease {
                index,
                name: text("name"),
                version: text("version"),
                operating_system: text("operating_system"),
                description: text("description"),
                state: text("state"),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_the_nailgun_release_entries_with_merged_fields() {
        let yaml = "\
- pk: 1
  model: nailgun.role
  fields: {name: controller}
- pk: 2
  model: nailgun.release
  fields: &liberty
    name: Liberty on CentOS 7
    version: liberty-8.0
    state: available
- pk: 3
  model: nailgun.release
  fields:
    <<: *liberty
    name: Liberty on Ubuntu 14.04
    version: 8.0
";
        let releases = nailgun_releases(yaml).unwrap();
        assert_eq!(releases.len(), 2);
        assert_eq!(releases[0].index, 1);
        assert_eq!(releases[0].version.as_deref(), Some("liberty-8.0"));
        assert_eq!(releases[1].name.as_deref(), Some("Liberty on Ubuntu 14.04"));
        assert_eq!(releases[1].state.as_deref(), Some("available"), "merged");
        assert_eq!(releases[1].version, None, "a number is not text");
        assert_eq!(
            nailgun_releases("releases: {}\n").unwrap_err(),
            OpenstackYamlError::NotAList
        );
        assert_eq!(nailgun_releases("- [a\n").unwrap_err().line(), Some(1));
    }
}
