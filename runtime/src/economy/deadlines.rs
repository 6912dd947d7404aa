//! Deadline queues: ids that fall due at a height, handled at the end of that block.
//!
//! A queue is keyed by deadline height, one slot per entry, with a count per height,
//! so a block's sweep reads only what falls due (one read when nothing does). A sweep
//! examines at most a fixed number of slots (and of empty heights stepped over); the
//! rest carry over to the next block through a backlog record, oldest deadline first.
//! Pending redemptions (refunded at their deadline) and credit lines (defaulted at
//! their due height) each have one.

use crate::economy::ledger::{get, Res};
use crate::model::CallError;
use crate::state::{keys, Overlay, StateRead};
use crate::types::Height;

/// One queue: the key prefixes of its counts, its slots and its backlog record.
pub(crate) struct Queue {
    count: u8,
    slot: u8,
    backlog: u8,
}

/// Pending redemptions, by deadline.
pub(crate) const REDEMPTIONS: Queue = Queue {
    count: keys::DUE_COUNT,
    slot: keys::DUE,
    backlog: keys::SWEEP_BACKLOG,
};

/// Credit lines, by due height.
pub(crate) const CREDIT_LINES: Queue = Queue {
    count: keys::LINE_DUE_COUNT,
    slot: keys::LINE_DUE,
    backlog: keys::LINE_SWEEP_BACKLOG,
};

impl Queue {
    /// A queue under the given key prefixes (each registered in [`keys`]).
    pub(crate) const fn new(count: u8, slot: u8, backlog: u8) -> Queue {
        Queue {
            count,
            slot,
            backlog,
        }
    }

    /// Adds `id` to the entries due at `at`.
    pub(crate) fn push<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        at: Height,
        id: u64,
    ) -> Res<()> {
        let count_key = keys::deadline_count(self.count, at);
        let slot: u32 = get(ov, &count_key)?.unwrap_or(0);
        let next = slot.checked_add(1).ok_or(CallError::IdsExhausted)?;
        ov.put(keys::deadline_slot(self.slot, at, slot), &id)?;
        ov.put(count_key, &next)?;
        Ok(())
    }

    /// At the end of block `height`: hands every id due at or before `height` (and not
    /// yet handled) to `due`, oldest first, at most `budget` examinations per block.
    /// Each slot is removed as it is handled; `due` decides what the id still means.
    pub(crate) fn sweep<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        height: Height,
        mut budget: u32,
        mut due: impl FnMut(&mut Overlay<'_, S>, u64) -> Res<()>,
    ) -> Res<()> {
        let backlog_key = vec![self.backlog];
        let backlog: Option<(Height, u32)> = get(ov, &backlog_key)?;
        let (mut at, mut slot) = backlog.unwrap_or((height, 0));
        while at <= height {
            let count_key = keys::deadline_count(self.count, at);
            let count: u32 = get(ov, &count_key)?.unwrap_or(0);
            while slot < count {
                if budget == 0 {
                    ov.put(backlog_key, &(at, slot))?;
                    return Ok(());
                }
                budget -= 1;
                let key = keys::deadline_slot(self.slot, at, slot);
                let id: u64 = get(ov, &key)?.ok_or(crate::state::StateError::MissingRecord {
                    what: "deadline slot at height",
                    id: at,
                })?;
                ov.put_raw(key, None)?;
                due(ov, id)?;
                slot += 1;
            }
            if count > 0 {
                ov.put_raw(count_key, None)?;
            }
            at += 1;
            slot = 0;
            if at <= height {
                // Stepping over a height costs an examination too, so a long backlog of
                // empty heights is also worked off in bounded steps.
                if budget == 0 {
                    ov.put(backlog_key, &(at, 0u32))?;
                    return Ok(());
                }
                budget -= 1;
            }
        }
        if backlog.is_some() {
            ov.put_raw(backlog_key, None)?;
        }
        Ok(())
    }
}
