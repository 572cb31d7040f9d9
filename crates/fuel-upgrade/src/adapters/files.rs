//! File actions under `--root`, their prior-state capture and their exact undo:
//! a rollback restores overwritten files (content, mode, owner) from backup
//! copies and links to their old targets, and removes only what the action
//! created.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::adapters::atomic;
use crate::plan::{parse_mode, FileAction};
use crate::state::journal::{PathPrior, PathState, Prior};

/// `path` (absolute in the plan) under `root`.
pub fn under(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

fn err(path: &Path, what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Records what the action is about to change; overwritten files are copied
/// (durably) into `backup_dir` first.
pub fn capture(root: &Path, action: &FileAction, backup_dir: &Path) -> io::Result<Prior> {
    let mut entries = Vec::new();
    for (n, path) in action.changed_paths().into_iter().enumerate() {
        let real = under(root, path);
        let state = match fs::symlink_metadata(&real) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => PathState::Absent,
            Err(e) => return Err(err(&real, "inspect", e)),
            Ok(m) if m.file_type().is_symlink() => PathState::Symlink {
                target: fs::read_link(&real).map_err(|e| err(&real, "read link", e))?,
            },
            Ok(m) if m.is_file() => {
                fs::create_dir_all(backup_dir).map_err(|e| err(backup_dir, "create", e))?;
                let backup = backup_dir.join(format!("{n}"));
                let bytes = fs::read(&real).map_err(|e| err(&real, "read", e))?;
                atomic::write_file(&backup, &bytes, 0o600)
                    .map_err(|e| err(&backup, "back up to", e))?;
                PathState::File {
                    backup,
                    mode: m.mode() & 0o7777,
                    uid: m.uid(),
                    gid: m.gid(),
                }
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a directory: file actions replace files and links only",
                        real.display()
                    ),
                ))
            }
        };
        entries.push(PathPrior {
            path: path.to_path_buf(),
            state,
        });
    }
    let mut created_dirs = Vec::new();
    for path in action.changed_paths() {
        let mut missing: Vec<PathBuf> = under(root, path)
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(root) && *d != root && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        for d in missing {
            if !created_dirs.contains(&d) {
                created_dirs.push(d);
            }
        }
    }
    Ok(Prior::Paths {
        entries,
        created_dirs,
    })
}

/// What a copy or a write leaves at its target.
struct Written {
    bytes: Vec<u8>,
    mode: u32,
    /// uid and gid, when the action names an owner.
    owner: Option<(u32, u32)>,
}

/// The content, mode and owner a copy or a write gives its target (None
/// for links and moves).
fn written(root: &Path, action: &FileAction) -> io::Result<Option<Written>> {
    let (bytes, mode, owner) = match action {
        FileAction::Copy {
            from, mode, owner, ..
        } => {
            let src = under(root, from);
            let bytes = fs::read(&src).map_err(|e| err(&src, "read", e))?;
            let mode = match mode {
                Some(m) => parse_mode(m).unwrap_or(0o644),
                None => {
                    fs::metadata(&src)
                        .map_err(|e| err(&src, "inspect", e))?
                        .permissions()
                        .mode()
                        & 0o7777
                }
            };
            (bytes, mode, owner)
        }
        FileAction::Write {
            content,
            mode,
            owner,
            ..
        } => (
            content.as_bytes().to_vec(),
            mode.as_deref().and_then(parse_mode).unwrap_or(0o644),
            owner,
        ),
        FileAction::Symlink { .. } | FileAction::Move { .. } => return Ok(None),
    };
    let owner = match owner.as_deref() {
        Some(owner) => {
            let (user, group) = owner.split_once(':').unwrap_or((owner, owner));
            Some((
                resolve_id(root, "etc/passwd", user)?,
                resolve_id(root, "etc/group", group)?,
            ))
        }
        None => None,
    };
    Ok(Some(Written { bytes, mode, owner }))
}

