//! Glue between the network layer ([`crate::p2p`]) and the node: decodes what peers
//! send (with size bounds; anything undecodable penalizes its author), hands gossip to
//! the replica and transactions to the mempool, serves block sync, and carries the
//! replica's outputs back out.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, info, warn};

use crate::blocks::serve_sync;
use crate::chain::Chain;
use crate::driver::Network;
use crate::p2p::{P2pCommand, P2pEvent, PeerId, Topic};
use crate::replica::{Offence, PeerKey, ReplicaInput};
use crate::wire::{ConsensusMsg, SyncRequest, SyncResponse, TxBatch};

/// The most gossiped transaction batches being verified at once (each on a blocking
/// thread); the others wait their turn, in arrival order, within
/// [`TX_BATCHES_PENDING_BYTES_MAX`].
pub const TX_BATCHES_VERIFYING_MAX: usize = 4;
/// Bytes of gossiped transaction batches waiting for verification or in it. Beyond it a
/// batch is dropped (counted in `jeon_gossip_tx_batches_dropped`): its transactions
/// still reach this node in a block, but a compact proposal naming them costs a round
/// trip for the whole block. Dropping at once whenever four batches were in
/// verification dropped about one batch in twenty at 2,000 tx/s on four validators
/// sharing two cores, and with them a sixth of the compact proposals. At least one
/// batch of the largest size (`GOSSIP_BYTES_MAX`) fits.
pub const TX_BATCHES_PENDING_BYTES_MAX: usize = 32 << 20;
const _: () = assert!(TX_BATCHES_PENDING_BYTES_MAX >= crate::p2p::GOSSIP_BYTES_MAX);
/// How often the allow list is compared with the chain's validator sets.
pub const ALLOW_LIST_FOLLOW_MS: u64 = 1_000;

/// The replica's view of the network: commands to the swarm task.
pub struct P2pNetwork {
    commands: mpsc::Sender<P2pCommand>,
    next_id: AtomicU64,
}

impl P2pNetwork {
    /// Wraps the swarm's command channel.
    pub fn new(commands: mpsc::Sender<P2pCommand>) -> Self {
        P2pNetwork {
            commands,
            next_id: AtomicU64::new(0),
        }
    }

    fn send(&self, command: P2pCommand) {
        // The consensus thread must never block on the network: a full queue drops the
        // command (consensus timeouts and periodic status recover from a lost message).
        if let Err(e) = self.commands.try_send(command) {
            warn!(error = %e, "network command queue full; message dropped");
        }
    }
}

impl Network for P2pNetwork {
    fn broadcast(&self, msg: &ConsensusMsg) {
        match msg {
            ConsensusMsg::Proposal(p) => debug!(
                height = p.body.height,
                round = p.body.round,
                "gossip proposal"
            ),
            ConsensusMsg::Vote(v) => {
                debug!(height = v.body.height, round = v.body.round, kind = ?v.body.kind, block = ?v.body.block, "gossip vote")
            }
            ConsensusMsg::Status(s) => debug!(height = s.height, "gossip status"),
            ConsensusMsg::CompactProposal(p) => debug!(
                height = p.body.height,
                round = p.body.round,
                txs = p.txs.len(),
                "gossip compact proposal"
            ),
            ConsensusMsg::ProposalWanted(w) => debug!(
                height = w.height,
                round = w.round,
                "gossip: ask for a whole proposal"
            ),
        }
        self.send(P2pCommand::Publish {
            topic: Topic::Consensus,
            data: msg.encode(),
        });
    }

    fn request_sync(&self, peer: &PeerKey, request: SyncRequest) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.send(P2pCommand::Request {
            peer: *peer,
            id,
            data: request.encode(),
        });
    }

    fn penalize(&self, peer: &PeerKey, offence: &Offence) {
        // The network layer carries no node types: it only logs the reason.
        self.send(P2pCommand::Penalize {
            peer: *peer,
            reason: offence.to_string(),
        });
    }
}

