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

/// A workspace member as `cargo metadata` describes it.
struct Member {
    name: String,
    dir: PathBuf,
    /// Workspace members it depends on (normal, dev or build), itself excluded.
    depends_on: Vec<String>,
    has_lib: bool,
    /// Binary targets: name and source file.
    bins: Vec<(String, PathBuf)>,
}

fn members() -> Vec<Member> {
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    let json = cmd!(sh, "cargo metadata --format-version 1 --no-deps --offline")
        .quiet()
        .read()
        .unwrap();
    let metadata: serde_json::Value = serde_json::from_str(&json).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap().to_string();
            let mut depends_on: Vec<String> = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|d| names.contains(&d.as_str()) && *d != name)
                .collect();
            depends_on.sort();
            depends_on.dedup();
            let targets = p["targets"].as_array().unwrap();
            let kinds = |t: &serde_json::Value| -> Vec<String> {
                t["kind"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect()
            };
            Member {
                dir: Path::new(p["manifest_path"].as_str().unwrap())
                    .parent()
                    .unwrap()
                    .to_path_buf(),
                has_lib: targets
                    .iter()
                    .any(|t| kinds(t).iter().any(|k| k == "lib" || k == "rlib")),
                bins: targets
                    .iter()
                    .filter(|t| kinds(t).iter().any(|k| k == "bin"))
                    .map(|t| {
                        (
                            t["name"].as_str().unwrap().to_string(),
                            PathBuf::from(t["src_path"].as_str().unwrap()),
                        )
                    })
                    .collect(),
                name,
                depends_on,
            }
        })
        .collect()
}

#[test]
fn the_code_map_names_every_crate() {
    let architecture = fs::read_to_string(project_root().join("ARCHITECTURE.md")).unwrap();
    let start = architecture
        .find("## Code map")
        .expect("ARCHITECTURE.md has a `## Code map` section");
    let map = &architecture[start..];
    let map = &map[..map[3..].find("\n## ").map_or(map.len(), |end| end + 3)];
    let missing: Vec<String> = members()
        .iter()
        .map(|m| rel(&m.dir))
        .filter(|dir| !map.contains(&format!("`{dir}`")) && !map.contains(&format!("`{dir}/`")))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not name these crates (as `DIR` or `DIR/`): {missing:?}"
    );
}

/// The crates everything else builds on, and the only workspace crates each
/// may use: they stay small and cycle-free.
const FOUNDATIONS: &[(&str, &[&str])] = &[
    ("fuel-atomic", &[]),
    ("fuel-node", &[]),
    ("fuel-pm", &[]),
    ("fuel-test-bed", &[]),
    // Manual pages are written like every other file.
    ("fuel-man", &["fuel-atomic"]),
];

