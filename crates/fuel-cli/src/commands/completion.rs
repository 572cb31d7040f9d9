//! `fuel completion bash|zsh|fish` and the hidden `fuel man --dir DIR`:
//! generated from the clap definition, so they cannot drift from it.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionShell};
use crate::output;

pub fn print(shell: CompletionShell) -> anyhow::Result<()> {
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "fuel", &mut script);
    output::emit(&String::from_utf8_lossy(&script))
}

/// fuel.1 and one page per visible subcommand (fuel-node.1, fuel-node-create.1, …).
pub fn write_man_pages(dir: &Path) -> anyhow::Result<()> {
    let mut command = Cli::command();
    command.build();
    let mut written = Vec::new();
    write_pages(&command, "fuel", dir, &mut written)?;
    output::emit(&written.iter().map(|p| format!("{p}\n")).collect::<String>())
}

fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> anyhow::Result<()> {
    let page = command.clone().name(name.to_string());
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    let path = dir.join(format!("{name}.1"));
    fuel_atomic::write_file(&path, &roff, 0o644)
        .with_context(|| format!("writing {}", path.display()))?;
    written.push(path.display().to_string());
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
