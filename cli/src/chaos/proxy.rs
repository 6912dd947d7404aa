//! The harness's userspace TCP proxy: one listener per ordered pair of validators
//! (link i -> j carries node i's dials to node j's p2p port), each of which can be cut
//! (its connections closed, new ones refused) and healed. Noise runs end to end
//! through it, so the nodes' peer ids and the allow list are unaffected.
//!
//! It also emulates a wide-area link per direction (node i's bytes to node j, on every
//! connection between them, whoever dialled): a one-way delay, seeded jitter, loss as
//! TCP would show it, and optionally a bandwidth; and a direction can be blocked (an
//! asymmetric partition). Each connection direction is a FIFO queue: a reader stamps
//! every chunk it reads with the time it may be delivered, a writer delivers the chunks
//! in order, never before their time, so a delayed chunk holds back the ones behind it
//! (TCP's head-of-line blocking) and bytes are never reordered inside a stream.
//!
//! Loss cannot be emulated above TCP: the proxy sees a byte stream that the kernel has
//! already made reliable, so a "lost" packet can only be a late one. The model: each
//! chunk counts as ⌈len / [`MSS_BYTES`]⌉ packets, each lost with probability `loss`; a
//! chunk with a lost packet is held back by the time TCP takes to repair it: one round
//! trip (2 × delay, a fast retransmit: the packets behind it trigger duplicate acks)
//! if a packet behind it in the chunk got through, two round trips (a tail loss probe)
//! if its last packet was lost; never less than [`LOSS_REPAIR_MIN_MS`]. Retransmission
//! timeouts after a lost repair (probability loss²) and congestion-window cuts are not
//! modelled, so the figures are slightly optimistic for bulk transfers.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::generate::SplitMix64;
use crate::error::CliError;

/// How often a listener checks whether to stop, and a blocked direction whether it is
/// open again.
const POLL: Duration = Duration::from_millis(5);
/// The pump's buffer.
const PUMP_BYTES: usize = 64 * 1024;
/// Chunks queued per connection direction before the reader stops reading (and TCP's
/// flow control slows the sender), as a full link would.
const QUEUE_CHUNKS: usize = 1_024;
/// The packet size the loss model counts in (an Ethernet MSS).
pub(crate) const MSS_BYTES: usize = 1_448;
/// The shortest a lost packet's repair takes (Linux's tail loss probe floor).
pub(crate) const LOSS_REPAIR_MIN_MS: u64 = 10;

/// One direction of a link as emulated: all zero is a plain loopback link.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct LinkParams {
    /// One-way delay, ms.
    pub(crate) delay_ms: u64,
    /// Jitter, ms: each chunk's delay is uniform in delay ± jitter (never below 0).
    pub(crate) jitter_ms: u64,
    /// Packet loss probability, 0 to 1 (see the module comment for the model).
    pub(crate) loss: f64,
    /// Bandwidth in kbit/s (0: unlimited).
    pub(crate) bandwidth_kbps: u64,
}

/// All links of the cluster.
pub(crate) struct Proxy {
    links: BTreeMap<(usize, usize), Arc<Link>>,
    /// Per ordered pair (from, to): the emulation of from's bytes to `to`.
    dirs: BTreeMap<(usize, usize), Arc<Dir>>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// One direction's emulation, shared by every connection between the two nodes.
struct Dir {
    params: Mutex<LinkParams>,
    /// What `params` go back to when a perturbation ends.
    base: LinkParams,
    /// Bytes are held (an asymmetric partition) while set.
    blocked: AtomicBool,
    /// Seeds each connection's jitter and loss draws: (run seed, from, to, counter).
    seed: u64,
    connections: AtomicU64,
}

/// One dial direction: node i's connections to node j.
struct Link {
    port: u16,
    target: u16,
    cut: AtomicBool,
    /// i's bytes to j, and j's bytes to i.
    up: Arc<Dir>,
    down: Arc<Dir>,
    /// Both sockets of every live forwarded connection (a cut shuts them down).
    live: Mutex<Vec<TcpStream>>,
}

impl Dir {
    fn new(base: LinkParams, seed: u64) -> Arc<Dir> {
        Arc::new(Dir {
            params: Mutex::new(base),
            base,
            blocked: AtomicBool::new(false),
            seed,
            connections: AtomicU64::new(0),
        })
    }

