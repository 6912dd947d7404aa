//! The digital-goods calls and their execution (rules in the module's docs).

use serde::{Deserialize, Serialize};

use super::{
    storage, Entitlement, EntitlementIssued, EntitlementOffered, EntitlementRevoked,
    EntitlementTransferred, Offer, Product, ProductCreated, ProductKind, BUNDLE_PRODUCTS_MAX,
    PASS_DURATION_MS_MAX, PRODUCT_NAME_BYTES_MAX,
};
use crate::calls::CallDef;
use crate::economy::ledger::{
    check_text, get, merchant, money_asset, move_units, next_id, positive, CallCx, Res,
};
use crate::economy::{bps_of, is_reserved_account, pay, BPS_DENOMINATOR};
use crate::model::{CallError, Event};
use crate::state::{Overlay, StateError, StateRead};
use crate::types::{Address, Amount, AssetId};

// ---------------------------------------------------------------- calls

/// A merchant partner defines a product.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreateProduct {
    /// Display name, at most 64 bytes.
    pub name: String,
    /// Item, pass or bundle.
    pub kind: ProductKind,
    /// A money asset.
    pub asset: AssetId,
    /// The price, tax included (> 0; a bundle's at least one unit per component).
    pub price: Amount,
    /// `Some(bps)` (at most 10 000): transferable, with that royalty; `None`: bound.
    pub royalty_bps: Option<u16>,
}

/// Buy a product: pay its merchant, receive its entitlements.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Buy {
    /// The product's id.
    pub product: u64,
}

/// The owner gives an entitlement (price 0) or offers it for sale to `to`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TransferEntitlement {
    /// The entitlement's id.
    pub entitlement: u64,
    /// The recipient (gift) or the only buyer who may accept (sale).
    pub to: Address,
    /// 0: a gift, now; above 0: the price the buyer pays on acceptance.
    pub price: Amount,
}

/// The buyer named by an offer accepts it at the offered price.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AcceptEntitlement {
    /// The entitlement's id.
    pub entitlement: u64,
    /// The price as offered (a changed offer is not accepted).
    pub price: Amount,
}

/// The merchant revokes an entitlement, refunding its owner in the same call.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RevokeEntitlement {
    /// The entitlement's id.
    pub entitlement: u64,
    /// Units refunded to the owner, in the product's asset (at least what it paid).
    pub refund: Amount,
}

impl CallDef for CreateProduct {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        let p = define(ov, cx.sender, self)?;
        events.push(Event::ProductCreated(ProductCreated {
            id: p.id,
            merchant: p.merchant,
            name: p.name,
            asset: p.asset,
            price: p.price,
        }));
        Ok(())
    }

    fn summary(&self) -> String {
        format!(
            "create product \"{}\" at {} units of asset {}",
            self.name, self.price, self.asset
        )
    }
}

impl CallDef for Buy {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        buy(ov, cx, &cx.sender, self.product, events)
    }

    fn summary(&self) -> String {
        format!("buy product {}", self.product)
    }

    fn addressee<S: StateRead + ?Sized>(&self, state: &S) -> Result<Option<Address>, StateError> {
        Ok(super::product(state, self.product)?.map(|p| p.merchant))
    }
}

impl CallDef for TransferEntitlement {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        transfer(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        if self.price == 0 {
            format!("give entitlement {} to {}", self.entitlement, self.to)
        } else {
            format!(
                "offer entitlement {} to {} for {} units",
                self.entitlement, self.to, self.price
            )
        }
    }
}

impl CallDef for AcceptEntitlement {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        accept(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "buy entitlement {} for {} units",
            self.entitlement, self.price
        )
    }
}

impl CallDef for RevokeEntitlement {
    fn execute<S: StateRead + ?Sized>(
        &self,
        ov: &mut Overlay<'_, S>,
        cx: &CallCx,
        events: &mut Vec<Event>,
    ) -> Res<()> {
        revoke(ov, cx, self, events)
    }

    fn summary(&self) -> String {
        format!(
            "revoke entitlement {} refunding {} units",
            self.entitlement, self.refund
        )
    }
}

// ------------------------------------------------------------ execution

pub(super) fn invalid(reason: impl Into<String>) -> CallError {
    CallError::InvalidProduct {
        reason: reason.into(),
    }
}

