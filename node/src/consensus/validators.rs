//! The validator set: membership, voting power, quorum thresholds and proposer rotation.

use std::collections::BTreeMap;
use std::fmt;

use super::types::{Height, Round, ValidatorIndex};

/// Upper bound on the total voting power of a set. The proposer sequence is precomputed
/// with one slot per unit of power, so this bounds its memory (128 KiB of indices) and the
/// time to build it; it also keeps every power sum far from `u64` overflow.
pub const VOTING_POWER_TOTAL_MAX: u64 = 1 << 16;

/// Upper bound on the number of validators. A permissioned consortium has tens of
/// members; the bound keeps building the proposer sequence, which costs
/// validators x total power steps, under twenty million steps.
pub const VALIDATORS_MAX: usize = 256;

/// One member of the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Validator {
    /// Ed25519 public key bytes.
    pub key: [u8; 32],
    /// Voting power; at least 1.
    pub power: u64,
}

/// Why a list of validators cannot form a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidatorSetError {
    /// The list is empty: nobody could ever reach a quorum.
    Empty,
    /// More than [`VALIDATORS_MAX`] validators.
    TooManyValidators {
        /// How many were given.
        count: usize,
    },
    /// A validator has zero power: it could never count towards a quorum.
    ZeroPower {
        /// Its position in the list.
        index: usize,
    },
    /// The same key appears twice: one signer would count twice.
    DuplicateKey {
        /// Position of the first occurrence.
        first: usize,
        /// Position of the repeat.
        repeat: usize,
    },
    /// The powers add up to more than [`VOTING_POWER_TOTAL_MAX`] (saturating sum).
    TotalPowerTooLarge {
        /// The (saturated) total.
        total: u64,
    },
}

impl fmt::Display for ValidatorSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the validator set is empty; list at least one validator"),
            Self::TooManyValidators { count } => {
                write!(
                    f,
                    "{count} validators given; at most {VALIDATORS_MAX} are supported"
                )
            }
            Self::ZeroPower { index } => {
                write!(
                    f,
                    "validator #{index} has zero voting power; give it at least 1 or remove it"
                )
            }
            Self::DuplicateKey { first, repeat } => {
                write!(
                    f,
                    "validators #{first} and #{repeat} have the same key; remove one"
                )
            }
            Self::TotalPowerTooLarge { total } => write!(
                f,
                "total voting power {total} exceeds {VOTING_POWER_TOTAL_MAX}; scale the powers down"
            ),
        }
    }
}

impl std::error::Error for ValidatorSetError {}

/// An ordered, validated set of validators with its precomputed proposer sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    index_by_key: BTreeMap<[u8; 32], ValidatorIndex>,
    total_power: u64,
    quorum_threshold: u64,
    /// One full cycle of smooth weighted round robin: `total_power` slots.
    proposer_sequence: Vec<ValidatorIndex>,
}

impl ValidatorSet {
    /// Validates `validators` and keeps them in the given order (indices are positions).
    pub fn new(validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if validators.len() > VALIDATORS_MAX {
            return Err(ValidatorSetError::TooManyValidators {
                count: validators.len(),
            });
        }
        let mut index_by_key = BTreeMap::new();
        let mut total_power: u64 = 0;
        for (index, validator) in validators.iter().enumerate() {
            if validator.power == 0 {
                return Err(ValidatorSetError::ZeroPower { index });
            }
            // VALIDATORS_MAX <= u16::MAX + 1, so every position fits a ValidatorIndex.
            let position = ValidatorIndex::try_from(index).map_err(|_| {
                ValidatorSetError::TooManyValidators {
                    count: validators.len(),
                }
            })?;
            if let Some(first) = index_by_key.insert(validator.key, position) {
                return Err(ValidatorSetError::DuplicateKey {
                    first: usize::from(first),
                    repeat: index,
                });
            }
            total_power = total_power.saturating_add(validator.power);
        }
        if total_power > VOTING_POWER_TOTAL_MAX {
            return Err(ValidatorSetError::TotalPowerTooLarge { total: total_power });
        }
        // Smallest power strictly greater than 2/3 of the total: floor(2T/3) + 1.
        let quorum_threshold = total_power
            .checked_mul(2)
            .map(|double| double / 3 + 1)
            .ok_or(ValidatorSetError::TotalPowerTooLarge { total: total_power })?;
        let proposer_sequence = smooth_weighted_round_robin(&validators, total_power);
        Ok(Self {
            validators,
            index_by_key,
            total_power,
            quorum_threshold,
            proposer_sequence,
        })
    }

