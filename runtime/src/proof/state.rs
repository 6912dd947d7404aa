//! State proofs (docs/proofs.md §9): one provable entry's value (or its absence) in
//! the state a certified header commits to.
//!
//! Block `h + 1`'s header carries the app hash of the state after block `h`, so a
//! state proof carries header `h + 1` and its certificate and proves the state at
//! height `h`. The app hash is `sha256("jeon/app/v2" ‖ lthash_digest ‖ smt_root)`;
//! the proof gives the digest of the accumulator, and the tree path from the entry to
//! the root.

use serde::{Deserialize, Serialize};

use crate::block::{Certificate, Header, ValidatorInfo};
use crate::codec::{self, CodecError};
use crate::smt::{self, SmtPath};
use crate::state::{app_hash_of, keys};
use crate::types::{Hash, Height, TimeMs};

use super::{certified_set, check_certificate, ProofError, ValidatorSetChange, PROOF_BYTES_MAX};

/// One entry of the state after block `header.height - 1`, with what certifies it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StateProof {
    /// The state key (its first byte one of `keys::PROVABLE`).
    pub key: Vec<u8>,
    /// Its value, or `None`: the key is absent from that state.
    pub value: Option<Vec<u8>>,
    /// The key's path in the provable entries' sparse Merkle tree.
    pub path: SmtPath,
    /// `sha256` of the state's LtHash accumulator.
    pub lthash_digest: Hash,
    /// The header of the block after the proved state: its `app_hash` commits to it.
    pub header: Header,
    /// The certificate that finalized that block.
    pub certificate: Certificate,
    /// The validator-set changes from genesis to the set that signed (as in a
    /// transaction proof).
    pub validator_changes: Vec<ValidatorSetChange>,
}

impl StateProof {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from untrusted bytes (at most [`PROOF_BYTES_MAX`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, PROOF_BYTES_MAX)
    }

    /// The height of the proved state (after that block).
    pub fn state_height(&self) -> Height {
        self.header.height.saturating_sub(1)
    }
}

/// What a valid state proof established.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StateVerified {
    /// The chain (genesis hash).
    pub chain_id: Hash,
    /// The state is the one after this block.
    pub height: Height,
    /// The certifying block (the next one): its height.
    pub certified_by: Height,
    /// Its hash.
    pub block_hash: Hash,
    /// Its time: the state is at least this fresh.
    pub time_ms: TimeMs,
    /// The key, hex.
    pub key: String,
    /// The value's hex, or `None`: proved absent.
    pub value: Option<String>,
    /// The total power of the validators whose signatures verified.
    pub signed_power: u64,
    /// The whole set's power.
    pub total_power: u64,
}

/// Verifies a state proof against the genesis (its hash and validator set). The
/// checks, in order: the header chain (as for a transaction proof), the key's family,
/// the path, the app hash, the certificate.
pub fn verify_state(
    proof: &StateProof,
    genesis_chain_id: &Hash,
    genesis_validators: &[ValidatorInfo],
) -> Result<StateVerified, ProofError> {
    let header = &proof.header;
    let set = certified_set(
        header,
        &proof.validator_changes,
        genesis_chain_id,
        genesis_validators,
    )?;
    if !keys::is_provable(&proof.key) {
        return Err(ProofError::KeyNotProvable {
            key: proof.key.clone(),
        });
    }
    let root = smt::root_from_path(&proof.key, proof.value.as_deref(), &proof.path)
        .map_err(ProofError::StatePath)?;
    if app_hash_of(&proof.lthash_digest, &root) != header.app_hash {
        return Err(ProofError::StateNotCommitted {
            height: header.height,
        });
    }
    let block_hash = check_certificate(header, &proof.certificate, genesis_chain_id, set)?;
    let power_of = |key| set.iter().find(|v| v.key == key).map_or(0, |v| v.power);
    let sum = |it: &mut dyn Iterator<Item = u64>| it.fold(0, u64::saturating_add);
    Ok(StateVerified {
        chain_id: header.chain_id,
        height: proof.state_height(),
        certified_by: header.height,
        block_hash,
        time_ms: header.time_ms,
        key: hex::encode(&proof.key),
        value: proof.value.as_ref().map(hex::encode),
        signed_power: sum(&mut proof
            .certificate
            .signatures
            .iter()
            .map(|s| power_of(s.validator))),
        total_power: sum(&mut set.iter().map(|v| v.power)),
    })
}
