//! What a running command acts with: the root it changes, the state
//! directory, the Docker engine, the master API and the progress log.

use std::path::Path;

use crate::adapters::engine::Engine;
use crate::adapters::master::Master;
use crate::report::ProgressLog;
use crate::state::StateDir;

pub(crate) struct Context<'a> {
    /// File actions, volumes and archives are under it.
    pub root: &'a Path,
    /// The plan file (its name goes into the containers' plan label).
    pub plan_file: &'a Path,
    pub state: &'a StateDir,
    pub progress: &'a ProgressLog,
    pub engine: &'a Engine,
    pub master: &'a Master,
}
