//! `jeon bench`: a load generator that measures finalized throughput and latency.
//!
//! Phases, each reported on stderr:
//! 1. derive `--accounts` bench keys from labels (`bench-0`, `bench-1`, ...), read
//!    their nonces and balances (so the bench can be rerun on the same chain);
//! 2. top them up from `--funder` in the fee asset (KRW in the presets) and wait until
//!    the funding is final;
//! 3. pre-sign every transaction (by default a transfer of 1 unit to another bench
//!    account) before the clock starts;
//! 4. submit in batches over `POST /v1/txs/batch` from several threads, each account's
//!    transactions from one thread, in nonce order, to one of the `--api` nodes
//!    (account i to node i mod N), as a wallet sends them; paced by `--rate`; `mempool_full` and `sender_queue_full`
//!    are retried, `future_txs_full` and `too_many_future_txs` (a gap left by an
//!    earlier nonce) for 5 s, other refusals are counted by code;
//! 5. watch finality by reading every new final block (`GET /v1/blocks/{h}`): a
//!    transaction's latency runs from the request that admitted it to the moment its
//!    block was seen.
//!
//! `--mode pay` sends `Pay` calls to a merchant instead of transfers: before phase 1,
//! the merchant (`--merchant-key`) makes sure two reward rules of its own are active on
//! its KRW payments (1 % cashback in `BENCHCB`, one `BENCHST` stamp per payment, both
//! uncapped), so every payment withholds tax and mints two rewards.
//!
//! `--mode charge` sends mandate `Charge` calls instead: the accounts form a ring in
//! which account `i` has granted an uncapped, never-expiring mandate on the fee asset to
//! account `i + 1` (mod M), and each account charges 1 unit on the mandate of the one
//! before it. Before phase 2 the bench lists each account's mandates and reuses a
//! suitable one (a rerun on the same chain grants nothing); between phases 2 and 3 it
//! grants the missing ones in batches and learns their ids from the final receipts'
//! `MandateGranted` events. Funding covers each account's two roles: the charges
//! taken from it as a user, the fees of the charges it signs as a spender, and the fee
//! of its grant.
//!
//! `--soak S` replaces phases 3 to 5 for long runs: `--rate` × S transactions are
//! planned (funding covers them all; `--txs` is ignored), but signers stay at most a
//! few batches ahead of the submitters, submission stops after S seconds, and the
//! tracker keeps only the pending transactions and latency histograms. Every
//! `--window-secs` it prints one line (submitted and finalized in the window,
//! its tx/s and p50/p99, the node's RSS, the size of `--data-dir` and its bytes per
//! finalized transaction so far); the final report covers the whole run.
//!
//! Output follows `--output`: `json` prints the report (and each soak window) as one
//! JSON line, the lines scripts and tests parse; `text`, the default as for every
//! command, prints the same figures as a short summary for people. Progress always
//! goes to stderr.
//!
//! The code follows the phases: `fund` (what each account needs, and topping it up),
//! `merchant` and `mandates` (the setup of `--mode pay` and `--mode charge`),
//! `presign` (every transaction, per mode), `submit` (pacing and HTTP batches),
//! `track` (finality and latency) and `report` (the figures and the JSON line);
//! `soak` and `window` run `--soak`.

pub(crate) mod fund;
mod mandates;
mod merchant;
pub(crate) mod meter;
pub(crate) mod presign;
mod report;
mod soak;
mod submit;
mod track;
mod window;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::Serialize;

use jeon_node::api::TXS_BATCH_MAX;
use jeon_node::mempool::{MEMPOOL_SENDER_TXS_MAX, NONCE_GAP_MAX};
use jeon_runtime::{Address, Amount, Call, Height, Keypair, Nonce, SignedTx, TxBody};

use crate::client::{ApiError, Client, NodeStatus, API_URL_DEFAULT};
use crate::error::{stdout, CliError};
use crate::output;

use fund::{fund, needs, FundPlan};
use mandates::{find_mandates, grant_mandates};
use merchant::set_up_merchant;
use meter::{open_sessions, units_charged, MeterWork};
use presign::{presign, SignPlan, Work};
use report::{report, soak_report};
use soak::{soak, SoakPlan};
use submit::submit_and_track;

