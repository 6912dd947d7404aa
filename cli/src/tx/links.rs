//! `jeon tx pay-invoice`: paying a merchant's signed payment link.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::invoice::Invoice;
use jeon_runtime::Call;

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::error::CliError;

/// Pay a merchant's payment link (`jeon:pay?i=...&s=...`, from `jeon invoice new`).
#[derive(Debug, Args)]
pub(crate) struct PayInvoiceArgs {
    /// The payment link.
    #[arg(long, value_name = "URI")]
    link: String,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for PayInvoiceArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let (invoice, signature) = Invoice::from_uri(&self.link)
            .map_err(|e| CliError::BadInput(format!("--link: {e}")))?;
        let call = Call::PayInvoice(calls::PayInvoice { invoice, signature });
        Ok((fixed(call), self.common))
    }
}
