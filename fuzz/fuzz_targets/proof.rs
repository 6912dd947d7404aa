//! A transaction proof from untrusted input (`jeon verify --proof`, `jeon tx --wait`):
//! its canonical bytes, or its JSON form when the input starts with `{`.
//!
//! Asserts: the canonical bytes are canonical; both forms survive the other (canonical
//! bytes and JSON give the same proof); `proof::verify` never panics; and a proof that
//! verifies against the dev genesis proves only what happened: its header is block 1's,
//! its transaction is one of block 1's and its receipt is that transaction's receipt
//! (the proof's `index` is display, not evidence: docs/proofs.md §4).
#![no_main]

use jeon_fuzz::{assert_canonical, assert_json_round_trip, fixtures};
use jeon_runtime::{codec, proof, TxProof};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let proof = if data.first() == Some(&b'{') {
        let Ok(p) = serde_json::from_slice::<TxProof>(data) else {
            return;
        };
        let bytes = p.encode();
        assert_eq!(
            TxProof::decode(&bytes).as_ref(),
            Ok(&p),
            "a JSON proof's canonical bytes decode to another proof"
        );
        p
    } else {
        let Ok(p) = TxProof::decode(data) else {
            return;
        };
        assert_canonical(&p, data);
        assert_json_round_trip(&p);
        p
    };
    check(&proof);
});

fn check(p: &TxProof) {
    let chain = fixtures::dev_chain();
    let Ok(verified) = proof::verify(p, &chain.chain_id, &chain.validators) else {
        return;
    };
    let block = &chain.block.block;
    assert_eq!(
        p.header, block.header,
        "a proof verified for an uncertified header"
    );
    let Some(at) = block.txs.iter().position(|t| *t == p.tx) else {
        panic!(
            "a proof verified for a transaction not in the block: {:?}",
            p.tx
        );
    };
    assert_eq!(
        p.receipt, chain.receipts[at],
        "a proof verified for a forged receipt"
    );
    assert_eq!(verified.tx_hash, p.tx.hash());
    assert_eq!(
        codec::encode(&verified.outcome),
        codec::encode(&p.receipt.outcome)
    );
}
