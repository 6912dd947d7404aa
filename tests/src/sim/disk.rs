//! Storage faults for the simulator (TigerBeetle's model, on one replica): seeded,
//! deterministic faults on the writes and reads of a node's persistent storage, at
//! the layer the real node reads through, so its own checks are what detects them.
//!
//! Three wrappers, beside (not instead of) the in-memory stores, one per part of a
//! node's data directory:
//!
//! - [`FaultyStore`] is the sled database (`db/`): a [`MemStore`] whose values carry a
//!   checksum of key and value, as sled's log frames carry a CRC that sled checks when
//!   it reads a page. A corrupted write stores a value with a flipped bit under the
//!   intended value's checksum; a misdirected write leaves the intended key without its
//!   value (its old bytes under the new checksum) and lands on another key (the new
//!   bytes under that key's checksum). Either is detected when the key is read, and
//!   read as sled's own corruption report ([`StoreError::DbCorrupt`]), which the node
//!   handles as it handles sled's. A torn batch, at a crash, is lost whole: sled's batch
//!   is atomic (its log frame fails its CRC), so the last batch is undone.
//! - [`FaultySegments`] is the block log (`blocks/`): bytes, checked by the node's own
//!   frame checksums (`segments::BlockLog`). A corrupted append flips a bit; a
//!   misdirected append lands over earlier bytes of the segment and leaves zeros where
//!   it belonged; a crash may tear the next append, leaving a prefix of a frame at the
//!   end.
//! - [`FaultySigner`] is the signer record (`signer/state`, `signer/lock`): the bytes
//!   of the real files, written with the real encoding and read with the real
//!   checksummed decoding (`signer::state`). A corrupted save flips a bit; a misdirected
//!   one leaves zeros in the record (a fresh temporary file's block) and lands on the
//!   lock file. The record is read only at start, where either stops the node. Saves
//!   are never torn: the real store writes a temporary file and renames it, so a torn
//!   save is a leftover temporary file that is ignored (`signer::state`'s tests), and
//!   the simulator cannot tear a save whose signature it already sent.
//!
//! Every read (of a value, a scan, a segment) may fail with an I/O error. The
//! transaction index (`txindex/`) is not faulted: it is derived from the block log and
//! rebuilt from it at every start.

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use jeon_node::segments::{MemSegments, SegmentError, SegmentFiles};
use jeon_node::signer::state::{decode_lock, decode_state, encode_lock, encode_state};
use jeon_node::signer::{MemSignerStore, Persisted, SignedRecord, SignerStore, SignerStoreError};
use jeon_node::store::{MemStore, Store, StoreError, Writes};
use jeon_runtime::state::{Entries, StateError};
use jeon_runtime::Height;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How often each fault strikes the faulty replica, while faults are on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StorageFaults {
    /// Chance that a write (a database batch, a segment append, a signer save) lands
    /// with a flipped bit.
    pub corrupt_write: f64,
    /// Chance that a write lands at another key or offset.
    pub misdirect_write: f64,
    /// Chance that a read fails with an I/O error.
    pub fail_read: f64,
    /// Chance that a crash tears the writes in flight (the last database batch is lost,
    /// and a prefix of a next frame lands at the end of the block log).
    pub torn_at_crash: f64,
    /// Whether the signer record's saves are faulted too. A replica whose record is
    /// damaged refuses to start for good, so this is on only where it leaves no more
    /// than `f` validators faulty.
    pub signer: bool,
}

impl StorageFaults {
    /// The sweep's rates: a few faults of each kind per run on the faulty replica.
    pub const DEFAULT: StorageFaults = StorageFaults {
        corrupt_write: 0.02,
        misdirect_write: 0.01,
        fail_read: 0.000_5,
        torn_at_crash: 0.5,
        signer: true,
    };
}

