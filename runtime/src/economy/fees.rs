//! Fees: what a transaction pays, and who pays it.
//!
//! **How much.** Each block has a *base fee*. Without a [`FeeMarket`] in genesis it is
//! `params.fee_flat` forever. With one, it moves after every block with the block's
//! fullness, as in EIP-1559: with `n` transactions in a block of target `t`, divisor
//! `d`, the next base fee is
//!
//! ```text
//! above target: base + max(1, floor(base * min(n - t, t) / t / d))
//! below target: base - floor(base * (t - n) / t / d)
//! ```
//!
//! clamped to `[base_fee_min, base_fee_max]`. So one block moves it by at most `1/d` of
//! itself (12.5 % with `d = 8`), and empty blocks (a proposer makes one every second
//! when idle) bring it back down. A sender then pays
//! `ceil(base * fee_bps / 10 000)`, where `fee_bps` is its *volume tier*: the last tier
//! whose `min_txs` is at most the sender's volume (10 000, the full base fee, below the
//! first tier).
//!
//! **Volume** is the number of transactions the sender had executed (successful or
//! failed calls, not invalid ones) over a rolling window of `volume_window_blocks`
//! blocks, counted in two buckets, the current window `w = height / W` and the one
//! before, and estimated as `current + floor(previous * (W - height % W) / W)`: the
//! previous window's count weighted by how much of it the rolling window still covers.
//! The record is kept only when the market has tiers.
//!
//! **Who.** The sender, unless the body names a `fee_payer`. With the payer's
//! signature over `"jeon/tx-payer/v1" || encode(body)` (a co-signer), the payer pays.
//! Without it, the payer must be a partner sponsoring this sender: a [`Sponsorship`]
//! for the sender's account, or one for all its customers, where a *customer's*
//! transaction is one whose call is addressed to the sponsor (see [`crate::calls::CallDef::addressee`]).
//! A sponsorship spends at most `budget_per_period` of the fee asset per period
//! (period index `time_ms / period_ms`); a fee it cannot cover makes the transaction
//! invalid (`SponsorBudgetExhausted`), so a budget is never exceeded.
//!
//! Everything here is a function of state and the block context.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::ledger::{get, CallCx, Res};
use crate::economy::BPS_DENOMINATOR;
use crate::events::EventDef;
use crate::model::{CallError, Event, Params};
use crate::state::{read_record, Overlay, StateError, StateExt, StateRead, StateScan};
use crate::tx::{SignedTx, TxError};
use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::fees::Beneficiary;
    use crate::state::keys::{
        with, BASE_FEE, FEE_MARKET, SPONSORED_BY, SPONSORED_DAY, SPONSORSHIP, VOLUME,
    };
    use crate::types::Address;

    /// Key of the fee market.
    pub fn fee_market() -> Vec<u8> {
        vec![FEE_MARKET]
    }
    /// Key of the next block's base fee.
    pub fn base_fee() -> Vec<u8> {
        vec![BASE_FEE]
    }
    /// Key of a sponsor's sponsorship of one beneficiary.
    pub fn sponsorship(sponsor: &Address, beneficiary: &Beneficiary) -> Vec<u8> {
        match beneficiary {
            Beneficiary::AllCustomers => with(SPONSORSHIP, &[&sponsor.0, &[0x00]]),
            Beneficiary::Account(a) => with(SPONSORSHIP, &[&sponsor.0, &[0x01], &a.0]),
        }
    }
    /// Prefix of a sponsor's sponsorships.
    pub fn sponsorships_of(sponsor: &Address) -> Vec<u8> {
        with(SPONSORSHIP, &[&sponsor.0])
    }
    /// Key of the index entry saying `sponsor` sponsors `account`'s own fees.
    pub fn sponsored_by(account: &Address, sponsor: &Address) -> Vec<u8> {
        with(SPONSORED_BY, &[&account.0, &sponsor.0])
    }
    /// Prefix of the partners sponsoring `account`'s own fees.
    pub fn sponsors_of(account: &Address) -> Vec<u8> {
        with(SPONSORED_BY, &[&account.0])
    }
    /// Key of what a sponsor's sponsorships paid on one UTC day.
    pub fn sponsored_day(sponsor: &Address, day: u64) -> Vec<u8> {
        with(SPONSORED_DAY, &[&sponsor.0, &day.to_be_bytes()])
    }
    /// Key of an account's fee volume record.
    pub fn volume(who: &Address) -> Vec<u8> {
        with(VOLUME, &[&who.0])
    }
}