/// The most transactions one run may pre-sign (about 400 bytes of memory each).
const BENCH_TXS_MAX: usize = 10_000_000;
/// The most bench accounts.
const BENCH_ACCOUNTS_MAX: usize = 1_000_000;
/// The most submitter threads.
const SUBMITTERS_MAX: usize = 64;
/// The most threads that pre-sign, or read accounts, at once.
const WORKERS_MAX: usize = 4;
/// The longest `--soak`: a week.
const SOAK_SECS_MAX: u64 = 7 * 24 * 3600;
/// Under `--soak`, batches are cut so that one is due at least this often: the
/// offered rate stays smooth at any `--rate`.
const SOAK_BATCH_INTERVAL_MS: u64 = 100;
/// Bench transfers expire this many blocks after the head.
const BENCH_EXPIRY_BLOCKS: Height = 10_000;
/// Funding transfers expire this many blocks after the head.
const FUND_EXPIRY_BLOCKS: Height = 1_000;

/// `jeon bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// A node's API URL; repeat (or separate with commas) to spread the load over nodes.
    #[arg(long = "api", value_name = "URL", env = "JEON_API", value_delimiter = ',',
          default_value = API_URL_DEFAULT)]
    apis: Vec<String>,
    /// How many transactions to submit (ignored with `--soak`, which submits
    /// `--rate` per second for its duration).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    txs: usize,
    /// How many bench accounts send them (keep txs/accounts under 4096, the node's
    /// per-sender queue). In `--mode charge` they also are the users charged.
    #[arg(long, value_name = "M", default_value_t = 1_000)]
    accounts: usize,
    /// Submission rate in transactions per second; 0 is as fast as possible (not
    /// with `--soak`, which needs an offered rate).
    #[arg(long, value_name = "R", default_value_t = 0)]
    rate: u64,
    /// Transactions per `POST /v1/txs/batch` (at most 10,000).
    #[arg(long, value_name = "B", default_value_t = 1_000)]
    batch: usize,
    /// The key file of the account that funds the bench accounts.
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".jeon-dev/keys/hanbit-bank.json"
    )]
    funder: PathBuf,
    /// Stop submitting after this many seconds (then wait for finality as usual).
    #[arg(long, value_name = "S", conflicts_with = "soak")]
    duration_secs: Option<u64>,
    /// A soak: submit at `--rate` for S seconds, signing on the fly (memory stays
    /// flat whatever S), and print one line per `--window-secs` window before
    /// the final report (whose tx/s and percentiles cover the whole run). `--rate` is
    /// required; `--txs` is ignored; funding covers rate × S transactions; batches
    /// are cut to at most rate/10 so one is sent every 100 ms.
    #[arg(long, value_name = "S")]
    soak: Option<u64>,
    /// `--soak`: the length of a reporting window in seconds.
    #[arg(long, value_name = "S", default_value_t = 30, requires = "soak")]
    window_secs: u64,
    /// `--soak` or `--mode meter`: the node's data directory on this machine (`jeon
    /// dev`'s is `.jeon-dev`). A soak reports its size (sum of file lengths) and bytes
    /// per finalized transaction each window (the whole directory over this run's
    /// transactions: meaningful on a fresh chain); `--mode meter` reports what it grew
    /// by during the claims, per unit charged. Without it they are null.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Concurrent submitter threads.
    #[arg(long, value_name = "N", default_value_t = 4)]
    submitters: usize,
    /// What each transaction does: `transfer`, `pay` (a merchant with two reward
    /// rules), `charge` (a mandate charge between bench accounts; the mandates are
    /// granted, or reused from a previous run, before the clock starts) or `meter`
    /// (the merchant claims 1,000 more units of a bench account's metered session;
    /// the sessions are opened before the clock starts).
    #[arg(long, value_enum, default_value_t = Mode::Transfer)]
    mode: Mode,
    /// `--mode pay`: the key file of the merchant paid (an issuer partner too: it sets
    /// up its two reward rules); `--mode meter`: of the merchant that claims [default:
    /// .jeon-dev/keys/dalbit-cafe.json for pay, .jeon-dev/keys/baeum-learning.json
    /// for meter].
    #[arg(long, value_name = "FILE")]
    merchant_key: Option<PathBuf>,
}

impl BenchArgs {
    /// The merchant's key file: `--merchant-key`, or the mode's dev merchant.
    fn merchant_key(&self) -> PathBuf {
        let dev = match self.mode {
            Mode::Meter => ".jeon-dev/keys/baeum-learning.json",
            _ => ".jeon-dev/keys/dalbit-cafe.json",
        };
        self.merchant_key.clone().unwrap_or_else(|| dev.into())
    }
}

