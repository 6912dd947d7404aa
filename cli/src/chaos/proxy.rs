//! The harness's userspace TCP proxy: one listener per ordered pair of validators
//! (link i -> j carries node i's dials to node j's p2p port), each of which can be cut
//! (its connections closed, new ones refused) and healed. Noise runs end to end
//! through it, so the nodes' peer ids and the allow list are unaffected.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::CliError;

/// How often a listener checks whether to stop.
const POLL: Duration = Duration::from_millis(5);
/// The pump's buffer.
const PUMP_BYTES: usize = 64 * 1024;

/// All links of the cluster.
pub(crate) struct Proxy {
    links: BTreeMap<(usize, usize), Arc<Link>>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// One direction: node i's connections to node j.
struct Link {
    port: u16,
    target: u16,
    cut: AtomicBool,
    /// Both sockets of every live forwarded connection (a cut shuts them down).
    live: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// Binds a listener on 127.0.0.1 per ordered pair; `targets[j]` is node j's p2p port.
    pub(crate) fn start(targets: &[u16]) -> Result<Proxy, CliError> {
        let stopping = Arc::new(AtomicBool::new(false));
        let mut proxy = Proxy {
            links: BTreeMap::new(),
            stopping,
            threads: Vec::new(),
        };
        for i in 0..targets.len() {
            for (j, &target) in targets.iter().enumerate().filter(|(j, _)| *j != i) {
                let io = |e: std::io::Error| CliError::Failed(format!("proxy listener: {e}"));
                let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
                listener.set_nonblocking(true).map_err(io)?;
                let link = Arc::new(Link {
                    port: listener.local_addr().map_err(io)?.port(),
                    target,
                    cut: AtomicBool::new(false),
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

    /// Stops the listeners and closes every forwarded connection.
    pub(crate) fn stop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
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

    /// Connects `inbound` to the target and pumps bytes both ways; while cut, drops it
    /// (the dialer sees the connection close at once).
    fn forward(&self, inbound: TcpStream) {
        if self.cut.load(Ordering::SeqCst) {
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
            if self.cut.load(Ordering::SeqCst) {
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
        std::thread::spawn(move || pump(inbound, out_copy));
        std::thread::spawn(move || pump(outbound, in_copy));
    }
}

/// Copies `from` to `to` until either side ends, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; PUMP_BYTES];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let Some(bytes) = buf.get(..n) else { break };
                if std::io::Write::write_all(&mut to, bytes).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_link_forwards_until_cut_refuses_while_cut_and_forwards_again_when_healed() {
        let target = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = target.local_addr().expect("addr").port();
        let echo = std::thread::spawn(move || {
            for conn in target.incoming().take(2) {
                let mut conn = conn.expect("accept");
                let mut buf = [0u8; 5];
                if conn.read_exact(&mut buf).is_ok() {
                    let _ = conn.write_all(&buf);
                }
            }
        });
        let proxy = Proxy::start(&[port, port]).expect("proxy");
        let link = proxy.port(0, 1).expect("link 0 -> 1");
        let roundtrip = || -> Option<[u8; 5]> {
            let mut c = TcpStream::connect(("127.0.0.1", link)).ok()?;
            c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            c.write_all(b"hello").ok()?;
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).ok()?;
            Some(buf)
        };
        assert_eq!(roundtrip(), Some(*b"hello"));
        proxy.set_cut(0, 1, true);
        assert_eq!(roundtrip(), None, "a cut link passes nothing");
        proxy.set_cut(0, 1, false);
        assert_eq!(roundtrip(), Some(*b"hello"));
        drop(proxy);
        echo.join().expect("echo thread");
    }
}
