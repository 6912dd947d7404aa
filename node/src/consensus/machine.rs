//! The Tendermint state machine (Algorithm 1 of "The latest gossip on BFT consensus",
//! Buchman, Kwon, Milosevic 2018): inputs in, effects out, no I/O, no clock.
//!
//! Each `upon` rule of the paper is one `try_*` method citing its line. After every input
//! the core re-evaluates the rules until none fires, because one rule can enable another
//! (a new round may already hold its proposal and votes).

use std::collections::BTreeMap;

use super::round_log::{AddProposal, AddVote, ProposalEntry, RoundLog};
use super::types::{
    BlockId, Effect, Equivocation, Height, Input, Proposal, Round, SignedVote, Step, Timeout,
    TimeoutConfig, ValidatorIndex, Vote, VoteKind,
};
use super::validators::ValidatorSet;

/// Messages for rounds beyond `current round + ROUNDS_AHEAD_MAX` are dropped, so that a
/// faulty validator cannot make us store votes for billions of future rounds. Honest
/// validators are never that far ahead of an honest majority; L55 catches us up from
/// anything closer.
pub const ROUNDS_AHEAD_MAX: Round = 64;

/// Equivocations kept per height for the shell to report; later ones are dropped (a
/// validator's votes count for at most a few values per round and kind anyway).
pub const EQUIVOCATIONS_MAX: usize = 1024;

/// Rule firings per input. Each rule is guarded by a step, a round change or a
/// first-time flag, so a handful fire at most (L55, L22/L28, L36/L44, L34, L47); more
/// means a guard is broken.
const RULE_FIRINGS_MAX: usize = 16;

/// Whether the core is working on `height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// No `StartHeight` yet: every other input is ignored.
    Idle,
    /// Running consensus at the current height.
    Running,
    /// Decided the current height; waiting for the shell's next `StartHeight`.
    Decided,
}

/// The "for the first time" guards of the current round, and our pending `getValue()`.
/// Rounds only grow within a height, so resetting these at StartRound is the same as
/// keeping them per round.
#[derive(Clone, Copy, Debug, Default)]
struct RoundFlags {
    /// L34 fired: timeout_prevote scheduled.
    prevote_timeout_scheduled: bool,
    /// L36 fired: a polka for a valid proposal was acted on.
    polka_seen: bool,
    /// L47 fired: timeout_precommit scheduled.
    precommit_timeout_scheduled: bool,
    /// L17 asked the shell for a value that has not come back yet.
    awaiting_value: bool,
}

/// The consensus core of one node: a deterministic state machine over [`Input`]s.
#[derive(Clone, Debug)]
pub struct Core {
    validators: ValidatorSet,
    me: Option<ValidatorIndex>,
    config: TimeoutConfig,
    status: Status,
    height: Height,
    round: Round,
    step: Step,
    locked: Option<(Round, BlockId)>,
    valid: Option<(Round, BlockId)>,
    log: BTreeMap<Round, RoundLog>,
    flags: RoundFlags,
    equivocations: Vec<Equivocation>,
    /// Only with the `test-hooks` feature: see [`Core::disable_locking_for_test`].
    #[cfg(any(test, feature = "test-hooks"))]
    locking_disabled: bool,
}

impl Core {
    /// A core for `validators`. `me` is our index, or `None` for a full node that never
    /// proposes or votes but still follows rounds and decides. Idle until
    /// [`Input::StartHeight`].
    ///
    /// # Panics
    /// If `me` is outside the set: a configuration bug in the caller.
    pub fn new(
        validators: ValidatorSet,
        me: Option<ValidatorIndex>,
        config: TimeoutConfig,
    ) -> Self {
        if let Some(index) = me {
            assert!(
                validators.get(index).is_some(),
                "our validator index {index} is not in the set"
            );
        }
        Self {
            validators,
            me,
            config,
            status: Status::Idle,
            height: 0,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            log: BTreeMap::new(),
            flags: RoundFlags::default(),
            equivocations: Vec::new(),
            #[cfg(any(test, feature = "test-hooks"))]
            locking_disabled: false,
        }
    }

    /// Our index in the set, or `None` if we do not vote.
    pub fn me(&self) -> Option<ValidatorIndex> {
        self.me
    }

