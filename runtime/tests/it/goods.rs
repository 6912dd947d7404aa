//! Digital goods, told as stories: a shop sells a ₩500 sticker pack (tax and cashback
//! as for a payment), a 30-day pass that lapses, a bundle; a transferable pack is given
//! (royalty on the list price) and resold (royalty on the price); a bound pass cannot
//! move; a merchant revokes only with a refund; a failed call changes nothing.
//!
//! Test chain: the block at height `h` has time `1_700_000_000_000 + h * 1000` ms.

use crate::support::*;
use jeon_runtime::economy::rewards::RewardKind;
use jeon_runtime::goods::{self, Entitlement, Product, ProductKind};
use jeon_runtime::{calls, events};
use jeon_runtime::{Address, Amount, Call, CallError, Event, Keypair, Outcome, Receipt};

const PACK_PRICE: Amount = 500;
const PASS_PRICE: Amount = 3_300;
const DAY_MS: u64 = 86_400_000;

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

fn create(name: &str, kind: ProductKind, price: Amount, royalty_bps: Option<u16>) -> Call {
    Call::CreateProduct(calls::CreateProduct {
        name: name.into(),
        kind,
        asset: KRW,
        price,
        royalty_bps,
    })
}

fn buy(product: u64) -> Call {
    Call::Buy(calls::Buy { product })
}

fn give(entitlement: u64, to: Address) -> Call {
    Call::TransferEntitlement(calls::TransferEntitlement {
        entitlement,
        to,
        price: 0,
    })
}

/// The shop sells product 0, a sticker pack (₩500, at most 2, 5 % royalty), product 1,
/// a 30-day bound pass (₩3,300), and product 2, a bundle of both (₩3,501).
fn shop_with_products() -> Consortium {
    let mut c = Consortium::new();
    let shop = Keypair::from_seed_label("shop");
    let pack = create(
        "Sticker pack",
        ProductKind::Item {
            supply_max: Some(2),
        },
        PACK_PRICE,
        Some(500),
    );
    let pass = create(
        "30-day pass",
        ProductKind::Pass {
            duration_ms: 30 * DAY_MS,
        },
        PASS_PRICE,
        None,
    );
    let bundle = create(
        "Starter bundle",
        ProductKind::Bundle {
            products: vec![0, 1],
        },
        3_501,
        None,
    );
    for call in [pack, pass, bundle] {
        ok(&run_one(&mut c, &shop, call));
    }
    c
}

fn entitlement(c: &Consortium, id: u64) -> Option<Entitlement> {
    goods::entitlement(&c.state, id).expect("read")
}

fn product(c: &Consortium, id: u64) -> Product {
    goods::product(&c.state, id).expect("read").expect("exists")
}

#[test]
fn buying_a_500_won_sticker_pack_pays_the_shop_450_and_the_tax_authority_50() {
    let mut c = shop_with_products();
    let (user, shop) = (c.users[0].address(), c.shop.address());
    let (user_before, shop_before) = (c.balance(&user, KRW), c.balance(&shop, KRW));
    let key = Keypair::from_seed_label("user-0");
    let r = run_one(&mut c, &key, buy(0));
    ok(&r);
    assert_eq!(c.balance(&user, KRW), user_before - PACK_PRICE - FEE);
    assert_eq!(c.balance(&shop, KRW), shop_before + 450);
    assert!(r.events.contains(&Event::Paid(events::Paid {
        payer: user,
        merchant: shop,
        asset: KRW,
        amount: PACK_PRICE,
        tax: 50,
        reference: "product 0".into(),
    })));
    assert!(r
        .events
        .contains(&Event::EntitlementIssued(events::EntitlementIssued {
            id: 0,
            product: 0,
            owner: user,
            merchant: shop,
            expires_at_ms: None,
        })));
    let e = entitlement(&c, 0).expect("issued");
    assert_eq!((e.owner, e.paid, e.expires_at_ms), (user, PACK_PRICE, None));
    assert_eq!(product(&c, 0).sold, 1);
}

