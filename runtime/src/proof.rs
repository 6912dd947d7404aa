//! Transaction proofs: what a wallet needs to check, offline and trusting nothing but
//! the genesis, that a transaction is final and what its receipt says.
//!
//! A [`TxProof`] carries the transaction, its receipt, their inclusion paths in the
//! block's transaction and receipt trees, the block header and its commit certificate.
//! [`verify`] recomputes both roots, checks that the header belongs to the genesis's
//! chain and validator set, and that validators holding more than 2/3 of the power
//! signed it. docs/proofs.md specifies the format byte by byte and the checks in order.
//!
//! When governance changed the validator set, a proof carries the chain of certified
//! set changes from the genesis set to the one that signed (the sequential rule of
//! docs/proofs.md §7): each change's header is certified by the set in force before
//! it and names the next set in its `next_validators_hash`.

use serde::{Deserialize, Serialize};

use crate::block::{
    validators_hash, Certificate, CertificateError, CommittedBlock, Header, ValidatorInfo,
};
use crate::codec::{self, CodecError};
use crate::crypto::{self, SignatureError};
use crate::merkle::{self, PathError, PathStep, PathTree};
use crate::model::{Event, Outcome, Receipt};
use crate::smt::SmtPathError;
use crate::tx::{Call, SignedTx};
use crate::types::{Address, Amount, Hash, Height, Nonce, TimeMs};

/// The largest encoded proof [`TxProof::decode`] accepts. A proof today is at most
/// about 40 KiB (a 4 KiB transaction, two 32-level paths, 256 signatures); the rest is
/// room for validator-set changes.
pub const PROOF_BYTES_MAX: usize = 1 << 20;

/// Everything needed to check that a transaction is final, and its receipt.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TxProof {
    /// The transaction, as in the block.
    pub tx: SignedTx,
    /// Its receipt.
    pub receipt: Receipt,
    /// Its position in the block (from 0); bit `k` gives the side of the siblings at
    /// level `k` of both paths.
    pub index: u32,
    /// Path from the transaction's leaf to the header's `tx_root`.
    pub tx_path: Vec<PathStep>,
    /// Path from the receipt's leaf to the header's `receipts_root` (same shape).
    pub receipt_path: Vec<PathStep>,
    /// The header of the block that holds the transaction.
    pub header: Header,
    /// The certificate that finalized that block.
    pub certificate: Certificate,
    /// The validator-set changes from genesis to the set that signed, oldest first
    /// (empty while the set is the genesis set); see [`ValidatorSetChange`].
    pub validator_changes: Vec<ValidatorSetChange>,
}

/// One change of the validator set (docs/proofs.md §7): the *change header* (the first
/// header whose `next_validators_hash` names the new set: the block after the one that
/// enacted the change), its certificate by the set in force at its height, and the new
/// set, which signs every block after it up to the next change.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ValidatorSetChange {
    /// The change header, signed by the set before the change.
    pub header: Header,
    /// Its certificate, by the set before the change.
    pub certificate: Certificate,
    /// The set after the change, in order: its hash is the header's
    /// `next_validators_hash`.
    pub validators: Vec<ValidatorInfo>,
}

/// Why a carried validator-set change does not hold (docs/proofs.md §7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetChangeError {
    /// The change header is for another chain.
    #[error("its header is for chain {got}")]
    WrongChain {
        /// The header's chain id.
        got: Hash,
    },
    /// Not above the previous change (or height 0).
    #[error("its height is not above the previous change's height {previous}")]
    NotAfter {
        /// The previous change's height (0 for genesis).
        previous: Height,
    },
    /// The header does not name the set in force before the change.
    #[error("its header names validator set {got}, but the set in force is {expected}")]
    SignedBy {
        /// Hash of the set in force.
        expected: Hash,
        /// The header's `validators_hash`.
        got: Hash,
    },
    /// The certificate is for another height.
    #[error("its certificate is for height {certificate}")]
    CertificateHeight {
        /// The certificate's height.
        certificate: Height,
    },
    /// The certificate does not prove the header final under the set in force.
    #[error("its certificate does not prove it final: {0}")]
    Certificate(CertificateError),
    /// The carried set is not the one the header names as the next.
    #[error("the carried set hashes to {got}, but the header names {expected} as the next set")]
    NextSet {
        /// The header's `next_validators_hash`.
        expected: Hash,
        /// Hash of the carried set.
        got: Hash,
    },
}

