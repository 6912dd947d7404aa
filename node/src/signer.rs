//! The signer guard: the only path from the validator's key to a consensus signature.
//!
//! Before a signature leaves, the guard checks that signing is allowed at all (the
//! [`gate`]: the chain is not behind the record, no doppelganger was seen) and that it
//! is safe, i.e. that the message is strictly after the last one signed in (height,
//! round, step) order, or is the very same message again; it then persists that record
//! durably in its own files ([`state`]), and only then returns the signature. After a
//! crash and restart, or the loss of the chain database, the record is read back, so
//! the validator can never sign two conflicting messages for one (height, round, step).

pub mod gate;
pub mod state;

use jeon_runtime::block::{ProposalBody, VoteBody, VoteKind};
use jeon_runtime::{Address, Hash, Height, Keypair, Signature};

pub use gate::{Observed, SigningGate, SigningStatus, Slot, DOPPELGANGER_WINDOW_MS};
pub use state::{
    FileSignerStore, MemSignerStore, Persisted, SignedRecord, SignerStore, SignerStoreError,
};

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
    /// The gate is closed at this height ([`SigningStatus`] says why).
    #[error("not signing at height {height}: {status:?}")]
    NotSigning {
        /// The height asked for.
        height: Height,
        /// Why not.
        status: SigningStatus,
    },
    /// The record could not be persisted, so nothing was signed.
    #[error("could not persist the signing record: {0}")]
    Store(#[from] SignerStoreError),
}

/// Whether signing `attempt` is safe after `last`: strictly later in (height, round,
/// step), or the identical message (re-broadcasting it is harmless).
pub fn is_safe(last: Option<&SignedRecord>, attempt: &SignedRecord) -> bool {
    let Some(last) = last else { return true };
    let key = |r: &SignedRecord| (r.height, r.round, r.step);
    key(attempt) > key(last) || (key(attempt) == key(last) && attempt.block == last.block)
}

/// The step of a vote kind.
pub fn vote_step(kind: VoteKind) -> u8 {
    match kind {
        VoteKind::Prevote => STEP_PREVOTE,
        VoteKind::Precommit => STEP_PRECOMMIT,
    }
}

/// The step of a proposal.
pub const PROPOSAL_STEP: u8 = STEP_PROPOSAL;

/// The guard.
pub struct SignerGuard {
    key: Keypair,
    store: Box<dyn SignerStore>,
    last: Option<SignedRecord>,
    /// The lock proof read at start (for the replica to restore its lock).
    loaded_proof: Option<Vec<u8>>,
    gate: SigningGate,
}

impl SignerGuard {
    /// Loads the last-signed record from `store`. The gate stays closed
    /// ([`SigningStatus::NotValidator`]) until [`SignerGuard::begin`].
    pub fn open(key: Keypair, store: Box<dyn SignerStore>) -> Result<Self, SignerStoreError> {
        let persisted = store.load()?;
        let (last, loaded_proof) = match persisted {
            Some(p) => (Some(p.record), p.lock_proof),
            None => (None, None),
        };
        Ok(SignerGuard {
            key,
            store,
            last,
            loaded_proof,
            gate: SigningGate::not_validator(),
        })
    }

    /// Sets up the gate for a start at `head` at `now_ms` ([`SigningGate::new`]).
    pub fn begin(&mut self, head: Height, networked: bool, now_ms: u64) -> SigningStatus {
        self.gate = SigningGate::new(self.last.as_ref(), head, networked, now_ms);
        self.gate.status()
    }

    /// The gate.
    pub fn gate(&self) -> &SigningGate {
        &self.gate
    }

    /// The gate, to update with the head and clock or show a message by our key.
    pub fn gate_mut(&mut self) -> &mut SigningGate {
        &mut self.gate
    }

    /// The validator's key as an address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The last record signed.
    pub fn last(&self) -> Option<&SignedRecord> {
        self.last.as_ref()
    }

    /// The lock proof read at start, once (the replica restores it and drops it).
    pub fn take_loaded_proof(&mut self) -> Option<Vec<u8>> {
        self.loaded_proof.take()
    }

