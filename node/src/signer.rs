//! The signer guard: the only path from the validator's key to a consensus signature.
//!
//! Before a signature leaves, the guard checks that signing is safe, i.e. that the
//! message is strictly after the last one signed in (height, round, step) order, or is
//! the very same message again; it then persists that record, flushed, and only then
//! returns the signature. After a crash and restart the record is read back, so the
//! validator can never sign two conflicting messages for one (height, round, step).

use std::sync::Arc;

use jeon_runtime::block::{ProposalBody, VoteBody, VoteKind};
use jeon_runtime::{Address, Hash, Height, Keypair, Signature};

use crate::store::{ChainDb, SignedRecord, Store, StoreError};

/// Step order within a round.
const STEP_PROPOSAL: u8 = 0;
const STEP_PREVOTE: u8 = 1;
const STEP_PRECOMMIT: u8 = 2;

/// Why the guard refused to sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// Signing would conflict with, or go back behind, something already signed.
    #[error("refusing to sign {attempt:?}: already signed {last:?}")]
    Conflict {
        /// What was asked.
        attempt: Box<SignedRecord>,
        /// What was signed before.
        last: Box<SignedRecord>,
    },
    /// The record could not be persisted, so nothing was signed.
    #[error("could not persist the signing record: {0}")]
    Store(#[from] StoreError),
}

/// Whether signing `attempt` is safe after `last`: strictly later in (height, round,
/// step), or the identical message (re-broadcasting it is harmless).
pub fn is_safe(last: Option<&SignedRecord>, attempt: &SignedRecord) -> bool {
    let Some(last) = last else { return true };
    let key = |r: &SignedRecord| (r.height, r.round, r.step);
    key(attempt) > key(last) || (key(attempt) == key(last) && attempt.block == last.block)
}

/// The guard.
pub struct SignerGuard<S: Store> {
    key: Keypair,
    db: Arc<ChainDb<S>>,
    last: Option<SignedRecord>,
}

impl<S: Store> SignerGuard<S> {
    /// Loads the last-signed record from the store.
    pub fn new(key: Keypair, db: Arc<ChainDb<S>>) -> Result<Self, StoreError> {
        let last = db.last_signed()?;
        Ok(SignerGuard { key, db, last })
    }

    /// The validator's key as an address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The last record signed.
    pub fn last(&self) -> Option<&SignedRecord> {
        self.last.as_ref()
    }

    fn guard(&mut self, attempt: SignedRecord, message: &[u8]) -> Result<Signature, SignError> {
        self.guard_locking(attempt, message, None)
    }

    fn guard_locking(
        &mut self,
        attempt: SignedRecord,
        message: &[u8],
        locked: Option<Vec<u8>>,
    ) -> Result<Signature, SignError> {
        if !is_safe(self.last.as_ref(), &attempt) {
            // is_safe(None, _) is true, so `last` is present here.
            let last = self.last.unwrap_or(attempt);
            return Err(SignError::Conflict {
                attempt: Box::new(attempt),
                last: Box::new(last),
            });
        }
        if self.last != Some(attempt) {
            self.db.set_last_signed_locking(&attempt, locked)?;
            self.last = Some(attempt);
        }
        Ok(self.key.sign(message))
    }

    /// Signs a vote.
    pub fn sign_vote(&mut self, vote: &VoteBody) -> Result<Signature, SignError> {
        self.sign_vote_locking(vote, None)
    }

    /// Signs a vote; with a precommit for `locked` (the block it names), persists that
    /// block with the record, so a restart can re-propose what it is locked on.
    pub fn sign_vote_locking(
        &mut self,
        vote: &VoteBody,
        locked: Option<Vec<u8>>,
    ) -> Result<Signature, SignError> {
        let step = match vote.kind {
            VoteKind::Prevote => STEP_PREVOTE,
            VoteKind::Precommit => STEP_PRECOMMIT,
        };
        // A precommit for a block is the lock (L36); anything else keeps the lock held
        // at this height.
        let lock = match (vote.kind, vote.block) {
            (VoteKind::Precommit, Some(block)) => Some((vote.round, block)),
            _ => self.lock_at(vote.height),
        };
        let attempt = SignedRecord {
            height: vote.height,
            round: vote.round,
            step,
            block: vote.block,
            lock,
        };
        let locked = locked.filter(|_| vote.kind == VoteKind::Precommit && vote.block.is_some());
        self.guard_locking(attempt, &vote.signing_bytes(), locked)
    }

