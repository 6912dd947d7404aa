//! Metered sessions: pay-per-unit use (lesson minutes, streamed minutes, ad-skips)
//! settled from a budget in escrow by the user's signed cumulative receipts.
//!
//! Rules (docs/economy.md §12, "Metered sessions"):
//! - `OpenMeter` (the user): a merchant partner, a money asset, a unit price (> 0), a
//!   budget (≥ one unit's price) moved into escrow, and a duration after which the
//!   user may close the session alone.
//! - Off chain, after each unit the user's wallet signs a [`MeterReceipt`] `{session,
//!   units}` (units so far, cumulative) under the domain `"jeon/meter/v1"` and the
//!   chain id; the merchant keeps only the latest.
//! - `ClaimMeter` (the merchant, while the session is open): the receipt's units must
//!   exceed those already claimed (`StaleMeterReceipt`) and cost at most the budget
//!   (`MeterBudgetExceeded`); the new units × price leave escrow and are paid to the
//!   merchant exactly as `Pay` from the user (tax, standby credit untouched, cashback
//!   and stamps to the user). With `close` it is also the final claim.
//! - `CloseMeter`: the merchant at any time, the user from the expiry on
//!   (`MeterNotExpired`); the rest of the budget returns to the user.
//!
//! The escrow holds exactly `budget − paid` of every open session: paid never exceeds
//! the budget nor the claimed units × price, and supply is conserved (every move goes
//! through the ledger).

use serde::{Deserialize, Serialize};

use super::storage;
use crate::calls::CallDef;
use crate::codec;
use crate::crypto::{self, Keypair, Signature, SignatureError};
use crate::economy::ledger::{
    get, merchant, money_asset, move_units, next_id, positive, CallCx, Res,
};
use crate::economy::{pay, ESCROW_ACCOUNT};
use crate::events::EventDef;
use crate::model::{CallError, Event};
use crate::state::{read_record, Overlay, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Hash, Height, TimeMs};

/// The domain prefix of a signed meter receipt.
pub const METER_RECEIPT_DOMAIN: &[u8] = b"jeon/meter/v1";
/// The longest session: as long as the longest pass.
pub const METER_DURATION_MS_MAX: u64 = super::PASS_DURATION_MS_MAX;

// ---------------------------------------------------------------- calls

/// Open a metered session with a merchant: the budget goes into escrow.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OpenMeter {
    /// The merchant partner paid per unit.
    pub merchant: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The price of one unit (> 0).
    pub unit_price: Amount,
    /// The most the session can pay (≥ `unit_price`), held in escrow.
    pub budget: Amount,
    /// From this long after the opening block's time the user may close the session
    /// alone (1 ms … [`METER_DURATION_MS_MAX`]).
    pub duration_ms: u64,
}

/// The merchant claims the units of the user's latest receipt.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ClaimMeter {
    /// The session.
    pub session: u64,
    /// Units so far (cumulative), as the user signed them.
    pub units: u64,
    /// The user's signature over [`MeterReceipt::signing_bytes`].
    pub signature: Signature,
    /// Whether this is the final claim: the session closes after it.
    pub close: bool,
}

/// Close a session: the rest of the budget returns to the user.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CloseMeter {
    /// The session.
    pub session: u64,
}

// ------------------------------------------------------------- receipts

/// What the user's wallet signs after each unit: the units used so far.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MeterReceipt {
    /// The session.
    pub session: u64,
    /// Units so far, cumulative.
    pub units: u64,
}

impl MeterReceipt {
    /// The exact bytes signed: `"jeon/meter/v1" ‖ chain_id (32) ‖ session (u64 LE) ‖
    /// units (u64 LE)`, 61 bytes.
    pub fn signing_bytes(&self, chain_id: &Hash) -> Vec<u8> {
        let mut out = METER_RECEIPT_DOMAIN.to_vec();
        out.extend_from_slice(&chain_id.0);
        out.extend_from_slice(&codec::encode(self));
        out
    }

    /// Signs the receipt with `key` (the session's user's).
    pub fn sign(&self, key: &Keypair, chain_id: &Hash) -> Signature {
        key.sign(&self.signing_bytes(chain_id))
    }

    /// Checks `user`'s signature with strict rules.
    pub fn verify(
        &self,
        user: &Address,
        chain_id: &Hash,
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        crypto::verify(user, &self.signing_bytes(chain_id), signature)
    }
}

// -------------------------------------------------------------- records

