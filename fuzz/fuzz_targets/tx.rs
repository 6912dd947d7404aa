//! A transaction from untrusted bytes (`POST /v1/txs`, gossiped batches, blocks).
//!
//! Asserts: whatever decodes is canonical (re-encodes to the same bytes) and survives
//! its JSON form; verification never panics, batch and single verification agree, and
//! nothing verifies that its sender did not sign (`check_tx_verification`).
#![no_main]

use jeon_fuzz::{assert_canonical, assert_json_round_trip, check_tx_verification};
use jeon_runtime::SignedTx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(tx) = SignedTx::decode(data) else {
        return;
    };
    assert_canonical(&tx, data);
    assert_json_round_trip(&tx);
    let _ = tx.body.call.summary();
    check_tx_verification(&[tx]);
});
