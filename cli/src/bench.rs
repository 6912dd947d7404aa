//! `jeon bench`: a load generator that measures finalized throughput and latency.
//!
//! Phases, each reported on stderr:
//! 1. derive `--accounts` bench keys from labels (`bench-0`, `bench-1`, ...), read
//!    their nonces and balances (so the bench can be rerun on the same chain);
//! 2. top them up from `--funder` in the fee asset (KRW in the presets) and wait until
//!    the funding is final;
//! 3. pre-sign every transaction (by default a transfer of 1 unit to another bench
//!    account) before the clock starts;
//! 4. submit in batches over `POST /v1/txs/batch` from several threads, round-robin over
//!    the `--api` nodes, paced by `--rate`; `mempool_full` and `sender_queue_full`
//!    are retried, other refusals are counted by code;
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
//! The result is one JSON line on stdout, with the `mode`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use jeon_node::api::TXS_BATCH_MAX;
use jeon_node::mempool::{MEMPOOL_SENDER_TXS_MAX, NONCE_GAP_MAX};
use jeon_runtime::economy::RewardKind;
use jeon_runtime::{
    Address, Amount, AssetId, AssetKind, Call, Event, Hash, Height, Keypair, Nonce, Receipt,
    SignedTx, TxBody,
};

use crate::client::{AccountView, ApiError, Client, NodeStatus, API_URL_DEFAULT};
use crate::error::{stdout, CliError};
use crate::tx::wait_for_tx;

/// The most transactions one run may pre-sign (about 400 bytes of memory each).
const BENCH_TXS_MAX: usize = 10_000_000;
/// The most bench accounts.
const BENCH_ACCOUNTS_MAX: usize = 1_000_000;
/// The most submitter threads.
const SUBMITTERS_MAX: usize = 64;
/// The most threads that pre-sign, or read accounts, at once.
const WORKERS_MAX: usize = 4;
/// Units moved by each bench transfer.
const TRANSFER_AMOUNT: Amount = 1;
/// Units paid by each bench payment: ₩1, large enough that 10 % tax and 1 % cashback
/// are not rounded away.
const PAY_AMOUNT: Amount = 100;
/// The merchant's bench cashback rate: 1 %.
const PAY_CASHBACK_BPS: u16 = 100;
/// The symbols of the merchant's bench reward credits.
const PAY_REWARD_SYMBOLS: [&str; 2] = ["BENCHCB", "BENCHST"];
/// Units charged by each bench charge.
const CHARGE_AMOUNT: Amount = 1;
/// Bench mandates are uncapped, so one mandate serves every rerun.
const MANDATE_LIMIT_PER_PERIOD: Amount = Amount::MAX;
/// Bench mandates have one period that never rolls over.
const MANDATE_PERIOD_MS: u64 = u64::MAX;
/// Bench mandates never expire.
const MANDATE_EXPIRES_AT: Height = Height::MAX;
/// A mandate from a previous run is reused only if it stays valid this many blocks past
/// the head: well beyond the expiry of this run's charges.
const MANDATE_VALID_AHEAD_BLOCKS: Height = 10 * BENCH_EXPIRY_BLOCKS;
/// How long to wait for each grant to be final (they are all submitted first).
const GRANT_WAIT_SECS: u64 = 120;
/// How long to wait for each of the merchant's setup transactions.
const SETUP_WAIT_SECS: u64 = 60;
/// Bench transfers expire this many blocks after the head.
const BENCH_EXPIRY_BLOCKS: Height = 10_000;
/// Funding transfers expire this many blocks after the head.
const FUND_EXPIRY_BLOCKS: Height = 1_000;
/// How long to wait for one chunk of funding to be final.
const FUND_WAIT_SECS: u64 = 120;
/// The bench stops when no transaction became final for this long.
const FINALITY_STALL_SECS: u64 = 60;
/// How often the finality tracker asks for the head.
const TRACK_POLL_MS: u64 = 10;
/// How long a submitter sleeps before retrying a batch the node was too busy for.
const RETRY_SLEEP_MS: u64 = 50;
/// How often progress is reported on stderr.
const PROGRESS_SECS: u64 = 2;
/// Refusals that mean "not now": the transaction is sent again.
const RETRYABLE_CODES: [&str; 2] = ["mempool_full", "sender_queue_full"];

/// `jeon bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// A node's API URL; repeat (or separate with commas) to spread the load over nodes.
    #[arg(long = "api", value_name = "URL", env = "JEON_API", value_delimiter = ',',
          default_value = API_URL_DEFAULT)]
    apis: Vec<String>,
    /// How many transactions to submit.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    txs: usize,
    /// How many bench accounts send them (keep txs/accounts under 4096, the node's
    /// per-sender queue). In `--mode charge` they also are the users charged.
    #[arg(long, value_name = "M", default_value_t = 1_000)]
    accounts: usize,
    /// Submission rate in transactions per second; 0 is as fast as possible.
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
    #[arg(long, value_name = "S")]
    duration_secs: Option<u64>,
    /// Concurrent submitter threads.
    #[arg(long, value_name = "N", default_value_t = 4)]
    submitters: usize,
    /// What each transaction does: `transfer`, `pay` (a merchant with two reward
    /// rules) or `charge` (a mandate charge between bench accounts; the mandates are
    /// granted, or reused from a previous run, before the clock starts).
    #[arg(long, value_enum, default_value_t = Mode::Transfer)]
    mode: Mode,
    /// `--mode pay`: the key file of the merchant paid (an issuer partner too: it sets
    /// up its two reward rules).
    #[arg(
        long,
        value_name = "FILE",
        default_value = ".jeon-dev/keys/dalbit-cafe.json"
    )]
    merchant_key: PathBuf,
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
}