/// What the faults did, and what the node and the simulator did about them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Writes stored with a flipped bit.
    pub corrupted: u64,
    /// Writes that landed elsewhere.
    pub misdirected: u64,
    /// Reads that failed.
    pub failed_reads: u64,
    /// Crashes that tore the writes in flight.
    pub torn: u64,
    /// Times the node stopped (or refused to start) on an error its storage reported.
    pub stops: u64,
    /// Times the node's data (`db/`, `blocks/`, `txindex/`) was wiped to re-sync, after
    /// it reported damage.
    pub wipes: u64,
    /// Whether the node refused to start on a damaged signer record (for good).
    pub signer_refused: bool,
    /// Times it came back below a block it had finalized: a crash tore that block's
    /// store batch and its record was damaged too, so it syncs the block again.
    pub rewinds: u64,
}

/// The faults' dice and switch, shared by one node's wrappers.
pub(crate) struct Injector {
    faults: StorageFaults,
    state: Mutex<InjectorState>,
}

struct InjectorState {
    rng: StdRng,
    on: bool,
    /// Reads do not fail while set (the simulator's own checks read).
    reads_quiet: bool,
    counts: FaultCounts,
}

/// Which fault a write suffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteFault {
    None,
    Corrupt,
    Misdirect,
}

impl Injector {
    /// An injector for one node, seeded from the run's seed.
    pub(crate) fn new(faults: StorageFaults, seed: u64) -> Arc<Injector> {
        Arc::new(Injector {
            faults,
            state: Mutex::new(InjectorState {
                rng: StdRng::seed_from_u64(seed ^ 0x5354_4f52_4147_4521),
                on: true,
                reads_quiet: false,
                counts: FaultCounts::default(),
            }),
        })
    }

    /// The rates.
    pub(crate) fn faults(&self) -> StorageFaults {
        self.faults
    }

    /// Stops injecting (the liveness phase); what is stored stays as it is.
    pub(crate) fn stop(&self) {
        lock(&self.state).on = false;
    }

    /// Reads do not fail while `quiet` (stored damage is still seen).
    pub(crate) fn quiet_reads(&self, quiet: bool) {
        lock(&self.state).reads_quiet = quiet;
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> FaultCounts {
        lock(&self.state).counts
    }

    /// Updates the counts.
    pub(crate) fn count(&self, f: impl FnOnce(&mut FaultCounts)) {
        f(&mut lock(&self.state).counts);
    }

    fn write_fault(&self) -> WriteFault {
        let mut s = lock(&self.state);
        if !s.on {
            return WriteFault::None;
        }
        let roll: f64 = s.rng.gen();
        if roll < self.faults.corrupt_write {
            s.counts.corrupted += 1;
            WriteFault::Corrupt
        } else if roll < self.faults.corrupt_write + self.faults.misdirect_write {
            s.counts.misdirected += 1;
            WriteFault::Misdirect
        } else {
            WriteFault::None
        }
    }

    fn read_fails(&self) -> bool {
        let mut s = lock(&self.state);
        if !s.on || s.reads_quiet || !s.rng.gen_bool(self.faults.fail_read) {
            return false;
        }
        s.counts.failed_reads += 1;
        true
    }

    /// Whether a crash now tears the writes in flight.
    pub(crate) fn tears(&self) -> bool {
        let mut s = lock(&self.state);
        if !s.on || !s.rng.gen_bool(self.faults.torn_at_crash) {
            return false;
        }
        s.counts.torn += 1;
        true
    }

    /// A random index below `n` (> 0).
    fn below(&self, n: usize) -> usize {
        lock(&self.state).rng.gen_range(0..n)
    }

    /// Flips one random bit of `bytes` (not empty).
    fn flip(&self, bytes: &mut [u8]) {
        if bytes.is_empty() {
            return;
        }
        let bit = self.below(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
}

/// Locks `m`; a poisoned lock (a panicking test) still holds consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn io_failure() -> io::Error {
    io::Error::other(READ_FAILURE)
}

// ---- the database ----

/// Bytes of the checksum after every stored value.
const SUM_BYTES: usize = 8;

/// FNV-1a over key and value: the model of sled's per-frame CRC.
fn value_sum(key: &[u8], value: &[u8]) -> [u8; SUM_BYTES] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.iter().chain(&[0xff]).chain(value) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.to_le_bytes()
}

/// The database with checksummed values and faults ([module docs](self)).
pub(crate) struct FaultyStore {
    inner: MemStore,
    injector: Arc<Injector>,
    /// The node's name, for the path in errors.
    name: String,
    /// The last batch's pre-images, to undo it when a crash tears it.
    last_batch: Mutex<Option<Writes>>,
}

impl FaultyStore {
    /// An empty database of node `name`.
    pub(crate) fn new(name: &str, injector: Arc<Injector>) -> FaultyStore {
        FaultyStore {
            inner: MemStore::new(),
            injector,
            name: name.to_string(),
            last_batch: Mutex::new(None),
        }
    }

