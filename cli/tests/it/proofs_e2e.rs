//! End to end: a transfer on `jeon dev`, its proof fetched over HTTP and verified by
//! `jeon verify` with nothing but the genesis file; tampered or foreign proofs exit 1,
//! malformed files exit 2; `jeon tx --wait` verifies the proof itself.

use std::path::Path;
use std::process::Output;

use crate::common::{jeon, DevNode};
use jeon_runtime::Hash;
use serde_json::Value;

/// Runs `jeon` in `cwd` (which decides whether `.jeon-dev/genesis.json` is found).
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    jeon()
        .args(args)
        .current_dir(cwd)
        .env_remove("JEON_API")
        .output()
        .unwrap()
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `jeon tx transfer` of `amount` units of `asset` from alice to bob, with `--wait`.
fn pay_bob(node: &DevNode, cwd: &Path, asset: &str, amount: &str, extra: &[&str]) -> Output {
    let alice = node.data.join("keys/alice.json");
    let bob = node.key("bob").address().to_string();
    let mut args = vec![
        "tx",
        "transfer",
        "--key",
        alice.to_str().unwrap(),
        "--to",
        &bob,
        "--asset",
        asset,
        "--amount",
        amount,
        "--wait",
        "--api",
        &node.api,
    ];
    args.extend_from_slice(extra);
    run_in(cwd, &args)
}

#[test]
fn a_transfer_on_jeon_dev_is_verified_with_only_the_genesis_file() {
    let dir = tempfile::tempdir().unwrap();
    // The data directory is `.jeon-dev` under `dir`, as `jeon dev` makes by default.
    let node = DevNode::start(&dir.path().join(".jeon-dev"), &[]);
    let genesis = node.data.join("genesis.json");
    let elsewhere = tempfile::tempdir().unwrap();

    // `--wait --genesis` checks the node's proof and prints what it verified.
    let o = pay_bob(
        &node,
        elsewhere.path(),
        "KRW",
        "50000",
        &["--genesis", genesis.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let done = stdout_json(&o);
    assert_eq!(done["status"], "final", "{done}");
    let v = &done["verified"];
    assert_eq!(v["tx_hash"], done["hash"], "{done}");
    assert_eq!(v["outcome"], "success");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("transfer 50000 units of asset 0 to jeon1"),
        "{summary}"
    );
    assert_eq!(v["signers"].as_array().unwrap().len(), 1);
    let hash: Hash = done["hash"].as_str().unwrap().parse().unwrap();

    // The same proof, fetched over HTTP and saved as is, verifies with `jeon verify`.
    let (answer, _, out) =
        crate::proof_check::fetch_and_verify(&node.api, &hash, &genesis, dir.path());
    let shown = crate::proof_check::verified(&out);
    assert_eq!(shown["tx_hash"], done["hash"]);
    assert_eq!(shown["height"], done["height"]);
    assert_eq!(shown["signed_power"], shown["total_power"]);
    assert_eq!(answer["height"], done["height"]);

    // The hex of the canonical bytes alone verifies too.
    let hex_file = dir.path().join("proof.hex");
    std::fs::write(&hex_file, answer["proof_hex"].as_str().unwrap()).unwrap();
    assert_eq!(
        crate::proof_check::verified(&crate::proof_check::verify(&hex_file, &genesis)),
        shown
    );

    // So does the proof's JSON alone.
    let json_file = dir.path().join("proof-only.json");
    std::fs::write(&json_file, answer["proof"].to_string()).unwrap();
    assert_eq!(
        crate::proof_check::verified(&crate::proof_check::verify(&json_file, &genesis)),
        shown
    );

    // A forged amount is not in the block: exit 1 with the reason.
    let forged = dir.path().join("forged.json");
    let raised = crate::proof_check::with_amount_raised(&answer);
    std::fs::write(&forged, raised.to_string()).unwrap();
    let o = crate::proof_check::verify(&forged, &genesis);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not in block"), "{}", stderr(&o));

    // A forged JSON next to the untouched hex: the two forms differ, exit 1.
    let mut mixed = raised.clone();
    mixed["proof_hex"] = answer["proof_hex"].clone();
    std::fs::write(&forged, mixed.to_string()).unwrap();
    let o = crate::proof_check::verify(&forged, &genesis);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("differ"), "{}", stderr(&o));

    // Against another chain's genesis the proof is for the wrong chain: exit 1.
    let other = dir.path().join("other-genesis.json");
    let o = run_in(
        dir.path(),
        &[
            "genesis",
            "new",
            "--preset",
            "dev",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (_, _, o) = crate::proof_check::fetch_and_verify(&node.api, &hash, &other, dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the proof is for chain"),
        "{}",
        stderr(&o)
    );

    // Unreadable or malformed input exits 2.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "not a proof").unwrap();
    for file in [junk.as_path(), &dir.path().join("missing.json")] {
        let o = crate::proof_check::verify(file, &genesis);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    }
    let flipped = dir.path().join("flipped.hex");
    let mut hex = answer["proof_hex"].as_str().unwrap().to_owned();
    hex.truncate(hex.len() - 2);
    std::fs::write(&flipped, hex).unwrap();
    let o = crate::proof_check::verify(&flipped, &genesis);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("do not decode"), "{}", stderr(&o));
}

#[test]
fn tx_wait_verifies_by_itself_and_says_so_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join(".jeon-dev"), &[]);
    let elsewhere = tempfile::tempdir().unwrap();

    // Where `jeon dev` ran, its genesis is the default.
    let o = pay_bob(&node, dir.path(), "KRW", "1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["verified"]["outcome"], "success");

    // Elsewhere there is no genesis to check against: the node's word, and a note.
    let o = pay_bob(&node, elsewhere.path(), "KRW", "1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout_json(&o).get("verified").is_none());
    assert!(
        stderr(&o).contains("not independently verified"),
        "{}",
        stderr(&o)
    );

    // A call that fails is proven final and failed: exit 1 with the verified reason
    // (forced past the dry run, which would refuse it before it costs a fee).
    let o = pay_bob(&node, dir.path(), "99", "1", &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let failed = stdout_json(&o);
    assert_eq!(
        failed["verified"]["outcome"]["failed"]["unknown_asset"]["asset"],
        99
    );
    assert!(stderr(&o).contains("unknown asset 99"), "{}", stderr(&o));
    // `jeon verify` says the same of its proof.
    let hash: Hash = failed["hash"].as_str().unwrap().parse().unwrap();
    let genesis = node.data.join("genesis.json");
    let (_, _, o) = crate::proof_check::fetch_and_verify(&node.api, &hash, &genesis, dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("but it failed"), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["tx_hash"], failed["hash"]);

    // A genesis of another chain is refused before anything is signed.
    let other = dir.path().join("other.json");
    let o = run_in(
        dir.path(),
        &[
            "genesis",
            "new",
            "--preset",
            "dev",
            "--out",
            other.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = pay_bob(
        &node,
        dir.path(),
        "KRW",
        "1",
        &["--genesis", other.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("but the node at"), "{}", stderr(&o));
}

#[test]
fn only_a_final_transaction_has_a_proof() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    let unknown = "00".repeat(32);
    let resp = reqwest::blocking::get(format!("{}/v1/txs/{unknown}/proof", node.api)).unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"]["code"], "not_final", "{body}");
    let resp = reqwest::blocking::get(format!("{}/v1/txs/zz/proof", node.api)).unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}
