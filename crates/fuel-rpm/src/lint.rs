//! Checks specs before anything is built: every problem is reported at once,
//! each naming the spec file and the field, and saying what to do.

use crate::spec::resolve::{self, ReleaseValues, IMAGES_DIR_VAR};
use crate::spec::template::{unknown_variables, Variables};
use crate::spec::Placement;
use crate::spec::{Asset, Origin, ScriptletSpec, Spec, SpecError};
use crate::FileKind;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Every problem the lint found (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintErrors(pub Vec<SpecError>);

impl fmt::Display for LintErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        writeln!(
            f,
            "{count} problem{} in the specs:",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            writeln!(f, "  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LintErrors {}

/// Directories the base system (filesystem, systemd, dnf, httpd…) owns: a
/// Fuel package that owned one would fight those packages over its mode and
/// remove it on erase.
pub const BASE_SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/etc/pki",
    "/etc/yum",
    "/etc/yum/vars",
    "/etc/yum.repos.d",
    "/etc/dnf",
    "/etc/dnf/vars",
    "/etc/systemd",
    "/etc/systemd/system",
    "/home",
    "/lib",
    "/lib64",
    "/media",
    "/mnt",
    "/opt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/sys",
    "/tmp",
    "/usr",
    "/usr/bin",
    "/usr/include",
    "/usr/lib",
    "/usr/lib/systemd",
    "/usr/lib/systemd/system",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local",
    "/usr/sbin",
    "/usr/share",
    "/usr/share/doc",
    "/usr/share/licenses",
    "/usr/share/man",
    "/var",
    "/var/cache",
    "/var/lib",
    "/var/log",
    "/var/run",
    "/var/tmp",
    "/var/www",
];

/// Directories that belong to deployed nodes, not the master: the package
/// handling writes its document under /etc/hiera/ on each node (design:
/// "Package handling via Fuel CLI"). A master package may not ship anything
/// at or below them.
pub const NODE_SIDE_DIRS: &[&str] = &["/etc/hiera"];

/// The node-side directory `dest` is at or below, if any.
pub fn node_side_dir(dest: &str) -> Option<&'static str> {
    NODE_SIDE_DIRS.iter().copied().find(|dir| {
        dest.strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// rpmlint's limit for a description line.
pub const MAX_DESCRIPTION_LINE: usize = 79;

/// Values of the length a real build substitutes, for length checks.
fn realistic_values() -> Variables {
    let mut vars = Variables::new();
    vars.set("FUEL_VERSION", "10.0.0")
        .set("FUEL_SERIES", "10.0")
        .set("FUEL_RELEASE", "1")
        .set("BUILD_COMMIT", "0".repeat(40))
        .set("BUILD_NUMBER", "1000")
        .set("BUILD_ID", "2015-07-23_10-59-34")
        .set("REPO_BASEURL", "http://mirror.fuel-infra.org/fuel/10.0.0");
    vars
}

/// Package names the loader recognises for `only_with`.
const OPTIONAL_INPUTS: &[&str] = &["images"];

/// Checks a whole release set: each spec on its own, then destinations across
/// packages. `images_dir` is the `--images` directory when one is given.
pub fn lint(specs: &[Spec], images_dir: Option<&Path>) -> Result<(), LintErrors> {
    let mut errors = Vec::new();
    // dest → (spec file, field) of its first owner, across the set.
    let mut owners: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    let vars = Variables::placeholders();
    for spec in specs {
        let skipped = spec.doc.only_with.as_deref() == Some("images") && images_dir.is_none();
        lint_package_fields(spec, &mut errors);
        if let Some(name) = &spec.doc.name {
            if let Some(first) = names.insert(name.clone(), spec.origin.display_file()) {
                errors.push(SpecError::new(
                    &spec.origin,
                    "name",
                    format!(
                        "`{name}` is also the name in {}: rename one",
                        first.display()
                    ),
                ));
            }
        }
        let values = ReleaseValues {
            version: "0.0.0",
            release: "0",
            commit: "0",
            source_date: 0,
            license: "",
            vendor: "",
            url: "",
            packager: "",
            vars: &vars,
            images_dir,
            public_key: "",
            set_names: &[],
        };
        for (index, asset) in spec.doc.assets.iter().enumerate() {
            let before = errors.len();
            lint_asset(spec, index, asset, images_dir, &mut errors);
            let needs_images = asset
                .source
                .as_deref()
                .is_some_and(|s| s.starts_with(IMAGES_DIR_VAR));
            if errors.len() > before || (skipped && needs_images) {
                continue;
            }
            match resolve::resolve_asset(spec, index, asset, &values) {
                Ok(files) => {
                    let field = spec.origin.field(&format!("assets[{index}].dest"));
                    for file in files {
                        if spec.doc.placement == Placement::Master {
                            if let Some(dir) = node_side_dir(&file.dest) {
                                errors.push(SpecError { file: spec.origin.display_file(), field: field.clone(), message: format!(
                                    "{} is a node-side file ({dir}/ is written on deployed nodes), but this package is installed on the master: set `placement = \"node\"` or install it elsewhere", file.dest) });
                            }
                        }
                        if BASE_SYSTEM_DIRS.contains(&file.dest.as_str()) {
                            let what = if file.kind == FileKind::Dir {
                                "owns the directory"
                            } else {
                                "replaces the directory"
                            };
                            errors.push(SpecError { file: spec.origin.display_file(), field: field.clone(), message: format!(
                                "{what} {}, which the base system owns: package only the files and directories below it", file.dest) });
                        } else if let Some((first_file, first_field)) = owners.get(&file.dest) {
                            errors.push(SpecError {
                                file: spec.origin.display_file(),
                                field: field.clone(),
                                message: format!(
                                    "{} is also packaged by {}: {first_field}: keep one",
                                    file.dest,
                                    first_file.display()
                                ),
                            });
                        } else {
                            owners.insert(file.dest, (spec.origin.display_file(), field.clone()));
                        }
                    }
                }
                Err(error) => errors.push(error),
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LintErrors(errors))
    }
}

fn lint_package_fields(spec: &Spec, errors: &mut Vec<SpecError>) {
    let doc = &spec.doc;
    let mut push =
        |field: &str, message: String| errors.push(SpecError::new(&spec.origin, field, message));
    for (field, value) in [
        ("name", &doc.name),
        ("summary", &doc.summary),
        ("description", &doc.description),
        ("arch", &doc.arch),
    ] {
        match value {
            None => push(field, "missing: add it".into()),
            Some(v) if v.trim().is_empty() => push(field, "empty: give it a value".into()),
            Some(_) => {}
        }
    }
    if let Some(raw_name) = &doc.name {
        lint_template_text(raw_name, None, &mut |m| push("name", m));
        // A template (fuel-release-@FUEL_VERSION@): check what a build makes of it.
        let name = Variables::placeholders().substitute(raw_name);
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
        {
            push(
                "name",
                format!("`{raw_name}` is not a package name: use letters, digits and - _ . +"),
            );
        }
    }
    if let Some(input) = &doc.only_with {
        if !OPTIONAL_INPUTS.contains(&input.as_str()) {
            push(
                "only_with",
                format!("`{input}` is not an optional input: use one of {OPTIONAL_INPUTS:?}"),
            );
        }
    }
    if let Some(compression) = &doc.compression {
        if let Err(message) = resolve::parse_compression(compression) {
            push("compression", message);
        }
    }
    if let Some(description) = &doc.description {
        // rpmlint refuses longer description lines; placeholders are longer than real values.
        let realistic = realistic_values().substitute(description);
        for (index, line) in realistic.lines().enumerate() {
            if line.chars().count() > MAX_DESCRIPTION_LINE {
                push("description", format!(
                    "line {} is {} characters long: wrap it at {MAX_DESCRIPTION_LINE} (rpmlint's description-line-too-long)",
                    index + 1,
                    line.chars().count()
                ));
            }
        }
    }
    let texts = [
        ("summary", doc.summary.as_deref()),
        ("description", doc.description.as_deref()),
    ];
    for (field, text) in texts {
        if let Some(text) = text {
            lint_template_text(text, None, &mut |m| push(field, m));
        }
    }
    for script in doc.scriptlets() {
        lint_scriptlet(spec, &script, &mut push);
    }
    let tables = [
        ("requires", &doc.requires),
        ("provides", &doc.provides),
        ("conflicts", &doc.conflicts),
        ("obsoletes", &doc.obsoletes),
        ("recommends", &doc.recommends),
        ("suggests", &doc.suggests),
        ("supplements", &doc.supplements),
        ("enhances", &doc.enhances),
    ];
    let vars = Variables::placeholders();
    for (table, entries) in tables {
        for (name, constraint) in entries {
            let field = format!("{table}.{name}");
            lint_template_text(constraint, None, &mut |m| push(&field, m));
            if let Err(message) = resolve::parse_dependency(name, &vars.substitute(constraint)) {
                push(&field, message);
            }
        }
    }
}

/// A scriptlet's text (inline or a file of the workspace) and interpreter.
fn lint_scriptlet(spec: &Spec, script: &ScriptletSpec, push: &mut dyn FnMut(&str, String)) {
    let prog_field = format!("{}_prog", script.field);
    if let Err(message) = resolve::scriptlet_interpreter(script) {
        push(&prog_field, message);
    }
    let Some(value) = script.body else {
        if script.prog.is_some() {
            push(
                &prog_field,
                format!(
                    "given without `{}`: add the script or remove this key",
                    script.field
                ),
            );
        }
        return;
    };
    match resolve::scriptlet_file(spec, value) {
        Some(file) => {
            if let Err(message) = check_workspace_path(&spec.origin, &file) {
                return push(script.field, message);
            }
            match resolve::scriptlet_text(spec, script, value) {
                Ok(text) => lint_template_text(&text, Some(&file), &mut |m| push(script.field, m)),
                Err(message) => push(script.field, message),
            }
        }
        // One word with a slash that is no file: a mistyped scriptlet file
        // would otherwise ship as the script's text.
        None if !value.contains(char::is_whitespace) && value.contains('/') && !value.starts_with('/') => push(
            script.field,
            format!(
                "{} does not exist: a one-word value with a `/` names the scriptlet's file (relative to {})",
                spec.origin.source_path(value).display(),
                spec.origin.source_base.display()
            ),
        ),
        None => match resolve::scriptlet_text(spec, script, value) {
            Ok(text) => lint_template_text(&text, None, &mut |m| push(script.field, m)),
            Err(message) => push(script.field, message),
        },
    }
}

fn lint_asset(
    spec: &Spec,
    index: usize,
    asset: &Asset,
    images_dir: Option<&Path>,
    errors: &mut Vec<SpecError>,
) {
    let mut push = |name: &str, message: String| {
        errors.push(SpecError::new(
            &spec.origin,
            &format!("assets[{index}].{name}"),
            message,
        ))
    };
    let kinds = [
        ("source", asset.source.is_some()),
        ("contents", asset.contents.is_some()),
        ("generate", asset.generate.is_some()),
        ("dir", asset.dir),
        ("symlink", asset.symlink.is_some()),
        ("ghost", asset.ghost),
    ];
    let given: Vec<&str> = kinds
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect();
    match given.len() {
        0 => push("source", "missing: give one of source, contents, generate, dir, symlink or ghost".into()),
        1 => {}
        _ => push(given[1], format!("conflicts with `{}`: an asset is exactly one of source, contents, generate, dir, symlink or ghost", given[0])),
    }
    match &asset.dest {
        None => push(
            "dest",
            "missing: add the absolute path on the installed system".into(),
        ),
        Some(dest) => {
            lint_template_text(dest, None, &mut |m| push("dest", m));
            if let Err(message) = resolve::normalize_dest(dest) {
                push("dest", message);
            }
        }
    }
    if let Some(mode) = &asset.mode {
        if let Err(message) = resolve::parse_mode(mode) {
            push("mode", message);
        }
    }
    if let Err(message) = resolve::parse_config(asset.config.as_ref()) {
        push("config", message);
    }
    if asset.template && asset.source.is_none() && asset.contents.is_none() {
        push(
            "template",
            "only a source or contents can be a template".into(),
        );
    }
    if let Some(contents) = &asset.contents {
        if asset.template {
            lint_template_text(contents, None, &mut |m| push("contents", m));
        }
    }
    match asset.generate.as_deref() {
        None | Some("signing-key") => {}
        Some("openstack-version") => match &asset.from {
            None => push(
                "from",
                "missing: name the openstack.yaml fixture this value is extracted from".into(),
            ),
            Some(from) => {
                if let Err(message) =
                    check_workspace_path(&spec.origin, &spec.origin.source_path(from))
                {
                    push("from", message);
                }
            }
        },
        Some(other) => push(
            "generate",
            format!("unknown generator `{other}`: use `openstack-version` or `signing-key`"),
        ),
    }
    if let Some(source) = &asset.source {
        if source.starts_with(IMAGES_DIR_VAR) {
            if let Some(dir) = images_dir {
                if !dir.is_dir() {
                    push(
                        "source",
                        format!("the images directory {} does not exist", dir.display()),
                    );
                }
            }
            return;
        }
        let path = spec.origin.source_path(source);
        match check_workspace_path(&spec.origin, &path) {
            Err(message) => push("source", message),
            Ok(()) if asset.template => {
                let files: Vec<PathBuf> = if path.is_dir() {
                    walkdir::WalkDir::new(&path)
                        .sort_by_file_name()
                        .into_iter()
                        .filter_map(Result::ok)
                        .filter(|e| e.file_type().is_file())
                        .map(|e| e.into_path())
                        .collect()
                } else {
                    vec![path.clone()]
                };
                for file in files {
                    match std::fs::read_to_string(&file) {
                        Ok(text) => {
                            lint_template_text(&text, Some(&file), &mut |m| push("source", m))
                        }
                        Err(e) => push(
                            "source",
                            format!("template {} is not readable text: {e}", file.display()),
                        ),
                    }
                }
            }
            Ok(()) => {}
        }
    }
}

/// A source must exist and lie inside the workspace (after following links),
/// so a build depends on the tree and nothing else.
fn check_workspace_path(origin: &Origin, path: &Path) -> Result<(), String> {
    let real = path.canonicalize().map_err(|_| {
        let hint = if path.starts_with(origin.workspace_root.join("target")) {
            " (build it first: `cargo xtask rpm` does)"
        } else {
            ""
        };
        format!("{} does not exist{hint}", path.display())
    })?;
    let root = origin
        .workspace_root
        .canonicalize()
        .unwrap_or_else(|_| origin.workspace_root.clone());
    if !real.starts_with(&root) {
        return Err(format!(
            "{} lies outside the workspace {}: copy it into the tree (builds depend on the tree alone)",
            real.display(),
            root.display()
        ));
    }
    Ok(())
}

fn lint_template_text(text: &str, file: Option<&Path>, push: &mut dyn FnMut(String)) {
    for unknown in unknown_variables(text) {
        let place = match file {
            Some(file) => format!("{}:{}", file.display(), unknown.line),
            None => format!("line {}", unknown.line),
        };
        push(format!(
            "{place}: unknown template variable @{}@: use one of {}",
            unknown.name,
            crate::spec::template::KNOWN
                .iter()
                .map(|n| format!("@{n}@"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
}
