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

use crate::codec::{self, CodecError};
use crate::crypto::sha256;
use crate::lthash::LtHash;
use crate::model::{AssetInfo, Params, Partner};
use crate::smt;
use crate::types::{Address, Amount, AssetId, Hash, Nonce};

/// The largest stored value the runtime reads back.
const VALUE_BYTES_MAX: usize = 64 * 1024;
/// Domain prefix of the app hash.
const APP_HASH_DOMAIN: &[u8] = b"jeon/app/v2";

/// The app hash of a state: `SHA-256("jeon/app/v2" ‖ SHA-256(LtHash accumulator) ‖
/// sparse Merkle root)` (docs/encoding.md, docs/proofs.md §9).
pub fn app_hash_of(lthash_digest: &Hash, smt_root: &Hash) -> Hash {
    sha256(&[APP_HASH_DOMAIN, &lthash_digest.0, &smt_root.0])
}

/// Storage failed underneath the state, or what it holds breaks a rule the runtime
/// keeps. Execution stops and nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The store underneath failed (disk, database); the message is the store's own.
    #[error("state storage failed: {0}")]
    Backend(String),
    /// A stored value does not decode as the record its key holds.
    #[error("corrupt value under key {}: {reason}", hex::encode(key))]
    CorruptValue {
        /// The key.
        key: Vec<u8>,
        /// Why the value does not decode.
        reason: CodecError,
    },
    /// The state commitment accumulator has the wrong length.
    #[error("the state accumulator has {len} bytes, expected {expected}")]
    CorruptAccumulator {
        /// The stored length.
        len: usize,
        /// The accumulator's length.
        expected: usize,
    },
    /// A stored key does not have its documented layout.
    #[error("malformed {what} key {}", hex::encode(key))]
    MalformedKey {
        /// What the key should name.
        what: &'static str,
        /// The key.
        key: Vec<u8>,
    },
    /// An index names a record that is not stored.
    #[error("{what} {id} is named by an index but missing")]
    MissingRecord {
        /// The kind of record.
        what: &'static str,
        /// Its id (a deadline slot: its height).
        id: u64,
    },
    /// The chain parameters are missing: genesis never initialised this state.
    #[error("chain parameters missing")]
    ParamsMissing,
    /// An invariant the runtime keeps (supply conservation, escrow, counters) was
    /// found broken: a bug, or state written by something else.
    #[error("invariant broken: {0}")]
    InvariantBroken(&'static str),
    /// An end-of-block sweep could not complete a step it must complete.
    #[error("{sweep} sweep failed: {error}")]
    SweepFailed {
        /// Which sweep.
        sweep: &'static str,
        /// The step's error.
        error: crate::model::CallError,
    },
}

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

    /// Entries whose key starts with `prefix` and is below `before` (all of them if
    /// `None`), in descending key order, at most `limit`: newest-first pages of a
    /// history.
    ///
    /// The provided implementation reads the whole prefix with [`StateScan::scan_prefix`],
    /// so its cost grows with the prefix's size; a backend with ordered iteration
    /// should override it with a reverse range scan.
    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        let mut all = self.scan_prefix(prefix, usize::MAX)?;
        if let Some(before) = before {
            all.retain(|(k, _)| k.as_slice() < before);
        }
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }
}

/// Key layout: one prefix byte per record kind, then fixed-width big-endian fields,
/// so a prefix scan lists an account's balances in asset order.
pub mod keys {

