//! Shared test support: a small genesis-like consortium, signing helpers, and the
//! chain-wide invariants every test checks after every block.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use jeon_runtime::calls;
use std::collections::{BTreeMap, BTreeSet};

use jeon_runtime::codec;
use jeon_runtime::crypto::sha256;
use jeon_runtime::economy::{EconomyParams, Jurisdiction, Redemption, ESCROW_ACCOUNT};
use jeon_runtime::execute::execute_block;
use jeon_runtime::lthash::LtHash;
use jeon_runtime::state::keys;
use jeon_runtime::{
    Address, Amount, AssetId, AssetInfo, AssetKind, BlockContext, BlockOutput, Call, Hash, Height,
    Keypair, MemoryState, Nonce, Overlay, Params, Partner, Receipt, Role, SignedTx, StateExt,
    StateRead, TxBody, VerifiedTx,
};

/// The chain id of every test chain.
pub(crate) const CHAIN: Hash = Hash([0x4a; 32]);
/// KRW: a money token issued by the bank; the fee asset.
pub(crate) const KRW: AssetId = AssetId(0);
/// Telco loyalty points, issued by the telco.
pub(crate) const PTS: AssetId = AssetId(1);
/// Coffee stamps issued by the bank, with a supply close to `u64::MAX`.
pub(crate) const STAMP: AssetId = AssetId(2);
/// An asset id that genesis does not create.
pub(crate) const UNKNOWN: AssetId = AssetId(99);
/// The flat fee, in KRW units.
pub(crate) const FEE: Amount = 2;
/// Expiry of transactions that should not expire in a test.
pub(crate) const FAR_EXPIRY: Height = 1_000_000;
/// Stamps held by the bank at genesis: a mint of more than 10 overflows the supply.
pub(crate) const STAMP_SUPPLY: Amount = u64::MAX - 10;
/// KRW held by each user at genesis.
pub(crate) const USER_KRW: Amount = 1_000_000;
/// Points held by each user at genesis.
pub(crate) const USER_PTS: Amount = 5_000;
/// Users created by [`Consortium::new`].
pub(crate) const USERS: usize = 4;
/// The KR jurisdiction's withholding rate: 10 %.
pub(crate) const TAX_BPS: u16 = 1_000;
/// Blocks an issuer has to settle a redemption in the test chains.
pub(crate) const REDEMPTION_WINDOW: Height = 3;
/// PTS's issuance limit: its genesis supply is 1 020 000.
pub(crate) const PTS_SUPPLY_MAX: Amount = 2_000_000;

/// The domain of the app hash (pinned here on purpose: changing it changes every app hash).
pub(crate) const APP_HASH_DOMAIN: &[u8] = b"jeon/app/v2";

/// A genesis-like chain: partners, assets, funded users, and its current state.
pub(crate) struct Consortium {
    /// A bank partner: issuer of KRW and STAMP.
    pub(crate) bank: Keypair,
    /// A telco partner: issuer of PTS.
    pub(crate) telco: Keypair,
    /// A merchant partner without the issuer role.
    pub(crate) shop: Keypair,
    /// Users; the last one holds no KRW, so cannot pay fees.
    pub(crate) users: Vec<Keypair>,
    /// The fee collector (never a sender in these tests).
    pub(crate) collector: Address,
    /// The KR tax authority (never a sender in these tests).
    pub(crate) tax_authority: Address,
    /// The committed state.
    pub(crate) state: MemoryState,
    /// The height of the last executed block (0 = genesis).
    pub(crate) height: Height,
    /// Block time skipped by [`Consortium::skip_time`], added to [`ctx`]'s.
    pub(crate) skipped_ms: u64,
}

