//! `jeon chaos run`: start the cluster, fund and start the load, apply the
//! perturbations on schedule, let the chain settle, collect what every node holds,
//! and check it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use jeon_runtime::{Certificate, Hash};

use super::check::{check, BlockRec, History, TxEnd, Unresolved, Verdict, Window};
use super::cluster::Cluster;
use super::http::Api;
use super::load::{
    parse_hashes, run_load, run_tracker, run_wallet, Latency, LoadStats, Recorder, Signer,
};
use super::manifest::{Kind, Manifest};
use crate::bench::fund::{fund, needs, FundPlan};
use crate::bench::{fee_per_tx, Mode};
use crate::error::CliError;

/// How long the nodes get to serve their API and make a first block.
const START_WAIT: Duration = Duration::from_secs(60);
/// Load transactions expire this many blocks after the head at the start.
const EXPIRY_BLOCKS: u64 = 100_000;
/// After the load stops, the wallet goes on resubmitting while transactions keep
/// becoming final, until nothing became final for this long...
const DRAIN_STALL: Duration = Duration::from_secs(30);
/// ...or for at most this long (a backlog left by a long stall drains slowly).
const DRAIN_MAX: Duration = Duration::from_secs(900);
/// How long the nodes get to reach the same head at the end.
const CONVERGE_MAX: Duration = Duration::from_secs(60);
/// How many final transactions have their receipts compared on every node.
const RECEIPTS_SAMPLE: usize = 200;
/// The most unresolved transactions looked up at the end (the rest count as unknown).
const UNRESOLVED_LOOKUPS_MAX: usize = 5_000;
/// Funding batches.
const FUND_BATCH: usize = 1_000;

/// Set when the harness gets Ctrl-C or SIGTERM: the run stops and every node is
/// stopped (a SIGSTOPped node would ignore the terminal's SIGINT forever).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Watches for Ctrl-C and SIGTERM on a thread of its own.
fn watch_signals() -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the signal watcher: {e}")))?;
    std::thread::spawn(move || {
        rt.block_on(crate::node_cmd::shutdown_signal());
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("chaos: interrupted; stopping the nodes");
    });
    Ok(())
}

fn interrupted() -> Result<(), CliError> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(CliError::Failed("interrupted".into()));
    }
    Ok(())
}

/// The report `jeon chaos run` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Whether every check passed.
    pub(crate) ok: bool,
    /// The manifest that ran.
    pub(crate) manifest: Manifest,
    /// Where the nodes' directories and logs are.
    pub(crate) out: String,
    /// The load's counters.
    pub(crate) load: LoadStats,
    /// Each node's head at the end.
    pub(crate) heads: Vec<u64>,
    /// Seconds from the load's start to the end of the checks' data collection.
    pub(crate) run_secs: f64,
    /// Where the links were emulated and why (runs with `[network]`, a partition or a
    /// latency change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) link_emulation: Option<String>,
    /// The checks.
    #[serde(flatten)]
    pub(crate) verdict: Verdict,
}

