//! Read nodes: a partner registers non-validator node keys under its own identity, so
//! API and read replicas it runs may connect to the consortium's network. They sync
//! blocks and serve the API but never vote (docs/network.md, "Permissioning").
//!
//! Rules (docs/governance.md, "Read nodes"):
//! - `RegisterNode { key }` (any partner, whatever its roles): `key` is a valid ed25519
//!   key, not a reserved account, not in the validator set in effect, and not
//!   registered already (by anyone). A partner holds at most
//!   [`NODES_PER_PARTNER_MAX`] nodes.
//! - `UnregisterNode { key }` (the partner that registered it): the node is refused by
//!   every node's allow list from the next check on.
//! - When governance removes a partner, its nodes are unregistered in the same block
//!   (one `NodeUnregistered` each).
//! - A node's libp2p peer id is its key's (`jeon_genesis::peer_id_of`), like a
//!   validator's.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::is_reserved_account;
use crate::economy::ledger::{get, CallCx, Res};
use crate::economy::query::decode;
use crate::events::EventDef;
use crate::governance::{self, ValidatorSet};
use crate::model::{CallError, Event};
use crate::state::{read_record, Overlay, StateError, StateExt, StateRead, StateScan};
use crate::types::{Address, Height};

/// The most read nodes one partner may register: enough for API replicas in a few
/// regions, and it bounds the allow list at partners × 8 (each listed peer may hold
/// two connections to every node).
pub const NODES_PER_PARTNER_MAX: usize = 8;
/// The most nodes a listing returns (and the allow list admits): 512 partners' worth
/// at the per-partner bound.
pub const NODES_LISTED_MAX: usize = 4_096;

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`].
pub mod storage {
    use crate::state::keys::{with, NODE, PARTNER_NODES};
    use crate::types::Address;

    /// Key of a registered node.
    pub fn node(key: &Address) -> Vec<u8> {
        with(NODE, &[&key.0])
    }
    /// Prefix of every registered node.
    pub fn nodes() -> Vec<u8> {
        vec![NODE]
    }
    /// Key of a partner's node keys.
    pub fn partner_nodes(partner: &Address) -> Vec<u8> {
        with(PARTNER_NODES, &[&partner.0])
    }
}

// -------------------------------------------------------------- records

/// A non-validator node a partner registered.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ReadNode {
    /// The node's key (its libp2p identity).
    pub key: Address,
    /// The partner that registered it.
    pub partner: Address,
    /// The height it was registered at.
    pub registered_at: Height,
}

// ---------------------------------------------------------------- calls

/// A partner registers a read node's key.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RegisterNode {
    /// The node's ed25519 key.
    pub key: Address,
}

/// The partner that registered a read node unregisters it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct UnregisterNode {
    /// The node's key.
    pub key: Address,
}

// --------------------------------------------------------------- events

/// A read node was registered.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeRegistered {
    /// The partner.
    pub partner: Address,
    /// The node's key.
    pub key: Address,
}

impl EventDef for NodeRegistered {
    fn accounts(&self) -> Vec<Address> {
        vec![self.partner]
    }
}

/// A read node was unregistered, by its partner or because governance removed the
/// partner.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NodeUnregistered {
    /// The partner.
    pub partner: Address,
    /// The node's key.
    pub key: Address,
}

impl EventDef for NodeUnregistered {
    fn accounts(&self) -> Vec<Address> {
        vec![self.partner]
    }
}

// ------------------------------------------------------------ execution

impl CallDef for RegisterNode {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        register(ov, cx, self.key, events)
    }

    fn summary(&self) -> String {
        format!("register read node {}", self.key)
    }
}

impl CallDef for UnregisterNode {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let node: ReadNode =
            get(ov, &storage::node(&self.key))?.ok_or(CallError::UnknownNode { key: self.key })?;
        if node.partner != cx.sender {
            return Err(CallError::NotNodeOwner {
                key: node.key,
                partner: node.partner,
            }
            .into());
        }
        remove(ov, &node, events)
    }

    fn summary(&self) -> String {
        format!("unregister read node {}", self.key)
    }
}

/// `RegisterNode`: the sender is the partner.
fn register<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    key: Address,
    events: &mut Vec<Event>,
) -> Res<()> {
    if ov.partner(&cx.sender)?.is_none() {
        return Err(CallError::NotAPartner { account: cx.sender }.into());
    }
    let key_ok = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
        .map(|k| !k.is_weak())
        .unwrap_or(false);
    if !key_ok {
        return Err(CallError::InvalidNodeKey { key }.into());
    }
    if is_reserved_account(&key) {
        return Err(CallError::ReservedAccount { account: key }.into());
    }
    let set: Option<ValidatorSet> = get(ov, &governance::storage::validator_set())?;
    if set.is_some_and(|s| s.get(&key).is_some()) {
        return Err(CallError::NodeKeyIsValidator { key }.into());
    }
    if let Some(n) = get::<ReadNode, _>(ov, &storage::node(&key))? {
        return Err(CallError::NodeAlreadyRegistered {
            key,
            partner: n.partner,
        }
        .into());
    }
    let list_key = storage::partner_nodes(&cx.sender);
    let mut keys: Vec<Address> = get(ov, &list_key)?.unwrap_or_default();
    if keys.len() >= NODES_PER_PARTNER_MAX {
        return Err(CallError::TooManyNodes {
            partner: cx.sender,
            max: NODES_PER_PARTNER_MAX as u32,
        }
        .into());
    }
    keys.push(key);
    keys.sort();
    ov.put(list_key, &keys)?;
    let node = ReadNode {
        key,
        partner: cx.sender,
        registered_at: cx.height,
    };
    ov.put(storage::node(&key), &node)?;
    events.push(Event::NodeRegistered(NodeRegistered {
        partner: cx.sender,
        key,
    }));
    Ok(())
}

/// Deletes a node's record and its entry in its partner's list.
fn remove<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    node: &ReadNode,
    events: &mut Vec<Event>,
) -> Res<()> {
    let list_key = storage::partner_nodes(&node.partner);
    let mut keys: Vec<Address> = get(ov, &list_key)?.unwrap_or_default();
    keys.retain(|k| *k != node.key);
    if keys.is_empty() {
        ov.put_raw(list_key, None)?;
    } else {
        ov.put(list_key, &keys)?;
    }
    ov.put_raw(storage::node(&node.key), None)?;
    events.push(Event::NodeUnregistered(NodeUnregistered {
        partner: node.partner,
        key: node.key,
    }));
    Ok(())
}

/// Unregisters the node with `key`, if one is registered (governance made the key a
/// validator's).
pub(crate) fn unregister_key<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    key: &Address,
    events: &mut Vec<Event>,
) -> Res<()> {
    match get::<ReadNode, _>(ov, &storage::node(key))? {
        Some(node) => remove(ov, &node, events),
        None => Ok(()),
    }
}

/// Unregisters every node of `partner` (governance removed it), in key order.
pub(crate) fn remove_all_of<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    partner: &Address,
    events: &mut Vec<Event>,
) -> Res<()> {
    let keys: Vec<Address> = get(ov, &storage::partner_nodes(partner))?.unwrap_or_default();
    for key in keys {
        if let Some(node) = get::<ReadNode, _>(ov, &storage::node(&key))? {
            remove(ov, &node, events)?;
        }
    }
    Ok(())
}

// -------------------------------------------------------------- queries

/// A registered node by key.
pub fn node<S: StateRead + ?Sized>(s: &S, key: &Address) -> Result<Option<ReadNode>, StateError> {
    read_record(s, &storage::node(key))
}

/// Every registered node, by key, at most [`NODES_LISTED_MAX`].
pub fn nodes<S: StateScan + ?Sized>(s: &S) -> Result<Vec<ReadNode>, StateError> {
    let mut out = Vec::new();
    for (k, v) in s.scan_prefix(&storage::nodes(), NODES_LISTED_MAX)? {
        out.push(decode(&k, &v)?);
    }
    Ok(out)
}

/// A partner's registered nodes, by key (at most [`NODES_PER_PARTNER_MAX`]).
pub fn nodes_of<S: StateRead + ?Sized>(
    s: &S,
    partner: &Address,
) -> Result<Vec<ReadNode>, StateError> {
    let keys: Vec<Address> = read_record(s, &storage::partner_nodes(partner))?.unwrap_or_default();
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(n) = node(s, &key)? {
            out.push(n);
        }
    }
    Ok(out)
}
