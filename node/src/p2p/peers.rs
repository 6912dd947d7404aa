//! The peer book: redial state of configured peers, and penalty counts and bans.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

use super::config::{
    BAN_SECS, PENALTY_DISCONNECT, PENALTY_WINDOW_SECS, REDIAL_BACKOFF_MAX_MS,
    REDIAL_BACKOFF_MIN_MS, REDIAL_STABLE_MS,
};

/// Redial state of one configured peer address: 1 s after a failed attempt, doubling
/// to 10 s, and back to 1 s only after a connection that lasted [`REDIAL_STABLE_MS`].
#[derive(Debug)]
pub(super) struct Redial {
    pub(super) addr: Multiaddr,
    /// From the address, or learnt on the first connection.
    pub(super) peer: Option<PeerId>,
    /// The wait after the next attempt.
    backoff: Duration,
    next_at: Instant,
    /// When the peer was first seen connected, while it stays connected.
    connected_since: Option<Instant>,
    pub(super) dialing: Option<ConnectionId>,
    /// Set when the address turns out to be this node itself.
    pub(super) disabled: bool,
}

impl Redial {
    pub(super) fn new(addr: Multiaddr, now: Instant) -> Self {
        Redial {
            peer: peer_in(&addr),
            addr,
            backoff: Duration::from_millis(REDIAL_BACKOFF_MIN_MS),
            next_at: now,
            connected_since: None,
            dialing: None,
            disabled: false,
        }
    }

    /// One tick of the redial clock, given whether the peer is connected at `now`:
    /// true if it is to be dialed now (the attempt is counted and the backoff grows).
    pub(super) fn tick(&mut self, connected: bool, now: Instant) -> bool {
        if self.disabled || self.dialing.is_some() {
            return false;
        }
        if connected {
            let since = *self.connected_since.get_or_insert(now);
            if now.saturating_duration_since(since) >= Duration::from_millis(REDIAL_STABLE_MS) {
                self.backoff = Duration::from_millis(REDIAL_BACKOFF_MIN_MS);
            }
            return false;
        }
        self.connected_since = None;
        if now < self.next_at {
            return false;
        }
        self.next_at = now + self.backoff;
        self.backoff = (self.backoff * 2).min(Duration::from_millis(REDIAL_BACKOFF_MAX_MS));
        true
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

    /// Runs the redial clock tick by tick from `from` for `span`, the peer connected
    /// while `connected(t)` holds; the times (since `from`) of the dials, in ms.
    fn dials(
        redial: &mut Redial,
        from: Instant,
        span: Duration,
        connected: impl Fn(Duration) -> bool,
    ) -> Vec<u64> {
        let tick = Duration::from_millis(super::super::config::TICK_MS);
        let mut at = Duration::ZERO;
        let mut out = Vec::new();
        while at <= span {
            if redial.tick(connected(at), from + at) {
                // The attempt fails at once (or connects and is dropped before the
                // next tick, as a refusing node does): no dial stays in flight.
                out.push(u64::try_from(at.as_millis()).unwrap_or(u64::MAX));
            }
            at += tick;
        }
        out
    }

    fn addr() -> Multiaddr {
        "/ip4/127.0.0.1/tcp/26656"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_failing_peer_is_redialed_after_1_2_4_8_then_every_10_s() {
        let t0 = Instant::now();
        let mut redial = Redial::new(addr(), t0);
        let got = dials(&mut redial, t0, Duration::from_secs(46), |_| false);
        assert_eq!(
            got,
            vec![0, 1_000, 3_000, 7_000, 15_000, 25_000, 35_000, 45_000]
        );
    }

    #[test]
    fn only_a_connection_that_lasts_resets_the_backoff() {
        let t0 = Instant::now();
        let mut redial = Redial::new(addr(), t0);
        // Failing for 16 s: the backoff is at its 10 s cap (dials at 0, 1, 3, 7, 15).
        assert_eq!(
            dials(&mut redial, t0, Duration::from_secs(16), |_| false).len(),
            5
        );
        // Connected for 5 s (16..21 s), then lost: not stable, so still 10 s from the
        // last dial at 15 s, i.e. at 25 s.
        let t1 = t0 + Duration::from_secs(16);
        let brief = |at: Duration| at < Duration::from_secs(5);
        let got = dials(&mut redial, t1, Duration::from_secs(10), brief);
        assert_eq!(got, vec![9_000], "dialed 9 s after t1 = 25 s");
        // Connected for REDIAL_STABLE_MS, then lost at the next tick: redialed at once
        // (the last wait has long passed), then after 1 s and 2 s again.
        let t2 = t1 + Duration::from_secs(11);
        let stable = Duration::from_millis(REDIAL_STABLE_MS);
        let lasting = move |at: Duration| at <= stable;
        let got = dials(&mut redial, t2, stable + Duration::from_secs(4), lasting);
        let lost = REDIAL_STABLE_MS + super::super::config::TICK_MS;
        assert_eq!(got, vec![lost, lost + 1_000, lost + 3_000]);
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
