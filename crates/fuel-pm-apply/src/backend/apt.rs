//! apt-get and dpkg: dpkg's status file for what is installed, read
//! in-process ([`super::dpkg_status`]; `dpkg-query` only while dpkg's
//! journal holds entries), `apt-get update` and `apt-cache madison` for what
//! the repositories offer, one `apt-get install` carrying `name=version` for
//! installs, upgrades and downgrades and `name-` for removals; `apt-get -s`
//! of the same command for what it would do, dependencies included, or, on
//! the direct path, `--no-remove` on the install itself, so that apt's own
//! planning refuses any removal before changing anything. A dpkg run killed
//! mid-way (`dpkg was interrupted`) is found from dpkg's status and its
//! journal and finished with `dpkg --configure -a`.

use std::time::Duration;

use super::dpkg_status;
use super::{
    dedup, until_unlocked, Attempt, Available, Backend, BackendError, Change, Installed,
    Interrupted, PackageManager, Simulation, Step, Transaction,
};
use crate::command::{Invocation, Ran};

pub struct Apt {
    pub lock_timeout: Duration,
}

/// dpkg's answer per package: name, status abbreviation, version.
const QUERY_FORMAT: &str = "${Package}|${db:Status-Abbrev}|${Version}\n";

pub fn query(names: &[&str]) -> Invocation {
    let mut args = vec!["-W".to_string(), format!("-f={QUERY_FORMAT}")];
    args.extend(names.iter().map(|n| n.to_string()));
    Invocation::new("dpkg-query", args)
}

/// Installed packages from `dpkg-query -W` output: the second letter of the
/// status is the state, and only installed ones (`i`, or awaiting/pending
/// triggers `W`/`t`) count; `rc` (removed, configuration kept) is absent.
pub fn parse_query(stdout: &str) -> Installed {
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '|');
            let (name, status, version) = (fields.next()?, fields.next()?, fields.next()?);
            let state = status.chars().nth(1)?;
            matches!(state, 'i' | 'W' | 't').then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

/// Common options: wait for dpkg's lock (apt's own timeout), keep changed
/// configuration files without asking, and no terminal for dpkg: with one,
/// apt starts dpkg in a session of its own (setsid), which killing the
/// applier's process group would not reach, leaving maintainer scripts
/// running (and dpkg's lock held) after the applier is gone.
fn options(lock_wait_secs: u64) -> Vec<String> {
    vec![
        "-q".into(),
        "-o".into(),
        "Dpkg::Use-Pty=0".into(),
        "-o".into(),
        format!("DPkg::Lock::Timeout={lock_wait_secs}"),
        "-o".into(),
        "Dpkg::Options::=--force-confdef".into(),
        "-o".into(),
        "Dpkg::Options::=--force-confold".into(),
    ]
}

pub fn update(lock_wait_secs: u64) -> Invocation {
    let mut args = options(lock_wait_secs);
    args.push("update".into());
    Invocation::new("apt-get", args)
}

pub fn madison(names: &[&str]) -> Invocation {
    let mut args = vec!["madison".to_string()];
    args.extend(names.iter().map(|n| n.to_string()));
    Invocation::new("apt-cache", args)
}

/// `apt-cache madison` rows (`name | version | source`), only for the names
/// asked (apt may widen a name it does not know into a pattern).
pub fn parse_madison(stdout: &str, names: &[&str]) -> Available {
    let mut available = Available::new();
    for line in stdout.lines() {
        let mut fields = line.split('|').map(str::trim);
        let (Some(name), Some(version)) = (fields.next(), fields.next()) else {
            continue;
        };
        if names.contains(&name) && !version.is_empty() {
            available
                .entry(name.to_string())
                .or_default()
                .push(version.to_string());
        }
    }
    dedup(available)
}

/// The one `apt-get install` of a run: `name=version` pins each install,
/// upgrade and downgrade (downgrades allowed: the document asked for that
/// version), `name-` removes. `check` simulates (`-s`, which takes no lock).
pub fn install(changes: &[Change], check: bool, lock_wait_secs: u64) -> Invocation {
    install_with(changes, check, lock_wait_secs, &[])
}