/// What the bench transactions do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Mode {
    /// 1 unit of the fee asset to another bench account.
    Transfer,
    /// ₩1 (100 units of the fee asset) to the merchant, with two reward rules active.
    Pay,
    /// 1 unit of the fee asset charged by account `i + 1` on the mandate account `i`
    /// granted it.
    Charge,
    /// The merchant claims account `i`'s metered session's next cumulative receipt,
    /// 1,000 more units at 1 unit of the fee asset each.
    Meter,
}

/// Runs `jeon bench`.
pub(crate) fn run(args: BenchArgs) -> Result<(), CliError> {
    check_args(&args)?;
    let funder = crate::tx::load_key(&args.funder)?;
    let clients = args
        .apis
        .iter()
        .map(|a| Client::new(a))
        .collect::<Result<Vec<_>, _>>()?;
    let main = clients
        .first()
        .ok_or_else(|| CliError::BadInput("give at least one --api URL".into()))?;
    let status = main.status()?;
    eprintln!(
        "bench: {} transactions (mode {:?}) from {} accounts via {} node(s); chain {}, \
         height {}",
        planned_txs(&args),
        args.mode,
        args.accounts,
        clients.len(),
        status.chain_id,
        status.height
    );
    let keys: Vec<Keypair> = (0..args.accounts)
        .map(|i| Keypair::from_seed_label(&format!("bench-{i}")))
        .collect();
    let addrs: Vec<Address> = keys.iter().map(Keypair::address).collect();
    let (nonces, work) = prepare(&args, main, &status, &funder, &keys, &addrs)?;
    let head = main.status()?.height;
    let sign = SignPlan {
        status: &status,
        keys: &keys,
        addrs: &addrs,
        nonces: &nonces,
        expiry: head.saturating_add(BENCH_EXPIRY_BLOCKS),
        work: &work,
    };
    if let Some(secs) = args.soak {
        let plan = SoakPlan {
            sign,
            total: planned_txs(&args),
            batch: soak_batch(args.batch, args.rate),
            rate: args.rate,
            secs,
            submitters: args.submitters,
            window: Duration::from_secs(args.window_secs),
            data_dir: args.data_dir.as_deref(),
        };
        let outcome = soak(&plan, &clients, head)?;
        let mut report = soak_report(outcome, rss_peak(&clients));
        report.mode = args.mode;
        return print_report(&report);
    }
    let presign_start = Instant::now();
    let presigned = presign(&sign, args.txs);
    let presign_s = presign_start.elapsed().as_secs_f64();
    eprintln!(
        "bench: pre-signed {} transactions in {presign_s:.2} s",
        args.txs
    );
    let dir_before = args.data_dir.as_deref().and_then(window::dir_bytes);
    let outcome = submit_and_track(&args, &clients, &presigned, head)?;
    let mut report = report(outcome, presign_s, rss_peak(&clients));
    report.mode = args.mode;
    if let Work::Meter(w) = &work {
        let units = units_charged(main, &w.sessions)?;
        let dir_after = args.data_dir.as_deref().and_then(window::dir_bytes);
        let grown = dir_after.zip(dir_before).map(|(a, b)| a.saturating_sub(b));
        report.add_meter(units, grown);
    }
    print_report(&report)
}

/// The largest peak RSS the nodes report.
fn rss_peak(clients: &[Client]) -> Option<u64> {
    clients
        .iter()
        .filter_map(|c| c.status().ok().and_then(|s| s.rss_peak_bytes))
        .max()
}

/// Prints the report: one JSON line with `--output json` (what scripts parse), a
/// summary for people otherwise.
fn print_report(report: &report::Report) -> Result<(), CliError> {
    if output::format() == output::Format::Text {
        return stdout(&report.to_text());
    }
    let json = serde_json::to_string(report)
        .map_err(|e| CliError::Failed(format!("cannot print the report: {e}")))?;
    stdout(&format!("{json}\n"))
}

/// How many transactions the run plans (and funds): `--txs`, or `--rate` × `--soak`.
fn planned_txs(args: &BenchArgs) -> usize {
    match args.soak {
        Some(secs) => usize::try_from(args.rate.saturating_mul(secs)).unwrap_or(usize::MAX),
        None => args.txs,
    }
}

