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

use crate::calls::CallDef;
use crate::economy::ledger::{asset, check_text, get, next_id, positive, CallCx, Res};
use crate::economy::pay::move_money;
use crate::economy::{is_reserved_account, TEXT_BYTES_MAX};
use crate::events::EventDef;
use crate::model::{CallError, Event};
use crate::state::{read_record, Overlay, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{with, MANDATE, NEXT_MANDATE_ID, USER_MANDATE};
    use crate::types::Address;

    /// Key of the mandate id counter.
    pub fn next_mandate_id() -> Vec<u8> {
        vec![NEXT_MANDATE_ID]
    }
    /// Key of a mandate.
    pub fn mandate(id: u64) -> Vec<u8> {
        with(MANDATE, &[&id.to_be_bytes()])
    }
    /// Key of a mandate in its user's index.
    pub fn user_mandate(user: &Address, id: u64) -> Vec<u8> {
        with(USER_MANDATE, &[&user.0, &id.to_be_bytes()])
    }
    /// Prefix of a user's mandates.
    pub fn user_mandates(user: &Address) -> Vec<u8> {
        with(USER_MANDATE, &[&user.0])
    }
}

// ---------------------------------------------------------------- calls

/// A user lets `spender` charge it up to `limit_per_period` of `asset` per period,
/// until `expires_at` (a subscription, pay-per-lesson, in-game purchases).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GrantMandate {
    /// Who may charge (not the sender).
    pub spender: Address,
    /// The asset charged.
    pub asset: AssetId,
    /// The most units charged per period (> 0).
    pub limit_per_period: Amount,
    /// The period in milliseconds (> 0); period index = `time_ms / period_ms`.
    pub period_ms: u64,
    /// The last height at which a charge is accepted.
    pub expires_at: Height,
}

/// The mandate's spender charges the user, within the period's remaining limit.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Charge {
    /// The mandate's id.
    pub mandate_id: u64,
    /// Units (> 0).
    pub amount: Amount,
    /// The spender's reference, at most 64 bytes.
    pub reference: String,
}

/// The user revokes a mandate: charges in later blocks are refused.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RevokeMandate {
    /// The mandate's id.
    pub mandate_id: u64,
}

impl CallDef for GrantMandate {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        grant(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let GrantMandate {
            spender,
            asset,
            limit_per_period,
            period_ms,
            ..
        } = self;
        format!("let {spender} charge up to {limit_per_period} units of asset {asset} per {period_ms} ms")
    }

    fn addressee<S: StateRead + ?Sized>(&self, _state: &S) -> Result<Option<Address>, StateError> {
        Ok(Some(self.spender))
    }
}

impl CallDef for Charge {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        charge(
            ov,
            cx,
            (self.mandate_id, self.amount, &self.reference),
            events,
        )
    }

    fn summary(&self) -> String {
        format!(
            "charge {} units under mandate {}",
            self.amount, self.mandate_id
        )
    }
}

impl CallDef for RevokeMandate {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        revoke(ov, cx, self.mandate_id, events)
    }

    fn summary(&self) -> String {
        format!("revoke mandate {}", self.mandate_id)
    }
}

// --------------------------------------------------------------- events

/// A user granted a mandate to a spender.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MandateGranted {
    /// The mandate's id.
    pub id: u64,
    /// The user charged.
    pub user: Address,
    /// Who may charge.
    pub spender: Address,
    /// The asset.
    pub asset: AssetId,
    /// The most units per period.
    pub limit_per_period: Amount,
    /// The period in milliseconds.
    pub period_ms: u64,
    /// The last height a charge is accepted at.
    pub expires_at: Height,
}

impl EventDef for MandateGranted {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.spender]
    }
}

/// A spender charged a user under a mandate (with `Paid` and `TaxWithheld` before
/// it when the spender is a merchant partner and the asset money, else `Transferred`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MandateCharged {
    /// The mandate's id.
    pub id: u64,
    /// The user charged.
    pub user: Address,
    /// The spender.
    pub spender: Address,
    /// The asset.
    pub asset: AssetId,
    /// Units charged.
    pub amount: Amount,
    /// Units charged in this period so far, this charge included.
    pub used_in_period: Amount,
    /// The spender's reference.
    pub reference: String,
}

impl EventDef for MandateCharged {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.spender]
    }
}

/// A user revoked a mandate; charges at heights above `revoked_at` are refused.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MandateRevoked {
    /// The mandate's id.
    pub id: u64,
    /// The user.
    pub user: Address,
    /// The spender.
    pub spender: Address,
    /// The height of the revoking block.
    pub revoked_at: Height,
}

impl EventDef for MandateRevoked {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.spender]
    }
}

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
    let prefix = storage::user_mandates(user);
    let mut out = Vec::new();
    for (k, _) in s.scan_prefix(&prefix, MANDATES_LISTED_MAX)? {
        let id_bytes: [u8; 8] =
            k[prefix.len()..]
                .try_into()
                .map_err(|_| StateError::MalformedKey {
                    what: "mandate",
                    key: k.clone(),
                })?;
        let id = u64::from_be_bytes(id_bytes);
        let mandate: Mandate =
            read_record(s, &storage::mandate(id))?.ok_or(StateError::MissingRecord {
                what: "mandate",
                id,
            })?;
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

/// `GrantMandate`: the sender is the user.
fn grant<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    g: &GrantMandate,
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
    let id = next_id(ov, storage::next_mandate_id())?;
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
    ov.put(storage::mandate(id), &mandate)?;
    ov.put(storage::user_mandate(&cx.sender, id), &id)?;
    events.push(Event::MandateGranted(MandateGranted {
        id,
        user: cx.sender,
        spender: g.spender,
        asset: g.asset,
        limit_per_period: g.limit_per_period,
        period_ms: g.period_ms,
        expires_at: g.expires_at,
    }));
    Ok(())
}

fn existing<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<Mandate> {
    Ok(get(ov, &storage::mandate(id))?.ok_or(CallError::UnknownMandate { id })?)
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
    ov.put(storage::mandate(id), &m)?;
    let payer = CallCx {
        sender: m.user,
        ..*cx
    };
    move_money(ov, &payer, &m.spender, m.asset, amount, reference, events)?;
    events.push(Event::MandateCharged(MandateCharged {
        id,
        user: m.user,
        spender: m.spender,
        asset: m.asset,
        amount,
        used_in_period: m.used,
        reference: reference.to_owned(),
    }));
    Ok(())
}

/// `RevokeMandate`: the sender is the user.
fn revoke<S: StateRead + ?Sized>(
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
    ov.put(storage::mandate(id), &m)?;
    events.push(Event::MandateRevoked(MandateRevoked {
        id,
        user: m.user,
        spender: m.spender,
        revoked_at: cx.height,
    }));
    Ok(())
}
