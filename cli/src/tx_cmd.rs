//! `jeon tx`: build, sign and submit one transaction, and optionally wait for it.
//!
//! Everything the user typed is checked before the first request (addresses, asset
//! names, the key file: exit 2). Then the node supplies what was not given: the chain
//! id, a fee limit (`GET /v1/fees`), the head height (for the expiry) and the sender's
//! nonce. A partner may pay the fee: `--fee-payer` names a sponsor, `--payer-key`
//! makes the payer co-sign. The
//! command prints `{"hash": ...}`; with `--wait` it polls the transaction until it is
//! final (exit 0) or rejected (exit 1) and prints its status instead.
//!
//! With a genesis file (`--genesis`, or `.jeon-dev/genesis.json` when it exists and is
//! the node's chain), `--wait` does not take the node's word: it fetches the proof of
//! the transaction, verifies it against the genesis, and prints what it verified under
//! `"verified"`; the exit code follows the verified receipt. Without one it says on
//! stderr that the status was not independently verified.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};

use jeon_node::api::TxStatus;
use jeon_runtime::economy::{RedeemKind, RewardKind};
use jeon_runtime::fees::Beneficiary;
use jeon_runtime::invoice::Invoice;
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, Call, Hash, Height, Keypair, Nonce, SignedTx, TxBody,
};

use crate::client::{ApiArgs, ApiError, AssetRef, Client, NodeStatus};
use crate::error::{stdout, CliError};
use crate::keys::key_file_error;
use crate::verify_cmd::{self, Trusted};

/// The genesis `--wait` verifies against when `--genesis` is not given: `jeon dev`'s,
/// if the command runs where `jeon dev` did and the node serves that chain.
const DEV_GENESIS: &str = ".jeon-dev/genesis.json";

/// How often `--wait` asks for the transaction's status.
const WAIT_POLL_MS: u64 = 50;
/// How often `--wait` reports that it is still waiting.
const WAIT_PROGRESS_SECS: u64 = 2;

