//! The per-connection ssh directories (`$TMPDIR/fuel-ssh-*`: configuration,
//! known_hosts, ControlMaster socket) of a process that no longer runs.
//!
//! A SIGKILLed fuel-api removes nothing: its directories stay, and so would
//! its ControlMaster processes but for their idle timeout. Each directory
//! names its owner (pid and start time, so a reused pid is not mistaken for
//! it) in an `owner` file; at start-up [`remove_stale`] ends the masters of
//! directories whose owner is gone and removes those directories. Directories
//! of a running fuel-api (tests run several at once) and anything without our
//! `owner` file are left alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The prefix of every per-connection directory under the temporary directory.
pub(crate) const PREFIX: &str = "fuel-ssh-";
/// The file naming the directory's owner: `PID STARTTIME`.
const OWNER: &str = "owner";

/// A process's identity: its pid and its start time in clock ticks since boot
/// (field 22 of /proc/PID/stat), which a later process with the same pid lacks.
fn identity(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let start = after_name.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Writes `dir/owner` naming this process.
pub(crate) fn mark_owner(dir: &Path) -> std::io::Result<()> {
    let me = identity(&std::process::id().to_string())
        .ok_or_else(|| std::io::Error::other("cannot read /proc/self/stat"))?;
    std::fs::write(dir.join(OWNER), format!("{me}\n"))
}

/// Whether the process named by `dir/owner` is gone (`None`: not our kind of directory).
fn owner_gone(dir: &Path) -> Option<bool> {
    let owner = std::fs::read_to_string(dir.join(OWNER)).ok()?;
    let owner = owner.trim();
    let pid = owner.split_whitespace().next()?;
    Some(identity(pid).as_deref() != Some(owner))
}

/// The ControlMaster sockets under `dir` (the openssh crate puts each in a
/// `.ssh-connection*/master` of the directory it is given).
fn control_sockets(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path().join("master"))
        .filter(|socket| socket.exists())
        .collect()
}

/// Ends the ControlMasters and removes the per-connection directories that
/// processes no longer running left in `temp_dir`; the directories removed.
pub fn remove_stale(temp_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let ours = entry.file_name().to_string_lossy().starts_with(PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !ours {
            continue;
        }
        let dir = entry.path();
        if owner_gone(&dir) != Some(true) {
            continue;
        }
        for socket in control_sockets(&dir) {
            // A fixed command line: the master behind the socket exits and
            // closes its connection (and the sessions on the node with it).
            let _ = Command::new("ssh")
                .args(["-F", "/dev/null", "-S"])
                .arg(&socket)
                .args(["-O", "exit", "fuel-node"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            removed.push(dir);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_of_this_process_is_kept_and_one_of_a_gone_process_is_removed() {
        let temp = tempfile::tempdir().unwrap();
        let mine = temp.path().join("fuel-ssh-mine");
        std::fs::create_dir(&mine).unwrap();
        mark_owner(&mine).unwrap();
        let gone = temp.path().join("fuel-ssh-gone");
        std::fs::create_dir(&gone).unwrap();
        // Our own pid with another start time: a reused pid is not the owner.
        let me = identity(&std::process::id().to_string()).unwrap();
        let pid = me.split_whitespace().next().unwrap();
        std::fs::write(gone.join(OWNER), format!("{pid} 1\n")).unwrap();
        let foreign = temp.path().join("fuel-ssh-foreign");
        std::fs::create_dir(&foreign).unwrap();
        let other = temp.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join(OWNER), format!("{pid} 1\n")).unwrap();

        assert_eq!(remove_stale(temp.path()), vec![gone.clone()]);
        assert!(mine.exists() && foreign.exists() && other.exists());
        assert!(!gone.exists());
    }
}
