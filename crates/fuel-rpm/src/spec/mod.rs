//! Specs are data: one TOML file per package in specs/, or a crate's
//! `[package.metadata.generate-rpm]` section, both in cargo-generate-rpm's
//! schema (plus a few Fuel extensions, listed on [`Asset`] and [`SpecDoc`]).
//!
//! Loading only parses; [`crate::lint`] checks; [`resolve`] turns a checked
//! spec into a [`crate::PackageDef`] for one release.

pub mod resolve;
pub mod template;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One package's spec, as written, with where it came from.
#[derive(Debug, Clone)]
pub struct Spec {
    pub origin: Origin,
    pub doc: SpecDoc,
}

/// Where a spec was read from, so every error can name the file and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file, as given (specs/fuel-release.toml, crates/fuel-api/Cargo.toml).
    pub file: PathBuf,
    /// Prefix of every field name in messages: "" for a spec file,
    /// "package.metadata.generate-rpm." for a Cargo manifest.
    pub field_prefix: &'static str,
    /// Relative `source` paths start here: the workspace root for specs/,
    /// the crate directory for a manifest (where `target/…` means the
    /// workspace's target directory, as cargo-generate-rpm does).
    pub source_base: PathBuf,
    /// The workspace root: no source may lie outside it.
    pub workspace_root: PathBuf,
}

impl Origin {
    pub fn field(&self, name: &str) -> String {
        format!("{}{}", self.field_prefix, name)
    }

    /// The file as messages show it: relative to the workspace when inside it.
    pub fn display_file(&self) -> PathBuf {
        self.file
            .strip_prefix(&self.workspace_root)
            .unwrap_or(&self.file)
            .to_path_buf()
    }

    /// A relative `source` made absolute (not yet checked to exist).
    pub fn source_path(&self, source: &str) -> PathBuf {
        let path = Path::new(source);
        if path.is_absolute() {
            path.to_path_buf()
        } else if self.field_prefix.is_empty() || source.starts_with("target/") {
            self.workspace_root.join(path)
        } else {
            self.source_base.join(path)
        }
    }
}

impl Spec {
    /// The workspace binaries this package ships: every asset whose source is
    /// `target/release/NAME` (what `cargo xtask rpm` must build first).
    pub fn release_binaries(&self) -> Vec<String> {
        self.target_sources("target/release")
    }

    /// The manual pages this package ships: every asset whose source is
    /// `target/man/PAGE.1.gz` (what `cargo xtask rpm` generates), as PAGE.
    pub fn man_pages(&self) -> Vec<String> {
        self.target_sources("target/man")
            .into_iter()
            .filter_map(|file| file.strip_suffix(".1.gz").map(str::to_string))
            .collect()
    }

    /// File names of the sources directly in the workspace's `dir`.
    fn target_sources(&self, dir: &str) -> Vec<String> {
        let dir = self.origin.workspace_root.join(dir);
        self.doc
            .assets
            .iter()
            .filter_map(|asset| asset.source.as_deref())
            .filter_map(|source| {
                let path = self.origin.source_path(source);
                let name = path.strip_prefix(&dir).ok()?;
                let mut parts = name.components();
                match (parts.next(), parts.next()) {
                    (Some(only), None) => Some(only.as_os_str().to_string_lossy().into_owned()),
                    _ => None,
                }
            })
            .collect()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.display_file().display())
    }
}

/// cargo-generate-rpm's package keys, plus Fuel's: `compression`, `meta`, `only_with`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecDoc {
    pub name: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// `noarch`, `x86_64`, … (required).
    pub arch: Option<String>,
    /// Defaults to the workspace's license.
    pub license: Option<String>,
    pub vendor: Option<String>,
    pub url: Option<String>,
    pub group: Option<String>,
    pub packager: Option<String>,
    #[serde(default)]
    pub assets: Vec<Asset>,
    /// name → `*` (any version) or `OP VERSION`; values are templates.
    #[serde(default)]
    pub requires: BTreeMap<String, String>,
    #[serde(default)]
    pub provides: BTreeMap<String, String>,
    #[serde(default)]
    pub conflicts: BTreeMap<String, String>,
    #[serde(default)]
    pub obsoletes: BTreeMap<String, String>,
    #[serde(default)]
    pub recommends: BTreeMap<String, String>,
    #[serde(default)]
    pub suggests: BTreeMap<String, String>,
    #[serde(default)]
    pub supplements: BTreeMap<String, String>,
    #[serde(default)]
    pub enhances: BTreeMap<String, String>,
    /// Scriptlets: the text, or (as cargo-generate-rpm reads them) a
    /// relative path to a file holding it; see [`SpecDoc::scriptlets`].
    pub pre_install_script: Option<String>,
    pub post_install_script: Option<String>,
    pub pre_uninstall_script: Option<String>,
    pub post_uninstall_script: Option<String>,
    pub pre_trans_script: Option<String>,
    pub post_trans_script: Option<String>,
    /// cargo-generate-rpm's `*_script_prog`: the interpreter, `["<lua>"]` for
    /// rpm's built-in Lua (runs in a root without /bin/sh). Default /bin/sh.
    pub pre_install_script_prog: Option<Vec<String>>,
    pub post_install_script_prog: Option<Vec<String>>,
    pub pre_uninstall_script_prog: Option<Vec<String>>,
    pub post_uninstall_script_prog: Option<Vec<String>>,
    pub pre_trans_script_prog: Option<Vec<String>>,
    pub post_trans_script_prog: Option<Vec<String>>,
    /// Fuel: `none`, `gzip`, `zstd` or `zstd:LEVEL` (default zstd level 3).
    pub compression: Option<String>,
    /// Fuel: the meta package, which requires every other master package of
    /// the set at exactly this version-release.
    #[serde(default)]
    pub meta: bool,
    /// Fuel: built only when the named input is given; `images` (`--images DIR`).
    pub only_with: Option<String>,
    /// Fuel: where the package is installed; the meta package requires the
    /// master's packages only.
    #[serde(default)]
    pub placement: Placement,
}

