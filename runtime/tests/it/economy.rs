//! The micro-value economy, told as the demo town's stories: a ₩500 coffee with 10 %
//! VAT, cashback and stamps from the cafe, redemption for goods and cash-out, cafe
//! credits converted into game credits, and the partners' settlement.

use jeon_runtime::{calls, events};
use std::rc::Rc;

use crate::support::{
    check_invariants, diff, economy_genesis, genesis_state, sign, verified, CHAIN,
};
use jeon_runtime::economy::exchange::NetPosition;
use jeon_runtime::economy::history::EventPosition;
use jeon_runtime::economy::query::{self, QueryError};
use jeon_runtime::economy::{
    period_of, EconomyParams, Jurisdiction, RedeemKind, RewardKind, SkipReason, ESCROW_ACCOUNT,
    MERCHANT_RULES_MAX, QUERY_PERIODS_MAX, REDEMPTIONS_SWEPT_PER_BLOCK_MAX,
};
use jeon_runtime::execute::execute_block;
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, BlockContext, Call, CallError, Event, Height, Keypair,
    MemoryState, Outcome, Params, Partner, Receipt, Role, StateExt, VerifiedTx,
};

/// KRW, 2 decimals: 100 units = ₩1.
const KRW: AssetId = AssetId(0);
/// The cafe's cashback credits.
const CAFE: AssetId = AssetId(1);
/// The cafe's stamps.
const STAMP: AssetId = AssetId(2);
/// The cafe's voucher (10 stamps redeem for one).
const VOUCHER: AssetId = AssetId(3);
/// The game studio's credits.
const GEM: AssetId = AssetId(4);
/// ₩500 in KRW units.
const WON_500: Amount = 50_000;
/// Each user's KRW: ₩1,000,000.
const USER_KRW: Amount = 100_000_000;
/// The game studio's GEM liquidity.
const GEM_FLOAT: Amount = 1_000_000;
/// Blocks the cafe has to settle a redemption.
const WINDOW: Height = 5;
/// The first block's time: 2025-11-26T00:00:00Z, the start of day 20418.
const DAY_START_MS: u64 = 1_764_115_200_000;
const DAY_MS: u64 = 86_400_000;
const FEE: Amount = 1;

/// The dev consortium: a bank, a cafe and a game studio (merchants and issuers), the
/// KR tax authority at 10 %, and two users.
struct Town {
    bank: Rc<Keypair>,
    cafe: Rc<Keypair>,
    games: Rc<Keypair>,
    alice: Rc<Keypair>,
    bob: Rc<Keypair>,
    tax: Address,
    state: MemoryState,
    height: Height,
    time_ms: u64,
}

impl Town {
    fn new() -> Self {
        let [bank, cafe, games, alice, bob] = [
            "hanbit-bank",
            "dalbit-cafe",
            "pixel-forge-games",
            "alice",
            "bob",
        ]
        .map(|label| Rc::new(Keypair::from_seed_label(label)));
        let tax = Keypair::from_seed_label("kr-tax-authority").address();
        let partner = |name: &str, key: &Keypair, roles: &[Role]| Partner {
            name: name.into(),
            account: key.address(),
            roles: roles.to_vec(),
            jurisdiction: "KR".into(),
        };
        let partners = [
            partner("Hanbit Bank", &bank, &[Role::Validator, Role::Issuer]),
            partner("Dalbit Cafe", &cafe, &[Role::Issuer, Role::Merchant]),
            partner("Pixel Forge Games", &games, &[Role::Issuer, Role::Merchant]),
        ];
        let (b, c, g) = (bank.address(), cafe.address(), games.address());
        let assets = [
            (KRW, "KRW", 2, b, AssetKind::Money),
            (CAFE, "CAFE", 2, c, AssetKind::Credit),
            (STAMP, "STAMP", 0, c, AssetKind::Credit),
            (VOUCHER, "VOUCHER", 0, c, AssetKind::Credit),
            (GEM, "GEM", 0, g, AssetKind::Credit),
        ];
        let balances = [
            (b, KRW, 1_000_000_000_000),
            (c, KRW, 1_000_000_000),
            (g, KRW, 1_000_000_000),
            (g, GEM, GEM_FLOAT),
            (alice.address(), KRW, USER_KRW),
            (bob.address(), KRW, USER_KRW),
        ];
        let params = Params {
            fee_asset: KRW,
            fee_flat: FEE,
            fee_collector: b,
            block_txs_max: 10_000,
            block_bytes_max: 8 << 20,
        };
        let mut state = genesis_state(&params, &partners, &assets, &balances);
        let kr = Jurisdiction {
            code: "KR".into(),
            tax_bps: 1_000,
            authority: tax,
        };
        let economy = EconomyParams {
            redemption_window_blocks: WINDOW,
        };
        economy_genesis(&mut state, &[kr], economy, &[]);
        Town {
            bank,
            cafe,
            games,
            alice,
            bob,
            tax,
            state,
            height: 0,
            time_ms: DAY_START_MS,
        }
    }

    fn tx(&self, key: &Keypair, call: Call) -> VerifiedTx {
        let nonce = self.state.nonce(&key.address()).expect("nonce");
        verified(sign(key, nonce, call))
    }

    /// Executes the next block (one second after the last), checks every invariant
    /// (supply, escrow, app hash) and commits it; returns receipts and block events.
    fn block(&mut self, txs: &[VerifiedTx]) -> (Vec<Receipt>, Vec<Event>) {
        self.height += 1;
        self.time_ms += 1_000;
        let ctx = BlockContext {
            chain_id: CHAIN,
            height: self.height,
            time_ms: self.time_ms,
            proposer: self.bank.address(),
        };
        let out = execute_block(&self.state, &ctx, txs).expect("memory");
        self.state.apply(&out.changes);
        check_invariants(&self.state, out.app_hash);
        (out.receipts, out.block_events)
    }

    /// Runs one transaction in its own block; its receipt.
    fn run(&mut self, key: &Keypair, call: Call) -> Receipt {
        let tx = self.tx(key, call);
        self.block(&[tx]).0.remove(0)
    }

