//! The load and the recorder: transfers signed on the fly and sent in batches to each
//! account's home node (another node while it is down), a "wallet" that resubmits
//! what a node lost, and one tracker per node that samples its head and reads every
//! block it makes final. Everything seen goes into the [`Recorder`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use jeon_runtime::{calls, Address, Call, Certificate, Hash, Height, Keypair, SignedTx};

use super::check::{FinalSeen, HeadSample};
use super::http::Api;
use crate::client::NodeStatus;

/// Load batches are cut this often.
const TICK: Duration = Duration::from_millis(100);
/// How often a tracker asks its node for its head (finality is timed to this).
const POLL: Duration = Duration::from_millis(20);
/// A head sample is recorded when the head moves, and at least this often.
const SAMPLE_MS: u64 = 200;
/// The most blocks a tracker reads from its node per sample.
const BLOCKS_PER_SAMPLE_MAX: u64 = 200;
/// A node that failed a request is avoided this long.
const DOWN_MS: u64 = 2_000;
/// The wallet looks at an account whose lowest unfinished transaction is this old.
const WALLET_PATIENCE_MS: u64 = 3_000;
/// The most transactions of one account the wallet resubmits at once.
const WALLET_RESEND_MAX: u64 = 64;
/// The most accounts the wallet looks at per round.
const WALLET_ACCOUNTS_PER_ROUND: usize = 128;
/// Batches queued per node before the dispatcher sends elsewhere.
const QUEUE_BATCHES: usize = 16;

/// Load counters for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct LoadStats {
    /// Transactions signed and sent (first sends).
    pub(crate) submitted: u64,
    /// Transactions some node admitted (at least once).
    pub(crate) admitted: u64,
    /// Refusals by code (first sends and resubmissions).
    pub(crate) refused_by_code: BTreeMap<String, u64>,
    /// Transactions the wallet sent again because a node lost or evicted them.
    pub(crate) resubmitted: u64,
    /// Batches no node answered.
    pub(crate) unanswered_batches: u64,
    /// Load transactions seen final.
    pub(crate) finalized: u64,
    /// From a transaction's first send to the first node serving it in a final block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) finality_ms: Option<Latency>,
}

/// Percentiles of a latency, in ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Latency {
    /// How many were timed.
    pub(crate) count: usize,
    /// Median.
    pub(crate) p50: u64,
    /// 90th percentile.
    pub(crate) p90: u64,
    /// 99th percentile.
    pub(crate) p99: u64,
    /// The slowest.
    pub(crate) max: u64,
}

impl Latency {
    /// The percentiles of `ms` (none when empty); nearest rank.
    pub(crate) fn of(mut ms: Vec<u64>) -> Option<Latency> {
        ms.sort_unstable();
        let at = |q: usize| {
            let rank = (ms.len() * q).div_ceil(100).max(1);
            ms.get(rank - 1).copied().unwrap_or(0)
        };
        Some(Latency {
            count: ms.len(),
            p50: at(50),
            p90: at(90),
            p99: at(99),
            max: *ms.last()?,
        })
    }
}

/// One load account.
#[derive(Default)]
struct Account {
    /// The next nonce to sign.
    sent: u64,
    /// The lowest nonce not yet seen final.
    low: u64,
    /// Final nonces above `low`.
    finals: BTreeSet<u64>,
    /// When the wallet last sent or checked its lowest unfinished transaction.
    touched_ms: u64,
}

/// What the recorder holds.
#[derive(Default)]
pub(crate) struct Record {
    by_hash: HashMap<Hash, (usize, u64)>,
    /// When each load transaction was first sent, ms since the load started.
    sent_ms: HashMap<Hash, u64>,
    /// Each final load transaction's time from first send to final.
    pub(crate) finality_ms: Vec<u64>,
    /// Every transaction some node admitted.
    pub(crate) admitted: HashSet<Hash>,
    accounts: Vec<Account>,
    /// First sighting of each final load transaction.
    pub(crate) final_seen: BTreeMap<Hash, FinalSeen>,
    /// Head samples.
    pub(crate) heads: Vec<HeadSample>,
    /// When a tracker first read each height final (wall clock, ms since the epoch).
    pub(crate) block_seen_wall_ms: BTreeMap<u64, u64>,
    /// Certificates the nodes served during the run.
    pub(crate) certificates: Vec<(usize, Certificate)>,
    /// The counters.
    pub(crate) stats: LoadStats,
}

