//! Redemption and cash-out: credits held in escrow until the issuer settles (burns)
//! or rejects (refunds), and the end-of-block sweep that refunds requests whose
//! deadline has come.
//!
//! The deadline index is keyed by deadline height, one slot per request, so a block's
//! sweep reads only what falls due (one read when nothing does). A sweep examines at
//! most [`REDEMPTIONS_SWEPT_PER_BLOCK_MAX`] slots; the rest carry over to the next block
//! through a backlog record, oldest deadline first.

use crate::economy::ledger::{
    burn, check_text, credit_asset, economy, get, merchant, move_units, next_id, positive, CallCx,
    Fail, Res,
};
use crate::economy::{
    RedeemKind, Redemption, ESCROW_ACCOUNT, REDEMPTIONS_SWEPT_PER_BLOCK_MAX, TEXT_BYTES_MAX,
};
use crate::model::{CallError, Event};
use crate::state::{keys, Overlay, StateError, StateRead};
use crate::types::{Amount, AssetId, Height};

/// `Redeem { asset, amount, kind }`.
pub(crate) fn redeem<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    asset: AssetId,
    amount: Amount,
    kind: &RedeemKind,
    events: &mut Vec<Event>,
) -> Res<()> {
    positive(amount)?;
    let info = credit_asset(ov, asset)?;
    if let RedeemKind::Goods { merchant: m } = kind {
        merchant(ov, m)?;
    }
    move_units(ov, &cx.sender, &ESCROW_ACCOUNT, asset, amount)?;
    let id = next_id(ov, keys::next_redemption_id())?;
    let window = economy(ov)?.redemption_window_blocks;
    // Genesis bounds the window, so this overflows only near height 2^64.
    let deadline = cx
        .height
        .checked_add(window.max(1))
        .ok_or_else(|| StateError("redemption deadline overflows the height".into()))?;
    let slot: u32 = get(ov, &keys::due_count(deadline))?.unwrap_or(0);
    let next_slot = slot.checked_add(1).ok_or(CallError::IdsExhausted)?;
    ov.put(keys::due(deadline, slot), &id)?;
    ov.put(keys::due_count(deadline), &next_slot)?;
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
    ov.put(keys::redemption(id), &record)?;
    ov.put(keys::issuer_redemption(&info.issuer, id), &deadline)?;
    crate::economy::credit::record_redemption(ov, cx.height, &cx.sender)?;
    events.push(Event::RedemptionRequested {
        id,
        issuer: info.issuer,
        user: cx.sender,
        asset,
        amount,
        kind: kind.clone(),
        deadline,
    });
    Ok(())
}

/// The pending redemption `id`, if the sender is its issuer.
fn own_redemption<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
) -> Res<Redemption> {
    let r: Redemption =
        get(ov, &keys::redemption(id))?.ok_or(CallError::UnknownRedemption { id })?;
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
    ov.put_raw(keys::redemption(r.id), None)?;
    ov.put_raw(keys::issuer_redemption(&r.issuer, r.id), None)?;
    Ok(())
}

/// The escrow holds exactly the pending redemptions, so a shortfall is a broken
/// invariant, not a call error.
fn from_escrow(r: Res<()>) -> Res<()> {
    match r {
        Err(Fail::Call(e)) => Err(StateError(format!("escrow invariant broken: {e}")).into()),
        other => other,
    }
}

/// `SettleRedemption { id, payout_reference }`: burns the escrowed credits.
pub(crate) fn settle<S: StateRead + ?Sized>(
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
    events.push(Event::RedemptionSettled {
        id,
        issuer: r.issuer,
        user: r.user,
        asset: r.asset,
        amount: r.amount,
        payout_reference: payout_reference.to_owned(),
    });
    Ok(())
}

/// `RejectRedemption { id, reason }`: refunds the user (also after the deadline,
/// while the sweep has not reached the request).
pub(crate) fn reject<S: StateRead + ?Sized>(
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
    events.push(Event::RedemptionRejected {
        id,
        issuer: r.issuer,
        user: r.user,
        asset: r.asset,
        amount: r.amount,
        reason: reason.to_owned(),
    });
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
        Err(Fail::Call(e)) => Err(StateError(format!("redemption sweep failed: {e}"))),
    }
}

fn sweep_inner<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    height: Height,
    events: &mut Vec<Event>,
) -> Res<()> {
    let backlog: Option<(Height, u32)> = get(ov, &keys::sweep_backlog())?;
    let (mut at, mut slot) = backlog.unwrap_or((height, 0));
    let mut budget = REDEMPTIONS_SWEPT_PER_BLOCK_MAX;
    while at <= height {
        let count: u32 = get(ov, &keys::due_count(at))?.unwrap_or(0);
        while slot < count {
            if budget == 0 {
                ov.put(keys::sweep_backlog(), &(at, slot))?;
                return Ok(());
            }
            budget -= 1;
            expire_slot(ov, at, slot, events)?;
            slot += 1;
        }
        if count > 0 {
            ov.put_raw(keys::due_count(at), None)?;
        }
        at += 1;
        slot = 0;
        if at <= height {
            // Stepping over a height costs an examination too, so a long backlog of
            // empty heights is also worked off in bounded steps.
            if budget == 0 {
                ov.put(keys::sweep_backlog(), &(at, 0u32))?;
                return Ok(());
            }
            budget -= 1;
        }
    }
    if backlog.is_some() {
        ov.put_raw(keys::sweep_backlog(), None)?;
    }
    Ok(())
}

/// Clears one deadline slot, refunding its redemption if still pending.
fn expire_slot<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    at: Height,
    slot: u32,
    events: &mut Vec<Event>,
) -> Res<()> {
    let key = keys::due(at, slot);
    let id: u64 = get(ov, &key)?
        .ok_or_else(|| StateError(format!("deadline index slot {at}/{slot} is missing")))?;
    ov.put_raw(key, None)?;
    let Some(r) = get::<Redemption, S>(ov, &keys::redemption(id))? else {
        return Ok(()); // settled or rejected before its deadline
    };
    from_escrow(move_units(ov, &ESCROW_ACCOUNT, &r.user, r.asset, r.amount))?;
    forget(ov, &r)?;
    events.push(Event::RedemptionExpired {
        id,
        issuer: r.issuer,
        user: r.user,
        asset: r.asset,
        amount: r.amount,
    });
    Ok(())
}
