//! `--soak`: transactions signed on the fly a bounded number of batches ahead of the
//! submitters, submitted at the offered rate for a fixed time, and finality counted
//! in windows, each printed as one JSON line, so memory stays flat however long the
//! run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jeon_runtime::{Hash, Height};

use super::presign::{bench_tx, node_of, SignPlan};
use super::report::{SoakOutcome, SoakSummary};
use super::submit::{submit_batch, RETRYABLE_CODES, RETRY_SLEEP_MS};
use super::track::{BlockTxs, FINALITY_STALL_SECS, TRACK_POLL_MS};
use super::window::{bytes_per_tx, dir_bytes, Probe, WindowLine, Windows};
use super::{BENCH_EXPIRY_BLOCKS, WORKERS_MAX};
use crate::client::Client;
use crate::error::{stdout, CliError};

/// Signed batches waiting for a submitter, at most: this bounds the bench's memory
/// (each batch holds at most `--batch` transactions of a few hundred bytes).
const SIGNED_BATCHES_AHEAD_MAX: usize = 16;
/// An admitted transaction not seen final after this long is forgotten (the node
/// dropped it, e.g. expired), so the map of pending ones stays bounded.
const PENDING_AGE_MAX_SECS: u64 = 600;
/// How long a submitter waits for a signed batch before looking at the clock again.
const RECV_WAIT_MS: u64 = 100;

/// What a soak run needs.
pub(super) struct SoakPlan<'a> {
    /// How to sign (its `expiry` is replaced by one from the head at signing time).
    pub(super) sign: SignPlan<'a>,
    /// The transactions of the whole run: `--rate` × `--soak`.
    pub(super) total: usize,
    pub(super) batch: usize,
    pub(super) rate: u64,
    pub(super) secs: u64,
    pub(super) submitters: usize,
    pub(super) window: Duration,
    pub(super) data_dir: Option<&'a Path>,
}

/// A batch signed ahead: its position in the run and its transactions.
struct SignedBatch {
    /// The index of its first transaction, which sets when it is due under `--rate`.
    start: usize,
    hexes: Vec<String>,
    hashes: Vec<Hash>,
}

/// State shared by the signers, the submitters and the tracker.
struct Soak<'a> {
    plan: &'a SoakPlan<'a>,
    t0: Instant,
    deadline: Instant,
    /// The next batch to sign.
    next_batch: AtomicUsize,
    /// The last final height seen: signers reckon expiry from it.
    head: AtomicU64,
    /// Signed batches; the last submitter out drops the receiver, which stops the
    /// signers.
    batches: Mutex<Option<Receiver<SignedBatch>>>,
    /// Sent and not yet seen final: when the request that carried each was sent.
    pending: Mutex<HashMap<Hash, Instant>>,
    /// Set when the tracker gives up: everyone stops.
    stop: AtomicBool,
    submitting: AtomicUsize,
    submitted: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
}

impl Soak<'_> {
    /// Whether submitting is over: the time is up or the tracker gave up.
    fn over(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }
}

/// A lock, whether or not a thread panicked holding it (the data stay consistent:
/// every critical section is a few inserts or removals).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the soak: signers and submitters on their threads, the tracker on this one,
/// which prints a line per window. `head` is the final height before the clock starts.
pub(super) fn soak(
    plan: &SoakPlan<'_>,
    clients: &[Client],
    head: Height,
) -> Result<SoakOutcome, CliError> {
    let (tx, rx) = sync_channel(SIGNED_BATCHES_AHEAD_MAX);
    let t0 = Instant::now();
    let soak = Soak {
        plan,
        t0,
        deadline: t0 + Duration::from_secs(plan.secs),
        next_batch: AtomicUsize::new(0),
        head: AtomicU64::new(head),
        batches: Mutex::new(Some(rx)),
        pending: Mutex::new(HashMap::new()),
        stop: AtomicBool::new(false),
        submitting: AtomicUsize::new(plan.submitters),
        submitted: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
    };
    let signers = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, WORKERS_MAX);
    let (tracked, refused) = std::thread::scope(|s| {
        for _ in 0..signers {
            let tx = tx.clone();
            let soak = &soak;
            s.spawn(move || sign_ahead(soak, tx));
        }
        drop(tx);
        let handles: Vec<_> = (0..plan.submitters)
            .map(|_| s.spawn(|| submitter(&soak, clients)))
            .collect();
        let tracked = track(&soak, &clients[0]);
        if tracked.is_err() {
            soak.stop.store(true, Ordering::Relaxed);
        }
        let refused: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (tracked, refused)
    });
    let tracked = tracked?;
    let mut refused_by_code = BTreeMap::new();
    for part in refused {
        let part = part.map_err(|_| CliError::Failed("a submitter thread panicked".into()))?;
        for (code, n) in part {
            *refused_by_code.entry(code).or_default() += n;
        }
    }
    let data_dir_bytes = plan.data_dir.and_then(dir_bytes);
    let finalized = tracked.windows.whole().count();
    let span_s = match (tracked.first_sent, tracked.last_final) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    Ok(SoakOutcome {
        submitted: soak.submitted.load(Ordering::Relaxed),
        accepted: soak.accepted.load(Ordering::Relaxed),
        refused: soak.refused.load(Ordering::Relaxed),
        refused_by_code,
        span_s,
        summary: SoakSummary {
            soak_s: plan.secs,
            offered_rate: plan.rate,
            window_secs: plan.window.as_secs(),
            windows: tracked.windows.closed(),
            node_rss_bytes: tracked.rss_bytes,
            data_dir_bytes,
            bytes_per_tx: bytes_per_tx(data_dir_bytes, finalized),
        },
        latencies: tracked.windows.whole().clone(),
    })
}

