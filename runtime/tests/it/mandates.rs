//! Mandates and payment links, told as stories: a ₩9,900-a-period subscription the
//! user consents to once, a tutor charging per lesson, a cafe's signed payment link
//! paid once, and links that were altered, replayed or left to expire.
//!
//! Test chain: the block at height `h` has time `1_700_000_000_000 + h * 1000` ms, so
//! with a 10-second period heights 1-9 share a period and height 10 starts the next.

use crate::support::*;
use jeon_runtime::economy::mandate::{mandates_of, Mandate, MandateStatus};
use jeon_runtime::invoice::Invoice;
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Address, Amount, Call, CallError, Event, Height, Keypair, Outcome, Receipt, Signature,
};
use proptest::prelude::*;

/// A 10-second period: ten blocks of the test chain.
const PERIOD_MS: u64 = 10_000;
/// The subscription's limit per period.
const LIMIT: Amount = 9_900;

fn grant(spender: &Address, expires_at: Height) -> Call {
    Call::GrantMandate(calls::GrantMandate {
        spender: *spender,
        asset: KRW,
        limit_per_period: LIMIT,
        period_ms: PERIOD_MS,
        expires_at,
    })
}

fn charge(mandate_id: u64, amount: Amount) -> Call {
    Call::Charge(calls::Charge {
        mandate_id,
        amount,
        reference: "lesson".into(),
    })
}

fn failure(r: &Receipt) -> CallError {
    match &r.outcome {
        Outcome::Failed(e) => e.clone(),
        other => panic!("expected a failed call, got {other:?}"),
    }
}

fn ok(r: &Receipt) {
    assert!(r.is_success(), "expected success, got {:?}", r.outcome);
}

/// A chain where user 0 granted the bank (not a merchant) mandate 0, expiring at
/// `expires_at`; the grant is block 1.
fn subscribed(expires_at: Height) -> Consortium {
    let mut c = Consortium::new();
    let tx = c.tx(&c.users[0], grant(&c.bank.address(), expires_at));
    let r = c.run(&[tx]);
    ok(&r[0]);
    assert!(r[0]
        .events
        .contains(&Event::MandateGranted(events::MandateGranted {
            id: 0,
            user: c.users[0].address(),
            spender: c.bank.address(),
            asset: KRW,
            limit_per_period: LIMIT,
            period_ms: PERIOD_MS,
            expires_at,
        })));
    c
}

fn run_one(c: &mut Consortium, key_of: impl Fn(&Consortium) -> &Keypair, call: Call) -> Receipt {
    let tx = c.tx(key_of(c), call);
    c.run(&[tx]).remove(0)
}

#[test]
fn a_charge_within_the_limit_moves_the_amount_from_the_user_to_the_spender() {
    let mut c = subscribed(100);
    let (user, bank) = (c.users[0].address(), c.bank.address());
    let (user_before, bank_before) = (c.balance(&user, KRW), c.balance(&bank, KRW));
    let r = run_one(&mut c, |c| &c.bank, charge(0, 6_000));
    ok(&r);
    assert_eq!(c.balance(&user, KRW), user_before - 6_000);
    assert_eq!(c.balance(&bank, KRW), bank_before + 6_000 - FEE);
    assert!(r
        .events
        .contains(&Event::MandateCharged(events::MandateCharged {
            id: 0,
            user,
            spender: bank,
            asset: KRW,
            amount: 6_000,
            used_in_period: 6_000,
            reference: "lesson".into(),
        })));
}

#[test]
fn a_charge_by_a_merchant_spender_is_a_payment_with_tax_withheld() {
    let mut c = Consortium::new();
    let shop = c.shop.address();
    let r = run_one(&mut c, |c| &c.users[1], grant(&shop, 100));
    ok(&r);
    let shop_before = c.balance(&shop, KRW);
    let r = run_one(&mut c, |c| &c.shop, charge(0, 9_900));
    ok(&r);
    // 10 % of 9 900 is withheld for the KR tax authority.
    assert_eq!(c.balance(&c.tax_authority, KRW), 990);
    assert_eq!(c.balance(&shop, KRW), shop_before + 9_900 - 990 - FEE);
    assert!(r.events.iter().any(|e| matches!(
        e,
        Event::Paid(events::Paid {
            amount: 9_900,
            tax: 990,
            ..
        })
    )));
}

