//! [`PackageDef`] → signed, reproducible `.rpm` file, streaming.
//!
//! [`write_package`] is the whole public surface: it names its output
//! `<name>-<version>-<release>.<arch>.rpm`, writes it through a temporary file
//! (fsync, rename) so a failed build never leaves half an rpm, and signs it
//! with the given [`SigningKey`].
//!
//! Why not rpm-rs's `PackageBuilder`: it reads every file into memory and
//! keeps the whole compressed payload in a `Vec`. Here one pass streams the
//! files through cpio and a multi-threaded compressor straight into the output
//! file ([`payload`]), after room left for the metadata; then the header is
//! made with rpm-rs's own header types ([`header`]), signed, and lead +
//! signature + header are written into that room. The metadata's size is
//! known before the payload: digests are fixed-length hex, sizes come from the
//! sources' metadata, and the signature header's reserved space absorbs any
//! change in the signature's length. See ARCHITECTURE.md, "Streaming rpm
//! builder".

mod digest;
mod header;
mod payload;
mod sign;

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rpm::signature::Signing;
use rpm::{FileFlags, IndexSignatureTag, Lead, PackageMetadata, SignatureHeaderBuilder};

use crate::package::{FileDef, FileKind, PackageDef};
use header::FileRecord;
use payload::{CpioEntry, PayloadSummary, PayloadWriter};
use sha2::{Digest, Sha256};

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
    pub elapsed: Duration,
}

/// Every error names the package and the file or field at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("signing key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("package {package}: {dest}: cannot read source {}: {source}", path.display())]
    Source {
        package: String,
        dest: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("package {package}: {field}: {reason}")]
    Invalid {
        package: String,
        field: String,
        reason: String,
    },
    #[error("package {package}: rpm header: {source}")]
    Rpm { package: String, source: rpm::Error },
    #[error("package {package}: cannot write {}: {source}", path.display())]
    Output {
        package: String,
        path: PathBuf,
        source: io::Error,
    },
}

/// The file name rpm tools expect: `<name>-<version>-<release>.<arch>.rpm`.
pub fn package_file_name(def: &PackageDef) -> String {
    format!(
        "{}-{}-{}.{}.rpm",
        def.name, def.version, def.release, def.arch
    )
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
    let mut records = files
        .iter()
        .map(|file| plan_record(def, file))
        .collect::<Result<Vec<_>, _>>()?;
    check_total_size(def, &records)?;
    let signer = key.map(SigningKey::signer).transpose()?;
    fs::create_dir_all(out_dir).map_err(output_error)?;

    // 1. Where the payload starts: the metadata with placeholder digests
    //    (same lengths as the real ones) is exactly as long as the real one.
    let placeholder = PayloadSummary {
        sha256: "0".repeat(64),
        size: 0,
    };
    let provisional: Vec<FileRecord> = records
        .iter()
        .map(|r| FileRecord {
            sha256: if r.has_digest() {
                "0".repeat(64)
            } else {
                String::new()
            },
            ..r.clone()
        })
        .collect();
    let (_, payload_offset) = metadata(def, &provisional, &placeholder, signer.as_ref(), None)?;

    // 2. The payload, streamed into the output file after that room.
    let out = fuel_atomic::AtomicFile::create(&path, 0o644).map_err(output_error)?;
    let mut payload_file = out.file().try_clone().map_err(output_error)?;
    payload_file
        .seek(SeekFrom::Start(payload_offset))
        .map_err(output_error)?;
    let mut writer = PayloadWriter::new(payload_file, &def.compression).map_err(output_error)?;
    for (index, (file, record)) in files.iter().zip(&records).enumerate() {
        add_file(def, file, record, index as u32 + 1, &mut writer)?;
    }
    let (_, summary, digests) = writer.finish().map_err(output_error)?;
    // One digest per entry in the payload, in payload order (ghosts have none).
    for (record, digest) in records.iter_mut().filter(|r| !r.ghost).zip(digests) {
        if record.has_digest() {
            record.sha256 = digest;
        }
    }

    // 3. lead + signature + header into the room, then fsync and rename.
    let (metadata, len) = metadata(
        def,
        &records,
        &summary,
        signer.as_ref(),
        Some(payload_offset),
    )?;
    debug_assert_eq!(len, payload_offset);
    let mut bytes = Vec::with_capacity(len as usize);
    metadata
        .write(&mut bytes)
        .map_err(|source| BuildError::Rpm {
            package: def.name.clone(),
            source,
        })?;
    out.file().write_all_at(&bytes, 0).map_err(output_error)?;
    let size = bytes.len() as u64 + summary.size;
    let written = out.file().metadata().map_err(output_error)?.len();
    if written != size {
        return Err(output_error(io::Error::other(format!(
            "wrote {written} bytes, expected {size}"
        ))));
    }
    out.commit().map_err(output_error)?;

    Ok(BuiltPackage {
        path,
        file_name,
        size,
        elapsed: started.elapsed(),
    })
}

