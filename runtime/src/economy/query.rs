//! Pure queries over committed state for the API and CLI: tax reports, reward rules,
//! redemptions, exchange agreements and quotes, settlement positions, and account
//! histories. Each reads a bounded amount of state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::economy::pay::code_bytes;
use crate::economy::{
    period_of, EconomyParams, ExchangeAgreement, Jurisdiction, Quote, Redemption, RewardRule,
    RewardUsage, SettlementRecord, StampReward, BLOCK_EVENTS_TX_INDEX, QUERY_PERIODS_MAX,
};
use crate::model::Event;
use crate::state::{keys, read_record, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// The most records a list query returns.
pub const LISTED_MAX: usize = 1_000;
/// The most settlement records read per period (one per agreement that converted).
const SETTLEMENTS_PER_PERIOD_MAX: usize = 100_000;
/// The most assets a jurisdiction's tax is reported in per period.
const TAX_ASSETS_PER_PERIOD_MAX: usize = 10_000;

/// Why a query cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The period range is inverted or too long.
    #[error("period range {from}..={to} is inverted or spans more than {max} periods")]
    BadRange {
        /// First period asked for.
        from: u64,
        /// Last period asked for.
        to: u64,
        /// The most periods one query may span.
        max: u64,
    },
    /// Reading state failed.
    #[error(transparent)]
    State(#[from] StateError),
}

fn check_range(from: u64, to: u64) -> Result<(), QueryError> {
    if from > to || to - from >= QUERY_PERIODS_MAX {
        return Err(QueryError::BadRange {
            from,
            to,
            max: QUERY_PERIODS_MAX,
        });
    }
    Ok(())
}

fn corrupt(key: &[u8], what: &'static str) -> StateError {
    StateError::MalformedKey {
        what,
        key: key.to_vec(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], v: &[u8]) -> Result<T, StateError> {
    codec::decode(v, 64 * 1024).map_err(|reason| StateError::CorruptValue {
        key: key.to_vec(),
        reason,
    })
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

fn address(bytes: &[u8]) -> Option<Address> {
    Some(Address(bytes.try_into().ok()?))
}

/// A jurisdiction by code ("KR").
pub fn jurisdiction<S: StateRead + ?Sized>(
    state: &S,
    code: &str,
) -> Result<Option<Jurisdiction>, StateError> {
    match code_bytes(code) {
        Some(c) => read_record(state, &keys::jurisdiction(&c)),
        None => Ok(None),
    }
}

/// Every jurisdiction, in code order.
pub fn jurisdictions<S: StateScan + ?Sized>(state: &S) -> Result<Vec<Jurisdiction>, StateError> {
    state
        .scan_prefix(&keys::jurisdictions(), LISTED_MAX)?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}

/// The economy parameters (defaults if the state has none).
pub fn economy_params<S: StateRead + ?Sized>(state: &S) -> Result<EconomyParams, StateError> {
    Ok(read_record(state, &keys::economy())?.unwrap_or_default())
}

/// An asset's issuance limit, if it has one.
pub fn supply_max<S: StateRead + ?Sized>(
    state: &S,
    asset: AssetId,
) -> Result<Option<Amount>, StateError> {
    read_record(state, &keys::supply_max(asset))
}

/// Tax withheld in one period and asset.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TaxEntry {
    /// The period (UTC day index).
    pub period: u64,
    /// The money asset.
    pub asset: AssetId,
    /// Units withheld.
    pub amount: u128,
}

/// A jurisdiction's tax withheld over a range of periods.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TaxReport {
    /// The jurisdiction code.
    pub jurisdiction: String,
    /// First period (inclusive).
    pub from_period: u64,
    /// Last period (inclusive).
    pub to_period: u64,
    /// Per period and asset, in (period, asset) order; periods without tax are absent.
    pub entries: Vec<TaxEntry>,
    /// Per asset over the whole range, in asset order.
    pub totals: Vec<(AssetId, u128)>,
}

/// Tax withheld in `jurisdiction` in periods `from_period..=to_period` (UTC day
/// indices, [`crate::economy::period_of`]); at most [`QUERY_PERIODS_MAX`] periods.
pub fn tax_withheld<S: StateScan + ?Sized>(
    state: &S,
    jurisdiction: &str,
    from_period: u64,
    to_period: u64,
) -> Result<TaxReport, QueryError> {
    check_range(from_period, to_period)?;
    let mut report = TaxReport {
        jurisdiction: jurisdiction.to_owned(),
        from_period,
        to_period,
        entries: Vec::new(),
        totals: Vec::new(),
    };
    let Some(code) = code_bytes(jurisdiction) else {
        return Ok(report);
    };
    let mut totals: BTreeMap<AssetId, u128> = BTreeMap::new();
    for period in from_period..=to_period {
        let prefix = crate::economy::pay::storage::tax_in(&code, period);
        for (k, v) in state.scan_prefix(&prefix, TAX_ASSETS_PER_PERIOD_MAX)? {
            let asset = be_u32(&k[prefix.len()..]).ok_or_else(|| corrupt(&k, "tax"))?;
            let amount: u128 = decode(&k, &v)?;
            let total = totals.entry(AssetId(asset)).or_default();
            *total = total.saturating_add(amount);
            report.entries.push(TaxEntry {
                period,
                asset: AssetId(asset),
                amount,
            });
        }
    }
    report.totals = totals.into_iter().collect();
    Ok(report)
}

/// A reward rule by id.
pub fn reward_rule<S: StateRead + ?Sized>(
    state: &S,
    id: u64,
) -> Result<Option<RewardRule>, StateError> {
    read_record(state, &crate::economy::rewards::storage::rule(id))
}

/// The rules attached to a merchant, in application (id) order.
pub fn merchant_rules<S: StateRead + ?Sized>(
    state: &S,
    merchant: &Address,
) -> Result<Vec<RewardRule>, StateError> {
    let ids: Vec<u64> = read_record(
        state,
        &crate::economy::rewards::storage::merchant_rules(merchant),
    )?
    .unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.extend(reward_rule(state, id)?);
    }
    Ok(out)
}

