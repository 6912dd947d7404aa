//! Properties of execution over random blocks of every call (transfers, mints, burns,
//! asset creations, payments, reward rules, stamps, redemptions, exchange agreements
//! and conversions): supply is conserved with escrow counted, supply changes only by
//! the mints and burns the events report (so no rounding creates or destroys a unit),
//! a failed call changes only the fee and the nonce, an invalid transaction changes
//! nothing, and the app hash is a function of the final state alone.

mod support;

use std::collections::BTreeMap;

use jeon_runtime::economy::{query, RedeemKind, RewardKind, BPS_DENOMINATOR};
use jeon_runtime::execute::execute_block;
use jeon_runtime::state::keys;
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, BlockContext, Call, Event, Keypair, MemoryState, Outcome,
    Receipt, StateExt, TxBody, VerifiedTx,
};
use proptest::prelude::*;
use support::*;

/// Assets a random call may name: the genesis ones, the id the next created asset
/// gets, and one that never exists.
const ASSETS: [AssetId; 5] = [KRW, PTS, STAMP, AssetId(3), UNKNOWN];
/// Symbols a random `CreateAsset` may ask for: new, taken and invalid ones.
const SYMBOLS: [&str; 6] = ["GEM", "NEW2", "KRW", "STAMP", "bad", ""];
/// Indices of the senders: bank, telco, shop, then the users.
const BANK: usize = 0;
const TELCO: usize = 1;

#[derive(Clone, Debug)]
enum Op {
    Transfer {
        to: usize,
        asset: usize,
        amount: Amount,
    },
    Mint {
        to: usize,
        asset: usize,
        amount: Amount,
    },
    Burn {
        asset: usize,
        amount: Amount,
    },
    Create {
        symbol: usize,
        decimals: u8,
        supply_max: Option<Amount>,
    },
    Pay {
        merchant: usize,
        asset: usize,
        amount: Amount,
        reference: usize,
    },
    AddRule {
        merchants: Vec<usize>,
        pay_asset: usize,
        stamps: bool,
        rate_or_count: u64,
        reward_asset: usize,
        cap: Amount,
        period_ms: u64,
    },
    RemoveRule {
        id: u64,
    },
    SetStampReward {
        stamp_asset: usize,
        stamps: Amount,
        reward_asset: usize,
        reward_amount: Amount,
    },
    RedeemStamps {
        asset: usize,
        count: Amount,
    },
    Redeem {
        asset: usize,
        amount: Amount,
        goods: bool,
        target: usize,
    },
    Settle {
        id: u64,
        reference: usize,
    },
    Reject {
        id: u64,
        reason: usize,
    },
    Propose {
        from: usize,
        to: usize,
        rate_num: u64,
        rate_den: u64,
        spread_bps: u16,
        daily_cap: Amount,
        settlement: usize,
        price: Amount,
    },
    Accept {
        id: u64,
    },
    Revoke {
        id: u64,
    },
    Convert {
        from: usize,
        amount: Amount,
        to: usize,
        min_out: Amount,
    },
}

#[derive(Clone, Copy, Debug)]
enum NonceChoice {
    Next,
    Stale,
    Future,
}

#[derive(Clone, Debug)]
struct Step {
    from: usize,
    /// Send from the party the call needs (the asset's issuer, the agreement's
    /// counterparty, a user) instead of `from`, so that call chains get far.
    natural: bool,
    op: Op,
    nonce: NonceChoice,
    fee_too_low: bool,
    expired: bool,
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        1 => Just(0u64),
        4 => 1..100u64,
        3 => 1..2_000_000u64,
        2 => (u64::MAX - 20)..=u64::MAX,
        1 => any::<u64>(),
    ]
}

/// Amounts for economy calls: mostly small enough to succeed.
fn small() -> impl Strategy<Value = Amount> {
    prop_oneof![1 => Just(0u64), 8 => 1..3_000u64, 1 => amount()]
}

/// Text lengths: short, at the 64-byte limit, and one over it.
fn text() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0..12usize, 1 => Just(64usize), 1 => Just(65usize)]
}

fn id() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0..4u64, 1 => Just(u64::MAX)]
}

/// Recipients: every sender, the fee collector, an account that holds nothing, and
/// the escrow account.
const RECIPIENTS: usize = 3 + USERS + 3;

fn asset() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(0), 4 => Just(1), 2 => Just(2), 1 => Just(3), 1 => Just(4)]
}

