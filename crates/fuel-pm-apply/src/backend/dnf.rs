//! dnf and rpm: `rpm -qa` for what is installed (one read of the database
//! serves every question asked before the transaction: what is installed,
//! an interrupted transaction's duplicates, rpm's lock path; `rpm -q` of a
//! document's names alone cost more than the whole database); one `dnf
//! shell` session (`dnf_session.rs`) that refreshes the metadata, answers
//! `repoquery` for what the repositories offer and then carries the one
//! transaction: installs, upgrades, downgrades (`install name-version`
//! downgrades) and removals together. Before it runs, `ts list` in the same shell asks
//! dnf's resolver what the transaction would do (dependencies included), or
//! which installed package's dependency makes it refuse. dnf's own locks are
//! asked not to block (`exit_on_lock`), rpm's transaction lock is probed
//! first, so the wait is ours and bounded.
//!
//! A killed rpm transaction: rpm commits each package to its database as it
//! goes, so there is nothing like dpkg's half-configured state to finish (a
//! scriptlet that was killed is not run again: rpm does not record it). What
//! can remain is an upgrade's old version next to its new one; those
//! duplicates are found from the database and removed with
//! `dnf remove --duplicates`.

use std::cell::{Cell, RefCell};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use super::dnf_session::Session;
use super::{
    dedup, until_unlocked, Attempt, Available, Backend, BackendError, Change, Installed,
    Interrupted, PackageManager, Simulation, Step, Transaction,
};
use crate::command::{Invocation, Ran, SpawnError};
use crate::version::rpm;

pub struct Dnf {
    lock_timeout: Duration,
    /// `--allowerasing`: the resolver may remove installed packages.
    allow_erasing: bool,
    /// The shell that answered `available`, kept for the transaction.
    session: RefCell<Option<Session>>,
    /// The kept shell has the transaction queued (by `simulate`).
    queued: Cell<bool>,
    /// The database as read before the transaction (`Database`), dropped
    /// by anything that may change it: every later read is fresh.
    database: RefCell<Option<Rc<Database>>>,
    /// A transaction or a repair has run: no read is kept any more.
    changed: Cell<bool>,
}

/// One read of rpm's database: `rpm --eval %{_rpmlock_path} -qa`, the
/// lock path on the first line, then one `NAME|ARCH|EPOCH|VERSION-RELEASE`
/// line per package.
struct Database {
    lock_path: String,
    packages: String,
}

fn read_database() -> Result<Database, BackendError> {
    let ran = Invocation::new(
        "rpm",
        [
            "--eval",
            "%{_rpmlock_path}",
            "-qa",
            "--qf",
            "%{NAME}|%{ARCH}|%{EPOCH}|%{VERSION}-%{RELEASE}\n",
        ],
    )
    .run()?;
    if !ran.success() {
        return Err(BackendError::tool(&ran));
    }
    let (lock_path, packages) = ran.stdout.split_once('\n').unwrap_or((&ran.stdout, ""));
    Ok(Database {
        lock_path: lock_path.trim().to_string(),
        packages: packages.to_string(),
    })
}

impl Dnf {
    pub fn new(lock_timeout: Duration, allow_erasing: bool) -> Dnf {
        Dnf {
            lock_timeout,
            allow_erasing,
            session: RefCell::new(None),
            queued: Cell::new(false),
            database: RefCell::new(None),
            changed: Cell::new(false),
        }
    }

    /// The database: the kept read before any change, else a fresh one.
    fn database(&self) -> Result<Rc<Database>, BackendError> {
        if let Some(kept) = self.database.borrow().as_ref() {
            return Ok(Rc::clone(kept));
        }
        let read = Rc::new(read_database()?);
        if !self.changed.get() {
            *self.database.borrow_mut() = Some(Rc::clone(&read));
        }
        Ok(read)
    }

    /// From now on the database may differ from any read kept.
    fn may_change(&self) {
        self.changed.set(true);
        self.database.borrow_mut().take();
    }
}

/// dnf's exit code when one of its own locks is held and `exit_on_lock` is set.
const LOCKED_EXIT: i32 = 200;

/// `E:V-R`, the epoch left out when it is absent (`(none)`) or 0, as dnf prints it.
fn evr(epoch: &str, version_release: &str) -> String {
    match epoch {
        "" | "0" | "(none)" => version_release.to_string(),
        e => format!("{e}:{version_release}"),
    }
}

