//! Micro-credit end to end through the CLI only, on `jeon dev`: alice pays the cafe
//! ₩100,000 (10 score points: ₩10,000 of credit); the bank's line above that is
//! refused, one at the limit opens; alice draws, repays in full (the line closes, her
//! score rises), and a default can no longer be marked; a payment she is short for
//! then borrows the shortfall from her next line. Figures follow docs/economy.md §10.

use crate::common::{failure, has_event, run, DevNode, Town};
use serde_json::Value;

/// `jeon query credit ADDR`.
fn credit(town: &Town, who: &str) -> Value {
    let out = run(&["query", "credit", who, "--api", &town.node.api]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn a_lender_opens_a_line_within_the_score_and_the_borrower_draws_and_repays() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let (alice, cafe) = (town.address("alice"), town.address("dalbit-cafe"));
    let unknown = credit(&town, &alice);
    assert_eq!(unknown["score"]["score"], 0, "{unknown}");
    assert_eq!(unknown["score"]["first_seen"], Value::Null, "{unknown}");

    // ₩100,000 = 10,000,000 units paid: 10 points, 1,000,000 units of credit.
    let paid = town.tx(
        "alice",
        &[
            "pay",
            "--merchant",
            &cafe,
            "--asset",
            "KRW",
            "--amount",
            "10000000",
        ],
    );
    assert!(has_event(&paid, "paid"));
    let scored = credit(&town, &alice);
    assert_eq!(scored["score"]["volume"], 10_000_000, "{scored}");
    // Blocks come fast on `jeon dev`: count the age points the report shows.
    let age_pts = |r: &Value| r["score"]["age_blocks"].as_u64().unwrap() / 100;
    assert_eq!(scored["score"]["score"], 10 + age_pts(&scored), "{scored}");

    let open = |limit: &str| {
        town.tx(
            "hanbit-bank",
            &[
                "open-credit-line",
                "--borrower",
                &alice,
                "--asset",
                "KRW",
                "--limit",
                limit,
                "--due-period-blocks",
                "1000",
            ],
        )
    };
    let allowed = credit(&town, &alice)["score"]["allowed"].as_u64().unwrap();
    assert!(failure(&open(&(allowed + 1).to_string()))
        .get("credit_above_score")
        .is_some());
    assert!(has_event(&open("1000000"), "credit_line_opened"));
    let not_lender = town.tx(
        "dalbit-cafe",
        &[
            "open-credit-line",
            "--borrower",
            &alice,
            "--asset",
            "KRW",
            "--limit",
            "1",
            "--due-period-blocks",
            "10",
        ],
    );
    assert!(failure(&not_lender).get("not_a_lender").is_some());

    let drawn = town.tx(
        "alice",
        &["draw-credit", "--line-id", "0", "--amount", "400000"],
    );
    assert!(has_event(&drawn, "credit_drawn"));
    let over = town.tx(
        "alice",
        &["draw-credit", "--line-id", "0", "--amount", "600001"],
    );
    assert!(failure(&over).get("credit_limit_exceeded").is_some());
    let repaid = town.tx("alice", &["repay", "--line-id", "0", "--amount", "400000"]);
    assert!(has_event(&repaid, "credit_repaid"));

    let after = credit(&town, &alice);
    assert_eq!(after["lines"][0]["status"], "repaid", "{after}");
    assert_eq!(after["lines"][0]["outstanding"], 0, "{after}");
    assert_eq!(after["score"]["repayments"], 1, "{after}");
    // One repayment: 20 points more (400,000 units repaid is under a point).
    assert_eq!(after["score"]["score"], 30 + age_pts(&after), "{after}");
    let mark = town.tx("hanbit-bank", &["mark-default", "--line-id", "0"]);
    assert!(failure(&mark).get("credit_line_closed").is_some());

    // A new line becomes alice's standby line: a payment she is short for borrows the
    // shortfall. She keeps ₩10 (1,000 units) after the transfer's ₩0.10 fee, pays ₩500
    // (its fee leaves 990), and the line lends the other 49,010 units.
    assert!(has_event(&open("100000"), "credit_line_opened"));
    let api = &town.node.api;
    let held = crate::common::balance(api, &town.node.key("alice").address(), 0);
    let away = (held - 10 - 1_000).to_string();
    let bob = town.address("bob");
    let sent = town.tx(
        "alice",
        &[
            "transfer", "--to", &bob, "--asset", "KRW", "--amount", &away,
        ],
    );
    assert!(has_event(&sent, "transferred"));
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
        ],
    );
    assert!(has_event(&paid, "credit_drawn"), "{paid}");
    assert!(has_event(&paid, "paid"), "{paid}");
    let lines = credit(&town, &alice);
    assert_eq!(lines["lines"][1]["outstanding"], 49_010, "{lines}");
    assert_eq!(
        crate::common::balance(api, &town.node.key("alice").address(), 0),
        0
    );
}
