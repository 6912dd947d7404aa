//! The API's response types and error codes, defined once: the server builds its
//! answers from them, the CLI's client and `jeon bench` read answers into them, and
//! the OpenAPI document ([`super::openapi`]) is derived from them.
//!
//! Types of the runtime (records, receipts, events, headers) appear as they serialize
//! (docs/encoding.md, "JSON forms"); the document shows them as JSON objects and hashes
//! and addresses as strings.

use jeon_runtime::economy::mandate::MandateStatus;
use jeon_runtime::economy::rewards::RewardRule;
use jeon_runtime::goods::{Entitlement, EntitlementStatus, MeterSession, Product};
use jeon_runtime::identity::{Attestation, Claim};
use jeon_runtime::{
    Address, Amount, AssetId, AssetInfo, AssetKind, Hash, Height, Nonce, Receipt, SignedTx,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Every error code the API answers with: stable strings (docs/api.md, "Errors"), so
/// clients can act on them. Variants serialize to the strings shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON of the route's shape, or has unknown fields.
    MalformedJson,
    /// The body could not be read.
    BadBody,
    /// The body exceeds `BODY_BYTES_MAX`.
    BodyTooLarge,
    /// The body did not arrive in time.
    RequestTimeout,
    /// This client submits faster than its limit.
    RateLimited,
    /// A batch over `TXS_BATCH_MAX`.
    BatchTooLarge,
    /// A transaction is not hex.
    BadHex,
    /// Bytes that are not a transaction.
    MalformedTx,
    /// Another chain's transaction.
    WrongChain,
    /// The sender's signature does not verify.
    BadSignature,
    /// The nonce is used.
    StaleNonce,
    /// The nonce is ahead (only inside receipts).
    FutureNonce,
    /// Past its expiry.
    Expired,
    /// `fee_limit` below the fee.
    FeeTooLow,
    /// The payer cannot pay the fee.
    CannotPayFee,
    /// `fee_payer` is the sender.
    PayerIsSender,
    /// A payer signature without a payer.
    UnexpectedPayerSignature,
    /// The payer's signature does not verify.
    BadPayerSignature,
    /// The named payer neither signed nor sponsors.
    NotSponsored,
    /// The sponsorship's budget is spent.
    SponsorBudgetExhausted,
    /// The nonce is too far ahead.
    NonceTooFarAhead,
    /// The sender has too many transactions behind a nonce gap.
    TooManyFutureTxs,
    /// The mempool's share for waiting transactions is full.
    FutureTxsFull,
    /// Already pending.
    Duplicate,
    /// Another pending transaction has this nonce.
    NonceTaken,
    /// The mempool is full.
    MempoolFull,
    /// The sender has too many pending transactions.
    SenderQueueFull,
    /// Not a transaction hash.
    BadHash,
    /// Not an address.
    BadAddress,
    /// Not a height.
    BadHeight,
    /// No such account.
    UnknownAccount,
    /// No such asset.
    UnknownAsset,
    /// No final block there.
    UnknownBlock,
    /// The block was pruned.
    Pruned,
    /// The transaction is not final: no proof.
    NotFinal,
    /// No such route.
    NotFound,
    /// The route takes another method.
    MethodNotAllowed,
    /// A CORS preflight from an origin the node does not allow.
    OriginNotAllowed,
    /// Too many event streams.
    TooManySubscribers,
    /// `Last-Event-ID` is not `HEIGHT-N`.
    BadEventId,
    /// A query parameter is malformed, unknown, missing or out of range.
    BadQuery,
    /// A day range is inverted or too long.
    BadRange,
    /// No such jurisdiction.
    UnknownJurisdiction,
    /// A proposal id is not a decimal u64.
    BadProposalId,
    /// No such proposal.
    UnknownProposal,
    /// The state holds no validator set record.
    NoValidatorSet,
    /// A product or entitlement id is not a decimal u64.
    BadId,
    /// No such product.
    UnknownProduct,
    /// No such entitlement (never issued, or revoked).
    UnknownEntitlement,
    /// No such metered session.
    UnknownMeter,
    /// No such attestation.
    UnknownAttestation,
    /// No such carrier line.
    UnknownCarrierLine,
    /// The head did not settle in time.
    Busy,
    /// Consensus is paused: the disk is full.
    DiskFull,
    /// A stored record is damaged.
    StorageCorrupt,
    /// Storage failure or a bug.
    Internal,
    /// Not ready: a networked node has no peer connected.
    NoPeers,
    /// Not ready: peers are further ahead than the node may lag.
    CatchingUp,
}

