//! Listings for wallets and explorers: recent blocks (`GET /v1/blocks`) and an
//! account's transactions (`GET /v1/accounts/{addr}/txs`), newest first with a cursor.
//!
//! An account's transactions come from its history index (the runtime's
//! `economy::history`, one entry per event that names the account), grouped by
//! transaction and completed from the stored block (hash, time, sender, call).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use jeon_runtime::economy::history::{account_events, AccountEvent, EventPosition};
use jeon_runtime::economy::BLOCK_EVENTS_TX_INDEX;
use jeon_runtime::{Address, AssetId, Outcome, StateExt};
use serde_json::Value;

use super::types::{
    variant_name, AccountTxView, AccountTxsQuery, AccountTxsView, BlockSummary, BlocksQuery,
    BlocksView, ErrorCode, Movement,
};
use super::{param_u64, parse_address, read_state, ApiError, ApiResult, Params};
use crate::chain::{Chain, Db};
use crate::store::{BlockRecord, StoreError};

/// The most blocks `GET /v1/blocks` lists at once.
pub const BLOCKS_LISTED_MAX: u64 = 100;
/// The blocks `GET /v1/blocks` lists without `limit`.
const BLOCKS_LISTED_DEFAULT: u64 = 20;
/// The most transactions `GET /v1/accounts/{addr}/txs` lists at once.
pub const ACCOUNT_TXS_LISTED_MAX: usize = 100;
/// The transactions listed without `limit`.
const ACCOUNT_TXS_LISTED_DEFAULT: usize = 20;
/// History entries read per step of the walk.
const HISTORY_STEP: usize = 256;
/// The most history entries one answer reads: an account with many events per
/// transaction gets a shorter page and a cursor, not an unbounded walk.
const HISTORY_ENTRIES_READ_MAX: usize = 4_096;

/// `GET /v1/blocks?before=H&limit=N`: final blocks below `before` (default: the head
/// and below), newest first.
#[utoipa::path(get, path = "/v1/blocks", tag = "blocks", params(BlocksQuery),
    responses(
        (status = 200, description = "Block summaries, newest first", body = BlocksView),
        (status = "4XX", description = "bad_query, pruned", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn blocks(
    State(shared): State<Arc<Chain>>,
    Params(q): Params<BlocksQuery>,
) -> ApiResult<Json<BlocksView>> {
    let limit = match param_u64(q.limit.as_ref(), "limit")? {
        None => BLOCKS_LISTED_DEFAULT,
        Some(n) if (1..=BLOCKS_LISTED_MAX).contains(&n) => n,
        Some(n) => {
            let msg = format!("limit={n} is not 1 to {BLOCKS_LISTED_MAX}");
            return Err(ApiError::bad(ErrorCode::BadQuery, msg));
        }
    };
    let before = param_u64(q.before.as_ref(), "before")?;
    let view = read_state(&shared, move |db, head| {
        let top = before.map_or(head.height, |b| b.saturating_sub(1).min(head.height));
        let first_kept = db.first_kept().max(1);
        let mut blocks = Vec::new();
        let mut height = top;
        while height >= first_kept && (blocks.len() as u64) < limit {
            let Some(record) = db.block_record(height)? else {
                break;
            };
            blocks.push(summary(&record));
            height -= 1;
        }
        let next_before = (height >= first_kept && !blocks.is_empty()).then_some(height + 1);
        Ok(BlocksView {
            head: head.height,
            blocks,
            next_before,
        })
    })
    .await?;
    Ok(Json(view))
}

fn summary(record: &BlockRecord) -> BlockSummary {
    let header = &record.committed.block.header;
    BlockSummary {
        height: header.height,
        hash: header.hash(),
        time_ms: header.time_ms,
        proposer: header.proposer,
        txs: record.committed.block.txs.len(),
        events: record
            .receipts
            .iter()
            .map(|r| r.events.len())
            .sum::<usize>()
            + record.block_events.len(),
    }
}

/// Parses `before=HEIGHT.TX_INDEX` (an entry's `cursor`).
fn parse_cursor(s: &str) -> ApiResult<EventPosition> {
    let bad = || {
        ApiError::bad(
            ErrorCode::BadQuery,
            format!("before={s:?} is not HEIGHT.TX_INDEX (a previous page's next_before)"),
        )
    };
    let (h, t) = s.split_once('.').ok_or_else(bad)?;
    Ok(EventPosition {
        height: h.parse().map_err(|_| bad())?,
        tx_index: t.parse().map_err(|_| bad())?,
        event_index: 0,
    })
}

/// `GET /v1/accounts/{addr}/txs?limit=N&before=HEIGHT.TX_INDEX`: the transactions
/// (and end-of-block steps) that moved or named the account, newest first.
#[utoipa::path(get, path = "/v1/accounts/{addr}/txs", tag = "accounts",
    params(("addr" = String, Path, description = "A jeon1... address"), AccountTxsQuery),
    responses(
        (status = 200, description = "The account's transactions, newest first", body = AccountTxsView),
        (status = "4XX", description = "bad_address, bad_query", body = super::types::ErrorBody),
        (status = "5XX", description = "Busy, storage or internal error", body = super::types::ErrorBody),
    ))]
