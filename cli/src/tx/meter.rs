//! `jeon tx open-meter`, `meter-receipt`, `claim-meter`, `close-meter`: metered
//! sessions (docs/economy.md §12, "Metered sessions").

use std::path::PathBuf;

use clap::Args;
use jeon_runtime::calls;
use jeon_runtime::crypto::Signature;
use jeon_runtime::goods::MeterReceipt;
use jeon_runtime::{Address, Call};

use super::{fixed, load_key, Draft, DraftCall, TxArgs, TxRun};
use crate::amount::AmountArg;
use crate::client::{ApiArgs, AssetRef, Client};
use crate::error::CliError;
use crate::output;

/// Open a metered session with a merchant partner: your budget goes into escrow, the
/// merchant is paid per unit from your signed receipts (`meter-receipt`), the rest
/// comes back when the session closes. The session id is in the `meter_opened` event.
#[derive(Debug, Args)]
pub(crate) struct OpenMeterArgs {
    /// The merchant partner paid per unit.
    #[arg(long, value_name = "ADDR")]
    merchant: Address,
    /// The money asset, by id or symbol.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The price of one unit (a lesson minute): raw units (₩50 = 5000) or a decimal
    /// amount (`₩50`, `50.00`).
    #[arg(long, value_name = "AMOUNT")]
    unit_price: AmountArg,
    /// The most the session can pay, held in escrow (at least one unit's price).
    #[arg(long, value_name = "AMOUNT")]
    budget: AmountArg,
    /// After this many milliseconds of block time you may close the session yourself
    /// (if the merchant never claims) [default: a day].
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
    duration_ms: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for OpenMeterArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            merchant,
            asset,
            unit_price,
            budget,
            duration_ms,
            common,
        } = self;
        for amount in [&unit_price, &budget] {
            amount.check_unit(&asset).map_err(CliError::BadInput)?;
        }
        let draft: Draft = Box::new(move |c| {
            let (asset_id, unit_price) = c.asset_amount(&asset, &unit_price)?;
            let (_, budget) = c.asset_amount(&asset, &budget)?;
            Ok(Call::OpenMeter(calls::OpenMeter {
                merchant,
                asset: asset_id,
                unit_price,
                budget,
                duration_ms,
            }))
        });
        Ok((draft, common))
    }
}

/// As a session's user, sign a cumulative receipt (units used so far) for the
/// merchant, off chain: prints `{"session", "units", "signature"}`; nothing is
/// submitted. The signature commits to the node's chain id.
#[derive(Debug, Args)]
pub(crate) struct MeterReceiptArgs {
    /// The session.
    #[arg(long, value_name = "ID")]
    session: u64,
    /// Units used so far, cumulative.
    #[arg(long, value_name = "N")]
    units: u64,
    /// Your key file (the session's user).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    api: ApiArgs,
}

impl TxRun for MeterReceiptArgs {
    fn run(self) -> Result<(), CliError> {
        let key = load_key(&self.key)?;
        let client = Client::new(&self.api.api)?;
        let node = client.status()?;
        let receipt = MeterReceipt {
            session: self.session,
            units: self.units,
        };
        let signature = receipt.sign(&key, &node.chain_id);
        output::emit_plain(&serde_json::json!({
            "session": receipt.session,
            "units": receipt.units,
            "signature": hex::encode(signature.0),
        }))
    }
}

/// As a session's merchant, claim the user's latest receipt: you are paid the units
/// not yet claimed × the unit price (tax withheld as for `pay`). `--close` makes it
/// the final claim: the rest of the budget returns to the user.
#[derive(Debug, Args)]
pub(crate) struct ClaimMeterArgs {
    /// The session.
    #[arg(long, value_name = "ID")]
    session: u64,
    /// The receipt's units (cumulative).
    #[arg(long, value_name = "N")]
    units: u64,
    /// The user's signature from `meter-receipt` (128 hex digits).
    #[arg(long, value_name = "HEX")]
    signature: String,
    /// Close the session after this claim.
    #[arg(long)]
    close: bool,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for ClaimMeterArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let bytes = hex::decode(self.signature.trim())
            .map_err(|e| CliError::BadInput(format!("--signature is not hex: {e}")))?;
        let signature: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
            CliError::BadInput(format!("--signature is {} bytes; it must be 64", b.len()))
        })?;
        let call = Call::ClaimMeter(calls::ClaimMeter {
            session: self.session,
            units: self.units,
            signature: Signature(signature),
            close: self.close,
        });
        Ok((fixed(call), self.common))
    }
}

/// Close a session: its merchant at any time, its user once the session's duration
/// has passed. The rest of the budget returns to the user.
#[derive(Debug, Args)]
pub(crate) struct CloseMeterArgs {
    /// The session.
    #[arg(long, value_name = "ID")]
    session: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for CloseMeterArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::CloseMeter(calls::CloseMeter {
            session: self.session,
        });
        Ok((fixed(call), self.common))
    }
}
