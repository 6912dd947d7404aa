//! A block from untrusted bytes (a proposal's block, a synced block).
//!
//! Asserts: whatever decodes is canonical and survives its JSON form (the API serves
//! blocks as JSON); its transactions verify as in the `tx` target; and a block under
//! the certified header of block 1 whose transactions have that header's `tx_root`
//! holds exactly block 1's transactions (the Merkle root binds them).
#![no_main]

use jeon_fuzz::{assert_canonical, assert_json_round_trip, check_tx_verification, fixtures};
use jeon_runtime::merkle::tx_root;
use jeon_runtime::{Block, VerifiedTx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(block) = Block::decode(data) else {
        return;
    };
    assert_canonical(&block, data);
    assert_json_round_trip(&block);
    let chain = fixtures::dev_chain();
    let txs: Vec<VerifiedTx> = block
        .txs
        .iter()
        .cloned()
        .map(VerifiedTx::new_unchecked)
        .collect();
    let root = tx_root(&txs);
    let certified = &chain.block.block;
    if block.header == certified.header && root == certified.header.tx_root {
        assert_eq!(
            block.txs, certified.txs,
            "two transaction lists with one root"
        );
    }
    check_tx_verification(&block.txs);
});
