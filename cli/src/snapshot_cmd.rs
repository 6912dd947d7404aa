//! `jeon snapshot export|import`: a stopped node's state at its head, as a chunked
//! file, and a new node's data directory started from one (docs/operations.md §9).
//!
//! File: the magic `JEONSNAP`, then frames `[payload length u32 LE][BLAKE3 of the
//! payload, 32 bytes][payload]`. The first payload is the header (tag 0: version,
//! chain id, head, the head block's record with its certificate), then chunks (tag 1:
//! up to [`CHUNK_ENTRIES_MAX`] database entries each), then the end (tag 2: how many
//! chunks and entries). Import checks every frame's checksum as it reads it, the chain
//! id against the genesis file, the head block's certificate against the genesis
//! validator set, and recomputes the state's LtHash from the entries: the accumulator
//! must be the one stored and its app hash the head's. Nothing is final until all of
//! that held; a failed import removes what it wrote.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;
use serde::{Deserialize, Serialize};

use jeon_node::dirlock::DirLock;
use jeon_node::segments::{BlockLog, DirSegments};
use jeon_node::store::{ChainDb, ChainHead, SledStore, StoreError, SNAPSHOT_PREFIXES};
use jeon_runtime::lthash::LtHash;
use jeon_runtime::state::keys;
use jeon_runtime::{codec, Hash, StateError, StateExt, StateRead};

use crate::error::CliError;

/// The snapshot format's first bytes.
const MAGIC: &[u8; 8] = b"JEONSNAP";
/// The format version this build writes and reads.
const SNAPSHOT_VERSION: u32 = 1;
/// Database entries per chunk.
const CHUNK_ENTRIES_MAX: usize = 16_384;
/// The largest frame read: a chunk of large entries, or a header with a full block.
const FRAME_BYTES_MAX: u32 = 256 << 20;
/// The most chunks one snapshot may have (about 16 billion entries).
const CHUNKS_MAX: u64 = 1 << 20;

/// `jeon snapshot ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SnapshotCommand {
    /// Write a stopped node's state at its head to FILE (chunked, checksummed).
    Export {
        /// The node's data directory (the node must be stopped).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The snapshot file to write (refuses to overwrite).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Start an empty data directory from a snapshot, after checking it against the
    /// genesis; `jeon node` then starts at the snapshot's height.
    Import {
        /// The snapshot file.
        file: PathBuf,
        /// The chain's genesis file.
        #[arg(long, value_name = "FILE")]
        genesis: PathBuf,
        /// The new data directory (must not exist, or be empty).
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
}

/// One frame's payload.
#[derive(Serialize, Deserialize)]
enum Frame {
    /// The first frame.
    Header(Header),
    /// Database entries (keys with their prefix).
    Chunk(Vec<(Vec<u8>, Vec<u8>)>),
    /// The last frame.
    End { chunks: u64, entries: u64 },
}

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    chain_id: Hash,
    head: ChainHead,
    /// The head block's stored record: the block, its certificate, receipts, links.
    record: Vec<u8>,
}

/// Runs a `snapshot` command.
pub(crate) fn run(command: SnapshotCommand) -> Result<(), CliError> {
    match command {
        SnapshotCommand::Export { data, out } => export(&data, &out),
        SnapshotCommand::Import {
            file,
            genesis,
            data,
        } => import(&file, &genesis, &data),
    }
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

fn open_db(data: &Path) -> Result<ChainDb<SledStore>, CliError> {
    let store = SledStore::open(&data.join("db")).map_err(failed)?;
    let blocks = DirSegments::open(&data.join("blocks")).map_err(failed)?;
    let index = DirSegments::open(&data.join("txindex")).map_err(failed)?;
    ChainDb::open(store, Box::new(index), BlockLog::new(Box::new(blocks))).map_err(failed)
}

fn write_frame(out: &mut impl Write, frame: &Frame) -> Result<u64, CliError> {
    let payload = codec::encode(frame);
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|l| *l <= FRAME_BYTES_MAX)
        .ok_or_else(|| failed("a snapshot frame exceeds the frame limit"))?;
    out.write_all(&len.to_le_bytes())
        .and_then(|()| out.write_all(blake3::hash(&payload).as_bytes()))
        .and_then(|()| out.write_all(&payload))
        .map_err(failed)?;
    Ok(4 + 32 + u64::from(len))
}