// ---------------------------------------------------------------- calls

/// A partner offers to pay fees for one account or for all its customers, within a
/// budget per period; a zero budget withdraws the offer (docs/economy.md, "Fees").
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SponsorFees {
    /// Whose fees.
    pub beneficiary: Beneficiary,
    /// The budget's asset: must be the chain's fee asset.
    pub asset: AssetId,
    /// The most fees paid per period; 0 withdraws the sponsorship.
    pub budget_per_period: Amount,
    /// The period in milliseconds (> 0); period index = `time_ms / period_ms`.
    pub period_ms: u64,
}

impl CallDef for SponsorFees {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        sponsor(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let SponsorFees {
            beneficiary,
            asset,
            budget_per_period,
            period_ms,
        } = self;
        let whose = match beneficiary {
            Beneficiary::Account(a) => a.to_string(),
            Beneficiary::AllCustomers => "all customers".to_owned(),
        };
        if *budget_per_period == 0 {
            return format!("stop sponsoring the fees of {whose}");
        }
        format!("sponsor the fees of {whose} up to {budget_per_period} units of asset {asset} per {period_ms} ms")
    }
}

// --------------------------------------------------------------- events

/// A fee was charged.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct FeeCharged {
    /// Who paid.
    pub payer: Address,
    /// In which asset.
    pub asset: AssetId,
    /// How much.
    pub amount: Amount,
}

impl EventDef for FeeCharged {
    fn accounts(&self) -> Vec<Address> {
        vec![self.payer]
    }
}

/// A partner set (or with a zero budget withdrew) a fee sponsorship.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct FeesSponsored {
    /// The partner that pays.
    pub sponsor: Address,
    /// Whose fees.
    pub beneficiary: crate::fees::Beneficiary,
    /// The budget's asset.
    pub asset: AssetId,
    /// The budget per period (0: withdrawn).
    pub budget_per_period: Amount,
    /// The period in milliseconds.
    pub period_ms: u64,
}

impl EventDef for FeesSponsored {
    fn accounts(&self) -> Vec<Address> {
        match self.beneficiary {
            Beneficiary::Account(a) => vec![self.sponsor, a],
            Beneficiary::AllCustomers => vec![self.sponsor],
        }
    }
}

/// The most volume tiers a fee market may have.
pub const FEE_TIERS_MAX: usize = 16;
/// The most sponsorships [`sponsorships_of`] lists for one sponsor.
pub const SPONSORSHIPS_LISTED_MAX: usize = 1_000;
/// The share of the base fee paid below the first tier: all of it.
pub const FULL_FEE_BPS: u16 = 10_000;

/// How the base fee moves and what volume earns (genesis `fee_market`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeMarket {
    /// The base fee never goes below this.
    pub base_fee_min: Amount,
    /// The base fee never goes above this.
    pub base_fee_max: Amount,
    /// The block fullness, in transactions, at which the base fee holds (> 0).
    pub target_txs_per_block: u32,
    /// One block changes the base fee by at most `1 / change_denominator` of itself (> 0).
    pub change_denominator: u32,
    /// The rolling window over which a sender's volume is counted, in blocks (> 0).
    pub volume_window_blocks: Height,
    /// Volume tiers, by strictly increasing `min_txs`, with `fee_bps` not increasing.
    pub tiers: Vec<FeeTier>,
}

/// A volume tier: senders with at least `min_txs` transactions in the window pay
/// `fee_bps` / 10 000 of the base fee.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTier {
    /// The volume from which the tier applies.
    pub min_txs: u64,
    /// The share of the base fee paid, in basis points (at most 10 000).
    pub fee_bps: u16,
}

