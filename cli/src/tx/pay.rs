//! `jeon tx pay`: a payment to a merchant partner, with its tax and rewards.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::{Address, Call};

use super::{check_text, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// Pay a merchant partner in a money asset: the merchant's jurisdiction withholds
/// its tax, and the merchant's reward rules mint cashback or stamps to the payer.
#[derive(Debug, Args)]
pub(crate) struct PayArgs {
    /// The merchant partner's address.
    #[arg(long, value_name = "ADDR")]
    merchant: Address,
    /// The money asset, by id or symbol.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// Paid, tax included: raw units (₩500 = 50000) or a decimal amount (`₩500`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    /// The payer's reference, at most 64 bytes.
    #[arg(long, value_name = "TEXT", default_value = "")]
    reference: String,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for PayArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            merchant,
            asset,
            amount,
            reference,
            common,
        } = self;
        check_text("--reference", &reference)?;
        amount.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, amount) = c.asset_amount(&asset, &amount)?;
            Ok(Call::Pay(calls::Pay {
                merchant,
                asset,
                amount,
                reference,
            }))
        });
        Ok((draft, common))
    }
}
