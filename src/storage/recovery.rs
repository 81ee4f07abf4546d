//! Opening a partition directory: find the segments, verify what may be
//! torn, cut it off, and make the indexes match the log.
//!
//! The steps, in order: finish or discard an interrupted compaction swap
//! (see [`swap`](super::swap)) → [`list_segments`] → [`verify_segment`] (the active
//! segment, and every segment after the recovery point after an unclean
//! shutdown) → [`truncate_torn_tail`] → [`rebuild_index`]. Segments before
//! the recovery point were fsynced when they were rolled; their indexes are
//! loaded and only rebuilt when missing or inconsistent.
//!
//! Only the active segment can have a tail torn by a crash: the others were
//! fsynced before the next one was created. Damage found in an older segment
//! (a bad disk, or a scan forced by a lost checkpoint) is treated the same
//! way: the log is cut at the first bad batch and every later segment is
//! dropped, as Kafka's recovery does. Keeping the later segments would leave
//! a hole in the offsets that consumers would skip without notice; cutting
//! keeps the log a dense prefix, and a follower replica refetches the rest
//! from its leader.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::index::{IndexFile, OffsetEntry, TimeEntry};
use super::layout::{parse_segment_file, segment_path, FileKind};
use super::segment::{open_log_file, Segment, SegmentState};
use super::swap::finish_interrupted_swaps;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{verify, BatchHeader, HEADER_LEN};

/// Bytes read per call while scanning a segment.
const SCAN_CHUNK: usize = 1 << 20;
/// A batch larger than this is taken for a damaged length field, unless the
/// configured message limit is larger still.
const SANE_BATCH_BOUND: u64 = 64 << 20;

/// How recovery treats one directory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecoveryPlan {
    /// Whether the last close was clean (no scan needed).
    pub(crate) clean_shutdown: bool,
    /// Segments holding offsets at or after this are verified.
    pub(crate) recovery_point: u64,
    pub(crate) index_interval_bytes: u64,
    pub(crate) max_batch_bytes: u64,
}

impl RecoveryPlan {
    pub(crate) fn batch_bound(max_message_bytes: u32) -> u64 {
        u64::from(max_message_bytes).max(SANE_BATCH_BOUND)
    }
}

/// Base offsets of the segments in `dir`, ascending. Index files whose log
/// file is gone are removed.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("list directory", dir, e))?;
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list directory", dir, e))?;
        let name = entry.file_name();
        match name.to_str().and_then(parse_segment_file) {
            Some((base, FileKind::Log)) => logs.push(base),
            Some((base, _)) => indexes.push((base, entry.path())),
            None => {}
        }
    }
    logs.sort_unstable();
    for (base, path) in indexes {
        if logs.binary_search(&base).is_err() {
            std::fs::remove_file(&path).map_err(|e| Error::io("delete orphan index", &path, e))?;
        }
    }
    Ok(logs)
}

/// Opens every segment of `dir` according to `plan`. `Ok(empty)` if none.
pub(crate) fn open_segments(dir: &Path, plan: &RecoveryPlan) -> Result<Vec<Arc<Segment>>> {
    finish_interrupted_swaps(dir)?;
    let bases = list_segments(dir)?;
    let scan_from = bases
        .iter()
        .rev()
        .find(|&&b| b <= plan.recovery_point)
        .copied()
        .unwrap_or(0);
    let mut segments: Vec<Arc<Segment>> = Vec::with_capacity(bases.len());
    let mut expected_next = 0u64;
    let mut cut = false;
    for (i, &base) in bases.iter().enumerate() {
        if cut || base < expected_next {
            // After a cut, or overlapping what came before: this segment and
            // everything after it are not part of the intact prefix.
            delete_segment_files(dir, base)?;
            cut = true;
            continue;
        }
        let next_base = bases.get(i + 1).copied();
        let must_verify = !plan.clean_shutdown && (base >= scan_from || next_base.is_none());
        let (segment, torn) = if must_verify {
            verify_segment(dir, base, expected_next, plan)?
        } else {
            load_segment(dir, base, expected_next, next_base, plan)?
        };
        expected_next = segment.next_offset();
        segments.push(Arc::new(segment));
        // Everything after the first bad batch goes, so the log stays a
        // dense prefix of what was written.
        cut = torn;
    }
    Ok(segments)
}

