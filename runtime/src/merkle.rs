//! Merkle roots of a block's transactions and receipts (rs_merkle, SHA-256).
//!
//! A leaf is a transaction hash (resp. receipt hash). The tree is built over leaf
//! nodes `SHA-256(0x00 || leaf)`; an inner node is `SHA-256(0x01 || left || right)`,
//! and a node without a right sibling moves up unchanged (rs_merkle's rule). The two
//! prefixes keep leaf nodes and inner nodes apart whatever the leaves are: a leaf node
//! hashes 33 bytes starting 0x00, an inner node 65 bytes starting 0x01, so no subtree
//! can pose as a leaf (e.g. a one-leaf tree over `node(a, b)` does not share the root
//! of the tree over `[a, b]`). The root of no leaves is [`Hash::ZERO`].
//!
//! rs_merkle sees only leaf nodes, so a proof from `MerkleTree::proof` proves a leaf
//! node: a verifier applies [`leaf_node`] to the leaf first.
//!
//! Inclusion paths ([`path`], [`root_from_path`]) list one [`PathStep`] per level from
//! the leaf up: the sibling node, or `None` where the node has no sibling and moves up
//! unchanged. The side of each sibling is the matching bit of the leaf's index (bit
//! `k` set: the sibling at level `k` is on the left). docs/proofs.md specifies the walk.

use rs_merkle::{Hasher, MerkleTree};

use crate::codec;
use crate::crypto::sha256;
use crate::model::Receipt;
use crate::tx::VerifiedTx;
use crate::types::Hash;

/// The prefix of a leaf node's preimage.
const LEAF_PREFIX: u8 = 0x00;
/// The prefix of an inner node's preimage.
const INNER_PREFIX: u8 = 0x01;

/// rs_merkle's hasher for inner nodes.
#[derive(Clone, Copy, Debug)]
pub struct NodeHasher;

impl Hasher for NodeHasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        sha256(&[&[INNER_PREFIX], data]).0
    }
}

/// The tree node of a leaf: `SHA-256(0x00 || leaf)`.
pub fn leaf_node(leaf: &Hash) -> Hash {
    sha256(&[&[LEAF_PREFIX], &leaf.0])
}

/// An inner node: `SHA-256(0x01 || left || right)`.
pub fn inner_node(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[INNER_PREFIX], &left.0, &right.0])
}

/// The most levels an inclusion path has: a block holds fewer than 2^32 leaves.
pub const PATH_LEVELS_MAX: usize = 32;

/// One level of an inclusion path, from the leaf up: the sibling node, or `None` where
/// the node is the last of an odd level and moves up unchanged.
pub type PathStep = Option<Hash>;

/// Why an inclusion path cannot be walked to a root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// More levels than any block has.
    #[error("the path has {levels} levels; at most {PATH_LEVELS_MAX} are possible")]
    TooLong {
        /// Levels in the path.
        levels: usize,
    },
    /// A level without a sibling, but the index says the node is a right child: only the
    /// last node of an odd level, which is a left child, moves up alone.
    #[error("level {level} has no sibling, but index {index} makes the node a right child")]
    LoneRightNode {
        /// The level, from 0 at the leaves.
        level: usize,
        /// The leaf index.
        index: u32,
    },
    /// The top level has no sibling: a node alone at the top is the root already, so
    /// a path never ends that way.
    #[error("the top level of the path has no sibling")]
    LoneTopNode,
    /// The index has bits set above the path's levels: it is not a leaf of this tree.
    #[error("index {index} does not fit a path of {levels} levels")]
    IndexBeyondPath {
        /// The leaf index.
        index: u32,
        /// Levels in the path.
        levels: usize,
    },
}

/// A tree built once (with rs_merkle) to take many inclusion paths from.
#[derive(Clone)]
pub struct PathTree {
    tree: MerkleTree<NodeHasher>,
    leaves: usize,
}

impl core::fmt::Debug for PathTree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PathTree({} leaves)", self.leaves)
    }
}

