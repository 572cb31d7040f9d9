//! The live state a plan is computed from: the deployed-release record and
//! the namespace's containers as the engine reports them.

use crate::adapters::engine::{Engine, LiveContainer};
use crate::error::RunError;
use crate::state::journal::Deployed;
use crate::state::StateDir;

pub(crate) struct Live {
    pub deployed: Option<Deployed>,
    pub containers: Vec<LiveContainer>,
    /// The deployed release: the record, else the one release the running
    /// containers agree on.
    pub current: Option<String>,
}

impl Live {
    pub async fn discover(
        state: &StateDir,
        engine: &Engine,
        namespace: &str,
    ) -> Result<Live, RunError> {
        let deployed = state.load_deployed()?.filter(|d| d.namespace == namespace);
        let containers = engine.list(namespace).await?;
        let current = deployed.as_ref().map(|d| d.release.clone()).or_else(|| {
            let mut releases: Vec<&str> = containers
                .iter()
                .filter(|c| c.running)
                .map(|c| c.release.as_str())
                .collect();
            releases.sort();
            releases.dedup();
            (releases.len() == 1).then(|| releases[0].to_string())
        });
        Ok(Live {
            deployed,
            containers,
            current,
        })
    }
}
