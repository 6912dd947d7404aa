//! Block records in append-only, checksummed segment files beside sled.
//!
//! Blocks, their certificates and receipts are written once and never changed, so
//! they do not belong in sled's log-structured B-tree, which rewrites pages and keeps
//! their garbage around (measured: a 300-byte value costs sled several times its size
//! on disk). They go, one framed record per block, at the end of the current segment
//! file; sled keeps only where each record is ([`SegmentPtr`]).
//!
//! A segment is named after the first height it holds (`<height, 20 digits>.seg`) and
//! is closed once it passes [`SEGMENT_BYTES_MAX`]. A frame is
//!
//! | bytes | field |
//! |---|---|
//! | 4 | payload length, u32 LE |
//! | 8 | height, u64 LE |
//! | 8 | checksum: the first 8 bytes of BLAKE3(height LE ‖ payload) |
//! | n | payload |
//!
//! The commit order makes recovery exact: the record is appended and synced before
//! the sled batch that indexes it and moves the head. So after a crash the segments
//! may hold a torn frame or whole frames above the stored head (written, never
//! indexed), never a gap below it; [`BlockLog::recover`] cuts the tail back to the
//! head's frame and removes segments that start above it.

use crate::chain::lock;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jeon_runtime::Height;
use serde::{Deserialize, Serialize};

/// A segment is closed and the next one started once it holds this many bytes.
pub const SEGMENT_BYTES_MAX: u64 = 64 << 20;
/// Bytes before a frame's payload.
pub const FRAME_HEADER_BYTES: usize = 20;
/// A frame longer than this is corrupt (a block is bounded far below it).
const FRAME_PAYLOAD_MAX: usize = 256 << 20;

/// Where a block's record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentPtr {
    /// The segment: the first height it holds.
    pub segment: Height,
    /// The frame's offset in it.
    pub offset: u64,
    /// The frame's payload length.
    pub len: u32,
}

/// Why the block log failed.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// The file system failed.
    #[error("segment {segment}: {source}")]
    Io {
        /// The segment.
        segment: Height,
        /// The error.
        source: io::Error,
    },
    /// The segments end before the stored head: the head's record was lost after
    /// its sync returned (the disk or a restore lost it). Nothing is cut.
    #[error("block segments end at height {last}, but the stored head is {head}: the head block's record is missing or damaged; restore the data directory from a backup, or start from an empty one and sync")]
    HeadMissing {
        /// The stored head.
        head: Height,
        /// The last whole record's height (0: none).
        last: Height,
    },
    /// The segments hold more than one whole block record above the stored head: the
    /// database lost writes it had flushed. Nothing is cut.
    #[error("the block files hold final blocks up to {blocks_end}, but the database's head is {head}: the database lost flushed writes (damaged or truncated db/ files); nothing was cut. Run `jeon repair --data DIR` to rebuild the database from the block files (docs/operations.md §10). Or: Restore the data directory from a backup, or move db/, blocks/ and txindex/ aside and restart to sync from peers (docs/storage.md §7)")]
    AheadOfHead {
        /// The stored head.
        head: Height,
        /// The highest height the segments hold.
        blocks_end: Height,
    },
    /// Listing the segment directory failed.
    #[error("segment directory: {0}")]
    Dir(io::Error),
    /// A frame does not match what the index says, or fails its checksum.
    #[error("segment {segment} offset {offset}: {reason}")]
    Corrupt {
        /// The segment.
        segment: Height,
        /// The frame's offset.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The files segments live in: a directory, or memory for the simulator and tests.
pub trait SegmentFiles: Send + Sync {
    /// The segments there are, in ascending order.
    fn list(&self) -> Result<Vec<Height>, SegmentError>;
    /// A segment's length in bytes.
    fn len(&self, segment: Height) -> Result<u64, SegmentError>;
    /// `len` bytes at `offset`.
    fn read(&self, segment: Height, offset: u64, len: usize) -> Result<Vec<u8>, SegmentError>;
    /// Appends `bytes` (creating the segment if needed) and returns only once they are
    /// durable.
    fn append(&self, segment: Height, bytes: &[u8]) -> Result<(), SegmentError>;
    /// Cuts a segment back to `len` bytes, durably.
    fn truncate(&self, segment: Height, len: u64) -> Result<(), SegmentError>;
    /// Deletes a segment.
    fn remove(&self, segment: Height) -> Result<(), SegmentError>;
    /// Where a segment is, for messages: its file's path.
    fn location(&self, segment: Height) -> String {
        format!("segment {segment}")
    }
    /// Bytes held by all segments.
    fn total_bytes(&self) -> Result<u64, SegmentError> {
        self.list()?.into_iter().map(|s| self.len(s)).sum()
    }
}

/// Segments as files in a directory.
pub struct DirSegments {
    dir: PathBuf,
    /// The segment being appended to, kept open.
    open: Mutex<Option<(Height, File)>>,
}

impl DirSegments {
    /// Opens (creating) the directory.
    pub fn open(dir: &Path) -> Result<Self, SegmentError> {
        std::fs::create_dir_all(dir).map_err(SegmentError::Dir)?;
        Ok(DirSegments {
            dir: dir.to_path_buf(),
            open: Mutex::new(None),
        })
    }

    fn path(&self, segment: Height) -> PathBuf {
        self.dir.join(format!("{segment:020}.seg"))
    }

    fn io(segment: Height) -> impl FnOnce(io::Error) -> SegmentError {
        move |source| SegmentError::Io { segment, source }
    }

    fn sync_dir(&self) -> Result<(), SegmentError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(SegmentError::Dir)
    }
}

