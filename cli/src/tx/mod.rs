//! `jeon tx`: build, sign and submit one transaction, and optionally wait for it.
//!
//! Everything the user typed is checked before the first request (addresses, asset
//! names, the key file: exit 2). Then the node supplies what was not given: the chain
//! id, a fee limit (`GET /v1/fees`), the head height (for the expiry) and the sender's
//! nonce. A partner may pay the fee: `--fee-payer` names a sponsor, `--payer-key`
//! makes the payer co-sign.
//!
//! Before submitting, the signed transaction is dry-run (`POST /v1/txs/simulate`):
//! a call bound to fail (more than the balance, an unknown asset, paying a
//! non-merchant, an invoice already paid...) is not submitted, so it costs no fee;
//! the command prints the simulation and exits 1 with the reason. `--force` submits
//! anyway. The command prints the hash; with `--wait` it waits until the transaction
//! is final (exit 0) or rejected (exit 1) and prints its status instead.
//!
//! With a genesis file (`--genesis`, or `.jeon-dev/genesis.json` when it exists and is
//! the node's chain), `--wait` does not take the node's word: it fetches the proof of
//! the transaction, verifies it against the genesis, and prints what it verified under
//! `"verified"`; the exit code follows the verified receipt. Without one it says on
//! stderr that the status was not independently verified.
//!
//! One feature, one place: each runtime feature's file owns its commands' flags, help
//! and the drafting of their `Call`s ([`DraftCall`]); this file lists the commands, one
//! line each, and holds what they share: the common flags, signing and submission.
//! Waiting and verifying are in `wait`, co-signing by a fee payer in `cosign`.

mod assets;
mod carrier;
mod cosign;
mod credit;
mod exchange;
mod fees;
mod goods;
mod governance;
mod identity;
mod links;
mod mandates;
mod meter;
mod nodes;
mod pay;
mod redemption;
mod rewards;
mod wait;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use jeon_runtime::{Address, Call, Height, Keypair, Nonce, SignedTx, TxBody};

use crate::amount::AmountArg;
use crate::client::{ApiArgs, Client, NodeStatus};
use crate::error::CliError;
use crate::output;
use jeon_node::api::types::{SimulateAnswer, SimulateStatus, SubmitRequest};

pub(crate) use wait::wait_for_tx;

/// Declares `jeon tx`'s subcommands from one line each, `Name(feature::NameArgs)`, in
/// the order `jeon tx --help` lists them (the help is the args struct's doc comment),
/// and [`run`], which hands each to its [`TxRun`].
macro_rules! tx_commands {
    ($($name:ident($args:ty),)*) => {
        /// `jeon tx ...`
        #[derive(Debug, Subcommand)]
        pub(crate) enum TxCommand {
            $($name($args),)*
        }

        /// Runs a `tx` command.
        pub(crate) fn run(command: TxCommand) -> Result<(), CliError> {
            match command {
                $(TxCommand::$name(args) => args.run(),)*
            }
        }
    };
}

tx_commands! {
    Transfer(assets::TransferArgs),
    CreateAsset(assets::CreateAssetArgs),
    Mint(assets::MintArgs),
    Burn(assets::BurnArgs),
    Pay(pay::PayArgs),
    AddCashbackRule(rewards::AddCashbackRuleArgs),
    AddStampRule(rewards::AddStampRuleArgs),
    RemoveRewardRule(rewards::RemoveRewardRuleArgs),
    SetStampReward(rewards::SetStampRewardArgs),
    RedeemStamps(rewards::RedeemStampsArgs),
    Redeem(redemption::RedeemArgs),
    SettleRedemption(redemption::SettleRedemptionArgs),
    RejectRedemption(redemption::RejectRedemptionArgs),
    ProposeExchange(exchange::ProposeExchangeArgs),
    AcceptExchange(exchange::AcceptExchangeArgs),
    RevokeExchange(exchange::RevokeExchangeArgs),
    Convert(exchange::ConvertArgs),
    GrantMandate(mandates::GrantMandateArgs),
    Charge(mandates::ChargeArgs),
    RevokeMandate(mandates::RevokeMandateArgs),
    PayInvoice(links::PayInvoiceArgs),
    OpenCreditLine(credit::OpenCreditLineArgs),
    DrawCredit(credit::DrawCreditArgs),
    Repay(credit::RepayArgs),
    MarkDefault(credit::MarkDefaultArgs),
    Cosign(cosign::CosignArgs),
    SponsorFees(fees::SponsorFeesArgs),
    Propose(governance::ProposeArgs),
    Vote(governance::VoteArgs),
    CreateProduct(goods::CreateProductArgs),
    Buy(goods::BuyArgs),
    TransferEntitlement(goods::TransferEntitlementArgs),
    AcceptEntitlement(goods::AcceptEntitlementArgs),
    RevokeEntitlement(goods::RevokeEntitlementArgs),
    Subscribe(goods::SubscribeArgs),
    Renew(goods::RenewArgs),
    OpenMeter(meter::OpenMeterArgs),
    MeterReceipt(meter::MeterReceiptArgs),
    ClaimMeter(meter::ClaimMeterArgs),
    CloseMeter(meter::CloseMeterArgs),
    Attest(identity::AttestArgs),
    RevokeAttestation(identity::RevokeAttestationArgs),
    RequireClaim(identity::RequireClaimArgs),
    RegisterNode(nodes::RegisterNodeArgs),
    UnregisterNode(nodes::UnregisterNodeArgs),
    OpenCarrierLine(carrier::OpenCarrierLineArgs),
    ChargeLine(carrier::ChargeLineArgs),
    SettleStatement(carrier::SettleStatementArgs),
    SuspendLine(carrier::SuspendLineArgs),
    ResumeLine(carrier::ResumeLineArgs),
    SetClaimPolicy(carrier::SetClaimPolicyArgs),
}