/// What the bench prints.
#[derive(Debug, Serialize)]
struct Report {
    mode: Mode,
    submitted: usize,
    accepted: usize,
    refused: usize,
    refused_by_code: BTreeMap<String, usize>,
    finalized: usize,
    duration_s: f64,
    finalized_tps: f64,
    latency_ms_p50: Option<f64>,
    latency_ms_p99: Option<f64>,
    latency_ms_max: Option<f64>,
    presign_s: f64,
    node_rss_peak_bytes: Option<u64>,
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
        args.txs,
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
    let presign_start = Instant::now();
    let plan = SignPlan {
        status: &status,
        keys: &keys,
        addrs: &addrs,
        nonces: &nonces,
        expiry: head.saturating_add(BENCH_EXPIRY_BLOCKS),
        work: &work,
    };
    let presigned = presign(&plan, args.txs);
    let presign_s = presign_start.elapsed().as_secs_f64();
    eprintln!(
        "bench: pre-signed {} transactions in {presign_s:.2} s",
        args.txs
    );
    let outcome = submit_and_track(&args, &clients, &presigned, head)?;
    let rss = clients
        .iter()
        .filter_map(|c| c.status().ok().and_then(|s| s.rss_peak_bytes))
        .max();
    let mut report = report(outcome, presign_s, rss);
    report.mode = args.mode;
    let json = serde_json::to_string(&report)
        .map_err(|e| CliError::Failed(format!("cannot print the report: {e}")))?;
    stdout(&format!("{json}\n"))
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
        Mode::Pay => {
            let key = crate::tx::load_key(&args.merchant_key)?;
            set_up_merchant(client, &key, status)?;
            Some(key.address())
        }
        Mode::Transfer | Mode::Charge => None,
    };
    let shares = shares(args.txs, args.accounts);
    let accounts = read_each(client, addrs, Client::account)?;
    let found = match args.mode {
        Mode::Charge => find_mandates(client, status, addrs, &shares)?,
        Mode::Transfer | Mode::Pay => Vec::new(),
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
        (_, Some(merchant)) => Work::Pay { merchant },
        (_, None) => Work::Transfer,
    };
    Ok((nonces, work))
}

/// The fee-asset units the bench reckons each transaction's fee at: the one place that
/// reads the fee schedule (the fee limit signed, and the funding of fees). The ceiling
/// of the base fee, so that a bench that fills blocks and raises the base fee still
/// has every transaction valid and funded.
fn fee_per_tx(status: &NodeStatus) -> Amount {
    status.fee.base_fee_max.max(status.fee.base_fee)
}

