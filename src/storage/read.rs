//! Reading a partition log: whole batches by offset, and offsets by time.

use std::sync::Arc;

use bytes::Bytes;

use super::index::lookup_time;
use super::partition_log::PartitionLog;
use super::segment::Segment;
use crate::error::{CorruptionKind, Error, Result};
use crate::record::{BatchHeader, RecordBatch, HEADER_LEN};

/// Where the batch holding an offset starts in a segment.
struct Found {
    position: u64,
    header: BatchHeader,
    segment_size: u64,
}

impl PartitionLog {
    /// Whole batches from the one holding `offset`, up to `max_bytes` (at least
    /// one batch), none starting at or after `max_offset`.
    ///
    /// Returns an empty buffer at the log end offset. Batches come from one
    /// segment per call, as in Kafka.
    ///
    /// # Errors
    /// `Error::OffsetOutOfRange` below the log start or above the log end
    /// offset; `Error::Corrupt` or `Error::Io` if the file cannot be read.
    pub(crate) fn read(&self, offset: u64, max_bytes: usize, max_offset: u64) -> Result<Bytes> {
        self.check_open()?;
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
        if offset == end || offset >= max_offset {
            return Ok(Bytes::new());
        }
        let mut segment = self.segment_for(offset);
        while let Some(current) = segment {
            if let Some(found) = find_batch(&current, offset)? {
                return read_batches(&current, &found, max_bytes, max_offset);
            }
            segment = self.segment_after(current.base_offset());
        }
        Ok(Bytes::new())
    }

    /// The segment whose range holds `offset` (the last with base ≤ offset).
    fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segments = self.segments.read();
        let after = segments.partition_point(|s| s.base_offset() <= offset);
        after
            .checked_sub(1)
            .and_then(|i| segments.get(i))
            .or_else(|| segments.first())
            .cloned()
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

/// The header of the batch at `position`, or `None` past the committed size.
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

/// Walks from the nearest index entry to the batch whose last offset is at
/// least `offset`.
fn find_batch(segment: &Segment, offset: u64) -> Result<Option<Found>> {
    let (mut position, segment_size) = segment.locate(offset);
    while let Some(header) = header_at(segment, position, segment_size)? {
        if u64::try_from(header.last_offset()).unwrap_or(0) >= offset {
            return Ok(Some(Found {
                position,
                header,
                segment_size,
            }));
        }
        position += header.size() as u64;
    }
    Ok(None)
}

/// One positional read from the found batch, trimmed to whole batches below
/// `max_offset`; the first batch is returned whole even past `max_bytes`.
fn read_batches(
    segment: &Segment,
    found: &Found,
    max_bytes: usize,
    max_offset: u64,
) -> Result<Bytes> {
    if u64::try_from(found.header.base_offset).unwrap_or(0) >= max_offset {
        return Ok(Bytes::new());
    }
    let available = found.segment_size.saturating_sub(found.position);
    let want = (max_bytes.max(found.header.size()) as u64).min(available);
    let mut buf = vec![0u8; usize::try_from(want).unwrap_or(usize::MAX)];
    let n = segment.read_at(&mut buf, found.position)?;
    buf.truncate(n);
    let mut end = 0usize;
    while let Some(rest) = buf.get(end..) {
        let Ok(header) = BatchHeader::parse(rest) else {
            break;
        };
        let whole = header.size() <= rest.len();
        if !whole || u64::try_from(header.base_offset).unwrap_or(0) >= max_offset {
            break;
        }
        end += header.size();
    }
    buf.truncate(end);
    Ok(Bytes::from(buf))
}

/// The first offset in `segment` with a record timestamp ≥ `timestamp`.
fn search_segment(segment: &Segment, timestamp: i64) -> Result<Option<u64>> {
    let start_offset = {
        let state = segment.state.read();
        lookup_time(&state.times, timestamp).map_or(segment.base_offset(), |e| {
            segment.base_offset() + u64::from(e.relative_offset)
        })
    };
    let (mut position, size) = segment.locate(start_offset);
    while let Some(header) = header_at(segment, position, size)? {
        if header.max_timestamp >= timestamp {
            let mut buf = vec![0u8; header.size()];
            let n = segment.read_at(&mut buf, position)?;
            buf.truncate(n);
            let batch =
                RecordBatch::new(Bytes::from(buf)).map_err(|k| corrupt(segment, position, k))?;
            for record in batch.records() {
                let record = record.map_err(|k| corrupt(segment, position, k))?;
                if record.timestamp >= timestamp {
                    return Ok(Some(u64::try_from(record.offset).unwrap_or(0)));
                }
            }
        }
        position += header.size() as u64;
    }
    Ok(None)
}