    use crate::types::{Address, AssetId, Height};

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
    /// `0x08 || code (2 ASCII bytes)` -> `Jurisdiction`.
    pub const JURISDICTION: u8 = 0x08;
    /// `0x09 || asset (u32 BE)` -> the asset's issuance limit (u64); absent = none.
    pub const SUPPLY_MAX: u8 = 0x09;
    /// `0x0a` -> `EconomyParams`.
    pub const ECONOMY: u8 = 0x0a;
    /// `0x0b || code (2) || period (u64 BE) || asset (u32 BE)` -> tax withheld (u128).
    pub const TAX: u8 = 0x0b;
    /// `0x0c` -> the next reward rule id (u64).
    pub const NEXT_RULE_ID: u8 = 0x0c;
    /// `0x0d || rule (u64 BE)` -> `RewardRule`.
    pub const RULE: u8 = 0x0d;
    /// `0x0e || merchant` -> the merchant's rule ids (`Vec<u64>`, ascending).
    pub const MERCHANT_RULES: u8 = 0x0e;
    /// `0x0f || rule (u64 BE) || user` -> `RewardUsage` (latest period only).
    pub const REWARD_USAGE: u8 = 0x0f;
    /// `0x10 || stamp asset (u32 BE)` -> `StampReward`.
    pub const STAMP_REWARD: u8 = 0x10;
    /// `0x11` -> the next redemption id (u64).
    pub const NEXT_REDEMPTION_ID: u8 = 0x11;
    /// `0x12 || id (u64 BE)` -> pending `Redemption`.
    pub const REDEMPTION: u8 = 0x12;
    /// `0x13 || issuer || id (u64 BE)` -> deadline (u64): pending redemptions by issuer.
    pub const ISSUER_REDEMPTION: u8 = 0x13;
    /// `0x14 || deadline (u64 BE)` -> slots used at that deadline (u32).
    pub const DUE_COUNT: u8 = 0x14;
    /// `0x15 || deadline (u64 BE) || slot (u32 BE)` -> redemption id (u64).
    pub const DUE: u8 = 0x15;
    /// `0x16` -> the sweep's backlog: the next (deadline, slot) to examine (u64, u32).
    pub const SWEEP_BACKLOG: u8 = 0x16;
    /// `0x17` -> the next exchange agreement id (u64).
    pub const NEXT_EXCHANGE_ID: u8 = 0x17;
    /// `0x18 || id (u64 BE)` -> `ExchangeAgreement` (proposed or active).
    pub const EXCHANGE: u8 = 0x18;
    /// `0x19 || from asset (u32 BE) || to asset (u32 BE)` -> the active agreement's id (u64).
    pub const EXCHANGE_PAIR: u8 = 0x19;
    /// `0x1a || id (u64 BE)` -> `DayUsage`: the agreement's use of today's cap.
    pub const EXCHANGE_USAGE: u8 = 0x1a;
    /// `0x1b || period (u64 BE) || from issuer || to issuer || agreement (u64 BE)` ->
    /// `SettlementRecord`.
    pub const SETTLEMENT: u8 = 0x1b;
    /// `0x1c || account || height (u64 BE) || tx index (u32 BE) || event index (u32 BE)`
    /// -> `Event`: the account's history. An index, not consensus state: it is derived
    /// from the events that receipts (and so the receipts root) commit to, so it is
    /// written with the block but left out of the app hash (see [`is_committed`]).
    pub const HISTORY: u8 = 0x1c;
    /// `0x1d` -> the next mandate id (u64).
    pub const NEXT_MANDATE_ID: u8 = 0x1d;
    /// `0x1e || id (u64 BE)` -> `Mandate` (kept after revocation and expiry).
    pub const MANDATE: u8 = 0x1e;
    /// `0x1f || user || id (u64 BE)` -> `()`: a user's mandates, for queries.
    pub const USER_MANDATE: u8 = 0x1f;
    /// `0x20 || merchant || invoice id (u64 BE)` -> the height it was paid at (u64).
    pub const PAID_INVOICE: u8 = 0x20;
    /// `0x21 || account` -> `CreditProfile`: the counters the credit score is computed from.
    pub const CREDIT_PROFILE: u8 = 0x21;
    /// `0x22` -> the next credit line id (u64).
    pub const NEXT_CREDIT_LINE_ID: u8 = 0x22;
    /// `0x23 || id (u64 BE)` -> `CreditLine` (kept after it closes).
    pub const CREDIT_LINE: u8 = 0x23;
    /// `0x24 || borrower || id (u64 BE)` -> `()`: a borrower's lines, for queries.
    pub const BORROWER_LINE: u8 = 0x24;
    /// `0x25` -> `FeeMarket`; absent: the base fee is `params.fee_flat` forever.
    pub const FEE_MARKET: u8 = 0x25;
    /// `0x26` -> the base fee of the next block (u64); absent: `params.fee_flat`.
    pub const BASE_FEE: u8 = 0x26;
    /// `0x27 || sponsor || 0x00` (all customers) or `|| 0x01 || account` -> `Sponsorship`.
    pub const SPONSORSHIP: u8 = 0x27;
    /// `0x28 || account` -> `Volume`: the sender's transactions in the fee window.
    pub const VOLUME: u8 = 0x28;
    /// `0x29 || borrower || asset (u32 BE)` -> line id (u64): the line a payment in that
    /// asset draws on when the borrower's balance is short.
    pub const STANDBY_LINE: u8 = 0x29;
    /// `0x2a || due height (u64 BE)` -> credit lines due at that height (u32).
    pub const LINE_DUE_COUNT: u8 = 0x2a;
    /// `0x2b || due height (u64 BE) || slot (u32 BE)` -> credit line id (u64).
    pub const LINE_DUE: u8 = 0x2b;
    /// `0x2c` -> the line sweep's backlog: the next (due height, slot) to examine.
    pub const LINE_SWEEP_BACKLOG: u8 = 0x2c;
    /// `0x2d` -> `ValidatorSet`: the validator set in effect (written at genesis,
    /// changed by governance).
    pub const VALIDATOR_SET: u8 = 0x2d;
    /// `0x2e` -> the next proposal id (u64).
    pub const NEXT_PROPOSAL_ID: u8 = 0x2e;
    /// `0x2f || id (u64 BE)` -> `Proposal` (kept after it closes).
    pub const PROPOSAL: u8 = 0x2f;
    /// `0x30` -> proposals open or passed and not yet enacted (u32).
    pub const PROPOSALS_PENDING: u8 = 0x30;
    /// `0x31 || deadline (u64 BE)` -> proposals whose voting ends at that height (u32).
    pub const PROPOSAL_DEADLINE_COUNT: u8 = 0x31;
    /// `0x32 || deadline (u64 BE) || slot (u32 BE)` -> proposal id (u64).
    pub const PROPOSAL_DEADLINE: u8 = 0x32;
    /// `0x33` -> the expiry sweep's backlog (u64, u32).
    pub const PROPOSAL_DEADLINE_BACKLOG: u8 = 0x33;
    /// `0x34 || height (u64 BE)` -> passed proposals enacted at the end of that block (u32).
    pub const ENACT_COUNT: u8 = 0x34;
    /// `0x35 || height (u64 BE) || slot (u32 BE)` -> proposal id (u64).
    pub const ENACT: u8 = 0x35;
    /// `0x36` -> the enactment sweep's backlog (u64, u32).
    pub const ENACT_BACKLOG: u8 = 0x36;
    /// `0x37` -> the next product id (u64).
    pub const NEXT_PRODUCT_ID: u8 = 0x37;
    /// `0x38 || id (u64 BE)` -> `Product`.
    pub const PRODUCT: u8 = 0x38;
    /// `0x39 || merchant || id (u64 BE)` -> `()`: a merchant's products, for queries.
    pub const MERCHANT_PRODUCT: u8 = 0x39;
    /// `0x3a` -> the next entitlement id (u64).
    pub const NEXT_ENTITLEMENT_ID: u8 = 0x3a;
    /// `0x3b || id (u64 BE)` -> `Entitlement` (removed when revoked).
    pub const ENTITLEMENT: u8 = 0x3b;
    /// `0x3c || owner || id (u64 BE)` -> `()`: an owner's entitlements, for queries.
    pub const OWNER_ENTITLEMENT: u8 = 0x3c;
    /// `0x3d` -> `SetHistory`: the set before the last validator-set change and the
    /// heights of every change's header, for consensus and proofs (written only when a
    /// change is enacted; absent while the set is the genesis set).
    pub const VALIDATOR_SET_HISTORY: u8 = 0x3d;
    /// `0x3e` -> the next metered session id (u64).
    pub const NEXT_METER_ID: u8 = 0x3e;
    /// `0x3f || id (u64 BE)` -> `MeterSession` (kept after it closes).
    pub const METER: u8 = 0x3f;
    /// `0x40 || account || id (u64 BE)` -> `()`: the sessions an account opened or is
    /// paid by, for queries.
    pub const ACCOUNT_METER: u8 = 0x40;
    /// `0x41` -> the next attestation id (u64).
    pub const NEXT_ATTESTATION_ID: u8 = 0x41;
    /// `0x42 || id (u64 BE)` -> `Attestation` (kept after revocation).
    pub const ATTESTATION: u8 = 0x42;
    /// `0x43 || subject || kind (u8)` -> `Vec<u64>`: the subject's attestation ids of
    /// that kind of claim, unrevoked, at most `identity::ATTESTATIONS_PER_CLAIM_MAX`.
    pub const SUBJECT_CLAIM: u8 = 0x43;
    /// `0x44 || product (u64 BE)` -> `Claim`: what buying the product requires.
    pub const PRODUCT_CLAIM: u8 = 0x44;
    /// `0x45 || beneficiary || sponsor` -> the sponsor (`Address`): the partners sponsoring one account's
    /// fees (its `Beneficiary::Account` sponsorships, which are keyed by sponsor under
    /// [`SPONSORSHIP`]), for queries. Written and removed with the sponsorship.
    pub const SPONSORED_BY: u8 = 0x45;
    /// `0x46 || sponsor || day (u64 BE)` -> `SponsoredDay`: what the sponsor's
    /// sponsorships paid that UTC day (of block time), for its dashboard.
    pub const SPONSORED_DAY: u8 = 0x46;
    /// `0x54 || key` -> `nodes::ReadNode`: a registered read node.
    pub const NODE: u8 = 0x54;
    /// `0x55 || partner` -> `Vec<Address>`: a partner's read node keys, sorted, at most
    /// `nodes::NODES_PER_PARTNER_MAX`.
    pub const PARTNER_NODES: u8 = 0x55;
    /// `0x48` -> `goods::carrier::CarrierParams` (absent: the defaults).
    pub const CARRIER_PARAMS: u8 = 0x48;
    /// `0x49` -> the next carrier line id (u64).
    pub const NEXT_CARRIER_LINE_ID: u8 = 0x49;
    /// `0x4a || id (u64 BE)` -> `goods::carrier::CarrierLine`.
    pub const CARRIER_LINE: u8 = 0x4a;
    /// `0x4b || account || id (u64 BE)` -> `()`: the lines an account uses or carries.
    pub const ACCOUNT_CARRIER_LINE: u8 = 0x4b;
    /// `0x4c || carrier || user` -> the line id (u64): one line per carrier and user.
    pub const CARRIER_USER_LINE: u8 = 0x4c;
    /// `0x4d || line (u64 BE) || period (u64 BE)` -> `goods::carrier::Statement`.
    pub const LINE_STATEMENT: u8 = 0x4d;
    /// `0x4e || partner || scope` -> `goods::carrier::ClaimPolicy`.
    pub const CLAIM_POLICY: u8 = 0x4e;
    /// `0x50 || validator || height (u64 BE)` -> `governance::Evidence`: equivocation
    /// evidence, one per validator and height.
    pub const EVIDENCE: u8 = 0x50;
    /// `0x60 || depth (u16 BE) || path prefix (32 bytes)` -> a node of the sparse
    /// Merkle tree over the [`PROVABLE`] families (`crate::smt`; 65 raw bytes).
    pub const SMT_NODE: u8 = 0x60;
    /// `0x61 || key` -> `Option<Vec<u8>>`: what a provable entry or tree node held
    /// before the latest block wrote it (the state its successor's certificate
    /// certifies, for state proofs). Uncommitted; each block replaces the previous
    /// block's set.
    pub const PRE_IMAGE: u8 = 0x61;
    /// `0x62` -> `smt::PreviousCommitment`: the commitment of the state before the
    /// latest block (its LtHash digest and tree root) and the keys under
    /// [`PRE_IMAGE`]. Uncommitted.
    pub const PREVIOUS_COMMITMENT: u8 = 0x62;
    /// `0xff` -> the LtHash accumulator. Not itself hashed: it *is* the commitment.
    pub const LTHASH: u8 = 0xff;

