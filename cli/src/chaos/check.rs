//! The history a chaos run records, and the checker over it: a pure function from
//! what every node said to a report of which promises held.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use jeon_node::blocks::BLOCK_TIME_DRIFT_MAX_MS;
use jeon_runtime::block::{VoteBody, VoteKind};
use jeon_runtime::{Address, Certificate, Hash};

/// The most failures listed per check in the report (the count is always exact).
const FAILURES_LISTED_MAX: usize = 20;

/// One final block as a node served it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BlockRec {
    /// The block (header) hash.
    pub(crate) hash: Hash,
    /// The header's app hash.
    pub(crate) app_hash: Hash,
    /// Its transactions' hashes.
    pub(crate) txs: Vec<Hash>,
    /// Its commit certificate.
    pub(crate) certificate: Certificate,
    /// The header's time, ms since the Unix epoch.
    pub(crate) time_ms: u64,
}

/// Where and when a transaction was first seen final.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FinalSeen {
    /// The node that served the block.
    pub(crate) node: usize,
    /// The block's height.
    pub(crate) height: u64,
    /// Milliseconds since the load started.
    pub(crate) t_ms: u64,
}

/// A node's head at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct HeadSample {
    /// Milliseconds since the load started.
    pub(crate) t_ms: u64,
    /// The node.
    pub(crate) node: usize,
    /// Its head height.
    pub(crate) height: u64,
}

/// A perturbation as it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Window {
    /// Its kind (`kill`, `pause`, ...).
    pub(crate) kind: String,
    /// The node.
    pub(crate) node: usize,
    /// When it was applied, ms since the load started.
    pub(crate) start_ms: u64,
    /// When it ended (the node restarted, resumed or was reconnected).
    pub(crate) end_ms: u64,
    /// Why it was not applied, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) skipped: Option<String>,
}

/// What became of a transaction that a node admitted and no block holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TxEnd {
    /// A node answers `rejected` (evicted, or refused on resubmission), with why.
    Rejected(String),
    /// The chain passed its expiry height: it can never be included.
    Expired,
    /// Still `pending` in a mempool at the end.
    Pending,
    /// No node knows it and it has not expired: silently lost.
    Unknown,
}

/// An admitted transaction that no block holds at the end.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unresolved {
    /// The transaction.
    pub(crate) hash: Hash,
    /// What the nodes said at the end.
    pub(crate) end: TxEnd,
}

/// Everything the harness recorded.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    /// The chain id (certificates are verified against it).
    pub(crate) chain_id: Hash,
    /// How many nodes.
    pub(crate) nodes: usize,
    /// Every transaction of the load any node reported final, first sighting.
    pub(crate) final_seen: BTreeMap<Hash, FinalSeen>,
    /// Every node's blocks at the end, by height.
    pub(crate) blocks: Vec<BTreeMap<u64, BlockRec>>,
    /// Certificates seen during the run (node, certificate), e.g. before a wipe.
    pub(crate) certificates_seen: Vec<(usize, Certificate)>,
    /// Head samples, in time order.
    pub(crate) heads: Vec<HeadSample>,
    /// The perturbations.
    pub(crate) windows: Vec<Window>,
    /// The progress bound.
    pub(crate) progress_timeout_ms: u64,
    /// Admitted transactions that no block holds at the end.
    pub(crate) unresolved: Vec<Unresolved>,
    /// `equivocation` warnings in the nodes' logs (node, line).
    pub(crate) equivocation_logs: Vec<(usize, String)>,
    /// Nodes whose signer refuses to sign because it saw its key used elsewhere.
    pub(crate) signing_refused: Vec<(usize, String)>,
    /// A sample of final transactions: each node's `GET /v1/txs/{hash}` answer.
    pub(crate) receipts: Vec<(Hash, Vec<Option<Value>>)>,
    /// Nodes that exited (or failed to start) without the harness stopping them.
    pub(crate) exits: Vec<String>,
    /// When a tracker first saw each height final, by the harness's wall clock (ms
    /// since the Unix epoch).
    pub(crate) block_seen_wall_ms: BTreeMap<u64, u64>,
}

/// One check's verdict.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckResult {
    /// Whether the promise held.
    pub(crate) ok: bool,
    /// How much was checked.
    pub(crate) checked: u64,
    /// How many failures.
    pub(crate) failure_count: usize,
    /// The first failures.
    pub(crate) failures: Vec<String>,
}