    fn guard(
        &mut self,
        attempt: SignedRecord,
        message: &[u8],
        locked: Option<&[u8]>,
    ) -> Result<Signature, SignError> {
        if !self.gate.allows(attempt.height) {
            return Err(SignError::NotSigning {
                height: attempt.height,
                status: self.gate.status(),
            });
        }
        if !is_safe(self.last.as_ref(), &attempt) {
            // is_safe(None, _) is true, so `last` is present here.
            let last = self.last.unwrap_or(attempt);
            return Err(SignError::Conflict {
                attempt: Box::new(attempt),
                last: Box::new(last),
            });
        }
        if self.last != Some(attempt) {
            // Durable before the signature exists: a crash after this line leaves a
            // record of something maybe never sent, which only makes us refuse more.
            self.store.save(&attempt, locked)?;
            self.last = Some(attempt);
        }
        let slot = (attempt.height, attempt.round, attempt.step);
        self.gate.signed(slot, attempt.block);
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
        // A precommit for a block is the lock (L36); anything else keeps the lock held
        // at this height.
        let lock = match (vote.kind, vote.block) {
            (VoteKind::Precommit, Some(block)) => Some((vote.round, block)),
            _ => self.lock_at(vote.height),
        };
        let attempt = SignedRecord {
            height: vote.height,
            round: vote.round,
            step: vote_step(vote.kind),
            block: vote.block,
            lock,
        };
        let locked = locked.filter(|_| vote.kind == VoteKind::Precommit && vote.block.is_some());
        self.guard(attempt, &vote.signing_bytes(), locked.as_deref())
    }

    /// Signs a transaction from the validator's account (reporting evidence). A
    /// transaction's signing bytes have their own domain (`"jeon/tx/v1"`), so this
    /// can never stand for a consensus signature; no record is needed.
    pub fn sign_tx(&self, body: jeon_runtime::TxBody) -> jeon_runtime::SignedTx {
        body.sign(&self.key)
    }

