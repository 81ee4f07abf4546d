//! One segment: a log file of whole batches plus its two sparse indexes.
//!
//! The partition's writer lock serialises every mutation, so file writes
//! happen without holding `state`; the state lock is only taken for the
//! instant it takes to publish a new size or index entry. Readers therefore
//! never wait behind disk I/O.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use super::index::{lookup_offset, IndexFile, OffsetEntry, TimeEntry};
use super::layout::{segment_path, FileKind};
use crate::error::{Error, Result};
use crate::record::BatchHeader;

/// What a segment holds, as readers see it.
#[derive(Debug, Clone)]
pub(crate) struct SegmentState {
    /// Bytes of whole batches in the log file.
    pub(crate) size: u64,
    /// Bytes known to be on stable storage.
    pub(crate) durable_size: u64,
    /// The offset after the last batch (the base offset when empty).
    pub(crate) next_offset: u64,
    /// Largest record timestamp; `i64::MIN` when empty.
    pub(crate) max_timestamp: i64,
    /// Last offset of the batch that holds `max_timestamp`.
    pub(crate) offset_of_max_timestamp: u64,
    pub(crate) bytes_since_index_entry: u64,
    pub(crate) offsets: Vec<OffsetEntry>,
    pub(crate) times: Vec<TimeEntry>,
    /// Index entries known to be on stable storage.
    pub(crate) durable_offsets: usize,
    pub(crate) durable_times: usize,
    /// When this process created or opened the segment (for `segment.ms`).
    pub(crate) created: Instant,
}

impl SegmentState {
    pub(crate) fn empty(base_offset: u64) -> Self {
        SegmentState {
            size: 0,
            durable_size: 0,
            next_offset: base_offset,
            max_timestamp: i64::MIN,
            offset_of_max_timestamp: base_offset,
            bytes_since_index_entry: 0,
            offsets: Vec::new(),
            times: Vec::new(),
            durable_offsets: 0,
            durable_times: 0,
            created: Instant::now(),
        }
    }

    /// Accounts one batch at `position`, adding index entries when due.
    /// Returns the entries added, so the caller can write them to file.
    pub(crate) fn account(
        &mut self,
        base_offset: u64,
        position: u64,
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> (Option<OffsetEntry>, Option<TimeEntry>) {
        let last = u64::try_from(header.last_offset()).unwrap_or(0);
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = last;
        }
        let mut added = (None, None);
        if position > 0 && self.bytes_since_index_entry >= index_interval_bytes {
            let batch_base = u64::try_from(header.base_offset).unwrap_or(0);
            let entry = OffsetEntry {
                relative_offset: relative(batch_base, base_offset),
                position: u32::try_from(position).unwrap_or(u32::MAX),
            };
            self.offsets.push(entry);
            added.0 = Some(entry);
            added.1 = self.maybe_time_entry(base_offset);
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += header.size() as u64;
        self.size = position + header.size() as u64;
        self.next_offset = last + 1;
        added
    }

    /// A time index entry for the newest maximum timestamp, if it is new.
    pub(crate) fn maybe_time_entry(&mut self, base_offset: u64) -> Option<TimeEntry> {
        if self.size == 0 && self.offsets.is_empty() {
            return None;
        }
        let newer = self
            .times
            .last()
            .is_none_or(|t| self.max_timestamp > t.timestamp);
        if !newer || self.max_timestamp == i64::MIN {
            return None;
        }
        let entry = TimeEntry {
            timestamp: self.max_timestamp,
            relative_offset: relative(self.offset_of_max_timestamp, base_offset),
        };
        self.times.push(entry);
        Some(entry)
    }
}

fn relative(offset: u64, base_offset: u64) -> u32 {
    u32::try_from(offset.saturating_sub(base_offset)).unwrap_or(u32::MAX)
}

/// One segment of a partition log.
#[derive(Debug)]
pub(crate) struct Segment {
    base_offset: u64,
    log_path: PathBuf,
    log: File,
    pub(crate) offset_index: IndexFile<OffsetEntry>,
    pub(crate) time_index: IndexFile<TimeEntry>,
    pub(crate) state: RwLock<SegmentState>,
    /// Serialises fsyncs of this segment, so concurrent syncers share one.
    sync_lock: Mutex<()>,
}

pub(crate) fn open_log_file(path: &Path, truncate: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
        .map_err(|e| Error::io("open segment", path, e))
}

impl Segment {
    /// Creates a new, empty segment (replacing any files of that name).
    pub(crate) fn create(dir: &Path, base_offset: u64) -> Result<Segment> {
        let log_path = segment_path(dir, base_offset, FileKind::Log);
        let log = open_log_file(&log_path, true)?;
        let offset_index = IndexFile::create(segment_path(dir, base_offset, FileKind::Index), &[])?;
        let time_index =
            IndexFile::create(segment_path(dir, base_offset, FileKind::TimeIndex), &[])?;
        Ok(Segment {
            base_offset,
            log_path,
            log,
            offset_index,
            time_index,
            state: RwLock::new(SegmentState::empty(base_offset)),
            sync_lock: Mutex::new(()),
        })
    }

