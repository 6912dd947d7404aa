//! Mandates (a user's standing consent to be charged by a spender, within a limit per
//! period) and payment links (merchant-signed invoices, paid at most once).
//!
//! Revocation rule: `RevokeMandate` at height `h` records `revoked_at = h`; a charge is
//! refused when the block's height is above `revoked_at`. So the revocation takes effect
//! from the next block: charges in block `h` itself, before or after the revoking
//! transaction, still pass. Expiry: a charge is accepted while `height <= expires_at`.
//!
//! Money moves as a `Pay` (tax withheld, reward rules applied) when the payee (the
//! spender, or the invoice's merchant) is a merchant partner and the asset is a money
//! asset; otherwise as a plain transfer.

use serde::{Deserialize, Serialize};

use crate::crypto::Signature;
use crate::economy::ledger::{
    asset, check_text, get, move_units, next_id, partner_with, positive, CallCx, Res,
};
use crate::economy::{is_reserved_account, pay, TEXT_BYTES_MAX};
use crate::invoice::{Invoice, MEMO_BYTES_MAX};
use crate::model::{AssetKind, CallError, Event, Role};
use crate::state::{keys, read_record, Overlay, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// The most mandates [`mandates_of`] lists for one user.
pub const MANDATES_LISTED_MAX: usize = 1_000;

/// A user's standing consent to be charged by a spender.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Mandate {
    /// The mandate's id (assigned in order, never reused).
    pub id: u64,
    /// The account charged (who granted it).
    pub user: Address,
    /// The only account that may charge it.
    pub spender: Address,
    /// The asset charged.
    pub asset: AssetId,
    /// The most units charged per period.
    pub limit_per_period: Amount,
    /// The period in milliseconds; period index = `time_ms / period_ms`.
    pub period_ms: u64,
    /// The last height at which a charge is accepted.
    pub expires_at: Height,
    /// The height of the block that revoked it; charges above it are refused.
    pub revoked_at: Option<Height>,
    /// The period index of the latest charge.
    pub period: u64,
    /// Units charged in `period`.
    pub used: Amount,
}

impl Mandate {
    /// What may still be charged in the period of `time_ms` (the limit again once a
    /// new period starts).
    pub fn remaining(&self, time_ms: TimeMs) -> Amount {
        let period = time_ms / self.period_ms.max(1);
        if period == self.period {
            self.limit_per_period.saturating_sub(self.used)
        } else {
            self.limit_per_period
        }
    }

    /// Whether a charge at `height` would pass the revocation and expiry checks.
    pub fn is_active(&self, height: Height) -> bool {
        height <= self.expires_at && self.revoked_at.is_none_or(|r| height <= r)
    }
}

/// A mandate with what it allows now, as [`mandates_of`] lists it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MandateStatus {
    /// The record.
    pub mandate: Mandate,
    /// Whether a charge in the next block at `height` could pass revocation and expiry.
    pub active: bool,
    /// What may still be charged in the period of the given time (0 if not active).
    pub remaining: Amount,
}

/// A user's mandates in id order (at most [`MANDATES_LISTED_MAX`]), with their
/// remaining limits for a block at `height` and `time_ms` (e.g. the head's).
pub fn mandates_of<S: StateScan + ?Sized>(
    s: &S,
    user: &Address,
    height: Height,
    time_ms: TimeMs,
) -> Result<Vec<MandateStatus>, StateError> {
    let prefix = keys::user_mandates(user);
    let mut out = Vec::new();
    for (k, _) in s.scan_prefix(&prefix, MANDATES_LISTED_MAX)? {
        let id_bytes: [u8; 8] = k[prefix.len()..]
            .try_into()
            .map_err(|_| StateError(format!("malformed mandate key {}", hex::encode(&k))))?;
        let id = u64::from_be_bytes(id_bytes);
        let mandate: Mandate = read_record(s, &keys::mandate(id))?
            .ok_or_else(|| StateError(format!("mandate {id} missing from its record")))?;
        let active = mandate.is_active(height);
        let remaining = if active {
            mandate.remaining(time_ms)
        } else {
            0
        };
        out.push(MandateStatus {
            mandate,
            active,
            remaining,
        });
    }
    Ok(out)
}

/// `GrantMandate`'s fields.
pub(crate) struct Grant {
    pub(crate) spender: Address,
    pub(crate) asset: AssetId,
    pub(crate) limit_per_period: Amount,
    pub(crate) period_ms: u64,
    pub(crate) expires_at: Height,
}

/// `GrantMandate`: the sender is the user.
pub(crate) fn grant<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    g: Grant,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(g.limit_per_period)?;
    if g.period_ms == 0 {
        return Err(CallError::ZeroPeriod.into());
    }
    asset(ov, g.asset)?;
    if g.spender == cx.sender {
        return Err(CallError::SelfMandate.into());
    }
    if is_reserved_account(&g.spender) {
        return Err(CallError::ReservedAccount { account: g.spender }.into());
    }
    let id = next_id(ov, keys::next_mandate_id())?;
    if cx.height > g.expires_at {
        return Err(CallError::MandateExpired {
            id,
            expires_at: g.expires_at,
            height: cx.height,
        }
        .into());
    }
    let mandate = Mandate {
        id,
        user: cx.sender,
        spender: g.spender,
        asset: g.asset,
        limit_per_period: g.limit_per_period,
        period_ms: g.period_ms,
        expires_at: g.expires_at,
        revoked_at: None,
        period: cx.time_ms / g.period_ms,
        used: 0,
    };
    ov.put(keys::mandate(id), &mandate)?;
    ov.put(keys::user_mandate(&cx.sender, id), &id)?;
    events.push(Event::MandateGranted {
        id,
        user: cx.sender,
        spender: g.spender,
        asset: g.asset,
        limit_per_period: g.limit_per_period,
        period_ms: g.period_ms,
        expires_at: g.expires_at,
    });
    Ok(())
}

