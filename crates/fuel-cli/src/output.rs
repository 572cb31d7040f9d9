//! Writing results to stdout: tables for people, pretty JSON for scripts.
//! A closed pipe (`fuel node | head -1`) ends output quietly, not in a panic.

use std::io::Write;

use fuel_cli::Table;
use serde::Serialize;

/// Writes `text` to stdout as is.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    emit(&format!("{}\n", serde_json::to_string_pretty(value)?))
}

pub fn yaml<T: Serialize>(value: &T) -> anyhow::Result<()> {
    emit(&serde_saphyr::to_string(value)?)
}

/// How a command prints its result: `--json`, `--yaml`, or a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

impl Format {
    pub fn from_flags(json: bool, yaml: bool) -> Format {
        match (json, yaml) {
            (true, _) => Format::Json,
            (_, true) => Format::Yaml,
            _ => Format::Table,
        }
    }
}

pub fn table(table: &Table) -> anyhow::Result<()> {
    emit(&table.render())
}

/// An optional id as a table cell (`-` when there is none).
pub fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}
