//! The libp2p network layer: permissioned TCP+Noise+Yamux connections, gossip of transactions and consensus messages, and request-response block sync, all carrying opaque bytes.
//!
//! One swarm task owns every piece of libp2p state. The node talks to it through two
//! bounded channels: [`P2pCommand`]s in, [`P2pEvent`]s out ([`start`] returns both in a
//! [`P2pHandle`]). The task stops when the node drops either channel end (or calls
//! [`P2pHandle::shutdown`]).
//!
//! Architecture invariants:
//! - Only peers in [`P2pConfig::allowed`] (the genesis validators) hold a connection: an
//!   allow list refuses everyone else at the connection level, both ways.
//! - Every frame has a named size bound, every queue a named length bound.
//! - Nothing a peer sends can panic this task; payloads are never decoded here.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::io;
use std::time::Duration;

use async_trait::async_trait;
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use jeon_runtime::block::BLOCK_BYTES_MAX;
use libp2p::allow_block_list::{self, AllowedPeers, BlockedPeers};
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::gossipsub::{
    self, IdentTopic, IdentityTransform, MessageAuthenticity, MessageId, PublishError, TopicHash,
    ValidationMode, WhitelistSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{
    self, InboundRequestId, OutboundRequestId, ProtocolSupport, ResponseChannel,
};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, DialError, ListenError, NetworkBehaviour, SwarmEvent,
};
use libp2p::{noise, ping, tcp, yamux, StreamProtocol, Swarm, SwarmBuilder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

pub use libp2p::{Multiaddr, PeerId};

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
/// How often the task checks redials and expired bans.
pub const TICK_MS: u64 = 250;
/// How long [`start`] waits for its listeners to report their bound address.
pub const LISTEN_TIMEOUT_SECS: u64 = 5;
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

/// The block-sync request-response protocol.
const SYNC_PROTOCOL: &str = "/jeon/sync/1";
/// First byte of every sync response (see [`SyncCodec`]).
const RESPONSE_TAG: u8 = 1;

// gossipsub's builder only checks these for topics with their own settings: check here.
const _: () = assert!(GOSSIP_MESH_OUTBOUND_MIN <= GOSSIP_MESH_N_LOW);
const _: () = assert!(GOSSIP_MESH_N_LOW <= GOSSIP_MESH_N && GOSSIP_MESH_N <= GOSSIP_MESH_N_HIGH);
const _: () = assert!(GOSSIP_MESH_OUTBOUND_MIN * 2 <= GOSSIP_MESH_N);

/// What the network layer needs to run.
#[derive(Clone)]
pub struct P2pConfig {
    /// The node's ed25519 secret (the validator key); the peer id derives from it.
    pub secret: [u8; 32],
    /// Addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/26656`.
    pub listen: Vec<Multiaddr>,
    /// Peers dialed at start and redialed (with backoff) whenever disconnected. An address
    /// may end in `/p2p/<peer id>`; then a non-allowed id is not even dialed.
    pub peers: Vec<Multiaddr>,
    /// The only peers that may connect (the genesis validators).
    pub allowed: Vec<PeerId>,
}

impl fmt::Debug for P2pConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2pConfig")
            .field("secret", &"<redacted>")
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("allowed", &self.allowed)
            .finish()
    }
}

/// A gossip topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Batches of transactions, `jeon/txs/1`.
    Txs,
    /// Proposals and votes, `jeon/consensus/1`.
    Consensus,
}

impl Topic {
    /// Every topic; the node subscribes to all of them.
    pub const ALL: [Topic; 2] = [Topic::Txs, Topic::Consensus];

    /// The gossipsub topic name.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Txs => "jeon/txs/1",
            Topic::Consensus => "jeon/consensus/1",
        }
    }

    fn ident(self) -> IdentTopic {
        IdentTopic::new(self.name())
    }

    fn from_hash(hash: &TopicHash) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.ident().hash() == *hash)
    }
}

/// Names an inbound sync request awaiting [`P2pCommand::Respond`]. Valid until answered,
/// or until the request times out ([`SYNC_REQUEST_TIMEOUT_SECS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseChannelId(u64);

