//! Every `jeon tx` flag that takes an amount reads it in its asset's decimals: a
//! decimal amount typed on the command line is the raw units in the signed call (or,
//! for `--supply-max`, on chain), a bare integer stays raw units, and a decimal amount
//! with more decimals than its asset has, or written in another asset, exits 2.

use serde_json::Value;

use jeon_runtime::SignedTx;

use crate::common::{get, run, DevNode, Town};

/// `jeon tx <args> --key <signer> --sign-only`: the signed call, decoded, as JSON.
fn signed_call(t: &Town, signer: &str, args: &[&str]) -> Value {
    let key = t.key(signer);
    let mut all = vec!["tx"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--key", &key, "--sign-only", "--api", &t.node.api]);
    let o = run(&all);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    let printed: Value = serde_json::from_slice(&o.stdout).expect("--sign-only prints JSON");
    let bytes = hex::decode(printed["tx"].as_str().expect("tx hex")).expect("hex");
    let tx = SignedTx::decode(&bytes).expect("a signed transaction");
    serde_json::json!({
        "call": serde_json::to_value(&tx.body.call).expect("call JSON"),
        "fee_limit": tx.body.fee_limit,
    })
}

/// The exit code and stderr of `jeon tx <args> --key <signer> --sign-only`.
fn refused(t: &Town, signer: &str, args: &[&str]) -> (Option<i32>, String) {
    let key = t.key(signer);
    let mut all = vec!["tx"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--key", &key, "--sign-only", "--api", &t.node.api]);
    let o = run(&all);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_amount_flag_reads_a_decimal_amount_in_its_assets_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let t = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let cafe = "dalbit-cafe";
    let cafe_addr = t.address(cafe);

    // `--supply-max` in the new asset's own decimals, read back from the chain.
    let made = t.tx(
        cafe,
        &[
            "create-asset",
            "--symbol",
            "PT",
            "--decimals",
            "1",
            "--kind",
            "credit",
            "--supply-max",
            "1000.5",
        ],
    );
    assert_eq!(made["status"], "final", "{made}");
    // The limit is 10 005 units exactly: minting 1000.5 PT fills it, 0.1 more is
    // refused by the dry run.
    let full = t.tx(
        cafe,
        &[
            "mint", "--asset", "PT", "--to", &cafe_addr, "--amount", "1000.5",
        ],
    );
    assert_eq!(full["status"], "final", "{full}");
    let pt = get(&t.node.api, "/v1/assets/PT").expect("PT exists");
    assert_eq!(pt["supply"], 10_005, "{pt}");
    let pt_id = pt["id"].clone();
    let key = t.key(cafe);
    let over = run(&[
        "tx",
        "mint",
        "--asset",
        "PT",
        "--to",
        &cafe_addr,
        "--amount",
        "0.1",
        "--key",
        &key,
        "--api",
        &t.node.api,
    ]);
    let err = String::from_utf8_lossy(&over.stderr);
    assert_eq!(over.status.code(), Some(1), "{err}");
    assert!(err.contains("not submitted"), "{err}");

    let call = |args: &[&str]| signed_call(&t, cafe, args);
    // Reward caps and stamps (PT has 1 decimal; KRW 2).
    let rule = call(&[
        "add-cashback-rule",
        "--merchant",
        &cafe_addr,
        "--asset",
        "PT",
        "--rate-bps",
        "100",
        "--cap",
        "12.5",
    ]);
    assert_eq!(
        rule["call"]["add_reward_rule"]["cap_per_user_per_period"], 125,
        "{rule}"
    );
    let stamps = call(&[
        "add-stamp-rule",
        "--merchant",
        &cafe_addr,
        "--asset",
        "PT",
        "--cap",
        "40",
        "--per-payment",
        "0.5PT",
    ]);
    let kind = &stamps["call"]["add_reward_rule"];
    assert_eq!(
        kind["cap_per_user_per_period"], 40,
        "a bare integer is raw units"
    );
    assert_eq!(kind["kind"]["stamps"]["per_payment"], 5, "{stamps}");
    assert_eq!(kind["kind"]["stamps"]["asset"], pt_id, "{stamps}");
    let reward = call(&[
        "set-stamp-reward",
        "--stamp-asset",
        "PT",
        "--stamps",
        "1.0",
        "--reward-asset",
        "KRW",
        "--reward-amount",
        "₩5",
    ]);
    let r = &reward["call"]["set_stamp_reward"];
    assert_eq!(
        (&r["stamps"], &r["reward_amount"]),
        (&10.into(), &500.into())
    );
    let redeem = call(&["redeem-stamps", "--stamp-asset", "PT", "--count", "2.0"]);
    assert_eq!(redeem["call"]["redeem_stamps"]["count"], 20, "{redeem}");

    // Exchange prices, caps and `--min-out`.
    let proposal = call(&[
        "propose-exchange",
        "--from-asset",
        "PT",
        "--to-asset",
        "KRW",
        "--rate-num",
        "10",
        "--daily-cap",
        "100.0",
        "--settlement-price",
        "₩0.10",
    ]);
    let p = &proposal["call"]["propose_exchange"];
    assert_eq!(
        (&p["daily_cap"], &p["settlement_price"]),
        (&1000.into(), &10.into())
    );
    let convert = call(&[
        "convert",
        "--from-asset",
        "PT",
        "--amount",
        "1.5",
        "--to-asset",
        "KRW",
        "--min-out",
        "₩1.25",
    ]);
    let c = &convert["call"]["convert"];
    assert_eq!((&c["amount"], &c["min_out"]), (&15.into(), &125.into()));

    // `--fee-limit` and a fee market's bounds, in the fee asset (KRW).
    let fee = call(&[
        "transfer",
        "--to",
        &cafe_addr,
        "--asset",
        "KRW",
        "--amount",
        "1",
        "--fee-limit",
        "₩0.50",
    ]);
    assert_eq!(fee["fee_limit"], 50, "{fee}");
    assert_eq!(
        call(&[
            "transfer",
            "--to",
            &cafe_addr,
            "--asset",
            "KRW",
            "--amount",
            "1",
            "--fee-limit",
            "7"
        ])["fee_limit"],
        7
    );
    let market = signed_call(
        &t,
        "hanbit-bank",
        &[
            "propose",
            "set-fee-market",
            "--base-fee-min",
            "0.01",
            "--base-fee-max",
            "₩10",
            "--target-txs",
            "500",
        ],
    );
    let m = &market["call"]["propose"]["change"]["set_fee_market"];
    assert_eq!(
        (&m["base_fee_min"], &m["base_fee_max"]),
        (&1.into(), &1000.into())
    );

    // Too many decimals, or another asset's unit: exit 2, naming the problem.
    let (code, err) = refused(
        &t,
        cafe,
        &["redeem-stamps", "--stamp-asset", "PT", "--count", "0.25"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("has 2 decimals; PT has 1"), "{err}");
    let (code, err) = refused(
        &t,
        cafe,
        &[
            "convert",
            "--from-asset",
            "PT",
            "--amount",
            "1",
            "--to-asset",
            "KRW",
            "--min-out",
            "5PT",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is in PT, but the asset is KRW"), "{err}");
    let (code, err) = refused(
        &t,
        cafe,
        &[
            "create-asset",
            "--symbol",
            "PT2",
            "--decimals",
            "0",
            "--kind",
            "credit",
            "--supply-max",
            "1.5",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--supply-max"), "{err}");
    let (code, err) = refused(
        &t,
        cafe,
        &[
            "transfer",
            "--to",
            &cafe_addr,
            "--asset",
            "KRW",
            "--amount",
            "1",
            "--fee-limit",
            "0.001",
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("KRW has 2"), "{err}");
}
