//! Block sync (`node::wire`): the first byte picks the direction (even: a request a
//! peer sends us, odd: a response to ours), the rest is the message.
//!
//! Asserts: whatever decodes is canonical; checking a synced block's certificate never
//! panics, and a certificate verifies only for the block the validators certified.
#![no_main]

use jeon_fuzz::wire::{SyncRequest, SyncResponse};
use jeon_fuzz::{assert_canonical, check_tx_verification, fixtures};
use libfuzzer_sys::fuzz_target;

/// Blocks of one response whose certificates are checked per input.
const BLOCKS_CHECKED_MAX: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Some((direction, message)) = data.split_first() else {
        return;
    };
    if direction % 2 == 0 {
        if let Ok(request) = SyncRequest::decode(message) {
            assert_canonical(&request, message);
        }
        return;
    }
    let Ok(response) = SyncResponse::decode(message) else {
        return;
    };
    assert_canonical(&response, message);
    let chain = fixtures::dev_chain();
    for committed in response.blocks.iter().take(BLOCKS_CHECKED_MAX) {
        let header = &committed.block.header;
        let verdict =
            committed
                .certificate
                .verify(&chain.chain_id, &header.hash(), &chain.validators);
        if verdict.is_ok() {
            assert_eq!(
                *header, chain.block.block.header,
                "a certificate verified for a header the validators never signed"
            );
        }
    }
    if let Some(first) = response.blocks.first() {
        check_tx_verification(&first.block.txs);
    }
});
