//! `GET /v1/merchants/{addr}/insights?from=P&to=P&period=day|month`: a merchant's own
//! aggregates per period (`crate::insights`: sales by product, active passes and
//! subscriptions, metered units, churn, cashback liability).
//!
//! A route of its own rather than more fields on `/v1/partners/{addr}/daily`: the daily
//! figures walk back only to the first day asked for, while "active at the period's
//! end" and "outstanding since genesis" need the merchant's whole history, and months are
//! a second period kind. The walk reads the merchant's history index (the entries
//! `/v1/accounts/{addr}/events` lists) back to genesis, bounded by
//! [`INSIGHTS_EVENTS_READ_MAX`] entries and [`INSIGHTS_BLOCKS_READ_MAX`] distinct blocks
//! (for their times); beyond either the answer says `complete: false`. At partner scale
//! the same figures come from PostgreSQL (`jeon index --postgres`, docs/indexer.md).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::economy::history::{account_events, EventPosition};
use jeon_runtime::Address;

use super::types::{BlockEventsView, InsightsQuery, MerchantInsightsView, PeriodKind};
use super::{parse_address, read_state, ApiError, ApiResult, ErrorCode, Params};
use crate::chain::{Chain, Db};
use crate::insights::{fold, is_month, period_at, Dated};

/// History entries one answer reads at most.
pub(super) const INSIGHTS_EVENTS_READ_MAX: usize = 50_000;
/// Distinct blocks one answer reads (for their times) at most.
pub(super) const INSIGHTS_BLOCKS_READ_MAX: usize = 5_000;
/// Days one answer covers at most.
pub(super) const INSIGHTS_DAYS_MAX: u64 = 366;
/// Months one answer covers at most.
pub(super) const INSIGHTS_MONTHS_MAX: u64 = 36;
/// History entries read per step of the walk.
const STEP: usize = 1_000;

