//! Digital goods: products a merchant partner sells (one-off items with an optional
//! supply cap, time passes, bundles, subscriptions) and the entitlements buying them
//! creates.
//!
//! Rules (docs/economy.md, "Digital goods"):
//! - `CreateProduct` (a merchant partner): a name, a money asset and a price (> 0), a
//!   kind, and either a royalty in basis points (the product's entitlements are
//!   *transferable*, and gifts and resales pay the merchant that share) or none (they
//!   are *bound* to their owner). Products are never changed; ids count from 0.
//! - `Buy` (anyone but the merchant): pays the price to the merchant exactly as `Pay`
//!   does (tax withheld, a standby credit line drawn on, cashback and stamp rules
//!   applied, reference `product <id>`), then issues one entitlement per product
//!   bought (a bundle issues one per component; its price is split evenly, the
//!   remainder on the first). An item with a supply cap is sold at most that many
//!   times, counting bundles that contain it. A pass expires `duration_ms` after the
//!   block's time.
//! - `TransferEntitlement` (the owner, of a transferable, unexpired entitlement): at
//!   price 0 a gift, at once; the giver pays the merchant the royalty on the product's
//!   list price. At a price above 0 an offer to one buyer, which `AcceptEntitlement`
//!   (the buyer, naming the same price) completes: the buyer pays the royalty on the
//!   price to the merchant (as a payment), the rest to the seller (a transfer). A new
//!   transfer replaces the offer. The merchant never pays itself a royalty.
//! - `RevokeEntitlement` (the merchant): removes the entitlement and, in the same call,
//!   refunds its owner at least what the owner paid for it (a transfer).
//! - `Subscribe` and `Renew` ([`subscription`]'s docs): a subscription is a pass whose
//!   periods are charged through a mandate the subscriber granted the merchant; the
//!   merchant triggers each renewal, and a failed charge lapses it with an event.
//!
//! Every move of units goes through the ledger, so supply is conserved; an
//! entitlement has exactly one owner, indexed under it and nowhere else.

mod calls;
pub mod carrier;
pub mod meter;
pub mod policy;
pub mod subscription;

use serde::{Deserialize, Serialize};

pub use calls::{AcceptEntitlement, Buy, CreateProduct, RevokeEntitlement, TransferEntitlement};
pub use carrier::{
    CarrierLineOpened, CarrierLineResumed, CarrierLineSuspended, ChargeLine, LineCharged,
    OpenCarrierLine, ResumeLine, SettleStatement, StatementSettled, SuspendLine,
};
pub use meter::{
    ClaimMeter, CloseMeter, MeterClaimed, MeterClosed, MeterOpened, MeterReceipt, MeterSession,
    OpenMeter, METER_RECEIPT_DOMAIN,
};
pub use policy::{ClaimPolicySet, SetClaimPolicy};
pub use subscription::{Renew, Subscribe, RENEW_WINDOW_DIVISOR};

use crate::economy::query::LISTED_MAX;
use crate::events::EventDef;
use crate::state::{read_record, StateError, StateRead, StateScan};
use crate::types::{Address, Amount, AssetId, Height, TimeMs};

/// The longest product name, in bytes.
pub const PRODUCT_NAME_BYTES_MAX: usize = 64;
/// The most products one bundle holds.
pub const BUNDLE_PRODUCTS_MAX: usize = 8;
/// The longest pass: ten years of days.
pub const PASS_DURATION_MS_MAX: u64 = 3_650 * crate::economy::PERIOD_MS;

/// Where this module keeps its records: keys under the prefixes registered in
/// [`crate::state::keys`], which gives each kind of record its own prefix byte.
pub mod storage {
    use crate::state::keys::{
        with, ACCOUNT_METER, ENTITLEMENT, MERCHANT_PRODUCT, METER, NEXT_ENTITLEMENT_ID,
        NEXT_METER_ID, NEXT_PRODUCT_ID, OWNER_ENTITLEMENT, PRODUCT,
    };
    use crate::types::Address;

