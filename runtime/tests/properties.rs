//! Properties of execution over random blocks of every call (transfers, mints, burns,
//! asset creations, payments, reward rules, stamps, redemptions, exchange agreements
//! and conversions, mandates and payment links, credit lines, fee sponsorships), with
//! fees paid by the sender, a co-signer or a sponsor, with and without a fee market:
//! supply is conserved with escrow counted, supply changes only by the mints and burns
//! the events report (so no rounding creates or destroys a unit), every transaction
//! pays the fee the fee rules name from the payer they name, a failed call changes only
//! the fee (its payer's balance, the sponsor's budget, the sender's volume) and the
//! nonce, an invalid transaction changes nothing, no mandate is charged above its limit
//! in a period, the base fee stays in its bounds and moves by at most one step per
//! block, a sponsor never pays more than its budget per period, and the app hash is a
//! function of the final state alone.

mod support;

use jeon_runtime::{calls, events};
use std::collections::{BTreeMap, BTreeSet};

use jeon_runtime::economy::credit::{CreditLine, LineStatus};
use jeon_runtime::economy::mandate::{mandates_of, Mandate};
use jeon_runtime::economy::{query, RedeemKind, RewardKind, BPS_DENOMINATOR};
use jeon_runtime::execute::execute_block;
use jeon_runtime::fees::{sponsorships_of, Beneficiary, FeeMarket, FeeTier, Sponsorship, Volume};
use jeon_runtime::invoice::Invoice;
use jeon_runtime::state::{keys, read_record};
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, BlockContext, Call, CallError, Event, Hash, Height,
    Keypair, MemoryState, Outcome, Overlay, Receipt, Role, SignedTx, StateExt, StateRead, TimeMs,
    TxBody, TxError, VerifiedTx,
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
const SHOP: usize = 2;
/// The partners come first among the senders.
const PARTNERS: usize = 3;
/// The sender index of the last user, who holds no KRW: only a fee payer lets it act.
const POOR_USER: usize = PARTNERS + USERS - 1;
/// The fee limit of the random transactions: above any base fee a test market reaches.
const FEE_LIMIT: Amount = 64;
/// The highest `base_fee_max` of a test fee market.
const BASE_FEE_MAX: Amount = 48;
/// The share of the base fee paid below the first volume tier.
const FULL_FEE_BPS: u16 = 10_000;

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
    Mandate(MandateOp),
    Credit(CreditOp),
    Sponsor {
        /// `None`: all the sender's customers; `Some(i)`: recipient `i`.
        beneficiary: Option<usize>,
        asset: usize,
        budget: Amount,
        period_ms: u64,
    },
}

/// Mandates and payment links.
#[derive(Clone, Debug)]
enum MandateOp {
    Grant {
        spender: usize,
        asset: usize,
        limit: Amount,
        period_ms: u64,
        /// Blocks from the next one to the expiry (0: expired already).
        expires_in: u64,
    },
    Charge {
        id: u64,
        amount: Amount,
        reference: usize,
    },
    Revoke {
        id: u64,
    },
    PayInvoice(InvoiceOp),
}

/// An invoice as a merchant signs it, and what happens to it before it is paid.
#[derive(Clone, Debug)]
struct InvoiceOp {
    /// A sender index, or the number of senders for a stranger (not a partner).
    merchant: usize,
    asset: usize,
    amount: Amount,
    /// Few ids, so that links are often paid twice.
    invoice_id: u64,
    /// Blocks from the next one to the expiry (0: expired already).
    expires_in: u64,
    memo: Option<usize>,
    tamper: Tamper,
}

#[derive(Clone, Copy, Debug)]
enum Tamper {
    None,
    /// The amount changed after signing.
    Amount,
    /// Signed by another key in the merchant's name.
    Signer,
    /// Signed for another chain.
    Chain,
}

/// Credit lines.
#[derive(Clone, Debug)]
enum CreditOp {
    Open {
        borrower: usize,
        asset: usize,
        limit: Amount,
        due_period_blocks: Height,
    },
    Draw {
        id: u64,
        amount: Amount,
    },
    Repay {
        id: u64,
        amount: Amount,
    },
    Default {
        id: u64,
    },
}

#[derive(Clone, Copy, Debug)]
enum NonceChoice {
    Next,
    Stale,
    Future,
}

/// Who a step names to pay its fee.
#[derive(Clone, Copy, Debug)]
enum PayerChoice {
    /// Nobody: the sender pays.
    Sender,
    /// Sender `i`, which co-signs (the next sender if `i` is the sender itself).
    CoSigner(usize),
    /// Partner `i` as sponsor, without its signature; a natural step names a partner
    /// whose sponsorship covers the transaction if one does.
    Sponsor(usize),
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
    payer: PayerChoice,
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

/// Money first (KRW), sometimes any asset.
fn money() -> impl Strategy<Value = usize> {
    prop_oneof![8 => Just(0usize), 1 => asset()]
}

/// Credit assets first: PTS, STAMP, the next created one; sometimes KRW or unknown.
fn credit() -> impl Strategy<Value = usize> {
    prop_oneof![5 => Just(1), 4 => Just(2), 3 => Just(3), 1 => Just(0), 1 => Just(4)]
}

/// A merchant (shop, telco) mostly; sometimes any recipient.
fn merchant() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(SHOP), 3 => Just(TELCO), 1 => 0..RECIPIENTS]
}

/// Periods: none (refused), a second or a few (so they roll within a run), a day.
fn period_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        3 => Just(1_000u64),
        3 => Just(3_000u64),
        1 => Just(86_400_000u64)
    ]
}

/// Blocks until an expiry: none (expired already), a few, or never.
fn expires_in() -> impl Strategy<Value = u64> {
    prop_oneof![1 => Just(0u64), 4 => 1..6u64, 3 => Just(u64::MAX)]
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
        money(),
        any::<bool>(),
        prop_oneof![1 => Just(0u64), 8 => 1..3_000u64, 1 => 9_990..10_010u64],
        credit(),
        prop_oneof![1 => Just(0u64), 4 => 1..100u64, 2 => small()],
        period_ms(),
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
        6 => (merchant(), money(), small(), text())
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
        money(),
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

fn invoice_op() -> impl Strategy<Value = InvoiceOp> {
    let merchant = prop_oneof![4 => Just(SHOP), 2 => Just(TELCO), 1 => 0..=PARTNERS + USERS];
    let memo =
        prop::option::of(prop_oneof![8 => 0..16usize, 1 => Just(256usize), 1 => Just(257usize)]);
    let tamper = prop_oneof![
        12 => Just(Tamper::None),
        1 => Just(Tamper::Amount),
        1 => Just(Tamper::Signer),
        1 => Just(Tamper::Chain),
    ];
    (
        merchant,
        money(),
        small(),
        0..3u64,
        expires_in(),
        memo,
        tamper,
    )
        .prop_map(
            |(merchant, asset, amount, invoice_id, expires_in, memo, tamper)| InvoiceOp {
                merchant,
                asset,
                amount,
                invoice_id,
                expires_in,
                memo,
                tamper,
            },
        )
}

fn mandate_op() -> BoxedStrategy<Op> {
    let grant = (merchant(), money(), small(), period_ms(), expires_in()).prop_map(
        |(spender, asset, limit, period_ms, expires_in)| MandateOp::Grant {
            spender,
            asset,
            limit,
            period_ms,
            expires_in,
        },
    );
    prop_oneof![
        2 => grant,
        4 => (id(), small(), text())
            .prop_map(|(id, amount, reference)| MandateOp::Charge { id, amount, reference }),
        1 => id().prop_map(|id| MandateOp::Revoke { id }),
        3 => invoice_op().prop_map(MandateOp::PayInvoice),
    ]
    .prop_map(Op::Mandate)
    .boxed()
}

fn credit_op() -> BoxedStrategy<Op> {
    let borrower = prop_oneof![6 => PARTNERS..PARTNERS + USERS, 1 => 0..RECIPIENTS];
    // Around the 500 000 a user's set-up history allows, and far above it.
    let limit = prop_oneof![6 => small(), 1 => 400_000..600_000u64, 1 => amount()];
    let due = prop_oneof![1 => Just(0u64), 6 => 1..5u64, 1 => Just(u64::MAX)];
    let open =
        (borrower, money(), limit, due).prop_map(|(borrower, asset, limit, due_period_blocks)| {
            CreditOp::Open {
                borrower,
                asset,
                limit,
                due_period_blocks,
            }
        });
    prop_oneof![
        2 => open,
        3 => (id(), small()).prop_map(|(id, amount)| CreditOp::Draw { id, amount }),
        2 => (id(), small()).prop_map(|(id, amount)| CreditOp::Repay { id, amount }),
        1 => id().prop_map(|id| CreditOp::Default { id }),
    ]
    .prop_map(Op::Credit)
    .boxed()
}

/// Sponsorship offers: small budgets (a fee or three), so that they run out often.
fn sponsor_op() -> BoxedStrategy<Op> {
    (
        prop::option::of(0..RECIPIENTS),
        money(),
        prop_oneof![1 => Just(0u64), 6 => 1..8u64, 1 => small()],
        prop_oneof![1 => Just(0u64), 3 => Just(500u64), 3 => Just(2_000u64), 1 => Just(86_400_000u64)],
    )
        .prop_map(|(beneficiary, asset, budget, period_ms)| Op::Sponsor {
            beneficiary,
            asset,
            budget,
            period_ms,
        })
        .boxed()
}

fn op() -> BoxedStrategy<Op> {
    prop_oneof![
        4 => base_op(),
        4 => reward_op(),
        2 => redeem_op(),
        3 => exchange_op(),
        4 => mandate_op(),
        3 => credit_op(),
        1 => sponsor_op(),
    ]
    .boxed()
}

fn payer_choice() -> impl Strategy<Value = PayerChoice> {
    prop_oneof![
        14 => Just(PayerChoice::Sender),
        3 => (0..PARTNERS + USERS).prop_map(PayerChoice::CoSigner),
        3 => (0..PARTNERS).prop_map(PayerChoice::Sponsor),
    ]
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
        payer_choice(),
    )
        .prop_map(
            |(from, natural, op, nonce, fee_too_low, expired, payer)| Step {
                from,
                natural,
                op,
                nonce,
                fee_too_low,
                expired,
                payer,
            },
        )
}

