//! The per-account event history: every event except `FeeCharged` is indexed under
//! each account it names, keyed by (account, height, tx index, event index), so an
//! account's events can be listed newest first without reading any block.
//!
//! `FeeCharged` is left out: every transaction pays a fee, and its receipt (with the
//! payer and the amount) is one lookup away from the transaction's entry, so indexing
//! it would add a write per transaction for nothing the history cannot lead to; it also
//! keeps a failed call's writes to exactly its fee and nonce. A sponsor reads what its
//! budgets spent from `GET /v1/sponsors/{addr}`, and per day from its own record
//! (`fees::sponsored_days`, served in `GET /v1/partners/{addr}/daily`).

use crate::economy::query::{corrupt, decode, LISTED_MAX};
use crate::economy::BLOCK_EVENTS_TX_INDEX;
use crate::model::Event;
use crate::state::StateScan;
use crate::state::{keys, Overlay, StateError, StateRead};
use crate::types::Address;
use crate::types::Height;
use serde::{Deserialize, Serialize};

/// Indexes `events` (a receipt's, or the block's own at
/// [`crate::economy::BLOCK_EVENTS_TX_INDEX`]) at `height` and `tx_index`.
pub(crate) fn index<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    tx_index: u32,
    events: &[Event],
) -> Result<(), StateError> {
    for (i, event) in events.iter().enumerate() {
        if matches!(event, Event::FeeCharged(crate::events::FeeCharged { .. })) {
            continue;
        }
        let event_index = u32::try_from(i)
            .map_err(|_| StateError::InvariantBroken("more than 2^32 events in one receipt"))?;
        // Encoded once, stored under each account it names.
        let bytes = crate::codec::encode(event);
        for who in event.accounts() {
            ov.put_index(
                keys::history(&who, height, tx_index, event_index),
                bytes.clone(),
            );
        }
    }
    Ok(())
}

// -------------------------------------------------------------- queries

/// Where an event sits in the chain: the history key's order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct EventPosition {
    /// Block height.
    pub height: Height,
    /// Index of the transaction in the block; [`BLOCK_EVENTS_TX_INDEX`] for the block's
    /// own end-of-block events.
    pub tx_index: u32,
    /// Index of the event in the receipt's (or the block's) event list.
    pub event_index: u32,
}

/// One entry of an account's history.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccountEvent {
    /// Where it happened; pass it as `before` to get the next (older) page.
    pub position: EventPosition,
    /// The event.
    pub event: Event,
}

/// An account's events, newest first, strictly before `before` (from the newest if
/// `None`), at most `limit` (capped at [`LISTED_MAX`]). Fee events are not indexed.
pub fn account_events<S: StateScan + ?Sized>(
    state: &S,
    who: &Address,
    limit: usize,
    before: Option<EventPosition>,
) -> Result<Vec<AccountEvent>, StateError> {
    let prefix = keys::history_of(who);
    let bound = before.map(|p| keys::history(who, p.height, p.tx_index, p.event_index));
    let entries = state.scan_prefix_rev(&prefix, bound.as_deref(), limit.min(LISTED_MAX))?;
    entries
        .iter()
        .map(|(k, v)| {
            let position = keys::parse_history(k)
                .filter(|(owner, ..)| owner == who)
                .map(|(_, height, tx_index, event_index)| EventPosition {
                    height,
                    tx_index,
                    event_index,
                })
                .ok_or_else(|| corrupt(k, "history"))?;
            Ok(AccountEvent {
                position,
                event: decode(k, v)?,
            })
        })
        .collect()
}

impl AccountEvent {
    /// Whether the event came from the end-of-block step rather than a transaction.
    pub fn is_block_event(&self) -> bool {
        self.position.tx_index == BLOCK_EVENTS_TX_INDEX
    }
}
