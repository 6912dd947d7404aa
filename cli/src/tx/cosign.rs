//! `jeon tx cosign`: a fee payer's co-signature on a wallet's signed transaction.

use std::path::PathBuf;

use clap::Args;

use jeon_runtime::SignedTx;

use super::wait::{finish, trusted_genesis};
use super::{load_key, TxRun, WaitArgs};
use crate::client::{ApiArgs, Client};
use crate::error::CliError;

/// As the fee payer a wallet named, co-sign its transaction (from `--sign-only`)
/// and submit it: you pay its fee.
#[derive(Debug, Args)]
pub(crate) struct CosignArgs {
    /// The transaction's hex, as `jeon tx ... --fee-payer YOU --sign-only` prints it.
    #[arg(long, value_name = "HEX")]
    tx: String,
    /// Your key file: you must be the transaction's named fee payer.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    api: ApiArgs,
    #[command(flatten)]
    wait: WaitArgs,
}

impl TxRun for CosignArgs {
    /// Checks that the transaction is for this node's chain, properly signed by its
    /// sender and names this key as its fee payer; adds the payer's signature and
    /// submits it.
    fn run(self) -> Result<(), CliError> {
        let bytes = hex::decode(self.tx.trim())
            .map_err(|e| CliError::BadInput(format!("--tx is not hex: {e}")))?;
        let tx = SignedTx::decode(&bytes).map_err(|e| CliError::BadInput(format!("--tx: {e}")))?;
        let key = load_key(&self.key)?;
        let client = Client::new(&self.api.api)?;
        let node = client.status()?;
        let trusted = trusted_genesis(&client, &node, &self.wait)?;
        check_payer(&tx, &key.address())?;
        // Check the sender's part before paying for it.
        tx.clone()
            .verify(&node.chain_id)
            .map_err(|e| CliError::BadInput(format!("--tx is not valid for this chain: {e}")))?;
        let hash = super::submit_checked(&client, &tx.sign_as_payer(&key), &self.wait)?;
        finish(&client, trusted.as_ref(), hash, &self.wait)
    }
}

/// Refuses (exit 2) a transaction that does not name `me` as its fee payer or is
/// already co-signed.
fn check_payer(tx: &SignedTx, me: &jeon_runtime::Address) -> Result<(), CliError> {
    match tx.body.fee_payer {
        Some(payer) if payer == *me => {}
        Some(payer) => {
            return Err(CliError::BadInput(format!(
                "the transaction names {payer} as its fee payer; --key is {me}"
            )))
        }
        None => {
            return Err(CliError::BadInput(
                "the transaction names no fee payer: its sender pays; nothing to co-sign".into(),
            ))
        }
    }
    if tx.payer_signature.is_some() {
        return Err(CliError::BadInput(
            "the transaction is already co-signed".into(),
        ));
    }
    Ok(())
}