/// Removes what writes of `path` killed before their rename left beside it.
fn remove_temporaries(path: &Path) -> io::Result<()> {
    let found = atomic::leftover_temporaries(path)
        .map_err(|e| err(path, "list the temporary files of", e))?;
    for t in found {
        atomic::remove(&t).map_err(|e| err(&t, "remove", e))?;
    }
    Ok(())
}

/// Runs the action; running it again after a crash completes it (and
/// removes the temporary file the killed write left).
pub fn apply(root: &Path, action: &FileAction) -> io::Result<()> {
    let target = under(root, action.target());
    remove_temporaries(&target)?;
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir).map_err(|e| err(dir, "create", e))?;
    }
    if let Some(w) = written(root, action)? {
        atomic::write_file(&target, &w.bytes, w.mode).map_err(|e| err(&target, "write", e))?;
        if let Some((uid, gid)) = w.owner {
            std::os::unix::fs::chown(&target, Some(uid), Some(gid))
                .map_err(|e| err(&target, "chown", e))?;
        }
        return Ok(());
    }
    match action {
        FileAction::Symlink {
            target: link_target,
            ..
        } => atomic::symlink(link_target, &target).map_err(|e| err(&target, "link", e)),
        FileAction::Move { from, .. } => {
            let src = under(root, from);
            match fs::symlink_metadata(&src) {
                Ok(_) => atomic::rename(&src, &target).map_err(|e| err(&src, "move", e)),
                // Already moved by the interrupted run.
                Err(_) if fs::symlink_metadata(&target).is_ok() => Ok(()),
                Err(e) => Err(err(&src, "move", e)),
            }
        }
        FileAction::Copy { .. } | FileAction::Write { .. } => Ok(()),
    }
}

/// How the action's target differs from what the action leaves (after a
/// forward run), one line each; empty when it is as planned.
pub fn differences_from_result(root: &Path, action: &FileAction) -> Vec<String> {
    let target = under(root, action.target());
    let shown = action.target().display();
    let mut out = temporaries_left(&target);
    match written(root, action) {
        Ok(Some(w)) => match fs::symlink_metadata(&target) {
            Ok(m) if m.is_file() => {
                if fs::read(&target).ok().as_deref() != Some(&w.bytes[..]) {
                    out.push(format!("{shown} does not hold the planned content"));
                }
                if m.mode() & 0o7777 != w.mode {
                    out.push(format!(
                        "{shown} has mode {:04o}, planned {:04o}",
                        m.mode() & 0o7777,
                        w.mode
                    ));
                }
                if let Some((uid, gid)) = w.owner.filter(|o| *o != (m.uid(), m.gid())) {
                    out.push(format!(
                        "{shown} is owned by {}:{}, planned {uid}:{gid}",
                        m.uid(),
                        m.gid()
                    ));
                }
            }
            _ => out.push(format!("{shown} is not a regular file")),
        },
        // The source of a copy was moved away by a later action: the
        // content cannot be compared, the target must exist.
        Err(_) if fs::symlink_metadata(&target).is_ok() => {}
        Err(e) => out.push(e.to_string()),
        Ok(None) => match action {
            FileAction::Symlink {
                target: link_target,
                ..
            } => {
                if fs::read_link(&target).ok().as_deref() != Some(link_target.as_path()) {
                    out.push(format!(
                        "{shown} is not a link to {}",
                        link_target.display()
                    ));
                }
            }
            FileAction::Move { from, .. } => {
                if fs::symlink_metadata(&target).is_err() {
                    out.push(format!(
                        "{shown} is missing (moved from {})",
                        from.display()
                    ));
                }
                if fs::symlink_metadata(under(root, from)).is_ok() {
                    out.push(format!(
                        "{} is still there (moved to {shown})",
                        from.display()
                    ));
                }
            }
            FileAction::Copy { .. } | FileAction::Write { .. } => {}
        },
    }
    out
}

