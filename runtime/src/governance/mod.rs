//! Governance: validators propose changes to the validator set, the partners and the
//! chain's parameters, vote on them, and a change that passes takes effect at a stated
//! height (docs/governance.md).
//!
//! Rules, in short:
//! - Only a member of the validator set in effect ([`ValidatorSet`], stored in state,
//!   written at genesis) may `Propose` or `Vote`.
//! - A proposal passes in the block whose vote gives the yes-votes **more than 2/3** of
//!   the set's total power (`3 × yes > 2 × total`, so exactly 2/3 does not pass); it is
//!   rejected once the no-votes hold at least 1/3 (`3 × no ≥ total`: it can no longer
//!   pass). Tallies count the ballots of the set in effect at each vote, with its powers.
//! - Votes count while `height ≤ deadline`; a proposal still open at the end of block
//!   `deadline` expires (`ProposalExpired`).
//! - A passed proposal takes effect from height `effective_from = max(activation,
//!   passed_at + 1)`: its change is written at the end of block `effective_from − 1`,
//!   so every transaction of block `effective_from` and later (and the mempool's and
//!   the fee rules' view of that block) reads the new value.
//! - At most [`PROPOSALS_PENDING_MAX`] proposals are open or waiting for their height,
//!   so each end-of-block sweep's work is bounded and never falls behind.

mod change;
pub mod evidence;

use serde::{Deserialize, Serialize};

use crate::block::ValidatorInfo;
use crate::calls::CallDef;
use crate::economy::deadlines::Queue;
use crate::economy::ledger::{get, next_id, settle, CallCx, Fail, Res};
use crate::economy::query::{decode, LISTED_MAX};
use crate::events::EventDef;
use crate::model::{CallError, Event};
use crate::state::{keys, read_record, Overlay, StateError, StateRead, StateScan};
use crate::types::{Address, Height};

pub use change::{Change, PEER_ID_CHARS_MAX, VALIDATORS_MAX, VOTING_POWER_TOTAL_MAX};
pub use evidence::{EquivocationReported, Evidence, ReportEquivocation, SignedMessage};

/// The longest voting period: a deadline at most this many blocks after the proposal.
pub const VOTING_BLOCKS_MAX: Height = 1_000_000;
/// The longest delay between a proposal's deadline and its activation height.
pub const ACTIVATION_DELAY_BLOCKS_MAX: Height = 1_000_000;
/// The most proposals open or passed and waiting for their activation height.
pub const PROPOSALS_PENDING_MAX: u32 = 32;
/// Examinations per block of each governance sweep (expiry, enactment). Above
/// [`PROPOSALS_PENDING_MAX`] + 1, so a sweep always finishes the height it is at.
pub const GOVERNANCE_SWEPT_PER_BLOCK_MAX: u32 = 64;

/// Proposals by deadline, for expiry.
const DEADLINES: Queue = Queue::new(
    keys::PROPOSAL_DEADLINE_COUNT,
    keys::PROPOSAL_DEADLINE,
    keys::PROPOSAL_DEADLINE_BACKLOG,
);
/// Passed proposals, by the height at whose end they are enacted.
const ENACTMENTS: Queue = Queue::new(keys::ENACT_COUNT, keys::ENACT, keys::ENACT_BACKLOG);

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{
        with, NEXT_PROPOSAL_ID, PROPOSAL, PROPOSALS_PENDING, VALIDATOR_SET, VALIDATOR_SET_HISTORY,
    };

    /// Key of the validator set in effect.
    pub fn validator_set() -> Vec<u8> {
        vec![VALIDATOR_SET]
    }
    /// Key of the [`super::SetHistory`].
    pub fn set_history() -> Vec<u8> {
        vec![VALIDATOR_SET_HISTORY]
    }
    /// Key of the proposal id counter.
    pub fn next_proposal_id() -> Vec<u8> {
        vec![NEXT_PROPOSAL_ID]
    }
    /// Key of a proposal.
    pub fn proposal(id: u64) -> Vec<u8> {
        with(PROPOSAL, &[&id.to_be_bytes()])
    }
    /// Prefix of every proposal.
    pub fn proposals() -> Vec<u8> {
        vec![PROPOSAL]
    }
    /// Key of the count of proposals open or waiting to take effect.
    pub fn pending() -> Vec<u8> {
        vec![PROPOSALS_PENDING]
    }
}

