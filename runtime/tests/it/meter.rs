//! Metered sessions, told as stories: a user opens a ₩50-a-minute lesson session with a
//! ₩100 budget; the shop settles 60 minutes with the last receipt alone (tax as for a
//! payment), a stale or forged receipt is refused, the budget caps what is paid, and
//! the rest returns to the user when either side closes.
//!
//! Test chain: the block at height `h` has time `1_700_000_000_000 + h * 1000` ms; every
//! block's invariants include the escrow holding exactly the open sessions' unspent
//! budgets (`support::check_escrow`).

use crate::support::*;
use jeon_runtime::goods::{self, MeterReceipt, MeterSession};
use jeon_runtime::{calls, events};
use jeon_runtime::{Amount, Call, CallError, Event, Keypair, Outcome, Receipt};

/// ₩50 a lesson minute, in units of a 0-decimal test KRW.
const MINUTE: Amount = 50;
const BUDGET: Amount = 5_000;
/// The user may close alone 10 s (10 blocks) after the opening.
const DURATION_MS: u64 = 10_000;

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

fn alice() -> Keypair {
    Keypair::from_seed_label("user-0")
}

fn shop() -> Keypair {
    Keypair::from_seed_label("shop")
}

/// The call claiming `units` of `session` with a receipt signed by `signer`.
fn claim(signer: &Keypair, session: u64, units: u64, close: bool) -> Call {
    let signature = MeterReceipt { session, units }.sign(signer, &CHAIN);
    Call::ClaimMeter(calls::ClaimMeter {
        session,
        units,
        signature,
        close,
    })
}

fn close(session: u64) -> Call {
    Call::CloseMeter(calls::CloseMeter { session })
}

fn session(c: &Consortium, id: u64) -> MeterSession {
    goods::meter::meter(&c.state, id)
        .expect("read")
        .expect("exists")
}

/// Alice opened session 0 with the shop: ₩50 a minute, ₩5,000 budget.
fn opened() -> Consortium {
    let mut c = Consortium::new();
    let open = Call::OpenMeter(calls::OpenMeter {
        merchant: c.shop.address(),
        asset: KRW,
        unit_price: MINUTE,
        budget: BUDGET,
        duration_ms: DURATION_MS,
    });
    let r = run_one(&mut c, &alice(), open);
    ok(&r);
    assert!(r.events.contains(&Event::MeterOpened(events::MeterOpened {
        id: 0,
        user: alice().address(),
        merchant: c.shop.address(),
        asset: KRW,
        unit_price: MINUTE,
        budget: BUDGET,
        expires_at_ms: 1_700_000_000_000 + 1_000 + DURATION_MS,
    })));
    c
}

#[test]
fn opening_a_session_moves_the_budget_into_escrow() {
    let c = opened();
    let a = alice().address();
    assert_eq!(c.balance(&a, KRW), USER_KRW - BUDGET - FEE);
    assert_eq!(
        c.balance(&jeon_runtime::economy::ESCROW_ACCOUNT, KRW),
        BUDGET
    );
    let s = session(&c, 0);
    assert_eq!((s.units, s.paid, s.closed_at), (0, 0, None));
    let listed = goods::meter::meters_of(&c.state, &c.shop.address()).expect("read");
    assert_eq!(listed, vec![s.clone()]);
    assert_eq!(
        goods::meter::meters_of(&c.state, &a).expect("read"),
        vec![s]
    );
}

