//! The provable-state commitment: a sparse Merkle tree over the provable key families
//! ([`keys::PROVABLE`]: entitlements and attestations), so one entry (or its absence)
//! can be proved against the app hash offline (docs/proofs.md §9).
//!
//! Paths are 256 bits: `sha256(state key)`, most significant bit first. A subtree that
//! holds one leaf is collapsed to that leaf (as Diem/Aptos' sparse Merkle tree), so the
//! depth is about log2(n). Hashes:
//! - leaf = `sha256(0x00 ‖ key hash ‖ sha256(value))`,
//! - inner node = `sha256(0x01 ‖ left ‖ right)`,
//! - empty subtree = [`EMPTY`].
//!
//! Nodes live in state under `0x60 ‖ depth (u16 BE) ‖ path prefix (32 bytes, bits from
//! `depth` on zero)`, written through the block's ordinary change set (so sled,
//! snapshots, state sync and the LtHash carry them). A stored node holds its
//! children's hashes, so a proof reads one node per level. [`update`] applies a batch
//! (a block's writes to provable keys) in one pass: shared upper nodes are rehashed
//! once per block, and a block that writes no provable key touches no node.

use std::collections::BTreeMap;

use crate::codec;
use crate::crypto::sha256;
use crate::state::{keys, StateError, StateRead};
use crate::types::Hash;

/// The hash of an empty subtree (and the root of an empty tree).
pub const EMPTY: Hash = Hash([0; 32]);
/// Path bits: a key hash has 256.
pub const DEPTH_MAX: usize = 256;
/// Prefix of a leaf's preimage.
const LEAF_TAG: u8 = 0x00;
/// Prefix of an inner node's preimage.
const INNER_TAG: u8 = 0x01;
/// Bytes of a stored node: tag and two hashes.
const NODE_BYTES: usize = 65;

/// A stored node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// A leaf: the key's hash and its value's hash.
    Leaf {
        /// `sha256(state key)`.
        key: Hash,
        /// `sha256(value)`.
        value: Hash,
    },
    /// An inner node: its children's hashes ([`EMPTY`] for an empty side).
    Inner {
        /// The 0 side.
        left: Hash,
        /// The 1 side.
        right: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { key, value } => leaf_hash(key, value),
            Node::Inner { left, right } => inner_hash(left, right),
        }
    }

    /// Stored bytes: tag ‖ 32 ‖ 32.
    pub fn encode(&self) -> Vec<u8> {
        let (tag, a, b) = match self {
            Node::Leaf { key, value } => (LEAF_TAG, key, value),
            Node::Inner { left, right } => (INNER_TAG, left, right),
        };
        let mut out = Vec::with_capacity(NODE_BYTES);
        out.push(tag);
        out.extend_from_slice(&a.0);
        out.extend_from_slice(&b.0);
        out
    }

    /// Reads a stored node back.
    pub fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, StateError> {
        let malformed = || StateError::MalformedKey {
            what: "sparse Merkle tree node",
            key: key.to_vec(),
        };
        if bytes.len() != NODE_BYTES {
            return Err(malformed());
        }
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        a.copy_from_slice(&bytes[1..33]);
        b.copy_from_slice(&bytes[33..65]);
        match bytes[0] {
            LEAF_TAG => Ok(Node::Leaf {
                key: Hash(a),
                value: Hash(b),
            }),
            INNER_TAG => Ok(Node::Inner {
                left: Hash(a),
                right: Hash(b),
            }),
            _ => Err(malformed()),
        }
    }
}

/// A leaf's hash.
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    sha256(&[&[LEAF_TAG], &key.0, &value.0])
}

/// An inner node's hash.
pub fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[INNER_TAG], &left.0, &right.0])
}

/// A state key's path in the tree.
pub fn key_hash(key: &[u8]) -> Hash {
    sha256(&[key])
}