/// Lead, signature header and main header, and their encoded length. With
/// `target_len`, the signature header's reserved space is sized so that the
/// whole is exactly that long (the payload already sits right after it).
fn metadata(
    def: &PackageDef,
    records: &[FileRecord],
    payload: &PayloadSummary,
    signer: Option<&rpm::signature::pgp::Signer>,
    target_len: Option<u64>,
) -> Result<(PackageMetadata, u64), BuildError> {
    let rpm_error = |source: rpm::Error| BuildError::Rpm {
        package: def.name.clone(),
        source,
    };
    let mut metadata = PackageMetadata {
        lead: Lead::new(&def.name),
        signature: rpm::Header::<IndexSignatureTag>::new_empty(),
        header: header::main_header(def, records, payload),
    };
    let header_bytes = metadata.header_bytes().map_err(rpm_error)?;
    let signature = signer
        .map(|s| s.sign(header_bytes.as_slice(), rpm::Timestamp(def.source_date)))
        .transpose()
        .map_err(rpm_error)?;
    let mut reserved = i64::from(SignatureHeaderBuilder::DEFAULT_RESERVED_SPACE);
    // The reserved space is the signature header's last entry and unaligned,
    // so one correction lands exactly; the second pass only confirms it.
    for _ in 0..3 {
        let reserved_space = u32::try_from(reserved).map_err(|_| BuildError::Invalid {
            package: def.name.clone(),
            field: "signature".into(),
            reason: "the signature does not fit the space left for it".into(),
        })?;
        let mut builder = SignatureHeaderBuilder::new()
            .format(rpm::RpmFormat::V4)
            .reserved_space(Some(reserved_space))
            .set_content_length(header_bytes.len() as u64 + payload.size)
            .calculate_digests(&header_bytes);
        if let Some(signature) = &signature {
            builder = builder.add_openpgp_signature(signature.clone());
        }
        metadata.signature = builder.build().map_err(rpm_error)?;
        let mut encoded = Vec::new();
        metadata.write(&mut encoded).map_err(rpm_error)?;
        let len = encoded.len() as u64;
        match target_len {
            Some(target) if target != len => reserved += target as i64 - len as i64,
            _ => return Ok((metadata, len)),
        }
    }
    Err(BuildError::Invalid {
        package: def.name.clone(),
        field: "signature".into(),
        reason: "the signature header could not be sized to the space left for it".into(),
    })
}

impl BuiltPackage {
    /// Lower-case hex sha256 of the whole rpm file, read back: the package's
    /// own digests are taken while it is written, this one (for manifests) is
    /// paid only by those who ask.
    pub fn sha256(&self) -> io::Result<String> {
        let mut hasher = Sha256::new();
        io::copy(&mut File::open(&self.path)?, &mut hasher)?;
        Ok(fuel_atomic::hex(&hasher.finalize()))
    }
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
    for file in &files {
        let dest = file.dest.as_str();
        if !dest.starts_with('/') || dest == "/" || dest.ends_with('/') || dest.contains("//") {
            return Err(invalid(
                dest,
                "the destination must be an absolute, normalised file path".into(),
            ));
        }
        if file.mode & !0o7777 != 0 {
            return Err(invalid(
                dest,
                format!("mode {:o} has bits beyond permissions", file.mode),
            ));
        }
    }
    Ok(files)
}

/// Past 4 GiB rpm needs 64-bit size tags and a stripped cpio: not written yet.
fn check_total_size(def: &PackageDef, records: &[FileRecord]) -> Result<(), BuildError> {
    let total: u64 = records.iter().map(|r| r.size).sum();
    if total > u64::from(u32::MAX) {
        return Err(BuildError::Invalid {
            package: def.name.clone(),
            field: "files".into(),
            reason: format!("{total} bytes in all: packages over 4 GiB are not supported"),
        });
    }
    Ok(())
}