    /// A crash in the middle of the last batch: sled's batch is atomic, so it is lost.
    pub(crate) fn tear_last_batch(&self) {
        if let Some(undo) = lock(&self.last_batch).take() {
            // Undo writes carry sealed bytes already.
            let _ = self.inner.write_batch(undo);
        }
    }

    fn damaged(&self, key: &[u8]) -> StoreError {
        StoreError::DbCorrupt {
            dir: PathBuf::from(format!("sim/{}/db", self.name)),
            detail: format!("checksum mismatch in the page of key {}", hex(key)),
        }
    }

    fn read_failure(&self) -> StoreError {
        StoreError::State(StateError::Backend(READ_FAILURE.to_string()))
    }

    /// The value in stored bytes, checked against its checksum.
    fn open(&self, key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let at = sealed
            .len()
            .checked_sub(SUM_BYTES)
            .ok_or_else(|| self.damaged(key))?;
        let (value, sum) = sealed.split_at(at);
        if value_sum(key, value) != sum {
            return Err(self.damaged(key));
        }
        Ok(value.to_vec())
    }

    fn open_all(&self, entries: Entries) -> Result<Entries, StoreError> {
        entries
            .into_iter()
            .map(|(k, v)| {
                let v = self.open(&k, &v)?;
                Ok((k, v))
            })
            .collect()
    }

    fn seal(key: &[u8], value: &[u8]) -> Vec<u8> {
        let mut sealed = value.to_vec();
        sealed.extend_from_slice(&value_sum(key, value));
        sealed
    }

