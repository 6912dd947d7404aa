//! Carrier billing routes: a line with its statements per period, and the lines an
//! account uses or carries, as of the head (docs/api.md, docs/economy.md §14).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::goods::carrier;

use super::types::{ErrorBody, ErrorCode, LineView, LinesView};
use super::{parse_address, read_state, ApiError, ApiResult};
use crate::chain::Chain;

/// `GET /v1/lines/{id}`: a carrier line, the period current at the head, and its
/// statements by period (what was charged, how many purchases, the carrier's cashback,
/// whether and how it was settled).
#[utoipa::path(get, path = "/v1/lines/{id}", tag = "goods", params(("id" = u64, Path, description = "The carrier line's id")), responses((status = 200, description = "The line and its statements", body = LineView), (status = "4XX", description = "Bad id or unknown line; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn line(
    State(shared): State<Arc<Chain>>,
    Path(id): Path<String>,
) -> ApiResult<Json<LineView>> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad(ErrorCode::BadId, format!("{id:?} is not a carrier line id")))?;
    let (head, found) = read_state(&shared, move |db, head| {
        let Some(l) = carrier::line(db, id).map_err(ApiError::internal)? else {
            return Ok((head, None));
        };
        let statements =
            carrier::statements_of(db, &l, head.time_ms).map_err(ApiError::internal)?;
        Ok((head, Some((l, statements))))
    })
    .await?;
    let (line, statements) = found.ok_or_else(|| {
        ApiError::not_found(
            ErrorCode::UnknownCarrierLine,
            format!("no carrier line {id}"),
        )
    })?;
    Ok(Json(LineView {
        height: head.height,
        time_ms: head.time_ms,
        period: line.period_at(head.time_ms),
        line,
        statements,
    }))
}

/// `GET /v1/accounts/{addr}/lines`: the carrier lines an account uses or carries.
#[utoipa::path(get, path = "/v1/accounts/{addr}/lines", tag = "goods", params(("addr" = String, Path, description = "A jeon1... address")), responses((status = 200, description = "The account's carrier lines", body = LinesView), (status = "4XX", description = "Bad address; see docs/api.md, Errors", body = ErrorBody), (status = "5XX", description = "Busy, storage or internal error", body = ErrorBody)))]
pub(super) async fn lines(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
) -> ApiResult<Json<LinesView>> {
    let account = parse_address(&addr)?;
    let (height, lines) = read_state(&shared, move |db, head| {
        let list = carrier::lines_of(db, &account).map_err(ApiError::internal)?;
        Ok((head.height, list))
    })
    .await?;
    Ok(Json(LinesView {
        account,
        height,
        lines,
    }))
}
