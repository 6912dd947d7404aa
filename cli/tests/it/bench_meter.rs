//! `jeon bench --mode meter` on `jeon dev`: the bench accounts open metered sessions
//! with Baeum Learning, the school's claims carry 1,000 units each, and the report's
//! units are the ones the chain charged.

use crate::common::{get, run, DevNode};
use serde_json::Value;

/// Runs a command that must succeed and print one JSON document.
fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_small_meter_bench_charges_every_claimed_unit_through_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let key = |name: &str| node.data.join("keys").join(format!("{name}.json"));
    let (funder, school) = (key("hanbit-bank"), key("baeum-learning"));
    let report = json(&[
        "bench",
        "--api",
        &node.api,
        "--mode",
        "meter",
        "--txs",
        "200",
        "--accounts",
        "20",
        "--batch",
        "100",
        "--funder",
        funder.to_str().unwrap(),
        "--merchant-key",
        school.to_str().unwrap(),
        "--data-dir",
        node.data.to_str().unwrap(),
    ]);
    assert_eq!(report["mode"], "meter", "{report}");
    assert_eq!(report["finalized"], 200, "{report}");
    assert_eq!(report["refused"], 0, "{report}");
    // 10 claims per session, the last at 10 × 1,000 units: 200,000 units in all.
    assert_eq!(report["units_charged"], 200_000, "{report}");
    assert!(report["units_per_s"].as_f64().unwrap() > 0.0, "{report}");
    assert!(report["bytes_per_unit"].as_f64().is_some(), "{report}");
    // Session 0 (bench-0's) was claimed up to 10,000 units at 1 unit each.
    let shown = get(&node.api, "/v1/meters/0").unwrap();
    assert_eq!(shown["session"]["units"], 10_000, "{shown}");
    assert_eq!(shown["session"]["paid"], 10_000, "{shown}");

    // More claims than the merchant's nonce window are refused before anything runs.
    let o = run(&[
        "bench", "--api", &node.api, "--mode", "meter", "--txs", "5000",
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
}
