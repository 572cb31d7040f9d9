//! The binary's command line: what it refuses before touching any package
//! manager, and with which exit code (64 bad command line, 1 could not run).

use std::process::{Command, Output};

fn applier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fuel-pm-apply"))
        .args(args)
        .output()
        .expect("running fuel-pm-apply")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_bad_command_line_exits_64() {
    let out = applier(&["--no-such-option"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    let out = applier(&["--backend", "zypper"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("apt") && stderr(&out).contains("dnf"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_exits_0_and_names_the_exit_codes() {
    let out = applier(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Exit status:\n  0  nothing changed\n")
            && text.contains("\n  2  changes")
            && text.contains("\n  4  failures\n"),
        "{text}"
    );
}

#[test]
fn a_missing_document_exits_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing.yaml");
    let out = applier(&["--file", missing.to_str().unwrap(), "--backend", "apt"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "no report when it could not run");
}

#[test]
fn an_invalid_document_exits_1_with_every_problem_and_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("package_manipulation.yaml");
    std::fs::write(
        &file,
        "packages:\n- name: ok-package\n  verison: 1.0\n- name: -rf\n",
    )
    .unwrap();
    let out = applier(&[
        "--file",
        file.to_str().unwrap(),
        "--backend",
        "dnf",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    let place = file.to_str().unwrap();
    assert!(
        said.contains(&format!("{place}:3:")),
        "the misspelt key's line: {said}"
    );
    assert!(
        said.contains(&format!("{place}:4:")),
        "the bad name's line: {said}"
    );
    assert!(said.contains("nothing was changed"), "{said}");
    assert!(out.stdout.is_empty(), "no report when it could not run");
}
