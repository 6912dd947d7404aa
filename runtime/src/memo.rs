//! Sealed invoice memos: a note encrypted to the merchant's own key, opaque to the chain.
//!
//! An invoice memo travels in the payment link and lands on chain in clear when the
//! link is paid. A memo meant only for the merchant (an order, a table, a customer's
//! name) is therefore *sealed* to the merchant's address: anyone can seal, only the
//! merchant's key opens, and the chain stores the sealed bytes like any other memo.
//!
//! # Format (version 1)
//!
//! | bytes | what |
//! |---|---|
//! | `0` | `0x01`, the version |
//! | `1..33` | the ephemeral X25519 public key `E = e·B` |
//! | `33..` | the ChaCha20-Poly1305 ciphertext of the plaintext, then its 16-byte tag |
//!
//! so a sealed memo is [`SEALED_MEMO_OVERHEAD`] (49) bytes longer than its plaintext,
//! and the plaintext is at most [`SEALED_PLAINTEXT_MAX`] bytes so that the sealed memo
//! fits in [`MEMO_BYTES_MAX`].
//!
//! # Keys
//!
//! The merchant needs no second key: its X25519 public key `M` is its ed25519 address
//! in Montgomery form (`VerifyingKey::to_montgomery`), and its X25519 secret is the
//! ed25519 secret scalar (`SigningKey::to_scalar_bytes`, clamped by `mul_clamped`), so
//! `clamp(scalar)·B = M`. Using one key pair for both signing and Diffie-Hellman is
//! analysed in "On using the same key pair for Ed25519 and an X25519 based KEM"
//! (eprint 2021/509).
//!
//! - shared secret `S = e·M = m·E`; an all-zero `S` (a small-order point) is refused;
//! - AEAD key `K = SHA-256("jeon/memo/v1" || E || M || S)`;
//! - nonce: 12 zero bytes. This is safe because `K` is used once: it depends on `E`,
//!   which is fresh for every memo. The caller must never reuse an ephemeral secret;
//! - associated data `"jeon/memo/v1" || merchant address`, so a memo sealed to one
//!   merchant does not open as another's.
//!
//! The runtime draws no randomness: [`seal`] takes the ephemeral secret from its
//! caller (the CLI draws it from the operating system), which also makes sealing
//! deterministic and testable.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::crypto::{sha256, Keypair};
use crate::invoice::MEMO_BYTES_MAX;
use crate::types::Address;

/// The domain prefix of the key derivation and of the associated data.
pub const MEMO_DOMAIN: &[u8] = b"jeon/memo/v1";
/// The first byte of a sealed memo (format version 1).
pub const SEALED_MEMO_VERSION: u8 = 0x01;
/// The length of an X25519 public key.
const X25519_KEY_BYTES: usize = 32;
/// The length of the ChaCha20-Poly1305 tag.
const AEAD_TAG_BYTES: usize = 16;
/// What sealing adds to a plaintext: the version, the ephemeral key and the tag.
pub const SEALED_MEMO_OVERHEAD: usize = 1 + X25519_KEY_BYTES + AEAD_TAG_BYTES;
/// The longest plaintext that still fits in an invoice memo once sealed.
pub const SEALED_PLAINTEXT_MAX: usize = MEMO_BYTES_MAX - SEALED_MEMO_OVERHEAD;

/// Why a memo could not be sealed or opened.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MemoError {
    /// The plaintext (when sealing) or the sealed memo (when opening) is too long.
    #[error("memo is {len} bytes; at most {max} fit")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// The memo does not start with the version byte or is shorter than a sealed memo.
    #[error("memo is not sealed (not a version-1 sealed memo)")]
    NotSealed,
    /// The merchant address is not a valid curve point, or is of small order.
    #[error("merchant address is not a key a memo can be sealed to")]
    BadPublicKey,
    /// The key is not the merchant's, or the memo was altered.
    #[error("memo cannot be opened: wrong key or altered memo")]
    Undecryptable,
}

