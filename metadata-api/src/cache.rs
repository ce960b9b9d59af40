//! The per-worker cache of looked-up instances (`metadata-<ip>`,
//! `metadata-<uuid>`), kept `[api] metadata_cache_expiration` seconds.
//!
//! Why a per-worker memory cache is correct across workers: every entry is
//! filled from the shared store (SQLite or PostgreSQL, which all workers and
//! the compute API write to) and is dropped once it is older than the
//! expiration, whatever worker holds it. A change made through the compute
//! API is committed to the store before the API answers, so any worker that
//! caches the instance afterwards sees it, and one that cached it before
//! serves the old snapshot for at most the expiration. Misses are not
//! cached: a new instance is served at once.
//!
//! An address is not an identity: it outlives its instance. An entry kept
//! under an address is served only after one indexed lookup says the same
//! instance still holds that address (else it is dropped and looked up
//! afresh), and the compute domain keeps a freed address out of circulation
//! for longer than the expiration (`[simulator] fixed_ip_reuse_delay`), so
//! a guest never reads its predecessor's data.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries beyond which expired ones are swept on insert, bounding memory
/// when many distinct callers come and go.
const SWEEP_THRESHOLD: usize = 4096;

/// A map whose entries expire a fixed time after insertion.
#[derive(Debug)]
pub struct ExpiringCache<K, V> {
    ttl: Duration,
    entries: Mutex<HashMap<K, (Instant, Arc<V>)>>,
}

impl<K: Eq + Hash + Clone, V> ExpiringCache<K, V> {
    /// A cache whose entries live `ttl`; a zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        ExpiringCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The live entry for `key`, if any.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some((at, value)) if at.elapsed() < self.ttl => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Drops the entry for `key`, if any.
    pub fn remove(&self, key: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }

    /// Stores `value` under `key` from now on (nothing when disabled).
    pub fn insert(&self, key: K, value: Arc<V>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= SWEEP_THRESHOLD {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = ExpiringCache::new(Duration::from_millis(50));
        cache.insert("k", Arc::new(1));
        assert_eq!(cache.get(&"k").as_deref(), Some(&1));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(cache.get(&"k"), None);
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let cache = ExpiringCache::new(Duration::ZERO);
        cache.insert("k", Arc::new(1));
        assert_eq!(cache.get(&"k"), None);
    }
}