/// [`install`] with more of apt-get's options before the command.
fn install_with(
    changes: &[Change],
    check: bool,
    lock_wait_secs: u64,
    extra: &[&str],
) -> Invocation {
    let mut args = options(lock_wait_secs);
    args.push(if check { "-s" } else { "-y" }.into());
    args.push("--allow-downgrades".into());
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push("install".into());
    for change in changes {
        args.push(match &change.step {
            Step::Install(version) => format!("{}={version}", change.name),
            Step::Remove => format!("{}-", change.name),
        });
    }
    Invocation::new("apt-get", args)
}

/// What `apt-get -s` says it would do: `Inst NAME [OLD] (NEW …)` installs,
/// upgrades or downgrades to NEW; `Remv NAME [OLD]` / `Purg …` removes.
pub fn parse_simulation(stdout: &str) -> Vec<(String, Option<String>)> {
    let mut steps = Vec::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        let (Some(verb), Some(name)) = (words.next(), words.next()) else {
            continue;
        };
        match verb {
            "Inst" => {
                let new = words.find_map(|w| w.strip_prefix('(')).map(str::to_string);
                if let Some(new) = new {
                    steps.push((name.to_string(), Some(new)));
                }
            }
            "Remv" | "Purg" => steps.push((name.to_string(), None)),
            _ => {}
        }
    }
    steps
}

/// dpkg's per-package states that a killed dpkg leaves behind (second
/// letter of `db:Status-Abbrev`), in dpkg's words.
fn unfinished_state(state: char) -> Option<&'static str> {
    match state {
        'U' => Some("unpacked, not configured"),
        'F' => Some("half-configured"),
        'H' => Some("half-installed"),
        'W' => Some("awaiting triggers"),
        't' => Some("with pending triggers"),
        _ => None,
    }
}

/// The packages a killed dpkg left unfinished, from `dpkg-query -W` output
/// (all packages): "NAME VERSION is half-configured" each.
pub fn parse_unfinished(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '|');
            let (name, status, version) = (fields.next()?, fields.next()?, fields.next()?);
            let state = unfinished_state(status.chars().nth(1)?)?;
            Some((name.to_string(), format!("{name} {version} is {state}")))
        })
        .collect()
}

/// dpkg's journal of a run that did not finish: files here make every later
/// apt-get fail with "dpkg was interrupted".
const DPKG_UPDATES: &str = dpkg_status::UPDATES;

/// `dpkg --configure -a`, keeping changed configuration files as apt's runs do.
pub fn configure_pending() -> Invocation {
    Invocation::new(
        "dpkg",
        ["--force-confdef", "--force-confold", "--configure", "-a"],
    )
}

/// Who holds the lock, when apt failed for want of it.
pub fn lock_holder(ran: &Ran) -> Option<String> {
    let said = format!("{}\n{}", ran.stderr, ran.stdout);
    if !(said.contains("Could not get lock")
        || said.contains("lock was locked by another process")
        || said.contains("Unable to acquire the dpkg frontend lock")
        || said.contains("Unable to lock directory"))
    {
        return None;
    }
    // "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 123 (apt-get)"
    let holder = said
        .lines()
        .find_map(|l| {
            l.split_once("It is held by ")
                .map(|(_, h)| h.trim().to_string())
        })
        .or_else(|| {
            said.lines()
                .find_map(|l| {
                    l.split_once("Could not get lock ")
                        .map(|(_, h)| h.trim().trim_end_matches('.').to_string())
                })
                .map(|file| format!("another process (lock {file})"))
        });
    Some(holder.unwrap_or_else(|| "another process".to_string()))
}

impl Apt {
    /// dpkg's answer for `names` (every package when empty) in
    /// `dpkg-query`'s format: from the status file, or from `dpkg-query`
    /// itself while dpkg's journal holds changes the file lacks.
    fn query(&self, names: &[&str]) -> Result<String, BackendError> {
        if dpkg_status::journal_entries(std::path::Path::new(DPKG_UPDATES)) == 0 {
            if let Ok(status) = std::fs::read_to_string(dpkg_status::STATUS) {
                return Ok(dpkg_status::as_query_output(&status, names));
            }
        }
        let ran = query(names).run()?;
        // Exit 1 only says some name is not known to dpkg: not installed.
        match ran.code {
            Some(0) => Ok(ran.stdout),
            Some(1) if !names.is_empty() => Ok(ran.stdout),
            _ => Err(BackendError::tool(&ran)),
        }
    }

