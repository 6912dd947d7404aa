//! Block sync's choice of whom to ask: the heads peers announced, the request in
//! flight, and how far a peer whose answer failed is distrusted.
//!
//! Sync asks the peer announcing the highest head. A peer that lies about its head
//! (announces far above what it can serve, or serves blocks that do not check) would
//! otherwise be asked again at every re-announcement, costing a failed request each
//! time while honest peers that could serve wait. So a failed, timed-out or invalid
//! answer makes the peer's announcements ignored for choosing a sync target during a
//! backoff that starts at [`SYNC_DISTRUST_MS_MIN`] and doubles with every further
//! failure up to [`SYNC_DISTRUST_MS_MAX`]; an answer that applies blocks forgives it.
//! Its announced head is still recorded (the doppelganger gate and metrics read it).
//! Pure: the caller passes the clock.

use std::collections::BTreeMap;

use jeon_runtime::Height;

use super::PeerKey;

/// How long a peer is passed over as a sync target after its first failed answer.
pub const SYNC_DISTRUST_MS_MIN: u64 = 2_000;
/// The longest it is passed over, however often it failed: an honest peer that had a
/// bad minute (a restart, a slow disk) is asked again within this.
pub const SYNC_DISTRUST_MS_MAX: u64 = 120_000;

/// A peer whose sync answers failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Distrust {
    /// Failures since its last answer that applied blocks.
    failures: u32,
    /// Its announcements are ignored for choosing a target until then.
    until_ms: u64,
}

/// What block sync knows of its peers.
#[derive(Default)]
pub(super) struct SyncState {
    /// Heads that peers announced (or proved by serving blocks).
    pub(super) peer_heights: BTreeMap<PeerKey, Height>,
    /// The request in flight: peer and deadline.
    pub(super) in_flight: Option<(PeerKey, u64)>,
    /// Since when a peer has been ahead of us.
    pub(super) behind_since_ms: Option<u64>,
    /// Peers whose answers failed, passed over until their backoff ends.
    distrusted: BTreeMap<PeerKey, Distrust>,
}

impl SyncState {
    /// The peer to ask and its head: the highest announced head among the peers not
    /// distrusted at `now_ms`; ties go to the smallest key, for determinism.
    pub(super) fn target(&self, now_ms: u64) -> Option<(PeerKey, Height)> {
        self.peer_heights
            .iter()
            .filter(|(p, _)| self.distrusted.get(*p).is_none_or(|d| now_ms >= d.until_ms))
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(p, h)| (*p, *h))
    }

    /// `peer`'s answer failed (timed out, refused, invalid, or short of the head it
    /// announced): pass it over for a backoff that doubles with each failure in a row.
    /// Returns the backoff.
    pub(super) fn distrust(&mut self, now_ms: u64, peer: PeerKey) -> u64 {
        let entry = self.distrusted.entry(peer).or_insert(Distrust {
            failures: 0,
            until_ms: 0,
        });
        entry.failures = entry.failures.saturating_add(1);
        let doublings = (entry.failures - 1).min(16);
        let backoff = (SYNC_DISTRUST_MS_MIN << doublings).min(SYNC_DISTRUST_MS_MAX);
        entry.until_ms = now_ms.saturating_add(backoff);
        backoff
    }

    /// `peer` served blocks that applied: its failures are forgiven.
    pub(super) fn trust(&mut self, peer: &PeerKey) {
        self.distrusted.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> PeerKey {
        crate::p2p::peer_id(&[n; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_peer_whose_answer_failed_is_passed_over_for_a_growing_backoff() {
        let (liar, honest) = (peer(1), peer(2));
        let mut sync = SyncState::default();
        sync.peer_heights.insert(liar, 1_000_000);
        sync.peer_heights.insert(honest, 50);
        assert_eq!(
            sync.target(0),
            Some((liar, 1_000_000)),
            "the highest head first"
        );

        // Its answer fails: the honest peer is asked, even as the liar re-announces.
        assert_eq!(sync.distrust(0, liar), SYNC_DISTRUST_MS_MIN);
        sync.peer_heights.insert(liar, 1_000_001);
        assert_eq!(sync.target(1), Some((honest, 50)));
        assert_eq!(sync.target(SYNC_DISTRUST_MS_MIN - 1), Some((honest, 50)));
        // The backoff over, it is tried again; failing again doubles the backoff.
        let t = SYNC_DISTRUST_MS_MIN;
        assert_eq!(sync.target(t), Some((liar, 1_000_001)));
        assert_eq!(sync.distrust(t, liar), 2 * SYNC_DISTRUST_MS_MIN);
        assert_eq!(
            sync.target(t + 2 * SYNC_DISTRUST_MS_MIN - 1),
            Some((honest, 50))
        );
        // However often it fails, the backoff stops growing at its maximum.
        let mut backoff = 0;
        for _ in 0..40 {
            backoff = sync.distrust(t, liar);
        }
        assert_eq!(backoff, SYNC_DISTRUST_MS_MAX);
        assert_eq!(
            sync.target(t + SYNC_DISTRUST_MS_MAX),
            Some((liar, 1_000_001))
        );
    }

    #[test]
    fn an_answer_that_applies_blocks_forgives_and_a_lone_distrusted_peer_waits() {
        let p = peer(3);
        let mut sync = SyncState::default();
        sync.peer_heights.insert(p, 10);
        sync.distrust(0, p);
        sync.distrust(0, p);
        // Nobody else to ask: no request until the backoff ends.
        assert_eq!(sync.target(100), None);
        sync.trust(&p);
        assert_eq!(sync.target(100), Some((p, 10)));
        // Forgiven: its next failure starts from the shortest backoff again.
        assert_eq!(sync.distrust(100, p), SYNC_DISTRUST_MS_MIN);
    }
}
