//! One segment: a log file of whole batches plus its two sparse indexes.
//!
//! The partition's writer lock serialises every mutation, so file writes
//! happen without holding `state`; the state lock is only taken for the
//! instant it takes to publish a new size or index entry. Readers therefore
//! never wait behind disk I/O.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
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
        let step = self.step(base_offset, position, header, index_interval_bytes);
        self.apply(&step);
        (step.offset_entry, step.time_entry)
    }

    /// What appending one batch at `position` changes, computed without
    /// changing anything (the writer computes it before taking the lock).
    fn step(
        &self,
        base_offset: u64,
        position: u64,
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> Step {
        let last = u64::try_from(header.last_offset()).unwrap_or(0);
        let (max_timestamp, offset_of_max_timestamp) = if header.max_timestamp > self.max_timestamp
        {
            (header.max_timestamp, last)
        } else {
            (self.max_timestamp, self.offset_of_max_timestamp)
        };
        let size = header.size() as u64;
        let mut step = Step {
            size: position + size,
            next_offset: last + 1,
            max_timestamp,
            offset_of_max_timestamp,
            bytes_since_index_entry: self.bytes_since_index_entry + size,
            offset_entry: None,
            time_entry: None,
        };
        if position > 0 && self.bytes_since_index_entry >= index_interval_bytes {
            let batch_base = u64::try_from(header.base_offset).unwrap_or(0);
            step.offset_entry = Some(OffsetEntry {
                relative_offset: relative(batch_base, base_offset),
                position: u32::try_from(position).unwrap_or(u32::MAX),
            });
            let newer = self
                .times
                .last()
                .is_none_or(|t| max_timestamp > t.timestamp);
            if newer && max_timestamp != i64::MIN {
                step.time_entry = Some(TimeEntry {
                    timestamp: max_timestamp,
                    relative_offset: relative(offset_of_max_timestamp, base_offset),
                });
            }
            step.bytes_since_index_entry = size;
        }
        step
    }

    fn apply(&mut self, step: &Step) {
        self.size = step.size;
        self.next_offset = step.next_offset;
        self.max_timestamp = step.max_timestamp;
        self.offset_of_max_timestamp = step.offset_of_max_timestamp;
        self.bytes_since_index_entry = step.bytes_since_index_entry;
        self.offsets.extend(step.offset_entry);
        self.times.extend(step.time_entry);
    }

    /// A time index entry for the newest maximum timestamp, if it is new.
    pub(crate) fn maybe_time_entry(&mut self, base_offset: u64) -> Option<TimeEntry> {
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
    /// Holds whether an fsync of this file ever failed: Linux reports a
    /// writeback error once per file, so a later caller must not take a
    /// successful fsync as proof that earlier writes reached the disk.
    sync_lock: Mutex<Option<Error>>,
    /// Bumped whenever bytes below the published size may change
    /// (truncation); a reader that sees it move retries.
    generation: AtomicU64,
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
        let offset_index =
            IndexFile::create(segment_path(dir, base_offset, FileKind::Index), &[], false)?;
        let time_index = IndexFile::create(
            segment_path(dir, base_offset, FileKind::TimeIndex),
            &[],
            false,
        )?;
        Ok(Segment {
            base_offset,
            log_path,
            log,
            offset_index,
            time_index,
            state: RwLock::new(SegmentState::empty(base_offset)),
            sync_lock: Mutex::new(None),
            generation: AtomicU64::new(0),
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
            sync_lock: Mutex::new(None),
            generation: AtomicU64::new(0),
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
        let (position, step) = {
            let state = self.state.read();
            let step = state.step(self.base_offset, state.size, header, index_interval_bytes);
            (state.size, step)
        };
        if let Err(e) = self.log.write_all_at(batch, position) {
            // Drop any partial bytes so the file never ends in a torn batch
            // this process knows about; recovery handles the rest.
            let _ = self.log.set_len(position);
            return Err(Error::io("write", &self.log_path, e));
        }
        self.state.write().apply(&step);
        Ok(step.size)
    }

    /// Fsyncs the log file up to at least `end_position`, sharing one fsync
    /// among concurrent callers (group commit).
    pub(crate) fn sync_to(&self, end_position: u64) -> Result<()> {
        let mut failed = self.sync_lock.lock();
        self.check_sync_failure(&failed)?;
        let size = {
            let state = self.state.read();
            if state.durable_size >= end_position {
                return Ok(());
            }
            state.size
        };
        self.sync_file(&mut failed)?;
        let mut state = self.state.write();
        state.durable_size = state.durable_size.max(size.min(state.size));
        Ok(())
    }

    /// Marks an fsync as failed, as a real failure would (tests only: an
    /// fsync error cannot be provoked portably).
    #[cfg(test)]
    pub(crate) fn fail_next_syncs(&self) {
        let injected = std::io::Error::other("injected fsync failure");
        *self.sync_lock.lock() = Some(Error::io("fsync", &self.log_path, injected));
    }

    fn check_sync_failure(&self, failed: &Option<Error>) -> Result<()> {
        match failed {
            Some(cause) => Err(Error::Poisoned {
                path: self.log_path.clone(),
                source: Box::new(cause.clone()),
            }),
            None => Ok(()),
        }
    }

    /// `fdatasync` of the log file; a failure is remembered under the lock.
    fn sync_file(&self, failed: &mut Option<Error>) -> Result<()> {
        self.log.sync_data().map_err(|e| {
            let error = Error::io("fsync", &self.log_path, e);
            *failed = Some(error.clone());
            error
        })
    }

    /// Writes the index entries not yet on file, then fsyncs the log and
    /// both indexes (on roll and close).
    pub(crate) fn sync_all(&self) -> Result<()> {
        let mut failed = self.sync_lock.lock();
        self.check_sync_failure(&failed)?;
        let (size, offsets_from, offsets, times_from, times) = {
            let state = self.state.read();
            let pending_offsets = state
                .offsets
                .get(state.durable_offsets..)
                .unwrap_or_default();
            let pending_times = state.times.get(state.durable_times..).unwrap_or_default();
            (
                state.size,
                state.durable_offsets,
                pending_offsets.to_vec(),
                state.durable_times,
                pending_times.to_vec(),
            )
        };
        self.sync_file(&mut failed)?;
        for result in [
            self.offset_index.append_and_sync(offsets_from, &offsets),
            self.time_index.append_and_sync(times_from, &times),
        ] {
            if let Err(e) = &result {
                *failed = Some(e.clone());
            }
            result?;
        }
        let mut state = self.state.write();
        state.durable_size = size.min(state.size);
        state.durable_offsets = (offsets_from + offsets.len()).min(state.offsets.len());
        state.durable_times = (times_from + times.len()).min(state.times.len());
        Ok(())
    }

    /// Adds a final time index entry for the newest maximum timestamp, so
    /// the segment's largest timestamp is known after a reopen without a
    /// scan. `sync_all` writes it out.
    pub(crate) fn seal_time_index(&self) {
        let mut state = self.state.write();
        state.maybe_time_entry(self.base_offset);
    }

    /// Where to start scanning for `offset`: the position from the index, the
    /// published size, and the generation to check after reading.
    pub(crate) fn locate(&self, offset: u64) -> Located {
        let state = self.state.read();
        let relative = relative(offset, self.base_offset);
        let start = lookup_offset(&state.offsets, relative).map_or(0, |e| u64::from(e.position));
        Located {
            start,
            size: state.size,
            generation: self.generation.load(Ordering::Acquire),
        }
    }

    /// Whether bytes read since `locate` returned `generation` may have been
    /// changed by a truncation.
    pub(crate) fn changed_since(&self, generation: u64) -> bool {
        self.generation.load(Ordering::Acquire) != generation
    }

    /// Cuts the segment in place to `cut`, a state rebuilt by scanning its
    /// first batches: readers see the smaller size (and retry reads in
    /// flight) before any byte goes, then the file and its indexes follow.
    /// The caller holds the partition's writer lock.
    pub(crate) fn truncate_to_state(&self, mut cut: SegmentState) -> Result<()> {
        let mut failed = self.sync_lock.lock();
        self.check_sync_failure(&failed)?;
        {
            let mut state = self.state.write();
            self.generation.fetch_add(1, Ordering::AcqRel);
            cut.durable_size = state.durable_size.min(cut.size);
            cut.durable_offsets = 0;
            cut.durable_times = 0;
            cut.created = state.created;
            *state = cut;
        }
        let (size, offsets, times) = {
            let state = self.state.read();
            (state.size, state.offsets.clone(), state.times.clone())
        };
        self.truncate_file(size)?;
        self.sync_file(&mut failed)?;
        self.offset_index.rewrite(&offsets, false)?;
        self.time_index.rewrite(&times, false)?;
        let mut state = self.state.write();
        state.durable_size = size;
        Ok(())
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

/// Where a read of a segment starts, and what it may rely on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Located {
    /// Position of the indexed batch at or before the offset.
    pub(crate) start: u64,
    /// Bytes published when located.
    pub(crate) size: u64,
    pub(crate) generation: u64,
}

/// The effect of appending one batch on a segment's state.
#[derive(Debug, Clone, Copy)]
struct Step {
    size: u64,
    next_offset: u64,
    max_timestamp: i64,
    offset_of_max_timestamp: u64,
    bytes_since_index_entry: u64,
    offset_entry: Option<OffsetEntry>,
    time_entry: Option<TimeEntry>,
}
