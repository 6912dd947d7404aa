//! Durable storage: state, indexes and the chain head behind the [`Store`] trait (sled), and block records (blocks with certificates,
//! receipts, history links) in the append-only segments of [`crate::segments`].
//!
//! [`SledStore`] keeps its part in one sled tree under one-byte prefixes; a block's
//! writes go in as one atomic batch (through a write-ahead record,
//! [`crate::sledwal`]), then `flush` makes them durable. A block's
//! record is appended and synced before that batch; a block is reported final only
//! after both. [`MemStore`] and [`crate::segments::MemSegments`] are the in-memory twins
//! for the simulator and unit tests. docs/storage.md describes the layout.

use crate::chain::lock;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use jeon_runtime::block::CommittedBlock;
use jeon_runtime::codec;
use jeon_runtime::economy::history::EventPosition;
use jeon_runtime::economy::BLOCK_EVENTS_TX_INDEX;
use jeon_runtime::execute::BlockOutput;
use jeon_runtime::proof::ValidatorSetChange;
use jeon_runtime::state::{keys, prefix_end, ChangeSet, Entries, StateError, StateRead, StateScan};
use jeon_runtime::{Address, Amount, Event, Hash, Height, Outcome, Receipt};
use serde::{Deserialize, Serialize};

pub use crate::signer::state::SignedRecord;
use crate::signer::state::{SignerStore, SignerStoreError};

use crate::segments::{BlockLog, MemSegments, Recovered, SegmentError, SegmentFiles, SegmentPtr};
use crate::statecache::StateCache;
use crate::txindex::TxIndex;

/// Key prefixes inside the one tree.
mod prefix {
    /// Runtime state entries: `S || state key`.
    pub(super) const STATE: u8 = b'S';
    /// `B || height (u64 BE)` -> where the block's record is ([`SegmentPtr`]).
    pub(super) const BLOCK: u8 = b'B';
    /// `L || account` -> the account's newest history entry ([`EventPosition`]).
    pub(super) const LAST_EVENT: u8 = b'L';
    /// `V || validator key` -> the height of the newest block whose certificate it
    /// signed (u64): for the network page, which could otherwise only read back a few
    /// certificates. Written with each block; a node's own record, not in snapshots.
    pub(super) const LAST_SIGNED: u8 = b'V';
}