/// Why a fee market cannot be used; each message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeeMarketError {
    /// The floor is above the ceiling.
    #[error("base_fee_min {min} is above base_fee_max {max}")]
    MinAboveMax {
        /// `base_fee_min`.
        min: Amount,
        /// `base_fee_max`.
        max: Amount,
    },
    /// The genesis flat fee, the first base fee, is outside the bounds.
    #[error("params.fee_flat {initial} (the first base fee) is outside [base_fee_min {min}, base_fee_max {max}]")]
    InitialOutside {
        /// `params.fee_flat`.
        initial: Amount,
        /// `base_fee_min`.
        min: Amount,
        /// `base_fee_max`.
        max: Amount,
    },
    /// A field that must be positive is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The target is above what a block may hold.
    #[error("target_txs_per_block {target} is above params.block_txs_max {block_txs_max}: no block could ever raise the base fee")]
    TargetAboveBlock {
        /// `target_txs_per_block`.
        target: u32,
        /// `params.block_txs_max`.
        block_txs_max: u32,
    },
    /// More tiers than [`FEE_TIERS_MAX`].
    #[error("at most {FEE_TIERS_MAX} tiers")]
    TooManyTiers,
    /// A tier's fee is above the full fee.
    #[error("tiers[{tier}].fee_bps {fee_bps} is above {FULL_FEE_BPS}")]
    TierAboveFull {
        /// The tier's index.
        tier: usize,
        /// Its `fee_bps`.
        fee_bps: u16,
    },
    /// Tier thresholds do not increase.
    #[error("tiers[{tier}].min_txs {min_txs} is not above the previous tier's {previous}")]
    TierNotIncreasing {
        /// The tier's index.
        tier: usize,
        /// Its `min_txs`.
        min_txs: u64,
        /// The previous tier's.
        previous: u64,
    },
    /// A higher tier costs more than the one below it.
    #[error("tiers[{tier}].fee_bps {fee_bps} is above the previous tier's {previous}: more volume must never cost more")]
    TierCostsMore {
        /// The tier's index.
        tier: usize,
        /// Its `fee_bps`.
        fee_bps: u16,
        /// The previous tier's.
        previous: u16,
    },
}

impl FeeMarket {
    /// Checks the market's own rules against the genesis base fee and block size; the
    /// error names the field.
    pub fn check(
        &self,
        initial_base_fee: Amount,
        block_txs_max: u32,
    ) -> Result<(), FeeMarketError> {
        let (min, max) = (self.base_fee_min, self.base_fee_max);
        if min > max {
            return Err(FeeMarketError::MinAboveMax { min, max });
        }
        if initial_base_fee < min || initial_base_fee > max {
            return Err(FeeMarketError::InitialOutside {
                initial: initial_base_fee,
                min,
                max,
            });
        }
        let target = self.target_txs_per_block;
        if target == 0 {
            return Err(FeeMarketError::Zero("target_txs_per_block"));
        }
        if target > block_txs_max {
            return Err(FeeMarketError::TargetAboveBlock {
                target,
                block_txs_max,
            });
        }
        if self.change_denominator == 0 {
            return Err(FeeMarketError::Zero("change_denominator"));
        }
        if self.volume_window_blocks == 0 {
            return Err(FeeMarketError::Zero("volume_window_blocks"));
        }
        if self.tiers.len() > FEE_TIERS_MAX {
            return Err(FeeMarketError::TooManyTiers);
        }
        for (i, t) in self.tiers.iter().enumerate() {
            if t.fee_bps > FULL_FEE_BPS {
                return Err(FeeMarketError::TierAboveFull {
                    tier: i,
                    fee_bps: t.fee_bps,
                });
            }
            let Some(prev) = i.checked_sub(1).and_then(|p| self.tiers.get(p)) else {
                continue;
            };
            if t.min_txs <= prev.min_txs {
                return Err(FeeMarketError::TierNotIncreasing {
                    tier: i,
                    min_txs: t.min_txs,
                    previous: prev.min_txs,
                });
            }
            if t.fee_bps > prev.fee_bps {
                return Err(FeeMarketError::TierCostsMore {
                    tier: i,
                    fee_bps: t.fee_bps,
                    previous: prev.fee_bps,
                });
            }
        }
        Ok(())
    }

    /// The base fee of the block after one with `txs` transactions at base fee `base`.
    pub fn next_base_fee(&self, base: Amount, txs: u64) -> Amount {
        let target = u128::from(self.target_txs_per_block.max(1));
        let denominator = u128::from(self.change_denominator.max(1));
        let (base128, used) = (u128::from(base), u128::from(txs));
        let next = if used > target {
            let excess = (used - target).min(target);
            base128 + (base128 * excess / target / denominator).max(1)
        } else {
            base128 - base128 * (target - used) / target / denominator
        };
        let clamped = next.clamp(u128::from(self.base_fee_min), u128::from(self.base_fee_max));
        // Clamped to a u64 maximum, so it fits.
        Amount::try_from(clamped).unwrap_or(self.base_fee_max)
    }

