//! `GET /v1/events`: final events as server-sent events, each with an `id:`, resumable
//! with `Last-Event-ID` from the stored blocks.
//!
//! Every event is a default (`message`) SSE event, so a browser's
//! `EventSource.onmessage` sees it; its `data` names its `kind`. An event's id is
//! `HEIGHT-N`: the block's height and the event's place among the block's events
//! (receipts' events in order, then the block's own), so ids increase along the stream.
//!
//! A subscriber follows the live broadcast; whenever it is behind (it resumed from an
//! id, or fell behind the broadcast's ring of [`crate::handle::EVENTS_CHANNEL_BLOCKS_MAX`]
//! blocks) it is caught up from the stored block records, a bounded chunk at a time,
//! so it misses nothing and nothing is buffered for it beyond one chunk.
//!
//! A task per subscriber takes the live broadcast as it comes and queues the messages
//! for the response body, counting their bytes. A subscriber that stops reading (or
//! reads slower than events arrive) lets the queue grow; once a new block finds it
//! still holding unsent events and its bytes pass `api_sse_queue_bytes_max`
//! ([`crate::http::SSE_QUEUE_BYTES_MAX`]), the subscriber is cut off through its
//! connection's [`ConnectionCut`], without waiting for the write-stall timeout. A
//! block's events are queued whole, so a subscriber that keeps up is never cut off by a
//! large block. Catch-up from the store is paced by the client instead: it reads a
//! chunk only when the queue is below half the bound.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::{self, Stream};
use jeon_runtime::Address;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use super::types::{ErrorCode, EventsQuery};
use super::{parse_address, ApiError, ApiResult, Params, EVENT_SUBSCRIBERS_MAX};
use crate::chain::{Chain, FinalEvent};
use crate::handle::{ApiHandle, EventBatch};
use crate::http::{ConnectionCut, SSE_QUEUE_BYTES_MAX};
use crate::store::StoreError;

/// How far back `Last-Event-ID` may resume: the last this many blocks (and only those
/// the node keeps; a pruned node keeps fewer). An older id gets a `gap` message.
pub const EVENTS_RESUME_BLOCKS_MAX: u64 = 10_000;
/// A catch-up from the store reads blocks until it has at least this many events (or
/// reaches the head) before sending them: what a subscriber may have buffered.
const CATCH_UP_EVENTS_MAX: usize = 1_024;
/// ... and at most this many blocks per read, so that a filtered stream over blocks
/// without its account's events still yields the worker now and then.
const CATCH_UP_BLOCKS_MAX: u64 = 256;

/// A place in the stream: an event's block height and its index among the block's
/// events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventId {
    /// The block's height.
    pub height: u64,
    /// The event's index among the block's events.
    pub n: u64,
}

impl EventId {
    /// Parses `HEIGHT-N`.
    pub fn parse(s: &str) -> Option<EventId> {
        let (h, n) = s.trim().split_once('-')?;
        Some(EventId {
            height: h.parse().ok()?,
            n: n.parse().ok()?,
        })
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.height, self.n)
    }
}

/// Where to resume: `Last-Event-ID` (what a browser's `EventSource` sends when it
/// reconnects), else the `last_event_id` parameter (for a first connection, where
/// `EventSource` cannot set headers).
fn resume_from(headers: &HeaderMap, query: Option<&String>) -> ApiResult<Option<EventId>> {
    let header = headers
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let Some(given) = header.or_else(|| query.cloned()) else {
        return Ok(None);
    };
    if given.trim().is_empty() {
        return Ok(None);
    }
    EventId::parse(&given).map(Some).ok_or_else(|| {
        ApiError::bad(
            ErrorCode::BadEventId,
            format!("event id {given:?} is not HEIGHT-N (an `id:` this stream sent)"),
        )
    })
}

