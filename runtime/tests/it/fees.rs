//! Fees: sponsorships, co-signing fee payers, the base fee that follows block fullness,
//! and volume tiers (runtime/src/fees.rs; docs/economy.md, "Fees").

use crate::support::*;
use jeon_runtime::fees::{
    sponsored_days, sponsorships_for, sponsorships_of, Beneficiary, FeeMarket, FeeRules, FeeTier,
    SponsoredDay, Volume, FULL_FEE_BPS,
};
use jeon_runtime::state::{keys, read_record};
use jeon_runtime::{calls, events};
use jeon_runtime::{
    Address, Amount, Call, CallError, Event, Keypair, Outcome, Overlay, Params, SignedTx, StateExt,
    StateRead, TxError, VerifiedTx,
};

/// A day, the sponsorship period of most tests.
const DAY_MS: u64 = 86_400_000;

/// The fee market of the base-fee and tier tests: the base fee holds at 4 transactions
/// per block and moves by at most an eighth per block.
fn market() -> FeeMarket {
    FeeMarket {
        base_fee_min: 8,
        base_fee_max: 40,
        target_txs_per_block: 4,
        change_denominator: 8,
        volume_window_blocks: 10,
        tiers: vec![
            FeeTier {
                min_txs: 5,
                fee_bps: 7_500,
            },
            FeeTier {
                min_txs: 10,
                fee_bps: 5_000,
            },
        ],
    }
}

/// The test consortium with `market` written as genesis would, and a first base fee of
/// `base` (params.fee_flat).
fn with_market(market: FeeMarket, base: Amount) -> Consortium {
    let mut c = Consortium::new();
    let mut params: Params = c.state.params().expect("params");
    params.fee_flat = base;
    let mut ov = Overlay::new(&c.state);
    ov.put(keys::params(), &params).expect("write");
    ov.put(jeon_runtime::economy::fees::storage::fee_market(), &market)
        .expect("write");
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
    c
}

/// The base fee of the next block.
fn base_fee(c: &Consortium) -> Amount {
    let params = c.state.params().expect("params");
    FeeRules::load(&c.state, &params, c.height + 1, 0)
        .expect("memory")
        .base_fee
}

/// A transaction from `key` naming `payer` as fee payer, with a fee limit of `limit`;
/// co-signed when `payer_key` is given.
fn paid_by(
    c: &Consortium,
    key: &Keypair,
    payer: Address,
    payer_key: Option<&Keypair>,
    call: Call,
) -> VerifiedTx {
    let nonce = c.state.nonce(&key.address()).expect("nonce");
    let mut b = body(key, nonce, call);
    b.fee_payer = Some(payer);
    let mut tx = b.sign(key);
    if let Some(k) = payer_key {
        tx = tx.sign_as_payer(k);
    }
    verified(tx)
}

fn sponsor(beneficiary: Beneficiary, budget: Amount, period_ms: u64) -> Call {
    Call::SponsorFees(calls::SponsorFees {
        beneficiary,
        asset: KRW,
        budget_per_period: budget,
        period_ms,
    })
}

fn pay_shop(c: &Consortium, amount: Amount) -> Call {
    Call::Pay(calls::Pay {
        merchant: c.shop.address(),
        asset: KRW,
        amount,
        reference: String::new(),
    })
}

fn success(receipts: &[jeon_runtime::Receipt]) {
    for r in receipts {
        assert_eq!(r.outcome, Outcome::Success, "{r:?}");
    }
}

#[test]
fn a_sponsored_transaction_leaves_the_users_fee_balance_untouched() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let shop = c.shop.address();
    let sponsoring = c.tx(
        &c.shop,
        sponsor(Beneficiary::Account(user.address()), 100, DAY_MS),
    );
    success(&c.run(&[sponsoring]));

    let (user_before, shop_before) = (c.balance(&user.address(), KRW), c.balance(&shop, KRW));
    let pts_to_bob = transfer(&c.users[1].address(), PTS, 7);
    let tx = paid_by(&c, &user, shop, None, pts_to_bob);
    let receipts = c.run(&[tx]);
    success(&receipts);
    assert_eq!(receipts[0].fee, FEE);
    assert_eq!(
        receipts[0].events[0],
        Event::FeeCharged(events::FeeCharged {
            payer: shop,
            asset: KRW,
            amount: FEE
        })
    );
    assert_eq!(c.balance(&user.address(), KRW), user_before, "not one unit");
    assert_eq!(c.balance(&shop, KRW), shop_before - FEE);
    assert_eq!(c.state.nonce(&user.address()).expect("nonce"), 1);
    let listed = sponsorships_of(&c.state, &shop, ctx(c.height).time_ms).expect("memory");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sponsorship.used, FEE);
    assert_eq!(listed[0].remaining, 100 - FEE);
}

