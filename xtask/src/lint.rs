//! `cargo xtask lint`: check the specs without building anything (also the
//! first step of `cargo xtask rpm`). Exit status non-zero on any problem.

use anyhow::Result;
use fuel_rpm::{lint, release};
use std::path::PathBuf;

use crate::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// Spec directory (default: specs/, plus the crates' [package.metadata.generate-rpm]).
    #[arg(long, value_name = "DIR")]
    pub specs: Option<PathBuf>,
    /// The `--images` directory of the build, to check fuel-docker-images too.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let root = project_root();
    let (dir, with_crates) = match args.specs {
        Some(dir) => (dir, false),
        None => (root.join("specs"), true),
    };
    let specs = release::load_specs(&root, &dir, with_crates)?;
    lint::lint(&specs, args.images.as_deref())?;
    for spec in &specs {
        println!(
            "ok  {} ({})",
            spec.doc.name.as_deref().unwrap_or("?"),
            spec.origin
        );
    }
    println!("{} specs clean", specs.len());
    Ok(())
}