    /// Applies one input and returns the effects, in the order the shell must carry them
    /// out. Deterministic: the same inputs from the same state give the same effects.
    pub fn handle(&mut self, input: Input) -> Vec<Effect> {
        let mut out = Vec::new();
        match input {
            Input::StartHeight(height) => self.on_start_height(height, &mut out),
            Input::Proposal {
                proposal,
                signature,
                valid,
            } => self.on_proposal(proposal, signature, valid, &mut out),
            Input::Vote(vote) => self.on_vote(vote, &mut out),
            Input::Timeout(timeout) => self.on_timeout(timeout, &mut out),
            Input::ProposeValue {
                height,
                round,
                block,
            } => self.on_propose_value(height, round, block, &mut out),
        }
        out
    }

    /// Current height (0 before the first `StartHeight`).
    pub fn height(&self) -> Height {
        self.height
    }

    /// Current round.
    pub fn round(&self) -> Round {
        self.round
    }

    /// Current step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// `(lockedRound, lockedValue)`, or `None` for the paper's (-1, nil).
    pub fn locked(&self) -> Option<(Round, BlockId)> {
        self.locked
    }

    /// `(validRound, validValue)`, or `None` for the paper's (-1, nil).
    pub fn valid(&self) -> Option<(Round, BlockId)> {
        self.valid
    }

    /// Each validator's first prevote and first precommit in the current round, as
    /// received (ours included): what the shell relays to peers that may have lost
    /// them, for instance to a restart.
    pub fn round_votes(&self) -> Vec<SignedVote> {
        self.log.get(&self.round).map_or_else(Vec::new, |log| {
            [VoteKind::Prevote, VoteKind::Precommit]
                .into_iter()
                .flat_map(|kind| log.tally(kind).firsts().copied())
                .collect()
        })
    }

    /// Whether the current height is decided (the core then waits for `StartHeight`).
    pub fn is_decided(&self) -> bool {
        self.status == Status::Decided
    }

    /// The validator set.
    pub fn validators(&self) -> &ValidatorSet {
        &self.validators
    }

    /// Equivocations seen at the current height, in arrival order, at most
    /// [`EQUIVOCATIONS_MAX`]: two proposals by a round's proposer for different blocks,
    /// or a validator's first vote and a vote of it of the same kind for another value.
    /// Both votes count, each for its own value (see `round_log::VoteTally`); the
    /// proposals are both held (up to `PROPOSALS_PER_ROUND_MAX`). Cleared by
    /// `StartHeight`; the shell reports the entries past the length it saw last.
    pub fn equivocations(&self) -> &[Equivocation] {
        &self.equivocations
    }

    /// TEST ONLY, NEVER IN A NODE: makes L22/L28 ignore the lock, so this validator may
    /// prevote a block conflicting with the one it precommitted. This breaks Tendermint's
    /// safety on purpose; it exists so that a simulator can show that its fork checker
    /// catches the forks that follow.
    /// Compiled only with the `test-hooks` feature (or in this crate's unit tests), so
    /// a release node cannot carry it.
    #[cfg(any(test, feature = "test-hooks"))]
    #[doc(hidden)]
    pub fn disable_locking_for_test(&mut self) {
        self.locking_disabled = true;
    }

    /// Whether [`Core::disable_locking_for_test`] was called; always false without the
    /// `test-hooks` feature.
    #[cfg(any(test, feature = "test-hooks"))]
    fn locking_disabled(&self) -> bool {
        self.locking_disabled
    }

    /// Always false without the `test-hooks` feature.
    #[cfg(not(any(test, feature = "test-hooks")))]
    fn locking_disabled(&self) -> bool {
        false
    }

    // ---------------------------------------------------------------- inputs

    /// Starts `height` directly at `round`, after a restart: the signer guard shows
    /// this validator already signed in earlier rounds of this height, and starting
    /// round 0 again would ask it for messages the guard must refuse, stalling a lone
    /// validator. `lock` is the (round, block) it last precommitted at this height, as
    /// the guard persisted it: the lock (and valid value) it held before the crash, so
    /// a restart never prevotes against it. Otherwise the same as
    /// [`Input::StartHeight`].
    pub fn restart_at(
        &mut self,
        height: Height,
        round: Round,
        lock: Option<(Round, BlockId)>,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        self.start_height_at(height, round, lock, &mut out);
        out
    }

