//! Specs in, checked package definitions out, without any tool: the lint
//! refuses each class of mistake naming the file and field, and the release
//! set knows the master's packages from the nodes'.

use std::fs;
use std::path::{Path, PathBuf};

use fuel_rpm::build::SigningKey;
use fuel_rpm::release::{self, ReleaseBuild};
use fuel_rpm::{lint, DepOp, PackageDef};

/// The workspace root (specs/, repos/, Cargo.toml).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The development key, generated once per target dir (as `cargo xtask rpm` does).
fn key() -> SigningKey {
    SigningKey::development(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuel-dev-key")).unwrap()
}

/// A workspace of its own (this tree's Cargo.toml and repos/fuel-base.repo,
/// the given specs), and the release this tree would build from it.
fn workspace_with(specs: &[(&str, &str)]) -> (tempfile::TempDir, ReleaseBuild) {
    let root = workspace_root();
    let workspace = tempfile::tempdir().unwrap();
    fs::copy(root.join("Cargo.toml"), workspace.path().join("Cargo.toml")).unwrap();
    fs::create_dir(workspace.path().join("specs")).unwrap();
    fs::create_dir(workspace.path().join("repos")).unwrap();
    fs::copy(
        root.join("repos/fuel-base.repo"),
        workspace.path().join("repos/fuel-base.repo"),
    )
    .unwrap();
    for (name, text) in specs {
        fs::write(workspace.path().join("specs").join(name), text).unwrap();
    }
    let mut build = ReleaseBuild::for_workspace(&root).unwrap();
    build.workspace_root = workspace.path().to_path_buf();
    build.out_dir = workspace.path().join("rpms");
    (workspace, build)
}

const MASTER_SPEC: &str = r#"
name = "fuel-example-master"
arch = "noarch"
summary = "Example master package"
description = "Installed on the master."

[[assets]]
dir = true
dest = "/var/lib/fuel-example"
"#;

const NODE_SPEC: &str = r#"
name = "fuel-example-node"
arch = "noarch"
summary = "Example node package"
description = "Installed on deployed nodes."
placement = "node"

[[assets]]
contents = "packages: []\n"
dest = "/etc/hiera/fuel-example.yaml"
"#;

const META_SPEC: &str = r#"
name = "fuel-example"
arch = "noarch"
summary = "Example meta package"
description = "Requires the master's packages."
meta = true
"#;

#[test]
fn the_meta_package_requires_the_masters_packages_only() {
    let (_workspace, build) = workspace_with(&[
        ("master.toml", MASTER_SPEC),
        ("node.toml", NODE_SPEC),
        ("meta.toml", META_SPEC),
    ]);
    let defs = build.package_defs(&key()).unwrap_or_else(|e| panic!("{e}"));
    let meta: &PackageDef = defs.iter().find(|d| d.name == "fuel-example").unwrap();
    let evr = format!("{}-{}", build.fuel_version, build.release);
    let requires: Vec<(&str, Option<&(DepOp, String)>)> = meta
        .deps
        .requires
        .iter()
        .map(|d| (d.name.as_str(), d.constraint.as_ref()))
        .collect();
    assert_eq!(
        requires,
        [("fuel-example-master", Some(&(DepOp::Eq, evr)))],
        "the node package is served to nodes, not installed on the master"
    );
    assert!(defs.iter().any(|d| d.name == "fuel-example-node"));
}

#[test]
fn a_node_side_file_in_a_master_package_is_refused_naming_the_field() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuel-example.toml");
    let spec = NODE_SPEC.replace("placement = \"node\"\n", "");
    fs::write(&file, &spec).unwrap();
    let errors = lint::lint(
        &release::load_specs(&root, dir.path(), false).unwrap(),
        None,
    )
    .unwrap_err()
    .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, file);
    assert_eq!(errors[0].field, "assets[0].dest");
    assert!(
        errors[0].message.contains("/etc/hiera/fuel-example.yaml")
            && errors[0].message.contains("placement = \"node\""),
        "{}",
        errors[0]
    );

    // The same file in a node package is clean; so is a master path that
    // merely starts like the node-side directory.
    fs::write(&file, NODE_SPEC).unwrap();
    lint::lint(
        &release::load_specs(&root, dir.path(), false).unwrap(),
        None,
    )
    .expect("a node package may ship /etc/hiera files");
    fs::write(&file, spec.replace("/etc/hiera/", "/etc/hieradata/")).unwrap();
    lint::lint(
        &release::load_specs(&root, dir.path(), false).unwrap(),
        None,
    )
    .expect("/etc/hieradata is not /etc/hiera");
}

