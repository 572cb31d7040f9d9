//! Durable after-actions: before the package transaction, the after-actions
//! it may trigger are recorded in `STATE_DIR/pending.json`; each is cleared
//! only once it has succeeded. A run killed between the transaction and its
//! actions, or whose action failed, leaves them there, and the next run
//! performs them although its packages no longer change (the handlers
//! Ansible loses, ansible#10498).

use std::fs;
use std::path::{Path, PathBuf};

use fuel_pm::{After, Ensure, Provider};
use serde::{Deserialize, Serialize};

pub const PENDING_FILE: &str = "pending.json";
const SCHEMA: u32 = 1;

/// One after-action owed to a package that changed.
#[derive(Debug, Clone, Eq, Serialize, Deserialize)]
pub struct PendingAction {
    pub package: String,
    pub provider: Provider,
    pub ensure: Ensure,
    pub name: String,
    /// The document's `timeout` for it, in seconds (`None`: the applier's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// The same action whatever its timeout: a document that changed only the
/// timeout still owes (and runs once) the action a killed run left.
impl PartialEq for PendingAction {
    fn eq(&self, other: &Self) -> bool {
        (&self.package, self.provider, self.ensure, &self.name)
            == (&other.package, other.provider, other.ensure, &other.name)
    }
}

impl PendingAction {
    pub fn new(package: &str, after: &After) -> Self {
        PendingAction {
            package: package.to_string(),
            provider: after.provider,
            ensure: after.ensure,
            name: after.name.clone(),
            timeout: after.timeout,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    schema: u32,
    pending: Vec<PendingAction>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a pending-actions file ({message}): run its after-actions by hand if they are still owed, then remove it")]
    Corrupt { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The pending after-actions of a node, as on disk.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
    actions: Vec<PendingAction>,
}

impl Pending {
    /// Reads `STATE_DIR/pending.json`; none there is nothing pending.
    pub fn load(state_dir: &Path) -> Result<Pending, StateError> {
        let path = state_dir.join(PENDING_FILE);
        let actions = match fs::read(&path) {
            Ok(bytes) => {
                let file: StateFile =
                    serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                if file.schema != SCHEMA {
                    return Err(StateError::Corrupt {
                        path,
                        message: format!(
                            "schema {} where this applier writes {SCHEMA}",
                            file.schema
                        ),
                    });
                }
                file.pending
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        Ok(Pending { path, actions })
    }

    pub fn actions(&self) -> &[PendingAction] {
        &self.actions
    }

    /// Records more owed actions (those already recorded are not doubled).
    pub fn add(
        &mut self,
        actions: impl IntoIterator<Item = PendingAction>,
    ) -> Result<(), StateError> {
        let before = self.actions.len();
        for action in actions {
            if !self.actions.contains(&action) {
                self.actions.push(action);
            }
        }
        if self.actions.len() == before {
            return Ok(());
        }
        self.save()
    }

    /// Clears an action once done (or no longer owed).
    pub fn clear(&mut self, action: &PendingAction) -> Result<(), StateError> {
        let before = self.actions.len();
        self.actions.retain(|a| a != action);
        if self.actions.len() == before {
            return Ok(());
        }
        self.save()
    }

    /// Writes the file atomically (fuel-atomic: temporary file, fsync,
    /// rename, directory fsync); with nothing pending, removes it.
    fn save(&self) -> Result<(), StateError> {
        let write_error = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        if self.actions.is_empty() {
            return fuel_atomic::remove(&self.path).map_err(write_error);
        }
        let dir = self
            .path
            .parent()
            .expect("the state file is in a directory");
        fs::create_dir_all(dir).map_err(write_error)?;
        let file = StateFile {
            schema: SCHEMA,
            pending: self.actions.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).expect("the state serializes");
        bytes.push(b'\n');
        // 0600: exec one-liners are the operator's, not every local user's.
        fuel_atomic::write_file(&self.path, &bytes, 0o600).map_err(write_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn action(package: &str, name: &str) -> PendingAction {
        PendingAction {
            package: package.into(),
            provider: Provider::Systemd,
            ensure: Ensure::Running,
            name: name.into(),
            timeout: None,
        }
    }

    #[test]
    fn pending_actions_survive_until_each_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let mut pending = Pending::load(&state).unwrap();
        assert!(pending.actions().is_empty());
        pending
            .add([action("a", "a.service"), action("b", "b.service")])
            .unwrap();
        pending.add([action("a", "a.service")]).unwrap();

        let reloaded = Pending::load(&state).unwrap();
        assert_eq!(
            reloaded.actions(),
            [action("a", "a.service"), action("b", "b.service")]
        );
        let mode = fs::metadata(state.join(PENDING_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        pending.clear(&action("a", "a.service")).unwrap();
        assert_eq!(
            Pending::load(&state).unwrap().actions(),
            [action("b", "b.service")]
        );
        pending.clear(&action("b", "b.service")).unwrap();
        assert!(
            !state.join(PENDING_FILE).exists(),
            "nothing pending, no file"
        );
        assert!(
            fs::read_dir(&state).unwrap().next().is_none(),
            "no temporary file left"
        );
    }

    #[test]
    fn the_file_names_provider_and_ensure_as_the_document_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut pending = Pending::load(dir.path()).unwrap();
        pending
            .add([PendingAction {
                package: "wget".into(),
                provider: Provider::Exec,
                ensure: Ensure::Running,
                name: "wget -V".into(),
                timeout: Some(30),
            }])
            .unwrap();
        let text = fs::read_to_string(dir.path().join(PENDING_FILE)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["pending"][0]["provider"], "exec");
        assert_eq!(json["pending"][0]["name"], "wget -V");
        assert_eq!(json["pending"][0]["timeout"], 30);
        // A file of an applier before timeouts existed still reads.
        fs::write(
            dir.path().join(PENDING_FILE),
            r#"{"schema":1,"pending":[{"package":"wget","provider":"exec","ensure":"running","name":"wget -V"}]}"#,
        )
        .unwrap();
        let old = Pending::load(dir.path()).unwrap();
        assert_eq!(old.actions()[0].timeout, None);
    }

    #[test]
    fn a_damaged_file_is_refused_naming_it_and_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PENDING_FILE), "{not json").unwrap();
        let err = Pending::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("pending.json") && err.contains("remove it"),
            "{err}"
        );
    }
}