    fn on_start_height(&mut self, height: Height, out: &mut Vec<Effect>) {
        self.start_height_at(height, 0, None, out);
    }

    fn start_height_at(
        &mut self,
        height: Height,
        round: Round,
        lock: Option<(Round, BlockId)>,
        out: &mut Vec<Effect>,
    ) {
        // Going back would re-run a height whose decision the shell has committed.
        if self.status != Status::Idle && height < self.height {
            return;
        }
        // L52-53: new height, initial lock and valid values, empty message log; after a
        // restart, the lock persisted with our last precommit (L36 sets both).
        self.status = Status::Running;
        self.height = height;
        self.locked = lock;
        self.valid = lock;
        self.log.clear();
        self.equivocations.clear();
        self.start_round(round, out);
    }

    fn on_proposal(
        &mut self,
        proposal: Proposal,
        signature: [u8; 64],
        valid: bool,
        out: &mut Vec<Effect>,
    ) {
        if !self.accepts(proposal.height, proposal.round) {
            return;
        }
        // "from proposer(h_p, round)": anyone else's proposal is not a proposal.
        if proposal.proposer != self.validators.proposer(proposal.height, proposal.round) {
            return;
        }
        let power = self.validators.power(proposal.proposer);
        let entry = ProposalEntry {
            proposal,
            valid,
            signature,
        };
        let round_log = self.log.entry(proposal.round).or_default();
        match round_log.add_proposal(entry, power) {
            AddProposal::Added => self.run_rules(Some(proposal.round), out),
            // A repeat, or one distinct proposal too many, changes nothing.
            AddProposal::Ignored => {}
            AddProposal::Equivocation { first, held } => {
                self.note_equivocation(Equivocation::Proposals {
                    first: (first.proposal, first.signature),
                    second: (proposal, signature),
                });
                if held {
                    self.run_rules(Some(proposal.round), out);
                }
            }
        }
    }

    fn note_equivocation(&mut self, equivocation: Equivocation) {
        if self.equivocations.len() < EQUIVOCATIONS_MAX {
            self.equivocations.push(equivocation);
        }
    }

    fn on_vote(&mut self, signed: SignedVote, out: &mut Vec<Effect>) {
        let vote = signed.vote;
        let power = self.validators.power(vote.validator);
        if power == 0 || !self.accepts(vote.height, vote.round) {
            return;
        }
        let round_log = self.log.entry(vote.round).or_default();
        match round_log.add_vote(signed, power) {
            AddVote::Added => self.run_rules(Some(vote.round), out),
            AddVote::Ignored => {}
            AddVote::Equivocation { first } => {
                self.note_equivocation(Equivocation::Votes {
                    first,
                    second: signed,
                });
                // Counted for its own value: it may complete a quorum.
                self.run_rules(Some(vote.round), out);
            }
        }
    }

    /// Messages count only while running, for this height, and within the round window.
    fn accepts(&self, height: Height, round: Round) -> bool {
        self.status == Status::Running
            && height == self.height
            && round <= self.round.saturating_add(ROUNDS_AHEAD_MAX)
    }

    fn on_timeout(&mut self, timeout: Timeout, out: &mut Vec<Effect>) {
        // L58/L62/L66: a timeout only acts in the height and round that scheduled it.
        let current = self.status == Status::Running
            && timeout.height == self.height
            && timeout.round == self.round;
        if !current {
            return;
        }
        match (timeout.step, self.step) {
            // L57: OnTimeoutPropose while step = propose: prevote nil.
            (Step::Propose, Step::Propose) => {
                self.broadcast_vote(VoteKind::Prevote, None, out);
                self.step = Step::Prevote;
            }
            // L61: OnTimeoutPrevote while step = prevote: precommit nil.
            (Step::Prevote, Step::Prevote) => {
                self.broadcast_vote(VoteKind::Precommit, None, out);
                self.step = Step::Precommit;
            }
            // L65: OnTimeoutPrecommit in any step: StartRound(round_p + 1).
            (Step::Precommit, _) => match self.round.checked_add(1) {
                Some(next) => self.start_round(next, out),
                None => return,
            },
            _ => return,
        }
        self.run_rules(None, out);
    }

