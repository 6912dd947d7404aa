//! `jeon tx add-cashback-rule`, `add-stamp-rule`, `remove-reward-rule`,
//! `set-stamp-reward`, `redeem-stamps`: an issuer's rewards for payments, and stamps.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::economy::RewardKind;
use jeon_runtime::{Address, Amount, AssetId, Call};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::client::AssetRef;
use crate::error::CliError;

/// What both kinds of reward rule take.
#[derive(Debug, Args)]
pub(crate) struct RuleArgs {
    /// A merchant partner whose payments earn the reward; repeat for up to 16.
    #[arg(long = "merchant", value_name = "ADDR", required = true)]
    merchants: Vec<Address>,
    /// The money asset whose payments earn it.
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    pay_asset: AssetRef,
    /// The credit asset minted as the reward (the sender issues it).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The most units one payer may earn per period.
    #[arg(long, value_name = "N")]
    cap: Amount,
    /// The cap's period in milliseconds [default: a day].
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
    period_ms: u64,
}

impl RuleArgs {
    /// The rule's call, with the reward `kind` of the (resolved) credit asset.
    fn draft(self, kind: impl FnOnce(AssetId) -> RewardKind + 'static) -> Draft {
        Box::new(move |c| {
            Ok(Call::AddRewardRule(calls::AddRewardRule {
                merchants: self.merchants,
                pay_asset: c.resolve_asset(&self.pay_asset)?,
                kind: kind(c.resolve_asset(&self.asset)?),
                cap_per_user_per_period: self.cap,
                period_ms: self.period_ms,
            }))
        })
    }
}

/// As an issuer, pay cashback (a rate of each payment) in a credit it issues for
/// payments at the merchants.
#[derive(Debug, Args)]
pub(crate) struct AddCashbackRuleArgs {
    #[command(flatten)]
    rule: RuleArgs,
    /// Cashback rate in basis points (100 = 1 %).
    #[arg(long, value_name = "BPS")]
    rate_bps: u16,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AddCashbackRuleArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let rate_bps = self.rate_bps;
        let draft = self
            .rule
            .draft(move |asset| RewardKind::Cashback { rate_bps, asset });
        Ok((draft, self.common))
    }
}

/// As an issuer, give stamps (a credit it issues) for each payment at the merchants.
#[derive(Debug, Args)]
pub(crate) struct AddStampRuleArgs {
    #[command(flatten)]
    rule: RuleArgs,
    /// Stamps per payment.
    #[arg(long, value_name = "N", default_value_t = 1)]
    per_payment: Amount,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AddStampRuleArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let per_payment = self.per_payment;
        let draft = self
            .rule
            .draft(move |asset| RewardKind::Stamps { per_payment, asset });
        Ok((draft, self.common))
    }
}

/// Remove a reward rule the sender added.
#[derive(Debug, Args)]
pub(crate) struct RemoveRewardRuleArgs {
    /// The rule's id.
    #[arg(long, value_name = "ID")]
    id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RemoveRewardRuleArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::RemoveRewardRule(calls::RemoveRewardRule { id: self.id });
        Ok((fixed(call), self.common))
    }
}

/// Set what a stamp asset redeems for (the sender issues both assets).
#[derive(Debug, Args)]
pub(crate) struct SetStampRewardArgs {
    /// The stamp asset.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    stamp_asset: AssetRef,
    /// Stamps per reward.
    #[arg(long, value_name = "N")]
    stamps: Amount,
    /// The reward asset (e.g. a voucher credit).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    reward_asset: AssetRef,
    /// Reward units per `--stamps` stamps.
    #[arg(long, value_name = "N")]
    reward_amount: Amount,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetStampRewardArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            stamp_asset,
            stamps,
            reward_asset,
            reward_amount,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            Ok(Call::SetStampReward(calls::SetStampReward {
                stamp_asset: c.resolve_asset(&stamp_asset)?,
                stamps,
                reward_asset: c.resolve_asset(&reward_asset)?,
                reward_amount,
            }))
        });
        Ok((draft, common))
    }
}

/// Burn stamps (a multiple of the configured count) for their reward.
#[derive(Debug, Args)]
pub(crate) struct RedeemStampsArgs {
    /// The stamp asset.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    stamp_asset: AssetRef,
    /// Stamps to burn.
    #[arg(long, value_name = "N")]
    count: Amount,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RedeemStampsArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            stamp_asset,
            count,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            Ok(Call::RedeemStamps(calls::RedeemStamps {
                stamp_asset: c.resolve_asset(&stamp_asset)?,
                count,
            }))
        });
        Ok((draft, common))
    }
}