#[test]
fn crate_dependencies_follow_the_layers() {
    let members = members();
    let mut offenders = Vec::new();
    for (name, allowed) in FOUNDATIONS {
        let member = members.iter().find(|m| m.name == *name).unwrap_or_else(|| {
            panic!("{name} is no longer a workspace member: update FOUNDATIONS")
        });
        for dep in member
            .depends_on
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
        {
            offenders.push(format!(
                "{name} depends on {dep}: it is a foundation crate (xtask/src/tidy.rs FOUNDATIONS); \
                 move what it needs down or the code up"
            ));
        }
    }
    for member in &members {
        for dep in &member.depends_on {
            if members.iter().any(|m| m.name == *dep && !m.has_lib) {
                offenders.push(format!(
                    "{} depends on {dep}, a crate with only binaries: give {dep} a library or move the code",
                    member.name
                ));
            }
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// The directory holding the `Cargo.toml` nearest above `path`.
fn crate_of(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

#[test]
fn no_path_attribute_reaches_into_another_crate() {
    // Shared code is a crate, a module or a `test-support` feature; a
    // `#[path]` into another crate compiles the file twice and hides the
    // dependency from cargo.
    let mut offenders = Vec::new();
    for file in rust_files() {
        let text = fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let Some(rest) = line.trim().strip_prefix("#[path = \"") else {
                continue;
            };
            let target = rest.split('"').next().unwrap_or_default();
            let resolved = file.parent().unwrap().join(target);
            let resolved = resolved.canonicalize().unwrap_or(resolved);
            if crate_of(&resolved) != crate_of(&file) {
                offenders.push(format!("{}:{}: {}", rel(&file), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "#[path] into another crate (use a `test-support` feature or a shared crate):\n{}",
        offenders.join("\n")
    );
}

/// The binaries the rpms ship: every `target/release/NAME` a spec names.
fn shipped_binaries() -> Vec<String> {
    let mut names: Vec<String> = repo_files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .flat_map(|p| {
            let text = fs::read_to_string(&p).unwrap_or_default();
            text.split("\"target/release/")
                .skip(1)
                .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The codes of a crate's `enum Exit`, from its `fn code(self) -> u8`
/// match arms (`Exit::Name => N`), in source order.
fn exit_enum_codes(crate_dir: &Path) -> Option<(String, Vec<u8>)> {
    let src = crate_dir.join("src");
    let mut sources: Vec<PathBuf> = rust_files()
        .into_iter()
        .filter(|p| p.starts_with(&src))
        .collect();
    sources.sort();
    for file in sources {
        let text = fs::read_to_string(&file).unwrap();
        if !text.contains("enum Exit {") {
            continue;
        }
        let body = &text[text.find("fn code(self) -> u8 {")?..];
        let body = &body[..body.find("\n    }\n").unwrap_or(body.len())];
        let codes = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Exit::"))
            .filter_map(|arm| arm.split("=>").nth(1))
            .filter_map(|code| code.trim().trim_end_matches(',').parse().ok())
            .collect();
        return Some((rel(&file), codes));
    }
    None
}

/// The codes `--help` lists under "Exit status:", in order.
fn help_exit_codes(help: &str) -> Vec<u8> {
    let Some(start) = help.find("Exit status:") else {
        return Vec::new();
    };
    help[start..]
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn every_shipped_binary_lists_its_exit_statuses_from_one_enum() {
    let members = members();
    let binaries = shipped_binaries();
    assert!(
        binaries.iter().any(|b| b == "fuel-api"),
        "the specs' binaries are found: {binaries:?}"
    );
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    let bin_args: Vec<String> = binaries
        .iter()
        .flat_map(|b| ["--bin".to_string(), b.clone()])
        .collect();
    cmd!(sh, "cargo build --release --quiet {bin_args...}")
        .run()
        .unwrap();
    let mut offenders = Vec::new();
    for binary in &binaries {
        let member = members
            .iter()
            .find(|m| m.bins.iter().any(|(name, _)| name == binary))
            .unwrap_or_else(|| panic!("no workspace crate builds the shipped binary {binary}"));
        let Some((file, enum_codes)) = exit_enum_codes(&member.dir) else {
            offenders.push(format!(
                "{binary}: no `enum Exit` with a `fn code(self) -> u8` in {}: define its exit statuses in one enum",
                rel(&member.dir.join("src"))
            ));
            continue;
        };
        let path = project_root().join("target/release").join(binary);
        let help = cmd!(sh, "{path} --help").quiet().read().unwrap();
        let listed = help_exit_codes(&help);
        if enum_codes.is_empty() || listed != enum_codes {
            offenders.push(format!(
                "{binary}: `--help` lists exit statuses {listed:?} but {file}'s `Exit` has {enum_codes:?}: \
                 build the \"Exit status:\" section from the enum (fuel_man::exit_status_help)"
            ));
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

#[test]
fn exit_codes_are_read_from_the_help_section_only() {
    let help = "Usage: x\n\nOptions:\n  -h  help\n\nExit status:\n  0  ok\n  1  failed: 2 reasons\n  64  usage\n\nMore text 3\n";
    assert_eq!(help_exit_codes(help), [0, 1, 64]);
    assert!(help_exit_codes("no section").is_empty());
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

#[test]
fn figures_live_in_benchmarks_md_not_in_architecture_md() {
    // A figure means something only beside its baseline and the load it ran
    // under; BENCHMARKS.md has both and is regenerated by the benches, so
    // the map keeps what is measured and why, never the numbers.
    let architecture = fs::read_to_string(project_root().join("ARCHITECTURE.md")).unwrap();
    let quoting: Vec<String> = architecture
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("load average"))
        .map(|(i, line)| format!("ARCHITECTURE.md:{}: {line}", i + 1))
        .collect();
    assert!(
        quoting.is_empty(),
        "benchmark figures belong in BENCHMARKS.md (run `cargo xtask bench NAME`), not in ARCHITECTURE.md:\n{}",
        quoting.join("\n")
    );
}

#[test]
fn benchmarks_md_has_a_section_for_every_benchmark() {
    use clap::ValueEnum;
    let document = fs::read_to_string(project_root().join("BENCHMARKS.md")).unwrap();
    let missing: Vec<String> = crate::bench::Bench::value_variants()
        .iter()
        .map(|b| b.name())
        .filter(|name| !document.contains(&format!("<!-- bench:{name} -->")))
        .collect();
    assert!(
        missing.is_empty(),
        "BENCHMARKS.md has no section for {missing:?}: run `cargo xtask bench {}`",
        missing.join(" ")
    );
}
