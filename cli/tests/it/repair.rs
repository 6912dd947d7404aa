//! `jeon repair` on a real `jeon dev` data directory: a damaged database the node
//! refuses is rebuilt from the node's own block files, and the node starts again with
//! the same blocks, receipts and balances; a healthy directory is left as it is; a torn
//! last block record is recovered up to the last whole block.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::common::{
    balance, chain_id, get, jeon, post, transfer, tx_hex, tx_status, wait_until, DevNode,
};
use jeon_node::store::{SledStore, Store};
use jeon_runtime::state::keys;
use jeon_runtime::Hash;
use serde_json::{json, Value};

const TRANSFERS: u64 = 12;
const AMOUNT: u64 = 500;

/// What a chain looked like before it was damaged.
struct Before {
    /// Final transactions' statuses.
    finals: BTreeMap<Hash, Value>,
    /// Block hashes by height, as the API served them.
    hashes: BTreeMap<u64, Value>,
    /// Alice's and bob's balances.
    balances: (u64, u64),
    /// The stored head: (height, block hash), as `jeon repair` reads it.
    head: (u64, String),
}

/// A dev chain in `data` with [`TRANSFERS`] final transfers in several blocks, then
/// stopped (SIGKILL).
fn chain_with_transfers(data: &Path) -> Before {
    let node = DevNode::start(data, &[]);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let chain = chain_id(&node.api);
    let mut finals = BTreeMap::new();
    for n in 0..TRANSFERS {
        let tx = transfer(chain, &alice, n, bob, AMOUNT);
        let (code, body) = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(&tx)}));
        assert_eq!(code, 202, "{body}");
        if n % 4 == 3 || n + 1 == TRANSFERS {
            // Wait for this one, so the transfers spread over several blocks.
            let fin = wait_until(Duration::from_secs(30), || {
                tx_status(&node.api, &tx.hash()).is_some_and(|s| s["status"] == "final")
            });
            assert!(fin, "transfer {n} becomes final");
        }
    }
    let txs: Vec<Hash> = (0..TRANSFERS)
        .map(|n| transfer(chain, &alice, n, bob, AMOUNT).hash())
        .collect();
    for hash in txs {
        let status = tx_status(&node.api, &hash).expect("status");
        assert_eq!(status["status"], "final", "{status}");
        finals.insert(hash, status);
    }
    let balances = (
        balance(&node.api, &alice.address(), 0),
        balance(&node.api, &bob, 0),
    );
    let top = get(&node.api, "/v1/status")
        .and_then(|s| s["height"].as_u64())
        .expect("height");
    let hashes = (1..=top)
        .map(|h| {
            let b = get(&node.api, &format!("/v1/blocks/{h}")).expect("block");
            (h, b["hash"].clone())
        })
        .collect();
    drop(node);
    // The node is stopped: repair on the healthy directory changes nothing and says
    // where its head is.
    let healthy = repair(data);
    assert_eq!(healthy["repaired"], false, "{healthy}");
    let head = (
        healthy["height"].as_u64().expect("height"),
        healthy["block_hash"].as_str().expect("hash").to_owned(),
    );
    assert!(head.0 >= top, "{healthy}");
    assert!(!data.join("repair").exists());
    Before {
        finals,
        hashes,
        balances,
        head,
    }
}

/// Runs `jeon repair --data DIR --output json`, expecting exit code 0.
fn repair(data: &Path) -> Value {
    let out = jeon()
        .args(["repair", "--output", "json", "--data"])
        .arg(data)
        .output()
        .expect("run jeon repair");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let value: Value = serde_json::from_slice(&out.stdout).expect("json");
    println!("jeon repair: {value}");
    value
}

