//! Manual pages generated from a binary's clap definition (clap_mangen), so
//! they cannot drift from `--help`. Every shipped binary has a hidden
//! `man --dir DIR` subcommand that calls [`write_pages`]; `cargo xtask rpm`
//! runs it and compresses the pages the specs ship. A binary's exit
//! statuses are one enum implementing [`ExitStatus`]; its
//! [`exit_status_help`] is the "Exit status:" section of `--help` and so of
//! the page (xtask's tidy checks every shipped binary lists its enum's codes).

use std::io;
use std::path::{Path, PathBuf};

/// Writes `NAME.1` for `command` (its name is the binary's) and
/// `NAME-SUB.1`, `NAME-SUB-SUBSUB.1`, … for every visible subcommand, into
/// `dir` (created if need be); returns the files written.
pub fn write_pages(command: clap::Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut command = command;
    command.build();
    let name = command.get_name().to_string();
    let mut written = Vec::new();
    write_tree(&command, &name, dir, &mut written)?;
    Ok(written)
}

/// A binary's exit statuses: one enum, each variant with its code and what
/// it means.
pub trait ExitStatus: Copy + 'static {
    /// Every status, in code order.
    const ALL: &'static [Self];
    fn code(self) -> u8;
    /// What the status means, as `--help` says it.
    fn meaning(self) -> &'static str;
}

/// The "Exit status:" section of `--help` (and of the manual page), one
/// `  CODE  meaning` line per status.
pub fn exit_status_help<E: ExitStatus>() -> String {
    let mut text = String::from("Exit status:");
    for status in E::ALL {
        text.push_str(&format!("\n  {}  {}", status.code(), status.meaning()));
    }
    text
}

fn write_tree(
    command: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(command.clone().name(name.to_string())).render(&mut roff)?;
    let path = dir.join(format!("{name}.1"));
    fuel_atomic::write_file(&path, &roff, 0o644)?;
    written.push(path);
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_tree(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum Exit {
        Ok,
        Failed,
    }

    impl ExitStatus for Exit {
        const ALL: &'static [Exit] = &[Exit::Ok, Exit::Failed];
        fn code(self) -> u8 {
            self as u8
        }
        fn meaning(self) -> &'static str {
            match self {
                Exit::Ok => "done",
                Exit::Failed => "failed: the message says why",
            }
        }
    }

    #[test]
    fn the_exit_status_section_lists_every_code_with_its_meaning() {
        assert_eq!(
            exit_status_help::<Exit>(),
            "Exit status:\n  0  done\n  1  failed: the message says why"
        );
    }

    #[test]
    fn a_page_per_visible_command_named_after_the_binary() {
        let command = clap::Command::new("fuel-example")
            .about("Example of a shipped binary")
            .subcommand(clap::Command::new("apply").about("Apply the plan"))
            .subcommand(clap::Command::new("man").hide(true));
        let dir = tempfile::tempdir().unwrap();
        let written = write_pages(command, &dir.path().join("man")).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["fuel-example.1", "fuel-example-apply.1"]);
        let page = std::fs::read_to_string(&written[0]).unwrap();
        assert!(page.contains(".TH fuel-example 1"), "{page}");
        assert!(page.contains("Example of a shipped binary"), "{page}");
    }
}