    /// Number of validators (at least 1).
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false: an empty set is rejected by [`ValidatorSet::new`].
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// The validator at `index`, if any.
    pub fn get(&self, index: ValidatorIndex) -> Option<&Validator> {
        self.validators.get(usize::from(index))
    }

    /// All validators, in set order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// The index of the validator with public key `key`, if it is a member.
    pub fn index_of(&self, key: &[u8; 32]) -> Option<ValidatorIndex> {
        self.index_by_key.get(key).copied()
    }

    /// Sum of all powers.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// Power of the validator at `index`; 0 for an index outside the set (a non-member
    /// has no say).
    pub fn power(&self, index: ValidatorIndex) -> u64 {
        self.get(index).map_or(0, |validator| validator.power)
    }

    /// "2f+1": the smallest power strictly greater than 2/3 of the total power. Two sets
    /// of votes with this power always share more than 1/3 of the power.
    pub fn quorum_threshold(&self) -> u64 {
        self.quorum_threshold
    }

    /// "f+1": `total - quorum_threshold + 1`. The faulty power tolerated is at most
    /// `f = total - quorum_threshold` (the honest rest must still reach a quorum), so a
    /// set with this power contains at least one honest validator. Equivalently it is the
    /// smallest power that intersects every quorum. It equals `floor((total - 1) / 3) + 1`,
    /// which is not always "more than total / 3": for total 3 it is 1, not 2.
    pub fn honest_threshold(&self) -> u64 {
        self.total_power - self.quorum_threshold + 1
    }

    /// The proposer of (height, round): slot `(height + round) mod total_power` of the
    /// smooth weighted round robin sequence. Each validator proposes `power` times in any
    /// `total_power` consecutive heights (at a fixed round), interleaved with the others.
    pub fn proposer(&self, height: Height, round: Round) -> ValidatorIndex {
        let slots = self.proposer_sequence.len() as u64;
        // Reduce each term first so that the sum cannot overflow for any height.
        let slot = (height % slots + u64::from(round) % slots) % slots;
        // In range: slot < slots = len, and new() rejects an empty set.
        self.proposer_sequence[slot as usize]
    }
}

/// One full cycle of smooth weighted round robin (as in nginx): each slot, every
/// validator's credit grows by its power; the richest (lowest index on ties) is picked
/// and pays the total. After `total` slots every credit is back to 0 and each validator
/// was picked exactly `power` times, spread out rather than in runs.
fn smooth_weighted_round_robin(validators: &[Validator], total: u64) -> Vec<ValidatorIndex> {
    // Powers and total are at most 2^16 (checked by the caller), so credits stay within
    // +-2^32 and the casts below are lossless.
    let total_credit = total as i64;
    let mut credits = vec![0_i64; validators.len()];
    let mut sequence = Vec::with_capacity(total as usize);
    for _ in 0..total {
        for (credit, validator) in credits.iter_mut().zip(validators) {
            *credit += validator.power as i64;
        }
        let mut best = 0;
        for (index, credit) in credits.iter().enumerate() {
            if *credit > credits[best] {
                best = index;
            }
        }
        credits[best] -= total_credit;
        // best < validators.len() <= VALIDATORS_MAX, which fits a ValidatorIndex.
        sequence.push(best as ValidatorIndex);
    }
    sequence
}

#[cfg(test)]
mod genesis_agreement {
    #[test]
    fn genesis_enforces_the_same_validator_and_power_limits_as_the_core() {
        assert_eq!(jeon_genesis::VALIDATORS_MAX, super::VALIDATORS_MAX);
        assert_eq!(
            jeon_genesis::VOTING_POWER_TOTAL_MAX,
            super::VOTING_POWER_TOTAL_MAX
        );
    }
}
