//! Why a chain spec cannot be loaded, or does not describe a valid chain.

use std::path::PathBuf;

use jeon_runtime::{Address, AssetId, Role};

use crate::peer_id::PeerIdError;

/// Everything that can be wrong with a genesis file. Each variant names what to fix.
///
/// Validation stops at the first problem, checking in a fixed order (chain name,
/// parameters, economy, jurisdictions, partners, validators, assets, balances, fee
/// asset), so the same spec always reports the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The file could not be read.
    #[error("cannot read genesis file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// The text is not JSON of the spec's shape: a syntax error, a wrong type, or a
    /// malformed value. A malformed address surfaces here, with the address's own
    /// message.
    #[error("line {line} column {column}: {message}")]
    Json {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A field the spec does not define (often a typo of one it does).
    #[error("unknown field {field:?} at line {line} column {column}")]
    UnknownField {
        /// The field found.
        field: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A required field is absent.
    #[error("missing field {field:?} at line {line} column {column}")]
    MissingField {
        /// The field expected.
        field: String,
        /// 1-based line (of the end of the object that lacks it).
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// `chain_name` is empty.
    #[error("chain_name is empty")]
    EmptyChainName,
    /// `chain_name` is too long or uses characters outside `a-z`, `0-9`, `-`, `_`, `.`.
    #[error("invalid chain_name {name:?}: use 1 to {max} of a-z, 0-9, '-', '_', '.'")]
    InvalidChainName {
        /// What was given.
        name: String,
        /// The longest name allowed.
        max: usize,
    },
    /// `params.block_txs_max` or `params.block_bytes_max` is zero: no block could hold
    /// a transaction.
    #[error("params.{field} is zero: blocks could hold no transaction")]
    ZeroBlockLimit {
        /// The parameter at fault.
        field: &'static str,
    },
    /// `params.block_bytes_max` exceeds what a node accepts as one block.
    #[error("params.block_bytes_max {got} exceeds the node's block limit of {max} bytes")]
    BlockBytesTooLarge {
        /// What was given.
        got: u32,
        /// The limit.
        max: usize,
    },
    /// A partner's name is empty or too long.
    #[error("invalid partner name {name:?} for {account}: use 1 to {max} bytes")]
    InvalidPartnerName {
        /// What was given.
        name: String,
        /// The partner's account.
        account: Address,
        /// The longest name allowed.
        max: usize,
    },
    /// Two partners share an account.
    #[error("duplicate partner account {account}")]
    DuplicatePartner {
        /// The account listed twice.
        account: Address,
    },
    /// A partner has an empty role list.
    #[error("partner {name:?} has no roles")]
    NoRoles {
        /// The partner's name.
        name: String,
    },
    /// A partner lists a role twice.
    #[error("partner {name:?} lists role {role:?} twice")]
    DuplicateRole {
        /// The partner's name.
        name: String,
        /// The role repeated.
        role: Role,
    },
    /// A jurisdiction is not an ISO 3166-1 alpha-2 country code such as "KR".
    #[error("partner {name:?} has invalid jurisdiction {jurisdiction:?}: use a two-letter country code such as \"KR\"")]
    InvalidJurisdiction {
        /// The partner's name.
        name: String,
        /// What was given.
        jurisdiction: String,
    },
    /// The validator list is empty: no one could produce a block.
    #[error("no validators: at least one is needed to produce blocks")]
    NoValidators,
    /// More validators than the consensus core supports: the node would refuse to start.
    #[error("{count} validators listed; at most {max} are supported")]
    TooManyValidators {
        /// How many were listed.
        count: usize,
        /// The most allowed (the consensus core's limit).
        max: usize,
    },
    /// A validator's name is empty, too long, or not a slug.
    #[error("invalid validator name {name:?}: use 1 to {max} of a-z, 0-9, '-'")]
    InvalidValidatorName {
        /// What was given.
        name: String,
        /// The longest name allowed.
        max: usize,
    },
    /// Two validators share a name.
    #[error("duplicate validator name {name:?}")]
    DuplicateValidatorName {
        /// The name listed twice.
        name: String,
    },
    /// Two validators share a key.
    #[error("duplicate validator key {key}")]
    DuplicateValidatorKey {
        /// The key listed twice.
        key: Address,
    },
    /// A validator key is not a usable ed25519 public key: not a curve point, or of
    /// small order (under the ZIP-215 signature rule anyone can sign for a small-order
    /// key: s = 0 with a small-order R verifies on any message).
    #[error("validator {name:?} key {key} is not a valid ed25519 public key")]
    InvalidValidatorKey {
        /// The validator.
        name: String,
        /// Its key.
        key: Address,
    },
    /// A validator has no voting power.
    #[error("validator {name:?} has zero voting power")]
    ZeroPower {
        /// The validator.
        name: String,
    },
    /// The voting powers sum to more than consensus can count.
    #[error("total voting power {total} exceeds the maximum of {max}")]
    TotalPowerTooLarge {
        /// The sum (saturating).
        total: u64,
        /// The maximum.
        max: u64,
    },
    /// A validator's peer id is not the libp2p id of an ed25519 key.
    #[error("validator {name:?} has malformed peer id {peer_id:?}: {source}")]
    MalformedPeerId {
        /// The validator.
        name: String,
        /// What was given.
        peer_id: String,
        /// What is wrong with it.
        source: PeerIdError,
    },
    /// Two validators share a peer id.
    #[error("duplicate validator peer id {peer_id}")]
    DuplicatePeerId {
        /// The peer id listed twice.
        peer_id: String,
    },
    /// A validator's key is not the account of a partner with the `validator` role:
    /// every validator must be run by a registered, accountable partner.
    #[error(
        "validator {name:?} key {key} is not the account of a partner with the validator role"
    )]
    ValidatorNotPartner {
        /// The validator.
        name: String,
        /// Its key.
        key: Address,
    },
    /// Two assets share an id.
    #[error("duplicate asset id {id}")]
    DuplicateAssetId {
        /// The id listed twice.
        id: AssetId,
    },
    /// The asset id `u32::MAX` is reserved: the next created asset would have no id.
    #[error("asset id {id} is too large: the largest genesis asset id is {max}")]
    AssetIdTooLarge {
        /// What was given.
        id: AssetId,
        /// The largest allowed.
        max: u32,
    },
    /// Two assets share a symbol.
    #[error("duplicate asset symbol {symbol:?}")]
    DuplicateSymbol {
        /// The symbol listed twice.
        symbol: String,
    },
    /// A symbol is not 1 to 12 of `A-Z`, `0-9`.
    #[error("invalid asset symbol {symbol:?}: use 1 to 12 of A-Z, 0-9")]
    InvalidSymbol {
        /// What was given.
        symbol: String,
    },
    /// An asset has more decimals than a u64 amount can show.
    #[error("asset {symbol} has {decimals} decimals; the maximum is {max}")]
    TooManyDecimals {
        /// The asset.
        symbol: String,
        /// What was given.
        decimals: u8,
        /// The maximum.
        max: u8,
    },
    /// An asset's issuer is not a partner with the `issuer` role.
    #[error("unknown issuer {issuer} for asset {symbol}: not a partner with the issuer role")]
    UnknownIssuer {
        /// The asset.
        symbol: String,
        /// The issuer given.
        issuer: Address,
    },
    /// A balance names an asset the spec does not define.
    #[error("balance of {account} is in unknown asset {asset}")]
    UnknownBalanceAsset {
        /// The holder.
        account: Address,
        /// The asset id given.
        asset: AssetId,
    },
    /// A balance is zero: zero balances are not stored, so list only non-zero ones.
    #[error("balance of {account} in asset {asset} is zero; list only non-zero balances")]
    ZeroBalance {
        /// The holder.
        account: Address,
        /// The asset.
        asset: AssetId,
    },
    /// One account has two balances of one asset.
    #[error("duplicate balance of {account} in asset {asset}")]
    DuplicateBalance {
        /// The holder.
        account: Address,
        /// The asset.
        asset: AssetId,
    },
    /// The sum of an asset's balances does not fit a u64.
    #[error("the balances of asset {symbol} sum to more than {max}", max = u64::MAX)]
    SupplyOverflow {
        /// The asset.
        symbol: String,
    },
    /// `params.fee_asset` is not one of the spec's assets.
    #[error("params.fee_asset {asset} is not one of the spec's assets")]
    UnknownFeeAsset {
        /// The id given.
        asset: AssetId,
    },
    /// Building the initial state failed in storage (a bug: genesis writes to memory).
    #[error("building the genesis state failed: {reason}")]
    State {
        /// What the state layer said.
        reason: String,
    },
    /// A preset was asked for a key its [`crate::presets::PresetKeys`] does not hold.
    #[error("preset key {name:?} is missing")]
    PresetKeyMissing {
        /// The key's name.
        name: String,
    },
    /// `economy.redemption_window_blocks` is zero or too large.
    #[error("economy.redemption_window_blocks {got} is out of range: use 1 to {max}")]
    InvalidRedemptionWindow {
        /// What was given.
        got: u64,
        /// The largest allowed.
        max: u64,
    },
    /// A product cannot be defined as given.
    #[error("products[{index}]: {reason}")]
    InvalidProduct {
        /// Its position in `products`.
        index: usize,
        /// Why, as `CreateProduct` would refuse it.
        reason: String,
    },
    /// The fee market's parameters break one of its rules.
    #[error("invalid fee_market: {reason}")]
    InvalidFeeMarket {
        /// Which rule, naming the field.
        reason: jeon_runtime::fees::FeeMarketError,
    },
    /// A jurisdiction code is not two letters `A-Z`.
    #[error("invalid jurisdiction code {code:?}: use a two-letter country code such as \"KR\"")]
    InvalidJurisdictionCode {
        /// What was given.
        code: String,
    },
    /// Two jurisdictions share a code.
    #[error("duplicate jurisdiction {code:?}")]
    DuplicateJurisdiction {
        /// The code listed twice.
        code: String,
    },
    /// A jurisdiction's tax rate is above 100 %.
    #[error("jurisdiction {code:?} has tax_bps {tax_bps}; the maximum is {max} (100 %)")]
    TaxRateTooHigh {
        /// The jurisdiction.
        code: String,
        /// What was given.
        tax_bps: u16,
        /// The maximum.
        max: u16,
    },
    /// A merchant partner's jurisdiction is not in `jurisdictions`, so its payments
    /// could not be taxed.
    #[error("merchant {name:?} is in jurisdiction {jurisdiction:?}, which `jurisdictions` does not list")]
    UnknownMerchantJurisdiction {
        /// The partner's name.
        name: String,
        /// Its jurisdiction.
        jurisdiction: String,
    },
    /// An asset's `supply_max` is zero (omit it for no limit).
    #[error("asset {symbol} has supply_max 0; omit it for no limit")]
    ZeroSupplyMax {
        /// The asset.
        symbol: String,
    },
    /// An asset's genesis balances exceed its `supply_max`.
    #[error(
        "the balances of asset {symbol} sum to {supply}, above its supply_max of {supply_max}"
    )]
    SupplyAboveMax {
        /// The asset.
        symbol: String,
        /// The sum of its balances.
        supply: u64,
        /// Its limit.
        supply_max: u64,
    },
    /// An account reserved by the runtime (the escrow account) is used where an
    /// ordinary account is needed.
    #[error("{field} is the runtime's reserved escrow account {account}")]
    ReservedAccount {
        /// Where it was used, e.g. "params.fee_collector".
        field: String,
        /// The account.
        account: Address,
    },
}