/// The report for people (`--output text`): the verdict, each check, the load, the
/// heads and the recoveries, and where the JSON report is.
pub(crate) fn summary(report: &Report, json_path: &Path) -> String {
    let m = &report.manifest;
    let mut out = format!(
        "chaos: {} ({} validators, {} s of load at {} tx/s, {} perturbations, {:.1} s)\n",
        if report.ok {
            "every check passed".to_owned()
        } else {
            format!("FAILED: {}", report.verdict.failed.join(", "))
        },
        m.validators,
        m.duration_secs,
        m.load.rate,
        m.perturbations.len(),
        report.run_secs
    );
    out.push_str("checks:\n");
    for (name, c) in &report.verdict.checks {
        out.push_str(&format!(
            "  {name}: {} ({} checked{})\n",
            if c.ok { "ok" } else { "FAILED" },
            c.checked,
            if c.ok {
                String::new()
            } else {
                format!(
                    ", {} failures; first: {}",
                    c.failure_count,
                    c.failures.first().map_or("-", String::as_str)
                )
            }
        ));
    }
    let l = &report.load;
    out.push_str(&format!(
        "load: {} submitted, {} admitted, {} final, {} resubmitted, {} batches unanswered\n",
        l.submitted, l.admitted, l.finalized, l.resubmitted, l.unanswered_batches
    ));
    if let Some(f) = &l.finality_ms {
        out.push_str(&format!(
            "finality: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms ({} timed)\n",
            f.p50, f.p90, f.p99, f.max, f.count
        ));
    }
    if !l.refused_by_code.is_empty() {
        let codes: Vec<String> = l
            .refused_by_code
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect();
        out.push_str(&format!("  refused by code: {}\n", codes.join(", ")));
    }
    let heads: Vec<String> = report.heads.iter().map(u64::to_string).collect();
    out.push_str(&format!("heads: {}\n", heads.join(", ")));
    let rec = &report.verdict.recoveries;
    if !rec.is_empty() {
        let max = |f: fn(&super::check::Recovery) -> Option<u64>| {
            let known: Vec<u64> = rec.iter().filter_map(f).collect();
            let missing = rec.len() - known.len();
            let worst = known
                .iter()
                .max()
                .map_or("-".to_owned(), |m| format!("{m} ms"));
            if missing == 0 {
                worst
            } else {
                format!("{worst} ({missing} never)")
            }
        };
        out.push_str(&format!(
            "recoveries: {} perturbations; chain progress after each within {}, perturbed \
             node back within {}\n",
            rec.len(),
            max(|r| r.chain_progress_ms),
            max(|r| r.node_back_ms)
        ));
    }
    out.push_str(&format!(
        "report: {} (or --output json)\n",
        json_path.display()
    ));
    out
}

/// Runs a manifest with the cluster in `out`.
pub(crate) fn run(manifest: &Manifest, out: &Path) -> Result<Report, CliError> {
    watch_signals()?;
    let emulates = manifest.network.is_some()
        || manifest
            .perturbations
            .iter()
            .any(|p| matches!(p.kind, Kind::Partition { .. } | Kind::Latency { .. }));
    let link_emulation = emulates.then(super::netem::backend);
    if let Some(line) = &link_emulation {
        eprintln!("chaos: {line}");
    }
    let mut cluster = Cluster::create(out, manifest.validators, manifest.network.as_ref())?;
    for i in 0..cluster.len() {
        cluster.start(i)?;
    }
    let apis = (0..cluster.len())
        .map(|i| Api::new(cluster.api(i)).map_err(CliError::Failed))
        .collect::<Result<Vec<_>, _>>()?;
    wait_started(&mut cluster, &apis)?;
    let signer = fund_accounts(manifest, &cluster)?;
    eprintln!(
        "chaos: {} validators up, {} accounts funded; load {} tx/s for {} s, {} perturbations",
        manifest.validators,
        manifest.load.accounts,
        manifest.load.rate,
        manifest.duration_secs,
        manifest.perturbations.len()
    );
    let rec = Recorder::new(apis.clone(), manifest.load.accounts);
    let mut history = History {
        chain_id: signer_chain(&apis)?,
        nodes: cluster.len(),
        progress_timeout_ms: manifest.progress_timeout_secs * 1000,
        ..History::default()
    };
    std::thread::scope(|s| {
        for node in 0..cluster.len() {
            let rec = &rec;
            s.spawn(move || run_tracker(rec, node));
        }
        s.spawn(|| run_wallet(&rec, &signer));
        s.spawn(|| run_load(&rec, &signer, manifest.load.rate));
        let result = perturb(manifest, &mut cluster, &rec, &mut history);
        rec.stop_load.store(true, Ordering::Relaxed);
        let result = result.and_then(|()| settle(manifest, &mut cluster, &rec, &apis, &history));
        rec.stop_all.store(true, Ordering::Relaxed);
        result
    })?;
    let run_secs = rec.now_ms() as f64 / 1000.0;
    collect(&mut history, &rec, &apis, signer.expiry);
    cluster.stop_all();
    history.equivocation_logs = equivocations_logged(&cluster);
    let verdict = check(&history);
    let heads = history
        .blocks
        .iter()
        .map(|b| b.keys().next_back().copied().unwrap_or(0))
        .collect();
    let load = {
        let r = rec.lock();
        let mut stats = r.stats.clone();
        stats.finality_ms = Latency::of(r.finality_ms.clone());
        stats
    };
    Ok(Report {
        ok: verdict.ok,
        manifest: manifest.clone(),
        out: out.display().to_string(),
        load,
        heads,
        run_secs,
        link_emulation,
        verdict,
    })
}

