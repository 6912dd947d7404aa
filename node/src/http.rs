//! Serving the API over HTTP/1.1, with bounds on how many clients are served and how
//! long a slow or silent one may hold a connection.
//!
//! `axum::serve` offers neither (it sets no header-read timer and accepts without
//! limit), so the node runs its own accept loop on hyper:
//! - at most [`ApiLimits::connections_max`] connections are served at once; beyond it
//!   the loop stops accepting, and new connections wait in the kernel's accept queue,
//!   where they hold no descriptor or memory of this process;
//! - a request head must arrive within [`ApiLimits::header_read_timeout_ms`]. hyper
//!   starts that clock whenever it waits for a head, so an idle keep-alive connection
//!   is closed after the same time;
//! - a body must arrive within [`ApiLimits::body_read_timeout_ms`] (the API's body
//!   middleware answers 408 `request_timeout`);
//! - a client that takes none of the bytes written to it for
//!   [`ApiLimits::write_stall_timeout_ms`] is cut off ([`StallGuard`]), so a stalled
//!   event-stream reader gives its slot back;
//! - an event-stream subscriber whose unsent events exceed
//!   [`ApiLimits::sse_queue_bytes_max`] is cut off at once (`api::events`), through
//!   its connection's [`ConnectionCut`], even while hyper is blocked writing to it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::api::cors::CorsOrigins;
use crate::ratelimit::SUBMIT_TXS_PER_SEC_DEFAULT;

/// Connections served at once by default. Each costs a descriptor and a few KiB; keep
/// it well below the process's descriptor limit (`ulimit -n`), which the store and
/// the p2p layer share.
pub const API_CONNECTIONS_MAX: usize = 1_024;
/// Default time for a request head (request line and headers) to arrive, and for an
/// idle keep-alive connection to send its next request.
pub const HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// Default time for a request body to arrive once its head has: an 8 MiB batch at
/// 300 KiB/s.
pub const BODY_READ_TIMEOUT_MS: u64 = 30_000;
/// Default time a client may take none of the bytes written to it. Event streams write
/// a keep-alive comment every 15 s, so a live reader never comes near it.
pub const WRITE_STALL_TIMEOUT_MS: u64 = 30_000;
/// The largest request head: far above any real client's, and what a slow-header
/// connection can make the node buffer.
pub const HEADER_BYTES_MAX: usize = 16 << 10;
/// The longest timeout a config may set: one hour.
pub const API_TIMEOUT_MS_MAX: u64 = 3_600_000;
/// Bytes of events queued for one `/v1/events` subscriber beyond which it is cut off
/// (`api_sse_queue_bytes_max`): about 16,000 events. A subscriber that keeps up never
/// holds more than the block being sent (whose events are taken whole, however large);
/// one that stops reading is cut off within this many bytes of events, instead of
/// after the write-stall timeout. It reconnects with `Last-Event-ID` and misses nothing.
pub const SSE_QUEUE_BYTES_MAX: usize = 8 << 20;
/// The socket send buffer of an API connection (Linux doubles it for its own
/// bookkeeping): the most the kernel holds for a client that does not read. 512 KiB
/// sends at 40 Mbit/s over a 100 ms round trip.
pub const API_SEND_BUFFER_BYTES: usize = 256 << 10;
/// The smallest `api_sse_queue_bytes_max` accepted.
pub const SSE_QUEUE_BYTES_MIN: usize = 4 << 10;

/// Pause after an accept error that is not the client's (e.g. out of descriptors),
/// so the loop does not spin while the condition lasts.
const ACCEPT_ERROR_BACKOFF_MS: u64 = 100;

/// Bounds on the API's clients (docs/api.md, "Limits"), and which browser origins may
/// call it; `jeon node` config keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiLimits {
    /// Connections served at once; further ones wait to be accepted.
    pub connections_max: usize,
    /// A request head must arrive within this; an idle keep-alive connection is
    /// closed after it too.
    pub header_read_timeout_ms: u64,
    /// A request body must arrive within this once its head has (else 408).
    pub body_read_timeout_ms: u64,
    /// A client that takes no bytes for this long while the node has some to send is
    /// disconnected.
    pub write_stall_timeout_ms: u64,
    /// Transactions per second one client address may submit, with bursts of
    /// [`crate::ratelimit::SUBMIT_BURST_SECS`] seconds' worth (else 429); 0: no limit.
    pub submit_txs_per_sec: u64,
    /// The browser origins allowed to call the API (CORS); off by default.
    pub cors: CorsOrigins,
    /// Serve the web app (explorer, wallet, dashboard) at `/` (`api::web`).
    pub web: bool,
    /// Bytes of events queued for one event-stream subscriber before it is cut off.
    pub sse_queue_bytes_max: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            connections_max: API_CONNECTIONS_MAX,
            header_read_timeout_ms: HEADER_READ_TIMEOUT_MS,
            body_read_timeout_ms: BODY_READ_TIMEOUT_MS,
            write_stall_timeout_ms: WRITE_STALL_TIMEOUT_MS,
            submit_txs_per_sec: SUBMIT_TXS_PER_SEC_DEFAULT,
            cors: CorsOrigins::Off,
            web: false,
            sse_queue_bytes_max: SSE_QUEUE_BYTES_MAX,
        }
    }
}

