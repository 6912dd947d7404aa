//! Per-peer gossip budgets: how many messages and bytes each peer may deliver per
//! second on each topic before the excess is dropped and the peer penalized.
//!
//! A peer is charged for the gossip messages it is the first to deliver (gossipsub
//! drops later copies before they reach us), keyed by the connection they came over,
//! which noise authenticates; the author field is not signed, so it is not trusted.
//! Each (peer, topic) has two token buckets (messages and bytes) holding up to
//! `p2p_gossip_burst_secs` ([`super::config::GossipBudgetConfig`]) seconds of their rate and refilled continuously. A message
//! that does not fit is dropped whole (not forwarded either) and the peer is
//! penalized at most once per [`GOSSIP_OVER_BUDGET_PENALTY_INTERVAL_MS`], so a peer that
//! keeps flooding reaches [`super::PENALTY_DISCONNECT`] and is banned, while one burst
//! over the budget costs a single penalty that is forgiven later. Pure: the caller
//! passes the clock.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::PeerId;
use tokio::time::Instant;

use super::config::{GossipBudgetConfig, GOSSIP_OVER_BUDGET_PENALTY_INTERVAL_MS};
use super::Topic;

/// Why a message was over budget (the `reason` label of `p2p_gossip_dropped`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OverBudget {
    /// More messages per second than the topic allows.
    Messages,
    /// More bytes per second than the topic allows.
    Bytes,
}

impl OverBudget {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            OverBudget::Messages => "over_message_budget",
            OverBudget::Bytes => "over_byte_budget",
        }
    }
}

/// A peer's verdict for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Within budget: deliver and forward it.
    Accept,
    /// Over budget: drop it; `penalize` when this drop is to cost the peer a penalty.
    Drop {
        /// Which budget.
        reason: OverBudget,
        /// True at most once per [`GOSSIP_OVER_BUDGET_PENALTY_INTERVAL_MS`] per peer.
        penalize: bool,
    },
}

/// Messages and bytes per second of a topic.
fn rates(config: &GossipBudgetConfig, topic: Topic) -> (u64, u64) {
    match topic {
        Topic::Txs => (config.txs_msgs_per_sec, config.txs_bytes_per_sec),
        Topic::Consensus => (
            config.consensus_msgs_per_sec,
            config.consensus_bytes_per_sec,
        ),
    }
}

/// A token bucket in units of `rate` per second, holding at most `rate * burst`.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
}

impl Bucket {
    fn full(rate: u64, burst_secs: u64) -> Self {
        Bucket {
            tokens: capacity(rate, burst_secs),
        }
    }

    fn refill(&mut self, rate: u64, burst_secs: u64, elapsed: Duration) {
        self.tokens =
            (self.tokens + rate as f64 * elapsed.as_secs_f64()).min(capacity(rate, burst_secs));
    }
}

fn capacity(rate: u64, burst_secs: u64) -> f64 {
    rate as f64 * burst_secs as f64
}

#[derive(Debug)]
struct PeerBudget {
    /// (messages, bytes) per topic, in `Topic::ALL` order.
    buckets: [(Bucket, Bucket); 2],
    refilled: Instant,
    penalized: Option<Instant>,
}

/// Every peer's budgets. Peers are forgotten when they disconnect ([`Self::forget`]);
/// only allowed peers connect, so the map holds at most one entry per validator.
#[derive(Debug, Default)]
pub(super) struct GossipBudgets {
    config: GossipBudgetConfig,
    peers: HashMap<PeerId, PeerBudget>,
}

impl GossipBudgets {
    /// Budgets at `config`'s rates (validated by the caller).
    pub(super) fn new(config: GossipBudgetConfig) -> Self {
        GossipBudgets {
            config,
            peers: HashMap::new(),
        }
    }

    /// Charges one message of `bytes` on `topic` to `peer` at `now`.
    pub(super) fn charge(
        &mut self,
        peer: PeerId,
        topic: Topic,
        bytes: usize,
        now: Instant,
    ) -> Verdict {
        let config = self.config;
        let burst = config.burst_secs;
        let budget = self.peers.entry(peer).or_insert_with(|| PeerBudget {
            buckets: Topic::ALL.map(|t| {
                let (msgs, bytes) = rates(&config, t);
                (Bucket::full(msgs, burst), Bucket::full(bytes, burst))
            }),
            refilled: now,
            penalized: None,
        });
        let elapsed = now.saturating_duration_since(budget.refilled);
        budget.refilled = now;
        for (t, (msgs, bytes)) in Topic::ALL.into_iter().zip(budget.buckets.iter_mut()) {
            let (msg_rate, byte_rate) = rates(&config, t);
            msgs.refill(msg_rate, burst, elapsed);
            bytes.refill(byte_rate, burst, elapsed);
        }
        let index = Topic::ALL.iter().position(|t| *t == topic).unwrap_or(0);
        let (msgs, byte_bucket) = &mut budget.buckets[index];
        let size = bytes as f64;
        let reason = if msgs.tokens < 1.0 {
            OverBudget::Messages
        } else if byte_bucket.tokens < size {
            OverBudget::Bytes
        } else {
            msgs.tokens -= 1.0;
            byte_bucket.tokens -= size;
            return Verdict::Accept;
        };
        let interval = Duration::from_millis(GOSSIP_OVER_BUDGET_PENALTY_INTERVAL_MS);
        let penalize = budget
            .penalized
            .is_none_or(|at| now.saturating_duration_since(at) >= interval);
        if penalize {
            budget.penalized = Some(now);
        }
        Verdict::Drop { reason, penalize }
    }

