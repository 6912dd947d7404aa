//! The canonical binary encoding: the only module that names bincode.
//!
//! One fixed configuration (little-endian, fixed-width integers; enum tags are u32,
//! sequence lengths u64, `Option` a one-byte tag). Everything hashed or signed is
//! encoded here, so this format is consensus-critical: golden vectors in the tests pin
//! it, and enum variants are only ever appended. docs/encoding.md specifies it byte by
//! byte.
//!
//! Decoding untrusted bytes always goes through [`decode`], which takes a byte limit,
//! refuses inputs longer than it before parsing, bounds every length prefix by the
//! smallest tier of [`DECODE_TIERS_BYTES`] that holds the input (so a forged length
//! cannot make us allocate more than that tier), and rejects trailing bytes.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest input [`decode`] accepts, whatever limit a caller passes: 64 MiB.
pub const DECODE_BYTES_MAX: usize = 64 << 20;

/// The internal limits [`decode`] chooses from: 4 KiB, 64 KiB, 1 MiB, 16 MiB, 64 MiB.
///
/// bincode reads a length prefix, checks it against its limit, and only then allocates
/// the whole string or byte buffer before reading it; a prefix that fits the limit but
/// not the input therefore costs an allocation of up to the limit. bincode's limit is a
/// const generic, so instead of one 64 MiB limit `decode` uses the smallest tier that
/// holds the input: a forged prefix costs at most max(4 KiB, 16 x the input), e.g.
/// 4 KiB for any transaction. A valid input never exceeds its tier, because in serde
/// mode bincode counts exactly the bytes it consumes.
pub const DECODE_TIERS_BYTES: [usize; 5] = [4 << 10, 64 << 10, 1 << 20, 16 << 20, DECODE_BYTES_MAX];

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodecError {
    /// The input is longer than the limit for this kind of message.
    #[error("input of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit that applied.
        limit: usize,
    },
    /// The bytes do not describe a value of the expected type.
    #[error("malformed encoding: {0}")]
    Malformed(String),
    /// A value was decoded but bytes were left over.
    #[error("{trailing} trailing bytes after the encoded value")]
    TrailingBytes {
        /// How many bytes were left.
        trailing: usize,
    },
}

/// The canonical format, without a limit.
fn format() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::NoLimit,
> {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
}

fn config() -> impl bincode::config::Config {
    format().with_limit::<DECODE_BYTES_MAX>()
}

/// Decodes with bincode's internal limit set to `LIMIT` bytes.
fn decode_within<T: DeserializeOwned, const LIMIT: usize>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, format().with_limit::<LIMIT>())
}

/// Encodes a value in the canonical format.
///
/// Encoding our own types cannot fail (they contain no maps with non-string keys of
/// unknown length, no `collect_str` and nothing larger than the limit); a failure is
/// a programmer error, so it is asserted (the one panic outside tests: an assertion,
/// which like every assertion stays on in release builds).
#[allow(
    clippy::panic,
    reason = "asserts a programmer error; no input from outside reaches it"
)]
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Room for a transaction or a vote at once: `encode_to_vec` starts empty and grew
    // one 200-byte transaction five times, and transactions are encoded several times
    // each (hash, signing bytes, block limits).
    let mut bytes = Vec::with_capacity(ENCODE_CAPACITY_BYTES);
    match bincode::serde::encode_into_std_write(value, &mut bytes, config()) {
        Ok(_) => bytes,
        Err(e) => panic!("canonical encoding of an in-memory value failed: {e}"),
    }
}

/// What [`encode`] reserves before encoding.
const ENCODE_CAPACITY_BYTES: usize = 256;

/// Decodes a value from untrusted bytes: at most `limit` bytes, no trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let limit = limit.min(DECODE_BYTES_MAX);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    // The smallest tier that holds the input (which is at most DECODE_BYTES_MAX).
    let len = bytes.len();
    let decoded = if len <= DECODE_TIERS_BYTES[0] {
        decode_within::<T, { DECODE_TIERS_BYTES[0] }>(bytes)
    } else if len <= DECODE_TIERS_BYTES[1] {
        decode_within::<T, { DECODE_TIERS_BYTES[1] }>(bytes)
    } else if len <= DECODE_TIERS_BYTES[2] {
        decode_within::<T, { DECODE_TIERS_BYTES[2] }>(bytes)
    } else if len <= DECODE_TIERS_BYTES[3] {
        decode_within::<T, { DECODE_TIERS_BYTES[3] }>(bytes)
    } else {
        decode_within::<T, { DECODE_TIERS_BYTES[4] }>(bytes)
    };
    let (value, read) = decoded.map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes {
            trailing: bytes.len() - read,
        });
    }
    Ok(value)
}

/// The compact format: bincode with variable-length integers. For the node's own
/// storage records only (block segments, indexes): never hashed, signed or sent, so
/// it is not consensus; the canonical format above is.
fn compact() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_BYTES_MAX>()
}

/// Encodes a value in the compact storage format (see [`decode_compact`]). Fails only
/// on a programmer error, like [`encode`]; returned rather than asserted because a
/// storage caller can report it.
pub fn encode_compact<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, compact())
        .map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Decodes a value in the compact storage format: no trailing bytes.