/// How the changed paths differ from the state `prior` recorded (after an
/// undo), one line each; empty when they are exactly as before. Paths in
/// `earlier` are skipped: an earlier action changed them first, so its
/// prior state is the one they return to.
pub fn differences_from_prior(root: &Path, prior: &Prior, earlier: &[&Path]) -> Vec<String> {
    let Prior::Paths {
        entries,
        created_dirs,
    } = prior
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries
        .iter()
        .filter(|e| !earlier.contains(&e.path.as_path()))
    {
        let real = under(root, &entry.path);
        let shown = entry.path.display();
        out.extend(temporaries_left(&real));
        let now = fs::symlink_metadata(&real);
        match (&entry.state, now) {
            (PathState::Absent, Err(e)) if e.kind() == io::ErrorKind::NotFound => {}
            (PathState::Absent, _) => out.push(format!("{shown} exists; it did not before")),
            (PathState::Symlink { target }, _) => {
                if fs::read_link(&real).ok().as_deref() != Some(target.as_path()) {
                    out.push(format!(
                        "{shown} is not the link to {} it was",
                        target.display()
                    ));
                }
            }
            (
                PathState::File {
                    backup,
                    mode,
                    uid,
                    gid,
                },
                Ok(m),
            ) if m.is_file() => {
                if fs::read(&real).ok() != fs::read(backup).ok() {
                    out.push(format!("{shown} does not hold its old content"));
                }
                if (m.mode() & 0o7777, m.uid(), m.gid()) != (*mode, *uid, *gid) {
                    out.push(format!(
                        "{shown} has mode {:04o} owner {}:{}, it had {mode:04o} {uid}:{gid}",
                        m.mode() & 0o7777,
                        m.uid(),
                        m.gid()
                    ));
                }
            }
            (PathState::File { .. }, _) => {
                out.push(format!("{shown} is no longer the regular file it was"))
            }
        }
    }
    for dir in created_dirs {
        let empty = fs::read_dir(dir).map(|mut d| d.next().is_none());
        if matches!(empty, Ok(true)) {
            out.push(format!(
                "{} was created by the run and is still there",
                dir.display()
            ));
        }
    }
    out
}

fn temporaries_left(path: &Path) -> Vec<String> {
    match atomic::leftover_temporaries(path) {
        Ok(found) => found
            .iter()
            .map(|t| format!("{} is left from an interrupted write", t.display()))
            .collect(),
        Err(e) => vec![err(path, "list the temporary files of", e).to_string()],
    }
}

/// Puts every changed path back as `prior` recorded it.
pub fn undo(root: &Path, prior: &Prior) -> io::Result<()> {
    let Prior::Paths {
        entries,
        created_dirs,
    } = prior
    else {
        return Ok(());
    };
    for entry in entries.iter().rev() {
        let real = under(root, &entry.path);
        remove_temporaries(&real)?;
        match &entry.state {
            PathState::Absent => atomic::remove(&real).map_err(|e| err(&real, "remove", e))?,
            PathState::Symlink { target } => {
                if let Some(dir) = real.parent() {
                    fs::create_dir_all(dir)?;
                }
                atomic::symlink(target, &real).map_err(|e| err(&real, "restore link", e))?
            }
            PathState::File {
                backup,
                mode,
                uid,
                gid,
            } => {
                if let Some(dir) = real.parent() {
                    fs::create_dir_all(dir)?;
                }
                let bytes = fs::read(backup).map_err(|e| err(backup, "read backup", e))?;
                atomic::write_file(&real, &bytes, *mode).map_err(|e| err(&real, "restore", e))?;
                std::os::unix::fs::chown(&real, Some(*uid), Some(*gid))
                    .map_err(|e| err(&real, "chown", e))?;
            }
        }
    }
    for dir in created_dirs.iter().rev() {
        match fs::remove_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // Something else put files there since: keep it.
            Err(e) if e.kind() == io::ErrorKind::DirectoryNotEmpty => {}
            Err(e) => return Err(err(dir, "remove", e)),
        }
    }
    Ok(())
}

