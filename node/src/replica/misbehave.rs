//! TEST ONLY: how a Byzantine replica misbehaves ([`crate::byzantine`]). Compiled only
//! with the `byzantine` or `test-hooks` feature; the honest code calls the same methods,
//! which are no-ops without them (`replica.rs`).

use jeon_runtime::Hash;

use super::{Replica, ReplicaOutput};
use crate::byzantine::{Behaviour, LIE_SYNC_HEAD_AHEAD};
use crate::wire::{ConsensusMsg, SignedProposal, SignedVoteMsg, StatusMsg};

/// The other value an equivocating voter signs for a block vote is nil; for a nil vote,
/// this block (which nobody holds).
const OTHER_BLOCK: Hash = Hash([0xEE; 32]);

impl Replica {
    /// Makes this replica misbehave as `behaviour` from now on: the simulator's
    /// Byzantine validators. Never in a node (there, `JEON_BYZANTINE`).
    pub fn set_byzantine_for_test(&mut self, behaviour: Behaviour) {
        self.byzantine = Some(behaviour);
        self.doppelganger_protection = false;
    }

    /// A node told to misbehave (`JEON_BYZANTINE`) does not stop at messages by its
    /// key it did not sign through its guard: its own misbehaviour, relayed back.
    pub(super) fn misbehaving_from_the_start(mut self) -> Self {
        if self.byzantine.is_some() {
            self.doppelganger_protection = false;
        }
        self
    }

    /// After signing `vote`: sends a conflicting vote too (equivocate), or asks for the
    /// vote not to be sent (withhold; returns true).
    pub(super) fn misbehave_vote(
        &self,
        vote: &SignedVoteMsg,
        out: &mut Vec<ReplicaOutput>,
    ) -> bool {
        match self.byzantine {
            Some(Behaviour::WithholdVotes) => true,
            Some(Behaviour::Equivocate) => {
                let Some(guard) = self.guard.as_ref() else {
                    return false;
                };
                let mut body = vote.body;
                body.block = match body.block {
                    Some(_) => None,
                    None => Some(OTHER_BLOCK),
                };
                let other = SignedVoteMsg {
                    body,
                    validator: vote.validator,
                    signature: guard.sign_past_the_guard_for_test(&body.signing_bytes()),
                };
                out.push(ReplicaOutput::Broadcast(ConsensusMsg::Vote(other)));
                false
            }
            _ => false,
        }
    }

    /// After signing `proposal`: sends a second proposal for a copy of its block one
    /// millisecond later (equivocate), or sends a copy with a wrong app hash instead of
    /// it (invalid block; returns true).
    pub(super) fn misbehave_proposal(
        &self,
        proposal: &SignedProposal,
        out: &mut Vec<ReplicaOutput>,
    ) -> bool {
        let (replace, edit): (bool, fn(&mut jeon_runtime::Header)) = match self.byzantine {
            Some(Behaviour::Equivocate) => (false, |h| h.time_ms += 1),
            Some(Behaviour::InvalidBlock) => (true, |h| h.app_hash = Hash([0xBA; 32])),
            _ => return false,
        };
        let Some(guard) = self.guard.as_ref() else {
            return false;
        };
        let mut other = proposal.clone();
        edit(&mut other.block.header);
        other.body.block = other.block.header.hash();
        other.signature = guard.sign_past_the_guard_for_test(&other.body.signing_bytes());
        out.push(ReplicaOutput::Broadcast(ConsensusMsg::Proposal(Box::new(
            other,
        ))));
        replace
    }

    /// The head a lying node announces: far above its own.
    pub(super) fn misbehave_status(&self, mut status: StatusMsg) -> StatusMsg {
        if self.byzantine == Some(Behaviour::LieSync) {
            status.height = status.height.saturating_add(LIE_SYNC_HEAD_AHEAD);
        }
        status
    }

    /// Whether this replica answers block sync with lies.
    pub fn lies_in_sync(&self) -> bool {
        self.byzantine == Some(Behaviour::LieSync)
    }
}
