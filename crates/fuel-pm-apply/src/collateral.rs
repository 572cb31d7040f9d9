//! What a transaction does to packages the document does not name. The
//! package manager's own simulation says it before anything changes
//! (`apt-get -s`, dnf's `ts list`; apt's direct path leaves it to the
//! transaction's `--no-remove`, and simulates only once that refused); a
//! removal or downgrade among them is refused unless the document allows it
//! (`allow_removals`), because a
//! dependent removed with no word is how a pinned library "destroys a running
//! cluster". After the transaction, the package database read back says what
//! it did, and that is what the report lists.

use std::collections::BTreeSet;

use fuel_pm::report::{Collateral, PackageAction};
use fuel_pm::Document;

use crate::backend::{names_package, Backend, BackendError, Installed, Simulation};
use crate::version::Scheme;

/// How a package went from `before` to `after` (`None`: not installed);
/// `None` when it did not change.
pub fn action(scheme: Scheme, before: Option<&str>, after: Option<&str>) -> Option<PackageAction> {
    match (before, after) {
        (None, None) => None,
        (None, Some(_)) => Some(PackageAction::Installed),
        (Some(_), None) => Some(PackageAction::Removed),
        (Some(b), Some(a)) => match scheme.compare(a, b) {
            std::cmp::Ordering::Greater => Some(PackageAction::Upgraded),
            std::cmp::Ordering::Less => Some(PackageAction::Downgraded),
            std::cmp::Ordering::Equal => None,
        },
    }
}

/// Whether a change to an unnamed package needs the document's permission.
fn takes_away(action: PackageAction) -> bool {
    matches!(action, PackageAction::Removed | PackageAction::Downgraded)
}

/// The package of the document that `dependency` names, if any.
fn forced_by<'d>(document: &'d Document, dependency: &str) -> Option<&'d str> {
    document
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .find(|name| names_package(dependency, name))
}

/// What the simulated transaction would do to packages the document does
/// not name, each removal or downgrade with the dependency that forces it
/// and `refused` when the document does not allow it.
pub fn predicted(
    document: &Document,
    scheme: Scheme,
    pm: &dyn Backend,
    before: &Installed,
    simulation: &Simulation,
) -> Result<Vec<Collateral>, BackendError> {
    let named: BTreeSet<&str> = document.packages.iter().map(|p| p.name.as_str()).collect();
    let mut collateral: Vec<Collateral> = Vec::new();
    for (name, after) in &simulation.steps {
        if named.contains(name.as_str()) {
            continue;
        }
        let was = before.get(name).map(String::as_str);
        let Some(action) = action(scheme, was, after.as_deref()) else {
            continue;
        };
        let (cause, forcing) = if takes_away(action) {
            cause(document, pm, name)?
        } else {
            (None, None)
        };
        collateral.push(Collateral {
            name: name.clone(),
            before: was.map(str::to_string),
            after: after.clone(),
            action,
            refused: takes_away(action) && !document.allows_removal_forced_by(forcing),
            cause,
        });
    }
    // dnf refuses instead of removing (no --allowerasing): it names the
    // installed package whose dependency stands in the way.
    for (name, dependency) in &simulation.blockers {
        if named.contains(name.as_str()) || collateral.iter().any(|c| &c.name == name) {
            continue;
        }
        let requirement = dependency.split(" requires ").nth(1).unwrap_or(dependency);
        let forcing = forced_by(document, requirement);
        collateral.push(Collateral {
            name: name.clone(),
            before: before.get(name).cloned(),
            after: None,
            action: PackageAction::Removed,
            cause: Some(dependency.clone()),
            refused: !document.allows_removal_forced_by(forcing),
        });
    }
    Ok(collateral)
}

/// The dependency of installed package `name` on a package of the document,
/// as "NAME depends on DEPENDENCY", and that package.
fn cause<'d>(
    document: &'d Document,
    pm: &dyn Backend,
    name: &str,
) -> Result<(Option<String>, Option<&'d str>), BackendError> {
    for requirement in pm.requirements(name)? {
        // Alternatives ("a | b") count when one of them is the document's.
        let forcing = requirement
            .split('|')
            .find_map(|alternative| forced_by(document, alternative.trim()));
        if let Some(forcing) = forcing {
            let word = pm.depends_word();
            return Ok((Some(format!("{name} {word} {requirement}")), Some(forcing)));
        }
    }
    Ok((None, None))
}