impl CheckResult {
    fn new(checked: u64, failures: Vec<String>) -> Self {
        CheckResult {
            ok: failures.is_empty(),
            checked,
            failure_count: failures.len(),
            failures: failures.into_iter().take(FAILURES_LISTED_MAX).collect(),
        }
    }
}

/// How soon the chain, and the perturbed node, went on after a perturbation ended.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Recovery {
    /// The perturbation.
    #[serde(flatten)]
    pub(crate) window: Window,
    /// The highest head any node had when it ended.
    pub(crate) chain_height_at_end: u64,
    /// Ms after the end until some node's head passed that height.
    pub(crate) chain_progress_ms: Option<u64>,
    /// Ms after the end until the perturbed node's head reached it.
    pub(crate) node_back_ms: Option<u64>,
}

/// The checker's verdicts, by check.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Verdict {
    /// Whether every check passed.
    pub(crate) ok: bool,
    /// The names of the checks that failed.
    pub(crate) failed: Vec<&'static str>,
    /// Each check.
    pub(crate) checks: BTreeMap<&'static str, CheckResult>,
    /// Recovery after each perturbation.
    pub(crate) recoveries: Vec<Recovery>,
}

/// Runs every check over `h`.
pub(crate) fn check(h: &History) -> Verdict {
    let (progress, recoveries) = progress_after_perturbations(h);
    let checks: BTreeMap<&'static str, CheckResult> = [
        ("final_txs_everywhere", final_txs_everywhere(h)),
        ("blocks_agree", blocks_agree(h)),
        ("no_double_sign", no_double_sign(h)),
        ("progress_after_perturbations", progress),
        ("no_silent_loss", no_silent_loss(h)),
        ("block_times", block_times(h)),
        (
            "nodes_stay_up",
            CheckResult::new(h.nodes as u64, h.exits.clone()),
        ),
    ]
    .into_iter()
    .collect();
    let failed: Vec<&'static str> = checks
        .iter()
        .filter(|(_, c)| !c.ok)
        .map(|(name, _)| *name)
        .collect();
    Verdict {
        ok: failed.is_empty(),
        failed,
        checks,
        recoveries,
    }
}

/// The height of a node's last block.
fn head(blocks: &BTreeMap<u64, BlockRec>) -> u64 {
    blocks.keys().next_back().copied().unwrap_or(0)
}

/// (a) Every transaction any node reported final is, on every node, in the block of
/// that height; and the sampled receipts are the same everywhere.
fn final_txs_everywhere(h: &History) -> CheckResult {
    let mut failures = Vec::new();
    for (tx, seen) in &h.final_seen {
        for (node, blocks) in h.blocks.iter().enumerate() {
            match blocks.get(&seen.height) {
                None => failures.push(format!(
                    "tx {tx}, final at height {} on node {}, cannot be found on node {node}: \
                     it has no block {} (head {})",
                    seen.height,
                    seen.node,
                    seen.height,
                    head(blocks)
                )),
                Some(b) if !b.txs.contains(tx) => failures.push(format!(
                    "tx {tx}, final at height {} on node {}, is not in node {node}'s block {}",
                    seen.height, seen.node, seen.height
                )),
                Some(_) => {}
            }
        }
    }
    for (tx, answers) in &h.receipts {
        let first = answers.first().cloned().flatten();
        for (node, answer) in answers.iter().enumerate() {
            let ok = matches!(answer, Some(a) if a.get("status").and_then(Value::as_str)
                .is_some_and(|s| s == "final" || s == "rejected") && a.get("receipt").is_some());
            if !ok || *answer != first {
                failures.push(format!(
                    "tx {tx}: node {node} answers {} but node 0 {}",
                    answer.as_ref().map_or("nothing".into(), Value::to_string),
                    first.as_ref().map_or("nothing".into(), Value::to_string)
                ));
            }
        }
    }
    let checked = (h.final_seen.len() * h.blocks.len() + h.receipts.len()) as u64;
    CheckResult::new(checked, failures)
}

