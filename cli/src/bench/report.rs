//! The report: counts, finalized throughput and latency percentiles, printed as one
//! JSON line (`--output json`) or as a short summary for people (`--output text`).

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

impl Report {
    /// The report for people: what was sent, what became final how fast, and what
    /// the node used. The same figures as the JSON line, in words.
    pub(super) fn to_text(&self) -> String {
        let mode = serde_json::to_value(self.mode)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut out = format!(
            "bench ({mode}): {} submitted, {} accepted, {} refused\n",
            self.submitted, self.accepted, self.refused
        );
        if !self.refused_by_code.is_empty() {
            let codes: Vec<String> = self
                .refused_by_code
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            out.push_str(&format!("  refused by code: {}\n", codes.join(", ")));
        }
        out.push_str(&format!(
            "  finalized: {} in {:.3} s, {:.1} tx/s\n",
            self.finalized, self.duration_s, self.finalized_tps
        ));
        out.push_str(&format!(
            "  latency: p50 {}, p99 {}, max {}\n",
            ms(self.latency_ms_p50),
            ms(self.latency_ms_p99),
            ms(self.latency_ms_max)
        ));
        if self.soak.is_none() {
            out.push_str(&format!("  pre-signed in {:.3} s\n", self.presign_s));
        }
        out.push_str(&format!(
            "  node peak RSS: {}\n",
            mib(self.node_rss_peak_bytes)
        ));
        if let Some(s) = &self.soak {
            out.push_str(&format!(
                "  soak: {} s offered at {} tx/s, {} windows of {} s; node RSS at the end {}, \
                 data directory {}{}\n",
                s.soak_s,
                s.offered_rate,
                s.windows,
                s.window_secs,
                mib(s.node_rss_bytes),
                mib(s.data_dir_bytes),
                s.bytes_per_tx
                    .map(|b| format!(" ({b:.0} bytes per final tx)"))
                    .unwrap_or_default()
            ));
        }
        out
    }
}

/// A latency for people: `12.345 ms`, or `-` when nothing was measured.
pub(super) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.1} ms"))
}

/// A size in MiB, or `-` when the node did not say.
pub(super) fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "-".to_owned(),
        |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    )
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
    fn the_text_report_says_the_json_lines_figures_in_words() {
        let outcome = Outcome {
            submitted: 200,
            accepted: 198,
            refused: 2,
            refused_by_code: [("rate_limited".to_owned(), 2)].into_iter().collect(),
            finals: Vec::new(),
            finalized: 198,
        };
        let mut r = report(outcome, 0.5, Some(64 * 1024 * 1024));
        r.mode = Mode::Pay;
        r.latency_ms_p50 = Some(120.0);
        let text = r.to_text();
        assert!(
            text.starts_with("bench (pay): 200 submitted, 198 accepted, 2 refused\n"),
            "{text}"
        );
        assert!(text.contains("refused by code: rate_limited 2"), "{text}");
        assert!(
            text.contains("latency: p50 120.0 ms, p99 -, max -"),
            "{text}"
        );
        assert!(text.contains("node peak RSS: 64.0 MiB"), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
