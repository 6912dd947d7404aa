//! The commit pipeline: a decided block is applied to the store and reported on its own
//! thread while the replica starts the next height.
//!
//! A commit has two halves ([`blocks::stage`], [`blocks::finish`]). Staging appends the
//! block's record to the block log (synced) and makes its writes readable through the
//! database (the state at the tip, the head, its record, its history heads);
//! finishing reports the block final and then applies its writes to sled. With a
//! [`Committer`], the replica stages on its thread, hands the block over, and goes on
//! with the next height (building, proposing, voting) while this thread reports and
//! applies the last one: the store's write is in neither the finality latency nor the
//! next height's path.
//!
//! What keeps it exact:
//! - Nothing is reported final before its record is synced in the block log, and
//!   every read of the database sees a staged block's writes; the API answers at the
//!   reported head ([`crate::chain::Chain::read_at_head`]).
//! - At most one block is in flight: the replica [`Committer::settle`]s before it
//!   stages another and before block sync. A crash therefore leaves the store at most
//!   one block behind the block log; at start, that one whole record is executed and
//!   applied again (`blocks::replay`), so a block reported final is never lost, and a
//!   signature at the next height sits on a block the node will hold.
//!
//! The simulator and the unit tests commit inline (no committer): the same two halves,
//! one after the other, deterministic.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::blocks::{self, Staged};
use crate::chain::{Chain, Finality};
use crate::store::StoreError;

/// Why the committer could not finish a block.
#[derive(Debug, thiserror::Error)]
pub enum CommitterError {
    /// Applying or reporting the block failed: the block is not final; the node stops.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The committer thread is gone (it panicked: a bug, already logged).
    #[error("the commit thread stopped")]
    Stopped,
}

/// The thread that finishes staged blocks, one at a time.
pub struct Committer {
    jobs: Option<SyncSender<Staged>>,
    done: Receiver<Result<(), StoreError>>,
    in_flight: bool,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the thread; it reports to `finality`.
    pub fn spawn(shared: Arc<Chain>, finality: Arc<dyn Finality>) -> std::io::Result<Self> {
        let (jobs, inbox) = sync_channel::<Staged>(1);
        let (done_tx, done) = sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("jeon-commit".into())
            .spawn(move || {
                for staged in inbox {
                    let result = blocks::finish(&shared, &*finality, staged).map(|_| ());
                    let failed = result.is_err();
                    if done_tx.send(result).is_err() || failed {
                        break;
                    }
                }
            })?;
        Ok(Committer {
            jobs: Some(jobs),
            done,
            in_flight: false,
            thread: Some(thread),
        })
    }

    /// Hands a staged block over, after the previous one is finished.
    pub fn submit(&mut self, staged: Staged) -> Result<(), CommitterError> {
        self.settle()?;
        let jobs = self.jobs.as_ref().ok_or(CommitterError::Stopped)?;
        jobs.send(staged).map_err(|_| CommitterError::Stopped)?;
        self.in_flight = true;
        Ok(())
    }

    /// Whether a block is handed over and not yet known to be finished.
    pub fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// Waits until the block in flight, if any, is reported and applied.
    pub fn settle(&mut self) -> Result<(), CommitterError> {
        if !self.in_flight {
            return Ok(());
        }
        self.in_flight = false;
        match self.done.recv() {
            Ok(result) => Ok(result?),
            Err(_) => Err(CommitterError::Stopped),
        }
    }
}

impl Drop for Committer {
    /// Finishes the block in flight (a stopping node reports what it decided), then
    /// joins the thread.
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
