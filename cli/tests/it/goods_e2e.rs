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
        [
            "Sticker pack",
            "30-day ad-free pass",
            "Starter bundle",
            "Mature content pack (19+)"
        ]
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

/// The head's time, from an entitlement query (any id: `time_ms` is the head's).
fn entitlement_and_head_time(town: &Town, id: &str) -> (Value, u64) {
    let shown = query(town, &["entitlement", id]);
    let now = shown["time_ms"].as_u64().expect("head time");
    (shown, now)
}

/// Renews entitlement `id` as the studio once the head is inside the renewal window
/// (the last tenth of the period; empty blocks advance the time about once a second).
fn renew_when_due(town: &Town, id: &str, period_ms: u64) -> Value {
    loop {
        let (shown, now) = entitlement_and_head_time(town, id);
        let expires = shown["entitlement"]["expires_at_ms"]
            .as_u64()
            .expect("expiry");
        if now + period_ms / 10 >= expires {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    town.tx("pixel-forge-games", &["renew", "--entitlement", id])
}

#[test]
fn a_subscription_renews_twice_through_its_mandate_and_lapses_once_it_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let studio = town.address("pixel-forge-games");
    // ₩990 every 4 seconds (a short period, so the test sees renewals).
    let period_ms: u64 = 4_000;
    let created = town.tx(
        "pixel-forge-games",
        &[
            "create-product",
            "--name",
            "Premium",
            "--kind",
            "subscription",
            "--period-ms",
            "4000",
            "--asset",
            "KRW",
            "--price",
            "₩990",
        ],
    );
    let product = event(&created, "product_created")["id"].to_string();
    // The mandate allows two charges per period, since periods of the mandate and of
    // the subscription need not line up.
    let granted = town.tx(
        "alice",
        &[
            "grant-mandate",
            "--spender",
            &studio,
            "--asset",
            "KRW",
            "--limit-per-period",
            "198000",
            "--period-ms",
            "4000",
            "--expires-at",
            "1000000",
        ],
    );
    let mandate = event(&granted, "mandate_granted")["id"].to_string();
    let subscribed = town.tx(
        "alice",
        &["subscribe", "--product", &product, "--mandate-id", &mandate],
    );
    assert_eq!(event(&subscribed, "paid")["amount"], 99_000);
    assert_eq!(event(&subscribed, "mandate_charged")["amount"], 99_000);
    let id = event(&subscribed, "entitlement_issued")["id"].to_string();

    let mut expiry = event(&subscribed, "entitlement_issued")["expires_at_ms"]
        .as_u64()
        .expect("a subscription expires");
    for _ in 0..2 {
        let renewed = renew_when_due(&town, &id, period_ms);
        let r = event(&renewed, "subscription_renewed");
        let next = r["expires_at_ms"].as_u64().expect("expiry");
        assert!(next >= expiry + period_ms, "{renewed}");
        assert_eq!(event(&renewed, "paid")["tax"], 9_900);
        expiry = next;
    }
    let revoked = town.tx("alice", &["revoke-mandate", "--mandate-id", &mandate]);
    assert!(has_event(&revoked, "mandate_revoked"));
    let lapsed = renew_when_due(&town, &id, period_ms);
    let l = event(&lapsed, "subscription_lapsed");
    assert!(l["error"].get("mandate_revoked").is_some(), "{lapsed}");
    assert!(!has_event(&lapsed, "paid"), "nothing charged: {lapsed}");
    let again = town.tx("pixel-forge-games", &["renew", "--entitlement", &id]);
    assert!(crate::common::failure(&again)
        .get("subscription_ended")
        .is_some());
}