impl PathTree {
    /// Builds the tree over `leaves`, in order.
    pub fn new(leaves: &[Hash]) -> Self {
        let nodes: Vec<[u8; 32]> = leaves.iter().map(|h| leaf_node(h).0).collect();
        PathTree {
            tree: MerkleTree::<NodeHasher>::from_leaves(&nodes),
            leaves: leaves.len(),
        }
    }

    /// The root, as [`root`] computes it.
    pub fn root(&self) -> Hash {
        self.tree.root().map(Hash).unwrap_or(Hash::ZERO)
    }

    /// The inclusion path of leaf `index`; `None` if `index` is out of range (or, which
    /// would be a bug, rs_merkle's proof does not have one sibling for each level that
    /// has one).
    pub fn path(&self, index: usize) -> Option<Vec<PathStep>> {
        if index >= self.leaves {
            return None;
        }
        let proof = self.tree.proof(&[index]);
        // rs_merkle lists the siblings that exist, from the leaf up; a level where the
        // node is the last of an odd count has none, and the walk records `None`.
        let mut siblings = proof.proof_hashes().iter();
        let mut steps = Vec::new();
        let (mut i, mut count) = (index, self.leaves);
        while count > 1 {
            let lone = i + 1 == count && i % 2 == 0;
            steps.push(if lone {
                None
            } else {
                Some(Hash(*siblings.next()?))
            });
            i /= 2;
            count = count.div_ceil(2);
        }
        siblings.next().is_none().then_some(steps)
    }
}

/// The inclusion path of leaf `index` among `leaves` (see [`PathTree::path`]).
pub fn path(leaves: &[Hash], index: usize) -> Option<Vec<PathStep>> {
    PathTree::new(leaves).path(index)
}

/// The root that an inclusion path leads to from `leaf` (not yet a leaf node) at
/// `index`: at level `k`, bit `k` of `index` says on which side the sibling is.
pub fn root_from_path(leaf: &Hash, index: u32, path: &[PathStep]) -> Result<Hash, PathError> {
    if path.len() > PATH_LEVELS_MAX {
        return Err(PathError::TooLong { levels: path.len() });
    }
    if matches!(path.last(), Some(None)) {
        return Err(PathError::LoneTopNode);
    }
    let mut node = leaf_node(leaf);
    let mut bits = u64::from(index);
    for (level, step) in path.iter().enumerate() {
        let right_child = bits & 1 == 1;
        node = match (step, right_child) {
            (Some(sibling), false) => inner_node(&node, sibling),
            (Some(sibling), true) => inner_node(sibling, &node),
            (None, false) => node,
            (None, true) => return Err(PathError::LoneRightNode { level, index }),
        };
        bits >>= 1;
    }
    if bits != 0 {
        return Err(PathError::IndexBeyondPath {
            index,
            levels: path.len(),
        });
    }
    Ok(node)
}

/// The Merkle root over `leaves`, in order.
pub fn root(leaves: &[Hash]) -> Hash {
    let nodes: Vec<[u8; 32]> = leaves.iter().map(|h| leaf_node(h).0).collect();
    MerkleTree::<NodeHasher>::from_leaves(&nodes)
        .root()
        .map(Hash)
        .unwrap_or(Hash::ZERO)
}

/// A receipt's leaf: SHA-256 of its canonical encoding.
pub fn receipt_hash(receipt: &Receipt) -> Hash {
    sha256(&[&codec::encode(receipt)])
}

/// The transaction root of a block.
pub fn tx_root(txs: &[VerifiedTx]) -> Hash {
    root(&txs.iter().map(VerifiedTx::hash).collect::<Vec<_>>())
}

