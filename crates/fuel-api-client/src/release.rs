//! Releases: `/api/v1/releases`, with Nailgun's release states.

use serde::{Deserialize, Serialize};

/// Whether environments may be deployed from a release (Nailgun's states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReleaseState {
    #[default]
    Available,
    Unavailable,
    /// Existing environments can be managed, no new ones deployed.
    #[serde(rename = "manageonly")]
    ManageOnly,
}

impl ReleaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseState::Available => "available",
            ReleaseState::Unavailable => "unavailable",
            ReleaseState::ManageOnly => "manageonly",
        }
    }
}

impl std::str::FromStr for ReleaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "available" => Ok(ReleaseState::Available),
            "unavailable" => Ok(ReleaseState::Unavailable),
            "manageonly" => Ok(ReleaseState::ManageOnly),
            other => Err(format!(
                "unknown release state `{other}`: expected available, unavailable or manageonly"
            )),
        }
    }
}

/// A release as `GET /api/v1/releases[/{id}]` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub operating_system: String,
    pub description: String,
    pub state: ReleaseState,
}

/// Body of `POST /api/v1/releases`; name + version must be unique (else 409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRelease {
    pub name: String,
    pub version: String,
    pub operating_system: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub state: ReleaseState,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_wire_names_are_nailguns() {
        for (state, name) in [
            (ReleaseState::Available, "available"),
            (ReleaseState::Unavailable, "unavailable"),
            (ReleaseState::ManageOnly, "manageonly"),
        ] {
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{name}\"")
            );
            assert_eq!(name.parse::<ReleaseState>().unwrap(), state);
            assert_eq!(state.as_str(), name);
        }
    }
}
