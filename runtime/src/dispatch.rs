//! The dispatcher: the wire `Call` and `Event` enums, one registration line per call
//! and per event, and the traits every feature module implements for them.
//!
//! A feature module (`economy::assets`, `economy::mandate`, ...) owns its calls'
//! argument structs and execution, its events, records, storage keys and queries; this
//! file only lists them. Adding a call is one line in [`calls`] (and one per new event
//! in [`events`]). The lists are the encoding: variants are tagged by position, so new
//! ones are only ever appended (docs/encoding.md).

pub mod calls {
    //! The wire `Call` enum and the [`CallDef`] trait: each feature module writes its
    //! calls' execution, one-line summary (shown in proofs) and addressee (for
    //! all-customers fee sponsorships); each call's struct is re-exported here
    //! (`calls::Transfer`).

    use serde::{Deserialize, Serialize};

    use crate::economy::ledger::{CallCx, Res};
    use crate::economy::{assets, credit, exchange, fees, links, mandate, pay, redeem, rewards};
    use crate::model::Event;
    use crate::state::{Overlay, StateError, StateRead};
    use crate::types::Address;
    use crate::{goods, governance, identity, nodes};

    /// What a feature module provides for each of its calls.
    pub(crate) trait CallDef {
        /// Runs the call for `cx.sender`, appending its events. A call error reverts the
        /// call's writes (the caller does it); a storage error stops the block.
        fn execute<S: StateRead + ?Sized>(
            &self,
            ov: &mut Overlay<'_, S>,
            cx: &CallCx,
            events: &mut Vec<Event>,
        ) -> Res<()>;

        /// The call in one line, amounts in the asset's smallest unit (shown in proofs).
        fn summary(&self) -> String;

        /// The account the call is addressed to, whose all-customers fee sponsorship may
        /// pay for it (docs/economy.md, "Fees"): the recipient of a transfer or payment,
        /// the merchant of a payment link, the spender of a mandate, the issuer of a
        /// redeemed asset, the lender of a repaid line. `None` for other calls.
        fn addressee<S: StateRead + ?Sized>(
            &self,
            _state: &S,
        ) -> Result<Option<Address>, StateError> {
            Ok(None)
        }
    }

