//! Durable storage behind the [`Store`] trait: state, blocks with certificates,
//! receipts, the transaction index, the chain head, and the signer's last-signed record.
//!
//! [`SledStore`] keeps everything in one sled tree under one-byte prefixes so that a
//! block's writes go in as one atomic batch, then `flush` makes them durable. A block
//! is reported final only after that flush returns. [`MemStore`] is the in-memory twin
//! for the simulator and unit tests.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::RwLock;

use jeon_runtime::block::CommittedBlock;
use jeon_runtime::codec;
use jeon_runtime::state::{prefix_end, ChangeSet, Entries, StateError, StateRead, StateScan};
use jeon_runtime::{Hash, Height, Receipt};
use serde::{Deserialize, Serialize};

/// Key prefixes inside the one tree.
mod prefix {
    /// Runtime state entries: `S || state key`.
    pub(super) const STATE: u8 = b'S';
    /// `B || height (u64 BE)` -> CommittedBlock.
    pub(super) const BLOCK: u8 = b'B';
    /// `R || height (u64 BE)` -> Vec<Receipt>.
    pub(super) const RECEIPTS: u8 = b'R';
    /// `T || tx hash` -> TxLocation.
    pub(super) const TX: u8 = b'T';
}

// Metadata keys start with `M`.
const META_HEAD: &[u8] = b"Mhead";
const META_GENESIS: &[u8] = b"Mgenesis";
const META_SIGNER: &[u8] = b"Msigner";
const META_LOCKED_BLOCK: &[u8] = b"Mlocked";
/// Stored records we read back are ours, but a bound still guards against corruption.
const RECORD_BYTES_MAX: usize = 256 << 20;

/// Why the store failed. Disk errors are not recoverable by retrying a block.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error.
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A stored record did not decode: the database is corrupt or from another version.
    #[error("corrupt record under {}: {reason}", hex::encode(key))]
    Corrupt {
        /// The key.
        key: Vec<u8>,
        /// Why it does not decode.
        reason: jeon_runtime::codec::CodecError,
    },
    /// The stored head stayed ahead of the reported one for too long: a commit wrote a
    /// block but did not report it ([`crate::chain::Chain::read_at_head`]).
    #[error("block {stored} is written but the reported head is still {reported}")]
    HeadUnsettled {
        /// The stored head's height.
        stored: Height,
        /// The reported head's height.
        reported: Height,
    },
    /// The database has no chain head: genesis was never written to it.
    #[error("no chain head: genesis was never written")]
    NoHead,
    /// Reading or executing over the stored state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The database belongs to another chain.
    #[error("data directory holds chain {found}, but the genesis is chain {expected}")]
    WrongChain {
        /// The genesis hash we were started with.
        expected: Hash,
        /// The one stored.
        found: Hash,
    },
}

/// The last final block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    /// Its height (0 = only genesis).
    pub height: Height,
    /// Its hash ([`Hash::ZERO`] at genesis).
    pub block_hash: Hash,
    /// App hash of the state after it.
    pub app_hash: Hash,
    /// Its time (the genesis time at height 0).
    pub time_ms: u64,
}

/// Where a transaction landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
}

/// What the signer guard last signed: (height, round, step) and the block, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRecord {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// 0 = proposal, 1 = prevote, 2 = precommit.
    pub step: u8,
    /// The block signed for; `None` for a nil vote.
    pub block: Option<Hash>,
    /// The last (round, block) precommitted at this height: the consensus lock, kept
    /// here so a restart restores it (it is written with every signature anyway).
    pub lock: Option<(u32, Hash)>,
}

/// Writes of one atomic batch: key -> new value, `None` deleting.
pub type Writes = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// The storage engine: ordered keys, atomic durable batches. Keep sled behind it.
pub trait Store: Send + Sync {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entries whose key starts with `prefix`, in key order, at most `limit`.
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError>;
    /// Applies all writes atomically (`None` deletes) and returns only once they are
    /// durable: after a crash either all of them are there or none.
    fn write_batch(&self, writes: Writes) -> Result<(), StoreError>;
    /// Entries whose key starts with `prefix` and sorts before `before` (if given), in
    /// descending key order, at most `limit`: newest-first pages of an index.
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError>;
}

/// The key range `[prefix, before)` (or to the end of the prefix).
fn rev_range(prefix: &[u8], before: Option<&[u8]>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let upper = match before {
        Some(b) => Bound::Excluded(b.to_vec()),
        None => match prefix_end(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        },
    };
    (Bound::Included(prefix.to_vec()), upper)
}

/// sled's page cache. Its default is 1 GiB, which alone would exceed the node's memory
/// budget; state reads are mostly recent accounts, which fit in far less.
pub const SLED_CACHE_BYTES: u64 = 256 << 20;

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        (**self).scan_prefix(prefix, limit)
    }
    fn write_batch(&self, writes: Writes) -> Result<(), StoreError> {
        (**self).write_batch(writes)
    }
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        (**self).scan_prefix_rev(prefix, before, limit)
    }
}

