//! When the validator may sign at all: the two protections that sit in front of the
//! guard's per-message check, as a pure state machine (time and the head come in as
//! arguments, so the simulator drives it like the node).
//!
//! 1. **Chain behind the record.** If the record is above `head + 1`, the chain lost
//!    blocks this validator signed at (its `db/` was deleted or an old backup restored).
//!    Signing at those heights again could contradict what it signed before, so it
//!    signs nothing at a height ≤ the record's until the chain is past it.
//! 2. **Doppelganger.** With no record at all on a chain past genesis or with peers,
//!    this key may already be signing elsewhere (a copied data directory, a second
//!    machine). It first listens for [`DOPPELGANGER_WINDOW_MS`], and until it has caught
//!    up with the heads its peers announce (a height a peer already finalized needs no
//!    vote, and old heights are where a copy of this key most likely signed before); a
//!    message signed by its key that this process did not sign, then or at any later
//!    time, stops all signing for the life of the process. It can only detect a copy
//!    whose messages reach it: it is a net under the operator, not a substitute for
//!    running each key once.

use std::collections::BTreeMap;

use jeon_runtime::{Hash, Height};
use serde::Serialize;

use super::state::SignedRecord;
use crate::replica::REBROADCAST_MS;

/// How long a validator with no record listens before signing: three re-send periods.
/// A doppelganger on a live chain signs at every height (about one a second) and, on
/// a stalled one, re-sends its messages every [`REBROADCAST_MS`]; three periods see
/// its messages unless the network loses every one of them.
pub const DOPPELGANGER_WINDOW_MS: u64 = 3 * REBROADCAST_MS;
/// The most slots this process remembers having signed (about 250 heights): a message
/// by our key for a slot older than the oldest remembered is not judged, since it may
/// be our own, relayed late.
pub const SIGNED_SLOTS_KEPT_MAX: usize = 1_024;

/// (height, round, step) of a signed message.
pub type Slot = (Height, u32, u8);

/// Whether, and why not, this node signs; `/v1/status` reports it as `signing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SigningStatus {
    /// Signing normally.
    Active,
    /// The chain is more than a height behind the signer record: nothing at or below
    /// `record_height` is signed; signing resumes once the head reaches
    /// `record_height - 1` (by block sync, or a restored `db/`), where the node resumes
    /// the record's height as after a restart, above the record.
    WaitingForChain {
        /// The record's height.
        record_height: Height,
        /// The head when last checked.
        head: Height,
    },
    /// No record: listening for another process signing with this key until `until_ms`.
    DoppelgangerCheck {
        /// When the window ends (ms since the Unix epoch).
        until_ms: u64,
    },
    /// A message signed by this key that this process did not sign was seen: nothing
    /// more is signed until an operator restarts the node (docs/consensus.md §6).
    Refused {
        /// The message's height.
        height: Height,
        /// Its round.
        round: u32,
        /// Its step (0 proposal, 1 prevote, 2 precommit).
        step: u8,
    },
    /// Not a validator (no key in the set): never signs.
    NotValidator,
}

/// The gate's state.
#[derive(Clone, Debug)]
pub struct SigningGate {
    status: SigningStatus,
    /// Messages by our key are judged only above this slot: the record at start (what
    /// we signed before is not evidence), or the head at start with no record.
    judged_above: Option<Slot>,
    /// What this process signed, by slot (bounded).
    signed_here: BTreeMap<Slot, Option<Hash>>,
    /// The highest slot forgotten from `signed_here`.
    forgotten: Option<Slot>,
}

/// What the gate says about a message signed by our key that it was shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Ours, or too old to judge.
    Fine,
    /// Not signed by this process: signing stops now.
    Doppelganger(Slot),
}

