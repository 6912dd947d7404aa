//! `jeon tx grant-mandate`, `charge`, `revoke-mandate`: a user's standing permission
//! for a spender to charge it.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::{Address, Call, Height};

use super::{check_text, fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// As a user, let a spender charge you up to a limit per period until a height (a
/// subscription, pay-per-lesson, in-game purchases). Prints the transaction hash;
/// the mandate id is in the `mandate_granted` event.
#[derive(Debug, Args)]
pub(crate) struct GrantMandateArgs {
    /// Who may charge (a merchant partner's charges are payments with tax).
    #[arg(long, value_name = "ADDR")]
    spender: Address,
    /// The asset charged, by id or symbol.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The most charged per period: raw units (₩9,900 = 990000) or a decimal amount
    /// (`₩9900`, `9900.00`).
    #[arg(long, value_name = "AMOUNT")]
    limit_per_period: AmountArg,
    /// The period in milliseconds [default: a day].
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
    period_ms: u64,
    /// The last height at which a charge is accepted.
    #[arg(long, value_name = "HEIGHT")]
    expires_at: Height,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for GrantMandateArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            spender,
            asset,
            limit_per_period,
            period_ms,
            expires_at,
            common,
        } = self;
        limit_per_period
            .check_unit(&asset)
            .map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, limit_per_period) = c.asset_amount(&asset, &limit_per_period)?;
            Ok(Call::GrantMandate(calls::GrantMandate {
                spender,
                asset,
                limit_per_period,
                period_ms,
                expires_at,
            }))
        });
        Ok((draft, common))
    }
}

/// As a mandate's spender, charge the user within the period's remaining limit.
#[derive(Debug, Args)]
pub(crate) struct ChargeArgs {
    /// The mandate's id.
    #[arg(long, value_name = "ID")]
    mandate_id: u64,
    /// To charge: raw units, or a decimal amount with its sign or symbol (`₩5`, `5KRW`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    /// Your reference, at most 64 bytes.
    #[arg(long, value_name = "TEXT", default_value = "")]
    reference: String,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for ChargeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        check_text("--reference", &self.reference)?;
        let Self {
            mandate_id,
            amount,
            reference,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            Ok(Call::Charge(calls::Charge {
                mandate_id,
                amount: c.amount_with_unit(&amount)?,
                reference,
            }))
        });
        Ok((draft, common))
    }
}

/// As a mandate's user, revoke it: charges from the next block on are refused.
#[derive(Debug, Args)]
pub(crate) struct RevokeMandateArgs {
    /// The mandate's id.
    #[arg(long, value_name = "ID")]
    mandate_id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RevokeMandateArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::RevokeMandate(calls::RevokeMandate {
            mandate_id: self.mandate_id,
        });
        Ok((fixed(call), self.common))
    }
}