fn blocks() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(prop::collection::vec(step(), 0..14), 1..10)
}

/// A fee market around the flat fee: small targets so that random blocks move the
/// base fee, steps of a whole, a half and an eighth of it, and up to three volume tiers
/// over short windows (shares from nothing to the full fee).
fn fee_market() -> impl Strategy<Value = FeeMarket> {
    let tier = (
        1..4u64,
        prop_oneof![1 => Just(0u16), 10 => 1..FULL_FEE_BPS, 3 => Just(FULL_FEE_BPS)],
    );
    let tiers = prop::collection::vec(tier, 0..=3).prop_map(|raw| {
        let mut shares: Vec<u16> = raw.iter().map(|(_, bps)| *bps).collect();
        shares.sort_unstable_by(|a, b| b.cmp(a));
        let mut min_txs = None;
        raw.iter()
            .zip(shares)
            .map(|((gap, _), fee_bps)| {
                // The first tier may start at 0; the others lie strictly above it.
                let next = min_txs.map_or(gap - 1, |m: u64| m + gap);
                min_txs = Some(next);
                FeeTier {
                    min_txs: next,
                    fee_bps,
                }
            })
            .collect::<Vec<_>>()
    });
    (
        1..=FEE,
        FEE..=BASE_FEE_MAX,
        1..=6u32,
        prop_oneof![Just(1u32), Just(2u32), Just(8u32)],
        1..=4u64,
        tiers,
    )
        .prop_map(
            |(base_fee_min, base_fee_max, target, denominator, window, tiers)| FeeMarket {
                base_fee_min,
                base_fee_max,
                target_txs_per_block: target,
                change_denominator: denominator,
                volume_window_blocks: window,
                tiers,
            },
        )
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

/// The last height at which something expiring `expires_in` blocks from the next one
/// is still accepted (the height before the next block for 0).
fn expiry(c: &Consortium, expires_in: u64) -> Height {
    (c.height + 1).saturating_add(expires_in) - 1
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
        } => Call::Mint(calls::Mint {
            asset: asset(a),
            to: recipient(c, to),
            amount,
        }),
        Op::Burn { asset: a, amount } => Call::Burn(calls::Burn {
            asset: asset(a),
            amount,
        }),
        Op::Create {
            symbol,
            decimals,
            supply_max,
        } => Call::CreateAsset(calls::CreateAsset {
            symbol: SYMBOLS[symbol].into(),
            decimals,
            kind: AssetKind::Credit,
            supply_max,
        }),
        Op::Pay {
            merchant,
            asset: a,
            amount,
            reference,
        } => Call::Pay(calls::Pay {
            merchant: recipient(c, merchant),
            asset: asset(a),
            amount,
            reference: text_of(reference),
        }),
        Op::AddRule {
            merchants,
            pay_asset,
            stamps,
            rate_or_count,
            reward_asset,
            cap,
            period_ms,
        } => Call::AddRewardRule(calls::AddRewardRule {
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
        }),
        Op::RemoveRule { id } => Call::RemoveRewardRule(calls::RemoveRewardRule { id }),
        Op::SetStampReward {
            stamp_asset,
            stamps,
            reward_asset,
            reward_amount,
        } => Call::SetStampReward(calls::SetStampReward {
            stamp_asset: asset(stamp_asset),
            stamps,
            reward_asset: asset(reward_asset),
            reward_amount,
        }),
        Op::RedeemStamps { asset: a, count } => Call::RedeemStamps(calls::RedeemStamps {
            stamp_asset: asset(a),
            count,
        }),
        Op::Redeem {
            asset: a,
            amount,
            goods,
            target,
        } => Call::Redeem(calls::Redeem {
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
        }),
        Op::Settle { id, reference } => Call::SettleRedemption(calls::SettleRedemption {
            id,
            payout_reference: text_of(reference),
        }),
        Op::Reject { id, reason } => Call::RejectRedemption(calls::RejectRedemption {
            id,
            reason: text_of(reason),
        }),
        Op::Propose {
            from,
            to,
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement,
            price,
        } => Call::ProposeExchange(calls::ProposeExchange {
            from_asset: asset(from),
            to_asset: asset(to),
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement_asset: asset(settlement),
            settlement_price: price,
        }),
        Op::Accept { id } => Call::AcceptExchange(calls::AcceptExchange { id }),
        Op::Revoke { id } => Call::RevokeExchange(calls::RevokeExchange { id }),
        Op::Convert {
            from,
            amount,
            to,
            min_out,
        } => Call::Convert(calls::Convert {
            from_asset: asset(from),
            amount,
            to_asset: asset(to),
            min_out,
        }),
        Op::Mandate(m) => mandate_call(c, &m),
        Op::Credit(k) => credit_call(c, &k),
        Op::Sponsor {
            beneficiary,
            asset: a,
            budget,
            period_ms,
        } => Call::SponsorFees(calls::SponsorFees {
            beneficiary: beneficiary.map_or(Beneficiary::AllCustomers, |i| {
                Beneficiary::Account(recipient(c, i))
            }),
            asset: asset(a),
            budget_per_period: budget,
            period_ms,
        }),
    }
}

fn mandate_call(c: &Consortium, op: &MandateOp) -> Call {
    match op.clone() {
        MandateOp::Grant {
            spender,
            asset,
            limit,
            period_ms,
            expires_in,
        } => Call::GrantMandate(calls::GrantMandate {
            spender: recipient(c, spender),
            asset: ASSETS[asset],
            limit_per_period: limit,
            period_ms,
            expires_at: expiry(c, expires_in),
        }),
        MandateOp::Charge {
            id,
            amount,
            reference,
        } => Call::Charge(calls::Charge {
            mandate_id: id,
            amount,
            reference: text_of(reference),
        }),
        MandateOp::Revoke { id } => Call::RevokeMandate(calls::RevokeMandate { mandate_id: id }),
        MandateOp::PayInvoice(inv) => invoice_call(c, &inv),
    }
}

