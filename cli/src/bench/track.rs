//! Tracking finality: every new final block read as it appears, and when each bench
//! transaction was seen in one.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Deserialize;

use jeon_runtime::{Hash, Height};

use super::submit::Run;
use crate::client::Client;

/// The bench stops when no transaction became final for this long.
pub(super) const FINALITY_STALL_SECS: u64 = 60;
/// How often the finality tracker asks for the head.
pub(super) const TRACK_POLL_MS: u64 = 10;
/// How often progress is reported on stderr.
const PROGRESS_SECS: u64 = 2;

/// The transaction hashes of a final block.
#[derive(Deserialize)]
pub(super) struct BlockTxs {
    pub(super) txs: Vec<Hash>,
}

/// Reads every final block after `head` as it appears and notes when each bench
/// transaction was seen final; returns those times by pre-signed index. Ends when
/// submission is over and every admitted transaction is final, or nothing became
/// final for a minute.
pub(super) fn track(run: &Run<'_>, client: &Client, head: Height) -> Vec<Option<Instant>> {
    let index: HashMap<Hash, usize> = run
        .presigned
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i))
        .collect();
    let mut final_at: Vec<Option<Instant>> = vec![None; index.len()];
    let (mut seen, mut finalized) = (head, 0usize);
    let mut last_progress = Instant::now();
    let mut next_report = Instant::now() + Duration::from_secs(PROGRESS_SECS);
    loop {
        std::thread::sleep(Duration::from_millis(TRACK_POLL_MS));
        let height = client.status().map_or(seen, |s| s.height);
        while seen < height {
            let Ok(block) = client.get::<BlockTxs>(&format!("/v1/blocks/{}", seen + 1)) else {
                break; // a transient failure: try again on the next poll
            };
            let now = Instant::now();
            seen += 1;
            for hash in &block.txs {
                if let Some(slot) = index.get(hash).and_then(|&i| final_at.get_mut(i)) {
                    if slot.is_none() {
                        *slot = Some(now);
                        finalized += 1;
                        last_progress = now;
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= next_report {
            progress(run, finalized, seen);
            next_report += Duration::from_secs(PROGRESS_SECS);
        }
        let submitting = run.submitting.load(Ordering::Relaxed) > 0;
        if !submitting && finalized >= run.accepted.load(Ordering::Relaxed) {
            break;
        }
        if now.duration_since(last_progress) >= Duration::from_secs(FINALITY_STALL_SECS) {
            eprintln!("bench: nothing became final for {FINALITY_STALL_SECS} s; stopping");
            run.stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    final_at
}

/// One progress line on stderr.
fn progress(run: &Run<'_>, finalized: usize, height: Height) {
    eprintln!(
        "bench: {:.1} s: submitted {}, accepted {}, refused {}, finalized {} (height {height})",
        run.t0.elapsed().as_secs_f64(),
        run.submitted.load(Ordering::Relaxed),
        run.accepted.load(Ordering::Relaxed),
        run.refused.load(Ordering::Relaxed),
        finalized,
    );
}