impl Consortium {
    /// Genesis: params, three partners, three assets, funded users.
    pub(crate) fn new() -> Self {
        let bank = Keypair::from_seed_label("bank");
        let telco = Keypair::from_seed_label("telco");
        let shop = Keypair::from_seed_label("shop");
        let users: Vec<Keypair> = (0..USERS)
            .map(|i| Keypair::from_seed_label(&format!("user-{i}")))
            .collect();
        let collector = Keypair::from_seed_label("collector").address();
        let mut balances: Vec<(Address, AssetId, Amount)> = vec![
            (bank.address(), KRW, 10_000_000),
            (bank.address(), STAMP, STAMP_SUPPLY),
            (telco.address(), KRW, 1_000_000),
            (telco.address(), PTS, 1_000_000),
            (shop.address(), KRW, 1_000_000),
        ];
        for (i, u) in users.iter().enumerate() {
            if i + 1 < USERS {
                balances.push((u.address(), KRW, USER_KRW));
            }
            balances.push((u.address(), PTS, USER_PTS));
        }
        let partners = [
            partner("Hana Bank", &bank, &[Role::Validator, Role::Issuer]),
            partner("K Telecom", &telco, &[Role::Issuer, Role::Merchant]),
            partner("Coffee Shop", &shop, &[Role::Merchant]),
        ];
        let assets = [
            (KRW, "KRW", 0, bank.address(), AssetKind::Money),
            (PTS, "PTS", 0, telco.address(), AssetKind::Credit),
            (STAMP, "STAMP", 0, bank.address(), AssetKind::Credit),
        ];
        let params = Params {
            fee_asset: KRW,
            fee_flat: FEE,
            fee_collector: collector,
            block_txs_max: 10_000,
            block_bytes_max: 4 << 20,
        };
        let mut state = genesis_state(&params, &partners, &assets, &balances);
        let tax_authority = Keypair::from_seed_label("tax-authority").address();
        let kr = Jurisdiction {
            code: "KR".into(),
            tax_bps: TAX_BPS,
            authority: tax_authority,
        };
        let economy = EconomyParams {
            redemption_window_blocks: REDEMPTION_WINDOW,
        };
        economy_genesis(&mut state, &[kr], economy, &[(PTS, PTS_SUPPLY_MAX)]);
        Consortium {
            bank,
            telco,
            shop,
            users,
            collector,
            tax_authority,
            state,
            height: 0,
            skipped_ms: 0,
        }
    }

    /// Every key that signs transactions, partners first.
    pub(crate) fn senders(&self) -> Vec<&Keypair> {
        let mut out = vec![&self.bank, &self.telco, &self.shop];
        out.extend(self.users.iter());
        out
    }

    /// A signed, verified transaction from `key` with its next stored nonce.
    pub(crate) fn tx(&self, key: &Keypair, call: Call) -> VerifiedTx {
        let nonce = self.state.nonce(&key.address()).expect("nonce");
        verified(sign(key, nonce, call))
    }

    /// The context of the next block: [`ctx`]'s, later by the time skipped.
    pub(crate) fn next_ctx(&self) -> BlockContext {
        let mut cx = ctx(self.height + 1);
        cx.time_ms += self.skipped_ms;
        cx
    }

    /// Moves block time on so that the next block's time is at least `time_ms` (a
    /// chain that was idle, without running the blocks in between).
    pub(crate) fn skip_time(&mut self, time_ms: u64) {
        let next = self.next_ctx().time_ms;
        self.skipped_ms += time_ms.saturating_sub(next);
    }

    /// Executes the next block, checks every invariant, commits it, and returns its receipts.
    pub(crate) fn run(&mut self, txs: &[VerifiedTx]) -> Vec<Receipt> {
        let out = execute_block(&self.state, &self.next_ctx(), txs).expect("storage is memory");
        assert_eq!(out.receipts.len(), txs.len(), "one receipt per transaction");
        self.commit(&out);
        out.receipts
    }

    /// Commits an output and checks the invariants.
    pub(crate) fn commit(&mut self, out: &BlockOutput) {
        self.state.apply(&out.changes);
        self.height += 1;
        check_invariants(&self.state, out.app_hash);
    }

    /// A balance in the committed state.
    pub(crate) fn balance(&self, who: &Address, asset: AssetId) -> Amount {
        self.state.balance(who, asset).expect("balance")
    }

    /// An asset's supply in the committed state.
    pub(crate) fn supply(&self, asset: AssetId) -> Amount {
        self.state
            .asset(asset)
            .expect("asset read")
            .expect("asset exists")
            .supply
    }
}

fn partner(name: &str, key: &Keypair, roles: &[Role]) -> Partner {
    Partner {
        name: name.into(),
        account: key.address(),
        roles: roles.to_vec(),
        jurisdiction: "KR".into(),
    }
}