#[test]
fn a_cashback_rule_at_the_shop_pays_out_on_a_purchase_as_on_a_payment() {
    let mut c = shop_with_products();
    let telco = Keypair::from_seed_label("telco");
    let rule = Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![c.shop.address()],
        pay_asset: KRW,
        kind: RewardKind::Cashback {
            rate_bps: 1_000,
            asset: PTS,
        },
        cap_per_user_per_period: 1_000,
        period_ms: DAY_MS,
    });
    ok(&run_one(&mut c, &telco, rule));
    let user = c.users[0].address();
    let pts_before = c.balance(&user, PTS);
    let key = Keypair::from_seed_label("user-0");
    let r = run_one(&mut c, &key, buy(0));
    ok(&r);
    // 10 % of ₩500.
    assert_eq!(c.balance(&user, PTS), pts_before + 50);
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::RewardGranted(g) if g.amount == 50)));
}

#[test]
fn a_30_day_pass_is_valid_until_30_days_after_the_purchase_block() {
    let mut c = shop_with_products();
    let key = Keypair::from_seed_label("user-0");
    let time_ms = c.next_ctx().time_ms;
    ok(&run_one(&mut c, &key, buy(1)));
    let e = entitlement(&c, 0).expect("issued");
    let expiry = time_ms + 30 * DAY_MS;
    assert_eq!(e.expires_at_ms, Some(expiry));
    assert!(e.is_valid(expiry - 1));
    assert!(!e.is_valid(expiry));
    let listed = goods::entitlements_of(&c.state, &key.address(), expiry).expect("read");
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].valid);
}

#[test]
fn a_bundle_issues_one_entitlement_per_product_and_counts_against_the_item_cap() {
    let mut c = shop_with_products();
    let key = Keypair::from_seed_label("user-0");
    let r = run_one(&mut c, &key, buy(2));
    ok(&r);
    let (pack, pass) = (
        entitlement(&c, 0).expect("pack"),
        entitlement(&c, 1).expect("pass"),
    );
    assert_eq!((pack.product, pack.bundle), (0, Some(2)));
    assert_eq!((pass.product, pass.bundle), (1, Some(2)));
    // ₩3,501 split in two: the remainder on the first.
    assert_eq!((pack.paid, pass.paid), (1_751, 1_750));
    assert_eq!(product(&c, 0).sold, 1);
    assert_eq!(product(&c, 2).sold, 1);
    // One pack left under the cap of 2: the next bundle takes it, the one after fails.
    ok(&run_one(&mut c, &key, buy(0)));
    let err = failure(&run_one(&mut c, &key, buy(2)));
    assert_eq!(
        err,
        CallError::SoldOut {
            id: 0,
            supply_max: 2
        }
    );
}

#[test]
fn giving_a_sticker_pack_moves_it_and_pays_the_shop_a_5_percent_royalty_on_the_list_price() {
    let mut c = shop_with_products();
    let (alice, bob) = (Keypair::from_seed_label("user-0"), c.users[1].address());
    ok(&run_one(&mut c, &alice, buy(0)));
    let shop_before = c.balance(&c.shop.address(), KRW);
    let r = run_one(&mut c, &alice, give(0, bob));
    ok(&r);
    // 5 % of ₩500 = 25, of which 10 % tax (2).
    assert_eq!(c.balance(&c.shop.address(), KRW), shop_before + 23);
    assert!(r.events.contains(&Event::EntitlementTransferred(
        events::EntitlementTransferred {
            id: 0,
            product: 0,
            from: alice.address(),
            to: bob,
            price: 0,
            royalty: 25,
            merchant: c.shop.address(),
        }
    )));
    assert_eq!(entitlement(&c, 0).expect("held").owner, bob);
    assert!(goods::entitlements_of(&c.state, &alice.address(), 0)
        .expect("read")
        .is_empty());
    assert_eq!(
        goods::entitlements_of(&c.state, &bob, 0)
            .expect("read")
            .len(),
        1
    );
}

