//! The rpm benchmark.

pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("the rpm benchmark is not written yet")
}
