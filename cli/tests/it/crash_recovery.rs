//! A node killed at any point of its commit path restarts with every final
//! transaction still final, with the same receipt, and balances that add up.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{
    balance, chain_id, get, post, transfer, tx_hex, tx_status, wait_until, DevNode,
};
use jeon_runtime::Hash;
use serde_json::{json, Value};

const TRANSFERS: u64 = 40;
const AMOUNT: u64 = 700;
/// The fee of each transfer: the presets' base fee (blocks this small never raise it,
/// and 40 transfers stay below the first volume tier).
const FEE: u64 = jeon_genesis::presets::BASE_FEE_MIN;

/// Runs one crash scenario: submits transfers from alice to bob while the node runs
/// with `crash_env` (or is killed with SIGKILL after some are final when `kill_after`
/// is set), restarts it, and checks that nothing final was lost. Returns how many
/// transfers were seen final before the crash.
fn crash_and_recover(crash_env: &[(&str, &str)], kill_after_final: Option<usize>) -> usize {
    crash_and_recover_shaped(crash_env, kill_after_final, Shape::ONE_BY_ONE)
}

/// How the transfers are submitted.
#[derive(Clone, Copy)]
struct Shape {
    transfers: u64,
    /// Pause after each submission, when finals are also recorded; with none, the
    /// transfers arrive back to back and finals are recorded every 20 submissions.
    pause_ms: u64,
}

impl Shape {
    /// One at a time, so the crash lands among several blocks.
    const ONE_BY_ONE: Shape = Shape {
        transfers: TRANSFERS,
        pause_ms: 15,
    };
    /// Back to back, so each height starts with transactions waiting and builds its
    /// block while the last one is still being applied.
    const BURST: Shape = Shape {
        transfers: 300,
        pause_ms: 0,
    };
}

fn crash_and_recover_shaped(
    crash_env: &[(&str, &str)],
    kill_after_final: Option<usize>,
    shape: Shape,
) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    // First start: writes genesis and keys, then stops cleanly at once.
    let first = DevNode::start(&data, &[]);
    let alice = first.key("alice");
    let bob = first.key("bob").address();
    let chain = chain_id(&first.api);
    let alice_start = balance(&first.api, &alice.address(), 0);
    let bob_start = balance(&first.api, &bob, 0);
    drop(first);

    let mut node = DevNode::start(&data, crash_env);
    let txs: Vec<_> = (0..shape.transfers)
        .map(|n| transfer(chain, &alice, n, bob, AMOUNT))
        .collect();
    let mut seen_final: BTreeMap<Hash, Value> = BTreeMap::new();
    for (n, tx) in txs.iter().enumerate() {
        let (code, _) = match std::panic::catch_unwind(|| {
            post(&node.api, "/v1/txs", &json!({"tx": tx_hex(tx)}))
        }) {
            Ok(r) => r,
            Err(_) => break, // the node died at its crash point
        };
        if code != 202 {
            break;
        }
        if shape.pause_ms > 0 {
            std::thread::sleep(Duration::from_millis(shape.pause_ms));
        } else if n % 20 != 19 {
            continue;
        }
        record_finals(&node.api, &txs, &mut seen_final);
        if kill_after_final.is_some_and(|k| seen_final.len() >= k) {
            node.kill9();
            break;
        }
    }
    if kill_after_final.is_none() {
        let exited = node.wait_exit(Duration::from_secs(30));
        assert!(
            exited.is_some(),
            "the node should have aborted at its crash point {crash_env:?}"
        );
    }
    drop(node);

    // Restart without the crash point: everything seen final is still final, unchanged.
    let node = DevNode::start(&data, &[]);
    for (hash, before) in &seen_final {
        let after = tx_status(&node.api, hash).expect("status after restart");
        assert_eq!(
            after["status"], "final",
            "tx {hash} was final before the crash: {after}"
        );
        assert_eq!(after["height"], before["height"]);
        assert_eq!(after["receipt"], before["receipt"]);
    }
    // Resubmit everything; already-final ones are refused as stale, the rest complete.
    for tx in &txs {
        let _ = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(tx)}));
    }
    let all_final = wait_until(Duration::from_secs(30), || {
        txs.iter()
            .all(|t| tx_status(&node.api, &t.hash()).is_some_and(|s| s["status"] == "final"))
    });
    assert!(all_final, "every transfer becomes final after the restart");
    let moved = shape.transfers * AMOUNT;
    assert_eq!(balance(&node.api, &bob, 0), bob_start + moved);
    // Each receipt's fee: the base fee, or less once the sender's volume reaches a tier.
    let fees: u64 = txs
        .iter()
        .map(|t| {
            let status = tx_status(&node.api, &t.hash()).expect("status");
            status["receipt"]["fee"]
                .as_u64()
                .expect("a final receipt has a fee")
        })
        .sum();
    if shape.transfers == TRANSFERS {
        assert_eq!(fees, TRANSFERS * FEE);
    }
    assert_eq!(
        balance(&node.api, &alice.address(), 0),
        alice_start - moved - fees
    );
    seen_final.len()
}

