//! Micro-credit: the score formula on known histories, lines opened only within what
//! the score allows, draws, repayments that raise the score, and defaults that lower
//! it and close the line. Draws and repayments are transfers, so every block's
//! invariants (supply = sum of balances, app hash) hold throughout.

use crate::support::*;
use jeon_runtime::economy::credit::{
    allowed_for, credit_lines_of, credit_score, CreditLine, CreditProfile, LineStatus,
    CREDIT_UNITS_PER_POINT,
};
use jeon_runtime::economy::RedeemKind;
use jeon_runtime::execute::execute_block;
use jeon_runtime::state::keys;
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Address, Amount, Call, CallError, Event, Height, Keypair, Outcome, Overlay, Receipt, Role,
    StateExt,
};

fn failure(r: &Receipt) -> CallError {
    match &r.outcome {
        Outcome::Failed(e) => e.clone(),
        other => panic!("expected a failed call, got {other:?}"),
    }
}

fn ok(r: &Receipt) {
    assert!(r.is_success(), "expected success, got {:?}", r.outcome);
}

fn run_one(c: &mut Consortium, key_of: impl Fn(&Consortium) -> &Keypair, call: Call) -> Receipt {
    let tx = c.tx(key_of(c), call);
    c.run(&[tx]).remove(0)
}

/// The test consortium with the bank also a lender, and `profile` (if any) as user 0's
/// credit history, written the way genesis writes state.
fn lending(profile: Option<CreditProfile>) -> Consortium {
    let mut c = Consortium::new();
    let mut bank = c
        .state
        .partner(&c.bank.address())
        .expect("read")
        .expect("bank");
    bank.roles.push(Role::Lender);
    let user = c.users[0].address();
    let mut ov = Overlay::new(&c.state);
    ov.put(keys::partner(&bank.account), &bank).expect("write");
    if let Some(p) = profile {
        ov.put(
            jeon_runtime::economy::credit::storage::credit_profile(&user),
            &p,
        )
        .expect("write");
    }
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
    c
}

/// A history worth `points` score points from payment volume alone.
fn history(points: u128) -> CreditProfile {
    CreditProfile {
        volume: points * 1_000_000,
        ..CreditProfile::default()
    }
}

fn open(borrower: &Address, limit: Amount, due_period_blocks: Height) -> Call {
    Call::OpenCreditLine(calls::OpenCreditLine {
        borrower: *borrower,
        asset: KRW,
        limit,
        due_period_blocks,
    })
}

fn score(c: &Consortium, who: &Address) -> u64 {
    credit_score(&c.state, who, c.height).expect("score").score
}

fn line(c: &Consortium, who: &Address, id: usize) -> CreditLine {
    credit_lines_of(&c.state, who).expect("lines")[id].clone()
}

/// (first_seen, height, volume, redemptions, repayments, repaid, defaults).
type History = (Height, Height, u128, u64, u64, u128, u64);

#[test]
fn the_score_formula_on_known_histories() {
    // (first_seen, height, volume, redemptions, repayments, repaid, defaults) -> score
    let table: &[(History, u64)] = &[
        ((0, 0, 0, 0, 0, 0, 0), 0),
        // 1 point per 100 blocks of age, capped at 250.
        ((10, 109, 0, 0, 0, 0, 0), 0),
        ((10, 110, 0, 0, 0, 0, 0), 1),
        ((0, 1_000_000, 0, 0, 0, 0, 0), 250),
        // 1 point per 1,000,000 units paid, capped at 250.
        ((0, 0, 999_999, 0, 0, 0, 0), 0),
        ((0, 0, 42_500_000, 0, 0, 0, 0), 42),
        ((0, 0, u128::MAX, 0, 0, 0, 0), 250),
        // 5 per redemption, capped at 100.
        ((0, 0, 0, 3, 0, 0, 0), 15),
        ((0, 0, 0, 1_000, 0, 0, 0), 100),
        // 20 per repayment (cap 200) and 1 per 1,000,000 units repaid (cap 200).
        ((0, 0, 0, 0, 2, 3_000_000, 0), 43),
        ((0, 0, 0, 0, 50, 10_000_000_000, 0), 400),
        // 200 off per default, never below 0.
        ((0, 500, 300_000_000, 0, 1, 0, 1), 5 + 250 + 20 - 200),
        ((0, 500, 0, 0, 0, 0, 1), 0),
        // Everything at its cap: 1000.
        ((0, 100_000, 1 << 60, 100, 100, 1 << 60, 0), 1_000),
    ];
    for &((first_seen, height, volume, redemptions, repayments, repaid, defaults), want) in table {
        let p = CreditProfile {
            first_seen,
            volume,
            redemptions,
            repayments,
            repaid,
            defaults,
            committed: 0,
        };
        assert_eq!(p.score(height), want, "{p:?} at height {height}");
        assert_eq!(allowed_for(want), want * CREDIT_UNITS_PER_POINT);
    }
}

