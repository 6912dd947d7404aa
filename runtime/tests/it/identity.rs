//! Identity attestations, told as stories: the bank (an attester) attests that a user
//! is over 19; the shop's 19+ item is refused to anyone without that claim (the error
//! names it) and sold with it; an expired, revoked, weaker or other-kind attestation
//! does not count; a gift of a gated item needs the recipient to hold the claim.
//!
//! Test chain: the block at height `h` has time `1_700_000_000_000 + h * 1000` ms.

use crate::support::*;
use jeon_runtime::goods::ProductKind;
use jeon_runtime::identity::{self, Claim};
use jeon_runtime::state::keys;
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Call, CallError, Event, Hash, Keypair, Outcome, Overlay, Receipt, Role, StateExt,
};

fn ok(r: &Receipt) {
    assert!(r.is_success(), "expected success, got {:?}", r.outcome);
}

fn failure(r: &Receipt) -> CallError {
    match &r.outcome {
        Outcome::Failed(e) => e.clone(),
        other => panic!("expected a failed call, got {other:?}"),
    }
}

fn run_one(c: &mut Consortium, key: &Keypair, call: Call) -> Receipt {
    let tx = c.tx(key, call);
    c.run(&[tx]).remove(0)
}

const OVER_19: Claim = Claim::AgeOver { years: 19 };

fn attest(subject: &Keypair, claim: Claim, expires_at_ms: u64) -> Call {
    Call::Attest(calls::Attest {
        subject: subject.address(),
        claim,
        expires_at_ms,
        commitment: Hash([7; 32]),
    })
}

fn buy(product: u64) -> Call {
    Call::Buy(calls::Buy { product })
}

/// Block time at height `h`.
fn time_at(h: u64) -> u64 {
    1_700_000_000_000 + h * 1_000
}

/// The bank is also an attester; the shop sells product 0, a 19+ item (transferable),
/// and product 1, a bundle holding it.
fn gated_shop() -> Consortium {
    let mut c = Consortium::new();
    let mut bank = c
        .state
        .partner(&c.bank.address())
        .expect("read")
        .expect("bank");
    bank.roles.push(Role::Attester);
    let mut ov = Overlay::new(&c.state);
    ov.put(keys::partner(&bank.account), &bank).expect("write");
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
    let shop = Keypair::from_seed_label("shop");
    let item = Call::CreateProduct(calls::CreateProduct {
        name: "Mature pack".into(),
        kind: ProductKind::Item { supply_max: None },
        asset: KRW,
        price: 1_000,
        royalty_bps: Some(0),
    });
    ok(&run_one(&mut c, &shop, item));
    let bundle = Call::CreateProduct(calls::CreateProduct {
        name: "Bundle".into(),
        kind: ProductKind::Bundle { products: vec![0] },
        asset: KRW,
        price: 1_500,
        royalty_bps: None,
    });
    ok(&run_one(&mut c, &shop, bundle));
    let require = Call::RequireClaim(calls::RequireClaim {
        product: 0,
        claim: Some(OVER_19),
    });
    let r = run_one(&mut c, &shop, require);
    ok(&r);
    assert!(r
        .events
        .contains(&Event::ClaimRequirementSet(events::ClaimRequirementSet {
            product: 0,
            merchant: c.shop.address(),
            claim: Some(OVER_19),
        })));
    c
}

/// The refusal of `who` acquiring `product` without being over 19.
fn required(who: &Keypair, product: u64) -> CallError {
    CallError::ClaimRequired {
        product,
        account: who.address(),
        claim: OVER_19,
    }
}

#[test]
fn a_19_plus_item_is_refused_without_the_claim_naming_it_and_sold_with_it() {
    let mut c = gated_shop();
    let alice = Keypair::from_seed_label("user-0");
    let before = c.balance(&alice.address(), KRW);
    let r = run_one(&mut c, &alice, buy(0));
    assert_eq!(failure(&r), required(&alice, 0));
    assert_eq!(
        c.balance(&alice.address(), KRW),
        before - FEE,
        "nothing paid"
    );
    // The bundle holding it is refused too.
    let r = run_one(&mut c, &alice, buy(1));
    assert_eq!(failure(&r), required(&alice, 0));

    let bank = Keypair::from_seed_label("bank");
    let r = run_one(&mut c, &bank, attest(&alice, OVER_19, time_at(100)));
    ok(&r);
    assert!(r
        .events
        .contains(&Event::AttestationIssued(events::AttestationIssued {
            id: 0,
            attester: bank.address(),
            subject: alice.address(),
            claim: OVER_19,
            expires_at_ms: time_at(100),
        })));
    ok(&run_one(&mut c, &alice, buy(0)));
    ok(&run_one(&mut c, &alice, buy(1)));
    let a = identity::attestation(&c.state, 0)
        .expect("read")
        .expect("kept");
    assert_eq!(a.commitment, Hash([7; 32]), "only a commitment is stored");
}

