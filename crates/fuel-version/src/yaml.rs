//! How the master's YAML files are read (settings.yaml, component maps,
//! Nailgun fixtures, upgrade plans): serde-saphyr, YAML 1.1 merge keys
//! applied, within a [`serde_saphyr::Budget`] sized for configuration files,
//! with errors that keep their line.

use serde::de::DeserializeOwned;

/// A YAML text that could not be read into the wanted shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// 1-based line of the problem, when the parser knows it.
    pub line: Option<usize>,
    /// One line, naming the problem and its line and column.
    pub message: String,
}

/// Reads one YAML document. The budget refuses what no configuration file
/// needs (more than one document, deep nesting, alias bombs, megabytes of
/// scalars) before it costs time or memory.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 64,
            max_nodes: 1_000_000,
            max_aliases: 10_000,
            max_total_scalar_bytes: 64 * 1024 * 1024,
        },
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| YamlError {
        line: e.location().map(|l| l.line() as usize),
        message: e.without_snippet().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_line_and_merge_keys_apply() {
        let error =
            from_str::<serde_json::Value>("PRODUCTION: docker\nFEATURE_GROUPS: [a\n").unwrap_err();
        assert_eq!(error.line, Some(2), "{error}");
        assert!(!error.message.contains('\n'), "one line: {error}");
        let merged: serde_json::Value =
            from_str("- &base {fields: {version: x}}\n- <<: *base\n  pk: 2\n").unwrap();
        assert_eq!(merged[1]["fields"]["version"], "x");
        assert!(from_str::<serde_json::Value>("a: 1\n---\nb: 2\n").is_err());
    }
}
