//! `cargo xtask repo`: the release's yum repositories from the built rpms:
//! <out>/<X.Y.Z>/{base,updates,security}/ with repodata/ (fuel_rpm::repo).

use anyhow::{Context, Result};
use fuel_rpm::release::ReleaseBuild;
use fuel_rpm::repo;
use std::path::PathBuf;

use crate::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// The rpms of the base repository (default: target/rpms).
    #[arg(long, value_name = "DIR")]
    pub rpms: Option<PathBuf>,
    /// Repository root (default: target/repo); the release's tree is <out>/<X.Y.Z>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Release X.Y.Z (default: the workspace version).
    #[arg(long)]
    pub fuel_version: Option<String>,
    /// rpms for the updates repository (default: none, an empty repository).
    #[arg(long, value_name = "DIR")]
    pub updates: Option<PathBuf>,
    /// rpms for the security repository (default: none, an empty repository).
    #[arg(long, value_name = "DIR")]
    pub security: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let root = project_root();
    let release = ReleaseBuild::for_workspace(&root)?;
    let version = args.fuel_version.unwrap_or(release.fuel_version);
    let rpms_dir = args.rpms.unwrap_or_else(|| root.join("target/rpms"));
    let out = args.out.unwrap_or_else(|| root.join("target/repo"));
    let list = |dir: Option<PathBuf>| -> Result<Vec<PathBuf>> {
        match dir {
            Some(dir) => Ok(repo::rpms_in(&dir)?),
            None => Ok(Vec::new()),
        }
    };
    let base = repo::rpms_in(&rpms_dir).context("no rpms to index: run `cargo xtask rpm` first")?;
    let base: Vec<PathBuf> = base
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(&format!("-{version}-")))
        })
        .collect();
    anyhow::ensure!(
        !base.is_empty(),
        "{} holds no rpms of release {version}: run `cargo xtask rpm` first",
        rpms_dir.display()
    );
    let summaries = repo::write_release_repositories(
        &out,
        &version,
        &base,
        &list(args.updates)?,
        &list(args.security)?,
        u64::from(release.source_date),
    )?;
    for summary in &summaries {
        println!(
            "{:<60} {} packages",
            summary.dir.display(),
            summary.packages.len()
        );
    }
    let out = std::fs::canonicalize(&out)?;
    println!("repository base URL: file://{}/{version}  (cargo xtask rpm --repo-baseurl 'file://{}/$fuelver')", out.display(), out.display());
    Ok(())
}
