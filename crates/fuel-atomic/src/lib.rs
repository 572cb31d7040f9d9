//! Durable local state: a reader (or a resumed run) sees either the old
//! content or the new one, never a torn file. Every tool of the workspace
//! writes files this one way: a temporary file beside the target, fsync,
//! rename over the target, fsync of the directory so the rename itself
//! survives a power cut. Also here: a file written only if absent
//! ([`write_new`]), a directory replaced whole ([`replace_dir`]), the pid
//! lock ([`PidLock`]) and fault-injection points ([`fault`]).

pub mod fault;
mod lock;

pub use lock::{LockError, PidLock};

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file being written: invisible at its path until [`AtomicFile::commit`];
/// dropped uncommitted, it leaves nothing behind.
#[derive(Debug)]
pub struct AtomicFile {
    file: File,
    temp: PathBuf,
    path: PathBuf,
    mode: u32,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `path` with permission bits `mode` (the umask does not
    /// narrow them). The temporary file is hidden beside `path` and unique to
    /// this process and call, so concurrent writers of one path never share it.
    pub fn create(path: &Path, mode: u32) -> io::Result<AtomicFile> {
        let temp = temp_beside(path);
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)?;
        Ok(AtomicFile {
            file,
            temp,
            path: path.to_path_buf(),
            mode,
            committed: false,
        })
    }