#[test]
fn sixty_lesson_minutes_settle_with_the_last_receipt_only() {
    let mut c = opened();
    let (a, shop_addr) = (alice().address(), c.shop.address());
    let shop_before = c.balance(&shop_addr, KRW);
    // The wallet signed receipts 1..=60; the shop submits only the 60th.
    let r = run_one(&mut c, &shop(), claim(&alice(), 0, 60, false));
    ok(&r);
    // 60 × 50 = 3 000 paid as `Pay` from alice: 10 % tax (300) withheld.
    assert!(r.events.contains(&Event::Paid(events::Paid {
        payer: a,
        merchant: shop_addr,
        asset: KRW,
        amount: 3_000,
        tax: 300,
        reference: "meter 0".into(),
    })));
    assert!(r
        .events
        .contains(&Event::MeterClaimed(events::MeterClaimed {
            id: 0,
            user: a,
            merchant: shop_addr,
            units: 60,
            new_units: 60,
            amount: 3_000,
        })));
    assert_eq!(c.balance(&shop_addr, KRW), shop_before + 2_700 - FEE);
    assert_eq!(
        c.balance(&jeon_runtime::economy::ESCROW_ACCOUNT, KRW),
        2_000
    );
    // The final claim of 70 pays only the 10 new minutes and returns the rest.
    let r = run_one(&mut c, &shop(), claim(&alice(), 0, 70, true));
    ok(&r);
    assert!(r.events.contains(&Event::MeterClosed(events::MeterClosed {
        id: 0,
        user: a,
        merchant: shop_addr,
        units: 70,
        paid: 3_500,
        refund: 1_500,
    })));
    assert_eq!(c.balance(&a, KRW), USER_KRW - 3_500 - FEE);
    assert_eq!(c.balance(&jeon_runtime::economy::ESCROW_ACCOUNT, KRW), 0);
    assert_eq!(session(&c, 0).closed_at, Some(3));
}

#[test]
fn a_stale_receipt_is_refused_and_changes_only_the_fee_and_the_nonce() {
    let mut c = opened();
    ok(&run_one(&mut c, &shop(), claim(&alice(), 0, 60, false)));
    let before = c.state.clone();
    for units in [60, 59] {
        let r = run_one(&mut c, &shop(), claim(&alice(), 0, units, false));
        assert_eq!(
            failure(&r),
            CallError::StaleMeterReceipt {
                id: 0,
                units,
                claimed: 60
            }
        );
    }
    let changes = diff(&without_history(&before), &without_history(&c.state));
    let keys: Vec<u8> = changes.keys().map(|k| k[0]).collect();
    assert!(
        keys.iter().all(|k| [0x01, 0x02, 0x28].contains(k)),
        "a stale claim wrote {keys:x?}"
    );
    assert_eq!(session(&c, 0).units, 60);
}

#[test]
fn a_receipt_not_signed_by_the_user_for_this_session_is_refused() {
    let mut c = opened();
    let bob = Keypair::from_seed_label("user-1");
    let r = run_one(&mut c, &shop(), claim(&bob, 0, 10, false));
    assert_eq!(failure(&r), CallError::BadMeterReceipt { id: 0 });
    // Alice's receipt for session 0 does not count for her session 1.
    let open = Call::OpenMeter(calls::OpenMeter {
        merchant: c.shop.address(),
        asset: KRW,
        unit_price: MINUTE,
        budget: BUDGET,
        duration_ms: DURATION_MS,
    });
    ok(&run_one(&mut c, &alice(), open));
    let mut replayed = claim(&alice(), 0, 10, false);
    if let Call::ClaimMeter(cm) = &mut replayed {
        cm.session = 1;
    }
    let r = run_one(&mut c, &shop(), replayed);
    assert_eq!(failure(&r), CallError::BadMeterReceipt { id: 1 });
}

#[test]
fn a_receipt_past_the_budget_is_refused() {
    let mut c = opened();
    // 101 minutes cost 5 050 > 5 000; 100 cost exactly the budget.
    let r = run_one(&mut c, &shop(), claim(&alice(), 0, 101, false));
    assert_eq!(
        failure(&r),
        CallError::MeterBudgetExceeded {
            id: 0,
            units: 101,
            unit_price: MINUTE,
            budget: BUDGET
        }
    );
    let r = run_one(&mut c, &shop(), claim(&alice(), 0, u64::MAX, false));
    assert!(matches!(failure(&r), CallError::MeterBudgetExceeded { .. }));
    ok(&run_one(&mut c, &shop(), claim(&alice(), 0, 100, false)));
    assert_eq!(session(&c, 0).paid, BUDGET);
}