/// `GET /v1/merchants/{addr}/insights`.
#[utoipa::path(get, path = "/v1/merchants/{addr}/insights", tag = "economy",
    params(("addr" = String, Path, description = "A jeon1... address (a merchant)"), InsightsQuery),
    responses(
        (status = 200, description = "The merchant's sales, active passes and subscriptions, metered units, churn and cashback per period", body = MerchantInsightsView),
        (status = "4XX", description = "bad_address, bad_query, bad_range", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn merchant(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
    Params(q): Params<InsightsQuery>,
) -> ApiResult<Json<MerchantInsightsView>> {
    let merchant = parse_address(&addr)?;
    let kind = match q.period.as_deref() {
        None | Some("day") => PeriodKind::Day,
        Some("month") => PeriodKind::Month,
        Some(other) => {
            return Err(ApiError::bad(
                ErrorCode::BadQuery,
                format!("period {other:?} is neither \"day\" nor \"month\""),
            ))
        }
    };
    let (from, to) = range(&shared, &q, kind)?;
    let view = read_state(&shared, move |db, head| {
        let (events, complete) = history(db, &merchant)?;
        Ok(MerchantInsightsView {
            merchant,
            period: kind,
            from_period: from,
            to_period: to,
            height: head.height,
            complete,
            periods: fold(&merchant, &events, kind, from, to),
        })
    })
    .await?;
    Ok(Json(view))
}

/// The periods asked for, checked: months must be `YYYYMM`, the range ordered and short.
fn range(shared: &Chain, q: &InsightsQuery, kind: PeriodKind) -> ApiResult<(u64, u64)> {
    let parse = |v: Option<&String>, name: &str| -> ApiResult<Option<u64>> {
        v.map(|s| {
            s.parse::<u64>().map_err(|_| {
                ApiError::bad(
                    ErrorCode::BadQuery,
                    format!("{name} {s:?} is not a period number"),
                )
            })
        })
        .transpose()
    };
    let now = period_at(kind, shared.head().time_ms);
    let from = parse(q.from.as_ref(), "from")?;
    let to = parse(q.to.as_ref(), "to")?;
    let (from, to) = (from.or(to).unwrap_or(now), to.or(from).unwrap_or(now));
    let (count, max) = match kind {
        PeriodKind::Day => (to.checked_sub(from), INSIGHTS_DAYS_MAX),
        PeriodKind::Month => {
            for p in [from, to] {
                if !is_month(p) {
                    return Err(ApiError::bad(
                        ErrorCode::BadQuery,
                        format!("{p} is not a month: write it YYYYMM, e.g. 202612"),
                    ));
                }
            }
            let months = |p: u64| (p / 100) * 12 + p % 100;
            (months(to).checked_sub(months(from)), INSIGHTS_MONTHS_MAX)
        }
    };
    match count {
        Some(n) if n < max => Ok((from, to)),
        _ => Err(ApiError::bad(
            ErrorCode::BadRange,
            format!(
                "periods {from}..={to} ({}): the first must not be after the last, and at most {max} at once",
                kind.as_str()
            ),
        )),
    }
}

/// The merchant's history in chain order, each event dated by its block; and whether the
/// walk reached genesis.
fn history(db: &Db, merchant: &Address) -> ApiResult<(Vec<Dated>, bool)> {
    let mut out: Vec<Dated> = Vec::new();
    let mut cursor: Option<EventPosition> = None;
    let mut blocks = 0usize;
    let mut time: Option<(u64, u64)> = None; // (height, time) of the last block read
    let complete = 'walk: loop {
        let step = account_events(db, merchant, STEP, cursor).map_err(ApiError::internal)?;
        let exhausted = step.len() < STEP;
        for entry in step {
            cursor = Some(entry.position);
            let height = entry.position.height;
            let time_ms = match time {
                Some((h, t)) if h == height => t,
                _ => {
                    if blocks == INSIGHTS_BLOCKS_READ_MAX {
                        break 'walk false;
                    }
                    blocks += 1;
                    let Some(record) = db.block_record(height).map_err(ApiError::internal)? else {
                        break 'walk false; // pruned: older events cannot be dated
                    };
                    let t = record.committed.block.header.time_ms;
                    time = Some((height, t));
                    t
                }
            };
            out.push(Dated {
                time_ms,
                height,
                tx_index: entry.position.tx_index,
                event: entry.event,
            });
            if out.len() == INSIGHTS_EVENTS_READ_MAX {
                break 'walk false;
            }
        }
        if exhausted {
            break true;
        }
    };
    out.reverse();
    Ok((out, complete))
}

/// `GET /v1/blocks/{height}/events`: what an indexer needs of one final block in one
/// request: its time and hash, each transaction's receipt (outcome, fee, events) and
/// the end-of-block events.
#[utoipa::path(get, path = "/v1/blocks/{height}/events", tag = "blocks",
    params(("height" = u64, Path, description = "The block height")),
    responses(
        (status = 200, description = "The block's receipts and end-of-block events", body = BlockEventsView),
        (status = "4XX", description = "bad_height, unknown_block", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn block_events(
    State(shared): State<Arc<Chain>>,
    Path(height): Path<String>,
) -> ApiResult<Json<BlockEventsView>> {
    let h: u64 = height.parse().map_err(|_| {
        ApiError::bad(
            ErrorCode::BadHeight,
            format!("height {height:?} is not a number"),
        )
    })?;
    let head = shared.head().height;
    let record = if h <= head {
        shared.db.block_record(h).map_err(ApiError::from)?
    } else {
        None
    };
    let Some(record) = record else {
        return Err(ApiError::not_found(
            ErrorCode::UnknownBlock,
            format!("no final block at height {h}; the head is {head}"),
        ));
    };
    let record = Arc::unwrap_or_clone(record);
    let header = &record.committed.block.header;
    let (height, hash, time_ms) = (header.height, header.hash(), header.time_ms);
    // Serialised straight from the record (no JSON tree in between): a block of 10,000
    // payments holds some 500,000 events.
    Ok(Json(BlockEventsView {
        height,
        hash,
        time_ms,
        receipts: record.receipts,
        block_events: record.block_events,
    }))
}