#[test]
fn a_charge_over_the_period_remaining_limit_is_refused_and_the_rest_still_fits() {
    let mut c = subscribed(100);
    ok(&run_one(&mut c, |c| &c.bank, charge(0, 6_000)));
    let r = run_one(&mut c, |c| &c.bank, charge(0, 4_000));
    assert_eq!(
        failure(&r),
        CallError::MandateLimitExceeded {
            id: 0,
            limit: LIMIT,
            used: 6_000,
            amount: 4_000
        }
    );
    ok(&run_one(&mut c, |c| &c.bank, charge(0, 3_900)));
    let r = run_one(&mut c, |c| &c.bank, charge(0, 1));
    assert!(matches!(
        failure(&r),
        CallError::MandateLimitExceeded { used: 9_900, .. }
    ));
}

#[test]
fn the_limit_resets_in_the_next_period() {
    let mut c = subscribed(100);
    ok(&run_one(&mut c, |c| &c.bank, charge(0, LIMIT))); // height 2
    while c.height < 9 {
        c.run(&[]);
    }
    let r = run_one(&mut c, |c| &c.bank, charge(0, 1)); // height 10: a new period
    ok(&r);
    ok(&run_one(&mut c, |c| &c.bank, charge(0, LIMIT - 1)));
    let r = run_one(&mut c, |c| &c.bank, charge(0, 1));
    assert!(matches!(
        failure(&r),
        CallError::MandateLimitExceeded { .. }
    ));
}

#[test]
fn a_revocation_lets_charges_in_its_own_block_pass_and_refuses_them_from_the_next() {
    let mut c = subscribed(100);
    let revoke = c.tx(
        &c.users[0],
        Call::RevokeMandate(calls::RevokeMandate { mandate_id: 0 }),
    );
    let same_block = c.tx(&c.bank, charge(0, 100));
    let r = c.run(&[revoke, same_block]); // height 2
    ok(&r[0]);
    ok(&r[1]);
    let r = run_one(&mut c, |c| &c.bank, charge(0, 100));
    assert_eq!(
        failure(&r),
        CallError::MandateRevoked {
            id: 0,
            revoked_at: 2
        }
    );
    let again = run_one(
        &mut c,
        |c| &c.users[0],
        Call::RevokeMandate(calls::RevokeMandate { mandate_id: 0 }),
    );
    assert!(matches!(failure(&again), CallError::MandateRevoked { .. }));
}

#[test]
fn a_charge_after_the_expiry_height_is_refused() {
    let mut c = subscribed(3);
    ok(&run_one(&mut c, |c| &c.bank, charge(0, 100))); // height 2
    ok(&run_one(&mut c, |c| &c.bank, charge(0, 100))); // height 3: the last valid one
    let r = run_one(&mut c, |c| &c.bank, charge(0, 100)); // height 4
    assert_eq!(
        failure(&r),
        CallError::MandateExpired {
            id: 0,
            expires_at: 3,
            height: 4
        }
    );
}

#[test]
fn a_spender_cannot_charge_another_spenders_mandate_nor_revoke_it() {
    let mut c = subscribed(100);
    let telco = c.telco.address();
    ok(&run_one(&mut c, |c| &c.users[0], grant(&telco, 100))); // mandate 1
    let r = run_one(&mut c, |c| &c.telco, charge(0, 100));
    assert_eq!(
        failure(&r),
        CallError::NotMandateSpender {
            id: 0,
            spender: c.bank.address()
        }
    );
    let r = run_one(&mut c, |c| &c.users[0], charge(0, 100));
    assert!(matches!(failure(&r), CallError::NotMandateSpender { .. }));
    let r = run_one(
        &mut c,
        |c| &c.bank,
        Call::RevokeMandate(calls::RevokeMandate { mandate_id: 0 }),
    );
    assert!(matches!(failure(&r), CallError::NotMandateUser { .. }));
    let r = run_one(&mut c, |c| &c.bank, charge(7, 100));
    assert_eq!(failure(&r), CallError::UnknownMandate { id: 7 });
    ok(&run_one(&mut c, |c| &c.telco, charge(1, 100)));
}