// -------------------------------------------------------------- records

/// One validator of the set, as genesis lists it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Validator {
    /// A short slug for logs and file names, e.g. "hanbit-bank".
    pub name: String,
    /// The consensus key; also the account of the partner that runs it.
    pub key: Address,
    /// The libp2p peer id its node listens as (`12D3KooW…`).
    pub peer_id: String,
    /// Voting power (> 0).
    pub power: u64,
}

/// The validator set in effect, in proposer order: what consensus reads (genesis
/// writes it; governance changes it).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ValidatorSet {
    /// The first height this set decides (1 for the genesis set).
    pub since: Height,
    /// The validators, in proposer order (genesis order; added ones at the end).
    pub validators: Vec<Validator>,
}

impl ValidatorSet {
    /// The sum of the powers (saturating; a set is kept within
    /// [`VOTING_POWER_TOTAL_MAX`]).
    pub fn total_power(&self) -> u64 {
        self.validators
            .iter()
            .fold(0u64, |t, v| t.saturating_add(v.power))
    }

    /// The member with this key.
    pub fn get(&self, key: &Address) -> Option<&Validator> {
        self.validators.iter().find(|v| v.key == *key)
    }

    /// The set as consensus and certificates take it: keys and powers, in order.
    pub fn infos(&self) -> Vec<ValidatorInfo> {
        self.validators
            .iter()
            .map(|v| ValidatorInfo {
                key: v.key,
                power: v.power,
            })
            .collect()
    }
}

/// What consensus and proofs need beyond the set in effect: consensus uses a set one
/// block later than the runtime (a change written at the end of block `c` governs
/// transactions from `c + 1` but signs blocks from `c + 2`, docs/consensus.md §1), so
/// block `c + 1` is still signed by the set before the change; and a proof must find
/// the headers where the set changed without reading every block (docs/proofs.md §7).
/// Written only when a validator change is enacted.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SetHistory {
    /// The set before the last change: it signs block `since` of the set in effect.
    pub previous: Vec<ValidatorInfo>,
    /// For every change, oldest first, the height of its *change header*: the block
    /// `c + 1` after the block `c` that enacted it, the first header whose
    /// `next_validators_hash` names the new set (= the set's `since`). One entry per
    /// height, however many changes that block enacted.
    pub changes: Vec<Height>,
}

/// One validator's vote on a proposal.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Ballot {
    /// The validator.
    pub validator: Address,
    /// Yes or no.
    pub yes: bool,
    /// The height of the block that holds the vote.
    pub height: Height,
}

/// Where a proposal stands.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Votes are being taken.
    Open,
    /// Passed; takes effect from `effective_from` (written at the end of block
    /// `effective_from − 1`).
    Passed {
        /// The block whose vote passed it.
        passed_at: Height,
        /// The first height that reads the change.
        effective_from: Height,
    },
    /// The no-votes reached 1/3 of the power: it can no longer pass.
    Rejected {
        /// The block whose vote rejected it.
        rejected_at: Height,
    },
    /// Still open at the end of its deadline block.
    Expired {
        /// Its deadline.
        expired_at: Height,
    },
    /// Passed and written into state.
    Enacted {
        /// The block whose vote passed it.
        passed_at: Height,
        /// The first height that reads the change.
        effective_from: Height,
    },
    /// Passed, but the change no longer fit the state at its height (e.g. the partner
    /// it removes was removed by another proposal): nothing was written.
    NotEnacted {
        /// The block whose vote passed it.
        passed_at: Height,
        /// The height it would have taken effect from.
        effective_from: Height,
        /// Why it could not be written.
        error: CallError,
    },
}

