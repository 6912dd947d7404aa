//! Identity attestations end to end through the CLI only, on `jeon dev`: Pixel Forge
//! Games' product 3, a ₩1,000 mature-content pack, needs an attestation of age over 19.
//! Alice is refused (the dry run and, forced through, the chain name the missing
//! claim); Hanbit Bank, an attester on the dev chain, attests her age with a salted
//! commitment only; she buys it; once the bank revokes the attestation she cannot buy
//! another.

use crate::common::{failure, has_event, run, DevNode, Town};
use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{args:?} failed: {err}");
    serde_json::from_slice(&o.stdout).expect("json")
}

#[test]
fn a_19_plus_item_is_refused_without_the_claim_and_sold_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let api = town.node.api.clone();
    let shown = json(&["query", "product", "3", "--api", &api]);
    assert_eq!(
        shown["product"]["name"], "Mature content pack (19+)",
        "{shown}"
    );
    assert_eq!(shown["requires"]["age_over"]["years"], 19, "{shown}");

    // Without the claim: the dry run refuses, naming it; forced, the chain refuses.
    let key = town.key("alice");
    let refused = run(&["tx", "buy", "--product", "3", "--key", &key, "--api", &api]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("claim_required") && said.contains("age over 19"),
        "{said}"
    );
    let forced = town.tx("alice", &["buy", "--product", "3"]);
    let f = &failure(&forced)["claim_required"];
    assert_eq!(f["claim"]["age_over"]["years"], 19, "{forced}");
    assert_eq!(f["account"], town.address("alice").as_str(), "{forced}");

    // The bank attests alice's age: a commitment, no personal data.
    let alice = town.address("alice");
    let commitment = "a1".repeat(32);
    let attested = town.tx(
        "hanbit-bank",
        &[
            "attest",
            "--subject",
            &alice,
            "--age-over",
            "19",
            "--commitment",
            &commitment,
        ],
    );
    assert!(has_event(&attested, "attestation_issued"), "{attested}");
    let listed = json(&["query", "attestations", &alice, "--api", &api]);
    let first = &listed["attestations"][0];
    assert_eq!(first["valid"], true, "{listed}");
    assert_eq!(
        first["attestation"]["commitment"],
        commitment.as_str(),
        "{listed}"
    );

    let bought = town.tx("alice", &["buy", "--product", "3"]);
    assert!(has_event(&bought, "entitlement_issued"), "{bought}");

    // Revoked, it no longer counts.
    let id = first["attestation"]["id"].to_string();
    let revoked = town.tx("hanbit-bank", &["revoke-attestation", "--id", &id]);
    assert!(has_event(&revoked, "attestation_revoked"), "{revoked}");
    let again = town.tx("alice", &["buy", "--product", "3"]);
    assert!(failure(&again).get("claim_required").is_some(), "{again}");
}