/// Refuses arguments the bench cannot run with (exit 2); warns about poor ones.
fn check_args(args: &BenchArgs) -> Result<(), CliError> {
    let bad = |m: String| Err(CliError::BadInput(m));
    if args.txs == 0 || args.txs > BENCH_TXS_MAX {
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
    let per_sender = args.txs.div_ceil(args.accounts);
    if per_sender as u64 > NONCE_GAP_MAX {
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

/// `--mode charge`: the spender of the mandate `user` grants, the next account in
/// the ring.
fn spender_of(user: usize, accounts: usize) -> usize {
    (user + 1) % accounts
}

/// `--mode charge`: the user whose mandate `spender` charges, the previous account in
/// the ring.
fn user_of(spender: usize, accounts: usize) -> usize {
    (spender + accounts - 1) % accounts
}

/// The fee-asset units each bench account needs for its role in `mode`, given each
/// account's share of the transactions, which accounts grant a mandate first
/// (`--mode charge`; empty otherwise) and the fee per transaction.
fn needs(mode: Mode, shares: &[usize], grants: &[bool], fee: Amount) -> Vec<Amount> {
    let n = shares.len();
    let times = |count: usize, units: Amount| (count as u64).saturating_mul(units);
    (0..n)
        .map(|i| match mode {
            Mode::Transfer => times(shares[i], TRANSFER_AMOUNT.saturating_add(fee)),
            Mode::Pay => times(shares[i], PAY_AMOUNT.saturating_add(fee)),
            // Charged as a user by the next account, fees of its own charges as a
            // spender, and the fee of its grant.
            Mode::Charge => times(shares[spender_of(i, n)], CHARGE_AMOUNT)
                .saturating_add(times(shares[i], fee))
                .saturating_add(if grants.get(i) == Some(&true) { fee } else { 0 }),
        })
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

/// What funding needs.
struct FundPlan<'a> {
    funder: &'a Keypair,
    status: &'a NodeStatus,
    addrs: &'a [Address],
    accounts: &'a [Option<AccountView>],
    /// Fee-asset units each account needs (see [`needs`]), fees included.
    needs: &'a [Amount],
}

/// Tops up each bench account to what it needs of the fee asset, from the funder, and
/// waits until the funding is final.
fn fund(client: &Client, plan: &FundPlan<'_>, batch: usize) -> Result<(), CliError> {
    let (funder, status) = (plan.funder, plan.status);
    let asset = status.fee.asset;
    let mut needs = Vec::new();
    for ((addr, account), &need) in plan.addrs.iter().zip(plan.accounts).zip(plan.needs) {
        let have = account.as_ref().map_or(0, |a| a.balance(asset));
        if need > have {
            needs.push((*addr, need - have));
        }
    }
    if needs.is_empty() {
        eprintln!("bench: all accounts already hold enough of asset {asset}");
        return Ok(());
    }
    let mut nonce = client.account(&funder.address())?.map_or(0, |a| a.nonce);
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    // The funder's transfers queue behind each other in the node: stay within its
    // per-sender bounds, and wait for each chunk before sending the next.
    let chunk_max = batch
        .min(MEMPOOL_SENDER_TXS_MAX)
        .min(NONCE_GAP_MAX as usize);
    let mut funded = 0;
    for chunk in needs.chunks(chunk_max) {
        let mut txs = Vec::with_capacity(chunk.len());
        for (to, amount) in chunk {
            let call = Call::Transfer {
                to: *to,
                asset,
                amount: *amount,
            };
            txs.push(sign(status, funder, nonce, expiry, call));
            nonce += 1;
        }
        let hexes: Vec<String> = txs.iter().map(|t| hex::encode(t.encode())).collect();
        let refs: Vec<&str> = hexes.iter().map(String::as_str).collect();
        for result in submit_batch(client, &refs)? {
            if let Err(e) = result {
                let msg = format!("a funding transfer was refused: {} ({})", e.message, e.code);
                return Err(CliError::Failed(msg));
            }
        }
        let last = txs.last().map(SignedTx::hash).unwrap_or_default();
        let done = wait_for_tx(client, &last, Duration::from_secs(FUND_WAIT_SECS), false)?;
        if done.status != "final" {
            let reason = done.reason.unwrap_or_default();
            return Err(CliError::Failed(format!("funding failed: {reason}")));
        }
        funded += chunk.len();
        eprintln!("bench: funded {funded}/{} accounts", needs.len());
    }
    Ok(())
}

/// A signed transaction from `key`.
fn sign(status: &NodeStatus, key: &Keypair, nonce: Nonce, expiry: Height, call: Call) -> SignedTx {
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

/// What pre-signing needs.
struct SignPlan<'a> {
    status: &'a NodeStatus,
    keys: &'a [Keypair],
    addrs: &'a [Address],
    /// Each account's next nonce before the bench.
    nonces: &'a [Nonce],
    expiry: Height,
    /// What each transaction does.
    work: &'a Work,
}

/// What the bench transactions do, with what the mode's setup learned.
#[derive(Debug)]
enum Work {
    /// Transfers to pseudo-random other bench accounts.
    Transfer,
    /// Payments to one merchant.
    Pay {
        /// The merchant every transaction pays.
        merchant: Address,
    },
    /// Mandate charges around the ring.
    Charge {
        /// By user: the id of the mandate account `i` granted to account `i + 1`.
        mandates: Vec<u64>,
    },
}

/// The transactions, ready to send: hex encodings and hashes, in submission order.
struct Presigned {
    hexes: Vec<String>,
    hashes: Vec<Hash>,
}

/// A well-mixed 64-bit hash of `x` (SplitMix64): deterministic recipients that
/// threads can compute independently.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The `j`-th transaction: sender `j % M` (round-robin, its nonces consecutive); a
/// transfer goes to a pseudo-random other account, a charge is on the mandate of the
/// account before the sender in the ring.
fn bench_tx(plan: &SignPlan<'_>, j: usize) -> SignedTx {
    let m = plan.keys.len();
    let sender = j % m;
    let nonce = plan.nonces[sender] + (j / m) as u64;
    let asset = plan.status.fee.asset;
    let call = match plan.work {
        Work::Transfer => {
            let offset = 1 + (mix(j as u64) % (m as u64 - 1)) as usize;
            Call::Transfer {
                to: plan.addrs[(sender + offset) % m],
                asset,
                amount: TRANSFER_AMOUNT,
            }
        }
        Work::Pay { merchant } => Call::Pay {
            merchant: *merchant,
            asset,
            amount: PAY_AMOUNT,
            reference: String::new(),
        },
        Work::Charge { mandates } => Call::Charge {
            mandate_id: mandates[user_of(sender, m)],
            amount: CHARGE_AMOUNT,
            reference: String::new(),
        },
    };
    sign(plan.status, &plan.keys[sender], nonce, plan.expiry, call)
}

/// Signs `n` bench transactions on a few threads.
fn presign(plan: &SignPlan<'_>, n: usize) -> Presigned {
    let workers = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, WORKERS_MAX);
    let chunk = n.div_ceil(workers).max(1);
    let parts: Vec<Vec<(String, Hash)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                s.spawn(move || {
                    (start..(start + chunk).min(n))
                        .map(|j| {
                            let tx = bench_tx(plan, j);
                            let bytes = tx.encode();
                            (hex::encode(&bytes), tx.hash())
                        })
                        .collect()
                })
            })
            .collect();
        // Signing cannot fail; a panicked worker would leave its range out, which the
        // report would show as fewer submissions.
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut out = Presigned {
        hexes: Vec::with_capacity(n),
        hashes: Vec::with_capacity(n),
    };
    for (hex, hash) in parts.into_iter().flatten() {
        out.hexes.push(hex);
        out.hashes.push(hash);
    }
    out
}