fn export(data: &Path, out: &Path) -> Result<(), CliError> {
    if !data.join("db").exists() {
        return Err(CliError::BadInput(format!(
            "{} holds no chain database",
            data.display()
        )));
    }
    let _lock = DirLock::acquire(data).map_err(failed)?;
    let opening = Instant::now();
    let db = open_db(data)?;
    let open_secs = opening.elapsed().as_secs_f64();
    // The throughput counts the snapshot's own work, not opening the database (which
    // recovers the block log and rebuilds the open segment's transaction index).
    let started = Instant::now();
    let (chain_id, head, record) = db.snapshot_head().map_err(failed)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| failed(format!("cannot create {}: {e}", out.display())))?;
    let mut w = BufWriter::new(file);
    w.write_all(MAGIC).map_err(failed)?;
    let mut bytes = MAGIC.len() as u64;
    let header = Header {
        version: SNAPSHOT_VERSION,
        chain_id,
        head,
        record,
    };
    bytes += write_frame(&mut w, &Frame::Header(header))?;
    let (mut chunks, mut entries) = (0u64, 0u64);
    for part in SNAPSHOT_PREFIXES {
        let mut before: Option<Vec<u8>> = None;
        loop {
            let page = db
                .snapshot_page(part, before.as_deref(), CHUNK_ENTRIES_MAX)
                .map_err(failed)?;
            let Some((last, _)) = page.last() else { break };
            before = Some(last.clone());
            entries += page.len() as u64;
            chunks += 1;
            bytes += write_frame(&mut w, &Frame::Chunk(page))?;
        }
    }
    bytes += write_frame(&mut w, &Frame::End { chunks, entries })?;
    w.into_inner()
        .map_err(|e| failed(e.error()))?
        .sync_all()
        .map_err(failed)?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    crate::output::emit_plain(&serde_json::json!({
        "file": out.display().to_string(), "height": head.height,
        "app_hash": head.app_hash.to_string(), "chunks": chunks, "entries": entries,
        "bytes": bytes, "seconds": secs, "bytes_per_sec": (bytes as f64 / secs) as u64,
        "entries_per_sec": (entries as f64 / secs) as u64, "open_seconds": open_secs,
    }))
}

/// Reads frames, checking each one's length bound and checksum.
struct FrameReader<R> {
    r: R,
    bytes: u64,
}

