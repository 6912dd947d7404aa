//! `jeon invoice`: make merchant-signed payment links (`jeon:pay?i=...&s=...`).
//!
//! The node supplies the chain id (the link is signed for that chain only) and the head
//! height (for the expiry); the asset may be given by symbol. Nothing is submitted: the
//! payer submits the link with `jeon tx pay-invoice --link URI`.

use std::path::PathBuf;

use clap::Subcommand;

use jeon_runtime::invoice::{Invoice, MEMO_BYTES_MAX};
use jeon_runtime::{Amount, Height};

use crate::client::{ApiArgs, AssetRef, Client};
use crate::error::{stdout, CliError};
use crate::tx_cmd::load_key;

/// `jeon invoice ...`
#[derive(Debug, Subcommand)]
pub(crate) enum InvoiceCommand {
    /// Sign an invoice with the merchant's key and print its `jeon:` payment link.
    New {
        /// The merchant's key file; the merchant receives the payment.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The asset to pay in, by id (`0`) or symbol (`KRW`).
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// Units to pay, tax included (KRW has 2 decimals: ₩500 = 50000).
        #[arg(long, value_name = "N")]
        amount: Amount,
        /// The link may be paid up to this many blocks after the current head.
        #[arg(long, value_name = "N")]
        expires_in_blocks: Height,
        /// Your invoice id: each (merchant, id) is paid at most once.
        #[arg(long, value_name = "N")]
        id: u64,
        /// A note for the merchant (at most 256 bytes; stored in clear, not encrypted).
        #[arg(long, value_name = "TEXT")]
        memo: Option<String>,
        #[command(flatten)]
        api: ApiArgs,
    },
}

/// Runs an `invoice` command.
pub(crate) fn run(command: InvoiceCommand) -> Result<(), CliError> {
    let InvoiceCommand::New {
        key,
        asset,
        amount,
        expires_in_blocks,
        id,
        memo,
        api,
    } = command;
    if amount == 0 {
        return Err(CliError::BadInput(
            "--amount must be greater than zero".into(),
        ));
    }
    let memo = memo.map(String::into_bytes);
    if let Some(m) = memo.as_ref().filter(|m| m.len() > MEMO_BYTES_MAX) {
        return Err(CliError::BadInput(format!(
            "--memo is {} bytes; at most {MEMO_BYTES_MAX}",
            m.len()
        )));
    }
    let key = load_key(&key)?;
    let client = Client::new(&api.api)?;
    let node = client.status()?;
    let expires_at = node
        .height
        .checked_add(expires_in_blocks)
        .ok_or_else(|| CliError::BadInput("--expires-in-blocks is too large".into()))?;
    let invoice = Invoice {
        merchant: key.address(),
        asset: client.resolve_asset(&asset)?,
        amount,
        expires_at,
        invoice_id: id,
        memo,
    };
    let signature = invoice.sign(&key, &node.chain_id);
    stdout(&format!("{}\n", invoice.to_uri(&signature)))
}
