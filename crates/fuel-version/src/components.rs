//! The component → package map: data, embedded by default, overridable.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::VersionError;

/// The map shipped with fuel-version.
pub const DEFAULT_COMPONENTS: &str = include_str!("../data/components.yaml");

/// Where the override lives under a root.
pub const COMPONENTS_OVERRIDE: &str = "etc/fuel-version/components.yaml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentMap {
    /// (component, package template) in file order; the template may hold `{series}`.
    pub components: Vec<(String, String)>,
    /// `packages` lists installed packages whose name starts with one of these.
    pub package_prefixes: Vec<String>,
    /// Where the map came from (`None`: the embedded default).
    pub origin: Option<PathBuf>,
}

impl ComponentMap {
    pub fn embedded() -> Self {
        parse(DEFAULT_COMPONENTS, None).expect("the embedded components.yaml is valid")
    }

    /// `explicit` if given, else `<root>/etc/fuel-version/components.yaml` if
    /// present, else the embedded map.
    pub fn load(root: &Path, explicit: Option<&Path>) -> Result<Self, VersionError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = root.join(COMPONENTS_OVERRIDE);
                if !p.exists() {
                    return Ok(Self::embedded());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|source| VersionError::Read {
            path: path.clone(),
            source,
        })?;
        parse(&text, Some(&path))
    }

    /// The package name of a template for a release series ("8.0"); `None`
    /// when the template needs a series and none is known.
    pub(crate) fn resolve(template: &str, series: Option<&str>) -> Option<String> {
        if template.contains("{series}") {
            series.map(|s| template.replace("{series}", s))
        } else {
            Some(template.to_string())
        }
    }

    /// Whether `name` is this template with some X.Y series in place of `{series}`.
    pub(crate) fn matches_any_series(template: &str, name: &str) -> Option<String> {
        let (prefix, suffix) = template.split_once("{series}")?;
        let series = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
        crate::release::is_release(series).then(|| series.to_string())
    }
}

fn parse(text: &str, origin: Option<&Path>) -> Result<ComponentMap, VersionError> {
    let shown = origin
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("<embedded components.yaml>"));
    let bad = |line: Option<usize>, problem: String| {
        VersionError::Malformed {
        path: shown.clone(),
        line,
        package: None,
        problem,
        remedy: "Expected `components:` (a mapping component: package, `{series}` allowed) and optionally `package_prefixes:` (a list); see `fuel-version --help`".into(),
    }
    };
    let doc: Node =
        crate::yaml::from_str(text).map_err(|e| bad(e.line, format!("not YAML: {e}")))?;
    let top: &[(serde_json::Value, Node)] = match &doc {
        Node::Map(OrderedMap(entries)) => entries,
        Node::Other(_) => &[],
    };
    let get = |key: &str| top.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let Some(Node::Map(OrderedMap(components))) = get("components") else {
        return Err(bad(None, "no `components:` mapping".into()));
    };
    let mut map = Vec::new();
    for (k, v) in components {
        match (k.as_str(), v.as_str()) {
            (Some(k), Some(v)) if !k.is_empty() && !v.is_empty() => {
                map.push((k.to_string(), v.to_string()))
            }
            _ => {
                return Err(bad(
                    line_of(text, &format!("{}:", k.as_str().unwrap_or(""))),
                    format!("component {k:?} must map to a package name, found {v:?}"),
                ))
            }
        }
    }
    let package_prefixes = match get("package_prefixes") {
        None => Vec::new(),
        Some(node) => node
            .as_value()
            .and_then(|list| list.as_array())
            .and_then(|s| {
                s.iter()
                    .map(|p| p.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                bad(
                    line_of(text, "package_prefixes:"),
                    "`package_prefixes` must be a list of names".into(),
                )
            })?,
    };
    Ok(ComponentMap {
        components: map,
        package_prefixes,
        origin: origin.map(Path::to_path_buf),
    })
}

/// A YAML value whose mappings keep their order (the component map is
/// ordered; serde_json's maps sort their keys): a mapping of nodes, or any
/// other value.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Node {
    Map(OrderedMap<Node>),
    Other(serde_json::Value),
}

impl Node {
    fn as_value(&self) -> Option<&serde_json::Value> {
        match self {
            Node::Map(_) => None,
            Node::Other(value) => Some(value),
        }
    }

    fn as_str(&self) -> Option<&str> {
        self.as_value().and_then(|v| v.as_str())
    }
}

/// A YAML mapping's entries, in file order.
#[derive(Debug)]
struct OrderedMap<V>(Vec<(serde_json::Value, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// 1-based line of the first line starting (after indentation) with `start`.
pub(crate) fn line_of(text: &str, start: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(start))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_map_has_the_old_file_components() {
        let map = ComponentMap::embedded();
        let names: Vec<&str> = map.components.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "nailgun",
                "python-fuelclient",
                "fuel-agent",
                "astute",
                "fuel-library",
                "fuel-ostf",
                "fuelmain"
            ]
        );
        assert_eq!(
            ComponentMap::resolve("fuel-library{series}", Some("8.0")).as_deref(),
            Some("fuel-library8.0")
        );
        assert_eq!(
            ComponentMap::matches_any_series("fuel-library{series}", "fuel-library9.0").as_deref(),
            Some("9.0")
        );
        assert_eq!(
            ComponentMap::matches_any_series("fuel-library{series}", "fuel-library-doc"),
            None
        );
    }

    #[test]
    fn malformed_override_names_the_line() {
        let err = parse("components:\n  nailgun: [a]\n", Some(Path::new("/x.yaml"))).unwrap_err();
        assert!(err.to_string().starts_with("/x.yaml line 2:"), "{err}");
    }
}
