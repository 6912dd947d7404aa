//! Transaction proofs: a proof verifies for every transaction of a block against the
//! genesis alone; any single-bit change to it is refused; each way of tampering has its
//! own error; the golden proof pins the byte format that docs/proofs.md specifies.

use jeon_runtime::{calls, events};
use std::collections::BTreeSet;

use crate::support::{
    certify, ctx, precommit, sign, transfer, validator_keys, validator_set, verified, Consortium,
    CHAIN, KRW, UNKNOWN,
};
use jeon_runtime::block::{
    validators_hash, Block, CertificateError, CommittedBlock, Header, ValidatorInfo,
};
use jeon_runtime::crypto::sha256;
use jeon_runtime::merkle::{self, receipt_hash, receipts_root, tx_root, PathError};
use jeon_runtime::proof::{self, ProofError, TxProof, ValidatorSetChange};
use jeon_runtime::{
    codec, execute_block, Address, AssetId, Call, CallError, Event, Hash, Keypair, Outcome,
    Receipt, StateExt, TxBody, TxError, VerifiedTx,
};
use proptest::prelude::*;

/// Signers of a certificate: 75 of 100 power, just over 2/3.
const QUORUM: usize = 3;

/// A final block and its receipts.
struct Final {
    block: CommittedBlock,
    receipts: Vec<Receipt>,
}

impl Final {
    fn proof(&self, index: usize) -> TxProof {
        let index = u32::try_from(index).unwrap();
        proof::build(&self.block, &self.receipts, index).unwrap()
    }
}

/// The first block of the test chain with `n` transactions: transfers from six
/// funded senders in turn, where every seventh pays in an unknown asset and fails.
fn block_of(n: usize) -> Final {
    let c = Consortium::new();
    let senders: Vec<&Keypair> = c.senders().into_iter().take(6).collect();
    let to = c.users[3].address();
    let txs: Vec<VerifiedTx> = (0..n)
        .map(|k| {
            let asset = if k % 7 == 6 { UNKNOWN } else { KRW };
            let nonce = (k / senders.len()) as u64;
            let call = transfer(&to, asset, 1 + k as u64);
            verified(sign(senders[k % senders.len()], nonce, call))
        })
        .collect();
    let context = ctx(1);
    let out = execute_block(&c.state, &context, &txs).unwrap();
    let header = Header {
        chain_id: CHAIN,
        height: 1,
        prev_hash: Hash::ZERO,
        time_ms: context.time_ms,
        proposer: context.proposer,
        tx_root: tx_root(&txs),
        receipts_root: receipts_root(&out.receipts),
        app_hash: c.state.app_hash().unwrap(),
        validators_hash: validators_hash(&validator_set()),
        next_validators_hash: validators_hash(&validator_set()),
    };
    let certificate = certify(&header, &validator_keys()[..QUORUM]);
    let txs = txs.into_iter().map(VerifiedTx::into_inner).collect();
    Final {
        block: CommittedBlock {
            block: Block { header, txs },
            certificate,
        },
        receipts: out.receipts,
    }
}

fn check(p: &TxProof) -> Result<proof::Verified, ProofError> {
    proof::verify(p, &CHAIN, &validator_set())
}

#[test]
fn a_proof_verifies_for_every_transaction_in_blocks_of_1_2_3_and_1000() {
    for n in [1, 2, 3, 1000] {
        let fin = block_of(n);
        let prover = proof::Prover::new(&fin.block, &fin.receipts).unwrap();
        for (i, tx) in fin.block.block.txs.iter().enumerate() {
            let p = prover.proof(u32::try_from(i).unwrap()).unwrap();
            if i % 250 == 0 {
                assert_eq!(p, fin.proof(i), "one prover or one per proof: the same");
            }
            let v = check(&p).unwrap_or_else(|e| panic!("tx {i} of {n}: {e}"));
            assert_eq!(v.tx_hash, tx.hash());
            assert_eq!((v.height, v.index as usize), (1, i));
            assert_eq!(v.outcome, fin.receipts[i].outcome);
            assert_eq!(v.signed_power, 75);
            assert_eq!(v.total_power, 100);
            assert_eq!(v.signers.len(), QUORUM);
        }
    }
}