/// Signs the load's transactions: account `a`'s nonce `n` is always the same bytes,
/// so the wallet can resubmit without keeping them.
pub(crate) struct Signer {
    status: NodeStatus,
    keys: Vec<Keypair>,
    addrs: Vec<Address>,
    /// The expiry height every load transaction carries.
    pub(crate) expiry: Height,
}

impl Signer {
    /// The load accounts `chaos-0` .. `chaos-{m-1}`.
    pub(crate) fn new(status: NodeStatus, accounts: usize, expiry: Height) -> Signer {
        let keys: Vec<Keypair> = (0..accounts)
            .map(|i| Keypair::from_seed_label(&format!("chaos-{i}")))
            .collect();
        let addrs = keys.iter().map(Keypair::address).collect();
        Signer {
            status,
            keys,
            addrs,
            expiry,
        }
    }

    /// The accounts' addresses.
    pub(crate) fn addrs(&self) -> &[Address] {
        &self.addrs
    }

    /// Account `a`'s transfer with nonce `n` to the next account.
    fn tx(&self, a: usize, n: u64) -> Option<SignedTx> {
        let key = self.keys.get(a)?;
        let to = *self.addrs.get((a + 1) % self.addrs.len())?;
        let call = Call::Transfer(calls::Transfer {
            to,
            asset: self.status.fee.asset,
            amount: crate::bench::presign::TRANSFER_AMOUNT,
        });
        Some(crate::bench::sign(&self.status, key, n, self.expiry, call))
    }
}

/// Shared by the load, the wallet and the trackers.
pub(crate) struct Recorder {
    t0: Instant,
    record: Mutex<Record>,
    apis: Vec<Api>,
    down_until_ms: Vec<AtomicU64>,
    /// Set to stop the first sends (the wallet goes on).
    pub(crate) stop_load: AtomicBool,
    /// Set to stop everything.
    pub(crate) stop_all: AtomicBool,
}

impl Recorder {
    /// A recorder for `apis`, its clock starting now.
    pub(crate) fn new(apis: Vec<Api>, accounts: usize) -> Recorder {
        let down_until_ms = apis.iter().map(|_| AtomicU64::new(0)).collect();
        let record = Record {
            accounts: (0..accounts).map(|_| Account::default()).collect(),
            ..Record::default()
        };
        Recorder {
            t0: Instant::now(),
            record: Mutex::new(record),
            apis,
            down_until_ms,
            stop_load: AtomicBool::new(false),
            stop_all: AtomicBool::new(false),
        }
    }

