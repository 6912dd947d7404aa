//! Checkpoints of a running node's state (docs/operations.md §9): every
//! `state_sync_interval` blocks the node writes a snapshot of the state at a certified
//! height to `DIR/snapshots/` while it goes on committing, and keeps the last
//! [`CHECKPOINTS_KEPT`].
//!
//! sled has no point-in-time reads, so a checkpoint is a **copy-on-write capture**:
//! the commit thread installs the capture right after it applied block `C` (sled then
//! holds exactly the state after `C`); from then on, before each batch, it saves the
//! pre-image (the value after `C`, or "absent") of every snapshot key the batch
//! overwrites for the first time, unless the exporter has already passed that key.
//! The exporter walks the keys in descending order, reads a page from sled, and
//! replaces what the pre-images say for that page's key range (a key changed since `C`
//! gets its old value, a key created since `C` is left out, a key deleted since `C`
//! comes back). The cursor (the lowest key handed out) and the pre-images change only
//! under one lock, so a key is either handed out before its first write after `C`
//! (sled still had the `C` value) or has its pre-image saved. The commit thread's
//! extra work while a capture runs is one read per newly written key; nothing waits
//! for the exporter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jeon_runtime::state::{prefix_end, Entries};
use tracing::{info, warn};

use crate::chain::{Chain, Db};
use crate::snapshot::{self, Stats, Successor, CHUNK_ENTRIES_MAX};
use crate::store::{ChainHead, StoreError, Writes, SNAPSHOT_PREFIXES};

/// Checkpoints kept in `DIR/snapshots/`; older ones are deleted.
pub const CHECKPOINTS_KEPT: usize = 2;
/// The default `state_sync_interval`: a checkpoint every this many blocks.
pub const STATE_SYNC_INTERVAL_DEFAULT: u64 = 1_000;
/// The most pre-image bytes a capture holds; past it the capture is abandoned (the
/// next interval tries again), so a slow export cannot grow memory without bound.
pub const PREIMAGE_BYTES_MAX: usize = 256 << 20;
/// The checkpoints' directory inside the data directory.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// How often the checkpointer looks at the head.
const POLL: Duration = Duration::from_millis(100);

/// The capture shared by the commit thread (through `ChainDb`) and the exporter.
#[derive(Default)]
pub struct CaptureSlot {
    inner: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    /// Install a capture after the next applied block.
    requested: bool,
    capture: Option<Capture>,
}

struct Capture {
    head: ChainHead,
    /// Keys at or above it were handed to the exporter (`None`: none yet).
    cursor: Option<Vec<u8>>,
    /// The value after `head` of every key written since, first write only.
    pre: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    bytes: usize,
    abandoned: bool,
}

/// One page of a capture: entries in descending key order, and where the next page
/// starts (`None`: the part is done).
pub type Page = (Entries, Option<Vec<u8>>);

