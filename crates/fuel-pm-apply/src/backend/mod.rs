//! The node's package manager, behind one interface: what is installed, what
//! the repositories offer (after refreshing their metadata), and one
//! transaction that installs, upgrades, downgrades and removes together.
//! `apt` drives apt-get/dpkg, `dnf` drives dnf/rpm.

pub mod apt;
pub mod dnf;
mod dnf_session;
pub mod dpkg_status;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub use fuel_node::PackageManager;

use crate::command::{Ran, SpawnError};
use crate::version::Scheme;

/// Installed packages: name → version (with its epoch when it has one).
pub type Installed = BTreeMap<String, String>;
/// Versions the repositories offer: name → versions, deduplicated, in the
/// repositories' spelling (epoch included when there is one).
pub type Available = BTreeMap<String, Vec<String>>;

/// The version ordering of a package manager's packages.
pub fn scheme(pm: PackageManager) -> Scheme {
    match pm {
        PackageManager::Apt => Scheme::Dpkg,
        PackageManager::Dnf => Scheme::Rpm,
    }
}

/// One package's part of the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Install exactly this version (install, upgrade or downgrade).
    Install(String),
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub step: Step,
}

/// What the package manager's resolver says a transaction would do,
/// changing nothing (`apt-get -s`, dnf's `ts list`).
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The simulation as a transaction: `ok` false when the resolver refused.
    pub transaction: Transaction,
    /// Every package it would change, named or not: its version after
    /// (`None`: removed).
    pub steps: Vec<(String, Option<String>)>,
    /// Installed packages whose dependency made the resolver refuse: the
    /// package and the dependency as the package manager spells it
    /// (`fuel-test-app requires fuel-test-lib >= 2.0`).
    pub blockers: Vec<(String, String)>,
}

/// A package manager run that was killed and left the package database
/// unfinished, found before this run changes anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    /// What was found, for the report.
    pub found: String,
    pub packages: Vec<String>,
    /// The repair, as a person would type it.
    pub command: String,
}

/// What a transaction (or its simulation) answered.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub ok: bool,
    /// The command line run, for messages.
    pub line: String,
    /// The end of its output.
    pub output_tail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Another process held the package manager's lock for the whole wait.
    #[error("the package manager's lock is held by {holder}; gave up after waiting {waited_secs} s (--lock-timeout)")]
    LockTimeout { holder: String, waited_secs: u64 },
    #[error("{line} failed ({status}): {tail}")]
    Tool {
        line: String,
        status: String,
        tail: String,
    },
    #[error(transparent)]
    Spawn(#[from] SpawnError),
}

impl BackendError {
    /// A tool that ran and failed.
    pub fn tool(ran: &Ran) -> BackendError {
        BackendError::Tool {
            line: ran.line.clone(),
            status: match ran.code {
                Some(code) => format!("exit {code}"),
                None => "killed by a signal".to_string(),
            },
            tail: ran.tail(),
        }
    }
}

/// The driver of the node's package manager.
pub trait Backend {
    fn kind(&self) -> PackageManager;
    /// Installed versions of those of `names` that are installed.
    fn installed(&self, names: &[&str]) -> Result<Installed, BackendError>;
    /// Refreshes the repositories' metadata, then lists what they offer of `names`.
    fn available(&self, names: &[&str]) -> Result<Available, BackendError>;
    /// Applies every change in one transaction.
    fn transaction(&self, changes: &[Change]) -> Result<Transaction, BackendError>;
    /// Refreshes the repositories' metadata alone, for a backend whose
    /// transaction refuses, changing nothing, a version the repositories do
    /// not offer (apt's `name=version`): exact versions are then tried
    /// before their offers are listed. `None`: not such a backend.
    fn refresh(&self) -> Option<Result<(), BackendError>> {
        None
    }
    /// What the repositories offer of `names`, after [`Backend::refresh`].
    fn offered(&self, names: &[&str]) -> Result<Available, BackendError> {
        self.available(names)
    }
    /// The transaction, refused by the package manager's own planning,
    /// before anything changes, if it would remove any package (apt-get's
    /// `--no-remove`). `None`: the backend cannot, and the run simulates
    /// first.
    fn transaction_keeping_all(
        &self,
        _changes: &[Change],
    ) -> Option<Result<Transaction, BackendError>> {
        None
    }
    /// Every installed package.
    fn installed_all(&self) -> Result<Installed, BackendError>;
    /// What the resolver would do with `changes`; nothing is changed.
    fn simulate(&self, changes: &[Change]) -> Result<Simulation, BackendError>;
    /// An installed package's dependencies, each as the package manager
    /// spells it (`fuel-test-lib (>= 2.0)`, `fuel-test-lib >= 2.0`).
    fn requirements(&self, name: &str) -> Result<Vec<String>, BackendError>;
    /// The package manager's word for a dependency: "depends on", "requires".
    fn depends_word(&self) -> &'static str;
    /// A killed run's unfinished work in the package database, if any.
    fn interrupted(&self) -> Result<Option<Interrupted>, BackendError>;
    /// Finishes or undoes it (`Interrupted::command`).
    fn recover(&self, found: &Interrupted) -> Result<Ran, BackendError>;
}