impl TxProof {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from untrusted bytes (at most [`PROOF_BYTES_MAX`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, PROOF_BYTES_MAX)
    }
}

/// Which of the block's two trees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tree {
    /// The transaction tree (`tx_root`).
    Txs,
    /// The receipt tree (`receipts_root`).
    Receipts,
}

impl core::fmt::Display for Tree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Tree::Txs => "transaction",
            Tree::Receipts => "receipt",
        })
    }
}

/// Why a proof does not prove what it claims. Checked in this order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The header is for another chain.
    #[error("the proof is for chain {got}, but the genesis is chain {expected}")]
    WrongChain {
        /// The genesis hash.
        expected: Hash,
        /// The header's chain id.
        got: Hash,
    },
    /// A carried validator-set change does not hold.
    #[error("validator-set change #{index} (height {height}) is refused: {source}")]
    SetChange {
        /// Its position in `validator_changes`, from 0.
        index: usize,
        /// Its header's height.
        height: Height,
        /// What is wrong with it.
        source: SetChangeError,
    },
    /// The header names a validator set other than the one the genesis set and the
    /// carried changes lead to.
    #[error(
        "the block names validator set {got}, but the genesis set and the proof's {changes} \
         set changes lead to {expected}"
    )]
    ValidatorSetMismatch {
        /// Hash of the set in force.
        expected: Hash,
        /// The header's `validators_hash`.
        got: Hash,
        /// How many changes the proof carries.
        changes: usize,
    },
    /// The block is not above the last carried change, whose set it names.
    #[error("block {height} is not above the last validator-set change at height {change}")]
    BeforeLastChange {
        /// The block's height.
        height: Height,
        /// The last change's height.
        change: Height,
    },
    /// The transaction path is malformed.
    #[error("malformed transaction path: {0}")]
    TxPath(PathError),
    /// The transaction path does not lead to the header's `tx_root`.
    #[error("transaction {tx} is not in block {height}: its path does not lead to the tx root")]
    TxNotInBlock {
        /// The transaction's hash.
        tx: Hash,
        /// The block's height.
        height: Height,
    },
    /// The receipt names another transaction.
    #[error("the receipt is for transaction {receipt_tx}, not {tx}")]
    ReceiptForAnotherTx {
        /// The transaction's hash.
        tx: Hash,
        /// The hash the receipt names.
        receipt_tx: Hash,
    },
    /// The two paths have different shapes, although both trees have one leaf per
    /// transaction.
    #[error("the transaction and receipt paths have different shapes")]
    PathShapesDiffer,
    /// The receipt path is malformed.
    #[error("malformed receipt path: {0}")]
    ReceiptPath(PathError),
    /// The receipt path does not lead to the header's `receipts_root`.
    #[error(
        "this receipt of transaction {tx} is not in block {height}: its path does not lead \
         to the receipts root"
    )]
    ReceiptNotInBlock {
        /// The transaction's hash.
        tx: Hash,
        /// The block's height.
        height: Height,
    },
    /// The certificate is for another height than the header.
    #[error("the certificate is for height {certificate}, the header for height {header}")]
    CertificateHeight {
        /// The header's height.
        header: Height,
        /// The certificate's height.
        certificate: Height,
    },
    /// The certificate does not prove the block final.
    #[error("the commit certificate does not prove block {height} final: {source}")]
    Certificate {
        /// The block's height.
        height: Height,
        /// What is wrong with it.
        source: CertificateError,
    },
    /// The transaction's own signature does not verify (validators that certified it
    /// broke the rules).
    #[error("the transaction's signature does not verify: {0}")]
    TxSignature(SignatureError),
    /// A state proof names a key outside the provable families: the tree does not
    /// commit to it, so neither its value nor its absence can be proved.
    #[error(
        "key {} is not in a provable family (docs/proofs.md §9)",
        hex::encode(key)
    )]
    KeyNotProvable {
        /// The key.
        key: Vec<u8>,
    },
    /// A state proof's tree path is malformed.
    #[error("malformed state path: {0}")]
    StatePath(SmtPathError),
    /// The entry, its path and the LtHash digest do not give the app hash the header
    /// certifies: the value, a sibling, the digest or the header was changed.
    #[error(
        "the entry is not in the state block {height} certifies: its path and digest do not \
         give the header's app hash"
    )]
    StateNotCommitted {
        /// The certifying header's height.
        height: Height,
    },
}

