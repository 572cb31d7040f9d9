//! Resolution: for every package of the document, before anything changes,
//! what the transaction must do (or why it cannot), from what is installed and
//! what the repositories offer, compared with the backend's own ordering.

use std::cmp::Ordering;

use fuel_pm::report::{reason, PackageAction};
use fuel_pm::{Package, Wanted};

use crate::backend::{Available, Installed, Step};
use crate::version::Scheme;

/// One document package, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    pub requested: String,
    pub before: Option<String>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already as wanted.
    Unchanged,
    /// The transaction must do `step`; `action` is how the report calls it.
    Change { step: Step, action: PackageAction },
    /// Cannot be resolved: a reason code of `fuel_pm::report::reason` and a message.
    Failed {
        reason: &'static str,
        message: String,
    },
}

/// Which of `packages` need the repositories' offer to be resolved: `latest`
/// always, a version only when the installed one does not already satisfy
/// it, `absent` never. When none does, a run needs no metadata refresh.
pub fn needs_repositories<'a>(
    scheme: Scheme,
    packages: &'a [Package],
    installed: &Installed,
) -> Vec<&'a str> {
    packages
        .iter()
        .filter(|p| match &p.version {
            Wanted::Latest => true,
            Wanted::Absent => false,
            Wanted::Exact(v) => !installed
                .get(&p.name)
                .is_some_and(|i| scheme.satisfies(i, v)),
        })
        .map(|p| p.name.as_str())
        .collect()
}

/// Resolves every package (none is skipped because another failed: the
/// report names every problem at once).
pub fn resolve(
    scheme: Scheme,
    packages: &[Package],
    installed: &Installed,
    available: &Available,
) -> Vec<Resolved> {
    packages
        .iter()
        .map(|p| {
            let before = installed.get(&p.name).cloned();
            let offered = available.get(&p.name).map(Vec::as_slice).unwrap_or(&[]);
            let outcome = match &p.version {
                Wanted::Absent => match before {
                    Some(_) => Outcome::Change {
                        step: Step::Remove,
                        action: PackageAction::Removed,
                    },
                    None => Outcome::Unchanged,
                },
                Wanted::Latest => latest(scheme, &p.name, before.as_deref(), offered),
                Wanted::Exact(v) => exact(scheme, &p.name, v, before.as_deref(), offered),
            };
            Resolved {
                name: p.name.clone(),
                requested: p.version.as_str().to_string(),
                before,
                outcome,
            }
        })
        .collect()
}

fn install(scheme: Scheme, target: &str, before: Option<&str>) -> Outcome {
    let action = match before.map(|b| scheme.compare(target, b)) {
        None => PackageAction::Installed,
        Some(Ordering::Greater) => PackageAction::Upgraded,
        Some(Ordering::Less) => PackageAction::Downgraded,
        Some(Ordering::Equal) => return Outcome::Unchanged,
    };
    Outcome::Change {
        step: Step::Install(target.to_string()),
        action,
    }
}

fn latest(scheme: Scheme, name: &str, before: Option<&str>, offered: &[String]) -> Outcome {
    let Some(newest) = offered.iter().max_by(|a, b| scheme.compare(a, b)) else {
        return match before {
            // Installed, and no repository offers anything newer (or at all).
            Some(_) => Outcome::Unchanged,
            None => not_found(name),
        };
    };
    match before {
        Some(b) if scheme.compare(newest, b) != Ordering::Greater => Outcome::Unchanged,
        _ => install(scheme, newest, before),
    }
}

fn exact(
    scheme: Scheme,
    name: &str,
    wanted: &str,
    before: Option<&str>,
    offered: &[String],
) -> Outcome {
    if before.is_some_and(|b| scheme.satisfies(b, wanted)) {
        return Outcome::Unchanged;
    }
    if offered.is_empty() && before.is_none() {
        return not_found(name);
    }
    // apt's `name=version` takes the version spelled exactly so: an offer
    // spelled as asked is that one, whatever other epochs offer (the run
    // that installs it without listing offers, and --check, agree).
    if scheme == Scheme::Dpkg {
        if let Some(spelled) = offered.iter().find(|o| o.as_str() == wanted) {
            return install(scheme, spelled, before);
        }
    }
    let matching: Vec<&String> = offered
        .iter()
        .filter(|o| scheme.satisfies(o, wanted))
        .collect();
    match matching[..] {
        [one] => install(scheme, one, before),
        [] => Outcome::Failed {
            reason: reason::VERSION_NOT_AVAILABLE,
            message: format!(
                "{name} {wanted} is not available; the repositories offer {}",
                listing(scheme, offered)
            ),
        },
        _ => Outcome::Failed {
            reason: reason::AMBIGUOUS_VERSION,
            message: format!(
                "{name} {wanted} matches several available versions ({}): write the epoch to choose one",
                listing(scheme, &matching)
            ),
        },
    }
}

