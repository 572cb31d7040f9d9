//! [`PackageDef`] → signed, reproducible `.rpm` file, streaming.
//!
//! [`write_package`] is the whole public surface: it names its output
//! `<name>-<version>-<release>.<arch>.rpm`, writes it through a temporary file
//! (fsync, rename) so a failed build never leaves half an rpm, and signs it
//! with the given [`SigningKey`].
//!
//! Why not rpm-rs's `PackageBuilder`: it reads every file into memory and
//! keeps the whole compressed payload in a `Vec`. Here one pass streams the
//! files through cpio and a multi-threaded compressor into a temporary file
//! ([`payload`]), then the header is made with rpm-rs's own header types
//! ([`header`]), signed, and lead + signature + header + payload are written
//! out. See ARCHITECTURE.md, "Streaming rpm builder".

mod digest;
mod header;
mod payload;
mod sign;

use std::fs::{self, File};
use std::io::{self, BufWriter, Seek};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rpm::signature::Signing;
use rpm::{FileFlags, IndexSignatureTag, Lead, PackageMetadata, SignatureHeaderBuilder};

use crate::package::{FileDef, FileKind, PackageDef};
use header::FileRecord;
use digest::{Chunk, HashTee};
use payload::{CpioEntry, PayloadWriter};

pub use sign::{SigningKey, DEVELOPMENT_USER_ID};

/// The build host recorded in every package: the real host name would make
/// two builds of one tree differ.
pub const BUILD_HOST: &str = "fuel-build";

/// What [`write_package`] wrote.
#[derive(Debug, Clone)]
pub struct BuiltPackage {
    pub path: PathBuf,
    pub file_name: String,
    pub size: u64,
    /// Lower-case hex sha256 of the whole rpm file.
    pub sha256: String,
    pub elapsed: Duration,
}

/// Every error names the package and the file or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("signing key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("package {package}: {dest}: cannot read source {}: {source}", path.display())]
    Source { package: String, dest: String, path: PathBuf, source: io::Error },
    #[error("package {package}: {field}: {reason}")]
    Invalid { package: String, field: String, reason: String },
    #[error("package {package}: rpm header: {source}")]
    Rpm { package: String, source: rpm::Error },
    #[error("package {package}: cannot write {}: {source}", path.display())]
    Output { package: String, path: PathBuf, source: io::Error },
}

/// The file name rpm tools expect: `<name>-<version>-<release>.<arch>.rpm`.
pub fn package_file_name(def: &PackageDef) -> String {
    format!("{}-{}-{}.{}.rpm", def.name, def.version, def.release, def.arch)
}

/// Writes `<name>-<version>-<release>.<arch>.rpm` into `out_dir` (temporary
/// file, fsync, rename: never a half-written rpm), signed with `key` if given.
pub fn write_package(
    def: &PackageDef,
    key: Option<&SigningKey>,
    out_dir: &Path,
) -> Result<BuiltPackage, BuildError> {
    let started = Instant::now();
    let file_name = package_file_name(def);
    let path = out_dir.join(&file_name);
    let output_error = |source: io::Error| BuildError::Output {
        package: def.name.clone(),
        path: path.clone(),
        source,
    };
    let files = sorted_files(def)?;
    fs::create_dir_all(out_dir).map_err(output_error)?;

    // 1. The payload, into a temporary file next to the output.
    let payload_tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}.payload."))
        .tempfile_in(out_dir)
        .map_err(output_error)?;
    let payload_file = payload_tmp.reopen().map_err(output_error)?;
    let mut writer = PayloadWriter::new(payload_file, &def.compression).map_err(output_error)?;
    let mut records = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        records.push(add_file(def, file, index as u32 + 1, &mut writer)?);
    }
    // Digests arrive in payload order, one per entry in the payload.
    for (record, file) in records.iter_mut().zip(&files) {
        if !record.ghost {
            let digest = writer.next_digest().map_err(output_error)?;
            if matches!(file.kind, FileKind::Source(_) | FileKind::Contents(_)) {
                record.sha256 = digest;
            }
        }
    }
    let (mut payload_file, summary) = writer.finish().map_err(output_error)?;

    // 2. The header, then the signature header over it.
    let header = header::main_header(def, &records, &summary);
    let mut metadata = PackageMetadata {
        lead: Lead::new(&def.name),
        signature: rpm::Header::<IndexSignatureTag>::new_empty(),
        header,
    };
    let rpm_error = |source: rpm::Error| BuildError::Rpm { package: def.name.clone(), source };
    let header_bytes = metadata.header_bytes().map_err(rpm_error)?;
    let mut signature = SignatureHeaderBuilder::new()
        .format(rpm::RpmFormat::V4)
        .set_content_length(header_bytes.len() as u64 + summary.size)
        .calculate_digests(&header_bytes);
    if let Some(key) = key {
        let signed = key
            .signer()?
            .sign(header_bytes.as_slice(), rpm::Timestamp(def.source_date))
            .map_err(rpm_error)?;
        signature = signature.add_openpgp_signature(signed);
    }
    metadata.signature = signature.build().map_err(rpm_error)?;

    // 3. lead + signature + header + payload, then fsync and rename.
    let out_tmp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .tempfile_in(out_dir)
        .map_err(output_error)?;
    let mut out = HashTee::new(BufWriter::with_capacity(1 << 20, out_tmp.as_file()));
    metadata.write(&mut out).map_err(rpm_error)?;
    payload_file.rewind().map_err(output_error)?;
    copy_chunks(&mut payload_file, &mut out).map_err(output_error)?;
    let (buffered, size, sha256) = out.finish().map_err(output_error)?;
    buffered.into_inner().map_err(|e| output_error(e.into_error()))?;
    drop(payload_tmp);
    // tempfile creates 0600; a package is for everyone to read.
    out_tmp.as_file().set_permissions(fs::Permissions::from_mode(0o644)).map_err(output_error)?;
    out_tmp.as_file().sync_all().map_err(output_error)?;
    out_tmp.persist(&path).map_err(|e| output_error(e.error))?;
    // The rename itself is only durable once the directory is synced.
    File::open(out_dir).and_then(|d| d.sync_all()).map_err(output_error)?;

    Ok(BuiltPackage { path, file_name, size, sha256, elapsed: started.elapsed() })
}

