//! The payload in one streaming pass: every file is read once, its sha256
//! taken on the way, wrapped in cpio (newc, as rpm expects) and compressed
//! into a temporary file, while the digests of the uncompressed archive and
//! of the compressed payload are computed. Memory stays bounded by the
//! compressor's buffers whatever the payload's size.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::sync::Arc;

use super::digest::{HashTee, HashThread};
use crate::package::{Compression, CompressionKind};

/// zstd multi-threaded jobs of a fixed size: with the size pinned (and at
/// least one worker), the compressed bytes do not depend on the core count.
const ZSTD_JOB_SIZE: u32 = 4 << 20;
const COPY_BUFFER: usize = 1 << 20;
/// cpio "newc" header: magic + 13 eight-digit hex fields.
const CPIO_HEADER_LEN: usize = 110;
const CPIO_TRAILER: &str = "TRAILER!!!";

/// What the header needs to know about the finished payload.
#[derive(Debug, Clone)]
pub(super) struct PayloadSummary {
    /// sha256 of the compressed payload (RPMTAG_PAYLOADDIGEST).
    pub sha256: String,
    /// sha256 of the uncompressed cpio archive (RPMTAG_PAYLOADDIGESTALT).
    pub archive_sha256: String,
    pub size: u64,
}

/// One cpio entry's metadata (newc fields rpm reads).
pub(super) struct CpioEntry<'a> {
    /// `./usr/bin/foo`: rpm's payloads carry the `./` prefix.
    pub name: &'a str,
    pub ino: u32,
    /// Type and permission bits.
    pub mode: u32,
    pub mtime: u32,
    pub size: u64,
}

type Sink = HashTee<BufWriter<File>>;

enum Encoder {
    None(Sink),
    Gzip(flate2::write::GzEncoder<Sink>),
    Zstd(zstd::stream::write::Encoder<'static, Sink>),
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

/// cpio archive → compressor → file, with both digests on the way, and each
/// file's own digest.
pub(super) struct PayloadWriter {
    archive: HashTee<Encoder>,
    files: HashThread,
}

impl PayloadWriter {
    pub fn new(file: File, compression: &Compression) -> io::Result<PayloadWriter> {
        let sink = HashTee::new(BufWriter::with_capacity(COPY_BUFFER, file));
        let encoder = match compression.kind {
            CompressionKind::None => Encoder::None(sink),
            CompressionKind::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                sink,
                flate2::Compression::new(compression.level.clamp(0, 9) as u32),
            )),
            CompressionKind::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(sink, compression.level)?;
                let threads = match compression.threads {
                    0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                    n => n,
                };
                encoder.multithread(threads.max(1))?;
                encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_SIZE))?;
                Encoder::Zstd(encoder)
            }
        };
        Ok(PayloadWriter {
            archive: HashTee::new(encoder),
            files: HashThread::spawn(),
        })
    }

    /// Writes one entry whose contents come from `contents` (exactly
    /// `entry.size` bytes, else an error: a source changed during the build).
    /// Its sha256 comes later, in order, from [`PayloadWriter::next_digest`].
    pub fn add(&mut self, entry: &CpioEntry<'_>, mut contents: impl Read) -> io::Result<()> {
        let size: u32 = entry.size.try_into().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a file over 4 GiB does not fit in a cpio (newc) entry",
            )
        })?;
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            entry.ino,
            entry.mode,
            0, // uid: rpm takes owners from the header
            0, // gid
            1, // nlink
            entry.mtime,
            0, // dev major
            0, // dev minor
            0, // rdev major
            0, // rdev minor
            entry.name.len() + 1,
            0, // checksum (newc has none)
        );
        self.archive.write_all(header.as_bytes())?;
        self.archive.write_all(entry.name.as_bytes())?;
        self.archive.write_all(&[0])?;
        self.pad(CPIO_HEADER_LEN + entry.name.len() + 1)?;

        let mut copied = 0u64;
        while copied < entry.size {
            let want = (entry.size - copied).min(COPY_BUFFER as u64);
            // read_to_end fills spare capacity: no zeroing of every buffer.
            let mut chunk = Vec::with_capacity(want as usize);
            let n = (&mut contents).take(want).read_to_end(&mut chunk)?;
            if n == 0 {
                break;
            }
            copied += n as u64;
            let chunk = Arc::new(chunk);
            self.files.update(Arc::clone(&chunk))?;
            self.archive.write_chunk(&chunk)?;
        }
        if copied != entry.size || read_full(&mut contents, &mut [0u8; 1])? != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "it changed while being packaged ({} bytes expected)",
                    entry.size
                ),
            ));
        }
        self.files.cut()?;
        self.pad(entry.size as usize)
    }

    /// The sha256 of the contents of the oldest entry not yet asked for.
    pub fn next_digest(&self) -> io::Result<String> {
        Ok(self.files.next_digest()?.0)
    }

    fn pad(&mut self, len: usize) -> io::Result<()> {
        let padding = (4 - len % 4) % 4;
        self.archive.write_all(&[0; 3][..padding])
    }

    /// Writes the trailer and flushes the compressor.
    pub fn finish(mut self) -> io::Result<(File, PayloadSummary)> {
        let trailer = CpioEntry {
            name: CPIO_TRAILER,
            ino: 0,
            mode: 0,
            mtime: 0,
            size: 0,
        };
        self.add(&trailer, io::empty())?;
        let (encoder, _, archive_sha256) = self.archive.finish()?;
        let sink = match encoder {
            Encoder::None(w) => w,
            Encoder::Gzip(w) => w.finish()?,
            Encoder::Zstd(w) => w.finish()?,
        };
        let (buffered, size, sha256) = sink.finish()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        Ok((
            file,
            PayloadSummary {
                sha256,
                archive_sha256,
                size,
            },
        ))
    }
}

/// Reads until `buf` is full or the end; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
