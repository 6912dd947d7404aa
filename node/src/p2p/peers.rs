//! The peer book: redial state of configured peers, and penalty counts and bans.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

use super::config::{BAN_SECS, PENALTY_DISCONNECT, PENALTY_WINDOW_SECS, REDIAL_BACKOFF_MIN_MS};

/// Redial state of one configured peer address.
#[derive(Debug)]
pub(super) struct Redial {
    pub(super) addr: Multiaddr,
    /// From the address, or learnt on the first connection.
    pub(super) peer: Option<PeerId>,
    pub(super) backoff: Duration,
    pub(super) next_at: Instant,
    pub(super) dialing: Option<ConnectionId>,
    /// Set when the address turns out to be this node itself.
    pub(super) disabled: bool,
}

impl Redial {
    pub(super) fn new(addr: Multiaddr) -> Self {
        Redial {
            peer: peer_in(&addr),
            addr,
            backoff: Duration::from_millis(REDIAL_BACKOFF_MIN_MS),
            next_at: Instant::now(),
            dialing: None,
            disabled: false,
        }
    }
}

pub(super) fn peer_in(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// Penalty counts and bans; pure, so tests can drive it with their own clock.
#[derive(Debug, Default)]
pub(super) struct PenaltyBook {
    /// Penalties since the window start, per peer. Only allowed peers are counted.
    counts: HashMap<PeerId, (u32, Instant)>,
    /// Ban expiry per banned peer.
    bans: HashMap<PeerId, Instant>,
}

impl PenaltyBook {
    /// Counts one penalty; true if it is the one that bans the peer.
    pub(super) fn penalize(&mut self, peer: PeerId, now: Instant) -> bool {
        let window = Duration::from_secs(PENALTY_WINDOW_SECS);
        let entry = self.counts.entry(peer).or_insert((0, now));
        if now.saturating_duration_since(entry.1) > window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
        if entry.0 < PENALTY_DISCONNECT {
            return false;
        }
        self.counts.remove(&peer);
        self.bans.insert(peer, now + Duration::from_secs(BAN_SECS));
        true
    }

    /// Removes and returns the bans that have run out.
    pub(super) fn expired(&mut self, now: Instant) -> Vec<PeerId> {
        let done: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in &done {
            self.bans.remove(peer);
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::peer_id;

    fn peer(n: u8) -> PeerId {
        peer_id(&[n; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_peer_is_banned_at_the_tenth_penalty_and_let_back_after_the_ban() {
        let mut book = PenaltyBook::default();
        let start = Instant::now();
        for n in 1..PENALTY_DISCONNECT {
            assert!(
                !book.penalize(peer(1), start),
                "banned after only {n} penalties"
            );
        }
        assert!(book.penalize(peer(1), start));
        assert!(book
            .expired(start + Duration::from_secs(BAN_SECS - 1))
            .is_empty());
        assert_eq!(
            book.expired(start + Duration::from_secs(BAN_SECS)),
            vec![peer(1)]
        );
        assert!(book.bans.is_empty());
    }

    #[test]
    fn penalties_older_than_the_window_are_forgiven() {
        let mut book = PenaltyBook::default();
        let start = Instant::now();
        for _ in 1..PENALTY_DISCONNECT {
            book.penalize(peer(2), start);
        }
        let later = start + Duration::from_secs(PENALTY_WINDOW_SECS + 1);
        assert!(!book.penalize(peer(2), later));
    }
}
