//! Sparse indexes of a segment: offset → file position, and timestamp → offset.
//!
//! An entry is added every `index_interval_bytes` of log, so a lookup lands
//! on a batch at or before the target and the reader scans forward from
//! there. Entries are fixed-width and big-endian after an 8-byte file header
//! (4-byte magic, 1-byte version, 1-byte entry size, 2 reserved zero bytes):
//! the magic tells an offset index from a time index, and the version lets a
//! later format be refused rather than misread. Any file that does not parse
//! cleanly is rebuilt from the log, which is always the source of truth.

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
#[derive(Debug)]
pub(crate) struct IndexFile<E> {
    path: PathBuf,
    file: File,
    entry: PhantomData<E>,
}

impl<E: IndexEntry> IndexFile<E> {
    fn open_rw(path: &Path) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open index", path, e))
    }

    /// Opens `path` and writes `entries` as its whole contents.
    pub(crate) fn create(path: PathBuf, entries: &[E]) -> Result<Self> {
        let file = Self::open_rw(&path)?;
        let index = IndexFile {
            path,
            file,
            entry: PhantomData,
        };
        index.rewrite(entries)?;
        Ok(index)
    }

    /// Opens `path` and decodes its entries; `Ok(None)` entries when the file
    /// is missing, damaged or inconsistent, so the caller rebuilds it.
    pub(crate) fn load(path: PathBuf) -> Result<(Self, Option<Vec<E>>)> {
        let existed = path.exists();
        let file = Self::open_rw(&path)?;
        let bytes = if existed {
            std::fs::read(&path).map_err(|e| Error::io("read index", &path, e))?
        } else {
            Vec::new()
        };
        let index = IndexFile {
            path,
            file,
            entry: PhantomData,
        };
        Ok((index, parse_entries(&bytes)))
    }

    /// Writes entry number `n` (entries before it are already on file).
    pub(crate) fn write_entry(&self, n: usize, entry: &E) -> Result<()> {
        let mut buf = Vec::with_capacity(E::SIZE);
        entry.encode(&mut buf);
        let at = INDEX_HEADER_LEN + (n * E::SIZE) as u64;
        self.file
            .write_all_at(&buf, at)
            .map_err(|e| Error::io("write index", &self.path, e))
    }

    /// Cuts the file to its first `n` entries.
    pub(crate) fn truncate_entries(&self, n: usize) -> Result<()> {
        self.file
            .set_len(INDEX_HEADER_LEN + (n * E::SIZE) as u64)
            .map_err(|e| Error::io("truncate index", &self.path, e))
    }

    /// Replaces the file's contents with `entries`.
    pub(crate) fn rewrite(&self, entries: &[E]) -> Result<()> {
        let mut buf = Vec::with_capacity(INDEX_HEADER_LEN as usize + entries.len() * E::SIZE);
        buf.extend_from_slice(&file_header::<E>());
        for entry in entries {
            entry.encode(&mut buf);
        }
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all_at(&buf, 0))
            .map_err(|e| Error::io("write index", &self.path, e))
    }

    pub(crate) fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fsync index", &self.path, e))
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
        let index = IndexFile::<OffsetEntry>::create(path.clone(), &entries[..2]).unwrap();
        index.write_entry(2, &entries[2]).unwrap();
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
        IndexFile::<OffsetEntry>::create(path.clone(), &entries).unwrap();
        assert!(IndexFile::<TimeEntry>::load(path).unwrap().1.is_none());
    }
}
