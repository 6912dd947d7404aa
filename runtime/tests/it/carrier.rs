//! Carrier billing and claim-gated lines, told as stories: the telco (a carrier) opens
//! a phone billing line for a user; purchases charged to it are paid from the telco's
//! float as ordinary payments (tax, cashback), the period's statement accrues up to the
//! cap and no further, the statement is collected or paid by the user after the
//! period, an unpaid line is suspended and resumed; lenders, carriers and issuers gate
//! their lines and redemptions on a claim, and the refusal names it.
//!
//! Test chain: the block at height `h` has time `1_700_000_000_000 + h * 1000` ms.

use crate::support::*;
use jeon_runtime::economy::calendar;
use jeon_runtime::goods::carrier::{
    self, CarrierLine, LineCashback, LinePurchase, Settlement, CARRIER_LINE_CAP_MAX_DEFAULT,
    LINE_PERIOD_CALENDAR_MONTH,
};
use jeon_runtime::goods::policy::ClaimScope;
use jeon_runtime::goods::ProductKind;
use jeon_runtime::identity::Claim;
use jeon_runtime::state::keys;
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Call, CallError, Event, Hash, Keypair, MemoryState, Outcome, Overlay, Receipt, Role, StateExt,
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

/// Runs a call expected to fail and checks it changed only the fee and the nonce.
fn refused(c: &mut Consortium, key: &Keypair, call: Call) -> CallError {
    let before: MemoryState = c.state.clone();
    let r = run_one(c, key, call);
    let e = failure(&r);
    let who = key.address();
    for k in diff(&before, &c.state).keys() {
        let fee_or_nonce = *k == keys::nonce(&who)
            || *k == keys::balance(&who, KRW)
            || *k == keys::balance(&c.collector, KRW)
            || k.first() == Some(&keys::VOLUME)
            || k.first() == Some(&keys::HISTORY);
        assert!(fee_or_nonce, "a failed {e:?} changed {}", hex::encode(k));
    }
    e
}

const KYC_2: Claim = Claim::KycLevel { level: 2 };
/// The test line: 10 000 units per 10-second period (ten blocks).
const CAP: u64 = 10_000;
const PERIOD_MS: u64 = 10_000;

/// The telco is also a carrier and an attester; the bank also a lender.
fn telco_carrier() -> Consortium {
    let mut c = Consortium::new();
    let mut ov = Overlay::new(&c.state);
    for (who, roles) in [
        (c.telco.address(), &[Role::Carrier, Role::Attester][..]),
        (c.bank.address(), &[Role::Lender][..]),
    ] {
        let mut p = c.state.partner(&who).expect("read").expect("partner");
        p.roles.extend_from_slice(roles);
        p.roles.sort();
        ov.put(keys::partner(&who), &p).expect("write");
    }
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
    c
}

fn open(user: &Keypair, cap: u64, cashback: Option<LineCashback>) -> Call {
    Call::OpenCarrierLine(calls::OpenCarrierLine {
        user: user.address(),
        asset: KRW,
        cap,
        period_ms: PERIOD_MS,
        cashback,
    })
}

fn pay_on(line: u64, merchant: &Keypair, amount: u64) -> Call {
    Call::ChargeLine(calls::ChargeLine {
        line,
        purchase: LinePurchase::Pay {
            merchant: merchant.address(),
            amount,
            reference: "order 7".into(),
        },
    })
}

fn settle(line: u64, period: u64, how: Settlement) -> Call {
    Call::SettleStatement(calls::SettleStatement { line, period, how })
}

fn line_of(c: &Consortium, id: u64) -> CarrierLine {
    carrier::line(&c.state, id).expect("read").expect("line")
}

/// Runs empty blocks until the block time reaches `time_ms`.
fn wait_until(c: &mut Consortium, time_ms: u64) {
    while c.next_ctx().time_ms < time_ms {
        c.run(&[]);
    }
}