impl ErrorCode {
    /// Every code, in the order of docs/api.md's table.
    pub const ALL: [ErrorCode; 58] = [
        ErrorCode::MalformedJson,
        ErrorCode::BadBody,
        ErrorCode::BodyTooLarge,
        ErrorCode::RequestTimeout,
        ErrorCode::RateLimited,
        ErrorCode::BatchTooLarge,
        ErrorCode::BadHex,
        ErrorCode::MalformedTx,
        ErrorCode::WrongChain,
        ErrorCode::BadSignature,
        ErrorCode::Expired,
        ErrorCode::FeeTooLow,
        ErrorCode::CannotPayFee,
        ErrorCode::PayerIsSender,
        ErrorCode::UnexpectedPayerSignature,
        ErrorCode::BadPayerSignature,
        ErrorCode::NotSponsored,
        ErrorCode::SponsorBudgetExhausted,
        ErrorCode::StaleNonce,
        ErrorCode::FutureNonce,
        ErrorCode::NonceTooFarAhead,
        ErrorCode::TooManyFutureTxs,
        ErrorCode::FutureTxsFull,
        ErrorCode::Duplicate,
        ErrorCode::NonceTaken,
        ErrorCode::MempoolFull,
        ErrorCode::SenderQueueFull,
        ErrorCode::BadHash,
        ErrorCode::BadAddress,
        ErrorCode::BadHeight,
        ErrorCode::UnknownAccount,
        ErrorCode::UnknownAsset,
        ErrorCode::UnknownBlock,
        ErrorCode::Pruned,
        ErrorCode::NotFinal,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::OriginNotAllowed,
        ErrorCode::TooManySubscribers,
        ErrorCode::BadEventId,
        ErrorCode::BadQuery,
        ErrorCode::BadRange,
        ErrorCode::UnknownJurisdiction,
        ErrorCode::BadProposalId,
        ErrorCode::UnknownProposal,
        ErrorCode::NoValidatorSet,
        ErrorCode::BadId,
        ErrorCode::UnknownProduct,
        ErrorCode::UnknownEntitlement,
        ErrorCode::UnknownMeter,
        ErrorCode::UnknownAttestation,
        ErrorCode::UnknownCarrierLine,
        ErrorCode::Busy,
        ErrorCode::DiskFull,
        ErrorCode::StorageCorrupt,
        ErrorCode::Internal,
        ErrorCode::NoPeers,
        ErrorCode::CatchingUp,
    ];

    /// The stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::BadBody => "bad_body",
            ErrorCode::BodyTooLarge => "body_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::BadHex => "bad_hex",
            ErrorCode::MalformedTx => "malformed_tx",
            ErrorCode::WrongChain => "wrong_chain",
            ErrorCode::BadSignature => "bad_signature",
            ErrorCode::StaleNonce => "stale_nonce",
            ErrorCode::FutureNonce => "future_nonce",
            ErrorCode::Expired => "expired",
            ErrorCode::FeeTooLow => "fee_too_low",
            ErrorCode::CannotPayFee => "cannot_pay_fee",
            ErrorCode::PayerIsSender => "payer_is_sender",
            ErrorCode::UnexpectedPayerSignature => "unexpected_payer_signature",
            ErrorCode::BadPayerSignature => "bad_payer_signature",
            ErrorCode::NotSponsored => "not_sponsored",
            ErrorCode::SponsorBudgetExhausted => "sponsor_budget_exhausted",
            ErrorCode::NonceTooFarAhead => "nonce_too_far_ahead",
            ErrorCode::TooManyFutureTxs => "too_many_future_txs",
            ErrorCode::FutureTxsFull => "future_txs_full",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::NonceTaken => "nonce_taken",
            ErrorCode::MempoolFull => "mempool_full",
            ErrorCode::SenderQueueFull => "sender_queue_full",
            ErrorCode::BadHash => "bad_hash",
            ErrorCode::BadAddress => "bad_address",
            ErrorCode::BadHeight => "bad_height",
            ErrorCode::UnknownAccount => "unknown_account",
            ErrorCode::UnknownAsset => "unknown_asset",
            ErrorCode::UnknownBlock => "unknown_block",
            ErrorCode::Pruned => "pruned",
            ErrorCode::NotFinal => "not_final",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::TooManySubscribers => "too_many_subscribers",
            ErrorCode::BadEventId => "bad_event_id",
            ErrorCode::BadQuery => "bad_query",
            ErrorCode::BadRange => "bad_range",
            ErrorCode::UnknownJurisdiction => "unknown_jurisdiction",
            ErrorCode::BadProposalId => "bad_proposal_id",
            ErrorCode::UnknownProposal => "unknown_proposal",
            ErrorCode::NoValidatorSet => "no_validator_set",
            ErrorCode::BadId => "bad_id",
            ErrorCode::UnknownProduct => "unknown_product",
            ErrorCode::UnknownEntitlement => "unknown_entitlement",
            ErrorCode::UnknownMeter => "unknown_meter",
            ErrorCode::UnknownAttestation => "unknown_attestation",
            ErrorCode::UnknownCarrierLine => "unknown_carrier_line",
            ErrorCode::Busy => "busy",
            ErrorCode::DiskFull => "disk_full",
            ErrorCode::StorageCorrupt => "storage_corrupt",
            ErrorCode::Internal => "internal",
            ErrorCode::NoPeers => "no_peers",
            ErrorCode::CatchingUp => "catching_up",
        }
    }

    /// The code of a stable string, if it is one.
    pub fn from_str_code(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error answer: `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The stable code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: act on it.
    pub code: ErrorCode,
    /// For people; may change.
    pub message: String,
}

/// `POST /v1/txs`'s body (decoded by `api::requests::SubmitBody`, which the fuzz
/// crate compiles alone; this is its shape in the document and for clients).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// Hex of the transaction's canonical bytes (docs/encoding.md §3).
    pub tx: String,
}

/// `POST /v1/txs/batch`'s body.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Up to 10 000 transactions, each as in [`SubmitRequest::tx`].
    pub txs: Vec<String>,
}

/// `202` of `POST /v1/txs`: admitted to the mempool (not final).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitAnswer {
    /// The transaction's hash.
    #[schema(value_type = String)]
    pub hash: Hash,
}

/// `202` of `POST /v1/txs/batch`: one result per transaction, in order.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchAnswer {
    /// Each transaction's hash, or why it was refused.
    pub results: Vec<BatchItem>,
}

/// One transaction's result in a batch.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    /// Admitted.
    Admitted(SubmitAnswer),
    /// Refused, with the error it would have had alone.
    Refused(ErrorBody),
}

/// A transaction's status, as `GET /v1/txs/{hash}` returns it.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct TxStatus {
    /// The hash asked about.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// `pending`, `final`, `rejected` or `unknown`.
    pub status: String,
    /// Height of the block that holds it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u64>,
    /// Its position in the block.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub index: Option<u32>,
    /// Its receipt.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<Object>)]
    pub receipt: Option<Receipt>,
    /// Why it was rejected.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Who sent it (pending or final).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<String>)]
    pub sender: Option<Address>,
    /// The call's kind (`transfer`, `pay_invoice`, ...).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    /// The call with its arguments (docs/encoding.md, JSON forms).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<Object>)]
    pub call: Option<Value>,
    /// The time of the block that holds it (ms since the Unix epoch).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_ms: Option<u64>,
}

impl TxStatus {
    /// Fills in the sender and the call of `tx`.
    pub fn describe(&mut self, tx: &SignedTx) {
        self.sender = Some(tx.body.sender);
        let call = serde_json::to_value(&tx.body.call).ok();
        self.kind = call.as_ref().and_then(variant_name);
        self.call = call;
    }
}

/// The variant of an externally tagged enum's JSON: `"name"` or `{"name": {...}}`.
pub fn variant_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) if o.len() == 1 => o.keys().next().cloned(),
        _ => None,
    }
}

/// `GET /v1/txs/{hash}/proof`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TxProofAnswer {
    /// The transaction's hash.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// The block that holds it.
    pub height: Height,
    /// Its position in the block.
    pub index: u32,
    /// Hex of the proof's canonical bytes (docs/proofs.md).
    pub proof_hex: String,
    /// The proof as JSON.
    #[schema(value_type = Object)]
    pub proof: Value,
}

/// `GET /v1/entitlements/{id}/proof`, `GET /v1/attestations/{id}/proof`: a state
/// proof (docs/proofs.md §9).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StateProofAnswer {
    /// The state key, hex.
    pub key: String,
    /// The proved state is the one after this block.
    pub height: Height,
    /// The block whose certificate certifies it (`height + 1`: the node's head).
    pub certified_by: Height,
    /// Whether the entry is present (`false`: the proof shows it absent, e.g. revoked).
    pub present: bool,
    /// Hex of the proof's canonical bytes.
    pub proof_hex: String,
    /// The proof as JSON.
    #[schema(value_type = Object)]
    pub proof: Value,
}

/// `GET /v1/accounts/{addr}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountView {
    /// The account.
    #[schema(value_type = String)]
    pub address: Address,
    /// The next nonce it must use.
    pub nonce: Nonce,
    /// What it holds.
    pub balances: Vec<BalanceView>,
    /// Its partner record, if it is a partner.
    #[schema(value_type = Option<Object>)]
    pub partner: Option<Value>,
}

impl AccountView {
    /// The balance of `asset` (0 if none is held).
    pub fn balance(&self, asset: AssetId) -> Amount {
        self.balances
            .iter()
            .find(|b| b.asset == asset)
            .map_or(0, |b| b.amount)
    }
}

/// One balance.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceView {
    /// The asset's id.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// Its symbol.
    pub symbol: Option<String>,
    /// Units held.
    pub amount: Amount,
}

