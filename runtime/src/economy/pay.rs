//! `Pay`: a payment to a merchant partner, with tax withheld at the merchant's
//! jurisdiction rate and the merchant's reward rules applied.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::query::{be_u32, check_range, corrupt, decode, QueryError};
use crate::state::StateScan;
use std::collections::BTreeMap;
/// The most assets a jurisdiction's tax is reported in per period.
const TAX_ASSETS_PER_PERIOD_MAX: usize = 10_000;

use crate::economy::ledger::{
    asset, check_text, credit, debit, get, merchant, money_asset, move_units, partner_with,
    positive, CallCx, Res,
};
use crate::economy::{
    bps_of, credit, is_reserved_account, period_of, rewards, Jurisdiction, BPS_DENOMINATOR,
    TEXT_BYTES_MAX,
};
use crate::events::EventDef;
use crate::model::{AssetKind, CallError, Event, Role};
use crate::state::{keys, Overlay, StateError, StateRead};
use crate::types::{Address, Amount, AssetId};

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{with, TAX};
    use crate::types::AssetId;

    /// Key of the tax withheld in one jurisdiction, period and asset.
    pub fn tax(code: &[u8; 2], period: u64, asset: AssetId) -> Vec<u8> {
        with(TAX, &[code, &period.to_be_bytes(), &asset.0.to_be_bytes()])
    }
    /// Prefix of the tax withheld in one jurisdiction and period.
    pub fn tax_in(code: &[u8; 2], period: u64) -> Vec<u8> {
        with(TAX, &[code, &period.to_be_bytes()])
    }
}

// -------------------------------------------------------------- queries

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

// ---------------------------------------------------------------- calls

/// Pay a merchant partner: tax at the merchant's jurisdiction rate goes to the tax
/// authority, the rest to the merchant; matching reward rules mint to the payer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Pay {
    /// A partner with the merchant role.
    pub merchant: Address,
    /// A money asset.
    pub asset: AssetId,
    /// Units paid, tax included (> 0).
    pub amount: Amount,
    /// The payer's reference, at most 64 bytes.
    pub reference: String,
}

impl CallDef for Pay {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        pay(
            ov,
            cx,
            &self.merchant,
            self.asset,
            self.amount,
            &self.reference,
            events,
        )
    }

    fn summary(&self) -> String {
        let Pay {
            merchant,
            asset,
            amount,
            ..
        } = self;
        format!("pay {amount} units of asset {asset} to merchant {merchant}")
    }

    fn addressee<S: StateRead + ?Sized>(&self, _state: &S) -> Result<Option<Address>, StateError> {
        Ok(Some(self.merchant))
    }
}

// --------------------------------------------------------------- events

/// A payment to a merchant: `amount` left the payer, the merchant received
/// `amount - tax` and the jurisdiction's authority `tax`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Paid {
    /// Who paid.
    pub payer: Address,
    /// The merchant partner.
    pub merchant: Address,
    /// The money asset.
    pub asset: AssetId,
    /// Units paid (tax included).
    pub amount: Amount,
    /// Units withheld as tax.
    pub tax: Amount,
    /// The payer's reference (e.g. an order number), at most 64 bytes.
    pub reference: String,
}

impl EventDef for Paid {
    fn accounts(&self) -> Vec<Address> {
        vec![self.payer, self.merchant]
    }
}

/// Tax withheld from a payment and credited to the tax authority (only when > 0).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TaxWithheld {
    /// Who paid.
    pub payer: Address,
    /// The merchant.
    pub merchant: Address,
    /// The merchant's jurisdiction code.
    pub jurisdiction: String,
    /// The authority credited.
    pub authority: Address,
    /// The money asset.
    pub asset: AssetId,
    /// Units withheld.
    pub amount: Amount,
    /// The accounting period (UTC day index) it is reported in.
    pub period: u64,
}

impl EventDef for TaxWithheld {
    fn accounts(&self) -> Vec<Address> {
        vec![self.payer, self.merchant, self.authority]
    }
}

/// A jurisdiction code as its two key bytes, if it has the shape genesis allows.
pub(crate) fn code_bytes(code: &str) -> Option<[u8; 2]> {
    code.as_bytes().try_into().ok()
}

