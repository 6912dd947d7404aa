//! The HTTP+JSON API for wallets and partner back-ends (axum).
//!
//! Every error is `{"error":{"code":"...","message":"..."}}` with a 4xx status and a
//! stable `code`; docs/api.md lists them. Bodies are read as bytes and parsed here,
//! so malformed JSON, bad hex and oversized bodies all get our error shape.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use http_body_util::BodyExt;
use jeon_runtime::economy::query::{self as econ, QueryError};
use jeon_runtime::state::{self, keys, StateExt, StateScan};
use jeon_runtime::{Address, AssetId, AssetInfo, Hash, Outcome, SignedTx, TxError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::chain::Chain;
use crate::faults::Halt;
use crate::handle::ApiHandle;
use crate::http::ApiLimits;
use crate::mempool::AdmitError;
use crate::proofs;
use crate::ratelimit::{RateLimited, SubmitLimiter};
use crate::signer::SigningStatus;
use crate::store::{BlockRecord, ChainHead, StoreError};

mod carrier;
pub mod cors;
pub mod dryrun;
pub mod events;
mod goods;
mod governance;
mod health;
mod insights;
pub mod listings;
mod nodes;
pub mod openapi;
pub mod requests;
mod sales;
pub mod types;
pub mod web;

pub use requests::TXS_BATCH_MAX;
use requests::{BatchBody, RequestError, SubmitBody};
use types::{
    AccountEventsView, AccountFeeView, AccountSponsorshipsView, AccountView, AssetView, AssetsView,
    BalanceView, BatchAnswer, BatchItem, BlockView, CreditView, ErrorBody, ErrorDetail,
    ExchangesView, FeeInfo, FeesView, MandatesView, NodeRole, RedemptionsView, RulesView,
    SponsorOfAccount, SponsorshipsView, StatusView, SubmitAnswer, TxProofAnswer,
};
use types::{AccountQuery, HistoryQuery, LimitQuery, PeriodQuery, RedemptionsQuery, RulesQuery};
pub use types::{ErrorCode, TxStatus};

/// The largest request body: a full batch of hex-encoded transactions fits.
pub const BODY_BYTES_MAX: usize = 8 << 20;
/// An oversized body is read and dropped up to this size before the 413: closing a
/// connection with request bytes still unread makes the kernel reset it, which can
/// destroy the answer before the client reads it. Larger ones are cut off at once.
pub const BODY_DRAIN_BYTES_MAX: usize = 2 * BODY_BYTES_MAX;
/// The most requests served at once (beyond it, requests wait).
pub const REQUESTS_CONCURRENT_MAX: usize = 512;
/// The most open event streams.
pub const EVENT_SUBSCRIBERS_MAX: usize = 256;
/// The most assets listed by `GET /v1/assets`.
const ASSETS_LISTED_MAX: usize = 10_000;

/// An API error: status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    /// The `Retry-After` seconds, when waiting helps.
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        // Every 503 is worth retrying after a moment.
        let retry_after_secs =
            (status == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_AFTER_SECS);
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs,
        }
    }
    fn bad(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            e.to_string(),
        )
    }
    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
            },
        }
    }
}

/// Seconds a client told 503 (`mempool_full`, `busy`) waits before retrying.
pub const RETRY_AFTER_SECS: u64 = 1;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // The rest of an unread body would be taken for the next request: close.
        if matches!(
            self.status,
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
        ) {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<RateLimited> for ApiError {
    fn from(r: RateLimited) -> Self {
        let msg = format!(
            "this client submitted transactions faster than the node's per-client limit; \
             retry after {} s",
            r.retry_after_secs
        );
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, msg);
        e.retry_after_secs = Some(r.retry_after_secs);
        e
    }
}

/// The stable code and status of a refused transaction.
fn admit_error(e: &AdmitError) -> ApiError {
    let (status, code) = match e {
        AdmitError::Invalid(t) => (StatusCode::BAD_REQUEST, tx_error_code(t)),
        AdmitError::Full { .. } => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::MempoolFull),
        AdmitError::SenderFull { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, ErrorCode::SenderQueueFull)
        }
        AdmitError::Duplicate(_) => (StatusCode::CONFLICT, ErrorCode::Duplicate),
        AdmitError::NonceTaken { .. } => (StatusCode::CONFLICT, ErrorCode::NonceTaken),
        AdmitError::NonceTooFarAhead { .. } => {
            (StatusCode::BAD_REQUEST, ErrorCode::NonceTooFarAhead)
        }
        AdmitError::SenderFutureFull { .. } => {
            (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyFutureTxs)
        }
        AdmitError::FutureFull { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::FutureTxsFull)
        }
        AdmitError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
    };
    ApiError::new(status, code, e.to_string())
}

