//! Digital goods end to end through the CLI only, on `jeon dev`, with the dev chain's
//! catalogue (Pixel Forge Games: product 0 a ₩500 sticker pack, transferable with a
//! 5 % royalty; product 1 a ₩3,300 30-day pass). The studio adds a 10 % cashback rule;
//! alice buys a pack (₩50 tax, ₩450 to the studio, 5 000 units = ₩50 of cashback), buys
//! a pass valid for 30 days, and gives the pack to bob (royalty 5 % of ₩500 = ₩25, of
//! which ₩2.50 tax). Figures follow docs/economy.md, "Digital goods".

use crate::common::{has_event, run, DevNode, Town};
use serde_json::Value;

/// 30 days in milliseconds.
const THIRTY_DAYS_MS: u64 = 30 * 86_400_000;

/// The first event of `kind` in a final transaction's receipt.
fn event<'a>(status: &'a Value, kind: &str) -> &'a Value {
    assert!(has_event(status, kind), "no {kind} in {status}");
    status["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e.get(kind))
        .expect("found")
}

fn query(town: &Town, args: &[&str]) -> Value {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--api", &town.node.api]);
    let out = run(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The studio issues PIXEL (2 decimals) and pays 10 % of each purchase back in it.
fn cashback_at_the_studio(town: &Town, studio: &str) {
    let created = town.tx(
        "pixel-forge-games",
        &[
            "create-asset",
            "--symbol",
            "PIXEL",
            "--decimals",
            "2",
            "--kind",
            "credit",
        ],
    );
    assert!(has_event(&created, "asset_created"));
    let rule = town.tx(
        "pixel-forge-games",
        &[
            "add-cashback-rule",
            "--merchant",
            studio,
            "--pay-asset",
            "KRW",
            "--asset",
            "PIXEL",
            "--rate-bps",
            "1000",
            "--cap",
            "1000000",
            "--period-ms",
            "86400000",
        ],
    );
    assert!(has_event(&rule, "reward_rule_added"));
}

#[test]
fn a_sticker_pack_pays_tax_and_cashback_a_pass_lasts_30_days_and_a_gift_pays_the_royalty() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let (studio, alice, bob) = (
        town.address("pixel-forge-games"),
        town.address("alice"),
        town.address("bob"),
    );
    let catalogue = query(&town, &["products", &studio]);
    let names: Vec<&str> = catalogue["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["Sticker pack", "30-day ad-free pass", "Starter bundle"]
    );
    cashback_at_the_studio(&town, &studio);

    // A ₩500 sticker pack: ₩50 tax, ₩450 to the studio, 10 % cashback = 5 000 PIXEL units.
    let bought = town.tx("alice", &["buy", "--product", "0"]);
    let paid = event(&bought, "paid");
    assert_eq!(
        (paid["amount"].as_u64(), paid["tax"].as_u64()),
        (Some(50_000), Some(5_000))
    );
    assert_eq!(paid["reference"], "product 0");
    assert_eq!(event(&bought, "tax_withheld")["amount"], 5_000);
    assert_eq!(event(&bought, "reward_granted")["amount"], 5_000);
    let pack = event(&bought, "entitlement_issued");
    assert_eq!(pack["owner"], alice.as_str());
    assert!(pack["expires_at_ms"].is_null());
    let pack_id = pack["id"].as_u64().expect("id").to_string();

    // A 30-day pass: valid now, expiring 30 days after its block's time.
    let bought = town.tx("alice", &["buy", "--product", "1"]);
    let pass = event(&bought, "entitlement_issued");
    let pass_id = pass["id"].as_u64().expect("id").to_string();
    let shown = query(&town, &["entitlement", &pass_id]);
    assert_eq!(shown["valid"], true, "{shown}");
    let expires = shown["entitlement"]["expires_at_ms"]
        .as_u64()
        .expect("a pass expires");
    let now = shown["time_ms"].as_u64().expect("head time");
    assert!(expires > now && expires - now <= THIRTY_DAYS_MS, "{shown}");
    assert!(
        expires - now > THIRTY_DAYS_MS - 600_000,
        "bought minutes ago: {shown}"
    );

    // Alice gives the pack to bob and pays the studio 5 % of ₩500 = ₩25 (₩2.50 tax).
    let given = town.tx(
        "alice",
        &[
            "transfer-entitlement",
            "--entitlement",
            &pack_id,
            "--to",
            &bob,
        ],
    );
    let moved = event(&given, "entitlement_transferred");
    assert_eq!(
        (moved["royalty"].as_u64(), moved["price"].as_u64()),
        (Some(2_500), Some(0))
    );
    let royalty = event(&given, "paid");
    assert_eq!(
        (royalty["amount"].as_u64(), royalty["tax"].as_u64()),
        (Some(2_500), Some(250))
    );
    assert_eq!(royalty["merchant"], studio.as_str());
    let bobs = query(&town, &["entitlements", &bob]);
    assert_eq!(
        bobs["entitlements"][0]["entitlement"]["product"], 0,
        "{bobs}"
    );
    let alices = query(&town, &["entitlements", &alice]);
    let held: Vec<u64> = alices["entitlements"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["entitlement"]["product"].as_u64().expect("product"))
        .collect();
    assert_eq!(held, [1], "alice keeps only the pass: {alices}");

    // The pass is bound: alice cannot give it.
    let refused = town.tx(
        "alice",
        &[
            "transfer-entitlement",
            "--entitlement",
            &pass_id,
            "--to",
            &bob,
        ],
    );
    assert!(crate::common::failure(&refused)
        .get("not_transferable")
        .is_some());
    let product = query(&town, &["product", "0"]);
    assert_eq!(product["product"]["sold"], 1, "{product}");
}