    /// Runs one transaction that must succeed; its events after the fee.
    fn ok(&mut self, key: &Keypair, call: Call) -> Vec<Event> {
        let r = self.run(key, call);
        assert_eq!(r.outcome, Outcome::Success, "{:?}", r.events);
        r.events[1..].to_vec()
    }

    /// Runs one transaction that must fail with `error`, and checks it changed only the
    /// sender's fee and nonce (and the collector's fee).
    fn fails(&mut self, key: &Keypair, call: Call, error: CallError) {
        let before = self.state.clone();
        let r = self.run(key, call);
        assert_eq!(r.outcome, Outcome::Failed(error));
        let who = key.address();
        let mut expected = vec![
            jeon_runtime::state::keys::nonce(&who),
            jeon_runtime::state::keys::balance(&who, KRW),
            jeon_runtime::state::keys::balance(&self.bank.address(), KRW),
        ];
        expected.sort();
        expected.dedup();
        let changed: Vec<Vec<u8>> = diff(&before, &self.state).into_keys().collect();
        assert_eq!(
            changed, expected,
            "a failed call changed more than fee and nonce"
        );
    }

    fn balance(&self, who: &Address, asset: AssetId) -> Amount {
        self.state.balance(who, asset).expect("balance")
    }

    fn supply(&self, asset: AssetId) -> Amount {
        self.state
            .asset(asset)
            .expect("read")
            .expect("asset")
            .supply
    }

    fn next_day(&mut self) {
        self.time_ms += DAY_MS;
    }

    fn period(&self) -> u64 {
        period_of(self.time_ms)
    }
}

fn pay(merchant: &Keypair, amount: Amount) -> Call {
    Call::Pay(calls::Pay {
        merchant: merchant.address(),
        asset: KRW,
        amount,
        reference: "order-1".into(),
    })
}

fn cashback(town: &Town, rate_bps: u16, cap: Amount) -> Call {
    Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![town.cafe.address()],
        pay_asset: KRW,
        kind: RewardKind::Cashback {
            rate_bps,
            asset: CAFE,
        },
        cap_per_user_per_period: cap,
        period_ms: DAY_MS,
    })
}

fn stamps(town: &Town, per_payment: Amount) -> Call {
    Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![town.cafe.address()],
        pay_asset: KRW,
        kind: RewardKind::Stamps {
            per_payment,
            asset: STAMP,
        },
        cap_per_user_per_period: 100,
        period_ms: DAY_MS,
    })
}

fn redeem(asset: AssetId, amount: Amount, kind: RedeemKind) -> Call {
    Call::Redeem(calls::Redeem {
        asset,
        amount,
        kind,
    })
}

fn cash_out(town: &Town, amount: Amount) -> Call {
    redeem(
        CAFE,
        amount,
        RedeemKind::CashOut {
            destination: town.alice.address(),
        },
    )
}

/// Gives `who` credits of the cafe by minting (the cafe issues CAFE).
fn give_cafe_credits(town: &mut Town, who: Address, amount: Amount) {
    let cafe = town.cafe.clone();
    town.ok(
        &cafe,
        Call::Mint(calls::Mint {
            asset: CAFE,
            to: who,
            amount,
        }),
    );
}

#[test]
fn a_500_won_coffee_at_a_10_percent_vat_merchant_withholds_50_won_for_the_tax_authority() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.address(), t.cafe.address());
    let cafe_before = t.balance(&cafe, KRW);
    let events = t.ok(&t.alice.clone(), pay(&t.cafe, WON_500));

    let period = t.period();
    assert_eq!(
        events,
        vec![
            Event::Paid(events::Paid {
                payer: alice,
                merchant: cafe,
                asset: KRW,
                amount: 50_000,
                tax: 5_000,
                reference: "order-1".into(),
            }),
            Event::TaxWithheld(events::TaxWithheld {
                payer: alice,
                merchant: cafe,
                jurisdiction: "KR".into(),
                authority: t.tax,
                asset: KRW,
                amount: 5_000,
                period,
            }),
        ]
    );
    assert_eq!(t.balance(&alice, KRW), USER_KRW - 50_000 - FEE);
    assert_eq!(t.balance(&cafe, KRW), cafe_before + 45_000);
    assert_eq!(t.balance(&t.tax, KRW), 5_000);
}

#[test]
fn a_fractional_tax_rounds_down_and_the_merchant_keeps_the_remainder() {
    let mut t = Town::new();
    let cafe = t.cafe.address();
    let before = t.balance(&cafe, KRW);
    let events = t.ok(&t.alice.clone(), pay(&t.cafe, 99));
    assert!(matches!(
        events[0],
        Event::Paid(events::Paid { tax: 9, .. })
    ));
    assert_eq!(t.balance(&cafe, KRW) - before, 90);
    assert_eq!(t.balance(&t.tax, KRW), 9);

    // 9 units at 10 % is 0.9: nothing is withheld, and no tax event is emitted.
    let events = t.ok(&t.alice.clone(), pay(&t.cafe, 9));
    assert_eq!(events.len(), 1);
    assert!(matches!(
        events[0],
        Event::Paid(events::Paid { tax: 0, .. })
    ));
    assert_eq!(t.balance(&cafe, KRW) - before, 99);
    assert_eq!(t.balance(&t.tax, KRW), 9);
}

#[test]
fn tax_is_reported_per_jurisdiction_per_day() {
    let mut t = Town::new();
    let alice = t.alice.clone();
    let first_day = t.period();
    t.ok(&alice, pay(&t.cafe, WON_500));
    t.ok(&alice, pay(&t.games, 1_000));
    t.next_day();
    t.ok(&alice, pay(&t.cafe, 99));

    let report = jeon_runtime::economy::pay::tax_withheld(&t.state, "KR", first_day, first_day + 1)
        .expect("query");
    let per_day: Vec<(u64, u128)> = report
        .entries
        .iter()
        .map(|e| (e.period, e.amount))
        .collect();
    assert_eq!(per_day, vec![(first_day, 5_100), (first_day + 1, 9)]);
    assert_eq!(report.totals, vec![(KRW, 5_109)]);
    let only_second =
        jeon_runtime::economy::pay::tax_withheld(&t.state, "KR", first_day + 1, first_day + 1);
    assert_eq!(only_second.expect("query").totals, vec![(KRW, 9)]);
    assert!(
        jeon_runtime::economy::pay::tax_withheld(&t.state, "JP", first_day, first_day + 1)
            .expect("query")
            .entries
            .is_empty()
    );
    assert_eq!(
        jeon_runtime::economy::pay::tax_withheld(&t.state, "KR", 0, QUERY_PERIODS_MAX),
        Err(QueryError::BadRange {
            from: 0,
            to: QUERY_PERIODS_MAX,
            max: QUERY_PERIODS_MAX
        })
    );
}

