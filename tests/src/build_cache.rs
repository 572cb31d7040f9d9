//! Test fixtures built once and cached under target/ (node images, test
//! repositories, the SSH identity): nextest runs every test in its own
//! process, so "once" means across processes — a lock file (flock) around the
//! build, and the result appears by rename only when complete.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of the given parts (each length-prefixed, so no two
/// lists of parts hash alike): the cache key of a fixture's inputs.
pub fn content_hash(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs `f` holding an exclusive flock on `lock` (created if missing); other
/// processes wait. The lock is released when the file closes, even if `f`
/// panics or the process dies.
pub fn with_lock<T>(lock: &Path, f: impl FnOnce() -> T) -> T {
    if let Some(dir) = lock.parent() {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .unwrap_or_else(|e| panic!("opening lock file {}: {e}", lock.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock.display()));
    let out = f();
    drop(file);
    out
}

/// `path` (a file or directory) once it exists: if missing, `build` writes it
/// at the temporary path it is given, which is then renamed to `path`. One
/// process builds; the others wait on `<path>.lock` and reuse the result. A
/// build that panics leaves nothing at `path`.
pub fn cached(path: &Path, build: impl FnOnce(&Path)) -> PathBuf {
    if path.exists() {
        return path.to_path_buf();
    }
    let name = path
        .file_name()
        .unwrap_or_else(|| panic!("{} has no file name", path.display()))
        .to_string_lossy()
        .into_owned();
    let lock = path.with_file_name(format!("{name}.lock"));
    with_lock(&lock, || {
        if path.exists() {
            return;
        }
        // Holding the lock, any temporary build is a dead process's leftover.
        let prefix = format!(".{name}.tmp-");
        if let Ok(siblings) = fs::read_dir(path.parent().unwrap()) {
            for entry in siblings.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    remove_any(&entry.path());
                }
            }
        }
        let tmp = path.with_file_name(format!("{prefix}{}", std::process::id()));
        build(&tmp);
        fs::rename(&tmp, path)
            .unwrap_or_else(|e| panic!("renaming {} to {}: {e}", tmp.display(), path.display()));
    });
    path.to_path_buf()
}

fn remove_any(path: &Path) {
    if path.is_dir() {
        let _ = fs::remove_dir_all(path);
    } else {
        let _ = fs::remove_file(path);
    }
}