fn not_found(name: &str) -> Outcome {
    Outcome::Failed {
        reason: reason::NOT_FOUND,
        message: format!("{name} is not installed and no repository offers it (check the name and the node's repositories)"),
    }
}

/// The versions, oldest first by the backend's ordering.
fn listing(scheme: Scheme, versions: &[impl AsRef<str>]) -> String {
    if versions.is_empty() {
        return "no version of it".to_string();
    }
    let mut sorted: Vec<&str> = versions.iter().map(AsRef::as_ref).collect();
    sorted.sort_by(|a, b| scheme.compare(a, b));
    sorted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str) -> Package {
        Package {
            name: name.into(),
            version: Wanted::from_spelling(version),
            after: vec![],
            allow_removals: false,
            line: 0,
        }
    }

    fn map<V: Clone>(entries: &[(&str, V)]) -> std::collections::BTreeMap<String, V> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn offered(entries: &[(&str, &[&str])]) -> Available {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn one(scheme: Scheme, p: Package, installed: &Installed, available: &Available) -> Outcome {
        resolve(scheme, &[p], installed, available)
            .remove(0)
            .outcome
    }

    fn change(step: Step, action: PackageAction) -> Outcome {
        Outcome::Change { step, action }
    }

    #[test]
    fn latest_installs_upgrades_or_leaves_alone() {
        for scheme in [Scheme::Dpkg, Scheme::Rpm] {
            let av = offered(&[("d", &["1.0-1", "3.0-1", "2.0-1"])]);
            let none = Installed::new();
            assert_eq!(
                one(scheme, package("d", "latest"), &none, &av),
                change(Step::Install("3.0-1".into()), PackageAction::Installed)
            );
            let old = map(&[("d", "1.0-1".to_string())]);
            assert_eq!(
                one(scheme, package("d", "latest"), &old, &av),
                change(Step::Install("3.0-1".into()), PackageAction::Upgraded)
            );
            let newest = map(&[("d", "3.0-1".to_string())]);
            assert_eq!(
                one(scheme, package("d", "latest"), &newest, &av),
                Outcome::Unchanged
            );
            // Newer than anything offered (installed by hand): left alone, never downgraded.
            let local = map(&[("d", "9.0-1".to_string())]);
            assert_eq!(
                one(scheme, package("d", "latest"), &local, &av),
                Outcome::Unchanged
            );
        }
    }

    #[test]
    fn latest_follows_the_epoch() {
        let av = offered(&[("e", &["1.5-1", "1:0.9-1"])]);
        assert_eq!(
            one(Scheme::Rpm, package("e", "latest"), &Installed::new(), &av),
            change(Step::Install("1:0.9-1".into()), PackageAction::Installed)
        );
    }

    #[test]
    fn an_exact_version_installs_upgrades_or_downgrades() {
        let av = offered(&[("d", &["1.0-1", "2.0-1", "3.0-1"])]);
        let at2 = map(&[("d", "2.0-1".to_string())]);
        assert_eq!(
            one(Scheme::Dpkg, package("d", "1.0-1"), &at2, &av),
            change(Step::Install("1.0-1".into()), PackageAction::Downgraded)
        );
        assert_eq!(
            one(Scheme::Dpkg, package("d", "3.0-1"), &at2, &av),
            change(Step::Install("3.0-1".into()), PackageAction::Upgraded)
        );
        assert_eq!(
            one(Scheme::Dpkg, package("d", "2.0-1"), &at2, &av),
            Outcome::Unchanged
        );
        assert_eq!(
            one(Scheme::Dpkg, package("d", "2.0-1"), &Installed::new(), &av),
            change(Step::Install("2.0-1".into()), PackageAction::Installed)
        );
    }

    #[test]
    fn a_version_without_its_epoch_matches_the_one_offered_with_one() {
        let av = offered(&[("e", &["1:0.9-1", "1.5-1"])]);
        assert_eq!(
            one(Scheme::Dpkg, package("e", "0.9-1"), &Installed::new(), &av),
            change(Step::Install("1:0.9-1".into()), PackageAction::Installed),
            "the transaction is given the epoch apt needs"
        );
    }

    #[test]
    fn the_installed_epoch_satisfies_an_epochless_request_every_run() {
        // Puppet's trap: installed 1:0.9-1, document says 0.9-1 → no change, every time.
        for scheme in [Scheme::Dpkg, Scheme::Rpm] {
            let installed = map(&[("e", "1:0.9-1".to_string())]);
            let av = offered(&[("e", &["1:0.9-1", "1.5-1"])]);
            assert_eq!(
                one(scheme, package("e", "0.9-1"), &installed, &av),
                Outcome::Unchanged
            );
            assert_eq!(
                one(scheme, package("e", "1:0.9-1"), &installed, &av),
                Outcome::Unchanged
            );
            // rpm's missing epoch is 0: "0:1.5-1" and "1.5-1" are one version.
            let plain = map(&[("e", "1.5-1".to_string())]);
            assert_eq!(
                one(scheme, package("e", "0:1.5-1"), &plain, &av),
                Outcome::Unchanged
            );
            // An explicit different epoch is a different version.
            assert_eq!(
                one(scheme, package("e", "1.5-1"), &installed, &av),
                change(Step::Install("1.5-1".into()), PackageAction::Downgraded)
            );
        }
        assert!(needs_repositories(
            Scheme::Rpm,
            &[package("e", "0.9-1")],
            &map(&[("e", "1:0.9-1".to_string())])
        )
        .is_empty());
    }

    #[test]
    fn missing_packages_and_versions_are_named_with_what_is_offered() {
        let av = offered(&[("d", &["2.0-1", "1.0-1"])]);
        let none = Installed::new();
        let Outcome::Failed { reason, message } =
            one(Scheme::Dpkg, package("nope", "latest"), &none, &av)
        else {
            panic!()
        };
        assert_eq!(reason, "not_found");
        assert!(message.contains("nope"), "{message}");
        let Outcome::Failed { reason, .. } = one(Scheme::Dpkg, package("nope", "1.0"), &none, &av)
        else {
            panic!()
        };
        assert_eq!(reason, "not_found");
        let Outcome::Failed { reason, message } =
            one(Scheme::Dpkg, package("d", "9.9-1"), &none, &av)
        else {
            panic!()
        };
        assert_eq!(reason, "version_not_available");
        assert!(
            message.contains("9.9-1") && message.contains("1.0-1, 2.0-1"),
            "{message}"
        );
    }

    #[test]
    fn on_apt_the_version_offered_as_spelled_wins_over_other_epochs() {
        let av = offered(&[("e", &["1:2.0-1", "2.0-1"])]);
        assert_eq!(
            one(Scheme::Dpkg, package("e", "2.0-1"), &Installed::new(), &av),
            change(Step::Install("2.0-1".into()), PackageAction::Installed)
        );
        let av = offered(&[("e", &["1:2.0-1", "2:2.0-1"])]);
        let Outcome::Failed { reason, .. } =
            one(Scheme::Dpkg, package("e", "2.0-1"), &Installed::new(), &av)
        else {
            panic!()
        };
        assert_eq!(reason, "ambiguous_version");
    }

    #[test]
    fn an_epochless_version_offered_under_two_epochs_is_ambiguous() {
        let av = offered(&[("e", &["1:2.0-1", "2:2.0-1", "2.0-1"])]);
        let Outcome::Failed { reason, message } =
            one(Scheme::Rpm, package("e", "2.0-1"), &Installed::new(), &av)
        else {
            panic!()
        };
        assert_eq!(reason, "ambiguous_version");
        assert!(message.contains("2.0-1, 1:2.0-1, 2:2.0-1"), "{message}");
    }

    #[test]
    fn absent_removes_only_what_is_installed() {
        let installed = map(&[("x", "1.0-1".to_string())]);
        let none = Available::new();
        assert_eq!(
            one(Scheme::Dpkg, package("x", "absent"), &installed, &none),
            change(Step::Remove, PackageAction::Removed)
        );
        assert_eq!(
            one(Scheme::Dpkg, package("y", "absent"), &installed, &none),
            Outcome::Unchanged
        );
    }

    #[test]
    fn only_latest_and_unsatisfied_versions_need_the_repositories() {
        let installed = map(&[("a", "1.0-1".to_string()), ("b", "2.0-1".to_string())]);
        let packages = [
            package("a", "1.0-1"),
            package("b", "1.0-1"),
            package("c", "latest"),
            package("d", "absent"),
        ];
        assert_eq!(
            needs_repositories(Scheme::Dpkg, &packages, &installed),
            ["b", "c"]
        );
    }
}
