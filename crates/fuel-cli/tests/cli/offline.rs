//! What `fuel` does without a server: help on every command, completions
//! and man pages generated from the same definition, usage errors exit 2.

use crate::fuel::Fuel;

/// Nothing listens here: these commands must not need a server.
const NO_SERVER: &str = "http://127.0.0.1:1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help_and_bad_usage_exits_2() {
    let fuel = Fuel::new(NO_SERVER);
    for command in [
        "",
        "env",
        "node",
        "node create",
        "package",
        "task",
        "completion",
    ] {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let ran = fuel.ok(&args).await;
        assert!(ran.stdout.contains("Usage: fuel"), "{command}: {ran:?}");
    }
    let ran = fuel.run(&["node", "--node", "3-1"]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
    assert!(
        ran.stderr.contains("write the lower id first, `1-3`"),
        "{ran:?}"
    );
    let ran = fuel.run(&["package", "--env", "1"]).await;
    assert_eq!(ran.code, 2, "{ran:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_man_pages_cover_every_command() {
    let fuel = Fuel::new(NO_SERVER);
    for shell in ["bash", "zsh", "fish"] {
        let script = fuel.ok(&["completion", shell]).await.stdout;
        for word in ["package", "upload", "if-match", "host-key", "tasks"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let ran = fuel.ok(&["man", "--dir", "."]).await;
    for page in [
        "fuel",
        "fuel-env",
        "fuel-node",
        "fuel-node-create",
        "fuel-package",
        "fuel-task",
    ] {
        let path = fuel.home().join(format!("{page}.1"));
        let roff = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(
            roff.starts_with(".ie \\n(.g .ds Aq") || roff.contains(".TH"),
            "{page}.1"
        );
        assert!(ran.stdout.contains(&format!("{page}.1")), "{ran:?}");
    }
    // The connection precedence and fuelclient's habits are in `fuel --help` and the man page.
    let roff = std::fs::read_to_string(fuel.home().join("fuel.1")).unwrap();
    let help = fuel.ok(&["--help"]).await.stdout;
    for words in [
        "OS_PASSWORD (environment)",
        "fuel env list",
        "--noop for --check",
        "KEYSTONE_USER",
    ] {
        assert!(help.contains(words), "--help lacks {words:?}: {help}");
        assert!(
            roff.contains(&words.replace('-', "\\-")) || roff.contains(words),
            "fuel.1 lacks {words:?}"
        );
    }
}
