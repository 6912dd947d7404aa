//! Governance end to end on `jeon dev`, through the CLI and the HTTP API: the bank (the
//! dev chain's one validator, holding all the power) proposes a lower tax rate for a
//! later height, votes it through, and payments withhold the old rate before that
//! height and the new one from it.

use std::time::Duration;

use crate::common::{get, has_event, run, wait_until, DevNode, Town};
use serde_json::Value;

/// `jeon query <args> --api <node>`, parsed.
fn query(town: &Town, args: &[&str]) -> Value {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--api", &town.node.api]);
    let out = run(&all);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The event of `kind` in a final status.
fn event(status: &Value, kind: &str) -> Value {
    assert!(has_event(status, kind), "{status}");
    status["receipt"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e.get(kind).cloned())
        .unwrap()
}

/// Alice pays the cafe 10 000 units of KRW: (height, tax withheld).
fn pay(town: &Town) -> (u64, u64) {
    let cafe = town.address("dalbit-cafe");
    let paid = town.tx(
        "alice",
        &[
            "pay",
            "--merchant",
            &cafe,
            "--asset",
            "KRW",
            "--amount",
            "10000",
        ],
    );
    let height = paid["height"].as_u64().unwrap();
    (height, event(&paid, "paid")["tax"].as_u64().unwrap())
}

fn kr_rate(town: &Town) -> u64 {
    let params = query(town, &["params"]);
    params["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["code"] == "KR")
        .unwrap()["tax_bps"]
        .as_u64()
        .unwrap()
}

#[test]
fn a_tax_rate_cut_voted_through_by_the_validators_is_withheld_from_its_activation_height() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let bank = town.address("hanbit-bank");

    // One validator holds all the power.
    let set = query(&town, &["validators"]);
    assert_eq!(set["validators"].as_array().unwrap().len(), 1, "{set}");
    assert_eq!(set["validators"][0]["key"], bank.as_str());
    assert_eq!(set["total_power"], set["validators"][0]["power"]);
    assert_eq!(kr_rate(&town), 1_000);

    // A non-validator cannot propose: the receipt says why.
    let head = get(&town.node.api, "/v1/status").unwrap()["height"]
        .as_u64()
        .unwrap();
    let activation = head + 15;
    let activation_arg = activation.to_string();
    let args = [
        "propose",
        "set-tax-rate",
        "--jurisdiction",
        "KR",
        "--bps",
        "500",
        "--voting-blocks",
        "200",
        "--activation",
        &activation_arg,
    ];
    let refused = town.tx("alice", &args);
    assert_eq!(refused["status"], "rejected", "{refused}");
    assert!(
        refused["receipt"]["outcome"]["failed"]
            .get("not_a_validator")
            .is_some(),
        "{refused}"
    );

    // The bank proposes 5 % from `activation`.
    let proposed = town.tx("hanbit-bank", &args);
    let submitted = event(&proposed, "proposal_submitted");
    let id = submitted["id"].as_u64().unwrap();
    assert_eq!(submitted["activation"], activation);
    let open = query(&town, &["proposals", "--status", "open"]);
    assert_eq!(open["proposals"][0]["id"], id, "{open}");

    // Before the vote, and before the activation height: 10 %.
    let (height, tax) = pay(&town);
    assert!(height < activation);
    assert_eq!(tax, 1_000);

    // The bank's vote is all the power: it passes, to take effect at `activation`.
    let id_arg = id.to_string();
    let voted = town.tx("hanbit-bank", &["vote", "--proposal", &id_arg, "--yes"]);
    let passed = event(&voted, "proposal_passed");
    assert_eq!(passed["effective_from"], activation, "{voted}");
    let again = town.tx("hanbit-bank", &["vote", "--proposal", &id_arg, "--no"]);
    assert!(
        again["receipt"]["outcome"]["failed"]
            .get("proposal_not_open")
            .is_some(),
        "{again}"
    );

    // Passed but not yet in effect: a payment still withholds 10 %.
    let (height, tax) = pay(&town);
    if height < activation {
        assert_eq!(tax, 1_000, "a payment at height {height}");
    }

    // Past the activation height the new rate is in state and in every payment.
    assert!(
        wait_until(Duration::from_secs(60), || {
            get(&town.node.api, "/v1/status").unwrap()["height"]
                .as_u64()
                .unwrap()
                >= activation
        }),
        "the chain did not reach height {activation}"
    );
    assert_eq!(kr_rate(&town), 500);
    let (height, tax) = pay(&town);
    assert!(height >= activation);
    assert_eq!(tax, 500);

    let shown = query(&town, &["proposal", &id_arg]);
    assert_eq!(shown["status_name"], "enacted", "{shown}");
    assert_eq!(shown["ballots"][0]["validator"], bank.as_str());
    let passed = query(&town, &["proposals", "--status", "passed"]);
    assert_eq!(passed["proposals"].as_array().unwrap().len(), 1);

    // The routes say what was wrong.
    let api = &town.node.api;
    let bad = get(api, "/v1/proposals?status=maybe").unwrap();
    assert_eq!(bad["error"]["code"], "bad_query", "{bad}");
    let unknown = get(api, "/v1/proposals/99").unwrap();
    assert_eq!(unknown["error"]["code"], "unknown_proposal", "{unknown}");
    let out = run(&["query", "proposal", "x", "--api", api]);
    assert_eq!(out.status.code(), Some(2), "a malformed id is bad input");
}
