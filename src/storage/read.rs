//! Reading a partition log: whole batches by offset, and offsets by time.
//!
//! A read finds the segment holding the offset, looks up the nearest indexed
//! batch, and reads one buffer from there: the batch holding the offset is
//! found inside it and the result is a slice of it, so a read costs one
//! positional read in the common case. Nothing past the size published when
//! the read started is returned, and a truncation during the read (seen as
//! a new segment generation) makes it start over.

use std::sync::Arc;

use bytes::Bytes;

use super::index::lookup_time;
use super::partition_log::PartitionLog;
use super::read_pool::ReadPool;
use super::segment::{Located, Segment};
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{BatchHeader, RecordBatch, HEADER_LEN};

/// Reads smaller than this are rounded up: a few extra KiB from the page
/// cache cost less than a second system call.
const MIN_READ: usize = 64 << 10;
/// Reads asking for more are cut to this (at a batch boundary; the first
/// batch is returned whole regardless). A reader decodes a chunk soon after
/// the copy into it: a chunk this size is decoded from the CPU's cache,
/// while a 1 MiB one per partition has mostly left it by then (measured:
/// a consumer over 6 partitions spends ~15 % less CPU per record).
const MAX_CHUNK: usize = 128 << 10;
/// Attempts before a read that keeps racing truncations gives up (empty).
const MAX_ATTEMPTS: usize = 8;

/// What reading one segment found.
enum Outcome {
    Data(Bytes),
    /// No batch at or after the offset in this segment: try the next one.
    NotHere,
    /// The segment was truncated while being read: start over.
    Changed,
}

impl PartitionLog {
    /// Whole batches from the one holding `offset`, up to `max_bytes` and
    /// `MAX_CHUNK` (at least one batch), none starting at or after
    /// `max_offset`.
    ///
    /// Returns an empty buffer at the log end offset. Batches come from one
    /// segment per call, as in Kafka.
    ///
    /// # Errors
    /// `Error::OffsetOutOfRange` below the log start or above the log end
    /// offset; `Error::Corrupt` or `Error::Io` if the file cannot be read.
    pub(crate) fn read(&self, offset: u64, max_bytes: usize, max_offset: u64) -> Result<Bytes> {
        self.read_pooled(offset, max_bytes, max_offset, &mut ReadPool::unpooled())
    }

    /// [`read`](Self::read) into a buffer of `pool`: one spent since an
    /// earlier read if it has one, so the read needs no zeroed buffer.
    ///
    /// # Errors
    /// As [`read`](Self::read).
    pub(crate) fn read_pooled(
        &self,
        offset: u64,
        max_bytes: usize,
        max_offset: u64,
        pool: &mut ReadPool,
    ) -> Result<Bytes> {
        self.check_open()?;
        self.check_in_range(offset)?;
        if offset == self.log_end_offset() || offset >= max_offset {
            return Ok(Bytes::new());
        }
        let max_bytes = max_bytes.min(MAX_CHUNK);
        let slack = self.config().index_interval_bytes as usize;
        for _ in 0..MAX_ATTEMPTS {
            let Some(mut segment) = self.segment_for(offset) else {
                // Retention removed the segment after the range check.
                self.check_in_range(offset)?;
                return Ok(Bytes::new());
            };
            loop {
                match read_segment(&segment, offset, max_bytes, max_offset, slack, pool)? {
                    Outcome::Data(bytes) => return Ok(bytes),
                    Outcome::Changed => break,
                    Outcome::NotHere => match self.segment_after(segment.base_offset()) {
                        Some(next) => segment = next,
                        None => return Ok(Bytes::new()),
                    },
                }
            }
        }
        Ok(Bytes::new())
    }

    fn check_in_range(&self, offset: u64) -> Result<()> {
        let (start, end) = (self.log_start_offset(), self.log_end_offset());
        if offset < start || offset > end {
            return Err(Error::OffsetOutOfRange {
                topic: self.tp.topic().to_string(),
                partition: self.tp.partition(),
                offset,
                log_start_offset: start,
                log_end_offset: end,
            });
        }
        Ok(())
    }