pub fn decode_compact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > DECODE_BYTES_MAX {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit: DECODE_BYTES_MAX,
        });
    }
    let (value, read) = bincode::serde::decode_from_slice(bytes, compact())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes {
            trailing: bytes.len() - read,
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Shape {
        Dot,
        Line { len: u16 },
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Sample {
        a: u8,
        b: u64,
        c: Option<u32>,
        d: Vec<u8>,
        e: Shape,
        f: String,
    }

    fn sample() -> Sample {
        Sample {
            a: 1,
            b: 2,
            c: Some(3),
            d: vec![4, 5],
            e: Shape::Line { len: 6 },
            f: "jeon".into(),
        }
    }

    #[test]
    fn golden_bytes_pin_the_format() {
        let expected = concat!(
            "01",               // a: u8
            "0200000000000000", // b: u64 little-endian
            "01",
            "03000000", // c: Some(u32)
            "0200000000000000",
            "0405", // d: u64 length, bytes
            "01000000",
            "0600", // e: u32 variant tag 1, u16
            "0400000000000000",
            "6a656f6e", // f: u64 length, utf-8
        );
        assert_eq!(hex::encode(encode(&sample())), expected);
    }

    #[test]
    fn decode_round_trips() {
        let bytes = encode(&sample());
        assert_eq!(decode::<Sample>(&bytes, 1024), Ok(sample()));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode(&sample());
        bytes.push(0);
        assert_eq!(
            decode::<Sample>(&bytes, 1024),
            Err(CodecError::TrailingBytes { trailing: 1 })
        );
    }

    #[test]
    fn input_over_the_limit_is_rejected_before_parsing() {
        let bytes = encode(&sample());
        let limit = bytes.len() - 1;
        assert_eq!(
            decode::<Sample>(&bytes, limit),
            Err(CodecError::TooLarge {
                len: bytes.len(),
                limit
            })
        );
    }

    #[test]
    fn a_forged_length_prefix_does_not_allocate() {
        // A Vec<u8> claiming u64::MAX elements in 8 bytes.
        let bytes = u64::MAX.to_le_bytes();
        assert!(matches!(
            decode::<Vec<u8>>(&bytes, 1024),
            Err(CodecError::Malformed(_))
        ));
    }

    /// A CreateAsset transaction whose symbol length prefix claims `claimed` bytes.
    fn create_asset_tx_claiming_symbol_bytes(claimed: u64) -> Vec<u8> {
        use crate::tx::{Call, TxBody};
        let key = crate::crypto::Keypair::from_seed_label("issuer");
        let body = TxBody {
            chain_id: crate::types::Hash([0xc1; 32]),
            sender: key.address(),
            nonce: 0,
            fee_limit: 10,
            expiry: 100,
            call: Call::CreateAsset(crate::calls::CreateAsset {
                symbol: "KRW".into(),
                decimals: 0,
                kind: crate::model::AssetKind::Money,
                supply_max: None,
            }),
            fee_payer: None,
        };
        let mut bytes = encode(&body.sign(&key));
        // chain_id 32, sender 32, nonce 8, fee_limit 8, expiry 8, call tag 4.
        let symbol_len_at = 92;
        assert_eq!(bytes[symbol_len_at..symbol_len_at + 8], 3u64.to_le_bytes());
        bytes[symbol_len_at..symbol_len_at + 8].copy_from_slice(&claimed.to_le_bytes());
        bytes
    }

    #[test]
    fn a_transaction_whose_symbol_claims_60_mib_is_refused_before_allocating() {
        use crate::tx::{SignedTx, TX_BYTES_MAX};
        let bytes = create_asset_tx_claiming_symbol_bytes(60 << 20);
        // bincode checks a length prefix against its limit before allocating the
        // buffer; "LimitExceeded" (not "UnexpectedEnd") says the check refused it, so
        // the 60 MiB were never allocated.
        let refused = CodecError::Malformed("LimitExceeded".into());
        assert_eq!(
            decode::<SignedTx>(&bytes, TX_BYTES_MAX).err(),
            Some(refused.clone())
        );
        assert_eq!(
            SignedTx::decode(&bytes).err(),
            Some(crate::tx::TxError::Decode(refused))
        );
    }

    #[test]
    fn a_generous_limit_does_not_widen_the_allocation_bound_of_a_small_input() {
        // A 16 MiB (block-sized) limit, but the input is 200 bytes: the 4 KiB tier
        // applies, so a claim of 8 KiB is refused before allocating.
        let bytes = create_asset_tx_claiming_symbol_bytes(8 << 10);
        assert_eq!(
            decode::<crate::tx::SignedTx>(&bytes, 16 << 20),
            Err(CodecError::Malformed("LimitExceeded".into()))
        );
    }

    #[test]
    fn inputs_at_each_tier_boundary_round_trip() {
        // A Vec<u8> of n - 8 bytes encodes to exactly n bytes (u64 length + bytes).
        for tier in DECODE_TIERS_BYTES.into_iter().take(3) {
            for len in [tier, tier + 1] {
                let value = vec![7u8; len - 8];
                let bytes = encode(&value);
                assert_eq!(bytes.len(), len);
                assert_eq!(
                    decode::<Vec<u8>>(&bytes, 16 << 20),
                    Ok(value),
                    "{len} bytes"
                );
                let text = "k".repeat(len - 8);
                assert_eq!(
                    decode::<String>(&encode(&text), len),
                    Ok(text),
                    "{len} bytes"
                );
            }
        }
    }

    #[test]
    fn truncated_input_and_unknown_variants_are_malformed() {
        let bytes = encode(&sample());
        assert!(matches!(
            decode::<Sample>(&bytes[..5], 1024),
            Err(CodecError::Malformed(_))
        ));
        assert!(matches!(
            decode::<Shape>(&9u32.to_le_bytes(), 1024),
            Err(CodecError::Malformed(_))
        ));
    }
}
