//! `jeon index --postgres URL`: follows a node over its HTTP API and writes every final
//! block's transactions and events into PostgreSQL, under the schema and views of
//! docs/indexer.md (the way CometBFT's psql event sink does).
//!
//! Exactly once, safe to kill: a batch of whole blocks, their rows and the height marker
//! in `jeon_meta` are written in ONE transaction, which first locks the marker row and
//! checks it still names the block before the batch. A kill at any point leaves whole
//! blocks; the next start resumes at the marker + 1. The database remembers the chain id
//! (the genesis hash) and the hash of the last block written, and refuses a node of
//! another chain, or one whose block at that height differs.

mod rows;
mod schema;

use std::time::{Duration, Instant};

use clap::Args;
use jeon_node::api::types::{BlockEventsView, StatusView};
use postgres::{Client as Pg, NoTls};

use crate::client::{ApiArgs, Client};
use crate::error::{stdout, CliError};
use rows::{Rows, EVENT_COLUMNS, TX_COLUMNS};
use schema::SCHEMA_VERSION;

/// Blocks written in one transaction at most (while catching up).
const BATCH_BLOCKS_MAX: u64 = 200;
/// Events written in one transaction at most (a batch ends after the block that passes it).
const BATCH_EVENTS_MAX: u64 = 20_000;
/// How often progress goes to stderr.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// `jeon index` arguments.
#[derive(Debug, Args)]
pub(crate) struct IndexArgs {
    /// The PostgreSQL database, as a URL (`postgresql://USER@HOST:PORT/DB`) or a
    /// key=value string (`host=... user=... dbname=...`). No TLS.
    #[arg(long, value_name = "URL", env = "JEON_INDEX_POSTGRES")]
    postgres: String,
    #[command(flatten)]
    api: ApiArgs,
    /// The first height to write into an empty database [default: 1]. A database that
    /// already holds blocks resumes after its last one.
    #[arg(long, value_name = "N")]
    from_height: Option<u64>,
    /// Exit once the node's head is written (and print a summary) instead of following.
    #[arg(long)]
    exit_at_head: bool,
    /// How long to wait between looks at the node's head when caught up.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    poll_ms: u64,
}