fn delete_segment_files(dir: &Path, base: u64) -> Result<()> {
    for kind in [FileKind::Log, FileKind::Index, FileKind::TimeIndex] {
        let path = segment_path(dir, base, kind);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("delete", &path, e)),
        }
    }
    Ok(())
}

/// Where a scan stopped.
#[derive(Debug)]
pub(crate) struct ScanEnd {
    /// Bytes of whole, valid batches from the start of the file.
    pub(crate) valid_size: u64,
    /// Why the scan stopped before the end of the file, if it did.
    pub(crate) problem: Option<CorruptionKind>,
}

/// Walks the batches of a log file from `start`, calling `visit` for each
/// valid one; stops at the first short, oversized, damaged (when
/// `check_crc`) or refused (by `visit`) batch.
pub(crate) fn scan_batches(
    file: &File,
    path: &Path,
    start: u64,
    max_batch_bytes: u64,
    check_crc: bool,
    mut visit: impl FnMut(u64, &BatchHeader) -> std::result::Result<(), CorruptionKind>,
) -> Result<ScanEnd> {
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    let mut window = Window::new(file, path);
    let mut position = start;
    while position < file_len {
        let outcome = next_batch(&mut window, position, file_len, max_batch_bytes, check_crc)
            .and_then(|header| Ok(visit(position, &header).map(|()| header)?));
        match outcome {
            Ok(header) => position += header.size() as u64,
            Err(Problem::Io(e)) => return Err(e),
            Err(Problem::Data(kind)) => {
                return Ok(ScanEnd {
                    valid_size: position,
                    problem: Some(kind),
                })
            }
        }
    }
    Ok(ScanEnd {
        valid_size: position,
        problem: None,
    })
}

enum Problem {
    Io(Error),
    Data(CorruptionKind),
}

impl From<CorruptionKind> for Problem {
    fn from(kind: CorruptionKind) -> Self {
        Problem::Data(kind)
    }
}

fn next_batch(
    window: &mut Window<'_>,
    position: u64,
    file_len: u64,
    max_batch_bytes: u64,
    check_crc: bool,
) -> std::result::Result<BatchHeader, Problem> {
    if file_len - position < HEADER_LEN as u64 {
        return Err(CorruptionKind::Truncated.into());
    }
    let header = BatchHeader::parse(window.get(position, HEADER_LEN).map_err(Problem::Io)?)?;
    let size = header.size() as u64;
    if size > max_batch_bytes {
        return Err(CorruptionKind::BadLength(size as i64).into());
    }
    if size > file_len - position {
        return Err(CorruptionKind::Truncated.into());
    }
    if check_crc {
        verify(window.get(position, header.size()).map_err(Problem::Io)?)?;
    }
    Ok(header)
}

/// A read-ahead buffer over a file, so scanning small batches costs few
/// system calls.
struct Window<'a> {
    file: &'a File,
    path: &'a Path,
    start: u64,
    buf: Vec<u8>,
}

impl<'a> Window<'a> {
    fn new(file: &'a File, path: &'a Path) -> Self {
        Window {
            file,
            path,
            start: 0,
            buf: Vec::new(),
        }
    }