/// `GET /v1/assets/{id}` and each entry of `GET /v1/assets`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AssetView {
    /// The asset's id.
    #[schema(value_type = u32)]
    pub id: AssetId,
    /// Its symbol.
    pub symbol: String,
    /// Decimal places of its smallest unit.
    pub decimals: u8,
    /// The partner that issues it.
    #[schema(value_type = String)]
    pub issuer: Address,
    /// `money` or `credit`.
    #[schema(value_type = String)]
    pub kind: AssetKind,
    /// Units in existence.
    pub supply: Amount,
}

impl AssetView {
    /// The view of a stored asset.
    pub fn of(a: &AssetInfo) -> AssetView {
        AssetView {
            id: a.id,
            symbol: a.symbol.clone(),
            decimals: a.decimals,
            issuer: a.issuer,
            kind: a.kind,
            supply: a.supply,
        }
    }
}

/// `GET /v1/assets`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AssetsView {
    /// Every asset, by id.
    pub assets: Vec<AssetView>,
}

/// `GET /v1/blocks/latest` and `GET /v1/blocks/{height}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    /// The block's height.
    pub height: Height,
    /// The header's hash.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// The header (docs/encoding.md).
    #[schema(value_type = Object)]
    pub header: Value,
    /// The transactions' hashes, in order.
    #[schema(value_type = Vec<String>)]
    pub txs: Vec<Hash>,
    /// The commit certificate.
    #[schema(value_type = Object)]
    pub certificate: Value,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusView {
    /// The chain id (genesis hash) transactions must carry.
    #[schema(value_type = String)]
    pub chain_id: Hash,
    /// The last final block's height.
    pub height: Height,
    /// Its hash.
    #[schema(value_type = String)]
    pub block_hash: Hash,
    /// The state commitment after it.
    #[schema(value_type = String)]
    pub app_hash: Hash,
    /// Its time (ms since the Unix epoch).
    pub time_ms: u64,
    /// Transactions pending in this node's mempool.
    pub mempool_txs: usize,
    /// Validators in the set.
    pub validators: usize,
    /// What this node is: `validator` (its key is in the set signing the height in
    /// progress) or `read` (it follows the chain, serves the API and forwards
    /// transactions, but never votes: a registered read node, or a node with no key).
    pub role: NodeRole,
    /// Whether, and why not, this node signs (`{"state": "active"}`, ...).
    #[schema(value_type = Object)]
    pub signing: Value,
    /// The fee schedule's headline.
    pub fee: FeeInfo,
    /// Resident set size, where the platform reports it.
    pub rss_bytes: Option<u64>,
    /// Peak resident set size, where the platform reports it.
    pub rss_peak_bytes: Option<u64>,
    /// Why consensus is paused (`disk_full`), or null.
    pub halted: Option<String>,
    /// Whether the data directory's disk is too full to commit.
    pub disk_full: bool,
    /// Free bytes on the data directory's disk.
    pub disk_free_bytes: u64,
}