    /// Assembles a segment whose files recovery already checked.
    pub(crate) fn from_parts(
        base_offset: u64,
        log_path: PathBuf,
        log: File,
        offset_index: IndexFile<OffsetEntry>,
        time_index: IndexFile<TimeEntry>,
        state: SegmentState,
    ) -> Segment {
        Segment {
            base_offset,
            log_path,
            log,
            offset_index,
            time_index,
            state: RwLock::new(state),
            sync_lock: Mutex::new(()),
        }
    }

    pub(crate) fn base_offset(&self) -> u64 {
        self.base_offset
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    pub(crate) fn file(&self) -> &File {
        &self.log
    }

    pub(crate) fn size(&self) -> u64 {
        self.state.read().size
    }

    pub(crate) fn next_offset(&self) -> u64 {
        self.state.read().next_offset
    }

    pub(crate) fn max_timestamp(&self) -> i64 {
        self.state.read().max_timestamp
    }

    /// Appends one verified batch with one positional write; the caller holds
    /// the partition's writer lock. Returns the end position.
    pub(crate) fn append(
        &self,
        batch: &[u8],
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> Result<u64> {
        let mut next = self.state.read().clone_light();
        let position = next.size;
        if let Err(e) = self.log.write_all_at(batch, position) {
            // Drop any partial bytes so the file never ends in a torn batch
            // this process knows about; recovery handles the rest.
            let _ = self.log.set_len(position);
            return Err(Error::io("write", &self.log_path, e));
        }
        let (offset_entry, time_entry) =
            next.account(self.base_offset, position, header, index_interval_bytes);
        if let Some(entry) = &offset_entry {
            self.offset_index.write_entry(next.offsets_len, entry)?;
        }
        if let Some(entry) = &time_entry {
            self.time_index.write_entry(next.times_len, entry)?;
        }
        let mut state = self.state.write();
        state.apply(&next, offset_entry, time_entry);
        Ok(state.size)
    }

    /// Fsyncs the log file up to at least `end_position`, sharing one fsync
    /// among concurrent callers (group commit).
    pub(crate) fn sync_to(&self, end_position: u64) -> Result<()> {
        let _guard = self.sync_lock.lock();
        let size = {
            let state = self.state.read();
            if state.durable_size >= end_position {
                return Ok(());
            }
            state.size
        };
        self.log
            .sync_data()
            .map_err(|e| Error::io("fsync", &self.log_path, e))?;
        let mut state = self.state.write();
        state.durable_size = state.durable_size.max(size.min(state.size));
        Ok(())
    }

    /// Fsyncs the log and both indexes (on roll and close).
    pub(crate) fn sync_all(&self) -> Result<()> {
        let _guard = self.sync_lock.lock();
        let (size, offsets, times) = {
            let state = self.state.read();
            (state.size, state.offsets.len(), state.times.len())
        };
        self.log
            .sync_data()
            .map_err(|e| Error::io("fsync", &self.log_path, e))?;
        self.offset_index.sync()?;
        self.time_index.sync()?;
        let mut state = self.state.write();
        state.durable_size = size.min(state.size);
        state.durable_offsets = offsets.min(state.offsets.len());
        state.durable_times = times.min(state.times.len());
        Ok(())
    }

    /// Writes a final time index entry for the newest maximum timestamp, so
    /// the segment's largest timestamp is known after a reopen without a scan.
    pub(crate) fn seal_time_index(&self) -> Result<()> {
        let mut state = self.state.write();
        let n = state.times.len();
        if let Some(entry) = state.maybe_time_entry(self.base_offset) {
            if let Err(e) = self.time_index.write_entry(n, &entry) {
                state.times.truncate(n);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Byte position to start scanning for `offset`, and the committed size.
    pub(crate) fn locate(&self, offset: u64) -> (u64, u64) {
        let state = self.state.read();
        let relative = relative(offset, self.base_offset);
        let start = lookup_offset(&state.offsets, relative).map_or(0, |e| u64::from(e.position));
        (start, state.size)
    }

    /// Reads up to `buf.len()` bytes at `position`; fewer only at end of file.
    pub(crate) fn read_at(&self, buf: &mut [u8], position: u64) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            let rest = buf.get_mut(filled..).unwrap_or_default();
            match self.log.read_at(rest, position + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io("read", &self.log_path, e)),
            }
        }
        Ok(filled)
    }

    /// Cuts the log file to `size` bytes (indexes are the caller's concern).
    pub(crate) fn truncate_file(&self, size: u64) -> Result<()> {
        self.log
            .set_len(size)
            .map_err(|e| Error::io("truncate", &self.log_path, e))
    }

    /// Cuts every file back to what is known to be on stable storage.
    pub(crate) fn drop_unsynced(&self) -> Result<()> {
        let state = self.state.read();
        self.truncate_file(state.durable_size)?;
        self.offset_index.truncate_entries(state.durable_offsets)?;
        self.time_index.truncate_entries(state.durable_times)
    }

    /// Removes the segment's files.
    pub(crate) fn delete_files(&self) -> Result<()> {
        for path in [
            self.log_path.as_path(),
            self.offset_index.path(),
            self.time_index.path(),
        ] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("delete", path, e)),
            }
        }
        Ok(())
    }
}

