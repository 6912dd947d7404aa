//! The network layer's bounds and settings.
//!
//! Frame sizes, queue lengths, penalties, redial backoff, the gossipsub mesh, and what
//! a node needs to start it ([`P2pConfig`]).

use std::fmt;
use std::time::Duration;

use jeon_runtime::block::BLOCK_BYTES_MAX;
use libp2p::gossipsub::{self, MessageId, ValidationMode};
use libp2p::{Multiaddr, PeerId};
use zeroize::Zeroizing;

use super::P2pError;

/// Largest gossip frame. A block proposal carries a full block (up to
/// `BLOCK_BYTES_MAX` = 16 MiB) plus its signed envelope, and gossipsub adds its own
/// (author, signature, sequence number, topic); the extra MiB covers all of that with
/// room to spare. gossipsub's default of 64 KiB would silently drop every real proposal.
pub const GOSSIP_BYTES_MAX: usize = BLOCK_BYTES_MAX + (1 << 20);
/// Largest block-sync request (a height range; a few dozen bytes in practice).
pub const SYNC_REQUEST_BYTES_MAX: u64 = 1024;
/// Largest block-sync response: up to `SYNC_BLOCKS_MAX` blocks, cut by the server before this.
pub const SYNC_RESPONSE_BYTES_MAX: u64 = 64 << 20;
/// How long one sync request may take, request to last response byte. 64 MiB at
/// 50 Mbit/s takes ~11 s; past 30 s the peer is better asked again or elsewhere.
pub const SYNC_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Concurrent sync streams (both directions) per connection: bounds the memory a single
/// peer can pin with 64 MiB responses.
pub const SYNC_STREAMS_PER_CONNECTION_MAX: usize = 4;
/// Commands queued from the node to the swarm task.
pub const COMMANDS_MAX: usize = 1024;
/// Events queued from the swarm task to the node. When full, gossip is dropped (counted in
/// [`P2pMetrics::messages_dropped`]) rather than stalling the swarm.
pub const EVENTS_MAX: usize = 1024;
/// Non-gossip events (requests, responses, connects) held back while [`EVENTS_MAX`] is
/// reached; past this they are dropped with a warning.
pub const EVENTS_HELD_MAX: usize = 1024;
/// Inbound sync requests awaiting the node's [`P2pCommand::Respond`]; more are refused.
pub const INBOUND_REQUESTS_PENDING_MAX: usize = 64;
/// Outbound sync requests in flight; more fail at once with [`P2pEvent::RequestFailed`].
pub const OUTBOUND_REQUESTS_PENDING_MAX: usize = 256;
/// Penalties within [`PENALTY_WINDOW_SECS`] after which a peer is disconnected and banned.
pub const PENALTY_DISCONNECT: u32 = 10;
/// Penalties older than this are forgiven, so rare faults never add up to a ban.
pub const PENALTY_WINDOW_SECS: u64 = 600;
/// How long a banned peer is refused. It is still a validator, so it comes back after.
pub const BAN_SECS: u64 = 60;
/// First redial delay after a configured peer is lost; doubled per failed attempt.
pub const REDIAL_BACKOFF_MIN_MS: u64 = 1_000;
/// Longest redial delay: a restarted validator is found again within this.
pub const REDIAL_BACKOFF_MAX_MS: u64 = 10_000;
/// A connection must last this long before the redial backoff starts over from
/// [`REDIAL_BACKOFF_MIN_MS`]. A handshake that succeeds is not enough: a node that
/// refuses an unlisted key does so just after it, and counting that as success made
/// such a peer redial every second instead of backing off.
pub const REDIAL_STABLE_MS: u64 = 10_000;
/// How often the task checks redials and expired bans.
pub const TICK_MS: u64 = 250;
/// How long [`start`] waits for its listeners to report their bound address.
pub const LISTEN_TIMEOUT_SECS: u64 = 5;
/// Peers the allow list may gain after start (validators added by vote) before the
/// connection limit, sized at start from the allow list, refuses them: the limit is
/// `(allowed at start + this) × CONNECTIONS_PER_PEER_MAX`.
pub const PEERS_ADDED_HEADROOM: usize = 16;
/// Connections per peer: two allow a simultaneous dial from both sides to settle.
pub const CONNECTIONS_PER_PEER_MAX: u32 = 2;
/// Connections still in their handshake. Unlisted peers are only known after Noise, so
/// this caps how much handshake work strangers can cause at once.
pub const CONNECTIONS_PENDING_INCOMING_MAX: u32 = 32;
/// Gossip messages queued per connection before gossipsub drops further ones for it
/// (default 5000; with 16 MiB proposals that is far more memory than we want per peer).
pub const GOSSIP_QUEUE_PER_CONNECTION_MAX: usize = 512;
/// gossipsub heartbeat: mesh repair and IHAVE gossip. Short, because the network is
/// small and consensus rounds are sub-second; 300 ms costs little at 4-16 peers.
pub const GOSSIP_HEARTBEAT_MS: u64 = 300;
/// How long a message id is remembered so the same payload is not delivered twice.
pub const GOSSIP_DUPLICATE_CACHE_SECS: u64 = 60;
/// Mesh degree bounds for a consortium of 4-16 validators (gossipsub's defaults,
/// 4/6/12, assume hundreds of peers: with 4 nodes the mesh could never reach them).
/// With `flood_publish` a message's author sends to every subscribed peer anyway; the
/// mesh only carries relays, so a small degree suffices. D_low: graft below this.
pub const GOSSIP_MESH_N_LOW: usize = 2;
/// Mesh target degree (D).
pub const GOSSIP_MESH_N: usize = 3;
/// Prune above this (D_high).
pub const GOSSIP_MESH_N_HIGH: usize = 6;
/// Outbound mesh peers kept (eclipse protection; must be <= D_low and <= D/2).
pub const GOSSIP_MESH_OUTBOUND_MIN: usize = 1;
/// Ping every connection this often, so a silently dead peer is noticed and redialed.
pub const PING_INTERVAL_SECS: u64 = 15;
/// A ping unanswered this long closes the connection.
pub const PING_TIMEOUT_SECS: u64 = 20;
/// Connections nobody uses close after this. gossipsub only keeps mesh links alive, but
/// flood publishing wants a link to every validator, so idle links stay up an hour.
pub const IDLE_CONNECTION_TIMEOUT_SECS: u64 = 3_600;

