//! Where the signer guard keeps what it last signed: its own small files in the data
//! directory (`<data>/signer/`), apart from the chain database.
//!
//! Apart, because the record must outlive the chain: an operator who deletes `db/` or
//! restores an old backup of it must not get a validator that forgets what it signed
//! (the classic double-sign incident). Two files, each written to a temporary file,
//! fsynced, renamed over the old one, and the directory fsynced, before the signature
//! it covers is released:
//!
//! | File | Holds | Written |
//! |---|---|---|
//! | `state` | the [`SignedRecord`]: fixed 101 bytes, versioned, checksummed | before every new signature |
//! | `lock` | the lock's proof (locked block and its polka, as the replica encodes it) | before the `state` of a precommit for a block |
//!
//! `lock` goes first: a crash between the two leaves a proof newer than the record,
//! which the replica ignores because its block is not the record's lock. A leftover
//! `*.tmp` is a torn write and is ignored. A damaged `state` or `lock` is an error
//! naming the file, never "no record".

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jeon_runtime::{Hash, Height};
use serde::{Deserialize, Serialize};

use crate::chain::lock;

/// The signer's directory inside the data directory.
pub const SIGNER_DIR: &str = "signer";
/// The record's file name inside [`SIGNER_DIR`].
pub const STATE_FILE: &str = "state";
/// The lock proof's file name inside [`SIGNER_DIR`].
pub const LOCK_FILE: &str = "lock";
/// Appended to a file name while it is being written.
const TMP_SUFFIX: &str = "tmp";

/// First bytes of the `state` file.
const STATE_MAGIC: &[u8; 8] = b"JEONSGNR";
/// First bytes of the `lock` file.
const LOCK_MAGIC: &[u8; 8] = b"JEONLOCK";
/// The file format this code writes and reads (both files).
const FORMAT_VERSION: u16 = 1;
/// Bytes of the checksum at the end of both files: BLAKE3 of everything before it.
const CHECKSUM_BYTES: usize = 8;
/// The `state` file's exact size: magic 8, version 2, height 8, round 4, step 1,
/// block tag 1 + 32, lock tag 1 + round 4 + 32, checksum 8.
pub const STATE_FILE_BYTES: usize = 8 + 2 + 8 + 4 + 1 + 1 + 32 + 1 + 4 + 32 + CHECKSUM_BYTES;
/// The largest lock proof accepted: a consensus message's bound plus room for the
/// polka (the same bound the replica decodes it with).
pub const LOCK_PROOF_BYTES_MAX: usize = crate::wire::CONSENSUS_MSG_BYTES_MAX + (1 << 20);
/// The `lock` file's header: magic 8, version 2, payload length 4.
const LOCK_HEADER_BYTES: usize = 8 + 2 + 4;
/// The highest step: 0 proposal, 1 prevote, 2 precommit.
const STEP_MAX: u8 = 2;

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

/// What the signer store holds: the record and, if one was written, the lock's proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Persisted {
    /// The last record.
    pub record: SignedRecord,
    /// The last lock proof written (maybe of an older height; the replica checks).
    pub lock_proof: Option<Vec<u8>>,
}

/// Why the signer's record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SignerStoreError {
    /// A file could not be read, written, synced or renamed.
    #[error("signer state {path}: cannot {op}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// A file exists but does not hold a valid record: it was damaged or truncated.
    #[error(
        "signer state file {path} is damaged ({reason}). It is what stops this validator \
         from signing twice at one height, so the node will not start without it: restore \
         it from a backup, or, only if this key has signed nothing newer anywhere, restart \
         with --discard-signer-state (see docs/consensus.md §6)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The lock proof is larger than any valid one (a bug in the caller).
    #[error("lock proof of {bytes} bytes exceeds {LOCK_PROOF_BYTES_MAX}")]
    ProofTooLarge {
        /// Its size.
        bytes: usize,
    },
    /// The in-memory store was told to fail (tests).
    #[error("the in-memory signer store refuses writes (test)")]
    Unavailable,
}

