//! Subscriptions: `Subscribe` (the first period, charged through a mandate the
//! subscriber granted the merchant) and `Renew` (the merchant charges the next one).
//!
//! Renewal is triggered by the merchant, never by the chain: no end-of-block sweep, so
//! a block's cost does not depend on how many subscriptions fall due, and execution
//! stays a function of the transactions. A `Renew` is accepted from the last tenth of
//! the period on (`expires_at_ms - period_ms / 10`); it charges the price through the
//! mandate (a payment with tax and rewards, as `Charge`), and extends the expiry by one
//! period from the old expiry (from the block's time if it already passed). If the
//! charge fails (mandate revoked or expired, its limit reached, the balance short) the
//! `Renew` still succeeds: nothing is charged, `SubscriptionLapsed` names the reason,
//! and the subscription is never renewed again (it stays valid until its expiry).

use serde::{Deserialize, Serialize};

use super::calls::{count_sale, existing_entitlement, existing_product, issue, Issue};
use super::{storage, ProductKind, SubscriptionLapsed, SubscriptionRenewed};
use crate::calls::CallDef;
use crate::economy::ledger::{get, CallCx, Fail, Res};
use crate::economy::mandate::{self, Mandate};
use crate::model::{CallError, Event};
use crate::state::{Overlay, StateError, StateRead};
use crate::types::Address;

/// The part of a period before its end from which a renewal is accepted: a tenth.
pub const RENEW_WINDOW_DIVISOR: u64 = 10;

/// Subscribe to a product: its first period is charged through `mandate_id`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Subscribe {
    /// The subscription product's id.
    pub product: u64,
    /// A mandate the sender granted the product's merchant, in the product's asset.
    pub mandate_id: u64,
}

/// The merchant renews a subscription for one more period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Renew {
    /// The subscription's entitlement id.
    pub entitlement: u64,
}

impl CallDef for Subscribe {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        subscribe(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "subscribe to product {} through mandate {}",
            self.product, self.mandate_id
        )
    }

    fn addressee<S: StateRead + ?Sized>(&self, state: &S) -> Result<Option<Address>, StateError> {
        Ok(super::product(state, self.product)?.map(|p| p.merchant))
    }
}

impl CallDef for Renew {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        renew(ov, cx, self.entitlement, events)
    }

    fn summary(&self) -> String {
        format!("renew the subscription of entitlement {}", self.entitlement)
    }
}

/// `Subscribe`: the sender is the subscriber.
fn subscribe<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    s: &Subscribe,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut p = existing_product(ov, s.product)?;
    if !matches!(p.kind, ProductKind::Subscription { .. }) {
        return Err(CallError::NotASubscription { product: p.id }.into());
    }
    crate::identity::check_required(ov, &cx.sender, p.id, cx.time_ms)?;
    let m: Mandate = get(ov, &mandate::storage::mandate(s.mandate_id))?
        .ok_or(CallError::UnknownMandate { id: s.mandate_id })?;
    if m.user != cx.sender || m.spender != p.merchant || m.asset != p.asset {
        return Err(CallError::MandateNotForProduct {
            mandate: s.mandate_id,
            product: p.id,
        }
        .into());
    }
    let as_merchant = CallCx {
        sender: p.merchant,
        ..*cx
    };
    let reference = format!("subscribe product {}", p.id);
    mandate::charge(
        ov,
        &as_merchant,
        (s.mandate_id, p.price, &reference),
        events,
    )?;
    count_sale(ov, &mut p)?;
    let how = Issue {
        bundle: None,
        paid: p.price,
        mandate: Some(s.mandate_id),
    };
    issue(ov, cx, &p, how, events)
}

/// `Renew`: the sender is the merchant.
fn renew<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut e = existing_entitlement(ov, id)?;
    let p = existing_product(ov, e.product)?;
    if p.merchant != cx.sender {
        return Err(CallError::NotProductMerchant {
            product: p.id,
            merchant: p.merchant,
        }
        .into());
    }
    let ProductKind::Subscription { period_ms } = p.kind else {
        return Err(CallError::NotASubscription { product: p.id }.into());
    };
    let Some(mandate_id) = e.mandate else {
        return Err(CallError::SubscriptionEnded { id }.into());
    };
    // A subscription always has an expiry: issued with one, extended below.
    let expires_at_ms = e.expires_at_ms.unwrap_or(cx.time_ms);
    let renewable_from_ms = expires_at_ms.saturating_sub(period_ms / RENEW_WINDOW_DIVISOR);
    if cx.time_ms < renewable_from_ms {
        return Err(CallError::RenewTooEarly {
            id,
            renewable_from_ms,
            time_ms: cx.time_ms,
        }
        .into());
    }
    let cp = ov.checkpoint();
    let mut charged = Vec::new();
    let reference = format!("renew entitlement {id}");
    match mandate::charge(ov, cx, (mandate_id, p.price, &reference), &mut charged) {
        Ok(()) => {
            events.append(&mut charged);
            let from = expires_at_ms.max(cx.time_ms);
            let next = from.checked_add(period_ms).ok_or_else(|| {
                super::calls::invalid("the subscription would expire after the last time there is")
            })?;
            e.expires_at_ms = Some(next);
            e.paid = p.price;
            events.push(Event::SubscriptionRenewed(SubscriptionRenewed {
                id,
                product: p.id,
                owner: e.owner,
                merchant: p.merchant,
                mandate: mandate_id,
                expires_at_ms: next,
            }));
        }
        Err(Fail::Call(error)) => {
            ov.revert(cp);
            e.mandate = None;
            events.push(Event::SubscriptionLapsed(SubscriptionLapsed {
                id,
                product: p.id,
                owner: e.owner,
                merchant: p.merchant,
                error,
            }));
        }
        Err(e @ Fail::State(_)) => return Err(e),
    }
    ov.put(storage::entitlement(id), &e)?;
    Ok(())
}