/// What running one `tx` command does.
pub(crate) trait TxRun {
    /// Runs the command to its exit code.
    fn run(self) -> Result<(), CliError>;
}

/// A command that drafts one call, signed and submitted the same way as every other.
pub(crate) trait DraftCall {
    /// Splits the command into its call and its common flags; checks what can be
    /// checked offline (exit 2).
    fn draft(self) -> Result<(Draft, TxArgs), CliError>;
}

/// A call whose assets may still need resolving by symbol (with the node).
pub(crate) type Draft = Box<dyn FnOnce(&Client) -> Result<Call, CliError>>;

/// The draft of a call that needs nothing from the node.
fn fixed(call: Call) -> Draft {
    Box::new(move |_| Ok(call))
}

impl<T: DraftCall> TxRun for T {
    /// Drafts, signs and submits (or with `--sign-only` prints) the transaction.
    fn run(self) -> Result<(), CliError> {
        let (draft, common) = self.draft()?;
        let key = load_key(&common.key)?;
        let client = Client::new(&common.api.api)?;
        let node = client.status()?;
        let trusted = wait::trusted_genesis(&client, &node, &common.wait)?;
        let tx = sign(&client, &key, draft, &common, &node)?;
        if common.sign_only {
            let hex = hex::encode(tx.encode());
            let hash = tx.hash();
            return output::emit_plain(&serde_json::json!({ "tx": hex, "hash": hash }));
        }
        let hash = submit_checked(&client, &tx, &common.wait)?;
        wait::finish(&client, trusted.as_ref(), hash, &common.wait)
    }
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
    /// The most fee to pay: raw units of the fee asset (an integer) or a decimal
    /// amount (`0.50`, `₩0.5`) [default: the node's suggestion from `GET /v1/fees`:
    /// twice the sender's current fee, within the base fee's ceiling].
    #[arg(long, value_name = "AMOUNT")]
    fee_limit: Option<AmountArg>,
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
    /// Sign but do not submit: print `{"tx": HEX}` to submit later, or for the named
    /// `--fee-payer` to co-sign and submit with `jeon tx cosign`.
    #[arg(long, conflicts_with_all = ["wait", "payer_key", "force"])]
    sign_only: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

/// Submitting, waiting for the outcome and checking it.
#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// Submit even if the dry run (`POST /v1/txs/simulate`) says the call would fail
    /// (the fee is then spent on a failed call).
    #[arg(long)]
    force: bool,
    /// Wait until the transaction is final (exit 0) or rejected (exit 1), and print
    /// its status.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits before giving up (exit 1).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout_secs: u64,
    /// The chain's genesis file. The chain id is checked against the node's before
    /// signing, and `--wait` verifies the node's proof of the transaction against it
    /// instead of trusting the node [default with `--wait`: `JEON_GENESIS`, else
    /// .jeon-dev/genesis.json if it exists and is the node's chain].
    #[arg(long, value_name = "FILE", env = "JEON_GENESIS")]
    genesis: Option<PathBuf>,
}

/// Dry-runs `tx` and submits it if it would succeed (or with `--force`); its hash.
/// A call bound to fail is not submitted: the simulation is printed and the command
/// exits 1 with the reason, and no fee is taken.
pub(crate) fn submit_checked(
    client: &Client,
    tx: &SignedTx,
    wait: &WaitArgs,
) -> Result<jeon_runtime::Hash, CliError> {
    if !wait.force {
        let body = SubmitRequest {
            tx: hex::encode(tx.encode()),
        };
        let sim: SimulateAnswer = client.post("/v1/txs/simulate", &body)?;
        if sim.status != SimulateStatus::Success {
            let (code, message) = sim
                .error
                .as_ref()
                .map_or(("unknown", "no reason given"), |e| {
                    (e.code.as_str(), e.message.as_str())
                });
            let value = serde_json::json!({ "submitted": false, "simulation": &sim });
            output::emit(&value, &output::Assets::fetch(client))?;
            return Err(CliError::Failed(format!(
                "not submitted: the dry run says the transaction would {}: {message} \
                 ({code}); no fee was taken. Fix it, or pass --force to submit anyway",
                if sim.status == SimulateStatus::Failed {
                    "fail"
                } else {
                    "be refused"
                }
            )));
        }
    }
    Ok(client.submit(tx)?)
}

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

/// Reads a key file, plaintext or an encrypted keystore (passphrase from
/// `JEON_KEY_PASSPHRASE_FILE`, `JEON_KEY_PASSPHRASE` or a prompt); exit 2 on any
/// problem; warnings go to stderr.
pub(crate) fn load_key(path: &Path) -> Result<Keypair, CliError> {
    use crate::keystore::{PassphraseSource, Plaintext};
    crate::keystore::load_key(path, &PassphraseSource::default(), Plaintext::Accept)
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
    let fee_limit = match &common.fee_limit {
        Some(limit) => client.fee_amount(limit)?,
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
