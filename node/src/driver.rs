//! The consensus driver: runs the pure core against the real world.
//!
//! It turns the core's effects into actions (build a block, sign through the guard,
//! start a timer, commit a decision) and feeds the results back as inputs. Time and
//! I/O enter here, never in the core. One driver runs per node, on its own task.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jeon_runtime::block::{Certificate, CommitSig, ProposalBody, VoteBody};
use jeon_runtime::{Hash, Keypair, Signature};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::blocks::{self, Candidate};
use crate::chain::Shared;
use crate::consensus::{
    self, Core, Effect, Input, Proposal, SignedVote, TimeoutConfig, ValidatorSet, Vote,
};
use crate::signer::SignerGuard;
use crate::store::{Store, StoreError};

/// The most inputs waiting for the driver (timeouts now, network messages later).
pub const DRIVER_INBOX_MAX: usize = 4_096;

/// How the driver paces block production.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Consensus timeouts.
    pub timeouts: TimeoutConfig,
    /// How long a proposer waits for transactions before proposing an empty block.
    pub empty_block_interval_ms: u64,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            timeouts: TimeoutConfig::default(),
            empty_block_interval_ms: 1_000,
        }
    }
}

/// The driver.
pub struct Driver {
    shared: Arc<Shared>,
    core: Core,
    guard: Option<SignerGuard<Box<dyn Store>>>,
    config: DriverConfig,
    inbox_tx: mpsc::Sender<Input>,
    inbox_rx: mpsc::Receiver<Input>,
    candidates: HashMap<Hash, Candidate>,
    /// The core asked for a block at (height, round) and has not got one yet.
    wanted: Option<(u64, u32)>,
    last_commit: Instant,
}

/// Why the driver stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The validator set in genesis is not usable by consensus.
    #[error("invalid validator set: {0}")]
    Validators(#[from] consensus::ValidatorSetError),
    /// Storage failed: the node must stop rather than diverge.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A blocking task that panicked: a bug, reported as a store failure so the node stops.
fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Corrupt {
        key: "blocking task".into(),
        reason: e.to_string(),
    }
}

fn to_hash(id: &consensus::BlockId) -> Hash {
    Hash(*id)
}

impl Driver {
    /// A driver for the chain in `shared`; `key` makes it a validator if it is in the set.
    pub fn new(
        shared: Arc<Shared>,
        key: Option<Keypair>,
        config: DriverConfig,
    ) -> Result<Self, DriverError> {
        let set = ValidatorSet::new(
            shared
                .validators
                .iter()
                .map(|v| consensus::Validator {
                    key: v.key.0,
                    power: v.power,
                })
                .collect(),
        )?;
        let me = key.as_ref().and_then(|k| set.index_of(&k.address().0));
        let guard = match (key, me) {
            (Some(k), Some(_)) => Some(SignerGuard::new(k, shared.db.clone())?),
            _ => None,
        };
        let core = Core::new(set, me, config.timeouts);
        let (inbox_tx, inbox_rx) = mpsc::channel(DRIVER_INBOX_MAX);
        Ok(Driver {
            shared,
            core,
            guard,
            config,
            inbox_tx,
            inbox_rx,
            candidates: HashMap::new(),
            wanted: None,
            last_commit: Instant::now(),
        })
    }

    /// A sender for inputs from outside (network messages).
    pub fn inbox(&self) -> mpsc::Sender<Input> {
        self.inbox_tx.clone()
    }

    /// Runs until a storage failure.
    pub async fn run(mut self) -> Result<(), DriverError> {
        let head = self.shared.head();
        info!(
            height = head.height,
            validator = self.guard.is_some(),
            "consensus starting"
        );
        self.start(head.height + 1).await?;
        loop {
            let empty_deadline =
                self.last_commit + Duration::from_millis(self.config.empty_block_interval_ms);
            tokio::select! {
                input = self.inbox_rx.recv() => match input {
                    Some(input) => self.process(input).await?,
                    None => return Ok(()),
                },
                _ = self.shared.mempool_signal.notified(), if self.wanted.is_some() => {
                    self.build_if_wanted(false).await?;
                }
                _ = tokio::time::sleep_until(empty_deadline.into()), if self.wanted.is_some() => {
                    self.build_if_wanted(true).await?;
                }
            }
        }
    }

    /// Starts consensus at `height`: at round 0, or after a crash mid-height just past
    /// the last round the signer guard signed in.
    async fn start(&mut self, height: u64) -> Result<(), DriverError> {
        let resume = self
            .guard
            .as_ref()
            .and_then(|g| g.last().copied())
            .filter(|l| l.height == height);
        let effects = match resume {
            Some(last) => {
                let round = last.round.saturating_add(1);
                info!(
                    height,
                    round, "resuming a height signed in before a restart"
                );
                self.core.restart_at(height, round)
            }
            None => self.core.handle(Input::StartHeight(height)),
        };
        let mut queue = VecDeque::new();
        for effect in effects {
            self.apply(effect, &mut queue).await?;
        }
        while let Some(input) = queue.pop_front() {
            self.process(input).await?;
        }
        Ok(())
    }

    /// Feeds one input, then carries out the effects and the inputs they produce.
    async fn process(&mut self, input: Input) -> Result<(), DriverError> {
        let mut queue = VecDeque::from([input]);
        while let Some(input) = queue.pop_front() {
            for effect in self.core.handle(input) {
                self.apply(effect, &mut queue).await?;
            }
        }
        Ok(())
    }