/// Checks a definition for the merchant `seller` and stores it as a new product.
pub(super) fn define<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    seller: Address,
    def: &CreateProduct,
) -> Res<Product> {
    merchant(ov, &seller)?;
    check_text(&def.name, PRODUCT_NAME_BYTES_MAX)?;
    money_asset(ov, def.asset)?;
    positive(def.price)?;
    if def
        .royalty_bps
        .is_some_and(|b| u64::from(b) > BPS_DENOMINATOR)
    {
        return Err(invalid("royalty_bps is above 10000").into());
    }
    match &def.kind {
        ProductKind::Item { supply_max } => {
            if *supply_max == Some(0) {
                return Err(invalid("supply_max is 0").into());
            }
        }
        ProductKind::Pass { duration_ms } => {
            if *duration_ms == 0 || *duration_ms > PASS_DURATION_MS_MAX {
                return Err(
                    invalid(format!("duration_ms must be 1 to {PASS_DURATION_MS_MAX}")).into(),
                );
            }
        }
        ProductKind::Bundle { products } => check_bundle(ov, seller, def, products)?,
        ProductKind::Subscription { period_ms } => {
            if *period_ms == 0 || *period_ms > PASS_DURATION_MS_MAX {
                return Err(
                    invalid(format!("period_ms must be 1 to {PASS_DURATION_MS_MAX}")).into(),
                );
            }
            if def.royalty_bps.is_some() {
                return Err(invalid("a subscription is bound to its subscriber").into());
            }
        }
    }
    let id = next_id(ov, storage::next_product_id())?;
    let product = Product {
        id,
        merchant: seller,
        name: def.name.clone(),
        kind: def.kind.clone(),
        asset: def.asset,
        price: def.price,
        royalty_bps: def.royalty_bps,
        sold: 0,
    };
    ov.put(storage::product(id), &product)?;
    ov.put(storage::merchant_product(&seller, id), &())?;
    Ok(product)
}

/// A bundle holds 1 to 8 distinct items or passes of the same merchant, priced in the
/// bundle's asset, and costs at least one unit per component.
fn check_bundle<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    seller: Address,
    def: &CreateProduct,
    products: &[u64],
) -> Res<()> {
    if products.is_empty() || products.len() > BUNDLE_PRODUCTS_MAX {
        return Err(invalid(format!(
            "a bundle holds 1 to {BUNDLE_PRODUCTS_MAX} products"
        ))
        .into());
    }
    if def.price < products.len() as Amount {
        return Err(invalid("a bundle's price is below one unit per product").into());
    }
    for (i, id) in products.iter().enumerate() {
        if products[..i].contains(id) {
            return Err(invalid(format!("product {id} is in the bundle twice")).into());
        }
        let p = existing_product(ov, *id)?;
        if p.merchant != seller {
            return Err(invalid(format!("product {id} is another merchant's")).into());
        }
        if matches!(
            p.kind,
            ProductKind::Bundle { .. } | ProductKind::Subscription { .. }
        ) {
            return Err(invalid(format!("product {id} is a bundle or a subscription")).into());
        }
        if p.asset != def.asset {
            return Err(invalid(format!("product {id} is priced in another asset")).into());
        }
    }
    Ok(())
}

pub(crate) fn existing_product<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    id: u64,
) -> Res<Product> {
    Ok(get(ov, &storage::product(id))?.ok_or(CallError::UnknownProduct { id })?)
}

pub(super) fn existing_entitlement<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    id: u64,
) -> Res<Entitlement> {
    Ok(get(ov, &storage::entitlement(id))?.ok_or(CallError::UnknownEntitlement { id })?)
}

/// Counts one more sale of `p`, refusing it past an item's supply cap.
pub(super) fn count_sale<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    p: &mut Product,
) -> Res<()> {
    if let ProductKind::Item {
        supply_max: Some(max),
    } = p.kind
    {
        if p.sold >= max {
            return Err(CallError::SoldOut {
                id: p.id,
                supply_max: max,
            }
            .into());
        }
    }
    p.sold = p.sold.checked_add(1).ok_or(CallError::IdsExhausted)?;
    ov.put(storage::product(p.id), &*p)?;
    Ok(())
}