fn record_finals(api: &str, txs: &[jeon_runtime::SignedTx], seen: &mut BTreeMap<Hash, Value>) {
    for tx in txs {
        let hash = tx.hash();
        if seen.contains_key(&hash) {
            continue;
        }
        match tx_status(api, &hash) {
            Some(s) if s["status"] == "final" => {
                seen.insert(hash, s);
            }
            _ => {}
        }
    }
}

#[test]
fn a_crash_before_a_block_is_written_loses_nothing_final() {
    crash_and_recover(&[("JEON_CRASH_POINT", "commit.before_write:4")], None);
}

#[test]
fn a_crash_between_applying_and_flushing_a_batch_loses_nothing_final() {
    // Every store write counts. On a restart genesis is not rewritten, and the signer's
    // records live in their own files (DATA/signer), so each height writes one batch:
    // its block. The 8th and 10th writes are blocks among the transfers.
    crash_and_recover(&[("JEON_CRASH_POINT", "store.before_flush:8")], None);
    crash_and_recover(&[("JEON_CRASH_POINT", "store.before_flush:10")], None);
}

#[test]
fn a_crash_between_writing_and_renaming_a_signer_record_loses_nothing_final() {
    // Four signer file writes a height (the proposal's record, the prevote's, then the
    // precommit's lock proof and its record): the 7th and 9th land mid-height among the
    // transfers' blocks. The torn temp file is ignored on restart and the record
    // before it holds.
    crash_and_recover(&[("JEON_CRASH_POINT", "signer.before_rename:7")], None);
    crash_and_recover(&[("JEON_CRASH_POINT", "signer.before_rename:9")], None);
}

#[test]
fn a_crash_after_a_block_is_durable_but_before_it_is_reported_loses_nothing() {
    crash_and_recover(&[("JEON_CRASH_POINT", "commit.after_write:3")], None);
}

#[test]
fn a_crash_after_a_block_is_reported_final_but_before_the_store_holds_it_loses_nothing() {
    // The block was final (its record synced, its transactions answered `final`), and
    // sled never got its batch: the start replays it from the block log.
    crash_and_recover(&[("JEON_CRASH_POINT", "commit.after_report:3")], None);
    crash_and_recover(&[("JEON_CRASH_POINT", "commit.after_report:6")], None);
}

#[test]
fn a_block_reported_final_and_then_lost_by_the_store_is_replayed_not_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let first = DevNode::start(&data, &[]);
    let alice = first.key("alice");
    let bob = first.key("bob").address();
    let chain = chain_id(&first.api);
    drop(first);
    let mut node = DevNode::start(&data, &[("JEON_CRASH_POINT", "commit.after_report:2")]);
    let mut reported = 0;
    for n in 0..20 {
        let tx = transfer(chain, &alice, n, bob, AMOUNT);
        match std::panic::catch_unwind(|| post(&node.api, "/v1/txs", &json!({"tx": tx_hex(&tx)}))) {
            Ok((202, _)) => reported = n + 1,
            _ => break,
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(reported > 0, "transfers were accepted before the crash");
    assert!(
        node.wait_exit(Duration::from_secs(30)).is_some(),
        "the node aborts right after reporting its second block"
    );
    drop(node);
    let log = dir.path().join("restart.log");
    let node = DevNode::start_with(&data, &[], &[], Some(&log));
    let head = get(&node.api, "/v1/status").expect("status")["height"]
        .as_u64()
        .expect("height");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("executed and stored again"),
        "the start replays the block the store lacked: {text}"
    );
    assert!(
        head >= 2,
        "the replayed block is the head or below it: {head}"
    );
}

#[test]
fn a_crash_halfway_through_inserting_a_batch_loses_nothing_final() {
    // Every store batch passes the point once, halfway through its inserts; the 21st is
    // a block of transfers (the first restarted heights come at once). The store holds
    // part of the block and not its head; the batch's write-ahead record finishes it at
    // the next start (`store::tests::a_batch_a_crash_interrupted_is_finished_at_open_…`
    // checks the finishing itself, key by key).
    let finals = crash_and_recover(&[("JEON_CRASH_POINT", "store.mid_batch:21")], None);
    assert!(
        finals > 0,
        "the crash lands among the transfers, after some are final"
    );
}

