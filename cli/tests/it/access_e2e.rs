//! Access proofs end to end on `jeon dev` (docs/proofs.md §9, §10): alice buys the
//! 30-day pass (product 1), proves access offline with `jeon access-proof` and
//! `jeon verify --access` against the genesis file alone; a copied proof (signed by
//! bob), an expired pass, another challenge or product, a tampered state proof and a
//! revoked pass are refused.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::common::{get, has_event, run, wait_until, DevNode, Town};

const CHALLENGE: &str = "5e55a9e0c0ffee0011223344556677889900aabbccddeeff";

/// `jeon access-proof` for `entitlement` signed by `signer`, into `out`; its output.
fn access_proof(town: &Town, signer: &str, entitlement: &str, out: &Path) -> std::process::Output {
    let key = town.key(signer);
    run(&[
        "access-proof",
        "--entitlement",
        entitlement,
        "--challenge",
        CHALLENGE,
        "--key",
        &key,
        "--out",
        out.to_str().expect("utf-8"),
        "--api",
        &town.node.api,
    ])
}

/// `jeon verify --access` with extra arguments: (exit code, stdout, stderr).
fn verify_access(genesis: &Path, file: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "verify",
        "--genesis",
        genesis.to_str().expect("utf-8"),
        "--access",
        file.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_pass_proves_access_offline_and_copied_expired_and_revoked_proofs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let town = Town {
        node: DevNode::start(&dir.path().join("dev"), &[]),
    };
    let genesis = town.node.data.join("genesis.json");
    let bought = town.tx("alice", &["buy", "--product", "1"]);
    assert!(has_event(&bought, "entitlement_issued"), "{bought}");
    let issued = bought["receipt"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .find_map(|e| e.get("entitlement_issued"))
        .expect("issued");
    let id = issued["id"].as_u64().expect("id").to_string();
    let expires = issued["expires_at_ms"].as_u64().expect("a pass expires");

    // The purchase's block is certified by the next one: then the proof is served.
    let file = dir.path().join("access.json");
    assert!(
        wait_until(Duration::from_secs(20), || access_proof(
            &town, "alice", &id, &file
        )
        .status
        .success()),
        "no access proof for entitlement {id}"
    );
    let (code, out, err) = verify_access(
        &genesis,
        &file,
        &["--product", "1", "--challenge", CHALLENGE],
    );
    assert_eq!(code, 0, "{err}");
    let verified: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        verified["entitlement"]["owner"],
        town.address("alice").as_str()
    );

    // Another product, another challenge, a pass past its expiry.
    let (code, _, err) = verify_access(
        &genesis,
        &file,
        &["--product", "0", "--challenge", CHALLENGE],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not 0"), "{err}");
    let (code, _, err) = verify_access(&genesis, &file, &["--product", "1", "--challenge", "00ff"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("another challenge"), "{err}");
    let late = (expires + 1).to_string();
    let (code, _, err) = verify_access(
        &genesis,
        &file,
        &[
            "--product",
            "1",
            "--challenge",
            CHALLENGE,
            "--now",
            &late,
            "--max-age",
            "999999999",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("expired"), "{err}");
    // Without the long --max-age, the same late check is refused as stale first.
    let (code, _, err) = verify_access(
        &genesis,
        &file,
        &["--product", "1", "--challenge", CHALLENGE, "--now", &late],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("stale"), "{err}");

    // A copied proof: bob signs the challenge for alice's pass.
    let copied = dir.path().join("copied.json");
    assert!(access_proof(&town, "bob", &id, &copied).status.success());
    let (code, _, err) = verify_access(
        &genesis,
        &copied,
        &["--product", "1", "--challenge", CHALLENGE],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("not signed by the entitlement's owner"),
        "{err}"
    );

    // A tampered state proof (its value changed) does not verify.
    let state = get(&town.node.api, &format!("/v1/entitlements/{id}/proof")).expect("proof");
    assert_eq!(state["present"], true, "{state}");
    let state_file = dir.path().join("state.json");
    std::fs::write(&state_file, state.to_string()).expect("write");
    let g = genesis.to_str().expect("utf-8");
    let ok = run(&[
        "verify",
        "--genesis",
        g,
        "--state",
        state_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut tampered = jeon_runtime::proof::StateProof::decode(
        &hex::decode(state["proof_hex"].as_str().expect("hex")).expect("hex"),
    )
    .expect("decodes");
    if let Some(v) = tampered.value.as_mut() {
        let last = v.len() - 1;
        v[last] ^= 1;
    }
    std::fs::write(&state_file, hex::encode(tampered.encode())).expect("write");
    let bad = run(&[
        "verify",
        "--genesis",
        g,
        "--state",
        state_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not in the state"));

    // Revoked with its refund: a new proof shows it absent, and the old access proof
    // is refused once its certifying block is older than the verifier allows.
    let paid = get(&town.node.api, &format!("/v1/entitlements/{id}")).expect("shown")
        ["entitlement"]["paid"]
        .as_u64()
        .expect("paid")
        .to_string();
    let revoked = town.tx(
        "pixel-forge-games",
        &[
            "revoke-entitlement",
            "--entitlement",
            &id,
            "--refund",
            &paid,
        ],
    );
    assert!(has_event(&revoked, "entitlement_revoked"), "{revoked}");
    assert!(
        wait_until(Duration::from_secs(20), || {
            get(&town.node.api, &format!("/v1/entitlements/{id}/proof"))
                .is_some_and(|p| p["present"] == false)
        }),
        "the revocation is never certified"
    );
    let again = dir.path().join("again.json");
    let out = access_proof(&town, "alice", &id, &again);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    let absent = get(&town.node.api, &format!("/v1/entitlements/{id}/proof")).expect("proof");
    std::fs::write(&state_file, absent.to_string()).expect("write");
    let gone = run(&[
        "verify",
        "--genesis",
        g,
        "--state",
        state_file.to_str().expect("utf-8"),
    ]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("absent"));
    let certified: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    let certified_ms = certified["access_proof"]["state"]["header"]["time_ms"]
        .as_u64()
        .expect("time");
    let later = (certified_ms + 61_000).to_string();
    let (code, _, err) = verify_access(
        &genesis,
        &file,
        &["--product", "1", "--challenge", CHALLENGE, "--now", &later],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("stale"), "{err}");
}