impl CaptureSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the commit thread to capture the state after the next block it applies.
    pub fn request(&self) {
        let mut slot = self.lock();
        if slot.capture.is_none() {
            slot.requested = true;
        }
    }

    /// The commit thread, right after applying `head`: installs a requested capture.
    pub fn applied(&self, head: ChainHead) {
        let mut slot = self.lock();
        if slot.requested && slot.capture.is_none() {
            slot.requested = false;
            slot.capture = Some(Capture {
                head,
                cursor: None,
                pre: BTreeMap::new(),
                bytes: 0,
                abandoned: false,
            });
        }
    }

    /// The head of the installed capture.
    pub fn captured(&self) -> Option<ChainHead> {
        self.lock().capture.as_ref().map(|c| c.head)
    }

    /// Drops the capture (done, or given up).
    pub fn release(&self) {
        let mut slot = self.lock();
        slot.capture = None;
        slot.requested = false;
    }

    /// The commit thread, before writing `writes`: saves the pre-image of each
    /// snapshot key not yet handed out and not yet saved, read with `read`.
    pub fn preserve(
        &self,
        writes: &Writes,
        read: impl Fn(&[u8]) -> Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<(), StoreError> {
        let mut slot = self.lock();
        let Some(c) = slot.capture.as_mut().filter(|c| !c.abandoned) else {
            return Ok(());
        };
        for (key, _) in writes {
            let exported = key.first().is_some_and(|p| SNAPSHOT_PREFIXES.contains(p));
            let passed = c.cursor.as_ref().is_some_and(|cursor| key >= cursor);
            if !exported || passed || c.pre.contains_key(key) {
                continue;
            }
            let old = read(key)?;
            c.bytes += key.len() + old.as_ref().map_or(0, Vec::len) + 32;
            c.pre.insert(key.clone(), old);
            if c.bytes > PREIMAGE_BYTES_MAX {
                warn!(
                    height = c.head.height,
                    "checkpoint abandoned: more than {PREIMAGE_BYTES_MAX} bytes changed while it was written"
                );
                c.abandoned = true;
                c.pre = BTreeMap::new();
                break;
            }
        }
        Ok(())
    }

    /// The exporter: the page of `part` below `before` as of the capture's height,
    /// from `scan` (the store's current entries: descending, below `before`, at most
    /// `limit`), `limit` entries a page.
    pub fn page(
        &self,
        part: u8,
        before: Option<&[u8]>,
        limit: usize,
        scan: impl FnOnce(usize) -> Result<Entries, StoreError>,
    ) -> Result<Page, StoreError> {
        let scanned = scan(limit)?;
        let full = scanned.len() >= limit;
        let low = match (full, scanned.last()) {
            (true, Some((last, _))) => last.clone(),
            _ => vec![part],
        };
        let high = match before {
            Some(b) => Some(b.to_vec()),
            None => prefix_end(&[part]),
        };
        let mut slot = self.lock();
        let Some(c) = slot.capture.as_mut().filter(|c| !c.abandoned) else {
            return Err(StoreError::Snapshot(
                "the checkpoint's capture was abandoned".into(),
            ));
        };
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = scanned.into_iter().collect();
        let range = c.pre.range(low.clone()..).take_while(|(k, _)| match &high {
            Some(h) => *k < h,
            None => true,
        });
        for (key, old) in range {
            match old {
                Some(v) => merged.insert(key.clone(), v.clone()),
                None => merged.remove(key),
            };
        }
        c.cursor = Some(low.clone());
        let entries = merged.into_iter().rev().collect();
        Ok((entries, full.then_some(low)))
    }
}

/// Where checkpoint `height` is written.
pub fn checkpoint_path(data_dir: &Path, height: u64) -> PathBuf {
    data_dir
        .join(SNAPSHOTS_DIR)
        .join(format!("{height:012}.snap"))
}

/// The checkpoints on disk, oldest first: (height, path).
pub fn list(data_dir: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(dir) = std::fs::read_dir(data_dir.join(SNAPSHOTS_DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<(u64, PathBuf)> = dir
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let height = name.strip_suffix(".snap")?.parse().ok()?;
            Some((height, path))
        })
        .collect();
    out.sort();
    out
}

/// Writes checkpoints every `interval` blocks until the chain is dropped.
pub async fn checkpoint_forever(chain: Arc<Chain>, data_dir: PathBuf, interval: u64) {
    let mut last = chain.head().height / interval * interval;
    loop {
        tokio::time::sleep(POLL).await;
        let head = chain.head().height;
        if head < last + interval {
            continue;
        }
        let (db, dir) = (chain.db.clone(), data_dir.clone());
        match tokio::task::spawn_blocking(move || write_checkpoint(&db, &dir)).await {
            Ok(Ok(Some(stats))) => {
                last = stats.height;
                info!(
                    height = stats.height,
                    entries = stats.entries,
                    bytes = stats.bytes,
                    seconds = stats.seconds,
                    "wrote a state checkpoint"
                );
            }
            // The chain did not move on: try again at the next interval.
            Ok(Ok(None)) => last = head,
            Ok(Err(error)) => {
                last = head;
                warn!(%error, "could not write a state checkpoint; trying again at the next interval");
            }
            Err(error) => {
                warn!(%error, "the checkpoint task failed");
                return;
            }
        }
    }
}

