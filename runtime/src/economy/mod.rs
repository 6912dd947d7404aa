//! The micro-value economy: merchant payments with tax, reward rules, stamps,
//! redemption and cash-out, cross-partner conversion, and the per-account history.
//!
//! The calls are executed by [`crate::execute`], which dispatches to the submodules;
//! this module holds the records they keep in state, the bounds that keep a call's cost
//! fixed, and the integer rules (tax, cashback, conversion) shared by execution and the
//! queries in [`query`]. docs/economy.md explains the rules with a worked example.

pub mod assets;
pub mod credit;
pub(crate) mod deadlines;
pub mod exchange;
pub mod fees;
pub mod history;
pub(crate) mod ledger;
pub mod links;
pub mod mandate;
pub mod pay;
pub mod query;
pub mod redeem;
pub mod rewards;

use serde::{Deserialize, Serialize};

use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// Basis points in a whole: a rate of 10 000 bps is 100 %.
pub const BPS_DENOMINATOR: u64 = 10_000;
/// The length of one accounting period (tax, conversion caps, settlement): a UTC day.
pub const PERIOD_MS: u64 = 86_400_000;
/// The longest payment reference, payout reference or rejection reason, in bytes.
pub const TEXT_BYTES_MAX: usize = 64;
/// The most merchants one reward rule may name.
pub const RULE_MERCHANTS_MAX: usize = 16;
/// The most reward rules attached to one merchant: a payment applies at most this many.
pub const MERCHANT_RULES_MAX: usize = 16;
/// The most due-redemption slots (plus empty heights) one block's sweep examines; the
/// rest carry over to the next block.
pub const REDEMPTIONS_SWEPT_PER_BLOCK_MAX: u32 = 1024;
/// The longest redemption window genesis accepts, in blocks.
pub const REDEMPTION_WINDOW_BLOCKS_MAX: Height = 100_000_000;
/// The window used when a state has no [`EconomyParams`] record (genesis always
/// writes one; hand-built test states may not).
pub const REDEMPTION_WINDOW_BLOCKS_DEFAULT: Height = 600;
/// The most periods a tax or settlement query may span (a leap year of days).
pub const QUERY_PERIODS_MAX: u64 = 366;
/// The position of end-of-block events in the history key, after every transaction.
pub const BLOCK_EVENTS_TX_INDEX: u32 = u32::MAX;

/// The escrow account: holds redeemed credits until the issuer settles or rejects, or
/// the deadline refunds them. Its bytes are not an ed25519 public key (they do not
/// decompress to a curve point), so no transaction can ever be signed by it; transfers
/// and mints to it are refused, so its balance of an asset is exactly the sum of that
/// asset's pending redemptions.
pub const ESCROW_ACCOUNT: Address = Address(*b"jeon/escrow/v1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");

/// Whether an account is reserved by the runtime and may not receive units directly.
pub fn is_reserved_account(account: &Address) -> bool {
    *account == ESCROW_ACCOUNT
}

/// The accounting period (UTC day index) of a block time: `time_ms / 86_400_000`.
pub fn period_of(time_ms: TimeMs) -> u64 {
    time_ms / PERIOD_MS
}

/// `floor(amount * bps / 10_000)`, computed in u128. With `bps <= 10_000` the result is
/// at most `amount`.
pub fn bps_of(amount: Amount, bps: u16) -> Amount {
    let product = u128::from(amount) * u128::from(bps) / u128::from(BPS_DENOMINATOR);
    // bps <= 10_000 is checked wherever a rate is set; a larger one still cannot
    // exceed 6.56 x amount, which saturates rather than wraps.
    Amount::try_from(product).unwrap_or(Amount::MAX)
}

/// A tax jurisdiction: its code, its withholding rate and the authority's account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Jurisdiction {
    /// Two letters `A-Z`, e.g. "KR"; merchants' [`crate::Partner::jurisdiction`] names it.
    pub code: String,
    /// Tax withheld from each payment at a merchant of this jurisdiction, in basis
    /// points (at most 10 000).
    pub tax_bps: u16,
    /// The tax authority's account, which receives the tax.
    pub authority: Address,
}

/// Chain-wide economy parameters, set in genesis.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EconomyParams {
    /// Blocks an issuer has to settle or reject a redemption: a request made at height
    /// `h` is refunded at the end of block `h + redemption_window_blocks` if still
    /// pending.
    pub redemption_window_blocks: Height,
}