/// The sled-backed store.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(SLED_CACHE_BYTES)
            .open()?;
        let tree = db.open_tree("jeon")?;
        Ok(SledStore { db, tree })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(prefix).take(limit) {
            let (k, v) = item?;
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }

    fn write_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, v) in writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        // apply_batch is atomic; flush makes it durable. Nothing is final before both.
        self.tree.apply_batch(batch)?;
        crate::crash::crash_point("store.before_flush");
        self.db.flush()?;
        Ok(())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let mut out = Vec::new();
        for item in self.tree.range(rev_range(prefix, before)).rev() {
            let (k, v) = item?;
            if out.len() >= limit || !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

/// The in-memory store: same semantics, no durability (simulator and unit tests).
#[derive(Default)]
pub struct MemStore {
    map: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        // A poisoned lock means a writer panicked mid-update, which the batch loop
        // cannot do; the map is still consistent, so keep serving it.
        Ok(self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        for (k, v) in writes {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .range::<Vec<u8>, _>(rev_range(prefix, before))
            .rev()
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// The chain's records over a [`Store`]: what the node reads and writes, typed.
pub struct ChainDb<S: Store> {
    store: S,
}

impl<S: Store> ChainDb<S> {
    /// Wraps a store.
    pub fn new(store: S) -> Self {
        ChainDb { store }
    }

    fn record<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.store.get(key)? {
            None => Ok(None),
            Some(v) => decode_record(key, &v).map(Some),
        }
    }

    /// Writes the genesis state, or checks that the stored chain is this genesis and
    /// returns its head.
    pub fn init_genesis(
        &self,
        genesis_hash: Hash,
        changes: &ChangeSet,
        app_hash: Hash,
        time_ms: u64,
    ) -> Result<ChainHead, StoreError> {
        if let Some(found) = self.record::<Hash>(META_GENESIS)? {
            if found != genesis_hash {
                return Err(StoreError::WrongChain {
                    expected: genesis_hash,
                    found,
                });
            }
            return self.head();
        }
        let head = ChainHead {
            height: 0,
            block_hash: Hash::ZERO,
            app_hash,
            time_ms,
        };
        let appended = changes.appended.iter().map(|(k, v)| (k, Some(v.clone())));
        let mut writes: Vec<_> = changes
            .entries
            .iter()
            .map(|(k, v)| (k, v.clone()))
            .chain(appended)
            .map(|(k, v)| (with_prefix(prefix::STATE, k), v))
            .collect();
        writes.push((META_HEAD.to_vec(), Some(codec::encode(&head))));
        writes.push((META_GENESIS.to_vec(), Some(codec::encode(&genesis_hash))));
        self.store.write_batch(writes)?;
        Ok(head)
    }

    /// The last final block.
    pub fn head(&self) -> Result<ChainHead, StoreError> {
        self.record(META_HEAD)?.ok_or(StoreError::NoHead)
    }

    /// Atomically writes a final block, its receipts, its state writes and the new
    /// head, and returns only once they are durable.
    pub fn commit_block(
        &self,
        committed: &CommittedBlock,
        receipts: &[Receipt],
        changes: &ChangeSet,
        app_hash: Hash,
    ) -> Result<ChainHead, StoreError> {
        let h = &committed.block.header;
        let head = ChainHead {
            height: h.height,
            block_hash: h.hash(),
            app_hash,
            time_ms: h.time_ms,
        };
        self.store
            .write_batch(block_writes(committed, receipts, changes, &head))?;
        Ok(head)
    }

    /// A final block with its certificate.
    pub fn block(&self, height: Height) -> Result<Option<CommittedBlock>, StoreError> {
        self.record(&height_key(prefix::BLOCK, height))
    }

    /// A final block's receipts.
    pub fn receipts(&self, height: Height) -> Result<Option<Vec<Receipt>>, StoreError> {
        self.record(&height_key(prefix::RECEIPTS, height))
    }

    /// Where a final transaction is.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        self.record(&with_prefix(prefix::TX, &hash.0))
    }

    /// The signer guard's record.
    pub fn last_signed(&self) -> Result<Option<SignedRecord>, StoreError> {
        self.record(META_SIGNER)
    }

    /// Persists the signer guard's record durably before returning.
    pub fn set_last_signed(&self, record: &SignedRecord) -> Result<(), StoreError> {
        self.set_last_signed_locking(record, None)
    }

    /// Persists the signer record and, with a precommit for a block, the lock's proof
    /// (the block and its polka, encoded by the replica): so after a restart the
    /// validator can still re-propose what it is locked on (a lone validator could not
    /// finish the height otherwise). One atomic batch.
    pub fn set_last_signed_locking(
        &self,
        record: &SignedRecord,
        locked: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let mut writes = vec![(META_SIGNER.to_vec(), Some(codec::encode(record)))];
        if let Some(proof) = locked {
            writes.push((META_LOCKED_BLOCK.to_vec(), Some(proof)));
        }
        self.store.write_batch(writes)
    }

    /// The lock's proof last persisted, as the replica encoded it.
    pub fn locked_proof(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(META_LOCKED_BLOCK)
    }
}

impl<S: Store> StateRead for ChainDb<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.store
            .get(&with_prefix(prefix::STATE, key))
            .map_err(|e| StateError::Backend(e.to_string()))
    }
}