    /// Drops what is known of `peer` (it disconnected); a returning peer starts full.
    pub(super) fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::p2p::config::{
        GOSSIP_BURST_SECS, GOSSIP_CONSENSUS_BYTES_PER_SEC, GOSSIP_CONSENSUS_MSGS_PER_SEC,
    };
    use crate::p2p::peer_id;

    fn peer(n: u8) -> PeerId {
        peer_id(&[n; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn accepted(
        budgets: &mut GossipBudgets,
        p: PeerId,
        topic: Topic,
        bytes: usize,
        count: u64,
        now: Instant,
    ) -> u64 {
        (0..count)
            .filter(|_| budgets.charge(p, topic, bytes, now) == Verdict::Accept)
            .count() as u64
    }

    #[test]
    fn a_peer_gets_its_burst_then_its_rate_per_topic_and_peer() {
        let mut budgets = GossipBudgets::default();
        let t0 = Instant::now();
        let burst = GOSSIP_CONSENSUS_MSGS_PER_SEC * GOSSIP_BURST_SECS;
        assert_eq!(
            accepted(&mut budgets, peer(1), Topic::Consensus, 100, burst + 50, t0),
            burst
        );
        // Another topic and another peer have their own budgets.
        assert_eq!(accepted(&mut budgets, peer(1), Topic::Txs, 100, 10, t0), 10);
        assert_eq!(
            accepted(&mut budgets, peer(2), Topic::Consensus, 100, 10, t0),
            10
        );
        // A second later, one second's worth more.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            accepted(
                &mut budgets,
                peer(1),
                Topic::Consensus,
                100,
                GOSSIP_CONSENSUS_MSGS_PER_SEC + 50,
                t1
            ),
            GOSSIP_CONSENSUS_MSGS_PER_SEC
        );
    }

    #[test]
    fn configured_rates_and_burst_replace_the_defaults() {
        let config = GossipBudgetConfig {
            consensus_msgs_per_sec: 10,
            burst_secs: 3,
            ..GossipBudgetConfig::default()
        };
        let mut budgets = GossipBudgets::new(config);
        let t0 = Instant::now();
        let p = peer(1);
        assert_eq!(accepted(&mut budgets, p, Topic::Consensus, 10, 100, t0), 30);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(accepted(&mut budgets, p, Topic::Consensus, 10, 100, t1), 10);
        // The other topic keeps its default.
        assert_eq!(accepted(&mut budgets, p, Topic::Txs, 10, 1_000, t1), 1_000);
    }

    #[test]
    fn bytes_are_budgeted_too_and_a_full_frame_always_fits_a_fresh_budget() {
        let mut budgets = GossipBudgets::default();
        let t0 = Instant::now();
        let frame = super::super::config::GOSSIP_BYTES_MAX;
        let frames = GOSSIP_CONSENSUS_BYTES_PER_SEC * GOSSIP_BURST_SECS / frame as u64;
        assert!(frames >= 2, "a burst must hold at least two full proposals");
        assert_eq!(
            accepted(&mut budgets, peer(1), Topic::Consensus, frame, frames, t0),
            frames
        );
        assert_eq!(
            budgets.charge(peer(1), Topic::Consensus, frame, t0),
            Verdict::Drop {
                reason: OverBudget::Bytes,
                penalize: true
            }
        );
    }

    #[test]
    fn a_flooding_peer_is_penalized_once_per_interval_not_once_per_message() {
        let mut budgets = GossipBudgets::default();
        let t0 = Instant::now();
        let burst = GOSSIP_CONSENSUS_MSGS_PER_SEC * GOSSIP_BURST_SECS;
        accepted(&mut budgets, peer(1), Topic::Consensus, 10, burst, t0);
        let mut penalties = 0;
        let step = Duration::from_micros(100);
        let mut now = t0;
        // Ten seconds at five times the rate: the burst is gone after half a second,
        // then one penalty per interval.
        for _ in 0..100_000 {
            now += step;
            if let Verdict::Drop {
                penalize: true,
                reason,
            } = budgets.charge(peer(1), Topic::Consensus, 10, now)
            {
                assert_eq!(reason, OverBudget::Messages);
                penalties += 1;
            }
        }
        assert!(
            (9..=11).contains(&penalties),
            "{penalties} penalties in 10 s of flooding"
        );
        budgets.forget(&peer(1));
        assert_eq!(
            budgets.charge(peer(1), Topic::Consensus, 10, now),
            Verdict::Accept
        );
    }
}