#[test]
fn a_purchase_on_a_line_is_paid_from_the_float_as_an_ordinary_payment_and_accrues() {
    let mut c = telco_carrier();
    let (telco, shop) = (c.telco.address(), c.shop.address());
    let alice = Keypair::from_seed_label("user-0");
    let cashback = Some(LineCashback {
        asset: PTS,
        bps: 100,
    });
    let r = run_one(
        &mut c,
        &Keypair::from_seed_label("telco"),
        open(&alice, CAP, cashback),
    );
    ok(&r);
    assert!(
        matches!(&r.events[..], [Event::FeeCharged(_), Event::CarrierLineOpened(o)]
        if o.line == 0 && o.user == alice.address() && o.cap == CAP)
    );
    let (float, user_krw, user_pts) = (
        c.balance(&telco, KRW),
        c.balance(&alice.address(), KRW),
        c.balance(&alice.address(), PTS),
    );
    let shop_krw = c.balance(&shop, KRW);
    let r = run_one(
        &mut c,
        &alice,
        pay_on(0, &Keypair::from_seed_label("shop"), 5_000),
    );
    ok(&r);
    // The merchant sees an ordinary payment from the carrier, tax withheld.
    assert!(r.events.contains(&Event::Paid(events::Paid {
        payer: telco,
        merchant: shop,
        asset: KRW,
        amount: 5_000,
        tax: 500,
        reference: "order 7".into(),
    })));
    assert_eq!(c.balance(&shop, KRW), shop_krw + 4_500);
    assert_eq!(c.balance(&telco, KRW), float - 5_000);
    assert_eq!(
        c.balance(&alice.address(), KRW),
        user_krw - FEE,
        "only the fee"
    );
    // The carrier's own loyalty credits: 1 % of 5 000.
    assert_eq!(c.balance(&alice.address(), PTS), user_pts + 50);
    let charged = r.events.iter().find_map(|e| match e {
        Event::LineCharged(l) => Some(l.clone()),
        _ => None,
    });
    let charged = charged.expect("a LineCharged event");
    assert_eq!(
        (charged.amount, charged.charged, charged.cashback),
        (5_000, 5_000, 50)
    );
    let l = line_of(&c, 0);
    let s = carrier::statement(&c.state, &l, 0).expect("read");
    assert_eq!(
        (s.charged, s.purchases, s.cashback, s.settled),
        (5_000, 1, 50, None)
    );
    let listed = carrier::statements_of(&c.state, &l, ctx(c.height).time_ms).expect("read");
    assert_eq!(listed, vec![s]);
    assert_eq!(
        carrier::lines_of(&c.state, &alice.address()).expect("read"),
        vec![l.clone()]
    );
    assert_eq!(carrier::lines_of(&c.state, &telco).expect("read"), vec![l]);
}

#[test]
fn a_product_bought_on_a_line_belongs_to_the_user() {
    let mut c = telco_carrier();
    let (telco_key, shop_key) = (
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
    );
    let alice = Keypair::from_seed_label("user-0");
    let pass = Call::CreateProduct(calls::CreateProduct {
        name: "Pass".into(),
        kind: ProductKind::Pass {
            duration_ms: 60_000,
        },
        asset: KRW,
        price: 3_300,
        royalty_bps: None,
    });
    ok(&run_one(&mut c, &shop_key, pass));
    ok(&run_one(&mut c, &telco_key, open(&alice, CAP, None)));
    let buy = Call::ChargeLine(calls::ChargeLine {
        line: 0,
        purchase: LinePurchase::Buy { product: 0 },
    });
    let r = run_one(&mut c, &alice, buy);
    ok(&r);
    let e = jeon_runtime::goods::entitlement(&c.state, 0)
        .expect("read")
        .expect("issued");
    assert_eq!(e.owner, alice.address());
    let s = carrier::statement(&c.state, &line_of(&c, 0), 0).expect("read");
    assert_eq!(s.charged, 3_300);
    // A product priced over the rest of the cap is refused.
    let pricey = Call::CreateProduct(calls::CreateProduct {
        name: "Pricey".into(),
        kind: ProductKind::Item { supply_max: None },
        asset: KRW,
        price: CAP,
        royalty_bps: None,
    });
    ok(&run_one(&mut c, &shop_key, pricey));
    let buy = Call::ChargeLine(calls::ChargeLine {
        line: 0,
        purchase: LinePurchase::Buy { product: 1 },
    });
    assert!(matches!(
        refused(&mut c, &alice, buy),
        CallError::LineCapExceeded {
            charged: 3_300,
            amount: CAP,
            ..
        }
    ));
}

#[test]
fn the_cap_holds_per_period_and_a_new_period_starts_empty() {
    let mut c = telco_carrier();
    let (telco_key, shop_key) = (
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
    );
    let alice = Keypair::from_seed_label("user-0");
    ok(&run_one(&mut c, &telco_key, open(&alice, CAP, None)));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 6_000)));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 4_000)));
    let e = refused(&mut c, &alice, pay_on(0, &shop_key, 1));
    assert_eq!(
        e,
        CallError::LineCapExceeded {
            line: 0,
            period: 0,
            cap: CAP,
            charged: CAP,
            amount: 1
        }
    );
    let l = line_of(&c, 0);
    wait_until(&mut c, l.bounds(1).0);
    let r = run_one(&mut c, &alice, pay_on(0, &shop_key, 7_000));
    ok(&r);
    let s1 = carrier::statement(&c.state, &l, 1).expect("read");
    assert_eq!(s1.charged, 7_000);
    // Bob cannot charge Alice's line.
    let bob = Keypair::from_seed_label("user-1");
    assert_eq!(
        refused(&mut c, &bob, pay_on(0, &shop_key, 1)),
        CallError::NotLineUser {
            line: 0,
            user: alice.address()
        }
    );
}