/// A metered session.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MeterSession {
    /// Its id.
    pub id: u64,
    /// The user who opened it, who signs receipts and gets the rest back.
    pub user: Address,
    /// The merchant partner paid.
    pub merchant: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The price of one unit.
    pub unit_price: Amount,
    /// The budget put in escrow at the opening.
    pub budget: Amount,
    /// From this block time on the user may close it.
    pub expires_at_ms: TimeMs,
    /// Units claimed so far (the latest claimed receipt's).
    pub units: u64,
    /// Units paid so far: `units × unit_price` ≤ `budget`.
    pub paid: Amount,
    /// The height it was opened at.
    pub opened_at: Height,
    /// The height it was closed at; `None` while open.
    pub closed_at: Option<Height>,
}

impl MeterSession {
    /// Whether claims are still accepted.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

// --------------------------------------------------------------- events

/// A user opened a metered session (the budget went into escrow).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MeterOpened {
    /// The session.
    pub id: u64,
    /// The user.
    pub user: Address,
    /// The merchant.
    pub merchant: Address,
    /// The money asset.
    pub asset: AssetId,
    /// The price of one unit.
    pub unit_price: Amount,
    /// The budget in escrow.
    pub budget: Amount,
    /// From when the user may close it (block time, ms).
    pub expires_at_ms: TimeMs,
}

impl EventDef for MeterOpened {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.merchant]
    }
}

/// The merchant claimed a receipt (after the payment's `Paid`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MeterClaimed {
    /// The session.
    pub id: u64,
    /// The user.
    pub user: Address,
    /// The merchant.
    pub merchant: Address,
    /// Units so far, as the receipt says.
    pub units: u64,
    /// Units this claim paid for.
    pub new_units: u64,
    /// What this claim paid: `new_units × unit_price`.
    pub amount: Amount,
}

impl EventDef for MeterClaimed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.merchant]
    }
}

/// A session closed; the rest of its budget returned to the user.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MeterClosed {
    /// The session.
    pub id: u64,
    /// The user.
    pub user: Address,
    /// The merchant.
    pub merchant: Address,
    /// Units paid for over the session.
    pub units: u64,
    /// Units of the asset paid to the merchant over the session.
    pub paid: Amount,
    /// Units of the asset returned to the user.
    pub refund: Amount,
}

impl EventDef for MeterClosed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.merchant]
    }
}

// ------------------------------------------------------------ execution

impl CallDef for OpenMeter {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        open(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "open a metered session with {} at {} units of asset {} per unit, budget {}",
            self.merchant, self.unit_price, self.asset, self.budget
        )
    }

    fn addressee<S: StateRead + ?Sized>(&self, _state: &S) -> Result<Option<Address>, StateError> {
        Ok(Some(self.merchant))
    }
}

impl CallDef for ClaimMeter {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        claim(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        let close = if self.close { " and close it" } else { "" };
        format!(
            "claim {} units of metered session {}{close}",
            self.units, self.session
        )
    }
}

impl CallDef for CloseMeter {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let s = existing(ov, self.session)?;
        if cx.sender == s.user && cx.sender != s.merchant {
            if cx.time_ms < s.expires_at_ms {
                return Err(CallError::MeterNotExpired {
                    id: s.id,
                    expires_at_ms: s.expires_at_ms,
                    time_ms: cx.time_ms,
                }
                .into());
            }
        } else if cx.sender != s.merchant {
            return Err(CallError::NotMeterParty { id: s.id }.into());
        }
        close(ov, cx, s, events)
    }

    fn summary(&self) -> String {
        format!("close metered session {}", self.session)
    }
}

fn invalid(reason: impl Into<String>) -> CallError {
    CallError::InvalidMeter {
        reason: reason.into(),
    }
}

/// An open session.
fn existing<S: StateRead + ?Sized>(ov: &Overlay<'_, S>, id: u64) -> Res<MeterSession> {
    let s: MeterSession = get(ov, &storage::meter(id))?.ok_or(CallError::UnknownMeter { id })?;
    if !s.is_open() {
        return Err(CallError::MeterClosed { id }.into());
    }
    Ok(s)
}