    /// Milliseconds since the recorder started.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.t0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The record.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_down(&self, node: usize) -> bool {
        self.down_until_ms
            .get(node)
            .is_some_and(|d| d.load(Ordering::Relaxed) > self.now_ms())
    }

    fn mark_down(&self, node: usize) {
        if let Some(d) = self.down_until_ms.get(node) {
            d.store(self.now_ms() + DOWN_MS, Ordering::Relaxed);
        }
    }

    /// `home`, or the next node that is not known to be down.
    fn route(&self, home: usize) -> usize {
        let n = self.apis.len().max(1);
        (0..n)
            .map(|k| (home + k) % n)
            .find(|&i| !self.is_down(i))
            .unwrap_or(home % n)
    }

    /// Whether every account's transactions are final.
    pub(crate) fn drained(&self) -> bool {
        self.lock().accounts.iter().all(|a| a.low >= a.sent)
    }

    /// Sends `txs` to `first`, else to every other node in turn; records the results.
    fn send(&self, first: usize, txs: &[(Hash, String)]) {
        let body = json!({ "txs": txs.iter().map(|(_, h)| h.as_str()).collect::<Vec<_>>() });
        let n = self.apis.len();
        let order: Vec<usize> = (0..n).map(|k| (first + k) % n).collect();
        let up: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| !self.is_down(i))
            .collect();
        // Nodes known to be down are skipped, unless all are.
        for node in if up.is_empty() { order } else { up } {
            let Some(api) = self.apis.get(node) else {
                continue;
            };
            match api.post("/v1/txs/batch", &body) {
                Ok((202, answer)) => {
                    self.record_results(txs, &answer);
                    return;
                }
                Ok((_, answer)) => {
                    let code = answer["error"]["code"].as_str().unwrap_or("http_error");
                    let mut r = self.lock();
                    *r.stats.refused_by_code.entry(code.to_owned()).or_default() +=
                        txs.len() as u64;
                    return;
                }
                Err(_) => self.mark_down(node),
            }
        }
        self.lock().stats.unanswered_batches += 1;
    }

    fn record_results(&self, txs: &[(Hash, String)], answer: &Value) {
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        let mut r = self.lock();
        for ((hash, _), result) in txs.iter().zip(&results) {
            if result.get("hash").is_some() {
                if r.admitted.insert(*hash) {
                    r.stats.admitted += 1;
                }
            } else {
                let code = result["error"]["code"].as_str().unwrap_or("unknown");
                *r.stats.refused_by_code.entry(code.to_owned()).or_default() += 1;
            }
        }
    }

    /// Marks a load transaction final at `height` on `node`.
    fn saw_final(r: &mut Record, hash: Hash, node: usize, height: u64, t_ms: u64) {
        let Some(&(a, n)) = r.by_hash.get(&hash) else {
            return;
        };
        if r.final_seen.contains_key(&hash) {
            return;
        }
        r.final_seen.insert(hash, FinalSeen { node, height, t_ms });
        r.stats.finalized += 1;
        if let Some(sent) = r.sent_ms.remove(&hash) {
            r.finality_ms.push(t_ms.saturating_sub(sent));
        }
        if let Some(acct) = r.accounts.get_mut(a) {
            acct.finals.insert(n);
            while acct.finals.remove(&acct.low) {
                acct.low += 1;
            }
        }
    }
}

/// The load: `rate` transfers a second, cut into a batch per node every [`TICK`],
/// until `stop_load`.
pub(crate) fn run_load(rec: &Recorder, signer: &Signer, rate: u64) {
    let n = rec.apis.len();
    let m = signer.keys.len().max(1);
    let mut queues: Vec<SyncSender<Vec<(Hash, String)>>> = Vec::new();
    std::thread::scope(|s| {
        for node in 0..n {
            let (tx, rx) = sync_channel(QUEUE_BATCHES);
            queues.push(tx);
            s.spawn(move || worker(rec, node, &rx));
        }
        let start = Instant::now();
        let mut cursor: u64 = 0;
        while !rec.stop_load.load(Ordering::Relaxed) && rate > 0 {
            std::thread::sleep(TICK);
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            let mut groups: Vec<Vec<(Hash, String)>> = vec![Vec::new(); n];
            while cursor < due {
                let a = (cursor % m as u64) as usize;
                let nonce = cursor / m as u64;
                cursor += 1;
                let Some(tx) = signer.tx(a, nonce) else {
                    continue;
                };
                let hash = tx.hash();
                {
                    let mut r = rec.lock();
                    r.by_hash.insert(hash, (a, nonce));
                    r.sent_ms.insert(hash, rec.now_ms());
                    r.stats.submitted += 1;
                    if let Some(acct) = r.accounts.get_mut(a) {
                        acct.sent = nonce + 1;
                        acct.touched_ms = rec.now_ms();
                    }
                }
                if let Some(g) = groups.get_mut(rec.route(a % n)) {
                    g.push((hash, hex::encode(tx.encode())));
                }
            }
            for (node, batch) in groups.into_iter().enumerate() {
                if batch.is_empty() {
                    continue;
                }
                let Some(q) = queues.get(node) else { continue };
                match q.try_send(batch) {
                    Ok(()) => {}
                    // The node is slow or stopped: this batch goes elsewhere.
                    Err(TrySendError::Full(batch)) => {
                        rec.mark_down(node);
                        rec.send((node + 1) % n, &batch);
                    }
                    Err(TrySendError::Disconnected(_)) => {}
                }
            }
        }
        queues.clear(); // the workers end once their queues are empty
    });
}

