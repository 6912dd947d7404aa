//! Generators: proptest strategies for random blocks of every call, and the calls,
//! senders and fee payers they become.

use super::*;
use jeon_runtime::calls;

/// Assets a random call may name: the genesis ones, the id the next created asset
/// gets, and one that never exists.
pub(super) const ASSETS: [AssetId; 5] = [KRW, PTS, STAMP, AssetId(3), UNKNOWN];
/// Symbols a random `CreateAsset` may ask for: new, taken and invalid ones.
pub(super) const SYMBOLS: [&str; 6] = ["GEM", "NEW2", "KRW", "STAMP", "bad", ""];
/// Indices of the senders: bank, telco, shop, then the users.
pub(super) const BANK: usize = 0;
pub(super) const TELCO: usize = 1;
pub(super) const SHOP: usize = 2;
/// The partners come first among the senders.
pub(super) const PARTNERS: usize = 3;
/// The sender index of the last user, who holds no KRW: only a fee payer lets it act.
pub(super) const POOR_USER: usize = PARTNERS + USERS - 1;
/// The fee limit of the random transactions: above any base fee a test market reaches.
pub(super) const FEE_LIMIT: Amount = 64;
/// The highest `base_fee_max` of a test fee market.
pub(super) const BASE_FEE_MAX: Amount = 48;
/// The share of the base fee paid below the first volume tier.
pub(super) const FULL_FEE_BPS: u16 = 10_000;

#[derive(Clone, Debug)]
pub(super) enum Op {
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
pub(super) enum MandateOp {
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
pub(super) struct InvoiceOp {
    /// A sender index, or the number of senders for a stranger (not a partner).
    pub(super) merchant: usize,
    pub(super) asset: usize,
    pub(super) amount: Amount,
    /// Few ids, so that links are often paid twice.
    pub(super) invoice_id: u64,
    /// Blocks from the next one to the expiry (0: expired already).
    pub(super) expires_in: u64,
    pub(super) memo: Option<usize>,
    pub(super) tamper: Tamper,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Tamper {
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
pub(super) enum CreditOp {
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
pub(super) enum NonceChoice {
    Next,
    Stale,
    Future,
}

/// Who a step names to pay its fee.
#[derive(Clone, Copy, Debug)]
pub(super) enum PayerChoice {
    /// Nobody: the sender pays.
    Sender,
    /// Sender `i`, which co-signs (the next sender if `i` is the sender itself).
    CoSigner(usize),
    /// Partner `i` as sponsor, without its signature; a natural step names a partner
    /// whose sponsorship covers the transaction if one does.
    Sponsor(usize),
}

#[derive(Clone, Debug)]
pub(super) struct Step {
    pub(super) from: usize,
    /// Send from the party the call needs (the asset's issuer, the agreement's
    /// counterparty, a user) instead of `from`, so that call chains get far.
    pub(super) natural: bool,
    pub(super) op: Op,
    pub(super) nonce: NonceChoice,
    pub(super) fee_too_low: bool,
    pub(super) expired: bool,
    pub(super) payer: PayerChoice,
}

pub(super) fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        1 => Just(0u64),
        4 => 1..100u64,
        3 => 1..2_000_000u64,
        2 => (u64::MAX - 20)..=u64::MAX,
        1 => any::<u64>(),
    ]
}

/// Amounts for economy calls: mostly small enough to succeed.
pub(super) fn small() -> impl Strategy<Value = Amount> {
    prop_oneof![1 => Just(0u64), 8 => 1..3_000u64, 1 => amount()]
}

/// Text lengths: short, at the 64-byte limit, and one over it.
pub(super) fn text() -> impl Strategy<Value = usize> {
    prop_oneof![8 => 0..12usize, 1 => Just(64usize), 1 => Just(65usize)]
}

pub(super) fn id() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0..4u64, 1 => Just(u64::MAX)]
}

/// Recipients: every sender, the fee collector, an account that holds nothing, and
/// the escrow account.
pub(super) const RECIPIENTS: usize = 3 + USERS + 3;

pub(super) fn asset() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(0), 4 => Just(1), 2 => Just(2), 1 => Just(3), 1 => Just(4)]
}

