//! Access proofs (docs/proofs.md §10): "this account holds a valid pass for product
//! P", checked offline by a content server against the genesis alone.
//!
//! An access proof is the entitlement's state proof, the server's challenge, and the
//! entitlement owner's signature over `"jeon/access/v1" ‖ chain id ‖ challenge length
//! (u32 BE) ‖ challenge ‖ entitlement id (u64 BE)`. A proof copied from another wallet
//! is useless without the owner's key; a revoked entitlement is absent from the state
//! (proved absent, or an old proof refused as stale); an expired pass is refused at the
//! verifier's time.

use serde::{Deserialize, Serialize};

use crate::block::ValidatorInfo;
use crate::codec::{self, CodecError};
use crate::crypto::{self, Keypair, Signature, SignatureError};
use crate::goods::Entitlement;
use crate::state::keys;
use crate::types::{Address, Hash, Height, TimeMs};

use super::{verify_state, ProofError, StateProof, PROOF_BYTES_MAX};

/// Domain of the owner's signature.
const ACCESS_DOMAIN: &[u8] = b"jeon/access/v1";
/// The largest challenge a server may send (and a proof may carry).
pub const ACCESS_CHALLENGE_BYTES_MAX: usize = 256;
/// The largest entitlement record decoded from a proof.
const ENTITLEMENT_BYTES_MAX: usize = 4096;

/// An entitlement's state proof, a challenge, and its owner's signature over it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccessProof {
    /// The entitlement's state proof (key `0x3b ‖ id`).
    pub state: StateProof,
    /// The server's challenge (a nonce), at most [`ACCESS_CHALLENGE_BYTES_MAX`] bytes.
    pub challenge: Vec<u8>,
    /// The owner's signature over [`access_signing_bytes`].
    pub signature: Signature,
}

impl AccessProof {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes a proof from untrusted bytes (at most [`PROOF_BYTES_MAX`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode(bytes, PROOF_BYTES_MAX)
    }
}

/// What the verifier asks: a pass for `product`, answering `challenge`, valid at
/// `now_ms`, proved from a state certified at most `max_age_ms` before `now_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The product the server sells access to.
    pub product: u64,
    /// The challenge it sent.
    pub challenge: Vec<u8>,
    /// Its clock (ms since the Unix epoch).
    pub now_ms: TimeMs,
    /// How old the certifying block may be: a revocation after it is not visible.
    pub max_age_ms: u64,
}

/// Why access is refused. Checked in this order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The state proof does not verify.
    #[error("the entitlement's state proof does not verify: {0}")]
    Proof(ProofError),
    /// The proved key is not an entitlement's.
    #[error("the proof is for key {}, not an entitlement", hex::encode(key))]
    NotAnEntitlement {
        /// The key.
        key: Vec<u8>,
    },
    /// The proof answers another challenge (a replayed proof).
    #[error("the proof answers another challenge than the one sent")]
    ChallengeMismatch,
    /// The certifying block is older than the policy allows.
    #[error(
        "the proof is stale: certified at {certified_ms} ms, more than {max_age_ms} ms \
         before {now_ms} ms"
    )]
    Stale {
        /// The certifying block's time.
        certified_ms: TimeMs,
        /// The verifier's time.
        now_ms: TimeMs,
        /// The policy's bound.
        max_age_ms: u64,
    },
    /// The entitlement does not exist in the proved state: revoked, or never issued.
    #[error("entitlement {id} does not exist at height {height}: revoked or never issued")]
    Absent {
        /// The entitlement.
        id: u64,
        /// The proved state's height.
        height: Height,
    },
    /// The proved value is not an entitlement record.
    #[error("the proved value is not an entitlement record: {0}")]
    CorruptValue(CodecError),
    /// The entitlement is for another product.
    #[error("entitlement {id} is for product {got}, not {expected}")]
    WrongProduct {
        /// The entitlement.
        id: u64,
        /// The product asked for.
        expected: u64,
        /// Its product.
        got: u64,
    },
    /// The signature is not the owner's: a copied proof.
    #[error("the challenge is not signed by the entitlement's owner {owner}: {source}")]
    NotSignedByOwner {
        /// The owner.
        owner: Address,
        /// Why the signature does not verify.
        source: SignatureError,
    },
    /// The pass expired.
    #[error("entitlement {id} expired at {expires_at_ms} ms (now {now_ms} ms)")]
    Expired {
        /// The entitlement.
        id: u64,
        /// Its expiry.
        expires_at_ms: TimeMs,
        /// The verifier's time.
        now_ms: TimeMs,
    },
}

