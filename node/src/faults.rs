//! Storage faults the node survives without panicking or damaging what it kept: sled
//! panics contained at the store's boundary, the disk's free space watched before
//! anything is signed or committed, and sled's unfinished snapshot files removed.
//!
//! docs/storage.md §7 says what is checked when and what an operator does.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

use tracing::{error, info, warn};

/// The free space a node needs on its data directory's file system to start, and to
/// keep signing and committing: one block of the largest size (16 MiB,
/// `BLOCK_BYTES_MAX`) with its record, a closing segment's index file (about 5 MB),
/// and room for sled's snapshot and log segments. Below it the node pauses (or refuses
/// to start) rather than half-write a block.
pub const DISK_FREE_BYTES_MIN: u64 = 32 << 20;

/// How often a running node re-reads the free space (by the replica's clock). One
/// `statvfs` a second is free; a block cannot fill 32 MiB in a second at the block
/// size bound times the block rate of a healthy chain.
pub const DISK_CHECK_INTERVAL_MS: u64 = 1_000;

thread_local! {
    /// Set while this thread runs [`contain`]: the panic hook stays quiet.
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic [`contain`] caught on this thread.
    static CAUGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs, once, a panic hook that records the panics [`contain`] catches instead of
/// printing them with a backtrace (the caller reports them as a typed error), and
/// passes every other panic to the hook that was there before.
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CONTAINING.with(Cell::get) {
                CAUGHT.with(|c| *c.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic inside it into `Err(message)`. For calls into sled,
/// which panics on some corrupt bytes (e.g. "tried to serialize Uninitialized", an
/// index out of bounds while loading its segments) instead of returning an error.
pub fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_quiet_hook();
    let outer = CONTAINING.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.with(|c| c.set(outer));
    result.map_err(|payload| {
        let message = CAUGHT
            .with(|c| c.borrow_mut().take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        // One line: it ends up inside a one-paragraph error message.
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    })
}

/// Bytes available to the node (not to root only) on the file system holding `dir`.
// The conversions are identities on 64-bit Linux, but not on every target.
#[allow(clippy::useless_conversion)]
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    Ok(u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size())))
}

/// Whether an I/O error means the disk is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(nix::errno::Errno::ENOSPC as i32)
        || e.kind() == std::io::ErrorKind::StorageFull
}

/// Whether a store error is the disk filling up (a write failed with ENOSPC).
pub fn is_store_disk_full(e: &crate::store::StoreError) -> bool {
    use crate::segments::SegmentError;
    use crate::store::StoreError;
    match e {
        StoreError::DiskFull { .. } => true,
        StoreError::Sled(sled::Error::Io(io)) | StoreError::Wal { source: io, .. } => {
            is_disk_full(io)
        }
        StoreError::Segment(SegmentError::Io { source, .. } | SegmentError::Dir(source)) => {
            is_disk_full(source)
        }
        _ => false,
    }
}

/// Removes the `snap.*.generating` files sled left in `db_dir`, returning how many.
///
/// sled writes a snapshot of its page table to `snap.<lsn>.generating`, syncs it, and
/// only then renames it to `snap.<lsn>`; so such a file is a snapshot that was never
/// finished (e.g. the disk filled while sled wrote it at start). sled lists it among
/// its snapshots and, as it sorts last, reads it as the newest one: a 0-byte file
/// makes every later open fail with "Read corrupted data at file offset None". sled
/// never reads a snapshot it had not renamed, and the finished one before it (or the
/// log itself) is still there, so deleting the unfinished file loses nothing.
pub fn remove_unfinished_snapshots(db_dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(db_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        let unfinished = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"));
        if unfinished {
            std::fs::remove_file(&path)?;
            warn!(file = %path.display(), "removed sled's unfinished snapshot (a start interrupted while writing it, e.g. on a full disk)");
            removed += 1;
        }
    }
    Ok(removed)
}

/// Why the node does not sign or commit: shown by `/v1/status` and `/v1/ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    /// Free space on the data directory's file system is below [`DISK_FREE_BYTES_MIN`].
    DiskFull,
}

impl Halt {
    /// The stable code of the reason (API field and error code).
    pub fn code(self) -> &'static str {
        match self {
            Halt::DiskFull => "disk_full",
        }
    }
}

