//! The chain's domain records: assets, partners, parameters, events and receipts.

use serde::{Deserialize, Serialize};

use crate::tx::TxError;
use crate::types::{Address, Amount, AssetId, Hash};

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
    /// Units in existence: always the sum of all balances of this asset.
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
    /// The flat fee per transaction, in the fee asset's smallest unit.
    pub fee_flat: Amount,
    /// The account that receives fees.
    pub fee_collector: Address,
    /// The most transactions in one block.
    pub block_txs_max: u32,
    /// The most encoded bytes of transactions in one block.
    pub block_bytes_max: u32,
}

/// Something that happened, recorded in a receipt and streamed to clients.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A fee was charged.
    FeeCharged {
        /// Who paid.
        payer: Address,
        /// In which asset.
        asset: AssetId,
        /// How much.
        amount: Amount,
    },
    /// Units moved between accounts.
    Transferred {
        /// Sender.
        from: Address,
        /// Recipient.
        to: Address,
        /// Asset.
        asset: AssetId,
        /// Units.
        amount: Amount,
    },
    /// A partner created an asset.
    AssetCreated {
        /// The new asset's id.
        asset: AssetId,
        /// Its issuer.
        issuer: Address,
        /// Its symbol.
        symbol: String,
    },
    /// The issuer created units.
    Minted {
        /// Asset.
        asset: AssetId,
        /// Recipient.
        to: Address,
        /// Units.
        amount: Amount,
    },
    /// A holder destroyed units.
    Burned {
        /// Asset.
        asset: AssetId,
        /// Holder.
        from: Address,
        /// Units.
        amount: Amount,
    },
}

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
