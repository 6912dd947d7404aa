//! Redemption and cash-out: credits held in escrow until the issuer settles (burns)
//! or rejects (refunds), and the end-of-block sweep that refunds requests whose
//! deadline has come.
//!
//! Deadlines are a [`deadlines::Queue`]: a block's sweep reads only what falls due and
//! examines at most [`REDEMPTIONS_SWEPT_PER_BLOCK_MAX`] slots; the rest carry over to
//! the next block, oldest deadline first.

use serde::{Deserialize, Serialize};

use crate::calls::CallDef;
use crate::economy::ledger::{
    burn, check_text, credit_asset, economy, get, merchant, move_units, next_id, positive, CallCx,
    Fail, Res,
};
use crate::economy::query::LISTED_MAX;
use crate::economy::query::{be_u64, corrupt};
use crate::economy::{deadlines, ESCROW_ACCOUNT, TEXT_BYTES_MAX};
use crate::events::EventDef;
use crate::model::{CallError, Event};
use crate::state::{read_record, StateScan};
use crate::state::{Overlay, StateError, StateExt, StateRead};
use crate::types::{Address, Amount, AssetId, Height};

// -------------------------------------------------------------- records

/// The most due-redemption slots (plus empty heights) one block's sweep examines; the
/// rest carry over to the next block.
pub const REDEMPTIONS_SWEPT_PER_BLOCK_MAX: u32 = 1024;

/// What a user redeems credits for.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedeemKind {
    /// Goods or services, collected at a merchant partner.
    Goods {
        /// Where.
        merchant: Address,
    },
    /// Money paid out by the issuer (off chain or in a money asset) to a wallet.
    CashOut {
        /// The account the payout goes to.
        destination: Address,
    },
}

/// A pending redemption: the credits are held by [`ESCROW_ACCOUNT`].
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Redemption {
    /// The request's id (assigned in order, never reused).
    pub id: u64,
    /// The credit asset.
    pub asset: AssetId,
    /// Its issuer: the only account that may settle or reject.
    pub issuer: Address,
    /// Who redeemed; refunds go back to this account.
    pub user: Address,
    /// Units held in escrow.
    pub amount: Amount,
    /// Goods or cash-out.
    pub kind: RedeemKind,
    /// The height of the block that made the request.
    pub requested_height: Height,
    /// The last height at which the issuer may settle; at the end of this block a
    /// still-pending request is refunded.
    pub deadline: Height,
}

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{with, ISSUER_REDEMPTION, NEXT_REDEMPTION_ID, REDEMPTION};
    use crate::types::Address;

    /// Key of the redemption id counter.
    pub fn next_redemption_id() -> Vec<u8> {
        vec![NEXT_REDEMPTION_ID]
    }
    /// Key of a pending redemption.
    pub fn redemption(id: u64) -> Vec<u8> {
        with(REDEMPTION, &[&id.to_be_bytes()])
    }
    /// Key of a pending redemption in its issuer's index.
    pub fn issuer_redemption(issuer: &Address, id: u64) -> Vec<u8> {
        with(ISSUER_REDEMPTION, &[&issuer.0, &id.to_be_bytes()])
    }
    /// Prefix of an issuer's pending redemptions.
    pub fn issuer_redemptions(issuer: &Address) -> Vec<u8> {
        with(ISSUER_REDEMPTION, &[&issuer.0])
    }
}

// -------------------------------------------------------------- queries

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

// ---------------------------------------------------------------- calls

/// A holder asks the issuer to redeem credits; they are held in escrow until the
/// issuer settles or rejects, or the deadline refunds them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Redeem {
    /// A credit asset.
    pub asset: AssetId,
    /// Units (> 0).
    pub amount: Amount,
    /// Goods at a merchant, or cash-out to a wallet.
    pub kind: RedeemKind,
}

/// The issuer settles a redemption: the escrowed credits are burned.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SettleRedemption {
    /// The request's id.
    pub id: u64,
    /// The issuer's reference for the payout or delivery, at most 64 bytes.
    pub payout_reference: String,
}

/// The issuer rejects a redemption: the credits go back to the user.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RejectRedemption {
    /// The request's id.
    pub id: u64,
    /// Why, at most 64 bytes.
    pub reason: String,
}

impl CallDef for Redeem {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        redeem(ov, cx, self.asset, self.amount, &self.kind, events)
    }

    fn summary(&self) -> String {
        format!("redeem {} units of asset {}", self.amount, self.asset)
    }

    fn addressee<S: StateRead + ?Sized>(&self, state: &S) -> Result<Option<Address>, StateError> {
        Ok(state.asset(self.asset)?.map(|a| a.issuer))
    }
}

