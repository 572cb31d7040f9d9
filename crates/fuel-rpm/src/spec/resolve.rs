//! A checked spec + one release's values → [`PackageDef`].
//!
//! The value parsers (modes, dependencies, compression, destinations) live
//! here and the lint calls the same ones, so what lints clean resolves.

use super::template::Variables;
use super::{Asset, ConfigFlag, ScriptletKind, ScriptletSpec, Spec, SpecError};
use crate::package::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Marks a `source` under the `--images` directory.
pub const IMAGES_DIR_VAR: &str = "@IMAGES_DIR@";

/// Everything a spec leaves to the release being built.
#[derive(Debug, Clone)]
pub struct ReleaseValues<'a> {
    pub version: &'a str,
    pub release: &'a str,
    pub commit: &'a str,
    pub source_date: u32,
    pub license: &'a str,
    pub vendor: &'a str,
    pub url: &'a str,
    pub packager: &'a str,
    pub vars: &'a Variables,
    pub images_dir: Option<&'a Path>,
    /// Armored public key for `generate = "signing-key"`.
    pub public_key: &'a str,
    /// Names of the master's packages of the set (what a `meta` spec requires).
    pub set_names: &'a [String],
}

/// The spec as one rpm of this release.
pub fn resolve(spec: &Spec, values: &ReleaseValues) -> Result<PackageDef, SpecError> {
    let doc = &spec.doc;
    let err = |field: &str, message: String| SpecError::new(&spec.origin, field, message);
    let required = |field: &str, value: &Option<String>| {
        value
            .clone()
            .ok_or_else(|| err(field, "missing: add it".into()))
    };
    // A template: fuel-release-@FUEL_VERSION@ installs beside other releases.
    let raw_name = required("name", &doc.name)?;
    let vars = values.vars;
    let name = vars.substitute(&raw_name);

    let mut files = Vec::new();
    for (index, asset) in doc.assets.iter().enumerate() {
        files.extend(resolve_asset(spec, index, asset, values)?);
    }

    let mut deps = Dependencies {
        requires: deps_of(spec, "requires", &doc.requires, vars)?,
        provides: deps_of(spec, "provides", &doc.provides, vars)?,
        conflicts: deps_of(spec, "conflicts", &doc.conflicts, vars)?,
        obsoletes: deps_of(spec, "obsoletes", &doc.obsoletes, vars)?,
        recommends: deps_of(spec, "recommends", &doc.recommends, vars)?,
        suggests: deps_of(spec, "suggests", &doc.suggests, vars)?,
        supplements: deps_of(spec, "supplements", &doc.supplements, vars)?,
        enhances: deps_of(spec, "enhances", &doc.enhances, vars)?,
    };
    if doc.meta {
        let evr = format!("{}-{}", values.version, values.release);
        for other in values.set_names.iter().filter(|n| **n != raw_name) {
            deps.requires.push(Dependency {
                name: vars.substitute(other),
                constraint: Some((DepOp::Eq, evr.clone())),
            });
        }
    }

    let mut scriptlets = Scriptlets::default();
    for script in doc.scriptlets() {
        let Some(body) = script.body else { continue };
        let text = scriptlet_text(spec, &script, body).map_err(|m| err(script.field, m))?;
        let interpreter = scriptlet_interpreter(&script)
            .map_err(|m| err(&format!("{}_prog", script.field), m))?;
        let slot = match script.kind {
            ScriptletKind::Pre => &mut scriptlets.pre,
            ScriptletKind::Post => &mut scriptlets.post,
            ScriptletKind::Preun => &mut scriptlets.preun,
            ScriptletKind::Postun => &mut scriptlets.postun,
            ScriptletKind::Pretrans => &mut scriptlets.pretrans,
            ScriptletKind::Posttrans => &mut scriptlets.posttrans,
        };
        *slot = Some(Scriptlet {
            body: vars.substitute(&text),
            interpreter,
        });
    }
    let compression = match &doc.compression {
        Some(text) => parse_compression(text).map_err(|m| err("compression", m))?,
        None => Compression::default(),
    };
    Ok(PackageDef {
        name: name.clone(),
        epoch: None,
        version: values.version.to_string(),
        release: values.release.to_string(),
        arch: required("arch", &doc.arch)?,
        summary: vars.substitute(&required("summary", &doc.summary)?),
        description: vars.substitute(required("description", &doc.description)?.trim_end()),
        license: doc
            .license
            .clone()
            .unwrap_or_else(|| values.license.to_string()),
        vendor: doc
            .vendor
            .clone()
            .unwrap_or_else(|| values.vendor.to_string()),
        url: doc.url.clone().unwrap_or_else(|| values.url.to_string()),
        vcs: values.commit.to_string(),
        packager: Some(
            doc.packager
                .clone()
                .unwrap_or_else(|| values.packager.to_string()),
        ),
        group: doc.group.clone(),
        source_date: values.source_date,
        compression,
        files,
        deps,
        scriptlets,
        changelog: vec![ChangelogEntry {
            author: format!(
                "{} - {}-{}",
                values.packager, values.version, values.release
            ),
            time: values.source_date,
            text: format!(
                "- Fuel release {} built from commit {}",
                values.version, values.commit
            ),
        }],
    })
}