/// Builds a state the way genesis does: writes through an overlay over an empty state.
pub(crate) fn genesis_state(
    params: &Params,
    partners: &[Partner],
    assets: &[(AssetId, &str, u8, Address, AssetKind)],
    balances: &[(Address, AssetId, Amount)],
) -> MemoryState {
    let empty = MemoryState::new();
    let mut ov = Overlay::new(&empty);
    ov.put(keys::params(), params).expect("write");
    for p in partners {
        ov.put(keys::partner(&p.account), p).expect("write");
    }
    let mut supply: BTreeMap<AssetId, Amount> = BTreeMap::new();
    for &(who, asset, amount) in balances {
        let s = supply.entry(asset).or_default();
        *s = s.checked_add(amount).expect("genesis supply fits a u64");
        ov.set_balance(&who, asset, amount).expect("write");
    }
    let mut next_id = 0;
    for &(id, symbol, decimals, issuer, kind) in assets {
        let info = AssetInfo {
            id,
            symbol: symbol.into(),
            decimals,
            issuer,
            kind,
            supply: supply.get(&id).copied().unwrap_or_default(),
        };
        ov.put(keys::asset(id), &info).expect("write");
        ov.put(keys::symbol(symbol), &id).expect("write");
        next_id = next_id.max(id.0 + 1);
    }
    ov.put(keys::next_asset_id(), &next_id).expect("write");
    let (changes, app_hash) = ov.finish().expect("memory");
    let mut state = MemoryState::new();
    state.apply(&changes);
    check_invariants(&state, app_hash);
    state
}

/// Adds what genesis writes for the economy: jurisdictions, the economy parameters and
/// issuance limits (kept apart from [`genesis_state`], whose app hash is pinned).
pub(crate) fn economy_genesis(
    state: &mut MemoryState,
    jurisdictions: &[Jurisdiction],
    economy: EconomyParams,
    supply_max: &[(AssetId, Amount)],
) {
    let mut ov = Overlay::new(&*state);
    for j in jurisdictions {
        let code: [u8; 2] = j.code.as_bytes().try_into().expect("two-letter code");
        ov.put(keys::jurisdiction(&code), j).expect("write");
    }
    ov.put(keys::economy(), &economy).expect("write");
    for (asset, max) in supply_max {
        ov.put(keys::supply_max(*asset), max).expect("write");
    }
    let (changes, app_hash) = ov.finish().expect("memory");
    state.apply(&changes);
    check_invariants(state, app_hash);
}

/// A transaction body with the test chain id, the flat fee as limit and a far expiry.
pub(crate) fn body(key: &Keypair, nonce: Nonce, call: Call) -> TxBody {
    TxBody {
        chain_id: CHAIN,
        sender: key.address(),
        nonce,
        fee_limit: FEE,
        expiry: FAR_EXPIRY,
        call,
        fee_payer: None,
    }
}

/// Signs [`body`].
pub(crate) fn sign(key: &Keypair, nonce: Nonce, call: Call) -> SignedTx {
    body(key, nonce, call).sign(key)
}

/// Verifies a transaction that must be valid for [`CHAIN`].
pub(crate) fn verified(tx: SignedTx) -> VerifiedTx {
    tx.verify(&CHAIN)
        .expect("test transactions are signed correctly")
}

/// A block context at `height`.
pub(crate) fn ctx(height: Height) -> BlockContext {
    BlockContext {
        chain_id: CHAIN,
        height,
        time_ms: 1_700_000_000_000 + height * 1_000,
        proposer: Keypair::from_seed_label("bank").address(),
    }
}

/// A transfer call.
pub(crate) fn transfer(to: &Address, asset: AssetId, amount: Amount) -> Call {
    Call::Transfer(calls::Transfer {
        to: *to,
        asset,
        amount,
    })
}

/// The invariants after every block: the committed app hash is the one execution
/// announced, equals a from-scratch recomputation, and every supply is the sum of
/// its balances.
pub(crate) fn check_invariants(state: &MemoryState, announced: Hash) {
    assert_eq!(
        state.app_hash().expect("app hash"),
        announced,
        "app hash of the committed state differs from the one execution announced"
    );
    assert_eq!(
        app_hash_from_scratch(state),
        announced,
        "incremental app hash differs from a from-scratch recomputation"
    );
    let sums = balance_sums(state);
    let supplies = supplies(state);
    for (asset, sum) in &sums {
        assert!(
            supplies.contains_key(asset),
            "balance of unknown asset {asset}"
        );
        assert_eq!(
            u128::from(supplies[asset]),
            *sum,
            "supply of {asset} != sum of balances"
        );
    }
    for (asset, supply) in &supplies {
        assert_eq!(
            u128::from(*supply),
            sums.get(asset).copied().unwrap_or_default(),
            "supply of {asset} != sum of balances"
        );
    }
    check_escrow(state);
}

