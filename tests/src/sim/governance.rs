//! The set-change fault mix's clients: real governance transactions that add a
//! validator (a joiner that starts late and must catch up) and remove one that is down,
//! re-sent until the chain enacts both (docs/simulation.md).

use jeon_node::chain::Chain;
use jeon_runtime::calls;
use jeon_runtime::governance::{self, Change, ProposalStatus};
use jeon_runtime::tx::{Call, TxBody};
use jeon_runtime::{Address, Hash, Keypair, Role, SignedTx, StateExt};

/// Heights a governance transaction stays includable.
const EXPIRY_HEIGHTS: u64 = 50;
/// Heights a proposal stays open.
const VOTING_HEIGHTS: u64 = 500;
/// The most fee a transaction offers (the presets' base fee ceiling).
const FEE_LIMIT: u64 = jeon_genesis::presets::BASE_FEE_MAX;

/// The label of the joiner's key.
pub(crate) const JOINER_LABEL: &str = "sim-joiner";

/// How far the set change has got, as one node's committed state shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Progress {
    /// The joiner is in the set in effect.
    pub(crate) joined: bool,
    /// The removed validator is out of it.
    pub(crate) removed: bool,
    /// Both, and consensus already signs with the new set (the head is past the
    /// set's `since`, so the block after the change header was signed by it).
    pub(crate) in_force: bool,
}

/// The proposer and voters: every validator but the one removed.
pub(crate) struct Governor {
    chain_id: Hash,
    voters: Vec<Keypair>,
    joiner: Address,
    removed: Address,
    changes: Vec<Change>,
}

impl Governor {
    /// Proposals to add `joiner` (as a partner, then a validator of power 1) and to
    /// remove `removed`, proposed by the first of `voters` and voted by all of them.
    pub(crate) fn new(
        chain_id: Hash,
        voters: Vec<Keypair>,
        joiner: Address,
        removed: Address,
    ) -> Governor {
        let changes = vec![
            Change::AddPartner {
                name: "Sim Joiner".into(),
                account: joiner,
                roles: vec![Role::Validator],
                jurisdiction: "KR".into(),
            },
            Change::AddValidator {
                name: "sim-joiner".into(),
                key: joiner,
                peer_id: jeon_genesis::peer_id_of(&joiner),
                power: 1,
            },
            Change::RemoveValidator { key: removed },
        ];
        Governor {
            chain_id,
            voters,
            joiner,
            removed,
            changes,
        }
    }

    /// How far the change has got on the node behind `shared`.
    pub(crate) fn progress(&self, shared: &Chain) -> Progress {
        let Ok(Some(set)) = governance::validator_set(&*shared.db) else {
            return Progress::default();
        };
        let joined = set.get(&self.joiner).is_some();
        let removed = set.get(&self.removed).is_none();
        let in_force = joined && removed && shared.head().height > set.since;
        Progress {
            joined,
            removed,
            in_force,
        }
    }

    /// What to send now, judged from the committed state of the node behind `shared`:
    /// the proposals not yet made, and a vote from each voter on each open proposal it
    /// has not voted on; nonces from the committed state, so whatever was lost is sent
    /// again with the same nonce.
    pub(crate) fn batch(&self, shared: &Chain) -> Vec<SignedTx> {
        let db = &*shared.db;
        let head = shared.head().height;
        let mut nonces: Vec<u64> = self
            .voters
            .iter()
            .map(|k| db.nonce(&k.address()).unwrap_or(0))
            .collect();
        let mut txs = Vec::new();
        let mut sign = |who: usize, call: Call, nonces: &mut Vec<u64>| {
            let key = &self.voters[who];
            let body = TxBody {
                chain_id: self.chain_id,
                sender: key.address(),
                nonce: nonces[who],
                fee_limit: FEE_LIMIT,
                expiry: head + EXPIRY_HEIGHTS,
                call,
                fee_payer: None,
            };
            nonces[who] += 1;
            txs.push(body.sign(key));
        };
        for (id, change) in self.changes.iter().enumerate() {
            let id = id as u64;
            let Ok(proposal) = governance::proposal(db, id) else {
                return Vec::new();
            };
            let Some(proposal) = proposal else {
                // Proposals take ids in the order the proposer's nonces give them.
                let call = Call::Propose(calls::Propose {
                    change: change.clone(),
                    deadline: head + VOTING_HEIGHTS,
                    activation: 0,
                });
                sign(0, call, &mut nonces);
                continue;
            };
            if proposal.status != ProposalStatus::Open {
                continue;
            }
            for who in 0..self.voters.len() {
                let me = self.voters[who].address();
                if proposal.ballots.iter().any(|b| b.validator == me) {
                    continue;
                }
                sign(
                    who,
                    Call::Vote(calls::Vote {
                        proposal: id,
                        yes: true,
                    }),
                    &mut nonces,
                );
            }
        }
        txs
    }
}
