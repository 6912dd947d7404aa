//! A node run with `--prune-keep-blocks` keeps finalizing, serves recent blocks and
//! proofs (carrying a validator-set change whose blocks it dropped), and answers the
//! documented `pruned` error for blocks it dropped.

use std::time::Duration;

use crate::common::{
    chain_id, change_the_set, get, jeon, post, run, transfer, tx_hex, wait_until, DevNode, Town,
};
use serde_json::json;

#[test]
fn a_pruned_node_keeps_finalizing_and_says_which_blocks_it_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    // `jeon dev` writes the genesis and keys; then the same chain runs as `jeon node`.
    let dev = DevNode::start(&data, &[]);
    let alice = dev.key("alice");
    let bob = dev.key("bob").address();
    let chain = chain_id(&dev.api);
    drop(dev);

    // Segments of a few blocks each, so pruning has whole segments to drop.
    let node = DevNode::start_as_node(
        &data,
        &["--prune-keep-blocks", "16", "--segment-bytes", "4096"],
    );
    let api = node.api.clone();
    // A validator-set change first: its blocks are pruned below.
    let town = Town { node };
    change_the_set(&town);
    // One transfer per block: 60 blocks.
    let mut hashes = Vec::new();
    for n in 0..60 {
        let tx = transfer(chain, &alice, n, bob, 1);
        let (code, body) = post(&api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
        assert_eq!(code, 202, "{body}");
        hashes.push(tx.hash());
        let final_now = wait_until(Duration::from_secs(20), || {
            get(&api, &format!("/v1/txs/{}", tx.hash())).is_some_and(|s| s["status"] == "final")
        });
        assert!(final_now, "transfer {n} becomes final");
    }
    // Pruning runs every 10 s.
    let pruned = wait_until(Duration::from_secs(30), || {
        get(&api, "/v1/blocks/1").is_some_and(|b| b["error"]["code"] == "pruned")
    });
    assert!(pruned, "block 1 answers `pruned`");
    let head = get(&api, "/v1/status").expect("status")["height"]
        .as_u64()
        .expect("height");
    for h in head - 15..=head {
        let block = get(&api, &format!("/v1/blocks/{h}")).expect("block");
        assert_eq!(block["height"], h, "kept block {h}: {block}");
    }
    let recent = hashes.last().expect("a transfer");
    let proof = get(&api, &format!("/v1/txs/{recent}/proof")).expect("proof");
    assert!(
        proof["proof_hex"].is_string(),
        "a kept transfer has a proof: {proof}"
    );
    // It carries the set change, kept when its blocks were dropped, and verifies from
    // the genesis file alone.
    let carried = proof["proof"]["validator_changes"].as_array().map(Vec::len);
    assert_eq!(carried, Some(1), "{proof}");
    let file = dir.path().join("proof.json");
    std::fs::write(&file, proof.to_string()).expect("write");
    let genesis = data.join("genesis.json");
    let out = run(&[
        "verify",
        "--proof",
        file.to_str().expect("utf-8"),
        "--genesis",
        genesis.to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "jeon verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let old = get(&api, &format!("/v1/txs/{}/proof", hashes[0])).expect("answer");
    assert_eq!(old["error"]["code"], "not_final", "{old}");
    assert!(
        old["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("pruned")),
        "the message says the node is pruned: {old}"
    );
    // And it keeps finalizing.
    let tx = transfer(chain, &alice, 60, bob, 1);
    post(&api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
    assert!(wait_until(Duration::from_secs(20), || {
        get(&api, &format!("/v1/txs/{}", tx.hash())).is_some_and(|s| s["status"] == "final")
    }));
}

#[test]
fn keeping_fewer_than_16_blocks_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = jeon()
        .args(["node", "--genesis", "g.json", "--data"])
        .arg(dir.path())
        .args(["--prune-keep-blocks", "5"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 16"), "{stderr}");
}