#[test]
fn payments_and_redemptions_build_the_history_the_score_reads() {
    let mut c = lending(None);
    let (user, shop) = (c.users[0].address(), c.shop.address());
    assert_eq!(
        credit_score(&c.state, &user, 0).expect("score").first_seen,
        None
    );
    let r = run_one(&mut c, |c| &c.bank, transfer(&user, KRW, 3_000_000));
    ok(&r);
    let pay = Call::Pay(calls::Pay {
        merchant: shop,
        asset: KRW,
        amount: 2_500_000,
        reference: "rent".into(),
    });
    ok(&run_one(&mut c, |c| &c.users[0], pay));
    let redeem = Call::Redeem(calls::Redeem {
        asset: PTS,
        amount: 10,
        kind: RedeemKind::Goods { merchant: shop },
    });
    ok(&run_one(&mut c, |c| &c.users[0], redeem));
    for _ in 0..200 {
        c.run(&[]);
    }
    let report = credit_score(&c.state, &user, c.height).expect("score");
    assert_eq!(
        report.first_seen,
        Some(2),
        "first seen at its first payment"
    );
    assert_eq!(report.age_blocks, c.height - 2);
    assert_eq!(report.volume, 2_500_000);
    assert_eq!(report.redemptions, 1);
    // age 201 blocks: 2; volume: 2; one redemption: 5.
    assert_eq!(report.score, 2 + 2 + 5);
    assert_eq!(report.allowed, 9 * CREDIT_UNITS_PER_POINT);
    assert_eq!(report.available, report.allowed);
}

#[test]
fn a_line_above_what_the_score_allows_is_refused_counting_open_lines() {
    // 10 points: 1,000,000 units of credit.
    let mut c = lending(Some(history(10)));
    let user = c.users[0].address();
    let r = run_one(&mut c, |c| &c.bank, open(&user, 1_000_001, 10));
    assert_eq!(
        failure(&r),
        CallError::CreditAboveScore {
            borrower: user,
            score: 10,
            allowed: 1_000_000,
            committed: 0,
            limit: 1_000_001,
        }
    );
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 600_000, 10)));
    let r = run_one(&mut c, |c| &c.bank, open(&user, 400_001, 10));
    assert!(matches!(
        failure(&r),
        CallError::CreditAboveScore {
            committed: 600_000,
            ..
        }
    ));
    let r = run_one(&mut c, |c| &c.bank, open(&user, 400_000, 10));
    ok(&r);
    assert!(r
        .events
        .contains(&Event::CreditLineOpened(events::CreditLineOpened {
            id: 1,
            lender: c.bank.address(),
            borrower: user,
            asset: KRW,
            limit: 400_000,
            due_height: c.height + 10,
        })));
    let report = credit_score(&c.state, &user, c.height).expect("score");
    assert_eq!((report.committed, report.available), (1_000_000, 0));
    // A user without history scores 0: no line at all.
    let other = c.users[1].address();
    let r = run_one(&mut c, |c| &c.bank, open(&other, 1, 10));
    assert!(matches!(
        failure(&r),
        CallError::CreditAboveScore { allowed: 0, .. }
    ));
}

#[test]
fn only_a_lender_opens_lines_and_not_for_itself() {
    let mut c = lending(Some(history(10)));
    let user = c.users[0].address();
    let telco = c.telco.address();
    let r = run_one(&mut c, |c| &c.telco, open(&user, 1_000, 10));
    assert_eq!(failure(&r), CallError::NotALender { account: telco });
    let bank = c.bank.address();
    let r = run_one(&mut c, |c| &c.bank, open(&bank, 1_000, 10));
    assert_eq!(failure(&r), CallError::SelfCredit);
    let r = run_one(&mut c, |c| &c.bank, open(&user, 1_000, 0));
    assert_eq!(failure(&r), CallError::ZeroPeriod);
    let credit_asset = Call::OpenCreditLine(calls::OpenCreditLine {
        borrower: user,
        asset: PTS,
        limit: 1_000,
        due_period_blocks: 10,
    });
    let r = run_one(&mut c, |c| &c.bank, credit_asset);
    assert_eq!(failure(&r), CallError::NotMoney { asset: PTS });
}