fn tx_error_code(e: &TxError) -> ErrorCode {
    match e {
        TxError::Decode(_) => ErrorCode::MalformedTx,
        TxError::WrongChain { .. } => ErrorCode::WrongChain,
        TxError::BadSignature(_) => ErrorCode::BadSignature,
        TxError::StaleNonce { .. } => ErrorCode::StaleNonce,
        TxError::FutureNonce { .. } => ErrorCode::FutureNonce,
        TxError::Expired { .. } => ErrorCode::Expired,
        TxError::FeeTooLow { .. } => ErrorCode::FeeTooLow,
        TxError::CannotPayFee { .. } => ErrorCode::CannotPayFee,
        TxError::PayerIsSender => ErrorCode::PayerIsSender,
        TxError::UnexpectedPayerSignature => ErrorCode::UnexpectedPayerSignature,
        TxError::BadPayerSignature(_) => ErrorCode::BadPayerSignature,
        TxError::NotSponsored { .. } => ErrorCode::NotSponsored,
        TxError::SponsorBudgetExhausted { .. } => ErrorCode::SponsorBudgetExhausted,
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn body_too_large() -> ApiError {
    let msg = format!("request body exceeds {BODY_BYTES_MAX} bytes");
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, msg)
}

/// Parses a JSON body, mapping every failure to our error shape.
fn parse_body<T: for<'de> Deserialize<'de>>(body: Result<Bytes, BytesRejection>) -> ApiResult<T> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_too_large()
        } else {
            ApiError::bad(ErrorCode::BadBody, r.body_text())
        }
    })?;
    requests::parse_json(&bytes).map_err(ApiError::from)
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        let code = match e {
            RequestError::MalformedJson(_) => ErrorCode::MalformedJson,
            RequestError::BadHex(_) => ErrorCode::BadHex,
            RequestError::MalformedTx(_) => ErrorCode::MalformedTx,
            RequestError::BatchTooLarge { .. } => ErrorCode::BatchTooLarge,
        };
        ApiError::bad(code, e.to_string())
    }
}

/// Reads a request's whole body, within [`BODY_BYTES_MAX`] and the body-read timeout
/// (an oversized one is drained up to [`BODY_DRAIN_BYTES_MAX`], then answered 413),
/// before the request takes one of the [`REQUESTS_CONCURRENT_MAX`] slots: a client that
/// sends its body slowly then holds a connection, never a slot other clients need.
async fn read_body(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match read_whole_body(&parts.headers, body, timeout).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(e) => e.into_response(),
    }
}

async fn read_whole_body(
    headers: &HeaderMap,
    mut body: Body,
    timeout: Duration,
) -> ApiResult<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    // Beyond what is worth draining, refuse at once (the client may see a reset).
    if declared > BODY_DRAIN_BYTES_MAX as u64 {
        return Err(body_too_large());
    }
    let too_large = declared > BODY_BYTES_MAX as u64;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut kept = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::bad(
                    ErrorCode::BadBody,
                    format!("cannot read the body: {e}"),
                ))
            }
            Err(_) if too_large || seen > BODY_BYTES_MAX => return Err(body_too_large()),
            Err(_) => return Err(request_timeout(timeout)),
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > BODY_DRAIN_BYTES_MAX {
            return Err(body_too_large());
        }
        if !too_large && seen <= BODY_BYTES_MAX {
            kept.extend_from_slice(&data);
        }
    }
    if too_large || seen > BODY_BYTES_MAX {
        return Err(body_too_large());
    }
    Ok(Bytes::from(kept))
}

fn request_timeout(timeout: Duration) -> ApiError {
    let msg = format!(
        "the request body did not arrive within {} ms",
        timeout.as_millis()
    );
    ApiError::new(StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout, msg)
}

/// The client's address, as the accept loop recorded it (none when the router is
/// served some other way: such requests share one rate-limit count).
struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let addr = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(ClientAddr(addr.map(|c| c.0.ip())))
    }
}

impl ClientAddr {
    /// Counts `txs` submissions against this client's rate.
    fn take(&self, limiter: &SubmitLimiter, txs: usize) -> ApiResult<()> {
        let ip = self.0.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let txs = u64::try_from(txs).unwrap_or(u64::MAX);
        limiter.take(ip, txs, tokio::time::Instant::now())?;
        Ok(())
    }
}