// Metadata keys start with `M`.
const META_HEAD: &[u8] = b"Mhead";
const META_GENESIS: &[u8] = b"Mgenesis";
/// Where versions before the signer file kept the guard's record and lock proof; read
/// only to move them into the signer file once ([`ChainDb::move_legacy_signer`]).
const META_SIGNER: &[u8] = b"Msigner";
const META_LOCKED_BLOCK: &[u8] = b"Mlocked";
const META_LAYOUT: &[u8] = b"Mlayout";
/// The lowest height whose block is kept; absent on an archive node.
const META_PRUNED: &[u8] = b"Mpruned";
/// The sequence number (u64 LE) of the last batch written through the write-ahead
/// record ([`crate::sledwal`]); absent before the first.
const META_WAL: &[u8] = b"Mwal";
/// `Mchange ‖ height` -> a validator-set change (`runtime::proof::ValidatorSetChange`)
/// whose blocks this node no longer holds or never held: written by a snapshot import
/// (the snapshot header's verified changes) and before pruning drops a change's blocks,
/// so proofs and snapshots served by this node still carry every change below them.
const META_SET_CHANGE: &[u8] = b"Mchange";
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
    /// A block record could not be encoded (a bug: every record encodes).
    #[error("could not encode a record: {0}")]
    Encode(String),
    /// A snapshot cannot be imported here (docs/operations.md §9).
    #[error("snapshot import: {0}")]
    Snapshot(String),
    /// The block log failed or holds a corrupt record.
    #[error(transparent)]
    Segment(#[from] SegmentError),
    /// The write-ahead record of a batch could not be written
    /// ([`crate::sledwal`]); the store was not changed.
    #[error("the write-ahead record {}: {source}", path.display())]
    Wal {
        /// Its file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A block's stored record does not decode.
    #[error("the stored record of block {height} is corrupt: {reason}")]
    CorruptBlock {
        /// Its height.
        height: Height,
        /// Why it does not decode.
        reason: String,
    },
    /// sled holds no record pointer for a block at or below its head: its files are
    /// damaged.
    #[error("the database has no record pointer for block {height} (head {head}): db/ is damaged; run `jeon repair --data DIR` to rebuild it from the block files (docs/operations.md §10). Or: Restore the data directory from a backup, or move db/, blocks/ and txindex/ aside and restart to sync from peers (docs/storage.md §7)")]
    BlockPointerMissing {
        /// The block.
        height: Height,
        /// The stored head.
        head: Height,
    },
    /// The block was pruned: this node keeps blocks from `first_kept` on.
    #[error("block {height} was pruned; this node keeps blocks from {first_kept} on")]
    Pruned {
        /// The height asked for.
        height: Height,
        /// The lowest height kept.
        first_kept: Height,
    },
    /// The data directory was written by an older version with another layout.
    #[error("the data directory was written with an older storage layout (blocks inside sled); this version keeps blocks in segment files: start from an empty data directory and let the node sync")]
    OldLayout,
    /// Moving an older version's signer record into the signer file failed.
    #[error(transparent)]
    Signer(#[from] SignerStoreError),
    /// sled's files are damaged: opening or reading them panicked inside sled, or sled
    /// reported corruption. Nothing was changed by the node.
    #[error("the database in {} is damaged ({detail}); the node wrote nothing to it. Run `jeon repair --data DIR` to rebuild the database from the block files (docs/operations.md §10). Or: Restore the data directory from a backup, or move db/, blocks/ and txindex/ aside and restart to sync the chain from peers (a validator keeps its key and signer state; docs/storage.md §7)", dir.display())]
    DbCorrupt {
        /// The sled directory.
        dir: PathBuf,
        /// What sled said, or its panic message.
        detail: String,
    },
    /// The block segments hold final blocks above the database's head: sled lost
    /// writes it had flushed (its files are damaged). Cutting the segments back would
    /// delete final blocks, so nothing is cut.
    #[error("the database's head is block {head}, but the block files hold final blocks up to {blocks_end}: the database lost flushed writes (damaged or truncated db/ files); the node changed nothing. Run `jeon repair --data DIR` to rebuild the database from the block files (docs/operations.md §10). Or: Restore the data directory from a backup, or move db/, blocks/ and txindex/ aside and restart to sync the chain from peers (docs/storage.md §7)")]
    DbBehindBlocks {
        /// The database's head.
        head: Height,
        /// The highest block whose record the segments hold.
        blocks_end: Height,
    },
    /// The file system holding the data directory has too little free space to write a
    /// block safely.
    #[error("the disk holding {} has {free_bytes} bytes free, below the {free_bytes_min} bytes the node needs to write a block safely; free some space (nothing was written) and start again", dir.display())]
    DiskFull {
        /// The data directory.
        dir: PathBuf,
        /// Free bytes found.
        free_bytes: u64,
        /// The minimum ([`crate::faults::DISK_FREE_BYTES_MIN`]).
        free_bytes_min: u64,
    },
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

/// sled's page cache for the state. Its default is 1 GiB, which alone would exceed
/// the node's memory budget; state reads are mostly recent accounts, which fit in far
/// less.
pub const SLED_CACHE_BYTES: u64 = 128 << 20;

/// sled's log segment size. sled frees a segment only once every page in it has moved
/// on; with its default (512 KiB) the pages of state overwritten every block kept
/// segments alive, and garbage grew without bound (measured: about 340 bytes per
/// transfer for five overwrites each; with 32 KiB segments, 4).
pub const SLED_SEGMENT_BYTES: usize = 32 << 10;

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
    /// Its directory, named in errors.
    dir: PathBuf,
    /// The sequence number of the last batch written through the write-ahead record
    /// ([`crate::sledwal`]); held while any batch is written, so batches go in one at
    /// a time and none starts before the one before it is flushed.
    logged: Mutex<u64>,
}

/// How long [`SledStore::open`] waits for a lock this process's own dropped handle
/// still holds: sled 0.34 releases its file lock only when its background threads
/// finish, after the last handle is dropped (spacejam/sled#1234). Another process
/// using the directory is refused earlier, by the node's directory lock; a lock held
/// longer than this is reported as sled's error.
const SLED_LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens `config`, trying again while its file lock is still held (see
/// [`SLED_LOCK_RELEASE_WAIT`]).
fn open_waiting_for_release(config: &sled::Config) -> Result<sled::Db, sled::Error> {
    let deadline = std::time::Instant::now() + SLED_LOCK_RELEASE_WAIT;
    loop {
        match config.open() {
            // sled reports the lock as `ErrorKind::Other` with the OS error in the text.
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && e.to_string().contains("WouldBlock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Inserts the batch a crash interrupted, if the write-ahead record holds one
/// ([`crate::sledwal::pending`]); returns the sequence number of the last batch
/// written through the record.
fn finish_logged_batch(db: &sled::Db, tree: &sled::Tree, dir: &Path) -> sled::Result<u64> {
    let applied = match tree.get(META_WAL)? {
        Some(v) => v
            .as_ref()
            .try_into()
            .map(u64::from_le_bytes)
            .map_err(|_| sled::Error::Unsupported(format!("{META_WAL:?} is not 8 bytes")))?,
        None => 0,
    };
    let Some((seq, writes)) = crate::sledwal::pending(dir, applied)? else {
        return Ok(applied);
    };
    tracing::info!(
        seq,
        writes = writes.len(),
        "finishing a batch a crash interrupted, from its write-ahead record"
    );
    insert_logged(tree, writes, seq)?;
    db.flush()?;
    Ok(seq)
}

/// Inserts `writes` key by key (never under sled's exclusive lock), then `seq` under
/// [`META_WAL`]: the last write of a logged batch.
fn insert_logged(tree: &sled::Tree, writes: Writes, seq: u64) -> sled::Result<()> {
    let half = writes.len() / 2;
    for (i, (k, v)) in writes.into_iter().enumerate() {
        if i == half {
            crate::crash::crash_point("store.mid_batch");
        }
        match v {
            Some(v) => tree.insert(k, v)?,
            None => tree.remove(k)?,
        };
    }
    tree.insert(META_WAL, &seq.to_le_bytes())?;
    Ok(())
}

impl SledStore {
    /// Opens (or creates) the database in `dir`. sled panics on some damaged files
    /// and rolls others back silently: the open and the first reads (the head, the
    /// layout, the genesis hash) run under [`crate::faults::contain`], and a panic or
    /// sled's own corruption error becomes [`StoreError::DbCorrupt`] naming `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let corrupt = |detail: String| StoreError::DbCorrupt {
            dir: dir.to_path_buf(),
            detail,
        };
        let opened = crate::faults::contain(|| -> Result<Self, sled::Error> {
            let config = sled::Config::new()
                .path(dir)
                .mode(sled::Mode::HighThroughput)
                .cache_capacity(SLED_CACHE_BYTES)
                .segment_size(SLED_SEGMENT_BYTES);
            let db = open_waiting_for_release(&config)?;
            let tree = db.open_tree("jeon")?;
            let logged = finish_logged_batch(&db, &tree, dir)?;
            for key in [META_HEAD, META_LAYOUT, META_GENESIS, META_PRUNED] {
                tree.get(key)?;
            }
            Ok(SledStore {
                db,
                tree,
                dir: dir.to_path_buf(),
                logged: Mutex::new(logged),
            })
        })
        .map_err(|panic| corrupt(format!("sled panicked: {panic}")))?;
        opened.map_err(|e| match e {
            sled::Error::Corruption { .. } | sled::Error::ReportableBug(_) => {
                corrupt(e.to_string())
            }
            other => StoreError::Sled(other),
        })
    }

    /// Reads every record of every tree once, and returns how many there are: sled
    /// reads pages lazily, so a database can open and serve its head while pages
    /// further in are damaged. For offline checks (`jeon repair`); it reads the whole
    /// database, so it is not for a running node's start.
    pub fn read_every_record(&self) -> Result<u64, StoreError> {
        self.contained(|| {
            let mut records = 0u64;
            for name in self.db.tree_names() {
                for item in self.db.open_tree(name)?.iter() {
                    item?;
                    records += 1;
                }
            }
            Ok(records)
        })
        .map_err(|e| match e {
            StoreError::Sled(sled::Error::Corruption { .. } | sled::Error::ReportableBug(_)) => {
                StoreError::DbCorrupt {
                    dir: self.dir.clone(),
                    detail: e.to_string(),
                }
            }
            other => other,
        })
    }

    /// Runs a call into sled, turning a panic on damaged pages (sled reads pages
    /// lazily, so a damaged one can surface long after the open) into
    /// [`StoreError::DbCorrupt`].
    fn contained<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        crate::faults::contain(f).unwrap_or_else(|panic| {
            Err(StoreError::DbCorrupt {
                dir: self.dir.clone(),
                detail: format!("sled panicked: {panic}"),
            })
        })
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.contained(|| Ok(self.tree.get(key)?.map(|v| v.to_vec())))
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        self.contained(|| {
            let mut out = Vec::new();
            for item in self.tree.scan_prefix(prefix).take(limit) {
                let (k, v) = item?;
                out.push((k.to_vec(), v.to_vec()));
            }
            Ok(out)
        })
    }

    fn write_batch(&self, writes: Writes) -> Result<(), StoreError> {
        // Atomic through the write-ahead record ([`crate::sledwal`]), not sled's
        // `apply_batch`, whose exclusive lock stalls every read for the whole batch.
        let mut logged = lock(&self.logged);
        let seq = *logged + 1;
        crate::sledwal::write(&self.dir, &crate::sledwal::encode(seq, &writes)).map_err(
            |source| StoreError::Wal {
                path: self.dir.join(crate::sledwal::WAL_FILE),
                source,
            },
        )?;
        self.contained(|| {
            insert_logged(&self.tree, writes, seq)?;
            // The batch is inserted, not yet flushed. Nothing is final before the flush.
            crate::crash::crash_point("store.before_flush");
            self.db.flush()?;
            Ok(())
        })?;
        *logged = seq;
        Ok(())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.contained(|| {
            let mut out = Vec::new();
            for item in self.tree.range(rev_range(prefix, before)).rev() {
                let (k, v) = item?;
                if out.len() >= limit || !k.starts_with(prefix) {
                    break;
                }
                out.push((k.to_vec(), v.to_vec()));
            }
            Ok(out)
        })
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

/// How many decoded block records stay in memory: history walks and proof requests
/// mostly touch recent blocks, and a record is a whole block.
const RECORD_CACHE_BLOCKS: usize = 4;
/// The storage layout this code writes. 1 kept blocks and receipts in sled; 2 keeps
/// them in segment files ([`crate::segments`]).
const LAYOUT: u32 = 2;

/// A final block as the node stores it: the block and certificate, its receipts, its
/// end-of-block events, and the links of the account histories through it.
#[derive(Clone, Debug)]
pub struct BlockRecord {
    /// The block with its certificate.
    pub committed: CommittedBlock,
    /// One receipt per transaction.
    pub receipts: Vec<Receipt>,
    /// Events of the end-of-block step.
    pub block_events: Vec<Event>,
    /// One link per history entry the block adds, in the order the runtime indexed
    /// them.
    links: Vec<HistoryLink>,
}

/// A record as encoded: receipts without their transaction hashes, which the block's
/// transactions give back on reading (32 of a transfer's 250 stored bytes).
#[derive(Serialize)]
struct BlockRecordRef<'a> {
    committed: &'a CommittedBlock,
    receipts: Vec<ReceiptRef<'a>>,
    block_events: &'a [Event],
    links: &'a [HistoryLink],
}

#[derive(Serialize)]
struct ReceiptRef<'a> {
    outcome: &'a Outcome,
    fee: Amount,
    events: &'a [Event],
}

/// [`BlockRecordRef`] decoded.
#[derive(Deserialize)]
struct StoredBlockRecord {
    committed: CommittedBlock,
    receipts: Vec<StoredReceipt>,
    block_events: Vec<Event>,
    links: Vec<HistoryLink>,
}

#[derive(Deserialize)]
struct StoredReceipt {
    outcome: Outcome,
    fee: Amount,
    events: Vec<Event>,
}

/// An account's history entry: the event at (`tx_index`, `event_index`) in this
/// block, for the account at position `slot` of the event's [`Event::accounts`], and
/// where that account's previous entry is. An account's history is the chain of these
/// links from its newest entry (kept under `L ‖ account` in sled).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct HistoryLink {
    tx_index: u32,
    event_index: u32,
    slot: u8,
    prev: Option<EventPosition>,
}

impl BlockRecord {
    fn event(&self, tx_index: u32, event_index: u32) -> Option<&Event> {
        let events = if tx_index == BLOCK_EVENTS_TX_INDEX {
            &self.block_events
        } else {
            &self.receipts.get(tx_index as usize)?.events
        };
        events.get(event_index as usize)
    }

    /// The link of `who`'s entry at `pos` (in this block): `None` if the block has no
    /// such entry, `Some(prev)` otherwise.
    fn link(&self, who: &Address, pos: EventPosition) -> Option<Option<EventPosition>> {
        let event = self.event(pos.tx_index, pos.event_index)?;
        let slot = event.accounts().iter().position(|a| a == who)?;
        self.links
            .iter()
            .find(|l| {
                l.tx_index == pos.tx_index
                    && l.event_index == pos.event_index
                    && usize::from(l.slot) == slot
            })
            .map(|l| l.prev)
    }
}

/// A record as stored: the compact (varint) encoding of `codec::encode_compact`, then LZ4. Blocks repeat the chain id
/// in every transaction and the same addresses in transactions and receipts; this
/// takes a block to about half its consensus encoding.
fn encode_record(record: &BlockRecordRef<'_>) -> Result<Vec<u8>, StoreError> {
    let plain = codec::encode_compact(record).map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(lz4_flex::compress_prepend_size(&plain))
}

fn decode_block_record(height: Height, bytes: &[u8]) -> Result<BlockRecord, StoreError> {
    let corrupt = |reason: String| StoreError::CorruptBlock { height, reason };
    let size = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| corrupt("record shorter than its size".into()))?;
    if size as usize > RECORD_BYTES_MAX {
        return Err(corrupt(format!("record claims {size} bytes")));
    }
    let plain = lz4_flex::decompress_size_prepended(bytes).map_err(|e| corrupt(e.to_string()))?;
    let stored: StoredBlockRecord =
        codec::decode_compact(&plain).map_err(|e| corrupt(e.to_string()))?;
    let txs = &stored.committed.block.txs;
    if txs.len() != stored.receipts.len() {
        return Err(corrupt(format!(
            "{} transactions but {} receipts",
            txs.len(),
            stored.receipts.len()
        )));
    }
    let receipts = txs
        .iter()
        .zip(stored.receipts)
        .map(|(tx, r)| Receipt {
            tx: tx.hash(),
            outcome: r.outcome,
            fee: r.fee,
            events: r.events,
        })
        .collect();
    Ok(BlockRecord {
        committed: stored.committed,
        receipts,
        block_events: stored.block_events,
        links: stored.links,
    })
}

/// The block with its certificate in a stored record's bytes (a block-log frame's
/// payload), for `jeon repair`, which replays a node's own block files.
pub fn decode_committed(height: Height, bytes: &[u8]) -> Result<CommittedBlock, StoreError> {
    decode_block_record(height, bytes).map(|r| r.committed)
}

/// Each account's newest history entry after a block, in first-seen order.
type NewestEvents = Vec<(Address, EventPosition)>;

/// What [`ChainDb::prune`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Blocks whose bodies, receipts and index entries went.
    pub blocks: u64,
    /// The lowest height still kept.
    pub first_kept: Height,
}

/// The chain's records: state and indexes in a [`Store`], block records in a
/// [`BlockLog`]. What the node reads and writes, typed.
pub struct ChainDb<S: Store> {
    store: S,
    /// The transaction index, beside the block segments ([`crate::txindex`]).
    index: TxIndex,
    log: BlockLog,
    /// Lowest height whose block is kept (1 on an archive node).
    first_kept: AtomicU64,
    cache: Mutex<VecDeque<(Height, Arc<BlockRecord>)>>,
    /// State and newest-history reads, cached ([`crate::statecache`]).
    reads: StateCache,
    /// The state writes of a block staged but not yet applied ([`ChainDb::stage_block`]),
    /// read through [`ChainDb::tip`].
    staged: RwLock<Option<StagedState>>,
    /// The whole record found just above the stored head at open: a block staged (and
    /// so reported final) whose batch a crash kept from the store. [`ChainDb::take_replay`].
    replay: Mutex<Option<(Height, Vec<u8>)>>,
    /// A running checkpoint's copy-on-write capture ([`crate::checkpoint`]).
    capture: crate::checkpoint::CaptureSlot,
}

/// A block's state writes (runtime keys, `None` deleting), in key order.
pub type StateWrites = Arc<BTreeMap<Vec<u8>, Option<Vec<u8>>>>;

/// The staged writes of the one block above the stored head: every read of the
/// database ([`StateRead`], [`StateScan`], block records, history heads, the head)
/// sees them, so the block reads as final from the moment it is staged.
struct StagedState {
    height: Height,
    state: StateWrites,
    /// The block's other writes (history heads, its record's place, the head), by
    /// their full key.
    meta: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

/// A final block whose record is durable in the block log and whose writes are
/// staged: every read of the [`ChainDb`] sees them, the store does not hold them yet.
/// [`ChainDb::apply_staged`] writes them (and the new head) to the store.
///
/// This is the commit's pipeline: the block is reported final once staged (its record
/// is synced), and the next height executes while its batch is applied. A crash in
/// between leaves its record as the one whole record above the stored head, and
/// [`ChainDb::open`] hands it back ([`ChainDb::take_replay`]) to be executed and
/// applied again, so nothing reported final is lost.
#[must_use = "a staged block is final only once applied"]
pub struct StagedBlock {
    head: ChainHead,
    state: StateWrites,
    /// Everything else the block writes: history heads, its record's place, the head.
    writes: Writes,
    hashes: Vec<Hash>,
    segment: Height,
}

impl StagedBlock {
    /// The head this block makes.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// Its transactions' hashes, in order.
    pub fn tx_hashes(&self) -> &[Hash] {
        &self.hashes
    }
}

/// The state as of the newest final block: the store's, with the writes of a block
/// staged but not yet applied on top. Execution and the mempool read it; the database
/// itself reads the same way, so this is [`ChainDb`]'s own [`StateRead`] under the name
/// the execution path uses.
pub struct TipView<'a, S: Store>(&'a ChainDb<S>);

impl<S: Store> StateRead for TipView<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0.get(key)
    }
}