/// (b) All nodes agree on every block hash and app hash at every height that more
/// than one of them holds, and none misses a block below the lowest head.
fn blocks_agree(h: &History) -> CheckResult {
    let mut failures = Vec::new();
    let lowest = h.blocks.iter().map(head).min().unwrap_or(0);
    let highest = h.blocks.iter().map(head).max().unwrap_or(0);
    for height in 1..=highest {
        let mut first: Option<(usize, &BlockRec)> = None;
        for (node, blocks) in h.blocks.iter().enumerate() {
            let Some(b) = blocks.get(&height) else {
                if height <= lowest {
                    failures.push(format!("node {node} has no block {height}"));
                }
                continue;
            };
            match first {
                None => first = Some((node, b)),
                Some((n0, b0)) if b0.hash != b.hash || b0.app_hash != b.app_hash => {
                    failures.push(format!(
                        "fork at height {height}: node {n0} has block {} (app hash {}), \
                         node {node} has block {} (app hash {})",
                        b0.hash, b0.app_hash, b.hash, b.app_hash
                    ));
                }
                Some(_) => {}
            }
        }
    }
    CheckResult::new(lowest, failures)
}

/// (c) No validator signed precommits for two different blocks at one height and
/// round (every certificate signature seen, verified), no node logged an
/// equivocation, and no signer saw its key used by another process.
fn no_double_sign(h: &History) -> CheckResult {
    let mut failures = Vec::new();
    // (height, round, validator) -> (block, where it was seen)
    let mut signed: BTreeMap<(u64, u32, Address), (Hash, String)> = BTreeMap::new();
    let at_end = h.blocks.iter().enumerate().flat_map(|(node, blocks)| {
        blocks
            .values()
            .map(move |b| (node, "at the end", &b.certificate))
    });
    let during = h
        .certificates_seen
        .iter()
        .map(|(node, c)| (*node, "during the run", c));
    let mut checked = 0u64;
    let mut verified: BTreeSet<(u64, u32, Hash, Address)> = BTreeSet::new();
    for (node, when, cert) in at_end.chain(during) {
        let message = VoteBody {
            chain_id: h.chain_id,
            height: cert.height,
            round: cert.round,
            kind: VoteKind::Precommit,
            block: Some(cert.block),
        }
        .signing_bytes();
        for sig in &cert.signatures {
            checked += 1;
            let key = (cert.height, cert.round, cert.block, sig.validator);
            if !verified.contains(&key) {
                if jeon_runtime::crypto::verify(&sig.validator, &message, &sig.signature).is_err() {
                    failures.push(format!(
                        "node {node} served a certificate for block {} at height {} whose \
                         signature by {} does not verify",
                        cert.block, cert.height, sig.validator
                    ));
                    continue;
                }
                verified.insert(key);
            }
            let place = format!("node {node} {when}");
            let slot = (cert.height, cert.round, sig.validator);
            match signed.get(&slot) {
                Some((block, first)) if *block != cert.block => failures.push(format!(
                    "double sign: {} precommitted block {block} ({first}) and block {} \
                     ({place}) at height {} round {}",
                    sig.validator, cert.block, cert.height, cert.round
                )),
                Some(_) => {}
                None => {
                    signed.insert(slot, (cert.block, place));
                }
            }
        }
    }
    for (node, line) in &h.equivocation_logs {
        failures.push(format!("node {node} logged an equivocation: {line}"));
    }
    for (node, what) in &h.signing_refused {
        failures.push(format!(
            "node {node}'s signer saw its key sign what it did not: {what}"
        ));
    }
    CheckResult::new(checked, failures)
}

/// The highest head any node was sampled at, at or before `t_ms`.
fn chain_height_at(h: &History, t_ms: u64) -> u64 {
    let mut last: BTreeMap<usize, u64> = BTreeMap::new();
    for s in h.heads.iter().filter(|s| s.t_ms <= t_ms) {
        last.insert(s.node, s.height);
    }
    last.values().copied().max().unwrap_or(0)
}

