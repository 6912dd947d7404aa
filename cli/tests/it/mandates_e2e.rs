//! Mandates and payment links end to end through the CLI only, on `jeon dev`: the cafe
//! makes a ₩500 link that alice pays once (bob's second payment is refused, as is a
//! tampered copy); alice subscribes to the cafe at ₩9,900 a day, the cafe charges the
//! limit, one more won is refused, alice revokes. Figures follow docs/economy.md §9.

use crate::common::{failure, has_event, run, DevNode, Town};
use serde_json::Value;

#[test]
fn a_link_is_paid_once_and_a_mandate_charges_within_its_limit_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let cafe_key = town.key("dalbit-cafe");
    let made = run(&[
        "invoice",
        "new",
        "--key",
        &cafe_key,
        "--asset",
        "KRW",
        "--amount",
        "50000",
        "--expires-in-blocks",
        "100",
        "--id",
        "1",
        "--memo",
        "table 4",
        "--output",
        "text",
        "--api",
        &town.node.api,
    ]);
    assert!(made.status.success(), "{made:?}");
    let link = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(link.starts_with("jeon:pay?to="), "{link}");

    let paid = town.tx("alice", &["pay-invoice", "--link", &link]);
    assert!(has_event(&paid, "invoice_paid"));
    assert!(has_event(&paid, "tax_withheld"));
    let again = town.tx("bob", &["pay-invoice", "--link", &link]);
    assert!(failure(&again).get("invoice_already_paid").is_some());
    // The readable amount changed to ₩0.01: the signature covers the canonical invoice.
    let tampered = link.replacen("amount=500.00", "amount=0.01", 1);
    assert_ne!(tampered, link);
    let forged = town.tx("bob", &["pay-invoice", "--link", &tampered]);
    assert!(failure(&forged).get("bad_invoice_signature").is_some());

    let cafe = town.address("dalbit-cafe");
    let granted = town.tx(
        "alice",
        &[
            "grant-mandate",
            "--spender",
            &cafe,
            "--asset",
            "KRW",
            "--limit-per-period",
            "990000",
            "--expires-at",
            "100000",
        ],
    );
    assert!(has_event(&granted, "mandate_granted"));
    let charge = |amount: &str| {
        town.tx(
            "dalbit-cafe",
            &["charge", "--mandate-id", "0", "--amount", amount],
        )
    };
    assert!(has_event(&charge("990000"), "mandate_charged"));
    assert!(failure(&charge("1"))
        .get("mandate_limit_exceeded")
        .is_some());
    // The user sees what the mandate still allows: nothing more this period.
    let alice = town.address("alice");
    let listed = run(&["query", "mandates", &alice, "--api", &town.node.api]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("json");
    let mandate = &listed["mandates"][0];
    assert_eq!(mandate["remaining"], 0, "{listed}");
    let revoked = town.tx("alice", &["revoke-mandate", "--mandate-id", "0"]);
    assert!(has_event(&revoked, "mandate_revoked"));
    // A charge in a later block than the revoke is refused as revoked (checked before
    // the limit, which is also used up).
    assert!(failure(&charge("1")).get("mandate_revoked").is_some());
}