/// A soak's batch: `--batch`, cut so that one is due every
/// [`SOAK_BATCH_INTERVAL_MS`] at `rate`.
fn soak_batch(batch: usize, rate: u64) -> usize {
    let per_interval = rate.saturating_mul(SOAK_BATCH_INTERVAL_MS) / 1000;
    batch.min(usize::try_from(per_interval).unwrap_or(usize::MAX).max(1))
}

/// The untimed setup: the merchant's rules (`--mode pay`), the accounts' nonces and
/// balances, existing mandates (`--mode charge`), funding, then the missing grants.
/// Returns each account's next nonce and what the bench transactions do.
fn prepare(
    args: &BenchArgs,
    client: &Client,
    status: &NodeStatus,
    funder: &Keypair,
    keys: &[Keypair],
    addrs: &[Address],
) -> Result<(Vec<Nonce>, Work), CliError> {
    let merchant = match args.mode {
        Mode::Pay | Mode::Meter => {
            let key = crate::tx::load_key(&args.merchant_key())?;
            if args.mode == Mode::Pay {
                set_up_merchant(client, &key, status)?;
            }
            Some(key)
        }
        Mode::Transfer | Mode::Charge => None,
    };
    let shares = shares(planned_txs(args), args.accounts);
    let accounts = read_each(client, addrs, Client::account)?;
    let found = match args.mode {
        Mode::Charge => find_mandates(client, status, addrs, &shares)?,
        Mode::Transfer | Mode::Pay | Mode::Meter => Vec::new(),
    };
    let grants: Vec<bool> = found.iter().map(Option::is_none).collect();
    let plan = FundPlan {
        funder,
        status,
        addrs,
        accounts: &accounts,
        needs: &needs(args.mode, &shares, &grants, fee_per_tx(status)),
    };
    fund(client, &plan, args.batch)?;
    let mut nonces: Vec<Nonce> = accounts
        .iter()
        .map(|a| a.as_ref().map_or(0, |a| a.nonce))
        .collect();
    let work = match (args.mode, merchant) {
        (Mode::Charge, _) => Work::Charge {
            mandates: grant_mandates(client, status, keys, found, &mut nonces, args.batch)?,
        },
        (Mode::Meter, Some(merchant)) => {
            let to = merchant.address();
            let sessions =
                open_sessions(client, status, keys, to, &shares, &mut nonces, args.batch)?;
            let nonce = client.account(&to)?.map_or(0, |a| a.nonce);
            Work::Meter(Box::new(MeterWork {
                merchant,
                nonce,
                sessions,
            }))
        }
        (_, Some(merchant)) => Work::Pay {
            merchant: merchant.address(),
        },
        (_, None) => Work::Transfer,
    };
    Ok((nonces, work))
}

/// The fee-asset units the bench reckons each transaction's fee at: the one place that
/// reads the fee schedule (the fee limit signed, and the funding of fees). The ceiling
/// of the base fee, so that a bench that fills blocks and raises the base fee still
/// has every transaction valid and funded.
pub(crate) fn fee_per_tx(status: &NodeStatus) -> Amount {
    status.fee.base_fee_max.max(status.fee.base_fee)
}

/// Refuses arguments the bench cannot run with (exit 2); warns about poor ones.
fn check_args(args: &BenchArgs) -> Result<(), CliError> {
    let bad = |m: String| Err(CliError::BadInput(m));
    if args.mode == Mode::Meter {
        if args.soak.is_some() {
            return bad("--mode meter does not run as a --soak".into());
        }
        // Every claim is the merchant's: all of them must fit its nonce window.
        let max = MEMPOOL_SENDER_TXS_MAX.min(NONCE_GAP_MAX as usize);
        if args.txs > max {
            return bad(format!(
                "--mode meter sends at most {max} claims (--txs) per run: they all come from \
                 the merchant, whose transactions the node holds at most {max} ahead"
            ));
        }
    }
    if let Some(secs) = args.soak {
        if args.rate == 0 {
            return bad("--soak needs --rate R > 0: a soak offers a fixed rate (tx/s)".into());
        }
        if secs == 0 || secs > SOAK_SECS_MAX {
            return bad(format!("--soak must be 1 to {SOAK_SECS_MAX} seconds"));
        }
        if args.window_secs == 0 || args.window_secs > secs {
            return bad(format!(
                "--window-secs must be 1 to the --soak duration ({secs})"
            ));
        }
    } else if args.txs == 0 || args.txs > BENCH_TXS_MAX {
        return bad(format!("--txs must be 1 to {BENCH_TXS_MAX}"));
    }
    if args.accounts < 2 || args.accounts > BENCH_ACCOUNTS_MAX {
        return bad(format!("--accounts must be 2 to {BENCH_ACCOUNTS_MAX}"));
    }
    if args.batch == 0 || args.batch > TXS_BATCH_MAX {
        return bad(format!("--batch must be 1 to {TXS_BATCH_MAX}"));
    }
    if args.submitters == 0 || args.submitters > SUBMITTERS_MAX {
        return bad(format!("--submitters must be 1 to {SUBMITTERS_MAX}"));
    }
    // A soak's senders are only as far ahead as its transactions in flight; the
    // merchant sends every claim of `--mode meter`, in order, retried while its queue
    // is full.
    let per_sender = match args.mode {
        Mode::Meter => 0,
        _ => args.txs.div_ceil(args.accounts),
    };
    if args.soak.is_none() && per_sender as u64 > NONCE_GAP_MAX {
        eprintln!(
            "warning: {per_sender} transfers per account exceeds the node's nonce window of \
             {NONCE_GAP_MAX}; some may be refused (nonce_too_far_ahead). Use more --accounts."
        );
    }
    Ok(())
}