impl CallDef for SettleRedemption {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        settle(ov, cx, self.id, &self.payout_reference, events)
    }

    fn summary(&self) -> String {
        format!("settle redemption {}", self.id)
    }
}

impl CallDef for RejectRedemption {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        reject(ov, cx, self.id, &self.reason, events)
    }

    fn summary(&self) -> String {
        format!("reject redemption {}", self.id)
    }
}

// --------------------------------------------------------------- events

/// A user asked the issuer to redeem credits; they are held in escrow.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RedemptionRequested {
    /// The request's id.
    pub id: u64,
    /// The issuer that must settle or reject.
    pub issuer: Address,
    /// The user.
    pub user: Address,
    /// The credit asset.
    pub asset: AssetId,
    /// Units held.
    pub amount: Amount,
    /// Goods or cash-out.
    pub kind: RedeemKind,
    /// The last height at which the issuer may settle.
    pub deadline: Height,
}

impl EventDef for RedemptionRequested {
    fn accounts(&self) -> Vec<Address> {
        let other = match self.kind {
            crate::economy::RedeemKind::Goods { merchant } => merchant,
            crate::economy::RedeemKind::CashOut { destination } => destination,
        };
        vec![self.user, self.issuer, other]
    }
}

/// The issuer settled a redemption: the escrowed credits were burned.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RedemptionSettled {
    /// The request's id.
    pub id: u64,
    /// The issuer.
    pub issuer: Address,
    /// The user.
    pub user: Address,
    /// The credit asset.
    pub asset: AssetId,
    /// Units burned.
    pub amount: Amount,
    /// The issuer's reference for the payout or delivery.
    pub payout_reference: String,
}

impl EventDef for RedemptionSettled {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.issuer]
    }
}

/// The issuer rejected a redemption: the credits went back to the user.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RedemptionRejected {
    /// The request's id.
    pub id: u64,
    /// The issuer.
    pub issuer: Address,
    /// The user.
    pub user: Address,
    /// The credit asset.
    pub asset: AssetId,
    /// Units refunded.
    pub amount: Amount,
    /// The issuer's reason.
    pub reason: String,
}

impl EventDef for RedemptionRejected {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.issuer]
    }
}

/// A redemption reached its deadline unsettled: the credits went back to the user
/// (an end-of-block event, in [`crate::BlockOutput::block_events`]).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RedemptionExpired {
    /// The request's id.
    pub id: u64,
    /// The issuer.
    pub issuer: Address,
    /// The user.
    pub user: Address,
    /// The credit asset.
    pub asset: AssetId,
    /// Units refunded.
    pub amount: Amount,
}

impl EventDef for RedemptionExpired {
    fn accounts(&self) -> Vec<Address> {
        vec![self.user, self.issuer]
    }
}

/// `Redeem { asset, amount, kind }`.
fn redeem<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    asset: AssetId,
    amount: Amount,
    kind: &RedeemKind,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    let info = credit_asset(ov, asset)?;
    let scope = crate::goods::policy::ClaimScope::Redemptions { asset };
    crate::goods::policy::check(ov, &info.issuer, &scope, &cx.sender, amount, cx.time_ms)?;
    if let RedeemKind::Goods { merchant: m } = kind {
        merchant(ov, m)?;
    }
    move_units(ov, &cx.sender, &ESCROW_ACCOUNT, asset, amount)?;
    let id = next_id(ov, storage::next_redemption_id())?;
    let window = economy(ov)?.redemption_window_blocks;
    // Genesis bounds the window, so this overflows only near height 2^64.
    let deadline = cx
        .height
        .checked_add(window.max(1))
        .ok_or(StateError::InvariantBroken(
            "a redemption deadline overflowed the height",
        ))?;
    deadlines::REDEMPTIONS.push(ov, deadline, id)?;
    let record = Redemption {
        id,
        asset,
        issuer: info.issuer,
        user: cx.sender,
        amount,
        kind: kind.clone(),
        requested_height: cx.height,
        deadline,
    };
    ov.put(storage::redemption(id), &record)?;
    ov.put(storage::issuer_redemption(&info.issuer, id), &deadline)?;
    crate::economy::credit::record_redemption(ov, cx.height, &cx.sender)?;
    events.push(Event::RedemptionRequested(RedemptionRequested {
        id,
        issuer: info.issuer,
        user: cx.sender,
        asset,
        amount,
        kind: kind.clone(),
        deadline,
    }));
    Ok(())
}

