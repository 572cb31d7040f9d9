//! What is wrong with a refused document: every problem, each with its place.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field's path, e.g. `packages[2].after[0].name`; empty for the
    /// document as a whole.
    pub path: String,
    pub message: String,
    #[serde(default)]
    pub hint: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in a document, in document order.
/// `Display` prints one `LINE:COL: path: message (hint)` line per problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct Problems(pub Vec<Problem>);

fn lines(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

impl Problems {
    /// One `FILE:LINE:COL: path: message (hint)` line per problem, each ending
    /// in a newline, as compilers print them.
    pub fn render(&self, file: &str) -> String {
        self.0.iter().map(|p| format!("{file}:{p}\n")).collect()
    }
}