/// What the node asks the network layer to do.
pub enum P2pCommand {
    /// Gossip `data` to every peer subscribed to `topic`. With no such peer (a lone node)
    /// it is dropped: there is nobody to tell.
    Publish {
        /// The topic.
        topic: Topic,
        /// The payload, at most [`GOSSIP_BYTES_MAX`] minus gossipsub's envelope.
        data: Vec<u8>,
    },
    /// Ask `peer` a sync request; the answer is [`P2pEvent::Response`] or
    /// [`P2pEvent::RequestFailed`] carrying the same `id`.
    Request {
        /// The peer asked.
        peer: PeerId,
        /// Chosen by the caller, echoed in the answer.
        id: u64,
        /// The request, at most [`SYNC_REQUEST_BYTES_MAX`].
        data: Vec<u8>,
    },
    /// Answer the inbound request named by `channel`.
    Respond {
        /// From [`P2pEvent::Request`].
        channel: ResponseChannelId,
        /// The response, at most [`SYNC_RESPONSE_BYTES_MAX`].
        data: Vec<u8>,
    },
    /// `peer` sent something bad: count it, and after [`PENALTY_DISCONNECT`] penalties in
    /// [`PENALTY_WINDOW_SECS`] disconnect it and refuse it for [`BAN_SECS`].
    Penalize {
        /// The offender.
        peer: PeerId,
        /// Why, for the log.
        reason: String,
    },
}

/// What the network layer tells the node.
pub enum P2pEvent {
    /// A gossip message. `from` is its author, whose signature gossipsub checked (it may
    /// have been relayed by another peer).
    Message {
        /// The topic it came on.
        topic: Topic,
        /// The author.
        from: PeerId,
        /// The payload.
        data: Vec<u8>,
    },
    /// A peer asks a sync request; answer with [`P2pCommand::Respond`].
    Request {
        /// The asker.
        from: PeerId,
        /// Where the answer goes.
        channel: ResponseChannelId,
        /// The request.
        data: Vec<u8>,
    },
    /// The answer to [`P2pCommand::Request`] `id`.
    Response {
        /// The caller's id.
        id: u64,
        /// The peer that answered.
        from: PeerId,
        /// The response.
        data: Vec<u8>,
    },
    /// [`P2pCommand::Request`] `id` got no answer.
    RequestFailed {
        /// The caller's id.
        id: u64,
        /// The peer asked.
        peer: PeerId,
        /// Why, for the log.
        error: String,
    },
    /// The first connection to a peer is up.
    Connected(PeerId),
    /// The last connection to a peer is gone.
    Disconnected(PeerId),
}

// Payloads can be 64 MiB: Debug shows their length, never their bytes.
impl fmt::Debug for P2pEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            P2pEvent::Message { topic, from, data } => {
                write!(
                    f,
                    "Message {{ topic: {topic:?}, from: {from}, bytes: {} }}",
                    data.len()
                )
            }
            P2pEvent::Request {
                from,
                channel,
                data,
            } => {
                write!(
                    f,
                    "Request {{ from: {from}, channel: {channel:?}, bytes: {} }}",
                    data.len()
                )
            }
            P2pEvent::Response { id, from, data } => {
                write!(
                    f,
                    "Response {{ id: {id}, from: {from}, bytes: {} }}",
                    data.len()
                )
            }
            P2pEvent::RequestFailed { id, peer, error } => {
                write!(
                    f,
                    "RequestFailed {{ id: {id}, peer: {peer}, error: {error} }}"
                )
            }
            P2pEvent::Connected(peer) => write!(f, "Connected({peer})"),
            P2pEvent::Disconnected(peer) => write!(f, "Disconnected({peer})"),
        }
    }
}

impl fmt::Debug for P2pCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            P2pCommand::Publish { topic, data } => {
                write!(f, "Publish {{ topic: {topic:?}, bytes: {} }}", data.len())
            }
            P2pCommand::Request { peer, id, data } => {
                write!(
                    f,
                    "Request {{ peer: {peer}, id: {id}, bytes: {} }}",
                    data.len()
                )
            }
            P2pCommand::Respond { channel, data } => {
                write!(
                    f,
                    "Respond {{ channel: {channel:?}, bytes: {} }}",
                    data.len()
                )
            }
            P2pCommand::Penalize { peer, reason } => {
                write!(f, "Penalize {{ peer: {peer}, reason: {reason} }}")
            }
        }
    }
}