impl<S: Store> ChainDb<S> {
    /// Wraps a store, with block records in fresh in-memory segments (unit tests).
    pub fn new(store: S) -> Self {
        ChainDb {
            store,
            index: TxIndex::new(Box::new(MemSegments::new())),
            log: BlockLog::new(Box::new(MemSegments::new())),
            first_kept: AtomicU64::new(1),
            cache: Mutex::new(VecDeque::new()),
            reads: StateCache::default(),
            staged: RwLock::new(None),
            replay: Mutex::new(None),
            capture: Default::default(),
        }
    }

    /// Opens the chain's records: the store, the block log brought back to the store's
    /// head (a crash may have left a torn record or records that were never indexed;
    /// see [`BlockLog::recover`]), and the transaction index in `index_files`, brought
    /// in line with the block log.
    pub fn open(
        store: S,
        index_files: Box<dyn SegmentFiles>,
        log: BlockLog,
    ) -> Result<Self, StoreError> {
        let db = ChainDb {
            store,
            index: TxIndex::new(index_files),
            log,
            first_kept: AtomicU64::new(1),
            cache: Mutex::new(VecDeque::new()),
            reads: StateCache::default(),
            staged: RwLock::new(None),
            replay: Mutex::new(None),
            capture: Default::default(),
        };
        let head = db.record::<ChainHead>(META_HEAD)?;
        if head.is_some() && db.record::<u32>(META_LAYOUT)? != Some(LAYOUT) {
            return Err(StoreError::OldLayout);
        }
        if let Some(first) = db.record::<Height>(META_PRUNED)? {
            db.first_kept.store(first, Ordering::Relaxed);
            // A crash between the prune's index batch and its file removal leaves
            // segments that hold only pruned blocks.
            db.log.remove_below(first)?;
        }
        db.recover_log(head)?;
        let head = head.map_or(0, |h| h.height);
        let segments = db.log.segments()?;
        db.index.open(&segments, |segment| {
            db.segment_txs(&segments, segment, head)
        })?;
        Ok(db)
    }