    /// The tier a volume falls in: its index and share, or `None` below the first.
    pub fn tier(&self, volume: u64) -> Option<(usize, FeeTier)> {
        self.tiers
            .iter()
            .enumerate()
            .rev()
            .find(|(_, t)| t.min_txs <= volume)
            .map(|(i, t)| (i, *t))
    }
}

/// `ceil(base * bps / 10 000)`: a tier's fee never rounds down to nothing.
pub fn fee_at(base: Amount, bps: u16) -> Amount {
    let product = u128::from(base) * u128::from(bps);
    let fee = product.div_ceil(u128::from(BPS_DENOMINATOR));
    // bps <= 10 000 (checked in genesis), so fee <= base.
    Amount::try_from(fee).unwrap_or(base)
}

/// A sender's transaction count in the current volume window and the one before.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Volume {
    /// The window index (`height / volume_window_blocks`) of `current`.
    pub window: u64,
    /// Transactions in that window.
    pub current: u64,
    /// Transactions in the window before it.
    pub previous: u64,
}

impl Volume {
    /// The two buckets as seen from `height`'s window.
    fn at(&self, height: Height, window_blocks: Height) -> (u64, u64) {
        let w = height / window_blocks.max(1);
        if self.window == w {
            (self.current, self.previous)
        } else if w.checked_sub(1) == Some(self.window) {
            (0, self.current)
        } else {
            (0, 0)
        }
    }

    /// The rolling-window estimate at `height` (see the module doc).
    pub fn estimate(&self, height: Height, window_blocks: Height) -> u64 {
        let wb = window_blocks.max(1);
        let (current, previous) = self.at(height, wb);
        let covered = u128::from(wb - height % wb);
        let weighted = u128::from(previous) * covered / u128::from(wb);
        current.saturating_add(u64::try_from(weighted).unwrap_or(previous))
    }

    /// The record after one more transaction at `height`.
    pub fn record(&self, height: Height, window_blocks: Height) -> Volume {
        let (current, previous) = self.at(height, window_blocks);
        Volume {
            window: height / window_blocks.max(1),
            current: current.saturating_add(1),
            previous,
        }
    }
}

/// Whose fees a sponsorship covers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Beneficiary {
    /// Every transaction of one account.
    Account(Address),
    /// The transactions of any account that are addressed to the sponsor (its
    /// customers'; see `Call::addressee`).
    AllCustomers,
}

/// A partner's standing offer to pay fees, within a budget per period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Sponsorship {
    /// The partner that pays.
    pub sponsor: Address,
    /// Whose fees.
    pub beneficiary: Beneficiary,
    /// The asset of the budget: the chain's fee asset.
    pub asset: AssetId,
    /// The most fees paid per period.
    pub budget_per_period: Amount,
    /// The period in milliseconds; period index = `time_ms / period_ms`.
    pub period_ms: u64,
    /// The period index of the latest fee paid.
    pub period: u64,
    /// Fees paid in `period`.
    pub used: Amount,
}

impl Sponsorship {
    /// What the budget still covers in the period of `time_ms`.
    pub fn remaining(&self, time_ms: TimeMs) -> Amount {
        if time_ms / self.period_ms.max(1) == self.period {
            self.budget_per_period.saturating_sub(self.used)
        } else {
            self.budget_per_period
        }
    }

    /// The record after paying `fee` at `time_ms` (the caller checked `remaining`).
    fn spend(&self, time_ms: TimeMs, fee: Amount) -> Sponsorship {
        let period = time_ms / self.period_ms.max(1);
        let used = if period == self.period { self.used } else { 0 };
        Sponsorship {
            period,
            used: used.saturating_add(fee),
            ..self.clone()
        }
    }

    fn key(&self) -> Vec<u8> {
        storage::sponsorship(&self.sponsor, &self.beneficiary)
    }
}

/// What every fee in one block depends on, read once per block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeRules {
    /// The asset fees are paid in.
    pub asset: AssetId,
    /// This block's base fee.
    pub base_fee: Amount,
    /// The market, if genesis set one.
    pub market: Option<FeeMarket>,
    /// The block's height.
    pub height: Height,
    /// The block's time.
    pub time_ms: TimeMs,
}