#[test]
fn a_payment_to_a_non_merchant_in_credits_or_to_oneself_fails_and_changes_only_fee_and_nonce() {
    let mut t = Town::new();
    let (alice, bank, cafe) = (t.alice.clone(), t.bank.clone(), t.cafe.clone());
    give_cafe_credits(&mut t, alice.address(), 500);
    let to_bank = pay(&bank, 100);
    t.fails(
        &alice,
        to_bank,
        CallError::NotAMerchant {
            account: bank.address(),
        },
    );
    let in_credits = Call::Pay(calls::Pay {
        merchant: cafe.address(),
        asset: CAFE,
        amount: 100,
        reference: String::new(),
    });
    t.fails(&alice, in_credits, CallError::NotMoney { asset: CAFE });
    t.fails(&cafe, pay(&cafe, 100), CallError::SelfPayment);
    let long = Call::Pay(calls::Pay {
        merchant: cafe.address(),
        asset: KRW,
        amount: 100,
        reference: "x".repeat(65),
    });
    t.fails(&alice, long, CallError::TextTooLong { len: 65, max: 64 });
    t.fails(
        &alice,
        pay(&cafe, USER_KRW),
        CallError::InsufficientBalance {
            asset: KRW,
            needed: USER_KRW,
            available: USER_KRW - 4 * FEE,
        },
    );
}

#[test]
fn cashback_is_minted_to_the_payer_and_capped_per_user_per_day() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    // 1 % cashback, at most 1 200 CAFE units (₩12) per user per day.
    let added = t.ok(&cafe, cashback(&t, 100, 1_200));
    assert_eq!(
        added,
        vec![Event::RewardRuleAdded(events::RewardRuleAdded {
            rule: 0,
            issuer: cafe.address()
        })]
    );
    let granted = |amount| {
        Event::RewardGranted(events::RewardGranted {
            rule: 0,
            issuer: cafe.address(),
            to: alice.address(),
            asset: CAFE,
            amount,
        })
    };
    assert_eq!(t.ok(&alice, pay(&cafe, WON_500))[2], granted(500));
    assert_eq!(t.ok(&alice, pay(&cafe, WON_500))[2], granted(500));
    // The third payment reaches the cap: only what is left of it is minted.
    assert_eq!(t.ok(&alice, pay(&cafe, WON_500))[2], granted(200));
    let capped = t.ok(&alice, pay(&cafe, WON_500));
    assert_eq!(
        capped[2],
        Event::RewardSkipped(events::RewardSkipped {
            rule: 0,
            issuer: cafe.address(),
            to: alice.address(),
            asset: CAFE,
            reason: SkipReason::CapReached { cap: 1_200 },
        })
    );
    assert_eq!(t.balance(&alice.address(), CAFE), 1_200);
    assert_eq!(t.supply(CAFE), 1_200);
    let rule = jeon_runtime::economy::rewards::reward_rule(&t.state, 0)
        .expect("read")
        .expect("rule");
    assert_eq!(
        jeon_runtime::economy::rewards::reward_used(&t.state, &rule, &alice.address(), t.time_ms),
        Ok(1_200)
    );
    // Bob's cap is his own; the next day alice's cap is fresh.
    assert_eq!(t.ok(&t.bob.clone(), pay(&cafe, WON_500)).len(), 3);
    t.next_day();
    assert_eq!(t.ok(&alice, pay(&cafe, WON_500))[2], granted(500));
    assert_eq!(t.balance(&alice.address(), CAFE), 1_700);
}

#[test]
fn a_reward_that_would_exceed_the_issuance_limit_is_skipped_visibly_and_the_payment_stands() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    let created = Call::CreateAsset(calls::CreateAsset {
        symbol: "BEAN".into(),
        decimals: 2,
        kind: AssetKind::Credit,
        supply_max: Some(700),
    });
    t.ok(&cafe, created);
    let bean = AssetId(5);
    assert_eq!(query::supply_max(&t.state, bean), Ok(Some(700)));
    let rule = Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![cafe.address()],
        pay_asset: KRW,
        kind: RewardKind::Cashback {
            rate_bps: 100,
            asset: bean,
        },
        cap_per_user_per_period: 1_000_000,
        period_ms: DAY_MS,
    });
    t.ok(&cafe, rule);
    t.ok(&alice, pay(&cafe, WON_500)); // 500 BEAN: supply 500 of 700
    let events = t.ok(&alice, pay(&cafe, WON_500));
    assert_eq!(
        events[2],
        Event::RewardSkipped(events::RewardSkipped {
            rule: 0,
            issuer: cafe.address(),
            to: alice.address(),
            asset: bean,
            reason: SkipReason::SupplyMaxReached { supply_max: 700 },
        })
    );
    assert!(matches!(
        events[0],
        Event::Paid(events::Paid {
            amount: WON_500,
            ..
        })
    ));
    assert_eq!(t.supply(bean), 500);
    // The issuer's own mint is held to the same limit.
    let mint = |amount| {
        Call::Mint(calls::Mint {
            asset: bean,
            to: alice.address(),
            amount,
        })
    };
    t.fails(
        &cafe,
        mint(201),
        CallError::SupplyMaxExceeded {
            asset: bean,
            supply_max: 700,
            supply: 500,
            amount: 201,
        },
    );
    t.ok(&cafe, mint(200));
    assert_eq!(t.supply(bean), 700);
}