/// Handles the network layer's events until it stops.
pub async fn pump(
    mut events: mpsc::Receiver<P2pEvent>,
    commands: mpsc::Sender<P2pCommand>,
    shared: Arc<Chain>,
    inbox: SyncSender<ReplicaInput>,
    snapshots: Arc<crate::statesync::SnapshotServer>,
) {
    let verifying = Verifying::default();
    while let Some(event) = events.recv().await {
        match event {
            P2pEvent::Message {
                topic: Topic::Consensus,
                from,
                data,
            } => match ConsensusMsg::decode(&data) {
                Ok(msg) => to_replica(&inbox, ReplicaInput::Gossip { from, msg }),
                Err(e) => penalize(
                    &commands,
                    from,
                    format!("undecodable consensus message: {e}"),
                ),
            },
            P2pEvent::Message {
                topic: Topic::Txs,
                from,
                data,
            } => match TxBatch::decode(&data) {
                Ok(batch) => admit(&shared, &verifying, batch, data.len()),
                Err(e) => penalize(
                    &commands,
                    from,
                    format!("undecodable transaction batch: {e}"),
                ),
            },
            P2pEvent::Request {
                from,
                channel,
                data,
            } => match SyncRequest::decode(&data) {
                Ok(request) => {
                    let (shared, commands) = (shared.clone(), commands.clone());
                    tokio::task::spawn_blocking(move || match serve_sync(&shared, request) {
                        Ok(response) => {
                            let response = match crate::byzantine::active() {
                                Some(crate::byzantine::Behaviour::LieSync) => {
                                    crate::byzantine::lie_in_sync(response)
                                }
                                _ => response,
                            };
                            let data = response.encode();
                            let _ = commands.blocking_send(P2pCommand::Respond { channel, data });
                        }
                        Err(e) => warn!(error = %e, "cannot serve block sync"),
                    });
                }
                Err(e) => penalize(&commands, from, format!("undecodable sync request: {e}")),
            },
            P2pEvent::SnapshotRequest {
                from,
                channel,
                data,
            } => {
                let (server, commands) = (snapshots.clone(), commands.clone());
                tokio::task::spawn_blocking(move || match server.serve(from, &data) {
                    Ok(data) => {
                        let _ = commands.blocking_send(P2pCommand::Respond { channel, data });
                    }
                    Err(e) => penalize(
                        &commands,
                        from,
                        format!("undecodable snapshot request: {e}"),
                    ),
                });
            }
            P2pEvent::Response { from, data, .. } => match SyncResponse::decode(&data) {
                Ok(response) => to_replica(&inbox, ReplicaInput::Synced { from, response }),
                Err(e) => {
                    penalize(&commands, from, format!("undecodable sync response: {e}"));
                    to_replica(&inbox, ReplicaInput::SyncFailed { peer: from });
                }
            },
            P2pEvent::RequestFailed { peer, error, .. } => {
                debug!(%peer, %error, "block sync request failed");
                to_replica(&inbox, ReplicaInput::SyncFailed { peer });
            }
            P2pEvent::Connected(peer) => info!(%peer, "peer connected"),
            P2pEvent::Disconnected(peer) => info!(%peer, "peer disconnected"),
        }
    }
}

/// The peers the network admits at the committed head: the validators of the set that
/// signs the next height and of the newest set (an added validator may connect as
/// soon as its change is enacted, to catch up before it must sign; a removed one is
/// refused once it no longer signs), and the read nodes partners registered
/// (`jeon_runtime::nodes`), which sync and serve the API but never vote. A node
/// listens as its key's peer id.
pub fn allowed_peers(shared: &Chain) -> Result<Vec<PeerId>, crate::store::StoreError> {
    let height = shared.head().height + 1;
    let current = jeon_runtime::governance::consensus_validators(&*shared.db, height)?;
    let next = jeon_runtime::governance::next_consensus_validators(&*shared.db)?;
    let mut keys: Vec<jeon_runtime::Address> = current
        .into_iter()
        .chain(next)
        .flatten()
        .map(|v| v.key)
        .collect();
    if keys.is_empty() {
        keys = shared.validators.iter().map(|v| v.key).collect();
    }
    keys.extend(
        jeon_runtime::nodes::nodes(&*shared.db)?
            .into_iter()
            .map(|n| n.key),
    );
    keys.sort();
    keys.dedup();
    Ok(keys
        .iter()
        .filter_map(|k| PeerId::from_str(&jeon_genesis::peer_id_of(k)).ok())
        .collect())
}

/// Keeps the swarm's allow list on the chain's validator sets and registered read nodes
/// (docs/network.md): every
/// [`ALLOW_LIST_FOLLOW_MS`], and whenever they changed, sends the list. Stops with the
/// swarm.
pub async fn follow_validator_set(shared: Arc<Chain>, commands: mpsc::Sender<P2pCommand>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(ALLOW_LIST_FOLLOW_MS));
    let mut sent: Option<Vec<PeerId>> = None;
    loop {
        tick.tick().await;
        let chain = shared.clone();
        let peers = match tokio::task::spawn_blocking(move || allowed_peers(&chain)).await {
            Ok(Ok(peers)) => peers,
            Ok(Err(e)) => {
                warn!(error = %e, "cannot read the validator set for the allow list");
                continue;
            }
            Err(e) => {
                warn!(error = %e, "the allow-list task failed");
                continue;
            }
        };
        if sent.as_ref() == Some(&peers) {
            continue;
        }
        info!(
            peers = peers.len(),
            "the allow list follows the chain's validator sets and read nodes"
        );
        if commands
            .send(P2pCommand::SetAllowed {
                peers: peers.clone(),
            })
            .await
            .is_err()
        {
            return; // the swarm stopped
        }
        sent = Some(peers);
    }
}

