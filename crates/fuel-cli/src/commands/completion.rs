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
    let written = fuel_man::write_pages(Cli::command(), dir)
        .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
    output::emit(
        &written
            .iter()
            .map(|p| format!("{}\n", p.display()))
            .collect::<String>(),
    )
}