/// A reward rule as `GET /v1/rules` lists it (the fields the bench reads).
#[derive(Deserialize)]
struct RuleView {
    issuer: Address,
    pay_asset: AssetId,
}

/// The answer of `GET /v1/rules?merchant=`.
#[derive(Deserialize)]
struct RulesAnswer {
    rules: Vec<RuleView>,
}

/// Makes sure the merchant has two reward rules of its own on payments in the fee
/// asset: creates its two bench credits and adds the missing rules, each waited for.
fn set_up_merchant(client: &Client, key: &Keypair, status: &NodeStatus) -> Result<(), CliError> {
    let me = key.address();
    let pay_asset = status.fee.asset;
    let answer: RulesAnswer = client.get(&format!("/v1/rules?merchant={me}"))?;
    let active = answer
        .rules
        .iter()
        .filter(|r| r.issuer == me && r.pay_asset == pay_asset)
        .count();
    if active >= 2 {
        eprintln!("bench: the merchant {me} already has {active} reward rules");
        return Ok(());
    }
    let mut nonce = client.account(&me)?.map_or(0, |a| a.nonce);
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    let mut send = |call: Call| -> Result<(), CliError> {
        let tx = sign(status, key, nonce, expiry, call);
        nonce += 1;
        let hash = client.submit(&tx)?;
        let done = wait_for_tx(client, &hash, Duration::from_secs(SETUP_WAIT_SECS), false)?;
        if done.status != "final" {
            let reason = done.reason.unwrap_or_default();
            return Err(CliError::Failed(format!("merchant setup failed: {reason}")));
        }
        Ok(())
    };
    let mut rewards = Vec::new();
    for symbol in PAY_REWARD_SYMBOLS {
        let asset = match client.resolve_asset(&crate::client::AssetRef::Symbol(symbol.into())) {
            Ok(id) => id,
            Err(e) if e.code() == Some("unknown_asset") => {
                send(Call::CreateAsset {
                    symbol: symbol.into(),
                    decimals: 0,
                    kind: AssetKind::Credit,
                    supply_max: None,
                })?;
                client.resolve_asset(&crate::client::AssetRef::Symbol(symbol.into()))?
            }
            Err(e) => return Err(e.into()),
        };
        rewards.push(asset);
    }
    let kinds = [
        RewardKind::Cashback {
            rate_bps: PAY_CASHBACK_BPS,
            asset: rewards[0],
        },
        RewardKind::Stamps {
            per_payment: 1,
            asset: rewards[1],
        },
    ];
    for kind in kinds.into_iter().skip(active) {
        send(Call::AddRewardRule {
            merchants: vec![me],
            pay_asset,
            kind,
            cap_per_user_per_period: Amount::MAX,
            period_ms: jeon_runtime::economy::PERIOD_MS,
        })?;
    }
    eprintln!("bench: the merchant {me} has two reward rules on asset {pay_asset}");
    Ok(())
}

/// A mandate as `GET /v1/accounts/{addr}/mandates` lists it (the fields the bench
/// reads).
#[derive(Debug, Clone, Deserialize)]
struct MandateView {
    mandate: MandateRecord,
    /// Whether a charge in the next block could pass revocation and expiry.
    active: bool,
    /// What may still be charged this period.
    remaining: Amount,
}

/// The record inside a [`MandateView`].
#[derive(Debug, Clone, Deserialize)]
struct MandateRecord {
    id: u64,
    spender: Address,
    asset: AssetId,
    expires_at: Height,
    revoked_at: Option<Height>,
}

/// The answer of `GET /v1/accounts/{addr}/mandates`.
#[derive(Deserialize)]
struct MandatesAnswer {
    mandates: Vec<MandateView>,
}

/// What a mandate from a previous run must allow to be reused.
struct MandateNeed {
    spender: Address,
    asset: AssetId,
    /// The units this run charges on it.
    amount: Amount,
    /// The lowest acceptable `expires_at`.
    valid_until: Height,
}

/// The first listed mandate that can take this run's charges: active and never
/// revoked, to the same spender in the same asset, with enough left this period and
/// valid long enough.
fn reusable(listed: &[MandateView], need: &MandateNeed) -> Option<u64> {
    listed
        .iter()
        .find(|m| {
            m.active
                && m.mandate.revoked_at.is_none()
                && m.mandate.spender == need.spender
                && m.mandate.asset == need.asset
                && m.remaining >= need.amount
                && m.mandate.expires_at >= need.valid_until
        })
        .map(|m| m.mandate.id)
}

/// `--mode charge`: lists each account's mandates and picks, for each, one that its
/// spender in the ring can reuse for this run's charges (`None`: grant one).
fn find_mandates(
    client: &Client,
    status: &NodeStatus,
    addrs: &[Address],
    shares: &[usize],
) -> Result<Vec<Option<u64>>, CliError> {
    let n = addrs.len();
    let listed = read_each(client, addrs, |c, a| {
        c.get::<MandatesAnswer>(&format!("/v1/accounts/{a}/mandates"))
    })?;
    let valid_until = status.height.saturating_add(MANDATE_VALID_AHEAD_BLOCKS);
    let found: Vec<Option<u64>> = listed
        .iter()
        .enumerate()
        .map(|(user, answer)| {
            let spender = spender_of(user, n);
            let need = MandateNeed {
                spender: addrs[spender],
                asset: status.fee.asset,
                amount: (shares[spender] as u64).saturating_mul(CHARGE_AMOUNT),
                valid_until,
            };
            reusable(&answer.mandates, &need)
        })
        .collect();
    let reused = found.iter().flatten().count();
    eprintln!("bench: {reused} of {n} mandates can be reused from a previous run");
    Ok(found)
}

