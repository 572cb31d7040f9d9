//! The resolved description of one rpm: what the spec loader produces and the
//! builder consumes. Plain data, no I/O: every path is already checked and
//! every default already applied, so the builder never has to guess.

use std::path::PathBuf;

/// One binary rpm to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDef {
    pub name: String,
    /// rpm's EPOCH tag; `None` writes none (rpm treats it as 0). An epoch
    /// makes a lower version newer (`1:0.9` > `1.5`).
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// `noarch`, `x86_64`, …
    pub arch: String,
    pub summary: String,
    pub description: String,
    pub license: String,
    pub vendor: String,
    pub url: String,
    /// The source commit: `rpm -q --qf '%{VCS}'` answers it.
    pub vcs: String,
    pub packager: Option<String>,
    pub group: Option<String>,
    /// SOURCE_DATE_EPOCH: build time, file mtimes and signature time, so that
    /// two builds of one tree are byte-identical.
    pub source_date: u32,
    pub compression: Compression,
    pub files: Vec<FileDef>,
    pub deps: Dependencies,
    pub scriptlets: Scriptlets,
    /// Newest first, as rpm shows them.
    pub changelog: Vec<ChangelogEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    pub kind: CompressionKind,
    pub level: i32,
    /// Compressor threads (zstd only); 0 means one per core.
    pub threads: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionKind {
    None,
    Gzip,
    Zstd,
}

impl Default for Compression {
    /// zstd level 3: level 19 (the crate's default) takes minutes on an
    /// images payload for a few percent of size.
    fn default() -> Self {
        Compression {
            kind: CompressionKind::Zstd,
            level: 3,
            threads: 0,
        }
    }
}

/// One entry of the package's file list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDef {
    /// Absolute path on the installed system, normalised (no `..`, no `//`).
    pub dest: String,
    pub kind: FileKind,
    /// Permission bits only (e.g. 0o644); the builder adds the file-type bits.
    pub mode: u32,
    pub user: String,
    pub group: String,
    pub attrs: FileAttrs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// Contents streamed from a file on disk at build time.
    Source(PathBuf),
    /// Contents generated at build time (buildstamp, fuel-issue, …).
    Contents(Vec<u8>),
    Dir,
    Symlink {
        target: String,
    },
    /// Owned by the package but not shipped (logs, state files).
    Ghost,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileAttrs {
    pub config: bool,
    /// With `config`: `%config(noreplace)`.
    pub noreplace: bool,
    pub doc: bool,
    pub missingok: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    pub requires: Vec<Dependency>,
    pub provides: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    pub obsoletes: Vec<Dependency>,
    pub recommends: Vec<Dependency>,
    pub suggests: Vec<Dependency>,
    pub supplements: Vec<Dependency>,
    pub enhances: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    /// `None` for an unversioned dependency.
    pub constraint: Option<(DepOp, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepOp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scriptlets {
    pub pre: Option<Scriptlet>,
    pub post: Option<Scriptlet>,
    pub preun: Option<Scriptlet>,
    pub postun: Option<Scriptlet>,
    pub pretrans: Option<Scriptlet>,
    pub posttrans: Option<Scriptlet>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scriptlet {
    pub body: String,
    /// Defaults to /bin/sh.
    pub interpreter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// "Name <email> - version-release", as rpm prints it.
    pub author: String,
    /// Seconds since the epoch.
    pub time: u32,
    pub text: String,
}