impl SegmentFiles for DirSegments {
    fn location(&self, segment: Height) -> String {
        self.path(segment).display().to_string()
    }

    fn list(&self) -> Result<Vec<Height>, SegmentError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(SegmentError::Dir)? {
            let entry = entry.map_err(SegmentError::Dir)?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
                continue;
            };
            if let Ok(height) = stem.parse::<Height>() {
                out.push(height);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    fn len(&self, segment: Height) -> Result<u64, SegmentError> {
        std::fs::metadata(self.path(segment))
            .map(|m| m.len())
            .map_err(Self::io(segment))
    }

    fn read(&self, segment: Height, offset: u64, len: usize) -> Result<Vec<u8>, SegmentError> {
        let file = File::open(self.path(segment)).map_err(Self::io(segment))?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, offset)
            .map_err(Self::io(segment))?;
        Ok(buf)
    }

    fn append(&self, segment: Height, bytes: &[u8]) -> Result<(), SegmentError> {
        let mut open = lock(&self.open);
        if open.as_ref().map(|(s, _)| *s) != Some(segment) {
            let created = !self.path(segment).exists();
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(segment))
                .map_err(Self::io(segment))?;
            if created {
                // The new name must survive a crash as well as its bytes.
                self.sync_dir()?;
            }
            *open = Some((segment, file));
        }
        let Some((_, file)) = open.as_mut() else {
            return Err(SegmentError::Corrupt {
                segment,
                offset: 0,
                reason: "segment not open",
            });
        };
        file.write_all(bytes).map_err(Self::io(segment))?;
        crate::crash::crash_point("segment.before_sync");
        file.sync_data().map_err(Self::io(segment))
    }

    fn truncate(&self, segment: Height, len: u64) -> Result<(), SegmentError> {
        *lock(&self.open) = None;
        let file = OpenOptions::new()
            .write(true)
            .open(self.path(segment))
            .map_err(Self::io(segment))?;
        file.set_len(len).map_err(Self::io(segment))?;
        file.sync_all().map_err(Self::io(segment))
    }

    fn remove(&self, segment: Height) -> Result<(), SegmentError> {
        let mut open = lock(&self.open);
        if open.as_ref().map(|(s, _)| *s) == Some(segment) {
            *open = None;
        }
        std::fs::remove_file(self.path(segment)).map_err(Self::io(segment))?;
        self.sync_dir()
    }
}