/// A `PayInvoice` of a merchant-signed invoice, or of one tampered with: its amount
/// raised after signing, signed by another key, or signed for another chain.
fn invoice_call(c: &Consortium, op: &InvoiceOp) -> Call {
    let senders = c.senders();
    let stranger = Keypair::from_seed_label("stranger");
    let key = senders.get(op.merchant).copied().unwrap_or(&stranger);
    let mut invoice = Invoice {
        merchant: key.address(),
        asset: ASSETS[op.asset],
        amount: op.amount,
        expires_at: expiry(c, op.expires_in),
        invoice_id: op.invoice_id,
        memo: op.memo.map(|len| vec![b'm'; len]),
    };
    let signature = match op.tamper {
        Tamper::None | Tamper::Amount => invoice.sign(key, &CHAIN),
        Tamper::Signer => invoice.sign(senders[(op.merchant + 1) % senders.len()], &CHAIN),
        Tamper::Chain => invoice.sign(key, &Hash([0x4b; 32])),
    };
    if let Tamper::Amount = op.tamper {
        invoice.amount = invoice.amount.wrapping_add(1);
    }
    Call::PayInvoice(calls::PayInvoice { invoice, signature })
}

fn credit_call(c: &Consortium, op: &CreditOp) -> Call {
    match *op {
        CreditOp::Open {
            borrower,
            asset,
            limit,
            due_period_blocks,
        } => Call::OpenCreditLine(calls::OpenCreditLine {
            borrower: recipient(c, borrower),
            asset: ASSETS[asset],
            limit,
            due_period_blocks,
        }),
        CreditOp::Draw { id, amount } => Call::DrawCredit(calls::DrawCredit {
            line_id: id,
            amount,
        }),
        CreditOp::Repay { id, amount } => Call::Repay(calls::Repay {
            line_id: id,
            amount,
        }),
        CreditOp::Default { id } => Call::MarkDefault(calls::MarkDefault { line_id: id }),
    }
}

/// A mandate in the committed state.
fn mandate(st: &MemoryState, id: u64) -> Option<Mandate> {
    read_record(st, &jeon_runtime::economy::mandate::storage::mandate(id)).expect("read")
}

/// A credit line in the committed state.
fn credit_line(st: &MemoryState, id: u64) -> Option<CreditLine> {
    read_record(st, &jeon_runtime::economy::credit::storage::credit_line(id)).expect("read")
}

/// The ids of the records stored under `prefix || id (u64 BE)`, in order.
fn record_ids(st: &MemoryState, prefix: u8) -> Vec<u64> {
    st.iter()
        .filter(|(k, _)| k.len() == 9 && k.first() == Some(&prefix))
        .map(|(k, _)| u64::from_be_bytes(k[1..9].try_into().expect("8 bytes")))
        .collect()
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
        Op::Mandate(MandateOp::Charge { id, .. }) => {
            mandate(&c.state, *id).and_then(|m| index_of(m.spender))
        }
        Op::Mandate(MandateOp::Revoke { id }) => {
            mandate(&c.state, *id).and_then(|m| index_of(m.user))
        }
        Op::Credit(CreditOp::Open { .. }) => Some(BANK),
        Op::Credit(CreditOp::Draw { id, .. } | CreditOp::Repay { id, .. }) => {
            credit_line(&c.state, *id).and_then(|l| index_of(l.borrower))
        }
        Op::Credit(CreditOp::Default { id }) => {
            credit_line(&c.state, *id).and_then(|l| index_of(l.lender))
        }
        Op::Sponsor { .. } => Some(from % PARTNERS),
        Op::Transfer { .. }
        | Op::Pay { .. }
        | Op::RedeemStamps { .. }
        | Op::Redeem { .. }
        | Op::Convert { .. }
        | Op::Mandate(MandateOp::Grant { .. } | MandateOp::PayInvoice(_)) => Some(user),
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
        Op::Mandate(MandateOp::Charge { id, amount, .. }) => {
            if mandate(st, *id).is_none() {
                *id = record_ids(st, keys::MANDATE).last().copied().unwrap_or(*id);
            }
            // One charge in four takes all that is left: the limit itself is reached.
            if let Some(m) = mandate(st, *id).filter(|_| *amount % 4 == 1) {
                *amount = m.remaining(ctx(c.height + 1).time_ms);
            }
        }
        Op::Mandate(MandateOp::Revoke { id }) if mandate(st, *id).is_none() => {
            *id = record_ids(st, keys::MANDATE).last().copied().unwrap_or(*id);
        }
        Op::Credit(k) => steer_credit(st, c.height + 1, k),
        _ => {}
    }
    op
}

/// Points a credit call at an open line (for a default, one past due with units
/// outstanding, if any), and a repayment of more than is outstanding at the rest.
fn steer_credit(st: &MemoryState, height: Height, op: &mut CreditOp) {
    let open: Vec<CreditLine> = record_ids(st, keys::CREDIT_LINE)
        .into_iter()
        .filter_map(|id| credit_line(st, id))
        .filter(|l| l.status == LineStatus::Open)
        .collect();
    let is_open = |id: u64| open.iter().any(|l| l.id == id);
    match op {
        CreditOp::Draw { id, .. } | CreditOp::Repay { id, .. } if !is_open(*id) => {
            *id = open.last().map_or(*id, |l| l.id);
        }
        CreditOp::Default { id } => {
            let due = open
                .iter()
                .find(|l| l.due_height <= height && l.outstanding > 0);
            *id = due.or(open.first()).map_or(*id, |l| l.id);
        }
        _ => {}
    }
    if let CreditOp::Repay { id, amount } = op {
        if let Some(l) = open.iter().find(|l| l.id == *id) {
            if l.outstanding > 0 && *amount > l.outstanding {
                *amount = l.outstanding;
            }
        }
    }
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
            let (mut from, op) = if s.natural {
                let op = steer(c, &s.op);
                (natural_sender(c, &op, s.from), op)
            } else {
                (s.from, s.op.clone())
            };
            // A user's step with a sponsor is sent one time in three by the user who
            // holds no KRW: only a sponsorship lets it act.
            if s.natural && matches!(s.payer, PayerChoice::Sponsor(_)) && from >= PARTNERS {
                from = if s.from % 3 == 0 { POOR_USER } else { from };
            }
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
            let call = call(c, &op);
            let (fee_payer, co_signer) = fee_payer(c, s, from, &call);
            let body = TxBody {
                chain_id: CHAIN,
                sender: key.address(),
                nonce,
                fee_limit: if s.fee_too_low { 0 } else { FEE_LIMIT },
                expiry: if s.expired { height - 1 } else { FAR_EXPIRY },
                call,
                fee_payer,
            };
            let tx = body.sign(key);
            match co_signer {
                Some(payer) => tx
                    .sign_as_payer(payer)
                    .verify(&CHAIN)
                    .expect("a co-signed transaction verifies"),
                // Signatures are tested elsewhere; execution takes verified transactions.
                None => VerifiedTx::new_unchecked(tx),
            }
        })
        .collect()
}

/// The fee payer a step names for a transaction from sender `from`, and its key if it
/// co-signs. Never the sender itself: a body naming its sender does not verify.
fn fee_payer<'a>(
    c: &'a Consortium,
    s: &Step,
    from: usize,
    call: &Call,
) -> (Option<Address>, Option<&'a Keypair>) {
    let senders = c.senders();
    match s.payer {
        PayerChoice::Sender => (None, None),
        PayerChoice::CoSigner(i) => {
            let i = if i == from {
                (i + 1) % senders.len()
            } else {
                i
            };
            (Some(senders[i].address()), Some(senders[i]))
        }
        PayerChoice::Sponsor(i) => {
            let sender = senders[from].address();
            let has = |p: &Address, b: Beneficiary| {
                c.state
                    .get(&jeon_runtime::economy::fees::storage::sponsorship(p, &b))
                    .expect("read")
                    .is_some()
            };
            let covers = |p: &Address| {
                has(p, Beneficiary::Account(sender))
                    || (has(p, Beneficiary::AllCustomers) && addressee(&c.state, call) == Some(*p))
            };
            let partners: Vec<Address> = senders[..PARTNERS].iter().map(|k| k.address()).collect();
            let covering = (0..PARTNERS)
                .map(|k| partners[(i + k) % PARTNERS])
                .find(|p| *p != sender && covers(p));
            let sponsor = covering.filter(|_| s.natural).unwrap_or(partners[i]);
            ((sponsor != sender).then_some(sponsor), None)
        }
    }
}

/// A block's fee rules as the test reads them (fees.rs module doc): the base fee stored
/// before the block (absent: the flat fee), the market if one is installed, and the
/// block's height and time.
struct Rules {
    base: Amount,
    market: Option<FeeMarket>,
    height: Height,
    time_ms: TimeMs,
}

