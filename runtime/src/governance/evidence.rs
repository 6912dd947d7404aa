//! Evidence of equivocation: two conflicting consensus messages signed by one validator
//! for one height and round (two proposals, or two votes of one kind, with different
//! content). A correct validator never signs both (its signer guard refuses), so the
//! pair proves misbehaviour to anyone holding the validator's key: the runtime checks
//! the signatures with the very signing bytes consensus and certificates use
//! ([`ProposalBody::signing_bytes`], [`VoteBody::signing_bytes`]), stores the evidence
//! once per (validator, height) and emits both messages in an event. Governance can
//! then remove the validator with a `RemoveValidator` proposal (docs/governance.md).

use serde::{Deserialize, Serialize};

use super::{consensus_validators, set_history, validator_set};
use crate::block::{ProposalBody, ValidatorInfo, VoteBody, VoteKind};
use crate::calls::CallDef;
use crate::crypto::{self, Signature};
use crate::economy::ledger::{get, CallCx, Res};
use crate::economy::query::{decode, LISTED_MAX};
use crate::events::EventDef;
use crate::model::{CallError, Event};
use crate::state::{read_record, Overlay, StateError, StateRead, StateScan};
use crate::types::{Address, Hash, Height};

/// Where evidence is kept: `0x50 || validator || height (u64 BE)` -> [`Evidence`].
pub mod storage {
    use crate::state::keys::{with, EVIDENCE};
    use crate::types::{Address, Height};

    /// Key of the evidence against `validator` at `height`.
    pub fn evidence(validator: &Address, height: Height) -> Vec<u8> {
        with(EVIDENCE, &[&validator.0, &height.to_be_bytes()])
    }
    /// Prefix of the evidence against `validator`.
    pub fn evidence_of(validator: &Address) -> Vec<u8> {
        with(EVIDENCE, &[&validator.0])
    }
    /// Prefix of all evidence.
    pub fn all() -> Vec<u8> {
        vec![EVIDENCE]
    }
}

/// One signed consensus message, as gossiped: what was signed and the signature.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignedMessage {
    /// A signed proposal.
    Proposal {
        /// What the proposer signed.
        body: ProposalBody,
        /// Its signature.
        signature: Signature,
    },
    /// A signed prevote or precommit.
    Vote {
        /// What the voter signed.
        body: VoteBody,
        /// Its signature.
        signature: Signature,
    },
}

impl SignedMessage {
    /// `(chain id, height, round)` of the message.
    pub fn position(&self) -> (Hash, Height, u32) {
        match self {
            SignedMessage::Proposal { body, .. } => (body.chain_id, body.height, body.round),
            SignedMessage::Vote { body, .. } => (body.chain_id, body.height, body.round),
        }
    }

