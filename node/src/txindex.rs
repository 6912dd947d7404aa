//! The transaction index: where a transaction is, by hash, kept beside the block
//! segments rather than in sled.
//!
//! In sled the index cost about 130 bytes per transaction on disk, and its random,
//! only-added keys grew sled's memory with the chain. Here it costs 16: for every
//! closed block segment, one index file holding its transactions' entries sorted by
//! hash, and for the open segment a map in memory.
//!
//! An entry is 16 bytes: the first 8 bytes of the hash, then the height's offset from
//! the segment's first height (u32 BE) and the transaction's position in its block
//! (u32 BE). A file ends with an 8-byte trailer: the entry count (u32 LE) and the
//! magic `JXI1`. A candidate found by its hash prefix is confirmed by the caller
//! against the block's receipts.
//!
//! Everything here is derived from the block records, so nothing is synced on the
//! commit path: on start, [`TxIndex::open`] rebuilds a missing or torn index file from
//! its segment's records, drops index files whose segment is gone, and refills the map
//! of the open segment.

use crate::chain::lock;
use std::collections::HashMap;
use std::sync::Mutex;

use jeon_runtime::{Hash, Height};

use crate::segments::{SegmentError, SegmentFiles};

const ENTRY_BYTES: usize = 16;
const TRAILER_BYTES: usize = 8;
const MAGIC: &[u8; 4] = b"JXI1";
/// Candidates a lookup returns at most (sharing 8 hash bytes is rare by chance, and
/// grinding for it only slows lookups of the ground hash).
pub const CANDIDATES_MAX: usize = 64;

fn prefix(hash: &Hash) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hash.0[..8]);
    u64::from_be_bytes(b)
}

/// The open segment's entries.
#[derive(Default)]
struct Open {
    /// Its first height; `None` before any block.
    segment: Option<Height>,
    entries: HashMap<u64, Vec<(Height, u32)>>,
    /// The same entries in commit order, for writing the file when the segment closes.
    list: Vec<(u64, Height, u32)>,
}

/// The index.
pub struct TxIndex {
    /// One file per closed block segment, named like it.
    files: Box<dyn SegmentFiles>,
    /// Closed segments with an index file, with their entry counts, ascending.
    sealed: Mutex<Vec<(Height, u32)>>,
    open: Mutex<Open>,
}

/// The transactions of one block, as the index needs them.
pub type BlockTxs = (Height, Vec<Hash>);

impl TxIndex {
    /// An empty index over `files`; [`TxIndex::open`] brings it in line with the
    /// block segments.
    pub fn new(files: Box<dyn SegmentFiles>) -> Self {
        TxIndex {
            files,
            sealed: Mutex::new(Vec::new()),
            open: Mutex::new(Open::default()),
        }
    }

    /// Brings the index in line with the block segments `segments` (first heights,
    /// ascending; the last is open): drops files of segments that are gone, rebuilds
    /// the missing or torn files of closed ones, and fills the open segment's map.
    /// `blocks_of(segment)` reads a segment's blocks' transaction hashes.
    pub fn open(
        &self,
        segments: &[Height],
        mut blocks_of: impl FnMut(Height) -> Result<Vec<BlockTxs>, crate::store::StoreError>,
    ) -> Result<(), crate::store::StoreError> {
        let (closed, last) = match segments.split_last() {
            Some((last, closed)) => (closed, Some(*last)),
            None => (&[][..], None),
        };
        for file in self.files.list()? {
            if !closed.contains(&file) {
                self.files.remove(file)?;
            }
        }
        let mut sealed = Vec::with_capacity(closed.len());
        for &segment in closed {
            let count = match self.valid_count(segment)? {
                Some(count) => count,
                None => {
                    if self.files.list()?.contains(&segment) {
                        tracing::warn!(segment, "rebuilding a torn transaction index file");
                        self.files.remove(segment)?;
                    }
                    self.write_file(segment, &blocks_of(segment)?)?
                }
            };
            sealed.push((segment, count));
        }
        *lock(&self.sealed) = sealed;
        let mut open = Open {
            segment: last,
            ..Open::default()
        };
        if let Some(segment) = last {
            for (height, hashes) in blocks_of(segment)? {
                add(&mut open, height, &hashes);
            }
        }
        *lock(&self.open) = open;
        Ok(())
    }

