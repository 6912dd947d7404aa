//! The write-ahead record that makes a batch atomic in sled without sled's batch lock.
//!
//! sled 0.34 makes `apply_batch` atomic by holding a process-wide write lock for the
//! whole batch, and once any batch has run, every sled read takes that lock shared:
//! while the commit thread applied a block's batch, the next block's execution stalled
//! on the first read that missed the cache. Every batch of `crate::store::SledStore`
//! is instead:
//!
//! 1. written whole to [`WAL_FILE`] inside the database directory (sequence number,
//!    writes, BLAKE3 checksum) and synced;
//! 2. inserted key by key, which never takes sled's lock exclusively: reads go on;
//! 3. closed by inserting its sequence number under the store's `Mwal` key, then
//!    sled's flush.
//!
//! At open, a whole record whose sequence number is above `Mwal` is inserted again and
//! flushed ([`pending`]). Its writes are values, not deltas, so inserting them twice
//! leaves what inserting them once does; and a batch starts only after the one before
//! it is flushed, so nothing newer can be overwritten. A crash during step 1 leaves a
//! torn record (its checksum fails: the store was not touched); during step 2 or
//! before the flush, a whole record that the next open finishes.
//!
//! The record is written in place over the last one (the file shrinks only when it is
//! far larger than the record), so that its sync seldom has a size to commit. The file
//! lives inside the database directory so that it moves, is copied and is removed with
//! it: a rebuilt or restored database never meets another's record.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// The record's file name inside the sled directory.
pub const WAL_FILE: &str = "jeon.wal";
/// The file is cut back to the record when it is larger than this and than four
/// records (after a snapshot import's large batches, say).
const FILE_SHRINK_BYTES: u64 = 4 << 20;

const MAGIC: &[u8; 8] = b"JEONWAL1";
const CHECKSUM_BYTES: usize = 32;

/// One write: a key and its new value, or `None` to remove it.
pub type LoggedWrite = (Vec<u8>, Option<Vec<u8>>);

/// Encodes a record: magic, body length (u64), sequence number, count, then each write
/// (key length, key, tag 0 remove / 1 insert, value length, value), then the BLAKE3
/// checksum of everything before it. Lengths and numbers are little-endian; what
/// follows the checksum in the file (an older, longer record's tail) is ignored.
pub fn encode(seq: u64, writes: &[LoggedWrite]) -> Vec<u8> {
    let bytes: usize = writes
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 20 + bytes + CHECKSUM_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(writes.len() as u32).to_le_bytes());
    for (key, value) in writes {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        match value {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    let body_len = out.len() as u64;
    out[MAGIC.len()..MAGIC.len() + 8].copy_from_slice(&body_len.to_le_bytes());
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// Decodes a record; `None` for anything but a whole one (torn, damaged, foreign).
pub fn decode(bytes: &[u8]) -> Option<(u64, Vec<LoggedWrite>)> {
    let mut r = Reader(bytes);
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let body_len = usize::try_from(u64::from_le_bytes(r.take(8)?.try_into().ok()?)).ok()?;
    let body = bytes.get(..body_len)?;
    let sum = bytes.get(body_len..body_len.checked_add(CHECKSUM_BYTES)?)?;
    if body_len < MAGIC.len() + 8 || blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut r = Reader(&body[MAGIC.len() + 8..]);
    let seq = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
    let count = r.u32()? as usize;
    // Each write takes at least 5 bytes: a count larger than that is damage.
    if count > body.len() / 5 {
        return None;
    }
    let mut writes = Vec::with_capacity(count);
    for _ in 0..count {
        let key_len = r.u32()? as usize;
        let key = r.take(key_len)?.to_vec();
        let value = match r.take(1)?[0] {
            0 => None,
            1 => {
                let len = r.u32()? as usize;
                Some(r.take(len)?.to_vec())
            }
            _ => return None,
        };
        writes.push((key, value));
    }
    r.0.is_empty().then_some((seq, writes))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// Writes `record` over the record file in `dir` and syncs it: when this returns, the
/// record survives a crash.
pub fn write(dir: &Path, record: &[u8]) -> io::Result<()> {
    let path = dir.join(WAL_FILE);
    let created = !path.exists();
    // In place: the tail of a longer, older record stays after this one's checksum.
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&path)?;
    file.write_all(record)?;
    let len = file.metadata()?.len();
    let record_len = record.len() as u64;
    if len > FILE_SHRINK_BYTES && len > record_len.saturating_mul(4) {
        file.set_len(record_len)?;
    }
    file.sync_data()?;
    if created {
        // The new name must survive a crash as well as its bytes.
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// The whole record in `dir` whose sequence number is above `applied`, if there is
/// one: a batch a crash interrupted, to be inserted again.
pub fn pending(dir: &Path, applied: u64) -> io::Result<Option<(u64, Vec<LoggedWrite>)>> {
    let mut bytes = Vec::new();
    match File::open(dir.join(WAL_FILE)) {
        Ok(mut f) => f.read_to_end(&mut bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(decode(&bytes).filter(|(seq, _)| *seq > applied))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes() -> Vec<LoggedWrite> {
        vec![
            (b"Sa".to_vec(), Some(vec![1, 2, 3])),
            (b"Sb".to_vec(), None),
            (Vec::new(), Some(Vec::new())),
        ]
    }

    #[test]
    fn a_record_round_trips_and_any_damage_or_tear_reads_as_none() {
        let bytes = encode(7, &writes());
        assert_eq!(decode(&bytes), Some((7, writes())));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0xAB; 100]);
        assert_eq!(
            decode(&longer),
            Some((7, writes())),
            "an older record's tail"
        );
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "torn at {cut}");
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            assert_eq!(decode(&damaged), None, "flipped at {at}");
        }
    }

    #[test]
    fn only_a_whole_record_above_the_applied_sequence_is_pending() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(pending(dir.path(), 0).expect("read"), None, "no file");
        write(dir.path(), &encode(3, &writes())).expect("write");
        assert_eq!(pending(dir.path(), 2).expect("read"), Some((3, writes())));
        assert_eq!(pending(dir.path(), 3).expect("read"), None, "applied");
        let bytes = encode(4, &writes());
        write(dir.path(), &bytes[..bytes.len() - 1]).expect("write");
        assert_eq!(pending(dir.path(), 3).expect("read"), None, "torn");
        // Written in place over a longer record: the shorter one reads back alone.
        let long: Vec<LoggedWrite> = (0..50u8).map(|i| (vec![i], Some(vec![i; 40]))).collect();
        write(dir.path(), &encode(5, &long)).expect("write");
        write(dir.path(), &encode(6, &writes())).expect("write");
        assert_eq!(pending(dir.path(), 5).expect("read"), Some((6, writes())));
    }
}