/// Why a set of limits cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApiLimitsError {
    /// No connection could ever be served.
    #[error("api_connections_max must be at least 1")]
    NoConnections,
    /// The event-stream queue bound is too small to hold an event.
    #[error("api_sse_queue_bytes_max = {0}: must be at least {SSE_QUEUE_BYTES_MIN}")]
    SseQueue(usize),
    /// A timeout is zero or longer than an hour.
    #[error("{name} = {ms} ms: must be 1 to {API_TIMEOUT_MS_MAX} ms")]
    Timeout {
        /// The config key.
        name: &'static str,
        /// The value given.
        ms: u64,
    },
}

impl ApiLimits {
    /// Checks every bound is usable.
    pub fn validate(&self) -> Result<(), ApiLimitsError> {
        if self.connections_max == 0 {
            return Err(ApiLimitsError::NoConnections);
        }
        if self.sse_queue_bytes_max < SSE_QUEUE_BYTES_MIN {
            return Err(ApiLimitsError::SseQueue(self.sse_queue_bytes_max));
        }
        for (name, ms) in [
            ("api_header_read_timeout_ms", self.header_read_timeout_ms),
            ("api_body_read_timeout_ms", self.body_read_timeout_ms),
            ("api_write_stall_timeout_ms", self.write_stall_timeout_ms),
        ] {
            if !(1..=API_TIMEOUT_MS_MAX).contains(&ms) {
                return Err(ApiLimitsError::Timeout { name, ms });
            }
        }
        Ok(())
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then lets each connection
/// finish its request in flight and waits for all of them to close.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ApiLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.connections_max));
    let timeouts = ConnectionTimeouts {
        header_read: Duration::from_millis(limits.header_read_timeout_ms),
        write_stall: Duration::from_millis(limits.write_stall_timeout_ms),
        sse_queue_bytes_max: limits.sse_queue_bytes_max,
    };
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept_with_slot(&listener, &slots) => accepted?,
        };
        let Some((stream, remote, slot)) = accepted else {
            continue;
        };
        let connection = serve_connection(stream, remote, app.clone(), timeouts, stop_rx.clone());
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
    drop(stop_rx);
    let _ = stop_tx.send(());
    // Every connection task holds a receiver; the channel closes when the last ends.
    stop_tx.closed().await;
    Ok(())
}

/// Waits for a free slot, then accepts one connection. `None` after an accept error
/// (logged; the caller loops).
async fn accept_with_slot(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> io::Result<Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)>> {
    // Taking the slot first is what caps the connections: at the cap nothing is
    // accepted, so a flood of connections costs the kernel's queue, not this process.
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| io::Error::other("API connection slots closed"))?;
    match listener.accept().await {
        Ok((stream, remote)) => Ok(Some((stream, remote, slot))),
        Err(e) if is_client_error(&e) => Ok(None),
        Err(e) => {
            warn!(error = %e, "API accept failed; retrying");
            tokio::time::sleep(Duration::from_millis(ACCEPT_ERROR_BACKOFF_MS)).await;
            Ok(None)
        }
    }
}

/// Errors that concern one client's connection, not the listener.
fn is_client_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The per-connection clocks of [`ApiLimits`].
#[derive(Clone, Copy)]
struct ConnectionTimeouts {
    header_read: Duration,
    write_stall: Duration,
    sse_queue_bytes_max: usize,
}

/// A connection's off switch, handed to its requests as an extension: a handler that
/// finds its client cannot keep up (`api::events`) cuts the connection, which fails
/// its next read or write and wakes a write blocked on the socket.
#[derive(Clone, Debug)]
pub struct ConnectionCut {
    inner: Arc<CutInner>,
    /// [`ApiLimits::sse_queue_bytes_max`].
    pub sse_queue_bytes_max: usize,
}

#[derive(Debug, Default)]
struct CutInner {
    cut: AtomicBool,
    waker: futures::task::AtomicWaker,
}

impl ConnectionCut {
    /// A switch for a connection with these limits.
    pub fn new(sse_queue_bytes_max: usize) -> Self {
        ConnectionCut {
            inner: Arc::default(),
            sse_queue_bytes_max,
        }
    }

    /// Cuts the connection: its I/O fails from now on.
    pub fn cut(&self) {
        self.inner.cut.store(true, Ordering::SeqCst);
        self.inner.waker.wake();
    }