/// What a valid proof established: a final block of the genesis's chain holds this
/// transaction and this receipt. The outcome may still be a failure: see
/// [`Verified::failure`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Verified {
    /// The chain (genesis hash).
    pub chain_id: Hash,
    /// Height of the block.
    pub height: Height,
    /// The block's hash.
    pub block_hash: Hash,
    /// The block's time.
    pub time_ms: TimeMs,
    /// The position the proof gives; the header does not commit to the block's size,
    /// so this is for display, not evidence (docs/proofs.md §4).
    pub index: u32,
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Who signed and sent it.
    pub sender: Address,
    /// Its nonce.
    pub nonce: Nonce,
    /// The call, in one line.
    pub summary: String,
    /// The call.
    pub call: Call,
    /// Success, or why not.
    pub outcome: Outcome,
    /// The fee charged.
    pub fee: Amount,
    /// What happened, in order.
    pub events: Vec<Event>,
    /// The validators whose signatures verified, with their power, in certificate order.
    pub signers: Vec<ValidatorInfo>,
    /// Their total power.
    pub signed_power: u64,
    /// The whole set's power.
    pub total_power: u64,
}

impl Verified {
    /// Whether the call succeeded.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Success)
    }

    /// Why the transaction failed, if it did: the call's error (it paid its fee and
    /// used its nonce) or why it was not valid in that block (nothing changed).
    pub fn failure(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Success => None,
            Outcome::Failed(e) => Some(format!("the call failed: {e}")),
            Outcome::Invalid(e) => Some(format!("not valid in block {}: {e}", self.height)),
        }
    }
}

/// Verifies a proof against the genesis: its hash (the chain id) and its validator
/// set. Every check must pass; the first that fails is the error.
pub fn verify(
    proof: &TxProof,
    genesis_chain_id: &Hash,
    genesis_validators: &[ValidatorInfo],
) -> Result<Verified, ProofError> {
    let header = &proof.header;
    let height = header.height;
    let genesis_validators = certified_set(
        header,
        &proof.validator_changes,
        genesis_chain_id,
        genesis_validators,
    )?;
    // Cheap checks first: the two Merkle paths, then the signatures.
    let tx_hash = proof.tx.hash();
    let tx_root = merkle::root_from_path(&tx_hash, proof.index, &proof.tx_path)
        .map_err(ProofError::TxPath)?;
    if tx_root != header.tx_root {
        return Err(ProofError::TxNotInBlock {
            tx: tx_hash,
            height,
        });
    }
    if proof.receipt.tx != tx_hash {
        return Err(ProofError::ReceiptForAnotherTx {
            tx: tx_hash,
            receipt_tx: proof.receipt.tx,
        });
    }
    if !same_shape(&proof.tx_path, &proof.receipt_path) {
        return Err(ProofError::PathShapesDiffer);
    }
    let receipt_leaf = merkle::receipt_hash(&proof.receipt);
    let receipts_root = merkle::root_from_path(&receipt_leaf, proof.index, &proof.receipt_path)
        .map_err(ProofError::ReceiptPath)?;
    if receipts_root != header.receipts_root {
        return Err(ProofError::ReceiptNotInBlock {
            tx: tx_hash,
            height,
        });
    }
    let block_hash = check_certificate(
        header,
        &proof.certificate,
        genesis_chain_id,
        genesis_validators,
    )?;
    let body = &proof.tx.body;
    crypto::verify(&body.sender, &body.signing_bytes(), &proof.tx.signature)
        .map_err(ProofError::TxSignature)?;
    Ok(verified(proof, block_hash, genesis_validators))
}

