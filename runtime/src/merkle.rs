//! Merkle roots of a block's transactions and receipts (rs_merkle, SHA-256).
//!
//! Leaves are the transaction hashes (resp. receipt hashes); an inner node is
//! `SHA-256(0x01 || left || right)`, and a node without a right sibling moves up
//! unchanged (rs_merkle's rule). The 0x01 prefix keeps inner nodes apart from leaves:
//! a leaf is a hash of an encoding longer than 64 bytes, so no leaf can pose as an
//! inner node. The root of no leaves is [`Hash::ZERO`].

use rs_merkle::{Hasher, MerkleTree};

use crate::codec;
use crate::crypto::sha256;
use crate::model::Receipt;
use crate::tx::VerifiedTx;
use crate::types::Hash;

/// rs_merkle's hasher for inner nodes.
#[derive(Clone, Copy, Debug)]
pub struct NodeHasher;

impl Hasher for NodeHasher {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        sha256(&[&[0x01], data]).0
    }
}

/// The Merkle root over `leaves`, in order.
pub fn root(leaves: &[Hash]) -> Hash {
    let leaves: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
    MerkleTree::<NodeHasher>::from_leaves(&leaves)
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