/// Which scriptlet a spec key fills, in rpm's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptletKind {
    Pre,
    Post,
    Preun,
    Postun,
    Pretrans,
    Posttrans,
}

/// One scriptlet as a spec writes it: its key, text (or file) and interpreter.
#[derive(Debug, Clone, Copy)]
pub struct ScriptletSpec<'a> {
    pub kind: ScriptletKind,
    /// `post_trans_script`; the interpreter's key adds `_prog`.
    pub field: &'static str,
    pub body: Option<&'a str>,
    pub prog: Option<&'a [String]>,
}

impl SpecDoc {
    /// The six scriptlet keys with their `_prog` companions, in rpm's order.
    pub fn scriptlets(&self) -> [ScriptletSpec<'_>; 6] {
        fn one<'a>(
            kind: ScriptletKind,
            field: &'static str,
            body: &'a Option<String>,
            prog: &'a Option<Vec<String>>,
        ) -> ScriptletSpec<'a> {
            ScriptletSpec {
                kind,
                field,
                body: body.as_deref(),
                prog: prog.as_deref(),
            }
        }
        [
            one(
                ScriptletKind::Pre,
                "pre_install_script",
                &self.pre_install_script,
                &self.pre_install_script_prog,
            ),
            one(
                ScriptletKind::Post,
                "post_install_script",
                &self.post_install_script,
                &self.post_install_script_prog,
            ),
            one(
                ScriptletKind::Preun,
                "pre_uninstall_script",
                &self.pre_uninstall_script,
                &self.pre_uninstall_script_prog,
            ),
            one(
                ScriptletKind::Postun,
                "post_uninstall_script",
                &self.post_uninstall_script,
                &self.post_uninstall_script_prog,
            ),
            one(
                ScriptletKind::Pretrans,
                "pre_trans_script",
                &self.pre_trans_script,
                &self.pre_trans_script_prog,
            ),
            one(
                ScriptletKind::Posttrans,
                "post_trans_script",
                &self.post_trans_script,
                &self.post_trans_script_prog,
            ),
        ]
    }
}

/// Where a package of the set is installed (`placement = "master"`, the
/// default, or `"node"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// The Fuel master node: `dnf install fuel` installs it (the meta package
    /// requires it).
    #[default]
    Master,
    /// Deployed nodes: the master serves it from its repositories; the meta
    /// package does not require it.
    Node,
}

/// One entry of `assets`: cargo-generate-rpm's keys (source, dest, mode, user,
/// group, config, doc) and Fuel's (template, dir, symlink, ghost, generate,
/// contents, missingok). Exactly one of source, contents, generate, dir,
/// symlink, ghost says what the entry is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// A file, or a directory packaged recursively under `dest`. Relative to the
    /// workspace root (spec files) or the crate (manifests). `@IMAGES_DIR@/…`
    /// means the `--images` directory, the one source outside the workspace.
    pub source: Option<String>,
    pub dest: Option<String>,
    /// Octal permission bits, e.g. "0644". Default 0644 (0755 for directories
    /// and for sources that are executable).
    pub mode: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    /// `true` (%config) or `"noreplace"` (%config(noreplace)).
    pub config: Option<ConfigFlag>,
    #[serde(default)]
    pub doc: bool,
    #[serde(default)]
    pub missingok: bool,
    /// Substitute `@NAME@` variables in the contents at build time.
    #[serde(default)]
    pub template: bool,
    /// Inline contents (with `template`, substituted too).
    pub contents: Option<String>,
    /// Contents computed at build time: `openstack-version` (the first
    /// release's version in the YAML fixture named by `from`) or `signing-key`
    /// (the public key that signs the set).
    pub generate: Option<String>,
    /// For `generate = "openstack-version"`: the fixture file.
    pub from: Option<String>,
    /// An owned directory.
    #[serde(default)]
    pub dir: bool,
    /// A symbolic link to this target.
    pub symlink: Option<String>,
    /// %ghost: owned, not shipped.
    #[serde(default)]
    pub ghost: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ConfigFlag {
    Bool(bool),
    Word(String),
}

