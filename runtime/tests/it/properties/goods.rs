//! Digital goods under random blocks: products defined, bought, given, offered,
//! accepted and revoked by random senders (the shop and the telco sell; the shop's
//! sales earn cashback and stamps from the set-up's reward rules). After each block:
//! supply moves only by the mints and burns the events report; every transaction
//! against the fee oracle (a failed one changes only its fee and nonce, an invalid one
//! nothing); every entitlement has exactly one owner, indexed under that owner and
//! nowhere else; no capped item is sold past its cap.

use super::*;
use jeon_runtime::goods::{self, Entitlement, Product, ProductKind};
use jeon_runtime::StateScan;

/// A goods operation with indices that [`goods_call`] resolves against the chain.
#[derive(Clone, Debug)]
pub(super) enum GoodsOp {
    Create {
        kind: u8,
        cap: u64,
        price: Amount,
        royalty: Option<u16>,
    },
    Buy {
        product: u64,
    },
    Give {
        entitlement: u64,
        to: usize,
    },
    Offer {
        entitlement: u64,
        to: usize,
        price: Amount,
    },
    Accept {
        entitlement: u64,
        price: Amount,
    },
    Revoke {
        entitlement: u64,
        refund: Amount,
    },
    Subscribe {
        product: u64,
        mandate: u64,
    },
    Renew {
        entitlement: u64,
    },
}

fn goods_op() -> impl Strategy<Value = GoodsOp> {
    let ids = 0u64..8;
    prop_oneof![
        2 => (0u8..4, 1u64..4, 0u64..2_000, prop::option::of(prop_oneof![0u16..=10_000, Just(10_001)]))
            .prop_map(|(kind, cap, price, royalty)| GoodsOp::Create { kind, cap, price, royalty }),
        4 => (0u64..6).prop_map(|product| GoodsOp::Buy { product }),
        2 => (ids.clone(), 0usize..8).prop_map(|(entitlement, to)| GoodsOp::Give { entitlement, to }),
        3 => (ids.clone(), 0usize..8, 0u64..3_000)
            .prop_map(|(entitlement, to, price)| GoodsOp::Offer { entitlement, to, price }),
        2 => (ids.clone(), prop_oneof![Just(0u64), 0u64..3_000])
            .prop_map(|(entitlement, price)| GoodsOp::Accept { entitlement, price }),
        1 => (ids.clone(), 0u64..3_000).prop_map(|(entitlement, refund)| GoodsOp::Revoke { entitlement, refund }),
        3 => (prop_oneof![4 => 4u64..6, 1 => 0u64..8], 0u64..4).prop_map(|(product, mandate)| GoodsOp::Subscribe { product, mandate }),
        3 => ids.prop_map(|entitlement| GoodsOp::Renew { entitlement }),
    ]
}

/// Blocks of (sender index into `senders()`, op).
fn goods_blocks() -> impl Strategy<Value = Vec<Vec<(usize, GoodsOp)>>> {
    prop::collection::vec(prop::collection::vec((0usize..7, goods_op()), 1..6), 1..10)
}

fn entitlement_of(st: &MemoryState, id: u64) -> Option<Entitlement> {
    goods::entitlement(st, id).expect("read")
}

