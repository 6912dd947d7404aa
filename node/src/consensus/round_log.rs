//! The message log of one round: its proposals and signed votes, tallied by voting power.

use std::collections::{BTreeMap, BTreeSet};

use super::types::{BlockId, Proposal, SignedVote, ValidatorIndex, VoteKind};

/// Distinct proposals kept per round. A correct proposer sends one; a faulty one may send
/// many different ones, and keeping a few lets us still match the block that the others
/// end up prevoting or precommitting without letting it fill our memory.
pub(super) const PROPOSALS_PER_ROUND_MAX: usize = 4;

/// A proposal with the shell's verdict on its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ProposalEntry {
    pub(super) proposal: Proposal,
    /// `valid(v)` in the paper.
    pub(super) valid: bool,
    /// The proposer's signature, as the shell checked it.
    pub(super) signature: [u8; 64],
}

/// What adding a proposal did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AddProposal {
    /// The round's first proposal, now held.
    Added,
    /// A repeat of a held block, or a distinct proposal past the round's bound:
    /// nothing changed.
    Ignored,
    /// A proposal for another block than the first one held: the proposer
    /// equivocated. Held too (within the bound), so the block a quorum votes for can
    /// still be matched.
    Equivocation {
        /// The round's first proposal.
        first: ProposalEntry,
        /// Whether it was held (false past [`PROPOSALS_PER_ROUND_MAX`]).
        held: bool,
    },
}

/// Distinct values one validator's votes are counted for, per round and kind. A
/// correct validator votes once; an equivocating one may vote for several values, and
/// each honest node may hear a different one first (see [`VoteTally`]).
pub(super) const VALUES_PER_VALIDATOR_MAX: usize = 3;

/// What adding a vote did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AddVote {
    /// A new vote, now counted.
    Added,
    /// A repeat of a vote we hold, or one value too many from an equivocating
    /// validator: nothing changed.
    Ignored,
    /// A vote for another value than this validator's first vote in this round and
    /// kind: counted for that value (see [`VoteTally`]), and worth reporting.
    Equivocation {
        /// The first vote we hold from this validator.
        first: SignedVote,
    },
}

/// The votes of one kind in one round.
///
/// Each validator counts at most once per value, and once in the total ("2f+1 of any
/// kind"). An equivocating validator's votes for different values are each counted for
/// their value, as the paper's "2f+1 <PREVOTE, h, r, id(v)>" reads: messages from
/// distinct processes for v. Counting only the first vote heard would let honest
/// nodes that heard a twin's two votes in different orders see different polkas, and
/// stall forever (the simulator found this). Safety holds: two values each reaching
/// 2f+1 would need more than f validators voting for both.
#[derive(Clone, Debug, Default)]
pub(super) struct VoteTally {
    votes: BTreeMap<(ValidatorIndex, Option<BlockId>), SignedVote>,
    first: BTreeMap<ValidatorIndex, SignedVote>,
    power_by_block: BTreeMap<Option<BlockId>, u64>,
    power_total: u64,
}

impl VoteTally {
    /// Counts `vote` with `power` for its value, unless this validator already has a
    /// vote for that value here.
    fn add(&mut self, vote: SignedVote, power: u64) -> AddVote {
        let validator = vote.vote.validator;
        let key = (validator, vote.vote.block);
        if self.votes.contains_key(&key) {
            return AddVote::Ignored; // a re-delivery, whatever the signature bytes
        }
        let values = self
            .votes
            .range((validator, None)..)
            .take_while(|(k, _)| k.0 == validator)
            .count();
        if values >= VALUES_PER_VALIDATOR_MAX {
            return AddVote::Ignored;
        }
        self.votes.insert(key, vote);
        let for_block = self.power_by_block.entry(vote.vote.block).or_insert(0);
        *for_block = for_block.saturating_add(power);
        match self.first.get(&validator) {
            Some(first) => AddVote::Equivocation { first: *first },
            None => {
                self.first.insert(validator, vote);
                self.power_total = self.power_total.saturating_add(power);
                AddVote::Added
            }
        }
    }