#[test]
fn a_user_without_any_fee_asset_can_transact_when_sponsored() {
    let mut c = Consortium::new();
    let broke = Keypair::from_secret(c.users[USERS - 1].secret());
    assert_eq!(c.balance(&broke.address(), KRW), 0);
    let telco = c.telco.address();
    let s = c.tx(
        &c.telco,
        sponsor(Beneficiary::Account(broke.address()), 10, DAY_MS),
    );
    success(&c.run(&[s]));
    let tx = paid_by(&c, &broke, telco, None, transfer(&telco, PTS, 1));
    success(&c.run(&[tx]));
    assert_eq!(c.balance(&broke.address(), KRW), 0);
}

#[test]
fn a_co_signing_payer_pays_without_any_sponsorship() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let bank = Keypair::from_secret(c.bank.secret());
    let before = c.balance(&user.address(), KRW);
    let bank_before = c.balance(&bank.address(), KRW);
    let tx = paid_by(
        &c,
        &user,
        bank.address(),
        Some(&bank),
        transfer(&c.users[1].address(), KRW, 5),
    );
    success(&c.run(&[tx]));
    assert_eq!(c.balance(&user.address(), KRW), before - 5);
    assert_eq!(c.balance(&bank.address(), KRW), bank_before - FEE);
}

#[test]
fn a_named_payer_that_neither_signs_nor_sponsors_is_refused() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let shop = c.shop.address();
    let tx = paid_by(&c, &user, shop, None, pay_shop(&c, 10));
    let before = c.state.clone();
    let receipts = c.run(&[tx]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Invalid(TxError::NotSponsored { sponsor: shop })
    );
    assert_eq!(without_history(&c.state), without_history(&before));
}

#[test]
fn an_exhausted_sponsor_budget_is_a_clear_error_and_the_budget_returns_next_period() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let shop = c.shop.address();
    // Periods of 3 blocks (blocks are 1 s apart): two fees per period.
    let s = c.tx(
        &c.shop,
        sponsor(Beneficiary::Account(user.address()), 2 * FEE, 3_000),
    );
    success(&c.run(&[s]));
    // Align to the start of a period so the next three blocks share it.
    while !ctx(c.height + 1).time_ms.is_multiple_of(3_000) {
        c.run(&[]);
    }
    let to_bob = transfer(&c.users[1].address(), PTS, 1);
    let mut block = Vec::new();
    for n in 0..3 {
        let mut b = body(&user, n, to_bob.clone());
        b.fee_payer = Some(shop);
        block.push(verified(b.sign(&user)));
    }
    let shop_before = c.balance(&shop, KRW);
    let receipts = c.run(&block);
    assert_eq!(receipts[0].outcome, Outcome::Success);
    assert_eq!(receipts[1].outcome, Outcome::Success);
    let exhausted = TxError::SponsorBudgetExhausted {
        sponsor: shop,
        budget: 2 * FEE,
        remaining: 0,
        fee: FEE,
    };
    assert_eq!(receipts[2].outcome, Outcome::Invalid(exhausted.clone()));
    assert_eq!(
        exhausted.to_string(),
        format!(
            "sponsor {shop}'s fee budget is exhausted: 0 of {} left this period, the fee is {FEE}",
            2 * FEE
        )
    );
    assert_eq!(
        c.balance(&shop, KRW),
        shop_before - 2 * FEE,
        "never past the budget"
    );
    // Still the same period: refused again.
    let again = paid_by(&c, &user, shop, None, to_bob.clone());
    assert_eq!(
        c.run(&[again])[0].outcome,
        Outcome::Invalid(exhausted.clone())
    );
    // The next period has the whole budget again.
    c.run(&[]);
    let next = paid_by(&c, &user, shop, None, to_bob);
    success(&c.run(&[next]));
}

