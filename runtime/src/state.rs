//! State: the key-value view execution reads, typed accessors, the overlay a block
//! writes into, and the change set (with the new app hash) it produces.
//!
//! The node backs [`StateRead`] with sled; [`MemoryState`] backs it in memory for the
//! simulator, tests and benches. Keys are built only by [`keys`]; values are canonical
//! encodings ([`crate::codec`]). A zero balance is stored as an absent key.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec;
use crate::crypto::sha256;
use crate::lthash::LtHash;
use crate::model::{AssetInfo, Params, Partner};
use crate::types::{Address, Amount, AssetId, Hash, Nonce};

/// The largest stored value the runtime reads back.
const VALUE_BYTES_MAX: usize = 64 * 1024;
/// Domain prefix of the app hash.
const APP_HASH_DOMAIN: &[u8] = b"jeon/app/v1";

/// Storage failed underneath the state (disk error, corrupt value). Execution stops
/// and nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state storage failed: {0}")]
pub struct StateError(pub String);

/// Key-value pairs in key order, as scans return them.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to committed state.
pub trait StateRead {
    /// The value stored under `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;
}

/// Ordered iteration, for queries (execution never scans).
pub trait StateScan: StateRead {
    /// All entries whose key starts with `prefix`, in key order, at most `limit`.
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StateError>;
}

/// Key layout: one prefix byte per record kind, then fixed-width big-endian fields,
/// so a prefix scan lists an account's balances in asset order.
pub mod keys {
    use crate::types::{Address, AssetId};

    /// `0x01 || account` -> nonce (u64).
    pub const NONCE: u8 = 0x01;
    /// `0x02 || account || asset (u32 BE)` -> balance (u64).
    pub const BALANCE: u8 = 0x02;
    /// `0x03 || asset (u32 BE)` -> `AssetInfo`.
    pub const ASSET: u8 = 0x03;
    /// `0x04 || account` -> `Partner`.
    pub const PARTNER: u8 = 0x04;
    /// `0x05` -> `Params`.
    pub const PARAMS: u8 = 0x05;
    /// `0x06` -> the next free asset id (u32).
    pub const NEXT_ASSET_ID: u8 = 0x06;
    /// `0x07 || symbol` -> `AssetId`.
    pub const SYMBOL: u8 = 0x07;
    /// `0xff` -> the LtHash accumulator. Not itself hashed: it *is* the commitment.
    pub const LTHASH: u8 = 0xff;

    fn with(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
        k.push(prefix);
        for p in parts {
            k.extend_from_slice(p);
        }
        k
    }

    /// Key of an account's nonce.
    pub fn nonce(who: &Address) -> Vec<u8> {
        with(NONCE, &[&who.0])
    }
    /// Key of an account's balance of one asset.
    pub fn balance(who: &Address, asset: AssetId) -> Vec<u8> {
        with(BALANCE, &[&who.0, &asset.0.to_be_bytes()])
    }
    /// Prefix of all of an account's balances.
    pub fn balances_of(who: &Address) -> Vec<u8> {
        with(BALANCE, &[&who.0])
    }
    /// Key of an asset's registry entry.
    pub fn asset(id: AssetId) -> Vec<u8> {
        with(ASSET, &[&id.0.to_be_bytes()])
    }
    /// Key of a partner.
    pub fn partner(who: &Address) -> Vec<u8> {
        with(PARTNER, &[&who.0])
    }
    /// Key of the chain parameters.
    pub fn params() -> Vec<u8> {
        vec![PARAMS]
    }
    /// Key of the asset id counter.
    pub fn next_asset_id() -> Vec<u8> {
        vec![NEXT_ASSET_ID]
    }
    /// Key of the symbol index.
    pub fn symbol(symbol: &str) -> Vec<u8> {
        with(SYMBOL, &[symbol.as_bytes()])
    }
    /// Key of the accumulator.
    pub fn lthash() -> Vec<u8> {
        vec![LTHASH]
    }
}

fn read<T: DeserializeOwned, S: StateRead + ?Sized>(
    s: &S,
    key: &[u8],
) -> Result<Option<T>, StateError> {
    match s.get(key)? {
        None => Ok(None),
        Some(bytes) => codec::decode(&bytes, VALUE_BYTES_MAX)
            .map(Some)
            .map_err(|e| StateError(format!("corrupt value under key {}: {e}", hex::encode(key)))),
    }
}