#[test]
fn a_draw_moves_units_from_the_lender_within_the_limit_and_conserves_supply() {
    let mut c = lending(Some(history(10)));
    let (user, bank) = (c.users[0].address(), c.bank.address());
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 500_000, 10)));
    let supply = c.supply(KRW);
    let (user_before, bank_before) = (c.balance(&user, KRW), c.balance(&bank, KRW));
    let draw = |amount| Call::DrawCredit(calls::DrawCredit { line_id: 0, amount });
    let r = run_one(&mut c, |c| &c.users[0], draw(300_000));
    ok(&r);
    assert!(r.events.contains(&Event::CreditDrawn(events::CreditDrawn {
        id: 0,
        lender: bank,
        borrower: user,
        asset: KRW,
        amount: 300_000,
        outstanding: 300_000,
    })));
    assert_eq!(c.balance(&user, KRW), user_before + 300_000 - FEE);
    assert_eq!(c.balance(&bank, KRW), bank_before - 300_000);
    assert_eq!(c.supply(KRW), supply);
    let r = run_one(&mut c, |c| &c.users[0], draw(200_001));
    assert_eq!(
        failure(&r),
        CallError::CreditLimitExceeded {
            id: 0,
            limit: 500_000,
            outstanding: 300_000,
            amount: 200_001,
        }
    );
    // Only the borrower draws.
    let r = run_one(&mut c, |c| &c.users[1], draw(1));
    assert_eq!(
        failure(&r),
        CallError::NotLineBorrower {
            id: 0,
            borrower: user
        }
    );
    ok(&run_one(&mut c, |c| &c.users[0], draw(200_000)));
    assert_eq!(line(&c, &user, 0).outstanding, 500_000);
    let r = run_one(
        &mut c,
        |c| &c.users[0],
        Call::DrawCredit(calls::DrawCredit {
            line_id: 7,
            amount: 1,
        }),
    );
    assert_eq!(failure(&r), CallError::UnknownCreditLine { id: 7 });
}

#[test]
fn repayments_raise_the_score_and_repaying_in_full_closes_the_line() {
    let mut c = lending(Some(history(10)));
    let (user, bank) = (c.users[0].address(), c.bank.address());
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 500_000, 10)));
    let draw = Call::DrawCredit(calls::DrawCredit {
        line_id: 0,
        amount: 400_000,
    });
    ok(&run_one(&mut c, |c| &c.users[0], draw));
    let before = score(&c, &user);
    let bank_before = c.balance(&bank, KRW);
    let repay = |amount| Call::Repay(calls::Repay { line_id: 0, amount });
    let r = run_one(&mut c, |c| &c.users[0], repay(400_001));
    assert_eq!(
        failure(&r),
        CallError::RepayAboveOutstanding {
            id: 0,
            outstanding: 400_000,
            amount: 400_001,
        }
    );
    ok(&run_one(&mut c, |c| &c.users[0], repay(150_000)));
    assert_eq!(score(&c, &user), before + 20);
    assert_eq!(c.balance(&bank, KRW), bank_before + 150_000);
    assert_eq!(line(&c, &user, 0).status, LineStatus::Open);
    let r = run_one(&mut c, |c| &c.users[0], repay(250_000));
    ok(&r);
    assert!(r
        .events
        .contains(&Event::CreditRepaid(events::CreditRepaid {
            id: 0,
            lender: bank,
            borrower: user,
            asset: KRW,
            amount: 250_000,
            outstanding: 0,
        })));
    assert_eq!(score(&c, &user), before + 40);
    let closed = line(&c, &user, 0);
    assert_eq!((closed.status, closed.outstanding), (LineStatus::Repaid, 0));
    let report = credit_score(&c.state, &user, c.height).expect("score");
    assert_eq!(
        (report.repayments, report.repaid, report.committed),
        (2, 400_000, 0)
    );
    let r = run_one(&mut c, |c| &c.users[0], repay(1));
    assert_eq!(
        failure(&r),
        CallError::CreditLineClosed {
            id: 0,
            status: LineStatus::Repaid
        }
    );
}