    /// Applies one fault to the sealed batch.
    fn fault(&self, sealed: &mut Writes) -> Result<(), StoreError> {
        let fault = self.injector.write_fault();
        let written: Vec<usize> = (0..sealed.len())
            .filter(|&i| sealed[i].1.is_some())
            .collect();
        if fault == WriteFault::None || written.is_empty() {
            return Ok(());
        }
        let i = written[self.injector.below(written.len())];
        let (key, value) = (sealed[i].0.clone(), sealed[i].1.clone().unwrap_or_default());
        let body = value.len() - SUM_BYTES;
        match fault {
            WriteFault::Corrupt => {
                let mut bytes = value[..body].to_vec();
                self.injector.flip(&mut bytes);
                bytes.extend_from_slice(&value[body..]);
                sealed[i].1 = Some(bytes);
            }
            WriteFault::Misdirect => {
                // The intended key keeps its old bytes (none: empty) under the new
                // checksum; the new bytes land on another stored key.
                let old = self.inner.get(&key)?.unwrap_or_default();
                let old_body = old
                    .get(..old.len().saturating_sub(SUM_BYTES))
                    .unwrap_or(&[]);
                let mut stale = old_body.to_vec();
                stale.extend_from_slice(&value[body..]);
                sealed[i].1 = Some(stale);
                let victims = self.inner.scan_prefix(&[], 4_096)?;
                if !victims.is_empty() {
                    let (vkey, vval) = &victims[self.injector.below(victims.len())];
                    let mut landed = value[..body].to_vec();
                    landed.extend_from_slice(&vval[vval.len().saturating_sub(SUM_BYTES)..]);
                    if *vkey != key {
                        sealed.push((vkey.clone(), Some(landed)));
                    }
                }
            }
            WriteFault::None => {}
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store for FaultyStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if self.injector.read_fails() {
            return Err(self.read_failure());
        }
        match self.inner.get(key)? {
            Some(sealed) => self.open(key, &sealed).map(Some),
            None => Ok(None),
        }
    }

    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StoreError> {
        if self.injector.read_fails() {
            return Err(self.read_failure());
        }
        self.open_all(self.inner.scan_prefix(prefix, limit)?)
    }

    fn write_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let mut sealed: Writes = writes
            .into_iter()
            .map(|(k, v)| {
                let v = v.map(|v| Self::seal(&k, &v));
                (k, v)
            })
            .collect();
        self.fault(&mut sealed)?;
        let mut undo = Vec::with_capacity(sealed.len());
        for (k, _) in &sealed {
            undo.push((k.clone(), self.inner.get(k)?));
        }
        undo.reverse();
        self.inner.write_batch(sealed)?;
        *lock(&self.last_batch) = Some(undo);
        Ok(())
    }

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StoreError> {
        if self.injector.read_fails() {
            return Err(self.read_failure());
        }
        self.open_all(self.inner.scan_prefix_rev(prefix, before, limit)?)
    }
}

// ---- the block log ----

/// A segment and the bytes last appended to it.
type LastAppend = (Height, Vec<u8>);

/// The block log's files with faults ([module docs](self)). Clones share the files.
#[derive(Clone)]
pub(crate) struct FaultySegments {
    inner: MemSegments,
    injector: Arc<Injector>,
    /// The last append: its segment and bytes, to tear the next one like it.
    last_append: Arc<Mutex<Option<LastAppend>>>,
}

impl FaultySegments {
    /// No segments.
    pub(crate) fn new(injector: Arc<Injector>) -> FaultySegments {
        FaultySegments {
            inner: MemSegments::new(),
            injector,
            last_append: Arc::new(Mutex::new(None)),
        }
    }

    /// A crash in the middle of the next append: a prefix of a frame for the height
    /// after the last one lands at the end of its segment.
    pub(crate) fn tear_next_append(&self) {
        let Some((segment, mut frame)) = lock(&self.last_append).take() else {
            return;
        };
        // The frame header: length u32, height u64 (one more), checksum.
        if let Some(height) = frame.get_mut(4..12) {
            let next = u64::from_le_bytes(height.try_into().unwrap_or([0; 8])) + 1;
            height.copy_from_slice(&next.to_le_bytes());
        }
        let keep = 1 + self.injector.below(frame.len().saturating_sub(1).max(1));
        frame.truncate(keep);
        let _ = self.inner.append(segment, &frame);
    }

    fn read_failure(segment: Height) -> SegmentError {
        SegmentError::Io {
            segment,
            source: io_failure(),
        }
    }
}

impl SegmentFiles for FaultySegments {
    fn list(&self) -> Result<Vec<Height>, SegmentError> {
        self.inner.list()
    }

    fn len(&self, segment: Height) -> Result<u64, SegmentError> {
        self.inner.len(segment)
    }

    fn read(&self, segment: Height, offset: u64, len: usize) -> Result<Vec<u8>, SegmentError> {
        if self.injector.read_fails() {
            return Err(Self::read_failure(segment));
        }
        self.inner.read(segment, offset, len)
    }

    fn append(&self, segment: Height, bytes: &[u8]) -> Result<(), SegmentError> {
        *lock(&self.last_append) = Some((segment, bytes.to_vec()));
        match self.injector.write_fault() {
            WriteFault::None => self.inner.append(segment, bytes),
            WriteFault::Corrupt => {
                let mut landed = bytes.to_vec();
                self.injector.flip(&mut landed);
                self.inner.append(segment, &landed)
            }
            WriteFault::Misdirect => {
                let len = self.inner.len(segment)?;
                self.inner.append(segment, &vec![0; bytes.len()])?;
                if len > 0 {
                    // Over earlier bytes of the segment: rewrite it with them replaced.
                    let mut all = self.inner.read(segment, 0, (len as usize) + bytes.len())?;
                    let at = self.injector.below(len as usize);
                    let end = (at + bytes.len()).min(len as usize);
                    all[at..end].copy_from_slice(&bytes[..end - at]);
                    self.inner.truncate(segment, 0)?;
                    self.inner.append(segment, &all)?;
                }
                Ok(())
            }
        }
    }