pub(crate) fn resolve_asset(
    spec: &Spec,
    index: usize,
    asset: &Asset,
    values: &ReleaseValues,
) -> Result<Vec<FileDef>, SpecError> {
    let field = |name: &str| format!("assets[{index}].{name}");
    let err = |name: &str, message: String| SpecError::new(&spec.origin, &field(name), message);
    let raw_dest = asset.dest.as_deref().ok_or_else(|| {
        err(
            "dest",
            "missing: add the absolute path on the installed system".into(),
        )
    })?;
    // Destinations are templates: release-specific files (fuel-@FUEL_VERSION@-base.repo).
    let dest = normalize_dest(&values.vars.substitute(raw_dest)).map_err(|m| err("dest", m))?;
    let mode = asset
        .mode
        .as_deref()
        .map(parse_mode)
        .transpose()
        .map_err(|m| err("mode", m))?;
    let (config, noreplace) = parse_config(asset.config.as_ref()).map_err(|m| err("config", m))?;
    let attrs = FileAttrs {
        config,
        noreplace,
        doc: asset.doc,
        missingok: asset.missingok,
    };
    let user = asset.user.clone().unwrap_or_else(|| "root".into());
    let group = asset.group.clone().unwrap_or_else(|| "root".into());
    let entry = |dest: String, kind: FileKind, mode: u32| FileDef {
        dest,
        kind,
        mode,
        user: user.clone(),
        group: group.clone(),
        attrs,
    };
    let read_template = |path: &Path, name: &str| -> Result<Vec<u8>, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(
                name,
                format!("cannot read template {}: {e}", path.display()),
            )
        })?;
        Ok(values.vars.substitute(&text).into_bytes())
    };

    if asset.dir {
        return Ok(vec![entry(dest, FileKind::Dir, mode.unwrap_or(0o755))]);
    }
    if asset.ghost {
        return Ok(vec![entry(dest, FileKind::Ghost, mode.unwrap_or(0o644))]);
    }
    if let Some(target) = &asset.symlink {
        return Ok(vec![entry(
            dest,
            FileKind::Symlink {
                target: target.clone(),
            },
            mode.unwrap_or(0o777),
        )]);
    }
    if let Some(contents) = &asset.contents {
        let bytes = if asset.template {
            values.vars.substitute(contents).into_bytes()
        } else {
            contents.clone().into_bytes()
        };
        return Ok(vec![entry(
            dest,
            FileKind::Contents(bytes),
            mode.unwrap_or(0o644),
        )]);
    }
    if let Some(generator) = &asset.generate {
        let bytes = match generator.as_str() {
            "signing-key" => values.public_key.as_bytes().to_vec(),
            "openstack-version" => {
                let from = asset.from.as_deref().ok_or_else(|| {
                    err("from", "missing: name the openstack.yaml fixture".into())
                })?;
                let path = spec.origin.source_path(from);
                let text = values
                    .vars
                    .substitute(&std::fs::read_to_string(&path).map_err(|e| {
                        err("from", format!("cannot read {}: {e}", path.display()))
                    })?);
                let version = openstack_version(&text)
                    .map_err(|m| err("from", format!("{}: {m}", path.display())))?;
                format!("{version}\n").into_bytes()
            }
            other => {
                return Err(err(
                    "generate",
                    format!(
                        "unknown generator `{other}`: use `openstack-version` or `signing-key`"
                    ),
                ))
            }
        };
        return Ok(vec![entry(
            dest,
            FileKind::Contents(bytes),
            mode.unwrap_or(0o644),
        )]);
    }
    let source = asset.source.as_deref().ok_or_else(|| {
        err(
            "source",
            "missing: give one of source, contents, generate, dir, symlink or ghost".into(),
        )
    })?;
    let path = source_path(spec, source, values.images_dir).map_err(|m| err("source", m))?;
    if path.is_dir() {
        let mut out = vec![entry(dest.clone(), FileKind::Dir, 0o755)];
        for found in walkdir::WalkDir::new(&path)
            .min_depth(1)
            .sort_by_file_name()
        {
            let found =
                found.map_err(|e| err("source", format!("cannot walk {}: {e}", path.display())))?;
            let relative = found
                .path()
                .strip_prefix(&path)
                .expect("walkdir stays under its root");
            let file_dest = format!("{dest}/{}", relative.to_string_lossy());
            if found.file_type().is_dir() {
                out.push(entry(file_dest, FileKind::Dir, 0o755));
            } else {
                let kind = if asset.template {
                    FileKind::Contents(read_template(found.path(), "source")?)
                } else {
                    FileKind::Source(found.path().to_path_buf())
                };
                out.push(entry(
                    file_dest,
                    kind,
                    mode.unwrap_or_else(|| default_file_mode(found.path())),
                ));
            }
        }
        return Ok(out);
    }
    let dest = if raw_dest.ends_with('/') {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{dest}/{file_name}")
    } else {
        dest
    };
    let kind = if asset.template {
        FileKind::Contents(read_template(&path, "source")?)
    } else {
        FileKind::Source(path.clone())
    };
    Ok(vec![entry(
        dest,
        kind,
        mode.unwrap_or_else(|| default_file_mode(&path)),
    )])
}

