//! Soak bookkeeping: latencies in fixed 1 ms buckets, and the windows of a soak run
//! (what was submitted and finalized in each, with its percentiles), in memory that
//! does not grow with the run's length.

use std::time::Duration;

use serde::Serialize;

use super::report::round3;

/// The largest latency bucket, in milliseconds: a latency above it counts in this
/// bucket (the exact maximum is kept aside). About 480 KB of counters per histogram.
const LATENCY_MS_MAX: usize = 60_000;

/// Latencies counted in 1 ms buckets: percentiles to the millisecond in constant
/// memory, whatever the number of transactions.
#[derive(Debug, Clone)]
pub(super) struct Latencies {
    /// `counts[i]`: latencies in `(i - 1, i]` ms (bucket 0: exactly 0).
    counts: Vec<u64>,
    total: u64,
    max_ms: f64,
}

impl Latencies {
    /// No latencies yet.
    pub(super) fn new() -> Latencies {
        Latencies {
            counts: vec![0; LATENCY_MS_MAX + 1],
            total: 0,
            max_ms: 0.0,
        }
    }

    /// Counts one latency.
    pub(super) fn record(&mut self, latency: Duration) {
        let micros = latency.as_micros();
        let bucket = usize::try_from(micros.div_ceil(1000))
            .unwrap_or(usize::MAX)
            .min(LATENCY_MS_MAX);
        self.counts[bucket] += 1;
        self.total += 1;
        self.max_ms = self.max_ms.max(micros as f64 / 1000.0);
    }

    /// How many latencies were counted.
    pub(super) fn count(&self) -> u64 {
        self.total
    }

    /// The largest latency (ms), if any.
    pub(super) fn max_ms(&self) -> Option<f64> {
        (self.total > 0).then_some(self.max_ms)
    }

    /// The `p`-th percentile (nearest rank), as its bucket's upper edge in ms (the
    /// exact maximum in the last bucket); `None` when empty.
    pub(super) fn percentile(&self, p: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((p * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (ms, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                // The last bucket holds everything beyond it: report the maximum.
                let edge = if ms == LATENCY_MS_MAX {
                    self.max_ms
                } else {
                    ms as f64
                };
                return Some(edge.min(self.max_ms));
            }
        }
        Some(self.max_ms)
    }

    /// Forgets everything counted.
    fn clear(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.max_ms = 0.0;
    }
}

/// One window's JSON line.
#[derive(Debug, Serialize)]
pub(super) struct WindowLine {
    /// 0, 1, 2, ...
    pub(super) window: u64,
    pub(super) start_s: f64,
    pub(super) end_s: f64,
    /// Transactions first sent in the window.
    pub(super) submitted: usize,
    /// Transactions seen final in the window.
    pub(super) finalized: u64,
    pub(super) finalized_tps: f64,
    pub(super) latency_ms_p50: Option<f64>,
    pub(super) latency_ms_p99: Option<f64>,
    /// The node's resident set at the window's end.
    pub(super) node_rss_bytes: Option<u64>,
    /// The apparent size of `--data-dir` at the window's end.
    pub(super) data_dir_bytes: Option<u64>,
    /// `data_dir_bytes` over every transaction finalized so far.
    pub(super) bytes_per_tx: Option<f64>,
}

impl WindowLine {
    /// The window for people, one line.
    pub(super) fn to_text(&self) -> String {
        format!(
            "window {} ({:.0}-{:.0} s): {} sent, {} final, {:.1} tx/s, latency p50 {}, \
             p99 {}; node RSS {}, data directory {}\n",
            self.window,
            self.start_s,
            self.end_s,
            self.submitted,
            self.finalized,
            self.finalized_tps,
            super::report::ms(self.latency_ms_p50),
            super::report::ms(self.latency_ms_p99),
            super::report::mib(self.node_rss_bytes),
            super::report::mib(self.data_dir_bytes),
        )
    }
}

/// What was measured of the node when a window closed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Probe {
    pub(super) rss_bytes: Option<u64>,
    pub(super) data_dir_bytes: Option<u64>,
}

/// The windows of a soak run: the current window's latencies and counts, and the
/// whole run's.
pub(super) struct Windows {
    length: Duration,
    /// The index of the current window.
    index: u64,
    /// The submission count when the current window opened.
    submitted_before: usize,
    current: Latencies,
    whole: Latencies,
}

impl Windows {
    /// Windows of `length` (at least 1 ms), the first opening at 0.
    pub(super) fn new(length: Duration) -> Windows {
        Windows {
            length: length.max(Duration::from_millis(1)),
            index: 0,
            submitted_before: 0,
            current: Latencies::new(),
            whole: Latencies::new(),
        }
    }

    /// Counts a transaction seen final, `latency` after it was sent.
    pub(super) fn record(&mut self, latency: Duration) {
        self.current.record(latency);
        self.whole.record(latency);
    }

    /// When the current window ends, from the start of the run.
    pub(super) fn end(&self) -> Duration {
        self.length
            .saturating_mul(u32::try_from(self.index + 1).unwrap_or(u32::MAX))
    }

    /// Whether the current window has seen anything since it opened.
    pub(super) fn is_empty(&self, submitted_total: usize) -> bool {
        self.current.count() == 0 && submitted_total == self.submitted_before
    }

