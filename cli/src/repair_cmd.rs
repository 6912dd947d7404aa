//! `jeon repair`: rebuild a stopped node's database from its own block files
//! (docs/operations.md §10, docs/reliability.md).
//!
//! For a node that refuses to start because its sled database is damaged or fell
//! behind its block files. The block files are append-only and checksummed frame by
//! frame, so they are the better copy: every whole record in `blocks/` is replayed,
//! in height order, through the normal path (the genesis, then for each block its
//! certificate check and re-execution, `blocks::check_synced`, and `blocks::commit`)
//! into a fresh `DIR/repair-<n>/`. The replay stops at the first torn or damaged
//! frame, or the first block that does not check. Then the damaged `db/`, `blocks/` and
//! `txindex/` move to `DIR/damaged-<unix secs>/` and the rebuilt ones into place;
//! keys and `signer/` stay. The data directory's lock is held for the whole run.
//!
//! A directory the node would start on, with its state whole (its database opens and
//! every record in it reads back, the state sums to the head's app hash, the head's
//! record checks, the genesis matches) is left as it is: nothing to repair. Block files that do not start at height 1 (pruned) cannot rebuild the
//! state: the node must be restored from a snapshot or re-synced; nothing changes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use serde_json::json;

use jeon_node::blocks;
use jeon_node::chain::{Chain, ChainSpec, Db, NoFinality};
use jeon_node::dirlock::DirLock;
use jeon_node::segments::{BlockLog, DirSegments};
use jeon_node::snapshot;
use jeon_node::store::{decode_committed, ChainDb, SledStore, Store};
use jeon_runtime::Height;

use crate::error::CliError;

/// The directories rebuilt and moved; everything else in the data directory stays.
const REBUILT: [&str; 3] = ["db", "blocks", "txindex"];

/// `jeon repair`
#[derive(Debug, Args)]
pub(crate) struct RepairArgs {
    /// The stopped node's data directory.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// The chain's genesis file [default: DIR/genesis.json].
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
}

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// Opens a data directory's database once every record in it has read back (a damaged
/// page deep in sled can leave the head readable): for the "nothing to repair" check,
/// and for the rebuilt database (empty, so the read costs nothing).
fn open_db(data: &Path) -> Result<Db, CliError> {
    let sled = SledStore::open(&data.join("db")).map_err(failed)?;
    sled.read_every_record().map_err(failed)?;
    let store: Arc<dyn Store> = Arc::new(sled);
    let blocks = DirSegments::open(&data.join("blocks")).map_err(failed)?;
    let index = DirSegments::open(&data.join("txindex")).map_err(failed)?;
    ChainDb::open(store, Box::new(index), BlockLog::new(Box::new(blocks))).map_err(failed)
}

/// The chain in `data` if the node would start on it and its state is whole: every
/// record reads back, the state sums to the head's app hash
/// ([`snapshot::verify_state`]), and the chain's own start checks pass.
fn open_healthy(data: &Path, spec: &ChainSpec) -> Result<Arc<Chain>, CliError> {
    let db = open_db(data)?;
    snapshot::verify_state(&db).map_err(failed)?;
    Chain::open(db, spec).map_err(failed)
}

