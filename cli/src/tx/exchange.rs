//! `jeon tx propose-exchange`, `accept-exchange`, `revoke-exchange`, `convert`:
//! agreements between two issuers, and conversions of one credit into another.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::Call;

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// As the issuer of one of the two credits, propose converting `--from-asset` into
/// `--to-asset`; the other issuer accepts.
#[derive(Debug, Args)]
pub(crate) struct ProposeExchangeArgs {
    /// The credit users give.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    from_asset: AssetRef,
    /// The credit users receive.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    to_asset: AssetRef,
    /// Rate numerator: out = floor(amount * num / den).
    #[arg(long, value_name = "N")]
    rate_num: u64,
    /// Rate denominator.
    #[arg(long, value_name = "N", default_value_t = 1)]
    rate_den: u64,
    /// The to-issuer's spread in basis points.
    #[arg(long, value_name = "BPS", default_value_t = 0)]
    spread_bps: u16,
    /// The most converted per UTC day, of the from-asset: raw units (an integer) or a
    /// decimal amount (`1000.00`, `1000PT`).
    #[arg(long, value_name = "AMOUNT")]
    daily_cap: AmountArg,
    /// The money asset positions are settled in.
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    settlement_asset: AssetRef,
    /// What the to-issuer is owed per to-asset unit delivered, in the settlement
    /// asset: raw units (an integer) or a decimal amount (`₩0.10` = 10 units).
    #[arg(long, value_name = "AMOUNT")]
    settlement_price: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for ProposeExchangeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            from_asset,
            to_asset,
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement_asset,
            settlement_price,
            common,
        } = self;
        daily_cap
            .check_unit(&from_asset)
            .map_err(CliError::BadInput)?;
        settlement_price
            .check_unit(&settlement_asset)
            .map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (from_asset, daily_cap) = c.asset_amount(&from_asset, &daily_cap)?;
            let (settlement_asset, settlement_price) =
                c.asset_amount(&settlement_asset, &settlement_price)?;
            Ok(Call::ProposeExchange(calls::ProposeExchange {
                from_asset,
                to_asset: c.resolve_asset(&to_asset)?,
                rate_num,
                rate_den,
                spread_bps,
                daily_cap,
                settlement_asset,
                settlement_price,
            }))
        });
        Ok((draft, common))
    }
}

/// As the other issuer, accept a proposed exchange agreement.
#[derive(Debug, Args)]
pub(crate) struct AcceptExchangeArgs {
    /// The agreement's id.
    #[arg(long, value_name = "ID")]
    id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AcceptExchangeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::AcceptExchange(calls::AcceptExchange { id: self.id });
        Ok((fixed(call), self.common))
    }
}

/// As either issuer, revoke an exchange agreement (or decline a proposal).
#[derive(Debug, Args)]
pub(crate) struct RevokeExchangeArgs {
    /// The agreement's id.
    #[arg(long, value_name = "ID")]
    id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RevokeExchangeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::RevokeExchange(calls::RevokeExchange { id: self.id });
        Ok((fixed(call), self.common))
    }
}

/// Convert credits under the active agreement for the pair, all or nothing.
#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The credit given.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    from_asset: AssetRef,
    /// Given: raw units or a decimal amount of the credit given (`12.5`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    /// The credit received.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    to_asset: AssetRef,
    /// The least to receive, else the conversion fails: raw units of the credit
    /// received (an integer) or a decimal amount (`9.50`, `9.5PT`).
    #[arg(long, value_name = "AMOUNT", default_value = "1")]
    min_out: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for ConvertArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            from_asset,
            amount,
            to_asset,
            min_out,
            common,
        } = self;
        amount.check_unit(&from_asset).map_err(CliError::BadInput)?;
        min_out.check_unit(&to_asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (from_asset, amount) = c.asset_amount(&from_asset, &amount)?;
            let (to_asset, min_out) = c.asset_amount(&to_asset, &min_out)?;
            Ok(Call::Convert(calls::Convert {
                from_asset,
                amount,
                to_asset,
                min_out,
            }))
        });
        Ok((draft, common))
    }
}