/// The router, with the body limit and timeout, the submission rate limit and the
/// concurrency limit.
pub fn router(api: ApiHandle, limits: &ApiLimits) -> Router {
    let sse_slots = Arc::new(Semaphore::new(EVENT_SUBSCRIBERS_MAX));
    let limiter = Arc::new(SubmitLimiter::new(limits.submit_txs_per_sec));
    let body_timeout = Duration::from_millis(limits.body_read_timeout_ms);
    let shared = api.chain.clone();
    let events = Router::new()
        .route("/v1/events", get(events::events))
        .with_state((api, sse_slots));
    Router::new()
        .route("/v1/txs", post(submit))
        .route("/v1/txs/batch", post(submit_batch))
        .route("/v1/txs/simulate", post(dryrun::simulate))
        .route("/v1/invoices/{merchant}/{id}", get(dryrun::invoice))
        .route("/v1/txs/{hash}", get(tx_status))
        .route("/v1/txs/{hash}/proof", get(tx_proof))
        .route("/v1/accounts/{addr}", get(account))
        .route("/v1/assets", get(assets))
        .route("/v1/assets/{id}", get(asset))
        .route("/v1/blocks", get(listings::blocks))
        .route("/v1/blocks/latest", get(latest_block))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/blocks/{height}/events", get(insights::block_events))
        .route("/v1/status", get(status))
        .route("/v1/health", get(health::health))
        .route("/v1/ready", get(health::ready))
        .route("/v1/tax/{jurisdiction}", get(tax))
        .route("/v1/accounts/{addr}/events", get(account_events))
        .route("/v1/accounts/{addr}/txs", get(listings::account_txs))
        .route("/v1/partners/{addr}/daily", get(sales::partner_daily))
        .route("/v1/merchants/{addr}/insights", get(insights::merchant))
        .route("/v1/settlement", get(settlement))
        .route("/v1/redemptions", get(redemptions))
        .route("/v1/accounts/{addr}/mandates", get(mandates))
        .route("/v1/accounts/{addr}/credit", get(credit))
        .route("/v1/exchanges", get(exchanges))
        .route("/v1/rules", get(rules))
        .route("/v1/fees", get(fees))
        .route("/v1/sponsors/{addr}", get(sponsorships))
        .route("/v1/accounts/{addr}/sponsorships", get(sponsored_by))
        .route("/v1/products/{id}", get(goods::product))
        .route("/v1/merchants/{addr}/products", get(goods::products))
        .route("/v1/entitlements/{id}", get(goods::entitlement))
        .route("/v1/entitlements/{id}/proof", get(goods::entitlement_proof))
        .route("/v1/accounts/{addr}/entitlements", get(goods::entitlements))
        .route("/v1/meters/{id}", get(goods::meter))
        .route("/v1/accounts/{addr}/meters", get(goods::meters))
        .route("/v1/attestations/{id}", get(goods::attestation))
        .route("/v1/attestations/{id}/proof", get(goods::attestation_proof))
        .route("/v1/accounts/{addr}/attestations", get(goods::attestations))
        .route("/v1/lines/{id}", get(carrier::line))
        .route("/v1/accounts/{addr}/lines", get(carrier::lines))
        .route("/v1/proposals", get(governance::proposals))
        .route("/v1/evidence", get(governance::evidence))
        .route("/v1/proposals/{id}", get(governance::proposal))
        .route("/v1/validators", get(governance::validators))
        .route("/v1/nodes", get(nodes::nodes))
        .route("/v1/partners/{addr}/nodes", get(nodes::partner_nodes))
        .route("/v1/params", get(governance::chain_params))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .layer(GlobalConcurrencyLimitLayer::new(REQUESTS_CONCURRENT_MAX))
        .layer(Extension(limiter))
        .with_state(shared)
        .merge(events)
        .fallback(|| async {
            ApiError::not_found(ErrorCode::NotFound, "no such route; see docs/api.md")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "method not allowed",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::from_fn_with_state(body_timeout, read_body))
        // Outermost, so that every answer (errors included) carries the allow headers.
        .layer(middleware::from_fn_with_state(
            Arc::new(limits.cors.clone()),
            cors::cors,
        ))
}

async fn admit(
    shared: &Arc<Chain>,
    txs: Vec<SignedTx>,
) -> ApiResult<Vec<Result<Hash, AdmitError>>> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || shared.submit(txs, false, crate::driver::now_ms()))
        .await
        .map_err(ApiError::internal)
}

#[utoipa::path(post, path = "/v1/txs", tag = "transactions", request_body = types::SubmitRequest, responses((status = 202, description = "Admitted to the mempool (not final)", body = SubmitAnswer), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn submit(
    State(shared): State<Arc<Chain>>,
    Extension(limiter): Extension<Arc<SubmitLimiter>>,
    client: ClientAddr,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
    let body: SubmitBody = parse_body(body)?;
    client.take(&limiter, 1)?;
    let tx = requests::decode_hex_tx(&body.tx)?;
    let result = admit(&shared, vec![tx]).await?.pop();
    match result {
        Some(Ok(hash)) => Ok((StatusCode::ACCEPTED, Json(SubmitAnswer { hash }))),
        Some(Err(e)) => Err(admit_error(&e)),
        None => Err(ApiError::internal("admission returned no result")),
    }
}

#[utoipa::path(post, path = "/v1/txs/batch", tag = "transactions", request_body = types::BatchRequest, responses((status = 202, description = "One result per transaction, in order", body = BatchAnswer), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn submit_batch(
    State(shared): State<Arc<Chain>>,
    Extension(limiter): Extension<Arc<SubmitLimiter>>,
    client: ClientAddr,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<impl IntoResponse> {
    let body: BatchBody = parse_body(body)?;
    if body.txs.len() > TXS_BATCH_MAX {
        let len = body.txs.len();
        return Err(RequestError::BatchTooLarge { len }.into());
    }
    // Counted before decoding: the limit is there to spare the signature checks.
    client.take(&limiter, body.txs.len())?;
    // Decode everything first; admit the decodable ones in one verification batch.
    let decoded: Vec<ApiResult<SignedTx>> = requests::decode_batch(&body)?
        .into_iter()
        .map(|d| d.map_err(ApiError::from))
        .collect();
    let good: Vec<SignedTx> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok().cloned())
        .collect();
    let admitted = admit(&shared, good).await?;
    // Items refused because the pool is full are worth retrying: say when.
    let full = admitted.iter().any(|r| {
        matches!(
            r,
            Err(AdmitError::Full { .. } | AdmitError::FutureFull { .. })
        )
    });
    let mut admitted = admitted.into_iter();
    let results: Vec<BatchItem> = decoded
        .into_iter()
        .map(|d| match d {
            Err(e) => BatchItem::Refused(e.body()),
            Ok(_) => match admitted.next() {
                Some(Ok(hash)) => BatchItem::Admitted(SubmitAnswer { hash }),
                Some(Err(e)) => BatchItem::Refused(admit_error(&e).body()),
                None => BatchItem::Refused(
                    ApiError::internal("admission returned too few results").body(),
                ),
            },
        })
        .collect();
    let mut response = (StatusCode::ACCEPTED, Json(BatchAnswer { results })).into_response();
    if full {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    Ok(response)
}

fn parse_hash(s: &str) -> ApiResult<Hash> {
    s.parse().map_err(|e: jeon_runtime::types::HashParseError| {
        ApiError::bad(ErrorCode::BadHash, e.to_string())
    })
}

fn parse_address(s: &str) -> ApiResult<Address> {
    s.parse().map_err(|e: jeon_runtime::types::AddressError| {
        ApiError::bad(ErrorCode::BadAddress, e.to_string())
    })
}