impl SigningGate {
    /// The gate for a validator starting at `head` with `record` (if any) at `now_ms`;
    /// `networked` says whether it has peers (a doppelganger could be among them).
    pub fn new(record: Option<&SignedRecord>, head: Height, networked: bool, now_ms: u64) -> Self {
        let status = match record {
            Some(r) if r.height > head.saturating_add(1) => SigningStatus::WaitingForChain {
                record_height: r.height,
                head,
            },
            Some(_) => SigningStatus::Active,
            None if head > 0 || networked => SigningStatus::DoppelgangerCheck {
                until_ms: now_ms.saturating_add(DOPPELGANGER_WINDOW_MS),
            },
            None => SigningStatus::Active,
        };
        let judged_above = match record {
            Some(r) => Some((r.height, r.round, r.step)),
            // Heights up to the head were decided before we started: not evidence.
            None => Some((head, u32::MAX, u8::MAX)),
        };
        SigningGate {
            status,
            judged_above,
            signed_here: BTreeMap::new(),
            forgotten: None,
        }
    }

    /// A gate that never signs (a full node).
    pub fn not_validator() -> Self {
        SigningGate {
            status: SigningStatus::NotValidator,
            judged_above: None,
            signed_here: BTreeMap::new(),
            forgotten: None,
        }
    }

    /// The current status.
    pub fn status(&self) -> SigningStatus {
        self.status
    }

    /// Moves on with the head, the highest head a peer announced, and the clock: the
    /// chain reaching the height below the record, or the window ending with the node caught up, opens
    /// the gate. Returns the new status if it changed.
    pub fn update(
        &mut self,
        head: Height,
        peers_head: Height,
        now_ms: u64,
    ) -> Option<SigningStatus> {
        let next = match self.status {
            // As at start: a record at the next height is an ordinary restart (the
            // replica resumes that height above the record, with its lock); waiting
            // for the chain to pass it stalled a height this validator had signed in,
            // once more than a third of the power was in that state (the chaos
            // harness's wipe-halt manifest).
            SigningStatus::WaitingForChain { record_height, .. }
                if head.saturating_add(1) >= record_height =>
            {
                SigningStatus::Active
            }
            SigningStatus::WaitingForChain { record_height, .. } => {
                SigningStatus::WaitingForChain {
                    record_height,
                    head,
                }
            }
            SigningStatus::DoppelgangerCheck { until_ms }
                if now_ms >= until_ms && peers_head <= head =>
            {
                SigningStatus::Active
            }
            other => other,
        };
        let changed = std::mem::discriminant(&next) != std::mem::discriminant(&self.status);
        self.status = next;
        changed.then_some(next)
    }

    /// Whether signing at `height` is allowed now.
    pub fn allows(&self, height: Height) -> bool {
        match self.status {
            SigningStatus::Active => true,
            SigningStatus::WaitingForChain { record_height, .. } => height > record_height,
            _ => false,
        }
    }

    /// Remembers that this process signed `block` at `slot`.
    pub fn signed(&mut self, slot: Slot, block: Option<Hash>) {
        self.signed_here.insert(slot, block);
        while self.signed_here.len() > SIGNED_SLOTS_KEPT_MAX {
            if let Some((old, _)) = self.signed_here.pop_first() {
                self.forgotten = self.forgotten.max(Some(old));
            }
        }
    }

    /// Whether a message by our key for `block` at `slot` would be a doppelganger's:
    /// newer than anything signed before this process started, not signed by it, and
    /// not already stopped for. Cheap: the caller verifies the signature only then.
    pub fn suspects(&self, slot: Slot, block: Option<Hash>) -> bool {
        let watching = !matches!(
            self.status,
            SigningStatus::NotValidator | SigningStatus::Refused { .. }
        );
        let judged = self.judged_above.is_none_or(|floor| slot > floor)
            && self.forgotten.is_none_or(|f| slot > f);
        watching && judged && self.signed_here.get(&slot) != Some(&block)
    }

