//! The package-manipulation document of design 004 (`packages:` with versions
//! and `after` actions), checked before anything is stored or run, and the
//! applier's report schema.

mod document;
mod names;
mod problems;
pub mod report;

pub use document::{After, Document, Ensure, Package, Provider, Wanted};
pub use names::{valid_package_name, valid_version};
pub use problems::{Problem, Problems};

/// Where the applier reads the document on a node (design 004: hiera's directory).
pub const DEFAULT_PATH: &str = "/etc/hiera/package_manipulation.yaml";

/// Larger documents are refused before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    packages: Vec<RawPackage>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackage {
    name: String,
    version: Option<String>,
    #[serde(default)]
    after: Vec<RawAfter>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAfter {
    provider: Option<String>,
    ensure: Option<String>,
    name: String,
}

fn problem(path: String, message: String) -> Problem {
    Problem {
        line: 1,
        column: 1,
        path,
        message,
        hint: None,
    }
}

/// Reads and checks a document; on refusal, every problem found.
pub fn parse(bytes: &[u8]) -> Result<Document, Problems> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Problems(vec![problem(
            String::new(),
            format!(
                "document is {} bytes, more than {MAX_DOCUMENT_BYTES}",
                bytes.len()
            ),
        )]));
    }
    let raw: RawDocument = serde_saphyr::from_slice(bytes).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((1, 1));
        Problems(vec![Problem {
            line,
            column,
            path: String::new(),
            message: e.to_string(),
            hint: None,
        }])
    })?;
    let mut problems = Vec::new();
    let mut packages = Vec::new();
    for (i, p) in raw.packages.into_iter().enumerate() {
        if !valid_package_name(&p.name) {
            problems.push(problem(
                format!("packages[{i}].name"),
                format!("{:?} is not a package name", p.name),
            ));
        }
        let version = Wanted::from_spelling(p.version.as_deref().unwrap_or("latest"));
        if let Wanted::Exact(v) = &version {
            if !valid_version(v) {
                problems.push(problem(
                    format!("packages[{i}].version"),
                    format!("{v:?} is not a version"),
                ));
            }
        }
        let mut after = Vec::new();
        for (j, a) in p.after.into_iter().enumerate() {
            let provider = match Provider::from_spelling(a.provider.as_deref().unwrap_or("systemd"))
            {
                Some(p) => p,
                None => {
                    problems.push(problem(
                        format!("packages[{i}].after[{j}].provider"),
                        "unknown provider".into(),
                    ));
                    Provider::Systemd
                }
            };
            let ensure = match Ensure::from_spelling(a.ensure.as_deref().unwrap_or("running")) {
                Some(e) => e,
                None => {
                    problems.push(problem(
                        format!("packages[{i}].after[{j}].ensure"),
                        "unknown ensure".into(),
                    ));
                    Ensure::Running
                }
            };
            after.push(After {
                provider,
                ensure,
                name: a.name,
            });
        }
        packages.push(Package {
            name: p.name,
            version,
            after,
            line: 0,
        });
    }
    if problems.is_empty() {
        Ok(Document { packages })
    } else {
        Err(Problems(problems))
    }
}