impl ProposalStatus {
    /// The status's name: `open`, `passed`, `rejected`, `expired`, `enacted`,
    /// `not_enacted`.
    pub fn name(&self) -> &'static str {
        match self {
            ProposalStatus::Open => "open",
            ProposalStatus::Passed { .. } => "passed",
            ProposalStatus::Rejected { .. } => "rejected",
            ProposalStatus::Expired { .. } => "expired",
            ProposalStatus::Enacted { .. } => "enacted",
            ProposalStatus::NotEnacted { .. } => "not_enacted",
        }
    }

    /// Whether the proposal passed its vote (waiting, enacted or not enacted).
    pub fn has_passed(&self) -> bool {
        matches!(
            self,
            ProposalStatus::Passed { .. }
                | ProposalStatus::Enacted { .. }
                | ProposalStatus::NotEnacted { .. }
        )
    }
}

/// A proposal and its votes.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id (from 0).
    pub id: u64,
    /// The validator that proposed it.
    pub proposer: Address,
    /// What it changes.
    pub change: Change,
    /// The height of the block that holds the proposal.
    pub proposed_at: Height,
    /// The last height at which a vote counts.
    pub deadline: Height,
    /// The height the change is to take effect from (if it passes by then).
    pub activation: Height,
    /// The votes, in the order they were cast.
    pub ballots: Vec<Ballot>,
    /// Where it stands.
    pub status: ProposalStatus,
}

// ---------------------------------------------------------------- calls

/// A validator proposes a change, to be voted on until `deadline` and to take effect
/// from `activation` (or the height after it passes, if later).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Propose {
    /// What to change.
    pub change: Change,
    /// The last height at which votes count (`height ≤ deadline ≤ height +`
    /// [`VOTING_BLOCKS_MAX`]).
    pub deadline: Height,
    /// The height the change takes effect from, if it has passed by then (at most
    /// `deadline +` [`ACTIVATION_DELAY_BLOCKS_MAX`]); one at or below the height it
    /// passes at means "from the next block".
    pub activation: Height,
}

/// A validator votes yes or no on an open proposal, once.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Vote {
    /// The proposal's id.
    pub proposal: u64,
    /// Yes (true) or no.
    pub yes: bool,
}

impl CallDef for Propose {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        propose(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "propose {} (votes until height {}, effective from height {})",
            self.change.summary(),
            self.deadline,
            self.activation
        )
    }
}

impl CallDef for Vote {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        vote(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let side = if self.yes { "yes" } else { "no" };
        format!("vote {side} on proposal {}", self.proposal)
    }
}

// --------------------------------------------------------------- events

/// A validator submitted a proposal.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalSubmitted {
    /// Its id.
    pub id: u64,
    /// The validator.
    pub proposer: Address,
    /// What it changes.
    pub change: Change,
    /// The last height a vote counts.
    pub deadline: Height,
    /// The height it is to take effect from.
    pub activation: Height,
}

impl EventDef for ProposalSubmitted {
    fn accounts(&self) -> Vec<Address> {
        let mut out = vec![self.proposer];
        out.extend(self.change.accounts());
        out
    }
}

/// A validator voted; the tally after the vote, over the set in effect.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct VoteCast {
    /// The proposal.
    pub id: u64,
    /// The validator.
    pub validator: Address,
    /// Its vote.
    pub yes: bool,
    /// Power of the set's members that voted yes.
    pub yes_power: u64,
    /// Power of the set's members that voted no.
    pub no_power: u64,
    /// The set's total power.
    pub total_power: u64,
}

impl EventDef for VoteCast {
    fn accounts(&self) -> Vec<Address> {
        vec![self.validator]
    }
}

/// A proposal passed (yes-votes above 2/3 of the power).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalPassed {
    /// The proposal.
    pub id: u64,
    /// The first height that reads the change.
    pub effective_from: Height,
}

impl EventDef for ProposalPassed {
    fn accounts(&self) -> Vec<Address> {
        vec![]
    }
}

/// A proposal was rejected (no-votes at 1/3 of the power or more).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalRejected {
    /// The proposal.
    pub id: u64,
}

impl EventDef for ProposalRejected {
    fn accounts(&self) -> Vec<Address> {
        vec![]
    }
}

/// A proposal was still open at the end of its deadline block (an end-of-block event).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalExpired {
    /// The proposal.
    pub id: u64,
    /// Its deadline.
    pub deadline: Height,
}