/// Where a `source` is on disk (`@IMAGES_DIR@/…` needs the images directory).
pub fn source_path(
    spec: &Spec,
    source: &str,
    images_dir: Option<&Path>,
) -> Result<PathBuf, String> {
    match source.strip_prefix(IMAGES_DIR_VAR) {
        Some(rest) => {
            let dir = images_dir
                .ok_or_else(|| "needs the images directory: pass `--images DIR`".to_string())?;
            Ok(dir.join(rest.trim_start_matches('/')))
        }
        None => Ok(spec.origin.source_path(source)),
    }
}

fn default_file_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    let executable = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    if executable {
        0o755
    } else {
        0o644
    }
}

fn deps_of(
    spec: &Spec,
    field: &str,
    table: &BTreeMap<String, String>,
    vars: &Variables,
) -> Result<Vec<Dependency>, SpecError> {
    table
        .iter()
        .map(|(name, constraint)| {
            parse_dependency(name, &vars.substitute(constraint))
                .map_err(|m| SpecError::new(&spec.origin, &format!("{field}.{name}"), m))
        })
        .collect()
}

/// cargo-generate-rpm's form: `*` (any version) or `OP VERSION`.
/// The interpreter rpm records for rpm's built-in Lua (`%post -p <lua>`).
pub const LUA: &str = "<lua>";

/// The file a scriptlet value names, when it is one: as cargo-generate-rpm
/// does, a value that is a relative path (one word, no newline) to an
/// existing file means that file's contents. Relative to the workspace root
/// (specs/) or the crate (Cargo.toml).
pub fn scriptlet_file(spec: &Spec, value: &str) -> Option<PathBuf> {
    let word = !value.is_empty() && !value.contains(char::is_whitespace);
    if !word || value.starts_with('/') {
        return None;
    }
    let path = spec.origin.source_path(value);
    path.is_file().then_some(path)
}

/// A scriptlet's text: the value, or the file it names.
pub fn scriptlet_text(spec: &Spec, script: &ScriptletSpec, value: &str) -> Result<String, String> {
    match scriptlet_file(spec, value) {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read the scriptlet file {}: {e}", path.display())),
        None => Ok(value.to_string()),
    }
    .and_then(|text| {
        if text.trim().is_empty() {
            Err(format!(
                "{} is empty: give the script or leave the key out",
                script.field
            ))
        } else {
            Ok(text)
        }
    })
}

