//! `jeon tx create-product`, `buy`, `transfer-entitlement`, `accept-entitlement`,
//! `revoke-entitlement`, `subscribe`, `renew`: digital goods (docs/economy.md,
//! "Digital goods").

use clap::{Args, ValueEnum};
use jeon_runtime::calls;
use jeon_runtime::goods::ProductKind;
use jeon_runtime::{Address, Call};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::amount::AmountArg;
use crate::client::AssetRef;
use crate::error::CliError;

/// What kind of product `create-product` defines.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// A one-off item (a sticker pack); `--supply-max` caps how many are sold.
    Item,
    /// Access for a time (`--duration-ms`), e.g. a 30-day pass.
    Pass,
    /// Several of your items and passes at one price (`--products`).
    Bundle,
    /// A pass renewed each period (`--period-ms`) through the subscriber's mandate.
    Subscription,
}

/// As a merchant partner, define a product. Prints the transaction hash; the product
/// id is in the `product_created` event.
#[derive(Debug, Args)]
pub(crate) struct CreateProductArgs {
    /// Display name, at most 64 bytes.
    #[arg(long, value_name = "TEXT")]
    name: String,
    /// Item, pass, bundle or subscription.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// The money asset it is priced in, by id or symbol.
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// The price, tax included: raw units (₩500 = 50000) or a decimal amount (`₩500`,
    /// `500.00`).
    #[arg(long, value_name = "AMOUNT")]
    price: AmountArg,
    /// An item's supply cap [default: none].
    #[arg(long, value_name = "N")]
    supply_max: Option<u64>,
    /// A pass's length in milliseconds of block time (30 days = 2592000000).
    #[arg(long, value_name = "MS")]
    duration_ms: Option<u64>,
    /// A subscription's period in milliseconds of block time.
    #[arg(long, value_name = "MS")]
    period_ms: Option<u64>,
    /// A bundle's products, by id, comma-separated.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    products: Vec<u64>,
    /// Make entitlements transferable, paying you this royalty (basis points) on each
    /// gift and resale [default: bound to their owner].
    #[arg(long, value_name = "BPS")]
    royalty_bps: Option<u16>,
    #[command(flatten)]
    common: TxArgs,
}

impl CreateProductArgs {
    /// The product kind, refusing flags that do not belong to it.
    fn kind(&self) -> Result<ProductKind, CliError> {
        let bad = |m: &str| Err(CliError::BadInput(m.to_owned()));
        // Which of --supply-max, --duration-ms, --products, --period-ms the kind takes.
        let extra = |allowed: [bool; 4]| {
            let given = [
                self.supply_max.is_some(),
                self.duration_ms.is_some(),
                !self.products.is_empty(),
                self.period_ms.is_some(),
            ];
            given.iter().zip(allowed).any(|(g, a)| *g && !a)
        };
        match self.kind {
            KindArg::Item if !extra([true, false, false, false]) => Ok(ProductKind::Item {
                supply_max: self.supply_max,
            }),
            KindArg::Pass if !extra([false, true, false, false]) => match self.duration_ms {
                Some(duration_ms) => Ok(ProductKind::Pass { duration_ms }),
                None => bad("--kind pass needs --duration-ms"),
            },
            KindArg::Subscription if !extra([false, false, false, true]) => match self.period_ms {
                Some(period_ms) => Ok(ProductKind::Subscription { period_ms }),
                None => bad("--kind subscription needs --period-ms"),
            },
            KindArg::Bundle if !extra([false, false, true, false]) => {
                if self.products.is_empty() {
                    return bad("--kind bundle needs --products");
                }
                Ok(ProductKind::Bundle {
                    products: self.products.clone(),
                })
            }
            _ => bad(
                "--supply-max is for items, --duration-ms for passes, --products for bundles, \
                 --period-ms for subscriptions",
            ),
        }
    }
}

impl DraftCall for CreateProductArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let max = jeon_runtime::goods::PRODUCT_NAME_BYTES_MAX;
        if self.name.len() > max {
            return Err(CliError::BadInput(format!(
                "--name is {} bytes; at most {max}",
                self.name.len()
            )));
        }
        let kind = self.kind()?;
        self.price
            .check_unit(&self.asset)
            .map_err(CliError::BadInput)?;
        let Self {
            name,
            asset,
            price,
            royalty_bps,
            common,
            ..
        } = self;
        let draft: Draft = Box::new(move |c| {
            let (asset, price) = c.asset_amount(&asset, &price)?;
            Ok(Call::CreateProduct(calls::CreateProduct {
                name,
                kind,
                asset,
                price,
                royalty_bps,
            }))
        });
        Ok((draft, common))
    }
}