    fn truncate(&self, segment: Height, len: u64) -> Result<(), SegmentError> {
        self.inner.truncate(segment, len)
    }

    fn remove(&self, segment: Height) -> Result<(), SegmentError> {
        self.inner.remove(segment)
    }
}

// ---- the signer record ----

#[derive(Default)]
struct SignerFiles {
    state: Option<Vec<u8>>,
    lock: Option<Vec<u8>>,
    saves: u64,
}

/// The signer record's two files with faults ([module docs](self)). Clones share them.
#[derive(Clone)]
pub(crate) struct FaultySigner {
    files: Arc<Mutex<SignerFiles>>,
    injector: Arc<Injector>,
    name: String,
}

impl FaultySigner {
    /// No record.
    pub(crate) fn new(name: &str, injector: Arc<Injector>) -> FaultySigner {
        FaultySigner {
            files: Arc::default(),
            injector,
            name: name.to_string(),
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        PathBuf::from(format!("sim/{}/signer/{file}", self.name))
    }

    /// The record as the real decoding reads it (`None`: none, or damaged).
    pub(crate) fn record(&self) -> Option<SignedRecord> {
        let files = lock(&self.files);
        files.state.as_deref().and_then(|b| decode_state(b).ok())
    }

    /// Saves that returned.
    pub(crate) fn saves(&self) -> u64 {
        lock(&self.files).saves
    }

    fn store(&self, files: &mut SignerFiles, lock_file: bool, mut bytes: Vec<u8>) {
        if !self.injector.faults().signer {
            return Self::put(files, lock_file, bytes);
        }
        match self.injector.write_fault() {
            WriteFault::None => Self::put(files, lock_file, bytes),
            WriteFault::Corrupt => {
                self.injector.flip(&mut bytes);
                Self::put(files, lock_file, bytes);
            }
            WriteFault::Misdirect => {
                Self::put(files, lock_file, vec![0; bytes.len()]);
                Self::put(files, !lock_file, bytes);
            }
        }
    }

    fn put(files: &mut SignerFiles, lock_file: bool, bytes: Vec<u8>) {
        match lock_file {
            true => files.lock = Some(bytes),
            false => files.state = Some(bytes),
        }
    }
}

impl SignerStore for FaultySigner {
    fn load(&self) -> Result<Option<Persisted>, SignerStoreError> {
        let files = lock(&self.files);
        let Some(state) = files.state.as_deref() else {
            return Ok(None);
        };
        if self.injector.read_fails() {
            return Err(SignerStoreError::Io {
                path: self.path("state"),
                op: "read",
                source: io_failure(),
            });
        }
        let corrupt = |path: PathBuf| move |reason| SignerStoreError::Corrupt { path, reason };
        let record = decode_state(state).map_err(corrupt(self.path("state")))?;
        let lock_proof = match files.lock.as_deref() {
            Some(bytes) => Some(decode_lock(bytes).map_err(corrupt(self.path("lock")))?),
            None => None,
        };
        Ok(Some(Persisted { record, lock_proof }))
    }

    fn save(
        &mut self,
        record: &SignedRecord,
        lock_proof: Option<&[u8]>,
    ) -> Result<(), SignerStoreError> {
        let mut files = lock(&self.files);
        if let Some(proof) = lock_proof {
            let bytes = encode_lock(proof)?;
            self.store(&mut files, true, bytes);
        }
        self.store(&mut files, false, encode_state(record));
        files.saves += 1;
        Ok(())
    }
}

/// One node's persistent storage: the plain in-memory stores, or the faulty ones.
pub(crate) enum Disk {
    /// No faults.
    Plain {
        store: Arc<MemStore>,
        index: MemSegments,
        segments: MemSegments,
        signer: MemSignerStore,
    },
    /// Faults from `injector`.
    Faulty {
        name: String,
        injector: Arc<Injector>,
        store: Arc<FaultyStore>,
        index: MemSegments,
        segments: FaultySegments,
        signer: FaultySigner,
    },
}

impl Disk {
    /// Empty plain storage.
    pub(crate) fn plain() -> Disk {
        Disk::Plain {
            store: Arc::new(MemStore::new()),
            index: MemSegments::new(),
            segments: MemSegments::new(),
            signer: MemSignerStore::new(),
        }
    }

