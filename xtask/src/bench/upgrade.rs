//! The upgrade benchmark.

pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("the upgrade benchmark is not written yet")
}
