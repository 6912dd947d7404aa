//! The per-client submission limit: how many transactions one client address may
//! submit per second, counted before any signature is checked.
//!
//! Each client has a "theoretical arrival time" (GCRA, the token bucket without a
//! timer): every transaction moves it `1 / rate` seconds on, and a request is refused
//! while it is more than the burst ahead of now. A request is admitted whole while the
//! client is within its burst, however many transactions it carries, so a batch larger
//! than the burst still goes through once and the client then waits out the debt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Default sustained rate per client: 2.5 times the 20,000 tx/s `jeon bench` offers
/// from one address, and above what one node admits, so a single honest client is
/// never throttled while a flood of undecodable batches is, before costing signature
/// checks.
pub const SUBMIT_TXS_PER_SEC_DEFAULT: u64 = 50_000;
/// A client may run this many seconds' worth of transactions ahead of its rate: at the
/// default, 100,000 transactions, one full mempool.
pub const SUBMIT_BURST_SECS: u64 = 2;
/// Clients remembered at once. A client whose debt is paid off is forgotten first
/// (it is as if new); beyond that the least indebted one is.
pub const SUBMIT_CLIENTS_TRACKED_MAX: usize = 4_096;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A refused submission: when the client may submit again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimited {
    /// Whole seconds to wait, at least 1 (the `Retry-After` header).
    pub retry_after_secs: u64,
}

/// Per-client submission limits; clones of the `Arc` share the counts.
#[derive(Debug)]
pub struct SubmitLimiter {
    /// Transactions per second per client; 0 means no limit.
    txs_per_sec: u64,
    /// Each client's theoretical arrival time; <= [`SUBMIT_CLIENTS_TRACKED_MAX`].
    clients: Mutex<HashMap<IpAddr, Instant>>,
}

impl SubmitLimiter {
    /// A limiter of `txs_per_sec` per client (0: unlimited).
    pub fn new(txs_per_sec: u64) -> Self {
        SubmitLimiter {
            txs_per_sec,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The configured rate (0: unlimited).
    pub fn txs_per_sec(&self) -> u64 {
        self.txs_per_sec
    }

    /// Counts `txs` transactions from `client` at `now`, or refuses them all.
    pub fn take(&self, client: IpAddr, txs: u64, now: Instant) -> Result<(), RateLimited> {
        if self.txs_per_sec == 0 {
            return Ok(());
        }
        let burst = Duration::from_secs(SUBMIT_BURST_SECS);
        let key = client_key(client);
        let mut clients = crate::chain::lock(&self.clients);
        let arrival = clients.get(&key).copied().unwrap_or(now).max(now);
        let ahead = arrival - now;
        if ahead > burst {
            let wait = ahead - burst;
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(RateLimited {
                retry_after_secs: secs.max(1),
            });
        }
        if !clients.contains_key(&key) {
            make_room(&mut clients, now);
        }
        clients.insert(key, arrival + self.cost(txs));
        Ok(())
    }

    /// How far `txs` transactions move a client's arrival time.
    fn cost(&self, txs: u64) -> Duration {
        let nanos = u128::from(txs) * NANOS_PER_SEC / u128::from(self.txs_per_sec.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// One key per client: an IPv6 client usually holds a whole /64, so it counts as one.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(prefix.into())
        }
        v4 => v4,
    }
}

/// Keeps the map below its bound before a new client is added.
fn make_room(clients: &mut HashMap<IpAddr, Instant>, now: Instant) {
    if clients.len() < SUBMIT_CLIENTS_TRACKED_MAX {
        return;
    }
    // A client whose arrival time has passed has nothing left to remember.
    clients.retain(|_, arrival| *arrival > now);
    if clients.len() < SUBMIT_CLIENTS_TRACKED_MAX {
        return;
    }
    let least = clients.iter().min_by_key(|(_, a)| **a).map(|(ip, _)| *ip);
    if let Some(ip) = least {
        clients.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_for_its_rate() {
        // 5 tx/s with a 2 s burst: 11 single submissions pass at once (the 11th is the
        // one that starts the debt), the 12th waits a second.
        let limiter = SubmitLimiter::new(5);
        let t0 = Instant::now();
        for n in 0..11 {
            assert_eq!(limiter.take(ip(1), 1, t0), Ok(()), "submission {n}");
        }
        assert_eq!(
            limiter.take(ip(1), 1, t0),
            Err(RateLimited {
                retry_after_secs: 1
            })
        );
        // Another client is not affected.
        assert_eq!(limiter.take(ip(2), 1, t0), Ok(()));
        // A fifth of a second later one more fits.
        let later = t0 + Duration::from_millis(200);
        assert_eq!(limiter.take(ip(1), 1, later), Ok(()));
        assert!(limiter.take(ip(1), 1, later).is_err());
    }

    #[test]
    fn a_batch_over_the_burst_passes_once_and_the_client_waits_out_its_debt() {
        let limiter = SubmitLimiter::new(5);
        let t0 = Instant::now();
        // 100 transactions at 5/s are 20 s of debt; the burst forgives 2.
        assert_eq!(limiter.take(ip(1), 100, t0), Ok(()));
        assert_eq!(
            limiter.take(ip(1), 1, t0),
            Err(RateLimited {
                retry_after_secs: 18
            })
        );
        assert_eq!(limiter.take(ip(1), 1, t0 + Duration::from_secs(18)), Ok(()));
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = SubmitLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..1_000 {
            assert_eq!(limiter.take(ip(1), 10_000, t0), Ok(()));
        }
    }

    #[test]
    fn an_ipv6_client_counts_per_64_and_a_mapped_ipv4_as_itself() {
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().expect("ipv6");
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().expect("ipv6");
        assert_eq!(client_key(a.into()), client_key(b.into()));
        let mapped = Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped();
        assert_eq!(
            client_key(mapped.into()),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        );
    }

    #[test]
    fn the_clients_remembered_stay_bounded() {
        let limiter = SubmitLimiter::new(1);
        let t0 = Instant::now();
        for n in 0..(SUBMIT_CLIENTS_TRACKED_MAX as u32 + 100) {
            let client = IpAddr::V4(Ipv4Addr::from(n));
            assert_eq!(limiter.take(client, 1, t0), Ok(()));
        }
        let tracked = crate::chain::lock(&limiter.clients).len();
        assert!(tracked <= SUBMIT_CLIENTS_TRACKED_MAX, "{tracked} clients");
    }
}