/// The running network layer.
#[derive(Debug)]
pub struct P2pHandle {
    /// This node's peer id.
    pub local_peer_id: PeerId,
    /// The addresses actually bound (port 0 resolved), one per `listen` entry at least.
    pub listen_addrs: Vec<Multiaddr>,
    /// Commands to the swarm task; dropping every sender stops it.
    pub commands: mpsc::Sender<P2pCommand>,
    /// Events from the swarm task; dropping it stops the task.
    pub events: mpsc::Receiver<P2pEvent>,
    task: JoinHandle<()>,
}

impl P2pHandle {
    /// Stops the swarm task and waits until it has closed its listeners and connections.
    pub async fn shutdown(self) {
        let P2pHandle {
            commands,
            events,
            task,
            ..
        } = self;
        drop(commands);
        drop(events);
        if let Err(error) = task.await {
            warn!(%error, "p2p task ended abnormally");
        }
    }
}

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
}

impl P2pMetrics {
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
            "p2p_peers_connected",
            "Peers connected",
            self.peers_connected.clone(),
        );
    }
}

/// Why the network layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The secret is not a usable ed25519 key.
    #[error("the node secret is not a valid ed25519 key: {0}")]
    InvalidSecret(String),
    /// The TCP/Noise/Yamux transport could not be built.
    #[error("cannot build the transport: {0}")]
    Transport(String),
    /// A libp2p protocol could not be configured (a bug in this module's constants).
    #[error("cannot configure {protocol}: {reason}")]
    Behaviour {
        /// The protocol.
        protocol: &'static str,
        /// libp2p's complaint.
        reason: String,
    },
    /// Cannot listen on an address (in use? not a TCP address?).
    #[error("cannot listen on {addr}: {reason}; is the port in use?")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// A listener did not report its bound address in time.
    #[error("listeners did not start within {LISTEN_TIMEOUT_SECS} s")]
    ListenTimeout,
}

/// The libp2p peer id of a node secret: base58 of the identity multihash of its protobuf
/// ed25519 public key ("12D3KooW..."), the same as `jeon_genesis::peer_id_of`.
pub fn peer_id(secret: &[u8; 32]) -> Result<PeerId, P2pError> {
    Ok(keypair(secret)?.public().to_peer_id())
}

fn keypair(secret: &[u8; 32]) -> Result<Keypair, P2pError> {
    // libp2p zeroizes the bytes it is given: hand it a copy.
    let mut bytes = *secret;
    Keypair::ed25519_from_bytes(&mut bytes).map_err(|e| P2pError::InvalidSecret(e.to_string()))
}

/// Starts the network layer on the current tokio runtime: listens, dials `peers`, and
/// spawns the swarm task. Returns once every listener has its address.
pub async fn start(config: P2pConfig, metrics: P2pMetrics) -> Result<P2pHandle, P2pError> {
    let keypair = keypair(&config.secret)?;
    let local_peer_id = keypair.public().to_peer_id();
    let allowed: HashSet<PeerId> = config.allowed.iter().copied().collect();
    if !allowed.contains(&local_peer_id) {
        warn!(peer = %local_peer_id, "this node is not in its own allow list");
    }
    let behaviour = build_behaviour(&keypair, &allowed)?;
    // yamux defaults on purpose: yamux 0.13 auto-tunes each stream's window from 256 KiB
    // and caps a connection's receive windows at 1 GiB in total; its only "max buffer"
    // setters are deprecated and would switch back to yamux 0.12. Frame sizes are bounded
    // above it, by gossipsub and by `SyncCodec`.
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_secs(IDLE_CONNECTION_TIMEOUT_SECS))
        })
        .build();

    let (commands_tx, commands_rx) = mpsc::channel(COMMANDS_MAX);
    let (events_tx, events_rx) = mpsc::channel(EVENTS_MAX);
    let redials = config
        .peers
        .iter()
        .filter(|addr| peer_in(addr) != Some(local_peer_id))
        .map(|addr| Redial::new(addr.clone()))
        .collect();
    let mut task = SwarmTask {
        swarm,
        allowed,
        events: events_tx,
        held: VecDeque::new(),
        metrics,
        redials,
        penalties: PenaltyBook::default(),
        inbound: BTreeMap::new(),
        inbound_next: 0,
        outbound: HashMap::new(),
    };
    let listen_addrs = task.listen(&config.listen).await?;
    info!(peer = %local_peer_id, addrs = ?listen_addrs, "p2p listening");
    task.redial_due(Instant::now());
    let task = tokio::spawn(task.run(commands_rx));
    Ok(P2pHandle {
        local_peer_id,
        listen_addrs,
        commands: commands_tx,
        events: events_rx,
        task,
    })
}

