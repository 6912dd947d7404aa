//! Counters and gauges of the network layer.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Topic;

/// The labels of `p2p_gossip_dropped`: the topic and why.
pub type GossipDropLabels = Vec<(&'static str, &'static str)>;

/// Counters and gauges of the network layer. Clones share the same values.
#[derive(Clone, Debug, Default)]
pub struct P2pMetrics {
    /// Connections refused: unlisted or banned peers, over the connection limits.
    pub connections_refused: Counter,
    /// Peers with at least one connection.
    pub peers_connected: Gauge,
    /// Peers banned after too many penalties.
    pub peers_banned: Counter,
    /// Gossip messages delivered to the node.
    pub messages_received: Counter,
    /// Gossip messages dropped because the node's event queue was full.
    pub messages_dropped: Counter,
    /// Penalties reported by the node (bad messages from a peer).
    pub messages_invalid: Counter,
    /// Gossip messages this node published to at least one peer.
    pub messages_published: Counter,
    /// Publishes that failed (too large, every peer queue full); a lone node's are not counted.
    pub publish_failed: Counter,
    /// Sync requests that failed, inbound or outbound.
    pub requests_failed: Counter,
    /// Non-gossip events dropped because the node did not keep up (a bug if ever non-zero).
    pub events_dropped: Counter,
    /// Gossip messages dropped because their peer was over its budget, by topic and
    /// reason (`over_message_budget`, `over_byte_budget`).
    pub gossip_over_budget: Family<GossipDropLabels, Counter>,
}

impl P2pMetrics {
    /// Counts one gossip message dropped over budget.
    pub(super) fn gossip_dropped(&self, topic: Topic, reason: &'static str) {
        self.gossip_over_budget
            .get_or_create(&vec![("topic", topic.name()), ("reason", reason)])
            .inc();
    }

    /// Gossip messages dropped over budget on `topic`, for any reason.
    pub fn gossip_dropped_total(&self, topic: Topic) -> u64 {
        ["over_message_budget", "over_byte_budget"]
            .into_iter()
            .map(|reason| {
                self.gossip_over_budget
                    .get_or_create(&vec![("topic", topic.name()), ("reason", reason)])
                    .get()
            })
            .sum()
    }

    /// Registers every metric under a `p2p_` name.
    pub fn register(&self, registry: &mut Registry) {
        let counters = [
            (
                "p2p_connections_refused",
                "Connections refused (unlisted, banned, over limits)",
                &self.connections_refused,
            ),
            (
                "p2p_peers_banned",
                "Peers banned after too many penalties",
                &self.peers_banned,
            ),
            (
                "p2p_messages_received",
                "Gossip messages delivered to the node",
                &self.messages_received,
            ),
            (
                "p2p_messages_dropped",
                "Gossip messages dropped on a full event queue",
                &self.messages_dropped,
            ),
            (
                "p2p_messages_invalid",
                "Bad messages reported against peers",
                &self.messages_invalid,
            ),
            (
                "p2p_messages_published",
                "Gossip messages published",
                &self.messages_published,
            ),
            (
                "p2p_publish_failed",
                "Gossip publishes that failed",
                &self.publish_failed,
            ),
            (
                "p2p_requests_failed",
                "Sync requests failed, inbound or outbound",
                &self.requests_failed,
            ),
            (
                "p2p_events_dropped",
                "Non-gossip events dropped on a full event queue",
                &self.events_dropped,
            ),
        ];
        for (name, help, counter) in counters {
            registry.register(name, help, counter.clone());
        }
        registry.register(
            "p2p_gossip_over_budget",
            "Gossip messages dropped because their peer was over its per-second budget",
            self.gossip_over_budget.clone(),
        );
        registry.register(
            "p2p_peers_connected",
            "Peers connected",
            self.peers_connected.clone(),
        );
    }
}
