//! The report: counts, finalized throughput and latency percentiles, printed as one
//! JSON line.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::Mode;

/// What the bench prints.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    pub(super) mode: Mode,
    submitted: usize,
    accepted: usize,
    refused: usize,
    refused_by_code: BTreeMap<String, usize>,
    finalized: usize,
    duration_s: f64,
    finalized_tps: f64,
    latency_ms_p50: Option<f64>,
    latency_ms_p99: Option<f64>,
    latency_ms_max: Option<f64>,
    presign_s: f64,
    node_rss_peak_bytes: Option<u64>,
}

/// Everything measured.
pub(super) struct Outcome {
    pub(super) submitted: usize,
    pub(super) accepted: usize,
    pub(super) refused: usize,
    pub(super) refused_by_code: BTreeMap<String, usize>,
    /// (submitted at, final at) of each admitted transaction seen final.
    pub(super) finals: Vec<(Instant, Instant)>,
    /// Bench transactions seen in final blocks (including any whose admission
    /// answer was lost).
    pub(super) finalized: usize,
}

/// The `p`-th percentile of sorted values (nearest rank).
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Rounds to milliseconds (or microseconds of a millisecond value), for a readable line.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The report: counts, throughput over the measured span, latency percentiles.
pub(super) fn report(outcome: Outcome, presign_s: f64, rss: Option<u64>) -> Report {
    let first = outcome.finals.iter().map(|(s, _)| *s).min();
    let last = outcome.finals.iter().map(|(_, f)| *f).max();
    let duration_s = match (first, last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let mut latencies: Vec<f64> = outcome
        .finals
        .iter()
        .map(|(s, f)| f.duration_since(*s).as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let tps = if duration_s > 0.0 {
        outcome.finalized as f64 / duration_s
    } else {
        0.0
    };
    Report {
        mode: Mode::Transfer,
        submitted: outcome.submitted,
        accepted: outcome.accepted,
        refused: outcome.refused,
        refused_by_code: outcome.refused_by_code,
        finalized: outcome.finalized,
        duration_s: round3(duration_s),
        finalized_tps: round3(tps),
        latency_ms_p50: percentile(&latencies, 0.50).map(round3),
        latency_ms_p99: percentile(&latencies, 0.99).map(round3),
        latency_ms_max: latencies.last().copied().map(round3),
        presign_s: round3(presign_s),
        node_rss_peak_bytes: rss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