#[test]
fn an_unknown_placement_is_refused_naming_the_file_and_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuel-example.toml");
    fs::write(&file, NODE_SPEC.replace("\"node\"", "\"nodes\"")).unwrap();
    let error = release::load_specs(&workspace_root(), dir.path(), false)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with(&file.display().to_string()), "{error}");
    assert!(
        error.contains("nodes") && error.contains("master") && error.contains("node"),
        "{error}"
    );
}

// ---- bad specs: one per error class ----

/// A valid spec; each case below breaks one thing in it.
const GOOD_SPEC: &str = r#"
name = "fuel-example"
arch = "noarch"
summary = "Example @FUEL_VERSION@"
description = "An example package."

[[assets]]
source = "repos/fuel-base.repo"
dest = "/etc/fuel-example/base.repo"
template = true

[[assets]]
dir = true
dest = "/etc/fuel-example"
"#;

/// (what is wrong, how the spec says it, field named in the error, words the error must hold)
fn bad_specs(outside: &Path) -> Vec<(&'static str, String, &'static str, &'static str)> {
    vec![
        (
            "missing field",
            GOOD_SPEC.replace("summary = \"Example @FUEL_VERSION@\"\n", ""),
            "summary",
            "missing",
        ),
        (
            "missing source",
            GOOD_SPEC.replace("repos/fuel-base.repo", "repos/no-such.repo"),
            "assets[0].source",
            "does not exist",
        ),
        (
            "source outside the workspace",
            GOOD_SPEC.replace("repos/fuel-base.repo", &outside.display().to_string()),
            "assets[0].source",
            "outside the workspace",
        ),
        (
            "relative dest",
            GOOD_SPEC.replace(
                "\"/etc/fuel-example/base.repo\"",
                "\"etc/fuel-example/base.repo\"",
            ),
            "assets[0].dest",
            "not absolute",
        ),
        (
            "`..` in dest",
            GOOD_SPEC.replace(
                "\"/etc/fuel-example/base.repo\"",
                "\"/etc/fuel-example/../passwd\"",
            ),
            "assets[0].dest",
            "`..`",
        ),
        (
            "duplicate dest",
            GOOD_SPEC.replace(
                "dest = \"/etc/fuel-example\"",
                "dest = \"/etc/fuel-example/base.repo\"",
            ),
            "assets[1].dest",
            "also packaged",
        ),
        (
            "base-system dir",
            GOOD_SPEC.replace("dest = \"/etc/fuel-example\"", "dest = \"/usr/bin\""),
            "assets[1].dest",
            "base system owns",
        ),
        (
            "base-system dir /etc",
            GOOD_SPEC.replace("dest = \"/etc/fuel-example\"", "dest = \"/etc\""),
            "assets[1].dest",
            "base system owns",
        ),
        (
            "description line too long",
            GOOD_SPEC.replace("An example package.", &"An example package. ".repeat(5)),
            "description",
            "wrap it at 79",
        ),
        (
            "unknown template variable",
            GOOD_SPEC.replace("Example @FUEL_VERSION@", "Example @FUEL_VERSON@"),
            "summary",
            "@FUEL_VERSON@",
        ),
        (
            "unknown template variable in a destination",
            GOOD_SPEC.replace("/etc/fuel-example/base.repo", "/etc/fuel-example/@FUEL_VERSON@.repo"),
            "assets[0].dest",
            "@FUEL_VERSON@",
        ),
        (
            "scriptlet interpreter neither <lua> nor a path",
            with_package_keys("post_trans_script = \"print(1)\"\npost_trans_script_prog = [\"lua\"]\n"),
            "post_trans_script_prog",
            "\"<lua>\" (rpm's built-in Lua)",
        ),
        (
            "scriptlet interpreter with arguments",
            with_package_keys("post_install_script = \"true\"\npost_install_script_prog = [\"/bin/sh\", \"-e\"]\n"),
            "post_install_script_prog",
            "arguments are not supported",
        ),
        (
            "scriptlet interpreter without a script",
            with_package_keys("pre_uninstall_script_prog = [\"<lua>\"]\n"),
            "pre_uninstall_script_prog",
            "without `pre_uninstall_script`",
        ),
        (
            "missing scriptlet file",
            with_package_keys("post_trans_script = \"repos/no-such.lua\"\npost_trans_script_prog = [\"<lua>\"]\n"),
            "post_trans_script",
            "does not exist",
        ),
    ]
}

/// GOOD_SPEC with package-level keys added (before its tables).
fn with_package_keys(keys: &str) -> String {
    GOOD_SPEC.replace(
        "description = \"An example package.\"\n",
        &format!("description = \"An example package.\"\n{keys}"),
    )
}

