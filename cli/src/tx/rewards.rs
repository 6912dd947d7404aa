//! `jeon tx add-cashback-rule`, `add-stamp-rule`, `remove-reward-rule`,
//! `set-stamp-reward`, `redeem-stamps`: an issuer's rewards for payments, and stamps.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::economy::RewardKind;
use jeon_runtime::{Address, AssetId, Call};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::{AssetRef, Client};
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
    /// The most one payer may earn per period, of the credit asset: raw units (an
    /// integer) or a decimal amount (`50.00`, `50STAMP`).
    #[arg(long, value_name = "AMOUNT")]
    cap: AmountArg,
    /// The cap's period in milliseconds [default: a day].
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
    period_ms: u64,
}

impl RuleArgs {
    /// The rule's call, with the reward `kind` of the (resolved) credit asset (its
    /// amounts read with that asset's decimals).
    fn draft(
        self,
        kind: impl FnOnce(&Client, &AssetRef, AssetId) -> Result<RewardKind, CliError> + 'static,
    ) -> Result<Draft, CliError> {
        self.cap
            .check_unit(&self.asset)
            .map_err(CliError::BadInput)?;
        Ok(Box::new(move |c| {
            let (asset, cap) = c.asset_amount(&self.asset, &self.cap)?;
            Ok(Call::AddRewardRule(calls::AddRewardRule {
                merchants: self.merchants,
                pay_asset: c.resolve_asset(&self.pay_asset)?,
                kind: kind(c, &self.asset, asset)?,
                cap_per_user_per_period: cap,
                period_ms: self.period_ms,
            }))
        }))
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
            .draft(move |_, _, asset| Ok(RewardKind::Cashback { rate_bps, asset }))?;
        Ok((draft, self.common))
    }
}

/// As an issuer, give stamps (a credit it issues) for each payment at the merchants.
#[derive(Debug, Args)]
pub(crate) struct AddStampRuleArgs {
    #[command(flatten)]
    rule: RuleArgs,
    /// Stamps per payment: raw units of the stamp asset (an integer) or a decimal
    /// amount (`1.0`, `1STAMP`).
    #[arg(long, value_name = "AMOUNT", default_value = "1")]
    per_payment: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AddStampRuleArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let per_payment = self.per_payment;
        per_payment
            .check_unit(&self.rule.asset)
            .map_err(CliError::BadInput)?;
        let draft = self.rule.draft(move |c, asset_ref, asset| {
            let (_, per_payment) = c.asset_amount(asset_ref, &per_payment)?;
            Ok(RewardKind::Stamps { per_payment, asset })
        })?;
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
    /// Stamps per reward: raw units of the stamp asset or a decimal amount.
    #[arg(long, value_name = "AMOUNT")]
    stamps: AmountArg,
    /// The reward asset (e.g. a voucher credit).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    reward_asset: AssetRef,
    /// The reward per `--stamps` stamps: raw units of the reward asset or a decimal
    /// amount (`₩5`, `1VOUCHER`).
    #[arg(long, value_name = "AMOUNT")]
    reward_amount: AmountArg,
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
        stamps
            .check_unit(&stamp_asset)
            .map_err(CliError::BadInput)?;
        reward_amount
            .check_unit(&reward_asset)
            .map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (stamp_asset, stamps) = c.asset_amount(&stamp_asset, &stamps)?;
            let (reward_asset, reward_amount) = c.asset_amount(&reward_asset, &reward_amount)?;
            Ok(Call::SetStampReward(calls::SetStampReward {
                stamp_asset,
                stamps,
                reward_asset,
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
    /// Stamps to burn: raw units of the stamp asset or a decimal amount.
    #[arg(long, value_name = "AMOUNT")]
    count: AmountArg,
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
        count.check_unit(&stamp_asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (stamp_asset, count) = c.asset_amount(&stamp_asset, &count)?;
            Ok(Call::RedeemStamps(calls::RedeemStamps {
                stamp_asset,
                count,
            }))
        });
        Ok((draft, common))
    }
}