/// Bit `depth` of a path (0 = most significant bit of the first byte).
pub fn bit(path: &Hash, depth: usize) -> bool {
    (path.0[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

/// The state key of the node at `depth` on `path` (bits from `depth` on cleared).
pub fn node_key(depth: usize, path: &Hash) -> Vec<u8> {
    let mut prefix = path.0;
    for (i, byte) in prefix.iter_mut().enumerate() {
        let start = i * 8;
        if start >= depth {
            *byte = 0;
        } else if start + 8 > depth {
            *byte &= 0xffu8 << (8 - (depth - start));
        }
    }
    let depth = u16::try_from(depth).unwrap_or(u16::MAX);
    keys::with(keys::SMT_NODE, &[&depth.to_be_bytes(), &prefix])
}

/// The node stored at `depth` on `path`, if any.
pub fn read_node<S: StateRead + ?Sized>(
    s: &S,
    depth: usize,
    path: &Hash,
) -> Result<Option<Node>, StateError> {
    let key = node_key(depth, path);
    s.get(&key)?.map(|b| Node::decode(&key, &b)).transpose()
}

/// The tree's root hash in state `s`.
pub fn root<S: StateRead + ?Sized>(s: &S) -> Result<Hash, StateError> {
    Ok(read_node(s, 0, &EMPTY)?.map_or(EMPTY, |n| n.hash()))
}

/// One change: a key's path and its value's new hash (`None`: deleted).
pub type Change = (Hash, Option<Hash>);

/// Node writes of one batch: node key -> (stored value before, stored value after).
pub type NodeWrites = BTreeMap<Vec<u8>, (Option<Vec<u8>>, Option<Vec<u8>>)>;

/// Applies a batch of changes (any order; one per key) to the tree in `base`: the
/// node writes (each with the value it replaces) and the new root hash.
pub fn update<S: StateRead + ?Sized>(
    base: &S,
    mut changes: Vec<Change>,
) -> Result<(NodeWrites, Hash), StateError> {
    changes.sort_by_key(|a| a.0);
    changes.dedup_by(|a, b| a.0 == b.0);
    let mut u = Updater {
        base,
        writes: NodeWrites::new(),
    };
    let current = read_node(base, 0, &EMPTY)?;
    let new = u.subtree(0, &EMPTY, current, &changes)?;
    u.place(0, &EMPTY, current.is_some(), new)?;
    let root = new.map_or(EMPTY, |n| n.hash());
    Ok((u.writes, root))
}

struct Updater<'a, S: ?Sized> {
    base: &'a S,
    writes: NodeWrites,
}

impl<S: StateRead + ?Sized> Updater<'_, S> {
    /// The new node at (`depth`, `path`) after `changes` (all under it, sorted), given
    /// the node there now; writes the nodes below it, not itself.
    fn subtree(
        &mut self,
        depth: usize,
        path: &Hash,
        current: Option<Node>,
        changes: &[Change],
    ) -> Result<Option<Node>, StateError> {
        if changes.is_empty() {
            return Ok(current);
        }
        if let Some(Node::Inner { .. }) = current {
            return self.descend(depth, path, changes);
        }
        // Empty or one leaf: nothing is stored below, so build the subtree afresh
        // from its leaves (the old leaf unless a change names its key).
        let mut leaves: Vec<(Hash, Hash)> = changes
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect();
        if let Some(Node::Leaf { key, value }) = current {
            if changes.binary_search_by(|c| c.0.cmp(&key)).is_err() {
                let pos = leaves.partition_point(|l| l.0 < key);
                leaves.insert(pos, (key, value));
            }
        }
        self.build(depth, path, &leaves)
    }

    /// An inner node's subtree: both children updated, then joined.
    fn descend(
        &mut self,
        depth: usize,
        path: &Hash,
        changes: &[Change],
    ) -> Result<Option<Node>, StateError> {
        let split = changes.partition_point(|c| !bit(&c.0, depth));
        let mut children = [(false, None), (false, None)];
        for (side, part) in [(0usize, &changes[..split]), (1, &changes[split..])] {
            let child_path = with_bit(path, depth, side == 1);
            let old = read_node(self.base, depth + 1, &child_path)?;
            let new = self.subtree(depth + 1, &child_path, old, part)?;
            children[side] = (old.is_some(), new);
        }
        self.join(depth, path, children)
    }

    /// A fresh subtree over sorted, distinct leaves (nothing stored below it yet).
    fn build(
        &mut self,
        depth: usize,
        path: &Hash,
        leaves: &[(Hash, Hash)],
    ) -> Result<Option<Node>, StateError> {
        match leaves {
            [] => return Ok(None),
            [(key, value)] => {
                return Ok(Some(Node::Leaf {
                    key: *key,
                    value: *value,
                }))
            }
            _ if depth >= DEPTH_MAX => {
                return Err(StateError::InvariantBroken(
                    "two provable keys with the same hash",
                ))
            }
            _ => {}
        }
        let split = leaves.partition_point(|l| !bit(&l.0, depth));
        let mut children = [(false, None), (false, None)];
        for (side, part) in [(0usize, &leaves[..split]), (1, &leaves[split..])] {
            let child_path = with_bit(path, depth, side == 1);
            children[side] = (false, self.build(depth + 1, &child_path, part)?);
        }
        self.join(depth, path, children)
    }

    /// The node over two children ((stored before, new) each): nothing, a lone leaf
    /// moved up, or an inner node with its children written below it.
    fn join(
        &mut self,
        depth: usize,
        path: &Hash,
        children: [(bool, Option<Node>); 2],
    ) -> Result<Option<Node>, StateError> {
        let lone_leaf = match (children[0].1, children[1].1) {
            (None, None) => Some(None),
            (Some(n @ Node::Leaf { .. }), None) | (None, Some(n @ Node::Leaf { .. })) => {
                Some(Some(n))
            }
            _ => None,
        };
        if let Some(up) = lone_leaf {
            for (side, (was, _)) in children.iter().enumerate() {
                self.place(depth + 1, &with_bit(path, depth, side == 1), *was, None)?;
            }
            return Ok(up);
        }
        let hash = |n: Option<Node>| n.map_or(EMPTY, |n| n.hash());
        for (side, (was, new)) in children.iter().enumerate() {
            self.place(depth + 1, &with_bit(path, depth, side == 1), *was, *new)?;
        }
        Ok(Some(Node::Inner {
            left: hash(children[0].1),
            right: hash(children[1].1),
        }))
    }

    /// Records the node at a position (or its deletion, if one was stored).
    fn place(
        &mut self,
        depth: usize,
        path: &Hash,
        was: bool,
        new: Option<Node>,
    ) -> Result<(), StateError> {
        if new.is_none() && !was {
            return Ok(());
        }
        let key = node_key(depth, path);
        let before = if was { self.base.get(&key)? } else { None };
        let after = new.map(|n| n.encode());
        if before != after {
            self.writes.insert(key, (before, after));
        }
        Ok(())
    }
}

/// `path` with bit `depth` set to `one` (the bits below it are ignored by [`node_key`]).
fn with_bit(path: &Hash, depth: usize, one: bool) -> Hash {
    let mut p = *path;
    let mask = 1u8 << (7 - depth % 8);
    if one {
        p.0[depth / 8] |= mask;
    } else {
        p.0[depth / 8] &= !mask;
    }
    p
}

/// A key's path to the root: the siblings from the root down, and what ends it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmtPath {
    /// Sibling hashes from the root's children down to the end of the path.
    pub siblings: Vec<Hash>,
    /// For an absent key whose path ends at another key's leaf: that leaf (its key
    /// hash, its value hash). `None` for a present key, or an absent one whose path
    /// ends in an empty subtree.
    pub other_leaf: Option<(Hash, Hash)>,
}