/// Credit assets first: PTS, STAMP, the next created one; sometimes KRW or unknown.
fn credit() -> impl Strategy<Value = usize> {
    prop_oneof![5 => Just(1), 4 => Just(2), 3 => Just(3), 1 => Just(0), 1 => Just(4)]
}

/// A merchant (shop, telco) mostly; sometimes any recipient.
fn merchant() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(2usize), 3 => Just(TELCO), 1 => 0..RECIPIENTS]
}

fn base_op() -> BoxedStrategy<Op> {
    prop_oneof![
        6 => (0..RECIPIENTS, asset(), amount())
            .prop_map(|(to, asset, amount)| Op::Transfer { to, asset, amount }),
        2 => (0..RECIPIENTS, asset(), amount())
            .prop_map(|(to, asset, amount)| Op::Mint { to, asset, amount }),
        2 => (asset(), amount()).prop_map(|(asset, amount)| Op::Burn { asset, amount }),
        2 => (prop_oneof![3 => Just(0usize), 1 => 0..SYMBOLS.len()], 0..=20u8, prop::option::of(prop_oneof![1 => Just(0u64), 4 => 1..5_000u64]))
            .prop_map(|(symbol, decimals, supply_max)| Op::Create { symbol, decimals, supply_max }),
    ]
    .boxed()
}

fn reward_op() -> BoxedStrategy<Op> {
    let add = (
        prop::collection::vec(merchant(), 0..4),
        prop_oneof![8 => Just(0usize), 1 => asset()],
        any::<bool>(),
        prop_oneof![1 => Just(0u64), 8 => 1..3_000u64, 1 => 9_990..10_010u64],
        credit(),
        prop_oneof![1 => Just(0u64), 4 => 1..100u64, 2 => small()],
        prop_oneof![
            Just(0u64),
            Just(1_000u64),
            Just(3_000u64),
            Just(86_400_000u64)
        ],
    )
        .prop_map(
            |(merchants, pay_asset, stamps, rate_or_count, reward_asset, cap, period_ms)| {
                Op::AddRule {
                    merchants,
                    pay_asset,
                    stamps,
                    rate_or_count,
                    reward_asset,
                    cap,
                    period_ms,
                }
            },
        );
    prop_oneof![
        6 => (merchant(), prop_oneof![8 => Just(0usize), 1 => asset()], small(), text())
            .prop_map(|(merchant, asset, amount, reference)| Op::Pay { merchant, asset, amount, reference }),
        2 => add,
        1 => id().prop_map(|id| Op::RemoveRule { id }),
        1 => (credit(), 0..4u64, credit(), small()).prop_map(
            |(stamp_asset, stamps, reward_asset, reward_amount)| Op::SetStampReward {
                stamp_asset, stamps, reward_asset, reward_amount,
            }),
        1 => (credit(), small()).prop_map(|(asset, count)| Op::RedeemStamps { asset, count }),
    ]
    .boxed()
}

fn redeem_op() -> BoxedStrategy<Op> {
    prop_oneof![
        3 => (credit(), small(), any::<bool>(), 0..RECIPIENTS)
            .prop_map(|(asset, amount, goods, target)| Op::Redeem { asset, amount, goods, target }),
        2 => (id(), text()).prop_map(|(id, reference)| Op::Settle { id, reference }),
        1 => (id(), text()).prop_map(|(id, reason)| Op::Reject { id, reason }),
    ]
    .boxed()
}

fn exchange_op() -> BoxedStrategy<Op> {
    let propose = (
        credit(),
        credit(),
        prop_oneof![1 => Just(0u64), 8 => 1..5u64, 1 => Just(u64::MAX)],
        prop_oneof![1 => Just(0u64), 8 => 1..5u64],
        prop_oneof![8 => 0..600u16, 1 => 9_999..10_002u16],
        small(),
        prop_oneof![8 => Just(0usize), 1 => asset()],
        0..5u64,
    )
        .prop_map(
            |(from, to, rate_num, rate_den, spread_bps, daily_cap, settlement, price)| {
                Op::Propose {
                    from,
                    to,
                    rate_num,
                    rate_den,
                    spread_bps,
                    daily_cap,
                    settlement,
                    price,
                }
            },
        );
    prop_oneof![
        2 => propose,
        2 => id().prop_map(|id| Op::Accept { id }),
        1 => id().prop_map(|id| Op::Revoke { id }),
        4 => (credit(), small(), credit(), prop_oneof![4 => Just(0u64), 1 => small()])
            .prop_map(|(from, amount, to, min_out)| Op::Convert { from, amount, to, min_out }),
    ]
    .boxed()
}

fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        4 => base_op(),
        4 => reward_op(),
        2 => redeem_op(),
        3 => exchange_op(),
    ]
    .boxed()
}

fn step() -> impl Strategy<Value = Step> {
    let nonce = prop_oneof![
        18 => Just(NonceChoice::Next),
        1 => Just(NonceChoice::Stale),
        1 => Just(NonceChoice::Future),
    ];
    (
        0..3 + USERS,
        prop::bool::weighted(0.8),
        op(),
        nonce,
        prop::bool::weighted(0.03),
        prop::bool::weighted(0.03),
    )
        .prop_map(|(from, natural, op, nonce, fee_too_low, expired)| Step {
            from,
            natural,
            op,
            nonce,
            fee_too_low,
            expired,
        })
}

fn blocks() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(prop::collection::vec(step(), 0..14), 1..10)
}

fn recipient(c: &Consortium, i: usize) -> Address {
    let senders = c.senders();
    match i.checked_sub(senders.len()) {
        None => senders[i].address(),
        Some(0) => c.collector,
        Some(1) => Keypair::from_seed_label("stranger").address(),
        Some(_) => jeon_runtime::economy::ESCROW_ACCOUNT,
    }
}

fn text_of(len: usize) -> String {
    "r".repeat(len)
}

fn call(c: &Consortium, op: &Op) -> Call {
    let asset = |i: usize| ASSETS[i];
    match op.clone() {
        Op::Transfer {
            to,
            asset: a,
            amount,
        } => transfer(&recipient(c, to), asset(a), amount),
        Op::Mint {
            to,
            asset: a,
            amount,
        } => Call::Mint {
            asset: asset(a),
            to: recipient(c, to),
            amount,
        },
        Op::Burn { asset: a, amount } => Call::Burn {
            asset: asset(a),
            amount,
        },
        Op::Create {
            symbol,
            decimals,
            supply_max,
        } => Call::CreateAsset {
            symbol: SYMBOLS[symbol].into(),
            decimals,
            kind: AssetKind::Credit,
            supply_max,
        },
        Op::Pay {
            merchant,
            asset: a,
            amount,
            reference,
        } => Call::Pay {
            merchant: recipient(c, merchant),
            asset: asset(a),
            amount,
            reference: text_of(reference),
        },
        Op::AddRule {
            merchants,
            pay_asset,
            stamps,
            rate_or_count,
            reward_asset,
            cap,
            period_ms,
        } => Call::AddRewardRule {
            merchants: merchants.iter().map(|m| recipient(c, *m)).collect(),
            pay_asset: asset(pay_asset),
            kind: if stamps {
                RewardKind::Stamps {
                    per_payment: rate_or_count,
                    asset: asset(reward_asset),
                }
            } else {
                RewardKind::Cashback {
                    rate_bps: u16::try_from(rate_or_count).unwrap_or(u16::MAX),
                    asset: asset(reward_asset),
                }
            },
            cap_per_user_per_period: cap,
            period_ms,
        },
        Op::RemoveRule { id } => Call::RemoveRewardRule { id },
        Op::SetStampReward {
            stamp_asset,
            stamps,
            reward_asset,
            reward_amount,
        } => Call::SetStampReward {
            stamp_asset: asset(stamp_asset),
            stamps,
            reward_asset: asset(reward_asset),
            reward_amount,
        },
        Op::RedeemStamps { asset: a, count } => Call::RedeemStamps {
            stamp_asset: asset(a),
            count,
        },
        Op::Redeem {
            asset: a,
            amount,
            goods,
            target,
        } => Call::Redeem {
            asset: asset(a),
            amount,
            kind: if goods {
                RedeemKind::Goods {
                    merchant: recipient(c, target),
                }
            } else {
                RedeemKind::CashOut {
                    destination: recipient(c, target),
                }
            },
        },
        Op::Settle { id, reference } => Call::SettleRedemption {
            id,
            payout_reference: text_of(reference),
        },
        Op::Reject { id, reason } => Call::RejectRedemption {
            id,
            reason: text_of(reason),
        },
        Op::Propose {
            from,
            to,
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement,
            price,
        } => Call::ProposeExchange {
            from_asset: asset(from),
            to_asset: asset(to),
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement_asset: asset(settlement),
            settlement_price: price,
        },
        Op::Accept { id } => Call::AcceptExchange { id },
        Op::Revoke { id } => Call::RevokeExchange { id },
        Op::Convert {
            from,
            amount,
            to,
            min_out,
        } => Call::Convert {
            from_asset: asset(from),
            amount,
            to_asset: asset(to),
            min_out,
        },
    }
}