#[test]
fn a_user_lists_its_mandates_with_what_each_still_allows() {
    let mut c = subscribed(100);
    let telco = c.telco.address();
    ok(&run_one(&mut c, |c| &c.users[0], grant(&telco, 100)));
    ok(&run_one(&mut c, |c| &c.bank, charge(0, 2_500)));
    ok(&run_one(
        &mut c,
        |c| &c.users[0],
        Call::RevokeMandate(calls::RevokeMandate { mandate_id: 1 }),
    ));
    let next = ctx(c.height + 1);
    let listed =
        mandates_of(&c.state, &c.users[0].address(), next.height, next.time_ms).expect("memory");
    let summary: Vec<(u64, bool, Amount)> = listed
        .iter()
        .map(
            |MandateStatus {
                 mandate,
                 active,
                 remaining,
             }| (mandate.id, *active, *remaining),
        )
        .collect();
    assert_eq!(summary, vec![(0, true, LIMIT - 2_500), (1, false, 0)]);
    let later = ctx(20);
    let m: &Mandate = &mandates_of(&c.state, &c.users[0].address(), later.height, later.time_ms)
        .expect("memory")[0]
        .mandate;
    assert_eq!(
        m.remaining(later.time_ms),
        LIMIT,
        "a new period restores the limit"
    );
}

#[test]
fn a_grant_to_oneself_or_with_a_zero_limit_or_period_is_refused() {
    let mut c = Consortium::new();
    let me = c.users[0].address();
    let bank = c.bank.address();
    let r = run_one(&mut c, |c| &c.users[0], grant(&me, 100));
    assert_eq!(failure(&r), CallError::SelfMandate);
    let zero_period = Call::GrantMandate(calls::GrantMandate {
        spender: bank,
        asset: KRW,
        limit_per_period: 1,
        period_ms: 0,
        expires_at: 100,
    });
    let r = run_one(&mut c, |c| &c.users[0], zero_period);
    assert_eq!(failure(&r), CallError::ZeroPeriod);
}

// ---- Payment links ----

/// The shop's invoice 42 for ₩500 (50 000 units at 2 decimals; the test KRW has 0).
fn invoice(c: &Consortium, expires_at: Height) -> Invoice {
    Invoice {
        merchant: c.shop.address(),
        asset: KRW,
        amount: 50_000,
        expires_at,
        invoice_id: 42,
        memo: Some(b"order 42, table 4".to_vec()),
    }
}

fn pay(invoice: Invoice, signature: Signature) -> Call {
    Call::PayInvoice(calls::PayInvoice { invoice, signature })
}

#[test]
fn a_payment_link_is_paid_once_with_tax_and_a_second_payment_is_refused() {
    let mut c = Consortium::new();
    let inv = invoice(&c, 100);
    let sig = inv.sign(&c.shop, &CHAIN);
    let (link_invoice, link_sig) = Invoice::from_uri(&inv.to_uri(&sig)).expect("our own link");
    let (payer, shop) = (c.users[0].address(), c.shop.address());
    let (payer_before, shop_before) = (c.balance(&payer, KRW), c.balance(&shop, KRW));
    let r = run_one(&mut c, |c| &c.users[0], pay(link_invoice, link_sig));
    ok(&r);
    assert_eq!(c.balance(&payer, KRW), payer_before - 50_000 - FEE);
    assert_eq!(c.balance(&shop, KRW), shop_before + 45_000);
    assert!(r.events.contains(&Event::InvoicePaid(events::InvoicePaid {
        payer,
        merchant: shop,
        asset: KRW,
        amount: 50_000,
        invoice_id: 42,
    })));
    let r = run_one(&mut c, |c| &c.users[1], pay(inv.clone(), sig));
    assert_eq!(
        failure(&r),
        CallError::InvoiceAlreadyPaid {
            merchant: shop,
            invoice_id: 42,
            paid_at: 1
        }
    );
    let r = run_one(&mut c, |c| &c.users[0], pay(inv, sig));
    assert!(matches!(failure(&r), CallError::InvoiceAlreadyPaid { .. }));
}