/// Runs `jeon index`.
pub(crate) fn run(args: IndexArgs) -> Result<(), CliError> {
    let config: postgres::Config = args.postgres.parse().map_err(|e| {
        CliError::BadInput(format!(
            "--postgres {}: not a PostgreSQL URL or key=value string: {e}",
            redact(&args.postgres)
        ))
    })?;
    let node = Client::new(&args.api.api)?;
    let status: StatusView = node.get("/v1/status")?;
    let mut pg = config.connect(NoTls).map_err(|e| {
        CliError::Failed(format!(
            "cannot connect to PostgreSQL at {}: {e}",
            redact(&args.postgres)
        ))
    })?;
    let chain_id = status.chain_id.to_string();
    let last = prepare(&mut pg, &chain_id)?;
    let mut next = match last {
        Some((height, hash)) => {
            check_same_block(&node, height, &hash)?;
            if args.from_height.is_some() {
                eprintln!("note: the database holds blocks up to {height}: resuming at {}, not --from-height", height + 1);
            }
            height + 1
        }
        None => args.from_height.unwrap_or(1).max(1),
    };
    let started = Instant::now();
    let first = next;
    let (mut txs, mut events) = (0u64, 0u64);
    let mut reported = Instant::now();
    loop {
        let head = node.get::<StatusView>("/v1/status")?.height;
        if next > head {
            if args.exit_at_head {
                break;
            }
            std::thread::sleep(Duration::from_millis(args.poll_ms));
            continue;
        }
        let batch = fetch_batch(&node, next, head)?;
        write_batch(&mut pg, next, &batch)?;
        txs += batch.rows.tx_count;
        events += batch.rows.event_count;
        next = batch.to + 1;
        let to = batch.to;
        if reported.elapsed() >= PROGRESS_EVERY {
            reported = Instant::now();
            eprintln!("indexed up to height {to} of {head}");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let blocks = next - first;
    let summary = serde_json::json!({
        "from_height": first,
        "to_height": next - 1,
        "blocks": blocks,
        "txs": txs,
        "events": events,
        "seconds": seconds,
        "blocks_per_s": blocks as f64 / seconds.max(1e-9),
        "txs_per_s": txs as f64 / seconds.max(1e-9),
    });
    stdout(&format!("{summary}\n"))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

fn db_error(what: &str) -> impl Fn(postgres::Error) -> CliError + '_ {
    move |e| CliError::Failed(format!("PostgreSQL: {what}: {e}"))
}

/// Creates the schema in an empty database, or checks an existing one (version, chain);
/// replaces the views. The last height written and its hash, if any.
fn prepare(pg: &mut Pg, chain_id: &str) -> Result<Option<(u64, String)>, CliError> {
    let mut t = pg.transaction().map_err(db_error("begin"))?;
    t.batch_execute(schema::META)
        .map_err(db_error("create jeon_meta"))?;
    // One start at a time sets up the schema.
    t.batch_execute("LOCK TABLE jeon_meta IN EXCLUSIVE MODE")
        .map_err(db_error("lock jeon_meta"))?;
    let get = |t: &mut postgres::Transaction<'_>, key: &str| -> Result<Option<String>, CliError> {
        let row = t
            .query_opt("SELECT value FROM jeon_meta WHERE key = $1", &[&key])
            .map_err(db_error("read jeon_meta"))?;
        Ok(row.map(|r| r.get(0)))
    };
    match get(&mut t, "schema_version")? {
        None => {
            t.batch_execute(schema::TABLES)
                .map_err(db_error("create tables"))?;
            for (k, v) in [
                ("schema_version", SCHEMA_VERSION.to_string()),
                ("chain_id", chain_id.to_owned()),
            ] {
                t.execute("INSERT INTO jeon_meta VALUES ($1, $2)", &[&k, &v])
                    .map_err(db_error("write jeon_meta"))?;
            }
        }
        Some(v) => {
            let version: u32 = v.parse().map_err(|_| {
                CliError::Failed(format!("jeon_meta.schema_version {v:?} is not a number"))
            })?;
            if version > SCHEMA_VERSION {
                return Err(CliError::Failed(format!(
                    "the database holds indexer schema version {version}, newer than this jeon's ({SCHEMA_VERSION}): upgrade jeon, or index into another database"
                )));
            }
            let theirs = get(&mut t, "chain_id")?.unwrap_or_default();
            if theirs != chain_id {
                return Err(CliError::Failed(format!(
                    "the database indexes chain {theirs} but the node follows chain {chain_id}: index into another database"
                )));
            }
        }
    }
    t.batch_execute(schema::VIEWS)
        .map_err(db_error("create views"))?;
    let height = get(&mut t, "height")?;
    let hash = get(&mut t, "block_hash")?;
    t.commit().map_err(db_error("commit the schema"))?;
    match (height, hash) {
        (Some(h), Some(hash)) => {
            let h = h
                .parse::<u64>()
                .map_err(|_| CliError::Failed(format!("jeon_meta.height {h:?} is not a number")))?;
            Ok(Some((h, hash)))
        }
        _ => Ok(None),
    }
}

/// Refuses to resume on a node whose block at `height` is not the one written.
fn check_same_block(node: &Client, height: u64, hash: &str) -> Result<(), CliError> {
    let block: BlockEventsView = node.get(&format!("/v1/blocks/{height}/events"))?;
    let theirs = block.hash.to_string();
    if theirs != hash {
        return Err(CliError::Failed(format!(
            "the database's block {height} is {hash} but the node's is {theirs}: the node follows another history (a reset dev chain?); index into another database"
        )));
    }
    Ok(())
}

/// Whole blocks to write in one transaction.
struct Batch {
    /// The last height.
    to: u64,
    /// Its block's hash.
    last_hash: String,
    /// The `blocks` rows (CSV).
    blocks: String,
    rows: Rows,
}

/// Fetches blocks `from..` up to `head` and the batch bounds.
fn fetch_batch(node: &Client, from: u64, head: u64) -> Result<Batch, CliError> {
    let mut rows = Rows::default();
    let mut blocks = String::new();
    let mut h = from;
    let mut last_hash;
    loop {
        let b: BlockEventsView = node.get(&format!("/v1/blocks/{h}/events"))?;
        let bad = |e: serde_json::Error| {
            CliError::Failed(format!("the node's block {h} does not encode: {e}"))
        };
        let (receipts, block_events) = (b.receipts, b.block_events);
        last_hash = b.hash.to_string();
        blocks.push_str(&format!(
            "\"{h}\",\"{last_hash}\",\"{}\",\"{}\"\n",
            b.time_ms,
            receipts.len()
        ));
        rows.block(h, b.time_ms, &receipts, &block_events)
            .map_err(bad)?;
        if h >= head || h + 1 - from >= BATCH_BLOCKS_MAX || rows.event_count >= BATCH_EVENTS_MAX {
            break;
        }
        h += 1;
    }
    Ok(Batch {
        to: h,
        last_hash,
        blocks,
        rows,
    })
}

/// Writes blocks `from..=to` in one transaction with the marker; refuses if the marker
/// moved (another indexer writes the same database).
fn write_batch(pg: &mut Pg, from: u64, b: &Batch) -> Result<(), CliError> {
    let mut t = pg.transaction().map_err(db_error("begin"))?;
    let marker = t
        .query_opt(
            "SELECT value FROM jeon_meta WHERE key = 'height' FOR UPDATE",
            &[],
        )
        .map_err(db_error("lock the height marker"))?
        .map(|r| r.get::<_, String>(0));
    let expected = from
        .checked_sub(1)
        .filter(|h| *h > 0)
        .map(|h| h.to_string());
    if marker.is_some() && marker != expected {
        return Err(CliError::Failed(format!(
            "the database's height marker is {} but this indexer wrote up to {}: another indexer is writing the same database",
            marker.unwrap_or_default(),
            from - 1
        )));
    }
    copy(&mut t, "blocks (height, hash, time_ms, txs)", &b.blocks)?;
    copy(&mut t, &format!("txs ({TX_COLUMNS})"), &b.rows.txs)?;
    copy(&mut t, &format!("events ({EVENT_COLUMNS})"), &b.rows.events)?;
    for (k, v) in [
        ("height", b.to.to_string()),
        ("block_hash", b.last_hash.clone()),
    ] {
        t.execute(
            "INSERT INTO jeon_meta VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
            &[&k, &v],
        )
        .map_err(db_error("write the height marker"))?;
    }
    t.commit().map_err(db_error("commit"))
}

fn copy(t: &mut postgres::Transaction<'_>, table: &str, csv: &str) -> Result<(), CliError> {
    use std::io::Write;
    if csv.is_empty() {
        return Ok(());
    }
    let mut w = t
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT csv)"))
        .map_err(db_error("copy"))?;
    w.write_all(csv.as_bytes())
        .map_err(|e| CliError::Failed(format!("PostgreSQL: copy into {table}: {e}")))?;
    w.finish().map_err(db_error("copy"))?;
    Ok(())
}