/// The driver of `kind`, waiting at most `lock_timeout` for its lock each
/// time; `allow_erasing`: dnf's resolver may remove installed packages to
/// satisfy the transaction (apt's always may: the applier refuses what the
/// document did not allow from its simulation).
pub fn for_kind(
    kind: PackageManager,
    lock_timeout: Duration,
    allow_erasing: bool,
) -> Box<dyn Backend> {
    match kind {
        PackageManager::Apt => Box::new(apt::Apt { lock_timeout }),
        PackageManager::Dnf => Box::new(dnf::Dnf::new(lock_timeout, allow_erasing)),
    }
}

/// The leading package name of a dependency (`fuel-test-lib (>= 2.0)`,
/// `fuel-test-lib >= 2.0`, `python3:any`), if it is `name`'s own.
pub fn names_package(dependency: &str, name: &str) -> bool {
    dependency
        .split(|c: char| c.is_whitespace() || c == '(' || c == ':')
        .next()
        .is_some_and(|first| first == name)
}

/// One try at something that needs the package manager's lock.
pub enum Attempt<T = Ran> {
    Finished(T),
    /// The lock was held; by whom, as the tool said.
    Locked(String),
}

/// Runs `attempt` (given the seconds left to wait) until it finishes or the
/// lock has been held for `timeout`.
pub fn until_unlocked<T>(
    timeout: Duration,
    mut attempt: impl FnMut(u64) -> Result<Attempt<T>, BackendError>,
) -> Result<T, BackendError> {
    let started = Instant::now();
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        match attempt(left.as_secs())? {
            Attempt::Finished(ran) => return Ok(ran),
            Attempt::Locked(holder) => {
                if started.elapsed() >= timeout {
                    return Err(BackendError::LockTimeout {
                        holder,
                        waited_secs: timeout.as_secs(),
                    });
                }
                std::thread::sleep(Duration::from_millis(250).min(left));
            }
        }
    }
}

/// Deduplicates each package's versions (several repositories or
/// architectures offer the same one) keeping the first spelling.
fn dedup(mut available: Available) -> Available {
    for versions in available.values_mut() {
        let mut seen = std::collections::BTreeSet::new();
        versions.retain(|v| seen.insert(v.clone()));
    }
    available
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_for_the_lock_gives_up_naming_the_holder() {
        let mut tries = 0;
        let err = until_unlocked(Duration::from_millis(600), |_| {
            tries += 1;
            Ok(Attempt::<()>::Locked("process 42 (apt-get)".into()))
        })
        .unwrap_err();
        assert!(tries >= 2, "it retried ({tries})");
        assert!(err.to_string().contains("process 42 (apt-get)"), "{err}");
    }

    #[test]
    fn a_dependency_names_its_package_by_its_first_word() {
        assert!(names_package("fuel-test-lib (>= 2.0)", "fuel-test-lib"));
        assert!(names_package("fuel-test-lib >= 2.0", "fuel-test-lib"));
        assert!(names_package("fuel-test-lib", "fuel-test-lib"));
        assert!(names_package("python3:any", "python3"));
        assert!(!names_package("fuel-test-lib2 (>= 2.0)", "fuel-test-lib"));
    }

    #[test]
    fn duplicate_offers_of_one_version_count_once() {
        let available: Available = [(
            "p".to_string(),
            vec![
                "1.0-1".to_string(),
                "2.0-1".to_string(),
                "1.0-1".to_string(),
            ],
        )]
        .into();
        assert_eq!(dedup(available)["p"], ["1.0-1", "2.0-1"]);
    }
}