impl Rules {
    fn of(pre: &MemoryState, ctx: &BlockContext) -> Rules {
        Rules {
            base: base_fee(pre),
            market: read_record(pre, &jeon_runtime::economy::fees::storage::fee_market())
                .expect("read"),
            height: ctx.height,
            time_ms: ctx.time_ms,
        }
    }

    /// The market, if it has volume tiers: only then are volumes recorded.
    fn tiered(&self) -> Option<&FeeMarket> {
        self.market.as_ref().filter(|m| !m.tiers.is_empty())
    }

    /// What `sender` pays over `state`: `ceil(base * fee_bps / 10 000)`, with the
    /// share of the last tier its rolling-window volume reaches (all below the first).
    fn fee_of(&self, state: &MemoryState, sender: &Address) -> Amount {
        let Some(market) = self.tiered() else {
            return self.base;
        };
        let window = market.volume_window_blocks;
        let (current, previous) = volume_buckets(state, sender, self.height, window);
        let covered = u128::from(window - self.height % window);
        let volume = u128::from(current) + u128::from(previous) * covered / u128::from(window);
        let fee_bps = market
            .tiers
            .iter()
            .rev()
            .find(|t| u128::from(t.min_txs) <= volume)
            .map_or(FULL_FEE_BPS, |t| t.fee_bps);
        let fee = (u128::from(self.base) * u128::from(fee_bps)).div_ceil(10_000);
        Amount::try_from(fee).expect("a share of a u64")
    }
}

/// The base fee stored in a state; absent, the flat fee.
fn base_fee(state: &MemoryState) -> Amount {
    read_record(state, &jeon_runtime::economy::fees::storage::base_fee())
        .expect("read")
        .unwrap_or(FEE)
}

/// A sender's transaction counts in the volume window of `height` and the one before.
fn volume_buckets(
    state: &MemoryState,
    who: &Address,
    height: Height,
    window: Height,
) -> (u64, u64) {
    let v: Volume = read_record(state, &jeon_runtime::economy::fees::storage::volume(who))
        .expect("read")
        .unwrap_or_default();
    let w = height / window;
    if v.window == w {
        (v.current, v.previous)
    } else if v.window + 1 == w {
        (0, v.current)
    } else {
        (0, 0)
    }
}

/// The account a call is addressed to, whose all-customers sponsorship may pay its
/// fee: the recipient of a transfer or payment, an invoice's merchant, a mandate's
/// spender, the issuer of a redeemed asset, the lender of a repaid line.
fn addressee(state: &MemoryState, call: &Call) -> Option<Address> {
    match call {
        Call::Transfer(calls::Transfer { to, .. }) => Some(*to),
        Call::Pay(calls::Pay { merchant, .. }) => Some(*merchant),
        Call::PayInvoice(calls::PayInvoice { invoice, .. }) => Some(invoice.merchant),
        Call::GrantMandate(calls::GrantMandate { spender, .. }) => Some(*spender),
        Call::Redeem(calls::Redeem { asset, .. })
        | Call::RedeemStamps(calls::RedeemStamps {
            stamp_asset: asset, ..
        }) => state.asset(*asset).expect("read").map(|a| a.issuer),
        Call::Repay(calls::Repay { line_id, .. }) => credit_line(state, *line_id).map(|l| l.lender),
        _ => None,
    }
}

/// What a sponsorship still covers at `time_ms`: the rest of the budget in its
/// recorded period, the whole budget in a later one.
fn remaining(s: &Sponsorship, time_ms: TimeMs) -> Amount {
    if time_ms / s.period_ms == s.period {
        s.budget_per_period.saturating_sub(s.used)
    } else {
        s.budget_per_period
    }
}

/// A sponsorship after paying `fee` at `time_ms`.
fn spent(s: &Sponsorship, time_ms: TimeMs, fee: Amount) -> Sponsorship {
    let period = time_ms / s.period_ms;
    let used = if period == s.period { s.used } else { 0 };
    Sponsorship {
        period,
        used: used + fee,
        ..s.clone()
    }
}

/// Who pays a valid transaction's fee, how much, and the sponsorship it spends (key
/// and record before).
#[derive(Debug)]
struct Due {
    payer: Address,
    fee: Amount,
    sponsorship: Option<(Vec<u8>, Sponsorship)>,
}

/// What a transaction comes to over `state` (the state just before it): invalid for
/// the first reason in the order execution checks them (expiry, nonce, fee limit,
/// sponsorship, the payer's balance; the chain id is always right here), else valid
/// with its [`Due`].
fn expected_due(state: &MemoryState, rules: &Rules, tx: &SignedTx) -> Result<Due, TxError> {
    let body = &tx.body;
    if rules.height > body.expiry {
        return Err(TxError::Expired {
            expiry: body.expiry,
            height: rules.height,
        });
    }
    let expected = state.nonce(&body.sender).expect("nonce");
    if body.nonce != expected {
        let got = body.nonce;
        return Err(if got < expected {
            TxError::StaleNonce { expected, got }
        } else {
            TxError::FutureNonce { expected, got }
        });
    }
    let fee = rules.fee_of(state, &body.sender);
    if body.fee_limit < fee {
        return Err(TxError::FeeTooLow {
            limit: body.fee_limit,
            required: fee,
        });
    }
    let (payer, sponsorship) = match (body.fee_payer, tx.payer_signature) {
        (None, _) => (body.sender, None),
        (Some(payer), Some(_)) => (payer, None),
        (Some(sponsor), None) => {
            let covering = covering(state, rules.time_ms, &sponsor, body, fee)?;
            (sponsor, Some(covering))
        }
    };
    let available = state.balance(&payer, KRW).expect("balance");
    if available < fee {
        return Err(TxError::CannotPayFee {
            payer,
            asset: KRW,
            required: fee,
            available,
        });
    }
    Ok(Due {
        payer,
        fee,
        sponsorship,
    })
}

/// The sponsorship of `sponsor` that covers a fee: the sender's own first, then the
/// sponsor's customers' if the call is addressed to the sponsor; or why none does.
fn covering(
    state: &MemoryState,
    time_ms: TimeMs,
    sponsor: &Address,
    body: &TxBody,
    fee: Amount,
) -> Result<(Vec<u8>, Sponsorship), TxError> {
    let mut candidates = vec![Beneficiary::Account(body.sender)];
    if addressee(state, &body.call) == Some(*sponsor) {
        candidates.push(Beneficiary::AllCustomers);
    }
    let records: Vec<(Vec<u8>, Sponsorship)> = candidates
        .iter()
        .filter_map(|b| {
            let key = jeon_runtime::economy::fees::storage::sponsorship(sponsor, b);
            read_record(state, &key).expect("read").map(|s| (key, s))
        })
        .collect();
    if let Some(found) = records.iter().find(|(_, s)| remaining(s, time_ms) >= fee) {
        return Ok(found.clone());
    }
    Err(match records.first() {
        Some((_, s)) => TxError::SponsorBudgetExhausted {
            sponsor: *sponsor,
            budget: s.budget_per_period,
            remaining: remaining(s, time_ms),
            fee,
        },
        None => TxError::NotSponsored { sponsor: *sponsor },
    })
}

/// Executes every prefix of the block from the same state and checks what each
/// transaction may change: its receipt is the one it gets in the whole block, its
/// validity, fee and payer are the ones the fee rules give, an invalid one changes
/// nothing, a failed one only its fee and nonce. (The prefixes end with the same
/// end-of-block refunds, which a failed or invalid transaction cannot influence, and
/// credit the fees they collected. The end of the block also sets the next base fee
/// from the number of transactions, so one more transaction, even an invalid one, may
/// move it: the comparisons leave the base fee out; [`check_base_fee`] checks it.)
fn check_each_transaction(
    c: &Consortium,
    ctx: &BlockContext,
    pre: &MemoryState,
    block: &[VerifiedTx],
    whole: &[Receipt],
) {
    let rules = Rules::of(pre, ctx);
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
        let tx = block[i].tx();
        match (expected_due(&before, &rules, tx), &in_block.outcome) {
            (Err(want), Outcome::Invalid(e)) => {
                assert_eq!(e, &want, "transaction {i} is invalid for another reason");
                let changed: Vec<String> = changes(&before, &after).map(hex::encode).collect();
                assert!(changed.is_empty(), "invalid ({e}) changed {changed:?}");
            }
            (Err(want), outcome) => {
                panic!("transaction {i} should be invalid ({want}), got {outcome:?}")
            }
            (Ok(due), Outcome::Invalid(e)) => {
                panic!("transaction {i} should be valid ({due:?}), got invalid: {e}")
            }
            (Ok(due), outcome) => {
                check_fee_paid(&rules, &before, &after, tx, in_block, &due);
                if let Outcome::Failed(_) = outcome {
                    only_fee_and_nonce_changed(c, &rules, &before, &after, tx, &due);
                }
            }
        }
        before = after;
    }
}