#[utoipa::path(get, path = "/v1/txs/{hash}", tag = "transactions", params(("hash" = String, Path, description = "The transaction hash (64 hex digits)")), responses((status = 200, description = "pending, final, rejected or unknown", body = TxStatus), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn tx_status(
    State(shared): State<Arc<Chain>>,
    Path(hash): Path<String>,
) -> ApiResult<Json<TxStatus>> {
    let hash = parse_hash(&hash)?;
    let mut st = TxStatus {
        hash,
        status: "unknown".into(),
        height: None,
        index: None,
        receipt: None,
        reason: None,
        sender: None,
        kind: None,
        call: None,
        time_ms: None,
    };
    // A block's writes become readable when it is staged (its record synced), a
    // moment before it is reported; nothing above the reported head is final yet.
    let head = shared.head().height;
    let located = shared.db.tx_location(&hash).map_err(ApiError::from)?;
    if let Some(loc) = located.filter(|l| l.height <= head) {
        let record = shared.db.block_record(loc.height).map_err(ApiError::from)?;
        let receipt = record
            .as_ref()
            .and_then(|r| r.receipts.get(loc.index as usize).cloned());
        if let Some(record) = &record {
            st.time_ms = Some(record.committed.block.header.time_ms);
            if let Some(tx) = record.committed.block.txs.get(loc.index as usize) {
                st.describe(tx);
            }
        }
        st.height = Some(loc.height);
        st.index = Some(loc.index);
        st.status = "final".into();
        match receipt.as_ref().map(|r| &r.outcome) {
            Some(Outcome::Failed(e)) => {
                st.status = "rejected".into();
                st.reason = Some(e.to_string());
            }
            Some(Outcome::Invalid(e)) => {
                st.status = "rejected".into();
                st.reason = Some(e.to_string());
            }
            _ => {}
        }
        st.receipt = receipt;
    } else if let Some(tx) = shared.mempool().get(&hash) {
        st.status = "pending".into();
        st.describe(tx.tx());
    } else if shared.is_committing(&hash) {
        // In a block decided and durable in the block log, not yet reported.
        st.status = "pending".into();
    } else if let Some(reason) = shared.rejections().reason(&hash) {
        st.status = "rejected".into();
        st.reason = Some(reason.to_string());
    }
    Ok(Json(st))
}

/// `GET /v1/txs/{hash}/proof`: the proof that a transaction is in a final block, as
/// JSON and as hex of its canonical bytes (docs/proofs.md). 404 `not_final` unless the
/// transaction is in a final block.
#[utoipa::path(get, path = "/v1/txs/{hash}/proof", tag = "transactions", params(("hash" = String, Path, description = "The transaction hash (64 hex digits)")), responses((status = 200, description = "The proof that the transaction is in a final block", body = TxProofAnswer), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn tx_proof(
    State(shared): State<Arc<Chain>>,
    Path(hash): Path<String>,
) -> ApiResult<Json<TxProofAnswer>> {
    let hash = parse_hash(&hash)?;
    let head = shared.head().height;
    // Building reads and hashes a whole block: keep it off the async workers.
    let db = shared.db.clone();
    let built = tokio::task::spawn_blocking(move || proofs::tx_proof(&db, &hash, head))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let Some(proof) = built else {
        let mut msg = format!(
            "transaction {hash} is not in a final block (pending, refused or unknown); \
             see GET /v1/txs/{hash}"
        );
        let first_kept = shared.db.first_kept();
        if first_kept > 1 {
            msg += &format!(
                "; this node is pruned and keeps blocks from height {first_kept} on: \
                 older transactions are only on an archive node"
            );
        }
        return Err(ApiError::not_found(ErrorCode::NotFinal, msg));
    };
    Ok(Json(TxProofAnswer {
        hash,
        height: proof.header.height,
        index: proof.index,
        proof_hex: hex::encode(proof.encode()),
        proof: serde_json::to_value(&proof).map_err(ApiError::internal)?,
    }))
}

#[utoipa::path(get, path = "/v1/accounts/{addr}", tag = "accounts", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "Nonce, balances and partner record", body = AccountView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn account(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<AccountView>> {
    let addr = parse_address(&addr)?;
    let db = &*shared.db;
    let nonce = db.nonce(&addr).map_err(ApiError::internal)?;
    let held = state::balances(db, &addr).map_err(ApiError::internal)?;
    let partner = db.partner(&addr).map_err(ApiError::internal)?;
    if nonce == 0 && held.is_empty() && partner.is_none() {
        let msg = format!("no account {addr}: it has never held a balance or sent a transaction");
        return Err(ApiError::not_found(ErrorCode::UnknownAccount, msg));
    }
    let mut balances = Vec::with_capacity(held.len());
    for (asset, amount) in held {
        let symbol = db
            .asset(asset)
            .map_err(ApiError::internal)?
            .map(|a| a.symbol);
        balances.push(BalanceView {
            asset,
            symbol,
            amount,
        });
    }
    let partner = partner
        .map(|p| serde_json::to_value(p).map_err(ApiError::internal))
        .transpose()?;
    Ok(Json(AccountView {
        address: addr,
        nonce,
        balances,
        partner,
    }))
}

