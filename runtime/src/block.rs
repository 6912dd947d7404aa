//! Blocks, headers, votes' signed bytes, and commit certificates.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::crypto::{self, sha256, Signature};
use crate::tx::SignedTx;
use crate::types::{Address, Hash, Height, TimeMs};

/// Domain prefix of header hashes.
const HEADER_DOMAIN: &[u8] = b"jeon/header/v1";
/// Domain prefix of consensus vote signatures.
pub const VOTE_DOMAIN: &[u8] = b"jeon/vote/v1";
/// Domain prefix of proposal signatures.
pub const PROPOSAL_DOMAIN: &[u8] = b"jeon/proposal/v1";
/// Domain prefix of the validator-set hash.
const VALIDATORS_DOMAIN: &[u8] = b"jeon/validators/v1";
/// The largest encoded block a node accepts.
pub const BLOCK_BYTES_MAX: usize = 16 << 20;

/// A block header: what the commit certificate signs (through its hash).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Header {
    /// The chain id (genesis hash).
    pub chain_id: Hash,
    /// Height, starting at 1.
    pub height: Height,
    /// Hash of the previous block's header ([`Hash::ZERO`] for height 1).
    pub prev_hash: Hash,
    /// Proposer's clock, milliseconds since the Unix epoch; never below the previous block's.
    pub time_ms: TimeMs,
    /// The validator that proposed the block.
    pub proposer: Address,
    /// Merkle root of the transaction hashes.
    pub tx_root: Hash,
    /// Merkle root of this block's receipts.
    pub receipts_root: Hash,
    /// App hash of the state after the previous block (genesis state for height 1).
    pub app_hash: Hash,
    /// Hash of the validator set that must sign this block's certificate.
    pub validators_hash: Hash,
    /// Hash of the validator set that signs the next block's certificate: a set
    /// change applied by block `h` governs heights from `h + 2`, so the header of
    /// `h + 1` already names it (docs/consensus.md §1). A light client follows the
    /// set from one header to the next through this field (docs/proofs.md §7).
    pub next_validators_hash: Hash,
}

impl Header {
    /// The block hash: SHA-256 of the domain and the canonical header encoding.
    pub fn hash(&self) -> Hash {
        sha256(&[HEADER_DOMAIN, &codec::encode(self)])
    }
}

/// A block: its header and transactions.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Transactions, in execution order.
    pub txs: Vec<SignedTx>,
}

impl Block {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a block from untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, BLOCK_BYTES_MAX)
    }
}

/// A validator as the chain sees it: key and voting power.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// Consensus key (ed25519), also an address.
    pub key: Address,
    /// Voting power.
    pub power: u64,
}

/// Hash of a validator set, in its order.
pub fn validators_hash(validators: &[ValidatorInfo]) -> Hash {
    sha256(&[VALIDATORS_DOMAIN, &codec::encode(validators)])
}

/// Prevote or precommit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// First voting step.
    Prevote,
    /// Second voting step; a quorum of these commits a block.
    Precommit,
}

/// What a validator signs when it votes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct VoteBody {
    /// Chain id.
    pub chain_id: Hash,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// Step.
    pub kind: VoteKind,
    /// Block hash, or `None` for nil.
    pub block: Option<Hash>,
}

impl VoteBody {
    /// `"jeon/vote/v1" || encode(body)`.
    pub fn signing_bytes(&self) -> Vec<u8> {
        [VOTE_DOMAIN, &codec::encode(self)].concat()
    }
}

/// What a proposer signs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalBody {
    /// Chain id.
    pub chain_id: Hash,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// Hash of the proposed block.
    pub block: Hash,
    /// The round in which the block gathered a prevote quorum, if it is re-proposed.
    pub valid_round: Option<u32>,
}

impl ProposalBody {
    /// `"jeon/proposal/v1" || encode(body)`.
    pub fn signing_bytes(&self) -> Vec<u8> {
        [PROPOSAL_DOMAIN, &codec::encode(self)].concat()
    }
}

/// One validator's precommit signature in a certificate.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CommitSig {
    /// The validator's key.
    pub validator: Address,
    /// Its signature over the precommit.
    pub signature: Signature,
}

/// Proof that a block is final: precommits for it from more than 2/3 of the power.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Certificate {
    /// Height of the block.
    pub height: Height,
    /// Round in which it was committed.
    pub round: u32,
    /// The block's hash.
    pub block: Hash,
    /// The precommit signatures, in validator order.
    pub signatures: Vec<CommitSig>,
}

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// It is for another block.
    #[error("certificate is for block {got}, expected {expected}")]
    WrongBlock {
        /// The block we are checking.
        expected: Hash,
        /// The block it names.
        got: Hash,
    },
    /// A signer is not in the validator set.
    #[error("signer {0} is not a validator")]
    NotAValidator(Address),
    /// A validator signed twice.
    #[error("validator {0} appears twice")]
    DuplicateSigner(Address),
    /// A signature does not verify.
    #[error("signature of validator {0} does not verify")]
    BadSignature(Address),
    /// The signers hold too little power.
    #[error("signers hold {signed} of {total} voting power; more than 2/3 is needed")]
    InsufficientPower {
        /// Power that signed.
        signed: u64,
        /// Total power.
        total: u64,
    },
}

impl Certificate {
    /// Checks the certificate for `block` against the validator set of its height.
    pub fn verify(
        &self,
        chain_id: &Hash,
        block: &Hash,
        validators: &[ValidatorInfo],
    ) -> Result<(), CertificateError> {
        if self.block != *block {
            return Err(CertificateError::WrongBlock {
                expected: *block,
                got: self.block,
            });
        }
        let vote = VoteBody {
            chain_id: *chain_id,
            height: self.height,
            round: self.round,
            kind: VoteKind::Precommit,
            block: Some(*block),
        };
        let message = vote.signing_bytes();
        let total: u64 = validators
            .iter()
            .map(|v| v.power)
            .fold(0, u64::saturating_add);
        let mut signed: u64 = 0;
        let mut seen = std::collections::BTreeSet::new();
        for sig in &self.signatures {
            let Some(v) = validators.iter().find(|v| v.key == sig.validator) else {
                return Err(CertificateError::NotAValidator(sig.validator));
            };
            if !seen.insert(sig.validator) {
                return Err(CertificateError::DuplicateSigner(sig.validator));
            }
            crypto::verify(&sig.validator, &message, &sig.signature)
                .map_err(|_| CertificateError::BadSignature(sig.validator))?;
            signed = signed.saturating_add(v.power);
        }
        // More than 2/3: 3 * signed > 2 * total, in u128 so it cannot overflow.
        if 3 * u128::from(signed) <= 2 * u128::from(total) {
            return Err(CertificateError::InsufficientPower { signed, total });
        }
        Ok(())
    }
}

/// A finalized block with its certificate: what block sync serves and proofs carry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CommittedBlock {
    /// The block.
    pub block: Block,
    /// Its commit certificate.
    pub certificate: Certificate,
}
