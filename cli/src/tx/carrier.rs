//! `jeon tx open-carrier-line`, `charge-line`, `settle-statement`, `suspend-line`,
//! `resume-line`, `set-claim-policy`: carrier billing and claim-gated lines and
//! redemptions (docs/economy.md §14).

use clap::{Args, ValueEnum};
use jeon_runtime::goods::carrier::{LineCashback, LinePurchase, Settlement};
use jeon_runtime::goods::policy::ClaimScope;
use jeon_runtime::{calls, Address, AssetId, Call};

use super::identity::ClaimArgs;
use super::{check_text, fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// As a carrier partner, open a phone billing line for a user: purchases the user
/// charges to it are paid from your float, up to the cap per period; the line id is
/// in the `carrier_line_opened` event.
#[derive(Debug, Args)]
pub(crate) struct OpenCarrierLineArgs {
    /// The user's address.
    #[arg(long, value_name = "ADDR")]
    user: Address,
    /// The money asset, by id or symbol.
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    asset: AssetRef,
    /// The most charged per period: raw units or a decimal amount (`₩100000`); at most
    /// the consortium's maximum (`jeon query carrier-params`).
    #[arg(long, value_name = "AMOUNT")]
    cap: AmountArg,
    /// The period: 0 for calendar months of block time in UTC (a phone bill's), or a
    /// fixed length in milliseconds (1000 to 366 days).
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::goods::carrier::LINE_PERIOD_CALENDAR_MONTH)]
    period_ms: u64,
    /// Grant your own loyalty credits on each purchase: a credit asset you issue.
    #[arg(long, value_name = "ID", requires = "cashback_bps")]
    cashback_asset: Option<u32>,
    /// The cashback rate in basis points of each purchase (1 to 10000).
    #[arg(long, value_name = "BPS", requires = "cashback_asset")]
    cashback_bps: Option<u16>,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for OpenCarrierLineArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            user,
            asset,
            cap,
            period_ms,
            cashback_asset,
            cashback_bps,
            common,
        } = self;
        cap.check_unit(&asset).map_err(CliError::BadInput)?;
        let cashback = cashback_asset
            .zip(cashback_bps)
            .map(|(a, bps)| LineCashback {
                asset: AssetId(a),
                bps,
            });
        let draft: Draft = Box::new(move |c| {
            let (asset, cap) = c.asset_amount(&asset, &cap)?;
            Ok(Call::OpenCarrierLine(calls::OpenCarrierLine {
                user,
                asset,
                cap,
                period_ms,
                cashback,
            }))
        });
        Ok((draft, common))
    }
}

/// As a line's user, charge a purchase to your phone bill: a payment to a merchant
/// (`--merchant`, `--amount`) or a product (`--product`). The carrier pays the
/// merchant now (tax and cashback as for `pay`); the line's statement accrues.
#[derive(Debug, Args)]
pub(crate) struct ChargeLineArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line: u64,
    /// Buy this product.
    #[arg(long, value_name = "ID", conflicts_with_all = ["merchant", "amount"])]
    product: Option<u64>,
    /// Pay this merchant partner.
    #[arg(long, value_name = "ADDR", requires = "amount")]
    merchant: Option<Address>,
    /// The payment, tax included: raw units or a decimal amount of the line's asset.
    #[arg(long, value_name = "AMOUNT", requires = "merchant")]
    amount: Option<AmountArg>,
    /// The line's asset, to read `--amount` with [default: KRW].
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    asset: AssetRef,
    /// Your reference, at most 64 bytes.
    #[arg(long, value_name = "TEXT", default_value = "")]
    reference: String,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for ChargeLineArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            line,
            product,
            merchant,
            amount,
            asset,
            reference,
            common,
        } = self;
        if let Some(product) = product {
            let purchase = LinePurchase::Buy { product };
            let call = Call::ChargeLine(calls::ChargeLine { line, purchase });
            return Ok((fixed(call), common));
        }
        let (Some(merchant), Some(amount)) = (merchant, amount) else {
            return Err(CliError::BadInput(
                "give --product ID, or --merchant ADDR and --amount AMOUNT".into(),
            ));
        };
        check_text("--reference", &reference)?;
        amount.check_unit(&asset).map_err(CliError::BadInput)?;
        let draft: Draft = Box::new(move |c| {
            let (_, amount) = c.asset_amount(&asset, &amount)?;
            let purchase = LinePurchase::Pay {
                merchant,
                amount,
                reference,
            };
            Ok(Call::ChargeLine(calls::ChargeLine { line, purchase }))
        });
        Ok((draft, common))
    }
}