/// The id of the mandate a final grant's receipt reports.
fn granted_id(receipt: Option<&Receipt>) -> Option<u64> {
    receipt?.events.iter().find_map(|e| match e {
        Event::MandateGranted { id, .. } => Some(*id),
        _ => None,
    })
}

/// `--mode charge`: each account without a reusable mandate (`found[i]` is `None`)
/// grants one to the next account in the ring, in batches; waits until every grant is
/// final and counts it in its grantor's nonce. Returns every account's mandate id.
fn grant_mandates(
    client: &Client,
    status: &NodeStatus,
    keys: &[Keypair],
    found: Vec<Option<u64>>,
    nonces: &mut [Nonce],
    batch: usize,
) -> Result<Vec<u64>, CliError> {
    let n = keys.len();
    let expiry = status.height.saturating_add(FUND_EXPIRY_BLOCKS);
    let grants: Vec<(usize, SignedTx)> = (0..n)
        .filter(|&user| found[user].is_none())
        .map(|user| {
            let call = Call::GrantMandate {
                spender: keys[spender_of(user, n)].address(),
                asset: status.fee.asset,
                limit_per_period: MANDATE_LIMIT_PER_PERIOD,
                period_ms: MANDATE_PERIOD_MS,
                expires_at: MANDATE_EXPIRES_AT,
            };
            (user, sign(status, &keys[user], nonces[user], expiry, call))
        })
        .collect();
    // One grant per account: no sender queues behind another, so batches can go at once.
    for chunk in grants.chunks(batch) {
        let hexes: Vec<String> = chunk.iter().map(|(_, t)| hex::encode(t.encode())).collect();
        let refs: Vec<&str> = hexes.iter().map(String::as_str).collect();
        for result in submit_batch(client, &refs)? {
            if let Err(e) = result {
                let msg = format!("a mandate grant was refused: {} ({})", e.message, e.code);
                return Err(CliError::Failed(msg));
            }
        }
    }
    let mut ids = found;
    for (user, tx) in &grants {
        let wait = Duration::from_secs(GRANT_WAIT_SECS);
        let done = wait_for_tx(client, &tx.hash(), wait, false)?;
        let id = granted_id(done.receipt.as_ref()).filter(|_| done.status == "final");
        let Some(id) = id else {
            let reason = done
                .reason
                .unwrap_or_else(|| "no MandateGranted event".into());
            return Err(CliError::Failed(format!(
                "a mandate grant failed: {reason}"
            )));
        };
        ids[*user] = Some(id);
        nonces[*user] += 1;
    }
    if !grants.is_empty() {
        eprintln!("bench: granted {} mandates", grants.len());
    }
    // Every account has an id now: found before, or granted above.
    ids.into_iter()
        .collect::<Option<Vec<u64>>>()
        .ok_or_else(|| CliError::Failed("a bench account has no mandate".into()))
}

/// The body of `POST /v1/txs/batch`.
#[derive(Serialize)]
struct BatchBody<'a> {
    txs: &'a [&'a str],
}

/// The answer of `POST /v1/txs/batch`.
#[derive(Deserialize)]
struct BatchAnswer {
    results: Vec<BatchItem>,
}

/// One transaction's result in a batch answer.
#[derive(Deserialize)]
#[serde(untagged)]
enum BatchItem {
    /// Admitted to the mempool.
    Admitted {
        /// Its hash.
        hash: Hash,
    },
    /// Refused, with our error body.
    Refused {
        /// Why.
        error: Refusal,
    },
}

/// Why the node refused one transaction of a batch.
#[derive(Debug, Deserialize)]
struct Refusal {
    code: String,
    message: String,
}

/// `POST /v1/txs/batch`: one result per transaction, in order.
fn submit_batch(client: &Client, txs: &[&str]) -> Result<Vec<Result<Hash, Refusal>>, ApiError> {
    let answer: BatchAnswer = client.post("/v1/txs/batch", &BatchBody { txs })?;
    if answer.results.len() != txs.len() {
        return Err(ApiError::Transport {
            url: format!("{}/v1/txs/batch", client.base()),
            reason: format!(
                "{} results for {} transactions",
                answer.results.len(),
                txs.len()
            ),
        });
    }
    Ok(answer
        .results
        .into_iter()
        .map(|r| match r {
            BatchItem::Admitted { hash } => Ok(hash),
            BatchItem::Refused { error } => Err(error),
        })
        .collect())
}

/// State shared by the submitters and the tracker.
struct Run<'a> {
    presigned: &'a Presigned,
    batch: usize,
    rate: u64,
    /// When the clock started.
    t0: Instant,
    /// When to stop submitting (`--duration-secs`).
    deadline: Option<Instant>,
    next_batch: AtomicUsize,
    /// Set when the tracker gives up: submitters stop too.
    stop: AtomicBool,
    submitting: AtomicUsize,
    submitted: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
}

