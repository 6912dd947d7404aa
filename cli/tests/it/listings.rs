//! History and listings a wallet or an explorer reads, against a real `jeon dev`: an
//! account's transactions with hash, time, kind, counterparties and symbol, paged by a
//! cursor; recent blocks; and who sent what in `GET /v1/txs/{hash}`.

use std::time::Duration;

use jeon_runtime::{Hash, SignedTx};
use serde_json::{json, Value};

use crate::common::{chain_id, get, jeon, post, transfer, tx_hex, tx_status, wait_until, DevNode};

fn pay_bob(node: &DevNode, amounts: &[u64]) -> Vec<Hash> {
    let chain = chain_id(&node.api);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let mut hashes = Vec::new();
    for (nonce, amount) in amounts.iter().enumerate() {
        let tx: SignedTx = transfer(chain, &alice, nonce as u64, bob, *amount);
        let (code, body) = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
        assert_eq!(code, 202, "{body}");
        let hash = tx.hash();
        // One per block, so the list's order is the blocks' order.
        assert!(wait_until(Duration::from_secs(30), || {
            tx_status(&node.api, &hash).is_some_and(|s| s["status"] == "final")
        }));
        hashes.push(hash);
    }
    hashes
}

#[test]
fn an_account_lists_its_transfers_newest_first_with_who_what_and_when() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let alice = node.key("alice").address().to_string();
    let bob = node.key("bob").address().to_string();
    let hashes = pay_bob(&node, &[101, 202, 303]);

    let first = get(&node.api, &format!("/v1/accounts/{bob}/txs?limit=2")).expect("answer");
    let page: Vec<Value> = first["txs"].as_array().expect("txs").clone();
    assert_eq!(page.len(), 2, "{first}");
    let newest = &page[0];
    assert_eq!(newest["hash"], hashes[2].to_string(), "{newest}");
    assert_eq!(newest["kind"], "transfer");
    assert_eq!(newest["sender"], alice);
    assert_eq!(newest["success"], true);
    assert!(
        newest["time_ms"].as_u64().is_some_and(|t| t > 0),
        "{newest}"
    );
    assert!(newest["counterparties"]
        .as_array()
        .expect("list")
        .contains(&json!(alice)));
    let moved = newest["movements"]
        .as_array()
        .expect("movements")
        .iter()
        .find(|m| m["kind"] == "transferred")
        .expect("the transfer moved something");
    assert_eq!(moved["symbol"], "KRW");
    assert_eq!(moved["amount"], 303);
    assert_eq!(
        (moved["from"].clone(), moved["to"].clone()),
        (json!(alice), json!(bob))
    );
    assert_eq!(page[1]["hash"], hashes[1].to_string());

    // The cursor goes on to older entries without repeating any.
    let cursor = first["next_before"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = get(
        &node.api,
        &format!("/v1/accounts/{bob}/txs?limit=2&before={cursor}"),
    )
    .expect("answer");
    assert_eq!(second["txs"][0]["hash"], hashes[0].to_string(), "{second}");
    let heights: Vec<u64> = page
        .iter()
        .chain(second["txs"].as_array().expect("txs"))
        .map(|t| t["height"].as_u64().expect("height"))
        .collect();
    assert!(
        heights.windows(2).all(|w| w[0] > w[1]),
        "newest first: {heights:?}"
    );

    // Towards newer ones: the nearest after a cursor, and nothing after the newest
    // until a new transfer lands.
    let oldest = second["txs"][0]["cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let newer = get(
        &node.api,
        &format!("/v1/accounts/{bob}/txs?limit=1&after={oldest}"),
    )
    .expect("answer");
    assert_eq!(newer["txs"][0]["hash"], hashes[1].to_string(), "{newer}");
    let poll = first["next_after"]
        .as_str()
        .expect("next_after")
        .to_string();
    let none = get(&node.api, &format!("/v1/accounts/{bob}/txs?after={poll}")).expect("answer");
    assert_eq!(none["txs"], json!([]), "{none}");
    assert_eq!(none["next_after"], json!(poll));
    let both = get(
        &node.api,
        &format!("/v1/accounts/{bob}/txs?after={poll}&before={poll}"),
    )
    .expect("answer");
    assert_eq!(both["error"]["code"], "bad_query", "{both}");

    // Who sent what, on the transaction itself.
    let status = tx_status(&node.api, &hashes[0]).expect("status");
    assert_eq!(status["sender"], alice);
    assert_eq!(status["kind"], "transfer");
    assert_eq!(status["call"]["transfer"]["amount"], 101, "{status}");
    assert!(status["time_ms"].as_u64().is_some());

    // The same list from the CLI.
    let out = jeon()
        .args(["query", "txs", &bob, "--limit", "1", "--api", &node.api])
        .output()
        .expect("run jeon query txs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let listed: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(listed["txs"][0]["hash"], hashes[2].to_string(), "{listed}");

    let bad = get(&node.api, &format!("/v1/accounts/{bob}/txs?before=7")).expect("answer");
    assert_eq!(bad["error"]["code"], "bad_query", "{bad}");
}

#[test]
fn blocks_are_listed_newest_first_and_paged_by_height() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    pay_bob(&node, &[1, 2, 3, 4]);
    let first = get(&node.api, "/v1/blocks?limit=3").expect("answer");
    let blocks = first["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 3, "{first}");
    let heights: Vec<u64> = blocks
        .iter()
        .map(|b| b["height"].as_u64().expect("h"))
        .collect();
    assert_eq!(heights[0], first["head"].as_u64().expect("head"));
    assert!(heights.windows(2).all(|w| w[0] == w[1] + 1), "{heights:?}");
    let next = first["next_before"].as_u64().expect("a next page");
    assert_eq!(next, heights[2]);
    let second = get(&node.api, &format!("/v1/blocks?limit=3&before={next}")).expect("answer");
    assert_eq!(second["blocks"][0]["height"], heights[2] - 1, "{second}");
    let latest = get(&node.api, &format!("/v1/blocks/{}", heights[0])).expect("block");
    assert_eq!(blocks[0]["hash"], latest["hash"]);

    for bad in [
        "/v1/blocks?limit=0",
        "/v1/blocks?limit=101",
        "/v1/blocks?before=x",
        "/v1/blocks?after=3",
    ] {
        let answer = get(&node.api, bad).expect("answer");
        assert_eq!(answer["error"]["code"], "bad_query", "{bad}: {answer}");
    }
}
