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

/// A workspace of its own (this tree's Cargo.toml, the given specs), and the
/// release this tree would build from it.
fn workspace_with(specs: &[(&str, &str)]) -> (tempfile::TempDir, ReleaseBuild) {
    let root = workspace_root();
    let workspace = tempfile::tempdir().unwrap();
    fs::copy(root.join("Cargo.toml"), workspace.path().join("Cargo.toml")).unwrap();
    fs::create_dir(workspace.path().join("specs")).unwrap();
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
