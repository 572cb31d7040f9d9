//! The repository's own conventions, checked as a test (as rust-analyzer's
//! tidy does): `cargo test -p xtask` fails the moment one is broken.

use std::fs;
use std::path::{Path, PathBuf};

use xshell::{cmd, Shell};

use crate::project_root;

/// Files git tracks, plus untracked ones it does not ignore (what a commit would carry).
fn repo_files() -> Vec<PathBuf> {
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    let out = cmd!(sh, "git ls-files --cached --others --exclude-standard")
        .read()
        .unwrap();
    out.lines()
        .map(|l| project_root().join(l))
        .filter(|p| p.is_file())
        .collect()
}

fn rust_files() -> Vec<PathBuf> {
    repo_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect()
}

fn rel(path: &Path) -> String {
    path.strip_prefix(project_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn no_grab_bag_modules() {
    // Names say what a thing is: a `utils` module is where concepts go to hide.
    const BANNED: &[&str] = &["utils", "util", "common", "helpers", "misc"];
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            let parent = p
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            BANNED.contains(&stem.as_str()) || (stem == "mod" && BANNED.contains(&parent.as_str()))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "grab-bag modules, name them after what they hold: {offenders:?}"
    );
}

#[test]
fn no_secret_key_material() {
    // Release keys come from `--sign-key FILE`; the development key is generated under target/.
    const MARKERS: &[&str] = &[
        "PRIVATE KEY BLOCK",
        "BEGIN RSA PRIVATE KEY",
        "BEGIN PRIVATE KEY",
        "BEGIN OPENSSH PRIVATE KEY",
    ];
    let this_file = project_root().join("xtask/src/tidy.rs");
    let offenders: Vec<String> = repo_files()
        .into_iter()
        .filter(|p| *p != this_file)
        .filter(|p| {
            let Ok(text) = fs::read_to_string(p) else {
                return false;
            };
            MARKERS.iter().any(|m| text.contains(m))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "secret key material is committed: {offenders:?}"
    );
}

#[test]
fn no_skipped_or_stubbed_code() {
    // A test that needs a real tool fails when it is missing; nothing is a stub called done.
    let ignore = ["#[", "ignore]"].concat();
    let markers = [ignore.as_str(), "todo!(", "unimplemented!("];
    let this_file = project_root().join("xtask/src/tidy.rs");
    let mut offenders = Vec::new();
    for path in rust_files().into_iter().filter(|p| *p != this_file) {
        let text = fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            if markers.iter().any(|m| line.contains(m)) {
                offenders.push(format!("{}:{}: {}", rel(&path), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "skipped tests or stubs:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn crates_document_themselves_and_share_the_release_version() {
    for entry in fs::read_dir(project_root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("version.workspace = true"),
            "{}: the Fuel release version lives only in the workspace Cargo.toml; use `version.workspace = true`",
            rel(&dir.join("Cargo.toml"))
        );
        let lib = dir.join("src/lib.rs");
        let text = fs::read_to_string(&lib).unwrap_or_default();
        assert!(
            text.trim_start().starts_with("//!"),
            "{}: start with a `//!` comment saying what the crate is for",
            rel(&lib)
        );
    }
}

#[test]
fn docs_name_every_crate() {
    let architecture = fs::read_to_string(project_root().join("ARCHITECTURE.md")).unwrap();
    for entry in fs::read_dir(project_root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        assert!(
            architecture.contains(&format!("crates/{name}")),
            "ARCHITECTURE.md's code map does not mention crates/{name}"
        );
    }
}

#[test]
fn readme_opens_with_the_two_commands() {
    let readme = fs::read_to_string(project_root().join("README.md")).unwrap();
    let first_block = readme.split("```").nth(1).unwrap_or_default();
    assert!(
        first_block.contains("cargo xtask rpm"),
        "README's first code block must show `cargo xtask rpm`"
    );
    assert!(
        first_block.contains("cargo xtask test"),
        "README's first code block must show `cargo xtask test`"
    );
    let ci = fs::read_to_string(project_root().join(".ci/run")).unwrap();
    assert!(
        ci.contains("cargo xtask test"),
        ".ci/run must run the README's test command"
    );
}

#[test]
fn every_source_file_starts_by_saying_what_it_is() {
    // A reader opening any file learns first what it is for.
    let offenders: Vec<String> = rust_files()
        .into_iter()
        .filter(|p| {
            let text = fs::read_to_string(p).unwrap_or_default();
            !text
                .lines()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.starts_with("//!"))
        })
        .map(|p| rel(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "{} source files do not start with a `//!` line saying what they are:\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

/// The repository paths a Markdown text names in backticks: words starting
/// with a top-level entry of the repository (`crates/…`, `tests/…`,
/// `Cargo.toml`), without placeholders (`NAME`, `X.Y.Z`, `{a,b}`, `*`).
fn named_paths(markdown: &str, top_level: &[String]) -> Vec<String> {
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.trim_end_matches([':', ',', '.']))
        .filter(|span| {
            // A placeholder segment is upper case only (NAME, X.Y.Z).
            let placeholder = |part: &str| {
                part.chars().any(|c| c.is_ascii_uppercase())
                    && !part.chars().any(|c| c.is_ascii_lowercase())
            };
            span.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
                && !span.split('/').any(placeholder)
        })
        .filter(|span| {
            let first = span.split('/').next().unwrap_or_default();
            top_level.iter().any(|t| t == first)
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_path_architecture_names_exists() {
    let root = project_root();
    let mut top_level: Vec<String> = repo_files()
        .iter()
        .filter_map(|p| p.strip_prefix(&root).ok())
        .filter_map(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    top_level.sort();
    top_level.dedup();
    let text = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let paths = named_paths(&text, &top_level);
    assert!(
        paths.iter().any(|p| p.starts_with("crates/")),
        "the path extraction finds the code map's paths: {paths:?}"
    );
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| !root.join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist (fix the text or the tree): {missing:?}"
    );
}

#[test]
fn path_extraction_skips_commands_and_placeholders() {
    let top = ["crates".to_string(), "tests".to_string()];
    let text = "`crates/fuel-rpm` and `tests/src/node.rs`, not `cargo xtask rpm`, \
                `crates/NAME/src`, `tests/{a,b}`, `/etc/fuel-issue` or `target/x`";
    assert_eq!(
        named_paths(text, &top),
        ["crates/fuel-rpm", "tests/src/node.rs"]
    );
}
