//! `fuel-upgrade status`: the deployed release, the journaled run and the
//! namespace's containers, as text or JSON.

use serde::Serialize;

use crate::report::Report;
use crate::state::journal::RunStatus;

#[derive(Debug, Serialize)]
pub struct Status {
    pub namespace: String,
    pub deployed_release: Option<String>,
    pub run_status: Option<RunStatus>,
    pub run: Option<Report>,
    pub containers: Vec<ContainerStatus>,
}

#[derive(Debug, Serialize)]
pub struct ContainerStatus {
    pub name: String,
    pub service: String,
    pub release: String,
    pub running: bool,
}

impl Status {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "namespace {}: deployed release {}\n",
            self.namespace,
            self.deployed_release
                .as_deref()
                .unwrap_or("(none recorded)")
        );
        match &self.run {
            Some(r) => out.push_str(&r.to_text()),
            None => out.push_str("no run in the journal\n"),
        }
        for c in &self.containers {
            out.push_str(&format!(
                "  {:<40} {:<8} {}\n",
                c.name,
                c.release,
                if c.running { "running" } else { "stopped" }
            ));
        }
        out
    }
}
