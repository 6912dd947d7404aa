//! The API's handle on a running node: the chain and the final-event stream.
//!
//! The stream is a tokio broadcast channel; the shell's [`EventPublisher`] (its
//! [`Finality`]) feeds it after each commit. [`Chain`] itself stays free of tokio.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::chain::{Chain, FinalEvent, Finality};
use crate::store::ChainHead;

/// The most finalized blocks an event subscriber may lag behind before it is told so.
/// The channel keeps this many blocks' events in memory whether or not anyone listens,
/// so it is small: at 10,000 transfers/s a block's events take about a megabyte.
pub const EVENTS_CHANNEL_BLOCKS_MAX: usize = 64;

/// Finalized events, one message per block.
pub type EventBatch = Arc<Vec<FinalEvent>>;

/// The API's view of a running node: the chain, and the stream of final events.
#[derive(Clone)]
pub struct ApiHandle {
    /// The chain (database, head, mempool, admission).
    pub chain: Arc<Chain>,
    events: broadcast::Sender<EventBatch>,
}

impl ApiHandle {
    /// A handle on `chain` with a fresh, empty event stream.
    pub fn new(chain: Arc<Chain>) -> Self {
        let (events, _) = broadcast::channel(EVENTS_CHANNEL_BLOCKS_MAX);
        ApiHandle { chain, events }
    }

    /// A new subscription to final events, from the next block on.
    pub fn subscribe_events(&self) -> broadcast::Receiver<EventBatch> {
        self.events.subscribe()
    }

    /// What the replica reports commits to, so that they reach this handle.
    pub fn publisher(&self) -> EventPublisher {
        EventPublisher {
            events: self.events.clone(),
        }
    }
}

/// Publishes each final block's events to the API's subscribers.
#[derive(Clone)]
pub struct EventPublisher {
    events: broadcast::Sender<EventBatch>,
}

impl Finality for EventPublisher {
    fn finalized(&self, _head: ChainHead, events: Vec<FinalEvent>) {
        if !events.is_empty() {
            // Having no subscribers is fine.
            let _ = self.events.send(Arc::new(events));
        }
    }
}