impl FeeRules {
    /// The rules for a block at `height` and `time_ms` over `state` (the state after
    /// the block before).
    pub fn load<S: StateRead + ?Sized>(
        state: &S,
        params: &Params,
        height: Height,
        time_ms: TimeMs,
    ) -> Result<FeeRules, StateError> {
        let market: Option<FeeMarket> = read_record(state, &storage::fee_market())?;
        let base_fee = read_record(state, &storage::base_fee())?.unwrap_or(params.fee_flat);
        Ok(FeeRules {
            asset: params.fee_asset,
            base_fee,
            market,
            height,
            time_ms,
        })
    }

    fn tiered(&self) -> Option<&FeeMarket> {
        self.market.as_ref().filter(|m| !m.tiers.is_empty())
    }
}

/// A sender's standing in the fee schedule.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SenderFee {
    /// Its volume in the rolling window.
    pub volume: u64,
    /// Its tier's index, if it reached one.
    pub tier: Option<usize>,
    /// The share of the base fee it pays.
    pub fee_bps: u16,
    /// The fee of its next transaction.
    pub fee: Amount,
}

/// What `sender` pays per transaction under `rules`.
pub fn sender_fee<S: StateRead + ?Sized>(
    state: &S,
    rules: &FeeRules,
    sender: &Address,
) -> Result<SenderFee, StateError> {
    let Some(market) = rules.tiered() else {
        return Ok(SenderFee {
            volume: 0,
            tier: None,
            fee_bps: FULL_FEE_BPS,
            fee: rules.base_fee,
        });
    };
    let record: Volume = read_record(state, &storage::volume(sender))?.unwrap_or_default();
    let volume = record.estimate(rules.height, market.volume_window_blocks);
    let tier = market.tier(volume);
    let fee_bps = tier.map_or(FULL_FEE_BPS, |(_, t)| t.fee_bps);
    Ok(SenderFee {
        volume,
        tier: tier.map(|(i, _)| i),
        fee_bps,
        fee: fee_at(rules.base_fee, fee_bps),
    })
}

/// Who pays a transaction's fee, and how much: the outcome of [`assess`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeDue {
    /// The account charged.
    pub payer: Address,
    /// The fee.
    pub amount: Amount,
    /// The sponsorship that pays, if any.
    sponsorship: Option<Sponsorship>,
}

/// Decides a transaction's fee and payer, or why it cannot be paid: the fee limit, the
/// sponsorship (when the payer did not sign) and the payer's balance, in that order.
/// The transaction's signatures were checked already ([`crate::tx::VerifiedTx`]).
pub fn assess<S: StateRead + ?Sized>(
    state: &S,
    rules: &FeeRules,
    tx: &SignedTx,
) -> Result<Result<FeeDue, TxError>, StateError> {
    let body = &tx.body;
    let fee = sender_fee(state, rules, &body.sender)?.fee;
    if body.fee_limit < fee {
        return Ok(Err(TxError::FeeTooLow {
            limit: body.fee_limit,
            required: fee,
        }));
    }
    let (payer, sponsorship) = match (body.fee_payer, &tx.payer_signature) {
        (None, _) => (body.sender, None),
        (Some(payer), Some(_)) => (payer, None),
        (Some(sponsor), None) => match sponsorship_for(state, rules, &sponsor, tx, fee)? {
            Ok(s) => (sponsor, Some(s)),
            Err(e) => return Ok(Err(e)),
        },
    };
    let available = state.balance(&payer, rules.asset)?;
    if available < fee {
        return Ok(Err(TxError::CannotPayFee {
            payer,
            asset: rules.asset,
            required: fee,
            available,
        }));
    }
    Ok(Ok(FeeDue {
        payer,
        amount: fee,
        sponsorship,
    }))
}

/// The sponsorship of `sponsor` that covers this transaction's `fee`: the sender's own
/// first, then the sponsor's customers' if the call is addressed to it.
fn sponsorship_for<S: StateRead + ?Sized>(
    state: &S,
    rules: &FeeRules,
    sponsor: &Address,
    tx: &SignedTx,
    fee: Amount,
) -> Result<Result<Sponsorship, TxError>, StateError> {
    let mut candidates = vec![Beneficiary::Account(tx.body.sender)];
    if tx.body.call.addressee(state)?.as_ref() == Some(sponsor) {
        candidates.push(Beneficiary::AllCustomers);
    }
    let mut short = None;
    for beneficiary in candidates {
        let key = storage::sponsorship(sponsor, &beneficiary);
        let Some(s) = read_record::<Sponsorship, _>(state, &key)? else {
            continue;
        };
        let remaining = s.remaining(rules.time_ms);
        if remaining >= fee {
            return Ok(Ok(s));
        }
        short.get_or_insert((s.budget_per_period, remaining));
    }
    Ok(Err(match short {
        Some((budget, remaining)) => TxError::SponsorBudgetExhausted {
            sponsor: *sponsor,
            budget,
            remaining,
            fee,
        },
        None => TxError::NotSponsored { sponsor: *sponsor },
    }))
}