fn existing<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<Mandate> {
    Ok(get(ov, &keys::mandate(id))?.ok_or(CallError::UnknownMandate { id })?)
}

/// `Charge`: the sender is the spender. Checks, in order: the mandate exists, the
/// sender is its spender, it is not revoked before this block, not expired, and the
/// amount fits the period's remaining limit; then moves the units.
pub(crate) fn charge<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    (id, amount, reference): (u64, Amount, &str),
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    check_text(reference, TEXT_BYTES_MAX)?;
    let mut m = existing(ov, id)?;
    if m.spender != cx.sender {
        return Err(CallError::NotMandateSpender {
            id,
            spender: m.spender,
        }
        .into());
    }
    if let Some(revoked_at) = m.revoked_at.filter(|r| cx.height > *r) {
        return Err(CallError::MandateRevoked { id, revoked_at }.into());
    }
    if cx.height > m.expires_at {
        return Err(CallError::MandateExpired {
            id,
            expires_at: m.expires_at,
            height: cx.height,
        }
        .into());
    }
    let remaining = m.remaining(cx.time_ms);
    if amount > remaining {
        return Err(CallError::MandateLimitExceeded {
            id,
            limit: m.limit_per_period,
            used: m.limit_per_period - remaining,
            amount,
        }
        .into());
    }
    // remaining <= limit, so used + amount <= limit: no overflow.
    m.used = m.limit_per_period - remaining + amount;
    m.period = cx.time_ms / m.period_ms;
    ov.put(keys::mandate(id), &m)?;
    let payer = CallCx {
        sender: m.user,
        ..*cx
    };
    move_money(ov, &payer, &m.spender, m.asset, amount, reference, events)?;
    events.push(Event::MandateCharged {
        id,
        user: m.user,
        spender: m.spender,
        asset: m.asset,
        amount,
        used_in_period: m.used,
        reference: reference.to_owned(),
    });
    Ok(())
}

/// `RevokeMandate`: the sender is the user.
pub(crate) fn revoke<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut m = existing(ov, id)?;
    if m.user != cx.sender {
        return Err(CallError::NotMandateUser { id, user: m.user }.into());
    }
    if let Some(revoked_at) = m.revoked_at {
        return Err(CallError::MandateRevoked { id, revoked_at }.into());
    }
    m.revoked_at = Some(cx.height);
    ov.put(keys::mandate(id), &m)?;
    events.push(Event::MandateRevoked {
        id,
        user: m.user,
        spender: m.spender,
        revoked_at: cx.height,
    });
    Ok(())
}

/// `PayInvoice`: checks the merchant's signature, the expiry and that the invoice is
/// unpaid, in that order; then records it paid and moves the units from the sender.
pub(crate) fn pay_invoice<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    invoice: &Invoice,
    signature: &Signature,
    events: &mut Vec<Event>,
) -> Res<()> {
    let (merchant, invoice_id) = (invoice.merchant, invoice.invoice_id);
    if invoice.verify(&cx.chain_id, signature).is_err() {
        return Err(CallError::BadInvoiceSignature {
            merchant,
            invoice_id,
        }
        .into());
    }
    if cx.height > invoice.expires_at {
        return Err(CallError::InvoiceExpired {
            invoice_id,
            expires_at: invoice.expires_at,
            height: cx.height,
        }
        .into());
    }
    let paid_key = keys::paid_invoice(&merchant, invoice_id);
    if let Some(paid_at) = get::<Height, _>(ov, &paid_key)? {
        return Err(CallError::InvoiceAlreadyPaid {
            merchant,
            invoice_id,
            paid_at,
        }
        .into());
    }
    let memo_len = invoice.memo.as_ref().map_or(0, Vec::len);
    if memo_len > MEMO_BYTES_MAX {
        return Err(CallError::TextTooLong {
            len: memo_len,
            max: MEMO_BYTES_MAX,
        }
        .into());
    }
    positive(invoice.amount)?;
    if merchant == cx.sender {
        return Err(CallError::SelfPayment.into());
    }
    ov.put(paid_key, &cx.height)?;
    let reference = format!("invoice {invoice_id}");
    move_money(
        ov,
        cx,
        &merchant,
        invoice.asset,
        invoice.amount,
        &reference,
        events,
    )?;
    events.push(Event::InvoicePaid {
        payer: cx.sender,
        merchant,
        asset: invoice.asset,
        amount: invoice.amount,
        invoice_id,
    });
    Ok(())
}

/// Moves `amount` from `cx.sender` to `to`: as `Pay` (tax, rewards) if `to` is a
/// merchant partner and the asset money, else as a transfer.
fn move_money<S: StateRead + ?Sized>(
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
        return pay::pay(ov, cx, to, asset_id, amount, reference, events);
    }
    if is_reserved_account(to) {
        return Err(CallError::ReservedAccount { account: *to }.into());
    }
    move_units(ov, &cx.sender, to, asset_id, amount)?;
    events.push(Event::Transferred {
        from: cx.sender,
        to: *to,
        asset: asset_id,
        amount,
    });
    Ok(())
}
