//! The payload in one streaming pass: every file is read once, straight into
//! a reusable piece of the cpio archive (newc, as rpm expects); the piece goes
//! to the hashing thread (the file's sha256, see [`digest`]) and to the
//! compressor, whose output is hashed (PAYLOADDIGEST) and written to the
//! output file from one buffer, its writeback to disk started as it goes.
//! Per payload byte: one read, one copy into zstd's job buffer, one sha256
//! update of the archive and one of the compressed bytes; one thread handoff
//! per 1 MiB piece. Memory stays bounded by the pieces in flight and the
//! compressor's buffers.
//!
//! [`digest`]: super::digest

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

use super::digest::{ArchiveHasher, Piece, Span, QUEUE};
use crate::package::{Compression, CompressionKind};

/// zstd multi-threaded jobs of a fixed size: with the size pinned (and at
/// least one worker), the compressed bytes do not depend on the core count.
const ZSTD_JOB_SIZE: u32 = 4 << 20;
/// One piece of the archive: one read, one handoff to the hasher.
const PIECE: usize = 1 << 20;
/// Compressed bytes are written to the file from a buffer this large.
const OUT_BUFFER: usize = 1 << 20;
/// After this many bytes written, the kernel is asked to start writing them
/// out: the final fsync then waits for the last few MiB, not the whole
/// payload (a sizeable part of a large build's time otherwise).
const WRITEBACK_EVERY: u64 = 8 << 20;
/// cpio "newc" header: magic + 13 eight-digit hex fields.
const CPIO_HEADER_LEN: usize = 110;
const CPIO_TRAILER: &str = "TRAILER!!!";