impl<S: Store> StateScan for ChainDb<S> {
    fn scan_prefix(&self, p: &[u8], limit: usize) -> Result<Entries, StateError> {
        let entries = self
            .store
            .scan_prefix(&with_prefix(prefix::STATE, p), limit)
            .map_err(|e| StateError::Backend(e.to_string()))?;
        Ok(entries
            .into_iter()
            .map(|(k, v)| (k[1..].to_vec(), v))
            .collect())
    }

    fn scan_prefix_rev(
        &self,
        p: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        let prefix = with_prefix(prefix::STATE, p);
        let before = before.map(|b| with_prefix(prefix::STATE, b));
        let entries = self
            .store
            .scan_prefix_rev(&prefix, before.as_deref(), limit)
            .map_err(|e| StateError::Backend(e.to_string()))?;
        Ok(entries
            .into_iter()
            .map(|(k, v)| (k[1..].to_vec(), v))
            .collect())
    }
}

fn decode_record<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    codec::decode(bytes, RECORD_BYTES_MAX).map_err(|reason| StoreError::Corrupt {
        key: key.to_vec(),
        reason,
    })
}

fn with_prefix(p: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(p);
    k.extend_from_slice(rest);
    k
}

fn height_key(p: u8, h: Height) -> Vec<u8> {
    with_prefix(p, &h.to_be_bytes())
}

/// The writes of one final block.
fn block_writes(
    committed: &CommittedBlock,
    receipts: &[Receipt],
    changes: &ChangeSet,
    head: &ChainHead,
) -> Writes {
    let height = committed.block.header.height;
    let mut out = Vec::with_capacity(changes.entries.len() + committed.block.txs.len() + 3);
    for (k, v) in &changes.entries {
        out.push((with_prefix(prefix::STATE, k), v.clone()));
    }
    for (k, v) in &changes.appended {
        out.push((with_prefix(prefix::STATE, k), Some(v.clone())));
    }
    // Receipts carry the transaction hashes, in block order: no need to rehash.
    for (i, receipt) in receipts.iter().enumerate() {
        // The block limits keep a block far below u32::MAX transactions.
        let loc = TxLocation {
            height,
            index: i as u32,
        };
        out.push((
            with_prefix(prefix::TX, &receipt.tx.0),
            Some(codec::encode(&loc)),
        ));
    }
    out.push((
        height_key(prefix::BLOCK, height),
        Some(codec::encode(committed)),
    ));
    out.push((
        height_key(prefix::RECEIPTS, height),
        Some(codec::encode(receipts)),
    ));
    out.push((META_HEAD.to_vec(), Some(codec::encode(head))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(store: &dyn Store) {
        let mut writes: Writes = (0u8..5).map(|i| (vec![b'a', i], Some(vec![i]))).collect();
        writes.push((vec![b'b', 0], Some(vec![9])));
        writes.push((vec![0xff], Some(vec![8])));
        store.write_batch(writes).expect("write");
    }

    fn keys(entries: &Entries) -> Vec<Vec<u8>> {
        entries.iter().map(|(k, _)| k.clone()).collect()
    }

    fn reverse_scans_page_newest_first_within_the_prefix(store: &dyn Store) {
        filled(store);
        let page = store.scan_prefix_rev(b"a", None, 2).expect("scan");
        assert_eq!(keys(&page), vec![vec![b'a', 4], vec![b'a', 3]]);
        let next = store
            .scan_prefix_rev(b"a", Some(&[b'a', 3]), 10)
            .expect("scan");
        assert_eq!(
            keys(&next),
            vec![vec![b'a', 2], vec![b'a', 1], vec![b'a', 0]]
        );
        assert_eq!(
            keys(&store.scan_prefix_rev(&[0xff], None, 10).expect("scan")),
            vec![vec![0xff]]
        );
        assert!(store
            .scan_prefix_rev(b"c", None, 10)
            .expect("scan")
            .is_empty());
    }

    #[test]
    fn sled_and_memory_stores_scan_in_reverse_alike() {
        reverse_scans_page_newest_first_within_the_prefix(&MemStore::new());
        let dir = tempfile::tempdir().expect("tempdir");
        reverse_scans_page_newest_first_within_the_prefix(
            &SledStore::open(dir.path()).expect("open"),
        );
    }
}