    /// The provable key families: the entries the sparse Merkle tree commits to, one
    /// by one, so each can be proved (or proved absent) offline. Adding a family is
    /// one entry here (docs/proofs.md §9).
    pub const PROVABLE: &[u8] = &[ENTITLEMENT, ATTESTATION];

    /// Whether an entry is in the sparse Merkle tree.
    pub fn is_provable(key: &[u8]) -> bool {
        key.first().is_some_and(|p| PROVABLE.contains(p))
    }

    /// Whether an entry is part of the app hash: everything but the accumulator itself
    /// and the derived history index. Hashing the index cost two accumulator updates
    /// per transfer, a fourfold slowdown of block execution.
    /// The pre-images of the latest block and the previous commitment are derived
    /// records for proofs, uncommitted for the same reason.
    pub fn is_committed(key: &[u8]) -> bool {
        !matches!(
            key.first(),
            Some(&LTHASH) | Some(&HISTORY) | Some(&PRE_IMAGE) | Some(&PREVIOUS_COMMITMENT)
        )
    }

    pub(crate) fn with(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
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
    /// Key of a jurisdiction (its code is two ASCII letters).
    pub fn jurisdiction(code: &[u8; 2]) -> Vec<u8> {
        with(JURISDICTION, &[code])
    }
    /// Prefix of all jurisdictions.
    pub fn jurisdictions() -> Vec<u8> {
        vec![JURISDICTION]
    }
    /// Key of an asset's issuance limit.
    pub fn supply_max(asset: AssetId) -> Vec<u8> {
        with(SUPPLY_MAX, &[&asset.0.to_be_bytes()])
    }
    /// Key of the economy parameters.
    pub fn economy() -> Vec<u8> {
        vec![ECONOMY]
    }
    /// Key of the slot count at a deadline height, in the queue whose counts have
    /// prefix `prefix` ([`DUE_COUNT`], [`LINE_DUE_COUNT`]).
    pub fn deadline_count(prefix: u8, deadline: Height) -> Vec<u8> {
        with(prefix, &[&deadline.to_be_bytes()])
    }
    /// Key of one slot of a deadline queue whose slots have prefix `prefix` ([`DUE`],
    /// [`LINE_DUE`]).
    pub fn deadline_slot(prefix: u8, deadline: Height, slot: u32) -> Vec<u8> {
        with(prefix, &[&deadline.to_be_bytes(), &slot.to_be_bytes()])
    }
    /// Key of one event in an account's history.
    pub fn history(who: &Address, height: Height, tx_index: u32, event_index: u32) -> Vec<u8> {
        with(
            HISTORY,
            &[
                &who.0,
                &height.to_be_bytes(),
                &tx_index.to_be_bytes(),
                &event_index.to_be_bytes(),
            ],
        )
    }
    /// Prefix of an account's history.
    pub fn history_of(who: &Address) -> Vec<u8> {
        with(HISTORY, &[&who.0])
    }
    /// The (account, height, tx index, event index) a [`history`] key names; `None` if
    /// the key is not one.
    pub fn parse_history(key: &[u8]) -> Option<(Address, Height, u32, u32)> {
        if key.len() != 1 + 32 + 8 + 4 + 4 || key.first() != Some(&HISTORY) {
            return None;
        }
        let who = Address(key.get(1..33)?.try_into().ok()?);
        let height = Height::from_be_bytes(key.get(33..41)?.try_into().ok()?);
        let tx_index = u32::from_be_bytes(key.get(41..45)?.try_into().ok()?);
        let event_index = u32::from_be_bytes(key.get(45..49)?.try_into().ok()?);
        Some((who, height, tx_index, event_index))
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
            .map_err(|reason| StateError::CorruptValue {
                key: key.to_vec(),
                reason,
            }),
    }
}

/// Reads and decodes the value under `key` (built by [`keys`]), if any.
pub fn read_record<T: DeserializeOwned, S: StateRead + ?Sized>(
    s: &S,
    key: &[u8],
) -> Result<Option<T>, StateError> {
    read(s, key)
}

/// The smallest key above every key that starts with `prefix`, or `None` if there is
/// none (the prefix is empty or all `0xff`). Stores use it for reverse prefix scans.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
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
        read(self, &keys::params())?.ok_or(StateError::ParamsMissing)
    }
    /// The next free asset id.
    fn next_asset_id(&self) -> Result<u32, StateError> {
        Ok(read(self, &keys::next_asset_id())?.unwrap_or(0))
    }
    /// The app hash: [`app_hash_of`] the accumulator over every entry and the root of
    /// the provable entries' tree.
    fn app_hash(&self) -> Result<Hash, StateError> {
        let acc = self
            .get(&keys::lthash())?
            .map(|b| LtHash::from_bytes(&b))
            .transpose();
        let acc = acc?.unwrap_or_default();
        Ok(app_hash_of(&sha256(&[acc.as_bytes()]), &smt::root(self)?))
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
        let id_bytes: [u8; 4] =
            k[prefix.len()..]
                .try_into()
                .map_err(|_| StateError::MalformedKey {
                    what: "balance",
                    key: k.clone(),
                })?;
        let amount: Amount = codec::decode(&v, 8).map_err(|reason| StateError::CorruptValue {
            key: k.clone(),
            reason,
        })?;
        out.push((AssetId(u32::from_be_bytes(id_bytes)), amount));
    }
    Ok(out)
}

