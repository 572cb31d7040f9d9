//! Container images for the upgrade tests and benchmark, built locally
//! (nothing can be pulled): Debian's static busybox in a tiny root file
//! system (`/bin/busybox`, `/bin/sh`, `/tmp`, `/www/index.html`),
//! `docker import`ed once, then tagged and `docker save`d as each test needs.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::require_tool;

/// The busybox base image as `tag`, imported unless docker already has it.
pub fn busybox_image(tag: &str) -> Result<()> {
    require_tool("docker");
    let present = Command::new("docker")
        .args(["image", "inspect", tag])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    let busybox = require_tool("busybox");
    let dir = tempfile::tempdir()?;
    let rootfs = dir.path().join("rootfs");
    for sub in ["bin", "www", "tmp"] {
        std::fs::create_dir_all(rootfs.join(sub))?;
    }
    std::fs::copy(&busybox, rootfs.join("bin/busybox"))
        .with_context(|| format!("copying {}", busybox.display()))?;
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh"))?;
    std::fs::write(rootfs.join("www/index.html"), "fuel\n")?;
    let tar = dir.path().join("rootfs.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tar)
        .arg("."))?;
    run(Command::new("docker").arg("import").arg(&tar).arg(tag))?;
    Ok(())
}

/// A `docker save` archive at `archive` holding `tags`, each the image `base`.
pub fn save_archive(base: &str, archive: &Path, tags: &[String]) -> Result<()> {
    for t in tags {
        run(Command::new("docker").args(["tag", base, t]))?;
    }
    if let Some(dir) = archive.parent() {
        std::fs::create_dir_all(dir)?;
    }
    run(Command::new("docker")
        .arg("save")
        .arg("-o")
        .arg(archive)
        .args(tags))?;
    Ok(())
}

/// Runs a command; its output is the error when it fails.
fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
