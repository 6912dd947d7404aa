//! Asking before paying, against a real `jeon dev`: `POST /v1/txs/simulate` tells the
//! outcome and the fee of a transaction without writing or charging anything, and
//! `GET /v1/invoices/{merchant}/{id}` tells whether a payment link is paid.

use std::time::Duration;

use jeon_genesis::presets::BASE_FEE_MAX;
use jeon_runtime::calls;
use jeon_runtime::invoice::Invoice;
use jeon_runtime::{Address, AssetId, Call, Hash, Keypair, SignedTx, TxBody};
use serde_json::{json, Value};

use crate::common::{chain_id, get, post, transfer, tx_hex, tx_status, wait_until, DevNode};

fn simulate(api: &str, tx: &SignedTx) -> Value {
    let (code, body) = post(api, "/v1/txs/simulate", &json!({"tx": tx_hex(tx)}));
    assert_eq!(code, 200, "{body}");
    body
}

fn account(api: &str, who: &Address) -> Value {
    get(api, &format!("/v1/accounts/{who}")).expect("the node answers")
}

fn signed(chain: Hash, key: &Keypair, nonce: u64, call: Call) -> SignedTx {
    TxBody {
        chain_id: chain,
        sender: key.address(),
        nonce,
        fee_limit: BASE_FEE_MAX,
        expiry: 1_000_000,
        call,
        fee_payer: None,
    }
    .sign(key)
}

fn submit_final(api: &str, tx: &SignedTx) -> Value {
    let (code, body) = post(api, "/v1/txs", &json!({"tx": tx_hex(tx)}));
    assert_eq!(code, 202, "{body}");
    let done = wait_until(Duration::from_secs(30), || {
        tx_status(api, &tx.hash())
            .is_some_and(|s| s["status"] == "final" || s["status"] == "rejected")
    });
    assert!(done, "the transaction is decided");
    tx_status(api, &tx.hash()).expect("status")
}

#[test]
fn a_simulated_transfer_reports_its_outcome_and_fee_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let chain = chain_id(&node.api);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let alice_before = account(&node.api, &alice.address());
    let bob_before = account(&node.api, &bob);
    let nonce = alice_before["nonce"].as_u64().expect("nonce");

    let ok = transfer(chain, &alice, nonce, bob, 5_000);
    let sim = simulate(&node.api, &ok);
    assert_eq!(sim["status"], "success", "{sim}");
    assert_eq!(sim["hash"], ok.hash().to_string());
    assert!(sim["fee"].as_u64().is_some_and(|f| f > 0), "{sim}");
    assert!(sim["error"].is_null(), "{sim}");
    let events = sim["receipt"]["events"].to_string();
    assert!(events.contains("transferred"), "{sim}");

    // Bound to fail: more than alice holds, and nothing at all. Each reports the stable
    // code of the receipt it would get, and the fee it would cost.
    let too_much = transfer(chain, &alice, nonce, bob, u64::MAX / 2);
    let sim = simulate(&node.api, &too_much);
    assert_eq!(sim["status"], "failed", "{sim}");
    assert_eq!(sim["error"]["code"], "insufficient_balance", "{sim}");
    assert!(sim["fee"].as_u64().is_some_and(|f| f > 0), "{sim}");
    let zero = transfer(chain, &alice, nonce, bob, 0);
    assert_eq!(simulate(&node.api, &zero)["error"]["code"], "zero_amount");
    // Not valid now: a nonce ahead costs nothing and changes nothing.
    let future = transfer(chain, &alice, nonce + 5, bob, 1);
    let sim = simulate(&node.api, &future);
    assert_eq!(sim["status"], "invalid", "{sim}");
    assert_eq!(sim["error"]["code"], "future_nonce", "{sim}");
    assert_eq!(sim["fee"], 0);

    // Let a few blocks pass: nothing simulated was committed or charged.
    let head = get(&node.api, "/v1/status").expect("status")["height"]
        .as_u64()
        .expect("height");
    assert!(wait_until(Duration::from_secs(20), || {
        get(&node.api, "/v1/status").is_some_and(|s| s["height"].as_u64() >= Some(head + 2))
    }));
    assert_eq!(account(&node.api, &alice.address()), alice_before);
    assert_eq!(account(&node.api, &bob), bob_before);
    assert_eq!(
        tx_status(&node.api, &ok.hash()).expect("status")["status"],
        "unknown"
    );

    // The simulated transfer then really goes through with the outcome and fee told.
    let expected_fee = simulate(&node.api, &ok)["fee"].clone();
    let done = submit_final(&node.api, &ok);
    assert_eq!(done["status"], "final", "{done}");
    assert_eq!(done["receipt"]["fee"], expected_fee);
    // Its nonce is used now: sending it again would be refused.
    let sim = simulate(&node.api, &ok);
    assert_eq!(sim["status"], "invalid", "{sim}");
    assert_eq!(sim["error"]["code"], "stale_nonce", "{sim}");

    // A malformed body is refused as on POST /v1/txs.
    let (code, body) = post(&node.api, "/v1/txs/simulate", &json!({"tx": "zz"}));
    assert_eq!(
        (code, body["error"]["code"].clone()),
        (400, json!("bad_hex"))
    );
}

#[test]
fn an_invoice_reads_unpaid_then_paid_and_paying_it_again_is_refused_before_submission() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let chain = chain_id(&node.api);
    let merchant = node.key("dalbit-cafe");
    let alice = node.key("alice");
    let bob = node.key("bob");
    let invoice = Invoice {
        merchant: merchant.address(),
        asset: AssetId(0),
        amount: 500,
        expires_at: 1_000_000,
        invoice_id: 4242,
        memo: None,
    };
    let signature = invoice.sign(&merchant, &chain);
    let path = format!("/v1/invoices/{}/4242", merchant.address());
    let unpaid = get(&node.api, &path).expect("the node answers");
    assert_eq!(unpaid["paid"], false, "{unpaid}");
    assert!(unpaid["paid_at"].is_null(), "{unpaid}");

    let pay = |key: &Keypair| {
        let nonce = account(&node.api, &key.address())["nonce"]
            .as_u64()
            .expect("nonce");
        let call = Call::PayInvoice(calls::PayInvoice {
            invoice: invoice.clone(),
            signature,
        });
        signed(chain, key, nonce, call)
    };
    let first = pay(&alice);
    assert_eq!(simulate(&node.api, &first)["status"], "success");
    let paid = submit_final(&node.api, &first);
    assert_eq!(paid["status"], "final", "{paid}");
    let height = paid["height"].clone();

    let now = get(&node.api, &path).expect("the node answers");
    assert_eq!(now["paid"], true, "{now}");
    assert_eq!(now["paid_at"], height, "{now}");
    assert_eq!(now["merchant"], merchant.address().to_string());

    // Bob would pay a fee for nothing: the dry run says so first.
    let again = simulate(&node.api, &pay(&bob));
    assert_eq!(again["status"], "failed", "{again}");
    assert_eq!(again["error"]["code"], "invoice_already_paid", "{again}");

    let (code, body) = post(&node.api, "/v1/txs/simulate", &json!({"tx": "00", "x": 1}));
    assert_eq!(
        (code, body["error"]["code"].clone()),
        (400, json!("malformed_json"))
    );
    let bad = get(&node.api, "/v1/invoices/jeon1nope/1").expect("the node answers");
    assert_eq!(bad["error"]["code"], "bad_address", "{bad}");
    let bad = get(&node.api, &format!("/v1/invoices/{}/x", merchant.address())).expect("answer");
    assert_eq!(bad["error"]["code"], "bad_query", "{bad}");
}