#[test]
fn a_resale_pays_the_royalty_on_the_price_to_the_shop_and_the_rest_to_the_seller() {
    let mut c = shop_with_products();
    let (alice, bob) = (
        Keypair::from_seed_label("user-0"),
        Keypair::from_seed_label("user-1"),
    );
    ok(&run_one(&mut c, &alice, buy(0)));
    let offer = Call::TransferEntitlement(calls::TransferEntitlement {
        entitlement: 0,
        to: bob.address(),
        price: 1_000,
    });
    ok(&run_one(&mut c, &alice, offer));
    // An offer moves nothing yet; a different price is not accepted.
    assert_eq!(entitlement(&c, 0).expect("held").owner, alice.address());
    let wrong = Call::AcceptEntitlement(calls::AcceptEntitlement {
        entitlement: 0,
        price: 900,
    });
    assert!(matches!(
        failure(&run_one(&mut c, &bob, wrong)),
        CallError::NoSuchOffer { id: 0, .. }
    ));
    let (alice_before, shop_before) = (
        c.balance(&alice.address(), KRW),
        c.balance(&c.shop.address(), KRW),
    );
    let accept = Call::AcceptEntitlement(calls::AcceptEntitlement {
        entitlement: 0,
        price: 1_000,
    });
    ok(&run_one(&mut c, &bob, accept));
    // Royalty 5 % of 1,000 = 50 (45 to the shop after 10 % tax); 950 to alice.
    assert_eq!(c.balance(&alice.address(), KRW), alice_before + 950);
    assert_eq!(c.balance(&c.shop.address(), KRW), shop_before + 45);
    let e = entitlement(&c, 0).expect("held");
    assert_eq!((e.owner, e.paid, e.offer), (bob.address(), 1_000, None));
}

#[test]
fn a_bound_pass_cannot_be_given() {
    let mut c = shop_with_products();
    let alice = Keypair::from_seed_label("user-0");
    ok(&run_one(&mut c, &alice, buy(1)));
    let bob = c.users[1].address();
    let err = failure(&run_one(&mut c, &alice, give(0, bob)));
    assert_eq!(err, CallError::NotTransferable { product: 1 });
}

#[test]
fn only_the_owner_gives_and_only_the_merchant_revokes() {
    let mut c = shop_with_products();
    let (alice, bob) = (
        Keypair::from_seed_label("user-0"),
        Keypair::from_seed_label("user-1"),
    );
    ok(&run_one(&mut c, &alice, buy(0)));
    let err = failure(&run_one(&mut c, &bob, give(0, bob.address())));
    assert_eq!(
        err,
        CallError::NotEntitlementOwner {
            id: 0,
            owner: alice.address()
        }
    );
    let revoke = Call::RevokeEntitlement(calls::RevokeEntitlement {
        entitlement: 0,
        refund: PACK_PRICE,
    });
    let telco = Keypair::from_seed_label("telco");
    assert!(matches!(
        failure(&run_one(&mut c, &telco, revoke)),
        CallError::NotProductMerchant { product: 0, .. }
    ));
}

