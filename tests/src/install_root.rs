//! Install roots for tests and benchmarks: small packages built by the
//! workspace's own builder (fuel-rpm), installed into a directory with the
//! real rpm (`rpm --root R -i`), so fuel-version reads a real rpm database.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use fuel_rpm::{Compression, Dependencies, FileAttrs, FileDef, FileKind, PackageDef, Scriptlets};

use crate::require_tool;

/// A noarch package holding `files` as (path, contents), mode 0644; files
/// under /etc are %config, as a real package's would be. `vcs` is its VCS
/// tag (the source commit, or "" for none).
pub fn small_package(
    name: &str,
    version: &str,
    release: &str,
    vcs: &str,
    files: &[(&str, &str)],
) -> PackageDef {
    PackageDef {
        name: name.into(),
        epoch: None,
        version: version.into(),
        release: release.into(),
        arch: "noarch".into(),
        summary: format!("{name} (test package)"),
        description: format!("{name}, built by fuel_e2e::install_root"),
        license: "Apache-2.0".into(),
        vendor: "Fuel Community".into(),
        url: "https://wiki.openstack.org/wiki/Fuel".into(),
        vcs: vcs.into(),
        packager: None,
        group: None,
        source_date: 1_437_649_174,
        compression: Compression::default(),
        files: files
            .iter()
            .map(|(dest, contents)| FileDef {
                dest: dest.to_string(),
                kind: FileKind::Contents(contents.as_bytes().to_vec()),
                mode: 0o644,
                user: "root".into(),
                group: "root".into(),
                attrs: FileAttrs {
                    config: dest.starts_with("/etc/"),
                    ..FileAttrs::default()
                },
            })
            .collect(),
        deps: Dependencies::default(),
        scriptlets: Scriptlets::default(),
        changelog: Vec::new(),
    }
}

/// Builds `defs` (unsigned) and installs them into `root` in one rpm
/// transaction, without dependency checks.
pub fn install(root: &Path, defs: &[PackageDef]) -> Result<()> {
    let rpm = require_tool("rpm");
    let rpms = tempfile::tempdir()?;
    let mut cmd = Command::new(rpm);
    cmd.arg("--root")
        .arg(root)
        .args(["-i", "--nodeps", "--nosignature"]);
    for def in defs {
        let built = fuel_rpm::build::write_package(def, None, rpms.path())
            .with_context(|| format!("building {}", def.name))?;
        cmd.arg(&built.path);
    }
    let out = cmd.output().context("running rpm")?;
    if !out.status.success() {
        bail!(
            "rpm --root {} -i failed: {}",
            root.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