/// The protocols of one connection. Order matters: the allow list and ban list refuse a
/// connection before any other protocol sets up state for it.
#[derive(NetworkBehaviour)]
struct Behaviour {
    allowed: allow_block_list::Behaviour<AllowedPeers>,
    banned: allow_block_list::Behaviour<BlockedPeers>,
    limits: connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour<IdentityTransform, WhitelistSubscriptionFilter>,
    sync: request_response::Behaviour<SyncCodec>,
    ping: ping::Behaviour,
}

fn build_behaviour(keypair: &Keypair, allowed: &HashSet<PeerId>) -> Result<Behaviour, P2pError> {
    let mut allow_list = allow_block_list::Behaviour::<AllowedPeers>::default();
    for peer in allowed {
        allow_list.allow_peer(*peer);
    }
    let peers_max = u32::try_from(allowed.len()).unwrap_or(u32::MAX);
    let limits = ConnectionLimits::default()
        .with_max_pending_incoming(Some(CONNECTIONS_PENDING_INCOMING_MAX))
        .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER_MAX))
        .with_max_established(Some(
            peers_max.saturating_mul(CONNECTIONS_PER_PEER_MAX).max(1),
        ));
    let behaviour_error = |protocol| move |reason: String| P2pError::Behaviour { protocol, reason };
    // Only our own topics may be subscribed to: a peer cannot make us track junk topics.
    let topics = Topic::ALL.iter().map(|t| t.ident().hash()).collect();
    let mut gossipsub = gossipsub::Behaviour::new_with_subscription_filter(
        MessageAuthenticity::Signed(keypair.clone()),
        gossipsub_config()?,
        WhitelistSubscriptionFilter(topics),
    )
    .map_err(|e| behaviour_error("gossipsub")(e.to_string()))?;
    for topic in Topic::ALL {
        gossipsub
            .subscribe(&topic.ident())
            .map_err(|e| behaviour_error("gossipsub")(e.to_string()))?;
    }
    let sync = request_response::Behaviour::with_codec(
        SyncCodec,
        [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default()
            .with_request_timeout(Duration::from_secs(SYNC_REQUEST_TIMEOUT_SECS))
            .with_max_concurrent_streams(SYNC_STREAMS_PER_CONNECTION_MAX),
    );
    let ping = ping::Behaviour::new(
        ping::Config::new()
            .with_interval(Duration::from_secs(PING_INTERVAL_SECS))
            .with_timeout(Duration::from_secs(PING_TIMEOUT_SECS)),
    );
    Ok(Behaviour {
        allowed: allow_list,
        banned: allow_block_list::Behaviour::default(),
        limits: connection_limits::Behaviour::new(limits),
        gossipsub,
        sync,
        ping,
    })
}

fn gossipsub_config() -> Result<gossipsub::Config, P2pError> {
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
        // Every message is signed by its author and checked on receipt: `from` is proven.
        .validation_mode(ValidationMode::Strict)
        .message_id_fn(message_id)
        .duplicate_cache_time(Duration::from_secs(GOSSIP_DUPLICATE_CACHE_SECS))
        .connection_handler_queue_len(GOSSIP_QUEUE_PER_CONNECTION_MAX)
        .build()
        .map_err(|e| P2pError::Behaviour {
            protocol: "gossipsub",
            reason: e.to_string(),
        })
}

/// A message's id is its author and the author's sequence number (gossipsub's own
/// rule): a relayed copy keeps both, so it is delivered once, while a message its author
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