/// Runs `jeon repair`.
pub(crate) fn run(args: RepairArgs) -> Result<(), CliError> {
    let data = args.data;
    if !data.join("blocks").is_dir() {
        return Err(CliError::BadInput(format!(
            "{} holds no block files (blocks/): not a node's data directory",
            data.display()
        )));
    }
    let genesis_path = args.genesis.unwrap_or_else(|| data.join("genesis.json"));
    let genesis = crate::genesis_cmd::load(&genesis_path)?;
    let spec = ChainSpec::from_genesis(&genesis)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", genesis_path.display())))?;
    let _lock = DirLock::acquire(&data).map_err(failed)?;

    let log = BlockLog::new(Box::new(
        DirSegments::open(&data.join("blocks")).map_err(failed)?,
    ));
    // Before sled opens the database (which may rewrite damaged files): pruned block
    // files change nothing.
    refuse_unreplayable(&log, &data)?;

    // A database the node would start on, with its state whole (every record reads
    // back, the state sums to the head's app hash, its head's record checks, its
    // genesis is this one): nothing to repair.
    if data.join("db").is_dir() {
        if let Ok(chain) = open_healthy(&data, &spec) {
            let head = chain.head();
            let value = json!({
                "repaired": false,
                "data": data.display().to_string(),
                "height": head.height,
                "block_hash": head.block_hash.to_string(),
                "app_hash": head.app_hash.to_string(),
                "note": "the node's database opens at this head: nothing to repair, nothing changed",
            });
            return crate::output::emit_plain(&value);
        }
    }

    let started = std::time::Instant::now();
    let work = fresh_dir(&data, "repair")?;
    let outcome = rebuild(&log, &spec, &work);
    let (head, stopped) = match outcome {
        Ok(done) if done.0.height > 0 => done,
        other => {
            let _ = std::fs::remove_dir_all(&work);
            let why = match other {
                Ok((_, stopped)) => stopped.map_or_else(
                    || "no block".to_string(),
                    |s| format!("stopped at height {}: {}", s.0, s.1),
                ),
                Err(e) => e.to_string(),
            };
            return Err(failed(format!(
                "no block could be replayed from {} ({why}); nothing was changed",
                data.join("blocks").display()
            )));
        }
    };
    drop(log);

    let damaged = swap_in(&data, &work)?;
    let mut value = json!({
        "repaired": true,
        "data": data.display().to_string(),
        "height": head.height,
        "block_hash": head.block_hash.to_string(),
        "app_hash": head.app_hash.to_string(),
        "damaged_files": damaged.display().to_string(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    if let Some((height, reason)) = stopped {
        value["stopped_at"] = json!({"height": height, "reason": reason});
    }
    crate::output::emit_plain(&value)
}

/// Refuses block files that cannot rebuild the state: none whole, or pruned (not
/// starting at height 1).
fn refuse_unreplayable(log: &BlockLog, data: &Path) -> Result<(), CliError> {
    match first_height(log)? {
        None => Err(failed(format!(
            "{} holds no whole block record: nothing to rebuild from",
            data.join("blocks").display()
        ))),
        Some(h) if h != 1 => Err(failed(format!(
            "the block files start at height {h} (older blocks were pruned): the state \
             cannot be rebuilt from them. Restore the node from a snapshot (`jeon snapshot \
             import`) or re-sync it from peers (a node that still starts needs neither); \
             nothing was changed"
        ))),
        Some(_) => Ok(()),
    }
}

/// Moves the damaged `db/`, `blocks/` and `txindex/` aside into a fresh
/// `damaged-<secs>/` and the rebuilt ones from `work` into place; returns where the old
/// files went.
fn swap_in(data: &Path, work: &Path) -> Result<PathBuf, CliError> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let damaged = fresh_dir(data, &format!("damaged-{secs}"))?;
    for sub in REBUILT {
        let from = data.join(sub);
        if from.exists() {
            std::fs::rename(&from, damaged.join(sub))
                .map_err(|e| failed(format!("cannot move {}: {e}", from.display())))?;
        }
    }
    for sub in REBUILT {
        std::fs::rename(work.join(sub), data.join(sub)).map_err(|e| {
            failed(format!(
                "cannot move {} into place: {e} (the old files are in {})",
                work.join(sub).display(),
                damaged.display()
            ))
        })?;
    }
    let _ = std::fs::remove_dir_all(work);
    if let Ok(d) = std::fs::File::open(data) {
        let _ = d.sync_all();
    }
    Ok(damaged)
}

/// The height of the first whole record, if any.
fn first_height(log: &BlockLog) -> Result<Option<Height>, CliError> {
    let mut first = None;
    log.scan(&mut |height, _| {
        first = Some(height);
        false
    })
    .map_err(failed)?;
    Ok(first)
}

/// A new directory `data/<name>` (or `<name>-2`, `-3`... if it exists).
fn fresh_dir(data: &Path, name: &str) -> Result<PathBuf, CliError> {
    let mut path = data.join(name);
    let mut n = 1u32;
    while path.exists() {
        n += 1;
        path = data.join(format!("{name}-{n}"));
    }
    std::fs::create_dir(&path)
        .map_err(|e| failed(format!("cannot create {}: {e}", path.display())))?;
    Ok(path)
}

/// Replays the log's whole records into a fresh chain in `work`. Returns the head it
/// reached and, if it stopped before the end of the files, where and why.
fn rebuild(
    log: &BlockLog,
    spec: &ChainSpec,
    work: &Path,
) -> Result<(jeon_node::store::ChainHead, Option<(Height, String)>), CliError> {
    let chain = Chain::open(open_db(work)?, spec).map_err(failed)?;
    let mut stopped: Option<(Height, String)> = None;
    let mut fatal: Option<CliError> = None;
    let torn = log
        .scan(&mut |height, payload| {
            let committed = match decode_committed(height, payload) {
                Ok(c) => c,
                Err(e) => {
                    stopped = Some((height, e.to_string()));
                    return false;
                }
            };
            let (candidate, certificate) = match blocks::check_synced(&chain, committed) {
                Ok(checked) => checked,
                Err(e) => {
                    stopped = Some((height, e.to_string()));
                    return false;
                }
            };
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            if let Err(e) = blocks::commit(&chain, &NoFinality, candidate, certificate, now_ms) {
                fatal = Some(failed(format!("writing block {height}: {e}")));
                return false;
            }
            true
        })
        .map_err(failed)?;
    if let Some(e) = fatal {
        return Err(e);
    }
    let head = chain.head();
    if stopped.is_none() {
        stopped = torn.map(|at| (head.height + 1, at));
    }
    Ok((head, stopped))
}
