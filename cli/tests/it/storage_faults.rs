//! Storage faults on a real `jeon dev` process: a damaged database is refused with a
//! clear message (never a panic, never final blocks cut), a damaged block record is
//! reported when read and never served, and a full disk pauses consensus (reads go on)
//! until space is back, without losing anything final.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{
    balance, chain_id, get, jeon, post, transfer, tx_hex, tx_status, wait_until, DevNode,
};
use jeon_node::faults::{free_bytes, DISK_FREE_BYTES_MIN};
use jeon_runtime::{Hash, Keypair};
use serde_json::{json, Value};

const AMOUNT: u64 = 300;
/// Rounds of transfers, each waited for: several blocks, so a database that loses its
/// last writes falls more than one block behind its block files.
const ROUNDS: u64 = 6;
const TRANSFERS_PER_ROUND: u64 = 5;

/// Final statuses by transaction hash.
type Finals = BTreeMap<Hash, Value>;

/// Submits `count` transfers from alice to bob starting at `nonce` and waits until all
/// are final; returns their statuses.
fn finalize_transfers(node: &DevNode, alice: &Keypair, nonce: u64, count: u64) -> Finals {
    let bob = node.key("bob").address();
    let chain = chain_id(&node.api);
    let txs: Vec<_> = (nonce..nonce + count)
        .map(|n| transfer(chain, alice, n, bob, AMOUNT))
        .collect();
    for tx in &txs {
        let (code, body) = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(tx)}));
        assert_eq!(code, 202, "{body}");
    }
    let mut finals = Finals::new();
    let done = wait_until(Duration::from_secs(30), || {
        for tx in &txs {
            if let Some(s) = tx_status(&node.api, &tx.hash()).filter(|s| s["status"] == "final") {
                finals.insert(tx.hash(), s);
            }
        }
        finals.len() == txs.len()
    });
    assert!(done, "the transfers become final");
    finals
}

/// A dev chain in `data` with [`ROUNDS`] blocks of transfers, stopped; returns the
/// final transactions and the head height.
fn chain_with_blocks(data: &Path) -> (Finals, u64) {
    let node = DevNode::start(data, &[]);
    let alice = node.key("alice");
    let mut finals = Finals::new();
    for round in 0..ROUNDS {
        let nonce = round * TRANSFERS_PER_ROUND;
        finals.extend(finalize_transfers(
            &node,
            &alice,
            nonce,
            TRANSFERS_PER_ROUND,
        ));
    }
    let head = height(&node.api);
    (finals, head)
}

fn height(api: &str) -> u64 {
    get(api, "/v1/status")
        .and_then(|s| s["height"].as_u64())
        .unwrap_or(0)
}