#[test]
fn all_customers_covers_only_transactions_addressed_to_the_sponsor() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let shop = c.shop.address();
    let s = c.tx(&c.shop, sponsor(Beneficiary::AllCustomers, 1_000, DAY_MS));
    success(&c.run(&[s]));
    let before = c.balance(&user.address(), KRW);

    let payment = paid_by(&c, &user, shop, None, pay_shop(&c, 100));
    success(&c.run(&[payment]));
    assert_eq!(
        c.balance(&user.address(), KRW),
        before - 100,
        "the fee was the shop's"
    );

    let elsewhere = paid_by(
        &c,
        &user,
        shop,
        None,
        transfer(&c.users[1].address(), KRW, 1),
    );
    assert_eq!(
        c.run(&[elsewhere])[0].outcome,
        Outcome::Invalid(TxError::NotSponsored { sponsor: shop })
    );
}

#[test]
fn a_failed_sponsored_call_still_spends_the_budget_and_only_the_fee() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let shop = c.shop.address();
    let s = c.tx(
        &c.shop,
        sponsor(Beneficiary::Account(user.address()), 50, DAY_MS),
    );
    success(&c.run(&[s]));
    let too_much = transfer(&c.users[1].address(), PTS, USER_PTS + 1);
    let tx = paid_by(&c, &user, shop, None, too_much);
    let user_before = c.balance(&user.address(), KRW);
    let receipts = c.run(&[tx]);
    assert!(matches!(receipts[0].outcome, Outcome::Failed(_)));
    assert_eq!(receipts[0].fee, FEE);
    assert_eq!(c.balance(&user.address(), KRW), user_before);
    let listed = sponsorships_of(&c.state, &shop, ctx(c.height).time_ms).expect("memory");
    assert_eq!(listed[0].sponsorship.used, FEE);
}

#[test]
fn sponsor_fees_checks_its_arguments_and_a_zero_budget_withdraws() {
    let mut c = Consortium::new();
    let user = c.users[0].address();
    let shop = c.shop.address();
    let cases = [
        (
            c.tx(&c.users[1], sponsor(Beneficiary::Account(user), 5, DAY_MS)),
            CallError::NotAPartner {
                account: c.users[1].address(),
            },
        ),
        (
            c.tx(
                &c.shop,
                Call::SponsorFees(calls::SponsorFees {
                    beneficiary: Beneficiary::Account(user),
                    asset: PTS,
                    budget_per_period: 5,
                    period_ms: DAY_MS,
                }),
            ),
            CallError::NotFeeAsset {
                asset: PTS,
                fee_asset: KRW,
            },
        ),
        (
            c.tx(&c.telco, sponsor(Beneficiary::Account(user), 5, 0)),
            CallError::ZeroPeriod,
        ),
        (
            c.tx(
                &c.bank,
                sponsor(Beneficiary::Account(c.bank.address()), 5, 1),
            ),
            CallError::SelfSponsorship,
        ),
        (
            c.tx(&c.users[2], sponsor(Beneficiary::AllCustomers, 0, 1)),
            CallError::NotAPartner {
                account: c.users[2].address(),
            },
        ),
    ];
    for (tx, expected) in cases {
        assert_eq!(c.run(&[tx])[0].outcome, Outcome::Failed(expected));
    }
    let withdraw_nothing = c.tx(&c.shop, sponsor(Beneficiary::AllCustomers, 0, DAY_MS));
    assert_eq!(
        c.run(&[withdraw_nothing])[0].outcome,
        Outcome::Failed(CallError::UnknownSponsorship)
    );
    let on = c.tx(&c.shop, sponsor(Beneficiary::Account(user), 5, DAY_MS));
    success(&c.run(&[on]));
    assert_eq!(
        sponsorships_of(&c.state, &shop, 0).expect("memory").len(),
        1
    );
    let off = c.tx(&c.shop, sponsor(Beneficiary::Account(user), 0, DAY_MS));
    success(&c.run(&[off]));
    assert!(sponsorships_of(&c.state, &shop, 0)
        .expect("memory")
        .is_empty());
    let user_key = Keypair::from_secret(c.users[0].secret());
    let tx = paid_by(&c, &user_key, shop, None, transfer(&shop, PTS, 1));
    assert_eq!(
        c.run(&[tx])[0].outcome,
        Outcome::Invalid(TxError::NotSponsored { sponsor: shop })
    );
}