impl Default for EconomyParams {
    fn default() -> Self {
        EconomyParams {
            redemption_window_blocks: REDEMPTION_WINDOW_BLOCKS_DEFAULT,
        }
    }
}

/// What a reward rule grants per matching payment.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// `floor(amount * rate_bps / 10_000)` units of `asset`, where `amount` is the
    /// payment's amount (before tax).
    Cashback {
        /// Rate in basis points, 1 to 10 000.
        rate_bps: u16,
        /// The credit asset paid out; the rule's issuer issues it.
        asset: AssetId,
    },
    /// `per_payment` units of `asset` per payment, whatever its amount.
    Stamps {
        /// Stamps per payment, at least 1.
        per_payment: Amount,
        /// The credit asset paid out; the rule's issuer issues it.
        asset: AssetId,
    },
}

impl RewardKind {
    /// The credit asset the rule mints.
    pub fn asset(&self) -> AssetId {
        match self {
            RewardKind::Cashback { asset, .. } | RewardKind::Stamps { asset, .. } => *asset,
        }
    }

    /// The reward for a payment of `amount`, before the cap.
    pub fn reward(&self, amount: Amount) -> Amount {
        match *self {
            RewardKind::Cashback { rate_bps, .. } => bps_of(amount, rate_bps),
            RewardKind::Stamps { per_payment, .. } => per_payment,
        }
    }
}

/// A reward rule attached by an issuer to payments at one or more merchants.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardRule {
    /// The rule's id (assigned in order, never reused).
    pub id: u64,
    /// The issuer partner that added it and mints its rewards.
    pub issuer: Address,
    /// The merchants whose payments it rewards, in the order given (no duplicates).
    pub merchants: Vec<Address>,
    /// Only payments in this (money) asset earn the reward.
    pub pay_asset: AssetId,
    /// Cashback or stamps.
    pub kind: RewardKind,
    /// The most units one payer may earn from this rule in one period.
    pub cap_per_user_per_period: Amount,
    /// The length of the cap's period in milliseconds; period index = `time_ms / period_ms`.
    pub period_ms: u64,
}

/// How much of a rule's cap a payer has used in a period (only the latest period is kept).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RewardUsage {
    /// Period index: `time_ms / rule.period_ms`.
    pub period: u64,
    /// Units granted in that period.
    pub granted: Amount,
}

/// Why a matching reward rule granted nothing for a payment (the payment still stands).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The payer already earned the rule's cap in this period.
    CapReached {
        /// The cap per user per period.
        cap: Amount,
    },
    /// Minting would take the reward asset above its issuance limit.
    SupplyMaxReached {
        /// The asset's `supply_max`.
        supply_max: Amount,
    },
    /// Minting would overflow the reward asset's supply (u64).
    SupplyOverflow,
}

/// What `stamps` units of a stamp asset redeem for (set by their issuer).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StampReward {
    /// Stamps per reward, at least 1.
    pub stamps: Amount,
    /// The credit asset minted as the reward (e.g. a voucher), same issuer.
    pub reward_asset: AssetId,
    /// Units of `reward_asset` per `stamps` stamps.
    pub reward_amount: Amount,
}

/// What a user redeems credits for.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedeemKind {
    /// Goods or services, collected at a merchant partner.
    Goods {
        /// Where.
        merchant: Address,
    },
    /// Money paid out by the issuer (off chain or in a money asset) to a wallet.
    CashOut {
        /// The account the payout goes to.
        destination: Address,
    },
}

/// A pending redemption: the credits are held by [`ESCROW_ACCOUNT`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Redemption {
    /// The request's id (assigned in order, never reused).
    pub id: u64,
    /// The credit asset.
    pub asset: AssetId,
    /// Its issuer: the only account that may settle or reject.
    pub issuer: Address,
    /// Who redeemed; refunds go back to this account.
    pub user: Address,
    /// Units held in escrow.
    pub amount: Amount,
    /// Goods or cash-out.
    pub kind: RedeemKind,
    /// The height of the block that made the request.
    pub requested_height: Height,
    /// The last height at which the issuer may settle; at the end of this block a
    /// still-pending request is refunded.
    pub deadline: Height,
}