/// Every reward rule, in id order, at most `limit` (capped at [`LISTED_MAX`]).
pub fn reward_rules<S: StateScan + ?Sized>(
    state: &S,
    limit: usize,
) -> Result<Vec<RewardRule>, StateError> {
    state
        .scan_prefix(&[keys::RULE], limit.min(LISTED_MAX))?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}

/// Units a payer has earned from a rule in the rule's period containing `time_ms`.
pub fn reward_used<S: StateRead + ?Sized>(
    state: &S,
    rule: &RewardRule,
    user: &Address,
    time_ms: TimeMs,
) -> Result<Amount, StateError> {
    let usage: Option<RewardUsage> = read_record(
        state,
        &crate::economy::rewards::storage::reward_usage(rule.id, user),
    )?;
    let period = time_ms / rule.period_ms.max(1);
    Ok(usage
        .filter(|u| u.period == period)
        .map_or(0, |u| u.granted))
}

/// What a stamp asset redeems for.
pub fn stamp_reward<S: StateRead + ?Sized>(
    state: &S,
    stamp_asset: AssetId,
) -> Result<Option<StampReward>, StateError> {
    read_record(
        state,
        &crate::economy::rewards::storage::stamp_reward(stamp_asset),
    )
}

/// A pending redemption (settled, rejected and refunded ones are gone: their events
/// remain in the accounts' histories).
pub fn redemption<S: StateRead + ?Sized>(
    state: &S,
    id: u64,
) -> Result<Option<Redemption>, StateError> {
    read_record(state, &crate::economy::redeem::storage::redemption(id))
}

/// An issuer's pending redemptions, oldest first, at most `limit` (capped at
/// [`LISTED_MAX`]).
pub fn pending_redemptions<S: StateScan + ?Sized>(
    state: &S,
    issuer: &Address,
    limit: usize,
) -> Result<Vec<Redemption>, StateError> {
    let prefix = crate::economy::redeem::storage::issuer_redemptions(issuer);
    let mut out = Vec::new();
    for (k, _) in state.scan_prefix(&prefix, limit.min(LISTED_MAX))? {
        let id = be_u64(&k[prefix.len()..]).ok_or_else(|| corrupt(&k, "issuer redemption"))?;
        let r = redemption(state, id)?.ok_or(StateError::MissingRecord {
            what: "redemption",
            id,
        })?;
        out.push(r);
    }
    Ok(out)
}