    fn locked(&self, make: impl Fn(u64) -> Invocation) -> Result<Ran, BackendError> {
        until_unlocked(self.lock_timeout, |left| {
            let ran = make(left).run()?;
            Ok(match lock_holder(&ran) {
                Some(holder) if !ran.success() => Attempt::Locked(holder),
                _ => Attempt::Finished(ran),
            })
        })
    }
}

impl Backend for Apt {
    fn kind(&self) -> PackageManager {
        PackageManager::Apt
    }

    fn installed(&self, names: &[&str]) -> Result<Installed, BackendError> {
        if names.is_empty() {
            return Ok(Installed::new());
        }
        Ok(parse_query(&self.query(names)?))
    }

    fn available(&self, names: &[&str]) -> Result<Available, BackendError> {
        self.refresh().expect("apt refreshes on its own")?;
        self.offered(names)
    }

    fn refresh(&self) -> Option<Result<(), BackendError>> {
        Some(self.locked(update).and_then(|ran| {
            if ran.success() {
                Ok(())
            } else {
                Err(BackendError::tool(&ran))
            }
        }))
    }

    fn offered(&self, names: &[&str]) -> Result<Available, BackendError> {
        let ran = madison(names).run()?;
        if !ran.success() {
            return Err(BackendError::tool(&ran));
        }
        Ok(parse_madison(&ran.stdout, names))
    }

    fn transaction(&self, changes: &[Change]) -> Result<Transaction, BackendError> {
        let ran = self.locked(|left| install(changes, false, left))?;
        Ok(Transaction {
            ok: ran.success(),
            line: ran.line.clone(),
            output_tail: ran.tail(),
        })
    }

    fn transaction_keeping_all(
        &self,
        changes: &[Change],
    ) -> Option<Result<Transaction, BackendError>> {
        let ran = self.locked(|left| install_with(changes, false, left, &["--no-remove"]));
        Some(ran.map(|ran| Transaction {
            ok: ran.success(),
            line: ran.line.clone(),
            output_tail: ran.tail(),
        }))
    }

    fn installed_all(&self) -> Result<Installed, BackendError> {
        Ok(parse_query(&self.query(&[])?))
    }

    fn simulate(&self, changes: &[Change]) -> Result<Simulation, BackendError> {
        // -s takes no lock: one run.
        let ran = install(changes, true, 0).run()?;
        Ok(Simulation {
            steps: parse_simulation(&ran.stdout),
            transaction: Transaction {
                ok: ran.success(),
                line: ran.line.clone(),
                output_tail: ran.tail(),
            },
            blockers: Vec::new(),
        })
    }

    fn requirements(&self, name: &str) -> Result<Vec<String>, BackendError> {
        let ran =
            Invocation::new("dpkg-query", ["-W", "-f=${Pre-Depends}, ${Depends}", name]).run()?;
        if !ran.success() {
            return Err(BackendError::tool(&ran));
        }
        Ok(ran
            .stdout
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect())
    }