#[test]
fn a_proof_round_trips_through_its_canonical_bytes_and_json() {
    let fin = block_of(3);
    for i in 0..3 {
        let p = fin.proof(i);
        assert_eq!(TxProof::decode(&p.encode()), Ok(p.clone()));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<TxProof>(&json).unwrap(), p);
    }
}

#[test]
fn a_failed_transfer_is_proven_final_and_reported_as_failed() {
    let fin = block_of(7);
    let v = check(&fin.proof(6)).unwrap();
    assert!(!v.succeeded());
    assert_eq!(
        v.outcome,
        Outcome::Failed(CallError::UnknownAsset { asset: UNKNOWN })
    );
    assert_eq!(
        v.failure().as_deref(),
        Some("the call failed: unknown asset 99")
    );
    let ok = check(&fin.proof(0)).unwrap();
    assert!(ok.succeeded() && ok.failure().is_none());
}

/// Every bit of the proof's canonical encoding, flipped one at a time, is refused by
/// the decoder or by the verifier.
fn every_bit_flip_is_refused(p: &TxProof) {
    let bytes = p.encode();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        if let Ok(decoded) = TxProof::decode(&flipped) {
            assert!(
                check(&decoded).is_err(),
                "flipping bit {bit} (byte {}) of {} still verifies",
                bit / 8,
                bytes.len()
            );
        }
    }
}

#[test]
fn every_single_bit_flip_of_every_proof_in_blocks_of_1_2_and_3_is_refused() {
    for n in [1, 2, 3] {
        let fin = block_of(n);
        for i in 0..n {
            every_bit_flip_is_refused(&fin.proof(i));
        }
    }
}

// Each tamper class has its own test and its own error.

/// Proofs tampered in each of the ways a forger would try, with the error each gets.
fn tampered() -> Vec<(&'static str, Result<proof::Verified, ProofError>)> {
    let fin = block_of(3);
    let good = fin.proof(1);
    let outsider = Keypair::from_seed_label("outsider");
    let mut amount = good.clone();
    if let Call::Transfer(calls::Transfer { amount: a, .. }) = &mut amount.tx.body.call {
        *a += 1_000_000;
    }
    let mut receipt = good.clone();
    receipt.receipt.fee = 0;
    let mut removed = good.clone();
    removed.certificate.signatures.pop();
    let mut non_validator = good.clone();
    non_validator.certificate.signatures[0] = precommit(&outsider, CHAIN, &good.header);
    let another_chain = Hash([0x99; 32]);
    vec![
        ("changed amount", check(&amount)),
        ("changed receipt", check(&receipt)),
        ("removed signature", check(&removed)),
        ("non-validator signature", check(&non_validator)),
        (
            "proof for another chain",
            proof::verify(&good, &another_chain, &validator_set()),
        ),
    ]
}

fn tamper_error(class: &str) -> ProofError {
    let all = tampered();
    let (_, result) = all.into_iter().find(|(c, _)| *c == class).unwrap();
    result.unwrap_err()
}

#[test]
fn a_changed_amount_is_not_in_the_block() {
    assert!(matches!(
        tamper_error("changed amount"),
        ProofError::TxNotInBlock { height: 1, .. }
    ));
}

#[test]
fn a_changed_receipt_is_not_in_the_block() {
    assert!(matches!(
        tamper_error("changed receipt"),
        ProofError::ReceiptNotInBlock { height: 1, .. }
    ));
}

#[test]
fn a_removed_signature_leaves_half_the_power_which_is_not_enough() {
    assert_eq!(
        tamper_error("removed signature"),
        ProofError::Certificate {
            height: 1,
            source: CertificateError::InsufficientPower {
                signed: 50,
                total: 100
            }
        }
    );
}