/// An exchange agreement (proposed or active) by id.
pub fn exchange<S: StateRead + ?Sized>(
    state: &S,
    id: u64,
) -> Result<Option<ExchangeAgreement>, StateError> {
    read_record(state, &crate::economy::exchange::storage::exchange(id))
}

/// The active agreement converting `from_asset` into `to_asset`.
pub fn active_exchange<S: StateRead + ?Sized>(
    state: &S,
    from_asset: AssetId,
    to_asset: AssetId,
) -> Result<Option<ExchangeAgreement>, StateError> {
    match read_record::<u64, S>(
        state,
        &crate::economy::exchange::storage::exchange_pair(from_asset, to_asset),
    )? {
        Some(id) => exchange(state, id),
        None => Ok(None),
    }
}

/// Every agreement, proposed or active, in id order, at most `limit` (capped at
/// [`LISTED_MAX`]).
pub fn exchanges<S: StateScan + ?Sized>(
    state: &S,
    limit: usize,
) -> Result<Vec<ExchangeAgreement>, StateError> {
    state
        .scan_prefix(
            &crate::economy::exchange::storage::exchanges(),
            limit.min(LISTED_MAX),
        )?
        .iter()
        .map(|(k, v)| decode(k, v))
        .collect()
}

/// What converting `amount` would yield now under the active agreement for the pair
/// (without the daily cap and liquidity checks), for a wallet to choose `min_out`.
pub fn conversion_quote<S: StateRead + ?Sized>(
    state: &S,
    from_asset: AssetId,
    to_asset: AssetId,
    amount: Amount,
) -> Result<Option<(ExchangeAgreement, Quote)>, StateError> {
    Ok(active_exchange(state, from_asset, to_asset)?.and_then(|a| a.quote(amount).map(|q| (a, q))))
}

/// `from_asset` units already converted under an agreement on the UTC day of `time_ms`.
pub fn exchange_used_today<S: StateRead + ?Sized>(
    state: &S,
    agreement: u64,
    time_ms: TimeMs,
) -> Result<Amount, StateError> {
    let usage: Option<crate::economy::DayUsage> = read_record(
        state,
        &crate::economy::exchange::storage::exchange_usage(agreement),
    )?;
    let day = period_of(time_ms);
    Ok(usage.filter(|u| u.day == day).map_or(0, |u| u.used))
}

/// What one agreement converted over the queried periods.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GrossPosition {
    /// The agreement.
    pub agreement: u64,
    /// Issuer of the asset users gave: the debtor.
    pub from_issuer: Address,
    /// Issuer of the asset users received: the creditor.
    pub to_issuer: Address,
    /// The sums over the periods.
    pub totals: SettlementRecord,
}

/// Who owes whom, in money terms, after netting both directions between two issuers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NetPosition {
    /// The issuer that owes.
    pub owes: Address,
    /// The issuer that is owed.
    pub owed: Address,
    /// The money asset.
    pub settlement_asset: AssetId,
    /// Units of `settlement_asset`.
    pub amount: u128,
}

/// Settlement positions over a range of periods.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SettlementReport {
    /// First period (inclusive).
    pub from_period: u64,
    /// Last period (inclusive).
    pub to_period: u64,
    /// Per agreement, in (from issuer, to issuer, agreement) order.
    pub gross: Vec<GrossPosition>,
    /// Net money positions per pair of issuers and settlement asset; pairs that net
    /// to zero are omitted. Ordered by (owes, owed, asset).
    pub net: Vec<NetPosition>,
}

fn add_record(into: &mut SettlementRecord, r: &SettlementRecord) {
    into.converted = into.converted.saturating_add(r.converted);
    into.delivered = into.delivered.saturating_add(r.delivered);
    into.spread = into.spread.saturating_add(r.spread);
    into.owed = into.owed.saturating_add(r.owed);
}

