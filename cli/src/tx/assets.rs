//! `jeon tx transfer`, `create-asset`, `mint`, `burn`: moving, issuing and destroying
//! units of an asset.

use clap::{Args, ValueEnum};
use jeon_runtime::calls;

use jeon_runtime::{Address, AssetKind, Call};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// Move units of an asset to another account.
///
/// A bare integer is raw units (KRW has 2 decimals: ₩500 is `--amount 50000`); a
/// decimal point or a sign makes it a decimal amount (`--amount 500.00`, `₩500`).
#[derive(Debug, Args)]
pub(crate) struct TransferArgs {
    /// The recipient's address (`jeon1...`).
    #[arg(long, value_name = "ADDR")]
    to: Address,
    /// The asset, by id (`0`) or symbol (`KRW`).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// Raw units (an integer: ₩500 = 50000) or a decimal amount (`500.00`, `₩500`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for TransferArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            to,
            asset,
            amount,
            common,
        } = self;
        amount.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, amount) = c.asset_amount(&asset, &amount)?;
            Ok(Call::Transfer(calls::Transfer { to, asset, amount }))
        });
        Ok((draft, common))
    }
}

/// Create an asset (the sender must be a partner with the issuer role).
#[derive(Debug, Args)]
pub(crate) struct CreateAssetArgs {
    /// The ticker: 1 to 12 of A-Z, 0-9 (lower case is upper-cased).
    #[arg(long, value_name = "S")]
    symbol: String,
    /// Digits after the decimal point of one display unit (KRW has 2).
    #[arg(long, value_name = "D")]
    decimals: u8,
    /// What the asset represents.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// The issuance limit: no mint takes the supply above it; raw units (an integer)
    /// or a decimal amount in the new asset's `--decimals` (`1000000.00`) [default:
    /// none].
    #[arg(long, value_name = "AMOUNT")]
    supply_max: Option<AmountArg>,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for CreateAssetArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let symbol = self.symbol.to_ascii_uppercase();
        if !jeon_runtime::model::symbol_is_valid(&symbol) {
            return Err(CliError::BadInput(format!(
                "invalid asset symbol {symbol:?}: use 1 to 12 of A-Z, 0-9"
            )));
        }
        // The asset does not exist yet: its decimals and symbol are the flags'.
        let supply_max = self
            .supply_max
            .map(|a| a.units(self.decimals, &symbol))
            .transpose()
            .map_err(|e| CliError::BadInput(format!("--supply-max: {e}")))?;
        let call = Call::CreateAsset(calls::CreateAsset {
            symbol,
            decimals: self.decimals,
            kind: self.kind.into(),
            supply_max,
        });
        Ok((fixed(call), self.common))
    }
}

/// `--kind` of `create-asset`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    /// A money token, e.g. KRW issued 1:1 by a bank.
    Money,
    /// Loyalty points, cashback credits or stamps.
    Credit,
}

impl From<KindArg> for AssetKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Money => AssetKind::Money,
            KindArg::Credit => AssetKind::Credit,
        }
    }
}

/// Create units of an asset the sender issues, into an account.
///
/// A bare integer is raw units (KRW has 2 decimals: ₩500 is `--amount 50000`); a
/// decimal point or a sign makes it a decimal amount (`--amount 500.00`, `₩500`).
#[derive(Debug, Args)]
pub(crate) struct MintArgs {
    /// The asset, by id (`0`) or symbol (`KRW`).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The recipient's address (`jeon1...`).
    #[arg(long, value_name = "ADDR")]
    to: Address,
    /// Raw units (an integer: ₩500 = 50000) or a decimal amount (`500.00`, `₩500`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for MintArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            asset,
            to,
            amount,
            common,
        } = self;
        amount.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, amount) = c.asset_amount(&asset, &amount)?;
            Ok(Call::Mint(calls::Mint { asset, to, amount }))
        });
        Ok((draft, common))
    }
}

/// Destroy units of an asset the sender holds.
///
/// A bare integer is raw units (KRW has 2 decimals: ₩500 is `--amount 50000`); a
/// decimal point or a sign makes it a decimal amount (`--amount 500.00`, `₩500`).
#[derive(Debug, Args)]
pub(crate) struct BurnArgs {
    /// The asset, by id (`0`) or symbol (`KRW`).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// Raw units (an integer: ₩500 = 50000) or a decimal amount (`500.00`, `₩500`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for BurnArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            asset,
            amount,
            common,
        } = self;
        amount.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, amount) = c.asset_amount(&asset, &amount)?;
            Ok(Call::Burn(calls::Burn { asset, amount }))
        });
        Ok((draft, common))
    }
}