    /// TEST ONLY: signs `message` without asking or updating the record: what a
    /// Byzantine validator does ([`crate::byzantine`]). Compiled only with the
    /// `byzantine` or `test-hooks` feature.
    #[cfg(any(test, feature = "test-hooks", feature = "byzantine"))]
    pub fn sign_past_the_guard_for_test(&self, message: &[u8]) -> Signature {
        self.key.sign(message)
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
        self.guard(attempt, &proposal.signing_bytes(), None)
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

    fn vote(height: Height, round: u32, kind: VoteKind, block: Option<u8>) -> VoteBody {
        VoteBody {
            chain_id: Hash::ZERO,
            height,
            round,
            kind,
            block: block.map(|b| Hash([b; 32])),
        }
    }

    /// A guard on `store`, started as a lone validator at genesis (gate open).
    fn guard(store: &MemSignerStore) -> SignerGuard {
        let key = Keypair::from_seed_label("validator");
        let mut g = SignerGuard::open(key, Box::new(store.clone())).expect("mem store");
        let head = g.last().map_or(0, |l| l.height.saturating_sub(1));
        g.begin(head, false, 0);
        g
    }

    #[test]
    fn a_conflicting_vote_for_the_same_step_is_refused() {
        let store = MemSignerStore::new();
        let mut g = guard(&store);
        assert!(g.sign_vote(&vote(1, 0, VoteKind::Prevote, Some(1))).is_ok());
        let err = g.sign_vote(&vote(1, 0, VoteKind::Prevote, Some(2)));
        assert!(matches!(err, Err(SignError::Conflict { .. })));
        assert!(g.sign_vote(&vote(1, 0, VoteKind::Prevote, None)).is_err());
    }

    #[test]
    fn the_same_vote_may_be_signed_again_with_the_same_signature() {
        let store = MemSignerStore::new();
        let mut g = guard(&store);
        let a = g
            .sign_vote(&vote(1, 0, VoteKind::Prevote, Some(1)))
            .expect("first");
        let b = g
            .sign_vote(&vote(1, 0, VoteKind::Prevote, Some(1)))
            .expect("again");
        assert_eq!(a, b);
        assert_eq!(
            store.saves(),
            1,
            "signing the same message again writes nothing"
        );
    }

    #[test]
    fn signing_never_goes_back_in_height_round_or_step() {
        let store = MemSignerStore::new();
        let mut g = guard(&store);
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
        let store = MemSignerStore::new();
        let mut g = guard(&store);
        assert!(g
            .sign_vote(&vote(3, 0, VoteKind::Precommit, Some(7)))
            .is_ok());
        drop(g);
        let mut restarted = guard(&store);
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
        let store = MemSignerStore::new();
        let mut g = guard(&store);
        assert!(g.sign_vote(&vote(5, 0, VoteKind::Prevote, Some(7))).is_ok());
        assert_eq!(g.lock_at(5), None, "a prevote is not a lock");
        let proof = b"block and polka".to_vec();
        assert!(g
            .sign_vote_locking(
                &vote(5, 0, VoteKind::Precommit, Some(7)),
                Some(proof.clone())
            )
            .is_ok());
        assert!(g.sign_vote(&vote(5, 1, VoteKind::Prevote, None)).is_ok());
        assert!(g.sign_vote(&vote(5, 1, VoteKind::Precommit, None)).is_ok());
        drop(g);
        let mut restarted = guard(&store);
        assert_eq!(restarted.lock_at(5), Some((0, Hash([7; 32]))));
        assert_eq!(restarted.lock_at(6), None, "a lock belongs to its height");
        assert_eq!(
            restarted.take_loaded_proof(),
            Some(proof),
            "the proof is kept"
        );
    }

    #[test]
    fn the_record_is_durable_before_the_signature_is_returned() {
        let store = MemSignerStore::new();
        let mut g = guard(&store);
        let v = vote(1, 0, VoteKind::Prevote, Some(1));
        assert!(g.sign_vote(&v).is_ok());
        let stored = store.persisted().map(|p| p.record);
        assert_eq!(
            stored.map(|r| (r.height, r.round, r.step, r.block)),
            Some((1, 0, 1, v.block)),
            "the store holds the record as soon as the signature exists"
        );
        // A store that cannot write means no signature at all.
        store.set_failing(true);
        let err = g.sign_vote(&vote(1, 0, VoteKind::Precommit, Some(1)));
        assert!(matches!(err, Err(SignError::Store(_))), "{err:?}");
        assert_eq!(store.persisted().map(|p| p.record.step), Some(1));
        store.set_failing(false);
        // Nothing was recorded in memory either: the precommit can still be signed.
        assert!(g
            .sign_vote(&vote(1, 0, VoteKind::Precommit, Some(1)))
            .is_ok());
    }

    #[test]
    fn a_chain_that_lost_blocks_gets_no_signature_up_to_the_record() {
        let store = MemSignerStore::new();
        let mut g = guard(&store);
        assert!(g.sign_vote(&vote(9, 0, VoteKind::Prevote, Some(1))).is_ok());
        drop(g);
        let key = Keypair::from_seed_label("validator");
        let mut restarted = SignerGuard::open(key, Box::new(store.clone())).expect("mem");
        // db/ deleted: the chain restarts from genesis.
        let status = restarted.begin(0, false, 0);
        assert_eq!(
            status,
            SigningStatus::WaitingForChain {
                record_height: 9,
                head: 0
            }
        );
        let err = restarted.sign_vote(&vote(1, 0, VoteKind::Prevote, Some(2)));
        assert!(
            matches!(err, Err(SignError::NotSigning { height: 1, .. })),
            "{err:?}"
        );
        let err = restarted.sign_vote(&vote(9, 1, VoteKind::Prevote, Some(2)));
        assert!(
            matches!(err, Err(SignError::NotSigning { height: 9, .. })),
            "{err:?}"
        );
        assert_eq!(
            restarted.gate_mut().update(9, 9, 0),
            Some(SigningStatus::Active)
        );
        assert!(restarted
            .sign_vote(&vote(10, 0, VoteKind::Prevote, Some(2)))
            .is_ok());
    }
}