/// `Buy`: pays as `Pay`, then issues the entitlements to `cx.sender`. The price comes
/// from `funder`: the sender, or the carrier of a billing line (`goods::carrier`).
pub(super) fn buy<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    funder: &Address,
    id: u64,
    events: &mut Vec<Event>,
) -> Res<()> {
    let mut bought = existing_product(ov, id)?;
    if matches!(bought.kind, ProductKind::Subscription { .. }) {
        return Err(CallError::SubscriptionProduct { product: id }.into());
    }
    // The buyer holds every claim the product, or a component of the bundle, requires.
    crate::identity::check_required(ov, &cx.sender, id, cx.time_ms)?;
    if let ProductKind::Bundle { products } = &bought.kind {
        for part in products {
            crate::identity::check_required(ov, &cx.sender, *part, cx.time_ms)?;
        }
    }
    let reference = format!("product {id}");
    pay::pay_funded(
        ov,
        cx,
        funder,
        &bought.merchant,
        bought.asset,
        bought.price,
        &reference,
        events,
    )?;
    count_sale(ov, &mut bought)?;
    let (parts, bundle) = match &bought.kind {
        ProductKind::Bundle { products } => (products.clone(), Some(id)),
        _ => (vec![id], None),
    };
    // The price split evenly, the remainder on the first; parts.len() >= 1 and
    // price >= parts.len() (checked at definition), so every share is > 0.
    let n = parts.len().max(1) as Amount;
    let (share, rest) = (bought.price / n, bought.price % n);
    for (i, part) in parts.iter().enumerate() {
        let p = if bundle.is_some() {
            let mut c = existing_product(ov, *part)?;
            count_sale(ov, &mut c)?;
            c
        } else {
            bought.clone()
        };
        let paid = if i == 0 { share + rest } else { share };
        let how = Issue {
            bundle,
            paid,
            mandate: None,
        };
        issue(ov, cx, &p, how, events)?;
    }
    Ok(())
}

/// How an entitlement comes to be: bought in a bundle, for how much, renewed through
/// which mandate.
pub(super) struct Issue {
    pub(super) bundle: Option<u64>,
    pub(super) paid: Amount,
    pub(super) mandate: Option<u64>,
}

/// Issues one entitlement to the sender.
pub(super) fn issue<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    p: &Product,
    how: Issue,
    events: &mut Vec<Event>,
) -> Res<()> {
    let Issue {
        bundle,
        paid,
        mandate,
    } = how;
    let expires_at_ms = match p.kind {
        ProductKind::Pass {
            duration_ms: length,
        }
        | ProductKind::Subscription { period_ms: length } => Some(
            cx.time_ms
                .checked_add(length)
                .ok_or_else(|| invalid("the pass would expire after the last time there is"))?,
        ),
        _ => None,
    };
    let id = next_id(ov, storage::next_entitlement_id())?;
    let e = Entitlement {
        id,
        product: p.id,
        bundle,
        owner: cx.sender,
        merchant: p.merchant,
        expires_at_ms,
        paid,
        issued_at: cx.height,
        offer: None,
        mandate,
    };
    ov.put(storage::entitlement(id), &e)?;
    ov.put(storage::owner_entitlement(&cx.sender, id), &())?;
    events.push(Event::EntitlementIssued(EntitlementIssued {
        id,
        product: p.id,
        owner: cx.sender,
        merchant: p.merchant,
        expires_at_ms,
    }));
    Ok(())
}

/// The entitlement `id` if the sender owns it, it is transferable and unexpired; with
/// its product's royalty rate.
fn transferable<S: StateRead + ?Sized>(
    ov: &Overlay<'_, S>,
    cx: &CallCx,
    id: u64,
    owner: Option<&Address>,
) -> Res<(Entitlement, Product, u16)> {
    let e = existing_entitlement(ov, id)?;
    if owner.is_some_and(|o| *o != e.owner) {
        return Err(CallError::NotEntitlementOwner { id, owner: e.owner }.into());
    }
    let p = existing_product(ov, e.product)?;
    let bps = p
        .royalty_bps
        .ok_or(CallError::NotTransferable { product: p.id })?;
    if let Some(expires_at_ms) = e.expires_at_ms.filter(|_| !e.is_valid(cx.time_ms)) {
        return Err(CallError::EntitlementExpired {
            id,
            expires_at_ms,
            time_ms: cx.time_ms,
        }
        .into());
    }
    Ok((e, p, bps))
}

/// Moves the entitlement to `to` (index and record), clearing any offer.
fn reassign<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    mut e: Entitlement,
    to: Address,
    paid: Amount,
) -> Res<()> {
    ov.put_raw(storage::owner_entitlement(&e.owner, e.id), None)?;
    ov.put(storage::owner_entitlement(&to, e.id), &())?;
    e.owner = to;
    e.paid = paid;
    e.offer = None;
    ov.put(storage::entitlement(e.id), &e)?;
    Ok(())
}

/// Pays `royalty` from `payer` to the merchant as a payment (nothing when 0 or when
/// the payer is the merchant).
fn pay_royalty<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    payer: Address,
    p: &Product,
    royalty: Amount,
    events: &mut Vec<Event>,
) -> Res<Amount> {
    if royalty == 0 || payer == p.merchant {
        return Ok(0);
    }
    let payer_cx = CallCx {
        sender: payer,
        ..*cx
    };
    let reference = format!("royalty product {}", p.id);
    pay::pay(
        ov,
        &payer_cx,
        &p.merchant,
        p.asset,
        royalty,
        &reference,
        events,
    )?;
    Ok(royalty)
}

