//! Waiting for a submitted transaction and checking its outcome: polling its status,
//! and with a genesis at hand verifying the node's proof instead of trusting it.

use std::path::Path;
use std::time::{Duration, Instant};

use jeon_node::api::TxStatus;
use jeon_runtime::Hash;

use super::WaitArgs;
use crate::client::{Client, NodeStatus};
use crate::error::CliError;
use crate::output;
use crate::verify_cmd::{self, Trusted};

/// The genesis `--wait` verifies against when `--genesis` is not given: `jeon dev`'s,
/// if the command runs where `jeon dev` did and the node serves that chain.
const DEV_GENESIS: &str = ".jeon-dev/genesis.json";

/// How often `--wait` asks for the transaction's status.
const WAIT_POLL_MS: u64 = 50;
/// How often `--wait` reports that it is still waiting.
const WAIT_PROGRESS_SECS: u64 = 2;

/// The genesis that `--wait` verifies proofs against, if any: `--genesis` (which must
/// be the node's chain), else `jeon dev`'s when waiting.
pub(super) fn trusted_genesis(
    client: &Client,
    node: &NodeStatus,
    wait: &WaitArgs,
) -> Result<Option<Trusted>, CliError> {
    let explicit = wait.genesis.as_deref().map(Trusted::load).transpose()?;
    Ok(match explicit {
        Some(t) if t.chain_id != node.chain_id => {
            return Err(CliError::BadInput(format!(
                "genesis {} is chain {}, but the node at {} serves chain {}",
                t.path.display(),
                t.chain_id,
                client.base(),
                node.chain_id
            )))
        }
        Some(t) => Some(t),
        None if wait.wait => dev_genesis(node),
        None => None,
    })
}

/// Prints the hash, or with `--wait` the (verified, when a genesis is at hand) status.
pub(super) fn finish(
    client: &Client,
    trusted: Option<&Trusted>,
    hash: Hash,
    wait: &WaitArgs,
) -> Result<(), CliError> {
    if !wait.wait {
        return output::emit_plain(&serde_json::json!({ "hash": hash }));
    }
    let status = wait_for_tx(client, &hash, Duration::from_secs(wait.timeout_secs), true)?;
    // A status that claims a block is checked against the proof; only a refusal
    // before any block (no height, not final) has nothing to prove.
    let in_block = status.height.is_some() || status.status == "final";
    match (trusted, in_block) {
        (Some(t), true) => print_verified(client, t, status),
        (None, true) => {
            eprintln!(
                "note: not independently verified: the status is the node's word; pass \
                 --genesis FILE to check its proof against the chain's genesis"
            );
            print_trusted(client, status)
        }
        (_, false) => print_trusted(client, status),
    }
}

/// `jeon dev`'s genesis in the working directory, if it is the node's chain.
fn dev_genesis(node: &NodeStatus) -> Option<Trusted> {
    let path = Path::new(DEV_GENESIS);
    if !path.exists() {
        return None;
    }
    match Trusted::load(path) {
        Ok(t) if t.chain_id == node.chain_id => Some(t),
        Ok(t) => {
            eprintln!(
                "note: {DEV_GENESIS} is chain {}, not the node's chain {}: not using it",
                t.chain_id, node.chain_id
            );
            None
        }
        Err(e) => {
            eprintln!("note: not using {DEV_GENESIS}: {e}");
            None
        }
    }
}

/// Prints the node's status as is; exit 1 unless it says final.
fn print_trusted(client: &Client, status: TxStatus) -> Result<(), CliError> {
    let json = serde_json::to_value(&status)
        .map_err(|e| CliError::Failed(format!("cannot print the status: {e}")))?;
    output::emit(&json, &output::Assets::fetch(client))?;
    match status.status.as_str() {
        "final" => Ok(()),
        _ => Err(CliError::Failed(format!(
            "transaction {} was rejected: {}",
            status.hash,
            status.reason.as_deref().unwrap_or("no reason given")
        ))),
    }
}

/// Fetches the proof of a transaction in a final block, verifies it against the
/// genesis, and prints the status with what was verified; the exit code follows the
/// verified receipt, not the node's status.
fn print_verified(client: &Client, trusted: &Trusted, status: TxStatus) -> Result<(), CliError> {
    let hash = status.hash;
    let source = format!("the node's proof of {hash}");
    let answer = client.tx_proof(&hash)?;
    let proof = verify_cmd::proof_from_json(answer).map_err(|e| {
        // Whatever the node sent, it is the operation that failed, not the user's input.
        CliError::Failed(e.naming(&source).to_string())
    })?;
    if proof.receipt.tx != hash {
        return Err(CliError::Failed(format!(
            "{source} is for another transaction, {}",
            proof.receipt.tx
        )));
    }
    let verified = trusted.verify(&proof).map_err(|e| {
        let genesis = trusted.path.display();
        CliError::Failed(format!("{source} does not verify against {genesis}: {e}"))
    })?;
    let mut json = serde_json::to_value(&status)
        .map_err(|e| CliError::Failed(format!("cannot print the status: {e}")))?;
    let verified_json = serde_json::to_value(&verified)
        .map_err(|e| CliError::Failed(format!("cannot print the result: {e}")))?;
    if let Some(fields) = json.as_object_mut() {
        fields.insert("verified".into(), verified_json);
    }
    output::emit(&json, &output::Assets::fetch(client))?;
    verify_cmd::failure(&verified)
}

/// Polls `GET /v1/txs/{hash}` every 50 ms until the transaction is final or rejected,
/// and returns its status; an error after `timeout`. With `progress`, says on stderr
/// every 2 s that it is still waiting.
pub(crate) fn wait_for_tx(
    client: &Client,
    hash: &Hash,
    timeout: Duration,
    progress: bool,
) -> Result<TxStatus, CliError> {
    let start = Instant::now();
    let mut next_report = Duration::from_secs(WAIT_PROGRESS_SECS);
    loop {
        let status = client.tx_status(hash)?;
        if matches!(status.status.as_str(), "final" | "rejected") {
            return Ok(status);
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(CliError::Failed(format!(
                "timed out after {} s waiting for {hash}: still {}",
                timeout.as_secs(),
                status.status
            )));
        }
        if progress && waited >= next_report {
            eprintln!(
                "waiting for {hash}: {} ({} s)",
                status.status,
                waited.as_secs()
            );
            next_report += Duration::from_secs(WAIT_PROGRESS_SECS);
        }
        std::thread::sleep(Duration::from_millis(WAIT_POLL_MS));
    }
}
