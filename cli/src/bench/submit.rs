//! Submitting: the pre-signed transactions in `POST /v1/txs/batch` requests from
//! several threads, each account's to one node (`presign::node_of`), paced by `--rate`, with the "not now"
//! refusals retried; the finality tracker runs alongside.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use jeon_node::api::types::{BatchAnswer, BatchItem, ErrorDetail};
use jeon_runtime::{Hash, Height};

use super::presign::{node_of, Presigned};
use super::report::Outcome;
use super::track::track;
use super::BenchArgs;
use crate::client::{ApiError, Client};
use crate::error::CliError;

/// How long a submitter sleeps before retrying a batch the node was too busy for.
pub(super) const RETRY_SLEEP_MS: u64 = 50;
/// Refusals that mean "not now": the transaction is sent again.
pub(super) const RETRYABLE_CODES: [&str; 2] = ["mempool_full", "sender_queue_full"];
/// How long a submitter waits when the node refuses a whole batch as over its
/// per-client rate (`rate_limited`): the shortest `Retry-After` the node gives.
const RATE_LIMITED_SLEEP_MS: u64 = 1_000;
/// Refusals of a transaction that would wait behind a nonce gap. Usually an earlier
/// nonce of the sender is being retried in another batch and fills the gap soon; but
/// if the node evicted that earlier nonce after admitting it (the bench does not
/// resubmit admitted transactions), the gap never fills. So these are retried only
/// for [`FUTURE_RETRY_MS_MAX`], then counted as refused, instead of spinning forever.
const FUTURE_CODES: [&str; 2] = ["future_txs_full", "too_many_future_txs"];
/// How long a batch's gap-refused transactions are sent again, from its first send:
/// wall time, not a count, since one round of 5,000-transaction batches from several
/// submitters can take seconds on a loaded node.
const FUTURE_RETRY_MS_MAX: u64 = 5_000;

/// The body of `POST /v1/txs/batch`.
#[derive(Serialize)]
struct BatchBody<'a> {
    txs: &'a [&'a str],
}

/// Why the node refused one transaction of a batch: its stable code and message.
pub(super) type Refusal = ErrorDetail;

/// `POST /v1/txs/batch`: one result per transaction, in order.
pub(super) fn submit_batch(
    client: &Client,
    txs: &[&str],
) -> Result<Vec<Result<Hash, Refusal>>, ApiError> {
    let answer: BatchAnswer = client.post("/v1/txs/batch", &BatchBody { txs })?;
    if answer.results.len() != txs.len() {
        return Err(ApiError::Transport {
            url: format!("{}/v1/txs/batch", client.base()),
            reason: format!(
                "{} results for {} transactions",
                answer.results.len(),
                txs.len()
            ),
        });
    }
    Ok(answer
        .results
        .into_iter()
        .map(|r| match r {
            BatchItem::Admitted(a) => Ok(a.hash),
            BatchItem::Refused(r) => Err(r.error),
        })
        .collect())
}

/// State shared by the submitters and the tracker.
pub(super) struct Run<'a> {
    pub(super) presigned: &'a Presigned,
    /// Bench accounts: transaction j is sent by account j % senders.
    pub(super) senders: usize,
    pub(super) batch: usize,
    pub(super) rate: u64,
    /// When the clock started.
    pub(super) t0: Instant,
    /// When to stop submitting (`--duration-secs`).
    pub(super) deadline: Option<Instant>,
    /// Set when the tracker gives up: submitters stop too.
    pub(super) stop: AtomicBool,
    pub(super) submitting: AtomicUsize,
    pub(super) submitted: AtomicUsize,
    pub(super) accepted: AtomicUsize,
    pub(super) refused: AtomicUsize,
}

/// What one submitter thread did.
#[derive(Default)]
struct Submitted {
    /// Admitted transactions (index into the pre-signed list) and when the request
    /// that admitted them was sent.
    admitted: Vec<(usize, Instant)>,
    refused_by_code: BTreeMap<String, usize>,
}