    /// "proposal", "prevote" or "precommit".
    pub fn kind(&self) -> &'static str {
        match self {
            SignedMessage::Proposal { .. } => "proposal",
            SignedMessage::Vote { body, .. } => match body.kind {
                VoteKind::Prevote => "prevote",
                VoteKind::Precommit => "precommit",
            },
        }
    }

    fn signing_bytes(&self) -> Vec<u8> {
        match self {
            SignedMessage::Proposal { body, .. } => body.signing_bytes(),
            SignedMessage::Vote { body, .. } => body.signing_bytes(),
        }
    }

    fn signature(&self) -> &Signature {
        match self {
            SignedMessage::Proposal { signature, .. } | SignedMessage::Vote { signature, .. } => {
                signature
            }
        }
    }

    /// Whether both sign the same content (whatever the signature bytes).
    fn same_content(&self, other: &SignedMessage) -> bool {
        match (self, other) {
            (SignedMessage::Proposal { body: a, .. }, SignedMessage::Proposal { body: b, .. }) => {
                a == b
            }
            (SignedMessage::Vote { body: a, .. }, SignedMessage::Vote { body: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// Report that `validator` signed both `a` and `b`: two proposals, or two votes of one
/// kind, for one height and round, with different content. Anyone may report (the
/// sender pays the fee as for any call); a node reports what its consensus core
/// detects, from its validator key's account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReportEquivocation {
    /// The validator that signed both.
    pub validator: Address,
    /// The first message (boxed to keep `Call` small; encoded as the message itself).
    pub a: Box<SignedMessage>,
    /// The conflicting one.
    pub b: Box<SignedMessage>,
}

impl CallDef for ReportEquivocation {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        report(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let (_, height, round) = self.a.position();
        format!(
            "report {} signing two {}s at height {height} round {round}",
            self.validator,
            self.a.kind()
        )
    }
}

/// Equivocation evidence was recorded.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EquivocationReported {
    /// The validator that signed both messages.
    pub validator: Address,
    /// Who reported it.
    pub reporter: Address,
    /// The height both messages are for.
    pub height: Height,
    /// The round both are for.
    pub round: u32,
    /// The first message (boxed to keep `Event` small; encoded as the message itself).
    pub a: Box<SignedMessage>,
    /// The conflicting one.
    pub b: Box<SignedMessage>,
}

impl EventDef for EquivocationReported {
    fn accounts(&self) -> Vec<Address> {
        vec![self.validator, self.reporter]
    }
}

/// Stored evidence: the event's content and the block that recorded it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Evidence {
    /// The validator that signed both messages.
    pub validator: Address,
    /// The height both are for.
    pub height: Height,
    /// The round both are for.
    pub round: u32,
    /// The first message.
    pub a: SignedMessage,
    /// The conflicting one.
    pub b: SignedMessage,
    /// Who reported it.
    pub reporter: Address,
    /// The block that recorded it.
    pub reported_at: Height,
}

fn invalid(reason: impl Into<String>) -> CallError {
    CallError::InvalidEvidence {
        reason: reason.into(),
    }
}

/// Checks a report against the chain `chain_id` at block `height` (the block that
/// would record it), with `set_at` the validator set that signs a given height (or
/// why it is not known). Pure: the node runs it before reporting, the call when
/// executing.
pub fn check(
    report: &ReportEquivocation,
    chain_id: &Hash,
    height: Height,
    set_at: impl FnOnce(Height) -> Result<Vec<ValidatorInfo>, CallError>,
) -> Result<(), CallError> {
    let (a, b) = (&report.a, &report.b);
    if a.kind() != b.kind() {
        return Err(invalid(format!(
            "a is a {} and b a {}: evidence needs two of one kind",
            a.kind(),
            b.kind()
        )));
    }
    let (chain_a, height_a, round_a) = a.position();
    let (chain_b, height_b, round_b) = b.position();
    if chain_a != *chain_id || chain_b != *chain_id {
        return Err(invalid("a message is signed for another chain"));
    }
    if (height_a, round_a) != (height_b, round_b) {
        return Err(invalid(format!(
            "a is for height {height_a} round {round_a}, b for height {height_b} round {round_b}"
        )));
    }
    if a.same_content(b) {
        return Err(invalid(
            "a and b sign the same content: that is no equivocation",
        ));
    }
    if height_a == 0 || height_a > height {
        return Err(invalid(format!(
            "height {height_a} is not a signed height up to this block ({height})"
        )));
    }
    let set = set_at(height_a)?;
    if !set.iter().any(|v| v.key == report.validator) {
        return Err(invalid(format!(
            "{} is not in the validator set of height {height_a}",
            report.validator
        )));
    }
    for (name, m) in [("a", a), ("b", b)] {
        if crypto::verify(&report.validator, &m.signing_bytes(), m.signature()).is_err() {
            return Err(invalid(format!(
                "{name}'s signature does not verify against {}",
                report.validator
            )));
        }
    }
    Ok(())
}

/// The set that signed `height`, from the state executing a later block: the set in
/// effect signs every height after its `since`; the one before the last change signs
/// back to the change before it. Evidence older than that cannot be checked any more.
pub fn set_that_signed<S: StateRead + ?Sized>(
    state: &S,
    height: Height,
) -> Result<Result<Vec<ValidatorInfo>, CallError>, StateError> {
    let too_old = || {
        Ok(Err(invalid(format!(
            "height {height} was signed by a validator set older than the last change; \
             its evidence can no longer be checked"
        ))))
    };
    let Some(set) = validator_set(state)? else {
        return too_old();
    };
    if height > set.since {
        return Ok(Ok(set.infos()));
    }
    let Some(history) = set_history(state)? else {
        // The genesis set (since = 1) signs from height 1.
        return Ok(Ok(set.infos()));
    };
    let before_last = history.changes.iter().rev().nth(1).copied().unwrap_or(0);
    if height > before_last {
        return match consensus_validators(state, set.since)? {
            Some(previous) => Ok(Ok(previous)),
            None => too_old(),
        };
    }
    too_old()
}

fn report<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    r: &ReportEquivocation,
    events: &mut Vec<Event>,
) -> Res<()> {
    let (_, height, round) = r.a.position();
    // Read only for a height `check` accepts (it asks for no set otherwise).
    let set = if height > 0 && height <= cx.height {
        set_that_signed(ov, height)?
    } else {
        Ok(Vec::new())
    };
    check(r, &cx.chain_id, cx.height, |_| set)?;
    let key = storage::evidence(&r.validator, height);
    if get::<Evidence, _>(ov, &key)?.is_some() {
        return Err(CallError::EvidenceAlreadyReported {
            validator: r.validator,
            height,
        }
        .into());
    }
    let evidence = Evidence {
        validator: r.validator,
        height,
        round,
        a: *r.a,
        b: *r.b,
        reporter: cx.sender,
        reported_at: cx.height,
    };
    ov.put(key, &evidence)?;
    events.push(Event::EquivocationReported(EquivocationReported {
        validator: r.validator,
        reporter: cx.sender,
        height,
        round,
        a: r.a.clone(),
        b: r.b.clone(),
    }));
    Ok(())
}

/// Whether evidence against `validator` at `height` is recorded.
pub fn is_reported<S: StateRead + ?Sized>(
    state: &S,
    validator: &Address,
    height: Height,
) -> Result<bool, StateError> {
    Ok(read_record::<Evidence, _>(state, &storage::evidence(validator, height))?.is_some())
}

/// Recorded evidence, against `validator` or anyone, at most [`LISTED_MAX`], in
/// descending (validator, height) order: newest heights first within a validator.
pub fn evidence<S: StateScan + ?Sized>(
    state: &S,
    validator: Option<&Address>,
) -> Result<Vec<Evidence>, StateError> {
    let prefix = match validator {
        Some(v) => storage::evidence_of(v),
        None => storage::all(),
    };
    state
        .scan_prefix_rev(&prefix, None, LISTED_MAX)?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}