/// What a valid access proof established.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccessVerified {
    /// The entitlement.
    pub entitlement: Entitlement,
    /// The proved state's height.
    pub height: Height,
    /// The certifying block's time.
    pub certified_ms: TimeMs,
    /// The chain.
    pub chain_id: Hash,
}

/// The bytes the owner signs.
pub fn access_signing_bytes(chain_id: &Hash, challenge: &[u8], entitlement: u64) -> Vec<u8> {
    let len = u32::try_from(challenge.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(ACCESS_DOMAIN.len() + 44 + challenge.len());
    out.extend_from_slice(ACCESS_DOMAIN);
    out.extend_from_slice(&chain_id.0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(challenge);
    out.extend_from_slice(&entitlement.to_be_bytes());
    out
}

/// The entitlement id of an entitlement key.
fn entitlement_id(key: &[u8]) -> Option<u64> {
    match key.split_first() {
        Some((&keys::ENTITLEMENT, id)) => id.try_into().ok().map(u64::from_be_bytes),
        _ => None,
    }
}

/// Makes an access proof: the owner signs the challenge for the proved entitlement.
pub fn sign_access(state: StateProof, challenge: Vec<u8>, owner: &Keypair) -> Option<AccessProof> {
    let id = entitlement_id(&state.key)?;
    let bytes = access_signing_bytes(&state.header.chain_id, &challenge, id);
    Some(AccessProof {
        signature: owner.sign(&bytes),
        state,
        challenge,
    })
}

/// Verifies an access proof against the genesis and the verifier's policy.
pub fn verify_access(
    proof: &AccessProof,
    genesis_chain_id: &Hash,
    genesis_validators: &[ValidatorInfo],
    policy: &AccessPolicy,
) -> Result<AccessVerified, AccessError> {
    let state = &proof.state;
    let verified =
        verify_state(state, genesis_chain_id, genesis_validators).map_err(AccessError::Proof)?;
    let id = entitlement_id(&state.key).ok_or_else(|| AccessError::NotAnEntitlement {
        key: state.key.clone(),
    })?;
    if proof.challenge != policy.challenge || proof.challenge.len() > ACCESS_CHALLENGE_BYTES_MAX {
        return Err(AccessError::ChallengeMismatch);
    }
    if verified.time_ms.saturating_add(policy.max_age_ms) < policy.now_ms {
        return Err(AccessError::Stale {
            certified_ms: verified.time_ms,
            now_ms: policy.now_ms,
            max_age_ms: policy.max_age_ms,
        });
    }
    let Some(value) = &state.value else {
        return Err(AccessError::Absent {
            id,
            height: verified.height,
        });
    };
    let entitlement: Entitlement =
        codec::decode(value, ENTITLEMENT_BYTES_MAX).map_err(AccessError::CorruptValue)?;
    if entitlement.product != policy.product {
        return Err(AccessError::WrongProduct {
            id,
            expected: policy.product,
            got: entitlement.product,
        });
    }
    let bytes = access_signing_bytes(genesis_chain_id, &proof.challenge, id);
    crypto::verify(&entitlement.owner, &bytes, &proof.signature).map_err(|source| {
        AccessError::NotSignedByOwner {
            owner: entitlement.owner,
            source,
        }
    })?;
    if !entitlement.is_valid(policy.now_ms) {
        return Err(AccessError::Expired {
            id,
            expires_at_ms: entitlement.expires_at_ms.unwrap_or(0),
            now_ms: policy.now_ms,
        });
    }
    Ok(AccessVerified {
        entitlement,
        height: verified.height,
        certified_ms: verified.time_ms,
        chain_id: *genesis_chain_id,
    })
}
