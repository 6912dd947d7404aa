//! Cross-partner conversion: exchange agreements between two issuers (proposed by
//! one, accepted by the other, revocable by either) and `Convert`, which moves a
//! user's credits through the issuers' liquidity accounts in two linked legs.
//!
//! Each issuer's liquidity account is its own account: the from-leg pays the user's
//! credits to the from-issuer, the to-leg pays the to-issuer's credits to the user.
//! Any failing check or leg fails the call, and execution reverts both legs.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::query::{
    address, be_u64, check_range, corrupt, decode, QueryError, LISTED_MAX,
};
use crate::state::{read_record, StateScan};
use crate::types::TimeMs;
use std::collections::BTreeMap;
/// The most settlement records read per period (one per agreement that converted).
const SETTLEMENTS_PER_PERIOD_MAX: usize = 100_000;

use crate::economy::ledger::{
    credit_asset, get, money_asset, move_units, next_id, positive, CallCx, Fail, Res,
};
use crate::economy::{bps_of, period_of, BPS_DENOMINATOR};
use crate::events::EventDef;
use crate::model::{CallError, Event};
use crate::state::{Overlay, StateError, StateRead};
use crate::types::{Address, Amount, AssetId};

// -------------------------------------------------------------- records

/// An exchange agreement between two issuers: `from_asset` converts into `to_asset`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ExchangeAgreement {
    /// The agreement's id (assigned in order, never reused).
    pub id: u64,
    /// The credit asset users give.
    pub from_asset: AssetId,
    /// The credit asset users receive.
    pub to_asset: AssetId,
    /// Issuer of `from_asset`; its account receives the converted credits.
    pub from_issuer: Address,
    /// Issuer of `to_asset`; its account pays out `to_asset` and keeps the spread.
    pub to_issuer: Address,
    /// `out = floor(amount * rate_num / rate_den)`; both non-zero.
    pub rate_num: u64,
    /// See `rate_num`.
    pub rate_den: u64,
    /// The to-issuer's spread: `floor(out * spread_bps / 10_000)`, at most 10 000.
    pub spread_bps: u16,
    /// The most `from_asset` units converted per UTC day under this agreement.
    pub daily_cap: Amount,
    /// The money asset positions are settled in.
    pub settlement_asset: AssetId,
    /// Units of `settlement_asset` the from-issuer owes per unit of `to_asset`
    /// delivered to users.
    pub settlement_price: Amount,
    /// The issuer that proposed it; the other one accepts.
    pub proposer: Address,
    /// Whether both issuers consented (only active agreements convert).
    pub active: bool,
}

impl ExchangeAgreement {
    /// The issuer that must accept a proposal.
    pub fn counterparty(&self) -> Address {
        if self.proposer == self.from_issuer {
            self.to_issuer
        } else {
            self.from_issuer
        }
    }

    /// Whether `who` is one of the two issuers.
    pub fn is_party(&self, who: &Address) -> bool {
        *who == self.from_issuer || *who == self.to_issuer
    }

    /// What converting `amount` yields under this agreement's rate and spread, or
    /// `None` if `floor(amount * rate_num / rate_den)` does not fit a u64.
    pub fn quote(&self, amount: Amount) -> Option<Quote> {
        if self.rate_den == 0 {
            return None;
        }
        let gross = u128::from(amount) * u128::from(self.rate_num) / u128::from(self.rate_den);
        let gross = Amount::try_from(gross).ok()?;
        let spread = bps_of(gross, self.spread_bps.min(BPS_DENOMINATOR as u16));
        Some(Quote {
            gross,
            spread,
            out: gross - spread,
        })
    }
}

/// The outcome of a conversion at an agreement's terms.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Quote {
    /// `floor(amount * rate_num / rate_den)`, in to-asset units.
    pub gross: Amount,
    /// `floor(gross * spread_bps / 10_000)`: kept by the to-issuer.
    pub spread: Amount,
    /// `gross - spread`: what the user receives.
    pub out: Amount,
}

/// Conversions under one agreement in one day's window (for the daily cap).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct DayUsage {
    /// The UTC day index ([`period_of`]).
    pub day: u64,
    /// `from_asset` units converted that day.
    pub used: Amount,
}

