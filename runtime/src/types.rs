//! Primitive chain types: addresses, hashes, asset ids and the integer aliases.

use core::fmt;
use core::str::FromStr;

use bech32::{Bech32m, Hrp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in an asset's smallest unit. All arithmetic on it is checked.
pub type Amount = u64;
/// A sender's transaction counter; the next transaction must carry exactly the stored value.
pub type Nonce = u64;
/// A block height; the genesis state is height 0, the first block is height 1.
pub type Height = u64;
/// Milliseconds since the Unix epoch, as proposed in a block header.
pub type TimeMs = u64;

/// The human-readable prefix of every address.
pub const ADDRESS_HRP: &str = "jeon";

/// An account: an ed25519 public key, shown as bech32m with the prefix `jeon`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 32]);

/// Why a string is not a valid address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not bech32m at all, or the checksum does not match (a typo).
    #[error("malformed address {input:?}: {reason}")]
    Malformed {
        /// What was given.
        input: String,
        /// What the bech32 decoder said.
        reason: String,
    },
    /// A valid bech32m string for another network or purpose.
    #[error("address {input:?} has prefix {hrp:?}, expected \"jeon\"")]
    WrongPrefix {
        /// What was given.
        input: String,
        /// The prefix found.
        hrp: String,
    },
    /// The payload is not 32 bytes.
    #[error("address {input:?} holds {len} bytes, expected 32")]
    WrongLength {
        /// What was given.
        input: String,
        /// The payload length found.
        len: usize,
    },
}

impl Address {
    /// The raw public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The HRP is a valid constant, so parsing it cannot fail.
        let hrp = Hrp::parse_unchecked(ADDRESS_HRP);
        bech32::encode_lower_to_fmt::<Bech32m, _>(f, hrp, &self.0).map_err(|_| fmt::Error)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let checked =
            bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(input).map_err(|e| {
                AddressError::Malformed {
                    input: input.to_owned(),
                    reason: e.to_string(),
                }
            })?;
        let hrp = checked.hrp();
        if hrp.to_lowercase() != ADDRESS_HRP {
            return Err(AddressError::WrongPrefix {
                input: input.to_owned(),
                hrp: hrp.to_string(),
            });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AddressError::WrongLength {
                input: input.to_owned(),
                len: bytes.len(),
            })?;
        let address = Address(key);
        // 32 bytes fill 52 five-bit groups with 4 bits to spare; bech32 0.11 ignores
        // them, so without this check 16 strings would name each account (BIP-173:
        // the padding must be zero). One account, one address text.
        if address.to_string() != input.to_ascii_lowercase() {
            return Err(AddressError::Malformed {
                input: input.to_owned(),
                reason:
                    "not the canonical encoding: the padding bits after the 32 bytes must be zero"
                        .into(),
            });
        }
        Ok(address)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(Address)
        }
    }
}

/// A 32-byte SHA-256 digest: block, transaction and state commitments. Shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

/// Why a string is not a valid hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed hash {input:?}: expected 64 hex digits")]
pub struct HashParseError {
    /// What was given.
    pub input: String,
}

impl Hash {
    /// The all-zero hash, used as the previous hash of the first block.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", hex::encode(&self.0[..8]))
    }
}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(input, &mut out).map_err(|_| HashParseError {
            input: input.to_owned(),
        })?;
        Ok(Hash(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(Hash)
        }
    }
}

/// An asset's identifier: genesis assets take the ids their spec gives, created
/// assets take the next free id.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct AssetId(pub u32);

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_bech32m() {
        let a = Address([7; 32]);
        let s = a.to_string();
        assert!(s.starts_with("jeon1"), "{s}");
        assert_eq!(s.parse::<Address>(), Ok(a));
    }

    #[test]
    fn a_typo_in_an_address_is_caught_by_the_checksum() {
        let s = Address([7; 32]).to_string();
        let mut chars: Vec<char> = s.chars().collect();
        let i = chars.len() - 3;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            typo.parse::<Address>(),
            Err(AddressError::Malformed { .. })
        ));
    }

    #[test]
    fn an_address_for_another_prefix_is_refused() {
        let hrp = Hrp::parse("cosmos").expect("valid hrp");
        let s = bech32::encode::<Bech32m>(hrp, &[1; 32]).expect("encodes");
        assert!(matches!(
            s.parse::<Address>(),
            Err(AddressError::WrongPrefix { .. })
        ));
    }

    #[test]
    fn an_address_with_nonzero_padding_bits_is_refused_and_each_account_has_one_text() {
        // Alice's key (the dev preset's) with the 4 spare bits set, checksum valid.
        let odd = "jeon1p4jpk9autwnzng2n34snjr7l3uc3unfapjyjwjjl0kqpq2ae5784xja2ge";
        let err = odd.parse::<Address>().expect_err("padding must be zero");
        assert!(matches!(err, AddressError::Malformed { .. }), "{err:?}");
        // The canonical text of the same key parses, in either case, to that key.
        let key = crate::Keypair::from_seed_label("alice").address();
        let canonical = key.to_string();
        assert_eq!(canonical.parse::<Address>().expect("canonical"), key);
        assert_eq!(
            canonical.to_uppercase().parse::<Address>().expect("upper"),
            key
        );
    }

    #[test]
    fn a_short_payload_is_refused() {
        let hrp = Hrp::parse("jeon").expect("valid hrp");
        let s = bech32::encode::<Bech32m>(hrp, &[1; 20]).expect("encodes");
        assert!(matches!(
            s.parse::<Address>(),
            Err(AddressError::WrongLength { len: 20, .. })
        ));
    }

    #[test]
    fn hash_parses_only_64_hex_digits() {
        let h = Hash([0xab; 32]);
        assert_eq!(h.to_string().parse::<Hash>(), Ok(h));
        assert!("abcd".parse::<Hash>().is_err());
        assert!("zz".repeat(32).parse::<Hash>().is_err());
    }
}
