//! Issue 16: transactions waiting behind nonce gaps cannot jam the mempool. A
//! `jeon dev` with a 300-transaction pool (75 slots for waiting transactions) is
//! flooded over HTTP with 325 gap waiters from five accounts, more than the whole
//! pool; a transfer from another account is still admitted and finalized, a flooder
//! that sends its missing nonce goes through, and the rest of the waiters are
//! evicted after the wait bound with a reason `GET /v1/txs/{hash}` reports.

use std::time::Duration;

use jeon_runtime::{Address, Hash, Keypair, SignedTx};
use serde_json::{json, Value};

use crate::common::{
    chain_id, get, metric, post, transfer, tx_hex, tx_status, wait_until, DevNode,
};

/// `--mempool-txs-max`: a quarter of it, 75, may wait behind gaps.
const POOL_TXS_MAX: usize = 300;
const WAITING_TXS_MAX: usize = POOL_TXS_MAX / 4;
/// Per sender, as `jeon_node::mempool::FUTURE_TXS_PER_SENDER_MAX`.
const SENDER_WAITING_MAX: u64 = 64;
/// `--future-tx-wait-ms`: long enough for the flood to finish before any waiter is
/// evicted, short enough to see the evictions.
const WAIT_MAX_MS: u64 = 10_000;
const FLOODERS: u32 = 5;
/// How long a liveness step may take on a loaded machine (not a performance bound).
const PATIENCE: Duration = Duration::from_secs(60);

fn code(item: &Value) -> &str {
    item["error"]["code"].as_str().unwrap_or("")
}

fn submit_batch(api: &str, txs: &[SignedTx]) -> Vec<Value> {
    let hexes: Vec<String> = txs.iter().map(tx_hex).collect();
    let (status, body) = post(api, "/v1/txs/batch", &json!({ "txs": hexes }));
    assert_eq!(status, 202, "{body}");
    body["results"].as_array().expect("results").clone()
}

fn is_final(api: &str, hash: &Hash) -> bool {
    tx_status(api, hash).is_some_and(|s| s["status"] == "final")
}

fn nonce(api: &str, who: &Keypair) -> u64 {
    get(api, &format!("/v1/accounts/{}", who.address()))
        .and_then(|a| a["nonce"].as_u64())
        .unwrap_or(0)
}

/// Alice funds `accounts` with ₩10 000 each and waits until all are final.
fn fund(api: &str, alice: &Keypair, accounts: &[Address]) {
    let chain = chain_id(api);
    let txs: Vec<SignedTx> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| transfer(chain, alice, i as u64, *a, 1_000_000))
        .collect();
    for item in submit_batch(api, &txs) {
        assert!(item["hash"].is_string(), "{item}");
    }
    let hashes: Vec<Hash> = txs.iter().map(SignedTx::hash).collect();
    assert!(
        wait_until(PATIENCE, || hashes.iter().all(|h| is_final(api, h))),
        "the funding transfers were not finalized"
    );
}

#[test]
fn a_flood_of_nonce_gap_waiters_cannot_keep_a_new_transfer_out_of_a_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool_flag = POOL_TXS_MAX.to_string();
    let wait_flag = WAIT_MAX_MS.to_string();
    let args = [
        "--mempool-txs-max",
        &pool_flag,
        "--future-tx-wait-ms",
        &wait_flag,
    ];
    let node = DevNode::start_with(&dir.path().join("dev"), &args, &[], None);
    let api = node.api.as_str();
    let chain = chain_id(api);
    let alice = node.key("alice");
    let flooders: Vec<Keypair> = (0..FLOODERS)
        .map(|i| Keypair::from_seed_label(&format!("mempool-jam/flooder-{i}")))
        .collect();
    let newcomer = Keypair::from_seed_label("mempool-jam/newcomer");
    let mut funded: Vec<Address> = flooders.iter().map(Keypair::address).collect();
    funded.push(newcomer.address());
    fund(api, &alice, &funded);

    // Each flooder sends nonces 1..=65 and never nonce 0: 325 gap waiters, more than
    // the whole pool. The first sender may keep 64, all together 75.
    let bob = node.key("bob").address();
    let mut waiting = Vec::new();
    let mut refusals = Vec::new();
    for (i, f) in flooders.iter().enumerate() {
        let txs: Vec<SignedTx> = (1..=SENDER_WAITING_MAX + 1)
            .map(|n| transfer(chain, f, n, bob, 1))
            .collect();
        for (tx, item) in txs.iter().zip(submit_batch(api, &txs)) {
            if item["hash"].is_string() {
                waiting.push((i, tx.hash()));
            } else {
                refusals.push((i, tx.body.nonce, code(&item).to_owned()));
            }
        }
    }
    assert_eq!(waiting.len(), WAITING_TXS_MAX, "{refusals:?}");
    assert!(waiting[..64].iter().all(|(i, _)| *i == 0));
    assert_eq!(
        refusals[0],
        (0, SENDER_WAITING_MAX + 1, "too_many_future_txs".to_owned())
    );
    assert!(
        refusals[1..].iter().all(|(_, _, c)| c == "future_txs_full"),
        "{refusals:?}"
    );
    assert_eq!(
        metric(api, "mempool_waiting_txs"),
        Some(WAITING_TXS_MAX as f64)
    );
    // A refusal is remembered with its reason.
    let (_, refused_nonce, _) = &refusals[0];
    let refused = transfer(chain, &flooders[0], *refused_nonce, bob, 1);
    let status = tx_status(api, &refused.hash()).expect("status");
    assert_eq!(status["status"], "rejected", "{status}");

    // A transfer from an account that is not flooding: admitted and finalized.
    let tx = transfer(chain, &newcomer, 0, alice.address(), 500);
    let (status, body) = post(api, "/v1/txs", &json!({ "tx": tx_hex(&tx) }));
    assert_eq!(status, 202, "{body}");
    assert!(
        wait_until(PATIENCE, || is_final(api, &tx.hash())),
        "the newcomer's transfer was not finalized: {:?}",
        tx_status(api, &tx.hash())
    );

    // The second flooder sends its missing nonce: its 11 waiters go through with it.
    let second = &flooders[1];
    let kept = waiting.iter().filter(|(i, _)| *i == 1).count() as u64;
    assert_eq!(kept, (WAITING_TXS_MAX - 64) as u64);
    let gap = transfer(chain, second, 0, bob, 1);
    let (status, body) = post(api, "/v1/txs", &json!({ "tx": tx_hex(&gap) }));
    assert_eq!(status, 202, "{body}");
    assert!(
        wait_until(PATIENCE, || nonce(api, second) == kept + 1),
        "the second flooder's chain was not finalized"
    );

    // The first flooder's 64 never get their nonce 0: evicted after the wait bound,
    // with a reason that says what to do.
    let (_, evicted) = waiting[0];
    let gone = wait_until(PATIENCE, || {
        tx_status(api, &evicted).is_some_and(|s| s["status"] == "rejected")
    });
    assert!(gone, "{:?}", tx_status(api, &evicted));
    let status = tx_status(api, &evicted).expect("status");
    let reason = status["reason"].as_str().expect("reason");
    assert!(
        reason.contains("nonce gap") && reason.contains("submit nonce 0"),
        "{reason}"
    );
    assert!(
        wait_until(PATIENCE, || metric(api, "mempool_txs") == Some(0.0)),
        "the pool did not empty"
    );
    assert_eq!(nonce(api, &flooders[0]), 0);
    assert!(metric(api, "mempool_evicted").is_some_and(|n| n >= 64.0));
}