#[utoipa::path(get, path = "/v1/assets", tag = "assets", responses((status = 200, description = "Every asset", body = AssetsView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn assets(State(shared): State<Arc<Chain>>) -> ApiResult<Json<AssetsView>> {
    let entries = shared
        .db
        .scan_prefix(&[keys::ASSET], ASSETS_LISTED_MAX)
        .map_err(ApiError::internal)?;
    let mut out = Vec::with_capacity(entries.len());
    for (_, v) in entries {
        let a: AssetInfo =
            jeon_runtime::codec::decode(&v, 64 * 1024).map_err(ApiError::internal)?;
        out.push(AssetView::of(&a));
    }
    Ok(Json(AssetsView { assets: out }))
}

#[utoipa::path(get, path = "/v1/assets/{id}", tag = "assets", params(("id" = String, Path, description = "An asset id or symbol")), responses((status = 200, description = "The asset", body = AssetView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn asset(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<AssetView>> {
    let db = &*shared.db;
    let asset_id = match id.parse::<u32>() {
        Ok(n) => Some(AssetId(n)),
        Err(_) => db.asset_by_symbol(&id).map_err(ApiError::internal)?,
    };
    let info = match asset_id {
        Some(a) => db.asset(a).map_err(ApiError::internal)?,
        None => None,
    };
    info.map(|a| Json(AssetView::of(&a))).ok_or_else(|| {
        ApiError::not_found(
            ErrorCode::UnknownAsset,
            format!("no asset with id or symbol {id:?}"),
        )
    })
}

/// A block's view from its stored record: the transaction hashes come from the
/// receipts (hashed once when the record was read), not from hashing every
/// transaction again, and the block is not copied.
fn block_view(record: &BlockRecord) -> ApiResult<BlockView> {
    let cb = &record.committed;
    Ok(BlockView {
        height: cb.block.header.height,
        hash: cb.block.header.hash(),
        header: serde_json::to_value(&cb.block.header).map_err(ApiError::internal)?,
        txs: record.receipts.iter().map(|r| r.tx).collect(),
        certificate: serde_json::to_value(&cb.certificate).map_err(ApiError::internal)?,
    })
}

#[utoipa::path(get, path = "/v1/blocks/latest", tag = "blocks", responses((status = 200, description = "The last final block", body = BlockView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn latest_block(State(shared): State<Arc<Chain>>) -> ApiResult<Json<BlockView>> {
    let head = shared.head();
    block_at(&shared, head.height)
}

#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "blocks", params(("height" = u64, Path, description = "The block height")), responses((status = 200, description = "The final block at that height", body = BlockView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn block(
    State(shared): State<Arc<Chain>>,
    Path(height): Path<String>,
) -> ApiResult<Json<BlockView>> {
    let h: u64 = height.parse().map_err(|_| {
        ApiError::bad(
            ErrorCode::BadHeight,
            format!("height {height:?} is not a number"),
        )
    })?;
    block_at(&shared, h)
}

fn block_at(shared: &Chain, height: u64) -> ApiResult<Json<BlockView>> {
    let head = shared.head().height;
    let record = if height <= head {
        shared.db.block_record(height).map_err(ApiError::from)?
    } else {
        None
    };
    let Some(record) = record else {
        return Err(ApiError::not_found(
            ErrorCode::UnknownBlock,
            format!("no final block at height {height}; the head is {head}"),
        ));
    };
    block_view(&record).map(Json)
}

/// Resident set size now and at peak, from /proc (Linux); `None` elsewhere.
fn rss_bytes() -> (Option<u64>, Option<u64>) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[utoipa::path(get, path = "/v1/status", tag = "node", responses((status = 200, description = "The head, fees and the node's health", body = StatusView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn status(State(shared): State<Arc<Chain>>) -> ApiResult<Json<StatusView>> {
    let chain = shared.clone();
    let (head, fees, validators) = read_state(&shared, move |db, head| {
        let next = head.height + 1;
        let fees = jeon_runtime::fees::FeeRules::load(db, &chain.params, next, head.time_ms)
            .map_err(ApiError::internal)?;
        // The set that signs the next block, as governance left it.
        let validators = chain.validators_at(db, next).map_err(ApiError::internal)?;
        Ok((head, fees, validators.len()))
    })
    .await?;
    let (rss, rss_peak) = rss_bytes();
    let halt = shared.disk.halt();
    Ok(Json(StatusView {
        chain_id: shared.chain_id,
        height: head.height,
        block_hash: head.block_hash,
        app_hash: head.app_hash,
        time_ms: head.time_ms,
        mempool_txs: shared.mempool().len(),
        validators,
        role: if shared.votes() {
            NodeRole::Validator
        } else {
            NodeRole::Read
        },
        signing: serde_json::to_value(signing_shown(shared.votes(), shared.signing()))
            .map_err(ApiError::internal)?,
        fee: FeeInfo {
            asset: fees.asset,
            base_fee: fees.base_fee,
            base_fee_max: fees
                .market
                .as_ref()
                .map_or(fees.base_fee, |m| m.base_fee_max),
        },
        rss_bytes: rss,
        rss_peak_bytes: rss_peak,
        halted: halt.map(|h| h.code().to_string()),
        disk_full: halt == Some(Halt::DiskFull),
        disk_free_bytes: shared.disk.free_bytes(),
    }))
}

/// The signing status `/v1/status` shows: a node outside the set of the height in
/// progress (a validator removed by vote keeps its open signer guard) signs nothing,
/// so an `active` guard shows as `not_validator`; the other states stay visible, since
/// they still hold if a vote adds the key back.
fn signing_shown(votes: bool, status: SigningStatus) -> SigningStatus {
    match status {
        SigningStatus::Active if !votes => SigningStatus::NotValidator,
        other => other,
    }
}

#[utoipa::path(get, path = "/metrics", tag = "node", responses((status = 200, description = "Prometheus text", content_type = "text/plain", body = String)))]
async fn metrics(State(shared): State<Arc<Chain>>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        shared.metrics.encode(),
    )
}

// ---- The economy's queries (docs/economy.md; runtime `economy::query`) ----

/// The most entries one list query returns (`limit` may not exceed it).
const LIST_LIMIT_MAX: usize = jeon_runtime::economy::query::LISTED_MAX;
/// The `limit` of a list query that gives none.
const LIST_LIMIT_DEFAULT: usize = 100;

/// A route's query parameters as its type `T` (`types::*Query`): unknown names,
/// repeated names and malformed strings are 400 `bad_query` with serde's message,
/// which names the parameter.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| Params(q))
            .map_err(|e: QueryRejection| ApiError::bad(ErrorCode::BadQuery, e.body_text()))
    }
}

/// A decimal u64 query parameter, if given.
fn param_u64(value: Option<&String>, name: &str) -> ApiResult<Option<u64>> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::bad(
                    ErrorCode::BadQuery,
                    format!("{name}={v:?} is not a decimal u64"),
                )
            })
        })
        .transpose()
}

