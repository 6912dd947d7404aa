//! `jeon tx`: build, sign and submit one transaction, and optionally wait for it.
//!
//! Everything the user typed is checked before the first request (addresses, asset
//! names, the key file: exit 2). Then the node supplies what was not given: the chain
//! id, the flat fee, the head height (for the expiry) and the sender's nonce. The
//! command prints `{"hash": ...}`; with `--wait` it polls the transaction until it is
//! final (exit 0) or rejected (exit 1) and prints its status instead.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};

use jeon_node::api::TxStatus;
use jeon_runtime::{Address, Amount, AssetKind, Call, Hash, Height, Keypair, Nonce, TxBody};

use crate::client::{ApiArgs, AssetRef, Client};
use crate::error::{stdout, CliError};
use crate::keys::key_file_error;

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
}

/// The flags every `tx` command takes.
#[derive(Debug, Args)]
pub(crate) struct TxArgs {
    /// The sender's key file; the sender signs and pays the fee.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    api: ApiArgs,
    /// The most fee to pay, in the fee asset's smallest unit [default: the node's flat fee].
    #[arg(long, value_name = "N")]
    fee_limit: Option<Amount>,
    /// The transaction expires this many blocks after the current head.
    #[arg(long, value_name = "N", default_value_t = 100)]
    expiry_blocks: Height,
    /// The sender's nonce [default: the account's next nonce, from the node].
    #[arg(long, value_name = "N")]
    nonce: Option<Nonce>,
    /// Wait until the transaction is final (exit 0) or rejected (exit 1), and print
    /// its status.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits before giving up (exit 1).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout_secs: u64,
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

/// A call whose asset may still need resolving by symbol.
enum Draft {
    /// To, asset, amount.
    Transfer(Address, AssetRef, Amount),
    /// Symbol (valid, upper case), decimals, kind.
    CreateAsset(String, u8, AssetKind),
    /// Asset, to, amount.
    Mint(AssetRef, Address, Amount),
    /// Asset, amount.
    Burn(AssetRef, Amount),
}

/// Runs a `tx` command.
pub(crate) fn run(command: TxCommand) -> Result<(), CliError> {
    let (draft, common) = match command {
        TxCommand::Transfer {
            to,
            asset,
            amount,
            common,
        } => (Draft::Transfer(to, asset, amount), common),
        TxCommand::CreateAsset {
            symbol,
            decimals,
            kind,
            common,
        } => {
            let symbol = symbol.to_ascii_uppercase();
            if !jeon_runtime::model::symbol_is_valid(&symbol) {
                return Err(CliError::BadInput(format!(
                    "invalid asset symbol {symbol:?}: use 1 to 12 of A-Z, 0-9"
                )));
            }
            (Draft::CreateAsset(symbol, decimals, kind.into()), common)
        }
        TxCommand::Mint {
            asset,
            to,
            amount,
            common,
        } => (Draft::Mint(asset, to, amount), common),
        TxCommand::Burn {
            asset,
            amount,
            common,
        } => (Draft::Burn(asset, amount), common),
    };
    let key = load_key(&common.key)?;
    let client = Client::new(&common.api.api)?;
    let hash = submit(&client, &key, draft, &common)?;
    if !common.wait {
        return stdout(&format!("{}\n", serde_json::json!({ "hash": hash })));
    }
    let status = wait_for_tx(
        &client,
        &hash,
        Duration::from_secs(common.timeout_secs),
        true,
    )?;
    let json = serde_json::to_string(&status)
        .map_err(|e| CliError::Failed(format!("cannot print the status: {e}")))?;
    stdout(&format!("{json}\n"))?;
    match status.status.as_str() {
        "final" => Ok(()),
        _ => Err(CliError::Failed(format!(
            "transaction {hash} was rejected: {}",
            status.reason.as_deref().unwrap_or("no reason given")
        ))),
    }
}

/// Reads a key file (exit 2 on any problem); warnings go to stderr.
pub(crate) fn load_key(path: &Path) -> Result<Keypair, CliError> {
    let loaded = jeon_genesis::keyfile::read(path).map_err(key_file_error)?;
    if let Some(w) = &loaded.warning {
        eprintln!("warning: {w}");
    }
    Ok(loaded.keypair)
}

/// Fills in what the node knows, signs and submits; the hash the node admitted.
fn submit(client: &Client, key: &Keypair, draft: Draft, common: &TxArgs) -> Result<Hash, CliError> {
    let status = client.status()?;
    let call = match draft {
        Draft::Transfer(to, asset, amount) => Call::Transfer {
            to,
            asset: client.resolve_asset(&asset)?,
            amount,
        },
        Draft::CreateAsset(symbol, decimals, kind) => Call::CreateAsset {
            symbol,
            decimals,
            kind,
        },
        Draft::Mint(asset, to, amount) => Call::Mint {
            asset: client.resolve_asset(&asset)?,
            to,
            amount,
        },
        Draft::Burn(asset, amount) => Call::Burn {
            asset: client.resolve_asset(&asset)?,
            amount,
        },
    };
    let sender = key.address();
    let nonce = match common.nonce {
        Some(n) => n,
        None => client.account(&sender)?.map_or(0, |a| a.nonce),
    };
    let expiry = status
        .height
        .checked_add(common.expiry_blocks)
        .ok_or_else(|| CliError::BadInput("--expiry-blocks is too large".into()))?;
    let body = TxBody {
        chain_id: status.chain_id,
        sender,
        nonce,
        fee_limit: common.fee_limit.unwrap_or(status.fee.flat),
        expiry,
        call,
    };
    Ok(client.submit(&body.sign(key))?)
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