#[test]
fn a_revocation_refunds_at_least_what_was_paid_in_the_same_transaction() {
    let mut c = shop_with_products();
    let alice = Keypair::from_seed_label("user-0");
    ok(&run_one(&mut c, &alice, buy(0)));
    let shop = Keypair::from_seed_label("shop");
    let short = Call::RevokeEntitlement(calls::RevokeEntitlement {
        entitlement: 0,
        refund: PACK_PRICE - 1,
    });
    assert_eq!(
        failure(&run_one(&mut c, &shop, short)),
        CallError::RefundTooSmall {
            id: 0,
            paid: PACK_PRICE,
            refund: PACK_PRICE - 1
        }
    );
    assert!(entitlement(&c, 0).is_some());
    let alice_before = c.balance(&alice.address(), KRW);
    let revoke = Call::RevokeEntitlement(calls::RevokeEntitlement {
        entitlement: 0,
        refund: PACK_PRICE,
    });
    let r = run_one(&mut c, &shop, revoke);
    ok(&r);
    assert_eq!(c.balance(&alice.address(), KRW), alice_before + PACK_PRICE);
    assert_eq!(entitlement(&c, 0), None);
    assert!(goods::entitlements_of(&c.state, &alice.address(), 0)
        .expect("read")
        .is_empty());
}

#[test]
fn only_a_merchant_defines_products_and_bad_definitions_are_refused() {
    let mut c = Consortium::new();
    let (user, shop) = (
        Keypair::from_seed_label("user-0"),
        Keypair::from_seed_label("shop"),
    );
    let item = ProductKind::Item { supply_max: None };
    assert!(matches!(
        failure(&run_one(&mut c, &user, create("x", item.clone(), 1, None))),
        CallError::NotAMerchant { .. }
    ));
    let cases = [
        create("x", item.clone(), 1, Some(10_001)),
        create("x", ProductKind::Pass { duration_ms: 0 }, 1, None),
        create("x", ProductKind::Bundle { products: vec![] }, 1, None),
        create("x", ProductKind::Bundle { products: vec![7] }, 1, None),
    ];
    for call in cases {
        let err = failure(&run_one(&mut c, &shop, call));
        assert!(
            matches!(
                err,
                CallError::InvalidProduct { .. } | CallError::UnknownProduct { id: 7 }
            ),
            "{err:?}"
        );
    }
    assert_eq!(
        failure(&run_one(&mut c, &shop, create("x", item, 0, None))),
        CallError::ZeroAmount
    );
    assert!(goods::products_of(&c.state, &shop.address())
        .expect("read")
        .is_empty());
}

#[test]
fn a_failed_purchase_changes_only_the_fee_and_the_nonce() {
    let mut c = shop_with_products();
    // The last user holds no KRW: it cannot even pay the fee, so use a poor one instead:
    // user 2 spends almost everything first.
    let poor = Keypair::from_seed_label("user-2");
    let spend = USER_KRW - FEE * 2 - 100;
    let to = transfer(&c.users[0].address(), KRW, spend);
    ok(&run_one(&mut c, &poor, to));
    let before = c.state.clone();
    let r = run_one(&mut c, &poor, buy(0));
    assert!(matches!(failure(&r), CallError::InsufficientBalance { .. }));
    let changes = diff(&without_history(&before), &without_history(&c.state));
    let keys: Vec<u8> = changes.keys().map(|k| k[0]).collect();
    // Nonce (0x01), the sender's and collector's balances (0x02), the volume (0x28).
    assert!(
        keys.iter().all(|k| [0x01, 0x02, 0x28].contains(k)),
        "a failed purchase wrote {keys:x?}"
    );
    assert_eq!(entitlement(&c, 0), None);
    assert_eq!(product(&c, 0).sold, 0);
}

// ---- Subscriptions ----

/// The shop's product 3: a 10-second subscription at 300 a period; user 0 granted the
/// shop mandate 0 (300 per 10 s) and subscribed: entitlement 0.
fn subscribed() -> Consortium {
    let mut c = shop_with_products();
    let shop = Keypair::from_seed_label("shop");
    let alice = Keypair::from_seed_label("user-0");
    let sub = create(
        "Premium",
        ProductKind::Subscription { period_ms: 10_000 },
        300,
        None,
    );
    ok(&run_one(&mut c, &shop, sub));
    let grant = Call::GrantMandate(calls::GrantMandate {
        spender: shop.address(),
        asset: KRW,
        limit_per_period: 300,
        period_ms: 10_000,
        expires_at: 1_000,
    });
    ok(&run_one(&mut c, &alice, grant));
    let subscribe = Call::Subscribe(calls::Subscribe {
        product: 3,
        mandate_id: 0,
    });
    let r = run_one(&mut c, &alice, subscribe);
    ok(&r);
    assert!(r
        .events
        .iter()
        .any(|e| matches!(e, Event::MandateCharged(m) if m.amount == 300)));
    c
}