/// Where the guard persists its record; nothing is signed until `save` returned.
pub trait SignerStore: Send {
    /// The persisted record and lock proof; `None` if nothing was ever signed.
    fn load(&self) -> Result<Option<Persisted>, SignerStoreError>;
    /// Durably writes `record`, after `lock_proof` if one is given (the previous proof
    /// is kept otherwise). Returns only once both are durable.
    fn save(
        &mut self,
        record: &SignedRecord,
        lock_proof: Option<&[u8]>,
    ) -> Result<(), SignerStoreError>;
}

// ---- encoding ----

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_BYTES] {
    let mut out = [0u8; CHECKSUM_BYTES];
    out.copy_from_slice(&blake3::hash(bytes).as_bytes()[..CHECKSUM_BYTES]);
    out
}

fn put_hash(out: &mut Vec<u8>, hash: Option<Hash>) {
    out.push(u8::from(hash.is_some()));
    out.extend_from_slice(&hash.unwrap_or(Hash::ZERO).0);
}

/// The `state` file's bytes for `record` (little-endian integers).
pub fn encode_state(record: &SignedRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(STATE_FILE_BYTES);
    out.extend_from_slice(STATE_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&record.height.to_le_bytes());
    out.extend_from_slice(&record.round.to_le_bytes());
    out.push(record.step);
    put_hash(&mut out, record.block);
    let (lock_round, lock_block) = record.lock.map_or((0, None), |(r, b)| (r, Some(b)));
    out.push(u8::from(lock_block.is_some()));
    out.extend_from_slice(&lock_round.to_le_bytes());
    out.extend_from_slice(&lock_block.unwrap_or(Hash::ZERO).0);
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    out
}

/// Reads fixed-size fields in order; every read is bounds-checked.
struct Fields<'a> {
    bytes: &'a [u8],
}

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let Some((head, rest)) = self.bytes.split_first_chunk::<N>() else {
            return Err("truncated".into());
        };
        self.bytes = rest;
        Ok(*head)
    }

    fn tagged_hash(&mut self, what: &str) -> Result<(bool, Hash), String> {
        let tag = self.take::<1>()?[0];
        let hash = Hash(self.take::<32>()?);
        match tag {
            0 if hash == Hash::ZERO => Ok((false, hash)),
            1 => Ok((true, hash)),
            _ => Err(format!("invalid {what} field")),
        }
    }
}

/// Splits off and checks the trailing checksum, then the magic and version.
fn checked_body<'a>(bytes: &'a [u8], magic: &[u8; 8]) -> Result<&'a [u8], String> {
    let Some((body, sum)) = bytes.split_last_chunk::<CHECKSUM_BYTES>() else {
        return Err(format!("{} bytes, too short", bytes.len()));
    };
    if !body.starts_with(magic) {
        return Err("not a Jeon signer file (wrong magic bytes)".into());
    }
    if checksum(body) != *sum {
        return Err("checksum mismatch".into());
    }
    let version = body
        .get(8..10)
        .map(|v| u16::from_le_bytes([v[0], v[1]]))
        .ok_or("truncated")?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}; this build reads {FORMAT_VERSION}"
        ));
    }
    Ok(&body[10..])
}

/// Decodes a `state` file; the error says what is wrong.
pub fn decode_state(bytes: &[u8]) -> Result<SignedRecord, String> {
    if bytes.len() != STATE_FILE_BYTES {
        return Err(format!(
            "{} bytes, expected {STATE_FILE_BYTES} (truncated or not a state file)",
            bytes.len()
        ));
    }
    let mut f = Fields {
        bytes: checked_body(bytes, STATE_MAGIC)?,
    };
    let height = u64::from_le_bytes(f.take()?);
    let round = u32::from_le_bytes(f.take()?);
    let step = f.take::<1>()?[0];
    if step > STEP_MAX {
        return Err(format!("step {step} is not 0, 1 or 2"));
    }
    let (has_block, block) = f.tagged_hash("block")?;
    let has_lock = f.take::<1>()?[0];
    let lock_round = u32::from_le_bytes(f.take()?);
    let lock_block = Hash(f.take()?);
    let lock = match has_lock {
        0 if lock_round == 0 && lock_block == Hash::ZERO => None,
        1 => Some((lock_round, lock_block)),
        _ => return Err("invalid lock field".into()),
    };
    Ok(SignedRecord {
        height,
        round,
        step,
        block: has_block.then_some(block),
        lock,
    })
}