/// An exchange agreement between two issuers: `from_asset` converts into `to_asset`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ExchangeAgreement {
    /// The agreement's id (assigned in order, never reused).
    pub id: u64,
    /// The credit asset users give.
    pub from_asset: AssetId,
    /// The credit asset users receive.
    pub to_asset: AssetId,
    /// Issuer of `from_asset`; its account receives the converted credits.
    pub from_issuer: Address,
    /// Issuer of `to_asset`; its account pays out `to_asset` and keeps the spread.
    pub to_issuer: Address,
    /// `out = floor(amount * rate_num / rate_den)`; both non-zero.
    pub rate_num: u64,
    /// See `rate_num`.
    pub rate_den: u64,
    /// The to-issuer's spread: `floor(out * spread_bps / 10_000)`, at most 10 000.
    pub spread_bps: u16,
    /// The most `from_asset` units converted per UTC day under this agreement.
    pub daily_cap: Amount,
    /// The money asset positions are settled in.
    pub settlement_asset: AssetId,
    /// Units of `settlement_asset` the from-issuer owes per unit of `to_asset`
    /// delivered to users.
    pub settlement_price: Amount,
    /// The issuer that proposed it; the other one accepts.
    pub proposer: Address,
    /// Whether both issuers consented (only active agreements convert).
    pub active: bool,
}

impl ExchangeAgreement {
    /// The issuer that must accept a proposal.
    pub fn counterparty(&self) -> Address {
        if self.proposer == self.from_issuer {
            self.to_issuer
        } else {
            self.from_issuer
        }
    }

    /// Whether `who` is one of the two issuers.
    pub fn is_party(&self, who: &Address) -> bool {
        *who == self.from_issuer || *who == self.to_issuer
    }

    /// What converting `amount` yields under this agreement's rate and spread, or
    /// `None` if `floor(amount * rate_num / rate_den)` does not fit a u64.
    pub fn quote(&self, amount: Amount) -> Option<Quote> {
        if self.rate_den == 0 {
            return None;
        }
        let gross = u128::from(amount) * u128::from(self.rate_num) / u128::from(self.rate_den);
        let gross = Amount::try_from(gross).ok()?;
        let spread = bps_of(gross, self.spread_bps.min(BPS_DENOMINATOR as u16));
        Some(Quote {
            gross,
            spread,
            out: gross - spread,
        })
    }
}

/// The outcome of a conversion at an agreement's terms.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Quote {
    /// `floor(amount * rate_num / rate_den)`, in to-asset units.
    pub gross: Amount,
    /// `floor(gross * spread_bps / 10_000)`: kept by the to-issuer.
    pub spread: Amount,
    /// `gross - spread`: what the user receives.
    pub out: Amount,
}

/// Conversions under one agreement in one day's window (for the daily cap).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DayUsage {
    /// The UTC day index ([`period_of`]).
    pub day: u64,
    /// `from_asset` units converted that day.
    pub used: Amount,
}

/// What one agreement converted in one period: the from-issuer owes the to-issuer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SettlementRecord {
    /// The asset users gave (to the from-issuer).
    pub from_asset: AssetId,
    /// The asset users received (from the to-issuer).
    pub to_asset: AssetId,
    /// The money asset `owed` is in.
    pub settlement_asset: AssetId,
    /// `from_asset` units converted.
    pub converted: u128,
    /// `to_asset` units delivered to users (`out`).
    pub delivered: u128,
    /// `to_asset` units of spread the to-issuer kept (not owed by anyone).
    pub spread: u128,
    /// `settlement_asset` units the from-issuer owes: the sum of `out * settlement_price`.
    pub owed: u128,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escrow_account_is_not_a_public_key_so_nobody_can_sign_for_it() {
        assert!(ed25519_dalek::VerifyingKey::from_bytes(ESCROW_ACCOUNT.as_bytes()).is_err());
    }

    #[test]
    fn a_period_is_a_utc_day() {
        assert_eq!(period_of(0), 0);
        assert_eq!(period_of(PERIOD_MS - 1), 0);
        assert_eq!(period_of(PERIOD_MS), 1);
        // 2025-11-26T00:00:00Z is day 20418.
        assert_eq!(period_of(1_764_115_200_000), 20_418);
    }

    #[test]
    fn basis_points_round_down_and_never_exceed_the_amount() {
        assert_eq!(bps_of(50_000, 1_000), 5_000);
        assert_eq!(bps_of(99, 1_000), 9);
        assert_eq!(bps_of(u64::MAX, 10_000), u64::MAX);
        assert_eq!(
            bps_of(u64::MAX, 9_999),
            (u128::from(u64::MAX) * 9_999 / 10_000) as u64
        );
    }
}