/// What one agreement converted in one period: the from-issuer owes the to-issuer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct SettlementRecord {
    /// The asset users gave (to the from-issuer).
    pub from_asset: AssetId,
    /// The asset users received (from the to-issuer).
    pub to_asset: AssetId,
    /// The money asset `owed` is in.
    pub settlement_asset: AssetId,
    /// `from_asset` units converted.
    pub converted: u128,
    /// `to_asset` units delivered to users (`out`).
    pub delivered: u128,
    /// `to_asset` units of spread the to-issuer kept (not owed by anyone).
    pub spread: u128,
    /// `settlement_asset` units the from-issuer owes: the sum of `out * settlement_price`.
    pub owed: u128,
}

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{
        with, EXCHANGE, EXCHANGE_PAIR, EXCHANGE_USAGE, NEXT_EXCHANGE_ID, SETTLEMENT,
    };
    use crate::types::{Address, AssetId};

    /// Key of the exchange agreement id counter.
    pub fn next_exchange_id() -> Vec<u8> {
        vec![NEXT_EXCHANGE_ID]
    }
    /// Key of an exchange agreement.
    pub fn exchange(id: u64) -> Vec<u8> {
        with(EXCHANGE, &[&id.to_be_bytes()])
    }
    /// Prefix of all exchange agreements.
    pub fn exchanges() -> Vec<u8> {
        vec![EXCHANGE]
    }
    /// Key of the active agreement for a pair.
    pub fn exchange_pair(from_asset: AssetId, to_asset: AssetId) -> Vec<u8> {
        with(
            EXCHANGE_PAIR,
            &[&from_asset.0.to_be_bytes(), &to_asset.0.to_be_bytes()],
        )
    }
    /// Key of an agreement's daily cap use.
    pub fn exchange_usage(id: u64) -> Vec<u8> {
        with(EXCHANGE_USAGE, &[&id.to_be_bytes()])
    }
    /// Key of what an agreement converted in one period.
    pub fn settlement(period: u64, from: &Address, to: &Address, agreement: u64) -> Vec<u8> {
        with(
            SETTLEMENT,
            &[
                &period.to_be_bytes(),
                &from.0,
                &to.0,
                &agreement.to_be_bytes(),
            ],
        )
    }
    /// Prefix of one period's settlement records.
    pub fn settlements_in(period: u64) -> Vec<u8> {
        with(SETTLEMENT, &[&period.to_be_bytes()])
    }
}

// -------------------------------------------------------------- queries

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

// ---------------------------------------------------------------- calls

/// An issuer proposes an exchange agreement with the issuer of the other asset.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposeExchange {
    /// The credit asset users give.
    pub from_asset: AssetId,
    /// The credit asset users receive.
    pub to_asset: AssetId,
    /// Rate numerator: `out = floor(amount * rate_num / rate_den)` (> 0).
    pub rate_num: u64,
    /// Rate denominator (> 0).
    pub rate_den: u64,
    /// The to-issuer's spread in basis points (<= 10 000).
    pub spread_bps: u16,
    /// The most `from_asset` units converted per UTC day (> 0).
    pub daily_cap: Amount,
    /// The money asset positions are settled in.
    pub settlement_asset: AssetId,
    /// `settlement_asset` units owed per `to_asset` unit delivered.
    pub settlement_price: Amount,
}

/// The other issuer accepts a proposed agreement, making it active.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AcceptExchange {
    /// The agreement's id.
    pub id: u64,
}

/// Either issuer revokes an agreement (or declines a proposal).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RevokeExchange {
    /// The agreement's id.
    pub id: u64,
}

/// A holder converts credits under the active agreement for the pair, all or nothing.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Convert {
    /// The asset given.
    pub from_asset: AssetId,
    /// Units given (> 0).
    pub amount: Amount,
    /// The asset received.
    pub to_asset: AssetId,
    /// The least the holder accepts to receive.
    pub min_out: Amount,
}

impl CallDef for ProposeExchange {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        propose(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "propose exchanging asset {} into asset {}",
            self.from_asset, self.to_asset
        )
    }
}

impl CallDef for AcceptExchange {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        accept(ov, cx, self.id, events)
    }

    fn summary(&self) -> String {
        format!("accept exchange agreement {}", self.id)
    }
}

impl CallDef for RevokeExchange {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        revoke(ov, cx, self.id, events)
    }

    fn summary(&self) -> String {
        format!("revoke exchange agreement {}", self.id)
    }
}

impl CallDef for Convert {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let Convert {
            from_asset,
            amount,
            to_asset,
            min_out,
        } = *self;
        convert(ov, cx, from_asset, amount, to_asset, min_out, events)
    }

    fn summary(&self) -> String {
        let Convert {
            from_asset,
            amount,
            to_asset,
            ..
        } = self;
        format!("convert {amount} units of asset {from_asset} into asset {to_asset}")
    }
}

// --------------------------------------------------------------- events

/// An issuer proposed an exchange agreement; the other issuer must accept it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ExchangeProposed {
    /// The agreement's id.
    pub id: u64,
    /// The issuer that proposed.
    pub proposer: Address,
    /// The issuer that must accept.
    pub counterparty: Address,
    /// The asset users give.
    pub from_asset: AssetId,
    /// The asset users receive.
    pub to_asset: AssetId,
}