/// (d) After each perturbation ends, some node's head passes the chain's height at
/// that moment, and the perturbed node's head reaches it, within the bound.
fn progress_after_perturbations(h: &History) -> (CheckResult, Vec<Recovery>) {
    let mut failures = Vec::new();
    let mut recoveries = Vec::new();
    for w in &h.windows {
        let at_end = chain_height_at(h, w.end_ms);
        if w.skipped.is_some() {
            // Listed, with nothing measured: the report says why it was skipped.
            recoveries.push(Recovery {
                window: w.clone(),
                chain_height_at_end: at_end,
                chain_progress_ms: None,
                node_back_ms: None,
            });
            continue;
        }
        let deadline = w.end_ms.saturating_add(h.progress_timeout_ms);
        let after = h
            .heads
            .iter()
            .filter(|s| s.t_ms > w.end_ms && s.t_ms <= deadline);
        let chain = after
            .clone()
            .find(|s| s.height > at_end)
            .map(|s| s.t_ms - w.end_ms);
        let back = after
            .filter(|s| s.node == w.node && s.height >= at_end)
            .map(|s| s.t_ms - w.end_ms)
            .next();
        let what = format!(
            "{} of node {} ended at {:.1} s (chain height {at_end})",
            w.kind,
            w.node,
            w.end_ms as f64 / 1000.0
        );
        let limit = h.progress_timeout_ms as f64 / 1000.0;
        if chain.is_none() {
            failures.push(format!(
                "{what}: the chain did not advance within {limit} s"
            ));
        }
        if back.is_none() {
            failures.push(format!(
                "{what}: node {} did not get back to that height within {limit} s",
                w.node
            ));
        }
        recoveries.push(Recovery {
            window: w.clone(),
            chain_height_at_end: at_end,
            chain_progress_ms: chain,
            node_back_ms: back,
        });
    }
    let checked = h.windows.iter().filter(|w| w.skipped.is_none()).count() as u64;
    (CheckResult::new(checked, failures), recoveries)
}

/// (e) Every admitted transaction is final, or explicitly rejected or expired: none
/// is still pending or forgotten by every node.
/// Block times never go back along a node's chain, and no block's time is more than
/// [`BLOCK_TIME_DRIFT_MAX_MS`] ahead of the harness's clock when it was first seen
/// final (docs/consensus.md: a proposal further ahead of a validator's clock is
/// refused; a validator whose clock runs ahead cannot push the chain's time ahead).
fn block_times(h: &History) -> CheckResult {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (node, blocks) in h.blocks.iter().enumerate() {
        let mut prev: Option<(u64, u64)> = None;
        for (height, b) in blocks {
            checked += 1;
            if let Some((ph, pt)) = prev.filter(|(_, pt)| b.time_ms < *pt) {
                failures.push(format!(
                    "node {node}: block {height}'s time {} is before block {ph}'s {pt}",
                    b.time_ms
                ));
            }
            prev = Some((*height, b.time_ms));
            if node > 0 {
                continue; // the bound is the same for every node's copy
            }
            let Some(seen) = h.block_seen_wall_ms.get(height) else {
                continue;
            };
            if b.time_ms > seen + BLOCK_TIME_DRIFT_MAX_MS {
                failures.push(format!(
                    "block {height}'s time {} is {} ms ahead of the clock when it was final",
                    b.time_ms,
                    b.time_ms - seen
                ));
            }
        }
    }
    CheckResult::new(checked, failures)
}

