//! Sparse indexes of a segment: offset → file position, and timestamp → offset.
//!
//! An entry is added every `index_interval_bytes` of log, so a lookup lands
//! on a batch at or before the target and the reader scans forward from
//! there. Entries are fixed-width and big-endian after an 8-byte file header
//! (4-byte magic, 1-byte version, 1-byte entry size, 2 reserved zero bytes):
//! the magic tells an offset index from a time index, and the version lets a
//! later format be refused rather than misread. Any file that does not parse
//! cleanly is rebuilt from the log, which is always the source of truth.
//!
//! The entries live in memory; the active segment's files are brought up to
//! date when it is rolled or the log is closed, not on every append. That
//! costs nothing in safety: after an unclean shutdown the active segment is
//! always scanned and its indexes rebuilt.

use std::fs::{File, OpenOptions};
use std::marker::PhantomData;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Bytes before the first entry.
pub(crate) const INDEX_HEADER_LEN: u64 = 8;
/// The index format version this code writes and reads.
const INDEX_VERSION: u8 = 1;

/// One fixed-width entry of an index file.
pub(crate) trait IndexEntry: Copy + std::fmt::Debug {
    /// Identifies the kind of index in its file header.
    const MAGIC: [u8; 4];
    /// Encoded size in bytes.
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Option<Self>;
    /// Whether `self` may follow `prev` in a well-formed index.
    fn follows(&self, prev: &Self) -> bool;
}

/// Offset index entry: a batch starting at `relative_offset` (from the
/// segment's base offset) sits at byte `position` of the log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) relative_offset: u32,
    pub(crate) position: u32,
}

/// Time index entry: the largest timestamp seen up to and including the
/// batch at `relative_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) timestamp: i64,
    pub(crate) relative_offset: u32,
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

impl IndexEntry for OffsetEntry {
    const MAGIC: [u8; 4] = *b"TLOI";
    const SIZE: usize = 8;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(OffsetEntry {
            relative_offset: be_u32(bytes, 0)?,
            position: be_u32(bytes, 4)?,
        })
    }
    fn follows(&self, prev: &Self) -> bool {
        self.relative_offset > prev.relative_offset && self.position > prev.position
    }
}

impl IndexEntry for TimeEntry {
    const MAGIC: [u8; 4] = *b"TLTI";
    const SIZE: usize = 12;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(TimeEntry {
            timestamp: i64::from_be_bytes(bytes.get(0..8)?.try_into().ok()?),
            relative_offset: be_u32(bytes, 8)?,
        })
    }
    fn follows(&self, prev: &Self) -> bool {
        self.timestamp > prev.timestamp && self.relative_offset >= prev.relative_offset
    }
}

/// The largest entry whose offset is at most `relative_offset`.
pub(crate) fn lookup_offset(entries: &[OffsetEntry], relative_offset: u32) -> Option<OffsetEntry> {
    let after = entries.partition_point(|e| e.relative_offset <= relative_offset);
    after.checked_sub(1).and_then(|i| entries.get(i)).copied()
}

/// The largest entry whose timestamp is below `timestamp`: every record
/// before its offset is older than `timestamp`, so a search may start there.
pub(crate) fn lookup_time(entries: &[TimeEntry], timestamp: i64) -> Option<TimeEntry> {
    let after = entries.partition_point(|e| e.timestamp < timestamp);
    after.checked_sub(1).and_then(|i| entries.get(i)).copied()
}

fn file_header<E: IndexEntry>() -> [u8; INDEX_HEADER_LEN as usize] {
    let m = E::MAGIC;
    [m[0], m[1], m[2], m[3], INDEX_VERSION, E::SIZE as u8, 0, 0]
}

/// The file behind one index; the entries themselves live with the segment.
///
/// No handle is kept open: index files are only written when a segment is
/// rolled, closed, truncated or rebuilt, so opening them then keeps a
/// partition with many segments at one descriptor per segment. Each write
/// and its fsync share one handle, so a writeback error cannot slip past.
#[derive(Debug)]
pub(crate) struct IndexFile<E> {
    path: PathBuf,
    entry: PhantomData<E>,
}

fn encode_all<E: IndexEntry>(buf: &mut Vec<u8>, entries: &[E]) {
    buf.reserve(entries.len() * E::SIZE);
    for entry in entries {
        entry.encode(buf);
    }
}