    fn params(&self) -> LinkParams {
        *self
            .params
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_params(&self, p: LinkParams) {
        *self
            .params
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = p;
    }

    /// A generator for the next connection through this direction.
    fn next_rng(&self) -> SplitMix64 {
        let k = self.connections.fetch_add(1, Ordering::Relaxed);
        SplitMix64::new(self.seed ^ k.wrapping_mul(0xA076_1D64_78BD_642F))
    }
}

impl Proxy {
    /// Binds a listener on 127.0.0.1 per ordered pair; `targets[j]` is node j's p2p
    /// port; `params(i, j)` emulates node i's bytes to node j; `seed` fixes every
    /// jitter and loss draw.
    pub(crate) fn start(
        targets: &[u16],
        params: impl Fn(usize, usize) -> LinkParams,
        seed: u64,
    ) -> Result<Proxy, CliError> {
        let n = targets.len();
        let mut dirs = BTreeMap::new();
        for i in 0..n {
            for j in (0..n).filter(|j| *j != i) {
                let dir_seed = seed ^ ((i as u64) << 32 | j as u64).wrapping_mul(0x9E37_79B9);
                dirs.insert((i, j), Dir::new(params(i, j), dir_seed));
            }
        }
        let mut proxy = Proxy {
            links: BTreeMap::new(),
            dirs,
            stopping: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        };
        for i in 0..n {
            for (j, &target) in targets.iter().enumerate().filter(|(j, _)| *j != i) {
                let io = |e: std::io::Error| CliError::Failed(format!("proxy listener: {e}"));
                let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
                listener.set_nonblocking(true).map_err(io)?;
                let (Some(up), Some(down)) = (proxy.dirs.get(&(i, j)), proxy.dirs.get(&(j, i)))
                else {
                    continue;
                };
                let link = Arc::new(Link {
                    port: listener.local_addr().map_err(io)?.port(),
                    target,
                    cut: AtomicBool::new(false),
                    up: up.clone(),
                    down: down.clone(),
                    live: Mutex::new(Vec::new()),
                });
                proxy.links.insert((i, j), link.clone());
                let stopping = proxy.stopping.clone();
                proxy.threads.push(std::thread::spawn(move || {
                    link.accept_loop(&listener, &stopping)
                }));
            }
        }
        Ok(proxy)
    }

    /// The port node i dials to reach node j.
    pub(crate) fn port(&self, i: usize, j: usize) -> Option<u16> {
        self.links.get(&(i, j)).map(|l| l.port)
    }