/// Files in payload order (sorted by path, as rpm requires), checked.
fn sorted_files(def: &PackageDef) -> Result<Vec<&FileDef>, BuildError> {
    let invalid = |dest: &str, reason: String| BuildError::Invalid {
        package: def.name.clone(),
        field: format!("files: {dest}"),
        reason,
    };
    let mut files: Vec<&FileDef> = def.files.iter().collect();
    files.sort_by(|a, b| a.dest.cmp(&b.dest));
    for pair in files.windows(2) {
        if pair[0].dest == pair[1].dest {
            return Err(invalid(&pair[0].dest, "listed twice".into()));
        }
    }
    let mut total = 0u64;
    for file in &files {
        let dest = file.dest.as_str();
        if !dest.starts_with('/') || dest == "/" || dest.ends_with('/') || dest.contains("//") {
            return Err(invalid(dest, "the destination must be an absolute, normalised file path".into()));
        }
        if file.mode & !0o7777 != 0 {
            return Err(invalid(dest, format!("mode {:o} has bits beyond permissions", file.mode)));
        }
        if let FileKind::Source(source) = &file.kind {
            total += fs::metadata(source).map_err(|e| source_error(def, file, e))?.len();
        }
    }
    // Past 4 GiB rpm needs 64-bit size tags and a stripped cpio: not written yet.
    if total > u64::from(u32::MAX) {
        return Err(invalid("*", format!("{total} bytes of files: packages over 4 GiB are not supported")));
    }
    Ok(files)
}

fn source_error(def: &PackageDef, file: &FileDef, source: io::Error) -> BuildError {
    let path = match &file.kind {
        FileKind::Source(path) => path.clone(),
        _ => PathBuf::new(),
    };
    BuildError::Source { package: def.name.clone(), dest: file.dest.clone(), path, source }
}

/// Streams one file into the payload (ghosts have none) and describes it for the header.
fn add_file(
    def: &PackageDef,
    file: &FileDef,
    ino: u32,
    writer: &mut PayloadWriter,
) -> Result<FileRecord, BuildError> {
    let name = format!(".{}", file.dest);
    let kind_bits = header::type_bits(&file.kind);
    let mut entry = CpioEntry {
        name: &name,
        ino,
        mode: u32::from(kind_bits) | file.mode,
        mtime: def.source_date,
        size: 0,
    };
    let mut record = FileRecord {
        dest: file.dest.clone(),
        kind_bits,
        permissions: file.mode as u16,
        size: 0,
        sha256: String::new(),
        linkto: String::new(),
        flags: file_flags(file),
        user: file.user.clone(),
        group: file.group.clone(),
        ghost: false,
    };
    let written = match &file.kind {
        FileKind::Source(source) => {
            let opened = File::open(source).map_err(|e| source_error(def, file, e))?;
            entry.size = opened.metadata().map_err(|e| source_error(def, file, e))?.len();
            writer.add(&entry, opened).map_err(|e| source_error(def, file, e))?;
            Ok(())
        }
        FileKind::Contents(bytes) => {
            entry.size = bytes.len() as u64;
            writer.add(&entry, bytes.as_slice())
        }
        FileKind::Dir => writer.add(&entry, io::empty()),
        FileKind::Symlink { target } => {
            entry.size = target.len() as u64;
            record.linkto = target.clone();
            writer.add(&entry, target.as_bytes())
        }
        FileKind::Ghost => {
            record.ghost = true;
            Ok(())
        }
    };
    written.map_err(|source| BuildError::Output {
        package: def.name.clone(),
        path: PathBuf::from(&file.dest),
        source,
    })?;
    record.size = entry.size;
    Ok(record)
}

fn file_flags(file: &FileDef) -> FileFlags {
    let mut flags = FileFlags::empty();
    let a = &file.attrs;
    // Directories cannot be %config or %doc in rpm (rpm-rs strips them too).
    let dir = file.kind == FileKind::Dir;
    flags.set(FileFlags::CONFIG, a.config && !dir);
    flags.set(FileFlags::NOREPLACE, a.config && a.noreplace && !dir);
    flags.set(FileFlags::DOC, a.doc && !dir);
    flags.set(FileFlags::MISSINGOK, a.missingok);
    flags.set(FileFlags::GHOST, file.kind == FileKind::Ghost);
    flags
}

/// Copies in shared chunks, so the output's hasher needs no copy of its own.
fn copy_chunks(from: &mut File, to: &mut HashTee<BufWriter<&File>>) -> io::Result<()> {
    use std::io::Read;
    loop {
        let mut chunk = Vec::with_capacity(1 << 20);
        if from.take(1 << 20).read_to_end(&mut chunk)? == 0 {
            return Ok(());
        }
        to.write_chunk(&Chunk::new(chunk))?;
    }
}