/// `OpenMeter`: the sender is the user.
fn open<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    o: &OpenMeter,
    events: &mut Vec<Event>,
) -> Res<()> {
    merchant(ov, &o.merchant)?;
    if o.merchant == cx.sender {
        return Err(CallError::SelfPayment.into());
    }
    money_asset(ov, o.asset)?;
    positive(o.unit_price)?;
    if o.budget < o.unit_price {
        return Err(invalid("the budget is below one unit's price").into());
    }
    if o.duration_ms == 0 || o.duration_ms > METER_DURATION_MS_MAX {
        return Err(invalid(format!("duration_ms must be 1 to {METER_DURATION_MS_MAX}")).into());
    }
    let expires_at_ms = cx
        .time_ms
        .checked_add(o.duration_ms)
        .ok_or_else(|| invalid("the session would expire after the last time there is"))?;
    move_units(ov, &cx.sender, &ESCROW_ACCOUNT, o.asset, o.budget)?;
    let id = next_id(ov, storage::next_meter_id())?;
    let s = MeterSession {
        id,
        user: cx.sender,
        merchant: o.merchant,
        asset: o.asset,
        unit_price: o.unit_price,
        budget: o.budget,
        expires_at_ms,
        units: 0,
        paid: 0,
        opened_at: cx.height,
        closed_at: None,
    };
    ov.put(storage::meter(id), &s)?;
    ov.put(storage::account_meter(&s.user, id), &())?;
    ov.put(storage::account_meter(&s.merchant, id), &())?;
    events.push(Event::MeterOpened(MeterOpened {
        id,
        user: s.user,
        merchant: s.merchant,
        asset: s.asset,
        unit_price: s.unit_price,
        budget: s.budget,
        expires_at_ms,
    }));
    Ok(())
}

/// `ClaimMeter`: the sender is the merchant. Checks, in order: the session is open,
/// the sender its merchant, the user's signature, the receipt newer than the last
/// claim, its cost within the budget.
fn claim<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    c: &ClaimMeter,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut s = existing(ov, c.session)?;
    if cx.sender != s.merchant {
        return Err(CallError::NotMeterMerchant {
            id: s.id,
            merchant: s.merchant,
        }
        .into());
    }
    let receipt = MeterReceipt {
        session: s.id,
        units: c.units,
    };
    if receipt.verify(&s.user, &cx.chain_id, &c.signature).is_err() {
        return Err(CallError::BadMeterReceipt { id: s.id }.into());
    }
    if c.units <= s.units {
        return Err(CallError::StaleMeterReceipt {
            id: s.id,
            units: c.units,
            claimed: s.units,
        }
        .into());
    }
    let over_budget = || CallError::MeterBudgetExceeded {
        id: s.id,
        units: c.units,
        unit_price: s.unit_price,
        budget: s.budget,
    };
    let cost = c.units.checked_mul(s.unit_price).ok_or_else(over_budget)?;
    if cost > s.budget {
        return Err(over_budget().into());
    }
    // units > s.units and paid = s.units × price < cost: no underflow.
    let (new_units, amount) = (c.units - s.units, cost - s.paid);
    // Out of escrow to the user, then paid by the user as `Pay` would: the user is
    // the payer the tax report and the reward rules see.
    move_units(ov, &ESCROW_ACCOUNT, &s.user, s.asset, amount)?;
    let as_user = CallCx {
        sender: s.user,
        ..*cx
    };
    let reference = format!("meter {}", s.id);
    pay::pay(
        ov,
        &as_user,
        &s.merchant,
        s.asset,
        amount,
        &reference,
        events,
    )?;
    s.units = c.units;
    s.paid = cost;
    events.push(Event::MeterClaimed(MeterClaimed {
        id: s.id,
        user: s.user,
        merchant: s.merchant,
        units: c.units,
        new_units,
        amount,
    }));
    if c.close {
        return close(ov, cx, s, events);
    }
    ov.put(storage::meter(s.id), &s)?;
    Ok(())
}

/// Closes an open session: the rest of the budget leaves escrow for the user.
fn close<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    mut s: MeterSession,
    events: &mut Vec<Event>,
) -> Res<()> {
    // paid <= budget is kept by every claim.
    let refund = s.budget - s.paid;
    if refund > 0 {
        move_units(ov, &ESCROW_ACCOUNT, &s.user, s.asset, refund)?;
    }
    s.closed_at = Some(cx.height);
    ov.put(storage::meter(s.id), &s)?;
    events.push(Event::MeterClosed(MeterClosed {
        id: s.id,
        user: s.user,
        merchant: s.merchant,
        units: s.units,
        paid: s.paid,
        refund,
    }));
    Ok(())
}

// -------------------------------------------------------------- queries

/// A session by id (open or closed).
pub fn meter<S: StateRead + ?Sized>(s: &S, id: u64) -> Result<Option<MeterSession>, StateError> {
    read_record(s, &storage::meter(id))
}

/// The sessions an account opened or is paid by, in id order, at most
/// [`crate::economy::query::LISTED_MAX`].
pub fn meters_of<S: StateScan + ?Sized>(
    s: &S,
    account: &Address,
) -> Result<Vec<MeterSession>, StateError> {
    let prefix = storage::account_meters(account);
    super::indexed_ids(s, &prefix, "account meter")?
        .into_iter()
        .map(|id| meter(s, id)?.ok_or(StateError::MissingRecord { what: "meter", id }))
        .collect()
}