#[test]
fn a_signature_by_a_non_validator_is_refused_even_though_it_verifies() {
    let outsider = Keypair::from_seed_label("outsider").address();
    assert_eq!(
        tamper_error("non-validator signature"),
        ProofError::Certificate {
            height: 1,
            source: CertificateError::NotAValidator(outsider)
        }
    );
}

#[test]
fn a_proof_for_another_chain_is_refused() {
    assert_eq!(
        tamper_error("proof for another chain"),
        ProofError::WrongChain {
            expected: Hash([0x99; 32]),
            got: CHAIN
        }
    );
}

#[test]
fn the_five_tamper_classes_have_five_distinct_errors_and_messages() {
    let all = tampered();
    let errors: Vec<ProofError> = all.iter().map(|(_, r)| r.clone().unwrap_err()).collect();
    let kinds: BTreeSet<String> = errors
        .iter()
        .map(|e| format!("{e:?}").split(['{', '(']).take(3).collect())
        .collect();
    assert_eq!(kinds.len(), errors.len(), "{errors:#?}");
    let messages: BTreeSet<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), errors.len());
}

// The other checks, one error each.

/// Keys of a set that replaced the test set: `label-0` … `label-3`, equal powers.
fn keys_of(label: &str, n: usize) -> Vec<Keypair> {
    (0..n)
        .map(|i| Keypair::from_seed_label(&format!("{label}-{i}")))
        .collect()
}

fn set_of(keys: &[Keypair]) -> Vec<ValidatorInfo> {
    keys.iter()
        .map(|k| ValidatorInfo {
            key: k.address(),
            power: 10,
        })
        .collect()
}

/// A change header at `height`, signed by `signers` of the set `from`, naming `to`.
fn change(
    height: u64,
    from: &[ValidatorInfo],
    signers: &[Keypair],
    to: &[ValidatorInfo],
) -> ValidatorSetChange {
    let header = Header {
        height,
        prev_hash: Hash([height as u8; 32]),
        validators_hash: validators_hash(from),
        next_validators_hash: validators_hash(to),
        ..block_of(1).block.block.header
    };
    ValidatorSetChange {
        certificate: certify(&header, signers),
        header,
        validators: to.to_vec(),
    }
}

/// The genesis set hands over to `b` at height 5 (a validator added: `b` is the test
/// set plus one) and `b` to `c` at height 9 (two of the originals removed); the
/// transaction's block is at height 12, signed by `c`. Returns the proof and `c`'s keys.
fn proof_across_two_changes() -> (TxProof, Vec<Keypair>) {
    proof_across_two_changes_at(12)
}

fn proof_across_two_changes_at(height: u64) -> (TxProof, Vec<Keypair>) {
    let a_keys = validator_keys();
    let a = validator_set();
    let joiner = Keypair::from_seed_label("joiner");
    let mut b = a.clone();
    b.push(ValidatorInfo {
        key: joiner.address(),
        power: 25,
    });
    // b: 125 power; its signers for the second change: validators 1..3 and the joiner.
    let b_signers: Vec<Keypair> = validator_keys()
        .into_iter()
        .skip(1)
        .chain([Keypair::from_seed_label("joiner")])
        .collect();
    let c_keys: Vec<Keypair> = validator_keys()
        .into_iter()
        .skip(2)
        .chain([joiner])
        .collect();
    let c = vec![b[2].clone(), b[3].clone(), b[4].clone()];
    let fin = block_of(2);
    let header = Header {
        height,
        validators_hash: validators_hash(&c),
        next_validators_hash: validators_hash(&c),
        ..fin.block.block.header.clone()
    };
    let block = CommittedBlock {
        certificate: certify(&header, &c_keys),
        block: Block {
            header,
            txs: fin.block.block.txs.clone(),
        },
    };
    let mut p = proof::build(&block, &fin.receipts, 1).unwrap();
    p.validator_changes = vec![
        change(5, &a, &a_keys[..QUORUM], &b),
        change(9, &b, &b_signers, &c),
    ];
    (p, c_keys)
}