/// An address query parameter that must be given.
fn param_address(value: Option<&String>, name: &str) -> ApiResult<Address> {
    let v = value.ok_or_else(|| {
        ApiError::bad(
            ErrorCode::BadQuery,
            format!("missing query parameter {name}"),
        )
    })?;
    parse_address(v)
}

/// `limit`: 1 to [`LIST_LIMIT_MAX`], default [`LIST_LIMIT_DEFAULT`].
fn param_limit(value: Option<&String>) -> ApiResult<usize> {
    match param_u64(value, "limit")? {
        None => Ok(LIST_LIMIT_DEFAULT),
        Some(n) if (1..=LIST_LIMIT_MAX as u64).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::bad(
            ErrorCode::BadQuery,
            format!("limit={n} is not 1 to {LIST_LIMIT_MAX}"),
        )),
    }
}

/// `from`/`to` periods (UTC day indexes); each defaults to the day of the head block.
fn param_periods(shared: &Chain, q: &PeriodQuery) -> ApiResult<(u64, u64)> {
    let today = jeon_runtime::economy::period_of(shared.head().time_ms);
    let from = param_u64(q.from.as_ref(), "from")?;
    let to = param_u64(q.to.as_ref(), "to")?;
    // One bound alone names a single day.
    Ok((from.or(to).unwrap_or(today), to.or(from).unwrap_or(today)))
}

fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::BadRange { .. } => ApiError::bad(ErrorCode::BadRange, e.to_string()),
        QueryError::State(e) => ApiError::internal(e),
    }
}

/// Runs a state query off the async workers (period and history scans read many keys).
async fn read_state<T: Send + 'static>(
    shared: &Arc<Chain>,
    f: impl Fn(&crate::chain::Db, ChainHead) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let chain = shared.clone();
    tokio::task::spawn_blocking(move || chain.read_at_head(f))
        .await
        .map_err(ApiError::internal)?
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::HeadUnsettled { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Busy,
                e.to_string(),
            ),
            StoreError::Pruned { .. } => {
                ApiError::new(StatusCode::GONE, ErrorCode::Pruned, e.to_string())
            }
            StoreError::CorruptBlock { .. }
            | StoreError::DbCorrupt { .. }
            | StoreError::BlockPointerMissing { .. }
            | StoreError::DbBehindBlocks { .. }
            | StoreError::Segment(crate::segments::SegmentError::Corrupt { .. }) => {
                // Never served as data; the operator learns of it from the log.
                tracing::error!(error = %e, "damaged storage: a read was refused");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::StorageCorrupt,
                    e.to_string(),
                )
            }
            other => ApiError::internal(other),
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> ApiResult<Json<Value>> {
    serde_json::to_value(v)
        .map(Json)
        .map_err(ApiError::internal)
}

/// `GET /v1/tax/{jurisdiction}?from=DAY&to=DAY`: the tax withheld per day and asset.
#[utoipa::path(get, path = "/v1/tax/{jurisdiction}", tag = "economy", params(("jurisdiction" = String, Path, description = "A jurisdiction code from genesis"), PeriodQuery), responses((status = 200, description = "Tax withheld per day and asset", body = Object), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn tax(
    State(shared): State<Arc<Chain>>,
    Path(code): Path<String>,
    Params(q): Params<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let (from, to) = param_periods(&shared, &q)?;
    let report = read_state(&shared, move |db, _head| {
        if econ::jurisdiction(db, &code)
            .map_err(ApiError::internal)?
            .is_none()
        {
            let msg = format!("no jurisdiction {code:?}; genesis defines the jurisdictions");
            return Err(ApiError::not_found(ErrorCode::UnknownJurisdiction, msg));
        }
        jeon_runtime::economy::pay::tax_withheld(db, &code, from, to).map_err(query_error)
    })
    .await?;
    to_json(&report)
}