    /// Cuts (`true`) or heals (`false`) the link i -> j.
    pub(crate) fn set_cut(&self, i: usize, j: usize, cut: bool) {
        let Some(link) = self.links.get(&(i, j)) else {
            return;
        };
        let mut live = lock(&link.live);
        link.cut.store(cut, Ordering::SeqCst);
        if cut {
            for stream in live.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Blocks (`true`) or unblocks node `from`'s bytes to node `to`: held on live
    /// connections (delivered once unblocked, as TCP would retransmit them), and no
    /// new connection between the two completes (its handshake needs both ways).
    pub(crate) fn set_blocked(&self, from: usize, to: usize, blocked: bool) {
        if let Some(d) = self.dirs.get(&(from, to)) {
            d.blocked.store(blocked, Ordering::SeqCst);
        }
    }

    /// Emulates node `from`'s bytes to `to` with `params`, or with the run's own
    /// parameters again (`None`).
    pub(crate) fn set_params(&self, from: usize, to: usize, params: Option<LinkParams>) {
        if let Some(d) = self.dirs.get(&(from, to)) {
            d.set_params(params.unwrap_or(d.base));
        }
    }

    /// Unblocks every direction and restores every link's own parameters.
    pub(crate) fn reset_emulation(&self) {
        for d in self.dirs.values() {
            d.blocked.store(false, Ordering::SeqCst);
            d.set_params(d.base);
        }
    }

    /// Stops the listeners and closes every forwarded connection.
    pub(crate) fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.reset_emulation(); // a writer held by a blocked direction lets go
        for link in self.links.values() {
            for stream in lock(&link.live).drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Locks, taking over a lock a panicked pump left poisoned (the list stays usable).
fn lock(m: &Mutex<Vec<TcpStream>>) -> std::sync::MutexGuard<'_, Vec<TcpStream>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Link {
    fn accept_loop(&self, listener: &TcpListener, stopping: &AtomicBool) {
        while !stopping.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((inbound, _)) => self.forward(inbound),
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Whether a new connection is refused: the link is cut, or a direction is
    /// blocked (a handshake needs both).
    fn refuses(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
            || self.up.blocked.load(Ordering::SeqCst)
            || self.down.blocked.load(Ordering::SeqCst)
    }

    /// Connects `inbound` to the target and pumps bytes both ways; while cut, drops it
    /// (the dialer sees the connection close at once).
    fn forward(&self, inbound: TcpStream) {
        if self.refuses() {
            return;
        }
        let Ok(outbound) = TcpStream::connect(("127.0.0.1", self.target)) else {
            return; // the target is down
        };
        let _ = inbound.set_nodelay(true);
        let _ = outbound.set_nodelay(true);
        let clones = (
            inbound.set_nonblocking(false),
            inbound.try_clone(),
            outbound.try_clone(),
        );
        let (Ok(()), Ok(in_copy), Ok(out_copy)) = clones else {
            return;
        };
        {
            // Checked again under the lock, so a cut racing this accept still closes it.
            let mut live = lock(&self.live);
            if self.refuses() {
                return;
            }
            // Forget connections that have ended, so the list stays small in long runs.
            live.retain(|s| s.peer_addr().is_ok());
            for s in [&inbound, &outbound] {
                if let Ok(c) = s.try_clone() {
                    live.push(c);
                }
            }
        }
        pump(inbound, out_copy, self.up.clone());
        pump(outbound, in_copy, self.down.clone());
    }
}

/// A chunk and when it may be delivered.
type Stamped = (Instant, Vec<u8>);

/// Copies `from` to `to` through `dir`'s emulation on two threads (a reader that
/// stamps, a writer that delivers in order) until either side ends, then closes both.
fn pump(from: TcpStream, to: TcpStream, dir: Arc<Dir>) {
    let (tx, rx) = sync_channel::<Stamped>(QUEUE_CHUNKS);
    let rng = dir.next_rng();
    let writer_dir = dir.clone();
    std::thread::spawn(move || read_side(from, &tx, &dir, rng));
    std::thread::spawn(move || write_side(to, &rx, &writer_dir));
}

fn read_side(mut from: TcpStream, tx: &SyncSender<Stamped>, dir: &Dir, mut rng: SplitMix64) {
    let mut buf = vec![0u8; PUMP_BYTES];
    // When the emulated link has finished sending what was queued (bandwidth).
    let mut free_at = Instant::now();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let Some(bytes) = buf.get(..n) else { break };
        let now = Instant::now();
        let p = dir.params();
        let sent = match (n as u64 * 8 * 1_000).checked_div(p.bandwidth_kbps) {
            None => now, // unlimited
            Some(us) => {
                free_at = free_at.max(now) + Duration::from_micros(us);
                free_at
            }
        };
        let at = sent + Duration::from_millis(chunk_delay_ms(&p, n, &mut rng));
        if tx.send((at, bytes.to_vec())).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Read);
}

fn write_side(mut to: TcpStream, rx: &Receiver<Stamped>, dir: &Dir) {
    while let Ok((at, bytes)) = rx.recv() {
        if dir.blocked.load(Ordering::SeqCst) {
            while dir.blocked.load(Ordering::SeqCst) {
                std::thread::sleep(POLL);
            }
            // Held while blocked: it crosses the link once the path is back.
            std::thread::sleep(Duration::from_millis(dir.params().delay_ms));
        }
        let wait = at.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        if to.write_all(&bytes).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// A chunk's one-way delay: the link's delay, a uniform jitter, and the repair time of
/// a lost packet (the module comment gives the model).
pub(crate) fn chunk_delay_ms(p: &LinkParams, len: usize, rng: &mut SplitMix64) -> u64 {
    let mut ms = p.delay_ms;
    if p.jitter_ms > 0 {
        let span = 2 * p.jitter_ms + 1;
        ms = (ms + rng.below(span)).saturating_sub(p.jitter_ms);
    }
    if p.loss > 0.0 {
        let packets = len.div_ceil(MSS_BYTES).max(1);
        let mut lost = None;
        for k in 0..packets {
            if rng.unit() < p.loss {
                lost = Some(k + 1 == packets);
            }
        }
        let rtt = 2 * p.delay_ms;
        match lost {
            Some(true) => ms += (2 * rtt).max(LOSS_REPAIR_MIN_MS),
            Some(false) => ms += rtt.max(LOSS_REPAIR_MIN_MS),
            None => {}
        }
    }
    ms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server for `count` connections: each reads 5 bytes and sends them back.
    fn echo(count: usize) -> (u16, JoinHandle<()>) {
        let target = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = target.local_addr().expect("addr").port();
        let thread = std::thread::spawn(move || {
            for conn in target.incoming().take(count) {
                let mut conn = conn.expect("accept");
                let mut buf = [0u8; 5];
                if conn.read_exact(&mut buf).is_ok() {
                    let _ = conn.write_all(&buf);
                }
            }
        });
        (port, thread)
    }

    fn roundtrip(link: u16, timeout: Duration) -> Option<[u8; 5]> {
        let mut c = TcpStream::connect(("127.0.0.1", link)).ok()?;
        c.set_read_timeout(Some(timeout)).ok()?;
        c.write_all(b"hello").ok()?;
        let mut buf = [0u8; 5];
        c.read_exact(&mut buf).ok()?;
        Some(buf)
    }

    #[test]
    fn a_link_forwards_until_cut_refuses_while_cut_and_forwards_again_when_healed() {
        let (port, echo) = echo(2);
        let proxy = Proxy::start(&[port, port], |_, _| LinkParams::default(), 1).expect("proxy");
        let link = proxy.port(0, 1).expect("link 0 -> 1");
        let t = Duration::from_secs(2);
        assert_eq!(roundtrip(link, t), Some(*b"hello"));
        proxy.set_cut(0, 1, true);
        assert_eq!(roundtrip(link, t), None, "a cut link passes nothing");
        proxy.set_cut(0, 1, false);
        assert_eq!(roundtrip(link, t), Some(*b"hello"));
        drop(proxy);
        echo.join().expect("echo thread");
    }

    #[test]
    fn each_direction_is_delayed_by_its_own_link_and_a_blocked_one_refuses_new_connections() {
        let (port, echo) = echo(2);
        // 0 -> 1 takes 120 ms, 1 -> 0 takes 30 ms: a round trip takes about 150 ms.
        let params = |i: usize, _| LinkParams {
            delay_ms: if i == 0 { 120 } else { 30 },
            ..LinkParams::default()
        };
        let proxy = Proxy::start(&[port, port], params, 1).expect("proxy");
        let link = proxy.port(0, 1).expect("link 0 -> 1");
        let start = Instant::now();
        assert_eq!(roundtrip(link, Duration::from_secs(2)), Some(*b"hello"));
        let rtt = start.elapsed();
        assert!(rtt >= Duration::from_millis(150), "{rtt:?}");
        assert!(rtt < Duration::from_millis(1_000), "{rtt:?}");
        // One direction blocked: no handshake completes, in either dial direction.
        proxy.set_blocked(1, 0, true);
        assert_eq!(roundtrip(link, Duration::from_millis(500)), None);
        proxy.set_blocked(1, 0, false);
        assert_eq!(roundtrip(link, Duration::from_secs(2)), Some(*b"hello"));
        drop(proxy);
        echo.join().expect("echo thread");
    }

    #[test]
    fn a_blocked_direction_holds_bytes_in_order_and_delivers_them_when_unblocked() {
        let target = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = target.local_addr().expect("addr").port();
        let proxy = Proxy::start(&[port, port], |_, _| LinkParams::default(), 1).expect("proxy");
        let mut c =
            TcpStream::connect(("127.0.0.1", proxy.port(0, 1).expect("link"))).expect("dial");
        let (mut server, _) = target.accept().expect("accept");
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        // One byte through first: the connection is set up end to end (a block racing
        // the proxy's own setup of a connection refuses it, as for a new dial).
        c.write_all(&[255]).expect("write");
        let mut first = [0u8; 1];
        server.read_exact(&mut first).expect("the first byte");
        server
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        proxy.set_blocked(0, 1, true);
        for k in 0..100u8 {
            c.write_all(&[k]).expect("write");
        }
        let mut buf = [0u8; 100];
        assert!(
            server.read(&mut buf).is_err(),
            "nothing passes while blocked"
        );
        proxy.set_blocked(0, 1, false);
        server
            .set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        server
            .read_exact(&mut buf)
            .expect("delivered after the heal");
        let expected: Vec<u8> = (0..100).collect();
        assert_eq!(buf.to_vec(), expected, "in order");
    }

    #[test]
    fn the_delay_model_is_seeded_bounded_and_charges_lost_packets_a_repair() {
        let p = LinkParams {
            delay_ms: 50,
            jitter_ms: 10,
            loss: 0.0,
            bandwidth_kbps: 0,
        };
        let draws = |p: &LinkParams, len: usize, seed: u64| -> Vec<u64> {
            let mut rng = SplitMix64::new(seed);
            (0..2_000)
                .map(|_| chunk_delay_ms(p, len, &mut rng))
                .collect()
        };
        let a = draws(&p, 200, 7);
        assert_eq!(a, draws(&p, 200, 7), "the same seed, the same delays");
        assert_ne!(a, draws(&p, 200, 8));
        assert!(
            a.iter().all(|d| (40..=60).contains(d)),
            "within delay ± jitter"
        );
        assert!(
            a.contains(&40) && a.contains(&60),
            "the whole range is drawn"
        );
        // 1% loss on one-packet chunks: about 1% are held back one or two round trips.
        let lossy = LinkParams { loss: 0.01, ..p };
        let late = draws(&lossy, 200, 7).iter().filter(|d| **d > 60).count();
        assert!((5..=50).contains(&late), "{late} of 2000 late");
        let d = draws(&lossy, 200, 7);
        assert!(
            d.iter()
                .all(|d| (40..=60).contains(d) || (240..=260).contains(d)),
            "a lone packet lost is a tail: two round trips"
        );
        // A 64 KB chunk is 46 packets: a lost one is far more likely.
        let big = draws(&lossy, 64 * 1024, 7)
            .iter()
            .filter(|d| **d > 60)
            .count();
        assert!(big > 500, "{big} of 2000 late");
    }
}
