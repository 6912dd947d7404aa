//! What every query shares: the list bound, the query error, decoding helpers for
//! scanned keys and values, and the chain-wide records (jurisdictions, economy
//! parameters, issuance limits). Each feature's own queries live in its module
//! (`pay::tax_withheld`, `exchange::settlement_positions`, `history::account_events`, ...);
//! each reads a bounded amount of state.

use crate::codec;
use crate::economy::pay::code_bytes;
use crate::economy::{EconomyParams, Jurisdiction, QUERY_PERIODS_MAX};
use crate::state::{keys, read_record, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId};

/// The most records a list query returns.
pub const LISTED_MAX: usize = 1_000;

/// Why a query cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The period range is inverted or too long.
    #[error("period range {from}..={to} is inverted or spans more than {max} periods")]
    BadRange {
        /// First period asked for.
        from: u64,
        /// Last period asked for.
        to: u64,
        /// The most periods one query may span.
        max: u64,
    },
    /// Reading state failed.
    #[error(transparent)]
    State(#[from] StateError),
}

pub(crate) fn check_range(from: u64, to: u64) -> Result<(), QueryError> {
    if from > to || to - from >= QUERY_PERIODS_MAX {
        return Err(QueryError::BadRange {
            from,
            to,
            max: QUERY_PERIODS_MAX,
        });
    }
    Ok(())
}

pub(crate) fn corrupt(key: &[u8], what: &'static str) -> StateError {
    StateError::MalformedKey {
        what,
        key: key.to_vec(),
    }
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    key: &[u8],
    v: &[u8],
) -> Result<T, StateError> {
    codec::decode(v, 64 * 1024).map_err(|reason| StateError::CorruptValue {
        key: key.to_vec(),
        reason,
    })
}

pub(crate) fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

pub(crate) fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

pub(crate) fn address(bytes: &[u8]) -> Option<Address> {
    Some(Address(bytes.try_into().ok()?))
}

/// A jurisdiction by code ("KR").
pub fn jurisdiction<S: StateRead + ?Sized>(
    state: &S,
    code: &str,
) -> Result<Option<Jurisdiction>, StateError> {
    match code_bytes(code) {
        Some(c) => read_record(state, &keys::jurisdiction(&c)),
        None => Ok(None),
    }
}

/// Every jurisdiction, in code order.
pub fn jurisdictions<S: StateScan + ?Sized>(state: &S) -> Result<Vec<Jurisdiction>, StateError> {
    state
        .scan_prefix(&keys::jurisdictions(), LISTED_MAX)?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}

/// The economy parameters (defaults if the state has none).
pub fn economy_params<S: StateRead + ?Sized>(state: &S) -> Result<EconomyParams, StateError> {
    Ok(read_record(state, &keys::economy())?.unwrap_or_default())
}

/// An asset's issuance limit, if it has one.
pub fn supply_max<S: StateRead + ?Sized>(
    state: &S,
    asset: AssetId,
) -> Result<Option<Amount>, StateError> {
    read_record(state, &keys::supply_max(asset))
}
