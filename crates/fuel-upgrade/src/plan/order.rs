//! The start-order graph: services grouped by dependency level, so a
//! level starts after the levels it depends on (and stops before them).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Plan;

impl Plan {
    /// Services grouped by dependency level: level 0 depends on nothing,
    /// level n only on lower levels. Err holds a cycle.
    pub fn start_levels(&self) -> Result<Vec<Vec<String>>, Vec<String>> {
        let deps: HashMap<&str, &Vec<String>> = self
            .services
            .iter()
            .map(|s| (s.name.as_str(), &s.depends_on))
            .collect();
        dependency_levels(
            &self
                .services
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>(),
            |n| deps.get(n).map(|d| d.to_vec()).unwrap_or_default(),
        )
    }
}

/// Groups `names` into levels so that each name comes after what it
/// depends on (dependencies outside `names` are ignored).
pub fn dependency_levels(
    names: &[String],
    deps: impl Fn(&str) -> Vec<String>,
) -> Result<Vec<Vec<String>>, Vec<String>> {
    let known: BTreeSet<&str> = names.iter().map(|s| s.as_str()).collect();
    let mut level: BTreeMap<String, usize> = BTreeMap::new();
    fn visit(
        n: &str,
        known: &BTreeSet<&str>,
        deps: &dyn Fn(&str) -> Vec<String>,
        level: &mut BTreeMap<String, usize>,
        stack: &mut Vec<String>,
    ) -> Result<usize, Vec<String>> {
        if let Some(l) = level.get(n) {
            return Ok(*l);
        }
        if let Some(pos) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(n.to_string());
            return Err(cycle);
        }
        stack.push(n.to_string());
        let mut l = 0;
        for d in deps(n) {
            if known.contains(d.as_str()) {
                l = l.max(visit(&d, known, deps, level, stack)? + 1);
            }
        }
        stack.pop();
        level.insert(n.to_string(), l);
        Ok(l)
    }
    for n in names {
        visit(n, &known, &deps, &mut level, &mut Vec::new())?;
    }
    let depth = level.values().max().map(|m| m + 1).unwrap_or(0);
    let mut levels = vec![Vec::new(); depth];
    for n in names {
        levels[level[n]].push(n.clone());
    }
    Ok(levels)
}