/// Parses `before=HEIGHT.TX_INDEX.EVENT_INDEX` (an entry's `position`).
fn parse_position(s: &str) -> ApiResult<jeon_runtime::economy::history::EventPosition> {
    let bad = || {
        ApiError::bad(
            ErrorCode::BadQuery,
            format!("before={s:?} is not HEIGHT.TX_INDEX.EVENT_INDEX"),
        )
    };
    let mut parts = s.split('.');
    let (Some(h), Some(t), Some(e), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(jeon_runtime::economy::history::EventPosition {
        height: h.parse().map_err(|_| bad())?,
        tx_index: t.parse().map_err(|_| bad())?,
        event_index: e.parse().map_err(|_| bad())?,
    })
}

/// `GET /v1/accounts/{addr}/events?limit=N&before=H.T.E`: the account's history,
/// newest first; `next_before` pages on.
#[utoipa::path(get, path = "/v1/accounts/{addr}/events", tag = "accounts", params(("addr" = String, Path, description = "A jeon1... address"), HistoryQuery), responses((status = 200, description = "The account's history, newest first", body = AccountEventsView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn account_events(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
    Params(q): Params<HistoryQuery>,
) -> ApiResult<Json<AccountEventsView>> {
    let addr = parse_address(&addr)?;
    let limit = param_limit(q.limit.as_ref())?;
    let before = q.before.as_deref().map(parse_position).transpose()?;
    let entries = read_state(&shared, move |db, _head| {
        jeon_runtime::economy::history::account_events(db, &addr, limit, before)
            .map_err(ApiError::internal)
    })
    .await?;
    let next_before = (entries.len() == limit)
        .then(|| entries.last())
        .flatten()
        .map(|e| {
            let p = e.position;
            format!("{}.{}.{}", p.height, p.tx_index, p.event_index)
        });
    let events = entries
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(Json(AccountEventsView {
        account: addr,
        events,
        next_before,
    }))
}

/// `GET /v1/settlement?from=DAY&to=DAY`: gross and net positions between issuers.
#[utoipa::path(get, path = "/v1/settlement", tag = "economy", params(PeriodQuery), responses((status = 200, description = "Gross and net positions between issuers", body = Object), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn settlement(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let (from, to) = param_periods(&shared, &q)?;
    let report = read_state(&shared, move |db, _head| {
        jeon_runtime::economy::exchange::settlement_positions(db, from, to).map_err(query_error)
    })
    .await?;
    to_json(&report)
}

/// `GET /v1/redemptions?issuer=ADDR&limit=N`: the issuer's pending redemptions.
#[utoipa::path(get, path = "/v1/redemptions", tag = "economy", params(RedemptionsQuery), responses((status = 200, description = "The issuer's pending redemptions", body = RedemptionsView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn redemptions(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<RedemptionsQuery>,
) -> ApiResult<Json<RedemptionsView>> {
    let issuer = param_address(q.issuer.as_ref(), "issuer")?;
    let limit = param_limit(q.limit.as_ref())?;
    let pending = read_state(&shared, move |db, _head| {
        jeon_runtime::economy::redeem::pending_redemptions(db, &issuer, limit)
            .map_err(ApiError::internal)
    })
    .await?;
    let redemptions = pending
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(Json(RedemptionsView {
        issuer,
        redemptions,
    }))
}

/// `GET /v1/accounts/{addr}/mandates`: the user's mandates with what each still allows
/// in its current period, as of the head.
#[utoipa::path(get, path = "/v1/accounts/{addr}/mandates", tag = "accounts", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The user's mandates", body = MandatesView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn mandates(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<MandatesView>> {
    let user = parse_address(&addr)?;
    let (head, list) = read_state(&shared, move |db, head| {
        let list =
            jeon_runtime::economy::mandate::mandates_of(db, &user, head.height, head.time_ms)
                .map_err(ApiError::internal)?;
        Ok((head, list))
    })
    .await?;
    Ok(Json(MandatesView {
        user,
        height: head.height,
        mandates: list,
    }))
}

/// `GET /v1/accounts/{addr}/credit`: the account's credit score with its inputs, as
/// of the head, and its credit lines as borrower.
#[utoipa::path(get, path = "/v1/accounts/{addr}/credit", tag = "accounts", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "Credit score and lines", body = CreditView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn credit(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<CreditView>> {
    use jeon_runtime::economy::credit::{credit_lines_of, credit_score};
    let account = parse_address(&addr)?;
    let (head, score, lines) = read_state(&shared, move |db, head| {
        let score = credit_score(db, &account, head.height).map_err(ApiError::internal)?;
        let lines = credit_lines_of(db, &account).map_err(ApiError::internal)?;
        Ok((head, score, lines))
    })
    .await?;
    Ok(Json(CreditView {
        account,
        height: head.height,
        score: serde_json::to_value(score).map_err(ApiError::internal)?,
        lines: lines
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(ApiError::internal)?,
    }))
}

/// `GET /v1/exchanges?limit=N`: every agreement, proposed or active.
#[utoipa::path(get, path = "/v1/exchanges", tag = "economy", params(LimitQuery), responses((status = 200, description = "Exchange agreements", body = ExchangesView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn exchanges(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<LimitQuery>,
) -> ApiResult<Json<ExchangesView>> {
    let limit = param_limit(q.limit.as_ref())?;
    let list = read_state(&shared, move |db, _head| {
        jeon_runtime::economy::exchange::exchanges(db, limit).map_err(ApiError::internal)
    })
    .await?;
    let exchanges = list
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(Json(ExchangesView { exchanges }))
}

/// `GET /v1/rules?merchant=ADDR`: the rules a payment at the merchant applies, in
/// order; without `merchant`, every rule (up to `limit`).
#[utoipa::path(get, path = "/v1/rules", tag = "economy", params(RulesQuery), responses((status = 200, description = "Reward rules", body = RulesView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn rules(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<RulesQuery>,
) -> ApiResult<Json<RulesView>> {
    let limit = param_limit(q.limit.as_ref())?;
    let merchant = q.merchant.as_deref().map(parse_address).transpose()?;
    let list = read_state(&shared, move |db, _head| match merchant {
        Some(m) => {
            jeon_runtime::economy::rewards::merchant_rules(db, &m).map_err(ApiError::internal)
        }
        None => jeon_runtime::economy::rewards::reward_rules(db, limit).map_err(ApiError::internal),
    })
    .await?;
    Ok(Json(RulesView {
        merchant,
        rules: list,
    }))
}