/// The `lock` file's bytes for a proof.
pub fn encode_lock(proof: &[u8]) -> Result<Vec<u8>, SignerStoreError> {
    let len = u32::try_from(proof.len())
        .ok()
        .filter(|_| proof.len() <= LOCK_PROOF_BYTES_MAX)
        .ok_or(SignerStoreError::ProofTooLarge { bytes: proof.len() })?;
    let mut out = Vec::with_capacity(LOCK_HEADER_BYTES + proof.len() + CHECKSUM_BYTES);
    out.extend_from_slice(LOCK_MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(proof);
    let sum = checksum(&out);
    out.extend_from_slice(&sum);
    Ok(out)
}

/// Decodes a `lock` file into the proof it holds.
pub fn decode_lock(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let body = checked_body(bytes, LOCK_MAGIC)?;
    let mut f = Fields { bytes: body };
    let len = u32::from_le_bytes(f.take()?) as usize;
    if len > LOCK_PROOF_BYTES_MAX || f.bytes.len() != len {
        return Err(format!(
            "says {len} bytes of proof, holds {}",
            f.bytes.len()
        ));
    }
    Ok(f.bytes.to_vec())
}

// ---- the file store ----

/// The signer's files in a directory (`<data>/signer`).
#[derive(Debug)]
pub struct FileSignerStore {
    dir: PathBuf,
}

impl FileSignerStore {
    /// Opens (creating if missing) the signer directory. Reads nothing yet.
    pub fn open(dir: &Path) -> Result<Self, SignerStoreError> {
        fs::create_dir_all(dir).map_err(|source| SignerStoreError::Io {
            path: dir.to_owned(),
            op: "create the directory",
            source,
        })?;
        Ok(FileSignerStore {
            dir: dir.to_owned(),
        })
    }

    /// The record's file.
    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Whether a record file exists (it may still be damaged: `load` says).
    pub fn has_record(&self) -> bool {
        self.state_path().exists()
    }

    /// Moves the record and lock proof aside as `<name>.discarded-<suffix>` (kept for
    /// forensics, never read again), so the next start has no record. Returns the
    /// files moved. This is the operator's explicit, dangerous choice
    /// (`--discard-signer-state`).
    pub fn discard(&self, suffix: &str) -> Result<Vec<PathBuf>, SignerStoreError> {
        let mut moved = Vec::new();
        for path in [self.state_path(), self.lock_path()] {
            if !path.exists() {
                continue;
            }
            let mut name = path.clone().into_os_string();
            name.push(format!(".discarded-{suffix}"));
            let to = PathBuf::from(name);
            fs::rename(&path, &to).map_err(io_err(&path, "rename"))?;
            moved.push(to);
        }
        sync_dir(&self.dir)?;
        Ok(moved)
    }

    fn read(path: &Path) -> Result<Option<Vec<u8>>, SignerStoreError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SignerStoreError::Io {
                path: path.to_owned(),
                op: "read",
                source,
            }),
        }
    }

    /// Writes `bytes` to `path` durably: temp file, fsync, rename, directory fsync.
    fn write_durably(&self, path: &Path, bytes: &[u8]) -> Result<(), SignerStoreError> {
        let mut tmp = path.to_owned().into_os_string();
        tmp.push(format!(".{TMP_SUFFIX}"));
        let tmp = PathBuf::from(tmp);
        let mut file = File::create(&tmp).map_err(io_err(&tmp, "create"))?;
        file.write_all(bytes).map_err(io_err(&tmp, "write"))?;
        file.sync_all().map_err(io_err(&tmp, "fsync"))?;
        drop(file);
        crate::crash::crash_point("signer.before_rename");
        fs::rename(&tmp, path).map_err(io_err(path, "rename into place"))?;
        sync_dir(&self.dir)
    }
}

fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> SignerStoreError {
    let path = path.to_owned();
    move |source| SignerStoreError::Io { path, op, source }
}

