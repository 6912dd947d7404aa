//! Metered lessons end to end through the CLI only, on `jeon dev`: alice opens a
//! session with Baeum Learning at ₩50 a lesson minute with a ₩5,000 budget, her wallet
//! signs a cumulative receipt after each of 60 minutes (off chain, `jeon tx
//! meter-receipt`), and the school settles all 60 with the last receipt alone and
//! closes: ₩3,000 paid (₩300 tax), ₩2,000 back to alice. A stale receipt is refused by
//! the dry run and, forced through, by the chain. Figures follow docs/economy.md,
//! "Metered sessions".

use crate::common::{failure, has_event, run, DevNode, Town};
use serde_json::Value;

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

/// Runs a command that must succeed and print one JSON document.
fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).expect("json")
}

/// Alice's wallet signs "session `id`, `units` so far".
fn receipt(town: &Town, id: &str, units: u64) -> String {
    let units = units.to_string();
    let key = town.key("alice");
    let signed = json(&[
        "tx",
        "meter-receipt",
        "--session",
        id,
        "--units",
        &units,
        "--key",
        &key,
        "--api",
        &town.node.api,
    ]);
    assert_eq!(signed["units"].as_u64().map(|u| u.to_string()), Some(units));
    signed["signature"].as_str().expect("signature").to_owned()
}

fn balance(town: &Town, who: &str) -> u64 {
    let addr = town.address(who).parse().expect("an address");
    crate::common::balance(&town.node.api, &addr, 0)
}

#[test]
fn a_60_minute_lesson_settles_with_the_last_receipt_only_and_a_stale_receipt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let school = town.address("baeum-learning");
    let opened = town.tx(
        "alice",
        &[
            "open-meter",
            "--merchant",
            &school,
            "--asset",
            "KRW",
            "--unit-price",
            "₩50",
            "--budget",
            "₩5000",
        ],
    );
    let o = event(&opened, "meter_opened");
    assert_eq!(
        (o["unit_price"].as_u64(), o["budget"].as_u64()),
        (Some(5_000), Some(500_000))
    );
    let id = o["id"].as_u64().expect("id").to_string();
    let alice_after_open = balance(&town, "alice");

    // One receipt per minute; only the last leaves the wallet.
    let signatures: Vec<String> = (1..=60).map(|u| receipt(&town, &id, u)).collect();
    let last = &signatures[59];
    let claimed = town.tx(
        "baeum-learning",
        &[
            "claim-meter",
            "--session",
            &id,
            "--units",
            "60",
            "--signature",
            last,
        ],
    );
    let paid = event(&claimed, "paid");
    assert_eq!(
        (paid["amount"].as_u64(), paid["tax"].as_u64()),
        (Some(300_000), Some(30_000)),
        "60 × ₩50 = ₩3,000, 10 % tax"
    );
    assert_eq!(paid["payer"], town.address("alice").as_str());
    let c = event(&claimed, "meter_claimed");
    assert_eq!(
        (c["units"].as_u64(), c["new_units"].as_u64()),
        (Some(60), Some(60))
    );

    // Minute 59's receipt is stale now: the dry run refuses it, so nothing is submitted.
    let key = town.key("baeum-learning");
    let refused = run(&[
        "tx",
        "claim-meter",
        "--session",
        &id,
        "--units",
        "59",
        "--signature",
        &signatures[58],
        "--key",
        &key,
        "--api",
        &town.node.api,
    ]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stale_meter_receipt"));
    // Forced through, the chain refuses it, naming both counts.
    let stale = town.tx(
        "baeum-learning",
        &[
            "claim-meter",
            "--session",
            &id,
            "--units",
            "59",
            "--signature",
            &signatures[58],
        ],
    );
    let f = &failure(&stale)["stale_meter_receipt"];
    assert_eq!(
        (f["units"].as_u64(), f["claimed"].as_u64()),
        (Some(59), Some(60)),
        "{stale}"
    );

    // The school closes: the ₩2,000 left in escrow returns to alice.
    let closed = town.tx("baeum-learning", &["close-meter", "--session", &id]);
    let c = event(&closed, "meter_closed");
    assert_eq!(
        (c["paid"].as_u64(), c["refund"].as_u64()),
        (Some(300_000), Some(200_000))
    );
    assert_eq!(balance(&town, "alice"), alice_after_open + 200_000);
    let shown = json(&["query", "meter", &id, "--api", &town.node.api]);
    assert_eq!(shown["session"]["units"], 60, "{shown}");
    assert_eq!(shown["remaining"], 0, "{shown}");
    assert!(shown["session"]["closed_at"].is_u64(), "{shown}");
    let listed = json(&["query", "meters", &school, "--api", &town.node.api]);
    assert_eq!(
        listed["sessions"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
}
