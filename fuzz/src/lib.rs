//! Shared by the fuzz targets and the seed generator: a small real chain to take seeds
//! from and to judge decoded values against, the node's decoders compiled alone, and
//! the properties every target asserts.
//!
//! The node's wire messages and API request bodies are compiled here from the node's own
//! source files (`#[path]`): they name only the runtime and serde, so the fuzzer runs
//! the node's exact decoding code without building libp2p, axum, sled and tokio, which
//! would triple the fuzz build (docs/fuzzing.md). tests/tests/tidy keeps those files free
//! of node imports.

// These modules are the node's: their docs and visibility follow the node's lints.
#[allow(dead_code, unreachable_pub)]
#[path = "../../node/src/wire.rs"]
pub mod wire;

#[allow(dead_code, unreachable_pub)]
#[path = "../../node/src/api/requests.rs"]
pub mod requests;

pub mod fixtures;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Asserts the canonical-encoding rule of docs/encoding.md §1 for a value decoded from
/// `bytes`: encoding it again gives exactly `bytes` (so each value has one encoding
/// and a hash of the bytes identifies the value).
pub fn assert_canonical<T: Serialize>(value: &T, bytes: &[u8]) {
    let again = jeon_runtime::codec::encode(value);
    assert!(
        again == bytes,
        "non-canonical encoding: {} bytes decoded, re-encoded to {} different bytes\n in:  {}\n out: {}",
        bytes.len(),
        again.len(),
        hex::encode(bytes),
        hex::encode(&again)
    );
}

/// Asserts that a value survives its JSON form (what the API serves and the CLI reads
/// back): `from_json(to_json(v)) == v`.
pub fn assert_json_round_trip<T>(value: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_string(value).expect("our values always serialize to JSON");
    let back: T = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("the JSON form does not parse back: {e}\n{json}"));
    assert_eq!(&back, value, "the JSON form parses back to another value");
}

/// How many decoded transactions a target verifies per input: verification costs
/// ~50 µs a signature, and a block-sized input can hold hundreds.
pub const TXS_VERIFIED_MAX: usize = 4;

/// Verifies up to [`TXS_VERIFIED_MAX`] decoded transactions that are not byte for byte
/// one of the fixture's (those verified when the fixture was built) against the dev
/// chain, and asserts: verification never panics; batch verification (mixed with a
/// genuine transaction, so the batch equation and its bisection run) gives each exactly the
/// verdict of single verification (docs/encoding.md, "Batch and single verification
/// agree"); and whatever verifies was signed by its sender: its body is one the
/// fixture signed, or its sender is a small-order key anyone can sign for. A fee
/// payer's signature likewise is the genuine one or from a small-order payer.
pub fn check_tx_verification(txs: &[jeon_runtime::SignedTx]) {
    let chain = fixtures::dev_chain();
    let genuine = &chain.block.block.txs[..1];
    let txs: Vec<_> = txs
        .iter()
        .filter(|t| !chain.block.block.txs.contains(t))
        .take(TXS_VERIFIED_MAX)
        .cloned()
        .collect();
    if txs.is_empty() {
        return;
    }
    let single: Vec<_> = txs
        .iter()
        .map(|t| t.clone().verify(&chain.chain_id))
        .collect();
    let mixed: Vec<_> = genuine.iter().chain(&txs).cloned().collect();
    let batch = jeon_runtime::tx::verify_batch(mixed, &chain.chain_id);
    let (batch_genuine, batch_fuzzed) = batch.split_at(genuine.len());
    assert!(
        batch_genuine.iter().all(Result::is_ok),
        "a genuine transaction failed in a batch with fuzzed ones: {batch_genuine:?}"
    );
    assert_eq!(
        batch_fuzzed,
        single.as_slice(),
        "batch and single verdicts differ"
    );
    for (t, verdict) in txs.iter().zip(&single) {
        if verdict.is_err() {
            continue;
        }
        let original = chain.block.block.txs.iter().find(|g| g.body == t.body);
        assert!(
            original.is_some() || fixtures::is_small_order(&t.body.sender),
            "a transaction verified that its sender never signed: {t:?}"
        );
        if let (Some(payer), Some(sig)) = (&t.body.fee_payer, &t.payer_signature) {
            assert!(
                original.and_then(|g| g.payer_signature.as_ref()) == Some(sig)
                    || fixtures::is_small_order(payer),
                "a fee payer's signature verified that the payer never made: {t:?}"
            );
        }
    }
}
