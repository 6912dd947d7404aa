//! Snapshots across validator-set changes: a snapshot's header carries the set changes
//! from genesis to its head, `jeon snapshot import` follows them with the proofs'
//! sequential rule and checks the head's certificate against the set they lead to.

use std::time::Duration;

use jeon_node::snapshot::Frame;
use jeon_runtime::codec;

use crate::common::{change_the_set, get, run, wait_until, DevNode, Town};

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ok(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn height(api: &str) -> u64 {
    get(api, "/v1/status").expect("status")["height"]
        .as_u64()
        .expect("height")
}

/// A snapshot file with its header frame rewritten by `edit` (checksum recomputed).
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut jeon_node::snapshot::Header)) -> Vec<u8> {
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("len")) as usize;
    let payload = &bytes[44..44 + len];
    let Frame::Header(mut header) = codec::decode::<Frame>(payload, payload.len()).expect("frame")
    else {
        panic!("the first frame is the header");
    };
    edit(&mut header);
    let payload = codec::encode(&Frame::Header(header));
    let mut out = bytes[..8].to_vec();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&bytes[44 + len..]);
    out
}

#[test]
fn a_snapshot_after_a_validator_set_change_imports_and_a_tampered_change_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let mut town = Town {
        node: DevNode::start(&data, &[]),
    };
    let effective = change_the_set(&town);
    // The change header (the block after the enacting one) and a block signed by the
    // new set lie below the head.
    let bob = town.address("bob");
    assert!(
        wait_until(Duration::from_secs(60), || {
            let _ = town.tx(
                "alice",
                &["transfer", "--to", &bob, "--asset", "KRW", "--amount", "1"],
            );
            height(&town.node.api) > effective + 2
        }),
        "the chain passes the change"
    );
    town.node.kill9();
    let snap = dir.path().join("snap.bin");
    let exported = ok(&run(&[
        "snapshot",
        "export",
        "--data",
        path(&data),
        "--out",
        path(&snap),
    ]));
    let head = exported["height"].as_u64().expect("height");
    let bytes = std::fs::read(&snap).expect("read");
    let mut changes = 0;
    let _ = with_header(&bytes, |h| changes = h.validator_changes.len());
    assert_eq!(changes, 1, "the header carries the one set change");

    let genesis = data.join("genesis.json");
    let import = |file: &std::path::Path, target: &std::path::Path| {
        run(&[
            "snapshot",
            "import",
            path(file),
            "--genesis",
            path(&genesis),
            "--data",
            path(target),
        ])
    };
    // A set-change certificate with one signature byte flipped is refused, and so is
    // a header that leaves the change out (the head names a set genesis does not).
    let flipped = with_header(&bytes, |h| {
        h.validator_changes[0].certificate.signatures[0].signature.0[0] ^= 1;
    });
    let dropped = with_header(&bytes, |h| h.validator_changes.clear());
    for (name, tampered, says) in [
        ("flipped", flipped, "validator-set change #0 (height "),
        ("dropped", dropped, "the carried set changes lead to"),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, tampered).expect("write");
        let target = dir.path().join(format!("{name}-data"));
        let out = import(&file, &target);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(says), "{name}: {stderr}");
        assert!(!target.join("db").exists(), "{name}: nothing stays");
    }

    let imported = dir.path().join("imported");
    let done = ok(&import(&snap, &imported));
    assert_eq!(done["height"].as_u64(), Some(head), "{done}");
    // The imported node goes on under the changed set: the bank signs alone with 3.
    std::fs::copy(&genesis, imported.join("genesis.json")).expect("genesis");
    std::fs::create_dir_all(imported.join("keys")).expect("keys");
    std::fs::copy(
        data.join("keys/hanbit-bank.json"),
        imported.join("keys/hanbit-bank.json"),
    )
    .expect("key");
    let node = DevNode::start_as_node(&imported, &[]);
    assert!(
        wait_until(Duration::from_secs(30), || height(&node.api) > head + 1),
        "the imported node finalizes blocks above the snapshot"
    );
    let set = get(&node.api, "/v1/validators").expect("validators");
    assert_eq!(set["total_power"], 3, "{set}");

    // It holds no block below the snapshot, yet its proofs still carry the set change
    // (kept from the snapshot's header) and verify from the genesis file alone.
    let sent = run(&[
        "tx",
        "transfer",
        "--to",
        &bob,
        "--asset",
        "KRW",
        "--amount",
        "1",
        "--key",
        &town.key("alice"),
        "--wait",
        "--force",
        "--api",
        &node.api,
    ]);
    let sent = ok(&sent);
    let hash = sent["hash"].as_str().expect("hash");
    let proof = get(&node.api, &format!("/v1/txs/{hash}/proof")).expect("a proof");
    let carried = proof["proof"]["validator_changes"].as_array().map(Vec::len);
    assert_eq!(carried, Some(1), "{proof}");
    let file = dir.path().join("proof.json");
    std::fs::write(&file, proof.to_string()).expect("write");
    ok(&run(&[
        "verify",
        "--proof",
        path(&file),
        "--genesis",
        path(&genesis),
    ]));
}

#[test]
fn a_running_node_writes_certified_checkpoints_keeps_two_and_they_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("dev");
    let mut dev = DevNode::start(&data, &[]);
    dev.kill9();
    let node = DevNode::start_as_node(&data, &["--state-sync-interval", "3"]);
    let snapshots = data.join("snapshots");
    let list = || -> Vec<std::path::PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(&snapshots)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "snap"));
        files.sort();
        files
    };
    // Three checkpoints written: only the newest two stay.
    let first = wait_until(Duration::from_secs(60), || !list().is_empty());
    assert!(first, "a checkpoint within a minute");
    let oldest = list()[0].clone();
    assert!(
        wait_until(Duration::from_secs(60), || !oldest.exists()),
        "older checkpoints are deleted"
    );
    assert_eq!(list().len(), 2, "{:?}", list());
    let newest = list()[1].clone();
    let genesis = data.join("genesis.json");
    let imported = dir.path().join("imported");
    let done = ok(&run(&[
        "snapshot",
        "import",
        path(&newest),
        "--genesis",
        path(&genesis),
        "--data",
        path(&imported),
    ]));
    assert_eq!(done["app_hash_certified"], true, "{done}");
    let at = done["height"].as_u64().expect("height");
    assert!(at >= 3, "{done}");
    // The state is the chain's at that height: the next block's header says so.
    let block = get(&node.api, &format!("/v1/blocks/{}", at + 1)).expect("block");
    assert_eq!(block["header"]["app_hash"], done["app_hash"], "{block}");
}
