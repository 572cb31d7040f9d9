//! `--node 2,3`: which nodes a command acts on, parsed once into a set of ids.
//!
//! python-fuelclient took `--node 1,2` and `--node 1 2`; `fuel` takes those,
//! repeats (`--node 2 --node 3`) and ranges (`--node 2-5`), in any mix.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The most nodes one selection may name: a slip such as `1-1000000000` is
/// refused instead of being expanded into a billion ids.
pub const MAX_SELECTED: usize = 10_000;

/// A set of node ids, in ascending order, each once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeSelection(BTreeSet<i64>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("`{text}` has an empty item: list node ids separated by commas, e.g. `2,3` or `2-5`")]
    EmptyItem { text: String },
    #[error("`{item}` in `{text}` is not a node id: ids are positive whole numbers (e.g. `--node 2,3`, `--node 2-5`); `fuel node` lists them")]
    NotAnId { text: String, item: String },
    #[error("`{item}` in `{text}` is a backwards range: write the lower id first, `{low}-{high}`")]
    Backwards {
        text: String,
        item: String,
        low: i64,
        high: i64,
    },
    #[error("`{text}` selects more than {MAX_SELECTED} nodes: check the range")]
    TooMany { text: String },
}

impl NodeSelection {
    /// Parses one `--node` value: ids and `low-high` ranges separated by commas.
    pub fn parse(text: &str) -> Result<Self, SelectionError> {
        let mut selection = NodeSelection::default();
        for raw in text.split(',') {
            let item = raw.trim();
            if item.is_empty() {
                return Err(SelectionError::EmptyItem {
                    text: text.to_string(),
                });
            }
            let id = |part: &str| -> Result<i64, SelectionError> {
                match part.trim().parse::<i64>() {
                    Ok(id) if id > 0 && !part.trim().starts_with('+') => Ok(id),
                    _ => Err(SelectionError::NotAnId {
                        text: text.to_string(),
                        item: item.to_string(),
                    }),
                }
            };
            let (low, high) = match item.split_once('-') {
                Some((low, high)) => (id(low)?, id(high)?),
                None => {
                    let single = id(item)?;
                    (single, single)
                }
            };
            if low > high {
                return Err(SelectionError::Backwards {
                    text: text.to_string(),
                    item: item.to_string(),
                    low: high,
                    high: low,
                });
            }
            let too_many = || SelectionError::TooMany {
                text: text.to_string(),
            };
            if (high - low) as u64 >= MAX_SELECTED as u64 {
                return Err(too_many());
            }
            selection.0.extend(low..=high);
            if selection.0.len() > MAX_SELECTED {
                return Err(too_many());
            }
        }
        Ok(selection)
    }

    /// Every id of `self` and `other` (`--node 2 --node 3`).
    pub fn union(mut self, other: NodeSelection) -> Result<Self, SelectionError> {
        self.0.extend(other.0);
        if self.0.len() > MAX_SELECTED {
            return Err(SelectionError::TooMany {
                text: self.to_string(),
            });
        }
        Ok(self)
    }

    /// Parses and merges every occurrence of `--node`.
    pub fn parse_all<S: AsRef<str>>(values: &[S]) -> Result<Self, SelectionError> {
        values.iter().try_fold(NodeSelection::default(), |all, v| {
            all.union(NodeSelection::parse(v.as_ref())?)
        })
    }

    /// The ids in ascending order.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.iter().copied()
    }

    pub fn contains(&self, id: i64) -> bool {
        self.0.contains(&id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for NodeSelection {
    type Err = SelectionError;
    fn from_str(s: &str) -> Result<Self, SelectionError> {
        NodeSelection::parse(s)
    }
}

/// Ids the server gave (an inventory's nodes), for showing in canonical form.
impl FromIterator<i64> for NodeSelection {
    fn from_iter<I: IntoIterator<Item = i64>>(ids: I) -> Self {
        NodeSelection(ids.into_iter().collect())
    }
}

/// The canonical form: runs of consecutive ids as ranges (`2,3,5-7`), so an
/// error or a log line naming a selection stays short and re-parses the same.
impl fmt::Display for NodeSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids = self.ids().peekable();
        let mut first = true;
        while let Some(start) = ids.next() {
            let mut end = start;
            while ids.peek() == Some(&(end + 1)) {
                end = ids.next().unwrap_or(end);
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match end - start {
                0 => write!(f, "{start}")?,
                1 => write!(f, "{start},{end}")?,
                _ => write!(f, "{start}-{end}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<i64> {
        NodeSelection::parse(text).unwrap().ids().collect()
    }

    #[test]
    fn commas_ranges_and_spaces_select_each_id_once_in_order() {
        assert_eq!(ids("2,3"), vec![2, 3]);
        assert_eq!(ids("3,2,3"), vec![2, 3]);
        assert_eq!(ids("2-5"), vec![2, 3, 4, 5]);
        assert_eq!(ids(" 7 , 1-2 ,4"), vec![1, 2, 4, 7]);
        assert_eq!(ids("5-5"), vec![5]);
    }

    #[test]
    fn repeated_options_merge() {
        let all = NodeSelection::parse_all(&["2", "3", "2,9"]).unwrap();
        assert_eq!(all.ids().collect::<Vec<_>>(), vec![2, 3, 9]);
        assert!(all.contains(9) && !all.contains(4));
        assert_eq!(all.len(), 3);
        assert!(NodeSelection::parse_all::<&str>(&[]).unwrap().is_empty());
    }

    #[test]
    fn display_is_canonical_and_parses_back() {
        let selection = NodeSelection::parse("9,2,3,5,6,7,11").unwrap();
        assert_eq!(selection.to_string(), "2,3,5-7,9,11");
        assert_eq!(
            NodeSelection::parse(&selection.to_string()).unwrap(),
            selection
        );
    }

    #[test]
    fn ids_are_positive_whole_numbers() {
        for bad in [
            "0",
            "-3",
            "a",
            "2.5",
            "+4",
            "3-",
            "-",
            "1-x",
            "99999999999999999999",
        ] {
            let err = NodeSelection::parse(bad).unwrap_err();
            assert!(
                matches!(err, SelectionError::NotAnId { .. }),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("fuel node"), "{err}");
        }
    }

    #[test]
    fn empty_items_are_refused() {
        for bad in ["", "2,,3", "2,", ", "] {
            assert!(matches!(
                NodeSelection::parse(bad),
                Err(SelectionError::EmptyItem { .. })
            ));
        }
    }

    #[test]
    fn backwards_ranges_say_how_to_write_them() {
        let err = NodeSelection::parse("5-2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`5-2` in `5-2` is a backwards range: write the lower id first, `2-5`"
        );
    }

    #[test]
    fn huge_selections_are_refused_without_expanding_them() {
        assert!(matches!(
            NodeSelection::parse("1-1000000000000"),
            Err(SelectionError::TooMany { .. })
        ));
        assert_eq!(NodeSelection::parse("1-10000").unwrap().len(), MAX_SELECTED);
        assert!(NodeSelection::parse("1-10000,10001").is_err());
        assert!(NodeSelection::parse_all(&["1-6000", "6001-12000"]).is_err());
    }
}
