//! The snapshot format (docs/operations.md §9): a chain's state at a certified height as
//! checksummed frames, written from a database and checked into an empty one. The CLI's
//! `jeon snapshot export|import` and the node share this one implementation.
//!
//! File: the magic `JEONSNAP`, then frames `[payload length u32 LE][BLAKE3 of the
//! payload, 32 bytes][payload]`. The first payload is the [`Header`] (version, chain id,
//! head, the head block's record with its certificate, and the validator-set changes
//! from genesis to the head's set), then chunks (up to [`CHUNK_ENTRIES_MAX`] database
//! entries each), then the end (how many chunks and entries). Import checks every
//! frame's checksum as it reads it, the chain id, follows the set changes from the
//! genesis set with the proofs' sequential rule (`runtime::proof::follow_changes`,
//! docs/proofs.md §7), checks the head block's certificate against the set they lead
//! to, and recomputes the state's LtHash from the entries: the accumulator must be the
//! one stored and its app hash the head's. Nothing is final until all of that held.

use std::io::{Read, Write};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use jeon_runtime::block::{validators_hash, Certificate, Header as BlockHeader, ValidatorInfo};
use jeon_runtime::lthash::LtHash;
use jeon_runtime::proof::{follow_changes, ValidatorSetChange};
use jeon_runtime::smt;
use jeon_runtime::state::{keys, Entries};
use jeon_runtime::{codec, Hash, StateError, StateExt, StateRead};

use crate::proofs::set_changes;
use crate::store::{ChainDb, ChainHead, Store, StoreError, SNAPSHOT_PREFIXES};

/// The snapshot format's first bytes.
pub const MAGIC: &[u8; 8] = b"JEONSNAP";
/// The format version this build writes and reads (2: the header carries the
/// validator-set changes).
pub const SNAPSHOT_VERSION: u32 = 2;
/// Database entries per chunk.
pub const CHUNK_ENTRIES_MAX: usize = 16_384;
/// The largest frame read: a chunk of large entries, or a header with a full block.
pub const FRAME_BYTES_MAX: u32 = 256 << 20;
/// The most chunks one snapshot may have (about 16 billion entries).
pub const CHUNKS_MAX: u64 = 1 << 20;
/// The most validator-set changes a header may carry.
pub const SET_CHANGES_MAX: usize = 4_096;

/// One frame's payload.
#[derive(Serialize, Deserialize)]
pub enum Frame {
    /// The first frame.
    Header(Box<Header>),
    /// Database entries (keys with their prefix).
    Chunk(Entries),
    /// The last frame.
    End {
        /// How many chunks came before it.
        chunks: u64,
        /// How many entries they held.
        entries: u64,
    },
}

/// What a snapshot is of, and what certifies it.
#[derive(Serialize, Deserialize)]
pub struct Header {
    /// [`SNAPSHOT_VERSION`] when written.
    pub version: u32,
    /// The chain's genesis hash.
    pub chain_id: Hash,
    /// The head the state is at.
    pub head: ChainHead,
    /// The head block's stored record: the block, its certificate, receipts, links.
    pub record: Vec<u8>,
    /// The validator-set changes below the certified block (the successor if there is
    /// one, else the head), oldest first (docs/proofs.md §7): they lead from the
    /// genesis set to the set that certified it.
    pub validator_changes: Vec<ValidatorSetChange>,
    /// The block above the head, whose header commits to the state after the head
    /// (`app_hash`) and names the head (`prev_hash`), with its certificate. A running
    /// node's checkpoints carry it; an export from a stopped node cannot.
    pub successor: Option<Successor>,
}

/// The header and certificate of the block above a snapshot's head.
#[derive(Serialize, Deserialize)]
pub struct Successor {
    /// Its header.
    pub header: BlockHeader,
    /// Its certificate.
    pub certificate: Certificate,
}

/// Why a snapshot could not be written or was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A frame is damaged, missing or out of place.
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
    /// Well formed, but not the chain's certified state.
    #[error("snapshot refused: {0}")]
    Refused(String),
    /// Reading or writing the database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing the snapshot's bytes.
    #[error("snapshot I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// What a write or an import did.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// The snapshot's height.
    pub height: u64,
    /// The app hash at it.
    pub app_hash: Hash,
    /// Chunks written or read.
    pub chunks: u64,
    /// Entries written or read.
    pub entries: u64,
    /// Bytes written or read, magic included.
    pub bytes: u64,
    /// Seconds it took (never 0).
    pub seconds: f64,
}

/// The header of `db`'s head (a stopped node: no successor).
pub fn head_header<S: Store>(db: &ChainDb<S>) -> Result<Header, SnapshotError> {
    header_at(db, db.head()?, None)
}

