//! The consensus vocabulary: votes, proposals, steps, timeouts, and the core's inputs and effects.

/// Hash of a block. The core only compares block ids; it never sees block contents.
pub type BlockId = [u8; 32];

/// Position of a block in the chain. Consensus runs one instance per height.
pub type Height = u64;

/// Attempt number within a height, starting at 0; each failed attempt moves to the next round.
pub type Round = u32;

/// Position of a validator in the [`ValidatorSet`](super::ValidatorSet).
pub type ValidatorIndex = u16;

/// The two voting phases of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VoteKind {
    /// First phase: "I saw this proposal and it is acceptable to me".
    Prevote,
    /// Second phase: "I saw more than 2/3 prevote for this block; I lock on it".
    Precommit,
}

/// A vote as the core emits and counts it (unsigned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vote {
    /// Height the vote is for.
    pub height: Height,
    /// Round the vote is for.
    pub round: Round,
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// The block voted for; `None` is a vote for nil.
    pub block: Option<BlockId>,
    /// Who votes.
    pub validator: ValidatorIndex,
}

/// A proposal of a block for one round, by that round's proposer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Proposal {
    /// Height the proposal is for.
    pub height: Height,
    /// Round the proposal is for.
    pub round: Round,
    /// The proposed block.
    pub block: BlockId,
    /// The round in which the proposer saw more than 2/3 prevote `block`
    /// (`validRound` in the paper; the paper's -1 is `None`).
    pub valid_round: Option<Round>,
    /// Who proposes; must be the set's proposer for (height, round).
    pub proposer: ValidatorIndex,
}

/// A vote with the signature the shell checked. The core never verifies signatures;
/// it keeps them so that a decision's certificate carries them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// Ed25519 signature of the vote's signing bytes (defined by the shell).
    pub signature: [u8; 64],
}

/// Two conflicting messages signed by one validator for one height and round: what a
/// correct validator never signs (its signer guard refuses it), so each is evidence
/// anyone can check against the validator's key (docs/consensus.md §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Equivocation {
    /// Two proposals by the round's proposer for different blocks.
    Proposals {
        /// The first proposal held, with its signature.
        first: (Proposal, [u8; 64]),
        /// A proposal for another block, with its signature.
        second: (Proposal, [u8; 64]),
    },
    /// Two votes of one kind by one validator for different values.
    Votes {
        /// The first vote held.
        first: SignedVote,
        /// A vote of the same kind for another value.
        second: SignedVote,
    },
}

impl Equivocation {
    /// The validator that signed both.
    pub fn validator(&self) -> ValidatorIndex {
        match self {
            Equivocation::Proposals { first, .. } => first.0.proposer,
            Equivocation::Votes { first, .. } => first.vote.validator,
        }
    }

    /// The height both are for.
    pub fn height(&self) -> Height {
        match self {
            Equivocation::Proposals { first, .. } => first.0.height,
            Equivocation::Votes { first, .. } => first.vote.height,
        }
    }

    /// The round both are for.
    pub fn round(&self) -> Round {
        match self {
            Equivocation::Proposals { first, .. } => first.0.round,
            Equivocation::Votes { first, .. } => first.vote.round,
        }
    }
}

/// The step of a round. Ordered as in the paper (`step >= prevote` is used by L36).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for prevotes.
    Prevote,
    /// Precommitted; waiting for precommits.
    Precommit,
}

/// A timeout the core asks the shell to fire later, identified by where it was scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeout {
    /// Height at which it was scheduled.
    pub height: Height,
    /// Round at which it was scheduled.
    pub round: Round,
    /// The step it ends (`Propose` = timeoutPropose, and so on).
    pub step: Step,
}

/// How long each step waits before giving up, growing with the round so that a slow
/// network eventually has enough time (the paper's partial-synchrony liveness argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeoutConfig {
    /// timeoutPropose at round 0.
    pub propose_ms: u64,
    /// timeoutPrevote at round 0.
    pub prevote_ms: u64,
    /// timeoutPrecommit at round 0.
    pub precommit_ms: u64,
    /// Added to every timeout per round.
    pub delta_ms: u64,
    /// Cap: no timeout is longer than this, however high the round.
    pub max_ms: u64,
}

impl Default for TimeoutConfig {
    /// Values for a LAN consortium: validators are a few milliseconds apart, so a second
    /// to build and deliver a block is generous, and the cap keeps a stuck height probing
    /// every ten seconds rather than backing off forever.
    fn default() -> Self {
        Self {
            propose_ms: 1000,
            prevote_ms: 500,
            precommit_ms: 500,
            delta_ms: 250,
            max_ms: 10_000,
        }
    }
}

impl TimeoutConfig {
    /// The timeout for `step` at `round`: `min(base + round * delta, max)`, saturating.
    pub fn duration_ms(&self, step: Step, round: Round) -> u64 {
        let base_ms = match step {
            Step::Propose => self.propose_ms,
            Step::Prevote => self.prevote_ms,
            Step::Precommit => self.precommit_ms,
        };
        let growth_ms = u64::from(round).saturating_mul(self.delta_ms);
        base_ms.saturating_add(growth_ms).min(self.max_ms)
    }
}

/// Everything that can happen to the core. The shell turns network messages, timers and
/// block building into these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Start (or restart) consensus at this height, round 0. Called by the shell at boot
    /// and after it committed the previous height's decision.
    StartHeight(Height),
    /// The proposal for (height, round) signed by the right proposer, with the shell's
    /// verdict on the block's validity (`valid(v)` in the paper: it decoded and executed it).
    Proposal {
        /// The signature-checked proposal.
        proposal: Proposal,
        /// The proposer's signature the shell checked, kept as evidence should the
        /// proposer sign another proposal for the same round.
        signature: [u8; 64],
        /// Whether the block is valid on top of the committed chain.
        valid: bool,
    },
    /// A vote whose signature and membership the shell has checked. Our own votes also
    /// come back through here after the shell signed them (the core does not count a vote
    /// it emitted until it comes back signed).
    Vote(SignedVote),
    /// A timeout the core scheduled has fired.
    Timeout(Timeout),
    /// Answer to [`Effect::GetValue`]: the block the shell built for us to propose.
    ProposeValue {
        /// Height of the `GetValue` being answered.
        height: Height,
        /// Round of the `GetValue` being answered.
        round: Round,
        /// The block built.
        block: BlockId,
    },
}

/// What the core asks the shell to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// We are the proposer and have no validValue: ask the shell to build a block
    /// (L17 `getValue()`); the shell answers with [`Input::ProposeValue`].
    GetValue {
        /// Height to build for.
        height: Height,
        /// Round to build for.
        round: Round,
    },
    /// Sign (through the signer guard) and broadcast this proposal; the shell feeds it
    /// back as [`Input::Proposal`].
    BroadcastProposal(Proposal),
    /// Sign (through the signer guard) and broadcast this vote; the shell feeds the
    /// signed vote back as [`Input::Vote`].
    BroadcastVote(Vote),
    /// Fire [`Input::Timeout`] with `timeout` after `duration_ms`.
    ScheduleTimeout {
        /// The timeout to feed back.
        timeout: Timeout,
        /// How long to wait.
        duration_ms: u64,
    },
    /// L49: decide. `certificate` = the precommits for `block` in `round` that formed the
    /// quorum (signed, more than 2/3 of total power, one per validator, by validator index).
    Decide {
        /// Height decided.
        height: Height,
        /// Round whose precommits decided.
        round: Round,
        /// The decided block.
        block: BlockId,
        /// The quorum of signed precommits for `block` in `round`.
        certificate: Vec<SignedVote>,
    },
}
