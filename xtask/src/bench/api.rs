//! The api benchmark.

pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("the api benchmark is not written yet")
}