#[test]
fn a_proof_across_two_set_changes_verifies_from_the_genesis_set_alone() {
    let (p, c_keys) = proof_across_two_changes();
    let v = check(&p).unwrap();
    assert_eq!(v.height, 12);
    assert_eq!(v.total_power, 75, "the last set's power: 3 × 25");
    assert_eq!(v.signed_power, 75);
    let signers: Vec<Address> = v.signers.iter().map(|s| s.key).collect();
    assert_eq!(
        signers,
        c_keys.iter().map(Keypair::address).collect::<Vec<_>>()
    );
    assert_eq!(TxProof::decode(&p.encode()), Ok(p));
}

#[test]
fn a_tampered_set_change_certificate_is_refused() {
    let (good, _) = proof_across_two_changes();
    let mut p = good.clone();
    p.validator_changes[1].certificate.signatures[0].signature.0[7] ^= 1;
    let who = p.validator_changes[1].certificate.signatures[0].validator;
    let e = check(&p).unwrap_err();
    assert_eq!(
        e,
        ProofError::SetChange {
            index: 1,
            height: 9,
            source: proof::SetChangeError::Certificate(CertificateError::BadSignature(who)),
        }
    );
    assert!(e
        .to_string()
        .contains("validator-set change #1 (height 9) is refused"));
    // Signed by the new set instead of the one in force: refused too.
    let mut p = good.clone();
    let joiner = Keypair::from_seed_label("joiner");
    p.validator_changes[0].certificate = certify(
        &p.validator_changes[0].header,
        std::slice::from_ref(&joiner),
    );
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::Certificate(CertificateError::NotAValidator(_)),
            ..
        })
    ));
    // Too few of the set in force.
    let mut p = good;
    p.validator_changes[0].certificate.signatures.truncate(2);
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::Certificate(CertificateError::InsufficientPower { .. }),
            ..
        })
    ));
}

#[test]
fn every_other_broken_link_of_the_set_change_chain_has_its_error() {
    let (good, _) = proof_across_two_changes();
    // A change left out: the block names a set the genesis set does not lead to.
    let mut p = good.clone();
    p.validator_changes.remove(1);
    assert!(matches!(
        check(&p),
        Err(ProofError::ValidatorSetMismatch { changes: 1, .. })
    ));
    // No changes at all.
    let mut p = good.clone();
    p.validator_changes.clear();
    assert!(matches!(
        check(&p),
        Err(ProofError::ValidatorSetMismatch { changes: 0, .. })
    ));
    // A carried set that is not the one the header names (a power raised).
    let mut p = good.clone();
    p.validator_changes[0].validators[4].power = 40;
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::NextSet { .. },
            ..
        })
    ));
    // Out of order: the later change first is not signed by the genesis set.
    let mut p = good.clone();
    p.validator_changes.swap(0, 1);
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::SignedBy { .. },
            ..
        })
    ));
    // A change repeated: not above the previous one.
    let mut p = good.clone();
    p.validator_changes.push(p.validator_changes[1].clone());
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 2,
            source: proof::SetChangeError::NotAfter { previous: 9 },
            ..
        })
    ));
    // A change header of another chain.
    let mut p = good.clone();
    p.validator_changes[0].header.chain_id = Hash([0x42; 32]);
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::WrongChain { .. },
            ..
        })
    ));
    // The second change's header names a set other than the one in force.
    let mut p = good.clone();
    p.validator_changes[1].header.validators_hash = validators_hash(&validator_set());
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 1,
            source: proof::SetChangeError::SignedBy { .. },
            ..
        })
    ));
    // A certificate of another height.
    let mut p = good.clone();
    p.validator_changes[0].certificate.height = 6;
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::CertificateHeight { certificate: 6 },
            ..
        })
    ));
    // The block is not above the last change (signed by the last set, at its height).
    let (p, _) = proof_across_two_changes_at(9);
    assert_eq!(
        check(&p).unwrap_err(),
        ProofError::BeforeLastChange {
            height: 9,
            change: 9
        }
    );
}

