//! Serialised package-inventory answers (`GET …/package_inventory`), kept
//! per environment and query variant and served only while the database
//! says nothing they were built from has changed: the environment's
//! [`InventoryStamp`] (a change counter bumped by triggers in the
//! transaction of every write the answer depends on, and the head revision
//! of its package document) is read with one primary-key query per request
//! and compared with the one the answer was built at. The stamp lives in
//! the database, so a write by any fuel-api process on the same PostgreSQL
//! database invalidates every process's copy: nothing stale is ever served.
//!
//! After a write, requests for the same answer take turns building it (a
//! few striped locks): the first builds, the others find it kept.
//!
//! Memory is bounded by `inventory_cache_bytes` (configuration): bodies plus
//! a fixed overhead per entry; the least recently used entries go first,
//! an answer larger than the whole bound is not kept, and 0 keeps nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

use crate::store::InventoryStamp;

/// What one entry costs beyond its body: the key, the map's slot, the
/// stamp. An estimate, so that many tiny `?package=` answers count too.
const ENTRY_OVERHEAD: usize = 128;

/// One query variant of one environment's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InventoryKey {
    pub cluster_id: i64,
    pub drift: bool,
    pub package: Option<String>,
}

impl InventoryKey {
    fn cost(&self, body: &Bytes) -> usize {
        ENTRY_OVERHEAD + self.package.as_ref().map_or(0, String::len) + body.len()
    }
}

struct Entry {
    stamp: InventoryStamp,
    body: Bytes,
    /// The cache's clock when it was last served or stored.
    used: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<InventoryKey, Entry>,
    bytes: usize,
    clock: u64,
}

impl Entries {
    fn remove(&mut self, key: &InventoryKey) {
        if let Some(entry) = self.map.remove(key) {
            self.bytes -= key.cost(&entry.body);
        }
    }
}

/// Locks that builders of one key take turns on; keys share one at random
/// (a fixed number, so nothing is left to clean up).
const BUILD_TURNS: usize = 16;

pub struct InventoryCache {
    limit: usize,
    entries: Mutex<Entries>,
    turns: [tokio::sync::Mutex<()>; BUILD_TURNS],
}

impl InventoryCache {
    /// Keeps at most `limit` bytes of answers (0: none).
    pub fn new(limit: usize) -> InventoryCache {
        InventoryCache {
            limit,
            entries: Mutex::new(Entries::default()),
            turns: std::array::from_fn(|_| tokio::sync::Mutex::new(())),
        }
    }