/// The pending redemption `id`, if the sender is its issuer.
fn own_redemption<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
) -> Res<Redemption> {
    let r: Redemption =
        get(ov, &storage::redemption(id))?.ok_or(CallError::UnknownRedemption { id })?;
    if r.issuer != cx.sender {
        return Err(CallError::NotIssuer {
            asset: r.asset,
            issuer: r.issuer,
        }
        .into());
    }
    Ok(r)
}

/// Deletes a resolved redemption's record and its issuer index entry (its deadline
/// slot is cleared by the sweep, which skips ids without a record).
fn forget<S: StateRead + ?Sized>(ov: &mut Overlay<'_, S>, r: &Redemption) -> Res<()> {
    ov.put_raw(storage::redemption(r.id), None)?;
    ov.put_raw(storage::issuer_redemption(&r.issuer, r.id), None)?;
    Ok(())
}

/// The escrow holds exactly the pending redemptions, so a shortfall is a broken
/// invariant, not a call error.
fn from_escrow(r: Res<()>) -> Res<()> {
    match r {
        Err(Fail::Call(error)) => Err(StateError::SweepFailed {
            sweep: "escrow",
            error,
        }
        .into()),
        other => other,
    }
}

/// `SettleRedemption { id, payout_reference }`: burns the escrowed credits.
fn settle<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    payout_reference: &str,
    events: &mut Vec<Event>,
) -> Res<()> {
    check_text(payout_reference, TEXT_BYTES_MAX)?;
    let r = own_redemption(ov, cx, id)?;
    if cx.height > r.deadline {
        return Err(CallError::RedemptionPastDeadline {
            id,
            deadline: r.deadline,
        }
        .into());
    }
    from_escrow(burn(ov, &ESCROW_ACCOUNT, r.asset, r.amount))?;
    forget(ov, &r)?;
    events.push(Event::RedemptionSettled(RedemptionSettled {
        id,
        issuer: r.issuer,
        user: r.user,
        asset: r.asset,
        amount: r.amount,
        payout_reference: payout_reference.to_owned(),
    }));
    Ok(())
}

/// `RejectRedemption { id, reason }`: refunds the user (also after the deadline,
/// while the sweep has not reached the request).
fn reject<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    reason: &str,
    events: &mut Vec<Event>,
) -> Res<()> {
    check_text(reason, TEXT_BYTES_MAX)?;
    let r = own_redemption(ov, cx, id)?;
    from_escrow(move_units(ov, &ESCROW_ACCOUNT, &r.user, r.asset, r.amount))?;
    forget(ov, &r)?;
    events.push(Event::RedemptionRejected(RedemptionRejected {
        id,
        issuer: r.issuer,
        user: r.user,
        asset: r.asset,
        amount: r.amount,
        reason: reason.to_owned(),
    }));
    Ok(())
}

/// The end-of-block step at `height`: refunds every pending redemption whose deadline
/// is at most `height`, in (deadline, request) order, examining at most
/// [`REDEMPTIONS_SWEPT_PER_BLOCK_MAX`] slots and empty heights; the remainder is left
/// in the backlog for the next block. Emits `RedemptionExpired` per refund.
pub(crate) fn sweep<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    match sweep_inner(ov, height, events) {
        Ok(()) => Ok(()),
        Err(Fail::State(e)) => Err(e),
        Err(Fail::Call(error)) => Err(StateError::SweepFailed {
            sweep: "redemption",
            error,
        }),
    }
}

fn sweep_inner<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    events: &mut Vec<Event>,
) -> Res<()> {
    deadlines::REDEMPTIONS.sweep(ov, height, REDEMPTIONS_SWEPT_PER_BLOCK_MAX, |ov, id| {
        expire(ov, id, events)
    })
}

/// Refunds redemption `id` at its deadline if it is still pending.
fn expire<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let Some(r) = get::<Redemption, S>(ov, &storage::redemption(id))? else {
        return Ok(()); // settled or rejected before its deadline
    };
    from_escrow(move_units(ov, &ESCROW_ACCOUNT, &r.user, r.asset, r.amount))?;
    forget(ov, &r)?;
    events.push(Event::RedemptionExpired(RedemptionExpired {
        id,
        issuer: r.issuer,
        user: r.user,
        asset: r.asset,
        amount: r.amount,
    }));
    Ok(())
}