/// Charges an assessed fee: debits the payer, spends the sponsorship's budget, counts
/// the sender's volume. The collector is credited once per block by the caller.
pub fn charge<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    rules: &FeeRules,
    sender: &Address,
    due: &FeeDue,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    if due.amount > 0 {
        let held = ov.balance(&due.payer, rules.asset)?;
        let left = held.checked_sub(due.amount).ok_or({
            StateError::InvariantBroken(
                "the fee payer's balance changed between assessment and charge",
            )
        })?;
        ov.set_balance(&due.payer, rules.asset, left)?;
        events.push(Event::FeeCharged(FeeCharged {
            payer: due.payer,
            asset: rules.asset,
            amount: due.amount,
        }));
    }
    if let Some(s) = &due.sponsorship {
        let spent = s.spend(rules.time_ms, due.amount);
        ov.put(spent.key(), &spent)?;
        let key = storage::sponsored_day(&s.sponsor, crate::economy::period_of(rules.time_ms));
        let day: SponsoredDay = read_record(ov, &key)?.unwrap_or_default();
        let day = SponsoredDay {
            txs: day.txs.saturating_add(1),
            fees: day.fees.saturating_add(due.amount),
        };
        ov.put(key, &day)?;
    }
    if let Some(market) = rules.tiered() {
        let key = storage::volume(sender);
        let record: Volume = read_record(ov, &key)?.unwrap_or_default();
        ov.put(
            key,
            &record.record(rules.height, market.volume_window_blocks),
        )?;
    }
    Ok(())
}

/// After a block of `txs` transactions: stores the next block's base fee if it moved.
pub fn end_block<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    rules: &FeeRules,
    txs: u64,
) -> Result<(), StateError> {
    if let Some(market) = &rules.market {
        let next = market.next_base_fee(rules.base_fee, txs);
        if next != rules.base_fee {
            ov.put(storage::base_fee(), &next)?;
        }
    }
    Ok(())
}

/// `SponsorFees`: a partner offers to pay fees, or with a zero budget withdraws its
/// offer. Changing the budget of an offer keeps what the current period already used;
/// changing its period length, or withdrawing and offering again, starts afresh.
fn sponsor<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    offer: &SponsorFees,
    events: &mut Vec<Event>,
) -> Res<()> {
    if ov.partner(&cx.sender)?.is_none() {
        return Err(CallError::NotAPartner { account: cx.sender }.into());
    }
    let params = ov.params()?;
    if offer.asset != params.fee_asset {
        return Err(CallError::NotFeeAsset {
            asset: offer.asset,
            fee_asset: params.fee_asset,
        }
        .into());
    }
    if offer.period_ms == 0 {
        return Err(CallError::ZeroPeriod.into());
    }
    if offer.beneficiary == Beneficiary::Account(cx.sender) {
        return Err(CallError::SelfSponsorship.into());
    }
    let key = storage::sponsorship(&cx.sender, &offer.beneficiary);
    let existing: Option<Sponsorship> = get(ov, &key)?;
    if offer.budget_per_period == 0 {
        if existing.is_none() {
            return Err(CallError::UnknownSponsorship.into());
        }
        ov.put_raw(key, None)?;
        if let Beneficiary::Account(a) = offer.beneficiary {
            ov.put_raw(storage::sponsored_by(&a, &cx.sender), None)?;
        }
    } else {
        // The same terms keep what this period already spent; a new period length is
        // new terms, whose periods are counted afresh (period numbers of different
        // lengths are not comparable).
        let period = cx.time_ms / offer.period_ms;
        let used = existing
            .filter(|s| s.period_ms == offer.period_ms && s.period == period)
            .map_or(0, |s| s.used);
        let record = Sponsorship {
            sponsor: cx.sender,
            beneficiary: offer.beneficiary,
            asset: offer.asset,
            budget_per_period: offer.budget_per_period,
            period_ms: offer.period_ms,
            period,
            used,
        };
        ov.put(key, &record)?;
        if let Beneficiary::Account(a) = offer.beneficiary {
            ov.put(storage::sponsored_by(&a, &cx.sender), &cx.sender)?;
        }
    }
    events.push(Event::FeesSponsored(FeesSponsored {
        sponsor: cx.sender,
        beneficiary: offer.beneficiary,
        asset: offer.asset,
        budget_per_period: offer.budget_per_period,
        period_ms: offer.period_ms,
    }));
    Ok(())
}

