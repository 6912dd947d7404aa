//! The safety checkers, run after every event: no two different final blocks at one
//! height, equal app hashes at equal heights, and no honest validator signing two
//! different messages for one (height, round, step).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;

use jeon_node::chain::Chain;
use jeon_node::wire::ConsensusMsg;
use jeon_runtime::block::VoteKind;
use jeon_runtime::{Address, Hash, Height};

/// What the simulator found wrong. The first three are safety violations; the others
/// are a replica or its store stopping, or the cluster not making progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Two honest nodes hold different final blocks at one height.
    Fork {
        /// The height.
        height: Height,
        /// The node that finalized a block there first, and that block.
        first: (String, Hash),
        /// The node that finalized a different one, and that block.
        second: (String, Hash),
    },
    /// Two honest nodes computed different app hashes after the same height.
    AppHashMismatch {
        /// The height.
        height: Height,
        /// The first node and its app hash.
        first: (String, Hash),
        /// The disagreeing node and its app hash.
        second: (String, Hash),
    },
    /// An honest validator signed two different messages for one slot.
    DoubleSign {
        /// The validator.
        validator: Address,
        /// The node that sent the second message.
        node: String,
        /// Height, round and step (0 proposal, 1 prevote, 2 precommit).
        slot: (Height, u32, u8),
        /// The first message's block and valid round.
        first: (Option<Hash>, Option<u32>),
        /// The second's.
        second: (Option<Hash>, Option<u32>),
    },
    /// A replica returned an error: it had to stop.
    ReplicaStopped {
        /// The node.
        node: String,
        /// The error.
        error: String,
    },
    /// A node's store failed or is inconsistent (a block below its head is missing).
    StoreBroken {
        /// The node.
        node: String,
        /// What failed.
        error: String,
    },
    /// The honest nodes did not all reach the target height, with equal heads, within
    /// the liveness phase.
    NoProgress {
        /// The height every honest node had to reach.
        target: Height,
        /// Each honest node's name, head and consensus (height, round).
        heads: Vec<(String, Height, (Height, u32))>,
    },
}

impl Violation {
    /// Whether this is a safety violation (fork, app hash, double signing).
    pub fn is_safety(&self) -> bool {
        matches!(
            self,
            Violation::Fork { .. }
                | Violation::AppHashMismatch { .. }
                | Violation::DoubleSign { .. }
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Fork {
                height,
                first,
                second,
            } => write!(
                f,
                "fork at height {height}: {} finalized {}, {} finalized {}",
                first.0, first.1, second.0, second.1
            ),
            Violation::AppHashMismatch {
                height,
                first,
                second,
            } => write!(
                f,
                "app hash after height {height}: {} has {}, {} has {}",
                first.0, first.1, second.0, second.1
            ),
            Violation::DoubleSign {
                validator,
                node,
                slot,
                first,
                second,
            } => write!(
                f,
                "validator {validator} (node {node}) signed two messages for (height, round, \
                 step) {slot:?}: {first:?} then {second:?}"
            ),
            Violation::ReplicaStopped { node, error } => {
                write!(f, "replica {node} stopped: {error}")
            }
            Violation::StoreBroken { node, error } => write!(f, "store of {node}: {error}"),
            Violation::NoProgress { target, heads } => write!(
                f,
                "no liveness: honest nodes had to reach height {target} with equal heads; \
                 (node, head, (height, round)): {heads:?}"
            ),
        }
    }
}

type Slot = (Address, Height, u32, u8);
type Signed = (Option<Hash>, Option<u32>);

/// The checkers' memory.
pub(crate) struct Checker {
    names: Vec<String>,
    /// The first final block seen at each height, and who had it.
    finals: BTreeMap<Height, (Hash, usize)>,
    /// The first app hash seen after each height, and who had it.
    app_hashes: BTreeMap<Height, (Hash, usize)>,
    /// Every message an honest validator signed, by slot.
    signed: BTreeMap<Slot, (Signed, usize)>,
    /// Per node, the height up to which its chain was checked.
    checked: Vec<Height>,
}

impl Checker {
    /// A checker for nodes with these names.
    pub(crate) fn new(names: Vec<String>) -> Self {
        let checked = vec![0; names.len()];
        Checker {
            names,
            finals: BTreeMap::new(),
            app_hashes: BTreeMap::new(),
            signed: BTreeMap::new(),
            checked,
        }
    }

    fn store_broken(&self, node: usize, error: String) -> Violation {
        Violation::StoreBroken {
            node: self.names[node].clone(),
            error,
        }
    }

    /// Forgets how far a node's chain was checked: it lost its chain database and
    /// starts again from genesis (what it finalizes again is checked again).
    pub(crate) fn forget_chain(&mut self, node: usize) {
        self.checked[node] = 0;
    }

