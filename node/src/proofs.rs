//! Transaction proofs served by `GET /v1/txs/{hash}/proof`, and state proofs served by
//! `GET /v1/entitlements/{id}/proof` and `GET /v1/attestations/{id}/proof`, built from
//! the store.
//!
//! The proof itself (format, building, verifying) is the runtime's
//! (`jeon_runtime::proof`); this module only finds a final transaction's block,
//! certificate and receipts in the [`ChainDb`] and hands them to it.

use jeon_runtime::block::ValidatorInfo;
use jeon_runtime::governance;
use jeon_runtime::proof::{self, BuildError, StateProof, TxProof, ValidatorSetChange};
use jeon_runtime::smt::{self, BeforeLatest};
use jeon_runtime::state::{app_hash_of, StateError};
use jeon_runtime::{Event, Hash, Height, StateRead};

use crate::store::{ChainDb, Store, StoreError};

/// Why a proof could not be served for a transaction the index says is final.
#[derive(Debug, thiserror::Error)]
pub enum ProofLookupError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index names a block (or its receipts) that is not stored.
    #[error(
        "transaction {tx} is indexed at height {height}, but the block or its receipts are missing"
    )]
    Missing {
        /// The transaction.
        tx: Hash,
        /// The height the index gives.
        height: Height,
    },
    /// The stored block, receipts and index disagree.
    #[error("cannot build the proof of {tx}: {source}")]
    Build {
        /// The transaction.
        tx: Hash,
        /// What disagreed.
        source: BuildError,
    },
}

/// The proof of transaction `hash`, if it is in a final block at or below `head`;
/// `None` if it is not (pending, refused at admission, or unknown).
///
/// A block's writes become readable a moment before the flush that makes them
/// durable, so only blocks up to the reported head count as final.
pub fn tx_proof<S: Store>(
    db: &ChainDb<S>,
    hash: &Hash,
    head: Height,
) -> Result<Option<TxProof>, ProofLookupError> {
    let Some(loc) = db.tx_location(hash)?.filter(|l| l.height <= head) else {
        return Ok(None);
    };
    let missing = || ProofLookupError::Missing {
        tx: *hash,
        height: loc.height,
    };
    let record = db.block_record(loc.height)?.ok_or_else(missing)?;
    let mut built = proof::build(&record.committed, &record.receipts, loc.index)
        .map_err(|source| ProofLookupError::Build { tx: *hash, source })?;
    if built.receipt.tx != *hash {
        // The index points at another transaction: the store is inconsistent.
        return Err(missing());
    }
    built.validator_changes = set_changes(db, loc.height)?;
    Ok(Some(built))
}

/// Why a state proof could not be served.
#[derive(Debug, thiserror::Error)]
pub enum StateProofError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// No block is final yet: nothing certifies a state.
    #[error("no block is final yet: the genesis state is certified by block 1")]
    NoCertifiedState,
    /// The state does not hold the previous commitment its head's header certifies
    /// (a node imported from a snapshot serves proofs from its next block on).
    #[error(
        "this node cannot prove the state block {head} certifies: its previous commitment \
         is missing or disagrees with the header (a node restored from a snapshot proves \
         from its next block on)"
    )]
    PreviousMissing {
        /// The head.
        head: Height,
    },
    /// A set change's blocks are missing (as for transaction proofs).
    #[error(transparent)]
    Lookup(#[from] ProofLookupError),
}

/// The state proof of `key` (a provable key) at `head`: the state after block
/// `head - 1`, which head's header certifies (docs/proofs.md §9). The node holds the
/// state after `head`; the latest block's pre-images give back the one before it.
/// Read it through `Chain::read_at_head`, so the state and `head` belong together.
pub fn state_proof<S: Store>(
    db: &ChainDb<S>,
    key: &[u8],
    head: Height,
) -> Result<StateProof, StateProofError> {
    if head == 0 {
        return Err(StateProofError::NoCertifiedState);
    }
    let committed = db.block(head)?.ok_or(ProofLookupError::Missing {
        tx: Hash::ZERO,
        height: head,
    })?;
    let header = committed.block.header;
    let previous = smt::previous(db)?.ok_or(StateProofError::PreviousMissing { head })?;
    if app_hash_of(&previous.lthash_digest, &previous.smt_root) != header.app_hash {
        return Err(StateProofError::PreviousMissing { head });
    }
    let before = BeforeLatest(db);
    let value = before.get(key)?;
    let (path, _) = smt::prove(&before, key)?;
    Ok(StateProof {
        key: key.to_vec(),
        value,
        path,
        lthash_digest: previous.lthash_digest,
        header,
        certificate: committed.certificate,
        validator_changes: set_changes(db, head)?,
    })
}