/// The escrow account holds, per asset, exactly the sum of the pending redemptions
/// and of the open metered sessions' unspent budgets; every pending redemption is
/// listed in its issuer's index; every session has paid at most its budget and
/// exactly its claimed units × price.
pub(crate) fn check_escrow(state: &MemoryState) {
    let mut pending: BTreeMap<AssetId, u128> = BTreeMap::new();
    for (k, v) in state
        .iter()
        .filter(|(k, _)| k.first() == Some(&keys::REDEMPTION))
    {
        let r: Redemption = codec::decode(v, 1 << 16).expect("redemption record");
        assert_eq!(
            k,
            &jeon_runtime::economy::redeem::storage::redemption(r.id),
            "redemption key layout"
        );
        *pending.entry(r.asset).or_default() += u128::from(r.amount);
        assert!(
            state
                .get(&jeon_runtime::economy::redeem::storage::issuer_redemption(
                    &r.issuer, r.id
                ))
                .expect("memory")
                .is_some(),
            "redemption {} missing from its issuer's index",
            r.id
        );
    }
    for (_, v) in state
        .iter()
        .filter(|(k, _)| k.first() == Some(&keys::METER))
    {
        let m: jeon_runtime::goods::MeterSession = codec::decode(v, 1 << 16).expect("meter");
        assert!(m.paid <= m.budget, "session {} paid past its budget", m.id);
        assert_eq!(
            u128::from(m.paid),
            u128::from(m.units) * u128::from(m.unit_price),
            "session {} paid other than units x price",
            m.id
        );
        if m.is_open() {
            *pending.entry(m.asset).or_default() += u128::from(m.budget - m.paid);
        }
    }
    for (k, v) in state
        .iter()
        .filter(|(k, _)| k.starts_with(&keys::balances_of(&ESCROW_ACCOUNT)))
    {
        let asset = AssetId(u32::from_be_bytes(k[33..].try_into().expect("4 bytes")));
        let held: Amount = codec::decode(v, 8).expect("a balance is a u64");
        assert_eq!(
            u128::from(held),
            pending.remove(&asset).unwrap_or_default(),
            "escrow balance of {asset} != its pending redemptions"
        );
    }
    assert!(
        pending.values().all(|p| *p == 0),
        "pending redemptions without escrowed units: {pending:?}"
    );
}

/// The state without the account histories (which record when things happened, so
/// they differ between the same transactions ordered or split differently).
pub(crate) fn without_history(state: &MemoryState) -> MemoryState {
    let mut ov = Overlay::new(state);
    for (k, _) in state
        .iter()
        .filter(|(k, _)| k.first() == Some(&keys::HISTORY))
    {
        ov.put_raw(k.clone(), None).expect("memory");
    }
    let (changes, _) = ov.finish().expect("memory");
    let mut out = state.clone();
    out.apply(&changes);
    out
}

/// The app hash of a state, recomputed by adding every entry to a fresh accumulator
/// and rebuilding the provable entries' tree from its leaves (docs/proofs.md §9).
pub(crate) fn app_hash_from_scratch(state: &MemoryState) -> Hash {
    let mut acc = LtHash::default();
    for (k, v) in state.iter() {
        if keys::is_committed(k) {
            acc.add(k, v);
        }
    }
    let digest = sha256(&[acc.as_bytes()]);
    sha256(&[APP_HASH_DOMAIN, &digest.0, &smt_root_from_scratch(state).0])
}

/// The sparse Merkle root over a state's provable entries, computed from the
/// documented hashes alone (not from the stored nodes).
pub(crate) fn smt_root_from_scratch(state: &MemoryState) -> Hash {
    let mut leaves: Vec<(Hash, Hash)> = state
        .iter()
        .filter(|(k, _)| keys::is_provable(k))
        .map(|(k, v)| (sha256(&[k]), sha256(&[v])))
        .collect();
    leaves.sort();
    subtree_root(0, &leaves)
}

fn subtree_root(depth: usize, leaves: &[(Hash, Hash)]) -> Hash {
    match leaves {
        [] => Hash::ZERO,
        [(k, v)] => sha256(&[&[0u8], &k.0, &v.0]),
        _ => {
            let bit = |h: &Hash| (h.0[depth / 8] >> (7 - depth % 8)) & 1 == 1;
            let split = leaves.partition_point(|l| !bit(&l.0));
            let left = subtree_root(depth + 1, &leaves[..split]);
            let right = subtree_root(depth + 1, &leaves[split..]);
            sha256(&[&[1u8], &left.0, &right.0])
        }
    }
}

