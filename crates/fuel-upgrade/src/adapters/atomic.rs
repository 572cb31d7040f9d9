//! Crash-safe file replacement: a reader (or a resumed run) sees either the
//! old content or the new one, never a torn file. The workspace's one
//! definition is [`fuel_atomic`]; this module names what the upgrade uses.

#[cfg(test)]
pub use fuel_atomic::AtomicFile;
pub use fuel_atomic::{leftover_temporaries, remove, rename, symlink, write_file};
