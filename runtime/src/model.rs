//! The chain's domain records: assets, partners, parameters, events and receipts.

use serde::{Deserialize, Serialize};

use crate::tx::TxError;
use crate::types::{Address, Amount, AssetId, Hash, Height, TimeMs};

/// What an asset represents.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    /// A money token, e.g. KRW issued 1:1 by a bank partner.
    Money,
    /// Loyalty points, cashback credits or stamps.
    Credit,
}

/// An asset's registry entry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AssetInfo {
    /// The asset's id.
    pub id: AssetId,
    /// A short unique ticker: 1 to [`SYMBOL_LEN_MAX`] of `A-Z`, `0-9`.
    pub symbol: String,
    /// Digits after the decimal point of one display unit.
    pub decimals: u8,
    /// The partner allowed to mint it.
    pub issuer: Address,
    /// Money or credit.
    pub kind: AssetKind,
    /// Units in existence: always the sum of all balances of this asset (credits held
    /// for pending redemptions are the balance of [`crate::economy::ESCROW_ACCOUNT`]).
    /// The issuance limit, if any, is stored beside it: [`crate::economy::query::supply_max`].
    pub supply: Amount,
}

/// The longest asset symbol.
pub const SYMBOL_LEN_MAX: usize = 12;
/// The most decimals an asset may have (10^18 still fits a u64).
pub const DECIMALS_MAX: u8 = 18;

/// Whether `symbol` is a valid asset symbol.
pub fn symbol_is_valid(symbol: &str) -> bool {
    (1..=SYMBOL_LEN_MAX).contains(&symbol.len())
        && symbol
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// What a partner may do on the chain.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs a validator.
    Validator,
    /// Issues assets (creates and mints them).
    Issuer,
    /// Accepts payments.
    Merchant,
    /// Opens credit lines.
    Lender,
    /// Attests claims about accounts (age, residency, KYC level).
    Attester,
    /// A telco that opens billing lines and pays purchases charged to them from its
    /// float (`goods::carrier`).
    Carrier,
}

/// A registered partner company.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Partner {
    /// Display name.
    pub name: String,
    /// The partner's account.
    pub account: Address,
    /// Sorted, without duplicates.
    pub roles: Vec<Role>,
    /// Jurisdiction code (e.g. "KR"), for tax withholding.
    pub jurisdiction: String,
}

impl Partner {
    /// Whether the partner holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Chain parameters, set in genesis.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Params {
    /// The asset fees are paid in.
    pub fee_asset: AssetId,
    /// The base fee of the first block, in the fee asset's smallest unit; the fee of
    /// every transaction if genesis sets no fee market (see [`crate::fees`]).
    pub fee_flat: Amount,
    /// The account that receives fees.
    pub fee_collector: Address,
    /// The most transactions in one block.
    pub block_txs_max: u32,
    /// The most encoded bytes of transactions in one block.
    pub block_bytes_max: u32,
}

pub use crate::events::Event;

