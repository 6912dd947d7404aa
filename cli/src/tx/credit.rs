//! `jeon tx open-credit-line`, `draw-credit`, `repay`, `mark-default`: micro-credit
//! lines from a lender partner to a borrower.

use clap::Args;
use jeon_runtime::calls;

use jeon_runtime::{Address, Call, Height};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// As a lender partner, open a credit line for a borrower within what its credit
/// score allows (`jeon query credit ADDR`). The line id is in the
/// `credit_line_opened` event.
#[derive(Debug, Args)]
pub(crate) struct OpenCreditLineArgs {
    /// The borrower.
    #[arg(long, value_name = "ADDR")]
    borrower: Address,
    /// The money asset lent, by id or symbol.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The most outstanding at once: raw units or a decimal amount (`₩10000`).
    #[arg(long, value_name = "AMOUNT")]
    limit: AmountArg,
    /// Blocks until the line is due.
    #[arg(long, value_name = "BLOCKS")]
    due_period_blocks: Height,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for OpenCreditLineArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            borrower,
            asset,
            limit,
            due_period_blocks,
            common,
        } = self;
        limit.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (asset, limit) = c.asset_amount(&asset, &limit)?;
            Ok(Call::OpenCreditLine(calls::OpenCreditLine {
                borrower,
                asset,
                limit,
                due_period_blocks,
            }))
        });
        Ok((draft, common))
    }
}

/// As a borrower, draw units from the lender on a credit line.
#[derive(Debug, Args)]
pub(crate) struct DrawCreditArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line_id: u64,
    /// To draw: raw units, or a decimal amount with its sign or symbol (`₩5`, `5KRW`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for DrawCreditArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            line_id,
            amount,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            let amount = c.amount_with_unit(&amount)?;
            Ok(Call::DrawCredit(calls::DrawCredit { line_id, amount }))
        });
        Ok((draft, common))
    }
}

/// As a borrower, repay units on a credit line (repaying all of it closes the line).
#[derive(Debug, Args)]
pub(crate) struct RepayArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line_id: u64,
    /// To repay: raw units, or a decimal amount with its sign or symbol (`₩5`, `5KRW`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RepayArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            line_id,
            amount,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            let amount = c.amount_with_unit(&amount)?;
            Ok(Call::Repay(calls::Repay { line_id, amount }))
        });
        Ok((draft, common))
    }
}

/// As a lender, mark a line past its due height with units outstanding in default.
#[derive(Debug, Args)]
pub(crate) struct MarkDefaultArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line_id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for MarkDefaultArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::MarkDefault(calls::MarkDefault {
            line_id: self.line_id,
        });
        Ok((fixed(call), self.common))
    }
}