fn to_replica(inbox: &SyncSender<ReplicaInput>, input: ReplicaInput) {
    match inbox.try_send(input) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => warn!("consensus inbox full; dropping a network input"),
        Err(TrySendError::Disconnected(_)) => {} // consensus stopped; the node is exiting
    }
}

fn penalize(commands: &mpsc::Sender<P2pCommand>, peer: PeerId, reason: String) {
    warn!(%peer, %reason, "bad message from peer");
    let _ = commands.try_send(P2pCommand::Penalize { peer, reason });
}

/// The bounds on gossiped batches in verification: how many at once, and how many
/// bytes waiting or in it (in KiB permits).
struct Verifying {
    running: Arc<Semaphore>,
    pending_kib: Arc<Semaphore>,
}

impl Default for Verifying {
    fn default() -> Self {
        Verifying::new(TX_BATCHES_VERIFYING_MAX, TX_BATCHES_PENDING_BYTES_MAX)
    }
}

impl Verifying {
    fn new(running: usize, pending_bytes: usize) -> Self {
        Verifying {
            running: Arc::new(Semaphore::new(running)),
            pending_kib: Arc::new(Semaphore::new(pending_bytes >> 10)),
        }
    }
}

/// Verifies and admits a gossiped batch of `bytes` encoded bytes once one of the
/// [`TX_BATCHES_VERIFYING_MAX`] slots is free; drops it if the batches already waiting
/// hold [`TX_BATCHES_PENDING_BYTES_MAX`].
fn admit(shared: &Arc<Chain>, verifying: &Verifying, batch: TxBatch, bytes: usize) {
    let kib = u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
    let Ok(pending) = verifying.pending_kib.clone().try_acquire_many_owned(kib) else {
        debug!(
            txs = batch.txs.len(),
            bytes, "gossiped batches waiting for verification are at their bound; dropping one"
        );
        shared.metrics.gossip_tx_batches_dropped.inc();
        return;
    };
    let (shared, running) = (shared.clone(), verifying.running.clone());
    tokio::spawn(async move {
        // The semaphore is never closed; FIFO, so batches are verified in arrival order.
        let Ok(slot) = running.acquire_owned().await else {
            return;
        };
        let verified = tokio::task::spawn_blocking(move || {
            let _held = (pending, slot);
            shared.submit(batch.txs, true, crate::driver::now_ms());
        });
        let _ = verified.await;
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jeon_runtime::{calls, AssetId, Call, Keypair, TxBody};

    use super::*;

    /// A batch of one transfer from alice with `nonce`, and its encoded length.
    fn batch(chain: &Chain, nonce: u64) -> (TxBatch, usize) {
        let alice = Keypair::from_seed_label("alice");
        let tx = TxBody {
            chain_id: chain.chain_id,
            sender: alice.address(),
            nonce,
            fee_limit: 10_000,
            expiry: 1_000,
            call: Call::Transfer(calls::Transfer {
                to: Keypair::from_seed_label("bob").address(),
                asset: AssetId(0),
                amount: 1,
            }),
            fee_payer: None,
        }
        .sign(&alice);
        let batch = TxBatch { txs: vec![tx] };
        let bytes = batch.encode().len();
        (batch, bytes)
    }

    async fn until_pool_holds(chain: &Chain, txs: usize) {
        for _ in 0..500 {
            if chain.mempool().len() >= txs {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the pool holds {} transactions, not {txs}",
            chain.mempool().len()
        );
    }

    /// On one thread, every batch arrives before any is verified: one verifies, the
    /// others wait, and all are admitted in the end; with room for only two waiting,
    /// the third is dropped and counted.
    #[tokio::test(flavor = "current_thread")]
    async fn batches_beyond_those_in_verification_wait_and_only_a_full_queue_drops_one() {
        let chain = crate::chain::tests::dev_chain();
        let verifying = Verifying::new(1, TX_BATCHES_PENDING_BYTES_MAX);
        for nonce in 0..20 {
            let (b, bytes) = batch(&chain, nonce);
            admit(&chain, &verifying, b, bytes);
        }
        until_pool_holds(&chain, 20).await;
        assert_eq!(chain.metrics.gossip_tx_batches_dropped.get(), 0);

        let (_, bytes) = batch(&chain, 20);
        assert!(bytes <= 1024, "a one-transfer batch takes one KiB permit");
        let verifying = Verifying::new(1, 2 << 10);
        for nonce in 20..23 {
            let (b, bytes) = batch(&chain, nonce);
            admit(&chain, &verifying, b, bytes);
        }
        assert_eq!(chain.metrics.gossip_tx_batches_dropped.get(), 1);
        until_pool_holds(&chain, 22).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            chain.mempool().len(),
            22,
            "the dropped batch is not admitted"
        );
    }
}
