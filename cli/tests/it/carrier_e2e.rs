//! Carrier billing end to end through the CLI only, on `jeon dev`: Haneul Telecom (a
//! carrier and attester on the dev chain) requires KYC level 2 for its phone billing
//! lines, so a line for alice is refused, naming the claim, until the telco attests it;
//! alice then charges a sticker pack and a café payment to her phone bill (the merchants
//! see ordinary payments from the telco's float, tax withheld), a purchase over the cap
//! is refused, the statement shows what she owes per period; once the period is over
//! and unpaid the telco suspends the line, a charge on it is refused, alice pays the
//! statement in won and the telco resumes the line.

use std::time::Duration;

use crate::common::{failure, has_event, run, wait_until, DevNode, Town};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The line's period: 6 seconds of block time.
const PERIOD_MS: &str = "6000";

/// The statements with charges, as (period, charged, settled).
fn charged_periods(line: &Value) -> Vec<(u64, u64, Value)> {
    line["statements"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["charged"].as_u64().unwrap_or(0) > 0)
        .map(|s| {
            let period = s["period"].as_u64().expect("period");
            (
                period,
                s["charged"].as_u64().expect("charged"),
                s["settled"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_purchase_charged_to_a_phone_bill_its_statement_the_cap_suspension_and_a_kyc_gate() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let api = town.node.api.clone();
    let alice = town.address("alice");
    let cafe = town.address("dalbit-cafe");
    let open = [
        "open-carrier-line",
        "--user",
        &alice,
        "--cap",
        "₩50000",
        "--period-ms",
        PERIOD_MS,
    ];

    // A KYC-gated line: refused without the claim, naming it; opened with it.
    let policy = town.tx(
        "haneul-telecom",
        &[
            "set-claim-policy",
            "--scope",
            "carrier-lines",
            "--kyc-level",
            "2",
        ],
    );
    assert!(has_event(&policy, "claim_policy_set"), "{policy}");
    let refused = town.tx("haneul-telecom", &open);
    let f = &failure(&refused)["policy_claim_required"];
    assert_eq!(f["claim"]["kyc_level"]["level"], 2, "{refused}");
    assert_eq!(f["account"], alice.as_str(), "{refused}");
    let attested = town.tx(
        "haneul-telecom",
        &["attest", "--subject", &alice, "--kyc-level", "2"],
    );
    assert!(has_event(&attested, "attestation_issued"), "{attested}");
    let opened = town.tx("haneul-telecom", &open);
    assert!(has_event(&opened, "carrier_line_opened"), "{opened}");

    // A sticker pack and a café payment on the phone bill.
    let pack = town.tx("alice", &["charge-line", "--line", "0", "--product", "0"]);
    assert!(has_event(&pack, "entitlement_issued"), "{pack}");
    assert!(has_event(&pack, "line_charged"), "{pack}");
    let coffee = town.tx(
        "alice",
        &[
            "charge-line",
            "--line",
            "0",
            "--merchant",
            &cafe,
            "--amount",
            "₩4000",
        ],
    );
    let paid = coffee["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e.get("paid"))
        .expect("a paid event")
        .clone();
    assert_eq!(
        paid["payer"],
        town.address("haneul-telecom").as_str(),
        "{paid}"
    );
    assert_eq!(paid["merchant"], cafe.as_str(), "{paid}");
    assert_eq!(
        (paid["amount"].as_u64(), paid["tax"].as_u64()),
        (Some(400_000), Some(40_000))
    );

    // Over the cap: refused.
    let over = town.tx(
        "alice",
        &[
            "charge-line",
            "--line",
            "0",
            "--merchant",
            &cafe,
            "--amount",
            "₩50001",
        ],
    );
    assert!(failure(&over).get("line_cap_exceeded").is_some(), "{over}");

    // The statement: ₩4,500 charged over the periods the two purchases fell in.
    let line = json(&["query", "line", "0", "--api", &api]);
    let periods = charged_periods(&line);
    let total: u64 = periods.iter().map(|(_, c, _)| c).sum();
    assert_eq!(total, 450_000, "{line}");
    let lines = json(&["query", "lines", &alice, "--api", &api]);
    assert_eq!(lines["lines"][0]["user"], alice.as_str(), "{lines}");

    // The last charged period ends unpaid: the telco suspends the line.
    let (unpaid, _, _) = *periods.last().expect("a charged period");
    let over = wait_until(Duration::from_secs(30), || {
        let l = json(&["query", "line", "0", "--api", &api]);
        l["period"].as_u64().unwrap_or(0) > unpaid
    });
    assert!(over, "period {unpaid} never ended");
    let p = unpaid.to_string();
    let suspended = town.tx(
        "haneul-telecom",
        &["suspend-line", "--line", "0", "--period", &p],
    );
    assert!(
        has_event(&suspended, "carrier_line_suspended"),
        "{suspended}"
    );
    let blocked = town.tx("alice", &["charge-line", "--line", "0", "--product", "0"]);
    assert!(
        failure(&blocked).get("carrier_line_suspended").is_some(),
        "{blocked}"
    );

    // Alice pays the statement in won; the telco resumes the line.
    let settled = town.tx(
        "alice",
        &[
            "settle-statement",
            "--line",
            "0",
            "--period",
            &p,
            "--how",
            "paid",
        ],
    );
    assert!(has_event(&settled, "statement_settled"), "{settled}");
    let line = json(&["query", "line", "0", "--api", &api]);
    let statement = charged_periods(&line)
        .into_iter()
        .find(|(period, _, _)| *period == unpaid)
        .expect("the settled statement is listed");
    assert_eq!(statement.2, "paid_by_user", "{line}");
    let resumed = town.tx("haneul-telecom", &["resume-line", "--line", "0"]);
    assert!(has_event(&resumed, "carrier_line_resumed"), "{resumed}");
    let again = town.tx("alice", &["charge-line", "--line", "0", "--product", "0"]);
    assert!(has_event(&again, "line_charged"), "{again}");
}