impl EventDef for ProposalExpired {
    fn accounts(&self) -> Vec<Address> {
        vec![]
    }
}

/// A passed proposal's change was written (an end-of-block event of block
/// `effective_from − 1`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalEnacted {
    /// The proposal.
    pub id: u64,
    /// What changed.
    pub change: Change,
    /// The first height that reads the change.
    pub effective_from: Height,
}

impl EventDef for ProposalEnacted {
    fn accounts(&self) -> Vec<Address> {
        self.change.accounts()
    }
}

/// A passed proposal's change no longer fit the state at its height; nothing changed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalNotEnacted {
    /// The proposal.
    pub id: u64,
    /// Why.
    pub error: CallError,
}

impl EventDef for ProposalNotEnacted {
    fn accounts(&self) -> Vec<Address> {
        vec![]
    }
}

/// The validator set changed: `validators` decides heights from `effective_from` on.
/// What consensus follows (docs/governance.md, "For consensus").
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ValidatorSetChanged {
    /// The whole new set, in proposer order.
    pub validators: Vec<Validator>,
    /// The first height it decides.
    pub effective_from: Height,
}

impl EventDef for ValidatorSetChanged {
    fn accounts(&self) -> Vec<Address> {
        self.validators.iter().map(|v| v.key).collect()
    }
}

// -------------------------------------------------------------- queries

/// The validator set in effect after the last executed block (`None` for a state
/// that genesis did not build).
pub fn validator_set<S: StateRead + ?Sized>(state: &S) -> Result<Option<ValidatorSet>, StateError> {
    read_record(state, &storage::validator_set())
}

/// The [`SetHistory`] (`None` while the set is the genesis set).
pub fn set_history<S: StateRead + ?Sized>(state: &S) -> Result<Option<SetHistory>, StateError> {
    read_record(state, &storage::set_history())
}

/// The set that signs block `height`, read from the state after block `height − 1`
/// (`None` for a state genesis did not build). A change enacted at the end of block
/// `c` (the set's `since` is `c + 1`) signs from `c + 2`: block `c + 1` is signed by
/// the set before it.
pub fn consensus_validators<S: StateRead + ?Sized>(
    state: &S,
    height: Height,
) -> Result<Option<Vec<ValidatorInfo>>, StateError> {
    let Some(set) = validator_set(state)? else {
        return Ok(None);
    };
    if set.since == height && height > 1 {
        if let Some(history) = set_history(state)? {
            return Ok(Some(history.previous));
        }
    }
    Ok(Some(set.infos()))
}

/// The set that signs block `height + 1`, read from the state after block
/// `height − 1`: what the header of block `height` names as `next_validators_hash`.
pub fn next_consensus_validators<S: StateRead + ?Sized>(
    state: &S,
) -> Result<Option<Vec<ValidatorInfo>>, StateError> {
    Ok(validator_set(state)?.map(|set| set.infos()))
}

/// A proposal by id.
pub fn proposal<S: StateRead + ?Sized>(state: &S, id: u64) -> Result<Option<Proposal>, StateError> {
    read_record(state, &storage::proposal(id))
}

/// The newest [`LISTED_MAX`] proposals, newest first, keeping those whose status name
/// is `status` (`passed` also keeps `enacted` and `not_enacted`); all without one.
pub fn proposals<S: StateScan + ?Sized>(
    state: &S,
    status: Option<&str>,
) -> Result<Vec<Proposal>, StateError> {
    let mut out = Vec::new();
    for (k, v) in state.scan_prefix_rev(&storage::proposals(), None, LISTED_MAX)? {
        let p: Proposal = decode(&k, &v)?;
        let keep = match status {
            None => true,
            Some("passed") => p.status.has_passed(),
            Some(name) => p.status.name() == name,
        };
        if keep {
            out.push(p);
        }
    }
    Ok(out)
}

// ------------------------------------------------------------ execution

/// The set in effect, with the sender in it (`NotAValidator` otherwise).
fn member_set<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, who: &Address) -> Res<ValidatorSet> {
    let set: Option<ValidatorSet> = get(ov, &storage::validator_set())?;
    match set {
        Some(set) if set.get(who).is_some() => Ok(set),
        _ => Err(CallError::NotAValidator { account: *who }.into()),
    }
}