/// Typed reads over any state.
pub trait StateExt: StateRead {
    /// An account's next nonce (0 for a new account).
    fn nonce(&self, who: &Address) -> Result<Nonce, StateError> {
        Ok(read(self, &keys::nonce(who))?.unwrap_or(0))
    }
    /// An account's balance of an asset (0 if none).
    fn balance(&self, who: &Address, asset: AssetId) -> Result<Amount, StateError> {
        Ok(read(self, &keys::balance(who, asset))?.unwrap_or(0))
    }
    /// An asset's registry entry.
    fn asset(&self, id: AssetId) -> Result<Option<AssetInfo>, StateError> {
        read(self, &keys::asset(id))
    }
    /// The asset with this symbol.
    fn asset_by_symbol(&self, symbol: &str) -> Result<Option<AssetId>, StateError> {
        read(self, &keys::symbol(symbol))
    }
    /// A registered partner.
    fn partner(&self, who: &Address) -> Result<Option<Partner>, StateError> {
        read(self, &keys::partner(who))
    }
    /// The chain parameters (genesis always sets them).
    fn params(&self) -> Result<Params, StateError> {
        read(self, &keys::params())?.ok_or_else(|| StateError("chain parameters missing".into()))
    }
    /// The next free asset id.
    fn next_asset_id(&self) -> Result<u32, StateError> {
        Ok(read(self, &keys::next_asset_id())?.unwrap_or(0))
    }
    /// The app hash: SHA-256 of the domain and the accumulator over every entry.
    fn app_hash(&self) -> Result<Hash, StateError> {
        let acc = self
            .get(&keys::lthash())?
            .map(|b| LtHash::from_bytes(&b))
            .transpose();
        let acc = acc.map_err(StateError)?.unwrap_or_default();
        Ok(sha256(&[APP_HASH_DOMAIN, acc.as_bytes()]))
    }
}

impl<S: StateRead + ?Sized> StateExt for S {}

/// Lists an account's non-zero balances in asset order.
pub fn balances<S: StateScan + ?Sized>(
    s: &S,
    who: &Address,
) -> Result<Vec<(AssetId, Amount)>, StateError> {
    // An account holds at most one balance per asset; the cap bounds a query's work.
    const BALANCES_LISTED_MAX: usize = 10_000;
    let prefix = keys::balances_of(who);
    let mut out = Vec::new();
    for (k, v) in s.scan_prefix(&prefix, BALANCES_LISTED_MAX)? {
        let id_bytes: [u8; 4] = k[prefix.len()..]
            .try_into()
            .map_err(|_| StateError(format!("malformed balance key {}", hex::encode(&k))))?;
        let amount: Amount = codec::decode(&v, 8).map_err(|e| StateError(e.to_string()))?;
        out.push((AssetId(u32::from_be_bytes(id_bytes)), amount));
    }
    Ok(out)
}

/// The writes of a block (or of genesis): key -> new value, `None` deleting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The changed entries, in key order.
    pub entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

#[derive(Clone)]
struct Slot {
    original: Option<Vec<u8>>,
    current: Option<Vec<u8>>,
}

/// Uncommitted writes over a base state, with an undo journal so a failed call can be
/// rolled back to its checkpoint.
pub struct Overlay<'a, S: StateRead + ?Sized> {
    base: &'a S,
    slots: BTreeMap<Vec<u8>, Slot>,
    /// Base values read but not written, so each key is read from the base once per
    /// overlay (a block reads a sender's nonce and balance several times before it
    /// writes them, and a base read is the costly part: a disk or a large map).
    reads: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    journal: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A position in the undo journal.
#[derive(Clone, Copy, Debug)]
pub struct Checkpoint(usize);

impl<'a, S: StateRead + ?Sized> Overlay<'a, S> {
    /// An empty overlay.
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            slots: BTreeMap::new(),
            reads: RefCell::new(BTreeMap::new()),
            journal: Vec::new(),
        }
    }

    /// Marks the current position; [`Overlay::revert`] undoes every write after it.
    pub fn checkpoint(&mut self) -> Checkpoint {
        Checkpoint(self.journal.len())
    }

    /// Undoes the writes made since `cp`.
    pub fn revert(&mut self, cp: Checkpoint) {
        while self.journal.len() > cp.0 {
            let Some((key, previous)) = self.journal.pop() else {
                break;
            };
            if let Some(slot) = self.slots.get_mut(&key) {
                slot.current = previous;
            }
        }
    }

    /// Forgets the undo history (after a transaction is settled).
    pub fn settle(&mut self) {
        self.journal.clear();
    }

    /// Writes (or with `None`, deletes) a raw entry.
    pub fn put_raw(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<(), StateError> {
        let previous = match self.slots.get_mut(&key) {
            Some(slot) => std::mem::replace(&mut slot.current, value),
            None => {
                let original = match self.reads.get_mut().remove(&key) {
                    Some(cached) => cached,
                    None => self.base.get(&key)?,
                };
                let slot = Slot {
                    original: original.clone(),
                    current: value,
                };
                self.slots.insert(key.clone(), slot);
                original
            }
        };
        self.journal.push((key, previous));
        Ok(())
    }

    /// Writes a typed value.
    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) -> Result<(), StateError> {
        self.put_raw(key, Some(codec::encode(value)))
    }

    /// Sets a balance; zero removes the entry.
    pub fn set_balance(
        &mut self,
        who: &Address,
        asset: AssetId,
        amount: Amount,
    ) -> Result<(), StateError> {
        let value = (amount != 0).then(|| codec::encode(&amount));
        self.put_raw(keys::balance(who, asset), value)
    }

    /// Sets an account's nonce.
    pub fn set_nonce(&mut self, who: &Address, nonce: Nonce) -> Result<(), StateError> {
        self.put(keys::nonce(who), &nonce)
    }

    /// Ends the overlay: the changed entries plus the updated accumulator, and the new
    /// app hash. Cost is proportional to the number of changed entries.
    pub fn finish(self) -> Result<(ChangeSet, Hash), StateError> {
        let lthash_key = keys::lthash();
        let mut acc = match self.base.get(&lthash_key)? {
            Some(b) => LtHash::from_bytes(&b).map_err(StateError)?,
            None => LtHash::default(),
        };
        let mut entries = BTreeMap::new();
        for (key, slot) in self.slots {
            if slot.original == slot.current || key.first() == Some(&keys::LTHASH) {
                continue;
            }
            if let Some(old) = &slot.original {
                acc.remove(&key, old);
            }
            if let Some(new) = &slot.current {
                acc.add(&key, new);
            }
            entries.insert(key, slot.current);
        }
        let app_hash = sha256(&[APP_HASH_DOMAIN, acc.as_bytes()]);
        entries.insert(lthash_key, Some(acc.as_bytes().to_vec()));
        Ok((ChangeSet { entries }, app_hash))
    }
}