impl<E: IndexEntry> IndexFile<E> {
    fn open_rw(&self) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| Error::io("open index", &self.path, e))
    }

    fn sync_file(&self, file: &File) -> Result<()> {
        file.sync_data()
            .map_err(|e| Error::io("fsync index", &self.path, e))
    }

    /// Writes `entries` to `path` as its whole contents (fsynced if `sync`).
    pub(crate) fn create(path: PathBuf, entries: &[E], sync: bool) -> Result<Self> {
        let index = IndexFile {
            path,
            entry: PhantomData,
        };
        index.rewrite(entries, sync)?;
        Ok(index)
    }

    /// Decodes the entries at `path`: `None` when the file is missing,
    /// damaged or inconsistent, so the caller rebuilds it.
    pub(crate) fn load(path: PathBuf) -> Result<(Self, Option<Vec<E>>)> {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("read index", &path, e)),
        };
        let index = IndexFile {
            path,
            entry: PhantomData,
        };
        Ok((index, parse_entries(&bytes)))
    }

    /// Writes `entries` as entries number `n` onwards (those before are
    /// already on file) in one write, then fsyncs.
    pub(crate) fn append_and_sync(&self, n: usize, entries: &[E]) -> Result<()> {
        let file = self.open_rw()?;
        if !entries.is_empty() {
            let mut buf = Vec::new();
            encode_all(&mut buf, entries);
            let at = INDEX_HEADER_LEN + (n * E::SIZE) as u64;
            file.write_all_at(&buf, at)
                .map_err(|e| Error::io("write index", &self.path, e))?;
        }
        self.sync_file(&file)
    }

    /// Cuts the file to its first `n` entries.
    pub(crate) fn truncate_entries(&self, n: usize) -> Result<()> {
        self.open_rw()?
            .set_len(INDEX_HEADER_LEN + (n * E::SIZE) as u64)
            .map_err(|e| Error::io("truncate index", &self.path, e))
    }

    /// Replaces the file's contents with `entries` (fsynced if `sync`).
    pub(crate) fn rewrite(&self, entries: &[E], sync: bool) -> Result<()> {
        let mut buf = Vec::with_capacity(INDEX_HEADER_LEN as usize);
        buf.extend_from_slice(&file_header::<E>());
        encode_all(&mut buf, entries);
        let file = self.open_rw()?;
        file.set_len(0)
            .and_then(|()| file.write_all_at(&buf, 0))
            .map_err(|e| Error::io("write index", &self.path, e))?;
        if sync {
            self.sync_file(&file)?;
        }
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Decodes a whole index file; `None` unless it is entirely well-formed.
fn parse_entries<E: IndexEntry>(bytes: &[u8]) -> Option<Vec<E>> {
    let header = bytes.get(..INDEX_HEADER_LEN as usize)?;
    if header != file_header::<E>() {
        return None;
    }
    let body = bytes.get(INDEX_HEADER_LEN as usize..)?;
    if body.len() % E::SIZE != 0 {
        return None;
    }
    let mut entries: Vec<E> = Vec::with_capacity(body.len() / E::SIZE);
    for chunk in body.chunks_exact(E::SIZE) {
        let entry = E::decode(chunk)?;
        if let Some(prev) = entries.last() {
            if !entry.follows(prev) {
                return None;
            }
        }
        entries.push(entry);
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn offsets(keys: &[u32]) -> Vec<OffsetEntry> {
        keys.iter()
            .map(|&k| OffsetEntry {
                relative_offset: k,
                position: k * 10,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn offset_lookup_matches_a_linear_scan(
            mut keys in proptest::collection::btree_set(0u32..10_000, 0..50),
            target in 0u32..11_000,
        ) {
            let keys: Vec<u32> = std::mem::take(&mut keys).into_iter().collect();
            let entries = offsets(&keys);
            let expected = entries.iter().rfind(|e| e.relative_offset <= target).copied();
            prop_assert_eq!(lookup_offset(&entries, target), expected);
        }

        #[test]
        fn time_lookup_matches_a_linear_scan(
            stamps in proptest::collection::btree_set(-100i64..10_000, 0..50),
            target in -200i64..11_000,
        ) {
            let entries: Vec<TimeEntry> = stamps.iter().enumerate()
                .map(|(i, &timestamp)| TimeEntry { timestamp, relative_offset: i as u32 })
                .collect();
            let expected = entries.iter().rfind(|e| e.timestamp < target).copied();
            prop_assert_eq!(lookup_time(&entries, target), expected);
        }
    }

    #[test]
    fn files_round_trip_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let entries = offsets(&[1, 5, 9]);
        let index = IndexFile::<OffsetEntry>::create(path.clone(), &entries[..1], false).unwrap();
        index.append_and_sync(1, &entries[1..]).unwrap();
        let (_, loaded) = IndexFile::<OffsetEntry>::load(path.clone()).unwrap();
        assert_eq!(loaded.unwrap(), entries);

        index.truncate_entries(1).unwrap();
        let (_, loaded) = IndexFile::<OffsetEntry>::load(path.clone()).unwrap();
        assert_eq!(loaded.unwrap(), &entries[..1]);

        std::fs::write(&path, b"garbage!!").unwrap();
        assert!(IndexFile::<OffsetEntry>::load(path.clone())
            .unwrap()
            .1
            .is_none());
        // An offset index is not a time index.
        IndexFile::<OffsetEntry>::create(path.clone(), &entries, true).unwrap();
        assert!(IndexFile::<TimeEntry>::load(path).unwrap().1.is_none());
    }
}