/// The sender a call needs to get anywhere, judged from the committed state.
fn natural_sender(c: &Consortium, op: &Op, from: usize) -> usize {
    let senders: Vec<Address> = c.senders().iter().map(|k| k.address()).collect();
    let index_of = |a: Address| senders.iter().position(|s| *s == a);
    let issuer_of = |i: usize| match ASSETS[i] {
        PTS => Some(TELCO),
        a if a == KRW || a == STAMP => Some(BANK),
        a => c
            .state
            .asset(a)
            .expect("read")
            .and_then(|info| index_of(info.issuer)),
    };
    let user = 3 + from % (USERS - 1); // a user who can pay fees
    let pick = match op {
        Op::Mint { asset, .. } | Op::Burn { asset, .. } => issuer_of(*asset),
        Op::Create { .. } => Some(TELCO),
        Op::AddRule { reward_asset, .. } => issuer_of(*reward_asset),
        Op::SetStampReward { stamp_asset, .. } => issuer_of(*stamp_asset),
        Op::Propose { from: f, to, .. } => issuer_of(if from & 1 == 0 { *f } else { *to }),
        Op::RemoveRule { id } => query::reward_rule(&c.state, *id)
            .expect("read")
            .and_then(|r| index_of(r.issuer)),
        Op::Settle { id, .. } | Op::Reject { id, .. } => query::redemption(&c.state, *id)
            .expect("read")
            .and_then(|r| index_of(r.issuer)),
        Op::Accept { id } => query::exchange(&c.state, *id)
            .expect("read")
            .and_then(|a| index_of(a.counterparty())),
        Op::Revoke { id } => query::exchange(&c.state, *id)
            .expect("read")
            .and_then(|a| index_of(a.from_issuer)),
        Op::Transfer { .. }
        | Op::Pay { .. }
        | Op::RedeemStamps { .. }
        | Op::Redeem { .. }
        | Op::Convert { .. } => Some(user),
    };
    pick.unwrap_or(from)
}

/// The index in [`ASSETS`] of an asset, if listed.
fn asset_index(asset: AssetId) -> Option<usize> {
    ASSETS.iter().position(|a| *a == asset)
}

/// Adjusts a natural step's call to the committed state so that chains of calls get
/// far: the ids of records that exist, the pair of an active agreement, a stamp count
/// that is a whole number of rewards. (Random ids and pairs mostly name nothing.)
fn steer(c: &Consortium, op: &Op) -> Op {
    let st = &c.state;
    let mut op = op.clone();
    match &mut op {
        Op::Accept { id } => {
            let proposals = query::exchanges(st, 16).expect("read");
            if let Some(a) = proposals.iter().find(|a| !a.active) {
                *id = a.id;
            }
        }
        Op::Convert { from, to, .. } => {
            let agreements = query::exchanges(st, 16).expect("read");
            let active = agreements.iter().filter(|a| a.active);
            let pick = active.clone().nth(*from % 2).or(active.clone().next());
            if let Some(a) = pick {
                if let (Some(f), Some(t)) = (asset_index(a.from_asset), asset_index(a.to_asset)) {
                    (*from, *to) = (f, t);
                }
            }
        }
        Op::Settle { id, .. } | Op::Reject { id, .. } => {
            let pending = st
                .iter()
                .filter(|(k, _)| k.first() == Some(&keys::REDEMPTION))
                .count() as u64;
            if query::redemption(st, *id).expect("read").is_none() && pending > 0 {
                let first = st
                    .iter()
                    .find(|(k, _)| k.first() == Some(&keys::REDEMPTION))
                    .map(|(k, _)| u64::from_be_bytes(k[1..9].try_into().expect("8 bytes")));
                *id = first.unwrap_or(*id);
            }
        }
        // Removing the set-up rules too often would starve the payments of rewards.
        Op::RemoveRule { id } if *id == 3 => {
            if let Some(r) = query::reward_rules(st, 1).expect("read").first() {
                *id = r.id;
            }
        }
        Op::RedeemStamps { asset, count } => {
            for (i, a) in ASSETS.iter().enumerate() {
                if let Some(reward) = query::stamp_reward(st, *a).expect("read") {
                    *asset = i;
                    *count = reward.stamps.saturating_mul(1 + *count % 3);
                    break;
                }
            }
        }
        _ => {}
    }
    op
}

