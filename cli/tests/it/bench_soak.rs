//! `jeon bench --soak` on `jeon dev`: one JSON line per window with what was submitted
//! and finalized in it, the node's memory and the data directory's size, then the
//! whole run's report; and a soak without an offered rate is refused.

use crate::common::{run, DevNode};
use serde_json::Value;

/// The fields every window line carries.
const WINDOW_FIELDS: [&str; 11] = [
    "window",
    "start_s",
    "end_s",
    "submitted",
    "finalized",
    "finalized_tps",
    "latency_ms_p50",
    "latency_ms_p99",
    "node_rss_bytes",
    "data_dir_bytes",
    "bytes_per_tx",
];

#[test]
fn a_six_second_soak_prints_two_second_windows_then_the_whole_runs_report() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let funder = node.data.join("keys").join("hanbit-bank.json");
    let o = run(&[
        "bench",
        "--api",
        &node.api,
        "--soak",
        "6",
        "--window-secs",
        "2",
        "--rate",
        "300",
        "--accounts",
        "20",
        "--data-dir",
        node.data.to_str().unwrap(),
        "--funder",
        funder.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "the soak failed: {err}");
    let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect();
    let (report, windows) = lines.split_last().expect("a final report line");
    assert!(windows.len() >= 2, "at least two windows: {lines:?}");
    for (i, w) in windows.iter().enumerate() {
        for field in WINDOW_FIELDS {
            assert!(w.get(field).is_some(), "window {i} lacks {field}: {w}");
        }
        assert_eq!(w["window"], i, "{w}");
        // A window has percentiles exactly when something became final in it (how
        // much did is the machine's business, not this test's).
        let finalized = w["finalized"].as_u64().unwrap();
        assert_eq!(w["latency_ms_p50"].is_f64(), finalized > 0, "{w}");
        assert!(w["node_rss_bytes"].as_u64().unwrap() > 0, "{w}");
        assert!(w["data_dir_bytes"].as_u64().unwrap() > 0, "{w}");
    }
    let last = windows.last().unwrap();
    assert!(last["bytes_per_tx"].as_f64().unwrap() > 0.0, "{last}");
    // The final line is a bench report over the whole run, with the soak's fields.
    assert_eq!(report["mode"], "transfer", "{report}");
    assert_eq!(report["soak_s"], 6, "{report}");
    assert_eq!(report["windows"], windows.len(), "{report}");
    let finalized: u64 = windows
        .iter()
        .map(|w| w["finalized"].as_u64().unwrap())
        .sum();
    assert!(finalized > 0, "{lines:?}");
    assert_eq!(report["finalized"], finalized, "{report}");
    assert!(report["latency_ms_p99"].as_f64().is_some(), "{report}");
    assert!(
        report["node_rss_peak_bytes"].as_u64().unwrap() > 0,
        "{report}"
    );
}

#[test]
fn a_soak_without_an_offered_rate_is_refused() {
    // Refused before any node is contacted: no `jeon dev` needed.
    let o = run(&["bench", "--api", "http://127.0.0.1:9", "--soak", "6"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--soak needs --rate"), "{err}");
}