/// Waits until every node serves its API and the chain has a block.
fn wait_started(cluster: &mut Cluster, apis: &[Api]) -> Result<(), CliError> {
    let deadline = Instant::now() + START_WAIT;
    loop {
        interrupted()?;
        for i in 0..cluster.len() {
            if !cluster.running(i) {
                return Err(CliError::Failed(format!(
                    "node {i} exited at start; see {}",
                    cluster.node_dir(i).join("node.log").display()
                )));
            }
        }
        let heights: Vec<Option<u64>> = apis.iter().map(Api::height).collect();
        if heights.iter().all(|h| h.is_some_and(|h| h >= 1)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(CliError::Failed(format!(
                "the cluster did not start within {} s (heads {heights:?})",
                START_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn signer_chain(apis: &[Api]) -> Result<Hash, CliError> {
    apis.first()
        .and_then(|a| a.get_ok("/v1/status"))
        .and_then(|s| s["chain_id"].as_str()?.parse().ok())
        .ok_or_else(|| CliError::Failed("cannot read the chain id".into()))
}

/// Funds the load accounts from the bank (the bench's funding) and returns the signer.
fn fund_accounts(manifest: &Manifest, cluster: &Cluster) -> Result<Signer, CliError> {
    let client = crate::client::Client::new(&cluster.api(0))?;
    let status = client.status()?;
    let funder_path = cluster
        .funder_key()
        .ok_or_else(|| CliError::Failed("the genesis has no validator".into()))?;
    let funder = crate::tx::load_key(&funder_path)?;
    let m = manifest.load.accounts;
    let planned = manifest
        .load
        .rate
        .saturating_mul(manifest.duration_secs + 5);
    let per_account = usize::try_from(planned.div_ceil(m as u64) + 1).unwrap_or(usize::MAX);
    let shares = vec![per_account; m];
    let expiry = status.height.saturating_add(EXPIRY_BLOCKS);
    let signer = Signer::new(status.clone(), m, expiry);
    let plan = FundPlan {
        funder: &funder,
        status: &status,
        addrs: signer.addrs(),
        accounts: &vec![None; m],
        needs: &needs(Mode::Transfer, &shares, &[], fee_per_tx(&status)),
    };
    fund(&client, &plan, FUND_BATCH)?;
    Ok(signer)
}

/// One scheduled action.
enum Step {
    Start(usize),
    End(usize),
}

/// Applies the perturbations on schedule until the run's duration has passed;
/// records each as a [`Window`] and any node that exits by itself.
fn perturb(
    manifest: &Manifest,
    cluster: &mut Cluster,
    rec: &Recorder,
    history: &mut History,
) -> Result<(), CliError> {
    let mut steps: Vec<(u64, Step)> = Vec::new();
    for (k, p) in manifest.perturbations.iter().enumerate() {
        let start = (p.at_secs * 1000.0) as u64;
        steps.push((start, Step::Start(k)));
        steps.push((
            start + (p.kind.duration_secs() * 1000.0) as u64,
            Step::End(k),
        ));
    }
    // Stable: a perturbation's start stays before its own end at the same moment.
    steps.sort_by_key(|(t, _)| *t);
    let mut windows: BTreeMap<usize, Window> = BTreeMap::new();
    let mut down: HashSet<usize> = HashSet::new();
    let mut steps = steps.into_iter().peekable();
    let end_ms = manifest.duration_secs * 1000;
    while rec.now_ms() < end_ms || steps.peek().is_some() {
        interrupted()?;
        watch_exits(cluster, rec, &down, history);
        let due = steps.peek().is_some_and(|(t, _)| *t <= rec.now_ms());
        if !due {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let Some((_, step)) = steps.next() else { break };
        match step {
            Step::Start(k) => {
                let Some(p) = manifest.perturbations.get(k) else {
                    continue;
                };
                let start_ms = rec.now_ms();
                let skipped = apply_start(cluster, &p.kind, p.node, &mut down)?;
                if let Some(why) = &skipped {
                    eprintln!("chaos: perturbation {k} ({}) skipped: {why}", p.kind.name());
                } else {
                    eprintln!(
                        "chaos: {:6.1} s  {} node {}",
                        start_ms as f64 / 1000.0,
                        p.kind.name(),
                        p.node
                    );
                }
                windows.insert(
                    k,
                    Window {
                        kind: p.kind.name().to_owned(),
                        node: p.node,
                        start_ms,
                        // A restart or a wipe ends once the node is started again.
                        end_ms: rec.now_ms(),
                        skipped,
                    },
                );
            }
            Step::End(k) => {
                let Some(p) = manifest.perturbations.get(k) else {
                    continue;
                };
                let Some(w) = windows.get_mut(&k) else {
                    continue;
                };
                if w.skipped.is_none() {
                    apply_end(cluster, &p.kind, p.node, &mut down)?;
                }
                w.end_ms = rec.now_ms();
            }
        }
    }
    history.windows = windows.into_values().collect();
    Ok(())
}

/// Applies a perturbation; returns why it was skipped, if it was.
fn apply_start(
    cluster: &mut Cluster,
    kind: &Kind,
    node: usize,
    down: &mut HashSet<usize>,
) -> Result<Option<String>, CliError> {
    match kind {
        Kind::Kill { .. } => {
            down.insert(node);
            cluster.kill(node);
        }
        Kind::Pause { .. } => cluster.pause(node, true),
        Kind::Restart => {
            down.insert(node);
            cluster.terminate(node);
            cluster.start(node)?;
            down.remove(&node);
        }
        Kind::Wipe => {
            down.insert(node);
            cluster.terminate(node);
            cluster.wipe(node)?;
            cluster.start(node)?;
            down.remove(&node);
        }
        Kind::Disconnect { direction, .. } => cluster.cut(node, *direction, true),
        Kind::Partition {
            direction, group, ..
        } => cluster.partition(&side(node, group), *direction, true),
        Kind::Latency { link, .. } => cluster.set_latency(node, Some(*link)),
        Kind::ClockSkew { offset_secs, .. } => {
            if let Err(why) = super::cluster::libfaketime() {
                return Ok(Some(why));
            }
            down.insert(node);
            cluster.restart_skewed(node, Some(*offset_secs))?;
            down.remove(&node);
        }
    }
    Ok(None)
}

/// Ends a perturbation (restart, resume, reconnect).
fn apply_end(
    cluster: &mut Cluster,
    kind: &Kind,
    node: usize,
    down: &mut HashSet<usize>,
) -> Result<(), CliError> {
    match kind {
        Kind::Kill { .. } => {
            cluster.start(node)?;
            down.remove(&node);
        }
        Kind::Pause { .. } => cluster.pause(node, false),
        Kind::Disconnect { direction, .. } => cluster.cut(node, *direction, false),
        Kind::Partition {
            direction, group, ..
        } => cluster.partition(&side(node, group), *direction, false),
        Kind::Latency { .. } => cluster.set_latency(node, None),
        Kind::ClockSkew { .. } => {
            down.insert(node);
            cluster.restart_skewed(node, None)?;
            down.remove(&node);
        }
        Kind::Restart | Kind::Wipe => {}
    }
    Ok(())
}

/// A partition's side: the node and its group.
fn side(node: usize, group: &[usize]) -> Vec<usize> {
    let mut side = vec![node];
    side.extend(group.iter().copied().filter(|g| *g != node));
    side
}

/// Records nodes that exited without the harness stopping them (and starts them
/// again, so one crash does not hide everything after it).
fn watch_exits(cluster: &mut Cluster, rec: &Recorder, down: &HashSet<usize>, h: &mut History) {
    for i in 0..cluster.len() {
        if down.contains(&i) || cluster.running(i) {
            continue;
        }
        let t = rec.now_ms() as f64 / 1000.0;
        let log = cluster.node_dir(i).join("node.log");
        h.exits.push(format!(
            "node {i} exited by itself before {t:.1} s; see {}",
            log.display()
        ));
        eprintln!("chaos: node {i} exited by itself; restarting it");
        if let Err(e) = cluster.start(i) {
            h.exits
                .push(format!("node {i} could not be restarted: {e}"));
        }
    }
}

/// After the load: every fault healed, the wallet's drain, the last progress window,
/// and every node at the highest head.
fn settle(
    manifest: &Manifest,
    cluster: &mut Cluster,
    rec: &Recorder,
    apis: &[Api],
    history: &History,
) -> Result<(), CliError> {
    cluster.heal_all();
    let last_end = history.windows.iter().map(|w| w.end_ms).max().unwrap_or(0);
    let progress_until = last_end + manifest.progress_timeout_secs * 1000 + 1000;
    let drain_deadline = Instant::now() + DRAIN_MAX;
    let (mut finalized, mut progress_at) = (rec.lock().stats.finalized, Instant::now());
    loop {
        interrupted()?;
        let now = Instant::now();
        let done = rec.drained() || now > drain_deadline || now > progress_at + DRAIN_STALL;
        if done && rec.now_ms() >= progress_until {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        let f = rec.lock().stats.finalized;
        if f > finalized {
            (finalized, progress_at) = (f, Instant::now());
        }
    }
    let deadline = Instant::now() + CONVERGE_MAX;
    let target = apis.iter().filter_map(Api::height).max().unwrap_or(0);
    while Instant::now() < deadline {
        interrupted()?;
        if apis.iter().all(|a| a.height().is_some_and(|h| h >= target)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Reads what the checks need from every node, and from the recorder.
fn collect(h: &mut History, rec: &Recorder, apis: &[Api], expiry: u64) {
    h.blocks = std::thread::scope(|s| {
        let handles: Vec<_> = apis.iter().map(|a| s.spawn(|| all_blocks(a))).collect();
        handles
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect()
    });
    h.signing_refused = apis
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let signing = a.get_ok("/v1/status")?.get("signing")?.clone();
            (signing["state"] == "refused").then(|| (i, signing.to_string()))
        })
        .collect();
    let r = rec.lock();
    h.final_seen = r.final_seen.clone();
    h.block_seen_wall_ms = r.block_seen_wall_ms.clone();
    h.heads = r.heads.clone();
    h.heads.sort_by_key(|s| s.t_ms);
    // Certificates during the run that differ from what the node serves at the end
    // (a wiped node's earlier ones): the rest would only repeat.
    h.certificates_seen = r
        .certificates
        .iter()
        .filter(|(node, c)| {
            h.blocks
                .get(*node)
                .and_then(|b| b.get(&c.height))
                .is_none_or(|b| b.certificate != *c)
        })
        .cloned()
        .collect();
    let in_blocks: HashSet<Hash> = h
        .blocks
        .iter()
        .flat_map(|b| b.values().flat_map(|b| b.txs.iter().copied()))
        .collect();
    let unresolved: Vec<Hash> = r
        .admitted
        .iter()
        .filter(|t| !h.final_seen.contains_key(t) && !in_blocks.contains(t))
        .copied()
        .collect();
    drop(r);
    let head = apis.iter().filter_map(Api::height).max().unwrap_or(0);
    h.unresolved = unresolved
        .iter()
        .enumerate()
        .map(|(k, hash)| Unresolved {
            hash: *hash,
            end: if k < UNRESOLVED_LOOKUPS_MAX {
                fate(apis, hash, head, expiry)
            } else {
                TxEnd::Unknown
            },
        })
        .collect();
    let finals: Vec<Hash> = h.final_seen.keys().copied().collect();
    let step = (finals.len() / RECEIPTS_SAMPLE).max(1);
    h.receipts = finals
        .iter()
        .step_by(step)
        .take(RECEIPTS_SAMPLE)
        .map(|t| {
            let answers = apis
                .iter()
                .map(|a| a.get_ok(&format!("/v1/txs/{t}")))
                .collect();
            (*t, answers)
        })
        .collect();
}

/// What the nodes say at the end about an admitted transaction no block holds.
fn fate(apis: &[Api], hash: &Hash, head: u64, expiry: u64) -> TxEnd {
    let answers: Vec<Value> = apis
        .iter()
        .filter_map(|a| a.get_ok(&format!("/v1/txs/{hash}")))
        .collect();
    let with = |s: &str| answers.iter().find(|a| a["status"] == s);
    if let Some(a) = with("rejected") {
        return TxEnd::Rejected(a["reason"].as_str().unwrap_or("").to_owned());
    }
    if with("pending").is_some() {
        return TxEnd::Pending;
    }
    if head > expiry {
        return TxEnd::Expired;
    }
    TxEnd::Unknown
}

/// Every block a node holds, from 1 to its head.
fn all_blocks(api: &Api) -> BTreeMap<u64, BlockRec> {
    let mut out = BTreeMap::new();
    let Some(head) = api.height() else {
        return out;
    };
    for height in 1..=head {
        let Some(b) = api.get_ok(&format!("/v1/blocks/{height}")) else {
            continue;
        };
        let parse = |v: &Value| v.as_str().and_then(|s| s.parse::<Hash>().ok());
        let cert = serde_json::from_value::<Certificate>(b["certificate"].clone());
        let (Some(hash), Some(app_hash), Ok(certificate)) =
            (parse(&b["hash"]), parse(&b["header"]["app_hash"]), cert)
        else {
            continue;
        };
        out.insert(
            height,
            BlockRec {
                hash,
                app_hash,
                txs: parse_hashes(&b["txs"]),
                certificate,
                time_ms: b["header"]["time_ms"].as_u64().unwrap_or(0),
            },
        );
    }
    out
}

/// `equivocation` warnings in the nodes' logs.
fn equivocations_logged(cluster: &Cluster) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for i in 0..cluster.len() {
        let Ok(text) = std::fs::read_to_string(cluster.node_dir(i).join("node.log")) else {
            continue;
        };
        for line in text.lines().filter(|l| l.contains("\"equivocation\"")) {
            found.push((i, line.chars().take(600).collect()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::check::{CheckResult, Recovery};
    use super::*;

    fn report(ok: bool) -> Report {
        let manifest = Manifest::parse(include_str!("../../tests/chaos/ci.toml")).expect("ci.toml");
        let mut checks = BTreeMap::new();
        checks.insert(
            "blocks_agree",
            CheckResult {
                ok,
                checked: 40,
                failure_count: usize::from(!ok),
                failures: if ok {
                    Vec::new()
                } else {
                    vec!["height 7: two blocks".to_owned()]
                },
            },
        );
        let window = |kind: &str| Window {
            kind: kind.to_owned(),
            node: 1,
            start_ms: 5_000,
            end_ms: 7_000,
            skipped: None,
        };
        Report {
            ok,
            manifest,
            out: "/tmp/chaos".into(),
            load: LoadStats {
                submitted: 900,
                admitted: 890,
                finalized: 880,
                ..LoadStats::default()
            },
            heads: vec![41, 41, 40, 41],
            run_secs: 61.25,
            link_emulation: None,
            verdict: Verdict {
                ok,
                failed: if ok { Vec::new() } else { vec!["blocks_agree"] },
                checks,
                recoveries: vec![
                    Recovery {
                        window: window("kill"),
                        chain_height_at_end: 20,
                        chain_progress_ms: Some(900),
                        node_back_ms: Some(2_500),
                    },
                    Recovery {
                        window: window("pause"),
                        chain_height_at_end: 30,
                        chain_progress_ms: Some(1_200),
                        node_back_ms: None,
                    },
                ],
            },
        }
    }

    #[test]
    fn the_text_summary_gives_the_verdict_each_check_and_the_worst_recovery() {
        let text = summary(&report(true), Path::new("/tmp/chaos/report.json"));
        assert!(
            text.starts_with("chaos: every check passed (4 validators"),
            "{text}"
        );
        assert!(text.contains("  blocks_agree: ok (40 checked)\n"), "{text}");
        assert!(
            text.contains("load: 900 submitted, 890 admitted, 880 final"),
            "{text}"
        );
        assert!(text.contains("heads: 41, 41, 40, 41\n"), "{text}");
        assert!(
            text.contains("within 1200 ms, perturbed node back within 2500 ms (1 never)"),
            "{text}"
        );
        assert!(text.contains("report: /tmp/chaos/report.json"), "{text}");
        let failed = summary(&report(false), Path::new("r.json"));
        assert!(
            failed.starts_with("chaos: FAILED: blocks_agree ("),
            "{failed}"
        );
        assert!(
            failed.contains("blocks_agree: FAILED (40 checked, 1 failures; first: height 7"),
            "{failed}"
        );
    }

    #[test]
    fn a_manifest_reads_back_from_its_json_as_from_its_toml() {
        let m = Manifest::parse(include_str!("../../tests/chaos/ci.toml")).expect("ci.toml");
        let json = serde_json::to_string(&m).expect("JSON");
        assert_eq!(Manifest::parse(&json).expect("the JSON form"), m);
        let e = Manifest::parse("{\"validators\": 4").unwrap_err();
        assert!(
            e.to_string().contains("invalid chaos manifest (JSON)"),
            "{e}"
        );
    }
}