/// The header's part of every proof (docs/proofs.md §5, §7): it is for the genesis's
/// chain, the carried set changes hold, and the header names the set they lead to and
/// is above the last of them. Returns that set.
pub fn certified_set<'a>(
    header: &Header,
    changes: &'a [ValidatorSetChange],
    genesis_chain_id: &Hash,
    genesis_validators: &'a [ValidatorInfo],
) -> Result<&'a [ValidatorInfo], ProofError> {
    if header.chain_id != *genesis_chain_id {
        return Err(ProofError::WrongChain {
            expected: *genesis_chain_id,
            got: header.chain_id,
        });
    }
    let (set, last_change) = follow_changes(changes, genesis_chain_id, genesis_validators)?;
    let set_hash = validators_hash(set);
    if header.validators_hash != set_hash {
        return Err(ProofError::ValidatorSetMismatch {
            expected: set_hash,
            got: header.validators_hash,
            changes: changes.len(),
        });
    }
    if header.height <= last_change {
        return Err(ProofError::BeforeLastChange {
            height: header.height,
            change: last_change,
        });
    }
    Ok(set)
}

/// The certificate is for the header's height and holds more than 2/3 of `set`'s
/// power for it. Returns the header's hash.
pub fn check_certificate(
    header: &Header,
    certificate: &Certificate,
    chain_id: &Hash,
    set: &[ValidatorInfo],
) -> Result<Hash, ProofError> {
    let height = header.height;
    if certificate.height != height {
        return Err(ProofError::CertificateHeight {
            header: height,
            certificate: certificate.height,
        });
    }
    let block_hash = header.hash();
    certificate
        .verify(chain_id, &block_hash, set)
        .map_err(|source| ProofError::Certificate { height, source })?;
    Ok(block_hash)
}

/// Walks the carried set changes from the genesis set (docs/proofs.md §7): each is
/// certified by the set in force and names the next. Returns the last set and the
/// last change's height (0 without changes). Proofs and snapshots
/// (`jeon_node::snapshot`) both follow their carried changes with it.
pub fn follow_changes<'a>(
    changes: &'a [ValidatorSetChange],
    chain_id: &Hash,
    genesis: &'a [ValidatorInfo],
) -> Result<(&'a [ValidatorInfo], Height), ProofError> {
    let mut set = genesis;
    let mut previous: Height = 0;
    for (index, change) in changes.iter().enumerate() {
        let h = &change.header;
        let fail = |source| ProofError::SetChange {
            index,
            height: h.height,
            source,
        };
        if h.chain_id != *chain_id {
            return Err(fail(SetChangeError::WrongChain { got: h.chain_id }));
        }
        if h.height <= previous {
            return Err(fail(SetChangeError::NotAfter { previous }));
        }
        let expected = validators_hash(set);
        if h.validators_hash != expected {
            return Err(fail(SetChangeError::SignedBy {
                expected,
                got: h.validators_hash,
            }));
        }
        if change.certificate.height != h.height {
            return Err(fail(SetChangeError::CertificateHeight {
                certificate: change.certificate.height,
            }));
        }
        change
            .certificate
            .verify(chain_id, &h.hash(), set)
            .map_err(|e| fail(SetChangeError::Certificate(e)))?;
        let got = validators_hash(&change.validators);
        if got != h.next_validators_hash {
            return Err(fail(SetChangeError::NextSet {
                expected: h.next_validators_hash,
                got,
            }));
        }
        set = &change.validators;
        previous = h.height;
    }
    Ok((set, previous))
}

/// Both paths have a step at the same levels.
fn same_shape(a: &[PathStep], b: &[PathStep]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.is_some() == y.is_some())
}

/// The summary of a proof that passed every check.
fn verified(proof: &TxProof, block_hash: Hash, validators: &[ValidatorInfo]) -> Verified {
    let power_of = |key: &Address| {
        validators
            .iter()
            .find(|v| v.key == *key)
            .map_or(0, |v| v.power)
    };
    let signers: Vec<ValidatorInfo> = proof
        .certificate
        .signatures
        .iter()
        .map(|s| ValidatorInfo {
            key: s.validator,
            power: power_of(&s.validator),
        })
        .collect();
    let sum = |it: &mut dyn Iterator<Item = u64>| it.fold(0, u64::saturating_add);
    let body = &proof.tx.body;
    Verified {
        chain_id: proof.header.chain_id,
        height: proof.header.height,
        block_hash,
        time_ms: proof.header.time_ms,
        index: proof.index,
        tx_hash: proof.receipt.tx,
        sender: body.sender,
        nonce: body.nonce,
        summary: body.call.summary(),
        call: body.call.clone(),
        outcome: proof.receipt.outcome.clone(),
        fee: proof.receipt.fee,
        events: proof.receipt.events.clone(),
        signed_power: sum(&mut signers.iter().map(|v| v.power)),
        signers,
        total_power: sum(&mut validators.iter().map(|v| v.power)),
    }
}