/// The `_prog` of a scriptlet: `None` (/bin/sh), `<lua>` or an absolute
/// interpreter path. Interpreter arguments are refused: rpm's `<lua>` takes
/// none, and the set needs none.
pub fn scriptlet_interpreter(script: &ScriptletSpec) -> Result<Option<String>, String> {
    match script.prog {
        None => Ok(None),
        Some([one])
            if one == LUA || (one.starts_with('/') && !one.contains(char::is_whitespace)) =>
        {
            Ok(Some(one.clone()))
        }
        Some([]) => Err(
            "empty: give the interpreter, e.g. [\"<lua>\"] or [\"/bin/sh\"], or leave the key out"
                .into(),
        ),
        Some([one]) => Err(format!(
            "`{one}` is not an interpreter: use \"<lua>\" (rpm's built-in Lua) or an absolute path"
        )),
        Some(more) => Err(format!(
            "{more:?}: interpreter arguments are not supported: give the interpreter alone"
        )),
    }
}

pub fn parse_dependency(name: &str, constraint: &str) -> Result<Dependency, String> {
    let text = constraint.trim();
    if text == "*" || text.is_empty() {
        return Ok(Dependency {
            name: name.to_string(),
            constraint: None,
        });
    }
    let ops = [
        (">=", DepOp::Ge),
        ("<=", DepOp::Le),
        ("=", DepOp::Eq),
        (">", DepOp::Gt),
        ("<", DepOp::Lt),
    ];
    for (token, op) in ops {
        if let Some(version) = text.strip_prefix(token) {
            let version = version.trim();
            if version.is_empty() || version.contains(char::is_whitespace) {
                break;
            }
            return Ok(Dependency {
                name: name.to_string(),
                constraint: Some((op, version.to_string())),
            });
        }
    }
    Err(format!("`{constraint}` is not a version constraint: write `*` or `OP VERSION` (OP one of = >= <= > <)"))
}

/// Octal permission bits ("0644", "755"); a leading file-type part as
/// cargo-generate-rpm allows ("100755") is dropped, the builder sets it.
pub fn parse_mode(text: &str) -> Result<u32, String> {
    let bits = u32::from_str_radix(text, 8)
        .map_err(|_| format!("`{text}` is not an octal mode: write e.g. \"0644\""))?;
    let perms = bits & 0o7777;
    if bits != perms && bits >> 12 != 0o10 && bits >> 12 != 0o4 {
        return Err(format!("`{text}` has file-type bits that are not a file or directory: write only the permission bits, e.g. \"0755\""));
    }
    Ok(perms)
}

pub fn parse_config(flag: Option<&ConfigFlag>) -> Result<(bool, bool), String> {
    match flag {
        None | Some(ConfigFlag::Bool(false)) => Ok((false, false)),
        Some(ConfigFlag::Bool(true)) => Ok((true, false)),
        Some(ConfigFlag::Word(word)) if word == "noreplace" => Ok((true, true)),
        Some(ConfigFlag::Word(word)) => Err(format!(
            "`{word}` is not a config flag: write `true` or `\"noreplace\"`"
        )),
    }
}

pub fn parse_compression(text: &str) -> Result<Compression, String> {
    let (kind, level) = match text.split_once(':') {
        Some((kind, level)) => (kind, Some(level)),
        None => (text, None),
    };
    let bad = || {
        format!("`{text}` is not a compression: write `none`, `gzip`, `gzip:LEVEL`, `zstd` or `zstd:LEVEL`")
    };
    let (kind, default_level, max) = match kind {
        "none" => (CompressionKind::None, 0, 0),
        "gzip" => (CompressionKind::Gzip, 6, 9),
        "zstd" => (CompressionKind::Zstd, 3, 22),
        _ => return Err(bad()),
    };
    let level = match level {
        Some(level) => level
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(bad)?,
        None => default_level,
    };
    Ok(Compression {
        kind,
        level,
        threads: 0,
    })
}

/// An absolute destination without `.`/`..` components, `//` or a trailing `/`.
pub fn normalize_dest(dest: &str) -> Result<String, String> {
    if !dest.starts_with('/') {
        return Err(format!(
            "`{dest}` is not absolute: write the full installed path, starting with /"
        ));
    }
    let mut parts = Vec::new();
    for part in dest.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." {
            return Err(format!(
                "`{dest}` contains `{part}`: write the path without it"
            ));
        }
        parts.push(part);
    }
    Ok(format!("/{}", parts.join("/")))
}