/// What one submitter thread did.
#[derive(Default)]
struct Submitted {
    /// Admitted transactions (index into the pre-signed list) and when the request
    /// that admitted them was sent.
    admitted: Vec<(usize, Instant)>,
    refused_by_code: BTreeMap<String, usize>,
}

/// Everything measured.
struct Outcome {
    submitted: usize,
    accepted: usize,
    refused: usize,
    refused_by_code: BTreeMap<String, usize>,
    /// (submitted at, final at) of each admitted transaction seen final.
    finals: Vec<(Instant, Instant)>,
    /// Bench transactions seen in final blocks (including any whose admission
    /// answer was lost).
    finalized: usize,
}

/// Submits everything from `--submitters` threads while this thread tracks finality;
/// gathers what was measured.
fn submit_and_track(
    args: &BenchArgs,
    clients: &[Client],
    presigned: &Presigned,
    head: Height,
) -> Result<Outcome, CliError> {
    let t0 = Instant::now();
    let run = Run {
        presigned,
        batch: args.batch,
        rate: args.rate,
        t0,
        deadline: args.duration_secs.map(|s| t0 + Duration::from_secs(s)),
        next_batch: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        submitting: AtomicUsize::new(args.submitters),
        submitted: AtomicUsize::new(0),
        accepted: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
    };
    let tracker = &clients[0];
    let (final_at, submitted) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.submitters)
            .map(|_| s.spawn(|| submitter(&run, clients)))
            .collect();
        let final_at = track(&run, tracker, head);
        let submitted: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        (final_at, submitted)
    });
    let mut outcome = Outcome {
        submitted: run.submitted.load(Ordering::Relaxed),
        accepted: run.accepted.load(Ordering::Relaxed),
        refused: run.refused.load(Ordering::Relaxed),
        refused_by_code: BTreeMap::new(),
        finals: Vec::new(),
        finalized: final_at.iter().flatten().count(),
    };
    for part in submitted {
        let part = part.map_err(|_| CliError::Failed("a submitter thread panicked".into()))?;
        for (code, n) in part.refused_by_code {
            *outcome.refused_by_code.entry(code).or_default() += n;
        }
        for (i, sent) in part.admitted {
            if let Some(Some(done)) = final_at.get(i) {
                outcome.finals.push((sent, *done));
            }
        }
    }
    Ok(outcome)
}

/// One submitter: takes the next batch, waits for its turn under `--rate`, sends it
/// to the next node, until the batches, the time or the tracker's patience run out.
fn submitter(run: &Run<'_>, clients: &[Client]) -> Submitted {
    let mut out = Submitted::default();
    let n = run.presigned.hexes.len();
    loop {
        let k = run.next_batch.fetch_add(1, Ordering::Relaxed);
        let start = k.saturating_mul(run.batch);
        if start >= n || run.stop.load(Ordering::Relaxed) {
            break;
        }
        if run.rate > 0 {
            let due = run.t0 + Duration::from_secs_f64(start as f64 / run.rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        if run.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let client = &clients[k % clients.len()];
        let end = (start + run.batch).min(n);
        run.submitted.fetch_add(end - start, Ordering::Relaxed);
        send_with_retry(run, client, (start..end).collect(), &mut out);
    }
    run.submitting.fetch_sub(1, Ordering::Relaxed);
    out
}

/// Sends the transactions `pending`; resends those the node was too busy for.
fn send_with_retry(run: &Run<'_>, client: &Client, mut pending: Vec<usize>, out: &mut Submitted) {
    while !pending.is_empty() {
        let txs: Vec<&str> = pending
            .iter()
            .map(|&i| run.presigned.hexes[i].as_str())
            .collect();
        let sent = Instant::now();
        let results = match submit_batch(client, &txs) {
            Ok(r) => r,
            Err(e) => {
                refuse(
                    run,
                    out,
                    e.code().unwrap_or("request_failed"),
                    pending.len(),
                );
                return;
            }
        };
        let give_up =
            run.stop.load(Ordering::Relaxed) || run.deadline.is_some_and(|d| Instant::now() >= d);
        let mut retry = Vec::new();
        for (i, result) in pending.iter().zip(results) {
            match result {
                Ok(_) => {
                    run.accepted.fetch_add(1, Ordering::Relaxed);
                    out.admitted.push((*i, sent));
                }
                Err(r) if !give_up && RETRYABLE_CODES.contains(&r.code.as_str()) => retry.push(*i),
                Err(r) => refuse(run, out, &r.code, 1),
            }
        }
        pending = retry;
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(RETRY_SLEEP_MS));
        }
    }
}

/// Counts `count` refusals with `code`.
fn refuse(run: &Run<'_>, out: &mut Submitted, code: &str, count: usize) {
    run.refused.fetch_add(count, Ordering::Relaxed);
    *out.refused_by_code.entry(code.to_owned()).or_default() += count;
}

/// The transaction hashes of a final block.
#[derive(Deserialize)]
struct BlockTxs {
    txs: Vec<Hash>,
}