/// `GET /v1/events?account=ADDR&last_event_id=H-N`.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery, ("Last-Event-ID" = Option<String>, Header, description = "Resume after this id (HEIGHT-N)")), responses((status = 200, description = "Server-sent events: default message type, `id: HEIGHT-N`, JSON data with `kind` (docs/api.md)", content_type = "text/event-stream", body = String), (status = "4XX", description = "Bad query, bad event id or too many subscribers", body = super::types::ErrorBody)))]
pub(super) async fn events(
    State((api, slots)): State<(ApiHandle, Arc<Semaphore>)>,
    cut: Option<Extension<ConnectionCut>>,
    headers: HeaderMap,
    Params(q): Params<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let account = q.account.as_deref().map(parse_address).transpose()?;
    let resume = resume_from(&headers, q.last_event_id.as_ref())?;
    let permit = slots.try_acquire_owned().map_err(|_| {
        let msg = format!("at most {EVENT_SUBSCRIBERS_MAX} event streams may be open");
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::TooManySubscribers,
            msg,
        )
    })?;
    // Subscribed before the head is read: every block above it reaches the receiver.
    let rx = api.subscribe_events();
    let chain = api.chain.clone();
    let head = chain.head().height;
    let mut follow = Follow {
        chain,
        rx,
        account,
        next: EventId {
            height: head + 1,
            n: 0,
        },
        catch_up_to: None,
        pending: VecDeque::new(),
        failed: false,
        queued: Arc::new(AtomicUsize::new(0)),
        _permit: permit,
    };
    if let Some(id) = resume {
        // `0-0` (before block 1) replays everything the node still replays.
        follow.next = if id.height == 0 {
            EventId { height: 1, n: 0 }
        } else {
            EventId {
                height: id.height,
                n: id.n.saturating_add(1),
            }
        };
        if follow.next.height <= head {
            follow.catch_up_to = Some(head);
            let oldest = head
                .saturating_sub(EVENTS_RESUME_BLOCKS_MAX - 1)
                .max(follow.chain.db.first_kept())
                .max(1);
            follow.skip_to(oldest, "the id is older than the blocks this node replays");
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = follow.queued.clone();
    let drained = Arc::new(Notify::new());
    tokio::spawn(feed(follow, tx, drained.clone(), cut.map(|Extension(c)| c)));
    let stream = stream::unfold(
        (rx, queued, drained),
        |(mut rx, queued, drained)| async move {
            let Queued { event, bytes, .. } = rx.recv().await?;
            queued.fetch_sub(bytes, Ordering::SeqCst);
            drained.notify_one();
            Some((Ok(event), (rx, queued, drained)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A message queued for a subscriber, with its size.
struct Queued {
    event: SseEvent,
    /// Its bytes on the wire, about.
    bytes: usize,
    /// A live event of a block that found the queue not yet drained: if the queue is
    /// over its bound, the subscriber is cut off.
    cut_if_over: bool,
}

impl Queued {
    /// A message that is never a reason to cut off (a gap or error notice).
    fn notice(data: String) -> Queued {
        Queued {
            bytes: data.len() + 8,
            event: SseEvent::default().data(data),
            cut_if_over: false,
        }
    }
}

/// Moves `f`'s messages into the response's queue until the client goes away, or cuts
/// it off when it falls [`ConnectionCut::sse_queue_bytes_max`] behind.
async fn feed(
    mut f: Follow,
    tx: mpsc::UnboundedSender<Queued>,
    drained: Arc<Notify>,
    cut: Option<ConnectionCut>,
) {
    let max = cut
        .as_ref()
        .map_or(SSE_QUEUE_BYTES_MAX, |c| c.sse_queue_bytes_max);
    loop {
        // Catching up from the store: only as fast as the client takes it.
        while f.catch_up_to.is_some() && f.queued.load(Ordering::SeqCst) >= max / 2 {
            tokio::select! {
                () = drained.notified() => {}
                () = tx.closed() => return,
            }
        }
        let next = tokio::select! {
            next = f.next_event() => next,
            () = tx.closed() => return,
        };
        let Some(item) = next else {
            return;
        };
        let before = f.queued.fetch_add(item.bytes, Ordering::SeqCst);
        if item.cut_if_over && before + item.bytes > max {
            tracing::debug!(
                queued = before,
                max,
                "event subscriber cut off: it takes its events too slowly"
            );
            if let Some(cut) = &cut {
                cut.cut();
            }
            return;
        }
        if tx.send(item).is_err() {
            return;
        }
    }
}

/// One subscriber's stream.
struct Follow {
    chain: Arc<Chain>,
    rx: broadcast::Receiver<EventBatch>,
    account: Option<Address>,
    /// The next event to send.
    next: EventId,
    /// Read the store up to this height before taking the broadcast again.
    catch_up_to: Option<u64>,
    /// Messages ready to send.
    pending: VecDeque<Queued>,
    /// The store failed: end the stream once `pending` is sent.
    failed: bool,
    /// Bytes queued for the response and not yet taken by it.
    queued: Arc<AtomicUsize>,
    /// The subscriber slot, freed when the stream is dropped.
    _permit: OwnedSemaphorePermit,
}

impl Follow {
    /// The next message; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Queued> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if self.failed {
                return None;
            }
            if let Some(to) = self.catch_up_to {
                if self.next.height > to {
                    self.catch_up_to = None;
                } else if !self.catch_up(to).await {
                    return None;
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(batch) => self.take_batch(&batch),
                // Fallen behind the ring: the store has every block it skipped.
                Err(RecvError::Lagged(_)) => self.catch_up_to = Some(self.chain.head().height),
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Queues a live block's events from `next` on.
    fn take_batch(&mut self, batch: &[FinalEvent]) {
        let Some(height) = batch.first().map(|e| e.height) else {
            return;
        };
        if height < self.next.height {
            return; // already sent from the store
        }
        let from = if height == self.next.height {
            self.next.n
        } else {
            0
        };
        // A block that finds the subscriber still holding unsent events.
        let behind = self.queued.load(Ordering::SeqCst) > 0;
        for (n, e) in batch.iter().enumerate().skip(from as usize) {
            let id = EventId {
                height,
                n: n as u64,
            };
            self.push(id, e, behind);
        }
        self.next = EventId {
            height: height + 1,
            n: 0,
        };
    }

    /// Queues the event if it passes the account filter; `live_behind`: a live event
    /// of a block that found the subscriber behind (see [`Queued::cut_if_over`]).
    fn push(&mut self, id: EventId, e: &FinalEvent, live_behind: bool) {
        if self
            .account
            .is_some_and(|a| !e.event.accounts().contains(&a))
        {
            return;
        }
        let (event, bytes) = message(id, e);
        self.pending.push_back(Queued {
            event,
            bytes,
            cut_if_over: live_behind,
        });
    }

    /// Moves `next` up to `oldest` if it is below, with a `gap` message saying so.
    fn skip_to(&mut self, oldest: u64, reason: &str) {
        if self.next.height >= oldest {
            return;
        }
        let data = json!({
            "kind": "gap",
            "missed_from_height": self.next.height,
            "resume_height": oldest,
            "reason": reason,
        });
        self.pending.push_back(Queued::notice(data.to_string()));
        self.next = EventId {
            height: oldest,
            n: 0,
        };
    }

    /// Reads one chunk of stored blocks from `next` towards `to` and queues their
    /// events; `false` when the store failed (the stream ends with an `error` message).
    async fn catch_up(&mut self, to: u64) -> bool {
        let chain = self.chain.clone();
        let from = self.next;
        let read = tokio::task::spawn_blocking(move || read_chunk(&chain, from, to)).await;
        match read {
            Ok(Ok((events, last))) => {
                for (id, e) in events {
                    self.push(id, &e, false);
                }
                if last < from.height {
                    // Nothing stored there (cannot happen below the head): go live.
                    self.catch_up_to = None;
                } else {
                    self.next = EventId {
                        height: last + 1,
                        n: 0,
                    };
                }
                true
            }
            Ok(Err(StoreError::Pruned { first_kept, .. })) => {
                self.skip_to(
                    first_kept,
                    "the blocks were pruned while the stream read them",
                );
                true
            }
            Ok(Err(e)) => {
                let data = json!({"kind": "error", "message": e.to_string()});
                self.pending.push_back(Queued::notice(data.to_string()));
                self.catch_up_to = None;
                self.failed = true;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "event stream catch-up task failed");
                false
            }
        }
    }
}

/// The events of stored blocks from `from` (its height, from its index on) towards
/// `to`, whole blocks until [`CATCH_UP_EVENTS_MAX`] events or [`CATCH_UP_BLOCKS_MAX`]
/// blocks are read; and the last height read.
fn read_chunk(
    chain: &Chain,
    from: EventId,
    to: u64,
) -> Result<(Vec<(EventId, FinalEvent)>, u64), StoreError> {
    let mut out = Vec::new();
    let mut last_read = from.height.saturating_sub(1);
    let last = from.height.saturating_add(CATCH_UP_BLOCKS_MAX - 1).min(to);
    for height in from.height..=last {
        let Some(record) = chain.db.block_record(height)? else {
            break;
        };
        last_read = height;
        let tx_events = record.receipts.iter().enumerate().flat_map(|(i, r)| {
            r.events.iter().map(move |e| FinalEvent {
                height,
                tx: Some(r.tx),
                index: Some(i as u32),
                event: e.clone(),
            })
        });
        let block_events = record.block_events.iter().map(|e| FinalEvent {
            height,
            tx: None,
            index: None,
            event: e.clone(),
        });
        let skip = if height == from.height { from.n } else { 0 };
        for (n, e) in tx_events
            .chain(block_events)
            .enumerate()
            .skip(skip as usize)
        {
            out.push((
                EventId {
                    height,
                    n: n as u64,
                },
                e,
            ));
        }
        if out.len() >= CATCH_UP_EVENTS_MAX {
            break;
        }
    }
    Ok((out, last_read))
}

/// An event as an SSE message: default type, `id: H-N`, `data` with its `kind`; and
/// its size on the wire, about.
fn message(id: EventId, e: &FinalEvent) -> (SseEvent, usize) {
    let mut data = serde_json::to_value(e).unwrap_or(Value::Null);
    let kind = data
        .get("event")
        .and_then(Value::as_object)
        .and_then(|o| o.keys().next().cloned());
    if let Some(obj) = data.as_object_mut() {
        obj.insert("kind".into(), kind.map_or(Value::Null, Value::String));
        obj.insert("id".into(), Value::String(id.to_string()));
    }
    let (id, data) = (id.to_string(), data.to_string());
    let bytes = id.len() + data.len() + 12;
    (SseEvent::default().id(id).data(data), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_order_by_height_then_index() {
        let a = EventId { height: 9, n: 12 };
        let b = EventId { height: 10, n: 0 };
        assert_eq!(EventId::parse(&a.to_string()), Some(a));
        assert!(a < b);
        assert_eq!(EventId::parse("10"), None);
        assert_eq!(EventId::parse("x-1"), None);
        assert_eq!(EventId::parse("1-2-3"), None);
    }
}