/// Installed packages from `rpm -qa --qf NAME|ARCH|EPOCH|VERSION-RELEASE`
/// (other lines are skipped); only `names` unless empty. Of several
/// installed versions (multilib) the newest counts.
pub fn parse_query(stdout: &str, names: &[&str]) -> Installed {
    let mut installed = Installed::new();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('|').collect();
        let [name, _arch, epoch, vr] = fields[..] else {
            continue;
        };
        if !names.is_empty() && !names.contains(&name) {
            continue;
        }
        let version = evr(epoch, vr);
        let newer = installed
            .get(name)
            .is_none_or(|old| rpm::compare(&version, old).is_gt());
        if newer {
            installed.insert(name.to_string(), version);
        }
    }
    installed
}

/// `dnf … shell`'s options: metadata refreshed at start, dnf's locks not
/// waited for (we wait, bounded), yes to the transaction; `--allowerasing`
/// when the document allows removals. Not `-q`: it would hide the
/// transaction table `ts list` prints.
pub fn session_args(allow_erasing: bool) -> Vec<String> {
    let mut args: Vec<String> = ["--refresh", "--setopt=exit_on_lock=True", "-y"]
        .map(String::from)
        .to_vec();
    if allow_erasing {
        args.push("--allowerasing".into());
    }
    args
}

/// The shell command listing every available version of `names`.
pub fn repoquery_command(names: &[&str]) -> String {
    let mut line = "repoquery --showduplicates --qf %{name}|%{epoch}|%{version}-%{release}|%{arch}"
        .to_string();
    for name in names {
        line.push(' ');
        line.push_str(name);
    }
    line
}

pub fn parse_repoquery(stdout: &str, names: &[&str]) -> Available {
    let mut available = Available::new();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.trim().split('|').collect();
        let [name, epoch, vr, arch] = fields[..] else {
            continue;
        };
        if names.contains(&name) && arch != "src" && arch != "nosrc" {
            available
                .entry(name.to_string())
                .or_default()
                .push(evr(epoch, vr));
        }
    }
    dedup(available)
}

/// The shell commands that queue the transaction, one per change.
pub fn queue_commands(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|change| match &change.step {
            // name-[epoch:]version-release: dnf installs, upgrades or downgrades to it.
            Step::Install(version) => format!("install {}-{version}", change.name),
            Step::Remove => format!("remove {}", change.name),
        })
        .collect()
}

/// The transaction's shell commands, ending with `run`.
pub fn transaction_script(changes: &[Change]) -> String {
    let mut script: String = queue_commands(changes)
        .iter()
        .map(|c| format!("{c}\n"))
        .collect();
    script.push_str("run\n");
    script
}

/// dnf's transaction table (`ts list`, or before a run): each package it
/// would change and its version after (`None`: removed). Sections are
/// "Installing:", "Upgrading:", "Downgrading:", "Removing:" and their
/// "… dependencies:"/"dependent packages:" kin; a row is
/// ` NAME ARCH VERSION REPOSITORY SIZE`, wrapped after NAME when it is long.
pub fn parse_table(stdout: &str) -> Vec<(String, Option<String>)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Section {
        Install,
        Remove,
        Other,
    }
    let mut steps = Vec::new();
    let mut section = None;
    let mut wrapped: Option<String> = None;
    for line in stdout.lines() {
        let line = line.trim_end();
        if line.starts_with("Transaction Summary") {
            section = None;
            continue;
        }
        if !line.starts_with(' ') {
            section = line.strip_suffix(':').map(|heading| {
                if heading.starts_with("Installing")
                    || heading.starts_with("Upgrading")
                    || heading.starts_with("Downgrading")
                {
                    Section::Install
                } else if heading.starts_with("Removing") {
                    Section::Remove
                } else {
                    Section::Other
                }
            });
            wrapped = None;
            continue;
        }
        let Some(section) = section else { continue };
        let mut fields: Vec<String> = line.split_whitespace().map(String::from).collect();
        if let Some(name) = wrapped.take() {
            fields.insert(0, name);
        }
        match fields.len() {
            0 => {}
            1 => wrapped = fields.pop(),
            _ if fields[0] == "replacing" => {}
            n if n >= 3 => match section {
                Section::Install => steps.push((fields[0].clone(), Some(fields[2].clone()))),
                Section::Remove => steps.push((fields[0].clone(), None)),
                Section::Other => {}
            },
            _ => {}
        }
    }
    steps
}