#[test]
fn an_accounts_sponsors_are_listed_from_the_index_until_withdrawn() {
    let mut c = Consortium::new();
    let user = c.users[0].address();
    let (shop, telco) = (c.shop.address(), c.telco.address());
    let listed = |c: &Consortium| {
        sponsorships_for(&c.state, &user, ctx(c.height).time_ms)
            .expect("memory")
            .into_iter()
            .map(|s| {
                (
                    s.sponsorship.sponsor,
                    s.sponsorship.beneficiary,
                    s.remaining,
                )
            })
            .collect::<Vec<_>>()
    };
    assert!(listed(&c).is_empty(), "nobody sponsors anyone at genesis");
    let (shop_key, telco_key) = (
        Keypair::from_secret(c.shop.secret()),
        Keypair::from_secret(c.telco.secret()),
    );
    let offers = [
        (&shop_key, Beneficiary::Account(user), 50),
        (&telco_key, Beneficiary::Account(user), 7),
        (&telco_key, Beneficiary::AllCustomers, 900),
        (&shop_key, Beneficiary::Account(c.users[1].address()), 5),
    ];
    for (who, beneficiary, budget) in offers {
        let tx = c.tx(who, sponsor(beneficiary, budget, DAY_MS));
        success(&c.run(&[tx]));
    }
    let mut own = vec![(shop, 50), (telco, 7)];
    own.sort();
    let mut expected: Vec<_> = own
        .into_iter()
        .map(|(s, b)| (s, Beneficiary::Account(user), b))
        .collect();
    expected.push((telco, Beneficiary::AllCustomers, 900));
    assert_eq!(
        listed(&c),
        expected,
        "another user's sponsorship is not listed"
    );

    // Spending shows in what is left; withdrawing removes the index entry.
    let user_key = Keypair::from_secret(c.users[0].secret());
    let tx = paid_by(&c, &user_key, shop, None, transfer(&telco, PTS, 1));
    success(&c.run(&[tx]));
    assert!(listed(&c).contains(&(shop, Beneficiary::Account(user), 50 - FEE)));
    let today = jeon_runtime::economy::period_of(ctx(c.height).time_ms);
    assert_eq!(
        sponsored_days(&c.state, &shop, today.saturating_sub(3), today + 3).expect("memory"),
        vec![(today, SponsoredDay { txs: 1, fees: FEE })],
        "the day's record counts what the sponsorship paid"
    );
    assert!(sponsored_days(&c.state, &telco, 0, today)
        .expect("memory")
        .is_empty());
    let off = c.tx(&c.shop, sponsor(Beneficiary::Account(user), 0, DAY_MS));
    success(&c.run(&[off]));
    assert!(c
        .state
        .get(&jeon_runtime::fees::storage::sponsored_by(&user, &shop))
        .expect("memory")
        .is_none());
    assert_eq!(
        listed(&c),
        vec![
            (telco, Beneficiary::Account(user), 7),
            (telco, Beneficiary::AllCustomers, 900)
        ]
    );
}

#[test]
fn payer_signatures_are_checked_and_bound_to_the_named_payer() {
    let c = Consortium::new();
    let user = &c.users[0];
    let bank = &c.bank;
    let call = transfer(&c.users[1].address(), KRW, 1);
    let mut b = body(user, 0, call);
    b.fee_payer = Some(bank.address());
    let good = b.clone().sign(user).sign_as_payer(bank);
    assert!(good.clone().verify(&CHAIN).is_ok());

    // Signed by someone else than the named payer.
    let wrong = b.clone().sign(user).sign_as_payer(&c.telco);
    assert!(matches!(
        wrong.verify(&CHAIN),
        Err(TxError::BadPayerSignature(_))
    ));
    // The sender's own signature does not stand for the payer's (another domain).
    let reused = SignedTx {
        payer_signature: Some(bank.sign(&b.signing_bytes())),
        ..b.clone().sign(user)
    };
    assert!(matches!(
        reused.verify(&CHAIN),
        Err(TxError::BadPayerSignature(_))
    ));
    // A payer signature with no payer named.
    let mut unnamed = good.clone();
    unnamed.body.fee_payer = None;
    assert_eq!(
        unnamed.verify(&CHAIN),
        Err(TxError::UnexpectedPayerSignature)
    );
    // The sender as its own payer.
    let mut own = body(user, 0, transfer(&c.users[1].address(), KRW, 1));
    own.fee_payer = Some(user.address());
    assert_eq!(own.sign(user).verify(&CHAIN), Err(TxError::PayerIsSender));
    // The batch path agrees with the single path on each.
    let batch = jeon_runtime::tx::verify_batch(vec![good, wrong_payer(&c)], &CHAIN);
    assert!(batch[0].is_ok());
    assert!(matches!(batch[1], Err(TxError::BadPayerSignature(_))));
}