#[test]
fn an_expired_revoked_weaker_or_other_kind_attestation_does_not_count() {
    let mut c = gated_shop();
    let bank = Keypair::from_seed_label("bank");
    let (a, b, d) = (
        Keypair::from_seed_label("user-0"),
        Keypair::from_seed_label("user-1"),
        Keypair::from_seed_label("user-2"),
    );
    // a: over 18 only; b: residency KR only; d: over 21 until height 20.
    ok(&run_one(
        &mut c,
        &bank,
        attest(&a, Claim::AgeOver { years: 18 }, time_at(100)),
    ));
    let kr = Claim::Residency {
        jurisdiction: "KR".into(),
    };
    ok(&run_one(&mut c, &bank, attest(&b, kr, time_at(100))));
    ok(&run_one(
        &mut c,
        &bank,
        attest(&d, Claim::AgeOver { years: 21 }, time_at(20)),
    ));
    assert_eq!(failure(&run_one(&mut c, &a, buy(0))), required(&a, 0));
    assert_eq!(failure(&run_one(&mut c, &b, buy(0))), required(&b, 0));
    ok(&run_one(&mut c, &d, buy(0))); // height 9: over 21 satisfies over 19
    while c.height < 19 {
        c.run(&[]);
    }
    assert_eq!(failure(&run_one(&mut c, &d, buy(0))), required(&d, 0)); // height 20: expired
                                                                        // Re-attested, then revoked.
    ok(&run_one(&mut c, &bank, attest(&d, OVER_19, time_at(100))));
    ok(&run_one(&mut c, &d, buy(0)));
    let r = run_one(
        &mut c,
        &bank,
        Call::RevokeAttestation(calls::RevokeAttestation { id: 3 }),
    );
    ok(&r);
    assert_eq!(failure(&run_one(&mut c, &d, buy(0))), required(&d, 0));
    let again = run_one(
        &mut c,
        &bank,
        Call::RevokeAttestation(calls::RevokeAttestation { id: 3 }),
    );
    assert_eq!(
        failure(&again),
        CallError::AttestationAlreadyRevoked { id: 3 }
    );
}

#[test]
fn a_gift_of_a_gated_item_needs_the_recipient_to_hold_the_claim() {
    let mut c = gated_shop();
    let bank = Keypair::from_seed_label("bank");
    let (alice, bob) = (
        Keypair::from_seed_label("user-0"),
        Keypair::from_seed_label("user-1"),
    );
    ok(&run_one(
        &mut c,
        &bank,
        attest(&alice, OVER_19, time_at(100)),
    ));
    ok(&run_one(&mut c, &alice, buy(0)));
    let give = Call::TransferEntitlement(calls::TransferEntitlement {
        entitlement: 0,
        to: bob.address(),
        price: 0,
    });
    let r = run_one(&mut c, &alice, give.clone());
    assert_eq!(failure(&r), required(&bob, 0));
    ok(&run_one(&mut c, &bank, attest(&bob, OVER_19, time_at(100))));
    ok(&run_one(&mut c, &alice, give));
}

#[test]
fn only_attesters_attest_only_the_attester_revokes_and_bad_claims_are_refused() {
    let mut c = gated_shop();
    let (shop, bank) = (
        Keypair::from_seed_label("shop"),
        Keypair::from_seed_label("bank"),
    );
    let alice = Keypair::from_seed_label("user-0");
    let r = run_one(&mut c, &shop, attest(&alice, OVER_19, time_at(100)));
    assert_eq!(
        failure(&r),
        CallError::NotAnAttester {
            account: shop.address()
        }
    );
    let bad = [
        (Claim::AgeOver { years: 0 }, time_at(100)),
        (
            Claim::Residency {
                jurisdiction: "kr".into(),
            },
            time_at(100),
        ),
        (Claim::KycLevel { level: 10 }, time_at(100)),
        (OVER_19, time_at(1)),
    ];
    for (claim, expiry) in bad {
        let r = run_one(&mut c, &bank, attest(&alice, claim, expiry));
        assert!(
            matches!(failure(&r), CallError::InvalidClaim { .. }),
            "{r:?}"
        );
    }
    ok(&run_one(
        &mut c,
        &bank,
        attest(&alice, OVER_19, time_at(100)),
    ));
    let r = run_one(
        &mut c,
        &shop,
        Call::RevokeAttestation(calls::RevokeAttestation { id: 0 }),
    );
    assert_eq!(
        failure(&r),
        CallError::NotAttestationAttester {
            id: 0,
            attester: bank.address()
        }
    );
    // Only the product's merchant sets its requirement.
    let r = run_one(
        &mut c,
        &bank,
        Call::RequireClaim(calls::RequireClaim {
            product: 0,
            claim: None,
        }),
    );
    assert!(matches!(failure(&r), CallError::NotProductMerchant { .. }));
    let listed = identity::attestations_of(&c.state, &alice.address()).expect("read");
    assert_eq!(listed.len(), 1);
}

#[test]
fn a_subject_holds_at_most_16_live_attestations_of_a_kind() {
    let mut c = gated_shop();
    let bank = Keypair::from_seed_label("bank");
    let alice = Keypair::from_seed_label("user-0");
    for _ in 0..identity::ATTESTATIONS_PER_CLAIM_MAX {
        ok(&run_one(
            &mut c,
            &bank,
            attest(&alice, OVER_19, time_at(100)),
        ));
    }
    let r = run_one(&mut c, &bank, attest(&alice, OVER_19, time_at(100)));
    assert_eq!(
        failure(&r),
        CallError::TooManyAttestations {
            subject: alice.address(),
            max: 16
        }
    );
    // Another kind has its own room; a revocation makes room.
    ok(&run_one(
        &mut c,
        &bank,
        attest(&alice, Claim::KycLevel { level: 2 }, time_at(100)),
    ));
    ok(&run_one(
        &mut c,
        &bank,
        Call::RevokeAttestation(calls::RevokeAttestation { id: 0 }),
    ));
    ok(&run_one(
        &mut c,
        &bank,
        attest(&alice, OVER_19, time_at(100)),
    ));
}
