//! The driver: runs the [`Replica`] on its own thread against the real clock and
//! network. It keeps the timers, ticks, and carries the replica's outputs to the
//! network; inputs arrive on one bounded channel (gossip, sync answers, new
//! transactions). All consensus logic lives in the replica; this is plumbing.

use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{error, info};

use crate::consensus::Timeout;
use crate::replica::{Offence, PeerKey, Replica, ReplicaError, ReplicaInput, ReplicaOutput};
use crate::wire::{ConsensusMsg, SyncRequest};

/// The most inputs waiting for the replica; beyond it, gossip is dropped (peers
/// re-gossip and consensus timeouts recover) rather than blocking the network task.
pub const DRIVER_INBOX_MAX: usize = 16_384;
/// How often the replica is ticked (empty blocks, status, sync deadlines).
pub const TICK_MS: u64 = 20;

/// Where the replica's messages go.
pub trait Network: Send + 'static {
    /// Gossips a consensus message to every peer.
    fn broadcast(&self, msg: &ConsensusMsg);
    /// Asks a peer for final blocks.
    fn request_sync(&self, peer: &PeerKey, request: SyncRequest);
    /// Reports a peer that sent something invalid.
    fn penalize(&self, peer: &PeerKey, offence: &Offence);
}

/// No peers: a one-validator chain (`jeon dev`).
pub struct NoNetwork;

impl Network for NoNetwork {
    fn broadcast(&self, _msg: &ConsensusMsg) {}
    fn request_sync(&self, _peer: &PeerKey, _request: SyncRequest) {}
    fn penalize(&self, _peer: &PeerKey, _offence: &Offence) {}
}

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A running driver.
pub struct Driver {
    /// Where inputs for the replica go.
    pub inbox: SyncSender<ReplicaInput>,
    thread: JoinHandle<Result<(), ReplicaError>>,
}

impl Driver {
    /// Starts the replica on its own thread.
    pub fn spawn(replica: Replica, network: Box<dyn Network>) -> std::io::Result<Driver> {
        let (inbox, rx) = sync_channel(DRIVER_INBOX_MAX);
        let thread = std::thread::Builder::new()
            .name("jeon-consensus".into())
            .spawn(move || run(replica, network, rx))?;
        Ok(Driver { inbox, thread })
    }

    /// Waits for the replica thread to stop (it stops on a fatal error, or when every
    /// inbox sender is dropped).
    pub fn join(self) -> Result<(), ReplicaError> {
        drop(self.inbox);
        match self.thread.join() {
            Ok(r) => r,
            Err(_) => Err(ReplicaError::ThreadPanicked),
        }
    }

    /// Whether the replica thread has stopped.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

struct Timers {
    queue: BTreeMap<(u64, u64), Timeout>,
    seq: u64,
}

impl Timers {
    fn next_due(&mut self, now: u64) -> Option<Timeout> {
        let entry = self.queue.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove())
    }
    fn next_at(&self) -> Option<u64> {
        self.queue.keys().next().map(|k| k.0)
    }
}

fn dispatch(outputs: Vec<ReplicaOutput>, network: &dyn Network, timers: &mut Timers) {
    for output in outputs {
        match output {
            ReplicaOutput::Broadcast(msg) => network.broadcast(&msg),
            ReplicaOutput::Schedule { timeout, at_ms } => {
                timers.seq += 1;
                timers.queue.insert((at_ms, timers.seq), timeout);
            }
            ReplicaOutput::RequestSync { peer, request } => network.request_sync(&peer, request),
            ReplicaOutput::Penalize { peer, reason } => network.penalize(&peer, &reason),
        }
    }
}

fn run(
    mut replica: Replica,
    network: Box<dyn Network>,
    rx: Receiver<ReplicaInput>,
) -> Result<(), ReplicaError> {
    let result = run_loop(&mut replica, network.as_ref(), &rx);
    if let Err(e) = &result {
        error!(error = %e, "consensus stopped");
    }
    result
}

fn run_loop(
    replica: &mut Replica,
    network: &dyn Network,
    rx: &Receiver<ReplicaInput>,
) -> Result<(), ReplicaError> {
    let mut timers = Timers {
        queue: BTreeMap::new(),
        seq: 0,
    };
    info!(validator = replica.is_validator(), "consensus starting");
    dispatch(replica.start(now_ms())?, network, &mut timers);
    let mut next_tick = now_ms();
    loop {
        let now = now_ms();
        while let Some(t) = timers.next_due(now) {
            dispatch(
                replica.handle(now, ReplicaInput::Timeout(t))?,
                network,
                &mut timers,
            );
        }
        if now >= next_tick {
            dispatch(
                replica.handle(now, ReplicaInput::Tick)?,
                network,
                &mut timers,
            );
            next_tick = now + TICK_MS;
        }
        // One height per turn, after the last one's outputs are dispatched; inputs
        // that arrived meanwhile are taken between heights (without waiting).
        if replica.next_height_due() {
            dispatch(replica.start_next_height(now_ms())?, network, &mut timers);
        }
        let wake = timers.next_at().map_or(next_tick, |t| t.min(next_tick));
        let wait = if replica.next_height_due() {
            Duration::ZERO
        } else {
            Duration::from_millis(wake.saturating_sub(now_ms()).max(1))
        };
        match rx.recv_timeout(wait) {
            Ok(input) => dispatch(replica.handle(now_ms(), input)?, network, &mut timers),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}
