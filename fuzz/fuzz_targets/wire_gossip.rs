//! Gossip from a peer (`node::wire`, decoded by `node::net`): the first byte picks the
//! topic (even: a consensus message, odd: a transaction batch), the rest is the message.
//!
//! Asserts: whatever decodes is canonical; a batch holds at most `TX_BATCH_TXS_MAX`
//! transactions and its transactions verify as in the `tx` target; a proposal's or a
//! vote's signature check never panics, and a signature by the validator verifies only
//! on what it signed.
#![no_main]

use jeon_fuzz::wire::{ConsensusMsg, TxBatch, TX_BATCH_TXS_MAX};
use jeon_fuzz::{assert_canonical, check_tx_verification, fixtures};
use jeon_runtime::crypto;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((topic, message)) = data.split_first() else {
        return;
    };
    if topic % 2 == 0 {
        consensus(message);
    } else if let Ok(batch) = TxBatch::decode(message) {
        assert_canonical(&batch, message);
        assert!(batch.txs.len() <= TX_BATCH_TXS_MAX);
        check_tx_verification(&batch.txs);
    }
});

fn consensus(message: &[u8]) {
    let Ok(msg) = ConsensusMsg::decode(message) else {
        return;
    };
    assert_canonical(&msg, message);
    let chain = fixtures::dev_chain();
    match &msg {
        ConsensusMsg::Proposal(p) => {
            let bytes = p.body.signing_bytes();
            for v in &chain.validators {
                if crypto::verify(&v.key, &bytes, &p.signature).is_ok() {
                    assert!(
                        chain.signed_proposal(&p.body),
                        "forged proposal {:?}",
                        p.body
                    );
                }
            }
            let _ = p.block.header.hash();
            check_tx_verification(&p.block.txs);
        }
        ConsensusMsg::Vote(v) => {
            let known = chain.validators.iter().any(|x| x.key == v.validator);
            let valid = crypto::verify(&v.validator, &v.body.signing_bytes(), &v.signature);
            if known && valid.is_ok() {
                assert!(chain.signed_vote(&v.body), "forged vote {:?}", v.body);
            }
        }
        ConsensusMsg::CompactProposal(p) => {
            // The same signature as the whole proposal's: only what a validator signed.
            let bytes = p.body.signing_bytes();
            for v in &chain.validators {
                if crypto::verify(&v.key, &bytes, &p.signature).is_ok() {
                    assert!(
                        chain.signed_proposal(&p.body),
                        "forged compact proposal {:?}",
                        p.body
                    );
                }
            }
            let _ = p.header.hash();
            let _ = jeon_runtime::merkle::root(&p.txs);
        }
        ConsensusMsg::Status(_) | ConsensusMsg::ProposalWanted(_) => {}
    }
}