fn worker(rec: &Recorder, node: usize, rx: &Receiver<Vec<(Hash, String)>>) {
    while let Ok(batch) = rx.recv() {
        rec.send(node, &batch);
    }
}

/// The wallet: an account whose lowest unfinished transaction has waited
/// [`WALLET_PATIENCE_MS`] is looked up at its node; if the node no longer has it
/// (lost in a crash, evicted behind a gap, refused), it and the account's next ones
/// are sent again. Runs until `stop_all`.
pub(crate) fn run_wallet(rec: &Recorder, signer: &Signer) {
    let n = rec.apis.len().max(1);
    while !rec.stop_all.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(500));
        let now = rec.now_ms();
        let due: Vec<(usize, u64, u64)> = {
            let mut r = rec.lock();
            let mut due = Vec::new();
            for (a, acct) in r.accounts.iter_mut().enumerate() {
                if acct.low < acct.sent && now >= acct.touched_ms + WALLET_PATIENCE_MS {
                    acct.touched_ms = now;
                    due.push((a, acct.low, acct.sent.min(acct.low + WALLET_RESEND_MAX)));
                    if due.len() >= WALLET_ACCOUNTS_PER_ROUND {
                        break;
                    }
                }
            }
            due
        };
        for (a, low, high) in due {
            let Some(tx) = signer.tx(a, low) else {
                continue;
            };
            let node = rec.route(a % n);
            let status = rec
                .apis
                .get(node)
                .and_then(|api| api.get_ok(&format!("/v1/txs/{}", tx.hash())));
            let lost = match &status {
                Some(s) => match s["status"].as_str() {
                    Some("unknown") => true,
                    Some("rejected") => s.get("receipt").is_none(),
                    _ => false,
                },
                None => false, // unreachable: try again next round
            };
            if !lost {
                continue;
            }
            let batch: Vec<(Hash, String)> = (low..high)
                .filter_map(|nonce| signer.tx(a, nonce))
                .map(|tx| (tx.hash(), hex::encode(tx.encode())))
                .collect();
            rec.lock().stats.resubmitted += batch.len() as u64;
            rec.send(node, &batch);
        }
    }
}

/// A tracker: samples node `node`'s head and reads each block it makes final, until
/// `stop_all`.
pub(crate) fn run_tracker(rec: &Recorder, node: usize) {
    let Some(api) = rec.apis.get(node) else {
        return;
    };
    let (mut seen, mut sampled) = (0u64, None::<(u64, u64)>);
    while !rec.stop_all.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
        let t_ms = rec.now_ms();
        let Some(height) = api.height() else {
            continue;
        };
        let due = sampled.is_none_or(|(t, h)| h != height || t_ms >= t + SAMPLE_MS);
        if due {
            sampled = Some((t_ms, height));
            rec.lock().heads.push(HeadSample { t_ms, node, height });
        }
        if height < seen {
            seen = height; // wiped: it re-syncs from the start
        }
        let until = height.min(seen + BLOCKS_PER_SAMPLE_MAX);
        while seen < until {
            let Some(block) = api.get_ok(&format!("/v1/blocks/{}", seen + 1)) else {
                break;
            };
            seen += 1;
            let now = rec.now_ms();
            let txs = parse_hashes(&block["txs"]);
            let cert = serde_json::from_value::<Certificate>(block["certificate"].clone()).ok();
            let wall_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            let mut r = rec.lock();
            r.block_seen_wall_ms.entry(seen).or_insert(wall_ms);
            for hash in txs {
                Recorder::saw_final(&mut r, hash, node, seen, now);
            }
            if let Some(cert) = cert {
                r.certificates.push((node, cert));
            }
        }
    }
}

/// Hex hashes in a JSON array.
pub(crate) fn parse_hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h.as_str()?.parse().ok())
        .collect()
}