/// A numeric id, `root`, or a name from the root's passwd/group file.
fn resolve_id(root: &Path, db: &str, name: &str) -> io::Result<u32> {
    if let Ok(id) = name.parse() {
        return Ok(id);
    }
    let text = fs::read_to_string(root.join(db)).unwrap_or_default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() > 2 && fields[0] == name {
            if let Ok(id) = fields[2].parse() {
                return Ok(id);
            }
        }
    }
    if name == "root" {
        return Ok(0);
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "owner `{name}` is not in {}: use a numeric id or create the account",
            root.join(db).display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_state(root: &Path, p: &str) -> Option<(Vec<u8>, u32)> {
        let real = under(root, Path::new(p));
        let m = fs::symlink_metadata(&real).ok()?;
        if m.file_type().is_symlink() {
            return Some((
                fs::read_link(&real)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes(),
                0,
            ));
        }
        Some((fs::read(&real).unwrap(), m.mode() & 0o7777))
    }

    #[test]
    fn every_kind_is_undone_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("etc")).unwrap();
        atomic::write_file(&root.join("etc/a"), b"old a", 0o640).unwrap();
        atomic::write_file(&root.join("etc/src"), b"source", 0o600).unwrap();
        std::os::unix::fs::symlink("/etc/old", root.join("etc/link")).unwrap();
        let actions = [
            FileAction::Write {
                path: "/etc/a".into(),
                content: "new a".into(),
                mode: Some("0644".into()),
                owner: None,
            },
            FileAction::Copy {
                from: "/etc/src".into(),
                to: "/etc/new/dir/copy".into(),
                mode: None,
                owner: Some("0:0".into()),
            },
            FileAction::Symlink {
                link: "/etc/link".into(),
                target: "/etc/new".into(),
            },
            FileAction::Move {
                from: "/etc/src".into(),
                to: "/etc/a".into(),
            },
        ];
        let paths = [
            "/etc/a",
            "/etc/src",
            "/etc/link",
            "/etc/new/dir/copy",
            "/etc/new",
        ];
        let before: Vec<_> = paths.iter().map(|p| read_state(root, p)).collect();
        let mut priors = Vec::new();
        for (i, a) in actions.iter().enumerate() {
            priors.push(capture(root, a, &root.join(format!("backup/{i}"))).unwrap());
            // A killed run's write left its temporary file; the redo removes it.
            let target = under(root, a.target());
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            let left = atomic::AtomicFile::create(&target, 0o600).unwrap();
            std::mem::forget(left);
            apply(root, a).unwrap();
            assert_eq!(differences_from_result(root, a), Vec::<String>::new());
            apply(root, a).unwrap(); // idempotent
        }
        assert_eq!(read_state(root, "/etc/a").unwrap().0, b"source");
        assert_eq!(read_state(root, "/etc/link").unwrap().0, b"/etc/new");
        assert_eq!(
            read_state(root, "/etc/new/dir/copy").unwrap(),
            (b"source".to_vec(), 0o600)
        );
        // An undo killed before its own rename left a temporary file too.
        let left = atomic::AtomicFile::create(&root.join("etc/new/dir/copy"), 0o600).unwrap();
        std::mem::forget(left);
        assert!(!differences_from_prior(root, &priors[1], &[]).is_empty());
        for p in priors.iter().rev() {
            undo(root, p).unwrap();
        }
        let mut earlier: Vec<&Path> = Vec::new();
        for (a, p) in actions.iter().zip(&priors) {
            assert_eq!(
                differences_from_prior(root, p, &earlier),
                Vec::<String>::new()
            );
            earlier.extend(a.changed_paths());
        }
        assert!(
            !root.join("etc/new").exists(),
            "the created directories stay"
        );
        let after: Vec<_> = paths.iter().map(|p| read_state(root, p)).collect();
        assert_eq!(before, after);
    }
}