/// Sync frames are raw bytes up to the stream's end; the sender closes its side after
/// writing. Reads stop one byte past the limit, so an oversized frame is an error, never
/// an allocation beyond the limit. A response starts with [`RESPONSE_TAG`]: libp2p closes
/// the stream cleanly when a request goes unanswered, and without the tag that would read
/// as an empty response instead of a failure.
#[derive(Clone, Copy, Debug, Default)]
struct SyncCodec;

#[async_trait]
impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bounded(io, SYNC_REQUEST_BYTES_MAX).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        let mut tag = [0u8; 1];
        if io.read_exact(&mut tag).await.is_err() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "no response: the peer refused or dropped the request",
            ));
        }
        if tag[0] != RESPONSE_TAG {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a sync response",
            ));
        }
        read_bounded(io, SYNC_RESPONSE_BYTES_MAX).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        data: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&data).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        data: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&[RESPONSE_TAG]).await?;
        io.write_all(&data).await
    }
}

async fn read_bounded<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    bytes_max: u64,
) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    io.take(bytes_max.saturating_add(1))
        .read_to_end(&mut data)
        .await?;
    if data.len() as u64 > bytes_max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("sync frame over {bytes_max} bytes"),
        ));
    }
    Ok(data)
}

/// Redial state of one configured peer address.
#[derive(Debug)]
struct Redial {
    addr: Multiaddr,
    /// From the address, or learnt on the first connection.
    peer: Option<PeerId>,
    backoff: Duration,
    next_at: Instant,
    dialing: Option<ConnectionId>,
    /// Set when the address turns out to be this node itself.
    disabled: bool,
}

