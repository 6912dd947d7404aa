//! The canonical binary encoding: the only module that names bincode.
//!
//! One fixed configuration (little-endian, fixed-width integers; enum tags are u32,
//! sequence lengths u64, `Option` a one-byte tag). Everything hashed or signed is
//! encoded here, so this format is consensus-critical: golden vectors in the tests pin
//! it, and enum variants are only ever appended. docs/encoding.md specifies it byte by
//! byte.
//!
//! Decoding untrusted bytes always goes through [`decode`], which takes a byte limit,
//! refuses inputs longer than it before parsing, bounds every length prefix by it
//! (so a forged length cannot make us allocate), and rejects trailing bytes.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest input [`decode`] accepts, whatever limit a caller passes: 64 MiB.
pub const DECODE_BYTES_MAX: usize = 64 << 20;

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

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<DECODE_BYTES_MAX>()
}

/// Encodes a value in the canonical format.
///
/// Encoding our own types cannot fail (they contain no maps with non-string keys of
/// unknown length, no `collect_str` and nothing larger than the limit); a failure is
/// a programmer error, so it is asserted.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    match bincode::serde::encode_to_vec(value, config()) {
        Ok(bytes) => bytes,
        Err(e) => panic!("canonical encoding of an in-memory value failed: {e}"),
    }
}

/// Decodes a value from untrusted bytes: at most `limit` bytes, no trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let limit = limit.min(DECODE_BYTES_MAX);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())
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
