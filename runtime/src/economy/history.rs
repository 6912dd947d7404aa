//! The per-account event history: every event except `FeeCharged` is indexed under
//! each account it names, keyed by (account, height, tx index, event index), so an
//! account's events can be listed newest first without reading any block.
//!
//! `FeeCharged` is left out: every transaction pays a fee, and its receipt (with the
//! payer and the amount) is one lookup away from the transaction's entry, so indexing
//! it would add a write per transaction for nothing the history cannot lead to; it also
//! keeps a failed call's writes to exactly its fee and nonce. A sponsor reads what its
//! budgets spent from `GET /v1/sponsors/{addr}`.

use crate::model::Event;
use crate::state::{keys, Overlay, StateError, StateRead};
use crate::types::Height;

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