fn pending_count<S: StateRead + ?Sized>(ov: &Overlay<'_, S>) -> Res<u32> {
    Ok(get(ov, &storage::pending())?.unwrap_or(0))
}

/// One proposal fewer open or waiting (when it is rejected, expires or is enacted).
fn release_pending<S: StateRead + ?Sized>(ov: &mut Overlay<'_, S>) -> Res<()> {
    let n = pending_count(ov)?
        .checked_sub(1)
        .ok_or(StateError::InvariantBroken(
            "the pending proposal count went below zero",
        ))?;
    if n == 0 {
        ov.put_raw(storage::pending(), None)?;
    } else {
        ov.put(storage::pending(), &n)?;
    }
    Ok(())
}

fn propose<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    p: &Propose,
    events: &mut Vec<Event>,
) -> Res<()> {
    let set = member_set(ov, &cx.sender)?;
    let height = cx.height;
    let last_deadline = height.saturating_add(VOTING_BLOCKS_MAX);
    if p.deadline < height || p.deadline > last_deadline {
        return Err(CallError::BadDeadline {
            deadline: p.deadline,
            height,
            max_blocks: VOTING_BLOCKS_MAX,
        }
        .into());
    }
    if p.activation > p.deadline.saturating_add(ACTIVATION_DELAY_BLOCKS_MAX) {
        return Err(CallError::BadActivation {
            activation: p.activation,
            height,
            deadline: p.deadline,
            max_blocks: ACTIVATION_DELAY_BLOCKS_MAX,
        }
        .into());
    }
    p.change.check(ov, &set, false)?;
    let pending = pending_count(ov)?;
    if pending >= PROPOSALS_PENDING_MAX {
        return Err(CallError::TooManyProposals {
            max: PROPOSALS_PENDING_MAX,
        }
        .into());
    }
    ov.put(storage::pending(), &(pending + 1))?;
    let id = next_id(ov, storage::next_proposal_id())?;
    let proposal = Proposal {
        id,
        proposer: cx.sender,
        change: p.change.clone(),
        proposed_at: height,
        deadline: p.deadline,
        activation: p.activation,
        ballots: Vec::new(),
        status: ProposalStatus::Open,
    };
    ov.put(storage::proposal(id), &proposal)?;
    DEADLINES.push(ov, p.deadline, id)?;
    events.push(
        ProposalSubmitted {
            id,
            proposer: cx.sender,
            change: p.change.clone(),
            deadline: p.deadline,
            activation: p.activation,
        }
        .into(),
    );
    Ok(())
}

/// The power of the set's members that voted yes and no.
fn tally(set: &ValidatorSet, ballots: &[Ballot]) -> (u64, u64) {
    let (mut yes, mut no) = (0u64, 0u64);
    for b in ballots {
        if let Some(v) = set.get(&b.validator) {
            let side = if b.yes { &mut yes } else { &mut no };
            *side = side.saturating_add(v.power);
        }
    }
    (yes, no)
}

/// Whether `yes` is more than 2/3 of `total` (exactly 2/3 is not).
pub fn passes(yes: u64, total: u64) -> bool {
    u128::from(yes) * 3 > u128::from(total) * 2
}

/// Whether `no` is at least 1/3 of `total` (the rest can no longer pass).
pub fn blocks(no: u64, total: u64) -> bool {
    u128::from(no) * 3 >= u128::from(total)
}