    /// Signs a proposal.
    pub fn sign_proposal(&mut self, proposal: &ProposalBody) -> Result<Signature, SignError> {
        let attempt = SignedRecord {
            height: proposal.height,
            round: proposal.round,
            step: STEP_PROPOSAL,
            block: Some(proposal.block),
            lock: self.lock_at(proposal.height),
        };
        self.guard(attempt, &proposal.signing_bytes())
    }

    /// The lock recorded at `height`, if the last record is of that height.
    pub fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        self.last
            .filter(|l| l.height == height)
            .and_then(|l| l.lock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    fn vote(height: Height, round: u32, kind: VoteKind, block: Option<u8>) -> VoteBody {
        VoteBody {
            chain_id: Hash::ZERO,
            height,
            round,
            kind,
            block: block.map(|b| Hash([b; 32])),
        }
    }

    fn guard(db: &Arc<ChainDb<MemStore>>) -> SignerGuard<MemStore> {
        SignerGuard::new(Keypair::from_seed_label("validator"), db.clone()).expect("mem store")
    }

    #[test]
    fn a_conflicting_vote_for_the_same_step_is_refused() {
        let db = Arc::new(ChainDb::new(MemStore::new()));
        let mut g = guard(&db);
        assert!(g.sign_vote(&vote(1, 0, VoteKind::Prevote, Some(1))).is_ok());
        let err = g.sign_vote(&vote(1, 0, VoteKind::Prevote, Some(2)));
        assert!(matches!(err, Err(SignError::Conflict { .. })));
        assert!(g.sign_vote(&vote(1, 0, VoteKind::Prevote, None)).is_err());
    }

    #[test]
    fn the_same_vote_may_be_signed_again_with_the_same_signature() {
        let db = Arc::new(ChainDb::new(MemStore::new()));
        let mut g = guard(&db);
        let a = g
            .sign_vote(&vote(1, 0, VoteKind::Prevote, Some(1)))
            .expect("first");
        let b = g
            .sign_vote(&vote(1, 0, VoteKind::Prevote, Some(1)))
            .expect("again");
        assert_eq!(a, b);
    }

    #[test]
    fn signing_never_goes_back_in_height_round_or_step() {
        let db = Arc::new(ChainDb::new(MemStore::new()));
        let mut g = guard(&db);
        assert!(g
            .sign_vote(&vote(2, 1, VoteKind::Precommit, Some(1)))
            .is_ok());
        assert!(g
            .sign_vote(&vote(2, 1, VoteKind::Prevote, Some(1)))
            .is_err());
        assert!(g
            .sign_vote(&vote(2, 0, VoteKind::Precommit, Some(1)))
            .is_err());
        assert!(g
            .sign_vote(&vote(1, 5, VoteKind::Precommit, Some(1)))
            .is_err());
        assert!(g.sign_vote(&vote(2, 2, VoteKind::Prevote, Some(3))).is_ok());
    }

    #[test]
    fn after_a_restart_the_guard_remembers_what_it_signed() {
        let db = Arc::new(ChainDb::new(MemStore::new()));
        let mut g = guard(&db);
        assert!(g
            .sign_vote(&vote(3, 0, VoteKind::Precommit, Some(7)))
            .is_ok());
        drop(g);
        let mut restarted = guard(&db);
        assert!(restarted
            .sign_vote(&vote(3, 0, VoteKind::Precommit, Some(8)))
            .is_err());
        assert!(restarted
            .sign_vote(&vote(3, 0, VoteKind::Precommit, Some(7)))
            .is_ok());
        assert!(restarted
            .sign_vote(&vote(4, 0, VoteKind::Prevote, Some(8)))
            .is_ok());
    }

    #[test]
    fn the_lock_survives_later_votes_and_a_restart() {
        let db = Arc::new(ChainDb::new(MemStore::new()));
        let mut g = guard(&db);
        assert!(g.sign_vote(&vote(5, 0, VoteKind::Prevote, Some(7))).is_ok());
        assert_eq!(g.lock_at(5), None, "a prevote is not a lock");
        assert!(g
            .sign_vote(&vote(5, 0, VoteKind::Precommit, Some(7)))
            .is_ok());
        assert!(g.sign_vote(&vote(5, 1, VoteKind::Prevote, None)).is_ok());
        assert!(g.sign_vote(&vote(5, 1, VoteKind::Precommit, None)).is_ok());
        drop(g);
        let restarted = guard(&db);
        assert_eq!(restarted.lock_at(5), Some((0, Hash([7; 32]))));
        assert_eq!(restarted.lock_at(6), None, "a lock belongs to its height");
    }
}