/// The scalar part of a segment's state, copied so the writer can compute
/// the next state without holding the lock.
pub(crate) struct LightState {
    inner: SegmentState,
    offsets_len: usize,
    times_len: usize,
}

impl std::ops::Deref for LightState {
    type Target = SegmentState;
    fn deref(&self) -> &SegmentState {
        &self.inner
    }
}

impl LightState {
    fn account(
        &mut self,
        base_offset: u64,
        position: u64,
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> (Option<OffsetEntry>, Option<TimeEntry>) {
        self.inner
            .account(base_offset, position, header, index_interval_bytes)
    }
}

impl SegmentState {
    fn clone_light(&self) -> LightState {
        LightState {
            inner: SegmentState {
                offsets: Vec::new(),
                times: self.times.last().copied().into_iter().collect(),
                ..self.clone_scalars()
            },
            offsets_len: self.offsets.len(),
            times_len: self.times.len(),
        }
    }

    fn clone_scalars(&self) -> SegmentState {
        SegmentState {
            size: self.size,
            durable_size: self.durable_size,
            next_offset: self.next_offset,
            max_timestamp: self.max_timestamp,
            offset_of_max_timestamp: self.offset_of_max_timestamp,
            bytes_since_index_entry: self.bytes_since_index_entry,
            offsets: Vec::new(),
            times: Vec::new(),
            durable_offsets: self.durable_offsets,
            durable_times: self.durable_times,
            created: self.created,
        }
    }

    fn apply(
        &mut self,
        next: &LightState,
        offset_entry: Option<OffsetEntry>,
        time_entry: Option<TimeEntry>,
    ) {
        self.size = next.size;
        self.next_offset = next.next_offset;
        self.max_timestamp = next.max_timestamp;
        self.offset_of_max_timestamp = next.offset_of_max_timestamp;
        self.bytes_since_index_entry = next.bytes_since_index_entry;
        self.offsets.extend(offset_entry);
        self.times.extend(time_entry);
    }
}