/// The call, steered so that many succeed: an accept names an entitlement with an
/// open offer if there is one, and the offer's price when the op's price is 0.
fn goods_call(c: &Consortium, op: &GoodsOp) -> Call {
    match op {
        GoodsOp::Create {
            kind,
            cap,
            price,
            royalty,
        } => {
            let kind = match kind {
                0 => ProductKind::Item {
                    supply_max: Some(*cap),
                },
                1 => ProductKind::Item { supply_max: None },
                2 => ProductKind::Pass {
                    duration_ms: cap * 2_000,
                },
                _ => ProductKind::Bundle {
                    products: (0..*cap).collect(),
                },
            };
            Call::CreateProduct(calls::CreateProduct {
                name: "p".into(),
                kind,
                asset: KRW,
                price: *price,
                royalty_bps: *royalty,
            })
        }
        GoodsOp::Buy { product } => Call::Buy(calls::Buy { product: *product }),
        GoodsOp::Give { entitlement, to } => {
            Call::TransferEntitlement(calls::TransferEntitlement {
                entitlement: *entitlement,
                to: recipient(c, *to),
                price: 0,
            })
        }
        GoodsOp::Offer {
            entitlement,
            to,
            price,
        } => Call::TransferEntitlement(calls::TransferEntitlement {
            entitlement: *entitlement,
            to: recipient(c, *to),
            price: *price,
        }),
        GoodsOp::Accept { entitlement, price } => {
            let entitlement = &offered_one(&c.state, *entitlement);
            let offered = entitlement_of(&c.state, *entitlement)
                .and_then(|e| e.offer)
                .map(|o| o.price);
            Call::AcceptEntitlement(calls::AcceptEntitlement {
                entitlement: *entitlement,
                price: if *price == 0 {
                    offered.unwrap_or(1)
                } else {
                    *price
                },
            })
        }
        GoodsOp::Revoke {
            entitlement,
            refund,
        } => Call::RevokeEntitlement(calls::RevokeEntitlement {
            entitlement: *entitlement,
            refund: *refund,
        }),
        GoodsOp::Subscribe { product, mandate } => Call::Subscribe(calls::Subscribe {
            product: *product,
            mandate_id: *mandate,
        }),
        GoodsOp::Renew { entitlement } => Call::Renew(calls::Renew {
            entitlement: subscribed_one(&c.state, *entitlement),
        }),
    }
}

/// An entitlement with an open offer (the `pick`-th, cyclically), else `pick` itself.
fn offered_one(st: &MemoryState, pick: u64) -> u64 {
    pick_where(st, pick, |e| e.offer.is_some())
}

/// A subscription still renewing (the `pick`-th, cyclically), else `pick` itself.
fn subscribed_one(st: &MemoryState, pick: u64) -> u64 {
    pick_where(st, pick, |e| e.mandate.is_some())
}

fn pick_where(st: &MemoryState, pick: u64, wanted: impl Fn(&Entitlement) -> bool) -> u64 {
    let offered: Vec<u64> = st
        .scan_prefix(&[keys::ENTITLEMENT], usize::MAX)
        .expect("scan")
        .iter()
        .map(|(_, v)| jeon_runtime::codec::decode::<Entitlement>(v, 1 << 16).expect("entitlement"))
        .filter(|e| wanted(e))
        .map(|e| e.id)
        .collect();
    if offered.is_empty() {
        return pick;
    }
    offered[(pick as usize) % offered.len()]
}

/// The sender: merchants create and revoke (index 1 telco, 2 shop), an accept comes
/// from the offer's buyer when there is one; otherwise the drawn sender.
fn goods_sender(c: &Consortium, from: usize, op: &GoodsOp) -> usize {
    let senders = c.senders();
    let index_of = |a: &Address| senders.iter().position(|k| k.address() == *a);
    match op {
        GoodsOp::Create { .. } | GoodsOp::Revoke { .. } if !from.is_multiple_of(3) => 1 + from % 2,
        GoodsOp::Subscribe { mandate: id, .. } if !from.is_multiple_of(3) => mandate(&c.state, *id)
            .and_then(|m| index_of(&m.user))
            .unwrap_or(from),
        GoodsOp::Renew { entitlement } => {
            entitlement_of(&c.state, subscribed_one(&c.state, *entitlement))
                .and_then(|e| index_of(&e.merchant))
                .unwrap_or(from)
        }
        GoodsOp::Revoke { entitlement, .. } => entitlement_of(&c.state, *entitlement)
            .and_then(|e| index_of(&e.merchant))
            .unwrap_or(from),
        GoodsOp::Accept { entitlement, .. } => {
            entitlement_of(&c.state, offered_one(&c.state, *entitlement))
                .and_then(|e| e.offer)
                .and_then(|o| index_of(&o.buyer))
                .unwrap_or(from)
        }
        GoodsOp::Give { entitlement, .. } | GoodsOp::Offer { entitlement, .. } => {
            entitlement_of(&c.state, *entitlement)
                .filter(|_| !from.is_multiple_of(4))
                .and_then(|e| index_of(&e.owner))
                .unwrap_or(from)
        }
        _ => from,
    }
}

