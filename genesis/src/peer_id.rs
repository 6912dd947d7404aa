//! libp2p peer ids of ed25519 keys, computed without libp2p.
//!
//! A libp2p `PeerId` of an ed25519 key is the identity multihash of the protobuf
//! encoding of the public key, shown in base58btc:
//!
//! ```text
//! 00 24          identity multihash, 36 bytes follow
//! 08 01          protobuf field 1 (KeyType) = 1 (Ed25519)
//! 12 20          protobuf field 2 (Data), 32 bytes follow
//! <32 key bytes>
//! ```
//!
//! Its base58 form always starts with `12D3KooW`. Keeping this here lets the genesis
//! crate stay free of libp2p; the node checks the two agree.

use jeon_runtime::Address;

/// The fixed bytes in front of the key in an ed25519 peer id.
const ED25519_PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
/// Length of a decoded ed25519 peer id.
const ED25519_PEER_ID_BYTES: usize = ED25519_PEER_ID_PREFIX.len() + 32;
/// Longest peer id string we decode (an ed25519 one is 52 characters).
const PEER_ID_CHARS_MAX: usize = 64;

/// Why a string is not the peer id of an ed25519 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeerIdError {
    /// Longer than any ed25519 peer id.
    #[error("longer than {PEER_ID_CHARS_MAX} characters")]
    TooLong,
    /// Not base58btc.
    #[error("not base58 (bitcoin alphabet)")]
    NotBase58,
    /// Decodes, but not to an identity multihash of a protobuf ed25519 key.
    #[error("not the peer id of an ed25519 key (expected one starting with 12D3KooW)")]
    NotEd25519,
    /// Has the right shape, but the key is not a valid ed25519 point.
    #[error("the embedded ed25519 public key is invalid")]
    InvalidKey,
}

/// The libp2p peer id of an ed25519 public key (an account address is one).
pub fn peer_id_of(key: &Address) -> String {
    let mut bytes = [0u8; ED25519_PEER_ID_BYTES];
    bytes[..ED25519_PEER_ID_PREFIX.len()].copy_from_slice(&ED25519_PEER_ID_PREFIX);
    bytes[ED25519_PEER_ID_PREFIX.len()..].copy_from_slice(key.as_bytes());
    bs58::encode(bytes).into_string()
}

/// The ed25519 public key inside a peer id, if it is one.
pub fn parse_peer_id(peer_id: &str) -> Result<Address, PeerIdError> {
    if peer_id.len() > PEER_ID_CHARS_MAX {
        return Err(PeerIdError::TooLong);
    }
    let bytes = bs58::decode(peer_id)
        .into_vec()
        .map_err(|_| PeerIdError::NotBase58)?;
    let key = match bytes.strip_prefix(&ED25519_PEER_ID_PREFIX[..]) {
        Some(rest) => <[u8; 32]>::try_from(rest).map_err(|_| PeerIdError::NotEd25519)?,
        None => return Err(PeerIdError::NotEd25519),
    };
    ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| PeerIdError::InvalidKey)?;
    Ok(Address(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::Keypair;

    #[test]
    fn a_peer_id_is_the_base58_identity_multihash_of_the_protobuf_key() {
        // Golden, computed independently (Python `cryptography` + a hand-written
        // base58): pins the encoding to libp2p's `PeerId::from_public_key`.
        let key = Keypair::from_seed_label("validator-0").address();
        assert_eq!(
            hex::encode(key.as_bytes()),
            "3068046a4371c0cd4ab9501952b7f7ec4bc01e9c3684e5a454f0fb0942c47435"
        );
        let id = peer_id_of(&key);
        assert_eq!(id, "12D3KooWD5KjPdnHns5WsBS5LUihqZsRyPjwGoWZKpr2GmMyszbn");
        assert_eq!(parse_peer_id(&id), Ok(key));
    }

    #[test]
    fn the_all_zero_key_has_the_known_libp2p_peer_id() {
        // Computed independently from the bytes 00 24 08 01 12 20 || 32 x 00.
        let id = peer_id_of(&Address([0; 32]));
        assert_eq!(id, "12D3KooW9pNAk8aiBuGVQtWRdbkLmo5qVL3e2h5UxbN2Nz9ttwiw");
    }

    #[test]
    fn malformed_peer_ids_are_refused_with_the_reason() {
        let cases = [
            ("0OIl", PeerIdError::NotBase58),
            (
                "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
                PeerIdError::NotEd25519,
            ),
            ("", PeerIdError::NotEd25519),
            (&"1".repeat(65), PeerIdError::TooLong),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_peer_id(input), Err(expected), "{input}");
        }
    }
}