/// `TransferEntitlement`: a gift now, or an offer to one buyer.
fn transfer<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    t: &TransferEntitlement,
    events: &mut Vec<Event>,
) -> Res<()> {
    let (mut e, p, bps) = transferable(ov, cx, t.entitlement, Some(&cx.sender))?;
    if t.to == cx.sender {
        return Err(CallError::SelfTransfer.into());
    }
    if is_reserved_account(&t.to) {
        return Err(CallError::ReservedAccount { account: t.to }.into());
    }
    if t.price > 0 {
        e.offer = Some(Offer {
            buyer: t.to,
            price: t.price,
        });
        ov.put(storage::entitlement(e.id), &e)?;
        events.push(Event::EntitlementOffered(EntitlementOffered {
            id: e.id,
            owner: e.owner,
            buyer: t.to,
            price: t.price,
        }));
        return Ok(());
    }
    crate::identity::check_required(ov, &t.to, p.id, cx.time_ms)?;
    let royalty = pay_royalty(ov, cx, cx.sender, &p, bps_of(p.price, bps), events)?;
    let paid = e.paid;
    reassign(ov, e, t.to, paid)?;
    events.push(Event::EntitlementTransferred(EntitlementTransferred {
        id: t.entitlement,
        product: p.id,
        from: cx.sender,
        to: t.to,
        price: 0,
        royalty,
        merchant: p.merchant,
    }));
    Ok(())
}

/// `AcceptEntitlement`: the buyer pays the royalty to the merchant, the rest to the
/// seller, and becomes the owner.
fn accept<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    a: &AcceptEntitlement,
    events: &mut Vec<Event>,
) -> Res<()> {
    let (e, p, bps) = transferable(ov, cx, a.entitlement, None)?;
    let offered = e
        .offer
        .filter(|o| o.buyer == cx.sender && o.price == a.price);
    let Some(offer) = offered else {
        return Err(CallError::NoSuchOffer {
            id: e.id,
            buyer: cx.sender,
            price: a.price,
        }
        .into());
    };
    crate::identity::check_required(ov, &cx.sender, p.id, cx.time_ms)?;
    let seller = e.owner;
    let royalty = pay_royalty(ov, cx, cx.sender, &p, bps_of(offer.price, bps), events)?;
    // royalty = bps_of(price) <= price.
    let rest = offer.price - royalty;
    if rest > 0 {
        move_units(ov, &cx.sender, &seller, p.asset, rest)?;
        events.push(Event::Transferred(crate::events::Transferred {
            from: cx.sender,
            to: seller,
            asset: p.asset,
            amount: rest,
        }));
    }
    reassign(ov, e, cx.sender, offer.price)?;
    events.push(Event::EntitlementTransferred(EntitlementTransferred {
        id: a.entitlement,
        product: p.id,
        from: seller,
        to: cx.sender,
        price: offer.price,
        royalty,
        merchant: p.merchant,
    }));
    Ok(())
}

/// `RevokeEntitlement`: the merchant refunds the owner at least what it paid, and the
/// entitlement is gone.
fn revoke<S: StateRead + ?Sized>(
    ov: &mut Overlay<'_, S>,
    cx: &CallCx,
    r: &RevokeEntitlement,
    events: &mut Vec<Event>,
) -> Res<()> {
    let e = existing_entitlement(ov, r.entitlement)?;
    let p = existing_product(ov, e.product)?;
    if p.merchant != cx.sender {
        return Err(CallError::NotProductMerchant {
            product: p.id,
            merchant: p.merchant,
        }
        .into());
    }
    positive(r.refund)?;
    if r.refund < e.paid {
        return Err(CallError::RefundTooSmall {
            id: e.id,
            paid: e.paid,
            refund: r.refund,
        }
        .into());
    }
    move_units(ov, &cx.sender, &e.owner, p.asset, r.refund)?;
    events.push(Event::Transferred(crate::events::Transferred {
        from: cx.sender,
        to: e.owner,
        asset: p.asset,
        amount: r.refund,
    }));
    ov.put_raw(storage::owner_entitlement(&e.owner, e.id), None)?;
    ov.put_raw(storage::entitlement(e.id), None)?;
    events.push(Event::EntitlementRevoked(EntitlementRevoked {
        id: e.id,
        product: p.id,
        merchant: p.merchant,
        owner: e.owner,
        refund: r.refund,
    }));
    Ok(())
}