fn source_error(def: &PackageDef, file: &FileDef, source: io::Error) -> BuildError {
    let path = match &file.kind {
        FileKind::Source(path) => path.clone(),
        _ => PathBuf::new(),
    };
    BuildError::Source {
        package: def.name.clone(),
        dest: file.dest.clone(),
        path,
        source,
    }
}

/// What the header will say about one file; digests come with the payload.
fn plan_record(def: &PackageDef, file: &FileDef) -> Result<FileRecord, BuildError> {
    let (size, linkto) = match &file.kind {
        FileKind::Source(source) => (
            fs::metadata(source)
                .map_err(|e| source_error(def, file, e))?
                .len(),
            String::new(),
        ),
        FileKind::Contents(bytes) => (bytes.len() as u64, String::new()),
        FileKind::Symlink { target } => (target.len() as u64, target.clone()),
        FileKind::Dir | FileKind::Ghost => (0, String::new()),
    };
    Ok(FileRecord {
        dest: file.dest.clone(),
        kind_bits: header::type_bits(&file.kind),
        permissions: file.mode as u16,
        size,
        sha256: String::new(),
        linkto,
        flags: file_flags(file),
        user: file.user.clone(),
        group: file.group.clone(),
        ghost: file.kind == FileKind::Ghost,
    })
}

/// Streams one file into the payload (ghosts have none).
fn add_file(
    def: &PackageDef,
    file: &FileDef,
    record: &FileRecord,
    ino: u32,
    writer: &mut PayloadWriter,
) -> Result<(), BuildError> {
    let name = format!(".{}", file.dest);
    let entry = CpioEntry {
        name: &name,
        ino,
        mode: u32::from(record.mode()),
        mtime: def.source_date,
        size: record.size,
    };
    let written = match &file.kind {
        FileKind::Source(source) => {
            let opened = File::open(source).map_err(|e| source_error(def, file, e))?;
            return writer
                .add(&entry, opened)
                .map_err(|e| source_error(def, file, e));
        }
        FileKind::Contents(bytes) => writer.add(&entry, bytes.as_slice()),
        FileKind::Dir => writer.add(&entry, io::empty()),
        FileKind::Symlink { target } => writer.add(&entry, target.as_bytes()),
        FileKind::Ghost => Ok(()),
    };
    written.map_err(|source| BuildError::Output {
        package: def.name.clone(),
        path: PathBuf::from(&file.dest),
        source,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{Compression, FileAttrs};

    fn tiny() -> PackageDef {
        PackageDef {
            name: "tiny".into(),
            epoch: None,
            version: "1".into(),
            release: "1".into(),
            arch: "noarch".into(),
            summary: "s".into(),
            description: "d".into(),
            license: "MIT".into(),
            vendor: "v".into(),
            url: "u".into(),
            vcs: "c".into(),
            packager: None,
            group: None,
            source_date: 1,
            compression: Compression::default(),
            files: vec![FileDef {
                dest: "/etc/tiny".into(),
                kind: FileKind::Contents(b"x".to_vec()),
                mode: 0o644,
                user: "root".into(),
                group: "root".into(),
                attrs: FileAttrs::default(),
            }],
            deps: Default::default(),
            scriptlets: Default::default(),
            changelog: vec![],
        }
    }

    /// The payload is written before the metadata: the metadata must fit the
    /// room left for it exactly, whichever way the signature's length moved.
    #[test]
    fn metadata_is_sized_to_the_room_left_for_it() {
        let def = tiny();
        let records: Vec<FileRecord> = def
            .files
            .iter()
            .map(|f| plan_record(&def, f).unwrap())
            .collect();
        let payload = PayloadSummary {
            sha256: "1".repeat(64),
            size: 100,
        };
        let (_, natural) = metadata(&def, &records, &payload, None, None).unwrap();
        for target in [
            natural - 64,
            natural - 8,
            natural,
            natural + 8,
            natural + 512,
        ] {
            let (metadata, len) = metadata(&def, &records, &payload, None, Some(target)).unwrap();
            assert_eq!(len, target);
            let mut bytes = Vec::new();
            metadata.write(&mut bytes).unwrap();
            assert_eq!(bytes.len() as u64, target);
        }
    }
}