    /// Brings the block log back to the stored head ([`BlockLog::recover`]) and checks
    /// the head's record: it decodes and is the block the head names. A database that
    /// fell behind its block files is refused before anything is cut.
    fn recover_log(&self, head: Option<ChainHead>) -> Result<(), StoreError> {
        let height = head.map_or(0, |h| h.height);
        let ptr = match height {
            0 => None,
            h => Some(
                self.storage_record::<SegmentPtr>(&height_key(prefix::BLOCK, h))?
                    .ok_or(StoreError::BlockPointerMissing { height: h, head: h })?,
            ),
        };
        // A block staged (so reported final) whose batch a crash kept from the store:
        // its record is whole and synced; keep its bytes to replay it.
        let above = self
            .log
            .record_above(height, ptr)
            .map_err(StoreError::Segment)?;
        let recovered = self.log.recover(height, ptr).map_err(|e| match e {
            SegmentError::AheadOfHead { head, blocks_end } => {
                StoreError::DbBehindBlocks { head, blocks_end }
            }
            other => StoreError::Segment(other),
        })?;
        if let Some(bytes) = above {
            tracing::warn!(
                head = height,
                "the block above the stored head is whole in the block log (a crash after it was final, before the store held it): it is executed and stored again"
            );
            *lock(&self.replay) = Some((height + 1, bytes));
        } else if recovered != Recovered::default() {
            tracing::warn!(
                head = height,
                bytes_cut = recovered.bytes_cut,
                segments_removed = recovered.segments_removed,
                "block segments held a block above the stored head (a crash mid-commit); cut back to it"
            );
        }
        if let Some(head) = head.filter(|h| h.height > 0) {
            let record =
                self.block_record(head.height)?
                    .ok_or(StoreError::BlockPointerMissing {
                        height: head.height,
                        head: head.height,
                    })?;
            if record.committed.block.header.hash() != head.block_hash {
                return Err(StoreError::CorruptBlock {
                    height: head.height,
                    reason: "its block is not the one the database's head names".into(),
                });
            }
        }
        Ok(())
    }

    fn record<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.raw_get(key)? {
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
        if !changes.appended.is_empty() {
            // History entries point into blocks; genesis has none.
            return Err(StoreError::State(StateError::InvariantBroken(
                "genesis wrote account history entries",
            )));
        }
        let head = ChainHead {
            height: 0,
            block_hash: Hash::ZERO,
            app_hash,
            time_ms,
        };
        let mut writes: Writes = changes
            .entries
            .iter()
            .map(|(k, v)| (with_prefix(prefix::STATE, k), v.clone()))
            .collect();
        writes.push((META_HEAD.to_vec(), Some(codec::encode(&head))));
        writes.push((META_GENESIS.to_vec(), Some(codec::encode(&genesis_hash))));
        writes.push((META_LAYOUT.to_vec(), Some(codec::encode(&LAYOUT))));
        self.write_batch(writes)?;
        Ok(head)
    }

    /// Writes a batch to the store, then tells the read cache what it wrote.
    fn write_batch(&self, writes: Writes) -> Result<(), StoreError> {
        // A running checkpoint keeps what this batch overwrites.
        self.capture.preserve(&writes, |k| self.store.get(k))?;
        let cached: Writes = writes
            .iter()
            .filter(|(k, _)| matches!(k.first(), Some(&prefix::STATE | &prefix::LAST_EVENT)))
            .cloned()
            .collect();
        self.store.write_batch(writes)?;
        self.reads
            .committed(cached.iter().map(|(k, v)| (k.as_slice(), v.as_deref())));
        Ok(())
    }

    /// The block [`ChainDb::open`] found whole just above the stored head (its height
    /// and record bytes), once: the caller executes and commits it again
    /// (`Chain::open_with` does).
    pub fn take_replay(&self) -> Option<(Height, Vec<u8>)> {
        lock(&self.replay).take()
    }

    /// The last final block (the staged one, once a block is staged).
    pub fn head(&self) -> Result<ChainHead, StoreError> {
        self.record(META_HEAD)?.ok_or(StoreError::NoHead)
    }

    /// Durably writes a final block: first its record to the block log (synced), then
    /// one atomic sled batch with the state writes, the record's place, the indexes and
    /// the new head. Returns once both are durable. [`ChainDb::stage_block`] then
    /// [`ChainDb::apply_staged`].
    pub fn commit_block(
        &self,
        committed: &CommittedBlock,
        output: &BlockOutput,
    ) -> Result<ChainHead, StoreError> {
        let state = Arc::new(output.changes.entries.clone());
        let staged = self.stage_block(committed, output, state)?;
        self.index_staged(&staged)?;
        self.apply_staged(staged)
    }