/// Gossip messages per second one peer may deliver on `jeon/txs/1` (the first copies it
/// delivers; relayed duplicates are dropped by gossipsub before they count). Honest load
/// is bounded by what the chain can take: one message per admitted API request, and a
/// block holds at most `block_txs_max` (10,000 by default) transactions; the fastest
/// runs measured finalize about 8,000 tx/s on the whole network. 20,000 is 2.5 times
/// that even if every transaction came in its own request and all through one peer.
pub const GOSSIP_TXS_MSGS_PER_SEC: u64 = 20_000;
/// Gossip bytes per second one peer may deliver on `jeon/txs/1`: 64 MiB, four times the
/// largest block (`BLOCK_BYTES_MAX`, 16 MiB; `block_bytes_max` is 8 MiB by default)
/// every second, and eight times a full transaction batch (`TX_BATCH_BYTES_MAX`).
pub const GOSSIP_TXS_BYTES_PER_SEC: u64 = 64 << 20;
/// Gossip messages per second one peer may deliver on `jeon/consensus/1`. Per height
/// each validator sends about four (proposal or compact proposal, prevote, precommit,
/// status), plus a re-send per second while stuck: at 16 validators and 10 heights a
/// second that is about 640 for the whole network; 2,000 is three times that.
pub const GOSSIP_CONSENSUS_MSGS_PER_SEC: u64 = 2_000;
/// Gossip bytes per second one peer may deliver on `jeon/consensus/1`: four full
/// proposals (`GOSSIP_BYTES_MAX`, 17 MiB each) a second, where a height carries one
/// proposal (usually compact) and a round lasts far longer than a quarter second.
pub const GOSSIP_CONSENSUS_BYTES_PER_SEC: u64 = 4 * GOSSIP_BYTES_MAX as u64;
/// A peer may run this many seconds of its budget ahead (its token buckets hold this
/// many seconds' worth), so a burst after a quiet spell (a proposal after a partition
/// heals, a batch of transactions) is never dropped.
pub const GOSSIP_BURST_SECS: u64 = 2;
/// A peer over a budget is penalized at most once per this interval, however many
/// messages are dropped: a peer that keeps flooding is banned after
/// [`PENALTY_DISCONNECT`] intervals (10 s), a single burst costs one penalty.
pub const GOSSIP_OVER_BUDGET_PENALTY_INTERVAL_MS: u64 = 1_000;

const _: () =
    assert!(GOSSIP_CONSENSUS_BYTES_PER_SEC * GOSSIP_BURST_SECS >= 2 * GOSSIP_BYTES_MAX as u64);
const _: () = assert!(GOSSIP_TXS_BYTES_PER_SEC * GOSSIP_BURST_SECS >= 2 * GOSSIP_BYTES_MAX as u64);

// gossipsub's builder only checks these for topics with their own settings: check here.
const _: () = assert!(GOSSIP_MESH_OUTBOUND_MIN <= GOSSIP_MESH_N_LOW);
const _: () = assert!(GOSSIP_MESH_N_LOW <= GOSSIP_MESH_N && GOSSIP_MESH_N <= GOSSIP_MESH_N_HIGH);
const _: () = assert!(GOSSIP_MESH_OUTBOUND_MIN * 2 <= GOSSIP_MESH_N);