    fn on_propose_value(
        &mut self,
        height: Height,
        round: Round,
        block: BlockId,
        out: &mut Vec<Effect>,
    ) {
        // Only the answer to our pending L17 getValue() counts; a late answer for an
        // earlier round or height is stale.
        let pending = self.status == Status::Running
            && self.flags.awaiting_value
            && height == self.height
            && round == self.round
            && self.step == Step::Propose;
        let Some(me) = self.me.filter(|_| pending) else {
            return;
        };
        self.flags.awaiting_value = false;
        // L18: broadcast <PROPOSAL, h_p, round_p, proposal, validRound_p = -1>.
        let proposal = Proposal {
            height,
            round,
            block,
            valid_round: None,
            proposer: me,
        };
        out.push(Effect::BroadcastProposal(proposal));
    }

    // ---------------------------------------------------------------- rules

    /// Fires enabled rules until none is. `touched` is the round of the message that just
    /// arrived: only a message of round r can enable L49 for r.
    fn run_rules(&mut self, touched: Option<Round>, out: &mut Vec<Effect>) {
        if let Some(round) = touched {
            if self.try_decide(round, out) {
                return;
            }
        }
        for _ in 0..RULE_FIRINGS_MAX {
            let fired = self.try_skip_round(out)
                || self.try_leave_nil_round(out)
                || self.try_prevote_proposal(out)
                || self.try_precommit_polka(out)
                || self.try_precommit_nil(out)
                || self.try_schedule_prevote_timeout(out)
                || self.try_schedule_precommit_timeout(out);
            if !fired {
                return;
            }
        }
        debug_assert!(
            false,
            "consensus rules kept firing: a first-time guard is missing"
        );
    }

    /// L11-21: StartRound(round).
    fn start_round(&mut self, round: Round, out: &mut Vec<Effect>) {
        // L11-12: round_p <- round; step_p <- propose.
        self.round = round;
        self.step = Step::Propose;
        self.flags = RoundFlags::default();
        let proposer = self.validators.proposer(self.height, round);
        let Some(me) = self.me.filter(|&me| me == proposer) else {
            // L20: not the proposer: give the proposer timeoutPropose(round) to show up.
            self.schedule_timeout(Step::Propose, out);
            return;
        };
        match self.valid {
            // L14-15, L18: re-propose validValue with validRound, so that those locked
            // on it in validRound can prevote it (L28).
            Some((valid_round, block)) => {
                let proposal = Proposal {
                    height: self.height,
                    round,
                    block,
                    valid_round: Some(valid_round),
                    proposer: me,
                };
                out.push(Effect::BroadcastProposal(proposal));
            }
            // L16-17: getValue(); the answer comes back as Input::ProposeValue.
            None => {
                self.flags.awaiting_value = true;
                out.push(Effect::GetValue {
                    height: self.height,
                    round,
                });
            }
        }
    }

    /// L49: upon <PROPOSAL, h_p, r, v, *> from proposer(h_p, r) AND 2f+1
    /// <PRECOMMIT, h_p, r, id(v)> while decision_p[h_p] = nil.
    fn try_decide(&mut self, round: Round, out: &mut Vec<Effect>) -> bool {
        if self.status != Status::Running {
            return false;
        }
        let Some(log) = self.log.get(&round) else {
            return false;
        };
        let precommits = log.tally(VoteKind::Precommit);
        let Some(Some(block)) = precommits.quorum_value(self.validators.quorum_threshold()) else {
            return false;
        };
        // L50: if valid(v). An invalid v with a precommit quorum means the shell's
        // validity disagrees with a quorum's; deciding it would be worse than stalling.
        if !log.proposal_for(block).is_some_and(|entry| entry.valid) {
            return false;
        }
        // L51: decision_p[h_p] = v. L52-54 (next height) wait for the shell's StartHeight,
        // which comes once the block is committed.
        let certificate = precommits.votes_for(Some(block));
        out.push(Effect::Decide {
            height: self.height,
            round,
            block,
            certificate,
        });
        self.status = Status::Decided;
        true
    }