/// The first release's `version` in Nailgun's fixture layout
/// (`- pk: 1 / model: nailgun.release / fields: {version: …}`), read by
/// fuel-version's one openstack.yaml reader.
pub fn openstack_version(yaml: &str) -> Result<String, String> {
    let releases = fuel_version::nailgun_releases(yaml).map_err(|e| e.to_string())?;
    let first = releases.first().ok_or(
        "expected a list of fixtures with at least one release (`model: nailgun.release`)",
    )?;
    let version = first
        .version
        .as_deref()
        .ok_or("the first release has no fields.version string")?;
    if version.contains('\n') || version.trim().is_empty() {
        return Err("the first release's fields.version must be one non-empty line".into());
    }
    Ok(version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_absolute_and_normalized() {
        assert_eq!(
            normalize_dest("/usr//share/fuel/").unwrap(),
            "/usr/share/fuel"
        );
        assert!(normalize_dest("etc/x")
            .unwrap_err()
            .contains("not absolute"));
        assert!(normalize_dest("/etc/../x").unwrap_err().contains("`..`"));
    }

    #[test]
    fn dependencies_modes_and_compression_parse() {
        assert_eq!(parse_dependency("a", "*").unwrap().constraint, None);
        assert_eq!(
            parse_dependency("a", ">= 1.2-3").unwrap().constraint,
            Some((DepOp::Ge, "1.2-3".into()))
        );
        assert!(parse_dependency("a", "~ 1").is_err());
        assert_eq!(parse_mode("0640").unwrap(), 0o640);
        assert_eq!(parse_mode("100755").unwrap(), 0o755);
        assert!(parse_mode("0x9").is_err());
        assert_eq!(parse_compression("zstd:19").unwrap().level, 19);
        assert_eq!(
            parse_compression("none").unwrap().kind,
            CompressionKind::None
        );
        assert!(parse_compression("xz").is_err());
    }

    #[test]
    fn scriptlet_interpreters_are_lua_or_an_absolute_path() {
        let script = |prog: &[&str]| {
            let prog: Vec<String> = prog.iter().map(|p| p.to_string()).collect();
            scriptlet_interpreter(&ScriptletSpec {
                kind: ScriptletKind::Posttrans,
                field: "post_trans_script",
                body: Some("x"),
                prog: Some(&prog),
            })
        };
        assert_eq!(script(&["<lua>"]).unwrap().as_deref(), Some(LUA));
        assert_eq!(
            script(&["/bin/bash"]).unwrap().as_deref(),
            Some("/bin/bash")
        );
        assert!(script(&["lua"]).unwrap_err().contains("<lua>"));
        assert!(script(&[]).unwrap_err().contains("empty"));
        assert!(script(&["/bin/sh", "-e"])
            .unwrap_err()
            .contains("arguments are not supported"));
    }

    #[test]
    fn a_one_word_relative_scriptlet_value_naming_a_file_is_that_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("issue.lua"), "print(1)\n").unwrap();
        let spec = Spec {
            origin: super::super::Origin {
                file: dir.path().join("specs/x.toml"),
                field_prefix: "",
                source_base: dir.path().to_path_buf(),
                workspace_root: dir.path().to_path_buf(),
            },
            doc: Default::default(),
        };
        assert_eq!(
            scriptlet_file(&spec, "issue.lua"),
            Some(dir.path().join("issue.lua"))
        );
        // Text, not files: several words, absolute paths, missing files.
        assert_eq!(scriptlet_file(&spec, "cat issue.lua"), None);
        assert_eq!(scriptlet_file(&spec, "/bin/true"), None);
        assert_eq!(scriptlet_file(&spec, "missing.lua"), None);
    }

    #[test]
    fn openstack_version_is_the_first_release() {
        let yaml = "- pk: 1\n  model: nailgun.release\n  fields: {name: Liberty on CentOS 7, version: liberty-8.0}\n- pk: 2\n  fields: {version: other}\n";
        assert_eq!(openstack_version(yaml).unwrap(), "liberty-8.0");
        assert!(openstack_version("{}").is_err());
    }
}