    /// The segment whose range holds `offset` (the last with base ≤ offset);
    /// `None` if every segment starts above it.
    fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let after = segments.partition_point(|s| s.base_offset() <= offset);
        after.checked_sub(1).and_then(|i| segments.get(i)).cloned()
    }

    fn segment_after(&self, base_offset: u64) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let after = segments.partition_point(|s| s.base_offset() <= base_offset);
        segments.get(after).cloned()
    }

    /// First offset whose timestamp is at least `timestamp`.
    ///
    /// # Errors
    /// `Error::Corrupt` or `Error::Io` if a segment cannot be read.
    pub(crate) fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<u64>> {
        self.check_open()?;
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        for segment in segments {
            if segment.max_timestamp() < timestamp {
                continue;
            }
            if let Some(offset) = search_segment(&segment, timestamp)? {
                return Ok(Some(offset.max(self.log_start_offset())));
            }
        }
        Ok(None)
    }
}

fn corrupt(segment: &Segment, position: u64, kind: CorruptionKind) -> Error {
    Error::Corrupt {
        path: segment.log_path().to_path_buf(),
        position,
        kind,
    }
}

fn offset_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Reads `len` bytes at `position` (fewer at end of file) into a new
/// buffer (the reads off the common path; it goes through a `ReadPool`).
fn read_buffer(segment: &Segment, position: u64, len: u64) -> Result<Vec<u8>> {
    // Safe Rust cannot read into uninitialised memory, so the buffer is
    // zeroed first; for page-cache reads that costs less than the copy.
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    let n = segment.read_at(&mut buf, position)?;
    buf.truncate(n);
    Ok(buf)
}

/// Reads the batches holding `offset` onwards from one segment.
fn read_segment(
    segment: &Segment,
    offset: u64,
    max_bytes: usize,
    max_offset: u64,
    slack: usize,
    pool: &mut ReadPool,
) -> Result<Outcome> {
    let located = segment.locate(offset);
    if located.start >= located.size {
        return Ok(Outcome::NotHere);
    }
    let window =
        (max_bytes.max(MIN_READ).saturating_add(slack) as u64).min(located.size - located.start);
    let window = usize::try_from(window).unwrap_or(usize::MAX);
    let buf = pool.read(segment, located.start, window)?;
    let outcome = match find_in_buffer(&buf, offset) {
        Scan::Found(at, header) => {
            let request = Request {
                position: located.start + at as u64,
                max_bytes,
                max_offset,
            };
            slice_batches(segment, buf, at, &header, &request, &located)
        }
        Scan::Reached(at) => {
            let from = located.start + at as u64;
            find_by_headers(segment, offset, from, &located, max_bytes, max_offset)
        }
    };
    // Bytes read across a truncation prove nothing, not even damage.
    if segment.changed_since(located.generation) {
        return Ok(Outcome::Changed);
    }
    outcome
}

/// How far a search inside one buffer got.
enum Scan {
    /// The batch holding the offset starts at this buffer position.
    Found(usize, BatchHeader),
    /// The buffer ended (or stopped parsing) at this position first.
    Reached(usize),
}

/// The batch holding `offset` inside `buf`, if the buffer reaches it.
fn find_in_buffer(buf: &[u8], offset: u64) -> Scan {
    let mut at = 0usize;
    while let Some(rest) = buf.get(at..).filter(|r| r.len() >= HEADER_LEN) {
        let Ok(header) = BatchHeader::parse(rest) else {
            break;
        };
        if offset_of(header.last_offset()) >= offset {
            return Scan::Found(at, header);
        }
        at += header.size();
    }
    Scan::Reached(at)
}

/// What the caller asked for, and where the first batch sits in the file.
struct Request {
    position: u64,
    max_bytes: usize,
    max_offset: u64,
}