    /// `len` bytes at `position`, or fewer if the file ends first.
    fn get(&mut self, position: u64, len: usize) -> Result<&[u8]> {
        let have =
            position >= self.start && position + len as u64 <= self.start + self.buf.len() as u64;
        if !have {
            self.buf.resize(len.max(SCAN_CHUNK), 0);
            let mut filled = 0;
            while filled < self.buf.len() {
                let rest = self.buf.get_mut(filled..).unwrap_or_default();
                match std::os::unix::fs::FileExt::read_at(self.file, rest, position + filled as u64)
                {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::io("read", self.path, e)),
                }
            }
            self.buf.truncate(filled);
            self.start = position;
        }
        let from = usize::try_from(position - self.start).unwrap_or(usize::MAX);
        let to = from.saturating_add(len).min(self.buf.len());
        Ok(self.buf.get(from..to).unwrap_or_default())
    }
}

/// Verifies every batch of one segment (length, CRC, offsets increasing from
/// `expected_next`), cuts anything after the first bad one and rebuilds the
/// indexes. Returns the segment and whether a torn tail was cut.
pub(crate) fn verify_segment(
    dir: &Path,
    base: u64,
    expected_next: u64,
    plan: &RecoveryPlan,
) -> Result<(Segment, bool)> {
    scan_segment(dir, base, expected_next, plan)
}

/// The state of `segment` cut before the batch holding `offset`, rebuilt by
/// walking its batch headers (used by truncation, under the writer lock).
/// Returns the state; the caller applies it.
pub(crate) fn state_before(
    segment: &Segment,
    offset: u64,
    plan: &RecoveryPlan,
) -> Result<SegmentState> {
    let base = segment.base_offset();
    let mut state = SegmentState::empty(base);
    let interval = plan.index_interval_bytes;
    let path = segment.log_path();
    scan_batches(
        segment.file(),
        path,
        0,
        plan.max_batch_bytes,
        false,
        |pos, header| {
            if u64::try_from(header.last_offset()).unwrap_or(0) >= offset {
                return Err(CorruptionKind::Malformed("truncation point"));
            }
            state.account(base, pos, header, interval);
            Ok(())
        },
    )?;
    state.maybe_time_entry(base);
    Ok(state)
}

/// Verifies batches until the first bad one,
/// cuts the file there, fsyncs it and rebuilds the indexes.
fn scan_segment(
    dir: &Path,
    base: u64,
    expected_next: u64,
    plan: &RecoveryPlan,
) -> Result<(Segment, bool)> {
    let log_path = segment_path(dir, base, FileKind::Log);
    let log = open_log_file(&log_path, false)?;
    let mut state = SegmentState::empty(base);
    let interval = plan.index_interval_bytes;
    let end = scan_batches(
        &log,
        &log_path,
        0,
        plan.max_batch_bytes,
        true,
        |pos, header| {
            check_follows(header, state.next_offset.max(expected_next))?;
            state.account(base, pos, header, interval);
            Ok(())
        },
    )?;
    let torn = end.problem.is_some();
    truncate_torn_tail(&log, &log_path, &end)?;
    log.sync_data()
        .map_err(|e| Error::io("fsync", &log_path, e))?;
    state.maybe_time_entry(base);
    let segment = rebuild_index(dir, base, log_path, log, state)?;
    Ok((segment, torn))
}

fn check_follows(header: &BatchHeader, expected: u64) -> std::result::Result<(), CorruptionKind> {
    let found = u64::try_from(header.base_offset).unwrap_or(0);
    if found < expected {
        return Err(CorruptionKind::NonMonotonicOffset { expected, found });
    }
    Ok(())
}

/// Cuts the log file after its last valid batch.
pub(crate) fn truncate_torn_tail(log: &File, path: &Path, end: &ScanEnd) -> Result<()> {
    let len = log
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .len();
    if len > end.valid_size {
        log.set_len(end.valid_size)
            .map_err(|e| Error::io("truncate", path, e))?;
    }
    Ok(())
}