    /// Empty faulty storage of node `name`.
    pub(crate) fn faulty(name: &str, injector: Arc<Injector>) -> Disk {
        Disk::Faulty {
            name: name.to_string(),
            store: Arc::new(FaultyStore::new(name, injector.clone())),
            index: MemSegments::new(),
            segments: FaultySegments::new(injector.clone()),
            signer: FaultySigner::new(name, injector.clone()),
            injector,
        }
    }

    /// The database.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Disk::Plain { store, .. } => store.clone(),
            Disk::Faulty { store, .. } => store.clone(),
        }
    }

    /// The transaction index's files.
    pub(crate) fn index(&self) -> Box<dyn SegmentFiles> {
        match self {
            Disk::Plain { index, .. } | Disk::Faulty { index, .. } => Box::new(index.clone()),
        }
    }

    /// The block log's files.
    pub(crate) fn segments(&self) -> Box<dyn SegmentFiles> {
        match self {
            Disk::Plain { segments, .. } => Box::new(segments.clone()),
            Disk::Faulty { segments, .. } => Box::new(segments.clone()),
        }
    }

    /// The signer record's store.
    pub(crate) fn signer(&self) -> Box<dyn SignerStore> {
        match self {
            Disk::Plain { signer, .. } => Box::new(signer.clone()),
            Disk::Faulty { signer, .. } => Box::new(signer.clone()),
        }
    }

    /// The signer record's height (0: none, or unreadable).
    pub(crate) fn record_height(&self) -> Height {
        match self {
            Disk::Plain { signer, .. } => signer.persisted().map_or(0, |p| p.record.height),
            Disk::Faulty { signer, .. } => signer.record().map_or(0, |r| r.height),
        }
    }

    /// Signer saves that returned: every new signature makes one.
    pub(crate) fn saves(&self) -> u64 {
        match self {
            Disk::Plain { signer, .. } => signer.saves(),
            Disk::Faulty { signer, .. } => signer.saves(),
        }
    }

    /// The injector, if faulty.
    pub(crate) fn injector(&self) -> Option<&Arc<Injector>> {
        match self {
            Disk::Plain { .. } => None,
            Disk::Faulty { injector, .. } => Some(injector),
        }
    }

    /// Loses the chain's data (`db/`, `blocks/`, `txindex/`), keeping the signer record.
    pub(crate) fn wipe_chain(&mut self) {
        match self {
            Disk::Plain {
                store,
                index,
                segments,
                ..
            } => {
                *store = Arc::new(MemStore::new());
                *index = MemSegments::new();
                *segments = MemSegments::new();
            }
            Disk::Faulty {
                name,
                injector,
                store,
                index,
                segments,
                ..
            } => {
                *store = Arc::new(FaultyStore::new(name, injector.clone()));
                *index = MemSegments::new();
                *segments = FaultySegments::new(injector.clone());
            }
        }
    }

    /// At a crash: maybe tears the writes in flight.
    pub(crate) fn crash(&self) {
        if let Disk::Faulty {
            injector,
            store,
            segments,
            ..
        } = self
        {
            if injector.tears() {
                store.tear_last_batch();
                segments.tear_next_append();
            }
        }
    }
}

/// The message of every simulated I/O error. State reads carry the store's error as
/// text ([`StateError::Backend`]), so this is how a failed read is told from damage, as
/// an operator tells them apart: by what the node said.
const READ_FAILURE: &str = "simulated I/O error: the read failed";