/// The header of a snapshot at `head`: its record and the set changes that certify
/// it, or its successor.
pub fn header_at<S: Store>(
    db: &ChainDb<S>,
    head: ChainHead,
    successor: Option<Successor>,
) -> Result<Header, SnapshotError> {
    let (chain_id, record) = db.snapshot_record(head)?;
    let certified = successor.as_ref().map_or(head.height, |s| s.header.height);
    let validator_changes = set_changes(db, certified).map_err(|e| {
        SnapshotError::Refused(format!(
            "the validator-set changes below height {certified} cannot be read: {e}"
        ))
    })?;
    Ok(Header {
        version: SNAPSHOT_VERSION,
        chain_id,
        head,
        record,
        validator_changes,
        successor,
    })
}

fn write_frame(out: &mut impl Write, frame: &Frame) -> Result<u64, SnapshotError> {
    let payload = codec::encode(frame);
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| *l <= FRAME_BYTES_MAX)
        .ok_or_else(|| SnapshotError::Corrupt("a frame exceeds the frame limit".into()))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(blake3::hash(&payload).as_bytes())?;
    out.write_all(&payload)?;
    Ok(4 + 32 + u64::from(len))
}

/// The page of a stopped database: up to [`CHUNK_ENTRIES_MAX`] entries of `part`
/// below `before`, and where the next page starts.
pub fn db_page<S: Store>(
    db: &ChainDb<S>,
    part: u8,
    before: Option<&[u8]>,
) -> Result<(Entries, Option<Vec<u8>>), StoreError> {
    let page = db.snapshot_page(part, before, CHUNK_ENTRIES_MAX)?;
    let next = match page.last() {
        Some((last, _)) if page.len() >= CHUNK_ENTRIES_MAX => Some(last.clone()),
        _ => None,
    };
    Ok((page, next))
}

/// Writes a snapshot: `header`, then for each of [`SNAPSHOT_PREFIXES`] the pages
/// `page(part, before)` returns (entries in descending key order strictly below
/// `before`, and the next page's `before`, `None` when the part is done), then the end.
/// `page` must give the state at the header's height.
pub fn write(
    out: &mut impl Write,
    header: Header,
    mut page: impl FnMut(u8, Option<&[u8]>) -> Result<(Entries, Option<Vec<u8>>), StoreError>,
) -> Result<Stats, SnapshotError> {
    let started = Instant::now();
    let (height, app_hash) = (header.head.height, header.head.app_hash);
    out.write_all(MAGIC)?;
    let mut bytes = MAGIC.len() as u64;
    bytes += write_frame(out, &Frame::Header(Box::new(header)))?;
    let (mut chunks, mut entries) = (0u64, 0u64);
    for part in SNAPSHOT_PREFIXES {
        let mut before: Option<Vec<u8>> = None;
        loop {
            let (entries_page, next) = page(part, before.as_deref())?;
            if !entries_page.is_empty() {
                entries += entries_page.len() as u64;
                chunks += 1;
                bytes += write_frame(out, &Frame::Chunk(entries_page))?;
            }
            match next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
    }
    bytes += write_frame(out, &Frame::End { chunks, entries })?;
    out.flush()?;
    Ok(Stats {
        height,
        app_hash,
        chunks,
        entries,
        bytes,
        seconds: started.elapsed().as_secs_f64().max(1e-9),
    })
}

/// Reads frames, checking each one's length bound and checksum.
pub struct FrameReader<R> {
    r: R,
    /// Bytes read so far, magic included.
    pub bytes: u64,
}

impl<R: Read> FrameReader<R> {
    /// Reads the magic and the header frame, and checks the version.
    pub fn open(mut r: R) -> Result<(Self, Header), SnapshotError> {
        let mut magic = [0u8; 8];
        if r.read_exact(&mut magic).is_err() || &magic != MAGIC {
            return Err(SnapshotError::Corrupt("not a Jeon snapshot".into()));
        }
        let mut reader = FrameReader { r, bytes: 8 };
        let Frame::Header(header) = reader.next_frame()? else {
            return Err(SnapshotError::Corrupt("no header".into()));
        };
        if header.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Refused(format!(
                "snapshot version {} is not supported (this jeon reads {SNAPSHOT_VERSION})",
                header.version
            )));
        }
        if header.validator_changes.len() > SET_CHANGES_MAX {
            return Err(SnapshotError::Corrupt(format!(
                "the header carries more than {SET_CHANGES_MAX} validator-set changes"
            )));
        }
        Ok((reader, *header))
    }

    /// The next frame.
    pub fn next_frame(&mut self) -> Result<Frame, SnapshotError> {
        let corrupt = SnapshotError::Corrupt;
        let mut len = [0u8; 4];
        let mut sum = [0u8; 32];
        self.r
            .read_exact(&mut len)
            .and_then(|()| self.r.read_exact(&mut sum))
            .map_err(|e| corrupt(format!("truncated ({e})")))?;
        let len = u32::from_le_bytes(len);
        if len > FRAME_BYTES_MAX {
            return Err(corrupt(format!(
                "a frame of {len} bytes exceeds {FRAME_BYTES_MAX}"
            )));
        }
        let mut payload = vec![0u8; len as usize];
        self.r
            .read_exact(&mut payload)
            .map_err(|e| corrupt(format!("truncated ({e})")))?;
        if blake3::hash(&payload).as_bytes() != &sum {
            return Err(corrupt(format!(
                "the frame at byte {} fails its checksum",
                self.bytes
            )));
        }
        self.bytes += 36 + u64::from(len);
        codec::decode(&payload, payload.len())
            .map_err(|e| corrupt(format!("a frame does not decode: {e}")))
    }
}

