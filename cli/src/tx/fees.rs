//! `jeon tx sponsor-fees`: a partner paying the fees of an account or its customers.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::fees::Beneficiary;
use jeon_runtime::{Address, Call};

use super::{Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// As a partner, pay the fees of one account (`--for`) or of all your customers
/// (`--all-customers`: transactions that pay you, pay your links, grant you a
/// mandate, redeem your assets or repay your lines), within a budget per period.
/// The user's wallet names you with `--fee-payer`. `--budget 0` withdraws it.
#[derive(Debug, Args)]
pub(crate) struct SponsorFeesArgs {
    /// The account whose fees you pay.
    #[arg(long = "for", value_name = "ADDR", conflicts_with = "all_customers")]
    account: Option<Address>,
    /// Pay the fees of your customers' transactions addressed to you.
    #[arg(long)]
    all_customers: bool,
    /// The most fees paid per period: raw units of the fee asset or a decimal amount
    /// (`₩10`); 0 withdraws the sponsorship.
    #[arg(long, value_name = "AMOUNT")]
    budget: AmountArg,
    /// The budget's period in milliseconds [default: a day].
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
    period_ms: u64,
    /// The budget's asset: the chain's fee asset.
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    asset: AssetRef,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SponsorFeesArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            account,
            all_customers,
            budget,
            period_ms,
            asset,
            common,
        } = self;
        let beneficiary = match (account, all_customers) {
            (Some(a), false) => Beneficiary::Account(a),
            (None, true) => Beneficiary::AllCustomers,
            _ => {
                return Err(CliError::BadInput(
                    "give either --for ADDR or --all-customers".into(),
                ))
            }
        };
        budget.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, budget) = c.asset_amount(&asset, &budget)?;
            Ok(Call::SponsorFees(calls::SponsorFees {
                beneficiary,
                asset,
                budget_per_period: budget,
                period_ms,
            }))
        });
        Ok((draft, common))
    }
}
