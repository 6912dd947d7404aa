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