#[test]
fn a_set_change_that_certifies_a_fake_set_cannot_be_forged_by_the_old_set_minority() {
    // One original validator alone (10 of 40) signs a change to a set of its own.
    let (good, _) = proof_across_two_changes();
    let mut p = good;
    let mallory = set_of(&keys_of("mallory", 1));
    p.validator_changes[0] = change(5, &validator_set(), &validator_keys()[..1], &mallory);
    assert!(matches!(
        check(&p),
        Err(ProofError::SetChange {
            index: 0,
            source: proof::SetChangeError::Certificate(CertificateError::InsufficientPower { .. }),
            ..
        })
    ));
}

#[test]
fn a_block_signed_by_another_validator_set_is_refused() {
    let fin = block_of(1);
    let mut others = validator_set();
    others[0].power += 1;
    let e = proof::verify(&fin.proof(0), &CHAIN, &others).unwrap_err();
    assert_eq!(
        e,
        ProofError::ValidatorSetMismatch {
            expected: validators_hash(&others),
            got: validators_hash(&validator_set()),
            changes: 0,
        }
    );
}

#[test]
fn a_receipt_of_another_transaction_is_refused() {
    let fin = block_of(3);
    let mut p = fin.proof(0);
    p.receipt = fin.receipts[1].clone();
    assert!(matches!(
        check(&p),
        Err(ProofError::ReceiptForAnotherTx { .. })
    ));
}

#[test]
fn paths_of_different_shapes_are_refused() {
    let fin = block_of(3);
    let mut p = fin.proof(2);
    p.receipt_path.insert(0, None);
    assert_eq!(check(&p).unwrap_err(), ProofError::PathShapesDiffer);
}

#[test]
fn malformed_paths_are_refused_with_the_tree_they_are_in() {
    let fin = block_of(3);
    let mut p = fin.proof(2);
    p.tx_path.push(None);
    assert_eq!(
        check(&p).unwrap_err(),
        ProofError::TxPath(PathError::LoneTopNode)
    );
    let mut p = fin.proof(2);
    p.index = 3;
    assert_eq!(
        check(&p).unwrap_err(),
        ProofError::TxPath(PathError::LoneRightNode { level: 0, index: 3 })
    );
}

#[test]
fn a_certificate_for_another_height_is_refused() {
    let fin = block_of(1);
    let mut p = fin.proof(0);
    p.certificate.height = 2;
    assert_eq!(
        check(&p).unwrap_err(),
        ProofError::CertificateHeight {
            header: 1,
            certificate: 2
        }
    );
}

#[test]
fn a_duplicated_or_forged_signature_is_refused() {
    let fin = block_of(1);
    let mut dup = fin.proof(0);
    dup.certificate.signatures[1] = dup.certificate.signatures[0].clone();
    let first = dup.certificate.signatures[0].validator;
    assert_eq!(
        check(&dup).unwrap_err(),
        ProofError::Certificate {
            height: 1,
            source: CertificateError::DuplicateSigner(first)
        }
    );
    let mut forged = fin.proof(0);
    forged.certificate.signatures[2].signature.0[0] ^= 1;
    let third = forged.certificate.signatures[2].validator;
    assert_eq!(
        check(&forged).unwrap_err(),
        ProofError::Certificate {
            height: 1,
            source: CertificateError::BadSignature(third)
        }
    );
}