/// Writes both index files from `state` (built by a scan) and fsyncs them.
pub(crate) fn rebuild_index(
    dir: &Path,
    base: u64,
    log_path: PathBuf,
    log: File,
    mut state: SegmentState,
) -> Result<Segment> {
    let offset_index = IndexFile::create(
        segment_path(dir, base, FileKind::Index),
        &state.offsets,
        true,
    )?;
    let time_index = IndexFile::create(
        segment_path(dir, base, FileKind::TimeIndex),
        &state.times,
        true,
    )?;
    state.durable_size = state.size;
    state.durable_offsets = state.offsets.len();
    state.durable_times = state.times.len();
    Ok(Segment::from_parts(
        base,
        log_path,
        log,
        offset_index,
        time_index,
        state,
    ))
}

/// Opens a segment that needs no scan, trusting its indexes if they are
/// consistent with the log file; otherwise falls back to a full verify.
fn load_segment(
    dir: &Path,
    base: u64,
    expected_next: u64,
    next_base: Option<u64>,
    plan: &RecoveryPlan,
) -> Result<(Segment, bool)> {
    let log_path = segment_path(dir, base, FileKind::Log);
    let log = open_log_file(&log_path, false)?;
    let size = log
        .metadata()
        .map_err(|e| Error::io("stat", &log_path, e))?
        .len();
    let (offset_index, offsets) =
        IndexFile::<OffsetEntry>::load(segment_path(dir, base, FileKind::Index))?;
    let (time_index, times) =
        IndexFile::<TimeEntry>::load(segment_path(dir, base, FileKind::TimeIndex))?;
    let consistent = |o: &Vec<OffsetEntry>, t: &Vec<TimeEntry>| {
        let end_relative = next_base.map_or(u64::MAX, |n| n.saturating_sub(base));
        o.last().is_none_or(|e| u64::from(e.position) < size)
            && t.last()
                .is_none_or(|e| u64::from(e.relative_offset) < end_relative)
            && (size == 0 || !t.is_empty())
    };
    let (Some(offsets), Some(times)) = (offsets, times) else {
        return verify_segment(dir, base, expected_next, plan);
    };
    if !consistent(&offsets, &times) {
        return verify_segment(dir, base, expected_next, plan);
    }
    let mut state = SegmentState::empty(base);
    if let Some(last) = times.last() {
        state.max_timestamp = last.timestamp;
        state.offset_of_max_timestamp = base + u64::from(last.relative_offset);
    }
    let tail_start = offsets.last().map_or(0, |e| u64::from(e.position));
    state.size = size;
    state.durable_size = size;
    state.bytes_since_index_entry = size - tail_start;
    state.durable_offsets = offsets.len();
    state.durable_times = times.len();
    state.offsets = offsets;
    state.times = times;
    state.next_offset = match next_base {
        Some(next_base) => next_base,
        None => match walk_tail(&log, &log_path, tail_start, &mut state, plan)? {
            Some(next_offset) => next_offset,
            None => return verify_segment(dir, base, expected_next, plan),
        },
    };
    let segment = Segment::from_parts(base, log_path, log, offset_index, time_index, state);
    Ok((segment, false))
}

/// Finds the log end offset of a cleanly closed active segment by walking
/// batch headers from its last index entry; `None` if the walk meets
/// anything but whole batches.
fn walk_tail(
    log: &File,
    log_path: &Path,
    start: u64,
    state: &mut SegmentState,
    plan: &RecoveryPlan,
) -> Result<Option<u64>> {
    let mut next_offset = state.next_offset;
    let end = scan_batches(
        log,
        log_path,
        start,
        plan.max_batch_bytes,
        false,
        |_, header| {
            check_follows(header, next_offset)?;
            next_offset = u64::try_from(header.last_offset()).unwrap_or(0) + 1;
            if header.max_timestamp > state.max_timestamp {
                state.max_timestamp = header.max_timestamp;
                state.offset_of_max_timestamp = next_offset - 1;
            }
            Ok(())
        },
    )?;
    Ok((end.problem.is_none() && end.valid_size == state.size).then_some(next_offset))
}