/// The app hash of an accumulator and a sparse Merkle root node: what
/// `StateExt::app_hash` gives for a state that holds only them. The root node is a
/// committed entry, so the LtHash check already vouches for it.
struct Accumulator(Vec<u8>, Option<Vec<u8>>);

impl StateRead for Accumulator {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if key == smt::node_key(0, &smt::EMPTY).as_slice() {
            return Ok(self.1.clone());
        }
        Ok((key == keys::lthash().as_slice()).then(|| self.0.clone()))
    }
}

/// The validator set that certified the snapshot: the genesis set followed through
/// the carried changes. With a successor, checks it here, before any entry is read: it
/// is the block above the head (`prev_hash`), names the head's app hash, and its
/// certificate holds more than 2/3 of that set's power.
pub fn certifying_set(
    header: &Header,
    chain_id: &Hash,
    genesis: &[ValidatorInfo],
) -> Result<Vec<ValidatorInfo>, SnapshotError> {
    let refused = SnapshotError::Refused;
    if header.chain_id != *chain_id {
        return Err(refused(format!(
            "the snapshot is of chain {}, the genesis file of chain {chain_id}",
            header.chain_id
        )));
    }
    let (set, last) = follow_changes(&header.validator_changes, chain_id, genesis)
        .map_err(|e| refused(e.to_string()))?;
    let head = &header.head;
    let certified = header
        .successor
        .as_ref()
        .map_or(head.height, |s| s.header.height);
    if certified <= last {
        return Err(refused(format!(
            "the certified block (height {certified}) is not above the last validator-set change (height {last})"
        )));
    }
    if let Some(next) = &header.successor {
        let h = &next.header;
        if h.chain_id != *chain_id || h.height != head.height + 1 || h.prev_hash != head.block_hash
        {
            return Err(refused(format!(
                "the successor (height {}) is not the block above the head (height {})",
                h.height, head.height
            )));
        }
        if h.app_hash != head.app_hash {
            return Err(refused(format!(
                "the successor certifies app hash {}, the head claims {}",
                h.app_hash, head.app_hash
            )));
        }
        check_certified(h, &next.certificate, chain_id, set).map_err(refused)?;
    }
    Ok(set.to_vec())
}

/// `header` names `set` and `certificate` holds more than 2/3 of its power for it.
fn check_certified(
    header: &BlockHeader,
    certificate: &Certificate,
    chain_id: &Hash,
    set: &[ValidatorInfo],
) -> Result<(), String> {
    let set_hash = validators_hash(set);
    if header.validators_hash != set_hash {
        return Err(format!(
            "block {} names validator set {}, the carried set changes lead to {set_hash}",
            header.height, header.validators_hash
        ));
    }
    if certificate.height != header.height {
        return Err(format!(
            "block {}'s certificate is for height {}",
            header.height, certificate.height
        ));
    }
    certificate
        .verify(chain_id, &header.hash(), set)
        .map_err(|e| format!("block {}'s certificate does not verify: {e}", header.height))
}