    async fn apply(
        &mut self,
        effect: Effect,
        queue: &mut VecDeque<Input>,
    ) -> Result<(), DriverError> {
        match effect {
            Effect::GetValue { height, round } => {
                self.wanted = Some((height, round));
                if !self.shared.mempool().is_empty() {
                    if let Some(input) = self.build(height, round).await? {
                        queue.push_back(input);
                    }
                }
            }
            Effect::BroadcastProposal(p) => {
                if self.sign_proposal(&p) {
                    // Our own block: we executed it when we built it.
                    queue.push_back(Input::Proposal {
                        proposal: p,
                        valid: true,
                    });
                }
            }
            Effect::BroadcastVote(v) => {
                if let Some(signed) = self.sign_vote(v) {
                    queue.push_back(Input::Vote(signed));
                }
            }
            Effect::ScheduleTimeout {
                timeout,
                duration_ms,
            } => {
                let inbox = self.inbox_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(duration_ms)).await;
                    // The driver may have stopped; then the timeout is moot.
                    let _ = inbox.send(Input::Timeout(timeout)).await;
                });
            }
            Effect::Decide {
                height,
                round,
                block,
                certificate,
            } => {
                if round > 0 {
                    self.shared.metrics.rounds_extra.inc_by(u64::from(round));
                }
                self.commit(height, round, to_hash(&block), certificate)
                    .await?;
                queue.push_back(Input::StartHeight(height + 1));
            }
        }
        Ok(())
    }

    async fn build_if_wanted(&mut self, allow_empty: bool) -> Result<(), DriverError> {
        let Some((height, round)) = self.wanted else {
            return Ok(());
        };
        if !allow_empty && self.shared.mempool().is_empty() {
            return Ok(());
        }
        if let Some(input) = self.build(height, round).await? {
            self.process(input).await?;
        }
        Ok(())
    }

    /// Builds and executes a block from the mempool; answers the core's GetValue.
    async fn build(&mut self, height: u64, round: u32) -> Result<Option<Input>, DriverError> {
        self.wanted = None;
        if self.shared.head().height + 1 != height {
            return Ok(None);
        }
        let Some(proposer) = self.guard.as_ref().map(SignerGuard::address) else {
            return Ok(None);
        };
        let shared = self.shared.clone();
        let candidate =
            tokio::task::spawn_blocking(move || blocks::build(&shared, proposer, now_ms()))
                .await
                .map_err(join_error)??;
        let id = candidate.hash();
        debug!(height, round, txs = candidate.txs.len(), block = %id, "built block");
        self.candidates.insert(id, candidate);
        Ok(Some(Input::ProposeValue {
            height,
            round,
            block: id.0,
        }))
    }

    fn sign_proposal(&mut self, p: &Proposal) -> bool {
        let Some(guard) = self.guard.as_mut() else {
            return false;
        };
        let body = ProposalBody {
            chain_id: self.shared.chain_id,
            height: p.height,
            round: p.round,
            block: to_hash(&p.block),
            valid_round: p.valid_round,
        };
        match guard.sign_proposal(&body) {
            Ok(_signature) => true, // gossiped with the block once the network exists
            Err(e) => {
                warn!(error = %e, "signer guard refused a proposal");
                false
            }
        }
    }

    fn sign_vote(&mut self, v: Vote) -> Option<SignedVote> {
        let guard = self.guard.as_mut()?;
        let body = VoteBody {
            chain_id: self.shared.chain_id,
            height: v.height,
            round: v.round,
            kind: match v.kind {
                consensus::VoteKind::Prevote => jeon_runtime::block::VoteKind::Prevote,
                consensus::VoteKind::Precommit => jeon_runtime::block::VoteKind::Precommit,
            },
            block: v.block.as_ref().map(to_hash),
        };
        match guard.sign_vote(&body) {
            Ok(signature) => Some(SignedVote {
                vote: v,
                signature: signature.0,
            }),
            Err(e) => {
                warn!(error = %e, "signer guard refused a vote");
                None
            }
        }
    }

    /// Writes a decided block durably, then reports it (head, mempool, events).
    async fn commit(
        &mut self,
        height: u64,
        round: u32,
        block: Hash,
        votes: Vec<SignedVote>,
    ) -> Result<(), DriverError> {
        let Some(candidate) = self.candidates.remove(&block) else {
            // The core decides only on a proposal it was given, which we executed.
            error!(height, %block, "decided a block we do not hold");
            return Ok(());
        };
        self.candidates.clear();
        let signatures = votes
            .iter()
            .filter_map(|sv| {
                let v = self.shared.validators.get(usize::from(sv.vote.validator))?;
                Some(CommitSig {
                    validator: v.key,
                    signature: Signature(sv.signature),
                })
            })
            .collect();
        let certificate = Certificate {
            height,
            round,
            block,
            signatures,
        };
        let shared = self.shared.clone();
        let head =
            tokio::task::spawn_blocking(move || blocks::commit(&shared, candidate, certificate))
                .await
                .map_err(join_error)??;
        self.last_commit = Instant::now();
        debug!(height = head.height, "block final");
        Ok(())
    }
}