/// One problem in one field of one spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {field}: {message}", file.display())]
pub struct SpecError {
    pub file: PathBuf,
    pub field: String,
    pub message: String,
}

impl SpecError {
    pub fn new(origin: &Origin, field: &str, message: String) -> Self {
        SpecError {
            file: origin.display_file(),
            field: origin.field(field),
            message,
        }
    }
}

/// A spec that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: PathBuf, message: String },
}

/// Every `*.toml` spec of `specs_dir`, sorted by file name.
pub fn load_dir(specs_dir: &Path, workspace_root: &Path) -> Result<Vec<Spec>, LoadError> {
    let entries = std::fs::read_dir(specs_dir).map_err(|source| LoadError::Read {
        file: specs_dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| load_spec_file(file, workspace_root))
        .collect()
}

/// One spec file of specs/.
pub fn load_spec_file(file: &Path, workspace_root: &Path) -> Result<Spec, LoadError> {
    let text = read(file)?;
    let doc: SpecDoc = toml::from_str(&text).map_err(|e| LoadError::Parse {
        file: file.to_path_buf(),
        message: toml_message(&e),
    })?;
    Ok(Spec {
        origin: Origin {
            file: file.to_path_buf(),
            field_prefix: "",
            source_base: workspace_root.to_path_buf(),
            workspace_root: workspace_root.to_path_buf(),
        },
        doc,
    })
}

/// A crate's `[package.metadata.generate-rpm]`; the crate's name and
/// description fill `name` and `summary` when the section leaves them out,
/// as cargo-generate-rpm does.
pub fn load_cargo_manifest(manifest: &Path, workspace_root: &Path) -> Result<Spec, LoadError> {
    let text = read(manifest)?;
    let parse_error = |message: String| LoadError::Parse {
        file: manifest.to_path_buf(),
        message,
    };
    let value: toml::Table = toml::from_str(&text).map_err(|e| parse_error(toml_message(&e)))?;
    let package = value.get("package").and_then(|p| p.as_table());
    let section = package
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("generate-rpm"))
        .cloned()
        .ok_or_else(|| parse_error("no [package.metadata.generate-rpm] section: add one (cargo-generate-rpm's schema) to package this crate".into()))?;
    let mut doc: SpecDoc = section.try_into().map_err(|e: toml::de::Error| {
        parse_error(format!(
            "[package.metadata.generate-rpm]: {}",
            toml_message(&e)
        ))
    })?;
    let crate_field = |key: &str| {
        package
            .and_then(|p| p.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    doc.name = doc.name.or_else(|| crate_field("name"));
    doc.summary = doc.summary.or_else(|| crate_field("description"));
    Ok(Spec {
        origin: Origin {
            file: manifest.to_path_buf(),
            field_prefix: "package.metadata.generate-rpm.",
            source_base: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
            workspace_root: workspace_root.to_path_buf(),
        },
        doc,
    })
}

fn read(file: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(file).map_err(|source| LoadError::Read {
        file: file.to_path_buf(),
        source,
    })
}

/// toml's message already names the line, column and key; keep it on one line.
fn toml_message(error: &toml::de::Error) -> String {
    error
        .to_string()
        .trim()
        .replace('\n', " ")
        .replace("  ", " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_binaries_and_man_pages_are_the_sources_under_target() {
        let root = Path::new("/work/tree");
        let spec = Spec {
            origin: Origin {
                file: root.join("crates/fuel-example/Cargo.toml"),
                field_prefix: "package.metadata.generate-rpm.",
                source_base: root.join("crates/fuel-example"),
                workspace_root: root.to_path_buf(),
            },
            doc: SpecDoc {
                assets: [
                    "target/release/fuel-example",
                    "dist/unit.service",
                    "target/release/man/x.1",
                    "/work/tree/target/release/fuel-other",
                ]
                .iter()
                .map(|source| Asset {
                    source: Some(source.to_string()),
                    ..Asset::default()
                })
                .collect(),
                ..SpecDoc::default()
            },
        };
        assert_eq!(spec.release_binaries(), ["fuel-example", "fuel-other"]);
        assert!(spec.man_pages().is_empty());
        let mut spec = spec;
        spec.doc.assets[2].source = Some("target/man/fuel-example.1.gz".into());
        assert_eq!(spec.man_pages(), ["fuel-example"]);
    }
}