/// Milliseconds since 1970 of 00:00 UTC on a date.
fn utc(year: u64, month: u64, day: u64) -> u64 {
    (calendar::first_day_of_month(year, month) + day - 1) * 86_400_000
}

#[test]
fn a_calendar_month_line_bills_each_calendar_month_whatever_its_length() {
    let mut c = telco_carrier();
    let (telco_key, shop_key) = (
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
    );
    let alice = Keypair::from_seed_label("user-0");
    // Opened on 14 November 2023 (the test chain's start): period 0 is all of November.
    let monthly = Call::OpenCarrierLine(calls::OpenCarrierLine {
        user: alice.address(),
        asset: KRW,
        cap: CAP,
        period_ms: LINE_PERIOD_CALENDAR_MONTH,
        cashback: None,
    });
    ok(&run_one(&mut c, &telco_key, monthly));
    let l = line_of(&c, 0);
    assert_eq!(l.bounds(0), (utc(2023, 11, 1), utc(2023, 12, 1)));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, CAP)));
    // The last second of November is still November's statement, full to the cap.
    c.skip_time(utc(2023, 12, 1) - 1_000);
    assert!(matches!(
        refused(&mut c, &alice, pay_on(0, &shop_key, 1)),
        CallError::LineCapExceeded { period: 0, .. }
    ));
    // Midnight UTC on 1 December starts period 1, empty; November's can be settled.
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 3_000)));
    assert_eq!(l.period_at(c.next_ctx().time_ms - 1_000), 1);
    let s1 = carrier::statement(&c.state, &l, 1).expect("read");
    assert_eq!(
        (s1.starts_at_ms, s1.ends_at_ms),
        (utc(2023, 12, 1), utc(2024, 1, 1))
    );
    assert_eq!(s1.charged, 3_000);
    ok(&run_one(
        &mut c,
        &telco_key,
        settle(0, 0, Settlement::Collected),
    ));
    // February of a leap year is period 3 and 29 days long; March 1st is period 4.
    c.skip_time(utc(2024, 2, 29));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 9_000)));
    let s3 = carrier::statement(&c.state, &l, 3).expect("read");
    assert_eq!(
        (s3.starts_at_ms, s3.ends_at_ms),
        (utc(2024, 2, 1), utc(2024, 3, 1))
    );
    assert_eq!(s3.charged, 9_000);
    c.skip_time(utc(2024, 3, 1));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, CAP)));
    assert_eq!(
        carrier::statement(&c.state, &l, 4).expect("read").charged,
        CAP
    );
    // The statements listed for the line are its calendar months.
    let listed = carrier::statements_of(&c.state, &l, c.next_ctx().time_ms).expect("read");
    let months: Vec<(u64, u64)> = listed.iter().map(|s| (s.period, s.charged)).collect();
    assert!(
        months.contains(&(0, CAP)) && months.contains(&(4, CAP)),
        "{months:?}"
    );
}

#[test]
fn a_statement_is_settled_once_after_its_period_by_the_carrier_or_the_user() {
    let mut c = telco_carrier();
    let (telco_key, shop_key) = (
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
    );
    let (alice, bob) = (
        Keypair::from_seed_label("user-0"),
        Keypair::from_seed_label("user-1"),
    );
    ok(&run_one(&mut c, &telco_key, open(&alice, CAP, None)));
    ok(&run_one(&mut c, &telco_key, open(&bob, CAP, None)));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 2_000)));
    ok(&run_one(&mut c, &bob, pay_on(1, &shop_key, 3_000)));
    let l = line_of(&c, 0);
    let e = refused(&mut c, &telco_key, settle(0, 0, Settlement::Collected));
    assert_eq!(
        e,
        CallError::LinePeriodNotOver {
            line: 0,
            period: 0,
            ends_at_ms: l.bounds(0).1
        }
    );
    wait_until(&mut c, l.bounds(1).1);
    // The user cannot say the carrier collected; the carrier cannot say the user paid.
    assert!(matches!(
        refused(&mut c, &alice, settle(0, 0, Settlement::Collected)),
        CallError::NotLineCarrier { .. }
    ));
    ok(&run_one(
        &mut c,
        &telco_key,
        settle(0, 0, Settlement::Collected),
    ));
    let (float, bob_krw) = (
        c.balance(&c.telco.address(), KRW),
        c.balance(&bob.address(), KRW),
    );
    let r = run_one(&mut c, &bob, settle(1, 0, Settlement::PaidByUser));
    ok(&r);
    assert!(r
        .events
        .contains(&Event::StatementSettled(events::StatementSettled {
            line: 1,
            carrier: c.telco.address(),
            user: bob.address(),
            period: 0,
            amount: 3_000,
            how: Settlement::PaidByUser,
        })));
    assert_eq!(c.balance(&c.telco.address(), KRW), float + 3_000);
    assert_eq!(c.balance(&bob.address(), KRW), bob_krw - 3_000 - FEE);
    assert_eq!(
        refused(&mut c, &bob, settle(1, 0, Settlement::PaidByUser)),
        CallError::NothingUnpaid { line: 1, period: 0 }
    );
    // A period without charges has nothing to settle.
    assert_eq!(
        refused(&mut c, &telco_key, settle(0, 1, Settlement::Collected)),
        CallError::NothingUnpaid { line: 0, period: 1 }
    );
}