    /// The state as of the newest final block, staged writes included ([`TipView`]).
    pub fn tip(&self) -> TipView<'_, S> {
        TipView(self)
    }

    /// The first half of a commit: appends the block's record to the block log and
    /// syncs it, then stages its state writes (`state`: the block's
    /// `output.changes.entries`, moved out by the caller) so that [`ChainDb::tip`] reads
    /// them. The store is not written: [`ChainDb::apply_staged`] does that. At most one
    /// block is staged at a time.
    pub fn stage_block(
        &self,
        committed: &CommittedBlock,
        output: &BlockOutput,
        state: StateWrites,
    ) -> Result<StagedBlock, StoreError> {
        if self
            .staged
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Err(StoreError::State(StateError::InvariantBroken(
                "a block was staged before the previous one was applied",
            )));
        }
        let h = &committed.block.header;
        let height = h.height;
        let head = ChainHead {
            height,
            block_hash: h.hash(),
            app_hash: output.app_hash,
            time_ms: h.time_ms,
        };
        let (links, newest) = self.history_links(output)?;
        if committed.block.txs.len() != output.receipts.len() {
            return Err(StoreError::State(StateError::InvariantBroken(
                "a block's receipts do not match its transactions",
            )));
        }
        let receipts = output
            .receipts
            .iter()
            .map(|r| ReceiptRef {
                outcome: &r.outcome,
                fee: r.fee,
                events: &r.events,
            })
            .collect();
        let payload = encode_record(&BlockRecordRef {
            committed,
            receipts,
            block_events: &output.block_events,
            links: &links,
        })?;
        let ptr = self.log.append(height, &payload)?;
        crate::crash::crash_point("commit.after_segment");
        let mut writes: Writes = Vec::with_capacity(newest.len() + 2);
        for (who, pos) in newest {
            writes.push((
                with_prefix(prefix::LAST_EVENT, &who.0),
                Some(storage_encode(&pos)?),
            ));
        }
        writes.push((
            height_key(prefix::BLOCK, height),
            Some(storage_encode(&ptr)?),
        ));
        for sig in &committed.certificate.signatures {
            writes.push((
                with_prefix(prefix::LAST_SIGNED, &sig.validator.0),
                Some(storage_encode(&height)?),
            ));
        }
        writes.push((META_HEAD.to_vec(), Some(codec::encode(&head))));
        let hashes: Vec<Hash> = output.receipts.iter().map(|r| r.tx).collect();
        *self.staged.write().unwrap_or_else(|p| p.into_inner()) = Some(StagedState {
            height,
            state: state.clone(),
            meta: writes.iter().cloned().collect(),
        });
        Ok(StagedBlock {
            head,
            state,
            writes,
            hashes,
            segment: ptr.segment,
        })
    }

    /// Adds a staged block's transactions to the index, on the commit thread before
    /// it is reported (answers filter by the reported head, so none sees them early).
    /// The index is derived from the block log and rebuilt from it at open, so a
    /// crash before or after this loses nothing.
    pub fn index_staged(&self, staged: &StagedBlock) -> Result<(), StoreError> {
        crate::crash::crash_point("commit.before_index");
        self.index
            .add_block(staged.segment, staged.head.height, &staged.hashes)?;
        Ok(())
    }

    /// The second half of a commit: one atomic sled batch with the staged block's state
    /// writes, the record's place, the history heads and the new head, flushed; then the
    /// staged writes are dropped (the store now holds them). Returns the new head.
    pub fn apply_staged(&self, staged: StagedBlock) -> Result<ChainHead, StoreError> {
        let StagedBlock {
            head,
            state,
            writes: rest,
            hashes: _,
            segment: _,
        } = staged;
        let mut writes: Writes = Vec::with_capacity(state.len() + rest.len());
        for (k, v) in state.iter() {
            writes.push((with_prefix(prefix::STATE, k), v.clone()));
        }
        let state_writes = writes.len();
        writes.extend(rest);
        tracing::debug!(
            height = head.height,
            state_writes,
            other_writes = writes.len() - state_writes,
            "applying a staged block"
        );
        // Failed: the node stops, and the staged writes keep answering reads until it
        // has (the block is final: its record is synced, and it is replayed at start).
        self.write_batch(writes)?;
        // Applied: the store now holds what the staged writes held, and reads go to it.
        let mut slot = self.staged.write().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|s| s.height == head.height) {
            *slot = None;
        }
        drop(slot);
        self.capture.applied(head);
        Ok(head)
    }

    /// The transaction hashes of the kept blocks in block segment `segment` (one of
    /// `segments`, which end at `head`), for rebuilding the index.
    fn segment_txs(
        &self,
        segments: &[Height],
        segment: Height,
        head: Height,
    ) -> Result<Vec<(Height, Vec<Hash>)>, StoreError> {
        let end = segments
            .iter()
            .find(|s| **s > segment)
            .map_or(head, |next| next - 1);
        let mut out = Vec::new();
        for height in segment.max(self.first_kept())..=end {
            let record = match self.block_record(height) {
                Ok(Some(record)) => record,
                Ok(None) => return Err(StoreError::BlockPointerMissing { height, head }),
                // A damaged record below the head stays unindexed (its transactions
                // read as unknown) and its reads answer the error; the node goes on.
                Err(e @ StoreError::CorruptBlock { .. }) => {
                    tracing::error!(height, error = %e, "a block record is damaged: its transactions are not indexed; restore the data directory or resync to repair it");
                    continue;
                }
                Err(e) => return Err(e),
            };
            out.push((height, record.receipts.iter().map(|r| r.tx).collect()));
        }
        Ok(out)
    }

    /// The history links of a block's new entries (the runtime's `appended` index
    /// entries, in order), and each account's newest entry after it.
    fn history_links(
        &self,
        output: &BlockOutput,
    ) -> Result<(Vec<HistoryLink>, NewestEvents), StoreError> {
        let mut newest: Vec<(Address, EventPosition)> = Vec::new();
        let mut slot_of: std::collections::HashMap<Address, usize> = Default::default();
        let mut links = Vec::with_capacity(output.changes.appended.len());
        for (key, _) in &output.changes.appended {
            let malformed = || {
                StoreError::State(StateError::MalformedKey {
                    what: "history",
                    key: key.clone(),
                })
            };
            let (who, height, tx_index, event_index) =
                keys::parse_history(key).ok_or_else(malformed)?;
            let pos = EventPosition {
                height,
                tx_index,
                event_index,
            };
            let events = if tx_index == BLOCK_EVENTS_TX_INDEX {
                Some(&output.block_events)
            } else {
                output.receipts.get(tx_index as usize).map(|r| &r.events)
            };
            let slot = events
                .and_then(|e| e.get(event_index as usize))
                .and_then(|e| e.accounts().iter().position(|a| *a == who))
                .and_then(|s| u8::try_from(s).ok())
                .ok_or_else(malformed)?;
            let prev = match slot_of.get(&who) {
                Some(&i) => Some(newest[i].1),
                None => self.newest_event(&who)?,
            };
            if prev == Some(pos) {
                continue;
            }
            links.push(HistoryLink {
                tx_index,
                event_index,
                slot,
                prev,
            });
            match slot_of.get(&who) {
                Some(&i) => newest[i].1 = pos,
                None => {
                    slot_of.insert(who, newest.len());
                    newest.push((who, pos));
                }
            }
        }
        Ok((links, newest))
    }

    /// The height of the newest block whose certificate `validator` signed, as far as
    /// this node's database has seen (blocks it committed or synced).
    pub fn last_signed(&self, validator: &Address) -> Result<Option<Height>, StoreError> {
        self.storage_record(&with_prefix(prefix::LAST_SIGNED, &validator.0))
    }

    /// An account's newest history entry.
    fn newest_event(&self, who: &Address) -> Result<Option<EventPosition>, StoreError> {
        let key = with_prefix(prefix::LAST_EVENT, &who.0);
        if let Some(value) = self.staged_meta(&key) {
            return decode_storage_record(&key, value);
        }
        let value = self.reads.get(&key, || self.store.get(&key))?;
        decode_storage_record(&key, value)
    }

    fn storage_record<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        decode_storage_record(key, self.raw_get(key)?)
    }

    /// A database entry outside the runtime's state: the staged block's write if it
    /// made one, else the store's.
    fn raw_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(value) = self.staged_meta(key) {
            return Ok(value);
        }
        self.store.get(key)
    }

    /// The staged block's write of a non-state key, if it made one.
    fn staged_meta(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let staged = self.staged.read().unwrap_or_else(|p| p.into_inner());
        staged.as_ref().and_then(|s| s.meta.get(key).cloned())
    }

    /// The lowest height whose block this node keeps (1 unless pruned).
    pub fn first_kept(&self) -> Height {
        self.first_kept.load(Ordering::Relaxed)
    }

    /// A final block's stored record, or `None` above the head.
    pub fn block_record(&self, height: Height) -> Result<Option<Arc<BlockRecord>>, StoreError> {
        {
            let cache = lock(&self.cache);
            if let Some((_, r)) = cache.iter().find(|(h, _)| *h == height) {
                return Ok(Some(r.clone()));
            }
        }
        let first_kept = self.first_kept();
        if height < first_kept {
            return Err(StoreError::Pruned { height, first_kept });
        }
        let Some(ptr) = self.storage_record::<SegmentPtr>(&height_key(prefix::BLOCK, height))?
        else {
            // Pruned since the check above, or never written.
            let first_kept = self.first_kept();
            if height < first_kept {
                return Err(StoreError::Pruned { height, first_kept });
            }
            return Ok(None);
        };
        let bytes = self.read_frame(ptr, height)?;
        let record = Arc::new(decode_block_record(height, &bytes)?);
        let mut cache = lock(&self.cache);
        if cache.len() >= RECORD_CACHE_BLOCKS {
            cache.pop_front();
        }
        cache.push_back((height, record.clone()));
        Ok(Some(record))
    }

    /// A block's record bytes, checked against its checksum. A damaged frame (failing
    /// its checksum or cut short) is [`StoreError::CorruptBlock`] naming the file.
    fn read_frame(&self, ptr: SegmentPtr, height: Height) -> Result<Vec<u8>, StoreError> {
        self.log.read(ptr, height).map_err(|e| {
            let damaged = match &e {
                SegmentError::Corrupt { .. } => true,
                SegmentError::Io { source, .. } => {
                    source.kind() == std::io::ErrorKind::UnexpectedEof
                }
                _ => false,
            };
            if damaged {
                StoreError::CorruptBlock {
                    height,
                    reason: format!("{}: {e}", self.log.location(ptr.segment)),
                }
            } else {
                StoreError::Segment(e)
            }
        })
    }

    /// A final block with its certificate.
    pub fn block(&self, height: Height) -> Result<Option<CommittedBlock>, StoreError> {
        Ok(self.block_record(height)?.map(|r| r.committed.clone()))
    }

    /// A final block's receipts.
    pub fn receipts(&self, height: Height) -> Result<Option<Vec<Receipt>>, StoreError> {
        Ok(self.block_record(height)?.map(|r| r.receipts.clone()))
    }

    /// Where a final transaction is. The index gives candidates by the hash's first 8
    /// bytes; each is confirmed against its block's receipts.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StoreError> {
        for (height, index) in self.index.candidates(hash)? {
            let record = match self.block_record(height) {
                Ok(Some(r)) => r,
                Ok(None) | Err(StoreError::Pruned { .. }) => continue,
                Err(e) => return Err(e),
            };
            if record.receipts.get(index as usize).map(|r| r.tx) == Some(*hash) {
                return Ok(Some(TxLocation { height, index }));
            }
        }
        Ok(None)
    }

    /// Drops the bodies, receipts and transaction index entries of blocks older than
    /// the last `keep_blocks`, a whole segment at a time (the segment holding the head
    /// is never dropped, so a little more than `keep_blocks` stays). State is kept, and
    /// so are history links: a history walk stops at the first pruned block.
    pub fn prune(&self, keep_blocks: u64) -> Result<Pruned, StoreError> {
        let head = self.head()?.height;
        let keep_from = head.saturating_sub(keep_blocks.saturating_sub(1)).max(1);
        let segments = self.log.segments()?;
        let mut report = Pruned {
            blocks: 0,
            first_kept: self.first_kept(),
        };
        for pair in segments.windows(2) {
            let (start, next) = (pair[0], pair[1]);
            if next > keep_from {
                break;
            }
            // A change at `at` is built from blocks `at - 1` and `at`: keep every one
            // whose first block goes now, before it goes.
            let changes = crate::proofs::set_changes(self, next + 1).map_err(|e| {
                StoreError::Snapshot(format!(
                    "cannot keep the validator-set changes below block {next} before pruning: {e}"
                ))
            })?;
            self.archive_set_changes(&changes)?;
            let mut writes: Writes = Vec::new();
            for height in start.max(self.first_kept())..next {
                writes.push((height_key(prefix::BLOCK, height), None));
                report.blocks += 1;
            }
            writes.push((META_PRUNED.to_vec(), Some(codec::encode(&next))));
            self.store.write_batch(writes)?;
            self.first_kept.store(next, Ordering::Relaxed);
            lock(&self.cache).retain(|(h, _)| *h >= next);
            report.first_kept = next;
        }
        self.log.remove_below(report.first_kept)?;
        self.index.remove_below(report.first_kept)?;
        Ok(report)
    }

    /// Keeps `changes` for when their blocks are gone (see [`META_SET_CHANGE`]).
    pub fn archive_set_changes(&self, changes: &[ValidatorSetChange]) -> Result<(), StoreError> {
        let writes = changes
            .iter()
            .map(|c| (set_change_key(c.header.height), Some(codec::encode(c))))
            .collect();
        self.store.write_batch(writes)
    }

    /// The kept validator-set change whose change header is at `at`, if any.
    pub fn archived_set_change(
        &self,
        at: Height,
    ) -> Result<Option<ValidatorSetChange>, StoreError> {
        self.record(&set_change_key(at))
    }

    /// Bytes the block segments hold on disk.
    pub fn segment_bytes(&self) -> Result<u64, StoreError> {
        Ok(self.log.total_bytes()?)
    }

    /// An account's history entries (as the runtime's `keys::history` keys and
    /// encoded events), newest first, strictly before `before`, at most `limit`:
    /// walked along the links from the account's newest entry.
    fn history_rev(
        &self,
        prefix_key: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        let who = prefix_key
            .get(1..)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Address)
            .ok_or(StoreError::State(StateError::MalformedKey {
                what: "history prefix",
                key: prefix_key.to_vec(),
            }))?;
        let before =
            before
                .and_then(keys::parse_history)
                .map(|(_, height, tx_index, event_index)| EventPosition {
                    height,
                    tx_index,
                    event_index,
                });
        let broken = |pos: EventPosition| {
            StoreError::State(StateError::InvariantBroken(if pos.height == 0 {
                "history link to genesis"
            } else {
                "history link to an entry its block does not have"
            }))
        };
        // Where the walk starts: the entry before `before`, found by its own link when
        // `before` is one of the account's entries, else by walking from the newest.
        let mut next = self.newest_event(&who)?;
        if let Some(b) = before {
            let own = match self.block_record(b.height) {
                Ok(Some(r)) => r.link(&who, b),
                _ => None,
            };
            next = match own {
                Some(prev) => prev,
                None => {
                    let mut at = next;
                    while let Some(pos) = at.filter(|p| *p >= b) {
                        at = match self.block_record(pos.height) {
                            Ok(Some(r)) => r.link(&who, pos).ok_or_else(|| broken(pos))?,
                            Ok(None) => return Err(broken(pos)),
                            Err(StoreError::Pruned { .. }) => None,
                            Err(e) => return Err(e),
                        };
                    }
                    at
                }
            };
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(pos) = next else { break };
            let record = match self.block_record(pos.height) {
                Ok(Some(r)) => r,
                Ok(None) => return Err(broken(pos)),
                // History older than the kept blocks is gone with them.
                Err(StoreError::Pruned { .. }) => break,
                Err(e) => return Err(e),
            };
            let event = record
                .event(pos.tx_index, pos.event_index)
                .ok_or_else(|| broken(pos))?;
            out.push((
                keys::history(&who, pos.height, pos.tx_index, pos.event_index),
                codec::encode(event),
            ));
            next = record.link(&who, pos).ok_or_else(|| broken(pos))?;
        }
        Ok(out)
    }

    /// Moves the signer record and lock proof that versions before the signer file
    /// kept in this database into `to`, durably, then deletes them here, so it happens
    /// once and the file is the only record from then on. Returns the record moved.
    /// The caller calls it only when `to` holds no record: the file is authoritative.
    pub fn move_legacy_signer(
        &self,
        to: &mut dyn SignerStore,
    ) -> Result<Option<SignedRecord>, StoreError> {
        let Some(record) = self.record::<SignedRecord>(META_SIGNER)? else {
            return Ok(None);
        };
        let proof = self.store.get(META_LOCKED_BLOCK)?;
        to.save(&record, proof.as_deref())?;
        self.drop_legacy_signer()?;
        Ok(Some(record))
    }

    /// Deletes an older version's signer record from this database (after a move, or
    /// when the operator discards the signer state).
    pub fn drop_legacy_signer(&self) -> Result<(), StoreError> {
        self.store.write_batch(vec![
            (META_SIGNER.to_vec(), None),
            (META_LOCKED_BLOCK.to_vec(), None),
        ])
    }

    /// Writes a signer record where versions before the signer file kept it: only for
    /// tests of the move.
    #[doc(hidden)]
    pub fn write_legacy_signer_for_test(
        &self,
        record: &SignedRecord,
        proof: Option<Vec<u8>>,
    ) -> Result<(), StoreError> {
        let mut writes = vec![(META_SIGNER.to_vec(), Some(codec::encode(record)))];
        if let Some(proof) = proof {
            writes.push((META_LOCKED_BLOCK.to_vec(), Some(proof)));
        }
        self.store.write_batch(writes)
    }
}