#[test]
fn a_badly_signed_transaction_certified_by_the_validators_is_still_refused() {
    // Only validators breaking the rules would certify it; the wallet checks anyway.
    let c = Consortium::new();
    let mut tx = sign(&c.bank, 0, transfer(&c.users[0].address(), KRW, 5));
    tx.body.nonce = 1; // no longer what was signed
    let receipt = Receipt {
        tx: tx.hash(),
        outcome: Outcome::Success,
        fee: 2,
        events: vec![],
    };
    let header = Header {
        tx_root: merkle::root(&[tx.hash()]),
        receipts_root: merkle::root(&[receipt_hash(&receipt)]),
        ..block_of(1).block.block.header
    };
    let block = CommittedBlock {
        certificate: certify(&header, &validator_keys()),
        block: Block {
            header,
            txs: vec![tx],
        },
    };
    let p = proof::build(&block, &[receipt], 0).unwrap();
    assert!(matches!(check(&p), Err(ProofError::TxSignature(_))));
}

#[test]
fn a_proof_cannot_be_built_for_a_missing_index_or_mismatched_receipts() {
    let fin = block_of(2);
    assert!(matches!(
        proof::build(&fin.block, &fin.receipts, 2),
        Err(proof::BuildError::IndexOutOfRange { index: 2, .. })
    ));
    assert!(matches!(
        proof::build(&fin.block, &fin.receipts[..1], 0),
        Err(proof::BuildError::ReceiptCount { .. })
    ));
    let mut receipts = fin.receipts.clone();
    receipts[1].fee += 1;
    assert!(matches!(
        proof::build(&fin.block, &receipts, 0),
        Err(proof::BuildError::RootMismatch { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_proof_of_any_block_verifies_and_any_bit_flip_of_it_is_refused(
        n in 1usize..=40,
        pick in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
    ) {
        let fin = block_of(n);
        let p = fin.proof(pick.index(n));
        prop_assert!(check(&p).is_ok());
        let mut bytes = p.encode();
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        if let Ok(decoded) = TxProof::decode(&bytes) {
            prop_assert!(check(&decoded).is_err(), "bit {} of {} txs", bit, n);
        }
    }
}

// The golden proof: docs/proofs.md §6 walks through these bytes.

const GOLDEN_CHAIN: Hash = Hash([0xc1; 32]);

/// The golden proof: alice's transfer of 500 units to bob (the encoding.md example) at
/// index 0 of a block whose other two leaves are the example receipts' transactions.
fn golden_proof() -> TxProof {
    let alice = Keypair::from_seed_label("alice");
    let bob = Keypair::from_seed_label("bob").address();
    let tx = TxBody {
        chain_id: GOLDEN_CHAIN,
        sender: alice.address(),
        nonce: 7,
        fee_limit: 10,
        expiry: 1000,
        call: Call::Transfer(calls::Transfer {
            to: bob,
            asset: AssetId(0),
            amount: 500,
        }),
        fee_payer: None,
    }
    .sign(&alice);
    let receipts = [
        Receipt {
            tx: tx.hash(),
            outcome: Outcome::Success,
            fee: 10,
            events: vec![
                Event::FeeCharged(events::FeeCharged {
                    payer: alice.address(),
                    asset: AssetId(0),
                    amount: 10,
                }),
                Event::Transferred(events::Transferred {
                    from: alice.address(),
                    to: bob,
                    asset: AssetId(0),
                    amount: 500,
                }),
            ],
        },
        Receipt {
            tx: Hash([2; 32]),
            outcome: Outcome::Failed(CallError::InsufficientBalance {
                asset: AssetId(1),
                needed: 9,
                available: 3,
            }),
            fee: 10,
            events: vec![Event::FeeCharged(events::FeeCharged {
                payer: bob,
                asset: AssetId(0),
                amount: 10,
            })],
        },
        Receipt {
            tx: Hash([3; 32]),
            outcome: Outcome::Invalid(TxError::StaleNonce {
                expected: 8,
                got: 7,
            }),
            fee: 0,
            events: vec![],
        },
    ];
    let tx_leaves = [tx.hash(), Hash([2; 32]), Hash([3; 32])];
    let receipt_leaves: Vec<Hash> = receipts.iter().map(receipt_hash).collect();
    let validators = [ValidatorInfo {
        key: alice.address(),
        power: 10,
    }];
    let header = Header {
        chain_id: GOLDEN_CHAIN,
        height: 1,
        prev_hash: Hash::ZERO,
        time_ms: 1_700_000_000_000,
        proposer: alice.address(),
        tx_root: merkle::root(&tx_leaves),
        receipts_root: merkle::root(&receipt_leaves),
        app_hash: Hash::ZERO,
        validators_hash: validators_hash(&validators),
        next_validators_hash: validators_hash(&validators),
    };
    TxProof {
        tx,
        receipt: receipts[0].clone(),
        index: 0,
        tx_path: merkle::path(&tx_leaves, 0).unwrap(),
        receipt_path: merkle::path(&receipt_leaves, 0).unwrap(),
        certificate: certify(&header, &[alice]),
        header,
        validator_changes: vec![],
    }
}

/// The golden proof's bytes: (offset, field, hex).
const GOLDEN_LAYOUT: &[(usize, &str, &str)] = &[
    (0, "tx", GOLDEN_TX),
    (202, "receipt", GOLDEN_RECEIPT),
    (382, "index 0", "00000000"),
    (386, "tx_path: 2 steps", "0200000000000000"),
    (394, "tx_path[0] = Some(L(02..02))", GOLDEN_TX_PATH_0),
    (427, "tx_path[1] = Some(L(03..03))", GOLDEN_TX_PATH_1),
    (460, "receipt_path: 2 steps", "0200000000000000"),
    (468, "receipt_path[0] = Some(L(r2))", GOLDEN_RECEIPT_PATH_0),
    (501, "receipt_path[1] = Some(L(r3))", GOLDEN_RECEIPT_PATH_1),
    (534, "header", GOLDEN_HEADER),
    (806, "certificate", GOLDEN_CERTIFICATE),
    (954, "validator_changes: none", "0000000000000000"),
];
const GOLDEN_TX: &str = concat!(
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", // body.chain_id
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // body.sender (alice)
    "0700000000000000",                                                 // nonce 7
    "0a00000000000000",                                                 // fee_limit 10
    "e803000000000000",                                                 // expiry 1000
    "00000000",                                                         // Call::Transfer
    "917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd", // to (bob)
    "00000000",                                                         // asset 0
    "f401000000000000",                                                 // amount 500
    "00",                                                               // fee_payer: None
    "e01365017e8d86830cf44818a01cc5858ab7ad51e4821ec2557f11082a9b16f0", // signature R
    "7e4cf3998ee26a231c895ce1d9d6d3a52922fa9edb36b2a7dcdc3f33952b3707", // signature s
    "00",                                                               // payer_signature: None
);
const GOLDEN_RECEIPT: &str = concat!(
    "1c1cc7c641194698ebd835d68e25874a6716f643932ed201646a184ddbc73969", // tx (the tx hash)
    "00000000",                                                         // Outcome::Success
    "0a00000000000000",                                                 // fee 10
    "0200000000000000",                                                 // 2 events
    "00000000",                                                         // Event::FeeCharged
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // payer (alice)
    "00000000",                                                         // asset 0
    "0a00000000000000",                                                 // amount 10
    "01000000",                                                         // Event::Transferred
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // from (alice)
    "917fb715dbd38a5599169dee5ddba41b05bb59e2effd3c39ef5735186a75b3dd", // to (bob)
    "00000000",                                                         // asset 0
    "f401000000000000",                                                 // amount 500
);
const GOLDEN_TX_PATH_0: &str = concat!(
    "01",                                                               // Some
    "cba8c596120bdb69debbd923d92cba948bde7c7d06a465a1bb7d98d3116038fa", // L(02..02)
);
const GOLDEN_TX_PATH_1: &str = concat!(
    "01",                                                               // Some
    "acaa04663a8547a2f70c60cc18f9378796b13c4f9a08f70d6adae662365b30c6", // L(03..03)
);
const GOLDEN_RECEIPT_PATH_0: &str = concat!(
    "01",                                                               // Some
    "3f082ffc20662a17c825a2bdade4c5ec83c9e5634b6aa050ad44c3dc67008dc9", // L(r2)
);
const GOLDEN_RECEIPT_PATH_1: &str = concat!(
    "01",                                                               // Some
    "d3c1d7ed2fca1a18f4fe08889e19bc89c081b0a47c7b8f750874c6ec1bd31035", // L(r3)
);
const GOLDEN_HEADER: &str = concat!(
    "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", // chain_id
    "0100000000000000",                                                 // height 1
    "0000000000000000000000000000000000000000000000000000000000000000", // prev_hash
    "0068e5cf8b010000",                                                 // time_ms
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // proposer (alice)
    "03a87d4cd7e44f45c24815a6d660b6f80087c693bc7f2e7284efd1a2d7ef6613", // tx_root
    "adf5fbb832fb0974441b9dfee0e6b45cbb59e1913e9732e50ebf668d7823f1d8", // receipts_root
    "0000000000000000000000000000000000000000000000000000000000000000", // app_hash
    "1dc7b6d8990295afe5d954822930449bb190a00e93135054072f414da01151db", // validators_hash
    "1dc7b6d8990295afe5d954822930449bb190a00e93135054072f414da01151db", // next_validators_hash
);
const GOLDEN_CERTIFICATE: &str = concat!(
    "0100000000000000",                                                 // height 1
    "00000000",                                                         // round 0
    "a4f4bf748c92516616ba180ced7d6c859adcf9a9d2db7fbd365ae116c4fbda3e", // block (header hash)
    "0100000000000000",                                                 // 1 signature
    "0d641b17bc5ba629a1538d61390fdf8f311e4d3d0c89274a5f7d80102bb9a78f", // validator (alice)
    "c39307b65566798425d4d47785f570a476626e867f78a92da9c90d401c257b17", // signature R
    "c49f7a9db63a3d3a80f228ce19409e3a1c0c7ac25dc295de0795a64dbf08c604", // signature s
);
const GOLDEN_PROOF_BYTES: usize = 962;
const GOLDEN_PROOF_SHA256: &str =
    "384ec79ed7c38d3e9423bb687c1a7486b01c693c3e6665cca22255f991aa8166";

#[test]
fn the_golden_proof_pins_the_format_byte_by_byte_and_verifies() {
    let p = golden_proof();
    let bytes = p.encode();
    for (offset, field, hex) in GOLDEN_LAYOUT {
        let len = hex.len() / 2;
        assert_eq!(
            hex::encode(&bytes[*offset..*offset + len]),
            *hex,
            "{field} at {offset}"
        );
    }
    assert_eq!(bytes.len(), GOLDEN_PROOF_BYTES);
    assert_eq!(sha256(&[&bytes]).to_string(), GOLDEN_PROOF_SHA256);
    let alice = Keypair::from_seed_label("alice").address();
    let v = proof::verify(
        &p,
        &GOLDEN_CHAIN,
        &[ValidatorInfo {
            key: alice,
            power: 10,
        }],
    )
    .unwrap();
    assert_eq!(
        v.summary,
        format!(
            "transfer 500 units of asset 0 to {}",
            Keypair::from_seed_label("bob").address()
        )
    );
    assert_eq!(
        v.signers,
        vec![ValidatorInfo {
            key: alice,
            power: 10
        }]
    );
    let _: Address = v.sender;
    assert_eq!(codec::decode::<TxProof>(&bytes, 1 << 20), Ok(p));
}
