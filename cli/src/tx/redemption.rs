//! `jeon tx redeem`, `settle-redemption`, `reject-redemption`: cashing in a credit
//! with its issuer, through escrow.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::economy::RedeemKind;
use jeon_runtime::{Address, Call};

use super::{check_text, fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// Ask a credit's issuer to redeem it, for goods at a merchant or cashed out to a
/// wallet; the credits wait in escrow until the issuer settles or rejects, or the
/// deadline refunds them.
#[derive(Debug, Args)]
pub(crate) struct RedeemArgs {
    /// The credit asset.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// To redeem: raw units or a decimal amount of the credit.
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    /// Goods, collected at this merchant partner.
    #[arg(
        long,
        value_name = "MERCHANT",
        conflicts_with = "cash_out",
        required_unless_present = "cash_out"
    )]
    goods: Option<Address>,
    /// Money, paid out by the issuer to this account.
    #[arg(long, value_name = "DEST")]
    cash_out: Option<Address>,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RedeemArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            asset,
            amount,
            goods,
            cash_out,
            common,
        } = self;
        let kind = match (goods, cash_out) {
            (Some(merchant), None) => RedeemKind::Goods { merchant },
            (None, Some(destination)) => RedeemKind::CashOut { destination },
            _ => {
                return Err(CliError::BadInput(
                    "give exactly one of --goods MERCHANT or --cash-out DEST".into(),
                ))
            }
        };
        amount.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, amount) = c.asset_amount(&asset, &amount)?;
            Ok(Call::Redeem(calls::Redeem {
                asset,
                amount,
                kind,
            }))
        });
        Ok((draft, common))
    }
}

/// As the issuer, settle a redemption: the escrowed credits are burned.
#[derive(Debug, Args)]
pub(crate) struct SettleRedemptionArgs {
    /// The redemption's id.
    #[arg(long, value_name = "ID")]
    id: u64,
    /// The payout or delivery reference, at most 64 bytes.
    #[arg(long, value_name = "TEXT", default_value = "")]
    payout_reference: String,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SettleRedemptionArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        check_text("--payout-reference", &self.payout_reference)?;
        let call = Call::SettleRedemption(calls::SettleRedemption {
            id: self.id,
            payout_reference: self.payout_reference,
        });
        Ok((fixed(call), self.common))
    }
}

/// As the issuer, reject a redemption: the credits go back to the user.
#[derive(Debug, Args)]
pub(crate) struct RejectRedemptionArgs {
    /// The redemption's id.
    #[arg(long, value_name = "ID")]
    id: u64,
    /// Why, at most 64 bytes.
    #[arg(long, value_name = "TEXT", default_value = "")]
    reason: String,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RejectRedemptionArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        check_text("--reason", &self.reason)?;
        let call = Call::RejectRedemption(calls::RejectRedemption {
            id: self.id,
            reason: self.reason,
        });
        Ok((fixed(call), self.common))
    }
}
