//! The swarm task: every piece of libp2p state, and its event loop.
//!
//! The loop serves the node's commands, the swarm's events and the redial/ban clock.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionDenied, ConnectionId, DialError, ListenError, SwarmEvent};
use libp2p::{noise, ping, tcp, yamux, Multiaddr, PeerId, Swarm, SwarmBuilder};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::behaviour::{build_behaviour, Behaviour, BehaviourEvent};
use super::budget::{GossipBudgets, Verdict};
use super::config::*;
use super::peers::{peer_in, PenaltyBook, Redial};
use super::{
    keypair, P2pCommand, P2pError, P2pEvent, P2pHandle, P2pMetrics, ResponseChannelId, Topic,
};

/// Starts the network layer on the current tokio runtime: listens, dials `peers`, and
/// spawns the swarm task. Returns once every listener has its address.
pub async fn start(config: P2pConfig, metrics: P2pMetrics) -> Result<P2pHandle, P2pError> {
    config
        .budgets
        .validate()
        .map_err(|e| P2pError::Config(e.to_string()))?;
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
        // Peers may be named by host name (`/dns4/...`): servers and containers are.
        .with_dns()
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
        .map(|addr| Redial::new(addr.clone(), Instant::now()))
        .collect();
    let mut task = SwarmTask {
        swarm,
        allowed,
        events: events_tx,
        held: VecDeque::new(),
        metrics,
        redials,
        penalties: PenaltyBook::default(),
        budgets: GossipBudgets::new(config.budgets),
        inbound: BTreeMap::new(),
        inbound_next: 0,
        outbound: HashMap::new(),
        outbound_snapshot: HashMap::new(),
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
/// An inbound request awaiting the node's answer.
struct PendingInbound {
    request: InboundRequestId,
    channel: ResponseChannel<Vec<u8>>,
    /// A state-sync request (`/jeon/snapshot/1`), else block sync.
    snapshot: bool,
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
    /// Each connected peer's gossip budget per topic.
    budgets: GossipBudgets,
    /// <= INBOUND_REQUESTS_PENDING_MAX.
    inbound: BTreeMap<ResponseChannelId, PendingInbound>,
    inbound_next: u64,
    /// Caller id and peer per request in flight; <= OUTBOUND_REQUESTS_PENDING_MAX.
    outbound: HashMap<OutboundRequestId, (u64, PeerId)>,
    /// The same for state-sync requests (each behaviour numbers its own requests).
    outbound_snapshot: HashMap<OutboundRequestId, (u64, PeerId)>,
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
    /// backoff has passed ([`Redial::tick`]).
    fn redial_due(&mut self, now: Instant) {
        for redial in &mut self.redials {
            let connected = redial.peer.is_some_and(|p| self.swarm.is_connected(&p));
            if !redial.tick(connected, now) {
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
        }
    }

    fn on_command(&mut self, command: P2pCommand) {
        match command {
            P2pCommand::Publish { topic, data } => self.publish(topic, data),
            P2pCommand::Request { peer, id, data } => self.request(peer, id, data, false),
            P2pCommand::SnapshotRequest { peer, id, data } => self.request(peer, id, data, true),
            P2pCommand::Respond { channel, data } => self.respond(channel, data),
            P2pCommand::Penalize { peer, reason } => self.penalize(peer, &reason),
            P2pCommand::SetAllowed { peers } => self.set_allowed(peers),
        }
    }

    /// Follows the chain's validator set: closes the connections of peers no longer
    /// listed (the allow list refuses them from now on) and lets new ones connect.
    fn set_allowed(&mut self, peers: Vec<PeerId>) {
        let local = *self.swarm.local_peer_id();
        let mut wanted: HashSet<PeerId> = peers.into_iter().filter(|p| *p != local).collect();
        if self.allowed.contains(&local) {
            wanted.insert(local);
        }
        let removed: Vec<PeerId> = self.allowed.difference(&wanted).copied().collect();
        let added: Vec<PeerId> = wanted.difference(&self.allowed).copied().collect();
        if removed.is_empty() && added.is_empty() {
            return;
        }
        let allow_list = &mut self.swarm.behaviour_mut().allowed;
        for peer in &removed {
            // Closes every connection to it immediately.
            allow_list.disallow_peer(*peer);
        }
        for peer in &added {
            allow_list.allow_peer(*peer);
        }
        info!(?added, ?removed, "p2p allow list follows the validator set");
        self.allowed = wanted;
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

    fn request(&mut self, peer: PeerId, id: u64, data: Vec<u8>, snapshot: bool) {
        let refusal = if data.len() as u64 > SYNC_REQUEST_BYTES_MAX {
            Some(format!(
                "request of {} bytes is over {SYNC_REQUEST_BYTES_MAX}",
                data.len()
            ))
        } else if !self.allowed.contains(&peer) || peer == *self.swarm.local_peer_id() {
            Some("peer is not an allowed remote peer".to_string())
        } else if self.outbound.len() + self.outbound_snapshot.len()
            >= OUTBOUND_REQUESTS_PENDING_MAX
        {
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
        if snapshot {
            let request = self
                .swarm
                .behaviour_mut()
                .snapshot
                .send_request(&peer, data);
            self.outbound_snapshot.insert(request, (id, peer));
        } else {
            let request = self.swarm.behaviour_mut().sync.send_request(&peer, data);
            self.outbound.insert(request, (id, peer));
        }
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
        let behaviour = self.swarm.behaviour_mut();
        let sent = match pending.snapshot {
            true => behaviour.snapshot.send_response(pending.channel, data),
            false => behaviour.sync.send_response(pending.channel, data),
        };
        if sent.is_err() {
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
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event, false),
            SwarmEvent::Behaviour(BehaviourEvent::Snapshot(event)) => self.on_sync(event, true),
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
                // Not yet a success for the backoff: a peer that refuses us drops the
                // connection right after this; only a lasting one resets it.
                for redial in &mut self.redials {
                    if redial.dialing == Some(connection_id) {
                        redial.dialing = None;
                        redial.peer = Some(peer_id);
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
                self.budgets.forget(&peer_id);
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
                message_id,
                message,
            } => {
                // The subscription filter admits only our topics; anything else is dropped.
                let Some(topic) = Topic::from_hash(&message.topic) else {
                    debug!(peer = %propagation_source, topic = %message.topic, "p2p message on unknown topic");
                    self.validated(&message_id, &propagation_source, MessageAcceptance::Ignore);
                    return;
                };
                // Charged to the connection it came over (noise-authenticated), not to
                // its author field, which is not signed.
                let verdict = self.budgets.charge(
                    propagation_source,
                    topic,
                    message.data.len(),
                    Instant::now(),
                );
                if let Verdict::Drop { reason, penalize } = verdict {
                    // Ignored: not delivered, and gossipsub does not forward it either.
                    self.validated(&message_id, &propagation_source, MessageAcceptance::Ignore);
                    self.metrics.gossip_dropped(topic, reason.as_str());
                    if penalize {
                        let why = format!("gossip on {} {}", topic.name(), reason.as_str());
                        self.penalize(propagation_source, &why);
                    }
                    return;
                }
                self.validated(&message_id, &propagation_source, MessageAcceptance::Accept);
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

    /// Tells gossipsub whether to forward a delivered message (`validate_messages`).
    fn validated(
        &mut self,
        id: &gossipsub::MessageId,
        source: &PeerId,
        acceptance: MessageAcceptance,
    ) {
        // False when the message has already left the cache: nothing left to forward.
        let _ = self
            .swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, source, acceptance);
    }

    /// Block-sync or (`snapshot`) state-sync request-response events.
    fn on_sync(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>, snapshot: bool) {
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
                        snapshot,
                    },
                );
                let (from, channel, data) = (peer, id, request);
                self.emit(match snapshot {
                    true => P2pEvent::SnapshotRequest {
                        from,
                        channel,
                        data,
                    },
                    false => P2pEvent::Request {
                        from,
                        channel,
                        data,
                    },
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
            } => match self.outbound_of(snapshot).remove(&request_id) {
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
                match self.outbound_of(snapshot).remove(&request_id) {
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
                self.inbound.retain(|_, pending| {
                    pending.request != request_id || pending.snapshot != snapshot
                });
                debug!(%peer, %error, "p2p inbound sync request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn outbound_of(&mut self, snapshot: bool) -> &mut HashMap<OutboundRequestId, (u64, PeerId)> {
        match snapshot {
            true => &mut self.outbound_snapshot,
            false => &mut self.outbound,
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
    use crate::p2p::peer_id;
    use libp2p::multiaddr::Protocol;

    pub(super) fn config(
        secret: [u8; 32],
        peers: Vec<Multiaddr>,
        allowed: Vec<PeerId>,
    ) -> P2pConfig {
        let listen = "/ip4/127.0.0.1/tcp/0"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        P2pConfig {
            secret: zeroize::Zeroizing::new(secret),
            listen: vec![listen],
            peers,
            allowed,
            budgets: GossipBudgetConfig::default(),
        }
    }

    /// Waits for `event` from `handle`, at most 10 s.
    async fn wait_for(
        handle: &mut P2pHandle,
        what: &str,
        mut event: impl FnMut(&P2pEvent) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, handle.events.recv()).await {
                Ok(Some(e)) if event(&e) => return,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the swarm stopped while waiting for {what}"),
                Err(_) => panic!("no {what} within 10 s"),
            }
        }
    }

    /// The allow list follows the chain with no restart: a validator added by vote can
    /// connect once listed, and one removed is disconnected and refused.
    #[tokio::test]
    async fn the_allow_list_follows_set_changes_without_a_restart() {
        let (a_secret, b_secret) = ([3u8; 32], [4u8; 32]);
        let a = peer_id(&a_secret).unwrap_or_else(|e| panic!("{e}"));
        let b = peer_id(&b_secret).unwrap_or_else(|e| panic!("{e}"));
        let metrics = P2pMetrics::default();
        // `a` starts with only itself listed; `b` (not yet a validator) dials it.
        let mut node_a = start(config(a_secret, vec![], vec![a]), metrics.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let target = node_a.listen_addrs[0].clone().with(Protocol::P2p(a));
        let mut node_b = start(
            config(b_secret, vec![target], vec![a, b]),
            P2pMetrics::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // Refused while unlisted.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while metrics.connections_refused.get() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "b was never refused"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Added by vote: `b` connects on its next redial.
        node_a
            .commands
            .send(P2pCommand::SetAllowed { peers: vec![a, b] })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        wait_for(
            &mut node_a,
            "b connecting",
            |e| matches!(e, P2pEvent::Connected(p) if *p == b),
        )
        .await;
        // Removed by vote: its connection is closed at once.
        node_a
            .commands
            .send(P2pCommand::SetAllowed { peers: vec![a] })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        wait_for(
            &mut node_b,
            "a closing the connection",
            |e| matches!(e, P2pEvent::Disconnected(p) if *p == a),
        )
        .await;
        drop((node_a, node_b));
    }

    /// Over this long an outsider may dial at 0, 1 and 3 s under the 1 → 10 s backoff;
    /// the 1.25 s cycle of a backoff reset on every handshake makes it 5.
    const WATCH_MS: u64 = 6_000;

    #[tokio::test]
    async fn an_outsider_refused_after_its_handshake_backs_off_instead_of_redialing_every_second() {
        let (validator_secret, outsider_secret) = ([1u8; 32], [2u8; 32]);
        let validator = peer_id(&validator_secret).unwrap_or_else(|e| panic!("{e}"));
        let metrics = P2pMetrics::default();
        let listed = start(
            config(validator_secret, vec![], vec![validator]),
            metrics.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let target = listed.listen_addrs[0]
            .clone()
            .with(Protocol::P2p(validator));
        // The outsider's own list names the validator, so its handshakes complete and the
        // validator refuses it only then, at the connection level.
        let outsider = start(
            config(outsider_secret, vec![target], vec![validator]),
            P2pMetrics::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_millis(WATCH_MS)).await;
        let refused = metrics.connections_refused.get();
        assert!(
            (2..=3).contains(&refused),
            "the validator refused the outsider {refused} times in {WATCH_MS} ms; \
             the backoff allows dials at 0, 1 and 3 s"
        );
        drop((listed, outsider));
    }
}

#[cfg(test)]
mod flood_tests {
    use super::*;
    use crate::p2p::peer_id;
    use libp2p::multiaddr::Protocol;

    use super::tests::config as node_config;

    /// Three allowed peers over real TCP on 127.0.0.1: a receiver, an honest peer that
    /// gossips 20 consensus messages a second, and a flooder that gossips as fast as it
    /// can. The flooder's excess is dropped and counted, it is banned after
    /// `PENALTY_DISCONNECT` seconds over budget, and the honest peer is heard throughout.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flooding_peer_is_cut_off_while_an_honest_peer_is_still_heard() {
        let secrets = [[11u8; 32], [12u8; 32], [13u8; 32]];
        let ids: Vec<PeerId> = secrets
            .iter()
            .map(|s| peer_id(s).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let (receiver_id, honest_id, flooder_id) = (ids[0], ids[1], ids[2]);
        let metrics = P2pMetrics::default();
        let receiver = start(
            node_config(secrets[0], vec![], ids.clone()),
            metrics.clone(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let target = receiver.listen_addrs[0]
            .clone()
            .with(Protocol::P2p(receiver_id));
        let honest = start(
            node_config(secrets[1], vec![target.clone()], ids.clone()),
            P2pMetrics::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let flooder = start(
            node_config(secrets[2], vec![target], ids.clone()),
            P2pMetrics::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

        // The receiver's node side: counts what it is handed, per author.
        let P2pHandle {
            events: mut receiver_events,
            commands: receiver_commands,
            task: receiver_task,
            ..
        } = receiver;
        let counts = std::sync::Arc::new(std::sync::Mutex::new(HashMap::<PeerId, u64>::new()));
        let reader_counts = counts.clone();
        let reader = tokio::spawn(async move {
            while let Some(event) = receiver_events.recv().await {
                if let P2pEvent::Message { from, .. } = event {
                    *crate::chain::lock(&reader_counts).entry(from).or_insert(0) += 1;
                }
            }
        });
        let heard = |peer: PeerId| crate::chain::lock(&counts).get(&peer).copied().unwrap_or(0);

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let honest_commands = honest.commands.clone();
        let honest_stop = stop.clone();
        let honest_task = tokio::spawn(async move {
            let mut n = 0u64;
            while !honest_stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let data = n.to_be_bytes().repeat(64);
                let _ = honest_commands
                    .send(P2pCommand::Publish {
                        topic: Topic::Consensus,
                        data,
                    })
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let flood_commands = flooder.commands.clone();
        let flood_stop = stop.clone();
        let flood_task = tokio::spawn(async move {
            let mut n = 0u64;
            while !flood_stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let data = n.to_be_bytes().to_vec();
                if flood_commands
                    .send(P2pCommand::Publish {
                        topic: Topic::Consensus,
                        data,
                    })
                    .await
                    .is_err()
                {
                    break;
                }
                if n.is_multiple_of(256) {
                    tokio::task::yield_now().await;
                }
            }
            n
        });

        // Banned after PENALTY_DISCONNECT seconds over budget, with some slack for a
        // loaded machine.
        let deadline = Instant::now() + Duration::from_secs(PENALTY_DISCONNECT as u64 * 4);
        while metrics.peers_banned.get() == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let dropped = metrics.gossip_dropped_total(Topic::Consensus);
        assert_eq!(
            metrics.peers_banned.get(),
            1,
            "the flooder was not banned; {dropped} messages dropped over budget, heard {} from it",
            heard(flooder_id)
        );
        assert!(dropped > 0, "nothing was dropped over budget");
        assert_eq!(metrics.gossip_dropped_total(Topic::Txs), 0);
        // Cut off: after the ban the receiver hears nothing more from the flooder, while
        // the honest peer, which gossiped all along, is still heard.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (flood_heard, honest_heard) = (heard(flooder_id), heard(honest_id));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            heard(flooder_id),
            flood_heard,
            "the banned flooder is still heard"
        );
        assert!(
            heard(honest_id) >= honest_heard + 20,
            "the honest peer was not heard after the ban: {honest_heard} -> {}",
            heard(honest_id)
        );
        assert!(
            flood_heard
                <= (GOSSIP_CONSENSUS_MSGS_PER_SEC
                    * (GOSSIP_BURST_SECS + PENALTY_DISCONNECT as u64 * 4)),
            "the flooder got {flood_heard} messages through"
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sent = flood_task.await.unwrap_or(0);
        let _ = honest_task.await;
        eprintln!(
            "flooder sent {sent}, {flood_heard} delivered, {dropped} dropped over budget by the ban; honest heard {}",
            heard(honest_id)
        );
        drop(receiver_commands);
        let _ = receiver_task.await;
        let _ = reader.await;
        honest.shutdown().await;
        flooder.shutdown().await;
    }
}
