//! `jeon bench`: a load generator that measures finalized throughput and latency.
//!
//! Phases, each reported on stderr:
//! 1. derive `--accounts` bench keys from labels (`bench-0`, `bench-1`, ...), read
//!    their nonces and balances (so the bench can be rerun on the same chain);
//! 2. top them up from `--funder` in the fee asset (KRW in the presets) and wait until
//!    the funding is final;
//! 3. pre-sign every transfer (1 unit to another bench account) before the clock starts;
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
    Address, Amount, AssetId, AssetKind, Call, Hash, Height, Keypair, Nonce, SignedTx, TxBody,
};

use crate::client::{AccountView, ApiError, Client, NodeStatus, API_URL_DEFAULT};
use crate::error::{stdout, CliError};
use crate::tx_cmd::wait_for_tx;

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
    /// How many transfers to submit.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    txs: usize,
    /// How many bench accounts send them (keep txs/accounts under 4096, the node's
    /// per-sender queue).
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
    /// What each transaction does.
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
    let funder = crate::tx_cmd::load_key(&args.funder)?;
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
        "bench: {} transfers from {} accounts via {} node(s); chain {}, height {}",
        args.txs,
        args.accounts,
        clients.len(),
        status.chain_id,
        status.height
    );
    let merchant = match args.mode {
        Mode::Transfer => None,
        Mode::Pay => {
            let key = crate::tx_cmd::load_key(&args.merchant_key)?;
            set_up_merchant(main, &key, &status)?;
            Some(key.address())
        }
    };
    let keys: Vec<Keypair> = (0..args.accounts)
        .map(|i| Keypair::from_seed_label(&format!("bench-{i}")))
        .collect();
    let addrs: Vec<Address> = keys.iter().map(Keypair::address).collect();
    let shares = shares(args.txs, args.accounts);
    let accounts = read_accounts(main, &addrs)?;
    let per_tx = match args.mode {
        Mode::Transfer => TRANSFER_AMOUNT,
        Mode::Pay => PAY_AMOUNT,
    };
    let plan = FundPlan {
        funder: &funder,
        status: &status,
        addrs: &addrs,
        accounts: &accounts,
        shares: &shares,
        per_tx: per_tx.saturating_add(status.fee.flat),
    };
    fund(main, &plan, args.batch)?;
    let nonces: Vec<Nonce> = accounts
        .iter()
        .map(|a| a.as_ref().map_or(0, |a| a.nonce))
        .collect();
    let head = main.status()?.height;
    let presign_start = Instant::now();
    let plan = SignPlan {
        status: &status,
        keys: &keys,
        addrs: &addrs,
        nonces: &nonces,
        expiry: head.saturating_add(BENCH_EXPIRY_BLOCKS),
        merchant,
    };
    let presigned = presign(&plan, args.txs);
    let presign_s = presign_start.elapsed().as_secs_f64();
    eprintln!(
        "bench: pre-signed {} transfers in {presign_s:.2} s",
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

/// Reads accounts with a few threads; `None` for accounts the chain has never seen.
fn read_accounts(client: &Client, addrs: &[Address]) -> Result<Vec<Option<AccountView>>, CliError> {
    let chunk = addrs.len().div_ceil(WORKERS_MAX).max(1);
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = addrs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|a| client.account(a))
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
    shares: &'a [usize],
    /// Fee-asset units one bench transaction spends, fee included.
    per_tx: Amount,
}

/// Tops up each bench account to enough of the fee asset for its share of transactions
/// plus their fees, from the funder, and waits until the funding is final.
fn fund(client: &Client, plan: &FundPlan<'_>, batch: usize) -> Result<(), CliError> {
    let (funder, status, per_tx) = (plan.funder, plan.status, plan.per_tx);
    let asset = status.fee.asset;
    let mut needs = Vec::new();
    for ((addr, account), share) in plan.addrs.iter().zip(plan.accounts).zip(plan.shares) {
        let need = (*share as u64).saturating_mul(per_tx);
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
        fee_limit: status.fee.flat,
        expiry,
        call,
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
    /// `--mode pay`: the merchant every transaction pays.
    merchant: Option<Address>,
}

/// The transfers, ready to send: hex encodings and hashes, in submission order.
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

/// The `j`-th transfer: sender `j % M` (round-robin, its nonces consecutive), to a
/// pseudo-random other account.
fn transfer(plan: &SignPlan<'_>, j: usize) -> SignedTx {
    let m = plan.keys.len();
    let sender = j % m;
    let offset = 1 + (mix(j as u64) % (m as u64 - 1)) as usize;
    let to = plan.addrs[(sender + offset) % m];
    let nonce = plan.nonces[sender] + (j / m) as u64;
    let asset = plan.status.fee.asset;
    let call = match plan.merchant {
        None => Call::Transfer {
            to,
            asset,
            amount: TRANSFER_AMOUNT,
        },
        Some(merchant) => Call::Pay {
            merchant,
            asset,
            amount: PAY_AMOUNT,
            reference: String::new(),
        },
    };
    sign(plan.status, &plan.keys[sender], nonce, plan.expiry, call)
}

/// Signs `n` transfers on a few threads.
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
                            let tx = transfer(plan, j);
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

    #[test]
    fn each_sender_pays_another_account_with_consecutive_nonces() {
        let keys: Vec<Keypair> = (0..3)
            .map(|i| Keypair::from_seed_label(&format!("bench-{i}")))
            .collect();
        let addrs: Vec<Address> = keys.iter().map(Keypair::address).collect();
        let status = NodeStatus {
            chain_id: Hash([1; 32]),
            height: 5,
            fee: crate::client::FeeInfo {
                asset: jeon_runtime::AssetId(0),
                flat: 1,
            },
            rss_peak_bytes: None,
        };
        let nonces = [7, 0, 2];
        let plan = SignPlan {
            status: &status,
            keys: &keys,
            addrs: &addrs,
            nonces: &nonces,
            expiry: 100,
            merchant: None,
        };
        let txs: Vec<SignedTx> = (0..9).map(|j| transfer(&plan, j)).collect();
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
}