/// A node's role in `GET /v1/status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// In the validator set: proposes and votes.
    Validator,
    /// A read replica: syncs blocks and serves the API, never votes.
    Read,
}

/// The fee headline of `GET /v1/status`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct FeeInfo {
    /// The asset fees are paid in.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// The next block's base fee.
    pub base_fee: Amount,
    /// The most the base fee can be.
    pub base_fee_max: Amount,
}

/// `GET /v1/ready` (200).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReadyView {
    /// Always true in a 200.
    pub ready: bool,
    /// The head's height.
    pub height: Height,
    /// Peers connected (0 on a node without p2p).
    pub peers: u64,
    /// The highest head a peer announced (0 before any, or without p2p).
    pub peer_height: Height,
}

/// `GET /v1/health` (200).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HealthView {
    /// Always true: an answer means the process serves.
    pub live: bool,
    /// The node's version.
    pub version: String,
    /// The head's height.
    pub height: Height,
}

/// `GET /v1/fees`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FeesView {
    /// The height the schedule is for (the next block).
    pub height: Height,
    /// The asset fees are paid in.
    #[schema(value_type = u32)]
    pub fee_asset: AssetId,
    /// The next block's base fee.
    pub base_fee: Amount,
    /// The fee market's parameters, if the chain has one.
    #[schema(value_type = Option<Object>)]
    pub market: Option<Value>,
    /// The account's standing, when `account` was given.
    pub account: Option<AccountFeeView>,
}

impl FeesView {
    /// The fee limit the node suggests (the base fee without an account).
    pub fn suggested_fee_limit(&self) -> Amount {
        self.account
            .as_ref()
            .map_or(self.base_fee, |a| a.suggested_fee_limit)
    }
}

/// An account's fee standing in `GET /v1/fees?account=`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountFeeView {
    /// The account.
    #[schema(value_type = String)]
    pub address: Address,
    /// Its recent volume.
    pub volume: u64,
    /// Its volume tier (index into the fee tiers), if it reached one.
    pub tier: Option<usize>,
    /// Its fee rate in basis points of the base fee.
    pub fee_bps: u16,
    /// The fee its next transaction pays.
    pub fee: Amount,
    /// A fee limit that survives a few blocks of rising base fee.
    pub suggested_fee_limit: Amount,
}

/// `GET /v1/accounts/{addr}/events`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountEventsView {
    /// The account.
    #[schema(value_type = String)]
    pub account: Address,
    /// Its history entries, newest first.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
    /// Pass as `before` for the next page; null on the last.
    pub next_before: Option<String>,
}

/// `GET /v1/accounts/{addr}/mandates`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MandatesView {
    /// The user.
    #[schema(value_type = String)]
    pub user: Address,
    /// The head the answer is for.
    pub height: Height,
    /// The user's mandates with what each still allows.
    #[schema(value_type = Vec<Object>)]
    pub mandates: Vec<MandateStatus>,
}

/// `GET /v1/products/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    /// The head the answer is for.
    pub height: Height,
    /// The product (docs/economy.md, "Digital goods").
    #[schema(value_type = Object)]
    pub product: Product,
    /// The claim buying it requires (`{"age_over":{"years":19}}`, ...), or null.
    #[schema(value_type = Option<Object>)]
    pub requires: Option<Claim>,
}

/// `GET /v1/merchants/{addr}/products`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductsView {
    /// The merchant.
    #[schema(value_type = String)]
    pub merchant: Address,
    /// The head the answer is for.
    pub height: Height,
    /// Its products in id order.
    #[schema(value_type = Vec<Object>)]
    pub products: Vec<Product>,
}

/// `GET /v1/entitlements/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntitlementView {
    /// The head the answer is for.
    pub height: Height,
    /// The head's block time, which `valid` is judged at.
    pub time_ms: u64,
    /// The entitlement.
    #[schema(value_type = Object)]
    pub entitlement: Entitlement,
    /// Whether it grants access at `time_ms` (an unexpired pass, or an item).
    pub valid: bool,
}