/// The name of `NAME-VERSION-RELEASE.ARCH`.
fn name_of_nevra(nevra: &str) -> &str {
    let without_arch = nevra.rsplit_once('.').map_or(nevra, |(n, _)| n);
    let mut parts = without_arch.rsplitn(3, '-');
    let (_release, _version) = (parts.next(), parts.next());
    parts.next().unwrap_or(without_arch)
}

/// The installed packages whose dependency made dnf's resolver refuse, from
/// its problem lines ("package fuel-test-app-1.0-1.noarch requires
/// fuel-test-lib >= 2.0, but none of the providers can be installed"): the
/// package's name and "NAME requires DEPENDENCY".
pub fn parse_blockers(stdout: &str, installed: &Installed) -> Vec<(String, String)> {
    let mut blockers: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        let Some((_, rest)) = line.split_once("package ") else {
            continue;
        };
        let Some((nevra, dependency)) = rest.split_once(" requires ") else {
            continue;
        };
        let dependency = dependency
            .split(", but none of the providers")
            .next()
            .unwrap_or(dependency)
            .trim();
        let name = name_of_nevra(nevra.trim());
        if installed.contains_key(name) && !blockers.iter().any(|(n, _)| n == name) {
            blockers.push((name.to_string(), format!("{name} requires {dependency}")));
        }
    }
    blockers
}

/// Installed packages with more than one version of one architecture (an
/// upgrade whose old version a killed rpm did not erase), from `rpm -qa
/// --qf NAME|ARCH|…`; kernels are installed side by side on purpose.
pub fn parse_duplicates(stdout: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::<(&str, &str), usize>::new();
    for line in stdout.lines() {
        let mut fields = line.split('|');
        if let (Some(name), Some(arch)) = (fields.next(), fields.next()) {
            if !name.starts_with("kernel") && !name.starts_with("gpg-pubkey") {
                *seen.entry((name, arch)).or_default() += 1;
            }
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((name, _), _)| name.to_string())
        .collect()
}

/// dnf's shell goes on after a failed command and exits 0: its `Error:`
/// lines are what tell (a check's "Operation aborted." is the answer asked for).
pub fn shell_failed(ran: &Ran, check: bool) -> bool {
    !ran.success()
        || ran.stderr.lines().any(|l| {
            let l = l.trim();
            l.starts_with("Error:") && !(check && l == "Error: Operation aborted.")
        })
}

/// Who holds one of dnf's locks, from its message ("RPMDB already locked by
/// 1234"): dnf exits 200 with it, its shell prints it as an `Error:` and goes on.
pub fn dnf_lock_holder(ran: &Ran) -> Option<String> {
    let said = format!("{}\n{}", ran.stderr, ran.stdout);
    if ran.code != Some(LOCKED_EXIT) && !said.contains("already locked by ") {
        return None;
    }
    let pid = said.lines().find_map(|l| {
        let (_, rest) = l.split_once("already locked by ")?;
        rest.trim().parse::<i32>().ok()
    });
    Some(match pid {
        Some(pid) => describe_process(pid),
        None => "another dnf".to_string(),
    })
}

/// "process 1234 (rpm)", from /proc.
pub fn describe_process(pid: i32) -> String {
    match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => format!("process {pid} ({})", comm.trim()),
        Err(_) => format!("process {pid}"),
    }
}

/// The pid holding an fcntl write lock on `path` (rpm's transaction lock is
/// one), or `None` when nobody does. `Some(-1)`: an open-file-description lock,
/// whose owner the kernel does not tell.
pub fn fcntl_lock_holder(path: &Path) -> Option<i32> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: an all-zero `flock` is a valid value of a plain C struct.
    let mut probe: libc::flock = unsafe { std::mem::zeroed() };
    probe.l_type = libc::F_WRLCK as libc::c_short;
    probe.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_GETLK writes only into `probe`, which outlives the call; the
    // descriptor is open for the duration.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut probe) };
    (rc == 0 && probe.l_type != libc::F_UNLCK as libc::c_short).then_some(probe.l_pid)
}