/// Seals `plaintext` to `merchant` with the caller's fresh `ephemeral_secret` (32
/// uniformly random bytes, never reused). Deterministic in its inputs.
pub fn seal(
    merchant: &Address,
    ephemeral_secret: [u8; 32],
    plaintext: &[u8],
) -> Result<Vec<u8>, MemoError> {
    if plaintext.len() > SEALED_PLAINTEXT_MAX {
        return Err(MemoError::TooLong {
            len: plaintext.len(),
            max: SEALED_PLAINTEXT_MAX,
        });
    }
    let merchant_x = merchant_x25519(merchant)?;
    let ephemeral_pub = MontgomeryPoint::mul_base_clamped(ephemeral_secret);
    let shared = merchant_x.mul_clamped(ephemeral_secret);
    let cipher = cipher(&ephemeral_pub.0, &merchant_x, &shared).ok_or(MemoError::BadPublicKey)?;
    let aad = associated_data(merchant);
    // ChaCha20-Poly1305 refuses only messages of more than 256 GiB; the length was
    // checked above, so this error cannot happen, and reporting it as such is honest.
    let ciphertext = cipher
        .encrypt(
            &Nonce::default(),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| MemoError::TooLong {
            len: plaintext.len(),
            max: SEALED_PLAINTEXT_MAX,
        })?;
    let mut out = Vec::with_capacity(1 + X25519_KEY_BYTES + ciphertext.len());
    out.push(SEALED_MEMO_VERSION);
    out.extend_from_slice(&ephemeral_pub.0);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Opens a memo sealed to `merchant_key`'s address.
pub fn open(merchant_key: &Keypair, sealed: &[u8]) -> Result<Vec<u8>, MemoError> {
    if !is_sealed(sealed) {
        return Err(MemoError::NotSealed);
    }
    if sealed.len() > MEMO_BYTES_MAX {
        return Err(MemoError::TooLong {
            len: sealed.len(),
            max: MEMO_BYTES_MAX,
        });
    }
    let (ephemeral_pub, ciphertext) = sealed[1..].split_at(X25519_KEY_BYTES);
    let mut e = [0u8; X25519_KEY_BYTES];
    e.copy_from_slice(ephemeral_pub);
    // Built as `Keypair::from_secret` builds it, from the 32-byte seed.
    let seed = zeroize::Zeroizing::new(merchant_key.secret());
    let signing = SigningKey::from_bytes(&seed);
    let merchant_x = signing.verifying_key().to_montgomery();
    let shared = MontgomeryPoint(e).mul_clamped(signing.to_scalar_bytes());
    let cipher = cipher(&e, &merchant_x, &shared).ok_or(MemoError::Undecryptable)?;
    let aad = associated_data(&merchant_key.address());
    cipher
        .decrypt(
            &Nonce::default(),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| MemoError::Undecryptable)
}

/// Whether `memo` has the shape of a sealed memo: the version byte, and at least the
/// ephemeral key and the tag after it. A clear memo that happens to start with `0x01`
/// also has this shape; the CLI refuses to write such clear memos.
pub fn is_sealed(memo: &[u8]) -> bool {
    memo.len() >= SEALED_MEMO_OVERHEAD && memo[0] == SEALED_MEMO_VERSION
}

/// The merchant's X25519 public key: its ed25519 key in Montgomery form. Refuses bytes
/// that are not a point and small-order points (whose shared secret is predictable).
fn merchant_x25519(merchant: &Address) -> Result<MontgomeryPoint, MemoError> {
    let key = VerifyingKey::from_bytes(merchant.as_bytes()).map_err(|_| MemoError::BadPublicKey)?;
    if key.is_weak() {
        return Err(MemoError::BadPublicKey);
    }
    Ok(key.to_montgomery())
}

/// The AEAD keyed with `SHA-256(domain || E || M || S)`, or `None` if `S` is all
/// zeros (one of the points was of small order).
fn cipher(
    ephemeral_pub: &[u8; 32],
    merchant_x: &MontgomeryPoint,
    shared: &MontgomeryPoint,
) -> Option<ChaCha20Poly1305> {
    if shared.0 == [0u8; 32] {
        return None;
    }
    let key = sha256(&[MEMO_DOMAIN, ephemeral_pub, &merchant_x.0, &shared.0]);
    Some(ChaCha20Poly1305::new(Key::from_slice(&key.0)))
}

/// `"jeon/memo/v1" || merchant address`.
fn associated_data(merchant: &Address) -> Vec<u8> {
    let mut aad = MEMO_DOMAIN.to_vec();
    aad.extend_from_slice(merchant.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cafe() -> Keypair {
        Keypair::from_seed_label("cafe")
    }

    const ORDER: &[u8] = b"order 42 for table 7";

    #[test]
    fn the_merchant_opens_a_memo_sealed_to_its_address() {
        let sealed = seal(&cafe().address(), [7; 32], ORDER).expect("seal");
        assert_eq!(sealed.len(), ORDER.len() + SEALED_MEMO_OVERHEAD);
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(ORDER.len()).any(|w| w == ORDER));
        assert_eq!(open(&cafe(), &sealed), Ok(ORDER.to_vec()));
        let empty = seal(&cafe().address(), [8; 32], b"").expect("seal");
        assert_eq!(open(&cafe(), &empty), Ok(Vec::new()));
    }

    #[test]
    fn another_key_cannot_open_the_merchants_memo() {
        let sealed = seal(&cafe().address(), [7; 32], ORDER).expect("seal");
        let other = Keypair::from_seed_label("other");
        assert_eq!(open(&other, &sealed), Err(MemoError::Undecryptable));
    }

    #[test]
    fn every_single_bit_flip_of_a_sealed_memo_fails_to_open() {
        let sealed = seal(&cafe().address(), [7; 32], ORDER).expect("seal");
        for bit in 0..sealed.len() * 8 {
            let mut altered = sealed.clone();
            altered[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&cafe(), &altered).is_err(), "bit {bit} flipped opens");
        }
    }

    #[test]
    fn a_plaintext_too_long_to_fit_sealed_is_refused() {
        let fits = vec![b'x'; SEALED_PLAINTEXT_MAX];
        let sealed = seal(&cafe().address(), [7; 32], &fits).expect("the largest fits");
        assert_eq!(sealed.len(), MEMO_BYTES_MAX);
        let long = vec![b'x'; SEALED_PLAINTEXT_MAX + 1];
        assert_eq!(
            seal(&cafe().address(), [7; 32], &long),
            Err(MemoError::TooLong {
                len: SEALED_PLAINTEXT_MAX + 1,
                max: SEALED_PLAINTEXT_MAX
            })
        );
    }

    #[test]
    fn a_clear_memo_is_not_opened() {
        assert!(!is_sealed(b"table 4"));
        assert_eq!(open(&cafe(), b"table 4"), Err(MemoError::NotSealed));
        // The version byte alone is not enough: the key and the tag must follow.
        let short = [SEALED_MEMO_VERSION; SEALED_MEMO_OVERHEAD - 1];
        assert_eq!(open(&cafe(), &short), Err(MemoError::NotSealed));
    }

    #[test]
    fn a_small_order_merchant_key_or_ephemeral_key_is_refused() {
        // The ed25519 identity point (y = 1) is of small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            seal(&Address(identity), [7; 32], ORDER),
            Err(MemoError::BadPublicKey)
        );
        // An ephemeral key u = 0 (small order) makes an all-zero shared secret.
        let mut sealed = seal(&cafe().address(), [7; 32], ORDER).expect("seal");
        sealed[1..33].fill(0);
        assert_eq!(open(&cafe(), &sealed), Err(MemoError::Undecryptable));
    }

    #[test]
    fn the_sealed_format_is_pinned_by_a_golden_vector() {
        // Changing the key derivation, nonce, associated data or layout breaks every
        // memo already in a link or on chain: this vector must never change. It was
        // checked against an independent implementation (Python's `cryptography`:
        // Ed25519 to Montgomery by u = (1 + y) / (1 - y), X25519, ChaCha20Poly1305).
        let sealed = seal(&cafe().address(), [7; 32], b"table 4").expect("seal");
        assert_eq!(
            hex::encode(&sealed),
            "0113be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6d\
             0da10c588cd24adf8ec23bcf20f31c0d72a134b48d3866"
        );
    }

    #[test]
    fn sealing_is_deterministic_in_the_ephemeral_secret() {
        let merchant = cafe().address();
        let a = seal(&merchant, [7; 32], ORDER).expect("seal");
        assert_eq!(seal(&merchant, [7; 32], ORDER).expect("seal"), a);
        let b = seal(&merchant, [9; 32], ORDER).expect("seal");
        assert_ne!(a, b);
        assert_ne!(a[1..33], b[1..33], "a fresh ephemeral key");
        assert_eq!(open(&cafe(), &b), Ok(ORDER.to_vec()));
    }
}
