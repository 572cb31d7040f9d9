//! A resource list serialised once and served until the next write: the
//! release list is read far more often than it changes. Only on SQLite,
//! where this process is the only writer (the lock file beside the database
//! says so); on PostgreSQL another fuel-api process may write, so the list
//! is read from the database every time (see ARCHITECTURE.md, "Several
//! fuel-api processes").

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use axum::body::Bytes;

pub struct ListCache {
    /// False: nothing is kept, every read goes to the database.
    enabled: bool,
    /// Bumped by every write; a list read before a write is never stored after it.
    generation: AtomicU64,
    cached: RwLock<Option<(u64, Bytes)>>,
}

impl ListCache {
    pub fn new(enabled: bool) -> ListCache {
        ListCache {
            enabled,
            generation: AtomicU64::new(0),
            cached: RwLock::new(None),
        }
    }

    /// The generation to pass to [`ListCache::store`]: take it before reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self) -> Option<Bytes> {
        let current = self.generation();
        match &*self.cached.read().unwrap() {
            Some((generation, body)) if *generation == current => Some(body.clone()),
            _ => None,
        }
    }

    /// Keeps `body` unless a write happened since `generation` was taken.
    pub fn store(&self, generation: u64, body: Bytes) {
        if !self.enabled {
            return;
        }
        let mut cached = self.cached.write().unwrap();
        if self.generation() == generation {
            *cached = Some((generation, body));
        }
    }

    /// Call after every committed write to the resource.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Hold across a write: the cache is invalidated when it is dropped,
    /// also when the request is cancelled (its client went away) after the
    /// write committed but before the handler went on.
    pub fn writing(&self) -> Invalidation<'_> {
        Invalidation(self)
    }
}

/// Invalidates its cache when dropped (see [`ListCache::writing`]).
pub struct Invalidation<'a>(&'a ListCache);

impl Drop for Invalidation<'_> {
    fn drop(&mut self) {
        self.0.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_guard_dropped_by_a_cancelled_handler_invalidates_the_list() {
        let cache = ListCache::new(true);
        cache.store(cache.generation(), Bytes::from_static(b"[]"));
        assert!(cache.get().is_some());
        // A handler dropped at an await after its insert committed (the
        // client went away) drops its guard with it.
        let guard = cache.writing();
        drop(guard);
        assert!(cache.get().is_none(), "a stale list would still be served");
    }

    #[test]
    fn a_disabled_cache_never_serves_a_list() {
        let cache = ListCache::new(false);
        cache.store(cache.generation(), Bytes::from_static(b"[]"));
        assert!(cache.get().is_none());
    }
}
