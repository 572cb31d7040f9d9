//! The version benchmark.

pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("the version benchmark is not written yet")
}
