//! The protocol stack of one connection.
//!
//! Allow and ban lists, connection limits, gossipsub, block sync and ping.

use std::collections::HashSet;
use std::time::Duration;

use libp2p::allow_block_list::{self, AllowedPeers, BlockedPeers};
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::gossipsub::{
    self, IdentityTransform, MessageAuthenticity, WhitelistSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{ping, PeerId, StreamProtocol};

use super::codec::{SyncCodec, SNAPSHOT_PROTOCOL, SYNC_PROTOCOL};
use super::config::{
    gossipsub_config, CONNECTIONS_PENDING_INCOMING_MAX, CONNECTIONS_PER_PEER_MAX,
    PEERS_ADDED_HEADROOM, PING_INTERVAL_SECS, PING_TIMEOUT_SECS, SYNC_REQUEST_TIMEOUT_SECS,
    SYNC_STREAMS_PER_CONNECTION_MAX,
};
use super::{P2pError, Topic};

/// The protocols of one connection. Order matters: the allow list and ban list refuse a
/// connection before any other protocol sets up state for it.
#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) allowed: allow_block_list::Behaviour<AllowedPeers>,
    pub(super) banned: allow_block_list::Behaviour<BlockedPeers>,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) gossipsub: gossipsub::Behaviour<IdentityTransform, WhitelistSubscriptionFilter>,
    pub(super) sync: request_response::Behaviour<SyncCodec>,
    pub(super) snapshot: request_response::Behaviour<SyncCodec>,
    pub(super) ping: ping::Behaviour,
}

pub(super) fn build_behaviour(
    keypair: &Keypair,
    allowed: &HashSet<PeerId>,
) -> Result<Behaviour, P2pError> {
    let mut allow_list = allow_block_list::Behaviour::<AllowedPeers>::default();
    for peer in allowed {
        allow_list.allow_peer(*peer);
    }
    // The allow list follows the chain's validator set (`P2pCommand::SetAllowed`).
    let peers_max =
        u32::try_from(allowed.len().saturating_add(PEERS_ADDED_HEADROOM)).unwrap_or(u32::MAX);
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
        // Authored, not signed: see `gossipsub_config` for why.
        MessageAuthenticity::Author(keypair.public().to_peer_id()),
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
    let snapshot = request_response::Behaviour::with_codec(
        SyncCodec,
        [(
            StreamProtocol::new(SNAPSHOT_PROTOCOL),
            ProtocolSupport::Full,
        )],
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
        snapshot,
        ping,
    })
}
