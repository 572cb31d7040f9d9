//! The real python-fuelclient 11.0.0 (from PyPI) in a virtualenv under
//! target/, for the end-to-end test that runs its `fuel` and `fuel2`
//! against the packaged fuel-api.
//!
//! - Python: Debian's /usr/bin/python3 (bookworm: 3.11) with python3-venv
//!   (`cargo xtask test` installs it). fuelclient and its dependencies
//!   install and run there; the one incompatibility, `yaml.load` called
//!   without a Loader (PyYAML 6 refuses that), is answered by
//!   tests/fuelclient/yaml_safe_load.py, imported through a `.pth` file of
//!   this virtualenv only.
//! - Versions: tests/fuelclient/requirements.txt pins every package.
//! - Cache: target/fuelclient-venv/<hash12> of the requirements, the
//!   compatibility module and the interpreter's version, built once under a
//!   lock. A virtualenv cannot be moved (its scripts name its interpreter by
//!   path), so it is built in place and a `complete` marker, written last,
//!   says it is usable.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build_cache::{content_hash, with_lock};
use crate::workspace_root;

/// Debian's interpreter, not whichever python3 comes first on PATH.
pub const PYTHON: &str = "/usr/bin/python3";

const REQUIREMENTS: &str = include_str!("../fuelclient/requirements.txt");
const YAML_SAFE_LOAD: &str = include_str!("../fuelclient/yaml_safe_load.py");
/// Read at interpreter start-up from site-packages: one import line.
const YAML_SAFE_LOAD_PTH: &str = "import yaml_safe_load\n";

/// A virtualenv holding python-fuelclient.
#[derive(Debug, Clone)]
pub struct Fuelclient {
    venv: PathBuf,
}

impl Fuelclient {
    /// The virtualenv's `fuel` (the old CLI) or `fuel2` (the cliff one).
    pub fn bin(&self, name: &str) -> PathBuf {
        self.venv.join("bin").join(name)
    }

    /// `name` (fuel or fuel2) with a clean environment: `home` as HOME (the
    /// client writes ~/.config/fuel/fuel_client.yaml there on first use),
    /// PATH, nothing else.
    pub fn command(&self, name: &str, home: &Path) -> Command {
        let mut command = Command::new(self.bin(name));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("LANG", "C.UTF-8")
            .current_dir(home);
        command
    }
}

/// The virtualenv, built on first use.
pub fn fuelclient() -> Result<Fuelclient> {
    if !Path::new(PYTHON).is_file() {
        bail!("{PYTHON} is missing: install Debian's python3 and python3-venv (cargo xtask test does)");
    }
    let version = run(Command::new(PYTHON).arg("--version"), "python3 --version")?;
    let hash = content_hash(&[
        REQUIREMENTS.as_bytes(),
        YAML_SAFE_LOAD.as_bytes(),
        version.trim().as_bytes(),
    ]);
    let venv = workspace_root()
        .join("target/fuelclient-venv")
        .join(&hash[..12]);
    let marker = venv.join("complete");
    with_lock(&venv.with_extension("lock"), || -> Result<()> {
        if marker.exists() {
            return Ok(());
        }
        if venv.exists() {
            // A build that died half-way.
            fs::remove_dir_all(&venv).with_context(|| format!("removing {}", venv.display()))?;
        }
        build(&venv)
            .with_context(|| format!("building the fuelclient virtualenv {}", venv.display()))?;
        fs::write(&marker, "").with_context(|| format!("writing {}", marker.display()))
    })?;
    Ok(Fuelclient { venv })
}

fn build(venv: &Path) -> Result<()> {
    run(
        Command::new(PYTHON).args(["-m", "venv"]).arg(venv),
        "python3 -m venv (is python3-venv installed?)",
    )?;
    let requirements = venv.join("requirements.txt");
    fs::write(&requirements, REQUIREMENTS)?;
    let python = venv.join("bin/python");
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--no-input",
                "--disable-pip-version-check",
                "-q",
                "-r",
            ])
            .arg(&requirements),
        "pip install -r tests/fuelclient/requirements.txt",
    )?;
    let site = run(
        Command::new(&python).args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]),
        "the virtualenv's site-packages",
    )?;
    let site = Path::new(site.trim());
    fs::write(site.join("yaml_safe_load.py"), YAML_SAFE_LOAD)?;
    fs::write(site.join("yaml_safe_load.pth"), YAML_SAFE_LOAD_PTH)?;
    Ok(())
}

/// Runs `command`; its stdout, or an error with what it said.
fn run(command: &mut Command, what: &str) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
