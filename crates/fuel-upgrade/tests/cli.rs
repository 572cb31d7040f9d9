//! The binary's command line as an operator meets it: `--help` lists every
//! exit status with its meaning, the manual page says the same, a wrong
//! command line exits with clap's usage code 2, and a plan that does not
//! parse exits 4 (nothing changed), never 2.

use std::process::Command;

use fuel_upgrade::Exit;

fn fuel_upgrade() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fuel-upgrade"))
}

#[test]
fn help_and_manual_page_list_every_exit_status_with_its_meaning() {
    let out = fuel_upgrade().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Exit status:"), "{help}");
    for exit in Exit::ALL {
        let line = format!("  {}  {}", exit.code(), exit.meaning());
        assert!(help.contains(&line), "--help lacks {line:?}:\n{help}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = fuel_upgrade()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = std::fs::read_to_string(dir.path().join("fuel-upgrade.1")).unwrap();
    assert!(page.contains("Exit status:"), "{page}");
    assert!(page.contains(Exit::NotChanged.meaning()), "{page}");
}

#[test]
fn a_wrong_command_line_exits_with_the_usage_code_and_a_bad_plan_with_its_own() {
    let out = fuel_upgrade().arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(Exit::Usage.code(), 2);

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("bad.yaml");
    std::fs::write(&plan, "release: \"8.0.0\"\nservices: [{nam: db}]\n").unwrap();
    let out = fuel_upgrade()
        .arg("plan")
        .arg("--plan")
        .arg(&plan)
        .arg("--root")
        .arg(dir.path().join("root"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(i32::from(Exit::NotChanged.code())),
        "{out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml:2"), "{stderr}");
}