fn wrong_payer(c: &Consortium) -> SignedTx {
    let mut b = body(&c.users[0], 1, transfer(&c.users[1].address(), KRW, 1));
    b.fee_payer = Some(c.bank.address());
    b.sign(&c.users[0]).sign_as_payer(&c.shop)
}

#[test]
fn a_co_signing_payer_without_the_fee_asset_makes_the_transaction_invalid() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    let broke = Keypair::from_secret(c.users[USERS - 1].secret());
    let tx = paid_by(
        &c,
        &user,
        broke.address(),
        Some(&broke),
        transfer(&c.users[1].address(), KRW, 1),
    );
    assert_eq!(
        c.run(&[tx])[0].outcome,
        Outcome::Invalid(TxError::CannotPayFee {
            payer: broke.address(),
            asset: KRW,
            required: FEE,
            available: 0,
        })
    );
}

#[test]
fn the_base_fee_rises_under_full_blocks_and_falls_when_empty_within_its_bounds() {
    let m = market();
    let mut c = with_market(m.clone(), 16);
    let mut senders: Vec<Keypair> = (0..USERS - 1)
        .map(|i| Keypair::from_secret(c.users[i].secret()))
        .collect();
    senders.push(Keypair::from_secret(c.bank.secret()));
    senders.push(Keypair::from_secret(c.telco.secret()));
    senders.push(Keypair::from_secret(c.shop.secret()));
    let mut seen = vec![base_fee(&c)];
    // Full blocks (8 transactions, twice the target): the fee rises by an eighth, then
    // stops at the ceiling.
    for _ in 0..12 {
        let base = base_fee(&c);
        let block: Vec<VerifiedTx> = senders
            .iter()
            .cycle()
            .take(8)
            .enumerate()
            .map(|(i, k)| {
                let nonce =
                    c.state.nonce(&k.address()).expect("nonce") + (i / senders.len()) as u64;
                let mut b = body(k, nonce, transfer(&c.users[1].address(), KRW, 1));
                b.fee_limit = m.base_fee_max;
                verified(b.sign(k))
            })
            .collect();
        let receipts = c.run(&block);
        assert!(receipts.iter().all(|r| r.fee > 0 && r.fee <= base));
        let next = base_fee(&c);
        assert!(next > base || next == m.base_fee_max, "{base} -> {next}");
        assert!(
            next - base <= (base / 8).max(1),
            "bounded per block: {base} -> {next}"
        );
        seen.push(next);
    }
    assert_eq!(*seen.last().expect("some"), m.base_fee_max);
    assert_eq!(
        &seen[..4],
        &[16, 18, 20, 22],
        "+max(1, floor(b/8)) per full block"
    );
    // Empty blocks: it falls by an eighth, then stops at the floor.
    for _ in 0..20 {
        let base = base_fee(&c);
        c.run(&[]);
        let next = base_fee(&c);
        assert!(next < base || next == m.base_fee_min, "{base} -> {next}");
        assert!(
            base - next <= base / 8,
            "bounded per block: {base} -> {next}"
        );
    }
    assert_eq!(base_fee(&c), m.base_fee_min);
    // A block at the target leaves it where it is.
    let at_target: Vec<VerifiedTx> = senders[..4]
        .iter()
        .map(|k| c.tx(k, transfer(&c.users[1].address(), KRW, 1)))
        .collect();
    c.run(&at_target);
    assert_eq!(base_fee(&c), m.base_fee_min);
}

#[test]
fn a_fee_limit_below_the_current_base_fee_is_invalid() {
    let mut c = with_market(market(), 16);
    let user = Keypair::from_secret(c.users[0].secret());
    let mut b = body(&user, 0, transfer(&c.users[1].address(), KRW, 1));
    b.fee_limit = 15;
    let receipts = c.run(&[verified(b.sign(&user))]);
    assert_eq!(
        receipts[0].outcome,
        Outcome::Invalid(TxError::FeeTooLow {
            limit: 15,
            required: 16
        })
    );
}