    /// Held while building `key`'s answer: a request arriving meanwhile
    /// waits, then finds the answer kept instead of building it again.
    pub async fn build_turn(&self, key: &InventoryKey) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        // Fixed keys: the same key always takes the same lock.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        self.turns[hasher.finish() as usize % BUILD_TURNS]
            .lock()
            .await
    }

    /// The answer for `key` built at exactly `stamp`; an entry built at any
    /// other stamp is dropped (it can never be served again: stamps only grow).
    pub fn get(&self, key: &InventoryKey, stamp: InventoryStamp) -> Option<Bytes> {
        let mut entries = self.entries.lock().unwrap();
        entries.clock += 1;
        let clock = entries.clock;
        match entries.map.get_mut(key) {
            Some(entry) if entry.stamp == stamp => {
                entry.used = clock;
                Some(entry.body.clone())
            }
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `body`, built from the database as it was at `stamp`, evicting
    /// the least recently used entries beyond the bound.
    pub fn put(&self, key: InventoryKey, stamp: InventoryStamp, body: Bytes) {
        let cost = key.cost(&body);
        if cost > self.limit {
            return;
        }
        let mut entries = self.entries.lock().unwrap();
        // A slower request built from an older stamp must not replace a newer answer.
        if let Some(kept) = entries.map.get(&key) {
            if kept.stamp.changes > stamp.changes
                || kept.stamp.document_revision > stamp.document_revision
            {
                return;
            }
        }
        entries.remove(&key);
        // A linear scan per eviction: the bound holds few multi-megabyte
        // answers, and evictions happen only when a new answer is built.
        while entries.bytes + cost > self.limit {
            let oldest = entries
                .map
                .iter()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(key, _)| key.clone())
                .expect("bytes are counted only for kept entries");
            entries.remove(&oldest);
        }
        entries.clock += 1;
        let used = entries.clock;
        entries.bytes += cost;
        entries.map.insert(key, Entry { stamp, body, used });
    }

    /// Bytes held now (bodies and per-entry overhead).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.entries.lock().unwrap().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cluster_id: i64, drift: bool) -> InventoryKey {
        InventoryKey {
            cluster_id,
            drift,
            package: None,
        }
    }

    fn stamp(changes: i64) -> InventoryStamp {
        InventoryStamp {
            changes,
            document_revision: None,
        }
    }

    fn body(len: usize) -> Bytes {
        Bytes::from(vec![b'x'; len])
    }

    #[test]
    fn an_answer_is_served_only_at_the_stamp_it_was_built_at() {
        let cache = InventoryCache::new(1 << 20);
        cache.put(key(1, false), stamp(5), body(10));
        assert_eq!(cache.get(&key(1, false), stamp(5)).unwrap().len(), 10);
        assert!(
            cache.get(&key(1, true), stamp(5)).is_none(),
            "another variant"
        );
        assert!(
            cache.get(&key(2, false), stamp(5)).is_none(),
            "another environment"
        );
        let newer_document = InventoryStamp {
            changes: 5,
            document_revision: Some(2),
        };
        assert!(cache.get(&key(1, false), newer_document).is_none());
        // The stale entry is gone, not kept beside the new stamp.
        assert!(cache.get(&key(1, false), stamp(5)).is_none());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn an_answer_built_from_an_older_stamp_does_not_replace_a_newer_one() {
        let cache = InventoryCache::new(1 << 20);
        cache.put(key(1, false), stamp(7), body(1));
        cache.put(key(1, false), stamp(6), body(2));
        assert_eq!(cache.get(&key(1, false), stamp(7)).unwrap().len(), 1);
    }

    #[test]
    fn the_least_recently_used_answers_go_when_the_byte_bound_is_reached() {
        let entry = ENTRY_OVERHEAD + 1000;
        let cache = InventoryCache::new(3 * entry);
        for cluster in 1..=3 {
            cache.put(key(cluster, false), stamp(1), body(1000));
        }
        // Environment 1 is read again: 2 is now the least recently used.
        assert!(cache.get(&key(1, false), stamp(1)).is_some());
        cache.put(key(4, false), stamp(1), body(1000));
        assert!(cache.bytes() <= 3 * entry);
        assert!(cache.get(&key(2, false), stamp(1)).is_none());
        for cluster in [1, 3, 4] {
            assert!(cache.get(&key(cluster, false), stamp(1)).is_some());
        }
        // An answer larger than the whole bound is not kept, nor evicts anything.
        cache.put(key(5, false), stamp(1), body(3 * entry));
        assert!(cache.get(&key(5, false), stamp(1)).is_none());
        assert_eq!(cache.bytes(), 3 * entry);
    }

    #[tokio::test]
    async fn a_second_builder_of_the_same_answer_waits_for_the_first() {
        let cache = InventoryCache::new(1 << 20);
        let first = cache.build_turn(&key(1, true)).await;
        let wait = std::time::Duration::from_millis(100);
        let second = tokio::time::timeout(wait, cache.build_turn(&key(1, true))).await;
        assert!(second.is_err(), "the second builder did not wait");
        drop(first);
        let second = tokio::time::timeout(wait * 50, cache.build_turn(&key(1, true))).await;
        assert!(second.is_ok(), "the turn was not passed on");
    }

    #[test]
    fn a_bound_of_zero_keeps_nothing() {
        let cache = InventoryCache::new(0);
        cache.put(key(1, false), stamp(1), body(1));
        assert!(cache.get(&key(1, false), stamp(1)).is_none());
    }
}
