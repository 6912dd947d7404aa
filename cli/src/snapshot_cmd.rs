//! `jeon snapshot export|import`: a stopped node's state at its head, as a chunked
//! file, and a new node's data directory started from one (docs/operations.md §9).
//! The format and its checks are `jeon_node::snapshot`, which the node shares; a
//! failed import removes what it wrote.

use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Subcommand;

use jeon_node::dirlock::DirLock;
use jeon_node::segments::{BlockLog, DirSegments};
use jeon_node::snapshot::{self, FrameReader, SnapshotError, Stats};
use jeon_node::store::{ChainDb, SledStore};

use crate::error::CliError;

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
    // The throughput counts the snapshot's own work, not opening the database (which
    // recovers the block log and rebuilds the open segment's transaction index).
    let open_secs = opening.elapsed().as_secs_f64();
    let header = snapshot::head_header(&db).map_err(failed)?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| failed(format!("cannot create {}: {e}", out.display())))?;
    let mut w = BufWriter::new(file);
    let stats = snapshot::write(&mut w, header, |part, before| {
        snapshot::db_page(&db, part, before)
    })
    .map_err(failed)?;
    w.into_inner()
        .map_err(|e| failed(e.error()))?
        .sync_all()
        .map_err(failed)?;
    let mut json = stats_json(&stats);
    json["file"] = out.display().to_string().into();
    json["open_seconds"] = open_secs.into();
    crate::output::emit_plain(&json)
}

fn stats_json(s: &Stats) -> serde_json::Value {
    serde_json::json!({
        "height": s.height, "app_hash": s.app_hash.to_string(), "chunks": s.chunks,
        "entries": s.entries, "bytes": s.bytes, "seconds": s.seconds,
        "bytes_per_sec": (s.bytes as f64 / s.seconds) as u64,
        "entries_per_sec": (s.entries as f64 / s.seconds) as u64,
    })
}

/// A refused or damaged snapshot is bad input (exit 2); the disk failing is not.
fn import_error(e: SnapshotError) -> CliError {
    match e {
        SnapshotError::Io(e) => failed(e),
        e => CliError::BadInput(e.to_string()),
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
    let (mut reader, header) = FrameReader::open(BufReader::new(f)).map_err(|e| match e {
        SnapshotError::Corrupt(what) if what == "not a Jeon snapshot" => {
            CliError::BadInput(format!("{} is not a Jeon snapshot", file.display()))
        }
        e => import_error(e),
    })?;
    // The certificate's chain is checked before anything is written.
    let set = snapshot::certifying_set(&header, &genesis.hash(), &genesis.validators())
        .map_err(import_error)?;
    std::fs::create_dir_all(data).map_err(failed)?;
    let result = (|| {
        let _lock = DirLock::acquire(data).map_err(failed)?;
        let db = open_db(data)?;
        snapshot::import(&mut reader, &header, &set, &db).map_err(import_error)
    })();
    if result.is_err() {
        // Nothing of a refused snapshot stays: the directory was empty before.
        for sub in ["db", "blocks", "txindex", jeon_node::dirlock::LOCK_FILE] {
            let p = data.join(sub);
            let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
        }
    }
    let mut json = stats_json(&result?);
    json["data"] = data.display().to_string().into();
    // A running node's checkpoint carries the block above its head, whose certified
    // header names the state's app hash; a stopped node's export only the head's.
    json["app_hash_certified"] = header.successor.is_some().into();
    crate::output::emit_plain(&json)
}