    /// L55: upon f+1 <*, h_p, round, *, *> with round > round_p: StartRound(round).
    /// At least one honest validator is in that round, so we are behind.
    fn try_skip_round(&mut self, out: &mut Vec<Effect>) -> bool {
        let threshold = self.validators.honest_threshold();
        let next = self.round.checked_add(1);
        // Jump straight to the highest such round: the lower ones are behind it too.
        let target = next.and_then(|next| {
            self.log
                .range(next..)
                .rev()
                .find(|(_, log)| log.sender_power() >= threshold)
                .map(|(round, _)| *round)
        });
        match target {
            Some(round) => {
                self.start_round(round, out);
                true
            }
            None => false,
        }
    }

    /// Upon 2f+1 <PRECOMMIT, h_p, round_p, nil>: StartRound(round_p + 1) at once. No
    /// block can gather 2f+1 precommits in round_p any more: with more than 2/3 of the
    /// power on nil, that would take validators of more than 1/3 of the power
    /// precommitting twice, more than the faulty f. So timeoutPrecommit (L47, L65) would
    /// wait for a decision that cannot come. CometBFT waits it anyway; skipping it saves
    /// a height whose proposer is down (or a validator just added, still catching up)
    /// half a second (docs/consensus.md §2).
    fn try_leave_nil_round(&mut self, out: &mut Vec<Effect>) -> bool {
        let quorum = self.validators.quorum_threshold();
        let nil_quorum = self
            .log
            .get(&self.round)
            .is_some_and(|log| log.tally(VoteKind::Precommit).quorum_value(quorum) == Some(None));
        match self.round.checked_add(1) {
            Some(next) if nil_quorum => {
                self.start_round(next, out);
                true
            }
            _ => false,
        }
    }