#[test]
fn stamps_accumulate_per_payment_and_ten_redeem_for_a_voucher() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    t.ok(&cafe, stamps(&t, 1));
    let set = Call::SetStampReward(calls::SetStampReward {
        stamp_asset: STAMP,
        stamps: 10,
        reward_asset: VOUCHER,
        reward_amount: 1,
    });
    t.ok(&cafe, set);
    for _ in 0..10 {
        t.ok(&alice, pay(&cafe, WON_500));
    }
    assert_eq!(t.balance(&alice.address(), STAMP), 10);
    t.fails(
        &alice,
        Call::RedeemStamps(calls::RedeemStamps {
            stamp_asset: STAMP,
            count: 5,
        }),
        CallError::NotAMultiple {
            count: 5,
            stamps: 10,
        },
    );
    let events = t.ok(
        &alice,
        Call::RedeemStamps(calls::RedeemStamps {
            stamp_asset: STAMP,
            count: 10,
        }),
    );
    assert_eq!(
        events,
        vec![Event::StampsRedeemed(events::StampsRedeemed {
            user: alice.address(),
            stamp_asset: STAMP,
            stamps: 10,
            reward_asset: VOUCHER,
            reward_amount: 1,
        })]
    );
    assert_eq!(t.balance(&alice.address(), STAMP), 0);
    assert_eq!(t.supply(STAMP), 0);
    assert_eq!(t.balance(&alice.address(), VOUCHER), 1);
    // The voucher is then redeemed for goods at the cafe.
    let goods = RedeemKind::Goods {
        merchant: cafe.address(),
    };
    t.ok(&alice, redeem(VOUCHER, 1, goods));
    assert_eq!(t.balance(&ESCROW_ACCOUNT, VOUCHER), 1);
}

#[test]
fn a_group_rule_applies_at_every_listed_merchant_and_rules_apply_in_id_order() {
    let mut t = Town::new();
    let (alice, cafe, games) = (t.alice.clone(), t.cafe.clone(), t.games.clone());
    let group = Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![cafe.address(), games.address()],
        pay_asset: KRW,
        kind: RewardKind::Stamps {
            per_payment: 2,
            asset: STAMP,
        },
        cap_per_user_per_period: 100,
        period_ms: DAY_MS,
    });
    t.ok(&cafe, group); // rule 0
    t.ok(&cafe, cashback(&t, 100, 10_000)); // rule 1, cafe only
    let at_cafe = t.ok(&alice, pay(&cafe, WON_500));
    let rules: Vec<u64> = at_cafe
        .iter()
        .filter_map(|e| match e {
            Event::RewardGranted(events::RewardGranted { rule, .. }) => Some(*rule),
            _ => None,
        })
        .collect();
    assert_eq!(rules, vec![0, 1]);
    let at_games = t.ok(&alice, pay(&games, WON_500));
    assert!(matches!(
        at_games[2],
        Event::RewardGranted(events::RewardGranted {
            rule: 0,
            amount: 2,
            ..
        })
    ));
    assert_eq!(at_games.len(), 3);
    assert_eq!(
        jeon_runtime::economy::rewards::merchant_rules(&t.state, &cafe.address())
            .expect("read")
            .len(),
        2
    );
}

#[test]
fn only_the_rules_issuer_can_remove_it_and_a_merchant_holds_at_most_16_rules() {
    let mut t = Town::new();
    let (alice, cafe, games) = (t.alice.clone(), t.cafe.clone(), t.games.clone());
    for _ in 0..MERCHANT_RULES_MAX {
        t.ok(&cafe, stamps(&t, 1));
    }
    t.fails(
        &cafe,
        stamps(&t, 1),
        CallError::TooManyRules {
            merchant: cafe.address(),
            max: MERCHANT_RULES_MAX,
        },
    );
    // A payment applies all 16: its cost is bounded by the limit.
    let events = t.ok(&alice, pay(&cafe, WON_500));
    assert_eq!(events.len(), 2 + MERCHANT_RULES_MAX);
    t.fails(
        &games,
        Call::RemoveRewardRule(calls::RemoveRewardRule { id: 3 }),
        CallError::NotRuleIssuer {
            rule: 3,
            issuer: cafe.address(),
        },
    );
    t.ok(
        &cafe,
        Call::RemoveRewardRule(calls::RemoveRewardRule { id: 3 }),
    );
    t.fails(
        &cafe,
        Call::RemoveRewardRule(calls::RemoveRewardRule { id: 3 }),
        CallError::UnknownRule { rule: 3 },
    );
    assert_eq!(
        t.ok(&alice, pay(&cafe, WON_500)).len(),
        2 + MERCHANT_RULES_MAX - 1
    );
    // A rule in someone else's credits is refused.
    let foreign = Call::AddRewardRule(calls::AddRewardRule {
        merchants: vec![cafe.address()],
        pay_asset: KRW,
        kind: RewardKind::Stamps {
            per_payment: 1,
            asset: GEM,
        },
        cap_per_user_per_period: 1,
        period_ms: DAY_MS,
    });
    t.fails(
        &cafe,
        foreign,
        CallError::NotIssuer {
            asset: GEM,
            issuer: games.address(),
        },
    );
}

#[test]
fn a_settled_redemption_burns_the_escrowed_credits_and_the_partner_sees_it() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    let requested = t.ok(&alice, cash_out(&t, 300));
    let deadline = t.height + WINDOW;
    assert_eq!(
        requested,
        vec![Event::RedemptionRequested(events::RedemptionRequested {
            id: 0,
            issuer: cafe.address(),
            user: alice.address(),
            asset: CAFE,
            amount: 300,
            kind: RedeemKind::CashOut {
                destination: alice.address()
            },
            deadline,
        })]
    );
    assert_eq!(t.balance(&alice.address(), CAFE), 700);
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 300);
    assert_eq!(t.supply(CAFE), 1_000, "escrowed credits still exist");
    let pending = jeon_runtime::economy::redeem::pending_redemptions(&t.state, &cafe.address(), 10)
        .expect("read");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].deadline, deadline);

    let settled = t.ok(
        &cafe,
        Call::SettleRedemption(calls::SettleRedemption {
            id: 0,
            payout_reference: "bank-transfer-778".into(),
        }),
    );
    assert_eq!(
        settled,
        vec![Event::RedemptionSettled(events::RedemptionSettled {
            id: 0,
            issuer: cafe.address(),
            user: alice.address(),
            asset: CAFE,
            amount: 300,
            payout_reference: "bank-transfer-778".into(),
        })]
    );
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 0);
    assert_eq!(t.supply(CAFE), 700);
    assert_eq!(
        jeon_runtime::economy::redeem::redemption(&t.state, 0),
        Ok(None)
    );
    // The cafe's history shows the request and the settlement, newest first.
    let history =
        jeon_runtime::economy::history::account_events(&t.state, &cafe.address(), 10, None)
            .expect("read");
    assert!(matches!(
        history[0].event,
        Event::RedemptionSettled(events::RedemptionSettled { id: 0, .. })
    ));
    assert!(matches!(
        history[1].event,
        Event::RedemptionRequested(events::RedemptionRequested { id: 0, .. })
    ));
}