/// Net settlement positions between partners for periods `from_period..=to_period`
/// (UTC day indices; at most [`QUERY_PERIODS_MAX`]). For each conversion the
/// from-issuer owes the to-issuer `out * settlement_price` of the agreement's
/// settlement asset; the two directions between a pair are netted.
pub fn settlement_positions<S: StateScan + ?Sized>(
    state: &S,
    from_period: u64,
    to_period: u64,
) -> Result<SettlementReport, QueryError> {
    check_range(from_period, to_period)?;
    let mut gross: BTreeMap<(Address, Address, u64), SettlementRecord> = BTreeMap::new();
    for period in from_period..=to_period {
        let prefix = crate::economy::exchange::storage::settlements_in(period);
        for (k, v) in state.scan_prefix(&prefix, SETTLEMENTS_PER_PERIOD_MAX)? {
            let rest = &k[prefix.len()..];
            let parsed = (rest.len() == 72)
                .then(|| {
                    Some((
                        address(&rest[..32])?,
                        address(&rest[32..64])?,
                        be_u64(&rest[64..])?,
                    ))
                })
                .flatten();
            let (from, to, id) = parsed.ok_or_else(|| corrupt(&k, "settlement"))?;
            let r: SettlementRecord = decode(&k, &v)?;
            let entry = gross.entry((from, to, id)).or_insert(SettlementRecord {
                converted: 0,
                delivered: 0,
                spread: 0,
                owed: 0,
                ..r
            });
            add_record(entry, &r);
        }
    }
    // owed[(debtor, creditor, asset)], then netted per unordered pair.
    let mut owed: BTreeMap<(Address, Address, AssetId), u128> = BTreeMap::new();
    for ((from, to, _), r) in &gross {
        let e = owed.entry((*from, *to, r.settlement_asset)).or_default();
        *e = e.saturating_add(r.owed);
    }
    let mut net = Vec::new();
    for (&(a, b, asset), &ab) in &owed {
        let ba = owed.get(&(b, a, asset)).copied().unwrap_or(0);
        // Each unordered pair once: from the direction that owes more (ties: nothing).
        if ab > ba {
            net.push(NetPosition {
                owes: a,
                owed: b,
                settlement_asset: asset,
                amount: ab - ba,
            });
        }
    }
    Ok(SettlementReport {
        from_period,
        to_period,
        gross: gross
            .into_iter()
            .map(
                |((from_issuer, to_issuer, agreement), totals)| GrossPosition {
                    agreement,
                    from_issuer,
                    to_issuer,
                    totals,
                },
            )
            .collect(),
        net,
    })
}

/// Where an event sits in the chain: the history key's order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct EventPosition {
    /// Block height.
    pub height: Height,
    /// Index of the transaction in the block; [`BLOCK_EVENTS_TX_INDEX`] for the block's
    /// own end-of-block events.
    pub tx_index: u32,
    /// Index of the event in the receipt's (or the block's) event list.
    pub event_index: u32,
}

/// One entry of an account's history.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AccountEvent {
    /// Where it happened; pass it as `before` to get the next (older) page.
    pub position: EventPosition,
    /// The event.
    pub event: Event,
}

impl AccountEvent {
    /// Whether the event came from the end-of-block step rather than a transaction.
    pub fn is_block_event(&self) -> bool {
        self.position.tx_index == BLOCK_EVENTS_TX_INDEX
    }
}

/// An account's events, newest first, strictly before `before` (from the newest if
/// `None`), at most `limit` (capped at [`LISTED_MAX`]). Fee events are not indexed.
pub fn account_events<S: StateScan + ?Sized>(
    state: &S,
    who: &Address,
    limit: usize,
    before: Option<EventPosition>,
) -> Result<Vec<AccountEvent>, StateError> {
    let prefix = keys::history_of(who);
    let bound = before.map(|p| keys::history(who, p.height, p.tx_index, p.event_index));
    let entries = state.scan_prefix_rev(&prefix, bound.as_deref(), limit.min(LISTED_MAX))?;
    entries
        .iter()
        .map(|(k, v)| {
            let rest = &k[prefix.len()..];
            let position = (rest.len() == 16)
                .then(|| {
                    Some(EventPosition {
                        height: be_u64(&rest[..8])?,
                        tx_index: be_u32(&rest[8..12])?,
                        event_index: be_u32(&rest[12..])?,
                    })
                })
                .flatten()
                .ok_or_else(|| corrupt(k, "history"))?;
            Ok(AccountEvent {
                position,
                event: decode(k, v)?,
            })
        })
        .collect()
}