fn vote<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    v: &Vote,
    events: &mut Vec<Event>,
) -> Res<()> {
    let set = member_set(ov, &cx.sender)?;
    let id = v.proposal;
    let mut p: Proposal =
        get(ov, &storage::proposal(id))?.ok_or(CallError::UnknownProposal { id })?;
    let undecided = matches!(
        p.status,
        ProposalStatus::Open | ProposalStatus::Expired { .. }
    );
    if undecided && cx.height > p.deadline {
        return Err(CallError::VotingClosed {
            id,
            deadline: p.deadline,
            height: cx.height,
        }
        .into());
    }
    if p.status != ProposalStatus::Open {
        return Err(CallError::ProposalNotOpen {
            id,
            status: p.status.name().to_owned(),
        }
        .into());
    }
    if p.ballots.iter().any(|b| b.validator == cx.sender) {
        return Err(CallError::AlreadyVoted {
            id,
            validator: cx.sender,
        }
        .into());
    }
    p.ballots.push(Ballot {
        validator: cx.sender,
        yes: v.yes,
        height: cx.height,
    });
    let (yes_power, no_power) = tally(&set, &p.ballots);
    let total_power = set.total_power();
    events.push(
        VoteCast {
            id,
            validator: cx.sender,
            yes: v.yes,
            yes_power,
            no_power,
            total_power,
        }
        .into(),
    );
    if passes(yes_power, total_power) {
        // The change is written at the end of block effective_from - 1 >= this block.
        let effective_from = p.activation.max(cx.height.saturating_add(1));
        p.status = ProposalStatus::Passed {
            passed_at: cx.height,
            effective_from,
        };
        ENACTMENTS.push(ov, effective_from - 1, id)?;
        events.push(ProposalPassed { id, effective_from }.into());
    } else if blocks(no_power, total_power) {
        p.status = ProposalStatus::Rejected {
            rejected_at: cx.height,
        };
        release_pending(ov)?;
        events.push(ProposalRejected { id }.into());
    }
    ov.put(storage::proposal(id), &p)?;
    Ok(())
}

/// The end-of-block step at `height`, after every transaction: proposals still open at
/// their deadline expire, then the passed proposals that take effect from `height + 1`
/// are written, in the order they passed. Each sweep examines at most
/// [`GOVERNANCE_SWEPT_PER_BLOCK_MAX`] entries.
pub(crate) fn end_block<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let swept = DEADLINES.sweep(ov, height, GOVERNANCE_SWEPT_PER_BLOCK_MAX, |ov, id| {
        expire(ov, id, events)
    });
    sweep_failed("proposal expiry", settle(swept)?)?;
    let swept = ENACTMENTS.sweep(ov, height, GOVERNANCE_SWEPT_PER_BLOCK_MAX, |ov, id| {
        enact(ov, id, events)
    });
    sweep_failed("proposal enactment", settle(swept)?)
}

fn sweep_failed(sweep: &'static str, r: Result<(), CallError>) -> Result<(), StateError> {
    r.map_err(|error| StateError::SweepFailed { sweep, error })
}

fn stored<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<Proposal> {
    get(ov, &storage::proposal(id))?.ok_or(Fail::State(StateError::MissingRecord {
        what: "proposal",
        id,
    }))
}

fn expire<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut p = stored(ov, id)?;
    if p.status != ProposalStatus::Open {
        return Ok(()); // decided before its deadline
    }
    p.status = ProposalStatus::Expired {
        expired_at: p.deadline,
    };
    ov.put(storage::proposal(id), &p)?;
    release_pending(ov)?;
    events.push(
        ProposalExpired {
            id,
            deadline: p.deadline,
        }
        .into(),
    );
    Ok(())
}

fn enact<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut p = stored(ov, id)?;
    let ProposalStatus::Passed {
        passed_at,
        effective_from,
    } = p.status
    else {
        return Err(StateError::InvariantBroken("an enacted proposal had not passed").into());
    };
    let cp = ov.checkpoint();
    let mut written = Vec::new();
    match p.change.apply(ov, effective_from, &mut written) {
        Ok(()) => {
            p.status = ProposalStatus::Enacted {
                passed_at,
                effective_from,
            };
            events.push(
                ProposalEnacted {
                    id,
                    change: p.change.clone(),
                    effective_from,
                }
                .into(),
            );
            events.append(&mut written);
        }
        Err(Fail::Call(error)) => {
            ov.revert(cp);
            p.status = ProposalStatus::NotEnacted {
                passed_at,
                effective_from,
                error: error.clone(),
            };
            events.push(ProposalNotEnacted { id, error }.into());
        }
        Err(e @ Fail::State(_)) => return Err(e),
    }
    ov.put(storage::proposal(id), &p)?;
    release_pending(ov)
}
