//! The replica: one node's consensus participation as a synchronous state machine.
//!
//! It owns the pure consensus core, the signer guard and the blocks in flight, and
//! turns inputs (gossip, timeouts, sync answers, new transactions, ticks) into outputs
//! (gossip to send, timeouts to schedule, blocks to request, peers to penalize). Time
//! is passed in; it does I/O only to its own store (executing and committing blocks).
//! The async shell (`driver`) and the deterministic simulator both run it, so the
//! simulator tests the very code the node runs.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use jeon_runtime::block::{Certificate, CommitSig, ProposalBody, VoteBody, VoteKind as WireKind};
use jeon_runtime::{
    crypto, merkle, Address, Hash, Height, Keypair, Signature, SignedTx, VerifiedTx,
};
use tracing::{debug, error, info, warn};

use crate::blocks::{self, Candidate, BLOCK_TIME_DRIFT_MAX_MS};
use crate::chain::{Chain, Finality, NoFinality};
use crate::consensus::{
    self, Core, Effect, Input, Proposal, SignedVote, Step, TimeoutConfig, ValidatorIndex,
    ValidatorSet, Vote, VoteKind,
};
use crate::pipeline::{Committer, CommitterError};
use crate::signer::{
    vote_step, Observed, SignError, SignerGuard, SignerStore, SignerStoreError, SigningStatus,
    PROPOSAL_STEP,
};
use crate::store::StoreError;
use crate::wire::{
    CompactProposal, ConsensusMsg, ProposalWanted, SignedProposal, SignedVoteMsg, StatusMsg,
    SyncRequest, SyncResponse, SYNC_BLOCKS_MAX,
};

#[cfg(any(test, feature = "test-hooks", feature = "byzantine"))]
mod misbehave;
mod sync;

use sync::SyncState;
pub use sync::{SYNC_DISTRUST_MS_MAX, SYNC_DISTRUST_MS_MIN};

/// What a validator persists with a precommit for a block: the block it is now locked
/// on and the prevotes that formed its polka.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct LockProof {
    block: jeon_runtime::Block,
    polka: Vec<SignedVoteMsg>,
}

impl LockProof {
    fn encode(&self) -> Vec<u8> {
        jeon_runtime::codec::encode(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, jeon_runtime::codec::CodecError> {
        jeon_runtime::codec::decode(bytes, crate::wire::CONSENSUS_MSG_BYTES_MAX + (1 << 20))
    }
}

/// A peer, as the network names it: its libp2p peer id (the simulator derives one per
/// node). Typed, so a key never has to be parsed back into an id.
pub type PeerKey = crate::p2p::PeerId;

/// How many heights ahead of ours we keep consensus messages for.
pub const FUTURE_HEIGHTS_MAX: u64 = 2;
/// The most buffered messages per future height.
pub const FUTURE_MSGS_PER_HEIGHT_MAX: usize = 1_024;
/// How long a block sync request may take before we ask someone else.
pub const SYNC_TIMEOUT_MS: u64 = 5_000;
/// How long we may see a peer one block ahead before syncing instead of waiting for
/// consensus to deliver the block.
pub const SYNC_LAG_MS: u64 = 1_000;

/// How long a height may go on before this validator re-sends its own proposal and
/// votes for it, and how often it repeats that: a vote lost to a partition or a full
/// queue must not stall the chain (with 2 of 4 prevotes on each side of a healed
/// partition, no timeout fires and nothing else would re-send them).
pub const REBROADCAST_MS: u64 = 1_000;
/// The most prevotes kept per height for relaying polkas (64 rounds of 64 validators).
pub const PREVOTES_KEPT_MAX: usize = 4_096;
/// The most own messages kept for re-sending (the latest ones of the height).
pub const OWN_MSGS_KEPT_MAX: usize = 6;
/// The most compact proposals held at once while some of their transactions are still
/// on their way (see [`COMPACT_WAIT_MS`]).
pub const COMPACT_HELD_MAX: usize = 4;
/// How long a compact proposal naming transactions this node lacks is held, and put
/// together as soon as they arrive by gossip. On a WAN a transaction batch and the
/// proposal that includes it travel on different connections (two per peer pair) and
/// can arrive in either order; without holding, every such proposal cost the round
/// trip of asking for the whole block (`ProposalWanted`, still sent at once as a
/// fallback) plus its transfer. Longer than the round's propose timeout is useless.
pub const COMPACT_WAIT_MS: u64 = 2_000;

/// How often a node that is not signing says so again in its log (it also says so at
/// once, and `/v1/status` always shows it).
pub const NOT_SIGNING_LOG_MS: u64 = 30_000;

/// How often an unchanged head is announced again (a changed one is announced at
/// once), so a peer that missed it, or connected since, learns where we are.
pub const STATUS_REPEAT_MS: u64 = 10_000;

/// Pacing of block production and gossip.
#[derive(Clone, Copy, Debug)]
pub struct ReplicaConfig {
    /// Consensus timeouts.
    pub timeouts: TimeoutConfig,
    /// How long a proposer waits for transactions before proposing an empty block.
    pub empty_block_interval_ms: u64,
    /// How often the head is announced to peers.
    pub status_interval_ms: u64,
    /// Whether the node has peers: a validator with no signer record then listens for
    /// a doppelganger before signing, even at genesis ([`crate::signer::gate`]).
    pub networked: bool,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            timeouts: TimeoutConfig::default(),
            empty_block_interval_ms: 1_000,
            status_interval_ms: 1_000,
            networked: false,
        }
    }
}

/// What the replica is told.
#[derive(Clone, Debug)]
pub enum ReplicaInput {
    /// Consensus gossip from a peer.
    Gossip {
        /// Who relayed it.
        from: PeerKey,
        /// The message.
        msg: ConsensusMsg,
    },
    /// Transactions entered the mempool.
    TxsAdmitted,
    /// A timeout scheduled earlier fired.
    Timeout(consensus::Timeout),
    /// A peer answered a block sync request.
    Synced {
        /// The peer.
        from: PeerKey,
        /// Its answer.
        response: SyncResponse,
    },
    /// A block sync request failed (timeout, disconnect, undecodable answer).
    SyncFailed {
        /// The peer.
        peer: PeerKey,
    },
    /// Time passed: check deadlines (empty blocks, status, sync).
    Tick,
}

/// What the replica asks its shell to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaOutput {
    /// Gossip this to every peer.
    Broadcast(ConsensusMsg),
    /// Feed `ReplicaInput::Timeout(timeout)` at `at_ms`.
    Schedule {
        /// The timeout.
        timeout: consensus::Timeout,
        /// When.
        at_ms: u64,
    },
    /// Ask `peer` for final blocks.
    RequestSync {
        /// The peer.
        peer: PeerKey,
        /// What to ask.
        request: SyncRequest,
    },
    /// The peer sent something invalid.
    Penalize {
        /// The peer.
        peer: PeerKey,
        /// Why.
        reason: Offence,
    },
}

/// What a peer sent that a correct peer never sends: the reason it is penalized.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Offence {
    /// A proposal not signed by the round's proposer, or for another chain.
    #[error("proposal h{height} r{round} not signed by its proposer")]
    ProposalNotSigned {
        /// The proposal's height.
        height: Height,
        /// Its round.
        round: u32,
    },
    /// A proposal whose block is not the one it names.
    #[error("proposal names block {named} but carries {carried}")]
    ProposalBlockMismatch {
        /// The block hash the signed proposal names.
        named: Hash,
        /// The hash of the block it carries.
        carried: Hash,
    },
    /// A vote by a key outside the validator set.
    #[error("vote from {validator}, not a validator")]
    VoteFromNonValidator {
        /// The vote's signer.
        validator: Address,
    },
    /// A vote whose signature does not verify, or for another chain.
    #[error("vote by {validator} does not verify")]
    VoteDoesNotVerify {
        /// The claimed signer.
        validator: Address,
    },
    /// A sync answer whose blocks do not follow our head.
    #[error("sync answer skips heights")]
    SyncSkipsHeights,
    /// A synced block that does not check (the error is logged where it is found).
    #[error("invalid synced block at height {height}")]
    InvalidSyncedBlock {
        /// The block's height.
        height: Height,
    },
    /// A peer announced a head above ours, then served no block above it.
    #[error("announced a head above {head} but serves none")]
    HeadNotServed {
        /// Our head when it answered.
        head: Height,
    },
}

