//! Fees end to end on `jeon dev`, through the CLI and the HTTP API: the fee schedule a
//! wallet reads before sending, a partner sponsoring a user's fees until its budget
//! runs out, a co-signing fee payer, and a busy sender reaching a cheaper volume tier.

use crate::common::{balance, chain_id, get, has_event, post, run, tx_hex, DevNode, Town};
use jeon_runtime::calls;
use jeon_runtime::{AssetId, Call, Hash, SignedTx, TxBody};
use serde_json::{json, Value};

/// `jeon query <args> --api <node>`, parsed.
fn query(town: &Town, args: &[&str]) -> Value {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--api", &town.node.api]);
    let out = run(&all);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `jeon tx <args> --key <signer> --wait --api <node>`: exit status, stdout, stderr.
fn tx_raw(town: &Town, signer: &str, args: &[&str]) -> (i32, String, String) {
    let key = town.key(signer);
    let mut all = vec!["tx"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--key", &key, "--wait", "--force", "--api", &town.node.api]);
    let out = run(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `fee_charged` event of a final status.
fn fee_event(status: &Value) -> Value {
    status["receipt"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.get("fee_charged").cloned())
        .expect("a fee_charged event")
}

#[test]
fn a_sponsor_pays_a_users_fees_until_its_budget_runs_out_and_a_co_signer_pays_its_own_way() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let (alice, cafe, bank) = (
        town.address("alice"),
        town.address("dalbit-cafe"),
        town.address("hanbit-bank"),
    );

    // What a wallet shows before sending: the base fee and alice's fee.
    let fees = query(&town, &["fees", "--account", &alice]);
    assert_eq!(fees["base_fee"], 10, "{fees}");
    assert_eq!(fees["market"]["base_fee_max"], 1_000);
    assert_eq!(fees["account"]["fee"], 10);
    assert_eq!(fees["account"]["tier"], Value::Null);
    assert_eq!(fees["account"]["suggested_fee_limit"], 20);

    // The cafe sponsors alice: two fees a day.
    let offered = town.tx(
        "dalbit-cafe",
        &["sponsor-fees", "--for", &alice, "--budget", "20"],
    );
    assert!(has_event(&offered, "fees_sponsored"), "{offered}");
    let listed = query(&town, &["sponsorships", &cafe]);
    assert_eq!(listed["sponsorships"][0]["remaining"], 20, "{listed}");

    // Alice pays ₩500 twice; not one unit of fee leaves her account.
    for _ in 0..2 {
        let before = balance(&town.node.api, &town.node.key("alice").address(), 0);
        let paid = town.tx(
            "alice",
            &[
                "pay",
                "--merchant",
                &cafe,
                "--asset",
                "KRW",
                "--amount",
                "50000",
                "--fee-payer",
                &cafe,
            ],
        );
        assert!(has_event(&paid, "paid"), "{paid}");
        assert_eq!(fee_event(&paid)["payer"], cafe.as_str());
        let after = balance(&town.node.api, &town.node.key("alice").address(), 0);
        assert_eq!(before - after, 50_000, "alice paid the amount and no fee");
    }
    let listed = query(&town, &["sponsorships", &cafe]);
    assert_eq!(listed["sponsorships"][0]["remaining"], 0, "{listed}");

    // The third is refused before any block, with the reason.
    let (code, _, stderr) = tx_raw(
        &town,
        "alice",
        &[
            "transfer",
            "--to",
            &cafe,
            "--asset",
            "KRW",
            "--amount",
            "1",
            "--fee-payer",
            &cafe,
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("sponsor_budget_exhausted") && stderr.contains("0 of 20 left"),
        "{stderr}"
    );

    // Bob names a payer that sponsors nobody: refused, naming it.
    let (code, _, stderr) = tx_raw(
        &town,
        "bob",
        &[
            "transfer",
            "--to",
            &alice,
            "--asset",
            "KRW",
            "--amount",
            "1",
            "--fee-payer",
            &bank,
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not_sponsored"), "{stderr}");

    // The game studio co-signs bob's transfer instead: it pays, bob does not.
    let bob = town.node.key("bob").address();
    let games = town.node.key("pixel-forge-games").address();
    let (bob_before, games_before) = (
        balance(&town.node.api, &bob, 0),
        balance(&town.node.api, &games, 0),
    );
    let payer_key = town.key("pixel-forge-games");
    let sent = town.tx(
        "bob",
        &[
            "transfer",
            "--to",
            &alice,
            "--asset",
            "KRW",
            "--amount",
            "7",
            "--payer-key",
            &payer_key,
        ],
    );
    assert_eq!(
        fee_event(&sent)["payer"],
        games.to_string().as_str(),
        "{sent}"
    );
    assert_eq!(balance(&town.node.api, &bob, 0), bob_before - 7);
    assert_eq!(balance(&town.node.api, &games, 0), games_before - 10);
}

#[test]
fn a_busy_sender_reaches_a_cheaper_tier_and_the_api_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let api = &node.api;
    let chain = chain_id(api);
    let bob = node.key("bob");
    let alice = node.key("alice").address();
    // 120 transfers from bob: the first 100 pay the full fee, the rest 80 % of it.
    let signed: Vec<SignedTx> = (0..120)
        .map(|n| {
            TxBody {
                chain_id: chain,
                sender: bob.address(),
                nonce: n,
                fee_limit: 20,
                expiry: 1_000_000,
                call: Call::Transfer(calls::Transfer {
                    to: alice,
                    asset: AssetId(0),
                    amount: 1,
                }),
                fee_payer: None,
            }
            .sign(&bob)
        })
        .collect();
    let hashes: Vec<Hash> = signed.iter().map(SignedTx::hash).collect();
    let txs: Vec<String> = signed.iter().map(tx_hex).collect();
    let (code, answer) = post(api, "/v1/txs/batch", &json!({ "txs": txs }));
    assert_eq!(code, 202, "{answer}");
    let done = crate::common::wait_until(std::time::Duration::from_secs(30), || {
        get(api, &format!("/v1/accounts/{}", bob.address())).is_some_and(|a| a["nonce"] == 120)
    });
    assert!(done, "bob's 120 transfers did not finalize");
    let fees = get(api, &format!("/v1/fees?account={}", bob.address())).unwrap();
    assert_eq!(fees["account"]["tier"], 0, "{fees}");
    // Bad questions get their documented errors.
    let bad = get(api, "/v1/fees?account=jeon1nope").unwrap();
    assert_eq!(bad["error"]["code"], "bad_address", "{bad}");
    let unknown = get(api, "/v1/fees?acount=x").unwrap();
    assert_eq!(unknown["error"]["code"], "bad_query", "{unknown}");
    let bad = get(api, "/v1/sponsors/not-an-address").unwrap();
    assert_eq!(bad["error"]["code"], "bad_address", "{bad}");
    assert_eq!(fees["account"]["fee_bps"], 8_000);
    assert_eq!(fees["account"]["fee"], 8, "80 % of the ₩0.10 base fee");
    assert!(fees["account"]["volume"].as_u64().unwrap() >= 120);

    // What bob actually paid, from the receipts: 100 full fees, then 20 at 8.
    let fees: Vec<u64> = hashes
        .iter()
        .map(|h| {
            let status = get(api, &format!("/v1/txs/{h}")).unwrap();
            assert_eq!(status["status"], "final", "{status}");
            status["receipt"]["fee"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(fees[..100], [10; 100]);
    assert_eq!(fees[100..], [8; 20]);
    let paid: u64 = fees.iter().sum();
    let bob_start = 100_000_000; // ₩1,000,000
    assert_eq!(balance(api, &bob.address(), 0), bob_start - 120 - paid);
}

#[test]
fn a_wallet_signs_alone_and_the_partner_co_signs_and_submits() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let games = town.address("pixel-forge-games");
    let api = town.node.api.clone();
    // The wallet signs, naming the game studio as payer, and submits nothing.
    let signed = run(&[
        "tx",
        "pay",
        "--merchant",
        &town.address("dalbit-cafe"),
        "--asset",
        "KRW",
        "--amount",
        "50000",
        "--fee-payer",
        &games,
        "--sign-only",
        "--key",
        &town.key("alice"),
        "--api",
        &api,
    ]);
    assert!(signed.status.success(), "{signed:?}");
    let hex_tx = serde_json::from_slice::<Value>(&signed.stdout).unwrap()["tx"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        query(&town, &["status"])["mempool_txs"],
        0,
        "nothing was submitted"
    );

    // Someone else's key cannot co-sign it.
    let wrong = run(&[
        "tx",
        "cosign",
        "--tx",
        &hex_tx,
        "--key",
        &town.key("bob"),
        "--api",
        &api,
    ]);
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("as its fee payer"));

    // The studio co-signs and submits; it pays the fee, alice only the ₩500.
    let alice_before = balance(&api, &town.node.key("alice").address(), 0);
    let games_before = balance(&api, &town.node.key("pixel-forge-games").address(), 0);
    let cosigned = run(&[
        "tx",
        "cosign",
        "--tx",
        &hex_tx,
        "--key",
        &town.key("pixel-forge-games"),
        "--wait",
        "--api",
        &api,
    ]);
    assert!(cosigned.status.success(), "{cosigned:?}");
    let status: Value = serde_json::from_slice(&cosigned.stdout).unwrap();
    assert_eq!(fee_event(&status)["payer"], games.as_str(), "{status}");
    assert_eq!(
        balance(&api, &town.node.key("alice").address(), 0),
        alice_before - 50_000
    );
    assert_eq!(
        balance(&api, &town.node.key("pixel-forge-games").address(), 0),
        games_before - 10,
        "the studio paid the fee"
    );
}