fn sync_dir(dir: &Path) -> Result<(), SignerStoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "fsync the directory"))
}

impl SignerStore for FileSignerStore {
    fn load(&self) -> Result<Option<Persisted>, SignerStoreError> {
        let path = self.state_path();
        let Some(bytes) = Self::read(&path)? else {
            return Ok(None);
        };
        let corrupt = |path: PathBuf| move |reason| SignerStoreError::Corrupt { path, reason };
        let record = decode_state(&bytes).map_err(corrupt(path))?;
        let lock_path = self.lock_path();
        let lock_proof = match Self::read(&lock_path)? {
            Some(bytes) => Some(decode_lock(&bytes).map_err(corrupt(lock_path))?),
            None => None,
        };
        Ok(Some(Persisted { record, lock_proof }))
    }

    fn save(
        &mut self,
        record: &SignedRecord,
        lock_proof: Option<&[u8]>,
    ) -> Result<(), SignerStoreError> {
        if let Some(proof) = lock_proof {
            self.write_durably(&self.lock_path(), &encode_lock(proof)?)?;
        }
        self.write_durably(&self.state_path(), &encode_state(record))
    }
}

// ---- the memory store ----

#[derive(Debug, Default)]
struct MemInner {
    persisted: Option<Persisted>,
    saves: u64,
    failing: bool,
}

/// The in-memory twin, for the simulator and unit tests. Clones share one state, so a
/// simulated node keeps it across restarts (like its file would survive a crash).
#[derive(Clone, Debug, Default)]
pub struct MemSignerStore {
    inner: Arc<Mutex<MemInner>>,
}

impl MemSignerStore {
    /// An empty store: nothing signed yet.
    pub fn new() -> Self {
        MemSignerStore::default()
    }

    /// What is persisted now.
    pub fn persisted(&self) -> Option<Persisted> {
        lock(&self.inner).persisted.clone()
    }

    /// How many saves succeeded.
    pub fn saves(&self) -> u64 {
        lock(&self.inner).saves
    }

    /// Makes every later save fail (a full or broken disk), or succeed again.
    pub fn set_failing(&self, failing: bool) {
        lock(&self.inner).failing = failing;
    }
}

impl SignerStore for MemSignerStore {
    fn load(&self) -> Result<Option<Persisted>, SignerStoreError> {
        Ok(self.persisted())
    }