/// The keys whose values differ between two states, but the base fee (set at the end
/// of the block) and the accumulator.
fn changes(before: &MemoryState, after: &MemoryState) -> impl Iterator<Item = Vec<u8>> {
    diff(before, after)
        .into_keys()
        .filter(|k| *k != jeon_runtime::economy::fees::storage::base_fee())
}

/// A valid transaction paid what its [`Due`] says: the receipt's fee, one
/// `FeeCharged` by the payer as its first event (none for a zero fee), the
/// sponsorship's budget spent by exactly the fee, and under a tiered market one more
/// transaction in the sender's volume.
fn check_fee_paid(
    rules: &Rules,
    before: &MemoryState,
    after: &MemoryState,
    tx: &SignedTx,
    receipt: &Receipt,
    due: &Due,
) {
    assert_eq!(receipt.fee, due.fee, "the fee is the one the rules give");
    let charged: Vec<&Event> = receipt
        .events
        .iter()
        .filter(|e| matches!(e, Event::FeeCharged(events::FeeCharged { .. })))
        .collect();
    if due.fee > 0 {
        let want = Event::FeeCharged(events::FeeCharged {
            payer: due.payer,
            asset: KRW,
            amount: due.fee,
        });
        assert_eq!(charged, [&want], "the named payer pays the fee, once");
        assert_eq!(receipt.events.first(), Some(&want));
    } else {
        assert!(charged.is_empty(), "a zero fee charges nobody");
    }
    if let Some((key, before_spending)) = &due.sponsorship {
        let now: Option<Sponsorship> = read_record(after, key).expect("read");
        let want = spent(before_spending, rules.time_ms, due.fee);
        assert_eq!(now, Some(want), "the sponsorship spends exactly the fee");
    }
    if let Some(market) = rules.tiered() {
        let sender = tx.body.sender;
        let window = market.volume_window_blocks;
        let (current, previous) = volume_buckets(before, &sender, rules.height, window);
        let want = Volume {
            window: rules.height / window,
            current: current + 1,
            previous,
        };
        let now: Option<Volume> = read_record(
            after,
            &jeon_runtime::economy::fees::storage::volume(&sender),
        )
        .expect("read");
        assert_eq!(
            now,
            Some(want),
            "the sender's volume counts the transaction"
        );
    }
}

/// A failed call changed only what paying its fee changes: the sender's nonce, the
/// payer's and the collector's fee-asset balances (the payer's, not the sender's,
/// when someone else pays), the sponsorship it spent and the sender's volume record
/// (those two checked by [`check_fee_paid`]).
fn only_fee_and_nonce_changed(
    c: &Consortium,
    rules: &Rules,
    before: &MemoryState,
    after: &MemoryState,
    tx: &SignedTx,
    due: &Due,
) {
    let who = tx.body.sender;
    let mut allowed = BTreeSet::from([
        keys::nonce(&who),
        keys::balance(&due.payer, KRW),
        keys::balance(&c.collector, KRW),
    ]);
    allowed.extend(due.sponsorship.as_ref().map(|(key, _)| key.clone()));
    if rules.tiered().is_some() {
        allowed.insert(jeon_runtime::economy::fees::storage::volume(&who));
    }
    let changed: BTreeSet<Vec<u8>> = changes(before, after).collect();
    let extra: Vec<String> = changed.difference(&allowed).map(hex::encode).collect();
    assert!(
        extra.is_empty(),
        "a failed call changed more than fee and nonce: {extra:?}"
    );
    let read = |s: &MemoryState| {
        (
            s.nonce(&who).expect("nonce"),
            s.balance(&due.payer, KRW).expect("balance"),
            s.balance(&c.collector, KRW).expect("balance"),
        )
    };
    let (nonce, paid, collected) = read(before);
    assert_eq!(
        read(after),
        (nonce + 1, paid - due.fee, collected + due.fee)
    );
}

/// Units charged per (mandate, period index), as the events report them.
type Charged = BTreeMap<(u64, u64), u128>;

/// After a block: the charges of each mandate in each period add up to the
/// `used_in_period` the last one reports and stay within the limit, and every mandate
/// its user lists has `used <= limit_per_period` (and every stored one is listed).
fn check_mandates(c: &Consortium, ctx: &BlockContext, receipts: &[Receipt], charged: &mut Charged) {
    for e in receipts.iter().flat_map(|r| &r.events) {
        if let Event::MandateCharged(events::MandateCharged {
            id,
            amount,
            used_in_period,
            ..
        }) = e
        {
            let m = mandate(&c.state, *id).expect("a charged mandate exists");
            let sum = charged.entry((*id, ctx.time_ms / m.period_ms)).or_default();
            *sum += u128::from(*amount);
            assert_eq!(
                *sum,
                u128::from(*used_in_period),
                "mandate {id}'s period total"
            );
            assert!(
                *sum <= u128::from(m.limit_per_period),
                "mandate {id} over its limit"
            );
        }
    }
    let mut listed = 0;
    for key in c.senders() {
        let statuses =
            mandates_of(&c.state, &key.address(), ctx.height, ctx.time_ms).expect("read");
        for s in statuses {
            let m = &s.mandate;
            assert!(
                m.used <= m.limit_per_period,
                "mandate {} used {} of {}",
                m.id,
                m.used,
                m.limit_per_period
            );
            assert!(s.remaining <= m.limit_per_period);
            listed += 1;
        }
    }
    assert_eq!(
        listed,
        record_ids(&c.state, keys::MANDATE).len(),
        "every mandate is listed"
    );
}

/// How many of a block's transactions executed (invalid ones do not count towards
/// the block's fullness).
fn executed(receipts: &[Receipt]) -> usize {
    receipts
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::Invalid(_)))
        .count()
}

/// After a block of `txs` executed transactions under `market`: the stored base fee stays within
/// its bounds, moves by at most `max(1, base / change_denominator)`, and moves up after
/// a block above target, down (or not) below it, not at all at target.
fn check_base_fee(market: &FeeMarket, pre: &MemoryState, post: &MemoryState, txs: usize) {
    let (before, after) = (base_fee(pre), base_fee(post));
    assert!(
        (market.base_fee_min..=market.base_fee_max).contains(&after),
        "base fee {after} outside [{}, {}]",
        market.base_fee_min,
        market.base_fee_max
    );
    let step = (before / u64::from(market.change_denominator)).max(1);
    assert!(
        before.abs_diff(after) <= step,
        "base fee moved from {before} to {after}, more than {step}"
    );
    let target = market.target_txs_per_block as usize;
    match txs.cmp(&target) {
        std::cmp::Ordering::Greater => {
            assert!(after >= before, "a full block lowered the base fee")
        }
        std::cmp::Ordering::Less => assert!(after <= before, "a light block raised the base fee"),
        std::cmp::Ordering::Equal => {
            assert_eq!(after, before, "a block at target moved the base fee")
        }
    }
}