#[test]
fn each_bad_spec_is_refused_naming_the_file_and_field() {
    let root = workspace_root();
    let outside = tempfile::NamedTempFile::new().unwrap();
    for (case, spec, field, words) in bad_specs(outside.path()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fuel-example.toml");
        fs::write(&file, &spec).unwrap();
        let specs = release::load_specs(&root, dir.path(), false).unwrap();
        let errors = lint::lint(&specs, None).expect_err(case).0;
        assert!(
            errors
                .iter()
                .any(|e| e.file == file && e.field == field && e.message.contains(words)),
            "{case}: expected {}: {field}: …{words}…, got:\n{}",
            file.display(),
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let shown = errors[0].to_string();
        assert!(
            shown.starts_with(&file.display().to_string()),
            "{case}: {shown}"
        );
    }
    // The good spec itself is clean: each error comes from its one change.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("fuel-example.toml"), GOOD_SPEC).unwrap();
    lint::lint(
        &release::load_specs(&root, dir.path(), false).unwrap(),
        None,
    )
    .expect("the good spec lints clean");
}

#[test]
fn a_template_with_an_unknown_variable_is_refused_naming_file_and_line() {
    let root = workspace_root();
    let dir = tempfile::TempDir::new_in(root.join("target")).unwrap();
    let template = dir.path().join("example.conf");
    fs::write(&template, "version=@FUEL_VERSION@\nseries=@FUEL_SERISE@\n").unwrap();
    let spec = GOOD_SPEC.replace("repos/fuel-base.repo", &template.display().to_string());
    fs::write(dir.path().join("fuel-example.toml"), spec).unwrap();
    let errors = lint::lint(
        &release::load_specs(&root, dir.path(), false).unwrap(),
        None,
    )
    .unwrap_err()
    .0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "assets[0].source");
    assert!(
        errors[0]
            .message
            .contains(&format!("{}:2", template.display()))
            && errors[0].message.contains("@FUEL_SERISE@"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_release_build_with_a_bad_spec_fails_naming_it_and_writes_nothing() {
    let (_workspace, mut build) = workspace_with(&[
        ("good.toml", &GOOD_SPEC.replace("fuel-example", "fuel-good")),
        (
            "bad.toml",
            &GOOD_SPEC.replace("\"/etc/fuel-example/base.repo\"", "\"relative/base.repo\""),
        ),
    ]);
    build.key = Some(key());
    let error = build
        .build()
        .expect_err("a bad spec fails the build")
        .to_string();
    assert!(error.contains("specs/bad.toml: assets[0].dest"), "{error}");
    assert!(
        !build.out_dir.exists() || fs::read_dir(&build.out_dir).unwrap().next().is_none(),
        "a failed build wrote files"
    );
}

#[test]
fn crate_metadata_errors_name_the_manifest_and_the_generate_rpm_field() {
    let root = workspace_root();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("Cargo.toml");
    fs::write(
        &manifest,
        r#"[package]
name = "fuel-example"
description = "Example crate"

[package.metadata.generate-rpm]
description = "An example."
arch = "x86_64"
assets = [
    { source = "target/release/fuel-version", dest = "usr/bin/fuel-example", mode = "0755" },
]
"#,
    )
    .unwrap();
    let spec = fuel_rpm::spec::load_cargo_manifest(&manifest, &root).unwrap();
    assert_eq!(
        spec.doc.name.as_deref(),
        Some("fuel-example"),
        "name comes from [package] as cargo-generate-rpm does"
    );
    assert_eq!(
        spec.doc.summary.as_deref(),
        Some("Example crate"),
        "summary from the crate description"
    );
    let errors = lint::lint(&[spec], None).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, manifest);
    assert_eq!(
        errors[0].field,
        "package.metadata.generate-rpm.assets[0].dest"
    );
    assert!(errors[0].message.contains("not absolute"), "{}", errors[0]);
}

#[test]
fn a_spec_that_is_not_valid_toml_is_refused_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuel-example.toml");
    fs::write(
        &file,
        GOOD_SPEC.replace("arch = \"noarch\"", "arch = noarch"),
    )
    .unwrap();
    let error = release::load_specs(&workspace_root(), dir.path(), false)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with(&file.display().to_string()), "{error}");
    assert!(error.contains("line 3"), "{error}");
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("fuel-example.toml"),
        GOOD_SPEC.replace("arch =", "architecture ="),
    )
    .unwrap();
    let error = release::load_specs(&workspace_root(), dir.path(), false)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("architecture"),
        "an unknown key is named: {error}"
    );
}