/// `GET /v1/fees?account=ADDR`: the next block's base fee and the fee market; with
/// `account`, its volume, tier and the fee its next transaction pays, and a fee limit
/// that survives a few blocks of rising base fee.
#[utoipa::path(get, path = "/v1/fees", tag = "economy", params(AccountQuery), responses((status = 200, description = "The fee schedule, and an account's fee", body = FeesView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn fees(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<AccountQuery>,
) -> ApiResult<Json<FeesView>> {
    use jeon_runtime::fees::{fee_at, sender_fee, FeeRules};
    let account = q.account.as_deref().map(parse_address).transpose()?;
    let params = shared.params.clone();
    let (rules, sender) = read_state(&shared, move |db, head| {
        let rules = FeeRules::load(db, &params, head.height + 1, head.time_ms)
            .map_err(ApiError::internal)?;
        let sender = account
            .map(|a| sender_fee(db, &rules, &a))
            .transpose()
            .map_err(ApiError::internal)?;
        Ok((rules, sender))
    })
    .await?;
    let account = match (account, sender) {
        (Some(address), Some(f)) => {
            let ceiling = rules
                .market
                .as_ref()
                .map_or(f.fee, |m| fee_at(m.base_fee_max, f.fee_bps));
            let suggested = f
                .fee
                .saturating_mul(FEE_LIMIT_HEADROOM)
                .min(ceiling)
                .max(f.fee);
            Some(AccountFeeView {
                address,
                volume: f.volume,
                tier: f.tier,
                fee_bps: f.fee_bps,
                fee: f.fee,
                suggested_fee_limit: suggested,
            })
        }
        _ => None,
    };
    let market = rules
        .market
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(ApiError::internal)?;
    Ok(Json(FeesView {
        height: rules.height,
        fee_asset: rules.asset,
        base_fee: rules.base_fee,
        market,
        account,
    }))
}

/// The suggested fee limit is this many times the current fee (within the ceiling):
/// the base fee can rise by 1/8 per full block, so twice covers five full blocks.
const FEE_LIMIT_HEADROOM: u64 = 2;

/// `GET /v1/sponsors/{addr}`: the partner's fee sponsorships with what each still
/// covers this period, as of the head.
#[utoipa::path(get, path = "/v1/sponsors/{addr}", tag = "economy", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The partner's fee sponsorships", body = SponsorshipsView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn sponsorships(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<SponsorshipsView>> {
    let sponsor = parse_address(&addr)?;
    let (head, list) = read_state(&shared, move |db, head| {
        let list = jeon_runtime::fees::sponsorships_of(db, &sponsor, head.time_ms)
            .map_err(ApiError::internal)?;
        Ok((head, list))
    })
    .await?;
    let sponsorships = list
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    Ok(Json(SponsorshipsView {
        sponsor,
        height: head.height,
        sponsorships,
    }))
}

/// `GET /v1/accounts/{addr}/sponsorships`: the fee sponsorships that may pay this
/// account's fees, as of the head: those for the account itself, then every partner's
/// all-customers sponsorship (which pays for its calls addressed to that partner).
#[utoipa::path(get, path = "/v1/accounts/{addr}/sponsorships", tag = "accounts", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The sponsorships that may pay the account's fees", body = AccountSponsorshipsView), (status = "4XX", description = "Bad request or not found; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
async fn sponsored_by(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<AccountSponsorshipsView>> {
    let account = parse_address(&addr)?;
    let (head, list) = read_state(&shared, move |db, head| {
        let list = jeon_runtime::fees::sponsorships_for(db, &account, head.time_ms)
            .map_err(ApiError::internal)?;
        Ok((head, list))
    })
    .await?;
    let sponsorships = list
        .into_iter()
        .map(|status| SponsorOfAccount::new(status, head.time_ms))
        .collect();
    Ok(Json(AccountSponsorshipsView {
        account,
        height: head.height,
        sponsorships,
    }))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::requests::decode_hex_fast;
    use super::{signing_shown, SigningStatus};

    #[test]
    fn a_node_outside_the_set_shows_an_active_guard_as_not_validator_and_keeps_the_rest() {
        let refused = SigningStatus::Refused {
            height: 3,
            round: 0,
            step: 1,
        };
        let cases = [
            (true, SigningStatus::Active, SigningStatus::Active),
            (false, SigningStatus::Active, SigningStatus::NotValidator),
            (
                false,
                SigningStatus::NotValidator,
                SigningStatus::NotValidator,
            ),
            (false, refused, refused),
            (true, refused, refused),
        ];
        for (votes, status, shown) in cases {
            assert_eq!(signing_shown(votes, status), shown, "{votes} {status:?}");
        }
    }

    proptest! {
        #[test]
        fn fast_hex_agrees_with_the_hex_crate(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let lower = hex::encode(&bytes);
            prop_assert_eq!(decode_hex_fast(lower.as_bytes()), Some(bytes.clone()));
            let upper = hex::encode_upper(&bytes);
            prop_assert_eq!(decode_hex_fast(upper.as_bytes()), Some(bytes));
        }

        #[test]
        fn fast_hex_refuses_exactly_what_the_hex_crate_refuses(text in "[0-9a-fA-Fg-zG-Z ]{0,12}") {
            prop_assert_eq!(decode_hex_fast(text.as_bytes()), hex::decode(&text).ok());
        }
    }
}