impl<S: StateRead + ?Sized> StateRead for Overlay<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(slot) = self.slots.get(key) {
            return Ok(slot.current.clone());
        }
        if let Some(cached) = self.reads.borrow().get(key) {
            return Ok(cached.clone());
        }
        let value = self.base.get(key)?;
        self.reads.borrow_mut().insert(key.to_vec(), value.clone());
        Ok(value)
    }
}

/// State held in memory: for the simulator, unit tests and benches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryState {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a block's (or genesis') writes.
    pub fn apply(&mut self, changes: &ChangeSet) {
        for (k, v) in &changes.entries {
            match v {
                Some(v) => self.entries.insert(k.clone(), v.clone()),
                None => self.entries.remove(k),
            };
        }
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.entries.iter()
    }
}

impl StateRead for MemoryState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.entries.get(key).cloned())
    }
}

impl StateScan for MemoryState {
    fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StateError> {
        Ok(self
            .entries
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A base that counts how often it is read.
    struct Counting {
        inner: MemoryState,
        reads: Cell<usize>,
    }

    impl StateRead for Counting {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
            self.reads.set(self.reads.get() + 1);
            self.inner.get(key)
        }
    }

    fn base_with_balance(who: &Address, amount: Amount) -> MemoryState {
        let empty = MemoryState::new();
        let mut ov = Overlay::new(&empty);
        ov.set_balance(who, AssetId(0), amount).expect("memory");
        let (changes, _) = ov.finish().expect("memory");
        let mut state = MemoryState::new();
        state.apply(&changes);
        state
    }

    #[test]
    fn an_overlay_reads_each_key_from_its_base_once() {
        let who = Address([1; 32]);
        let base = Counting {
            inner: base_with_balance(&who, 7),
            reads: Cell::new(0),
        };
        let mut ov = Overlay::new(&base);
        for _ in 0..3 {
            assert_eq!(ov.balance(&who, AssetId(0)), Ok(7));
            assert_eq!(ov.nonce(&who), Ok(0));
        }
        ov.set_balance(&who, AssetId(0), 5).expect("memory");
        ov.set_nonce(&who, 1).expect("memory");
        assert_eq!(ov.balance(&who, AssetId(0)), Ok(5));
        assert_eq!(base.reads.get(), 2, "one read per key: balance and nonce");
    }

    #[test]
    fn a_reverted_write_and_a_rewrite_of_the_same_value_leave_no_change() {
        let who = Address([1; 32]);
        let base = base_with_balance(&who, 7);
        let mut ov = Overlay::new(&base);
        ov.set_nonce(&who, 1).expect("memory");
        let cp = ov.checkpoint();
        ov.set_balance(&who, AssetId(0), 0).expect("memory");
        ov.set_balance(&who, AssetId(1), 9).expect("memory");
        ov.revert(cp);
        assert_eq!(ov.balance(&who, AssetId(0)), Ok(7));
        assert_eq!(ov.balance(&who, AssetId(1)), Ok(0));
        ov.set_balance(&who, AssetId(0), 7).expect("memory");
        let (changes, app_hash) = ov.finish().expect("memory");
        let changed: Vec<&Vec<u8>> = changes.entries.keys().collect();
        assert_eq!(changed, vec![&keys::nonce(&who), &keys::lthash()]);
        let mut after = base.clone();
        after.apply(&changes);
        assert_eq!(after.app_hash(), Ok(app_hash));
    }
}
