//! Helpers for end-to-end proof tests: fetch a transaction's proof over HTTP, save it,
//! and check it with `jeon verify` and nothing but a genesis file.
//!
//! A module of the `it` test binary beside `common` (which it uses): the 4-validator
//! testnet test runs the same check against any validator's API.

use std::path::{Path, PathBuf};
use std::process::Output;

use jeon_runtime::Hash;
use serde_json::Value;

use crate::common::{get, jeon};

/// `GET /v1/txs/{hash}/proof`, parsed; `None` if the node is unreachable.
pub(crate) fn fetch_proof(api: &str, hash: &Hash) -> Option<Value> {
    get(api, &format!("/v1/txs/{hash}/proof"))
}

/// Runs `jeon verify --proof FILE --genesis FILE`.
pub(crate) fn verify(proof: &Path, genesis: &Path) -> Output {
    jeon()
        .args(["verify", "--proof"])
        .arg(proof)
        .arg("--genesis")
        .arg(genesis)
        .output()
        .expect("run jeon verify")
}

/// Fetches the proof of `hash` from `api`, saves the answer as `dir/proof-<hash>.json`,
/// and verifies it with `jeon verify` against `genesis` alone. Returns the answer, the
/// file and the command's output.
pub(crate) fn fetch_and_verify(
    api: &str,
    hash: &Hash,
    genesis: &Path,
    dir: &Path,
) -> (Value, PathBuf, Output) {
    let answer = fetch_proof(api, hash).expect("the node answers");
    assert!(
        answer.get("proof").is_some(),
        "no proof for {hash}: {answer}"
    );
    let file = dir.join(format!("proof-{hash}.json"));
    std::fs::write(&file, answer.to_string()).expect("write the proof");
    let out = verify(&file, genesis);
    (answer, file, out)
}

/// A copy of a proof answer whose transfer amount is raised by one unit, without the
/// hex form (which would no longer match): a forged "you were paid more".
pub(crate) fn with_amount_raised(answer: &Value) -> Value {
    let mut forged = answer.clone();
    let amount = &mut forged["proof"]["tx"]["body"]["call"]["transfer"]["amount"];
    let raised = amount.as_u64().expect("a transfer's amount") + 1;
    *amount = Value::from(raised);
    if let Some(fields) = forged.as_object_mut() {
        fields.remove("proof_hex");
    }
    forged
}

/// `jeon verify`'s output as JSON (it must have succeeded).
pub(crate) fn verified(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "jeon verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("jeon verify prints JSON")
}