pub(super) async fn account_txs(
    State(shared): State<Arc<Chain>>,
    Path(addr): Path<String>,
    Params(q): Params<AccountTxsQuery>,
) -> ApiResult<Json<AccountTxsView>> {
    let account = parse_address(&addr)?;
    let limit = match param_u64(q.limit.as_ref(), "limit")? {
        None => ACCOUNT_TXS_LISTED_DEFAULT,
        Some(n) if (1..=ACCOUNT_TXS_LISTED_MAX as u64).contains(&n) => n as usize,
        Some(n) => {
            let msg = format!("limit={n} is not 1 to {ACCOUNT_TXS_LISTED_MAX}");
            return Err(ApiError::bad(ErrorCode::BadQuery, msg));
        }
    };
    let page = match (q.before.as_deref(), q.after.as_deref()) {
        (Some(_), Some(_)) => {
            let msg = "give before (older) or after (newer), not both";
            return Err(ApiError::bad(ErrorCode::BadQuery, msg));
        }
        (_, Some(after)) => Page::After(parse_cursor(after)?),
        (before, None) => Page::Before(before.map(parse_cursor).transpose()?),
    };
    let view = read_state(&shared, move |db, _head| {
        account_txs_at(db, &account, limit, page)
    })
    .await?;
    Ok(Json(view))
}

/// Which page of an account's transactions.
#[derive(Clone, Copy, Debug)]
enum Page {
    /// Older than the cursor (from the newest without one).
    Before(Option<EventPosition>),
    /// Newer than the cursor.
    After(EventPosition),
}

/// The events of up to `limit` transactions, grouped, newest first; and whether the
/// history goes on beyond them.
type Groups = Vec<((u64, u32), Vec<AccountEvent>)>;

/// The `limit` transactions nearest to `after` and newer than it, newest first. Walks
/// from the newest entry down to the cursor, at most [`HISTORY_ENTRIES_READ_MAX`]
/// entries.
fn walk_after(db: &Db, account: &Address, limit: usize, after: EventPosition) -> ApiResult<Groups> {
    let mut window: VecDeque<((u64, u32), Vec<AccountEvent>)> = VecDeque::new();
    let mut cursor = None;
    let mut read = 0usize;
    loop {
        let step = account_events(db, account, HISTORY_STEP, cursor).map_err(ApiError::internal)?;
        let exhausted = step.len() < HISTORY_STEP;
        read += step.len();
        for entry in step {
            let key = (entry.position.height, entry.position.tx_index);
            if key <= (after.height, after.tx_index) {
                return Ok(window.into_iter().collect());
            }
            cursor = Some(entry.position);
            if window.back().is_some_and(|(k, _)| *k == key) {
                if let Some((_, events)) = window.back_mut() {
                    events.push(entry);
                }
            } else {
                window.push_back((key, vec![entry]));
                if window.len() > limit {
                    window.pop_front();
                }
            }
        }
        if exhausted {
            return Ok(window.into_iter().collect());
        }
        if read >= HISTORY_ENTRIES_READ_MAX {
            let msg = format!(
                "more than {HISTORY_ENTRIES_READ_MAX} history entries are newer than \
                 after={}.{}; page from the newest with before instead",
                after.height, after.tx_index
            );
            return Err(ApiError::bad(ErrorCode::BadQuery, msg));
        }
    }
}

fn walk_history(
    db: &Db,
    account: &Address,
    limit: usize,
    before: Option<EventPosition>,
) -> ApiResult<(Groups, bool)> {
    let mut groups: Groups = Vec::new();
    let mut cursor = before;
    let mut read = 0usize;
    loop {
        let step = account_events(db, account, HISTORY_STEP, cursor).map_err(ApiError::internal)?;
        let exhausted = step.len() < HISTORY_STEP;
        read += step.len();
        for entry in step {
            let key = (entry.position.height, entry.position.tx_index);
            cursor = Some(entry.position);
            let same = groups.last().is_some_and(|(k, _)| *k == key);
            if same {
                if let Some((_, events)) = groups.last_mut() {
                    events.push(entry);
                }
            } else if groups.len() == limit {
                return Ok((groups, true));
            } else {
                groups.push((key, vec![entry]));
            }
        }
        if exhausted {
            return Ok((groups, false));
        }
        if read >= HISTORY_ENTRIES_READ_MAX {
            // The last group may be cut: leave it for the next page.
            if groups.len() > 1 {
                groups.pop();
            }
            return Ok((groups, true));
        }
    }
}