/// Writes records into the committed state the way genesis writes them (for what no
/// call sets up: a partner's roles, a fee market) and checks the invariants.
fn amend(c: &mut Consortium, write: impl FnOnce(&mut Overlay<'_, MemoryState>)) {
    let mut ov = Overlay::new(&c.state);
    write(&mut ov);
    let (changes, app_hash) = ov.finish().expect("memory");
    c.state.apply(&changes);
    check_invariants(&c.state, app_hash);
}

/// Installs a fee market, as genesis would (it must accept the flat fee as the first
/// base fee).
fn install_fee_market(c: &mut Consortium, market: &FeeMarket) {
    let block_txs_max = c.state.params().expect("params").block_txs_max;
    assert_eq!(
        market.check(FEE, block_txs_max),
        Ok(()),
        "a test market genesis accepts"
    );
    amend(c, |ov| {
        ov.put(jeon_runtime::economy::fees::storage::fee_market(), market)
            .expect("write")
    });
}

/// Supply created (+) and destroyed (-) per asset, as the events report it.
fn minted_less_burned(receipts: &[Receipt]) -> BTreeMap<AssetId, i128> {
    let mut delta: BTreeMap<AssetId, i128> = BTreeMap::new();
    let mut add = |asset: AssetId, amount: Amount, sign: i128| {
        *delta.entry(asset).or_default() += sign * i128::from(amount);
    };
    for e in receipts.iter().flat_map(|r| &r.events) {
        match e {
            Event::Minted(events::Minted { asset, amount, .. })
            | Event::RewardGranted(events::RewardGranted { asset, amount, .. }) => {
                add(*asset, *amount, 1)
            }
            Event::Burned(events::Burned { asset, amount, .. })
            | Event::RedemptionSettled(events::RedemptionSettled { asset, amount, .. }) => {
                add(*asset, *amount, -1)
            }
            Event::StampsRedeemed(events::StampsRedeemed {
                stamp_asset,
                stamps,
                reward_asset,
                reward_amount,
                ..
            }) => {
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
            Event::Paid(events::Paid { amount, tax, .. }) => {
                let expected = u128::from(*amount) * u128::from(TAX_BPS) / 10_000;
                assert_eq!(
                    u128::from(*tax),
                    expected,
                    "tax is floor(amount * bps / 10 000)"
                );
            }
            Event::Converted(events::Converted {
                agreement,
                amount,
                out,
                spread,
                ..
            }) => {
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

/// Set-up blocks that give random calls live records to act on: GEM (capped), an
/// active PTS -> STAMP agreement and a proposed STAMP -> PTS one, PTS stamps that
/// redeem for GEM, and reward rules at the shop and the telco (PTS cashback; STAMP
/// stamps, whose supply is near u64::MAX; GEM stamps, whose limit is low); then the
/// records of the newer calls ([`credit_mandate_and_sponsor_setup`]).
fn economy_setup(c: &mut Consortium) {
    let (shop, telco) = (c.shop.address(), c.telco.address());
    let create = sign(
        &c.telco,
        0,
        Call::CreateAsset(calls::CreateAsset {
            symbol: "GEM".into(),
            decimals: 0,
            kind: AssetKind::Credit,
            supply_max: Some(GEM_SUPPLY_MAX),
        }),
    );
    let propose = |from, to| {
        Call::ProposeExchange(calls::ProposeExchange {
            from_asset: from,
            to_asset: to,
            rate_num: 3,
            rate_den: 2,
            spread_bps: 250,
            daily_cap: 20_000,
            settlement_asset: KRW,
            settlement_price: 2,
        })
    };
    let pts_to_stamp = sign(&c.telco, 1, propose(PTS, STAMP));
    let stamp_to_pts = sign(&c.bank, 0, propose(STAMP, PTS));
    let txs = [create, pts_to_stamp, stamp_to_pts].map(verified);
    assert!(c.run(&txs).iter().all(Receipt::is_success));
    let rule = |kind, merchants: Vec<Address>, cap| {
        Call::AddRewardRule(calls::AddRewardRule {
            merchants,
            pay_asset: KRW,
            kind,
            cap_per_user_per_period: cap,
            period_ms: 3_000,
        })
    };
    let telco_nonce = c.state.nonce(&telco).expect("nonce");
    let bank_nonce = c.state.nonce(&c.bank.address()).expect("nonce");
    let calls = [
        (
            &c.bank,
            bank_nonce,
            Call::AcceptExchange(calls::AcceptExchange { id: 0 }),
        ),
        (
            &c.telco,
            telco_nonce,
            Call::SetStampReward(calls::SetStampReward {
                stamp_asset: PTS,
                stamps: 10,
                reward_asset: GEM,
                reward_amount: 1,
            }),
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
    credit_mandate_and_sponsor_setup(c);
}

/// Set-up for the newer calls: the bank becomes a lender (no call grants a role);
/// users 0-2 redeem a point each (5 score points: each may then borrow 500 000); the
/// partners sponsor their customers, the telco user 0 and the bank the user without
/// KRW, on budgets of one or two fees per period; then the bank opens a line
/// for user 0 and user 1 grants the shop a mandate.
fn credit_mandate_and_sponsor_setup(c: &mut Consortium) {
    let bank = c.bank.address();
    let mut partner = c.state.partner(&bank).expect("read").expect("a partner");
    partner.roles.push(Role::Lender);
    amend(c, |ov| {
        ov.put(keys::partner(&bank), &partner).expect("write")
    });
    let shop = c.shop.address();
    let users: Vec<Address> = c.users.iter().map(Keypair::address).collect();
    let redeem = Call::Redeem(calls::Redeem {
        asset: PTS,
        amount: 1,
        kind: RedeemKind::Goods { merchant: shop },
    });
    let sponsor = |beneficiary, budget_per_period, period_ms| {
        Call::SponsorFees(calls::SponsorFees {
            beneficiary,
            asset: KRW,
            budget_per_period,
            period_ms,
        })
    };
    let txs = [
        c.tx(&c.users[0], redeem.clone()),
        c.tx(&c.users[1], redeem.clone()),
        c.tx(&c.users[2], redeem),
        c.tx(&c.shop, sponsor(Beneficiary::AllCustomers, 3, 3_000)),
        c.tx(&c.telco, sponsor(Beneficiary::Account(users[0]), 2, 2_000)),
        verified(sign(
            &c.telco,
            c.state.nonce(&c.telco.address()).expect("nonce") + 1,
            sponsor(Beneficiary::AllCustomers, 4, 1_000),
        )),
        c.tx(
            &c.bank,
            sponsor(Beneficiary::Account(users[USERS - 1]), 4, 1_000),
        ),
        verified(sign(
            &c.bank,
            c.state.nonce(&c.bank.address()).expect("nonce") + 1,
            sponsor(Beneficiary::AllCustomers, 2, 2_000),
        )),
    ];
    let receipts = c.run(&txs);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:#?}");
    let open = Call::OpenCreditLine(calls::OpenCreditLine {
        borrower: users[0],
        asset: KRW,
        limit: 50_000,
        due_period_blocks: 4,
    });
    let grant = Call::GrantMandate(calls::GrantMandate {
        spender: shop,
        asset: KRW,
        limit_per_period: 500,
        period_ms: 3_000,
        expires_at: c.height + 30,
    });
    let txs = [c.tx(&c.bank, open), c.tx(&c.users[1], grant)];
    let receipts = c.run(&txs);
    assert!(receipts.iter().all(Receipt::is_success), "{receipts:#?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_blocks_of_every_call_conserve_supply_and_failed_calls_change_only_fee_and_nonce(
        market in prop::option::of(fee_market()),
        blocks in blocks()
    ) {
        let mut c = Consortium::new();
        economy_setup(&mut c);
        if let Some(m) = &market {
            install_fee_market(&mut c, m);
        }
        let mut charged = Charged::new();
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
            check_mandates(&c, &ctx, &receipts, &mut charged);
            if let Some(m) = &market {
                check_base_fee(m, &pre, &c.state, executed(&receipts));
            }
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

// ---- Sponsors' budgets ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_sponsor_never_pays_more_than_its_budget_per_period(
        market in prop::option::of(fee_market()),
        offers in prop::collection::vec(offer(1), 2..10),
        blocks in prop::collection::vec(prop::collection::vec(budget_step(), 0..16), 1..12),
    ) {
        let mut c = Consortium::new();
        if let Some(m) = &market {
            install_fee_market(&mut c, m);
        }
        let walk_ins = walk_ins();
        let mut budgets = Budgets::default();
        let first: Vec<BudgetStep> = offers.into_iter().map(BudgetStep::Offer).collect();
        for steps in std::iter::once(&first).chain(&blocks) {
            let txs = sign_budget_block(&c, &walk_ins, steps);
            let pre = c.state.clone();
            let ctx = c.next_ctx();
            let receipts = c.run(&txs);
            budgets.observe_block(&c, &pre, &ctx, &txs, &receipts);
            if let Some(m) = &market {
                check_base_fee(m, &pre, &c.state, executed(&receipts));
            }
        }
    }
}

/// The partners that sponsor in the budget test: the shop (paid by its customers)
/// and the telco (the issuer of the points users redeem). The bank, third, never
/// sponsors: a transaction naming it is not sponsored.
fn budget_partners(c: &Consortium) -> [&Keypair; 3] {
    [&c.shop, &c.telco, &c.bank]
}
/// The partners of [`budget_partners`] that make offers.
const SPONSORS: usize = 2;
/// The users of the budget test: the consortium's four, then walk-ins who hold
/// nothing, whose transactions only a sponsor or a co-signer can pay for.
const BUDGET_USERS: usize = 8;

/// The walk-in users of the budget test.
fn walk_ins() -> Vec<Keypair> {
    (USERS..BUDGET_USERS)
        .map(|i| Keypair::from_seed_label(&format!("walk-in-{i}")))
        .collect()
}

/// A sponsor's offer: whose fees (`None`: all its customers; `Some(u)`: user `u`'s),
/// a budget per period (0 withdraws it) and a period, mostly shorter than a few blocks.
#[derive(Clone, Debug)]
struct Offer {
    sponsor: usize,
    user: Option<usize>,
    budget: Amount,
    period_ms: u64,
}

/// What a user does in a transaction a sponsor may pay for.
#[derive(Clone, Debug)]
enum Errand {
    /// Pays the shop: addressed to the shop.
    PayShop(Amount),
    /// Sends KRW to a sponsor: addressed to it.
    TransferToSponsor(usize, Amount),
    /// Sends KRW to a user: addressed to no sponsor.
    TransferToUser(usize, Amount),
    /// Redeems points at the shop: addressed to the telco, their issuer.
    RedeemPoints(Amount),
    /// Mints KRW, which only the bank may: always fails.
    Mint,
}

/// Who pays an errand's fee: the user, a partner co-signing, or a partner as sponsor
/// (indices into [`budget_partners`]; `None`: the partner the errand is addressed to,
/// the shop if none).
#[derive(Clone, Copy, Debug)]
enum Funding {
    Own,
    CoSigned(usize),
    Sponsored(Option<usize>),
}

#[derive(Clone, Debug)]
enum BudgetStep {
    Offer(Offer),
    Errand {
        user: usize,
        funding: Funding,
        errand: Errand,
    },
}

/// Offers with budgets of at least `budget_min` (0 withdraws): a fee to a few.
fn offer(budget_min: Amount) -> impl Strategy<Value = Offer> {
    (
        0..SPONSORS,
        prop::option::of(0..BUDGET_USERS),
        prop_oneof![1 => Just(0u64), 8 => 1..12u64].prop_map(move |b| b.max(budget_min)),
        prop::sample::select(vec![500u64, 1_000, 1_500, 2_000, 3_000, 7_000]),
    )
        .prop_map(|(sponsor, user, budget, period_ms)| Offer {
            sponsor,
            user,
            budget,
            period_ms,
        })
}

fn budget_step() -> impl Strategy<Value = BudgetStep> {
    let errand = prop_oneof![
        3 => (1..2_000u64).prop_map(Errand::PayShop),
        2 => (0..SPONSORS, 1..1_000u64).prop_map(|(s, a)| Errand::TransferToSponsor(s, a)),
        2 => (0..BUDGET_USERS, 1..1_000u64).prop_map(|(u, a)| Errand::TransferToUser(u, a)),
        1 => (1..20u64).prop_map(Errand::RedeemPoints),
        1 => Just(Errand::Mint),
    ];
    let funding = prop_oneof![
        6 => prop_oneof![4 => Just(None), 3 => (0..3usize).prop_map(Some)]
            .prop_map(Funding::Sponsored),
        1 => (0..3usize).prop_map(Funding::CoSigned),
        1 => Just(Funding::Own),
    ];
    prop_oneof![
        1 => offer(0).prop_map(BudgetStep::Offer),
        6 => (0..BUDGET_USERS, funding, errand)
            .prop_map(|(user, funding, errand)| BudgetStep::Errand { user, funding, errand }),
    ]
}

/// The index in [`budget_partners`] of the partner an errand is addressed to; the shop
/// for an errand addressed to none.
fn addressed_partner(errand: &Errand) -> usize {
    match errand {
        Errand::TransferToSponsor(s, _) => *s,
        Errand::RedeemPoints(_) => 1,
        Errand::PayShop(_) | Errand::TransferToUser(..) | Errand::Mint => 0,
    }
}

fn errand_call(c: &Consortium, users: &[&Keypair], errand: &Errand) -> Call {
    match *errand {
        Errand::PayShop(amount) => Call::Pay(calls::Pay {
            merchant: c.shop.address(),
            asset: KRW,
            amount,
            reference: "coffee".into(),
        }),
        Errand::TransferToSponsor(s, amount) => {
            transfer(&budget_partners(c)[s].address(), KRW, amount)
        }
        Errand::TransferToUser(u, amount) => transfer(&users[u].address(), KRW, amount),
        Errand::RedeemPoints(amount) => Call::Redeem(calls::Redeem {
            asset: PTS,
            amount,
            kind: RedeemKind::Goods {
                merchant: c.shop.address(),
            },
        }),
        Errand::Mint => Call::Mint(calls::Mint {
            asset: KRW,
            to: c.users[0].address(),
            amount: 1,
        }),
    }
}

/// Signs a budget test block: at most one errand per user (a refused one would make
/// the user's later ones refused too), the sponsors' offers with their nonces in
/// sequence from the committed ones.
fn sign_budget_block(
    c: &Consortium,
    walk_ins: &[Keypair],
    steps: &[BudgetStep],
) -> Vec<VerifiedTx> {
    let partners = budget_partners(c);
    let users: Vec<&Keypair> = c.users.iter().chain(walk_ins).collect();
    let mut next: BTreeMap<Address, u64> = BTreeMap::new();
    let mut sent = BTreeSet::new();
    steps
        .iter()
        .filter(|s| match s {
            BudgetStep::Offer(_) => true,
            BudgetStep::Errand { user, .. } => sent.insert(*user),
        })
        .map(|s| {
            let (key, call, payer) = budget_tx_parts(c, &users, s);
            let sender = key.address();
            let nonce = next
                .entry(sender)
                .or_insert_with(|| c.state.nonce(&sender).expect("nonce"));
            let body = TxBody {
                chain_id: CHAIN,
                sender,
                nonce: *nonce,
                fee_limit: FEE_LIMIT,
                expiry: FAR_EXPIRY,
                call,
                fee_payer: payer.map(|(p, _)| partners[p].address()),
            };
            *nonce += 1;
            let tx = body.sign(key);
            match payer {
                Some((p, true)) => verified(tx.sign_as_payer(partners[p])),
                _ => VerifiedTx::new_unchecked(tx),
            }
        })
        .collect()
}

/// A budget step's sender, call and fee payer, if another pays: an index into
/// [`budget_partners`], and whether it co-signs.
fn budget_tx_parts<'a>(
    c: &'a Consortium,
    users: &[&'a Keypair],
    step: &BudgetStep,
) -> (&'a Keypair, Call, Option<(usize, bool)>) {
    match step {
        BudgetStep::Offer(o) => {
            let beneficiary = o.user.map_or(Beneficiary::AllCustomers, |u| {
                Beneficiary::Account(users[u].address())
            });
            let call = Call::SponsorFees(calls::SponsorFees {
                beneficiary,
                asset: KRW,
                budget_per_period: o.budget,
                period_ms: o.period_ms,
            });
            (budget_partners(c)[o.sponsor], call, None)
        }
        BudgetStep::Errand {
            user,
            funding,
            errand,
        } => {
            let payer = match *funding {
                Funding::Own => None,
                Funding::CoSigned(p) => Some((p, true)),
                Funding::Sponsored(p) => Some((p.unwrap_or(addressed_partner(errand)), false)),
            };
            (users[*user], errand_call(c, users, errand), payer)
        }
    }
}

/// The budget test's own account of the sponsorships and of what each paid per period,
/// kept from the transactions and their receipts alone.
#[derive(Default)]
struct Budgets {
    /// The sponsorships by key, as they should be stored.
    records: BTreeMap<Vec<u8>, Sponsorship>,
    /// New terms per key: a withdrawal, or an offer with another period length. The
    /// runtime starts such terms with nothing used (it keeps `used` only when the
    /// stored period index equals the new offer's, and indices of different period
    /// lengths never coincide at these times), so each terms' budget is summed apart.
    terms: BTreeMap<Vec<u8>, u32>,
    /// Fees sponsored per (key, terms, period index), summed from the `FeeCharged`
    /// events of the transactions each sponsorship paid for.
    paid: BTreeMap<(Vec<u8>, u32, u64), Amount>,
    /// The period in which a key's budget was cut below what it had already paid.
    cut: BTreeMap<Vec<u8>, u64>,
}

impl Budgets {
    /// Follows one block: every transaction's validity, payer and sponsorship, then
    /// the stored sponsorships against the expected ones.
    fn observe_block(
        &mut self,
        c: &Consortium,
        pre: &MemoryState,
        ctx: &BlockContext,
        txs: &[VerifiedTx],
        receipts: &[Receipt],
    ) {
        let mut nonces: BTreeMap<Address, u64> = BTreeMap::new();
        for (tx, r) in txs.iter().zip(receipts) {
            let body = tx.body();
            let next = nonces
                .entry(body.sender)
                .or_insert_with(|| pre.nonce(&body.sender).expect("nonce"));
            if body.nonce != *next {
                // Behind an invalid transaction of the same sender.
                let future = TxError::FutureNonce {
                    expected: *next,
                    got: body.nonce,
                };
                assert_eq!(r.outcome, Outcome::Invalid(future));
                continue;
            }
            match (body.fee_payer, &tx.tx().payer_signature) {
                (Some(sponsor), None) => self.sponsored(pre, ctx.time_ms, body, sponsor, r),
                (payer, _) => paid_by(r, payer.unwrap_or(body.sender)),
            }
            if !matches!(r.outcome, Outcome::Invalid(_)) {
                *next += 1;
            }
            self.offered(ctx.time_ms, body, r);
        }
        self.compare_with(c, ctx.time_ms);
    }

    /// A transaction naming `sponsor` without its signature: refused as not sponsored
    /// when no sponsorship of it applies, as exhausted when none has the fee left
    /// (naming the first that applies), and otherwise paid by the sponsor from the
    /// first that has, whose period's total stays within its budget.
    fn sponsored(
        &mut self,
        pre: &MemoryState,
        time_ms: TimeMs,
        body: &TxBody,
        sponsor: Address,
        r: &Receipt,
    ) {
        let mut candidates = vec![jeon_runtime::economy::fees::storage::sponsorship(
            &sponsor,
            &Beneficiary::Account(body.sender),
        )];
        if addressee(pre, &body.call) == Some(sponsor) {
            candidates.push(jeon_runtime::economy::fees::storage::sponsorship(
                &sponsor,
                &Beneficiary::AllCustomers,
            ));
        }
        candidates.retain(|k| self.records.contains_key(k));
        let fee = match &r.outcome {
            Outcome::Invalid(TxError::NotSponsored { sponsor: s }) => {
                assert_eq!(*s, sponsor);
                assert!(
                    candidates.is_empty(),
                    "{candidates:?} apply, yet not sponsored"
                );
                return;
            }
            Outcome::Invalid(TxError::SponsorBudgetExhausted { fee, .. }) => *fee,
            Outcome::Invalid(e) => panic!("a sponsored transaction refused: {e}"),
            _ => r.fee,
        };
        assert!(
            !candidates.is_empty(),
            "paid by {sponsor} without a sponsorship: {r:?}"
        );
        let Some(key) = candidates
            .iter()
            .find(|k| remaining(&self.records[*k], time_ms) >= fee)
            .cloned()
        else {
            let first = &self.records[&candidates[0]];
            let exhausted = TxError::SponsorBudgetExhausted {
                sponsor,
                budget: first.budget_per_period,
                remaining: remaining(first, time_ms),
                fee,
            };
            assert_eq!(r.outcome, Outcome::Invalid(exhausted));
            return;
        };
        assert!(
            !matches!(r.outcome, Outcome::Invalid(_)),
            "refused though covered: {r:?}"
        );
        let record = spent(&self.records[&key], time_ms, fee);
        self.add_paid(&key, &record, sponsor, r, fee);
        self.records.insert(key, record);
    }

    /// Adds the fee a sponsorship paid (the receipt's `FeeCharged`, whose payer must be
    /// the sponsor) to its period's total, which must stay within the budget in force.
    fn add_paid(
        &mut self,
        key: &[u8],
        record: &Sponsorship,
        sponsor: Address,
        r: &Receipt,
        fee: Amount,
    ) {
        let terms = self.terms.get(key).copied().unwrap_or(0);
        let fees: Vec<(Address, Amount)> = r
            .events
            .iter()
            .filter_map(|e| match e {
                Event::FeeCharged(events::FeeCharged { payer, amount, .. }) => {
                    Some((*payer, *amount))
                }
                _ => None,
            })
            .collect();
        assert_eq!(fees.len(), usize::from(fee > 0), "one FeeCharged per fee");
        for (payer, amount) in fees {
            assert_eq!(payer, sponsor, "the sponsor pays, not the sender");
            let total = self
                .paid
                .entry((key.to_vec(), terms, record.period))
                .or_default();
            *total += amount;
            assert!(
                *total <= record.budget_per_period,
                "{sponsor} paid {total} in period {} on a budget of {}",
                record.period,
                record.budget_per_period
            );
        }
    }

    /// Follows a `SponsorFees`: withdrawing an offer that does not exist fails; any
    /// other offer succeeds and replaces the record, keeping what the current period
    /// used, or removes it.
    fn offered(&mut self, time_ms: TimeMs, body: &TxBody, r: &Receipt) {
        let Call::SponsorFees(calls::SponsorFees {
            beneficiary,
            budget_per_period,
            period_ms,
            ..
        }) = &body.call
        else {
            return;
        };
        if let Outcome::Invalid(_) = r.outcome {
            return;
        }
        let key = jeon_runtime::economy::fees::storage::sponsorship(&body.sender, beneficiary);
        if *budget_per_period == 0 {
            if self.records.remove(&key).is_none() {
                assert_eq!(r.outcome, Outcome::Failed(CallError::UnknownSponsorship));
                return;
            }
            *self.terms.entry(key).or_default() += 1;
        } else {
            let period = time_ms / period_ms;
            let existing = self.records.get(&key);
            if existing.is_some_and(|s| s.period_ms != *period_ms) {
                *self.terms.entry(key.clone()).or_default() += 1;
            }
            let used = existing
                .filter(|s| s.period == period)
                .map_or(0, |s| s.used);
            if used > *budget_per_period {
                self.cut.insert(key.clone(), period);
            }
            let record = Sponsorship {
                sponsor: body.sender,
                beneficiary: *beneficiary,
                asset: KRW,
                budget_per_period: *budget_per_period,
                period_ms: *period_ms,
                period,
                used,
            };
            self.records.insert(key, record);
        }
        assert_eq!(r.outcome, Outcome::Success);
    }

    /// The stored sponsorships, as `sponsorships_of` lists them, are the expected ones,
    /// and none has used more than its budget (unless the sponsor cut the budget below
    /// what the period had already used).
    fn compare_with(&self, c: &Consortium, time_ms: TimeMs) {
        let mut stored = BTreeMap::new();
        for sponsor in budget_partners(c) {
            for s in sponsorships_of(&c.state, &sponsor.address(), time_ms).expect("read") {
                let record = s.sponsorship;
                let key = jeon_runtime::economy::fees::storage::sponsorship(
                    &record.sponsor,
                    &record.beneficiary,
                );
                assert!(
                    record.used <= record.budget_per_period
                        || self.cut.get(&key) == Some(&record.period),
                    "used more than the budget: {record:?}"
                );
                assert_eq!(s.remaining, remaining(&record, time_ms));
                stored.insert(key, record);
            }
        }
        assert_eq!(stored, self.records, "the stored sponsorships");
    }
}

/// A transaction whose fee `payer` pays as sender or co-signer was valid and charged
/// it, or (for a payer short of KRW) was invalid for that alone.
fn paid_by(r: &Receipt, payer: Address) {
    match &r.outcome {
        Outcome::Invalid(TxError::CannotPayFee { payer: p, .. }) => assert_eq!(*p, payer),
        Outcome::Invalid(e) => panic!("refused: {e}"),
        _ if r.fee == 0 => {}
        _ => {
            let charged = Event::FeeCharged(events::FeeCharged {
                payer,
                asset: KRW,
                amount: r.fee,
            });
            assert_eq!(r.events.first(), Some(&charged));
        }
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