/// `GET /v1/accounts/{addr}/entitlements`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntitlementsView {
    /// The owner.
    #[schema(value_type = String)]
    pub owner: Address,
    /// The head the answer is for.
    pub height: Height,
    /// The head's block time, which `valid` is judged at.
    pub time_ms: u64,
    /// Its entitlements in id order, each `{entitlement, valid}`.
    #[schema(value_type = Vec<Object>)]
    pub entitlements: Vec<EntitlementStatus>,
}

/// `GET /v1/meters/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MeterView {
    /// The head the answer is for.
    pub height: Height,
    /// The session (docs/economy.md, "Metered sessions"), open or closed.
    #[schema(value_type = Object)]
    pub session: MeterSession,
    /// What is still in escrow for it: `budget − paid` while open, 0 once closed.
    pub remaining: u64,
}

/// `GET /v1/accounts/{addr}/meters`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MetersView {
    /// The account (a session's user or merchant).
    #[schema(value_type = String)]
    pub account: Address,
    /// The head the answer is for.
    pub height: Height,
    /// The sessions it opened or is paid by, in id order.
    #[schema(value_type = Vec<Object>)]
    pub sessions: Vec<MeterSession>,
}

/// An attestation and whether it counts at the head's time.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttestationStatus {
    /// The record (docs/economy.md §13).
    #[schema(value_type = Object)]
    pub attestation: Attestation,
    /// Unrevoked, unexpired, and its attester still holds the attester role.
    pub valid: bool,
}

/// `GET /v1/attestations/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttestationView {
    /// The head the answer is for.
    pub height: Height,
    /// The head's block time, which `valid` is judged at.
    pub time_ms: u64,
    /// The attestation and its validity.
    #[serde(flatten)]
    pub status: AttestationStatus,
}

/// `GET /v1/accounts/{addr}/attestations`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AttestationsView {
    /// The subject.
    #[schema(value_type = String)]
    pub subject: Address,
    /// The head the answer is for.
    pub height: Height,
    /// The head's block time.
    pub time_ms: u64,
    /// Its unrevoked attestations, by kind of claim then id.
    pub attestations: Vec<AttestationStatus>,
}

/// A registered read node (`GET /v1/nodes`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    /// The node's key.
    #[schema(value_type = String)]
    pub key: Address,
    /// The libp2p peer id it connects as (its key's).
    pub peer_id: String,
    /// The partner that registered it.
    #[schema(value_type = String)]
    pub partner: Address,
    /// The height it was registered at.
    pub registered_at: Height,
}

/// `GET /v1/nodes` and `GET /v1/partners/{addr}/nodes`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NodesView {
    /// The partner asked about, if any.
    #[schema(value_type = Option<String>)]
    pub partner: Option<Address>,
    /// The head the answer is for.
    pub height: Height,
    /// The most read nodes one partner may register.
    pub nodes_per_partner_max: usize,
    /// The nodes, by key.
    pub nodes: Vec<NodeView>,
}

/// `GET /v1/lines/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    /// The head the answer is for.
    pub height: Height,
    /// The head's block time.
    pub time_ms: u64,
    /// The period current at `time_ms` (0 from the line's opening).
    pub period: u64,
    /// The line (docs/economy.md, "Carrier billing").
    #[schema(value_type = Object)]
    pub line: jeon_runtime::goods::carrier::CarrierLine,
    /// Its statements by period: every period with charges, then the current one.
    #[schema(value_type = Vec<Object>)]
    pub statements: Vec<jeon_runtime::goods::carrier::Statement>,
}

/// `GET /v1/accounts/{addr}/lines`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LinesView {
    /// The account (a line's user or carrier).
    #[schema(value_type = String)]
    pub account: Address,
    /// The head the answer is for.
    pub height: Height,
    /// Its lines in id order.
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<jeon_runtime::goods::carrier::CarrierLine>,
}

/// `GET /v1/rules`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RulesView {
    /// The merchant asked about, if any.
    #[schema(value_type = Option<String>)]
    pub merchant: Option<Address>,
    /// The rules, in the order a payment applies them.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<RewardRule>,
}

/// `GET /v1/redemptions`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RedemptionsView {
    /// The issuer.
    #[schema(value_type = String)]
    pub issuer: Address,
    /// Its pending redemptions.
    #[schema(value_type = Vec<Object>)]
    pub redemptions: Vec<Value>,
}

/// `GET /v1/accounts/{addr}/credit`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CreditView {
    /// The account.
    #[schema(value_type = String)]
    pub account: Address,
    /// The head the answer is for.
    pub height: Height,
    /// Its score with its inputs.
    #[schema(value_type = Object)]
    pub score: Value,
    /// Its credit lines as borrower.
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<Value>,
}

/// `GET /v1/exchanges`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ExchangesView {
    /// Every agreement, proposed or active.
    #[schema(value_type = Vec<Object>)]
    pub exchanges: Vec<Value>,
}

/// `GET /v1/sponsors/{addr}`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SponsorshipsView {
    /// The sponsor.
    #[schema(value_type = String)]
    pub sponsor: Address,
    /// The head the answer is for.
    pub height: Height,
    /// Its sponsorships with what each still covers.
    #[schema(value_type = Vec<Object>)]
    pub sponsorships: Vec<Value>,
}