/// Per-peer gossip budgets (`budget.rs`): the config keys `p2p_gossip_*`, defaulting
/// to the constants above. Checked by [`GossipBudgetConfig::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GossipBudgetConfig {
    /// Messages per second one peer may deliver on `jeon/txs/1`.
    pub txs_msgs_per_sec: u64,
    /// Bytes per second one peer may deliver on `jeon/txs/1`.
    pub txs_bytes_per_sec: u64,
    /// Messages per second one peer may deliver on `jeon/consensus/1`.
    pub consensus_msgs_per_sec: u64,
    /// Bytes per second one peer may deliver on `jeon/consensus/1`.
    pub consensus_bytes_per_sec: u64,
    /// Seconds of budget a peer may run ahead (the token buckets' depth).
    pub burst_secs: u64,
}

impl Default for GossipBudgetConfig {
    fn default() -> Self {
        GossipBudgetConfig {
            txs_msgs_per_sec: GOSSIP_TXS_MSGS_PER_SEC,
            txs_bytes_per_sec: GOSSIP_TXS_BYTES_PER_SEC,
            consensus_msgs_per_sec: GOSSIP_CONSENSUS_MSGS_PER_SEC,
            consensus_bytes_per_sec: GOSSIP_CONSENSUS_BYTES_PER_SEC,
            burst_secs: GOSSIP_BURST_SECS,
        }
    }
}

/// The longest burst accepted: a longer one would let a peer save up minutes of flood.
pub const GOSSIP_BURST_SECS_MAX: u64 = 60;

/// Why a gossip budget setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GossipBudgetError {
    /// A rate of zero would drop every message on the topic, and with it the chain.
    #[error("{key} must be at least 1 (0 would drop every message on the topic)")]
    Zero {
        /// The config key.
        key: &'static str,
    },
    /// The burst is outside 1..=[`GOSSIP_BURST_SECS_MAX`].
    #[error("p2p_gossip_burst_secs {got}: must be 1 to {GOSSIP_BURST_SECS_MAX}")]
    Burst {
        /// The value given.
        got: u64,
    },
    /// A burst of this topic's bytes cannot hold two full gossip frames, so a full
    /// proposal (or transaction batch) could be dropped from an honest peer.
    #[error("{key} {got}: with p2p_gossip_burst_secs {burst} it must be at least {min} (two full {frame}-byte gossip frames per burst)")]
    BytesTooSmall {
        /// The config key.
        key: &'static str,
        /// The value given.
        got: u64,
        /// The burst it was checked with.
        burst: u64,
        /// The smallest value accepted.
        min: u64,
        /// `GOSSIP_BYTES_MAX`.
        frame: usize,
    },
}

impl GossipBudgetConfig {
    /// Refuses settings that would stall an honest network.
    pub fn validate(&self) -> Result<(), GossipBudgetError> {
        if !(1..=GOSSIP_BURST_SECS_MAX).contains(&self.burst_secs) {
            return Err(GossipBudgetError::Burst {
                got: self.burst_secs,
            });
        }
        for (key, v) in [
            ("p2p_gossip_txs_msgs_per_sec", self.txs_msgs_per_sec),
            (
                "p2p_gossip_consensus_msgs_per_sec",
                self.consensus_msgs_per_sec,
            ),
        ] {
            if v == 0 {
                return Err(GossipBudgetError::Zero { key });
            }
        }
        let frame = GOSSIP_BYTES_MAX;
        let min = (2 * frame as u64).div_ceil(self.burst_secs);
        for (key, got) in [
            ("p2p_gossip_txs_bytes_per_sec", self.txs_bytes_per_sec),
            (
                "p2p_gossip_consensus_bytes_per_sec",
                self.consensus_bytes_per_sec,
            ),
        ] {
            if got < min {
                return Err(GossipBudgetError::BytesTooSmall {
                    key,
                    got,
                    burst: self.burst_secs,
                    min,
                    frame,
                });
            }
        }
        Ok(())
    }
}