/// Sum of all balances per asset, by scanning every balance entry.
pub(crate) fn balance_sums(state: &MemoryState) -> BTreeMap<AssetId, u128> {
    let mut sums = BTreeMap::new();
    for (k, v) in state
        .iter()
        .filter(|(k, _)| k.first() == Some(&keys::BALANCE))
    {
        assert_eq!(k.len(), 1 + 32 + 4, "balance key layout");
        let asset = AssetId(u32::from_be_bytes(k[33..].try_into().expect("4 bytes")));
        let amount: Amount = codec::decode(v, 8).expect("a balance is a u64");
        assert_ne!(amount, 0, "a zero balance must be stored as an absent key");
        *sums.entry(asset).or_default() += u128::from(amount);
    }
    sums
}

/// Every asset's recorded supply.
pub(crate) fn supplies(state: &MemoryState) -> BTreeMap<AssetId, Amount> {
    state
        .iter()
        .filter(|(k, _)| k.first() == Some(&keys::ASSET))
        .map(|(_, v)| {
            let info: AssetInfo = codec::decode(v, 1 << 16).expect("asset record");
            (info.id, info.supply)
        })
        .collect()
}

/// Changed entries: key -> (value before, value after), `None` = absent.
pub(crate) type Changes = BTreeMap<Vec<u8>, (Option<Vec<u8>>, Option<Vec<u8>>)>;

/// The entries whose values differ between two states, except the accumulator.
pub(crate) fn diff(before: &MemoryState, after: &MemoryState) -> Changes {
    let mut all: BTreeSet<&Vec<u8>> = before.iter().map(|(k, _)| k).collect();
    all.extend(after.iter().map(|(k, _)| k));
    all.into_iter()
        // The commitment's own records (the accumulator, the previous block's
        // commitment and pre-images, rewritten by every block) are not changes a call
        // makes.
        .filter(|k| {
            !matches!(
                k.first(),
                Some(&keys::LTHASH) | Some(&keys::PRE_IMAGE) | Some(&keys::PREVIOUS_COMMITMENT)
            )
        })
        .filter_map(|k| {
            let b = before.get(k).expect("memory");
            let a = after.get(k).expect("memory");
            (b != a).then(|| (k.clone(), (b, a)))
        })
        .collect()
}

// ---- A four-validator set and its certificates (proofs, SDK vectors) ----

/// The voting power of each of the [`VALIDATORS`] test validators.
pub(crate) const VALIDATOR_POWER: u64 = 25;
/// How many test validators sign certificates.
pub(crate) const VALIDATORS: usize = 4;

/// The test validators' keys (`validator-0` ...).
pub(crate) fn validator_keys() -> Vec<jeon_runtime::Keypair> {
    (0..VALIDATORS)
        .map(|i| jeon_runtime::Keypair::from_seed_label(&format!("validator-{i}")))
        .collect()
}

/// The test validator set, equal powers.
pub(crate) fn validator_set() -> Vec<jeon_runtime::block::ValidatorInfo> {
    validator_keys()
        .iter()
        .map(|k| jeon_runtime::block::ValidatorInfo {
            key: k.address(),
            power: VALIDATOR_POWER,
        })
        .collect()
}

/// A precommit signature of `key` for `header` in round 0 on `chain`.
pub(crate) fn precommit(
    key: &jeon_runtime::Keypair,
    chain: Hash,
    header: &jeon_runtime::block::Header,
) -> jeon_runtime::block::CommitSig {
    let vote = jeon_runtime::block::VoteBody {
        chain_id: chain,
        height: header.height,
        round: 0,
        kind: jeon_runtime::block::VoteKind::Precommit,
        block: Some(header.hash()),
    };
    jeon_runtime::block::CommitSig {
        validator: key.address(),
        signature: key.sign(&vote.signing_bytes()),
    }
}

/// A certificate for `header` signed by `signers`.
pub(crate) fn certify(
    header: &jeon_runtime::block::Header,
    signers: &[jeon_runtime::Keypair],
) -> jeon_runtime::block::Certificate {
    jeon_runtime::block::Certificate {
        height: header.height,
        round: 0,
        block: header.hash(),
        signatures: signers
            .iter()
            .map(|k| precommit(k, header.chain_id, header))
            .collect(),
    }
}