/// Signs a block's steps; `next` tracks the nonce each sender will have if all its
/// transactions so far are valid (an invalid one desynchronises it, which only
/// produces more invalid transactions: also worth testing).
fn sign_block(c: &Consortium, steps: &[Step]) -> Vec<VerifiedTx> {
    let senders = c.senders();
    let mut next: Vec<u64> = senders
        .iter()
        .map(|k| c.state.nonce(&k.address()).expect("nonce"))
        .collect();
    let height = c.height + 1;
    steps
        .iter()
        .map(|s| {
            let (from, op) = if s.natural {
                let op = steer(c, &s.op);
                (natural_sender(c, &op, s.from), op)
            } else {
                (s.from, s.op.clone())
            };
            let key = senders[from];
            let n = &mut next[from];
            let nonce = match s.nonce {
                NonceChoice::Stale if *n > 0 => *n - 1,
                NonceChoice::Future => *n + 1,
                _ => {
                    *n += 1;
                    *n - 1
                }
            };
            let body = TxBody {
                chain_id: CHAIN,
                sender: key.address(),
                nonce,
                fee_limit: if s.fee_too_low { FEE - 1 } else { FEE },
                expiry: if s.expired { height - 1 } else { FAR_EXPIRY },
                call: call(c, &op),
                fee_payer: None,
            };
            // Signatures are tested elsewhere; execution takes verified transactions.
            VerifiedTx::new_unchecked(body.sign(key))
        })
        .collect()
}

/// Executes every prefix of the block from the same state and checks what each
/// transaction may change: its receipt is the one it gets in the whole block, an
/// invalid one changes nothing, a failed one only its fee and nonce. (The prefixes
/// end with the same end-of-block step, which a failed or invalid transaction cannot
/// influence, and credit the fees they collected.)
fn check_each_transaction(
    c: &Consortium,
    ctx: &BlockContext,
    pre: &MemoryState,
    block: &[VerifiedTx],
    whole: &[Receipt],
) {
    let run = |n: usize| {
        let out = execute_block(pre, ctx, &block[..n]).expect("memory");
        let mut after = pre.clone();
        after.apply(&out.changes);
        assert_eq!(after.app_hash().expect("hash"), out.app_hash);
        (out.receipts, after)
    };
    let (_, mut before) = run(0);
    for (i, in_block) in whole.iter().enumerate() {
        let (receipts, after) = run(i + 1);
        assert_eq!(
            &receipts[..],
            &whole[..=i],
            "a prefix gets the same receipts"
        );
        match &in_block.outcome {
            Outcome::Invalid(e) => assert_eq!(after, before, "invalid ({e}) changed state"),
            Outcome::Failed(_) => only_fee_and_nonce_changed(c, &before, &after, block[i].body()),
            Outcome::Success => {}
        }
        before = after;
    }
}

fn only_fee_and_nonce_changed(
    c: &Consortium,
    before: &MemoryState,
    after: &MemoryState,
    body: &TxBody,
) {
    let who = body.sender;
    let mut expected_keys = vec![
        keys::nonce(&who),
        keys::balance(&who, KRW),
        keys::balance(&c.collector, KRW),
    ];
    expected_keys.sort();
    let changed: Vec<Vec<u8>> = diff(before, after).into_keys().collect();
    assert_eq!(
        changed, expected_keys,
        "a failed call changed more than fee and nonce"
    );
    let read = |s: &MemoryState| {
        (
            s.nonce(&who).expect("nonce"),
            s.balance(&who, KRW).expect("balance"),
            s.balance(&c.collector, KRW).expect("balance"),
        )
    };
    let (nonce, paid, collected) = read(before);
    assert_eq!(read(after), (nonce + 1, paid - FEE, collected + FEE));
}