    /// A closed segment's file entry count, if the file is whole.
    fn valid_count(&self, segment: Height) -> Result<Option<u32>, SegmentError> {
        if !self.files.list()?.contains(&segment) {
            return Ok(None);
        }
        let len = self.files.len(segment)?;
        if len < TRAILER_BYTES as u64 {
            return Ok(None);
        }
        let trailer = self
            .files
            .read(segment, len - TRAILER_BYTES as u64, TRAILER_BYTES)?;
        let count = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let whole = &trailer[4..] == MAGIC
            && len == count as u64 * ENTRY_BYTES as u64 + TRAILER_BYTES as u64;
        Ok(whole.then_some(count))
    }

    /// Writes a closed segment's file from its blocks; returns its entry count.
    fn write_file(&self, segment: Height, blocks: &[BlockTxs]) -> Result<u32, SegmentError> {
        let mut list = Vec::new();
        for (height, hashes) in blocks {
            for (i, hash) in hashes.iter().enumerate() {
                list.push((prefix(hash), *height, i as u32));
            }
        }
        self.write_entries(segment, &list)
    }

    /// Writes a closed segment's file from its entries; returns their count.
    fn write_entries(
        &self,
        segment: Height,
        list: &[(u64, Height, u32)],
    ) -> Result<u32, SegmentError> {
        let mut entries: Vec<(u64, u32, u32)> = list
            .iter()
            .map(|(p, h, i)| (*p, u32::try_from(h - segment).unwrap_or(u32::MAX), *i))
            .collect();
        entries.sort_unstable();
        let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let mut bytes = Vec::with_capacity(entries.len() * ENTRY_BYTES + TRAILER_BYTES);
        for (p, offset, index) in &entries {
            bytes.extend_from_slice(&p.to_be_bytes());
            bytes.extend_from_slice(&offset.to_be_bytes());
            bytes.extend_from_slice(&index.to_be_bytes());
        }
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(MAGIC);
        self.files.append(segment, &bytes)?;
        Ok(count)
    }

    /// Adds a block's transactions, committed into block segment `segment`. When the
    /// block opened a new segment, the previous one's file is written first.
    pub fn add_block(
        &self,
        segment: Height,
        height: Height,
        hashes: &[Hash],
    ) -> Result<(), SegmentError> {
        let mut open = lock(&self.open);
        if open.segment != Some(segment) {
            if let Some(previous) = open.segment {
                let count = self.write_entries(previous, &open.list)?;
                lock(&self.sealed).push((previous, count));
            }
            *open = Open {
                segment: Some(segment),
                ..Open::default()
            };
        }
        add(&mut open, height, hashes);
        Ok(())
    }

    /// Where transactions whose hash starts like `hash`'s may be: (height, position),
    /// newest segments first, at most [`CANDIDATES_MAX`].
    pub fn candidates(&self, hash: &Hash) -> Result<Vec<(Height, u32)>, SegmentError> {
        let p = prefix(hash);
        let mut out: Vec<(Height, u32)> = {
            let open = lock(&self.open);
            open.entries.get(&p).cloned().unwrap_or_default()
        };
        let sealed = lock(&self.sealed).clone();
        for (segment, count) in sealed.into_iter().rev() {
            if out.len() >= CANDIDATES_MAX {
                break;
            }
            self.search_file(segment, count, p, &mut out)?;
        }
        out.truncate(CANDIDATES_MAX);
        Ok(out)
    }

    fn entry(&self, segment: Height, i: u32) -> Result<(u64, Height, u32), SegmentError> {
        let b = self
            .files
            .read(segment, u64::from(i) * ENTRY_BYTES as u64, ENTRY_BYTES)?;
        let word = |r: std::ops::Range<usize>| -> u64 {
            b[r].iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
        };
        Ok((word(0..8), segment + word(8..12), word(12..16) as u32))
    }

