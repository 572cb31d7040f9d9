//! File actions under `--root`, their prior-state capture and their exact undo:
//! a rollback restores overwritten files (content, mode, owner) from backup
//! copies and links to their old targets, and removes only what the action
//! created.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::journal::{PathPrior, PathState, Prior};
use crate::plan::{parse_mode, FileAction};

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

/// Runs the action; running it again after a crash completes it.
pub fn apply(root: &Path, action: &FileAction) -> io::Result<()> {
    let target = under(root, action.target());
    if let Some(dir) = target.parent() {
        fs::create_dir_all(dir).map_err(|e| err(dir, "create", e))?;
    }
    match action {
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
            atomic::write_file(&target, &bytes, mode).map_err(|e| err(&target, "write", e))?;
            chown(root, &target, owner.as_deref())
        }
        FileAction::Write {
            content,
            mode,
            owner,
            ..
        } => {
            let mode = mode.as_deref().and_then(parse_mode).unwrap_or(0o644);
            atomic::write_file(&target, content.as_bytes(), mode)
                .map_err(|e| err(&target, "write", e))?;
            chown(root, &target, owner.as_deref())
        }
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

fn chown(root: &Path, path: &Path, owner: Option<&str>) -> io::Result<()> {
    let Some(owner) = owner else { return Ok(()) };
    let (user, group) = owner.split_once(':').unwrap_or((owner, owner));
    let uid = resolve_id(root, "etc/passwd", user)?;
    let gid = resolve_id(root, "etc/group", group)?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| err(path, "chown", e))
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
            apply(root, a).unwrap();
            apply(root, a).unwrap(); // idempotent
        }
        assert_eq!(read_state(root, "/etc/a").unwrap().0, b"source");
        assert_eq!(read_state(root, "/etc/link").unwrap().0, b"/etc/new");
        assert_eq!(
            read_state(root, "/etc/new/dir/copy").unwrap(),
            (b"source".to_vec(), 0o600)
        );
        for p in priors.iter().rev() {
            undo(root, p).unwrap();
        }
        let after: Vec<_> = paths.iter().map(|p| read_state(root, p)).collect();
        assert_eq!(before, after);
    }
}