#[test]
fn a_missed_due_height_defaults_the_line_at_the_end_of_the_due_block() {
    let mut c = lending(Some(history(250)));
    let (user, bank) = (c.users[0].address(), c.bank.address());
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 1_000_000, 3)));
    let due_height = line(&c, &user, 0).due_height;
    let draw = |amount| Call::DrawCredit(calls::DrawCredit { line_id: 0, amount });
    ok(&run_one(&mut c, |c| &c.users[0], draw(700_000)));
    // Before the due height: not in default.
    let r = run_one(
        &mut c,
        |c| &c.bank,
        Call::MarkDefault(calls::MarkDefault { line_id: 0 }),
    );
    assert!(matches!(failure(&r), CallError::NotInDefault { .. }));
    assert_eq!(c.height + 1, due_height);
    let before = score(&c, &user);
    // The due block: draws are refused, and at its end the line defaults by itself.
    let refused = c.tx(&c.users[0], draw(1));
    let out = execute_block(&c.state, &c.next_ctx(), &[refused]).expect("memory");
    assert_eq!(
        failure(&out.receipts[0]),
        CallError::CreditLineDue {
            id: 0,
            due_height,
            height: due_height
        }
    );
    assert_eq!(
        out.block_events,
        vec![Event::CreditDefaulted(events::CreditDefaulted {
            id: 0,
            lender: bank,
            borrower: user,
            asset: KRW,
            outstanding: 700_000,
        })]
    );
    c.commit(&out);
    assert_eq!(score(&c, &user), before - 200);
    let report = credit_score(&c.state, &user, c.height).expect("score");
    assert_eq!((report.defaults, report.committed), (1, 0));
    let closed = line(&c, &user, 0);
    assert_eq!(
        (closed.status, closed.outstanding),
        (LineStatus::Defaulted, 700_000)
    );
    // The borrower's history shows it (block events are indexed at tx index u32::MAX).
    let history =
        jeon_runtime::economy::history::account_events(&c.state, &user, 10, None).expect("history");
    assert!(history.iter().any(|e| e.is_block_event()
        && matches!(
            e.event,
            Event::CreditDefaulted(events::CreditDefaulted { .. })
        )));
    let r = run_one(
        &mut c,
        |c| &c.bank,
        Call::MarkDefault(calls::MarkDefault { line_id: 0 }),
    );
    assert!(matches!(
        failure(&r),
        CallError::CreditLineClosed {
            status: LineStatus::Defaulted,
            ..
        }
    ));
    // The lower score now allows less: 50 points, 5,000,000 units.
    let r = run_one(&mut c, |c| &c.bank, open(&user, 5_000_001, 3));
    assert!(matches!(
        failure(&r),
        CallError::CreditAboveScore { score: 50, .. }
    ));
}

#[test]
fn within_the_due_block_only_the_lender_marks_the_default_and_a_late_repayment_still_counts() {
    let mut c = lending(Some(history(250)));
    let (user, bank) = (c.users[0].address(), c.bank.address());
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 1_000_000, 2)));
    ok(&run_one(
        &mut c,
        |c| &c.users[0],
        Call::DrawCredit(calls::DrawCredit {
            line_id: 0,
            amount: 500,
        }),
    ));
    // The due block: the borrower cannot mark, the lender can, before the sweep.
    let mark = Call::MarkDefault(calls::MarkDefault { line_id: 0 });
    let by_user = c.tx(&c.users[0], mark.clone());
    let by_bank = c.tx(&c.bank, mark);
    let receipts = c.run(&[by_user, by_bank]);
    assert_eq!(
        failure(&receipts[0]),
        CallError::NotLineLender {
            id: 0,
            lender: bank
        }
    );
    ok(&receipts[1]);
    assert_eq!(line(&c, &user, 0).status, LineStatus::Defaulted);
    assert_eq!(
        credit_score(&c.state, &user, c.height)
            .expect("score")
            .defaults,
        1
    );

    // Another line, repaid in its due block: no default at the end of it.
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 1_000, 2)));
    ok(&run_one(
        &mut c,
        |c| &c.users[0],
        Call::DrawCredit(calls::DrawCredit {
            line_id: 1,
            amount: 10,
        }),
    ));
    ok(&run_one(
        &mut c,
        |c| &c.users[0],
        Call::Repay(calls::Repay {
            line_id: 1,
            amount: 10,
        }),
    ));
    assert_eq!(line(&c, &user, 1).status, LineStatus::Repaid);
    assert_eq!(
        credit_score(&c.state, &user, c.height)
            .expect("score")
            .defaults,
        1
    );
}

