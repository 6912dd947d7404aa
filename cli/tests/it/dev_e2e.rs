//! End to end through the CLI only: `jeon dev` runs a chain, alice pays bob ₩500 with
//! `jeon tx transfer --wait`, and `jeon query` shows the new balances.

use std::process::Output;

use crate::common::{jeon, DevNode};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    jeon().args(args).env_remove("JEON_API").output().unwrap()
}

/// Runs a command that must succeed and print one JSON document.
fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The KRW (asset 0) balance in a `query account` answer.
fn krw(account: &Value) -> u64 {
    account["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["symbol"] == "KRW")
        .and_then(|b| b["amount"].as_u64())
        .unwrap_or(0)
}

#[test]
fn alice_pays_bob_500_won_and_both_balances_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let api = node.api.as_str();
    let keys = node.data.join("keys");
    let alice_key = keys.join("alice.json");
    let alice_key = alice_key.to_str().unwrap();
    let alice = node.key("alice").address().to_string();
    let bob = node.key("bob").address().to_string();

    let status = json(&["query", "status", "--api", api]);
    let fee = status["fee"]["base_fee"].as_u64().unwrap();
    let alice_before = krw(&json(&["query", "account", &alice, "--api", api]));
    let bob_before = krw(&json(&["query", "account", &bob, "--api", api]));

    // ₩500 is 50000 units: KRW has 2 decimals.
    let done = json(&[
        "tx", "transfer", "--key", alice_key, "--to", &bob, "--asset", "KRW", "--amount", "50000",
        "--wait", "--api", api,
    ]);
    assert_eq!(done["status"], "final", "{done}");
    assert!(done["height"].as_u64().is_some(), "{done}");

    let alice_after = json(&["query", "account", &alice, "--api", api]);
    assert_eq!(krw(&alice_after), alice_before - 50_000 - fee);
    assert_eq!(alice_after["nonce"], 1);
    let bob_after = json(&["query", "account", &bob, "--api", api]);
    assert_eq!(krw(&bob_after), bob_before + 50_000);

    // The transaction is queryable by hash, and its block lists it.
    let hash = done["hash"].as_str().unwrap();
    let tx = json(&["query", "tx", hash, "--api", api]);
    assert_eq!(tx["status"], "final");
    let height = tx["height"].as_u64().unwrap().to_string();
    let block = json(&["query", "block", &height, "--api", api]);
    assert!(block["txs"].as_array().unwrap().iter().any(|h| h == hash));

    // Without --wait the command prints the hash at once; a second transfer with an
    // explicit asset id takes the next nonce from the node.
    let sent = json(&[
        "tx", "transfer", "--key", alice_key, "--to", &bob, "--asset", "0", "--amount", "1",
        "--api", api,
    ]);
    assert_eq!(sent["hash"].as_str().map(str::len), Some(64), "{sent}");

    // What the node refuses exits 1 with its reason: a replayed nonce is stale.
    let o = run(&[
        "tx", "transfer", "--key", alice_key, "--to", &bob, "--asset", "KRW", "--amount", "1",
        "--nonce", "0", "--api", api,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("stale_nonce"), "{err}");

    // An unknown asset symbol is the node's 404, passed on.
    let o = run(&["query", "asset", "NOPE", "--api", api]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("unknown_asset"), "{err}");
    drop(node);
}

#[test]
fn a_small_bench_funds_its_accounts_and_sees_every_transfer_final() {
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
            "150",
            "--funder",
            funder.to_str().unwrap(),
        ])
    };
    let report = bench("1000");
    assert_eq!(report["submitted"], 1000, "{report}");
    assert_eq!(report["accepted"], 1000, "{report}");
    assert_eq!(report["refused"], 0, "{report}");
    assert_eq!(report["finalized"], 1000, "{report}");
    for field in [
        "duration_s",
        "finalized_tps",
        "latency_ms_p50",
        "latency_ms_p99",
        "latency_ms_max",
        "presign_s",
    ] {
        assert!(report[field].as_f64().is_some(), "{field} in {report}");
    }
    // A rerun on the same chain continues from the accounts' current nonces.
    let again = bench("300");
    assert_eq!(again["finalized"], 300, "{again}");
}
