//! Crash points for recovery tests: `JEON_CRASH_POINT=name[:n]` makes the process abort
//! (no cleanup, like `kill -9`) the n-th time (default the first) it passes `name`.
//!
//! Points: `commit.before_write` (block decided and executed, nothing written),
//! `store.mid_batch` (a batch's write-ahead record synced and half its writes
//! inserted; every store write counts), `store.before_flush` (batch inserted, not yet
//! flushed; every store write counts),
//! `commit.after_write` (block durable, not yet reported final),
//! `commit.next_before_previous_applied` (the next block executed on the staged state
//! while the commit thread may still be applying the last one), `signer.before_rename`
//! (a signer file written and fsynced under its temporary name, not yet renamed over
//! the old one; every signer file write counts).
//!
//! Only with the `crash-points` cargo feature (enabled for `cargo test` builds through
//! jeon-cli's dev-dependency); without it [`crash_point`] is an empty inline function
//! and the environment variable is never read. Armed, an unset crash point costs one
//! atomic load.

#[cfg(feature = "crash-points")]
mod armed {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    struct Armed {
        name: String,
        hit: u64,
    }

    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    static PASSES: AtomicU64 = AtomicU64::new(0);

    fn armed() -> Option<&'static Armed> {
        ARMED
            .get_or_init(|| {
                let spec = std::env::var("JEON_CRASH_POINT").ok()?;
                let (name, hit) = match spec.split_once(':') {
                    Some((n, k)) => (n.to_owned(), k.parse().ok()?),
                    None => (spec, 1),
                };
                Some(Armed { name, hit })
            })
            .as_ref()
    }

    pub(super) fn crash_point(name: &str) {
        let Some(armed) = armed() else { return };
        if armed.name == name && PASSES.fetch_add(1, Ordering::SeqCst) + 1 == armed.hit {
            eprintln!("crash point {name} reached: aborting");
            std::process::abort();
        }
    }
}

/// Aborts the process if this crash point is armed and its pass count is reached.
#[cfg(feature = "crash-points")]
pub fn crash_point(name: &str) {
    armed::crash_point(name);
}

/// Crash points are compiled out without the `crash-points` feature.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn crash_point(_name: &str) {}