#[test]
fn a_line_never_drawn_closes_as_repaid_at_its_due_height_and_frees_its_limit() {
    let mut c = lending(Some(history(10)));
    let user = c.users[0].address();
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 1_000, 1)));
    assert_eq!(
        credit_score(&c.state, &user, c.height)
            .expect("score")
            .committed,
        1_000
    );
    // Within its due block it is not in default: nothing is outstanding.
    let r = run_one(
        &mut c,
        |c| &c.bank,
        Call::MarkDefault(calls::MarkDefault { line_id: 0 }),
    );
    assert!(matches!(
        failure(&r),
        CallError::NotInDefault { outstanding: 0, .. }
    ));
    let closed = line(&c, &user, 0);
    assert_eq!((closed.status, closed.outstanding), (LineStatus::Repaid, 0));
    let report = credit_score(&c.state, &user, c.height).expect("score");
    assert_eq!((report.committed, report.defaults), (0, 0));
}

#[test]
fn a_payment_short_of_balance_draws_the_shortfall_from_the_standby_line() {
    let mut c = lending(Some(history(250)));
    let (user, bank, shop) = (c.users[0].address(), c.bank.address(), c.shop.address());
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 300_000, 100)));
    // Spend down to 100 000 units (after this payment's fee).
    let held = c.balance(&user, KRW);
    let spend = transfer(&c.users[1].address(), KRW, held - FEE - 100_000);
    ok(&run_one(&mut c, |c| &c.users[0], spend));
    assert_eq!(c.balance(&user, KRW), 100_000);
    let bank_before = c.balance(&bank, KRW);
    let pay = |amount| {
        Call::Pay(calls::Pay {
            merchant: shop,
            asset: KRW,
            amount,
            reference: String::new(),
        })
    };
    // ₩3,000 with ₩1,000 in hand (after the fee): the line lends the other 200 000 - FEE.
    let r = run_one(&mut c, |c| &c.users[0], pay(300_000));
    ok(&r);
    let short = 300_000 - (100_000 - FEE);
    assert!(r.events.contains(&Event::CreditDrawn(events::CreditDrawn {
        id: 0,
        lender: bank,
        borrower: user,
        asset: KRW,
        amount: short,
        outstanding: short,
    })));
    assert_eq!(c.balance(&user, KRW), 0);
    assert_eq!(c.balance(&bank, KRW), bank_before - short);
    assert_eq!(line(&c, &user, 0).outstanding, short);

    // More than the line has left: nothing is drawn and the payment fails as before.
    let fund = transfer(&user, KRW, 1_000);
    ok(&run_one(&mut c, |c| &c.users[1], fund));
    let r = run_one(&mut c, |c| &c.users[0], pay(300_000));
    assert!(matches!(failure(&r), CallError::InsufficientBalance { .. }));
    assert_eq!(line(&c, &user, 0).outstanding, short);
    // A transfer never draws.
    let r = run_one(&mut c, |c| &c.users[0], transfer(&shop, KRW, 5_000));
    assert!(matches!(failure(&r), CallError::InsufficientBalance { .. }));
    assert_eq!(line(&c, &user, 0).outstanding, short);
}

#[test]
fn a_due_or_closed_standby_line_draws_nothing_and_a_new_line_takes_its_place() {
    let mut c = lending(Some(history(250)));
    let (user, shop) = (c.users[0].address(), c.shop.address());
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 1_000_000, 2)));
    // Empty the account (the fee of this transfer included).
    let (held, other) = (c.balance(&user, KRW), c.users[1].address());
    ok(&run_one(
        &mut c,
        |c| &c.users[0],
        transfer(&other, KRW, held - FEE),
    ));
    assert_eq!(c.balance(&user, KRW), 0);
    // Two fees' worth arrives in the due block, at whose end the undrawn line closes:
    // the next payment finds no open standby line.
    let pay = Call::Pay(calls::Pay {
        merchant: shop,
        asset: KRW,
        amount: 1_000,
        reference: String::new(),
    });
    let fund = transfer(&user, KRW, 2 * FEE);
    ok(&run_one(&mut c, |c| &c.users[1], fund));
    let r = run_one(&mut c, |c| &c.users[0], pay.clone());
    assert!(matches!(failure(&r), CallError::InsufficientBalance { .. }));
    assert_eq!(
        line(&c, &user, 0).status,
        LineStatus::Repaid,
        "closed undrawn"
    );
    // A new line becomes the standby line.
    ok(&run_one(&mut c, |c| &c.bank, open(&user, 5_000, 10)));
    // Its fee takes the last two units; the line lends the whole payment.
    let r = run_one(&mut c, |c| &c.users[0], pay);
    ok(&r);
    assert_eq!(line(&c, &user, 1).outstanding, 1_000);
}