/// What the network layer needs to run.
#[derive(Clone)]
pub struct P2pConfig {
    /// The node's ed25519 secret (the validator key); the peer id derives from it.
    /// Wiped when the config is dropped.
    pub secret: Zeroizing<[u8; 32]>,
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/26656`.
    pub listen: Vec<Multiaddr>,
    /// Peers dialed at start and redialed (with backoff) whenever disconnected. An address
    /// may end in `/p2p/<peer id>`; then a non-allowed id is not even dialed.
    pub peers: Vec<Multiaddr>,
    /// The only peers that may connect (the genesis validators).
    pub allowed: Vec<PeerId>,
    /// Per-peer gossip budgets.
    pub budgets: GossipBudgetConfig,
}

impl fmt::Debug for P2pConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2pConfig")
            .field("secret", &"<redacted>")
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("allowed", &self.allowed)
            .field("budgets", &self.budgets)
            .finish()
    }
}
pub(super) fn gossipsub_config() -> Result<gossipsub::Config, P2pError> {
    gossipsub::ConfigBuilder::default()
        .max_transmit_size(GOSSIP_BYTES_MAX)
        .mesh_n_low(GOSSIP_MESH_N_LOW)
        .mesh_n(GOSSIP_MESH_N)
        .mesh_n_high(GOSSIP_MESH_N_HIGH)
        .mesh_outbound_min(GOSSIP_MESH_OUTBOUND_MIN)
        // The author sends to every subscribed peer, not just its mesh: a proposal reaches
        // every validator in one hop, and a small mesh never leaves anyone out.
        .flood_publish(true)
        .heartbeat_interval(Duration::from_millis(GOSSIP_HEARTBEAT_MS))
        // Default 5 s: a freshly started node would relay nothing for 5 s.
        .heartbeat_initial_delay(Duration::from_millis(GOSSIP_HEARTBEAT_MS))
        // Messages carry their author and a sequence number but no gossipsub signature.
        // Signing would prove only who published the bytes, which Jeon never relies on:
        // every consensus message is signed by its validator and every transaction by its
        // sender, and a peer is judged (penalized, scored) as the connection it came over,
        // which noise authenticates against the allow-list. It cost a SHA-512 over every
        // payload and an ed25519 check per copy received, before de-duplication: at four
        // validators, several times each proposal's bytes, about 5% of a node's CPU.
        // Permissive: a signature a peer still sends is checked; none is required.
        .validation_mode(ValidationMode::Permissive)
        .message_id_fn(message_id)
        .duplicate_cache_time(Duration::from_secs(GOSSIP_DUPLICATE_CACHE_SECS))
        .connection_handler_queue_len(GOSSIP_QUEUE_PER_CONNECTION_MAX)
        // Every delivered message waits for the swarm task's verdict (its peer's gossip
        // budget, `budget.rs`) before gossipsub forwards it: a flood over budget is
        // dropped here, not relayed to the other validators.
        .validate_messages()
        .build()
        .map_err(|e| P2pError::Behaviour {
            protocol: "gossipsub",
            reason: e.to_string(),
        })
}

/// A message's id is its author and the author's sequence number (gossipsub's own
/// rule; the sequence number is random per message in `Author` mode): a relayed copy keeps both, so it is delivered once, while a message its author
/// deliberately publishes again (a vote re-sent after a partition heals) is new. Ids
/// from content would make gossip drop those re-sends, and with them liveness.
fn message_id(message: &gossipsub::Message) -> MessageId {
    let mut hasher = blake3::Hasher::new();
    if let Some(source) = &message.source {
        hasher.update(&source.to_bytes());
    }
    hasher.update(&message.sequence_number.unwrap_or(0).to_be_bytes());
    hasher.update(message.topic.as_str().as_bytes());
    MessageId::new(hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gossip_budgets_default_to_the_constants_and_refuse_settings_that_stall() {
        let d = GossipBudgetConfig::default();
        assert_eq!(d.validate(), Ok(()));
        assert_eq!(d.consensus_msgs_per_sec, GOSSIP_CONSENSUS_MSGS_PER_SEC);
        let zero = GossipBudgetConfig {
            consensus_msgs_per_sec: 0,
            ..d
        };
        assert_eq!(
            zero.validate(),
            Err(GossipBudgetError::Zero {
                key: "p2p_gossip_consensus_msgs_per_sec"
            })
        );
        let burst = GossipBudgetConfig { burst_secs: 0, ..d };
        assert_eq!(burst.validate(), Err(GossipBudgetError::Burst { got: 0 }));
        // One second of 20 MiB cannot hold two 17 MiB proposals; four seconds can.
        let small = GossipBudgetConfig {
            txs_bytes_per_sec: 20 << 20,
            burst_secs: 1,
            ..d
        };
        let err = small.validate().unwrap_err();
        assert!(
            err.to_string()
                .contains("p2p_gossip_txs_bytes_per_sec 20971520"),
            "{err}"
        );
        let longer = GossipBudgetConfig {
            burst_secs: 4,
            consensus_bytes_per_sec: 20 << 20,
            ..small
        };
        assert_eq!(longer.validate(), Ok(()));
    }

    #[test]
    fn the_gossipsub_config_is_accepted() {
        let config = gossipsub_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.max_transmit_size(), GOSSIP_BYTES_MAX);
        assert!(config.flood_publish());
    }
}
