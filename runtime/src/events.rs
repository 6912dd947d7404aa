//! The wire `Event` enum, one registration line per event; each event's struct and
//! the accounts it names live in its feature module ([`EventDef`]).
//!
//! Events are tagged by their position in this list, so new ones are only appended.

use serde::{Deserialize, Serialize};

use crate::economy::{assets, credit, exchange, fees, links, mandate, pay, redeem, rewards};
use crate::types::Address;

/// What a feature module provides for each of its events.
pub trait EventDef {
    /// The accounts the event names, in field order (duplicates allowed): whose
    /// history lists it, and which partners see it on a filtered event stream.
    fn accounts(&self) -> Vec<Address>;
}

/// Declares the wire `Event` enum from `Variant(module::Struct)` lines.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($($module:ident)::+), )*) => {
        /// Something that happened, recorded in a receipt and streamed to clients.
        /// Each variant wraps its feature module's struct, which encodes exactly as the
        /// struct variant it replaced.
        #[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Event {
            $( $(#[$doc])* $variant($($module)::+), )*
        }

        impl Event {
            /// The distinct accounts the event names, in field order: whose history
            /// lists it, and which partners see it when the event stream is filtered
            /// by partner.
            pub fn accounts(&self) -> Vec<Address> {
                let named = match self { $( Event::$variant(e) => e.accounts(), )* };
                let mut out: Vec<Address> = Vec::with_capacity(named.len());
                for a in named {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
                out
            }
        }

        $( pub use $($module)::+; )*

        $(
            impl From<$($module)::+> for Event {
                fn from(e: $($module)::+) -> Event {
                    Event::$variant(e)
                }
            }
        )*
    };
}

events! {
    /// A transaction's fee was paid.
    FeeCharged(fees::FeeCharged),
    /// Units moved between accounts.
    Transferred(assets::Transferred),
    /// An asset was created.
    AssetCreated(assets::AssetCreated),
    /// Units were minted.
    Minted(assets::Minted),
    /// Units were burned.
    Burned(assets::Burned),
    /// A merchant was paid.
    Paid(pay::Paid),
    /// Tax was withheld from a payment.
    TaxWithheld(pay::TaxWithheld),
    /// A reward rule was added.
    RewardRuleAdded(rewards::RewardRuleAdded),
    /// A reward rule was removed.
    RewardRuleRemoved(rewards::RewardRuleRemoved),
    /// A payment earned a reward.
    RewardGranted(rewards::RewardGranted),
    /// A reward rule could not mint; the payment stands.
    RewardSkipped(rewards::RewardSkipped),
    /// A stamp asset's reward was set.
    StampRewardSet(rewards::StampRewardSet),
    /// Stamps were redeemed for their reward.
    StampsRedeemed(rewards::StampsRedeemed),
    /// Credits were put in escrow for redemption.
    RedemptionRequested(redeem::RedemptionRequested),
    /// A redemption was settled.
    RedemptionSettled(redeem::RedemptionSettled),
    /// A redemption was rejected.
    RedemptionRejected(redeem::RedemptionRejected),
    /// A redemption reached its deadline and was refunded.
    RedemptionExpired(redeem::RedemptionExpired),
    /// An exchange agreement was proposed.
    ExchangeProposed(exchange::ExchangeProposed),
    /// An exchange agreement became active.
    ExchangeAccepted(exchange::ExchangeAccepted),
    /// An exchange agreement was revoked.
    ExchangeRevoked(exchange::ExchangeRevoked),
    /// Credits were converted.
    Converted(exchange::Converted),
    /// A mandate was granted.
    MandateGranted(mandate::MandateGranted),
    /// A mandate was charged.
    MandateCharged(mandate::MandateCharged),
    /// A mandate was revoked.
    MandateRevoked(mandate::MandateRevoked),
    /// A payment link was paid.
    InvoicePaid(links::InvoicePaid),
    /// A credit line was opened.
    CreditLineOpened(credit::CreditLineOpened),
    /// Units were drawn on a credit line.
    CreditDrawn(credit::CreditDrawn),
    /// Units were repaid on a credit line.
    CreditRepaid(credit::CreditRepaid),
    /// A credit line defaulted.
    CreditDefaulted(credit::CreditDefaulted),
    /// A partner offered, changed or withdrew a fee sponsorship.
    FeesSponsored(fees::FeesSponsored),
}