/// `GET /v1/accounts/{addr}/sponsorships`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountSponsorshipsView {
    /// The account asked about.
    #[schema(value_type = String)]
    pub account: Address,
    /// The head the answer is for.
    pub height: Height,
    /// Its own sponsorships (sponsor order), then the partners' all-customers ones.
    pub sponsorships: Vec<SponsorOfAccount>,
}

/// One sponsorship that may pay an account's fees.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SponsorOfAccount {
    /// The partner that pays.
    #[schema(value_type = String)]
    pub sponsor: Address,
    /// `account`: every transaction of this account; `all_customers`: only its calls
    /// addressed to the sponsor (a payment to it, redeeming its credit, ...).
    pub covers: String,
    /// The budget's asset (the fee asset).
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// The most fees paid per period (shared by all customers for `all_customers`).
    pub budget_per_period: Amount,
    /// The period in milliseconds.
    pub period_ms: u64,
    /// What the budget still covers in the current period.
    pub remaining: Amount,
    /// When the current period ends and the budget is whole again (block time, ms).
    pub refills_at_ms: u64,
}

impl SponsorOfAccount {
    /// The view of one listed sponsorship at block time `time_ms`.
    pub fn new(status: jeon_runtime::fees::SponsorshipStatus, time_ms: u64) -> Self {
        let s = status.sponsorship;
        let period_ms = s.period_ms.max(1);
        SponsorOfAccount {
            sponsor: s.sponsor,
            covers: match s.beneficiary {
                jeon_runtime::fees::Beneficiary::Account(_) => "account",
                jeon_runtime::fees::Beneficiary::AllCustomers => "all_customers",
            }
            .to_owned(),
            asset: s.asset,
            budget_per_period: s.budget_per_period,
            period_ms: s.period_ms,
            remaining: status.remaining,
            refills_at_ms: (time_ms / period_ms)
                .saturating_add(1)
                .saturating_mul(period_ms),
        }
    }
}

/// `POST /v1/txs/simulate`: what the transaction would do as the next block's only
/// transaction. Nothing is written or charged.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SimulateAnswer {
    /// The transaction's hash.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// The height it was run at (the head's next).
    pub height: Height,
    /// `success`, `failed` (the call fails: the fee would be paid) or `invalid` (not
    /// valid now: refused at submission or nothing would change).
    pub status: SimulateStatus,
    /// The fee it would pay (0 if invalid).
    pub fee: Amount,
    /// Why it would fail or be invalid: the stable code (a `CallError` variant, e.g.
    /// `invoice_already_paid`, or an admission code, e.g. `stale_nonce`) and a message.
    pub error: Option<SimulatedError>,
    /// The receipt it would get.
    #[schema(value_type = Object)]
    pub receipt: Receipt,
}

/// The outcome class of a simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimulateStatus {
    /// The call would succeed.
    Success,
    /// The call would fail; the fee and nonce would still be spent.
    Failed,
    /// The transaction is not valid now; nothing would change.
    Invalid,
}

/// Why a simulated transaction would fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SimulatedError {
    /// The stable code.
    pub code: String,
    /// For people.
    pub message: String,
}

/// `GET /v1/invoices/{merchant}/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceStatus {
    /// The merchant.
    #[schema(value_type = String)]
    pub merchant: Address,
    /// The merchant's invoice id.
    pub invoice_id: u64,
    /// Whether a final block paid it.
    pub paid: bool,
    /// The height of the block that paid it.
    pub paid_at: Option<Height>,
    /// The head the answer is for.
    pub height: Height,
}

/// `GET /v1/blocks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlocksView {
    /// The head's height.
    pub head: Height,
    /// Block summaries, newest first.
    pub blocks: Vec<BlockSummary>,
    /// Pass as `before` for the next (older) page; null when no older block is kept.
    pub next_before: Option<Height>,
}

/// One block in `GET /v1/blocks`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockSummary {
    /// Its height.
    pub height: Height,
    /// Its header's hash.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// Its time (ms since the Unix epoch).
    pub time_ms: u64,
    /// The validator that proposed it.
    #[schema(value_type = String)]
    pub proposer: Address,
    /// Transactions in it.
    pub txs: usize,
    /// Events its transactions and its end-of-block step emitted.
    pub events: usize,
}

/// `GET /v1/accounts/{addr}/txs`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountTxsView {
    /// The account.
    #[schema(value_type = String)]
    pub account: Address,
    /// Its transactions, newest first.
    pub txs: Vec<AccountTxView>,
    /// Pass as `before` for the older page; null when there is none.
    pub next_before: Option<String>,
    /// Pass as `after` for the newer page (or to poll for new transactions).
    pub next_after: Option<String>,
}

/// One transaction (or end-of-block step) in an account's list.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountTxView {
    /// `HEIGHT.TX_INDEX`: where it is.
    pub cursor: String,
    /// The block's height.
    pub height: Height,
    /// Its position in the block; null for the block's own end-of-block step.
    pub index: Option<u32>,
    /// The transaction's hash; null for an end-of-block step or a pruned block.
    #[schema(value_type = Option<String>)]
    pub hash: Option<Hash>,
    /// The block's time; null if the block was pruned.
    pub time_ms: Option<u64>,
    /// Who sent it.
    #[schema(value_type = Option<String>)]
    pub sender: Option<Address>,
    /// The call's kind (`transfer`, `pay`, `pay_invoice`, ...).
    pub kind: Option<String>,
    /// Whether the call succeeded.
    pub success: Option<bool>,
    /// The fee it paid.
    pub fee: Option<Amount>,
    /// The other accounts its events name.
    #[schema(value_type = Vec<String>)]
    pub counterparties: Vec<Address>,
    /// What its events moved, in order.
    pub movements: Vec<Movement>,
}