/// Supply created (+) and destroyed (-) per asset, as the events report it.
fn minted_less_burned(receipts: &[Receipt]) -> BTreeMap<AssetId, i128> {
    let mut delta: BTreeMap<AssetId, i128> = BTreeMap::new();
    let mut add = |asset: AssetId, amount: Amount, sign: i128| {
        *delta.entry(asset).or_default() += sign * i128::from(amount);
    };
    for e in receipts.iter().flat_map(|r| &r.events) {
        match e {
            Event::Minted { asset, amount, .. } | Event::RewardGranted { asset, amount, .. } => {
                add(*asset, *amount, 1)
            }
            Event::Burned { asset, amount, .. }
            | Event::RedemptionSettled { asset, amount, .. } => add(*asset, *amount, -1),
            Event::StampsRedeemed {
                stamp_asset,
                stamps,
                reward_asset,
                reward_amount,
                ..
            } => {
                add(*stamp_asset, *stamps, -1);
                add(*reward_asset, *reward_amount, 1);
            }
            _ => {}
        }
    }
    delta
}

/// The rounding rules hold event by event: tax is the floor of 10 %, conversion legs
/// split the gross amount exactly into what the user gets and the spread.
fn check_rounding(c: &Consortium, pre: &MemoryState, receipts: &[Receipt]) {
    for e in receipts.iter().flat_map(|r| &r.events) {
        match e {
            Event::Paid { amount, tax, .. } => {
                let expected = u128::from(*amount) * u128::from(TAX_BPS) / 10_000;
                assert_eq!(
                    u128::from(*tax),
                    expected,
                    "tax is floor(amount * bps / 10 000)"
                );
            }
            Event::Converted {
                agreement,
                amount,
                out,
                spread,
                ..
            } => {
                let a = query::exchange(&c.state, *agreement)
                    .expect("read")
                    .or(query::exchange(pre, *agreement).expect("read"));
                if let Some(a) = a {
                    let gross =
                        u128::from(*amount) * u128::from(a.rate_num) / u128::from(a.rate_den);
                    assert_eq!(u128::from(*out) + u128::from(*spread), gross);
                    let s = gross * u128::from(a.spread_bps) / u128::from(BPS_DENOMINATOR);
                    assert_eq!(u128::from(*spread), s);
                }
            }
            _ => {}
        }
    }
}

/// GEM: created by the telco in the set-up block, with a small issuance limit.
const GEM: AssetId = AssetId(3);
const GEM_SUPPLY_MAX: Amount = 60;