/// What the header needs to know about the finished payload.
#[derive(Debug, Clone)]
pub(super) struct PayloadSummary {
    /// sha256 of the compressed payload (RPMTAG_PAYLOADDIGEST).
    pub sha256: String,
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

/// The output file, hashing what it is given (on the caller's thread: the
/// compressed stream is the smallest of the three hashed).
struct Sink {
    file: File,
    hasher: Sha256,
    len: u64,
    /// Bytes written since writeback was last started.
    unflushed: u64,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        self.unflushed += n as u64;
        if self.unflushed >= WRITEBACK_EVERY {
            fuel_atomic::start_writeback(&self.file)?;
            self.unflushed = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Encoder {
    None(BufWriter<Sink>),
    Gzip(Box<flate2::write::GzEncoder<BufWriter<Sink>>>),
    /// zstd's streaming API driven directly: its output lands in `out` and
    /// goes to the file from there, with no intermediate writer.
    Zstd {
        encoder: zstd::stream::raw::Encoder<'static>,
        out: Vec<u8>,
        sink: Sink,
    },
}

impl Encoder {
    fn new(sink: Sink, compression: &Compression) -> io::Result<Encoder> {
        Ok(match compression.kind {
            CompressionKind::None => Encoder::None(BufWriter::with_capacity(OUT_BUFFER, sink)),
            CompressionKind::Gzip => Encoder::Gzip(Box::new(flate2::write::GzEncoder::new(
                BufWriter::with_capacity(OUT_BUFFER, sink),
                flate2::Compression::new(compression.level.clamp(0, 9) as u32),
            ))),
            CompressionKind::Zstd => {
                use zstd::stream::raw::CParameter;
                let mut encoder = zstd::stream::raw::Encoder::new(compression.level)?;
                let threads = match compression.threads {
                    0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                    n => n,
                };
                encoder.set_parameter(CParameter::NbWorkers(threads.max(1)))?;
                encoder.set_parameter(CParameter::JobSize(ZSTD_JOB_SIZE))?;
                Encoder::Zstd {
                    encoder,
                    out: vec![0; OUT_BUFFER],
                    sink,
                }
            }
        })
    }

    fn compress(&mut self, mut input: &[u8]) -> io::Result<()> {
        match self {
            Encoder::None(w) => w.write_all(input),
            Encoder::Gzip(w) => w.write_all(input),
            Encoder::Zstd { encoder, out, sink } => {
                while !input.is_empty() {
                    let mut source = InBuffer::around(input);
                    let mut target = OutBuffer::around(out.as_mut_slice());
                    encoder.run(&mut source, &mut target)?;
                    let (read, written) = (source.pos(), target.pos());
                    sink.write_all(&out[..written])?;
                    input = &input[read..];
                }
                Ok(())
            }
        }
    }

    fn finish(self) -> io::Result<Sink> {
        let buffered = match self {
            Encoder::None(w) => w,
            Encoder::Gzip(w) => (*w).finish()?,
            Encoder::Zstd {
                mut encoder,
                mut out,
                mut sink,
            } => loop {
                let mut target = OutBuffer::around(out.as_mut_slice());
                let remaining = encoder.finish(&mut target, true)?;
                let written = target.pos();
                sink.write_all(&out[..written])?;
                if remaining == 0 {
                    return Ok(sink);
                }
            },
        };
        buffered.into_inner().map_err(|e| e.into_error())
    }
}

/// cpio archive → hasher and compressor → file.
pub(super) struct PayloadWriter {
    encoder: Encoder,
    hasher: ArchiveHasher,
    piece: Piece,
    pieces: usize,
}

impl PayloadWriter {
    pub fn new(file: File, compression: &Compression) -> io::Result<PayloadWriter> {
        let sink = Sink {
            file,
            hasher: Sha256::new(),
            len: 0,
            unflushed: 0,
        };
        Ok(PayloadWriter {
            encoder: Encoder::new(sink, compression)?,
            hasher: ArchiveHasher::spawn(),
            piece: Piece::new(PIECE),
            pieces: 1,
        })
    }

    /// Writes one entry whose contents come from `contents` (exactly
    /// `entry.size` bytes, else an error: a source changed during the build).
    /// Every entry, the trailer included, gets a digest in
    /// [`PayloadWriter::finish`]'s list, in the order they were added.
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
        self.push(header.as_bytes())?;
        self.push(entry.name.as_bytes())?;
        self.push(&[0])?;
        self.pad(CPIO_HEADER_LEN + entry.name.len() + 1)?;

        let mut copied = 0u64;
        loop {
            if self.piece.fill == self.piece.bytes.len() {
                self.dispatch()?;
            }
            let start = self.piece.fill;
            let room = (self.piece.bytes.len() - start) as u64;
            let want = (entry.size - copied).min(room) as usize;
            let n = if want == 0 {
                0
            } else {
                read_full(&mut contents, &mut self.piece.bytes[start..start + want])?
            };
            copied += n as u64;
            self.piece.fill += n;
            let last = n < want || copied == entry.size;
            self.piece.spans.push(Span {
                range: start..start + n,
                last,
            });
            if last {
                break;
            }
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
        self.pad(entry.size as usize)
    }

    /// Appends archive bytes that are not file contents (headers, padding).
    fn push(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.piece.fill == self.piece.bytes.len() {
                self.dispatch()?;
            }
            let start = self.piece.fill;
            let n = bytes.len().min(self.piece.bytes.len() - start);
            self.piece.bytes[start..start + n].copy_from_slice(&bytes[..n]);
            self.piece.fill += n;
            bytes = &bytes[n..];
        }
        Ok(())
    }

    fn pad(&mut self, len: usize) -> io::Result<()> {
        let padding = (4 - len % 4) % 4;
        self.push(&[0; 3][..padding])
    }

    /// Hands the current piece to the hasher and the compressor, and starts
    /// the next one in a piece the hasher gave back (or a new one while
    /// fewer than the queue can hold exist).
    fn dispatch(&mut self) -> io::Result<()> {
        let next = match self.hasher.reuse(false) {
            Some(piece) => piece,
            None if self.pieces < QUEUE + 2 => {
                self.pieces += 1;
                Piece::new(PIECE)
            }
            None => self.hasher.reuse(true).unwrap_or_else(|| Piece::new(PIECE)),
        };
        let piece = std::mem::replace(&mut self.piece, next);
        self.piece.fill = 0;
        self.piece.spans.clear();
        let piece = Arc::new(piece);
        self.hasher.send(Arc::clone(&piece))?;
        self.encoder.compress(piece.archive())
    }

    /// Writes the trailer, flushes the compressor; returns the file, what the
    /// header needs about the payload and every entry's contents digest.
    pub fn finish(mut self) -> io::Result<(File, PayloadSummary, Vec<String>)> {
        let trailer = CpioEntry {
            name: CPIO_TRAILER,
            ino: 0,
            mode: 0,
            mtime: 0,
            size: 0,
        };
        self.add(&trailer, io::empty())?;
        self.dispatch()?;
        let digests = self.hasher.finish()?;
        let sink = self.encoder.finish()?;
        Ok((
            sink.file,
            PayloadSummary {
                sha256: fuel_atomic::hex(&sink.hasher.finalize()),
                size: sink.len,
            },
            digests.files,
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
