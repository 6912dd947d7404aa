//! The validator's signer record lives in `DATA/signer/`, apart from the chain: a
//! `jeon dev` whose `db/` is deleted must not sign the heights it already signed (it
//! used to start from genesis and sign a different block 1 on the same chain), until
//! the operator discards the record on purpose; a damaged record stops the start.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{free_port, get, jeon, wait_until, DevNode};
use serde_json::Value;

/// Blocks the first run finalizes before it is stopped.
const HEIGHT_BEFORE_LOSS: u64 = 3;
/// How long a node with a lost chain is watched for a block it must not produce
/// (a dev chain makes about one block a second).
const STALL_WATCH: Duration = Duration::from_secs(5);
/// Exit code for bad input, a damaged signer file included (DESIGN.md).
/// A damaged signer record is damaged storage: the operation failed (DESIGN.md's exit
/// code 1), as for a damaged database (storage.md §7).
const EXIT_FAILED: i32 = 1;

fn status(api: &str) -> Value {
    get(api, "/v1/status").expect("status answers")
}

fn height(api: &str) -> u64 {
    status(api)["height"].as_u64().expect("height")
}

/// A dev chain run to `HEIGHT_BEFORE_LOSS` blocks, then stopped; returns the record's
/// file.
fn chain_with_blocks(data: &Path) -> std::path::PathBuf {
    let node = DevNode::start(data, &[]);
    let grew = wait_until(Duration::from_secs(60), || {
        height(&node.api) >= HEIGHT_BEFORE_LOSS
    });
    assert!(grew, "the dev chain should finalize blocks");
    drop(node);
    let state = data.join("signer").join("state");
    assert!(
        state.exists(),
        "the signer record is at {}",
        state.display()
    );
    state
}

#[test]
fn a_validator_whose_chain_database_was_deleted_signs_nothing_until_its_record_is_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    chain_with_blocks(&data);
    // The chain's data gone, keys, genesis and the signer record kept. (Deleting db/
    // alone is refused at start: the block files still hold final blocks above the
    // empty database's head, storage.md §7; an operator who lost db/ moves all three
    // aside, as that message says.)
    for chain_data in ["db", "blocks", "txindex"] {
        std::fs::remove_dir_all(data.join(chain_data)).expect("delete the chain's data");
    }

    let log = dir.path().join("restart.log");
    let node = DevNode::start_with(&data, &[], &[], Some(&log));
    let started = Instant::now();
    while started.elapsed() < STALL_WATCH {
        let s = status(&node.api);
        assert_eq!(
            s["height"], 0,
            "no block may be signed on the lost chain: {s}"
        );
        assert_eq!(s["signing"]["state"], "waiting_for_chain", "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let s = status(&node.api);
    let record_height = s["signing"]["record_height"]
        .as_u64()
        .expect("record_height");
    assert!(record_height >= HEIGHT_BEFORE_LOSS, "{s}");
    drop(node);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("not signing") && text.contains("--discard-signer-state"),
        "the log should say why it does not sign and what the way out is:\n{text}"
    );

    // The operator discards the record on purpose: blocks again.
    let node = DevNode::start_with(&data, &["--discard-signer-state"], &[], None);
    let grew = wait_until(Duration::from_secs(60), || height(&node.api) >= 2);
    assert!(
        grew,
        "with the record discarded the chain should grow again"
    );
    assert_eq!(status(&node.api)["signing"]["state"], "active");
    let aside = std::fs::read_dir(data.join("signer"))
        .expect("signer dir")
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("state.discarded-")
        });
    assert!(aside, "the discarded record is kept aside, not deleted");
}

#[test]
fn a_damaged_signer_record_stops_the_start_with_a_message_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let state = chain_with_blocks(&data);
    let mut bytes = std::fs::read(&state).expect("read the record");
    bytes[20] ^= 0x01;
    std::fs::write(&state, &bytes).expect("damage the record");

    let (code, stderr) = start_that_must_fail(&data);
    assert_eq!(code, Some(EXIT_FAILED), "{stderr}");
    assert!(
        stderr.contains(&state.display().to_string()) && stderr.contains("damaged"),
        "the message should name the file: {stderr}"
    );
    // Truncated is as bad as damaged.
    std::fs::write(&state, &bytes[..10]).expect("truncate the record");
    let (code, stderr) = start_that_must_fail(&data);
    assert_eq!(code, Some(EXIT_FAILED), "{stderr}");
    assert!(stderr.contains(&state.display().to_string()), "{stderr}");
}

/// Runs `jeon dev` on `data`, which must exit by itself; returns its exit code and
/// stderr. A node that keeps running is killed and fails the test.
fn start_that_must_fail(data: &Path) -> (Option<i32>, String) {
    let mut child = jeon()
        .args(["dev", "--data"])
        .arg(data)
        .args(["--api", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jeon dev");
    let exited = wait_until(Duration::from_secs(30), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        panic!("jeon dev should refuse to start on a damaged signer record");
    }
    let output = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}