fn no_silent_loss(h: &History) -> CheckResult {
    let failures = h
        .unresolved
        .iter()
        .filter_map(|u| match &u.end {
            TxEnd::Rejected(_) | TxEnd::Expired => None,
            TxEnd::Pending => Some(format!(
                "tx {} was admitted and is still pending at the end",
                u.hash
            )),
            TxEnd::Unknown => Some(format!(
                "tx {} was admitted and no node knows it (not final, not rejected, not expired)",
                u.hash
            )),
        })
        .collect();
    CheckResult::new(h.unresolved.len() as u64, failures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::block::CommitSig;
    use jeon_runtime::Keypair;

    const CHAIN: Hash = Hash([7; 32]);

    fn keys() -> Vec<Keypair> {
        (0..4)
            .map(|i| Keypair::from_seed_label(&format!("chaos-check-{i}")))
            .collect()
    }

    /// A certificate for `block` at `height`, round `round`, signed by `signers`.
    fn cert(height: u64, round: u32, block: Hash, signers: &[usize]) -> Certificate {
        let keys = keys();
        let message = VoteBody {
            chain_id: CHAIN,
            height,
            round,
            kind: VoteKind::Precommit,
            block: Some(block),
        }
        .signing_bytes();
        Certificate {
            height,
            round,
            block,
            signatures: signers
                .iter()
                .map(|&i| CommitSig {
                    validator: keys[i].address(),
                    signature: keys[i].sign(&message),
                })
                .collect(),
        }
    }

    fn hash(n: u64) -> Hash {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&n.to_le_bytes());
        Hash(h)
    }

    fn block(height: u64, salt: u64, txs: &[u64]) -> BlockRec {
        let id = hash(height * 1000 + salt);
        BlockRec {
            hash: id,
            app_hash: hash(height + 500_000 + salt),
            txs: txs.iter().map(|t| hash(900_000 + t)).collect(),
            certificate: cert(height, 0, id, &[0, 1, 2]),
            time_ms: 1_000 * height,
        }
    }

    /// Four nodes with ten identical blocks; tx t is in block t; heads every second
    /// for 40 s, rising one a second; a kill of node 1 from 5 s to 8 s.
    fn healthy() -> History {
        let chain: BTreeMap<u64, BlockRec> = (1..=10).map(|h| (h, block(h, 0, &[h]))).collect();
        let mut heads = Vec::new();
        for t in 0..40u64 {
            for node in 0..4 {
                heads.push(HeadSample {
                    t_ms: t * 1000,
                    node,
                    height: t,
                });
            }
        }
        History {
            chain_id: CHAIN,
            nodes: 4,
            final_seen: (1..=10)
                .map(|t| {
                    let seen = FinalSeen {
                        node: (t % 4) as usize,
                        height: t,
                        t_ms: t * 100,
                    };
                    (hash(900_000 + t), seen)
                })
                .collect(),
            blocks: vec![chain; 4],
            certificates_seen: vec![(1, cert(3, 0, hash(3000), &[1, 2, 3]))],
            heads,
            windows: vec![Window {
                kind: "kill".into(),
                node: 1,
                start_ms: 5_000,
                end_ms: 8_000,
                skipped: None,
            }],
            progress_timeout_ms: 20_000,
            unresolved: vec![
                Unresolved {
                    hash: hash(1),
                    end: TxEnd::Expired,
                },
                Unresolved {
                    hash: hash(2),
                    end: TxEnd::Rejected("evicted".into()),
                },
            ],
            equivocation_logs: Vec::new(),
            signing_refused: Vec::new(),
            exits: Vec::new(),
            block_seen_wall_ms: BTreeMap::new(),
            receipts: vec![(
                hash(900_001),
                vec![Some(serde_json::json!({"status": "final", "receipt": {"fee": 10}})); 4],
            )],
        }
    }

    fn failed(h: &History) -> Vec<&'static str> {
        check(h).failed
    }

    #[test]
    fn a_healthy_history_passes_every_check() {
        let v = check(&healthy());
        assert!(v.ok, "{v:#?}");
        assert_eq!(v.recoveries[0].chain_progress_ms, Some(1_000));
        assert_eq!(v.recoveries[0].node_back_ms, Some(1_000));
    }

    #[test]
    fn block_times_that_go_back_or_run_ahead_of_the_clock_fail() {
        let mut h = healthy();
        h.block_seen_wall_ms = (1..=10).map(|t| (t, 1_000 * t + 300)).collect();
        assert!(check(&h).ok);
        // Block 5 dated before block 4 on node 1.
        let mut back = h.clone();
        if let Some(b) = back.blocks[1].get_mut(&5) {
            b.time_ms = 3_999;
        }
        assert_eq!(failed(&back), ["block_times"]);
        // Block 6 dated 20 s after it was seen final: a fast clock's proposal got in.
        let mut ahead = h.clone();
        for blocks in &mut ahead.blocks {
            for t in 6..=10 {
                if let Some(b) = blocks.get_mut(&t) {
                    b.time_ms += 20_000;
                }
            }
        }
        let v = check(&ahead);
        assert_eq!(v.failed, ["block_times"]);
        assert!(
            v.checks["block_times"].failures[0].contains("block 6's time"),
            "{v:#?}"
        );
    }

    #[test]
    fn a_fork_fails_blocks_agree() {
        let mut h = healthy();
        h.blocks[2].insert(6, block(6, 1, &[6]));
        // Two blocks certified at one height: three validators signed both.
        assert_eq!(failed(&h), ["blocks_agree", "no_double_sign"]);
        // Only the app hash differing is a fork too.
        let mut h = healthy();
        if let Some(b) = h.blocks[3].get_mut(&4) {
            b.app_hash = hash(1);
        }
        assert_eq!(failed(&h), ["blocks_agree"]);
    }

    #[test]
    fn a_lost_final_tx_fails() {
        // Node 2 lost block 7 (its head is 10): both the tx and the block are missing.
        let mut h = healthy();
        h.blocks[2].remove(&7);
        assert_eq!(failed(&h), ["blocks_agree", "final_txs_everywhere"]);
        // A block that no longer lists a final transaction.
        let mut h = healthy();
        if let Some(b) = h.blocks[1].get_mut(&5) {
            b.txs.clear();
        }
        assert_eq!(failed(&h), ["final_txs_everywhere"]);
        // A receipt that differs on one node.
        let mut h = healthy();
        h.receipts[0].1[3] = Some(serde_json::json!({"status": "final", "receipt": {"fee": 11}}));
        assert_eq!(failed(&h), ["final_txs_everywhere"]);
    }

    #[test]
    fn a_double_sign_fails() {
        // Validator 1 precommits another block at height 3 round 0: seen on node 1
        // before a wipe.
        let mut h = healthy();
        h.certificates_seen.push((1, cert(3, 0, hash(42), &[1, 3])));
        let v = check(&h);
        assert_eq!(v.failed, ["no_double_sign"]);
        assert!(v.checks["no_double_sign"].failures[0].contains("double sign"));
        // A different round is not a double sign.
        let mut h = healthy();
        h.certificates_seen.push((1, cert(3, 1, hash(42), &[1, 3])));
        assert!(check(&h).ok);
        // A forged signature is refused, not counted.
        let mut h = healthy();
        let mut forged = cert(4, 0, hash(43), &[1]);
        forged.signatures[0].signature = jeon_runtime::Signature([9; 64]);
        h.certificates_seen.push((0, forged));
        assert_eq!(failed(&h), ["no_double_sign"]);
        // An equivocation in a log, and a signer that saw its key elsewhere.
        let mut h = healthy();
        h.equivocation_logs
            .push((2, "{\"message\":\"equivocation\"}".into()));
        assert_eq!(failed(&h), ["no_double_sign"]);
        let mut h = healthy();
        h.signing_refused.push((0, "refused".into()));
        assert_eq!(failed(&h), ["no_double_sign"]);
    }

    #[test]
    fn a_stall_after_a_perturbation_fails() {
        // The heads stop at 8 from 8 s on: nothing passes the height at the end.
        let mut h = healthy();
        for s in &mut h.heads {
            s.height = s.height.min(8);
        }
        let v = check(&h);
        assert_eq!(v.failed, ["progress_after_perturbations"]);
        assert_eq!(v.recoveries[0].chain_progress_ms, None);
        // The chain goes on but the perturbed node stays behind.
        let mut h = healthy();
        for s in h.heads.iter_mut().filter(|s| s.node == 1) {
            s.height = s.height.min(5);
        }
        let v = check(&h);
        assert_eq!(v.failed, ["progress_after_perturbations"]);
        assert!(v.recoveries[0].node_back_ms.is_none());
        // A slower bound than the recovery: fails with 500 ms.
        let mut h = healthy();
        h.progress_timeout_ms = 500;
        assert_eq!(failed(&h), ["progress_after_perturbations"]);
    }

    #[test]
    fn an_admitted_tx_that_vanished_or_still_waits_fails() {
        let mut h = healthy();
        h.unresolved.push(Unresolved {
            hash: hash(3),
            end: TxEnd::Unknown,
        });
        assert_eq!(failed(&h), ["no_silent_loss"]);
        let mut h = healthy();
        h.unresolved.push(Unresolved {
            hash: hash(3),
            end: TxEnd::Pending,
        });
        assert_eq!(failed(&h), ["no_silent_loss"]);
    }

    #[test]
    fn a_skipped_perturbation_is_listed_but_not_held_to_progress() {
        // A clock skew (skipped) at the very end, when nothing is sampled after it.
        let mut h = healthy();
        h.windows.push(Window {
            kind: "clock_skew".into(),
            node: 3,
            start_ms: 39_500,
            end_ms: 39_500,
            skipped: Some("needs libfaketime".into()),
        });
        let v = check(&h);
        assert!(v.ok, "{v:#?}");
        assert_eq!(v.recoveries.len(), 2);
        assert_eq!(v.checks["progress_after_perturbations"].checked, 1);
        // The same window, applied, fails: no sample follows it.
        h.windows[1].skipped = None;
        assert_eq!(failed(&h), ["progress_after_perturbations"]);
    }

    #[test]
    fn a_node_that_exits_by_itself_fails() {
        let mut h = healthy();
        h.exits
            .push("node 2 exited at 12.0 s: exit status 101".into());
        assert_eq!(failed(&h), ["nodes_stay_up"]);
    }
}