/// What a sponsor's sponsorships paid on one UTC day.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SponsoredDay {
    /// Transactions whose fee they paid.
    pub txs: u64,
    /// Units of the fee asset paid.
    pub fees: Amount,
}

/// What `sponsor`'s sponsorships paid on each UTC day from `from` to `to` (inclusive,
/// at most [`crate::economy::QUERY_PERIODS_MAX`] days from `from`), days without any
/// left out.
pub fn sponsored_days<S: StateRead + ?Sized>(
    s: &S,
    sponsor: &Address,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, SponsoredDay)>, StateError> {
    let last = to.min(from.saturating_add(crate::economy::QUERY_PERIODS_MAX - 1));
    let mut out = Vec::new();
    for day in from..=last {
        if let Some(d) = read_record(s, &storage::sponsored_day(sponsor, day))? {
            out.push((day, d));
        }
    }
    Ok(out)
}

/// A sponsorship with what it still covers, as [`sponsorships_of`] lists it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SponsorshipStatus {
    /// The record.
    pub sponsorship: Sponsorship,
    /// What the budget still covers in the period of the given time.
    pub remaining: Amount,
}

/// A sponsor's sponsorships (at most [`SPONSORSHIPS_LISTED_MAX`]; all customers first,
/// then accounts in key order), with what each still covers at `time_ms`.
pub fn sponsorships_of<S: StateScan + ?Sized>(
    s: &S,
    sponsor: &Address,
    time_ms: TimeMs,
) -> Result<Vec<SponsorshipStatus>, StateError> {
    let mut out = Vec::new();
    for (k, bytes) in s.scan_prefix(&storage::sponsorships_of(sponsor), SPONSORSHIPS_LISTED_MAX)? {
        let sponsorship: Sponsorship =
            crate::codec::decode(&bytes, bytes.len()).map_err(|reason| {
                StateError::CorruptValue {
                    key: k.clone(),
                    reason,
                }
            })?;
        let remaining = sponsorship.remaining(time_ms);
        out.push(SponsorshipStatus {
            sponsorship,
            remaining,
        });
    }
    Ok(out)
}

/// The sponsorships that may pay `account`'s fees, with what each still covers at
/// `time_ms`: first those for the account itself (from the [`storage::sponsored_by`]
/// index, in sponsor order), then every partner's all-customers sponsorship, which pays
/// for the account's calls addressed to that partner. At most
/// [`SPONSORSHIPS_LISTED_MAX`] of each kind; partners are read at most that many.
pub fn sponsorships_for<S: StateScan + ?Sized>(
    s: &S,
    account: &Address,
    time_ms: TimeMs,
) -> Result<Vec<SponsorshipStatus>, StateError> {
    let mut keys = Vec::new();
    for (k, _) in s.scan_prefix(&storage::sponsors_of(account), SPONSORSHIPS_LISTED_MAX)? {
        let sponsor = address_at(&k, 1 + 32)?;
        keys.push(storage::sponsorship(
            &sponsor,
            &Beneficiary::Account(*account),
        ));
    }
    let partners = s.scan_prefix(&[crate::state::keys::PARTNER], SPONSORSHIPS_LISTED_MAX)?;
    for (k, _) in partners {
        let partner = address_at(&k, 1)?;
        keys.push(storage::sponsorship(&partner, &Beneficiary::AllCustomers));
    }
    let mut out = Vec::new();
    for key in keys {
        if let Some(sponsorship) = read_record::<Sponsorship, _>(s, &key)? {
            let remaining = sponsorship.remaining(time_ms);
            out.push(SponsorshipStatus {
                sponsorship,
                remaining,
            });
        }
    }
    Ok(out)
}

/// The address stored at `at` in an index key.
fn address_at(key: &[u8], at: usize) -> Result<Address, StateError> {
    key.get(at..at + 32)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(Address)
        .ok_or(StateError::InvariantBroken(
            "an index key is shorter than the address it holds",
        ))
}