#[test]
fn a_rejected_redemption_refunds_the_user() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    t.ok(&alice, cash_out(&t, 400));
    let rejected = t.ok(
        &cafe,
        Call::RejectRedemption(calls::RejectRedemption {
            id: 0,
            reason: "account closed".into(),
        }),
    );
    assert!(matches!(
        rejected[0],
        Event::RedemptionRejected(events::RedemptionRejected { amount: 400, .. })
    ));
    assert_eq!(t.balance(&alice.address(), CAFE), 1_000);
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 0);
    assert_eq!(t.supply(CAFE), 1_000);
}

#[test]
fn an_unsettled_redemption_is_refunded_at_the_end_of_its_deadline_block() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    t.ok(&alice, cash_out(&t, 250));
    let deadline = t.height + WINDOW;
    while t.height + 1 < deadline {
        let (_, block_events) = t.block(&[]);
        assert!(block_events.is_empty());
    }
    assert_eq!(t.balance(&alice.address(), CAFE), 750);
    // The deadline block: the refund comes after the block's transactions.
    let (_, block_events) = t.block(&[]);
    assert_eq!(t.height, deadline);
    assert_eq!(
        block_events,
        vec![Event::RedemptionExpired(events::RedemptionExpired {
            id: 0,
            issuer: cafe.address(),
            user: alice.address(),
            asset: CAFE,
            amount: 250,
        })]
    );
    assert_eq!(t.balance(&alice.address(), CAFE), 1_000);
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 0);
    t.fails(
        &cafe,
        Call::SettleRedemption(calls::SettleRedemption {
            id: 0,
            payout_reference: String::new(),
        }),
        CallError::UnknownRedemption { id: 0 },
    );
    // Alice's history lists the refund as an end-of-block event.
    let history =
        jeon_runtime::economy::history::account_events(&t.state, &alice.address(), 1, None)
            .expect("read");
    assert!(history[0].is_block_event());
    assert_eq!(history[0].position.height, deadline);
}

#[test]
fn the_issuer_may_still_settle_in_the_deadline_block_itself() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    t.ok(&alice, cash_out(&t, 250));
    let deadline = t.height + WINDOW;
    while t.height + 1 < deadline {
        t.block(&[]);
    }
    let settle = t.tx(
        &cafe,
        Call::SettleRedemption(calls::SettleRedemption {
            id: 0,
            payout_reference: "late but in time".into(),
        }),
    );
    let (receipts, block_events) = t.block(&[settle]);
    assert!(receipts[0].is_success());
    assert!(block_events.is_empty(), "a settled request is not refunded");
    assert_eq!(t.supply(CAFE), 750);
}

#[test]
fn more_redemptions_due_than_one_block_sweeps_carry_over_to_the_next_block() {
    let mut t = Town::new();
    let users: Vec<Keypair> = (0..REDEMPTIONS_SWEPT_PER_BLOCK_MAX + 5)
        .map(|i| Keypair::from_seed_label(&format!("regular-{i}")))
        .collect();
    let cafe = t.cafe.clone();
    let nonce = t.state.nonce(&cafe.address()).expect("nonce");
    let fund: Vec<VerifiedTx> = users
        .iter()
        .enumerate()
        .flat_map(|(i, u)| {
            let n = nonce + 2 * i as u64;
            let krw = Call::Transfer(calls::Transfer {
                to: u.address(),
                asset: KRW,
                amount: 10,
            });
            let credits = Call::Mint(calls::Mint {
                asset: CAFE,
                to: u.address(),
                amount: 1,
            });
            [sign(&cafe, n, krw), sign(&cafe, n + 1, credits)].map(verified)
        })
        .collect();
    t.block(&fund);
    let redeems: Vec<VerifiedTx> = users
        .iter()
        .map(|u| {
            let call = redeem(
                CAFE,
                1,
                RedeemKind::CashOut {
                    destination: u.address(),
                },
            );
            verified(sign(u, 0, call))
        })
        .collect();
    let (receipts, _) = t.block(&redeems);
    assert!(receipts.iter().all(Receipt::is_success));
    while t.height + 1 < 2 + WINDOW {
        t.block(&[]);
    }
    let (_, at_deadline) = t.block(&[]);
    assert_eq!(at_deadline.len(), REDEMPTIONS_SWEPT_PER_BLOCK_MAX as usize);
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 5);
    let (_, next) = t.block(&[]);
    assert_eq!(next.len(), 5);
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 0);
    let (_, after) = t.block(&[]);
    assert!(after.is_empty());
}