    /// Key of the product id counter.
    pub fn next_product_id() -> Vec<u8> {
        vec![NEXT_PRODUCT_ID]
    }
    /// Key of a product.
    pub fn product(id: u64) -> Vec<u8> {
        with(PRODUCT, &[&id.to_be_bytes()])
    }
    /// Key of a product in its merchant's index.
    pub fn merchant_product(merchant: &Address, id: u64) -> Vec<u8> {
        with(MERCHANT_PRODUCT, &[&merchant.0, &id.to_be_bytes()])
    }
    /// Prefix of a merchant's products.
    pub fn merchant_products(merchant: &Address) -> Vec<u8> {
        with(MERCHANT_PRODUCT, &[&merchant.0])
    }
    /// Key of the entitlement id counter.
    pub fn next_entitlement_id() -> Vec<u8> {
        vec![NEXT_ENTITLEMENT_ID]
    }
    /// Key of an entitlement.
    pub fn entitlement(id: u64) -> Vec<u8> {
        with(ENTITLEMENT, &[&id.to_be_bytes()])
    }
    /// Key of an entitlement in its owner's index.
    pub fn owner_entitlement(owner: &Address, id: u64) -> Vec<u8> {
        with(OWNER_ENTITLEMENT, &[&owner.0, &id.to_be_bytes()])
    }
    /// Prefix of an owner's entitlements.
    pub fn owner_entitlements(owner: &Address) -> Vec<u8> {
        with(OWNER_ENTITLEMENT, &[&owner.0])
    }
    /// Key of the metered session id counter.
    pub fn next_meter_id() -> Vec<u8> {
        vec![NEXT_METER_ID]
    }
    /// Key of a metered session.
    pub fn meter(id: u64) -> Vec<u8> {
        with(METER, &[&id.to_be_bytes()])
    }
    /// Key of a session in the index of an account (its user or its merchant).
    pub fn account_meter(account: &Address, id: u64) -> Vec<u8> {
        with(ACCOUNT_METER, &[&account.0, &id.to_be_bytes()])
    }
    /// Prefix of an account's sessions.
    pub fn account_meters(account: &Address) -> Vec<u8> {
        with(ACCOUNT_METER, &[&account.0])
    }
}

// -------------------------------------------------------------- records

/// What a product is.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A one-off item (a sticker pack), sold at most `supply_max` times if set.
    Item {
        /// The most ever sold (directly or in bundles); `None`: unlimited.
        supply_max: Option<u64>,
    },
    /// Access for a time: the entitlement expires `duration_ms` after the purchase.
    Pass {
        /// The pass's length in milliseconds of block time (> 0, at most
        /// [`PASS_DURATION_MS_MAX`]).
        duration_ms: u64,
    },
    /// Several of the merchant's items and passes at one price.
    Bundle {
        /// Component product ids (1 to [`BUNDLE_PRODUCTS_MAX`], no bundles, no
        /// subscriptions, no repeats), all of the same merchant.
        products: Vec<u64>,
    },
    /// A pass renewed each period through a mandate the subscriber grants once: the
    /// price is charged per period (`Subscribe`, then the merchant's `Renew`).
    Subscription {
        /// The period in milliseconds of block time (> 0, at most
        /// [`PASS_DURATION_MS_MAX`]).
        period_ms: u64,
    },
}

/// A product a merchant sells.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Product {
    /// Its id.
    pub id: u64,
    /// The merchant partner that sells it and is paid.
    pub merchant: Address,
    /// Display name, at most [`PRODUCT_NAME_BYTES_MAX`] bytes.
    pub name: String,
    /// Item, pass or bundle.
    pub kind: ProductKind,
    /// The money asset it is priced in.
    pub asset: AssetId,
    /// The price, tax included (> 0).
    pub price: Amount,
    /// `Some(bps)`: entitlements are transferable and gifts and resales pay the
    /// merchant `bps` of the price; `None`: bound to their owner.
    pub royalty_bps: Option<u16>,
    /// How many were sold (directly and in bundles).
    pub sold: u64,
}

/// An open offer to sell an entitlement to one buyer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Offer {
    /// The only account that may accept.
    pub buyer: Address,
    /// The price it pays (> 0).
    pub price: Amount,
}

