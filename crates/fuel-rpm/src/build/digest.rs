//! sha256 on its own thread. A package build hashes every byte three or four
//! times (each file, the cpio archive, the compressed payload, the finished
//! rpm); on one thread that, not compression, is what bounds the wall time.
//! Chunks are shared (`Arc`), not copied, and the queue is bounded, so memory
//! stays flat.

use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

/// A piece of data on its way to a hasher and a writer.
pub(super) type Chunk = Arc<Vec<u8>>;

/// Chunks in flight per hasher (each at most a read buffer, 1 MiB).
const QUEUE: usize = 4;

enum Message {
    Data(Chunk),
    /// Ends the current digest and starts the next.
    Cut,
}

/// A running sha256 on another thread.
pub(super) struct HashThread {
    sender: Option<SyncSender<Message>>,
    digests: Receiver<(String, u64)>,
    handle: Option<JoinHandle<()>>,
}

fn gone() -> io::Error {
    io::Error::other("the hashing thread stopped")
}

impl HashThread {
    pub fn spawn() -> HashThread {
        let (sender, messages) = sync_channel::<Message>(QUEUE);
        let (results, digests) = channel();
        let handle = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            let mut len = 0u64;
            for message in messages {
                match message {
                    Message::Data(chunk) => {
                        hasher.update(chunk.as_slice());
                        len += chunk.len() as u64;
                    }
                    Message::Cut => {
                        let digest = fuel_atomic::hex(&hasher.finalize_reset());
                        if results.send((digest, std::mem::take(&mut len))).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        HashThread {
            sender: Some(sender),
            digests,
            handle: Some(handle),
        }
    }

    fn send(&self, message: Message) -> io::Result<()> {
        self.sender
            .as_ref()
            .ok_or_else(gone)?
            .send(message)
            .map_err(|_| gone())
    }

    pub fn update(&self, chunk: Chunk) -> io::Result<()> {
        self.send(Message::Data(chunk))
    }

    pub fn update_from(&self, bytes: &[u8]) -> io::Result<()> {
        self.update(Arc::new(bytes.to_vec()))
    }

    /// Ends the current digest; [`HashThread::next_digest`] returns it.
    pub fn cut(&self) -> io::Result<()> {
        self.send(Message::Cut)
    }

    /// The oldest digest not yet taken, with the length it covers (waits for it).
    pub fn next_digest(&self) -> io::Result<(String, u64)> {
        self.digests.recv().map_err(|_| gone())
    }
}

impl Drop for HashThread {
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// A writer that also feeds everything it writes to a [`HashThread`].
pub(super) struct HashTee<W> {
    inner: W,
    hasher: HashThread,
}

impl<W: Write> HashTee<W> {
    pub fn new(inner: W) -> Self {
        HashTee {
            inner,
            hasher: HashThread::spawn(),
        }
    }

    /// Writes a shared chunk without copying it for the hasher.
    pub fn write_chunk(&mut self, chunk: &Chunk) -> io::Result<()> {
        self.hasher.update(Arc::clone(chunk))?;
        self.inner.write_all(chunk)
    }

    /// The inner writer, the byte count and the sha256 of all that was written.
    pub fn finish(self) -> io::Result<(W, u64, String)> {
        self.hasher.cut()?;
        let (digest, len) = self.hasher.next_digest()?;
        Ok((self.inner, len, digest))
    }
}

impl<W: Write> Write for HashTee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update_from(&buf[..n])?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
