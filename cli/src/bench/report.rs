//! The report: counts, finalized throughput and latency percentiles, printed as one
//! JSON line.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::window::Latencies;
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
    /// `--soak` only.
    #[serde(flatten)]
    pub(super) soak: Option<SoakSummary>,
    /// `--mode meter` only.
    #[serde(flatten)]
    meter: Option<MeterSummary>,
}

/// The fields `--mode meter` adds: units charged through sessions.
#[derive(Debug, Serialize)]
pub(super) struct MeterSummary {
    /// Units the chain charged on the bench sessions (read back from the node).
    units_charged: u64,
    /// `units_charged` over `duration_s`.
    units_per_s: f64,
    /// What `--data-dir` grew by from before the first claim to after the last was
    /// final; null without `--data-dir`.
    data_dir_bytes_added: Option<u64>,
    /// `data_dir_bytes_added` per unit charged.
    bytes_per_unit: Option<f64>,
}

impl Report {
    /// Adds `--mode meter`'s figures: `units` charged over the run's span, and what
    /// the data directory grew by, if measured.
    pub(super) fn add_meter(&mut self, units: u64, grown: Option<u64>) {
        let per_unit = |b: u64| (units > 0).then(|| round3(b as f64 / units as f64));
        self.meter = Some(MeterSummary {
            units_charged: units,
            units_per_s: round3(per_second(units as f64, self.duration_s)),
            data_dir_bytes_added: grown,
            bytes_per_unit: grown.and_then(per_unit),
        });
    }
}

/// The fields a `--soak` run adds to the report.
#[derive(Debug, Serialize)]
pub(super) struct SoakSummary {
    pub(super) soak_s: u64,
    pub(super) offered_rate: u64,
    pub(super) window_secs: u64,
    pub(super) windows: u64,
    pub(super) node_rss_bytes: Option<u64>,
    pub(super) data_dir_bytes: Option<u64>,
    pub(super) bytes_per_tx: Option<f64>,
}

/// Everything a `--soak` run measured: latencies counted as they came, not kept.
pub(super) struct SoakOutcome {
    pub(super) submitted: usize,
    pub(super) accepted: usize,
    pub(super) refused: usize,
    pub(super) refused_by_code: BTreeMap<String, usize>,
    /// From the first request sent to the last transaction seen final.
    pub(super) span_s: f64,
    pub(super) latencies: Latencies,
    pub(super) summary: SoakSummary,
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
pub(super) fn round3(x: f64) -> f64 {
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
    let tps = per_second(outcome.finalized as f64, duration_s);
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
        soak: None,
        meter: None,
    }
}

/// `count` per second over `secs` (0 over no time).
fn per_second(count: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        count / secs
    } else {
        0.0
    }
}

/// The report of a `--soak` run: throughput and percentiles over the whole run, and
/// the soak's own fields. Nothing was pre-signed (`presign_s` is 0).
pub(super) fn soak_report(outcome: SoakOutcome, rss_peak: Option<u64>) -> Report {
    let finalized = outcome.latencies.count();
    let tps = per_second(finalized as f64, outcome.span_s);
    Report {
        mode: Mode::Transfer,
        submitted: outcome.submitted,
        accepted: outcome.accepted,
        refused: outcome.refused,
        refused_by_code: outcome.refused_by_code,
        finalized: usize::try_from(finalized).unwrap_or(usize::MAX),
        duration_s: round3(outcome.span_s),
        finalized_tps: round3(tps),
        latency_ms_p50: outcome.latencies.percentile(0.50),
        latency_ms_p99: outcome.latencies.percentile(0.99),
        latency_ms_max: outcome.latencies.max_ms(),
        presign_s: 0.0,
        node_rss_peak_bytes: rss_peak,
        soak: Some(outcome.summary),
        meter: None,
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