impl Dnf {
    /// The open session, or a new one (`Locked` while dnf's lock is held).
    fn session(&self) -> Result<Attempt<Session>, BackendError> {
        if let Some(session) = self.session.borrow_mut().take() {
            return Ok(Attempt::Finished(session));
        }
        match Session::start(&session_args(self.allow_erasing))? {
            Ok(session) => Ok(Attempt::Finished(session)),
            Err(ran) => ended(ran),
        }
    }
}

/// A shell that ended before it should have: dnf's lock, or a failure.
fn ended<T>(ran: Ran) -> Result<Attempt<T>, BackendError> {
    match dnf_lock_holder(&ran) {
        Some(holder) => Ok(Attempt::Locked(holder)),
        None => Err(BackendError::tool(&ran)),
    }
}

fn io_error(source: std::io::Error) -> BackendError {
    BackendError::Spawn(SpawnError {
        line: "dnf shell".to_string(),
        source,
    })
}

impl Backend for Dnf {
    fn kind(&self) -> PackageManager {
        PackageManager::Dnf
    }

    fn installed(&self, names: &[&str]) -> Result<Installed, BackendError> {
        if names.is_empty() {
            return Ok(Installed::new());
        }
        Ok(parse_query(&self.database()?.packages, names))
    }

    fn available(&self, names: &[&str]) -> Result<Available, BackendError> {
        let (session, output) = until_unlocked(self.lock_timeout, |_| {
            let mut session = match self.session()? {
                Attempt::Finished(session) => session,
                Attempt::Locked(holder) => return Ok(Attempt::Locked(holder)),
            };
            match session.ask(&repoquery_command(names)).map_err(io_error)? {
                Some(output) => Ok(Attempt::Finished((session, output))),
                None => ended(session.finish("").map_err(io_error)?),
            }
        })?;
        *self.session.borrow_mut() = Some(session);
        Ok(parse_repoquery(&output, names))
    }

    fn transaction(&self, changes: &[Change]) -> Result<Transaction, BackendError> {
        // Where rpm takes its transaction lock (`%_rpmlock_path`).
        let rpm_lock = Some(self.database()?.lock_path.clone());
        self.may_change();
        let ran = until_unlocked(self.lock_timeout, |_| {
            if let Some(path) = &rpm_lock {
                if let Some(pid) = fcntl_lock_holder(Path::new(path)) {
                    let holder = if pid > 0 {
                        describe_process(pid)
                    } else {
                        "another process".to_string()
                    };
                    return Ok(Attempt::Locked(format!(
                        "{holder} (rpm's transaction lock {path})"
                    )));
                }
            }
            // The shell `simulate` left has the transaction queued already.
            let queued = self.queued.replace(false);
            let session = match self.session()? {
                Attempt::Finished(session) => session,
                Attempt::Locked(holder) => return Ok(Attempt::Locked(holder)),
            };
            let script = if queued {
                "run\n".to_string()
            } else {
                transaction_script(changes)
            };
            let ran = session.finish(&script).map_err(io_error)?;
            Ok(match dnf_lock_holder(&ran) {
                Some(holder) => Attempt::Locked(holder),
                None => Attempt::Finished(ran),
            })
        })?;
        Ok(Transaction {
            ok: !shell_failed(&ran, false),
            line: ran.line.clone(),
            output_tail: ran.tail(),
        })
    }

    fn installed_all(&self) -> Result<Installed, BackendError> {
        Ok(parse_query(&self.database()?.packages, &[]))
    }

    fn simulate(&self, changes: &[Change]) -> Result<Simulation, BackendError> {
        let installed = self.installed_all()?;
        let (session, said) = until_unlocked(self.lock_timeout, |_| {
            let mut session = match self.session()? {
                Attempt::Finished(session) => session,
                Attempt::Locked(holder) => return Ok(Attempt::Locked(holder)),
            };
            let mut said = String::new();
            for command in queue_commands(changes)
                .iter()
                .map(String::as_str)
                .chain(["ts list"])
            {
                match session.ask(command).map_err(io_error)? {
                    Some(output) => said.push_str(&output),
                    None => return ended(session.finish("").map_err(io_error)?),
                }
            }
            Ok(Attempt::Finished((session, said)))
        })?;
        let line = format!("{} ({})", session.line(), "ts list");
        *self.session.borrow_mut() = Some(session);
        self.queued.set(true);
        let blockers = parse_blockers(&said, &installed);
        let refused = said.lines().any(|l| l.trim_start().starts_with("Problem"));
        Ok(Simulation {
            steps: parse_table(&said),
            transaction: Transaction {
                ok: !refused,
                line,
                output_tail: crate::command::tail(&said, crate::command::TAIL_BYTES),
            },
            blockers,
        })
    }

