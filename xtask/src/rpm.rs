//! `cargo xtask rpm`: build the release binaries, then the signed rpm set
//! (fuel_rpm::release does the work; this is its command line).

use anyhow::{bail, Context, Result};
use fuel_rpm::build::SigningKey;
use fuel_rpm::release::{self, ReleaseBuild, DEFAULT_REPO_BASEURL, DEVELOPMENT_KEY_DIR};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xshell::{cmd, Shell};

use crate::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// Release to build, X.Y.Z (default: the workspace version in Cargo.toml).
    #[arg(long)]
    pub fuel_version: Option<String>,
    /// rpm Release number (default: [workspace.metadata.fuel] release).
    #[arg(long)]
    pub release_number: Option<String>,
    /// Armored OpenPGP secret key that signs every package (default: the
    /// development key, generated once under target/fuel-dev-key/).
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    /// Directory of `docker save` archives: also build fuel-docker-images.
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Base URL of the release's repositories in fuel-release's .repo files
    /// (`$fuelver` is replaced by the release built; a file:// URL works).
    #[arg(long, default_value = DEFAULT_REPO_BASEURL)]
    pub repo_baseurl: String,
    /// Output directory (default: target/rpms).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON document (packages, sizes, sha256, times, key) instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let root = project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    // The rpms ship these binaries and their manual pages: build them first
    // (release profile, stripped).
    let specs = release::load_specs(&root, &root.join("specs"), true)?;
    let binaries: BTreeSet<String> = specs.iter().flat_map(|s| s.release_binaries()).collect();
    let packages = binary_packages(&sh, &binaries)?;
    cmd!(sh, "cargo build --release {packages...}")
        .quiet()
        .run()
        .context("building the release binaries")?;
    let pages: BTreeSet<String> = specs.iter().flat_map(|s| s.man_pages()).collect();
    write_man_pages(&sh, &root, &binaries, &pages)?;

    let mut build = ReleaseBuild::for_workspace(&root)?;
    if let Some(version) = args.fuel_version {
        build.fuel_version = version;
    }
    if let Some(release) = args.release_number {
        build.release = release;
    }
    if let Some(out) = args.out {
        build.out_dir = if out.is_absolute() {
            out
        } else {
            std::env::current_dir()?.join(out)
        };
    }
    build.images_dir = args.images;
    build.repo_baseurl = args.repo_baseurl;
    build.key = match &args.sign_key {
        Some(file) => Some(SigningKey::from_secret_key_file(file)?),
        None => None,
    };
    let key = build.signing_key()?;
    build.key = Some(key.clone());

    let started = Instant::now();
    let packages = build.build()?;
    let elapsed = started.elapsed();
    let total: u64 = packages.iter().map(|p| p.size).sum();
    let key_kind = if key.is_development() {
        "development key"
    } else {
        "release key"
    };

    if args.json {
        let json = serde_json::json!({
            "fuel_version": build.fuel_version,
            "release": build.release,
            "commit": build.commit,
            "source_date_epoch": build.source_date,
            "out_dir": build.out_dir,
            "key": {
                "development": key.is_development(),
                "user_id": key.user_id(),
                "fingerprint": key.fingerprint_hex(),
            },
            "packages": packages.iter().map(|p| Ok(serde_json::json!({
                "file_name": p.file_name,
                "path": p.path,
                "size": p.size,
                "sha256": p.sha256().with_context(|| format!("reading back {}", p.path.display()))?,
                "seconds": p.elapsed.as_secs_f64(),
            }))).collect::<anyhow::Result<Vec<_>>>()?,
            "total_size": total,
            "seconds": elapsed.as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    for p in &packages {
        println!(
            "{:<48} {:>12} {:>8.2} s",
            p.file_name,
            human_size(p.size),
            p.elapsed.as_secs_f64()
        );
    }
    println!(
        "Fuel {}-{}: {} packages, {} in {:.2} s into {}",
        build.fuel_version,
        build.release,
        packages.len(),
        human_size(total),
        elapsed.as_secs_f64(),
        build.out_dir.display()
    );
    println!(
        "signed with the {key_kind} {} ({})",
        key.fingerprint_hex(),
        key.user_id()
    );
    if key.is_development() {
        println!(
            "  development key: not for release; its public key is {}/public.asc (pass --sign-key FILE for a release)",
            root.join(DEVELOPMENT_KEY_DIR).display()
        );
    }
    Ok(())
}

/// `-p CRATE` for every crate owning a binary the specs ship
/// (`source = "target/release/NAME"`), so a new binary package is one spec edit.
fn binary_packages(sh: &Shell, binaries: &BTreeSet<String>) -> Result<Vec<String>> {
    let metadata = cmd!(sh, "cargo metadata --no-deps --format-version 1")
        .quiet()
        .read()
        .context("cargo metadata (which crate owns each shipped binary)")?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cargo metadata printed no JSON")?;
    // binary name → the workspace crate that builds it
    let mut owners = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if let (true, Some(bin), Some(name)) =
                (is_bin, target["name"].as_str(), package["name"].as_str())
            {
                owners.insert(bin.to_string(), name.to_string());
            }
        }
    }
    let mut crates = BTreeSet::new();
    for binary in binaries {
        let Some(owner) = owners.get(binary) else {
            bail!("a spec ships target/release/{binary}, but no workspace crate has a binary named `{binary}`: add a [[bin]] or fix the spec's source");
        };
        crates.insert(owner.clone());
    }
    Ok(crates
        .into_iter()
        .flat_map(|name| ["-p".to_string(), name])
        .collect())
}

/// target/man/PAGE.1.gz for every page the specs ship: the binary PAGE (or
/// BINARY of BINARY-SUBCOMMAND) writes its pages with its hidden
/// `man --dir target/man`, generated from its clap definition; each shipped
/// page is then gzip-compressed without a timestamp (reproducible).
fn write_man_pages(
    sh: &Shell,
    root: &Path,
    binaries: &BTreeSet<String>,
    pages: &BTreeSet<String>,
) -> Result<()> {
    let dir = root.join("target/man");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = BTreeSet::new();
    for page in pages {
        let Some(binary) = binaries
            .iter()
            .filter(|b| page == *b || page.starts_with(&format!("{b}-")))
            .max_by_key(|b| b.len())
        else {
            bail!("a spec ships target/man/{page}.1.gz, but no shipped binary is named {page} (or a prefix of it): ship the binary, or fix the spec's source");
        };
        if written.insert(binary) {
            let program = root.join("target/release").join(binary);
            cmd!(sh, "{program} man --dir {dir}")
                .quiet()
                .ignore_stdout()
                .run()
                .with_context(|| format!("{binary} man --dir {}: every binary whose manual page a spec ships needs the hidden `man` subcommand (fuel_man::write_pages)", dir.display()))?;
        }
        let roff = dir.join(format!("{page}.1"));
        let text = std::fs::read(&roff)
            .with_context(|| format!("{binary} man did not write {}", roff.display()))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&text)?;
        let gz_path = dir.join(format!("{page}.1.gz"));
        fuel_atomic::write_file(&gz_path, &gz.finish()?, 0o644)
            .with_context(|| format!("writing {}", gz_path.display()))?;
    }
    Ok(())
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