#[test]
fn a_high_volume_sender_pays_its_tiers_lower_fee() {
    let m = market();
    let mut c = with_market(m.clone(), 8);
    let user = Keypair::from_secret(c.users[0].secret());
    let quiet = Keypair::from_secret(c.users[1].secret());
    let mut fees = Vec::new();
    // Blocks of four (at the target: the base fee stays 8): 12 transactions in 3 blocks.
    for block in 0..3u64 {
        let txs: Vec<VerifiedTx> = (0..4)
            .map(|i| {
                let mut b = body(&user, block * 4 + i, transfer(&quiet.address(), KRW, 1));
                b.fee_limit = m.base_fee_max;
                verified(b.sign(&user))
            })
            .collect();
        let receipts = c.run(&txs);
        fees.extend(receipts.iter().map(|r| r.fee));
    }
    // Volume before each transaction: 0..4 pay 8 (full), 5..9 pay 6 (75 %), 10.. pay 4.
    assert_eq!(fees, vec![8, 8, 8, 8, 8, 6, 6, 6, 6, 6, 4, 4]);
    assert_eq!(base_fee(&c), 8, "blocks at the target keep the base fee");
    // Someone with no volume still pays the full base fee in the same block.
    let mut q = body(&quiet, 0, transfer(&user.address(), KRW, 1));
    q.fee_limit = m.base_fee_max;
    let quiet_tx = verified(q.sign(&quiet));
    let mut b = body(&user, 12, transfer(&quiet.address(), KRW, 1));
    b.fee_limit = m.base_fee_max;
    let receipts = c.run(&[quiet_tx, verified(b.sign(&user))]);
    assert_eq!(receipts[0].fee, 8);
    assert_eq!(receipts[1].fee, 4);
}

#[test]
fn volume_is_counted_over_a_rolling_window() {
    let w = 10;
    let v = Volume {
        window: 3,
        current: 20,
        previous: 40,
    };
    // At the start of window 3 all of the previous one still counts, at its end little.
    assert_eq!(v.estimate(30, w), 20 + 40);
    assert_eq!(v.estimate(35, w), 20 + 20);
    assert_eq!(v.estimate(39, w), 20 + 4);
    // In the next window the current count becomes the previous one.
    assert_eq!(v.estimate(40, w), 20);
    assert_eq!(v.estimate(45, w), 10);
    // Two windows later nothing is left.
    assert_eq!(v.estimate(50, w), 0);
    assert_eq!(
        v.record(41, w),
        Volume {
            window: 4,
            current: 1,
            previous: 20
        }
    );
    assert_eq!(
        v.record(55, w),
        Volume {
            window: 5,
            current: 1,
            previous: 0
        }
    );
}

#[test]
fn the_fee_market_rules_are_checked_with_the_field_named() {
    let ok = market();
    assert_eq!(ok.check(8, 100), Ok(()));
    let below = ok.check(7, 100).expect_err("below the floor").to_string();
    assert!(below.contains("params.fee_flat 7"), "{below}");
    let mut m = market();
    m.tiers[1].fee_bps = 9_000;
    let e = m
        .check(8, 100)
        .expect_err("more volume costs more")
        .to_string();
    assert!(e.contains("tiers[1].fee_bps"), "{e}");
    let mut m = market();
    m.tiers[1].min_txs = 5;
    assert!(m
        .check(8, 100)
        .expect_err("not increasing")
        .to_string()
        .contains("tiers[1].min_txs"));
    let mut m = market();
    m.tiers[0].fee_bps = FULL_FEE_BPS + 1;
    assert!(m
        .check(8, 100)
        .expect_err("above 100 %")
        .to_string()
        .contains("tiers[0].fee_bps"));
    let mut m = market();
    m.target_txs_per_block = 0;
    assert!(m
        .check(8, 100)
        .expect_err("zero")
        .to_string()
        .contains("target_txs_per_block"));
    let mut m = market();
    m.base_fee_min = 50;
    assert!(m
        .check(8, 100)
        .expect_err("min above max")
        .to_string()
        .contains("base_fee_min"));
}

#[test]
fn without_a_market_the_fee_is_flat_and_no_volume_is_recorded() {
    let mut c = Consortium::new();
    let user = Keypair::from_secret(c.users[0].secret());
    for _ in 0..3 {
        let txs: Vec<VerifiedTx> = (0..3)
            .map(|i| {
                let n = c.state.nonce(&user.address()).expect("nonce") + i;
                verified(sign(&user, n, transfer(&c.users[1].address(), KRW, 1)))
            })
            .collect();
        let receipts = c.run(&txs);
        assert!(receipts.iter().all(|r| r.fee == FEE));
    }
    assert_eq!(base_fee(&c), FEE);
    let volume: Option<Volume> = read_record(
        &c.state,
        &jeon_runtime::economy::fees::storage::volume(&user.address()),
    )
    .expect("memory");
    assert_eq!(volume, None);
}