    fn requirements(&self, name: &str) -> Result<Vec<String>, BackendError> {
        let ran = Invocation::new("rpm", ["-q", "--requires", name]).run()?;
        if !ran.success() {
            return Err(BackendError::tool(&ran));
        }
        Ok(ran.stdout.lines().map(|l| l.trim().to_string()).collect())
    }

    fn depends_word(&self) -> &'static str {
        "requires"
    }

    fn interrupted(&self) -> Result<Option<Interrupted>, BackendError> {
        let duplicates = parse_duplicates(&self.database()?.packages);
        if duplicates.is_empty() {
            return Ok(None);
        }
        Ok(Some(Interrupted {
            found: format!(
                "an rpm transaction was interrupted: {} installed in two versions",
                duplicates.join(", ")
            ),
            packages: duplicates,
            command: remove_duplicates().line(),
        }))
    }

    fn recover(&self, _found: &Interrupted) -> Result<Ran, BackendError> {
        self.may_change();
        until_unlocked(self.lock_timeout, |_| {
            let ran = remove_duplicates().run()?;
            Ok(match dnf_lock_holder(&ran) {
                Some(holder) => Attempt::Locked(holder),
                None => Attempt::Finished(ran),
            })
        })
    }
}

/// dnf's own repair of an interrupted upgrade: the older of each duplicate goes.
fn remove_duplicates() -> Invocation {
    Invocation::new(
        "dnf",
        [
            "-y",
            "-q",
            "--setopt=exit_on_lock=True",
            "remove",
            "--duplicates",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_versions_carry_the_epoch_only_when_there_is_one() {
        let out =
            "fuel-test-epoch|noarch|1|0.9-1\nfuel-test-tool|noarch|(none)|2.0-1\nz|x86_64|0|1-1\n";
        let installed = parse_query(out, &[]);
        assert_eq!(installed["fuel-test-epoch"], "1:0.9-1");
        assert_eq!(installed["fuel-test-tool"], "2.0-1");
        assert_eq!(installed["z"], "1-1");
        let asked = parse_query(out, &["z", "nope"]);
        assert_eq!(asked.len(), 1, "only the names asked for: {asked:?}");
        assert_eq!(asked["z"], "1-1");
    }

    #[test]
    fn of_several_installed_versions_the_newest_counts() {
        let installed = parse_query("k|x86_64|(none)|5.10-1\nk|i686|(none)|5.9-1\n", &[]);
        assert_eq!(installed["k"], "5.10-1");
    }

    #[test]
    fn repoquery_rows_skip_source_packages_and_other_names() {
        let out = "fuel-test-epoch|1|0.9-1|noarch\nfuel-test-epoch|0|1.5-1|noarch\n\
                   fuel-test-epoch|0|1.5-1|x86_64\nfuel-test-epoch|0|1.5-1|src\nother|0|1-1|noarch\n";
        let available = parse_repoquery(out, &["fuel-test-epoch"]);
        assert_eq!(available["fuel-test-epoch"], ["1:0.9-1", "1.5-1"]);
        assert!(!available.contains_key("other"));
    }

    #[test]
    fn one_shell_transaction_mixes_installs_and_removals() {
        let changes = [
            Change {
                name: "a".into(),
                step: Step::Install("1:0.9-1".into()),
            },
            Change {
                name: "b".into(),
                step: Step::Remove,
            },
        ];
        assert_eq!(
            transaction_script(&changes),
            "install a-1:0.9-1\nremove b\nrun\n"
        );
        assert_eq!(
            session_args(false),
            ["--refresh", "--setopt=exit_on_lock=True", "-y"]
        );
        assert_eq!(session_args(true).last().unwrap(), "--allowerasing");
        assert_eq!(
            repoquery_command(&["a", "b"]),
            "repoquery --showduplicates --qf %{name}|%{epoch}|%{version}-%{release}|%{arch} a b"
        );
    }

    #[test]
    fn the_transaction_table_lists_every_package_it_changes() {
        let out = "================================================================================
 Package                  Architecture   Version        Repository         Size
================================================================================
Downgrading:
 fuel-test-lib            noarch         1.5-1          fuel-test         7.3 k
Installing dependencies:
 fuel-test-a-very-long-package-name-that-wraps
                          noarch         1:2.0-1        fuel-test         7.3 k
Removing dependent packages:
 fuel-test-app            noarch         1.0-1          @System             0

Transaction Summary
================================================================================
Downgrade  1 Package
";
        assert_eq!(
            parse_table(out),
            [
                ("fuel-test-lib".to_string(), Some("1.5-1".to_string())),
                (
                    "fuel-test-a-very-long-package-name-that-wraps".to_string(),
                    Some("1:2.0-1".to_string())
                ),
                ("fuel-test-app".to_string(), None),
            ]
        );
    }

    #[test]
    fn the_installed_package_blocking_the_resolver_is_named_with_its_dependency() {
        let out = "Error: \n Problem: problem with installed package fuel-test-app-1.0-1.noarch
  - package fuel-test-app-1.0-1.noarch requires fuel-test-lib >= 2.0, but none of the providers can be installed
  - cannot install both fuel-test-lib-1.5-1.noarch and fuel-test-lib-2.0-1.noarch
";
        let installed: Installed = [
            ("fuel-test-app".to_string(), "1.0-1".to_string()),
            ("fuel-test-lib".to_string(), "2.0-1".to_string()),
        ]
        .into();
        assert_eq!(
            parse_blockers(out, &installed),
            [(
                "fuel-test-app".to_string(),
                "fuel-test-app requires fuel-test-lib >= 2.0".to_string()
            )]
        );
    }

    #[test]
    fn two_versions_of_one_package_are_duplicates_but_kernels_are_not() {
        let out =
            "a|noarch|(none)|1-1\nb|x86_64|(none)|1-1\nb|x86_64|(none)|2-1\nb|i686|(none)|1-1\n\
                   kernel-core|x86_64|(none)|5-1\nkernel-core|x86_64|(none)|6-1\n";
        assert_eq!(parse_duplicates(out), ["b"]);
    }

    #[test]
    fn a_shell_error_line_is_a_failure_even_with_exit_zero() {
        let ran = |stderr: &str| Ran {
            line: "dnf shell".into(),
            code: Some(0),
            stdout: String::new(),
            stderr: stderr.into(),
        };
        assert!(shell_failed(
            &ran("Error: Unable to find a match: zzz-1\n"),
            false
        ));
        assert!(!shell_failed(&ran("Error: Operation aborted.\n"), true));
        assert!(shell_failed(&ran("Error: Operation aborted.\n"), false));
        assert!(!shell_failed(&ran(""), false));
    }

    #[test]
    fn dnfs_lock_message_names_the_holder() {
        let ran = Ran {
            line: "dnf".into(),
            code: Some(200),
            stdout: String::new(),
            stderr: "RPMDB already locked by 999999999\n".into(),
        };
        assert_eq!(dnf_lock_holder(&ran).as_deref(), Some("process 999999999"));
        let in_shell = Ran {
            code: Some(0),
            stderr: "> > Error: RPMDB already locked by 999999999\n".into(),
            ..ran.clone()
        };
        assert_eq!(
            dnf_lock_holder(&in_shell).as_deref(),
            Some("process 999999999")
        );
        let other = Ran {
            code: Some(1),
            stderr: "Error: Unable to find a match: x\n".into(),
            ..ran
        };
        assert_eq!(dnf_lock_holder(&other), None);
    }

    #[test]
    fn an_fcntl_lock_held_by_another_process_is_seen_with_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".rpm.lock");
        std::fs::write(&path, "").unwrap();
        assert_eq!(fcntl_lock_holder(&path), None);
        // flock(1) is not fcntl: hold a real fcntl lock from a child process.
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import fcntl,sys,time; f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(30)",
            ])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 (a test tool on the build machine)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "locked");
        assert_eq!(fcntl_lock_holder(&path), Some(child.id() as i32));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(fcntl_lock_holder(&path), None);
    }
}