/// What an owner holds: one product, until an expiry if it is a pass.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Entitlement {
    /// Its id.
    pub id: u64,
    /// The product (a component, for a bundle's entitlements).
    pub product: u64,
    /// The bundle it was bought in, if any.
    pub bundle: Option<u64>,
    /// The one account that holds it.
    pub owner: Address,
    /// The product's merchant.
    pub merchant: Address,
    /// For a pass: the block time from which it is no longer valid.
    pub expires_at_ms: Option<TimeMs>,
    /// What its owner paid for it (its share of the purchase, or the resale price; a
    /// gift keeps the giver's): the least a revocation refunds.
    pub paid: Amount,
    /// The height it was issued at.
    pub issued_at: Height,
    /// An open sale offer.
    pub offer: Option<Offer>,
    /// A subscription's mandate, while the merchant may renew through it; `None` for
    /// other products and once the subscription lapsed.
    pub mandate: Option<u64>,
}

impl Entitlement {
    /// Whether it grants access at block time `time_ms` (a pass until its expiry; an
    /// item forever).
    pub fn is_valid(&self, time_ms: TimeMs) -> bool {
        self.expires_at_ms.is_none_or(|e| time_ms < e)
    }
}

// --------------------------------------------------------------- events

/// A merchant defined a product.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProductCreated {
    /// The product's id.
    pub id: u64,
    /// The merchant.
    pub merchant: Address,
    /// Its name.
    pub name: String,
    /// The money asset.
    pub asset: AssetId,
    /// Its price.
    pub price: Amount,
}

impl EventDef for ProductCreated {
    fn accounts(&self) -> Vec<Address> {
        vec![self.merchant]
    }
}

/// An entitlement was issued to a buyer (after the purchase's `Paid`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EntitlementIssued {
    /// The entitlement's id.
    pub id: u64,
    /// The product.
    pub product: u64,
    /// The owner.
    pub owner: Address,
    /// The merchant.
    pub merchant: Address,
    /// A pass's expiry (block time, ms).
    pub expires_at_ms: Option<TimeMs>,
}

impl EventDef for EntitlementIssued {
    fn accounts(&self) -> Vec<Address> {
        vec![self.owner, self.merchant]
    }
}

/// An owner offered an entitlement for sale to one buyer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EntitlementOffered {
    /// The entitlement.
    pub id: u64,
    /// The owner.
    pub owner: Address,
    /// The buyer.
    pub buyer: Address,
    /// The price asked.
    pub price: Amount,
}

impl EventDef for EntitlementOffered {
    fn accounts(&self) -> Vec<Address> {
        vec![self.owner, self.buyer]
    }
}

/// An entitlement changed owner (a gift at price 0, or a completed resale).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EntitlementTransferred {
    /// The entitlement.
    pub id: u64,
    /// The product.
    pub product: u64,
    /// The previous owner.
    pub from: Address,
    /// The new owner.
    pub to: Address,
    /// The resale price (0 for a gift).
    pub price: Amount,
    /// The royalty paid to the merchant.
    pub royalty: Amount,
    /// The merchant.
    pub merchant: Address,
}

impl EventDef for EntitlementTransferred {
    fn accounts(&self) -> Vec<Address> {
        vec![self.from, self.to, self.merchant]
    }
}

/// The merchant revoked an entitlement and refunded its owner.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EntitlementRevoked {
    /// The entitlement.
    pub id: u64,
    /// The product.
    pub product: u64,
    /// The merchant.
    pub merchant: Address,
    /// The owner refunded.
    pub owner: Address,
    /// Units refunded.
    pub refund: Amount,
}

impl EventDef for EntitlementRevoked {
    fn accounts(&self) -> Vec<Address> {
        vec![self.merchant, self.owner]
    }
}

/// A subscription was renewed for one more period, charged through its mandate.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SubscriptionRenewed {
    /// The entitlement.
    pub id: u64,
    /// The product.
    pub product: u64,
    /// The subscriber.
    pub owner: Address,
    /// The merchant.
    pub merchant: Address,
    /// The mandate charged.
    pub mandate: u64,
    /// The new expiry (block time, ms).
    pub expires_at_ms: TimeMs,
}

