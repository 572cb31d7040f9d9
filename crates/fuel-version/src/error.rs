//! Why a report could not be produced at all. A *missing* source is not an
//! error (the field is reported unknown, with the reason); a *malformed* one
//! is, because answering around it would hide a broken install.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    /// A source file exists but does not have the documented shape.
    #[error("{}: {problem}. {remedy}", location(path, *line))]
    Malformed {
        /// The file as read (under the root).
        path: PathBuf,
        /// 1-based line, when the problem has one.
        line: Option<usize>,
        /// The rpm that ships the file, `None` for the operator's own files.
        package: Option<String>,
        problem: String,
        /// What to do about it.
        remedy: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The one rpm query failed (rpm missing, database unreadable, …).
    #[error("`{command}` failed: {problem}. {remedy}")]
    Rpm {
        command: String,
        problem: String,
        remedy: String,
    },
}

fn location(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{} line {line}", path.display()),
        None => path.display().to_string(),
    }
}

impl VersionError {
    /// A malformed file shipped by `package`: the remedy is to reinstall it
    /// (`reinstall`: the dnf command line that does).
    pub(crate) fn malformed(
        path: PathBuf,
        line: Option<usize>,
        package: &str,
        problem: impl Into<String>,
        reinstall: String,
    ) -> Self {
        VersionError::Malformed {
            path,
            line,
            package: Some(package.to_string()),
            problem: problem.into(),
            remedy: format!(
                "The file belongs to package {package}: restore it with {reinstall} (or fix it by hand)"
            ),
        }
    }
}