/// How a statement is settled.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum HowArg {
    /// The carrier collected it on the phone bill (the carrier signs).
    Collected,
    /// The user pays the total to the carrier now (the user signs).
    Paid,
}

/// Settle a line's statement for an ended period, once: as its carrier (`--how
/// collected`) or as its user, paying the total (`--how paid`).
#[derive(Debug, Args)]
pub(crate) struct SettleStatementArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line: u64,
    /// The period (0 from the line's opening; `jeon query line ID` lists them).
    #[arg(long, value_name = "N")]
    period: u64,
    /// Collected by the carrier, or paid by the user.
    #[arg(long, value_enum)]
    how: HowArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SettleStatementArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let how = match self.how {
            HowArg::Collected => Settlement::Collected,
            HowArg::Paid => Settlement::PaidByUser,
        };
        let call = Call::SettleStatement(calls::SettleStatement {
            line: self.line,
            period: self.period,
            how,
        });
        Ok((fixed(call), self.common))
    }
}

/// As the carrier, suspend a line whose statement for an ended period is unpaid:
/// nothing can be charged to it until you resume it.
#[derive(Debug, Args)]
pub(crate) struct SuspendLineArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line: u64,
    /// The unpaid period.
    #[arg(long, value_name = "N")]
    period: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SuspendLineArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::SuspendLine(calls::SuspendLine {
            line: self.line,
            period: self.period,
        });
        Ok((fixed(call), self.common))
    }
}

/// As the carrier, resume a suspended line.
#[derive(Debug, Args)]
pub(crate) struct ResumeLineArgs {
    /// The line's id.
    #[arg(long, value_name = "ID")]
    line: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for ResumeLineArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::ResumeLine(calls::ResumeLine { line: self.line });
        Ok((fixed(call), self.common))
    }
}

/// What a claim policy covers.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScopeArg {
    /// The credit lines you open (a lender).
    CreditLines,
    /// The carrier lines you open (a carrier).
    CarrierLines,
    /// Redemptions and cash-outs of `--asset`, a credit asset you issue.
    Redemptions,
}

/// As a lender, carrier or issuer, require a claim (e.g. `--kyc-level 2`) of the
/// accounts you open lines for, or that redeem your credits, above a threshold; with
/// no claim flag, require nothing.
#[derive(Debug, Args)]
pub(crate) struct SetClaimPolicyArgs {
    /// What the policy covers.
    #[arg(long, value_enum)]
    scope: ScopeArg,
    #[command(flatten)]
    claim: ClaimArgs,
    /// Lines with a limit or cap above this, and redemptions of more than it, need the
    /// claim: raw units or a decimal amount of `--asset` [default: 0, all of them].
    #[arg(long, value_name = "AMOUNT")]
    above: Option<AmountArg>,
    /// The redeemed credit asset (`--scope redemptions`), and the asset `--above` is
    /// read in.
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    asset: AssetRef,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SetClaimPolicyArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            scope,
            claim,
            above,
            asset,
            common,
        } = self;
        let claim = claim.claim()?;
        if let Some(a) = &above {
            a.check_unit(&asset).map_err(CliError::BadInput)?;
        }
        let draft: Draft = Box::new(move |c| {
            let asset_id = c.resolve_asset(&asset)?;
            let above = match &above {
                Some(a) => c.asset_amount(&asset, a)?.1,
                None => 0,
            };
            let scope = match scope {
                ScopeArg::CreditLines => ClaimScope::CreditLines,
                ScopeArg::CarrierLines => ClaimScope::CarrierLines,
                ScopeArg::Redemptions => ClaimScope::Redemptions { asset: asset_id },
            };
            Ok(Call::SetClaimPolicy(calls::SetClaimPolicy {
                scope,
                claim,
                above,
            }))
        });
        Ok((draft, common))
    }
}