#[test]
fn an_unpaid_line_is_suspended_refuses_charges_and_resumes() {
    let mut c = telco_carrier();
    let (telco_key, shop_key) = (
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
    );
    let alice = Keypair::from_seed_label("user-0");
    ok(&run_one(&mut c, &telco_key, open(&alice, CAP, None)));
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 2_000)));
    let suspend = |period| Call::SuspendLine(calls::SuspendLine { line: 0, period });
    // Not before the period is over.
    assert!(matches!(
        refused(&mut c, &telco_key, suspend(0)),
        CallError::LinePeriodNotOver { .. }
    ));
    let l = line_of(&c, 0);
    wait_until(&mut c, l.bounds(0).1);
    assert!(matches!(
        refused(&mut c, &alice, suspend(0)),
        CallError::NotLineCarrier { .. }
    ));
    let r = run_one(&mut c, &telco_key, suspend(0));
    ok(&r);
    assert!(r
        .events
        .contains(&Event::CarrierLineSuspended(events::CarrierLineSuspended {
            line: 0,
            carrier: c.telco.address(),
            user: alice.address(),
            period: 0,
        })));
    assert_eq!(
        refused(&mut c, &alice, pay_on(0, &shop_key, 1)),
        CallError::CarrierLineSuspended { line: 0 }
    );
    // Paying the statement does not resume by itself; the carrier does.
    ok(&run_one(
        &mut c,
        &alice,
        settle(0, 0, Settlement::PaidByUser),
    ));
    let resume = Call::ResumeLine(calls::ResumeLine { line: 0 });
    ok(&run_one(&mut c, &telco_key, resume.clone()));
    assert_eq!(
        refused(&mut c, &telco_key, resume),
        CallError::CarrierLineNotSuspended { line: 0 }
    );
    ok(&run_one(&mut c, &alice, pay_on(0, &shop_key, 1)));
}

#[test]
fn line_terms_are_checked_when_it_opens() {
    let mut c = telco_carrier();
    let (telco_key, shop_key) = (
        Keypair::from_seed_label("telco"),
        Keypair::from_seed_label("shop"),
    );
    let alice = Keypair::from_seed_label("user-0");
    let max = CARRIER_LINE_CAP_MAX_DEFAULT;
    assert_eq!(
        refused(&mut c, &telco_key, open(&alice, max + 1, None)),
        CallError::LineCapAboveMax { cap: max + 1, max }
    );
    assert_eq!(
        refused(&mut c, &telco_key, open(&alice, 0, None)),
        CallError::ZeroAmount
    );
    assert_eq!(
        refused(&mut c, &shop_key, open(&alice, CAP, None)),
        CallError::MissingRole {
            role: Role::Carrier
        }
    );
    let short = Call::OpenCarrierLine(calls::OpenCarrierLine {
        user: alice.address(),
        asset: KRW,
        cap: CAP,
        period_ms: 999,
        cashback: None,
    });
    assert!(matches!(
        refused(&mut c, &telco_key, short),
        CallError::InvalidCarrierLine { .. }
    ));
    // Cashback only in the carrier's own credits (STAMP is the bank's).
    let stamps = Some(LineCashback {
        asset: STAMP,
        bps: 100,
    });
    assert!(matches!(
        refused(&mut c, &telco_key, open(&alice, CAP, stamps)),
        CallError::NotIssuer { .. }
    ));
    ok(&run_one(&mut c, &telco_key, open(&alice, max, None)));
    assert_eq!(
        refused(&mut c, &telco_key, open(&alice, CAP, None)),
        CallError::CarrierLineExists {
            carrier: c.telco.address(),
            user: alice.address(),
            line: 0
        }
    );
}

