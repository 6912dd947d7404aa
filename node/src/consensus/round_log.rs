//! The message log of one round: its proposals and signed votes, tallied by voting power.

use std::collections::{BTreeMap, BTreeSet};

use super::types::{BlockId, Proposal, SignedVote, ValidatorIndex, VoteKind};

/// Distinct proposals kept per round. A correct proposer sends one; a faulty one may send
/// many different ones, and keeping a few lets us still match the block that the others
/// end up prevoting or precommitting without letting it fill our memory.
pub(super) const PROPOSALS_PER_ROUND_MAX: usize = 4;

/// A proposal with the shell's verdict on its block.
#[derive(Clone, Copy, Debug)]
pub(super) struct ProposalEntry {
    pub(super) proposal: Proposal,
    /// `valid(v)` in the paper.
    pub(super) valid: bool,
}

/// What adding a vote did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AddVote {
    /// A new vote, now counted.
    Added,
    /// A repeat of a vote we hold, or a further conflicting vote from a validator already
    /// reported as equivocating: nothing changed.
    Ignored,
    /// The first conflicting vote from this validator in this round and kind: not
    /// counted (the first vote stands), but worth reporting once.
    Equivocation {
        /// The vote we hold and count.
        first: SignedVote,
    },
}

/// The votes of one kind in one round: at most one per validator, the first received.
#[derive(Clone, Debug, Default)]
pub(super) struct VoteTally {
    votes: BTreeMap<ValidatorIndex, SignedVote>,
    power_by_block: BTreeMap<Option<BlockId>, u64>,
    power_total: u64,
    equivocators: BTreeSet<ValidatorIndex>,
}

impl VoteTally {
    /// Counts `vote` with `power` unless its validator already voted in this tally.
    fn add(&mut self, vote: SignedVote, power: u64) -> AddVote {
        let validator = vote.vote.validator;
        if let Some(first) = self.votes.get(&validator) {
            // Same content (whatever the signature bytes) is a harmless re-delivery.
            if first.vote == vote.vote || !self.equivocators.insert(validator) {
                return AddVote::Ignored;
            }
            return AddVote::Equivocation { first: *first };
        }
        self.votes.insert(validator, vote);
        let for_block = self.power_by_block.entry(vote.vote.block).or_insert(0);
        *for_block = for_block.saturating_add(power);
        self.power_total = self.power_total.saturating_add(power);
        AddVote::Added
    }

    /// Power of all votes counted, whatever they are for ("2f+1 <PREVOTE, *>").
    pub(super) fn power_total(&self) -> u64 {
        self.power_total
    }

    /// Power of the votes for `block` (`None` = nil).
    pub(super) fn power_for(&self, block: Option<BlockId>) -> u64 {
        self.power_by_block.get(&block).copied().unwrap_or(0)
    }

    /// The value with at least `quorum` power, if any. With one vote per validator and a
    /// quorum above half the total, at most one value can have it.
    pub(super) fn quorum_value(&self, quorum: u64) -> Option<Option<BlockId>> {
        self.power_by_block
            .iter()
            .find(|(_, power)| **power >= quorum)
            .map(|(block, _)| *block)
    }

    /// The signed votes for `block`, by validator index.
    pub(super) fn votes_for(&self, block: Option<BlockId>) -> Vec<SignedVote> {
        self.votes
            .values()
            .filter(|signed| signed.vote.block == block)
            .copied()
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
    /// Stores a proposal (already checked to come from this round's proposer). Returns
    /// false if nothing changed: same block already held, or the round is full.
    pub(super) fn add_proposal(&mut self, entry: ProposalEntry, power: u64) -> bool {
        let block = entry.proposal.block;
        if self
            .proposals
            .iter()
            .any(|held| held.proposal.block == block)
        {
            return false;
        }
        if self.proposals.len() >= PROPOSALS_PER_ROUND_MAX {
            return false;
        }
        self.proposals.push(entry);
        self.note_sender(entry.proposal.proposer, power);
        true
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