/// Reads every final block after `head` as it appears and notes when each bench
/// transaction was seen final; returns those times by pre-signed index. Ends when
/// submission is over and every admitted transaction is final, or nothing became
/// final for a minute.
fn track(run: &Run<'_>, client: &Client, head: Height) -> Vec<Option<Instant>> {
    let index: HashMap<Hash, usize> = run
        .presigned
        .hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (*h, i))
        .collect();
    let mut final_at: Vec<Option<Instant>> = vec![None; index.len()];
    let (mut seen, mut finalized) = (head, 0usize);
    let mut last_progress = Instant::now();
    let mut next_report = Instant::now() + Duration::from_secs(PROGRESS_SECS);
    loop {
        std::thread::sleep(Duration::from_millis(TRACK_POLL_MS));
        let height = client.status().map_or(seen, |s| s.height);
        while seen < height {
            let Ok(block) = client.get::<BlockTxs>(&format!("/v1/blocks/{}", seen + 1)) else {
                break; // a transient failure: try again on the next poll
            };
            let now = Instant::now();
            seen += 1;
            for hash in &block.txs {
                if let Some(slot) = index.get(hash).and_then(|&i| final_at.get_mut(i)) {
                    if slot.is_none() {
                        *slot = Some(now);
                        finalized += 1;
                        last_progress = now;
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= next_report {
            progress(run, finalized, seen);
            next_report += Duration::from_secs(PROGRESS_SECS);
        }
        let submitting = run.submitting.load(Ordering::Relaxed) > 0;
        if !submitting && finalized >= run.accepted.load(Ordering::Relaxed) {
            break;
        }
        if now.duration_since(last_progress) >= Duration::from_secs(FINALITY_STALL_SECS) {
            eprintln!("bench: nothing became final for {FINALITY_STALL_SECS} s; stopping");
            run.stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    final_at
}

/// One progress line on stderr.
fn progress(run: &Run<'_>, finalized: usize, height: Height) {
    eprintln!(
        "bench: {:.1} s: submitted {}, accepted {}, refused {}, finalized {} (height {height})",
        run.t0.elapsed().as_secs_f64(),
        run.submitted.load(Ordering::Relaxed),
        run.accepted.load(Ordering::Relaxed),
        run.refused.load(Ordering::Relaxed),
        finalized,
    );
}

/// The `p`-th percentile of sorted values (nearest rank).
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// Rounds to milliseconds (or microseconds of a millisecond value), for a readable line.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The report: counts, throughput over the measured span, latency percentiles.
fn report(outcome: Outcome, presign_s: f64, rss: Option<u64>) -> Report {
    let first = outcome.finals.iter().map(|(s, _)| *s).min();
    let last = outcome.finals.iter().map(|(_, f)| *f).max();
    let duration_s = match (first, last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let mut latencies: Vec<f64> = outcome
        .finals
        .iter()
        .map(|(s, f)| f.duration_since(*s).as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let tps = if duration_s > 0.0 {
        outcome.finalized as f64 / duration_s
    } else {
        0.0
    };
    Report {
        mode: Mode::Transfer,
        submitted: outcome.submitted,
        accepted: outcome.accepted,
        refused: outcome.refused,
        refused_by_code: outcome.refused_by_code,
        finalized: outcome.finalized,
        duration_s: round3(duration_s),
        finalized_tps: round3(tps),
        latency_ms_p50: percentile(&latencies, 0.50).map(round3),
        latency_ms_p99: percentile(&latencies, 0.99).map(round3),
        latency_ms_max: latencies.last().copied().map(round3),
        presign_s: round3(presign_s),
        node_rss_peak_bytes: rss,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_are_shared_round_robin() {
        assert_eq!(shares(10, 4), vec![3, 3, 2, 2]);
        assert_eq!(shares(100_000, 1_000).iter().sum::<usize>(), 100_000);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    /// A node status whose base fee, and its ceiling, is `fee` in asset 0.
    fn status_with_fee(fee: Amount) -> NodeStatus {
        NodeStatus {
            chain_id: Hash([1; 32]),
            height: 5,
            fee: crate::client::FeeInfo {
                asset: AssetId(0),
                base_fee: fee,
                base_fee_max: fee,
            },
            rss_peak_bytes: None,
        }
    }

    /// The bench keys `bench-0` .. `bench-{n-1}` and their addresses.
    fn bench_keys(n: usize) -> (Vec<Keypair>, Vec<Address>) {
        let keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_seed_label(&format!("bench-{i}")))
            .collect();
        let addrs = keys.iter().map(Keypair::address).collect();
        (keys, addrs)
    }

    #[test]
    fn each_sender_pays_another_account_with_consecutive_nonces() {
        let (keys, addrs) = bench_keys(3);
        let status = status_with_fee(1);
        let nonces = [7, 0, 2];
        let plan = SignPlan {
            status: &status,
            keys: &keys,
            addrs: &addrs,
            nonces: &nonces,
            expiry: 100,
            work: &Work::Transfer,
        };
        let txs: Vec<SignedTx> = (0..9).map(|j| bench_tx(&plan, j)).collect();
        for (j, tx) in txs.iter().enumerate() {
            let sender = j % 3;
            assert_eq!(tx.body.sender, addrs[sender]);
            assert_eq!(tx.body.nonce, nonces[sender] + (j / 3) as u64);
            let Call::Transfer { to, .. } = &tx.body.call else {
                panic!("not a transfer");
            };
            assert_ne!(*to, addrs[sender]);
        }
        let presigned = presign(&plan, 9);
        let hashes: Vec<Hash> = txs.iter().map(SignedTx::hash).collect();
        assert_eq!(presigned.hashes, hashes);
    }

    #[test]
    fn the_mandate_ring_makes_each_account_the_spender_of_the_one_before() {
        assert_eq!(
            (0..4).map(|u| spender_of(u, 4)).collect::<Vec<_>>(),
            [1, 2, 3, 0]
        );
        assert_eq!(
            (0..4).map(|s| user_of(s, 4)).collect::<Vec<_>>(),
            [3, 0, 1, 2]
        );
        for n in [2, 3, 1_000] {
            for user in 0..n {
                assert_ne!(spender_of(user, n), user);
                assert_eq!(user_of(spender_of(user, n), n), user);
            }
        }
    }

    #[test]
    fn each_spender_charges_the_mandate_of_the_account_before_it() {
        let (keys, addrs) = bench_keys(3);
        let status = status_with_fee(1);
        let nonces = [4, 0, 9];
        // Account i granted mandate 10 + i to account i + 1.
        let work = Work::Charge {
            mandates: vec![10, 11, 12],
        };
        let plan = SignPlan {
            status: &status,
            keys: &keys,
            addrs: &addrs,
            nonces: &nonces,
            expiry: 100,
            work: &work,
        };
        for j in 0..6 {
            let tx = bench_tx(&plan, j);
            let spender = j % 3;
            assert_eq!(tx.body.sender, addrs[spender]);
            assert_eq!(tx.body.nonce, nonces[spender] + (j / 3) as u64);
            let expected = Call::Charge {
                mandate_id: [12, 10, 11][spender],
                amount: CHARGE_AMOUNT,
                reference: String::new(),
            };
            assert_eq!(tx.body.call, expected);
        }
    }

    #[test]
    fn funding_covers_each_accounts_role_in_the_mode() {
        // 10 transactions over 4 accounts: shares 3, 3, 2, 2; a fee of 2 units.
        let shares = shares(10, 4);
        assert_eq!(needs(Mode::Transfer, &shares, &[], 2), [9, 9, 6, 6]);
        assert_eq!(needs(Mode::Pay, &shares, &[], 2), [306, 306, 204, 204]);
        // Account 0 is charged 3 times by account 1 (3 units), signs 3 charges (6 units
        // of fees) and grants (2). Account 1 reuses its mandate: 2 charged + 6 in fees.
        let grants = [true, false, true, true];
        assert_eq!(needs(Mode::Charge, &shares, &grants, 2), [11, 8, 8, 9]);
        // With every mandate reused, only the charges and their fees.
        assert_eq!(needs(Mode::Charge, &shares, &[false; 4], 0), [3, 2, 2, 3]);
    }

    /// A listed bench mandate `id`: to bench-1, in asset 0, uncapped, never expiring,
    /// active.
    fn listed(id: u64) -> MandateView {
        MandateView {
            mandate: MandateRecord {
                id,
                spender: bench_keys(2).1[1],
                asset: AssetId(0),
                expires_at: MANDATE_EXPIRES_AT,
                revoked_at: None,
            },
            active: true,
            remaining: MANDATE_LIMIT_PER_PERIOD,
        }
    }

    #[test]
    fn a_mandate_is_reused_only_if_it_can_take_the_whole_run() {
        let (_, addrs) = bench_keys(3);
        let need = MandateNeed {
            spender: addrs[1],
            asset: AssetId(0),
            amount: 100,
            valid_until: 50_000,
        };
        let with = |f: fn(&mut MandateView)| {
            let mut m = listed(7);
            f(&mut m);
            m
        };
        let cases: [(&str, MandateView, Option<u64>); 7] = [
            ("a bench mandate of a previous run", listed(7), Some(7)),
            (
                "another spender",
                with(|m| m.mandate.spender = bench_keys(3).1[2]),
                None,
            ),
            (
                "another asset",
                with(|m| m.mandate.asset = AssetId(1)),
                None,
            ),
            (
                "too little left this period",
                with(|m| m.remaining = 99),
                None,
            ),
            (
                "expiring too soon",
                with(|m| m.mandate.expires_at = 49_999),
                None,
            ),
            ("inactive", with(|m| m.active = false), None),
            (
                "revoked (still active this block)",
                with(|m| m.mandate.revoked_at = Some(6)),
                None,
            ),
        ];
        for (case, mandate, expected) in cases {
            assert_eq!(reusable(&[mandate], &need), expected, "{case}");
        }
        // The first suitable one of several.
        let list = [with(|m| m.active = false), listed(8), listed(9)];
        assert_eq!(reusable(&list, &need), Some(8));
        assert_eq!(reusable(&[], &need), None);
    }

    #[test]
    fn a_grants_mandate_id_is_in_its_mandate_granted_event() {
        let (_, addrs) = bench_keys(2);
        let granted = Event::MandateGranted {
            id: 42,
            user: addrs[0],
            spender: addrs[1],
            asset: AssetId(0),
            limit_per_period: MANDATE_LIMIT_PER_PERIOD,
            period_ms: MANDATE_PERIOD_MS,
            expires_at: MANDATE_EXPIRES_AT,
        };
        let receipt = |events: Vec<Event>| Receipt {
            tx: Hash([2; 32]),
            outcome: jeon_runtime::Outcome::Success,
            fee: 1,
            events,
        };
        assert_eq!(granted_id(Some(&receipt(vec![granted]))), Some(42));
        assert_eq!(granted_id(Some(&receipt(vec![]))), None);
        assert_eq!(granted_id(None), None);
    }
}