    /// Whether [`Self::cut`] was called.
    pub fn is_cut(&self) -> bool {
        self.inner.cut.load(Ordering::SeqCst)
    }
}

/// Serves one connection until it closes, or, once `stop` fires, until its request
/// in flight is answered.
async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    timeouts: ConnectionTimeouts,
    mut stop: watch::Receiver<()>,
) {
    // Small JSON answers should leave at once, not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    // Bound what the kernel holds for a client that does not read (autotuning would
    // let it grow to tcp_wmem's maximum, 4 MiB, per connection).
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(API_SEND_BUFFER_BYTES);
    let cut = ConnectionCut::new(timeouts.sse_queue_bytes_max);
    let io = TokioIo::new(StallGuard::new(stream, timeouts.write_stall).with_cut(cut.clone()));
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        // The submission rate limit is per client address.
        request.extensions_mut().insert(ConnectInfo(remote));
        request.extensions_mut().insert(cut.clone());
        app.clone().oneshot(request.map(Body::new))
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .max_header_size(HEADER_BYTES_MAX);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = served {
        // Timeouts and resets are the client's business; nothing to act on here.
        debug!(%remote, error = %e, "API connection ended");
    }
}

/// A connection that fails a write (or flush) once the peer has taken none of the
/// bytes for `timeout`: without it, a client that stops reading holds its connection,
/// and an event stream its subscriber slot, for as long as it likes.
pub struct StallGuard<T> {
    inner: T,
    timeout: Duration,
    /// Running while a write is blocked; reset by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Fails all I/O once cut.
    cut: Option<ConnectionCut>,
}

impl<T> StallGuard<T> {
    /// Guards `inner`'s writes with `timeout`.
    pub fn new(inner: T, timeout: Duration) -> Self {
        StallGuard {
            inner,
            timeout,
            stalled: None,
            cut: None,
        }
    }

    /// Also fails every read and write once `cut` is cut.
    pub fn with_cut(mut self, cut: ConnectionCut) -> Self {
        self.cut = Some(cut);
        self
    }

    /// `Err` once cut; otherwise registers `cx` to be woken by a cut.
    fn check_cut(&self, cx: &Context<'_>) -> io::Result<()> {
        let Some(cut) = &self.cut else {
            return Ok(());
        };
        cut.inner.waker.register(cx.waker());
        if cut.is_cut() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "cut off: the client took its events too slowly",
            ));
        }
        Ok(())
    }

    /// Passes on a ready write; while it is pending, runs the stall clock and turns
    /// its expiry into a `TimedOut` error.
    fn watch<R>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let clock = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match clock.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client took no bytes for {} ms", timeout.as_millis()),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check_cut(cx)?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check_cut(cx)?;
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check_cut(cx)?;
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check_cut(cx)?;
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const STALL_MS: u64 = 500;

    #[tokio::test]
    async fn a_reader_that_takes_nothing_is_cut_off_after_the_stall_timeout() {
        // A 64-byte pipe whose far end never reads: the 65th byte cannot leave.
        let (near, _far) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(near, Duration::from_millis(STALL_MS));
        let written = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                guarded.write_all(&[7; 1024]).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), io::Error>(())
        })
        .await;
        let error = written
            .expect("the stall guard ends the write well before 10 s")
            .expect_err("a write to a reader that takes nothing fails");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    }

    #[tokio::test]
    async fn a_slow_but_steady_reader_is_not_cut_off() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(near, Duration::from_millis(STALL_MS));
        // The reader takes 64 bytes every STALL_MS / 20: slow, never stalled for long.
        let reader = tokio::spawn(async move {
            let mut got = 0usize;
            let mut buf = [0u8; 64];
            while got < 1_024 {
                tokio::time::sleep(Duration::from_millis(STALL_MS / 20)).await;
                got += far.read(&mut buf).await.unwrap_or(0);
            }
            got
        });
        guarded
            .write_all(&[7; 1_024])
            .await
            .expect("a reader that keeps taking bytes is served in full");
        assert_eq!(reader.await.expect("reader"), 1_024);
    }

    #[test]
    fn limits_must_allow_a_connection_and_bounded_timeouts() {
        assert_eq!(ApiLimits::default().validate(), Ok(()));
        let none = ApiLimits {
            connections_max: 0,
            ..ApiLimits::default()
        };
        assert_eq!(none.validate(), Err(ApiLimitsError::NoConnections));
        let zero = ApiLimits {
            body_read_timeout_ms: 0,
            ..ApiLimits::default()
        };
        assert_eq!(
            zero.validate(),
            Err(ApiLimitsError::Timeout {
                name: "api_body_read_timeout_ms",
                ms: 0
            })
        );
    }
}