#[test]
fn only_the_issuer_can_settle_or_reject_a_redemption() {
    let mut t = Town::new();
    let (alice, games) = (t.alice.clone(), t.games.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    t.ok(&alice, cash_out(&t, 300));
    let not_issuer = CallError::NotIssuer {
        asset: CAFE,
        issuer: t.cafe.address(),
    };
    let settle = Call::SettleRedemption(calls::SettleRedemption {
        id: 0,
        payout_reference: String::new(),
    });
    t.fails(&games, settle.clone(), not_issuer.clone());
    t.fails(&alice, settle, not_issuer.clone());
    let reject = Call::RejectRedemption(calls::RejectRedemption {
        id: 0,
        reason: String::new(),
    });
    t.fails(&alice, reject, not_issuer);
    assert_eq!(t.balance(&ESCROW_ACCOUNT, CAFE), 300);
}

#[test]
fn a_user_cannot_redeem_more_than_they_hold() {
    let mut t = Town::new();
    let alice = t.alice.clone();
    give_cafe_credits(&mut t, alice.address(), 1_000);
    t.fails(
        &alice,
        cash_out(&t, 1_001),
        CallError::InsufficientBalance {
            asset: CAFE,
            needed: 1_001,
            available: 1_000,
        },
    );
    t.fails(
        &alice,
        redeem(
            KRW,
            1,
            RedeemKind::CashOut {
                destination: alice.address(),
            },
        ),
        CallError::NotACredit { asset: KRW },
    );
    assert_eq!(
        jeon_runtime::economy::redeem::redemption(&t.state, 0),
        Ok(None)
    );
}

#[test]
fn the_escrow_account_cannot_be_paid_into_directly() {
    let mut t = Town::new();
    let (alice, cafe) = (t.alice.clone(), t.cafe.clone());
    let reserved = CallError::ReservedAccount {
        account: ESCROW_ACCOUNT,
    };
    let to_escrow = Call::Transfer(calls::Transfer {
        to: ESCROW_ACCOUNT,
        asset: KRW,
        amount: 1,
    });
    t.fails(&alice, to_escrow, reserved.clone());
    let mint = Call::Mint(calls::Mint {
        asset: CAFE,
        to: ESCROW_ACCOUNT,
        amount: 1,
    });
    t.fails(&cafe, mint, reserved);
}

/// The cafe proposes CAFE -> GEM at 1 CAFE unit = 2 GEM, a 2.5 % spread, a daily cap
/// of 5 000 CAFE units, settled at 3 KRW units per GEM; the studio accepts.
fn cafe_to_gem_agreement(t: &mut Town) {
    let (cafe, games) = (t.cafe.clone(), t.games.clone());
    let proposal = Call::ProposeExchange(calls::ProposeExchange {
        from_asset: CAFE,
        to_asset: GEM,
        rate_num: 2,
        rate_den: 1,
        spread_bps: 250,
        daily_cap: 5_000,
        settlement_asset: KRW,
        settlement_price: 3,
    });
    let proposed = t.ok(&cafe, proposal);
    assert_eq!(
        proposed,
        vec![Event::ExchangeProposed(events::ExchangeProposed {
            id: 0,
            proposer: cafe.address(),
            counterparty: games.address(),
            from_asset: CAFE,
            to_asset: GEM,
        })]
    );
    t.ok(
        &games,
        Call::AcceptExchange(calls::AcceptExchange { id: 0 }),
    );
}

fn convert(amount: Amount, min_out: Amount) -> Call {
    Call::Convert(calls::Convert {
        from_asset: CAFE,
        amount,
        to_asset: GEM,
        min_out,
    })
}

#[test]
fn a_conversion_at_a_rate_with_a_spread_moves_both_legs_and_books_the_spread() {
    let mut t = Town::new();
    let (alice, cafe, games) = (t.alice.clone(), t.cafe.clone(), t.games.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    cafe_to_gem_agreement(&mut t);
    let quote = jeon_runtime::economy::exchange::conversion_quote(&t.state, CAFE, GEM, 1_000)
        .expect("read");
    let (_, q) = quote.expect("active agreement");
    assert_eq!((q.gross, q.spread, q.out), (2_000, 50, 1_950));

    let events = t.ok(&alice, convert(1_000, 1_950));
    assert_eq!(
        events,
        vec![Event::Converted(events::Converted {
            agreement: 0,
            user: alice.address(),
            from_issuer: cafe.address(),
            to_issuer: games.address(),
            from_asset: CAFE,
            amount: 1_000,
            to_asset: GEM,
            out: 1_950,
            spread: 50,
        })]
    );
    assert_eq!(t.balance(&alice.address(), CAFE), 0);
    assert_eq!(t.balance(&cafe.address(), CAFE), 1_000);
    assert_eq!(t.balance(&alice.address(), GEM), 1_950);
    assert_eq!(t.balance(&games.address(), GEM), GEM_FLOAT - 1_950);
    assert_eq!((t.supply(CAFE), t.supply(GEM)), (1_000, GEM_FLOAT));

    let day = t.period();
    let report =
        jeon_runtime::economy::exchange::settlement_positions(&t.state, day, day).expect("query");
    assert_eq!(report.gross.len(), 1);
    let totals = report.gross[0].totals;
    assert_eq!(
        (
            totals.converted,
            totals.delivered,
            totals.spread,
            totals.owed
        ),
        (1_000, 1_950, 50, 5_850)
    );
    assert_eq!(
        report.net,
        vec![NetPosition {
            owes: cafe.address(),
            owed: games.address(),
            settlement_asset: KRW,
            amount: 5_850,
        }]
    );
}

#[test]
fn a_conversion_below_min_out_fails_and_changes_only_fee_and_nonce() {
    let mut t = Town::new();
    let alice = t.alice.clone();
    give_cafe_credits(&mut t, alice.address(), 1_000);
    cafe_to_gem_agreement(&mut t);
    t.fails(
        &alice,
        convert(1_000, 1_951),
        CallError::BelowMinOut {
            out: 1_950,
            min_out: 1_951,
        },
    );
    // One unit converts to 2 GEM, less a spread that rounds to nothing.
    t.fails(
        &alice,
        convert(1, 3),
        CallError::BelowMinOut { out: 2, min_out: 3 },
    );
    assert_eq!(t.balance(&alice.address(), CAFE), 1_000);
}

#[test]
fn a_conversion_above_the_daily_cap_fails_until_the_next_day() {
    let mut t = Town::new();
    let alice = t.alice.clone();
    give_cafe_credits(&mut t, alice.address(), 20_000);
    cafe_to_gem_agreement(&mut t);
    t.ok(&alice, convert(4_000, 0));
    t.fails(
        &alice,
        convert(1_001, 0),
        CallError::DailyCapExceeded {
            agreement: 0,
            cap: 5_000,
            used: 4_000,
            amount: 1_001,
        },
    );
    t.ok(&alice, convert(1_000, 0));
    assert_eq!(
        jeon_runtime::economy::exchange::exchange_used_today(&t.state, 0, t.time_ms),
        Ok(5_000)
    );
    t.next_day();
    t.ok(&alice, convert(5_000, 0));
}

#[test]
fn a_conversion_without_an_active_agreement_fails() {
    let mut t = Town::new();
    let (alice, cafe, games) = (t.alice.clone(), t.cafe.clone(), t.games.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    let none = CallError::NoAgreement {
        from_asset: CAFE,
        to_asset: GEM,
    };
    t.fails(&alice, convert(100, 0), none.clone());
    let proposal = Call::ProposeExchange(calls::ProposeExchange {
        from_asset: CAFE,
        to_asset: GEM,
        rate_num: 1,
        rate_den: 1,
        spread_bps: 0,
        daily_cap: 1_000,
        settlement_asset: KRW,
        settlement_price: 1,
    });
    t.ok(&cafe, proposal);
    // Proposed is not agreed: both issuers must consent.
    t.fails(&alice, convert(100, 0), none.clone());
    t.fails(
        &cafe,
        Call::AcceptExchange(calls::AcceptExchange { id: 0 }),
        CallError::NotCounterparty {
            id: 0,
            counterparty: games.address(),
        },
    );
    t.ok(
        &games,
        Call::AcceptExchange(calls::AcceptExchange { id: 0 }),
    );
    t.ok(&alice, convert(100, 100));
    // Either issuer can revoke; then conversions stop.
    let revoked = t.ok(&cafe, Call::RevokeExchange(calls::RevokeExchange { id: 0 }));
    assert!(matches!(
        revoked[0],
        Event::ExchangeRevoked(events::ExchangeRevoked { id: 0, .. })
    ));
    t.fails(&alice, convert(100, 0), none);
    t.fails(
        &alice,
        Call::RevokeExchange(calls::RevokeExchange { id: 0 }),
        CallError::UnknownExchange { id: 0 },
    );
}

#[test]
fn a_conversion_the_to_issuer_cannot_cover_fails_without_moving_the_first_leg() {
    let mut t = Town::new();
    let (alice, games, bob) = (t.alice.clone(), t.games.clone(), t.bob.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    cafe_to_gem_agreement(&mut t);
    // The studio moves its liquidity away.
    let away = Call::Transfer(calls::Transfer {
        to: bob.address(),
        asset: GEM,
        amount: GEM_FLOAT - 100,
    });
    t.ok(&games, away);
    t.fails(
        &alice,
        convert(100, 0),
        CallError::InsufficientLiquidity {
            issuer: games.address(),
            asset: GEM,
            needed: 195,
            available: 100,
        },
    );
    assert_eq!(t.balance(&alice.address(), CAFE), 1_000);
}

#[test]
fn net_settlement_positions_offset_conversions_in_both_directions() {
    let mut t = Town::new();
    let (alice, cafe, games) = (t.alice.clone(), t.cafe.clone(), t.games.clone());
    give_cafe_credits(&mut t, alice.address(), 1_000);
    cafe_to_gem_agreement(&mut t); // cafe owes 3 KRW units per GEM delivered
    let back = Call::ProposeExchange(calls::ProposeExchange {
        from_asset: GEM,
        to_asset: CAFE,
        rate_num: 1,
        rate_den: 4,
        spread_bps: 0,
        daily_cap: 100_000,
        settlement_asset: KRW,
        settlement_price: 10,
    });
    t.ok(&games, back);
    t.ok(&cafe, Call::AcceptExchange(calls::AcceptExchange { id: 1 }));
    t.ok(&alice, convert(100, 0)); // 195 GEM delivered: cafe owes 585
    let gem_to_cafe = Call::Convert(calls::Convert {
        from_asset: GEM,
        amount: 160,
        to_asset: CAFE,
        min_out: 40,
    });
    t.ok(&alice, gem_to_cafe); // 40 CAFE delivered: games owes 400
    let day = t.period();
    let report =
        jeon_runtime::economy::exchange::settlement_positions(&t.state, day, day).expect("query");
    assert_eq!(report.gross.len(), 2);
    assert_eq!(
        report.net,
        vec![NetPosition {
            owes: cafe.address(),
            owed: games.address(),
            settlement_asset: KRW,
            amount: 185,
        }]
    );
    assert!(
        jeon_runtime::economy::exchange::settlement_positions(&t.state, day + 1, day + 2)
            .expect("query")
            .net
            .is_empty()
    );
}

#[test]
fn an_accounts_history_lists_its_events_newest_first_in_pages() {
    let mut t = Town::new();
    let (alice, cafe, bob) = (t.alice.clone(), t.cafe.clone(), t.bob.clone());
    t.ok(&cafe, cashback(&t, 100, 1_000_000));
    t.ok(&alice, pay(&cafe, WON_500)); // Paid, TaxWithheld, RewardGranted
    let to_bob = Call::Transfer(calls::Transfer {
        to: bob.address(),
        asset: KRW,
        amount: 7,
    });
    t.ok(&alice, to_bob);
    let all = jeon_runtime::economy::history::account_events(&t.state, &alice.address(), 100, None)
        .expect("read");
    let kinds: Vec<&str> = all
        .iter()
        .map(|e| match e.event {
            Event::Transferred(events::Transferred { .. }) => "transferred",
            Event::RewardGranted(events::RewardGranted { .. }) => "reward",
            Event::TaxWithheld(events::TaxWithheld { .. }) => "tax",
            Event::Paid(events::Paid { .. }) => "paid",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["transferred", "reward", "tax", "paid"]);
    assert_eq!(
        all[0].position,
        EventPosition {
            height: t.height,
            tx_index: 0,
            event_index: 1
        }
    );
    let page = jeon_runtime::economy::history::account_events(
        &t.state,
        &alice.address(),
        2,
        Some(all[1].position),
    );
    assert_eq!(page.expect("read"), all[2..].to_vec());
    // Bob sees the transfer; the tax authority sees only the tax.
    let bobs = jeon_runtime::economy::history::account_events(&t.state, &bob.address(), 10, None)
        .expect("read");
    assert_eq!(bobs.len(), 1);
    let tax =
        jeon_runtime::economy::history::account_events(&t.state, &t.tax, 10, None).expect("read");
    assert!(matches!(
        tax[..],
        [jeon_runtime::economy::history::AccountEvent {
            event: Event::TaxWithheld(events::TaxWithheld { .. }),
            ..
        }]
    ));
}

/// docs/economy.md §7, step by step: the numbers in the document are these.
#[test]
fn the_worked_example_in_the_economy_docs_adds_up() {
    let mut t = Town::new();
    let (alice, cafe, games) = (t.alice.clone(), t.cafe.clone(), t.games.clone());
    assert_eq!(t.period(), 20_418);
    // 1. Rules.
    t.ok(&cafe, cashback(&t, 100, 1_200));
    let mut stamp_rule = stamps(&t, 1);
    if let Call::AddRewardRule(calls::AddRewardRule {
        cap_per_user_per_period,
        ..
    }) = &mut stamp_rule
    {
        *cap_per_user_per_period = 10;
    }
    t.ok(&cafe, stamp_rule);
    let voucher = Call::SetStampReward(calls::SetStampReward {
        stamp_asset: STAMP,
        stamps: 10,
        reward_asset: VOUCHER,
        reward_amount: 1,
    });
    t.ok(&cafe, voucher);
    // 2. A ₩500 latte.
    let latte = t.ok(&alice, pay(&cafe, WON_500));
    assert!(matches!(
        latte[1],
        Event::TaxWithheld(events::TaxWithheld {
            amount: 5_000,
            period: 20_418,
            ..
        })
    ));
    assert!(matches!(
        latte[2],
        Event::RewardGranted(events::RewardGranted {
            rule: 0,
            amount: 500,
            ..
        })
    ));
    assert!(matches!(
        latte[3],
        Event::RewardGranted(events::RewardGranted {
            rule: 1,
            amount: 1,
            ..
        })
    ));
    // 3. A ₩0.99 cookie.
    let cookie = t.ok(&alice, pay(&cafe, 99));
    assert!(matches!(
        cookie[0],
        Event::Paid(events::Paid { tax: 9, .. })
    ));
    assert!(matches!(
        cookie[2],
        Event::RewardGranted(events::RewardGranted { rule: 1, .. })
    ));
    // 4. The cap.
    t.ok(&alice, pay(&cafe, WON_500));
    t.ok(&alice, pay(&cafe, WON_500));
    let third = t.ok(&alice, pay(&cafe, WON_500));
    assert!(matches!(
        third[2],
        Event::RewardSkipped(events::RewardSkipped {
            reason: SkipReason::CapReached { cap: 1_200 },
            ..
        })
    ));
    assert_eq!(t.balance(&alice.address(), CAFE), 1_200);
    let report =
        jeon_runtime::economy::pay::tax_withheld(&t.state, "KR", 20_418, 20_418).expect("query");
    assert_eq!(report.totals, vec![(KRW, 20_009)]);
    // 5. Stamps to a voucher, redeemed for goods and settled.
    for _ in 0..5 {
        t.ok(&alice, pay(&cafe, WON_500));
    }
    assert_eq!(t.balance(&alice.address(), STAMP), 10);
    t.ok(
        &alice,
        Call::RedeemStamps(calls::RedeemStamps {
            stamp_asset: STAMP,
            count: 10,
        }),
    );
    let goods = RedeemKind::Goods {
        merchant: cafe.address(),
    };
    t.ok(&alice, redeem(VOUCHER, 1, goods));
    let settle = Call::SettleRedemption(calls::SettleRedemption {
        id: 0,
        payout_reference: "cup-0042".into(),
    });
    t.ok(&cafe, settle);
    assert_eq!((t.supply(STAMP), t.supply(VOUCHER)), (0, 0));
    // 6. Conversion CAFE -> GEM.
    cafe_to_gem_agreement(&mut t);
    t.fails(
        &alice,
        convert(1_000, 1_951),
        CallError::BelowMinOut {
            out: 1_950,
            min_out: 1_951,
        },
    );
    t.ok(&alice, convert(1_000, 1_950));
    t.fails(
        &alice,
        convert(4_001, 0),
        CallError::DailyCapExceeded {
            agreement: 0,
            cap: 5_000,
            used: 1_000,
            amount: 4_001,
        },
    );
    // 7. The other way: GEM -> CAFE at 1/4, 10 KRW units per CAFE unit.
    let back = Call::ProposeExchange(calls::ProposeExchange {
        from_asset: GEM,
        to_asset: CAFE,
        rate_num: 1,
        rate_den: 4,
        spread_bps: 0,
        daily_cap: 100_000,
        settlement_asset: KRW,
        settlement_price: 10,
    });
    t.ok(&games, back);
    t.ok(&cafe, Call::AcceptExchange(calls::AcceptExchange { id: 1 }));
    let gem_to_cafe = Call::Convert(calls::Convert {
        from_asset: GEM,
        amount: 160,
        to_asset: CAFE,
        min_out: 40,
    });
    t.ok(&alice, gem_to_cafe);
    let positions = jeon_runtime::economy::exchange::settlement_positions(&t.state, 20_418, 20_418)
        .expect("query");
    assert_eq!(
        positions.net,
        vec![NetPosition {
            owes: cafe.address(),
            owed: games.address(),
            settlement_asset: KRW,
            amount: 5_450,
        }]
    );
    // 8. Cash-out of everything alice holds.
    assert_eq!(t.balance(&alice.address(), CAFE), 240);
    t.fails(
        &alice,
        cash_out(&t, 241),
        CallError::InsufficientBalance {
            asset: CAFE,
            needed: 241,
            available: 240,
        },
    );
    t.ok(&alice, cash_out(&t, 240));
    let settle = Call::SettleRedemption(calls::SettleRedemption {
        id: 1,
        payout_reference: "krw-payout-1".into(),
    });
    t.ok(&cafe, settle);
    assert_eq!(t.balance(&alice.address(), CAFE), 0);
}