    /// Binary search for the first entry with prefix `p`, then the run of them.
    fn search_file(
        &self,
        segment: Height,
        count: u32,
        p: u64,
        out: &mut Vec<(Height, u32)>,
    ) -> Result<(), SegmentError> {
        let (mut lo, mut hi) = (0u32, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(segment, mid)?.0 < p {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut i = lo;
        while i < count && out.len() < CANDIDATES_MAX {
            let (q, height, index) = self.entry(segment, i)?;
            if q != p {
                break;
            }
            out.push((height, index));
            i += 1;
        }
        Ok(())
    }

    /// Drops the files of segments that start below `keep_from` (pruned).
    pub fn remove_below(&self, keep_from: Height) -> Result<(), SegmentError> {
        let mut sealed = lock(&self.sealed);
        for (segment, _) in sealed.iter().filter(|(s, _)| *s < keep_from) {
            self.files.remove(*segment)?;
        }
        sealed.retain(|(s, _)| *s >= keep_from);
        Ok(())
    }

    /// Bytes the index files hold.
    pub fn file_bytes(&self) -> Result<u64, SegmentError> {
        self.files.total_bytes()
    }
}

fn add(open: &mut Open, height: Height, hashes: &[Hash]) {
    for (i, hash) in hashes.iter().enumerate() {
        let p = prefix(hash);
        open.entries.entry(p).or_default().push((height, i as u32));
        open.list.push((p, height, i as u32));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::MemSegments;

    fn hash(n: u64) -> Hash {
        jeon_runtime::crypto::sha256(&[&n.to_le_bytes()])
    }

    #[test]
    fn entries_are_found_in_the_open_segment_and_in_sealed_files() {
        let files = MemSegments::new();
        let index = TxIndex::new(Box::new(files.clone()));
        index.open(&[], |_| Ok(vec![])).expect("open");
        // Blocks 1-3 in segment 1, 4-5 in segment 4, 6 in segment 6 (open).
        let mut n = 0u64;
        let mut placed = Vec::new();
        for (segment, height) in [(1, 1), (1, 2), (1, 3), (4, 4), (4, 5), (6, 6)] {
            let hashes: Vec<Hash> = (0..5)
                .map(|_| {
                    n += 1;
                    hash(n)
                })
                .collect();
            index.add_block(segment, height, &hashes).expect("add");
            for (i, h) in hashes.iter().enumerate() {
                placed.push((*h, height, i as u32));
            }
        }
        assert_eq!(files.list().expect("list"), vec![1, 4]);
        for (h, height, i) in &placed {
            assert_eq!(index.candidates(h).expect("lookup"), vec![(*height, *i)]);
        }
        assert!(index.candidates(&hash(10_000)).expect("lookup").is_empty());
        // 15 entries of 16 bytes and a trailer.
        assert_eq!(files.len(1).expect("len"), 15 * 16 + 8);
    }

    #[test]
    fn reopening_rebuilds_torn_and_missing_files_and_drops_stale_ones() {
        let files = MemSegments::new();
        let blocks = |segment: Height| -> Vec<BlockTxs> {
            (segment..segment + 3)
                .map(|h| (h, (0..4).map(|i| hash(h * 100 + i)).collect()))
                .collect()
        };
        let index = TxIndex::new(Box::new(files.clone()));
        index.open(&[1, 4, 7], |s| Ok(blocks(s))).expect("open");
        assert_eq!(files.list().expect("list"), vec![1, 4]);
        // Tear file 4, add a stale file 99, remove file 1.
        files.truncate(4, 20).expect("truncate");
        files.append(99, b"stale").expect("append");
        files.remove(1).expect("remove");
        let index = TxIndex::new(Box::new(files.clone()));
        index.open(&[1, 4, 7], |s| Ok(blocks(s))).expect("open");
        assert_eq!(files.list().expect("list"), vec![1, 4]);
        for s in [1u64, 4, 7] {
            for (h, hashes) in blocks(s) {
                for (i, x) in hashes.iter().enumerate() {
                    assert_eq!(index.candidates(x).expect("lookup"), vec![(h, i as u32)]);
                }
            }
        }
        index.remove_below(4).expect("prune");
        assert_eq!(files.list().expect("list"), vec![4]);
        assert!(index.candidates(&hash(100)).expect("lookup").is_empty());
    }

    #[test]
    fn hashes_sharing_a_prefix_are_all_candidates() {
        let files = MemSegments::new();
        let index = TxIndex::new(Box::new(files.clone()));
        index.open(&[], |_| Ok(vec![])).expect("open");
        let mut a = hash(1);
        let mut b = hash(2);
        a.0[..8].copy_from_slice(&[7; 8]);
        b.0[..8].copy_from_slice(&[7; 8]);
        index.add_block(1, 1, &[a]).expect("add");
        index.add_block(2, 2, &[b]).expect("add");
        index.add_block(3, 3, &[]).expect("add");
        let mut found = index.candidates(&a).expect("lookup");
        found.sort_unstable();
        assert_eq!(found, vec![(1, 0), (2, 0)]);
    }
}