    /// Declares the wire `Call` enum from `Variant(module::Struct)` lines and delegates
    /// [`CallDef`] to the variant's struct.
    macro_rules! calls {
        ($( $(#[$doc:meta])* $variant:ident($($module:ident)::+), )*) => {
            /// One operation. Variants are only ever appended: the encoding tags them by
            /// position. Each wraps its feature module's argument struct, which encodes
            /// exactly as the struct variant it replaced.
            #[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
            #[serde(rename_all = "snake_case")]
            pub enum Call {
                $( $(#[$doc])* $variant($($module)::+), )*
            }

            impl Call {
                /// Every variant's name, in wire order (`"Transfer"`, ...; the JSON tag
                /// is its snake_case form). Tests enumerate the enum with it, so a new
                /// call cannot be left out of the SDK's schemas or the golden vectors.
                pub const KINDS: &'static [&'static str] = &[$( stringify!($variant), )*];

                /// This call's variant name, one of [`Call::KINDS`].
                pub fn kind(&self) -> &'static str {
                    match self { $( Call::$variant(_) => stringify!($variant), )* }
                }

                /// Runs the call (see [`CallDef::execute`]).
                pub(crate) fn execute<S: StateRead + ?Sized>(
                    &self,
                    ov: &mut Overlay<'_, S>,
                    cx: &CallCx,
                    events: &mut Vec<Event>,
                ) -> Res<()> {
                    match self { $( Call::$variant(c) => c.execute(ov, cx, events), )* }
                }

                /// The call in one line (see [`CallDef::summary`]).
                pub fn summary(&self) -> String {
                    match self { $( Call::$variant(c) => c.summary(), )* }
                }

                /// Who the call is addressed to (see [`CallDef::addressee`]).
                pub fn addressee<S: StateRead + ?Sized>(
                    &self,
                    state: &S,
                ) -> Result<Option<Address>, StateError> {
                    match self { $( Call::$variant(c) => c.addressee(state), )* }
                }
            }

            $( pub use $($module)::+; )*

            $(
                impl From<$($module)::+> for Call {
                    fn from(c: $($module)::+) -> Call {
                        Call::$variant(c)
                    }
                }
            )*
        };
    }

    calls! {
        /// Move units of an asset to another account.
        Transfer(assets::Transfer),
        /// An issuer partner creates an asset.
        CreateAsset(assets::CreateAsset),
        /// The issuer creates units into an account.
        Mint(assets::Mint),
        /// A holder destroys units it holds.
        Burn(assets::Burn),
        /// Pay a merchant partner, with tax withheld and rewards applied.
        Pay(pay::Pay),
        /// An issuer attaches a reward rule to payments at merchants.
        AddRewardRule(rewards::AddRewardRule),
        /// The issuer of a reward rule removes it.
        RemoveRewardRule(rewards::RemoveRewardRule),
        /// The issuer of a stamp asset sets what its stamps redeem for.
        SetStampReward(rewards::SetStampReward),
        /// A holder burns stamps for their reward.
        RedeemStamps(rewards::RedeemStamps),
        /// A holder asks the issuer to redeem credits (held in escrow).
        Redeem(redeem::Redeem),
        /// The issuer settles a redemption.
        SettleRedemption(redeem::SettleRedemption),
        /// The issuer rejects a redemption.
        RejectRedemption(redeem::RejectRedemption),
        /// An issuer proposes an exchange agreement.
        ProposeExchange(exchange::ProposeExchange),
        /// The other issuer accepts an exchange agreement.
        AcceptExchange(exchange::AcceptExchange),
        /// Either issuer revokes an exchange agreement.
        RevokeExchange(exchange::RevokeExchange),
        /// A holder converts credits under an active agreement.
        Convert(exchange::Convert),
        /// A user lets a spender charge it within a limit per period.
        GrantMandate(mandate::GrantMandate),
        /// A mandate's spender charges the user.
        Charge(mandate::Charge),
        /// The user revokes a mandate.
        RevokeMandate(mandate::RevokeMandate),
        /// Pay a merchant-signed invoice (a payment link).
        PayInvoice(links::PayInvoice),
        /// A lender opens a credit line for a borrower.
        OpenCreditLine(credit::OpenCreditLine),
        /// The borrower draws on a credit line.
        DrawCredit(credit::DrawCredit),
        /// The borrower repays a credit line.
        Repay(credit::Repay),
        /// The lender marks an overdue line in default.
        MarkDefault(credit::MarkDefault),
        /// A partner sponsors fees for an account or all its customers.
        SponsorFees(fees::SponsorFees),
        /// A validator proposes a change to the validators, partners or parameters.
        Propose(governance::Propose),
        /// A validator votes on a proposal.
        Vote(governance::Vote),
        /// A merchant partner defines a product.
        CreateProduct(goods::CreateProduct),
        /// Buy a product: pay its merchant, receive its entitlements.
        Buy(goods::Buy),
        /// The owner gives an entitlement, or offers it for sale to one buyer.
        TransferEntitlement(goods::TransferEntitlement),
        /// The buyer named by an offer buys the entitlement.
        AcceptEntitlement(goods::AcceptEntitlement),
        /// The merchant revokes an entitlement with a refund.
        RevokeEntitlement(goods::RevokeEntitlement),
        /// Subscribe to a product through a mandate to its merchant.
        Subscribe(goods::Subscribe),
        /// The merchant renews a subscription, charging its mandate.
        Renew(goods::Renew),
        /// A user opens a metered session with a merchant, its budget in escrow.
        OpenMeter(goods::OpenMeter),
        /// The merchant claims a session's latest signed receipt.
        ClaimMeter(goods::ClaimMeter),
        /// The merchant (or the user after the expiry) closes a session.
        CloseMeter(goods::CloseMeter),
        /// An attester partner attests a claim about an account.
        Attest(identity::Attest),
        /// The attester revokes an attestation.
        RevokeAttestation(identity::RevokeAttestation),
        /// A product's merchant sets the claim buying it requires.
        RequireClaim(identity::RequireClaim),
        /// A partner registers a read node (a non-validator node key).
        RegisterNode(nodes::RegisterNode),
        /// The partner that registered a read node unregisters it.
        UnregisterNode(nodes::UnregisterNode),
        /// A carrier opens a billing line for a user.
        OpenCarrierLine(goods::OpenCarrierLine),
        /// The user charges a purchase to its carrier line.
        ChargeLine(goods::ChargeLine),
        /// A line's period statement is collected by the carrier or paid by the user.
        SettleStatement(goods::SettleStatement),
        /// The carrier suspends a line with an unpaid statement.
        SuspendLine(goods::SuspendLine),
        /// The carrier resumes a suspended line.
        ResumeLine(goods::ResumeLine),
        /// A lender, carrier or issuer sets the claim its lines or redemptions require.
        SetClaimPolicy(goods::SetClaimPolicy),
        /// Anyone reports a validator that signed two conflicting consensus messages.
        ReportEquivocation(governance::ReportEquivocation),
    }
}

pub mod events {
    //! The wire `Event` enum and the [`EventDef`] trait: each event's struct and the
    //! accounts it names live in its feature module; the structs are re-exported here
    //! (`events::Transferred`).

    use serde::{Deserialize, Serialize};

    use crate::economy::{assets, credit, exchange, fees, links, mandate, pay, redeem, rewards};
    use crate::types::Address;
    use crate::{goods, governance, identity, nodes};

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
                /// Every variant's name, in wire order (`"FeeCharged"`, ...; the JSON
                /// tag is its snake_case form), for tests that enumerate the enum.
                pub const KINDS: &'static [&'static str] = &[$( stringify!($variant), )*];

                /// This event's variant name, one of [`Event::KINDS`].
                pub fn kind(&self) -> &'static str {
                    match self { $( Event::$variant(_) => stringify!($variant), )* }
                }

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
        /// A validator submitted a proposal.
        ProposalSubmitted(governance::ProposalSubmitted),
        /// A validator voted on a proposal.
        VoteCast(governance::VoteCast),
        /// A proposal passed; it takes effect from a stated height.
        ProposalPassed(governance::ProposalPassed),
        /// A proposal was rejected.
        ProposalRejected(governance::ProposalRejected),
        /// A proposal was still open at its deadline.
        ProposalExpired(governance::ProposalExpired),
        /// A passed proposal's change was written.
        ProposalEnacted(governance::ProposalEnacted),
        /// A passed proposal's change no longer fit the state; nothing changed.
        ProposalNotEnacted(governance::ProposalNotEnacted),
        /// The validator set changed, from a stated height.
        ValidatorSetChanged(governance::ValidatorSetChanged),
        /// A merchant defined a product.
        ProductCreated(goods::ProductCreated),
        /// A purchase issued an entitlement.
        EntitlementIssued(goods::EntitlementIssued),
        /// An owner offered an entitlement for sale.
        EntitlementOffered(goods::EntitlementOffered),
        /// An entitlement changed owner (gift or resale).
        EntitlementTransferred(goods::EntitlementTransferred),
        /// A merchant revoked an entitlement with a refund.
        EntitlementRevoked(goods::EntitlementRevoked),
        /// A subscription was renewed for a period.
        SubscriptionRenewed(goods::SubscriptionRenewed),
        /// A subscription's renewal charge failed; it lapses.
        SubscriptionLapsed(goods::SubscriptionLapsed),
        /// A metered session was opened.
        MeterOpened(goods::MeterOpened),
        /// A metered session's receipt was claimed and paid.
        MeterClaimed(goods::MeterClaimed),
        /// A metered session closed; the rest of its budget returned.
        MeterClosed(goods::MeterClosed),
        /// An attestation was issued.
        AttestationIssued(identity::AttestationIssued),
        /// An attestation was revoked.
        AttestationRevoked(identity::AttestationRevoked),
        /// A product's required claim was set or cleared.
        ClaimRequirementSet(identity::ClaimRequirementSet),
        /// A partner registered a read node.
        NodeRegistered(nodes::NodeRegistered),
        /// A read node was unregistered.
        NodeUnregistered(nodes::NodeUnregistered),
        /// A carrier line was opened.
        CarrierLineOpened(goods::CarrierLineOpened),
        /// A purchase was charged to a carrier line.
        LineCharged(goods::LineCharged),
        /// A carrier line's period statement was settled.
        StatementSettled(goods::StatementSettled),
        /// A carrier line was suspended.
        CarrierLineSuspended(goods::CarrierLineSuspended),
        /// A carrier line was resumed.
        CarrierLineResumed(goods::CarrierLineResumed),
        /// A claim policy was set or cleared.
        ClaimPolicySet(goods::ClaimPolicySet),
        /// Equivocation evidence against a validator was recorded.
        EquivocationReported(governance::EquivocationReported),
    }
}
