//! The micro-value economy: merchant payments with tax, reward rules, stamps,
//! redemption and cash-out, cross-partner conversion, and the per-account history.
//!
//! The calls are executed by [`crate::execute`], which dispatches to the submodules;
//! this module holds the records they keep in state, the bounds that keep a call's cost
//! fixed, and the integer rules (tax, cashback, conversion) shared by execution and the
//! queries in [`query`]. docs/economy.md explains the rules with a worked example.

pub mod assets;
pub mod calendar;
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

// The records and bounds other crates name, defined by their feature modules.
pub use exchange::{DayUsage, ExchangeAgreement, Quote, SettlementRecord};
pub use redeem::{RedeemKind, Redemption, REDEMPTIONS_SWEPT_PER_BLOCK_MAX};
pub use rewards::{
    RewardKind, RewardRule, RewardUsage, SkipReason, StampReward, MERCHANT_RULES_MAX,
    RULE_MERCHANTS_MAX,
};

use crate::types::{Address, Amount, Height, TimeMs};

/// Basis points in a whole: a rate of 10 000 bps is 100 %.
pub const BPS_DENOMINATOR: u64 = 10_000;
/// The length of one accounting period (tax, conversion caps, settlement): a UTC day.
pub const PERIOD_MS: u64 = 86_400_000;
/// The longest payment reference, payout reference or rejection reason, in bytes.
pub const TEXT_BYTES_MAX: usize = 64;
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