impl<R: Read> FrameReader<R> {
    fn next(&mut self) -> Result<Frame, CliError> {
        let corrupt = |what: String| CliError::BadInput(format!("snapshot is corrupt: {what}"));
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

/// The app hash of an accumulator: what `StateExt::app_hash` gives for a state that
/// holds only it.
struct Accumulator(Vec<u8>);

impl StateRead for Accumulator {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok((key == keys::lthash().as_slice()).then(|| self.0.clone()))
    }
}

fn import(file: &Path, genesis_path: &Path, data: &Path) -> Result<(), CliError> {
    let genesis = crate::genesis_cmd::load(genesis_path)?;
    let is_empty = |d: &Path| std::fs::read_dir(d).map_or(true, |mut e| e.next().is_none());
    if !is_empty(data) {
        return Err(CliError::BadInput(format!(
            "{} is not empty: import into a new data directory",
            data.display()
        )));
    }
    let f = std::fs::File::open(file)
        .map_err(|e| CliError::BadInput(format!("cannot read {}: {e}", file.display())))?;
    let mut reader = FrameReader {
        r: BufReader::new(f),
        bytes: 8,
    };
    let mut magic = [0u8; 8];
    reader.r.read_exact(&mut magic).ok();
    if &magic != MAGIC {
        return Err(CliError::BadInput(format!(
            "{} is not a Jeon snapshot",
            file.display()
        )));
    }
    let Frame::Header(header) = reader.next()? else {
        return Err(CliError::BadInput("snapshot is corrupt: no header".into()));
    };
    if header.version != SNAPSHOT_VERSION {
        return Err(CliError::BadInput(format!(
            "snapshot version {} is not supported (this jeon reads {SNAPSHOT_VERSION})",
            header.version
        )));
    }
    if header.chain_id != genesis.hash() {
        return Err(CliError::BadInput(format!(
            "the snapshot is of chain {}, the genesis file of chain {}",
            header.chain_id,
            genesis.hash()
        )));
    }
    std::fs::create_dir_all(data).map_err(failed)?;
    let result = import_into(&mut reader, &header, &genesis, data);
    if result.is_err() {
        // Nothing of a refused snapshot stays: the directory was empty before.
        for sub in ["db", "blocks", "txindex", jeon_node::dirlock::LOCK_FILE] {
            let p = data.join(sub);
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
    }
    let (entries, bytes, secs) = result?;
    crate::output::emit_plain(&serde_json::json!({
        "data": data.display().to_string(), "height": header.head.height,
        "app_hash": header.head.app_hash.to_string(), "entries": entries, "bytes": bytes,
        "seconds": secs, "bytes_per_sec": (bytes as f64 / secs) as u64,
        "entries_per_sec": (entries as f64 / secs) as u64,
    }))
}

fn import_into(
    reader: &mut FrameReader<BufReader<std::fs::File>>,
    header: &Header,
    genesis: &jeon_genesis::GenesisSpec,
    data: &Path,
) -> Result<(u64, u64, f64), CliError> {
    let started = Instant::now();
    let _lock = DirLock::acquire(data).map_err(failed)?;
    let db = open_db(data)?;
    let store_err = |e: StoreError| CliError::BadInput(e.to_string());
    db.import_begin(header.chain_id).map_err(store_err)?;
    let (mut acc, mut stored_acc) = (LtHash::default(), None);
    let (mut chunks, mut entries) = (0u64, 0u64);
    let end = loop {
        match reader.next()? {
            Frame::Header(_) => {
                return Err(CliError::BadInput(
                    "snapshot is corrupt: a second header".into(),
                ))
            }
            Frame::End { chunks, entries } => break (chunks, entries),
            Frame::Chunk(page) => {
                chunks += 1;
                entries += page.len() as u64;
                if chunks > CHUNKS_MAX {
                    return Err(CliError::BadInput(
                        "snapshot is corrupt: too many chunks".into(),
                    ));
                }
                for (key, value) in &page {
                    let Some((&b'S', state_key)) = key.split_first() else {
                        continue;
                    };
                    if state_key == keys::lthash().as_slice() {
                        stored_acc = Some(value.clone());
                    } else if keys::is_committed(state_key) {
                        acc.add(state_key, value);
                    }
                }
                db.import_entries(page).map_err(store_err)?;
            }
        }
    };
    if end != (chunks, entries) {
        return Err(CliError::BadInput(format!(
            "snapshot is corrupt: it ends claiming {} chunks and {} entries, it held {chunks} and {entries}",
            end.0, end.1
        )));
    }
    if stored_acc.as_deref() != Some(acc.as_bytes()) {
        return Err(CliError::BadInput(
            "snapshot refused: its entries do not add up to the state's accumulator".into(),
        ));
    }
    let app_hash = Accumulator(acc.as_bytes().to_vec())
        .app_hash()
        .map_err(failed)?;
    if app_hash != header.head.app_hash {
        return Err(CliError::BadInput(format!(
            "snapshot refused: its state's app hash {app_hash} is not the head's {}",
            header.head.app_hash
        )));
    }
    let validators = genesis.validators();
    let chain_id = header.chain_id;
    db.import_finish(header.head, &header.record, |committed| {
        let hash = committed.block.header.hash();
        committed
            .certificate
            .verify(&chain_id, &hash, &validators)
            .map_err(|e| format!("the head block's certificate does not verify: {e}"))
    })
    .map_err(store_err)?;
    Ok((
        entries,
        reader.bytes,
        started.elapsed().as_secs_f64().max(1e-9),
    ))
}