    /// Closes the current window at `end` (from the start of the run; its nominal end,
    /// or earlier for the last one), with `submitted_total` sent so far, and opens the
    /// next.
    pub(super) fn close(
        &mut self,
        end: Duration,
        submitted_total: usize,
        probe: Probe,
    ) -> WindowLine {
        let start = self.end().saturating_sub(self.length);
        let span_s = end.saturating_sub(start).as_secs_f64();
        let finalized = self.current.count();
        let finalized_total = self.whole.count();
        let line = WindowLine {
            window: self.index,
            start_s: round3(start.as_secs_f64()),
            end_s: round3(end.as_secs_f64()),
            submitted: submitted_total.saturating_sub(self.submitted_before),
            finalized,
            finalized_tps: round3(if span_s > 0.0 {
                finalized as f64 / span_s
            } else {
                0.0
            }),
            latency_ms_p50: self.current.percentile(0.50),
            latency_ms_p99: self.current.percentile(0.99),
            node_rss_bytes: probe.rss_bytes,
            data_dir_bytes: probe.data_dir_bytes,
            bytes_per_tx: bytes_per_tx(probe.data_dir_bytes, finalized_total),
        };
        self.index += 1;
        self.submitted_before = submitted_total;
        self.current.clear();
        line
    }

    /// How many windows were closed.
    pub(super) fn closed(&self) -> u64 {
        self.index
    }

    /// The whole run's latencies.
    pub(super) fn whole(&self) -> &Latencies {
        &self.whole
    }
}

/// Data-directory bytes per finalized transaction; `None` when either is unknown.
pub(super) fn bytes_per_tx(data_dir_bytes: Option<u64>, finalized: u64) -> Option<f64> {
    match data_dir_bytes {
        Some(bytes) if finalized > 0 => Some(round3(bytes as f64 / finalized as f64)),
        _ => None,
    }
}

/// The apparent size (sum of file lengths) of everything under `dir`, symlinks not
/// followed; files that vanish during the walk (a compaction) are skipped. `None` if
/// `dir` itself cannot be read.
pub(super) fn dir_bytes(dir: &std::path::Path) -> Option<u64> {
    let mut total = 0u64;
    let mut todo = vec![dir.to_owned()];
    let mut root = true;
    while let Some(d) = todo.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(_) if !root => continue,
            Err(_) => return None,
        };
        root = false;
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_histogram_gives_nearest_rank_percentiles_to_the_millisecond() {
        let mut l = Latencies::new();
        assert_eq!(l.percentile(0.5), None);
        for n in 1..=100 {
            l.record(ms(n));
        }
        assert_eq!(l.percentile(0.50), Some(50.0));
        assert_eq!(l.percentile(0.99), Some(99.0));
        assert_eq!(l.max_ms(), Some(100.0));
        // 10.2 ms counts in the (10, 11] bucket; one beyond the last bucket reports
        // the exact maximum.
        let mut l = Latencies::new();
        l.record(Duration::from_micros(10_200));
        assert_eq!(l.percentile(0.5), Some(10.2));
        l.record(Duration::from_secs(90));
        assert_eq!(l.percentile(0.99), Some(90_000.0));
    }

    #[test]
    fn each_window_has_its_own_percentiles_and_the_run_keeps_them_all() {
        let mut w = Windows::new(Duration::from_secs(2));
        // Window 0: 100 transactions sent, 10 final at 100..=1000 ms.
        for n in 1..=10 {
            w.record(ms(n * 100));
        }
        let probe = Probe {
            rss_bytes: Some(7),
            data_dir_bytes: Some(5_000),
        };
        let first = w.close(w.end(), 100, probe);
        assert_eq!((first.window, first.start_s, first.end_s), (0, 0.0, 2.0));
        assert_eq!((first.submitted, first.finalized), (100, 10));
        assert_eq!(first.finalized_tps, 5.0);
        assert_eq!(first.latency_ms_p50, Some(500.0));
        assert_eq!(first.latency_ms_p99, Some(1000.0));
        assert_eq!(first.bytes_per_tx, Some(500.0));
        // Window 1 sees only slow ones, and closes early at 3 s (the run's end).
        w.record(ms(3000));
        w.record(ms(4000));
        let second = w.close(Duration::from_secs(3), 150, Probe::default());
        assert_eq!((second.window, second.start_s, second.end_s), (1, 2.0, 3.0));
        assert_eq!((second.submitted, second.finalized), (50, 2));
        assert_eq!(second.finalized_tps, 2.0);
        assert_eq!(second.latency_ms_p50, Some(3000.0));
        assert_eq!(second.bytes_per_tx, None, "no --data-dir, no bytes per tx");
        assert!(w.is_empty(150));
        assert_eq!(w.closed(), 2);
        // The run: 12 latencies, the p99 one of the slow window's.
        assert_eq!(w.whole().count(), 12);
        assert_eq!(w.whole().percentile(0.50), Some(600.0));
        assert_eq!(w.whole().percentile(0.99), Some(4000.0));
    }

    #[test]
    fn bytes_per_tx_is_unknown_before_anything_is_final() {
        assert_eq!(bytes_per_tx(Some(10), 0), None);
        assert_eq!(bytes_per_tx(None, 10), None);
        assert_eq!(bytes_per_tx(Some(10), 4), Some(2.5));
    }

    #[test]
    fn a_directory_size_is_the_sum_of_its_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub").join("b"), [0u8; 23]).unwrap();
        assert_eq!(dir_bytes(dir.path()), Some(123));
        assert_eq!(dir_bytes(&dir.path().join("missing")), None);
    }
}