/// Runs `jeon dev` on `data` and returns its output if it exits within the timeout;
/// `None` if it is still serving (then it is killed).
fn start_expecting_exit(data: &Path) -> Option<std::process::Output> {
    let mut child = jeon()
        .args(["dev", "--data"])
        .arg(data)
        .args(["--api", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn jeon dev");
    let exited = wait_until(Duration::from_secs(20), || {
        child.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    Some(child.wait_with_output().expect("output"))
}

/// A start refused for damaged storage: exit code 1 (the operation failed), no panic,
/// one message naming the database (its path, or the data directory and `db/`) and
/// what to do.
fn assert_refused_clearly(out: &std::process::Output, data: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "no panic: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "no panic report: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("an error line: {stderr}"));
    let db = data.join("db").display().to_string();
    let names_db = error.contains(&db)
        || (error.contains(&data.display().to_string()) && error.contains("db/"));
    assert!(names_db, "names {db}: {error}");
    assert!(
        error.contains("Restore the data directory"),
        "says what to do: {error}"
    );
}

/// Either the node refuses the damaged database clearly, twice in a row (sled does not
/// "repair" it into silent acceptance), or it serves every final transaction unchanged.
fn refused_or_intact(data: &Path, finals: &Finals, head: u64) -> &'static str {
    if let Some(out) = start_expecting_exit(data) {
        assert_refused_clearly(&out, data);
        let again = start_expecting_exit(data).expect("a second start is refused too");
        assert_refused_clearly(&again, data);
        return "refused";
    }
    let node = DevNode::start(data, &[]);
    assert!(height(&node.api) >= head, "the head did not go back");
    for (hash, before) in finals {
        let after = tx_status(&node.api, hash).expect("status");
        assert_eq!(after["status"], "final", "tx {hash}: {after}");
        assert_eq!(after["receipt"], before["receipt"], "tx {hash}");
    }
    "intact"
}

#[test]
fn a_database_with_64_bytes_flipped_in_its_middle_is_refused_clearly_or_read_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let (finals, head) = chain_with_blocks(&data);
    let file = data.join("db").join("db");
    let mut bytes = std::fs::read(&file).expect("read db");
    let middle = bytes.len() / 2;
    for b in bytes.iter_mut().skip(middle).take(64) {
        *b ^= 0xff;
    }
    std::fs::write(&file, &bytes).expect("write db");
    // sled keeps old page versions in its log: bytes of a stale one change nothing.
    let outcome = refused_or_intact(&data, &finals, head);
    println!(
        "64 bytes flipped at offset {middle} of {}: {outcome}",
        bytes.len()
    );
}

#[test]
fn a_database_cut_to_half_is_refused_clearly_and_its_block_files_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let (finals, head) = chain_with_blocks(&data);
    let file = data.join("db").join("db");
    let len = std::fs::metadata(&file).expect("db").len();
    let segments_before = dir_bytes(&data.join("blocks"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate db");
    let outcome = refused_or_intact(&data, &finals, head);
    println!("db cut from {len} to {} bytes: {outcome}", len / 2);
    // Whatever sled made of it, no final block was cut from the block files.
    assert_eq!(dir_bytes(&data.join("blocks")), segments_before);
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum()
}

/// The frames of a segment file: (height, offset of the payload, payload length).
fn frames(segment: &Path) -> Vec<(u64, usize, usize)> {
    let bytes = std::fs::read(segment).expect("segment");
    let mut out = Vec::new();
    let mut at = 0;
    while at + 20 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4")) as usize;
        let height = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().expect("8"));
        out.push((height, at + 20, len));
        at += 20 + len;
    }
    out
}

#[test]
fn a_damaged_block_record_below_the_head_is_reported_when_read_and_the_chain_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let (finals, head) = chain_with_blocks(&data);
    let segment = data.join("blocks").join("00000000000000000001.seg");
    let all = frames(&segment);
    // The first block holding transactions (the largest frames), well below the head.
    let &(damaged, payload_at, payload_len) = all
        .iter()
        .filter(|(h, _, _)| *h + 2 <= head)
        .max_by_key(|(_, _, len)| *len)
        .expect("a block below the head");
    let mut bytes = std::fs::read(&segment).expect("segment");
    bytes[payload_at + payload_len / 2] ^= 0x01;
    std::fs::write(&segment, &bytes).expect("write segment");

    let node = DevNode::start(&data, &[]);
    let resp = reqwest::blocking::get(format!("{}/v1/blocks/{damaged}", node.api)).expect("GET");
    assert_eq!(resp.status().as_u16(), 500);
    let body: Value = resp.json().expect("json");
    assert_eq!(body["error"]["code"], "storage_corrupt", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains(&format!("block {damaged}")), "{message}");
    assert!(
        message.contains(&segment.display().to_string()),
        "{message}"
    );
    // Blocks around it read as before.
    let head_block = get(&node.api, &format!("/v1/blocks/{head}")).expect("head block");
    assert_eq!(head_block["height"], head);
    // And the chain keeps finalizing.
    let alice = node.key("alice");
    let more = finalize_transfers(&node, &alice, ROUNDS * TRANSFERS_PER_ROUND, 2);
    assert_eq!(more.len(), 2);
    let undamaged = finals
        .iter()
        .filter(|(_, s)| s["height"].as_u64() != Some(damaged));
    for (hash, before) in undamaged {
        let after = tx_status(&node.api, hash).expect("status");
        assert_eq!(after["receipt"], before["receipt"], "tx {hash}");
    }
}

/// A small tmpfs mounted for one test, unmounted on drop (declare it before anything
/// that uses it, so it drops last).
struct Tmpfs {
    dir: tempfile::TempDir,
}

/// The tmpfs's size: room for a dev chain and [`DISK_FREE_BYTES_MIN`] of headroom.
const TMPFS_SIZE: &str = "size=64m";