/// Segments in memory (the simulator, unit tests). Clones share the segments, so a
/// simulated node restarted on the same handle finds its blocks.
#[derive(Clone, Default)]
pub struct MemSegments {
    files: Arc<Mutex<BTreeMap<Height, Vec<u8>>>>,
}

impl MemSegments {
    /// No segments.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SegmentFiles for MemSegments {
    fn list(&self) -> Result<Vec<Height>, SegmentError> {
        Ok(lock(&self.files).keys().copied().collect())
    }

    fn len(&self, segment: Height) -> Result<u64, SegmentError> {
        Ok(lock(&self.files)
            .get(&segment)
            .map_or(0, |f| f.len() as u64))
    }

    fn read(&self, segment: Height, offset: u64, len: usize) -> Result<Vec<u8>, SegmentError> {
        let files = lock(&self.files);
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        files
            .get(&segment)
            .and_then(|f| f.get(start..start.checked_add(len)?))
            .map(<[u8]>::to_vec)
            .ok_or(SegmentError::Corrupt {
                segment,
                offset,
                reason: "read past the end of the segment",
            })
    }

    fn append(&self, segment: Height, bytes: &[u8]) -> Result<(), SegmentError> {
        lock(&self.files)
            .entry(segment)
            .or_default()
            .extend_from_slice(bytes);
        Ok(())
    }

    fn truncate(&self, segment: Height, len: u64) -> Result<(), SegmentError> {
        if let Some(f) = lock(&self.files).get_mut(&segment) {
            f.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        }
        Ok(())
    }

    fn remove(&self, segment: Height) -> Result<(), SegmentError> {
        lock(&self.files).remove(&segment);
        Ok(())
    }
}

/// What [`BlockLog::recover`] found and cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Bytes cut from the tail of the last segment (a torn frame, or frames above the
    /// head).
    pub bytes_cut: u64,
    /// Whole segments removed because they start above the head.
    pub segments_removed: usize,
}

/// The block log: framed records appended to segments.
pub struct BlockLog {
    files: Box<dyn SegmentFiles>,
    /// The segment appended to and its length; `None` before the first append.
    tail: Mutex<Option<(Height, u64)>>,
    segment_bytes_max: u64,
}

fn checksum(height: Height, payload: &[u8]) -> [u8; 8] {
    let mut h = blake3::Hasher::new();
    h.update(&height.to_le_bytes());
    h.update(payload);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize().as_bytes()[..8]);
    out
}

/// A frame's header fields: (payload length, height, checksum).
fn parse_header(h: &[u8]) -> Option<(usize, Height, [u8; 8])> {
    let len = u32::from_le_bytes(h.get(0..4)?.try_into().ok()?) as usize;
    let height = u64::from_le_bytes(h.get(4..12)?.try_into().ok()?);
    let sum: [u8; 8] = h.get(12..20)?.try_into().ok()?;
    Some((len, height, sum))
}

impl BlockLog {
    /// A log over `files`, segments closed at [`SEGMENT_BYTES_MAX`].
    pub fn new(files: Box<dyn SegmentFiles>) -> Self {
        Self::with_segment_bytes(files, SEGMENT_BYTES_MAX)
    }

    /// A log whose segments close at `segment_bytes_max` (tests use small ones).
    pub fn with_segment_bytes(files: Box<dyn SegmentFiles>, segment_bytes_max: u64) -> Self {
        BlockLog {
            files,
            tail: Mutex::new(None),
            segment_bytes_max,
        }
    }