fn attest_kyc2(c: &mut Consortium, who: &Keypair) {
    let attest = Call::Attest(calls::Attest {
        subject: who.address(),
        claim: KYC_2,
        expires_at_ms: ctx(c.height).time_ms + 1_000_000,
        commitment: Hash([9; 32]),
    });
    ok(&run_one(c, &Keypair::from_seed_label("telco"), attest));
}

fn policy(scope: ClaimScope, claim: Option<Claim>, above: u64) -> Call {
    Call::SetClaimPolicy(calls::SetClaimPolicy {
        scope,
        claim,
        above,
    })
}

#[test]
fn a_kyc_gated_carrier_line_is_refused_without_the_claim_naming_it_and_opened_with_it() {
    let mut c = telco_carrier();
    let telco_key = Keypair::from_seed_label("telco");
    let alice = Keypair::from_seed_label("user-0");
    let r = run_one(
        &mut c,
        &telco_key,
        policy(ClaimScope::CarrierLines, Some(KYC_2), 0),
    );
    ok(&r);
    assert!(r
        .events
        .contains(&Event::ClaimPolicySet(events::ClaimPolicySet {
            partner: c.telco.address(),
            scope: ClaimScope::CarrierLines,
            claim: Some(KYC_2),
            above: 0,
        })));
    let e = refused(&mut c, &telco_key, open(&alice, CAP, None));
    assert_eq!(
        e,
        CallError::PolicyClaimRequired {
            scope: ClaimScope::CarrierLines,
            account: alice.address(),
            claim: KYC_2
        }
    );
    assert!(e.to_string().contains("KYC level 2"), "{e}");
    attest_kyc2(&mut c, &alice);
    ok(&run_one(&mut c, &telco_key, open(&alice, CAP, None)));
    // Only a carrier sets a carrier-line policy.
    assert_eq!(
        refused(
            &mut c,
            &Keypair::from_seed_label("shop"),
            policy(ClaimScope::CarrierLines, Some(KYC_2), 0)
        ),
        CallError::MissingRole {
            role: Role::Carrier
        }
    );
}

#[test]
fn credit_lines_and_redemptions_above_a_threshold_need_the_claim() {
    let mut c = telco_carrier();
    let (bank, telco_key) = (
        Keypair::from_seed_label("bank"),
        Keypair::from_seed_label("telco"),
    );
    let alice = Keypair::from_seed_label("user-0");
    ok(&run_one(
        &mut c,
        &bank,
        policy(ClaimScope::CreditLines, Some(KYC_2), 0),
    ));
    let line = Call::OpenCreditLine(calls::OpenCreditLine {
        borrower: alice.address(),
        asset: KRW,
        limit: 1,
        due_period_blocks: 10,
    });
    assert!(matches!(
        refused(&mut c, &bank, line.clone()),
        CallError::PolicyClaimRequired {
            scope: ClaimScope::CreditLines,
            claim: KYC_2,
            ..
        }
    ));
    // Redemptions of the telco's points above 1 000 need KYC level 2 too.
    let scope = ClaimScope::Redemptions { asset: PTS };
    ok(&run_one(
        &mut c,
        &telco_key,
        policy(scope, Some(KYC_2), 1_000),
    ));
    let redeem = |amount| {
        Call::Redeem(calls::Redeem {
            asset: PTS,
            amount,
            kind: jeon_runtime::economy::RedeemKind::CashOut {
                destination: alice.address(),
            },
        })
    };
    ok(&run_one(&mut c, &alice, redeem(1_000)));
    assert!(matches!(
        refused(&mut c, &alice, redeem(1_001)),
        CallError::PolicyClaimRequired {
            scope: ClaimScope::Redemptions { .. },
            ..
        }
    ));
    attest_kyc2(&mut c, &alice);
    ok(&run_one(&mut c, &alice, redeem(1_001)));
    let r = run_one(&mut c, &bank, line);
    // Past the claim check: now the credit score decides.
    assert!(!matches!(
        r.outcome,
        Outcome::Failed(CallError::PolicyClaimRequired { .. })
    ));
    // Clearing the policy lifts it; only the issuer sets a redemption policy.
    assert!(matches!(
        refused(&mut c, &bank, policy(scope, None, 0)),
        CallError::NotIssuer { .. }
    ));
    ok(&run_one(&mut c, &telco_key, policy(scope, None, 0)));
}