    fn depends_word(&self) -> &'static str {
        "depends on"
    }

    fn interrupted(&self) -> Result<Option<Interrupted>, BackendError> {
        let unfinished = parse_unfinished(&self.query(&[])?);
        let journal = std::fs::read_dir(DPKG_UPDATES)
            .map(|d| d.count())
            .unwrap_or(0);
        if unfinished.is_empty() && journal == 0 {
            return Ok(None);
        }
        let mut found = "dpkg was interrupted".to_string();
        if !unfinished.is_empty() {
            let states: Vec<&str> = unfinished.iter().map(|(_, s)| s.as_str()).collect();
            found.push_str(": ");
            found.push_str(&states.join(", "));
        }
        if journal > 0 {
            found.push_str(&format!(" ({journal} journal entries in {DPKG_UPDATES})"));
        }
        Ok(Some(Interrupted {
            found,
            packages: unfinished.into_iter().map(|(name, _)| name).collect(),
            command: configure_pending().line(),
        }))
    }

    fn recover(&self, _found: &Interrupted) -> Result<Ran, BackendError> {
        self.locked(|_| configure_pending())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_are_those_dpkg_calls_installed() {
        let out = "bash|ii |5.2.15-2+b8\nfuel-test-epoch|ii |1:0.9-1\nold|rc |1.0-1\nhalf|iU |2.0\ntrig|iW |3.0\n";
        let installed = parse_query(out);
        assert_eq!(
            installed.get("bash").map(String::as_str),
            Some("5.2.15-2+b8")
        );
        assert_eq!(
            installed.get("fuel-test-epoch").map(String::as_str),
            Some("1:0.9-1")
        );
        assert_eq!(installed.get("trig").map(String::as_str), Some("3.0"));
        assert!(!installed.contains_key("old"), "configuration files only");
        assert!(!installed.contains_key("half"), "unpacked, not configured");
    }

    #[test]
    fn madison_rows_are_kept_for_the_names_asked_only() {
        let out = "fuel-test-daemon |    3.0-1 | file:/repo ./ Packages\n\
                   fuel-test-daemon |    2.0-1 | file:/repo ./ Packages\n\
                   fuel-test-epoch | 1:0.9-1 | file:/repo ./ Packages\n\
                   fuel-test-daemon-doc | 1.0 | file:/repo ./ Packages\n";
        let available = parse_madison(out, &["fuel-test-daemon", "fuel-test-epoch"]);
        assert_eq!(available["fuel-test-daemon"], ["3.0-1", "2.0-1"]);
        assert_eq!(available["fuel-test-epoch"], ["1:0.9-1"]);
        assert!(!available.contains_key("fuel-test-daemon-doc"));
    }

    #[test]
    fn one_install_pins_versions_allows_downgrades_and_removes_with_a_minus() {
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
        let inv = install(&changes, false, 7);
        assert_eq!(inv.program, "apt-get");
        assert_eq!(
            inv.args,
            [
                "-q",
                "-o",
                "Dpkg::Use-Pty=0",
                "-o",
                "DPkg::Lock::Timeout=7",
                "-o",
                "Dpkg::Options::=--force-confdef",
                "-o",
                "Dpkg::Options::=--force-confold",
                "-y",
                "--allow-downgrades",
                "install",
                "a=1:0.9-1",
                "b-"
            ]
        );
        let simulated = install(&changes, true, 7);
        assert!(simulated.args.contains(&"-s".to_string()));
        assert!(!simulated.args.contains(&"-y".to_string()));
    }

    #[test]
    fn a_simulation_lists_installs_downgrades_and_removals() {
        let out = "NOTE: This is only a simulation!\n\
                   Remv fuel-test-app [1.0-1]\n\
                   Inst fuel-test-lib [2.0-1] (1.5-1 fuel-test:. [all])\n\
                   Inst fuel-test-new (1.0-1 fuel-test:. [all])\n\
                   Conf fuel-test-lib (1.5-1 fuel-test:. [all])\n";
        assert_eq!(
            parse_simulation(out),
            [
                ("fuel-test-app".to_string(), None),
                ("fuel-test-lib".to_string(), Some("1.5-1".to_string())),
                ("fuel-test-new".to_string(), Some("1.0-1".to_string())),
            ]
        );
    }

    #[test]
    fn a_killed_dpkg_leaves_packages_half_configured_or_unpacked() {
        let out = "bash|ii |5.2\nfuel-test-slow|iF |1.0-1\nx|iU |2.0\nold|rc |1\n";
        assert_eq!(
            parse_unfinished(out),
            [
                (
                    "fuel-test-slow".to_string(),
                    "fuel-test-slow 1.0-1 is half-configured".to_string()
                ),
                (
                    "x".to_string(),
                    "x 2.0 is unpacked, not configured".to_string()
                ),
            ]
        );
    }

    #[test]
    fn the_lock_holder_is_read_from_apts_message() {
        let ran = Ran {
            line: "apt-get install".into(),
            code: Some(100),
            stdout: String::new(),
            stderr: "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n\
                     E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n".into(),
        };
        assert_eq!(lock_holder(&ran).as_deref(), Some("process 4242 (apt-get)"));
        let other = Ran {
            stderr: "E: Unable to locate package x\n".into(),
            ..ran
        };
        assert_eq!(lock_holder(&other), None);
    }
}