    /// Judges a message whose signature by our key was verified: one this process did
    /// not sign, newer than anything signed before it started, stops signing for good.
    pub fn observe(&mut self, slot: Slot, block: Option<Hash>) -> Observed {
        if !self.suspects(slot, block) {
            return Observed::Fine;
        }
        let (height, round, step) = slot;
        self.status = SigningStatus::Refused {
            height,
            round,
            step,
        };
        Observed::Doppelganger(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(height: Height, round: u32, step: u8) -> SignedRecord {
        SignedRecord {
            height,
            round,
            step,
            block: Some(Hash([1; 32])),
            lock: None,
        }
    }

    #[test]
    fn a_first_start_of_a_lone_validator_at_genesis_signs_at_once() {
        let gate = SigningGate::new(None, 0, false, 1_000);
        assert_eq!(gate.status(), SigningStatus::Active);
        assert!(gate.allows(1));
    }

    #[test]
    fn no_record_past_genesis_or_with_peers_listens_for_the_window_first() {
        for (head, networked) in [(5, false), (0, true), (5, true)] {
            let mut gate = SigningGate::new(None, head, networked, 1_000);
            let until_ms = 1_000 + DOPPELGANGER_WINDOW_MS;
            assert_eq!(gate.status(), SigningStatus::DoppelgangerCheck { until_ms });
            assert!(!gate.allows(head + 1));
            assert_eq!(gate.update(head, head, until_ms - 1), None);
            assert_eq!(
                gate.update(head, head + 3, until_ms),
                None,
                "behind its peers"
            );
            assert_eq!(
                gate.update(head + 3, head + 3, until_ms),
                Some(SigningStatus::Active)
            );
            assert!(gate.allows(head + 4));
        }
    }

    #[test]
    fn a_chain_behind_the_record_signs_nothing_until_it_reaches_the_height_below_the_record() {
        let mut gate = SigningGate::new(Some(&record(7, 2, 2)), 0, false, 0);
        assert_eq!(
            gate.status(),
            SigningStatus::WaitingForChain {
                record_height: 7,
                head: 0
            }
        );
        assert!(!gate.allows(1));
        assert!(!gate.allows(7));
        assert_eq!(gate.update(5, 9, 0), None, "head 5 leaves height 6 unknown");
        assert!(!gate.allows(7));
        // The record's height is next: as a restart there would be, signing resumes
        // (the guard still refuses anything at or below the record's slot).
        assert_eq!(gate.update(6, 9, 0), Some(SigningStatus::Active));
        assert!(gate.allows(7));
    }

    #[test]
    fn a_record_at_the_next_height_is_an_ordinary_restart() {
        let gate = SigningGate::new(Some(&record(4, 0, 1)), 3, true, 0);
        assert_eq!(gate.status(), SigningStatus::Active);
    }

    #[test]
    fn a_message_by_our_key_that_we_did_not_sign_stops_signing_for_good() {
        let mut gate = SigningGate::new(Some(&record(4, 0, 1)), 3, true, 0);
        let ours = Some(Hash([2; 32]));
        gate.signed((4, 0, 2), ours);
        assert_eq!(gate.observe((4, 0, 2), ours), Observed::Fine, "our own");
        assert_eq!(gate.observe((4, 0, 1), ours), Observed::Fine, "the record");
        assert_eq!(
            gate.observe((3, 5, 2), None),
            Observed::Fine,
            "before start"
        );
        assert_eq!(
            gate.observe((4, 0, 2), None),
            Observed::Doppelganger((4, 0, 2)),
            "same slot, other block"
        );
        assert!(!gate.allows(5));
        assert!(
            !gate.suspects((9, 0, 1), None),
            "stopped already: nothing more to judge"
        );
        assert_eq!(gate.update(100, 0, u64::MAX), None, "nothing reopens it");
        assert!(matches!(
            gate.status(),
            SigningStatus::Refused { height: 4, .. }
        ));
    }

    #[test]
    fn with_no_record_anything_above_the_head_by_our_key_is_a_doppelganger() {
        let mut gate = SigningGate::new(None, 10, true, 0);
        assert_eq!(gate.observe((10, 3, 2), None), Observed::Fine);
        assert_eq!(
            gate.observe((11, 0, 1), None),
            Observed::Doppelganger((11, 0, 1))
        );
    }

    #[test]
    fn slots_older_than_what_is_remembered_are_not_judged() {
        let mut gate = SigningGate::new(None, 0, false, 0);
        for h in 1..=(SIGNED_SLOTS_KEPT_MAX as u64 + 10) {
            gate.signed((h, 0, 1), None);
        }
        assert_eq!(gate.observe((5, 0, 1), Some(Hash([9; 32]))), Observed::Fine);
        let recent = SIGNED_SLOTS_KEPT_MAX as u64;
        assert_eq!(
            gate.observe((recent, 0, 1), Some(Hash([9; 32]))),
            Observed::Doppelganger((recent, 0, 1))
        );
    }
}
