//! A bounded read cache in front of the store, for the keys every transaction reads
//! again: account state and each account's newest history entry.
//!
//! Why: at thousands of transactions a second, executing a block, admitting a
//! transaction and re-checking senders after a commit all read the same few accounts
//! from sled, whose tree descent (page table, binary search over keys, LRU
//! bookkeeping) cost a validator about a sixth of its CPU. A hash lookup costs a
//! fraction of that.
//!
//! # Never stale
//!
//! The cache holds, for a key, what the store held for it at some commit (`None`
//! included: a missing account is read as often as a present one). A commit writes
//! the store, then [`StateCache::committed`] bumps the epoch and overwrites every key
//! it wrote. A reader that missed notes the epoch before it reads the store and keeps
//! what it read only if the epoch has not moved by the time it holds the shard's lock:
//!
//! - a read that began before a commit's store write saw the old value; the commit
//!   bumps the epoch after that write, so the reader either finds the epoch moved and
//!   keeps nothing, or (if it got the lock before the bump) inserts the old value,
//!   which the commit then overwrites, because it takes the same lock after the bump;
//! - a read that began after the bump saw the new value.
//!
//! Keys the commit did not write did not change, so any value kept for them is right.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::chain::lock;

/// Bytes of keys and values the cache holds at most (plus [`ENTRY_OVERHEAD_BYTES`]
/// each): the state of a few hundred thousand accounts.
pub const STATE_CACHE_BYTES_MAX: usize = 32 << 20;
/// Shards, each with its own lock and its share of the byte bound.
const SHARDS: usize = 16;
/// What a map entry costs beyond its key and value bytes (two vectors, hash slot).
const ENTRY_OVERHEAD_BYTES: usize = 64;

#[derive(Default)]
struct Shard {
    map: HashMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
}

impl Shard {
    fn put(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        let cost = entry_bytes(key, value.as_deref());
        if self.bytes + cost > STATE_CACHE_BYTES_MAX / SHARDS {
            // Emptying a full shard bounds it without bookkeeping; hot keys return at once.
            self.map.clear();
            self.bytes = 0;
        }
        match self.map.insert(key.to_vec(), value) {
            Some(old) => {
                self.bytes = self.bytes - entry_bytes(key, old.as_deref()) + cost;
            }
            None => self.bytes += cost,
        }
    }
}

fn entry_bytes(key: &[u8], value: Option<&[u8]>) -> usize {
    key.len() + value.map_or(0, <[u8]>::len) + ENTRY_OVERHEAD_BYTES
}

/// The cache (see the module doc).
pub struct StateCache {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    epoch: AtomicU64,
}

impl Default for StateCache {
    fn default() -> Self {
        StateCache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            epoch: AtomicU64::new(0),
        }
    }
}

impl StateCache {
    fn shard(&self, key: &[u8]) -> &Mutex<Shard> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[index]
    }

    /// The value of `key`: from the cache, or from `load` (the store), kept if no
    /// commit ran meanwhile.
    pub fn get<E>(
        &self,
        key: &[u8],
        load: impl FnOnce() -> Result<Option<Vec<u8>>, E>,
    ) -> Result<Option<Vec<u8>>, E> {
        let shard = self.shard(key);
        if let Some(value) = lock(shard).map.get(key) {
            return Ok(value.clone());
        }
        let epoch = self.epoch.load(Ordering::Acquire);
        let value = load()?;
        let mut shard = lock(shard);
        if self.epoch.load(Ordering::Acquire) == epoch && !shard.map.contains_key(key) {
            shard.put(key, value.clone());
        }
        Ok(value)
    }

    /// After a commit's store write: the values it wrote, for the keys this cache holds.
    pub fn committed<'a>(&self, writes: impl IntoIterator<Item = (&'a [u8], Option<&'a [u8]>)>) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for (key, value) in writes {
            lock(self.shard(key)).put(key, value.map(<[u8]>::to_vec));
        }
    }

    /// Bytes held (keys, values and overhead).
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| lock(s).bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(value: Option<&[u8]>) -> impl FnOnce() -> Result<Option<Vec<u8>>, ()> + '_ {
        move || Ok(value.map(<[u8]>::to_vec))
    }

    #[test]
    fn serves_what_it_loaded_and_what_commits_wrote() {
        let cache = StateCache::default();
        assert_eq!(cache.get(b"a", load(Some(b"1"))), Ok(Some(b"1".to_vec())));
        // Cached: the loader is not asked again.
        assert_eq!(cache.get(b"a", load(Some(b"x"))), Ok(Some(b"1".to_vec())));
        assert_eq!(cache.get(b"gone", load(None)), Ok(None));
        assert_eq!(cache.get(b"gone", load(Some(b"x"))), Ok(None));
        cache.committed([
            (&b"a"[..], Some(&b"2"[..])),
            (&b"gone"[..], Some(&b"3"[..])),
        ]);
        assert_eq!(cache.get(b"a", load(None)), Ok(Some(b"2".to_vec())));
        assert_eq!(cache.get(b"gone", load(None)), Ok(Some(b"3".to_vec())));
        cache.committed([(&b"a"[..], None)]);
        assert_eq!(cache.get(b"a", load(Some(b"x"))), Ok(None));
    }

    #[test]
    fn a_read_that_straddles_a_commit_keeps_nothing() {
        let cache = StateCache::default();
        // The loader saw the store before the commit; the commit lands meanwhile.
        let value = cache.get(b"k", || {
            cache.committed([(&b"other"[..], Some(&b"v"[..]))]);
            Ok::<_, ()>(Some(b"old".to_vec()))
        });
        assert_eq!(value, Ok(Some(b"old".to_vec())));
        assert_eq!(
            cache.get(b"k", load(Some(b"new"))),
            Ok(Some(b"new".to_vec()))
        );
    }

    #[test]
    fn errors_are_not_kept() {
        let cache = StateCache::default();
        assert_eq!(
            cache.get(b"k", || Err::<Option<Vec<u8>>, _>("disk")),
            Err("disk")
        );
        assert_eq!(cache.get(b"k", load(Some(b"v"))), Ok(Some(b"v".to_vec())));
    }

    #[test]
    fn stays_within_its_byte_bound() {
        let cache = StateCache::default();
        let value = vec![7u8; 1_000];
        for i in 0u32..100_000 {
            let key = i.to_be_bytes();
            let got = cache.get(&key, || Ok::<_, ()>(Some(value.clone())));
            assert_eq!(got, Ok(Some(value.clone())));
        }
        assert!(cache.bytes() <= STATE_CACHE_BYTES_MAX, "{}", cache.bytes());
        assert!(cache.bytes() > 0);
    }
}