/// The data directory's free space, as the replica last saw it. Shared by the replica
/// (which pauses consensus while it is low) and the API (which reports it).
#[derive(Debug, Default)]
pub struct DiskWatch {
    /// The directory watched; unset (the simulator, unit tests) means never full.
    dir: OnceLock<PathBuf>,
    full: AtomicBool,
    free_bytes: AtomicU64,
    /// When free space was last read, by the replica's clock (0: never).
    checked_ms: AtomicU64,
}

impl DiskWatch {
    /// Watches the file system holding `dir` (once; later calls are ignored).
    pub fn watch(&self, dir: PathBuf) {
        let _ = self.dir.set(dir);
    }

    /// Whether the last check found the disk below the minimum.
    pub fn halt(&self) -> Option<Halt> {
        self.full.load(Ordering::Relaxed).then_some(Halt::DiskFull)
    }

    /// Free bytes at the last check (0 before the first, or when not watched).
    pub fn free_bytes(&self) -> u64 {
        self.free_bytes.load(Ordering::Relaxed)
    }

    /// Re-reads the free space if [`DISK_CHECK_INTERVAL_MS`] passed since the last
    /// check, logs a change, and returns whether the disk is (still) too full.
    pub fn check(&self, now_ms: u64) -> bool {
        let Some(dir) = self.dir.get() else {
            return false;
        };
        let last = self.checked_ms.load(Ordering::Relaxed);
        if last != 0 && now_ms < last.saturating_add(DISK_CHECK_INTERVAL_MS) {
            return self.full.load(Ordering::Relaxed);
        }
        self.checked_ms.store(now_ms.max(1), Ordering::Relaxed);
        let free = match free_bytes(dir) {
            Ok(free) => free,
            Err(e) => {
                // Unknown is not full: the writes themselves still fail safely.
                warn!(dir = %dir.display(), error = %e, "cannot read the data directory's free space");
                return self.full.load(Ordering::Relaxed);
            }
        };
        self.free_bytes.store(free, Ordering::Relaxed);
        let full = free < DISK_FREE_BYTES_MIN;
        if self.full.swap(full, Ordering::Relaxed) != full {
            if full {
                error!(dir = %dir.display(), free_bytes = free, free_bytes_min = DISK_FREE_BYTES_MIN,
                    "disk nearly full: consensus paused (no votes, no blocks) until space is freed; reads go on");
            } else {
                info!(dir = %dir.display(), free_bytes = free, "disk space is back: consensus resumes");
            }
        }
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_contain_becomes_its_message_and_the_thread_goes_on() {
        let caught = contain(|| -> u32 { panic!("tried to serialize Uninitialized") });
        let message = caught.expect_err("the panic is caught");
        assert!(
            message.contains("tried to serialize Uninitialized"),
            "{message}"
        );
        assert_eq!(contain(|| 7), Ok(7));
    }

    #[test]
    fn unfinished_snapshots_are_removed_and_finished_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |n: &str| dir.path().join(n);
        for name in [
            "snap.0000000000067616",
            "snap.00000000000A0000.generating",
            "db",
        ] {
            std::fs::write(path(name), b"").expect("write");
        }
        assert_eq!(remove_unfinished_snapshots(dir.path()).expect("remove"), 1);
        assert!(path("snap.0000000000067616").exists());
        assert!(path("db").exists());
        assert!(!path("snap.00000000000A0000.generating").exists());
        // A data directory that has no db/ yet has nothing to remove.
        assert_eq!(
            remove_unfinished_snapshots(&path("absent")).expect("absent"),
            0
        );
    }

    #[test]
    fn an_unwatched_disk_is_never_full_and_a_watched_one_reports_its_free_space() {
        let watch = DiskWatch::default();
        assert!(!watch.check(1));
        let dir = tempfile::tempdir().expect("tempdir");
        let watch = DiskWatch::default();
        watch.watch(dir.path().to_path_buf());
        let full = watch.check(1);
        let free = free_bytes(dir.path()).expect("statvfs");
        assert_eq!(full, free < DISK_FREE_BYTES_MIN);
        assert!(watch.free_bytes() > 0);
    }
}
