//! Asking before paying: `POST /v1/txs/simulate` runs a transaction against the head
//! state without committing or charging anything, and `GET /v1/invoices/{merchant}/{id}`
//! says whether a payment link is already paid.
//!
//! A simulation is the runtime's own `execute_block` over the committed state, as the
//! next block with this transaction alone: every write goes into the runtime's
//! overlay, which is dropped. So the receipt is the one the transaction would get if it
//! were the next block's only transaction (other transactions in that block, or
//! pending ones of the same sender, may change the outcome).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::execute::{execute_block, BlockContext};
use jeon_runtime::{Address, Hash, Outcome, Receipt, SignedTx};
use serde_json::Value;

use super::types::{ErrorCode, InvoiceStatus, SimulateAnswer, SimulateStatus, SimulatedError};
use super::{parse_address, parse_body, read_state, requests, tx_error_code, ApiError, ApiResult};
use crate::chain::{Chain, Db};
use crate::store::ChainHead;

/// `POST /v1/txs/simulate`: the receipt the transaction would get in the next block.
#[utoipa::path(post, path = "/v1/txs/simulate", tag = "transactions",
    request_body = super::types::SubmitRequest,
    responses(
        (status = 200, description = "The receipt it would get, and the fee it would pay; nothing is written", body = SimulateAnswer),
        (status = "4XX", description = "The body is not a transaction (bad_hex, malformed_tx, malformed_json)", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn simulate(
    State(shared): State<Arc<Chain>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<SimulateAnswer>> {
    let body: requests::SubmitBody = parse_body(body)?;
    let tx = requests::decode_hex_tx(&body.tx)?;
    let chain = shared.clone();
    let now_ms = crate::driver::now_ms();
    let answer = read_state(&shared, move |db, head| {
        simulate_at(&chain, db, head, tx.clone(), now_ms)
    })
    .await?;
    Ok(Json(answer))
}

/// Runs `tx` as the only transaction of the block after `head`.
fn simulate_at(
    chain: &Chain,
    db: &Db,
    head: ChainHead,
    tx: SignedTx,
    now_ms: u64,
) -> ApiResult<SimulateAnswer> {
    let hash = tx.hash();
    let height = head.height + 1;
    let receipt = match tx.verify(&chain.chain_id) {
        Err(e) => Receipt {
            tx: hash,
            outcome: Outcome::Invalid(e),
            fee: 0,
            events: vec![],
        },
        Ok(verified) => {
            let proposer = chain
                .validators_at(db, height)
                .map_err(ApiError::internal)?
                .first()
                .map_or(Address([0; 32]), |v| v.key);
            let ctx = BlockContext {
                chain_id: chain.chain_id,
                height,
                time_ms: now_ms.max(head.time_ms),
                proposer,
            };
            // The overlay's writes are returned in the output and dropped here.
            let output = execute_block(db, &ctx, &[verified]).map_err(ApiError::internal)?;
            output
                .receipts
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::internal("execution returned no receipt"))?
        }
    };
    Ok(answer(hash, height, receipt))
}

fn answer(hash: Hash, height: u64, receipt: Receipt) -> SimulateAnswer {
    let (status, error) = match &receipt.outcome {
        Outcome::Success => (SimulateStatus::Success, None),
        Outcome::Failed(e) => {
            // The wire form of a `CallError` is `"variant"` or `{"variant": {...}}`.
            let code = match serde_json::to_value(e) {
                Ok(Value::String(s)) => s,
                Ok(Value::Object(o)) => o.keys().next().cloned().unwrap_or_default(),
                _ => String::new(),
            };
            let error = SimulatedError {
                code,
                message: e.to_string(),
            };
            (SimulateStatus::Failed, Some(error))
        }
        Outcome::Invalid(e) => {
            let error = SimulatedError {
                code: tx_error_code(e).as_str().to_string(),
                message: e.to_string(),
            };
            (SimulateStatus::Invalid, Some(error))
        }
    };
    SimulateAnswer {
        hash,
        height,
        status,
        fee: receipt.fee,
        error,
        receipt,
    }
}

/// `GET /v1/invoices/{merchant}/{id}`: whether the merchant's invoice `id` is paid.
#[utoipa::path(get, path = "/v1/invoices/{merchant}/{id}", tag = "economy",
    params(
        ("merchant" = String, Path, description = "The merchant's jeon1... address"),
        ("id" = u64, Path, description = "The invoice id the merchant gave the link"),
    ),
    responses(
        (status = 200, description = "Paid or not, as of the head", body = InvoiceStatus),
        (status = "4XX", description = "bad_address, bad_query", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn invoice(
    State(shared): State<Arc<Chain>>,
    Path((merchant, id)): Path<(String, String)>,
) -> ApiResult<Json<InvoiceStatus>> {
    let merchant = parse_address(&merchant)?;
    let invoice_id: u64 = id.parse().map_err(|_| {
        ApiError::bad(
            ErrorCode::BadQuery,
            format!("invoice id {id:?} is not a decimal u64"),
        )
    })?;
    let key = jeon_runtime::economy::links::storage::paid_invoice(&merchant, invoice_id);
    let (head, paid_at) = read_state(&shared, move |db, head| {
        let paid_at: Option<u64> =
            jeon_runtime::state::read_record(db, &key).map_err(ApiError::internal)?;
        Ok((head, paid_at))
    })
    .await?;
    Ok(Json(InvoiceStatus {
        merchant,
        invoice_id,
        paid: paid_at.is_some(),
        paid_at,
        height: head.height,
    }))
}
