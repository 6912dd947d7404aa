//! Every class of bad input to the HTTP API gets its documented error (JSON, 4xx,
//! stable code), and the node keeps serving afterwards.

use jeon_runtime::calls;
use std::time::Duration;

use crate::common::{
    chain_id, get, post, post_raw, transfer, tx_hex, tx_status, wait_until, DevNode,
};
use jeon_runtime::{Hash, Keypair};
use serde_json::{json, Value};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

fn expect_error(got: (u16, Value), status: u16, error_code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(code(&got.1), error_code, "{}", got.1);
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        got.1
    );
}

#[test]
fn bad_inputs_get_their_documented_errors_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let api = node.api.as_str();
    let chain = chain_id(api);
    let alice = node.key("alice");
    let bob = node.key("bob").address();

    // Malformed JSON, a missing field, and an unknown field.
    expect_error(
        post_raw(api, "/v1/txs", b"{not json".to_vec()),
        400,
        "malformed_json",
    );
    expect_error(
        post(api, "/v1/txs", &json!({"transaction": "00"})),
        400,
        "malformed_json",
    );
    // Bad hex, and hex that is not a transaction (truncated, trailing bytes).
    expect_error(post(api, "/v1/txs", &json!({"tx": "zz"})), 400, "bad_hex");
    let good = transfer(chain, &alice, 0, bob, 5);
    let bytes = good.encode();
    let truncated = hex::encode(&bytes[..bytes.len() - 3]);
    expect_error(
        post(api, "/v1/txs", &json!({"tx": truncated})),
        400,
        "malformed_tx",
    );
    let trailing = format!("{}00", tx_hex(&good));
    expect_error(
        post(api, "/v1/txs", &json!({"tx": trailing})),
        400,
        "malformed_tx",
    );
    // An oversized body.
    let huge = format!("{{\"tx\":\"{}\"}}", "0".repeat(9 << 20));
    expect_error(
        post_raw(api, "/v1/txs", huge.into_bytes()),
        413,
        "body_too_large",
    );
    // A bad signature: the body altered after signing.
    let mut forged = good.clone();
    forged.body.call = jeon_runtime::Call::Transfer(calls::Transfer {
        to: bob,
        asset: jeon_runtime::AssetId(0),
        amount: 6,
    });
    expect_error(
        post(api, "/v1/txs", &json!({"tx": tx_hex(&forged)})),
        400,
        "bad_signature",
    );
    // Another chain's transaction.
    let other_chain = transfer(Hash([9; 32]), &alice, 0, bob, 5);
    expect_error(
        post(api, "/v1/txs", &json!({"tx": tx_hex(&other_chain)})),
        400,
        "wrong_chain",
    );
    // A sender who cannot pay the fee.
    let pauper = Keypair::from_seed_label("nobody");
    let broke = transfer(chain, &pauper, 0, bob, 5);
    expect_error(
        post(api, "/v1/txs", &json!({"tx": tx_hex(&broke)})),
        400,
        "cannot_pay_fee",
    );
    // A valid transfer is accepted and becomes final; replaying it is a stale nonce.
    let (status, body) = post(api, "/v1/txs", &json!({"tx": tx_hex(&good)}));
    assert_eq!(status, 202, "{body}");
    let final_ = wait_until(Duration::from_secs(20), || {
        tx_status(api, &good.hash()).is_some_and(|s| s["status"] == "final")
    });
    assert!(final_, "the valid transfer becomes final");
    expect_error(
        post(api, "/v1/txs", &json!({"tx": tx_hex(&good)})),
        400,
        "stale_nonce",
    );
    // Query errors: malformed address, unknown account, bad hash, unknown block, no route.
    let bad_addr =
        reqwest::blocking::get(format!("{api}/v1/accounts/jeon1notanaddress")).expect("get");
    assert_eq!(bad_addr.status().as_u16(), 400);
    assert_eq!(code(&bad_addr.json().expect("json")), "bad_address");
    let unknown =
        reqwest::blocking::get(format!("{api}/v1/accounts/{}", pauper.address())).expect("get");
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(code(&unknown.json().expect("json")), "unknown_account");
    assert_eq!(code(&get(api, "/v1/txs/abc").expect("json")), "bad_hash");
    assert_eq!(
        code(&get(api, "/v1/blocks/999999999").expect("json")),
        "unknown_block"
    );
    assert_eq!(code(&get(api, "/v1/nope").expect("json")), "not_found");
    // A batch mixes results per transaction.
    let next = transfer(chain, &alice, 1, bob, 5);
    let (status, body) = post(
        api,
        "/v1/txs/batch",
        &json!({"txs": [tx_hex(&next), "zz", tx_hex(&broke)]}),
    );
    assert_eq!(status, 202, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results[0]["hash"], json!(next.hash()));
    assert_eq!(code(&results[1]), "bad_hex");
    assert_eq!(code(&results[2]), "cannot_pay_fee");

    // Still serving, and the chain still advances.
    let status = get(api, "/v1/status").expect("status after bad input");
    assert!(status["height"].as_u64().is_some());
    let done = wait_until(Duration::from_secs(20), || {
        tx_status(api, &next.hash()).is_some_and(|s| s["status"] == "final")
    });
    assert!(
        done,
        "a transaction after all the bad input still becomes final"
    );
}