    /// L22 and L28: prevote on the round's proposal while step = propose.
    fn try_prevote_proposal(&mut self, out: &mut Vec<Effect>) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(block) = self.proposal_prevote() else {
            return false;
        };
        self.broadcast_vote(VoteKind::Prevote, block, out);
        // L27/L33: step_p <- prevote.
        self.step = Step::Prevote;
        true
    }

    /// The prevote that L22 or L28 casts for the first enabled proposal of round_p, if
    /// any is enabled (`Some(None)` = prevote nil).
    fn proposal_prevote(&self) -> Option<Option<BlockId>> {
        let log = self.log.get(&self.round)?;
        let quorum = self.validators.quorum_threshold();
        log.proposals().iter().find_map(|entry| {
            let block = entry.proposal.block;
            let lock_allows = match entry.proposal.valid_round {
                // L22: upon <PROPOSAL, h_p, round_p, v, -1>. L23: lockedRound_p = -1 or
                // lockedValue_p = v: never prevote against our lock.
                None => self.locked.is_none_or(|(_, locked)| locked == block),
                // L28: upon <PROPOSAL, h_p, round_p, v, vr> AND 2f+1 <PREVOTE, h_p, vr,
                // id(v)> with 0 <= vr < round_p. Until that polka arrives, wait.
                Some(vr) => {
                    let polka = vr < self.round
                        && self.log.get(&vr).is_some_and(|old| {
                            old.tally(VoteKind::Prevote).power_for(Some(block)) >= quorum
                        });
                    if !polka {
                        return None;
                    }
                    // L29: lockedRound_p <= vr or lockedValue_p = v: a polka newer than
                    // our lock proves no decision happened on our locked value since.
                    self.locked
                        .is_none_or(|(round, locked)| round <= vr || locked == block)
                }
            };
            // L23-26, L29-32: prevote id(v) if valid and the lock allows, else nil.
            let acceptable = entry.valid && (lock_allows || self.locking_disabled());
            Some(acceptable.then_some(block))
        })
    }

    /// L36: upon <PROPOSAL, h_p, round_p, v, *> AND 2f+1 <PREVOTE, h_p, round_p, id(v)>
    /// while valid(v) and step_p >= prevote, for the first time.
    fn try_precommit_polka(&mut self, out: &mut Vec<Effect>) -> bool {
        if self.step < Step::Prevote || self.flags.polka_seen {
            return false;
        }
        let Some(block) = self.current_polka() else {
            return false;
        };
        self.flags.polka_seen = true;
        if self.step == Step::Prevote {
            // L37-41: lock on v and precommit it.
            self.locked = Some((self.round, block));
            self.broadcast_vote(VoteKind::Precommit, Some(block), out);
            self.step = Step::Precommit;
        }
        // L42-43: remember v as the value to re-propose, even if we precommitted nil.
        self.valid = Some((self.round, block));
        true
    }

    /// The valid proposed block of round_p with 2f+1 prevotes in round_p, if any.
    fn current_polka(&self) -> Option<BlockId> {
        let log = self.log.get(&self.round)?;
        let quorum = self.validators.quorum_threshold();
        let block = log.tally(VoteKind::Prevote).quorum_value(quorum)??;
        log.proposal_for(block)
            .filter(|entry| entry.valid)
            .map(|_| block)
    }

    /// L44: upon 2f+1 <PREVOTE, h_p, round_p, nil> while step_p = prevote: precommit nil.
    fn try_precommit_nil(&mut self, out: &mut Vec<Effect>) -> bool {
        if self.step != Step::Prevote {
            return false;
        }
        let quorum = self.validators.quorum_threshold();
        let nil_polka = self
            .log
            .get(&self.round)
            .is_some_and(|log| log.tally(VoteKind::Prevote).power_for(None) >= quorum);
        if !nil_polka {
            return false;
        }
        // L45-46.
        self.broadcast_vote(VoteKind::Precommit, None, out);
        self.step = Step::Precommit;
        true
    }

    /// L34: upon 2f+1 <PREVOTE, h_p, round_p, *> while step_p = prevote for the first
    /// time: the prevotes are split, so give the rest timeoutPrevote to arrive.
    fn try_schedule_prevote_timeout(&mut self, out: &mut Vec<Effect>) -> bool {
        if self.step != Step::Prevote || self.flags.prevote_timeout_scheduled {
            return false;
        }
        if self.current_power(VoteKind::Prevote) < self.validators.quorum_threshold() {
            return false;
        }
        // L35.
        self.flags.prevote_timeout_scheduled = true;
        self.schedule_timeout(Step::Prevote, out);
        true
    }

    /// L47: upon 2f+1 <PRECOMMIT, h_p, round_p, *> for the first time: give a decision
    /// timeoutPrecommit to form, then move on (L65).
    fn try_schedule_precommit_timeout(&mut self, out: &mut Vec<Effect>) -> bool {
        if self.flags.precommit_timeout_scheduled {
            return false;
        }
        if self.current_power(VoteKind::Precommit) < self.validators.quorum_threshold() {
            return false;
        }
        // L48.
        self.flags.precommit_timeout_scheduled = true;
        self.schedule_timeout(Step::Precommit, out);
        true
    }

    // ---------------------------------------------------------------- helpers

    /// Power of all votes of `kind` in round_p.
    fn current_power(&self, kind: VoteKind) -> u64 {
        self.log
            .get(&self.round)
            .map_or(0, |log| log.tally(kind).power_total())
    }

    /// "broadcast <kind, h_p, round_p, block>": a full node follows the step but sends
    /// nothing. Our vote is counted when the shell feeds it back signed.
    fn broadcast_vote(&self, kind: VoteKind, block: Option<BlockId>, out: &mut Vec<Effect>) {
        if let Some(validator) = self.me {
            let vote = Vote {
                height: self.height,
                round: self.round,
                kind,
                block,
                validator,
            };
            out.push(Effect::BroadcastVote(vote));
        }
    }

    /// "schedule OnTimeout<step>(h_p, round_p) to be executed after timeout<step>(round_p)".
    fn schedule_timeout(&self, step: Step, out: &mut Vec<Effect>) {
        let timeout = Timeout {
            height: self.height,
            round: self.round,
            step,
        };
        let duration_ms = self.config.duration_ms(step, self.round);
        out.push(Effect::ScheduleTimeout {
            timeout,
            duration_ms,
        });
    }
}