#[test]
fn an_expired_payment_link_is_refused() {
    let mut c = Consortium::new();
    c.run(&[]);
    c.run(&[]);
    let inv = invoice(&c, 2);
    let sig = inv.sign(&c.shop, &CHAIN);
    let r = run_one(&mut c, |c| &c.users[0], pay(inv, sig)); // height 3
    assert_eq!(
        failure(&r),
        CallError::InvoiceExpired {
            invoice_id: 42,
            expires_at: 2,
            height: 3
        }
    );
}

#[test]
fn a_link_with_a_tampered_amount_fails_verification_and_moves_nothing() {
    let mut c = Consortium::new();
    let inv = invoice(&c, 100);
    let sig = inv.sign(&c.shop, &CHAIN);
    let mut cheaper = inv.clone();
    cheaper.amount = 1;
    let payer = c.users[0].address();
    let before = c.balance(&payer, KRW);
    let r = run_one(&mut c, |c| &c.users[0], pay(cheaper.clone(), sig));
    let bad = CallError::BadInvoiceSignature {
        merchant: c.shop.address(),
        invoice_id: 42,
    };
    assert_eq!(failure(&r), bad);
    assert_eq!(c.balance(&payer, KRW), before - FEE);
    // The same tampering done on the link's text.
    let uri = inv.to_uri(&sig);
    let altered = uri.replace(
        &hex::encode(jeon_runtime::codec::encode(&inv)),
        &hex::encode(jeon_runtime::codec::encode(&cheaper)),
    );
    assert_ne!(altered, uri);
    let (read, read_sig) = Invoice::from_uri(&altered).expect("still well formed");
    let r = run_one(&mut c, |c| &c.users[0], pay(read, read_sig));
    assert_eq!(failure(&r), bad);
    // A link signed by someone else in the merchant's name fails the same way.
    let forged = inv.sign(&c.users[1], &CHAIN);
    let r = run_one(&mut c, |c| &c.users[0], pay(inv, forged));
    assert_eq!(failure(&r), bad);
}

#[test]
fn a_memo_longer_than_256_bytes_is_refused() {
    let mut c = Consortium::new();
    let mut inv = invoice(&c, 100);
    inv.memo = Some(vec![7; 257]);
    let sig = inv.sign(&c.shop, &CHAIN);
    let r = run_one(&mut c, |c| &c.users[0], pay(inv, sig));
    assert_eq!(failure(&r), CallError::TextTooLong { len: 257, max: 256 });
}

// ---- Property: no sequence of charges exceeds the limit within a period ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn no_sequence_of_charges_lets_a_spender_exceed_the_limit_in_a_period(
        steps in prop::collection::vec((1..=6_000u64, 0..4u64, 1..=3usize), 1..24)
    ) {
        let mut c = subscribed(1_000);
        // period index -> units the user lost to the spender in that period.
        let mut charged: std::collections::BTreeMap<u64, Amount> = Default::default();
        for (amount, skip, per_block) in steps {
            for _ in 0..skip {
                c.run(&[]);
            }
            let nonce = nonce_of(&c, &c.bank);
            let txs: Vec<_> = (0..per_block as u64)
                .map(|i| verified(sign(&c.bank, nonce + i, charge(0, amount))))
                .collect();
            let height = c.height + 1;
            let receipts = c.run(&txs);
            let period = ctx(height).time_ms / PERIOD_MS;
            for r in &receipts {
                for e in &r.events {
                    if let Event::MandateCharged(events::MandateCharged { amount, .. }) = e {
                        *charged.entry(period).or_default() += amount;
                    }
                }
            }
        }
        for (period, total) in charged {
            prop_assert!(total <= LIMIT, "period {period}: charged {total} > {LIMIT}");
        }
    }
}

/// The sender's next nonce in the committed state.
fn nonce_of(c: &Consortium, key: &Keypair) -> u64 {
    use jeon_runtime::StateExt;
    c.state.nonce(&key.address()).expect("nonce")
}