    /// Appends the record of the block at `height` and returns where it is, once it is
    /// durable.
    pub fn append(&self, height: Height, payload: &[u8]) -> Result<SegmentPtr, SegmentError> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| (*l as usize) <= FRAME_PAYLOAD_MAX)
            .ok_or(SegmentError::Corrupt {
                segment: height,
                offset: 0,
                reason: "record too large for a frame",
            })?;
        let mut tail = lock(&self.tail);
        let (segment, offset) = match *tail {
            Some((segment, end)) if end < self.segment_bytes_max => (segment, end),
            _ => (height, 0),
        };
        let mut frame = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&height.to_le_bytes());
        frame.extend_from_slice(&checksum(height, payload));
        frame.extend_from_slice(payload);
        self.files.append(segment, &frame)?;
        *tail = Some((segment, offset + frame.len() as u64));
        Ok(SegmentPtr {
            segment,
            offset,
            len,
        })
    }

    /// The payload of the record at `ptr`, checked against its checksum and height.
    pub fn read(&self, ptr: SegmentPtr, height: Height) -> Result<Vec<u8>, SegmentError> {
        let corrupt = |reason| SegmentError::Corrupt {
            segment: ptr.segment,
            offset: ptr.offset,
            reason,
        };
        let frame = self.files.read(
            ptr.segment,
            ptr.offset,
            FRAME_HEADER_BYTES + ptr.len as usize,
        )?;
        let (len, at, sum) = parse_header(&frame).ok_or_else(|| corrupt("short header"))?;
        if len != ptr.len as usize || at != height {
            return Err(corrupt("frame does not match the index"));
        }
        let payload = frame.get(FRAME_HEADER_BYTES..).unwrap_or_default();
        if checksum(at, payload) != sum {
            return Err(corrupt("checksum mismatch"));
        }
        Ok(payload.to_vec())
    }

    /// Brings the segments back to exactly the blocks up to `head`, whose record the
    /// database says is at `head_ptr` (`None` at genesis): checks the head's frame,
    /// cuts what follows it in its segment and removes later segments (a torn frame,
    /// or the one frame a crash between the append and the database batch leaves).
    /// Run once, before appending.
    ///
    /// Anchoring on the head's pointer, not on a scan from the segment's start, lets a
    /// damaged record below the head stay where it is (its reads fail its checksum)
    /// without hiding the head. A commit appends one frame and then moves the head, so
    /// more than one whole frame above the head means the database lost flushed writes:
    /// [`SegmentError::AheadOfHead`], and nothing is cut, since those are final blocks.
    pub fn recover(
        &self,
        head: Height,
        head_ptr: Option<SegmentPtr>,
    ) -> Result<Recovered, SegmentError> {
        let segments = self.files.list()?;
        let (keep, end) = match head_ptr {
            Some(ptr) => {
                self.check_head(ptr, head)?;
                (
                    Some(ptr.segment),
                    ptr.offset + (FRAME_HEADER_BYTES as u64) + u64::from(ptr.len),
                )
            }
            None if head > 0 => return Err(SegmentError::HeadMissing { head, last: 0 }),
            None => (None, 0),
        };
        let mut above = Vec::new();
        for &segment in &segments {
            match keep {
                Some(k) if segment < k => {}
                Some(k) if segment == k => above.extend(self.whole_frames(segment, end)?),
                _ => above.extend(self.whole_frames(segment, 0)?),
            }
        }
        if above.len() > 1 {
            let blocks_end = above.iter().copied().max().unwrap_or(head);
            return Err(SegmentError::AheadOfHead { head, blocks_end });
        }
        self.cut_after(&segments, keep, end)
    }

    /// Checks the head's frame at `ptr`: [`SegmentError::HeadMissing`] if it is short
    /// or fails its checksum.
    fn check_head(&self, ptr: SegmentPtr, head: Height) -> Result<(), SegmentError> {
        let end = ptr.offset + (FRAME_HEADER_BYTES as u64) + u64::from(ptr.len);
        let whole =
            self.files.list()?.contains(&ptr.segment) && self.files.len(ptr.segment)? >= end;
        if whole && self.read(ptr, head).is_ok() {
            return Ok(());
        }
        let last = self.whole_frames(ptr.segment, 0).unwrap_or_default();
        Err(SegmentError::HeadMissing {
            head,
            last: last.last().copied().unwrap_or(0),
        })
    }

    /// The heights of the whole, checksummed frames from `offset` on in `segment`, up
    /// to the first torn or damaged one.
    fn whole_frames(&self, segment: Height, offset: u64) -> Result<Vec<Height>, SegmentError> {
        let mut heights = Vec::new();
        self.each_whole_frame(segment, offset, &mut |height, _| {
            heights.push(height);
            true
        })?;
        Ok(heights)
    }

    /// Calls `each(height, payload)` for the whole, checksummed frames from `offset`
    /// on in `segment`, up to the first torn or damaged one or until it returns `false`.
    fn each_whole_frame(
        &self,
        segment: Height,
        offset: u64,
        each: &mut dyn FnMut(Height, &[u8]) -> bool,
    ) -> Result<(), SegmentError> {
        let len = self.files.len(segment)?;
        if len <= offset {
            return Ok(());
        }
        let bytes = self
            .files
            .read(segment, offset, usize::try_from(len - offset).unwrap_or(0))?;
        let mut at = 0usize;
        while let Some((plen, height, sum)) = bytes.get(at..).and_then(parse_header) {
            let end = at + FRAME_HEADER_BYTES + plen;
            let Some(payload) = bytes.get(at + FRAME_HEADER_BYTES..end) else {
                break;
            };
            if plen > FRAME_PAYLOAD_MAX
                || checksum(height, payload) != sum
                || !each(height, payload)
            {
                break;
            }
            at = end;
        }
        Ok(())
    }

    /// The whole record just above the head (`head_ptr` is where the head's record is;
    /// `None` before the first block), if there is one: a block that was staged, and so
    /// final, when a crash kept its batch from the store. Read before
    /// [`BlockLog::recover`] cuts it.
    pub fn record_above(
        &self,
        head: Height,
        head_ptr: Option<SegmentPtr>,
    ) -> Result<Option<Vec<u8>>, SegmentError> {
        let segments = self.files.list()?;
        let (start_segment, start) = match head_ptr {
            Some(ptr) => (
                ptr.segment,
                ptr.offset + (FRAME_HEADER_BYTES as u64) + u64::from(ptr.len),
            ),
            None => (0, 0),
        };
        let mut found = None;
        for &segment in segments.iter().filter(|s| **s >= start_segment) {
            let offset = if segment == start_segment { start } else { 0 };
            self.each_whole_frame(segment, offset, &mut |height, payload| {
                if height == head + 1 {
                    found = Some(payload.to_vec());
                }
                false
            })?;
            if found.is_some() || self.files.len(segment)? > offset {
                break;
            }
        }
        Ok(found)
    }

    /// Removes the segments after `keep` (all of them when `None`) and cuts `keep`
    /// back to `end` bytes; appending goes on from there.
    fn cut_after(
        &self,
        segments: &[Height],
        keep: Option<Height>,
        end: u64,
    ) -> Result<Recovered, SegmentError> {
        let mut report = Recovered::default();
        for &segment in segments.iter().rev() {
            if keep.is_some_and(|k| segment <= k) {
                break;
            }
            self.files.remove(segment)?;
            report.segments_removed += 1;
        }
        let Some(keep) = keep else {
            *lock(&self.tail) = None;
            return Ok(report);
        };
        let len = self.files.len(keep)?;
        if len > end {
            self.files.truncate(keep, end)?;
            report.bytes_cut = len - end;
        }
        *lock(&self.tail) = Some((keep, end));
        Ok(report)
    }

    /// Deletes every segment that holds only heights below `keep_from`, given the
    /// segments' first heights; returns the segments removed. The caller has already
    /// dropped their index entries.
    pub fn remove_below(&self, keep_from: Height) -> Result<Vec<Height>, SegmentError> {
        let segments = self.files.list()?;
        let mut removed = Vec::new();
        // A segment ends where the next one starts; the last one is never removed.
        for pair in segments.windows(2) {
            if pair[1] <= keep_from {
                self.files.remove(pair[0])?;
                removed.push(pair[0]);
            }
        }
        Ok(removed)
    }

    /// Reads every whole, checksummed record in height order, read-only (`jeon
    /// repair`): calls `each(height, payload)` for each until it returns `false`.
    /// Stops at the first torn or damaged frame, whichever segment it is in, and
    /// returns where (`None` if every byte of every segment was a whole frame).
    pub fn scan(
        &self,
        each: &mut dyn FnMut(Height, &[u8]) -> bool,
    ) -> Result<Option<String>, SegmentError> {
        for segment in self.files.list()? {
            let len = self.files.len(segment)?;
            let bytes = self
                .files
                .read(segment, 0, usize::try_from(len).unwrap_or(0))?;
            let mut at = 0usize;
            while at < bytes.len() {
                let whole =
                    bytes
                        .get(at..)
                        .and_then(parse_header)
                        .and_then(|(plen, height, sum)| {
                            let payload = bytes.get(at + FRAME_HEADER_BYTES..)?.get(..plen)?;
                            (plen <= FRAME_PAYLOAD_MAX && checksum(height, payload) == sum)
                                .then_some((height, payload))
                        });
                let Some((height, payload)) = whole else {
                    return Ok(Some(format!(
                        "{} offset {at}: a torn or damaged frame",
                        self.files.location(segment)
                    )));
                };
                if !each(height, payload) {
                    return Ok(None);
                }
                at += FRAME_HEADER_BYTES + payload.len();
            }
        }
        Ok(None)
    }

    /// The segments' first heights.
    pub fn segments(&self) -> Result<Vec<Height>, SegmentError> {
        self.files.list()
    }

    /// Where `segment` is, for messages (its file's path).
    pub fn location(&self, segment: Height) -> String {
        self.files.location(segment)
    }

    /// Bytes held by the segments.
    pub fn total_bytes(&self) -> Result<u64, SegmentError> {
        self.files.total_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(files: &MemSegments, max: u64) -> BlockLog {
        BlockLog::with_segment_bytes(Box::new(files.clone()), max)
    }

    #[test]
    fn scan_yields_whole_records_in_order_and_stops_at_a_torn_one() {
        let files = MemSegments::new();
        let l = log(&files, 100);
        for h in 1..=7u64 {
            l.append(h, &[h as u8; 30]).expect("append");
        }
        let mut seen = Vec::new();
        let end = l
            .scan(&mut |h, p| {
                seen.push((h, p.to_vec()));
                true
            })
            .expect("scan");
        assert_eq!(end, None);
        let want: Vec<(u64, Vec<u8>)> = (1..=7u64).map(|h| (h, vec![h as u8; 30])).collect();
        assert_eq!(seen, want);
        // Tear the last frame: the scan ends at the one before and says where.
        let last = *files.list().expect("list").last().expect("a segment");
        let len = files.len(last).expect("len");
        files.truncate(last, len - 5).expect("truncate");
        let mut heights = Vec::new();
        let end = l
            .scan(&mut |h, _| {
                heights.push(h);
                true
            })
            .expect("scan");
        assert_eq!(heights, (1..=6).collect::<Vec<_>>());
        assert!(end.is_some_and(|e| e.contains("torn or damaged")));
        // The caller can stop early.
        let mut count = 0;
        l.scan(&mut |_, _| {
            count += 1;
            count < 2
        })
        .expect("scan");
        assert_eq!(count, 2);
    }

    #[test]
    fn records_read_back_and_segments_roll_over() {
        let files = MemSegments::new();
        let l = log(&files, 100);
        let ptrs: Vec<SegmentPtr> = (1..=10u64)
            .map(|h| l.append(h, &[h as u8; 30]).expect("append"))
            .collect();
        for (h, ptr) in (1..=10u64).zip(&ptrs) {
            assert_eq!(l.read(*ptr, h).expect("read"), vec![h as u8; 30]);
        }
        // 50-byte frames: two per 100-byte segment.
        assert_eq!(l.segments().expect("list"), vec![1, 3, 5, 7, 9]);
        assert!(l.read(ptrs[0], 2).is_err(), "wrong height is refused");
    }

    /// Appends blocks `heights` with 40-byte payloads; returns their pointers.
    fn blocks(l: &BlockLog, heights: std::ops::RangeInclusive<u64>) -> Vec<SegmentPtr> {
        heights
            .map(|h| l.append(h, &[h as u8; 40]).expect("append"))
            .collect()
    }

    #[test]
    fn recovery_cuts_a_torn_tail_and_the_one_frame_above_the_head() {
        let files = MemSegments::new();
        let l = log(&files, 1 << 20);
        let ptrs = blocks(&l, 1..=5);
        // A torn sixth frame: header and half its payload.
        let mut torn = Vec::new();
        torn.extend_from_slice(&40u32.to_le_bytes());
        torn.extend_from_slice(&6u64.to_le_bytes());
        torn.extend_from_slice(&checksum(6, &[6; 40]));
        torn.extend_from_slice(&[6; 20]);
        files.append(1, &torn).expect("append");
        // Head 4: frame 5 was written but never indexed.
        let l = log(&files, 1 << 20);
        let report = l.recover(4, Some(ptrs[3])).expect("recover");
        // Frame 5 (20 + 40 bytes) and the torn frame (20 + 20).
        assert_eq!(report.bytes_cut, 60 + 40);
        assert_eq!(files.len(1).expect("len"), 4 * 60);
        // Appending continues right after block 4.
        let ptr = l.append(5, &[9; 40]).expect("append");
        assert_eq!(ptr.offset, 240);
        assert_eq!(l.read(ptr, 5).expect("read"), vec![9; 40]);
    }

    #[test]
    fn recovery_removes_a_segment_that_starts_above_the_head_with_its_one_frame() {
        let files = MemSegments::new();
        let l = log(&files, 60);
        let ptrs = blocks(&l, 1..=4);
        assert_eq!(l.segments().expect("list"), vec![1, 2, 3, 4]);
        let l = log(&files, 60);
        let report = l.recover(3, Some(ptrs[2])).expect("recover");
        assert_eq!(report.segments_removed, 1);
        assert_eq!(l.segments().expect("list"), vec![1, 2, 3]);
        // At genesis a first block written but never indexed is removed.
        let files = MemSegments::new();
        blocks(&log(&files, 60), 1..=1);
        log(&files, 60).recover(0, None).expect("recover");
        assert!(files.list().expect("list").is_empty());
    }

    #[test]
    fn more_than_one_block_above_the_head_is_refused_and_nothing_is_cut() {
        // The database lost flushed writes (its head went back two blocks): the
        // segments hold final blocks that cutting would delete.
        let files = MemSegments::new();
        let ptrs = blocks(&log(&files, 1 << 20), 1..=5);
        let l = log(&files, 1 << 20);
        assert!(matches!(
            l.recover(3, Some(ptrs[2])),
            Err(SegmentError::AheadOfHead {
                head: 3,
                blocks_end: 5
            })
        ));
        assert_eq!(files.len(1).expect("len"), 5 * 60, "nothing is cut");
        // The same across segments, and from genesis.
        let files = MemSegments::new();
        let ptrs = blocks(&log(&files, 60), 1..=4);
        let err = log(&files, 60).recover(2, Some(ptrs[1]));
        assert!(matches!(
            err,
            Err(SegmentError::AheadOfHead {
                head: 2,
                blocks_end: 4
            })
        ));
        assert!(matches!(
            log(&files, 60).recover(0, None),
            Err(SegmentError::AheadOfHead {
                head: 0,
                blocks_end: 4
            })
        ));
        assert_eq!(
            files.list().expect("list"),
            vec![1, 2, 3, 4],
            "nothing is removed"
        );
    }

    #[test]
    fn a_damaged_record_below_the_head_does_not_stop_recovery_and_fails_its_read() {
        let files = MemSegments::new();
        let ptrs = blocks(&log(&files, 1 << 20), 1..=4);
        if let Some(seg) = lock(&files.files).get_mut(&1) {
            seg[60 + 30] ^= 1; // inside block 2's payload
        }
        let l = log(&files, 1 << 20);
        assert_eq!(
            l.recover(4, Some(ptrs[3])).expect("recover"),
            Recovered::default()
        );
        assert!(matches!(
            l.read(ptrs[1], 2),
            Err(SegmentError::Corrupt {
                reason: "checksum mismatch",
                ..
            })
        ));
        assert_eq!(l.read(ptrs[2], 3).expect("read"), vec![3; 40]);
    }

    #[test]
    fn recovery_refuses_segments_that_end_before_the_head() {
        let files = MemSegments::new();
        let ptrs = blocks(&log(&files, 1 << 20), 1..=3);
        // The head's frame lost its last byte.
        files.truncate(1, 3 * 60 - 1).expect("truncate");
        let l = log(&files, 1 << 20);
        assert!(matches!(
            l.recover(3, Some(ptrs[2])),
            Err(SegmentError::HeadMissing { head: 3, last: 2 })
        ));
        assert_eq!(files.len(1).expect("len"), 3 * 60 - 1, "nothing is cut");
        // A head's frame that fails its checksum is missing too.
        let files = MemSegments::new();
        let ptrs = blocks(&log(&files, 1 << 20), 1..=3);
        if let Some(seg) = lock(&files.files).get_mut(&1) {
            seg[2 * 60 + 30] ^= 1;
        }
        assert!(matches!(
            log(&files, 1 << 20).recover(3, Some(ptrs[2])),
            Err(SegmentError::HeadMissing { head: 3, last: 2 })
        ));
        // No segments at all under a head above genesis.
        let empty = log(&MemSegments::new(), 1 << 20);
        assert!(matches!(
            empty.recover(1, Some(ptrs[0])),
            Err(SegmentError::HeadMissing { head: 1, last: 0 })
        ));
        assert!(matches!(
            empty.recover(1, None),
            Err(SegmentError::HeadMissing { head: 1, last: 0 })
        ));
    }

    #[test]
    fn a_flipped_byte_is_caught_by_the_checksum() {
        let files = MemSegments::new();
        let l = log(&files, 1 << 20);
        let ptr = l.append(1, &[1; 40]).expect("append");
        {
            let mut f = lock(&files.files);
            if let Some(seg) = f.get_mut(&1) {
                seg[30] ^= 1;
            }
        }
        assert!(matches!(
            l.read(ptr, 1),
            Err(SegmentError::Corrupt {
                reason: "checksum mismatch",
                ..
            })
        ));
    }

    #[test]
    fn directory_segments_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ptr = {
            let l = BlockLog::new(Box::new(DirSegments::open(dir.path()).expect("open")));
            l.recover(0, None).expect("recover");
            l.append(1, b"one").expect("append");
            l.append(2, b"two").expect("append")
        };
        let l = BlockLog::new(Box::new(DirSegments::open(dir.path()).expect("open")));
        assert_eq!(
            l.recover(2, Some(ptr)).expect("recover"),
            Recovered::default()
        );
        assert_eq!(l.read(ptr, 2).expect("read"), b"two");
        let ptr3 = l.append(3, b"three").expect("append");
        assert_eq!(l.read(ptr3, 3).expect("read"), b"three");
    }
}