impl<S: Store> StateRead for ChainDb<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        {
            let staged = self.staged.read().unwrap_or_else(|p| p.into_inner());
            if let Some(value) = staged.as_ref().and_then(|s| s.state.get(key)) {
                return Ok(value.clone());
            }
        }
        // Not written by a staged block, or the block was applied meanwhile (the
        // store then holds the same value): the store's value is the tip's.
        let key = with_prefix(prefix::STATE, key);
        self.reads
            .get(&key, || self.store.get(&key))
            .map_err(|e| StateError::Backend(e.to_string()))
    }
}

impl<S: Store> StateScan for ChainDb<S> {
    fn scan_prefix(&self, p: &[u8], limit: usize) -> Result<Entries, StateError> {
        if p.first() == Some(&keys::HISTORY) {
            return Err(StateError::Backend(
                "account history is listed newest first only".into(),
            ));
        }
        let staged = self.staged_state_in(p, None);
        let entries = self
            .store
            .scan_prefix(
                &with_prefix(prefix::STATE, p),
                limit.saturating_add(staged.len()),
            )
            .map_err(|e| StateError::Backend(e.to_string()))?;
        let merged = merge_staged(entries, staged);
        Ok(merged.into_iter().take(limit).collect())
    }

    fn scan_prefix_rev(
        &self,
        p: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        if p.first() == Some(&keys::HISTORY) {
            return self
                .history_rev(p, before, limit)
                .map_err(|e| StateError::Backend(e.to_string()));
        }
        let staged = self.staged_state_in(p, before);
        let prefix = with_prefix(prefix::STATE, p);
        let before = before.map(|b| with_prefix(prefix::STATE, b));
        let entries = self
            .store
            .scan_prefix_rev(
                &prefix,
                before.as_deref(),
                limit.saturating_add(staged.len()),
            )
            .map_err(|e| StateError::Backend(e.to_string()))?;
        let merged = merge_staged(entries, staged);
        Ok(merged.into_iter().rev().take(limit).collect())
    }
}

impl<S: Store> ChainDb<S> {
    /// The staged block's state writes under runtime prefix `p` (below `before` if
    /// given), in key order: what a scan merges over the store's entries.
    fn staged_state_in(&self, p: &[u8], before: Option<&[u8]>) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let staged = self.staged.read().unwrap_or_else(|p| p.into_inner());
        let Some(staged) = staged.as_ref() else {
            return Vec::new();
        };
        staged
            .state
            .range(p.to_vec()..)
            .take_while(|(k, _)| k.starts_with(p) && before.is_none_or(|b| k.as_slice() < b))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A scan's answer: the store's entries (state-prefixed keys; in either order) with
/// the staged block's writes (runtime keys) over them, in ascending key order. The
/// store was asked for as many more entries as there are staged writes, so the
/// staged deletions cannot leave a page short.
fn merge_staged(
    store: Entries,
    staged: Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = store
        .into_iter()
        .map(|(k, v)| (k[1..].to_vec(), v))
        .collect();
    for (k, v) in staged {
        match v {
            Some(v) => merged.insert(k, v),
            None => merged.remove(&k),
        };
    }
    merged
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

fn decode_storage_record<T: serde::de::DeserializeOwned>(
    key: &[u8],
    value: Option<Vec<u8>>,
) -> Result<Option<T>, StoreError> {
    match value {
        None => Ok(None),
        Some(v) => codec::decode_compact(&v)
            .map(Some)
            .map_err(|reason| StoreError::Corrupt {
                key: key.to_vec(),
                reason,
            }),
    }
}

fn storage_encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    codec::encode_compact(value).map_err(|e| StoreError::Encode(e.to_string()))
}

fn with_prefix(p: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.len());
    k.push(p);
    k.extend_from_slice(rest);
    k
}

