//! dpkg's database read in-process: `/var/lib/dpkg/status` holds every
//! package's state and version, so a run reads it instead of starting
//! `dpkg-query` four or five times (before, after, all, unfinished). dpkg
//! writes a change first to its journal (`/var/lib/dpkg/updates`) and folds
//! the journal into the status file when it ends; while the journal holds
//! entries (a killed dpkg) the status file is not the whole truth, and the
//! caller asks `dpkg-query`, which reads both.

use std::path::Path;

/// dpkg's status file.
pub const STATUS: &str = "/var/lib/dpkg/status";
/// dpkg's journal of changes not yet folded into [`STATUS`].
pub const UPDATES: &str = "/var/lib/dpkg/updates";

/// Whether dpkg's journal holds changes the status file lacks (its
/// entries are files named by number; `tmp.i` is a half-written one).
pub fn journal_entries(updates: &Path) -> usize {
    std::fs::read_dir(updates)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy() != "tmp.i")
                .count()
        })
        .unwrap_or(0)
}

/// The status file as `dpkg-query -W -f='${Package}|${db:Status-Abbrev}|${Version}\n'`
/// prints it (for every package, or only `names` when given), so the
/// parsers of that output read either.
pub fn as_query_output(status: &str, names: &[&str]) -> String {
    let mut out = String::new();
    for stanza in status.split("\n\n") {
        let (mut package, mut state, mut version) = (None, None, "");
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                package = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                // "want flag status": the status word is the third.
                state = v.split_whitespace().nth(2).and_then(abbrev);
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = v.trim();
            }
        }
        let (Some(package), Some(state)) = (package, state) else {
            continue;
        };
        if !names.is_empty() && !names.contains(&package) {
            continue;
        }
        // The first letter (selection) is not read by the parsers.
        out.push_str(&format!("{package}|i{state} |{version}\n"));
    }
    out
}

/// `db:Status-Abbrev`'s second letter for a status word.
fn abbrev(word: &str) -> Option<char> {
    Some(match word {
        "not-installed" => 'n',
        "config-files" => 'c',
        "half-installed" => 'H',
        "unpacked" => 'U',
        "half-configured" => 'F',
        "triggers-awaited" => 'W',
        "triggers-pending" => 't',
        "installed" => 'i',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::apt::{parse_query, parse_unfinished};

    const STATUS_FILE: &str = "Package: bash\nEssential: yes\nStatus: install ok installed\n\
        Priority: required\nArchitecture: amd64\nVersion: 5.2.15-2+b8\n\
        Description: GNU Bourne Again SHell\n This is the shell.\n\n\
        Package: fuel-test-epoch\nStatus: install ok installed\nVersion: 1:0.9-1\n\n\
        Package: old\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\n\
        Package: slow\nStatus: install reinstreq half-configured\nVersion: 1.0-1\n\n\
        Package: gone\nStatus: purge ok not-installed\n\n\
        Package: trig\nStatus: install ok triggers-pending\nVersion: 3.0\n";

    #[test]
    fn the_status_file_reads_as_dpkg_query_prints_it() {
        let installed = parse_query(&as_query_output(STATUS_FILE, &[]));
        assert_eq!(installed["bash"], "5.2.15-2+b8");
        assert_eq!(installed["fuel-test-epoch"], "1:0.9-1");
        assert_eq!(installed["trig"], "3.0");
        assert!(!installed.contains_key("old"), "configuration files only");
        assert!(!installed.contains_key("slow"), "half-configured");
        assert!(!installed.contains_key("gone"));
        let unfinished = parse_unfinished(&as_query_output(STATUS_FILE, &[]));
        assert_eq!(
            unfinished
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["slow", "trig"]
        );
    }

    #[test]
    fn only_the_names_asked_are_read_when_names_are_given() {
        let installed = parse_query(&as_query_output(STATUS_FILE, &["bash", "nope"]));
        assert_eq!(installed.keys().collect::<Vec<_>>(), ["bash"]);
    }

    #[test]
    fn the_journal_counts_its_entries_but_not_a_half_written_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(journal_entries(&dir.path().join("missing")), 0);
        std::fs::write(dir.path().join("tmp.i"), "").unwrap();
        assert_eq!(journal_entries(dir.path()), 0);
        std::fs::write(dir.path().join("0000"), "Package: x\n").unwrap();
        assert_eq!(journal_entries(dir.path()), 1);
    }
}