/// What the transaction did to packages the document does not name, from
/// the package database before and after it; causes as predicted.
pub fn outcome(
    document: &Document,
    scheme: Scheme,
    before: &Installed,
    after: &Installed,
    predicted: &[Collateral],
) -> Vec<Collateral> {
    let named: BTreeSet<&str> = document.packages.iter().map(|p| p.name.as_str()).collect();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    // In the order the simulation listed them, then any it did not foresee.
    let mut order: Vec<&String> = predicted
        .iter()
        .map(|c| &c.name)
        .filter(|n| names.contains(n))
        .collect();
    let unforeseen: Vec<&String> = names
        .iter()
        .copied()
        .filter(|n| !order.contains(n))
        .collect();
    order.extend(unforeseen);
    order
        .into_iter()
        .filter(|name| !named.contains(name.as_str()))
        .filter_map(|name| {
            let was = before.get(name).map(String::as_str);
            let now = after.get(name).map(String::as_str);
            let action = action(scheme, was, now)?;
            Some(Collateral {
                name: name.clone(),
                before: was.map(str::to_string),
                after: now.map(str::to_string),
                action,
                cause: predicted
                    .iter()
                    .find(|c| &c.name == name)
                    .and_then(|c| c.cause.clone()),
                refused: false,
            })
        })
        .collect()
}

/// The refusal message of a document package whose change was refused.
pub fn refusal_message(refused: &[&Collateral]) -> String {
    let each: Vec<String> = refused
        .iter()
        .map(|c| {
            let what = match c.action {
                PackageAction::Downgraded => format!(
                    "downgrade {} from {} to {}",
                    c.name,
                    c.before.as_deref().unwrap_or("-"),
                    c.after.as_deref().unwrap_or("-")
                ),
                _ => format!(
                    "remove {} {}",
                    c.name,
                    c.before.as_deref().unwrap_or_default()
                ),
            };
            match &c.cause {
                Some(cause) => format!("{what} ({cause})"),
                None => what,
            }
        })
        .collect();
    format!(
        "the transaction would {}, which the document does not name; nothing was changed \
         (write `allow_removals: true` on the package, or at the top of the document, to allow it)",
        each.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_classified_by_the_backends_ordering() {
        let s = Scheme::Dpkg;
        assert_eq!(action(s, None, Some("1")), Some(PackageAction::Installed));
        assert_eq!(action(s, Some("1"), None), Some(PackageAction::Removed));
        assert_eq!(
            action(s, Some("2.0-1"), Some("1.5-1")),
            Some(PackageAction::Downgraded)
        );
        assert_eq!(
            action(s, Some("1.5-1"), Some("1:0.9-1")),
            Some(PackageAction::Upgraded)
        );
        assert_eq!(action(s, Some("1.0-1"), Some("1.0-01")), None);
    }

    #[test]
    fn what_the_database_says_changed_is_the_outcome_with_the_predicted_cause() {
        let doc = fuel_pm::parse(b"packages:\n- name: lib\n  version: 1.5-1\n").unwrap();
        let before: Installed = [
            ("app".to_string(), "1.0-1".to_string()),
            ("lib".to_string(), "2.0-1".to_string()),
            ("same".to_string(), "1".to_string()),
        ]
        .into();
        let after: Installed = [
            ("lib".to_string(), "1.5-1".to_string()),
            ("new".to_string(), "3".to_string()),
            ("same".to_string(), "1".to_string()),
        ]
        .into();
        let predicted = [Collateral {
            name: "app".into(),
            before: Some("1.0-1".into()),
            after: None,
            action: PackageAction::Removed,
            cause: Some("app depends on lib (>= 2.0)".into()),
            refused: false,
        }];
        let done = outcome(&doc, Scheme::Dpkg, &before, &after, &predicted);
        assert_eq!(done.len(), 2, "{done:#?}");
        assert_eq!(done[0], predicted[0]);
        assert_eq!(
            (
                done[1].name.as_str(),
                done[1].action,
                done[1].cause.as_deref()
            ),
            ("new", PackageAction::Installed, None)
        );
    }
}