fn renew() -> Call {
    Call::Renew(calls::Renew { entitlement: 0 })
}

/// Runs empty blocks until the next block's time is at least `time_ms`.
fn wait_until(c: &mut Consortium, time_ms: u64) {
    while c.next_ctx().time_ms < time_ms {
        c.run(&[]);
    }
}

#[test]
fn a_subscription_renews_twice_through_its_mandate_and_lapses_when_the_mandate_is_revoked() {
    let mut c = subscribed();
    let shop = Keypair::from_seed_label("shop");
    let alice = Keypair::from_seed_label("user-0");
    let first = entitlement(&c, 0).expect("issued");
    assert_eq!(first.mandate, Some(0));
    let mut expiry = first.expires_at_ms.expect("a subscription expires");
    // Too early: more than a tenth of the period before the expiry.
    assert!(matches!(
        failure(&run_one(&mut c, &shop, renew())),
        CallError::RenewTooEarly { id: 0, .. }
    ));
    for _ in 0..2 {
        wait_until(&mut c, expiry - 1_000);
        let before = c.balance(&alice.address(), KRW);
        let r = run_one(&mut c, &shop, renew());
        ok(&r);
        expiry += 10_000;
        assert!(r
            .events
            .contains(&Event::SubscriptionRenewed(events::SubscriptionRenewed {
                id: 0,
                product: 3,
                owner: alice.address(),
                merchant: shop.address(),
                mandate: 0,
                expires_at_ms: expiry,
            })));
        assert_eq!(c.balance(&alice.address(), KRW), before - 300);
    }
    let revoke = Call::RevokeMandate(calls::RevokeMandate { mandate_id: 0 });
    ok(&run_one(&mut c, &alice, revoke));
    wait_until(&mut c, expiry - 1_000);
    let before = c.balance(&alice.address(), KRW);
    let r = run_one(&mut c, &shop, renew());
    ok(&r);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::SubscriptionLapsed(l) if matches!(l.error, CallError::MandateRevoked { id: 0, .. })
    )));
    assert_eq!(c.balance(&alice.address(), KRW), before, "nothing charged");
    let lapsed = entitlement(&c, 0).expect("kept until it expires");
    assert_eq!((lapsed.mandate, lapsed.expires_at_ms), (None, Some(expiry)));
    assert_eq!(
        failure(&run_one(&mut c, &shop, renew())),
        CallError::SubscriptionEnded { id: 0 }
    );
}

#[test]
fn a_subscription_is_bought_only_with_the_subscribers_own_mandate_to_its_merchant() {
    let mut c = subscribed();
    let bob = Keypair::from_seed_label("user-1");
    // Mandate 0 is alice's, not bob's.
    let theirs = Call::Subscribe(calls::Subscribe {
        product: 3,
        mandate_id: 0,
    });
    assert_eq!(
        failure(&run_one(&mut c, &bob, theirs)),
        CallError::MandateNotForProduct {
            mandate: 0,
            product: 3
        }
    );
    assert_eq!(
        failure(&run_one(&mut c, &bob, buy(3))),
        CallError::SubscriptionProduct { product: 3 }
    );
    let shop = Keypair::from_seed_label("shop");
    let transferable = create(
        "x",
        ProductKind::Subscription { period_ms: 1_000 },
        1,
        Some(100),
    );
    assert!(matches!(
        failure(&run_one(&mut c, &shop, transferable)),
        CallError::InvalidProduct { .. }
    ));
}