/// A set-up block that gives random calls live records to act on: GEM (capped), an
/// active PTS -> STAMP agreement and a proposed STAMP -> PTS one, PTS stamps that
/// redeem for GEM, and reward rules at the shop and the telco (PTS cashback; STAMP
/// stamps, whose supply is near u64::MAX; GEM stamps, whose limit is low).
fn economy_setup(c: &mut Consortium) {
    let (shop, telco) = (c.shop.address(), c.telco.address());
    let create = sign(
        &c.telco,
        0,
        Call::CreateAsset {
            symbol: "GEM".into(),
            decimals: 0,
            kind: AssetKind::Credit,
            supply_max: Some(GEM_SUPPLY_MAX),
        },
    );
    let propose = |from, to| Call::ProposeExchange {
        from_asset: from,
        to_asset: to,
        rate_num: 3,
        rate_den: 2,
        spread_bps: 250,
        daily_cap: 20_000,
        settlement_asset: KRW,
        settlement_price: 2,
    };
    let pts_to_stamp = sign(&c.telco, 1, propose(PTS, STAMP));
    let stamp_to_pts = sign(&c.bank, 0, propose(STAMP, PTS));
    let txs = [create, pts_to_stamp, stamp_to_pts].map(verified);
    assert!(c.run(&txs).iter().all(Receipt::is_success));
    let rule = |kind, merchants: Vec<Address>, cap| Call::AddRewardRule {
        merchants,
        pay_asset: KRW,
        kind,
        cap_per_user_per_period: cap,
        period_ms: 3_000,
    };
    let telco_nonce = c.state.nonce(&telco).expect("nonce");
    let bank_nonce = c.state.nonce(&c.bank.address()).expect("nonce");
    let calls = [
        (&c.bank, bank_nonce, Call::AcceptExchange { id: 0 }),
        (
            &c.telco,
            telco_nonce,
            Call::SetStampReward {
                stamp_asset: PTS,
                stamps: 10,
                reward_asset: GEM,
                reward_amount: 1,
            },
        ),
        (
            &c.telco,
            telco_nonce + 1,
            rule(
                RewardKind::Cashback {
                    rate_bps: 500,
                    asset: PTS,
                },
                vec![shop],
                200,
            ),
        ),
        (
            &c.bank,
            bank_nonce + 1,
            rule(
                RewardKind::Stamps {
                    per_payment: 1,
                    asset: STAMP,
                },
                vec![shop, telco],
                2,
            ),
        ),
        (
            &c.telco,
            telco_nonce + 2,
            rule(
                RewardKind::Stamps {
                    per_payment: 7,
                    asset: GEM,
                },
                vec![shop],
                50,
            ),
        ),
    ];
    let txs: Vec<VerifiedTx> = calls
        .into_iter()
        .map(|(key, nonce, call)| verified(sign(key, nonce, call)))
        .collect();
    let receipts = c.run(&txs);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:#?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_blocks_of_every_call_conserve_supply_and_failed_calls_change_only_fee_and_nonce(
        blocks in blocks()
    ) {
        let mut c = Consortium::new();
        economy_setup(&mut c);
        for steps in &blocks {
            let txs = sign_block(&c, steps);
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            // Commits and checks: app hash announced == recomputed == from scratch,
            // every supply equals the sum of its balances, and the escrow holds exactly
            // the pending redemptions.
            let receipts = c.run(&txs);
            let delta = minted_less_burned(&receipts);
            for (asset, before) in supplies(&pre) {
                let after = c.supply(asset);
                let expected = i128::from(before) + delta.get(&asset).copied().unwrap_or(0);
                prop_assert_eq!(i128::from(after), expected, "supply of {} moved without a mint or burn", asset);
            }
            check_rounding(&c, &pre, &receipts);
            check_each_transaction(&c, &ctx, &pre, &txs, &receipts);
        }
    }

    #[test]
    fn independent_transfers_in_any_order_or_split_give_the_same_balances_and_app_hash(
        (ordered, shuffled, split) in independent_transfers()
    ) {
        let run = |blocks: &[&[(usize, usize, Amount)]]| {
            let mut c = Consortium::new();
            for block in blocks {
                let txs: Vec<VerifiedTx> = block
                    .iter()
                    .map(|&(from, to, amount)| {
                        let to = recipient(&c, to);
                        c.tx(c.senders()[from], transfer(&to, KRW, amount))
                    })
                    .collect();
                prop_assert!(c.run(&txs).iter().all(|r| r.is_success()));
            }
            // The histories record when and in which order things happened, so the
            // comparison leaves them out; the rest must not depend on either.
            let state = without_history(&c.state);
            let hash = state.app_hash().expect("hash");
            prop_assert_eq!(hash, app_hash_from_scratch(&state));
            Ok((state, hash))
        };
        let (a, hash_a) = run(&[&ordered])?;
        let (b, hash_b) = run(&[&shuffled])?;
        let (first, second) = shuffled.split_at(split.min(shuffled.len()));
        let (s, hash_s) = run(&[first, second])?;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &s);
        prop_assert_eq!(hash_a, hash_b);
        prop_assert_eq!(hash_a, hash_s);
    }
}

/// Transfers of KRW from distinct funded senders, small enough that every one succeeds
/// whatever the order: the list, a permutation of it, and a point to split it at.
#[allow(clippy::type_complexity)]
fn independent_transfers() -> impl Strategy<
    Value = (
        Vec<(usize, usize, Amount)>,
        Vec<(usize, usize, Amount)>,
        usize,
    ),
> {
    // Every partner and every user but the last (who holds no KRW); recipients
    // exclude the escrow account, which refuses transfers.
    let funded: Vec<usize> = (0..3 + USERS - 1).collect();
    let len = funded.len();
    prop::sample::subsequence(funded, 1..=len)
        .prop_flat_map(|from| {
            let n = from.len();
            (
                Just(from),
                prop::collection::vec((0..RECIPIENTS - 1, 1..=1_000u64), n),
            )
        })
        .prop_map(|(from, rest)| {
            from.into_iter()
                .zip(rest)
                .map(|(f, (to, amount))| (f, to, amount))
                .collect::<Vec<_>>()
        })
        .prop_flat_map(|v| {
            let n = v.len();
            (Just(v.clone()), Just(v).prop_shuffle(), 0..=n)
        })
}