/// The writes of a block (or of genesis): key -> new value, `None` deleting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The changed entries, in key order.
    pub entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// New entries of the history index (uncommitted, each key new), in write order:
    /// kept apart so execution never looks them up among the state's entries.
    pub appended: Vec<(Vec<u8>, Vec<u8>)>,
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
    /// History index entries written, in order (see [`Overlay::put_index`]).
    appended: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A position in the undo journal and in the appended index entries.
#[derive(Clone, Copy, Debug)]
pub struct Checkpoint {
    journal: usize,
    appended: usize,
}

impl<'a, S: StateRead + ?Sized> Overlay<'a, S> {
    /// An empty overlay.
    pub fn new(base: &'a S) -> Self {
        Overlay {
            base,
            slots: BTreeMap::new(),
            reads: RefCell::new(BTreeMap::new()),
            journal: Vec::new(),
            appended: Vec::new(),
        }
    }

    /// Marks the current position; [`Overlay::revert`] undoes every write after it.
    pub fn checkpoint(&mut self) -> Checkpoint {
        Checkpoint {
            journal: self.journal.len(),
            appended: self.appended.len(),
        }
    }

    /// Undoes the writes made since `cp`.
    pub fn revert(&mut self, cp: Checkpoint) {
        self.appended.truncate(cp.appended);
        while self.journal.len() > cp.journal {
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

    /// Writes an entry of the history index, whose key is unique to this block's
    /// (height, transaction, event): it cannot exist in the base or be written twice, so
    /// it is appended, never looked up (a failed call's [`Overlay::revert`] drops it).
    pub fn put_index(&mut self, key: Vec<u8>, encoded: Vec<u8>) {
        debug_assert!(
            !keys::is_committed(&key),
            "put_index is for uncommitted index keys"
        );
        self.appended.push((key, encoded));
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
            Some(b) => LtHash::from_bytes(&b)?,
            None => LtHash::default(),
        };
        let before = smt::PreviousCommitment {
            lthash_digest: sha256(&[acc.as_bytes()]),
            smt_root: smt::root(self.base)?,
            keys: Vec::new(),
        };
        let mut entries = BTreeMap::new();
        let mut provable = Vec::new();
        let mut pre_images = Vec::new();
        for (key, slot) in self.slots {
            if slot.original == slot.current || key.first() == Some(&keys::LTHASH) {
                continue;
            }
            if !keys::is_committed(&key) {
                entries.insert(key, slot.current);
                continue;
            }
            if keys::is_provable(&key) {
                let value_hash = slot.current.as_deref().map(|v| sha256(&[v]));
                provable.push((smt::key_hash(&key), value_hash));
                pre_images.push((key.clone(), slot.original.clone()));
            }
            commit(&mut acc, &key, &slot.original, &slot.current);
            entries.insert(key, slot.current);
        }
        // The tree is updated once per block, from the block's writes to provable
        // keys; a block that wrote none leaves it (and its cost) alone.
        let root = if provable.is_empty() {
            before.smt_root
        } else {
            let (nodes, root) = smt::update(self.base, provable)?;
            for (key, (old, new)) in nodes {
                commit(&mut acc, &key, &old, &new);
                pre_images.push((key.clone(), old));
                entries.insert(key, new);
            }
            root
        };
        smt::record_previous(self.base, before, pre_images, &mut entries)?;
        let app_hash = app_hash_of(&sha256(&[acc.as_bytes()]), &root);
        entries.insert(lthash_key, Some(acc.as_bytes().to_vec()));
        Ok((
            ChangeSet {
                entries,
                appended: self.appended,
            },
            app_hash,
        ))
    }
}

/// Moves one committed entry in the accumulator from `old` to `new`.
fn commit(acc: &mut LtHash, key: &[u8], old: &Option<Vec<u8>>, new: &Option<Vec<u8>>) {
    if let Some(old) = old {
        acc.remove(key, old);
    }
    if let Some(new) = new {
        acc.add(key, new);
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
        for (k, v) in &changes.appended {
            self.entries.insert(k.clone(), v.clone());
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

    fn scan_prefix_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        use std::ops::Bound;
        let end = prefix_end(prefix);
        let upper = match (before, end) {
            (Some(b), Some(e)) => Bound::Excluded(b.to_vec().min(e)),
            (Some(b), None) => Bound::Excluded(b.to_vec()),
            (None, Some(e)) => Bound::Excluded(e),
            (None, None) => Bound::Unbounded,
        };
        if let Bound::Excluded(u) = &upper {
            if u.as_slice() <= prefix {
                return Ok(Vec::new());
            }
        }
        Ok(self
            .entries
            .range((Bound::Included(prefix.to_vec()), upper))
            .rev()
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

    /// Only `scan_prefix`: uses the provided `scan_prefix_rev`.
    struct Plain(MemoryState);

    impl StateRead for Plain {
        fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
            self.0.get(key)
        }
    }

    impl StateScan for Plain {
        fn scan_prefix(&self, prefix: &[u8], limit: usize) -> Result<Entries, StateError> {
            self.0.scan_prefix(prefix, limit)
        }
    }

    #[test]
    fn the_reverse_scan_of_memory_state_agrees_with_the_provided_one() {
        let empty = MemoryState::new();
        let mut ov = Overlay::new(&empty);
        for k in [
            &[0x1c, 1][..],
            &[0x1c, 1, 5],
            &[0x1c, 2],
            &[0x1c, 0xff],
            &[0x1c, 0xff, 0xff],
            &[0x1d],
            &[0x1b, 9],
        ] {
            ov.put_raw(k.to_vec(), Some(vec![1])).expect("memory");
        }
        let (changes, _) = ov.finish().expect("memory");
        let mut state = MemoryState::new();
        state.apply(&changes);
        let plain = Plain(state.clone());
        let prefixes: [&[u8]; 5] = [&[0x1c], &[0x1c, 1], &[0x1c, 0xff], &[0x1e], &[]];
        let befores: [Option<&[u8]>; 5] = [
            None,
            Some(&[0x1c, 2]),
            Some(&[0x1c, 1, 5]),
            Some(&[0]),
            Some(&[0xff, 0xff]),
        ];
        for prefix in prefixes {
            for before in befores {
                for limit in [0, 1, 2, 10] {
                    assert_eq!(
                        state.scan_prefix_rev(prefix, before, limit),
                        plain.scan_prefix_rev(prefix, before, limit),
                        "{prefix:?} {before:?} {limit}"
                    );
                }
            }
        }
        let newest = state.scan_prefix_rev(&[0x1c], None, 2).expect("memory");
        let keys: Vec<Vec<u8>> = newest.into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![vec![0x1c, 0xff, 0xff], vec![0x1c, 0xff]]);
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
        // The nonce, the previous commitment (written by every block) and the accumulator.
        let previous = vec![keys::PREVIOUS_COMMITMENT];
        assert_eq!(
            changed,
            vec![&keys::nonce(&who), &previous, &keys::lthash()]
        );
        let mut after = base.clone();
        after.apply(&changes);
        assert_eq!(after.app_hash(), Ok(app_hash));
    }
}