/// Money first (KRW), sometimes any asset.
pub(super) fn money() -> impl Strategy<Value = usize> {
    prop_oneof![8 => Just(0usize), 1 => asset()]
}

/// Credit assets first: PTS, STAMP, the next created one; sometimes KRW or unknown.
pub(super) fn credit() -> impl Strategy<Value = usize> {
    prop_oneof![5 => Just(1), 4 => Just(2), 3 => Just(3), 1 => Just(0), 1 => Just(4)]
}

/// A merchant (shop, telco) mostly; sometimes any recipient.
pub(super) fn merchant() -> impl Strategy<Value = usize> {
    prop_oneof![4 => Just(SHOP), 3 => Just(TELCO), 1 => 0..RECIPIENTS]
}

/// Periods: none (refused), a second or a few (so they roll within a run), a day.
pub(super) fn period_ms() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        3 => Just(1_000u64),
        3 => Just(3_000u64),
        1 => Just(86_400_000u64)
    ]
}

/// Blocks until an expiry: none (expired already), a few, or never.
pub(super) fn expires_in() -> impl Strategy<Value = u64> {
    prop_oneof![1 => Just(0u64), 4 => 1..6u64, 3 => Just(u64::MAX)]
}

pub(super) fn base_op() -> BoxedStrategy<Op> {
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

pub(super) fn reward_op() -> BoxedStrategy<Op> {
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

pub(super) fn redeem_op() -> BoxedStrategy<Op> {
    prop_oneof![
        3 => (credit(), small(), any::<bool>(), 0..RECIPIENTS)
            .prop_map(|(asset, amount, goods, target)| Op::Redeem { asset, amount, goods, target }),
        2 => (id(), text()).prop_map(|(id, reference)| Op::Settle { id, reference }),
        1 => (id(), text()).prop_map(|(id, reason)| Op::Reject { id, reason }),
    ]
    .boxed()
}

pub(super) fn exchange_op() -> BoxedStrategy<Op> {
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

pub(super) fn invoice_op() -> impl Strategy<Value = InvoiceOp> {
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

pub(super) fn mandate_op() -> BoxedStrategy<Op> {
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

pub(super) fn credit_op() -> BoxedStrategy<Op> {
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
pub(super) fn sponsor_op() -> BoxedStrategy<Op> {
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

pub(super) fn op() -> BoxedStrategy<Op> {
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

pub(super) fn payer_choice() -> impl Strategy<Value = PayerChoice> {
    prop_oneof![
        14 => Just(PayerChoice::Sender),
        3 => (0..PARTNERS + USERS).prop_map(PayerChoice::CoSigner),
        3 => (0..PARTNERS).prop_map(PayerChoice::Sponsor),
    ]
}

pub(super) fn step() -> impl Strategy<Value = Step> {
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

pub(super) fn blocks() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec(prop::collection::vec(step(), 0..14), 1..10)
}

/// A fee market around the flat fee: small targets so that random blocks move the
/// base fee, steps of a whole, a half and an eighth of it, and up to three volume tiers
/// over short windows (shares from nothing to the full fee).
pub(super) fn fee_market() -> impl Strategy<Value = FeeMarket> {
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

pub(super) fn recipient(c: &Consortium, i: usize) -> Address {
    let senders = c.senders();
    match i.checked_sub(senders.len()) {
        None => senders[i].address(),
        Some(0) => c.collector,
        Some(1) => Keypair::from_seed_label("stranger").address(),
        Some(_) => jeon_runtime::economy::ESCROW_ACCOUNT,
    }
}

pub(super) fn text_of(len: usize) -> String {
    "r".repeat(len)
}

/// The last height at which something expiring `expires_in` blocks from the next one
/// is still accepted (the height before the next block for 0).
pub(super) fn expiry(c: &Consortium, expires_in: u64) -> Height {
    (c.height + 1).saturating_add(expires_in) - 1
}

pub(super) fn call(c: &Consortium, op: &Op) -> Call {
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

pub(super) fn mandate_call(c: &Consortium, op: &MandateOp) -> Call {
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
pub(super) fn invoice_call(c: &Consortium, op: &InvoiceOp) -> Call {
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

pub(super) fn credit_call(c: &Consortium, op: &CreditOp) -> Call {
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
pub(super) fn mandate(st: &MemoryState, id: u64) -> Option<Mandate> {
    read_record(st, &jeon_runtime::economy::mandate::storage::mandate(id)).expect("read")
}

/// A credit line in the committed state.
pub(super) fn credit_line(st: &MemoryState, id: u64) -> Option<CreditLine> {
    read_record(st, &jeon_runtime::economy::credit::storage::credit_line(id)).expect("read")
}

/// The ids of the records stored under `prefix || id (u64 BE)`, in order.
pub(super) fn record_ids(st: &MemoryState, prefix: u8) -> Vec<u64> {
    st.iter()
        .filter(|(k, _)| k.len() == 9 && k.first() == Some(&prefix))
        .map(|(k, _)| u64::from_be_bytes(k[1..9].try_into().expect("8 bytes")))
        .collect()
}

/// The sender a call needs to get anywhere, judged from the committed state.
pub(super) fn natural_sender(c: &Consortium, op: &Op, from: usize) -> usize {
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
        Op::RemoveRule { id } => jeon_runtime::economy::rewards::reward_rule(&c.state, *id)
            .expect("read")
            .and_then(|r| index_of(r.issuer)),
        Op::Settle { id, .. } | Op::Reject { id, .. } => {
            jeon_runtime::economy::redeem::redemption(&c.state, *id)
                .expect("read")
                .and_then(|r| index_of(r.issuer))
        }
        Op::Accept { id } => jeon_runtime::economy::exchange::exchange(&c.state, *id)
            .expect("read")
            .and_then(|a| index_of(a.counterparty())),
        Op::Revoke { id } => jeon_runtime::economy::exchange::exchange(&c.state, *id)
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
pub(super) fn asset_index(asset: AssetId) -> Option<usize> {
    ASSETS.iter().position(|a| *a == asset)
}

/// Adjusts a natural step's call to the committed state so that chains of calls get
/// far: the ids of records that exist, the pair of an active agreement, a stamp count
/// that is a whole number of rewards. (Random ids and pairs mostly name nothing.)
pub(super) fn steer(c: &Consortium, op: &Op) -> Op {
    let st = &c.state;
    let mut op = op.clone();
    match &mut op {
        Op::Accept { id } => {
            let proposals = jeon_runtime::economy::exchange::exchanges(st, 16).expect("read");
            if let Some(a) = proposals.iter().find(|a| !a.active) {
                *id = a.id;
            }
        }
        Op::Convert { from, to, .. } => {
            let agreements = jeon_runtime::economy::exchange::exchanges(st, 16).expect("read");
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
            if jeon_runtime::economy::redeem::redemption(st, *id)
                .expect("read")
                .is_none()
                && pending > 0
            {
                let first = st
                    .iter()
                    .find(|(k, _)| k.first() == Some(&keys::REDEMPTION))
                    .map(|(k, _)| u64::from_be_bytes(k[1..9].try_into().expect("8 bytes")));
                *id = first.unwrap_or(*id);
            }
        }
        // Removing the set-up rules too often would starve the payments of rewards.
        Op::RemoveRule { id } if *id == 3 => {
            if let Some(r) = jeon_runtime::economy::rewards::reward_rules(st, 1)
                .expect("read")
                .first()
            {
                *id = r.id;
            }
        }
        Op::RedeemStamps { asset, count } => {
            for (i, a) in ASSETS.iter().enumerate() {
                if let Some(reward) =
                    jeon_runtime::economy::rewards::stamp_reward(st, *a).expect("read")
                {
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
pub(super) fn steer_credit(st: &MemoryState, height: Height, op: &mut CreditOp) {
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
pub(super) fn sign_block(c: &Consortium, steps: &[Step]) -> Vec<VerifiedTx> {
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
pub(super) fn fee_payer<'a>(
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

/// Transfers of KRW from distinct funded senders, small enough that every one succeeds
/// whatever the order: the list, a permutation of it, and a point to split it at.
#[allow(clippy::type_complexity)]
pub(super) fn independent_transfers() -> impl Strategy<
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