/// An amount an event moved.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    /// The event's kind (`transferred`, `paid`, `tax_withheld`, ...).
    pub kind: String,
    /// The asset.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// Its symbol.
    pub symbol: Option<String>,
    /// Units, in the asset's smallest unit.
    pub amount: Amount,
    /// The event's `from` (or `payer`), if it has one.
    #[schema(value_type = Option<String>)]
    pub from: Option<Address>,
    /// The event's `to` (or `merchant`), if it has one.
    #[schema(value_type = Option<String>)]
    pub to: Option<Address>,
}

// ---- Query parameters: each route's own, unknown ones refused (400 `bad_query`) ----
// Values are kept as text and parsed by the route, so that a malformed value's error
// names its parameter; the document shows their real types.

/// `?status=open|passed|rejected|expired|enacted|not_enacted` (all when absent).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProposalsQuery {
    /// Only proposals in this status (`passed` includes enacted and not enacted ones).
    pub status: Option<String>,
}

/// `?validator=ADDR` (evidence against anyone when absent).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EvidenceQuery {
    /// Only evidence against this validator.
    pub validator: Option<String>,
}

/// `?from=DAY&to=DAY` (UTC day indexes; each defaults to the head's day, one alone
/// names a single day).
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The first day.
    #[param(value_type = Option<u64>)]
    pub from: Option<String>,
    /// The last day.
    #[param(value_type = Option<u64>)]
    pub to: Option<String>,
}

/// `?limit=N&before=HEIGHT.TX_INDEX.EVENT_INDEX`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// 1 to 1000 entries (default 100).
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
    /// Entries strictly older than this cursor (a previous page's `next_before`).
    pub before: Option<String>,
}

/// `GET /v1/accounts/{addr}/txs?limit=N&before=CURSOR` or `&after=CURSOR`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountTxsQuery {
    /// 1 to 100 transactions (default 20).
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
    /// Transactions strictly older than this cursor (`HEIGHT.TX_INDEX`, a page's
    /// `next_before`).
    pub before: Option<String>,
    /// Transactions strictly newer than this cursor (a page's `next_after`): the
    /// `limit` nearest to it. Not with `before`.
    pub after: Option<String>,
}

/// `GET /v1/blocks?before=H&limit=N`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlocksQuery {
    /// Blocks strictly below this height (default: from the head).
    #[param(value_type = Option<u64>)]
    pub before: Option<String>,
    /// 1 to 100 blocks (default 20).
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
}

/// `?limit=N`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// 1 to 1000 entries (default 100).
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
}

/// `?issuer=ADDR&limit=N`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RedemptionsQuery {
    /// The issuer (required).
    pub issuer: Option<String>,
    /// 1 to 1000 entries (default 100).
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
}

/// `?merchant=ADDR&limit=N`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RulesQuery {
    /// Only the rules a payment at this merchant applies.
    pub merchant: Option<String>,
    /// Without `merchant`: 1 to 1000 rules (default 100).
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
}

/// `?account=ADDR`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// The account to report on.
    pub account: Option<String>,
}

/// `GET /v1/events?account=ADDR&last_event_id=HEIGHT-N`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events that name this account.
    pub account: Option<String>,
    /// Resume after this event id (the `Last-Event-ID` header wins).
    pub last_event_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_to_its_stable_string_and_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).expect("serializes");
            assert_eq!(json, Value::String(code.as_str().into()));
            assert_eq!(ErrorCode::from_str_code(code.as_str()), Some(code));
        }
    }

    #[test]
    fn the_codes_are_exactly_those_docs_api_md_lists() {
        let docs = include_str!("../../../docs/api.md");
        let errors = docs
            .split("\n## Errors")
            .nth(1)
            .expect("docs/api.md has an Errors section");
        let listed: Vec<&str> = errors
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .take_while(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
            .collect();
        let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, ours);
    }
}

/// `GET /v1/partners/{addr}/daily`: one partner's own figures per day.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct PartnerDailyView {
    /// The partner asked about.
    #[schema(value_type = String)]
    pub partner: Address,
    /// First day (inclusive).
    pub from_period: u64,
    /// Last day (inclusive).
    pub to_period: u64,
    /// False when the walk stopped at its bound (or at pruned blocks) before the first
    /// day: the oldest days listed may then be short.
    pub complete: bool,
    /// Days with any figure, oldest first.
    pub days: Vec<DailyFigures>,
}

/// One day of a partner's figures.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DailyFigures {
    /// The day (UTC day index of block time).
    pub period: u64,
    /// Payments received as a merchant, per money asset.
    pub payments: Vec<DailyPayments>,
    /// Cashback issued (minted by reward rules) per credit asset.
    pub cashback: Vec<DailyCashback>,
    /// Redemptions of its credits.
    pub redemptions: DailyRedemptions,
    /// What its fee sponsorships paid for other accounts' transactions.
    pub sponsored: DailySponsored,
}

/// What a partner's fee sponsorships paid on one day.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct DailySponsored {
    /// Transactions whose fee its sponsorships paid.
    pub txs: u64,
    /// Units of the fee asset paid for them.
    pub fees: u128,
}