impl EventDef for SubscriptionRenewed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.owner, self.merchant]
    }
}

/// A renewal charge failed: the subscription is not renewed again (the entitlement
/// stays valid until its expiry).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct SubscriptionLapsed {
    /// The entitlement.
    pub id: u64,
    /// The product.
    pub product: u64,
    /// The subscriber.
    pub owner: Address,
    /// The merchant.
    pub merchant: Address,
    /// Why the charge failed (a revoked or expired mandate, its limit, the balance).
    pub error: crate::model::CallError,
}

impl EventDef for SubscriptionLapsed {
    fn accounts(&self) -> Vec<Address> {
        vec![self.owner, self.merchant]
    }
}

// -------------------------------------------------------------- queries

/// An entitlement with whether it is valid at a given time, as [`entitlements_of`]
/// lists it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct EntitlementStatus {
    /// The record.
    pub entitlement: Entitlement,
    /// Whether it grants access at the time asked about.
    pub valid: bool,
}

/// A product by id.
pub fn product<S: StateRead + ?Sized>(s: &S, id: u64) -> Result<Option<Product>, StateError> {
    read_record(s, &storage::product(id))
}

/// An entitlement by id (`None` if never issued or revoked).
pub fn entitlement<S: StateRead + ?Sized>(
    s: &S,
    id: u64,
) -> Result<Option<Entitlement>, StateError> {
    read_record(s, &storage::entitlement(id))
}

/// A merchant's products in id order, at most [`LISTED_MAX`].
pub fn products_of<S: StateScan + ?Sized>(
    s: &S,
    merchant: &Address,
) -> Result<Vec<Product>, StateError> {
    let prefix = storage::merchant_products(merchant);
    indexed_ids(s, &prefix, "merchant product")?
        .into_iter()
        .map(|id| {
            product(s, id)?.ok_or(StateError::MissingRecord {
                what: "product",
                id,
            })
        })
        .collect()
}

/// An owner's entitlements in id order, at most [`LISTED_MAX`], each with whether it
/// is valid at `time_ms` (e.g. the head's time).
pub fn entitlements_of<S: StateScan + ?Sized>(
    s: &S,
    owner: &Address,
    time_ms: TimeMs,
) -> Result<Vec<EntitlementStatus>, StateError> {
    let prefix = storage::owner_entitlements(owner);
    indexed_ids(s, &prefix, "owner entitlement")?
        .into_iter()
        .map(|id| {
            let entitlement = entitlement(s, id)?.ok_or(StateError::MissingRecord {
                what: "entitlement",
                id,
            })?;
            let valid = entitlement.is_valid(time_ms);
            Ok(EntitlementStatus { entitlement, valid })
        })
        .collect()
}

/// The ids at the end of the keys under an index prefix.
pub(crate) fn indexed_ids<S: StateScan + ?Sized>(
    s: &S,
    prefix: &[u8],
    what: &'static str,
) -> Result<Vec<u64>, StateError> {
    s.scan_prefix(prefix, LISTED_MAX)?
        .iter()
        .map(|(k, _)| {
            crate::economy::query::be_u64(&k[prefix.len()..]).ok_or(StateError::MalformedKey {
                what,
                key: k.clone(),
            })
        })
        .collect()
}

/// Defines a product at genesis for `merchant`, with the same checks as
/// `CreateProduct`. Returns its id, or the reason it is refused.
pub fn define_at_genesis<S: StateRead + ?Sized>(
    ov: &mut crate::state::Overlay<'_, S>,
    merchant: Address,
    def: &CreateProduct,
) -> Result<Result<u64, crate::model::CallError>, StateError> {
    match calls::define(ov, merchant, def) {
        Ok(p) => Ok(Ok(p.id)),
        Err(crate::economy::ledger::Fail::Call(e)) => Ok(Err(e)),
        Err(crate::economy::ledger::Fail::State(e)) => Err(e),
    }
}
