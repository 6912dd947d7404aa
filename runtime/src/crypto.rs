//! Keys, signatures and hashing: ed25519 (signed with ed25519-dalek, verified under
//! the ZIP-215 rule, one at a time or in batches that agree with it; see [`zip215`])
//! and SHA-256.

pub mod zip215;

pub use zip215::{verify, verify_batch, verify_batch_with_threads};

use core::fmt;

use ed25519_dalek::{Signer, SigningKey};
use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::types::{Address, Hash};

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

/// An ed25519 signature (64 bytes: R then s). Shown as hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}..)", hex::encode(&self.0[..8]))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return s.serialize_str(&hex::encode(self.0));
        }
        // A fixed-size tuple: 64 raw bytes, no length prefix.
        let mut t = s.serialize_tuple(64)?;
        for b in &self.0 {
            t.serialize_element(b)?;
        }
        t.end()
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            let mut out = [0u8; 64];
            hex::decode_to_slice(&s, &mut out)
                .map_err(|_| de::Error::custom("signature must be 128 hex digits"))?;
            return Ok(Signature(out));
        }
        struct Bytes64;
        impl<'de> Visitor<'de> for Bytes64 {
            type Value = Signature;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("64 signature bytes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Signature, A::Error> {
                let mut out = [0u8; 64];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                Ok(Signature(out))
            }
        }
        d.deserialize_tuple(64, Bytes64)
    }
}

/// A signing key: an account's or a validator's secret.
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// Builds a keypair from its 32-byte secret seed, wiping this copy of the seed (the
    /// key wipes its own on drop: ed25519-dalek's `zeroize` feature).
    pub fn from_secret(mut secret: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&secret);
        secret.zeroize();
        Keypair { signing }
    }

    /// A deterministic keypair derived from a label, for presets, tests and benches.
    /// Never use it for real funds: anyone can derive it.
    pub fn from_seed_label(label: &str) -> Self {
        Self::from_secret(sha256(&[b"jeon/insecure-seed/v1", label.as_bytes()]).0)
    }

    /// The 32-byte secret seed (for writing key files). The caller owns a copy of the
    /// secret: hold it in `zeroize::Zeroizing` (or wipe it) once used.
    pub fn secret(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The public key as an account address.
    pub fn address(&self) -> Address {
        Address(self.signing.verifying_key().to_bytes())
    }

    /// Signs a message (callers pass domain-separated bytes).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

/// Shows the address only: a key never prints its secret (logs, panics, `{:?}`).
impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret: <redacted>)", self.address())
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureError {
    /// The public key's 32 bytes do not decompress to a curve point. (Points of small
    /// order and non-canonical encodings do decompress: ZIP-215 accepts them.)
    #[error("public key is not an ed25519 curve point")]
    BadPublicKey,
    /// The signature does not verify under the ZIP-215 rule: R is not a curve point, s
    /// is not canonical (s ≥ L), or the cofactored equation fails (wrong key, altered
    /// message, forged signature).
    #[error("signature does not verify")]
    BadSignature,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_message_and_key() {
        let k = Keypair::from_seed_label("alice");
        let sig = k.sign(b"hello");
        assert_eq!(verify(&k.address(), b"hello", &sig), Ok(()));
        assert_eq!(
            verify(&k.address(), b"hellO", &sig),
            Err(SignatureError::BadSignature)
        );
        let other = Keypair::from_seed_label("bob").address();
        assert_eq!(
            verify(&other, b"hello", &sig),
            Err(SignatureError::BadSignature)
        );
    }

    #[test]
    fn batch_agrees_with_single_verification_and_finds_the_bad_one() {
        let keys: Vec<Keypair> = (0..8)
            .map(|i| Keypair::from_seed_label(&i.to_string()))
            .collect();
        let addrs: Vec<Address> = keys.iter().map(Keypair::address).collect();
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 10]).collect();
        let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let items = |sigs: &[Signature]| -> Vec<Result<(), SignatureError>> {
            let v: Vec<(&Address, &[u8], &Signature)> = (0..8)
                .map(|i| (&addrs[i], msgs[i].as_slice(), &sigs[i]))
                .collect();
            verify_batch(&v)
        };
        assert!(items(&sigs).iter().all(Result::is_ok));
        sigs[5].0[40] ^= 1;
        let results = items(&sigs);
        for (i, r) in results.iter().enumerate() {
            assert_eq!(r.is_ok(), i != 5, "item {i}");
        }
    }
}