    /// The open temporary file (for positioned writes and reading it back).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Makes the written content the file at its path, durably.
    pub fn commit(mut self) -> io::Result<()> {
        // The umask may have narrowed the mode given to open().
        self.file
            .set_permissions(fs::Permissions::from_mode(self.mode))?;
        self.file.sync_all()?;
        fs::rename(&self.temp, &self.path)?;
        self.committed = true;
        sync_dir(&self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` with `mode`, atomically and durably.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut file = AtomicFile::create(path, mode)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Writes `bytes` to `path` with `mode` unless `path` exists: `Ok(false)`
/// then, and the existing file is kept (another writer won the race). The
/// file appears complete or not at all: written and fsynced under a
/// temporary name, then hard-linked into place, which fails if the name is taken.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<bool> {
    let mut file = AtomicFile::create(path, mode)?;
    file.write_all(bytes)?;
    file.file
        .set_permissions(fs::Permissions::from_mode(file.mode))?;
    file.file.sync_all()?;
    // Dropping `file` removes the temporary name either way.
    match fs::hard_link(&file.temp, &file.path) {
        Ok(()) => {
            sync_dir(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Makes the complete directory `staged` the directory `target` (created
/// beside it, on the same file system), durably, and removes what `target`
/// held before. Where it exists, the two are swapped in one step
/// (`renameat2(RENAME_EXCHANGE)`), so a reader always finds a whole
/// `target`; file systems without the exchange (it is refused with EINVAL,
/// or ENOSYS on old kernels) get two renames, with an instant without
/// `target` between them.
pub fn replace_dir(staged: &Path, target: &Path) -> io::Result<()> {
    match fs::symlink_metadata(target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::rename(staged, target)?;
            return sync_dir(target);
        }
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    match exchange(staged, target) {
        // `staged` now holds the old directory.
        Ok(()) => {
            sync_dir(target)?;
            fs::remove_dir_all(staged)
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            let old = temp_beside(target);
            fs::rename(target, &old)?;
            fs::rename(staged, target)?;
            sync_dir(target)?;
            fs::remove_dir_all(&old)
        }
        Err(e) => Err(e),
    }
}

/// Swaps the two names atomically.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that live across the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Lower-case hex of `bytes` (digests, tokens), in one allocation.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    text
}

/// Replaces whatever is at `link` with a symlink to `target`, atomically.
pub fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    let temp = temp_beside(link);
    std::os::unix::fs::symlink(target, &temp)?;
    if let Err(e) = fs::rename(&temp, link) {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(link)
}

/// Renames and makes the rename durable.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_dir(to)?;
    sync_dir(from)
}

/// Removes a file or symlink (not a directory); absent is fine.
pub fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Starts the kernel writing `file`'s dirty pages to disk without waiting
/// for it (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that a large file
/// written in one stream has little left to do at its fsync: the disk works
/// while the writer computes. Durability still comes only from the fsync in
/// [`AtomicFile::commit`]; this only moves the I/O earlier.
pub fn start_writeback(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // Offset 0 and length 0: the whole file; pages already under writeback
    // are skipped, not waited for.
    // SAFETY: a plain syscall on a descriptor `file` keeps open.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// fsync of the directory holding `path`.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// The temporary files that writes of `path` killed before their rename
/// left beside it (`.NAME.PID-N.tmp`), for the caller to remove: an undo or
/// a redo of an interrupted write puts the directory back as it was.
pub fn leftover_temporaries(path: &Path) -> io::Result<Vec<PathBuf>> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(Vec::new());
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let entries = match fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(tag) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if matches!(tag.split_once('-'), Some((pid, n)) if is_digits(pid) && is_digits(n)) {
            found.push(dir.join(&file_name));
        }
    }
    found.sort();
    Ok(found)
}

/// `.NAME.PID-N.tmp` beside `path`: hidden, and unique per process and call.
fn temp_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_content_and_mode_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release");
        write_file(&path, b"7.0.0\n", 0o644).unwrap();
        write_file(&path, b"8.0.0\n", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"8.0.0\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert_eq!(names(dir.path()), ["release"]);
    }

    #[test]
    fn an_uncommitted_file_leaves_the_old_content_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.rpm");
        write_file(&path, b"old", 0o644).unwrap();
        let mut file = AtomicFile::create(&path, 0o644).unwrap();
        file.write_all(b"half of the new").unwrap();
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["package.rpm"]);
    }

    #[test]
    fn writeback_started_midway_leaves_the_committed_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.rpm");
        let mut file = AtomicFile::create(&path, 0o644).unwrap();
        let block = vec![7u8; 1 << 20];
        for _ in 0..3 {
            file.write_all(&block).unwrap();
            start_writeback(file.file()).unwrap();
        }
        file.write_all(b"tail").unwrap();
        file.commit().unwrap();
        let written = fs::read(&path).unwrap();
        assert_eq!(written.len(), 3 * block.len() + 4);
        assert!(written.ends_with(b"\x07tail"));
        assert_eq!(names(dir.path()), ["images.rpm"]);
    }

    #[test]
    fn temporaries_of_interrupted_writes_are_found_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release");
        write_file(&path, b"8.0.0\n", 0o644).unwrap();
        // What a writer killed before its rename leaves.
        let left = AtomicFile::create(&path, 0o644).unwrap();
        std::mem::forget(left);
        for other in [
            ".release.tmp",
            ".release.x-1.tmp",
            ".releases.1-2.tmp",
            "release.1-2.tmp",
        ] {
            fs::write(dir.path().join(other), "").unwrap();
        }
        let found = leftover_temporaries(&path).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let name = found[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".release.") && name.ends_with(".tmp"),
            "{name}"
        );
        assert!(leftover_temporaries(&dir.path().join("absent/file"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn write_new_keeps_what_is_there_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.asc");
        assert!(write_new(&path, b"first", 0o600).unwrap());
        assert!(!write_new(&path, b"second", 0o644).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert_eq!(names(dir.path()), ["key.asc"]);
    }

    #[test]
    fn a_replaced_directory_holds_the_new_files_only_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("repodata");
        for (round, file) in ["old.xml", "new.xml"].into_iter().enumerate() {
            let staged = dir.path().join(format!(".repodata.{round}"));
            fs::create_dir(&staged).unwrap();
            fs::write(staged.join(file), file).unwrap();
            replace_dir(&staged, &target).unwrap();
            assert_eq!(names(&target), [file]);
            assert_eq!(names(dir.path()), ["repodata"]);
        }
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn links_are_replaced_and_removing_an_absent_file_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("current");
        symlink(Path::new("7.0.0"), &link).unwrap();
        symlink(Path::new("8.0.0"), &link).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("8.0.0"));
        remove(&link).unwrap();
        remove(&link).unwrap();
        assert!(names(dir.path()).is_empty());
    }
}