/// Every entitlement record is indexed under its owner exactly once and every index
/// entry names a record with that owner; no capped item is sold past its cap.
fn check_ownership(st: &MemoryState) {
    let records = st
        .scan_prefix(&[keys::ENTITLEMENT], usize::MAX)
        .expect("scan");
    let index = st
        .scan_prefix(&[keys::OWNER_ENTITLEMENT], usize::MAX)
        .expect("scan");
    assert_eq!(
        records.len(),
        index.len(),
        "one owner entry per entitlement"
    );
    for (k, _) in &index {
        let owner = Address(k[1..33].try_into().expect("address"));
        let id = u64::from_be_bytes(k[33..41].try_into().expect("id"));
        let e = entitlement_of(st, id).expect("an indexed entitlement exists");
        assert_eq!(
            e.owner, owner,
            "entitlement {id} indexed under another owner"
        );
    }
    for (_, v) in st.scan_prefix(&[keys::PRODUCT], usize::MAX).expect("scan") {
        let p: Product = jeon_runtime::codec::decode(&v, 1 << 16).expect("product");
        if let ProductKind::Item {
            supply_max: Some(max),
        } = p.kind
        {
            assert!(p.sold <= max, "product {} sold {} of {max}", p.id, p.sold);
        }
    }
}

/// The set-up's catalogue and first sales: the shop sells product 0 (an item, at most
/// 4, 5 % royalty), 1 (a 5-second pass, 10 % royalty) and 2 (a bundle of both); the
/// telco sells product 3 (a bound item); the shop also sells subscriptions 4 and 5.
/// Users 0-2 buy a 0, user 0 a 1, user 1 a 2 (entitlements 0 to 5) and grant the shop
/// mandates 0 to 2 (mandate ids follow the set-up's, if any, in order).
fn goods_setup(c: &mut Consortium) {
    let product = |kind, price, royalty_bps| {
        Call::CreateProduct(calls::CreateProduct {
            name: "p".into(),
            kind,
            asset: KRW,
            price,
            royalty_bps,
        })
    };
    let catalogue = [
        (
            2,
            product(
                ProductKind::Item {
                    supply_max: Some(4),
                },
                500,
                Some(500),
            ),
        ),
        (
            2,
            product(ProductKind::Pass { duration_ms: 5_000 }, 900, Some(1_000)),
        ),
        (
            2,
            product(
                ProductKind::Bundle {
                    products: vec![0, 1],
                },
                1_500,
                None,
            ),
        ),
        (
            1,
            product(ProductKind::Item { supply_max: None }, 700, None),
        ),
    ];
    let sales = [(3, 0), (4, 0), (5, 0), (3, 1), (4, 2)];
    // Users 0-2 grant the shop mandates for 3 000 per 5 s; product 4 charges 400 per
    // 2 s (renewals may outrun the mandate's limit), product 5 per 60 s.
    let grant = Call::GrantMandate(calls::GrantMandate {
        spender: c.shop.address(),
        asset: KRW,
        limit_per_period: 1_000,
        period_ms: 5_000,
        expires_at: 60,
    });
    let subscriptions = [
        (
            2,
            product(ProductKind::Subscription { period_ms: 2_000 }, 400, None),
        ),
        (
            2,
            product(ProductKind::Subscription { period_ms: 60_000 }, 700, None),
        ),
        (3, grant.clone()),
        (4, grant.clone()),
        (5, grant),
    ];
    let calls: Vec<(usize, Call)> = catalogue
        .into_iter()
        .chain(sales.map(|(who, product)| (who, Call::Buy(calls::Buy { product }))))
        .chain(subscriptions)
        .collect();
    for (who, call) in calls {
        let tx = c.tx(c.senders()[who], call);
        assert!(c.run(&[tx])[0].is_success(), "the goods set-up succeeds");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn goods_calls_conserve_supply_keep_one_owner_per_entitlement_and_fail_cleanly(
        blocks in goods_blocks()
    ) {
        let mut c = Consortium::new();
        economy_setup(&mut c);
        goods_setup(&mut c);
        for steps in &blocks {
            let txs = sign_in_order(&c, steps, |(from, op)| {
                (goods_sender(&c, *from, op), goods_call(&c, op))
            });
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            let receipts = c.run(&txs);
            let delta = minted_less_burned(&receipts);
            for (asset, before) in supplies(&pre) {
                let expected = i128::from(before) + delta.get(&asset).copied().unwrap_or(0);
                prop_assert_eq!(i128::from(c.supply(asset)), expected, "supply of {} moved", asset);
            }
            check_each_transaction(&c, &ctx, &pre, &txs, &receipts);
            check_ownership(&c.state);
        }
    }
}