    fn save(
        &mut self,
        record: &SignedRecord,
        lock_proof: Option<&[u8]>,
    ) -> Result<(), SignerStoreError> {
        let mut inner = lock(&self.inner);
        if inner.failing {
            return Err(SignerStoreError::Unavailable);
        }
        if lock_proof.is_some_and(|p| p.len() > LOCK_PROOF_BYTES_MAX) {
            return Err(SignerStoreError::ProofTooLarge {
                bytes: lock_proof.map_or(0, <[u8]>::len),
            });
        }
        let kept = inner.persisted.take().and_then(|p| p.lock_proof);
        inner.persisted = Some(Persisted {
            record: *record,
            lock_proof: lock_proof.map(<[u8]>::to_vec).or(kept),
        });
        inner.saves += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(height: Height, lock: bool) -> SignedRecord {
        SignedRecord {
            height,
            round: 3,
            step: 2,
            block: Some(Hash([7; 32])),
            lock: lock.then_some((1, Hash([8; 32]))),
        }
    }

    fn store() -> (tempfile::TempDir, FileSignerStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileSignerStore::open(&dir.path().join(SIGNER_DIR)).expect("open");
        (dir, store)
    }

    #[test]
    fn a_record_and_its_lock_proof_survive_a_reopen() {
        let (dir, mut store) = store();
        assert_eq!(store.load().expect("empty"), None, "nothing signed yet");
        let proof = vec![5u8; 10_000];
        store.save(&record(41, true), Some(&proof)).expect("save");
        store
            .save(&record(41, true), None)
            .expect("save without a new proof");
        let reopened = FileSignerStore::open(&dir.path().join(SIGNER_DIR)).expect("open");
        let got = reopened.load().expect("load");
        assert_eq!(
            got,
            Some(Persisted {
                record: record(41, true),
                lock_proof: Some(proof)
            })
        );
    }

    #[test]
    fn the_state_encoding_is_fixed() {
        for r in [record(0, false), record(u64::MAX, true)] {
            let bytes = encode_state(&r);
            assert_eq!(bytes.len(), STATE_FILE_BYTES);
            assert_eq!(decode_state(&bytes), Ok(r));
        }
        let nil = SignedRecord {
            block: None,
            ..record(2, false)
        };
        assert_eq!(decode_state(&encode_state(&nil)), Ok(nil));
        // Golden: magic, version 1, height 1, round 0, step 1, no block, no lock.
        let r = SignedRecord {
            height: 1,
            round: 0,
            step: 1,
            block: None,
            lock: None,
        };
        let bytes = encode_state(&r);
        assert_eq!(&bytes[..8], b"JEONSGNR");
        assert_eq!(&bytes[8..20], &[1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[22], 1, "step");
    }

    #[test]
    fn a_torn_write_left_as_a_temp_file_is_ignored() {
        let (_dir, mut store) = store();
        store.save(&record(5, false), None).expect("save");
        // A crash after writing the temp file, before the rename.
        let tmp = store.dir.join(format!("{STATE_FILE}.{TMP_SUFFIX}"));
        std::fs::write(&tmp, &encode_state(&record(6, false))[..40]).expect("write tmp");
        assert_eq!(
            store.load().expect("load").map(|p| p.record),
            Some(record(5, false))
        );
        // And the next save replaces it.
        store.save(&record(6, false), None).expect("save");
        assert_eq!(
            store.load().expect("load").map(|p| p.record),
            Some(record(6, false))
        );
    }

    #[test]
    fn a_damaged_or_truncated_state_file_is_an_error_naming_it() {
        let (_dir, mut store) = store();
        store.save(&record(5, false), None).expect("save");
        let path = store.state_path();
        let good = std::fs::read(&path).expect("read");
        let mut flipped = good.clone();
        flipped[15] ^= 1;
        let cases: [(&str, Vec<u8>); 4] = [
            ("a flipped bit", flipped),
            ("truncated", good[..50].to_vec()),
            ("empty", Vec::new()),
            ("garbage", vec![b'x'; STATE_FILE_BYTES]),
        ];
        for (what, bytes) in cases {
            std::fs::write(&path, &bytes).expect("write");
            let err = store.load().expect_err(what);
            assert!(
                matches!(err, SignerStoreError::Corrupt { .. }),
                "{what}: {err}"
            );
            let message = err.to_string();
            assert!(
                message.contains(&path.display().to_string()),
                "{what}: {message}"
            );
        }
    }

    #[test]
    fn a_damaged_lock_file_is_an_error_too() {
        let (_dir, mut store) = store();
        store.save(&record(5, true), Some(b"proof")).expect("save");
        let lock = store.dir.join(LOCK_FILE);
        let mut bytes = std::fs::read(&lock).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&lock, bytes).expect("write");
        let err = store.load().expect_err("damaged lock");
        assert!(
            err.to_string().contains(&lock.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn discarding_moves_the_files_aside_and_leaves_no_record() {
        let (_dir, mut store) = store();
        store.save(&record(5, true), Some(b"proof")).expect("save");
        let moved = store.discard("1").expect("discard");
        assert_eq!(moved.len(), 2);
        assert!(moved.iter().all(|p| p.exists()));
        assert!(!store.has_record());
        assert_eq!(store.load().expect("load"), None);
    }

    #[test]
    fn the_memory_store_keeps_the_last_proof_and_can_fail() {
        let mut mem = MemSignerStore::new();
        mem.save(&record(1, true), Some(b"p1")).expect("save");
        mem.save(&record(2, false), None).expect("save");
        let kept = mem.clone().load().expect("load");
        assert_eq!(kept.and_then(|p| p.lock_proof), Some(b"p1".to_vec()));
        mem.set_failing(true);
        assert!(mem.save(&record(3, false), None).is_err());
        assert_eq!(mem.saves(), 2);
    }
}