/// Why a path does not lead anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtPathError {
    /// More siblings than path bits.
    #[error("the path has {0} siblings, more than {DEPTH_MAX}")]
    TooLong(usize),
    /// A present key's path names another leaf.
    #[error("a path for a present key carries another key's leaf")]
    LeafWithValue,
    /// The other leaf is the key itself (then the key is present).
    #[error("the path's other leaf is the key itself")]
    OtherLeafIsKey,
    /// The other leaf is not on the key's path at that depth.
    #[error("the path's other leaf is not on the key's path at depth {0}")]
    OtherLeafOffPath(usize),
}

/// The path of `key` in the tree of state `s`, and the stored value's hash if present.
pub fn prove<S: StateRead + ?Sized>(s: &S, key: &[u8]) -> Result<(SmtPath, bool), StateError> {
    let path = key_hash(key);
    let mut siblings = Vec::new();
    let mut node = read_node(s, 0, &EMPTY)?;
    let mut depth = 0;
    loop {
        match node {
            None => {
                let p = SmtPath {
                    siblings,
                    other_leaf: None,
                };
                return Ok((p, false));
            }
            Some(Node::Leaf { key: k, value }) => {
                let present = k == path;
                let other_leaf = (!present).then_some((k, value));
                return Ok((
                    SmtPath {
                        siblings,
                        other_leaf,
                    },
                    present,
                ));
            }
            Some(Node::Inner { left, right }) => {
                if depth >= DEPTH_MAX {
                    return Err(StateError::InvariantBroken("a tree deeper than its paths"));
                }
                let one = bit(&path, depth);
                siblings.push(if one { left } else { right });
                let child = if one { right } else { left };
                depth += 1;
                node = if child == EMPTY {
                    None
                } else {
                    read_node(s, depth, &path)?
                };
                if node.is_none() && child != EMPTY {
                    return Err(StateError::MissingRecord {
                        what: "sparse Merkle tree node",
                        id: depth as u64,
                    });
                }
            }
        }
    }
}