impl EventDef for ExchangeProposed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.proposer, self.counterparty]
    }
}

/// Both issuers consented: the agreement converts from now on.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ExchangeAccepted {
    /// The agreement's id.
    pub id: u64,
    /// Issuer of the asset users give.
    pub from_issuer: Address,
    /// Issuer of the asset users receive.
    pub to_issuer: Address,
    /// The asset users give.
    pub from_asset: AssetId,
    /// The asset users receive.
    pub to_asset: AssetId,
}

impl EventDef for ExchangeAccepted {
    fn accounts(&self) -> Vec<Address> {
        vec![self.from_issuer, self.to_issuer]
    }
}

/// One of the issuers revoked (or declined) an agreement.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ExchangeRevoked {
    /// The agreement's id.
    pub id: u64,
    /// Who revoked.
    pub by: Address,
    /// Issuer of the asset users give.
    pub from_issuer: Address,
    /// Issuer of the asset users receive.
    pub to_issuer: Address,
}

impl EventDef for ExchangeRevoked {
    fn accounts(&self) -> Vec<Address> {
        vec![self.from_issuer, self.to_issuer]
    }
}

/// A user converted credits: `amount` of `from_asset` to the from-issuer, `out` of
/// `to_asset` from the to-issuer, which kept `spread`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Converted {
    /// The agreement.
    pub agreement: u64,
    /// The user.
    pub user: Address,
    /// Issuer of `from_asset`.
    pub from_issuer: Address,
    /// Issuer of `to_asset`.
    pub to_issuer: Address,
    /// The asset given.
    pub from_asset: AssetId,
    /// Units given.
    pub amount: Amount,
    /// The asset received.
    pub to_asset: AssetId,
    /// Units received.
    pub out: Amount,
    /// Units kept by the to-issuer as its spread.
    pub spread: Amount,
}

impl EventDef for Converted {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.from_issuer, self.to_issuer]
    }
}

/// `ProposeExchange`: recorded inactive until the other issuer accepts.
fn propose<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    t: &ProposeExchange,
    events: &mut Vec<Event>,
) -> Res<()> {
    if t.from_asset == t.to_asset {
        return Err(CallError::SameAsset.into());
    }
    let from = credit_asset(ov, t.from_asset)?;
    let to = credit_asset(ov, t.to_asset)?;
    if from.issuer == to.issuer {
        return Err(CallError::SameIssuer.into());
    }
    if cx.sender != from.issuer && cx.sender != to.issuer {
        return Err(CallError::NotAParty.into());
    }
    if t.rate_num == 0 || t.rate_den == 0 {
        return Err(CallError::InvalidRate {
            num: t.rate_num,
            den: t.rate_den,
        }
        .into());
    }
    let max = BPS_DENOMINATOR as u16;
    if t.spread_bps > max {
        return Err(CallError::RateTooHigh {
            bps: t.spread_bps,
            max,
        }
        .into());
    }
    positive(t.daily_cap)?;
    money_asset(ov, t.settlement_asset)?;
    let id = next_id(ov, storage::next_exchange_id())?;
    let agreement = ExchangeAgreement {
        id,
        from_asset: t.from_asset,
        to_asset: t.to_asset,
        from_issuer: from.issuer,
        to_issuer: to.issuer,
        rate_num: t.rate_num,
        rate_den: t.rate_den,
        spread_bps: t.spread_bps,
        daily_cap: t.daily_cap,
        settlement_asset: t.settlement_asset,
        settlement_price: t.settlement_price,
        proposer: cx.sender,
        active: false,
    };
    ov.put(storage::exchange(id), &agreement)?;
    events.push(Event::ExchangeProposed(ExchangeProposed {
        id,
        proposer: cx.sender,
        counterparty: agreement.counterparty(),
        from_asset: t.from_asset,
        to_asset: t.to_asset,
    }));
    Ok(())
}

fn agreement<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<ExchangeAgreement> {
    get(ov, &storage::exchange(id))?.ok_or_else(|| CallError::UnknownExchange { id }.into())
}

/// `AcceptExchange { id }`: by the issuer that did not propose; one active agreement
/// per (from, to) pair.
fn accept<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut a = agreement(ov, id)?;
    if a.active {
        return Err(CallError::AlreadyActive { id }.into());
    }
    let counterparty = a.counterparty();
    if cx.sender != counterparty {
        return Err(CallError::NotCounterparty { id, counterparty }.into());
    }
    let pair = storage::exchange_pair(a.from_asset, a.to_asset);
    if let Some(active) = get::<u64, S>(ov, &pair)? {
        return Err(CallError::PairTaken {
            from_asset: a.from_asset,
            to_asset: a.to_asset,
            id: active,
        }
        .into());
    }
    a.active = true;
    ov.put(storage::exchange(id), &a)?;
    ov.put(pair, &id)?;
    events.push(Event::ExchangeAccepted(ExchangeAccepted {
        id,
        from_issuer: a.from_issuer,
        to_issuer: a.to_issuer,
        from_asset: a.from_asset,
        to_asset: a.to_asset,
    }));
    Ok(())
}