/// Whether a storage error is damage the node detected (a checksum, a missing record,
/// a database behind its block files), not a failed read: the operator's cue to re-sync
/// the node.
pub(crate) fn is_damage(e: &StoreError) -> bool {
    use jeon_node::store::StoreError as E;
    match e {
        E::Segment(SegmentError::Io { .. }) => false,
        E::State(StateError::Backend(msg)) => !msg.contains(READ_FAILURE),
        E::Segment(_)
        | E::Corrupt { .. }
        | E::CorruptBlock { .. }
        | E::BlockPointerMissing { .. }
        | E::DbCorrupt { .. }
        | E::DbBehindBlocks { .. }
        | E::NoHead
        | E::State(
            StateError::CorruptValue { .. }
            | StateError::CorruptAccumulator { .. }
            | StateError::MalformedKey { .. },
        ) => true,
        _ => false,
    }
}

/// Whether a storage error is a failed read (transient: a restart retries it).
pub(crate) fn is_read_failure(e: &StoreError) -> bool {
    match e {
        StoreError::Segment(SegmentError::Io { .. }) => true,
        StoreError::State(StateError::Backend(msg)) => msg.contains(READ_FAILURE),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn always(corrupt: f64, misdirect: f64, fail_read: f64) -> Arc<Injector> {
        Injector::new(
            StorageFaults {
                corrupt_write: corrupt,
                misdirect_write: misdirect,
                fail_read,
                torn_at_crash: 1.0,
                signer: true,
            },
            7,
        )
    }

    #[test]
    fn a_corrupted_or_misdirected_value_is_detected_when_read() {
        for (corrupt, misdirect) in [(1.0, 0.0), (0.0, 1.0)] {
            let store = FaultyStore::new("v0", always(0.0, 0.0, 0.0));
            store
                .write_batch(vec![(b"a".to_vec(), Some(b"old".to_vec()))])
                .expect("write");
            let faulty = FaultyStore {
                injector: always(corrupt, misdirect, 0.0),
                ..store
            };
            faulty
                .write_batch(vec![(b"b".to_vec(), Some(b"value".to_vec()))])
                .expect("write");
            let b = faulty.get(b"b");
            assert!(matches!(b, Err(StoreError::DbCorrupt { .. })), "{b:?}");
            if misdirect > 0.0 {
                let a = faulty.get(b"a");
                assert!(matches!(a, Err(StoreError::DbCorrupt { .. })), "{a:?}");
            }
        }
    }

    #[test]
    fn reads_fail_and_a_torn_batch_is_lost_whole() {
        let store = FaultyStore::new("v0", always(0.0, 0.0, 0.0));
        store
            .write_batch(vec![(b"a".to_vec(), Some(b"1".to_vec()))])
            .expect("write");
        store
            .write_batch(vec![
                (b"a".to_vec(), Some(b"2".to_vec())),
                (b"b".to_vec(), Some(b"2".to_vec())),
            ])
            .expect("write");
        store.tear_last_batch();
        assert_eq!(store.get(b"a").expect("read"), Some(b"1".to_vec()));
        assert_eq!(store.get(b"b").expect("read"), None);
        let failing = FaultyStore {
            injector: always(0.0, 0.0, 1.0),
            ..store
        };
        let read = failing.get(b"a");
        assert!(read.as_ref().is_err_and(is_read_failure), "{read:?}");
    }

    #[test]
    fn a_damaged_signer_record_is_an_error_never_no_record() {
        for (corrupt, misdirect) in [(1.0, 0.0), (0.0, 1.0)] {
            let mut signer = FaultySigner::new("v0", always(corrupt, misdirect, 0.0));
            let record = SignedRecord {
                height: 5,
                round: 0,
                step: 1,
                block: None,
                lock: None,
            };
            signer.save(&record, None).expect("save");
            let loaded = signer.load();
            assert!(
                matches!(loaded, Err(SignerStoreError::Corrupt { .. })),
                "{loaded:?}"
            );
        }
    }
}
