//! `jeon tx pay-invoice`: paying a merchant's signed payment link.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::invoice::Link;
use jeon_runtime::Call;

use super::{Draft, DraftCall, TxArgs};
use crate::error::CliError;
use crate::invoice_cmd::read_link;

/// Pay a merchant's payment link (`jeon:pay?to=...&amount=...&asset=...`, from `jeon
/// invoice new`; the first form `jeon:pay?i=...&s=...` too). Dry-run first: a link
/// already paid, expired or badly signed is refused before it costs a fee.
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
        // Malformed text is refused before the node is asked anything.
        Link::parse(&self.link).map_err(|e| CliError::BadInput(format!("--link: {e}")))?;
        let link = self.link;
        let draft: Draft = Box::new(move |c| {
            let (invoice, signature) = read_link(c, &link, "--link")?;
            Ok(Call::PayInvoice(calls::PayInvoice { invoice, signature }))
        });
        Ok((draft, self.common))
    }
}