/// `RevokeExchange { id }`: either issuer ends an agreement or declines a proposal.
/// Its settlement records stay.
fn revoke<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let a = agreement(ov, id)?;
    if !a.is_party(&cx.sender) {
        return Err(CallError::NotAParty.into());
    }
    ov.put_raw(storage::exchange(id), None)?;
    if a.active {
        ov.put_raw(storage::exchange_pair(a.from_asset, a.to_asset), None)?;
        ov.put_raw(storage::exchange_usage(id), None)?;
    }
    events.push(Event::ExchangeRevoked(ExchangeRevoked {
        id,
        by: cx.sender,
        from_issuer: a.from_issuer,
        to_issuer: a.to_issuer,
    }));
    Ok(())
}

/// `Convert { from_asset, amount, to_asset, min_out }`.
fn convert<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    from_asset: AssetId,
    amount: Amount,
    to_asset: AssetId,
    min_out: Amount,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    let pair = storage::exchange_pair(from_asset, to_asset);
    let id: u64 = get(ov, &pair)?.ok_or(CallError::NoAgreement {
        from_asset,
        to_asset,
    })?;
    let a: ExchangeAgreement =
        get(ov, &storage::exchange(id))?.ok_or(StateError::MissingRecord {
            what: "exchange agreement",
            id,
        })?;
    let q = a.quote(amount).ok_or(CallError::ConversionOverflow)?;
    if q.out == 0 {
        return Err(CallError::NothingToReceive.into());
    }
    if q.out < min_out {
        return Err(CallError::BelowMinOut {
            out: q.out,
            min_out,
        }
        .into());
    }
    let day = period_of(cx.time_ms);
    let usage: Option<DayUsage> = get(ov, &storage::exchange_usage(id))?;
    let used = usage.filter(|u| u.day == day).map_or(0, |u| u.used);
    let within = used
        .checked_add(amount)
        .filter(|total| *total <= a.daily_cap);
    let Some(used_after) = within else {
        return Err(CallError::DailyCapExceeded {
            agreement: id,
            cap: a.daily_cap,
            used,
            amount,
        }
        .into());
    };
    // Leg 1: the user's credits to the from-issuer's liquidity account.
    move_units(ov, &cx.sender, &a.from_issuer, from_asset, amount)?;
    // Leg 2: the to-issuer's credits to the user; the spread never leaves it.
    match move_units(ov, &a.to_issuer, &cx.sender, to_asset, q.out) {
        Err(Fail::Call(CallError::InsufficientBalance { available, .. })) => {
            return Err(CallError::InsufficientLiquidity {
                issuer: a.to_issuer,
                asset: to_asset,
                needed: q.out,
                available,
            }
            .into());
        }
        other => other?,
    }
    ov.put(
        storage::exchange_usage(id),
        &DayUsage {
            day,
            used: used_after,
        },
    )?;
    book(ov, &a, day, amount, q.out, q.spread)?;
    events.push(Event::Converted(Converted {
        agreement: id,
        user: cx.sender,
        from_issuer: a.from_issuer,
        to_issuer: a.to_issuer,
        from_asset,
        amount,
        to_asset,
        out: q.out,
        spread: q.spread,
    }));
    Ok(())
}

/// Adds a conversion to the agreement's settlement record for the period: the
/// from-issuer owes `out * settlement_price` of the settlement asset; the spread is
/// booked beside it, owed by no one.
fn book<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    a: &ExchangeAgreement,
    period: u64,
    amount: Amount,
    out: Amount,
    spread: Amount,
) -> Res<()> {
    let key = storage::settlement(period, &a.from_issuer, &a.to_issuer, a.id);
    let mut r: SettlementRecord = get(ov, &key)?.unwrap_or(SettlementRecord {
        from_asset: a.from_asset,
        to_asset: a.to_asset,
        settlement_asset: a.settlement_asset,
        ..SettlementRecord::default()
    });
    let owed = u128::from(out) * u128::from(a.settlement_price);
    let add = |x: u128, y: u128| x.checked_add(y).ok_or(CallError::ConversionOverflow);
    r.converted = add(r.converted, u128::from(amount))?;
    r.delivered = add(r.delivered, u128::from(out))?;
    r.spread = add(r.spread, u128::from(spread))?;
    r.owed = add(r.owed, owed)?;
    ov.put(key, &r)?;
    Ok(())
}