#[test]
fn only_the_merchant_claims_and_the_user_closes_alone_only_after_the_expiry() {
    let mut c = opened();
    let bob = Keypair::from_seed_label("user-1");
    let r = run_one(&mut c, &alice(), claim(&alice(), 0, 5, false));
    assert!(matches!(
        failure(&r),
        CallError::NotMeterMerchant { id: 0, .. }
    ));
    let r = run_one(&mut c, &bob, close(0));
    assert_eq!(failure(&r), CallError::NotMeterParty { id: 0 });
    let r = run_one(&mut c, &alice(), close(0));
    assert!(matches!(
        failure(&r),
        CallError::MeterNotExpired { id: 0, .. }
    ));
    ok(&run_one(&mut c, &shop(), claim(&alice(), 0, 5, false)));
    // Opened at height 1 (time …1 000 + 10 000): the block at height 11 may close it.
    while c.height < 10 {
        c.run(&[]);
    }
    let before = c.balance(&alice().address(), KRW);
    let r = run_one(&mut c, &alice(), close(0));
    ok(&r);
    assert!(r.events.contains(&Event::MeterClosed(events::MeterClosed {
        id: 0,
        user: alice().address(),
        merchant: c.shop.address(),
        units: 5,
        paid: 250,
        refund: BUDGET - 250,
    })));
    assert_eq!(
        c.balance(&alice().address(), KRW),
        before + BUDGET - 250 - FEE
    );
    // Nothing more is claimed or closed.
    let r = run_one(&mut c, &shop(), claim(&alice(), 0, 6, false));
    assert_eq!(failure(&r), CallError::MeterClosed { id: 0 });
    let r = run_one(&mut c, &shop(), close(0));
    assert_eq!(failure(&r), CallError::MeterClosed { id: 0 });
}

#[test]
fn the_merchant_may_close_at_once_returning_the_whole_budget() {
    let mut c = opened();
    let r = run_one(&mut c, &shop(), close(0));
    ok(&r);
    assert_eq!(c.balance(&alice().address(), KRW), USER_KRW - FEE);
}

#[test]
fn bad_terms_are_refused_before_anything_moves() {
    let mut c = Consortium::new();
    let shop_addr = c.shop.address();
    let open = |merchant, asset, unit_price, budget, duration_ms| {
        Call::OpenMeter(calls::OpenMeter {
            merchant,
            asset,
            unit_price,
            budget,
            duration_ms,
        })
    };
    let cases = [
        (
            open(c.bank.address(), KRW, 1, 10, 1_000),
            CallError::NotAMerchant {
                account: c.bank.address(),
            },
        ),
        (
            open(shop_addr, PTS, 1, 10, 1_000),
            CallError::NotMoney { asset: PTS },
        ),
        (open(shop_addr, KRW, 0, 10, 1_000), CallError::ZeroAmount),
        (
            open(shop_addr, KRW, 11, 10, 1_000),
            CallError::InvalidMeter {
                reason: "the budget is below one unit's price".into(),
            },
        ),
        (
            open(shop_addr, KRW, 1, 10, 0),
            CallError::InvalidMeter {
                reason: format!(
                    "duration_ms must be 1 to {}",
                    goods::meter::METER_DURATION_MS_MAX
                ),
            },
        ),
        (
            open(shop_addr, KRW, 1, USER_KRW + 1, 1_000),
            CallError::InsufficientBalance {
                asset: KRW,
                needed: USER_KRW + 1,
                available: USER_KRW - 6 * FEE,
            },
        ),
    ];
    for (call, expected) in cases {
        let r = run_one(&mut c, &alice(), call);
        assert_eq!(failure(&r), expected);
    }
    assert_eq!(c.balance(&jeon_runtime::economy::ESCROW_ACCOUNT, KRW), 0);
    assert_eq!(goods::meter::meter(&c.state, 0).expect("read"), None);
}
