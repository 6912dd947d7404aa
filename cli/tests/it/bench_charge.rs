//! `jeon bench --mode charge` on `jeon dev`: the bench accounts grant each other a ring
//! of mandates, every charge becomes final, and a rerun on the same chain reuses the
//! mandates instead of granting new ones; `--output text` summarises the run in words.

use crate::common::{get, run, DevNode};
use jeon_runtime::Keypair;
use serde_json::Value;

/// Runs a command that must succeed and print one JSON document.
fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A bench account's address.
fn bench_address(i: usize) -> String {
    Keypair::from_seed_label(&format!("bench-{i}"))
        .address()
        .to_string()
}

#[test]
fn a_small_charge_bench_grants_a_ring_of_mandates_and_sees_every_charge_final() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let funder = node.data.join("keys").join("hanbit-bank.json");
    let bench = |txs: &str| {
        json(&[
            "bench",
            "--api",
            &node.api,
            "--txs",
            txs,
            "--accounts",
            "20",
            "--batch",
            "100",
            "--funder",
            funder.to_str().unwrap(),
            "--mode",
            "charge",
        ])
    };
    let report = bench("200");
    assert_eq!(report["mode"], "charge", "{report}");
    assert_eq!(report["submitted"], 200, "{report}");
    assert_eq!(report["refused"], 0, "{report}");
    assert_eq!(report["finalized"], 200, "{report}");
    assert!(report["finalized_tps"].as_f64().is_some(), "{report}");

    // A rerun on the same chain reuses the mandates: bench-0 still has exactly one, to
    // bench-1, charged 10 + 5 units (1 unit per charge, 200 and then 100 charges over
    // 20 spenders).
    let again = bench("100");
    assert_eq!(again["finalized"], 100, "{again}");
    assert_eq!(again["refused"], 0, "{again}");
    let path = format!("/v1/accounts/{}/mandates", bench_address(0));
    let listed = get(&node.api, &path).unwrap();
    let mandates = listed["mandates"].as_array().unwrap();
    assert_eq!(mandates.len(), 1, "{listed}");
    let mandate = &mandates[0]["mandate"];
    assert_eq!(mandate["spender"], bench_address(1).as_str(), "{listed}");
    assert_eq!(mandate["used"], 15, "{listed}");
    assert_eq!(mandates[0]["active"], true, "{listed}");

    // `--output text` (the default for people): the same run, summarised in words.
    let o = run(&[
        "bench",
        "--api",
        &node.api,
        "--txs",
        "20",
        "--accounts",
        "20",
        "--funder",
        funder.to_str().unwrap(),
        "--mode",
        "charge",
        "--output",
        "text",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.starts_with("bench (charge): 20 submitted, 20 accepted, 0 refused\n"),
        "{text}"
    );
    assert!(text.contains("  finalized: 20 in "), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
}