/// The root a path leads to for `key` holding `value` (`None`: absent).
pub fn root_from_path(
    key: &[u8],
    value: Option<&[u8]>,
    path: &SmtPath,
) -> Result<Hash, SmtPathError> {
    let depth = path.siblings.len();
    if depth > DEPTH_MAX {
        return Err(SmtPathError::TooLong(depth));
    }
    let kh = key_hash(key);
    let mut acc = match (value, &path.other_leaf) {
        (Some(_), Some(_)) => return Err(SmtPathError::LeafWithValue),
        (Some(v), None) => leaf_hash(&kh, &sha256(&[v])),
        (None, None) => EMPTY,
        (None, Some((other, other_value))) => {
            if *other == kh {
                return Err(SmtPathError::OtherLeafIsKey);
            }
            if (0..depth).any(|d| bit(other, d) != bit(&kh, d)) {
                return Err(SmtPathError::OtherLeafOffPath(depth));
            }
            leaf_hash(other, other_value)
        }
    };
    for (d, sibling) in path.siblings.iter().enumerate().rev() {
        acc = if bit(&kh, d) {
            inner_hash(sibling, &acc)
        } else {
            inner_hash(&acc, sibling)
        };
    }
    Ok(acc)
}

/// The commitment of the state before the latest block, and the keys whose pre-images
/// that block left under `0x61` (stored under `0x62`, uncommitted). Block `h + 1`'s
/// header commits to the state after block `h`, so at head `h + 1` a node proves
/// entries of that state: the current one with these pre-images put back.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PreviousCommitment {
    /// `sha256` of the LtHash accumulator before the block.
    pub lthash_digest: Hash,
    /// The tree's root before the block.
    pub smt_root: Hash,
    /// The provable entries and tree nodes the block wrote, in key order.
    pub keys: Vec<Vec<u8>>,
}

/// The key of a pre-image.
pub fn pre_image_key(key: &[u8]) -> Vec<u8> {
    keys::with(keys::PRE_IMAGE, &[key])
}

/// The stored [`PreviousCommitment`], if any block or genesis wrote one.
pub fn previous<S: StateRead + ?Sized>(s: &S) -> Result<Option<PreviousCommitment>, StateError> {
    let key = vec![keys::PREVIOUS_COMMITMENT];
    let Some(bytes) = s.get(&key)? else {
        return Ok(None);
    };
    codec::decode(&bytes, bytes.len())
        .map(Some)
        .map_err(|reason| StateError::CorruptValue { key, reason })
}

/// Writes this block's pre-images and previous commitment into `entries`, deleting
/// the previous block's pre-images.
pub fn record_previous<S: StateRead + ?Sized>(
    base: &S,
    mut before: PreviousCommitment,
    pre_images: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    entries: &mut BTreeMap<Vec<u8>, Option<Vec<u8>>>,
) -> Result<(), StateError> {
    if let Some(old) = previous(base)? {
        for k in old.keys {
            entries.insert(pre_image_key(&k), None);
        }
    }
    before.keys = Vec::with_capacity(pre_images.len());
    for (k, old) in pre_images {
        entries.insert(pre_image_key(&k), Some(codec::encode(&old)));
        before.keys.push(k);
    }
    before.keys.sort();
    entries.insert(
        vec![keys::PREVIOUS_COMMITMENT],
        Some(codec::encode(&before)),
    );
    Ok(())
}

/// The provable entries and tree of the state before the latest block: the current
/// state with that block's pre-images put back (every other key reads as it is).
#[derive(Debug)]
pub struct BeforeLatest<'a, S: ?Sized>(pub &'a S);

impl<S: StateRead + ?Sized> StateRead for BeforeLatest<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        let tracked = keys::is_provable(key) || key.first() == Some(&keys::SMT_NODE);
        if tracked {
            let pkey = pre_image_key(key);
            if let Some(bytes) = self.0.get(&pkey)? {
                return codec::decode(&bytes, bytes.len())
                    .map_err(|reason| StateError::CorruptValue { key: pkey, reason });
            }
        }
        self.0.get(key)
    }
}