/// Buy a product: pays its merchant its price (tax withheld, cashback and stamps as for
/// `pay`) and issues you its entitlements (ids in the `entitlement_issued` events).
#[derive(Debug, Args)]
pub(crate) struct BuyArgs {
    /// The product's id (`jeon query products MERCHANT` lists them).
    #[arg(long, value_name = "ID")]
    product: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for BuyArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::Buy(calls::Buy {
            product: self.product,
        });
        Ok((fixed(call), self.common))
    }
}

/// As an entitlement's owner, give it (`--price 0`, you pay the merchant's royalty on
/// the list price) or offer it for sale to one buyer, who completes it with
/// `accept-entitlement` (and pays the royalty on the price).
#[derive(Debug, Args)]
pub(crate) struct TransferEntitlementArgs {
    /// The entitlement's id.
    #[arg(long, value_name = "ID")]
    entitlement: u64,
    /// The recipient, or the only buyer who may accept.
    #[arg(long, value_name = "ADDR")]
    to: Address,
    /// 0 for a gift; otherwise the price the buyer pays, in the product's asset: raw
    /// units, or a decimal amount with its sign or symbol (`₩5`, `5KRW`).
    #[arg(long, value_name = "AMOUNT", default_value = "0")]
    price: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for TransferEntitlementArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            entitlement,
            to,
            price,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            Ok(Call::TransferEntitlement(calls::TransferEntitlement {
                entitlement,
                to,
                price: c.amount_with_unit(&price)?,
            }))
        });
        Ok((draft, common))
    }
}

/// As the buyer an entitlement is offered to, buy it at the offered price.
#[derive(Debug, Args)]
pub(crate) struct AcceptEntitlementArgs {
    /// The entitlement's id.
    #[arg(long, value_name = "ID")]
    entitlement: u64,
    /// The price as offered (refused if the offer changed): raw units, or a decimal
    /// amount with its sign or symbol (`₩5`, `5KRW`).
    #[arg(long, value_name = "AMOUNT")]
    price: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for AcceptEntitlementArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            entitlement,
            price,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            Ok(Call::AcceptEntitlement(calls::AcceptEntitlement {
                entitlement,
                price: c.amount_with_unit(&price)?,
            }))
        });
        Ok((draft, common))
    }
}

/// As the product's merchant, revoke an entitlement, refunding its owner at least what
/// it paid, in the same transaction.
#[derive(Debug, Args)]
pub(crate) struct RevokeEntitlementArgs {
    /// The entitlement's id.
    #[arg(long, value_name = "ID")]
    entitlement: u64,
    /// Refunded to the owner, at least its `paid`: raw units, or a decimal amount with
    /// its sign or symbol (`₩5`, `5KRW`).
    #[arg(long, value_name = "AMOUNT")]
    refund: AmountArg,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RevokeEntitlementArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let Self {
            entitlement,
            refund,
            common,
        } = self;
        let draft: Draft = Box::new(move |c| {
            Ok(Call::RevokeEntitlement(calls::RevokeEntitlement {
                entitlement,
                refund: c.amount_with_unit(&refund)?,
            }))
        });
        Ok((draft, common))
    }
}

/// Subscribe to a product through a mandate you granted its merchant (`grant-mandate
/// --spender MERCHANT`, limit at least the price per period): the first period is
/// charged now, later ones when the merchant renews.
#[derive(Debug, Args)]
pub(crate) struct SubscribeArgs {
    /// The subscription product's id.
    #[arg(long, value_name = "ID")]
    product: u64,
    /// Your mandate to the product's merchant, in the product's asset.
    #[arg(long, value_name = "ID")]
    mandate_id: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for SubscribeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::Subscribe(calls::Subscribe {
            product: self.product,
            mandate_id: self.mandate_id,
        });
        Ok((fixed(call), self.common))
    }
}

/// As the merchant, renew a subscription for one more period (accepted from the last
/// tenth of the period on); a failed charge lapses it (`subscription_lapsed`).
#[derive(Debug, Args)]
pub(crate) struct RenewArgs {
    /// The subscription's entitlement id.
    #[arg(long, value_name = "ID")]
    entitlement: u64,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RenewArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::Renew(calls::Renew {
            entitlement: self.entitlement,
        });
        Ok((fixed(call), self.common))
    }
}