/// Captures the state after the next applied block, waits until the block above it is
/// final (its header certifies the state), writes the snapshot, and deletes all but the
/// newest [`CHECKPOINTS_KEPT`]. `None`: the node stopped meanwhile.
fn write_checkpoint(
    db: &Arc<Db>,
    data_dir: &Path,
) -> Result<Option<Stats>, snapshot::SnapshotError> {
    let slot = db.capture();
    slot.request();
    let result = (|| {
        let Some(head) = wait_for(|| slot.captured()) else {
            return Ok(None);
        };
        let Some(successor) = wait_for(|| db.block(head.height + 1).ok().flatten()) else {
            return Ok(None);
        };
        let header = snapshot::header_at(
            db,
            head,
            Some(Successor {
                header: successor.block.header,
                certificate: successor.certificate,
            }),
        )?;
        let path = checkpoint_path(data_dir, head.height);
        let dir = data_dir.join(SNAPSHOTS_DIR);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!("{:012}.tmp", head.height));
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(file);
        let stats = snapshot::write(&mut w, header, |part, before| {
            slot.page(part, before, CHUNK_ENTRIES_MAX, |limit| {
                db.snapshot_page(part, before, limit)
            })
        })?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(Some(stats))
    })();
    slot.release();
    let kept = list(data_dir);
    for (_, old) in kept
        .iter()
        .take(kept.len().saturating_sub(CHECKPOINTS_KEPT))
    {
        let _ = std::fs::remove_file(old);
    }
    result
}

/// Polls `f` until it gives something; `None` after a minute without (the chain is
/// not moving, or the node is stopping).
fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..600 {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(POLL);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::Hash;
    use std::cell::RefCell;

    type Map = BTreeMap<Vec<u8>, Vec<u8>>;

    /// The store's entries of `part` below `before`, descending, at most `limit`.
    fn scan(map: &Map, part: u8, before: Option<&[u8]>, limit: usize) -> Entries {
        map.iter()
            .rev()
            .filter(|(k, _)| k[0] == part && before.is_none_or(|b| k.as_slice() < b))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn a_capture_exports_the_state_of_its_height_while_blocks_change_deleted_created_and_passed_keys(
    ) {
        let store = RefCell::new(Map::new());
        for i in 0u8..50 {
            store.borrow_mut().insert(vec![b'S', i], vec![i]);
        }
        for i in 0u8..10 {
            store.borrow_mut().insert(vec![b'L', i], vec![100 + i]);
        }
        let slot = CaptureSlot::default();
        slot.request();
        let head = ChainHead {
            height: 7,
            block_hash: Hash::ZERO,
            app_hash: Hash::ZERO,
            time_ms: 0,
        };
        slot.applied(head);
        assert_eq!(slot.captured(), Some(head));
        let expected = store.borrow().clone();
        // A block after the capture: the commit thread preserves, then writes.
        let commit = |round: u8| {
            let mut writes: Writes = Vec::new();
            for i in (0u8..50).filter(|i| (i + round).is_multiple_of(5)) {
                writes.push((vec![b'S', i], Some(vec![i, round])));
            }
            writes.push((vec![b'S', 49 - round * 3], None)); // a deletion
            writes.push((vec![b'S', round * 4, 9], Some(vec![round]))); // a new key
            writes.push((vec![b'L', round % 10], None));
            slot.preserve(&writes, |k| Ok(store.borrow().get(k).cloned()))
                .expect("preserve");
            let mut map = store.borrow_mut();
            for (k, v) in writes {
                match v {
                    Some(v) => map.insert(k, v),
                    None => map.remove(&k),
                };
            }
        };
        let mut exported = Vec::new();
        let mut round = 0u8;
        for part in SNAPSHOT_PREFIXES {
            let mut before: Option<Vec<u8>> = None;
            loop {
                let (page, next) = slot
                    .page(part, before.as_deref(), 7, |limit| {
                        Ok(scan(&store.borrow(), part, before.as_deref(), limit))
                    })
                    .expect("page");
                exported.extend(page);
                commit(round);
                round += 1;
                match next {
                    Some(n) => before = Some(n),
                    None => break,
                }
            }
        }
        assert!(round > 8, "blocks landed between many pages");
        let got: Map = exported.iter().cloned().collect();
        assert_eq!(got.len(), exported.len(), "no key is exported twice");
        assert_eq!(got, expected, "the export is the state at the capture");
        assert_ne!(*store.borrow(), expected, "the store moved on meanwhile");
        slot.release();
        assert_eq!(slot.captured(), None);
    }
}