/// Payments received in one asset on one day.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DailyPayments {
    /// The money asset.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// Payments.
    pub count: u64,
    /// Units paid, tax included.
    pub gross: u128,
    /// Units withheld as tax.
    pub tax: u128,
}

/// Cashback issued in one credit on one day.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct DailyCashback {
    /// The credit asset.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// Units minted.
    pub amount: u128,
}

/// Redemptions of a partner's credits on one day, by what happened.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct DailyRedemptions {
    /// Requested by users (credits held in escrow).
    pub requested: u64,
    /// Settled by the partner (burnt).
    pub settled: u64,
    /// Rejected by the partner (refunded).
    pub rejected: u64,
    /// Refunded at their deadline, unsettled.
    pub expired: u64,
}

/// `?from=P&to=P&period=day|month`: periods of a merchant's insights.
#[derive(Clone, Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InsightsQuery {
    /// The first period: a day index (`day`) or `YYYYMM` (`month`); default the current.
    #[param(value_type = Option<u64>)]
    pub from: Option<String>,
    /// The last period (inclusive); default `from`.
    #[param(value_type = Option<u64>)]
    pub to: Option<String>,
    /// `day` (default) or `month`.
    #[param(value_type = Option<String>)]
    pub period: Option<String>,
}

/// What a period is: a UTC day or a UTC calendar month.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A day, numbered from 1970-01-01 (`time_ms / 86_400_000`).
    Day,
    /// A calendar month, numbered `YYYYMM`.
    Month,
}

impl PeriodKind {
    /// The name in queries and views.
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Day => "day",
            PeriodKind::Month => "month",
        }
    }
}

/// `GET /v1/merchants/{addr}/insights`: a merchant's own aggregates per period.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct MerchantInsightsView {
    /// The merchant asked about.
    #[schema(value_type = String)]
    pub merchant: Address,
    /// What the periods are.
    pub period: PeriodKind,
    /// First period (inclusive).
    pub from_period: u64,
    /// Last period (inclusive).
    pub to_period: u64,
    /// The head the answer was read at.
    pub height: u64,
    /// False when the walk of the merchant's history stopped at its bound (or at pruned
    /// blocks) before genesis: the figures then miss the oldest events.
    pub complete: bool,
    /// Every period of the range, oldest first.
    pub periods: Vec<InsightsPeriod>,
}

/// One period of a merchant's insights (definitions in docs/indexer.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsightsPeriod {
    /// The period: a day index or `YYYYMM`.
    pub period: u64,
    /// Its first millisecond (Unix time).
    pub start_ms: u64,
    /// One past its last millisecond.
    pub end_ms: u64,
    /// Sales per product and money asset.
    pub sales: Vec<InsightsSale>,
    /// Passes (entitlements with an expiry, not subscriptions) active at the period's
    /// last millisecond.
    pub active_passes: u64,
    /// Subscriptions active at the period's last millisecond.
    pub active_subscriptions: u64,
    /// Metered units settled to the merchant.
    pub metered: InsightsMetered,
    /// Subscription churn.
    pub churn: InsightsChurn,
    /// Cashback the merchant issued as a credit issuer, per credit asset.
    pub cashback: Vec<InsightsCashback>,
}

/// Sales of one product in one money asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsightsSale {
    /// The product (a bundle's own id).
    pub product: u64,
    /// The money asset.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// Sales (purchases, subscriptions and renewals).
    pub count: u64,
    /// Units paid, tax included.
    pub gross: u128,
    /// Units withheld as tax.
    pub tax: u128,
}

/// Metered sessions' claims settled in a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsightsMetered {
    /// Claims settled.
    pub claims: u64,
    /// Units newly charged by them.
    pub units: u64,
    /// What they paid (units of each session's asset, summed).
    pub amount: u128,
}

/// Subscription churn in a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsightsChurn {
    /// Subscriptions whose renewal failed (`SubscriptionLapsed`).
    pub lapsed: u64,
    /// Subscriptions the merchant revoked (with a refund).
    pub revoked: u64,
    /// Subscriptions active at the instant before the period began.
    pub active_at_start: u64,
}

/// Cashback liability in one credit asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsightsCashback {
    /// The credit asset.
    #[schema(value_type = u32)]
    pub asset: AssetId,
    /// Minted by the merchant's reward rules in the period.
    pub issued: u128,
    /// Redemptions of it the merchant settled in the period.
    pub redeemed: u128,
    /// Issued minus redeemed since genesis, through the period's end (negative when
    /// credits minted at genesis were redeemed).
    #[schema(value_type = i64)]
    pub outstanding: i128,
}

/// `GET /v1/blocks/{height}/events`: one final block's receipts and end-of-block events.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockEventsView {
    /// The block's height.
    pub height: Height,
    /// The header's hash.
    #[schema(value_type = String)]
    pub hash: Hash,
    /// The block's time (ms since the Unix epoch).
    pub time_ms: u64,
    /// One receipt per transaction, in block order: `tx` (hash), `outcome`, `fee`,
    /// `events`.
    #[schema(value_type = Vec<Object>)]
    pub receipts: Vec<Receipt>,
    /// Events of the end-of-block step.
    #[schema(value_type = Vec<Object>)]
    pub block_events: Vec<jeon_runtime::Event>,
}