/// Submits everything from `--submitters` threads while this thread tracks finality;
/// gathers what was measured.
pub(super) fn submit_and_track(
    args: &BenchArgs,
    clients: &[Client],
    presigned: &Presigned,
    head: Height,
) -> Result<Outcome, CliError> {
    let t0 = Instant::now();
    let run = Run {
        presigned,
        // `--mode meter`: every claim is the merchant's, so one lane sends them all.
        senders: if args.mode == super::Mode::Meter {
            1
        } else {
            args.accounts
        },
        batch: args.batch,
        rate: args.rate,
        t0,
        deadline: args.duration_secs.map(|s| t0 + Duration::from_secs(s)),
        stop: AtomicBool::new(false),
        submitting: AtomicUsize::new(args.submitters),
        submitted: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
    };
    let tracker = &clients[0];
    let (final_at, submitted) = std::thread::scope(|s| {
        let lanes = args.submitters;
        let handles: Vec<_> = (0..lanes)
            .map(|lane| {
                let run = &run;
                s.spawn(move || submitter(run, clients, lane, lanes))
            })
            .collect();
        let final_at = track(&run, tracker, head);
        let submitted: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (final_at, submitted)
    });
    let mut outcome = Outcome {
        submitted: run.submitted.load(Ordering::Relaxed),
        accepted: run.accepted.load(Ordering::Relaxed),
        refused: run.refused.load(Ordering::Relaxed),
        refused_by_code: BTreeMap::new(),
        finals: Vec::new(),
        finalized: final_at.iter().flatten().count(),
    };
    for part in submitted {
        let part = part.map_err(|_| CliError::Failed("a submitter thread panicked".into()))?;
        for (code, n) in part.refused_by_code {
            *outcome.refused_by_code.entry(code).or_default() += n;
        }
        for (i, sent) in part.admitted {
            if let Some(Some(done)) = final_at.get(i) {
                outcome.finals.push((sent, *done));
            }
        }
    }
    Ok(outcome)
}

/// One submitter, `lane` of `lanes`: walks the batches in order, waits for each one's
/// turn under `--rate`, and sends the batch's transactions of its own accounts (those
/// with `sender % lanes == lane`), each to its sender's node, until the batches, the
/// time or the tracker's patience run out. An account belongs to one lane, so its
/// transactions leave in nonce order, as a wallet sends them: lanes that took batches
/// from a shared counter raced, and a later nonce often reached the node first, to
/// wait behind a gap that the mempool bounds (and may evict).
fn submitter(run: &Run<'_>, clients: &[Client], lane: usize, lanes: usize) -> Submitted {
    let mut out = Submitted::default();
    let n = run.presigned.hexes.len();
    for k in 0.. {
        let start = k * run.batch;
        if start >= n || run.stop.load(Ordering::Relaxed) {
            break;
        }
        if run.rate > 0 {
            let due = run.t0 + Duration::from_secs_f64(start as f64 / run.rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        if run.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let end = (start + run.batch).min(n);
        let mine: Vec<usize> = (start..end)
            .filter(|&j| (j % run.senders.max(1)) % lanes == lane)
            .collect();
        run.submitted.fetch_add(mine.len(), Ordering::Relaxed);
        for (node, client) in clients.iter().enumerate() {
            let part: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|&j| node_of(j, run.senders, clients.len()) == node)
                .collect();
            if !part.is_empty() {
                send_with_retry(run, client, part, &mut out);
            }
        }
    }
    run.submitting.fetch_sub(1, Ordering::Relaxed);
    out
}

/// Sends the transactions `pending`; resends those the node was too busy for.
fn send_with_retry(run: &Run<'_>, client: &Client, mut pending: Vec<usize>, out: &mut Submitted) {
    let first_sent = Instant::now();
    while !pending.is_empty() {
        let txs: Vec<&str> = pending
            .iter()
            .map(|&i| run.presigned.hexes[i].as_str())
            .collect();
        let sent = Instant::now();
        let results = match submit_batch(client, &txs) {
            Ok(r) => r,
            // A node configured with a low per-client rate: wait and send the batch again.
            Err(e) if !giving_up(run) && e.code() == Some("rate_limited") => {
                std::thread::sleep(Duration::from_millis(RATE_LIMITED_SLEEP_MS));
                continue;
            }
            Err(e) => {
                refuse(
                    run,
                    out,
                    e.code().unwrap_or("request_failed"),
                    pending.len(),
                );
                return;
            }
        };
        let give_up = giving_up(run);
        let mut retry = Vec::new();
        for (i, result) in pending.iter().zip(results) {
            match result {
                Ok(_) => {
                    run.accepted.fetch_add(1, Ordering::Relaxed);
                    out.admitted.push((*i, sent));
                }
                Err(r) if !give_up && RETRYABLE_CODES.contains(&r.code.as_str()) => retry.push(*i),
                Err(r) if !give_up && FUTURE_CODES.contains(&r.code.as_str()) => {
                    let patient = first_sent.elapsed() < Duration::from_millis(FUTURE_RETRY_MS_MAX);
                    if patient {
                        retry.push(*i);
                    } else {
                        refuse(run, out, r.code.as_str(), 1);
                    }
                }
                Err(r) => refuse(run, out, r.code.as_str(), 1),
            }
        }
        pending = retry;
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(RETRY_SLEEP_MS));
        }
    }
}

/// Whether the run is stopping (asked to, or past its deadline): nothing is resent.
fn giving_up(run: &Run<'_>) -> bool {
    run.stop.load(Ordering::Relaxed) || run.deadline.is_some_and(|d| Instant::now() >= d)
}

/// Counts `count` refusals with `code`.
fn refuse(run: &Run<'_>, out: &mut Submitted, code: &str, count: usize) {
    run.refused.fetch_add(count, Ordering::Relaxed);
    *out.refused_by_code.entry(code.to_owned()).or_default() += count;
}
