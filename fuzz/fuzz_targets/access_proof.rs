//! An access proof from untrusted input (`jeon verify --access`, docs/proofs.md §10):
//! its canonical bytes.
//!
//! Asserts: the canonical bytes are canonical; `proof::verify_state` and
//! `proof::verify_access` never panic, whatever the proof, challenge and time.
#![no_main]

use jeon_fuzz::{assert_canonical, fixtures};
use jeon_runtime::proof::{self, AccessPolicy, AccessProof};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = AccessProof::decode(data) else {
        return;
    };
    assert_canonical(&p, data);
    let chain = fixtures::dev_chain();
    let _ = proof::verify_state(&p.state, &chain.chain_id, &chain.validators);
    let policy = AccessPolicy {
        product: 1,
        challenge: p.challenge.clone(),
        now_ms: p.state.header.time_ms,
        max_age_ms: u64::MAX,
    };
    let _ = proof::verify_access(&p, &chain.chain_id, &chain.validators, &policy);
});