fn account_txs_at(
    db: &Db,
    account: &Address,
    limit: usize,
    page: Page,
) -> ApiResult<AccountTxsView> {
    let (groups, older, after) = match page {
        Page::Before(before) => {
            let (groups, older) = walk_history(db, account, limit, before)?;
            (groups, older, None)
        }
        // Older than this page is at least the cursor's own transaction.
        Page::After(after) => (walk_after(db, account, limit, after)?, true, Some(after)),
    };
    let mut records: BTreeMap<u64, Option<Arc<BlockRecord>>> = BTreeMap::new();
    let mut txs = Vec::with_capacity(groups.len());
    for ((height, tx_index), events) in &groups {
        if !records.contains_key(height) {
            let record = match db.block_record(*height) {
                Ok(r) => r,
                // The block's body was pruned: the history entry still says what moved.
                Err(StoreError::Pruned { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            records.insert(*height, record);
        }
        let record = records.get(height).and_then(Option::as_ref);
        txs.push(entry_view(db, account, *height, *tx_index, events, record)?);
    }
    let cursor = |(h, t): (u64, u32)| format!("{h}.{t}");
    let next_before = older
        .then(|| groups.last().map(|(k, _)| cursor(*k)))
        .flatten();
    // Newer ones may come at any time: the newest cursor seen is where to ask.
    let next_after = groups
        .first()
        .map(|(k, _)| cursor(*k))
        .or_else(|| after.map(|p| cursor((p.height, p.tx_index))));
    Ok(AccountTxsView {
        account: *account,
        txs,
        next_before,
        next_after,
    })
}

fn entry_view(
    db: &Db,
    account: &Address,
    height: u64,
    tx_index: u32,
    events: &[AccountEvent],
    record: Option<&Arc<BlockRecord>>,
) -> ApiResult<AccountTxView> {
    let block_step = tx_index == BLOCK_EVENTS_TX_INDEX;
    let tx = record
        .filter(|_| !block_step)
        .and_then(|r| r.committed.block.txs.get(tx_index as usize));
    let receipt = record
        .filter(|_| !block_step)
        .and_then(|r| r.receipts.get(tx_index as usize));
    let mut counterparties: Vec<Address> = Vec::new();
    let mut movements = Vec::new();
    for e in events {
        for who in e.event.accounts() {
            if who != *account && !counterparties.contains(&who) {
                counterparties.push(who);
            }
        }
        if let Some(m) = movement(db, &e.event)? {
            movements.push(m);
        }
    }
    Ok(AccountTxView {
        cursor: format!("{height}.{tx_index}"),
        height,
        index: (!block_step).then_some(tx_index),
        hash: receipt.map(|r| r.tx),
        time_ms: record.map(|r| r.committed.block.header.time_ms),
        sender: tx.map(|t| t.body.sender),
        kind: tx
            .and_then(|t| serde_json::to_value(&t.body.call).ok())
            .as_ref()
            .and_then(variant_name),
        success: receipt.map(|r| matches!(r.outcome, Outcome::Success)),
        fee: receipt.map(|r| r.fee),
        counterparties,
        movements,
    })
}

/// What an event moved: its kind, and its `asset` and `amount` fields if it has both.
fn movement(db: &Db, event: &jeon_runtime::Event) -> ApiResult<Option<Movement>> {
    let json = serde_json::to_value(event).map_err(ApiError::internal)?;
    let Some(kind) = variant_name(&json) else {
        return Ok(None);
    };
    let inner = json.get(&kind).cloned().unwrap_or(Value::Null);
    let asset = inner.get("asset").and_then(Value::as_u64);
    let amount = inner.get("amount").and_then(Value::as_u64);
    let (Some(asset), Some(amount)) = (asset, amount) else {
        return Ok(None);
    };
    let asset = AssetId(u32::try_from(asset).map_err(ApiError::internal)?);
    let symbol = db
        .asset(asset)
        .map_err(ApiError::internal)?
        .map(|a| a.symbol);
    let address = |name: &str| {
        inner
            .get(name)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Address>().ok())
    };
    Ok(Some(Movement {
        kind,
        asset,
        symbol,
        amount,
        from: address("from").or_else(|| address("payer")),
        to: address("to").or_else(|| address("merchant")),
    }))
}