    /// Checks a node's chain again from `head` on: a crash tore the block above it
    /// from the replica with storage faults (its record damaged and its store's batch
    /// lost: it re-syncs the block, which is final on the others).
    pub(crate) fn rewind(&mut self, node: usize, head: Height) {
        self.checked[node] = self.checked[node].min(head);
    }

    /// The height up to which a node's chain was checked.
    pub(crate) fn checked(&self, node: usize) -> Height {
        self.checked[node]
    }

    /// Checks the blocks an honest node finalized since the last call.
    pub(crate) fn observe_commits(&mut self, node: usize, shared: &Chain) -> Result<(), Violation> {
        let head = shared.head();
        let from = self.checked[node];
        if head.height < from {
            let error = format!("head went back from {from} to {}", head.height);
            return Err(self.store_broken(node, error));
        }
        if head.height == from {
            return Ok(());
        }
        for height in from + 1..=head.height {
            let block = match shared.db.block(height) {
                Ok(Some(b)) => b.block,
                Ok(None) => {
                    let error = format!("no block at {height}, below the head {}", head.height);
                    return Err(self.store_broken(node, error));
                }
                Err(e) => return Err(self.store_broken(node, e.to_string())),
            };
            let hash = block.header.hash();
            if height == head.height && hash != head.block_hash {
                let error = format!(
                    "head names {} but block {height} is {hash}",
                    head.block_hash
                );
                return Err(self.store_broken(node, error));
            }
            self.record_final(node, height, hash)?;
            // A header carries the app hash of the state its parent left.
            self.record_app_hash(node, height - 1, block.header.app_hash)?;
        }
        self.record_app_hash(node, head.height, head.app_hash)?;
        self.checked[node] = head.height;
        Ok(())
    }

    fn record_final(&mut self, node: usize, height: Height, hash: Hash) -> Result<(), Violation> {
        match self.finals.entry(height) {
            Entry::Vacant(v) => {
                v.insert((hash, node));
                Ok(())
            }
            Entry::Occupied(o) if o.get().0 == hash => Ok(()),
            Entry::Occupied(o) => {
                let (first, first_node) = *o.get();
                Err(Violation::Fork {
                    height,
                    first: (self.names[first_node].clone(), first),
                    second: (self.names[node].clone(), hash),
                })
            }
        }
    }

    fn record_app_hash(
        &mut self,
        node: usize,
        height: Height,
        hash: Hash,
    ) -> Result<(), Violation> {
        match self.app_hashes.entry(height) {
            Entry::Vacant(v) => {
                v.insert((hash, node));
                Ok(())
            }
            Entry::Occupied(o) if o.get().0 == hash => Ok(()),
            Entry::Occupied(o) => {
                let (first, first_node) = *o.get();
                Err(Violation::AppHashMismatch {
                    height,
                    first: (self.names[first_node].clone(), first),
                    second: (self.names[node].clone(), hash),
                })
            }
        }
    }

    /// Records a message an honest node broadcast, signed with `validator`'s key.
    pub(crate) fn observe_broadcast(
        &mut self,
        node: usize,
        validator: Address,
        msg: &ConsensusMsg,
    ) -> Result<(), Violation> {
        let (slot, signed) = match msg {
            // A vote relayed for another validator (`Replica::relay_round_votes`): its
            // signer broadcast it first, and that broadcast is the one judged here (a
            // Byzantine validator's, relayed by an honest node, is not the node's).
            ConsensusMsg::Vote(v) if v.validator != validator => return Ok(()),
            ConsensusMsg::Vote(v) => {
                let step = match v.body.kind {
                    VoteKind::Prevote => 1,
                    VoteKind::Precommit => 2,
                };
                let slot = (v.validator, v.body.height, v.body.round, step);
                (slot, (v.body.block, None))
            }
            ConsensusMsg::Proposal(p) => {
                let slot = (validator, p.body.height, p.body.round, 0);
                (slot, (Some(p.body.block), p.body.valid_round))
            }
            // The same signature as the whole proposal's: the same slot.
            ConsensusMsg::CompactProposal(p) => {
                let slot = (validator, p.body.height, p.body.round, 0);
                (slot, (Some(p.body.block), p.body.valid_round))
            }
            ConsensusMsg::Status(_) | ConsensusMsg::ProposalWanted(_) => return Ok(()),
        };
        match self.signed.entry(slot) {
            Entry::Vacant(v) => {
                v.insert((signed, node));
                Ok(())
            }
            Entry::Occupied(o) if o.get().0 == signed => Ok(()),
            Entry::Occupied(o) => Err(Violation::DoubleSign {
                validator: slot.0,
                node: self.names[node].clone(),
                slot: (slot.1, slot.2, slot.3),
                first: o.get().0,
                second: signed,
            }),
        }
    }
}