/// `jeon tx ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TxCommand {
    /// Move units of an asset to another account.
    ///
    /// Amounts are integers in the asset's smallest unit: KRW has 2 decimals, so
    /// ₩500 is `--amount 50000`.
    Transfer {
        /// The recipient's address (`jeon1...`).
        #[arg(long, value_name = "ADDR")]
        to: Address,
        /// The asset, by id (`0`) or symbol (`KRW`).
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// Units in the asset's smallest unit (KRW has 2 decimals: ₩500 = 50000).
        #[arg(long, value_name = "N")]
        amount: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Create an asset (the sender must be a partner with the issuer role).
    CreateAsset {
        /// The ticker: 1 to 12 of A-Z, 0-9 (lower case is upper-cased).
        #[arg(long, value_name = "S")]
        symbol: String,
        /// Digits after the decimal point of one display unit (KRW has 2).
        #[arg(long, value_name = "D")]
        decimals: u8,
        /// What the asset represents.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// The issuance limit: no mint takes the supply above it [default: none].
        #[arg(long, value_name = "N")]
        supply_max: Option<Amount>,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Create units of an asset the sender issues, into an account.
    ///
    /// Amounts are integers in the asset's smallest unit: KRW has 2 decimals, so
    /// ₩500 is `--amount 50000`.
    Mint {
        /// The asset, by id (`0`) or symbol (`KRW`).
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// The recipient's address (`jeon1...`).
        #[arg(long, value_name = "ADDR")]
        to: Address,
        /// Units in the asset's smallest unit (KRW has 2 decimals: ₩500 = 50000).
        #[arg(long, value_name = "N")]
        amount: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Destroy units of an asset the sender holds.
    ///
    /// Amounts are integers in the asset's smallest unit: KRW has 2 decimals, so
    /// ₩500 is `--amount 50000`.
    Burn {
        /// The asset, by id (`0`) or symbol (`KRW`).
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// Units in the asset's smallest unit (KRW has 2 decimals: ₩500 = 50000).
        #[arg(long, value_name = "N")]
        amount: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Pay a merchant partner in a money asset: the merchant's jurisdiction withholds
    /// its tax, and the merchant's reward rules mint cashback or stamps to the payer.
    Pay {
        /// The merchant partner's address.
        #[arg(long, value_name = "ADDR")]
        merchant: Address,
        /// The money asset, by id or symbol.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// Units paid, tax included (KRW has 2 decimals: ₩500 = 50000).
        #[arg(long, value_name = "N")]
        amount: Amount,
        /// The payer's reference, at most 64 bytes.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reference: String,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As an issuer, pay cashback (a rate of each payment) in a credit it issues for
    /// payments at the merchants.
    AddCashbackRule {
        #[command(flatten)]
        rule: RuleArgs,
        /// Cashback rate in basis points (100 = 1 %).
        #[arg(long, value_name = "BPS")]
        rate_bps: u16,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As an issuer, give stamps (a credit it issues) for each payment at the merchants.
    AddStampRule {
        #[command(flatten)]
        rule: RuleArgs,
        /// Stamps per payment.
        #[arg(long, value_name = "N", default_value_t = 1)]
        per_payment: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Remove a reward rule the sender added.
    RemoveRewardRule {
        /// The rule's id.
        #[arg(long, value_name = "ID")]
        id: u64,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Set what a stamp asset redeems for (the sender issues both assets).
    SetStampReward {
        /// The stamp asset.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        stamp_asset: AssetRef,
        /// Stamps per reward.
        #[arg(long, value_name = "N")]
        stamps: Amount,
        /// The reward asset (e.g. a voucher credit).
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        reward_asset: AssetRef,
        /// Reward units per `--stamps` stamps.
        #[arg(long, value_name = "N")]
        reward_amount: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Burn stamps (a multiple of the configured count) for their reward.
    RedeemStamps {
        /// The stamp asset.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        stamp_asset: AssetRef,
        /// Stamps to burn.
        #[arg(long, value_name = "N")]
        count: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Ask a credit's issuer to redeem it, for goods at a merchant or cashed out to a
    /// wallet; the credits wait in escrow until the issuer settles or rejects, or the
    /// deadline refunds them.
    Redeem {
        /// The credit asset.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// Units to redeem.
        #[arg(long, value_name = "N")]
        amount: Amount,
        /// Goods, collected at this merchant partner.
        #[arg(
            long,
            value_name = "MERCHANT",
            conflicts_with = "cash_out",
            required_unless_present = "cash_out"
        )]
        goods: Option<Address>,
        /// Money, paid out by the issuer to this account.
        #[arg(long, value_name = "DEST")]
        cash_out: Option<Address>,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As the issuer, settle a redemption: the escrowed credits are burned.
    SettleRedemption {
        /// The redemption's id.
        #[arg(long, value_name = "ID")]
        id: u64,
        /// The payout or delivery reference, at most 64 bytes.
        #[arg(long, value_name = "TEXT", default_value = "")]
        payout_reference: String,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As the issuer, reject a redemption: the credits go back to the user.
    RejectRedemption {
        /// The redemption's id.
        #[arg(long, value_name = "ID")]
        id: u64,
        /// Why, at most 64 bytes.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As the issuer of one of the two credits, propose converting `--from-asset` into
    /// `--to-asset`; the other issuer accepts.
    ProposeExchange {
        /// The credit users give.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        from_asset: AssetRef,
        /// The credit users receive.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        to_asset: AssetRef,
        /// Rate numerator: out = floor(amount * num / den).
        #[arg(long, value_name = "N")]
        rate_num: u64,
        /// Rate denominator.
        #[arg(long, value_name = "N", default_value_t = 1)]
        rate_den: u64,
        /// The to-issuer's spread in basis points.
        #[arg(long, value_name = "BPS", default_value_t = 0)]
        spread_bps: u16,
        /// The most from-asset units converted per UTC day.
        #[arg(long, value_name = "N")]
        daily_cap: Amount,
        /// The money asset positions are settled in.
        #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
        settlement_asset: AssetRef,
        /// Settlement-asset units owed per to-asset unit delivered.
        #[arg(long, value_name = "N")]
        settlement_price: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As the other issuer, accept a proposed exchange agreement.
    AcceptExchange {
        /// The agreement's id.
        #[arg(long, value_name = "ID")]
        id: u64,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As either issuer, revoke an exchange agreement (or decline a proposal).
    RevokeExchange {
        /// The agreement's id.
        #[arg(long, value_name = "ID")]
        id: u64,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Convert credits under the active agreement for the pair, all or nothing.
    Convert {
        /// The credit given.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        from_asset: AssetRef,
        /// Units given.
        #[arg(long, value_name = "N")]
        amount: Amount,
        /// The credit received.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        to_asset: AssetRef,
        /// The least to receive, else the conversion fails.
        #[arg(long, value_name = "N", default_value_t = 1)]
        min_out: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a user, let a spender charge you up to a limit per period until a height (a
    /// subscription, pay-per-lesson, in-game purchases). Prints the transaction hash;
    /// the mandate id is in the `mandate_granted` event.
    GrantMandate {
        /// Who may charge (a merchant partner's charges are payments with tax).
        #[arg(long, value_name = "ADDR")]
        spender: Address,
        /// The asset charged, by id or symbol.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// The most units charged per period (KRW has 2 decimals: ₩9,900 = 990000).
        #[arg(long, value_name = "N")]
        limit_per_period: Amount,
        /// The period in milliseconds [default: a day].
        #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
        period_ms: u64,
        /// The last height at which a charge is accepted.
        #[arg(long, value_name = "HEIGHT")]
        expires_at: Height,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a mandate's spender, charge the user within the period's remaining limit.
    Charge {
        /// The mandate's id.
        #[arg(long, value_name = "ID")]
        mandate_id: u64,
        /// Units to charge.
        #[arg(long, value_name = "N")]
        amount: Amount,
        /// Your reference, at most 64 bytes.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reference: String,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a mandate's user, revoke it: charges from the next block on are refused.
    RevokeMandate {
        /// The mandate's id.
        #[arg(long, value_name = "ID")]
        mandate_id: u64,
        #[command(flatten)]
        common: TxArgs,
    },
    /// Pay a merchant's payment link (`jeon:pay?i=...&s=...`, from `jeon invoice new`).
    PayInvoice {
        /// The payment link.
        #[arg(long, value_name = "URI")]
        link: String,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a lender partner, open a credit line for a borrower within what its credit
    /// score allows (`jeon query credit ADDR`). The line id is in the
    /// `credit_line_opened` event.
    OpenCreditLine {
        /// The borrower.
        #[arg(long, value_name = "ADDR")]
        borrower: Address,
        /// The money asset lent, by id or symbol.
        #[arg(long, value_name = "ID_OR_SYMBOL")]
        asset: AssetRef,
        /// The most units outstanding at once.
        #[arg(long, value_name = "N")]
        limit: Amount,
        /// Blocks until the line is due.
        #[arg(long, value_name = "BLOCKS")]
        due_period_blocks: Height,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a borrower, draw units from the lender on a credit line.
    DrawCredit {
        /// The line's id.
        #[arg(long, value_name = "ID")]
        line_id: u64,
        /// Units to draw.
        #[arg(long, value_name = "N")]
        amount: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a borrower, repay units on a credit line (repaying all of it closes the line).
    Repay {
        /// The line's id.
        #[arg(long, value_name = "ID")]
        line_id: u64,
        /// Units to repay.
        #[arg(long, value_name = "N")]
        amount: Amount,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As a lender, mark a line past its due height with units outstanding in default.
    MarkDefault {
        /// The line's id.
        #[arg(long, value_name = "ID")]
        line_id: u64,
        #[command(flatten)]
        common: TxArgs,
    },
    /// As the fee payer a wallet named, co-sign its transaction (from `--sign-only`)
    /// and submit it: you pay its fee.
    Cosign {
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
    },
    /// As a partner, pay the fees of one account (`--for`) or of all your customers
    /// (`--all-customers`: transactions that pay you, pay your links, grant you a
    /// mandate, redeem your assets or repay your lines), within a budget per period.
    /// The user's wallet names you with `--fee-payer`. `--budget 0` withdraws it.
    SponsorFees {
        /// The account whose fees you pay.
        #[arg(long = "for", value_name = "ADDR", conflicts_with = "all_customers")]
        account: Option<Address>,
        /// Pay the fees of your customers' transactions addressed to you.
        #[arg(long)]
        all_customers: bool,
        /// The most fees paid per period, in the fee asset's smallest unit (0 withdraws
        /// the sponsorship).
        #[arg(long, value_name = "N")]
        budget: Amount,
        /// The budget's period in milliseconds [default: a day].
        #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
        period_ms: u64,
        /// The budget's asset: the chain's fee asset.
        #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
        asset: AssetRef,
        #[command(flatten)]
        common: TxArgs,
    },
}

/// What both kinds of reward rule take.
#[derive(Debug, Args)]
pub(crate) struct RuleArgs {
    /// A merchant partner whose payments earn the reward; repeat for up to 16.
    #[arg(long = "merchant", value_name = "ADDR", required = true)]
    merchants: Vec<Address>,
    /// The money asset whose payments earn it.
    #[arg(long, value_name = "ID_OR_SYMBOL", default_value = "KRW")]
    pay_asset: AssetRef,
    /// The credit asset minted as the reward (the sender issues it).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The most units one payer may earn per period.
    #[arg(long, value_name = "N")]
    cap: Amount,
    /// The cap's period in milliseconds [default: a day].
    #[arg(long, value_name = "MS", default_value_t = jeon_runtime::economy::PERIOD_MS)]
    period_ms: u64,
}

/// The flags every `tx` command takes.
#[derive(Debug, Args)]
pub(crate) struct TxArgs {
    /// The sender's key file; the sender signs and, unless a fee payer is named, pays
    /// the fee.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    api: ApiArgs,
    /// The most fee to pay, in the fee asset's smallest unit [default: the node's
    /// suggestion from `GET /v1/fees`: twice the sender's current fee, within the
    /// base fee's ceiling].
    #[arg(long, value_name = "N")]
    fee_limit: Option<Amount>,
    /// A partner that sponsors your fees (`jeon tx sponsor-fees`) pays them; or, with
    /// `--payer-key`, the co-signing payer.
    #[arg(long, value_name = "ADDR")]
    fee_payer: Option<Address>,
    /// The fee payer's key file: the payer co-signs and pays the fee (its address is
    /// the fee payer).
    #[arg(long, value_name = "FILE")]
    payer_key: Option<PathBuf>,
    /// The transaction expires this many blocks after the current head.
    #[arg(long, value_name = "N", default_value_t = 100)]
    expiry_blocks: Height,
    /// The sender's nonce [default: the account's next nonce, from the node].
    #[arg(long, value_name = "N")]
    nonce: Option<Nonce>,
    /// Sign but do not submit: print `{"tx": HEX}` for the named `--fee-payer` to
    /// co-sign and submit with `jeon tx cosign`.
    #[arg(long, requires = "fee_payer", conflicts_with_all = ["wait", "payer_key"])]
    sign_only: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

/// Waiting for the outcome and checking it.
#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Wait until the transaction is final (exit 0) or rejected (exit 1), and print
    /// its status.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits before giving up (exit 1).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout_secs: u64,
    /// The chain's genesis file. The chain id is checked against the node's before
    /// signing, and `--wait` verifies the node's proof of the transaction against it
    /// instead of trusting the node [default with `--wait`: .jeon-dev/genesis.json, if
    /// it exists and is the node's chain].
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
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

/// A call whose assets may still need resolving by symbol (with the node).
type Draft = Box<dyn FnOnce(&Client) -> Result<Call, ApiError>>;

/// Refuses a text longer than the runtime takes (exit 2) before anything is signed.
fn check_text(name: &str, text: &str) -> Result<(), CliError> {
    let max = jeon_runtime::economy::TEXT_BYTES_MAX;
    if text.len() > max {
        return Err(CliError::BadInput(format!(
            "{name} is {} bytes; at most {max}",
            text.len()
        )));
    }
    Ok(())
}

/// A reward rule's call.
fn rule_draft(rule: RuleArgs, kind: impl FnOnce(AssetId) -> RewardKind + 'static) -> Draft {
    Box::new(move |c| {
        Ok(Call::AddRewardRule {
            merchants: rule.merchants,
            pay_asset: c.resolve_asset(&rule.pay_asset)?,
            kind: kind(c.resolve_asset(&rule.asset)?),
            cap_per_user_per_period: rule.cap,
            period_ms: rule.period_ms,
        })
    })
}

/// Splits a command into its call and its common flags; checks what can be checked
/// offline.
fn draft(command: TxCommand) -> Result<(Draft, TxArgs), CliError> {
    Ok(match command {
        TxCommand::Transfer {
            to,
            asset,
            amount,
            common,
        } => (
            Box::new(move |c| {
                Ok(Call::Transfer {
                    to,
                    asset: c.resolve_asset(&asset)?,
                    amount,
                })
            }),
            common,
        ),
        TxCommand::CreateAsset {
            symbol,
            decimals,
            kind,
            supply_max,
            common,
        } => {
            let symbol = symbol.to_ascii_uppercase();
            if !jeon_runtime::model::symbol_is_valid(&symbol) {
                return Err(CliError::BadInput(format!(
                    "invalid asset symbol {symbol:?}: use 1 to 12 of A-Z, 0-9"
                )));
            }
            let call = Call::CreateAsset {
                symbol,
                decimals,
                kind: kind.into(),
                supply_max,
            };
            (Box::new(move |_| Ok(call)), common)
        }
        TxCommand::Mint {
            asset,
            to,
            amount,
            common,
        } => (
            Box::new(move |c| {
                Ok(Call::Mint {
                    asset: c.resolve_asset(&asset)?,
                    to,
                    amount,
                })
            }),
            common,
        ),
        TxCommand::Burn {
            asset,
            amount,
            common,
        } => (
            Box::new(move |c| {
                Ok(Call::Burn {
                    asset: c.resolve_asset(&asset)?,
                    amount,
                })
            }),
            common,
        ),
        other => economy_draft(other)?,
    })
}

/// [`draft`] for the economy's calls (docs/economy.md).
fn economy_draft(command: TxCommand) -> Result<(Draft, TxArgs), CliError> {
    let fixed = |call: Call| -> Draft { Box::new(move |_| Ok(call)) };
    Ok(match command {
        TxCommand::Pay {
            merchant,
            asset,
            amount,
            reference,
            common,
        } => {
            check_text("--reference", &reference)?;
            let d: Draft = Box::new(move |c| {
                Ok(Call::Pay {
                    merchant,
                    asset: c.resolve_asset(&asset)?,
                    amount,
                    reference,
                })
            });
            (d, common)
        }
        TxCommand::AddCashbackRule {
            rule,
            rate_bps,
            common,
        } => (
            rule_draft(rule, move |asset| RewardKind::Cashback { rate_bps, asset }),
            common,
        ),
        TxCommand::AddStampRule {
            rule,
            per_payment,
            common,
        } => (
            rule_draft(rule, move |asset| RewardKind::Stamps { per_payment, asset }),
            common,
        ),
        TxCommand::RemoveRewardRule { id, common } => {
            (fixed(Call::RemoveRewardRule { id }), common)
        }
        TxCommand::SetStampReward {
            stamp_asset,
            stamps,
            reward_asset,
            reward_amount,
            common,
        } => {
            let d: Draft = Box::new(move |c| {
                Ok(Call::SetStampReward {
                    stamp_asset: c.resolve_asset(&stamp_asset)?,
                    stamps,
                    reward_asset: c.resolve_asset(&reward_asset)?,
                    reward_amount,
                })
            });
            (d, common)
        }
        TxCommand::RedeemStamps {
            stamp_asset,
            count,
            common,
        } => {
            let d: Draft = Box::new(move |c| {
                Ok(Call::RedeemStamps {
                    stamp_asset: c.resolve_asset(&stamp_asset)?,
                    count,
                })
            });
            (d, common)
        }
        TxCommand::Redeem {
            asset,
            amount,
            goods,
            cash_out,
            common,
        } => {
            let kind = match (goods, cash_out) {
                (Some(merchant), None) => RedeemKind::Goods { merchant },
                (None, Some(destination)) => RedeemKind::CashOut { destination },
                _ => {
                    return Err(CliError::BadInput(
                        "give exactly one of --goods MERCHANT or --cash-out DEST".into(),
                    ))
                }
            };
            let d: Draft = Box::new(move |c| {
                Ok(Call::Redeem {
                    asset: c.resolve_asset(&asset)?,
                    amount,
                    kind,
                })
            });
            (d, common)
        }
        TxCommand::SettleRedemption {
            id,
            payout_reference,
            common,
        } => {
            check_text("--payout-reference", &payout_reference)?;
            let call = Call::SettleRedemption {
                id,
                payout_reference,
            };
            (fixed(call), common)
        }
        TxCommand::RejectRedemption { id, reason, common } => {
            check_text("--reason", &reason)?;
            (fixed(Call::RejectRedemption { id, reason }), common)
        }
        TxCommand::ProposeExchange {
            from_asset,
            to_asset,
            rate_num,
            rate_den,
            spread_bps,
            daily_cap,
            settlement_asset,
            settlement_price,
            common,
        } => {
            let d: Draft = Box::new(move |c| {
                Ok(Call::ProposeExchange {
                    from_asset: c.resolve_asset(&from_asset)?,
                    to_asset: c.resolve_asset(&to_asset)?,
                    rate_num,
                    rate_den,
                    spread_bps,
                    daily_cap,
                    settlement_asset: c.resolve_asset(&settlement_asset)?,
                    settlement_price,
                })
            });
            (d, common)
        }
        TxCommand::AcceptExchange { id, common } => (fixed(Call::AcceptExchange { id }), common),
        TxCommand::RevokeExchange { id, common } => (fixed(Call::RevokeExchange { id }), common),
        TxCommand::Convert {
            from_asset,
            amount,
            to_asset,
            min_out,
            common,
        } => {
            let d: Draft = Box::new(move |c| {
                Ok(Call::Convert {
                    from_asset: c.resolve_asset(&from_asset)?,
                    amount,
                    to_asset: c.resolve_asset(&to_asset)?,
                    min_out,
                })
            });
            (d, common)
        }
        TxCommand::GrantMandate {
            spender,
            asset,
            limit_per_period,
            period_ms,
            expires_at,
            common,
        } => {
            let d: Draft = Box::new(move |c| {
                Ok(Call::GrantMandate {
                    spender,
                    asset: c.resolve_asset(&asset)?,
                    limit_per_period,
                    period_ms,
                    expires_at,
                })
            });
            (d, common)
        }
        TxCommand::Charge {
            mandate_id,
            amount,
            reference,
            common,
        } => {
            check_text("--reference", &reference)?;
            let call = Call::Charge {
                mandate_id,
                amount,
                reference,
            };
            (fixed(call), common)
        }
        TxCommand::RevokeMandate { mandate_id, common } => {
            (fixed(Call::RevokeMandate { mandate_id }), common)
        }
        TxCommand::PayInvoice { link, common } => {
            let (invoice, signature) =
                Invoice::from_uri(&link).map_err(|e| CliError::BadInput(format!("--link: {e}")))?;
            (fixed(Call::PayInvoice { invoice, signature }), common)
        }
        TxCommand::OpenCreditLine {
            borrower,
            asset,
            limit,
            due_period_blocks,
            common,
        } => {
            let d: Draft = Box::new(move |c| {
                Ok(Call::OpenCreditLine {
                    borrower,
                    asset: c.resolve_asset(&asset)?,
                    limit,
                    due_period_blocks,
                })
            });
            (d, common)
        }
        TxCommand::DrawCredit {
            line_id,
            amount,
            common,
        } => (fixed(Call::DrawCredit { line_id, amount }), common),
        TxCommand::Repay {
            line_id,
            amount,
            common,
        } => (fixed(Call::Repay { line_id, amount }), common),
        TxCommand::MarkDefault { line_id, common } => {
            (fixed(Call::MarkDefault { line_id }), common)
        }
        TxCommand::SponsorFees {
            account,
            all_customers,
            budget,
            period_ms,
            asset,
            common,
        } => {
            let beneficiary = match (account, all_customers) {
                (Some(a), false) => Beneficiary::Account(a),
                (None, true) => Beneficiary::AllCustomers,
                _ => {
                    return Err(CliError::BadInput(
                        "give either --for ADDR or --all-customers".into(),
                    ))
                }
            };
            let d: Draft = Box::new(move |c| {
                Ok(Call::SponsorFees {
                    beneficiary,
                    asset: c.resolve_asset(&asset)?,
                    budget_per_period: budget,
                    period_ms,
                })
            });
            (d, common)
        }
        TxCommand::Transfer { .. }
        | TxCommand::CreateAsset { .. }
        | TxCommand::Mint { .. }
        | TxCommand::Burn { .. }
        | TxCommand::Cosign { .. } => {
            return Err(CliError::Failed("internal: not an economy call".into()))
        }
    })
}

/// Runs a `tx` command.
pub(crate) fn run(command: TxCommand) -> Result<(), CliError> {
    if let TxCommand::Cosign { tx, key, api, wait } = command {
        return cosign(&tx, &key, &api, &wait);
    }
    let (draft, common) = draft(command)?;
    let key = load_key(&common.key)?;
    let client = Client::new(&common.api.api)?;
    let node = client.status()?;
    let trusted = trusted_genesis(&client, &node, &common.wait)?;
    let tx = sign(&client, &key, draft, &common, &node)?;
    if common.sign_only {
        let hex = hex::encode(tx.encode());
        return stdout(&format!("{}\n", serde_json::json!({ "tx": hex })));
    }
    let hash = client.submit(&tx)?;
    finish(&client, trusted.as_ref(), hash, &common.wait)
}

/// `jeon tx cosign`: checks that the transaction is for this node's chain, properly
/// signed by its sender and names this key as its fee payer; adds the payer's
/// signature and submits it.
fn cosign(hex_tx: &str, key: &Path, api: &ApiArgs, wait: &WaitArgs) -> Result<(), CliError> {
    let bytes = hex::decode(hex_tx.trim())
        .map_err(|e| CliError::BadInput(format!("--tx is not hex: {e}")))?;
    let tx = SignedTx::decode(&bytes).map_err(|e| CliError::BadInput(format!("--tx: {e}")))?;
    let key = load_key(key)?;
    let client = Client::new(&api.api)?;
    let node = client.status()?;
    let trusted = trusted_genesis(&client, &node, wait)?;
    match tx.body.fee_payer {
        Some(payer) if payer == key.address() => {}
        Some(payer) => {
            return Err(CliError::BadInput(format!(
                "the transaction names {payer} as its fee payer; --key is {}",
                key.address()
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
    // Check the sender's part before paying for it.
    tx.clone()
        .verify(&node.chain_id)
        .map_err(|e| CliError::BadInput(format!("--tx is not valid for this chain: {e}")))?;
    let hash = client.submit(&tx.sign_as_payer(&key))?;
    finish(&client, trusted.as_ref(), hash, wait)
}

/// The genesis that `--wait` verifies proofs against, if any: `--genesis` (which must
/// be the node's chain), else `jeon dev`'s when waiting.
fn trusted_genesis(
    client: &Client,
    node: &NodeStatus,
    wait: &WaitArgs,
) -> Result<Option<Trusted>, CliError> {
    let explicit = wait.genesis.as_deref().map(Trusted::load).transpose()?;
    Ok(match explicit {
        Some(t) if t.chain_id != node.chain_id => {
            return Err(CliError::BadInput(format!(
                "genesis {} is chain {}, but the node at {} serves chain {}",
                t.path.display(),
                t.chain_id,
                client.base(),
                node.chain_id
            )))
        }
        Some(t) => Some(t),
        None if wait.wait => dev_genesis(node),
        None => None,
    })
}

/// Prints the hash, or with `--wait` the (verified, when a genesis is at hand) status.
fn finish(
    client: &Client,
    trusted: Option<&Trusted>,
    hash: Hash,
    wait: &WaitArgs,
) -> Result<(), CliError> {
    if !wait.wait {
        return stdout(&format!("{}\n", serde_json::json!({ "hash": hash })));
    }
    let status = wait_for_tx(client, &hash, Duration::from_secs(wait.timeout_secs), true)?;
    // A status that claims a block is checked against the proof; only a refusal
    // before any block (no height, not final) has nothing to prove.
    let in_block = status.height.is_some() || status.status == "final";
    match (trusted, in_block) {
        (Some(t), true) => print_verified(client, t, status),
        (None, true) => {
            eprintln!(
                "note: not independently verified: the status is the node's word; pass \
                 --genesis FILE to check its proof against the chain's genesis"
            );
            print_trusted(status)
        }
        (_, false) => print_trusted(status),
    }
}

/// `jeon dev`'s genesis in the working directory, if it is the node's chain.
fn dev_genesis(node: &NodeStatus) -> Option<Trusted> {
    let path = Path::new(DEV_GENESIS);
    if !path.exists() {
        return None;
    }
    match Trusted::load(path) {
        Ok(t) if t.chain_id == node.chain_id => Some(t),
        Ok(t) => {
            eprintln!(
                "note: {DEV_GENESIS} is chain {}, not the node's chain {}: not using it",
                t.chain_id, node.chain_id
            );
            None
        }
        Err(e) => {
            eprintln!("note: not using {DEV_GENESIS}: {e}");
            None
        }
    }
}

/// Prints the node's status as is; exit 1 unless it says final.
fn print_trusted(status: TxStatus) -> Result<(), CliError> {
    let json = serde_json::to_string(&status)
        .map_err(|e| CliError::Failed(format!("cannot print the status: {e}")))?;
    stdout(&format!("{json}\n"))?;
    match status.status.as_str() {
        "final" => Ok(()),
        _ => Err(CliError::Failed(format!(
            "transaction {} was rejected: {}",
            status.hash,
            status.reason.as_deref().unwrap_or("no reason given")
        ))),
    }
}

/// Fetches the proof of a transaction in a final block, verifies it against the
/// genesis, and prints the status with what was verified; the exit code follows the
/// verified receipt, not the node's status.
fn print_verified(client: &Client, trusted: &Trusted, status: TxStatus) -> Result<(), CliError> {
    let hash = status.hash;
    let source = format!("the node's proof of {hash}");
    let answer = client.tx_proof(&hash)?;
    let proof = verify_cmd::proof_from_json(answer).map_err(|e| {
        // Whatever the node sent, it is the operation that failed, not the user's input.
        CliError::Failed(e.naming(&source).to_string())
    })?;
    if proof.receipt.tx != hash {
        return Err(CliError::Failed(format!(
            "{source} is for another transaction, {}",
            proof.receipt.tx
        )));
    }
    let verified = trusted.verify(&proof).map_err(|e| {
        let genesis = trusted.path.display();
        CliError::Failed(format!("{source} does not verify against {genesis}: {e}"))
    })?;
    let mut json = serde_json::to_value(&status)
        .map_err(|e| CliError::Failed(format!("cannot print the status: {e}")))?;
    let verified_json = serde_json::to_value(&verified)
        .map_err(|e| CliError::Failed(format!("cannot print the result: {e}")))?;
    if let Some(fields) = json.as_object_mut() {
        fields.insert("verified".into(), verified_json);
    }
    stdout(&format!("{json}\n"))?;
    verify_cmd::failure(&verified)
}

/// Reads a key file (exit 2 on any problem); warnings go to stderr.
pub(crate) fn load_key(path: &Path) -> Result<Keypair, CliError> {
    let loaded = jeon_genesis::keyfile::read(path).map_err(key_file_error)?;
    if let Some(w) = &loaded.warning {
        eprintln!("warning: {w}");
    }
    Ok(loaded.keypair)
}

/// Fills in what the node knows and signs (with the payer's co-signature when
/// `--payer-key` is given).
fn sign(
    client: &Client,
    key: &Keypair,
    draft: Draft,
    common: &TxArgs,
    status: &NodeStatus,
) -> Result<SignedTx, CliError> {
    let payer_key = common.payer_key.as_deref().map(load_key).transpose()?;
    let fee_payer = match (&payer_key, common.fee_payer) {
        (Some(k), Some(named)) if k.address() != named => {
            return Err(CliError::BadInput(format!(
                "--fee-payer {named} is not the address of --payer-key ({})",
                k.address()
            )))
        }
        (Some(k), _) => Some(k.address()),
        (None, named) => named,
    };
    let call = draft(client)?;
    let sender = key.address();
    let nonce = match common.nonce {
        Some(n) => n,
        None => client.account(&sender)?.map_or(0, |a| a.nonce),
    };
    let expiry = status
        .height
        .checked_add(common.expiry_blocks)
        .ok_or_else(|| CliError::BadInput("--expiry-blocks is too large".into()))?;
    let fee_limit = match common.fee_limit {
        Some(limit) => limit,
        None => client.fees(Some(&sender))?.suggested_fee_limit(),
    };
    let body = TxBody {
        chain_id: status.chain_id,
        sender,
        nonce,
        fee_limit,
        expiry,
        call,
        fee_payer,
    };
    let mut tx = body.sign(key);
    if let Some(k) = &payer_key {
        tx = tx.sign_as_payer(k);
    }
    Ok(tx)
}

/// Polls `GET /v1/txs/{hash}` every 50 ms until the transaction is final or rejected,
/// and returns its status; an error after `timeout`. With `progress`, says on stderr
/// every 2 s that it is still waiting.
pub(crate) fn wait_for_tx(
    client: &Client,
    hash: &Hash,
    timeout: Duration,
    progress: bool,
) -> Result<TxStatus, CliError> {
    let start = Instant::now();
    let mut next_report = Duration::from_secs(WAIT_PROGRESS_SECS);
    loop {
        let status = client.tx_status(hash)?;
        if matches!(status.status.as_str(), "final" | "rejected") {
            return Ok(status);
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(CliError::Failed(format!(
                "timed out after {} s waiting for {hash}: still {}",
                timeout.as_secs(),
                status.status
            )));
        }
        if progress && waited >= next_report {
            eprintln!(
                "waiting for {hash}: {} ({} s)",
                status.status,
                waited.as_secs()
            );
            next_report += Duration::from_secs(WAIT_PROGRESS_SECS);
        }
        std::thread::sleep(Duration::from_millis(WAIT_POLL_MS));
    }
}
