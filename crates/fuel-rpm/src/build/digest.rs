//! The files' digests (FILEDIGESTS) on one thread: the parts of each cpio
//! piece that hold file contents are hashed for their file. Pieces are
//! shared (`Arc`), never copied, travel through a bounded queue (memory stays
//! flat) and come back to the writer for reuse, so the steady state allocates
//! nothing and touches no fresh page.

use std::ops::Range;
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// A stretch of the cpio archive and where file contents lie in it.
pub(super) struct Piece {
    /// Always `bytes.len()` long (zeroed once): reads go straight into it.
    pub bytes: Vec<u8>,
    /// How much of `bytes` is archive.
    pub fill: usize,
    pub spans: Vec<Span>,
}

/// Part of one file's contents inside a [`Piece`].
pub(super) struct Span {
    pub range: Range<usize>,
    /// The file's last part: its digest is complete after it.
    pub last: bool,
}

impl Piece {
    pub fn new(capacity: usize) -> Piece {
        Piece {
            bytes: vec![0; capacity],
            fill: 0,
            spans: Vec::new(),
        }
    }

    pub fn archive(&self) -> &[u8] {
        &self.bytes[..self.fill]
    }
}

/// Pieces in flight to the hasher (each at most `Piece::new`'s capacity).
pub(super) const QUEUE: usize = 4;

/// What the hashing thread found: each file's digest in archive order.
pub(super) struct ArchiveDigests {
    pub files: Vec<String>,
}

pub(super) struct ArchiveHasher {
    pieces: Option<SyncSender<Arc<Piece>>>,
    returned: Receiver<Arc<Piece>>,
    handle: Option<JoinHandle<ArchiveDigests>>,
}

fn gone() -> std::io::Error {
    std::io::Error::other("the hashing thread stopped")
}

impl ArchiveHasher {
    pub fn spawn() -> ArchiveHasher {
        let (pieces, incoming) = sync_channel::<Arc<Piece>>(QUEUE);
        let (give_back, returned) = channel();
        let handle = std::thread::spawn(move || {
            let mut file = Sha256::new();
            let mut files = Vec::new();
            for piece in incoming {
                for span in &piece.spans {
                    file.update(&piece.bytes[span.range.clone()]);
                    if span.last {
                        files.push(fuel_atomic::hex(&file.finalize_reset()));
                    }
                }
                // The writer may have stopped (an error): nothing to reuse then.
                let _ = give_back.send(piece);
            }
            ArchiveDigests { files }
        });
        ArchiveHasher {
            pieces: Some(pieces),
            returned,
            handle: Some(handle),
        }
    }

    pub fn send(&self, piece: Arc<Piece>) -> std::io::Result<()> {
        self.pieces
            .as_ref()
            .ok_or_else(gone)?
            .send(piece)
            .map_err(|_| gone())
    }

    /// A piece the hasher is done with, if one is back (`wait`: blocks for one).
    pub fn reuse(&self, wait: bool) -> Option<Piece> {
        let piece = if wait {
            self.returned.recv().ok()?
        } else {
            self.returned.try_recv().ok()?
        };
        // The writer dropped its reference before sending.
        Arc::try_unwrap(piece).ok()
    }

    pub fn finish(mut self) -> std::io::Result<ArchiveDigests> {
        drop(self.pieces.take());
        self.handle
            .take()
            .ok_or_else(gone)?
            .join()
            .map_err(|_| gone())
    }
}

impl Drop for ArchiveHasher {
    fn drop(&mut self) {
        drop(self.pieces.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