/// The receipts root of a block.
pub fn receipts_root(receipts: &[Receipt]) -> Hash {
    root(&receipts.iter().map(receipt_hash).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CallError, Outcome};

    fn inner(left: Hash, right: Hash) -> Hash {
        Hash(NodeHasher::hash(&[left.0, right.0].concat()))
    }

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| sha256(&[&[i]])).collect()
    }

    #[test]
    fn every_path_of_every_tree_up_to_70_leaves_leads_to_the_root() {
        for n in 1..=70u8 {
            let leaves = leaves(n);
            let root = root(&leaves);
            let nodes: Vec<[u8; 32]> = leaves.iter().map(|h| leaf_node(h).0).collect();
            let tree = MerkleTree::<NodeHasher>::from_leaves(&nodes);
            for i in 0..usize::from(n) {
                let steps = path(&leaves, i).unwrap_or_else(|| panic!("path {i} of {n}"));
                let index = u32::try_from(i).unwrap_or(u32::MAX);
                assert_eq!(
                    root_from_path(&leaves[i], index, &steps),
                    Ok(root),
                    "{i} of {n}"
                );
                // rs_merkle's own verifier agrees on the same siblings.
                let proof = tree.proof(&[i]);
                assert!(
                    proof.verify(root.0, &[i], &[nodes[i]], nodes.len()),
                    "{i} of {n}"
                );
                let siblings: Vec<[u8; 32]> = steps.iter().flatten().map(|h| h.0).collect();
                assert_eq!(siblings, proof.proof_hashes());
            }
            assert_eq!(path(&leaves, usize::from(n)), None);
        }
    }

    #[test]
    fn the_last_of_five_leaves_moves_up_twice_then_meets_the_left_four() {
        let l = leaves(5);
        let left4 = inner(
            inner(leaf_node(&l[0]), leaf_node(&l[1])),
            inner(leaf_node(&l[2]), leaf_node(&l[3])),
        );
        assert_eq!(path(&l, 4), Some(vec![None, None, Some(left4)]));
        let left2 = inner(leaf_node(&l[0]), leaf_node(&l[1]));
        assert_eq!(
            path(&l, 2),
            Some(vec![
                Some(leaf_node(&l[3])),
                Some(left2),
                Some(leaf_node(&l[4]))
            ])
        );
    }

    #[test]
    fn malformed_paths_are_refused_before_hashing_to_a_root() {
        let l = leaves(5);
        let good = path(&l, 4).unwrap_or_default();
        assert_eq!(
            root_from_path(&l[4], 5, &good),
            Err(PathError::LoneRightNode { level: 0, index: 5 })
        );
        assert_eq!(
            root_from_path(&l[4], 12, &good),
            Err(PathError::IndexBeyondPath {
                index: 12,
                levels: 3
            })
        );
        let mut trailing = good.clone();
        trailing.push(None);
        assert_eq!(
            root_from_path(&l[4], 4, &trailing),
            Err(PathError::LoneTopNode)
        );
        let long = vec![Some(l[0]); PATH_LEVELS_MAX + 1];
        assert_eq!(
            root_from_path(&l[0], 0, &long),
            Err(PathError::TooLong { levels: 33 })
        );
    }

    #[test]
    fn a_one_leaf_tree_over_an_inner_node_does_not_share_the_two_leaf_root() {
        let (a, b) = (sha256(&[b"a"]), sha256(&[b"b"]));
        let two = root(&[a, b]);
        // Whatever inner node an attacker offers as a single leaf, the roots differ.
        for forged in [inner(a, b), inner(leaf_node(&a), leaf_node(&b)), two] {
            assert_ne!(root(&[forged]), two);
        }
    }

    #[test]
    fn a_56_byte_failed_receipt_enters_the_tree_as_a_leaf_node() {
        // The shortest receipts encode to fewer than 64 bytes, so separation cannot
        // rest on encoding length: it rests on the 0x00 leaf prefix.
        let receipt = Receipt {
            tx: Hash([9; 32]),
            outcome: Outcome::Failed(CallError::ZeroAmount),
            fee: 0,
            events: vec![],
        };
        assert_eq!(codec::encode(&receipt).len(), 56);
        let leaf = receipt_hash(&receipt);
        assert_eq!(receipts_root(&[receipt]), leaf_node(&leaf));
        assert_ne!(leaf_node(&leaf), leaf);
    }

    #[test]
    fn no_leaves_have_the_zero_root() {
        assert_eq!(root(&[]), Hash::ZERO);
        assert_eq!(tx_root(&[]), Hash::ZERO);
        assert_eq!(receipts_root(&[]), Hash::ZERO);
    }
}