/// Why the replica had to stop: continuing could diverge or sign unsafely.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The validator set in genesis is not usable by consensus.
    #[error("invalid validator set: {0}")]
    Validators(#[from] consensus::ValidatorSetError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The signer's record could not be read or written.
    #[error(transparent)]
    Signer(#[from] SignerStoreError),
    /// The consensus thread panicked: a bug, already logged by the panic hook.
    #[error("the consensus thread panicked")]
    ThreadPanicked,
    /// The core decided a block this node never executed: a bug.
    #[error("decided block {block} at height {height}, which this node does not hold")]
    MissingDecision {
        /// Height.
        height: Height,
        /// Block.
        block: Hash,
    },
}

/// The replica.
pub struct Replica {
    shared: Arc<Chain>,
    /// Where commits are reported final (the shell's event stream; nowhere by default).
    finality: Arc<dyn Finality>,
    /// Finishes decided blocks on its own thread ([`crate::pipeline`]); `None` commits
    /// inline (the simulator, unit tests).
    committer: Option<Committer>,
    core: Core,
    guard: Option<SignerGuard>,
    /// Our key and signer record while we are in no set yet: the guard opens when a
    /// set change adds us (docs/consensus.md §1).
    dormant_key: Option<(Keypair, Box<dyn SignerStore>)>,
    /// Our key's address, if we have a key.
    own_key: Option<Address>,
    /// The core's timeouts, for the core a set change makes.
    timeouts: TimeoutConfig,
    /// The locking rule is off (the simulator's self-check), for the core a set change
    /// makes.
    #[cfg(any(test, feature = "test-hooks"))]
    locking_disabled: bool,
    /// Whether messages by our key that we did not sign stop signing (off only for the
    /// simulator's Byzantine twins).
    doppelganger_protection: bool,
    /// When the log last said that this node is not signing.
    last_not_signing_log_ms: u64,
    /// Consensus was not started at the current height because the doppelganger window
    /// is open: the core would ask for messages the guard refuses, and with nobody's
    /// vote it would wait for ever. It starts when the window closes.
    deferred_start: bool,
    config: ReplicaConfig,
    /// Executed blocks for the current height, by hash (ours and valid proposals).
    candidates: HashMap<Hash, Candidate>,
    /// The core asked for a block at (height, round).
    wanted: Option<(Height, u32)>,
    last_commit_ms: u64,
    /// The block we last decided carried transactions: the next one, which certifies
    /// the state they wrote (a block's header commits to the state before it), is
    /// proposed without waiting for transactions, as CometBFT's proof block is. Proofs
    /// of that state (state and access proofs) are then at most a block away.
    proof_block_due: bool,
    last_status_ms: u64,
    last_status: Option<StatusMsg>,
    /// What we signed at the current height, for re-sending.
    own_msgs: VecDeque<ConsensusMsg>,
    /// Our proposals at this height, whole, for peers that ask ([`ProposalWanted`]);
    /// `true` once gossiped whole.
    own_proposals: VecDeque<(SignedProposal, bool)>,
    /// Compact proposals lacking transactions, held since `at_ms` ([`COMPACT_WAIT_MS`]).
    compact_held: VecDeque<(u64, PeerKey, CompactProposal)>,
    /// Verified prevotes for blocks at the current height, ours and others'.
    prevotes: BTreeMap<(u32, Option<Hash>, Address), SignedVoteMsg>,
    height_started_ms: u64,
    /// The highest height at which each validator's signed proposal or vote checked
    /// here: a round's proposer not heard at this height or the last one is down or
    /// still catching up, and gets no allowance for the empty-block wait.
    heard: HashMap<Address, Height>,
    last_rebroadcast_ms: u64,
    future: BTreeMap<Height, Vec<(PeerKey, ConsensusMsg)>>,
    sync: SyncState,
    equivocations_seen: usize,
    /// Validators this node reported evidence against at this height: one report per
    /// (validator, height) is all the chain records, so later pairs are only logged.
    reported: std::collections::BTreeSet<consensus::ValidatorIndex>,
    /// Consensus is paused: the disk is too full to store a block.
    disk_paused: bool,
    /// A height was decided (or synced): the next starts when the shell calls
    /// [`Self::start_next_height`].
    next_height_due: bool,
    /// Blocks proposed at this height that failed their check, so that a proposal
    /// re-sent or relayed again is refused without executing it again (at most
    /// [`INVALID_BLOCKS_KEPT_MAX`]).
    invalid_blocks: std::collections::BTreeSet<Hash>,
    /// TEST ONLY: how this replica misbehaves ([`crate::byzantine`]);
    /// not even a field without the `byzantine` or `test-hooks` feature.
    #[cfg(any(test, feature = "test-hooks", feature = "byzantine"))]
    byzantine: Option<crate::byzantine::Behaviour>,
}

/// The most invalid proposed blocks remembered per height: a faulty proposer signs
/// one per round, so this covers 64 rounds; past it, a block is checked again.
pub const INVALID_BLOCKS_KEPT_MAX: usize = 64;

/// Without the test features, a replica never misbehaves: these are the honest no-ops
/// of `replica/misbehave.rs`.
#[cfg(not(any(test, feature = "test-hooks", feature = "byzantine")))]
impl Replica {
    fn misbehave_vote(&self, _: &SignedVoteMsg, _: &mut Vec<ReplicaOutput>) -> bool {
        false
    }

    fn misbehave_proposal(&self, _: &SignedProposal, _: &mut Vec<ReplicaOutput>) -> bool {
        false
    }

    fn misbehave_status(&self, status: StatusMsg) -> StatusMsg {
        status
    }

    fn misbehaving_from_the_start(self) -> Self {
        self
    }

    /// Whether this replica answers block sync with lies: never.
    pub fn lies_in_sync(&self) -> bool {
        false
    }
}

/// The core's form of a set of the chain's.
fn consensus_set(
    validators: &[jeon_runtime::block::ValidatorInfo],
) -> Result<ValidatorSet, consensus::ValidatorSetError> {
    ValidatorSet::new(
        validators
            .iter()
            .map(|v| consensus::Validator {
                key: v.key.0,
                power: v.power,
            })
            .collect(),
    )
}

fn wire_kind(kind: VoteKind) -> WireKind {
    match kind {
        VoteKind::Prevote => WireKind::Prevote,
        VoteKind::Precommit => WireKind::Precommit,
    }
}

fn core_kind(kind: WireKind) -> VoteKind {
    match kind {
        WireKind::Prevote => VoteKind::Prevote,
        WireKind::Precommit => VoteKind::Precommit,
    }
}

impl Replica {
    /// A replica of the chain in `shared`; `key` makes it a validator if it is in the
    /// set, signing through a guard whose record lives in `signer`.
    pub fn new(
        shared: Arc<Chain>,
        key: Option<Keypair>,
        signer: Box<dyn SignerStore>,
        config: ReplicaConfig,
    ) -> Result<Self, ReplicaError> {
        // The set of the height we start next: the genesis set on a new chain, or
        // whatever governance made it.
        let sets = blocks::sets_for_next(&shared)?;
        let set = consensus_set(&sets.current)?;
        let own_key = key.as_ref().map(Keypair::address);
        let me = own_key.and_then(|k| set.index_of(&k.0));
        let (guard, dormant_key) = match (key, me) {
            (Some(k), Some(_)) => (Some(SignerGuard::open(k, signer)?), None),
            (Some(k), None) => (None, Some((k, signer))),
            _ => (None, None),
        };
        // A proposer with nothing to propose waits up to the empty-block interval; the
        // others' propose timeout allows for that wait, or every idle height would time
        // out its round 0.
        shared.set_votes(me.is_some());
        let mut timeouts = config.timeouts;
        timeouts.propose_ms = timeouts
            .propose_ms
            .saturating_add(config.empty_block_interval_ms);
        Ok(Replica {
            core: Core::new(set, me, timeouts),
            shared,
            finality: Arc::new(NoFinality),
            committer: None,
            guard,
            dormant_key,
            own_key,
            timeouts,
            #[cfg(any(test, feature = "test-hooks"))]
            locking_disabled: false,
            doppelganger_protection: true,
            last_not_signing_log_ms: 0,
            deferred_start: false,
            config,
            candidates: HashMap::new(),
            wanted: None,
            last_commit_ms: 0,
            proof_block_due: false,
            last_status_ms: 0,
            last_status: None,
            own_msgs: VecDeque::new(),
            own_proposals: VecDeque::new(),
            compact_held: VecDeque::new(),
            next_height_due: false,
            prevotes: BTreeMap::new(),
            height_started_ms: 0,
            heard: HashMap::new(),
            last_rebroadcast_ms: 0,
            future: BTreeMap::new(),
            sync: SyncState::default(),
            equivocations_seen: 0,
            reported: std::collections::BTreeSet::new(),
            disk_paused: false,
            invalid_blocks: std::collections::BTreeSet::new(),
            #[cfg(any(test, feature = "test-hooks", feature = "byzantine"))]
            byzantine: crate::byzantine::active(),
        }
        .misbehaving_from_the_start())
    }

    /// Reports every commit, once durable, to `finality` (the node shell's event stream).
    pub fn with_finality(mut self, finality: Arc<dyn Finality>) -> Self {
        self.finality = finality;
        self
    }

    /// Finishes decided blocks on a thread of their own while the next height starts
    /// ([`crate::pipeline`]), reporting to the finality set before.
    pub fn with_pipelined_commits(mut self) -> std::io::Result<Self> {
        self.committer = Some(Committer::spawn(
            self.shared.clone(),
            self.finality.clone(),
        )?);
        Ok(self)
    }

    /// Waits until the block handed to the committer, if any, is reported and applied:
    /// before staging another and before block sync (one block in flight). Signing at
    /// the next height does not wait: the block is final and in the synced block log
    /// once staged, and a crash before the store holds it replays it at start.
    fn settle(&mut self) -> Result<(), ReplicaError> {
        let Some(committer) = self.committer.as_mut() else {
            return Ok(());
        };
        if committer.in_flight() {
            crate::crash::crash_point("commit.next_before_previous_applied");
        }
        committer.settle().map_err(|e| match e {
            CommitterError::Store(e) => ReplicaError::Store(e),
            CommitterError::Stopped => ReplicaError::ThreadPanicked,
        })
    }

    /// Disables the core's locking rule: for the simulator's self-check that its fork
    /// checker catches the forks an unsafe core makes. Never call it in a node: it is
    /// compiled only with the `test-hooks` feature.
    #[cfg(any(test, feature = "test-hooks"))]
    #[doc(hidden)]
    pub fn disable_locking_for_test(&mut self) {
        self.locking_disabled = true;
        self.core.disable_locking_for_test();
    }

    /// Turns off stopping on a message by our key that we did not sign: for the
    /// simulator's Byzantine twins, two honest copies of one validator that are meant
    /// to equivocate. Never call it in a node: compiled only with `test-hooks`.
    #[cfg(any(test, feature = "test-hooks"))]
    #[doc(hidden)]
    pub fn disable_doppelganger_protection_for_test(&mut self) {
        self.doppelganger_protection = false;
    }

    /// Whether, and why not, this replica signs.
    pub fn signing(&self) -> SigningStatus {
        self.guard
            .as_ref()
            .map_or(SigningStatus::NotValidator, |g| g.gate().status())
    }

    /// The consensus height and round in progress.
    pub fn position(&self) -> (Height, u32) {
        (self.core.height(), self.core.round())
    }

    /// Whether this replica votes at the current height.
    pub fn is_validator(&self) -> bool {
        self.guard.is_some() && self.core.me().is_some()
    }

    /// Starts consensus at the height after the head: at round 0, or after a crash
    /// mid-height just past the last round the signer guard signed in.
    pub fn start(&mut self, now_ms: u64) -> Result<Vec<ReplicaOutput>, ReplicaError> {
        self.last_commit_ms = now_ms;
        let head = self.shared.tip().height;
        let networked = self.config.networked;
        if let Some(status) = self
            .guard
            .as_mut()
            .map(|g| g.begin(head, networked, now_ms))
        {
            self.report_signing(now_ms, status);
        }
        let mut out = Vec::new();
        self.start_height(now_ms, &mut out)?;
        Ok(out)
    }

    fn start_height(
        &mut self,
        now_ms: u64,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let height = self.shared.tip().height + 1;
        debug!(height, "height starting");
        self.follow_set(now_ms, height)?;
        self.update_gate(now_ms);
        self.candidates.clear();
        self.wanted = None;
        self.equivocations_seen = 0;
        self.reported.clear();
        self.invalid_blocks.clear();
        self.own_msgs.clear();
        self.own_proposals.clear();
        self.compact_held.clear();
        self.prevotes.clear();
        self.height_started_ms = now_ms;
        // A validator listening for a doppelganger follows the chain by block sync only.
        self.deferred_start = matches!(self.signing(), SigningStatus::DoppelgangerCheck { .. });
        if self.deferred_start {
            return Ok(());
        }
        let last = self.guard.as_ref().and_then(|g| g.last().copied());
        if last.is_some_and(|l| l.height < height) {
            // The proof persisted with the record is of a height now decided.
            let _ = self.guard.as_mut().and_then(SignerGuard::take_loaded_proof);
        }
        let last = last.filter(|l| l.height == height);
        let mut prevoted = None;
        let effects = match last {
            Some(last) => {
                // After a prevote, resume in its round: the prevote is signed again (the
                // identical message, which the guard allows), counted and re-sent, and
                // this validator can still precommit there. Peers that lost the prevote
                // with our crash need it (with one validator withholding its votes, the
                // others cannot leave that round without it), and they cannot leave the
                // round without our precommit either. After a proposal or a precommit,
                // the next round.
                let again = last.step == vote_step(wire_kind(VoteKind::Prevote));
                let round = if again {
                    prevoted = Some((last.round, last.block));
                    last.round
                } else {
                    last.round.saturating_add(1)
                };
                let lock = last.lock.map(|(r, block)| (r, block.0));
                info!(height, round, locked = ?last.lock, "resuming a height this validator signed in before a restart");
                let effects = self.core.restart_at(height, round, lock);
                // Before the core's first effects run (our re-proposal loops back), give
                // it the locked block and the polka it needs to accept it.
                if let Some((_, block)) = last.lock {
                    self.restore_lock(now_ms, height, block, out)?;
                }
                effects
            }
            None => self.core.handle(Input::StartHeight(height)),
        };
        self.run_effects(now_ms, effects, out)?;
        if let (Some((round, block)), Some(validator)) = (prevoted, self.core.me()) {
            let vote = Vote {
                height,
                round,
                kind: VoteKind::Prevote,
                block: block.map(|b| b.0),
                validator,
            };
            if let Some(input) = self.sign_vote(vote, out)? {
                self.feed(now_ms, input, out)?;
            }
        }
        // Replay what arrived early for this height; drop anything older.
        self.future = self.future.split_off(&height);
        if let Some(msgs) = self.future.remove(&height) {
            for (from, msg) in msgs {
                self.on_gossip(now_ms, from, msg, out)?;
            }
        }
        Ok(())
    }

    /// Switches consensus to the validator set of `height` if a set change made it (or
    /// our place in it) differ from the core's (docs/consensus.md §1), with a fresh core:
    /// idle until this height starts, so nothing of the height before is counted under
    /// the new set, and a core left waiting (the start deferred while an added
    /// validator listens for a doppelganger) never decides a stale height. A removed
    /// validator stops signing (the core no longer asks it to); an added one opens its
    /// signer guard, which starts as a node's does (listening for a doppelganger first
    /// if it has no record), and signs from this height on.
    fn follow_set(&mut self, now_ms: u64, height: Height) -> Result<(), ReplicaError> {
        let sets = blocks::sets_for_next(&self.shared)?;
        let set = consensus_set(&sets.current)?;
        let mut me = self.own_key.and_then(|k| set.index_of(&k.0));
        if me.is_some() && self.guard.is_none() {
            if let Some((key, signer)) = self.dormant_key.take() {
                let mut guard = SignerGuard::open(key, signer)?;
                let status = guard.begin(height - 1, self.config.networked, now_ms);
                self.guard = Some(guard);
                self.report_signing(now_ms, status);
            }
        }
        // Without a guard (a node with no key), we follow as a full node.
        if self.guard.is_none() {
            me = None;
        }
        self.shared.set_votes(me.is_some());
        if &set == self.core.validators() && me == self.core.me() {
            return Ok(());
        }
        info!(
            height,
            validators = set.len(),
            member = me.is_some(),
            "the validator set changes"
        );
        self.core = Core::new(set, me, self.timeouts);
        #[cfg(any(test, feature = "test-hooks"))]
        if self.locking_disabled {
            self.core.disable_locking_for_test();
        }
        Ok(())
    }

    /// Reloads the lock's proof persisted with our last precommit: the block, so we can
    /// re-propose it, and its polka, which the core needs to accept that re-proposal
    /// (L28); both are re-checked like anything from a peer.
    fn restore_lock(
        &mut self,
        now_ms: u64,
        height: Height,
        block: Hash,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let Some(bytes) = self.guard.as_mut().and_then(SignerGuard::take_loaded_proof) else {
            return Ok(());
        };
        let Ok(proof) = LockProof::decode(&bytes) else {
            warn!(height, "the persisted lock proof does not decode");
            return Ok(());
        };
        if proof.block.header.height != height || proof.block.header.hash() != block {
            return Ok(());
        }
        match blocks::check(&self.shared, proof.block, u64::MAX) {
            Ok(candidate) => {
                self.candidates.insert(block, candidate);
            }
            Err(e) => {
                warn!(height, %block, error = %e, "the persisted locked block does not check")
            }
        }
        for vote in proof.polka {
            // Our own persisted polka: nobody to penalize if it no longer checks.
            self.on_vote(now_ms, None, vote, out)?;
        }
        Ok(())
    }

    /// Handles one input.
    pub fn handle(
        &mut self,
        now_ms: u64,
        input: ReplicaInput,
    ) -> Result<Vec<ReplicaOutput>, ReplicaError> {
        let mut out = Vec::new();
        if self.paused_for_disk(now_ms, &mut out)? {
            return Ok(out);
        }
        self.refresh_signing(now_ms, &mut out)?;
        match input {
            ReplicaInput::Gossip { from, msg } => self.on_gossip(now_ms, from, msg, &mut out)?,
            ReplicaInput::TxsAdmitted => {
                self.complete_held(now_ms, &mut out)?;
                self.build_if_wanted(now_ms, false, &mut out)?
            }
            ReplicaInput::Timeout(t) => self.feed(now_ms, Input::Timeout(t), &mut out)?,
            ReplicaInput::Synced { from, response } => {
                self.on_synced(now_ms, from, response, &mut out)?
            }
            ReplicaInput::SyncFailed { peer } => {
                if self
                    .sync
                    .in_flight
                    .as_ref()
                    .is_some_and(|(p, _)| *p == peer)
                {
                    self.sync.in_flight = None;
                }
                self.sync.peer_heights.remove(&peer);
                self.distrust_sync_peer(now_ms, peer, "request failed");
            }
            ReplicaInput::Tick => self.on_tick(now_ms, &mut out)?,
        }
        Ok(out)
    }

    /// Whether a height was decided (or synced) and the next one waits for
    /// [`Self::start_next_height`].
    pub fn next_height_due(&self) -> bool {
        self.next_height_due
    }

    /// Starts the next height after one was decided. The shell calls it once it has
    /// dispatched the outputs of the input that decided, not the replica from inside
    /// the decision: on one validator with transactions waiting every height decides
    /// as soon as it starts, so starting the next from inside the decision nested one
    /// more call per height (overflowing the stack under a long backlog), and even
    /// looping here would pile up every height's outputs (on one validator, each
    /// height's whole proposed block) until the pool drained.
    pub fn start_next_height(&mut self, now_ms: u64) -> Result<Vec<ReplicaOutput>, ReplicaError> {
        let mut out = Vec::new();
        if std::mem::take(&mut self.next_height_due) && !self.paused_for_disk(now_ms, &mut out)? {
            self.start_height(now_ms, &mut out)?;
        }
        Ok(out)
    }

    /// Whether consensus is paused because the data directory's disk is too full to
    /// make a block durable ([`crate::faults::DiskWatch`]). Paused, the replica drops
    /// every input: it signs nothing (no proposal, no vote) and commits nothing, so no
    /// signature exists for a block it may fail to store, and what is committed stays
    /// readable. When space is back it restarts the height the way a restarted node
    /// does ([`Self::start`]: past the rounds its signer guard already signed in), and
    /// block sync fetches what the others finalized meanwhile.
    fn paused_for_disk(
        &mut self,
        now_ms: u64,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<bool, ReplicaError> {
        let full = self.shared.disk.check(now_ms);
        match (full, self.disk_paused) {
            (true, _) => {
                self.disk_paused = true;
                Ok(true)
            }
            (false, true) => {
                self.disk_paused = false;
                self.last_commit_ms = now_ms;
                self.start_height(now_ms, out)?;
                Ok(false)
            }
            (false, false) => Ok(false),
        }
    }

    fn on_tick(&mut self, now_ms: u64, out: &mut Vec<ReplicaOutput>) -> Result<(), ReplicaError> {
        let wait_ms = if self.proof_block_due {
            0
        } else {
            self.config.empty_block_interval_ms
        };
        if now_ms >= self.last_commit_ms.saturating_add(wait_ms) {
            self.build_if_wanted(now_ms, true, out)?;
        }
        if now_ms
            >= self
                .last_status_ms
                .saturating_add(self.config.status_interval_ms)
        {
            self.announce(now_ms, out);
        }
        self.complete_held(now_ms, out)?;
        self.rebroadcast(now_ms, out);
        self.maybe_sync(now_ms, out);
        self.remind_not_signing(now_ms);
        Ok(())
    }

    /// Re-sends what we signed at this height once it has taken [`REBROADCAST_MS`].
    fn rebroadcast(&mut self, now_ms: u64, out: &mut Vec<ReplicaOutput>) {
        let due = now_ms >= self.height_started_ms.saturating_add(REBROADCAST_MS)
            && now_ms >= self.last_rebroadcast_ms.saturating_add(REBROADCAST_MS);
        if !due {
            return;
        }
        self.last_rebroadcast_ms = now_ms;
        // A peer that still lacks our proposal's transactions may ask for it again.
        for (_, sent_whole) in &mut self.own_proposals {
            *sent_whole = false;
        }
        // With our own messages goes the polka we are locked on or hold as valid, so
        // nodes that missed it can accept its re-proposal.
        if let Some((round, block)) = self.core.valid() {
            let polka: Vec<ConsensusMsg> = self.polka(round, Hash(block)).collect();
            out.extend(polka.into_iter().map(ReplicaOutput::Broadcast));
        }
        debug!(
            height = self.core.height(),
            round = self.core.round(),
            msgs = self.own_msgs.len(),
            "re-sending own messages"
        );
        out.extend(self.own_msgs.iter().cloned().map(ReplicaOutput::Broadcast));
        self.relay_round_votes(out);
    }

    /// Relays the others' votes of the current round that this node holds. A peer that
    /// restarted lost the votes it had, and their senders may have moved on to a later
    /// round, where they re-send only that round's messages: with one validator
    /// silent, the peer could then never gather 2f+1 votes of the round it is stuck in
    /// (found by the simulator: storage-sweep seeds 3755 and 6450). The votes are
    /// signed by their validators, so relaying them is as good as their sending them.
    fn relay_round_votes(&self, out: &mut Vec<ReplicaOutput>) {
        let set = self.core.validators();
        let me = self.core.me();
        for signed in self.core.round_votes() {
            let v = signed.vote;
            let Some(validator) = set.get(v.validator).filter(|_| Some(v.validator) != me) else {
                continue;
            };
            out.push(ReplicaOutput::Broadcast(ConsensusMsg::Vote(
                SignedVoteMsg {
                    body: self.vote_body(&v),
                    validator: Address(validator.key),
                    signature: Signature(signed.signature),
                },
            )));
        }
    }

    fn remember_own(&mut self, msg: &ConsensusMsg) {
        if self.own_msgs.len() >= OWN_MSGS_KEPT_MAX {
            self.own_msgs.pop_front();
        }
        self.own_msgs.push_back(msg.clone());
    }

    /// Feeds one input to the core and carries out the effects it causes, and the
    /// inputs those produce (our own signed messages loop back), to a fixed point.
    fn feed(
        &mut self,
        now_ms: u64,
        input: Input,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let effects = self.core.handle(input);
        self.run_effects(now_ms, effects, out)
    }

    fn run_effects(
        &mut self,
        now_ms: u64,
        effects: Vec<Effect>,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let mut queue: VecDeque<Effect> = effects.into();
        while let Some(effect) = queue.pop_front() {
            if let Some(input) = self.apply(now_ms, effect, out)? {
                queue.extend(self.core.handle(input));
            }
        }
        self.report_equivocations(now_ms);
        Ok(())
    }

    /// Carries out one effect; returns the input it feeds back, if any.
    fn apply(
        &mut self,
        now_ms: u64,
        effect: Effect,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<Option<Input>, ReplicaError> {
        match effect {
            Effect::GetValue { height, round } => {
                if !self.may_sign(height) {
                    return Ok(None); // a block we could not propose is not worth building
                }
                self.wanted = Some((height, round));
                if self.shared.mempool().has_ready() || self.proof_block_due {
                    return self.build(now_ms);
                }
                Ok(None)
            }
            Effect::BroadcastProposal(p) => self.sign_proposal(p, out),
            Effect::BroadcastVote(v) => self.sign_vote(v, out),
            Effect::ScheduleTimeout {
                timeout,
                duration_ms,
            } => {
                // The propose timeout covers the proposer's wait for transactions
                // (`empty_block_interval_ms`, added in `open`). With transactions
                // ready here, gossip has given them to the proposer too, which then
                // proposes at once: a proposer that is down or still catching up (a
                // validator just added) costs the height one base timeout, not both.
                // A proposer not heard at this height or the last (down, or a validator
                // just added that is still catching up) gets no allowance either: an
                // idle height then costs one base timeout, not the wait as well.
                let no_wait = timeout.step == Step::Propose
                    && (self.shared.mempool().has_ready()
                        || self.proposer_quiet(timeout.height, timeout.round));
                let duration_ms = if no_wait {
                    duration_ms.saturating_sub(self.config.empty_block_interval_ms)
                } else {
                    duration_ms
                };
                out.push(ReplicaOutput::Schedule {
                    timeout,
                    at_ms: now_ms.saturating_add(duration_ms),
                });
                Ok(None)
            }
            Effect::Decide {
                height,
                round,
                block,
                certificate,
            } => {
                self.decide(now_ms, height, round, Hash(block), certificate, out)?;
                Ok(None)
            }
        }
    }

    fn build_if_wanted(
        &mut self,
        now_ms: u64,
        allow_empty: bool,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        if self.wanted.is_none() || (!allow_empty && !self.shared.mempool().has_ready()) {
            return Ok(());
        }
        if let Some(input) = self.build(now_ms)? {
            self.feed(now_ms, input, out)?;
        }
        Ok(())
    }

    /// Builds a block for the wanted (height, round) and answers the core.
    fn build(&mut self, now_ms: u64) -> Result<Option<Input>, ReplicaError> {
        let Some((height, round)) = self.wanted.take() else {
            return Ok(None);
        };
        let Some(proposer) = self.guard.as_ref().map(SignerGuard::address) else {
            return Ok(None);
        };
        if self.shared.tip().height + 1 != height {
            return Ok(None);
        }
        debug!(height, round, "building a block");
        let candidate = blocks::build(&self.shared, proposer, now_ms)?;
        let id = candidate.hash();
        debug!(height, round, txs = candidate.txs.len(), block = %id, "built block");
        self.candidates.insert(id, candidate);
        Ok(Some(Input::ProposeValue {
            height,
            round,
            block: id.0,
        }))
    }

    fn sign_proposal(
        &mut self,
        p: Proposal,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<Option<Input>, ReplicaError> {
        if self.guard.is_none() {
            return Ok(None);
        }
        let Some(guard) = self.guard.as_mut() else {
            return Ok(None);
        };
        let Some(candidate) = self.candidates.get(&Hash(p.block)) else {
            warn!(
                height = p.height,
                round = p.round,
                "asked to propose a block we do not hold"
            );
            return Ok(None);
        };
        let body = ProposalBody {
            chain_id: self.shared.chain_id,
            height: p.height,
            round: p.round,
            block: Hash(p.block),
            valid_round: p.valid_round,
        };
        let signature = match guard.sign_proposal(&body) {
            Ok(s) => s,
            // Our proposal for this round was signed before a restart and is lost with
            // the candidate: the core, which does not time out its own proposal, would
            // wait for it forever. It gives up on the round's proposal as a
            // non-proposer does on timeoutPropose (L57).
            Err(e @ SignError::Conflict { .. }) => {
                Self::refused::<Input>(e)?;
                return Ok(Some(Input::Timeout(consensus::Timeout {
                    height: p.height,
                    round: p.round,
                    step: Step::Propose,
                })));
            }
            Err(e) => return Self::refused(e),
        };
        let full = SignedProposal {
            body,
            block: candidate.block.clone(),
            signature,
        };
        let replaced = self.misbehave_proposal(&full, out);
        // Peers hold the transactions from gossip: name them by hash, and keep the
        // whole proposal for a peer that asks.
        let msg = if self.config.networked {
            let compact = CompactProposal {
                body: full.body,
                header: full.block.header.clone(),
                txs: candidate.txs.iter().map(VerifiedTx::hash).collect(),
                signature: full.signature,
            };
            if self.own_proposals.len() >= OWN_MSGS_KEPT_MAX {
                self.own_proposals.pop_front();
            }
            self.own_proposals.push_back((full, false));
            ConsensusMsg::CompactProposal(Box::new(compact))
        } else {
            ConsensusMsg::Proposal(Box::new(full))
        };
        if !replaced {
            self.remember_own(&msg);
            out.push(ReplicaOutput::Broadcast(msg));
        }
        // A re-proposal is accepted only with the polka of its valid round: send it along.
        if let Some(vr) = p.valid_round {
            let polka: Vec<ConsensusMsg> = self.polka(vr, Hash(p.block)).collect();
            out.extend(polka.into_iter().map(ReplicaOutput::Broadcast));
        }
        // Our own block: executed when we built it (or checked when we received it).
        Ok(Some(Input::Proposal {
            proposal: p,
            signature: signature.0,
            valid: true,
        }))
    }

    /// The signed body of a core vote on this chain.
    fn vote_body(&self, v: &Vote) -> VoteBody {
        VoteBody {
            chain_id: self.shared.chain_id,
            height: v.height,
            round: v.round,
            kind: wire_kind(v.kind),
            block: v.block.map(Hash),
        }
    }

    fn sign_vote(
        &mut self,
        v: Vote,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<Option<Input>, ReplicaError> {
        if self.guard.is_none() {
            return Ok(None);
        }
        let body = self.vote_body(&v);
        let Some(guard) = self.guard.as_mut() else {
            return Ok(None);
        };
        // A precommit for a block is a lock: persist its proof with the signature.
        let locked = match (v.kind, body.block) {
            (VoteKind::Precommit, Some(b)) => self.candidates.get(&b).map(|c| {
                let polka = self
                    .prevotes
                    .range((v.round, Some(b), Address::default())..)
                    .take_while(|((r, h, _), _)| *r == v.round && *h == Some(b))
                    .map(|(_, vote)| vote.clone())
                    .collect();
                LockProof {
                    block: c.block.clone(),
                    polka,
                }
                .encode()
            }),
            _ => None,
        };
        let signature = match guard.sign_vote_locking(&body, locked) {
            Ok(s) => s,
            Err(e) => return Self::refused(e),
        };
        let validator = guard.address();
        debug!(height = v.height, round = v.round, kind = ?v.kind, nil = body.block.is_none(), "voted");
        let vote_msg = SignedVoteMsg {
            body,
            validator,
            signature,
        };
        self.remember_prevote(&vote_msg);
        if !self.misbehave_vote(&vote_msg, out) {
            let msg = ConsensusMsg::Vote(vote_msg);
            self.remember_own(&msg);
            out.push(ReplicaOutput::Broadcast(msg));
        }
        Ok(Some(Input::Vote(SignedVote {
            vote: v,
            signature: signature.0,
        })))
    }

    fn decide(
        &mut self,
        now_ms: u64,
        height: Height,
        round: u32,
        block: Hash,
        votes: Vec<SignedVote>,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let candidate = self
            .candidates
            .remove(&block)
            .ok_or(ReplicaError::MissingDecision { height, block })?;
        if round > 0 {
            self.shared.metrics.rounds_extra.inc_by(u64::from(round));
        }
        let signatures = votes
            .iter()
            .filter_map(|sv| {
                let v = self.core.validators().get(sv.vote.validator)?;
                Some(CommitSig {
                    validator: Address(v.key),
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
        debug!(height, round, "deciding");
        self.settle()?;
        debug!(height, round, "deciding: the previous commit is done");
        let had_txs = !candidate.txs.is_empty();
        let staged = blocks::stage(&self.shared, candidate, certificate, now_ms)?;
        let head = staged.head();
        match self.committer.as_mut() {
            Some(committer) => committer.submit(staged).map_err(|e| match e {
                CommitterError::Store(e) => ReplicaError::Store(e),
                CommitterError::Stopped => ReplicaError::ThreadPanicked,
            })?,
            None => {
                blocks::finish(&self.shared, &*self.finality, staged)?;
            }
        }
        debug!(height = head.height, round, "block decided");
        self.committed(now_ms, out)?;
        self.proof_block_due = had_txs;
        Ok(())
    }

    /// After any commit (consensus or sync): announce, and have consensus move on to
    /// the next height when the shell asks ([`Self::start_next_height`]).
    fn committed(&mut self, now_ms: u64, out: &mut Vec<ReplicaOutput>) -> Result<(), ReplicaError> {
        self.last_commit_ms = now_ms;
        self.proof_block_due = false;
        self.sync.behind_since_ms = None;
        self.announce(now_ms, out);
        self.next_height_due = true;
        Ok(())
    }

    /// Gossips our head if it changed since we last did, or if the last announcement
    /// is older than [`STATUS_REPEAT_MS`] (an unchanged head needs no news every tick).
    fn announce(&mut self, now_ms: u64, out: &mut Vec<ReplicaOutput>) {
        let head = self.shared.tip();
        let status = self.misbehave_status(StatusMsg {
            height: head.height,
            block_hash: head.block_hash,
        });
        let stale = now_ms >= self.last_status_ms.saturating_add(STATUS_REPEAT_MS);
        if self.last_status != Some(status) || stale {
            self.last_status = Some(status);
            self.last_status_ms = now_ms;
            out.push(ReplicaOutput::Broadcast(ConsensusMsg::Status(status)));
        }
    }

    /// Logs each equivocation the core found since the last call and, on a validator,
    /// reports it on chain ([`crate::evidence`]): every honest validator that saw it
    /// sends a report; the first one included is recorded, the others are skipped
    /// once it is on chain (or fail with `evidence_already_reported`).
    fn report_equivocations(&mut self, now_ms: u64) {
        let all = self.core.equivocations();
        let fresh: Vec<consensus::Equivocation> =
            all[self.equivocations_seen.min(all.len())..].to_vec();
        self.equivocations_seen = all.len();
        for e in fresh {
            let report =
                crate::evidence::report_of(&e, self.core.validators(), self.shared.chain_id);
            let who = report.as_ref().ok().map(|r| r.validator.to_string());
            warn!(validator = ?who, height = e.height(), round = e.round(), evidence = ?e, "equivocation");
            self.shared.metrics.equivocations.inc();
            let (Ok(report), Some(guard)) = (report, self.guard.as_ref()) else {
                continue;
            };
            if !self.reported.insert(e.validator()) {
                continue; // one report per validator and height is all the chain keeps
            }
            let sent = crate::evidence::submit(
                &self.shared,
                guard.address(),
                |body| guard.sign_tx(body),
                report,
                now_ms,
            );
            match sent {
                Ok(tx) => info!(%tx, validator = ?who, "reported the equivocation on chain"),
                Err(crate::evidence::ReportError::AlreadyOnChain) => {}
                Err(e) => warn!(error = %e, validator = ?who, "could not report the equivocation"),
            }
        }
    }

    // ---- signing status ----

    /// What a refused signature means: a failed write stops the replica (nothing was
    /// signed; continuing could not persist the next record either); the gate being
    /// closed is expected and logged by [`Self::report_signing`]; a conflict is a
    /// warning (the core asked for something the record forbids).
    fn refused<T>(e: SignError) -> Result<Option<T>, ReplicaError> {
        match e {
            SignError::Store(e) => Err(e.into()),
            SignError::NotSigning { height, status } => {
                debug!(height, ?status, "not signing");
                Ok(None)
            }
            e @ SignError::Conflict { .. } => {
                warn!(error = %e, "signer guard refused to sign");
                Ok(None)
            }
        }
    }

    /// Whether the guard would sign anything at `height` now.
    fn may_sign(&self, height: Height) -> bool {
        self.guard.as_ref().is_some_and(|g| g.gate().allows(height))
    }

    /// Moves the signing gate on with the head and the clock, and starts consensus if
    /// it was waiting for the doppelganger window to close.
    fn refresh_signing(
        &mut self,
        now_ms: u64,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        self.update_gate(now_ms);
        if self.deferred_start && self.signing() == SigningStatus::Active {
            self.start_height(now_ms, out)?;
        }
        Ok(())
    }

    /// The head that more than the faulty share of our peers announced: the
    /// (f+1)-th highest announcement, with f the most faulty validators the set
    /// tolerates, so at least one honest peer is there. One Byzantine peer announcing
    /// a head far ahead must not keep the gate shut (the simulator found that a
    /// `lie-sync` validator held every freshly started one in its doppelganger check).
    fn peers_head(&self) -> Height {
        let faulty_max = self.core.validators().len().saturating_sub(1) / 3;
        let mut heads: Vec<Height> = self.sync.peer_heights.values().copied().collect();
        heads.sort_unstable_by(|a, b| b.cmp(a));
        heads.get(faulty_max).copied().unwrap_or(0)
    }

    /// Moves the signing gate on with the head and the clock.
    fn update_gate(&mut self, now_ms: u64) {
        let head = self.shared.tip().height;
        let peers_head = self.peers_head();
        let Some(guard) = self.guard.as_mut() else {
            return;
        };
        let changed = guard.gate_mut().update(head, peers_head, now_ms);
        let status = guard.gate().status();
        if let Some(status) = changed {
            self.report_signing(now_ms, status);
        } else if status != self.shared.signing() {
            self.shared.set_signing(status); // e.g. the head while waiting for the chain
        }
    }

    /// Publishes a new signing status and says in the log what it means.
    fn report_signing(&mut self, now_ms: u64, status: SigningStatus) {
        self.shared.set_signing(status);
        self.last_not_signing_log_ms = now_ms;
        Self::log_signing(status, true);
    }

    fn log_signing(status: SigningStatus, changed: bool) {
        match status {
            SigningStatus::Active if changed => info!("signing"),
            SigningStatus::Active | SigningStatus::NotValidator => {}
            SigningStatus::WaitingForChain {
                record_height,
                head,
            } => warn!(
                record_height,
                head,
                "not signing: this validator's signer record is at height {record_height} but \
                 the chain's head is {head}, so the chain lost blocks it signed at (db/ deleted \
                 or an old backup restored). Signing at those heights again could contradict \
                 what it signed before. It signs again once the chain (from peers, or a \
                 restored db/) passes height {record_height}; to start over on purpose, see \
                 --discard-signer-state in docs/consensus.md §6"
            ),
            SigningStatus::DoppelgangerCheck { until_ms } => info!(
                until_ms,
                window_ms = crate::signer::DOPPELGANGER_WINDOW_MS,
                "no signer record: listening for another process signing with this key before \
                 signing"
            ),
            SigningStatus::Refused {
                height,
                round,
                step,
            } => error!(
                height,
                round,
                step,
                "another process is signing with this validator's key: a message at height \
                 {height} round {round} step {step} carries its signature but was not signed \
                 here. This node signs nothing more until restarted; stop the other copy first \
                 (docs/consensus.md §6)"
            ),
        }
    }

    /// Repeats, every [`NOT_SIGNING_LOG_MS`], why this validator is not signing.
    fn remind_not_signing(&mut self, now_ms: u64) {
        let status = self.signing();
        let blocked = matches!(
            status,
            SigningStatus::WaitingForChain { .. } | SigningStatus::Refused { .. }
        );
        if blocked
            && now_ms
                >= self
                    .last_not_signing_log_ms
                    .saturating_add(NOT_SIGNING_LOG_MS)
        {
            self.last_not_signing_log_ms = now_ms;
            Self::log_signing(status, false);
        }
    }

    /// Shows the gate any message signed by our own key, at any height (a doppelganger
    /// may be ahead of a node that is catching up). The signature is verified only for
    /// a message the gate suspects: our own, relayed back, costs nothing.
    fn watch_own_key(&mut self, now_ms: u64, msg: &ConsensusMsg) {
        if !self.doppelganger_protection {
            return;
        }
        let Some(guard) = self.guard.as_ref() else {
            return;
        };
        let me = guard.address();
        let (slot, block, bytes, signature) = match msg {
            ConsensusMsg::Vote(v) if v.validator == me => {
                let slot = (v.body.height, v.body.round, vote_step(v.body.kind));
                (slot, v.body.block, v.body.signing_bytes(), &v.signature)
            }
            ConsensusMsg::Proposal(_) | ConsensusMsg::CompactProposal(_) => {
                let (b, signature) = match msg {
                    ConsensusMsg::Proposal(p) => (&p.body, &p.signature),
                    ConsensusMsg::CompactProposal(p) => (&p.body, &p.signature),
                    _ => return,
                };
                let set = self.core.validators();
                if set
                    .get(set.proposer(b.height, b.round))
                    .map(|v| Address(v.key))
                    != Some(me)
                {
                    return;
                }
                let slot = (b.height, b.round, PROPOSAL_STEP);
                (slot, Some(b.block), b.signing_bytes(), signature)
            }
            _ => return,
        };
        let chain_id = match msg {
            ConsensusMsg::Vote(v) => v.body.chain_id,
            ConsensusMsg::Proposal(p) => p.body.chain_id,
            ConsensusMsg::CompactProposal(p) => p.body.chain_id,
            ConsensusMsg::Status(_) | ConsensusMsg::ProposalWanted(_) => return,
        };
        if !guard.gate().suspects(slot, block)
            || chain_id != self.shared.chain_id
            || crypto::verify(&me, &bytes, signature).is_err()
        {
            return;
        }
        let Some(guard) = self.guard.as_mut() else {
            return;
        };
        if let Observed::Doppelganger(_) = guard.gate_mut().observe(slot, block) {
            let status = guard.gate().status();
            self.report_signing(now_ms, status);
        }
    }

    // ---- gossip ----

    fn on_gossip(
        &mut self,
        now_ms: u64,
        from: PeerKey,
        msg: ConsensusMsg,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        self.watch_own_key(now_ms, &msg);
        let height = match &msg {
            ConsensusMsg::Status(s) => {
                self.note_peer_height(now_ms, &from, s.height);
                return Ok(());
            }
            ConsensusMsg::Proposal(p) => p.body.height,
            ConsensusMsg::CompactProposal(p) => p.body.height,
            ConsensusMsg::ProposalWanted(w) => w.height,
            ConsensusMsg::Vote(v) => v.body.height,
        };
        let current = self.core.height();
        if height < current {
            return Ok(());
        }
        if height > current {
            self.buffer_future(now_ms, from, height, msg);
            return Ok(());
        }
        match msg {
            ConsensusMsg::Proposal(p) => self.on_proposal(now_ms, from, *p, out),
            ConsensusMsg::CompactProposal(p) => self.on_compact_proposal(now_ms, from, *p, out),
            ConsensusMsg::ProposalWanted(w) => {
                self.on_proposal_wanted(w, out);
                Ok(())
            }
            ConsensusMsg::Vote(v) => self.on_vote(now_ms, Some(from), v, out),
            ConsensusMsg::Status(_) => Ok(()),
        }
    }

    fn buffer_future(&mut self, now_ms: u64, from: PeerKey, height: Height, msg: ConsensusMsg) {
        // Messages for a later height mean the sender's head is at least height - 1.
        self.note_peer_height(now_ms, &from, height - 1);
        if height > self.core.height() + FUTURE_HEIGHTS_MAX {
            return;
        }
        let slot = self.future.entry(height).or_default();
        if slot.len() < FUTURE_MSGS_PER_HEIGHT_MAX {
            slot.push((from, msg));
        }
    }

    /// Penalizes the peer a message came from; `None` is this node itself (a replayed
    /// message of its own), which is never penalized.
    fn penalize(out: &mut Vec<ReplicaOutput>, peer: impl Into<Option<PeerKey>>, reason: Offence) {
        let Some(peer) = peer.into() else {
            debug!(%reason, "own message no longer checks");
            return;
        };
        debug!(%peer, %reason, "penalizing peer");
        out.push(ReplicaOutput::Penalize { peer, reason });
    }

    /// The round's proposer (index and key) if `body` is for our chain and signed by
    /// it; otherwise the sender is penalized and `None` returned.
    fn proposal_signer(
        &self,
        from: PeerKey,
        body: &ProposalBody,
        signature: &Signature,
        out: &mut Vec<ReplicaOutput>,
    ) -> Option<(ValidatorIndex, Address)> {
        let set = self.core.validators();
        let proposer = set.proposer(body.height, body.round);
        let key = set.get(proposer).map(|v| Address(v.key))?;
        if body.chain_id != self.shared.chain_id
            || crypto::verify(&key, &body.signing_bytes(), signature).is_err()
        {
            Self::penalize(
                out,
                from,
                Offence::ProposalNotSigned {
                    height: body.height,
                    round: body.round,
                },
            );
            return None;
        }
        Some((proposer, key))
    }

    /// Notes a signed message of `validator` at `height` ([`Self::heard`]).
    fn hear(&mut self, validator: Address, height: Height) {
        let last = self.heard.entry(validator).or_insert(height);
        *last = (*last).max(height);
    }

    /// Whether the proposer of (`height`, `round`) is quiet: no proposal or vote of
    /// it checked here at this height or the last one.
    fn proposer_quiet(&self, height: Height, round: u32) -> bool {
        let set = self.core.validators();
        set.get(set.proposer(height, round))
            .map(|v| Address(v.key))
            .is_none_or(|key| {
                Some(key) != self.own_key
                    && self
                        .heard
                        .get(&key)
                        .is_none_or(|&h| h.saturating_add(1) < height)
            })
    }

    fn on_proposal(
        &mut self,
        now_ms: u64,
        from: PeerKey,
        p: SignedProposal,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let Some((proposer, key)) = self.proposal_signer(from, &p.body, &p.signature, out) else {
            return Ok(());
        };
        self.hear(key, p.body.height);
        let body = p.body;
        let id = p.block.header.hash();
        if id != body.block {
            Self::penalize(
                out,
                from,
                Offence::ProposalBlockMismatch {
                    named: body.block,
                    carried: id,
                },
            );
            return Ok(());
        }
        // A proposal (or the whole block a compact one asked for) that arrives after its
        // height was decided here, by consensus or by block sync, is stale, not invalid:
        // it is neither executed nor counted against its proposer.
        if body.height != self.shared.tip().height + 1 {
            debug!(height = body.height, block = %id, "proposal for a height not in progress");
            return Ok(());
        }
        // A block that failed its check is not executed again when re-sent or relayed.
        let txs = p.block.txs.len();
        let valid = !self.invalid_blocks.contains(&id)
            && (self.candidates.contains_key(&id) || self.check_block(now_ms, p.block, key)?);
        debug!(
            height = body.height,
            round = body.round,
            txs,
            valid,
            "proposal checked"
        );
        let proposal = Proposal {
            height: body.height,
            round: body.round,
            block: id.0,
            valid_round: body.valid_round,
            proposer,
        };
        let signature = p.signature.0;
        let input = Input::Proposal {
            proposal,
            signature,
            valid,
        };
        self.feed(now_ms, input, out)
    }

    /// A proposal naming its transactions by hash: the block is put together from the
    /// mempool (which verified them on admission) and then handled as a full proposal.
    /// If any is missing, the proposer is asked for the whole proposal and this one is
    /// dropped; the whole one follows over gossip (or the round times out).
    fn on_compact_proposal(
        &mut self,
        now_ms: u64,
        from: PeerKey,
        p: CompactProposal,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let Some((_, key)) = self.proposal_signer(from, &p.body, &p.signature, out) else {
            return Ok(());
        };
        self.hear(key, p.body.height);
        let id = p.header.hash();
        let too_many = p.txs.len() > self.shared.params.block_txs_max as usize;
        if id != p.body.block || too_many || merkle::root(&p.txs) != p.header.tx_root {
            Self::penalize(
                out,
                from,
                Offence::ProposalBlockMismatch {
                    named: p.body.block,
                    carried: id,
                },
            );
            return Ok(());
        }
        match self.assemble(&p) {
            Some(txs) => self.on_assembled(now_ms, from, p, txs, out),
            None => {
                self.shared.metrics.compact_proposals_incomplete.inc();
                debug!(
                    height = p.body.height,
                    round = p.body.round,
                    "compact proposal names transactions this node lacks: asking for the whole proposal"
                );
                out.push(ReplicaOutput::Broadcast(ConsensusMsg::ProposalWanted(
                    ProposalWanted {
                        height: p.body.height,
                        round: p.body.round,
                        block: id,
                    },
                )));
                self.hold_compact(now_ms, from, p);
                Ok(())
            }
        }
    }

    /// Holds a compact proposal whose transactions are not all here yet (once per
    /// block and round; the oldest goes when [`COMPACT_HELD_MAX`] are held).
    fn hold_compact(&mut self, now_ms: u64, from: PeerKey, p: CompactProposal) {
        let held = self
            .compact_held
            .iter()
            .any(|(_, _, q)| q.body.block == p.body.block && q.body.round == p.body.round);
        if held {
            return;
        }
        if self.compact_held.len() >= COMPACT_HELD_MAX {
            self.compact_held.pop_front();
        }
        self.compact_held.push_back((now_ms, from, p));
    }

    /// Puts together each held compact proposal whose transactions have all arrived;
    /// drops those of another height, already whole, or held [`COMPACT_WAIT_MS`].
    fn complete_held(
        &mut self,
        now_ms: u64,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        if self.compact_held.is_empty() {
            return Ok(());
        }
        let height = self.shared.tip().height + 1;
        for (at_ms, from, p) in std::mem::take(&mut self.compact_held) {
            let stale = p.body.height != height
                || now_ms > at_ms.saturating_add(COMPACT_WAIT_MS)
                || self.candidates.contains_key(&p.body.block);
            if stale {
                continue;
            }
            match self.assemble(&p) {
                Some(txs) => {
                    debug!(
                        height,
                        round = p.body.round,
                        "held compact proposal now whole"
                    );
                    self.shared.metrics.compact_proposals_completed_held.inc();
                    self.on_assembled(now_ms, from, p, txs, out)?;
                }
                None => self.compact_held.push_back((at_ms, from, p)),
            }
        }
        Ok(())
    }

    /// The transactions a compact proposal names, from the mempool; empty if the block
    /// is already a candidate (ours, or put together before: the full path finds it);
    /// `None` if any is missing.
    fn assemble(&self, p: &CompactProposal) -> Option<Vec<SignedTx>> {
        if self.candidates.contains_key(&p.body.block) {
            return Some(Vec::new());
        }
        let pool = self.shared.mempool();
        p.txs
            .iter()
            .map(|h| pool.get(h).map(|v| v.tx().clone()))
            .collect()
    }

    fn on_assembled(
        &mut self,
        now_ms: u64,
        from: PeerKey,
        p: CompactProposal,
        txs: Vec<SignedTx>,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let full = SignedProposal {
            body: p.body,
            block: jeon_runtime::Block {
                header: p.header,
                txs,
            },
            signature: p.signature,
        };
        self.on_proposal(now_ms, from, full, out)
    }

    /// A peer lacks some transactions of our proposal: gossip it whole, once per round.
    fn on_proposal_wanted(&mut self, want: ProposalWanted, out: &mut Vec<ReplicaOutput>) {
        let Some(full) = self.own_proposals.iter_mut().find(|(p, _)| {
            p.body.height == want.height && p.body.round == want.round && p.body.block == want.block
        }) else {
            return;
        };
        if full.1 {
            return;
        }
        full.1 = true;
        out.push(ReplicaOutput::Broadcast(ConsensusMsg::Proposal(Box::new(
            full.0.clone(),
        ))));
    }

    /// Executes a proposed block; keeps it if valid. Our own storage failing while it
    /// executes stops the replica ([`storage_failed`]): the block is not to blame.
    fn check_block(
        &mut self,
        now_ms: u64,
        block: jeon_runtime::Block,
        proposer: Address,
    ) -> Result<bool, ReplicaError> {
        let height = block.header.height;
        let block_hash = block.header.hash();
        match blocks::check(
            &self.shared,
            block,
            now_ms.saturating_add(BLOCK_TIME_DRIFT_MAX_MS),
        ) {
            Ok(candidate) => {
                self.candidates.insert(candidate.hash(), candidate);
                Ok(true)
            }
            Err(blocks::BlockError::Store(e)) if storage_failed(&e) => Err(e.into()),
            Err(e) => {
                warn!(height, %proposer, block = %block_hash, error = %e, "invalid block proposed");
                self.shared.metrics.invalid_blocks.inc();
                if self.invalid_blocks.len() < INVALID_BLOCKS_KEPT_MAX {
                    self.invalid_blocks.insert(block_hash);
                }
                Ok(false)
            }
        }
    }

    fn on_vote(
        &mut self,
        now_ms: u64,
        from: Option<PeerKey>,
        v: SignedVoteMsg,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        let Some(index) = self.core.validators().index_of(&v.validator.0) else {
            Self::penalize(
                out,
                from,
                Offence::VoteFromNonValidator {
                    validator: v.validator,
                },
            );
            return Ok(());
        };
        if v.body.chain_id != self.shared.chain_id
            || crypto::verify(&v.validator, &v.body.signing_bytes(), &v.signature).is_err()
        {
            Self::penalize(
                out,
                from,
                Offence::VoteDoesNotVerify {
                    validator: v.validator,
                },
            );
            return Ok(());
        }
        let vote = Vote {
            height: v.body.height,
            round: v.body.round,
            kind: core_kind(v.body.kind),
            block: v.body.block.map(|h| h.0),
            validator: index,
        };
        let signature = v.signature.0;
        self.hear(v.validator, v.body.height);
        self.remember_prevote(&v);
        self.feed(now_ms, Input::Vote(SignedVote { vote, signature }), out)
    }

    /// Keeps a verified prevote of this height: prevotes are what another node needs to
    /// accept a re-proposal (L28's "2f+1 prevotes in the valid round"), and their author
    /// may have crashed since, losing the only copy it would re-send.
    fn remember_prevote(&mut self, v: &SignedVoteMsg) {
        if v.body.kind != WireKind::Prevote || v.body.block.is_none() {
            return;
        }
        if self.prevotes.len() < PREVOTES_KEPT_MAX {
            let key = (v.body.round, v.body.block, v.validator);
            self.prevotes.entry(key).or_insert_with(|| v.clone());
        }
    }

    /// The prevotes we hold for `block` in `round`: the proof of its polka.
    fn polka(&self, round: u32, block: Hash) -> impl Iterator<Item = ConsensusMsg> + '_ {
        self.prevotes
            .range((round, Some(block), Address::default())..)
            .take_while(move |((r, b, _), _)| *r == round && *b == Some(block))
            .map(|(_, v)| ConsensusMsg::Vote(v.clone()))
    }

    // ---- block sync ----

    fn note_peer_height(&mut self, now_ms: u64, peer: &PeerKey, height: Height) {
        let known = self.sync.peer_heights.entry(*peer).or_insert(0);
        *known = (*known).max(height);
        let best = self.sync.peer_heights.values().max().copied().unwrap_or(0);
        self.shared
            .metrics
            .peer_height_max
            .set(i64::try_from(best).unwrap_or(i64::MAX));
        if height > self.shared.tip().height && self.sync.behind_since_ms.is_none() {
            self.sync.behind_since_ms = Some(now_ms);
        }
    }

    fn maybe_sync(&mut self, now_ms: u64, out: &mut Vec<ReplicaOutput>) {
        if let Some((peer, deadline)) = &self.sync.in_flight {
            if now_ms < *deadline {
                return;
            }
            let peer = *peer;
            self.sync.peer_heights.remove(&peer);
            self.sync.in_flight = None;
            self.distrust_sync_peer(now_ms, peer, "request timed out");
        }
        let head = self.shared.tip().height;
        // The peer furthest ahead, passing over those whose answers just failed.
        let Some((peer, best)) = self.sync.target(now_ms) else {
            return;
        };
        if best <= head {
            self.sync.behind_since_ms = None;
            return;
        }
        let lagging = self
            .sync
            .behind_since_ms
            .is_some_and(|since| now_ms >= since + SYNC_LAG_MS);
        if best < head + 2 && !lagging {
            return; // one block behind: consensus will likely deliver it
        }
        let count = (best - head).min(u64::from(SYNC_BLOCKS_MAX)) as u32;
        let request = SyncRequest {
            from: head + 1,
            count,
        };
        self.sync.in_flight = Some((peer, now_ms + SYNC_TIMEOUT_MS));
        out.push(ReplicaOutput::RequestSync { peer, request });
    }

    /// `peer`'s sync answer failed: its announced head is passed over for a backoff.
    fn distrust_sync_peer(&mut self, now_ms: u64, peer: PeerKey, why: &str) {
        let backoff_ms = self.sync.distrust(now_ms, peer);
        debug!(%peer, why, backoff_ms, "block sync passes over this peer for a while");
    }

    fn on_synced(
        &mut self,
        now_ms: u64,
        from: PeerKey,
        response: SyncResponse,
        out: &mut Vec<ReplicaOutput>,
    ) -> Result<(), ReplicaError> {
        if self
            .sync
            .in_flight
            .as_ref()
            .is_some_and(|(p, _)| *p == from)
        {
            self.sync.in_flight = None;
        }
        // Synced blocks are committed inline, on top of the head.
        self.settle()?;
        let mut applied = 0usize;
        for committed in response.blocks {
            let head = self.shared.tip().height;
            if committed.block.header.height <= head {
                continue; // we got it meanwhile
            }
            if committed.block.header.height != head + 1 {
                Self::penalize(out, from, Offence::SyncSkipsHeights);
                self.distrust_sync_peer(now_ms, from, "answer skips heights");
                break;
            }
            match blocks::check_synced(&self.shared, committed) {
                Ok((candidate, certificate)) => {
                    blocks::commit(
                        &self.shared,
                        &*self.finality,
                        candidate,
                        certificate,
                        now_ms,
                    )?;
                    applied += 1;
                }
                Err(blocks::BlockError::Store(e)) if storage_failed(&e) => return Err(e.into()),
                Err(e) => {
                    warn!(peer = %from, error = %e, "peer served an invalid block");
                    self.sync.peer_heights.remove(&from);
                    self.distrust_sync_peer(now_ms, from, "served an invalid block");
                    let height = head + 1;
                    Self::penalize(out, from, Offence::InvalidSyncedBlock { height });
                    return if applied > 0 {
                        self.committed(now_ms, out)
                    } else {
                        Ok(())
                    };
                }
            }
        }
        let head = self.shared.tip().height;
        if applied == 0
            && self.sync.peer_heights.get(&from).is_some_and(|&h| h > head)
            && response.head <= head
        {
            // It announced a head it cannot serve: do not ask it again until it announces anew.
            self.sync.peer_heights.remove(&from);
            Self::penalize(out, from, Offence::HeadNotServed { head });
            self.distrust_sync_peer(now_ms, from, "announced a head it does not serve");
        }
        self.sync.peer_heights.insert(from, response.head);
        if applied > 0 {
            self.sync.trust(&from);
            info!(height = head, blocks = applied, "caught up by block sync");
            self.committed(now_ms, out)?;
        }
        self.maybe_sync(now_ms, out);
        Ok(())
    }
}

/// Whether a block's check failed because our own storage did (a failed read, damage
/// its checksums caught), not because of the block. Then the replica stops, naming the
/// error: taking it for an invalid block would refuse a valid one, penalize the honest
/// peer that sent it, and go on over a store that fails. Errors the runtime raises
/// while executing (an invariant, a sweep) stay the block's: a proposer can provoke
/// those.
fn storage_failed(e: &StoreError) -> bool {
    match e {
        StoreError::State(s) => matches!(s, jeon_runtime::state::StateError::Backend(_)),
        _ => true,
    }
}