/// Reads the chunks into `db` (empty), recomputing the LtHash, then checks the head
/// against it and the head block's certificate against `set` (from
/// [`certifying_set`]). On an error `db` holds a partial import without a head: the
/// caller removes it.
pub fn import<R: Read, S: Store>(
    reader: &mut FrameReader<R>,
    header: &Header,
    set: &[ValidatorInfo],
    db: &ChainDb<S>,
) -> Result<Stats, SnapshotError> {
    let started = Instant::now();
    db.import_begin(header.chain_id)?;
    let (sum, chunks, entries) = import_chunks(reader, db)?;
    let app_hash = sum
        .app_hash(header.head.app_hash)
        .map_err(SnapshotError::Refused)?;
    let chain_id = header.chain_id;
    let by_successor = header.successor.is_some();
    // The changes below the head (checked by `certifying_set`): this node holds none
    // of their blocks, and its proofs and snapshots must carry them.
    db.archive_set_changes(&header.validator_changes)?;
    db.import_finish(header.head, &header.record, |committed| {
        // With a successor, the head block is certified through its `prev_hash`
        // (checked in `certifying_set`, and the record's hash is the head's).
        if by_successor {
            return Ok(());
        }
        check_certified(
            &committed.block.header,
            &committed.certificate,
            &chain_id,
            set,
        )
    })?;
    Ok(Stats {
        height: header.head.height,
        app_hash,
        chunks,
        entries,
        bytes: reader.bytes,
        seconds: started.elapsed().as_secs_f64().max(1e-9),
    })
}

/// What the chunks held: the state's sum, chunks, entries.
type ChunksRead = (StateSum, u64, u64);

/// A state's app hash recomputed from its entries: the LtHash of every committed
/// entry must equal the accumulator stored beside them, and the accumulator with the
/// sparse Merkle tree's root node must give the head's app hash. Shared by a snapshot's
/// import and [`verify_state`].
#[derive(Default)]
struct StateSum {
    acc: LtHash,
    stored_acc: Option<Vec<u8>>,
    smt_root: Option<Vec<u8>>,
}

impl StateSum {
    /// Adds one entry of the database (its key with the part's prefix): entries
    /// outside the state part are not summed.
    fn add(&mut self, key: &[u8], value: &[u8]) {
        let Some((&b'S', state_key)) = key.split_first() else {
            return;
        };
        if state_key == smt::node_key(0, &smt::EMPTY).as_slice() {
            self.smt_root = Some(value.to_vec());
        }
        if state_key == keys::lthash().as_slice() {
            self.stored_acc = Some(value.to_vec());
        } else if keys::is_committed(state_key) {
            self.acc.add(state_key, value);
        }
    }

    /// The app hash the entries give, if it is `expected`; otherwise why not.
    fn app_hash(self, expected: Hash) -> Result<Hash, String> {
        if self.stored_acc.as_deref() != Some(self.acc.as_bytes()) {
            return Err("its entries do not add up to the state's accumulator".into());
        }
        let app_hash = Accumulator(self.acc.as_bytes().to_vec(), self.smt_root)
            .app_hash()
            .map_err(|e| e.to_string())?;
        if app_hash != expected {
            return Err(format!(
                "its state's app hash {app_hash} is not the head's {expected}"
            ));
        }
        Ok(app_hash)
    }
}

/// Reads a stopped database's whole state and checks that it is the state its head
/// names (the same check a snapshot's import makes): a database whose files lost or
/// rolled back entries fails it, even when its head reads back. Returns the app hash.
pub fn verify_state<S: Store>(db: &ChainDb<S>) -> Result<Hash, SnapshotError> {
    let head = db.head()?;
    let mut sum = StateSum::default();
    let mut before: Option<Vec<u8>> = None;
    loop {
        let (page, next) = db_page(db, b'S', before.as_deref())?;
        for (key, value) in &page {
            sum.add(key, value);
        }
        match next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    sum.app_hash(head.app_hash).map_err(|why| {
        SnapshotError::Refused(format!(
            "the database's state at height {}: {why}",
            head.height
        ))
    })
}

fn import_chunks<R: Read, S: Store>(
    reader: &mut FrameReader<R>,
    db: &ChainDb<S>,
) -> Result<ChunksRead, SnapshotError> {
    let mut sum = StateSum::default();
    let (mut chunks, mut entries) = (0u64, 0u64);
    loop {
        match reader.next_frame()? {
            Frame::Header(_) => return Err(SnapshotError::Corrupt("a second header".into())),
            Frame::End {
                chunks: c,
                entries: e,
            } => {
                if (c, e) != (chunks, entries) {
                    return Err(SnapshotError::Corrupt(format!(
                        "it ends claiming {c} chunks and {e} entries, it held {chunks} and {entries}"
                    )));
                }
                return Ok((sum, chunks, entries));
            }
            Frame::Chunk(page) => {
                chunks += 1;
                entries += page.len() as u64;
                if chunks > CHUNKS_MAX {
                    return Err(SnapshotError::Corrupt("too many chunks".into()));
                }
                for (key, value) in &page {
                    sum.add(key, value);
                }
                db.import_entries(page)?;
            }
        }
    }
}
