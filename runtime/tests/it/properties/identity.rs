//! Identity attestations under random blocks: the bank (an attester) and, failing, the
//! shop attest random ages and residencies with random expiries and revoke them;
//! users buy a 19+ item (alone or in a bundle) and an ungated one, and give what they
//! hold. After each block: every transaction against the fee oracle (a failed one
//! changes only its fee and nonce); supply conserved; and every time the 19+ item
//! reached an account (issued or given), that account held, in the state the
//! transaction ran on, an attestation of age over at least 19 that was unrevoked,
//! unexpired at the block's time and from a partner that holds the attester role:
//! read from the attestation records themselves, not from the runtime's index.

use super::*;
use jeon_runtime::goods::ProductKind;
use jeon_runtime::identity::{Attestation, Claim};
use jeon_runtime::StateScan;

/// The gated product's id.
const GATED: u64 = 0;

#[derive(Clone, Debug)]
pub(super) enum IdOp {
    Attest {
        subject: usize,
        years: u8,
        residency: bool,
        blocks: u64,
    },
    Revoke {
        id: u64,
    },
    Buy {
        product: u64,
    },
    Give {
        entitlement: u64,
        to: usize,
    },
}

fn id_op() -> impl Strategy<Value = IdOp> {
    prop_oneof![
        3 => (0usize..4, 16u8..23, prop::bool::weighted(0.2), 0u64..6).prop_map(
            |(subject, years, residency, blocks)| IdOp::Attest { subject, years, residency, blocks }),
        1 => (0u64..8).prop_map(|id| IdOp::Revoke { id }),
        4 => (0u64..3).prop_map(|product| IdOp::Buy { product }),
        2 => (0u64..8, 0usize..4).prop_map(|(entitlement, to)| IdOp::Give { entitlement, to }),
    ]
}

fn id_blocks() -> impl Strategy<Value = Vec<Vec<(usize, IdOp)>>> {
    prop::collection::vec(prop::collection::vec((0usize..10, id_op()), 1..6), 1..10)
}

/// The call and its sender (index into `senders()`: 0 bank, 1 telco, 2 shop, 3.. users).
fn id_call(c: &Consortium, from: usize, op: &IdOp) -> (usize, Call) {
    let user = |i: usize| 3 + i % 4;
    match op {
        IdOp::Attest {
            subject,
            years,
            residency,
            blocks,
        } => {
            let claim = if *residency {
                Claim::Residency {
                    jurisdiction: "KR".into(),
                }
            } else {
                Claim::AgeOver { years: *years }
            };
            let call = Call::Attest(calls::Attest {
                subject: c.senders()[user(*subject)].address(),
                claim,
                expires_at_ms: c.next_ctx().time_ms + blocks * 1_000,
                commitment: Hash([1; 32]),
            });
            (if from % 5 == 4 { 2 } else { 0 }, call)
        }
        IdOp::Revoke { id } => (
            0,
            Call::RevokeAttestation(calls::RevokeAttestation { id: *id }),
        ),
        IdOp::Buy { product } => (user(from), Call::Buy(calls::Buy { product: *product })),
        IdOp::Give { entitlement, to } => {
            let owner = jeon_runtime::goods::entitlement(&c.state, *entitlement)
                .expect("read")
                .and_then(|e| c.senders().iter().position(|k| k.address() == e.owner))
                .unwrap_or(user(from));
            let call = Call::TransferEntitlement(calls::TransferEntitlement {
                entitlement: *entitlement,
                to: c.senders()[user(*to)].address(),
                price: 0,
            });
            (owner, call)
        }
    }
}

/// Whether `who` holds age over ≥ 19 at `time_ms` in `state`, from the records.
fn holds_19(state: &MemoryState, who: &Address, time_ms: TimeMs) -> bool {
    state
        .scan_prefix(&[keys::ATTESTATION], usize::MAX)
        .expect("scan")
        .iter()
        .map(|(_, v)| jeon_runtime::codec::decode::<Attestation>(v, 1 << 16).expect("record"))
        .any(|a| {
            let attester = state
                .partner(&a.attester)
                .expect("read")
                .is_some_and(|p| p.has_role(Role::Attester));
            a.subject == *who
                && a.revoked_at.is_none()
                && time_ms < a.expires_at_ms
                && attester
                && matches!(a.claim, Claim::AgeOver { years } if years >= 19)
        })
}

/// Who each transaction gave the gated item to: the owners of its issued and
/// transferred entitlements of the product.
fn gated_recipients(r: &Receipt) -> Vec<Address> {
    r.events
        .iter()
        .filter_map(|e| match e {
            Event::EntitlementIssued(i) if i.product == GATED => Some(i.owner),
            Event::EntitlementTransferred(t) if t.product == GATED => Some(t.to),
            _ => None,
        })
        .collect()
}

/// The bank becomes an attester; the shop sells product 0 (an item, transferable,
/// requiring age over 19), 1 (a bundle holding it) and 2 (an ungated item).
fn id_setup(c: &mut Consortium) {
    let bank = c.bank.address();
    let mut partner = c.state.partner(&bank).expect("read").expect("a partner");
    partner.roles.push(Role::Attester);
    amend(c, |ov| {
        ov.put(keys::partner(&bank), &partner).expect("write")
    });
    let product = |kind, price, royalty_bps| {
        Call::CreateProduct(calls::CreateProduct {
            name: "p".into(),
            kind,
            asset: KRW,
            price,
            royalty_bps,
        })
    };
    let calls = [
        product(ProductKind::Item { supply_max: None }, 100, Some(0)),
        product(ProductKind::Bundle { products: vec![0] }, 150, None),
        product(ProductKind::Item { supply_max: None }, 80, Some(0)),
        Call::RequireClaim(calls::RequireClaim {
            product: GATED,
            claim: Some(Claim::AgeOver { years: 19 }),
        }),
    ];
    for call in calls {
        let tx = c.tx(&c.shop, call);
        assert!(c.run(&[tx])[0].is_success(), "the identity set-up succeeds");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_call_that_requires_a_claim_never_succeeds_without_a_valid_attestation(
        blocks in id_blocks()
    ) {
        let mut c = Consortium::new();
        id_setup(&mut c);
        for steps in &blocks {
            let txs = sign_in_order(&c, steps, |(from, op)| id_call(&c, *from, op));
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            let receipts = c.run(&txs);
            for (asset, before) in supplies(&pre) {
                prop_assert_eq!(c.supply(asset), before, "supply of {} moved", asset);
            }
            check_each_transaction(&c, &ctx, &pre, &txs, &receipts);
            for (i, r) in receipts.iter().enumerate() {
                let recipients = gated_recipients(r);
                if recipients.is_empty() {
                    continue;
                }
                prop_assert!(r.is_success());
                let out = execute_block(&pre, &ctx, &txs[..i]).expect("memory");
                let mut before = pre.clone();
                before.apply(&out.changes);
                for who in recipients {
                    prop_assert!(holds_19(&before, &who, ctx.time_ms), "{} got the 19+ item without the claim", who);
                }
            }
        }
    }
}