/// How many transfers each account sends: round-robin, so the first `txs % accounts`
/// send one more.
fn shares(txs: usize, accounts: usize) -> Vec<usize> {
    (0..accounts)
        .map(|i| txs / accounts + usize::from(i < txs % accounts))
        .collect()
}

/// Reads something of each address with a few threads, in order.
fn read_each<T: Send>(
    client: &Client,
    addrs: &[Address],
    read: impl Fn(&Client, &Address) -> Result<T, ApiError> + Sync,
) -> Result<Vec<T>, CliError> {
    let chunk = addrs.len().div_ceil(WORKERS_MAX).max(1);
    let read = &read;
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = addrs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|a| read(client, a))
                        .collect::<Result<Vec<_>, ApiError>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(thread_died())))
            .collect::<Vec<_>>()
    });
    let mut out = Vec::with_capacity(addrs.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The error of a reader thread that panicked.
fn thread_died() -> ApiError {
    ApiError::Transport {
        url: String::new(),
        reason: "a worker thread panicked".into(),
    }
}

/// A signed transaction from `key`.
pub(crate) fn sign(
    status: &NodeStatus,
    key: &Keypair,
    nonce: Nonce,
    expiry: Height,
    call: Call,
) -> SignedTx {
    TxBody {
        chain_id: status.chain_id,
        sender: key.address(),
        nonce,
        fee_limit: fee_per_tx(status),
        expiry,
        call,
        fee_payer: None,
    }
    .sign(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::{AssetId, Hash};

    /// A node status whose base fee, and its ceiling, is `fee` in asset 0.
    pub(super) fn status_with_fee(fee: Amount) -> NodeStatus {
        NodeStatus {
            chain_id: Hash([1; 32]),
            height: 5,
            block_hash: Hash([2; 32]),
            app_hash: Hash([3; 32]),
            time_ms: 0,
            mempool_txs: 0,
            validators: 1,
            role: jeon_node::api::types::NodeRole::Validator,
            signing: serde_json::Value::Null,
            fee: jeon_node::api::types::FeeInfo {
                asset: AssetId(0),
                base_fee: fee,
                base_fee_max: fee,
            },
            rss_bytes: None,
            rss_peak_bytes: None,
            halted: None,
            disk_full: false,
            disk_free_bytes: 0,
        }
    }

    /// The bench keys `bench-0` .. `bench-{n-1}` and their addresses.
    pub(super) fn bench_keys(n: usize) -> (Vec<Keypair>, Vec<Address>) {
        let keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_seed_label(&format!("bench-{i}")))
            .collect();
        let addrs = keys.iter().map(Keypair::address).collect();
        (keys, addrs)
    }

    #[test]
    fn a_soak_cuts_batches_to_one_every_100_ms() {
        assert_eq!(soak_batch(1_000, 8_000), 800);
        assert_eq!(soak_batch(1_000, 300), 30);
        assert_eq!(soak_batch(1_000, 5), 1);
        assert_eq!(soak_batch(100, 1_000_000), 100);
    }

    #[test]
    fn transfers_are_shared_round_robin() {
        assert_eq!(shares(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(shares(100_000, 1_000).iter().sum::<usize>(), 100_000);
    }
}