#[test]
fn kill_9_under_load_loses_nothing_final() {
    crash_and_recover(&[], Some(10));
}

#[test]
fn a_crash_after_a_block_record_is_written_but_before_it_is_indexed_loses_nothing_final() {
    // The record of the 3rd block committed after the restart is in its segment, its
    // sled batch (state, index, head) is not: recovery cuts the record back out.
    crash_and_recover(&[("JEON_CRASH_POINT", "commit.after_segment:3")], None);
}

#[test]
fn a_crash_after_a_block_is_durable_but_before_its_transactions_are_indexed_loses_nothing() {
    // The index is derived from the block records and rebuilt on start.
    crash_and_recover(&[("JEON_CRASH_POINT", "commit.before_index:3")], None);
}

#[test]
fn a_crash_with_the_next_block_executed_before_the_last_is_applied_loses_nothing_final() {
    // The commit pipeline: block h is durable in its segment and handed to the commit
    // thread; the next block is built and executed on h's staged state; the node dies
    // before signing it, while h may not be applied yet. Whatever the store holds, h is
    // cut back or kept whole, and nothing reported final is lost.
    crash_and_recover_shaped(
        &[("JEON_CRASH_POINT", "commit.next_before_previous_applied:3")],
        None,
        Shape::BURST,
    );
}

#[test]
fn a_crash_before_a_segment_append_is_synced_loses_nothing_final() {
    crash_and_recover(&[("JEON_CRASH_POINT", "segment.before_sync:2")], None);
}

/// Runs a dev chain in `data` until a few transfers are final, stops it, and returns
/// the final ones' statuses.
fn chain_with_finals(data: &std::path::Path) -> BTreeMap<Hash, Value> {
    let node = DevNode::start(data, &[]);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let chain = chain_id(&node.api);
    let txs: Vec<_> = (0..5)
        .map(|n| transfer(chain, &alice, n, bob, AMOUNT))
        .collect();
    for tx in &txs {
        let (code, body) = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(tx)}));
        assert_eq!(code, 202, "{body}");
    }
    let mut finals = BTreeMap::new();
    let done = wait_until(Duration::from_secs(30), || {
        record_finals(&node.api, &txs, &mut finals);
        finals.len() == txs.len()
    });
    assert!(done, "the transfers become final");
    finals
}

/// The newest block segment file in a dev data dir.
fn last_segment(data: &std::path::Path) -> std::path::PathBuf {
    let mut segments: Vec<_> = std::fs::read_dir(data.join("blocks"))
        .expect("blocks dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    segments.pop().expect("a segment")
}

#[test]
fn a_torn_record_at_the_end_of_a_segment_is_cut_off_and_nothing_final_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let finals = chain_with_finals(&data);
    // A crash mid-append: a frame header claiming 500 bytes, then only 7 of them.
    let segment = last_segment(&data);
    let len = std::fs::metadata(&segment).expect("segment").len();
    let mut torn = Vec::new();
    torn.extend_from_slice(&500u32.to_le_bytes());
    torn.extend_from_slice(&u64::MAX.to_le_bytes());
    torn.extend_from_slice(&[0xab; 8 + 7]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .expect("open segment");
    std::io::Write::write_all(&mut file, &torn).expect("append");
    drop(file);

    let node = DevNode::start(&data, &[]);
    assert_eq!(
        std::fs::metadata(&segment).expect("segment").len(),
        len,
        "the torn frame is cut"
    );
    for (hash, before) in &finals {
        let after = tx_status(&node.api, hash).expect("status");
        assert_eq!(after["receipt"], before["receipt"], "tx {hash}");
    }
    // And the chain goes on, appending after the cut.
    let head = |api: &str| -> u64 {
        crate::common::get(api, "/v1/status")
            .and_then(|s| s["height"].as_u64())
            .unwrap_or(0)
    };
    let start = head(&node.api);
    assert!(wait_until(Duration::from_secs(30), || head(&node.api) > start + 1));
}

#[test]
fn a_head_block_whose_record_is_damaged_stops_the_node_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    chain_with_finals(&data);
    // Lose the last bytes of the head's record: storage lied about a sync.
    let segment = last_segment(&data);
    let len = std::fs::metadata(&segment).expect("segment").len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .expect("open segment");
    file.set_len(len - 3).expect("truncate");
    drop(file);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jeon"))
        .args(["dev", "--data"])
        .arg(&data)
        .args(["--api", "127.0.0.1:0"])
        .output()
        .expect("run jeon dev");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the node must not start: {stderr}");
    assert_ne!(out.status.code(), Some(101), "no panic: {stderr}");
    assert!(
        stderr.contains("block") && stderr.contains("head"),
        "the error names the missing head block: {stderr}"
    );
}