/// Whole batches from `at` in `buf`, below `max_offset`, up to `max_bytes`
/// (the first always); the first is read on its own if the buffer cut it.
fn slice_batches(
    segment: &Segment,
    buf: Bytes,
    at: usize,
    first: &BatchHeader,
    request: &Request,
    located: &Located,
) -> Result<Outcome> {
    if offset_of(first.base_offset) >= request.max_offset {
        return Ok(Outcome::Data(Bytes::new()));
    }
    if at + first.size() > buf.len() {
        let available = located.size.saturating_sub(request.position);
        if first.size() as u64 > available {
            // Published batches are whole: a length past the end is damage.
            let kind = CorruptionKind::BadLength(i64::from(first.batch_length));
            return Err(corrupt(segment, request.position, kind));
        }
        let whole = read_buffer(segment, request.position, first.size() as u64)?;
        if whole.len() < first.size() {
            return Ok(Outcome::Changed);
        }
        return Ok(Outcome::Data(Bytes::from(whole)));
    }
    let mut end = at + first.size();
    while let Some(rest) = buf.get(end..) {
        let Ok(header) = BatchHeader::parse(rest) else {
            break;
        };
        let fits = end + header.size() - at <= request.max_bytes && header.size() <= rest.len();
        if !fits || offset_of(header.base_offset) >= request.max_offset {
            break;
        }
        end += header.size();
    }
    Ok(Outcome::Data(buf.slice(at..end)))
}

/// The slow path when the first buffer did not reach the batch holding
/// `offset` (batches larger than the read): walk headers with small reads
/// from where the buffer ended, then read from the batch found.
fn find_by_headers(
    segment: &Segment,
    offset: u64,
    from: u64,
    located: &Located,
    max_bytes: usize,
    max_offset: u64,
) -> Result<Outcome> {
    let mut position = from;
    loop {
        if position > located.size {
            // A length field points past the published end: damage, not
            // the end of the segment, so it is not skipped silently.
            let kind = CorruptionKind::BadLength(i64::try_from(position).unwrap_or(i64::MAX));
            return Err(corrupt(segment, located.start, kind));
        }
        let Some(header) = header_at(segment, position, located.size)? else {
            break;
        };
        if offset_of(header.last_offset()) >= offset {
            let len = (max_bytes.max(header.size()) as u64).min(located.size - position);
            let buf = Bytes::from(read_buffer(segment, position, len)?);
            let request = Request {
                position,
                max_bytes,
                max_offset,
            };
            return slice_batches(segment, buf, 0, &header, &request, located);
        }
        position += header.size() as u64;
    }
    Ok(Outcome::NotHere)
}

/// The header of the batch at `position`, or `None` past `size`.
fn header_at(segment: &Segment, position: u64, size: u64) -> Result<Option<BatchHeader>> {
    if position >= size {
        return Ok(None);
    }
    let mut buf = [0u8; HEADER_LEN];
    let n = segment.read_at(&mut buf, position)?;
    if n < HEADER_LEN {
        // The segment was cut under us (truncation); nothing more to read.
        return Ok(None);
    }
    BatchHeader::parse(&buf)
        .map(Some)
        .map_err(|kind| corrupt(segment, position, kind))
}

/// The first offset in `segment` with a record timestamp ≥ `timestamp`.
fn search_segment(segment: &Segment, timestamp: i64) -> Result<Option<u64>> {
    let start_offset = {
        let state = segment.state.read();
        lookup_time(&state.times, timestamp).map_or(segment.base_offset(), |e| {
            segment.base_offset() + u64::from(e.relative_offset)
        })
    };
    let located = segment.locate(start_offset);
    let mut position = located.start;
    while let Some(header) = header_at(segment, position, located.size)? {
        if header.max_timestamp >= timestamp {
            let buf = read_buffer(segment, position, header.size() as u64)?;
            let batch =
                RecordBatch::new(Bytes::from(buf)).map_err(|k| corrupt(segment, position, k))?;
            for record in batch.records() {
                let record = record.map_err(|k| corrupt(segment, position, k))?;
                if record.timestamp >= timestamp {
                    return Ok(Some(offset_of(record.offset)));
                }
            }
        }
        position += header.size() as u64;
    }
    Ok(None)
}