/// Cuts the database's main file to half, and checks the node now refuses to start.
fn damage_db(data: &Path) {
    let file = data.join("db").join("db");
    let len = std::fs::metadata(&file).expect("db").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate db");
    let log = data.with_extension("refused.log");
    let mut child = jeon()
        .args(["dev", "--api", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn jeon dev");
    let exited = wait_until(Duration::from_secs(20), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(exited, "the node refuses the damaged database: {stderr}");
    assert_eq!(child.wait().expect("status").code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("jeon repair"),
        "the refusal names the fix: {stderr}"
    );
}

/// The restarted node serves every block up to `upto` with the hash it had, and every
/// final transaction in them with its receipt.
fn assert_same_chain(node: &DevNode, before: &Before, upto: u64) {
    for (h, hash) in before.hashes.range(..=upto) {
        let b = get(&node.api, &format!("/v1/blocks/{h}")).expect("block");
        assert_eq!(&b["hash"], hash, "block {h}");
    }
    for (hash, status) in &before.finals {
        if status["height"].as_u64().is_some_and(|h| h <= upto) {
            let after = tx_status(&node.api, hash).expect("status");
            assert_eq!(after["status"], "final", "tx {hash}: {after}");
            assert_eq!(after["receipt"], status["receipt"], "tx {hash}");
        }
    }
}

/// A node restarted on a rebuilt database serves the chain it had up to the repaired
/// head, and alice's and bob's balances as they were.
fn assert_rebuilt(node: &DevNode, before: &Before) {
    assert_same_chain(node, before, before.head.0);
    let alice = node.key("alice").address();
    let bob = node.key("bob").address();
    assert_eq!(
        (balance(&node.api, &alice, 0), balance(&node.api, &bob, 0)),
        before.balances
    );
}

#[test]
fn a_damaged_database_is_rebuilt_from_the_block_files_with_the_same_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let before = chain_with_transfers(&data);
    damage_db(&data);

    let out = repair(&data);
    assert_eq!(out["repaired"], true, "{out}");
    assert_eq!(out["height"], before.head.0, "{out}");
    assert_eq!(out["block_hash"], before.head.1.as_str(), "{out}");
    assert!(out.get("stopped_at").is_none(), "{out}");
    let damaged = Path::new(out["damaged_files"].as_str().expect("path"));
    assert!(damaged.starts_with(&data), "{out}");
    for sub in ["db", "blocks", "txindex"] {
        assert!(damaged.join(sub).is_dir(), "{sub} moved aside");
    }
    assert!(data.join("keys").is_dir() && data.join("genesis.json").is_file());

    let node = DevNode::start(&data, &[]);
    let height = get(&node.api, "/v1/status")
        .and_then(|s| s["height"].as_u64())
        .expect("height");
    assert!(height >= before.head.0, "{height}");
    assert_rebuilt(&node, &before);
    drop(node);

    // Bad input changes nothing and exits 2.
    let out = jeon()
        .args(["repair", "--data"])
        .arg(dir.path().join("missing"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// sled can roll entries back silently and still open with its head readable: the
/// "nothing to repair" check sums the whole state against the head's app hash, so
/// such a database is rebuilt, not passed as healthy.
#[test]
fn a_database_whose_state_lost_a_write_is_rebuilt_though_its_head_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let before = chain_with_transfers(&data);
    {
        let store = SledStore::open(&data.join("db")).expect("the database opens");
        let entries = store.scan_prefix(b"S", usize::MAX).expect("state");
        let (key, mut value) = entries
            .into_iter()
            .find(|(k, _)| keys::is_committed(&k[1..]))
            .expect("a committed state entry");
        value.push(0);
        store
            .write_batch(vec![(key, Some(value))])
            .expect("an entry changed as if a write were lost");
    }

    let out = repair(&data);
    assert_eq!(out["repaired"], true, "{out}");
    assert_eq!(out["height"], before.head.0, "{out}");
    assert_eq!(out["block_hash"], before.head.1.as_str(), "{out}");
    let node = DevNode::start(&data, &[]);
    assert_rebuilt(&node, &before);
}

#[test]
fn a_torn_last_block_record_is_recovered_up_to_the_last_whole_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let before = chain_with_transfers(&data);
    // Tear the head's record: cut the last segment in the middle of its last frame.
    let mut segments: Vec<_> = std::fs::read_dir(data.join("blocks"))
        .expect("blocks")
        .map(|e| e.expect("entry").path())
        .collect();
    segments.sort();
    let last = segments.last().expect("a segment");
    let bytes = std::fs::read(last).expect("segment");
    let mut at = 0;
    let mut last_frame = 0;
    while at + 20 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
        last_frame = at;
        at += 20 + len;
    }
    let cut = last_frame + 20 + (bytes.len() - last_frame - 20) / 2;
    std::fs::OpenOptions::new()
        .write(true)
        .open(last)
        .and_then(|f| f.set_len(cut as u64))
        .expect("tear");
    damage_db(&data);

    let out = repair(&data);
    let whole = before.head.0 - 1;
    assert_eq!(out["repaired"], true, "{out}");
    assert_eq!(out["height"], whole, "{out}");
    assert_eq!(out["stopped_at"]["height"], before.head.0, "{out}");
    let reason = out["stopped_at"]["reason"].as_str().expect("reason");
    assert!(reason.contains("torn or damaged frame"), "{reason}");

    let node = DevNode::start(&data, &[]);
    assert_same_chain(&node, &before, whole);
}

#[test]
fn pruned_block_files_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    chain_with_transfers(&data);
    // What pruning leaves: block files that start above height 1 (here: at 3).
    let first = data.join("blocks").join("00000000000000000001.seg");
    let bytes = std::fs::read(&first).expect("segment");
    let mut at = 0;
    while u64::from_le_bytes(bytes[at + 4..at + 12].try_into().expect("8")) < 3 {
        at += 20 + u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
    }
    std::fs::write(
        data.join("blocks").join("00000000000000000003.seg"),
        &bytes[at..],
    )
    .expect("write segment");
    std::fs::remove_file(&first).expect("remove segment");
    damage_db(&data);
    let db_len = std::fs::metadata(data.join("db").join("db"))
        .expect("db")
        .len();

    let out = jeon()
        .args(["repair", "--data"])
        .arg(&data)
        .output()
        .expect("run jeon repair");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("start at height 3"), "{stderr}");
    assert!(stderr.contains("jeon snapshot import"), "{stderr}");
    let mut entries: Vec<String> = std::fs::read_dir(&data)
        .expect("data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert!(
        !entries
            .iter()
            .any(|e| e.starts_with("repair") || e.starts_with("damaged")),
        "{entries:?}"
    );
    assert_eq!(
        std::fs::metadata(data.join("db").join("db"))
            .expect("db")
            .len(),
        db_len
    );
}