impl Redial {
    fn new(addr: Multiaddr) -> Self {
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

fn peer_in(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

/// Penalty counts and bans; pure, so tests can drive it with their own clock.
#[derive(Debug, Default)]
struct PenaltyBook {
    /// Penalties since the window start, per peer. Only allowed peers are counted.
    counts: HashMap<PeerId, (u32, Instant)>,
    /// Ban expiry per banned peer.
    bans: HashMap<PeerId, Instant>,
}

impl PenaltyBook {
    /// Counts one penalty; true if it is the one that bans the peer.
    fn penalize(&mut self, peer: PeerId, now: Instant) -> bool {
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
    fn expired(&mut self, now: Instant) -> Vec<PeerId> {
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

/// An inbound request awaiting the node's answer.
struct PendingInbound {
    request: InboundRequestId,
    channel: ResponseChannel<Vec<u8>>,
}

/// Everything the swarm task owns.
struct SwarmTask {
    swarm: Swarm<Behaviour>,
    allowed: HashSet<PeerId>,
    events: mpsc::Sender<P2pEvent>,
    /// Non-gossip events waiting for room in `events`, oldest first; <= EVENTS_HELD_MAX.
    held: VecDeque<P2pEvent>,
    metrics: P2pMetrics,
    redials: Vec<Redial>,
    penalties: PenaltyBook,
    /// <= INBOUND_REQUESTS_PENDING_MAX.
    inbound: BTreeMap<ResponseChannelId, PendingInbound>,
    inbound_next: u64,
    /// Caller id and peer per request in flight; <= OUTBOUND_REQUESTS_PENDING_MAX.
    outbound: HashMap<OutboundRequestId, (u64, PeerId)>,
}

impl SwarmTask {
    /// Starts every listener and waits for each to report a bound address.
    async fn listen(&mut self, addrs: &[Multiaddr]) -> Result<Vec<Multiaddr>, P2pError> {
        let mut waiting = HashMap::new();
        for addr in addrs {
            let id = self
                .swarm
                .listen_on(addr.clone())
                .map_err(|e| P2pError::Listen {
                    addr: addr.clone(),
                    reason: e.to_string(),
                })?;
            waiting.insert(id, addr.clone());
        }
        let deadline = Instant::now() + Duration::from_secs(LISTEN_TIMEOUT_SECS);
        let mut bound = Vec::new();
        while !waiting.is_empty() {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .map_err(|_| P2pError::ListenTimeout)?;
            match event {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } => {
                    waiting.remove(&listener_id);
                    bound.push(address);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } => {
                    if let Some(addr) = waiting.remove(&listener_id) {
                        let reason = reason.err().map_or("closed".to_string(), |e| e.to_string());
                        return Err(P2pError::Listen { addr, reason });
                    }
                }
                SwarmEvent::ListenerError { listener_id, error } => {
                    if let Some(addr) = waiting.remove(&listener_id) {
                        return Err(P2pError::Listen {
                            addr,
                            reason: error.to_string(),
                        });
                    }
                }
                other => self.on_swarm_event(other),
            }
        }
        Ok(bound)
    }

    async fn run(mut self, mut commands: mpsc::Receiver<P2pCommand>) {
        let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // A second sender, so a reserved slot does not borrow `self` across the handlers.
        let events = self.events.clone();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                _ = tick.tick() => self.on_tick(),
                permit = events.reserve(), if !self.held.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.held.pop_front() {
                            permit.send(event);
                        }
                    }
                    Err(_) => break,
                },
            }
            if self.events.is_closed() {
                break;
            }
        }
        info!(peer = %self.swarm.local_peer_id(), "p2p task stopped");
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        for peer in self.penalties.expired(now) {
            info!(%peer, "p2p ban over");
            self.swarm.behaviour_mut().banned.unblock_peer(peer);
        }
        self.redial_due(now);
    }

    /// Dials every configured peer that is neither connected nor being dialed, once its
    /// backoff has passed.
    fn redial_due(&mut self, now: Instant) {
        for redial in &mut self.redials {
            if redial.disabled || redial.dialing.is_some() {
                continue;
            }
            if let Some(peer) = redial.peer {
                if self.swarm.is_connected(&peer) {
                    redial.backoff = Duration::from_millis(REDIAL_BACKOFF_MIN_MS);
                    continue;
                }
            }
            if now < redial.next_at {
                continue;
            }
            let opts = match redial.peer {
                Some(peer) => DialOpts::peer_id(peer)
                    .addresses(vec![redial.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
                None => DialOpts::unknown_peer_id()
                    .address(redial.addr.clone())
                    .build(),
            };
            let connection = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => redial.dialing = Some(connection),
                Err(error) => {
                    if let DialError::Denied { cause } = &error {
                        self.metrics.connections_refused.inc();
                        info!(addr = %redial.addr, reason = %denial(cause), "p2p not dialing a refused peer");
                    } else {
                        debug!(addr = %redial.addr, %error, "p2p dial failed");
                    }
                }
            }
            redial.next_at = now + redial.backoff;
            redial.backoff = (redial.backoff * 2).min(Duration::from_millis(REDIAL_BACKOFF_MAX_MS));
        }
    }

    fn on_command(&mut self, command: P2pCommand) {
        match command {
            P2pCommand::Publish { topic, data } => self.publish(topic, data),
            P2pCommand::Request { peer, id, data } => self.request(peer, id, data),
            P2pCommand::Respond { channel, data } => self.respond(channel, data),
            P2pCommand::Penalize { peer, reason } => self.penalize(peer, &reason),
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) {
        let bytes = data.len();
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(topic.ident(), data)
        {
            Ok(_) => {
                self.metrics.messages_published.inc();
            }
            // A lone node, or peers not yet subscribed: nobody to tell.
            Err(PublishError::NoPeersSubscribedToTopic) => {
                debug!(?topic, bytes, "p2p publish dropped: no peer subscribed")
            }
            // The same payload went out within the duplicate window: it is already out there.
            Err(PublishError::Duplicate) => debug!(?topic, bytes, "p2p publish dropped: duplicate"),
            Err(error) => {
                self.metrics.publish_failed.inc();
                warn!(?topic, bytes, %error, "p2p publish failed");
            }
        }
    }

    fn request(&mut self, peer: PeerId, id: u64, data: Vec<u8>) {
        let refusal = if data.len() as u64 > SYNC_REQUEST_BYTES_MAX {
            Some(format!(
                "request of {} bytes is over {SYNC_REQUEST_BYTES_MAX}",
                data.len()
            ))
        } else if !self.allowed.contains(&peer) || peer == *self.swarm.local_peer_id() {
            Some("peer is not an allowed remote peer".to_string())
        } else if self.outbound.len() >= OUTBOUND_REQUESTS_PENDING_MAX {
            Some(format!(
                "{OUTBOUND_REQUESTS_PENDING_MAX} requests already in flight"
            ))
        } else {
            None
        };
        if let Some(error) = refusal {
            self.metrics.requests_failed.inc();
            self.emit(P2pEvent::RequestFailed { id, peer, error });
            return;
        }
        let request = self.swarm.behaviour_mut().sync.send_request(&peer, data);
        self.outbound.insert(request, (id, peer));
    }

    fn respond(&mut self, channel: ResponseChannelId, data: Vec<u8>) {
        let Some(pending) = self.inbound.remove(&channel) else {
            debug!(
                ?channel,
                "p2p response dropped: request timed out or unknown"
            );
            return;
        };
        if data.len() as u64 > SYNC_RESPONSE_BYTES_MAX {
            // Dropping the channel tells the peer the request failed.
            warn!(
                ?channel,
                bytes = data.len(),
                "p2p response over SYNC_RESPONSE_BYTES_MAX not sent"
            );
            return;
        }
        if self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(pending.channel, data)
            .is_err()
        {
            debug!(?channel, "p2p response dropped: the requester is gone");
        }
    }

    fn penalize(&mut self, peer: PeerId, reason: &str) {
        self.metrics.messages_invalid.inc();
        if !self.allowed.contains(&peer) {
            debug!(%peer, reason, "p2p penalty for a peer that cannot connect anyway");
            return;
        }
        info!(%peer, reason, "p2p peer penalized");
        if self.penalties.penalize(peer, Instant::now()) {
            warn!(%peer, ban_secs = BAN_SECS, "p2p peer banned after {PENALTY_DISCONNECT} penalties");
            self.metrics.peers_banned.inc();
            // Closes every connection to it and refuses new ones until the ban is over.
            self.swarm.behaviour_mut().banned.block_peer(peer);
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(event)) => self.on_ping(event),
            SwarmEvent::Behaviour(BehaviourEvent::Allowed(never))
            | SwarmEvent::Behaviour(BehaviourEvent::Banned(never))
            | SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                for redial in &mut self.redials {
                    if redial.dialing == Some(connection_id) {
                        redial.dialing = None;
                        redial.peer = Some(peer_id);
                        redial.backoff = Duration::from_millis(REDIAL_BACKOFF_MIN_MS);
                    }
                }
                if num_established.get() == 1 {
                    info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "p2p peer connected");
                    self.count_peers();
                    self.emit(P2pEvent::Connected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                info!(peer = %peer_id, cause = ?cause, "p2p peer disconnected");
                self.count_peers();
                self.emit(P2pEvent::Disconnected(peer_id));
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                send_back_addr,
                error,
                ..
            } => match error {
                ListenError::Denied { cause } => {
                    self.metrics.connections_refused.inc();
                    info!(peer = ?peer_id, addr = %send_back_addr, reason = %denial(&cause), "p2p connection refused");
                }
                error => debug!(addr = %send_back_addr, %error, "p2p inbound connection failed"),
            },
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => self.on_dial_error(connection_id, peer_id, error),
            SwarmEvent::NewListenAddr { address, .. } => info!(%address, "p2p listening"),
            SwarmEvent::ListenerError { error, .. } => warn!(%error, "p2p listener error"),
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                warn!(?addresses, ?reason, "p2p listener closed")
            }
            _ => {}
        }
    }

    fn on_dial_error(&mut self, connection: ConnectionId, peer: Option<PeerId>, error: DialError) {
        let mut addr = None;
        for redial in &mut self.redials {
            if redial.dialing == Some(connection) {
                redial.dialing = None;
                // Our own address in the peer list (genesis lists every validator).
                redial.disabled |= matches!(error, DialError::LocalPeerId { .. });
                addr = Some(redial.addr.clone());
            }
        }
        match &error {
            DialError::Denied { cause } => {
                self.metrics.connections_refused.inc();
                info!(peer = ?peer, addr = ?addr, reason = %denial(cause), "p2p outbound connection refused");
            }
            _ => debug!(peer = ?peer, addr = ?addr, %error, "p2p dial failed"),
        }
    }

    fn count_peers(&mut self) {
        let peers = self.swarm.connected_peers().count();
        self.metrics
            .peers_connected
            .set(i64::try_from(peers).unwrap_or(i64::MAX));
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message,
                ..
            } => {
                // The subscription filter admits only our topics; anything else is dropped.
                let Some(topic) = Topic::from_hash(&message.topic) else {
                    debug!(peer = %propagation_source, topic = %message.topic, "p2p message on unknown topic");
                    return;
                };
                self.metrics.messages_received.inc();
                let from = message.source.unwrap_or(propagation_source);
                self.emit(P2pEvent::Message {
                    topic,
                    from,
                    data: message.data,
                });
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                warn!(peer = %peer_id, ?failed_messages, "p2p peer too slow for gossip")
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                warn!(peer = %peer_id, "p2p peer does not speak gossipsub")
            }
            other => debug!(event = ?other, "p2p gossipsub"),
        }
    }

    fn on_sync(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request_id,
                        request,
                        channel,
                    },
                ..
            } => {
                if self.inbound.len() >= INBOUND_REQUESTS_PENDING_MAX {
                    // Dropping the channel fails the request at the peer: it asks again later.
                    warn!(%peer, "p2p sync request refused: {INBOUND_REQUESTS_PENDING_MAX} pending");
                    return;
                }
                let id = ResponseChannelId(self.inbound_next);
                self.inbound_next = self.inbound_next.wrapping_add(1);
                self.inbound.insert(
                    id,
                    PendingInbound {
                        request: request_id,
                        channel,
                    },
                );
                self.emit(P2pEvent::Request {
                    from: peer,
                    channel: id,
                    data: request,
                });
            }
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => match self.outbound.remove(&request_id) {
                Some((id, _)) => self.emit(P2pEvent::Response {
                    id,
                    from: peer,
                    data: response,
                }),
                None => warn!(%peer, %request_id, "p2p response to no known request"),
            },
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.metrics.requests_failed.inc();
                match self.outbound.remove(&request_id) {
                    Some((id, _)) => {
                        debug!(%peer, id, %error, "p2p sync request failed");
                        self.emit(P2pEvent::RequestFailed {
                            id,
                            peer,
                            error: error.to_string(),
                        });
                    }
                    None => warn!(%peer, %request_id, %error, "p2p failure of no known request"),
                }
            }
            Event::InboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.metrics.requests_failed.inc();
                self.inbound
                    .retain(|_, pending| pending.request != request_id);
                debug!(%peer, %error, "p2p inbound sync request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_ping(&mut self, event: ping::Event) {
        if let Err(ping::Failure::Timeout) = event.result {
            info!(peer = %event.peer, "p2p ping timed out; closing the connection");
            self.swarm.close_connection(event.connection);
        }
    }

    /// Hands an event to the node without ever blocking the swarm. Gossip is dropped
    /// (and counted) when the node lags; other events wait in `held`, in order.
    fn emit(&mut self, event: P2pEvent) {
        if let P2pEvent::Message { .. } = event {
            if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
                self.metrics.messages_dropped.inc();
                debug!("p2p gossip message dropped: event queue full");
            }
            return;
        }
        let event = if self.held.is_empty() {
            match self.events.try_send(event) {
                Ok(()) | Err(TrySendError::Closed(_)) => return,
                Err(TrySendError::Full(event)) => event,
            }
        } else {
            event
        };
        if self.held.len() >= EVENTS_HELD_MAX {
            self.metrics.events_dropped.inc();
            warn!(event = ?event, "p2p event dropped: the node is not reading events");
            return;
        }
        self.held.push_back(event);
    }
}

/// The reason inside a connection denial (ConnectionDenied's own text is just "denied").
fn denial(cause: &ConnectionDenied) -> String {
    match std::error::Error::source(cause) {
        Some(inner) => inner.to_string(),
        None => cause.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn topics_map_back_from_their_hashes() {
        for topic in Topic::ALL {
            assert_eq!(Topic::from_hash(&topic.ident().hash()), Some(topic));
        }
        assert_eq!(
            Topic::from_hash(&IdentTopic::new("jeon/other/1").hash()),
            None
        );
    }

    #[test]
    fn the_gossipsub_config_is_accepted() {
        let config = gossipsub_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.max_transmit_size(), GOSSIP_BYTES_MAX);
        assert!(config.flood_publish());
    }
}
