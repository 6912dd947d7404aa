//! `GET /v1/partners/{addr}/daily?from=DAY&to=DAY`: one partner's own figures per
//! day, for its dashboard (docs/web.md): payments it received as a merchant (count,
//! gross, tax withheld, per money asset), cashback it issued as an issuer (per credit),
//! redemptions of its credits (requested, settled, rejected, refunded at their
//! deadline), and what its fee sponsorships paid (read from the runtime's per-day
//! record of each sponsor, `fees::sponsored_days`: fees are not in the history index).
//!
//! Summed from the partner's own history index (the entries `/v1/accounts/{addr}/events`
//! lists), newest first, down to the first day asked for, so a dashboard asks one
//! question instead of paging through the history itself. The walk is bounded: at most
//! [`DAILY_EVENTS_READ_MAX`] history entries and [`DAILY_BLOCKS_READ_MAX`] distinct
//! blocks (for their times); beyond either, the answer says `complete: false` and covers
//! the newest days it reached.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::economy::history::{account_events, EventPosition};
use jeon_runtime::economy::query::QueryError;
use jeon_runtime::economy::{period_of, QUERY_PERIODS_MAX};
use jeon_runtime::fees::sponsored_days;
use jeon_runtime::{Address, AssetId, Event};

use super::types::{
    DailyCashback, DailyFigures, DailyPayments, DailyRedemptions, DailySponsored, PartnerDailyView,
    PeriodQuery,
};
use super::{param_periods, parse_address, query_error, read_state, ApiError, ApiResult, Params};
use crate::chain::{Chain, Db};

/// History entries one answer reads at most.
const DAILY_EVENTS_READ_MAX: usize = 100_000;
/// Distinct blocks one answer reads (for their times) at most.
const DAILY_BLOCKS_READ_MAX: usize = 5_000;
/// History entries read per step of the walk.
const DAILY_STEP: usize = 1_000;

/// `GET /v1/partners/{addr}/daily`.
#[utoipa::path(get, path = "/v1/partners/{addr}/daily", tag = "economy",
    params(("addr" = String, Path, description = "A jeon1... address (a merchant or issuer)"), PeriodQuery),
    responses(
        (status = 200, description = "The partner's payments, cashback and redemptions per day", body = PartnerDailyView),
        (status = "4XX", description = "bad_address, bad_query, bad_range", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn partner_daily(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
    Params(q): Params<PeriodQuery>,
) -> ApiResult<Json<PartnerDailyView>> {
    let partner = parse_address(&addr)?;
    let (from, to) = param_periods(&shared, &q)?;
    if from > to || to - from >= QUERY_PERIODS_MAX {
        return Err(query_error(QueryError::BadRange {
            from,
            to,
            max: QUERY_PERIODS_MAX,
        }));
    }
    let view = read_state(&shared, move |db, _head| daily_at(db, &partner, from, to)).await?;
    Ok(Json(view))
}

/// What one day sums, keyed by asset where it has one.
#[derive(Default)]
struct Day {
    payments: BTreeMap<AssetId, DailyPayments>,
    cashback: BTreeMap<AssetId, u128>,
    redemptions: DailyRedemptions,
    sponsored: DailySponsored,
}

fn daily_at(db: &Db, partner: &Address, from: u64, to: u64) -> ApiResult<PartnerDailyView> {
    let mut days: BTreeMap<u64, Day> = BTreeMap::new();
    let mut cursor: Option<EventPosition> = None;
    let (mut read, mut blocks) = (0usize, 0usize);
    let mut time: Option<(u64, u64)> = None; // (height, day) of the last block read
    let complete = 'walk: loop {
        let step = account_events(db, partner, DAILY_STEP, cursor).map_err(ApiError::internal)?;
        let exhausted = step.len() < DAILY_STEP;
        for entry in step {
            cursor = Some(entry.position);
            read += 1;
            let height = entry.position.height;
            let day = match time {
                Some((h, d)) if h == height => d,
                _ => {
                    if blocks == DAILY_BLOCKS_READ_MAX {
                        break 'walk false;
                    }
                    blocks += 1;
                    let Some(record) = db.block_record(height).map_err(ApiError::internal)? else {
                        // Pruned: older days cannot be dated.
                        break 'walk false;
                    };
                    let d = period_of(record.committed.block.header.time_ms);
                    time = Some((height, d));
                    d
                }
            };
            if day < from {
                break 'walk true;
            }
            if day <= to {
                add(days.entry(day).or_default(), partner, &entry.event);
            }
            if read == DAILY_EVENTS_READ_MAX {
                break 'walk false;
            }
        }
        if exhausted {
            break true;
        }
    };
    // Fees are not in the history index: the sponsor's own per-day record has them.
    for (day, paid) in sponsored_days(db, partner, from, to).map_err(ApiError::internal)? {
        days.entry(day).or_default().sponsored = DailySponsored {
            txs: paid.txs,
            fees: u128::from(paid.fees),
        };
    }
    Ok(PartnerDailyView {
        partner: *partner,
        from_period: from,
        to_period: to,
        complete,
        days: days
            .into_iter()
            .map(|(period, d)| figures(period, d))
            .collect(),
    })
}

/// Counts one history event of the partner into its day.
fn add(day: &mut Day, partner: &Address, event: &Event) {
    match event {
        Event::Paid(p) if p.merchant == *partner => {
            let e = day.payments.entry(p.asset).or_insert(DailyPayments {
                asset: p.asset,
                count: 0,
                gross: 0,
                tax: 0,
            });
            e.count += 1;
            e.gross = e.gross.saturating_add(u128::from(p.amount));
            e.tax = e.tax.saturating_add(u128::from(p.tax));
        }
        Event::RewardGranted(r) if r.issuer == *partner => {
            let sum = day.cashback.entry(r.asset).or_default();
            *sum = sum.saturating_add(u128::from(r.amount));
        }
        Event::RedemptionRequested(r) if r.issuer == *partner => day.redemptions.requested += 1,
        Event::RedemptionSettled(r) if r.issuer == *partner => day.redemptions.settled += 1,
        Event::RedemptionRejected(r) if r.issuer == *partner => day.redemptions.rejected += 1,
        Event::RedemptionExpired(r) if r.issuer == *partner => day.redemptions.expired += 1,
        _ => {}
    }
}

fn figures(period: u64, d: Day) -> DailyFigures {
    DailyFigures {
        period,
        payments: d.payments.into_values().collect(),
        cashback: d
            .cashback
            .into_iter()
            .map(|(asset, amount)| DailyCashback { asset, amount })
            .collect(),
        redemptions: d.redemptions,
        sponsored: d.sponsored,
    }
}