fn set_change_key(at: Height) -> Vec<u8> {
    let mut key = META_SET_CHANGE.to_vec();
    key.extend_from_slice(&at.to_be_bytes());
    key
}

fn height_key(p: u8, h: Height) -> Vec<u8> {
    with_prefix(p, &h.to_be_bytes())
}

/// The parts of the database a snapshot carries (docs/operations.md §9), as key
/// prefixes: the runtime's state entries and the account history heads. Blocks below
/// the snapshot's height, the transaction index and the signer record are not carried.
pub const SNAPSHOT_PREFIXES: [u8; 2] = [prefix::STATE, prefix::LAST_EVENT];

/// Snapshots: reading the head's state out, and starting an empty database from it.
impl<S: Store> ChainDb<S> {
    /// Entries of one snapshot part (a [`SNAPSHOT_PREFIXES`] byte), keys with their
    /// prefix, in descending key order, strictly before `before`, at most `limit`.
    pub fn snapshot_page(
        &self,
        part: u8,
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        self.store.scan_prefix_rev(&[part], before, limit)
    }

    /// The checkpoint capture ([`crate::checkpoint`]).
    pub fn capture(&self) -> &crate::checkpoint::CaptureSlot {
        &self.capture
    }

    /// The chain id, the head and the head block's record as stored in the block log.
    pub fn snapshot_head(&self) -> Result<(Hash, ChainHead, Vec<u8>), StoreError> {
        let head = self.head()?;
        let (chain_id, record) = self.snapshot_record(head)?;
        Ok((chain_id, head, record))
    }

    /// The chain id and the stored record of `head`'s block.
    pub fn snapshot_record(&self, head: ChainHead) -> Result<(Hash, Vec<u8>), StoreError> {
        let chain_id = self
            .record::<Hash>(META_GENESIS)?
            .ok_or(StoreError::NoHead)?;
        if head.height == 0 {
            return Err(StoreError::Snapshot(
                "the chain has no final block yet: there is nothing to snapshot beyond genesis"
                    .into(),
            ));
        }
        let ptr = self
            .storage_record::<SegmentPtr>(&height_key(prefix::BLOCK, head.height))?
            .ok_or(StoreError::BlockPointerMissing {
                height: head.height,
                head: head.height,
            })?;
        let record = self.read_frame(ptr, head.height)?;
        Ok((chain_id, record))
    }

    /// Begins an import into this database, which must be empty: records the chain id
    /// (without a head, so a node started on an interrupted import refuses to start
    /// rather than writing genesis over half a state).
    pub fn import_begin(&self, chain_id: Hash) -> Result<(), StoreError> {
        if self.record::<Hash>(META_GENESIS)?.is_some()
            || self.record::<ChainHead>(META_HEAD)?.is_some()
        {
            return Err(StoreError::Snapshot(
                "the data directory already holds a chain; import into an empty one".into(),
            ));
        }
        self.store.write_batch(vec![
            (META_GENESIS.to_vec(), Some(codec::encode(&chain_id))),
            (META_LAYOUT.to_vec(), Some(codec::encode(&LAYOUT))),
        ])
    }