impl Tmpfs {
    /// Mounts one, or prints why not and returns `None` (mounting needs root).
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", TMPFS_SIZE, "tmpfs"])
            .arg(dir.path())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs { dir }),
            Ok(o) => {
                println!(
                    "SKIPPED: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file that leaves half of [`DISK_FREE_BYTES_MIN`] free.
    fn fill(&self) -> PathBuf {
        let filler = self.path().join("filler");
        let free = free_bytes(self.path()).expect("statvfs");
        let size = free.saturating_sub(DISK_FREE_BYTES_MIN / 2);
        let chunk = vec![0x5a_u8; 1 << 20];
        let mut file = std::fs::File::create(&filler).expect("filler");
        let mut written = 0u64;
        while written < size {
            let n = chunk
                .len()
                .min(usize::try_from(size - written).expect("usize"));
            std::io::Write::write_all(&mut file, &chunk[..n]).expect("write filler");
            written += n as u64;
        }
        file.sync_all().expect("sync filler");
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            // Still busy (a child not yet reaped): detach it now, freed when idle.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

#[test]
fn a_full_disk_pauses_consensus_keeps_reads_and_resumes_with_nothing_final_lost() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let data = tmpfs.path().join("dev");
    let node = DevNode::start(&data, &[]);
    let alice = node.key("alice");
    let bob = node.key("bob").address();
    let finals = finalize_transfers(&node, &alice, 0, 5);
    let filler = tmpfs.fill();

    let status = |api: &str| get(api, "/v1/status").expect("status answers");
    assert!(
        wait_until(Duration::from_secs(10), || status(&node.api)["disk_full"]
            == true),
        "status reports the full disk: {}",
        status(&node.api)
    );
    assert_eq!(status(&node.api)["halted"], "disk_full");
    let paused_at = height(&node.api);
    let ready = reqwest::blocking::get(format!("{}/v1/ready", node.api)).expect("ready");
    assert_eq!(ready.status().as_u16(), 503);
    let body: Value = ready.json().expect("json");
    assert_eq!(body["error"]["code"], "disk_full", "{body}");
    // A transfer is admitted but not finalized while the disk is full.
    let chain = chain_id(&node.api);
    let pending = transfer(chain, &alice, 5, bob, AMOUNT);
    let (code, body) = post(&node.api, "/v1/txs", &json!({"tx": tx_hex(&pending)}));
    assert_eq!(code, 202, "{body}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        height(&node.api),
        paused_at,
        "no block while the disk is full"
    );
    assert_eq!(
        tx_status(&node.api, &pending.hash()).expect("status")["status"],
        "pending"
    );
    // Reads go on.
    assert!(balance(&node.api, &bob, 0) > 0);
    for hash in finals.keys() {
        assert_eq!(
            tx_status(&node.api, hash).expect("status")["status"],
            "final"
        );
    }

    std::fs::remove_file(filler).expect("remove filler");
    assert!(
        wait_until(Duration::from_secs(30), || {
            tx_status(&node.api, &pending.hash()).is_some_and(|s| s["status"] == "final")
        }),
        "finalization resumes once space is back"
    );
    assert_eq!(status(&node.api)["disk_full"], false);
    let ready = reqwest::blocking::get(format!("{}/v1/ready", node.api)).expect("ready");
    assert_eq!(ready.status().as_u16(), 200);
    for (hash, before) in &finals {
        let after = tx_status(&node.api, hash).expect("status");
        assert_eq!(after["receipt"], before["receipt"], "tx {hash}");
    }
    drop(node);
}

#[test]
fn a_start_on_a_full_disk_is_refused_clearly_and_succeeds_once_space_is_back() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let data = tmpfs.path().join("dev");
    let node = DevNode::start(&data, &[]);
    let alice = node.key("alice");
    let finals = finalize_transfers(&node, &alice, 0, 5);
    drop(node);
    let filler = tmpfs.fill();
    // What an earlier start interrupted on the full disk left behind: sled's snapshot,
    // begun and never finished, which sled would read as its newest.
    let unfinished = data.join("db").join("snap.00000000FFFFFFFF.generating");
    std::fs::write(&unfinished, b"").expect("leftover snapshot");

    let out = start_expecting_exit(&data).expect("the start is refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("free some space"), "{stderr}");
    assert!(stderr.contains(&data.display().to_string()), "{stderr}");

    std::fs::remove_file(filler).expect("remove filler");
    let node = DevNode::start(&data, &[]);
    assert!(!unfinished.exists(), "the unfinished snapshot is removed");
    for (hash, before) in &finals {
        let after = tx_status(&node.api, hash).expect("status");
        assert_eq!(after["receipt"], before["receipt"], "tx {hash}");
    }
    finalize_transfers(&node, &alice, 5, 2);
    drop(node);
}