/// Why a call failed. The transaction still paid its fee and used its nonce.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum CallError {
    /// The asset does not exist.
    #[error("unknown asset {asset}")]
    UnknownAsset {
        /// The id given.
        asset: AssetId,
    },
    /// The account holds less than the call needs.
    #[error("insufficient balance of asset {asset}: need {needed}, have {available}")]
    InsufficientBalance {
        /// Asset.
        asset: AssetId,
        /// Units needed.
        needed: Amount,
        /// Units held.
        available: Amount,
    },
    /// Amounts must be positive.
    #[error("amount must be greater than zero")]
    ZeroAmount,
    /// The sender is not a registered partner with the role the call needs.
    #[error("sender is not a partner with the {role:?} role")]
    MissingRole {
        /// The role needed.
        role: Role,
    },
    /// Only the asset's issuer may do this.
    #[error("only the issuer {issuer} of asset {asset} may do this")]
    NotIssuer {
        /// Asset.
        asset: AssetId,
        /// Its issuer.
        issuer: Address,
    },
    /// The symbol is not 1-12 characters of A-Z, 0-9.
    #[error("invalid asset symbol {symbol:?}: use 1 to 12 of A-Z, 0-9")]
    InvalidSymbol {
        /// What was given.
        symbol: String,
    },
    /// The symbol is already taken.
    #[error("asset symbol {symbol:?} is already taken by asset {asset}")]
    DuplicateSymbol {
        /// What was given.
        symbol: String,
        /// The asset that has it.
        asset: AssetId,
    },
    /// Too many decimals.
    #[error("{decimals} decimals exceeds the maximum of 18")]
    TooManyDecimals {
        /// What was given.
        decimals: u8,
    },
    /// Minting would overflow the supply (u64).
    #[error("minting {amount} would overflow the supply of asset {asset}")]
    SupplyOverflow {
        /// Asset.
        asset: AssetId,
        /// Units asked for.
        amount: Amount,
    },
    /// No asset ids are left.
    #[error("asset ids are exhausted")]
    AssetIdsExhausted,
    /// The account is reserved by the runtime (the escrow account) and cannot receive
    /// units directly.
    #[error("account {account} is reserved by the runtime and cannot receive units")]
    ReservedAccount {
        /// The account.
        account: Address,
    },
    /// An issuance limit of zero would make the asset unmintable.
    #[error("supply_max must be greater than zero (omit it for no limit)")]
    ZeroSupplyMax,
    /// Minting would take the supply above the asset's issuance limit.
    #[error("minting {amount} of asset {asset} would exceed its supply_max of {supply_max} (supply is {supply})")]
    SupplyMaxExceeded {
        /// Asset.
        asset: AssetId,
        /// The issuance limit.
        supply_max: Amount,
        /// The supply now.
        supply: Amount,
        /// Units asked for.
        amount: Amount,
    },
    /// A reference, payout reference or reason is longer than allowed.
    #[error("text of {len} bytes exceeds the limit of {max} bytes")]
    TextTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The call needs a money asset.
    #[error("asset {asset} is not a money asset")]
    NotMoney {
        /// The asset given.
        asset: AssetId,
    },
    /// The call needs a credit asset.
    #[error("asset {asset} is not a credit asset")]
    NotACredit {
        /// The asset given.
        asset: AssetId,
    },
    /// The account is not a partner with the merchant role.
    #[error("{account} is not a partner with the merchant role")]
    NotAMerchant {
        /// The account given.
        account: Address,
    },
    /// A merchant cannot pay itself.
    #[error("a merchant cannot pay itself")]
    SelfPayment,
    /// The merchant's jurisdiction is not defined on this chain.
    #[error("jurisdiction {jurisdiction:?} is not defined on this chain")]
    UnknownJurisdiction {
        /// The code.
        jurisdiction: String,
    },
    /// A rate in basis points above 100 %.
    #[error("rate of {bps} basis points exceeds the maximum of {max}")]
    RateTooHigh {
        /// What was given.
        bps: u16,
        /// The maximum.
        max: u16,
    },
    /// A reward rule's cap period of zero milliseconds.
    #[error("period_ms must be greater than zero")]
    ZeroPeriod,
    /// A reward rule names no merchant.
    #[error("a reward rule must name at least one merchant")]
    NoMerchants,
    /// A reward rule names too many merchants.
    #[error("{count} merchants named; a rule may name at most {max}")]
    TooManyMerchants {
        /// How many were named.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A reward rule names a merchant twice.
    #[error("merchant {merchant} is named twice")]
    DuplicateMerchant {
        /// The merchant.
        merchant: Address,
    },
    /// The merchant already has the most reward rules allowed.
    #[error("merchant {merchant} already has {max} reward rules")]
    TooManyRules {
        /// The merchant.
        merchant: Address,
        /// The limit.
        max: usize,
    },
    /// No reward rule has this id.
    #[error("unknown reward rule {rule}")]
    UnknownRule {
        /// The id given.
        rule: u64,
    },
    /// Only the rule's issuer may remove it.
    #[error("only the issuer {issuer} of reward rule {rule} may remove it")]
    NotRuleIssuer {
        /// The rule.
        rule: u64,
        /// Its issuer.
        issuer: Address,
    },
    /// The two assets of the call must differ.
    #[error("the two assets must differ")]
    SameAsset,
    /// The stamp asset has no configured reward.
    #[error("asset {asset} has no stamp reward configured")]
    NoStampReward {
        /// The stamp asset.
        asset: AssetId,
    },
    /// Stamps are redeemed in whole rewards only.
    #[error("{count} stamps is not a multiple of {stamps} stamps per reward")]
    NotAMultiple {
        /// Stamps offered.
        count: Amount,
        /// Stamps per reward.
        stamps: Amount,
    },
    /// No pending redemption has this id (never requested, or already settled,
    /// rejected or refunded).
    #[error("no pending redemption {id}")]
    UnknownRedemption {
        /// The id given.
        id: u64,
    },
    /// The redemption's deadline passed; it is being refunded and can no longer be settled.
    #[error("redemption {id} passed its deadline at height {deadline}")]
    RedemptionPastDeadline {
        /// The request.
        id: u64,
        /// Its deadline.
        deadline: Height,
    },
    /// Both assets of an exchange are issued by the same partner.
    #[error("an exchange agreement needs two different issuers")]
    SameIssuer,
    /// An exchange rate with a zero numerator or denominator.
    #[error("invalid rate {num}/{den}: both must be greater than zero")]
    InvalidRate {
        /// Numerator.
        num: u64,
        /// Denominator.
        den: u64,
    },
    /// The sender issues neither asset of the proposed exchange.
    #[error("the sender issues neither asset of the exchange")]
    NotAParty,
    /// Only the other issuer may accept a proposal.
    #[error("only {counterparty} may accept exchange agreement {id}")]
    NotCounterparty {
        /// The agreement.
        id: u64,
        /// The issuer that must accept.
        counterparty: Address,
    },
    /// The agreement is already active.
    #[error("exchange agreement {id} is already active")]
    AlreadyActive {
        /// The agreement.
        id: u64,
    },
    /// Another active agreement already converts this pair.
    #[error("agreement {id} already converts asset {from_asset} into asset {to_asset}")]
    PairTaken {
        /// Asset given.
        from_asset: AssetId,
        /// Asset received.
        to_asset: AssetId,
        /// The active agreement.
        id: u64,
    },
    /// No agreement has this id.
    #[error("unknown exchange agreement {id}")]
    UnknownExchange {
        /// The id given.
        id: u64,
    },
    /// No active agreement converts this pair.
    #[error("no active agreement converts asset {from_asset} into asset {to_asset}")]
    NoAgreement {
        /// Asset given.
        from_asset: AssetId,
        /// Asset received.
        to_asset: AssetId,
    },
    /// The converted amount does not fit a u64.
    #[error("the converted amount overflows")]
    ConversionOverflow,
    /// The conversion would give the user nothing (the amount is too small for the rate
    /// and spread).
    #[error("converting this amount yields nothing")]
    NothingToReceive,
    /// The conversion yields less than the user's minimum.
    #[error("conversion yields {out}, below the minimum of {min_out}")]
    BelowMinOut {
        /// What the user would receive.
        out: Amount,
        /// The minimum asked for.
        min_out: Amount,
    },
    /// The agreement's daily cap would be exceeded.
    #[error("agreement {agreement} converted {used} of its daily cap of {cap} today; {amount} more does not fit")]
    DailyCapExceeded {
        /// The agreement.
        agreement: u64,
        /// The cap, in from-asset units per UTC day.
        cap: Amount,
        /// Converted today.
        used: Amount,
        /// Asked for.
        amount: Amount,
    },
    /// The to-issuer's liquidity account holds too little of the to-asset.
    #[error("issuer {issuer} holds {available} of asset {asset}; the conversion needs {needed}")]
    InsufficientLiquidity {
        /// The to-issuer.
        issuer: Address,
        /// The to-asset.
        asset: AssetId,
        /// Units needed.
        needed: Amount,
        /// Units held.
        available: Amount,
    },
    /// A record id counter is exhausted.
    #[error("record ids are exhausted")]
    IdsExhausted,
    /// A user cannot grant a mandate to itself.
    #[error("a mandate's spender must be another account")]
    SelfMandate,
    /// No mandate has this id.
    #[error("unknown mandate {id}")]
    UnknownMandate {
        /// The id given.
        id: u64,
    },
    /// Only the mandate's spender may charge it.
    #[error("only the spender {spender} of mandate {id} may charge it")]
    NotMandateSpender {
        /// The mandate.
        id: u64,
        /// Its spender.
        spender: Address,
    },
    /// Only the mandate's user may revoke it.
    #[error("only the user {user} of mandate {id} may revoke it")]
    NotMandateUser {
        /// The mandate.
        id: u64,
        /// Its user.
        user: Address,
    },
    /// The mandate was revoked in an earlier block (or, for a second revoke, at all).
    #[error("mandate {id} was revoked at height {revoked_at}")]
    MandateRevoked {
        /// The mandate.
        id: u64,
        /// The height of the revoking block.
        revoked_at: Height,
    },
    /// The mandate's expiry height has passed (or, for a grant, is already past).
    #[error("mandate {id} expired at height {expires_at}; this block is {height}")]
    MandateExpired {
        /// The mandate (for a grant: the id it would have had).
        id: u64,
        /// Its last valid height.
        expires_at: Height,
        /// This block's height.
        height: Height,
    },
    /// The charge exceeds what the period's limit leaves.
    #[error("mandate {id} allows {limit} per period, {used} already charged; {amount} more does not fit")]
    MandateLimitExceeded {
        /// The mandate.
        id: u64,
        /// The limit per period.
        limit: Amount,
        /// Charged in this period.
        used: Amount,
        /// Asked for.
        amount: Amount,
    },
    /// The invoice's signature is not the merchant's over these exact fields: the link
    /// was altered (or made for another chain).
    #[error("invoice {invoice_id} is not signed by merchant {merchant}: the payment link was altered or is for another chain")]
    BadInvoiceSignature {
        /// The merchant named in the invoice.
        merchant: Address,
        /// The invoice id.
        invoice_id: u64,
    },
    /// The invoice's expiry height has passed.
    #[error("invoice {invoice_id} expired at height {expires_at}; this block is {height}")]
    InvoiceExpired {
        /// The invoice id.
        invoice_id: u64,
        /// Its last valid height.
        expires_at: Height,
        /// This block's height.
        height: Height,
    },
    /// The invoice was already paid.
    #[error("invoice {invoice_id} of merchant {merchant} was already paid at height {paid_at}")]
    InvoiceAlreadyPaid {
        /// The merchant.
        merchant: Address,
        /// The invoice id.
        invoice_id: u64,
        /// The height of the paying block.
        paid_at: Height,
    },
    /// Only a partner with the lender role may open credit lines.
    #[error("{account} is not a partner with the lender role")]
    NotALender {
        /// The sender.
        account: Address,
    },
    /// A lender cannot open a credit line for itself.
    #[error("a credit line's borrower must be another account")]
    SelfCredit,
    /// The borrower's score does not allow the line.
    #[error("borrower {borrower} has score {score}, which allows {allowed} of credit; {committed} is committed to open lines, so a limit of {limit} does not fit")]
    CreditAboveScore {
        /// The borrower.
        borrower: Address,
        /// Its score now.
        score: u64,
        /// What the score allows across open lines.
        allowed: Amount,
        /// The limits of its open lines.
        committed: Amount,
        /// The limit asked for.
        limit: Amount,
    },
    /// No credit line has this id.
    #[error("unknown credit line {id}")]
    UnknownCreditLine {
        /// The id given.
        id: u64,
    },
    /// The line was repaid or defaulted.
    #[error("credit line {id} is closed ({status:?})")]
    CreditLineClosed {
        /// The line.
        id: u64,
        /// Repaid or defaulted.
        status: crate::economy::credit::LineStatus,
    },
    /// Only the line's borrower may draw or repay.
    #[error("only the borrower {borrower} of credit line {id} may draw or repay")]
    NotLineBorrower {
        /// The line.
        id: u64,
        /// Its borrower.
        borrower: Address,
    },
    /// Only the line's lender may mark it in default.
    #[error("only the lender {lender} of credit line {id} may mark it in default")]
    NotLineLender {
        /// The line.
        id: u64,
        /// Its lender.
        lender: Address,
    },
    /// Draws are refused from the due height on.
    #[error("credit line {id} was due at height {due_height}; this block is {height}")]
    CreditLineDue {
        /// The line.
        id: u64,
        /// Its due height.
        due_height: Height,
        /// This block's height.
        height: Height,
    },
    /// The draw would take the outstanding amount above the limit.
    #[error("credit line {id} has a limit of {limit} with {outstanding} outstanding; drawing {amount} more does not fit")]
    CreditLimitExceeded {
        /// The line.
        id: u64,
        /// Its limit.
        limit: Amount,
        /// Outstanding now.
        outstanding: Amount,
        /// Asked for.
        amount: Amount,
    },
    /// A repayment above what is outstanding.
    #[error("credit line {id} has {outstanding} outstanding; cannot repay {amount}")]
    RepayAboveOutstanding {
        /// The line.
        id: u64,
        /// Outstanding now.
        outstanding: Amount,
        /// Asked for.
        amount: Amount,
    },
    /// A default needs the due height reached and units outstanding.
    #[error("credit line {id} is not in default: due at height {due_height}, this block is {height}, {outstanding} outstanding")]
    NotInDefault {
        /// The line.
        id: u64,
        /// Its due height.
        due_height: Height,
        /// Outstanding now.
        outstanding: Amount,
        /// This block's height.
        height: Height,
    },
    /// The call needs the sender to be a registered partner.
    #[error("{account} is not a registered partner")]
    NotAPartner {
        /// The sender.
        account: Address,
    },
    /// Fees are paid in one asset; a sponsorship budget must be in it.
    #[error("asset {asset} is not the fee asset {fee_asset}")]
    NotFeeAsset {
        /// The asset given.
        asset: AssetId,
        /// The chain's fee asset.
        fee_asset: AssetId,
    },
    /// A partner pays its own fees already.
    #[error("a partner cannot sponsor its own fees")]
    SelfSponsorship,
    /// A zero budget withdraws a sponsorship, but there is none for this beneficiary.
    #[error("there is no sponsorship to withdraw for this beneficiary")]
    UnknownSponsorship,
    /// A credit line's due height would be past the last height there can be.
    #[error("due_period_blocks {due_period_blocks} puts the due height past the largest height")]
    DuePeriodTooLong {
        /// What was given.
        due_period_blocks: Height,
    },
    /// Only a member of the validator set in effect may propose or vote.
    #[error("{account} is not in the validator set")]
    NotAValidator {
        /// The sender.
        account: Address,
    },
    /// No proposal has this id.
    #[error("unknown proposal {id}")]
    UnknownProposal {
        /// The id given.
        id: u64,
    },
    /// The proposal was already decided (passed, rejected, expired, enacted).
    #[error("proposal {id} is {status}, not open for votes")]
    ProposalNotOpen {
        /// The proposal.
        id: u64,
        /// Its status (`passed`, `rejected`, `expired`, `enacted`, `not_enacted`).
        status: String,
    },
    /// A validator votes once per proposal.
    #[error("validator {validator} already voted on proposal {id}")]
    AlreadyVoted {
        /// The proposal.
        id: u64,
        /// The validator.
        validator: Address,
    },
    /// The proposal's voting ended at its deadline.
    #[error("voting on proposal {id} ended at height {deadline}; this block is {height}")]
    VotingClosed {
        /// The proposal.
        id: u64,
        /// Its deadline (the last height a vote counts).
        deadline: Height,
        /// This block's height.
        height: Height,
    },
    /// A proposal's deadline must be between this block and `height + max_blocks`.
    #[error("deadline {deadline} must be between this block's height {height} and {height} + {max_blocks}")]
    BadDeadline {
        /// The deadline given.
        deadline: Height,
        /// This block's height.
        height: Height,
        /// The longest voting period.
        max_blocks: Height,
    },
    /// A proposal's activation must be at most `max_blocks` after its deadline.
    #[error("activation {activation} is more than {max_blocks} blocks after the deadline {deadline} (this block is {height})")]
    BadActivation {
        /// The activation height given.
        activation: Height,
        /// This block's height.
        height: Height,
        /// The proposal's deadline.
        deadline: Height,
        /// The longest delay after the deadline.
        max_blocks: Height,
    },
    /// Too many proposals are open or waiting for their activation height.
    #[error("{max} proposals are already open or waiting to take effect")]
    TooManyProposals {
        /// The limit.
        max: u32,
    },
    /// The proposed change does not fit the chain's state or rules.
    #[error("invalid change: {reason}")]
    InvalidChange {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// No product has this id.
    #[error("unknown product {id}")]
    UnknownProduct {
        /// The id given.
        id: u64,
    },
    /// The product definition is not allowed.
    #[error("invalid product: {reason}")]
    InvalidProduct {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// An item's supply cap is reached.
    #[error("product {id} is sold out: all {supply_max} were sold")]
    SoldOut {
        /// The product.
        id: u64,
        /// Its supply cap.
        supply_max: u64,
    },
    /// No entitlement has this id (never issued, or revoked).
    #[error("unknown entitlement {id}")]
    UnknownEntitlement {
        /// The id given.
        id: u64,
    },
    /// Only the entitlement's owner may give or sell it.
    #[error("entitlement {id} is owned by {owner}")]
    NotEntitlementOwner {
        /// The entitlement.
        id: u64,
        /// Its owner.
        owner: Address,
    },
    /// Only the product's merchant may revoke its entitlements.
    #[error("product {product} is sold by {merchant}")]
    NotProductMerchant {
        /// The product.
        product: u64,
        /// Its merchant.
        merchant: Address,
    },
    /// The product's entitlements are bound to their owner.
    #[error("product {product}'s entitlements are bound to their owner")]
    NotTransferable {
        /// The product.
        product: u64,
    },
    /// The entitlement's pass has expired.
    #[error("entitlement {id} expired at {expires_at_ms} ms; this block is at {time_ms} ms")]
    EntitlementExpired {
        /// The entitlement.
        id: u64,
        /// When it expired (block time, ms).
        expires_at_ms: TimeMs,
        /// This block's time.
        time_ms: TimeMs,
    },
    /// A revocation must refund at least what the owner paid.
    #[error("entitlement {id} cost its owner {paid}; a refund of {refund} is too small")]
    RefundTooSmall {
        /// The entitlement.
        id: u64,
        /// What its owner paid.
        paid: Amount,
        /// The refund offered.
        refund: Amount,
    },
    /// No sale offer to this buyer at this price is open for the entitlement.
    #[error("entitlement {id} is not offered to {buyer} at {price}")]
    NoSuchOffer {
        /// The entitlement.
        id: u64,
        /// Who tried to accept.
        buyer: Address,
        /// The price accepted.
        price: Amount,
    },
    /// An account cannot give or sell an entitlement to itself.
    #[error("cannot transfer an entitlement to its own owner")]
    SelfTransfer,
    /// A subscription is bought with `Subscribe` and a mandate, not with `Buy`.
    #[error("product {product} is a subscription: subscribe with a mandate to its merchant")]
    SubscriptionProduct {
        /// The product.
        product: u64,
    },
    /// The product (or the entitlement's product) is not a subscription.
    #[error("product {product} is not a subscription")]
    NotASubscription {
        /// The product.
        product: u64,
    },
    /// The mandate is not the sender's to the product's merchant in the product's asset.
    #[error("mandate {mandate} is not the subscriber's mandate to product {product}'s merchant in its asset")]
    MandateNotForProduct {
        /// The mandate.
        mandate: u64,
        /// The product.
        product: u64,
    },
    /// A subscription is renewed only in the last tenth of its period or after it.
    #[error("entitlement {id} can be renewed from {renewable_from_ms} ms; this block is at {time_ms} ms")]
    RenewTooEarly {
        /// The entitlement.
        id: u64,
        /// The first block time a renewal is accepted.
        renewable_from_ms: TimeMs,
        /// This block's time.
        time_ms: TimeMs,
    },
    /// The subscription lapsed (a renewal charge failed); it is not renewed again.
    #[error("entitlement {id}'s subscription has lapsed")]
    SubscriptionEnded {
        /// The entitlement.
        id: u64,
    },
    /// No metered session has this id.
    #[error("unknown metered session {id}")]
    UnknownMeter {
        /// The session.
        id: u64,
    },
    /// A session's terms are out of bounds.
    #[error("invalid metered session: {reason}")]
    InvalidMeter {
        /// What is wrong.
        reason: String,
    },
    /// The session is closed: nothing more is claimed or refunded.
    #[error("metered session {id} is closed")]
    MeterClosed {
        /// The session.
        id: u64,
    },
    /// Only the session's merchant claims its receipts.
    #[error("only metered session {id}'s merchant {merchant} claims its receipts")]
    NotMeterMerchant {
        /// The session.
        id: u64,
        /// Its merchant.
        merchant: Address,
    },
    /// Only the session's merchant or user closes it.
    #[error("only metered session {id}'s merchant or user closes it")]
    NotMeterParty {
        /// The session.
        id: u64,
    },
    /// The receipt is not signed by the session's user (for this session, these units
    /// and this chain).
    #[error("the receipt for metered session {id} is not signed by its user")]
    BadMeterReceipt {
        /// The session.
        id: u64,
    },
    /// The receipt counts no more units than were already claimed.
    #[error("stale receipt for metered session {id}: {units} units, {claimed} already claimed")]
    StaleMeterReceipt {
        /// The session.
        id: u64,
        /// The receipt's units.
        units: u64,
        /// Units already claimed.
        claimed: u64,
    },
    /// The receipt's units cost more than the session's budget.
    #[error("metered session {id}: {units} units at {unit_price} exceed the budget of {budget}")]
    MeterBudgetExceeded {
        /// The session.
        id: u64,
        /// The receipt's units.
        units: u64,
        /// The price of one unit.
        unit_price: Amount,
        /// The budget.
        budget: Amount,
    },
    /// The user closes a session alone only from its expiry on.
    #[error("metered session {id} can be closed by its user from {expires_at_ms} ms; this block is at {time_ms} ms")]
    MeterNotExpired {
        /// The session.
        id: u64,
        /// Its expiry.
        expires_at_ms: TimeMs,
        /// This block's time.
        time_ms: TimeMs,
    },
    /// The sender is not a partner with the attester role.
    #[error("{account} is not an attester partner")]
    NotAnAttester {
        /// The sender.
        account: Address,
    },
    /// A claim or its expiry is out of bounds.
    #[error("invalid claim: {reason}")]
    InvalidClaim {
        /// What is wrong.
        reason: String,
    },
    /// No attestation has this id.
    #[error("unknown attestation {id}")]
    UnknownAttestation {
        /// The attestation.
        id: u64,
    },
    /// Only an attestation's attester revokes it.
    #[error("only attestation {id}'s attester {attester} revokes it")]
    NotAttestationAttester {
        /// The attestation.
        id: u64,
        /// Its attester.
        attester: Address,
    },
    /// The attestation was already revoked.
    #[error("attestation {id} is already revoked")]
    AttestationAlreadyRevoked {
        /// The attestation.
        id: u64,
    },
    /// The subject holds the most live attestations of this kind of claim.
    #[error("{subject} holds {max} live attestations of this kind of claim already")]
    TooManyAttestations {
        /// The subject.
        subject: Address,
        /// The bound.
        max: u32,
    },
    /// The product requires a claim the account does not hold (no unrevoked, unexpired
    /// attestation of it by an attester).
    #[error("product {product} requires {claim}: {account} holds no valid attestation of it")]
    ClaimRequired {
        /// The product.
        product: u64,
        /// The account that would acquire it.
        account: Address,
        /// The missing claim.
        claim: crate::identity::Claim,
    },
    /// The read node key is not a valid ed25519 key.
    #[error("{key} is not a valid ed25519 key for a node")]
    InvalidNodeKey {
        /// The key.
        key: Address,
    },
    /// A validator's key cannot be registered as a read node: it connects as a
    /// validator already.
    #[error("{key} is a validator's key, not a read node's")]
    NodeKeyIsValidator {
        /// The key.
        key: Address,
    },
    /// The node key is registered already (by this or another partner).
    #[error("node {key} is registered already, by partner {partner}")]
    NodeAlreadyRegistered {
        /// The key.
        key: Address,
        /// The partner that registered it.
        partner: Address,
    },
    /// The partner holds the most read nodes already.
    #[error("partner {partner} has {max} read nodes registered already")]
    TooManyNodes {
        /// The partner.
        partner: Address,
        /// The bound.
        max: u32,
    },
    /// No read node is registered with this key.
    #[error("no read node {key} is registered")]
    UnknownNode {
        /// The key.
        key: Address,
    },
    /// Only the partner that registered a read node may unregister it.
    #[error("read node {key} belongs to partner {partner}")]
    NotNodeOwner {
        /// The key.
        key: Address,
        /// The partner that registered it.
        partner: Address,
    },
    /// A carrier line's cap is above the consortium's maximum.
    #[error("a carrier line's cap of {cap} is above the maximum of {max}")]
    LineCapAboveMax {
        /// The cap asked for.
        cap: Amount,
        /// The governance parameter `carrier_line_cap_max`.
        max: Amount,
    },
    /// A carrier line's terms are out of bounds.
    #[error("invalid carrier line: {reason}")]
    InvalidCarrierLine {
        /// What is wrong.
        reason: String,
    },
    /// No carrier line has this id.
    #[error("unknown carrier line {line}")]
    UnknownCarrierLine {
        /// The line.
        line: u64,
    },
    /// The carrier already has a line for this user.
    #[error("carrier {carrier} already has line {line} for {user}")]
    CarrierLineExists {
        /// The carrier.
        carrier: Address,
        /// The user.
        user: Address,
        /// The existing line.
        line: u64,
    },
    /// Only the line's user charges it or pays its statement.
    #[error("only carrier line {line}'s user {user} may do this")]
    NotLineUser {
        /// The line.
        line: u64,
        /// Its user.
        user: Address,
    },
    /// Only the line's carrier may do this.
    #[error("only carrier line {line}'s carrier {carrier} may do this")]
    NotLineCarrier {
        /// The line.
        line: u64,
        /// Its carrier.
        carrier: Address,
    },
    /// The carrier suspended the line: nothing can be charged to it.
    #[error("carrier line {line} is suspended")]
    CarrierLineSuspended {
        /// The line.
        line: u64,
    },
    /// The charge would take the period's total above the line's cap.
    #[error("carrier line {line} period {period}: {charged} charged of a {cap} cap, {amount} more would exceed it")]
    LineCapExceeded {
        /// The line.
        line: u64,
        /// The period (0 from the line's opening).
        period: u64,
        /// The cap per period.
        cap: Amount,
        /// Already charged in the period.
        charged: Amount,
        /// The charge refused.
        amount: Amount,
    },
    /// The period has not ended yet (or is unknown): its statement cannot be settled
    /// or called unpaid.
    #[error("carrier line {line} period {period} ends at {ends_at_ms} ms: not over yet")]
    LinePeriodNotOver {
        /// The line.
        line: u64,
        /// The period.
        period: u64,
        /// Its end (block time, ms).
        ends_at_ms: TimeMs,
    },
    /// The period has no unsettled charges.
    #[error("carrier line {line} period {period} has nothing unpaid")]
    NothingUnpaid {
        /// The line.
        line: u64,
        /// The period.
        period: u64,
    },
    /// The line is not suspended.
    #[error("carrier line {line} is not suspended")]
    CarrierLineNotSuspended {
        /// The line.
        line: u64,
    },
    /// A partner's policy requires a claim the account does not hold (no valid,
    /// unexpired, unrevoked attestation of it).
    #[error("the policy for {scope} requires {claim}: {account} holds no valid attestation of it")]
    PolicyClaimRequired {
        /// What the policy covers (the partner whose policy it is: the lender or
        /// carrier opening the line, the redeemed asset's issuer).
        scope: crate::goods::policy::ClaimScope,
        /// The account that lacks the claim.
        account: Address,
        /// The missing claim.
        claim: crate::identity::Claim,
    },
    /// The equivocation evidence does not prove anything.
    #[error("invalid evidence: {reason}")]
    InvalidEvidence {
        /// What is wrong.
        reason: String,
    },
    /// Evidence against this validator at this height is already recorded.
    #[error("evidence against {validator} at height {height} is already recorded")]
    EvidenceAlreadyReported {
        /// The validator.
        validator: Address,
        /// The height.
        height: Height,
    },
}

/// How a transaction ended.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call succeeded.
    Success,
    /// The call failed: only the fee and the nonce changed.
    Failed(CallError),
    /// The transaction was not valid at this height (nonce, expiry, fee): nothing changed.
    Invalid(TxError),
}

/// The result of one transaction in a block.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction's hash.
    pub tx: Hash,
    /// Success, or why not.
    pub outcome: Outcome,
    /// The fee charged (0 for an invalid transaction).
    pub fee: Amount,
    /// What happened, in order.
    pub events: Vec<Event>,
}

impl Receipt {
    /// Whether the call succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self.outcome, Outcome::Success)
    }
}