/// One signer: signs the next batch and queues it, blocking while the queue is full,
/// until the run's transactions are all signed or the submitters are gone.
fn sign_ahead(soak: &Soak<'_>, out: SyncSender<SignedBatch>) {
    let plan = soak.plan;
    loop {
        let k = soak.next_batch.fetch_add(1, Ordering::Relaxed);
        let start = k.saturating_mul(plan.batch);
        if start >= plan.total || soak.stop.load(Ordering::Relaxed) {
            return;
        }
        let end = start.saturating_add(plan.batch).min(plan.total);
        let head = soak.head.load(Ordering::Relaxed);
        let sign = SignPlan {
            expiry: head.saturating_add(BENCH_EXPIRY_BLOCKS),
            ..plan.sign
        };
        let mut batch = SignedBatch {
            start,
            hexes: Vec::with_capacity(end - start),
            hashes: Vec::with_capacity(end - start),
        };
        for j in start..end {
            let tx = bench_tx(&sign, j);
            batch.hexes.push(hex::encode(tx.encode()));
            batch.hashes.push(tx.hash());
        }
        if out.send(batch).is_err() {
            return; // the submitters are done
        }
    }
}

/// One submitter: takes the next signed batch, waits until it is due under `--rate`,
/// sends it to the next node, until the time is up or the batches run out. Returns
/// its refusals by code.
fn submitter(soak: &Soak<'_>, clients: &[Client]) -> BTreeMap<String, usize> {
    let mut refused = BTreeMap::new();
    while let Some(batch) = next_batch(soak) {
        let due = soak.t0 + Duration::from_secs_f64(batch.start as f64 / soak.plan.rate as f64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if soak.over() {
            break;
        }
        soak.submitted
            .fetch_add(batch.hashes.len(), Ordering::Relaxed);
        let senders = soak.plan.sign.keys.len();
        for (node, client) in clients.iter().enumerate() {
            let part: Vec<usize> = (0..batch.hashes.len())
                .filter(|&i| node_of(batch.start + i, senders, clients.len()) == node)
                .collect();
            if !part.is_empty() {
                send_with_retry(soak, client, &batch, part, &mut refused);
            }
        }
    }
    if soak.submitting.fetch_sub(1, Ordering::AcqRel) == 1 {
        drop(lock(&soak.batches).take()); // the signers' next send fails: they stop
    }
    refused
}

/// The next signed batch, or `None` when submitting is over.
fn next_batch(soak: &Soak<'_>) -> Option<SignedBatch> {
    loop {
        if soak.over() {
            return None;
        }
        let batches = lock(&soak.batches);
        match batches
            .as_ref()?
            .recv_timeout(Duration::from_millis(RECV_WAIT_MS))
        {
            Ok(batch) => return Some(batch),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Sends the transactions `pending` of `batch`, noting each as pending before the request goes out (so
/// the tracker cannot see it final first); resends those the node was too busy for.
fn send_with_retry(
    soak: &Soak<'_>,
    client: &Client,
    batch: &SignedBatch,
    mut pending: Vec<usize>,
    refused: &mut BTreeMap<String, usize>,
) {
    while !pending.is_empty() {
        let txs: Vec<&str> = pending.iter().map(|&i| batch.hexes[i].as_str()).collect();
        let sent = Instant::now();
        {
            let mut map = lock(&soak.pending);
            for &i in &pending {
                map.insert(batch.hashes[i], sent);
            }
        }
        let results = match submit_batch(client, &txs) {
            Ok(r) => r,
            Err(e) => {
                forget(soak, batch, &pending);
                let code = e.code().unwrap_or("request_failed");
                refuse(soak, refused, code, pending.len());
                return;
            }
        };
        let give_up = soak.over();
        let (mut retry, mut dropped) = (Vec::new(), Vec::new());
        for (&i, result) in pending.iter().zip(results) {
            match result {
                Ok(_) => {
                    soak.accepted.fetch_add(1, Ordering::Relaxed);
                }
                Err(r) if !give_up && RETRYABLE_CODES.contains(&r.code.as_str()) => retry.push(i),
                Err(r) => {
                    dropped.push(i);
                    refuse(soak, refused, r.code.as_str(), 1);
                }
            }
        }
        forget(soak, batch, &dropped);
        pending = retry;
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(RETRY_SLEEP_MS));
        }
    }
}

/// No longer waits for the transactions `which` of `batch`: they were refused.
fn forget(soak: &Soak<'_>, batch: &SignedBatch, which: &[usize]) {
    if which.is_empty() {
        return;
    }
    let mut map = lock(&soak.pending);
    for &i in which {
        map.remove(&batch.hashes[i]);
    }
}

/// Counts `count` refusals with `code`.
fn refuse(soak: &Soak<'_>, refused: &mut BTreeMap<String, usize>, code: &str, count: usize) {
    soak.refused.fetch_add(count, Ordering::Relaxed);
    *refused.entry(code.to_owned()).or_default() += count;
}

/// What the tracker measured.
struct Tracked {
    windows: Windows,
    first_sent: Option<Instant>,
    last_final: Option<Instant>,
    /// The node's resident set when last asked.
    rss_bytes: Option<u64>,
}

/// Reads every final block as it appears, counts the pending transactions in it into
/// the current window, and prints each window as it closes (the last one, partial,
/// when done). Ends when submitting is over and nothing is pending, or nothing became
/// final for [`FINALITY_STALL_SECS`] while something was pending.
fn track(soak: &Soak<'_>, client: &Client) -> Result<Tracked, CliError> {
    let mut seen = soak.head.load(Ordering::Relaxed);
    let mut out = Tracked {
        windows: Windows::new(soak.plan.window),
        first_sent: None,
        last_final: None,
        rss_bytes: None,
    };
    let mut last_progress = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(TRACK_POLL_MS));
        let mut height = seen;
        if let Ok(status) = client.status() {
            height = status.height;
            out.rss_bytes = status.rss_bytes.or(out.rss_bytes);
        }
        while seen < height {
            let Ok(block) = client.get::<BlockTxs>(&format!("/v1/blocks/{}", seen + 1)) else {
                break; // a transient failure: try again on the next poll
            };
            let now = Instant::now();
            seen += 1;
            soak.head.store(seen, Ordering::Relaxed);
            let mut pending = lock(&soak.pending);
            for hash in &block.txs {
                if let Some(sent) = pending.remove(hash) {
                    out.windows.record(now.duration_since(sent));
                    out.first_sent = Some(out.first_sent.map_or(sent, |f| f.min(sent)));
                    out.last_final = Some(now);
                    last_progress = now;
                }
            }
        }
        let now = Instant::now();
        while now >= soak.t0 + out.windows.end() {
            let end = out.windows.end();
            print_window(soak, &mut out, end)?;
            sweep(soak, now);
        }
        let idle = lock(&soak.pending).is_empty();
        if idle {
            last_progress = now;
        }
        if soak.submitting.load(Ordering::Relaxed) == 0 && idle {
            break;
        }
        if now.duration_since(last_progress) >= Duration::from_secs(FINALITY_STALL_SECS) {
            eprintln!("bench: nothing became final for {FINALITY_STALL_SECS} s; stopping");
            soak.stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    if !out.windows.is_empty(soak.submitted.load(Ordering::Relaxed)) {
        print_window(soak, &mut out, soak.t0.elapsed())?;
    }
    Ok(out)
}

/// Closes the current window at `end` and prints its line.
fn print_window(soak: &Soak<'_>, out: &mut Tracked, end: Duration) -> Result<(), CliError> {
    let probe = Probe {
        rss_bytes: out.rss_bytes,
        data_dir_bytes: soak.plan.data_dir.and_then(dir_bytes),
    };
    let submitted = soak.submitted.load(Ordering::Relaxed);
    let line: WindowLine = out.windows.close(end, submitted, probe);
    if crate::output::format() == crate::output::Format::Text {
        return stdout(&line.to_text());
    }
    let json = serde_json::to_string(&line)
        .map_err(|e| CliError::Failed(format!("cannot print a window: {e}")))?;
    stdout(&format!("{json}\n"))
}

/// Forgets pending transactions sent more than [`PENDING_AGE_MAX_SECS`] ago: the node
/// dropped them.
fn sweep(soak: &Soak<'_>, now: Instant) {
    let age_max = Duration::from_secs(PENDING_AGE_MAX_SECS);
    let mut pending = lock(&soak.pending);
    let before = pending.len();
    pending.retain(|_, sent| now.duration_since(*sent) < age_max);
    let forgotten = before - pending.len();
    if forgotten > 0 {
        eprintln!("bench: {forgotten} transactions not final after {PENDING_AGE_MAX_SECS} s; no longer waiting for them");
    }
}
