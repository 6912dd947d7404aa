//! `Pay`: a payment to a merchant partner, with tax withheld at the merchant's
//! jurisdiction rate and the merchant's reward rules applied.

use crate::economy::ledger::{
    check_text, credit, debit, get, merchant, money_asset, positive, CallCx, Res,
};
use crate::economy::{
    bps_of, credit, period_of, rewards, Jurisdiction, BPS_DENOMINATOR, TEXT_BYTES_MAX,
};
use crate::model::{CallError, Event};
use crate::state::{keys, Overlay, StateError, StateRead};
use crate::types::{Address, Amount, AssetId};

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
    positive(amount)?;
    check_text(reference, TEXT_BYTES_MAX)?;
    money_asset(ov, asset)?;
    let shop = merchant(ov, to)?;
    if cx.sender == *to {
        return Err(CallError::SelfPayment.into());
    }
    let (code, j) = jurisdiction(ov, &shop.jurisdiction)?;
    // Genesis bounds the rate to 100 %; the clamp keeps tax <= amount regardless.
    let tax = bps_of(amount, j.tax_bps.min(BPS_DENOMINATOR as u16));
    // A payer short of the amount draws the shortfall from its standby credit line.
    credit::cover_shortfall(ov, cx.height, &cx.sender, asset, amount, events)?;
    debit(ov, &cx.sender, asset, amount)?;
    // tax <= amount, so the merchant's share cannot underflow: payer, merchant and
    // authority together account for every unit of `amount`.
    credit(ov, to, asset, amount - tax)?;
    events.push(Event::Paid {
        payer: cx.sender,
        merchant: *to,
        asset,
        amount,
        tax,
        reference: reference.to_owned(),
    });
    if tax > 0 {
        credit(ov, &j.authority, asset, tax)?;
        let period = period_of(cx.time_ms);
        record_tax(ov, &code, period, asset, tax)?;
        events.push(Event::TaxWithheld {
            payer: cx.sender,
            merchant: *to,
            jurisdiction: j.code.clone(),
            authority: j.authority,
            asset,
            amount: tax,
            period,
        });
    }
    credit::record_payment(ov, cx.height, &cx.sender, amount)?;
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
    let key = keys::tax(code, period, asset);
    let total: u128 = get(ov, &key)?.unwrap_or(0);
    let total = total
        .checked_add(u128::from(tax))
        .ok_or_else(|| StateError("tax total overflows a u128".into()))?;
    ov.put(key, &total)?;
    Ok(())
}