    /// Power of the distinct validators that voted, whatever for ("2f+1 <PREVOTE, *>").
    pub(super) fn power_total(&self) -> u64 {
        self.power_total
    }

    /// Power of the votes for `block` (`None` = nil).
    pub(super) fn power_for(&self, block: Option<BlockId>) -> u64 {
        self.power_by_block.get(&block).copied().unwrap_or(0)
    }

    /// The value with at least `quorum` power, if any. With at most f faulty power and a
    /// quorum above two thirds, at most one value can have it.
    pub(super) fn quorum_value(&self, quorum: u64) -> Option<Option<BlockId>> {
        self.power_by_block
            .iter()
            .find(|(_, power)| **power >= quorum)
            .map(|(block, _)| *block)
    }

    /// Each validator's first vote, by validator index (one per validator, even from
    /// one that equivocated).
    pub(super) fn firsts(&self) -> impl Iterator<Item = &SignedVote> {
        self.first.values()
    }

    /// The signed votes for `block`, by validator index.
    pub(super) fn votes_for(&self, block: Option<BlockId>) -> Vec<SignedVote> {
        self.votes
            .iter()
            .filter(|((_, value), _)| *value == block)
            .map(|(_, signed)| *signed)
            .collect()
    }
}

/// Everything received for one round of the current height.
#[derive(Clone, Debug, Default)]
pub(super) struct RoundLog {
    proposals: Vec<ProposalEntry>,
    prevotes: VoteTally,
    precommits: VoteTally,
    /// Validators that sent any message in this round, for L55's "f+1 messages".
    senders: BTreeSet<ValidatorIndex>,
    sender_power: u64,
}

impl RoundLog {
    /// Stores a proposal (already checked to come from this round's proposer), unless
    /// its block is already held or the round is full.
    pub(super) fn add_proposal(&mut self, entry: ProposalEntry, power: u64) -> AddProposal {
        let block = entry.proposal.block;
        if self
            .proposals
            .iter()
            .any(|held| held.proposal.block == block)
        {
            return AddProposal::Ignored;
        }
        let first = self.proposals.first().copied();
        let held = self.proposals.len() < PROPOSALS_PER_ROUND_MAX;
        if held {
            self.proposals.push(entry);
            self.note_sender(entry.proposal.proposer, power);
        }
        match first {
            None => AddProposal::Added,
            Some(first) => AddProposal::Equivocation { first, held },
        }
    }

    /// Stores a vote (already checked to be from a member, for this height and round).
    pub(super) fn add_vote(&mut self, vote: SignedVote, power: u64) -> AddVote {
        let added = match vote.vote.kind {
            VoteKind::Prevote => self.prevotes.add(vote, power),
            VoteKind::Precommit => self.precommits.add(vote, power),
        };
        if added == AddVote::Added {
            self.note_sender(vote.vote.validator, power);
        }
        added
    }

    fn note_sender(&mut self, validator: ValidatorIndex, power: u64) {
        if self.senders.insert(validator) {
            self.sender_power = self.sender_power.saturating_add(power);
        }
    }

    /// Proposals in arrival order.
    pub(super) fn proposals(&self) -> &[ProposalEntry] {
        &self.proposals
    }

    /// The proposal of `block`, if held.
    pub(super) fn proposal_for(&self, block: BlockId) -> Option<&ProposalEntry> {
        self.proposals
            .iter()
            .find(|held| held.proposal.block == block)
    }

    /// The tally of one kind of vote.
    pub(super) fn tally(&self, kind: VoteKind) -> &VoteTally {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }

    /// Power of the distinct validators that sent anything in this round.
    pub(super) fn sender_power(&self) -> u64 {
        self.sender_power
    }
}