    /// Writes a batch of snapshot entries (keys with their prefix); refuses a key
    /// outside [`SNAPSHOT_PREFIXES`].
    pub fn import_entries(&self, entries: Entries) -> Result<(), StoreError> {
        let mut writes: Writes = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            if !key.first().is_some_and(|p| SNAPSHOT_PREFIXES.contains(p)) {
                return Err(StoreError::Snapshot(format!(
                    "an entry's key {} is outside the snapshot's parts",
                    hex::encode(&key)
                )));
            }
            writes.push((key, Some(value)));
        }
        self.store.write_batch(writes)
    }

    /// Finishes an import: checks the head block's record against `head` and with
    /// `check` (its certificate), appends it, and writes its place, the pruning mark
    /// (blocks below it are not here) and the head, in one batch.
    pub fn import_finish(
        &self,
        head: ChainHead,
        record: &[u8],
        check: impl FnOnce(&CommittedBlock) -> Result<(), String>,
    ) -> Result<(), StoreError> {
        let decoded = decode_block_record(head.height, record)?;
        if decoded.committed.block.header.hash() != head.block_hash
            || decoded.committed.block.header.height != head.height
        {
            return Err(StoreError::Snapshot(
                "the head block's record is not the block the snapshot's head names".into(),
            ));
        }
        check(&decoded.committed).map_err(StoreError::Snapshot)?;
        let ptr = self.log.append(head.height, record)?;
        self.store.write_batch(vec![
            (
                height_key(prefix::BLOCK, head.height),
                Some(storage_encode(&ptr)?),
            ),
            (META_PRUNED.to_vec(), Some(codec::encode(&head.height))),
            (META_HEAD.to_vec(), Some(codec::encode(&head))),
        ])?;
        self.first_kept.store(head.height, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::{MemoryState, StateExt};

    #[test]
    fn a_snapshot_imports_only_into_an_empty_database_and_only_its_own_parts() {
        let db = ChainDb::new(MemStore::new());
        db.import_begin(Hash([7; 32])).expect("an empty database");
        let err = db.import_begin(Hash([7; 32])).expect_err("begun already");
        assert!(err.to_string().contains("already holds a chain"), "{err}");
        db.import_entries(vec![(vec![b'S', 1], vec![2]), (vec![b'L', 3], vec![4])])
            .expect("state and history heads");
        let err = db
            .import_entries(vec![(META_HEAD.to_vec(), vec![0])])
            .expect_err("a head smuggled in as an entry");
        assert!(
            err.to_string().contains("outside the snapshot's parts"),
            "{err}"
        );
        assert!(
            matches!(db.head(), Err(StoreError::NoHead)),
            "no head until finished"
        );
        let page = db.snapshot_page(b'S', None, 10).expect("page");
        assert_eq!(page, vec![(vec![b'S', 1], vec![2])]);
    }

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

    /// Executes `blocks` of transfers from the dev preset's bank to a few users, both
    /// on a [`ChainDb`] (history through segment links) and on plain memory state (the
    /// runtime's own index), and returns both.
    fn two_histories(segment_bytes: u64) -> (ChainDb<MemStore>, MemoryState, Vec<Address>, Height) {
        use jeon_genesis::{Preset, PresetKeys};
        use jeon_runtime::block::{Block, Certificate, Header};
        use jeon_runtime::execute::{execute_block, BlockContext};
        use jeon_runtime::{calls, Call, Keypair, StateExt, TxBody};

        let keys = PresetKeys::from_seed_labels(&Preset::Dev.key_names());
        let genesis = Preset::Dev.spec(&keys, 1_700_000_000_000).expect("dev");
        let spec = crate::chain::ChainSpec::from_genesis(&genesis).expect("spec");
        let db = ChainDb {
            store: MemStore::new(),
            index: TxIndex::new(Box::new(MemSegments::new())),
            log: BlockLog::with_segment_bytes(Box::new(MemSegments::new()), segment_bytes),
            first_kept: AtomicU64::new(1),
            cache: Mutex::new(VecDeque::new()),
            reads: StateCache::default(),
            staged: RwLock::new(None),
            replay: Mutex::new(None),
            capture: Default::default(),
        };
        let mut head = db
            .init_genesis(
                spec.chain_id,
                &spec.genesis_changes,
                spec.genesis_app_hash,
                spec.genesis_time_ms,
            )
            .expect("genesis");
        let mut mem = MemoryState::new();
        mem.apply(&spec.genesis_changes);
        let bank = keys.get("hanbit-bank").expect("bank key");
        let users: Vec<Address> = (0..4)
            .map(|i| Keypair::from_seed_label(&format!("user-{i}")).address())
            .collect();
        let fee_asset = db.params().expect("params").fee_asset;
        let mut nonce = db.nonce(&bank.address()).expect("nonce");
        let heights = 12;
        for height in 1..=heights {
            let txs: Vec<_> = (0..(height % 4 + 1))
                .map(|i| {
                    let to = users[((height + i) % 4) as usize];
                    let tx = TxBody {
                        chain_id: spec.chain_id,
                        sender: bank.address(),
                        nonce,
                        fee_limit: 1_000_000,
                        expiry: 1_000,
                        call: Call::Transfer(calls::Transfer {
                            to,
                            asset: fee_asset,
                            amount: 100 + height,
                        }),
                        fee_payer: None,
                    }
                    .sign(bank);
                    nonce += 1;
                    tx.verify(&spec.chain_id).expect("valid")
                })
                .collect();
            let ctx = BlockContext {
                chain_id: spec.chain_id,
                height,
                time_ms: spec.genesis_time_ms + height * 1000,
                proposer: bank.address(),
            };
            let output = execute_block(&db, &ctx, &txs).expect("execute");
            assert!(output.receipts.iter().all(Receipt::is_success));
            mem.apply(&output.changes);
            let header = Header {
                chain_id: spec.chain_id,
                height,
                prev_hash: head.block_hash,
                time_ms: ctx.time_ms,
                proposer: ctx.proposer,
                tx_root: Hash::ZERO,
                receipts_root: Hash::ZERO,
                app_hash: head.app_hash,
                validators_hash: Hash::ZERO,
                next_validators_hash: Hash::ZERO,
            };
            let committed = CommittedBlock {
                certificate: Certificate {
                    height,
                    round: 0,
                    block: header.hash(),
                    // The stores do not check certificates: `users[0]` "signs" every
                    // block and `users[1]` the first five, for the last-signed index.
                    signatures: [(users[0], heights), (users[1], 5)]
                        .into_iter()
                        .filter(|(_, until)| height <= *until)
                        .map(|(validator, _)| jeon_runtime::block::CommitSig {
                            validator,
                            signature: jeon_runtime::Signature([0; 64]),
                        })
                        .collect(),
                },
                block: Block {
                    header,
                    txs: txs.iter().map(|t| t.tx().clone()).collect(),
                },
            };
            head = db.commit_block(&committed, &output).expect("commit");
        }
        let mut accounts = users;
        accounts.push(bank.address());
        (db, mem, accounts, heights)
    }

    #[test]
    fn cached_state_reads_equal_the_state_after_every_commit() {
        // Executing each block read every account it touched through the cache, and
        // each commit wrote them again: what the cache serves now must be the state.
        let (db, mem, _, _) = two_histories(1 << 20);
        let entries = mem.scan_prefix(&[], usize::MAX).expect("memory");
        assert!(entries.len() > 10);
        for (key, value) in entries {
            if key.first() == Some(&keys::HISTORY) {
                continue;
            }
            assert_eq!(
                StateRead::get(&db, &key).expect("read"),
                Some(value),
                "{key:?}"
            );
            let stored = db
                .store
                .get(&with_prefix(prefix::STATE, &key))
                .expect("read");
            assert_eq!(StateRead::get(&db, &key).expect("read"), stored);
        }
    }

    #[test]
    fn each_validators_last_signed_height_follows_the_certificates() {
        let (db, _, accounts, heights) = two_histories(1 << 20);
        assert_eq!(db.last_signed(&accounts[0]).expect("read"), Some(heights));
        assert_eq!(db.last_signed(&accounts[1]).expect("read"), Some(5));
        assert_eq!(db.last_signed(&accounts[2]).expect("read"), None);
    }

    #[test]
    fn history_walked_through_segment_links_equals_the_runtimes_index() {
        use jeon_runtime::economy::history::account_events;
        let (db, mem, accounts, _) = two_histories(1 << 20);
        for who in &accounts {
            let expected = account_events(&mem, who, 1_000, None).expect("memory");
            assert!(!expected.is_empty());
            assert_eq!(account_events(&db, who, 1_000, None).expect("db"), expected);
            // Paged by 3, from each page's last position.
            let mut paged = Vec::new();
            let mut before = None;
            loop {
                let page = account_events(&db, who, 3, before).expect("page");
                let Some(last) = page.last() else { break };
                before = Some(last.position);
                paged.extend(page);
            }
            assert_eq!(paged, expected);
            // `before` need not be one of the account's own entries.
            let cut = expected[expected.len() / 2].position;
            let foreign = EventPosition {
                event_index: cut.event_index + 7,
                ..cut
            };
            assert_eq!(
                account_events(&db, who, 1_000, Some(foreign)).expect("db"),
                account_events(&mem, who, 1_000, Some(foreign)).expect("memory"),
            );
        }
    }

    #[test]
    fn a_pruned_store_keeps_state_and_recent_blocks_and_says_what_it_dropped() {
        use jeon_runtime::economy::history::account_events;
        // Small segments: about one block each.
        let (db, mem, accounts, head) = two_histories(600);
        let first_tx = db.block(1).expect("block 1").expect("kept").block.txs[0].hash();
        let pruned = db.prune(4).expect("prune");
        assert!(pruned.first_kept > 1 && pruned.first_kept <= head - 3);
        assert_eq!(pruned.blocks, pruned.first_kept - 1);
        assert!(matches!(
            db.block(1),
            Err(StoreError::Pruned { height: 1, first_kept }) if first_kept == pruned.first_kept
        ));
        assert_eq!(db.tx_location(&first_tx).expect("lookup"), None);
        for height in pruned.first_kept..=head {
            let block = db.block(height).expect("kept").expect("present");
            let tx = block.block.txs[0].hash();
            assert_eq!(
                db.tx_location(&tx).expect("lookup").map(|l| l.height),
                Some(height)
            );
        }
        // State is whole; history stops at the first pruned block.
        assert_eq!(db.app_hash().expect("db"), mem.app_hash().expect("memory"));
        for who in &accounts {
            let full = account_events(&mem, who, 1_000, None).expect("memory");
            let kept: Vec<_> = full
                .into_iter()
                .filter(|e| e.position.height >= pruned.first_kept)
                .collect();
            assert_eq!(account_events(&db, who, 1_000, None).expect("db"), kept);
        }
        // Pruning again with nothing new to drop changes nothing.
        assert_eq!(db.prune(4).expect("prune").first_kept, pruned.first_kept);
    }

    #[test]
    fn sled_and_memory_stores_scan_in_reverse_alike() {
        reverse_scans_page_newest_first_within_the_prefix(&MemStore::new());
        let dir = tempfile::tempdir().expect("tempdir");
        reverse_scans_page_newest_first_within_the_prefix(
            &SledStore::open(dir.path()).expect("open"),
        );
    }

    #[test]
    fn a_batch_a_crash_interrupted_is_finished_at_open_and_an_applied_one_is_not_repeated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let put = |k: &[u8], v: u8| (k.to_vec(), Some(vec![v]));
        let store = SledStore::open(dir.path()).expect("open");
        store
            .write_batch(vec![put(b"Sa", 1), put(b"Sb", 1), put(b"Sc", 1)])
            .expect("batch 1");
        // Batch 2 crashed halfway: its record is whole, one write of three inserted.
        let second = vec![put(b"Sa", 2), put(b"Sb", 2), (b"Sc".to_vec(), None)];
        crate::sledwal::write(dir.path(), &crate::sledwal::encode(2, &second)).expect("record");
        store.tree.insert(b"Sa", vec![2]).expect("insert");
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.get(b"Sa").expect("get"), Some(vec![2]));
        assert_eq!(
            store.get(b"Sb").expect("get"),
            Some(vec![2]),
            "finished at open"
        );
        assert_eq!(store.get(b"Sc").expect("get"), None, "its removal too");
        store.write_batch(vec![put(b"Sa", 3)]).expect("batch 3");
        // An applied record (batch 2 again) is never inserted over newer writes.
        crate::sledwal::write(dir.path(), &crate::sledwal::encode(2, &second)).expect("record");
        drop(store);
        let store = SledStore::open(dir.path()).expect("reopen");
        assert_eq!(store.get(b"Sa").expect("get"), Some(vec![3]));
    }

    #[test]
    fn an_open_waits_for_a_lock_released_soon_and_reports_one_held_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = SledStore::open(dir.path()).expect("open");
        let dropper = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(first);
        });
        let second = SledStore::open(dir.path()).expect("the lock is released within the wait");
        dropper.join().expect("dropper");
        let err = match SledStore::open(dir.path()) {
            Ok(_) => panic!("the second handle still holds the lock"),
            Err(e) => e,
        };
        assert!(err.to_string().contains("could not acquire lock"), "{err}");
        drop(second);
    }
}