/// The jurisdiction record for `code`.
fn jurisdiction<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    code: &str,
) -> Res<([u8; 2], Jurisdiction)> {
    let unknown = || CallError::UnknownJurisdiction {
        jurisdiction: code.to_owned(),
    };
    let bytes = code_bytes(code).ok_or_else(unknown)?;
    let j: Jurisdiction = get(ov, &keys::jurisdiction(&bytes))?.ok_or_else(unknown)?;
    Ok((bytes, j))
}

/// `Pay { merchant, asset, amount, reference }`.
pub(crate) fn pay<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    to: &Address,
    asset: AssetId,
    amount: Amount,
    reference: &str,
    events: &mut Vec<Event>,
) -> Res<()> {
    pay_funded(ov, cx, &cx.sender, to, asset, amount, reference, events)
}

/// A payment by `cx.sender` (the customer, who earns the merchant's rewards) whose
/// units come from `funder` (the sender itself, or the carrier of a billing line,
/// `goods::carrier`): the `Paid` and `TaxWithheld` events name the funder as payer, as
/// the units left its balance.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pay_funded<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    funder: &Address,
    to: &Address,
    asset: AssetId,
    amount: Amount,
    reference: &str,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    check_text(reference, TEXT_BYTES_MAX)?;
    money_asset(ov, asset)?;
    let shop = merchant(ov, to)?;
    if cx.sender == *to || *funder == *to {
        return Err(CallError::SelfPayment.into());
    }
    let (code, j) = jurisdiction(ov, &shop.jurisdiction)?;
    // Genesis bounds the rate to 100 %; the clamp keeps tax <= amount regardless.
    let tax = bps_of(amount, j.tax_bps.min(BPS_DENOMINATOR as u16));
    // A payer short of the amount draws the shortfall from its standby credit line.
    credit::cover_shortfall(ov, cx.height, funder, asset, amount, events)?;
    debit(ov, funder, asset, amount)?;
    // tax <= amount, so the merchant's share cannot underflow: payer, merchant and
    // authority together account for every unit of `amount`.
    credit(ov, to, asset, amount - tax)?;
    events.push(Event::Paid(Paid {
        payer: *funder,
        merchant: *to,
        asset,
        amount,
        tax,
        reference: reference.to_owned(),
    }));
    if tax > 0 {
        credit(ov, &j.authority, asset, tax)?;
        let period = period_of(cx.time_ms);
        record_tax(ov, &code, period, asset, tax)?;
        events.push(Event::TaxWithheld(TaxWithheld {
            payer: *funder,
            merchant: *to,
            jurisdiction: j.code.clone(),
            authority: j.authority,
            asset,
            amount: tax,
            period,
        }));
    }
    credit::record_payment(ov, cx.height, funder, amount)?;
    rewards::apply_rules(ov, cx, to, asset, amount, events)
}

/// Adds to the tax withheld in a jurisdiction, period and asset (u128: a day's total
/// can exceed any one supply, since the same units can be paid many times).
fn record_tax<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    code: &[u8; 2],
    period: u64,
    asset: AssetId,
    tax: Amount,
) -> Res<()> {
    let key = storage::tax(code, period, asset);
    let total: u128 = get(ov, &key)?.unwrap_or(0);
    let total = total
        .checked_add(u128::from(tax))
        .ok_or(StateError::InvariantBroken("a tax total overflowed a u128"))?;
    ov.put(key, &total)?;
    Ok(())
}

/// Moves `amount` from `cx.sender` to `to`: as `Pay` (tax, rewards) if `to` is a
/// merchant partner and the asset money, else as a transfer.
pub(crate) fn move_money<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    to: &Address,
    asset_id: AssetId,
    amount: Amount,
    reference: &str,
    events: &mut Vec<Event>,
) -> Res<()> {
    let info = asset(ov, asset_id)?;
    let is_merchant = partner_with(ov, to, Role::Merchant)?.is_some();
    if is_merchant && info.kind == AssetKind::Money {
        return pay(ov, cx, to, asset_id, amount, reference, events);
    }
    if is_reserved_account(to) {
        return Err(CallError::ReservedAccount { account: *to }.into());
    }
    move_units(ov, &cx.sender, to, asset_id, amount)?;
    events.push(Event::Transferred(crate::events::Transferred {
        from: cx.sender,
        to: *to,
        asset: asset_id,
        amount,
    }));
    Ok(())
}