/// The validator-set changes a proof for a block at `height` carries (docs/proofs.md
/// §7): for every change header below it, oldest first, the header, its certificate
/// and the set it names as the next, which the block before it (the one that enacted
/// the change) reported in its last `ValidatorSetChanged` event. A change whose blocks
/// this node does not hold comes from the copy kept when they went
/// ([`ChainDb::archive_set_changes`]: a snapshot import, or pruning).
pub fn set_changes<S: Store>(
    db: &ChainDb<S>,
    height: Height,
) -> Result<Vec<ValidatorSetChange>, ProofLookupError> {
    let Some(history) = governance::set_history(db).map_err(StoreError::from)? else {
        return Ok(Vec::new());
    };
    let mut changes = Vec::new();
    let first_kept = db.first_kept();
    for &at in history.changes.iter().filter(|&&at| at < height) {
        let missing = || ProofLookupError::Missing {
            tx: Hash::ZERO,
            height: at,
        };
        // Below the blocks this node holds (state-synced or pruned): the kept copy.
        if at.saturating_sub(1) < first_kept {
            changes.push(db.archived_set_change(at)?.ok_or_else(missing)?);
            continue;
        }
        let change = db.block(at)?.ok_or_else(missing)?;
        let enacting = db.block_record(at.saturating_sub(1))?.ok_or_else(missing)?;
        let validators = enacting
            .block_events
            .iter()
            .rev()
            .find_map(|e| match e {
                Event::ValidatorSetChanged(c) => Some(
                    c.validators
                        .iter()
                        .map(|v| ValidatorInfo {
                            key: v.key,
                            power: v.power,
                        })
                        .collect(),
                ),
                _ => None,
            })
            .ok_or_else(missing)?;
        changes.push(ValidatorSetChange {
            header: change.block.header,
            certificate: change.certificate,
            validators,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::block::{
        validators_hash, Block, Certificate, CommitSig, CommittedBlock, Header, ValidatorInfo,
        VoteBody, VoteKind,
    };
    use jeon_runtime::merkle::{receipt_hash, root};
    use jeon_runtime::state::ChangeSet;
    use jeon_runtime::{AssetId, Call, Keypair, Outcome, Receipt, SignedTx, TxBody};

    use crate::store::MemStore;

    const CHAIN: Hash = Hash([7; 32]);

    fn transfer(nonce: u64) -> SignedTx {
        let alice = Keypair::from_seed_label("alice");
        TxBody {
            chain_id: CHAIN,
            sender: alice.address(),
            nonce,
            fee_limit: 1,
            expiry: 100,
            call: Call::Transfer(jeon_runtime::calls::Transfer {
                to: Keypair::from_seed_label("bob").address(),
                asset: AssetId(0),
                amount: 500,
            }),
            fee_payer: None,
        }
        .sign(&alice)
    }

    /// A database at height 1 whose block holds three transfers; the set and the txs.
    fn db_at_height_1() -> (ChainDb<MemStore>, Vec<ValidatorInfo>, Vec<SignedTx>) {
        let validator = Keypair::from_seed_label("validator");
        let set = vec![ValidatorInfo {
            key: validator.address(),
            power: 1,
        }];
        let txs: Vec<SignedTx> = (0..3).map(transfer).collect();
        let receipts: Vec<Receipt> = txs
            .iter()
            .map(|t| Receipt {
                tx: t.hash(),
                outcome: Outcome::Success,
                fee: 1,
                events: vec![],
            })
            .collect();
        let header = Header {
            chain_id: CHAIN,
            height: 1,
            prev_hash: Hash::ZERO,
            time_ms: 1,
            proposer: validator.address(),
            tx_root: root(&txs.iter().map(SignedTx::hash).collect::<Vec<_>>()),
            receipts_root: root(&receipts.iter().map(receipt_hash).collect::<Vec<_>>()),
            app_hash: Hash::ZERO,
            validators_hash: validators_hash(&set),
            next_validators_hash: validators_hash(&set),
        };
        let vote = VoteBody {
            chain_id: CHAIN,
            height: 1,
            round: 0,
            kind: VoteKind::Precommit,
            block: Some(header.hash()),
        };
        let certificate = Certificate {
            height: 1,
            round: 0,
            block: header.hash(),
            signatures: vec![CommitSig {
                validator: validator.address(),
                signature: validator.sign(&vote.signing_bytes()),
            }],
        };
        let committed = CommittedBlock {
            block: Block {
                header,
                txs: txs.clone(),
            },
            certificate,
        };
        let db = ChainDb::new(MemStore::new());
        db.init_genesis(CHAIN, &ChangeSet::default(), Hash::ZERO, 0)
            .expect("genesis");
        let output = jeon_runtime::execute::BlockOutput {
            receipts,
            changes: ChangeSet::default(),
            app_hash: Hash::ZERO,
            block_events: vec![],
        };
        db.commit_block(&committed, &output).expect("commit");
        (db, set, txs)
    }

    #[test]
    fn every_final_transaction_gets_a_proof_that_verifies_against_the_genesis() {
        let (db, set, txs) = db_at_height_1();
        for (i, tx) in txs.iter().enumerate() {
            let proof = tx_proof(&db, &tx.hash(), 1).expect("store").expect("final");
            assert_eq!(proof.index as usize, i);
            let verified = proof::verify(&proof, &CHAIN, &set).expect("verifies");
            assert_eq!(verified.tx_hash, tx.hash());
        }
    }

    #[test]
    fn an_unknown_transaction_or_one_above_the_reported_head_has_no_proof() {
        let (db, _, txs) = db_at_height_1();
        assert!(tx_proof(&db, &transfer(9).hash(), 1)
            .expect("store")
            .is_none());
        assert!(tx_proof(&db, &txs[0].hash(), 0).expect("store").is_none());
    }
}
