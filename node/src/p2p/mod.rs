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
//!
//! Where things are: `config` (every bound, the gossipsub mesh, [`P2pConfig`]), `codec`
//! (the block-sync frames), `peers` (redials, penalties and bans), `budget` (per-peer
//! gossip rate limits), `behaviour` (the
//! protocols of one connection), `swarm` ([`start`] and the event loop), `metrics`
//! ([`P2pMetrics`]); this file holds the commands, events and errors the node sees.

mod behaviour;
mod budget;
mod codec;
mod config;
mod metrics;
mod peers;
mod swarm;

use std::fmt;

use libp2p::gossipsub::{IdentTopic, TopicHash};
use libp2p::identity::Keypair;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

pub use libp2p::{Multiaddr, PeerId};

pub use config::*;
pub use metrics::{GossipDropLabels, P2pMetrics};
pub use swarm::start;

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
    /// Ask `peer` a state-sync request (`/jeon/snapshot/1`); the answer is
    /// [`P2pEvent::Response`] or [`P2pEvent::RequestFailed`] carrying the same `id`
    /// (the caller keeps its ids apart from its block-sync ones).
    SnapshotRequest {
        /// The peer asked.
        peer: PeerId,
        /// Chosen by the caller, echoed in the answer.
        id: u64,
        /// The request, at most [`SYNC_REQUEST_BYTES_MAX`].
        data: Vec<u8>,
    },
    /// Answer the inbound request named by `channel` (block sync or state sync: the
    /// channel knows which).
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
    /// Replace the allow list (the chain's validator set changed): connections to a
    /// peer no longer listed are closed at once and refused from then on; a newly
    /// listed peer may connect (it dials us; no restart).
    SetAllowed {
        /// Every peer allowed from now on (our own id is ignored).
        peers: Vec<PeerId>,
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
    /// A peer asks a state-sync request; answer with [`P2pCommand::Respond`].
    SnapshotRequest {
        /// The asker.
        from: PeerId,
        /// Where the answer goes.
        channel: ResponseChannelId,
        /// The request.
        data: Vec<u8>,
    },
    /// The answer to [`P2pCommand::Request`] or [`P2pCommand::SnapshotRequest`] `id`.
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
            P2pEvent::SnapshotRequest {
                from,
                channel,
                data,
            } => {
                write!(
                    f,
                    "SnapshotRequest {{ from: {from}, channel: {channel:?}, bytes: {} }}",
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
            P2pCommand::SnapshotRequest { peer, id, data } => {
                write!(
                    f,
                    "SnapshotRequest {{ peer: {peer}, id: {id}, bytes: {} }}",
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
            P2pCommand::SetAllowed { peers } => {
                write!(f, "SetAllowed {{ peers: {} }}", peers.len())
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
    /// A setting is out of range (the gossip budgets).
    #[error("{0}")]
    Config(String),
}

/// The libp2p peer id of a node secret: base58 of the identity multihash of its protobuf
/// ed25519 public key ("12D3KooW..."), the same as `jeon_genesis::peer_id_of`.
pub fn peer_id(secret: &[u8; 32]) -> Result<PeerId, P2pError> {
    Ok(keypair(secret)?.public().to_peer_id())
}

fn keypair(secret: &[u8; 32]) -> Result<Keypair, P2pError> {
    // libp2p zeroizes the bytes it is given: hand it a copy (wiped by libp2p).
    let mut bytes = *secret;
    Keypair::ed25519_from_bytes(&mut bytes).map_err(|e| P2pError::InvalidSecret(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