mod access;
mod state;

pub use access::{
    access_signing_bytes, sign_access, verify_access, AccessError, AccessPolicy, AccessProof,
    AccessVerified, ACCESS_CHALLENGE_BYTES_MAX,
};
pub use state::{verify_state, StateProof, StateVerified};

/// Why a proof cannot be built from a stored block: the store is inconsistent, or the
/// index is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No transaction at that position.
    #[error("block {height} has {txs} transactions; there is none at index {index}")]
    IndexOutOfRange {
        /// The block's height.
        height: Height,
        /// The index asked for.
        index: u32,
        /// Transactions in the block.
        txs: usize,
    },
    /// The receipts do not match the block one to one.
    #[error("block {height} has {txs} transactions but {receipts} receipts")]
    ReceiptCount {
        /// The block's height.
        height: Height,
        /// Transactions in the block.
        txs: usize,
        /// Receipts stored.
        receipts: usize,
    },
    /// The tree over the block's transactions or receipts does not have the header's
    /// root: the stored block or receipts are not the ones the header commits to.
    #[error("the {tree} tree of block {height} does not have the root in its header")]
    RootMismatch {
        /// Which tree.
        tree: Tree,
        /// The block's height.
        height: Height,
    },
}

/// Builds proofs for the transactions of one committed block: hashes the leaves and
/// builds both trees once, then gives each proof in time logarithmic in the block size.
#[derive(Debug)]
pub struct Prover<'a> {
    committed: &'a CommittedBlock,
    receipts: &'a [Receipt],
    txs: PathTree,
    receipt_tree: PathTree,
}

impl<'a> Prover<'a> {
    /// Prepares proofs for `committed`, given its receipts. Checks that the trees over
    /// the block's transactions and the receipts have the header's roots.
    pub fn new(committed: &'a CommittedBlock, receipts: &'a [Receipt]) -> Result<Self, BuildError> {
        let block = &committed.block;
        let height = block.header.height;
        if receipts.len() != block.txs.len() {
            return Err(BuildError::ReceiptCount {
                height,
                txs: block.txs.len(),
                receipts: receipts.len(),
            });
        }
        let tx_leaves: Vec<Hash> = block.txs.iter().map(SignedTx::hash).collect();
        let receipt_leaves: Vec<Hash> = receipts.iter().map(merkle::receipt_hash).collect();
        let txs = PathTree::new(&tx_leaves);
        let receipt_tree = PathTree::new(&receipt_leaves);
        for (tree, built, root) in [
            (Tree::Txs, &txs, &block.header.tx_root),
            (Tree::Receipts, &receipt_tree, &block.header.receipts_root),
        ] {
            if built.root() != *root {
                return Err(BuildError::RootMismatch { tree, height });
            }
        }
        Ok(Prover {
            committed,
            receipts,
            txs,
            receipt_tree,
        })
    }

    /// The proof for the transaction at `index`.
    pub fn proof(&self, index: u32) -> Result<TxProof, BuildError> {
        let block = &self.committed.block;
        let out_of_range = || BuildError::IndexOutOfRange {
            height: block.header.height,
            index,
            txs: block.txs.len(),
        };
        let i = usize::try_from(index).map_err(|_| out_of_range())?;
        let (Some(tx), Some(receipt)) = (block.txs.get(i), self.receipts.get(i)) else {
            return Err(out_of_range());
        };
        // The trees hold the block's leaves, so a path exists for every index in range.
        let (Some(tx_path), Some(receipt_path)) = (self.txs.path(i), self.receipt_tree.path(i))
        else {
            return Err(out_of_range());
        };
        Ok(TxProof {
            tx: tx.clone(),
            receipt: receipt.clone(),
            index,
            tx_path,
            receipt_path,
            header: block.header.clone(),
            certificate: self.committed.certificate.clone(),
            validator_changes: Vec::new(),
        })
    }
}

/// Builds the proof for the transaction at `index` of a committed block, given the
/// block's receipts (one [`Prover`] for one proof).
pub fn build(
    committed: &CommittedBlock,
    receipts: &[Receipt],
    index: u32,
) -> Result<TxProof, BuildError> {
    Prover::new(committed, receipts)?.proof(index)
}
